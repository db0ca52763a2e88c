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
#include <vector>

#include "npgrow/config.h"
#include "npgrow/infer.h"
#include "npgrow/model.h"

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

// Synthetic data with whole-frame noise, made here (no run of npgrow): P particles follow the
// birth-death chain's diffusion limit, dn = (S A_n - k^d_n) dt + sqrt((S A_n + k^d_n) dt) Z
// (substeps of 0.05 s; E[dn/dt] is the identity infer fits), under a known S(t) piecewise
// linear on the 10 s knots infer uses (so the band's target is the truth itself). Observed:
// n exp(eps_f + eta_if), eps_f an AR(1) over frames (correlation 0.5, sd 0.05: a whole frame
// jumps by a few per cent, a run of frames together) and eta_if the particle's own jitter (sd
// 0.1).
static void write_frame_noise_data(const std::string &d, const npg_config &cfg, unsigned seed)
{
    mkdir(d.c_str(), 0755);
    write_file(d + "/run.yaml", "kind: data\ntime_unit: s\n");
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> z(0.0, 1.0);
    std::uniform_real_distribution<double> u(150.0, 500.0);
    const int P = 100, F = 121, sub = 10;
    const double dt = 0.5;
    std::vector<double> n(P), eps(F);
    for (int i = 0; i < P; ++i)
        n[i] = u(gen);
    const double SD = 0.05, ETA = 0.1, PHI = 0.5;
    eps[0] = SD * z(gen);
    for (int f = 1; f < F; ++f)
        eps[f] = PHI * eps[f - 1] + std::sqrt(1.0 - PHI * PHI) * SD * z(gen);
    FILE *out = std::fopen((d + "/trajectories.csv").c_str(), "w");
    ASSERT_NE(out, nullptr);
    std::fputs("t,id,n,r_nm\n", out);
    for (int f = 0; f < F; ++f) {
        const double t = f * dt;
        for (int i = 0; i < P; ++i)
            std::fprintf(out, "%.10g,%d,%.4f,0\n", t, i, n[i] * std::exp(eps[f] + ETA * z(gen)));
        for (int k = 0; k < sub && f + 1 < F; ++k) {
            const double s = npg_config_schedule_s(&cfg, t + (k + 0.5) * dt / sub), h = dt / sub;
            for (int i = 0; i < P; ++i) {
                const double a = s * npg_model_assoc(&cfg.model, n[i]),
                             b = npg_model_dissoc(&cfg.model, n[i]);
                n[i] = std::fmax(25.0, n[i] + (a - b) * h + std::sqrt((a + b) * h) * z(gen));
            }
        }
    }
    std::fclose(out);
}

TEST_F(Infer, BlockBootstrapCoversUnderFrameNoise)
{
    // 25 synthetic data sets (above), 7 knots each; the 95 % band of each mode against the true
    // S at every knot. Particle resampling alone keeps each data set's frame noise fixed, so it
    // undercovers; the moving blocks of frame residuals put it into the band.
    write_file(dir + "/blk.yaml",
               "system: {preset: pt-acac}\n"
               "supply: {mode: schedule, supersaturation: [[0, 3.0], [10, 3.5], [20, 2.5], "
               "[30, 3.0], [40, 3.5], [50, 3.0], [60, 2.5]]}\n"
               "run: {particles: 100, t_end: 60, output_every: 1, seed: 1}\n" +
                   std::string(kBody));
    const int D = 25;
    int cov[2] = {0, 0}, total = 0;
    double width[2] = {0, 0};
    for (int ds = 0; ds < D; ++ds) {
        npg_config cfg;
        char err[2048] = "";
        ASSERT_EQ(npg_config_load((dir + "/blk.yaml").c_str(), &cfg, err, sizeof err), 0) << err;
        std::string d = dir + "/blk" + std::to_string(ds);
        write_frame_noise_data(d, cfg, 100 + ds);
        for (int mode = 0; mode < 2; ++mode) {
            npg_infer_options o;
            npg_infer_options_default(&o);
            o.quiet = 1;
            o.knot_every = 10.0;
            o.bootstrap = 80;
            o.seed = 7 + ds;
            o.block_bootstrap = mode;
            npg_infer_result res;
            ASSERT_EQ(npg_infer_run(d.c_str(), &cfg, &o, &res, err, sizeof err), 0) << err;
            ASSERT_EQ(res.nk, 7u);
            for (size_t k = 0; k < res.nk; ++k) {
                const double truth = npg_config_schedule_s(&cfg, res.t[k]);
                cov[mode] += res.lo95[k] <= truth && truth <= res.hi95[k];
                width[mode] += res.hi95[k] - res.lo95[k];
                total += mode;
            }
            if (mode) {
                EXPECT_EQ(res.block_frames, 10u);
                EXPECT_GT(res.frame_share, 0.0);
            }
            npg_infer_free(&res);
        }
        npg_config_free(&cfg);
        exit_status("rm -rf '" + d + "'");
    }
    const double c0 = (double)cov[0] / total, c1 = (double)cov[1] / total;
    std::printf("95 %% band coverage over %d knots: particles %.3f (mean width %.3g), with "
                "blocks %.3f (mean width %.3g)\n",
                total, c0, width[0] / total, c1, width[1] / total);
    // Measured: particles 0.251, blocks 0.783 (175 knots; with 40 data sets and 100 resamples
    // 0.246 and 0.761; iid frame noise 0.257 and 0.807). The blocks do not reach the nominal
    // 0.95: the fit takes the slow part of the noise (periods beyond the knot spacing, what moves
    // S) out of the residuals, so blocks of them carry too little of it (blocks of 1 frame: 0.70;
    // of 20 s: 0.75 under iid noise). Bounds: binomial sd over 175 knots ~0.03 (more, as the knots
    // of one data set share its noise).
    EXPECT_LT(c0, 0.45) << "particle resampling alone should undercover under frame noise";
    EXPECT_GT(c1, 0.62) << "the block bootstrap should cover far more often";
    EXPECT_GT(c1 - c0, 0.35);
    EXPECT_LT(c1, 0.995) << "the block bootstrap should not be wildly conservative";
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
