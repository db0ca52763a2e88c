// tests/support/bd_scenario.h: one Brownian-dynamics scenario through every path of the host's
// serial part, run with and without an attached device (npg_bd_device), and the bit-for-bit
// comparison of two runs. Used by the device's OpenMP twin (tests/coalesce/test_bd_device.cpp)
// and by the GPU (tests/coalesce/test_bd_cuda.cpp).
#ifndef NPGROW_TESTS_SUPPORT_BD_SCENARIO_H
#define NPGROW_TESTS_SUPPORT_BD_SCENARIO_H

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "npgrow/brownian.h"

constexpr double kBdSigmaS = 0.155672; // Pt monomer radius [nm] (model.md 1.7)

struct BdRun {
    std::vector<double> xyz;
    std::vector<uint32_t> n;
    std::vector<uint64_t> groupb;
    std::vector<npg_wm_event> events;
    npg_bd_stats st;
    double device_bytes = 0.0;
};

inline int bd_record_event(void *ctx, const npg_wm_event *ev)
{
    static_cast<std::vector<npg_wm_event> *>(ctx)->push_back(*ev);
    return 0;
}

// A dense merging system through every path of the serial part: reflections, reverts, merges
// and their pushes, growth overlaps (sizes doubled between advances), a dissolved particle,
// insertions (new slots, displaced), a stale id re-inserted (its old slot killed), multi-step
// advances with rebuilds and a regrid as the largest radius grows.
// make_device (may be null: the host alone) gives the device for a capacity, or null with a
// message (the test fails).
typedef npg_bd_device *(*BdDeviceFactory)(uint64_t capacity, char *err, size_t errlen);

// shell: NPG_BD_SHELL_GAUSSIAN or _STEP; full_cutoff: npg_bd_params.full_cutoff.
inline BdRun bd_run_scenario(BdDeviceFactory make_device, int threads, int on_reaction,
                             uint32_t seed, double dt = 2e-3, double kappa_c = 400.0,
                             double spacing = 6.0, int sampling = NPG_BD_SAMPLE_END,
                             int shell = NPG_BD_SHELL_GAUSSIAN, int full_cutoff = 0)
{
    const uint64_t N = 6000, extra = 40;
    const double L = spacing * std::cbrt((double)N);
    npg_bd_params p{};
    p.coal.sigma_s = kBdSigmaS;
    p.coal.d_ref_r_ref = 1.0;
    p.coal.ligand = 0.4;
    p.coal.fermi = 1;
    p.coal.gamma = 7.64;
    p.coal.sigma_c = 3.0;
    p.box_nm = L;
    p.shell_nm = 0.1;
    p.shell = shell;
    p.kappa_c = kappa_c;
    p.dt = dt;
    p.sampling = sampling;
    p.on_reaction = on_reaction;
    p.seed = seed;
    p.threads = threads;
    p.full_cutoff = full_cutoff;
    BdRun r;
    char err[1024] = "";
    npg_bd *bd = nullptr;
    EXPECT_EQ(npg_bd_create(&bd, &p, N + extra, err, sizeof err), 0) << err;
    if (!bd)
        return r;
    if (make_device) {
        npg_bd_device *dev = make_device(N + extra, err, sizeof err);
        EXPECT_NE(dev, nullptr) << err;
        EXPECT_EQ(npg_bd_attach(bd, dev, err, sizeof err), 0) << err;
    }
    r.n.assign(N + extra, 0);
    for (uint64_t i = 0; i < N; ++i)
        r.n[i] = 100 + (uint32_t)((i * 7919) % 900);
    auto fail = [&](const char *what) {
        ADD_FAILURE() << what << ": " << err;
        npg_bd_destroy(bd);
        return r;
    };
    if (npg_bd_place_all(bd, r.n.data(), 1.0, err, sizeof err))
        return fail("place_all");
    double t = 0.0;
    for (int k = 0; k < 6; ++k) {
        if (npg_bd_advance(bd, r.n.data(), t, t + 0.05, bd_record_event, &r.events, err,
                           sizeof err))
            return fail("advance");
        t += 0.05;
        if (k == 1)
            for (uint32_t id = N; id < N + 20; ++id)
                if (npg_bd_insert(bd, r.n.data(), id, 300 + id % 200, 2.0, err, sizeof err))
                    return fail("insert");
        if (k == 2) { // growth: sizes x 1.5, one particle dissolves
            for (uint32_t &x : r.n)
                if (x >= 2)
                    x += x / 2;
            for (uint32_t id = 0;; ++id)
                if (r.n[id] >= 2) {
                    r.n[id] = 1;
                    break;
                }
        }
        if (k == 3) { // a stale id: zeroed by its owner, then inserted again
            uint32_t id = 5;
            while (r.n[id] < 2)
                ++id;
            r.n[id] = 0;
            if (npg_bd_insert(bd, r.n.data(), id, 400, 2.0, err, sizeof err))
                return fail("re-insert");
            double xyz[3] = {0.5 * L, 0.25 * L, 0.75 * L};
            uint32_t free_id = N + 20;
            // place_at fails on an overlap: try a few positions, as a restart would
            for (int a = 0; a < 50; ++a) {
                xyz[0] = std::fmod(xyz[0] + 3.1, L);
                if (npg_bd_place_at(bd, r.n.data(), free_id, 300, xyz, err, sizeof err) == 0)
                    break;
            }
        }
    }
    r.xyz.assign(3 * (N + extra), 0.0);
    EXPECT_EQ(npg_bd_positions(bd, r.xyz.data()), 0);
    const uint64_t *b = npg_bd_group_b(bd);
    r.groupb.assign(b, b + (N + extra) / 64 + 1);
    npg_bd_get_stats(bd, &r.st);
    r.device_bytes = npg_bd_device_bytes_per_particle(bd);
    npg_bd_destroy(bd);
    return r;
}

inline void bd_expect_same(const BdRun &h, const BdRun &d)
{
    ASSERT_EQ(h.xyz.size(), d.xyz.size());
    size_t diff = 0;
    for (size_t i = 0; i < h.xyz.size(); ++i)
        diff += std::memcmp(&h.xyz[i], &d.xyz[i], sizeof(double)) != 0;
    EXPECT_EQ(diff, 0u) << "coordinates differ";
    EXPECT_EQ(h.n, d.n);
    EXPECT_EQ(h.groupb, d.groupb);
    ASSERT_EQ(h.events.size(), d.events.size());
    for (size_t k = 0; k < h.events.size(); ++k)
        EXPECT_EQ(std::memcmp(&h.events[k], &d.events[k], sizeof h.events[k]), 0) << k;
    EXPECT_EQ(h.st.steps, d.st.steps);
    EXPECT_EQ(h.st.particle_steps, d.st.particle_steps);
    EXPECT_EQ(h.st.reactions, d.st.reactions);
    EXPECT_EQ(h.st.conflicts, d.st.conflicts);
    EXPECT_EQ(h.st.reflections, d.st.reflections);
    EXPECT_EQ(h.st.reverts, d.st.reverts);
    EXPECT_EQ(h.st.pushes, d.st.pushes);
    EXPECT_EQ(h.st.rebuilds, d.st.rebuilds);
    EXPECT_EQ(h.st.regrids, d.st.regrids);
    EXPECT_EQ(h.st.close_pairs, d.st.close_pairs);
    EXPECT_EQ(h.st.placed, d.st.placed);
}

#endif // NPGROW_TESTS_SUPPORT_BD_SCENARIO_H
