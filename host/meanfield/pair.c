/* pair.c: the pair-correlation equation (npgrow/pair.h, model.md 3.3-3.4), finite volumes in
 * flux form integrated by SUNDIALS CVODE (BDF, banded Jacobian).
 *
 * Grid. x in [0, X], X = pair.rmax_nm, in `cells` finite volumes. A quarter of them are uniform
 * on [0, x_f], x_f = l + 8 nu (gaussian shell) or l + 2 w (step), so the shell, its depletion
 * layer and everything between it and contact (where the shifted quadrature of the original code
 * puts its centre) are resolved: nu = 0.1 nm gets ~25 cells per nu with the default 4000 cells
 * and rmax 300. The other three quarters grow geometrically from that spacing to X (ratio
 * ~1.0016 by default: 0.07 nm cells at the exclusion distance r_c = 44 nm, 0.5 nm at 300 nm), so
 * the grid is smooth (second order) everywhere. Halving every cell (2 x cells) halves both zones.
 *
 * Scheme. With r = x + sigma(t), r^2 u obeys the conservation law
 *   d(r^2 u)/dt + dF/dx = -kappa S r^2 u,   F = -D r^2 u_x - sigma' r^2 u,
 * (the moving frame's advection sigma' u_x is the flux -sigma' r^2 u minus the change of the
 * volume element r^2 dx). Cell i holds the r^2-weighted mean u_i over [x_i, x_{i+1}], volume
 * V_i = (r_{i+1}^3 - r_i^3)/3, and
 *   d(V_i u_i)/dt = F_i - F_{i+1} - kappa W_i u_i,   W_i = int_cell r^2 S dr (exact: erf),
 * The face flux between centres xc_{i-1} and xc_i (h apart) is upwinded by exponential fitting
 * (Scharfetter-Gummel, Il'in-Allen-Southwell): with the velocity v = -sigma' of the frame and
 * the cell Peclet number Pe = v h / D,
 *   F_i = r_i^2 (D/h) [B(-Pe) u_{i-1} - B(Pe) u_i],   B(z) = z / (e^z - 1),
 * the exact flux of steady advection-diffusion between the centres: the upwind flux v u_upwind
 * where |Pe| >> 1, and diffusion plus central advection (second order) where |Pe| << 1, as here
 * (|Pe| < 0.1 for the study's sigma' and D_r). Plain first-order upwinding (v u_upwind +
 * -D du/dx) has an O(h) error from its numerical diffusion |v| h / 2: 0.5 % in k_f at 2000 cells
 * on the study's case, halving with each halving of h; with fitting the same grids agree to 1e-3.
 * At x = 0 and x = X the diffusive flux vanishes (zero gradient, the code's du/dx = 0) and the
 * advective flux v r^2 u carries the boundary cell's value (the contact sweeping outward removes
 * what it passes; the far end takes in its own value). B(-z) - B(z) = z, so a uniform u stays
 * uniform exactly. The total sink sum_i kappa W_i u_i is k_f/(4 pi): k_f is exactly what the
 * finite volumes remove.
 *
 * State y = (u_0 .. u_{N-1}, A, int_0^t k_f dt). The u block is tridiagonal and independent of
 * A; the Jacobian given to CVODE is that block, dA'/dA and the entries of the last two rows that
 * fall in the band (the rest of their dense rows is left out: the u block is exact and does not
 * see A, so the modified Newton iteration still converges).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI, M_SQRT2 */

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
#include <sunmatrix/sunmatrix_band.h>

#include "npgrow/outdir.h"
#include "npgrow/pair.h"
#include "npgrow/status.h"
#include "npgrow/wellmixed.h"

#include "meanfield/cvode_leg.h"

#include "util/util.h"

#define FINE_SHARE  4    /* 1/FINE_SHARE of the cells are uniform on [0, x_f] */
#define GAUSS_REACH 12.0 /* W_i is taken as 0 beyond 12 nu of the centre (exp(-72) ~ 5e-32) */

