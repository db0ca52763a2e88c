/* npgrow/me.h: the mean-field master equation of the particle model (what `npgrow me` solves).
 *
 * State: N_n(t), the expected number of particles of size n = 2..n_max, under the same rates and
 * supply modes as the particle engine; a particle at n = 2 that loses a monomer dissolves. The
 * solver is SUNDIALS CVODE (BDF) with an exact O(n_max) Newton solve (tridiagonal + rank one).
 * Large sizes are lumped into cells of relative width 1/R (me.resolution; 0: exact).
 * It deliberately writes the same files as `npgrow run` through observe.h and knows nothing
 * about particles or backends. A stop request (status.h: SIGINT/SIGTERM) ends an integration
 * at once; the functions that integrate then return npg_stop_exit_code() (130/143).
 */
#ifndef NPGROW_ME_H
#define NPGROW_ME_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"
#include "npgrow/rates.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Coalescence (cfg->coal.mode != NPG_COAL_NONE): the Smoluchowski term is a dense O(n_max^2)
 * convolution over a precomputed kernel matrix (8 n_max^2 / 2 bytes), so n_max is limited to
 * this; a run whose sizes need more is refused (exit 2). */
#define NPG_ME_COAL_N_MAX 5000u

/* Default tolerances: relative (on the exact grid; on a lumped one, whose own error is ~1e-4,
 * NPG_ME_RTOL_LUMPED moves the demo's moments by 3e-9), and absolute on N_n as a fraction of
 * N(0). */
#define NPG_ME_RTOL        1e-10
#define NPG_ME_RTOL_LUMPED 1e-8
#define NPG_ME_ATOL_REL    1e-16

typedef struct npg_me_options {
    /* Truncation; 0 = cfg->me_n_max, and if that is 0 chosen automatically (and grown during
     * the run by npg_me_solve when the distribution approaches it). */
    uint32_t n_max;
    double rtol;     /* CVODE relative tolerance; 0 = npg_me_default_rtol */
    double atol_rel; /* absolute tolerance on N_n as a fraction of N(0); 0 = NPG_ME_ATOL_REL */
    int progress;    /* npg_me_solve: progress lines on stderr (a live line on a terminal) */
    /* Drop initial mass above n_max instead of refusing (benchmarks at a fixed n_max); the
     * dropped fraction is in npg_me_state.clipped. */
    int clip_initial;
    /* With coalescence: the largest n_max allowed, 0 = NPG_ME_COAL_N_MAX (tests lower it to
     * reach the limit cheaply; larger values are not taken). */
    uint32_t coal_n_max;
    /* With coalescence: OpenMP threads for the O(n_max^2) passes (0, 1: one). The sums are
     * split into a fixed number of blocks, so results do not depend on it. */
    int threads;
    /* Size grid (me.c "The size grid"): 0 = cfg->me_resolution, > 0 that resolution R (cells
     * per unit ln n; >= NPG_ME_RESOLUTION_MIN), < 0 one cell per size (the exact equation).
     * The extended equation (coalescence, source, no exchange) is always exact. */
    int resolution;
    /* Keep the grid as given: no refinement of the start (npg_me_create) or during the run
     * (npg_me_solve) however large the grid's error estimate (tests of the grid's own error). */
    int fixed_grid;
    /* Tests may replace the model's rates by any table (entries n >= len use the model). */
    const npg_rate_pair *rate_table;
    uint32_t rate_table_len;
    /* A window of sizes: the state holds n = n_min..n_max only (0 or 2: the whole equation).
     * Only for the plain equation under a schedule (no coalescence, source or closed supply),
     * with no initial mass below n_min. Mass that leaves the window downwards (k^d_{n_min}
     * N_{n_min}) is counted in npg_me_state.below (with n_min = 2 that is dissolution); the
     * caller checks it and the bottom tail (npg_me_state.tail_low) and moves the window with
     * npg_me_set_window. */
    uint32_t n_min;
} npg_me_options;

typedef struct npg_me npg_me;

/* Build the initial state (from cfg's initial distribution, cfg->particles particles) and the
 * integrator. cfg must outlive the solver. Returns 0, NPG_EXIT_USAGE for bad input, 1 else. */
int npg_me_create(npg_me **me, const npg_config *cfg, const npg_me_options *o, char *err,
                  size_t errlen);
void npg_me_destroy(npg_me *me);

/* Integrate to time t (>= current time), stopping at schedule breakpoints on the way.
 * Returns 0, 1 (solver failure), or npg_stop_exit_code() when a stop was requested (the state
 * is then unusable: go back to a checkpoint or give up). */
int npg_me_advance_to(npg_me *me, double t, char *err, size_t errlen);

/* Remember the current state (one copy; the next call replaces it). */
void npg_me_checkpoint(npg_me *me);
/* Time of the checkpoint, < 0 when there is none. */
double npg_me_checkpoint_time(const npg_me *me);
/* Enlarge the truncation to n_max (> the current one): the state, from now or from the
 * checkpoint (from_checkpoint), is padded with zeros and CVODE restarts from it. */
