/* me_particle.c: the master equation of one particle under a schedule, from a delta at its entry
 * size, over a window of sizes (npg_me_particle, include/npgrow/me.h).
 *
 * Time runs from the entry (t - t0, the schedule shifted with it), so that CVODE's first steps
 * are not below the rounding of t. The window starts at n0 -+ w0 (w0 = 16 + 4 sqrt(n0)); at
 * every output time, if more than TAIL_ATOL x the absolute tolerance of the probability sits in the
 * top sizes (the reflecting top) or in the lowest sizes or below the window (its absorbing bottom,
 * above n = 2), the window is widened on that side by the distribution's span (never below n = 2)
 * and the interval integrated again from the previous output time (npg_me_checkpoint,
 * npg_me_set_window). A growing particle's distribution moves up: once the sizes below it (holding
 * less than the absolute tolerance in all) would be more than a quarter of the window, they are
 * dropped (their probability goes to `below`) and the top raised ahead of the distribution. So the
 * error in every output is below 101 x the absolute tolerance in probability. Tolerances (RTOL,
 * ATOL on probabilities): moments q <= 10 to ~1e-5 relative against rtol 1e-10
 * (tests/meanfield/test_me_particle.cpp, and Pt(acac)2's var_n and m10n at 51 and 180 s: 2e-5,
 * 4e-5), far inside the replicas' standard errors, at a quarter of the steps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/me.h"

#define RTOL 1e-5  /* CVODE relative tolerance unless the options set one */
#define ATOL 1e-10 /* absolute tolerance on a probability unless the options set one */
/* Give up widening beyond this width (sizes): a distribution that wide is not one particle's. */
#define WINDOW_MAX 50000000u

/* Most probability allowed in the top and bottom sizes of the window: TAIL_ATOL x the absolute
 * tolerance; most dropped below the distribution as it moves up: DROP = the absolute tolerance. */
#define TAIL_ATOL 100.0

static uint32_t margin(uint32_t n)
{
    return 16u + (uint32_t)(4.0 * sqrt((double)n));
}

/* [a, b]: the sizes of the state without the `drop` of probability at either end. */
static void support(const npg_me_state *st, double drop, uint32_t *a, uint32_t *b)
{
    const uint32_t nm = st->len - 1;
    uint32_t lo = st->n_min, hi = nm;
    double cum = 0.0;
    while (lo < nm && cum + st->count[lo] <= drop)
        cum += st->count[lo++];
    cum = 0.0;
    while (hi > lo && cum + st->count[hi] <= drop)
        cum += st->count[hi--];
    *a = lo;
    *b = hi;
}

int npg_me_particle(const npg_config *cfg, const npg_me_options *o, const double *kt,
                    const double *ks, size_t nk, double t0, uint32_t n0, const double *tout,
                    size_t nout, double *out, char *err, size_t errlen)
{
    if (n0 < 2 || nk < 1 || !(isfinite(t0))) {
        snprintf(err, errlen,
                 "master equation of one particle: n0 = %u (need >= 2), %zu schedule points "
                 "(need >= 1)",
                 n0, nk);
        return NPG_EXIT_USAGE;
    }
    for (size_t j = 0; j < nout; ++j)
        if (!(tout[j] >= (j ? tout[j - 1] : t0))) {
            snprintf(err, errlen,
                     "master equation of one particle: output time %g is before %g (entry at "
                     "t0 = %g)",
                     tout[j], j ? tout[j - 1] : t0, t0);
            return NPG_EXIT_USAGE;
        }
    double *st_t = malloc(nk * sizeof *st_t);
    if (!st_t) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    for (size_t k = 0; k < nk; ++k)
        st_t[k] = kt[k] - t0;
    /* an independent particle: only the rates and the (shifted) schedule of cfg */
    npg_config c = *cfg;
    c.supply = NPG_SUPPLY_SCHEDULE;
    c.schedule_t = st_t;
    c.schedule_s = (double *)ks;
    c.schedule_len = nk;
    c.init_kind = NPG_INIT_MONODISPERSE;
    c.init_n = n0;
    c.particles = 1;
    c.t_end = nout ? tout[nout - 1] - t0 : 0.0;
    c.coal.mode = NPG_COAL_NONE;
    c.src.kind = NPG_SOURCE_NONE;
    c.no_monomer_exchange = 0;
    c.me_n_max = 0;

    npg_me_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    if (!(opt.rtol > 0))
        opt.rtol = RTOL;
    if (!(opt.atol_rel > 0))
        opt.atol_rel = ATOL;
    opt.n_min = n0 > margin(n0) + 2 ? n0 - margin(n0) : 2u;
    opt.n_max = n0 + margin(n0);
    opt.clip_initial = 0;
    opt.resolution = -1; /* the exact grid: the window (npg_me_set_window) needs it, and a
                            single size is what a lumped grid cannot hold (me.c) */
    npg_me *me = NULL;
    int rc = npg_me_create(&me, &c, &opt, err, errlen);
    if (rc) {
        free(st_t);
        return rc;
    }
    npg_me_state st;
    for (size_t j = 0; j < nout && !rc; ++j) {
        npg_me_checkpoint(me);
        for (;;) {
            if ((rc = npg_me_advance_to(me, tout[j] - t0, err, errlen)))
                break;
            npg_me_get(me, &st);
            const int top = st.tail > TAIL_ATOL * opt.atol_rel;
            const int low = st.n_min > 2 && st.tail_low > TAIL_ATOL * opt.atol_rel;
            if (!top && !low)
                break;
            const uint32_t lo = st.n_min, nm = st.len - 1, w = nm - lo;
            if (w > WINDOW_MAX) {
                snprintf(err, errlen,
                         "the window n = %u..%u is still too narrow at t = %g (entry n = %u at "
                         "t = %g)",
                         lo, nm, tout[j], n0, t0);
                rc = 1;
                break;
            }
            /* widen by half the distribution's span now (at least the margin) and try again */
            uint32_t a, b;
            support(&st, opt.atol_rel, &a, &b);
            const uint32_t g = b - a > margin(b) ? b - a : margin(b);
            if ((rc = npg_me_set_window(me, low ? (lo > g + 2 ? lo - g : 2u) : lo,
                                        top ? nm + g : nm, 1, err, errlen)))
                break;
        }
        if (rc)
            break;
        double *v = &out[j * NPG_ME_PARTICLE_NV];
        memset(v, 0, NPG_ME_PARTICLE_NV * sizeof *v);
        for (uint32_t n = st.n_min; n < st.len; ++n) {
            double p = st.count[n];
            for (int q = 0; q <= 10; ++q, p *= (double)n)
                v[q] += p;
        }
        v[11] = st.dissolved;
        /* drop what lies below the distribution once it is more than half the window */
        const uint32_t lo = st.n_min, nm = st.len - 1;
        uint32_t a, b;
        support(&st, opt.atol_rel, &a, &b);
        const uint32_t lo_new = a > margin(a) + 2 ? a - margin(a) : 2u;
        if (lo_new > lo && lo_new - lo > (nm - lo) / 4 && j + 1 < nout) {
            uint32_t hi_new = b + margin(b) + (b - a);
            if (hi_new < nm)
                hi_new = nm;
            if ((rc = npg_me_set_window(me, lo_new, hi_new, 0, err, errlen)))
                break;
        }
    }
    npg_me_destroy(me);
    free(st_t);
    return rc;
}
