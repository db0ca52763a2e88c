/* npgrow/bddevice.h: the interface a Brownian-dynamics device implements (the GPU's,
 * kernels/bd_cuda.cu, over kernels/bd_device.cuh; its OpenMP twin in the tests), and that
 * host/coalesce/brownian.c drives through npg_bd_attach (npgrow/brownian.h). Like backend.h for
 * the monomer SSA, it knows nothing of the host beyond the shared step physics (bdstep.h).
 */
#ifndef NPGROW_BDDEVICE_H
#define NPGROW_BDDEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/bdstep.h"
#include "npgrow/coalesce.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A device that holds the slot arrays (the CUDA backend's, kernels/bd_cuda.cu; an OpenMP twin
 * of the same source in the tests). With one attached, the steps' parallel parts run there:
 * moves, the pair search over normal slots, cell-list rebuilds (a stable sort of cell keys),
 * sizes and counts. The host keeps every array as a mirror and runs the serial part (hard core,
 * reactions, merges, pushes, displaced slots, insertions) on it: a cell's slots are fetched when
 * the host first reads them after the device changed them, and every slot the host writes is
 * put back before the device's next step. The device's view of sizes n (by id) is put whole at
 * each advance and by id after merges. Slots are in the same order and every random number is
 * keyed by ids and the step, so the result equals the host's (bit for bit with the same libm;
 * CUDA's cbrt and exp may differ in the last bit). Every operation returns 0, or 1 with
 * error() describing the failure. */
typedef struct npg_bd_device {
    void *ctx;
    uint64_t capacity; /* slots (and ids) it holds */
    /* A grid of nc^3 cells with the axis intervals lo, wd [nc + 1]; start [nc^3 + 1] (or NULL:
     * a rebuild follows) gives slots [start[c], start[c + 1]) of cell c, for nmain slots. */
    int (*grid)(void *ctx, uint32_t nc, const uint32_t *lo, const uint32_t *wd,
                const uint32_t *start, uint64_t nmain);
    /* The device's slots[i] := the host arrays' slots[i] (and the disp words holding them). */
    int (*put)(void *ctx, const uint32_t *slots, size_t k, const uint32_t *x, const uint32_t *y,
               const uint32_t *z, const float *g, const uint32_t *ids, const uint64_t *disp);
    /* The host arrays' slots[i] := the device's. */
    int (*get)(void *ctx, const uint32_t *slots, size_t k, uint32_t *x, uint32_t *y, uint32_t *z,
               float *g, uint32_t *ids);
    /* Sizes by id: n[ids[i]] for i < k, or with ids NULL n[0..k). */
    int (*put_n)(void *ctx, const uint32_t *ids, size_t k, const uint32_t *n);
    /* Every slot < nslots moves by npg_bd_move_ticks(seed, id, g, step, c). */
    int (*moves)(void *ctx, uint64_t nslots, uint32_t seed, uint64_t step, double c);
    /* Stable sort of slots < nslots by cell (dead slots dropped); start [nc^3 + 1] to the
     * host, *live the slots kept; displaced bits cleared. */
    int (*rebuild)(void *ctx, uint64_t nslots, uint32_t *start, uint64_t *live);
    /* Over alive slots: with write, g := npg_bd_gfac (dead when n < 2) first; then the smallest
     * and largest radius of the slots with g >= 0 and n >= 2, and their count. */
    int (*sizes)(void *ctx, uint64_t nslots, const npg_coal_params *coal, int write, double *rmin,
                 double *rmax, uint64_t *live);
    /* Slots with g >= 0. */
    int (*count)(void *ctx, uint64_t nslots, uint64_t *live);
    /* The slot(s) of id die (g < 0). */
    int (*kill)(void *ctx, uint64_t nslots, uint32_t id);
    /* The pair pass over normal slots < nmain (npg_bd_scan_slot; v's scalars, the device's
     * arrays): the pairs, in any order, into *out (valid until the next call), *viol = 1 when
     * a slot has left its extended box. */
    int (*pairs)(void *ctx, const npg_bd_view *v, uint64_t nmain, const npg_bd_pair **out,
                 size_t *len, int *viol);
    /* Device bytes held per slot (capacity), for npg_bd_bytes_per_particle. */
    double (*bytes_per_slot)(void *ctx);
    const char *(*error)(void *ctx);
    void (*destroy)(void *ctx);
} npg_bd_device;

/* The CUDA device for capacity slots (NULL with a message when there is no CUDA build or no
 * GPU: kernels/bd_cuda.cu). */
npg_bd_device *npg_bd_device_cuda(uint64_t capacity, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_BDDEVICE_H */
