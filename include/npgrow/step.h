/* npgrow/step.h: one particle's exact SSA over one synchronization interval.
 *
 * The only per-particle physics in npgrow. Inside an interval the supersaturation is linear in
 * time, S(t) = s0 + (s1 - s0) t / dt; proposals come at the majorant rate
 * a_max(n) = max(s0, s1) A_n + k^d_n and are thinned: with u uniform in [0, 1), u a_max < S(t) A_n
 * is an association, the next k^d_n a dissociation, the rest (only when S varies) is rejected.
 * That is exact for any S(t) bounded by the majorant, and loses nothing when s0 == s1.
 *
 * Random numbers: proposal k of particle `id` in step `step` uses Philox block k/2 of the key
 * (seed, id) and counter (k/2, step, NPG_STREAM_MONOMER), words (x, y) for even k and (z, w) for
 * odd k: x or z gives the waiting time E/a_max (E = npg_exponential), y or w the channel.
 *
 * npg_walk_step is one proposal given its two words' values; every SSA loop calls it.
 * npg_particle_advance (below) draws the words on the fly: the CUDA kernel runs it, and it is the
 * reference for the CPU backend's batched path (host/ssa_batch.c), which draws the same words in
 * vectorized batches and must give bit-identical sizes and event counts
 * (tests/test_ssa_batch.cpp).
 */
#ifndef NPGROW_STEP_H
#define NPGROW_STEP_H

#include "npgrow/philox.h"
#include "npgrow/rates.h"

typedef struct npg_interval {
    double dt;     /* [time unit] interval length, > 0 */
    double s0, s1; /* [-] supersaturation at the start and the end; linear in between */
    uint64_t step; /* synchronization-step index (Philox counter field); unique per interval */
    uint32_t seed; /* run seed (Philox key word x) */
} npg_interval;

/* What a proposal needs from the interval, computed once per interval. */
typedef struct npg_walk_ctx {
    double dt;    /* [time unit] */
    double s0;    /* [-] S at the interval's start */
    double slope; /* [1/time unit] dS/dt; exactly 0 when s0 == s1 */
    double smax;  /* [-] max(s0, s1): the majorant's supersaturation */
    npg_rates rates;
} npg_walk_ctx;

/* One particle's state inside an interval. */
typedef struct npg_walk {
    double t;        /* [time unit] time since the interval's start */
    uint32_t n;      /* monomers; the walk is over once n < 2 (1 = dissolved) */
    uint32_t events; /* accepted association + dissociation events so far */
} npg_walk;

static inline NPG_HD npg_walk_ctx npg_walk_ctx_make(const npg_interval *iv, const npg_rates *r)
{
    npg_walk_ctx c;
    c.dt = iv->dt;
    c.s0 = iv->s0;
    c.slope = iv->s1 != iv->s0 ? (iv->s1 - iv->s0) / iv->dt : 0.0;
    c.smax = npg_fmax(iv->s0, iv->s1);
    c.rates = *r;
    return c;
}

/* One proposal with exponential variate e and channel word wchan, for a walk with n >= 2.
 * Returns nonzero when the walk is over for this interval: the proposal fell beyond dt, the
 * particle dissolved (n = 1), or it is frozen (S = 0 and no dissociation). The channel choice
 * is branch-free: association and dissociation are equally likely in the supersaturated phase,
 * where a branch would be mispredicted half the time. */
static inline NPG_HD int npg_walk_step(npg_walk *w, double e, uint32_t wchan, const npg_walk_ctx *c)
{
    const npg_rate_pair p = npg_rates_at(&c->rates, w->n);
    const double amax = c->smax * p.assoc + p.dissoc;
    if (!(amax > 0.0))
        return 1; /* frozen */
    w->t += e / amax;
    if (w->t >= c->dt)
        return 1;
    /* Constant S: no dependence on t, which keeps the divide off the n -> n chain. */
    const double s = c->slope != 0.0 ? c->s0 + c->slope * w->t : c->s0;
    const double birth = s * p.assoc;
    const double x = npg_u01_closed0(wchan) * amax;
    const uint32_t up = x < birth;
    const uint32_t accepted = x < birth + p.dissoc;
    w->n = w->n + 2u * up - accepted; /* +1 association, -1 dissociation, 0 rejected */
    w->events += accepted;
    return w->n < 2u;
}

/* Advance particle `id` of size n >= 2 over the interval. Returns the final size; 1 means the
 * particle dissolved (absorbing: the caller retires it). *events counts accepted association +
 * dissociation events (thinning rejections are not events). */
static inline NPG_HD uint32_t npg_particle_advance(uint32_t n, uint32_t id, const npg_interval *iv,
                                                   const npg_rates *r, uint32_t *events)
{
    const npg_walk_ctx c = npg_walk_ctx_make(iv, r);
    const npg_u32x2 key = npg_philox_key(iv->seed, id);
    npg_walk w;
    w.t = 0.0;
    w.n = n;
    w.events = 0;
    if (n >= 2u) {
        for (uint32_t block = 0;; ++block) {
            const npg_u32x4 b =
                npg_philox4x32_10(npg_philox_counter(block, iv->step, NPG_STREAM_MONOMER), key);
            if (npg_walk_step(&w, npg_exponential(b.x), b.y, &c))
                break;
            if (npg_walk_step(&w, npg_exponential(b.z), b.w, &c))
                break;
        }
    }
    *events = w.events;
    return w.n;
}

#endif /* NPGROW_STEP_H */
