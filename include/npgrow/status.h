/* npgrow/status.h: exit statuses and the stop request (SIGINT/SIGTERM), for every command.
 *
 * One table for all of npgrow (README "Exit status"):
 *   0 success; 1 a comparison or a run failed; 2 bad input or usage (before any work starts);
 *   3 inconclusive (too little data to decide); 128 + signal when stopped by a signal
 *   (130 SIGINT, 143 SIGTERM), after writing what exists with `status: interrupted`.
 * Implemented in host/util/stop.c. Long loops poll npg_stop_requested(); a second signal of
 * the same kind ends the process at once (the default action), as users expect of Ctrl-C.
 */
#ifndef NPGROW_STATUS_H
#define NPGROW_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_EXIT_OK           0
#define NPG_EXIT_FAIL         1
#define NPG_EXIT_USAGE        2
#define NPG_EXIT_INCONCLUSIVE 3
#define NPG_EXIT_SIGINT       130
#define NPG_EXIT_SIGTERM      143

/* Catch SIGINT and SIGTERM (no SA_RESTART). Idempotent; clears an earlier request. */
void npg_stop_install(void);
/* Put back the handlers that were there before npg_stop_install. */
void npg_stop_restore(void);
/* The signal that asked us to stop, or 0. Async-signal-safe to read from any thread. */
int npg_stop_requested(void);
/* 128 + that signal (130, 143), or 0 when none. */
int npg_stop_exit_code(void);
/* Ask to stop as if `sig` had arrived (tests, and a stop from inside npgrow). */
void npg_stop_raise(int sig);
/* Forget a request (tests). */
void npg_stop_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_STATUS_H */
