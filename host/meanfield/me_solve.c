/* me_solve.c: the whole `npgrow me` (me.h npg_me_solve): output times, the truncation check and
 * automatic growth of n_max, progress, the stop request, and run.yaml.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npgrow/me.h"
#include "npgrow/observe.h"
#include "npgrow/h5out.h" /* [h5] */
#include "npgrow/outdir.h"
#include "npgrow/status.h"

#include "util/util.h"

#include "meanfield/me_impl.h"

static const char *supply_name(int mode)
{
    return mode == NPG_SUPPLY_CLOSED      ? "closed"
           : mode == NPG_SUPPLY_PRECURSOR ? "precursor"
                                          : "schedule";
}

/* Progress on stderr (util.h npg_progress). */
static void progress_show(npg_progress *p, const npg_config *cfg, const npg_me_state *st, int done)
{
    if (!npg_progress_due(p, done))
        return;
    double frac = cfg->t_end > 0 ? st->t / cfg->t_end : 1.0;
    npg_progress_line(p, done,
                      "me: t = %.4g / %g %s  %5.1f%%  S = %.4g  n_max %u  %ld steps  ETA %.0f s",
                      st->t, cfg->t_end, cfg->time_unit, 100.0 * frac, st->S, st->len - 1,
                      st->steps, npg_progress_eta(p, frac));
}

static int write_run_yaml(const char *dir, const npg_config *cfg, const npg_me_options *opt,
                          const npg_me_summary *sum, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 1;
    }
    fprintf(f, "# npgrow me: mean-field master equation (SUNDIALS CVODE, BDF)\n");
    fprintf(f, "producer: me\n");
    fprintf(f, "version: \"%s\"\n", NPGROW_VERSION);
    fprintf(f, "git_commit: \"%s\"\n", NPGROW_GIT_COMMIT);
    fprintf(f, "status: %s\n", sum->interrupted ? "interrupted" : "complete");
    fprintf(f, "supply: %s\n", supply_name((int)cfg->supply));
    if (npg_me_ext_wanted(cfg))
        fprintf(f,
                "linear_solver: SPGMR (exact Jacobian-vector products, preconditioned by the "
                "tridiagonal monomer exchange per group%s and the coagulation loss diagonal)\n",
                cfg->supply == NPG_SUPPLY_SCHEDULE ? "" : " + Sherman-Morrison rank one");
    else
        fprintf(f, "linear_solver: %s\n",
                cfg->supply == NPG_SUPPLY_SCHEDULE ? "tridiagonal LU (analytic Jacobian)"
                                                   : "tridiagonal LU + Sherman-Morrison rank one "
                                                     "(analytic Jacobian)");
    fprintf(f, "time_unit: %s\n", cfg->time_unit);
    fprintf(f, "t_reached: %.17g  # [%s] last output time written\n", sum->t_reached,
            cfg->time_unit);
    fprintf(f, "n_max: %u\n", sum->n_max);
    fprintf(f, "n_max_grows: %d  # automatic enlargements during the run\n", sum->grows);
    fprintf(f, "n_max_rollbacks: %d  # ... restarted from the previous output time\n",
            sum->rollbacks);
    const uint32_t res = sum->resolution;
    if (res)
        fprintf(f,
                "resolution: %u  # sizes n >= %u lumped in cells of width floor(n/%u) "
                "(second order in the width)\n",
                res, 2 * res, res);
    else
        fprintf(f, "resolution: 0  # one cell per size: the exact master equation\n");
    fprintf(f, "resolution_configured: %u\n", npg_me_resolution(cfg, opt));
    fprintf(f,
            "resolution_refinements: %d  # x 2 each, where the grid's error estimate passed "
            "%g\n",
            sum->refines, NPG_ME_GRID_ERR);
    fprintf(f, "grid_error_max: %.3e  # estimate, ~1/4 of the relative error of var_n\n",
            sum->grid_error_max);
    fprintf(f, "rtol: %.3g\n", opt->rtol > 0.0 ? opt->rtol : npg_me_default_rtol(cfg, opt));
    fprintf(f, "atol_rel: %.3g  # absolute tolerance on N_n / N(0)\n",
            opt->atol_rel > 0.0 ? opt->atol_rel : NPG_ME_ATOL_REL);
    fprintf(f, "cvode_steps: %ld\n", sum->steps);
    fprintf(f, "rhs_evals: %ld\n", sum->rhs_evals);
    fprintf(f, "linear_iterations: %ld\n", sum->lin_iters);
    fprintf(f, "wall_s: %.6f\n", sum->wall_s);
    if (cfg->supply != NPG_SUPPLY_SCHEDULE)
        fprintf(f,
                "monomer_conservation_error: %.3e  # the solver's own count: exact by "
                "construction, rounding only\n"
                "monomer_output_error: %.3e  # the written counts against the configured total "
                "(a lumped grid spreads each cell over its sizes)\n",
                sum->monomer_error, sum->monomer_output_error);
    fprintf(f, "particle_conservation_error: %.3e\n", sum->particle_error);
    fprintf(f, "tail_fraction_max: %.3e\n", sum->tail_max);
    if (npg_me_ext_wanted(cfg)) {
        fprintf(f, "equation: extended  # Group A/B populations%s%s%s\n",
                cfg->coal.mode != NPG_COAL_NONE ? ", Smoluchowski coagulation (direct)" : "",
                cfg->src.kind != NPG_SOURCE_NONE ? ", Poisson source" : "",
                !cfg->no_monomer_exchange ? "" : ", no monomer exchange");
        fprintf(f, "merges: %.17g  # expected, t = 0 .. t_reached\n", sum->merges);
        fprintf(f, "entries: %.17g  # expected particles from the source\n", sum->entered);
        fprintf(f, "overflow: %.3e  # expected particles merged beyond n_max (lost)\n",
                sum->overflow);
    }
    fprintf(f, "config:\n");
    npg_config_write_yaml(f, cfg, 2);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "%s: write error", path);
        return 1;
    }
    return 0;
}

