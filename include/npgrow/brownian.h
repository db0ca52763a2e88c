/* npgrow/brownian.h: spatial coalescence by Brownian dynamics in a periodic cube (model.md 3.7;
 * issue "Coalescence II"). The library core: no configuration, no engine; the engine drives it
 * between its monomer intervals as it drives the well-mixed sampler (npgrow/wellmixed.h).
 *
 * Model. Alive particles (n >= 2) of radius R_i = sigma_s n_i^(1/3) [nm] sit in a periodic cube
 * of edge L [nm]. Per step of length dt [time unit]:
 *   move      every coordinate += sqrt(2 D_i dt) N(0,1), D_i = f(t) D_ref r_ref / (R_i + l)
 *             [nm^2 / time unit] (f at the step's midpoint; npg_coal_params' Brownian fields);
 *   hard core no two particles closer than R_i + R_j: a pair that overlaps after the move is
 *             reflected at contact, its centre distance r -> 2 (R_i + R_j) - r along the line of
 *             centres, the correction split in the ratio D_i : D_j (a third body may need a few
 *             Jacobi rounds; after 16 the particles still overlapping return to their positions
 *             before the step, which had no overlap). Growth (the monomer SSA between advances,
 *             or a merge) that makes particles overlap pushes them apart to contact, in the
 *             same ratio;
 *   reaction  a pair reacts in this step with probability 1 - exp(-X), X its exposure to the
 *             shell hazard (npgrow/bdstep.h)
 *               gaussian  h = kappa_c P(sigma) exp(-(r - (sigma + l))^2 / (2 nu^2))
 *               step      h = kappa_c P(sigma) for |r - (sigma + l)| <= nu  (Doi)
 *             sigma = R_i + R_j, P the Fermi propensity of npg_coal_params (1 when off);
 *             sampling NPG_BD_SAMPLE_END: X = h(r) dt at the centre distance r after the
 *             move; NPG_BD_SAMPLE_BRIDGE (gaussian shell): X = the expectation of the integral
 *             of h along the Brownian bridge between the pair's separations before and after
 *             the move (npg_bd_bridge_exposure; the displacements are drawn again from their
 *             Philox counters, so no position before the move is stored);
 *   conflicts a particle in two reacting pairs takes part in one: reacting pairs are taken in
 *             the order of a Philox priority drawn per pair (ids break ties), skipping pairs
 *             with a particle already taken;
 *   merge     the lower id is kept: n_low := n_i + n_j at the volume-weighted centre (the
 *             minimum image of the pair), the other n := 0 (coalesced away), both Group B.
 *             (on_reaction = NPG_BD_REMOVE instead removes both, A + A -> 0, sizes frozen:
 *             for measuring rate coefficients.)
 * Time step: dt, or automatically the largest dt with sqrt(2 D_max dt) <= nu / dt_resolution
 * (dt_resolution = 3 unless set), D_max the largest D_i over the advance, so that a pair's
 * relative step, sqrt(2 (D_i + D_j) dt) <= nu sqrt(2)/3, resolves the shell; every advance
 * [t0, t1] is cut into equal steps of at most that length. Measured effect of the step
 * (tests/coalesce/test_brownian.cpp): a Gaussian shell, sampled at step ends, is an unbiased
 * Riemann sum of each pair's exposure while the step resolves the shell; at sqrt(2 D_i dt) =
 * nu/3 and = nu the reactions agree with the pair equation within their 2-3 % statistical
 * error. Coarser, pairs cross the shell unseen: isolated pairs of the study's shell at full
 * propensity (diffusion-limited) react 3.5 % less at a step of 2 nu and 10.9 % less at 3 nu
 * than at nu/6 (standard error 0.27 %). Along the bridge the crossings are integrated: -1.0,
 * -0.8, +0.2, +1.2 % at nu/2, nu, 2 nu, 3 nu (the +1.2 %: 1 - exp(-E X) over-states
 * E[1 - exp(-X)] when one step's X is large), so dt_resolution 0.5 (a step of 2 nu, 36 times
 * fewer steps than the default) costs < 1 % there (BrownianBridge.CoarseStepsIsolatedPairs).
 * Only the reaction is integrated: the hard core still acts at step ends (a reflection once a
 * pair overlaps), which a step much smaller than the radii keeps exact enough (2 nu = 0.2 nm
 * against R_i + R_j ~ 2 nm in the study). A perfectly absorbing step
 * shell seen only at step ends loses 0.58 sqrt(2 (D_i + D_j) dt) of its radius (Siegmund's
 * correction) plus a deficit in the first steps: -16 % of Smoluchowski's count at a relative
 * step of 0.5 nm (R = 5 nm), -6 % (within error) at 0.125 nm.
 *
 * Neighbours: a cell list (cells of edge h >= r_cut + 2 e, h ~ the mean spacing in dilute
 * systems, r_cut = 2 R_max + l + 8 nu + a margin, plus 16 steps along the bridge) rebuilt by a
 * stable counting sort of cell indices only when a particle has left its cell's box extended by the
 * excursion e (a skin of 2 e; weaker than "moved more than e", so rebuilds are rarer: every ~60
 * steps at 10^6 particles). A pair pass scans at the farthest pair it can keep, which is below
 * r_cut (the growth check: contact + margin; a step: the shell's reach or the margin, whichever
 * is larger), so it reads fewer neighbour cells. Slots are kept in cell order; ids stay the
 * engine's. OpenMP over particles; the result is the same, bit for bit, for any number of
 * threads.
 *
 * Device: with npg_bd_attach (npgrow/bddevice.h) the parallel part of each step (moves, the
 * pair search over normal slots, rebuilds, sizes) runs on the device and this library runs the
 * serial part on its arrays as a mirror of the device's, with the same result (ARCHITECTURE.md).
 *
 * The engine's part: create with its slot capacity (dormant slots for entries); place the
 * initial particles (npg_bd_place_all, r_c); per synchronization interval, after the monomer
 * SSA, npg_bd_advance over the interval (sizes changed by the SSA are read at its start:
 * diffusion factors, dissolved particles, growth overlaps); npg_bd_insert for each entering
 * particle between advances; Group B from npg_bd_group_b; merges through the callback.
 *
 * Memory: about 28.4 bytes per particle slot here (positions 12, D factor 4, id 4, sort scratch
 * 4, cell starts ~4 at one particle per cell, five bits), plus the engine's 8 (n, n_prev): 36.4
 * of the 40 allowed (npg_bd_bytes_per_particle; pair lists are per step and small). While
 * npg_bd_place_all runs, its placement grid holds 16 bytes per cell more (1 to 2 cells per
 * particle).
 * Units: lengths nm, times in the caller's time unit (D_ref r_ref and kappa_c per that unit).
 */
