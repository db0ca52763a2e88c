/* me.c: the mean-field master equation, integrated with SUNDIALS CVODE (BDF).
 *
 * dN_n/dt = S A_{n-1} N_{n-1} - (S A_n + k^d_n) N_n + k^d_{n+1} N_{n+1},  n = 2..n_max,
 * with no N_1 term (a dimer that loses a monomer dissolves; nothing nucleates) and a reflecting
 * top (no association out of n_max). Rates come from the rate table (rates.h), never re-derived.
 * It deliberately does no file I/O (me_solve.c writes the result directory).
 *
 * State vector y (length n_max):
 *   y[0]            D, expected particles dissolved so far (dD/dt = k^d_2 N_2)
 *   y[n-1]          N_n, n = 2..n_max
 * Closed and precursor supply add no state: the precursor has its exact solution
 * P(t) = P(0) e^{-k_p t}, and the free monomers are what the other pools leave,
 * F = total(0) - P(t) - sum_n n N_n, so total monomers are conserved by construction (an
 * integrated F drifted away from the total by the solver's tolerance times the number of steps).
 * S = F / (V rho_1inf) multiplies every association, so the Jacobian is tridiagonal plus the
 * rank-one term u w^T (u_n = dF_n/dS, w_m = dS/dN_m = -m / (V rho_1inf)). Newton systems are
 * solved exactly in O(n_max) (me_linsol.c: tridiagonal LU + Sherman-Morrison).
 *
 * The size grid. With resolution R > 0 (me.resolution, default NPG_ME_RESOLUTION) the sizes
 * n >= 2R are lumped into cells of width floor(n/R) (relative width <= 1/R); below that every
 * cell is one size, as are all cells with R = 0 (the exact equation). A cell's count N_k
 * changes only by the fluxes through its two end faces, and the flux through the face between
 * sizes m and m+1 is exactly J = S A_m p(m) - k^d_{m+1} p(m+1) in terms of the per-size
 * densities p; the only approximation is p, interpolated linearly between the neighbouring
 * cells' centres from their averages N_k / w_k (error O((w/sigma_n)^2), sigma_n the local width
 * of the distribution, plus O(1/R^2) from the faces where the width steps up by one; exact for
 * one-size cells, so R = 0 is the master equation above, term by term). The distribution's
 * width at sizes in the thousands is hundreds of monomers, so R = 256 cells per unit ln n
 * resolve it with errors far below a particle run's (bench/RESULTS.md: accuracy and speed
 * against R = 0), in a few thousand unknowns where the exact equation needs tens of thousands.
 * Where it does not (a narrow start, a focusing distribution), the a posteriori estimate
 * me_grid_error passes NPG_ME_GRID_ERR and the grid is refined (npg_me_refine: R doubled, down
 * to the exact grid), at the start and from the last check of npg_me_solve. The Jacobian stays
 * tridiagonal (plus rank one), conservation of particles is exact, and monomers in particles
 * are counted as sum_k centre_k N_k, which the fluxes conserve exactly with F.
 *
 * n_max can grow during a run (npg_me_grow) and the grid can be refined (npg_me_refine): the
 * state is spread over its sizes (me_expand, count-preserving per cell) and summed into the new
 * cells, and CVODE restarts from it, from the current time or from the last checkpoint.
 *
 * Coalescence, a particle source or supply.monomer_exchange: false select the extended equation
 * of me_coal.c (Group A and B populations, Smoluchowski coagulation, SPGMR); this file then only
 * sizes, starts and reads it. Without them everything here runs exactly as before.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunmatrix/sunmatrix_band.h>

#include "npgrow/me.h"
#include "npgrow/status.h"

#include "meanfield/cvode_leg.h"

#include "meanfield/me_impl.h"
#include "meanfield/me_linsol.h"

/* ---- rates and supply --------------------------------------------------------------------- */

static double me_precursor(const npg_me *me, double t)
{
    return me->mode == NPG_SUPPLY_PRECURSOR ? me->P0 * exp(-me->kp * t) : 0.0;
}

/* Monomers in particles, sum_k centre_k N_k (sum_n n N_n on the exact grid). */
static double me_bound(const npg_me *me, const double *y)
{
    const double *N = y + 1;
    double bound = 0.0;
    for (uint32_t k = 0; k < me->K; ++k)
        bound += me->cmid[k] * N[k];
    return bound;
}

/* Free monomers F = total(0) - P(t) - bound (closed/precursor). */
static double me_free(const npg_me *me, double t, const double *y)
{
    return me->total0 - me_precursor(me, t) - me_bound(me, y);
}

static double me_S(const npg_me *me, double t, const double *y)
{
    if (me->mode == NPG_SUPPLY_SCHEDULE)
        return npg_config_schedule_s(me->cfg, t);
    return me_free(me, t, y) / me->vrho;
}

static int me_rhs(sunrealtype t, N_Vector yv, N_Vector fv, void *ud)
{
    /* A stop request (SIGINT/SIGTERM) ends the CVode call at once: unrecoverable. */
    if (npg_stop_requested())
        return -1;
    const npg_me *me = ud;
    const double *y = N_VGetArrayPointer(yv);
    double *f = N_VGetArrayPointer(fv);
    const uint32_t K = me->K;
    const double *N = y + 1; /* N[k]: cell k */
    double *dN = f + 1;
    const double *fa0 = me->fa0, *fa1 = me->fa1, *fd0 = me->fd0, *fd1 = me->fd1;
    const double S = me_S(me, t, y);
    double in = 0.0; /* flux into cell k from below */
    for (uint32_t k = 0; k + 1 < K; ++k) {
        double out = (S * fa0[k] - fd0[k]) * N[k] + (S * fa1[k] - fd1[k]) * N[k + 1];
        dN[k] = in - out;
        in = out;
    }
    dN[K - 1] = in;                              /* reflecting top */
    const double diss = me->kd[me->n_lo] * N[0]; /* cell 0 is the one size n_lo (2: dissolution) */
    dN[0] -= diss;
    f[0] = diss;
    return 0;
}

