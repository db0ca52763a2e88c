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

int npg_cmd_clean(int argc, char **argv)
{
    const char *dirs[64];
    int nd = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(npg_cli_help_text("clean"), stdout);
            return NPG_EXIT_OK;
        }
        if (argv[i][0] == '-' || nd == 64)
            return npg_cli_usage_error("clean", "unexpected argument '%s'", argv[i]);
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
