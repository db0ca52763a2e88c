/* cmd_me.c: `npgrow me CONFIG [options]`: argument parsing over npg_me_solve (me.c).
 *
 * The same config as `npgrow run`; the result directory holds the same files, so `npgrow
 * compare` and every other reader take either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/me.h"
#include "npgrow/status.h"

int npg_cmd_me(int argc, char **argv)
{
    const char *config = NULL, *outdir = NULL;
    int force = 0, quiet = 0;
    double t_end = 0.0, n_max = 0.0, rtol = 0.0, atol = 0.0, particles = 0.0, res = -1.0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        const char *allowed = "";
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v || !*v;
            allowed = " (a non-empty path)";
            outdir = v;
            ++i;
        } else if (!strcmp(a, "--t-end")) {
            bad = npg_parse_double(v, 1e-300, 1e300, &t_end);
            allowed = " (positive number, config time unit)";
            ++i;
        } else if (!strcmp(a, "--n-max")) {
            bad = npg_parse_double(v, 3, 1.6e7, &n_max) || n_max != (double)(uint32_t)n_max;
            allowed = " (integer 3 .. 16000000)";
            ++i;
        } else if (!strcmp(a, "--resolution")) {
            bad = npg_parse_double(v, 0, 1e6, &res) || res != (double)(uint32_t)res ||
                  (res > 0 && res < NPG_ME_RESOLUTION_MIN);
            allowed = " (0 = exact, or an integer 16 .. 1e6)";
            ++i;
        } else if (!strcmp(a, "--particles")) {
            bad =
                npg_parse_double(v, 1, 4e9, &particles) || particles != (double)(uint64_t)particles;
            allowed = " (integer 1 .. 4e9)";
            ++i;
        } else if (!strcmp(a, "--atol")) {
            bad = npg_parse_double(v, 1e-20, 1e-3, &atol);
            ++i;
        } else if (!strcmp(a, "--rtol")) {
            bad = npg_parse_double(v, 1e-14, 1e-3, &rtol);
            allowed = " (1e-14 .. 1e-3)";
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(npg_cli_help_text("me"), stdout);
            return NPG_EXIT_OK;
        } else if (a[0] == '-' || config) {
            return npg_cli_usage_error("me", "unexpected argument '%s'", a);
        } else {
            config = a;
        }
        if (bad) {
            fprintf(stderr, "npgrow me: %s: invalid value '%s'%s\n%s", a, v ? v : "(missing)",
                    allowed, npg_cli_help_text("me"));
            return NPG_EXIT_USAGE;
        }
    }
    if (!config)
        return npg_cli_usage_error("me", "%s", "missing CONFIG (a YAML file)");
    npg_config cfg;
    char err[2048];
    int rc = npg_config_load(config, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow me: %s\n", err);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    if (t_end > 0.0)
        cfg.t_end = t_end;
    if (particles > 0.0)
        cfg.particles = (uint64_t)particles;
    char dir[2048];
    if (!outdir) {
        npg_default_outdir(config, "-me", dir, sizeof dir);
        outdir = dir;
    }
    npg_me_options o;
    memset(&o, 0, sizeof o);
    o.n_max = (uint32_t)n_max;
    o.resolution = res < 0.0 ? 0 : res == 0.0 ? -1 : (int)res;
    o.rtol = rtol;
    o.atol_rel = atol;
    o.progress = !quiet;
    npg_me_summary s;
    npg_stop_install();
    rc = npg_me_solve(&cfg, &o, outdir, force, &s, err, sizeof err);
    npg_stop_restore();
    if (rc && s.interrupted) {
        fprintf(stderr, "npgrow me: %s; outputs up to t = %g written to %s (status: interrupted)\n",
                err, s.t_reached, outdir);
    } else if (rc) {
        fprintf(stderr, "npgrow me: %s\n", err);
    } else if (!quiet) {
        fprintf(stderr, "npgrow me: %s: n_max %u, ", outdir, s.n_max);
        if (s.resolution)
            fprintf(stderr, "grid R = %u", s.resolution);
        else
            fprintf(stderr, "exact grid");
        if (s.refines)
            fprintf(stderr, " (refined %d x)", s.refines);
        fprintf(stderr, ", %ld CVODE steps, %.3f s", s.steps, s.wall_s);
        if (cfg.supply != NPG_SUPPLY_SCHEDULE)
            fprintf(stderr, ", monomer conservation %.2e", s.monomer_error);
        fprintf(stderr, ", particle conservation %.2e\n", s.particle_error);
    }
    npg_config_free(&cfg);
    return rc;
}
