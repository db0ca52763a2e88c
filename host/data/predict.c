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
#include <yaml.h>

#include "data/traj.h"
#include "npgrow/data.h"
#include "npgrow/infer.h"
#include "npgrow/outdir.h"
#include "npgrow/predict.h"
#include "npgrow/rates.h"
#include "npgrow/step.h"
#include "util/yaml_limits.h"

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

/* Everything a prediction holds between loading and writing. */
typedef struct pctx {
    size_t nf;      /* frames (sampling times) */
    double *ft;     /* [nf] */
    double *ocount; /* [nf] observed particles */
    double *obs;    /* [nf * NQ_ALL] observed quantities */
    double *band;   /* [nf * 10 * 5] moments_ci.csv (NaN when absent) */
    size_t npc;     /* pieces */
    size_t *pbeg;   /* [nf] frame interval j: pieces pbeg[j] .. pbeg[j + 1] */
    double *pdt, *ps0, *ps1;
    size_t nk; /* schedule points written to run.yaml */
    double *kt, *ks;
    const char *sched_kind; /* how run.yaml's schedule points are to be read */
    const char *sched_src;
    size_t np;        /* particles per replica */
    double *acc;      /* [R * nf * 11] power sums per replica and frame */
    double *dis;      /* [R] dissolved before leaving the statistics */
    const char *mode; /* "in situ" / "ex situ" */
    /* master equation (o->me): me[f * ME_NV + q] = sum over the particles counted at frame f of
     * E[n^q; alive], q = 0..10; me[f * ME_NV + 11] = sum of Var(n 1{alive}) (in situ; 0 ex situ) */
    double *me;
    double me_dis;    /* expected particles dissolved before leaving the statistics */
    double me_wall_s; /* its wall time [s] */
    size_t me_neq;    /* master equations solved (one per distinct entry frame and size) */
} pctx;

#define ME_NV  12
#define RES_NV 7

static void pctx_free(pctx *c)
{
    free(c->ft);
    free(c->ocount);
    free(c->obs);
    free(c->band);
    free(c->pbeg);
    free(c->pdt);
    free(c->ps0);
    free(c->ps1);
    free(c->kt);
    free(c->ks);
    free(c->acc);
    free(c->dis);
    free(c->me);
}

/* The master-equation prediction (o->me): particle p (of np) enters with size n0[p] at its first
 * frame fr[beg[p]] and is counted at the frames fr[beg[p]] .. fr[beg[p + 1] - 1] (increasing),
 * with weight wp[p] * wf[frame] (NULL: 1). A particle's P(n, t) depends only on its entry (frame,
 * size), so one master equation (o->me) serves all the particles with the same entry, with
 * outputs at every frame from the entry to the last frame any of them is counted at. The
 * equations run in parallel; their sums are added in a fixed order (thread-independent).
 * var_term: also sum Var(n 1{alive}) per frame (independent particles: E[s_1^2] =
 * E[s_1]^2 + that sum). */
typedef struct me_key {
    size_t f0, p; /* entry frame, particle */
    uint32_t n0;
} me_key;

static int me_key_cmp(const void *a, const void *b)
{
    const me_key *x = a, *y = b;
    if (x->f0 != y->f0)
        return x->f0 < y->f0 ? -1 : 1;
    if (x->n0 != y->n0)
        return x->n0 < y->n0 ? -1 : 1;
    return (x->p > y->p) - (x->p < y->p);
}

