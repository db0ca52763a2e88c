/* bench_coalesce.c: well-mixed coalescence (npgrow/wellmixed.h) events/s, against a baseline.
 *
 * Coalescence only (no monomer exchange), N = 1e4 .. max_N particles, two workloads:
 *   additive  K = k_add (n_i + n_j), PartMC's standard test: an exponential (here geometric,
 *             the discrete analogue) initial size distribution, n = 2 + G with
 *             P(G = g) = (1 - q) q^g, q = 8/9: mean n = 10 monomers; run from N particles until
 *             N/10 remain (0.9 N merges; fewer where the event cap applies, see below).
 *             k_add = 1 nm^3 per time unit per monomer, V = N nm^3 (the scales set the
 *             simulated time only, not the work per event).
 *   brownian  the study's kernel and propensity (model.md 3.2, 3.7): diffusion-limited
 *             Smoluchowski K = 4 pi (D_i + D_j)(R_i + R_j + l), D_i = f(t) D_ref r_ref/(R_i + l),
 *             D_ref = D_r(0)/2 = 1.207 nm^2/s at r_ref = 1.058 + 2.87 nm (the mean particle's
 *             hydrodynamic radius), f(t) = (1 + 0.1607 t)^-0.7336 (D_r(t) of model.md 3.1),
 *             l = 2.87 nm, Fermi propensity gamma = 7.64 /nm, sigma_c = 3.0078 nm,
 *             sigma_s = 0.155672 nm (Pt); sizes as the Pt demo (radius lognormal, mean
 *             1.058 nm, sd 0.23 nm); density 2.5e-4 nm^-3; advanced in 1 s intervals until N/2
 *             remain (the propensity switches merging off long before N/10).
 * Measured: the whole process, npg_wm_rebuild + every npg_wm_advance (the initial draws and
 * npg_wm_create are outside the timer); events/s = merges / that wall time; accept = merges /
 * proposals; bytes/particle = npg_wm_bytes_per_particle + 4 (the uint32 size array), taken
 * after the run (the bins only grow).
 * Threads: the sampler is sequential (one merge at a time, in time order), so one ensemble runs
 * on one thread whatever the thread count; "2 threads" here runs two independent ensembles
 * (other seeds) at once, one per thread, and reports the events/s of each and their sum.
 * Baseline (additive kernel, one thread): a plain exact Marcus-Lushnikov SSA written here, one
 * pair at a time. Total rate R = (k/V) sum_{i<j} (n_i + n_j) = (k/V)(m - 1) M (m particles,
 * M monomers). Writing n_i + n_j as the weight n_i of the ordered pair (i, j) plus n_j of
 * (j, i), an unordered pair is drawn with probability (n_i + n_j)/((m - 1) M) by taking i with
 * probability n_i / M (a Fenwick tree over the sizes, O(log N)) and j uniformly among the other
 * m - 1 (a dense list of alive ids). Merges keep the lower id, as npgrow does.
 * Exactness check (additive): the total rate depends on m only, so the time to fall from N to
 * m_stop particles has mean sum_{m = m_stop + 1}^{N} V/(k M (m - 1)) and the matching variance;
 * Z combines every repetition's (t - mean)/sd; |Z| > 4 is flagged.
 * Small N repeat the ensemble (new seeds) until about 1e6 merges. Each point is measured in
 * `trials` trials; the table gives the median and the range.
 * Usage: bench_coalesce [max_N] [trials] [event_cap]
 *   event_cap: at most this many merges per ensemble (default 3e6: the additive run at
 *   N = 1e7 then stops at 7e6 particles instead of 1e6, the brownian one at 7e6 instead of 5e6).
 * Output: a table, also as CSV lines "csv,workload,N,merges,left,ev_s_median,ev_s_min,ev_s_max,
 * ev_per_cpu_s,ev_s_2threads_each,ev_s_2threads_sum,accept,bytes_per_particle,z,reps". The load
 * average is printed at the start and the end: on a shared machine the wall-clock figures fall
 * with it, the per-CPU-second ones much less.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npgrow/init.h"
#include "npgrow/philox.h"
#include "npgrow/wellmixed.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the calling thread [s]: leaves out the time it waited for a core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The 1-minute load average (other work on the machine), or -1. */
static double loadavg(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_coalesce: %s: %s\n", what, err);
    exit(1);
}

