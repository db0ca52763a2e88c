// test_wellmixed.cpp: the exact well-mixed (Marcus-Lushnikov) sampler against exact solutions.
//
// Statistics. Every check is a z-score against an exact (or O(1/N)-exact) expectation, with a
// variance that is exact, or estimated from R independent replicas (different seeds). The
// threshold is |z| < 5: for a normal z that fails with probability 6e-7; for a z whose standard
// error is estimated from R = 24 replicas (Student t with 23 degrees of freedom) with 5e-5,
// so the ~60 such checks here fail together with probability < 3e-3 for a correct sampler.
// Seeds are fixed, so the suite is reproducible; a sampler whose rates are off by a few per
// cent fails by tens of standard errors.
//
// Units: sizes in monomers, volumes in nm^3, times in an arbitrary time unit (the kernels'
// rates are per that unit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <vector>

#include "npgrow/coalesce.h"
#include "npgrow/wellmixed.h"

#include "kingman.h"

namespace
{

constexpr double kZmax = 5.0;
constexpr double kSigmaS = 0.155672; // Pt monomer radius [nm] (model.md 1.7)

npg_coal_params constant_kernel(double k)
{
    npg_coal_params p{};
    p.kernel = 1;
    p.k_const = k;
    p.sigma_s = kSigmaS;
    return p;
}

npg_coal_params additive_kernel(double k)
{
    npg_coal_params p{};
    p.kernel = 2;
    p.k_add = k;
    p.sigma_s = kSigmaS;
    return p;
}

// Brownian kernel with the study's Fermi propensity (model.md 3.2: gamma = 7.64 /nm,
// sigma_c = 3.0078 nm), a reaction-limited part and a ligand shell.
npg_coal_params brownian_fermi(double k_a, double tf_b = 0.0, double tf_c = 0.0)
{
    npg_coal_params p{};
    p.kernel = 0;
    p.k_a = k_a;
    p.d_ref_r_ref = 1.3;
    p.ligand = 0.5;
    p.tf_b = tf_b;
    p.tf_c = tf_c;
    p.fermi = 1;
    p.gamma = 7.64;
    p.sigma_c = 3.0078;
    p.sigma_s = kSigmaS;
    return p;
}

struct Sampler {
    npg_wm *w = nullptr;
    char err[512] = "";
    Sampler(const npg_coal_params &p, double V, uint32_t seed, uint64_t capacity)
    {
        EXPECT_EQ(npg_wm_create(&w, &p, V, seed, capacity, err, sizeof err), 0) << err;
    }
    ~Sampler() { npg_wm_destroy(w); }
    int rebuild(const std::vector<uint32_t> &n)
    {
        return npg_wm_rebuild(w, n.data(), err, sizeof err);
    }
    int advance(std::vector<uint32_t> &n, double t0, double t1, npg_wm_event_fn fn = nullptr,
                void *ctx = nullptr)
    {
        return npg_wm_advance(w, n.data(), t0, t1, fn, ctx, err, sizeof err);
    }
};

// Replicas of a monodisperse start (N0 particles of n0 monomers) advanced through the same
// times; at each time, every replica's count of particles of size k n0 (k = 1..kmax).
struct Replicas {
    std::vector<std::vector<std::vector<double>>> by_k; // [time][replica][k]
    std::vector<std::vector<double>> count;             // [time][replica] alive particles
};

Replicas run_replicas(const npg_coal_params &p, double V, uint64_t N0, uint32_t n0, int R,
                      const std::vector<double> &times, uint32_t kmax, uint32_t seed0)
{
    Replicas out;
    out.by_k.assign(times.size(), std::vector<std::vector<double>>(R));
    out.count.assign(times.size(), std::vector<double>(R));
    for (int r = 0; r < R; ++r) {
        std::vector<uint32_t> n(N0, n0);
        Sampler s(p, V, seed0 + (uint32_t)r, N0);
        EXPECT_EQ(s.rebuild(n), 0) << s.err;
        double t = 0.0;
        for (size_t it = 0; it < times.size(); ++it) {
            EXPECT_EQ(s.advance(n, t, times[it]), 0) << s.err;
            t = times[it];
            std::vector<double> h(kmax + 1, 0.0);
            uint64_t alive = 0, mass = 0;
            bool multiples = true;
            for (uint32_t x : n) {
                mass += x;
                if (x == 0)
                    continue;
                ++alive;
                multiples = multiples && x % n0 == 0;
                h[std::min<uint64_t>(x / n0, kmax)] += 1.0;
            }
            // exact: monomers conserved, sizes multiples of n0, one particle lost per merge
            EXPECT_EQ(mass, N0 * n0);
            EXPECT_TRUE(multiples);
            npg_wm_stats st;
            npg_wm_get_stats(s.w, &st);
            EXPECT_EQ(st.merges, N0 - alive);
            out.by_k[it][r] = h;
            out.count[it][r] = (double)alive;
        }
    }
    return out;
}

// Sample mean and variance.
void mean_var(const std::vector<double> &x, double *m, double *v)
{
    double s = std::accumulate(x.begin(), x.end(), 0.0) / (double)x.size(), q = 0.0;
    for (double y : x)
        q += (y - s) * (y - s);
    *m = s;
    *v = q / (double)(x.size() - 1);
}

// The size distribution of R replicas against exact expected counts expect[k] (k = 1..kmax-1;
// index kmax collects larger sizes and is not compared): consecutive k are pooled into bins of
// at least `min_expect` expected particles per replica, and each bin's replica mean is z-tested
// with the standard error from the replicas' own spread. Returns max |z|.
double check_distribution(const std::vector<std::vector<double>> &by_k,
                          const std::vector<double> &expect, double min_expect, int min_bins,
                          const char *what)
{
    const int R = (int)by_k.size();
    const size_t kmax = expect.size() - 1;
    double zmax = 0.0;
    int bins = 0;
    size_t k0 = 1;
    while (k0 < kmax) {
        size_t k1 = k0;
        double e = 0.0;
        while (k1 < kmax && e < min_expect)
            e += expect[k1++];
        if (e < min_expect)
            break; // the thin tail: not compared
        std::vector<double> obs(R);
        for (int r = 0; r < R; ++r)
            for (size_t k = k0; k < k1; ++k)
                obs[r] += by_k[r][k];
        double m, v;
        mean_var(obs, &m, &v);
        double z = (m - e) / std::sqrt(v / R);
        zmax = std::max(zmax, std::fabs(z));
        EXPECT_LT(std::fabs(z), kZmax) << what << ": sizes k = " << k0 << ".." << k1 - 1
                                       << ": mean count " << m << ", exact " << e;
        ++bins;
        k0 = k1;
    }
    std::printf("  %s: %d size bins, max |z| = %.2f\n", what, bins, zmax);
    EXPECT_GE(bins, min_bins) << what;
    return zmax;
}

} // namespace

