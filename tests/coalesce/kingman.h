// kingman.h: the particle count of the constant-kernel Marcus-Lushnikov process (Kingman's
// coalescent), for the coalescence tests.
#ifndef NPGROW_TESTS_KINGMAN_H
#define NPGROW_TESTS_KINGMAN_H

#include <cmath>
#include <cstdint>

// Kingman's coalescent (every pair merges at rate 1) from n lineages: the exact mean number
// of lineages at time s, E[A_n(s)] = sum_{i=1}^n (2i - 1) n_[i] / n_(i) exp(-i (i - 1) s / 2)
// with n_[i] = n (n - 1) ... (n - i + 1) and n_(i) = n (n + 1) ... (n + i - 1) (Tavare 1984,
// Theor. Popul. Biol. 26:119). For n = 2 it is 1 + e^-s (tested), and for n = 1e3, 5e4 it
// agrees with the moment equations below to 1e-8. The constant-kernel Marcus-Lushnikov process
// is this with s = (K / V) t. All terms are positive: the sum is stable.
inline double kingman_mean(uint64_t n, double s)
{
    double sum = 0.0, ratio = 1.0;
    for (uint64_t i = 1; i <= n; ++i) {
        if (i > 1)
            ratio *= (double)(n - i + 1) / (double)(n + i - 1);
        double term = (2.0 * i - 1.0) * ratio * std::exp(-0.5 * (double)i * (i - 1) * s);
        sum += term;
        if (i > 10 && term < 1e-18 * sum)
            break;
    }
    return sum;
}

// Variance of the particle count m of the constant-kernel process (pure death with rate
// c m (m - 1) / 2, c = K / V) from its exact moment equations closed at the third cumulant
// (Gaussian closure): d mu/dt = -(c/2)(mu^2 + v - mu), dv/dt = -2 c mu v + (c/2) mu^2 +
// (3c/2) v - (c/2) mu; the neglected third cumulant changes v by O(1/N) relative. RK4 in s = c t.
inline double kingman_var(uint64_t n, double s)
{
    double mu = (double)n, v = 0.0;
    const int steps = 20000;
    const double h = s / steps;
    auto f = [](double m, double va, double *dm, double *dv) {
        *dm = -0.5 * (m * m + va - m);
        *dv = -2.0 * m * va + 0.5 * m * m + 1.5 * va - 0.5 * m;
    };
    for (int i = 0; i < steps; ++i) {
        double a1, b1, a2, b2, a3, b3, a4, b4;
        f(mu, v, &a1, &b1);
        f(mu + 0.5 * h * a1, v + 0.5 * h * b1, &a2, &b2);
        f(mu + 0.5 * h * a2, v + 0.5 * h * b2, &a3, &b3);
        f(mu + h * a3, v + h * b3, &a4, &b4);
        mu += h / 6 * (a1 + 2 * a2 + 2 * a3 + a4);
        v += h / 6 * (b1 + 2 * b2 + 2 * b3 + b4);
    }
    return v;
}

#endif // NPGROW_TESTS_KINGMAN_H
