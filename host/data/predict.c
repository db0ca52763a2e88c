/* predict.c: `npgrow predict`, the observed ensemble simulated under S(t)
 * (include/npgrow/predict.h).
 *
 * With a schedule S(t) the particles are independent birth-death chains, so no engine is needed:
 * each (replica, particle) pair is advanced by npg_particle_advance (include/npgrow/step.h, the
 * function the CUDA kernel runs) over the frame intervals, each split at the schedule's knots so
 * that S is linear inside every piece. Piece k of the whole trace is Philox step k; particle i of
 * replica r is id r P + i; OpenMP runs the replicas, each summing its particles in a fixed order,
 * so the result does not depend on the thread count. Percentiles across replicas: GSL
 * (gsl_stats_quantile_from_sorted_data, linear interpolation).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <omp.h>

#include "data/traj.h"
#include "npgrow/infer.h"
#include "npgrow/outdir.h"
#include "npgrow/predict.h"
#include "npgrow/rates.h"
#include "npgrow/step.h"

/* quantities: 0 mean_n, 1 var_n, 2..9 m3..m10 (raw <n^q>), 10..17 m3n..m10n (m_q / <n>^q) */
#define NQ_ALL                18
#define SUMMARY_MIN_PARTICLES 10 /* frames with fewer observed particles are left out */

static const char *const k_qname[NQ_ALL] = {"mean_n", "var_n", "m3",  "m4",  "m5",  "m6",
                                            "m7",     "m8",    "m9",  "m10", "m3n", "m4n",
                                            "m5n",    "m6n",   "m7n", "m8n", "m9n", "m10n"};

