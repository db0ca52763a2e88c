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

#include "npgrow/coalesce.h"
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

/* First coordinate [ticks] of cell c among nc per axis, ceil(c 2^32 / nc) (2^32 for c = nc):
 * u >= npg_bd_cell_lo(c, nc) iff npg_bd_cell(u, nc) >= c. */
static inline NPG_HD uint64_t npg_bd_cell_lo(uint64_t c, uint32_t nc)
{
    return ((c << 32) + nc - 1) / nc;
}

/* Cell index (cz nc + cy) nc + cx of a position among nc^3 cells. */
static inline NPG_HD uint32_t npg_bd_cell_key(uint32_t x, uint32_t y, uint32_t z, uint32_t nc)
{
    return (uint32_t)(((uint64_t)npg_bd_cell(z, nc) * nc + npg_bd_cell(y, nc)) * nc +
                      npg_bd_cell(x, nc));
}

/* The cell c of slot s in a cell list start[0..ncells] (start[c] <= s < start[c + 1]), by
 * binary search. */
static inline NPG_HD uint32_t npg_bd_cell_of_slot(const uint32_t *start, uint64_t ncells,
                                                  uint64_t s)
{
    uint64_t lo = 0, hi = ncells; /* start[lo] <= s < start[hi] */
    while (hi - lo > 1) {
        const uint64_t mid = (lo + hi) / 2;
        if (start[mid] <= s)
            lo = mid;
        else
            hi = mid;
    }
    return (uint32_t)lo;
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

/* How a pair's exposure to the shell over a step is sampled (npg_bd_params.sampling). */
#define NPG_BD_SAMPLE_END    0 /* at the step's end: h(r(dt)) dt */
#define NPG_BD_SAMPLE_BRIDGE 1 /* along the Brownian bridge between the step's ends */

/* Sub-intervals of the bridge's time quadrature per shell width nu travelled, and at most. */
#define NPG_BD_BRIDGE_PER_NU 2.0
#define NPG_BD_BRIDGE_MAX    256

/* The Gaussian shell's expected exposure [dimensionless] over a step of dt along the Brownian
 * bridge that takes the pair's separation from u0 to u1 [nm], with per-coordinate variance
 * s2 tau (1 - tau) [nm^2] at the fraction tau of the step (s2 = 2 (D_i + D_j) dt):
 *   E[ int_0^dt h(|u(t)|) dt ] = kp dt int_0^1 E[ exp(-(|u| - c)^2 / (2 nu^2)) ] dtau.
 * At tau, u is Gaussian about m = u0 + tau (u1 - u0) with variance v = s2 tau (1 - tau) per
 * coordinate; |u| has density (r/|m|) (phi_v(r - |m|) - phi_v(r + |m|)) (the non-central chi of
 * three degrees of freedom), and against the Gaussian shell, dropping the mirror term (|m| >> sqrt
 * v: |m| > sigma + l - |u1 - u0| of several nm, sqrt v < 1 nm), the expectation is exact: (r* /
 * |m|) nu / sqrt(nu^2 + v) exp(-(|m| - c)^2 / (2 (nu^2 + v))), r* = (|m| nu^2 + c v) / (nu^2 + v)
 * (r* / |m| is the curvature's outward shift; at v = 0 it is h(|m|)/kp). The tau integral is
 * composite two-point Gauss-Legendre over M = 1 + 2 (|u1 - u0| + 2 sqrt(s2)) / nu sub-intervals
 * (the segment's travel plus twice the bridge's spread, half a shell width per sub-interval),
 * at most 256: its error is below 1e-4 of the exposure while the cap does not bind
 * (tests/coalesce/test_brownian.cpp), i.e. for |u1 - u0| + 2 sqrt(s2) < 128 nu (a step of 2 nu
 * needs M ~ 30). Pairs whose segment stays farther than 8 sqrt(nu^2 + s2/4) from the shell
 * return 0 without the quadrature. Deterministic in its arguments: the host and the device
 * evaluate the same sum. */
static inline NPG_HD double npg_bd_bridge_exposure(double kp, double c, double nu,
                                                   const double u0[3], const double u1[3],
                                                   double s2, double dt)
{
    const double e0 = u1[0] - u0[0], e1 = u1[1] - u0[1], e2 = u1[2] - u0[2];
    const double ee = e0 * e0 + e1 * e1 + e2 * e2;
    const double r0 = npg_sqrt(u0[0] * u0[0] + u0[1] * u0[1] + u0[2] * u0[2]);
    const double r1 = npg_sqrt(u1[0] * u1[0] + u1[1] * u1[1] + u1[2] * u1[2]);
    /* the segment's distances from the origin span [rlo, rhi] */
    double tc = ee > 0.0 ? -(u0[0] * e0 + u0[1] * e1 + u0[2] * e2) / ee : 0.0;
    tc = tc < 0.0 ? 0.0 : (tc > 1.0 ? 1.0 : tc);
    const double mx = u0[0] + tc * e0, my = u0[1] + tc * e1, mz = u0[2] + tc * e2;
    const double rlo = npg_sqrt(mx * mx + my * my + mz * mz), rhi = r0 > r1 ? r0 : r1;
    const double nu2 = nu * nu, reach = 8.0 * npg_sqrt(nu2 + 0.25 * s2);
    if (c + reach < rlo || c - reach > rhi)
        return 0.0;
    /* the travel that the quadrature must resolve: the segment plus twice the bridge's spread
     * (near the ends, v = s2 tau (1 - tau) grows from 0 past nu^2 within tau ~ nu^2 / s2) */
    const double len = npg_sqrt(ee) + 2.0 * npg_sqrt(s2);
    const double Md = 1.0 + NPG_BD_BRIDGE_PER_NU * len / nu; /* capped before the conversion */
    const int M = Md < (double)NPG_BD_BRIDGE_MAX ? (int)Md : NPG_BD_BRIDGE_MAX;
    const double a = 0.5 / (double)M;            /* half a sub-interval */
    const double q = a * 0.57735026918962576451; /* Gauss-Legendre node offset a / sqrt(3) */
    const double rfloor = 1e-3 * c;              /* |m| never nears 0 (hard core) */
    double sum = 0.0;
    for (int k = 0; k < M; ++k) {
        const double mid = (double)(2 * k + 1) * a;
        for (int j = 0; j < 2; ++j) {
            const double tau = j ? mid + q : mid - q;
            const double px = u0[0] + tau * e0, py = u0[1] + tau * e1, pz = u0[2] + tau * e2;
            double m = npg_sqrt(px * px + py * py + pz * pz);
            m = m > rfloor ? m : rfloor;
            const double v = s2 * tau * (1.0 - tau);
            const double W = nu2 + v;
            const double rs = (m * nu2 + c * v) / W;
            const double x = m - c;
            sum += rs / m * npg_sqrt(nu2 / W) * npg_exp(-x * x / (2.0 * W));
        }
    }
    return kp * dt * a * sum;
}

/* The diffusion factor of a particle of n monomers: sqrt(D_ref r_ref / (R + l)) as a float. */
static inline NPG_HD float npg_bd_gfac(const npg_coal_params *c, uint32_t n)
{
    return (float)npg_sqrt(c->d_ref_r_ref / (npg_coal_radius(c, (double)n) + c->ligand));
}

/* The displacement of one slot in step `step` [ticks]: every coordinate round(z g c) with
 * c = sqrt(2 f dt) / tick, z from Philox keyed by (seed, id). */
static inline NPG_HD void npg_bd_move_ticks(uint32_t seed, uint32_t id, float g, uint64_t step,
                                            double c, int32_t d[3])
{
    const npg_u32x4 b =
        npg_philox4x32_10(npg_bd_counter(0, step, NPG_BD_TAG_MOVE), npg_philox_key(seed, id));
    double z0, z1, z2;
    npg_bd_normals(b, &z0, &z1, &z2);
    const double sc = (double)g * c; /* dead slots (g < 0) move too, harmlessly */
    d[0] = npg_round_i32(z0 * sc);
    d[1] = npg_round_i32(z1 * sc);
    d[2] = npg_round_i32(z2 * sc);
}

/* ---- the pair pass, one slot at a time --------------------------------------------------------
 * The cell list's view that the pair search reads (host arrays on the CPU, device arrays in the
 * CUDA kernel; the same functions run on both). Slots [start[c], start[c + 1]) lay in cell c at
 * the last rebuild; a cell's interval along an axis is [lo[k], lo[k] + wd[k]) ticks. A "normal"
 * slot (not dead, g < 0, and not displaced, its bit in disp clear) stays within et ticks of its
 * cell's box (the skin), or the pass reports a violation and the caller rebuilds. */
typedef struct npg_bd_view {
    const uint32_t *x, *y, *z; /* fixed-point positions by slot */
    const uint32_t *ids;       /* id of each slot */
    const float *g;            /* sqrt(D_ref r_ref / (R + l)) by slot; < 0: dead */
    const uint64_t *disp;      /* displaced slots (bitset) */
    const uint32_t *start;     /* [nc^3 + 1] */
    const uint32_t *lo, *wd;   /* [nc + 1] */
    const uint32_t *n;         /* monomers by id */
    npg_coal_params coal;
    double tick;        /* nm per tick */
    double rcut2;       /* r_cut^2 [nm^2] */
    double hc_margin;   /* a pair within this of contact [nm] is a contact pair */
    double pair_extent; /* beyond R_i + R_j where a pair can matter [nm] */
    double kappa_c;     /* shell hazard amplitude [1 / time unit] */
    double shell_nm;    /* nu [nm] */
    double dt;          /* the step [time unit] */
    uint64_t step;      /* step index (the reaction draws' counter) */
    uint32_t nc;        /* cells per axis */
    uint32_t et;        /* skin [ticks] */
    uint32_t rct;       /* ceil(r_cut) [ticks] */
    uint32_t seed;
    double mc;    /* this step's move scale sqrt(2 f dt) / tick (npg_bd_move_ticks' c) */
    int shell;    /* NPG_BD_SHELL_* */
    int sampling; /* NPG_BD_SAMPLE_* */
    int fire;     /* also keep the pairs that react in this step */
} npg_bd_view;

/* A pair the serial part must see: near contact (the hard core may act), or reacting in this
 * step (decided in the parallel pass unless a hard-core move intervenes), or to be decided. */
#define NPG_BD_PAIR_CONTACT 1u
#define NPG_BD_PAIR_FIRE    2u
#define NPG_BD_PAIR_EVAL    3u

typedef struct npg_bd_pair {
    uint32_t a, b;     /* slots */
    uint32_t ida, idb; /* their ids, ida < idb */
    uint32_t prio;     /* NPG_BD_PAIR_FIRE: the reaction's Philox priority */
    uint32_t kind;
} npg_bd_pair;

/* Where a pass writes its pairs: v[0..cap), len counts every pair found (len > cap: the buffer
 * was too small, the caller grows it and repeats the pass). Threads may share a sink. The count
 * is 64-bit so that it cannot wrap back below cap, whatever a pass finds. */
typedef struct npg_bd_sink {
    npg_bd_pair *v;
    uint32_t cap;
    unsigned long long len;
} npg_bd_sink;

static inline NPG_HD void npg_bd_emit(npg_bd_sink *sk, uint32_t s, uint32_t t, uint32_t is,
                                      uint32_t it, uint32_t kind, uint32_t prio)
{
#if defined(__CUDA_ARCH__)
    const unsigned long long i = atomicAdd(&sk->len, 1ull);
#else
    const unsigned long long i = __atomic_fetch_add(&sk->len, 1ull, __ATOMIC_RELAXED);
#endif
    if (i >= sk->cap)
        return;
    npg_bd_pair p;
    if (is < it) {
        p.a = s, p.b = t, p.ida = is, p.idb = it;
    } else {
        p.a = t, p.b = s, p.ida = it, p.idb = is;
    }
    p.prio = prio;
    p.kind = kind;
    sk->v[i] = p;
}

/* Does the pair of slots s, t (ids is, it; radii Rs, Rt [nm]; diffusion factors gs, gt) whose
 * separation at the step's end is u = x_t - x_s [nm] react in a step of dt? Its priority through
 * prio. The exposure is h(|u|) dt (NPG_BD_SAMPLE_END), or, for the Gaussian shell with
 * NPG_BD_SAMPLE_BRIDGE, its expectation along the Brownian bridge from the separation before the
 * move to u: each slot's displacement over the step [ticks] is ms / mt, or, where null, the
 * step's move drawn again (npg_bd_move_ticks with v->mc; the host passes the hard core's
 * corrected or reverted displacement instead). The draw depends on the ids and the step only. */
static inline NPG_HD int npg_bd_fires(const npg_bd_view *v, uint32_t is, uint32_t it,
                                      const double u[3], double Rs, double Rt, float gs, float gt,
                                      const int32_t *ms, const int32_t *mt, double dt,
                                      uint32_t *prio)
{
    if (!(v->kappa_c > 0.0))
        return 0;
    const double sg = Rs + Rt;
    const double kp = v->kappa_c * npg_coal_fermi(&v->coal, sg);
    double x;
    if (v->sampling == NPG_BD_SAMPLE_BRIDGE && v->shell == NPG_BD_SHELL_GAUSSIAN) {
        int32_t ds[3], dd[3];
        if (!ms)
            npg_bd_move_ticks(v->seed, is, gs, v->step, v->mc, ds);
        if (!mt)
            npg_bd_move_ticks(v->seed, it, gt, v->step, v->mc, dd);
        const int32_t *ps = ms ? ms : ds, *pt = mt ? mt : dd;
        double u0[3];
        for (int k = 0; k < 3; ++k)
            u0[k] = u[k] - (double)(pt[k] - ps[k]) * v->tick;
        const double sc = v->mc * v->tick; /* sqrt(2 f dt) [nm] */
        const double s2 = ((double)gs * (double)gs + (double)gt * (double)gt) * (sc * sc);
        x = npg_bd_bridge_exposure(kp, sg + v->coal.ligand, v->shell_nm, u0, u, s2, dt);
        if (!(x > 0.0))
            return 0;
    } else {
        const double r = npg_sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        const double hz = npg_bd_hazard(v->shell, kp, r, sg + v->coal.ligand, v->shell_nm);
        if (!(hz > 0.0))
            return 0;
        x = hz * dt;
    }
    const double prob = -npg_expm1(-x);
    const uint32_t ida = is < it ? is : it, idb = is < it ? it : is;
    const npg_u32x4 w = npg_philox4x32_10(npg_bd_counter(idb, v->step, NPG_BD_TAG_PAIR),
                                          npg_philox_key(v->seed, ida));
    *prio = w.y;
    return npg_u01_closed0(w.x) < prob;
}

/* The farthest centre distance [nm] at which npg_bd_keep can keep a pair whose R + l sum to
 * sum_rl [nm] (from the float diffusion factors: relative error < 2e-7, covered by the 1e-6),
 * extent beyond contact (npg_bd_view.pair_extent). Increasing in sum_rl: with the largest
 * particles' sum it bounds every kept pair, which makes the pass's cutoff. */
static inline NPG_HD double npg_bd_keep_reach(double sum_rl, double ligand, double extent)
{
    return sum_rl * (1.0 + 1e-6) - 2.0 * ligand + extent;
}

/* A pair of alive slots s, t (ids is, it) closer than r_cut (separation u = x_t - x_s [nm],
 * squared distance d2 [nm^2]): kept as a contact pair when within hc_margin of contact, as a
 * reacting pair when it fires, else dropped. */
static inline NPG_HD void npg_bd_keep(const npg_bd_view *v, npg_bd_sink *sk, uint32_t s, uint32_t t,
                                      uint32_t is, uint32_t it, const double u[3], double d2)
{
    if (v->coal.d_ref_r_ref > 0.0) {
        /* a cheap bound first: R + l = D_ref r_ref / g^2 from the float g (relative error
         * < 2e-7, allowed for by the 1e-6 below); beyond it neither the hard core nor the
         * shell can act, whatever the other sizes make r_cut */
        const double gs = (double)v->g[s], gt = (double)v->g[t];
        const double sum = v->coal.d_ref_r_ref * (1.0 / (gs * gs) + 1.0 / (gt * gt));
        const double reach = npg_bd_keep_reach(sum, v->coal.ligand, v->pair_extent);
        if (d2 >= reach * reach)
            return;
    }
    const double Rs = npg_coal_radius(&v->coal, (double)v->n[is]);
    const double Rt = npg_coal_radius(&v->coal, (double)v->n[it]);
    const double r = npg_sqrt(d2);
    uint32_t prio = 0;
    if (r < Rs + Rt + v->hc_margin) {
        npg_bd_emit(sk, s, t, is, it, NPG_BD_PAIR_CONTACT, 0);
        return;
    }
    if (v->fire && npg_bd_fires(v, is, it, u, Rs, Rt, v->g[s], v->g[t], NULL, NULL, v->dt, &prio))
        npg_bd_emit(sk, s, t, is, it, NPG_BD_PAIR_FIRE, prio);
}

static inline NPG_HD int npg_bd_bit(const uint64_t *bits, uint64_t i)
{
    return (int)((bits[i >> 6] >> (i & 63u)) & 1u);
}

/* Candidates t in slots [t0, t1) of slot s (id idi) at (xi, yi, zi): pairs closer than r_cut. */
static inline NPG_HD void npg_bd_scan_range(const npg_bd_view *v, npg_bd_sink *sk, uint32_t s,
                                            uint32_t idi, uint32_t xi, uint32_t yi, uint32_t zi,
                                            uint32_t t0, uint32_t t1)
{
    /* locals: the rare stores of npg_bd_keep would otherwise make every view field a reload */
    const uint32_t rct = v->rct;
    const uint32_t *X = v->x, *Y = v->y, *Z = v->z;
    for (uint32_t t = t0; t < t1; ++t) {
        /* the box test as one branch (rarely passed; three branches would mispredict) */
        const int32_t dx = (int32_t)(X[t] - xi), dy = (int32_t)(Y[t] - yi),
                      dz = (int32_t)(Z[t] - zi);
        const int in = ((uint32_t)dx + rct <= 2u * rct) & ((uint32_t)dy + rct <= 2u * rct) &
                       ((uint32_t)dz + rct <= 2u * rct);
        if (!in)
            continue;
        if (v->g[t] < 0.0f || npg_bd_bit(v->disp, t))
            continue;
        const double fx = dx * v->tick, fy = dy * v->tick, fz = dz * v->tick;
        const double d2 = fx * fx + fy * fy + fz * fz;
        if (d2 >= v->rcut2)
            continue;
        const double u[3] = {fx, fy, fz};
        npg_bd_keep(v, sk, s, t, idi, v->ids[t], u, d2);
    }
}

/* Cells xl..xh (xl >= -1, xh <= nc, xh - xl <= 2) of the row starting at cell rowbase: one
 * contiguous range of slots unless it wraps around the row's ends. */
static inline NPG_HD void npg_bd_scan_row(const npg_bd_view *v, npg_bd_sink *sk, uint32_t s,
                                          uint32_t idi, uint32_t xi, uint32_t yi, uint32_t zi,
                                          uint32_t rowbase, int xl, int xh)
{
    const uint32_t *start = v->start;
    const int nc = (int)v->nc;
    if (xl < 0) {
        npg_bd_scan_range(v, sk, s, idi, xi, yi, zi, start[rowbase + nc - 1], start[rowbase + nc]);
        xl = 0;
    }
    if (xh >= nc) {
        npg_bd_scan_range(v, sk, s, idi, xi, yi, zi, start[rowbase], start[rowbase + 1]);
        xh = nc - 1;
    }
    npg_bd_scan_range(v, sk, s, idi, xi, yi, zi, start[rowbase + (uint32_t)xl],
                      start[rowbase + (uint32_t)xh + 1]);
}

/* The pairs closer than r_cut that normal slot s of cell (cx, cy, cz) forms with the normal
 * slots of the cells forward of it: pairs found once, from the partner for which the other's
 * cell is forward (dz > 0; dz = 0, dy > 0; dz = dy = 0, dx > 0; the own cell after s). Returns
 * 1 (and scans nothing) when s has left its cell's box extended by the skin. */
static inline NPG_HD int npg_bd_scan_slot(const npg_bd_view *v, npg_bd_sink *sk, uint32_t s,
                                          uint32_t cx, uint32_t cy, uint32_t cz)
{
    const uint32_t nc = v->nc;
    const int64_t reach = (int64_t)v->rct + v->et, e64 = v->et;
    const uint32_t xi = v->x[s], yi = v->y[s], zi = v->z[s];
    /* offsets from the cell's lower faces [ticks]: within [-e, width + e)? */
    const int64_t ox = (int32_t)(xi - v->lo[cx]), oy = (int32_t)(yi - v->lo[cy]),
                  oz = (int32_t)(zi - v->lo[cz]);
    if (ox < -e64 || ox >= v->wd[cx] + e64 || oy < -e64 || oy >= v->wd[cy] + e64 || oz < -e64 ||
        oz >= v->wd[cz] + e64)
        return 1;
    /* neighbour cells within reach along each axis */
    const int xl = (int)cx - (ox < reach), xh = (int)cx + (ox >= v->wd[cx] - reach);
    const int yl = oy < reach, yh = oy >= v->wd[cy] - reach;
    const int zh = oz >= v->wd[cz] - reach;
    const uint32_t zp = cz + 1 < nc ? cz + 1 : 0;
    const uint32_t yp = cy + 1 < nc ? cy + 1 : 0, ym = cy ? cy - 1 : nc - 1;
    const uint32_t own = (cz * nc + cy) * nc, c = own + cx;
    const uint32_t idi = v->ids[s];
    /* own row: the own cell after s, then the next if within reach */
    npg_bd_scan_range(v, sk, s, idi, xi, yi, zi, s + 1, v->start[c + 1]);
    if (xh > (int)cx)
        npg_bd_scan_row(v, sk, s, idi, xi, yi, zi, own, (int)cx + 1, xh);
    if (yh)
        npg_bd_scan_row(v, sk, s, idi, xi, yi, zi, (cz * nc + yp) * nc, xl, xh);
    if (zh) {
        const uint32_t zb = zp * nc;
        npg_bd_scan_row(v, sk, s, idi, xi, yi, zi, (zb + cy) * nc, xl, xh);
        if (yl)
            npg_bd_scan_row(v, sk, s, idi, xi, yi, zi, (zb + ym) * nc, xl, xh);
        if (yh)
            npg_bd_scan_row(v, sk, s, idi, xi, yi, zi, (zb + yp) * nc, xl, xh);
    }
    return 0;
}

#endif /* NPGROW_BDSTEP_H */