// ---- kernel, propensity, majorant -------------------------------------------------------------

// The kernel against an independent evaluation of the formulas (README, model.md 3.2).
TEST(WellMixedKernel, BrownianFermiFormula)
{
    const npg_coal_params p = brownian_fermi(40.0);
    const uint32_t sizes[] = {2, 20, 300, 1000, 4000, 100000};
    for (double f : {1.0, 0.37})
        for (uint32_t a : sizes)
            for (uint32_t b : sizes) {
                double Ra = kSigmaS * std::cbrt((double)a), Rb = kSigmaS * std::cbrt((double)b);
                double Da = f * p.d_ref_r_ref / (Ra + p.ligand);
                double Db = f * p.d_ref_r_ref / (Rb + p.ligand);
                double kD = 4.0 * M_PI * (Da + Db) * (Ra + Rb + p.ligand);
                double K = kD * p.k_a / (p.k_a + kD);
                double P = 1.0 / (std::exp(p.gamma * (Ra + Rb - p.sigma_c)) + 1.0);
                EXPECT_NEAR(npg_coal_rate(&p, a, b, f), K * P, 1e-12 * K * P) << a << "," << b;
            }
    npg_coal_params c = constant_kernel(2.5), d = additive_kernel(0.75);
    EXPECT_EQ(npg_coal_rate(&c, 7, 900, 1.0), 2.5);
    EXPECT_EQ(npg_coal_rate(&d, 7, 900, 1.0), 0.75 * 907);
    // time factor f(t) = (1 + b t)^-c
    npg_coal_params tf = brownian_fermi(0.0, 0.16, 0.73);
    EXPECT_NEAR(npg_coal_time_factor(&tf, 10.0), std::pow(2.6, -0.73), 1e-14);
}

