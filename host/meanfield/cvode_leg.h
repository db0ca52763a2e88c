/* cvode_leg.h: the two CVODE helpers the master equation (me.c) and the pair equation (pair.c)
 * share: a failed call as a message, and one integration leg up to a stop time. */
#ifndef NPGROW_MEANFIELD_CVODE_LEG_H
#define NPGROW_MEANFIELD_CVODE_LEG_H

#include <stddef.h>

#include <nvector/nvector_serial.h>

/* 0 when flag >= 0; else writes "CVODE: WHAT failed: FLAG" into err and returns 1. */
int npg_cv_fail(int flag, const char *what, char *err, size_t errlen);

/* One CVode call from *t_now to t (> *t_now, else nothing), never past stop (a kink of the
 * right-hand side, or the end of the run), with subnormal numbers flushed to zero inside the
 * solver on x86 (ahead of a moving front the solution decays to 1e-310, which costs ~100x per
 * operation; they are far below any atol) and the caller's floating-point mode restored. On
 * success *t_now = t. Returns 0, the stop exit status (npgrow/status.h) when a stop request
 * interrupted it, or 1 with a message. */
int npg_cv_leg(void *cv, N_Vector y, double *t_now, double t, double stop, char *err,
               size_t errlen);

#endif /* NPGROW_MEANFIELD_CVODE_LEG_H */
