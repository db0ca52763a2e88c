/* cmd_pair.c: `npgrow pair CONFIG [options]`: argument parsing over npg_pair_solve (pair.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/pair.h"
#include "npgrow/status.h"

int npg_cmd_pair(int argc, char **argv)
{
    const char *config = NULL, *outdir = NULL;
    int force = 0, quiet = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v || !*v) {
                fprintf(stderr, "npgrow pair: %s: invalid value '%s' (a non-empty path)\n%s", a,
                        v ? v : "(missing)", npg_cli_help_text("pair"));
                return NPG_EXIT_USAGE;
            }
            outdir = v;
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(npg_cli_help_text("pair"), stdout);
            return NPG_EXIT_OK;
        } else if (a[0] == '-' || config) {
            return npg_cli_usage_error("pair", "unexpected argument '%s'", a);
        } else {
            config = a;
        }
    }
    if (!config)
        return npg_cli_usage_error("pair", "%s", "missing CONFIG (a YAML file)");
    npg_config cfg;
    char err[2048];
    int rc = npg_config_load(config, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow pair: %s\n", err);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    char dir[2048];
    if (!outdir) {
        npg_default_outdir(config, "-pair", dir, sizeof dir);
        outdir = dir;
    }
    npg_pair_options o;
    memset(&o, 0, sizeof o);
    o.progress = !quiet;
    npg_pair_summary s;
    rc = npg_pair_solve(&cfg, &o, outdir, force, &s, err, sizeof err);
    if (rc && s.interrupted) {
        fprintf(stderr,
                "npgrow pair: %s; outputs up to t = %g written to %s (status: interrupted)\n", err,
                s.t_reached, outdir);
    } else if (rc) {
        fprintf(stderr, "npgrow pair: %s\n", err);
    } else if (!quiet) {
        fprintf(stderr,
                "npgrow pair: %s: %u cells (%.2g .. %.2g nm), %ld CVODE steps, %.3f s; k_f max "
                "%.4g nm^3/%s at t = %g, A(%g) = %.6g\n",
                outdir, s.cells, s.h_min_nm, s.h_max_nm, s.steps, s.wall_s, s.kf_max, cfg.time_unit,
                s.t_kf_max, s.t_reached, s.A_end);
    }
    npg_config_free(&cfg);
    return rc;
}
