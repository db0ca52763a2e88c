/* me.c: the mean-field master equation, integrated with SUNDIALS CVODE (BDF).
 *
 * dN_n/dt = S A_{n-1} N_{n-1} - (S A_n + k^d_n) N_n + k^d_{n+1} N_{n+1},  n = 2..n_max,
 * with no N_1 term (a dimer that loses a monomer dissolves; nothing nucleates) and a reflecting
 * top (no association out of n_max). Rates come from the rate table (rates.h), never re-derived.
 * It deliberately does no file I/O except in npg_me_solve, which goes through observe.h.
 *
 * State vector y (length neq):
 *   y[0]            D, expected particles dissolved so far (dD/dt = k^d_2 N_2)
 *   y[n-1]          N_n, n = 2..n_max
 *   y[n_max]        F, free monomers            (closed, precursor)
 *   y[n_max+1]      P, precursor units          (precursor)
 * Every coupling but F's is nearest-neighbour in this order, so the Jacobian is tridiagonal
 * plus one dense row and one dense column (S = F / (V rho_1inf) multiplies every association).
 * Schedule mode: banded direct solve with the analytic Jacobian. Closed/precursor: SPGMR,
 * preconditioned by the exact tridiagonal part (band LU). The preconditioned operator is the
 * identity plus a rank-2 term (the F row and column), so GMRES converges in <= 3 iterations in
 * exact arithmetic, and no difference quotients contaminate the F entries.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_band.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunmatrix/sunmatrix_band.h>

#include <gsl/gsl_cdf.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "npgrow/me.h"
#include "npgrow/observe.h"
#include "npgrow/h5out.h" /* [h5] */
#include "npgrow/outdir.h"

#include "util/util.h"

struct npg_me {
    const npg_config *cfg;
    npg_me_options opt;
    uint32_t n_max;
    int mode;             /* npg_supply_mode */
    double *a;            /* [n_max + 2] A_n used by the equation (a[n_max] = 0: reflecting) */
    double *kd;           /* [n_max + 2] k^d_n */
    npg_rate_pair *table; /* [n_max + 2] the unmodified rates (observer, j_model) */
    npg_rates rates;
    double *count;            /* [n_max + 1] cleaned copy of N_n for output */
    double N0;                /* particles at t = 0 */
    double vrho;              /* V rho_1inf [monomers at S = 1] (closed/precursor) */
    double kp;                /* precursor conversion rate [per time unit] */
    double total0;            /* closed/precursor: F + P + bound at t = 0 */
    double clipped;           /* particles dropped above n_max at t = 0 (clip_initial) */
    sunindextype neq, iF, iP; /* iF, iP = -1 when absent */
    double t;
    uint32_t tail_w; /* sizes n > n_max - tail_w form the truncation-check window */

    SUNContext ctx;
    N_Vector y, atol;
    void *cv;
    SUNMatrix J;         /* schedule: the Newton matrix; closed: band part of the Jacobian */
    SUNLinearSolver ls;  /* band (schedule) or SPGMR (closed/precursor) */
    SUNMatrix pm;        /* closed: I - gamma J_band */
    SUNLinearSolver pls; /* closed: band LU of pm */
};

/* ---- rates and supply --------------------------------------------------------------------- */

static double me_S(const npg_me *me, double t, const double *y)
{
    if (me->mode == NPG_SUPPLY_SCHEDULE)
        return npg_config_schedule_s(me->cfg, t);
    return y[me->iF] / me->vrho;
}

static int me_rhs(sunrealtype t, N_Vector yv, N_Vector fv, void *ud)
{
    const npg_me *me = ud;
    const double *y = N_VGetArrayPointer(yv);
    double *f = N_VGetArrayPointer(fv);
    const uint32_t nm = me->n_max;
    const double *N = y - 1; /* N[n] = y[n - 1] */
    double *dN = f - 1;
    const double *a = me->a, *kd = me->kd;
    const double S = me_S(me, t, y);
    double assoc = 0.0, diss = 0.0; /* sum A_n N_n, sum_{n>=3} k^d_n N_n */
    for (uint32_t n = 2; n <= nm; ++n) {
        double in = (n > 2 ? S * a[n - 1] * N[n - 1] : 0.0) + (n < nm ? kd[n + 1] * N[n + 1] : 0.0);
        dN[n] = in - (S * a[n] + kd[n]) * N[n];
        assoc += a[n] * N[n];
        if (n > 2)
            diss += kd[n] * N[n];
    }
    f[0] = kd[2] * N[2];
    if (me->iF >= 0) {
        /* A dissolving dimer returns both its monomers. */
        double dF = -S * assoc + diss + 2.0 * kd[2] * N[2];
        if (me->iP >= 0) {
            dF += me->kp * y[me->iP];
            f[me->iP] = -me->kp * y[me->iP];
        }
        f[me->iF] = dF;
    }
    return 0;
}

