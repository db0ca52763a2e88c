/* me_initial.c: the master equation's initial state (the particle engine's sampling law) and its
 * automatic truncation (me.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "npgrow/me.h"

#include "meanfield/me_impl.h"

/* ---- initial distribution ----------------------------------------------------------------- */

/* P(r in [lo, hi)) for the radius law, from whichever tail keeps the digits. */
static double radius_mass(int kind, double loc, double scale, double lo, double hi)
{
    if (kind == NPG_INIT_NORMAL_R) {
        if (lo > loc)
            return gsl_cdf_gaussian_Q(lo - loc, scale) - gsl_cdf_gaussian_Q(hi - loc, scale);
        return gsl_cdf_gaussian_P(hi - loc, scale) - gsl_cdf_gaussian_P(lo - loc, scale);
    }
    if (log(lo) > loc)
        return gsl_cdf_lognormal_Q(lo, loc, scale) - gsl_cdf_lognormal_Q(hi, loc, scale);
    return gsl_cdf_lognormal_P(hi, loc, scale) - gsl_cdf_lognormal_P(lo, loc, scale);
}

/* Expected counts c[n] (n = 0..len-1, total N0) of a normal or lognormal radius law. The
 * sampler draws r, sets n = floor((r/sigma_s)^3 + 1/2) and redraws n < 2, so
 * P(n) = P(r in [sigma_s (n-1/2)^(1/3), sigma_s (n+1/2)^(1/3))) / P(n >= 2). c = NULL with 0
 * returned: out of memory. */
static int radius_counts(const npg_init_view *v, double sig, double N0, const char *what,
                         double **c_out, uint32_t *len_out, char *err, size_t errlen)
{
    double rmax =
        v->kind == NPG_INIT_NORMAL_R ? v->loc + 10.0 * v->scale : exp(v->loc + 10.0 * v->scale);
    double top = ceil(pow(rmax / sig, 3.0) + 0.5);
    if (!(top >= 2.0) || top > 1.0e8) {
        snprintf(err, errlen,
                 "%s distribution reaches n = %.3g at 10 sd: too wide for the master "
                 "equation (n_max <= 1e8)",
                 what, top);
        return NPG_EXIT_USAGE;
    }
    uint32_t len = (uint32_t)top + 1;
    double *c = calloc(len, sizeof *c);
    *c_out = c;
    *len_out = len;
    if (!c)
        return 0;
    double w = 0.0;
    for (uint32_t n = 2; n < len; ++n) {
        double lo = sig * cbrt((double)n - 0.5), hi = sig * cbrt((double)n + 0.5);
        double p = radius_mass(v->kind, v->loc, v->scale, lo, hi);
        c[n] = p > 0.0 ? p : 0.0;
        w += c[n];
    }
    if (!(w > 0.0)) {
        free(c);
        *c_out = NULL;
        snprintf(err, errlen, "%s radius distribution has no mass at n >= 2", what);
        return NPG_EXIT_USAGE;
    }
    for (uint32_t n = 2; n < len; ++n)
        c[n] *= N0 / w;
    /* Drop the far tail holding < 1e-13 of the mass: a run of 1e8 particles puts a
     * particle there with probability 1e-5, and the truncation check works at 1e-12
     * anyway. (High moments of a heavy initial tail, m_10 and such, feel this cut.) */
    double tail = 0.0;
    while (len > 3 && tail + c[len - 1] < 1e-13 * N0) {
        tail += c[len - 1];
        c[len - 1] = 0.0;
        --len;
    }
    *len_out = len;
    return 0;
}

int npg_me_initial(const npg_config *cfg, double **count_out, uint32_t *len_out, char *err,
                   size_t errlen)
{
    *count_out = NULL;
    *len_out = 0;
    const double N0 = (double)cfg->particles;
    if (!(N0 > 0.0)) {
        snprintf(err, errlen, "run.particles must be positive for the master equation");
        return NPG_EXIT_USAGE;
    }
    double *c = NULL;
    uint32_t len = 0;
    switch (cfg->init_kind) {
    case NPG_INIT_MONODISPERSE:
        if (cfg->init_n < 2) {
            snprintf(err, errlen, "initial.n = %u: a particle has n >= 2", cfg->init_n);
            return NPG_EXIT_USAGE;
        }
        len = cfg->init_n + 1;
        c = calloc(len, sizeof *c);
        if (!c)
            break;
        c[cfg->init_n] = N0;
        break;
    case NPG_INIT_HISTOGRAM: {
        double w = 0.0;
        uint32_t top = 0;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            if (cfg->init_sizes[i] >= 2 && cfg->init_counts[i] > 0.0) {
                w += cfg->init_counts[i];
                if (cfg->init_sizes[i] > top)
                    top = cfg->init_sizes[i];
            }
        if (!(w > 0.0)) {
            snprintf(err, errlen, "%s: no positive count at n >= 2", cfg->init_file);
            return NPG_EXIT_USAGE;
        }
        len = top + 1;
        c = calloc(len, sizeof *c);
        if (!c)
            break;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            if (cfg->init_sizes[i] >= 2 && cfg->init_counts[i] > 0.0)
                c[cfg->init_sizes[i]] += N0 * cfg->init_counts[i] / w;
        break;
    }
    case NPG_INIT_NORMAL_R:
    case NPG_INIT_LOGNORMAL_R: {
        npg_init_view v;
        double *cdf = NULL;
        int rc = npg_config_init_view(cfg, &v, &cdf, err, errlen);
        free(cdf);
        if (rc)
            return rc;
        if ((rc = radius_counts(&v, cfg->model.sigma_s, N0, "initial", &c, &len, err, errlen)))
            return rc;
        break;
    }
    default:
        snprintf(err, errlen, "unknown initial distribution kind %d", (int)cfg->init_kind);
        return NPG_EXIT_USAGE;
    }
    if (!c) {
        snprintf(err, errlen, "out of memory for the initial distribution");
        return 1;
    }
    *count_out = c;
    *len_out = len;
    return 0;
}

