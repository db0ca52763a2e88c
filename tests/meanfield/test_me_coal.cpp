// test_me_coal.cpp: the master equation's coalescence, source and Group A/B (me_coal.c) against
// exact solutions of the Smoluchowski equation and an independent integrator.
//
// Units: sizes in monomers; with monomer exchange off a monodisperse start of n0 monomers only
// ever holds multiples k n0, so "cluster k" below is size k n0. Pair (i, j) merges at rate
// K_ij P_ij / V; V in nm^3, K in nm^3/s, t in s.
//
// Tolerances. CVODE keeps each step's local error below rtol |y| + atol (WRMS over the
// components, so below sqrt(neq) times that per component); for these contracting problems
// (a perturbation of the particle count decays: d dN/dt = -(K N/V) dN) the global error is at
// most the sum of the local errors, so we assert
//   |error| <= steps * sqrt(neq) * (rtol * N(0) + atol).
// That bound is loose by construction (the measured errors are printed and are far below it),
// yet a wrong factor anywhere in the kernel, the gain or the loss gives errors of order N(0).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npgrow/coalesce.h"
#include "npgrow/config.h"
#include "npgrow/me.h"
#include "npgrow/status.h"
#include "npgrow/wellmixed.h"
#include "../support/systems.h"

namespace
{

// Coalescence alone (monomer exchange off), constant kernel, monodisperse start.
struct CoalCfg {
    npg_config c;
    std::vector<double> ts, ss;
    CoalCfg(uint32_t n0, uint64_t N0, double V, double t_end)
    {
        std::memset(&c, 0, sizeof c);
        c.model = pt_acac();
        std::strcpy(c.time_unit, "s");
        ts = {0.0, 1e9};
        ss = {1.0, 1.0};
        c.supply = NPG_SUPPLY_SCHEDULE;
        c.schedule_len = 2;
        c.schedule_t = ts.data();
        c.schedule_s = ss.data();
        c.no_monomer_exchange = 1;
        c.init_kind = NPG_INIT_MONODISPERSE;
        c.init_n = n0;
        c.particles = N0;
        c.t_end = t_end;
        c.output_every = t_end;
        c.seed = 1;
        c.n_table = 65536;
        c.hist_bin_width = 50;
        c.coal.mode = NPG_COAL_WELL_MIXED;
        c.coal.volume_nm3 = V;
        c.coal.kernel = NPG_KERNEL_CONSTANT;
        c.coal.k_const_nm3_per_s = 1.0;
        c.coal.propensity = NPG_PROPENSITY_NONE;
        c.coal.epsilon = 0.01;
    }
};

struct Me {
    npg_me *me = nullptr;
    char err[1024] = "";
    int rc = 0;
    Me(const npg_config *c, const npg_me_options *o)
    {
        rc = npg_me_create(&me, c, o, err, sizeof err);
    }
    ~Me() { npg_me_destroy(me); }
    npg_me_state at(double t)
    {
        npg_me_state st;
        EXPECT_EQ(npg_me_advance_to(me, t, err, sizeof err), 0) << err;
        npg_me_get(me, &st);
        return st;
    }
};

npg_me_options opts(uint32_t n_max)
{
    npg_me_options o;
    std::memset(&o, 0, sizeof o);
    o.n_max = n_max;
    return o;
}

double alive(const npg_me_state &st)
{
    double s = 0.0;
    for (uint32_t n = 2; n < st.len; ++n)
        s += st.count[n];
    return s;
}

// The bound of the header comment on a count error.
double ode_bound(const npg_me_state &st, double N0)
{
    const double neq = 2.0 * (st.len - 1) + 2.0;
    return (double)st.steps * std::sqrt(neq) * (NPG_ME_RTOL * N0 + NPG_ME_ATOL_REL * N0);
}

} // namespace

