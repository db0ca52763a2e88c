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
 * n_max can grow during a run (npg_me_grow): the state is copied into a longer one and CVODE
 * restarts from it, from the current time or from the last checkpoint.
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

/* Free monomers F = total(0) - P(t) - sum_n n N_n (closed/precursor). */
static double me_free(const npg_me *me, double t, const double *y)
{
    const uint32_t lo = me->n_lo;
    double bound = 0.0;
    for (uint32_t n = lo; n <= me->n_max; ++n)
        bound += (double)n * y[n - lo + 1];
    return me->total0 - me_precursor(me, t) - bound;
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
    /* Index i = n - n_lo: N[i] = N_n, a[i] = A_n, kd[i] = k^d_n, top index m = n_max - n_lo. */
    const uint32_t m = me->n_max - me->n_lo;
    const double *N = y + 1;
    double *dN = f + 1;
    const double *a = me->a + me->n_lo, *kd = me->kd + me->n_lo;
    const double S = me_S(me, t, y);
    dN[0] = kd[1] * N[1] - (S * a[0] + kd[0]) * N[0];
    for (uint32_t i = 1; i < m; ++i)
        dN[i] = S * a[i - 1] * N[i - 1] + kd[i + 1] * N[i + 1] - (S * a[i] + kd[i]) * N[i];
    if (m > 0)
        dN[m] = S * a[m - 1] * N[m - 1] - (S * a[m] + kd[m]) * N[m];
    f[0] = kd[0] * N[0]; /* out of the bottom: dissolution at n_lo = 2 */
    return 0;
}

