/* cmd_clean.c: `npgrow clean [DIR ...]`: remove what killed npgrow processes left behind.
 *
 * A result is written into NAME.tmp-PID beside NAME and renamed at the end (host/io/outdir.c);
 * a process killed with SIGKILL (or by the OOM killer) cannot clean up, so its NAME.tmp-PID
 * stays. This removes such directories whose process no longer exists and which hold nothing
 * but npgrow's own files; it never touches a finished result, a running process's directory or
 * anything else. Default DIR: runs.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "npgrow/outdir.h"
#include "npgrow/status.h"

static const char *clean_usage =
    "usage: npgrow clean [DIR ...]\n"
    "  Remove leftover temporary result directories (NAME.tmp-PID, NAME.old-PID) in each DIR\n"
    "  (default: runs) whose npgrow process no longer exists. Finished results, directories of\n"
    "  running processes and anything npgrow did not write are kept.\n"
    "Exit status: 0 done (also when nothing was left over), 2 DIR is not a directory.\n";

int npg_cmd_clean(int argc, char **argv)
{
    const char *dirs[64];
    int nd = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(clean_usage, stdout);
            return NPG_EXIT_OK;
        }
        if (argv[i][0] == '-' || nd == 64) {
            fprintf(stderr, "npgrow clean: unexpected argument '%s'\n%s", argv[i], clean_usage);
            return NPG_EXIT_USAGE;
        }
        dirs[nd++] = argv[i];
    }
    if (!nd)
        dirs[nd++] = "runs";
    int rc = NPG_EXIT_OK, total = 0;
    for (int k = 0; k < nd; ++k) {
        int removed = 0;
        if (npg_outdir_clean(dirs[k], &removed)) {
            fprintf(stderr, "npgrow clean: %s: not a directory\n", dirs[k]);
            rc = NPG_EXIT_USAGE;
            continue;
        }
        total += removed;
    }
    printf("npgrow clean: removed %d leftover director%s\n", total, total == 1 ? "y" : "ies");
    return rc;
}