// The passes split their sums into fixed blocks: threads change nothing, bit for bit.
TEST(MeCoal, ThreadsGiveIdenticalResults)
{
    CoalCfg cf(2, 1000, 1000.0, 2.0);
    cf.c.coal.kernel = NPG_KERNEL_ADDITIVE;
    cf.c.coal.k_add_nm3_per_s = 0.5;
    std::vector<double> c[2], b[2];
    double M[2];
    for (int k = 0; k < 2; ++k) {
        npg_me_options o = opts(120);
        o.threads = k ? 2 : 1;
        Me m(&cf.c, &o);
        ASSERT_EQ(m.rc, 0) << m.err;
        npg_me_state st = m.at(0.1); // short: two threads on a busy machine are slow
        c[k].assign(st.count, st.count + st.len);
        b[k].assign(st.count_b, st.count_b + st.len);
        M[k] = st.merges;
    }
    EXPECT_EQ(std::memcmp(c[0].data(), c[1].data(), c[0].size() * sizeof(double)), 0);
    EXPECT_EQ(std::memcmp(b[0].data(), b[1].data(), b[0].size() * sizeof(double)), 0);
    EXPECT_EQ(std::memcmp(&M[0], &M[1], sizeof(double)), 0);
}

// Constant kernel K from N0 particles of n0 monomers (Smoluchowski 1917; e.g. Aldous, Bernoulli
// 5 (1999) 3-48, section 2): with tau = K N0 t / V,
//   N(t) = 2 N0 / (2 + tau),   c_k(t) = N0 (tau/2)^(k-1) / (1 + tau/2)^(k+1),
// and the particles that never merged are all still of size n0: A(t) = N0 / (1 + tau/2)^2.
TEST(MeCoal, ConstantKernelMatchesTheExactSolution)
{
    const double N0 = 1000.0, V = 1000.0, K = 1.0; // tau = t
    for (uint32_t n0 : {2u, 10u}) {
        CoalCfg cf(n0, (uint64_t)N0, V, 4.0);
        cf.c.coal.k_const_nm3_per_s = K;
        npg_me_options o = opts(150 * n0);
        Me m(&cf.c, &o);
        ASSERT_EQ(m.rc, 0) << m.err;
        double worst_rel = 0.0;
        for (double t : {0.5, 1.0, 2.0, 4.0}) {
            npg_me_state st = m.at(t);
            const double tau = K * N0 * t / V, h = 0.5 * tau;
            const double bound = ode_bound(st, N0);
            double err_c = 0.0, err_b = 0.0;
            for (uint32_t n = 2; n < st.len; ++n) {
                double want = 0.0;
                if (n % n0 == 0) {
                    const double k = n / n0;
                    want = N0 * std::exp((k - 1) * std::log(h) - (k + 1) * std::log1p(h));
                }
                err_c = std::fmax(err_c, std::fabs(st.count[n] - want));
                const double b_want = n == n0 ? 0.0 : want; // group B: everything merged
                err_b = std::fmax(err_b, std::fabs(st.count_b[n] - b_want));
            }
            const double N_want = 2.0 * N0 / (2.0 + tau), A_want = N0 / ((1 + h) * (1 + h));
            const double N = alive(st), A = N - [&] {
                double b = 0.0;
                for (uint32_t n = 2; n < st.len; ++n)
                    b += st.count_b[n];
                return b;
            }();
            std::printf("[constant n0=%u t=%g] |dN|/N0 %.2e |dc|max/N0 %.2e |dA|/N0 %.2e "
                        "|dM|/N0 %.2e bound/N0 %.2e steps %ld\n",
                        n0, t, std::fabs(N - N_want) / N0, err_c / N0, std::fabs(A - A_want) / N0,
                        std::fabs(st.merges - (N0 - N_want)) / N0, bound / N0, st.steps);
            EXPECT_LE(std::fabs(N - N_want), bound);
            EXPECT_LE(err_c, bound);
            EXPECT_LE(err_b, bound);
            EXPECT_LE(std::fabs(A - A_want), bound);
            EXPECT_LE(std::fabs(st.merges - (N0 - N_want)), bound);
            EXPECT_LT(st.particle_error, 1e-12); // alive + merges + overflow = N0
            EXPECT_LT(st.monomer_error, 1e-12);  // sum n c_n + overflow monomers
            EXPECT_LT(st.overflow, 1e-12 * N0);  // n_max holds the distribution
            EXPECT_EQ(st.dissolved, 0.0);        // no monomer exchange: nothing dissolves
            worst_rel = std::fmax(worst_rel, std::fabs(N - N_want) / N0);
        }
        // The rate coefficient of the study, kf = merges N0 / (N(t-dt) N(t) dt), is K N0 / 2V
        // exactly for a constant kernel over any interval (1/N grows linearly, slope K/2V).
        npg_me_state s1 = m.at(4.0);
        const double N1 = alive(s1), M1 = s1.merges;
        Me m2(&cf.c, &o);
        npg_me_state s0 = m2.at(1.0);
        const double kf = npg_me_kf(M1 - s0.merges, N0, alive(s0), N1, 3.0);
        std::printf("[constant n0=%u] kf %.12g, K N0/2V %.12g\n", n0, kf, K * N0 / (2 * V));
        EXPECT_NEAR(kf, K * N0 / (2 * V), 1e-7 * K * N0 / (2 * V));
    }
}

