/* engine.c: the particle ensemble: rate table, supply state and synchronization intervals.
 *
 * Between intervals the host owns the supply: S(t) from the schedule, or the free-monomer
 * balance of a closed volume (plus a precursor pool). Inside an interval every particle runs
 * its own exact SSA on the backend. Monomer bookkeeping is in integers:
 *     total = free + bound + precursor   (exact at every interval boundary)
 * Coalescence (host/coalesce) and entries from a source act on the host between intervals, on
 * the sizes the backend exposes (get_host/put_host): after each monomer interval [t, t1] the
 * well-mixed sampler re-bins the sizes and runs the exact merge process over the same [t, t1]
 * (Lie splitting; intervals are short enough that each particle expects at most
 * coalescence.epsilon merges in one), then the entries due by t1 take their dormant slots.
 * With supply.monomer_exchange false there is no splitting: merges and entries are exact in
 * continuous time. Merges keep bound monomers; entries add theirs to the total.
 * It deliberately writes no files: run.c does output.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/brownian.h"
#include "npgrow/engine.h"
#include "npgrow/philox.h"
#include "npgrow/observe.h"
#include "npgrow/status.h"

#include "util/util.h"

struct npg_ensemble {
    const npg_config *cfg;
    npg_backend be;
    npg_rate_pair *table; /* [n_table] host copy */
    npg_rates rates;
    double t;      /* [time unit] */
    uint64_t step; /* next synchronization-step index (Philox counter) */
    int closed;    /* closed or precursor supply */
    double vrho;   /* V rho_1inf: free monomers at S = 1 */
    int64_t total, bound, precursor;
    uint64_t alive, events, intervals, rejected;
    double dt_next;    /* closed: next interval length [time unit] */
    double dfree_rate; /* closed: free-monomer change rate of the last interval [1/time] */
    double s_integral; /* integral of S dt since the start [time unit] */
    double wall;       /* [s] spent in backend advance */
    /* coalescence and entries */
    int exchange;      /* monomer exchange on (supply.monomer_exchange) */
    npg_wm *wm;        /* well-mixed sampler, or NULL */
    npg_bd *bd;        /* Brownian dynamics (mode: brownian), or NULL */
    double min_dist;   /* brownian: entries no closer than this [nm] (r_c) */
    double coal_eps;   /* max expected merges per particle per interval */
    uint64_t capacity; /* slots: particles + entries */
    uint64_t merges, entered;
    double coal_wall; /* [s] */
    size_t n_entries, next_entry;
    double *entry_t;   /* [n_entries] non-decreasing [time unit] */
    uint32_t *entry_n; /* [n_entries] sizes [monomers] */
    npg_wm_event *res; /* reservoir of sampled merges */
    uint64_t res_cap, res_len;
    int res_sorted;
};

/* ---- Philox as a GSL generator, so GSL's binomial sampler draws from our counter streams --- */
typedef struct philox_gsl_state {
    npg_u32x2 key;
    uint64_t step;
    uint32_t draw;
    npg_u32x4 blk;
    int used;
} philox_gsl_state;

static void philox_gsl_set(void *vs, unsigned long seed)
{
    philox_gsl_state *s = vs;
    memset(s, 0, sizeof *s);
    s->key = npg_philox_key((uint32_t)seed, 0xffffffffu);
    s->used = 4;
}

static unsigned long philox_gsl_get(void *vs)
{
    philox_gsl_state *s = vs;
    if (s->used == 4) {
        s->blk =
            npg_philox4x32_10(npg_philox_counter(s->draw++, s->step, NPG_STREAM_SUPPLY), s->key);
        s->used = 0;
    }
    uint32_t w[4] = {s->blk.x, s->blk.y, s->blk.z, s->blk.w};
    return w[s->used++];
}

static double philox_gsl_get_double(void *vs)
{
    return npg_u01_closed0(philox_gsl_get(vs));
}

static const gsl_rng_type philox_gsl_type = {
    "npg_philox4x32_10", 0xffffffffUL,         0, sizeof(philox_gsl_state), philox_gsl_set,
    philox_gsl_get,      philox_gsl_get_double};

/* Precursor units converted in an interval of length dt starting at sync step `step`:
 * Binomial(P, 1 - exp(-k_p dt)), drawn from the (seed, supply) stream of that step. */