static int me_predict(const npg_config *cfg, const npg_predict_options *o, pctx *c, size_t np,
                      const uint32_t *n0, const size_t *beg, const size_t *fr, const double *wp,
                      const double *wf, int var_term, char *err, size_t errlen)
{
    me_key *key = malloc((np ? np : 1) * sizeof *key);
    size_t *solve = malloc((np ? np : 1) * sizeof *solve); /* particle -> its equation */
    size_t *sf = malloc((np ? np : 1) * 2 * sizeof *sf);   /* equation: first, last frame */
    size_t *sbeg = malloc((np ? np : 1) * sizeof *sbeg + sizeof *sbeg); /* outputs of each */
    uint32_t *sn = malloc((np ? np : 1) * sizeof *sn);
    c->me = calloc(c->nf * ME_NV, sizeof *c->me);
    double *out = NULL;
    int rc = 0;
    if (!key || !solve || !sf || !sbeg || !sn || !c->me)
        goto oom;
    for (size_t p = 0; p < np; ++p)
        key[p] = (me_key){fr[beg[p]], p, n0[p]};
    qsort(key, np, sizeof *key, me_key_cmp);
    size_t ns = 0;
    for (size_t k = 0; k < np; ++k) {
        const size_t p = key[k].p, last = fr[beg[p + 1] - 1];
        if (!ns || key[k].f0 != sf[2 * (ns - 1)] || key[k].n0 != sn[ns - 1]) {
            sf[2 * ns] = key[k].f0;
            sf[2 * ns + 1] = last;
            sn[ns++] = key[k].n0;
        } else if (last > sf[2 * (ns - 1) + 1]) {
            sf[2 * (ns - 1) + 1] = last;
        }
        solve[p] = ns - 1;
    }
    sbeg[0] = 0;
    for (size_t e = 0; e < ns; ++e)
        sbeg[e + 1] = sbeg[e] + (sf[2 * e + 1] - sf[2 * e] + 1);
    if (!(out = malloc((sbeg[ns] ? sbeg[ns] : 1) * ME_NV * sizeof *out)))
        goto oom;
    const int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    const double w0 = omp_get_wtime();
    size_t bad = ns; /* the first equation that failed */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t e = 0; e < ns; ++e) {
        if (npg_stop_requested())
            continue;
        char m[512] = "";
        const size_t f0 = sf[2 * e];
        int r = o->me(cfg, c->kt, c->ks, c->nk, c->ft[f0], sn[e], &c->ft[f0], sbeg[e + 1] - sbeg[e],
                      &out[sbeg[e] * ME_NV], m, sizeof m);
        if (r) {
#pragma omp critical(npg_predict_me_err)
            if (e < bad) {
                bad = e;
                rc = r;
                snprintf(err, errlen,
                         "master equation of a particle entering at t = %g, n = %u: %s", c->ft[f0],
                         sn[e], m);
            }
        }
    }
    c->me_wall_s = omp_get_wtime() - w0;
    c->me_neq = ns;
    if (bad < ns)
        goto done;
    c->me_dis = 0.0;
    for (size_t p = 0; p < np; ++p) {
        const double w = wp ? wp[p] : 1.0;
        const size_t e = solve[p];
        const double *oe = &out[(sbeg[e] - sf[2 * e]) * ME_NV]; /* oe[f * ME_NV]: frame f */
        for (size_t i = beg[p]; i < beg[p + 1]; ++i) {
            const double *v = &oe[fr[i] * ME_NV];
            const double wi = w * (wf ? wf[fr[i]] : 1.0);
            double *m = &c->me[fr[i] * ME_NV];
            for (int q = 0; q <= 10; ++q)
                m[q] += wi * v[q];
            if (var_term)
                m[11] += wi * (v[2] - v[1] * v[1]);
        }
        c->me_dis += w * oe[fr[beg[p + 1] - 1] * ME_NV + 11];
    }
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = NPG_EXIT_FAIL;
done:
    free(key);
    free(solve);
    free(sf);
    free(sbeg);
    free(sn);
    free(out);
    return rc;
}

/* The 18 quantities of the master equation at one frame from its sums m[0..11]: mean
 * E[s_1]/E[s_0], var E[s_2]/E[s_0] - (E[s_1]^2 + sum Var(n 1{alive}))/E[s_0]^2 = E[s_2]/E[s_0] -
 * E[s_1^2]/E[s_0]^2, m_q = E[s_q]/E[s_0], m_qn = m_q / mean^q (s_q: a replica's power sums). */
static void me_quantities(const double *m, double *q)
{
    quantities(m, q);
    if (m[0] > 0)
        q[1] = fmax(m[2] / m[0] - (m[1] * m[1] + m[11]) / (m[0] * m[0]), 0.0);
}

/* Pieces of every frame interval, split at the knots inside (S linear in each). */
static int pieces_from_knots(pctx *c)
{
    size_t cap = (c->nf - 1) + c->nk + 1, npc = 0;
    c->pbeg = malloc(c->nf * sizeof *c->pbeg);
    c->pdt = malloc(cap * sizeof *c->pdt);
    c->ps0 = malloc(cap * sizeof *c->ps0);
    c->ps1 = malloc(cap * sizeof *c->ps1);
    if (!c->pbeg || !c->pdt || !c->ps0 || !c->ps1)
        return -1;
    size_t k = 0;
    const double *ft = c->ft, *kt = c->kt;
    for (size_t j = 0; j + 1 < c->nf; ++j) {
        c->pbeg[j] = npc;
        double a = ft[j];
        while (k < c->nk && kt[k] <= a)
            ++k;
        for (;;) {
            double b = (k < c->nk && kt[k] < ft[j + 1]) ? kt[k] : ft[j + 1];
            c->pdt[npc] = b - a;
            c->ps0[npc] = sched_at(kt, c->ks, c->nk, a);
            c->ps1[npc] = sched_at(kt, c->ks, c->nk, b);
            ++npc;
            a = b;
            if (b == ft[j + 1])
                break;
            ++k;
        }
    }
    c->pbeg[c->nf - 1] = npc;
    c->npc = npc;
    return 0;
}

/* --schedule FILE: its (t, S) points. */
static int load_schedule(const char *file, const char *cunit, const char *csrc, pctx *c, char *err,
                         size_t errlen)
{
    npg_config s;
    if (npg_config_load(file, &s, err, errlen)) {
        npg_config_free(&s);
        return NPG_EXIT_USAGE;
    }
    int rc = NPG_EXIT_USAGE;
    const char *su = s.time_unit[0] ? s.time_unit : "s";
    if (s.supply != NPG_SUPPLY_SCHEDULE)
        snprintf(err, errlen, "%s: --schedule needs a config with supply {mode: schedule}", file);
    else if (strcmp(su, cunit))
        snprintf(err, errlen, "%s: time_unit %s, but the config %s has time_unit %s", file, su,
                 csrc, cunit);
    else {
        c->nk = s.schedule_len;
        c->kt = malloc(c->nk * sizeof *c->kt);
        c->ks = malloc(c->nk * sizeof *c->ks);
        if (!c->kt || !c->ks) {
            snprintf(err, errlen, "out of memory");
            rc = NPG_EXIT_FAIL;
        } else {
            memcpy(c->kt, s.schedule_t, c->nk * sizeof *c->kt);
            memcpy(c->ks, s.schedule_s, c->nk * sizeof *c->ks);
            c->sched_kind = "piecewise linear, constant beyond the ends";
            c->sched_src = file;
            rc = 0;
        }
    }
    npg_config_free(&s);
    return rc;
}

