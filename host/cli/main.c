/* main.c: the npgrow command line; dispatches to the subcommands in cmd_*.c. Help texts and
 * the exit-status table live in help.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "npgrow %s: stochastic simulator of nanoparticle ensembles (Kim et al., PNAS 2025)\n\n",
            NPGROW_VERSION);
    fputs(npg_cli_help_text(NULL), f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NPG_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc == 2) {
            usage(stdout);
            return NPG_EXIT_OK;
        }
        const char *text = npg_cli_help_text(argv[2]);
        if (argc > 3 || !text) {
            fprintf(stderr, "npgrow help: unknown command '%s'\n\n", argv[2]);
            usage(stderr);
            return NPG_EXIT_USAGE;
        }
        fputs(text, stdout);
        return NPG_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("npgrow %s (git %s)\n", NPGROW_VERSION, NPGROW_GIT_COMMIT);
        return NPG_EXIT_OK;
    }
    if (!strcmp(cmd, "mu"))
        return npg_cmd_mu(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return npg_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "me"))
        return npg_cmd_me(argc - 1, argv + 1);
    if (!strcmp(cmd, "pair"))
        return npg_cmd_pair(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return npg_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return npg_cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot"))
        return npg_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "data"))
        return npg_cmd_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "clean"))
        return npg_cmd_clean(argc - 1, argv + 1);
    if (!strcmp(cmd, "infer"))
        return npg_cmd_infer(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict"))
        return npg_cmd_predict(argc - 1, argv + 1);
    fprintf(stderr, "npgrow: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return NPG_EXIT_USAGE;
}
