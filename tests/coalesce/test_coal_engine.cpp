// test_coal_engine.cpp: coalescence and particle sources inside the engine (host/engine), from
// configs as a user writes them.
//
// Statistics as in test_wellmixed.cpp: each check is a z-score with |z| < 5 (a normal z fails
// with probability 6e-7; one whose standard error comes from R replicas, Student t with
// R - 1 degrees of freedom, with < 5e-4 for R >= 8), or an exact identity. Seeds are fixed.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npgrow/engine.h"
#include "npgrow/observe.h"
#include "npgrow/status.h"

#include "../support/need_gpu.h"

#include "kingman.h"

namespace
{

constexpr double kZmax = 5.0;

// Files in a private temporary directory, removed with it.
struct TmpDir {
    std::string dir;
    std::vector<std::string> files;
    TmpDir()
    {
        char t[] = "/tmp/npg_coaleng_XXXXXX";
        if (mkdtemp(t))
            dir = t;
    }
    std::string write(const std::string &name, const std::string &text)
    {
        std::string p = dir + "/" + name;
        FILE *f = fopen(p.c_str(), "w");
        if (f) {
            fputs(text.c_str(), f);
            fclose(f);
        }
        files.push_back(p);
        return p;
    }
    ~TmpDir()
    {
        for (const std::string &f : files)
            remove(f.c_str());
        rmdir(dir.c_str());
    }
};

struct Loaded {
    npg_config cfg;
    int rc;
    std::string err;
    explicit Loaded(const std::string &path)
    {
        char buf[2048] = "";
        rc = npg_config_load(path.c_str(), &cfg, buf, sizeof buf);
        err = buf;
    }
    ~Loaded() { npg_config_free(&cfg); }
};

struct Ensemble {
    npg_ensemble *e = nullptr;
    char err[1024] = "";
    int rc;
    Ensemble(const npg_config &cfg, int threads = 1, const char *backend = "cpu")
    {
        npg_ensemble_options o{};
        o.backend = backend;
        o.threads = threads;
        rc = npg_ensemble_create(&e, &cfg, &o, err, sizeof err);
    }
    ~Ensemble() { npg_ensemble_destroy(e); }
    int advance(double t) { return npg_ensemble_advance_to(e, t, err, sizeof err); }
    npg_supply_state state() const
    {
        npg_supply_state st;
        npg_ensemble_state(e, &st);
        return st;
    }
};

// An exact reduction, freed with it.
struct Red {
    npg_reduction r{};
    int rc;
    explicit Red(npg_ensemble *e)
    {
        char err[512] = "";
        rc = npg_ensemble_reduce(e, &r, err, sizeof err);
        EXPECT_EQ(rc, 0) << err;
    }
    ~Red() { npg_reduction_free(&r); }
    uint64_t count(uint32_t n) const { return n < r.len ? r.count[n] : 0; }
    uint64_t count_b(uint32_t n) const { return r.count_b && n < r.len ? r.count_b[n] : 0; }
    uint64_t alive() const
    {
        uint64_t s = 0;
        for (uint32_t n = 2; n < r.len; ++n)
            s += r.count[n];
        return s;
    }
    uint64_t bound() const
    {
        uint64_t s = 0;
        for (uint32_t n = 2; n < r.len; ++n)
            s += r.count[n] * n;
        return s;
    }
    npg_moments moments() const
    {
        std::vector<double> c(r.len);
        for (uint32_t n = 0; n < r.len; ++n)
            c[n] = (double)r.count[n];
        npg_moments m;
        npg_moments_compute(c.data(), r.len, 0.155672, &m);
        return m;
    }
};

// The Group-B histogram is part of the alive one (Group A = count - count_b >= 0 at every size,
// so A + B = all alive), and there are no more alive Group-B particles than merges (each merge
// leaves one survivor).
void expect_groups(const Red &red, uint64_t merges, const char *what)
{
    ASSERT_NE(red.r.count_b, nullptr) << what;
    uint64_t b = 0;
    for (uint32_t n = 0; n < red.r.len; ++n) {
        EXPECT_LE(red.r.count_b[n], red.r.count[n]) << what << ": n = " << n;
        b += red.r.count_b[n];
    }
    EXPECT_LE(b, merges) << what;
    if (merges > 0) {
        EXPECT_GT(b, 0u) << what;
    }
}

const char *const kPt = "system: {preset: pt-acac}\n";
// Brownian kernel with the study's Fermi propensity (model.md 3.1-3.2: D_r(8 s) = 1.3 nm^2/s
// relative, so D = 0.65 nm^2/s per particle at r_ref = 1 nm; l = 2.87 nm; gamma = 7.64 /nm,
// sigma_c = 3.0078 nm); a density of 6e-3 nm^-3 makes about one particle in five merge within
// 4 s at the Pt(acac)2 sizes.
const char *const kBrownianFermi = "  kernel: brownian\n"
                                   "  diffusion: {d_ref_nm2_per_s: 0.65, r_ref_nm: 1.0}\n"
                                   "  ligand_nm: 2.87\n"
                                   "  propensity: {kind: fermi, gamma_per_nm: 7.64, "
                                   "sigma_c_nm: 3.0078}\n";
const char *const kLognormal = "initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}\n";
const char *const kSchedule35 =
    "supply: {mode: schedule, supersaturation: [[0, 3.5], [10, 3.5]]}\n";

// Pt(acac)2 at S = 3.5 with monomer exchange and Brownian-Fermi coalescence at a number density
// [nm^-3], from a lognormal start of mean radius mean_r [nm] (sd 0.23 nm); with a Poisson
// source of smaller particles (50 per second on [0.5, 3) s) when `source`.
std::string pt_coalescence(uint64_t particles, uint32_t seed, double epsilon, double density,
                           double mean_r, bool source)
{
    char text[1024];
    std::snprintf(text, sizeof text,
                  "initial: {kind: lognormal, mean_r_nm: %g, sd_r_nm: 0.230}\n"
                  "run: {particles: %llu, t_end: 4, output_every: 1, seed: %u}\n"
                  "coalescence:\n  mode: well-mixed\n  particle_density_nm3: %g\n"
                  "  epsilon: %g\n",
                  mean_r, (unsigned long long)particles, seed, density, epsilon);
    return std::string(kPt) + kSchedule35 + text + kBrownianFermi +
           (source ? "source: {rate_per_time: 50, t_start: 0.5, t_stop: 3.0, size: {kind: "
                     "lognormal, mean_r_nm: 0.9, sd_r_nm: 0.1}}\n"
                   : "");
}

} // namespace

