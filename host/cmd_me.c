/* cmd_me.c: `npgrow me` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int npg_cmd_me(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "npgrow me: not implemented yet\n");
    return 2;
}