/* Tridiagonal part of the Jacobian (everything but F's dense row and column). */
static void me_band_jac(const npg_me *me, double t, const double *y, SUNMatrix J)
{
    const uint32_t nm = me->n_max;
    const double *N = y - 1;
    const double *a = me->a, *kd = me->kd;
    const double S = me_S(me, t, y);
    SUNMatZero(J);
    SM_ELEMENT_B(J, 0, 1) = kd[2];
    for (uint32_t n = 2; n <= nm; ++n) {
        sunindextype i = (sunindextype)n - 1;
        if (n > 2)
            SM_ELEMENT_B(J, i, i - 1) = S * a[n - 1];
        SM_ELEMENT_B(J, i, i) = -(S * a[n] + kd[n]);
        if (n < nm)
            SM_ELEMENT_B(J, i, i + 1) = kd[n + 1];
    }
    if (me->iF >= 0) {
        sunindextype iF = me->iF;
        double assoc = 0.0;
        for (uint32_t n = 2; n <= nm; ++n)
            assoc += a[n] * N[n];
        /* The in-band pieces of the dense row/column: F with its neighbours N_nmax and P. */
        SM_ELEMENT_B(J, iF - 1, iF) = a[nm - 1] * N[nm - 1] / me->vrho;
        SM_ELEMENT_B(J, iF, iF - 1) = kd[nm] - S * a[nm];
        SM_ELEMENT_B(J, iF, iF) = -assoc / me->vrho;
        if (me->iP >= 0) {
            SM_ELEMENT_B(J, iF, me->iP) = me->kp;
            SM_ELEMENT_B(J, me->iP, me->iP) = -me->kp;
        }
    }
}

static int me_jac(sunrealtype t, N_Vector y, N_Vector fy, SUNMatrix J, void *ud, N_Vector t1,
                  N_Vector t2, N_Vector t3)
{
    (void)fy, (void)t1, (void)t2, (void)t3;
    me_band_jac(ud, t, N_VGetArrayPointer(y), J);
    return 0;
}

static int me_psetup(sunrealtype t, N_Vector y, N_Vector fy, sunbooleantype jok,
                     sunbooleantype *jcur, sunrealtype gamma, void *ud)
{
    (void)fy;
    npg_me *me = ud;
    if (!jok) {
        me_band_jac(me, t, N_VGetArrayPointer(y), me->J);
        *jcur = SUNTRUE;
    } else {
        *jcur = SUNFALSE;
    }
    if (SUNMatCopy(me->J, me->pm) || SUNMatScaleAddI(-gamma, me->pm))
        return -1;
    return SUNLinSolSetup(me->pls, me->pm) ? 1 : 0; /* recoverable: a zero pivot */
}

static int me_psolve(sunrealtype t, N_Vector y, N_Vector fy, N_Vector r, N_Vector z,
                     sunrealtype gamma, sunrealtype delta, int lr, void *ud)
{
    (void)t, (void)y, (void)fy, (void)gamma, (void)delta, (void)lr;
    npg_me *me = ud;
    return SUNLinSolSolve(me->pls, me->pm, z, r, 0.0) ? 1 : 0;
}

/* ---- initial distribution ----------------------------------------------------------------- */

/* P(r in [lo, hi)) for the radius law, from whichever tail keeps the digits. */
static double radius_mass(int kind, double loc, double scale, double lo, double hi)
{
    if (kind == NPG_INIT_NORMAL_R) {
        if (lo > loc)
            return gsl_cdf_gaussian_Q(lo - loc, scale) - gsl_cdf_gaussian_Q(hi - loc, scale);
        return gsl_cdf_gaussian_P(hi - loc, scale) - gsl_cdf_gaussian_P(lo - loc, scale);
    }
    if (log(lo) > loc)
        return gsl_cdf_lognormal_Q(lo, loc, scale) - gsl_cdf_lognormal_Q(hi, loc, scale);
    return gsl_cdf_lognormal_P(hi, loc, scale) - gsl_cdf_lognormal_P(lo, loc, scale);
}

