// test_bd_pair.cpp: Brownian dynamics (npgrow/brownian.h) against the pair-correlation equation
// of `npgrow pair` (npgrow/pair.h) on a dilute, fixed-size, study-like system (issue 12, item 6).
//
// One config feeds both sides (npg_bd_params_from_config, npg_pair_create): Pt particles of one
// size n0 (R = sigma_s n0^(1/3), sigma = 2 R frozen), the study's shell (nu = 0.098 nm, l = 2.85
// nm, kappa_c = 11.6 /s, Fermi propensity gamma = 7.60 /nm, sigma_c = 3.008 nm: a constant P at
// this frozen sigma), D_i from the study's diffusion keys at that size with its time factor
// (D_r(t) = D_i + D_j = 2 f(t) D_ref r_ref/(R + l), pair.d_r: from_diffusion), uniform initial
// positions with no pair closer than r_c (random sequential addition; the pair equation's
// initial g(r, 0) = 0 below r_c and 1 above). Reactions remove both partners (A + A -> 0,
// on_reaction = NPG_BD_REMOVE), so sizes never change; the pair equation's k_f(t) [nm^3/s] is the
// two-body rate coefficient with the shell and the (constant) Fermi propensity.
//
// Statistics. Reactions are counted on a grid of h = 0.05 s; over grid interval j, with N_j
// particles at its start, the expected count is Lambda_j = (K_{j+1} - K_j) N_j (N_j - 1) / (2V),
// K(t) = int_0^t k_f (the pair equation's `absorbed`); count - Lambda is a martingale with
// variance Lambda (Poisson), so per window z_k = (count - Lambda) / sqrt(Lambda), and the BD rate
// coefficient over a window is k_BD = count / sum_j h N_j (N_j - 1) / (2V) against the pair
// equation's mean k_f over the window. A(t) = N(t)/N(0) against the mean field's dA/dt =
// -c0 k_f A^2 (two particles per reaction, c0 = N(0)/V): A = 1/(1 + c0 K(t)), with
// z_A = (N - N0 A) / sqrt(2 N0 (1 - A)) (Var N = 4 Var(reactions), reactions ~ Poisson). Pass:
// |z| < 5 in every window and overall. Failing is shown with kappa_c too large in the pair
// equation (k_a ~ k_D here, so k_f moves by about half as much): 2x in the short test, 1.2x in
// the long one, |z| > 5 overall.
//
// Where the two differ in principle, and why it is negligible here:
//  - random sequential addition at density c0 with exclusion diameter r_c has g(r_c+) ~ 1 + O(phi),
//    phi = c0 pi r_c^3 / 6, above the pair equation's step: more pairs start just outside r_c and
//    arrive in the onset windows. Measured with the long version (2e5 particles): at r_c = 10 nm
//    (phi = 0.052) BD reacted +5.6 % more than the pair equation (z = 2.5, one seed), all of it
//    in the windows 3-7 s (z_k up to 2.5, z_A down to -4.1), the later windows agreeing; at
//    r_c = 8 nm (phi = 0.027) +2.2, +3.2, +2.6, +4.5 % over seeds 2-5 (z 1.4-2.8; seed 1 gave
//    +0.6 %), at every time step (nu/3 to 3 nu) and both shell samplings alike; at r_c = 4 nm
//    (phi = 0.0034, used here; pairs start inside the shell's reach, so the first window
//    reacts at once) 0.0, +0.7, -1.3, +1.6 % (step nu: sqrt(2 D dt) = nu);
//  - the pair equation is a two-body (dilute) theory; three-body corrections are O(c0 k/D ...)
//    small at 1e-4 nm^-3 (the Collins-Kimball test of test_brownian.cpp agrees at 3e-4);
//  - the BD step resolves the shell (sqrt(2 D_i dt) <= nu/3, the automatic step).
//
// Units: nm, s.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <unistd.h>

