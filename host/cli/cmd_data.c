/* cmd_data.c: `npgrow data import FORMAT FILE... --system CONFIG -o DIR`: argument parsing
 * over host/data/import.c, and the result directory's run.yaml.
 *
 * FORMAT tem-pixel (in-situ TEM trajectories, model.md 4.1) or radii (ex-situ samples, 4.2).
 * sigma_s and the time unit come from the --system config; pixel size and frame interval are
 * options (model.md 1.7 lists each data set's values; README shows the commands).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/config.h"
#include "npgrow/data.h"
#include "npgrow/outdir.h"
#include "npgrow/status.h"

#define MAX_FILES 64

/* A YAML double-quoted scalar of s. */
static void yaml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_yaml(const char *dir, const char *format, const char *const *files, int nf,
                      const npg_config *cfg, const char *cfg_path, const npg_tem_options *o,
                      int outliers, const npg_data_set *d, unsigned resamples, unsigned long seed,
                      char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%.3000s: cannot create", path);
        return NPG_EXIT_FAIL;
    }
    fprintf(f, "# npgrow data import (npgrow data import %s)\n", format);
    fprintf(f, "producer: data\nkind: data\nstatus: complete\nversion: %s\nformat: %s\n",
            NPGROW_VERSION, format);
    fprintf(f, "time_unit: %s\n", cfg->time_unit); /* as in a run's run.yaml (infer reads it) */
    fputs("sources:\n", f);
    for (int i = 0; i < nf; ++i) {
        fputs("  - ", f);
        yaml_str(f, files[i]);
        fputc('\n', f);
    }
    fputs("system:\n  config: ", f);
    yaml_str(f, cfg_path);
    fputs("\n  name: ", f);
    yaml_str(f, cfg->name);
    fprintf(f, "\n  sigma_s_nm: %.10g\n  time_unit: %s\n", cfg->model.sigma_s, cfg->time_unit);
    fputs("conversion:\n", f);
    if (d->in_situ) {
        fprintf(f, "  pixel_nm: %.10g\n", o->pixel_nm);
        if (o->time_column)
            fputs("  time: column 1\n", f);
        else
            fprintf(f, "  frame_dt: %.10g\n", o->frame_dt);
        fprintf(f, "  groups: %s\n", o->groups ? "true" : "false");
        fputs("  r_nm: pixel * sqrt(area / pi)\n  n: round((r / sigma_s)^3)\n"
              "  absent: area 0, an empty cell, or n = 0\n",
              f);
        if (o->clean)
            fprintf(f,
                    "  clean: drop a trajectory with %d or more runs of more than %d absent "
                    "frames (merging groups exempt)\n",
                    o->clean_min_runs, o->clean_run_len);
        else
            fputs("  clean: off\n", f);
        fprintf(f, "trajectories_read: %zu\ntrajectories_removed: %zu\n", d->np_read, d->removed);
        fprintf(f, "coalescence_events: %zu\n", d->nevents);
        npg_data_noise nz;
        if (!npg_data_noise_estimate(d, &nz)) {
            fprintf(f,
                    "measurement_noise:  # from frame-to-frame jitter along trajectories "
                    "(include/npgrow/data.h)\n"
                    "  sigma_ln_n: %.4g  # [-] each particle's own jitter, sd of ln n per frame\n"
                    "  sigma_ln_n_frame: %.4g  # [-] common jump of whole frames\n"
                    "  second_differences: %zu\n"
                    "  var_n_inflation:  # sigma^2 <n^2> / var_n of the data\n",
                    nz.sigma_ln, nz.sigma_ln_frame, nz.triples);
            for (int j = 0; j < 3; ++j)
                fprintf(f, "    - [%.10g, %.4g]  # [t, fraction of var_n]\n", nz.var_fraction_t[j],
                        nz.var_fraction[j]);
        }
    } else {
        fputs("  n: (r / sigma_s)^3\n", f);
        fprintf(f, "  outliers: %s\n",
                outliers ? "r^3 with |x - median| > 3 * 1.4826 * MAD removed per time" : "kept");
        fprintf(f, "samples_read: %zu\nsamples_removed: %zu\n", d->np_read, d->removed);
    }
    fprintf(f, "particles: %zu\ntimes: %zu\nt_first: %.10g\nt_reached: %.10g\n", d->np, d->nt,
            d->t[0], d->t[d->nt - 1]);
    if (resamples)
        fprintf(f, "bootstrap:\n  resamples: %u\n  seed: %lu\n  over: %s\n  levels: [0.68, 0.95]\n",
                resamples, seed, d->in_situ ? "trajectories" : "samples of each time");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        snprintf(err, errlen, "%.3000s: write error", path);
    return bad ? NPG_EXIT_FAIL : 0;
}

