// test_infer.cpp: npgrow infer (host/data/infer.c) against runs of npgrow itself with a known
// S(t). The built binary makes the synthetic data (trajectories.csv of every particle); the
// library infers S(t) and must recover it; the schedule it writes must run as is.
//   Recovery: the pt-acac-like schedule 3.5 -> 2 -> 3.5 (ramps 45-50 s, 100-105 s), 1000
//     particles over 180 s: every knot within 5 % of the true S (the shot noise of 1000
//     particles gives ~0.5 %), cross-validation picks h = 5 s (the schedule's breakpoints are
//     multiples of 5 s, a coarser spacing cannot follow the ramps), and the 95 % bootstrap band
//     covers the truth at most knots.
//   Constraint: a schedule with S = 0 on [25, 40] s: the fit stays >= 0 (a constraint, not a
//     clip), knots inside the zero phase are ~0 with bootstrap percentiles exactly at the bound,
//     and the others within 5 %.
//   Frame noise: every frame's sizes scaled by one factor 1 + eps, eps ~ N(0, 0.07) (the TEM
//     data's whole-frame jumps): the cross-validated spacing is coarser than 5 s (leave-one-
//     frame-out would chase the noise), S stays within [0, 6], and the plateau knots within 20 %.
//   Bad input: a time unit other than the config's, no trajectories.csv, a duplicate (id, t),
//     an existing output without force: NPG_EXIT_USAGE.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>

#include "npgrow/config.h"
#include "npgrow/infer.h"

namespace
{

int exit_status(const std::string &cmd)
{
    int s = std::system(cmd.c_str());
    return WIFEXITED(s) ? WEXITSTATUS(s) : -1;
}

void write_file(const std::string &path, const std::string &text)
{
    FILE *f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    std::fputs(text.c_str(), f);
    std::fclose(f);
}

const char *const kBody = "initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}\n"
                          "output: {trajectories: 1000, hdf5: false}\n";

class Infer : public ::testing::Test
{
  protected:
    static std::string dir;
    static void SetUpTestSuite()
    {
        std::string tmpl = ::testing::TempDir() + "npg_infer_XXXXXX";
        char *d = mkdtemp(&tmpl[0]);
        ASSERT_NE(d, nullptr);
        dir = d;
        write_file(dir + "/steps.yaml",
                   std::string("system: {preset: pt-acac}\n"
                               "supply: {mode: schedule, supersaturation: [[0, 3.5], [45, 3.5], "
                               "[50, 2.0], [100, 2.0], [105, 3.5], [180, 3.5]]}\n"
                               "run: {particles: 1000, t_end: 180, output_every: 1, seed: 3}\n") +
                       kBody);
        write_file(dir + "/zero.yaml",
                   std::string("system: {preset: pt-acac}\n"
                               "supply: {mode: schedule, supersaturation: [[0, 3.5], [20, 3.5], "
                               "[25, 0], [40, 0], [45, 3.5], [60, 3.5]]}\n"
                               "run: {particles: 1000, t_end: 60, output_every: 1, seed: 4}\n") +
                       kBody);
        for (const char *c : {"steps", "zero"}) {
            std::string cmd = std::string("'") + NPGROW_BINARY + "' run '" + dir + "/" + c +
                              ".yaml' --quiet -o '" + dir + "/" + c + "'";
            ASSERT_EQ(exit_status(cmd), 0) << cmd;
        }
    }
    static void TearDownTestSuite()
    {
        if (!dir.empty())
            exit_status("rm -rf '" + dir + "'");
    }

