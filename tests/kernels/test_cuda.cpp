// test_cuda.cpp: the CUDA backend against the CPU backend, on identical setups.
//
// Both backends call the same step (step.h) with the same Philox streams, so trajectories
// coincide except where device and host math round differently (FMA contraction, libm ulps):
// final sizes must agree for >= 99.9 % of particles, per-interval events/alive/bound totals to
// 0.1 %, moments within |Z| < 3, and each backend's integer reductions must equal histograms
// recomputed here from its own sampled state, exactly. Without a usable device every test skips
// with the reason, unless NPG_REQUIRE_GPU=1, which turns the skip into a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npgrow/backend.h"
#include "npgrow/rates.h"

#include "../support/need_gpu.h"
#include "../support/systems.h"
#ifdef NPGROW_HAVE_CUDA
#include "../../kernels/backend_cuda.h"
#endif

namespace
{

// Pt(acac)2, model.md Table 1.
// One setup, owned here; both backends copy what they need from it.
struct Case {
    std::vector<npg_rate_pair> table;
    std::vector<double> cdf;
    std::vector<uint32_t> sizes;
    npg_backend_setup s{};

    Case(uint64_t count, uint32_t n_table = NPG_RATES_DEFAULT_N_TABLE) : table(n_table)
    {
        s.model = pt_acac();
        npg_rates_fill(table.data(), n_table, &s.model);
        s.count = count;
        s.seed = 20250607u;
        s.table = table.data();
        s.n_table = n_table;
        s.init.kind = NPG_INIT_MONODISPERSE;
        s.init.n = 200;
        s.init.sigma_s = s.model.sigma_s;
        s.threads = 0;
        s.device = 0;
    }
    // Triangular weights on [lo, hi]: a histogram init with many distinct sizes.
    void histogram(uint32_t lo, uint32_t hi)
    {
        double total = 0;
        std::vector<double> w;
        for (uint32_t n = lo; n <= hi; ++n) {
            double x = 1.0 - std::fabs((double)n - 0.5 * (lo + hi)) / (0.5 * (hi - lo) + 1.0);
            w.push_back(x);
            total += x;
            sizes.push_back(n);
        }
        double acc = 0;
        for (double x : w) {
            acc += x / total;
            cdf.push_back(acc);
        }
        cdf.back() = 1.0;
        s.init.kind = NPG_INIT_HISTOGRAM;
        s.init.cdf = cdf.data();
        s.init.sizes = sizes.data();
        s.init.table_len = (uint32_t)sizes.size();
    }
    // A birth-death chain with constant rates (the engine accepts arbitrary tables).
    void constant_rates(double assoc, double dissoc)
    {
        for (size_t n = 2; n < table.size(); ++n)
            table[n] = npg_rate_pair{assoc, dissoc};
        table[0] = table[1] = npg_rate_pair{0.0, 0.0};
    }
};

// A CPU and a CUDA backend made from the same setup.
struct Pair {
    npg_backend cpu{}, gpu{};
    bool have_cpu = false, have_gpu = false;
    uint64_t count = 0;
    std::string err;