#ifndef NPGROW_BROWNIAN_H
#define NPGROW_BROWNIAN_H

#include <stddef.h>
#include <stdint.h>

#include "npgrow/bddevice.h"
#include "npgrow/bdstep.h"
#include "npgrow/coalesce.h"
#include "npgrow/wellmixed.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPG_BD_MERGE  0 /* a reaction merges the pair (the lower id kept) */
#define NPG_BD_REMOVE 1 /* a reaction removes both (A + A -> 0): sizes never change */

typedef struct npg_bd_params {
    /* d_ref_r_ref, ligand (l), tf_b, tf_c, fermi, gamma, sigma_c, sigma_s; the well-mixed
     * kernel fields (kernel, k_const, k_add, k_a) are not used */
    npg_coal_params coal;
    double box_nm;        /* L: edge of the periodic cube [nm] */
    double kappa_c;       /* shell hazard amplitude [1 / time unit]; 0: no reactions */
    double shell_nm;      /* nu: gaussian standard deviation, or step half-width [nm] */
    int shell;            /* NPG_BD_SHELL_GAUSSIAN or NPG_BD_SHELL_STEP */
    double dt;            /* step [time unit]; 0: automatic */
    double dt_resolution; /* automatic dt: sqrt(2 D_max dt) <= nu / dt_resolution; 0: 3 */
    int sampling;         /* NPG_BD_SAMPLE_END (0) or NPG_BD_SAMPLE_BRIDGE (gaussian shell) */
    int on_reaction;      /* NPG_BD_MERGE or NPG_BD_REMOVE */
    uint32_t seed;
    int threads;     /* OpenMP threads; 0: omp_get_max_threads() */
    int full_cutoff; /* tests: every pair pass cuts at r_cut, the reference for the tighter
                      * per-pass cutoff (the same pairs, so the same results bit for bit) */
} npg_bd_params;

