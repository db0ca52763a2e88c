// test_config.cpp: the YAML configuration layer (host/config.c).
//
// Every shipped config loads with the Table-1 numbers of model.md 1.8; presets and inline
// overrides combine; each bad fixture in tests/data/config/ fails with exit status 2 and a
// "file:line:column: key: value: ..." message; schedule interpolation, the lognormal init view
// and the YAML writer's round trip are checked exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

#include "npgrow/config.h"

namespace
{

const std::string kSrc = NPGROW_SOURCE_DIR;
const std::string kData = kSrc + "/tests/data/config/";

struct Loaded {
    npg_config cfg;
    int rc;
    std::string err;
    explicit Loaded(const std::string &path)
    {
        char buf[2048];
        rc = npg_config_load(path.c_str(), &cfg, buf, sizeof buf);
        err = buf;
    }
    ~Loaded() { npg_config_free(&cfg); }
};

struct Table1 {
    const char *file;
    double def, dee, ap, lam, K, delta, sigma;
    const char *unit;
};

// model.md 1.8 (Table 1) and 1.7 (sigma_s; iron oxide and CdSe: middle of the fit bounds).
const Table1 kTable1[] = {
    {"pt-acac", 3.04, -1.35, 6.50, 0.171, 1.40, 1.76, 0.155672, "s"},
    {"pt-cod", 3.04, -1.35, 6.50, 0.171, 1.40, 1.62, 0.155672, "s"},
    {"pt-exsitu", 3.46, -3.07, 7.13, 3.11e-2, 4.72e-2, 1.73, 0.155672, "min"},
    {"au", 5.45, -4.06, 8.72, 0.424, 2.43, 1.70, 0.159342, "s"},
    {"iron-oxide", 2.08, -3.17, 4.06, 6.45e-2, 3.98e-3, 1.67, 0.35, "min"},
    {"cdse", 1.24, -1.66, 4.17, 5.03e-2, 7.68e-3, 1.70, 0.25, "min"},
    {"pt-acac-closed", 3.04, -1.35, 6.50, 0.171, 1.40, 1.76, 0.155672, "s"},
    {"pt-acac-precursor", 3.04, -1.35, 6.50, 0.171, 1.40, 1.76, 0.155672, "s"},
};

void expect_table1(const npg_config &c, const Table1 &t)
{
    EXPECT_EQ(c.model.d_eps_f, t.def) << t.file;
    EXPECT_EQ(c.model.d_eps_e, t.dee) << t.file;
    EXPECT_EQ(c.model.ap, t.ap) << t.file;
    EXPECT_EQ(c.model.lam, t.lam) << t.file;
    EXPECT_EQ(c.model.K, t.K) << t.file;
    EXPECT_EQ(c.model.delta, t.delta) << t.file;
    EXPECT_EQ(c.model.sigma_s, t.sigma) << t.file;
    EXPECT_STREQ(c.time_unit, t.unit) << t.file;
}

} // namespace

TEST(Config, EveryShippedConfigLoadsWithTable1Values)
{
    for (const Table1 &t : kTable1) {
        Loaded l(kSrc + "/configs/" + t.file + ".yaml");
        ASSERT_EQ(l.rc, 0) << l.err;
        expect_table1(l.cfg, t);
        EXPECT_STREQ(l.cfg.name, t.file);
        EXPECT_GE(l.cfg.particles, 10000u);
        EXPECT_GT(l.cfg.t_end, 0.0);
        EXPECT_EQ(l.cfg.init_kind, NPG_INIT_LOGNORMAL_R) << t.file;
    }
}

TEST(Config, DemoIsMultiphasic)
{
    Loaded l(kSrc + "/configs/pt-acac.yaml");
    ASSERT_EQ(l.rc, 0) << l.err;
    const npg_config &c = l.cfg;
    EXPECT_EQ(c.supply, NPG_SUPPLY_SCHEDULE);
    EXPECT_EQ(c.particles, 100000u);
    EXPECT_EQ(c.t_end, 180.0);
    EXPECT_LE(c.output_every, 2.0);
    // max mu_n over n >= 20 (model.md 1.8): the demo must cross it both ways.
    double mu_max = -1e300;
    for (int n = 20; n <= 100000; ++n)
        mu_max = std::fmax(mu_max, npg_model_mu(&c.model, n));
    EXPECT_NEAR(mu_max, 0.913871, 1e-6); // the number documented in pt-acac.yaml
    int phase_changes = 0, last = -1;
    bool saw_super = false;
    for (double t = 0.0; t <= c.t_end; t += 0.5) {
        double ls = std::log(npg_config_schedule_s(&c, t));
        int ph = ls > mu_max ? 2 : (ls > 0.0 ? 1 : 0);
        saw_super |= ph == 1;
        if (last >= 0 && ph != last)
            ++phase_changes;
        last = ph;
    }
    EXPECT_TRUE(saw_super);
    EXPECT_EQ(phase_changes, 2); // hyper -> super -> hyper
    EXPECT_EQ(npg_config_schedule_s(&c, 0.0), 3.5);
    EXPECT_EQ(npg_config_schedule_s(&c, 75.0), 2.0);
    EXPECT_EQ(npg_config_schedule_s(&c, 180.0), 3.5);
}

TEST(Config, ClosedAndPrecursorPresetsResolve)
{
    Loaded c(kSrc + "/configs/pt-acac-closed.yaml");
    ASSERT_EQ(c.rc, 0) << c.err;
    EXPECT_STREQ(c.cfg.preset, "pt-acac");
    EXPECT_EQ(c.cfg.supply, NPG_SUPPLY_CLOSED);
    EXPECT_EQ(c.cfg.particle_density_nm3, 1e-6);
    EXPECT_EQ(c.cfg.volume_nm3, 0.0);
    EXPECT_EQ(c.cfg.solubility_nm3, 5e-4);
    EXPECT_EQ(c.cfg.initial_supersaturation, 4.0);
    EXPECT_EQ(c.cfg.tolerance, 0.01);
    EXPECT_EQ(c.cfg.schedule_len, 0u);
    EXPECT_EQ(npg_config_schedule_s(&c.cfg, 50.0), 4.0); // non-schedule: S at t = 0

    Loaded p(kSrc + "/configs/pt-acac-precursor.yaml");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.cfg.supply, NPG_SUPPLY_PRECURSOR);
    EXPECT_EQ(p.cfg.precursor_nm3, 2e-3);
    EXPECT_EQ(p.cfg.k_p, 0.02);
}

TEST(Config, PresetWithInlineOverrides)
{
    Loaded l(kData + "good_override.yaml");
    ASSERT_EQ(l.rc, 0) << l.err;
    const npg_config &c = l.cfg;
    EXPECT_STREQ(c.preset, "pt-acac");
    EXPECT_STREQ(c.name, "pt-acac");  // the preset's own name, not overridden
    EXPECT_EQ(c.model.delta, 1.5);    // inline
    EXPECT_EQ(c.model.K, 2.0);        // inline
    EXPECT_EQ(c.model.d_eps_f, 3.04); // from the preset
    EXPECT_EQ(c.model.sigma_s, 0.155672);
    EXPECT_STREQ(c.time_unit, "s");
    EXPECT_EQ(c.supply, NPG_SUPPLY_PRECURSOR);
    EXPECT_EQ(c.volume_nm3, 1e11);
    EXPECT_EQ(c.k_p, 0.05);
    EXPECT_EQ(c.init_kind, NPG_INIT_NORMAL_R);
    EXPECT_EQ(c.seed, 4294967295u);
    EXPECT_EQ(c.n_table, 4096u);
    EXPECT_EQ(c.hist_bin_width, 0u);
    EXPECT_EQ(c.hist_log_ratio, 1.1);
    EXPECT_EQ(c.trajectories, 0u);
    EXPECT_EQ(c.me_n_max, 30000u);
    EXPECT_EQ(c.me_resolution, 512u);
}

TEST(Config, PresetNextToTheConfigWinsAndDefaultsApply)
{
    Loaded l(kData + "good_local_preset.yaml");
    ASSERT_EQ(l.rc, 0) << l.err;
    EXPECT_STREQ(l.cfg.preset, "local-sys");
    EXPECT_STREQ(l.cfg.name, "local");
    EXPECT_EQ(l.cfg.model.d_eps_f, 1.0);
    EXPECT_EQ(l.cfg.model.sigma_s, 0.2);
    EXPECT_STREQ(l.cfg.time_unit, "min");
    // defaults of the optional keys and sections
    EXPECT_EQ(l.cfg.n_table, 65536u);
    EXPECT_EQ(l.cfg.hist_bin_width, 50u);
    EXPECT_EQ(l.cfg.hist_log_ratio, 0.0);
    EXPECT_EQ(l.cfg.trajectories, 200u);
    EXPECT_EQ(l.cfg.me_n_max, 0u);
    EXPECT_EQ(l.cfg.me_resolution, NPG_ME_RESOLUTION);
    EXPECT_EQ(l.cfg.seed, 7u);

    Loaded g(kData + "good_inline.yaml");
    ASSERT_EQ(g.rc, 0) << g.err;
    EXPECT_STREQ(g.cfg.preset, "");
    EXPECT_STREQ(g.cfg.name, "good_inline"); // the file stem
    EXPECT_EQ(g.cfg.init_kind, NPG_INIT_MONODISPERSE);
    EXPECT_EQ(g.cfg.init_n, 300u);
}

