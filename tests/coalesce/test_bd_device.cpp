// test_bd_device.cpp: the Brownian-dynamics device (kernels/bd_device.cuh) compiled for the CPU
// through Thrust's OpenMP system and attached to the host's Brownian dynamics (npg_bd_attach),
// against the host alone.
//
// This is the GPU's device code, not a copy of it: only the Thrust system differs. With it
// attached, moves, the pair search, rebuilds and sizes run in its arrays and the host works on
// a mirror that it fetches cell by cell and puts back slot by slot (host/coalesce/brownian.c,
// "the device's mirror"). The random numbers depend on ids and steps only and the slot order
// is the same, so every position, size, Group B bit, event and counter must be bit-identical;
// a slot the host forgot to fetch or to put back changes them.
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_OMP

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "../support/bd_scenario.h"

#if __has_include(<thrust/version.h>)
#define NPG_HAVE_THRUST 1
#include "../../kernels/bd_device.cuh"
#endif

#ifdef NPG_HAVE_THRUST

namespace
{
npg_bd_device *twin(uint64_t capacity, char *err, size_t errlen)
{
    return bd_device_new(capacity, err, errlen);
}
} // namespace

TEST(BrownianDevice, MergeTwinMatchesHostBitForBit)
{
    const BdRun h = bd_run_scenario(nullptr, 1, NPG_BD_MERGE, 77u);
    std::printf("  host: %llu merges, %llu conflicts, %llu reflections, %llu reverts, %llu pushes, "
                "%llu rebuilds, %llu regrids\n",
                (unsigned long long)h.st.reactions, (unsigned long long)h.st.conflicts,
                (unsigned long long)h.st.reflections, (unsigned long long)h.st.reverts,
                (unsigned long long)h.st.pushes, (unsigned long long)h.st.rebuilds,
                (unsigned long long)h.st.regrids);
    // the scenario reaches every path it is meant to
    EXPECT_GT(h.st.reactions, 200u);
    EXPECT_GT(h.st.conflicts, 0u);
    EXPECT_GT(h.st.reflections, 50u);
    EXPECT_GT(h.st.pushes, 0u);
    EXPECT_GT(h.st.rebuilds, 3u);
    for (int threads = 1; threads <= 2; ++threads) {
        SCOPED_TRACE(threads);
        const BdRun d = bd_run_scenario(twin, threads, NPG_BD_MERGE, 77u);
        bd_expect_same(h, d);
        std::printf("  device (%d threads): %llu slots fetched, %llu put back\n", threads,
                    (unsigned long long)d.st.dev_fetched, (unsigned long long)d.st.dev_put);
        EXPECT_GT(d.st.dev_fetched, 1000u); // the mirror was used
        EXPECT_GT(d.st.dev_put, 100u);
        EXPECT_GT(d.device_bytes, 28.0);
        EXPECT_LT(d.device_bytes, 40.0);
    }
}

// Dense and without reactions (spacing 3.4 nm, radii 0.7 - 1.6 nm): the hard core's Jacobi
// rounds over chains of contacts, and the pushes after growth, every step.
TEST(BrownianDevice, HardCoreTwinMatchesHostBitForBit)
{
    const BdRun h = bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 31u, 1e-2, 0.0, 3.4);
    EXPECT_GT(h.st.reflections, 10000u);
    EXPECT_GT(h.st.pushes, 100u);
    EXPECT_EQ(h.st.reactions, 0u);
    bd_expect_same(h, bd_run_scenario(twin, 2, NPG_BD_MERGE, 31u, 1e-2, 0.0, 3.4));
}

// Dilute (spacing 20 nm): the host fetches only the cells around the few close pairs and the
// displaced slots, a small fraction of the slots per step, and still matches bit for bit.
TEST(BrownianDevice, DiluteTwinFetchesLittle)
{
    const BdRun h = bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 9u, 2e-3, 400.0, 20.0);
    const BdRun d = bd_run_scenario(twin, 2, NPG_BD_MERGE, 9u, 2e-3, 400.0, 20.0);
    bd_expect_same(h, d);
    const double per_step = (double)d.st.dev_fetched / (double)d.st.steps;
    std::printf("  %llu steps, %llu merges, %llu rebuilds: %.0f slots fetched and %.1f put back "
                "per step (of ~6000)\n",
                (unsigned long long)d.st.steps, (unsigned long long)d.st.reactions,
                (unsigned long long)d.st.rebuilds, per_step,
                (double)d.st.dev_put / (double)d.st.steps);
    EXPECT_GT(h.st.reactions, 0u);
    EXPECT_LT(per_step, 600.0);
}