/* Tridiagonal part of the Jacobian at S; the rank-one column u (closed/precursor) at y. */
static int me_jac(sunrealtype t, N_Vector yv, N_Vector fy, SUNMatrix J, void *ud, N_Vector t1,
                  N_Vector t2, N_Vector t3)
{
    (void)fy, (void)t1, (void)t2, (void)t3;
    npg_me *me = ud;
    const double *y = N_VGetArrayPointer(yv);
    const uint32_t K = me->K;
    const double *N = y + 1;
    const double *fa0 = me->fa0, *fa1 = me->fa1, *fd0 = me->fd0, *fd1 = me->fd1;
    const double S = me_S(me, t, y);
    SUNMatZero(J);
    SM_ELEMENT_B(J, 0, 1) = me->kd[me->n_lo];
    /* face k: out of cell k, into cell k + 1, (S fa0 - fd0) N_k + (S fa1 - fd1) N_{k+1} */
    for (uint32_t k = 0; k < K; ++k) {
        sunindextype i = (sunindextype)k + 1;
        double d = k == 0 ? -me->kd[me->n_lo] : 0.0;
        if (k > 0) {
            SM_ELEMENT_B(J, i, i - 1) = S * fa0[k - 1] - fd0[k - 1];
            d += S * fa1[k - 1] - fd1[k - 1];
        }
        if (k + 1 < K) {
            d -= S * fa0[k] - fd0[k];
            SM_ELEMENT_B(J, i, i + 1) = -(S * fa1[k] - fd1[k]);
        }
        SM_ELEMENT_B(J, i, i) = d;
    }
    if (me->u) {
        me->u[0] = 0.0;
        double in = 0.0;
        for (uint32_t k = 0; k < K; ++k) {
            double out = k + 1 < K ? fa0[k] * N[k] + fa1[k] * N[k + 1] : 0.0;
            me->u[k + 1] = in - out;
            in = out;
        }
    }
    return 0;
}

/* ---- solver lifetime ----------------------------------------------------------------------- */

static void me_counters(const npg_me *me, long c[7])
{
    memset(c, 0, 7 * sizeof *c);
    if (!me->cv)
        return;
    CVodeGetNumSteps(me->cv, &c[0]);
    CVodeGetNumRhsEvals(me->cv, &c[1]);
    CVodeGetNumLinIters(me->cv, &c[2]);
    CVodeGetNumJacEvals(me->cv, &c[3]);
    CVodeGetNumNonlinSolvIters(me->cv, &c[4]);
    CVodeGetNumErrTestFails(me->cv, &c[5]);
    CVodeGetNumLinSolvSetups(me->cv, &c[6]);
}

/* Free the CVODE instance, keeping its counters. */
static void me_cvode_free(npg_me *me)
{
    long c[7];
    me_counters(me, c);
    for (int k = 0; k < 7; ++k)
        me->acc[k] += c[k];
    if (me->cv)
        CVodeFree(&me->cv);
    if (me->ls)
        SUNLinSolFree(me->ls);
    if (me->J)
        SUNMatDestroy(me->J);
    if (me->y)
        N_VDestroy(me->y);
    if (me->atol)
        N_VDestroy(me->atol);
    me->cv = NULL;
    me->ls = NULL;
    me->J = NULL;
    me->y = me->atol = NULL;
}

/* The grid's arrays (me_grid), freed and cleared. */
static void me_grid_free(npg_me *me)
{
    double **arr[] = {&me->cmid, &me->fa0, &me->fa1, &me->fd0, &me->fd1};
    for (size_t i = 0; i < sizeof arr / sizeof arr[0]; ++i) {
        free(*arr[i]);
        *arr[i] = NULL;
    }
    free(me->lo);
    me->lo = NULL;
}

void npg_me_destroy(npg_me *me)
{
    if (!me)
        return;
    me_cvode_free(me);
    if (me->ctx)
        SUNContext_Free(&me->ctx);
    free(me->a);
    free(me->kd);
    free(me->table);
    free(me->count);
    free(me->u);
    free(me->w);
    free(me->ck);
    me_grid_free(me);
    npg_me_ext_free(me->x);
    free(me);
}

/* ---- the size grid ------------------------------------------------------------------------- */

uint32_t npg_me_resolution(const npg_config *cfg, const npg_me_options *o)
{
    if (npg_me_ext_wanted(cfg) || (o && (o->resolution < 0 || o->n_min > 2)))
        return 0;
    return o && o->resolution > 0 ? (uint32_t)o->resolution : cfg->me_resolution;
}

double npg_me_default_rtol(const npg_config *cfg, const npg_me_options *o)
{
    return npg_me_resolution(cfg, o) ? NPG_ME_RTOL_LUMPED : NPG_ME_RTOL;
}

/* The next finer resolution: 2R, or the exact grid once 2R lumps nothing below n_max. */
static uint32_t me_finer(uint32_t res, uint32_t n_max)
{
    return res && (uint64_t)4 * res <= n_max ? 2 * res : 0u;
}

/* Width of the cell that starts at size n under resolution R (0: exact). */
static uint32_t me_cell_width(uint32_t n, uint32_t R)
{
    return R && n >= 2 * R ? n / R : 1u;
}

/* The cells of [2, nm] under R into lo[0..K] (lo NULL: count only). Returns K. */
static uint32_t me_cells(uint32_t n_lo, uint32_t nm, uint32_t R, uint32_t *lo)
{
    uint32_t K = 0;
    for (uint64_t n = n_lo; n <= nm;) {
        if (lo)
            lo[K] = (uint32_t)n;
        ++K;
        n += me_cell_width((uint32_t)n, R);
    }
    if (lo)
        lo[K] = nm + 1;
    return K;
}

