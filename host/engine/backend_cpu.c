/* backend_cpu.c: the CPU particle backend: OpenMP loops over the shared per-particle step.
 *
 * No arithmetic of its own: the SSA step is npg_ssa_batch_advance (ssa_batch.c, bit-identical
 * to step.h's npg_particle_advance, which the CUDA kernel runs), initial sizes are
 * npg_init_sample (init.h). Results do not depend on the thread count: each particle's
 * randomness is keyed by its id, and every reduction here is over integers.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/backend.h"
#include "npgrow/ssa_batch.h"
#include "npgrow/status.h"

typedef struct cpu_impl {
    uint64_t count;
    uint32_t seed;
    uint32_t *n;          /* [count] monomers; >= 2 alive, 1 dissolved */
    uint32_t *n_prev;     /* [count] monomers at the last mark */
    uint32_t *n_save;     /* [count] copy for a rejected interval, or NULL */
    npg_rate_pair *table; /* [n_table] */
    npg_rates rates;
} cpu_impl;

/* Particles per OpenMP work item: about 64 items per thread, so that dynamic scheduling evens
 * out particles whose event counts differ (the last item is at most ~1.5 % of a thread's share),
 * within [NPG_BATCH_LANES, 2048] and a multiple of NPG_BATCH_LANES. Results do not depend on it. */
static uint64_t cpu_chunk(uint64_t count, int threads)
{
    uint64_t c = count / ((uint64_t)threads * 64u);
    c = c / NPG_BATCH_LANES * NPG_BATCH_LANES;
    return c < NPG_BATCH_LANES ? NPG_BATCH_LANES : c > 2048u ? 2048u : c;
}

static int cpu_advance(npg_backend *b, const npg_interval *iv, npg_advance_stats *st, char *err,
                       size_t errlen)
{
    cpu_impl *c = b->impl;
    uint64_t events = 0, alive = 0, bound = 0;
    const npg_interval ivl = *iv;
    const npg_rates rates = c->rates;
    uint32_t *n = c->n;
    const uint64_t count = c->count;
    const uint64_t chunk = cpu_chunk(count, b->threads);
    const int64_t chunks = (int64_t)((count + chunk - 1) / chunk);
    int stopped = 0;
#pragma omp parallel for num_threads(b->threads) schedule(dynamic, 1)                             \
    reduction(+ : events, alive, bound) reduction(| : stopped)
    for (int64_t k = 0; k < chunks; ++k) {
        if (stopped || npg_stop_requested()) {
            stopped = 1;
            continue;
        }
        const uint64_t begin = (uint64_t)k * chunk;
        const uint64_t end = count - begin < chunk ? count : begin + chunk;
        npg_advance_stats t = {0, 0, 0};
        stopped |= npg_ssa_batch_advance(n, begin, end, &ivl, &rates, &t);
        events += t.events;
        alive += t.alive;
        bound += t.bound;
    }
    if (stopped) {
        snprintf(err, errlen, "stopped by a signal inside an interval");
        return NPG_BACKEND_STOPPED;
    }
    st->events = events;
    st->alive = alive;
    st->bound = bound;
    return 0;
}

static int cpu_copy(npg_backend *b, uint32_t *dst, const uint32_t *src)
{
    cpu_impl *c = b->impl;
    const int64_t count = (int64_t)c->count;
#pragma omp parallel for num_threads(b->threads) schedule(static)
    for (int64_t i = 0; i < count; ++i)
        dst[i] = src[i];
    return 0;
}

static int cpu_mark(npg_backend *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    cpu_impl *c = b->impl;
    return cpu_copy(b, c->n_prev, c->n);
}

static int cpu_save(npg_backend *b, char *err, size_t errlen)
{
    cpu_impl *c = b->impl;
    if (!c->n_save) {
        snprintf(err, errlen, "cpu backend: save without a save buffer");
        return 1;
    }
    return cpu_copy(b, c->n_save, c->n);
}

static int cpu_restore(npg_backend *b, char *err, size_t errlen)
{
    cpu_impl *c = b->impl;
    if (!c->n_save) {
        snprintf(err, errlen, "cpu backend: restore without a save buffer");
        return 1;
    }
    return cpu_copy(b, c->n, c->n_save);
}

static int cpu_max_n(npg_backend *b, uint32_t *max_n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    cpu_impl *c = b->impl;
    uint32_t m = 0;
    const int64_t count = (int64_t)c->count;
#pragma omp parallel for num_threads(b->threads) schedule(static) reduction(max : m)
    for (int64_t i = 0; i < count; ++i) {
        uint32_t a = c->n[i] > c->n_prev[i] ? c->n[i] : c->n_prev[i];
        m = a > m ? a : m;
    }
    *max_n = m;
    return 0;
}