/* Advance to t in steps of at most t_end / 256, checking the truncation after each: an
 * automatic n_max grows by half once NPG_ME_TAIL_GROW of the particles are near it (from there),
 * or, if NPG_ME_TAIL_MAX was passed within one step, from the previous check. The checks do not
 * cost CVODE steps (it interpolates back to them). Returns 0, 1, or the stop exit code. */
static int me_advance_checked(npg_me *me, const npg_config *cfg, const npg_me_options *opt,
                              double t, int automatic, npg_me_summary *sum, char *err,
                              size_t errlen)
{
    const uint32_t cap = npg_me_coal_cap(opt);
    const double h = cfg->t_end / 256.0;
    for (;;) {
        npg_me_state st;
        npg_me_get_tail(me, &st);
        if (st.t >= t)
            return 0;
        if (npg_stop_requested()) {
            snprintf(err, errlen, "interrupted at t = %.9g", st.t);
            return npg_stop_exit_code();
        }
        double tc = h > 0.0 && st.t + h < t ? st.t + h : t;
        int rc = npg_me_advance_to(me, tc, err, errlen);
        if (rc)
            return rc;
        npg_me_get_tail(me, &st);
        if (st.resolution && !opt->fixed_grid && st.grid_error > NPG_ME_GRID_ERR) {
            /* the distribution became too narrow for its cells: redo the step finer */
            if ((rc = npg_me_refine(me, 1, err, errlen)))
                return rc;
            continue;
        }
        uint32_t nm = st.len - 1;
        /* the limit of npg_me_auto_n_max: beyond it the user has to choose me.n_max; with
         * coalescence the dense convolution's limit NPG_ME_COAL_N_MAX, reached in one last step */
        const int coal = cfg->coal.mode != NPG_COAL_NONE;
        const int can_grow = automatic && (coal ? nm < cap : nm + nm / 2 <= 16000000u);
        uint32_t nm_next = nm + nm / 2;
        if (coal && nm_next > cap)
            nm_next = cap;
        if (st.tail >= NPG_ME_TAIL_MAX) {
            if (!can_grow && coal && automatic) {
                snprintf(err, errlen,
                         "master equation with coalescence: %.3g of the particles reached the "
                         "sizes near or beyond n_max = %u at t = %g, the limit of the dense "
                         "Smoluchowski convolution; the mean field of this config needs larger "
                         "sizes: use `npgrow run`, or a shorter run.t_end",
                         st.tail, nm, tc);
                return NPG_EXIT_USAGE;
            }
            if (!can_grow) {
                snprintf(err, errlen,
                         "master equation: %.3g of the particles reached the top sizes near "
                         "n_max = %u at t = %g; n_max is too small",
                         st.tail, nm, tc);
                return 1;
            }
            /* Too late for this step: redo it from the previous check, larger. */
            if ((rc = npg_me_grow(me, nm_next, 1, err, errlen)))
                return rc;
            sum->grows++;
            sum->rollbacks++;
            continue;
        }
        if (can_grow && st.tail_grow >= NPG_ME_TAIL_GROW) {
            if ((rc = npg_me_grow(me, nm_next, 0, err, errlen)))
                return rc;
            sum->grows++;
        }
        npg_me_checkpoint(me);
    }
}

