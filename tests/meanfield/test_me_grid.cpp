// test_me_grid.cpp: the master equation's lumped size grid (me.resolution, me.c "The size
// grid") against the exact equation (one cell per size) and against exact solutions.
//
// (1) Constant rates, broad start: mean and variance grow exactly by (up - down) t and
//     (up + down) t; the lumped grid's error is second order in the cell width (x 4 per
//     doubling of R).
// (2) The physical model (Pt(acac)2, the demo's S and start): moments against R = 0, second
//     order, and below stated bounds at the default R.
// (3) Closed supply: monomers are conserved by construction on any grid; S(t) against R = 0.
// (4) n_max growing mid-run on a lumped grid equals a large n_max from the start.
// (5) The grid's limits: R = 0 is the exact equation term by term; R below the minimum is
//     refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <unistd.h>

#include "npgrow/config.h"
#include "npgrow/me.h"
#include "npgrow/rates.h"
#include "npgrow/status.h"
#include "../support/me_fixture.h"

namespace
{

// Constant S, a normal radius law (mean_r, sd_r) [nm].
struct Cfg : ScheduleCfg {
    Cfg(double S, double mean_r, double sd_r, double t_end) : ScheduleCfg(S, t_end)
    {
        c.init_kind = NPG_INIT_NORMAL_R;
        c.init_mean_r_nm = mean_r;
        c.init_sd_r_nm = sd_r;
    }
};

struct Me : MeRun {
    Me(const npg_config *c, const npg_me_options *o) : MeRun(c, o, false) {}
};

npg_me_options opts(uint32_t n_max, int resolution)
{
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.n_max = n_max;
    o.resolution = resolution;
    return o;
}

struct Mom {
    double N, mean, var;
};

Mom moments(const npg_me_state &st)
{
    double s0 = 0, s1 = 0;
    for (uint32_t n = 2; n < st.len; ++n) {
        s0 += st.count[n];
        s1 += n * st.count[n];
    }
    double mean = s1 / s0, s2 = 0;
    for (uint32_t n = 2; n < st.len; ++n)
        s2 += (n - mean) * (n - mean) * st.count[n];
    return {s0, mean, s2 / s0};
}

} // namespace

TEST(MeGrid, ConstantRatesMeanAndVarianceSecondOrderInTheCellWidth)
{
    // up 3, down 1 per time unit at every size; start r ~ N(2.5, 0.25) nm: n ~ 4100, sd ~ 1250,
    // far from n = 2 and n_max. Exact: mean(t) = mean(0) + 2 t, var(t) = var(0) + 4 t.
    const double up = 3.0, down = 1.0, T = 200.0;
    Cfg cf(1.0, 2.5, 0.25, T);
    std::vector<npg_rate_pair> tab(30002);
    for (auto &r : tab)
        r.assoc = up, r.dissoc = down;
    Mom m0{}, err[3]{};
    const int R[3] = {32, 64, 128};
    for (int i = 0; i < 3; ++i) {
        npg_me_options o = opts(30000, R[i]);
        o.fixed_grid = 1; // the grid's own error, unrefined
        o.rate_table = tab.data();
        o.rate_table_len = (uint32_t)tab.size();
        Me m(&cf.c, &o);
        ASSERT_EQ(m.rc, 0) << m.err;
        Mom a = moments(m.get());
        if (i == 0) {
            Me ex(&cf.c, &(o.resolution = -1, o));
            m0 = moments(ex.get());
        }
        m.to(T);
        npg_me_state st = m.get();
        Mom b = moments(st);
        EXPECT_LT(st.particle_error, 1e-12);
        EXPECT_LT(st.tail, 1e-12);
        err[i] = {0.0, b.mean - (m0.mean + (up - down) * T), b.var - (m0.var + (up + down) * T)};
        // the start is the exact start, lumped and spread back (first order in the cell: the
        // spread is linear inside each cell)
        EXPECT_NEAR(a.mean / m0.mean, 1.0, 1e-5) << "R = " << R[i];
        EXPECT_NEAR(a.var / m0.var, 1.0, 1e-4) << "R = " << R[i];
        if (i == 2) {
            // measured: mean +0.0081, var +142 (9e-5 of it) at R = 128
            EXPECT_LT(std::fabs(err[i].mean), 0.02);
            EXPECT_LT(std::fabs(err[i].var) / b.var, 2e-4);
        }
    }
    // second order: each doubling of R divides the error by 4 (measured 3.87..3.99)
    for (int i = 0; i < 2; ++i) {
        EXPECT_NEAR(err[i].mean / err[i + 1].mean, 4.0, 0.5) << "R = " << R[i];
        EXPECT_NEAR(err[i].var / err[i + 1].var, 4.0, 0.5) << "R = " << R[i];
    }
}