/* y[k + 1] = sum of cnt over cell k (cnt has lo[K] entries or len of them). */
static void me_sizes_to_cells(const uint32_t *lo, uint32_t K, const double *cnt, uint32_t len,
                              double *y)
{
    for (uint32_t k = 0; k < K; ++k) {
        double v = 0.0;
        for (uint32_t n = lo[k]; n < lo[k + 1] && n < len; ++n)
            v += cnt[n];
        y[k + 1] = v;
    }
}

/* Expected count per size, cnt[n] for n = 0..n_max, from the cells of y: each cell's count
 * spread over its sizes along a line through its centre whose slope is the centred difference
 * of the neighbours' densities, limited so that no size goes negative (the count of the cell is
 * kept exactly; one-size cells are copied). */
static void me_expand_from(const npg_me *me, const double *y, uint32_t k0, double *cnt)
{
    const uint32_t K = me->K, *lo = me->lo;
    const double *N = y + 1, *c = me->cmid;
    cnt[0] = cnt[1] = 0.0;
    for (uint32_t k = k0; k < K; ++k) {
        const uint32_t w = lo[k + 1] - lo[k];
        if (w == 1) {
            cnt[lo[k]] = N[k];
            continue;
        }
        const double p = N[k] / (double)w, half = 0.5 * (double)(w - 1);
        const uint32_t kl = k ? k - 1 : k, kr = k + 1 < K ? k + 1 : k;
        double sl = 0.0;
        if (kr > kl && p > 0.0) {
            double pl = N[kl] / (double)(lo[kl + 1] - lo[kl]);
            double pr = N[kr] / (double)(lo[kr + 1] - lo[kr]);
            sl = (pr - pl) / (c[kr] - c[kl]);
            if (fabs(sl) * half > p)
                sl = copysign(p / half, sl);
        }
        for (uint32_t n = lo[k]; n < lo[k + 1]; ++n)
            cnt[n] = p + sl * ((double)n - c[k]);
    }
}

static void me_expand(const npg_me *me, const double *y, double *cnt)
{
    me_expand_from(me, y, 0, cnt);
}

/* A posteriori estimate of the lumped grid's error: the L1 error of interpolating the density
 * linearly across each cell wider than one size, w^3 |p''| / 8 summed over the cells (p'' the
 * second divided difference of the neighbours' densities), as a fraction of the particles
 * alive. For a normal distribution of sd sigma this is ~0.12 (w/sigma)^2, about a quarter of the
 * relative error the grid puts into the variance (tests/meanfield/test_me_grid.cpp). 0 on the
 * exact grid. */
static double me_grid_error(const npg_me *me, const double *y)
{
    const uint32_t K = me->K, *lo = me->lo;
    if (!me->res || K < 3)
        return 0.0;
    const double *N = y + 1, *c = me->cmid;
    double e = 0.0, alive = 0.0;
    for (uint32_t k = 0; k < K; ++k)
        alive += N[k];
    for (uint32_t k = 1; k + 1 < K; ++k) {
        const double w = (double)(lo[k + 1] - lo[k]);
        if (w <= 1.0)
            continue;
        const double pl = N[k - 1] / (double)(lo[k] - lo[k - 1]), p = N[k] / w;
        const double pr = N[k + 1] / (double)(lo[k + 2] - lo[k + 1]);
        const double d2 = 2.0 * ((pr - p) / (c[k + 1] - c[k]) - (p - pl) / (c[k] - c[k - 1])) /
                          (c[k + 1] - c[k - 1]);
        e += w * w * w * fabs(d2) / 8.0;
    }
    return alive > 1e-12 * me->N0 ? e / alive : 0.0;
}

/* Fraction of N(0) in the sizes n > n_max - tail_w (the truncation check), from the cells
 * that hold them; cnt receives those sizes. */
static double me_tail(const npg_me *me, const double *y, double *cnt)
{
    const uint32_t nm = me->n_max, from = nm - me->tail_w + 1;
    uint32_t k0 = me->K - 1;
    while (k0 > 0 && me->lo[k0] > from)
        --k0;
    me_expand_from(me, y, k0, cnt);
    double tail = 0.0;
    for (uint32_t n = from; n <= nm; ++n)
        tail += fabs(cnt[n]);
    return tail / me->N0;
}

/* Grid and face coefficients of the plain equation for n_max nm (rates a, kd filled). */
static int me_grid(npg_me *me, uint32_t nm)
{
    const uint32_t R = me->res, K = me_cells(me->n_lo, nm, R, NULL);
    me_grid_free(me);
    me->lo = malloc((K + 1) * sizeof *me->lo);
    me->cmid = malloc(K * sizeof *me->cmid);
    me->fa0 = malloc(K * sizeof *me->fa0);
    me->fa1 = malloc(K * sizeof *me->fa1);
    me->fd0 = malloc(K * sizeof *me->fd0);
    me->fd1 = malloc(K * sizeof *me->fd1);
    if (!me->lo || !me->cmid || !me->fa0 || !me->fa1 || !me->fd0 || !me->fd1)
        return 1;
    me_cells(me->n_lo, nm, R, me->lo);
    me->K = K;
    const uint32_t *lo = me->lo;
    for (uint32_t k = 0; k < K; ++k)
        me->cmid[k] = 0.5 * ((double)lo[k] + (double)lo[k + 1] - 1.0);
    for (uint32_t k = 0; k + 1 < K; ++k) {
        /* p(x) = p_k (c1 - x)/h + p_{k+1} (x - c0)/h, p_k = N_k / w_k; J = a_m p(m) - d p(m+1) */
        const uint32_t m = lo[k + 1] - 1;
        const double c0 = me->cmid[k], c1 = me->cmid[k + 1], h = c1 - c0;
        const double w0 = (double)(lo[k + 1] - lo[k]), w1 = (double)(lo[k + 2] - lo[k + 1]);
        const double am = me->a[m], dm = me->kd[m + 1];
        if (k + 2 == K) {
            /* Into the top cell: its own density would feed its inflow (a growing mode with no
             * outflow to balance it: the top reflects), so each side's own average instead. */
            me->fa0[k] = am / w0;
            me->fa1[k] = me->fd0[k] = 0.0;
            me->fd1[k] = dm / w1;
            continue;
        }
        me->fa0[k] = am * ((c1 - m) / h) / w0;
        me->fa1[k] = am * ((m - c0) / h) / w1;
        me->fd0[k] = dm * ((c1 - m - 1.0) / h) / w0;
        me->fd1[k] = dm * ((m + 1.0 - c0) / h) / w1;
    }
    me->fa0[K - 1] = me->fa1[K - 1] = me->fd0[K - 1] = me->fd1[K - 1] = 0.0;
    return 0;
}

