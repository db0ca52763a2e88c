/* me_coal.c: the extended master equation: monomer exchange (optional) on two populations,
 * Smoluchowski coagulation, and a Poisson particle source (me_impl.h has the state layout).
 *
 * With c_n = A_n + B_n the expected particles of size n in volume V [nm^3], and
 * K_ij P_ij = npg_coal_rate(&p, i, j, f(t)) [nm^3 per time unit] (npgrow/coalesce.h, the same
 * function the particle engine samples with):
 *   dA_k/dt = X[A]_k - (A_k / V) L_k + r pmf_k [t0 <= t < t1]
 *   dB_k/dt = X[B]_k - (B_k / V) L_k + (1 / 2V) sum_{i+j=k} K_ij P_ij c_i c_j
 *   L_k     = sum_{j=2}^{n_max} K_kj P_kj c_j
 *   dM/dt   = (1 / 2V) sum_{i,j} K_ij P_ij c_i c_j                   (merges)
 *   dO/dt, dO_m/dt: the part of dM/dt with i + j > n_max, and its monomers (i + j)
 * X[N] is the plain equation's monomer exchange (me.c) applied to N (zero with
 * supply.monomer_exchange: false); a dimer of either group that loses a monomer dissolves into D.
 * A merge takes its two particles out of whatever group they were in and puts the product into
 * B (A + A, A + B, B + B alike). Particles formed above n_max leave the equation; they are
 * counted in O (the truncation check keeps O below 1e-12 N(0)) and their monomers O_m stay
 * bound, so alive + D + M + O = N(0) + entries and, with closed supply,
 * free = total(0) + source monomers - precursor - sum n c_n - O_m.
 *
 * The convolution is direct, O(n_max^2) per evaluation over the kernel matrix, whose pairs are
 * split into a fixed number of row blocks with private accumulators summed in block order: the
 * result does not depend on the number of OpenMP threads (npg_me_options.threads; default one). The
 * Jacobian is dense, so Newton systems go to SPGMR with exact Jacobian-vector products (one more
 * pass) and a preconditioner that is exact for the stiff part: the two tridiagonal monomer-exchange
 * blocks, the closed-supply rank-one term (Sherman-Morrison) and the coagulation loss on the
 * diagonal.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvode/cvode.h>
#include <sunlinsol/sunlinsol_spgmr.h>

#include "npgrow/status.h"
#include "npgrow/wellmixed.h"

#include "meanfield/me_impl.h"

#define NB   16 /* row blocks of the pass (fixed, so sums do not depend on threads) */
#define MAXL 20 /* SPGMR Krylov dimension */

/* Index helpers over the state vector: A_n = y[n - 1], B_n = y[nm + n - 2]. */
#define IA(n)     ((size_t)(n)-1u)
#define IB(nm, n) ((size_t)(nm) + (size_t)(n)-2u)
#define IM(nm)    (2u * (size_t)(nm)-1u)
#define IO(nm)    (2u * (size_t)(nm))
#define IOM(nm)   (2u * (size_t)(nm) + 1u)

int npg_me_ext_wanted(const npg_config *cfg)
{
    return cfg->coal.mode != NPG_COAL_NONE || cfg->src.kind != NPG_SOURCE_NONE ||
           cfg->no_monomer_exchange;
}

void npg_me_ext_free(npg_me_ext *x)
{
    if (!x)
        return;
    free(x->kmat);
    free(x->rowoff);
    free(x->blk_lo);
    free(x->blk);
    free(x->bsum);
    free(x->c);
    free(x->vc);
    free(x->Lc);
    free(x->Lv);
    free(x->G);
    free(x->count_b);
    free(x->pl);
    free(x->ppiv);
    free(x->pup);
    free(x->pu);
    free(x->pz);
    free(x->pL);
    free(x->src_pmf);
    free(x);
}

/* ---- source ---------------------------------------------------------------------------------- */

/* Length of [t0, t1) inside [0, t]. */
static double src_overlap(const npg_me_ext *x, double t)
{
    double hi = t < x->src_t1 ? t : x->src_t1;
    double lo = x->src_t0 > 0.0 ? x->src_t0 : 0.0;
    return hi > lo ? hi - lo : 0.0;
}

