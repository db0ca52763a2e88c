/* kernels/backend_cuda.h: the CUDA backend's extras beyond npgrow/backend.h, for the benchmark.
 *
 * Launch shapes as data (defaults, overridable), cumulative device timings of each phase, and
 * two probes of the device's ceilings (Philox rate, copy bandwidth). The engine never needs
 * these: it uses npg_backend_cuda_create. Only builds with NPGROW_HAVE_CUDA define them.
 */
#ifndef NPGROW_KERNELS_BACKEND_CUDA_H
#define NPGROW_KERNELS_BACKEND_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_cuda_launch {
    int block;         /* threads per block of the step kernel, a multiple of 32 (default 256) */
    int blocks_per_sm; /* 0: one particle per thread (default); k > 0: grid = k * SMs blocks,
                          each thread strides over several particles */
    int min_blocks;    /* 0: the compiler's register budget; 4 (default), 6 or 8: cap registers
                          so that many blocks of <= 256 threads fit an SM */
    int sync_check;    /* 1: synchronize and check after every launch (debug; env NPG_CUDA_SYNC) */
} npg_cuda_launch;

/* Cumulative milliseconds measured with CUDA events since creation. */
typedef struct npg_cuda_timing {
    double step_ms;     /* step kernel, including its fused block sums of events/alive/bound */
    double reduce_ms;   /* max_n and histogram passes on the device */
    double transfer_ms; /* host<->device copies: stats, histograms, samples */
    double copy_ms;     /* device-to-device copies: mark, save, restore */
    double init_ms;     /* uploads and the initial-size kernel */
    uint64_t steps;     /* advance calls */
} npg_cuda_timing;

/* The defaults npg_backend_cuda_create uses. */
npg_cuda_launch npg_cuda_launch_default(void);

/* npg_backend_cuda_create with explicit launch shapes. */
int npg_backend_cuda_create_with(npg_backend *b, const npg_backend_setup *s,
                                 const npg_cuda_launch *launch, char *err, size_t errlen);

/* Timings of a backend made by either constructor (b->name must be "cuda"). */
int npg_backend_cuda_timing(const npg_backend *b, npg_cuda_timing *t);

/* Philox4x32-10 calls per second on device `device` (every thread chaining calls, results
 * folded so nothing is optimized away): the integer-multiply ceiling of the step. */
int npg_cuda_probe_philox(int device, double *calls_per_s, char *err, size_t errlen);

/* Device-to-device copy bandwidth, bytes read + bytes written per second. */
int npg_cuda_probe_copy(int device, double *bytes_per_s, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_KERNELS_BACKEND_CUDA_H */