/* (Re)allocate everything sized by n_max and fill the rates for n = 0..nm+1: the override table
 * where it has entries, the model beyond (npg_rates_at's rule), so the solver sees exactly what
 * the engine would. */
static int me_size(npg_me *me, uint32_t nm, char *err, size_t errlen)
{
    const npg_me_options *o = &me->opt;
    double *a = realloc(me->a, (nm + 2) * sizeof *a);
    me->a = a ? a : me->a;
    double *kd = realloc(me->kd, (nm + 2) * sizeof *kd);
    me->kd = kd ? kd : me->kd;
    npg_rate_pair *tab = realloc(me->table, (nm + 2) * sizeof *tab);
    me->table = tab ? tab : me->table;
    free(me->count);
    free(me->u);
    free(me->w);
    me->count = calloc(nm + 1, sizeof *me->count);
    me->u = me->w = NULL;
    if (!a || !kd || !tab || !me->count) {
        snprintf(err, errlen, "out of memory for n_max = %u", nm);
        return 1;
    }
    if (o->rate_table) {
        npg_rates ov = {me->cfg->model, o->rate_table, o->rate_table_len};
        for (uint32_t n = 0; n < nm + 2; ++n)
            me->table[n] = npg_rates_at(&ov, n);
    } else {
        npg_rates_fill(me->table, nm + 2, &me->cfg->model);
    }
    for (uint32_t n = 0; n < nm + 2; ++n) {
        me->a[n] = me->table[n].assoc;
        me->kd[n] = me->table[n].dissoc;
    }
    me->a[nm] = 0.0; /* reflecting top: the truncation check makes its effect < 1e-12 */
    me->rates.table = me->table;
    me->rates.n_table = nm + 2;
    if (!me->x && me_grid(me, nm)) {
        snprintf(err, errlen, "out of memory for the size grid (n_max = %u)", nm);
        return 1;
    }
    me->n_max = nm;
    me->neq = me->x ? (sunindextype)(2 * (size_t)nm + 2) : (sunindextype)me->K + 1;
    const int closed = me->mode != NPG_SUPPLY_SCHEDULE && !me->x;
    if (closed) {
        me->u = calloc((size_t)me->neq, sizeof *me->u);
        me->w = calloc((size_t)me->neq, sizeof *me->w);
    }
    double *ck = realloc(me->ck, (size_t)me->neq * sizeof *ck);
    me->ck = ck ? ck : me->ck;
    if (!ck || (closed && (!me->u || !me->w))) {
        snprintf(err, errlen, "out of memory for n_max = %u", nm);
        return 1;
    }
    if (closed)
        for (uint32_t k = 0; k < me->K; ++k)
            me->w[k + 1] = -me->cmid[k] / me->vrho;
    const uint32_t span = nm - me->n_lo + 2; /* sizes in the state, + 1 */
    me->tail_w = span / 256 > 8 ? span / 256 : 8;
    if (me->tail_w > span - 2)
        me->tail_w = span - 2;
    if (me->x)
        return npg_me_ext_size(me, err, errlen);
    return 0;
}

/* A CVODE instance at time t0 from y0 [neq]. */
static int me_cvode_init(npg_me *me, const double *y0, double t0, char *err, size_t errlen)
{
    me->y = N_VNew_Serial(me->neq, me->ctx);
    me->atol = N_VNew_Serial(me->neq, me->ctx);
    if (!me->y || !me->atol) {
        snprintf(err, errlen, "out of memory for the CVODE state (n_max = %u)", me->n_max);
        return 1;
    }
    memcpy(N_VGetArrayPointer(me->y), y0, (size_t)me->neq * sizeof *y0);
    N_VConst(me->opt.atol_rel * me->N0, me->atol);
    me->cv = CVodeCreate(CV_BDF, me->ctx);
    if (!me->cv) {
        snprintf(err, errlen, "CVodeCreate failed");
        return 1;
    }
    if (npg_cv_fail(CVodeInit(me->cv, me->x ? npg_me_ext_rhs : me_rhs, t0, me->y), "CVodeInit", err,
                    errlen) ||
        npg_cv_fail(CVodeSVtolerances(me->cv, me->opt.rtol, me->atol), "tolerances", err, errlen) ||
        npg_cv_fail(CVodeSetUserData(me->cv, me), "user data", err, errlen) ||
        npg_cv_fail(CVodeSetMaxNumSteps(me->cv, 50000000L), "max steps", err, errlen))
        return 1;
    if (me->x) {
        me->t = t0;
        return npg_me_ext_cvode(me, err, errlen);
    }
    /* Storage mu = 1 (not 2): me_linsol factors without pivoting. */
    me->J = SUNBandMatrixStorage(me->neq, 1, 1, 1, me->ctx);
    npg_me_linsol_ref ref = {me->cv, me->u, me->w};
    me->ls = me->J ? npg_me_linsol_create(me->ctx, me->neq, &ref) : NULL;
    if (!me->J || !me->ls) {
        snprintf(err, errlen, "out of memory for the linear solver (n_max = %u)", me->n_max);
        return 1;
    }
    if (npg_cv_fail(CVodeSetLinearSolver(me->cv, me->ls, me->J), "linear solver", err, errlen) ||
        npg_cv_fail(CVodeSetJacFn(me->cv, me_jac), "Jacobian", err, errlen))
        return 1;
    me->t = t0;
    return 0;
}