// Additive kernel K_ij = k_add (n_i + n_j) = beta (k_i + k_j) with beta = k_add n0 on clusters
// of k n0 monomers, from N0 clusters k = 1 (Golovin, Izv. Akad. Nauk SSSR Ser. Geofiz. 1963, 5,
// 783; in the form of Aldous, Bernoulli 5 (1999), section 2.2, a Borel law): with
// tau = beta N0 t / V and T = 1 - exp(-tau),
//   c_k(t) = N0 exp(-tau) (k T)^(k-1) exp(-k T) / k!,    N(t) = N0 exp(-tau),
// and total monomers n0 N0 conserved (sum_k k c_k = N0 exp(-tau) / (1 - T) = N0).
TEST(MeCoal, AdditiveKernelMatchesGolovin)
{
    const double N0 = 1000.0, V = 1000.0;
    const uint32_t n0 = 2;
    const double k_add = 0.5, beta = k_add * n0; // tau = t
    CoalCfg cf(n0, (uint64_t)N0, V, 1.0);
    cf.c.coal.kernel = NPG_KERNEL_ADDITIVE;
    cf.c.coal.k_add_nm3_per_s = k_add;
    npg_me_options o = opts(700);
    Me m(&cf.c, &o);
    ASSERT_EQ(m.rc, 0) << m.err;
    for (double t : {0.25, 0.5, 1.0}) {
        npg_me_state st = m.at(t);
        const double tau = beta * N0 * t / V, T = -std::expm1(-tau);
        double err_c = 0.0, mass = 0.0;
        for (uint32_t n = 2; n < st.len; ++n) {
            double want = 0.0;
            if (n % n0 == 0) {
                const double k = n / n0;
                want = N0 * std::exp(-tau + (k - 1) * std::log(k * T) - k * T - std::lgamma(k + 1));
            }
            err_c = std::fmax(err_c, std::fabs(st.count[n] - want));
            mass += (double)n * st.count[n];
        }
        const double N = alive(st), bound = ode_bound(st, N0);
        std::printf("[additive t=%g] |dN|/N0 %.2e |dc|max/N0 %.2e mass drift %.2e overflow/N0 "
                    "%.1e bound/N0 %.2e steps %ld\n",
                    t, std::fabs(N - N0 * std::exp(-tau)) / N0, err_c / N0,
                    std::fabs(mass / (n0 * N0) - 1.0), st.overflow / N0, bound / N0, st.steps);
        EXPECT_LE(std::fabs(N - N0 * std::exp(-tau)), bound);
        EXPECT_LE(err_c, bound);
        EXPECT_LT(st.overflow, 1e-12 * N0);
        EXPECT_LT(st.monomer_error, 1e-12);
        EXPECT_LT(std::fabs(mass / (n0 * N0) - 1.0), 1e-11); // monomers conserved (+ overflow)
        EXPECT_LT(st.particle_error, 1e-12);
    }
}