// ---- coalescence alone (supply.monomer_exchange: false) ---------------------------------------

// Constant kernel in a config whose time unit is minutes (the per-second kernel is converted:
// K = 60 k_const per minute), the volume from particle_density_nm3 (V = N0 / rho): with
// rho = 1/60 nm^-3 and k_const = 1 nm^3/s, tau = K N0 t / V = t [min]. The particle count has
// Kingman's exact mean and a variance to O(1/N) (kingman.h), one run of N0 = 1e5. Monodisperse
// n0 = 50, so Group B is exactly the particles larger than 50; monomers are conserved exactly.
TEST(CoalEngine, ConstantKernelWithoutExchange)
{
    TmpDir d;
    const uint64_t N0 = 100000;
    Loaded l(d.write("c.yaml", std::string("system: {preset: pt-acac, time_unit: min}\n") +
                                   "supply: {mode: schedule, supersaturation: [[0, 1.0]], "
                                   "monomer_exchange: false}\n"
                                   "initial: {kind: monodisperse, n: 50}\n"
                                   "run: {particles: 100000, t_end: 3, output_every: 1, seed: 11}\n"
                                   "coalescence: {mode: well-mixed, kernel: constant, "
                                   "k_const_nm3_per_s: 1.0, particle_density_nm3: "
                                   "0.016666666666666666}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    for (double tau : {1.0, 3.0}) {
        ASSERT_EQ(en.advance(tau), 0) << en.err;
        npg_supply_state st = en.state();
        Red red(en.e);
        EXPECT_EQ(st.bound, (int64_t)(N0 * 50));
        EXPECT_EQ(red.bound(), N0 * 50);
        EXPECT_EQ(st.alive, N0 - st.merges);
        EXPECT_EQ(red.alive(), st.alive);
        EXPECT_EQ(st.events, 0u); // no monomer events at all
        EXPECT_EQ(red.count_b(50), 0u);
        for (uint32_t n = 2; n < red.r.len; ++n) {
            if (n % 50) {
                EXPECT_EQ(red.count(n), 0u) << n;
            }
            if (n > 50) {
                EXPECT_EQ(red.count_b(n), red.count(n)) << n;
            }
        }
        const double mu = kingman_mean(N0, tau / N0), var = kingman_var(N0, tau / N0);
        const double z = ((double)st.alive - mu) / std::sqrt(var);
        std::printf("  tau = %g: %llu particles, exact mean %.2f, sd %.1f, z = %.2f\n", tau,
                    (unsigned long long)st.alive, mu, std::sqrt(var), z);
        EXPECT_LT(std::fabs(z), kZmax);
    }
}

// Without monomer exchange the engine advances in tenths of the span so that a stop is seen; a
// span of one ulp (an output time next to t_end, e.g. t_end = 1.0000000000000002 with
// output_every 0.1) has a tenth that rounds away, and must still end (it used to loop for ever).
// A watchdog raises a stop after 10 s, so a hang fails as NPG_BACKEND_STOPPED.
TEST(CoalEngine, SpanOfOneUlpWithoutExchangeEnds)
{
    TmpDir d;
    Loaded l(d.write("u.yaml", std::string("system: {preset: pt-acac}\n") +
                                   "supply: {mode: schedule, supersaturation: [[0, 1.0]], "
                                   "monomer_exchange: false}\n"
                                   "initial: {kind: monodisperse, n: 50}\n"
                                   "run: {particles: 1000, t_end: 2, output_every: 1, seed: 5}\n"
                                   "coalescence: {mode: well-mixed, kernel: constant, "
                                   "k_const_nm3_per_s: 1.0e6, volume_nm3: 1.0e9}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    ASSERT_EQ(en.advance(1.0), 0) << en.err;
    const double t1 = std::nextafter(1.0, 2.0);
    struct sigaction sa {
    }, old{};
    sa.sa_handler = [](int) { npg_stop_raise(SIGINT); };
    sigaction(SIGALRM, &sa, &old);
    alarm(10);
    const int rc = en.advance(t1);
    alarm(0);
    sigaction(SIGALRM, &old, nullptr);
    const int stopped = npg_stop_requested();
    npg_stop_clear();
    EXPECT_EQ(rc, 0) << en.err;
    EXPECT_EQ(stopped, 0);
    EXPECT_EQ(en.state().t, t1);
}

TEST(CoalEngine, KingmanMeanSmallCases)
{
    for (double s : {0.0, 0.3, 2.0})
        EXPECT_NEAR(kingman_mean(2, s), 1.0 + std::exp(-s), 1e-14);
    EXPECT_NEAR(kingman_mean(7, 0.0), 7.0, 1e-13);
}

// ---- conservation with monomer exchange -------------------------------------------------------

// Closed and precursor supply with monomer exchange, Brownian-Fermi coalescence and an entries
// file: at every output time, exactly, total = free + bound + precursor, the total grows by the
// entries' monomers only, bound = sum of n over the alive particles, alive = the histogram's
// particles, Group A + B = all alive; every merge is reported once (kept < gone, time order).
TEST(CoalEngine, ClosedSupplyConservesMonomers)
{
    TmpDir d;
    // entries: one at t = 0, two at the same time, one after t_end (ignored)
    d.write("entries.csv", "t,n\n0,40\n0.7,120\n0.7,121\n1.9,600\n3.3,2000\n3.99,33\n9.5,77\n");
    struct Entry {
        double t;
        int64_t n;
    };
    const std::vector<Entry> entries = {
        {0.7, 120}, {0.7, 121}, {1.9, 600}, {3.3, 2000}, {3.99, 33}};
    for (const char *supply :
         {"supply: {mode: closed, particle_density_nm3: 6.0e-3, solubility_nm3: 5.0e-3, "
          "initial_supersaturation: 4.0}\n",
          "supply: {mode: precursor, particle_density_nm3: 6.0e-3, solubility_nm3: 5.0e-3, "
          "initial_supersaturation: 2.0, precursor_nm3: 2.0e-2, k_p: 0.5}\n"}) {
        Loaded l(d.write("c.yaml", std::string(kPt) + supply + kLognormal +
                                       "run: {particles: 3000, t_end: 4, output_every: 0.5, "
                                       "seed: 5}\n"
                                       "coalescence:\n  mode: well-mixed\n" +
                                       kBrownianFermi + "source: {entries_file: entries.csv}\n"));
        ASSERT_EQ(l.rc, 0) << l.err;
        Ensemble en(l.cfg);
        ASSERT_EQ(en.rc, 0) << en.err;
        npg_supply_state st0 = en.state();
        EXPECT_EQ(st0.entries, 1u);     // the entry at t = 0
        EXPECT_EQ(st0.capacity, 3006u); // six rows up to t_end; the one after takes no slot
        const int64_t total0 = st0.total;
        for (int k = 1; k <= 8; ++k) {
            const double t = 0.5 * k;
            ASSERT_EQ(en.advance(t), 0) << en.err;
            npg_supply_state st = en.state();
            Red red(en.e);
            int64_t added = 0;
            uint64_t due = 1;
            for (const Entry &x : entries)
                if (x.t <= t) {
                    added += x.n;
                    ++due;
                }
            EXPECT_EQ(st.entries, due) << "t = " << t;
            EXPECT_EQ(st.total, total0 + added) << "t = " << t;
            EXPECT_EQ(st.total, st.free_monomers + st.bound + st.precursor) << "t = " << t;
            EXPECT_GE(st.free_monomers, 0);
            EXPECT_EQ((int64_t)red.bound(), st.bound) << "t = " << t;
            EXPECT_EQ(red.alive(), st.alive) << "t = " << t;
            expect_groups(red, st.merges, supply);
        }
        npg_supply_state st = en.state();
        const npg_wm_event *ev;
        size_t k = npg_ensemble_merges(en.e, &ev);
        EXPECT_EQ(k, st.merges);
        for (size_t i = 0; i < k; ++i) {
            EXPECT_LT(ev[i].kept, ev[i].gone);
            EXPECT_LT(ev[i].gone, st.capacity);
            EXPECT_GE(ev[i].n_kept, 2u);
            EXPECT_GE(ev[i].n_gone, 2u);
            if (i) {
                EXPECT_LE(ev[i - 1].t, ev[i].t);
            }
        }
        std::printf("  %s: %llu merges, %llu entries, total %lld monomers, precursor %lld\n",
                    std::strstr(supply, "closed") ? "closed" : "precursor",
                    (unsigned long long)st.merges, (unsigned long long)st.entries,
                    (long long)st.total, (long long)st.precursor);
        EXPECT_GT(st.merges, 100u);
    }
}

// ---- determinism ------------------------------------------------------------------------------

namespace
{
// Everything observable at one output time, for comparing two runs exactly.
struct Snapshot {
    npg_supply_state st;
    std::vector<uint64_t> count, count_b, prev_count;
    std::vector<int64_t> sum_dn;
    std::vector<npg_wm_event> merges;
};

std::vector<Snapshot> snapshots(const npg_config &cfg, int threads, const char *backend = "cpu")
{
    std::vector<Snapshot> out;
    Ensemble en(cfg, threads, backend);
    EXPECT_EQ(en.rc, 0) << en.err;
    if (en.rc)
        return out;
    char err[512];
    EXPECT_EQ(npg_ensemble_mark(en.e, err, sizeof err), 0);
    for (double t = 1.0; t <= cfg.t_end + 1e-9; t += cfg.output_every) {
        EXPECT_EQ(en.advance(t), 0) << en.err;
        Snapshot s;
        s.st = en.state();
        Red red(en.e);
        s.count.assign(red.r.count, red.r.count + red.r.len);
        s.count_b.assign(red.r.count_b, red.r.count_b + red.r.len);
        s.prev_count.assign(red.r.prev_count, red.r.prev_count + red.r.len);
        s.sum_dn.assign(red.r.sum_dn, red.r.sum_dn + red.r.len);
        const npg_wm_event *ev;
        size_t k = npg_ensemble_merges(en.e, &ev);
        s.merges.assign(ev, ev + k);
        EXPECT_EQ(npg_ensemble_mark(en.e, err, sizeof err), 0);
        out.push_back(s);
    }
    return out;
}
} // namespace

// 1 and 2 threads, monomer exchange on, Brownian-Fermi coalescence and a Poisson source: the
// histograms (all, Group B, growth windows), the merges and every counter are identical.
TEST(CoalEngine, IdenticalForOneAndTwoThreads)
{
    TmpDir d;
    Loaded l(d.write("c.yaml", pt_coalescence(2000, 3, 0.01, 6.0e-3, 1.058, true)));
    ASSERT_EQ(l.rc, 0) << l.err;
    auto a = snapshots(l.cfg, 1), b = snapshots(l.cfg, 2);
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].count, b[i].count) << i;
        EXPECT_EQ(a[i].count_b, b[i].count_b) << i;
        EXPECT_EQ(a[i].prev_count, b[i].prev_count) << i;
        EXPECT_EQ(a[i].sum_dn, b[i].sum_dn) << i;
        ASSERT_EQ(a[i].merges.size(), b[i].merges.size()) << i;
        EXPECT_EQ(std::memcmp(a[i].merges.data(), b[i].merges.data(),
                              a[i].merges.size() * sizeof(npg_wm_event)),
                  0)
            << i;
        const npg_supply_state &x = a[i].st, &y = b[i].st;
        EXPECT_EQ(x.events, y.events);
        EXPECT_EQ(x.merges, y.merges);
        EXPECT_EQ(x.proposals, y.proposals);
        EXPECT_EQ(x.entries, y.entries);
        EXPECT_EQ(x.alive, y.alive);
        EXPECT_EQ(x.bound, y.bound);
        EXPECT_EQ(x.intervals, y.intervals);
    }
    std::printf("  %llu merges, %llu entries, %llu intervals\n",
                (unsigned long long)a.back().st.merges, (unsigned long long)a.back().st.entries,
                (unsigned long long)a.back().st.intervals);
    EXPECT_GT(a.back().st.merges, 100u);
    EXPECT_GT(a.back().st.entries, 60u);
}