double npg_me_ext_entered(const npg_me *me, double t)
{
    const npg_me_ext *x = me->x;
    return x && x->src ? x->src_rate * src_overlap(x, t) : 0.0;
}

double npg_me_ext_entered_monomers(const npg_me *me, double t)
{
    const npg_me_ext *x = me->x;
    return x && x->src ? x->src_rate * x->src_mean * src_overlap(x, t) : 0.0;
}

double npg_me_ext_next_break(const npg_me *me, double after)
{
    double b = INFINITY;
    const npg_config *c = me->cfg;
    if (me->mode == NPG_SUPPLY_SCHEDULE)
        for (size_t k = 0; k < c->schedule_len; ++k)
            if (c->schedule_t[k] > after) {
                b = c->schedule_t[k];
                break;
            }
    const npg_me_ext *x = me->x;
    if (x->src) {
        if (x->src_t0 > after && x->src_t0 < b)
            b = x->src_t0;
        if (x->src_t1 > after && x->src_t1 < b)
            b = x->src_t1;
    }
    return b;
}

/* ---- kernel matrix and the coagulation pass ------------------------------------------------ */

static void kmat_build(npg_me_ext *x, uint32_t nm, double f)
{
    const npg_coal_params *p = &x->p;
    double *K = x->kmat;
    const size_t *off = x->rowoff;
#pragma omp parallel for num_threads(x->threads) schedule(dynamic, 16) if (x->threads > 1)
    for (uint32_t i = 2; i <= nm; ++i) {
        double *row = K + off[i] - i;
        for (uint32_t j = i; j <= nm; ++j)
            row[j] = npg_coal_rate(p, i, j, f);
    }
    x->kmat_f = f;
    x->kmat_nm = nm;
}

/* Is npg_coal_rate(f) = f npg_coal_rate(1) over the sizes (diffusion-limited Brownian)? A
 * self-check of kmode 1 on a few pairs, so that a future kernel whose time factor enters
 * otherwise falls back to rebuilding (kmode 2) rather than going wrong. */
static int kernel_linear_in_f(const npg_coal_params *p, uint32_t nm)
{
    const uint32_t s[4] = {2, 3, nm / 2 > 2 ? nm / 2 : 2, nm};
    for (int a = 0; a < 4; ++a)
        for (int b = a; b < 4; ++b)
            for (int k = 0; k < 2; ++k) {
                double f = k ? 0.37 : 2.9;
                double k1 = npg_coal_rate(p, s[a], s[b], 1.0), kf = npg_coal_rate(p, s[a], s[b], f);
                if (!(fabs(kf - f * k1) <= 1e-13 * fabs(kf)))
                    return 0;
            }
    return 1;
}

/* The kernel matrix for time t, built or rebuilt as needed; returns the factor [1/nm^3] that
 * turns its sums into rates: f(t)/V (kmode 1) or 1/V. */
static double kernel_at(npg_me_ext *x, uint32_t nm, double t)
{
    const double f = npg_coal_time_factor(&x->p, t);
    if (x->kmode == 2) {
        if (x->kmat_nm != nm || f != x->kmat_f)
            kmat_build(x, nm, f);
        return 1.0 / x->V;
    }
    if (x->kmat_nm != nm)
        kmat_build(x, nm, 1.0);
    return x->kmode == 1 ? f / x->V : 1.0 / x->V;
}

/* Sums over unordered pairs i <= j of the kernel matrix, for vectors cx and cz (cz = NULL: cz =
 * cx) indexed by size:
 *   Lx[k] = sum_j K_kj cx_j, Lz[k] = sum_j K_kj cz_j (only when cz is given),
 *   G[k]  = sum_{i <= j, i + j = k} w_ij,  k <= nm,
 *   s[0]  = sum of all w_ij, s[1] = those with i + j > nm, s[2] = their sum of (i + j) w_ij,
 * with w_ij = K_ij (cx_i cz_j + cz_i cx_j) for i < j and K_ii cx_i cz_i. So with cz = cx the
 * gain is G / 2V, and the derivative of the gain along v is G(c, v) / V. */