// npg_coal_bound is an upper bound of K P over every pair of sizes of two bins, for the time
// factor it was computed for and any smaller one: checked on each bin's edge sizes (where the
// extremes lie: K P is monotone in each size over a bin) and 6 sizes between, for every pair
// of bins below 2^20 monomers.
TEST(WellMixedKernel, MajorantBoundsEveryPair)
{
    for (const npg_coal_params &p :
         {brownian_fermi(0.0), brownian_fermi(25.0), additive_kernel(0.3), constant_kernel(4.0)}) {
        const int nb = NPG_COAL_BINS_PER_OCTAVE * 20; // sizes < 2^20
        std::vector<std::vector<uint32_t>> members(nb);
        for (int b = 0; b < nb; ++b) { // each bin's edge sizes and up to 6 between
            double lo, hi;
            npg_coal_bin_range(b, &lo, &hi);
            const double a = std::ceil(lo), z = std::floor(hi);
            for (int k = 0; k <= 7; ++k) {
                double x = std::round(a + (z - a) * k / 7.0);
                if (x >= 2 && npg_coal_bin((uint32_t)x) == b &&
                    (members[b].empty() || members[b].back() != (uint32_t)x))
                    members[b].push_back((uint32_t)x);
            }
        }
        double worst = 0.0; // max over pairs of K P / bound (must stay <= 1)
        for (int a = 0; a < nb; ++a)
            for (int b = a; b < nb; ++b) {
                if (members[a].empty() || members[b].empty())
                    continue;
                double bound = npg_coal_bound(&p, a, b, 1.0);
                for (uint32_t x : members[a])
                    for (uint32_t y : members[b]) {
                        worst = std::max(worst, npg_coal_rate(&p, x, y, 1.0) / bound);
                        worst = std::max(worst, npg_coal_rate(&p, x, y, 0.4) / bound);
                    }
            }
        EXPECT_LE(worst, 1.0) << "kernel " << p.kernel << " k_a " << p.k_a;
        // and the bound is not loose: the acceptance the sampler gets stays high
        EXPECT_GT(worst, 0.9) << "kernel " << p.kernel;
    }
}

// ---- exact solutions of the Smoluchowski equation ---------------------------------------------

// Constant kernel K, monodisperse start of N0 particles of n0 monomers. Smoluchowski:
// N(t) = 2 N0 / (2 + tau), N_k(t) = N0 (tau/2)^(k-1) / (1 + tau/2)^(k+1), tau = K N0 t / V,
// for the particles of k n0 monomers. The Marcus-Lushnikov process has E[N(t)] from Kingman's
// coalescent (kingman_mean: exact), 0.23 (tau = 1) and 0.31 (tau = 3) particles above
// Smoluchowski's at N0 = 2e5, and its E[N_k] differ from N_k by O(1) particles: below 0.05
// standard errors of the bins here (>= 100 expected particles per replica, 24 replicas).
TEST(WellMixed, ConstantKernelAgainstSmoluchowski)
{
    const uint64_t N0 = 200000;
    const uint32_t n0 = 2, kmax = 200;
    const int R = 24;
    const double K = 1.0, V = (double)N0; // tau = t
    const std::vector<double> taus = {1.0, 3.0};
    Replicas rep = run_replicas(constant_kernel(K), V, N0, n0, R, taus, kmax, 1000);
    for (size_t it = 0; it < taus.size(); ++it) {
        const double tau = taus[it], s = tau / (double)N0; // s = (K / V) t, t = tau V / (K N0)
        // particle count: exact mean, variance to O(1/N)
        const double mu = kingman_mean(N0, s), var = kingman_var(N0, s);
        const double smol = 2.0 * N0 / (2.0 + tau);
        EXPECT_NEAR(mu, smol, 1.0); // the O(1) Marcus-Lushnikov correction
        double m, v;
        mean_var(rep.count[it], &m, &v);
        const double z = (m - mu) / std::sqrt(var / R);
        // variance: (R - 1) s^2 / var ~ chi^2(R - 1), Y = (s^2/var - 1) / sqrt(2 / (R - 1))
        const double Y = (v / var - 1.0) / std::sqrt(2.0 / (R - 1));
        std::printf("  constant tau = %g: count %.2f vs exact %.2f (Smoluchowski %.2f), z = "
                    "%.2f; var %.0f vs %.0f, Y = %.2f\n",
                    tau, m, mu, smol, z, v, var, Y);
        EXPECT_LT(std::fabs(z), kZmax) << "tau " << tau;
        EXPECT_LT(std::fabs(Y), kZmax) << "tau " << tau;
        // size distribution
        std::vector<double> expect(kmax + 1, 0.0);
        double sum = 0.0;
        for (uint32_t k = 1; k < kmax; ++k) {
            expect[k] = N0 * std::pow(tau / 2, k - 1.0) / std::pow(1 + tau / 2, k + 1.0);
            sum += expect[k];
        }
        EXPECT_NEAR(sum, smol, 1e-6 * smol); // the formula sums to N(t)
        char what[64];
        std::snprintf(what, sizeof what, "constant kernel tau = %g", tau);
        check_distribution(rep.by_k[it], expect, 100.0, it == 0 ? 7 : 12, what);
    }
}

