/* npgrow/infer.h: the supersaturation S(t) inferred from particle trajectories alone
 * (`npgrow infer`, issue 14 "The experiment", item 2). Implemented in host/data/infer.c.
 *
 * Input: a result directory in npgrow's run format (trajectories.csv with columns t,id,n,r_nm,
 * one row per particle present at a frame; run.yaml for the time unit), and a configuration whose
 * model gives A_n and k^d_n (include/npgrow/model.h). The method (details in infer.c):
 *   - per frame interval [t_j, t_j+1], the particles present at both frames with n >= n_min
 *     (default 20: the s = 2 spike of model.md 1.3 lies below) give the mean increment <dn>_j
 *     and the trapezoid integrals of <A_n> and <k^d_n>;
 *   - S(t) is piecewise linear on knots t0, t0 + h, ...; h given, or chosen by cross-validation
 *     over blocks of frames of length B (each block left out in turn, its total increment
 *     predicted);
 *   - the integrated identity  sum_{i<J} <dn>_i = c + int_{t0}^{t_J} (S <A_n> - <k^d_n>) dt,
 *     one row per frame J, is fitted by least squares with S >= 0 at every knot as a constraint
 *     (Lawson-Hanson active set; c, the offset of the first frame, is free);
 *   - the band: bootstrap over particles (trajectories resampled with replacement, refitted);
 *     with block_bootstrap also a moving-block bootstrap over frames: the residuals of the
 *     integrated identity, in blocks of consecutive frames of length B, scaled to the part of
 *     their variance the particle resamples do not explain, added to each resample's rows.
 * Units: t in the data's time unit (which must equal the config's), S dimensionless.
 */
#ifndef NPGROW_INFER_H
#define NPGROW_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"
#include "npgrow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_INFER_BLOCK_DEFAULT     5.0 /* [time unit] cross-validation block length B */
#define NPG_INFER_CV_MAX            7   /* candidate spacings h = B x {1, 1.5, 2, 3, 4, 6, 8} */
#define NPG_INFER_MAX_KNOTS         2000
#define NPG_INFER_BOOTSTRAP_DEFAULT 200  /* bootstrap resamples */
#define NPG_INFER_N_MIN_DEFAULT     20.0 /* [monomers] smallest size in the rate averages */

typedef struct npg_infer_options {
    double knot_every;   /* [time unit] spacing of the knots of S(t); 0 = chosen by block
                          * cross-validation among B x {1, 1.5, 2, 3, 4, 6, 8} (default) */
    double block;        /* [time unit] cross-validation block length B (default 5) */
    uint32_t bootstrap;  /* resamples for the band; 0 = none */
    uint32_t seed;       /* GSL mt19937 seed of the bootstrap */
    int block_bootstrap; /* also resample moving blocks of frame residuals (whole-frame noise);
                          * 0 = particles only (default) */
    double n_min;        /* [monomers] particles below it at either frame are left out */
    int quiet;           /* no progress on stderr */
} npg_infer_options;

/* Defaults above, seed 1. */
void npg_infer_options_default(npg_infer_options *o);

typedef struct npg_infer_result {
    size_t nk;           /* knots */
    double *t;           /* [nk] knot times [time unit] */
    double *s;           /* [nk] S at the knots, the fit to all particles [-] */
    double *lo68, *hi68; /* [nk] bootstrap 16th / 84th percentiles (NAN without bootstrap) */
    double *lo95, *hi95; /* [nk] bootstrap 2.5th / 97.5th percentiles */
    size_t frames;       /* distinct times in trajectories.csv */
    size_t particles;    /* distinct ids */
    size_t pairs;        /* (particle, interval) increments used */
    double rms;          /* [monomers] rms residual of the integrated identity */
    double knot_every;   /* [time unit] the spacing used */
    size_t cv_n;         /* candidates scored (0: spacing given, or too few blocks) */
    double cv_h[NPG_INFER_CV_MAX];     /* [time unit] candidate spacings */
    double cv_score[NPG_INFER_CV_MAX]; /* [monomers^2] mean squared block-total error */
    uint32_t boot_done;                /* resamples fitted */
    size_t block_frames; /* block_bootstrap: frames per block (the cross-validation block) */
    double frame_share;  /* block_bootstrap: share of the residual variance not explained by
                          * the particle resamples (the frame noise), 0 .. 1 */
    char time_unit[8];
} npg_infer_result;

/* Infer S(t) from data_dir with cfg's model. Returns 0; NPG_EXIT_USAGE with a message naming
 * the file (missing or malformed trajectories.csv or run.yaml, a time unit other than the
 * config's, fewer than two frames or no usable increments); NPG_EXIT_FAIL when the fit fails;
 * npg_stop_exit_code() when a stop was requested during the bootstrap. Free res with
 * npg_infer_free whatever it returned. */
int npg_infer_run(const char *data_dir, const npg_config *cfg, const npg_infer_options *opt,
                  npg_infer_result *res, char *err, size_t errlen);
void npg_infer_free(npg_infer_result *res);

/* Write cfg with supply {mode: schedule} replaced by the knots of res and run.t_end set to the
 * last knot, as a complete config `npgrow run` accepts, to yaml_path; and beside it (the path
 * with .yaml/.yml replaced by .csv, else + ".csv") t,S,S_lo68,S_hi68,S_lo95,S_hi95. Both via a
 * temporary file and rename; an existing file is refused (NPG_EXIT_USAGE) unless force. The CSV
 * path goes into csv_path (may be NULL). */
int npg_infer_write(const char *yaml_path, int force, const npg_config *cfg,
                    const npg_infer_result *res, char *csv_path, size_t csv_len, char *err,
                    size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_INFER_H */