static void coag_pass(npg_me_ext *x, uint32_t nm, const double *cx, const double *cz, double *Lx,
                      double *Lz, double *G, double s[3])
{
    const int same = cz == NULL;
    if (same)
        cz = cx;
    const size_t W = (size_t)nm + 1;
    /* Inner loops are `omp simd` reductions: their summation order is fixed by the build, not
     * by the number of threads. The block-private arrays do not overlap (no dependence). */
#pragma omp parallel for num_threads(x->threads) schedule(dynamic, 1) if (x->threads > 1)
    for (int b = 0; b < NB; ++b) {
        double *restrict Lxb = x->blk + (size_t)b * 3 * W, *restrict Lzb = Lxb + W,
                         *restrict Gb = Lzb + W;
        memset(Lxb, 0, 3 * W * sizeof *Lxb);
        double out = 0.0, mass = 0.0;
        for (uint32_t i = x->blk_lo[b]; i < x->blk_lo[b + 1]; ++i) {
            const double *restrict K = x->kmat + x->rowoff[i] - i; /* K[j] = K_ij, j >= i */
            const double xi = cx[i], zi = cz[i];
            double lx = K[i] * xi, lz = K[i] * zi, w = K[i] * xi * zi;
            if (2u * i <= nm) {
                Gb[2u * i] += w;
            } else {
                out += w;
                mass += 2.0 * i * w;
            }
            /* pairs (i, j > i): j <= jin merge into sizes <= nm, the rest overflow */
            const int64_t j0 = (int64_t)i + 1, jin = (int64_t)nm - i, jn = nm;
            const int64_t j1 = jin >= (int64_t)i ? jin : (int64_t)i;
            double *restrict Gi = Gb + i;
            if (same) {
#pragma omp simd reduction(+ : lx)
                for (int64_t j = j0; j <= j1; ++j) {
                    const double k = K[j], c = cx[j];
                    lx += k * c;
                    Lxb[j] += k * xi;
                    Gi[j] += 2.0 * k * xi * c;
                }
#pragma omp simd reduction(+ : lx, out, mass)
                for (int64_t j = j1 + 1; j <= jn; ++j) {
                    const double k = K[j], c = cx[j];
                    lx += k * c;
                    Lxb[j] += k * xi;
                    const double ww = 2.0 * k * xi * c;
                    out += ww;
                    mass += (double)(i + j) * ww;
                }
            } else {
#pragma omp simd reduction(+ : lx, lz)
                for (int64_t j = j0; j <= j1; ++j) {
                    const double k = K[j], c = cx[j], z = cz[j];
                    lx += k * c;
                    lz += k * z;
                    Lxb[j] += k * xi;
                    Lzb[j] += k * zi;
                    Gi[j] += k * (xi * z + zi * c);
                }
#pragma omp simd reduction(+ : lx, lz, out, mass)
                for (int64_t j = j1 + 1; j <= jn; ++j) {
                    const double k = K[j], c = cx[j], z = cz[j];
                    lx += k * c;
                    lz += k * z;
                    Lxb[j] += k * xi;
                    Lzb[j] += k * zi;
                    const double ww = k * (xi * z + zi * c);
                    out += ww;
                    mass += (double)(i + j) * ww;
                }
            }
            Lxb[i] += lx;
            Lzb[i] += lz;
        }
        x->bsum[2 * b] = out;
        x->bsum[2 * b + 1] = mass;
    }
    for (uint32_t k = 0; k <= nm; ++k) {
        double lx = 0.0, lz = 0.0, g = 0.0;
        for (int b = 0; b < NB; ++b) {
            const double *Lxb = x->blk + (size_t)b * 3 * W;
            lx += Lxb[k];
            lz += Lxb[W + k];
            g += Lxb[2 * W + k];
        }
        Lx[k] = lx;
        if (!same)
            Lz[k] = lz;
        G[k] = g;
    }
    /* all pairs: sum_{i <= j} w_ij = sum over ordered pairs of K_ij cx_i cz_j */
    const double *Lzz = same ? Lx : Lz;
    s[0] = s[1] = s[2] = 0.0;
    for (uint32_t i = 2; i <= nm; ++i)
        s[0] += cx[i] * Lzz[i];
    for (int b = 0; b < NB; ++b) {
        s[1] += x->bsum[2 * b];
        s[2] += x->bsum[2 * b + 1];
    }
}

/* ---- setup --------------------------------------------------------------------------------- */