// ---- the splitting ----------------------------------------------------------------------------

namespace
{
struct EndStats {
    std::vector<double> particles, mean_n, var_n;
    // Runs cfg to t_end and adds its particle count, mean_n and var_n; its intervals.
    uint64_t run(const npg_config &cfg, int threads = 1)
    {
        Ensemble en(cfg, threads);
        EXPECT_EQ(en.rc, 0) << en.err;
        EXPECT_EQ(en.advance(cfg.t_end), 0) << en.err;
        Red red(en.e);
        npg_moments m = red.moments();
        particles.push_back(m.particles);
        mean_n.push_back(m.mean_n);
        var_n.push_back(m.var_n);
        return en.state().intervals;
    }
};

EndStats end_stats(double epsilon, int R, uint32_t seed0, uint64_t particles)
{
    EndStats out;
    TmpDir d;
    for (int r = 0; r < R; ++r) {
        Loaded l(
            d.write("c.yaml", pt_coalescence(particles, seed0 + r, epsilon, 2.0e-2, 1.40, false)));
        EXPECT_EQ(l.rc, 0) << l.err;
        out.run(l.cfg);
    }
    return out;
}

void mean_sd(const std::vector<double> &x, double *m, double *sd)
{
    double s = 0.0, q = 0.0;
    for (double y : x)
        s += y;
    s /= (double)x.size();
    for (double y : x)
        q += (y - s) * (y - s);
    *m = s;
    *sd = std::sqrt(q / (double)(x.size() - 1));
}

// Runs at setting a and at setting b, seed by seed (a seed shares the initial state): for the
// particle count, mean_n and var_n, z = mean paired difference b - a / its standard error,
// |z| < kZmax (Student t with R - 1 degrees of freedom).
void expect_paired_same(const EndStats &a, const EndStats &b, const char *la, const char *lb)
{
    const size_t R = a.particles.size();
    ASSERT_EQ(b.particles.size(), R);
    const char *names[3] = {"particles", "mean_n", "var_n"};
    const std::vector<double> *xa[3] = {&a.particles, &a.mean_n, &a.var_n};
    const std::vector<double> *xb[3] = {&b.particles, &b.mean_n, &b.var_n};
    for (int q = 0; q < 3; ++q) {
        std::vector<double> diff(R);
        for (size_t r = 0; r < R; ++r)
            diff[r] = (*xb[q])[r] - (*xa[q])[r];
        double ma, sa, md, sd;
        mean_sd(*xa[q], &ma, &sa);
        mean_sd(diff, &md, &sd);
        const double z = md / (sd / std::sqrt((double)R));
        std::printf("  %-9s %s: %.5g (run sd %.3g); %s - %s: %.3g +- %.3g (%.2f run sd), z = "
                    "%.2f\n",
                    names[q], la, ma, sa, lb, la, md, sd / std::sqrt((double)R), md / sa, z);
        EXPECT_LT(std::fabs(z), kZmax) << names[q];
    }
}
} // namespace