// Additive kernel K = k_add (n_i + n_j), monodisperse start of N0 particles of n0 monomers.
// In mass units k = n / n0 it is b (k_i + k_j) with b = k_add n0, and Golovin's solution
// (Golovin 1963, Izv. Geophys. Ser. 5:482; Aldous 1999, Bernoulli 5:3, eq. 7) is
//     N_k(t) = N0 (1 - g) (k g)^(k-1) e^(-k g) / k!,   g = 1 - exp(-T),   T = b N0 t / V:
// N0 (1 - g) times the Borel distribution with parameter g (its sum N(t) = N0 e^-T and its
// mass N0 are checked below). For the Marcus-Lushnikov process the total merge rate with m
// particles is k_add (m - 1) M / V (M = N0 n0 monomers): m - 1 is a linear death process,
// Binomial(N0 - 1, e^-T) at time t, exactly.
TEST(WellMixed, AdditiveKernelAgainstGolovin)
{
    const uint64_t N0 = 100000;
    const uint32_t n0 = 2, kmax = 4000;
    const int R = 24;
    const double k_add = 0.5, V = (double)N0; // T = k_add n0 N0 t / V = t
    const std::vector<double> Ts = {std::log(2.0), std::log(5.0)};
    Replicas rep = run_replicas(additive_kernel(k_add), V, N0, n0, R, Ts, kmax, 2000);
    for (size_t it = 0; it < Ts.size(); ++it) {
        const double T = Ts[it], g = 1.0 - std::exp(-T), p = std::exp(-T);
        // count: sum over replicas of (m - 1) ~ Binomial(R (N0 - 1), e^-T)
        const double trials = (double)R * (N0 - 1);
        double obs = 0.0;
        for (double c : rep.count[it])
            obs += c - 1.0;
        const double z = (obs - trials * p) / std::sqrt(trials * p * (1 - p));
        std::printf("  additive T = %.3f: mean count %.2f vs exact %.2f, z = %.2f\n", T,
                    obs / R + 1, (N0 - 1) * p + 1, z);
        EXPECT_LT(std::fabs(z), kZmax) << "T " << T;
        std::vector<double> expect(kmax + 1, 0.0);
        double sum = 0.0, mass = 0.0;
        for (uint32_t k = 1; k < kmax; ++k) {
            expect[k] =
                N0 * (1 - g) * std::exp((k - 1.0) * std::log(k * g) - k * g - std::lgamma(k + 1.0));
            sum += expect[k];
            mass += k * expect[k];
        }
        EXPECT_NEAR(sum, N0 * p, 1e-6 * N0 * p);
        EXPECT_NEAR(mass, (double)N0, 1e-3 * N0); // up to the tail beyond kmax
        char what[64];
        std::snprintf(what, sizeof what, "additive kernel T = %.3f", T);
        check_distribution(rep.by_k[it], expect, 100.0, it == 0 ? 12 : 20, what);
    }
}

// ---- exact finite-N: the time to fall from N0 to m particles ----------------------------------

namespace
{
struct FallCtx {
    uint64_t merges = 0, target = 0;
    double t = -1.0;
};

int on_fall(void *ctx, const npg_wm_event *ev)
{
    FallCtx *c = static_cast<FallCtx *>(ctx);
    if (++c->merges == c->target) {
        c->t = ev->t;
        return 7; // stop
    }
    return 0;
}

// For a kernel whose total merge rate depends only on the count (lambda[j] with j particles),
// the time from N0 to m particles is a sum of independent exponentials: mean sum 1/lambda_j,
// variance sum 1/lambda_j^2, fourth central moment 6 sum 1/lambda_j^4 + 3 var^2. R replicas:
// Z-test the mean (exact standard error) and the sample variance (standard error
// sqrt((mu4 - var^2 (R - 3)/(R - 1)) / R)).
void check_fall(const npg_coal_params &p, double V, uint64_t N0, uint32_t n0, uint64_t m,
                const std::vector<double> &lambda, int R, uint32_t seed0, const char *what)
{
    double mean = 0.0, var = 0.0, q4 = 0.0;
    for (uint64_t j = m + 1; j <= N0; ++j) {
        mean += 1.0 / lambda[j];
        var += 1.0 / (lambda[j] * lambda[j]);
        q4 += 1.0 / std::pow(lambda[j], 4);
    }
    const double mu4 = 6.0 * q4 + 3.0 * var * var;
    std::vector<double> T(R);
    for (int r = 0; r < R; ++r) {
        std::vector<uint32_t> n(N0, n0);
        Sampler s(p, V, seed0 + (uint32_t)r, N0);
        ASSERT_EQ(s.rebuild(n), 0);
        FallCtx c;
        c.target = N0 - m;
        ASSERT_EQ(s.advance(n, 0.0, 1e6 * mean, on_fall, &c), 7) << what << ": " << s.err;
        T[r] = c.t;
    }
    double m1, v1;
    mean_var(T, &m1, &v1);
    const double z = (m1 - mean) / std::sqrt(var / R);
    const double zv = (v1 - var) / std::sqrt((mu4 - var * var * (R - 3.0) / (R - 1.0)) / R);
    std::printf("  %s: N0 = %llu -> %llu: mean time %.6g vs %.6g (z = %.2f), var %.4g vs "
                "%.4g (z = %.2f)\n",
                what, (unsigned long long)N0, (unsigned long long)m, m1, mean, z, v1, var, zv);
    EXPECT_LT(std::fabs(z), kZmax) << what;
    EXPECT_LT(std::fabs(zv), kZmax) << what;
}
} // namespace