enum { W_ADDITIVE = 0, W_BROWNIAN = 1, W_BASELINE = 2, N_WORK = 3 };
static const char *WORK_NAME[N_WORK] = {"additive", "brownian", "baseline"};

#define K_ADD            1.0 /* [nm^3 per time unit per monomer] */
#define GEOM_Q           (8.0 / 9.0)
#define BROWN_DENSITY    2.5e-4   /* [nm^-3] */
#define PT_SIGMA_S       0.155672 /* [nm] */
#define PT_MEAN_R        1.058    /* [nm] */
#define PT_SD_R          0.230    /* [nm] */
#define EVENTS_PER_POINT 1.0e6

static uint64_t EVENT_CAP = 3000000ull;

/* Particles left at the end of a run of workload wk from N. */
static uint64_t stop_count(int wk, uint64_t N)
{
    uint64_t target = wk == W_BROWNIAN ? N / 2 : N / 10;
    if (N - target > EVENT_CAP)
        target = N - EVENT_CAP;
    return target;
}

/* Initial sizes [monomers], counter-based per id: geometric (mean 10) or the Pt lognormal. */
static void draw_sizes(int wk, uint32_t *n, uint64_t N, uint32_t seed)
{
    if (wk == W_BROWNIAN) {
        const double s2 = log1p((PT_SD_R / PT_MEAN_R) * (PT_SD_R / PT_MEAN_R));
        npg_init_view v = {0};
        v.kind = NPG_INIT_LOGNORMAL_R;
        v.loc = log(PT_MEAN_R) - 0.5 * s2;
        v.scale = sqrt(s2);
        v.sigma_s = PT_SIGMA_S;
        for (uint64_t i = 0; i < N; ++i)
            n[i] = npg_init_sample(&v, seed, (uint32_t)i);
        return;
    }
    const npg_u32x2 key = npg_philox_key(seed, 0x51u);
    const double lq = log(GEOM_Q);
    for (uint64_t i = 0; i < N; ++i) {
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter(0, i, NPG_STREAM_INIT), key);
        n[i] = 2u + (uint32_t)floor(log(npg_u01_open0(b.x)) / lq);
    }
}

static uint64_t total_mass(const uint32_t *n, uint64_t N)
{
    uint64_t M = 0;
    for (uint64_t i = 0; i < N; ++i)
        M += n[i];
    return M;
}

static void params_for(int wk, npg_coal_params *p)
{
    memset(p, 0, sizeof *p);
    p->sigma_s = PT_SIGMA_S;
    if (wk != W_BROWNIAN) {
        p->kernel = 2;
        p->k_add = K_ADD;
        return;
    }
    p->kernel = 0;
    p->ligand = 2.87;
    p->d_ref_r_ref = 0.5 * 2.414055334520468 * (PT_MEAN_R + p->ligand);
    p->tf_b = 0.1607303938434139;
    p->tf_c = 0.7335647561434824;
    p->fermi = 1;
    p->gamma = 7.64;
    p->sigma_c = 3.007832240727688;
}

/* One run's outcome. */
typedef struct run_out {
    double events, proposals;
    double wall, cpu; /* [s] wall-clock and thread CPU time of the timed part */
    double t_end, bpp;
    double mass; /* M [monomers] */
} run_out;

typedef struct stop_ctx {
    uint64_t merges, target;
    double t;
} stop_ctx;

static int on_merge(void *vctx, const npg_wm_event *ev)
{
    stop_ctx *c = vctx;
    if (++c->merges < c->target)
        return 0;
    c->t = ev->t;
    return 2;
}