int npg_me_initial(const npg_config *cfg, double **count_out, uint32_t *len_out, char *err,
                   size_t errlen)
{
    *count_out = NULL;
    *len_out = 0;
    const double N0 = (double)cfg->particles;
    if (!(N0 > 0.0)) {
        snprintf(err, errlen, "run.particles must be positive for the master equation");
        return NPG_EXIT_USAGE;
    }
    double *c = NULL;
    uint32_t len = 0;
    switch (cfg->init_kind) {
    case NPG_INIT_MONODISPERSE:
        if (cfg->init_n < 2) {
            snprintf(err, errlen, "initial.n = %u: a particle has n >= 2", cfg->init_n);
            return NPG_EXIT_USAGE;
        }
        len = cfg->init_n + 1;
        c = calloc(len, sizeof *c);
        if (!c)
            break;
        c[cfg->init_n] = N0;
        break;
    case NPG_INIT_HISTOGRAM: {
        double w = 0.0;
        uint32_t top = 0;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            if (cfg->init_sizes[i] >= 2 && cfg->init_counts[i] > 0.0) {
                w += cfg->init_counts[i];
                if (cfg->init_sizes[i] > top)
                    top = cfg->init_sizes[i];
            }
        if (!(w > 0.0)) {
            snprintf(err, errlen, "%s: no positive count at n >= 2", cfg->init_file);
            return NPG_EXIT_USAGE;
        }
        len = top + 1;
        c = calloc(len, sizeof *c);
        if (!c)
            break;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            if (cfg->init_sizes[i] >= 2 && cfg->init_counts[i] > 0.0)
                c[cfg->init_sizes[i]] += N0 * cfg->init_counts[i] / w;
        break;
    }
    case NPG_INIT_NORMAL_R:
    case NPG_INIT_LOGNORMAL_R: {
        /* The sampler draws r, sets n = floor((r/sigma_s)^3 + 1/2) and redraws n < 2, so
         * P(n) = P(r in [sigma_s (n-1/2)^(1/3), sigma_s (n+1/2)^(1/3))) / P(n >= 2). */
        npg_init_view v;
        double *cdf = NULL;
        int rc = npg_config_init_view(cfg, &v, &cdf, err, errlen);
        free(cdf);
        if (rc)
            return rc;
        const double sig = cfg->model.sigma_s;
        double rmax =
            v.kind == NPG_INIT_NORMAL_R ? v.loc + 10.0 * v.scale : exp(v.loc + 10.0 * v.scale);
        double top = ceil(pow(rmax / sig, 3.0) + 0.5);
        if (!(top >= 2.0) || top > 1.0e8) {
            snprintf(err, errlen,
                     "initial distribution reaches n = %.3g at 10 sd: too wide for the master "
                     "equation (n_max <= 1e8)",
                     top);
            return NPG_EXIT_USAGE;
        }
        len = (uint32_t)top + 1;
        c = calloc(len, sizeof *c);
        if (!c)
            break;
        double w = 0.0;
        for (uint32_t n = 2; n < len; ++n) {
            double lo = sig * cbrt((double)n - 0.5), hi = sig * cbrt((double)n + 0.5);
            double p = radius_mass(v.kind, v.loc, v.scale, lo, hi);
            c[n] = p > 0.0 ? p : 0.0;
            w += c[n];
        }
        if (!(w > 0.0)) {
            free(c);
            snprintf(err, errlen, "initial radius distribution has no mass at n >= 2");
            return NPG_EXIT_USAGE;
        }
        for (uint32_t n = 2; n < len; ++n)
            c[n] *= N0 / w;
        /* Drop the far tail holding < 1e-13 of the mass: a run of 1e8 particles puts a
         * particle there with probability 1e-5, and the truncation check works at 1e-12
         * anyway. (High moments of a heavy initial tail, m_10 and such, feel this cut.) */
        double tail = 0.0;
        while (len > 3 && tail + c[len - 1] < 1e-13 * N0) {
            tail += c[len - 1];
            c[len - 1] = 0.0;
            --len;
        }
        break;
    }
    default:
        snprintf(err, errlen, "unknown initial distribution kind %d", (int)cfg->init_kind);
        return NPG_EXIT_USAGE;
    }
    if (!c) {
        snprintf(err, errlen, "out of memory for the initial distribution");
        return 1;
    }
    *count_out = c;
    *len_out = len;
    return 0;
}

