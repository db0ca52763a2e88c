/* cvode_leg.c: CVODE helpers shared by the master equation and the pair equation. */
#include <stdio.h>

#include <cvode/cvode.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "npgrow/status.h"

#include "meanfield/cvode_leg.h"

int npg_cv_fail(int flag, const char *what, char *err, size_t errlen)
{
    if (flag >= 0)
        return 0;
    snprintf(err, errlen, "CVODE: %s failed: %s", what, CVodeGetReturnFlagName(flag));
    return 1;
}

int npg_cv_leg(void *cv, N_Vector y, double *t_now, double t, double stop, char *err, size_t errlen)
{
    if (!(t > *t_now))
        return 0;
    sunrealtype tret = *t_now;
    if (npg_cv_fail(CVodeSetStopTime(cv, stop), "stop time", err, errlen))
        return 1;
#if defined(__SSE2__)
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
#endif
    int flag = CVode(cv, t, y, &tret, CV_NORMAL);
#if defined(__SSE2__)
    _mm_setcsr(csr);
#endif
    if (flag < 0 && npg_stop_requested()) {
        snprintf(err, errlen, "interrupted at t = %.9g", tret);
        return npg_stop_exit_code();
    }
    if (flag < 0) {
        snprintf(err, errlen, "CVODE failed at t = %.9g (target %.9g): %s", tret, t,
                 CVodeGetReturnFlagName(flag));
        return 1;
    }
    *t_now = t;
    return 0;
}
