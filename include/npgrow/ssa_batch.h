/* npgrow/ssa_batch.h: the CPU backend's batched SSA (host only).
 *
 * Same walk as npg_particle_advance (step.h), bit for bit, but the random words are drawn
 * ahead in vectorized batches: Philox and the exponential transform of NPG_BATCH_LANES
 * particles at a time, NPG_BATCH_SLOTS proposals each, then each particle consumes its slots
 * through npg_walk_step. Particles that need more proposals go round again with the next
 * blocks of their streams; the rest leave the batch.
 */
#ifndef NPGROW_SSA_BATCH_H
#define NPGROW_SSA_BATCH_H

#include "npgrow/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Particles drawn for together (the vector loop's trip count) and proposals per round (even:
 * one Philox block serves two). Measured in bench/RESULTS.md: 4 slots beat 8 and 16, because
 * a particle's last round wastes half a round of draws on average. */
#define NPG_BATCH_LANES 64
#define NPG_BATCH_SLOTS 4

/* Advance particles [begin, end) of n (ids = indices, so end <= 2^32) over the interval, adding
 * their events, survivors and bound monomers to *tot. Returns 0, or 1 when a stop was requested
 * (npgrow/status.h) part-way: the interval is then incomplete and must be discarded. */
int npg_ssa_batch_advance(uint32_t *n, uint64_t begin, uint64_t end, const npg_interval *iv,
                          const npg_rates *r, npg_advance_stats *tot);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_SSA_BATCH_H */
