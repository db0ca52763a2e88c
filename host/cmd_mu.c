/* cmd_mu.c: `npgrow mu` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int npg_cmd_mu(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "npgrow mu: not implemented yet\n");
    return 2;
}