// Lie splitting of monomer exchange and coalescence: halving coalescence.epsilon (the largest
// expected merges per particle per interval; default 0.01) must not move the particle count,
// mean_n or var_n at t_end beyond the noise. The case is the sensitive one: sizes start at the
// Fermi switch (mean r = 1.40 nm, sigma_ij ~ sigma_c = 3.0 nm) and grow through it, so the
// propensity falls steeply within an interval. Measured with this config (20 seeds, each run at
// both epsilons, paired differences against epsilon = 0.005): epsilon = 0.5 (2-3 intervals a
// second) leaves 24 +- 3.4 more particles at t = 4 s, mean_n -7.6 +- 1.5, var_n -5600 +- 1200;
// 0.1 leaves 6.4 +- 3.0 particles more; 0.01: 1.6 +- 2.5 particles (a run's sd is 11-16),
// mean_n -0.56 +- 1.1 (sd 10), var_n -420 +- 780 (sd 8500). The check: R = 12 seeds, each at
// 0.01 and 0.005 (the same seed shares the initial sizes), z = mean paired difference / its
// standard error, |z| < 5 (Student t, 11 degrees of freedom: fails with probability 4e-4).
TEST(CoalEngine, HalvingEpsilonChangesNothingMeasurable)
{
    const int R = 12;
    const uint64_t N = 4000;
    EndStats a = end_stats(0.01, R, 100, N), b = end_stats(0.005, R, 100, N);
    expect_paired_same(a, b, "eps 0.01", "eps 0.005");
}