int npg_cmd_data(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(npg_cli_help_text("data"), stdout);
        return NPG_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "import"))
        return npg_cli_usage_error("data", "expected 'import', got '%s'",
                                   argc < 2 ? "(nothing)" : argv[1]);
    const char *format = NULL, *files[MAX_FILES], *sys = NULL, *out = NULL;
    int nf = 0, force = 0, quiet = 0, outliers = 0;
    npg_tem_options o = NPG_TEM_OPTIONS_DEFAULT;
    unsigned long long resamples = 1000, seed = 1;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        const char *allowed = "a positive number";
        unsigned long long u = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v || !*v;
            allowed = "a directory name";
            out = v;
            ++i;
        } else if (!strcmp(a, "--system")) {
            bad = !v || !*v;
            allowed = "an npgrow config file";
            sys = v;
            ++i;
        } else if (!strcmp(a, "--pixel")) {
            bad = npg_parse_double(v, 1e-6, 1e6, &o.pixel_nm);
            allowed = "a pixel size in nm, 1e-6 .. 1e6";
            ++i;
        } else if (!strcmp(a, "--frame-dt")) {
            bad = npg_parse_double(v, 1e-12, 1e12, &o.frame_dt);
            allowed = "a frame interval in the config's time unit, 1e-12 .. 1e12";
            ++i;
        } else if (!strcmp(a, "--time-column")) {
            o.time_column = 1;
        } else if (!strcmp(a, "--groups")) {
            o.groups = 1;
        } else if (!strcmp(a, "--no-clean")) {
            o.clean = 0;
        } else if (!strcmp(a, "--clean-runs")) {
            bad = npg_parse_u64(v, 1, 1000000, &u);
            o.clean_min_runs = (int)u;
            allowed = "an integer 1 .. 1000000";
            ++i;
        } else if (!strcmp(a, "--clean-len")) {
            bad = npg_parse_u64(v, 0, 1000000, &u);
            o.clean_run_len = (int)u;
            allowed = "an integer 0 .. 1000000";
            ++i;
        } else if (!strcmp(a, "--outliers")) {
            outliers = 1;
        } else if (!strcmp(a, "--resamples")) {
            bad = npg_parse_u64(v, 0, 1000000, &resamples);
            allowed = "an integer 0 .. 1000000";
            ++i;
        } else if (!strcmp(a, "--seed")) {
            bad = npg_parse_u64(v, 0, 4294967295ull, &seed);
            allowed = "an integer 0 .. 4294967295";
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(npg_cli_help_text("data"), stdout);
            return NPG_EXIT_OK;
        } else if (a[0] == '-' && a[1]) {
            return npg_cli_usage_error("data", "unexpected argument '%s'", a);
        } else if (!format) {
            format = a;
        } else if (nf == MAX_FILES) {
            return npg_cli_usage_error("data", "more than 64 files ('%s')", a);
        } else {
            files[nf++] = a;
        }
        if (bad) {
            fprintf(stderr, "npgrow data: %s: invalid value '%s' (%s)\n%s", a, v ? v : "(missing)",
                    allowed, npg_cli_help_text("data"));
            return NPG_EXIT_USAGE;
        }
    }
    int tem = format && !strcmp(format, "tem-pixel");
    if (!format || (!tem && strcmp(format, "radii")))
        return npg_cli_usage_error("data", "FORMAT must be tem-pixel or radii, not '%s'",
                                   format ? format : "(missing)");
    if (!nf)
        return npg_cli_usage_error("data", "no FILE given%s", "");
    if (!sys)
        return npg_cli_usage_error("data", "--system CONFIG is required (sigma_s, time unit)%s",
                                   "");
    if (!out)
        return npg_cli_usage_error("data", "-o DIR is required%s", "");
    if (tem && !(o.pixel_nm > 0))
        return npg_cli_usage_error("data", "tem-pixel needs --pixel NM (Pt 0.53, Au 0.538)%s", "");
    if (tem && !o.time_column && !(o.frame_dt > 0))
        return npg_cli_usage_error("data", "tem-pixel needs --frame-dt T or --time-column%s", "");
    if (!tem && (o.pixel_nm > 0 || o.frame_dt > 0 || o.time_column || o.groups))
        return npg_cli_usage_error("data", "radii takes no tem-pixel options%s", "");
    if (tem && outliers)
        return npg_cli_usage_error("data", "--outliers is for radii (ex situ)%s", "");

    char err[4096] = "";
    npg_config cfg;
    int rc = npg_config_load(sys, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow data: %s\n", err);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    npg_data_set d;
    rc = tem ? npg_data_read_tem(files, nf, &o, cfg.model.sigma_s, &d, err, sizeof err)
             : npg_data_read_radii(files, nf, cfg.model.sigma_s, outliers, &d, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow data: %s\n", err);
        npg_config_free(&cfg);
        return rc;
    }
    npg_outdir od;
    if ((rc = npg_outdir_open(&od, out, force, err, sizeof err))) {
        fprintf(stderr, "npgrow data: %s\n", err);
        npg_data_free(&d);
        npg_config_free(&cfg);
        return rc;
    }
    npg_stop_install();
    double *band = NULL;
    if (resamples) {
        band = malloc(d.nt * NPG_DATA_NQ * 4 * sizeof *band);
        rc = band ? npg_data_bootstrap(&d, (unsigned)resamples, (unsigned long)seed, band)
                  : NPG_EXIT_FAIL;
        if (rc)
            snprintf(err, sizeof err, "%s",
                     rc == NPG_EXIT_FAIL ? "out of memory for the bootstrap" : "interrupted");
    }
    if (!rc)
        rc = npg_data_write(&d, &cfg, band, od.tmp, err, sizeof err);
    if (!rc)
        rc = write_yaml(od.tmp, format, files, nf, &cfg, sys, &o, outliers, &d, (unsigned)resamples,
                        (unsigned long)seed, err, sizeof err);
    if (!rc && (rc = npg_outdir_commit_dir(&od, err, sizeof err)))
        rc = NPG_EXIT_FAIL;
    if (rc) {
        fprintf(stderr, "npgrow data: %s\n", err);
        npg_outdir_discard(&od);
    } else if (!quiet) {
        fprintf(stderr,
                "npgrow data: %zu %s (%zu read, %zu removed), %zu times %g .. %g %s -> %s\n", d.np,
                d.in_situ ? "trajectories" : "samples", d.np_read, d.removed, d.nt, d.t[0],
                d.t[d.nt - 1], cfg.time_unit, od.path);
    }
    npg_stop_restore();
    free(band);
    npg_data_free(&d);
    npg_config_free(&cfg);
    return rc;
}
