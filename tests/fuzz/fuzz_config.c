/* fuzz_config.c: a libFuzzer target over the config loader (npg_config_load, host/io/config.c).
 *
 * Each input becomes input.yaml in a private temporary directory that also links the files of
 * tests/data/config and tests/fuzz/data, so `file: hist.csv` and `preset: local-sys` reach the
 * CSV reader and the preset merge (shipped presets come from configs/ as usual). A config that
 * loads must also give an initial-size view and must reload, with the same numbers, from what
 * npg_config_write_yaml writes (run.yaml depends on it), the coalescence: and source: sections
 * included; a Poisson source must give a size view too. Everything loaded is freed
 * (LeakSanitizer). Built with clang -fsanitize=fuzzer by scripts/fuzz.sh, and with replay_main.c
 * for ctest.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, symlink, scandir, strdup */

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npgrow/config.h"

#ifndef NPGROW_FUZZ_DATA
#define NPGROW_FUZZ_DATA "tests/data/config"
#endif
#ifndef NPGROW_FUZZ_FILES
#define NPGROW_FUZZ_FILES "tests/fuzz/data"
#endif

#define NPG_FUZZ_MAX_LINKS 256

static char g_dir[256], g_input[320], g_again[320];
static char *g_links[NPG_FUZZ_MAX_LINKS]; /* paths of the links in g_dir */
static int g_nlinks;

static void cleanup(void)
{
    for (int i = 0; i < g_nlinks; ++i) {
        unlink(g_links[i]);
        free(g_links[i]);
    }
    unlink(g_input);
    unlink(g_again);
    rmdir(g_dir);
}

/* Link every plain file of `from` into g_dir (the first of two equal names wins). */
static void link_all(const char *from)
{
    struct dirent **list;
    int n = scandir(from, &list, NULL, alphasort);
    if (n < 0) {
        perror(from);
        abort();
    }
    for (int k = 0; k < n; ++k) {
        char src[1024], dst[640];
        snprintf(src, sizeof src, "%s/%s", from, list[k]->d_name);
        snprintf(dst, sizeof dst, "%s/%s", g_dir, list[k]->d_name);
        struct stat st;
        if (list[k]->d_name[0] != '.' && !stat(src, &st) && S_ISREG(st.st_mode) &&
            g_nlinks < NPG_FUZZ_MAX_LINKS && symlink(src, dst) == 0)
            g_links[g_nlinks++] = strdup(dst);
        free(list[k]);
    }
    free(list);
}