int npg_me_create(npg_me **out, const npg_config *cfg, const npg_me_options *o, char *err,
                  size_t errlen)
{
    *out = NULL;
    npg_me_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    if (opt.rtol <= 0.0)
        opt.rtol = npg_me_default_rtol(cfg, &opt);
    if (opt.atol_rel <= 0.0)
        opt.atol_rel = NPG_ME_ATOL_REL;
    if (!(cfg->t_end >= 0.0)) {
        snprintf(err, errlen, "run.t_end must be >= 0");
        return NPG_EXIT_USAGE;
    }
    if (cfg->coal.mode == NPG_COAL_BROWNIAN)
        return npg_config_refuse(err, errlen, cfg->where.coalescence, "coalescence.mode",
                                 "brownian: the master equation is well-mixed; the mean field of "
                                 "the spatial mode is the pair-correlation equation, `npgrow "
                                 "pair` (give the config a pair: section)");
    npg_me *me = calloc(1, sizeof *me);
    if (!me) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    me->cfg = cfg;
    me->opt = opt;
    me->mode = (int)cfg->supply;
    me->rates.model = cfg->model;
    me->ck_t = -1.0;
    me->res = npg_me_resolution(cfg, &opt);
    if (me->res && me->res < NPG_ME_RESOLUTION_MIN) {
        snprintf(err, errlen, "master-equation resolution %u: must be 0 (exact) or >= %u", me->res,
                 NPG_ME_RESOLUTION_MIN);
        free(me);
        return NPG_EXIT_USAGE;
    }
    me->n_lo = opt.n_min > 2 ? opt.n_min : 2;
    if (me->n_lo > 2 && (npg_me_ext_wanted(cfg) || me->mode != NPG_SUPPLY_SCHEDULE)) {
        snprintf(err, errlen,
                 "master equation: a window of sizes (n_min = %u) needs schedule supply without "
                 "coalescence, source or monomer_exchange: false",
                 me->n_lo);
        free(me);
        return NPG_EXIT_USAGE;
    }

    int rc;
    if (npg_me_ext_wanted(cfg) && (rc = npg_me_ext_init(me, err, errlen))) {
        npg_me_destroy(me);
        return rc;
    }
    double *c0 = NULL;
    uint32_t len0 = 0;
    rc = npg_me_initial(cfg, &c0, &len0, err, errlen);
    if (rc) {
        npg_me_destroy(me);
        return rc;
    }
    uint32_t nm = opt.n_max ? opt.n_max : cfg->me_n_max;
    const int auto_nm = !nm;
    if (!nm) {
        /* The estimate only reads A_n, k^d_n at single sizes: give it the model or the
         * override table without building a full one. */
        npg_rates r = {cfg->model, opt.rate_table, opt.rate_table ? opt.rate_table_len : 0};
        nm = npg_me_auto_n_max(cfg, &r, err, errlen);
        if (!nm) {
            free(c0);
            npg_me_destroy(me);
            return NPG_EXIT_USAGE;
        }
    }
    if (me->x && auto_nm) {
        /* The automatic estimate follows monomer growth only: cover the source's sizes, and
         * leave larger sizes from merging to the truncation check (npg_me_solve grows n_max). */
        if (me->x->src && nm + 1 < me->x->src_len)
            nm = me->x->src_len - 1;
        const uint32_t cap = npg_me_coal_cap(&opt);
        if (me->x->coal && nm > cap)
            nm = len0 - 1 > cap ? len0 - 1 : cap;
    }
    if (me->x && me->x->src && nm + 1 < me->x->src_len) {
        snprintf(err, errlen,
                 "master-equation n_max = %u is below the source's maximum size %u (source.size)",
                 nm, me->x->src_len - 1);
        free(c0);
        npg_me_destroy(me);
        return NPG_EXIT_USAGE;
    }
    double clipped = 0.0;
    if (opt.clip_initial && nm >= 3 && nm + 1 < len0) {
        for (uint32_t n = nm + 1; n < len0; ++n)
            clipped += c0[n];
        len0 = nm + 1;
    }
    if (nm < 3 || nm + 1 < len0) {
        snprintf(err, errlen, "master-equation n_max = %u is below the initial maximum size %u", nm,
                 len0 - 1);
        free(c0);
        npg_me_destroy(me);
        return NPG_EXIT_USAGE;
    }
    double below0 = 0.0;
    for (uint32_t n = 2; n < me->n_lo && n < len0; ++n)
        below0 += c0[n];
    if (nm <= me->n_lo || below0 > 0.0) {
        snprintf(err, errlen,
                 "master equation: the window n = %u..%u must hold two sizes or more and all "
                 "the initial particles",
                 me->n_lo, nm);
        free(c0);
        npg_me_destroy(me);
        return NPG_EXIT_USAGE;
    }
    me->clipped = clipped;
    me->N0 = 0.0;
    double bound0 = 0.0;
    for (uint32_t n = 2; n < len0; ++n) {
        me->N0 += c0[n];
        bound0 += (double)n * c0[n];
    }
    me->bound0 = bound0;
    if (me->mode != NPG_SUPPLY_SCHEDULE) {
        double V = cfg->volume_nm3 > 0.0 ? cfg->volume_nm3
                                         : (double)cfg->particles / cfg->particle_density_nm3;
        me->vrho = V * cfg->solubility_nm3;
        if (!(me->vrho > 0.0) || !isfinite(me->vrho)) {
            snprintf(err, errlen,
                     "closed/precursor supply needs a positive volume (or particle density) and "
                     "solubility");
            free(c0);
            npg_me_destroy(me);
            return NPG_EXIT_USAGE;
        }
        double F0 = cfg->initial_supersaturation * me->vrho;
        if (me->mode == NPG_SUPPLY_PRECURSOR) {
            me->P0 = cfg->precursor_nm3 * (me->vrho / cfg->solubility_nm3);
            me->kp = cfg->k_p;
        }
        me->total0 = F0 + me->P0 + bound0;
    }
    if ((rc = me_size(me, nm, err, errlen))) {
        free(c0);
        npg_me_destroy(me);
        return rc;
    }
    if (SUNContext_Create(NULL, &me->ctx)) {
        snprintf(err, errlen, "SUNContext_Create failed");
        free(c0);
        npg_me_destroy(me);
        return 1;
    }
    double *y0 = calloc((size_t)me->neq, sizeof *y0);
    if (!y0) {
        snprintf(err, errlen, "out of memory for n_max = %u", nm);
        free(c0);
        npg_me_destroy(me);
        return 1;
    }
    if (me->x) {
        for (uint32_t n = 2; n < len0; ++n)
            y0[n - 1] = c0[n]; /* A_n of the extended equation */
    } else {
        me_sizes_to_cells(me->lo, me->K, c0, len0, y0);
        /* A start the grid cannot hold (a narrow or single-size one: lumped, it would leave
         * cells too wide for the distribution and an error of order one) refines the grid
         * until it can, down to the exact grid. */
        while (me->res && !opt.fixed_grid && me_grid_error(me, y0) > NPG_ME_GRID_ERR) {
            me->res = me_finer(me->res, nm);
            me->refines++;
            free(y0);
            y0 = NULL;
            if ((rc = me_size(me, nm, err, errlen)) ||
                !(y0 = calloc((size_t)me->neq, sizeof *y0))) {
                if (!rc)
                    snprintf(err, errlen, "out of memory for n_max = %u", nm);
                free(c0);
                npg_me_destroy(me);
                return 1;
            }
            me_sizes_to_cells(me->lo, me->K, c0, len0, y0);
        }
        me->total_cfg = me->total0;
        if (me->mode != NPG_SUPPLY_SCHEDULE) /* F(0) exactly as configured, on this grid */
            me->total0 += me_bound(me, y0) - bound0;
    }
    free(c0);
    rc = me_cvode_init(me, y0, 0.0, err, errlen);
    free(y0);
    if (rc) {
        npg_me_destroy(me);
        return 1;
    }
    *out = me;
    return 0;
}

