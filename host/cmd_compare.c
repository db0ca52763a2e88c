/* cmd_compare.c: `npgrow compare` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int npg_cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "npgrow compare: not implemented yet\n");
    return 2;
}