/* ---- the source's size law --------------------------------------------------------------- */

int npg_me_source_pmf(const npg_config *cfg, double **pmf, uint32_t *len_out, char *err,
                      size_t errlen)
{
    *pmf = NULL;
    *len_out = 0;
    npg_init_view v;
    double *cdf = NULL, *c = NULL;
    uint32_t len = 0;
    int rc = npg_config_source_view(cfg, &v, &cdf, err, errlen);
    if (rc) {
        free(cdf);
        return rc;
    }
    switch (v.kind) {
    case NPG_INIT_MONODISPERSE:
        if (v.n < 2) {
            snprintf(err, errlen, "source.size.n = %u: a particle has n >= 2", v.n);
            return NPG_EXIT_USAGE;
        }
        len = v.n + 1;
        c = calloc(len, sizeof *c);
        if (c)
            c[v.n] = 1.0;
        break;
    case NPG_INIT_NORMAL_R:
    case NPG_INIT_LOGNORMAL_R:
        rc = radius_counts(&v, v.sigma_s, 1.0, "source.size", &c, &len, err, errlen);
        break;
    default: { /* histogram: the sampler's CDF, conditioned on n >= 2 (it redraws below) */
        double w = 0.0;
        for (uint32_t i = 0; i < v.table_len; ++i)
            if (v.sizes[i] >= 2 && v.sizes[i] + 1 > len)
                len = v.sizes[i] + 1;
        c = len ? calloc(len, sizeof *c) : NULL;
        if (!len) {
            rc = NPG_EXIT_USAGE;
            snprintf(err, errlen, "source.size: no size n >= 2 in the table");
            break;
        }
        if (!c)
            break;
        for (uint32_t i = 0; i < v.table_len; ++i) {
            double p = v.cdf[i] - (i ? v.cdf[i - 1] : 0.0);
            if (v.sizes[i] >= 2 && p > 0.0) {
                c[v.sizes[i]] += p;
                w += p;
            }
        }
        if (!(w > 0.0)) {
            rc = NPG_EXIT_USAGE;
            snprintf(err, errlen, "source.size: no positive count at n >= 2");
            free(c);
            c = NULL;
            break;
        }
        for (uint32_t n = 2; n < len; ++n)
            c[n] /= w;
    }
    }
    free(cdf);
    if (rc)
        return rc;
    if (!c) {
        snprintf(err, errlen, "out of memory for the source's size law");
        return 1;
    }
    *pmf = c;
    *len_out = len;
    return 0;
}

/* ---- automatic truncation ------------------------------------------------------------------ */

uint32_t npg_me_auto_n_max(const npg_config *cfg, const npg_rates *rates, char *err, size_t errlen)
{
    double *c0;
    uint32_t len0;
    if (npg_me_initial(cfg, &c0, &len0, err, errlen))
        return 0;
    double bound0 = 0.0;
    for (uint32_t n = 2; n < len0; ++n)
        bound0 += (double)n * c0[n];
    free(c0);
    /* Move the leading edge with the largest growth rate it can have, S_up A_n (dissociation
     * only slows it), and add 12 standard deviations of the accumulated event noise. For the
     * closed modes S_up is the supersaturation all free and precursor monomers would give;
     * ripening that raises S beyond it is caught by the truncation check (and n_max doubled). */
    const int K = 4096;
    const double T = cfg->t_end > 0.0 ? cfg->t_end : 0.0, dt = T / K;
    double S_closed = 0.0;
    if (cfg->supply != NPG_SUPPLY_SCHEDULE) {
        double V = cfg->volume_nm3 > 0.0 ? cfg->volume_nm3
                                         : (double)cfg->particles / cfg->particle_density_nm3;
        double vrho = V * cfg->solubility_nm3;
        double pre = cfg->supply == NPG_SUPPLY_PRECURSOR ? cfg->precursor_nm3 * V : 0.0;
        S_closed = cfg->initial_supersaturation + pre / vrho;
    }
    double front = (double)(len0 - 1), var = 0.0;
    for (int k = 0; k < K && front < 1e9; ++k) {
        double S = S_closed;
        if (cfg->supply == NPG_SUPPLY_SCHEDULE) {
            double s0 = npg_config_schedule_s(cfg, k * dt),
                   s1 = npg_config_schedule_s(cfg, (k + 1) * dt);
            S = s0 > s1 ? s0 : s1;
        }
        /* A_n grows with n: evaluate ahead of the front so the step cannot undershoot. */
        npg_rate_pair r = npg_rates_at(rates, (uint32_t)(front * 1.05 + 16.0));
        front += S * r.assoc * dt;
        var += (S * r.assoc + r.dissoc) * dt;
    }
    double n = front + 12.0 * sqrt(var) + 64.0;
    if (n > 1.6e7) {
        snprintf(err, errlen,
                 "automatic master-equation truncation would be n_max = %.3g; set me.n_max", n);
        return 0;
    }
    return (uint32_t)ceil(n);
}