static int64_t precursor_draw(const npg_ensemble *e, double dt, uint64_t step)
{
    if (e->precursor <= 0 || e->cfg->k_p <= 0.0)
        return 0;
    gsl_rng *r = gsl_rng_alloc(&philox_gsl_type);
    if (!r)
        return -1;
    gsl_rng_set(r, e->cfg->seed);
    ((philox_gsl_state *)r->state)->step = step;
    double p = -expm1(-e->cfg->k_p * dt);
    int64_t x = 0, left = e->precursor;
    /* gsl_ran_binomial takes an unsigned int count: draw in chunks for larger pools. */
    while (left > 0) {
        unsigned int chunk = left > 2000000000 ? 2000000000u : (unsigned int)left;
        x += gsl_ran_binomial(r, p, chunk);
        left -= chunk;
    }
    gsl_rng_free(r);
    return x;
}

static double ensemble_S(const npg_ensemble *e, double t)
{
    if (!e->closed)
        return npg_config_schedule_s(e->cfg, t);
    int64_t free_m = e->total - e->bound - e->precursor;
    return (double)free_m / e->vrho;
}

void npg_reduction_free(npg_reduction *r)
{
    free(r->count_b);
    free(r->count);
    free(r->prev_count);
    free(r->sum_dn);
    memset(r, 0, sizeof *r);
}

int npg_ensemble_reduce(npg_ensemble *e, npg_reduction *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    uint32_t max_n = 0;
    if (e->be.max_n(&e->be, &max_n, err, errlen))
        return 1;
    if (max_n >= NPG_ENGINE_HIST_LIMIT) {
        snprintf(err, errlen,
                 "a particle holds %u monomers (merged: a gel?): the exact histograms stop at "
                 "%u sizes; use a smaller ensemble, a shorter t_end or a kernel that does not gel",
                 max_n, NPG_ENGINE_HIST_LIMIT);
        return 1;
    }
    r->len = (max_n < 2 ? 2 : max_n) + 1;
    r->count = calloc(r->len, sizeof *r->count);
    r->prev_count = calloc(r->len, sizeof *r->prev_count);
    r->sum_dn = calloc(r->len, sizeof *r->sum_dn);
    if (!r->count || !r->prev_count || !r->sum_dn) {
        npg_reduction_free(r);
        snprintf(err, errlen, "out of memory for a histogram of %u sizes", max_n + 1);
        return 1;
    }
    if (e->be.reduce(&e->be, r, err, errlen)) {
        npg_reduction_free(r);
        return 1;
    }
    if (e->wm || e->bd) {
        uint32_t *n;
        const uint64_t *gb = e->wm ? npg_wm_group_b(e->wm) : npg_bd_group_b(e->bd);
        r->count_b = calloc(r->len, sizeof *r->count_b);
        if (!r->count_b || e->be.get_host(&e->be, &n, err, errlen)) {
            if (!r->count_b)
                snprintf(err, errlen, "out of memory for the Group-B histogram");
            npg_reduction_free(r);
            return 1;
        }
        for (uint64_t id = 0; id < e->capacity; ++id)
            if (n[id] >= 2 && n[id] < r->len && (gb[id >> 6] >> (id & 63u) & 1u))
                r->count_b[n[id]] += 1;
    }
    return 0;
}

/* Net free-monomer consumption rate at the current state [monomers per time unit]:
 * sum over particles of S A_n - k^d_n, minus the precursor supply. Used to size the first
 * closed-mode interval; later intervals adapt from what they observed. */
static int closed_rate(npg_ensemble *e, double *rate, char *err, size_t errlen)
{
    npg_reduction r;
    if (npg_ensemble_reduce(e, &r, err, errlen))
        return 1;
    double S = ensemble_S(e, e->t), sum = 0.0;
    for (uint32_t n = 2; n < r.len; ++n)
        if (r.count[n]) {
            npg_rate_pair p = npg_rates_at(&e->rates, n);
            sum += (double)r.count[n] * (S * p.assoc + p.dissoc);
        }
    npg_reduction_free(&r);
    /* Gross event rate (not net) bounds the change from fluctuations too. */
    *rate = sum + e->cfg->k_p * (double)e->precursor;
    return 0;
}