TEST(MeGrid, PhysicalModelAgainstTheExactEquation)
{
    // The demo's model and start (r ~ N(1.058, 0.23) nm) at S = 3.5 for 60 s: the mean grows
    // from ~ 330 to ~ 1900 monomers, past 2R for every R below.
    Cfg cf(3.5, 1.058, 0.23, 60.0);
    npg_me_options o = opts(20000, -1);
    o.fixed_grid = 1; // the grid's own error, unrefined
    Me ex(&cf.c, &o);
    ASSERT_EQ(ex.rc, 0) << ex.err;
    ex.to(60.0);
    const npg_me_state se = ex.get();
    const Mom e = moments(se);
    double dm[3], dv[3];
    const int R[3] = {16, 32, 64};
    for (int i = 0; i < 3; ++i) {
        o.resolution = R[i];
        Me m(&cf.c, &o);
        ASSERT_EQ(m.rc, 0) << m.err;
        m.to(60.0);
        npg_me_state st = m.get();
        Mom g = moments(st);
        dm[i] = g.mean / e.mean - 1.0;
        dv[i] = g.var / e.var - 1.0;
        EXPECT_NEAR(g.N / e.N, 1.0, 1e-9) << "R = " << R[i]; // particles: exact on any grid
        EXPECT_NEAR(st.dissolved, se.dissolved, 1e-9 * se.particles0);
    }
    // measured: mean 2.78e-3, 7.14e-4, 1.81e-4; var 4.85e-2, 1.23e-2, 3.06e-3
    for (int i = 0; i < 2; ++i) {
        EXPECT_NEAR(dm[i] / dm[i + 1], 4.0, 1.0) << "R = " << R[i];
        EXPECT_NEAR(dv[i] / dv[i + 1], 4.0, 1.0) << "R = " << R[i];
    }
    EXPECT_LT(std::fabs(dm[2]), 3e-4);
    EXPECT_LT(std::fabs(dv[2]), 5e-3);
}

TEST(MeGrid, ClosedSupplyConservesMonomersAndFollowsTheExactEquation)
{
    Cfg cf(0.0, 1.5, 0.3, 40.0);
    cf.c.supply = NPG_SUPPLY_CLOSED;
    cf.c.schedule_len = 0;
    cf.c.particle_density_nm3 = 1e-6;
    cf.c.solubility_nm3 = 1e-3;
    cf.c.initial_supersaturation = 3.0;
    npg_me_options o = opts(20000, -1);
    Me ex(&cf.c, &o);
    o.resolution = 64;
    Me g(&cf.c, &o);
    ASSERT_EQ(ex.rc, 0) << ex.err;
    ASSERT_EQ(g.rc, 0) << g.err;
    for (double t : {0.0, 5.0, 20.0, 40.0}) {
        ex.to(t);
        g.to(t);
        npg_me_state se = ex.get(), sg = g.get();
        EXPECT_LT(sg.monomer_error, 1e-12) << "t = " << t; // by construction
        // the written counts: each cell spread over its sizes moves their first moment a little
        EXPECT_LT(se.monomer_output_error, 1e-12) << "t = " << t;
        EXPECT_LT(sg.monomer_output_error, 1e-5) << "t = " << t; // measured 6e-11 .. 1.3e-6
        EXPECT_LT(sg.particle_error, 1e-12);
        if (t == 0.0) {
            EXPECT_DOUBLE_EQ(sg.S, 3.0); // the configured S(0) on the lumped grid too
        }
        EXPECT_NEAR(sg.S / se.S, 1.0, 1e-4) << "t = " << t;
        Mom a = moments(se), b = moments(sg);
        EXPECT_NEAR(b.mean / a.mean, 1.0, 1e-4) << "t = " << t;
        EXPECT_NEAR(b.var / a.var, 1.0, 5e-3) << "t = " << t;
    }
}