// Spatial coalescence's splitting: the monomer SSA and the dynamics alternate every
// coalescence.split_steps (100) steps of the default resolution, sizes frozen for the dynamics
// in between. The case is the demo (configs/pt-acac-coalescence.yaml: 2000 particles, growth
// through the Fermi switch, the bridge at a step of 2 nu, so 3 steps per interval at 100 and 1
// at 25). Measured (bench/RESULTS.md, seeds 10-41, paired against split_steps 100): 25 moves
// the merges by -1.3 +- 1.9 (of 172), 400 by -1.7 +- 1.2, 1600 by -3.8 +- 1.4; mean_n of Group B
// by -22 +- 18, -17 +- 15, -13 +- 12 (of 7160). The check: R = 12 seeds at 25 and 100 (a seed
// shares the initial sizes and positions), z = mean paired difference / its standard error of
// the particle count, mean_n and var_n at t_end, |z| < 5 (Student t, 11 degrees of freedom).
// Long (~25 s): ctest -L long (bd_split_long).
TEST(CoalEngine, BrownianSplitQuarteredChangesNothingMeasurableLong)
{
    if (!getenv("NPGROW_LONG_TESTS"))
        GTEST_SKIP() << "long: set NPGROW_LONG_TESTS=1 (ctest -L long runs it)";
    const int R = 12;
    auto stats = [&](uint64_t S, double *intervals) {
        EndStats out;
        *intervals = 0.0;
        for (int r = 0; r < R; ++r) {
            Loaded l(std::string(NPGROW_SOURCE_DIR) + "/configs/pt-acac-coalescence.yaml");
            EXPECT_EQ(l.rc, 0) << l.err;
            l.cfg.seed = 10 + (uint32_t)r;
            l.cfg.coal.split_steps = S;
            *intervals += (double)out.run(l.cfg, 2) / R;
        }
        return out;
    };
    double ia, ib;
    EndStats a = stats(100, &ia), b = stats(25, &ib);
    std::printf("  synchronization intervals: %.0f at split_steps 100, %.0f at 25\n", ia, ib);
    expect_paired_same(a, b, "split 100", "split 25");
    // the key sets the interval: 1 step per interval at 25 against 3 at 100 (measured: 1922
    // against 646 intervals; ignoring the key gives a ratio of 1)
    EXPECT_GT(ib, 2.5 * ia);
}

