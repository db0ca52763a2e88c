/* cmd_validate.c: `npgrow validate` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int npg_cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "npgrow validate: not implemented yet\n");
    return 2;
}