struct npg_pair {
    const npg_config *cfg;
    npg_pair_options opt;
    size_t n;        /* cells */
    double *xf;      /* faces [n + 1] [nm] */
    double *xc;      /* centres [n] */
    double *lo, *di; /* tridiagonal operator at t_asm: du_i/dt = lo u_{i-1} + di u_i + up u_{i+1} */
    double *up;
    double *w;  /* W_i, consistent shell [nm^3] */
    double *ws; /* W_i, shifted centre */
    double t_asm;
    int have_asm;
    double sigma, dsigma, d_r, kappa, x_shift; /* at t_asm */
    double spu;                                /* seconds per time unit */
    double scale;         /* dA/dt = P - scale k_f A^2: 1 (study) or N(0)/(2V) [nm^-3] (box) */
    npg_coal_params coal; /* the propensity (npgrow/coalesce.h) */
    double t;             /* current time */
    SUNContext ctx;
    void *cv;
    N_Vector y, atol;
    SUNMatrix J;
    SUNLinearSolver ls;
    long steps0, rhs0; /* counters before the last CVodeReInit */
    int cut_done;      /* restarted at t_cut */
};

/* ---- coefficients ---------------------------------------------------------------------- */

/* B(z) = z / (e^z - 1), B(0) = 1 (the Bernoulli function of exponential fitting). */
static double bernoulli(double z)
{
    if (fabs(z) < 1e-4)
        return 1.0 - 0.5 * z + z * z / 12.0;
    return z / expm1(z);
}

/* erf(b) - erf(a) without cancellation in either tail. */
static double erf_diff(double a, double b)
{
    if (a > 0.0)
        return erfc(a) - erfc(b);
    if (b < 0.0)
        return erfc(-b) - erfc(-a);
    return erf(b) - erf(a);
}

/* int_a^b (x + sigma)^2 exp(-(x - m)^2 / (2 nu^2)) dx, with s = x - m, c = m + sigma:
 * int (s + c)^2 G ds = (c^2 + nu^2) nu sqrt(pi/2) erf(s / (sqrt2 nu)) - nu^2 (s + 2c) G(s). */
static double gauss_r2(double a, double b, double m, double sigma, double nu)
{
    double c = m + sigma, sa = a - m, sb = b - m, k = 1.0 / (M_SQRT2 * nu);
    double ga = exp(-sa * sa * k * k), gb = exp(-sb * sb * k * k);
    double v = (c * c + nu * nu) * nu * sqrt(M_PI / 2.0) * erf_diff(sa * k, sb * k) -
               nu * nu * ((sb + 2.0 * c) * gb - (sa + 2.0 * c) * ga);
    return v > 0.0 ? v : 0.0;
}

/* int over [a, b] and [m - w, m + w] of (x + sigma)^2 dx. */
static double step_r2(double a, double b, double m, double sigma, double w)
{
    double lo = fmax(a, m - w), hi = fmin(b, m + w);
    if (!(hi > lo))
        return 0.0;
    double rl = lo + sigma, rh = hi + sigma;
    return (rh * rh * rh - rl * rl * rl) / 3.0;
}

