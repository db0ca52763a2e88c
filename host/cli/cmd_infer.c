/* cmd_infer.c: `npgrow infer DATA_DIR CONFIG -o SCHEDULE.yaml [options]`.
 *
 * Parses the flags, loads CONFIG, and hands the work to host/data/infer.c (npg_infer_run, then
 * npg_infer_write); prints the inferred S(t) with its bootstrap band on stderr. Usage:
 *   npgrow data import ... -o D && npgrow infer D configs/pt-acac.yaml -o S.yaml
 *   npgrow run S.yaml
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "npgrow/config.h"
#include "npgrow/infer.h"
#include "util/util.h"

static int bad(const char *fmt, const char *arg)
{
    return npg_cli_usage_error("infer", fmt, arg);
}

int npg_cmd_infer(int argc, char **argv)
{
    const char *data = NULL, *config = NULL, *out = NULL;
    int force = 0;
    npg_infer_options o;
    npg_infer_options_default(&o);
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(npg_cli_help_text("infer"), stdout);
            return NPG_EXIT_OK;
        } else if (!strcmp(a, "--block-bootstrap")) {
            o.block_bootstrap = 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v)
                return bad("%s needs a value", a);
            out = argv[++i];
        } else if (!strcmp(a, "--knot-every")) {
            if (v && !strcmp(v, "auto"))
                o.knot_every = 0.0;
            else if (!v || npg_parse_double(v, 1e-300, 1e300, &o.knot_every))
                return bad("--knot-every: '%s' is not auto or a positive number", v ? v : "");
            ++i;
        } else if (!strcmp(a, "--block")) {
            if (!v || npg_parse_double(v, 1e-300, 1e300, &o.block))
                return bad("--block: '%s' is not a positive number", v ? v : "");
            ++i;
        } else if (!strcmp(a, "--n-min")) {
            if (!v || npg_parse_double(v, 2.0, 4.0e9, &o.n_min))
                return bad("--n-min: '%s' is not a number in [2, 4e9]", v ? v : "");
            ++i;
        } else if (!strcmp(a, "--bootstrap") || !strcmp(a, "--seed")) {
            unsigned long long u;
            int boot = a[2] == 'b';
            if (!v || npg_parse_u64(v, 0, boot ? 100000ull : 4294967295ull, &u))
                return bad(boot ? "--bootstrap: '%s' is not an integer 0 .. 100000"
                                : "--seed: '%s' is not an integer 0 .. 4294967295",
                           v ? v : "");
            if (boot)
                o.bootstrap = (uint32_t)u;
            else
                o.seed = (uint32_t)u;
            ++i;
        } else if (a[0] == '-' && a[1] != '\0') {
            return bad("unknown option '%s'", a);
        } else if (!data) {
            data = a;
        } else if (!config) {
            config = a;
        } else {
            return bad("unexpected argument '%s'", a);
        }
    }
    if (!data || !config)
        return bad("%s", "needs DATA_DIR and CONFIG");
    if (!out || !*out)
        return bad("%s", "-o SCHEDULE.yaml is required (a non-empty path)");

    npg_config cfg;
    char err[2048] = "";
    if (npg_config_load(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "npgrow infer: %s\n", err[0] ? err : "cannot load the configuration");
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    npg_infer_result res;
    npg_stop_install();
    int rc = npg_infer_run(data, &cfg, &o, &res, err, sizeof err);
    npg_stop_restore();
    char csv[1200] = "";
    if (!rc)
        rc = npg_infer_write(out, force, &cfg, &res, csv, sizeof csv, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow infer: %s\n", err);
    } else if (!o.quiet) {
        const char *u = res.time_unit;
        if (res.cv_n) {
            fprintf(stderr,
                    "npgrow infer: block cross-validation (blocks of %g %s), knot spacing: "
                    "mean squared block error [monomers^2]\n",
                    o.block, u);
            for (size_t c = 0; c < res.cv_n; ++c)
                fprintf(stderr, "  %8g %s  %.6g%s\n", res.cv_h[c], u, res.cv_score[c],
                        res.cv_h[c] == res.knot_every ? "  <- chosen" : "");
        }
        fprintf(stderr,
                "npgrow infer: %zu particles, %zu frames, %zu increments (n >= %g); knots every "
                "%g %s; rms residual %.4g monomers; %u bootstrap resamples\n",
                res.particles, res.frames, res.pairs, o.n_min, res.knot_every, u, res.rms,
                (unsigned)res.boot_done);
        if (o.block_bootstrap && res.boot_done)
            fprintf(stderr,
                    "npgrow infer: band with moving blocks of %zu frames (%g %s) of the frame "
                    "residuals, scaled to their share %.3g not explained by the particles\n",
                    res.block_frames, o.block, u, res.frame_share);
        fprintf(stderr, "  %10s %9s %21s %21s\n", "t", "S", "68 %", "95 %");
        for (size_t k = 0; k < res.nk; ++k)
            fprintf(stderr, "  %10.4g %9.4f  [%8.4f, %8.4f]  [%8.4f, %8.4f]\n", res.t[k], res.s[k],
                    res.lo68[k], res.hi68[k], res.lo95[k], res.hi95[k]);
        fprintf(stderr, "  wrote %s and %s\n", out, csv);
    }
    npg_infer_free(&res);
    npg_config_free(&cfg);
    return rc;
}
