// test_compare_h5.cpp: npg_result_load of a run.h5 (host/stats/result_h5.c) against the CSV
// files it was built from: a run and a master-equation result made by the built npgrow, each read
// both ways, must give identical npg_result contents and identical comparisons. Truncated,
// foreign and non-HDF5 files are rejected with exit 2 and a message naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>

#include <hdf5.h>

#include "npgrow/compare.h"

namespace
{

// Same value, NaN equal to NaN (bit-for-bit is what both readers must produce from one text).
bool same(double a, double b)
{
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

int exit_status(const std::string &cmd)
{
    int s = std::system(cmd.c_str());
    return WIFEXITED(s) ? WEXITSTATUS(s) : -1;
}

// A temporary directory with a small run (2000 particles, 5 output times) and its master
// equation, both from the built binary; made once for the whole suite.
class CompareH5 : public ::testing::Test
{
  protected:
    static std::string dir;
    static void SetUpTestSuite()
    {
        std::string tmpl = ::testing::TempDir() + "npg_compare_h5_XXXXXX";
        char *d = mkdtemp(&tmpl[0]);
        ASSERT_NE(d, nullptr);
        dir = d;
        FILE *f = std::fopen((dir + "/c.yaml").c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("system: {preset: pt-acac}\n"
                   "supply: {mode: schedule, supersaturation: [[0, 3.5], [4, 3.5]]}\n"
                   "initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}\n"
                   "run: {particles: 2000, t_end: 4, output_every: 1, seed: 7}\n",
                   f);
        std::fclose(f);
        for (const char *cmd : {"run", "me"}) {
            std::string c = std::string("'") + NPGROW_BINARY + "' " + cmd + " '" + dir +
                            "/c.yaml' --quiet -o '" + dir + "/" + cmd + "'";
            ASSERT_EQ(exit_status(c), 0) << c;
        }
    }
    static void TearDownTestSuite()
    {
        if (!dir.empty())
            exit_status("rm -rf '" + dir + "'");
    }
};
std::string CompareH5::dir;

void expect_same_result(const npg_result &a, const npg_result &b)
{
    EXPECT_STREQ(a.producer, b.producer);
    EXPECT_EQ(a.stochastic, b.stochastic);
    EXPECT_STREQ(a.status, b.status);
    EXPECT_TRUE(same(a.t_reached, b.t_reached)) << a.t_reached << " " << b.t_reached;
    EXPECT_TRUE(same(a.t_end, b.t_end)) << a.t_end << " " << b.t_end;
    ASSERT_EQ(a.nt, b.nt);
    for (size_t i = 0; i < a.nt; ++i) {
        EXPECT_TRUE(same(a.t[i], b.t[i])) << i;
        EXPECT_TRUE(same(a.particles[i], b.particles[i])) << i;
        for (int q = 0; q <= 10; ++q)
            EXPECT_TRUE(same(a.m[11 * i + q], b.m[11 * i + q]))
                << "t " << a.t[i] << " q " << q << ": " << a.m[11 * i + q] << " "
                << b.m[11 * i + q];
    }
    ASSERT_EQ(a.nh, b.nh);
    for (size_t i = 0; i < a.nh; ++i) {
        EXPECT_TRUE(same(a.ht[i], b.ht[i])) << i;
        EXPECT_EQ(a.lo[i], b.lo[i]) << i;
        EXPECT_EQ(a.hi[i], b.hi[i]) << i;
        EXPECT_TRUE(same(a.count[i], b.count[i])) << i;
    }
}

} // namespace

TEST_F(CompareH5, RunH5ReadsAsItsCsvFiles)
{
    char err[1024];
    for (const char *side : {"run", "me"}) {
        std::string d = dir + "/" + side;
        npg_result c{}, h{};
        ASSERT_EQ(npg_result_load(d.c_str(), &c, err, sizeof err), 0) << err;
        ASSERT_EQ(npg_result_load((d + "/run.h5").c_str(), &h, err, sizeof err), 0) << err;
        EXPECT_STREQ(c.producer, side);
        EXPECT_STREQ(c.status, "complete");
        EXPECT_EQ(c.nt, 5u);
        EXPECT_GT(c.nh, 10u);
        expect_same_result(c, h);
        npg_result_free(&c);
        npg_result_free(&h);
    }
}

TEST_F(CompareH5, DirectoryWithOnlyRunH5)
{
    // the CSV files gone: the directory is read from run.h5
    std::string only = dir + "/only";
    ASSERT_EQ(exit_status("mkdir -p '" + only + "' && cp '" + dir + "/run/run.h5' '" + only + "/'"),
              0);
    char err[1024];
    npg_result c{}, h{};
    ASSERT_EQ(npg_result_load((dir + "/run").c_str(), &c, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_result_load(only.c_str(), &h, err, sizeof err), 0) << err;
    expect_same_result(c, h);
    npg_result_free(&c);
    npg_result_free(&h);
}

TEST_F(CompareH5, ComparisonIsTheSameFromEitherSource)
{
    char err[1024];
    npg_result ca{}, cb{}, ha{}, hb{};
    ASSERT_EQ(npg_result_load((dir + "/run").c_str(), &ca, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_result_load((dir + "/me").c_str(), &cb, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_result_load((dir + "/run/run.h5").c_str(), &ha, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_result_load((dir + "/me/run.h5").c_str(), &hb, err, sizeof err), 0) << err;
    npg_compare_options o = {3.0, 5.0, 1e-3, 1e-6, 0};
    npg_compare_result rc{}, rh{};
    ASSERT_EQ(npg_compare(&ca, &cb, &o, &rc, err, sizeof err), 0) << err;
    ASSERT_EQ(npg_compare(&ha, &hb, &o, &rh, err, sizeof err), 0) << err;
    EXPECT_EQ(rc.mode, NPG_COMPARE_ONE_SAMPLE);
    EXPECT_EQ(rc.mode, rh.mode);
    EXPECT_EQ(rc.tested, rh.tested);
    EXPECT_EQ(rc.pass, rh.pass);
    EXPECT_EQ(rc.inconclusive, rh.inconclusive);
    EXPECT_EQ(rc.partial, rh.partial);
    ASSERT_EQ(rc.n, 5u);
    ASSERT_EQ(rc.n, rh.n);
    for (size_t i = 0; i < rc.n; ++i) {
        const npg_compare_row &x = rc.rows[i], &y = rh.rows[i];
        EXPECT_TRUE(same(x.t, y.t) && same(x.Z, y.Z) && same(x.Y, y.Y) &&
                    same(x.Y_normal, y.Y_normal) && same(x.L1, y.L1) && same(x.KS, y.KS) &&
                    same(x.KS_crit, y.KS_crit) && same(x.n_a, y.n_a) && same(x.n_b, y.n_b))
            << "row " << i << " t " << x.t;
        for (int q = 1; q <= 10; ++q)
            EXPECT_TRUE(same(x.rel[q], y.rel[q])) << "row " << i << " q " << q;
        EXPECT_EQ(x.tested, y.tested);
        EXPECT_EQ(x.pass, y.pass);
    }
    EXPECT_EQ(npg_compare_exit_status(&rc), npg_compare_exit_status(&rh));
    npg_compare_result_free(&rc);
    npg_compare_result_free(&rh);
    npg_result_free(&ca);
    npg_result_free(&cb);
    npg_result_free(&ha);
    npg_result_free(&hb);
}

TEST_F(CompareH5, BadFilesExit2WithAMessage)
{
    std::string bad = dir + "/bad";
    ASSERT_EQ(exit_status("mkdir -p '" + bad + "/trunc' '" + bad + "/text' '" + bad + "/foreign'"),
              0);
    // truncated: the first 4 kB of a real run.h5
    ASSERT_EQ(exit_status("head -c 4096 '" + dir + "/run/run.h5' > '" + bad + "/trunc/run.h5'"), 0);
    // not HDF5 at all, named run.h5
    FILE *f = std::fopen((bad + "/text/run.h5").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("t,particles\n1,2\n", f);
    std::fclose(f);
    // HDF5, but not npgrow's: one group
    hid_t file =
        H5Fcreate((bad + "/foreign/run.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    hid_t g = H5Gcreate2(file, "observables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(file);

    const struct {
        const char *sub, *why;
    } cases[] = {{"trunc", "truncated"},
                 {"text", "not an HDF5 file"},
                 {"foreign", "/parameters/run_yaml: missing"}};
    for (const auto &c : cases) {
        std::string d = bad + "/" + c.sub, file_path = d + "/run.h5";
        for (const std::string &arg : {d, file_path}) { // the directory, and the file by name
            npg_result r{};
            char err[1024] = "";
            EXPECT_EQ(npg_result_load(arg.c_str(), &r, err, sizeof err), NPG_EXIT_USAGE) << arg;
            EXPECT_NE(std::string(err).find(file_path), std::string::npos) << err;
            EXPECT_NE(std::string(err).find(c.why), std::string::npos) << err;
        }
        std::string cmd = std::string("'") + NPGROW_BINARY + "' compare '" + d + "' '" + dir +
                          "/me' -q -o '" + bad + "/x.csv' 2>'" + bad + "/err.txt'";
        EXPECT_EQ(exit_status(cmd), NPG_EXIT_USAGE) << cmd;
        FILE *e = std::fopen((bad + "/err.txt").c_str(), "r");
        ASSERT_NE(e, nullptr);
        char line[2048] = "";
        EXPECT_NE(std::fgets(line, sizeof line, e), nullptr);
        std::fclose(e);
        EXPECT_NE(std::string(line).find("npgrow compare: " + file_path + ": "), std::string::npos)
            << line;
        EXPECT_EQ(std::string(line).find("HDF5-DIAG"), std::string::npos) << line;
    }
}