namespace
{
struct BadCase {
    const char *file;
    const char *where; // "file:line:column: key: value:"
    const char *what;  // a piece of "what is allowed"
};

const BadCase kBad[] = {
    {"bad_unknown_key.yaml", "bad_unknown_key.yaml:9:3: system.d_eps_x: 1:", "unknown key"},
    {"bad_missing_key.yaml", "bad_missing_key.yaml:15:1: run.t_end: (missing):", "required"},
    {"bad_wrong_type.yaml", "bad_wrong_type.yaml:7:18: system.kappa_rho_inf: fast:", "wrong type"},
    {"bad_quoted_number.yaml",
     "bad_quoted_number.yaml:7:18: system.kappa_rho_inf: 1.40:", "quoted string"},
    {"bad_delta.yaml", "bad_delta.yaml:8:10: system.delta: 2.5:", "[1, 2]"},
    {"bad_delta_low.yaml", "bad_delta_low.yaml:8:10: system.delta: 0.5:", "negative"},
    {"bad_sigma.yaml", "bad_sigma.yaml:9:15: system.sigma_s_nm: 0:", "in (0, 10]"},
    {"bad_negative_rate.yaml",
     "bad_negative_rate.yaml:6:23: system.kappa_sigma_over_D: -0.1:", "in [0, 1e6]"},
    {"bad_ap.yaml", "bad_ap.yaml:5:17: system.alpha_plus_4: 3.9:", "in [4, 100]"},
    {"bad_schedule_order.yaml",
     "bad_schedule_order.yaml:13:43: supply.supersaturation[2][0]: 10:", "strictly increasing"},
    {"bad_negative_s.yaml",
     "bad_negative_s.yaml:13:35: supply.supersaturation[1][1]: -2:", "S in [0, 1e6]"},
    {"bad_schedule_pair.yaml",
     "bad_schedule_pair.yaml:13:31: supply.supersaturation[1]: (a sequence):", "[t, S]"},
    {"bad_enum.yaml", "bad_enum.yaml:12:9: supply.mode: open:", "schedule closed precursor"},
    {"bad_time_unit.yaml", "bad_time_unit.yaml:10:14: system.time_unit: h:", "s min"},
    {"bad_missing_file.yaml",
     "bad_missing_file.yaml:14:34: initial.file: nope.csv:", "cannot open"},
    {"bad_syntax.yaml", "bad_syntax.yaml:14:1: (syntax):", "valid YAML"},
    {"bad_missing_preset.yaml",
     "bad_missing_preset.yaml:3:11: system.preset: nosuch:", "nosuch.yaml"},
    {"bad_preset_value.yaml",
     "preset_bad_inner.yaml:7:18: system.kappa_rho_inf: -1:", "in [0, 1e6]"},
    {"bad_both_volume.yaml",
     "bad_both_volume.yaml:14:25: supply.particle_density_nm3: 1.0e-6:", "exactly one"},
    {"bad_unused_key.yaml",
     "bad_unused_key.yaml:13:19: supply.solubility_nm3: 5.0e-4:", "not used with mode: schedule"},
    {"bad_output_every.yaml", "bad_output_every.yaml:15:49: run.output_every: 20:", "<= t_end"},
    {"bad_particles_fraction.yaml",
     "bad_particles_fraction.yaml:15:18: run.particles: 1.5:", "integer"},
    {"bad_seed.yaml", "bad_seed.yaml:15:58: run.seed: 4294967296:", "2^32 - 1"},
    {"bad_duplicate.yaml", "bad_duplicate.yaml:9:3: system.delta: 1.5:", "duplicate key"},
    {"bad_missing_section.yaml",
     "bad_missing_section.yaml:2:1: run: (missing):", "required section"},
    {"bad_unknown_section.yaml",
     "bad_unknown_section.yaml:15:1: plot: (a mapping):", "unknown key"},
    {"bad_tiny_particles.yaml",
     "bad_tiny_particles.yaml:14:39: initial.mean_r_nm: 0.05:", "P(2 <= n < 4e9)"},
    {"bad_monodisperse_n1.yaml", "bad_monodisperse_n1.yaml:14:34: initial.n: 1:", ">= 2"},
    {"bad_hist_header.yaml", "bad_header.csv:1:1: initial.file: size,weight:", "n,count"},
    {"bad_hist_order.yaml", "bad_order.csv:4:1: initial.file: 200:", "strictly increasing"},
    {"bad_me_resolution.yaml", "bad_me_resolution.yaml:16:32: me.resolution: 8:", "[16, 1e6]"},
    {"bad_bins.yaml", "bad_bins.yaml:15:56: output.histogram_log_ratio: 1.2:", "one of the two"},
};
} // namespace

TEST(Config, BadConfigsGiveExitStatus2AndAPreciseMessage)
{
    for (const BadCase &b : kBad) {
        Loaded l(kData + b.file);
        EXPECT_EQ(l.rc, NPG_EXIT_USAGE) << b.file;
        EXPECT_NE(l.err.find(b.where), std::string::npos) << b.file << ": " << l.err;
        EXPECT_NE(l.err.find(b.what), std::string::npos) << b.file << ": " << l.err;
        EXPECT_EQ(l.err.find('\n'), std::string::npos) << "one line: " << l.err;
        EXPECT_EQ(l.cfg.schedule_t, nullptr) << "arrays freed on error: " << b.file;
        EXPECT_EQ(l.cfg.init_sizes, nullptr) << "arrays freed on error: " << b.file;
    }
}

TEST(Config, MissingConfigFile)
{
    Loaded l(kData + "does_not_exist.yaml");
    EXPECT_EQ(l.rc, NPG_EXIT_USAGE);
    EXPECT_NE(l.err.find("does_not_exist.yaml:1:1: (file):"), std::string::npos) << l.err;
    EXPECT_NE(l.err.find("cannot open"), std::string::npos) << l.err;
}

TEST(Config, ScheduleInterpolation)
{
    npg_config c;
    memset(&c, 0, sizeof c);
    double t[] = {0.0, 10.0, 30.0};
    double s[] = {4.0, 2.0, 3.0};
    c.supply = NPG_SUPPLY_SCHEDULE;
    c.schedule_len = 3;
    c.schedule_t = t;
    c.schedule_s = s;
    EXPECT_EQ(npg_config_schedule_s(&c, -5.0), 4.0); // constant before the first point
    EXPECT_EQ(npg_config_schedule_s(&c, 0.0), 4.0);
    EXPECT_DOUBLE_EQ(npg_config_schedule_s(&c, 2.5), 3.5);
    EXPECT_EQ(npg_config_schedule_s(&c, 10.0), 2.0);
    EXPECT_DOUBLE_EQ(npg_config_schedule_s(&c, 20.0), 2.5);
    EXPECT_DOUBLE_EQ(npg_config_schedule_s(&c, 25.0), 2.75);
    EXPECT_EQ(npg_config_schedule_s(&c, 30.0), 3.0);
    EXPECT_EQ(npg_config_schedule_s(&c, 1e9), 3.0); // constant after the last point
    c.schedule_len = 1;
    EXPECT_EQ(npg_config_schedule_s(&c, -1.0), 4.0);
    EXPECT_EQ(npg_config_schedule_s(&c, 1.0), 4.0);
    c.supply = NPG_SUPPLY_CLOSED;
    c.initial_supersaturation = 1.7;
    EXPECT_EQ(npg_config_schedule_s(&c, 5.0), 1.7);
}

TEST(Config, InitViewLognormalHasTheRequestedMeanAndSd)
{
    Loaded l(kSrc + "/configs/pt-acac.yaml");
    ASSERT_EQ(l.rc, 0) << l.err;
    npg_init_view v;
    double *cdf = nullptr;
    char err[256];
    ASSERT_EQ(npg_config_init_view(&l.cfg, &v, &cdf, err, sizeof err), 0);
    EXPECT_EQ(cdf, nullptr);
    EXPECT_EQ(v.kind, NPG_INIT_LOGNORMAL_R);
    EXPECT_EQ(v.sigma_s, l.cfg.model.sigma_s);
    // E r = exp(mu + s^2/2), Var r = (exp(s^2) - 1) exp(2 mu + s^2)
    double mean = std::exp(v.loc + 0.5 * v.scale * v.scale);
    double var = std::expm1(v.scale * v.scale) * std::exp(2.0 * v.loc + v.scale * v.scale);
    EXPECT_NEAR(mean, 1.058, 1e-14);
    EXPECT_NEAR(std::sqrt(var), 0.230, 1e-14);

    Loaded n(kData + "good_override.yaml"); // normal: loc/scale are the mean and sd
    ASSERT_EQ(n.rc, 0) << n.err;
    ASSERT_EQ(npg_config_init_view(&n.cfg, &v, &cdf, err, sizeof err), 0);
    EXPECT_EQ(v.kind, NPG_INIT_NORMAL_R);
    EXPECT_EQ(v.loc, 1.2);
    EXPECT_EQ(v.scale, 0.2);
}

TEST(Config, InitViewHistogramCdf)
{
    Loaded l(kData + "good_histogram.yaml");
    ASSERT_EQ(l.rc, 0) << l.err;
    ASSERT_EQ(l.cfg.init_table_len, 5u);
    EXPECT_EQ(l.cfg.init_sizes[0], 100u);
    EXPECT_EQ(l.cfg.init_sizes[4], 500u);
    EXPECT_EQ(l.cfg.init_file[0], '/'); // resolved to an absolute path
    npg_init_view v;
    double *cdf = nullptr;
    char err[256];
    ASSERT_EQ(npg_config_init_view(&l.cfg, &v, &cdf, err, sizeof err), 0) << err;
    ASSERT_NE(cdf, nullptr);
    EXPECT_EQ(v.kind, NPG_INIT_HISTOGRAM);
    EXPECT_EQ(v.table_len, 5u);
    EXPECT_EQ(v.sizes, l.cfg.init_sizes);
    EXPECT_DOUBLE_EQ(cdf[0], 1.0 / 8.0);
    EXPECT_DOUBLE_EQ(cdf[1], 4.0 / 8.0);
    EXPECT_DOUBLE_EQ(cdf[2], 4.0 / 8.0);
    EXPECT_EQ(cdf[3], 1.0); // exactly 1 from the last positive count on
    EXPECT_EQ(cdf[4], 1.0);
    // the sampler then never lands on zero-count rows
    for (uint32_t id = 0; id < 2000; ++id) {
        uint32_t n = npg_init_sample(&v, 3u, id);
        EXPECT_TRUE(n == 100u || n == 200u || n == 400u) << n;
    }
    free(cdf);
}

namespace
{
void expect_same(const npg_config &a, const npg_config &b)
{
    EXPECT_STREQ(a.name, b.name);
    EXPECT_EQ(a.model.d_eps_f, b.model.d_eps_f);
    EXPECT_EQ(a.model.d_eps_e, b.model.d_eps_e);
    EXPECT_EQ(a.model.ap, b.model.ap);
    EXPECT_EQ(a.model.K, b.model.K);
    EXPECT_EQ(a.model.lam, b.model.lam);
    EXPECT_EQ(a.model.sigma_s, b.model.sigma_s);
    EXPECT_EQ(a.model.delta, b.model.delta);
    EXPECT_STREQ(a.time_unit, b.time_unit);
    EXPECT_EQ(a.supply, b.supply);
    ASSERT_EQ(a.schedule_len, b.schedule_len);
    for (size_t i = 0; i < a.schedule_len; ++i) {
        EXPECT_EQ(a.schedule_t[i], b.schedule_t[i]);
        EXPECT_EQ(a.schedule_s[i], b.schedule_s[i]);
    }
    EXPECT_EQ(a.volume_nm3, b.volume_nm3);
    EXPECT_EQ(a.particle_density_nm3, b.particle_density_nm3);
    EXPECT_EQ(a.solubility_nm3, b.solubility_nm3);
    EXPECT_EQ(a.initial_supersaturation, b.initial_supersaturation);
    EXPECT_EQ(a.precursor_nm3, b.precursor_nm3);
    EXPECT_EQ(a.k_p, b.k_p);
    EXPECT_EQ(a.tolerance, b.tolerance);
    EXPECT_EQ(a.init_kind, b.init_kind);
    EXPECT_EQ(a.init_n, b.init_n);
    EXPECT_EQ(a.init_mean_r_nm, b.init_mean_r_nm);
    EXPECT_EQ(a.init_sd_r_nm, b.init_sd_r_nm);
    EXPECT_STREQ(a.init_file, b.init_file);
    ASSERT_EQ(a.init_table_len, b.init_table_len);
    for (size_t i = 0; i < a.init_table_len; ++i) {
        EXPECT_EQ(a.init_sizes[i], b.init_sizes[i]);
        EXPECT_EQ(a.init_counts[i], b.init_counts[i]);
    }
    EXPECT_EQ(a.particles, b.particles);
    EXPECT_EQ(a.t_end, b.t_end);
    EXPECT_EQ(a.output_every, b.output_every);
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.n_table, b.n_table);
    EXPECT_EQ(a.hist_bin_width, b.hist_bin_width);
    EXPECT_EQ(a.hist_log_ratio, b.hist_log_ratio);
    EXPECT_EQ(a.trajectories, b.trajectories);
    EXPECT_EQ(a.me_n_max, b.me_n_max);
    EXPECT_EQ(a.me_resolution, b.me_resolution);
}
} // namespace

