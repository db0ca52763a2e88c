/* npgrow/init.h: initial particle sizes, drawn per particle from its own Philox stream.
 *
 * Every kind draws particles independently and identically (so the moment statistics of a run
 * against the master equation are those of an i.i.d. sample). Host and device call the same
 * function; the histogram kind reads a cumulative table the caller uploads. Sizes below 2 are
 * redrawn: n = 1 is a free monomer, not a particle (the distribution is conditioned on n >= 2).
 */
#ifndef NPGROW_INIT_H
#define NPGROW_INIT_H

#include "npgrow/philox.h"

typedef enum npg_init_kind {
    NPG_INIT_MONODISPERSE = 0, /* every particle starts at n */
    NPG_INIT_NORMAL_R = 1,     /* radius r ~ Normal(mean, sd) [nm], n = round((r/sigma_s)^3) */
    NPG_INIT_LOGNORMAL_R = 2,  /* radius lognormal with the given mean and sd of r itself [nm] */
    NPG_INIT_HISTOGRAM = 3     /* n drawn from a (n, count) table */
} npg_init_kind;

typedef struct npg_init_view {
    int kind;              /* npg_init_kind */
    uint32_t n;            /* [monomers] monodisperse size */
    double loc, scale;     /* normal: mean and sd of r [nm]; lognormal: mu and sigma of ln(r/nm) */
    double sigma_s;        /* [nm] monomer radius */
    const double *cdf;     /* [table_len] histogram: P(size <= sizes[i]), last entry 1 */
    const uint32_t *sizes; /* [table_len] histogram: sizes in increasing order [monomers] */
    uint32_t table_len;
} npg_init_view;

#define NPG_INIT_MAX_TRIES 64u

/* Initial size of particle `id` (>= 2). The stream is (seed, id) with purpose NPG_STREAM_INIT. */
static inline NPG_HD uint32_t npg_init_sample(const npg_init_view *v, uint32_t seed, uint32_t id)
{
    if (v->kind == NPG_INIT_MONODISPERSE)
        return v->n;
    const npg_u32x2 key = npg_philox_key(seed, id);
    for (uint32_t draw = 0; draw < NPG_INIT_MAX_TRIES; ++draw) {
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter(draw, 0, NPG_STREAM_INIT), key);
        if (v->kind == NPG_INIT_HISTOGRAM) {
            double u = npg_u01_closed0(b.x);
            uint32_t lo = 0, hi = v->table_len - 1; /* first i with u < cdf[i] */
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (u < v->cdf[mid])
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (v->sizes[lo] >= 2)
                return v->sizes[lo];
            continue;
        }
        /* Box-Muller on two words; the other two are spare. */
        double z = npg_sqrt(-2.0 * npg_log(npg_u01_open0(b.x))) *
                   npg_cos(2.0 * NPG_PI * npg_u01_closed0(b.y));
        double r =
            v->kind == NPG_INIT_NORMAL_R ? v->loc + v->scale * z : npg_exp(v->loc + v->scale * z);
        if (!(r > 0.0))
            continue;
        double x = r / v->sigma_s;
        double nd = npg_floor(x * x * x + 0.5);
        if (nd >= 2.0 && nd < 4.0e9)
            return (uint32_t)nd;
    }
    return 2u; /* unreachable for validated configs: P(n >= 2) is checked at load */
}

#endif /* NPGROW_INIT_H */
