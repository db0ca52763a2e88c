/* run.c: a complete particle run into a result directory, with progress and SIGINT handling.
 *
 * Everything is written into DIR.tmp-PID beside DIR and renamed at the end, so a crash never
 * leaves something that looks like a finished result; an interrupted run is renamed too but
 * says `status: interrupted` in run.yaml.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npgrow/h5out.h" /* [h5] */
#include "npgrow/observe.h"
#include "npgrow/outdir.h"
#include "npgrow/preflight.h"
#include "npgrow/run.h"
#include "npgrow/status.h"

#include "util/util.h"

/* Progress on stderr (util.h npg_progress). */
static void progress_show(npg_progress *p, const npg_config *cfg, const npg_supply_state *st,
                          int done)
{
    if (!npg_progress_due(p, done))
        return;
    double frac = cfg->t_end > 0 ? st->t / cfg->t_end : 1.0;
    double eps = st->advance_wall_s > 0 ? (double)st->events / st->advance_wall_s : 0.0;
    char merges[48] = "";
    if (cfg->coal.mode != NPG_COAL_NONE)
        snprintf(merges, sizeof merges, "  merges %llu", (unsigned long long)st->merges);
    npg_progress_line(
        p, done, "t = %.4g / %g %s  %5.1f%%  %.3g events/s  S = %.4g  alive %llu%s  ETA %.0f s",
        st->t, cfg->t_end, cfg->time_unit, 100.0 * frac, eps, st->S, (unsigned long long)st->alive,
        merges, npg_progress_eta(p, frac));
}

/* e may be NULL (stopped before the ensemble existed); t_reached < 0: the ensemble's time. */
static int write_run_yaml(const char *dir, const npg_config *cfg, const npg_ensemble *e,
                          double t_reached, double wall, const char *status)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    npg_supply_state st;
    memset(&st, 0, sizeof st);
    const npg_backend *b = e ? npg_ensemble_backend(e) : NULL;
    if (e)
        npg_ensemble_state(e, &st);
    if (t_reached >= 0.0)
        st.t = t_reached; /* the last time written, when a stop cut an interval short */
    fprintf(f, "# npgrow particle run (npgrow run)\n");
    fprintf(f, "producer: run\n");
    fprintf(f, "npgrow_version: \"%s\"\n", NPGROW_VERSION);
    fprintf(f, "git_commit: \"%s\"\n", NPGROW_GIT_COMMIT);
    fprintf(f, "status: %s\n", status);
    fprintf(f, "particles: %llu\n", (unsigned long long)cfg->particles);
    fprintf(f, "seed: %u\n", cfg->seed);
    fprintf(f, "backend: ");
    npg_yaml_write_string(f, b ? b->name : "none");
    fprintf(f, "\ndevice: ");
    npg_yaml_write_string(f, b ? b->device_name : "");
    fputc('\n', f);
    fprintf(f, "threads: %d\n", b ? b->threads : 0);
    fprintf(f, "time_unit: ");
    npg_yaml_write_string(f, cfg->time_unit);
    fputc('\n', f);
    fprintf(f, "t_reached: %.17g  # [%s]\n", st.t, cfg->time_unit);
    fprintf(f, "wall_s: %.6g  # [s] whole run\n", wall);
    fprintf(f, "advance_wall_s: %.6g  # [s] advancing particles\n", st.advance_wall_s);
    fprintf(f, "events: %llu  # accepted association + dissociation events\n",
            (unsigned long long)st.events);
    fprintf(f, "events_per_s: %.6g  # events / advance_wall_s\n",
            st.advance_wall_s > 0 ? (double)st.events / st.advance_wall_s : 0.0);
    fprintf(f, "bytes_per_particle: %g\n", e ? npg_ensemble_bytes_per_particle(e) : 0.0);
    fprintf(f, "sync_intervals: %llu\n", (unsigned long long)st.intervals);
    fprintf(f, "rejected_intervals: %llu\n", (unsigned long long)st.rejected);
    if (cfg->supply != NPG_SUPPLY_SCHEDULE)
        fprintf(f, "total_monomers: %lld\n", (long long)st.total);
    if (cfg->coal.mode != NPG_COAL_NONE) {
        fprintf(f, "merges: %llu  # coalescence events (coalescence.csv holds at most %llu)\n",
                (unsigned long long)st.merges, (unsigned long long)cfg->coal.output_events);
        fprintf(f, "merge_proposals: %llu  # pair proposals at the majorant (merges + rejected)\n",
                (unsigned long long)st.proposals);
        if (cfg->coal.mode == NPG_COAL_BROWNIAN) {
            fprintf(f, "merge_conflicts: %llu  # reacting pairs skipped: a partner was taken\n",
                    (unsigned long long)st.conflicts);
            fprintf(f, "bd_steps: %llu  # Brownian-dynamics steps\n",
                    (unsigned long long)st.bd_steps);
            fprintf(f, "bd_particle_steps: %llu  # particle moves\n",
                    (unsigned long long)st.bd_particle_steps);
            fprintf(f, "bd_dt: %.6g  # [%s] the last step\n", st.bd_dt, cfg->time_unit);
            fprintf(f, "bd_particle_steps_per_s: %.6g  # per second of coalescence_wall_s\n",
                    st.coal_wall_s > 0 ? (double)st.bd_particle_steps / st.coal_wall_s : 0.0);
        } else {
            fprintf(f, "merge_conflicts: 0  # the well-mixed sampler is sequential: none arise\n");
        }
        fprintf(f, "coalescence_wall_s: %.6g  # [s] merges and entries\n", st.coal_wall_s);
    }
    if (cfg->src.kind != NPG_SOURCE_NONE)
        fprintf(f, "entries: %llu  # particles entered from the source (slots: %llu)\n",
                (unsigned long long)st.entries, (unsigned long long)st.capacity);
    fprintf(f, "config:\n");
    npg_config_write_yaml(f, cfg, 2);
    int bad = ferror(f);
    bad |= fclose(f);
    return bad;
}

