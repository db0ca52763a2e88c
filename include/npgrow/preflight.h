/* npgrow/preflight.h: what a particle run will need, estimated before it starts, and the refusal
 * of runs that cannot finish (host/engine/preflight.c).
 *
 * Estimates: the largest initial size (a quantile of the size law at 1 - 1e-3/N, or the exact
 * maximum of a monodisperse or histogram start); the largest size reachable by t_end (the
 * deterministic envelope dn/dt = S_max A_n, which bounds the mean growth of the fastest
 * particle, times 1.25); events per particle per output interval at that size; memory (particles
 * x bytes + the integer histograms, one per thread, sized by the largest size); output bytes
 * (rows x columns of every CSV). Each refusal names the key to change and where its value came
 * from (file:line:column or the flag).
 */
#ifndef NPGROW_PREFLIGHT_H
#define NPGROW_PREFLIGHT_H

#include <stddef.h>

#include "npgrow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_preflight {
    double n0_max;       /* [monomers] largest initial size expected */
    double n_max;        /* [monomers] largest size reachable by t_end (upper estimate) */
    double s_max;        /* [-] largest supersaturation the run can see */
    double events_max;   /* events of one particle in one output interval at n_max */
    double mem_bytes;    /* [bytes] host memory the run needs */
    double mem_avail;    /* [bytes] what this process may still use (RAM, rlimit, cgroup) */
    double output_bytes; /* [bytes] all result files */
    double disk_free;    /* [bytes] free space where the result goes (< 0 unknown) */
} npg_preflight;

typedef struct npg_preflight_options {
    int threads;             /* CPU threads (0 = OpenMP default) */
    const char *outdir;      /* result directory (its nearest existing ancestor is measured) */
    double max_output_bytes; /* refuse larger results (0 = only the free disk space) */
} npg_preflight_options;

/* Estimate; refuse (NPG_EXIT_USAGE with a message naming the key) what cannot run. */
int npg_preflight_check(const npg_config *cfg, const npg_preflight_options *o, npg_preflight *pf,
                        char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_PREFLIGHT_H */