/* The source's entries, all drawn at creation (they do not depend on the state): a Poisson
 * stream on [t_start, min(t_stop, t_end)) from the (seed, 0xfffffffd) entry stream, each size
 * from the source's size spec on its own slot's stream (npg_init_sample keyed by the slot id),
 * or the rows of entries_file up to t_end. */
static int draw_entries(npg_ensemble *e, char *err, size_t errlen)
{
    const npg_config *c = e->cfg;
    const npg_source_config *src = &c->src;
    if (src->kind == NPG_SOURCE_FILE) {
        size_t k = 0;
        while (k < src->entries_len && src->entries_t[k] <= c->t_end)
            ++k;
        e->n_entries = k;
        e->entry_t = malloc((k ? k : 1) * sizeof *e->entry_t);
        e->entry_n = malloc((k ? k : 1) * sizeof *e->entry_n);
        if (!e->entry_t || !e->entry_n)
            goto oom;
        for (size_t i = 0; i < k; ++i) {
            e->entry_t[i] = src->entries_t[i];
            e->entry_n[i] = src->entries_n[i];
        }
        return 0;
    }
    if (src->kind != NPG_SOURCE_POISSON)
        return 0;
    const double t1 = fmin(src->t_stop, c->t_end);
    const npg_u32x2 key = npg_philox_key(c->seed, 0xfffffffdu);
    size_t cap = 0, k = 0;
    double t = src->t_start;
    for (uint64_t draw = 0;; ++draw) {
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter(0, draw, NPG_STREAM_ENTRY), key);
        t += npg_exponential(b.x) / src->rate_per_time;
        if (!(t < t1))
            break;
        if (k == cap) {
            cap = cap ? 2 * cap : 1024;
            double *nt = realloc(e->entry_t, cap * sizeof *nt);
            if (!nt)
                goto oom;
            e->entry_t = nt;
        }
        e->entry_t[k++] = t;
        if ((uint64_t)k + c->particles > 0x100000000ull) {
            snprintf(err, errlen,
                     "source: more than 2^32 - %llu entries: particle ids are 32-bit (lower "
                     "source.rate_per_time or shorten [t_start, t_stop])",
                     (unsigned long long)c->particles);
            return NPG_EXIT_USAGE;
        }
    }
    e->n_entries = k;
    e->entry_n = malloc((k ? k : 1) * sizeof *e->entry_n);
    if (!e->entry_n)
        goto oom;
    npg_init_view v;
    double *cdf = NULL;
    int rc = npg_config_source_view(c, &v, &cdf, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < k; ++i)
        e->entry_n[i] = npg_init_sample(&v, c->seed, (uint32_t)(c->particles + i));
    free(cdf);
    return 0;
oom:
    snprintf(err, errlen, "out of memory for the source's entries");
    return 1;
}

/* Merge callback: count, and keep a uniform reservoir sample (Algorithm R with the draw for the
 * k-th merge from the (seed, 0xfffffffe) sampling stream at counter k). */
static int on_merge(void *ctx, const npg_wm_event *ev)
{
    npg_ensemble *e = ctx;
    uint64_t k = e->merges++;
    if (k < e->res_cap) {
        e->res[e->res_len++] = *ev;
    } else if (e->res_cap) {
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter(0, k, NPG_STREAM_SAMPLING),
                                        npg_philox_key(e->cfg->seed, 0xfffffffeu));
        uint64_t j = npg_uniform_index64(b.x, b.y, k + 1);
        if (j < e->res_cap)
            e->res[j] = *ev;
    }
    e->res_sorted = 0;
    return 0;
}

/* Entries due by time t take their slots (sizes set in n). */
static int insert_entries(npg_ensemble *e, uint32_t *n, double t, char *err, size_t errlen)
{
    while (e->next_entry < e->n_entries && e->entry_t[e->next_entry] <= t) {
        size_t k = e->next_entry++;
        uint32_t id = (uint32_t)(e->cfg->particles + k), size = e->entry_n[k];
        if (e->wm) {
            if (npg_wm_insert(e->wm, n, id, size, err, errlen))
                return 1;
        } else if (e->bd) {
            if (npg_bd_insert(e->bd, n, id, size, e->min_dist, err, errlen))
                return 1;
        } else {
            n[id] = size;
        }
        e->entered += 1;
        e->alive += 1;
        e->bound += size;
        e->total += e->closed ? (int64_t)size : 0;
    }
    return 0;
}

