// test_me.cpp: the master-equation solver against exact solutions.
//
// (1) A constant-rate birth-death chain with absorption at n = 1: the free walk is a Skellam
//     law, and the absorbing site is handled by the method of images (exact for constant rates).
// (2) The physical model with constant S on a small truncated system: exp(Q t) p0 from GSL.
// (3) Conservation of monomers (closed, precursor) and of particles (all modes).
// (4) The initial law equals the particle engine's sampler (init.h) in distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_sf_bessel.h>

#include "npgrow/config.h"
#include "npgrow/init.h"
#include "npgrow/me.h"
#include "npgrow/rates.h"
#include "npgrow/status.h"
#include "../support/me_fixture.h"

namespace
{

// A config built by hand: constant S schedule, monodisperse start of n0.
struct Cfg : ScheduleCfg {
    Cfg(double S, uint32_t n0, double t_end) : ScheduleCfg(S, t_end) { c.init_n = n0; }
};

using Me = MeRun;

// Skellam law of the free constant-rate walk: P(displacement k) at time t.
double skellam(int k, double up, double down, double t)
{
    double x = 2.0 * t * std::sqrt(up * down);
    // I_k(x) e^{-x} is GSL's scaled Bessel function; e^{-(up+down)t} e^{x} brings it back.
    return std::exp(-(up + down) * t + x + 0.5 * k * std::log(up / down)) *
           gsl_sf_bessel_In_scaled(std::abs(k), x);
}

} // namespace

TEST(Me, ConstantRateChainMatchesSkellamWithImage)
{
    // Up rate 1, down rate 1.5, start n0 = 6, absorbing at n = 1 (a dimer that loses a monomer
    // dissolves). Image solution: P(n) = p(n - n0) - (down/up)^(n0 - 1) p(n - (2 - n0)).
    const double up = 1.0, down = 1.5, T = 4.0;
    const int n0 = 6;
    Cfg cf(1.0, n0, T);
    std::vector<npg_rate_pair> tab(400);
    for (auto &r : tab)
        r.assoc = up, r.dissoc = down;
    tab[0].assoc = tab[0].dissoc = 0.0;
    tab[1].dissoc = 0.0;
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.rate_table = tab.data();
    o.rate_table_len = (uint32_t)tab.size();
    o.n_max = 120;
    Me m(&cf.c, &o);
    for (double t : {0.5, 1.0, 2.0, 4.0}) {
        m.to(t);
        npg_me_state st;
        npg_me_get(m.me, &st);
        double alive = 0.0, worst = 0.0;
        for (uint32_t n = 2; n < st.len; ++n) {
            double p = skellam((int)n - n0, up, down, t) -
                       std::pow(down / up, n0 - 1) * skellam((int)n - (2 - n0), up, down, t);
            alive += p;
            worst = std::fmax(worst, std::fabs(st.count[n] / st.particles0 - p));
        }
        EXPECT_LT(worst, 1e-8) << "t = " << t;
        EXPECT_NEAR(st.dissolved / st.particles0, 1.0 - alive, 1e-8) << "t = " << t;
        EXPECT_LT(st.particle_error, 1e-12);
        EXPECT_LT(st.tail, 1e-12);
    }
}

TEST(Me, ConstantRateChainMeanAndVarianceFarFromBoundaries)
{
    // Far from n = 1 and n_max: mean n0 + (up - down) t, variance (up + down) t.
    const double up = 3.0, down = 1.0, T = 10.0;
    Cfg cf(1.0, 200, T);
    std::vector<npg_rate_pair> tab(600);
    for (auto &r : tab)
        r.assoc = up, r.dissoc = down;
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.rate_table = tab.data();
    o.rate_table_len = (uint32_t)tab.size();
    o.n_max = 500;
    Me m(&cf.c, &o);
    m.to(T);
    npg_me_state st;
    npg_me_get(m.me, &st);
    double s0 = 0, s1 = 0, s2 = 0;
    for (uint32_t n = 2; n < st.len; ++n) {
        s0 += st.count[n];
        s1 += n * st.count[n];
        s2 += (double)n * n * st.count[n];
    }
    double mean = s1 / s0, var = s2 / s0 - mean * mean;
    EXPECT_NEAR(mean, 200 + (up - down) * T, 1e-7);
    EXPECT_NEAR(var, (up + down) * T, 1e-6);
}