/* The first face index >= x (faces increasing). */
static size_t face_at(const npg_pair *p, double x)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->xf[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* w[i] = int_cell r^2 S dr for the shell centred at x = m. */
static void shell_weights(const npg_pair *p, double m, double sigma, double *w)
{
    const npg_coal_config *c = &p->cfg->coal;
    const double nu = c->shell_width_nm;
    const int step = c->shell == NPG_SHELL_STEP;
    double reach = step ? nu : GAUSS_REACH * nu;
    memset(w, 0, p->n * sizeof *w);
    size_t i0 = face_at(p, m - reach), i1 = face_at(p, m + reach);
    if (i0 > 0)
        --i0;
    if (i1 > p->n)
        i1 = p->n;
    for (size_t i = i0; i < i1; ++i)
        w[i] = step ? step_r2(p->xf[i], p->xf[i + 1], m, sigma, nu)
                    : gauss_r2(p->xf[i], p->xf[i + 1], m, sigma, nu);
}

/* The operator at time t (cached: the right-hand side and the Jacobian share it). */
static void assemble(npg_pair *p, double t)
{
    if (p->have_asm && p->t_asm == t)
        return;
    const npg_config *cfg = p->cfg;
    const npg_coal_config *c = &cfg->coal;
    const size_t n = p->n;
    double ds;
    const double sg = npg_config_pair_sigma(cfg, t, &ds);
    const double D = npg_config_pair_dr(cfg, t) * p->spu;
    const double kap = c->kappa_c_per_s * p->spu * npg_coal_fermi(&p->coal, sg);
    const double l = c->ligand_nm;
    p->sigma = sg;
    p->dsigma = ds;
    p->d_r = D;
    p->kappa = kap;
    shell_weights(p, l, sg, p->w);
    /* the original code's k_f quadrature: the shell at sigma(sigma(t)) + l, i.e. the polynomial
     * at movie time sigma(t), which is run time sigma(t) - t_offset */
    double ss = sg;
    if (cfg->pair.sigma == NPG_PAIR_SIGMA_POLYNOMIAL)
        ss = npg_config_pair_sigma(cfg, sg - cfg->pair.t_offset, NULL);
    p->x_shift = ss + l - sg;
    shell_weights(p, p->x_shift, sg, p->ws);
    const double *xf = p->xf, *xc = p->xc;
    for (size_t i = 0; i < n; ++i) {
        double rl = xf[i] + sg, rr = xf[i + 1] + sg;
        double V = (rr * rr * rr - rl * rl * rl) / 3.0;
        double dV = ds * (rr * rr - rl * rl);
        double lo = 0.0, di = -kap * p->w[i] - dV, up = 0.0;
        /* left face i: F_i = r^2 (D/h) [B(-Pe) u_{i-1} - B(Pe) u_i] */
        if (i > 0) {
            double h = xc[i] - xc[i - 1], g = D * rl * rl / h, pe = -ds * h / D;
            lo += g * bernoulli(-pe);
            di -= g * bernoulli(pe);
        } else {
            di -= ds * rl * rl; /* contact: advection carries the cell's own value */
        }
        /* right face i + 1, with the opposite sign */
        if (i + 1 < n) {
            double h = xc[i + 1] - xc[i], g = D * rr * rr / h, pe = -ds * h / D;
            di -= g * bernoulli(-pe);
            up += g * bernoulli(pe);
        } else {
            di += ds * rr * rr; /* far end: inflow at its own value, outflow of it */
        }
        p->lo[i] = lo / V;
        p->di[i] = di / V;
        p->up[i] = up / V;
    }
    p->t_asm = t;
    p->have_asm = 1;
}

static double source(const npg_pair *p, double t)
{
    return t < p->cfg->pair.t_cut ? p->cfg->pair.p0_per_time : 0.0;
}

static double kf_of(const npg_pair *p, const double *u, const double *w)
{
    double s = 0.0;
    for (size_t i = 0; i < p->n; ++i)
        s += w[i] * u[i];
    return 4.0 * M_PI * p->kappa * s;
}

static int pair_rhs(sunrealtype t, N_Vector yv, N_Vector fv, void *ud)
{
    if (npg_stop_requested())
        return -1; /* a stop request ends the CVode call at once */
    npg_pair *p = ud;
    const double *u = N_VGetArrayPointer(yv);
    double *f = N_VGetArrayPointer(fv);
    const size_t n = p->n;
    assemble(p, t);
    f[0] = p->di[0] * u[0] + p->up[0] * u[1];
    for (size_t i = 1; i + 1 < n; ++i)
        f[i] = p->lo[i] * u[i - 1] + p->di[i] * u[i] + p->up[i] * u[i + 1];
    f[n - 1] = p->lo[n - 1] * u[n - 2] + p->di[n - 1] * u[n - 1];
    double kc = kf_of(p, u, p->w);
    double kf = p->cfg->pair.quadrature == NPG_PAIR_QUAD_SHIFTED ? kf_of(p, u, p->ws) : kc;
    double A = u[n];
    f[n] = source(p, t) - p->scale * kf * A * A;
    f[n + 1] = kc;
    return 0;
}

static int pair_jac(sunrealtype t, N_Vector yv, N_Vector fy, SUNMatrix J, void *ud, N_Vector t1,
                    N_Vector t2, N_Vector t3)
{
    (void)fy, (void)t1, (void)t2, (void)t3;
    npg_pair *p = ud;
    const double *u = N_VGetArrayPointer(yv);
    const size_t n = p->n;
    assemble(p, t);
    SUNMatZero(J);
    for (size_t i = 0; i < n; ++i) {
        sunindextype k = (sunindextype)i;
        if (i > 0)
            SM_ELEMENT_B(J, k, k - 1) = p->lo[i];
        SM_ELEMENT_B(J, k, k) = p->di[i];
        if (i + 1 < n)
            SM_ELEMENT_B(J, k, k + 1) = p->up[i];
    }
    const double *w = p->cfg->pair.quadrature == NPG_PAIR_QUAD_SHIFTED ? p->ws : p->w;
    double A = u[n], kf = kf_of(p, u, w);
    sunindextype kn = (sunindextype)n;
    SM_ELEMENT_B(J, kn, kn) = -2.0 * p->scale * kf * A;
    SM_ELEMENT_B(J, kn, kn - 1) = -4.0 * M_PI * p->scale * p->kappa * w[n - 1] * A * A;
    return 0;
}

/* ---- grid and start ---------------------------------------------------------------------- */

/* Faces: n / FINE_SHARE uniform cells on [0, x_f], then geometric growth to X. */
static void make_grid(npg_pair *p, double x_f, double X)
{
    const size_t n = p->n;
    size_t nf = n / FINE_SHARE, m = n - nf;
    double h = x_f / (double)nf;
    for (size_t i = 0; i <= nf; ++i)
        p->xf[i] = x_f * (double)i / (double)nf;
    double rest = X - x_f;
    double q = 1.0;
    if (h * (double)m < rest) {
        /* h (q + q^2 + ... + q^m) = rest: bisection on q in (1, 2] */
        double a = 1.0, b = 2.0;
        for (int it = 0; it < 200; ++it) {
            double mid = 0.5 * (a + b);
            double s = mid * expm1((double)m * log(mid)) / (mid - 1.0);
            if (h * s > rest)
                b = mid;
            else
                a = mid;
        }
        q = 0.5 * (a + b);
    } else {
        h = rest / (double)m; /* the fine spacing would already overshoot: uniform */
    }
    double x = x_f, hk = h;
    for (size_t k = 1; k <= m; ++k) {
        if (q > 1.0)
            hk *= q;
        x += hk;
        p->xf[nf + k] = x;
    }
    /* rounding: end exactly at X, scaling the geometric part */
    double scale = rest / (p->xf[n] - x_f);
    for (size_t k = 1; k <= m; ++k)
        p->xf[nf + k] = x_f + (p->xf[nf + k] - x_f) * scale;
    p->xf[n] = X;
    for (size_t i = 0; i < n; ++i)
        p->xc[i] = 0.5 * (p->xf[i] + p->xf[i + 1]);
}

/* u_i at t = 0: the r^2-weighted share of cell i inside r_c <= x + sigma_ic <= r_max. */
static void initial_u(const npg_pair *p, double *u)
{
    const npg_config *cfg = p->cfg;
    const npg_pair_config *pc = &cfg->pair;
    double s0 = npg_config_pair_sigma(cfg, 0.0, NULL);
    double sic = pc->ic_sigma == NPG_PAIR_IC_SIGMA_ZERO
                     ? npg_config_pair_sigma(cfg, -pc->t_offset, NULL)
                     : s0;
    double a = cfg->coal.initial_min_distance_nm - sic;
    double b = pc->ic_r_max_nm > 0.0 ? pc->ic_r_max_nm - sic : HUGE_VAL;
    for (size_t i = 0; i < p->n; ++i) {
        double xl = p->xf[i], xr = p->xf[i + 1];
        double lo = fmax(xl, a), hi = fmin(xr, b);
        double rl = xl + s0, rr = xr + s0;
        double V = rr * rr * rr - rl * rl * rl;
        if (!(hi > lo)) {
            u[i] = 0.0;
        } else {
            double ql = lo + s0, qh = hi + s0;
            u[i] = (qh * qh * qh - ql * ql * ql) / V;
            if (u[i] > 1.0)
                u[i] = 1.0;
        }
    }
}

void npg_pair_destroy(npg_pair *p)
{
    if (!p)
        return;
    if (p->cv)
        CVodeFree(&p->cv);
    if (p->ls)
        SUNLinSolFree(p->ls);
    if (p->J)
        SUNMatDestroy(p->J);
    if (p->y)
        N_VDestroy(p->y);
    if (p->atol)
        N_VDestroy(p->atol);
    if (p->ctx)
        SUNContext_Free(&p->ctx);
    free(p->xf);
    free(p->xc);
    free(p->lo);
    free(p->di);
    free(p->up);
    free(p->w);
    free(p->ws);
    free(p);
}

int npg_pair_create(npg_pair **out, const npg_config *cfg, const npg_pair_options *o, char *err,
                    size_t errlen)
{
    *out = NULL;
    const npg_pair_config *pc = &cfg->pair;
    const npg_coal_config *c = &cfg->coal;
    if (!pc->present || c->mode != NPG_COAL_BROWNIAN)
        return npg_config_refuse(err, errlen, cfg->source, "pair",
                                 "(missing): npgrow pair needs a pair: section and coalescence: "
                                 "{mode: brownian, ...} (README \"Pair-correlation equation\")");
    npg_pair *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    p->cfg = cfg;
    if (o)
        p->opt = *o;
    if (!p->opt.cells)
        p->opt.cells = pc->cells;
    if (!(p->opt.rtol > 0.0))
        p->opt.rtol = NPG_PAIR_RTOL;
    if (!(p->opt.atol > 0.0))
        p->opt.atol = NPG_PAIR_ATOL;
    p->spu = npg_config_seconds_per_unit(cfg);
    npg_coal_params_from_config(cfg, &p->coal);
    p->scale = 1.0;
    if (pc->kinetics == NPG_PAIR_KINETICS_BOX) {
        const double V = npg_coal_volume(cfg);
        p->scale = V > 0.0 ? 0.5 * (double)cfg->particles / V : 1.0;
    }
    p->n = p->opt.cells < 8 ? 8 : p->opt.cells;
    const size_t n = p->n;
    p->xf = malloc((n + 1) * sizeof *p->xf);
    p->xc = malloc(n * sizeof *p->xc);
    p->lo = malloc(n * sizeof *p->lo);
    p->di = malloc(n * sizeof *p->di);
    p->up = malloc(n * sizeof *p->up);
    p->w = malloc(n * sizeof *p->w);
    p->ws = malloc(n * sizeof *p->ws);
    if (!p->xf || !p->xc || !p->lo || !p->di || !p->up || !p->w || !p->ws ||
        SUNContext_Create(NULL, &p->ctx)) {
        npg_pair_destroy(p);
        snprintf(err, errlen, "out of memory (%zu cells)", n);
        return 1;
    }
    double reach = c->shell == NPG_SHELL_STEP ? 2.0 * c->shell_width_nm : 8.0 * c->shell_width_nm;
    make_grid(p, c->ligand_nm + reach, pc->rmax_nm);
    const sunindextype neq = (sunindextype)n + 2;
    p->y = N_VNew_Serial(neq, p->ctx);
    p->atol = N_VNew_Serial(neq, p->ctx);
    p->J = SUNBandMatrix(neq, 1, 1, p->ctx);
    p->ls = p->y && p->J ? SUNLinSol_Band(p->y, p->J, p->ctx) : NULL;
    if (!p->y || !p->atol || !p->J || !p->ls) {
        npg_pair_destroy(p);
        snprintf(err, errlen, "out of memory for the CVODE state (%zu cells)", n);
        return 1;
    }
    double *y = N_VGetArrayPointer(p->y);
    initial_u(p, y);
    y[n] = 1.0;     /* A(0) */
    y[n + 1] = 0.0; /* absorbed */
    N_VConst(p->opt.atol, p->atol);
    p->cv = CVodeCreate(CV_BDF, p->ctx);
    if (!p->cv || npg_cv_fail(CVodeInit(p->cv, pair_rhs, 0.0, p->y), "CVodeInit", err, errlen) ||
        npg_cv_fail(CVodeSVtolerances(p->cv, p->opt.rtol, p->atol), "tolerances", err, errlen) ||
        npg_cv_fail(CVodeSetUserData(p->cv, p), "user data", err, errlen) ||
        npg_cv_fail(CVodeSetMaxNumSteps(p->cv, 50000000L), "max steps", err, errlen) ||
        npg_cv_fail(CVodeSetLinearSolver(p->cv, p->ls, p->J), "linear solver", err, errlen) ||
        npg_cv_fail(CVodeSetJacFn(p->cv, pair_jac), "Jacobian", err, errlen)) {
        if (!p->cv)
            snprintf(err, errlen, "CVodeCreate failed");
        npg_pair_destroy(p);
        return 1;
    }
    p->t = 0.0;
    assemble(p, 0.0);
    *out = p;
    return 0;
}

/* One CVODE call to t, never past stop (a kink of the right-hand side or the end). */
static int leg(npg_pair *p, double t, double stop, char *err, size_t errlen)
{
    return npg_cv_leg(p->cv, p->y, &p->t, t, stop, err, errlen);
}

int npg_pair_advance(npg_pair *p, double t, char *err, size_t errlen)
{
    const double tc = p->cfg->pair.t_cut;
    int rc;
    if (!p->cut_done && tc > 0.0 && tc < t) {
        /* the source switches off at t_cut: stop there and restart the BDF history */
        if ((rc = leg(p, tc, tc, err, errlen)))
            return rc;
        long s = 0, r = 0;
        CVodeGetNumSteps(p->cv, &s);
        CVodeGetNumRhsEvals(p->cv, &r);
        p->steps0 += s;
        p->rhs0 += r;
        if (npg_cv_fail(CVodeReInit(p->cv, tc, p->y), "CVodeReInit", err, errlen))
            return 1;
        p->cut_done = 1;
    }
    /* CVODE may step past t and interpolate back (outputs cost no steps), never past the kink
     * at t_cut or the end of the run */
    double stop = fmax(t, p->cfg->t_end);
    if (!p->cut_done && tc > 0.0 && tc >= t && tc < stop)
        stop = tc;
    return leg(p, t, stop, err, errlen);
}

void npg_pair_get(const npg_pair *p, npg_pair_state *st)
{
    npg_pair *q = (npg_pair *)p; /* the cached operator only */
    memset(st, 0, sizeof *st);
    assemble(q, p->t);
    const double *y = N_VGetArrayPointer(p->y);
    const size_t n = p->n;
    st->t = p->t;
    st->sigma = p->sigma;
    st->d_r = p->d_r;
    st->kappa = p->kappa;
    st->kf_consistent = kf_of(p, y, p->w);
    st->kf_shifted = kf_of(p, y, p->ws);
    st->kf = p->cfg->pair.quadrature == NPG_PAIR_QUAD_SHIFTED ? st->kf_shifted : st->kf_consistent;
    st->A = y[n];
    st->rate = p->scale * st->kf;
    const npg_pair_config *pc = &p->cfg->pair;
    const double tc = isfinite(pc->t_cut) ? fmin(p->t, pc->t_cut) : p->t;
    st->merges = 1.0 + pc->p0_per_time * fmax(tc, 0.0) - st->A;
    st->absorbed = y[n + 1];
    st->g_contact = y[0];
    double pairs = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double rl = p->xf[i] + p->sigma, rr = p->xf[i + 1] + p->sigma;
        pairs += (rr * rr * rr - rl * rl * rl) / 3.0 * y[i];
    }
    st->pairs = 4.0 * M_PI * pairs;
    long s = 0, r = 0;
    CVodeGetNumSteps(p->cv, &s);
    CVodeGetNumRhsEvals(p->cv, &r);
    st->steps = p->steps0 + s;
    st->rhs_evals = p->rhs0 + r;
}