int npg_me_grow(npg_me *me, uint32_t n_max, int from_checkpoint, char *err, size_t errlen);
/* Halve the cells of the lumped grid (resolution 2R; the exact grid once that lumps nothing
 * below n_max), from now or from the checkpoint. 1 when the grid is already exact. */
int npg_me_refine(npg_me *me, int from_checkpoint, char *err, size_t errlen);
/* The grid's resolution now (0: exact). */
uint32_t npg_me_grid_resolution(const npg_me *me);
/* The largest tolerated grid error estimate (npg_me_state.grid_error): npg_me_create refines
 * the start until it holds, npg_me_solve refines from the last check when it is passed. */
#define NPG_ME_GRID_ERR 1e-4
/* The same as npg_me_grow for a window (npg_me_options.n_min; the plain equation on the exact
 * grid only): sizes n_min..n_max (n_min >= 2, n_max >= the current n_max). n_min may also move
 * up: the probability of the sizes dropped goes to npg_me_state.below (the caller drops only
 * what is negligible; it never comes back), and a stored checkpoint is then dropped (unless
 * this goes from it): take a new one before a rollback. */
int npg_me_set_window(npg_me *me, uint32_t n_min, uint32_t n_max, int from_checkpoint, char *err,
                      size_t errlen);

typedef struct npg_me_state {
    double t;            /* [time unit] */
    const double *count; /* [len] expected particles of size n (entries 0, 1 are 0) */
    /* Coalescence, source or no monomer exchange (the extended equation); else NULL / 0: */
    const double *count_b; /* [len] of count, Group B (merged at least once); Group A = rest */
    double merges;         /* expected merges since t = 0 */
    double entered;        /* expected particles the source added since t = 0 */
    double overflow;       /* expected particles merged beyond n_max (lost; <= 1e-12 N(0)) */
    uint32_t len;          /* n_max + 1 */
    double S;              /* supersaturation now */
    double free_monomers;  /* closed/precursor: expected free monomers; NAN in schedule mode */
    double precursor;      /* precursor mode: expected precursor units; NAN otherwise */
    double dissolved;      /* expected particles dissolved so far */
    double particles0;     /* N(0) */
    double total0;         /* closed/precursor: total monomers at t = 0; NAN in schedule mode */
    /* |free + precursor + bound - total0| / total0 now (0: schedule); rounding only: the free
     * monomers are what the total leaves (me.c). The extended equation counts the source's
     * monomers in the total and the overflow's as bound; with schedule supply and no monomer
     * exchange it is the drift of the bound monomers (a real check: nothing else changes
     * them). */
    double monomer_error;
    /* closed/precursor: |free + precursor + sum_n n count[n] - total| / total with the counts as
     * written (a lumped grid spreads each cell over its sizes, which moves their first moment
     * slightly: ~1e-6 at R = 256) and the total of the configured start; rounding on the exact
     * grid. 0 otherwise. */
    double monomer_output_error;
    /* |alive + dissolved - N(0)| / N(0) now; extended: |alive + dissolved + merges + overflow
     * - N(0) - entered| / N(0) */
    double particle_error;
    double tail;      /* fraction of N(0) in the top sizes near n_max now (with coalescence
                         plus the overflow beyond n_max) */
    uint32_t n_min;   /* lowest size of the state (2 unless a window, npg_me_options.n_min) */
    double below;     /* window (n_min > 2): expected particles that left it downwards or were
                         dropped by npg_me_set_window (an error the caller bounds); 0 otherwise
                         (dissolved counts them) */
    double tail_low;  /* window (n_min > 2): fraction of N(0) in the lowest sizes plus below;
                         0 otherwise */
    double tail_grow; /* what an automatic n_max grows on: tail, with coalescence the
                         overflow since n_max last grew in place of all of it */
    double clipped;   /* fraction of the initial particles dropped above n_max (clip_initial) */
    /* solver counters, summed over the restarts of npg_me_grow */
    long steps, rhs_evals, lin_iters, jac_evals, nonlin_iters, err_fails, lin_setups;
    int grows; /* npg_me_grow calls so far */
    /* The size grid: its resolution now (0: exact), the refinements so far (npg_me_refine and
     * at the start), and the a posteriori estimate of its error (me.c me_grid_error: the L1
     * error of the interpolation over the wide cells as a fraction of the particles; ~1/4 of
     * the relative error it puts into var_n; 0 on the exact grid). */
    uint32_t resolution;
    int refines;
    double grid_error;
} npg_me_state;

/* The study's coalescence rate coefficient over an output interval of length dt [time unit]:
 * merges N(0) / (N(t - dt) N(t) dt) [1/time unit], so that dA/dt = P - kf A^2 with
 * A = N(t)/N(0) (model.md 3.4); NAN when dt <= 0 or a count is 0. */