/* Trajectory sample: ids spread evenly over the ensemble (particles are i.i.d., so any fixed
 * set is a random sample). */
static void trajectory_ids(uint64_t particles, uint32_t k, uint64_t *ids)
{
    for (uint32_t j = 0; j < k; ++j)
        ids[j] = (uint64_t)(((double)j + 0.5) * (double)particles / (double)k);
}

static int write_trajectories(FILE *f, npg_ensemble *e, const npg_config *cfg, double t,
                              const uint64_t *ids, uint32_t *n, uint32_t k, char *err,
                              size_t errlen)
{
    if (!k)
        return 0;
    if (npg_ensemble_sample(e, ids, k, n, err, errlen))
        return 1;
    for (uint32_t j = 0; j < k; ++j)
        if (n[j] >= 2)
            fprintf(f, "%.10g,%llu,%u,%.8g\n", t, (unsigned long long)ids[j], n[j],
                    npg_model_radius(&cfg->model, n[j]));
    return 0;
}

/* Coalescence bookkeeping between output times, for kf. */
typedef struct coal_track {
    double alive_prev;    /* alive particles at the last output time */
    uint64_t merges_prev; /* merges by then */
    double group_b;       /* Group-B particles at the last output time */
} coal_track;

static int snapshot(npg_observer *obs, npg_ensemble *e, const npg_config *cfg, double dt_out,
                    double s_mean, int growth, coal_track *ct, char *err, size_t errlen)
{
    npg_reduction r;
    if (npg_ensemble_reduce(e, &r, err, errlen))
        return 1;
    double *cnt = malloc(r.len * sizeof *cnt), *pc = malloc(r.len * sizeof *pc),
           *sd = malloc(r.len * sizeof *sd), *cb = NULL;
    if (r.count_b)
        cb = malloc(r.len * sizeof *cb);
    if (!cnt || !pc || !sd || (r.count_b && !cb)) {
        free(cnt);
        free(pc);
        free(sd);
        free(cb);
        npg_reduction_free(&r);
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    for (uint32_t n = 0; n < r.len; ++n) {
        cnt[n] = (double)r.count[n];
        pc[n] = (double)r.prev_count[n];
        sd[n] = (double)r.sum_dn[n];
        if (cb)
            cb[n] = (double)r.count_b[n];
    }
    npg_supply_state st;
    npg_ensemble_state(e, &st);
    int closed = cfg->supply != NPG_SUPPLY_SCHEDULE;
    npg_snapshot s;
    memset(&s, 0, sizeof s);
    s.t = st.t;
    s.count = cnt;
    s.len = r.len;
    s.particles0 = (double)cfg->particles;
    s.S = st.S;
    s.free_monomers = closed ? (double)st.free_monomers : NAN;
    s.precursor = cfg->supply == NPG_SUPPLY_PRECURSOR ? (double)st.precursor : NAN;
    s.events = (double)st.events;
    s.prev_count = growth ? pc : NULL;
    s.sum_dn = sd;
    s.dt_out = dt_out;
    s.s_mean = s_mean;
    s.count_b = cb;
    s.coalescences = (double)st.merges;
    s.kf = NAN;
    if (dt_out > 0 && ct->alive_prev > 0 && st.alive > 0)
        s.kf = (double)(st.merges - ct->merges_prev) * (double)cfg->particles /
               (ct->alive_prev * (double)st.alive * dt_out);
    ct->alive_prev = (double)st.alive;
    ct->merges_prev = st.merges;
    if (cb) {
        ct->group_b = 0.0;
        for (uint32_t n = 0; n < r.len; ++n)
            ct->group_b += cb[n];
    }
    int rc = npg_observer_write(obs, &s, err, errlen);
    free(cnt);
    free(pc);
    free(sd);
    free(cb);
    npg_reduction_free(&r);
    return rc;
}

/* coalescence.csv: the sampled merges in time order (all of them when there were at most
 * output.coalescence_events). */
static int write_merges(const char *dir, npg_ensemble *e, const npg_config *cfg, char *err,
                        size_t errlen)
{
    if (cfg->coal.mode == NPG_COAL_NONE)
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/coalescence.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 1;
    }
    const npg_wm_event *ev;
    size_t k = npg_ensemble_merges(e, &ev);
    fprintf(f, "%s\n", NPG_COALESCENCE_HEADER);
    for (size_t i = 0; i < k; ++i)
        fprintf(f, "%.12g,%u,%u,%u,%u,%.8g,%.8g\n", ev[i].t, ev[i].kept, ev[i].gone, ev[i].n_kept,
                ev[i].n_gone, npg_model_radius(&cfg->model, ev[i].n_kept),
                npg_model_radius(&cfg->model, ev[i].n_gone));
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        snprintf(err, errlen, "%s: write error", path);
    return bad;
}

