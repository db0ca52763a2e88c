/* me_particle.c: the master equation of one particle under a schedule, from a delta at its entry
 * size, over a window of sizes (npg_me_particle, include/npgrow/me.h).
 *
 * The window starts at n0 -+ w0 (w0 = 16 + 4 sqrt(n0): a few standard deviations of a first
 * frame interval) and is widened (its width doubled on the side concerned, never below n = 2)
 * whenever, at an output time, more than NPG_ME_TAIL_GROW of the probability sits in the top
 * sizes (the reflecting top) or in the lowest sizes or has left below (the absorbing bottom of a
 * window above n = 2); the interval is then integrated again from the previous output time
 * (npg_me_checkpoint / npg_me_grow_window). So the top and the bottom each hold less than
 * NPG_ME_TAIL_GROW of the probability at every output time, as npg_me_solve's truncation check.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npgrow/me.h"

/* Give up widening beyond this width (sizes): a distribution that wide is not one particle's. */
#define WINDOW_MAX 50000000u

int npg_me_particle(const npg_config *cfg, const npg_me_options *o, const double *kt,
                    const double *ks, size_t nk, double t0, uint32_t n0, const double *tout,
                    size_t nout, double *out, char *err, size_t errlen)
{
    if (n0 < 2 || nk < 1 || !(isfinite(t0))) {
        snprintf(err, errlen,
                 "master equation of one particle: n0 = %u (need >= 2), %zu schedule "
                 "points (need >= 1)",
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
    /* an independent particle: only the rates and the schedule of cfg */
    npg_config c = *cfg;
    c.supply = NPG_SUPPLY_SCHEDULE;
    c.schedule_t = (double *)kt;
    c.schedule_s = (double *)ks;
    c.schedule_len = nk;
    c.init_kind = NPG_INIT_MONODISPERSE;
    c.init_n = n0;
    c.particles = 1;
    c.t_end = nout ? tout[nout - 1] : t0;
    c.coal.mode = NPG_COAL_NONE;
    c.src.kind = NPG_SOURCE_NONE;
    c.no_monomer_exchange = 0;
    c.me_n_max = 0;

    npg_me_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    const double w0 = 16.0 + 4.0 * sqrt((double)n0);
    opt.n_min = (double)n0 - w0 > 2.0 ? (uint32_t)((double)n0 - w0) : 2u;
    opt.n_max = n0 + (uint32_t)w0;
    opt.t0 = t0;
    opt.clip_initial = 0;
    npg_me *me = NULL;
    int rc = npg_me_create(&me, &c, &opt, err, errlen);
    if (rc)
        return rc;
    npg_me_state st;
    for (size_t j = 0; j < nout && !rc; ++j) {
        npg_me_checkpoint(me);
        for (;;) {
            if ((rc = npg_me_advance_to(me, tout[j], err, errlen)))
                break;
            npg_me_get(me, &st);
            const int top = st.tail > NPG_ME_TAIL_GROW;
            const int low = st.n_min > 2 && st.tail_low > NPG_ME_TAIL_GROW;
            if (!top && !low)
                break;
            const uint32_t lo = st.n_min, nm = st.len - 1, w = nm - lo;
            if (w > WINDOW_MAX) {
                snprintf(err, errlen,
                         "master equation of one particle (n0 = %u at t = %g): the window "
                         "n = %u..%u is still too narrow at t = %g",
                         n0, t0, lo, nm, tout[j]);
                rc = 1;
                break;
            }
            const uint32_t nlo = low ? (lo > w + 2 ? lo - w : 2u) : lo;
            const uint32_t nhi = top ? nm + w : nm;
            if ((rc = npg_me_grow_window(me, nlo, nhi, 1, err, errlen)))
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
    }
    npg_me_destroy(me);
    return rc;
}
