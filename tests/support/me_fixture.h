// tests/support/me_fixture.h: what the master-equation tests share: a schedule-mode config built
// by hand (constant S, the Pt(acac)2 model, a monodisperse start of 300 unless changed) and an
// owning wrapper around npg_me.
#ifndef NPGROW_TESTS_SUPPORT_ME_FIXTURE_H
#define NPGROW_TESTS_SUPPORT_ME_FIXTURE_H

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "npgrow/config.h"
#include "npgrow/me.h"

#include "systems.h"

// Constant S over [0, 1e9], 1e5 particles, one output at t_end.
struct ScheduleCfg {
    npg_config c;
    std::vector<double> ts, ss;
    ScheduleCfg(double S, double t_end)
    {
        std::memset(&c, 0, sizeof c);
        c.model = pt_acac();
        std::strcpy(c.time_unit, "s");
        ts = {0.0, 1e9};
        ss = {S, S};
        c.supply = NPG_SUPPLY_SCHEDULE;
        c.schedule_len = 2;
        c.schedule_t = ts.data();
        c.schedule_s = ss.data();
        c.init_kind = NPG_INIT_MONODISPERSE;
        c.init_n = 300;
        c.particles = 100000;
        c.t_end = t_end;
        c.output_every = t_end;
        c.seed = 1;
        c.n_table = 65536;
        c.hist_bin_width = 50;
    }
};

// npg_me_create in the constructor (rc, err kept; expect_ok: a test failure unless it is 0).
struct MeRun {
    npg_me *me = nullptr;
    char err[512] = "";
    int rc = 0;
    MeRun(const npg_config *c, const npg_me_options *o, bool expect_ok = true)
    {
        rc = npg_me_create(&me, c, o, err, sizeof err);
        if (expect_ok) {
            EXPECT_EQ(rc, 0) << err;
        }
    }
    ~MeRun() { npg_me_destroy(me); }
    MeRun(const MeRun &) = delete;
    MeRun &operator=(const MeRun &) = delete;
    void to(double t) { ASSERT_EQ(npg_me_advance_to(me, t, err, sizeof err), 0) << err; }
    npg_me_state get()
    {
        npg_me_state st;
        npg_me_get(me, &st);
        return st;
    }
};

#endif // NPGROW_TESTS_SUPPORT_ME_FIXTURE_H