/* Host-side work after an interval [t0, t1] (coalescence, entries). `rebin`: sizes changed in
 * the backend since the sampler last saw them. */
static int host_processes(npg_ensemble *e, double t0, double t1, int rebin, char *err,
                          size_t errlen)
{
    int due = e->next_entry < e->n_entries && e->entry_t[e->next_entry] <= t1;
    if (!e->wm && !e->bd && !due)
        return 0;
    double w0 = npg_wall_seconds();
    uint32_t *n;
    if (e->be.get_host(&e->be, &n, err, errlen))
        return 1;
    uint64_t m0 = e->merges;
    if (e->wm && rebin && npg_wm_rebuild(e->wm, n, err, errlen))
        return 1;
    if (e->wm || e->bd) {
        /* exact in continuous time: stop at each entry on the way */
        double t = t0;
        while (t < t1) {
            double te = t1;
            if (!e->exchange && e->next_entry < e->n_entries && e->entry_t[e->next_entry] < t1)
                te = fmax(t, e->entry_t[e->next_entry]);
            /* Brownian dynamics reads the sizes afresh each advance (monomer growth pushes
             * overlapping particles apart to contact) */
            int rc = e->wm ? npg_wm_advance(e->wm, n, t, te, on_merge, e, err, errlen)
                           : npg_bd_advance(e->bd, n, t, te, on_merge, e, err, errlen);
            if (rc)
                return rc;
            if (insert_entries(e, n, te, err, errlen))
                return 1;
            t = te;
            if (te == t1)
                break;
        }
    }
    if (insert_entries(e, n, t1, err, errlen))
        return 1;
    e->alive -= e->merges - m0;
    if (e->be.put_host(&e->be, err, errlen))
        return 1;
    e->coal_wall += npg_wall_seconds() - w0;
    return 0;
}

/* Longest next interval from t allowed by coalescence (well-mixed: each particle expects at
 * most epsilon merges; brownian: see below) and by the source (at most max(1, epsilon alive)
 * entries wait for its end).
 * Brownian mode: the monomer SSA and the dynamics alternate every coalescence.split_steps S
 * (default 100) BD steps at step_resolution r >= 3 (the default 3: sqrt(2 D_max dt) = nu / 3);
 * with a coarser step (r < 3) every k = max(1, round(S (r / 3)^2)) automatic steps, so that the
 * sizes' splitting interval stays about what it is at r = 3 in time, whatever the step. The
 * interval is k times the last advance's automatic step (not the step it took, which the rounding
 * to whole steps shortens: k times that would shrink the step from interval to interval). */
static double host_cap(npg_ensemble *e, double t, double dt)
{
    double cap = dt;
    if (e->wm && e->exchange) {
        double r = npg_wm_max_rate(e->wm, t, t + dt);
        if (r > 0.0)
            cap = fmin(cap, e->coal_eps / r);
    }
    if (e->bd && e->exchange) {
        /* sizes from the monomer SSA enter the dynamics every split_steps steps, of
         * the length the last advance took (sizes, and so the step, change slowly), or with a
         * coarse step every k automatic steps; only the first interval reads the sizes for it */
        npg_bd_stats bs;
        npg_bd_get_stats(e->bd, &bs);
        const double sr = e->cfg->coal.step_resolution;
        const double res = (sr > 0.0 ? sr : NPG_COAL_STEP_RESOLUTION) / NPG_COAL_STEP_RESOLUTION;
        const double S = (double)e->cfg->coal.split_steps;
        double h = bs.dt_last, k = S;
        if (res < 1.0) { /* coarse: whole automatic steps (see above) */
            h = bs.dt_target;
            k = fmax(1.0, round(S * res * res));
        }
        uint32_t *n;
        if (!(h > 0.0) && !e->be.get_host(&e->be, &n, NULL, 0))
            h = npg_bd_step(e->bd, n, t, t + dt);
        if (h > 0.0)
            cap = fmin(cap, k * h);
    }
    if (e->exchange && e->next_entry < e->n_entries) {
        double eps = e->wm || e->bd ? e->coal_eps : 0.01;
        uint64_t k = (uint64_t)fmax(1.0, floor(eps * (double)e->alive));
        size_t last =
            e->next_entry +
            (k - 1 < e->n_entries - e->next_entry ? k - 1 : e->n_entries - e->next_entry - 1);
        if (e->entry_t[last] > t)
            cap = fmin(cap, e->entry_t[last] - t);
    }
    return cap;
}