// A Poisson source of rate P (clusters of n0) with a constant kernel: dN/dt = P - b N^2, b =
// K/2V, so N(t) = a tanh(a b t + atanh(N0/a)), a = sqrt(P/b), while the source is on, and
// 1/N grows by b per unit time after it stops. Entries go to Group A; monomers in particles =
// n0 (N0 + entries) exactly.
TEST(MeCoal, SourceWithConstantKernelMatchesRiccati)
{
    const double N0 = 100.0, V = 1000.0, K = 1.0, P = 200.0, t_stop = 3.0;
    const uint32_t n0 = 4;
    CoalCfg cf(n0, (uint64_t)N0, V, 5.0);
    cf.c.src.kind = NPG_SOURCE_POISSON;
    cf.c.src.rate_per_time = P;
    cf.c.src.t_start = 0.0;
    cf.c.src.t_stop = t_stop;
    cf.c.src.size_kind = NPG_INIT_MONODISPERSE;
    cf.c.src.size_n = n0;
    npg_me_options o = opts(200 * n0);
    Me m(&cf.c, &o);
    ASSERT_EQ(m.rc, 0) << m.err;
    const double b = K / (2 * V), a = std::sqrt(P / b);
    const double Ns = a * std::tanh(a * b * t_stop + std::atanh(N0 / a));
    for (double t : {1.0, 3.0, 4.0, 5.0}) {
        npg_me_state st = m.at(t);
        const double want = t <= t_stop ? a * std::tanh(a * b * t + std::atanh(N0 / a))
                                        : 1.0 / (1.0 / Ns + b * (t - t_stop));
        const double N = alive(st), E = P * std::fmin(t, t_stop);
        double mass = 0.0;
        for (uint32_t n = 2; n < st.len; ++n)
            mass += (double)n * st.count[n];
        const double bound = ode_bound(st, N0 + E);
        std::printf("[source t=%g] N %.10g want %.10g |dN|/N %.2e entered %g mass drift %.2e "
                    "bound/N %.2e\n",
                    t, N, want, std::fabs(N - want) / want, st.entered,
                    std::fabs(mass - n0 * (N0 + E)) / (n0 * (N0 + E)), bound / want);
        EXPECT_LE(std::fabs(N - want), bound);
        EXPECT_NEAR(st.entered, E, 1e-12 * E);
        EXPECT_LT(std::fabs(mass - n0 * (N0 + E)), 1e-11 * n0 * (N0 + E));
        EXPECT_LT(st.particle_error, 1e-11);
        EXPECT_LT(st.overflow, 1e-12 * N0);
    }
}

// An independent integrator: classical RK4 on the Smoluchowski equation for c and the group-B
// part, truncated the same way (gains only up to n_max, losses for every pair), with the kernel
// from npg_coal_rate at f(t). Used for the Brownian kernel with a time factor, with and without
// an intrinsic rate (the master equation then scales or rebuilds its kernel matrix).
namespace
{
struct Rk4 {
    npg_coal_params p;
    double V;
    uint32_t nm;
    void rhs(double t, const std::vector<double> &y, std::vector<double> &d) const
    {
        // y = [c_0..c_nm, b_0..b_nm]
        const double f = npg_coal_time_factor(&p, t);
        const size_t W = nm + 1;
        std::fill(d.begin(), d.end(), 0.0);
        for (uint32_t i = 2; i <= nm; ++i)
            for (uint32_t j = 2; j <= nm; ++j) {
                const double r = npg_coal_rate(&p, i, j, f) / V * y[i] * y[j];
                d[i] -= r; // loss of i (ordered pairs: each particle's own loss once)
                d[W + i] -= r * y[W + i] / (y[i] != 0.0 ? y[i] : 1.0);
                if (i + j <= nm) {
                    d[i + j] += 0.5 * r;
                    d[W + i + j] += 0.5 * r;
                }
            }
    }
    std::vector<double> run(std::vector<double> y, double t1, int steps) const
    {
        const double h = t1 / steps;
        std::vector<double> k1(y.size()), k2(y.size()), k3(y.size()), k4(y.size()), z(y.size());
        double t = 0.0;
        for (int s = 0; s < steps; ++s, t += h) {
            rhs(t, y, k1);
            for (size_t q = 0; q < y.size(); ++q)
                z[q] = y[q] + 0.5 * h * k1[q];
            rhs(t + 0.5 * h, z, k2);
            for (size_t q = 0; q < y.size(); ++q)
                z[q] = y[q] + 0.5 * h * k2[q];
            rhs(t + 0.5 * h, z, k3);
            for (size_t q = 0; q < y.size(); ++q)
                z[q] = y[q] + h * k3[q];
            rhs(t + h, z, k4);
            for (size_t q = 0; q < y.size(); ++q)
                y[q] += h / 6.0 * (k1[q] + 2 * k2[q] + 2 * k3[q] + k4[q]);
        }
        return y;
    }
};
} // namespace