/* ---- automatic truncation ------------------------------------------------------------------ */

uint32_t npg_me_auto_n_max(const npg_config *cfg, const npg_rates *rates, char *err, size_t errlen)
{
    double *c0;
    uint32_t len0;
    if (npg_me_initial(cfg, &c0, &len0, err, errlen))
        return 0;
    double bound0 = 0.0;
    for (uint32_t n = 2; n < len0; ++n)
        bound0 += (double)n * c0[n];
    free(c0);
    /* Move the leading edge with the largest growth rate it can have, S_up A_n (dissociation
     * only slows it), and add 12 standard deviations of the accumulated event noise. For the
     * closed modes S_up is the supersaturation all free and precursor monomers would give;
     * ripening that raises S beyond it is caught by the truncation check (and n_max doubled). */
    const int K = 4096;
    const double T = cfg->t_end > 0.0 ? cfg->t_end : 0.0, dt = T / K;
    double S_closed = 0.0;
    if (cfg->supply != NPG_SUPPLY_SCHEDULE) {
        double V = cfg->volume_nm3 > 0.0 ? cfg->volume_nm3
                                         : (double)cfg->particles / cfg->particle_density_nm3;
        double vrho = V * cfg->solubility_nm3;
        double pre = cfg->supply == NPG_SUPPLY_PRECURSOR ? cfg->precursor_nm3 * V : 0.0;
        S_closed = cfg->initial_supersaturation + pre / vrho;
    }
    double front = (double)(len0 - 1), var = 0.0;
    for (int k = 0; k < K && front < 1e9; ++k) {
        double S = S_closed;
        if (cfg->supply == NPG_SUPPLY_SCHEDULE) {
            double s0 = npg_config_schedule_s(cfg, k * dt),
                   s1 = npg_config_schedule_s(cfg, (k + 1) * dt);
            S = s0 > s1 ? s0 : s1;
        }
        /* A_n grows with n: evaluate ahead of the front so the step cannot undershoot. */
        npg_rate_pair r = npg_rates_at(rates, (uint32_t)(front * 1.05 + 16.0));
        front += S * r.assoc * dt;
        var += (S * r.assoc + r.dissoc) * dt;
    }
    double n = front + 12.0 * sqrt(var) + 64.0;
    if (n > 1.6e7) {
        snprintf(err, errlen,
                 "automatic master-equation truncation would be n_max = %.3g; set me.n_max", n);
        return 0;
    }
    return (uint32_t)ceil(n);
}

/* ---- solver lifetime ----------------------------------------------------------------------- */

static int cv_fail(int flag, const char *what, char *err, size_t errlen)
{
    if (flag >= 0)
        return 0;
    snprintf(err, errlen, "CVODE: %s failed: %s", what, CVodeGetReturnFlagName(flag));
    return 1;
}