    bool create(const npg_backend_setup &s)
    {
        char e[512] = "";
        count = s.count;
        if (npg_backend_cpu_create(&cpu, &s, e, sizeof e)) {
            err = std::string("cpu: ") + e;
            return false;
        }
        have_cpu = true;
        if (npg_backend_cuda_create(&gpu, &s, e, sizeof e)) {
            err = std::string("cuda: ") + e;
            return false;
        }
        have_gpu = true;
        return true;
    }
    ~Pair()
    {
        if (have_cpu)
            cpu.destroy(&cpu);
        if (have_gpu)
            gpu.destroy(&gpu);
    }
};

std::vector<uint32_t> sizes_of(npg_backend *b, uint64_t count)
{
    std::vector<uint64_t> ids(count);
    for (uint64_t i = 0; i < count; ++i)
        ids[i] = i;
    std::vector<uint32_t> n(count);
    char e[512] = "";
    EXPECT_EQ(b->sample(b, ids.data(), count, n.data(), e, sizeof e), 0) << e;
    return n;
}

struct Reduction {
    std::vector<uint64_t> count, prev_count;
    std::vector<int64_t> sum_dn;
    bool operator==(const Reduction &o) const
    {
        return count == o.count && prev_count == o.prev_count && sum_dn == o.sum_dn;
    }
};

Reduction reduce(npg_backend *b)
{
    uint32_t max_n = 0;
    char e[512] = "";
    EXPECT_EQ(b->max_n(b, &max_n, e, sizeof e), 0) << e;
    Reduction r;
    const uint32_t len = max_n + 1;
    r.count.assign(len, 0);
    r.prev_count.assign(len, 0);
    r.sum_dn.assign(len, 0);
    npg_reduction red{len, r.count.data(), r.prev_count.data(), r.sum_dn.data(), nullptr};
    EXPECT_EQ(b->reduce(b, &red, e, sizeof e), 0) << b->name << ": " << e;
    return r;
}

// The reduction as backend.h defines it, from sizes now and at the last mark.
Reduction expected_reduction(const std::vector<uint32_t> &now, const std::vector<uint32_t> &prev)
{
    uint32_t max_n = 0;
    for (size_t i = 0; i < now.size(); ++i)
        max_n = std::max({max_n, now[i], prev[i]});
    Reduction r;
    r.count.assign(max_n + 1, 0);
    r.prev_count.assign(max_n + 1, 0);
    r.sum_dn.assign(max_n + 1, 0);
    for (size_t i = 0; i < now.size(); ++i) {
        if (now[i] >= 2)
            r.count[now[i]] += 1;
        if (prev[i] >= 2) {
            r.prev_count[prev[i]] += 1;
            r.sum_dn[prev[i]] += (int64_t)(now[i] >= 2 ? now[i] : 1) - (int64_t)prev[i];
        }
    }
    return r;
}

// Fraction of particles whose sizes agree.
double agreement(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b)
{
    size_t same = 0;
    for (size_t i = 0; i < a.size(); ++i)
        same += a[i] == b[i];
    return a.empty() ? 1.0 : (double)same / (double)a.size();
}

// Two-sample Z of <n^q> over alive particles, q = 1, 2.
void expect_moments_close(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b)
{
    for (int q = 1; q <= 2; ++q) {
        double m[2] = {0, 0}, v[2] = {0, 0}, k[2] = {0, 0};
        const std::vector<uint32_t> *xs[2] = {&a, &b};
        for (int j = 0; j < 2; ++j) {
            double s = 0, s2 = 0;
            for (uint32_t n : *xs[j]) {
                if (n < 2)
                    continue;
                double x = q == 1 ? (double)n : (double)n * n;
                s += x;
                s2 += x * x;
                k[j] += 1;
            }
            m[j] = s / k[j];
            v[j] = s2 / k[j] - m[j] * m[j];
        }
        double se = std::sqrt(v[0] / k[0] + v[1] / k[1]);
        double z = se > 0 ? (m[1] - m[0]) / se : (m[1] == m[0] ? 0.0 : 1e9);
        EXPECT_LT(std::fabs(z), 3.0) << "moment q=" << q << " cpu " << m[0] << " cuda " << m[1];
    }
}

void expect_stats_close(const npg_advance_stats &c, const npg_advance_stats &g, int k)
{
    auto rel = [](uint64_t x, uint64_t y) {
        double d = std::fabs((double)x - (double)y);
        return x == y ? 0.0 : d / std::max<double>(1.0, (double)x);
    };
    EXPECT_LE(rel(c.events, g.events), 1e-3)
        << "interval " << k << " events " << c.events << " vs " << g.events;
    EXPECT_LE(rel(c.alive, g.alive), 1e-3) << "interval " << k;
    EXPECT_LE(rel(c.bound, g.bound), 1e-3) << "interval " << k;
}

struct Step {
    double dt, s0, s1;
};

// Advance both backends through the same intervals with a mark before the last one, then check
// sizes, moments, per-interval totals and both reductions.
void run_and_compare(Pair &p, const std::vector<Step> &steps, uint32_t seed)
{
    char e[512] = "";
    std::vector<uint32_t> marked_cpu, marked_gpu;
    for (size_t k = 0; k < steps.size(); ++k) {
        if (k + 1 == steps.size()) {
            ASSERT_EQ(p.cpu.mark(&p.cpu, e, sizeof e), 0) << e;
            ASSERT_EQ(p.gpu.mark(&p.gpu, e, sizeof e), 0) << e;
            marked_cpu = sizes_of(&p.cpu, p.count);
            marked_gpu = sizes_of(&p.gpu, p.count);
        }
        npg_interval iv{steps[k].dt, steps[k].s0, steps[k].s1, (uint64_t)k, seed};
        npg_advance_stats sc{}, sg{};
        ASSERT_EQ(p.cpu.advance(&p.cpu, &iv, &sc, e, sizeof e), 0) << e;
        ASSERT_EQ(p.gpu.advance(&p.gpu, &iv, &sg, e, sizeof e), 0) << e;
        EXPECT_GT(sc.events, 0u);
        expect_stats_close(sc, sg, (int)k);
    }
    std::vector<uint32_t> nc = sizes_of(&p.cpu, p.count), ng = sizes_of(&p.gpu, p.count);
    const double agree = agreement(nc, ng);
    EXPECT_GE(agree, 0.999) << "final sizes identical for only " << agree * 100 << " %";
    std::printf("    [cuda vs cpu] %zu particles, %.6f %% identical final sizes\n", nc.size(),
                agree * 100.0);
    expect_moments_close(nc, ng);

    Reduction rc = reduce(&p.cpu), rg = reduce(&p.gpu);
    EXPECT_TRUE(rc == expected_reduction(nc, marked_cpu)) << "cpu reduction != its own state";
    EXPECT_TRUE(rg == expected_reduction(ng, marked_gpu)) << "cuda reduction != its own state";
    if (nc == ng && marked_cpu == marked_gpu) {
        EXPECT_TRUE(rc == rg) << "identical states, different reductions";
    }
}

TEST(CudaBackend, AvailabilityHasAReason)
{
    char why[256] = "";
    int ok = npg_backend_cuda_available(why, sizeof why);
    if (!ok) {
        EXPECT_GT(std::strlen(why), 0u) << "unusable without a reason";
    }
    NPG_NEED_GPU();
    EXPECT_EQ(ok, 1);
}

TEST(CudaBackend, InitialStatesEqualCpu)
{
    NPG_NEED_GPU();
    for (int kind = 0; kind < 3; ++kind) {
        Case st(300000);
        if (kind == 1)
            st.histogram(150, 450);
        if (kind == 2) { // radius normal around n ~ 300 (uses device log/cos: may round apart)
            st.s.init.kind = NPG_INIT_NORMAL_R;
            st.s.init.loc = 0.155672 * std::cbrt(300.0);
            st.s.init.scale = 0.06;
        }
        Pair p;
        ASSERT_TRUE(p.create(st.s)) << p.err;
        EXPECT_STREQ(p.gpu.name, "cuda");
        EXPECT_EQ(p.gpu.bytes_per_particle, 8.0);
        std::vector<uint32_t> nc = sizes_of(&p.cpu, p.count), ng = sizes_of(&p.gpu, p.count);
        if (kind < 2) {
            EXPECT_TRUE(nc == ng) << "init kind " << kind;
        } else {
            EXPECT_GE(agreement(nc, ng), 0.999);
        }
        Reduction rc = reduce(&p.cpu), rg = reduce(&p.gpu);
        EXPECT_TRUE(rg == expected_reduction(ng, ng)) << "init kind " << kind;
        if (nc == ng) {
            EXPECT_TRUE(rc == rg) << "init kind " << kind;
        }
    }
}

TEST(CudaBackend, ConstantSupersaturationMatchesCpu)
{
    NPG_NEED_GPU();
    Case st(1000000);
    st.s.init.n = 200;
    Pair p;
    ASSERT_TRUE(p.create(st.s)) << p.err;
    run_and_compare(p, {{1.0, 8.0, 8.0}, {1.0, 8.0, 8.0}, {1.0, 8.0, 8.0}}, st.s.seed);
}

TEST(CudaBackend, TimeVaryingSupersaturationMatchesCpu)
{
    NPG_NEED_GPU();
    Case st(500000);
    st.histogram(100, 500);
    Pair p;
    ASSERT_TRUE(p.create(st.s)) << p.err;
    // Thinning path (s0 != s1): hypersaturated, down through the shrinking regime, up again.
    run_and_compare(
        p, {{0.5, 12.0, 4.0}, {0.5, 4.0, 1.5}, {0.5, 1.5, 1.5}, {0.5, 1.5, 6.0}, {0.5, 6.0, 10.0}},
        st.s.seed);
}

TEST(CudaBackend, DissolutionMatchesCpu)
{
    NPG_NEED_GPU();
    Case st(500000);
    st.constant_rates(1.0, 3.0); // drifts down: most particles reach n = 1 and dissolve
    st.s.init.n = 4;
    Pair p;
    ASSERT_TRUE(p.create(st.s)) << p.err;
    run_and_compare(p, {{0.5, 1.0, 1.0}, {0.5, 1.0, 1.0}, {1.0, 1.0, 1.0}}, st.s.seed);
    std::vector<uint32_t> ng = sizes_of(&p.gpu, p.count);
    size_t dissolved = std::count(ng.begin(), ng.end(), 1u);
    EXPECT_GT(dissolved, ng.size() / 2) << "the test meant most particles to dissolve";
}

TEST(CudaBackend, BeyondTableMatchesCpu)
{
    NPG_NEED_GPU();
    // A 256-entry table: particles near 300 use the exact model on each side (device and host
    // libm may differ in the last ulp; the 99.9 % standard allows for it).
    Case st(200000, 256);
    st.histogram(200, 320);
    Pair p;
    ASSERT_TRUE(p.create(st.s)) << p.err;
    run_and_compare(p, {{1.0, 8.0, 8.0}, {1.0, 3.0, 6.0}}, st.s.seed);
}

TEST(CudaBackend, SaveRestoreMatchesCpu)
{
    NPG_NEED_GPU();
    Case st(300000);
    st.s.need_save = 1;
    Pair p;
    ASSERT_TRUE(p.create(st.s)) << p.err;
    EXPECT_EQ(p.gpu.bytes_per_particle, 12.0);
    char e[512] = "";
    npg_advance_stats sc{}, sg{};
    npg_interval iv{1.0, 8.0, 8.0, 0, st.s.seed};
    ASSERT_EQ(p.gpu.advance(&p.gpu, &iv, &sg, e, sizeof e), 0) << e;
    ASSERT_EQ(p.cpu.advance(&p.cpu, &iv, &sc, e, sizeof e), 0) << e;
    ASSERT_EQ(p.gpu.save(&p.gpu, e, sizeof e), 0) << e;
    ASSERT_EQ(p.cpu.save(&p.cpu, e, sizeof e), 0) << e;
    std::vector<uint32_t> saved = sizes_of(&p.gpu, p.count);
    iv.step = 1;
    ASSERT_EQ(p.gpu.advance(&p.gpu, &iv, &sg, e, sizeof e), 0) << e;
    ASSERT_EQ(p.cpu.advance(&p.cpu, &iv, &sc, e, sizeof e), 0) << e;
    EXPECT_FALSE(sizes_of(&p.gpu, p.count) == saved);
    ASSERT_EQ(p.gpu.restore(&p.gpu, e, sizeof e), 0) << e;
    ASSERT_EQ(p.cpu.restore(&p.cpu, e, sizeof e), 0) << e;
    EXPECT_TRUE(sizes_of(&p.gpu, p.count) == saved);
    EXPECT_GE(agreement(sizes_of(&p.cpu, p.count), saved), 0.999);
}

TEST(CudaBackend, ErrorsAreReported)
{
    NPG_NEED_GPU();
    Case st(1000);
    npg_backend b{};
    char e[512] = "";
    ASSERT_EQ(npg_backend_cuda_create(&b, &st.s, e, sizeof e), 0) << e;
    uint64_t bad = 1000;
    uint32_t out = 0;
    EXPECT_NE(b.sample(&b, &bad, 1, &out, e, sizeof e), 0);
    EXPECT_NE(std::strstr(e, "out of range"), nullptr) << e;
    EXPECT_NE(b.save(&b, e, sizeof e), 0) << "save without need_save must fail";
    b.destroy(&b);

    st.s.device = 999;
    EXPECT_NE(npg_backend_cuda_create(&b, &st.s, e, sizeof e), 0);
    EXPECT_NE(std::strstr(e, "device 999"), nullptr) << e;
    st.s.device = 0;
    st.s.count = 5000000000ull; // beyond 32-bit particle ids
    EXPECT_NE(npg_backend_cuda_create(&b, &st.s, e, sizeof e), 0);

    // The failures above leave nothing behind that a later backend would report as its own.
    st.s.count = 1000;
    ASSERT_EQ(npg_backend_cuda_create(&b, &st.s, e, sizeof e), 0) << e;
    npg_interval iv{1.0, 8.0, 8.0, 0, st.s.seed};
    npg_advance_stats s{};
    EXPECT_EQ(b.advance(&b, &iv, &s, e, sizeof e), 0) << e;
    b.destroy(&b);
}

#ifdef NPGROW_HAVE_CUDA
// Nothing is keyed on thread or block index: other launch shapes give the same trajectories,
// bit for bit, and so does a repeat.
TEST(CudaBackend, LaunchShapeAndRepeatDoNotChangeResults)
{
    NPG_NEED_GPU();
    Case st(400000);
    st.histogram(150, 450);
    npg_cuda_launch shapes[3] = {npg_cuda_launch_default(), npg_cuda_launch_default(),
                                 npg_cuda_launch_default()};
    shapes[1].block = 128;
    shapes[1].blocks_per_sm = 2; // each thread strides over many particles
    shapes[2].block = 256;
    shapes[2].min_blocks = shapes[0].min_blocks == 0 ? 4 : 0; // the other register budget
    std::vector<uint32_t> first;
    uint64_t first_events = 0;
    for (int rep = 0; rep < 4; ++rep) {
        npg_backend b{};
        char e[512] = "";
        ASSERT_EQ(npg_backend_cuda_create_with(&b, &st.s, &shapes[rep % 3], e, sizeof e), 0) << e;
        uint64_t events = 0;
        for (uint64_t k = 0; k < 3; ++k) {
            npg_interval iv{0.7, 9.0, k == 1 ? 3.0 : 9.0, k, st.s.seed};
            npg_advance_stats s{};
            ASSERT_EQ(b.advance(&b, &iv, &s, e, sizeof e), 0) << e;
            events += s.events;
        }
        std::vector<uint32_t> n = sizes_of(&b, st.s.count);
        npg_cuda_timing t{};
        EXPECT_EQ(npg_backend_cuda_timing(&b, &t), 0);
        EXPECT_EQ(t.steps, 3u);
        EXPECT_GT(t.step_ms, 0.0);
        b.destroy(&b);
        if (rep == 0) {
            first = n;
            first_events = events;
        } else {
            EXPECT_TRUE(n == first) << "launch shape " << rep % 3 << " repeat " << rep;
            EXPECT_EQ(events, first_events);
        }
    }
}
#endif

} // namespace
