/* cli_check.c: checks a command makes before it starts any work. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "npgrow/backend.h"

/* `--backend cuda` asks for something this machine cannot do (no driver, no device, a build
 * without CUDA): like a bad argument, that is known before any work, so exit 2 and say why.
 * `auto` falls back to the CPU by design and needs no check. */
int npg_cli_check_backend(const char *cmd, const char *backend)
{
    if (!backend || strcmp(backend, "cuda"))
        return 0;
    char why[256] = "";
    if (npg_backend_cuda_available(why, sizeof why))
        return 0;
    fprintf(stderr,
            "npgrow %s: --backend cuda: no usable GPU: %s (use --backend cpu, or auto to fall "
            "back to the CPU)\n",
            cmd, why);
    return NPG_EXIT_USAGE;
}
