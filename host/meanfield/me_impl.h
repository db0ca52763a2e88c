/* me_impl.h: the master-equation solver's state, shared by me.c (the monomer-exchange equation
 * and its CVODE instance) and me_coal.c (the extended equation: coalescence, a particle source,
 * monomer exchange switched off). Internal to host/meanfield/.
 */
#ifndef NPGROW_MEANFIELD_ME_IMPL_H
#define NPGROW_MEANFIELD_ME_IMPL_H

#include <math.h>
#include <stdint.h>

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>

#include "npgrow/coalesce.h"
#include "npgrow/me.h"

/* The extended equation (me_coal.c). State vector y (length 2 n_max + 2):
 *   y[0]                 D, expected particles dissolved so far
 *   y[n - 1]             A_n, n = 2..n_max: particles that never merged (Group A)
 *   y[n_max + n - 2]     B_n, n = 2..n_max: particles that merged at least once (Group B)
 *   y[2 n_max - 1]       M, expected merges so far
 *   y[2 n_max]           O, expected particles formed above n_max (lost to the truncation)
 *   y[2 n_max + 1]       O_m, their monomers
 * The A block is laid out exactly as the plain equation's N_n. */
typedef struct npg_me_ext {
    int coal; /* coagulation on (cfg->coal.mode != NPG_COAL_NONE) */
    int exch; /* monomer exchange on (!cfg->no_monomer_exchange) */
    npg_coal_params p;
    double V;    /* [nm^3] */
    int threads; /* OpenMP threads of the passes (npg_me_options.threads, at least 1) */
    /* Kernel matrix K_ij P_ij [nm^3 / time unit], i <= j in [2, n_max], rows packed:
     * kmat[rowoff[i] + j - i]. kmode 0: independent of t (built at f = 1); 1: proportional to
     * f(t) (Brownian, diffusion-limited: built at f = 1, scaled); 2: rebuilt whenever f(t)
     * changes (Brownian with an intrinsic rate: k_a k_D/(k_a + k_D) is not linear in f). */
    int kmode;
    double kmat_f; /* f of the current kmat; NAN: none */
    double *kmat;
    size_t *rowoff;   /* [n_max + 1] */
    uint32_t kmat_nm; /* n_max kmat was built for */
    uint32_t *blk_lo; /* [NB + 1] row blocks of the pass (fixed partition: thread-independent) */
    double *blk;      /* [NB * 3 * (n_max + 1)] block-private accumulators */
    double *bsum;     /* [NB * 3] */
    double *c, *vc;   /* [n_max + 1] A + B of y and of a direction v */
    double *Lc, *Lv;  /* [n_max + 1] sum_j K_kj c_j (and of v), unscaled */
    double *G;        /* [n_max + 1] pair sums onto k = i + j, unscaled */
    double *count_b;  /* [n_max + 1] cleaned B_n for output */
    /* preconditioner (psetup): T - gamma u w^T over the A and B blocks */
    double *pl, *ppiv, *pup; /* [2 (n_max - 1)] tridiagonal factors */
    double *pu, *pz;         /* [2 (n_max - 1)] rank-one column u, T^{-1}(-gamma u) */
    double *pL;              /* [n_max + 1] scale * L(c) at the setup point */
    double pS, pdenom;
    int prank1;
    /* source: a Poisson stream of entries rate * pmf(n) into A_n on [t0, t1) */
    int src;
    double src_rate, src_t0, src_t1; /* [particles per time unit], [time unit] */
    double src_mean;                 /* mean size of an entry [monomers] */
    double *src_pmf;                 /* [src_len] */
    uint32_t src_len;
    int src_active; /* the source is on over the current CVODE leg */
    double o_mark;  /* O when n_max last grew: the growth signal counts overflow since then */
} npg_me_ext;