// ---- CPU and CUDA -----------------------------------------------------------------------------

// The CPU's (c) and the CUDA backend's (g) snapshots of one run: the particle count, mean_n and
// var_n at every output time within |z| < kZmax of the CPU's, with the standard errors of a
// single run (count: sqrt(merges), the Poisson bound for a death process; mean_n:
// sqrt(var_n / N); var_n: var_n sqrt(2 / N)) times sqrt(2) for a difference; the same entries;
// Group B within all at every size.
void expect_backends_agree(const std::vector<Snapshot> &c, const std::vector<Snapshot> &g)
{
    ASSERT_EQ(c.size(), g.size());
    ASSERT_FALSE(c.empty());
    auto moments = [](const Snapshot &s) {
        std::vector<double> x(s.count.begin(), s.count.end());
        npg_moments m;
        npg_moments_compute(x.data(), (uint32_t)x.size(), 0.155672, &m);
        return m;
    };
    for (size_t i = 0; i < c.size(); ++i) {
        npg_moments mc = moments(c[i]), mg = moments(g[i]);
        const double zc = (mg.particles - mc.particles) /
                          std::sqrt(2.0 * std::max<double>(1.0, (double)c[i].st.merges));
        const double zm = (mg.mean_n - mc.mean_n) / std::sqrt(2.0 * mc.var_n / mc.particles);
        const double zv = (mg.var_n - mc.var_n) / (mc.var_n * std::sqrt(4.0 / mc.particles));
        std::printf("  t = %zu: particles %g / %g (z %.2f), mean_n %.6g / %.6g (z %.2f), var_n "
                    "%.6g / %.6g (z %.2f), merges %llu / %llu\n",
                    i + 1, mc.particles, mg.particles, zc, mc.mean_n, mg.mean_n, zm, mc.var_n,
                    mg.var_n, zv, (unsigned long long)c[i].st.merges,
                    (unsigned long long)g[i].st.merges);
        EXPECT_LT(std::fabs(zc), kZmax);
        EXPECT_LT(std::fabs(zm), kZmax);
        EXPECT_LT(std::fabs(zv), kZmax);
        EXPECT_EQ(c[i].st.entries, g[i].st.entries); // entries do not depend on the backend
        // Group A + B = all on the GPU too
        for (size_t n = 0; n < g[i].count.size(); ++n)
            EXPECT_LE(g[i].count_b[n], g[i].count[n]);
    }
}

// The same well-mixed coalescence run on both backends (device test: skips without a usable
// GPU unless NPG_REQUIRE_GPU=1). Merges and entries run on the host in both, on sizes that
// agree to the backends' rounding, so the runs nearly coincide; the check is statistical
// (expect_backends_agree).
TEST(CoalEngine, CudaAgreesWithCpu)
{
    NPG_NEED_GPU();
    TmpDir d;
    Loaded l(d.write("c.yaml", pt_coalescence(20000, 9, 0.01, 6.0e-3, 1.058, true)));
    ASSERT_EQ(l.rc, 0) << l.err;
    auto c = snapshots(l.cfg, 2, "cpu"), g = snapshots(l.cfg, 0, "cuda");
    expect_backends_agree(c, g);
    EXPECT_GT(c.back().st.merges, 500u);
}

