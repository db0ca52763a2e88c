/* cmd_compare.c: `npgrow compare A B`: argument parsing over compare.c.
 *
 * Exit status: 0 all statistics within bounds, 1 some outside, 2 bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/compare.h"
#include "npgrow/config.h"

static const char *compare_usage =
    "usage: npgrow compare A B [--z-max 3] [--y-max 5] [--alpha 0.001] [--rtol 1e-6] [-o FILE]\n"
    "                      [--quiet]\n"
    "  A, B: result directories of `npgrow run` / `npgrow me` (moments.csv, histogram.csv,\n"
    "  run.yaml). Writes compare.csv into A (or FILE).\n";

/* A positive number. */
static int parse_pos(const char *s, double *out)
{
    return npg_parse_double(s, 1e-300, 1e300, out);
}

int npg_cmd_compare(int argc, char **argv)
{
    const char *dirs[2] = {NULL, NULL}, *outfile = NULL;
    int nd = 0, quiet = 0;
    npg_compare_options o = {3.0, 5.0, 1e-3, 1e-6};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v;
            outfile = v;
            ++i;
        } else if (!strcmp(a, "--z-max")) {
            bad = parse_pos(v, &o.z_max);
            ++i;
        } else if (!strcmp(a, "--y-max")) {
            bad = parse_pos(v, &o.y_max);
            ++i;
        } else if (!strcmp(a, "--alpha")) {
            bad = parse_pos(v, &o.alpha) || o.alpha >= 1.0;
            ++i;
        } else if (!strcmp(a, "--rtol")) {
            bad = parse_pos(v, &o.rtol);
            ++i;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compare_usage, stdout);
            return 0;
        } else if (a[0] == '-' || nd == 2) {
            fprintf(stderr, "npgrow compare: unexpected argument '%s'\n%s", a, compare_usage);
            return NPG_EXIT_USAGE;
        } else {
            dirs[nd++] = a;
        }
        if (bad) {
            fprintf(
                stderr, "npgrow compare: %s: invalid value '%s' (%s)\n%s", a, v ? v : "(missing)",
                !strcmp(a, "--alpha") ? "a number in (0, 1)" : "a positive number", compare_usage);
            return NPG_EXIT_USAGE;
        }
    }
    if (nd != 2) {
        fprintf(stderr, "npgrow compare: need two result directories A and B\n%s", compare_usage);
        return NPG_EXIT_USAGE;
    }
    char err[2048];
    npg_result ra, rb;
    int rc = npg_result_load(dirs[0], &ra, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow compare: %s\n", err);
        return rc;
    }
    if ((rc = npg_result_load(dirs[1], &rb, err, sizeof err))) {
        fprintf(stderr, "npgrow compare: %s\n", err);
        npg_result_free(&ra);
        return rc;
    }
    npg_compare_result r;
    rc = npg_compare(&ra, &rb, &o, &r, err, sizeof err);
    if (!rc) {
        char path[2048];
        if (outfile)
            snprintf(path, sizeof path, "%s", outfile);
        else
            snprintf(path, sizeof path, "%s/compare.csv", dirs[0]);
        if (!quiet)
            npg_compare_print(stdout, &ra, &rb, &o, &r);
        rc = npg_compare_write_csv(&r, path, err, sizeof err);
        if (!rc)
            rc = r.pass ? 0 : 1;
        else
            rc = NPG_EXIT_USAGE;
    }
    if (rc == NPG_EXIT_USAGE)
        fprintf(stderr, "npgrow compare: %s\n", err);
    npg_compare_result_free(&r);
    npg_result_free(&ra);
    npg_result_free(&rb);
    return rc;
}
