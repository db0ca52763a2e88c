/* npgrow/engine.h: the particle ensemble, driven through synchronization intervals.
 *
 * The ensemble owns a backend (CPU or CUDA), the rate table and the supply state (schedule,
 * closed volume, precursor pool). npg_ensemble_advance_to() runs exact per-particle SSA
 * intervals up to a time; the reduction calls give exact integer histograms. npg_run() (run.c)
 * adds output files, progress and signal handling on top; tests and benchmarks use the
 * ensemble directly.
 */
#ifndef NPGROW_ENGINE_H
#define NPGROW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/backend.h"
#include "npgrow/config.h"
#include "npgrow/wellmixed.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_ensemble_options {
    const char *backend; /* "cpu", "cuda" or "auto" (NULL = "cpu") */
    int threads;         /* CPU threads, 0 = OpenMP default */
    int device;          /* CUDA device ordinal */
    /* Tests may replace the model's rate table by any table (length n_table >= 2). */
    const npg_rate_pair *rate_table;
    uint32_t rate_table_len;
} npg_ensemble_options;

typedef struct npg_ensemble npg_ensemble;

/* Exact histograms are dense in n: a reduction refuses a particle larger than this (only
 * merges can make one: monomer growth is bounded before the run, by npg_preflight_check). */
#define NPG_ENGINE_HIST_LIMIT 100000000u

/* Returns 0, NPG_EXIT_USAGE (bad input, no usable backend), NPG_BACKEND_STOPPED (a stop request
 * during initialisation) or 1. */
int npg_ensemble_create(npg_ensemble **e, const npg_config *cfg, const npg_ensemble_options *o,
                        char *err, size_t errlen);
void npg_ensemble_destroy(npg_ensemble *e);

/* Advance to time t (>= current time) through synchronization intervals. Returns 0, 1 on error,
 * or NPG_BACKEND_STOPPED when a stop was requested (npgrow/status.h): the ensemble then stays at
 * the last completed interval's time only if the stop came between intervals; otherwise its
 * state is incomplete and only what was reduced before may be reported. */
int npg_ensemble_advance_to(npg_ensemble *e, double t, char *err, size_t errlen);

/* Start a new growth-statistics window: remember every particle's size now. */
int npg_ensemble_mark(npg_ensemble *e, char *err, size_t errlen);

/* Exact reduction of the current state. Arrays in *r are allocated by the call (free with
 * npg_reduction_free). */
int npg_ensemble_reduce(npg_ensemble *e, npg_reduction *r, char *err, size_t errlen);
void npg_reduction_free(npg_reduction *r);

/* Sizes of the given particle ids now (1 = dissolved). */
int npg_ensemble_sample(npg_ensemble *e, const uint64_t *ids, size_t k, uint32_t *n_out, char *err,
                        size_t errlen);

typedef struct npg_supply_state {
    double t;              /* [time unit] current time */
    double S;              /* supersaturation now */
    int64_t total;         /* closed/precursor: total monomers (free + bound + precursor) */
    int64_t free_monomers; /* closed/precursor: free monomers */
    int64_t bound;         /* monomers in alive particles */
    int64_t precursor;     /* precursor units */
    uint64_t alive;        /* particles with n >= 2 */
    uint64_t events;       /* accepted events since the start */
    uint64_t intervals;    /* synchronization intervals done */
    uint64_t rejected;     /* intervals redone with a shorter step (closed/precursor) */
    double advance_wall_s; /* wall time spent advancing particles [s] */
    double s_integral;     /* integral of S dt since the start [time unit] */
    uint64_t merges;       /* coalescence: merges since the start */
    uint64_t proposals;    /* coalescence: pair proposals drawn (merges + thinning rejections) */
    uint64_t entries;      /* source: particles entered since the start */
    uint64_t capacity;     /* particle slots: particles + entries the source will bring */
    double coal_wall_s;    /* [s] wall time spent in coalescence and entries */
    uint64_t bd_steps;     /* brownian: dynamics steps taken */
    uint64_t bd_particle_steps; /* brownian: particle moves */
    uint64_t conflicts;         /* brownian: reacting pairs skipped (a partner taken) */
    double bd_dt;               /* brownian: the last step [time unit] */
} npg_supply_state;

/* Merges sampled for coalescence.csv (at most cfg->coal.output_events, a uniform reservoir
 * sample of all of them), in time order; *ev stays valid until the next advance. */
size_t npg_ensemble_merges(npg_ensemble *e, const npg_wm_event **ev);
/* Host bytes per particle slot of the backend plus the coalescence sampler. */
double npg_ensemble_bytes_per_particle(const npg_ensemble *e);

void npg_ensemble_state(const npg_ensemble *e, npg_supply_state *st);
const npg_backend *npg_ensemble_backend(const npg_ensemble *e);
const npg_rates *npg_ensemble_rates(const npg_ensemble *e);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_ENGINE_H */