int npg_me_ext_init(npg_me *me, char *err, size_t errlen)
{
    const npg_config *cfg = me->cfg;
    npg_me_ext *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    me->x = x;
    x->coal = cfg->coal.mode != NPG_COAL_NONE;
    x->exch = !cfg->no_monomer_exchange;
    x->kmat_f = NAN;
    x->threads = me->opt.threads > 1 ? me->opt.threads : 1;
    if (x->coal) {
        npg_coal_params_from_config(cfg, &x->p);
        x->V = npg_coal_volume(cfg);
        if (!(x->V > 0.0) || !isfinite(x->V)) {
            snprintf(err, errlen,
                     "%s: coalescence: the master equation needs a positive volume_nm3 or "
                     "particle_density_nm3 (V = %g nm^3)",
                     cfg->where.coalescence[0] ? cfg->where.coalescence : cfg->source, x->V);
            return NPG_EXIT_USAGE;
        }
        x->kmode = 0;
        if (x->p.kernel == NPG_KERNEL_BROWNIAN && x->p.tf_c != 0.0)
            x->kmode = x->p.k_a > 0.0 ? 2 : 1;
    }
    if (cfg->src.kind == NPG_SOURCE_FILE) {
        snprintf(err, errlen,
                 "%s: source.entries_file: the master equation takes a Poisson source only "
                 "(rate_per_time, t_start, t_stop, size); explicit entries need `npgrow run`",
                 cfg->where.source[0] ? cfg->where.source : cfg->source);
        return NPG_EXIT_USAGE;
    }
    if (cfg->src.kind == NPG_SOURCE_POISSON) {
        const npg_source_config *s = &cfg->src;
        if (!(s->rate_per_time >= 0.0) || !isfinite(s->rate_per_time) ||
            !(s->t_stop >= s->t_start)) {
            snprintf(err, errlen, "%s: source: rate_per_time %g on [%g, %g) is not a source",
                     cfg->where.source[0] ? cfg->where.source : cfg->source, s->rate_per_time,
                     s->t_start, s->t_stop);
            return NPG_EXIT_USAGE;
        }
        int rc = npg_me_source_pmf(cfg, &x->src_pmf, &x->src_len, err, errlen);
        if (rc)
            return rc;
        x->src = 1;
        x->src_rate = s->rate_per_time;
        x->src_t0 = s->t_start;
        x->src_t1 = s->t_stop;
        double m = 0.0;
        for (uint32_t n = 2; n < x->src_len; ++n)
            m += (double)n * x->src_pmf[n];
        x->src_mean = m;
    }
    return 0;
}

int npg_me_ext_size(npg_me *me, char *err, size_t errlen)
{
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const size_t W = (size_t)nm + 1, core = 2 * ((size_t)nm - 1);
#define RE(p, n)                                                                                   \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = calloc((n), sizeof *(p));                                                            \
        if (!(p))                                                                                  \
            goto oom;                                                                              \
    } while (0)
    RE(x->c, W);
    RE(x->vc, W);
    RE(x->Lc, W);
    RE(x->Lv, W);
    RE(x->G, W);
    RE(x->count_b, W);
    RE(x->pL, W);
    RE(x->pl, core);
    RE(x->ppiv, core);
    RE(x->pup, core);
    RE(x->pu, core);
    RE(x->pz, core);
    if (x->coal) {
        if (nm > npg_me_coal_cap(&me->opt)) {
            snprintf(err, errlen,
                     "master equation with coalescence: n_max = %u is above %u, the limit of its "
                     "dense Smoluchowski convolution; use `npgrow run` for these sizes",
                     nm, npg_me_coal_cap(&me->opt));
            return NPG_EXIT_USAGE;
        }
        RE(x->rowoff, W);
        RE(x->blk_lo, NB + 1);
        RE(x->blk, (size_t)NB * 3 * W);
        RE(x->bsum, (size_t)NB * 3);
        size_t off = 0;
        for (uint32_t i = 2; i <= nm; ++i) {
            x->rowoff[i] = off;
            off += nm - i + 1;
        }
        free(x->kmat);
        x->kmat = malloc((off ? off : 1) * sizeof *x->kmat);
        if (!x->kmat)
            goto oom;
        /* Row blocks of about equal pair counts (row i holds nm - i + 1 pairs). */
        x->blk_lo[0] = 2;
        size_t acc = 0;
        int b = 1;
        for (uint32_t i = 2; i <= nm && b < NB; ++i) {
            acc += nm - i + 1;
            while (b < NB && acc * NB >= off * (size_t)b)
                x->blk_lo[b++] = i + 1;
        }
        while (b <= NB)
            x->blk_lo[b++] = nm + 1;
        x->kmat_nm = 0; /* rebuilt at the next evaluation */
        x->kmat_f = NAN;
        if (x->kmode == 1 && !kernel_linear_in_f(&x->p, nm))
            x->kmode = 2;
    }
