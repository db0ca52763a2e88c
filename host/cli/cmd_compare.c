/* cmd_compare.c: `npgrow compare A B`: argument parsing over compare.c.
 *
 * A and B are result directories or run.h5 files (compare.c reads either).
 *
 * Exit status (help.c): 0 every tested time within bounds; 1 some outside, or a side that
 * stopped early without --partial; 2 bad input, found before any statistic is computed
 * (arguments, unreadable or malformed directories, an output FILE that cannot be created);
 * 3 inconclusive (no time tested after t = 0). The output FILE is written under a temporary
 * name beside it and renamed at the end: creating that name first is how an unwritable target
 * is found before any work (exit 2, like every other bad argument); a write that fails later
 * (disk full) is a failed run (1).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/compare.h"
#include "npgrow/config.h"

/* A positive number. */
static int parse_pos(const char *s, double *out)
{
    return npg_parse_double(s, 1e-300, 1e300, out);
}

/* Create FILE's temporary sibling (FILE.tmp-XXXXXX); 0 on success, else a message in err. */
static int open_output(const char *path, char *tmp, size_t tmplen, FILE **out, char *err,
                       size_t errlen)
{
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "-o %s: is a directory (give a file name)", path);
        return NPG_EXIT_USAGE;
    }
    if ((size_t)snprintf(tmp, tmplen, "%s.tmp-XXXXXX", path) >= tmplen) {
        snprintf(err, errlen, "-o %s: path too long", path);
        return NPG_EXIT_USAGE;
    }
    int fd = mkstemp(tmp);
    if (fd < 0 || !(*out = fdopen(fd, "w"))) {
        snprintf(err, errlen, "-o %s: cannot create a file there: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return NPG_EXIT_USAGE;
    }
    return 0;
}

/* A/compare.csv, or beside A when A is a file (a run.h5). */
static void default_output(const char *a, char *path, size_t len)
{
    struct stat sb;
    if (stat(a, &sb) || S_ISDIR(sb.st_mode)) {
        snprintf(path, len, "%s/compare.csv", a);
        return;
    }
    const char *slash = strrchr(a, '/');
    if (!slash)
        snprintf(path, len, "compare.csv");
    else if (slash == a)
        snprintf(path, len, "/compare.csv");
    else
        snprintf(path, len, "%.*s/compare.csv", (int)(slash - a), a);
}

int npg_cmd_compare(int argc, char **argv)
{
    const char *dirs[2] = {NULL, NULL}, *outfile = NULL;
    int nd = 0, quiet = 0;
    npg_compare_options o = {3.0, 5.0, 1e-3, 1e-6, 0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        const char *allowed = "a positive number";
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v || !*v;
            allowed = "a non-empty file name";
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
            allowed = "a number in (0, 1)";
            ++i;
        } else if (!strcmp(a, "--rtol")) {
            bad = parse_pos(v, &o.rtol);
            ++i;
        } else if (!strcmp(a, "--partial")) {
            o.partial = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(npg_cli_help_text("compare"), stdout);
            return NPG_EXIT_OK;
        } else if (a[0] == '-' || nd == 2) {
            return npg_cli_usage_error("compare", "unexpected argument '%s'", a);
        } else {
            dirs[nd++] = a;
        }
        if (bad) {
            fprintf(stderr, "npgrow compare: %s: invalid value '%s' (%s)\n%s", a,
                    v ? v : "(missing)", allowed, npg_cli_help_text("compare"));
            return NPG_EXIT_USAGE;
        }
    }
    if (nd != 2)
        return npg_cli_usage_error("compare", "%s", "need two result directories A and B");
    char err[4096];
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
    char path[2048], tmp[2100];
    if (outfile)
        snprintf(path, sizeof path, "%s", outfile);
    else
        default_output(dirs[0], path, sizeof path);
    FILE *out = NULL;
    if ((rc = open_output(path, tmp, sizeof tmp, &out, err, sizeof err))) {
        fprintf(stderr, "npgrow compare: %s\n", err);
        npg_result_free(&ra);
        npg_result_free(&rb);
        return rc;
    }
    npg_compare_result r;
    rc = npg_compare(&ra, &rb, &o, &r, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow compare: %s\n", err);
    } else {
        if (!quiet)
            npg_compare_print(stdout, &ra, &rb, &o, &r);
        else if (r.partial) /* the warning is not optional */
            fprintf(stderr, "npgrow compare: warning: partial comparison: %s\n", r.why);
        int wbad = npg_compare_write_csv_file(&r, out);
        wbad |= fclose(out);
        out = NULL;
        if (wbad || rename(tmp, path)) {
            fprintf(stderr, "npgrow compare: %s: write error\n", path);
            rc = NPG_EXIT_FAIL;
        } else {
            rc = npg_compare_exit_status(&r);
        }
    }
    if (out)
        fclose(out);
    unlink(tmp); /* renamed away on success; otherwise no half-written FILE is left */
    npg_compare_result_free(&r);
    npg_result_free(&ra);
    npg_result_free(&rb);
    return rc;
}