void npg_me_destroy(npg_me *me)
{
    if (!me)
        return;
    if (me->cv)
        CVodeFree(&me->cv);
    if (me->ls)
        SUNLinSolFree(me->ls);
    if (me->pls)
        SUNLinSolFree(me->pls);
    if (me->J)
        SUNMatDestroy(me->J);
    if (me->pm)
        SUNMatDestroy(me->pm);
    if (me->y)
        N_VDestroy(me->y);
    if (me->atol)
        N_VDestroy(me->atol);
    if (me->ctx)
        SUNContext_Free(&me->ctx);
    free(me->a);
    free(me->kd);
    free(me->table);
    free(me->count);
    free(me);
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
        opt.rtol = 1e-10;
    if (opt.atol_rel <= 0.0)
        opt.atol_rel = 1e-16;
    if (!(cfg->t_end >= 0.0)) {
        snprintf(err, errlen, "run.t_end must be >= 0");
        return NPG_EXIT_USAGE;
    }
    npg_me *me = calloc(1, sizeof *me);
    if (!me) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    me->cfg = cfg;
    me->opt = opt;
    me->mode = (int)cfg->supply;
    me->rates.model = cfg->model;

    double *c0 = NULL;
    uint32_t len0 = 0;
    int rc = npg_me_initial(cfg, &c0, &len0, err, errlen);
    if (rc) {
        npg_me_destroy(me);
        return rc;
    }
    uint32_t nm = opt.n_max ? opt.n_max : cfg->me_n_max;
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
    me->n_max = nm;
    me->clipped = clipped;
    me->tail_w = nm / 256 > 8 ? nm / 256 : 8;
    if (me->tail_w > nm - 2)
        me->tail_w = nm - 2;

    /* Rates for n = 0..n_max+1: the override table where it has entries, the model beyond
     * (npg_rates_at's rule), so the solver sees exactly what the engine would. */
    me->a = malloc((nm + 2) * sizeof *me->a);
    me->kd = malloc((nm + 2) * sizeof *me->kd);
    me->table = malloc((nm + 2) * sizeof *me->table);
    me->count = calloc(nm + 1, sizeof *me->count);
    if (!me->a || !me->kd || !me->table || !me->count) {
        snprintf(err, errlen, "out of memory for n_max = %u", nm);
        free(c0);
        npg_me_destroy(me);
        return 1;
    }
    if (opt.rate_table) {
        npg_rates ov = {cfg->model, opt.rate_table, opt.rate_table_len};
        for (uint32_t n = 0; n < nm + 2; ++n)
            me->table[n] = npg_rates_at(&ov, n);
    } else {
        npg_rates_fill(me->table, nm + 2, &cfg->model);
    }
    for (uint32_t n = 0; n < nm + 2; ++n) {
        me->a[n] = me->table[n].assoc;
        me->kd[n] = me->table[n].dissoc;
    }
    me->a[nm] = 0.0; /* reflecting top: the truncation check makes its effect < 1e-12 */
    me->rates.table = me->table;
    me->rates.n_table = nm + 2;

    me->N0 = 0.0;
    double bound0 = 0.0;
    for (uint32_t n = 2; n < len0; ++n) {
        me->N0 += c0[n];
        bound0 += (double)n * c0[n];
    }
    me->iF = me->iP = -1;
    me->neq = (sunindextype)nm;
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
        me->iF = me->neq++;
        if (me->mode == NPG_SUPPLY_PRECURSOR) {
            me->iP = me->neq++;
            me->kp = cfg->k_p;
        }
    }

    if (SUNContext_Create(NULL, &me->ctx)) {
        snprintf(err, errlen, "SUNContext_Create failed");
        free(c0);
        npg_me_destroy(me);
        return 1;
    }
    me->y = N_VNew_Serial(me->neq, me->ctx);
    me->atol = N_VNew_Serial(me->neq, me->ctx);
    if (!me->y || !me->atol) {
        snprintf(err, errlen, "out of memory for the CVODE state (n_max = %u)", nm);
        free(c0);
        npg_me_destroy(me);
        return 1;
    }
    double *y = N_VGetArrayPointer(me->y), *at = N_VGetArrayPointer(me->atol);
    memset(y, 0, (size_t)me->neq * sizeof *y);
    for (uint32_t n = 2; n < len0; ++n)
        y[n - 1] = c0[n];
    free(c0);
    const double atN = opt.atol_rel * me->N0;
    for (sunindextype i = 0; i < (sunindextype)nm; ++i)
        at[i] = atN;
    if (me->iF >= 0) {
        double F0 = cfg->initial_supersaturation * me->vrho;
        double P0 = me->iP >= 0 ? cfg->precursor_nm3 * (me->vrho / cfg->solubility_nm3) : 0.0;
        y[me->iF] = F0;
        me->total0 = F0 + P0 + bound0;
        at[me->iF] = 1e-14 * me->total0;
        if (me->iP >= 0) {
            y[me->iP] = P0;
            at[me->iP] = 1e-14 * me->total0;
        }
    }

    me->cv = CVodeCreate(CV_BDF, me->ctx);
    if (!me->cv) {
        snprintf(err, errlen, "CVodeCreate failed");
        npg_me_destroy(me);
        return 1;
    }
    int f;
    if ((rc = cv_fail(f = CVodeInit(me->cv, me_rhs, 0.0, me->y), "CVodeInit", err, errlen)) ||
        (rc = cv_fail(f = CVodeSVtolerances(me->cv, opt.rtol, me->atol), "tolerances", err,
                      errlen)) ||
        (rc = cv_fail(f = CVodeSetUserData(me->cv, me), "user data", err, errlen)) ||
        (rc = cv_fail(f = CVodeSetMaxNumSteps(me->cv, 50000000L), "max steps", err, errlen))) {
        npg_me_destroy(me);
        return 1;
    }
    me->J = SUNBandMatrix(me->neq, 1, 1, me->ctx);
    if (!me->J) {
        snprintf(err, errlen, "out of memory for the band matrix");
        npg_me_destroy(me);
        return 1;
    }
    if (me->mode == NPG_SUPPLY_SCHEDULE) {
        me->ls = SUNLinSol_Band(me->y, me->J, me->ctx);
        if (!me->ls ||
            cv_fail(CVodeSetLinearSolver(me->cv, me->ls, me->J), "band solver", err, errlen) ||
            cv_fail(CVodeSetJacFn(me->cv, me_jac), "Jacobian", err, errlen)) {
            if (!me->ls)
                snprintf(err, errlen, "SUNLinSol_Band failed");
            npg_me_destroy(me);
            return 1;
        }
    } else {
        me->pm = SUNBandMatrix(me->neq, 1, 1, me->ctx);
        me->pls = me->pm ? SUNLinSol_Band(me->y, me->pm, me->ctx) : NULL;
        me->ls = SUNLinSol_SPGMR(me->y, SUN_PREC_LEFT, 10, me->ctx);
        if (!me->pm || !me->pls || !me->ls || SUNLinSolInitialize(me->pls)) {
            snprintf(err, errlen, "cannot set up the SPGMR solver and its band preconditioner");
            npg_me_destroy(me);
            return 1;
        }
        if (cv_fail(CVodeSetLinearSolver(me->cv, me->ls, NULL), "SPGMR", err, errlen) ||
            cv_fail(CVodeSetPreconditioner(me->cv, me_psetup, me_psolve), "preconditioner", err,
                    errlen)) {
            npg_me_destroy(me);
            return 1;
        }
    }
    me->t = 0.0;
    *out = me;
    return 0;
}