/* The npgrow sampler on N particles of workload wk. */
static run_out run_wm(int wk, uint64_t N, uint32_t seed)
{
    uint32_t *n = malloc(N * sizeof *n);
    if (!n)
        die("sizes", "out of memory");
    draw_sizes(wk, n, N, seed);
    const double mass = (double)total_mass(n, N);
    npg_coal_params p;
    params_for(wk, &p);
    const double V = wk == W_BROWNIAN ? (double)N / BROWN_DENSITY : (double)N;
    npg_wm *w;
    char err[512];
    if (npg_wm_create(&w, &p, V, seed, N, err, sizeof err))
        die("create", err);
    stop_ctx c = {0, N - stop_count(wk, N), 0.0};
    const double w0 = now_s(), c0 = cpu_s();
    if (npg_wm_rebuild(w, n, err, sizeof err))
        die("rebuild", err);
    int rc = 0;
    if (wk == W_BROWNIAN) {
        for (double t = 0.0; rc == 0 && t < 1e6; t += 1.0)
            rc = npg_wm_advance(w, n, t, t + 1.0, on_merge, &c, err, sizeof err);
    } else {
        rc = npg_wm_advance(w, n, 0.0, 1e300, on_merge, &c, err, sizeof err);
    }
    const double wall = now_s() - w0, cpu = cpu_s() - c0;
    if (rc != 2)
        die("advance", rc ? err : "ran out of time before the target count");
    npg_wm_stats st;
    npg_wm_get_stats(w, &st);
    run_out o = {.events = (double)st.merges,
                 .proposals = (double)st.proposals,
                 .wall = wall,
                 .cpu = cpu,
                 .t_end = c.t,
                 .bpp = npg_wm_bytes_per_particle(w) + sizeof(uint32_t),
                 .mass = mass};
    npg_wm_destroy(w);
    free(n);
    return o;
}

/* splitmix64: the baseline's generator (a lean one, so that it does not slow the baseline). */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, k) (multiply-high). */
static uint64_t below(uint64_t *s, uint64_t k)
{
    return (uint64_t)(((unsigned __int128)splitmix64(s) * k) >> 64);
}

