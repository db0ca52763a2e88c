/* npgrow/model.h: the monomer-level model of Kim et al., PNAS 2025 (doi 10.1073/pnas.2424950122),
 * as host/device inline functions (model.md section 1).
 *
 * Truncated-octahedron site counting, shape factor, chemical potential, association and
 * dissociation coefficients. Time is in the parameter set's own unit (s in situ, min ex situ);
 * lengths in nm. Nothing here tabulates or allocates: see rates.h for the rate table.
 */
#ifndef NPGROW_MODEL_H
#define NPGROW_MODEL_H

#include "npgrow/hd.h"

/* One system's parameters (model.md 1.1, Table 1). delta < 0 selects the spherical fallback. */
typedef struct npg_model {
    double d_eps_f; /* [kT]  face-site cost relative to bulk, -ln(q_f/q_b) */
    double d_eps_e; /* [kT]  edge-site cost relative to bulk, -ln(q_e/q_b) */
    double ap;      /* [-]   alpha + 4, weight of the ln n term */
    double K;       /* [nm^-2 per time unit] kappa_a * rho_1,inf */
    double lam;     /* [-]   kappa_a sigma_s / D_1 (reaction/diffusion ratio) */
    double sigma_s; /* [nm]  monomer radius */
    double delta;   /* [-]   shape index in [1,2]; negative = sphere */
} npg_model;

/* Cubic coefficients of n(s) = a3 s^3 + a2 s^2 + a1 s + 1 (model.md 1.2). [-] */
static inline NPG_HD void npg_model_cubic(double d, double *a3, double *a2, double *a1)
{
    *a3 = (3.0 * d * d * d - 18.0 * d * d + 36.0 * d - 16.0) / 12.0;
    *a2 = (-3.0 * d * d + 12.0 * d - 4.0) / 4.0;
    *a1 = (3.0 * d + 8.0) / 6.0;
}

/* Edge parameter s(n, delta): interatomic spacings along a parent-octahedron edge. [-]
 * Newton on the cubic from s0 = max((n/a3)^(1/3), 1): the cubic is increasing and convex for
 * s >= 0 and f(s0) >= 0, so the iteration descends monotonically onto the root. */
static inline NPG_HD double npg_model_edge_s(double n, double delta)
{
    double a3, a2, a1;
    npg_model_cubic(delta, &a3, &a2, &a1);
    double s = npg_fmax(npg_cbrt(n / a3), 1.0);
    for (int it = 0; it < 60; ++it) {
        double f = ((a3 * s + a2) * s + a1) * s + 1.0 - n;
        double fp = (3.0 * a3 * s + 2.0 * a2) * s + a1;
        double ds = f / fp;
        s -= ds;
        if (npg_fabs(ds) <= 1e-15 * npg_fmax(1.0, s))
            break;
    }
    return s;
}

/* Number of face sites Nf(n). [sites] The H(s-2) step makes Nf jump at n ~ 18.6 (model.md 1.3):
 * kept as published. Guard: Nf = 0 for s < 1 (the 2/s term is singular at n = 1). */
static inline NPG_HD double npg_model_nf(double n, double delta)
{
    if (delta < 0.0)
        return npg_pow(n, 2.0 / 3.0);
    double s = npg_model_edge_s(n, delta);
    if (s < 2.0)
        return 0.0;
    double b = 2.0 * s - delta * s;
    double nf = 4.0 * (s - 1.0) * (s - 2.0) - 3.0 * (b - 2.0) * b;
    if (2.0 - 2.0 / s - delta >= 0.0) {
        double c = s - 1.0 - 0.5 * delta * s;
        nf += 6.0 * c * c;
    }
    return nf;
}

/* Number of edge sites Ne(n). [sites] Zero for s < 1. */
static inline NPG_HD double npg_model_ne(double n, double delta)
{
    if (delta < 0.0)
        return npg_cbrt(n);
    double s = npg_model_edge_s(n, delta);
    return s >= 1.0 ? 12.0 * (s - 1.0) : 0.0;
}

/* Shape factor sf(delta): surface area over that of the equal-volume sphere (eq. M15). [-] */
static inline NPG_HD double npg_model_sf(double delta)
{
    if (delta < 0.0)
        return 1.0;
    const double r3 = 1.7320508075688772;
    double num = 3.0 * (r3 - 1.0) * delta * (4.0 - delta) + 12.0 - 8.0 * r3;
    double den = npg_pow(3.0 * delta * (12.0 - 6.0 * delta + delta * delta) - 16.0, 2.0 / 3.0) *
                 npg_cbrt(NPG_PI);
    return num / den;
}

