/* npgrow/wellmixed.h: exact well-mixed (Marcus-Lushnikov) coalescence over an array of sizes.
 *
 * The process: every unordered pair (i, j) of alive particles (n >= 2) merges at rate
 * K_ij P_ij / V (npgrow/coalesce.h). It is sampled exactly, one merge at a time, in continuous
 * time: particles are kept in logarithmic size bins; pairs are proposed at the bin-pair majorant
 * (npg_coal_bound) by choosing a bin, a partner bin, and a member of each uniformly, and a
 * proposal at time t is accepted with K P(t) / majorant (thinning). Work per proposal is
 * O(occupied bins); the acceptance is >= ~0.5 for the kernels here. A merge keeps the lower id:
 * n_low := n_low + n_high, n_high := 0 (coalesced away), and marks both Group B.
 *
 * Randomness: one Philox stream keyed by (seed, 0xfffffffe), purpose NPG_STREAM_COALESCENCE,
 * counter = proposal index: the result depends on the seed and the sizes only, never on
 * threads or backend. The engine (host/engine) couples it to the monomer SSA by splitting
 * at synchronization intervals; tests and the benchmark use it alone.
 */
#ifndef NPGROW_WELLMIXED_H
#define NPGROW_WELLMIXED_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/coalesce.h"
#include "npgrow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel parameters of cfg in its time unit (the per-second keys converted). */
void npg_coal_params_from_config(const npg_config *cfg, npg_coal_params *p);
/* V [nm^3] of cfg's coalescence section (volume_nm3, or particles / particle_density_nm3). */
double npg_coal_volume(const npg_config *cfg);

/* Uniform index in [0, k) from the 64 random bits hi:lo (multiply-high; bias below k / 2^64).
 * Host only (128-bit product). */
static inline uint64_t npg_uniform_index64(uint32_t hi, uint32_t lo, uint64_t k)
{
    unsigned __int128 x = ((unsigned __int128)(((uint64_t)hi << 32) | lo)) * k;
    return (uint64_t)(x >> 64);
}

typedef struct npg_wm_event {
    double t;        /* [time unit] */
    uint32_t kept;   /* surviving id (the lower) */
    uint32_t gone;   /* id coalesced away */
    uint32_t n_kept; /* sizes before the merge [monomers] */
    uint32_t n_gone;
} npg_wm_event;

/* Called for every merge, in time order; a non-zero return stops npg_wm_advance (returned). */
typedef int (*npg_wm_event_fn)(void *ctx, const npg_wm_event *ev);

typedef struct npg_wm_stats {
    uint64_t merges;    /* accepted proposals since creation */
    uint64_t proposals; /* proposals drawn (merges + thinning rejections) */
    uint64_t inserted;  /* particles added by npg_wm_insert */
} npg_wm_stats;

typedef struct npg_wm npg_wm;

/* capacity: ids 0..capacity-1 (particles plus dormant slots for entries). volume_nm3 > 0. */
int npg_wm_create(npg_wm **w, const npg_coal_params *p, double volume_nm3, uint32_t seed,
                  uint64_t capacity, char *err, size_t errlen);
void npg_wm_destroy(npg_wm *w);

/* Re-bin every particle from n[0..capacity-1] (after the monomer SSA changed sizes): O(capacity).
 * Particles with n < 2 are not alive and never merge. */
int npg_wm_rebuild(npg_wm *w, const uint32_t *n, char *err, size_t errlen);

/* A dormant slot id becomes alive with size n (>= 2); n_arr[id] is set. */
int npg_wm_insert(npg_wm *w, uint32_t *n_arr, uint32_t id, uint32_t n, char *err, size_t errlen);

/* Upper bound of one particle's total merge rate [1/time unit] over [t0, t1] at the current
 * sizes: the engine sizes intervals by it (epsilon / rate). */
double npg_wm_max_rate(npg_wm *w, double t0, double t1);

/* Run the exact process on [t0, t1] over the sizes n (changed in place). Returns 0, the
 * callback's non-zero value, or 1 with a message (a merged size beyond 2^32 - 1 monomers). */
int npg_wm_advance(npg_wm *w, uint32_t *n, double t0, double t1, npg_wm_event_fn fn, void *ctx,
                   char *err, size_t errlen);

/* Group B (has taken part in a merge) as a bitset over ids: bit (id & 63) of word id >> 6. */
const uint64_t *npg_wm_group_b(const npg_wm *w);
void npg_wm_get_stats(const npg_wm *w, npg_wm_stats *st);
/* Host bytes held per particle slot (bin member lists, group bits). */
double npg_wm_bytes_per_particle(const npg_wm *w);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_WELLMIXED_H */
