/* main.c: the npgrow command line; dispatches to the subcommands in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "npgrow %s: stochastic simulator of nanoparticle ensembles (Kim et al., PNAS 2025)\n"
        "\n"
        "usage: npgrow COMMAND [ARGS]\n"
        "  run CONFIG [-o DIR] [--particles N] [--seed S] [--threads T]\n"
        "             [--backend auto|cpu|cuda] [--device K] [--t-end T] [--force] [--quiet]\n"
        "                         particle-by-particle SSA of the ensemble\n"
        "  me CONFIG [-o DIR]     mean-field master equation (SUNDIALS CVODE)\n"
        "  compare A B            compare two result directories statistically\n"
        "  validate CONFIG [--particles N]   run + me + compare\n"
        "  mu CONFIG [--n-max N] [--format csv|table]\n"
        "                         chemical potential and rates against n\n"
        "  plot RUN_DIR [--fig NAME ...] [-o DIR] [--format png|pdf|svg] [--compare DIR]\n"
        "                         figures (+ their CSV) with matplotlib: python3 -m npgrow.plot\n"
        "  help                   this text\n"
        "  --version              version and git commit\n"
        "\n"
        "Exit status: 0 success, 1 comparison failed, 2 bad input, 130 interrupted.\n",
        NPGROW_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("npgrow %s (git %s)\n", NPGROW_VERSION, NPGROW_GIT_COMMIT);
        return 0;
    }
    if (!strcmp(cmd, "mu"))
        return npg_cmd_mu(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return npg_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "me"))
        return npg_cmd_me(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return npg_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return npg_cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot"))
        return npg_cmd_plot(argc - 1, argv + 1);
    fprintf(stderr, "npgrow: unknown command '%s' (see 'npgrow help')\n", cmd);
    return 2;
}
