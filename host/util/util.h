/* util.h: small host helpers shared by the commands, the run driver and the ME solver:
 * strict number parsing for CLI flags, a monotonic wall clock, default result directories. */
#ifndef NPGROW_UTIL_H
#define NPGROW_UTIL_H

#include <stddef.h>

/* Whole-string decimal number within [lo, hi]; 0 on success, 1 otherwise (NaN rejected). */
int npg_parse_double(const char *s, double lo, double hi, double *out);

/* Whole-string unsigned integer within [lo, hi] (no sign, no fraction); 0 on success. */
int npg_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out);

/* Monotonic wall clock [s]. */
double npg_wall_seconds(void);

/* runs/<stem of config><suffix>, e.g. ("configs/pt-acac.yaml", "-me") -> runs/pt-acac-me. */
void npg_default_outdir(const char *config, const char *suffix, char *out, size_t len);

#endif /* NPGROW_UTIL_H */
