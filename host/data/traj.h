/* data/traj.h (private to host/data): reading a run-format directory's trajectories.csv and
 * run.yaml's time unit, shared by infer.c (which defines them) and predict.c. */
#ifndef NPGROW_DATA_TRAJ_H
#define NPGROW_DATA_TRAJ_H

#include <stddef.h>

/* One row of trajectories.csv. frame is filled by the caller (0 when read). */
typedef struct npg_traj_row {
    double t, n;
    unsigned long long id;
    size_t frame;
} npg_traj_row;

/* DIR/trajectories.csv (header with t, id, n; any order) into *rows (malloc'ed). Returns 0 or
 * NPG_EXIT_USAGE with file:line in err. */
int npg_traj_read(const char *dir, npg_traj_row **rows, size_t *nrow, char *err, size_t errlen);
/* DIR/run.yaml's time unit: the top-level time_unit, else config.system.time_unit. */
int npg_traj_time_unit(const char *dir, char *unit, size_t len, char *err, size_t errlen);

#endif /* NPGROW_DATA_TRAJ_H */
