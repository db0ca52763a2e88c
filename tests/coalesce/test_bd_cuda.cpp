// test_bd_cuda.cpp: the Brownian-dynamics device on the GPU (kernels/bd_cuda.cu) attached to the
// host's Brownian dynamics, against the host alone: the scenario of tests/support/bd_scenario.h,
// bit for bit. Its OpenMP twin (test_bd_device.cpp) runs the same device source in CI; this one
// needs a GPU and skips without one, unless NPG_REQUIRE_GPU=1, which turns the skip into a
// failure.
//
// The device is compiled without FMA contraction (like the host, -ffp-contract=off), so its
// arithmetic is the host's; only CUDA's cbrt and exp may differ from glibc's in the last bit,
// which changes an outcome only when a distance or a uniform falls within an ulp of a threshold
// (odds of order 1e-5 for this scenario's ~1e7 decisions).
#include <gtest/gtest.h>

#include <cstdlib>

#include "../support/bd_scenario.h"
#include "../support/need_gpu.h"

TEST(BrownianCuda, MergeMatchesHost)
{
    NPG_NEED_GPU();
    const BdRun h = bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 77u);
    const BdRun d = bd_run_scenario(npg_bd_device_cuda, 2, NPG_BD_MERGE, 77u);
    bd_expect_same(h, d);
    std::printf("  %llu merges; GPU: %llu slots fetched, %llu put back, %.1f device B/particle\n",
                (unsigned long long)d.st.reactions, (unsigned long long)d.st.dev_fetched,
                (unsigned long long)d.st.dev_put, d.device_bytes);
}

TEST(BrownianCuda, RemoveMatchesHost)
{
    NPG_NEED_GPU();
    bd_expect_same(bd_run_scenario(nullptr, 2, NPG_BD_REMOVE, 5u),
                   bd_run_scenario(npg_bd_device_cuda, 2, NPG_BD_REMOVE, 5u));
}

TEST(BrownianCuda, HardCoreMatchesHost)
{
    NPG_NEED_GPU();
    bd_expect_same(bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 31u, 1e-2, 0.0, 3.4),
                   bd_run_scenario(npg_bd_device_cuda, 2, NPG_BD_MERGE, 31u, 1e-2, 0.0, 3.4));
}

TEST(BrownianCuda, DiluteMatchesHost)
{
    NPG_NEED_GPU();
    bd_expect_same(bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 9u, 2e-3, 400.0, 20.0),
                   bd_run_scenario(npg_bd_device_cuda, 2, NPG_BD_MERGE, 9u, 2e-3, 400.0, 20.0));
}

TEST(BrownianCuda, BridgeMatchesHost)
{
    NPG_NEED_GPU();
    bd_expect_same(
        bd_run_scenario(nullptr, 2, NPG_BD_MERGE, 77u, 2e-3, 400.0, 6.0, NPG_BD_SAMPLE_BRIDGE),
        bd_run_scenario(npg_bd_device_cuda, 2, NPG_BD_MERGE, 77u, 2e-3, 400.0, 6.0,
                        NPG_BD_SAMPLE_BRIDGE));
}
