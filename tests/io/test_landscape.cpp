// test_landscape.cpp: n** (n_star2) beyond the rate table (host/io/landscape.c, observe.c).
//
// Issue 9: n** used to stop at the table's last size (65535) while the sizes that shrink reach
// far beyond it when ln S is small. It is now found on the model itself: the answer must satisfy
// mu_n** > ln S >= mu_(n**+1) with both values evaluated directly by npg_model_mu, and be
// reported as ">LIMIT" when mu_n > ln S up to the search limit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "npgrow/observe.h"
#include "../support/systems.h"

TEST(Landscape, NStar2BeyondTheTableIsExact)
{
    const npg_model m = pt_acac();
    npg_landscape l;
    ASSERT_EQ(npg_landscape_init(&l, &m, 65536), 0);
    // ln S = 0.1: mu_n falls below 0.1 only near n = 1e6, fifteen times the table.
    const double S = std::exp(0.1), ln_s = std::log(S);
    ASSERT_GT(l.mu[65535], ln_s); // the old answer was the table edge, 65535
    uint32_t a = 0, b = 0;
    ASSERT_STREQ(npg_landscape_phase(&l, S, &a, &b), "super");
    EXPECT_GT(b, 500000u);
    EXPECT_LT(b, 2000000u);
    EXPECT_GT(npg_model_mu(&m, (double)b), ln_s) << b;
    EXPECT_LE(npg_model_mu(&m, (double)b + 1.0), ln_s) << b;
    // No size between the table's edge and n** grows: mu_n > ln S throughout (every 7th n).
    for (uint32_t n = 65535; n <= b; n += 7)
        ASSERT_GT(npg_model_mu(&m, (double)n), ln_s) << n;
    // n* is still the table's first crossing.
    EXPECT_GT(npg_model_mu(&m, (double)a), ln_s);
    EXPECT_LE(npg_model_mu(&m, (double)a - 1.0), ln_s);
    EXPECT_LT(a, l.n_dagger);

    // A longer table gives the same n** (the answer does not depend on the table).
    npg_landscape l2;
    ASSERT_EQ(npg_landscape_init(&l2, &m, 1u << 20), 0);
    uint32_t a2 = 0, b2 = 0;
    ASSERT_STREQ(npg_landscape_phase(&l2, S, &a2, &b2), "super");
    EXPECT_EQ(a2, a);
    EXPECT_EQ(b2, b);
    npg_landscape_free(&l2);
    npg_landscape_free(&l);
}

TEST(Landscape, NStar2BeyondTheLimitIsMarked)
{
    const npg_model m = pt_acac();
    npg_landscape l;
    ASSERT_EQ(npg_landscape_init(&l, &m, 65536), 0);
    EXPECT_EQ(npg_landscape_n_limit(&l), NPG_N_STAR2_LIMIT);
    // ln S = 0.02: mu_n > 0.02 up to n ~ 1.3e8, beyond the search limit 1e7.
    const double S = std::exp(0.02), ln_s = std::log(S);
    ASSERT_GT(npg_model_mu(&m, (double)NPG_N_STAR2_LIMIT), ln_s);
    uint32_t a = 0, b = 0;
    ASSERT_STREQ(npg_landscape_phase(&l, S, &a, &b), "super");
    EXPECT_GT(a, 19u);
    EXPECT_EQ(b, NPG_N_STAR2_BEYOND);
    npg_landscape_free(&l);
}

TEST(Landscape, NStar2InsideTheTableUnchanged)
{
    const npg_model m = pt_acac();
    npg_landscape l;
    ASSERT_EQ(npg_landscape_init(&l, &m, 65536), 0);
    // ln S = 0.693 (the demo's S = 2): n** = 1417 (README), well inside the table.
    uint32_t a = 0, b = 0;
    ASSERT_STREQ(npg_landscape_phase(&l, 2.0, &a, &b), "super");
    EXPECT_EQ(a, 58u);
    EXPECT_EQ(b, 1417u);
    npg_landscape_free(&l);
}

// The moments.csv row carries n** exactly, or ">LIMIT".
TEST(Landscape, ObserverWritesExactOrBeyond)
{
    npg_config cfg;
    char err[2048];
    const std::string path = std::string(NPGROW_SOURCE_DIR) + "/configs/pt-acac.yaml";
    ASSERT_EQ(npg_config_load(path.c_str(), &cfg, err, sizeof err), 0) << err;
    char dir[] = "/tmp/npg_landscape_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    npg_observer o;
    ASSERT_EQ(npg_observer_open(&o, &cfg, nullptr, dir, err, sizeof err), 0) << err;
    std::vector<double> count(400, 0.0);
    count[300] = 10.0;
    npg_snapshot s;
    memset(&s, 0, sizeof s);
    s.count = count.data();
    s.len = (uint32_t)count.size();
    s.particles0 = 10.0;
    s.free_monomers = s.precursor = s.events = NAN;
    const double lnS[] = {0.1, 0.02};
    for (int k = 0; k < 2; ++k) {
        s.t = k;
        s.S = std::exp(lnS[k]);
        ASSERT_EQ(npg_observer_write(&o, &s, err, sizeof err), 0) << err;
    }
    uint32_t a = 0, b = 0, a2 = 0, b2 = 0;
    npg_landscape_phase(&o.land, std::exp(0.1), &a, &b);
    npg_landscape_phase(&o.land, std::exp(0.02), &a2, &b2);
    EXPECT_EQ(b2, NPG_N_STAR2_BEYOND);
    ASSERT_EQ(npg_observer_close(&o), 0);
    std::string mpath = std::string(dir) + "/moments.csv";
    FILE *f = fopen(mpath.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[4096];
    std::vector<std::string> rows;
    while (fgets(line, sizeof line, f))
        rows.push_back(line);
    fclose(f);
    ASSERT_EQ(rows.size(), 3u);
    // columns ...,phase,n_star,n_star2,free_monomers,precursor,events
    const std::string want1 = ",super," + std::to_string(a) + "," + std::to_string(b) + ",,,\n";
    const std::string want2 =
        ",super," + std::to_string(a2) + ",>" + std::to_string(NPG_N_STAR2_LIMIT) + ",,,\n";
    EXPECT_NE(rows[1].find(want1), std::string::npos) << rows[1];
    EXPECT_NE(rows[2].find(want2), std::string::npos) << rows[2];
    EXPECT_GT(b, 65535u);
    for (const char *n : {"moments.csv", "histogram.csv", "growth_rate.csv"})
        remove((std::string(dir) + "/" + n).c_str());
    rmdir(dir);
    npg_config_free(&cfg);
}