TEST(Config, WriteYamlRoundTrips)
{
    const std::string files[] = {
        kSrc + "/configs/pt-acac.yaml",
        kSrc + "/configs/pt-acac-closed.yaml",
        kSrc + "/configs/pt-acac-precursor.yaml",
        kSrc + "/configs/iron-oxide.yaml",
        kData + "good_override.yaml",
        kData + "good_histogram.yaml",
        kData + "good_inline.yaml",
    };
    for (const std::string &f : files) {
        Loaded a(f);
        ASSERT_EQ(a.rc, 0) << a.err;
        // Awkward doubles must survive too.
        a.cfg.model.sigma_s = 0.1 + 0.2;
        a.cfg.t_end = 1.0 / 3.0 * 540.0;
        char tmpl[] = "/tmp/npg_config_rt_XXXXXX.yaml";
        int fd = mkstemps(tmpl, 5);
        ASSERT_GE(fd, 0);
        FILE *out = fdopen(fd, "w");
        ASSERT_NE(out, nullptr);
        npg_config_write_yaml(out, &a.cfg, 0);
        fclose(out);
        Loaded b(tmpl);
        ASSERT_EQ(b.rc, 0) << f << " -> " << tmpl << ": " << b.err;
        SCOPED_TRACE(f);
        expect_same(a.cfg, b.cfg);
        remove(tmpl);
    }
}

TEST(Config, WriteYamlIndents)
{
    Loaded a(kSrc + "/configs/pt-acac.yaml");
    ASSERT_EQ(a.rc, 0) << a.err;
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_NE(f, nullptr);
    npg_config_write_yaml(f, &a.cfg, 4);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    EXPECT_NE(s.find("\n    system:\n"), std::string::npos) << s;
    EXPECT_NE(s.find("\n      d_eps_f: 3.04  # [kT]"), std::string::npos) << s;
    EXPECT_NE(s.find("kappa_rho_inf: 1.4  # [nm^-2 s^-1]"), std::string::npos) << s;
    // every line is indented by at least 4 spaces
    size_t pos = 0;
    while (pos < s.size()) {
        EXPECT_EQ(s.compare(pos, 4, "    "), 0) << s.substr(pos, 40);
        pos = s.find('\n', pos);
        if (pos == std::string::npos)
            break;
        ++pos;
    }
}

TEST(Config, WarnsAboutStartsBelowN20ButLoads)
{
    const char *cases[][2] = {
        {"warn_small_n.yaml", "warn_small_n.yaml:14:34: initial.n: 10:"},
        {"warn_small_hist.yaml", "has counts below n = 20 (n = 10)"},
    };
    for (auto &c : cases) {
        testing::internal::CaptureStderr();
        Loaded l(kData + c[0]);
        // the size-law warning needs the effective particle count: npg_config_check says it
        char e2[512];
        EXPECT_EQ(npg_config_check(&l.cfg, 1, e2, sizeof e2), 0) << e2;
        std::string err = testing::internal::GetCapturedStderr();
        EXPECT_EQ(l.rc, 0) << l.err;
        EXPECT_EQ(err.rfind("warning: ", 0), 0u) << err;
        EXPECT_NE(err.find(c[1]), std::string::npos) << err;
    }
    // normal(1.2, 0.2) nm: P(n < 20) = 4.8e-5. With 5000 particles (0.24 expected) nothing is
    // said; with 1e5 (4.8 expected, a tiny fraction) a note; a fraction >= 1e-4 is a warning.
    Loaded ov(kData + "good_override.yaml");
    ASSERT_EQ(ov.rc, 0) << ov.err;
    EXPECT_NEAR(ov.cfg.init_small_fraction, 4.8e-5, 0.2e-5);
    char e2[512];
    testing::internal::CaptureStderr();
    EXPECT_EQ(npg_config_check(&ov.cfg, 1, e2, sizeof e2), 0);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    ov.cfg.particles = 100000;
    testing::internal::CaptureStderr();
    EXPECT_EQ(npg_config_check(&ov.cfg, 1, e2, sizeof e2), 0);
    std::string note = testing::internal::GetCapturedStderr();
    EXPECT_EQ(note.rfind("note: ", 0), 0u) << note;
    EXPECT_NE(note.find("of 100000 initial particles"), std::string::npos) << note;
    ov.cfg.init_small_fraction = 0.01;
    testing::internal::CaptureStderr();
    EXPECT_EQ(npg_config_check(&ov.cfg, 1, e2, sizeof e2), 0);
    std::string warn = testing::internal::GetCapturedStderr();
    EXPECT_EQ(warn.rfind("warning: ", 0), 0u) << warn;
    EXPECT_NE(warn.find("about 1e+03 of 100000 particles"), std::string::npos) << warn;

    testing::internal::CaptureStderr();
    Loaded quiet(kData + "good_inline.yaml"); // n = 300: nothing to say
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(quiet.rc, 0);
}

// Issue 9: run.yaml stays valid YAML whatever the strings hold. Names with quotes, backslashes,
// newlines, ": ", "#", tabs, control characters and non-ASCII text, a histogram file whose name
// holds the same, and a config in a directory named like that, all read back identically.
TEST(Config, WriteYamlEscapesEveryString)
{
    const char *names[] = {
        "say \"hi\"",
        "back\\slash\\",
        "two\nlines",
        "key: value # not a comment",
        "- [a, b] {c: d}",
        "tab\there\rcr\x01\x1f",
        "\x7f del",
        "caf\xc3\xa9 \xe2\x80\xa8 sep",
        "\xf0\x9f\x94\xac",
        "'single' & *alias !t",
        " lead/trail ",
        "\xc2\x85 nel \xef\xbb\xbf bom",
        "null",
        "~",
        "123", // ("" cannot come from a config: the loader rejects an empty name)
    };
    // A directory and a histogram file with hostile names.
    char tmpl[] = "/tmp/npg_yaml_esc_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = std::string(tmpl) + "/d\"ir: #x\nnew\\line";
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    const std::string hist = "h\"is: t #1\n\\x.csv";
    {
        FILE *h = fopen((dir + "/" + hist).c_str(), "w");
        ASSERT_NE(h, nullptr);
        fputs("n,count\n100,3\n200,1\n", h);
        fclose(h);
    }
    const std::string cpath = dir + "/c.yaml";
    {
        FILE *c = fopen(cpath.c_str(), "w");
        ASSERT_NE(c, nullptr);
        fputs("system: {preset: pt-acac}\nsupply: {mode: schedule, supersaturation: [[0, 3.0], "
              "[10, 3.0]]}\ninitial: {kind: histogram, file: ",
              c);
        npg_yaml_write_string(c, hist.c_str());
        fputs("}\nrun: {particles: 1000, t_end: 10, output_every: 1, seed: 7}\n", c);
        fclose(c);
    }
    for (const char *name : names) {
        Loaded a(cpath);
        ASSERT_EQ(a.rc, 0) << a.err;
        ASSERT_NE(std::string(a.cfg.init_file).find(hist), std::string::npos) << a.cfg.init_file;
        snprintf(a.cfg.name, sizeof a.cfg.name, "%s", name);
        char *buf = nullptr;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        ASSERT_NE(m, nullptr);
        npg_config_write_yaml(m, &a.cfg, 0);
        fclose(m);
        std::string text(buf, len);
        free(buf);
        // Every line is a comment, a key, or a list item: nothing leaked out of a string.
        size_t pos = 0;
        while (pos < text.size()) {
            size_t e = text.find('\n', pos);
            std::string line = text.substr(pos, e - pos);
            size_t k = line.find_first_not_of(' ');
            ASSERT_NE(k, std::string::npos) << "empty line in\n" << text;
            EXPECT_TRUE(line[k] == '#' || line[k] == '-' || line.find(':') != std::string::npos)
                << "stray line '" << line << "' for name '" << name << "'";
            pos = e + 1;
        }
        const std::string out = std::string(tmpl) + "/rt.yaml";
        FILE *o = fopen(out.c_str(), "w");
        ASSERT_NE(o, nullptr);
        fputs(text.c_str(), o);
        fclose(o);
        Loaded b(out);
        ASSERT_EQ(b.rc, 0) << name << ": " << b.err << "\n" << text;
        SCOPED_TRACE(name);
        expect_same(a.cfg, b.cfg);
        remove(out.c_str());
    }
    remove((dir + "/" + hist).c_str());
    remove(cpath.c_str());
    rmdir(dir.c_str());
    rmdir(tmpl);
}

// The escaper's exact output for each kind of character (YAML double-quoted escapes).
TEST(Config, YamlWriteStringEscapes)
{
    const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"l1\nl2\tx\ry", "\"l1\\nl2\\tx\\ry\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001F\\u007F\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},                                // UTF-8 kept
        {"\xc2\x85\xe2\x80\xa8\xef\xbb\xbf", "\"\\u0085\\u2028\\uFEFF\""}, // NEL, LS, BOM
        {"bad\xff\xc3", "\"bad\\xFF\\xC3\""},                              // not UTF-8: bytes
        {"\xc0\xaf", "\"\\xC0\\xAF\""},                                    // overlong "/"
        {"", "\"\""},
    };
    for (const auto &c : cases) {
        char *buf = nullptr;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        ASSERT_NE(m, nullptr);
        npg_yaml_write_string(m, c.in);
        fclose(m);
        EXPECT_EQ(std::string(buf, len), c.out);
        free(buf);
    }
}

// ---- coalescence:, source:, supply.monomer_exchange (issue 11) ------------------------------

namespace
{
// Files in a private temporary directory, removed with it.
struct TmpDir {
    std::string dir;
    std::vector<std::string> files;
    TmpDir()
    {
        char t[] = "/tmp/npg_cfgcoal_XXXXXX";
        if (mkdtemp(t))
            dir = t;
    }
    std::string write(const std::string &name, const std::string &text)
    {
        std::string p = dir + "/" + name;
        FILE *f = fopen(p.c_str(), "w");
        if (f) {
            fputs(text.c_str(), f);
            fclose(f);
        }
        files.push_back(p);
        return p;
    }
    ~TmpDir()
    {
        for (const std::string &f : files)
            remove(f.c_str());
        rmdir(dir.c_str());
    }
};

// Lines 1-5 of every config below; the sections under test start on line 6.
const char *const kSystem = "system: {preset: pt-acac}\n";
const char *const kSchedule = "supply: {mode: schedule, supersaturation: [[0, 3.0], [10, 3.0]]}\n";
const char *const kClosed = "supply: {mode: closed, particle_density_nm3: 1.0e-6, solubility_nm3: "
                            "5.0e-4, initial_supersaturation: 4.0}\n";
const char *const kInitRun = "initial: {kind: monodisperse, n: 300}\n"
                             "run: {particles: 1000, t_end: 10, output_every: 1, seed: 7}\n";
const char *const kOutput = "output: {trajectories: 10}\n";

std::string config_text(const char *supply, const char *output, const std::string &rest)
{
    return std::string(kSystem) + (supply ? supply : kSchedule) + kInitRun +
           (output ? output : kOutput) + rest;
}

// Every key of coalescence: and a Poisson source, with values that differ from the defaults.
const char *const kFull = "coalescence:\n"                                       // 6
                          "  mode: well-mixed\n"                                 // 7
                          "  volume_nm3: 2.5e9\n"                                // 8
                          "  kernel: brownian\n"                                 // 9
                          "  intrinsic_rate_nm3_per_s: 950\n"                    // 10
                          "  diffusion: {d_ref_nm2_per_s: 1.2, r_ref_nm: 0.9}\n" // 11
                          "  time_factor: {b_per_time: 0.16, c: 0.73}\n"         // 12
                          "  ligand_nm: 2.87\n"                                  // 13
                          "  propensity:\n"                                      // 14
                          "    kind: fermi\n"                                    // 15
                          "    gamma_per_nm: 7.64\n"                             // 16
                          "    sigma_c_nm: 3.0078\n"                             // 17
                          "  epsilon: 0.005\n"                                   // 18
                          "source:\n"                                            // 19
                          "  rate_per_time: 3.7\n"                               // 20
                          "  t_start: 1.5\n"                                     // 21
                          "  t_stop: 9.6\n"                                      // 22
                          "  size: {kind: lognormal, mean_r_nm: 1.1, sd_r_nm: 0.2}\n";

// A minimal well-mixed section (defaults everywhere else).
const char *const kMinimal = "coalescence:\n"
                             "  mode: well-mixed\n"
                             "  volume_nm3: 1.0e9\n"
                             "  diffusion: {d_ref_nm2_per_s: 1.2, r_ref_nm: 1.0}\n";
} // namespace