TEST(Me, SmallPhysicalSystemMatchesMatrixExponential)
{
    // Pt(acac)2 rates, n = 2..n_max reflecting, constant S: p(t) = exp(Q t) p(0) exactly.
    // One growing case (S = 4) and one in which the start size shrinks (S = 1.2 < e^mu_30).
    const uint32_t nm = 90;
    for (double S : {4.0, 1.2}) {
        const uint32_t n0 = 30;
        const double T = 0.3;
        Cfg cf(S, n0, T);
        npg_me_options o;
        std::memset(&o, 0, sizeof o);
        o.n_max = nm;
        Me m(&cf.c, &o);
        m.to(T);
        npg_me_state st;
        npg_me_get(m.me, &st);

        // Generator on states 0 = dissolved, 1..nm-1 = n = 2..nm.
        const size_t K = nm;
        gsl_matrix *Q = gsl_matrix_calloc(K, K), *E = gsl_matrix_alloc(K, K);
        std::vector<double> A(nm + 2), D(nm + 2);
        for (uint32_t n = 0; n < nm + 2; ++n) {
            A[n] = npg_model_assoc(&cf.c.model, n);
            D[n] = npg_model_dissoc(&cf.c.model, n);
        }
        for (uint32_t n = 2; n <= nm; ++n) {
            size_t j = n - 1; // column: from state n
            double up = n < nm ? S * A[n] : 0.0;
            gsl_matrix_set(Q, j, j, -(up + D[n]));
            if (n < nm)
                gsl_matrix_set(Q, j + 1, j, up);
            gsl_matrix_set(Q, n > 2 ? j - 1 : 0, j, D[n]);
        }
        gsl_matrix_scale(Q, T);
        ASSERT_EQ(gsl_linalg_exponential_ss(Q, E, GSL_PREC_DOUBLE), 0);
        double worst = 0.0;
        for (uint32_t n = 2; n <= nm; ++n)
            worst = std::fmax(
                worst, std::fabs(st.count[n] / st.particles0 - gsl_matrix_get(E, n - 1, n0 - 1)));
        EXPECT_LT(worst, 1e-8) << "S = " << S;
        EXPECT_NEAR(st.dissolved / st.particles0, gsl_matrix_get(E, 0, n0 - 1), 1e-8);
        gsl_matrix_free(Q);
        gsl_matrix_free(E);
    }
}

TEST(Me, ClosedAndPrecursorConserveMonomers)
{
    for (int mode : {NPG_SUPPLY_CLOSED, NPG_SUPPLY_PRECURSOR}) {
        Cfg cf(0.0, 300, 20.0);
        cf.c.supply = (npg_supply_mode)mode;
        cf.c.schedule_len = 0;
        cf.c.init_kind = NPG_INIT_NORMAL_R;
        cf.c.init_mean_r_nm = 1.058;
        cf.c.init_sd_r_nm = 0.1;
        cf.c.particle_density_nm3 = 1e-6;
        cf.c.solubility_nm3 = 1e-3;
        cf.c.initial_supersaturation = 3.0;
        if (mode == NPG_SUPPLY_PRECURSOR) {
            cf.c.precursor_nm3 = 0.002;
            cf.c.k_p = 0.05;
        }
        npg_me_options o;
        std::memset(&o, 0, sizeof o);
        o.n_max = 6000;
        Me m(&cf.c, &o);
        double S_first = 0.0;
        for (double t : {0.0, 1.0, 5.0, 20.0}) {
            m.to(t);
            npg_me_state st;
            npg_me_get(m.me, &st);
            if (t == 0.0)
                S_first = st.S;
            EXPECT_LT(st.monomer_error, 1e-10) << "mode " << mode << " t " << t;
            EXPECT_LT(st.particle_error, 1e-10);
            EXPECT_LT(st.tail, 1e-12);
            double bound = 0.0;
            for (uint32_t n = 2; n < st.len; ++n)
                bound += n * st.count[n];
            double P = mode == NPG_SUPPLY_PRECURSOR ? st.precursor : 0.0;
            EXPECT_NEAR((st.free_monomers + P + bound) / st.total0, 1.0, 1e-10);
            EXPECT_NEAR(st.S, st.free_monomers / (cf.c.solubility_nm3 * 1e5 / 1e-6), 1e-12 * st.S);
            if (mode == NPG_SUPPLY_PRECURSOR) {
                EXPECT_NEAR(st.precursor / (0.002 * 1e5 / 1e-6), std::exp(-0.05 * t), 1e-9);
            }
        }
        EXPECT_DOUBLE_EQ(S_first, 3.0);
    }
}