/* ---- in situ: trajectories.csv -------------------------------------------------------------- */

static int run_insitu(const char *data_dir, const npg_config *cfg, const npg_predict_options *o,
                      const npg_rates *rates, pctx *c, char *err, size_t errlen)
{
    char tpath[1200];
    snprintf(tpath, sizeof tpath, "%s/trajectories.csv", data_dir);
    npg_traj_row *rows = NULL;
    size_t nrow = 0, *pstart = NULL;
    int rc = npg_traj_read(data_dir, &rows, &nrow, err, errlen);
    if (rc)
        return rc;
    rc = NPG_EXIT_USAGE;
    const uint32_t R = o->replicas;
    double *ft = c->ft = malloc((nrow ? nrow : 1) * sizeof *ft);
    if (!ft)
        goto oom;
    for (size_t i = 0; i < nrow; ++i)
        ft[i] = rows[i].t;
    qsort(ft, nrow, sizeof *ft, dbl_cmp);
    size_t nf = 0;
    for (size_t i = 0; i < nrow; ++i)
        if (!nf || ft[i] != ft[nf - 1])
            ft[nf++] = ft[i];
    c->nf = nf;
    if (nf < 2) {
        snprintf(err, errlen, "%s: %zu distinct times: need at least two frames", tpath, nf);
        goto done;
    }
    for (size_t i = 0; i < nrow; ++i) {
        double *hit = bsearch(&rows[i].t, ft, nf, sizeof *ft, dbl_cmp);
        rows[i].frame = (size_t)(hit - ft);
    }
    qsort(rows, nrow, sizeof *rows, row_cmp);
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
    c->np = np;
    if ((uint64_t)R * np > UINT32_MAX) {
        snprintf(err, errlen, "%u replicas x %zu particles exceed 2^32 particle ids", R, np);
        goto done;
    }
    /* the schedule: given, or inferred from the same trajectories */
    if (o->schedule) {
        if ((rc = load_schedule(o->schedule, cfg->time_unit[0] ? cfg->time_unit : "s", cfg->source,
                                c, err, errlen)))
            goto done;
        rc = NPG_EXIT_USAGE;
    } else {
        npg_infer_options io;
        npg_infer_options_default(&io);
        io.bootstrap = 0;
        io.quiet = 1;
        npg_infer_result ir;
        rc = npg_infer_run(data_dir, cfg, &io, &ir, err, errlen);
        if (!rc) {
            c->nk = ir.nk;
            c->kt = malloc(c->nk * sizeof *c->kt);
            c->ks = malloc(c->nk * sizeof *c->ks);
            if (c->kt && c->ks) {
                memcpy(c->kt, ir.t, c->nk * sizeof *c->kt);
                memcpy(c->ks, ir.s, c->nk * sizeof *c->ks);
            }
        }
        npg_infer_free(&ir);
        if (rc)
            goto done;
        rc = NPG_EXIT_USAGE;
        if (!c->kt || !c->ks)
            goto oom;
        c->sched_kind = "piecewise linear, constant beyond the ends";
        c->sched_src = "inferred (npgrow infer's defaults, no bootstrap)";
    }
    if (pieces_from_knots(c))
        goto oom;
    /* observed */
    c->obs = malloc(nf * NQ_ALL * sizeof *c->obs);
    c->ocount = malloc(nf * sizeof *c->ocount);
    double *s = calloc(nf * 11, sizeof *s);
    if (!c->obs || !c->ocount || !s) {
        free(s);
        goto oom;
    }
    for (size_t i = 0; i < nrow; ++i)
        add_powers(&s[rows[i].frame * 11], rows[i].n);
    for (size_t f = 0; f < nf; ++f) {
        quantities(&s[f * 11], &c->obs[f * NQ_ALL]);
        c->ocount[f] = s[f * 11];
    }
    free(s);
    /* simulate: acc[(r * nf + f) * 11 + q] */
    c->acc = calloc((size_t)R * nf * 11, sizeof *c->acc);
    c->dis = calloc(R, sizeof *c->dis);
    if (!c->acc || !c->dis)
        goto oom;
    const int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    if (!o->quiet)
        fprintf(stderr,
                "npgrow predict: in situ, %zu particles, %zu frames, %zu pieces, %u replicas, "
                "%d threads\n",
                np, nf, c->npc, R, threads);
    const size_t *pbeg = c->pbeg;
    const double *pdt = c->pdt, *ps0 = c->ps0, *ps1 = c->ps1;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (uint32_t r = 0; r < R; ++r) {
        if (npg_stop_requested())
            continue;
        double *a = &c->acc[(size_t)r * nf * 11];
        for (size_t p = 0; p < np; ++p) {
            const npg_traj_row *pr = &rows[pstart[p]];
            const size_t cnt = pstart[p + 1] - pstart[p];
            const uint32_t id = (uint32_t)((uint64_t)r * np + p);
            uint32_t n = pr[0].n < 2.0 ? 2u : (uint32_t)lround(fmin(pr[0].n, 4.0e9));
            size_t f = pr[0].frame;
            add_powers(&a[f * 11], (double)n);
            for (size_t k = 1; k < cnt && n >= 2u; ++k) {
                for (; f < pr[k].frame; ++f)
                    for (size_t q = pbeg[f]; q < pbeg[f + 1] && n >= 2u; ++q) {
                        npg_interval iv = {pdt[q], ps0[q], ps1[q], (uint64_t)q, o->seed};
                        uint32_t ev;
                        n = npg_particle_advance(n, id, &iv, rates, &ev);
                    }
                if (n >= 2u)
                    add_powers(&a[f * 11], (double)n);
                else
                    c->dis[r] += 1.0;
            }
        }
    }
    c->mode = "in situ";
    rc = 0;
    if (o->me && !npg_stop_requested()) {
        /* each particle from its entry, counted at its observed frames (as in the replicas) */
        uint32_t *n0 = malloc(np * sizeof *n0);
        size_t *fr = malloc(nrow * sizeof *fr);
        if (!n0 || !fr) {
            free(n0);
            free(fr);
            goto oom;
        }
        for (size_t p = 0; p < np; ++p) {
            const npg_traj_row *pr = &rows[pstart[p]];
            n0[p] = pr->n < 2.0 ? 2u : (uint32_t)lround(fmin(pr->n, 4.0e9));
        }
        for (size_t i = 0; i < nrow; ++i)
            fr[i] = rows[i].frame;
        rc = me_predict(cfg, o, c, np, n0, pstart, fr, NULL, NULL, 1, err, errlen);
        free(n0);
        free(fr);
    }
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = NPG_EXIT_FAIL;
done:
    free(rows);
    free(pstart);
    return rc;
}

