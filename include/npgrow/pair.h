/* npgrow/pair.h: the pair-correlation equation of the spatial coalescence model (model.md 3.3-3.4),
 * `npgrow pair CONFIG` (host/meanfield/pair.c).
 *
 * The pair correlation u(x, t) = g(r, t) of two particles at centre distance r = x + sigma(t),
 * in the frame that moves with the contact distance sigma(t), on x in [0, rmax]:
 *   du/dt = D_r(t) [u_xx + 2/(x + sigma) u_x] + sigma'(t) u_x - kappa(t) S(x + sigma, t) u,
 * zero flux at x = 0 (reflecting contact) and x = rmax; kappa(t) = kappa_c P(sigma(t)) (the Fermi
 * propensity of coalescence.propensity), S the gaussian (or step) shell centred at sigma + l.
 * Finite volumes in flux form with r^2 weights (conservative; the advection upwinded; the shell
 * integrated exactly over each cell), BDF time stepping by SUNDIALS CVODE with a banded (here
 * tridiagonal) Jacobian. Alongside, A(t) from dA/dt = P0 [t < t_cut] - k_f A^2, A(0) = 1, with
 *   k_f(t) = sum_i 4 pi kappa(t) u_i int_cell_i r^2 S dr,
 * exactly the sink of the finite volumes (the same quadrature), or with the original code's
 * shifted shell centre sigma(sigma(t)) + l (pair.quadrature: shifted, a quirk).
 * Times are run times in the config's time_unit; rates per time unit (k_f: nm^3 per time unit,
 * which dA/dt reads as 1/time unit with the density absorbed into kappa_c, model.md 3.7). With
 * pair.kinetics: box, dA/dt = P0 [t < t_cut] - (c0/2) k_f A^2, c0 = N(0)/V of the coalescence
 * box: the particle engine's A = N(t)/N(0) with one particle lost per merge (k_f is the two-body
 * rate coefficient of one pair; N^2/2 pairs).
 */
#ifndef NPGROW_PAIR_H
#define NPGROW_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_PAIR_RTOL 1e-8  /* CVODE relative tolerance */
#define NPG_PAIR_ATOL 1e-13 /* CVODE absolute tolerance on u (g is 1 far away) and on A */

typedef struct npg_pair_options {
    uint32_t cells; /* 0: cfg->pair.cells */
    double rtol;    /* 0: NPG_PAIR_RTOL */
    double atol;    /* 0: NPG_PAIR_ATOL */
    int progress;   /* a progress line on stderr */
} npg_pair_options;

typedef struct npg_pair npg_pair;

typedef struct npg_pair_state {
    double t;             /* [time unit] */
    double sigma;         /* sigma(t) [nm] */
    double d_r;           /* D_r(t) [nm^2 / time unit] */
    double kappa;         /* kappa_c P(sigma(t)) [1 / time unit] */
    double kf;            /* k_f of pair.quadrature, the one in dA/dt [nm^3 / time unit] */
    double kf_consistent; /* k_f with the shell at sigma + l */
    double kf_shifted;    /* k_f with the shell at sigma(sigma(t)) + l (the original code) */
    double A;             /* A(t) [-] */
    double rate;          /* the coefficient of A^2 in dA/dt [1 / time unit]: k_f (pair.kinetics
                             study, the number read as 1/time) or N(0)/(2V) k_f (box) */
    double merges;        /* merges since t = 0 relative to N(0): 1 + int_0^t P - A [-] */
    double g_contact;     /* u in the first cell, at contact x = 0 [-] */
    double pairs;         /* int 4 pi r^2 u dx over the domain [nm^3] */
    double absorbed;      /* int_0^t k_f (consistent) dt [nm^3] */
    long steps;           /* CVODE steps so far */
    long rhs_evals;
} npg_pair_state;

/* The solver at t = 0 with the initial condition of pair.initial. Returns 0, NPG_EXIT_USAGE (the
 * config has no pair: section, or one it cannot solve) or 1 (out of memory, CVODE), err says. */
int npg_pair_create(npg_pair **out, const npg_config *cfg, const npg_pair_options *o, char *err,
                    size_t errlen);
/* Integrate to t >= the current time. Returns 0, 1 (solver failure) or the stop exit code. */
int npg_pair_advance(npg_pair *p, double t, char *err, size_t errlen);
void npg_pair_get(const npg_pair *p, npg_pair_state *st);
/* The grid and the current solution: *n cells, faces[0..n] and u[0..n-1] (the solver's). */
void npg_pair_profile(const npg_pair *p, size_t *n, const double **faces, const double **u);
void npg_pair_destroy(npg_pair *p);

typedef struct npg_pair_summary {
    double t_reached; /* last output time written [time unit] */
    double wall_s;
    long steps, rhs_evals;
    uint32_t cells;
    double h_min_nm, h_max_nm; /* finest and coarsest cell [nm] */
    double kf_max, t_kf_max;   /* largest k_f at an output time, and when */
    double A_end;              /* A at t_reached */
    int interrupted;
} npg_pair_summary;

/* The whole `npgrow pair`: DIR/pair.csv (t,kf,A,g_contact at 0, output_every, ..., t_end),
 * DIR/moments.csv in the run format with N(0) = 1 (t,particles,alive_fraction,coalescences,kf,
 * kf_instant: particles = alive_fraction = A, coalescences = merges, kf over the output interval
 * as the particle engine defines it, kf_instant = rate at t) and DIR/run.yaml (producer: pair),
 * through the safe result directory of outdir.h. Returns 0, 1,
 * NPG_EXIT_USAGE (before any work) or the stop exit code (status: interrupted, written). */
int npg_pair_solve(const npg_config *cfg, const npg_pair_options *o, const char *outdir, int force,
                   npg_pair_summary *sum, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_PAIR_H */