/* [h5] run.h5 snapshots read the ensemble through this (h5out.h knows no engine). */
static int h5_sample(void *e, const uint64_t *ids, size_t k, uint32_t *n, char *err, size_t errlen)
{
    return npg_ensemble_sample(e, ids, k, n, err, errlen);
}

/* A stopped result goes beside an earlier one (DIR.interrupted), never over it; say where. */
static int commit_stopped(npg_outdir *od, char *err, size_t errlen)
{
    char want[3072];
    snprintf(want, sizeof want, "%s", od->path);
    int rc = npg_outdir_commit_stopped(od, err, errlen);
    if (!rc && strcmp(want, od->path))
        fprintf(stderr,
                "npgrow run: stopped: %s holds an earlier result, which is kept; this stopped "
                "run is in %s\n",
                want, od->path);
    return rc;
}

int npg_run(const npg_config *cfg, const npg_run_options *o, npg_run_summary *sum, char *err,
            size_t errlen)
{
    memset(sum, 0, sizeof *sum);
    double t_start = npg_wall_seconds();
    /* Reject what cannot run before anything is created. */
    int rc = npg_config_check(cfg, 1, err, errlen);
    if (rc)
        return rc;
    npg_preflight pf;
    npg_preflight_options po = {o->ens.threads, o->outdir, o->max_output_bytes};
    if ((rc = npg_preflight_check(cfg, &po, &pf, err, errlen)))
        return rc;
    npg_outdir od;
    rc = npg_outdir_open(&od, o->outdir, o->force, err, errlen);
    if (rc)
        return rc;
    const char *tmp = od.tmp;
    npg_ensemble *e = NULL;
    npg_observer obs;
    memset(&obs, 0, sizeof obs);
    FILE *traj = NULL;
    uint64_t *ids = NULL;
    uint32_t *nbuf = NULL;
    npg_h5out *h5 = NULL; /* [h5] */
    int status = 0;
    npg_stop_install();

    rc = npg_ensemble_create(&e, cfg, &o->ens, err, errlen);
    if (rc == NPG_BACKEND_STOPPED) {
        /* Stopped while drawing initial sizes: nothing to report but that. */
        sum->wall_s = npg_wall_seconds() - t_start;
        sum->interrupted = 1;
        if (write_run_yaml(tmp, cfg, NULL, 0.0, sum->wall_s, "interrupted") ||
            commit_stopped(&od, err, errlen)) {
            npg_outdir_discard(&od);
            npg_stop_restore();
            return 1;
        }
        rc = npg_stop_exit_code();
        npg_stop_restore();
        return rc ? rc : NPG_EXIT_SIGINT;
    }
    if (rc) {
        status = rc;
        goto fail;
    }
    npg_supply_state st0;
    npg_ensemble_state(e, &st0); /* snapshots hold every slot: entries from a source too */
    if (npg_observer_open(&obs, cfg, npg_ensemble_rates(e), tmp, err, errlen) ||
        npg_h5out_open(&h5, cfg, tmp, "run", st0.capacity, err, errlen) /* [h5] */) {
        status = 1;
        goto fail;
    }
    obs.threads = o->ens.threads; /* --threads also bounds the writers */
    char path[4200];
    snprintf(path, sizeof path, "%s/trajectories.csv", tmp);
    traj = fopen(path, "w");
    uint32_t k = cfg->trajectories;
    if ((uint64_t)k > cfg->particles)
        k = (uint32_t)cfg->particles;
    ids = malloc((k ? k : 1) * sizeof *ids);
    nbuf = malloc((k ? k : 1) * sizeof *nbuf);
    if (!traj || !ids || !nbuf) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        status = 1;
        goto fail;
    }
    fprintf(traj, "%s\n", NPG_TRAJECTORY_HEADER);
    trajectory_ids(cfg->particles, k, ids);

    npg_progress pr;
    npg_progress_init(&pr, !o->quiet);
    coal_track ct = {0.0, 0, 0.0};
    if (snapshot(&obs, e, cfg, 0.0, 0.0, 0, &ct, err, errlen) ||
        write_trajectories(traj, e, cfg, 0.0, ids, nbuf, k, err, errlen) ||
        npg_h5out_at(h5, 0.0, 0, h5_sample, e, err, errlen) /* [h5] */ ||
        npg_ensemble_mark(e, err, errlen)) {
        status = 1;
        goto fail;
    }
    int interrupted = 0;
    double t_prev = 0.0, s_int_prev = 0.0;
    npg_supply_state st;
    for (uint64_t j = 1; !interrupted; ++j) {
        double t_out = fmin((double)j * cfg->output_every, cfg->t_end);
        /* Straight to the output time: synchronization intervals are the engine's business
         * (schedule breakpoints, closed-supply tolerance), not the progress display's. */
        rc = npg_ensemble_advance_to(e, t_out, err, errlen);
        npg_ensemble_state(e, &st);
        progress_show(&pr, cfg, &st, 0);
        if (rc == NPG_BACKEND_STOPPED || (!rc && npg_stop_requested() && t_out < cfg->t_end)) {
            /* Stopped: what was reduced at the last output time stands; a part-way interval
             * is discarded (its state is incomplete). */
            interrupted = 1;
            if (rc == NPG_BACKEND_STOPPED)
                break;
        } else if (rc) {
            status = 1;
            goto fail;
        }
        double dt_out = st.t - t_prev;
        double s_mean = dt_out > 0 ? (st.s_integral - s_int_prev) / dt_out : st.S;
        if (dt_out > 0 && (snapshot(&obs, e, cfg, dt_out, s_mean, 1, &ct, err, errlen) ||
                           write_trajectories(traj, e, cfg, st.t, ids, nbuf, k, err, errlen) ||
                           npg_h5out_at(h5, st.t, 0, h5_sample, e, err, errlen) /* [h5] */ ||
                           npg_ensemble_mark(e, err, errlen))) {
            status = 1;
            goto fail;
        }
        s_int_prev = st.s_integral;
        t_prev = st.t;
        if (t_out >= cfg->t_end)
            break;
    }
    npg_ensemble_state(e, &st);
    progress_show(&pr, cfg, &st, 1);
    /* [h5] default snapshot: the last time (not after a stop part-way through an interval,
     * whose state is incomplete) */
    if (!interrupted && npg_h5out_at(h5, st.t, 1, h5_sample, e, err, errlen)) {
        status = 1;
        goto fail;
    }
    int bad = npg_observer_close(&obs);
    bad |= write_merges(tmp, e, cfg, err, errlen);
    bad |= ferror(traj) != 0;
    bad |= fclose(traj) != 0;
    traj = NULL;
    sum->wall_s = npg_wall_seconds() - t_start;
    sum->events = st.events;
    sum->events_per_s = st.advance_wall_s > 0 ? (double)st.events / st.advance_wall_s : 0.0;
    sum->interrupted = interrupted;
    sum->coalescence = cfg->coal.mode != NPG_COAL_NONE;
    sum->merges = st.merges;
    sum->entries = st.entries;
    sum->alive = ct.alive_prev;
    sum->group_b = ct.group_b;
    if (bad || write_run_yaml(tmp, cfg, e, interrupted ? t_prev : -1.0, sum->wall_s,
                              interrupted ? "interrupted" : "complete")) {
        snprintf(err, errlen, "%s: write error", tmp);
        status = 1;
        goto fail;
    }
    rc = npg_h5out_finish(h5, err, errlen); /* [h5] run.h5 from the files above */
    h5 = NULL;
    if (rc) {
        status = 1;
        goto fail;
    }
    npg_ensemble_destroy(e);
    free(ids);
    free(nbuf);
    if (interrupted ? commit_stopped(&od, err, errlen) : npg_outdir_commit_dir(&od, err, errlen)) {
        npg_stop_restore();
        return 1; /* the result stays in its temporary directory; err says where */
    }
    rc = interrupted ? npg_stop_exit_code() : 0;
    npg_stop_restore();
    return interrupted && !rc ? NPG_EXIT_SIGINT : rc;

fail:
    npg_h5out_discard(h5); /* [h5] */
    npg_observer_close(&obs);
    if (traj)
        fclose(traj);
    npg_ensemble_destroy(e);
    free(ids);
    free(nbuf);
    npg_outdir_discard(&od);
    npg_stop_restore();
    return status ? status : 1;
}