// Constant kernel: lambda_j = K j (j - 1) / (2 V).
TEST(WellMixed, FallTimeConstantKernel)
{
    const uint64_t N0 = 1000, m = 100;
    const double K = 3.0, V = 1000.0;
    std::vector<double> lambda(N0 + 1);
    for (uint64_t j = 2; j <= N0; ++j)
        lambda[j] = K * j * (j - 1.0) / (2.0 * V);
    check_fall(constant_kernel(K), V, N0, 5, m, lambda, 1000, 30000, "constant kernel");
}

// Additive kernel: lambda_j = k_add (j - 1) M / V with M = N0 n0 monomers (any sizes).
TEST(WellMixed, FallTimeAdditiveKernel)
{
    const uint64_t N0 = 1000, m = 50;
    const uint32_t n0 = 3;
    const double k = 0.2, V = 500.0;
    std::vector<double> lambda(N0 + 1);
    for (uint64_t j = 2; j <= N0; ++j)
        lambda[j] = k * (j - 1.0) * (double)(N0 * n0) / V;
    check_fall(additive_kernel(k), V, N0, n0, m, lambda, 1000, 40000, "additive kernel");
}

// ---- thinning with the Brownian kernel and the Fermi switch: the first merge ------------------

namespace
{
struct FirstCtx {
    npg_wm_event ev{};
    bool seen = false;
};

int on_first(void *ctx, const npg_wm_event *ev)
{
    FirstCtx *c = static_cast<FirstCtx *>(ctx);
    c->ev = *ev;
    c->seen = true;
    return 9;
}

// Sizes that straddle the Fermi switch: pair contact sums sigma_ij = R_i + R_j from 1.0 to
// 4.9 nm around sigma_c = 3.0 nm, so the propensity ranges from 1 to 1e-6 and the majorant
// rejects a large share of proposals in some bin pairs.
const std::vector<uint32_t> kMixed = {20, 60, 150, 400, 800, 1200, 2500, 6000, 700, 45};

// R first merges from the same sizes, each from a rebuilt sampler (one stream, consecutive
// proposal counters: independent). Pair (i, j) merges first with probability K_ij P_ij / sum,
// at an exponential time (time-independent rates) of rate Lambda0 = sum K P / V.
struct FirstMerges {
    std::vector<double> t;
    std::map<std::pair<uint32_t, uint32_t>, int> pairs;
};

FirstMerges first_merges(const npg_coal_params &p, double V, int R, double t1)
{
    FirstMerges out;
    Sampler s(p, V, 777, kMixed.size());
    for (int r = 0; r < R; ++r) {
        std::vector<uint32_t> n = kMixed;
        EXPECT_EQ(s.rebuild(n), 0);
        FirstCtx c;
        int rc = s.advance(n, 0.0, t1, on_first, &c);
        EXPECT_EQ(rc, 9) << s.err;
        if (rc != 9)
            break;
        out.t.push_back(c.ev.t);
        out.pairs[{c.ev.kept, c.ev.gone}] += 1;
    }
    return out;
}

double total_rate(const npg_coal_params &p, double f)
{
    double sum = 0.0;
    for (size_t i = 0; i < kMixed.size(); ++i)
        for (size_t j = i + 1; j < kMixed.size(); ++j)
            sum += npg_coal_rate(&p, kMixed[i], kMixed[j], f);
    return sum;
}

// Which pair merged first: binomial z per pair with >= 20 expected, the rarer pairs pooled.
void check_pairs(const npg_coal_params &p, const FirstMerges &fm, double f)
{
    const double R = (double)fm.t.size(), L = total_rate(p, f);
    double rare_p = 0.0, rare_obs = 0.0, zmax = 0.0;
    int tested = 0;
    for (size_t i = 0; i < kMixed.size(); ++i)
        for (size_t j = i + 1; j < kMixed.size(); ++j) {
            double q = npg_coal_rate(&p, kMixed[i], kMixed[j], f) / L;
            auto it = fm.pairs.find({(uint32_t)i, (uint32_t)j});
            double obs = it == fm.pairs.end() ? 0.0 : it->second;
            if (R * q < 20.0) {
                rare_p += q;
                rare_obs += obs;
                continue;
            }
            double z = (obs - R * q) / std::sqrt(R * q * (1 - q));
            zmax = std::max(zmax, std::fabs(z));
            ++tested;
            EXPECT_LT(std::fabs(z), kZmax)
                << "pair " << kMixed[i] << "+" << kMixed[j] << ": " << obs << " vs " << R * q;
        }
    double zr = (rare_obs - R * rare_p) / std::sqrt(std::max(R * rare_p * (1 - rare_p), 1.0));
    EXPECT_LT(std::fabs(zr), kZmax) << "rare pairs: " << rare_obs << " vs " << R * rare_p;
    std::printf("  pairs: %d tested, max |z| = %.2f; rare pairs (p = %.2e) %g vs %.2f\n", tested,
                zmax, rare_p, rare_obs, R * rare_p);
    EXPECT_GE(tested, 15);
}
} // namespace

