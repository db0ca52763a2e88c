/* npgrow/philox.h: Philox4x32-10 (Salmon et al., SC'11), host/device, bit-identical to cuRAND.
 *
 * The counter/key layout is cuRAND's curandStatePhilox4_32_10_t: a 128-bit counter (x,y,z,w)
 * and a 64-bit key (x = low word of the seed, y = high word). cuRAND's host generator with
 * seed s emits philox(counter = 0, key = s) first; its next 4-word blocks are cuRAND
 * subsequences j = 1, 2, ... in the counter's high half, (0, 0, j, 0), not counter x = 1, 2
 * (pinned down in tests/test_philox.cpp). npgrow keys each particle by (seed, particle id)
 * and puts (draw, step, purpose) in the counter (see npg_stream below); nothing is keyed on
 * thread or block index.
 */
#ifndef NPGROW_PHILOX_H
#define NPGROW_PHILOX_H

#include "npgrow/hd.h"

typedef struct npg_u32x4 {
    uint32_t x, y, z, w;
} npg_u32x4;

typedef struct npg_u32x2 {
    uint32_t x, y;
} npg_u32x2;

/* Every purpose that draws random numbers, so that no two purposes ever share a counter. */
typedef enum npg_stream {
    NPG_STREAM_MONOMER = 0,     /* association/dissociation events in the SSA */
    NPG_STREAM_INIT = 1,        /* initial sizes */
    NPG_STREAM_COALESCENCE = 2, /* reserved: Brownian coalescence */
    NPG_STREAM_SAMPLING = 3,    /* trajectory sampling, reservoir draws */
    NPG_STREAM_SUPPLY = 4       /* precursor conversion (host side, key id = 0xffffffff) */
} npg_stream;

static inline NPG_HD void npg_philox_mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* The 10-round bijection: 20 32x32->64 multiplies per call of 4 outputs. */
static inline NPG_HD npg_u32x4 npg_philox4x32_10(npg_u32x4 c, npg_u32x2 k)
{
    for (int r = 0; r < 10; ++r) {
        uint32_t hi0, lo0, hi1, lo1;
        npg_philox_mulhilo(0xD2511F53u, c.x, &hi0, &lo0);
        npg_philox_mulhilo(0xCD9E8D57u, c.z, &hi1, &lo1);
        npg_u32x4 o;
        o.x = hi1 ^ c.y ^ k.x;
        o.y = lo1;
        o.z = hi0 ^ c.w ^ k.y;
        o.w = lo0;
        c = o;
        k.x += 0x9E3779B9u;
        k.y += 0xBB67AE85u;
    }
    return c;
}

/* Uniform in (0, 1] with 2^-32 resolution (cuRAND's curand_uniform convention): safe for log. */
static inline NPG_HD double npg_u01_open0(uint32_t x)
{
    return ((double)x + 1.0) * 2.3283064365386963e-10;
}

/* Uniform in [0, 1) with 2^-32 resolution: for comparisons against probabilities. */
static inline NPG_HD double npg_u01_closed0(uint32_t x)
{
    return (double)x * 2.3283064365386963e-10;
}

/* Standard exponential variate -ln(u), u in (0,1]. Resolution 2^-32, so the largest value is
 * 22.18; the truncated tail has probability 2.3e-10 and shifts the mean by < 1e-10. [-] */
static inline NPG_HD double npg_exponential(uint32_t x)
{
    return -npg_log(npg_u01_open0(x));
}

/* Key and counter for particle `id`'s stream of `purpose` in synchronization step `step`.
 * key = (seed, id); counter = (draw, step lo, step hi, purpose). */
static inline NPG_HD npg_u32x2 npg_philox_key(uint32_t seed, uint32_t id)
{
    npg_u32x2 k;
    k.x = seed;
    k.y = id;
    return k;
}

static inline NPG_HD npg_u32x4 npg_philox_counter(uint32_t draw, uint64_t step, uint32_t purpose)
{
    npg_u32x4 c;
    c.x = draw;
    c.y = (uint32_t)step;
    c.z = (uint32_t)(step >> 32);
    c.w = purpose;
    return c;
}

#endif /* NPGROW_PHILOX_H */
