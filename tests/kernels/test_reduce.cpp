// test_reduce.cpp: the CUDA backend's reduction source (kernels/reduce.cuh), compiled here for
// the CPU through Thrust's OpenMP system, against plain loops on random states.
//
// This is the GPU's reduction code, not a copy of it: only the Thrust system differs. It runs in
// CI, where there is no GPU. Histograms are integers, so the comparison is exact.
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_OMP

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#if __has_include(<thrust/version.h>)
#define NPG_HAVE_THRUST 1
#include <thrust/execution_policy.h>

#include "../../kernels/reduce.cuh"
#endif

namespace
{

#ifdef NPG_HAVE_THRUST

struct State {
    std::vector<uint32_t> n, prev;
};

// Sizes from 0 (coalesced) and 1 (dissolved) up to len - 1, with a bulk near `centre` so that
// many threads hit the same bins at once (the contended case for the atomics).
State random_state(size_t count, uint32_t len, uint32_t centre, uint32_t seed)
{
    std::mt19937 g(seed);
    std::uniform_int_distribution<uint32_t> any(0, len - 1);
    std::normal_distribution<double> bulk(centre, 5.0);
    State s;
    s.n.resize(count);
    s.prev.resize(count);
    for (size_t i = 0; i < count; ++i) {
        auto draw = [&]() -> uint32_t {
            if (g() % 4 == 0)
                return any(g);
            double x = bulk(g);
            return x < 0 ? 0u : x >= len ? len - 1 : (uint32_t)x;
        };
        s.n[i] = draw();
        s.prev[i] = draw();
    }
    return s;
}

struct Hist {
    std::vector<unsigned long long> count, prev_count;
    std::vector<long long> sum_dn;
    unsigned bad = 0;
};

Hist run_thrust(const State &s, uint32_t len)
{
    Hist h;
    h.count.assign(len, 0);
    h.prev_count.assign(len, 0);
    std::vector<unsigned long long> sdn(len, 0);
    npg_hist_view v;
    v.n = s.n.data();
    v.n_prev = s.prev.data();
    v.count = h.count.data();
    v.prev_count = h.prev_count.data();
    v.sum_dn = sdn.data();
    v.bad = &h.bad;
    v.len = len;
    npg_reduce_histograms(thrust::device, v, s.n.size());
    h.sum_dn.assign(sdn.begin(), sdn.end()); // two's complement: the int64 sums
    return h;
}

// The specification, as the CPU backend states it (backend.h).
Hist run_loop(const State &s, uint32_t len)
{
    Hist h;
    h.count.assign(len, 0);
    h.prev_count.assign(len, 0);
    h.sum_dn.assign(len, 0);
    for (size_t i = 0; i < s.n.size(); ++i) {
        uint32_t n = s.n[i], p = s.prev[i];
        if (n >= len || p >= len) {
            h.bad = 1;
            continue;
        }
        if (n >= 2)
            h.count[n] += 1;
        if (p >= 2 && n != 0) { // n = 0: coalesced away since the mark
            h.prev_count[p] += 1;
            h.sum_dn[p] += (long long)(n >= 2 ? n : 1) - (long long)p;
        }
    }
    return h;
}

TEST(ThrustOmpReduce, HistogramsEqualPlainLoop)
{
    const uint32_t lens[] = {3, 64, 1000};
    uint32_t seed = 1;
    for (uint32_t len : lens) {
        for (size_t count : {size_t(1), size_t(1000), size_t(300000)}) {
            State s = random_state(count, len, len / 2, seed++);
            Hist a = run_thrust(s, len), b = run_loop(s, len);
            EXPECT_EQ(a.bad, 0u);
            EXPECT_EQ(a.count, b.count) << "len " << len << " count " << count;
            EXPECT_EQ(a.prev_count, b.prev_count) << "len " << len << " count " << count;
            EXPECT_EQ(a.sum_dn, b.sum_dn) << "len " << len << " count " << count;
        }
    }
}

TEST(ThrustOmpReduce, HistogramsRepeatExactly)
{
    State s = random_state(500000, 400, 200, 77);
    Hist a = run_thrust(s, 400), b = run_thrust(s, 400);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.prev_count, b.prev_count);
    EXPECT_EQ(a.sum_dn, b.sum_dn);
}

TEST(ThrustOmpReduce, SizeBeyondLengthIsFlagged)
{
    State s = random_state(1000, 50, 25, 5);
    s.n[617] = 50; // == len: out of range
    Hist a = run_thrust(s, 50);
    EXPECT_EQ(a.bad, 1u);
}

TEST(ThrustOmpReduce, MaxOverNowAndPrev)
{
    State s = random_state(200000, 5000, 300, 9);
    uint32_t want = 0;
    for (size_t i = 0; i < s.n.size(); ++i)
        want = std::max(want, std::max(s.n[i], s.prev[i]));
    EXPECT_EQ(npg_reduce_max_n(thrust::device, s.n.data(), s.prev.data(), s.n.size()), want);
    s.prev[12345] = 4000000000u; // a large size only in n_prev still counts
    EXPECT_EQ(npg_reduce_max_n(thrust::device, s.n.data(), s.prev.data(), s.n.size()), 4000000000u);
    EXPECT_EQ(npg_reduce_max_n(thrust::device, s.n.data(), s.prev.data(), 0), 0u);
}

#else

TEST(ThrustOmpReduce, HistogramsEqualPlainLoop)
{
    GTEST_SKIP() << "Thrust headers not found (no CUDA toolkit and no libthrust-dev)";
}

#endif

} // namespace