int npg_ensemble_create(npg_ensemble **out, const npg_config *cfg, const npg_ensemble_options *o,
                        char *err, size_t errlen)
{
    *out = NULL;
    npg_ensemble_options def = {0};
    if (!o)
        o = &def;
    npg_ensemble *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    e->cfg = cfg;
    e->closed = cfg->supply != NPG_SUPPLY_SCHEDULE;
    e->exchange = !cfg->no_monomer_exchange;
    int drc = draw_entries(e, err, errlen);
    if (drc) {
        free(e->entry_t);
        free(e->entry_n);
        free(e);
        return drc;
    }
    e->capacity = cfg->particles + e->n_entries;
    uint32_t nt = o->rate_table ? o->rate_table_len : (cfg->n_table ? cfg->n_table : 65536u);
    e->table = malloc((size_t)nt * sizeof *e->table);
    if (!e->table) {
        free(e->entry_t);
        free(e->entry_n);
        free(e);
        snprintf(err, errlen, "out of memory for the rate table");
        return 1;
    }
    if (o->rate_table)
        memcpy(e->table, o->rate_table, (size_t)nt * sizeof *e->table);
    else
        npg_rates_fill(e->table, nt, &cfg->model);
    e->rates.model = cfg->model;
    e->rates.table = e->table;
    e->rates.n_table = nt;

    npg_backend_setup s;
    memset(&s, 0, sizeof s);
    s.count = e->capacity;
    s.active = cfg->particles;
    s.seed = cfg->seed;
    s.table = e->table;
    s.n_table = nt;
    s.model = cfg->model;
    s.need_save = e->closed;
    s.threads = o->threads;
    s.device = o->device;
    double *cdf = NULL;
    if (npg_config_init_view(cfg, &s.init, &cdf, err, errlen)) {
        free(e->table);
        free(e->entry_t);
        free(e->entry_n);
        free(e);
        return NPG_EXIT_USAGE;
    }
    const char *want = o->backend ? o->backend : "cpu";
    int rc;
    char why[256] = "";
    if (!strcmp(want, "cuda") && !npg_backend_cuda_available(why, sizeof why)) {
        /* Asked for what this machine cannot do: a usage error (2), like a bad flag. */
        snprintf(err, errlen, "--backend cuda: no usable GPU here (%s); use --backend cpu or auto",
                 why);
        rc = NPG_EXIT_USAGE;
    } else if (!strcmp(want, "cuda")) {
        rc = npg_backend_cuda_create(&e->be, &s, err, errlen);
    } else if (!strcmp(want, "auto") && npg_backend_cuda_available(why, sizeof why)) {
        rc = npg_backend_cuda_create(&e->be, &s, err, errlen);
    } else if (!strcmp(want, "cpu") || !strcmp(want, "auto")) {
        if (!strcmp(want, "auto"))
            fprintf(stderr, "npgrow: no usable GPU (%s); using the CPU backend\n", why);
        rc = npg_backend_cpu_create(&e->be, &s, err, errlen);
    } else {
        snprintf(err, errlen, "--backend: '%s': allowed values are auto, cpu, cuda", want);
        rc = NPG_EXIT_USAGE;
    }
    free(cdf);
    if (rc) {
        if (e->be.destroy)
            e->be.destroy(&e->be);
        free(e->table);
        free(e->entry_t);
        free(e->entry_n);
        free(e);
        return rc == NPG_EXIT_USAGE || rc == NPG_BACKEND_STOPPED ? rc : 1;
    }
    *out = e;

    /* Initial bookkeeping from an exact reduction. */
    npg_reduction r;
    if (npg_ensemble_reduce(e, &r, err, errlen)) {
        npg_ensemble_destroy(e);
        *out = NULL;
        return 1;
    }
    for (uint32_t n = 2; n < r.len; ++n) {
        e->alive += r.count[n];
        e->bound += (int64_t)r.count[n] * n;
    }
    npg_reduction_free(&r);
    if (cfg->coal.mode != NPG_COAL_NONE) {
        e->coal_eps = cfg->coal.epsilon > 0 ? cfg->coal.epsilon : 0.01;
        e->min_dist = cfg->coal.initial_min_distance_nm;
        e->res_cap = cfg->coal.output_events;
        e->res = malloc((e->res_cap ? e->res_cap : 1) * sizeof *e->res);
        uint32_t *n;
        int rc = !e->res;
        if (rc)
            snprintf(err, errlen, "out of memory for %llu sampled merges",
                     (unsigned long long)e->res_cap);
        if (!rc)
            rc = e->be.get_host(&e->be, &n, err, errlen);
        if (!rc && cfg->coal.mode == NPG_COAL_WELL_MIXED) {
            npg_coal_params cp;
            npg_coal_params_from_config(cfg, &cp);
            rc = npg_wm_create(&e->wm, &cp, npg_coal_volume(cfg), cfg->seed, e->capacity, err,
                               errlen) ||
                 npg_wm_rebuild(e->wm, n, err, errlen);
        } else if (!rc) {
            npg_bd_params bp;
            npg_bd_params_from_config(cfg, o->threads, &bp);
            rc = npg_bd_create(&e->bd, &bp, e->capacity, err, errlen);
            /* on the CUDA backend the steps' parallel parts run on the GPU too */
            if (!rc && !strcmp(e->be.name, "cuda")) {
                npg_bd_device *dev = npg_bd_device_cuda(e->capacity, err, errlen);
                rc = !dev;
                if (dev && npg_bd_attach(e->bd, dev, err, errlen)) {
                    dev->destroy(dev->ctx);
                    free(dev);
                    rc = 1;
                }
            }
            rc = rc || npg_bd_place_all(e->bd, n, e->min_dist, err, errlen);
        }
        if (rc) {
            npg_ensemble_destroy(e);
            *out = NULL;
            return 1;
        }
    }
    if (e->closed) {
        double V = cfg->volume_nm3 > 0 ? cfg->volume_nm3
                                       : (double)cfg->particles / cfg->particle_density_nm3;
        e->vrho = V * cfg->solubility_nm3;
        double f0 = cfg->initial_supersaturation * e->vrho;
        double p0 = cfg->supply == NPG_SUPPLY_PRECURSOR ? cfg->precursor_nm3 * V : 0.0;
        if (!(f0 >= 0.0 && f0 <= 4.6e18 && p0 >= 0.0 && p0 <= 4.6e18)) {
            /* npg_config_check says which key; this guards callers that skipped it */
            snprintf(err, errlen,
                     "supply: %.3g free monomers and %.3g precursor units do not fit 63-bit "
                     "exact bookkeeping (at most 4.6e18 each)",
                     f0, p0);
            npg_ensemble_destroy(e);
            *out = NULL;
            return NPG_EXIT_USAGE;
        }
        int64_t free0 = llround(f0);
        e->precursor = llround(p0);
        e->total = free0 + e->bound + e->precursor;
        double rate;
        if (closed_rate(e, &rate, err, errlen)) {
            npg_ensemble_destroy(e);
            *out = NULL;
            return 1;
        }
        double allowed = fmax(cfg->tolerance * (double)free0, 10.0);
        e->dt_next = rate > 0 ? 0.5 * allowed / rate : cfg->output_every;
        if (e->dt_next > cfg->output_every)
            e->dt_next = cfg->output_every;
    }
    /* entries at t = 0 */
    if (host_processes(e, 0.0, 0.0, 0, err, errlen)) {
        npg_ensemble_destroy(e);
        *out = NULL;
        return 1;
    }
    return 0;
}