    // Load config `name`.yaml and infer from the directory `data`.
    static int infer(const std::string &name, const std::string &data, npg_infer_options o,
                     npg_config *cfg, npg_infer_result *res, std::string *msg = nullptr)
    {
        char err[2048] = "";
        EXPECT_EQ(npg_config_load((dir + "/" + name + ".yaml").c_str(), cfg, err, sizeof err), 0)
            << err;
        o.quiet = 1;
        int rc = npg_infer_run(data.c_str(), cfg, &o, res, err, sizeof err);
        if (msg)
            *msg = err;
        return rc;
    }
};
std::string Infer::dir;

TEST_F(Infer, RecoversAKnownScheduleAndItRuns)
{
    npg_infer_options o;
    npg_infer_options_default(&o);
    o.bootstrap = 100;
    npg_config cfg;
    npg_infer_result res;
    ASSERT_EQ(infer("steps", dir + "/steps", o, &cfg, &res), 0);
    EXPECT_EQ(res.particles, 1000u);
    EXPECT_EQ(res.frames, 181u);
    EXPECT_EQ(res.knot_every, 5.0) << "block cross-validation should pick the 5 s knots";
    ASSERT_EQ(res.nk, 37u);
    EXPECT_EQ(res.boot_done, 100u);
    int covered = 0;
    for (size_t k = 0; k < res.nk; ++k) {
        double truth = npg_config_schedule_s(&cfg, res.t[k]);
        EXPECT_NEAR(res.s[k], truth, 0.05 * truth) << "t = " << res.t[k];
        EXPECT_LE(res.lo95[k], res.lo68[k]);
        EXPECT_LE(res.lo68[k], res.hi68[k]);
        EXPECT_LE(res.hi68[k], res.hi95[k]);
        covered += res.lo95[k] <= truth && truth <= res.hi95[k];
    }
    // 95 % bands: 35 of 37 expected; 30 is below the 1st percentile of Binomial(37, 0.95)
    EXPECT_GE(covered, 30) << "the 95 % band covers the truth at " << covered << " of 37 knots";

    // the schedule: refused over an existing file, replaced with force, and npgrow run takes it
    std::string out = dir + "/S.yaml";
    char err[2048] = "", csv[1200] = "";
    ASSERT_EQ(npg_infer_write(out.c_str(), 0, &cfg, &res, csv, sizeof csv, err, sizeof err), 0)
        << err;
    EXPECT_EQ(std::string(csv), dir + "/S.csv");
    EXPECT_EQ(npg_infer_write(out.c_str(), 0, &cfg, &res, csv, sizeof csv, err, sizeof err),
              NPG_EXIT_USAGE);
    EXPECT_NE(std::strstr(err, "--force"), nullptr) << err;
    ASSERT_EQ(npg_infer_write(out.c_str(), 1, &cfg, &res, csv, sizeof csv, err, sizeof err), 0)
        << err;
    npg_config back;
    ASSERT_EQ(npg_config_load(out.c_str(), &back, err, sizeof err), 0) << err;
    EXPECT_EQ(back.supply, NPG_SUPPLY_SCHEDULE);
    ASSERT_EQ(back.schedule_len, res.nk);
    for (size_t k = 0; k < res.nk; ++k) {
        EXPECT_EQ(back.schedule_t[k], res.t[k]);
        EXPECT_EQ(back.schedule_s[k], res.s[k]);
    }
    EXPECT_EQ(back.t_end, 180.0);
    npg_config_free(&back);
    std::string cmd = std::string("'") + NPGROW_BINARY + "' run '" + out +
                      "' --quiet --particles 200 -o '" + dir + "/rerun'";
    EXPECT_EQ(exit_status(cmd), 0) << cmd;
    npg_infer_free(&res);
    npg_config_free(&cfg);
}

TEST_F(Infer, SNonNegativeIsAConstraint)
{
    npg_infer_options o;
    npg_infer_options_default(&o);
    o.knot_every = 5.0;
    o.bootstrap = 100;
    npg_config cfg;
    npg_infer_result res;
    ASSERT_EQ(infer("zero", dir + "/zero", o, &cfg, &res), 0);
    ASSERT_EQ(res.nk, 13u);
    int at_zero = 0;
    for (size_t k = 0; k < res.nk; ++k) {
        double truth = npg_config_schedule_s(&cfg, res.t[k]);
        EXPECT_GE(res.s[k], 0.0) << "t = " << res.t[k];
        if (truth == 0.0) {
            EXPECT_LT(res.s[k], 0.05) << "t = " << res.t[k];
            EXPECT_LT(res.hi95[k], 0.1) << "t = " << res.t[k];
            at_zero += res.lo68[k] == 0.0;
        } else {
            EXPECT_NEAR(res.s[k], truth, 0.05 * truth) << "t = " << res.t[k];
        }
    }
    // At S = 0 an unconstrained fit would put about half the resamples below zero; the
    // constrained one holds them exactly at the bound, so the 16th percentile is 0.
    EXPECT_GE(at_zero, 2);
    npg_infer_free(&res);
    npg_config_free(&cfg);
}

TEST_F(Infer, WholeFrameNoiseIsNotChased)
{
    // the steps data with every frame's sizes scaled by one factor 1 + eps, eps ~ N(0, 0.07)
    std::string noisy = dir + "/noisy";
    ASSERT_EQ(mkdir(noisy.c_str(), 0755), 0);
    ASSERT_EQ(exit_status("cp '" + dir + "/steps/run.yaml' '" + noisy + "/'"), 0);
    FILE *in = std::fopen((dir + "/steps/trajectories.csv").c_str(), "r");
    FILE *out = std::fopen((noisy + "/trajectories.csv").c_str(), "w");
    ASSERT_TRUE(in && out);
    char line[256];
    ASSERT_NE(std::fgets(line, sizeof line, in), nullptr);
    std::fputs(line, out);
    std::mt19937 gen(5);
    std::normal_distribution<double> eps(0.0, 0.07);
    double t_prev = -1.0, f = 1.0;
    double t, r;
    unsigned long long id;
    unsigned n;
    while (std::fscanf(in, "%lf,%llu,%u,%lf", &t, &id, &n, &r) == 4) {
        if (t != t_prev)
            f = 1.0 + eps(gen);
        t_prev = t;
        std::fprintf(out, "%.10g,%llu,%.0f,%g\n", t, id, std::fmax(2.0, std::round(n * f)), r);
    }
    std::fclose(in);
    std::fclose(out);

    npg_infer_options o;
    npg_infer_options_default(&o);
    o.bootstrap = 0;
    npg_config cfg;
    npg_infer_result res;
    ASSERT_EQ(infer("steps", noisy, o, &cfg, &res), 0);
    EXPECT_GT(res.knot_every, 5.0) << "cross-validation over blocks should smooth more";
    for (size_t k = 0; k < res.nk; ++k) {
        double truth = npg_config_schedule_s(&cfg, res.t[k]);
        EXPECT_GE(res.s[k], 0.0);
        EXPECT_LE(res.s[k], 6.0) << "t = " << res.t[k];
        // plateau knots: the true S constant over the knot's whole support
        double a = npg_config_schedule_s(&cfg, res.t[k] - res.knot_every);
        double b = npg_config_schedule_s(&cfg, res.t[k] + res.knot_every);
        if (a == truth && b == truth) {
            EXPECT_NEAR(res.s[k], truth, 0.2 * truth) << "t = " << res.t[k];
        }
    }
    npg_infer_free(&res);
    npg_config_free(&cfg);
}

TEST_F(Infer, BadInputIsRefused)
{
    npg_infer_options o;
    npg_infer_options_default(&o);
    o.bootstrap = 0;
    npg_config cfg;
    npg_infer_result res;
    std::string msg;
    // another time unit
    write_file(dir + "/minutes.yaml", "system: {preset: pt-acac, time_unit: min}\n"
                                      "supply: {mode: schedule, supersaturation: [[0, 2]]}\n"
                                      "initial: {kind: monodisperse, n: 100}\n"
                                      "run: {particles: 10, t_end: 1, output_every: 1}\n");
    EXPECT_EQ(infer("minutes", dir + "/steps", o, &cfg, &res, &msg), NPG_EXIT_USAGE);
    EXPECT_NE(msg.find("time_unit s, but"), std::string::npos) << msg;
    npg_infer_free(&res);
    npg_config_free(&cfg);
    // no trajectories.csv
    std::string none = dir + "/none";
    ASSERT_EQ(mkdir(none.c_str(), 0755), 0);
    ASSERT_EQ(exit_status("cp '" + dir + "/steps/run.yaml' '" + none + "/'"), 0);
    EXPECT_EQ(infer("steps", none, o, &cfg, &res, &msg), NPG_EXIT_USAGE);
    EXPECT_NE(msg.find("trajectories.csv"), std::string::npos) << msg;
    npg_infer_free(&res);
    npg_config_free(&cfg);
    // a duplicate (id, t)
    std::string dup = dir + "/dup";
    ASSERT_EQ(mkdir(dup.c_str(), 0755), 0);
    ASSERT_EQ(exit_status("cp '" + dir + "/steps/run.yaml' '" + dup + "/'"), 0);
    write_file(dup + "/trajectories.csv", "t,id,n,r_nm\n0,1,100,0.7\n1,1,110,0.7\n1,1,111,0.7\n");
    EXPECT_EQ(infer("steps", dup, o, &cfg, &res, &msg), NPG_EXIT_USAGE);
    EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
    npg_infer_free(&res);
    npg_config_free(&cfg);
    // a malformed row
    write_file(dup + "/trajectories.csv", "t,id,n,r_nm\n0,1,100,0.7\n1,x,110,0.7\n");
    EXPECT_EQ(infer("steps", dup, o, &cfg, &res, &msg), NPG_EXIT_USAGE);
    EXPECT_NE(msg.find(":3:"), std::string::npos) << msg;
    npg_infer_free(&res);
    npg_config_free(&cfg);
}

} // namespace