/* The output loop into the open observer. Returns 0, 1, 2, or the stop exit code. */
static int me_outputs(npg_me *me, const npg_config *cfg, const npg_me_options *opt, int automatic,
                      npg_observer *obs, npg_progress *pr, npg_me_summary *sum, char *err,
                      size_t errlen)
{
    double *sum_dn = NULL;
    uint32_t sum_len = 0;
    /* Output times 0, dt, 2 dt, ..., and t_end itself when it is not on that grid. */
    const double dt = cfg->output_every, T = cfg->t_end;
    uint64_t K = dt > 0.0 ? (uint64_t)floor(T / dt + 1e-9) : 0;
    const int extra = T - (double)K * dt > 1e-9 * (T > 1.0 ? T : 1.0);
    double t_prev = 0.0, merges_prev = 0.0, alive_prev = 0.0;
    const int coal = cfg->coal.mode != NPG_COAL_NONE;
    int rc = 0;
    for (uint64_t k = 0; k <= K + (uint64_t)extra; ++k) {
        double t = k <= K ? (double)k * dt : T;
        if (npg_stop_requested()) {
            rc = npg_stop_exit_code();
            snprintf(err, errlen, "interrupted at t = %.9g", t_prev);
            break;
        }
        if ((rc = me_advance_checked(me, cfg, opt, t, automatic, sum, err, errlen)))
            break;
        npg_me_state st;
        npg_me_get(me, &st);
        if (st.tail > sum->tail_max)
            sum->tail_max = st.tail;
        if (st.grid_error > sum->grid_error_max)
            sum->grid_error_max = st.grid_error;
        if (st.monomer_error > sum->monomer_error)
            sum->monomer_error = st.monomer_error;
        if (st.monomer_output_error > sum->monomer_output_error)
            sum->monomer_output_error = st.monomer_output_error;
        if (st.particle_error > sum->particle_error)
            sum->particle_error = st.particle_error;
        if (cfg->supply != NPG_SUPPLY_SCHEDULE && !(st.free_monomers >= -1e-9 * st.total0)) {
            snprintf(err, errlen, "master equation: free monomers negative (%.6g) at t = %g",
                     st.free_monomers, t);
            rc = 1;
            break;
        }
        if (st.len > sum_len) {
            free(sum_dn);
            sum_dn = calloc(st.len, sizeof *sum_dn);
            sum_len = st.len;
            if (!sum_dn) {
                snprintf(err, errlen, "out of memory");
                rc = 1;
                break;
            }
        }
        npg_snapshot s;
        memset(&s, 0, sizeof s);
        s.t = t;
        s.count = st.count;
        s.len = st.len;
        s.particles0 = st.particles0;
        s.S = st.S;
        s.free_monomers = st.free_monomers;
        s.precursor = st.precursor;
        s.events = NAN;
        double alive = 0.0;
        if (coal) {
            /* Group B, merges, and kf over (t_prev, t] (observe.h) */
            for (uint32_t n = 2; n < st.len; ++n)
                alive += st.count[n];
            s.count_b = st.count_b;
            s.coalescences = st.merges;
            s.kf = k > 0 ? npg_me_kf(st.merges - merges_prev, st.particles0, alive_prev, alive,
                                     t - t_prev)
                         : NAN;
        }
        if (k > 0) {
            /* The model's expected growth: sum_dn / (count dt) = j_n exactly (0 without
             * monomer exchange; merges are not growth). */
            const npg_rates *r = npg_me_rates(me);
            double dto = t - t_prev;
            for (uint32_t n = 2; n < st.len; ++n)
                sum_dn[n] =
                    !cfg->no_monomer_exchange
                        ? st.count[n] * (st.S * r->table[n].assoc - r->table[n].dissoc) * dto
                        : 0.0;
            s.prev_count = st.count;
            s.sum_dn = sum_dn;
            s.dt_out = dto;
            s.s_mean = st.S;
        }
        if ((rc = npg_observer_write(obs, &s, err, errlen)))
            break;
        sum->t_reached = t;
        t_prev = t;
        merges_prev = st.merges;
        alive_prev = alive;
        progress_show(pr, cfg, &st, 0);
    }
    free(sum_dn);
    return rc;
}

