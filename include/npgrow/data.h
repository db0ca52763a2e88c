/* npgrow/data.h: experimental data (model.md section 4) read into the run format.
 *
 * In situ: liquid-cell TEM trajectories, (area [px^2], x [px], y [px]) triplets per particle per
 * frame (model.md 4.1), converted by r = pixel sqrt(area/pi), n = round((r/sigma_s)^3) and
 * cleaned by the remove_trajectories rule (4.3). Ex situ: one column of radii [nm] per sampling
 * time (4.2), n = (r/sigma_s)^3 (not rounded, as 4.7), optional r^3 outlier removal.
 * Statistics per frame are over the particles present there (population variance, 4.3);
 * bootstrap bands resample whole trajectories (in situ) or the samples of each time (ex situ).
 * Implemented in host/data/import.c. No smoothing, no fitting (that is model.md 4.4's pipeline).
 */
#ifndef NPGROW_DATA_H
#define NPGROW_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a tem-pixel file is laid out and converted. */
typedef struct npg_tem_options {
    double pixel_nm;    /* pixel size [nm/px], > 0 (Pt 0.53, Au 0.538: model.md 1.7) */
    double frame_dt;    /* frame interval [time unit]; time of row k (1-based) = k frame_dt,
                           unless time_column */
    int time_column;    /* 1: column 1 holds the time of the row [time unit] */
    int groups;         /* 1: a separator/label column starts each group of triplets;
                           the particles of a group merge (coalescence files) */
    int clean;          /* 1: remove_trajectories (model.md 4.3), the default */
    int clean_min_runs; /* a trajectory is dropped with this many NaN runs (default 2) */
    int clean_run_len;  /* ... of more than this many frames (default 3) */
} npg_tem_options;

#define NPG_TEM_OPTIONS_DEFAULT                                                                    \
    {                                                                                              \
        0.0, 0.0, 0, 0, 1, 2, 3                                                                    \
    }

/* A coalescence event of a group file: particle `lost` merged into `into` at time t. */
typedef struct npg_coal_event {
    double t;          /* first frame of the merged particle [time unit] */
    double r_sum_nm;   /* r_i + r_j one frame before merging [nm] */
    int group;         /* group index within its file, 0-based */
    size_t into, lost; /* particle indices (columns of n) */
} npg_coal_event;

/* An imported data set: nt times, np particles; n[p * nt + k] (NaN when p is absent at k). */
typedef struct npg_data_set {
    int in_situ;            /* 1: trajectories (particles persist across frames); 0: ex situ */
    size_t nt, np;          /* times, particles (ex situ: samples, each present at one time) */
    double *t;              /* [nt] time [time unit] */
    double *n;              /* [np * nt] monomers, NaN = absent */
    double *r;              /* [np * nt] radius [nm], NaN = absent */
    int *group;             /* [np] in situ: group id across files (-1: not in a group file) */
    int *file;              /* [np] index of the source file */
    size_t np_read;         /* particles read, before cleaning / outlier removal */
    size_t removed;         /* samples (ex situ) or trajectories (in situ) removed */
    npg_coal_event *events; /* [nevents] */
    size_t nevents;
} npg_data_set;

/* Read tem-pixel FILEs (all with the same number of rows) into d, converting with sigma_s [nm].
 * Leading and trailing frames where no particle of any file is present are dropped before the
 * cleaning rule runs. Returns 0, or NPG_EXIT_USAGE with a message naming file:row:column. */
int npg_data_read_tem(const char *const *files, int nfiles, const npg_tem_options *o,
                      double sigma_s, npg_data_set *d, char *err, size_t errlen);
/* Read ex-situ radii FILEs (row 1: times; columns of radii [nm], blanks pad; times of several
 * files are merged). outliers: drop, per time, r^3 values with |x - median| > 3 * 1.4826 * MAD
 * (MATLAB rmoutliers' default, model.md 4.2). */
int npg_data_read_radii(const char *const *files, int nfiles, double sigma_s, int outliers,
                        npg_data_set *d, char *err, size_t errlen);
void npg_data_free(npg_data_set *d);

/* Per-time statistics of the particles present. */
#define NPG_DATA_NQ 10 /* quantities with bootstrap bands: mean, var, m3..m10 */
typedef struct npg_data_stats {
    double particles;     /* N present */
    double mean_n, var_n; /* population variance (divide by N) */
    double m[11];         /* m[q] = <n^q>, q = 1..10 (m[0] = 1) */
    double mean_r, var_r; /* [nm], [nm^2] */
} npg_data_stats;

/* Statistics at time index k over the particles present (weights w[p] >= 0: how often particle
 * p is counted, NULL = once each). */
void npg_data_stats_at(const npg_data_set *d, size_t k, const uint32_t *w, npg_data_stats *s);

/* Measurement noise of the sizes, from the frame-to-frame jitter along trajectories (in situ).
 * For each particle present at three consecutive frames with n >= 20, the second difference of
 * ln n; its mean over the particles of a frame is the frame's common jump (whole frames rescale,
 * model.md 4.1 data), the rest is each particle's own jitter. White noise of sd sigma in ln n
 * gives a second difference of variance 6 sigma^2, so sigma = sqrt(var / 6) for each part. The
 * particle part inflates the observed variance of n by about sigma^2 <n^2> (the common part
 * rescales all sizes together). Upper bounds: the model's own event noise and real curvature of
 * ln n add to the second differences too (tiny over one frame at these sizes). */
typedef struct npg_data_noise {
    size_t triples;           /* (particle, frame) second differences used */
    double sigma_ln;          /* [-] particle jitter: sd of ln n per frame */
    double sigma_ln_frame;    /* [-] common jump of a whole frame: sd of its mean ln n */
    double var_fraction[3];   /* sigma_ln^2 <n^2> / var_n at the first, middle and last time */
    double var_fraction_t[3]; /* those times [time unit] */
} npg_data_noise;

/* Estimate it; returns 0, or 1 when there are no usable triples (ex situ: no trajectories). */
int npg_data_noise_estimate(const npg_data_set *d, npg_data_noise *out);

/* Bootstrap bands: for each time and each of the NPG_DATA_NQ quantities (mean_n, var_n, m3..m10)
 * the 2.5, 16, 84 and 97.5 % percentiles over `resamples` resamples. band[(k * NPG_DATA_NQ + q)
 * * 4 + j]. Seeded GSL mt19937. Returns 0, or 130/143 when a stop was requested. */
int npg_data_bootstrap(const npg_data_set *d, unsigned resamples, unsigned long seed, double *band);

/* Write the result directory's files into dir (an open temporary directory): moments.csv,
 * histogram.csv, growth_rate.csv and trajectories.csv (in situ), coalescence.csv (events),
 * moments_ci.csv (band may be NULL: then not written). cfg: binning of histogram.csv. */
int npg_data_write(const npg_data_set *d, const npg_config *cfg, const double *band,
                   const char *dir, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_DATA_H */
