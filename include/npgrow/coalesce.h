/* npgrow/coalesce.h: the coalescence kernel, the size-dependent propensity and their bin-pair
 * majorants (model.md 3; README "Coalescence"), host/device.
 *
 * A pair (i, j) of alive particles merges at rate K_ij P_ij / V [1/time unit]:
 *   K_ij  kernel [nm^3 per time unit]:
 *         brownian  4 pi (D_i + D_j)(R_i + R_j + l) k_a/(k_a + k_D)   (Smoluchowski /
 *                   Collins-Kimball; k_D = 4 pi (D_i + D_j)(R_i + R_j + l); k_a = infinity:
 *                   diffusion-limited), D_i = f(t) D_ref r_ref/(R_i + l) (Stokes-Einstein on the
 *                   hydrodynamic radius), f(t) = (1 + b t)^-c
 *         constant  k_const
 *         additive  k_add (n_i + n_j)
 *   P_ij  propensity: 1, or the Fermi switch 1/(exp(gamma (R_i + R_j - sigma_c)) + 1)
 *   R_i   = sigma_s n_i^(1/3) [nm]
 * Every rate here is in the run's time unit: npg_coal_params_from_config converts the config's
 * per-second keys. Bins are logarithmic in n (NPG_COAL_BINS_PER_OCTAVE per factor 2), and
 * npg_coal_bound is an upper bound of K P over any pair of sizes from two bins: the well-mixed
 * sampler proposes pairs at that bound and accepts with K P / bound (thinning, exact).
 */
#ifndef NPGROW_COALESCE_H
#define NPGROW_COALESCE_H

#include "npgrow/hd.h"

/* Log bins in n: bin b holds 2^(b/B) <= n < 2^((b+1)/B), B = NPG_COAL_BINS_PER_OCTAVE. 8 per
 * octave is 2.9 % in radius: at the study's Fermi switch (gamma = 7.64 /nm, R ~ 1.5 nm) one bin
 * pair spans gamma dsigma ~ 0.7, so the propensity's majorant is at most e^0.7 above it. */
#define NPG_COAL_BINS_PER_OCTAVE 8
#define NPG_COAL_BINS            (32 * NPG_COAL_BINS_PER_OCTAVE + 1) /* n < 2^32 */

/* Brownian mode's default automatic step: sqrt(2 D_max dt) = nu / this (the shell resolved;
 * coalescence.step_resolution, npg_bd_params.dt_resolution). */
#define NPG_COAL_STEP_RESOLUTION 3.0

typedef struct npg_coal_params {
    int kernel;         /* npg_coal_kernel (config.h): 0 brownian, 1 constant, 2 additive */
    double k_const;     /* constant: [nm^3 / time unit] */
    double k_add;       /* additive: [nm^3 / time unit per monomer] */
    double k_a;         /* brownian: intrinsic rate [nm^3 / time unit]; 0 = infinite */
    double d_ref_r_ref; /* brownian: D_ref r_ref [nm^3 / time unit] */
    double ligand;      /* l [nm] */
    double tf_b, tf_c;  /* f(t) = (1 + tf_b t)^-tf_c, t in time units; tf_c = 0: f = 1 */
    int fermi;          /* 1: Fermi propensity */
    double gamma;       /* [1/nm] */
    double sigma_c;     /* [nm] */
    double sigma_s;     /* monomer radius [nm]: R = sigma_s n^(1/3) */
} npg_coal_params;

static inline NPG_HD double npg_coal_radius(const npg_coal_params *p, double n)
{
    return p->sigma_s * npg_cbrt(n);
}

/* Diffusion time factor f(t) [-]. */
static inline NPG_HD double npg_coal_time_factor(const npg_coal_params *p, double t)
{
    if (p->tf_c == 0.0)
        return 1.0;
    return npg_exp(-p->tf_c * npg_log1p(p->tf_b * t));
}

/* Propensity of a pair whose radii sum to sigma [nm]. */
static inline NPG_HD double npg_coal_fermi(const npg_coal_params *p, double sigma)
{
    if (!p->fermi)
        return 1.0;
    return 1.0 / (npg_exp(p->gamma * (sigma - p->sigma_c)) + 1.0);
}

/* Brownian kernel from the factors 1/(R_i + l) + 1/(R_j + l) and R_i + R_j + l. */
static inline NPG_HD double npg_coal_brownian(const npg_coal_params *p, double inv_sum,
                                              double reach, double f)
{
    const double kd = 4.0 * NPG_PI * f * p->d_ref_r_ref * inv_sum * reach;
    return p->k_a > 0.0 ? kd * p->k_a / (p->k_a + kd) : kd;
}

/* K_ij P_ij [nm^3 / time unit] for sizes ni, nj >= 2 at time factor f. */
static inline NPG_HD double npg_coal_rate(const npg_coal_params *p, uint32_t ni, uint32_t nj,
                                          double f)
{
    if (p->kernel != 0 && !p->fermi) /* no radii needed (two cube roots per proposal saved) */
        return p->kernel == 1 ? p->k_const : p->k_add * ((double)ni + (double)nj);
    const double ri = npg_coal_radius(p, (double)ni), rj = npg_coal_radius(p, (double)nj);
    double k;
    if (p->kernel == 1)
        k = p->k_const;
    else if (p->kernel == 2)
        k = p->k_add * ((double)ni + (double)nj);
    else
        k = npg_coal_brownian(p, 1.0 / (ri + p->ligand) + 1.0 / (rj + p->ligand),
                              ri + rj + p->ligand, f);
    return p->fermi ? k * npg_coal_fermi(p, ri + rj) : k;
}

/* Bin of size n >= 1. */
static inline NPG_HD int npg_coal_bin(uint32_t n)
{
    return (int)npg_floor(NPG_COAL_BINS_PER_OCTAVE * npg_log2((double)n));
}

/* Sizes of bin b lie in [lo, hi] (conservative: a little wider than the exact edges). */
static inline NPG_HD void npg_coal_bin_range(int b, double *lo, double *hi)
{
    *lo = npg_exp2((double)b / NPG_COAL_BINS_PER_OCTAVE) * (1.0 - 1e-9);
    *hi = npg_exp2((double)(b + 1) / NPG_COAL_BINS_PER_OCTAVE) * (1.0 + 1e-9);
}

/* Upper bound of K P over sizes in bins a and b, for every time factor <= f. */
static inline NPG_HD double npg_coal_bound(const npg_coal_params *p, int a, int b, double f)
{
    double loa, hia, lob, hib;
    npg_coal_bin_range(a, &loa, &hia);
    npg_coal_bin_range(b, &lob, &hib);
    double k;
    if (p->kernel == 1)
        k = p->k_const;
    else if (p->kernel == 2)
        k = p->k_add * (hia + hib);
    else {
        const double rla = npg_coal_radius(p, loa), rlb = npg_coal_radius(p, lob);
        const double rha = npg_coal_radius(p, hia), rhb = npg_coal_radius(p, hib);
        /* both factors positive: the product is bounded by the product of their maxima, and
         * k_D k_a/(k_a + k_D) increases with k_D */
        k = npg_coal_brownian(p, 1.0 / (rla + p->ligand) + 1.0 / (rlb + p->ligand),
                              rha + rhb + p->ligand, f);
    }
    if (p->fermi) /* P decreases with sigma */
        k *= npg_coal_fermi(p, npg_coal_radius(p, loa) + npg_coal_radius(p, lob));
    return k * (1.0 + 1e-12);
}

#endif /* NPGROW_COALESCE_H */
