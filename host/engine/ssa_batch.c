/* ssa_batch.c: the CPU backend's batched SSA (see npgrow/ssa_batch.h).
 *
 * Why: per proposal the walk itself is a table load, a divide and two compares, ~30
 * instructions, while its random words (half a Philox4x32-10 call, 10 multiplies, and a
 * logarithm) took ~110 more when drawn one particle at a time (callgrind, gcc 12 -O3). Drawn
 * for 64 particles at once they vectorize (SSE2 everywhere, AVX2 where the CPU has it, chosen
 * at load time by target_clones): 1.5e8 proposals/s on one core of the development VM against
 * 6e7 one at a time. Proposals are consumed slot-major (slot s of every particle, then slot
 * s + 1), so consecutive walk steps belong to different particles and their dependency chains
 * overlap. No arithmetic of its own: the words come from npg_philox4x32_10 and
 * npg_exponential, the walk is npg_walk_step. tests/test_ssa_batch.cpp checks sizes and event
 * counts against npg_particle_advance bit for bit. The result does not depend on the vector
 * width: every lane computes the same IEEE operations (the build does not contract them into
 * FMAs, see CMakeLists.txt).
 */
#include "npgrow/ssa_batch.h"
#include "npgrow/status.h"

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define NPG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NPG_VECTOR_CLONES
#endif

enum { LANES = NPG_BATCH_LANES, SLOTS = NPG_BATCH_SLOTS };

/* Slots 2q and 2q+1 of lane i come from block block0 + q of particle ids[i]'s stream. */
NPG_VECTOR_CLONES
static void draw_slots(uint32_t seed, uint64_t step, uint32_t block0, const uint32_t *restrict ids,
                       long count, double *restrict e, uint32_t *restrict w)
{
    for (int q = 0; q < SLOTS / 2; ++q) {
        double *restrict e0 = e + (2 * q) * LANES;
        double *restrict e1 = e + (2 * q + 1) * LANES;
        uint32_t *restrict w0 = w + (2 * q) * LANES;
        uint32_t *restrict w1 = w + (2 * q + 1) * LANES;
        const npg_u32x4 ctr = npg_philox_counter(block0 + (uint32_t)q, step, NPG_STREAM_MONOMER);
        for (long i = 0; i < count; ++i) {
            const npg_u32x4 b = npg_philox4x32_10(ctr, npg_philox_key(seed, ids[i]));
            e0[i] = npg_exponential(b.x);
            w0[i] = b.y;
            e1[i] = npg_exponential(b.z);
            w1[i] = b.w;
        }
    }
}

/* Rounds between looks at the stop request: a particle with 1e9 events in one interval still
 * stops within milliseconds; the look is one load per 256 x 4 x 64 proposals. */
enum { STOP_POLL_ROUNDS = 256 };

/* One group of up to LANES particles, [begin, end), end <= 2^32 (ids are 32-bit). Returns 1 when
 * a stop was requested (the group is then left part-way: the interval must be discarded). */
static int advance_group(uint32_t *n, uint64_t begin, uint64_t end, const npg_interval *iv,
                         const npg_walk_ctx *ctx, npg_advance_stats *tot)
{
    uint32_t ids[LANES];
    npg_walk walk[LANES];
    _Alignas(64) double e[SLOTS * LANES];
    _Alignas(64) uint32_t w[SLOTS * LANES];
    long active = 0;
    for (uint64_t i = begin; i < end; ++i)
        if (n[i] >= 2u) {
            ids[active] = (uint32_t)i;
            walk[active].t = 0.0;
            walk[active].n = n[i];
            walk[active].events = 0;
            ++active;
        }
    for (uint32_t block0 = 0, round = 1; active > 0; block0 += SLOTS / 2, ++round) {
        if (round % STOP_POLL_ROUNDS == 0 && npg_stop_requested())
            return 1;
        draw_slots(iv->seed, iv->step, block0, ids, active, e, w);
        /* Slot-major: consecutive steps belong to different particles, so their dependency
         * chains (n -> rates -> channel -> n) overlap in the core instead of queueing. */
        unsigned char over[LANES];
        for (long a = 0; a < active; ++a)
            over[a] = 0;
        for (int s = 0; s < SLOTS; ++s)
            for (long a = 0; a < active; ++a)
                if (!over[a])
                    over[a] = (unsigned char)npg_walk_step(&walk[a], e[s * LANES + a],
                                                           w[s * LANES + a], ctx);
        long kept = 0;
        for (long a = 0; a < active; ++a) {
            if (over[a]) {
                const npg_walk wk = walk[a];
                n[ids[a]] = wk.n;
                tot->events += wk.events;
                if (wk.n >= 2u) {
                    tot->alive += 1;
                    tot->bound += wk.n;
                }
            } else {
                ids[kept] = ids[a];
                walk[kept] = walk[a];
                ++kept;
            }
        }
        active = kept;
    }
    return 0;
}

int npg_ssa_batch_advance(uint32_t *n, uint64_t begin, uint64_t end, const npg_interval *iv,
                          const npg_rates *r, npg_advance_stats *tot)
{
    const npg_walk_ctx ctx = npg_walk_ctx_make(iv, r);
    for (uint64_t g = begin; g < end; g += LANES) {
        const uint64_t ge = end - g < LANES ? end : g + LANES;
        if (advance_group(n, g, ge, iv, &ctx, tot))
            return 1;
    }
    return 0;
}