static int cpu_reduce(npg_backend *b, npg_reduction *r, char *err, size_t errlen)
{
    cpu_impl *c = b->impl;
    const uint32_t len = r->len;
    const int64_t count = (int64_t)c->count;
    memset(r->count, 0, len * sizeof *r->count);
    memset(r->prev_count, 0, len * sizeof *r->prev_count);
    memset(r->sum_dn, 0, len * sizeof *r->sum_dn);
    int bad = 0;
#pragma omp parallel num_threads(b->threads)
    {
        /* Per-thread integer histograms, summed at the end: exact in any order. */
        uint64_t *cnt = calloc(len, sizeof *cnt);
        uint64_t *pcnt = calloc(len, sizeof *pcnt);
        int64_t *sdn = calloc(len, sizeof *sdn);
        if (!cnt || !pcnt || !sdn) {
#pragma omp atomic write
            bad = 1;
        } else {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < count; ++i) {
                uint32_t ni = c->n[i], pi = c->n_prev[i];
                if (ni >= len || pi >= len) {
#pragma omp atomic write
                    bad = 2;
                    continue;
                }
                if (ni >= 2)
                    cnt[ni] += 1;
                if (pi >= 2 && ni != 0) { /* ni = 0: coalesced away since the mark */
                    pcnt[pi] += 1;
                    sdn[pi] += (int64_t)(ni >= 2 ? ni : 1u) - (int64_t)pi;
                }
            }
#pragma omp critical
            for (uint32_t k = 0; k < len; ++k) {
                r->count[k] += cnt[k];
                r->prev_count[k] += pcnt[k];
                r->sum_dn[k] += sdn[k];
            }
        }
        free(cnt);
        free(pcnt);
        free(sdn);
    }
    if (bad) {
        snprintf(err, errlen,
                 bad == 1 ? "cpu backend: out of memory in reduce"
                          : "cpu backend: reduce buffer shorter than max n");
        return 1;
    }
    return 0;
}

static int cpu_sample(npg_backend *b, const uint64_t *ids, size_t k, uint32_t *n_out, char *err,
                      size_t errlen)
{
    cpu_impl *c = b->impl;
    for (size_t j = 0; j < k; ++j) {
        if (ids[j] >= c->count) {
            snprintf(err, errlen, "cpu backend: sample id %llu out of range",
                     (unsigned long long)ids[j]);
            return 1;
        }
        n_out[j] = c->n[ids[j]];
    }
    return 0;
}

static int cpu_get_host(npg_backend *b, uint32_t **n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *n = ((cpu_impl *)b->impl)->n;
    return 0;
}

static int cpu_put_host(npg_backend *b, char *err, size_t errlen)
{
    (void)b;
    (void)err;
    (void)errlen;
    return 0;
}

static void cpu_destroy(npg_backend *b)
{
    cpu_impl *c = b->impl;
    if (c) {
        free(c->n);
        free(c->n_prev);
        free(c->n_save);
        free(c->table);
        free(c);
    }
    b->impl = NULL;
}

int npg_backend_cpu_create(npg_backend *b, const npg_backend_setup *s, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (npg_backend_check_count("cpu", s->count, err, errlen))
        return 1;
    cpu_impl *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "cpu backend: out of memory");
        return 1;
    }
    b->impl = c;
    b->name = "cpu";
    b->threads = s->threads > 0 ? s->threads : omp_get_max_threads();
    snprintf(b->device_name, sizeof b->device_name, "cpu (%d OpenMP threads)", b->threads);
    b->advance = cpu_advance;
    b->mark = cpu_mark;
    b->save = cpu_save;
    b->restore = cpu_restore;
    b->max_n = cpu_max_n;
    b->reduce = cpu_reduce;
    b->sample = cpu_sample;
    b->destroy = cpu_destroy;
    b->get_host = cpu_get_host;
    b->put_host = cpu_put_host;
    c->count = s->count;
    c->seed = s->seed;
    size_t bytes = (size_t)s->count * sizeof(uint32_t);
    c->n = malloc(bytes);
    c->n_prev = malloc(bytes);
    c->n_save = s->need_save ? malloc(bytes) : NULL;
    c->table = malloc((size_t)s->n_table * sizeof *c->table);
    if (!c->n || !c->n_prev || (s->need_save && !c->n_save) || !c->table) {
        snprintf(err, errlen, "cpu backend: cannot allocate %.2f GiB for %llu particles",
                 (double)bytes * (s->need_save ? 3 : 2) / 1073741824.0,
                 (unsigned long long)s->count);
        cpu_destroy(b);
        return 1;
    }
    b->bytes_per_particle = s->need_save ? 12.0 : 8.0;
    memcpy(c->table, s->table, (size_t)s->n_table * sizeof *c->table);
    c->rates.model = s->model;
    c->rates.table = c->table;
    c->rates.n_table = s->n_table;
    const npg_init_view init = s->init;
    const uint32_t seed = s->seed;
    const int64_t count = (int64_t)s->count;
    const int64_t active = s->active ? (int64_t)s->active : count;
    int stopped = 0;
    /* Blocks of 2^20 particles, so a stop request during a 1e9-particle start lands quickly. */
    const int64_t block = 1 << 20;
#pragma omp parallel for num_threads(b->threads) schedule(static) reduction(| : stopped)
    for (int64_t blk = 0; blk < (count + block - 1) / block; ++blk) {
        if (stopped || npg_stop_requested()) {
            stopped = 1;
            continue;
        }
        const int64_t end = (blk + 1) * block < count ? (blk + 1) * block : count;
        for (int64_t i = blk * block; i < end; ++i) {
            uint32_t n0 = i < active ? npg_init_sample(&init, seed, (uint32_t)i) : 0u;
            c->n[i] = n0;
            c->n_prev[i] = n0;
        }
    }
    if (stopped) {
        snprintf(err, errlen, "stopped by a signal while drawing initial sizes");
        cpu_destroy(b);
        return NPG_BACKEND_STOPPED;
    }
    return 0;
}
