/* npgrow/bdstep.h: the physics of one Brownian-dynamics coalescence step, host/device
 * (model.md 3.2, 3.7; the driver is host/coalesce/brownian.c, npgrow/brownian.h).
 *
 * Positions are fixed point: one coordinate is a uint32_t, the box edge L [nm] is 2^32 ticks,
 * so a tick is L / 2^32 nm (4.9e-6 nm for 10^8 particles 45 nm apart, L = 2.1e4 nm: the
 * reaction shell, nu ~ 0.1 nm, is 2e4 ticks wide anywhere in the box). Periodic wrapping is
 * the integer overflow, the minimum-image difference is (int32_t)(x_j - x_i), and a
 * coordinate costs 4 bytes instead of a double's 8 with the same resolution everywhere (a
 * double's resolution falls with the distance from the origin).
 *
 * Random numbers: Philox4x32-10 (npgrow/philox.h), purpose NPG_STREAM_COALESCENCE. The
 * well-mixed sampler uses key (seed, 0xfffffffe) and counter (draw, proposal lo, proposal hi,
 * purpose) with proposal < 2^48, so bits 16..31 of its counter word z are 0. Brownian dynamics
 * puts a non-zero tag there: counter (x, step lo, (step hi & 0xffff) | tag << 16, purpose):
 *   move   key (seed, id),      x = 0,                 tag 1: the three displacements
 *   pair   key (seed, lower id), x = higher id,         tag 2: reaction draw and priority
 *   place  key (seed, id),      x = attempt, step = placement serial, tag 3: a position
 * Every draw depends on ids and the step index only, never on threads or slot order.
 */
#ifndef NPGROW_BDSTEP_H
#define NPGROW_BDSTEP_H

#include "npgrow/hd.h"
#include "npgrow/philox.h"

#define NPG_BD_TAG_MOVE  1u
#define NPG_BD_TAG_PAIR  2u
#define NPG_BD_TAG_PLACE 3u

/* The shell's hazard profile (npg_bd_params.shell). */
#define NPG_BD_SHELL_GAUSSIAN 0 /* kappa_c P exp(-(r - (sigma + l))^2 / (2 nu^2)) */
#define NPG_BD_SHELL_STEP     1 /* kappa_c P inside |r - (sigma + l)| <= nu (Doi) */

static inline NPG_HD npg_u32x4 npg_bd_counter(uint32_t x, uint64_t step, uint32_t tag)
{
    npg_u32x4 c;
    c.x = x;
    c.y = (uint32_t)step;
    c.z = ((uint32_t)(step >> 32) & 0xffffu) | (tag << 16);
    c.w = NPG_STREAM_COALESCENCE;
    return c;
}

/* cos and sin of the angle 2 pi w / 2^32, branch-free (it vectorizes) and without libm (the
 * same on host and device up to FMA contraction). The top two bits of w are the quadrant; the
 * rest gives phi = (f - 1/2) pi/2 in [-pi/4, pi/4), where the Taylor series through phi^17
 * (sin) and phi^18 (cos) is accurate to 1e-16; the angle pi/4 + phi is then rotated by the
 * quadrant. Absolute error < 1e-15 against libm (tests/coalesce/test_brownian.cpp). */
static inline NPG_HD uint64_t npg_bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline NPG_HD double npg_double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline NPG_HD void npg_sincos_turn(uint32_t w, double *s, double *c)
{
    const uint32_t q = w >> 30;
    const double f = npg_u32_to_double(w & 0x3fffffffu) * (1.0 / 1073741824.0) - 0.5;
    const double phi = f * (NPG_PI / 2.0);
    const double z = phi * phi;
    double ps = 1.0 / 355687428096000.0; /* 1/17! */
    ps = ps * z - 1.0 / 1307674368000.0;
    ps = ps * z + 1.0 / 6227020800.0;
    ps = ps * z - 1.0 / 39916800.0;
    ps = ps * z + 1.0 / 362880.0;
    ps = ps * z - 1.0 / 5040.0;
    ps = ps * z + 1.0 / 120.0;
    ps = ps * z - 1.0 / 6.0;
    const double sp = phi + phi * (z * ps);
    double pc = -1.0 / 6402373705728000.0; /* -1/18! */
    pc = pc * z + 1.0 / 20922789888000.0;
    pc = pc * z - 1.0 / 87178291200.0;
    pc = pc * z + 1.0 / 479001600.0;
    pc = pc * z - 1.0 / 3628800.0;
    pc = pc * z + 1.0 / 40320.0;
    pc = pc * z - 1.0 / 720.0;
    pc = pc * z + 1.0 / 24.0;
    pc = pc * z - 0.5;
    const double cp = 1.0 + z * pc;
    const double r2 = 0.70710678118654752440; /* cos(pi/4) = sin(pi/4) */
    const uint64_t ca = npg_bits_of((cp - sp) * r2), sa = npg_bits_of((cp + sp) * r2);
    /* rotation by q quarter turns as bit selections (exact, branch-free): odd q swaps cos
     * and sin; cos is negative for q = 1, 2 and sin for q = 2, 3 */
    const uint64_t odd = (uint64_t)0 - (uint64_t)(q & 1u);
    const uint64_t c0 = (ca & ~odd) | (sa & odd), s0 = (sa & ~odd) | (ca & odd);
    const uint64_t sgn = 0x8000000000000000ull;
    *c = npg_double_of(c0 ^ ((uint64_t)(((q + 1u) >> 1) & 1u) << 63 & sgn));
    *s = npg_double_of(s0 ^ ((uint64_t)((q >> 1) & 1u) << 63 & sgn));
}

/* Three independent N(0,1) variates from one Philox block (Box-Muller twice, the fourth
 * variate unused): z0, z1 = sqrt(2 E(b.x)) (cos, sin)(2 pi b.y / 2^32),
 * z2 = sqrt(2 E(b.z)) cos(2 pi b.w / 2^32), E = npg_exponential. |z| <= 6.66. */
static inline NPG_HD void npg_bd_normals(npg_u32x4 b, double *z0, double *z1, double *z2)
{
    const double ra = npg_sqrt(2.0 * npg_exponential(b.x));
    const double rb = npg_sqrt(2.0 * npg_exponential(b.z));
    double sa, ca, sb, cb;
    npg_sincos_turn(b.y, &sa, &ca);
    npg_sincos_turn(b.w, &sb, &cb);
    *z0 = ra * ca;
    *z1 = ra * sa;
    *z2 = rb * cb;
}

/* Nearest integer of v (|v| < 2^31, ties to even) as int32, by adding 1.5 * 2^52: exact, no
 * libm, vectorizes. */
static inline NPG_HD int32_t npg_round_i32(double v)
{
    const double d = v + 6755399441055744.0;
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return (int32_t)(uint32_t)b;
}

/* Cell of a coordinate among nc cells per axis: floor(u nc / 2^32). */
static inline NPG_HD uint32_t npg_bd_cell(uint32_t u, uint32_t nc)
{
    return (uint32_t)(((uint64_t)u * nc) >> 32);
}

/* Shell hazard [1/time unit] of a pair at centre distance r [nm] whose shell centre is
 * c = sigma + l [nm], with kp = kappa_c P(sigma) [1/time unit] and width nu [nm]. */
static inline NPG_HD double npg_bd_hazard(int shell, double kp, double r, double c, double nu)
{
    const double x = r - c;
    if (shell == NPG_BD_SHELL_STEP)
        return npg_fabs(x) <= nu ? kp : 0.0;
    return kp * npg_exp(-x * x / (2.0 * nu * nu));
}

#endif /* NPGROW_BDSTEP_H */