double npg_me_kf(double merges, double n0, double n_prev, double n_now, double dt);

/* The rates the solver uses (A_n, k^d_n for n <= n_max + 1, unmodified at the top) and its
 * truncation. */
const npg_rates *npg_me_rates(const npg_me *me);
uint32_t npg_me_n_max(const npg_me *me);

/* The grid resolution R the solver uses for cfg under o (0: exact; always 0 for the extended
 * equation), and its default relative tolerance. */
uint32_t npg_me_resolution(const npg_config *cfg, const npg_me_options *o);
double npg_me_default_rtol(const npg_config *cfg, const npg_me_options *o);

/* Current state; count points into the solver (valid until the next call). */
void npg_me_get(npg_me *me, npg_me_state *st);
/* Only t, len, particles0, tail and tail_grow of npg_me_get (the truncation check between
 * outputs; the rest zero, count NULL), without spreading every cell over its sizes. */
void npg_me_get_tail(npg_me *me, npg_me_state *st);

/* The automatic truncation for cfg (what npg_me_create uses when no n_max is set). */
uint32_t npg_me_auto_n_max(const npg_config *cfg, const npg_rates *rates, char *err, size_t errlen);

/* Initial expected counts N_n(0) for n = 0..len-1 (len = returned n0_max + 1, allocated into
 * *count, caller frees), exactly the particle engine's sampling law (init.h) times particles. */
int npg_me_initial(const npg_config *cfg, double **count, uint32_t *len, char *err, size_t errlen);

/* Largest tolerated fraction of particles near n_max (the truncation check). */
#define NPG_ME_TAIL_MAX 1e-12
/* npg_me_solve grows an automatic n_max (x 1.5) once this fraction is near the top. */
#define NPG_ME_TAIL_GROW 1e-15

typedef struct npg_me_summary {
    uint32_t n_max;
    long steps, rhs_evals, lin_iters;
    double wall_s;
    double monomer_error;        /* max over outputs, closed/precursor (0 in schedule mode) */
    double monomer_output_error; /* max over outputs of npg_me_state.monomer_output_error */
    double particle_error;       /* max over outputs */
    double tail_max;             /* max over outputs */
    int grows;                   /* automatic n_max enlargements during the run */
    int rollbacks;               /* ... of which restarted from the previous output time */
    uint32_t resolution;         /* the size grid at the end (0: exact) */
    int refines;                 /* its refinements (at the start, and from a check: a rollback) */
    double grid_error_max;       /* max over outputs of npg_me_state.grid_error */
    int interrupted;             /* stopped by a signal: outputs up to t_reached */
    double t_reached;            /* last output time written */
    /* the extended equation (coalescence, source, no monomer exchange), at the end: */
    double merges;   /* expected merges */
    double entered;  /* expected particles the source added */
    double overflow; /* expected particles lost beyond n_max */
} npg_me_summary;

/* The whole `npgrow me`: outputs at 0, output_every, ..., t_end into outdir (moments.csv,
 * histogram.csv, growth_rate.csv, run.yaml), through npg_outdir_begin/commit. An automatic n_max
 * grows during the run (never a retry from t = 0). On a stop request (status.h) it writes the
 * outputs up to the last completed output time, run.yaml with `status: interrupted`, renames
 * the directory into place and returns npg_stop_exit_code(). */
int npg_me_solve(const npg_config *cfg, const npg_me_options *o, const char *outdir, int force,
                 npg_me_summary *sum, char *err, size_t errlen);

/* Values per output time of npg_me_particle. */
#define NPG_ME_PARTICLE_NV 12

/* One particle on its own under a schedule (what `npgrow predict` needs for each observed
 * particle; host/meanfield/me_particle.c): P(n, t) from a delta at size n0 (>= 2) at time t0,
 * integrated by this master equation over a window of sizes around the distribution (widened
 * from the last output time whenever mass comes near either end; down to n = 2, where it can
 * dissolve), with S(t) piecewise linear through (kt[k], ks[k]), k < nk, constant beyond the ends
 * (npg_config_schedule_s), and cfg's rates (A_n, k^d_n; cfg's supply, initial distribution,
 * coalescence and source are not used). o: NULL or options (tolerances, rate_table; n_max,
 * n_min and t0 are set here). At each output time tout[j] (>= t0, non-decreasing, j < nout):
 *   out[j * 12 + q] = sum_{n >= 2} n^q P(n, tout[j]) = E[n^q; not dissolved], q = 0..10
 *   out[j * 12 + 11] = the probability that it dissolved by tout[j]
 * Returns 0; NPG_EXIT_USAGE for bad input; 1 for a solver failure; npg_stop_exit_code() on a
 * stop request. */
int npg_me_particle(const npg_config *cfg, const npg_me_options *o, const double *kt,
                    const double *ks, size_t nk, double t0, uint32_t n0, const double *tout,
                    size_t nout, double *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_ME_H */
