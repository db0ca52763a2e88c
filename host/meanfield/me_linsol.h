/* me_linsol.h: the master equation's Newton systems, solved directly in O(n).
 *
 * CVODE (BDF, Newton) solves (I - gamma J) x = b. The master equation's Jacobian is tridiagonal
 * (nearest-neighbour hops) plus, with closed/precursor supply, one rank-one term u w^T: every
 * association rate is proportional to S, and S depends on every N_n through the free monomers
 * (u = dF/dS, w = dS/dy). This SUNLinearSolver takes the tridiagonal part from CVODE's band
 * matrix (I - gamma J_band, mu = ml = 1), factors it without pivoting (the matrix is column
 * diagonally dominant: J is a rate generator, whose columns sum to zero with non-negative
 * off-diagonal entries) and adds the rank-one term by the Sherman-Morrison formula. It is exact
 * up to rounding, so Newton corrections preserve every linear invariant of J (particles, and
 * monomers) that the iterative solver it replaces did not.
 */
#ifndef NPGROW_MEANFIELD_ME_LINSOL_H
#define NPGROW_MEANFIELD_ME_LINSOL_H

#include <sundials/sundials_linearsolver.h>

/* What the solver reads at each setup (owned by the caller, valid while the solver lives). */
typedef struct npg_me_linsol_ref {
    void *cvode;     /* CVODE memory: the current gamma comes from CVodeGetCurrentGamma */
    const double *u; /* [n] rank-one column (refreshed with the Jacobian), NULL: none */
    const double *w; /* [n] rank-one row, NULL: none */
} npg_me_linsol_ref;

/* A direct SUNLinearSolver of length n over a band matrix with mu = ml = 1. ref is copied. */
SUNLinearSolver npg_me_linsol_create(SUNContext ctx, sunindextype n, const npg_me_linsol_ref *ref);

#endif /* NPGROW_MEANFIELD_ME_LINSOL_H */
