/* npgrow/h5out.h: run.h5, the self-describing binary result file beside the CSV files.
 *
 * Layout (H5MD 1.1 conventions; README.md "run.h5" documents every dataset):
 *   /h5md                        version [1, 1]; author (name); creator (name npgrow, version)
 *   /observables/moments/        step[T], time[T] and one dataset per moments.csv column
 *   /observables/size_histogram/ step[T], time[T], n_lo[B], n_hi[B], value[T][B] (counts)
 *   /observables/growth_rate/    step, time[T], n_lo[G], n_hi[G], value[T][G] (mean dn/dt),
 *                                particles[T][G], j_model[T][G]
 *   /observables/trajectories/   step, time[T], id[P], value[T][P] (n; 0 = dissolved)
 *   /particles/ensemble/n_monomers/ step[S], time[S], value[S][N] (uint32, 0 = dissolved, coalesced
 *                                away or an entry slot not yet filled; N: every slot)
 *   /parameters/                 config_yaml, run_yaml and every top-level scalar of run.yaml
 * Coalescence runs: size_histogram gains value_a/value_b (Group A/B), and
 *   /events/coalescence/          time[E], id_kept, id_gone, n_kept, n_gone, r_kept_nm, r_gone_nm
 *                                (coalescence.csv's sampled merges).
 * Reserved (not written yet): /observables/coalescence/<name>/{step,time,value}.
 * Every dataset has a `unit` attribute; time, n_lo and id are HDF5 dimension scales, so
 * xarray (engine h5netcdf) names the dimensions.
 *
 * The file is written inside the result directory's temporary sibling (outdir.h), so it appears
 * together with the CSV files or not at all. Implemented in host/io/h5out.c (HDF5 C library).
 */
#ifndef NPGROW_H5OUT_H
#define NPGROW_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes of particles ids[0..k-1] now (npg_ensemble_sample's contract: n < 2 = dissolved). */
typedef int (*npg_h5_sample_fn)(void *ctx, const uint64_t *ids, size_t k, uint32_t *n_out,
                                char *err, size_t errlen);

typedef struct npg_h5out npg_h5out;

/* Create dir/run.h5 for `producer` ("run", "me", ...). *h = NULL (and every call below a no-op)
 * when cfg->hdf5 is off. particles: ensemble size (0: no /particles group). */
int npg_h5out_open(npg_h5out **h, const npg_config *cfg, const char *dir, const char *producer,
                   uint64_t particles, char *err, size_t errlen);

/* Call at every output time (t = 0 included, last = 0), then once more after the last one
 * (last = 1). Writes a full-ensemble snapshot when one is due: the first output time at or
 * after each output.snapshots time, or (none given) the last time. */
int npg_h5out_at(npg_h5out *h, double t, int last, npg_h5_sample_fn sample, void *ctx, char *err,
                 size_t errlen);

/* Read what is already in the directory (moments.csv, histogram.csv, growth_rate.csv,
 * trajectories.csv, run.yaml), write the observables and /parameters, close the file and free
 * h. Returns 0, or 1 with a message (the caller abandons the directory). */
int npg_h5out_finish(npg_h5out *h, char *err, size_t errlen);

/* Close and free without finishing (a failed run; its directory is abandoned). */
void npg_h5out_discard(npg_h5out *h);

/* open + finish: run.h5 for a directory whose CSV files and run.yaml are written (me, data
 * import). No-op when cfg->hdf5 is off. */
int npg_h5out_write_dir(const npg_config *cfg, const char *dir, const char *producer, char *err,
                        size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_H5OUT_H */
