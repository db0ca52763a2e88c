/* cmd_plot.c: `npgrow plot RUN_DIR [--fig NAME ...] [-o DIR] [--format png|pdf|svg]
 * [--compare DIR] [--times T ...]`.
 *
 * A thin door to the Python module npgrow.plot (python/npgrow/plot.py), which draws the
 * figures with matplotlib: this replaces itself (exec) with Debian's python3 running
 * `-m npgrow.plot ARGS`, with the package directory on PYTHONPATH and this binary as NPGROW_BIN
 * (the mu figure asks it for the model's numbers). Flags, messages and exit status (0, 2 bad
 * input) are the module's. $NPGROW_PYTHON overrides the interpreter.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#ifndef NPGROW_PYTHON_DIR
#define NPGROW_PYTHON_DIR "python"
#endif

int npg_cmd_plot(int argc, char **argv)
{
    const char *py = getenv("NPGROW_PYTHON");
    if (!py || !*py)
        py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = 0;
        setenv("NPGROW_BIN", self, 0);
    }
    const char *old = getenv("PYTHONPATH");
    size_t len = strlen(NPGROW_PYTHON_DIR) + (old ? strlen(old) : 0) + 2;
    char *pp = malloc(len);
    if (!pp) {
        fprintf(stderr, "npgrow plot: out of memory\n");
        return 1;
    }
    snprintf(pp, len, "%s%s%s", NPGROW_PYTHON_DIR, old && *old ? ":" : "", old ? old : "");
    setenv("PYTHONPATH", pp, 1);
    free(pp);
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) {
        fprintf(stderr, "npgrow plot: out of memory\n");
        return 1;
    }
    args[0] = (char *)py;
    args[1] = "-m";
    args[2] = "npgrow.plot";
    for (int i = 1; i < argc; ++i)
        args[2 + i] = argv[i];
    execvp(py, args);
    fprintf(stderr, "npgrow plot: cannot start %s: %s (install python3, or set NPGROW_PYTHON)\n",
            py, strerror(errno));
    free(args);
    return 1;
}