/* Equal-volume radius r(n) = sigma_s n^(1/3). [nm] */
static inline NPG_HD double npg_model_radius(const npg_model *m, double n)
{
    return m->sigma_s * npg_cbrt(n);
}

/* Prefactor 4 pi sigma_s^2 sf(delta) K of A_n. [per time unit] */
static inline NPG_HD double npg_model_assoc_prefactor(const npg_model *m)
{
    return 4.0 * NPG_PI * m->sigma_s * m->sigma_s * npg_model_sf(m->delta) * m->K;
}

/* Association coefficient A_n = rho_1inf k^a_n: rate of n -> n+1 at S = 1 (eq. M14).
 * [per time unit] A_0 = 0. */
static inline NPG_HD double npg_model_assoc(const npg_model *m, double n)
{
    if (n <= 0.0)
        return 0.0;
    return npg_model_assoc_prefactor(m) * npg_pow(n, 2.0 / 3.0) / (1.0 + m->lam * npg_cbrt(n));
}

/* Excess chemical potential of adding one monomer to an n-mer (step n -> n+1), measured from
 * the bulk value: beta(mu_n - mu_inf). [kT] n >= 1. */
static inline NPG_HD double npg_model_mu(const npg_model *m, double n)
{
    double d = m->delta;
    double dnf = npg_model_nf(n + 1.0, d) - npg_model_nf(n, d);
    double dne = npg_model_ne(n + 1.0, d) - npg_model_ne(n, d);
    return dnf * m->d_eps_f + dne * m->d_eps_e - m->ap * npg_log1p(1.0 / n);
}

/* Free energy of an n-mer relative to n free monomers at supersaturation S. [kT] n >= 1, S > 0. */
static inline NPG_HD double npg_model_free_energy(const npg_model *m, double n, double S)
{
    double d = m->delta;
    return npg_model_nf(n, d) * m->d_eps_f + npg_model_ne(n, d) * m->d_eps_e - m->ap * npg_log(n) -
           n * npg_log(S);
}

/* Dissociation rate k^d_n of n -> n-1 by detailed balance: A_{n-1} exp(beta mu_{n-1}).
 * [per time unit] k^d_1 = 0: a monomer cannot lose a monomer. */
static inline NPG_HD double npg_model_dissoc(const npg_model *m, double n)
{
    if (n <= 1.0)
        return 0.0;
    return npg_model_assoc(m, n - 1.0) * npg_exp(npg_model_mu(m, n - 1.0));
}

/* Gibbs-Thomson comparison curve (model.md 1.8 calls it the classical analogue): a capillary
 * particle with surface free energy Gamma n^(2/3) [kT] has, for the step n -> n+1,
 *     beta mu_GT(n) = Gamma [(n+1)^(2/3) - n^(2/3)]   [kT].
 * Surface-energy constant: Gamma = d_eps_f * lim_{n->inf} Nf(n)/n^(2/3), the model's own bulk
 * face term, so that the two curves share the same large-n asymptote ~ (2/3) Gamma n^(-1/3) and
 * differ only by the non-classical terms (edges, ln n, the faceting steps). No fitted gamma in
 * J/m^2 exists for these systems; this choice introduces no outside number.
 * For the octahedral family Nf ~ s^2 [4 - 1.5 (2 - delta)^2] and s ~ (n/a3)^(1/3); a sphere
 * (delta < 0) has Nf = n^(2/3) exactly. */
static inline NPG_HD double npg_model_gt_gamma(const npg_model *m)
{
    double d = m->delta;
    if (d < 0.0)
        return m->d_eps_f;
    double a3, a2, a1;
    npg_model_cubic(d, &a3, &a2, &a1);
    return m->d_eps_f * (4.0 - 1.5 * (2.0 - d) * (2.0 - d)) / npg_pow(a3, 2.0 / 3.0);
}

static inline NPG_HD double npg_model_mu_gt(const npg_model *m, double n)
{
    return npg_model_gt_gamma(m) * (npg_pow(n + 1.0, 2.0 / 3.0) - npg_pow(n, 2.0 / 3.0));
}

#endif /* NPGROW_MODEL_H */
