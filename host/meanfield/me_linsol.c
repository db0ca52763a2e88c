/* me_linsol.c: tridiagonal LU plus a Sherman-Morrison rank-one update, as a SUNLinearSolver
 * (me_linsol.h). Setup is O(n) and runs only when CVODE refreshes its Newton matrix; each solve
 * is one forward and one backward sweep (and a dot product with closed supply).
 */
#include <math.h>
#include <stdlib.h>

#include <cvode/cvode.h>
#include <sunmatrix/sunmatrix_band.h>

#include "meanfield/me_linsol.h"

typedef struct linsol {
    npg_me_linsol_ref ref;
    sunindextype n;
    double *l;    /* [n] multipliers below the diagonal (l[0] unused) */
    double *piv;  /* [n] pivots */
    double *up;   /* [n] entries above the diagonal (up[n-1] unused) */
    double *z;    /* [n] (I - gamma J_band)^{-1} (-gamma u) */
    double denom; /* 1 + w . z */
    int rank1;
    sunindextype last_flag;
} linsol;

#define LS_CONTENT(S) ((linsol *)(S)->content)

static SUNLinearSolver_Type ls_type(SUNLinearSolver S)
{
    (void)S;
    return SUNLINEARSOLVER_DIRECT;
}

static SUNLinearSolver_ID ls_id(SUNLinearSolver S)
{
    (void)S;
    return SUNLINEARSOLVER_CUSTOM;
}

static int ls_initialize(SUNLinearSolver S)
{
    LS_CONTENT(S)->last_flag = SUNLS_SUCCESS;
    return SUNLS_SUCCESS;
}

/* x = T^{-1} b with the factors of the tridiagonal part (x may alias b). */
static void tri_solve(const linsol *c, const double *b, double *x)
{
    const sunindextype n = c->n;
    x[0] = b[0];
    for (sunindextype i = 1; i < n; ++i)
        x[i] = b[i] - c->l[i] * x[i - 1];
    x[n - 1] /= c->piv[n - 1];
    for (sunindextype i = n - 2; i >= 0; --i)
        x[i] = (x[i] - c->up[i] * x[i + 1]) / c->piv[i];
}

static int ls_setup(SUNLinearSolver S, SUNMatrix A)
{
    linsol *c = LS_CONTENT(S);
    const sunindextype n = c->n;
    c->l[0] = 0.0;
    c->piv[0] = SM_ELEMENT_B(A, 0, 0);
    for (sunindextype i = 1; i < n; ++i) {
        if (!(c->piv[i - 1] != 0.0) || !isfinite(c->piv[i - 1]))
            return c->last_flag = i; /* recoverable: CVODE retries with a smaller step */
        c->up[i - 1] = SM_ELEMENT_B(A, i - 1, i);
        c->l[i] = SM_ELEMENT_B(A, i, i - 1) / c->piv[i - 1];
        c->piv[i] = SM_ELEMENT_B(A, i, i) - c->l[i] * c->up[i - 1];
    }
    if (!(c->piv[n - 1] != 0.0) || !isfinite(c->piv[n - 1]))
        return c->last_flag = n;
    c->rank1 = c->ref.u && c->ref.w;
    if (c->rank1) {
        /* The Newton matrix is T - gamma u w^T: z = T^{-1}(-gamma u), denom = 1 + w.z. */
        sunrealtype gamma;
        if (CVodeGetCurrentGamma(c->ref.cvode, &gamma) != CV_SUCCESS)
            return c->last_flag = SUNLS_PACKAGE_FAIL_UNREC;
        for (sunindextype i = 0; i < n; ++i)
            c->z[i] = -gamma * c->ref.u[i];
        tri_solve(c, c->z, c->z);
        double d = 1.0;
        for (sunindextype i = 0; i < n; ++i)
            d += c->ref.w[i] * c->z[i];
        if (!(fabs(d) > 1e-12) || !isfinite(d))
            return c->last_flag = 1;
        c->denom = d;
    }
    return c->last_flag = SUNLS_SUCCESS;
}

static int ls_solve(SUNLinearSolver S, SUNMatrix A, N_Vector xv, N_Vector bv, sunrealtype tol)
{
    (void)A, (void)tol;
    linsol *c = LS_CONTENT(S);
    double *x = N_VGetArrayPointer(xv);
    tri_solve(c, N_VGetArrayPointer(bv), x);
    if (c->rank1) {
        double d = 0.0;
        for (sunindextype i = 0; i < c->n; ++i)
            d += c->ref.w[i] * x[i];
        d /= c->denom;
        for (sunindextype i = 0; i < c->n; ++i)
            x[i] -= d * c->z[i];
    }
    return c->last_flag = SUNLS_SUCCESS;
}

static sunindextype ls_last_flag(SUNLinearSolver S)
{
    return LS_CONTENT(S)->last_flag;
}

static int ls_free(SUNLinearSolver S)
{
    if (!S)
        return SUNLS_SUCCESS;
    linsol *c = S->content;
    if (c) {
        free(c->l);
        free(c->piv);
        free(c->up);
        free(c->z);
        free(c);
        S->content = NULL;
    }
    SUNLinSolFreeEmpty(S);
    return SUNLS_SUCCESS;
}

SUNLinearSolver npg_me_linsol_create(SUNContext ctx, sunindextype n, const npg_me_linsol_ref *ref)
{
    if (n < 1)
        return NULL;
    SUNLinearSolver S = SUNLinSolNewEmpty(ctx);
    if (!S)
        return NULL;
    S->ops->gettype = ls_type;
    S->ops->getid = ls_id;
    S->ops->initialize = ls_initialize;
    S->ops->setup = ls_setup;
    S->ops->solve = ls_solve;
    S->ops->lastflag = ls_last_flag;
    S->ops->free = ls_free;
    linsol *c = calloc(1, sizeof *c);
    S->content = c;
    if (!c) {
        ls_free(S);
        return NULL;
    }
    c->ref = *ref;
    c->n = n;
    c->l = malloc((size_t)n * sizeof *c->l);
    c->piv = malloc((size_t)n * sizeof *c->piv);
    c->up = calloc((size_t)n, sizeof *c->up);
    c->z = malloc((size_t)n * sizeof *c->z);
    if (!c->l || !c->piv || !c->up || !c->z) {
        ls_free(S);
        return NULL;
    }
    return S;
}
