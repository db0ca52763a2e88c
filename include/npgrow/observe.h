/* npgrow/observe.h: reductions of a size distribution to the study's observables, and the
 * CSV writers every producer shares (the particle engine and the master-equation solver).
 *
 * A producer hands over a snapshot: the (expected) number of alive particles of each size and
 * the supply state. Moments, phase, n*, n**, histogram bins and growth-rate bins are computed
 * here, once, in a fixed summation order, so equal inputs give byte-identical files.
 * It deliberately knows nothing about particles, backends or ODE solvers.
 */
#ifndef NPGROW_OBSERVE_H
#define NPGROW_OBSERVE_H

#include <stdint.h>
#include <stdio.h>

#include "npgrow/config.h"
#include "npgrow/rates.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_MOMENTS 10

/* Column headers, exactly as documented in README.md. */
#define NPG_MOMENTS_HEADER                                                                         \
    "t,particles,alive_fraction,mean_n,var_n,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,mean_r_nm,var_r_nm2,"  \
    "supersaturation,ln_s,mu_max_kT,phase,n_star,n_star2,free_monomers,precursor,events"
/* appended to the moments and histogram rows of a coalescence run */
#define NPG_MOMENTS_COAL_HEADER                                                                    \
    "particles_a,particles_b,mean_n_a,var_n_a,mean_n_b,var_n_b,coalescences,kf"
#define NPG_HISTOGRAM_COAL_HEADER "count_a,count_b"
#define NPG_COALESCENCE_HEADER    "t,id_kept,id_gone,n_kept,n_gone,r_kept_nm,r_gone_nm"
#define NPG_HISTOGRAM_HEADER      "t,n_lo,n_hi,count,p"
#define NPG_GROWTH_HEADER         "t,n_lo,n_hi,particles,mean_dn_dt,j_model"
#define NPG_TRAJECTORY_HEADER     "t,id,n,r_nm"

/* Chemical-potential landscape of a model, for phases and n*, n** (model.md 1.8). */
typedef struct npg_landscape {
    double *mu; /* [len] beta(mu_n - mu_inf) [kT], n = 0..len-1 (entries < 20 unused) */
    uint32_t len;
    double mu_max;     /* [kT] max of mu_n over 20 <= n < len */
    uint32_t n_dagger; /* argmax */
    npg_model model;   /* for n** beyond the table (npg_model_mu, exact for any n) */
} npg_landscape;

/* n** is searched beyond the table up to this size: above it the double-precision differences
 * Nf(n+1) - Nf(n) in npg_model_mu lose the resolution of one monomer (rounding error / step
 * between neighbours: 0.002 at n ~ 1e6, 0.2 at 1e7, 1 at 1.6e7, measured on the six Table-1
 * systems against a long-double evaluation). A table longer than this is its own limit. */
#define NPG_N_STAR2_LIMIT 10000000u
/* n_star2 value meaning "beyond npg_landscape_n_limit(l)": mu_n > ln S at every size searched. */
#define NPG_N_STAR2_BEYOND UINT32_MAX

int npg_landscape_init(npg_landscape *l, const npg_model *m, uint32_t len);
void npg_landscape_free(npg_landscape *l);
/* Largest size searched for n**: max(NPG_N_STAR2_LIMIT, len - 1). */
uint32_t npg_landscape_n_limit(const npg_landscape *l);
/* Phase at supersaturation S: "hyper", "super" or "under"; for "super" also the smallest and
 * largest n >= 20 with mu_n > ln S (the sizes that shrink), else both 0. n** is exact, not
 * capped at the table: when mu_n > ln S still holds at the table's last size, it is found by
 * bisection on npg_model_mu over the decreasing branch (mu_n decreases towards 0 beyond
 * n-dagger); when mu_n > ln S up to npg_landscape_n_limit(l), *n_star2 = NPG_N_STAR2_BEYOND. */
const char *npg_landscape_phase(const npg_landscape *l, double S, uint32_t *n_star,
                                uint32_t *n_star2);

/* Moments of a size distribution. */
typedef struct npg_moments {
    double particles;            /* sum of count */
    double mean_n, var_n;        /* [monomers], [monomers^2] */
    double m[NPG_MOMENTS + 1];   /* m[q] = <n^q>, q = 1..10 */
    double mean_r_nm, var_r_nm2; /* radius r = sigma_s n^(1/3) */
} npg_moments;

/* count[n], n = 0..len-1 (entries n < 2 ignored). Compensated summation in increasing n. */
void npg_moments_compute(const double *count, uint32_t len, double sigma_s, npg_moments *out);

typedef struct npg_snapshot {
    double t;            /* [time unit] */
    const double *count; /* [len] (expected) alive particles of size n */
    uint32_t len;
    double particles0;    /* particles at t = 0 (alive_fraction denominator) */
    double S;             /* supersaturation at t */
    double free_monomers; /* closed/precursor: free monomers (count); NAN: not applicable */
    double precursor;     /* precursor units (count); NAN: not applicable */
    double events;        /* events so far (stochastic); NAN: not applicable */
    /* Growth over the output interval (t - dt_out, t]; prev_count NULL: no rows this time. */
    const double *prev_count; /* [len] particles by size at t - dt_out */
    const double *sum_dn;     /* [len] sum of their size changes [monomers] */
    double dt_out;            /* [time unit] */
    double s_mean;            /* time-averaged S over the interval (for j_model) */
    /* Coalescence runs (cfg->coal.mode != NPG_COAL_NONE) only; ignored otherwise: */
    const double *count_b; /* [len] Group-B (coalesced) particles of size n; Group A = count -
                              count_b */
    double coalescences;   /* merges since t = 0 (expected number in the master equation) */
    double kf;             /* [1/time unit] coalescence rate coefficient over the output
                              interval: merges N(0) / (N(t - dt_out) N(t) dt_out) (model.md 3.4,
                              dA/dt = P - kf A^2, A = N(t)/N(0)); NAN at t = 0 */
} npg_snapshot;

typedef struct npg_observer {
    const npg_config *cfg;
    const npg_rates *rates; /* for j_model */
    npg_landscape land;
    FILE *moments, *histogram, *growth;
    double *rn; /* [rn_len] sigma_s n^(1/3) [nm], grown with the snapshots' len */
    uint32_t rn_len;
    /* CPU threads the caller runs on (0 = the OpenMP default): with 2 or more, histogram.csv
     * and growth_rate.csv are written by one thread each (their bytes do not depend on it).
     * Set after npg_observer_open. */
    int threads;
} npg_observer;

/* Create moments.csv, histogram.csv and growth_rate.csv in dir and write the headers. */
int npg_observer_open(npg_observer *o, const npg_config *cfg, const npg_rates *rates,
                      const char *dir, char *err, size_t errlen);
int npg_observer_write(npg_observer *o, const npg_snapshot *s, char *err, size_t errlen);
/* Close the files; returns non-zero if any write failed. */
int npg_observer_close(npg_observer *o);

/* Histogram bin [lo, hi] containing n under cfg's layout (linear width, or log ratio). */
void npg_hist_bin(const npg_config *cfg, uint32_t n, uint32_t *lo, uint32_t *hi);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_OBSERVE_H */
