/* commands.h: the CLI subcommands; main.c dispatches, each lives in its own cmd_*.c. */
#ifndef NPGROW_COMMANDS_H
#define NPGROW_COMMANDS_H

#include "npgrow/status.h"

int npg_cmd_mu(int argc, char **argv);       /* cmd_mu.c */
int npg_cmd_run(int argc, char **argv);      /* cmd_run.c */
int npg_cmd_me(int argc, char **argv);       /* cmd_me.c */
int npg_cmd_compare(int argc, char **argv);  /* cmd_compare.c */
int npg_cmd_pair(int argc, char **argv);     /* cmd_pair.c (host/meanfield/pair.c) */
int npg_cmd_validate(int argc, char **argv); /* cmd_validate.c */
int npg_cmd_plot(int argc, char **argv);     /* cmd_plot.c (runs python3 -m npgrow.plot) */
int npg_cmd_clean(int argc, char **argv);    /* cmd_clean.c */
int npg_cmd_data(int argc, char **argv);     /* cmd_data.c (npgrow data import) */
int npg_cmd_infer(int argc, char **argv);    /* cmd_infer.c (host/data/infer.c) */
int npg_cmd_predict(int argc, char **argv);  /* cmd_predict.c (host/data/predict.c) */

/* help.c: the help text of cmd ("run", ...; NULL: the overview with the exit-status table),
 * or NULL for an unknown command. */
const char *npg_cli_help_text(const char *cmd);
/* "npgrow CMD: <fmt with arg>" and CMD's help on stderr; returns NPG_EXIT_USAGE. */
int npg_cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* cli_check.c: --backend cuda (or --device) without a usable GPU is a usage error found before
 * any work: message on stderr, NPG_EXIT_USAGE; 0 when fine. */
int npg_cli_check_backend(const char *cmd, const char *backend);

#endif