TEST(Me, InitialLawIsTheSamplersLaw)
{
    // Lognormal and normal radii: the ME's N_n(0)/N equals the law of npg_init_sample, checked
    // by the mean and variance of 2e5 draws (Z within 4) and a chi-square-free check of
    // P(n < median bin).
    for (int kind : {NPG_INIT_LOGNORMAL_R, NPG_INIT_NORMAL_R}) {
        Cfg cf(2.0, 100, 1.0);
        cf.c.init_kind = (npg_init_kind)kind;
        cf.c.init_mean_r_nm = 0.6;
        cf.c.init_sd_r_nm = 0.25; // puts real mass below n = 2 (the conditioning matters)
        double *c0 = nullptr;
        uint32_t len = 0;
        char err[256];
        ASSERT_EQ(npg_me_initial(&cf.c, &c0, &len, err, sizeof err), 0) << err;
        double s0 = 0, s1 = 0, s2 = 0;
        for (uint32_t n = 2; n < len; ++n) {
            s0 += c0[n];
            s1 += n * c0[n];
            s2 += (double)n * n * c0[n];
        }
        free(c0);
        EXPECT_NEAR(s0, 100000.0, 1e-6);
        double mu = s1 / s0, var = s2 / s0 - mu * mu;
        npg_init_view v;
        double *cdf = nullptr;
        ASSERT_EQ(npg_config_init_view(&cf.c, &v, &cdf, err, sizeof err), 0);
        const int M = 200000;
        double x1 = 0, x2 = 0;
        for (int i = 0; i < M; ++i) {
            double n = npg_init_sample(&v, 7u, (uint32_t)i);
            x1 += n;
            x2 += n * n;
        }
        free(cdf);
        double xm = x1 / M, xv = x2 / M - xm * xm;
        double Z = std::sqrt((double)M) * (xm - mu) / std::sqrt(var);
        EXPECT_LT(std::fabs(Z), 4.0) << "kind " << kind << " mean " << xm << " vs " << mu;
        EXPECT_NEAR(xv / var, 1.0, 0.05) << "kind " << kind;
    }
}

TEST(Me, TimeVaryingScheduleMatchesPiecewiseRestarts)
{
    // With S piecewise linear, integrating across the breakpoints in one call equals
    // integrating leg by leg (the solver must stop at the kinks).
    Cfg cf(2.0, 300, 20.0);
    cf.ts = {0.0, 5.0, 6.0, 20.0};
    cf.ss = {3.5, 3.5, 1.5, 1.5};
    cf.c.schedule_len = 4;
    cf.c.schedule_t = cf.ts.data();
    cf.c.schedule_s = cf.ss.data();
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.n_max = 3000;
    Me a(&cf.c, &o), b(&cf.c, &o);
    a.to(20.0);
    for (double t : {2.0, 5.0, 5.5, 6.0, 13.0, 20.0})
        b.to(t);
    npg_me_state sa, sb;
    npg_me_get(a.me, &sa);
    npg_me_get(b.me, &sb);
    double m1a = 0, m1b = 0;
    for (uint32_t n = 2; n < sa.len; ++n) {
        m1a += n * sa.count[n];
        m1b += n * sb.count[n];
    }
    EXPECT_NEAR(m1a / m1b, 1.0, 1e-8);
    EXPECT_DOUBLE_EQ(sa.S, 1.5);
}

