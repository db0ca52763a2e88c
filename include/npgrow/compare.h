/* npgrow/compare.h: quantitative comparison of two result directories (`npgrow compare`).
 *
 * A result directory holds moments.csv, histogram.csv and run.yaml as `npgrow run` and
 * `npgrow me` write them (or a user's own files in that format), or the run.h5 built from them;
 * or moments.csv and run.yaml of `npgrow pair` (no sizes: A and k_f only). Per
 * common output time: relative differences of mean, variance and m3..m10; the DSMTS mean and
 * variance statistics Z and Y where a side is stochastic; histogram L1 and Kolmogorov-Smirnov
 * distances with the KS critical value. It deliberately knows nothing about how the results were
 * produced.
 */
#ifndef NPGROW_COMPARE_H
#define NPGROW_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npgrow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One result directory, as read. */
typedef struct npg_result {
    char dir[1024];
    char producer[32]; /* run.yaml `producer:` ("run", "me", or "" when absent) */
    int stochastic;    /* producer run, or (no producer) a top-level `particles:` key */
    char status[32];   /* run.yaml `status:` ("complete", "interrupted", ...; "" when absent) */
    double t_reached;  /* run.yaml `t_reached:` (NAN when absent) */
    double t_end;      /* run.yaml `config: run: t_end:` (NAN when absent) */
    size_t nt;         /* rows of moments.csv (output times) */
    double *t;         /* [nt] */
    double *particles; /* [nt] alive particles */
    double *m;         /* [nt * 11] m[i*11 + q]: q = 1..10 raw moments, m[i*11] = var_n */
    size_t nh;         /* rows of histogram.csv */
    double *ht;        /* [nh] */
    uint32_t *lo, *hi; /* [nh] bin [n_lo, n_hi] */
    double *count;     /* [nh] */
    double *merges;    /* [nt] moments.csv `coalescences` (coalescence runs), else NULL */
    double *kf;        /* [nt] moments.csv `kf` [1/time unit] (coalescence), else NULL */
    int sizes;         /* 1: sizes (mean_n, var_n, histogram.csv); 0: `producer: pair`, whose
                        * moments.csv has t, particles (= A, N(0) = 1), coalescences, kf only */
} npg_result;

/* Reads dir/{moments.csv,histogram.csv,run.yaml}; or a run.h5 when dir names a file, or is a
 * directory with run.h5 and neither moments.csv nor histogram.csv (host/stats/result_h5.c: the
 * same fields; histogram rows per time from the first to the last non-zero bin). Returns 0, or
 * NPG_EXIT_USAGE (2) with a message naming the file (missing directory, file, column or
 * dataset, unparsable value, a truncated, damaged or foreign HDF5 file). */
int npg_result_load(const char *dir, npg_result *r, char *err, size_t errlen);
void npg_result_free(npg_result *r);

typedef struct npg_compare_options {
    double z_max; /* |Z| bound (default 3) */
    double y_max; /* |Y| bound (default 5) */
    double alpha; /* KS significance (default 0.001) */
    double rtol;  /* both deterministic: bound on relative mean/variance differences (1e-6) */
    int partial;  /* 1: a side that stopped early (interrupted, or ending before the other) is
                   * compared on the common times; 0 (default): such a comparison fails */
} npg_compare_options;

/* Fewest alive particles on a stochastic side for a time to be tested: Z and Y are
 * normal approximations (central limit) and KS_crit = c(alpha)/sqrt(N) is the asymptotic
 * Kolmogorov critical value, which textbooks take as adequate from about 35-50 samples.
 * Below it the time is reported but neither passes nor fails. */
#define NPG_COMPARE_MIN_PARTICLES 50.0

typedef enum npg_compare_mode {
    NPG_COMPARE_DETERMINISTIC = 0, /* both sides deterministic: relative differences only */
    NPG_COMPARE_ONE_SAMPLE = 1,    /* one stochastic side against the deterministic reference */
    NPG_COMPARE_TWO_SAMPLE = 2     /* both stochastic: two-sample forms */
} npg_compare_mode;

