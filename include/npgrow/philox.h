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

#include <string.h>

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
    NPG_STREAM_COALESCENCE = 2, /* coalescence proposals (well-mixed: key id = 0xfffffffe) */
    NPG_STREAM_SAMPLING = 3,    /* trajectory sampling, reservoir draws */
    NPG_STREAM_SUPPLY = 4,      /* precursor conversion (host side, key id = 0xffffffff) */
    NPG_STREAM_ENTRY = 5        /* source entry times (host side, key id = 0xfffffffd) */
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

/* Exact conversion of a 32-bit word to double. On the host it is done with integer operations
 * (the word in the low mantissa bits of 2^52, minus 2^52) so that a loop over particles
 * vectorizes with SSE2/AVX2, which have no unsigned 32-bit -> double conversion; the value is
 * the same as (double)x either way. */
static inline NPG_HD double npg_u32_to_double(uint32_t x)
{
#if defined(__CUDA_ARCH__)
    return (double)x;
#else
    const uint64_t b = 0x4330000000000000ull | (uint64_t)x;
    double d;
    memcpy(&d, &b, sizeof d);
    return d - 4503599627370496.0; /* 2^52 */
#endif
}

/* Uniform in (0, 1] with 2^-32 resolution (cuRAND's curand_uniform convention): safe for log. */
static inline NPG_HD double npg_u01_open0(uint32_t x)
{
    return (npg_u32_to_double(x) + 1.0) * 2.3283064365386963e-10;
}

/* Uniform in [0, 1) with 2^-32 resolution: for comparisons against probabilities. */
static inline NPG_HD double npg_u01_closed0(uint32_t x)
{
    return npg_u32_to_double(x) * 2.3283064365386963e-10;
}

/* Standard exponential variate E = -ln(u), u = (x + 1) 2^-32 in (0, 1]. [-]
 *
 * The SSA draws one of these per proposal, so it is written for speed, without libm (whose log
 * differs between glibc and CUDA): with y = x + 1 = 2^e m (m in [sqrt(1/2), sqrt(2)), integer
 * operations on the bits of y), ln y = e ln 2 + 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.1716,
 * and the atanh series is summed through s^19 (truncation < 1e-17). E = (32 - e) ln 2 - ln m.
 * m - 1 and 2 + (m - 1) are exact because y has at most 32 significant bits.
 * Absolute error <= 3.3e-15 against -logl(u) over all 2^32 inputs (checked once by a full
 * sweep: 3.20e-15 at x = 310; tests/test_philox.cpp checks every 4099th input), far below the
 * 2^-32 resolution of u itself. E = 0 exactly at x = 2^32 - 1; the largest value is
 * 32 ln 2 = 22.18 (tail probability 2.3e-10). The host rounds every operation separately
 * (-ffp-contract=off); nvcc fuses some into FMAs, so GPU values can differ from the CPU's in
 * the last bit (tests/test_cuda.cpp compares the backends' final sizes). No branch and no
 * table, so the CPU's batched draws (host/ssa_batch.c) vectorize it. */
static inline NPG_HD double npg_exponential(uint32_t x)
{
    const double y = npg_u32_to_double(x) + 1.0; /* exact: 1 .. 2^32 */
    uint64_t b;
    memcpy(&b, &y, sizeof b);
    /* Shift the exponent boundary to sqrt(1/2): adding (1.0 - sqrt(1/2)) in bits carries into
     * the exponent exactly when the mantissa is >= sqrt(2)/2 of the next binade. */
    b += 0x3FF0000000000000ull - 0x3FE6A09E667F3BCDull;
    const int32_t e = (int32_t)(b >> 52) - 1023;
    const uint64_t mb = (b & 0x000FFFFFFFFFFFFFull) + 0x3FE6A09E667F3BCDull;
    double m;
    memcpy(&m, &mb, sizeof m);
    const double f = m - 1.0;
    const double s = f / (2.0 + f);
    const double z = s * s;
    double p = 2.0 / 19.0;
    p = p * z + 2.0 / 17.0;
    p = p * z + 2.0 / 15.0;
    p = p * z + 2.0 / 13.0;
    p = p * z + 2.0 / 11.0;
    p = p * z + 2.0 / 9.0;
    p = p * z + 2.0 / 7.0;
    p = p * z + 2.0 / 5.0;
    p = p * z + 2.0 / 3.0;
    const double ln_m = 2.0 * s + s * (p * z);
    return (double)(32 - e) * 0.6931471805599453094 - ln_m;
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