#undef RE
    me->neq = (sunindextype)(2 * (size_t)nm + 2);
    return 0;
oom:
    snprintf(err, errlen, "out of memory for n_max = %u (coalescence)", nm);
    return 1;
}

void npg_me_ext_remap(const double *yo, uint32_t nm_old, double *yn, uint32_t nm_new)
{
    memset(yn, 0, (2 * (size_t)nm_new + 2) * sizeof *yn);
    yn[0] = yo[0];
    for (uint32_t n = 2; n <= nm_old; ++n) {
        yn[IA(n)] = yo[IA(n)];
        yn[IB(nm_new, n)] = yo[IB(nm_old, n)];
    }
    yn[IM(nm_new)] = yo[IM(nm_old)];
    yn[IO(nm_new)] = yo[IO(nm_old)];
    yn[IOM(nm_new)] = yo[IOM(nm_old)];
}

/* ---- right-hand side ---------------------------------------------------------------------- */

/* Total monomers of a closed system at t: the initial total plus what the source brought. */
static double ext_total(const npg_me *me, double t)
{
    return me->total0 + npg_me_ext_entered_monomers(me, t);
}

static double ext_S(const npg_me *me, double t, const double *y)
{
    if (me->mode == NPG_SUPPLY_SCHEDULE)
        return npg_config_schedule_s(me->cfg, t);
    const uint32_t nm = me->n_max;
    double bound = 0.0;
    for (uint32_t n = 2; n <= nm; ++n)
        bound += (double)n * (y[IA(n)] + y[IB(nm, n)]);
    return (ext_total(me, t) - npg_me_precursor_at(me, t) - bound - y[IOM(nm)]) / me->vrho;
}

/* f = monomer exchange of the group N (N[n], n = 2..nm) added into dN. */
static void exchange(const npg_me *me, double S, const double *N, double *dN)
{
    const uint32_t nm = me->n_max;
    const double *a = me->a, *kd = me->kd;
    dN[2] += kd[3] * N[3] - (S * a[2] + kd[2]) * N[2];
    for (uint32_t n = 3; n < nm; ++n)
        dN[n] += S * a[n - 1] * N[n - 1] + kd[n + 1] * N[n + 1] - (S * a[n] + kd[n]) * N[n];
    if (nm > 2)
        dN[nm] += S * a[nm - 1] * N[nm - 1] - (S * a[nm] + kd[nm]) * N[nm];
}

int npg_me_ext_rhs(sunrealtype t, N_Vector yv, N_Vector fv, void *ud)
{
    if (npg_stop_requested())
        return -1;
    npg_me *me = ud;
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const double *y = N_VGetArrayPointer(yv);
    double *f = N_VGetArrayPointer(fv);
    const double *A = y - 1, *B = y + nm - 2; /* A[n] = y[n - 1], B[n] = y[nm + n - 2] */
    double *dA = f - 1, *dB = f + nm - 2;
    memset(f, 0, (size_t)me->neq * sizeof *f);
    if (x->exch) {
        const double S = ext_S(me, t, y);
        exchange(me, S, A, dA);
        exchange(me, S, B, dB);
        f[0] = me->kd[2] * (A[2] + B[2]);
    }
    if (x->coal) {
        const double sc = kernel_at(x, nm, t);
        double *c = x->c, s[3];
        c[0] = c[1] = 0.0;
        for (uint32_t n = 2; n <= nm; ++n)
            c[n] = A[n] + B[n];
        coag_pass(x, nm, c, NULL, x->Lc, NULL, x->G, s);
        for (uint32_t n = 2; n <= nm; ++n) {
            dA[n] -= sc * A[n] * x->Lc[n];
            dB[n] += 0.5 * sc * x->G[n] - sc * B[n] * x->Lc[n];
        }
        f[IM(nm)] = 0.5 * sc * s[0];
        f[IO(nm)] = 0.5 * sc * s[1];
        f[IOM(nm)] = 0.5 * sc * s[2];
    }
    if (x->src && x->src_active) {
        const uint32_t top = x->src_len - 1 < nm ? x->src_len - 1 : nm;
        for (uint32_t n = 2; n <= top; ++n)
            dA[n] += x->src_rate * x->src_pmf[n];
    }
    return 0;
}

