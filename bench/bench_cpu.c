/* bench_cpu.c: CPU engine throughput (events/s) on the demo workload, against a baseline.
 *
 * Workload: the demo, configs/pt-acac.yaml (Pt(acac)2, Table 1; lognormal start, r 1.058 +-
 * 0.230 nm; output every 1 s), in its three supply phases, each over 2 s of simulated time in
 * 1 s synchronization intervals (the demo's output interval):
 *   hyper  S = 3.5 constant             (demo 0-45 s and 105-180 s, 2/3 of its time)
 *   ramp   S from 3.5 towards 2.0, 0.3/s (demo 45-50 s and 100-105 s: thinning rejections)
 *   super  S = 2.0 constant             (demo 50-100 s: sizes n* = 58 .. n** = 1417 shrink)
 * N = 1e4 .. max_N particles on 1 .. threads_max threads. Small N repeat the ensemble with new
 * seeds until N x reps >= 8e5 (about 1e8 events in the hyper phase). events/s is accepted
 * events over the time inside the backend's advance (no reductions, no output).
 * Each point is measured in `trials` trials; within a trial every thread count runs once, in
 * turn, so that slow drifts of a shared VM hit all thread counts alike; the table gives the
 * median and the range, and the speedup is the ratio of medians.
 * Baseline (hyper phase, one thread): a population-level direct-method SSA over size classes
 * (counts per n from the same start, one event at a time, linear search over the occupied
 * classes), which is what a generic SSA tool does with this model.
 * Usage: bench_cpu [max_N] [threads_max] [trials] [config]
 * Output: a table, also as CSV lines "csv,...".
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npgrow/config.h"
#include "npgrow/engine.h"
#include "npgrow/init.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct phase {
    const char *name;
    double s0, s1, ramp_s; /* S(t) from s0 to s1 over ramp_s [s] (s0 == s1: constant) */
} phase;

static const phase PHASES[] = {
    {"hyper", 3.5, 3.5, 1.0},
    {"ramp", 3.5, 2.0, 5.0},
    {"super", 2.0, 2.0, 1.0},
};
#define N_PHASES (sizeof PHASES / sizeof PHASES[0])
#define T_PHASE  2.0 /* [s] simulated per ensemble */

static npg_config DEMO; /* loaded once; schedule replaced per phase */

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_cpu: %s: %s\n", what, err);
    exit(1);
}

/* An OpenMP parallel region that the compiler cannot drop. */
static void wake_team(int threads)
{
    static volatile int sink;
    (void)sink;
#pragma omp parallel num_threads(threads)
    sink = omp_get_thread_num();
}

/* Events/s of the particle engine; the advance time alone (no reductions). */
static double bench_engine(const phase *ph, uint64_t N, int threads, double *bpp,
                           double *events_out)
{
    const int reps = (int)ceil(8e5 / (double)N);
    double events = 0.0, wall = 0.0;
    for (int rep = 0; rep < reps; ++rep) {
        npg_config c = DEMO;
        double ts[2] = {0.0, ph->ramp_s}, ss[2] = {ph->s0, ph->s1};
        c.schedule_len = 2;
        c.schedule_t = ts;
        c.schedule_s = ss;
        c.particles = N;
        c.t_end = T_PHASE;
        c.seed = 2024u + (uint32_t)rep;
        npg_ensemble_options o = {0};
        o.backend = "cpu";
        o.threads = threads;
        npg_ensemble *e;
        char err[512];
        if (npg_ensemble_create(&e, &c, &o, err, sizeof err))
            die("create", err);
        /* Wake the thread team before the timed intervals. In a run, intervals follow each
         * other and the team is still spinning; here the untimed set-up of each new ensemble
         * lets it fall asleep, and waking a halted vCPU costs a VM from 0.1 to several ms (the
         * header's wake-up line): a cost of this benchmark's repetitions, not of the engine. */
        wake_team(threads);
        for (double t = DEMO.output_every; t <= T_PHASE + 1e-9; t += DEMO.output_every)
            if (npg_ensemble_advance_to(e, t, err, sizeof err))
                die("advance", err);
        npg_supply_state st;
        npg_ensemble_state(e, &st);
        *bpp = npg_ensemble_backend(e)->bytes_per_particle;
        events += (double)st.events;
        wall += st.advance_wall_s;
        npg_ensemble_destroy(e);
    }
    *events_out = events;
    return events / wall;
}