void npg_me_checkpoint(npg_me *me)
{
    memcpy(me->ck, N_VGetArrayPointer(me->y), (size_t)me->neq * sizeof *me->ck);
    me->ck_t = me->t;
    me->ck_total0 = me->total0;
}

double npg_me_checkpoint_time(const npg_me *me)
{
    return me->ck_t;
}

/* npg_me_grow for the extended equation: its groups move to new places (me_impl.h). */
static int me_grow_ext(npg_me *me, uint32_t n_max, int from_checkpoint, char *err, size_t errlen)
{
    const uint32_t nm_old = me->n_max;
    const size_t old = (size_t)me->neq, neq = 2 * (size_t)n_max + 2;
    double *y0 = calloc(neq, sizeof *y0), *ck_old = malloc(old * sizeof *ck_old);
    if (!y0 || !ck_old) {
        free(y0);
        free(ck_old);
        snprintf(err, errlen, "out of memory for n_max = %u", n_max);
        return 1;
    }
    npg_me_ext_remap(from_checkpoint ? me->ck : N_VGetArrayPointer(me->y), nm_old, y0, n_max);
    memcpy(ck_old, me->ck, old * sizeof *ck_old);
    double t0 = from_checkpoint ? me->ck_t : me->t;
    me_cvode_free(me);
    int rc = me_size(me, n_max, err, errlen) || me_cvode_init(me, y0, t0, err, errlen);
    if (!rc) {
        if (from_checkpoint)
            memcpy(me->ck, y0, neq * sizeof *y0);
        else if (me->ck_t >= 0.0)
            npg_me_ext_remap(ck_old, nm_old, me->ck, n_max);
        me->x->o_mark = y0[2 * (size_t)n_max]; /* O where this n_max starts */
        me->grows++;
    }
    free(ck_old);
    free(y0);
    return rc;
}

/* Move the plain equation onto the grid of (n_lo, n_max, res), from now or from the checkpoint:
 * the old cells are spread over their sizes (me_expand: linear, count-preserving) and summed
 * into the new cells, so cells that both grids have keep their counts; sizes below a raised
 * n_lo go to y[0] (below the window); total0 follows the monomers the regridding moves (F stays
 * what it was). The checkpoint, when not the source, goes the same way with its own total. */