// Spatial coalescence (mode: brownian) on the CUDA backend, which attaches the GPU's
// Brownian-dynamics device (kernels/bd_cuda.cu), against the CPU: a closed volume with monomer
// exchange and a Poisson source, 20000 particles at 1e-3 nm^-3. The monomer SSA agrees between
// the backends to rounding and the device reproduces the host's dynamics, so the two runs are
// expected to coincide; the test asks only what any two equivalent runs satisfy
// (expect_backends_agree).
// With shell_sampling: bridge the device passes the step's move scale to the pair search too.
void brownian_cuda_agrees(const char *extra)
{
    TmpDir d;
    Loaded l(d.write(
        "b.yaml",
        std::string(kPt) +
            "supply: {mode: closed, particle_density_nm3: 1.0e-3, solubility_nm3: 0.01, "
            "initial_supersaturation: 3.0}\n"
            "initial: {kind: lognormal, mean_r_nm: 1.0, sd_r_nm: 0.15}\n"
            "run: {particles: 20000, t_end: 3, output_every: 1, seed: 5}\n"
            "coalescence:\n  mode: brownian\n  initial_min_distance_nm: 5\n"
            "  diffusion: {d_ref_nm2_per_s: 2.0, r_ref_nm: 3.0}\n  ligand_nm: 1.0\n"
            "  propensity: {kind: fermi, gamma_per_nm: 7.64, sigma_c_nm: 3.0}\n"
            "  kappa_c_per_s: 50\n  shell_width_nm: 0.1\n" +
            extra +
            "source: {rate_per_time: 200, t_start: 0.5, t_stop: 2.5, size: {kind: lognormal, "
            "mean_r_nm: 0.9, sd_r_nm: 0.1}}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    auto c = snapshots(l.cfg, 2, "cpu"), g = snapshots(l.cfg, 0, "cuda");
    expect_backends_agree(c, g);
    EXPECT_GT(c.back().st.merges, 50u);
}

TEST(CoalEngine, BrownianCudaAgreesWithCpu)
{
    NPG_NEED_GPU();
    brownian_cuda_agrees("");
}

TEST(CoalEngine, BrownianBridgeCudaAgreesWithCpu)
{
    NPG_NEED_GPU();
    brownian_cuda_agrees("  shell_sampling: bridge\n  step_resolution: 0.5\n");
}

// ---- sources ----------------------------------------------------------------------------------

// A Poisson source at rate 2000 per time unit on [t_start, t_stop) = [1, 4), coalescence off,
// monomer exchange off: no entries before 1; in each half-unit step inside, a Poisson(1000)
// increment (z-test each, and of the total, mean 6000); none after 4. Entries are monodisperse
// (77 monomers): the monomers grow by exactly 77 per entry and the histogram holds them.
TEST(CoalEngine, PoissonSourceCounts)
{
    TmpDir d;
    Loaded l(d.write("c.yaml", std::string(kPt) +
                                   "supply: {mode: schedule, supersaturation: [[0, 3.5]], "
                                   "monomer_exchange: false}\n"
                                   "initial: {kind: monodisperse, n: 300}\n"
                                   "run: {particles: 1000, t_end: 5, output_every: 0.5, seed: "
                                   "21}\n"
                                   "source: {rate_per_time: 2000, t_start: 1, t_stop: 4, size: "
                                   "{kind: monodisperse, n: 77}}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    uint64_t prev = 0;
    double zmax = 0.0;
    for (int k = 1; k <= 10; ++k) {
        const double t = 0.5 * k;
        ASSERT_EQ(en.advance(t), 0) << en.err;
        npg_supply_state st = en.state();
        Red red(en.e);
        const uint64_t inc = st.entries - prev;
        prev = st.entries;
        if (t <= 1.0 || t > 4.0) {
            EXPECT_EQ(inc, 0u) << "t = " << t;
        } else {
            const double z = ((double)inc - 1000.0) / std::sqrt(1000.0);
            zmax = std::max(zmax, std::fabs(z));
            EXPECT_LT(std::fabs(z), kZmax) << "t = " << t << ": " << inc << " entries";
        }
        EXPECT_EQ(st.alive, 1000u + st.entries);
        EXPECT_EQ(st.bound, (int64_t)(300 * 1000 + 77 * st.entries));
        EXPECT_EQ(red.count(77), st.entries);
        EXPECT_EQ(red.count(300), 1000u);
        EXPECT_EQ(red.r.count_b, nullptr); // no coalescence: no Group-B histogram
    }
    npg_supply_state st = en.state();
    EXPECT_EQ(st.capacity, 1000u + st.entries); // all drawn entries came (t_stop < t_end)
    const double z = ((double)st.entries - 6000.0) / std::sqrt(6000.0);
    std::printf("  %llu entries (expected 6000, z = %.2f); half-unit steps max |z| = %.2f\n",
                (unsigned long long)st.entries, z, zmax);
    EXPECT_LT(std::fabs(z), kZmax);
}

// With coalescence alone (exchange off, continuous time) entries stop the merge process at
// their times; constant kernel, Poisson source with monodisperse entries: monomers and particles
// balance exactly.
TEST(CoalEngine, PoissonSourceWithCoalescenceBalances)
{
    TmpDir d;
    Loaded l(d.write("c.yaml", std::string(kPt) +
                                   "supply: {mode: schedule, supersaturation: [[0, 1.0]], "
                                   "monomer_exchange: false}\n"
                                   "initial: {kind: monodisperse, n: 30}\n"
                                   "run: {particles: 5000, t_end: 3, output_every: 0.5, seed: "
                                   "8}\n"
                                   "coalescence: {mode: well-mixed, kernel: constant, "
                                   "k_const_nm3_per_s: 1.0, volume_nm3: 5000}\n"
                                   "source: {rate_per_time: 1000, t_start: 0, t_stop: 2.5, size: "
                                   "{kind: monodisperse, n: 12}}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    for (int k = 1; k <= 6; ++k) {
        ASSERT_EQ(en.advance(0.5 * k), 0) << en.err;
        npg_supply_state st = en.state();
        Red red(en.e);
        EXPECT_EQ(st.bound, (int64_t)(30 * 5000 + 12 * st.entries));
        EXPECT_EQ((int64_t)red.bound(), st.bound);
        EXPECT_EQ(st.alive, 5000 + st.entries - st.merges);
        EXPECT_EQ(red.alive(), st.alive);
        expect_groups(red, st.merges, "source + constant kernel");
        // sizes are 12 a + 30 b: no merge makes anything else
        for (uint32_t n = 2; n < red.r.len; ++n)
            if (red.count(n)) {
                bool ok = false;
                for (uint32_t b = 0; 30 * b <= n && !ok; ++b)
                    ok = (n - 30 * b) % 12 == 0;
                EXPECT_TRUE(ok) << n;
            }
    }
    npg_supply_state st = en.state();
    EXPECT_GT(st.merges, 1000u);
    EXPECT_GT(st.entries, 2000u);
}

// An entries file is followed exactly: each row enters at its time (rows at the same time
// together, a row at t = 0 at creation), with its size; rows after t_end take no slot.
TEST(CoalEngine, EntriesFileExact)
{
    TmpDir d;
    d.write("e.csv", "t,n\n0,40\n0.5,100\n0.5,101\n1.25,7\n2,3000\n9,55\n");
    Loaded l(d.write("c.yaml", std::string(kPt) +
                                   "supply: {mode: schedule, supersaturation: [[0, 3.5]], "
                                   "monomer_exchange: false}\n"
                                   "initial: {kind: monodisperse, n: 300}\n"
                                   "run: {particles: 10, t_end: 3, output_every: 0.5, seed: 1}\n"
                                   "source: {entries_file: e.csv}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    struct Step {
        double t;
        uint64_t entries;
        std::vector<uint32_t> sizes; // alive entry sizes by then
    };
    const std::vector<Step> steps = {{0.0, 1, {40}},
                                     {0.49, 1, {40}},
                                     {0.5, 3, {40, 100, 101}},
                                     {1.2, 3, {40, 100, 101}},
                                     {1.25, 4, {40, 100, 101, 7}},
                                     {3.0, 5, {40, 100, 101, 7, 3000}}};
    for (const Step &s : steps) {
        ASSERT_EQ(en.advance(s.t), 0) << en.err;
        npg_supply_state st = en.state();
        EXPECT_EQ(st.entries, s.entries) << "t = " << s.t;
        EXPECT_EQ(st.capacity, 15u);
        Red red(en.e);
        uint64_t bound = 300 * 10;
        for (uint32_t n : s.sizes) {
            EXPECT_EQ(red.count(n), 1u) << "t = " << s.t << ", n = " << n;
            bound += n;
        }
        EXPECT_EQ(red.count(300), 10u);
        EXPECT_EQ(st.bound, (int64_t)bound);
        EXPECT_EQ(red.alive(), 10u + s.entries);
    }
    EXPECT_EQ(en.state().entries, 5u);
}

// With monomer exchange, entries grow like the particles that were there from the start: 1000
// particles of 300 monomers at t = 0 and 1000 entries of 300 monomers at t = 0.5, S = 3.5
// constant (no coalescence), so the entries at t = 2.5 and the initial particles at t = 2.0 have
// the same size law. Two-sample z of the means (|z| < 5) and growth (mean - 300 > 5 standard
// errors: the entries were advanced at all).
TEST(CoalEngine, EntriesGrowLikeInitialParticles)
{
    TmpDir d;
    std::string rows = "t,n\n";
    for (int i = 0; i < 1000; ++i)
        rows += "0.5,300\n";
    d.write("e.csv", rows);
    Loaded l(d.write("c.yaml", std::string(kPt) + kSchedule35 +
                                   "initial: {kind: monodisperse, n: 300}\n"
                                   "run: {particles: 1000, t_end: 2.5, output_every: 0.5, seed: "
                                   "4}\n"
                                   "source: {entries_file: e.csv}\n"));
    ASSERT_EQ(l.rc, 0) << l.err;
    Ensemble en(l.cfg);
    ASSERT_EQ(en.rc, 0) << en.err;
    std::vector<uint64_t> first(1000), entries(1000);
    for (uint64_t i = 0; i < 1000; ++i) {
        first[i] = i;
        entries[i] = 1000 + i;
    }
    auto sizes = [&](const std::vector<uint64_t> &ids) {
        std::vector<uint32_t> n(ids.size());
        char err[512];
        EXPECT_EQ(npg_ensemble_sample(en.e, ids.data(), ids.size(), n.data(), err, sizeof err), 0);
        std::vector<double> x(n.begin(), n.end());
        double m, sd;
        mean_sd(x, &m, &sd);
        return std::make_pair(m, sd);
    };
    ASSERT_EQ(en.advance(0.5), 0) << en.err;
    EXPECT_EQ(en.state().entries, 1000u);
    EXPECT_EQ(sizes(entries).first, 300.0); // entered now, not advanced yet
    ASSERT_EQ(en.advance(2.0), 0) << en.err;
    auto a = sizes(first);
    ASSERT_EQ(en.advance(2.5), 0) << en.err;
    auto b = sizes(entries);
    const double z =
        (b.first - a.first) / std::sqrt((a.second * a.second + b.second * b.second) / 1000.0);
    const double zg = (b.first - 300.0) / (b.second / std::sqrt(1000.0));
    std::printf("  after 2 s: initial particles %.2f (sd %.2f), entries %.2f (sd %.2f): z = "
                "%.2f; growth z = %.1f\n",
                a.first, a.second, b.first, b.second, z, zg);
    EXPECT_LT(std::fabs(z), kZmax);
    EXPECT_GT(zg, kZmax);
}