/* ---- ex situ: the samples of each time (run.yaml's sources, read again) ---------------------- */

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

#define MAX_SOURCES 16

/* run.yaml of `npgrow data import radii`: the source files, sigma_s and the outlier rule. */
static int read_radii_meta(const char *dir, char src[][1024], int *nsrc, double *sigma,
                           int *outliers, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    yaml_mark_t where;
    const char *what;
    if (npg_yaml_prescan(f, &where, &what)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, where.line + 1, where.column + 1, what);
        fclose(f);
        return NPG_EXIT_USAGE;
    }
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "YAML error");
        yaml_parser_delete(&p);
        fclose(f);
        return NPG_EXIT_USAGE;
    }
    int rc = NPG_EXIT_USAGE;
    yaml_node_t *root = yaml_document_get_root_node(&d);
    const char *fmt = scalar(npg_yaml_map_get(&d, root, "format"));
    const char *sg =
        scalar(npg_yaml_map_get(&d, npg_yaml_map_get(&d, root, "system"), "sigma_s_nm"));
    const char *ol =
        scalar(npg_yaml_map_get(&d, npg_yaml_map_get(&d, root, "conversion"), "outliers"));
    yaml_node_t *srcs = npg_yaml_map_get(&d, root, "sources");
    char *end = NULL;
    *nsrc = 0;
    if (!fmt || strcmp(fmt, "radii"))
        snprintf(err, errlen,
                 "%s: no trajectories.csv and not an ex-situ import (format: radii): predict "
                 "needs `npgrow data import` output",
                 dir);
    else if (!sg || (*sigma = strtod(sg, &end), end == sg || *end || !(*sigma > 0)))
        snprintf(err, errlen, "%s: system: sigma_s_nm missing or not a positive number", path);
    else if (!srcs || srcs->type != YAML_SEQUENCE_NODE)
        snprintf(err, errlen, "%s: sources: missing or not a list", path);
    else {
        rc = 0;
        *outliers = ol && strstr(ol, "removed") != NULL;
        for (yaml_node_item_t *it = srcs->data.sequence.items.start;
             it < srcs->data.sequence.items.top && !rc; ++it) {
            const char *v = scalar(yaml_document_get_node(&d, *it));
            if (!v || *nsrc == MAX_SOURCES) {
                snprintf(err, errlen, "%s: sources: expected up to %d file names", path,
                         MAX_SOURCES);
                rc = NPG_EXIT_USAGE;
            } else
                snprintf(src[(*nsrc)++], 1024, "%s", v);
        }
    }
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

