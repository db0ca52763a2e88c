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
