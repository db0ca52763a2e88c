// test_predict.cpp: npgrow predict (host/data/predict.c) on runs of npgrow itself with a known
// S(t). The built binary makes the synthetic data (trajectories.csv of all 200 particles of a
// pt-acac run under 3.5 -> 2 -> 3.5) and predicts it with 200 replicas:
//   Truth: with the true schedule (--schedule), the observed mean and variance lie inside the
//     prediction's 95 % band at >= 85 % of the frames (the nominal rate is 95 %; frames are
//     correlated, so the tolerance is wide), and the observed value at t = 0 is the prediction
//     (every particle starts at its observed size).
//   Wrong S: the same schedule x 1.2 puts the observed mean inside at < 30 % of the frames.
//   Threads: --threads 1 and 2 write the same prediction.csv byte for byte.
//   Inferred S: without --schedule the inferred S(t) also covers the mean at >= 85 % of frames.
//   Ex situ (two levels of sampling: the first sample bootstrapped, each later time drawn
//     again): the same run with 1500 particles, radii of disjoint sets of 300 particles at
//     t = 0, 15, 30, 45, 60 s written as an ex-situ radii file and imported: with the true
//     schedule the observed mean and variance lie inside the 95 % band at >= 4 of the 5 times,
//     with S x 1.2 the mean lies outside at every time after the first; without --schedule
//     the one constant S fitted to the sample means (truth: 3.5 -> 2 -> 3.5, time-average 2.9)
//     lies within [2, 3.5].
//   Bad input: a directory without trajectories.csv (ex situ), --replicas 0, a --schedule
//     config that is not supply mode schedule: exit 2, nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <sys/wait.h>

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