// The shell sampled along the Brownian bridge (npg_bd_fires draws both partners' displacements
// again): the same pairs react on the device as on the host, with 1 and 2 threads, and the
// bridge changes which (its exposure differs from the step-end hazard).
TEST(BrownianDevice, BridgeTwinMatchesHostBitForBit)
{
    const BdRun e = bd_run_scenario(nullptr, 1, NPG_BD_MERGE, 77u);
    const BdRun h =
        bd_run_scenario(nullptr, 1, NPG_BD_MERGE, 77u, 2e-3, 400.0, 6.0, NPG_BD_SAMPLE_BRIDGE);
    std::printf("  host: %llu merges along the bridge, %llu at step ends\n",
                (unsigned long long)h.st.reactions, (unsigned long long)e.st.reactions);
    EXPECT_GT(h.st.reactions, 200u);
    EXPECT_NE(h.events.size() == e.events.size() &&
                  std::memcmp(h.events.data(), e.events.data(),
                              h.events.size() * sizeof(npg_wm_event)) == 0,
              true);
    for (int threads = 1; threads <= 2; ++threads) {
        SCOPED_TRACE(threads);
        bd_expect_same(h, bd_run_scenario(twin, threads, NPG_BD_MERGE, 77u, 2e-3, 400.0, 6.0,
                                          NPG_BD_SAMPLE_BRIDGE));
    }
}

// A device smaller than the system is refused; attaching after the first advance too.
TEST(BrownianDevice, AttachChecks)
{
    npg_bd_params p{};
    p.coal.sigma_s = 0.155672;
    p.coal.d_ref_r_ref = 1.0;
    p.box_nm = 100.0;
    p.shell_nm = 0.1;
    p.threads = 1;
    char err[512] = "";
    npg_bd *bd = nullptr;
    ASSERT_EQ(npg_bd_create(&bd, &p, 100, err, sizeof err), 0) << err;
    npg_bd_device *small = twin(50, err, sizeof err);
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(npg_bd_attach(bd, small, err, sizeof err), 1);
    EXPECT_NE(std::strstr(err, "holds 50 particles, the system 100"), nullptr) << err;
    small->destroy(small->ctx);
    std::free(small);
    std::vector<uint32_t> n(100, 0);
    for (int i = 0; i < 10; ++i)
        n[i] = 300;
    ASSERT_EQ(npg_bd_place_all(bd, n.data(), 2.0, err, sizeof err), 0) << err;
    // attached after placement (the grid exists already): the first advance puts it all there
    npg_bd_device *dev = twin(100, err, sizeof err);
    ASSERT_EQ(npg_bd_attach(bd, dev, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_bd_advance(bd, n.data(), 0.0, 0.01, nullptr, nullptr, err, sizeof err), 0) << err;
    npg_bd_stats st;
    npg_bd_get_stats(bd, &st);
    EXPECT_GT(st.steps, 0u);
    npg_bd_device *late = twin(100, err, sizeof err);
    EXPECT_EQ(npg_bd_attach(bd, late, err, sizeof err), 1);
    late->destroy(late->ctx);
    std::free(late);
    npg_bd_destroy(bd);
}

TEST(BrownianDevice, RemoveTwinMatchesHostBitForBit)
{
    const BdRun h = bd_run_scenario(nullptr, 2, NPG_BD_REMOVE, 5u);
    EXPECT_GT(h.st.reactions, 200u);
    bd_expect_same(h, bd_run_scenario(twin, 2, NPG_BD_REMOVE, 5u));
}

#else

TEST(BrownianDevice, MergeTwinMatchesHostBitForBit)
{
    GTEST_SKIP() << "no Thrust headers: the device's OpenMP twin is not built";
}

#endif
