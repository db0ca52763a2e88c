/* npgrow/run.h: a complete particle run into a result directory (what `npgrow run` does).
 *
 * Writes moments.csv, histogram.csv, growth_rate.csv, trajectories.csv and run.yaml into a
 * temporary sibling directory and renames it to `outdir` at the end, so an interrupted or failed
 * run never looks complete. See README.md for the file formats.
 */
#ifndef NPGROW_RUN_H
#define NPGROW_RUN_H

#include <stdint.h>

#include "npgrow/config.h"
#include "npgrow/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_run_options {
    const char *outdir;       /* result directory (created) */
    int force;                /* replace a non-empty outdir */
    int quiet;                /* no progress on stderr */
    npg_ensemble_options ens; /* backend, threads, device */
    double max_output_bytes;  /* refuse results larger than this (0 = free disk space only) */
} npg_run_options;

typedef struct npg_run_summary {
    double wall_s;
    uint64_t events;
    double events_per_s;
    int interrupted; /* SIGINT: status interrupted, exit 130 */
    int coalescence; /* the run had coalescence: the fields below apply */
    uint64_t merges;
    uint64_t entries;
    double alive;   /* particles alive at the end */
    double group_b; /* of them in Group B (merged at least once) */
} npg_run_summary;

/* Returns 0 on success, 130 if interrupted (results written with status: interrupted),
 * NPG_EXIT_USAGE for bad input, 1 for other failures; err holds the message. */
int npg_run(const npg_config *cfg, const npg_run_options *o, npg_run_summary *sum, char *err,
            size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_RUN_H */