/* ---- Newton systems: J v, and the preconditioner ------------------------------------------ */

static int ext_jtimes(N_Vector vv, N_Vector Jvv, sunrealtype t, N_Vector yv, N_Vector fy, void *ud,
                      N_Vector tmp)
{
    (void)fy, (void)tmp;
    npg_me *me = ud;
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const double *y = N_VGetArrayPointer(yv), *v = N_VGetArrayPointer(vv);
    double *Jv = N_VGetArrayPointer(Jvv);
    const double *A = y - 1, *B = y + nm - 2, *vA = v - 1, *vB = v + nm - 2;
    double *JA = Jv - 1, *JB = Jv + nm - 2;
    memset(Jv, 0, (size_t)me->neq * sizeof *Jv);
    if (x->exch) {
        const double S = ext_S(me, t, y);
        exchange(me, S, vA, JA);
        exchange(me, S, vB, JB);
        Jv[0] = me->kd[2] * (vA[2] + vB[2]);
        if (me->mode != NPG_SUPPLY_SCHEDULE) {
            /* S = (total - P - sum n (A_n + B_n) - O_m) / (V rho_1inf) */
            double dm = v[IOM(nm)];
            for (uint32_t n = 2; n <= nm; ++n)
                dm += (double)n * (vA[n] + vB[n]);
            const double dS = -dm / me->vrho, *a = me->a;
            for (uint32_t n = 2; n <= nm; ++n) {
                JA[n] += dS * ((n > 2 ? a[n - 1] * A[n - 1] : 0.0) - a[n] * A[n]);
                JB[n] += dS * ((n > 2 ? a[n - 1] * B[n - 1] : 0.0) - a[n] * B[n]);
            }
        }
    }
    if (x->coal) {
        const double sc = kernel_at(x, nm, t);
        double s[3];
        x->c[0] = x->c[1] = x->vc[0] = x->vc[1] = 0.0;
        for (uint32_t n = 2; n <= nm; ++n) {
            x->c[n] = A[n] + B[n];
            x->vc[n] = vA[n] + vB[n];
        }
        coag_pass(x, nm, x->c, x->vc, x->Lc, x->Lv, x->G, s);
        for (uint32_t n = 2; n <= nm; ++n) {
            JA[n] -= sc * (vA[n] * x->Lc[n] + A[n] * x->Lv[n]);
            JB[n] += sc * x->G[n] - sc * (vB[n] * x->Lc[n] + B[n] * x->Lv[n]);
        }
        Jv[IM(nm)] = sc * s[0];
        Jv[IO(nm)] = sc * s[1];
        Jv[IOM(nm)] = sc * s[2];
    }
    return 0;
}

/* Factor T = I - gamma (exchange + coagulation-loss diagonal) over the 2 (nm - 1) core unknowns
 * (A_2..A_nm, B_2..B_nm: two tridiagonal blocks, no coupling between them), and the rank-one
 * term of closed supply. Returns 0, or 1 (recoverable) on a zero pivot. */
static int precond_factor(npg_me *me, double gamma)
{
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const size_t m = nm - 1;
    const double *a = me->a, *kd = me->kd, S = x->pS;
    for (int blk = 0; blk < 2; ++blk) {
        const size_t o = blk ? m : 0;
        for (uint32_t n = 2; n <= nm; ++n) {
            const size_t p = o + n - 2;
            double diag = 1.0, lo = 0.0;
            if (x->exch) {
                diag += gamma * (S * a[n] + kd[n]);
                lo = n > 2 ? -gamma * S * a[n - 1] : 0.0;
                x->pup[p] = n < nm ? -gamma * kd[n + 1] : 0.0;
            } else {
                x->pup[p] = 0.0;
            }
            if (x->coal)
                diag += gamma * x->pL[n];
            if (p == o) {
                x->pl[p] = 0.0;
                x->ppiv[p] = diag;
            } else {
                x->pl[p] = lo / x->ppiv[p - 1];
                x->ppiv[p] = diag - x->pl[p] * x->pup[p - 1];
            }
            if (!(x->ppiv[p] != 0.0) || !isfinite(x->ppiv[p]))
                return 1;
        }
    }
    return 0;
}

