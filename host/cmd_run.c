/* cmd_run.c: `npgrow run` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int npg_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "npgrow run: not implemented yet\n");
    return 2;
}