static int me_regrid(npg_me *me, uint32_t n_lo, uint32_t n_max, uint32_t res, int from_checkpoint,
                     char *err, size_t errlen)
{
    const uint32_t nm_old = me->n_max, lo_old = me->n_lo;
    double *sz = calloc((size_t)nm_old + 1, sizeof *sz), *sz_ck = NULL;
    double *y0 = calloc((size_t)me_cells(n_lo, n_max, res, NULL) + 1, sizeof *y0);
    /* The checkpoint follows onto the new grid, unless the window's bottom rises from now:
     * what is negligible below it now need not have been then (a growing particle), so the
     * checkpoint is dropped instead (a later rollback needs a new one). */
    if (me->ck_t >= 0.0 && !from_checkpoint && n_lo > lo_old)
        me->ck_t = -1.0;
    const int ck_too = me->ck_t >= 0.0 && !from_checkpoint;
    if (ck_too)
        sz_ck = calloc((size_t)nm_old + 1, sizeof *sz_ck);
    if (!sz || !y0 || (ck_too && !sz_ck)) {
        free(sz);
        free(sz_ck);
        free(y0);
        snprintf(err, errlen, "out of memory for n_max = %u", n_max);
        return 1;
    }
    const double *src = from_checkpoint ? me->ck : N_VGetArrayPointer(me->y);
    const double bound_src = me_bound(me, src);
    double bound_ck = 0.0, D_ck = 0.0, total_src = from_checkpoint ? me->ck_total0 : me->total0;
    me_expand(me, src, sz);
    y0[0] = src[0];
    if (ck_too) {
        me_expand(me, me->ck, sz_ck);
        bound_ck = me_bound(me, me->ck);
        D_ck = me->ck[0];
    }
    double t0 = from_checkpoint ? me->ck_t : me->t;
    me_cvode_free(me);
    me->res = res;
    me->n_lo = n_lo;
    int rc = me_size(me, n_max, err, errlen);
    for (uint32_t n = lo_old; n < n_lo && n <= nm_old; ++n) { /* dropped below the window */
        y0[0] += sz[n];
        D_ck += sz_ck ? sz_ck[n] : 0.0;
    }
    if (!rc) {
        me_sizes_to_cells(me->lo, me->K, sz, nm_old + 1, y0);
        if (me->mode != NPG_SUPPLY_SCHEDULE)
            me->total0 = total_src + me_bound(me, y0) - bound_src;
        rc = me_cvode_init(me, y0, t0, err, errlen);
    }
    if (!rc) {
        if (ck_too) {
            me_sizes_to_cells(me->lo, me->K, sz_ck, nm_old + 1, me->ck);
            me->ck[0] = D_ck;
            me->ck_total0 += me_bound(me, me->ck) - bound_ck;
        } else if (from_checkpoint) {
            memcpy(me->ck, y0, (size_t)me->neq * sizeof *y0);
            me->ck_total0 = me->total0;
        }
    }
    free(sz);
    free(sz_ck);
    free(y0);
    return rc;
}

int npg_me_grow(npg_me *me, uint32_t n_max, int from_checkpoint, char *err, size_t errlen)
{
    if (n_max <= me->n_max) {
        snprintf(err, errlen, "master equation: n_max can only grow (%u -> %u)", me->n_max, n_max);
        return 1;
    }
    if (from_checkpoint && me->ck_t < 0.0) {
        snprintf(err, errlen, "master equation: no checkpoint to grow from");
        return 1;
    }
    if (me->x)
        return me_grow_ext(me, n_max, from_checkpoint, err, errlen);
    int rc = me_regrid(me, me->n_lo, n_max, me->res, from_checkpoint, err, errlen);
    if (!rc)
        me->grows++;
    return rc;
}

int npg_me_set_window(npg_me *me, uint32_t n_min, uint32_t n_max, int from_checkpoint, char *err,
                      size_t errlen)
{
    if (n_min < 2)
        n_min = 2;
    const uint32_t lo_old = me->n_lo, nm_old = me->n_max;
    if (me->x || n_max < nm_old || n_min >= n_max || (n_min == lo_old && n_max == nm_old) ||
        (n_min > 2 && me->res)) {
        snprintf(err, errlen,
                 "master equation: a new window needs the exact grid, n_max >= the current one "
                 "and two sizes or more (%u..%u -> %u..%u)",
                 lo_old, nm_old, n_min, n_max);
        return 1;
    }
    if (from_checkpoint && me->ck_t < 0.0) {
        snprintf(err, errlen, "master equation: no checkpoint to grow from");
        return 1;
    }
    int rc = me_regrid(me, n_min, n_max, me->res, from_checkpoint, err, errlen);
    if (!rc)
        me->grows++;
    return rc;
}

int npg_me_refine(npg_me *me, int from_checkpoint, char *err, size_t errlen)
{
    if (me->x || !me->res) {
        snprintf(err, errlen, "master equation: the size grid is already exact");
        return 1;
    }
    if (from_checkpoint && me->ck_t < 0.0) {
        snprintf(err, errlen, "master equation: no checkpoint to refine from");
        return 1;
    }
    int rc = me_regrid(me, me->n_lo, me->n_max, me_finer(me->res, me->n_max), from_checkpoint, err,
                       errlen);
    if (!rc)
        me->refines++;
    return rc;
}

uint32_t npg_me_grid_resolution(const npg_me *me)
{
    return me->res;
}

/* One CVODE call to t. CVODE may step past t and interpolate back (outputs cost no extra steps)
 * but never past stop, where the right-hand side has a kink (or the end of the run). */
static int me_leg(npg_me *me, double t, double stop, char *err, size_t errlen)
{
    return npg_cv_leg(me->cv, me->y, &me->t, t, stop, err, errlen);
}

/* Integrate to the kink bp and restart the BDF history there (CVodeReInit zeroes the counters:
 * they are kept in acc). */
static int me_restart_at(npg_me *me, double bp, char *err, size_t errlen)
{
    int rc = me_leg(me, bp, bp, err, errlen);
    if (rc)
        return rc;
    long cnt[7];
    me_counters(me, cnt);
    for (int j = 0; j < 7; ++j)
        me->acc[j] += cnt[j];
    return npg_cv_fail(CVodeReInit(me->cv, bp, me->y), "CVodeReInit", err, errlen) ? 1 : 0;
}

int npg_me_advance_to(npg_me *me, double t, char *err, size_t errlen)
{
    if (t < me->t) {
        snprintf(err, errlen, "master equation: cannot go back from t = %g to %g", me->t, t);
        return 1;
    }
    int rc;
    double stop = t > me->cfg->t_end ? t : me->cfg->t_end;
    if (me->x) {
        /* Kinks: schedule points and the source's start and stop. The source is on or off
         * over a whole leg (legs end at kinks), decided where the leg starts. */
        for (;;) {
            npg_me_ext *x = me->x;
            x->src_active = x->src && me->t >= x->src_t0 && me->t < x->src_t1;
            double bp = npg_me_ext_next_break(me, me->t);
            if (bp > t)
                return me_leg(me, t, bp < stop ? bp : stop, err, errlen);
            if ((rc = me_restart_at(me, bp, err, errlen)))
                return rc;
        }
    }
    if (me->mode == NPG_SUPPLY_SCHEDULE) {
        /* S(t) has a kink at every schedule point: stop there and restart the BDF history. */
        const npg_config *c = me->cfg;
        for (size_t k = 0; k < c->schedule_len; ++k) {
            double bp = c->schedule_t[k];
            if (bp <= me->t)
                continue;
            if (bp > t) {
                stop = bp < stop ? bp : stop;
                break;
            }
            if ((rc = me_restart_at(me, bp, err, errlen)))
                return rc;
        }
    }
    return me_leg(me, t, stop, err, errlen);
}