void npg_ensemble_destroy(npg_ensemble *e)
{
    if (!e)
        return;
    if (e->be.destroy)
        e->be.destroy(&e->be);
    npg_wm_destroy(e->wm);
    npg_bd_destroy(e->bd);
    free(e->res);
    free(e->entry_t);
    free(e->entry_n);
    free(e->table);
    free(e);
}

static int run_interval(npg_ensemble *e, double dt, double s0, double s1, npg_advance_stats *st,
                        char *err, size_t errlen)
{
    npg_interval iv;
    iv.dt = dt;
    iv.s0 = s0;
    iv.s1 = s1;
    iv.step = e->step++;
    iv.seed = e->cfg->seed;
    double w0 = npg_wall_seconds();
    int rc = e->be.advance(&e->be, &iv, st, err, errlen);
    e->wall += npg_wall_seconds() - w0;
    e->intervals += 1;
    return rc;
}

/* Schedule mode: intervals end at the target or at the next schedule breakpoint, so S is
 * linear inside each one. */
static int advance_schedule(npg_ensemble *e, double target, char *err, size_t errlen)
{
    const npg_config *c = e->cfg;
    int rc;
    while (e->t < target) {
        double t1 = target;
        for (size_t i = 0; i < c->schedule_len; ++i)
            if (c->schedule_t[i] > e->t && c->schedule_t[i] < t1)
                t1 = c->schedule_t[i];
        double cap = host_cap(e, e->t, t1 - e->t);
        if (cap < t1 - e->t)
            t1 = e->t + cap;
        double s0 = npg_config_schedule_s(c, e->t), s1 = npg_config_schedule_s(c, t1);
        npg_advance_stats st;
        if ((rc = run_interval(e, t1 - e->t, s0, s1, &st, err, errlen)))
            return rc == NPG_BACKEND_STOPPED ? rc : 1;
        e->events += st.events;
        e->alive = st.alive;
        e->bound = (int64_t)st.bound;
        e->s_integral += 0.5 * (s0 + s1) * (t1 - e->t);
        if ((rc = host_processes(e, e->t, t1, 1, err, errlen)))
            return rc;
        e->t = t1;
        if (npg_stop_requested())
            return NPG_BACKEND_STOPPED;
    }
    return 0;
}

