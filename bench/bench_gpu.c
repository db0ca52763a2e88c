/* bench_gpu.c: events per second of the CUDA backend on the demo workload (not a test).
 *
 * Pt(acac)2 (model.md Table 1), sizes drawn from a triangular histogram on [200, 400], constant
 * S (default 8), a few 1 s intervals per N, then one output's worth of work (mark, max_n,
 * histograms, a 200-particle sample). Reports the split of device time between stepping,
 * reductions and transfers (CUDA events), the fraction of the measured Philox ceiling (integer
 * multiplies) and of copy bandwidth. Run through bench/gpu.sh; the table comes last.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npgrow/backend.h"
#include "npgrow/rates.h"

#ifdef NPGROW_HAVE_CUDA
#include "../kernels/backend_cuda.h"

#define MAX_SIZES 16
#define SAMPLE_K  200

typedef struct opts {
    double sizes[MAX_SIZES];
    int n_sizes;
    int intervals;
    double dt; /* [s] */
    double S;
    int device;
    int sweep; /* try launch shapes at sweep_n before the main table */
    double sweep_n;
    npg_cuda_launch launch;
} opts;

typedef struct row {
    double n;
    int ok;
    char note[200];
    double events, step_ms, reduce_ms, transfer_ms, copy_ms, wall_s, init_ms, mean_n;
} row;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static npg_model pt_acac(void)
{
    npg_model m = {3.04, -1.35, 6.50, 1.40, 0.171, 0.155672, 1.76};
    return m;
}

/* One size: create, warm up with one interval, time `intervals` more, then one output. */
static void run_one(const opts *o, const npg_cuda_launch *launch, const npg_rate_pair *table,
                    const double *cdf, const uint32_t *sizes, uint32_t len, double n, row *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    npg_backend_setup s;
    memset(&s, 0, sizeof s);
    s.count = (uint64_t)n;
    s.seed = 2025u;
    s.init.kind = NPG_INIT_HISTOGRAM;
    s.init.cdf = cdf;
    s.init.sizes = sizes;
    s.init.table_len = len;
    s.table = table;
    s.n_table = NPG_RATES_DEFAULT_N_TABLE;
    s.model = pt_acac();
    s.device = o->device;
    npg_backend b;
    char err[512] = "";
    if (npg_backend_cuda_create_with(&b, &s, launch, err, sizeof err)) {
        snprintf(r->note, sizeof r->note, "%.190s", err);
        return;
    }
    npg_cuda_timing t0, t1;
    npg_advance_stats st;
    npg_interval iv = {o->dt, o->S, o->S, 0, s.seed};
    if (b.advance(&b, &iv, &st, err, sizeof err))
        goto fail;
    npg_backend_cuda_timing(&b, &t0);
    r->init_ms = t0.init_ms;
    double w0 = now_s();
    for (int k = 1; k <= o->intervals; ++k) {
        iv.step = (uint64_t)k;
        if (b.advance(&b, &iv, &st, err, sizeof err))
            goto fail;
        r->events += (double)st.events;
    }
    r->wall_s = now_s() - w0;
    r->mean_n = st.alive ? (double)st.bound / (double)st.alive : 0.0;
    /* One output: the engine's work at an output time. */
    uint32_t max_n = 0;
    if (b.mark(&b, err, sizeof err) || b.max_n(&b, &max_n, err, sizeof err))
        goto fail;
    npg_reduction red;
    red.len = max_n + 1;
    red.count = calloc(red.len, sizeof *red.count);
    red.prev_count = calloc(red.len, sizeof *red.prev_count);
    red.sum_dn = calloc(red.len, sizeof *red.sum_dn);
    int bad = !red.count || !red.prev_count || !red.sum_dn;
    if (!bad)
        bad = b.reduce(&b, &red, err, sizeof err);
    free(red.count);
    free(red.prev_count);
    free(red.sum_dn);
    if (bad)
        goto fail;
    uint64_t ids[SAMPLE_K];
    uint32_t out[SAMPLE_K];
    for (int j = 0; j < SAMPLE_K; ++j)
        ids[j] = (uint64_t)((double)j * n / SAMPLE_K);
    if (b.sample(&b, ids, SAMPLE_K, out, err, sizeof err))
        goto fail;
    npg_backend_cuda_timing(&b, &t1);
    r->step_ms = t1.step_ms - t0.step_ms;
    r->reduce_ms = t1.reduce_ms - t0.reduce_ms;
    r->transfer_ms = t1.transfer_ms - t0.transfer_ms;
    r->copy_ms = t1.copy_ms - t0.copy_ms;
    r->ok = 1;
    b.destroy(&b);
    return;
fail:
    snprintf(r->note, sizeof r->note, "%.190s", err);
    b.destroy(&b);
}