struct npg_me {
    const npg_config *cfg;
    npg_me_options opt;
    uint32_t n_max;
    /* Lowest size in the state (2: the whole equation; > 2: a window n_lo..n_max of the plain
     * equation under a schedule, npg_me_options.n_min). */
    uint32_t n_lo;
    int mode;             /* npg_supply_mode */
    double *a;            /* [n_max + 2] A_n used by the equation (a[n_max] = 0: reflecting) */
    double *kd;           /* [n_max + 2] k^d_n */
    npg_rate_pair *table; /* [n_max + 2] the unmodified rates (observer, j_model) */
    npg_rates rates;
    double *count; /* [n_max + 1] cleaned copy of N_n for output */
    double *u, *w; /* [neq] closed/precursor: the Jacobian's rank-one term (else NULL) */
    /* The grid of the plain equation (me.c "The size grid"): cell k = 0..K-1 holds the sizes
     * lo[k] .. lo[k+1] - 1; every cell is one size when res = 0 (the exact equation, always
     * with the extended one). Face k joins cells k and k+1; its flux is
     * (S fa0[k] - fd0[k]) N_k + (S fa1[k] - fd1[k]) N_{k+1}. */
    uint32_t res; /* resolution R: sizes n >= 2R sit in cells of width floor(n/R) */
    uint32_t K;   /* cells */
    uint32_t *lo; /* [K + 1], lo[K] = n_max + 1 */
    double *cmid; /* [K] cell centre (lo[k] + lo[k+1] - 1) / 2 [monomers] */
    double *fa0, *fa1, *fd0, *fd1; /* [K] face coefficients (the last entry unused) */
    double *ck;                    /* [neq] checkpoint of y (npg_me_checkpoint) */
    double ck_t;                   /* its time; < 0: none */
    double ck_total0; /* total0 that goes with it (a regridding moves total0 with the monomers) */
    double total_cfg; /* closed/precursor: the total at t = 0 over the sizes themselves (F0 + P0 +
                         sum_n n N_n(0)), what the written outputs are checked against */
    double N0;        /* particles at t = 0 */
    double vrho;      /* V rho_1inf [monomers at S = 1] (closed/precursor) */
    double kp, P0;    /* precursor conversion rate [per time unit], initial precursor units */
    double total0;    /* closed/precursor: F + P + bound at t = 0 */
    double bound0;    /* monomers in particles at t = 0 */
    double clipped;   /* particles dropped above n_max at t = 0 (clip_initial) */
    sunindextype neq;
    double t;
    uint32_t tail_w; /* sizes n > n_max - tail_w form the truncation-check window */
    int grows;
    int refines; /* npg_me_refine calls (and refinements of the start in npg_me_create) */
    long acc[7]; /* counters of the CVODE instances freed by npg_me_grow */

    SUNContext ctx;
    N_Vector y, atol;
    void *cv;
    SUNMatrix J;        /* band (mu = ml = 1): CVODE forms I - gamma J in it (plain equation) */
    SUNLinearSolver ls; /* me_linsol.c (plain), SPGMR (extended) */

    npg_me_ext *x; /* the extended equation, NULL for the plain one */
};

static inline double npg_me_precursor_at(const npg_me *me, double t)
{
    return me->mode == NPG_SUPPLY_PRECURSOR ? me->P0 * exp(-me->kp * t) : 0.0;
}

/* ---- me_coal.c ----------------------------------------------------------------------------- */

/* The n_max limit of coalescence under options o (NPG_ME_COAL_N_MAX or lower). */
static inline uint32_t npg_me_coal_cap(const npg_me_options *o)
{
    return o && o->coal_n_max && o->coal_n_max < NPG_ME_COAL_N_MAX ? o->coal_n_max
                                                                   : NPG_ME_COAL_N_MAX;
}

/* Does cfg need the extended equation? (coalescence, a source, or no monomer exchange) */
int npg_me_ext_wanted(const npg_config *cfg);
/* Set up me->x from me->cfg (kernel parameters, volume, source law). NPG_EXIT_USAGE for input
 * the master equation cannot take (entries_file, n_max above NPG_ME_COAL_N_MAX), 1 else. */
int npg_me_ext_init(npg_me *me, char *err, size_t errlen);
void npg_me_ext_free(npg_me_ext *x);
/* (Re)allocate everything sized by n_max (me->n_max already set). */
int npg_me_ext_size(npg_me *me, char *err, size_t errlen);
/* CVODE for the extended equation on me->y: SPGMR with exact Jacobian-vector products and the
 * tridiagonal (+ rank one, + coagulation-loss diagonal) preconditioner. */
int npg_me_ext_cvode(npg_me *me, char *err, size_t errlen);
int npg_me_ext_rhs(sunrealtype t, N_Vector yv, N_Vector fv, void *ud);
/* Copy a state of n_max nm_old into one of nm_new > nm_old (zeros in the new sizes). */
void npg_me_ext_remap(const double *yo, uint32_t nm_old, double *yn, uint32_t nm_new);
/* The next time > after where the right-hand side has a kink (schedule point, source on/off);
 * INFINITY: none. */
double npg_me_ext_next_break(const npg_me *me, double after);
/* The source's expected entries on [0, t] and their monomers. */
double npg_me_ext_entered(const npg_me *me, double t);
double npg_me_ext_entered_monomers(const npg_me *me, double t);
void npg_me_ext_get(npg_me *me, npg_me_state *st);

/* ---- me_initial.c -------------------------------------------------------------------------- */

/* The size law of cfg's Poisson source as probabilities pmf[n], n = 0..len-1 (sum 1 over
 * n >= 2), by the same rules as npg_me_initial. */
int npg_me_source_pmf(const npg_config *cfg, double **pmf, uint32_t *len, char *err, size_t errlen);

#endif /* NPGROW_MEANFIELD_ME_IMPL_H */