// mode: brownian with every shell key, and a pair: section with every key.
const char *const kBrownianPair =
    "coalescence:\n"                                                        // 6
    "  mode: brownian\n"                                                    // 7
    "  particle_density_nm3: 1.1e-5\n"                                      // 8
    "  diffusion: {d_ref_nm2_per_s: 0.658, r_ref_nm: 3.93}\n"               // 9
    "  time_factor: {b_per_time: 0.0703, c: 0.7336}\n"                      // 10
    "  ligand_nm: 2.87\n"                                                   // 11
    "  propensity: {kind: fermi, gamma_per_nm: 7.64, sigma_c_nm: 3.0078}\n" // 12
    "  epsilon: 0.02\n"                                                     // 13
    "  kappa_c_per_s: 11.6\n"                                               // 14
    "  shell_width_nm: 0.0996\n"                                            // 15
    "  shell: gaussian\n"                                                   // 16
    "  initial_min_distance_nm: 44\n"                                       // 17
    "  shell_sampling: bridge\n"                                            // 18
    "  step_resolution: 0.5\n"                                              // 19
    "  split_steps: 40\n"                                                   // 20
    "pair:\n"                                                               // 21
    "  sigma: {kind: polynomial, coefficients: [1.777, 0.0442, -8.2e-4], t_offset: 8}\n"
    "  d_r: {kind: power, a: 2.414, b: 0.1607, c: 0.7336}\n"
    "  rmax_nm: 200\n"
    "  cells: 3000\n"
    "  quadrature: shifted\n"
    "  initial: {r_max_nm: 270, sigma_at: zero}\n"
    "  p0_per_time: 3.67e-3\n"
    "  t_cut: 88\n"
    "  kinetics: box\n";

TEST(ConfigCoalescence, BrownianModeAndPairSectionParse)
{
    TmpDir d;
    Loaded l(d.write("c.yaml", config_text(nullptr, nullptr, kBrownianPair)));
    ASSERT_EQ(l.rc, 0) << l.err;
    const npg_coal_config &c = l.cfg.coal;
    EXPECT_EQ(c.mode, NPG_COAL_BROWNIAN);
    EXPECT_EQ(c.particle_density_nm3, 1.1e-5);
    EXPECT_EQ(c.d_ref_nm2_per_s, 0.658);
    EXPECT_EQ(c.tf_c, 0.7336);
    EXPECT_EQ(c.ligand_nm, 2.87);
    EXPECT_EQ(c.propensity, NPG_PROPENSITY_FERMI);
    EXPECT_EQ(c.epsilon, 0.02);
    EXPECT_EQ(c.kappa_c_per_s, 11.6);
    EXPECT_EQ(c.shell_width_nm, 0.0996);
    EXPECT_EQ(c.shell, NPG_SHELL_GAUSSIAN);
    EXPECT_EQ(c.initial_min_distance_nm, 44.0);
    EXPECT_EQ(c.shell_sampling, 1);
    EXPECT_EQ(c.step_resolution, 0.5);
    EXPECT_EQ(c.split_steps, 40u);
    const npg_pair_config &p = l.cfg.pair;
    EXPECT_EQ(p.present, 1);
    EXPECT_EQ(p.sigma, NPG_PAIR_SIGMA_POLYNOMIAL);
    ASSERT_EQ(p.n_coeffs, 3u);
    EXPECT_EQ(p.coeffs[0], 1.777);
    EXPECT_EQ(p.coeffs[2], -8.2e-4);
    EXPECT_EQ(p.t_offset, 8.0);
    EXPECT_EQ(p.d_r, NPG_PAIR_DR_POWER);
    EXPECT_EQ(p.dr_a_nm2_per_s, 2.414);
    EXPECT_EQ(p.dr_b_per_time, 0.1607);
    EXPECT_EQ(p.dr_c, 0.7336);
    EXPECT_EQ(p.rmax_nm, 200.0);
    EXPECT_EQ(p.cells, 3000u);
    EXPECT_EQ(p.quadrature, NPG_PAIR_QUAD_SHIFTED);
    EXPECT_EQ(p.ic_r_max_nm, 270.0);
    EXPECT_EQ(p.ic_sigma, NPG_PAIR_IC_SIGMA_ZERO);
    EXPECT_EQ(p.p0_per_time, 3.67e-3);
    EXPECT_EQ(p.t_cut, 88.0);
    EXPECT_EQ(p.kinetics, NPG_PAIR_KINETICS_BOX);
    EXPECT_NE(std::string(l.cfg.where.pair).find("c.yaml:21:1"), std::string::npos);
    // sigma(t) and D_r(t) at movie time t + 8 (Horner and its derivative)
    double ds, T = 2.0 + 8.0;
    EXPECT_DOUBLE_EQ(npg_config_pair_sigma(&l.cfg, 2.0, &ds), 1.777 + 0.0442 * T - 8.2e-4 * T * T);
    EXPECT_DOUBLE_EQ(ds, 0.0442 - 2.0 * 8.2e-4 * T);
    EXPECT_DOUBLE_EQ(npg_config_pair_dr(&l.cfg, 2.0), 2.414 / std::pow(1.0 + 0.1607 * T, 0.7336));

    // the defaults: gaussian shell of 0.1 nm, r_c 0; pair: rmax 300, 4000 cells, consistent
    // quadrature, no r_max cut, sigma(0) at the start, no source, D_r from the diffusion keys
    Loaded m(d.write("m.yaml", config_text(nullptr, nullptr,
                                           "coalescence:\n  mode: brownian\n  volume_nm3: 1e9\n"
                                           "  kappa_c_per_s: 2\n  ligand_nm: 1\n"
                                           "  diffusion: {d_ref_nm2_per_s: 1.2, r_ref_nm: 1}\n"
                                           "  time_factor: {b_per_time: 0.5, c: 1}\n"
                                           "pair: {sigma: {kind: frozen, nm: 3}}\n")));
    ASSERT_EQ(m.rc, 0) << m.err;
    EXPECT_EQ(m.cfg.coal.shell_width_nm, 0.1);
    EXPECT_EQ(m.cfg.coal.shell, NPG_SHELL_GAUSSIAN);
    EXPECT_EQ(m.cfg.coal.initial_min_distance_nm, 0.0);
    EXPECT_EQ(m.cfg.coal.shell_sampling, 0); // end
    EXPECT_EQ(m.cfg.coal.step_resolution, 3.0);
    EXPECT_EQ(m.cfg.coal.split_steps, 100u);
    const npg_pair_config &q = m.cfg.pair;
    EXPECT_EQ(q.sigma, NPG_PAIR_SIGMA_FROZEN);
    EXPECT_EQ(q.sigma_nm, 3.0);
    EXPECT_EQ(q.t_offset, 0.0);
    EXPECT_EQ(q.d_r, NPG_PAIR_DR_FROM_DIFFUSION);
    EXPECT_EQ(q.rmax_nm, 300.0);
    EXPECT_EQ(q.cells, 4000u);
    EXPECT_EQ(q.quadrature, NPG_PAIR_QUAD_CONSISTENT);
    EXPECT_EQ(q.ic_r_max_nm, 0.0);
    EXPECT_EQ(q.ic_sigma, NPG_PAIR_IC_SIGMA_START);
    EXPECT_EQ(q.p0_per_time, 0.0);
    EXPECT_EQ(q.t_cut, HUGE_VAL);
    EXPECT_EQ(q.kinetics, NPG_PAIR_KINETICS_STUDY);
    // D_i + D_j of two particles of radius sigma/2: 2 f(t) D_ref r_ref / (sigma/2 + l)
    EXPECT_DOUBLE_EQ(npg_config_pair_dr(&m.cfg, 4.0), 2.0 * 1.2 * 1.0 / 3.0 / (1.5 + 1.0));
    EXPECT_EQ(npg_config_pair_sigma(&m.cfg, 4.0, &ds), 3.0);
    EXPECT_EQ(ds, 0.0);
    EXPECT_EQ(l.cfg.pair.present + m.cfg.pair.present, 2);
}

TEST(ConfigCoalescence, FullSectionParsesToItsValues)
{
    TmpDir d;
    std::string path =
        d.write("c.yaml", config_text("supply: {mode: schedule, supersaturation: [[0, 3.0]], "
                                      "monomer_exchange: false}\n",
                                      "output: {coalescence_events: 250}\n", kFull));
    Loaded l(path);
    ASSERT_EQ(l.rc, 0) << l.err;
    const npg_coal_config &c = l.cfg.coal;
    EXPECT_EQ(c.mode, NPG_COAL_WELL_MIXED);
    EXPECT_EQ(c.volume_nm3, 2.5e9);
    EXPECT_EQ(c.particle_density_nm3, 0.0);
    EXPECT_EQ(c.kernel, NPG_KERNEL_BROWNIAN);
    EXPECT_EQ(c.intrinsic_rate_nm3_per_s, 950.0);
    EXPECT_EQ(c.d_ref_nm2_per_s, 1.2);
    EXPECT_EQ(c.r_ref_nm, 0.9);
    EXPECT_EQ(c.tf_b_per_time, 0.16);
    EXPECT_EQ(c.tf_c, 0.73);
    EXPECT_EQ(c.ligand_nm, 2.87);
    EXPECT_EQ(c.propensity, NPG_PROPENSITY_FERMI);
    EXPECT_EQ(c.gamma_per_nm, 7.64);
    EXPECT_EQ(c.sigma_c_nm, 3.0078);
    EXPECT_EQ(c.epsilon, 0.005);
    EXPECT_EQ(c.output_events, 250u);
    EXPECT_EQ(l.cfg.no_monomer_exchange, 1);
    EXPECT_NE(std::string(l.cfg.where.coalescence).find("c.yaml:6:1"), std::string::npos);
    EXPECT_NE(std::string(l.cfg.where.source).find("c.yaml:19:1"), std::string::npos);

    const npg_source_config &s = l.cfg.src;
    EXPECT_EQ(s.kind, NPG_SOURCE_POISSON);
    EXPECT_EQ(s.rate_per_time, 3.7);
    EXPECT_EQ(s.t_start, 1.5);
    EXPECT_EQ(s.t_stop, 9.6);
    EXPECT_EQ(s.size_kind, NPG_INIT_LOGNORMAL_R);
    EXPECT_EQ(s.size_mean_r_nm, 1.1);
    EXPECT_EQ(s.size_sd_r_nm, 0.2);
    // the source's size view: a lognormal with exactly the requested mean and sd of r
    npg_init_view v;
    double *cdf = nullptr;
    char err[256];
    ASSERT_EQ(npg_config_source_view(&l.cfg, &v, &cdf, err, sizeof err), 0) << err;
    EXPECT_EQ(cdf, nullptr);
    EXPECT_EQ(v.kind, NPG_INIT_LOGNORMAL_R);
    double mean = std::exp(v.loc + 0.5 * v.scale * v.scale);
    double var = std::expm1(v.scale * v.scale) * std::exp(2.0 * v.loc + v.scale * v.scale);
    EXPECT_NEAR(mean, 1.1, 1e-14);
    EXPECT_NEAR(std::sqrt(var), 0.2, 1e-14);
    // the initial view is still the initial: section's
    ASSERT_EQ(npg_config_init_view(&l.cfg, &v, &cdf, err, sizeof err), 0) << err;
    EXPECT_EQ(v.kind, NPG_INIT_MONODISPERSE);
    EXPECT_EQ(v.n, 300u);
}