TEST(MeGrid, GrowingNMaxMidRunEqualsALargeNMaxFromTheStart)
{
    // On a lumped grid the old top cell is spread over its sizes and summed into the new cells;
    // the cells below it are kept, so the result equals a run with the large n_max throughout
    // up to that top cell's (negligible) content.
    Cfg cf(3.5, 1.058, 0.23, 40.0);
    npg_me_options o = opts(30000, 64);
    Me big(&cf.c, &o);
    o.n_max = 8000;
    Me now(&cf.c, &o), back(&cf.c, &o);
    char err[256];
    big.to(10.0);
    now.to(10.0);
    ASSERT_EQ(npg_me_grow(now.me, 30000, 0, err, sizeof err), 0) << err;
    back.to(10.0);
    npg_me_checkpoint(back.me);
    back.to(12.0);
    ASSERT_EQ(npg_me_grow(back.me, 30000, 1, err, sizeof err), 0) << err;
    EXPECT_EQ(back.get().t, 10.0);
    big.to(40.0);
    now.to(40.0);
    back.to(40.0);
    npg_me_state sb = big.get(), sn = now.get(), sk = back.get();
    double wn = 0.0, wk = 0.0;
    for (uint32_t n = 2; n < sb.len; ++n) {
        wn = std::fmax(wn, std::fabs(sn.count[n] - sb.count[n]) / sb.particles0);
        wk = std::fmax(wk, std::fabs(sk.count[n] - sb.count[n]) / sb.particles0);
    }
    EXPECT_LT(wn, 1e-8);
    EXPECT_LT(wk, 1e-8);
    EXPECT_LT(sn.particle_error, 1e-12);
}

TEST(MeGrid, ExactGridIsTheMasterEquationAndSmallResolutionsAreRefused)
{
    // A resolution far above the sizes reached lumps nothing: identical to R = 0 bit for bit.
    Cfg cf(3.5, 1.058, 0.23, 10.0);
    npg_me_options o = opts(6000, -1);
    o.rtol = 1e-10; // the exact grid's default; a lumped one defaults to NPG_ME_RTOL_LUMPED
    Me ex(&cf.c, &o);
    o.resolution = 100000;
    Me one(&cf.c, &o);
    ex.to(10.0);
    one.to(10.0);
    npg_me_state a = ex.get(), b = one.get();
    ASSERT_EQ(a.len, b.len);
    EXPECT_EQ(std::memcmp(a.count, b.count, a.len * sizeof *a.count), 0);
    EXPECT_EQ(a.steps, b.steps);
    o.resolution = (int)NPG_ME_RESOLUTION_MIN - 1;
    Me bad(&cf.c, &o);
    EXPECT_EQ(bad.rc, NPG_EXIT_USAGE);
    EXPECT_NE(std::strstr(bad.err, "resolution"), nullptr) << bad.err;
}

