/* cmd_run.c: `npgrow run CONFIG [options]`: argument parsing over npg_run (run.c); options
 * and exit statuses in help.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/run.h"

int npg_cmd_run(int argc, char **argv)
{
    const char *config = NULL, *outdir = NULL, *backend = "cpu";
    unsigned long long particles = 0, seed = 0, threads = 0, device = 0;
    int have_particles = 0, have_seed = 0, force = 0, quiet = 0;
    double t_end = 0.0, max_output_gb = 0.0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v || !*v;
            outdir = v;
            ++i;
        } else if (!strcmp(a, "--particles")) {
            bad = npg_parse_u64(v, 1, 4000000000ULL, &particles);
            have_particles = 1;
            ++i;
        } else if (!strcmp(a, "--seed")) {
            bad = npg_parse_u64(v, 0, 4294967295ULL, &seed);
            have_seed = 1;
            ++i;
        } else if (!strcmp(a, "--threads")) {
            bad = npg_parse_u64(v, 1, 1024, &threads);
            ++i;
        } else if (!strcmp(a, "--device")) {
            bad = npg_parse_u64(v, 0, 1024, &device);
            ++i;
        } else if (!strcmp(a, "--backend")) {
            bad = !v || (strcmp(v, "auto") && strcmp(v, "cpu") && strcmp(v, "cuda"));
            backend = v;
            ++i;
        } else if (!strcmp(a, "--t-end")) {
            bad = npg_parse_double(v, 1e-300, 1e300, &t_end);
            ++i;
        } else if (!strcmp(a, "--max-output-gb")) {
            bad = npg_parse_double(v, 1e-6, 1e9, &max_output_gb);
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(npg_cli_help_text("run"), stdout);
            return NPG_EXIT_OK;
        } else if (a[0] == '-' || config) {
            return npg_cli_usage_error("run", "unexpected argument '%s'", a);
        } else {
            config = a;
        }
        if (bad) {
            fprintf(stderr, "npgrow run: %s: invalid value '%s'%s\n%s", a, v ? v : "(missing)",
                    !strcmp(a, "--particles") ? " (integer 1 .. 4e9)"
                    : !strcmp(a, "--seed")    ? " (integer 0 .. 4294967295)"
                    : !strcmp(a, "--threads") ? " (integer 1 .. 1024)"
                    : !strcmp(a, "--backend") ? " (auto, cpu or cuda)"
                    : !strcmp(a, "--device")  ? " (integer 0 .. 1024)"
                    : !strcmp(a, "--t-end")   ? " (positive number, config time unit)"
                                              : " (a non-empty path)",
                    npg_cli_help_text("run"));
            return NPG_EXIT_USAGE;
        }
    }
    if (!config)
        return npg_cli_usage_error("run", "%s", "missing CONFIG (a YAML file)");
    if (npg_cli_check_backend("run", backend))
        return NPG_EXIT_USAGE;
    npg_config cfg;
    char err[2048];
    int rc = npg_config_load(config, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow run: %s\n", err);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    /* Overrides pass the same checks as the file (npg_run runs npg_config_check and the
     * preflight); messages then name the flag. */
    if (have_particles) {
        cfg.particles = particles;
        snprintf(cfg.where.particles, sizeof cfg.where.particles, "--particles");
    }
    if (have_seed)
        cfg.seed = (uint32_t)seed;
    if (t_end > 0.0) {
        cfg.t_end = t_end;
        snprintf(cfg.where.t_end, sizeof cfg.where.t_end, "--t-end");
        if (cfg.output_every > t_end) {
            cfg.output_every = t_end;
            snprintf(cfg.where.output_every, sizeof cfg.where.output_every,
                     "--t-end (output_every clipped to it)");
        }
    }
    char outbuf[1024];
    if (!outdir) {
        npg_default_outdir(config, "", outbuf, sizeof outbuf);
        outdir = outbuf;
    }
    npg_run_options o;
    memset(&o, 0, sizeof o);
    o.outdir = outdir;
    o.force = force;
    o.quiet = quiet;
    o.ens.backend = backend;
    o.ens.threads = (int)threads;
    if (threads) /* every OpenMP region of the run (output writers too), not only the backend */
        omp_set_num_threads((int)threads);
    o.ens.device = (int)device;
    o.max_output_bytes = max_output_gb * 1073741824.0;
    npg_run_summary sum;
    rc = npg_run(&cfg, &o, &sum, err, sizeof err);
    const int stopped = rc == NPG_EXIT_SIGINT || rc == NPG_EXIT_SIGTERM;
    if (rc && !stopped) {
        fprintf(stderr, "npgrow run: %s\n", err);
    } else if (!quiet) {
        /* events_per_s is over the monomer SSA's own wall time (run.yaml's advance_wall_s), not
         * the whole run's: say so, or a coalescence run's rate reads 3x too high */
        fprintf(stderr,
                "npgrow run: %s: %llu monomer events in %.2f s (%.3g per second of the monomer "
                "SSA); results in %s/\n",
                stopped ? "interrupted" : "complete", (unsigned long long)sum.events, sum.wall_s,
                sum.events_per_s, outdir);
        if (sum.coalescence)
            fprintf(stderr,
                    "npgrow run: %llu merges, %llu entries; Group B (merged) %.0f of %.0f alive "
                    "particles (%.1f %%)\n",
                    (unsigned long long)sum.merges, (unsigned long long)sum.entries, sum.group_b,
                    sum.alive, sum.alive > 0 ? 100.0 * sum.group_b / sum.alive : 0.0);
    }
    npg_config_free(&cfg);
    return rc;
}
