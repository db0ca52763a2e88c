/* observe.c: moments, histogram bins, growth-rate bins and the shared CSV writers.
 *
 * Inputs are (expected) counts per size, so the particle engine (exact integer counts) and the
 * master equation (real-valued counts) go through the same code. Sums run in increasing n with
 * Neumaier compensation; nothing here depends on how the counts were produced.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/observe.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Threads a caller allows (0: the OpenMP default). */
static int io_threads(int t)
{
#ifdef _OPENMP
    return t > 0 ? t : omp_get_max_threads();
#else
    (void)t;
    return 1;
#endif
}

/* Neumaier-compensated accumulator. */
typedef struct ksum {
    double s, c;
} ksum;

static void ksum_add(ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double ksum_get(const ksum *k)
{
    return k->s + k->c;
}

/* Sizes summed plainly before a compensated add: the terms are >= 0, so a block of 32 loses at
 * most 32 ulps of its sum, and the compensated adds (the costly part) are 32 times fewer. */
#define NPG_MOMENT_BLOCK 32u

/* npg_moments_compute with the radii sigma_s n^(1/3) from rn[n] (NULL: computed). */
static void moments_rn(const double *count, uint32_t len, double sigma_s, const double *rn,
                       npg_moments *out)
{
    memset(out, 0, sizeof *out);
    ksum n0 = {0, 0}, mq[NPG_MOMENTS + 1], r1 = {0, 0};
    memset(mq, 0, sizeof mq);
    for (uint32_t b0 = 2; b0 < len; b0 += NPG_MOMENT_BLOCK) {
        const uint32_t b1 = len - b0 > NPG_MOMENT_BLOCK ? b0 + NPG_MOMENT_BLOCK : len;
        double s0 = 0.0, sq[NPG_MOMENTS + 1] = {0.0}, sr = 0.0;
        int any = 0;
        for (uint32_t n = b0; n < b1; ++n) {
            double c = count[n];
            if (c == 0.0)
                continue;
            any = 1;
            s0 += c;
            double p = c;
            for (int q = 1; q <= NPG_MOMENTS; ++q) {
                p *= (double)n;
                sq[q] += p;
            }
            sr += c * (rn ? rn[n] : sigma_s * cbrt((double)n));
        }
        if (!any)
            continue;
        ksum_add(&n0, s0);
        for (int q = 1; q <= NPG_MOMENTS; ++q)
            ksum_add(&mq[q], sq[q]);
        ksum_add(&r1, sr);
    }
    double N = ksum_get(&n0);
    out->particles = N;
    if (N <= 0.0) {
        for (int q = 1; q <= NPG_MOMENTS; ++q)
            out->m[q] = NAN;
        out->mean_n = out->var_n = out->mean_r_nm = out->var_r_nm2 = NAN;
        return;
    }
    for (int q = 1; q <= NPG_MOMENTS; ++q)
        out->m[q] = ksum_get(&mq[q]) / N;
    out->mean_n = out->m[1];
    out->mean_r_nm = ksum_get(&r1) / N;
    /* Second pass for the variances: centred sums do not cancel catastrophically. */
    ksum vn = {0, 0}, vr = {0, 0};
    for (uint32_t b0 = 2; b0 < len; b0 += NPG_MOMENT_BLOCK) {
        const uint32_t b1 = len - b0 > NPG_MOMENT_BLOCK ? b0 + NPG_MOMENT_BLOCK : len;
        double sn = 0.0, sr = 0.0;
        for (uint32_t n = b0; n < b1; ++n) {
            double c = count[n];
            if (c == 0.0)
                continue;
            double dn = (double)n - out->mean_n;
            double dr = (rn ? rn[n] : sigma_s * cbrt((double)n)) - out->mean_r_nm;
            sn += c * dn * dn;
            sr += c * dr * dr;
        }
        ksum_add(&vn, sn);
        ksum_add(&vr, sr);
    }
    out->var_n = ksum_get(&vn) / N;
    out->var_r_nm2 = ksum_get(&vr) / N;
}

void npg_moments_compute(const double *count, uint32_t len, double sigma_s, npg_moments *out)
{
    moments_rn(count, len, sigma_s, NULL, out);
}

void npg_hist_bin(const npg_config *cfg, uint32_t n, uint32_t *lo, uint32_t *hi)
{
    if (cfg->hist_log_ratio > 1.0) {
        /* Edges e_0 = 2, e_{j+1} = max(e_j + 1, ceil(e_j * ratio)); bins [e_j, e_{j+1} - 1]. */
        uint32_t e = 2;
        for (;;) {
            double nx = ceil((double)e * cfg->hist_log_ratio);
            uint32_t next = nx > (double)e + 1.0 ? (nx > 4e9 ? 4000000000u : (uint32_t)nx) : e + 1;
            if (n < next || next <= e) {
                *lo = e;
                *hi = next - 1;
                return;
            }
            e = next;
        }
    }
    uint32_t w = cfg->hist_bin_width ? cfg->hist_bin_width : 50;
    *lo = (n / w) * w;
    *hi = *lo + w - 1;
}

int npg_observer_open(npg_observer *o, const npg_config *cfg, const npg_rates *rates,
                      const char *dir, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->rates = rates;
    if (npg_landscape_init(&o->land, &cfg->model, cfg->n_table ? cfg->n_table : 65536u)) {
        snprintf(err, errlen, "out of memory for the chemical-potential table");
        return 1;
    }
    const char *names[3] = {"moments.csv", "histogram.csv", "growth_rate.csv"};
    const int coal = cfg->coal.mode != NPG_COAL_NONE;
    const char *heads[3] = {
        coal ? NPG_MOMENTS_HEADER "," NPG_MOMENTS_COAL_HEADER : NPG_MOMENTS_HEADER,
        coal ? NPG_HISTOGRAM_HEADER "," NPG_HISTOGRAM_COAL_HEADER : NPG_HISTOGRAM_HEADER,
        NPG_GROWTH_HEADER};
    FILE **files[3] = {&o->moments, &o->histogram, &o->growth};
    for (int i = 0; i < 3; ++i) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        *files[i] = fopen(path, "w");
        if (!*files[i]) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            npg_observer_close(o);
            return 1;
        }
        fprintf(*files[i], "%s\n", heads[i]);
    }
    return 0;
}

