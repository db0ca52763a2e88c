// test_me_particle.cpp: npg_me_particle (host/meanfield/me_particle.c), one particle's master
// equation over a window of sizes, against exact results ((1), (2) with rtol 1e-9, atol 1e-15;
// (3) with the defaults, rtol 1e-5, atol 1e-10):
//   (1) constant rates, absorbing at n = 1, entry at t0 = 2 near the bottom: the window must
//       grow down to n = 2; moments and the dissolved probability equal the Skellam law with its
//       image (method of images, exact for constant rates) within 1e-6 (1e-7 absolute);
//   (2) constant A_n, k^d_n under a linear S(t), far from n = 2: the window must grow up; mean
//       n0 + A int S - k t (1e-7 relative), variance A int S + k t (1e-6), third central moment
//       A int S - k t (1e-3: a difference of large raw moments) (the cumulants of a birth-death
//       walk with these rates);
//   (3) Pt(acac)2's rates: the window result equals the whole equation (n = 2..n_max) started
//       from the same delta (rtol 1e-10), moments q = 0..10 within 1e-4 relative, dissolution
//       within 1e-6 (the defaults' accuracy);
//   (4) bad input: n0 < 2, an output time before t0: NPG_EXIT_USAGE.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_bessel.h>

#include "npgrow/config.h"
#include "npgrow/me.h"
#include "npgrow/rates.h"
#include "../support/systems.h"

namespace
{

npg_config base()
{
    npg_config c;
    std::memset(&c, 0, sizeof c);
    c.model = pt_acac();
    std::strcpy(c.time_unit, "s");
    c.supply = NPG_SUPPLY_SCHEDULE;
    c.particles = 1;
    c.n_table = 65536;
    c.hist_bin_width = 50;
    return c;
}

double skellam(int k, double up, double down, double t)
{
    double x = 2.0 * t * std::sqrt(up * down);
    gsl_sf_result r;
    if (gsl_sf_bessel_In_scaled_e(std::abs(k), x, &r) != GSL_SUCCESS)
        return 0.0; // underflow: far below 1e-300
    return std::exp(-(up + down) * t + x + 0.5 * k * std::log(up / down)) * r.val;
}

// tight tolerances: the window method itself is exact
npg_me_options table_opts(std::vector<npg_rate_pair> &tab)
{
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.rtol = 1e-9;
    o.atol_rel = 1e-15;
    o.rate_table = tab.data();
    o.rate_table_len = (uint32_t)tab.size();
    return o;
}

} // namespace

TEST(MeParticle, WindowGrowsDownToDissolution)
{
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    const double up = 1.0, down = 1.5, t0 = 2.0;
    const int n0 = 60;
    npg_config c = base();
    std::vector<double> kt = {0.0, 200.0}, ks = {1.0, 1.0};
    std::vector<npg_rate_pair> tab(600);
    for (auto &r : tab)
        r.assoc = up, r.dissoc = down;
    tab[0].assoc = tab[0].dissoc = 0.0;
    tab[1].dissoc = 0.0;
    npg_me_options o = table_opts(tab);
    const std::vector<double> tout = {2.0, 2.5, 10.0, 40.0, 150.0};
    std::vector<double> out(tout.size() * NPG_ME_PARTICLE_NV);
    char err[512] = "";
    ASSERT_EQ(npg_me_particle(&c, &o, kt.data(), ks.data(), 2, t0, n0, tout.data(), tout.size(),
                              out.data(), err, sizeof err),
              0)
        << err;
    for (size_t j = 0; j < tout.size(); ++j) {
        const double t = tout[j] - t0;
        double m[11] = {0};
        for (int n = 2; n < 400; ++n) { // P < 1e-30 beyond
            double p = t > 0 ? skellam(n - n0, up, down, t) -
                                   std::pow(down / up, n0 - 1) * skellam(n - (2 - n0), up, down, t)
                             : (n == n0);
            double pw = p;
            for (int q = 0; q <= 10; ++q, pw *= n)
                m[q] += pw;
        }
        for (int q = 0; q <= 10; ++q)
            EXPECT_NEAR(out[j * NPG_ME_PARTICLE_NV + q] / m[q], 1.0, 1e-6)
                << "t = " << tout[j] << ", q = " << q;
        EXPECT_NEAR(out[j * NPG_ME_PARTICLE_NV + 11], 1.0 - m[0], 1e-7) << "t = " << tout[j];
    }
    EXPECT_GT(out[4 * NPG_ME_PARTICLE_NV + 11], 0.5); // most dissolved by t = 150
    gsl_set_error_handler(old);
}