/* One CVODE leg to exactly t (a stop time, so no interpolation). */
static int me_leg(npg_me *me, double t, char *err, size_t errlen)
{
    if (t <= me->t)
        return 0;
    sunrealtype tret = me->t;
    if (cv_fail(CVodeSetStopTime(me->cv, t), "stop time", err, errlen))
        return 1;
#if defined(__SSE2__)
    /* Ahead of the moving front N_n decays to subnormal numbers (1e-310), which cost ~100x per
     * operation on x86. Flush them to zero inside the solver (they are 1e-290 below atol) and
     * restore the caller's floating-point mode afterwards. */
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
#endif
    int flag = CVode(me->cv, t, me->y, &tret, CV_NORMAL);
#if defined(__SSE2__)
    _mm_setcsr(csr);
#endif
    if (flag < 0) {
        snprintf(err, errlen, "CVODE failed at t = %.9g (target %.9g): %s", tret, t,
                 CVodeGetReturnFlagName(flag));
        return 1;
    }
    me->t = t;
    return 0;
}

int npg_me_advance_to(npg_me *me, double t, char *err, size_t errlen)
{
    if (t < me->t) {
        snprintf(err, errlen, "master equation: cannot go back from t = %g to %g", me->t, t);
        return 1;
    }
    if (me->mode == NPG_SUPPLY_SCHEDULE) {
        /* S(t) has a kink at every schedule point: stop there and restart the BDF history. */
        const npg_config *c = me->cfg;
        for (size_t k = 0; k < c->schedule_len; ++k) {
            double bp = c->schedule_t[k];
            if (bp <= me->t || bp >= t)
                continue;
            if (me_leg(me, bp, err, errlen) ||
                cv_fail(CVodeReInit(me->cv, bp, me->y), "CVodeReInit", err, errlen))
                return 1;
        }
    }
    return me_leg(me, t, err, errlen);
}