typedef struct npg_bd_stats {
    uint64_t steps;          /* steps taken */
    uint64_t particle_steps; /* sum over steps of the alive particles moved */
    uint64_t reactions;      /* merges (or removals) */
    uint64_t conflicts;      /* reacting pairs skipped because a partner was taken */
    uint64_t reflections;    /* hard-core reflections */
    uint64_t reverts;        /* particles returned to their position before the step */
    uint64_t pushes;         /* overlaps from growth or merges pushed apart */
    uint64_t rebuilds;       /* cell-list rebuilds (regrids included) */
    uint64_t regrids;        /* rebuilds with a new cell size */
    uint64_t close_pairs;    /* pairs found within r_cut, summed over steps */
    uint64_t placed;         /* particles placed (npg_bd_place_all, npg_bd_insert, _at) */
    uint64_t place_attempts; /* positions drawn for them */
    uint64_t dev_fetched;    /* with a device: slots copied to the host's mirror */
    uint64_t dev_put;        /* with a device: slots the host wrote, put back */
    double t_moves, t_cells, t_pairs, t_merges; /* wall seconds in each part of the steps */
    double dt_last;                             /* the last advance's step [time unit] */
    double dt_target; /* the last advance's automatic step (dt_last <= it) [time unit] */
    double cell_nm, excursion_nm, rcut_nm; /* current grid: h, e, r_cut [nm] */
    uint32_t cells_per_axis;
} npg_bd_stats;

typedef struct npg_bd npg_bd;

/* Attach a device (before the first advance; bd takes ownership of dev, a malloc'd struct, and
 * npg_bd_destroy destroys it). The first advance puts the state there. */
int npg_bd_attach(npg_bd *bd, npg_bd_device *dev, char *err, size_t errlen);

/* The parameters of cfg's `coalescence: {mode: brownian}` section in its time unit (box edge
 * V^(1/3), kappa_c and the diffusion keys converted from per second), merging on reaction,
 * automatic step; threads as for the CPU backend (0 = OpenMP default). */
void npg_bd_params_from_config(const npg_config *cfg, int threads, npg_bd_params *bp);

/* ids 0..capacity-1 (capacity < 2^31). Checks the parameters (message names the field). */
int npg_bd_create(npg_bd **bd, const npg_bd_params *p, uint64_t capacity, char *err, size_t errlen);
void npg_bd_destroy(npg_bd *bd);

/* Places every id with n[id] >= 2, in id order, uniformly in the box with no two centres
 * closer than max(min_dist_nm, R_i + R_j) (random sequential addition, one Philox stream per
 * id). Only on an empty system. Fails (with the volume fraction in the message) when a particle
 * finds no room in 10^5 attempts: min_dist_nm beyond the jamming density. Runs in parallel
 * batches (OpenMP) with the result of one particle at a time: the positions equal those of
 * npg_bd_insert id after id, and do not depend on the thread count. */
int npg_bd_place_all(npg_bd *bd, const uint32_t *n, double min_dist_nm, char *err, size_t errlen);

/* A dormant id (n_arr[id] == 0) enters with size n >= 2 at a uniform position no closer than
 * max(min_dist_nm, R_i + R_j) to any alive particle; n_arr[id] := n. */
int npg_bd_insert(npg_bd *bd, uint32_t *n_arr, uint32_t id, uint32_t n, double min_dist_nm,
                  char *err, size_t errlen);

/* As npg_bd_insert at a given position xyz [nm] (tests, restarts); fails on an overlap. */
int npg_bd_place_at(npg_bd *bd, uint32_t *n_arr, uint32_t id, uint32_t n, const double xyz[3],
                    char *err, size_t errlen);

/* The step an advance over [t0, t1] would take at the current sizes [time unit]. */
double npg_bd_step(npg_bd *bd, const uint32_t *n, double t0, double t1);

/* Runs [t0, t1] over the sizes n[0..capacity-1] (changed in place by merges). Sizes may have
 * changed since the last call (monomer growth, n < 2: the particle is gone); every alive id
 * must have been placed. fn (may be NULL) is called for every reaction, in time order, and in
 * (kept, gone) order within a step; a non-zero return stops the advance after that step and
 * is returned. Returns 0, fn's value, or 1 with a message. */
int npg_bd_advance(npg_bd *bd, uint32_t *n, double t0, double t1, npg_wm_event_fn fn, void *ctx,
                   char *err, size_t errlen);

/* Positions by id [nm, in [0, L)]: xyz[3 id + k] for every placed alive id; others get NaN.
 * Returns 1 (all NaN) when the attached device fails to give them, else 0. */
int npg_bd_positions(const npg_bd *bd, double *xyz);

/* Group B (has taken part in a merge) as a bitset over ids: bit (id & 63) of word id >> 6. */
const uint64_t *npg_bd_group_b(const npg_bd *bd);
void npg_bd_get_stats(const npg_bd *bd, npg_bd_stats *st);
/* Host bytes held per particle slot (capacity), the engine's n arrays not included. */
double npg_bd_bytes_per_particle(const npg_bd *bd);
/* Device bytes held per particle slot (0 without a device): its copy of the slots, of n, and
 * the rebuild's sort buffers. */
double npg_bd_device_bytes_per_particle(const npg_bd *bd);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_BROWNIAN_H */
