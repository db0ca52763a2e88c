/* npgrow/predict.h: trace-driven prediction (`npgrow predict`, issue 14 "The experiment",
 * items 3 and 5). Implemented in host/data/predict.c.
 *
 * Given a data directory in the run format (trajectories.csv: t,id,n,r_nm for every tracked
 * particle; moments_ci.csv: bootstrap bands, optional) and a schedule S(t) (inferred from the
 * same data by npg_infer_run, or given), the observed ensemble is simulated R times: particle i
 * of replica r enters at its first observed frame with its observed size (raised to 2 when the
 * data has it below) and is advanced by the shared per-particle SSA (npg_particle_advance,
 * include/npgrow/step.h) under S(t), each frame interval split at the schedule's knots so that
 * S is linear inside every piece. It counts at frame t exactly where the data has it (present
 * in trajectories.csv at t: a particle that left the view or fell below the detection floor
 * leaves the statistics at its last observed frame, also in the prediction) and while alive:
 * a simulated particle that dissolves (n = 1) leaves the statistics from then on and is
 * counted in `dissolved`. Per frame: mean, population variance, and m_q / <n>^q (q = 3..10,
 * m_q = <n^q>) of each replica; across replicas the mean and the 2.5, 16, 84, 97.5 %
 * percentiles. Replica r, particle i uses Philox key (seed, r P + i) and step = piece index:
 * results do not depend on the thread count.
 * Ex situ (no trajectories.csv; an import of `radii`, whose run.yaml names the source files,
 * read again): replica r draws M_0 particles with replacement from the first time's sample,
 * evolves them, and at each time t_k draws M_k of them with replacement (the sample of t_k is
 * another aliquot); S(t) is --schedule, or one constant S >= 0 fitted by least squares to the
 * integrated mean identity <n>(t_J) - <n>(t_0) = S int <A_n> - int <k^d_n> over all times.
 * Master equation (o->me, the caller's npg_me_particle): each particle's P(n, t) from its entry,
 * counted where the replicas count it; per frame E[s_q] (s_q = sum n^q over a replica's present,
 * undissolved particles) and the quantities from them (README, "Against the experiment").
 */
#ifndef NPGROW_PREDICT_H
#define NPGROW_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/config.h"
#include "npgrow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_PREDICT_REPLICAS_DEFAULT 1000

/* The master-equation prediction of one particle under S(t) (piecewise linear through (kt, ks),
 * constant beyond the ends) and cfg's rates, from a delta at size n0 at time t0: at each output
 * time tout[j] (>= t0, non-decreasing) out[j * 12 + q] = E[n^q; not dissolved], q = 0..10, and
 * out[j * 12 + 11] = P(dissolved by then). It is npg_me_particle (include/npgrow/me.h) with
 * default options, handed in by the caller: this room (data) may not use the meanfield room.
 * Returns 0, or an exit code with a message in err. Must be safe to call from several threads
 * at once. */
typedef int (*npg_predict_me_fn)(const npg_config *cfg, const double *kt, const double *ks,
                                 size_t nk, double t0, uint32_t n0, const double *tout, size_t nout,
                                 double *out, char *err, size_t errlen);

typedef struct npg_predict_options {
    uint32_t replicas;    /* R >= 1 */
    uint32_t seed;        /* Philox key word */
    int threads;          /* OpenMP threads; 0 = the default */
    const char *schedule; /* a config with supply {mode: schedule}: its S(t) is used; NULL =
                             inferred from DATA_DIR with npg_infer_run's defaults */
    npg_predict_me_fn me; /* the master-equation prediction (NULL: none, its columns empty) */
    int quiet;
} npg_predict_options;

void npg_predict_options_default(npg_predict_options *o);

/* Run the prediction and write DIR (prediction.csv, summary.csv, run.yaml) through
 * npg_outdir_* (DIR checked before the work starts); a summary on stdout unless quiet. argv_line:
 * the command line for run.yaml. Returns 0; NPG_EXIT_USAGE with a message for bad input;
 * NPG_EXIT_FAIL when writing fails; npg_stop_exit_code() when a stop was requested (nothing
 * written). */
int npg_predict_run(const char *data_dir, const npg_config *cfg, const npg_predict_options *o,
                    const char *outdir, int force, const char *argv_line, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_PREDICT_H */