void npg_me_get(npg_me *me, npg_me_state *st)
{
    memset(st, 0, sizeof *st);
    const double *y = N_VGetArrayPointer(me->y);
    const uint32_t nm = me->n_max;
    /* Values below 1e-20 N(0) (and the solver's small negative noise) are written as 0. */
    const double floor_ = 1e-20 * me->N0;
    double alive = 0.0, bound = 0.0, tail = 0.0;
    for (uint32_t n = 2; n <= nm; ++n) {
        double v = y[n - 1];
        alive += v;
        bound += (double)n * v;
        if (n > nm - me->tail_w)
            tail += fabs(v);
        me->count[n] = v >= floor_ ? v : 0.0;
    }
    st->t = me->t;
    st->count = me->count;
    st->len = nm + 1;
    st->S = me_S(me, me->t, y);
    st->free_monomers = me->iF >= 0 ? y[me->iF] : NAN;
    st->precursor = me->iP >= 0 ? y[me->iP] : NAN;
    st->dissolved = y[0];
    st->particles0 = me->N0;
    st->total0 = me->iF >= 0 ? me->total0 : NAN;
    if (me->iF >= 0) {
        double tot = y[me->iF] + (me->iP >= 0 ? y[me->iP] : 0.0) + bound;
        st->monomer_error = fabs(tot - me->total0) / me->total0;
    }
    st->particle_error = fabs(alive + y[0] - me->N0) / me->N0;
    st->tail = tail / me->N0;
    st->clipped = me->clipped / (me->N0 + me->clipped);
    CVodeGetNumSteps(me->cv, &st->steps);
    CVodeGetNumRhsEvals(me->cv, &st->rhs_evals);
    CVodeGetNumLinIters(me->cv, &st->lin_iters);
    CVodeGetNumJacEvals(me->cv, &st->jac_evals);
    CVodeGetNumNonlinSolvIters(me->cv, &st->nonlin_iters);
    CVodeGetNumErrTestFails(me->cv, &st->err_fails);
    CVodeGetNumPrecEvals(me->cv, &st->prec_evals);
}

const npg_rates *npg_me_rates(const npg_me *me)
{
    return &me->rates;
}
uint32_t npg_me_n_max(const npg_me *me)
{
    return me->n_max;
}

/* ---- the whole `npgrow me` ----------------------------------------------------------------- */

static const char *supply_name(int mode)
{
    return mode == NPG_SUPPLY_CLOSED      ? "closed"
           : mode == NPG_SUPPLY_PRECURSOR ? "precursor"
                                          : "schedule";
}

/* One attempt at the whole run with a given n_max. Returns 0, 1 (error), or 3 when the
 * truncation check failed (the caller may retry with a larger n_max). */
static int me_attempt(const npg_config *cfg, const npg_me_options *o, const char *dir,
                      npg_me_summary *sum, char *err, size_t errlen)
{
    npg_me *me = NULL;
    int rc = npg_me_create(&me, cfg, o, err, errlen);
    if (rc)
        return rc;
    sum->n_max = me->n_max;
    npg_observer obs;
    if (npg_observer_open(&obs, cfg, &me->rates, dir, err, errlen)) {
        npg_me_destroy(me);
        return 1;
    }
    const uint32_t len = me->n_max + 1;
    double *sum_dn = calloc(len, sizeof *sum_dn);
    if (!sum_dn) {
        snprintf(err, errlen, "out of memory");
        npg_observer_close(&obs);
        npg_me_destroy(me);
        return 1;
    }
    /* Output times 0, dt, 2 dt, ..., and t_end itself when it is not on that grid. */
    const double dt = cfg->output_every, T = cfg->t_end;
    uint64_t K = dt > 0.0 ? (uint64_t)floor(T / dt + 1e-9) : 0;
    const int extra = T - (double)K * dt > 1e-9 * (T > 1.0 ? T : 1.0);
    double t_prev = 0.0;
    rc = 0;
    for (uint64_t k = 0; k <= K + (uint64_t)extra; ++k) {
        double t = k <= K ? (double)k * dt : T;
        if ((rc = npg_me_advance_to(me, t, err, errlen)))
            break;
        npg_me_state st;
        npg_me_get(me, &st);
        if (st.tail > sum->tail_max)
            sum->tail_max = st.tail;
        if (st.monomer_error > sum->monomer_error)
            sum->monomer_error = st.monomer_error;
        if (st.particle_error > sum->particle_error)
            sum->particle_error = st.particle_error;
        if (st.tail >= NPG_ME_TAIL_MAX) {
            snprintf(err, errlen,
                     "master equation: %.3g of the particles reached the top sizes (n > %u) at "
                     "t = %g; n_max = %u is too small",
                     st.tail, me->n_max - me->tail_w, t, me->n_max);
            rc = 3;
            break;
        }
        npg_snapshot s;
        memset(&s, 0, sizeof s);
        s.t = t;
        s.count = st.count;
        s.len = st.len;
        s.particles0 = st.particles0;
        s.S = st.S;
        s.free_monomers = st.free_monomers;
        s.precursor = st.precursor;
        s.events = NAN;
        if (k > 0) {
            /* The model's expected growth: sum_dn / (count dt) = j_n exactly. */
            double dto = t - t_prev;
            for (uint32_t n = 2; n < len; ++n)
                sum_dn[n] = st.count[n] * (st.S * me->table[n].assoc - me->table[n].dissoc) * dto;
            s.prev_count = st.count;
            s.sum_dn = sum_dn;
            s.dt_out = dto;
            s.s_mean = st.S;
        }
        if ((rc = npg_observer_write(&obs, &s, err, errlen)))
            break;
        t_prev = t;
    }
    if (!rc) {
        npg_me_state st;
        npg_me_get(me, &st);
        sum->steps = st.steps;
        sum->rhs_evals = st.rhs_evals;
        sum->lin_iters = st.lin_iters;
    }
    free(sum_dn);
    if (npg_observer_close(&obs) && !rc) {
        snprintf(err, errlen, "%s: write error", dir);
        rc = 1;
    }
    npg_me_destroy(me);
    return rc;
}