TEST(MeCoal, BrownianKernelWithTimeFactorMatchesAnIndependentIntegrator)
{
    // Diffusion-limited (k_a infinite: kernel proportional to f(t)) and reaction-limited
    // (k_a comparable to k_D: not proportional), both with the Fermi propensity; sizes from a
    // two-size start so that unequal pairs and the propensity's size dependence enter.
    for (double k_a : {0.0, 40.0}) {
        CoalCfg cf(3, 1000, 2.0e4, 2.0);
        cf.c.init_kind = NPG_INIT_HISTOGRAM;
        std::vector<uint32_t> sizes = {3, 7};
        std::vector<double> counts = {700, 300};
        cf.c.init_sizes = sizes.data();
        cf.c.init_counts = counts.data();
        cf.c.init_table_len = 2;
        cf.c.coal.kernel = NPG_KERNEL_BROWNIAN;
        cf.c.coal.d_ref_nm2_per_s = 1.5;
        cf.c.coal.r_ref_nm = 1.0;
        cf.c.coal.ligand_nm = 0.5;
        cf.c.coal.intrinsic_rate_nm3_per_s = k_a;
        cf.c.coal.tf_b_per_time = 0.8;
        cf.c.coal.tf_c = 0.7;
        cf.c.coal.propensity = NPG_PROPENSITY_FERMI;
        cf.c.coal.gamma_per_nm = 7.64;
        cf.c.coal.sigma_c_nm = 0.9;
        const uint32_t nm = 40;
        npg_me_options o = opts(nm);
        Me m(&cf.c, &o);
        ASSERT_EQ(m.rc, 0) << m.err;
        npg_me_state st = m.at(2.0);
        Rk4 r;
        npg_coal_params_from_config(&cf.c, &r.p);
        r.V = 2.0e4;
        r.nm = nm;
        std::vector<double> y0(2 * (nm + 1), 0.0);
        y0[3] = 700;
        y0[7] = 300;
        std::vector<double> y1 = r.run(y0, 2.0, 200), y2 = r.run(y0, 2.0, 400);
        double diff = 0.0, rk_err = 0.0, diff_b = 0.0;
        for (uint32_t n = 2; n <= nm; ++n) {
            diff = std::fmax(diff, std::fabs(st.count[n] - y2[n]));
            diff_b = std::fmax(diff_b, std::fabs(st.count_b[n] - y2[nm + 1 + n]));
            // Richardson: RK4's error at h/2 is about |y(h) - y(h/2)| / 15
            rk_err = std::fmax(rk_err, std::fabs(y1[n] - y2[n]) / 15.0);
        }
        const double bound = ode_bound(st, 1000.0) + 10.0 * rk_err;
        std::printf("[brownian k_a=%g] |ME - RK4|max %.2e (group B %.2e), RK4 error %.1e, bound "
                    "%.2e, particles %g -> %g, merges %g, overflow %.1e\n",
                    k_a, diff, diff_b, rk_err, bound, 1000.0, alive(st), st.merges, st.overflow);
        EXPECT_LE(diff, bound);
        EXPECT_LE(diff_b, bound);
        EXPECT_GT(st.merges, 50.0); // a test that merges something
        EXPECT_LT(st.particle_error, 1e-12);
    }
}