TEST(ConfigCoalescence, DefaultsAndAbsentSections)
{
    // No coalescence:, source: or monomer_exchange: today's behaviour.
    Loaded a(kSrc + "/configs/pt-acac.yaml");
    ASSERT_EQ(a.rc, 0) << a.err;
    EXPECT_EQ(a.cfg.coal.mode, NPG_COAL_NONE);
    EXPECT_EQ(a.cfg.coal.output_events, 100000u);
    EXPECT_EQ(a.cfg.src.kind, NPG_SOURCE_NONE);
    EXPECT_EQ(a.cfg.no_monomer_exchange, 0);
    EXPECT_STREQ(a.cfg.where.coalescence, "");
    npg_init_view v;
    double *cdf = nullptr;
    char err[256];
    EXPECT_EQ(npg_config_source_view(&a.cfg, &v, &cdf, err, sizeof err), NPG_EXIT_USAGE);
    EXPECT_NE(std::string(err).find("no source"), std::string::npos) << err;

    TmpDir d;
    Loaded m(d.write("c.yaml", config_text(nullptr, nullptr, kMinimal)));
    ASSERT_EQ(m.rc, 0) << m.err;
    const npg_coal_config &c = m.cfg.coal;
    EXPECT_EQ(c.mode, NPG_COAL_WELL_MIXED);
    EXPECT_EQ(c.kernel, NPG_KERNEL_BROWNIAN);
    EXPECT_EQ(c.intrinsic_rate_nm3_per_s, 0.0); // infinite: diffusion-limited
    EXPECT_EQ(c.tf_b_per_time, 0.0);
    EXPECT_EQ(c.tf_c, 0.0); // no time factor
    EXPECT_EQ(c.ligand_nm, 0.0);
    EXPECT_EQ(c.propensity, NPG_PROPENSITY_NONE);
    EXPECT_EQ(c.epsilon, 0.01);
    EXPECT_EQ(c.output_events, 100000u);
    EXPECT_EQ(m.cfg.no_monomer_exchange, 0);

    // mode: none alone is the same as no section
    Loaded n(d.write("n.yaml", config_text(nullptr, nullptr, "coalescence: {mode: none}\n")));
    ASSERT_EQ(n.rc, 0) << n.err;
    EXPECT_EQ(n.cfg.coal.mode, NPG_COAL_NONE);
}

TEST(ConfigCoalescence, ConstantAndAdditiveKernels)
{
    TmpDir d;
    Loaded k(d.write("k.yaml", config_text(nullptr, nullptr,
                                           "coalescence: {mode: well-mixed, particle_density_nm3: "
                                           "1.0e-6, kernel: constant, k_const_nm3_per_s: 2.5}\n")));
    ASSERT_EQ(k.rc, 0) << k.err;
    EXPECT_EQ(k.cfg.coal.kernel, NPG_KERNEL_CONSTANT);
    EXPECT_EQ(k.cfg.coal.k_const_nm3_per_s, 2.5);
    EXPECT_EQ(k.cfg.coal.particle_density_nm3, 1e-6);
    EXPECT_EQ(k.cfg.coal.volume_nm3, 0.0);
    Loaded a(d.write("a.yaml", config_text(nullptr, nullptr,
                                           "coalescence: {mode: well-mixed, volume_nm3: 1e12, "
                                           "kernel: additive, k_add_nm3_per_s: 0.125}\n")));
    ASSERT_EQ(a.rc, 0) << a.err;
    EXPECT_EQ(a.cfg.coal.kernel, NPG_KERNEL_ADDITIVE);
    EXPECT_EQ(a.cfg.coal.k_add_nm3_per_s, 0.125);
}

// The closed supply's volume is the coalescence volume: given in one section it serves both;
// given in both (as a volume or as a density, V = particles / density) the two must agree.
TEST(ConfigCoalescence, VolumeSharedWithClosedSupply)
{
    TmpDir d;
    const std::string rest = "coalescence:\n  mode: well-mixed\n  kernel: constant\n"
                             "  k_const_nm3_per_s: 1\n";
    Loaded inh(d.write("i.yaml", config_text(kClosed, nullptr, rest)));
    ASSERT_EQ(inh.rc, 0) << inh.err;
    EXPECT_EQ(inh.cfg.coal.particle_density_nm3, 1e-6); // from supply:
    EXPECT_EQ(inh.cfg.coal.volume_nm3, 0.0);

    // 1000 particles at 1e-6 nm^-3: V = 1e9 nm^3
    Loaded same(d.write("s.yaml", config_text(kClosed, nullptr, rest + "  volume_nm3: 1.0e9\n")));
    ASSERT_EQ(same.rc, 0) << same.err;
    EXPECT_EQ(same.cfg.coal.volume_nm3, 1e9);
    Loaded near(
        d.write("n.yaml", config_text(kClosed, nullptr, rest + "  volume_nm3: 1.0000000005e9\n")));
    EXPECT_EQ(near.rc, 0) << near.err; // relative 5e-10: agrees

    Loaded off(
        d.write("o.yaml", config_text(kClosed, nullptr, rest + "  volume_nm3: 1.000000002e9\n")));
    EXPECT_EQ(off.rc, NPG_EXIT_USAGE);
    EXPECT_NE(off.err.find("o.yaml:10:15: coalescence.volume_nm3: 1.000000002e9:"),
              std::string::npos)
        << off.err;
    EXPECT_NE(off.err.find("supply.particle_density_nm3"), std::string::npos) << off.err;

    // After --particles 2000, the density keeps V = 2e9 but the coalescence volume is 1e9.
    same.cfg.particles = 2000;
    char err[1024];
    EXPECT_EQ(npg_config_check(&same.cfg, 0, err, sizeof err), NPG_EXIT_USAGE);
    EXPECT_NE(std::string(err).find("s.yaml:6:1: coalescence.volume_nm3:"), std::string::npos)
        << err;
    EXPECT_NE(std::string(err).find("supply.particle_density_nm3"), std::string::npos) << err;
    // Both densities: they scale together.
    Loaded dens(d.write("d.yaml",
                        config_text(kClosed, nullptr, rest + "  particle_density_nm3: 1.0e-6\n")));
    ASSERT_EQ(dens.rc, 0) << dens.err;
    dens.cfg.particles = 2000;
    EXPECT_EQ(npg_config_check(&dens.cfg, 0, err, sizeof err), 0) << err;
}

TEST(ConfigCoalescence, SourceFromAnEntriesFile)
{
    TmpDir d;
    d.write("e.csv", "t,n\n# entry times [s] and sizes\n0,100\n2.5,2\n2.5,4000000000\n"
                     "\n9.75,250\n12,300\n");
    std::string path =
        d.write("c.yaml", config_text(nullptr, nullptr, "source: {entries_file: e.csv}\n"));
    testing::internal::CaptureStderr();
    Loaded l(path);
    std::string warn = testing::internal::GetCapturedStderr();
    EXPECT_EQ(l.rc, NPG_EXIT_USAGE); // 4e9 is not < 4e9
    EXPECT_NE(l.err.find("e.csv:5:5: source.entries_file: 4000000000:"), std::string::npos)
        << l.err;
    EXPECT_EQ(l.cfg.src.entries_t, nullptr) << "freed on error";

    d.write("e.csv", "t,n\n# entry times [s] and sizes\n0,100\n2.5,2\n2.5,3999999999\n"
                     "\n9.75,250\n12,300\n");
    testing::internal::CaptureStderr();
    Loaded g(path);
    char err[512];
    EXPECT_EQ(npg_config_check(&g.cfg, 1, err, sizeof err), 0) << err;
    warn = testing::internal::GetCapturedStderr();
    ASSERT_EQ(g.rc, 0) << g.err;
    const npg_source_config &s = g.cfg.src;
    EXPECT_EQ(s.kind, NPG_SOURCE_FILE);
    ASSERT_EQ(s.entries_len, 5u);
    const double ts[] = {0.0, 2.5, 2.5, 9.75, 12.0};
    const uint32_t ns[] = {100u, 2u, 3999999999u, 250u, 300u};
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(s.entries_t[i], ts[i]) << i;
        EXPECT_EQ(s.entries_n[i], ns[i]) << i;
    }
    EXPECT_EQ(s.entries_file[0], '/'); // resolved, so run.yaml reloads from anywhere
    EXPECT_NE(std::string(s.entries_file).find("/e.csv"), std::string::npos);
    // t_end = 10: the entry at t = 12 is ignored, and said so
    EXPECT_NE(warn.find("c.yaml:6:1: source.entries_file: 1 of 5 entries come after "
                        "t_end = 10"),
              std::string::npos)
        << warn;
    npg_init_view v;
    double *cdf = nullptr;
    EXPECT_EQ(npg_config_source_view(&g.cfg, &v, &cdf, err, sizeof err), NPG_EXIT_USAGE);
    EXPECT_NE(std::string(err).find("entries_file gives the sizes"), std::string::npos) << err;
}

TEST(ConfigCoalescence, SourceSizesFromAHistogram)
{
    TmpDir d;
    d.write("h.csv", "n,count\n50,1\n100,3\n150,0\n");
    Loaded l(d.write("c.yaml", config_text(nullptr, nullptr,
                                           "source:\n  rate_per_time: 10\n  t_stop: 5\n"
                                           "  size:\n    kind: histogram\n    file: h.csv\n")));
    ASSERT_EQ(l.rc, 0) << l.err;
    const npg_source_config &s = l.cfg.src;
    EXPECT_EQ(s.t_start, 0.0); // default
    EXPECT_EQ(s.size_kind, NPG_INIT_HISTOGRAM);
    ASSERT_EQ(s.size_table_len, 3u);
    EXPECT_EQ(s.size_sizes[1], 100u);
    EXPECT_EQ(s.size_counts[1], 3.0);
    EXPECT_EQ(s.size_file[0], '/');
    EXPECT_EQ(l.cfg.init_table_len, 0u); // initial: untouched
    npg_init_view v;
    double *cdf = nullptr;
    char err[256];
    ASSERT_EQ(npg_config_source_view(&l.cfg, &v, &cdf, err, sizeof err), 0) << err;
    ASSERT_NE(cdf, nullptr);
    EXPECT_EQ(v.table_len, 3u);
    EXPECT_EQ(v.sizes, s.size_sizes);
    EXPECT_DOUBLE_EQ(cdf[0], 0.25);
    EXPECT_EQ(cdf[1], 1.0);
    EXPECT_EQ(cdf[2], 1.0);
    free(cdf);
}