TEST(WellMixed, FirstMergeBrownianFermi)
{
    const npg_coal_params p = brownian_fermi(60.0);
    const double V = total_rate(p, 1.0); // Lambda0 = 1: T ~ Exp(1), mean 1, var 1, mu4 = 9
    const int R = 20000;
    FirstMerges fm = first_merges(p, V, R, 200.0);
    ASSERT_EQ(fm.t.size(), (size_t)R);
    double m, v;
    mean_var(fm.t, &m, &v);
    const double z = (m - 1.0) / std::sqrt(1.0 / R);
    const double zv = (v - 1.0) / std::sqrt((9.0 - (R - 3.0) / (R - 1.0)) / R);
    std::printf("  first merge: mean %.4f (z = %.2f), var %.4f (z = %.2f)\n", m, z, v, zv);
    EXPECT_LT(std::fabs(z), kZmax);
    EXPECT_LT(std::fabs(zv), kZmax);
    check_pairs(p, fm, 1.0);
}

// Time factor f(t) = (1 + b t)^-c (diffusion-limited, so every rate is Lambda0 f(t)): the
// first merge has survival exp(-Lambda0 F(t)), F(t) = ((1 + b t)^(1-c) - 1) / (b (1 - c)), and
// E[T] = int S dt, E[T^2] = 2 int t S dt (Simpson in u = ln(1 + t)). The sampler splits the
// span into chunks with their own majorant: exact by thinning whatever the chunking.
TEST(WellMixed, FirstMergeTimeFactor)
{
    const double b = 0.5, c = 0.7, L0 = 2.0;
    const npg_coal_params p = brownian_fermi(0.0, b, c);
    const double V = total_rate(p, 1.0) / L0;
    auto S = [&](double t) {
        return std::exp(-L0 * (std::pow(1 + b * t, 1 - c) - 1) / (b * (1 - c)));
    };
    const int steps = 200000;
    const double umax = std::log(1.0 + 1000.0), h = umax / steps;
    double m1 = 0.0, m2 = 0.0;
    for (int i = 0; i <= steps; ++i) {
        double u = i * h, t = std::expm1(u), w = (i == 0 || i == steps) ? 1 : (i % 2 ? 4 : 2);
        m1 += w * S(t) * (t + 1);
        m2 += w * 2 * t * S(t) * (t + 1);
    }
    m1 *= h / 3;
    m2 *= h / 3;
    const double var = m2 - m1 * m1;
    const int R = 20000;
    FirstMerges fm = first_merges(p, V, R, 1000.0); // S(1000) = e^-73
    ASSERT_EQ(fm.t.size(), (size_t)R);
    double m, v;
    mean_var(fm.t, &m, &v);
    // standard error of the mean from the exact variance; of the variance from the sample's
    // fourth moment (the stretched-exponential tail has no simple closed form for it)
    double q4 = 0.0;
    for (double t : fm.t)
        q4 += std::pow(t - m, 4);
    q4 /= R;
    const double z = (m - m1) / std::sqrt(var / R);
    const double zv = (v - var) / std::sqrt((q4 - v * v) / R);
    std::printf("  time factor: mean %.4f vs %.4f (z = %.2f), var %.4f vs %.4f (z = %.2f)\n", m, m1,
                z, v, var, zv);
    EXPECT_LT(std::fabs(z), kZmax);
    EXPECT_LT(std::fabs(zv), kZmax);
    check_pairs(p, fm, 1.0);
}