static int run_exsitu(const char *data_dir, const npg_config *cfg, const npg_predict_options *o,
                      const npg_rates *rates, pctx *c, char *err, size_t errlen)
{
    static char src[MAX_SOURCES][1024];
    int nsrc = 0, outliers = 0;
    double sigma = 0;
    int rc = read_radii_meta(data_dir, src, &nsrc, &sigma, &outliers, err, errlen);
    if (rc)
        return rc;
    const char *files[MAX_SOURCES];
    for (int i = 0; i < nsrc; ++i)
        files[i] = src[i];
    npg_data_set d;
    memset(&d, 0, sizeof d);
    double *n0 = NULL;
    size_t *mt = NULL;
    if ((rc = npg_data_read_radii(files, nsrc, sigma, outliers, &d, err, errlen)))
        goto done;
    rc = NPG_EXIT_USAGE;
    const size_t nf = c->nf = d.nt;
    const uint32_t R = o->replicas;
    if (nf < 2) {
        snprintf(err, errlen, "%s: %zu sampling times: need at least two", data_dir, nf);
        goto done;
    }
    c->ft = malloc(nf * sizeof *c->ft);
    c->obs = malloc(nf * NQ_ALL * sizeof *c->obs);
    c->ocount = malloc(nf * sizeof *c->ocount);
    double *s = calloc(nf * 11, sizeof *s), *as = calloc(nf * 2, sizeof *as);
    mt = calloc(nf, sizeof *mt);
    n0 = malloc((d.np ? d.np : 1) * sizeof *n0);
    if (!c->ft || !c->obs || !c->ocount || !s || !as || !mt || !n0) {
        free(s);
        free(as);
        goto oom;
    }
    memcpy(c->ft, d.t, nf * sizeof *c->ft);
    size_t m0 = 0;
    for (size_t p = 0; p < d.np; ++p)
        for (size_t k = 0; k < nf; ++k) {
            double n = d.n[p * nf + k];
            if (isnan(n))
                continue;
            add_powers(&s[k * 11], n);
            as[2 * k] += npg_model_assoc(&cfg->model, n);
            as[2 * k + 1] += npg_model_dissoc(&cfg->model, n);
            ++mt[k];
            if (k == 0)
                n0[m0++] = n;
        }
    for (size_t k = 0; k < nf; ++k) {
        quantities(&s[k * 11], &c->obs[k * NQ_ALL]);
        c->ocount[k] = s[k * 11];
    }
    c->np = m0;
    if (!m0 || (uint64_t)R * m0 > UINT32_MAX) {
        snprintf(err, errlen, "%s: %zu samples at the first time (need 1 .. 2^32 / replicas)",
                 data_dir, m0);
        free(s);
        free(as);
        goto done;
    }
    if (o->schedule) {
        if ((rc = load_schedule(o->schedule, cfg->time_unit[0] ? cfg->time_unit : "s", cfg->source,
                                c, err, errlen))) {
            free(s);
            free(as);
            goto done;
        }
        rc = NPG_EXIT_USAGE;
        if (pieces_from_knots(c)) {
            free(s);
            free(as);
            goto oom;
        }
    } else {
        /* One constant S, least squares on the integrated mean identity over the population,
         * <n>(t_J) - <n>(t_0) = S int_{t_0}^{t_J} <A_n> dt - int_{t_0}^{t_J} <k^d_n> dt, one row
         * per time J (averages over each time's sample, trapezoid integrals), S >= 0. Per
         * interval the sample means jump (independent aliquots), so S per interval is noise. */
        double sxy = 0, sxx = 0, ia = 0, ik = 0;
        for (size_t j = 0; j + 1 < nf; ++j) {
            double dt = d.t[j + 1] - d.t[j];
            ia += 0.5 * dt * (as[2 * j] / mt[j] + as[2 * j + 2] / mt[j + 1]);
            ik += 0.5 * dt * (as[2 * j + 1] / mt[j] + as[2 * j + 3] / mt[j + 1]);
            double y = c->obs[(j + 1) * NQ_ALL] - c->obs[0] + ik;
            sxy += ia * y;
            sxx += ia * ia;
        }
        const double s1 = sxx > 0 ? fmax(0.0, sxy / sxx) : 0.0;
        c->nk = 2;
        c->kt = malloc(2 * sizeof *c->kt);
        c->ks = malloc(2 * sizeof *c->ks);
        if (!c->kt || !c->ks) {
            free(s);
            free(as);
            goto oom;
        }
        c->kt[0] = d.t[0];
        c->kt[1] = d.t[nf - 1];
        c->ks[0] = c->ks[1] = s1;
        if (pieces_from_knots(c)) {
            free(s);
            free(as);
            goto oom;
        }
        c->sched_kind = "constant (least squares on the integrated mean identity)";
        c->sched_src = "inferred from the sample means (one constant S)";
    }
    free(s);
    free(as);
    /* simulate, two levels of sampling: replica r draws a population of m0 particles with
     * replacement from the first sample (the first sample's own error, as a bootstrap) and
     * evolves it; at each time k it draws m_k of them with replacement (the sample at t_k is
     * another aliquot: its own error); dissolved ones drawn are not counted. */
    c->acc = calloc((size_t)R * nf * 11, sizeof *c->acc);
    c->dis = calloc(R, sizeof *c->dis);
    if (!c->acc || !c->dis)
        goto oom;
    const int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    if (!o->quiet)
        fprintf(stderr,
                "npgrow predict: ex situ, %zu samples at t = %g resampled, %zu times, %zu pieces, "
                "%u replicas, %d threads\n",
                m0, d.t[0], nf, c->npc, R, threads);
    const size_t *pbeg = c->pbeg;
    const double *pdt = c->pdt, *ps0 = c->ps0, *ps1 = c->ps1;
    int oom_flag = 0;
#pragma omp parallel num_threads(threads)
    {
        uint32_t *pop = malloc(m0 * nf * sizeof *pop); /* pop[i * nf + k]: size at time k */
        if (!pop) {
#pragma omp atomic write
            oom_flag = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (uint32_t r = 0; r < R; ++r) {
            if (!pop || npg_stop_requested())
                continue;
            double *a = &c->acc[(size_t)r * nf * 11];
            for (size_t i = 0; i < m0; ++i) {
                const uint32_t id = (uint32_t)((uint64_t)r * m0 + i);
                const npg_u32x4 w = npg_philox4x32_10(npg_philox_counter(0, 0, NPG_STREAM_SAMPLING),
                                                      npg_philox_key(o->seed, id));
                const size_t pick = (size_t)(((uint64_t)w.x * m0) >> 32);
                uint32_t n = (uint32_t)fmax(2.0, fmin(floor(n0[pick] + 0.5), 4.0e9));
                pop[i * nf] = n;
                for (size_t f = 0; f + 1 < nf; ++f) {
                    for (size_t q = pbeg[f]; q < pbeg[f + 1] && n >= 2u; ++q) {
                        npg_interval iv = {pdt[q], ps0[q], ps1[q], (uint64_t)q, o->seed};
                        uint32_t ev;
                        n = npg_particle_advance(n, id, &iv, rates, &ev);
                    }
                    pop[i * nf + f + 1] = n;
                }
                c->dis[r] += n < 2u;
            }
            /* the samples: key (seed, r), counter (draw j, step k + 1): never the draws above */
            const npg_u32x2 key = npg_philox_key(o->seed, r);
            for (size_t k = 0; k < nf; ++k)
                for (size_t j = 0; j < mt[k]; ++j) {
                    const npg_u32x4 w = npg_philox4x32_10(
                        npg_philox_counter((uint32_t)j, (uint64_t)k + 1, NPG_STREAM_SAMPLING), key);
                    const size_t i = (size_t)(((uint64_t)w.x * m0) >> 32);
                    if (pop[i * nf + k] >= 2u)
                        add_powers(&a[k * 11], (double)pop[i * nf + k]);
                }
        }
        free(pop);
    }
    if (oom_flag)
        goto oom;
    c->mode = "ex situ";
    rc = 0;
    if (o->me && !npg_stop_requested()) {
        /* the first sample's distinct sizes, each with its multiplicity, counted at every time
         * with weight m_k / m_0 (the expected draws of time k per particle of the population) */
        double *sz = malloc(m0 * sizeof *sz), *wp = malloc(m0 * sizeof *wp);
        double *wf = malloc(nf * sizeof *wf);
        uint32_t *u0 = malloc(m0 * sizeof *u0);
        size_t *beg = malloc((m0 + 1) * sizeof *beg), *fr = malloc(m0 * nf * sizeof *fr);
        if (!sz || !wp || !wf || !u0 || !beg || !fr) {
            free(sz), free(wp), free(wf), free(u0), free(beg), free(fr);
            goto oom;
        }
        for (size_t i = 0; i < m0; ++i)
            sz[i] = fmax(2.0, fmin(floor(n0[i] + 0.5), 4.0e9));
        qsort(sz, m0, sizeof *sz, dbl_cmp);
        size_t nu = 0;
        for (size_t i = 0; i < m0; ++i) {
            if (nu && (double)u0[nu - 1] == sz[i]) {
                wp[nu - 1] += 1.0;
                continue;
            }
            u0[nu] = (uint32_t)sz[i];
            wp[nu] = 1.0;
            ++nu;
        }
        for (size_t p = 0; p <= nu; ++p)
            beg[p] = p * nf;
        for (size_t i = 0; i < nu * nf; ++i)
            fr[i] = i % nf;
        for (size_t k = 0; k < nf; ++k)
            wf[k] = (double)mt[k] / (double)m0;
        rc = me_predict(cfg, o, c, nu, u0, beg, fr, wp, wf, 0, err, errlen);
        free(sz), free(wp), free(wf), free(u0), free(beg), free(fr);
    }
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = NPG_EXIT_FAIL;
done:
    free(n0);
    free(mt);
    npg_data_free(&d);
    return rc;
}

/* ---- percentiles and the files -------------------------------------------------------------- */

static int write_outputs(const pctx *c, const char *data_dir, const npg_config *cfg,
                         const npg_predict_options *o, const char *unit, const char *argv_line,
                         const char *dir, char *err, size_t errlen)
{
    const size_t nf = c->nf;
    const uint32_t R = o->replicas;
    const double *ft = c->ft, *obs = c->obs, *ocount = c->ocount, *band = c->band;
    double *vals = malloc((size_t)R * sizeof *vals);
    /* per frame and quantity: mean, lo95, lo68, hi68, hi95, alive, sd across replicas */
    double *res = malloc(nf * NQ_ALL * RES_NV * sizeof *res);
    double *meq = malloc(nf * NQ_ALL * sizeof *meq); /* master equation (NaN: none) */
    if (!vals || !res || !meq) {
        free(vals);
        free(res);
        free(meq);
        snprintf(err, errlen, "out of memory");
        return NPG_EXIT_FAIL;
    }
    for (size_t f = 0; f < nf; ++f) {
        if (c->me)
            me_quantities(&c->me[f * ME_NV], &meq[f * NQ_ALL]);
        else
            for (int k = 0; k < NQ_ALL; ++k)
                meq[f * NQ_ALL + (size_t)k] = NAN;
    }
    for (size_t f = 0; f < nf; ++f) {
        double alive = 0;
        for (uint32_t r = 0; r < R; ++r)
            alive += c->acc[((size_t)r * nf + f) * 11];
        for (int k = 0; k < NQ_ALL; ++k) {
            size_t m = 0;
            double q[NQ_ALL];
            for (uint32_t r = 0; r < R; ++r) {
                quantities(&c->acc[((size_t)r * nf + f) * 11], q);
                if (isfinite(q[k]))
                    vals[m++] = q[k];
            }
            double *o6 = &res[(f * NQ_ALL + (size_t)k) * RES_NV];
            o6[5] = alive / R;
            if (!m) {
                o6[0] = o6[1] = o6[2] = o6[3] = o6[4] = o6[6] = NAN;
                continue;
            }
            gsl_sort(vals, 1, m);
            o6[0] = gsl_stats_mean(vals, 1, m);
            o6[6] = m > 1 ? gsl_stats_sd_m(vals, 1, m, o6[0]) : NAN;
            o6[1] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.025);
            o6[2] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.16);
            o6[3] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.84);
            o6[4] = gsl_stats_quantile_from_sorted_data(vals, 1, m, 0.975);
        }
    }
    free(vals);
    double dissolved = 0;
    for (uint32_t r = 0; r < R; ++r)
        dissolved += c->dis[r];
    dissolved /= R;

    int werr = 0;
    char path[3200];
    snprintf(path, sizeof path, "%s/prediction.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        goto fail;
    fputs("t,quantity,particles,pred_particles,pred_mean,pred_lo95,pred_lo68,pred_hi68,pred_hi95,"
          "obs,obs_lo95,obs_lo68,obs_hi68,obs_hi95,inside95,pred_sd,me_particles,me,"
          "me_in_obs95\n",
          f);
    for (size_t fr = 0; fr < nf; ++fr)
        for (int k = 0; k < NQ_ALL; ++k) {
            const double *o6 = &res[(fr * NQ_ALL + (size_t)k) * RES_NV];
            const double ob = obs[fr * NQ_ALL + (size_t)k];
            const double mv = meq[fr * NQ_ALL + (size_t)k];
            const double *b = k < 10 ? &band[(fr * 10 + (size_t)k) * 5] : NULL;
            fprintf(f, "%.10g,%s,%.0f", ft[fr], k_qname[k], ocount[fr]);
            put(f, o6[5]);
            for (int j = 0; j < 5; ++j)
                put(f, o6[j]);
            put(f, ob);
            for (int j = 1; j < 5; ++j)
                put(f, b ? b[j] : NAN);
            fprintf(f, ",%d", isfinite(o6[1]) && ob >= o6[1] && ob <= o6[4]);
            put(f, o6[6]);
            put(f, c->me ? c->me[fr * ME_NV] : NAN);
            put(f, mv);
            if (b && isfinite(b[1]) && isfinite(b[4]) && isfinite(mv))
                fprintf(f, ",%d\n", mv >= b[1] && mv <= b[4]);
            else
                fputs(",\n", f);
        }
    werr |= ferror(f);
    werr |= fclose(f);

    /* summary: mean_n, var_n, m3n..m10n */
    static const int sq[] = {0, 1, 10, 11, 12, 13, 14, 15, 16, 17};
    const size_t nsq = sizeof sq / sizeof sq[0];
    size_t tf[3];
    const double frac[3] = {0.25, 0.5, 1.0};
    for (int j = 0; j < 3; ++j) {
        double target = ft[0] + frac[j] * (ft[nf - 1] - ft[0]);
        size_t best = 0;
        for (size_t fr = 0; fr < nf; ++fr)
            if (fabs(ft[fr] - target) < fabs(ft[best] - target))
                best = fr;
        tf[j] = best;
    }
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (!(f = fopen(path, "w")))
        goto fail;
    fprintf(f, "quantity,frames,inside95,fraction_inside95,t1,ratio1,t2,ratio2,t3,ratio3\n");
    if (!o->quiet)
        printf("npgrow predict: %s (%s), %zu particles, %u replicas, S(t) %s; %.4g simulated "
               "particles per replica dissolved before leaving the statistics\n"
               "  %-7s %7s %9s   pred/obs at t = %.4g, %.4g, %.4g %s\n",
               data_dir, c->mode, c->np, R, c->sched_src, dissolved, "", "frames", "in 95 %",
               ft[tf[0]], ft[tf[1]], ft[tf[2]], unit);
    for (size_t j = 0; j < nsq; ++j) {
        const int k = sq[j];
        size_t frames = 0, inside = 0;
        for (size_t fr = 0; fr < nf; ++fr) {
            const double *o6 = &res[(fr * NQ_ALL + (size_t)k) * RES_NV];
            const double ob = obs[fr * NQ_ALL + (size_t)k];
            if (ocount[fr] < SUMMARY_MIN_PARTICLES || !isfinite(o6[1]) || !isfinite(ob))
                continue;
            ++frames;
            inside += ob >= o6[1] && ob <= o6[4];
        }
        double ratio[3];
        for (int i = 0; i < 3; ++i)
            ratio[i] = res[(tf[i] * NQ_ALL + (size_t)k) * RES_NV] / obs[tf[i] * NQ_ALL + (size_t)k];
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
    /* the master equation: its value inside the data's 95 % band (moments_ci.csv: mean_n, var_n,
     * m3..m10; the normalized m_qn have no band there), and ME / observed */
    if (c->me && !o->quiet)
        printf("  master equation (deterministic, same S(t)); %.4g particles dissolved before "
               "leaving the statistics\n  %-10s %4s %9s   ME/obs at the same times\n",
               c->me_dis, "", "frames", "in data 95 %");
    for (size_t j = 0; c->me && j < nsq; ++j) {
        const int k = sq[j];
        size_t frames = 0, inside = 0, banded = 0;
        for (size_t fr = 0; fr < nf; ++fr) {
            const double mv = meq[fr * NQ_ALL + (size_t)k];
            const double ob = obs[fr * NQ_ALL + (size_t)k];
            if (ocount[fr] < SUMMARY_MIN_PARTICLES || !isfinite(mv) || !isfinite(ob))
                continue;
            ++frames;
            const double *b = k < 10 ? &band[(fr * 10 + (size_t)k) * 5] : NULL;
            if (b && isfinite(b[1]) && isfinite(b[4])) {
                ++banded;
                inside += mv >= b[1] && mv <= b[4];
            }
        }
        double ratio[3];
        for (int i = 0; i < 3; ++i)
            ratio[i] = meq[tf[i] * NQ_ALL + (size_t)k] / obs[tf[i] * NQ_ALL + (size_t)k];
        const double fracin = banded ? (double)inside / (double)banded : NAN;
        fprintf(f, "me_%s,%zu,", k_qname[k], frames);
        if (banded)
            fprintf(f, "%zu", inside);
        put(f, fracin);
        for (int i = 0; i < 3; ++i) {
            put(f, ft[tf[i]]);
            put(f, ratio[i]);
        }
        fputc('\n', f);
        if (!o->quiet) {
            char in[32] = "-";
            if (banded)
                snprintf(in, sizeof in, "%.1f%%", 100.0 * fracin);
            printf("  me_%-7s %7zu %9s   %8.3f %8.3f %8.3f\n", k_qname[k], frames, in, ratio[0],
                   ratio[1], ratio[2]);
        }
    }
    werr |= ferror(f);
    werr |= fclose(f);

    snprintf(path, sizeof path, "%s/run.yaml", dir);
    if (!(f = fopen(path, "w")))
        goto fail;
    fprintf(f, "# npgrow predict %s\n", argv_line ? argv_line : "");
    fprintf(f, "producer: predict\nkind: prediction\ntime_unit: %s\nstatus: complete\n", unit);
    fprintf(f, "mode: %s\ndata_dir: \"%s\"\nconfig: \"%s\"\nreplicas: %u\nseed: %u\n", c->mode,
            data_dir, cfg->source, R, (unsigned)o->seed);
    fprintf(f, "particles: %zu\nframes: %zu\nsummary_min_particles: %d\n", c->np, nf,
            SUMMARY_MIN_PARTICLES);
    fprintf(f,
            "dissolved_per_replica: %.6g  # simulated particles that dissolved before leaving "
            "the statistics\n",
            dissolved);
    if (c->me)
        fprintf(f,
                "master_equation:\n  dissolved: %.6g  # expected particles dissolved before "
                "leaving the statistics\n  equations: %zu  # one per distinct entry (frame, "
                "size)\n  wall_s: %.3g\n",
                c->me_dis, c->me_neq, c->me_wall_s);
    fprintf(f, "schedule_source: \"%s\"\nschedule_kind: \"%s\"\nschedule:  # [t, S]\n",
            c->sched_src, c->sched_kind);
    for (size_t k = 0; k < c->nk; ++k)
        fprintf(f, "  - [%.10g, %.10g]\n", c->kt[k], c->ks[k]);
    werr |= ferror(f);
    werr |= fclose(f);
    free(res);
    free(meq);
    if (werr) {
        snprintf(err, errlen, "%s: write error", dir);
        return NPG_EXIT_FAIL;
    }
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(res);
    free(meq);
    return NPG_EXIT_FAIL;
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
    const int in_situ = stat(tpath, &sb) == 0;

    npg_rate_pair *table = malloc(NPG_RATES_DEFAULT_N_TABLE * sizeof *table);
    if (!table) {
        snprintf(err, errlen, "out of memory");
        return NPG_EXIT_FAIL;
    }
    npg_rates_fill(table, NPG_RATES_DEFAULT_N_TABLE, &cfg->model);
    const npg_rates rates = {cfg->model, table, NPG_RATES_DEFAULT_N_TABLE};
    pctx c;
    memset(&c, 0, sizeof c);
    npg_outdir od;
    memset(&od, 0, sizeof od);
    /* the output directory is checked before the work starts */
    if ((rc = npg_outdir_open(&od, outdir, force, err, errlen)))
        goto done;
    rc = in_situ ? run_insitu(data_dir, cfg, o, &rates, &c, err, errlen)
                 : run_exsitu(data_dir, cfg, o, &rates, &c, err, errlen);
    if (rc)
        goto done;
    if (npg_stop_requested()) {
        rc = npg_stop_exit_code();
        snprintf(err, errlen, "interrupted: nothing written");
        goto done;
    }
    c.band = malloc(c.nf * 50 * sizeof *c.band);
    if (!c.band) {
        snprintf(err, errlen, "out of memory");
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < c.nf * 50; ++i)
        c.band[i] = NAN;
    read_ci(data_dir, c.ft, c.nf, c.band);
    if ((rc = write_outputs(&c, data_dir, cfg, o, unit, argv_line, od.tmp, err, errlen)))
        goto done;
    if (npg_outdir_commit_dir(&od, err, errlen))
        rc = NPG_EXIT_FAIL;
done:
    if (od.open && rc)
        npg_outdir_discard(&od);
    pctx_free(&c);
    free(table);
    return rc;
}