void npg_pair_profile(const npg_pair *p, size_t *n, const double **faces, const double **u)
{
    *n = p->n;
    *faces = p->xf;
    *u = N_VGetArrayPointer(p->y);
}

/* ---- npgrow pair ------------------------------------------------------------------------ */

/* Progress on stderr (util.h npg_progress). */
static void progress_show(npg_progress *pr, const npg_config *cfg, const npg_pair_state *st,
                          int done)
{
    if (!npg_progress_due(pr, done))
        return;
    double frac = cfg->t_end > 0.0 ? st->t / cfg->t_end : 1.0;
    npg_progress_line(pr, done, "pair: t = %.4g / %g %s  %5.1f%%  k_f = %.4g  A = %.6g  %ld steps",
                      st->t, cfg->t_end, cfg->time_unit, 100.0 * frac, st->kf, st->A, st->steps);
}

static int write_run_yaml(const char *dir, const npg_config *cfg, const npg_pair_options *opt,
                          const npg_pair_summary *sum, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 1;
    }
    const char *tu = cfg->time_unit;
    fprintf(f, "# npgrow pair: pair-correlation equation (finite volumes, SUNDIALS CVODE BDF)\n");
    fprintf(f, "producer: pair\n");
    fprintf(f, "version: \"%s\"\n", NPGROW_VERSION);
    fprintf(f, "git_commit: \"%s\"\n", NPGROW_GIT_COMMIT);
    fprintf(f, "status: %s\n", sum->interrupted ? "interrupted" : "complete");
    fprintf(f, "time_unit: %s\n", tu);
    fprintf(f, "t_reached: %.17g  # [%s] last output time written\n", sum->t_reached, tu);
    fprintf(f, "quadrature: %s\n",
            cfg->pair.quadrature == NPG_PAIR_QUAD_SHIFTED ? "shifted" : "consistent");
    fprintf(f, "kinetics: %s  # dA/dt = P0 [t < t_cut] - rate A^2, rate = %s\n",
            cfg->pair.kinetics == NPG_PAIR_KINETICS_BOX ? "box" : "study",
            cfg->pair.kinetics == NPG_PAIR_KINETICS_BOX ? "N(0)/(2V) k_f" : "k_f");
    fprintf(f, "cells: %u\n", sum->cells);
    fprintf(f, "h_min_nm: %.6g  # [nm] the uniform cells on [0, l + shell reach]\n", sum->h_min_nm);
    fprintf(f, "h_max_nm: %.6g  # [nm] the last cell\n", sum->h_max_nm);
    fprintf(f, "rtol: %.3g\n", opt->rtol > 0.0 ? opt->rtol : NPG_PAIR_RTOL);
    fprintf(f, "atol: %.3g  # on u and A\n", opt->atol > 0.0 ? opt->atol : NPG_PAIR_ATOL);
    fprintf(f, "cvode_steps: %ld\n", sum->steps);
    fprintf(f, "rhs_evals: %ld\n", sum->rhs_evals);
    fprintf(f, "kf_max: %.10g  # [nm^3/%s] largest k_f at an output time\n", sum->kf_max, tu);
    fprintf(f, "t_kf_max: %.10g  # [%s]\n", sum->t_kf_max, tu);
    fprintf(f, "A_end: %.10g  # A at t_reached\n", sum->A_end);
    fprintf(f, "wall_s: %.6f\n", sum->wall_s);
    fprintf(f, "config:\n");
    npg_config_write_yaml(f, cfg, 2);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "%s: write error", path);
        return 1;
    }
    return 0;
}