/* Closed/precursor mode: S constant inside an interval; an interval whose free-monomer change
 * exceeds the tolerance (or drives free monomers negative) is undone and redone at half the
 * length with fresh random numbers (a new step index, so no outcome is conditioned on). */
static int advance_closed(npg_ensemble *e, double target, char *err, size_t errlen)
{
    const npg_config *c = e->cfg;
    const double dt_min = 1e-12 * (c->output_every > 0 ? c->output_every : 1.0);
    int rc;
    while (e->t < target) {
        int64_t free0 = e->total - e->bound - e->precursor;
        double allowed = fmax(c->tolerance * (double)free0, 10.0);
        double dt = fmin(e->dt_next, target - e->t);
        dt = host_cap(e, e->t, dt);
        if (e->be.save(&e->be, err, errlen))
            return 1;
        for (;;) {
            /* S at the interval's predicted midpoint (free monomers extrapolated with the last
             * interval's rate): second order in dt, where holding the start value would lag
             * behind a steadily filling or draining pool by O(dt). */
            double S = fmax(0.0, (double)free0 + 0.5 * e->dfree_rate * dt) / e->vrho;
            uint64_t step = e->step;
            npg_advance_stats st;
            if ((rc = run_interval(e, dt, S, S, &st, err, errlen)))
                return rc == NPG_BACKEND_STOPPED ? rc : 1;
            int64_t conv = precursor_draw(e, dt, step);
            if (conv < 0) {
                snprintf(err, errlen, "out of memory in the precursor sampler");
                return 1;
            }
            int64_t precursor1 = e->precursor - conv;
            int64_t free1 = e->total - (int64_t)st.bound - precursor1;
            double change = fabs((double)(free1 - free0));
            if ((free1 >= 0 && change <= allowed) || dt <= dt_min) {
                e->events += st.events;
                e->alive = st.alive;
                e->bound = (int64_t)st.bound;
                e->precursor = precursor1;
                e->s_integral += S * dt;
                e->dfree_rate = (double)(free1 - free0) / dt;
                double t1 = (dt == target - e->t) ? target : e->t + dt;
                if ((rc = host_processes(e, e->t, t1, 1, err, errlen)))
                    return rc;
                e->t = t1;
                /* Aim the next interval at half the tolerance. */
                double grow = change > 0 ? 0.5 * allowed / change : 2.0;
                e->dt_next = dt * fmin(2.0, fmax(0.5, grow));
                if (e->dt_next > c->output_every)
                    e->dt_next = c->output_every;
                break;
            }
            e->rejected += 1;
            if (e->be.restore(&e->be, err, errlen))
                return 1;
            dt *= 0.5;
        }
        if (npg_stop_requested())
            return NPG_BACKEND_STOPPED;
    }
    return 0;
}