int npg_me_solve(const npg_config *cfg, const npg_me_options *o, const char *outdir, int force,
                 npg_me_summary *sum, char *err, size_t errlen)
{
    memset(sum, 0, sizeof *sum);
    if (cfg->coal.mode == NPG_COAL_BROWNIAN) { /* before any work: npg_me_create says why */
        npg_me *none = NULL;
        return npg_me_create(&none, cfg, NULL, err, errlen);
    }
    char tmp[4096];
    int rc = npg_outdir_begin(outdir, force, tmp, sizeof tmp, err, errlen);
    if (rc)
        return rc;
    npg_me_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    const int automatic = !opt.n_max && !cfg->me_n_max;
    double t0 = npg_wall_seconds();
    if (automatic) {
        /* Start just above the initial sizes and grow with the distribution (me_outputs): the
         * cost of a step is proportional to n_max. */
        double *c0 = NULL;
        uint32_t len0 = 0;
        if ((rc = npg_me_initial(cfg, &c0, &len0, err, errlen))) {
            npg_outdir_abandon(tmp);
            return rc;
        }
        free(c0);
        npg_rates r = {cfg->model, NULL, 0};
        uint32_t full = npg_me_auto_n_max(cfg, &r, err, errlen);
        if (!full) {
            npg_outdir_abandon(tmp);
            return NPG_EXIT_USAGE;
        }
        uint32_t start = (len0 - 1) + (len0 - 1) / 4 + 256;
        opt.n_max = start < full ? start : full;
        if (npg_me_ext_wanted(cfg)) {
            /* the source's sizes too; with coalescence at most the convolution's limit (a
             * start beyond it is refused by npg_me_create) */
            uint32_t top = len0 - 1;
            if (cfg->src.kind == NPG_SOURCE_POISSON) {
                double *pmf = NULL;
                uint32_t lp = 0;
                if ((rc = npg_me_source_pmf(cfg, &pmf, &lp, err, errlen))) {
                    npg_outdir_abandon(tmp);
                    return rc;
                }
                free(pmf);
                top = lp - 1 > top ? lp - 1 : top;
            }
            start = top + top / 4 + 256;
            if (start < full)
                full = start;
            const uint32_t cap = npg_me_coal_cap(&opt);
            if (cfg->coal.mode != NPG_COAL_NONE && top > cap) {
                snprintf(err, errlen,
                         "master equation with coalescence: the %s sizes reach n = %u (beyond "
                         "it less than 1e-13 of them), above %u, the limit of the dense "
                         "Smoluchowski convolution; use `npgrow run` for these sizes",
                         top > len0 - 1 ? "source's" : "initial", top, cap);
                npg_outdir_abandon(tmp);
                return NPG_EXIT_USAGE;
            }
            if (cfg->coal.mode != NPG_COAL_NONE && full > cap)
                full = top > cap ? top : cap;
            opt.n_max = full > top ? full : top;
        }
    }
    npg_me *me = NULL;
    rc = npg_me_create(&me, cfg, &opt, err, errlen);
    if (rc) {
        npg_outdir_abandon(tmp);
        return rc;
    }
    npg_observer obs;
    if (npg_observer_open(&obs, cfg, npg_me_rates(me), tmp, err, errlen)) {
        npg_me_destroy(me);
        npg_outdir_abandon(tmp);
        return 1;
    }
    npg_me_checkpoint(me); /* t = 0: a growth may go back to it */
    npg_progress pr;
    npg_progress_init(&pr, opt.progress);
    pr.start = t0;
    rc = me_outputs(me, cfg, &opt, automatic, &obs, &pr, sum, err, errlen);
    const int stopped = rc && rc == npg_stop_exit_code();
    npg_me_state st;
    npg_me_get(me, &st);
    if (!rc)
        progress_show(&pr, cfg, &st, 1);
    else
        npg_progress_break(&pr);
    sum->n_max = npg_me_n_max(me);
    sum->resolution = st.resolution;
    sum->refines = st.refines;
    sum->merges = st.merges;
    sum->entered = st.entered;
    sum->overflow = st.overflow;
    sum->steps = st.steps;
    sum->rhs_evals = st.rhs_evals;
    sum->lin_iters = st.lin_iters;
    sum->interrupted = stopped;
    npg_me_destroy(me);
    if (npg_observer_close(&obs) && (!rc || stopped)) {
        snprintf(err, errlen, "%s: write error", tmp);
        rc = 1;
    }
    sum->wall_s = npg_wall_seconds() - t0;
    if (!rc || rc == npg_stop_exit_code()) {
        char e2[4600];
        if (write_run_yaml(tmp, cfg, &opt, sum, e2, sizeof e2)) {
            snprintf(err, errlen, "%s", e2);
            rc = 1;
        }
    }
    if ((!rc || rc == npg_stop_exit_code()) &&
        npg_h5out_write_dir(cfg, tmp, "me", err, errlen) /* [h5] run.h5 from the files */)
        rc = 1;
    if (!rc || rc == npg_stop_exit_code()) {
        char e2[4600];
        /* a stopped solution goes beside an earlier result (DIR.interrupted), never over it */
        if (rc ? npg_outdir_commit_stopped_tmp(tmp, e2, sizeof e2)
               : npg_outdir_commit(tmp, outdir, e2, sizeof e2)) {
            snprintf(err, errlen, "%s", e2);
            rc = 1;
        }
    } else {
        npg_outdir_abandon(tmp);
    }
    return rc;
}