TEST(MeGrid, NarrowStartsRefineTheGrid)
{
    // A single size lumped into one cell of width floor(n/R) would be an error of order one
    // (review: var_n +204 % at n = 5000); npg_me_create refines until the estimate holds. Here
    // down to the exact grid (R = 512 still lumps n = 3000 into cells of 5; R = 1024 lumps
    // nothing below 2048 * 2 > n_max).
    Cfg mono(3.5, 1.0, 0.1, 10.0);
    mono.c.init_kind = NPG_INIT_MONODISPERSE;
    mono.c.init_n = 3000;
    npg_me_options o = opts(6000, 256);
    Me g(&mono.c, &o);
    ASSERT_EQ(g.rc, 0) << g.err;
    npg_me_state s0 = g.get();
    EXPECT_GE(s0.refines, 1);
    EXPECT_LE(s0.grid_error, NPG_ME_GRID_ERR);
    o.resolution = -1;
    o.rtol = 1e-8; // the lumped grid's default, so that only the grid differs
    Me ex(&mono.c, &o);
    g.to(10.0);
    ex.to(10.0);
    Mom a = moments(ex.get()), b = moments(g.get());
    EXPECT_NEAR(b.var / a.var, 1.0, 1e-6);
    // A narrow normal start (sd 0.02 nm at 2.6 nm: sd_n ~ 100 at n ~ 4700) refines part way.
    Cfg nar(3.5, 2.6, 0.02, 30.0);
    o = opts(20000, 256);
    Me gn(&nar.c, &o);
    ASSERT_EQ(gn.rc, 0) << gn.err;
    EXPECT_GE(gn.get().refines, 1);
    EXPECT_GT(gn.get().resolution, 256u);
    o.resolution = -1;
    Me en(&nar.c, &o);
    gn.to(30.0);
    en.to(30.0);
    a = moments(en.get());
    b = moments(gn.get());
    EXPECT_NEAR(b.mean / a.mean, 1.0, 1e-5);
    EXPECT_NEAR(b.var / a.var, 1.0, 1e-3); // measured 1.8e-4; without refinement +1.9 %
}

TEST(MeGrid, SolveRefinesWhenTheDistributionNarrows)
{
    // Focusing: association A/n at every size (A = 7e4), no dissociation, so dn/dt = A/n, n^2
    // grows linearly and n2 - n1 shrinks as (n1 + n2) grows: the relative width falls as 1/n^2
    // (0.44 to ~0.09 here) while the cells stay n/R wide. npg_me_solve must refine on the way (from
    // the last check) and end where the exact equation ends.
    Cfg cf(1.0, 1.7, 0.25, 60.0); // n ~ 1300, sd_n ~ 570
    cf.c.output_every = 10.0;
    cf.c.hdf5 = 0;
    const uint32_t nm = 16000;
    std::vector<npg_rate_pair> tab(nm + 2);
    for (uint32_t n = 0; n < tab.size(); ++n)
        tab[n].assoc = n >= 2 ? 7e4 / n : 0.0, tab[n].dissoc = 0.0;
    std::string tmpl = ::testing::TempDir() + "npg_me_grid_XXXXXX";
    ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
    npg_me_options o = opts(nm, 32);
    o.rate_table = tab.data();
    o.rate_table_len = (uint32_t)tab.size();
    npg_me_summary sg, se;
    char err[2048] = "";
    ASSERT_EQ(npg_me_solve(&cf.c, &o, (tmpl + "/g").c_str(), 1, &sg, err, sizeof err), 0) << err;
    npg_me_options o0 = o;
    o0.resolution = 32;
    o0.fixed_grid = 1;
    npg_me_summary s0;
    ASSERT_EQ(npg_me_solve(&cf.c, &o0, (tmpl + "/0").c_str(), 1, &s0, err, sizeof err), 0) << err;
    o.resolution = -1;
    o.rtol = 1e-8;
    ASSERT_EQ(npg_me_solve(&cf.c, &o, (tmpl + "/e").c_str(), 1, &se, err, sizeof err), 0) << err;
    EXPECT_GE(sg.refines, 1);
    EXPECT_LE(sg.grid_error_max, NPG_ME_GRID_ERR);
    // last rows of moments.csv: t, particles, alive_fraction, mean_n, var_n, ...
    auto last = [&](const char *d) {
        std::FILE *f = std::fopen((tmpl + "/" + d + "/moments.csv").c_str(), "r");
        char line[8192], prev[8192] = "";
        while (f && std::fgets(line, sizeof line, f))
            std::strcpy(prev, line);
        if (f)
            std::fclose(f);
        double t, p, af, mean, var;
        EXPECT_EQ(std::sscanf(prev, "%lf,%lf,%lf,%lf,%lf", &t, &p, &af, &mean, &var), 5) << prev;
        return Mom{p, mean, var};
    };
    Mom a = last("e"), b = last("g"), c = last("0");
    EXPECT_NEAR(b.mean / a.mean, 1.0, 1e-5);
    EXPECT_NEAR(b.var / a.var, 1.0, 2e-3);
    EXPECT_GT(std::fabs(c.var / a.var - 1.0), 1e-2); // what the fixed grid gets wrong
    std::printf("[focus] fixed R = 32: var %.6g, grid error max %.2e\n", c.var, s0.grid_error_max);
    std::printf("[focus] R %u after %d refinements, grid error max %.2e; mean %.6g / %.6g, var "
                "%.6g / %.6g\n",
                sg.resolution, sg.refines, sg.grid_error_max, b.mean, a.mean, b.var, a.var);
    EXPECT_EQ(std::system(("rm -rf '" + tmpl + "'").c_str()), 0);
}