static void put_opt(FILE *f, double v, const char *fmt)
{
    fputc(',', f);
    if (!isnan(v))
        fprintf(f, fmt, v);
}

/* histogram.csv rows of snapshot s (m: its moments). */
static void write_histogram(npg_observer *o, const npg_snapshot *s, const npg_moments *m)
{
    const npg_config *cfg = o->cfg;
    const int coal = cfg->coal.mode != NPG_COAL_NONE;
    /* Histogram: every bin from the first to the last occupied one. */
    uint32_t first = 0, last = 0;
    for (uint32_t n = 2; n < s->len; ++n)
        if (s->count[n] > 0.0) {
            if (!first)
                first = n;
            last = n;
        }
    if (first) {
        uint32_t lo, hi;
        npg_hist_bin(cfg, first, &lo, &hi);
        while (lo <= last) {
            ksum c = {0, 0};
            for (uint32_t n = lo < 2 ? 2 : lo; n <= hi && n < s->len; ++n)
                ksum_add(&c, s->count[n]);
            double cv = ksum_get(&c);
            fprintf(o->histogram, "%.10g,%u,%u,%.15g,%.12g", s->t, lo, hi, cv,
                    m->particles > 0 ? cv / m->particles : 0.0);
            if (coal) {
                ksum b = {0, 0};
                for (uint32_t n = lo < 2 ? 2 : lo; s->count_b && n <= hi && n < s->len; ++n)
                    ksum_add(&b, s->count_b[n]);
                double bv = ksum_get(&b);
                fprintf(o->histogram, ",%.15g,%.15g", cv - bv, bv);
            }
            fputc('\n', o->histogram);
            if (hi >= s->len - 1)
                break;
            npg_hist_bin(cfg, hi + 1, &lo, &hi);
        }
    }
}

/* growth_rate.csv rows of snapshot s. */
static void write_growth(npg_observer *o, const npg_snapshot *s)
{
    const npg_config *cfg = o->cfg;
    /* Growth rate over the last output interval, binned by the size at its start. */
    if (s->prev_count && s->dt_out > 0.0) {
        uint32_t lo = 0, hi = 0;
        ksum np = {0, 0}, dn = {0, 0}, jm = {0, 0};
        for (uint32_t n = 2; n < s->len; ++n) {
            if (n > hi) {
                if (ksum_get(&np) > 0.0) {
                    double P = ksum_get(&np);
                    fprintf(o->growth, "%.10g,%u,%u,%.15g,%.12g,%.12g\n", s->t, lo, hi, P,
                            ksum_get(&dn) / (P * s->dt_out), ksum_get(&jm) / P);
                }
                npg_hist_bin(cfg, n, &lo, &hi);
                np = dn = jm = (ksum){0, 0};
            }
            double c = s->prev_count[n];
            if (c == 0.0)
                continue;
            npg_rate_pair r = npg_rates_at(o->rates, n);
            ksum_add(&np, c);
            ksum_add(&dn, s->sum_dn[n]);
            ksum_add(&jm, c * (s->s_mean * r.assoc - r.dissoc));
        }
        if (ksum_get(&np) > 0.0) {
            double P = ksum_get(&np);
            fprintf(o->growth, "%.10g,%u,%u,%.15g,%.12g,%.12g\n", s->t, lo, hi, P,
                    ksum_get(&dn) / (P * s->dt_out), ksum_get(&jm) / P);
        }
    }
}