void npg_predict_options_default(npg_predict_options *o)
{
    memset(o, 0, sizeof *o);
    o->replicas = NPG_PREDICT_REPLICAS_DEFAULT;
    o->seed = 1;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int row_cmp(const void *a, const void *b)
{
    const npg_traj_row *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

/* S(t), piecewise linear through the knots, constant beyond the ends. */
static double sched_at(const double *kt, const double *ks, size_t nk, double t)
{
    if (t <= kt[0])
        return ks[0];
    if (t >= kt[nk - 1])
        return ks[nk - 1];
    size_t lo = 0, hi = nk - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (kt[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    double w = (t - kt[lo]) / (kt[hi] - kt[lo]);
    return ks[lo] + w * (ks[hi] - ks[lo]);
}

/* The 18 quantities from power sums s[0..10] (s[q] = sum n^q). NaN without particles. */
static void quantities(const double *s, double *q)
{
    if (!(s[0] > 0)) {
        for (int k = 0; k < NQ_ALL; ++k)
            q[k] = NAN;
        return;
    }
    double mean = s[1] / s[0];
    q[0] = mean;
    q[1] = fmax(s[2] / s[0] - mean * mean, 0.0);
    for (int j = 3; j <= 10; ++j) {
        q[j - 1] = s[j] / s[0];
        q[j + 7] = q[j - 1] / pow(mean, j);
    }
}

static void add_powers(double *s, double n)
{
    double p = 1.0;
    for (int q = 0; q <= 10; ++q) {
        s[q] += p;
        p *= n;
    }
}

/* moments_ci.csv (optional): band[(f * 10 + k) * 5 + {estimate, lo95, lo68, hi68, hi95}]. */
static void read_ci(const char *dir, const double *ft, size_t nf, double *band)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/moments_ci.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char qn[32];
        double t, v[5];
        if (sscanf(line, "%lf,%31[^,],%lf,%lf,%lf,%lf,%lf", &t, qn, &v[0], &v[1], &v[2], &v[3],
                   &v[4]) != 7)
            continue;
        int k = -1;
        for (int j = 0; j < 10; ++j)
            if (!strcmp(qn, k_qname[j]))
                k = j;
        if (k < 0)
            continue;
        size_t lo = 0, hi = nf;
        while (lo < hi) { /* first frame >= t */
            size_t mid = (lo + hi) / 2;
            if (ft[mid] < t)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t fr = nf;
        double tol = 1e-9 * fmax(1.0, fabs(t));
        if (lo < nf && fabs(ft[lo] - t) <= tol)
            fr = lo;
        else if (lo > 0 && fabs(ft[lo - 1] - t) <= tol)
            fr = lo - 1;
        if (fr < nf)
            memcpy(&band[(fr * 10 + (size_t)k) * 5], v, sizeof v);
    }
    fclose(f);
}

static void put(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.10g", v);
    else
        fputs(",", f);
}

int npg_predict_run(const char *data_dir, const npg_config *cfg, const npg_predict_options *o,
                    const char *outdir, int force, const char *argv_line, char *err, size_t errlen)
{
    char unit[8] = "";
    const char *cunit = cfg->time_unit[0] ? cfg->time_unit : "s";
    int rc = npg_traj_time_unit(data_dir, unit, sizeof unit, err, errlen);
    if (rc)
        return rc;
    if (strcmp(unit, cunit)) {
        snprintf(err, errlen, "%s/run.yaml: time_unit %s, but the config %s has time_unit %s",
                 data_dir, unit, cfg->source, cunit);
        return NPG_EXIT_USAGE;
    }
    if (o->replicas < 1) {
        snprintf(err, errlen, "--replicas must be at least 1");
        return NPG_EXIT_USAGE;
    }
    char tpath[1200];
    snprintf(tpath, sizeof tpath, "%s/trajectories.csv", data_dir);
    struct stat sb;
    if (stat(tpath, &sb)) {
        snprintf(err, errlen,
                 "%s: cannot open: %s (predict needs trajectories; ex-situ data, which has none, "
                 "is not supported yet)",
                 tpath, strerror(errno));
        return NPG_EXIT_USAGE;
    }

    npg_traj_row *rows = NULL;
    size_t nrow = 0;
    double *ft = NULL, *kt = NULL, *ks = NULL, *pdt = NULL, *ps0 = NULL, *ps1 = NULL;
    size_t *pbeg = NULL, *pstart = NULL;
    npg_rate_pair *table = NULL;
    double *acc = NULL, *vals = NULL, *obs = NULL, *band = NULL, *dis = NULL, *res = NULL;
    npg_config scfg;
    int scfg_loaded = 0;
    npg_outdir od;
    od.open = 0;
    if ((rc = npg_traj_read(data_dir, &rows, &nrow, err, errlen)))
        return rc;
    rc = NPG_EXIT_USAGE;

    /* frames */
    ft = malloc((nrow ? nrow : 1) * sizeof *ft);
    if (!ft)
        goto oom;
    for (size_t i = 0; i < nrow; ++i)
        ft[i] = rows[i].t;
    qsort(ft, nrow, sizeof *ft, dbl_cmp);
    size_t nf = 0;
    for (size_t i = 0; i < nrow; ++i)
        if (!nf || ft[i] != ft[nf - 1])
            ft[nf++] = ft[i];
    if (nf < 2) {
        snprintf(err, errlen, "%s: %zu distinct times: need at least two frames", tpath, nf);
        goto done;
    }
    for (size_t i = 0; i < nrow; ++i) {
        double *hit = bsearch(&rows[i].t, ft, nf, sizeof *ft, dbl_cmp);
        rows[i].frame = (size_t)(hit - ft);
    }
    qsort(rows, nrow, sizeof *rows, row_cmp);
    /* particles: pstart[p] .. pstart[p + 1] in rows */
    pstart = malloc((nrow + 1) * sizeof *pstart);
    if (!pstart)
        goto oom;
    size_t np = 0;
    for (size_t i = 0; i < nrow; ++i) {
        if (i && rows[i].id == rows[i - 1].id && rows[i].frame == rows[i - 1].frame) {
            snprintf(err, errlen, "%s: id %llu appears twice at t = %g", tpath, rows[i].id,
                     rows[i].t);
            goto done;
        }
        if (!i || rows[i].id != rows[i - 1].id)
            pstart[np++] = i;
    }
    pstart[np] = nrow;
    const uint32_t R = o->replicas;
    if ((uint64_t)R * np > UINT32_MAX) {
        snprintf(err, errlen, "%u replicas x %zu particles exceed 2^32 particle ids", R, np);
        goto done;
    }

    /* the schedule */
    size_t nk = 0;
    const char *sched_src = "inferred";
    if (o->schedule) {
        if (npg_config_load(o->schedule, &scfg, err, errlen)) {
            npg_config_free(&scfg);
            goto done;
        }
        scfg_loaded = 1;
        if (scfg.supply != NPG_SUPPLY_SCHEDULE) {
            snprintf(err, errlen, "%s: --schedule needs a config with supply {mode: schedule}",
                     o->schedule);
            goto done;
        }
        const char *su = scfg.time_unit[0] ? scfg.time_unit : "s";
        if (strcmp(su, cunit)) {
            snprintf(err, errlen, "%s: time_unit %s, but the config %s has time_unit %s",
                     o->schedule, su, cfg->source, cunit);
            goto done;
        }
        nk = scfg.schedule_len;
        kt = malloc(nk * sizeof *kt);
        ks = malloc(nk * sizeof *ks);
        if (!kt || !ks)
            goto oom;
        memcpy(kt, scfg.schedule_t, nk * sizeof *kt);
        memcpy(ks, scfg.schedule_s, nk * sizeof *ks);
        sched_src = o->schedule;
    } else {
        npg_infer_options io;
        npg_infer_options_default(&io);
        io.bootstrap = 0;
        io.quiet = 1;
        npg_infer_result ir;
        rc = npg_infer_run(data_dir, cfg, &io, &ir, err, errlen);
        if (!rc) {
            nk = ir.nk;
            kt = malloc(nk * sizeof *kt);
            ks = malloc(nk * sizeof *ks);
            if (kt && ks) {
                memcpy(kt, ir.t, nk * sizeof *kt);
                memcpy(ks, ir.s, nk * sizeof *ks);
            }
        }
        npg_infer_free(&ir);
        if (rc)
            goto done;
        rc = NPG_EXIT_USAGE;
        if (!kt || !ks)
            goto oom;
    }

    /* pieces: frame interval j is pieces pbeg[j] .. pbeg[j + 1], split at the knots inside */
    size_t cap = (nf - 1) + nk + 1, npc = 0;
    pbeg = malloc(nf * sizeof *pbeg);
    pdt = malloc(cap * sizeof *pdt);
    ps0 = malloc(cap * sizeof *ps0);
    ps1 = malloc(cap * sizeof *ps1);
    if (!pbeg || !pdt || !ps0 || !ps1)
        goto oom;
    {
        size_t k = 0;
        for (size_t j = 0; j + 1 < nf; ++j) {
            pbeg[j] = npc;
            double a = ft[j];
            while (k < nk && kt[k] <= a)
                ++k;
            for (;;) {
                double b = (k < nk && kt[k] < ft[j + 1]) ? kt[k] : ft[j + 1];
                pdt[npc] = b - a;
                ps0[npc] = sched_at(kt, ks, nk, a);
                ps1[npc] = sched_at(kt, ks, nk, b);
                ++npc;
                a = b;
                if (b == ft[j + 1])
                    break;
                ++k;
            }
        }
        pbeg[nf - 1] = npc;
    }

    /* rates */
    const uint32_t ntab = NPG_RATES_DEFAULT_N_TABLE;
    table = malloc(ntab * sizeof *table);
    if (!table)
        goto oom;
    npg_rates_fill(table, ntab, &cfg->model);
    const npg_rates rates = {cfg->model, table, ntab};

    /* observed */
    obs = malloc(nf * NQ_ALL * sizeof *obs);
    double *ocount = malloc(nf * sizeof *ocount);
    band = malloc(nf * 10 * 5 * sizeof *band);
    if (!obs || !ocount || !band) {
        free(ocount);
        goto oom;
    }
    for (size_t i = 0; i < nf * 50; ++i)
        band[i] = NAN;
    {
        double *s = calloc(nf * 11, sizeof *s);
        if (!s) {
            free(ocount);
            goto oom;
        }
        for (size_t i = 0; i < nrow; ++i)
            add_powers(&s[rows[i].frame * 11], rows[i].n);
        for (size_t f = 0; f < nf; ++f) {
            quantities(&s[f * 11], &obs[f * NQ_ALL]);
            ocount[f] = s[f * 11];
        }
        free(s);
    }
    read_ci(data_dir, ft, nf, band);

    if ((rc = npg_outdir_open(&od, outdir, force, err, errlen))) {
        free(ocount);
        goto done;
    }
    rc = NPG_EXIT_USAGE;

    /* simulate: acc[(r * nf + f) * 11 + q] */
    acc = calloc((size_t)R * nf * 11, sizeof *acc);
    dis = calloc(R, sizeof *dis);
    if (!acc || !dis) {
        free(ocount);
        goto oom;
    }
    const int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    if (!o->quiet)
        fprintf(stderr,
                "npgrow predict: %zu particles, %zu frames, %zu pieces, %u replicas, %d "
                "threads\n",
                np, nf, npc, R, threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (uint32_t r = 0; r < R; ++r) {
        if (npg_stop_requested())
            continue;
        double *a = &acc[(size_t)r * nf * 11];
        for (size_t p = 0; p < np; ++p) {
            const npg_traj_row *pr = &rows[pstart[p]];
            const size_t cnt = pstart[p + 1] - pstart[p];
            const uint32_t id = (uint32_t)((uint64_t)r * np + p);
            uint32_t n = pr[0].n < 2.0 ? 2u : (uint32_t)lround(fmin(pr[0].n, 4.0e9));
            size_t f = pr[0].frame;
            add_powers(&a[f * 11], (double)n);
            for (size_t c = 1; c < cnt && n >= 2u; ++c) {
                for (; f < pr[c].frame; ++f)
                    for (size_t k = pbeg[f]; k < pbeg[f + 1] && n >= 2u; ++k) {
                        npg_interval iv = {pdt[k], ps0[k], ps1[k], (uint64_t)k, o->seed};
                        uint32_t ev;
                        n = npg_particle_advance(n, id, &iv, &rates, &ev);
                    }
                if (n >= 2u)
                    add_powers(&a[f * 11], (double)n);
                else
                    dis[r] += 1.0;
            }
        }
    }
    if (npg_stop_requested()) {
        free(ocount);
        rc = npg_stop_exit_code();
        snprintf(err, errlen, "interrupted: nothing written");
        goto done;
    }

    /* per replica quantities, then percentiles per (frame, quantity) */
    vals = malloc((size_t)R * sizeof *vals);
    res = malloc(nf * NQ_ALL * 6 * sizeof *res); /* mean, lo95, lo68, hi68, hi95, alive */
    if (!vals || !res) {
        free(ocount);
        goto oom;
    }
    for (size_t f = 0; f < nf; ++f) {
        double alive = 0;
        for (uint32_t r = 0; r < R; ++r)
            alive += acc[((size_t)r * nf + f) * 11];
        for (int k = 0; k < NQ_ALL; ++k) {
            size_t m = 0;
            double q[NQ_ALL];
            for (uint32_t r = 0; r < R; ++r) {
                quantities(&acc[((size_t)r * nf + f) * 11], q);
                if (isfinite(q[k]))
                    vals[m++] = q[k];
            }
            double *o6 = &res[(f * NQ_ALL + (size_t)k) * 6];
            o6[5] = alive / R;
            if (!m) {
                o6[0] = o6[1] = o6[2] = o6[3] = o6[4] = NAN;
                continue;
            }
            gsl_sort(vals, 1, m);
            o6[0] = gsl_stats_mean(vals, 1, m);
            o6[1] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.025);
            o6[2] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.16);
            o6[3] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.84);
            o6[4] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.975);
        }
    }
    double dissolved = 0;
    for (uint32_t r = 0; r < R; ++r)
        dissolved += dis[r];
    dissolved /= R;

    /* prediction.csv */
    char path[3200];
    snprintf(path, sizeof path, "%s/prediction.csv", od.tmp);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(ocount);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    fputs("t,quantity,particles,pred_particles,pred_mean,pred_lo95,pred_lo68,pred_hi68,pred_hi95,"
          "obs,obs_lo95,obs_lo68,obs_hi68,obs_hi95,inside95\n",
          f);
    for (size_t fr = 0; fr < nf; ++fr)
        for (int k = 0; k < NQ_ALL; ++k) {
            const double *o6 = &res[(fr * NQ_ALL + (size_t)k) * 6];
            const double ob = obs[fr * NQ_ALL + (size_t)k];
            fprintf(f, "%.10g,%s,%.0f", ft[fr], k_qname[k], ocount[fr]);
            put(f, o6[5]);
            for (int j = 0; j < 5; ++j)
                put(f, o6[j]);
            put(f, ob);
            for (int j = 1; j < 5; ++j)
                put(f, k < 10 ? band[(fr * 10 + (size_t)k) * 5 + (size_t)j] : NAN);
            fprintf(f, ",%d\n", isfinite(o6[1]) && ob >= o6[1] && ob <= o6[4]);
        }
    int werr = ferror(f);
    werr |= fclose(f);

    /* summary: mean_n, var_n, m3n..m10n */
    static const int sq[] = {0, 1, 10, 11, 12, 13, 14, 15, 16, 17};
    const size_t nsq = sizeof sq / sizeof sq[0];
    size_t tf[3];
    {
        const double frac[3] = {0.25, 0.5, 1.0};
        for (int j = 0; j < 3; ++j) {
            double target = ft[0] + frac[j] * (ft[nf - 1] - ft[0]);
            size_t best = 0;
            for (size_t fr = 0; fr < nf; ++fr)
                if (fabs(ft[fr] - target) < fabs(ft[best] - target))
                    best = fr;
            tf[j] = best;
        }
    }
    snprintf(path, sizeof path, "%s/summary.csv", od.tmp);
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(ocount);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    fprintf(f, "quantity,frames,inside95,fraction_inside95,t1,ratio1,t2,ratio2,t3,ratio3\n");
    if (!o->quiet)
        printf("npgrow predict: %s, %zu particles, %u replicas, S(t) %s; %.3g simulated "
               "particles per replica dissolved before their last observed frame\n"
               "  %-7s %7s %9s   pred/obs at t = %.4g, %.4g, %.4g %s\n",
               data_dir, np, R, sched_src, dissolved, "", "frames", "in 95 %", ft[tf[0]], ft[tf[1]],
               ft[tf[2]], unit);
    for (size_t j = 0; j < nsq; ++j) {
        const int k = sq[j];
        size_t frames = 0, inside = 0;
        for (size_t fr = 0; fr < nf; ++fr) {
            const double *o6 = &res[(fr * NQ_ALL + (size_t)k) * 6];
            const double ob = obs[fr * NQ_ALL + (size_t)k];
            if (ocount[fr] < SUMMARY_MIN_PARTICLES || !isfinite(o6[1]) || !isfinite(ob))
                continue;
            ++frames;
            inside += ob >= o6[1] && ob <= o6[4];
        }
        double ratio[3];
        for (int i = 0; i < 3; ++i)
            ratio[i] = res[(tf[i] * NQ_ALL + (size_t)k) * 6] / obs[tf[i] * NQ_ALL + (size_t)k];
        double fracin = frames ? (double)inside / (double)frames : NAN;
        fprintf(f, "%s,%zu,%zu", k_qname[k], frames, inside);
        put(f, fracin);
        for (int i = 0; i < 3; ++i) {
            put(f, ft[tf[i]]);
            put(f, ratio[i]);
        }
        fputc('\n', f);
        if (!o->quiet)
            printf("  %-7s %7zu %8.1f%%   %8.3f %8.3f %8.3f\n", k_qname[k], frames, 100.0 * fracin,
                   ratio[0], ratio[1], ratio[2]);
    }
    werr |= ferror(f);
    werr |= fclose(f);

    /* run.yaml */
    snprintf(path, sizeof path, "%s/run.yaml", od.tmp);
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(ocount);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    fprintf(f, "# npgrow predict %s\n", argv_line ? argv_line : "");
    fprintf(f, "producer: predict\nkind: prediction\ntime_unit: %s\nstatus: complete\n", unit);
    fprintf(f, "data_dir: \"%s\"\nconfig: \"%s\"\nreplicas: %u\nseed: %u\n", data_dir, cfg->source,
            R, (unsigned)o->seed);
    fprintf(f, "particles: %zu\nframes: %zu\nsummary_min_particles: %d\n", np, nf,
            SUMMARY_MIN_PARTICLES);
    fprintf(f,
            "dissolved_per_replica: %.6g  # simulated particles that dissolved before their "
            "last observed frame\n",
            dissolved);
    fprintf(f, "schedule_source: \"%s\"\nschedule:  # [t, S], linear in between, constant beyond\n",
            sched_src);
    for (size_t k = 0; k < nk; ++k)
        fprintf(f, "  - [%.10g, %.10g]\n", kt[k], ks[k]);
    werr |= ferror(f);
    werr |= fclose(f);
    free(ocount);
    if (werr) {
        snprintf(err, errlen, "%s: write error", od.tmp);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    if (npg_outdir_commit_dir(&od, err, errlen)) {
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = NPG_EXIT_FAIL;
done:
    if (od.open && rc)
        npg_outdir_discard(&od);
    if (scfg_loaded)
        npg_config_free(&scfg);
    free(rows);
    free(ft);
    free(kt);
    free(ks);
    free(pdt);
    free(ps0);
    free(ps1);
    free(pbeg);
    free(pstart);
    free(table);
    free(acc);
    free(vals);
    free(obs);
    free(band);
    free(dis);
    free(res);
    return rc;
}