/* Solver counters into st, summed over the restarts. */
static void me_state_counters(const npg_me *me, npg_me_state *st)
{
    long c[7];
    me_counters(me, c);
    st->steps = me->acc[0] + c[0];
    st->rhs_evals = me->acc[1] + c[1];
    st->lin_iters = me->acc[2] + c[2];
    st->jac_evals = me->acc[3] + c[3];
    st->nonlin_iters = me->acc[4] + c[4];
    st->err_fails = me->acc[5] + c[5];
    st->lin_setups = me->acc[6] + c[6];
    st->grows = me->grows;
}

void npg_me_get(npg_me *me, npg_me_state *st)
{
    memset(st, 0, sizeof *st);
    st->t = me->t;
    st->len = me->n_max + 1;
    st->particles0 = me->N0;
    st->n_min = me->n_lo;
    if (!me->y) { /* a failed npg_me_grow: counters only */
        st->steps = me->acc[0];
        st->rhs_evals = me->acc[1];
        st->lin_iters = me->acc[2];
        st->jac_evals = me->acc[3];
        st->nonlin_iters = me->acc[4];
        st->err_fails = me->acc[5];
        st->lin_setups = me->acc[6];
        st->grows = me->grows;
        st->count = me->count;
        return;
    }
    if (me->x) {
        npg_me_ext_get(me, st); /* cleans count the same way */
        st->count = me->count;
        st->clipped = me->clipped / (me->N0 + me->clipped);
        me_state_counters(me, st);
        return;
    }
    const double *y = N_VGetArrayPointer(me->y);
    const uint32_t nm = me->n_max;
    double alive = 0.0;
    for (uint32_t k = 0; k < me->K; ++k)
        alive += y[k + 1];
    const double bound = me_bound(me, y);
    me_expand(me, y, me->count);
    double tail = 0.0; /* the truncation check's window (me_tail), from the counts just spread */
    for (uint32_t n = nm - me->tail_w + 1; n <= nm; ++n)
        tail += fabs(me->count[n]);
    tail /= me->N0;
    double bound_out = 0.0; /* monomers in the counts as written (before the floor) */
    for (uint32_t n = me->n_lo; n <= nm; ++n)
        bound_out += (double)n * me->count[n];
    /* Values below 1e-20 N(0) (and the solver's small negative noise) are written as 0. */
    const double floor_ = 1e-20 * me->N0;
    const uint32_t lo = me->n_lo;
    double tail_low = 0.0;
    for (uint32_t n = 2; n <= nm; ++n) {
        if (n < lo) { /* below a window: nothing (also what an earlier, lower window left) */
            me->count[n] = 0.0;
            continue;
        }
        if (lo > 2 && n < lo + me->tail_w)
            tail_low += fabs(me->count[n]);
        if (!(me->count[n] >= floor_))
            me->count[n] = 0.0;
    }
    st->t = me->t;
    st->count = me->count;
    st->len = nm + 1;
    st->n_min = lo;
    st->S = me_S(me, me->t, y);
    st->dissolved = lo == 2 ? y[0] : 0.0;
    st->below = lo > 2 ? y[0] : 0.0;
    st->tail_low = lo > 2 ? (tail_low + fabs(y[0])) / me->N0 : 0.0;
    st->particles0 = me->N0;
    if (me->mode != NPG_SUPPLY_SCHEDULE) {
        double P = me_precursor(me, me->t);
        st->free_monomers = me->total0 - P - bound;
        st->precursor = me->mode == NPG_SUPPLY_PRECURSOR ? P : NAN;
        st->total0 = me->total0;
        st->monomer_error =
            fabs(st->free_monomers + P + bound - me->total0) / me->total0; /* rounding only */
        st->monomer_output_error =
            fabs(st->free_monomers + P + bound_out - me->total_cfg) / me->total_cfg;
    } else {
        st->free_monomers = st->precursor = st->total0 = NAN;
    }
    st->particle_error = fabs(alive + y[0] - me->N0) / me->N0;
    st->tail = tail;
    st->tail_grow = st->tail;
    st->grid_error = me_grid_error(me, y);
    st->resolution = me->res;
    st->refines = me->refines;
    st->clipped = me->clipped / (me->N0 + me->clipped);
    me_state_counters(me, st);
}

void npg_me_get_tail(npg_me *me, npg_me_state *st)
{
    if (me->x || !me->y) {
        npg_me_get(me, st);
        return;
    }
    memset(st, 0, sizeof *st);
    st->t = me->t;
    st->len = me->n_max + 1;
    st->particles0 = me->N0;
    st->n_min = me->n_lo;
    st->tail = st->tail_grow = me_tail(me, N_VGetArrayPointer(me->y), me->count);
    st->grid_error = me_grid_error(me, N_VGetArrayPointer(me->y));
    st->resolution = me->res;
    st->refines = me->refines;
    st->count = NULL;
}

double npg_me_kf(double merges, double n0, double n_prev, double n_now, double dt)
{
    if (!(dt > 0.0) || !(n_prev > 0.0) || !(n_now > 0.0))
        return NAN;
    return merges * n0 / (n_prev * n_now * dt);
}

const npg_rates *npg_me_rates(const npg_me *me)
{
    return &me->rates;
}

uint32_t npg_me_n_max(const npg_me *me)
{
    return me->n_max;
}