/* Tridiagonal part of the Jacobian at S; the rank-one column u (closed/precursor) at y. */
static int me_jac(sunrealtype t, N_Vector yv, N_Vector fy, SUNMatrix J, void *ud, N_Vector t1,
                  N_Vector t2, N_Vector t3)
{
    (void)fy, (void)t1, (void)t2, (void)t3;
    npg_me *me = ud;
    const double *y = N_VGetArrayPointer(yv);
    const uint32_t m = me->n_max - me->n_lo; /* index i = n - n_lo, as in me_rhs */
    const double *N = y + 1;
    const double *a = me->a + me->n_lo, *kd = me->kd + me->n_lo;
    const double S = me_S(me, t, y);
    SUNMatZero(J);
    SM_ELEMENT_B(J, 0, 1) = kd[0];
    for (uint32_t i = 0; i <= m; ++i) {
        sunindextype r = (sunindextype)i + 1;
        if (i > 0)
            SM_ELEMENT_B(J, r, r - 1) = S * a[i - 1];
        SM_ELEMENT_B(J, r, r) = -(S * a[i] + kd[i]);
        if (i < m)
            SM_ELEMENT_B(J, r, r + 1) = kd[i + 1];
    }
    if (me->u) {
        me->u[0] = 0.0;
        for (uint32_t i = 0; i <= m; ++i)
            me->u[i + 1] = (i > 0 ? a[i - 1] * N[i - 1] : 0.0) - a[i] * N[i];
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
    npg_me_ext_free(me->x);
    free(me);
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
    int closed = me->mode != NPG_SUPPLY_SCHEDULE, bad = !a || !kd || !tab || !me->count;
    if (closed) {
        me->u = calloc(nm, sizeof *me->u);
        me->w = calloc(nm, sizeof *me->w);
        bad |= !me->u || !me->w;
    }
    const size_t nck = me->x ? 2 * (size_t)nm + 2 : nm;
    double *ck = realloc(me->ck, nck * sizeof *ck);
    me->ck = ck ? ck : me->ck;
    if (bad || !ck) {
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
    const uint32_t lo = me->n_lo;
    if (closed)
        for (uint32_t n = lo; n <= nm; ++n)
            me->w[n - lo + 1] = -(double)n / me->vrho;
    me->n_max = nm;
    const uint32_t span = nm - lo + 2; /* = neq of the plain equation (n_max when n_lo = 2) */
    me->neq = (sunindextype)span;
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
        opt.rtol = NPG_ME_RTOL;
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
    me->n_lo = opt.n_min > 2 ? opt.n_min : 2;
    if (me->n_lo > 2 && (npg_me_ext_wanted(cfg) || me->mode != NPG_SUPPLY_SCHEDULE)) {
        snprintf(err, errlen,
                 "master equation: a window of sizes (n_min = %u) needs schedule supply without "
                 "coalescence, source or monomer_exchange: false",
                 me->n_lo);
        npg_me_destroy(me);
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
    const uint32_t lo = me->n_lo;
    double below0 = 0.0;
    for (uint32_t n = 2; n < lo && n < len0; ++n)
        below0 += c0[n];
    if (nm <= lo || below0 > 0.0) {
        snprintf(err, errlen,
                 "master equation: the window n = %u..%u must hold two sizes or more and all "
                 "the initial particles",
                 lo, nm);
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
    for (uint32_t n = lo; n < len0; ++n)
        y0[n - lo + 1] = c0[n]; /* N_n, or A_n of the extended equation: the same places */
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
    return npg_me_set_window(me, me->n_lo, n_max, from_checkpoint, err, errlen);
}

/* A plain state y of window lo_old..nm_old into yn of window lo_new..nm_new (nm_new >= nm_old):
 * y[0] (the mass below) stays and takes the mass of sizes below lo_new, the other sizes move to
 * their new places, the new sizes are 0. */
static void me_window_remap(const double *y, uint32_t lo_old, uint32_t nm_old, double *yn,
                            uint32_t lo_new, uint32_t nm_new)
{
    memset(yn, 0, ((size_t)nm_new - lo_new + 2) * sizeof *yn);
    yn[0] = y[0];
    for (uint32_t n = lo_old; n <= nm_old; ++n) {
        if (n < lo_new)
            yn[0] += y[n - lo_old + 1];
        else
            yn[n - lo_new + 1] = y[n - lo_old + 1];
    }
}

int npg_me_set_window(npg_me *me, uint32_t n_min, uint32_t n_max, int from_checkpoint, char *err,
                      size_t errlen)
{
    if (n_min < 2)
        n_min = 2;
    const uint32_t lo_old = me->n_lo, nm_old = me->n_max;
    if (me->x || n_max < nm_old || n_min >= n_max || (n_min == lo_old && n_max == nm_old)) {
        snprintf(err, errlen,
                 "master equation: a new window needs n_max >= the current one and two sizes "
                 "or more (%u..%u -> %u..%u)",
                 lo_old, nm_old, n_min, n_max);
        return 1;
    }
    if (from_checkpoint && me->ck_t < 0.0) {
        snprintf(err, errlen, "master equation: no checkpoint to grow from");
        return 1;
    }
    const size_t old = (size_t)me->neq, neq = (size_t)n_max - n_min + 2;
    double *y0 = malloc(neq * sizeof *y0), *ck_old = malloc(old * sizeof *ck_old);
    if (!y0 || !ck_old) {
        free(y0);
        free(ck_old);
        snprintf(err, errlen, "out of memory for n_max = %u", n_max);
        return 1;
    }
    me_window_remap(from_checkpoint ? me->ck : N_VGetArrayPointer(me->y), lo_old, nm_old, y0, n_min,
                    n_max);
    memcpy(ck_old, me->ck, old * sizeof *ck_old);
    double t0 = from_checkpoint ? me->ck_t : me->t;
    me_cvode_free(me);
    me->n_lo = n_min;
    int rc = me_size(me, n_max, err, errlen) || me_cvode_init(me, y0, t0, err, errlen);
    if (!rc) {
        /* The checkpoint stays valid at its time, padded with zeros. */
        if (from_checkpoint)
            memcpy(me->ck, y0, neq * sizeof *y0);
        else if (me->ck_t >= 0.0)
            me_window_remap(ck_old, lo_old, nm_old, me->ck, n_min, n_max);
        me->grows++;
    }
    free(ck_old);
    free(y0);
    return rc;
}

/* One CVODE call to t. CVODE may step past t and interpolate back (outputs cost no extra steps)
 * but never past stop, where the right-hand side has a kink (or the end of the run). */
static int me_leg(npg_me *me, double t, double stop, char *err, size_t errlen)
{
    return npg_cv_leg(me->cv, me->y, &me->t, t, stop, err, errlen);
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
            if ((rc = me_leg(me, bp, bp, err, errlen)))
                return rc;
            long cnt[7]; /* CVodeReInit zeroes the counters */
            me_counters(me, cnt);
            for (int j = 0; j < 7; ++j)
                me->acc[j] += cnt[j];
            if (npg_cv_fail(CVodeReInit(me->cv, bp, me->y), "CVodeReInit", err, errlen))
                return 1;
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
            if ((rc = me_leg(me, bp, bp, err, errlen)))
                return rc;
            long cnt[7]; /* CVodeReInit zeroes the counters */
            me_counters(me, cnt);
            for (int j = 0; j < 7; ++j)
                me->acc[j] += cnt[j];
            if (npg_cv_fail(CVodeReInit(me->cv, bp, me->y), "CVodeReInit", err, errlen))
                return 1;
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
    const uint32_t nm = me->n_max, lo = me->n_lo;
    /* Values below 1e-20 N(0) (and the solver's small negative noise) are written as 0. */
    const double floor_ = 1e-20 * me->N0;
    double alive = 0.0, bound = 0.0, tail = 0.0, tail_low = 0.0;
    for (uint32_t n = lo; n <= nm; ++n) {
        double v = y[n - lo + 1];
        alive += v;
        bound += (double)n * v;
        if (n > nm - me->tail_w)
            tail += fabs(v);
        if (n < lo + me->tail_w)
            tail_low += fabs(v);
        me->count[n] = v >= floor_ ? v : 0.0;
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
    } else {
        st->free_monomers = st->precursor = st->total0 = NAN;
    }
    st->particle_error = fabs(alive + y[0] - me->N0) / me->N0;
    st->tail = tail / me->N0;
    st->tail_grow = st->tail;
    st->clipped = me->clipped / (me->N0 + me->clipped);
    me_state_counters(me, st);
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