static void setup_once(void)
{
    if (g_dir[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/npgrow-fuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("fuzz_config: mkdtemp");
        abort();
    }
    link_all(NPGROW_FUZZ_DATA);
    link_all(NPGROW_FUZZ_FILES);
    snprintf(g_input, sizeof g_input, "%s/input.yaml", g_dir);
    snprintf(g_again, sizeof g_again, "%s/again.yaml", g_dir);
    atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
}

/* Equal as doubles, or both NaN (a loaded config holds no NaN, but say what we mean). */
static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* coalescence: and output.coalescence_events alike. */
static int same_coal(const npg_config *a, const npg_config *b)
{
    const npg_coal_config *x = &a->coal, *y = &b->coal;
    return x->mode == y->mode && same(x->volume_nm3, y->volume_nm3) &&
           same(x->particle_density_nm3, y->particle_density_nm3) && x->kernel == y->kernel &&
           same(x->k_const_nm3_per_s, y->k_const_nm3_per_s) &&
           same(x->k_add_nm3_per_s, y->k_add_nm3_per_s) &&
           same(x->intrinsic_rate_nm3_per_s, y->intrinsic_rate_nm3_per_s) &&
           same(x->d_ref_nm2_per_s, y->d_ref_nm2_per_s) && same(x->r_ref_nm, y->r_ref_nm) &&
           same(x->tf_b_per_time, y->tf_b_per_time) && same(x->tf_c, y->tf_c) &&
           same(x->ligand_nm, y->ligand_nm) && x->propensity == y->propensity &&
           same(x->gamma_per_nm, y->gamma_per_nm) && same(x->sigma_c_nm, y->sigma_c_nm) &&
           same(x->epsilon, y->epsilon) && x->output_events == y->output_events;
}

/* source: alike, its tables included. */
static int same_source(const npg_source_config *s, const npg_source_config *t)
{
    int ok = s->kind == t->kind && same(s->rate_per_time, t->rate_per_time) &&
             same(s->t_start, t->t_start) && same(s->t_stop, t->t_stop) &&
             s->size_kind == t->size_kind && s->size_n == t->size_n &&
             same(s->size_mean_r_nm, t->size_mean_r_nm) && same(s->size_sd_r_nm, t->size_sd_r_nm) &&
             s->size_table_len == t->size_table_len && s->entries_len == t->entries_len;
    for (size_t i = 0; ok && i < s->size_table_len; ++i)
        ok = s->size_sizes[i] == t->size_sizes[i] && same(s->size_counts[i], t->size_counts[i]);
    for (size_t i = 0; ok && i < s->entries_len; ++i)
        ok = same(s->entries_t[i], t->entries_t[i]) && s->entries_n[i] == t->entries_n[i];
    return ok;
}

/* The loaded config, written as YAML and reloaded, must give the same name and values. */
static void check_roundtrip(const npg_config *cfg)
{
    FILE *f = fopen(g_again, "w");
    if (!f) {
        perror(g_again);
        abort();
    }
    npg_config_write_yaml(f, cfg, 0);
    fclose(f);
    npg_config again;
    char err[2048];
    if (npg_config_load(g_again, &again, err, sizeof err)) {
        fprintf(stderr, "fuzz_config: a loaded config does not reload from its own YAML: %s\n",
                err);
        abort();
    }
    const npg_model *m = &cfg->model, *m2 = &again.model;
    int ok = strcmp(cfg->name, again.name) == 0 && same(m->d_eps_f, m2->d_eps_f) &&
             same(m->d_eps_e, m2->d_eps_e) && same(m->ap, m2->ap) && same(m->lam, m2->lam) &&
             same(m->K, m2->K) && same(m->delta, m2->delta) && same(m->sigma_s, m2->sigma_s) &&
             cfg->supply == again.supply && cfg->schedule_len == again.schedule_len &&
             same(cfg->volume_nm3, again.volume_nm3) &&
             same(cfg->particle_density_nm3, again.particle_density_nm3) &&
             same(cfg->solubility_nm3, again.solubility_nm3) &&
             same(cfg->initial_supersaturation, again.initial_supersaturation) &&
             same(cfg->precursor_nm3, again.precursor_nm3) && same(cfg->k_p, again.k_p) &&
             same(cfg->tolerance, again.tolerance) && cfg->init_kind == again.init_kind &&
             cfg->init_n == again.init_n && same(cfg->init_mean_r_nm, again.init_mean_r_nm) &&
             same(cfg->init_sd_r_nm, again.init_sd_r_nm) &&
             cfg->init_table_len == again.init_table_len && cfg->particles == again.particles &&
             same(cfg->t_end, again.t_end) && same(cfg->output_every, again.output_every) &&
             cfg->seed == again.seed && cfg->n_table == again.n_table &&
             cfg->hist_bin_width == again.hist_bin_width &&
             same(cfg->hist_log_ratio, again.hist_log_ratio) &&
             cfg->trajectories == again.trajectories && cfg->me_n_max == again.me_n_max &&
             cfg->no_monomer_exchange == again.no_monomer_exchange && same_coal(cfg, &again) &&
             same_source(&cfg->src, &again.src);
    for (size_t i = 0; ok && i < cfg->schedule_len; ++i)
        ok = same(cfg->schedule_t[i], again.schedule_t[i]) &&
             same(cfg->schedule_s[i], again.schedule_s[i]);
    for (size_t i = 0; ok && i < cfg->init_table_len; ++i)
        ok = cfg->init_sizes[i] == again.init_sizes[i] &&
             same(cfg->init_counts[i], again.init_counts[i]);
    npg_config_free(&again);
    if (!ok) {
        fprintf(stderr, "fuzz_config: the reloaded config differs from the loaded one\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    write_file(g_input, data, size);
    npg_config cfg;
    char err[2048];
    if (npg_config_load(g_input, &cfg, err, sizeof err) == 0) {
        npg_init_view v;
        double *cdf = NULL;
        if (npg_config_init_view(&cfg, &v, &cdf, err, sizeof err)) {
            fprintf(stderr, "fuzz_config: a loaded config has no initial-size view: %s\n", err);
            abort();
        }
        /* A histogram start gives a CDF: nondecreasing in [0, 1], ending at 1. */
        for (uint32_t i = 0; cdf && i < v.table_len; ++i)
            if (!(cdf[i] >= (i ? cdf[i - 1] : 0.0) && cdf[i] <= 1.0) ||
                (i + 1 == v.table_len && cdf[i] != 1.0)) {
                fprintf(stderr, "fuzz_config: initial-size CDF[%u] = %g is not a CDF\n", i, cdf[i]);
                abort();
            }
        free(cdf);
        /* A Poisson source has a size view of its own, a CDF too when it is a histogram. */
        if (cfg.src.kind == NPG_SOURCE_POISSON) {
            if (npg_config_source_view(&cfg, &v, &cdf, err, sizeof err)) {
                fprintf(stderr, "fuzz_config: a loaded source has no size view: %s\n", err);
                abort();
            }
            if (cdf && cdf[v.table_len - 1] != 1.0) {
                fprintf(stderr, "fuzz_config: the source's size CDF does not end at 1\n");
                abort();
            }
            free(cdf);
        }
        if (cfg.supply == NPG_SUPPLY_SCHEDULE &&
            !(npg_config_schedule_s(&cfg, 0.5 * cfg.t_end) >= 0.0)) {
            fprintf(stderr, "fuzz_config: S(t_end/2) is not a number >= 0\n");
            abort();
        }
        check_roundtrip(&cfg);
    }
    npg_config_free(&cfg);
    return 0;
}