// ---- bookkeeping: monomers, ids, Group B, entries, the rate bound, determinism ----------------

namespace
{
struct Log {
    std::vector<npg_wm_event> ev;
};
int on_log(void *ctx, const npg_wm_event *ev)
{
    static_cast<Log *>(ctx)->ev.push_back(*ev);
    return 0;
}

bool group_b(const npg_wm *w, uint32_t id)
{
    return (npg_wm_group_b(w)[id >> 6] >> (id & 63u)) & 1u;
}
} // namespace

// Polydisperse sizes, Brownian kernel with the Fermi switch, entries into dormant slots between
// advances: every event replayed on a shadow copy of the sizes must reproduce the sampler's
// array; monomers are conserved exactly (plus what entries bring); the lower id survives; both
// partners of every merge, and nobody else, are Group B; a particle merges only while alive.
TEST(WellMixed, BookkeepingGroupBAndEntries)
{
    const uint64_t N = 3000, dormant = 200;
    std::vector<uint32_t> n(N + dormant, 0);
    for (uint64_t i = 0; i < N; ++i)
        n[i] = 2 + (uint32_t)((i * 2654435761u) % 900); // 2..901 monomers, scattered
    n[17] = 1;                                          // n < 2: not alive, never merges
    n[18] = 0;
    const npg_coal_params p = brownian_fermi(0.0);
    Sampler s(p, 2.0e5, 99, N + dormant);
    ASSERT_EQ(s.rebuild(n), 0);
    std::vector<uint32_t> shadow = n;
    uint64_t mass = std::accumulate(n.begin(), n.end(), (uint64_t)0);
    Log log;
    double t = 0.0;
    std::vector<bool> involved(N + dormant, false);
    uint64_t entered = 0;
    for (int step = 0; step < 20; ++step) {
        // the per-particle rate bound: >= every alive particle's true total merge rate (checked
        // on every 31st particle)
        const double bound = npg_wm_max_rate(s.w, t, t + 0.5);
        double worst = 0.0;
        for (uint64_t i = 0; i < n.size() && step % 5 == 0; i += 31) {
            if (n[i] < 2)
                continue;
            double r = 0.0;
            for (uint64_t j = 0; j < n.size(); ++j)
                if (j != i && n[j] >= 2)
                    r += npg_coal_rate(&p, n[i], n[j], 1.0);
            worst = std::max(worst, r / 2.0e5);
        }
        EXPECT_LE(worst, bound * (1 + 1e-12)) << "step " << step;
        log.ev.clear();
        ASSERT_EQ(s.advance(n, t, t + 0.5, on_log, &log), 0) << s.err;
        for (const npg_wm_event &e : log.ev) {
            EXPECT_GE(e.t, t);
            EXPECT_LE(e.t, t + 0.5);
            EXPECT_LT(e.kept, e.gone);
            ASSERT_LT(e.gone, shadow.size());
            EXPECT_EQ(e.n_kept, shadow[e.kept]);
            EXPECT_EQ(e.n_gone, shadow[e.gone]);
            EXPECT_GE(shadow[e.kept], 2u);
            EXPECT_GE(shadow[e.gone], 2u);
            shadow[e.kept] += shadow[e.gone];
            shadow[e.gone] = 0;
            involved[e.kept] = involved[e.gone] = true;
        }
        for (size_t k = 1; k < log.ev.size(); ++k)
            EXPECT_LE(log.ev[k - 1].t, log.ev[k].t);
        EXPECT_EQ(shadow, n) << "step " << step;
        t += 0.5;
        // ten entries into dormant slots
        for (int k = 0; k < 10; ++k, ++entered) {
            uint32_t id = (uint32_t)(N + entered), size = 50 + 13 * k;
            ASSERT_EQ(npg_wm_insert(s.w, n.data(), id, size, s.err, sizeof s.err), 0) << s.err;
            EXPECT_EQ(n[id], size);
            shadow[id] = size;
            mass += size;
        }
        EXPECT_EQ(std::accumulate(n.begin(), n.end(), (uint64_t)0), mass);
    }
    // inserting into an alive particle's slot, beyond the capacity, or with a size < 2 is
    // refused (a slot coalesced away has n = 0 like a dormant one: the engine never reuses it)
    const uint32_t taken =
        (uint32_t)(std::find_if(n.begin(), n.end(), [](uint32_t x) { return x >= 2; }) - n.begin());
    EXPECT_NE(npg_wm_insert(s.w, n.data(), taken, 40, s.err, sizeof s.err), 0);
    EXPECT_NE(npg_wm_insert(s.w, n.data(), (uint32_t)(N + dormant), 40, s.err, sizeof s.err), 0);
    EXPECT_NE(npg_wm_insert(s.w, n.data(), (uint32_t)(N + dormant - 1), 1, s.err, sizeof s.err), 0);
    npg_wm_stats st;
    npg_wm_get_stats(s.w, &st);
    uint64_t merges = 0, b = 0;
    for (uint64_t id = 0; id < n.size(); ++id) {
        EXPECT_EQ(group_b(s.w, (uint32_t)id), involved[id]) << "id " << id;
        b += involved[id];
    }
    merges = st.merges;
    EXPECT_EQ(st.inserted, entered);
    EXPECT_EQ(n[17], 1u);
    EXPECT_EQ(n[18], 0u);
    EXPECT_FALSE(involved[17]);
    uint64_t alive = 0;
    for (uint32_t x : n)
        alive += x >= 2;
    EXPECT_EQ(alive, N - 2 + entered - merges);
    std::printf("  %llu merges, %llu proposals (acceptance %.2f), %llu Group B ids\n",
                (unsigned long long)merges, (unsigned long long)st.proposals,
                (double)merges / (double)st.proposals, (unsigned long long)b);
    EXPECT_GT(merges, 300u); // the test exercised merging
    EXPECT_LE(npg_wm_bytes_per_particle(s.w), 24.0);
}

