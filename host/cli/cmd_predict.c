/* cmd_predict.c: `npgrow predict DATA_DIR CONFIG [-o DIR] [options]`.
 *
 * Parses the flags, loads CONFIG, and hands the work to host/data/predict.c (npg_predict_run):
 * the observed ensemble of DATA_DIR simulated R times under S(t) (inferred, or --schedule),
 * and the master-equation prediction of the same trace (npg_me_particle).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "npgrow/config.h"
#include "npgrow/me.h"
#include "npgrow/predict.h"
#include "util/util.h"

/* The master-equation prediction of one particle: the meanfield room's npg_me_particle with its
 * default tolerances (the data room may not call it itself). */
static int me_particle(const npg_config *cfg, const double *kt, const double *ks, size_t nk,
                       double t0, uint32_t n0, const double *tout, size_t nout, double *out,
                       char *err, size_t errlen)
{
    return npg_me_particle(cfg, NULL, kt, ks, nk, t0, n0, tout, nout, out, err, errlen);
}

static int bad(const char *fmt, const char *arg)
{
    return npg_cli_usage_error("predict", fmt, arg);
}

int npg_cmd_predict(int argc, char **argv)
{
    const char *data = NULL, *config = NULL, *out = "prediction";
    int force = 0;
    npg_predict_options o;
    npg_predict_options_default(&o);
    o.me = me_particle;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(npg_cli_help_text("predict"), stdout);
            return NPG_EXIT_OK;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--no-me")) {
            o.me = NULL;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v)
                return bad("%s needs a value", a);
            out = argv[++i];
        } else if (!strcmp(a, "--schedule")) {
            if (!v || !*v)
                return bad("%s needs a value", a);
            o.schedule = argv[++i];
        } else if (!strcmp(a, "--replicas") || !strcmp(a, "--seed") || !strcmp(a, "--threads")) {
            unsigned long long u;
            const char c = a[2];
            unsigned long long lo = c == 's' ? 0 : 1, hi = c == 's'   ? 4294967295ull
                                                           : c == 'r' ? 100000ull
                                                                      : 1024ull;
            if (!v || npg_parse_u64(v, lo, hi, &u))
                return bad(c == 's'   ? "--seed: '%s' is not an integer 0 .. 4294967295"
                           : c == 'r' ? "--replicas: '%s' is not an integer 1 .. 100000"
                                      : "--threads: '%s' is not an integer 1 .. 1024",
                           v ? v : "");
            if (c == 's')
                o.seed = (uint32_t)u;
            else if (c == 'r')
                o.replicas = (uint32_t)u;
            else
                o.threads = (int)u;
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

    char line[4096] = "";
    size_t len = 0;
    for (int i = 1; i < argc && len + 2 < sizeof line; ++i)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", i > 1 ? " " : "", argv[i]);

    npg_config cfg;
    char err[2048] = "";
    if (npg_config_load(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "npgrow predict: %s\n", err[0] ? err : "cannot load the configuration");
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    npg_stop_install();
    int rc = npg_predict_run(data, &cfg, &o, out, force, line, err, sizeof err);
    npg_stop_restore();
    if (rc)
        fprintf(stderr, "npgrow predict: %s\n", err);
    npg_config_free(&cfg);
    return rc;
}