TEST(Me, ClosedSupplyMatchesExactDepletion)
{
    // Constant association A, no dissociation: every alive particle takes monomers at S A, so
    // dF/dt = -(F / V rho) A N(0) and S(t) = S(0) exp(-A N(0) t / (V rho)) exactly. This checks
    // the coupling through the free monomers (the Jacobian's rank-one term) on its own.
    const double A = 20.0, T = 10.0;
    Cfg cf(0.0, 300, T);
    cf.c.supply = NPG_SUPPLY_CLOSED;
    cf.c.schedule_len = 0;
    cf.c.particle_density_nm3 = 1e-6; // V = 1e11 nm^3
    cf.c.solubility_nm3 = 1e-3;       // V rho = 1e8
    cf.c.initial_supersaturation = 3.0;
    std::vector<npg_rate_pair> tab(3000);
    for (auto &r : tab)
        r.assoc = A, r.dissoc = 0.0;
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.rate_table = tab.data();
    o.rate_table_len = (uint32_t)tab.size();
    o.n_max = 2000;
    Me m(&cf.c, &o);
    const double rate = A * 1e5 / 1e8;
    for (double t : {1.0, 5.0, 10.0}) {
        m.to(t);
        npg_me_state st;
        npg_me_get(m.me, &st);
        EXPECT_NEAR(st.S / (3.0 * std::exp(-rate * t)), 1.0, 1e-8) << "t = " << t;
        double s0 = 0, s1 = 0;
        for (uint32_t n = 2; n < st.len; ++n) {
            s0 += st.count[n];
            s1 += n * st.count[n];
        }
        // every monomer that left the solution is in a particle
        EXPECT_NEAR(s1 / s0, 300.0 + 3000.0 * (1.0 - std::exp(-rate * t)), 1e-6) << "t = " << t;
        EXPECT_LT(st.particle_error, 1e-12);
    }
}

TEST(Me, GrowingNMaxMidRunEqualsALargeNMaxFromTheStart)
{
    // npg_me_grow pads the state with zeros and restarts CVODE: from now, or from the
    // checkpoint (redoing the leg). Both must agree with a run that had the large n_max all along.
    Cfg cf(3.5, 300, 30.0);
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.n_max = 6000;
    Me big(&cf.c, &o);
    o.n_max = 1500;
    Me now(&cf.c, &o), back(&cf.c, &o);
    char err[256];
    big.to(10.0);
    now.to(10.0);
    ASSERT_EQ(npg_me_grow(now.me, 6000, 0, err, sizeof err), 0) << err;
    back.to(10.0);
    npg_me_checkpoint(back.me);
    back.to(12.0);
    ASSERT_EQ(npg_me_grow(back.me, 6000, 1, err, sizeof err), 0) << err;
    npg_me_state sb, sn, sk;
    npg_me_get(back.me, &sk);
    EXPECT_EQ(sk.t, 10.0); // back at the checkpoint
    EXPECT_EQ(sk.len, 6001u);
    EXPECT_EQ(sk.grows, 1);
    EXPECT_EQ(npg_me_grow(back.me, 100, 0, err, sizeof err), 1); // cannot shrink
    big.to(30.0);
    now.to(30.0);
    back.to(30.0);
    npg_me_get(big.me, &sb);
    npg_me_get(now.me, &sn);
    npg_me_get(back.me, &sk);
    double wn = 0.0, wk = 0.0;
    for (uint32_t n = 2; n < sb.len; ++n) {
        wn = std::fmax(wn, std::fabs(sn.count[n] - sb.count[n]) / sb.particles0);
        wk = std::fmax(wk, std::fabs(sk.count[n] - sb.count[n]) / sb.particles0);
    }
    EXPECT_LT(wn, 1e-8);
    EXPECT_LT(wk, 1e-8);
    EXPECT_LT(sn.particle_error, 1e-12);
}

TEST(Me, StopRequestEndsTheIntegration)
{
    Cfg cf(3.5, 300, 30.0);
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.n_max = 3000;
    Me m(&cf.c, &o);
    m.to(1.0);
    npg_stop_raise(SIGTERM);
    char err[256];
    int rc = npg_me_advance_to(m.me, 30.0, err, sizeof err);
    npg_stop_clear();
    EXPECT_EQ(rc, NPG_EXIT_SIGTERM) << err;
    EXPECT_NE(std::strstr(err, "interrupted"), nullptr) << err;
}