std::string slurp(const std::string &path)
{
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// summary.csv: quantity -> (frames, fraction inside the 95 % band)
std::map<std::string, std::pair<int, double>> summary(const std::string &dir)
{
    std::map<std::string, std::pair<int, double>> m;
    std::ifstream f(dir + "/summary.csv");
    std::string line;
    std::getline(f, line);
    while (std::getline(f, line)) {
        char q[32];
        int frames, inside;
        double frac;
        if (std::sscanf(line.c_str(), "%31[^,],%d,%d,%lf", q, &frames, &inside, &frac) == 4)
            m[q] = {frames, frac};
    }
    return m;
}

const char *const kSched = "supply: {mode: schedule, supersaturation: [[0, %g], [20, %g], "
                           "[25, %g], [40, %g], [45, %g], [60, %g]]}\n";

std::string config(double f)
{
    char s[512];
    std::snprintf(s, sizeof s, kSched, 3.5 * f, 3.5 * f, 2.0 * f, 2.0 * f, 3.5 * f, 3.5 * f);
    return std::string("system: {preset: pt-acac}\n") + s +
           "run: {particles: 200, t_end: 60, output_every: 1, seed: 7}\n"
           "initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}\n"
           "output: {trajectories: 200, hdf5: false}\n";
}

class Predict : public ::testing::Test
{
  protected:
    static std::string dir;
    static void SetUpTestSuite()
    {
        std::string tmpl = ::testing::TempDir() + "npg_predict_XXXXXX";
        char *d = mkdtemp(&tmpl[0]);
        ASSERT_NE(d, nullptr);
        dir = d;
        write_file(dir + "/true.yaml", config(1.0));
        write_file(dir + "/wrong.yaml", config(1.2));
        std::string cmd = std::string("'") + NPGROW_BINARY + "' run '" + dir +
                          "/true.yaml' --quiet -o '" + dir + "/data'";
        ASSERT_EQ(exit_status(cmd), 0) << cmd;
    }
    static void TearDownTestSuite() { std::system(("rm -rf '" + dir + "'").c_str()); }
    static int predict(const std::string &out, const std::string &extra)
    {
        std::string cmd = std::string("'") + NPGROW_BINARY + "' predict '" + dir + "/data' '" +
                          dir + "/true.yaml' -q --replicas 200 --force -o '" + dir + "/" + out +
                          "' " + extra;
        return exit_status(cmd);
    }
};
std::string Predict::dir;

TEST_F(Predict, TrueScheduleCoversTheData)
{
    ASSERT_EQ(predict("p_true", "--no-me --schedule '" + dir + "/true.yaml'"), 0);
    auto s = summary(dir + "/p_true");
    ASSERT_EQ(s["mean_n"].first, 61);
    EXPECT_GE(s["mean_n"].second, 0.85);
    EXPECT_GE(s["var_n"].second, 0.85);
    // t = 0: the prediction is the data (first row: t = 0, mean_n; pred_mean and obs equal)
    std::ifstream f(dir + "/p_true/prediction.csv");
    std::string head, row;
    std::getline(f, head);
    std::getline(f, row);
    double t, particles, pp, pm, lo95, lo68, hi68, hi95, obs;
    char q[32];
    ASSERT_EQ(std::sscanf(row.c_str(), "%lf,%31[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &t, q,
                          &particles, &pp, &pm, &lo95, &lo68, &hi68, &hi95, &obs),
              10);
    EXPECT_EQ(t, 0.0);
    EXPECT_STREQ(q, "mean_n");
    EXPECT_EQ(particles, 200.0);
    EXPECT_DOUBLE_EQ(pm, obs);
    EXPECT_DOUBLE_EQ(lo95, obs);
    EXPECT_DOUBLE_EQ(hi95, obs);
}

TEST_F(Predict, WrongScheduleMissesTheData)
{
    ASSERT_EQ(predict("p_wrong", "--no-me --schedule '" + dir + "/wrong.yaml'"), 0);
    auto s = summary(dir + "/p_wrong");
    EXPECT_LT(s["mean_n"].second, 0.30);
}

TEST_F(Predict, IndependentOfThreads)
{
    ASSERT_EQ(predict("p_t1", "--no-me --threads 1 --schedule '" + dir + "/true.yaml'"), 0);
    ASSERT_EQ(predict("p_t2", "--no-me --threads 2 --schedule '" + dir + "/true.yaml'"), 0);
    std::string a = slurp(dir + "/p_t1/prediction.csv");
    EXPECT_GT(a.size(), 1000u);
    EXPECT_EQ(a, slurp(dir + "/p_t2/prediction.csv"));
}

TEST_F(Predict, InferredScheduleCoversTheMean)
{
    ASSERT_EQ(predict("p_inf", "--no-me"), 0);
    auto s = summary(dir + "/p_inf");
    EXPECT_GE(s["mean_n"].second, 0.85);
}

TEST_F(Predict, ExSitu)
{
    write_file(dir + "/big.yaml", [] {
        std::string c = config(1.0);
        c.replace(c.find("particles: 200"), 14, "particles: 1500");
        c.replace(c.find("trajectories: 200"), 17, "trajectories: 1500");
        return c;
    }());
    std::string bin = std::string("'") + NPGROW_BINARY + "'";
    ASSERT_EQ(exit_status(bin + " run '" + dir + "/big.yaml' --quiet -o '" + dir + "/big'"), 0);
    // radii[k][j]: particle 300 k + j at t = 15 k
    const int times[5] = {0, 15, 30, 45, 60};
    std::vector<std::vector<std::string>> radii(5);
    std::ifstream f(dir + "/big/trajectories.csv");
    std::string line;
    std::getline(f, line);
    while (std::getline(f, line)) {
        double t, n;
        long id;
        char r[64];
        if (std::sscanf(line.c_str(), "%lf,%ld,%lf,%63s", &t, &id, &n, r) != 4)
            continue;
        int k = (int)(id / 300);
        if (k < 5 && t == times[k])
            radii[k].push_back(r);
    }
    std::string csv = "0,15,30,45,60\n";
    for (size_t j = 0; j < 300; ++j)
        for (int k = 0; k < 5; ++k)
            csv += (j < radii[k].size() ? radii[k][j] : "") + (k < 4 ? "," : "\n");
    write_file(dir + "/radii.csv", csv);
    ASSERT_EQ(exit_status(bin + " data import radii '" + dir + "/radii.csv' --system '" + dir +
                          "/true.yaml' -q --resamples 200 -o '" + dir + "/ex'"),
              0);
    auto run = [&](const std::string &out, const std::string &extra) {
        return exit_status(bin + " predict '" + dir + "/ex' '" + dir +
                           "/true.yaml' -q --replicas 100 --force -o '" + dir + "/" + out + "' " +
                           extra);
    };
    ASSERT_EQ(run("ex_true", "--schedule '" + dir + "/true.yaml'"), 0);
    auto s = summary(dir + "/ex_true");
    ASSERT_EQ(s["mean_n"].first, 5);
    EXPECT_GE(s["mean_n"].second, 0.8);
    EXPECT_GE(s["var_n"].second, 0.8);
    ASSERT_EQ(run("ex_wrong", "--no-me --schedule '" + dir + "/wrong.yaml'"), 0);
    EXPECT_LE(summary(dir + "/ex_wrong")["mean_n"].second, 0.2);
    ASSERT_EQ(run("ex_inf", "--no-me"), 0);
    std::string y = slurp(dir + "/ex_inf/run.yaml");
    size_t at = y.find("schedule:");
    ASSERT_NE(at, std::string::npos);
    double t0, s0;
    ASSERT_EQ(std::sscanf(y.c_str() + y.find("- [", at), "- [%lf, %lf]", &t0, &s0), 2);
    EXPECT_GE(s0, 2.0);
    EXPECT_LE(s0, 3.5);
}

TEST_F(Predict, BadInput)
{
    struct stat sb;
    mkdir((dir + "/exsitu").c_str(), 0755);
    write_file(dir + "/exsitu/run.yaml", "# npgrow data import\ntime_unit: s\n");
    std::string base = std::string("'") + NPGROW_BINARY + "' predict ";
    EXPECT_EQ(exit_status(base + "'" + dir + "/exsitu' '" + dir + "/true.yaml' -q -o '" + dir +
                          "/bad1' 2>/dev/null"),
              2);
    EXPECT_NE(stat((dir + "/bad1").c_str(), &sb), 0);
    EXPECT_EQ(exit_status(base + "'" + dir + "/data' '" + dir + "/true.yaml' -q --replicas 0 -o '" +
                          dir + "/bad2' 2>/dev/null"),
              2);
    write_file(dir + "/closed.yaml",
               "system: {preset: pt-acac}\n"
               "supply: {mode: closed, particle_density_nm3: 1e-6, solubility_nm3: 0.01, "
               "initial_supersaturation: 3}\n"
               "run: {particles: 200, t_end: 60, output_every: 1}\n"
               "initial: {kind: monodisperse, n: 100}\n");
    EXPECT_EQ(exit_status(base + "'" + dir + "/data' '" + dir + "/true.yaml' -q --schedule '" +
                          dir + "/closed.yaml' -o '" + dir + "/bad3' 2>/dev/null"),
              2);
    EXPECT_NE(stat((dir + "/bad3").c_str(), &sb), 0);
}

// prediction.csv as rows of column -> value (empty cells: NaN)
std::vector<std::map<std::string, double>> rows_of(const std::string &path,
                                                   std::vector<std::string> *quantity)
{
    std::vector<std::map<std::string, double>> rows;
    std::ifstream f(path);
    std::string line, cell;
    std::getline(f, line);
    std::vector<std::string> head;
    std::stringstream hs(line);
    while (std::getline(hs, cell, ','))
        head.push_back(cell);
    while (std::getline(f, line)) {
        std::map<std::string, double> r;
        std::stringstream ls(line + ",");
        for (size_t k = 0; k < head.size() && std::getline(ls, cell, ','); ++k) {
            if (head[k] == "quantity")
                quantity->push_back(cell);
            else
                r[head[k]] = cell.empty() ? NAN : std::atof(cell.c_str());
        }
        rows.push_back(r);
    }
    return rows;
}

// The master-equation columns against the replicas they are the limit of: 40 particles of a
// pt-acac run (none dissolves), 1000 replicas. Without dissolution the count of present
// particles s_0 is fixed, so the replica averages of mean_n, var_n and m3..m10 have exactly the
// master equation's values as expectation (var_n through the independent-particle term); m_qn =
// m_q/<n>^q is a ratio, its replica average differs by O(1/N) (measured below the standard
// error here). |z| = |replica mean - ME| / (replica sd / sqrt(R)) < 5 at every frame with t > 0
// (61 x 18 correlated comparisons); the expected count of present particles equals the data's;
// --threads 1 and 2 write the same prediction.csv.
TEST(PredictMe, ReplicasConvergeToTheMasterEquation)
{
    std::string tmpl = ::testing::TempDir() + "npg_predme_XXXXXX";
    char *d = mkdtemp(&tmpl[0]);
    ASSERT_NE(d, nullptr);
    const std::string dir = d, bin = std::string("'") + NPGROW_BINARY + "'";
    write_file(dir + "/c.yaml",
               "system: {preset: pt-acac}\n"
               "supply: {mode: schedule, supersaturation: [[0, 3.5], [10, 3.5], [15, 2.5], "
               "[30, 3.0]]}\n"
               "run: {particles: 40, t_end: 30, output_every: 0.5, seed: 3}\n"
               "initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}\n"
               "output: {trajectories: 40, hdf5: false}\n");
    ASSERT_EQ(exit_status(bin + " run '" + dir + "/c.yaml' --quiet -o '" + dir + "/data'"), 0);
    const int R = 1000;
    for (int th : {1, 2})
        ASSERT_EQ(exit_status(bin + " predict '" + dir + "/data' '" + dir +
                              "/c.yaml' --schedule '" + dir +
                              "/c.yaml' -q --replicas 1000 --threads " + std::to_string(th) +
                              " -o '" + dir + "/p" + std::to_string(th) + "'"),
                  0);
    std::string a = slurp(dir + "/p1/prediction.csv");
    EXPECT_EQ(a, slurp(dir + "/p2/prediction.csv"));
    EXPECT_NE(slurp(dir + "/p1/run.yaml").find("dissolved_per_replica: 0 "), std::string::npos);
    std::vector<std::string> q;
    auto rows = rows_of(dir + "/p1/prediction.csv", &q);
    ASSERT_EQ(rows.size(), 61u * 18u);
    std::map<std::string, double> worst;
    for (size_t i = 0; i < rows.size(); ++i) {
        auto &r = rows[i];
        EXPECT_NEAR(r["me_particles"], r["particles"], 1e-6) << "t = " << r["t"];
        if (r["t"] == 0) {
            EXPECT_NEAR(r["me"], r["obs"], 1e-9 * std::fabs(r["obs"])) << q[i];
            continue;
        }
        ASSERT_GT(r["pred_sd"], 0) << q[i] << " t = " << r["t"];
        double z = (r["pred_mean"] - r["me"]) / (r["pred_sd"] / std::sqrt((double)R));
        EXPECT_LT(std::fabs(z), 5.0) << q[i] << " at t = " << r["t"];
        worst[q[i]] = std::fmax(worst[q[i]], std::fabs(z));
    }
    std::printf("max |z| over 60 frames:");
    for (auto &w : worst)
        std::printf(" %s %.2f", w.first.c_str(), w.second);
    std::printf("\n");
    std::system(("rm -rf '" + dir + "'").c_str());
}

// One particle: the ME columns are that particle's master equation, the same as `npgrow me` of
// one particle started at its size under the same schedule (mean_n and m3..m10 within 1e-4
// relative: the per-particle tolerances are rtol 1e-5, npgrow me's 1e-10), and var_n is 0
// (the population variance of one particle, in the replicas as in the master equation).
TEST(PredictMe, OneParticleIsItsMasterEquation)
{
    std::string tmpl = ::testing::TempDir() + "npg_predme1_XXXXXX";
    char *d = mkdtemp(&tmpl[0]);
    ASSERT_NE(d, nullptr);
    const std::string dir = d, bin = std::string("'") + NPGROW_BINARY + "'";
    write_file(dir + "/c.yaml", "system: {preset: pt-acac}\n"
                                "supply: {mode: schedule, supersaturation: [[0, 3.5], [4, 2.0], "
                                "[10, 3.0]]}\n"
                                "initial: {kind: monodisperse, n: 300}\n"
                                "run: {particles: 1, t_end: 10, output_every: 1}\n");
    mkdir((dir + "/data").c_str(), 0755);
    write_file(dir + "/data/run.yaml", "time_unit: s\n");
    std::string tr = "t,id,n,r_nm\n";
    for (int t = 0; t <= 10; ++t)
        tr += std::to_string(t) + ",0,300,1.04\n";
    write_file(dir + "/data/trajectories.csv", tr);
    ASSERT_EQ(exit_status(bin + " me '" + dir + "/c.yaml' -q -o '" + dir + "/me'"), 0);
    ASSERT_EQ(exit_status(bin + " predict '" + dir + "/data' '" + dir + "/c.yaml' --schedule '" +
                          dir + "/c.yaml' -q --replicas 20 -o '" + dir + "/p'"),
              0);
    std::vector<std::string> q, mq;
    auto rows = rows_of(dir + "/p/prediction.csv", &q);
    auto me = rows_of(dir + "/me/moments.csv", &mq);
    ASSERT_EQ(me.size(), 11u);
    ASSERT_EQ(rows.size(), 11u * 18u);
    int checked = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        auto &r = rows[i];
        const auto &m = me[(size_t)r["t"]];
        ASSERT_EQ(m.at("t"), r["t"]);
        if (q[i] == "var_n") {
            EXPECT_LE(std::fabs(r["me"]), 1e-9 * m.at("m2")) << "t = " << r["t"];
            EXPECT_EQ(r["pred_mean"], 0.0);
            continue;
        }
        if (!m.count(q[i]))
            continue;
        EXPECT_NEAR(r["me"] / m.at(q[i]), 1.0, 1e-4) << q[i] << " at t = " << r["t"];
        ++checked;
    }
    EXPECT_EQ(checked, 11 * 9);
    std::system(("rm -rf '" + dir + "'").c_str());
}

} // namespace