#include "npgrow/brownian.h"
#include "npgrow/config.h"
#include "npgrow/pair.h"

namespace
{

constexpr double kZmax = 5.0;

struct Config {
    npg_config cfg{};
    int rc = 1;
    std::string err;
    explicit Config(const std::string &text)
    {
        char t[] = "/tmp/npg_bdpair_XXXXXX";
        int fd = mkstemp(t);
        if (fd < 0)
            return;
        FILE *f = fdopen(fd, "w");
        fputs(text.c_str(), f);
        fclose(f);
        char buf[2048] = "";
        rc = npg_config_load(t, &cfg, buf, sizeof buf);
        err = buf;
        remove(t);
    }
    ~Config() { npg_config_free(&cfg); }
};

// The study-like system: n0 monomers per particle (R = 0.155672 n0^(1/3) nm), N particles at
// density rho [nm^-3], r_c [nm], up to T [s]; kappa_c scaled by kscale.
std::string system_yaml(uint32_t n0, uint64_t N, double rho, double rc, double T, double kscale,
                        uint32_t seed)
{
    char b[4096];
    snprintf(b, sizeof b,
             "system: {preset: pt-acac}\n"
             "supply: {mode: schedule, supersaturation: [[0, 1.0], [1e6, 1.0]], monomer_exchange: "
             "false}\n"
             "initial: {kind: monodisperse, n: %u}\n"
             "run: {particles: %llu, t_end: %.17g, output_every: 1, seed: %u}\n"
             "coalescence:\n"
             "  mode: brownian\n"
             "  particle_density_nm3: %.17g\n"
             "  diffusion: {d_ref_nm2_per_s: 0.658, r_ref_nm: 3.93}\n"
             "  time_factor: {b_per_time: 0.0703, c: 0.7336}\n"
             "  ligand_nm: 2.84967169163257\n"
             "  propensity: {kind: fermi, gamma_per_nm: 7.60142298460863, sigma_c_nm: "
             "3.007832240727688}\n"
             "  kappa_c_per_s: %.17g\n"
             "  shell: gaussian\n"
             "  shell_width_nm: 0.09799488661999976\n"
             "  initial_min_distance_nm: %.17g\n"
             "pair:\n"
             "  sigma: {kind: frozen, nm: %.17g}\n"
             "  d_r: {kind: from_diffusion}\n"
             "  rmax_nm: 300\n"
             "  cells: 4000\n",
             n0, (unsigned long long)N, T, seed, rho, 11.6229739205327 * kscale, rc,
             2 * 0.155672 * std::cbrt((double)n0));
    return b;
}

// K(t) = int_0^t k_f on the grid t_j = j h, from npg_pair.
std::vector<double> pair_K(const npg_config &cfg, double h, size_t J)
{
    npg_pair *p = nullptr;
    char err[1024] = "";
    std::vector<double> K(J + 1, 0.0);
    EXPECT_EQ(npg_pair_create(&p, &cfg, nullptr, err, sizeof err), 0) << err;
    if (!p)
        return K;
    for (size_t j = 1; j <= J; ++j) {
        EXPECT_EQ(npg_pair_advance(p, (double)j * h, err, sizeof err), 0) << err;
        npg_pair_state st;
        npg_pair_get(p, &st);
        K[j] = st.absorbed;
    }
    npg_pair_destroy(p);
    return K;
}

struct BdRun {
    double V = 0, N0 = 0;
    std::vector<double> N;      // N_j at t_j, j = 0..J
    std::vector<double> counts; // reactions in (t_j, t_{j+1}]
};

int count_event(void *ctx, const npg_wm_event *)
{
    *static_cast<double *>(ctx) += 1.0;
    return 0;
}

BdRun run_bd(const npg_config &cfg, double h, size_t J, int threads)
{
    BdRun r;
    npg_bd_params p;
    npg_bd_params_from_config(&cfg, threads, &p);
    p.on_reaction = NPG_BD_REMOVE;
    const uint64_t N = cfg.particles;
    r.V = p.box_nm * p.box_nm * p.box_nm;
    npg_bd *bd = nullptr;
    char err[1024] = "";
    EXPECT_EQ(npg_bd_create(&bd, &p, N, err, sizeof err), 0) << err;
    if (!bd)
        return r;
    std::vector<uint32_t> n(N, cfg.init_n);
    EXPECT_EQ(npg_bd_place_all(bd, n.data(), cfg.coal.initial_min_distance_nm, err, sizeof err), 0)
        << err;
    r.N0 = (double)N;
    r.N.push_back(r.N0);
    double alive = r.N0;
    for (size_t j = 0; j < J; ++j) {
        double c = 0.0;
        EXPECT_EQ(npg_bd_advance(bd, n.data(), (double)j * h, (double)(j + 1) * h, count_event, &c,
                                 err, sizeof err),
                  0)
            << err;
        r.counts.push_back(c);
        alive -= 2.0 * c;
        r.N.push_back(alive);
    }
    npg_bd_stats st;
    npg_bd_get_stats(bd, &st);
    std::printf("  BD: %llu particles, box %.1f nm, %llu steps (last dt %.3g s), %llu "
                "reactions, %llu conflicts; wall s: moves %.2f, cells %.2f, pairs %.2f\n",
                (unsigned long long)N, p.box_nm, (unsigned long long)st.steps, st.dt_last,
                (unsigned long long)st.reactions, (unsigned long long)st.conflicts, st.t_moves,
                st.t_cells, st.t_pairs);
    npg_bd_destroy(bd);
    return r;
}

struct Window {
    double t0, t1;
};

// Per-window z of the reaction counts against K and of A at the window's end; the largest |z|
// of each kind, and the overall count's z.
struct Verdict {
    double zmax_k = 0, zmax_A = 0, z_all = 0;
};

Verdict judge(const BdRun &r, const std::vector<double> &K, double h, const std::vector<Window> &ws,
              const char *label)
{
    Verdict v;
    double c_all = 0, l_all = 0;
    std::printf("  %s\n  %9s %8s %12s %12s %8s %9s %9s %8s\n", label, "window", "count", "k_BD",
                "k_pair", "z_k", "A_BD", "A_pair", "z_A");
    for (const Window &w : ws) {
        const size_t j0 = (size_t)std::llround(w.t0 / h), j1 = (size_t)std::llround(w.t1 / h);
        double c = 0, lam = 0, expo = 0;
        for (size_t j = j0; j < j1; ++j) {
            const double pairs = r.N[j] * (r.N[j] - 1) / (2 * r.V);
            lam += (K[j + 1] - K[j]) * pairs;
            expo += h * pairs;
            c += r.counts[j];
        }
        c_all += c;
        l_all += lam;
        const double z = (c - lam) / std::sqrt(lam);
        // A(t) = 1/(1 + c0' K) with c0' = (N0 - 1)/V (pairs N (N - 1)/2)
        const double A = 1.0 / (1.0 + (r.N0 - 1) / r.V * K[j1]);
        const double zA = (r.N[j1] - r.N0 * A) / std::sqrt(2 * r.N0 * (1 - A));
        std::printf("  %4.1f-%-4.1f %8.0f %12.4g %12.4g %8.2f %9.5f %9.5f %8.2f\n", w.t0, w.t1, c,
                    c / expo, (K[j1] - K[j0]) / (w.t1 - w.t0), z, r.N[j1] / r.N0, A, zA);
        v.zmax_k = std::max(v.zmax_k, std::fabs(z));
        v.zmax_A = std::max(v.zmax_A, std::fabs(zA));
    }
    v.z_all = (c_all - l_all) / std::sqrt(l_all);
    std::printf("  all: %.0f reactions, pair equation %.1f (%+.1f %%, z = %.2f)\n", c_all, l_all,
                100 * (c_all / l_all - 1), v.z_all);
    return v;
}

void bd_against_pair(uint64_t N, double T, const std::vector<Window> &ws, int threads,
                     double wrong_kappa)
{
    const uint32_t n0 = 1200; // R = 1.651 nm, sigma = 3.30 nm: P = 0.097, k_a ~ k_D
    const double rho = 1e-4, rc = 4.0, h = 0.05;
    const size_t J = (size_t)std::llround(T / h);
    Config sys(system_yaml(n0, N, rho, rc, T, 1.0, 1u));
    ASSERT_EQ(sys.rc, 0) << sys.err;
    {
        const npg_config &c = sys.cfg;
        const double R = 0.155672 * std::cbrt((double)n0), s = 2 * R, l = c.coal.ligand_nm;
        const double nu = c.coal.shell_width_nm;
        const double P = 1 / (std::exp(c.coal.gamma_per_nm * (s - c.coal.sigma_c_nm)) + 1);
        const double Dr = 2 * c.coal.d_ref_nm2_per_s * c.coal.r_ref_nm / (R + l);
        const double ka = 4 * M_PI * ((s + l) * (s + l) + nu * nu) * c.coal.kappa_c_per_s * P *
                          std::sqrt(2 * M_PI) * nu;
        std::printf("  sigma = %.3f nm, P = %.4f, D_r(0) = %.3f nm^2/s, k_a = %.1f, k_D(0) = "
                    "%.1f nm^3/s; phi = c0 pi r_c^3/6 = %.3f\n",
                    s, P, Dr, ka, 4 * M_PI * Dr * (s + l), rho * M_PI * rc * rc * rc / 6);
    }
    const std::vector<double> K = pair_K(sys.cfg, h, J);
    const BdRun r = run_bd(sys.cfg, h, J, threads);
    ASSERT_EQ(r.counts.size(), J);
    const Verdict v = judge(r, K, h, ws, "BD against npgrow pair (the same parameters):");
    EXPECT_LT(v.zmax_k, kZmax);
    EXPECT_LT(v.zmax_A, kZmax);
    EXPECT_LT(std::fabs(v.z_all), kZmax);
    // the test can fail: the pair equation with kappa_c too large
    Config wrong(system_yaml(n0, N, rho, rc, T, wrong_kappa, 1u));
    ASSERT_EQ(wrong.rc, 0) << wrong.err;
    const std::vector<double> Kw = pair_K(wrong.cfg, h, J);
    char label[80];
    snprintf(label, sizeof label, "against the pair equation with kappa_c x %g:", wrong_kappa);
    const Verdict w = judge(r, Kw, h, ws, label);
    EXPECT_GT(std::fabs(w.z_all), kZmax);
}

} // namespace

// ~10 s on one core (the result is the same for any thread count): 2e4 particles over 10 s, ~850
// reactions (+1.7 %, z = 0.5); kappa_c x 2 fails (z = -13).
TEST(BrownianPair, StudyLikeFrozenSizes)
{
    bd_against_pair(20000, 10.0, {{0, 1}, {1, 2}, {2, 4}, {4, 7}, {7, 10}}, 1, 2.0);
}

// The long version (ctest label long: bd_pair_long, NPGROW_LONG_TESTS=1): 10x the particles,
// ~8300 reactions (-0.3 %, z = -0.3), windows of 1 s; kappa_c x 1.2 (k_f +13 %) fails (z = -12
// overall).
TEST(BrownianPair, StudyLikeFrozenSizesLong)
{
    if (!getenv("NPGROW_LONG_TESTS"))
        GTEST_SKIP() << "long: set NPGROW_LONG_TESTS=1 (ctest -L long runs it)";
    std::vector<Window> ws = {{0, 1}, {1, 2}};
    for (int k = 2; k < 10; ++k)
        ws.push_back({(double)k, (double)k + 1});
    bd_against_pair(200000, 10.0, ws, 1, 1.2);
}