namespace
{
struct BadCoal {
    const char *supply; // line 2 (nullptr: a schedule)
    const char *output; // line 5 (nullptr: trajectories only)
    const char *rest;   // from line 6 on
    const char *csv;    // written as e.csv when not nullptr
    const char *where;  // "file:line:column: key: value:"
    const char *what;   // a piece of what is allowed
};

#define WM   "coalescence:\n  mode: well-mixed\n" // lines 6, 7
#define WMV  WM "  volume_nm3: 1.0e9\n"           // line 8
#define DIFF "  diffusion: {d_ref_nm2_per_s: 1.2, r_ref_nm: 1.0}\n"
#define POIS "source:\n  rate_per_time: 2\n  t_start: 1\n  t_stop: 5\n"
#define MONO "  size: {kind: monodisperse, n: 100}\n"
#define BR   "coalescence:\n  mode: brownian\n"                // lines 6, 7
#define BRK  BR "  kappa_c_per_s: 11.6\n  volume_nm3: 1.0e9\n" // lines 8, 9
#define BRD  BRK DIFF "  initial_min_distance_nm: 44\n"        // lines 10, 11: pair: from line 11

const BadCoal kBadCoal[] = {
    // mode: brownian loads (the particle engine refuses it at run time); its shell keys
    {nullptr, nullptr, "coalescence:\n  mode: brownian\n", nullptr,
     "c.yaml:6:1: coalescence.kappa_c_per_s: (missing):", "[0, 1e30]"},
    {nullptr, nullptr, BR "  kappa_c_per_s: -1\n", nullptr,
     "c.yaml:8:18: coalescence.kappa_c_per_s: -1:", "[0, 1e30]"},
    {nullptr, nullptr, BRK "  shell_width_nm: 0\n" DIFF, nullptr,
     "c.yaml:10:19: coalescence.shell_width_nm: 0:", "(0, 1e6]"},
    {nullptr, nullptr, BRK "  shell: box\n" DIFF, nullptr,
     "c.yaml:10:10: coalescence.shell: box:", "gaussian step"},
    {nullptr, nullptr, BRK "  shell_sampling: middle\n" DIFF, nullptr,
     "c.yaml:10:19: coalescence.shell_sampling: middle:", "end bridge"},
    {nullptr, nullptr, BRK "  shell: step\n  shell_sampling: bridge\n" DIFF, nullptr,
     "c.yaml:11:19: coalescence.shell_sampling: bridge:", "needs shell: gaussian"},
    {nullptr, nullptr, BRK "  step_resolution: 0\n" DIFF, nullptr,
     "c.yaml:10:20: coalescence.step_resolution: 0:", "(0, 1e3]"},
    {nullptr, nullptr, WMV DIFF "  step_resolution: 1\n", nullptr,
     "c.yaml:10:20: coalescence.step_resolution: 1:", "not used with mode: well-mixed"},
    {nullptr, nullptr, BRK "  split_steps: 0\n" DIFF, nullptr,
     "c.yaml:10:16: coalescence.split_steps: 0:", "[1, 1e6]"},
    {nullptr, nullptr, BRK "  split_steps: 2.5\n" DIFF, nullptr,
     "c.yaml:10:16: coalescence.split_steps: 2.5:", "not an integer"},
    {nullptr, nullptr, WMV DIFF "  split_steps: 10\n", nullptr,
     "c.yaml:10:16: coalescence.split_steps: 10:", "not used with mode: well-mixed"},
    {nullptr, nullptr, BRK "  initial_min_distance_nm: -44\n" DIFF, nullptr,
     "c.yaml:10:28: coalescence.initial_min_distance_nm: -44:", "[0, 1e6]"},
    {nullptr, nullptr, BRK "  kernel: brownian\n" DIFF, nullptr,
     "c.yaml:10:11: coalescence.kernel: brownian:", "not used with mode: brownian"},
    {nullptr, nullptr, BRK "  intrinsic_rate_nm3_per_s: 1000\n" DIFF, nullptr,
     "c.yaml:10:29: coalescence.intrinsic_rate_nm3_per_s: 1000:", "shell hazard kappa_c_per_s"},
    {nullptr, nullptr, BRK, nullptr,
     "c.yaml:6:1: coalescence.diffusion: (missing):", "d_ref_nm2_per_s"},
    {nullptr, nullptr, BR "  kappa_c_per_s: 11.6\n" DIFF, nullptr,
     "c.yaml:6:1: coalescence.volume_nm3: (missing):", "well-mixed or brownian"},
    {nullptr, nullptr, WMV DIFF "  kappa_c_per_s: 11.6\n", nullptr,
     "c.yaml:10:18: coalescence.kappa_c_per_s: 11.6:", "not used with mode: well-mixed"},
    {nullptr, nullptr, WMV DIFF "  shell: step\n", nullptr,
     "c.yaml:10:10: coalescence.shell: step:", "not used with mode: well-mixed"},
    {nullptr, nullptr, "coalescence: {mode: none, initial_min_distance_nm: 44}\n", nullptr,
     "c.yaml:6:52: coalescence.initial_min_distance_nm: 44:", "not used with mode: none"},
    {nullptr, nullptr, BRK "  diffusion: {d_ref_nm2_per_s: 1e20, r_ref_nm: 1e6}\n", nullptr,
     "c.yaml:6:1: coalescence.diffusion.d_ref_nm2_per_s: 1e+20:", "at most 1e20 nm^2/s"},
    // pair: (line 11 on, after a brownian section on lines 6-10)
    {nullptr, nullptr, WMV DIFF "pair: {sigma: {kind: frozen, nm: 2}}\n", nullptr,
     "c.yaml:10:1: pair: (a mapping):", "needs coalescence: {mode: brownian"},
    {nullptr, nullptr, BRD "pair: {rmax_nm: 100}\n", nullptr,
     "c.yaml:12:1: pair.sigma: (missing):", "kind: frozen"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, dr: 1}\n", nullptr,
     "c.yaml:12:38: pair.dr: 1:", "unknown key"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: fixed, nm: 2}}\n", nullptr,
     "c.yaml:12:22: pair.sigma.kind: fixed:", "frozen polynomial"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 0}}\n", nullptr,
     "c.yaml:12:34: pair.sigma.nm: 0:", "(0, 1e6]"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2, coefficients: [1]}}\n", nullptr,
     "c.yaml:12:51: pair.sigma.coefficients: (a sequence):", "not used with kind: frozen"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial, nm: 2}}\n", nullptr,
     "c.yaml:12:38: pair.sigma.nm: 2:", "not used with kind: polynomial"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial}}\n", nullptr,
     "c.yaml:12:8: pair.sigma.coefficients: (missing):", "1 to 8 numbers"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial, coefficients: []}}\n", nullptr,
     "c.yaml:12:48: pair.sigma.coefficients: (a sequence):", "0 numbers"},
    {nullptr, nullptr,
     BRD "pair: {sigma: {kind: polynomial, coefficients: [1, 2, 3, 4, 5, 6, 7, "
         "8, 9]}}\n",
     nullptr, "c.yaml:12:48: pair.sigma.coefficients: (a sequence):", "9 numbers"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial, coefficients: [2, x]}}\n", nullptr,
     "c.yaml:12:52: pair.sigma.coefficients[1]: x:", "wrong type"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial, coefficients: 2}}\n", nullptr,
     "c.yaml:12:48: pair.sigma.coefficients: 2:", "wrong type"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2, t_offset: 2e15}}\n", nullptr,
     "c.yaml:12:47: pair.sigma.t_offset: 2e15:", "[-1e15, 1e15]"},
    // sigma(t) = 3 - 0.5 t is negative at t = 10 = t_end (npg_config_check, at the section)
    {nullptr, nullptr, BRD "pair: {sigma: {kind: polynomial, coefficients: [3, -0.5]}}\n", nullptr,
     "c.yaml:12:1: pair.sigma.coefficients: sigma(t) = ", "must lie in (0, 1e6] nm"},
    {nullptr, nullptr, BRD "pair:\n  sigma: {kind: frozen, nm: 2}\n  d_r: {kind: fast}\n", nullptr,
     "c.yaml:14:15: pair.d_r.kind: fast:", "from_diffusion power"},
    {nullptr, nullptr, BRD "pair:\n  sigma: {kind: frozen, nm: 2}\n  d_r: {kind: power}\n", nullptr,
     "c.yaml:14:3: pair.d_r.a: (missing):", "(0, 1e20]"},
    {nullptr, nullptr,
     BRD "pair:\n  sigma: {kind: frozen, nm: 2}\n  d_r: {kind: from_diffusion, a: 1}\n", nullptr,
     "c.yaml:14:34: pair.d_r.a: 1:", "not used with kind: from_diffusion"},
    {nullptr, nullptr,
     BRD "pair:\n  sigma: {kind: frozen, nm: 2}\n  d_r: {kind: power, a: 1, b: -1}\n", nullptr,
     "c.yaml:14:31: pair.d_r.b: -1:", "[0, 1e6]"},
    // 1 + b (t + t_offset) crosses 0: D_r is not finite (npg_config_check)
    {nullptr, nullptr,
     BRD "pair:\n  sigma: {kind: frozen, nm: 2, t_offset: -20}\n  d_r: {kind: power, a: 1, b: "
         "0.1, c: 1}\n",
     nullptr, "c.yaml:12:1: pair.d_r: D_r(t) = ", "must lie in (0, 1e20]"},
    // the shell (l 0 + 8 x 0.1 nm) must fit twice into rmax
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, rmax_nm: 1.5}\n", nullptr,
     "c.yaml:12:47: pair.rmax_nm: 1.5:", "at least 2 (ligand_nm + 8 shell_width_nm) = 1.6 nm"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, cells: 50}\n", nullptr,
     "c.yaml:12:45: pair.cells: 50:", "[100, 1e6]"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, quadrature: exact}\n", nullptr,
     "c.yaml:12:50: pair.quadrature: exact:", "consistent shifted"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, kinetics: molar}\n", nullptr,
     "c.yaml:12:48: pair.kinetics: molar:", "study box"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, initial: {r_max_nm: 40}}\n",
     nullptr, "c.yaml:12:58: pair.initial.r_max_nm: 40:", "initial_min_distance_nm = 44"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, initial: {sigma_at: eight}}\n",
     nullptr, "c.yaml:12:58: pair.initial.sigma_at: eight:", "start zero"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, p0_per_time: -1}\n", nullptr,
     "c.yaml:12:51: pair.p0_per_time: -1:", "[0, 1e30]"},
    {nullptr, nullptr, BRD "pair: {sigma: {kind: frozen, nm: 2}, t_cut: -1}\n", nullptr,
     "c.yaml:12:45: pair.t_cut: -1:", "[0, 1e15]"},
    {nullptr, nullptr, "coalescence:\n  mode: fast\n", nullptr,
     "c.yaml:7:9: coalescence.mode: fast:", "none well-mixed brownian"},
    {nullptr, nullptr, "coalescence: {kernel: constant}\n", nullptr,
     "c.yaml:6:1: coalescence.mode: (missing):", "required"},
    {nullptr, nullptr, "coalescence: well-mixed\n", nullptr,
     "c.yaml:6:14: coalescence: well-mixed:", "a mapping"},
    {nullptr, nullptr, WM DIFF, nullptr,
     "c.yaml:6:1: coalescence.volume_nm3: (missing):", "closed or precursor supply"},
    {nullptr, nullptr, WM "  volume_nm3: 0\n" DIFF, nullptr,
     "c.yaml:8:15: coalescence.volume_nm3: 0:", "(0, 1e30]"},
    {nullptr, nullptr, WM "  volume_nm3: 1e31\n" DIFF, nullptr,
     "c.yaml:8:15: coalescence.volume_nm3: 1e31:", "(0, 1e30]"},
    {nullptr, nullptr, WM "  particle_density_nm3: -1e-6\n" DIFF, nullptr,
     "c.yaml:8:25: coalescence.particle_density_nm3: -1e-6:", "(0, 1e6]"},
    {nullptr, nullptr, WMV "  particle_density_nm3: 1e-6\n" DIFF, nullptr,
     "c.yaml:9:25: coalescence.particle_density_nm3: 1e-6:", "given together with volume_nm3"},
    {nullptr, nullptr, WMV "  volume_nm3: 2.0e9\n" DIFF, nullptr,
     "c.yaml:9:3: coalescence.volume_nm3: 2.0e9:", "duplicate key"},
    {nullptr, nullptr, WMV DIFF "  kappa_c: 11.6\n", nullptr,
     "c.yaml:10:3: coalescence.kappa_c: 11.6:", "unknown key"},
    {nullptr, nullptr, WMV "  kernel: gaussian\n", nullptr,
     "c.yaml:9:11: coalescence.kernel: gaussian:", "brownian constant additive"},
    {nullptr, nullptr, WMV "  kernel: constant\n", nullptr,
     "c.yaml:6:1: coalescence.k_const_nm3_per_s: (missing):", "(0, 1e30]"},
    {nullptr, nullptr, WMV "  kernel: constant\n  k_const_nm3_per_s: 0\n", nullptr,
     "c.yaml:10:22: coalescence.k_const_nm3_per_s: 0:", "(0, 1e30]"},
    {nullptr, nullptr, WMV "  kernel: constant\n  k_const_nm3_per_s: fast\n", nullptr,
     "c.yaml:10:22: coalescence.k_const_nm3_per_s: fast:", "wrong type"},
    {nullptr, nullptr, WMV "  kernel: constant\n  k_const_nm3_per_s: 1\n" DIFF, nullptr,
     "c.yaml:11:14: coalescence.diffusion: (a mapping):", "not used with kernel: constant"},
    {nullptr, nullptr, WMV "  kernel: additive\n  k_add_nm3_per_s: 2e30\n", nullptr,
     "c.yaml:10:20: coalescence.k_add_nm3_per_s: 2e30:", "(0, 1e30]"},
    {nullptr, nullptr, WMV "  kernel: additive\n  k_const_nm3_per_s: 1\n", nullptr,
     "c.yaml:10:22: coalescence.k_const_nm3_per_s: 1:", "not used with kernel: additive"},
    {nullptr, nullptr, WMV "  k_add_nm3_per_s: 1\n" DIFF, nullptr,
     "c.yaml:9:20: coalescence.k_add_nm3_per_s: 1:", "not used with kernel: brownian"},
    {nullptr, nullptr, WMV, nullptr,
     "c.yaml:6:1: coalescence.diffusion: (missing):", "d_ref_nm2_per_s, r_ref_nm"},
    {nullptr, nullptr, WMV "  diffusion: 1.2\n", nullptr,
     "c.yaml:9:14: coalescence.diffusion: 1.2:", "wrong type: a mapping"},
    {nullptr, nullptr, WMV "  diffusion: {d_ref_nm2_per_s: 0, r_ref_nm: 1}\n", nullptr,
     "c.yaml:9:32: coalescence.diffusion.d_ref_nm2_per_s: 0:", "(0, 1e20]"},
    {nullptr, nullptr, WMV "  diffusion: {d_ref_nm2_per_s: 1, r_ref_nm: 2e6}\n", nullptr,
     "c.yaml:9:45: coalescence.diffusion.r_ref_nm: 2e6:", "(0, 1e6]"},
    {nullptr, nullptr, WMV "  diffusion: {d_ref_nm2_per_s: 1}\n", nullptr,
     "c.yaml:9:3: coalescence.diffusion.r_ref_nm: (missing):", "required"},
    {nullptr, nullptr, WMV "  diffusion: {d_ref: 1, r_ref_nm: 1}\n", nullptr,
     "c.yaml:9:15: coalescence.diffusion.d_ref: 1:", "unknown key"},
    {nullptr, nullptr, WMV DIFF "  intrinsic_rate_nm3_per_s: 0\n", nullptr,
     "c.yaml:10:29: coalescence.intrinsic_rate_nm3_per_s: 0:", "leave it out"},
    {nullptr, nullptr, WMV DIFF "  time_factor: {b_per_time: -0.1, c: 0.7}\n", nullptr,
     "c.yaml:10:29: coalescence.time_factor.b_per_time: -0.1:", "[0, 1e6]"},
    {nullptr, nullptr, WMV DIFF "  time_factor: {b_per_time: 0.1, c: 10.5}\n", nullptr,
     "c.yaml:10:37: coalescence.time_factor.c: 10.5:", "[-10, 10]"},
    {nullptr, nullptr, WMV DIFF "  time_factor: {c: 1}\n", nullptr,
     "c.yaml:10:3: coalescence.time_factor.b_per_time: (missing):", "required"},
    {nullptr, nullptr, WMV DIFF "  ligand_nm: -0.5\n", nullptr,
     "c.yaml:10:14: coalescence.ligand_nm: -0.5:", "[0, 1e6]"},
    {nullptr, nullptr, WMV DIFF "  ligand_nm: .inf\n", nullptr,
     "c.yaml:10:14: coalescence.ligand_nm: .inf:", "wrong type"},
    {nullptr, nullptr, WMV DIFF "  propensity: {kind: fermi, sigma_c_nm: 3}\n", nullptr,
     "c.yaml:10:3: coalescence.propensity.gamma_per_nm: (missing):", "(0, 1e6]"},
    {nullptr, nullptr, WMV DIFF "  propensity: {kind: fermi, gamma_per_nm: 0, sigma_c_nm: 3}\n",
     nullptr, "c.yaml:10:43: coalescence.propensity.gamma_per_nm: 0:", "(0, 1e6]"},
    {nullptr, nullptr, WMV DIFF "  propensity: {kind: fermi, gamma_per_nm: 7, sigma_c_nm: -3}\n",
     nullptr, "c.yaml:10:58: coalescence.propensity.sigma_c_nm: -3:", "(0, 1e6]"},
    {nullptr, nullptr, WMV DIFF "  propensity: {kind: none, gamma_per_nm: 7}\n", nullptr,
     "c.yaml:10:42: coalescence.propensity.gamma_per_nm: 7:", "not used with kind: none"},
    {nullptr, nullptr, WMV DIFF "  propensity: {kind: gaussian}\n", nullptr,
     "c.yaml:10:22: coalescence.propensity.kind: gaussian:", "none fermi"},
    {nullptr, nullptr, WMV DIFF "  epsilon: 0\n", nullptr,
     "c.yaml:10:12: coalescence.epsilon: 0:", "(0, 0.5]"},
    {nullptr, nullptr, WMV DIFF "  epsilon: 0.51\n", nullptr,
     "c.yaml:10:12: coalescence.epsilon: 0.51:", "(0, 0.5]"},
    {nullptr, nullptr, "coalescence: {mode: none, epsilon: 0.1}\n", nullptr,
     "c.yaml:6:36: coalescence.epsilon: 0.1:", "not used with mode: none"},
    // the Brownian kernel's scale (npg_config_check: at the section)
    {nullptr, nullptr, WMV "  diffusion: {d_ref_nm2_per_s: 1e20, r_ref_nm: 1e6}\n", nullptr,
     "c.yaml:6:1: coalescence.diffusion.d_ref_nm2_per_s: 1e+20:", "at most 1e30 nm^3/s"},
    // output.coalescence_events
    {nullptr, "output: {coalescence_events: -1}\n", WMV DIFF, nullptr,
     "c.yaml:5:30: output.coalescence_events: -1:", "[0, 1e8]"},
    {nullptr, "output: {coalescence_events: 1.5e8}\n", WMV DIFF, nullptr,
     "c.yaml:5:30: output.coalescence_events: 1.5e8:", "[0, 1e8]"},
    {nullptr, "output: {coalescence_events: 10.5}\n", WMV DIFF, nullptr,
     "c.yaml:5:30: output.coalescence_events: 10.5:", "integer"},
    // supply.monomer_exchange
    {"supply: {mode: schedule, supersaturation: [[0, 3]], monomer_exchange: no}\n", nullptr, "",
     nullptr, "c.yaml:2:71: supply.monomer_exchange: no:", "true or false"},
    {"supply: {mode: closed, volume_nm3: 1e9, solubility_nm3: 5e-4, initial_supersaturation: 4, "
     "monomer_exchange: 0}\n",
     nullptr, "", nullptr, "c.yaml:2:109: supply.monomer_exchange: 0:", "true or false"},
    // the volume shared with a closed supply (1000 particles at 1e-6 nm^-3: V = 1e9 nm^3)
    {kClosed, nullptr, WM "  particle_density_nm3: 2.0e-6\n" DIFF, nullptr,
     "c.yaml:8:25: coalescence.particle_density_nm3: 2.0e-6:",
     "disagrees with supply.particle_density_nm3"},
    // source: Poisson
    {nullptr, nullptr, "source: {t_stop: 5}\n", nullptr,
     "c.yaml:6:1: source.rate_per_time: (missing):", "entries_file"},
    {nullptr, nullptr, "source:\n  rate_per_time: 0\n  t_stop: 5\n" MONO, nullptr,
     "c.yaml:7:18: source.rate_per_time: 0:", "(0, 1e30]"},
    {nullptr, nullptr, "source:\n  rate_per_time: 2\n  t_start: -1\n  t_stop: 5\n" MONO, nullptr,
     "c.yaml:8:12: source.t_start: -1:", "[0, 1e15]"},
    {nullptr, nullptr, "source:\n  rate_per_time: 2\n  t_start: 5\n  t_stop: 5\n" MONO, nullptr,
     "c.yaml:9:11: source.t_stop: 5:", "(t_start, 1e15]"},
    {nullptr, nullptr, "source:\n  rate_per_time: 2\n  t_start: 1\n" MONO, nullptr,
     "c.yaml:6:1: source.t_stop: (missing):", "required"},
    {nullptr, nullptr, POIS, nullptr, "c.yaml:6:1: source.size: (missing):", "kind:"},
    {nullptr, nullptr, POIS "  size: {kind: monodisperse, n: 1}\n", nullptr,
     "c.yaml:10:33: source.size.n: 1:", ">= 2"},
    {nullptr, nullptr, POIS "  size: {kind: normal, n: 100}\n", nullptr,
     "c.yaml:10:27: source.size.n: 100:", "not used with kind: normal"},
    {nullptr, nullptr, POIS "  size: {kind: lognormal, mean_r_nm: 0.01, sd_r_nm: 0.001}\n", nullptr,
     "c.yaml:10:38: source.size.mean_r_nm: 0.01:", "P(2 <= n < 4e9)"},
    {nullptr, nullptr, POIS "  size: {kind: histogram, file: e.csv}\n", "t,n\n1,100\n",
     "e.csv:1:1: source.size.file: t,n:", "a header line n,count"},
    {nullptr, nullptr, POIS MONO "  entries_file: e.csv\n", nullptr,
     "c.yaml:7:18: source.rate_per_time: 2:", "given together with entries_file"},
    {nullptr, nullptr, "source: {t_stop: 5, entries_file: e.csv}\n", nullptr,
     "c.yaml:6:18: source.t_stop: 5:", "given together with entries_file"},
    {nullptr, nullptr, POIS MONO "  rate: 2\n", nullptr,
     "c.yaml:11:3: source.rate: 2:", "unknown key"},
    // 1e9 per s over 9 s: 9e9 entries beside 1000 particles
    {nullptr, nullptr, "source:\n  rate_per_time: 1e9\n  t_stop: 100\n" MONO, nullptr,
     "c.yaml:6:1: source.rate_per_time: 1e+09:", "at most 2^32 - 2 particle slots"},
    // source: entries_file
    {nullptr, nullptr, "source: {entries_file: nope.csv}\n", nullptr,
     "c.yaml:6:24: source.entries_file: nope.csv:", "cannot open"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "time,n\n1,100\n",
     "e.csv:1:1: source.entries_file: time,n:", "a header line t,n"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "",
     "c.yaml:6:24: source.entries_file: e.csv:", "is empty"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\n1,100\n0.5,100\n",
     "e.csv:3:1: source.entries_file: 0.5:", "non-decreasing (after 1)"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\n-1,100\n",
     "e.csv:2:1: source.entries_file: -1:", "[0, 1e15]"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\nnan,100\n",
     "e.csv:2:1: source.entries_file: nan:", "[0, 1e15]"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\n1,1\n",
     "e.csv:2:3: source.entries_file: 1:", "n: an integer in [2, 4e9)"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\n1,100\n2, 2.5\n",
     "e.csv:3:4: source.entries_file: 2.5:", "n: an integer"},
    {nullptr, nullptr, "source: {entries_file: e.csv}\n", "t,n\n1,100\n2\n",
     "e.csv:3:1: source.entries_file: 2:", "a row t,n"},
};
} // namespace