/* supply.monomer_exchange false: no monomer intervals; merges and entries in continuous time,
 * in steps of at most a tenth of the remaining span so that a stop request is seen. */
static int advance_no_exchange(npg_ensemble *e, double target, char *err, size_t errlen)
{
    int rc;
    const double step = (target - e->t) / 10.0;
    while (e->t < target) {
        double t1 = e->t + step;
        /* t1 == e->t: a span of a few ulps of t, whose tenth rounds away (no progress) */
        if (!(t1 < target) || !(t1 > e->t) || target - t1 < 1e-9 * step)
            t1 = target;
        if (e->closed) {
            e->s_integral += ensemble_S(e, e->t) * (t1 - e->t);
        } else {
            e->s_integral +=
                0.5 * (npg_config_schedule_s(e->cfg, e->t) + npg_config_schedule_s(e->cfg, t1)) *
                (t1 - e->t);
        }
        if ((rc = host_processes(e, e->t, t1, 0, err, errlen)))
            return rc;
        e->intervals += 1;
        e->t = t1;
        if (npg_stop_requested())
            return NPG_BACKEND_STOPPED;
    }
    return 0;
}

int npg_ensemble_advance_to(npg_ensemble *e, double t, char *err, size_t errlen)
{
    if (t < e->t) {
        snprintf(err, errlen, "cannot advance backwards (now %g, asked %g)", e->t, t);
        return 1;
    }
    if (!e->exchange)
        return advance_no_exchange(e, t, err, errlen);
    return e->closed ? advance_closed(e, t, err, errlen) : advance_schedule(e, t, err, errlen);
}

static int event_time_cmp(const void *a, const void *b)
{
    const npg_wm_event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->kept < y->kept ? -1 : x->kept > y->kept;
}

size_t npg_ensemble_merges(npg_ensemble *e, const npg_wm_event **ev)
{
    if (!e->res_sorted && e->res_len) {
        qsort(e->res, e->res_len, sizeof *e->res, event_time_cmp);
        e->res_sorted = 1;
    }
    *ev = e->res;
    return e->res_len;
}

double npg_ensemble_bytes_per_particle(const npg_ensemble *e)
{
    return e->be.bytes_per_particle +
           (e->wm   ? npg_wm_bytes_per_particle(e->wm)
            : e->bd ? npg_bd_bytes_per_particle(e->bd) + npg_bd_device_bytes_per_particle(e->bd)
                    : 0.0);
}

int npg_ensemble_mark(npg_ensemble *e, char *err, size_t errlen)
{
    return e->be.mark(&e->be, err, errlen);
}

int npg_ensemble_sample(npg_ensemble *e, const uint64_t *ids, size_t k, uint32_t *n_out, char *err,
                        size_t errlen)
{
    return e->be.sample(&e->be, ids, k, n_out, err, errlen);
}

void npg_ensemble_state(const npg_ensemble *e, npg_supply_state *st)
{
    memset(st, 0, sizeof *st);
    st->t = e->t;
    st->S = ensemble_S(e, e->t);
    st->total = e->total;
    st->free_monomers = e->closed ? e->total - e->bound - e->precursor : 0;
    st->bound = e->bound;
    st->precursor = e->precursor;
    st->alive = e->alive;
    st->events = e->events;
    st->intervals = e->intervals;
    st->rejected = e->rejected;
    st->advance_wall_s = e->wall;
    st->s_integral = e->s_integral;
    st->merges = e->merges;
    st->entries = e->entered;
    st->capacity = e->capacity;
    st->coal_wall_s = e->coal_wall;
    if (e->wm) {
        npg_wm_stats ws;
        npg_wm_get_stats(e->wm, &ws);
        st->proposals = ws.proposals;
    }
    if (e->bd) {
        npg_bd_stats bs;
        npg_bd_get_stats(e->bd, &bs);
        st->bd_steps = bs.steps;
        st->bd_particle_steps = bs.particle_steps;
        st->conflicts = bs.conflicts;
        st->bd_dt = bs.dt_last;
    }
}

const npg_backend *npg_ensemble_backend(const npg_ensemble *e)
{
    return &e->be;
}
const npg_rates *npg_ensemble_rates(const npg_ensemble *e)
{
    return &e->rates;
}