static void precond_tri(const npg_me_ext *x, size_t m2, double *v)
{
    for (size_t p = 1; p < m2; ++p)
        v[p] -= x->pl[p] * v[p - 1];
    v[m2 - 1] /= x->ppiv[m2 - 1];
    for (size_t p = m2 - 1; p-- > 0;)
        v[p] = (v[p] - x->pup[p] * v[p + 1]) / x->ppiv[p];
}

static int ext_psetup(sunrealtype t, N_Vector yv, N_Vector fy, sunbooleantype jok,
                      sunbooleantype *jcur, sunrealtype gamma, void *ud)
{
    (void)fy;
    npg_me *me = ud;
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const size_t m2 = 2 * ((size_t)nm - 1);
    const double *y = N_VGetArrayPointer(yv);
    const double *A = y - 1, *B = y + nm - 2;
    if (!jok) {
        x->pS = x->exch ? ext_S(me, t, y) : 0.0;
        if (x->coal) {
            const double sc = kernel_at(x, nm, t);
            double s[3];
            x->c[0] = x->c[1] = 0.0;
            for (uint32_t n = 2; n <= nm; ++n)
                x->c[n] = A[n] + B[n];
            coag_pass(x, nm, x->c, NULL, x->Lc, NULL, x->G, s);
            for (uint32_t n = 0; n <= nm; ++n)
                x->pL[n] = sc * x->Lc[n];
        }
        x->prank1 = x->exch && me->mode != NPG_SUPPLY_SCHEDULE;
        if (x->prank1) {
            const double *a = me->a;
            for (uint32_t n = 2; n <= nm; ++n) {
                x->pu[n - 2] = (n > 2 ? a[n - 1] * A[n - 1] : 0.0) - a[n] * A[n];
                x->pu[nm - 1 + n - 2] = (n > 2 ? a[n - 1] * B[n - 1] : 0.0) - a[n] * B[n];
            }
        }
        *jcur = SUNTRUE;
    } else {
        *jcur = SUNFALSE;
    }
    if (precond_factor(me, gamma))
        return 1;
    if (x->prank1) {
        /* The Newton matrix's core is T - gamma u w^T, w_n = -n / (V rho_1inf) in both blocks:
         * z = T^{-1}(-gamma u), denom = 1 + w.z (Sherman-Morrison). */
        for (size_t p = 0; p < m2; ++p)
            x->pz[p] = -gamma * x->pu[p];
        precond_tri(x, m2, x->pz);
        double d = 1.0;
        for (uint32_t n = 2; n <= nm; ++n)
            d -= (double)n / me->vrho * (x->pz[n - 2] + x->pz[nm - 1 + n - 2]);
        if (!(fabs(d) > 1e-12) || !isfinite(d))
            return 1;
        x->pdenom = d;
    }
    return 0;
}