// The master equation scales one kernel matrix by f(t) when the kernel is diffusion-limited
// (k_a infinite); that rests on npg_coal_rate being linear in f then, checked here over sizes.
TEST(MeCoal, DiffusionLimitedKernelIsLinearInTheTimeFactor)
{
    CoalCfg cf(2, 10, 1.0, 1.0);
    cf.c.coal.kernel = NPG_KERNEL_BROWNIAN;
    cf.c.coal.d_ref_nm2_per_s = 2.4;
    cf.c.coal.r_ref_nm = 1.3;
    cf.c.coal.ligand_nm = 2.87;
    cf.c.coal.propensity = NPG_PROPENSITY_FERMI;
    cf.c.coal.gamma_per_nm = 7.64;
    cf.c.coal.sigma_c_nm = 3.0;
    npg_coal_params p;
    npg_coal_params_from_config(&cf.c, &p);
    double worst = 0.0;
    for (uint32_t i = 2; i < 5000; i = i * 3 / 2 + 1)
        for (uint32_t j = i; j < 5000; j = j * 3 / 2 + 1)
            for (double f : {0.01, 0.3, 1.7}) {
                const double k1 = npg_coal_rate(&p, i, j, 1.0), kf = npg_coal_rate(&p, i, j, f);
                worst = std::fmax(worst, std::fabs(kf - f * k1) / kf);
            }
    EXPECT_LT(worst, 1e-14);
}

// Monomer exchange on (Pt(acac)2 rates, closed supply) together with a constant kernel: the
// merge rate K N^2 / 2V does not depend on the sizes, so N(t) = 2 N0/(2 + tau) and
// A(t) = N0/(1 + tau/2)^2 still hold exactly while nothing dissolves (large particles, S high);
// monomers are conserved (free + bound + overflow = total), particles too
// (alive + dissolved + merges + overflow = N0).
TEST(MeCoal, ConstantKernelWithMonomerExchangeAndClosedSupply)
{
    const double N0 = 1000.0, V = 1000.0, K = 1.0;
    CoalCfg cf(40, (uint64_t)N0, V, 0.5);
    cf.c.no_monomer_exchange = 0;
    cf.c.supply = NPG_SUPPLY_CLOSED;
    cf.c.schedule_len = 0;
    cf.c.volume_nm3 = 1e9;
    cf.c.solubility_nm3 = 1e-5; // V rho = 1e4 monomers at S = 1 (bound: 4e4)
    cf.c.initial_supersaturation = 4.0;
    npg_me_options o = opts(900); // tau <= 0.5: c_k ~ 5^-k, 1e-13 at k = 18 clusters (720)
    Me m(&cf.c, &o);
    ASSERT_EQ(m.rc, 0) << m.err;
    double S0 = 0.0;
    for (double t : {0.0, 0.25, 0.5}) {
        npg_me_state st = m.at(t);
        if (t == 0.0)
            S0 = st.S;
        const double tau = K * N0 * t / V, h = 0.5 * tau;
        double N = 0.0, Nb = 0.0, bound = 0.0;
        for (uint32_t n = 2; n < st.len; ++n) {
            N += st.count[n];
            Nb += st.count_b[n];
            bound += (double)n * st.count[n];
            EXPECT_LE(st.count_b[n], st.count[n]);
        }
        const double tol = ode_bound(st, N0);
        std::printf("[exchange+closed t=%g] S %.6g |dN|/N0 %.2e |dA|/N0 %.2e dissolved %.1e "
                    "monomer err %.1e particle err %.1e tail %.1e steps %ld rhs %ld lin %ld\n",
                    t, st.S, std::fabs(N - 2 * N0 / (2 + tau)) / N0,
                    std::fabs(N - Nb - N0 / ((1 + h) * (1 + h))) / N0, st.dissolved,
                    st.monomer_error, st.particle_error, st.tail, st.steps, st.rhs_evals,
                    st.lin_iters);
        EXPECT_LT(st.dissolved, 1e-12 * N0);
        EXPECT_LE(std::fabs(N - 2 * N0 / (2 + tau)), tol);
        EXPECT_LE(std::fabs(N - Nb - N0 / ((1 + h) * (1 + h))), tol);
        EXPECT_LT(st.monomer_error, 1e-12);
        EXPECT_NEAR((st.free_monomers + bound) / st.total0, 1.0, 1e-12);
        EXPECT_LT(st.particle_error, 1e-10);
        EXPECT_LT(st.tail, 1e-12);
    }
    npg_me_state st = m.at(0.5);
    EXPECT_LT(st.S, 0.95 * S0); // the particles grew: a test that exchanges monomers
}