/* Baseline: direct-method SSA on the population (counts per size class), hyper phase. */
static double bench_population(uint64_t N, double *events_out)
{
    const double s = PHASES[0].s0;
    npg_init_view v;
    double *cdf = NULL;
    char err[512];
    if (npg_config_init_view(&DEMO, &v, &cdf, err, sizeof err))
        die("initial sizes", err);
    const uint32_t len = 1u << 14;
    npg_rate_pair *tab = malloc(len * sizeof *tab);
    uint64_t *cnt = calloc(len, sizeof *cnt);
    if (!tab || !cnt)
        die("baseline", "out of memory");
    npg_rates_fill(tab, len, &DEMO.model);
    uint32_t lo = len - 1, hi = 2;
    for (uint64_t i = 0; i < N; ++i) {
        uint32_t n = npg_init_sample(&v, 2024u, (uint32_t)i);
        n = n < len - 2 ? n : len - 2;
        cnt[n]++;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    npg_u32x2 key = npg_philox_key(7, 0);
    uint64_t events = 0, draw = 0;
    double t = 0.0;
    const double w0 = now_s();
    while (t < T_PHASE && events < 2000000ULL && hi < len - 2) {
        double a0 = 0.0;
        for (uint32_t n = lo; n <= hi; ++n)
            a0 += (double)cnt[n] * (s * tab[n].assoc + tab[n].dissoc);
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter((uint32_t)draw, draw >> 32, 0), key);
        ++draw;
        t += npg_exponential(b.x) / a0;
        double x = npg_u01_closed0(b.y) * a0, acc = 0.0;
        for (uint32_t n = lo; n <= hi; ++n) {
            double up = (double)cnt[n] * s * tab[n].assoc;
            double dn = (double)cnt[n] * tab[n].dissoc;
            if (x < acc + up) {
                cnt[n]--;
                cnt[n + 1]++;
                if (n + 1 > hi)
                    hi = n + 1;
                break;
            }
            acc += up;
            if (x < acc + dn) {
                cnt[n]--;
                cnt[n - 1]++;
                if (n - 1 < lo && n - 1 >= 2)
                    lo = n - 1;
                break;
            }
            acc += dn;
        }
        ++events;
    }
    double wall = now_s() - w0;
    free(tab);
    free(cnt);
    free(cdf);
    *events_out = (double)events;
    return (double)events / wall;
}

/* OpenMP team fork after 5 ms of idling (threads asleep), 200 times: mean and max. [s] */
static void wakeup_latency(int threads, double *mean, double *max)
{
    double sum = 0.0, mx = 0.0;
    for (int k = 0; k < 200; ++k) {
        const struct timespec idle = {0, 5000000};
        nanosleep(&idle, NULL);
        const double w0 = now_s();
        wake_team(threads);
        const double w = now_s() - w0;
        sum += w;
        mx = w > mx ? w : mx;
    }
    *mean = sum / 200.0;
    *max = mx;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double max_n = argc > 1 ? atof(argv[1]) : 1e7;
    int tmax = argc > 2 ? atoi(argv[2]) : 2;
    int trials = argc > 3 ? atoi(argv[3]) : 5;
    const char *path = argc > 4 ? argv[4] : NPGROW_CONFIG_DIR "/pt-acac.yaml";
    if (tmax < 1 || tmax > 64 || trials < 1 || trials > 99 || !(max_n >= 1e4)) {
        fprintf(stderr, "usage: bench_cpu [max_N >= 1e4] [threads_max 1..64] [trials 1..99] "
                        "[config]\n");
        return 2;
    }
    char err[1024];
    if (npg_config_load(path, &DEMO, err, sizeof err))
        die("config", err);
    printf("# npgrow CPU benchmark: %s, %g s per ensemble in %g s intervals; events/s of the "
           "advance\n",
           path, T_PHASE, DEMO.output_every);
    printf("# %d trials per point, thread counts interleaved within each trial; median [min, "
           "max]\n",
           trials);
    double wake_mean, wake_max;
    wakeup_latency(tmax, &wake_mean, &wake_max);
    printf("# OpenMP team of %d waking after 5 ms idle (200 times): mean %.0f us, max %.0f us\n",
           tmax, wake_mean * 1e6, wake_max * 1e6);
    printf("%6s %10s %8s %14s %14s %24s %10s %8s\n", "phase", "N", "threads", "events/trial",
           "events/s", "[min, max]", "speedup", "B/part");
    for (double N = 1e4; N <= max_n * 1.0001; N *= 10) {
        double hyper_one = 0.0;
        for (size_t p = 0; p < N_PHASES; ++p) {
            double rate[64][99], ev = 0.0, bpp = 0.0;
            for (int k = 0; k < trials; ++k)
                for (int th = 1; th <= tmax; ++th)
                    rate[th - 1][k] = bench_engine(&PHASES[p], (uint64_t)N, th, &bpp, &ev);
            double one = 0.0;
            for (int th = 1; th <= tmax; ++th) {
                double *r = rate[th - 1];
                qsort(r, (size_t)trials, sizeof(double), cmp_double);
                const double med =
                    trials % 2 ? r[trials / 2] : 0.5 * (r[trials / 2 - 1] + r[trials / 2]);
                if (th == 1)
                    one = med;
                printf("%6s %10.0e %8d %14.4g %14.4g   [%9.4g, %9.4g] %10.2f %8.0f\n",
                       PHASES[p].name, N, th, ev, med, r[0], r[trials - 1], med / one, bpp);
                printf("csv,engine,%s,%.0f,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", PHASES[p].name, N, th,
                       ev, med, r[0], r[trials - 1], bpp);
                fflush(stdout);
            }
            if (p == 0)
                hyper_one = one;
        }
        double pev;
        double pop = bench_population((uint64_t)N, &pev);
        printf("%6s %10.0e %8s %14.4g %14.4g %24s %10s   population direct-method SSA "
               "baseline; engine/baseline (hyper, 1 thread) = %.0fx\n",
               "hyper", N, "1", pev, pop, "", "-", hyper_one / pop);
        printf("csv,population,hyper,%.0f,1,%.6g,%.6g,,,\n", N, pev, pop);
        fflush(stdout);
    }
    npg_config_free(&DEMO);
    return 0;
}
