// test_ssa_batch.cpp: the CPU backend's batched SSA against step.h's npg_particle_advance.
//
// The batch draws the same Philox words ahead, vectorized, and feeds them to the same
// npg_walk_step, so the two must agree exactly: every final size and the total event count,
// over regimes that exercise each way a walk ends (beyond dt, dissolution, frozen), thinning
// rejections (time-varying S), sizes beyond the rate table and group boundaries.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "npgrow/backend.h"
#include "npgrow/ssa_batch.h"
#include "../support/systems.h"

namespace
{

struct Case {
    npg_model model;
    std::vector<npg_rate_pair> table;
    npg_interval iv;
};

Case model_case(uint32_t n_table, double s0, double s1, double dt, uint64_t step)
{
    Case c;
    c.model = pt_acac();
    c.table.resize(n_table);
    npg_rates_fill(c.table.data(), n_table, &c.model);
    c.iv.dt = dt;
    c.iv.s0 = s0;
    c.iv.s1 = s1;
    c.iv.step = step;
    c.iv.seed = 2024;
    return c;
}

// Runs both paths over particles [begin, size) of `n0` (a copy each) and expects identical sizes,
// event counts and totals.
void expect_identical(const Case &c, const std::vector<uint32_t> &n0, uint64_t begin = 0)
{
    npg_rates r;
    r.model = c.model;
    r.table = c.table.data();
    r.n_table = (uint32_t)c.table.size();

    std::vector<uint32_t> ref = n0;
    uint64_t ref_events = 0, ref_alive = 0, ref_bound = 0;
    for (uint64_t i = begin; i < ref.size(); ++i) {
        uint32_t ev = 0;
        ref[i] = npg_particle_advance(ref[i], (uint32_t)i, &c.iv, &r, &ev);
        ref_events += ev;
        if (ref[i] >= 2) {
            ref_alive += 1;
            ref_bound += ref[i];
        }
    }

    std::vector<uint32_t> bat = n0;
    npg_advance_stats tot = {0, 0, 0};
    npg_ssa_batch_advance(bat.data(), begin, bat.size(), &c.iv, &r, &tot);

    uint64_t mismatches = 0, changed = 0;
    for (size_t i = 0; i < n0.size(); ++i) {
        mismatches += ref[i] != bat[i];
        changed += ref[i] != n0[i];
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(tot.events, ref_events);
    EXPECT_EQ(tot.alive, ref_alive);
    EXPECT_EQ(tot.bound, ref_bound);
    // The comparison must have something to compare: most particles moved.
    EXPECT_GT(changed, (n0.size() - begin) / 2);
}

std::vector<uint32_t> spread(size_t count, uint32_t lo, uint32_t hi)
{
    std::vector<uint32_t> n(count);
    for (size_t i = 0; i < count; ++i)
        n[i] = lo + (uint32_t)((i * 2654435761u) % (hi - lo + 1));
    return n;
}

} // namespace

TEST(SsaBatch, ConstantSupersaturationGrowth)
{
    // Hypersaturated, ~20 proposals per particle: many rounds of 4 slots.
    expect_identical(model_case(NPG_RATES_DEFAULT_N_TABLE, 8.0, 8.0, 0.25, 3),
                     spread(100003, 200, 400));
}

TEST(SsaBatch, TimeVaryingSupersaturationWithRejections)
{
    // S falls from 3.5 to 1.0 through the shrinking regime: thinning rejections and both
    // channels; step index above 2^32 exercises the counter's high word.
    expect_identical(model_case(NPG_RATES_DEFAULT_N_TABLE, 3.5, 1.0, 1.0, 0x100000007ull),
                     spread(50021, 20, 2000));
}

TEST(SsaBatch, DissolvingChainAndDeadParticles)
{
    // Constant-rate chain with death twice birth from small sizes: most dissolve in the
    // interval (walk ends at n = 1); particles already dissolved (n = 1) are skipped by both.
    Case c;
    c.model = pt_acac();
    c.table.assign(64, npg_rate_pair{1.0, 2.0});
    c.table[0] = npg_rate_pair{0.0, 0.0};
    c.table[1] = npg_rate_pair{0.0, 0.0};
    c.iv = npg_interval{5.0, 1.0, 1.0, 11, 99};
    std::vector<uint32_t> n = spread(30011, 2, 6);
    for (size_t i = 0; i < n.size(); i += 7)
        n[i] = 1;
    expect_identical(c, n, 5); // begin = 5: a group boundary that is not a multiple of 64
}

TEST(SsaBatch, BeyondTheRateTable)
{
    // A 256-entry table with sizes 250-350: most proposals evaluate the model exactly.
    expect_identical(model_case(256, 4.0, 6.0, 0.5, 0), spread(20011, 250, 350));
}

TEST(SsaBatch, CpuBackendRefusesMoreThan2To32Particles)
{
    // Particle ids are 32-bit Philox keys; beyond 2^32 they would repeat.
    npg_backend b;
    npg_backend_setup s{};
    s.count = 0x100000001ull;
    char err[256] = "";
    EXPECT_NE(npg_backend_cpu_create(&b, &s, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("2^32 particles"), std::string::npos) << err;
}

TEST(SsaBatch, FrozenParticlesStay)
{
    // S = 0 and a table without dissociation: the majorant is 0, nothing happens on either path.
    Case c;
    c.model = pt_acac();
    c.table.assign(64, npg_rate_pair{1.0, 0.0});
    c.iv = npg_interval{1.0, 0.0, 0.0, 1, 5};
    std::vector<uint32_t> n = spread(1000, 2, 60);
    npg_rates r{c.model, c.table.data(), (uint32_t)c.table.size()};
    std::vector<uint32_t> bat = n;
    npg_advance_stats tot = {0, 0, 0};
    npg_ssa_batch_advance(bat.data(), 0, bat.size(), &c.iv, &r, &tot);
    EXPECT_EQ(bat, n);
    EXPECT_EQ(tot.events, 0u);
    EXPECT_EQ(tot.alive, n.size());
}