TEST(MeParticle, WindowGrowsUpUnderLinearS)
{
    const double A = 3.0, k = 1.0;
    const uint32_t n0 = 1000;
    npg_config c = base();
    std::vector<double> kt = {0.0, 100.0}, ks = {1.0, 2.0}; // S = 1 + t / 100
    std::vector<npg_rate_pair> tab(5000);
    for (auto &r : tab)
        r.assoc = A, r.dissoc = k;
    npg_me_options o = table_opts(tab);
    const std::vector<double> tout = {0.0, 1.0, 10.0, 50.0, 100.0};
    std::vector<double> out(tout.size() * NPG_ME_PARTICLE_NV);
    char err[512] = "";
    ASSERT_EQ(npg_me_particle(&c, &o, kt.data(), ks.data(), 2, 0.0, n0, tout.data(), tout.size(),
                              out.data(), err, sizeof err),
              0)
        << err;
    for (size_t j = 0; j < tout.size(); ++j) {
        const double t = tout[j], iS = t + t * t / 200.0;
        const double *v = &out[j * NPG_ME_PARTICLE_NV];
        const double mean = v[1] / v[0], var = v[2] / v[0] - mean * mean;
        const double c3 = v[3] / v[0] - 3 * mean * var - mean * mean * mean;
        EXPECT_NEAR(v[0], 1.0, 1e-10);
        EXPECT_NEAR(mean / (n0 + A * iS - k * t), 1.0, 1e-7) << "t = " << t;
        if (t > 0) {
            EXPECT_NEAR(var / (A * iS + k * t), 1.0, 1e-6) << "t = " << t;
            EXPECT_NEAR(c3 / (A * iS - k * t), 1.0, 1e-3) << "t = " << t;
        }
        EXPECT_EQ(v[11], 0.0);
    }
}

TEST(MeParticle, WindowEqualsTheWholeEquation)
{
    for (auto [S, n0] : {std::pair<double, uint32_t>{1.0, 40}, {3.0, 500}}) {
        npg_config c = base();
        std::vector<double> kt = {0.0, 5.0, 30.0}, ks = {S, 0.8 * S, 1.1 * S};
        const std::vector<double> tout = {1.0, 4.0, 12.0, 30.0};
        std::vector<double> out(tout.size() * NPG_ME_PARTICLE_NV);
        char err[512] = "";
        ASSERT_EQ(npg_me_particle(&c, nullptr, kt.data(), ks.data(), kt.size(), 0.0, n0,
                                  tout.data(), tout.size(), out.data(), err, sizeof err),
                  0)
            << err;
        // the whole equation from the same delta
        c.schedule_t = kt.data();
        c.schedule_s = ks.data();
        c.schedule_len = kt.size();
        c.init_kind = NPG_INIT_MONODISPERSE;
        c.init_n = n0;
        c.t_end = tout.back();
        npg_me_options o;
        std::memset(&o, 0, sizeof o);
        o.n_max = 4 * n0 + 400;
        npg_me *me = nullptr;
        ASSERT_EQ(npg_me_create(&me, &c, &o, err, sizeof err), 0) << err;
        for (size_t j = 0; j < tout.size(); ++j) {
            ASSERT_EQ(npg_me_advance_to(me, tout[j], err, sizeof err), 0) << err;
            npg_me_state st;
            npg_me_get(me, &st);
            ASSERT_LT(st.tail, 1e-12);
            double m[11] = {0};
            for (uint32_t n = 2; n < st.len; ++n) {
                double pw = st.count[n];
                for (int q = 0; q <= 10; ++q, pw *= n)
                    m[q] += pw;
            }
            for (int q = 0; q <= 10; ++q)
                EXPECT_NEAR(out[j * NPG_ME_PARTICLE_NV + q] / m[q], 1.0, 1e-4)
                    << "S = " << S << ", t = " << tout[j] << ", q = " << q;
            EXPECT_NEAR(out[j * NPG_ME_PARTICLE_NV + 11], st.dissolved, 1e-6);
        }
        npg_me_destroy(me);
    }
}

TEST(MeParticle, BadInput)
{
    npg_config c = base();
    double kt = 0.0, ks = 2.0, tout[2] = {1.0, 0.5}, out[2 * NPG_ME_PARTICLE_NV];
    char err[512] = "";
    EXPECT_EQ(npg_me_particle(&c, nullptr, &kt, &ks, 1, 0.0, 1, tout, 1, out, err, sizeof err),
              NPG_EXIT_USAGE);
    EXPECT_EQ(npg_me_particle(&c, nullptr, &kt, &ks, 1, 0.0, 100, tout, 2, out, err, sizeof err),
              NPG_EXIT_USAGE);
    EXPECT_EQ(npg_me_particle(&c, nullptr, &kt, &ks, 1, 2.0, 100, tout, 1, out, err, sizeof err),
              NPG_EXIT_USAGE);
}