static int parse(int argc, char **argv, opts *o)
{
    const double dflt[] = {1e5, 1e6, 1e7, 1e8, 1e9};
    memcpy(o->sizes, dflt, sizeof dflt);
    o->n_sizes = 5;
    o->intervals = 3;
    o->dt = 1.0;
    o->S = 8.0;
    o->device = 0;
    o->sweep = 1;
    o->sweep_n = 1e7;
    o->launch = npg_cuda_launch_default();
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-sweep")) {
            o->sweep = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_gpu: %s needs a value\n", a);
            return 1;
        }
        ++i;
        if (!strcmp(a, "--sizes")) {
            o->n_sizes = 0;
            for (char *p = (char *)v; *p && o->n_sizes < MAX_SIZES;) {
                char *end;
                o->sizes[o->n_sizes++] = strtod(p, &end);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p)
                    break;
            }
        } else if (!strcmp(a, "--intervals"))
            o->intervals = atoi(v);
        else if (!strcmp(a, "--dt"))
            o->dt = atof(v);
        else if (!strcmp(a, "--S"))
            o->S = atof(v);
        else if (!strcmp(a, "--device"))
            o->device = atoi(v);
        else if (!strcmp(a, "--block"))
            o->launch.block = atoi(v);
        else if (!strcmp(a, "--blocks-per-sm"))
            o->launch.blocks_per_sm = atoi(v);
        else if (!strcmp(a, "--min-blocks"))
            o->launch.min_blocks = atoi(v);
        else if (!strcmp(a, "--sweep-n"))
            o->sweep_n = atof(v);
        else {
            fprintf(stderr,
                    "usage: bench_gpu [--sizes 1e5,1e6,...] [--intervals K] [--dt S] [--S S]\n"
                    "       [--device D] [--block B] [--blocks-per-sm K] [--min-blocks 0|4|6|8]\n"
                    "       [--sweep-n N] [--no-sweep]\n");
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o))
        return 2;
    char why[256];
    if (!npg_backend_cuda_available(why, sizeof why)) {
        fprintf(stderr, "bench_gpu: no usable GPU: %s\n", why);
        return 2;
    }
    static npg_rate_pair table[NPG_RATES_DEFAULT_N_TABLE];
    const npg_model m = pt_acac();
    npg_rates_fill(table, NPG_RATES_DEFAULT_N_TABLE, &m);
    /* Triangular histogram on [200, 400]. */
    enum { LO = 200, HI = 400, LEN = HI - LO + 1 };
    static double cdf[LEN];
    static uint32_t sizes[LEN];
    double total = 0.0, acc = 0.0;
    for (int i = 0; i < LEN; ++i)
        total += 1.0 - fabs((double)i - 0.5 * (LEN - 1)) / (0.5 * LEN);
    for (int i = 0; i < LEN; ++i) {
        acc += (1.0 - fabs((double)i - 0.5 * (LEN - 1)) / (0.5 * LEN)) / total;
        cdf[i] = acc;
        sizes[i] = (uint32_t)(LO + i);
    }
    cdf[LEN - 1] = 1.0;

    char err[512];
    double philox = 0.0, copy_bw = 0.0;
    if (npg_cuda_probe_philox(o.device, &philox, err, sizeof err) ||
        npg_cuda_probe_copy(o.device, &copy_bw, err, sizeof err)) {
        fprintf(stderr, "bench_gpu: %s\n", err);
        return 1;
    }
    const double mult_ceiling = 20.0 * philox; /* 32x32->64 multiplies per second */
    printf("Philox4x32-10 alone: %.3e calls/s = %.3e 32x32->64 multiplies/s "
           "(ceiling: %.3e events/s at 1 call per 2 events)\n",
           philox, mult_ceiling, 2.0 * philox);
    printf("device-to-device copy: %.0f GB/s (read + write)\n", copy_bw * 1e-9);

    if (o.sweep) {
        /* Launch shapes on one size; the fastest is used for the table below. */
        const npg_cuda_launch base = npg_cuda_launch_default();
        npg_cuda_launch cand[8];
        int nc = 0;
        const int blocks[] = {128, 256, 512};
        for (int i = 0; i < 3; ++i) {
            cand[nc] = base;
            cand[nc++].block = blocks[i];
        }
        cand[nc] = base;
        cand[nc++].min_blocks = 4;
        cand[nc] = base;
        cand[nc++].min_blocks = 6;
        cand[nc] = base;
        cand[nc++].blocks_per_sm = 8;
        cand[nc] = base;
        cand[nc].block = 128;
        cand[nc++].blocks_per_sm = 32;
        double best = 0.0;
        printf("\nlaunch sweep at N = %.0e (%d intervals of %.2g s, S = %.3g):\n", o.sweep_n,
               o.intervals, o.dt, o.S);
        for (int i = 0; i < nc; ++i) {
            row r;
            run_one(&o, &cand[i], table, cdf, sizes, LEN, o.sweep_n, &r);
            double eps = r.ok ? r.events / (r.step_ms * 1e-3) : 0.0;
            printf("  block %4d  blocks/SM %3d  min_blocks %d : %s%.3e events/s\n", cand[i].block,
                   cand[i].blocks_per_sm, cand[i].min_blocks, r.ok ? "" : r.note, eps);
            if (eps > best) {
                best = eps;
                o.launch = cand[i];
            }
        }
        printf("  -> using block %d, blocks/SM %d, min_blocks %d\n", o.launch.block,
               o.launch.blocks_per_sm, o.launch.min_blocks);
    }

    row rows[MAX_SIZES];
    for (int i = 0; i < o.n_sizes; ++i) {
        run_one(&o, &o.launch, table, cdf, sizes, LEN, o.sizes[i], &rows[i]);
        const row *r = &rows[i];
        if (r->ok)
            printf("N = %.0e: %.4e events in %.1f ms stepping (wall %.1f ms), init %.1f ms, "
                   "mean n %.1f\n",
                   r->n, r->events, r->step_ms, r->wall_s * 1e3, r->init_ms, r->mean_n);
        else
            printf("N = %.0e: not run: %s\n", r->n, r->note);
        fflush(stdout);
    }

    printf("\n== GPU (CUDA backend): %d x %.2g s intervals at S = %.3g + one output; "
           "launch block %d, blocks/SM %d, min_blocks %d ==\n",
           o.intervals, o.dt, o.S, o.launch.block, o.launch.blocks_per_sm, o.launch.min_blocks);
    printf("%8s %11s %11s %9s %9s %9s %9s %8s %8s\n", "N", "events/s", "wall ev/s", "step ms",
           "reduce ms", "xfer ms", "copy ms", "mult %", "bw %");
    for (int i = 0; i < o.n_sizes; ++i) {
        const row *r = &rows[i];
        if (!r->ok) {
            printf("%8.0e  not run: %.60s\n", r->n, r->note);
            continue;
        }
        const double eps = r->events / (r->step_ms * 1e-3);
        /* 10 multiplies per event (20 per Philox call, 2 events per call); 8 bytes moved per
         * particle per interval (read n, write n). */
        const double mult = 100.0 * 10.0 * eps / mult_ceiling;
        const double bw = 100.0 * 8.0 * r->n * o.intervals / (r->step_ms * 1e-3) / copy_bw;
        printf("%8.0e %11.3e %11.3e %9.1f %9.2f %9.2f %9.2f %8.1f %8.3f\n", r->n, eps,
               r->events / r->wall_s, r->step_ms, r->reduce_ms, r->transfer_ms, r->copy_ms, mult,
               bw);
    }
    return 0;
}

#else /* no CUDA in this build */

int main(void)
{
    fprintf(stderr, "bench_gpu: this npgrow was built without CUDA\n");
    return 2;
}

#endif
