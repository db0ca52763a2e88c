/* cmd_mu.c: `npgrow mu CONFIG [--n-max N] [--format csv|table]`.
 *
 * Prints, for n = 1..n_max, the radius, the excess chemical potential beta(mu_n - mu_inf), the
 * Gibbs-Thomson comparison curve and the two monomer rates at S = 1, all from model.h; and on
 * stderr a summary (n-dagger, mu-dagger, the s = 2 artifact, Gamma). It runs no simulation and
 * writes nothing to stdout unless every argument and the config are valid.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "npgrow/config.h"
#include "npgrow/rates.h"
#include "npgrow/observe.h"

#define MU_CSV_HEADER    "n,r_nm,mu_excess_kT,mu_gt_kT,assoc_per_s,dissoc_per_s"
#define MU_N_MAX_DEFAULT 10000u
/* 1e8 rows is already ~6 GB of CSV; the landscape table is 8 bytes per row. */
#define MU_N_MAX_LIMIT 100000000ul

static int mu_bad(const char *fmt, const char *arg)
{
    return npg_cli_usage_error("mu", fmt, arg);
}

/* A positive decimal integer no larger than MU_N_MAX_LIMIT, and nothing else. */
static int parse_n_max(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; ++p)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno || v == 0 || v > MU_N_MAX_LIMIT)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The s = 2 artifact (model.md 1.3): n(s = 2) = 8 a3 + 4 a2 + 2 a1 + 1, where Nf steps up. */
static void print_artifact(const npg_model *m, const char *unit)
{
    if (m->delta < 0.0) {
        fprintf(stderr, "  s = 2 artifact: none (spherical fallback, delta < 0)\n");
        return;
    }
    double a3, a2, a1;
    npg_model_cubic(m->delta, &a3, &a2, &a1);
    double n2 = 8.0 * a3 + 4.0 * a2 + 2.0 * a1 + 1.0;
    double lo = floor(n2), hi = ceil(n2);
    fprintf(stderr,
            "  s = 2 artifact: Nf steps up at n(s=2) = %.4f, sizes %.0f..%.0f:\n"
            "    mu_%.0f = %.6g kT, mu_%.0f = %.6g kT; k^d_%.0f = %.6g /%s against A_%.0f = %.6g "
            "/%s\n"
            "    keep particles above n = 20 (the study's fits never reach this region)\n",
            n2, lo, hi, lo, npg_model_mu(m, lo), hi, npg_model_mu(m, hi), lo + 1.0,
            npg_model_dissoc(m, lo + 1.0), unit, lo, npg_model_assoc(m, lo), unit);
}

static void print_table_header(const char *unit)
{
    char a[32], d[32];
    snprintf(a, sizeof a, "A_n [1/%s]", unit);
    snprintf(d, sizeof d, "k^d_n [1/%s]", unit);
    printf("%10s %12s %18s %18s %18s %18s\n", "n", "r [nm]", "mu-mu_inf [kT]", "mu_GT [kT]", a, d);
}

int npg_cmd_mu(int argc, char **argv)
{
    const char *path = NULL;
    uint32_t n_max = MU_N_MAX_DEFAULT;
    int csv = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(npg_cli_help_text("mu"), stdout);
            return NPG_EXIT_OK;
        } else if (!strcmp(a, "--n-max") || !strncmp(a, "--n-max=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                return mu_bad("%s needs a value", "--n-max");
            if (parse_n_max(v, &n_max))
                return mu_bad("--n-max: '%s' is not a positive integer (at most 100000000)", v);
        } else if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                return mu_bad("%s needs a value", "--format");
            if (!strcmp(v, "csv"))
                csv = 1;
            else if (!strcmp(v, "table"))
                csv = 0;
            else
                return mu_bad("--format: '%s' is not one of csv, table", v);
        } else if (a[0] == '-' && a[1] != '\0') {
            return mu_bad("unknown option '%s'", a);
        } else if (path) {
            return mu_bad("more than one CONFIG given ('%s')", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return mu_bad("%s", "missing CONFIG (a YAML file, e.g. configs/pt-acac.yaml)");

    npg_config cfg;
    char err[1024] = "";
    if (npg_config_load(path, &cfg, err, sizeof err)) {
        fprintf(stderr, "npgrow mu: %s\n", err[0] ? err : "cannot load the configuration");
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    const npg_model *m = &cfg.model;
    const char *unit = cfg.time_unit[0] ? cfg.time_unit : "s";

    /* mu_n for n = 1..n_max, once: the rows and the n-dagger search read the same table. */
    npg_landscape land;
    int have_land = n_max >= 20 && npg_landscape_init(&land, m, n_max + 1u) == 0;
    if (n_max >= 20 && !have_land) {
        fprintf(stderr, "npgrow mu: out of memory for n-max %u\n", (unsigned)n_max);
        npg_config_free(&cfg);
        return 1;
    }

    fprintf(stderr, "npgrow mu: system %s (%s), time unit %s\n", cfg.name[0] ? cfg.name : "?", path,
            unit);
    fprintf(stderr,
            "  parameters: d_eps_f %g kT, d_eps_e %g kT, alpha+4 %g, K %g /nm^2/%s, lambda %g, "
            "sigma_s %g nm, delta %g (sf %.6f)\n",
            m->d_eps_f, m->d_eps_e, m->ap, m->K, unit, m->lam, m->sigma_s, m->delta,
            npg_model_sf(m->delta));
    if (have_land)
        fprintf(stderr,
                "  n-dagger = %u (r = %.4g nm), mu-dagger = %.6g kT: max of mu_n over "
                "20 <= n <= %u; ln S above it is hypersaturated\n",
                (unsigned)land.n_dagger, npg_model_radius(m, land.n_dagger), land.mu_max,
                (unsigned)n_max);
    else
        fprintf(stderr, "  n-dagger: undefined for n-max < 20 (searched over n >= 20)\n");
    print_artifact(m, unit);
    fprintf(stderr,
            "  Gibbs-Thomson curve: mu_GT = Gamma [(n+1)^(2/3) - n^(2/3)], Gamma = %.6g kT "
            "(bulk face term d_eps_f lim Nf/n^(2/3))\n",
            npg_model_gt_gamma(m));

    if (csv)
        puts(MU_CSV_HEADER);
    else
        print_table_header(unit);
    for (uint32_t n = 1; n <= n_max; ++n) {
        double x = (double)n;
        double mu = have_land ? land.mu[n] : npg_model_mu(m, x);
        double r = npg_model_radius(m, x), gt = npg_model_mu_gt(m, x);
        double an = npg_model_assoc(m, x), kd = npg_model_dissoc(m, x);
        if (csv)
            printf("%u,%.10g,%.10g,%.10g,%.10g,%.10g\n", (unsigned)n, r, mu, gt, an, kd);
        else
            printf("%10u %12.6f %18.10g %18.10g %18.10g %18.10g\n", (unsigned)n, r, mu, gt, an, kd);
    }
    if (have_land)
        npg_landscape_free(&land);
    npg_config_free(&cfg);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "npgrow mu: error writing the output\n");
        return 1;
    }
    return 0;
}