TEST(MeGrid, RegridsKeepTheClosedSupplysBookkeeping)
{
    // Closed supply, R = 64: a growth from now with a checkpoint stored (the checkpoint is
    // regridded too), then a refinement from that checkpoint. Back at the checkpoint, S (that is
    // F = total0 - bound) and the dissolved count are what they were, monomers stay conserved
    // by construction, and the run ends where an unchanged one does (up to the grid).
    Cfg cf(0.0, 1.0, 0.25, 40.0);
    cf.c.supply = NPG_SUPPLY_CLOSED;
    cf.c.schedule_len = 0;
    cf.c.particle_density_nm3 = 1e-6;
    cf.c.solubility_nm3 = 1e-3;
    cf.c.initial_supersaturation = 1.2; // slow growth: some of the small ones dissolve
    npg_me_options o = opts(30000, 64);
    Me ref(&cf.c, &o);
    o.n_max = 14000;
    Me m(&cf.c, &o);
    ASSERT_EQ(ref.rc, 0) << ref.err;
    ASSERT_EQ(m.rc, 0) << m.err;
    char err[256];
    ref.to(10.0);
    m.to(10.0);
    npg_me_checkpoint(m.me);
    const npg_me_state r10 = ref.get();
    m.to(11.0);
    ASSERT_EQ(npg_me_grow(m.me, 20000, 0, err, sizeof err), 0) << err;
    EXPECT_LT(m.get().monomer_error, 1e-12);
    const uint32_t R0 = m.get().resolution; // 64, or finer if the start was refined
    ASSERT_EQ(npg_me_refine(m.me, 1, err, sizeof err), 0) << err;
    npg_me_state b = m.get();
    EXPECT_EQ(b.t, 10.0);
    EXPECT_EQ(b.resolution, 2 * R0);
    EXPECT_EQ(b.len, 20001u);
    EXPECT_GT(r10.dissolved, 1e-6 * r10.particles0);
    EXPECT_NEAR(b.dissolved, r10.dissolved, 1e-12 * r10.particles0);
    EXPECT_NEAR(b.S, r10.S, 1e-9 * r10.S);
    EXPECT_LT(b.monomer_error, 1e-12);
    ref.to(40.0);
    m.to(40.0);
    npg_me_state re = ref.get(), me = m.get();
    EXPECT_NEAR(me.S / re.S, 1.0, 1e-4);
    EXPECT_LT(me.monomer_error, 1e-12);
    EXPECT_LT(me.particle_error, 1e-12);
    EXPECT_EQ(npg_me_refine(m.me, 0, err, sizeof err), 0) << err; // finer still
    Me exact(&cf.c, &(o.resolution = -1, o));
    EXPECT_EQ(npg_me_refine(exact.me, 0, err, sizeof err), 1); // nothing to refine
}
