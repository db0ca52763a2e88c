/* util.h: small host helpers shared by the commands, the run driver and the ME solver:
 * strict number parsing for CLI flags, a monotonic wall clock, default result directories. */
#ifndef NPGROW_UTIL_H
#define NPGROW_UTIL_H

#include <stddef.h>

/* Whole-string decimal number within [lo, hi]; 0 on success, 1 otherwise (NaN rejected). */
int npg_parse_double(const char *s, double lo, double hi, double *out);

/* Whole-string unsigned integer within [lo, hi] (no sign, no fraction), in decimal digits or in
 * scientific notation that is an exact integer (1e8, 2.5e6; not 1.5); 0 on success. */
int npg_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out);

/* Monotonic wall clock [s]. */
double npg_wall_seconds(void);

/* Progress of a long command on stderr: on a terminal one live line rewritten every 0.2 s,
 * otherwise a plain line every 5 s; the final line always. */
typedef struct npg_progress {
    int on, tty;
    double start, last; /* [s] npg_wall_seconds */
} npg_progress;

/* Start (on = 0: print nothing). */
void npg_progress_init(npg_progress *p, int on);
/* Is a line due now (always when done)? Records the time when it is. */
int npg_progress_due(npg_progress *p, int done);
/* Seconds left, extrapolated from the fraction done so far. */
double npg_progress_eta(const npg_progress *p, double frac);
/* Print one progress line (printf format, no newline): live or plain as above; done ends the
 * live line. */
void npg_progress_line(const npg_progress *p, int done, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* End a live line that a failure or stop interrupted. */
void npg_progress_break(const npg_progress *p);

/* runs/<stem of config><suffix>, e.g. ("configs/pt-acac.yaml", "-me") -> runs/pt-acac-me. */
void npg_default_outdir(const char *config, const char *suffix, char *out, size_t len);

#endif /* NPGROW_UTIL_H */
