/* util.c: see util.h. */
#define _POSIX_C_SOURCE 200809L

#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int npg_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s)
        return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo) || !(v <= hi))
        return 1;
    *out = v;
    return 0;
}

int npg_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return 1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'e' || *end == 'E' || *end == '.') {
        /* scientific notation, as the help writes limits (4e9): an exact integer below 2^53,
         * with at most 15 significant digits (so that the decimal is the double exactly) */
        int sig = 0, lead = 1;
        for (const char *c = s; *c && *c != 'e' && *c != 'E'; ++c) {
            if (*c < '0' || *c > '9')
                continue;
            lead = lead && *c == '0';
            sig += !lead;
        }
        if (sig > 15)
            return 1;
        errno = 0;
        const double d = strtod(s, &end);
        if (errno || *end || !(d >= 0.0) || !(d <= 9007199254740992.0) || d != (double)(long long)d)
            return 1;
        v = (unsigned long long)d;
    } else if (errno || *end) {
        return 1;
    }
    if (v < lo || v > hi)
        return 1;
    *out = v;
    return 0;
}

double npg_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void npg_default_outdir(const char *config, const char *suffix, char *out, size_t len)
{
    const char *base = strrchr(config, '/');
    base = base ? base + 1 : config;
    snprintf(out, len, "runs/%.*s%s", (int)strcspn(base, "."), base, suffix);
}

void npg_progress_init(npg_progress *p, int on)
{
    p->on = on;
    p->tty = isatty(2);
    p->start = npg_wall_seconds();
    p->last = 0.0;
}

int npg_progress_due(npg_progress *p, int done)
{
    if (!p->on)
        return 0;
    double now = npg_wall_seconds();
    if (!done && now - p->last < (p->tty ? 0.2 : 5.0))
        return 0;
    p->last = now;
    return 1;
}

double npg_progress_eta(const npg_progress *p, double frac)
{
    return frac > 0.0 ? (p->last - p->start) * (1.0 - frac) / frac : 0.0;
}

void npg_progress_line(const npg_progress *p, int done, const char *fmt, ...)
{
    if (p->tty)
        fputc('\r', stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(p->tty ? (done ? "   \n" : "   ") : "\n", stderr);
    fflush(stderr);
}

void npg_progress_break(const npg_progress *p)
{
    if (p->on && p->tty)
        fputc('\n', stderr);
}
