/* bench_brownian.c: Brownian-dynamics coalescence throughput (particle-steps/s) on the CPU
 * (npgrow/brownian.h; issue "Coalescence II", item 8).
 *
 * Workload: the study's coalescence parameters (model.md 3.1-3.5) at its dilution, particles
 * ~45 nm apart (box edge L = 45 N^(1/3) nm): Pt, sigma_s = 0.155672 nm; radii uniform in
 * [0.85, 1.30] nm (n = 170 .. 590); D_i = f(t) D_ref r_ref / (R_i + l) with D_ref r_ref =
 * D_r(0)/2 (1.058 + l) = 4.74 nm^3/s and f(t) = (1 + 0.1607 t)^-0.7336 (D_i = D_r(t)/2 at the
 * mean radius); l = 2.87 nm; Gaussian shell, nu^2 = 9.93e-3 nm^2; kappa_c = 11.6 /s; Fermi
 * propensity gamma = 7.64 /nm, sigma_c = 3.0078 nm; automatic step (sqrt(2 D_max dt) <= nu/3,
 * 7.6e-4 s at t = 8 s). Initial minimum distance 20 nm (the study's r_c = 44 nm is beyond
 * random sequential addition's jamming limit at this density: spheres of 44 nm diameter at
 * 45 nm spacing fill 0.49 of the box, RSA jams at 0.38).
 * Each point: place the particles, then advance from t = 8 s for max(300, 5e7 / N) steps;
 * particle-steps/s = alive particles x steps / wall time of the advance. Trials interleave the
 * thread counts; the table gives the median and range, the time split of the median trial
 * (moves / cell-list rebuilds / pair search / hard core + reactions + merges), reactions,
 * rebuilds and bytes per particle (the engine's 8 bytes of n, n_prev not included).
 * At this dilution and r_c no pair meets within the measured steps (the first contact needs
 * ~(20 - 6 nm)^2 / (6 D_r) ~ 25 s of simulated time), so a second workload measures merges:
 * "dense", N = 1e5 at 12 nm spacing, no minimum distance beyond contact, 2000 steps (~7 % of
 * the particles merge): events/s and the share of the serial close-pair work.
 * With "cuda" as the fourth argument the GPU's device is attached (npg_bd_device_cuda: moves,
 * pair search, rebuilds on the GPU; the serial close-pair work on the host's mirror): N from
 * 1e5, one host thread count (threads_max), and the table adds the device's bytes per particle
 * and the slots fetched to / put back from the host per step.
 * With NPG_BD_BRIDGE=1 in the environment the shell is sampled along the Brownian bridge at a
 * step of 2 nu (shell_sampling: bridge, step_resolution: 0.5, as configs/pt-acac-coalescence.yaml):
 * 36 times the simulated time per step, at a cost per particle-step that this measures.
 * Usage: bench_brownian [max_N] [threads_max] [trials] [cpu|cuda]
 * Output: a table, also as CSV lines "csv,...".
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/brownian.h"

typedef struct result {
    double rate, wall, place_s;
    npg_bd_stats st;
    double bpp, dev_bpp;
} result;

static int use_cuda, use_bridge;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_brownian: %s: %s\n", what, err);
    exit(1);
}

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static result run_point(uint64_t N, int threads, uint64_t steps, double spacing, double rc)
{
    npg_bd_params p;
    memset(&p, 0, sizeof p);
    p.coal.sigma_s = 0.155672;
    p.coal.ligand = 2.87;
    p.coal.d_ref_r_ref = 2.414055334520468 / 2.0 * (1.058 + 2.87);
    p.coal.tf_b = 0.1607303938434139;
    p.coal.tf_c = 0.7335647561434824;
    p.coal.fermi = 1;
    p.coal.gamma = 7.64;
    p.coal.sigma_c = 3.007832240727688;
    p.box_nm = spacing * cbrt((double)N);
    p.kappa_c = 11.6;
    p.shell_nm = sqrt(9.93e-3);
    p.shell = NPG_BD_SHELL_GAUSSIAN;
    p.seed = 12345u;
    p.threads = threads;
    if (use_bridge) {
        p.sampling = NPG_BD_SAMPLE_BRIDGE;
        p.dt_resolution = 0.5;
    }
    uint32_t *n = malloc(N * sizeof *n);
    if (!n)
        die("memory", "sizes");
    for (uint64_t i = 0; i < N; ++i) {
        const double r = 0.85 + 0.45 * (hash32((uint32_t)i) * 2.3283064365386963e-10);
        n[i] = (uint32_t)lround(pow(r / p.coal.sigma_s, 3.0));
    }
    char err[512];
    npg_bd *bd;
    if (npg_bd_create(&bd, &p, N, err, sizeof err))
        die("create", err);
    if (use_cuda) {
        npg_bd_device *dev = npg_bd_device_cuda(N, err, sizeof err);
        if (!dev || npg_bd_attach(bd, dev, err, sizeof err))
            die("device", err);
    }
    double t0 = omp_get_wtime();
    if (npg_bd_place_all(bd, n, rc, err, sizeof err))
        die("place", err);
    result r;
    r.place_s = omp_get_wtime() - t0;
    const double dt = npg_bd_step(bd, n, 8.0, 9.0);
    t0 = omp_get_wtime();
    if (npg_bd_advance(bd, n, 8.0, 8.0 + dt * (double)steps, NULL, NULL, err, sizeof err))
        die("advance", err);
    r.wall = omp_get_wtime() - t0;
    npg_bd_get_stats(bd, &r.st);
    r.rate = (double)r.st.particle_steps / r.wall;
    r.bpp = npg_bd_bytes_per_particle(bd);
    r.dev_bpp = npg_bd_device_bytes_per_particle(bd);
    npg_bd_destroy(bd);
    free(n);
    return r;
}

static int cmp_res(const void *a, const void *b)
{
    double x = ((const result *)a)->rate, y = ((const result *)b)->rate;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const double maxN = argc > 1 ? atof(argv[1]) : 1e6;
    const int tmax = argc > 2 ? atoi(argv[2]) : 2;
    const int trials = argc > 3 ? atoi(argv[3]) : 3;
    use_cuda = argc > 4 && !strcmp(argv[4], "cuda");
    if (!(maxN >= 1e3) || tmax < 1 || tmax > 64 || trials < 1 || trials > 99 ||
        (argc > 4 && !use_cuda && strcmp(argv[4], "cpu"))) {
        fprintf(stderr, "usage: bench_brownian [max_N >= 1e3] [threads_max] [trials] [cpu|cuda]\n");
        return 2;
    }
    use_bridge = getenv("NPG_BD_BRIDGE") && strcmp(getenv("NPG_BD_BRIDGE"), "0");
    printf("Brownian-dynamics coalescence%s, study parameters at 45 nm spacing, %s; %d trial(s)\n",
           use_cuda ? " on the GPU (npg_bd_device_cuda)" : "",
           use_bridge ? "bridge sampling, step 2 nu" : "step-end sampling, step nu/3", trials);
    printf("%9s %3s %6s %12s %22s %8s %26s %7s %6s %7s%s\n", "N", "thr", "steps", "p-steps/s",
           "[min, max]", "wall s", "moves/cells/pairs/merges %", "reacts", "rebld", "B/part",
           use_cuda ? "  dev B/part fetch/step put/step" : "");
    const int tmin = use_cuda ? tmax : 1;
    for (double Nd = use_cuda ? 1e5 : 1e4; Nd <= maxN * 1.0001; Nd *= 10.0) {
        const uint64_t N = (uint64_t)Nd;
        uint64_t steps = (uint64_t)((use_cuda ? 1e9 : 5e7) / Nd);
        if (steps < (use_cuda ? 100u : 300u))
            steps = use_cuda ? 100u : 300u;
        if (use_cuda && steps > 3000)
            steps = 3000;
        static result res[65][99];
        for (int tr = 0; tr < trials; ++tr)
            for (int th = tmin; th <= tmax; th *= 2)
                res[th][tr] = run_point(N, th, steps, 45.0, 20.0);
        for (int th = tmin; th <= tmax; th *= 2) {
            qsort(res[th], (size_t)trials, sizeof res[th][0], cmp_res);
            const result *m = &res[th][trials / 2];
            const double tot = m->st.t_moves + m->st.t_cells + m->st.t_pairs + m->st.t_merges;
            printf("%9.0e %3d %6llu %12.3e [%9.3e, %9.3e] %8.2f %5.1f/%5.1f/%5.1f/%5.1f %7llu "
                   "%6llu %7.1f\n",
                   Nd, th, (unsigned long long)steps, m->rate, res[th][0].rate,
                   res[th][trials - 1].rate, m->wall, 100 * m->st.t_moves / tot,
                   100 * m->st.t_cells / tot, 100 * m->st.t_pairs / tot, 100 * m->st.t_merges / tot,
                   (unsigned long long)m->st.reactions, (unsigned long long)m->st.rebuilds, m->bpp);
            if (use_cuda)
                printf("          device: %.1f B/particle, %.1f slots fetched and %.1f put per "
                       "step\n",
                       m->dev_bpp, (double)m->st.dev_fetched / (double)m->st.steps,
                       (double)m->st.dev_put / (double)m->st.steps);
            printf("csv,%.0f,%d,%llu,%.6e,%.6e,%.6e,%.4f,%.4f,%.4f,%.4f,%.4f,%llu,%llu,%.2f,%.4f,"
                   "%.3f,%.3f,%.3f,%u,%.3e\n",
                   Nd, th, (unsigned long long)steps, m->rate, res[th][0].rate,
                   res[th][trials - 1].rate, m->wall, m->st.t_moves, m->st.t_cells, m->st.t_pairs,
                   m->st.t_merges, (unsigned long long)m->st.reactions,
                   (unsigned long long)m->st.rebuilds, m->bpp, m->place_s, m->st.cell_nm,
                   m->st.excursion_nm, m->st.rcut_nm, m->st.cells_per_axis, m->st.dt_last);
        }
        fflush(stdout);
    }
    printf("dense (1e5 particles, 12 nm spacing, 2000 steps): merges\n");
    printf("%3s %12s %12s %8s %26s %7s\n", "thr", "p-steps/s", "events/s", "wall s",
           "moves/cells/pairs/merges %", "reacts");
    for (int th = tmin; th <= tmax; th *= 2) {
        result m = run_point(100000, th, 2000, 12.0, 0.0);
        const double tot = m.st.t_moves + m.st.t_cells + m.st.t_pairs + m.st.t_merges;
        printf("%3d %12.3e %12.3e %8.2f %5.1f/%5.1f/%5.1f/%5.1f %7llu\n", th, m.rate,
               (double)m.st.reactions / m.wall, m.wall, 100 * m.st.t_moves / tot,
               100 * m.st.t_cells / tot, 100 * m.st.t_pairs / tot, 100 * m.st.t_merges / tot,
               (unsigned long long)m.st.reactions);
        printf("csv-dense,%d,%.6e,%.6e,%.4f,%.4f,%.4f,%.4f,%.4f,%llu\n", th, m.rate,
               (double)m.st.reactions / m.wall, m.wall, m.st.t_moves, m.st.t_cells, m.st.t_pairs,
               m.st.t_merges, (unsigned long long)m.st.reactions);
    }
    return 0;
}
