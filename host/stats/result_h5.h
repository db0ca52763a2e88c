/* result_h5.h: npg_result from a run.h5 (private to host/stats).
 *
 * compare.c reads a result directory's CSV files and run.yaml; result_h5.c fills the same
 * npg_result from the run.h5 that `run` and `me` write beside them (README "run.h5"), for a
 * run.h5 given by name or a directory that holds it without the CSV files.
 */
#ifndef NPGROW_STATS_RESULT_H5_H
#define NPGROW_STATS_RESULT_H5_H

#include <stddef.h>
#include <stdio.h>

#include "npgrow/compare.h"

/* Reads run.yaml's keys (producer, particles, status, t_reached, config.run.t_end) from f into
 * r; path names the text in messages. 0, NPG_EXIT_USAGE with a message, or 1 (no memory). */
int npg_result_read_yaml(FILE *f, const char *path, npg_result *r, char *err, size_t errlen);

/* Reads the run.h5 at path into r (r->dir and the NAN defaults already set by the caller):
 * /parameters/run_yaml, /observables/moments/{time, particles, var_n, mean_n, m2..m10} and
 * /observables/size_histogram/{time, n_lo, n_hi, value}, whose rows per time are the bins from
 * the first to the last with a non-zero count (histogram.csv's rows). 0, or NPG_EXIT_USAGE with a
 * message naming the file and what is missing or unreadable. */
int npg_result_load_h5(const char *path, npg_result *r, char *err, size_t errlen);

#endif /* NPGROW_STATS_RESULT_H5_H */