TEST(ConfigCoalescence, BadValuesGiveExitStatus2AndAPreciseMessage)
{
    int i = 0;
    for (const BadCoal &b : kBadCoal) {
        TmpDir d;
        if (b.csv)
            d.write("e.csv", b.csv);
        std::string path = d.write("c.yaml", config_text(b.supply, b.output, b.rest));
        testing::internal::CaptureStderr();
        Loaded l(path);
        testing::internal::GetCapturedStderr();
        SCOPED_TRACE("case " + std::to_string(i++) + ": " + b.where);
        EXPECT_EQ(l.rc, NPG_EXIT_USAGE) << config_text(b.supply, b.output, b.rest);
        EXPECT_NE(l.err.find(b.where), std::string::npos) << l.err;
        EXPECT_NE(l.err.find(b.what), std::string::npos) << l.err;
        EXPECT_EQ(l.err.find('\n'), std::string::npos) << "one line: " << l.err;
        EXPECT_EQ(l.cfg.src.size_sizes, nullptr) << "arrays freed on error";
        EXPECT_EQ(l.cfg.src.entries_t, nullptr) << "arrays freed on error";
    }
}

namespace
{
void expect_same_coal(const npg_config &a, const npg_config &b)
{
    const npg_coal_config &x = a.coal, &y = b.coal;
    EXPECT_EQ(x.mode, y.mode);
    EXPECT_EQ(x.volume_nm3, y.volume_nm3);
    EXPECT_EQ(x.particle_density_nm3, y.particle_density_nm3);
    EXPECT_EQ(x.kernel, y.kernel);
    EXPECT_EQ(x.k_const_nm3_per_s, y.k_const_nm3_per_s);
    EXPECT_EQ(x.k_add_nm3_per_s, y.k_add_nm3_per_s);
    EXPECT_EQ(x.intrinsic_rate_nm3_per_s, y.intrinsic_rate_nm3_per_s);
    EXPECT_EQ(x.d_ref_nm2_per_s, y.d_ref_nm2_per_s);
    EXPECT_EQ(x.r_ref_nm, y.r_ref_nm);
    EXPECT_EQ(x.tf_b_per_time, y.tf_b_per_time);
    EXPECT_EQ(x.tf_c, y.tf_c);
    EXPECT_EQ(x.ligand_nm, y.ligand_nm);
    EXPECT_EQ(x.propensity, y.propensity);
    EXPECT_EQ(x.gamma_per_nm, y.gamma_per_nm);
    EXPECT_EQ(x.sigma_c_nm, y.sigma_c_nm);
    EXPECT_EQ(x.epsilon, y.epsilon);
    EXPECT_EQ(x.output_events, y.output_events);
    EXPECT_EQ(x.kappa_c_per_s, y.kappa_c_per_s);
    EXPECT_EQ(x.shell_width_nm, y.shell_width_nm);
    EXPECT_EQ(x.shell, y.shell);
    EXPECT_EQ(x.initial_min_distance_nm, y.initial_min_distance_nm);
    EXPECT_EQ(x.shell_sampling, y.shell_sampling);
    EXPECT_EQ(x.step_resolution, y.step_resolution);
    EXPECT_EQ(x.split_steps, y.split_steps);
    EXPECT_EQ(a.no_monomer_exchange, b.no_monomer_exchange);
    const npg_pair_config &p = a.pair, &q = b.pair;
    EXPECT_EQ(p.present, q.present);
    EXPECT_EQ(p.sigma, q.sigma);
    EXPECT_EQ(p.sigma_nm, q.sigma_nm);
    ASSERT_EQ(p.n_coeffs, q.n_coeffs);
    for (uint32_t k = 0; k < p.n_coeffs; ++k)
        EXPECT_EQ(p.coeffs[k], q.coeffs[k]) << k;
    EXPECT_EQ(p.t_offset, q.t_offset);
    EXPECT_EQ(p.d_r, q.d_r);
    EXPECT_EQ(p.dr_a_nm2_per_s, q.dr_a_nm2_per_s);
    EXPECT_EQ(p.dr_b_per_time, q.dr_b_per_time);
    EXPECT_EQ(p.dr_c, q.dr_c);
    EXPECT_EQ(p.rmax_nm, q.rmax_nm);
    EXPECT_EQ(p.cells, q.cells);
    EXPECT_EQ(p.quadrature, q.quadrature);
    EXPECT_EQ(p.ic_r_max_nm, q.ic_r_max_nm);
    EXPECT_EQ(p.ic_sigma, q.ic_sigma);
    EXPECT_EQ(p.p0_per_time, q.p0_per_time);
    EXPECT_EQ(p.t_cut, q.t_cut);
    EXPECT_EQ(p.kinetics, q.kinetics);
    const npg_source_config &s = a.src, &t = b.src;
    EXPECT_EQ(s.kind, t.kind);
    EXPECT_EQ(s.rate_per_time, t.rate_per_time);
    EXPECT_EQ(s.t_start, t.t_start);
    EXPECT_EQ(s.t_stop, t.t_stop);
    EXPECT_EQ(s.size_kind, t.size_kind);
    EXPECT_EQ(s.size_n, t.size_n);
    EXPECT_EQ(s.size_mean_r_nm, t.size_mean_r_nm);
    EXPECT_EQ(s.size_sd_r_nm, t.size_sd_r_nm);
    EXPECT_STREQ(s.size_file, t.size_file);
    ASSERT_EQ(s.size_table_len, t.size_table_len);
    for (size_t i = 0; i < s.size_table_len; ++i) {
        EXPECT_EQ(s.size_sizes[i], t.size_sizes[i]);
        EXPECT_EQ(s.size_counts[i], t.size_counts[i]);
    }
    EXPECT_STREQ(s.entries_file, t.entries_file);
    ASSERT_EQ(s.entries_len, t.entries_len);
    for (size_t i = 0; i < s.entries_len; ++i) {
        EXPECT_EQ(s.entries_t[i], t.entries_t[i]);
        EXPECT_EQ(s.entries_n[i], t.entries_n[i]);
    }
}

std::string yaml_of(const npg_config &c)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return "";
    npg_config_write_yaml(m, &c, 0);
    fclose(m);
    std::string s(buf, len);
    free(buf);
    return s;
}
} // namespace