/* DIR/NAME [4200 bytes into path] opened for writing with its CSV header line; NULL with the
 * message. */
static FILE *open_csv(const char *dir, const char *name, const char *header, char *path, char *err,
                      size_t errlen)
{
    snprintf(path, 4200, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    return f;
}

/* The output loop into pair.csv. Returns 0, 1 or the stop exit code. */
static int pair_outputs(npg_pair *p, const npg_config *cfg, FILE *csv, FILE *mom, npg_progress *pr,
                        npg_pair_summary *sum, char *err, size_t errlen)
{
    double t_prev = 0.0, A_prev = 1.0, m_prev = 0.0;
    const double dt = cfg->output_every, T = cfg->t_end;
    uint64_t K = dt > 0.0 ? (uint64_t)floor(T / dt + 1e-9) : 0;
    const int extra = T - (double)K * dt > 1e-9 * (T > 1.0 ? T : 1.0);
    sum->kf_max = -1.0;
    for (uint64_t k = 0; k <= K + (uint64_t)extra; ++k) {
        double t = k <= K ? (double)k * dt : T;
        if (t > T)
            t = T;
        if (npg_stop_requested()) {
            snprintf(err, errlen, "interrupted at t = %.9g", sum->t_reached);
            return npg_stop_exit_code();
        }
        int rc = npg_pair_advance(p, t, err, errlen);
        if (rc)
            return rc;
        npg_pair_state st;
        npg_pair_get(p, &st);
        fprintf(csv, "%.10g,%.10g,%.10g,%.10g\n", t, st.kf, st.A, st.g_contact);
        /* moments.csv in the run format (N(0) = 1): kf over the output interval as the particle
         * engine defines it, merges / (A(t - dt) A(t) dt), the interval mean of rate when there
         * is no source (d(1/A)/dt = rate) */
        fprintf(mom, "%.10g,%.15g,%.15g,%.15g,", t, st.A, st.A, st.merges);
        if (k > 0 && t > t_prev && A_prev > 0.0 && st.A > 0.0)
            fprintf(mom, "%.12g", (st.merges - m_prev) / (A_prev * st.A * (t - t_prev)));
        fprintf(mom, ",%.12g\n", st.rate);
        t_prev = t;
        A_prev = st.A;
        m_prev = st.merges;
        if (ferror(csv) || ferror(mom)) {
            snprintf(err, errlen, "%s: write error", ferror(csv) ? "pair.csv" : "moments.csv");
            return 1;
        }
        if (st.kf > sum->kf_max) {
            sum->kf_max = st.kf;
            sum->t_kf_max = t;
        }
        sum->t_reached = t;
        sum->A_end = st.A;
        progress_show(pr, cfg, &st, 0);
    }
    return 0;
}

int npg_pair_solve(const npg_config *cfg, const npg_pair_options *o, const char *outdir, int force,
                   npg_pair_summary *sum, char *err, size_t errlen)
{
    memset(sum, 0, sizeof *sum);
    double t0 = npg_wall_seconds();
    npg_pair_options opt;
    memset(&opt, 0, sizeof opt);
    if (o)
        opt = *o;
    int rc = npg_config_check(cfg, 0, err, errlen);
    if (rc)
        return rc;
    npg_pair *p = NULL;
    if (!cfg->pair.present || cfg->coal.mode != NPG_COAL_BROWNIAN)
        return npg_pair_create(&p, cfg, &opt, err, errlen); /* says what is missing */
    npg_outdir od;
    if ((rc = npg_outdir_open(&od, outdir, force, err, errlen)))
        return rc;
    if ((rc = npg_pair_create(&p, cfg, &opt, err, errlen))) {
        npg_outdir_discard(&od);
        return rc;
    }
    size_t n;
    const double *xf, *u;
    npg_pair_profile(p, &n, &xf, &u);
    sum->cells = (uint32_t)n;
    sum->h_min_nm = xf[1] - xf[0];
    sum->h_max_nm = xf[n] - xf[n - 1];
    char path[4200], mpath[4200];
    FILE *csv = open_csv(od.tmp, "pair.csv", "t,kf,A,g_contact", path, err, errlen);
    FILE *mom =
        csv ? open_csv(od.tmp, "moments.csv",
                       "t,particles,alive_fraction,coalescences,kf,kf_instant", mpath, err, errlen)
            : NULL;
    if (!mom) {
        if (csv)
            fclose(csv);
        npg_pair_destroy(p);
        npg_outdir_discard(&od);
        return 1;
    }
    npg_progress pr;
    npg_progress_init(&pr, opt.progress);
    pr.start = t0;
    npg_stop_install();
    rc = pair_outputs(p, cfg, csv, mom, &pr, sum, err, errlen);
    const int stopped = rc && rc == npg_stop_exit_code();
    npg_pair_state st;
    npg_pair_get(p, &st);
    if (!rc)
        progress_show(&pr, cfg, &st, 1);
    else
        npg_progress_break(&pr);
    sum->steps = st.steps;
    sum->rhs_evals = st.rhs_evals;
    sum->interrupted = stopped;
    npg_pair_destroy(p);
    if ((ferror(csv) | fclose(csv)) && (!rc || stopped)) {
        snprintf(err, errlen, "%s: write error", path);
        rc = 1;
    }
    if ((ferror(mom) | fclose(mom)) && (!rc || stopped)) {
        snprintf(err, errlen, "%s: write error", mpath);
        rc = 1;
    }
    sum->wall_s = npg_wall_seconds() - t0;
    if (!rc || stopped) {
        char e2[4600];
        if (write_run_yaml(od.tmp, cfg, &opt, sum, e2, sizeof e2)) {
            snprintf(err, errlen, "%s", e2);
            rc = 1;
        }
    }
    if (!rc || (stopped && rc == npg_stop_exit_code())) {
        char want[3072], e2[4600];
        snprintf(want, sizeof want, "%s", od.path);
        /* a stopped solution goes beside an earlier result (DIR.interrupted), never over it */
        if (stopped ? npg_outdir_commit_stopped(&od, e2, sizeof e2)
                    : npg_outdir_commit_dir(&od, e2, sizeof e2)) {
            snprintf(err, errlen, "%s", e2);
            npg_stop_restore();
            return 1;
        }
        if (stopped && strcmp(want, od.path))
            fprintf(stderr,
                    "npgrow pair: stopped: %s holds an earlier result, which is kept; this "
                    "stopped solution is in %s\n",
                    want, od.path);
    } else {
        npg_outdir_discard(&od);
    }
    npg_stop_restore();
    return rc;
}