typedef struct npg_compare_row {
    double t;
    double n_a, n_b; /* alive particles */
    double mean_a, mean_b, var_a, var_b;
    double rel[11];         /* (B - A)/|A|: rel[1] mean, rel[2] variance, rel[q] m_q, q >= 3 */
    double Z, p_z;          /* mean statistic, its two-sided normal p-value; NAN: skipped */
    double Y;               /* variance statistic with the reference's kurtosis (pass test) */
    double Y_normal;        /* DSMTS normal-theory form sqrt(N/2)(s^2/sigma^2 - 1) */
    int y_skipped;          /* reference variance 0 (e.g. monodisperse t = 0) */
    double L1, KS, KS_crit; /* KS_crit NAN in deterministic mode */
    double Z_count;         /* coalescence (both sides have merges): particle-count statistic
                               (A_B - A_A) / sqrt(var) on A = N/N(0) (sides of different N(0)
                               compare), var from the Poisson approximation of the merges and
                               of the other count changes (entries, dissolutions); NAN
                               otherwise. Passes with |Z_count| <= z_max like Z. */
    double kf_a, kf_b;      /* moments.csv kf over the output interval ending at t [1/time unit] */
    double Z_kf;            /* coalescence, both sides with kf and merges, the previous row common
                               too: the merges in the interval against the rate coefficient, as a
                               normal score of an exact tail (one-sample: Poisson with mean kf_ref
                               N(t - dt)^2 (N_ref(t) / N_ref(t - dt)) dt / N(0) of the particle
                               side, conditioned on its count at the start of the interval only;
                               two-sample: binomial split of both sides' merges by exposure
                               N(t - dt)^2 dt / N(0));
                               NAN otherwise. Passes with |Z_kf| <= z_max like Z. */
    int tested; /* 0: no statistic could be computed (too few particles, nothing alive) */
    int pass;   /* meaningful only when tested */
} npg_compare_row;

typedef struct npg_compare_result {
    npg_compare_mode mode;
    int reference_is_a; /* one-sample: which side is the deterministic reference */
    size_t n;
    npg_compare_row *rows; /* [n] the common output times */
    size_t only_a, only_b; /* output times present on one side only (ignored) */
    size_t y_skipped;
    size_t tested;       /* rows with a statistic; only those count towards pass */
    size_t tested_late;  /* of those, rows at t > 0 (t = 0 alone decides nothing: both
                          * sides start from the same configuration) */
    size_t too_few;      /* rows skipped for fewer than NPG_COMPARE_MIN_PARTICLES alive */
    int partial;         /* a side stopped early: see why */
    char why[512];       /* partial: which side, its status and last time */
    int partial_allowed; /* the options' partial */
    int inconclusive;    /* no tested row at t > 0 */
    int pass;            /* every tested row passes, conclusive, and not an unasked partial */
} npg_compare_result;

/* The exit status of a comparison: NPG_EXIT_OK when r->pass, NPG_EXIT_INCONCLUSIVE when
 * r->inconclusive (and nothing failed), NPG_EXIT_FAIL otherwise. */
int npg_compare_exit_status(const npg_compare_result *r);

/* Kolmogorov-Smirnov asymptotic constant c(alpha) = sqrt(-ln(alpha/2)/2). */
double npg_ks_c(double alpha);

/* Compare. Returns 0 (see out->pass, out->inconclusive, out->partial, and
 * npg_compare_exit_status), or NPG_EXIT_USAGE for inconsistent histogram bins. No common output
 * time at all is inconclusive, not an error. */
int npg_compare(const npg_result *a, const npg_result *b, const npg_compare_options *o,
                npg_compare_result *out, char *err, size_t errlen);
void npg_compare_result_free(npg_compare_result *r);

/* The table (time, Z, Y, KS, KS crit, pass) and a summary line on f. */
void npg_compare_print(FILE *f, const npg_result *a, const npg_result *b,
                       const npg_compare_options *o, const npg_compare_result *r);
/* compare.csv: one row per common time; `pass` is 1 or 0 where tested, empty where not. */
int npg_compare_write_csv(const npg_compare_result *r, const char *path, char *err, size_t errlen);
/* The same rows on an open stream; non-zero on a write error. */
int npg_compare_write_csv_file(const npg_compare_result *r, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_COMPARE_H */