TEST(ConfigCoalescence, WriteYamlRoundTripsTheNewKeys)
{
    TmpDir d;
    d.write("e.csv", "t,n\n0,100\n2.5,2\n7,3999999999\n");
    d.write("h.csv", "n,count\n50,1\n100,3\n");
    const std::string cases[] = {
        config_text("supply: {mode: schedule, supersaturation: [[0, 3.0]], monomer_exchange: "
                    "false}\n",
                    "output: {coalescence_events: 0}\n", kFull),
        config_text(kClosed, nullptr, kMinimal), // the coalescence volume beside the supply's
        config_text(kClosed, nullptr,
                    "coalescence: {mode: well-mixed, kernel: constant, k_const_nm3_per_s: "
                    "0.1}\nsource: {entries_file: e.csv}\n"),
        config_text(nullptr, nullptr,
                    "coalescence: {mode: well-mixed, particle_density_nm3: 3e-7, kernel: "
                    "additive, k_add_nm3_per_s: 1e-3, propensity: {kind: none}}\n"
                    "source:\n  rate_per_time: 0.25\n  t_start: 0.1\n  t_stop: 1e15\n"
                    "  size: {kind: histogram, file: h.csv}\n"),
        config_text(nullptr, "output: {coalescence_events: 7}\n",
                    "source: {rate_per_time: 1, t_stop: 2, size: {kind: normal, mean_r_nm: 1, "
                    "sd_r_nm: 0.1}}\n"),
        config_text(nullptr, nullptr, kMinimal),
        config_text(nullptr, nullptr, kBrownianPair),
        config_text(nullptr, nullptr,
                    "coalescence: {mode: brownian, volume_nm3: 1e9, kappa_c_per_s: 0, shell: "
                    "step, diffusion: {d_ref_nm2_per_s: 1, r_ref_nm: 1}}\n"
                    "pair: {sigma: {kind: frozen, nm: 2.5}}\n"),
        config_text(kClosed, nullptr,
                    "coalescence: {mode: brownian, kappa_c_per_s: 3, diffusion: {d_ref_nm2_per_s: "
                    "1, r_ref_nm: 1}, time_factor: {b_per_time: 0.1, c: 0.5}}\n"),
    };
    int i = 0;
    for (const std::string &text : cases) {
        SCOPED_TRACE("case " + std::to_string(i));
        std::string name = "c" + std::to_string(i++) + ".yaml";
        testing::internal::CaptureStderr();
        Loaded a(d.write(name, text));
        ASSERT_EQ(a.rc, 0) << a.err << "\n" << text;
        // awkward doubles must survive too
        if (a.cfg.coal.mode != NPG_COAL_NONE)
            a.cfg.coal.epsilon = 0.1 + 0.2;
        if (a.cfg.src.kind == NPG_SOURCE_POISSON)
            a.cfg.src.rate_per_time = 1.0 / 3.0;
        std::string y = yaml_of(a.cfg);
        Loaded b(d.write("rt-" + name, y));
        testing::internal::GetCapturedStderr();
        ASSERT_EQ(b.rc, 0) << b.err << "\n" << y;
        expect_same(a.cfg, b.cfg);
        expect_same_coal(a.cfg, b.cfg);
    }
    // Configs without the new sections write none of the new keys: run.yaml as before.
    for (const char *f : {"pt-acac", "pt-acac-closed", "pt-acac-precursor", "au"}) {
        Loaded a(kSrc + "/configs/" + f + ".yaml");
        ASSERT_EQ(a.rc, 0) << a.err;
        std::string y = yaml_of(a.cfg);
        for (const char *key : {"coalescence", "source:", "monomer_exchange", "entries_file",
                                "pair:", "kappa_c", "shell"})
            EXPECT_EQ(y.find(key), std::string::npos) << f << ": " << key << "\n" << y;
    }
}