int npg_me_solve(const npg_config *cfg, const npg_me_options *o, const char *outdir, int force,
                 npg_me_summary *sum, char *err, size_t errlen)
{
    memset(sum, 0, sizeof *sum);
    char tmp[4096];
    int rc = npg_outdir_begin(outdir, force, tmp, sizeof tmp, err, errlen);
    if (rc)
        return rc;
    npg_me_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    const int automatic = !opt.n_max && !cfg->me_n_max;
    double t0 = npg_wall_seconds();
    for (;;) {
        npg_me_summary s;
        memset(&s, 0, sizeof s);
        rc = me_attempt(cfg, &opt, tmp, &s, err, errlen);
        s.retries = sum->retries;
        *sum = s;
        if (rc != 3 || !automatic || sum->retries >= 4)
            break;
        opt.n_max = 2 * sum->n_max;
        sum->retries++;
    }
    sum->wall_s = npg_wall_seconds() - t0;
    if (rc == 3)
        rc = 1;
    if (!rc && cfg->supply != NPG_SUPPLY_SCHEDULE && !(sum->monomer_error <= 1e-10)) {
        snprintf(err, errlen, "master equation: total monomers drifted by %.3g (relative) > 1e-10",
                 sum->monomer_error);
        rc = 1;
    }
    if (!rc) {
        char path[4200];
        snprintf(path, sizeof path, "%s/run.yaml", tmp);
        FILE *f = fopen(path, "w");
        if (!f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            rc = 1;
        } else {
            fprintf(f, "# npgrow me: mean-field master equation (SUNDIALS CVODE, BDF)\n");
            fprintf(f, "producer: me\n");
            fprintf(f, "version: \"%s\"\n", NPGROW_VERSION);
            fprintf(f, "git_commit: \"%s\"\n", NPGROW_GIT_COMMIT);
            fprintf(f, "supply: %s\n", supply_name((int)cfg->supply));
            fprintf(f, "linear_solver: %s\n",
                    cfg->supply == NPG_SUPPLY_SCHEDULE ? "band (analytic Jacobian)"
                                                       : "spgmr + band preconditioner");
            fprintf(f, "n_max: %u\n", sum->n_max);
            fprintf(f, "n_max_retries: %d\n", sum->retries);
            fprintf(f, "rtol: %.3g\n", opt.rtol > 0.0 ? opt.rtol : 1e-10);
            fprintf(f, "cvode_steps: %ld\n", sum->steps);
            fprintf(f, "rhs_evals: %ld\n", sum->rhs_evals);
            fprintf(f, "linear_iterations: %ld\n", sum->lin_iters);
            fprintf(f, "wall_s: %.6f\n", sum->wall_s);
            if (cfg->supply != NPG_SUPPLY_SCHEDULE)
                fprintf(f, "monomer_conservation_error: %.3e\n", sum->monomer_error);
            fprintf(f, "particle_conservation_error: %.3e\n", sum->particle_error);
            fprintf(f, "tail_fraction_max: %.3e\n", sum->tail_max);
            fprintf(f, "config:\n");
            npg_config_write_yaml(f, cfg, 2);
            fprintf(f, "status: complete\n");
            if (ferror(f) | fclose(f)) {
                snprintf(err, errlen, "%s: write error", path);
                rc = 1;
            }
        }
    }
    if (!rc)
        rc = npg_h5out_write_dir(cfg, tmp, "me", err, errlen); /* [h5] run.h5 from the files */
    if (!rc)
        rc = npg_outdir_commit(tmp, outdir, err, errlen);
    else
        npg_outdir_abandon(tmp);
    return rc;
}
