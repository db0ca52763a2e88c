/* commands.h: the CLI subcommands; main.c dispatches, each lives in its own cmd_*.c. */
#ifndef NPGROW_COMMANDS_H
#define NPGROW_COMMANDS_H

int npg_cmd_mu(int argc, char **argv);       /* cmd_mu.c */
int npg_cmd_run(int argc, char **argv);      /* cmd_run.c */
int npg_cmd_me(int argc, char **argv);       /* cmd_me.c */
int npg_cmd_compare(int argc, char **argv);  /* cmd_compare.c */
int npg_cmd_validate(int argc, char **argv); /* cmd_validate.c */
int npg_cmd_plot(int argc, char **argv);     /* cmd_plot.c (runs python3 -m npgrow.plot) */

#endif