static int ext_psolve(sunrealtype t, N_Vector yv, N_Vector fy, N_Vector rv, N_Vector zv,
                      sunrealtype gamma, sunrealtype delta, int lr, void *ud)
{
    (void)t, (void)yv, (void)fy, (void)delta, (void)lr;
    npg_me *me = ud;
    npg_me_ext *x = me->x;
    const uint32_t nm = me->n_max;
    const size_t m2 = 2 * ((size_t)nm - 1);
    const double *r = N_VGetArrayPointer(rv);
    double *z = N_VGetArrayPointer(zv);
    double *core = z + 1; /* A_2..A_nm, B_2..B_nm are contiguous: y[1 .. 2 nm - 2] */
    z[IOM(nm)] = r[IOM(nm)];
    z[IO(nm)] = r[IO(nm)];
    memcpy(core, r + 1, m2 * sizeof *core);
    if (x->prank1) {
        /* the O_m column of the rank-one term, with z_Om known: onto the right-hand side */
        const double c = gamma * (-1.0 / me->vrho) * z[IOM(nm)];
        for (size_t p = 0; p < m2; ++p)
            core[p] += c * x->pu[p];
    }
    precond_tri(x, m2, core);
    if (x->prank1) {
        double d = 0.0;
        for (uint32_t n = 2; n <= nm; ++n)
            d -= (double)n / me->vrho * (core[n - 2] + core[nm - 1 + n - 2]);
        d /= x->pdenom;
        for (size_t p = 0; p < m2; ++p)
            core[p] -= d * x->pz[p];
    }
    const double *zA = z - 1, *zB = z + nm - 2;
    z[0] = r[0] + (x->exch ? gamma * me->kd[2] * (zA[2] + zB[2]) : 0.0);
    double dm = 0.0;
    if (x->coal)
        for (uint32_t n = 2; n <= nm; ++n)
            dm += x->pL[n] * (zA[n] + zB[n]);
    z[IM(nm)] = r[IM(nm)] + gamma * dm;
    return 0;
}

int npg_me_ext_cvode(npg_me *me, char *err, size_t errlen)
{
    me->ls = SUNLinSol_SPGMR(me->y, SUN_PREC_LEFT, MAXL, me->ctx);
    if (!me->ls) {
        snprintf(err, errlen, "out of memory for SPGMR (n_max = %u)", me->n_max);
        return 1;
    }
    int flag = CVodeSetLinearSolver(me->cv, me->ls, NULL);
    if (flag >= 0)
        flag = CVodeSetJacTimes(me->cv, NULL, ext_jtimes);
    if (flag >= 0)
        flag = CVodeSetPreconditioner(me->cv, ext_psetup, ext_psolve);
    if (flag < 0) {
        snprintf(err, errlen, "CVODE: linear solver setup failed: %s",
                 CVodeGetReturnFlagName(flag));
        return 1;
    }
    return 0;
}

/* ---- state for output ---------------------------------------------------------------------- */

void npg_me_ext_get(npg_me *me, npg_me_state *st)
{
    npg_me_ext *x = me->x;
    const double *y = N_VGetArrayPointer(me->y);
    const uint32_t nm = me->n_max;
    const double floor_ = 1e-20 * me->N0;
    double alive = 0.0, bound = 0.0, tail = 0.0;
    for (uint32_t n = 2; n <= nm; ++n) {
        const double c = y[IA(n)] + y[IB(nm, n)], b = y[IB(nm, n)];
        alive += c;
        bound += (double)n * c;
        if (n > nm - me->tail_w)
            tail += fabs(c);
        me->count[n] = c >= floor_ ? c : 0.0;
        /* Group B within [0, count]: A may carry the solver's rounding noise below zero */
        x->count_b[n] = b >= floor_ ? (b < me->count[n] ? b : me->count[n]) : 0.0;
    }
    const double t = me->t, M = y[IM(nm)], O = y[IO(nm)], Om = y[IOM(nm)];
    st->count_b = x->count_b;
    st->merges = M;
    st->overflow = O;
    st->entered = npg_me_ext_entered(me, t);
    st->S = ext_S(me, t, y);
    st->dissolved = y[0];
    if (me->mode != NPG_SUPPLY_SCHEDULE) {
        const double P = npg_me_precursor_at(me, t), total = ext_total(me, t);
        st->free_monomers = total - P - bound - Om;
        st->precursor = me->mode == NPG_SUPPLY_PRECURSOR ? P : NAN;
        st->total0 = me->total0;
        st->monomer_error = fabs(st->free_monomers + P + bound + Om - total) / total;
    } else {
        st->free_monomers = st->precursor = st->total0 = NAN;
        /* Without exchange nothing but merges (which keep them) and the source (counted)
         * changes the bound monomers: their drift is the solver's. */
        const double want = me->bound0 + npg_me_ext_entered_monomers(me, t);
        st->monomer_error = x->exch ? 0.0 : fabs(bound + Om - want) / want;
    }
    st->particle_error = fabs(alive + y[0] + M + O - me->N0 - st->entered) / me->N0;
    st->tail = (tail + fabs(O)) / me->N0;
    st->tail_grow = (tail + fabs(O - x->o_mark)) / me->N0;
}
