/* bench_cpu.c: CPU engine throughput (events/s) on the demo workload, against a baseline.
 *
 * Workload: Pt(acac)2 (Table 1), monodisperse n0 = 300, constant S = 8 (the demo's
 * hypersaturated phase), N = 1e4 .. 1e7 particles on 1 and 2 threads. Each point simulates
 * 2 s (sizes stay within the rate table, as in the demo) and repeats the ensemble with new
 * seeds until ~1e8 events have been done. Baseline: a population-level direct-method SSA over size
 * classes (counts per n, one event at a time, linear search over the propensities), which is
 * what a generic SSA tool does with this model; it runs on one thread.
 * Each point is measured in `trials` trials; within a trial every thread count runs once, in
 * turn, so that slow drifts of a shared VM hit all thread counts alike; the table gives the
 * median and the range, and the speedup is the ratio of medians.
 * Usage: bench_cpu [max_N] [threads_max] [trials]   Output: a table, also as CSV lines "csv,...".
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npgrow/engine.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const npg_model PT = {3.04, -1.35, 6.50, 1.40, 0.171, 0.155672, 1.76};
#define N0       300u
#define SUPERSAT 8.0

static void make_config(npg_config *c, double *ts, double *ss, uint64_t particles, double t_end)
{
    memset(c, 0, sizeof *c);
    c->model = PT;
    strcpy(c->time_unit, "s");
    c->supply = NPG_SUPPLY_SCHEDULE;
    ts[0] = 0.0;
    ts[1] = t_end;
    ss[0] = ss[1] = SUPERSAT;
    c->schedule_len = 2;
    c->schedule_t = ts;
    c->schedule_s = ss;
    c->init_kind = NPG_INIT_MONODISPERSE;
    c->init_n = N0;
    c->particles = particles;
    c->t_end = t_end;
    c->output_every = t_end;
    c->seed = 2024;
    c->n_table = NPG_RATES_DEFAULT_N_TABLE;
}

/* Events/s of the particle engine; the advance time alone (no reductions). */
static double bench_engine(uint64_t N, int threads, double *bpp, double *events_out)
{
    /* ~120 events per particle over 2 s at n0 = 300, S = 8: N x reps >= 2e5 gives >= 4.7e7. */
    const double t_end = 2.0;
    int reps = (int)ceil(2e5 / (double)N);
    double events = 0.0, wall = 0.0;
    for (int rep = 0; rep < reps; ++rep) {
        npg_config c;
        double ts[2], ss[2];
        make_config(&c, ts, ss, N, t_end);
        c.seed = 2024u + (uint32_t)rep;
        npg_ensemble_options o = {0};
        o.backend = "cpu";
        o.threads = threads;
        npg_ensemble *e;
        char err[512];
        if (npg_ensemble_create(&e, &c, &o, err, sizeof err)) {
            fprintf(stderr, "bench_cpu: %s\n", err);
            exit(1);
        }
        /* Advance in 8 intervals, as a run with outputs would. */
        for (int k = 1; k <= 8; ++k)
            if (npg_ensemble_advance_to(e, t_end * k / 8.0, err, sizeof err)) {
                fprintf(stderr, "bench_cpu: %s\n", err);
                exit(1);
            }
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

/* Baseline: direct-method SSA on the population (counts per size class). */
static double bench_population(uint64_t N, double *events_out)
{
    const uint32_t len = 4096;
    npg_rate_pair *tab = malloc(len * sizeof *tab);
    uint64_t *cnt = calloc(len, sizeof *cnt);
    npg_rates_fill(tab, len, &PT);
    cnt[N0] = N;
    npg_u32x2 key = npg_philox_key(7, 0);
    uint64_t events = 0, draw = 0;
    double t = 0.0, t_end = 2e6 / (double)N / 80.0 * 10.0;
    uint32_t lo = N0, hi = N0;
    double w0 = now_s();
    while (t < t_end && events < 20000000ULL) {
        double a0 = 0.0;
        for (uint32_t n = lo; n <= hi; ++n)
            a0 += (double)cnt[n] * (SUPERSAT * tab[n].assoc + tab[n].dissoc);
        npg_u32x4 b = npg_philox4x32_10(npg_philox_counter((uint32_t)draw, draw >> 32, 0), key);
        ++draw;
        t += npg_exponential(b.x) / a0;
        double x = npg_u01_closed0(b.y) * a0, acc = 0.0;
        for (uint32_t n = lo; n <= hi; ++n) {
            double up = (double)cnt[n] * SUPERSAT * tab[n].assoc;
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
                if (n - 1 < lo)
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
    *events_out = (double)events;
    return (double)events / wall;
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
    if (tmax < 1 || tmax > 64 || trials < 1 || trials > 99 || !(max_n >= 1e4)) {
        fprintf(stderr, "usage: bench_cpu [max_N >= 1e4] [threads_max 1..64] [trials 1..99]\n");
        return 2;
    }
    printf("# npgrow CPU benchmark: Pt(acac)2, n0 = %u, S = %g (events/s of the advance)\n", N0,
           SUPERSAT);
    printf(
        "# %d trials per point, thread counts interleaved within each trial; median [min, max]\n",
        trials);
    printf("%10s %8s %14s %14s %24s %10s %8s\n", "N", "threads", "events/trial", "events/s",
           "[min, max]", "speedup", "B/part");
    for (double N = 1e4; N <= max_n * 1.0001; N *= 10) {
        double rate[64][99], ev = 0.0, bpp = 0.0;
        for (int k = 0; k < trials; ++k)
            for (int th = 1; th <= tmax; ++th)
                rate[th - 1][k] = bench_engine((uint64_t)N, th, &bpp, &ev);
        double one = 0.0;
        for (int th = 1; th <= tmax; ++th) {
            qsort(rate[th - 1], (size_t)trials, sizeof(double), cmp_double);
            const double med =
                trials % 2 ? rate[th - 1][trials / 2]
                           : 0.5 * (rate[th - 1][trials / 2 - 1] + rate[th - 1][trials / 2]);
            if (th == 1)
                one = med;
            printf("%10.0e %8d %14.4g %14.4g   [%9.4g, %9.4g] %10.2f %8.0f\n", N, th, ev, med,
                   rate[th - 1][0], rate[th - 1][trials - 1], med / one, bpp);
            printf("csv,engine,%.0f,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", N, th, ev, med, rate[th - 1][0],
                   rate[th - 1][trials - 1], bpp);
            fflush(stdout);
        }
        double pev;
        double pop = bench_population((uint64_t)N, &pev);
        printf("%10.0e %8s %14.4g %14.4g %24s %10s   population direct-method SSA baseline; "
               "engine/baseline (1 thread) = %.0fx\n",
               N, "1", pev, pop, "", "-", one / pop);
        printf("csv,population,%.0f,1,%.6g,%.6g,,,\n", N, pev, pop);
        fflush(stdout);
    }
    return 0;
}