int npg_observer_write(npg_observer *o, const npg_snapshot *s, char *err, size_t errlen)
{
    const npg_config *cfg = o->cfg;
    if (s->len > o->rn_len) { /* the radii once per size, not twice per size and snapshot */
        double *rn = realloc(o->rn, (size_t)s->len * sizeof *rn);
        if (!rn) {
            snprintf(err, errlen, "out of memory for %u sizes", s->len);
            return 1;
        }
        for (uint32_t n = o->rn_len; n < s->len; ++n)
            rn[n] = cfg->model.sigma_s * cbrt((double)n);
        o->rn = rn;
        o->rn_len = s->len;
    }
    npg_moments m;
    moments_rn(s->count, s->len, cfg->model.sigma_s, o->rn, &m);
    uint32_t ns = 0, ns2 = 0;
    const char *phase = npg_landscape_phase(&o->land, s->S, &ns, &ns2);
    FILE *f = o->moments;
    fprintf(f, "%.10g,%.15g,%.12g,%.15g,%.15g", s->t, m.particles,
            s->particles0 > 0 ? m.particles / s->particles0 : NAN, m.mean_n, m.var_n);
    for (int q = 1; q <= NPG_MOMENTS; ++q)
        fprintf(f, ",%.15g", m.m[q]);
    fprintf(f, ",%.15g,%.15g,%.12g,%.12g,%.12g,%s", m.mean_r_nm, m.var_r_nm2, s->S, log(s->S),
            o->land.mu_max, phase);
    if (ns && ns2 == NPG_N_STAR2_BEYOND) /* explicit: mu_n > ln S up to the search limit */
        fprintf(f, ",%u,>%u", ns, npg_landscape_n_limit(&o->land));
    else if (ns)
        fprintf(f, ",%u,%u", ns, ns2);
    else
        fputs(",,", f);
    put_opt(f, s->free_monomers, "%.0f");
    put_opt(f, s->precursor, "%.0f");
    put_opt(f, s->events, "%.0f");
    const int coal = cfg->coal.mode != NPG_COAL_NONE;
    if (coal) {
        /* Group A (never merged) and B (merged at least once): moments of each part */
        double *ca = malloc((size_t)s->len * sizeof *ca), *cb = malloc((size_t)s->len * sizeof *cb);
        if (!ca || !cb) {
            free(ca);
            free(cb);
            snprintf(err, errlen, "out of memory for the Group A/B moments");
            return 1;
        }
        for (uint32_t n = 0; n < s->len; ++n) {
            cb[n] = s->count_b ? s->count_b[n] : 0.0;
            ca[n] = s->count[n] - cb[n];
        }
        npg_moments ma, mb;
        moments_rn(ca, s->len, cfg->model.sigma_s, o->rn, &ma);
        moments_rn(cb, s->len, cfg->model.sigma_s, o->rn, &mb);
        free(ca);
        free(cb);
        fprintf(f, ",%.15g,%.15g", ma.particles, mb.particles);
        put_opt(f, ma.particles > 0 ? ma.mean_n : NAN, "%.15g");
        put_opt(f, ma.particles > 0 ? ma.var_n : NAN, "%.15g");
        put_opt(f, mb.particles > 0 ? mb.mean_n : NAN, "%.15g");
        put_opt(f, mb.particles > 0 ? mb.var_n : NAN, "%.15g");
        put_opt(f, s->coalescences, "%.15g");
        put_opt(f, s->kf, "%.12g");
    }
    fputc('\n', f);

    /* The two large files are independent: one thread each (their bytes do not depend on it). */
#pragma omp parallel sections num_threads(2) if (s->len > 4096 && io_threads(o->threads) > 1)
    {
#pragma omp section
        write_histogram(o, s, &m);
#pragma omp section
        write_growth(o, s);
    }
    if (ferror(o->moments) || ferror(o->histogram) || ferror(o->growth)) {
        snprintf(err, errlen, "write error (moments.csv, histogram.csv or growth_rate.csv)");
        return 1;
    }
    return 0;
}

int npg_observer_close(npg_observer *o)
{
    int bad = 0;
    FILE **files[3] = {&o->moments, &o->histogram, &o->growth};
    for (int i = 0; i < 3; ++i)
        if (*files[i]) {
            bad |= ferror(*files[i]) != 0;
            bad |= fclose(*files[i]) != 0;
            *files[i] = NULL;
        }
    npg_landscape_free(&o->land);
    free(o->rn);
    o->rn = NULL;
    o->rn_len = 0;
    return bad;
}