// Monomer growth carries a population through many bins, and the engine re-bins it after each
// interval: the bins it has left give their memory back. A monodisperse population swept
// through ~70 bins (2 .. ~2000 monomers) would otherwise hold ~70 x 4 bytes per particle; with
// the release, the occupied bin holds at most 2 (1.5 N + 16) ids and each empty one at most 32,
// i.e. <= 12 + 257 * 128 / N + 1/8 < 14 bytes per particle at N = 20000. Merging still works
// (and conserves monomers) on the shrunk bins.
TEST(WellMixed, RebuildReleasesBinsThePopulationLeft)
{
    const uint64_t N = 20000;
    std::vector<uint32_t> n(N);
    Sampler s(constant_kernel(1.0), 1.0e4, 3, N);
    double size = 2.0;
    int bins = 0, last = -1;
    while (size < 2048.0) {
        std::fill(n.begin(), n.end(), (uint32_t)size);
        ASSERT_EQ(s.rebuild(n), 0) << s.err;
        bins += npg_coal_bin((uint32_t)size) != last;
        last = npg_coal_bin((uint32_t)size);
        size *= 1.09;
    }
    EXPECT_GE(bins, 65); // 70: integer sizes share the smallest bins
    const double bytes = npg_wm_bytes_per_particle(s.w);
    std::printf("  %d bins swept: %.2f bytes per particle\n", bins, bytes);
    EXPECT_LT(bytes, 14.0);
    const uint64_t mass = std::accumulate(n.begin(), n.end(), (uint64_t)0);
    ASSERT_EQ(s.advance(n, 0.0, 1.0, nullptr, nullptr), 0) << s.err;
    npg_wm_stats st;
    npg_wm_get_stats(s.w, &st);
    EXPECT_GT(st.merges, 100u);
    EXPECT_EQ(std::accumulate(n.begin(), n.end(), (uint64_t)0), mass);
}

// The same seed and sizes give the same merges; another seed does not.
TEST(WellMixed, DeterministicPerSeed)
{
    auto run = [](uint32_t seed) {
        std::vector<uint32_t> n(2000);
        for (size_t i = 0; i < n.size(); ++i)
            n[i] = 2 + (uint32_t)((i * 40503u) % 700);
        Sampler s(brownian_fermi(0.0, 0.2, 0.5), 5.0e4, seed, n.size());
        EXPECT_EQ(s.rebuild(n), 0);
        Log log;
        EXPECT_EQ(s.advance(n, 0.0, 3.0, on_log, &log), 0);
        return log.ev;
    };
    auto a = run(5), b = run(5), c = run(6);
    ASSERT_GT(a.size(), 100u);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof a[0]), 0);
    EXPECT_FALSE(a.size() == c.size() &&
                 std::memcmp(a.data(), c.data(), a.size() * sizeof a[0]) == 0);
}