TEST(MeCoal, RefusesWhatItCannotSolve)
{
    CoalCfg cf(2, 100, 100.0, 1.0);
    npg_me_options o = opts(NPG_ME_COAL_N_MAX + 1);
    {
        Me m(&cf.c, &o);
        EXPECT_EQ(m.rc, NPG_EXIT_USAGE);
        EXPECT_NE(std::string(m.err).find("5000"), std::string::npos) << m.err;
    }
    o.n_max = 100;
    cf.c.src.kind = NPG_SOURCE_FILE;
    {
        Me m(&cf.c, &o);
        EXPECT_EQ(m.rc, NPG_EXIT_USAGE);
        EXPECT_NE(std::string(m.err).find("entries_file"), std::string::npos) << m.err;
    }
}

// The whole `npgrow me`: the automatic n_max grows with the merging sizes (coalescence lifts
// sizes far beyond what monomer growth would), and a run whose sizes need more than
// NPG_ME_COAL_N_MAX is refused with exit 2.
TEST(MeCoal, SolveGrowsNMaxAndRefusesBeyondTheLimit)
{
    std::string tmpl = ::testing::TempDir() + "npg_me_coal_XXXXXX";
    ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
    const std::string dir = tmpl + "/me";
    // tau = 16: c_k ~ (8/9)^k, so 1e-12 of the particles lie beyond ~235 clusters (470 monomers),
    // while the automatic start is 258
    CoalCfg cf(2, 1000, 1000.0, 16.0);
    cf.c.output_every = 2.0;
    cf.c.hdf5 = 0;
    npg_me_summary s;
    char err[2048] = "";
    int rc = npg_me_solve(&cf.c, nullptr, dir.c_str(), 1, &s, err, sizeof err);
    ASSERT_EQ(rc, 0) << err;
    const double N = 2000.0 / (2.0 + 16.0);
    std::printf("[solve] n_max %u after %d grows (%d rollbacks), merges %.10g (exact %.10g), "
                "overflow %.1e, %ld steps, %.2f s\n",
                s.n_max, s.grows, s.rollbacks, s.merges, 1000.0 - N, s.overflow, s.steps, s.wall_s);
    EXPECT_GT(s.grows, 0);
    EXPECT_LT(s.overflow, 1e-12 * 1000.0);
    EXPECT_NEAR(s.merges, 1000.0 - N, 1e-6);
    EXPECT_LT(s.particle_error, 1e-12);

    // The limit, lowered to 400 for the test (NPG_ME_COAL_N_MAX = 5000 costs 10^7 pairs per
    // evaluation): particles of 150 merge to 300, 450, ...
    CoalCfg big(150, 1000, 1000.0, 50.0);
    big.c.hdf5 = 0;
    npg_me_options o = opts(0);
    o.coal_n_max = 400;
    rc = npg_me_solve(&big.c, &o, (tmpl + "/big").c_str(), 1, &s, err, sizeof err);
    std::printf("[solve big] rc %d: %s\n", rc, err);
    EXPECT_EQ(rc, NPG_EXIT_USAGE);
    EXPECT_NE(std::string(err).find("npgrow run"), std::string::npos) << err;
    EXPECT_EQ(std::system(("rm -rf '" + tmpl + "'").c_str()), 0);
}