/* Baseline: the plain exact one-pair-at-a-time SSA for the additive kernel (header). */
static run_out run_baseline(uint64_t N, uint32_t seed)
{
    uint32_t *n = malloc(N * sizeof *n), *alive = malloc(N * sizeof *alive),
             *pos = malloc(N * sizeof *pos);
    uint64_t *fw = malloc((N + 1) * sizeof *fw); /* Fenwick tree, 1-based, of the sizes */
    if (!n || !alive || !pos || !fw)
        die("baseline", "out of memory");
    draw_sizes(W_ADDITIVE, n, N, seed);
    const uint64_t target = stop_count(W_ADDITIVE, N);
    uint64_t rng = 0x5eedull ^ ((uint64_t)seed << 32);
    const double w0 = now_s(), c0 = cpu_s();
    uint64_t M = 0;
    fw[0] = 0;
    for (uint64_t i = 0; i < N; ++i) {
        fw[i + 1] = n[i];
        alive[i] = (uint32_t)i;
        pos[i] = (uint32_t)i;
        M += n[i];
    }
    for (uint64_t i = 1; i <= N; ++i) { /* O(N) construction */
        uint64_t up = i + (i & (~i + 1));
        if (up <= N)
            fw[up] += fw[i];
    }
    uint64_t top = 1;
    while (top * 2 <= N)
        top *= 2;
    uint64_t m = N, events = 0;
    double t = 0.0;
    const double scale = (double)N / (K_ADD * (double)M); /* V / (k M) */
    while (m > target) {
        const double u = ((double)(splitmix64(&rng) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
        t += -log(u) * scale / (double)(m - 1);
        /* i with probability n_i / M: the first index whose prefix sum exceeds r */
        uint64_t r = below(&rng, M), idx = 0;
        for (uint64_t step = top; step; step >>= 1)
            if (idx + step <= N && fw[idx + step] <= r) {
                idx += step;
                r -= fw[idx];
            }
        const uint32_t i = (uint32_t)idx;
        /* j uniform among the other m - 1 alive */
        uint64_t k = below(&rng, m - 1);
        if (k >= pos[i])
            ++k;
        const uint32_t j = alive[k];
        const uint32_t kept = i < j ? i : j, gone = i < j ? j : i;
        const uint32_t ng = n[gone];
        n[kept] += ng;
        n[gone] = 0;
        for (uint64_t x = (uint64_t)kept + 1; x <= N; x += x & (~x + 1))
            fw[x] += ng;
        for (uint64_t x = (uint64_t)gone + 1; x <= N; x += x & (~x + 1))
            fw[x] -= ng;
        const uint32_t last = alive[--m];
        alive[pos[gone]] = last;
        pos[last] = pos[gone];
        ++events;
    }
    const double wall = now_s() - w0, cpu = cpu_s() - c0;
    free(n);
    free(alive);
    free(pos);
    free(fw);
    /* bytes per particle: sizes, alive list, index in it (4 each), Fenwick tree (8) */
    run_out o = {.events = (double)events,
                 .proposals = (double)events,
                 .wall = wall,
                 .cpu = cpu,
                 .t_end = t,
                 .bpp = 4.0 + 4.0 + 4.0 + 8.0,
                 .mass = (double)M};
    return o;
}

static run_out run_one(int wk, uint64_t N, uint32_t seed)
{
    return wk == W_BASELINE ? run_baseline(N, seed) : run_wm(wk, N, seed);
}

/* Mean and variance of the time from N to m_stop particles, additive kernel, V = N. */
static void additive_time_moments(uint64_t N, uint64_t m_stop, double M, double *mean, double *var)
{
    const double scale = (double)N / (K_ADD * M);
    double s1 = 0.0, s2 = 0.0;
    for (uint64_t m = N; m > m_stop; --m) {
        const double x = scale / (double)(m - 1);
        s1 += x;
        s2 += x * x;
    }
    *mean = s1;
    *var = s2;
}

/* A point: reps ensembles on `threads` threads (one ensemble sequence per thread). */
typedef struct point {
    double ev_s;       /* events/s per ensemble sequence (mean over threads) */
    double ev_cpu;     /* events per CPU second (mean over threads) */
    double ev_s_total; /* sum over threads: total merges / wall of the parallel region */
    double accept, bpp, t_end_z;
} point;

static point measure(int wk, uint64_t N, int threads, uint32_t seed0)
{
    const int reps = (int)ceil(EVENTS_PER_POINT / (double)(N - stop_count(wk, N)));
    double ev[2] = {0, 0}, pr[2] = {0, 0}, wl[2] = {0, 0}, cp[2] = {0, 0}, bpp = 0.0, zsum = 0.0;
    int nz = 0;
#pragma omp parallel num_threads(threads) reduction(max : bpp) reduction(+ : zsum, nz)
    {
        const int th = omp_get_thread_num();
        for (int r = 0; r < reps; ++r) {
            const uint32_t seed = seed0 + 1000u * (uint32_t)th + (uint32_t)r;
            run_out o = run_one(wk, N, seed);
            ev[th] += o.events;
            pr[th] += o.proposals;
            wl[th] += o.wall;
            cp[th] += o.cpu;
            bpp = o.bpp > bpp ? o.bpp : bpp;
            if (wk != W_BROWNIAN) {
                double mu, var;
                additive_time_moments(N, stop_count(wk, N), o.mass, &mu, &var);
                zsum += (o.t_end - mu) / sqrt(var);
                nz += 1;
            }
        }
    }
    point pt = {0};
    double evt = 0.0, prt = 0.0;
    for (int th = 0; th < threads; ++th) {
        pt.ev_s += ev[th] / wl[th] / threads;
        pt.ev_cpu += ev[th] / cp[th] / threads;
        evt += ev[th];
        prt += pr[th];
    }
    /* the parallel region also draws the sizes: the sum uses the timed parts only (the
     * slower thread's), so it is the throughput of the two samplers running side by side */
    double wl_max = 0.0;
    for (int th = 0; th < threads; ++th)
        wl_max = wl[th] > wl_max ? wl[th] : wl_max;
    pt.ev_s_total = evt / wl_max;
    pt.accept = evt / prt;
    pt.bpp = bpp;
    pt.t_end_z = nz ? zsum / sqrt((double)nz) : NAN;
    return pt;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const double max_n = argc > 1 ? atof(argv[1]) : 1e7;
    const int trials = argc > 2 ? atoi(argv[2]) : 3;
    if (argc > 3)
        EVENT_CAP = (uint64_t)atof(argv[3]);
    if (!(max_n >= 1e4) || trials < 1 || EVENT_CAP < 1) {
        fprintf(stderr, "usage: bench_coalesce [max_N >= 1e4] [trials >= 1] [event_cap >= 1]\n");
        return 2;
    }
    printf("# bench_coalesce: max_N %.0f, %d trials, event cap %llu, %d CPUs, load average %.2f\n",
           max_n, trials, (unsigned long long)EVENT_CAP, omp_get_num_procs(), loadavg());
    printf("# ev/s: merges per wall second of rebuild + advance (median [min, max] over trials);\n"
           "# ev/cpu-s: per CPU second of the same thread (median); 2 threads: two independent\n"
           "# ensembles at once, one per thread: median ev/s of each (and of both together)\n");
    printf("%-9s %-6s %-7s %-7s %-28s %-9s %-21s %-7s %-6s %-6s %s\n", "workload", "N", "merges",
           "left", "1 thread ev/s", "ev/cpu-s", "2 threads: each (sum)", "accept", "B/part", "Z(t)",
           "reps");
    for (double Nd = 1e4; Nd <= max_n * 1.0001; Nd *= 10.0) {
        const uint64_t N = (uint64_t)Nd;
        for (int wk = 0; wk < N_WORK; ++wk) {
            const int max_threads = wk == W_BASELINE ? 1 : 2;
            double *e1 = malloc(trials * sizeof *e1), *e2 = malloc(trials * sizeof *e2),
                   *e2s = malloc(trials * sizeof *e2s), *ec = malloc(trials * sizeof *ec);
            point last = {0};
            double z = 0.0;
            for (int tr = 0; tr < trials; ++tr) {
                const uint32_t seed0 = 100000u * (uint32_t)(tr + 1);
                point p1 = measure(wk, N, 1, seed0);
                e1[tr] = p1.ev_s;
                ec[tr] = p1.ev_cpu;
                z += p1.t_end_z;
                last = p1;
                if (max_threads > 1) {
                    point p2 = measure(wk, N, 2, seed0 + 50000u);
                    e2[tr] = p2.ev_s;
                    e2s[tr] = p2.ev_s_total;
                }
            }
            z /= sqrt((double)trials);
            qsort(e1, trials, sizeof *e1, cmp_double);
            qsort(ec, trials, sizeof *ec, cmp_double);
            const uint64_t stop = stop_count(wk, N);
            const int reps = (int)ceil(EVENTS_PER_POINT / (double)(N - stop));
            char one[64], two[64] = "-", zs[16] = "-";
            snprintf(one, sizeof one, "%.3g [%.3g, %.3g]", e1[trials / 2], e1[0], e1[trials - 1]);
            if (max_threads > 1) {
                qsort(e2, trials, sizeof *e2, cmp_double);
                qsort(e2s, trials, sizeof *e2s, cmp_double);
                snprintf(two, sizeof two, "%.3g (%.3g)", e2[trials / 2], e2s[trials / 2]);
            }
            if (wk != W_BROWNIAN)
                snprintf(zs, sizeof zs, "%+.2f%s", z, fabs(z) > 4.0 ? "!" : "");
            printf("%-9s %-6.0e %-7.2g %-7.2g %-28s %-9.3g %-21s %-7.4f %-6.1f %-6s %d\n",
                   WORK_NAME[wk], Nd, (double)(N - stop), (double)stop, one, ec[trials / 2], two,
                   last.accept, last.bpp, zs, reps);
            printf("csv,%s,%.0f,%llu,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,%.2f,%.3f,%d\n",
                   WORK_NAME[wk], Nd, (unsigned long long)(N - stop), (unsigned long long)stop,
                   e1[trials / 2], e1[0], e1[trials - 1], ec[trials / 2],
                   max_threads > 1 ? e2[trials / 2] : NAN, max_threads > 1 ? e2s[trials / 2] : NAN,
                   last.accept, last.bpp, z, reps);
            fflush(stdout);
            free(e1);
            free(e2);
            free(e2s);
            free(ec);
        }
    }
    printf("# load average at the end %.2f\n", loadavg());
    return 0;
}
