/* infer.c: S(t) from particle trajectories alone (`npgrow infer`; include/npgrow/infer.h).
 *
 * The identity. For a particle of size n, E[dn/dt] = S(t) A_n - k^d_n (model.md: association at
 * rate S A_n, dissociation at k^d_n). Averaged over particles and integrated over a frame
 * interval [t_j, t_j+1] it reads
 *     <n(t_j+1) - n(t_j)> = int_{t_j}^{t_j+1} (S <A_n> - <k^d_n>) dt,
 * and summed over the intervals up to frame J it is the integrated identity
 *     Y_J = c + int_{t0}^{t_J} (S <A_n> - <k^d_n>) dt,   Y_J = sum_{j<J} <dn>_j.
 *
 * Which particles. Each interval's averages run over the particles present at both of its frames
 * with n >= n_min (default 20) at both: the same particles on both sides of the identity, so a
 * particle entering or leaving the field of view does not move the mean, and the s = 2 spike of
 * k^d_n below n = 20 (model.md 1.3) never enters a rate average. (Cost: a particle that falls
 * below n_min within an interval is not counted there, a bias towards growth of the order of the
 * fraction that does so per frame; negligible once the particles are well above 20.)
 *
 * Discretization. Rates are known only at the frames, so each interval's integral is the
 * trapezoid  dt/2 (S(t_j) <A>_j^- + S(t_j+1) <A>_j+1^+)  (means over the interval's particles at
 * its two ends); error O(dt^2) in the rates' variation, which is slow at n >= 20.
 *
 * Smoother. S(t) is piecewise linear on knots t0, t0 + h, t0 + 2h, ..., t_last (the last gap is
 * merged into the one before when shorter than h/4). Fitting the cumulative Y_J, not the
 * increments, matters for TEM data: a whole frame that reads 15 % high (correlated frame noise)
 * shifts one Y_J and nothing else, where it would put a +/- pair into the increments. The
 * first frame's own offset is the free intercept c. h is the smoothing: a knot spacing of a few
 * frames averages the frame noise; `--knot-every` sets it (default 5 time units, the block length
 * the issue found well-behaved). S >= 0 is a constraint of the fit (not a clip afterwards):
 * Lawson-Hanson's active-set NNLS, whose unconstrained subproblems are solved by GSL's SVD least
 * squares (gsl_multifit_linear); GSL itself has no NNLS. The intercepts are never constrained.
 * A frame interval without any usable particle ends a segment: the next segment gets its own
 * intercept (its first frame's offset is unknown).
 *
 * Band. The particles are resampled with replacement (GSL mt19937, --seed), the whole fit is
 * redone, and the 16/84 and 2.5/97.5 % quantiles of each knot's S are the 68 and 95 % bands.
 * This is the sampling error over particles; noise shared by a whole frame is not resampled.
 * --block-bootstrap adds it: a moving-block bootstrap over frames of the residuals r_f of the
 * integrated identity (fit to all particles). Each resample draws blocks of L consecutive frames'
 * residuals (L = the cross-validation block B in frames; start anywhere, with replacement), lays
 * them end to end and adds them, scaled by sqrt(share), to the rows of its particle resample
 * before the fit. The residuals hold the frame noise and the particles' own noise, and the
 * particle resampling already carries the latter: share = 1 - V_part / V_all, V_all the mean
 * square residual and V_part the mean square change of the residuals over the particle resamples
 * (a first pass over the same resamples). Residual levels, not increments: a frame that reads
 * high shifts one row of the integrated identity; resampled increments would turn it into a
 * random walk and inflate the band over spacings of many frames.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <yaml.h>

#include "npgrow/infer.h"
#include "npgrow/model.h"
#include "data/traj.h"
#include "util/yaml_limits.h"

void npg_infer_options_default(npg_infer_options *o)
{
    o->knot_every = 0.0;
    o->block = NPG_INFER_BLOCK_DEFAULT;
    o->bootstrap = NPG_INFER_BOOTSTRAP_DEFAULT;
    o->seed = 1;
    o->n_min = NPG_INFER_N_MIN_DEFAULT;
    o->quiet = 0;
    o->block_bootstrap = 0;
}

void npg_infer_free(npg_infer_result *r)
{
    free(r->t);
    free(r->s);
    free(r->lo68);
    free(r->hi68);
    free(r->lo95);
    free(r->hi95);
    memset(r, 0, sizeof *r);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef npg_traj_row row;

static int row_cmp_id(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Split line at commas in place; up to max fields. Returns the count. */
static int split_csv(char *line, char **f, int max)
{
    int k = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (k < max) {
        f[k++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return k;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end != '\0' || errno == ERANGE || !isfinite(*v);
}

int npg_traj_read(const char *dir, row **rows_out, size_t *nrow, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/trajectories.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    char *fld[16];
    int ct = -1, ci = -1, cn = -1, nf = 0;
    if (getline(&line, &cap, f) < 0) {
        snprintf(err, errlen, "%s: empty (expected the header t,id,n,r_nm)", path);
        goto fail;
    }
    nf = split_csv(line, fld, 16);
    for (int k = 0; k < nf; ++k) {
        if (!strcmp(fld[k], "t"))
            ct = k;
        else if (!strcmp(fld[k], "id"))
            ci = k;
        else if (!strcmp(fld[k], "n"))
            cn = k;
    }
    if (ct < 0 || ci < 0 || cn < 0) {
        snprintf(err, errlen, "%s: header needs the columns t, id and n (t,id,n,r_nm)", path);
        goto fail;
    }
    size_t n = 0, ncap = 0, lineno = 1;
    row *rows = NULL;
    while (getline(&line, &cap, f) >= 0) {
        ++lineno;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        int k = split_csv(line, fld, 16);
        double t, nn, idd;
        if (k != nf || parse_num(fld[ct], &t) || parse_num(fld[cn], &nn) ||
            parse_num(fld[ci], &idd) || idd < 0.0 || idd != floor(idd) || idd > 9.0e15 ||
            nn < 0.0) {
            snprintf(err, errlen,
                     "%s:%zu: expected %d fields with numbers t, integer id >= 0, n >= 0", path,
                     lineno, nf);
            free(rows);
            goto fail;
        }
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 4096;
            row *r2 = realloc(rows, ncap * sizeof *rows);
            if (!r2) {
                snprintf(err, errlen, "%s: out of memory at line %zu", path, lineno);
                free(rows);
                goto fail;
            }
            rows = r2;
        }
        rows[n++] = (row){t, nn, (unsigned long long)idd, 0};
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        free(rows);
        goto fail;
    }
    free(line);
    fclose(f);
    *rows_out = rows;
    *nrow = n;
    return 0;
fail:
    free(line);
    fclose(f);
    return NPG_EXIT_USAGE;
}

/* run.yaml's time unit: the top-level `time_unit`, else config.system.time_unit. */
int npg_traj_time_unit(const char *dir, char *unit, size_t len, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s (a result directory holds run.yaml)", path,
                 strerror(errno));
        return NPG_EXIT_USAGE;
    }
    yaml_mark_t where;
    const char *what;
    if (npg_yaml_prescan(f, &where, &what)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, where.line + 1, where.column + 1, what);
        fclose(f);
        return NPG_EXIT_USAGE;
    }
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = NPG_EXIT_USAGE;
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "YAML error");
        yaml_parser_delete(&p);
        fclose(f);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    yaml_node_t *v = npg_yaml_map_get(&d, root, "time_unit");
    if (!v)
        v = npg_yaml_map_get(
            &d, npg_yaml_map_get(&d, npg_yaml_map_get(&d, root, "config"), "system"), "time_unit");
    if (!v || v->type != YAML_SCALAR_NODE)
        snprintf(err, errlen, "%s: no time_unit (top level, or config: system:)", path);
    else {
        snprintf(unit, len, "%s", (const char *)v->data.scalar.value);
        rc = 0;
    }
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

/* ---- the fit ------------------------------------------------------------------------------ */

/* One particle's increment over frame interval j. Rates [per time unit] at both ends. */
typedef struct pair {
    size_t j, p;
    double dn, a0, a1, k0, k1;
} pair;

typedef struct problem {
    size_t nf;        /* frames */
    const double *ft; /* [nf] frame times */
    size_t nk;        /* knots */
    const double *kt; /* [nk] knot times */
    size_t np;        /* pairs */
    const pair *pr;   /* [np] */
    double *acc;      /* [6 (nf-1)] per-interval weighted sums */
} problem;

/* Hat function k of the knots at t (t within [kt[0], kt[nk-1]]). */
static double hat(const double *kt, size_t nk, size_t k, double t)
{
    if (nk == 1)
        return 1.0;
    if (k > 0 && t >= kt[k - 1] && t <= kt[k])
        return (t - kt[k - 1]) / (kt[k] - kt[k - 1]);
    if (k + 1 < nk && t >= kt[k] && t <= kt[k + 1])
        return (kt[k + 1] - t) / (kt[k + 1] - kt[k]);
    return 0.0;
}

/* Least squares of y on the columns of Z listed in cols (m of them) into z (full length, others
 * untouched). */
static int ls_subset(const gsl_matrix *Z, const gsl_vector *y, const size_t *cols, size_t m,
                     gsl_vector *z)
{
    size_t rows = Z->size1;
    if (m == 0)
        return 0;
    gsl_matrix *A = gsl_matrix_alloc(rows, m);
    gsl_vector *c = gsl_vector_alloc(m);
    gsl_matrix *cov = gsl_matrix_alloc(m, m);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(rows, m);
    int rc = !A || !c || !cov || !w;
    if (!rc) {
        for (size_t i = 0; i < rows; ++i)
            for (size_t q = 0; q < m; ++q)
                gsl_matrix_set(A, i, q, gsl_matrix_get(Z, i, cols[q]));
        double chisq;
        rc = gsl_multifit_linear(A, y, c, cov, &chisq, w) != 0;
        for (size_t q = 0; q < m && !rc; ++q)
            gsl_vector_set(z, cols[q], gsl_vector_get(c, q));
    }
    if (w)
        gsl_multifit_linear_free(w);
    gsl_matrix_free(cov);
    gsl_vector_free(c);
    gsl_matrix_free(A);
    return rc;
}

/* Lawson-Hanson NNLS: min |y - Z x| with x_j >= 0 for j >= nfree (columns below nfree are free).
 * Columns enter the passive set when the gradient w = Z^T (y - Z x) points into them by more
 * than 1e-9 |Z_j| |r| (a cosine test, independent of scale); a step that would make a
 * constrained entry negative stops on the boundary and drops it. Returns 0, or 1 when GSL fails
 * or the iteration limit (10 x columns) is reached. */
static int nnls(const gsl_matrix *Z, const gsl_vector *y, size_t nfree, gsl_vector *x)
{
    size_t rows = Z->size1, nc = Z->size2;
    int rc = 0;
    size_t *cols = malloc(nc * sizeof *cols);
    char *inP = calloc(nc, 1);
    gsl_vector *z = gsl_vector_alloc(nc), *r = gsl_vector_alloc(rows), *w = gsl_vector_alloc(nc);
    double *cn = malloc(nc * sizeof *cn);
    if (!cols || !inP || !z || !r || !w || !cn) {
        rc = 1;
        goto done;
    }
    for (size_t j = 0; j < nc; ++j) {
        gsl_vector_const_view col = gsl_matrix_const_column(Z, j);
        cn[j] = gsl_blas_dnrm2(&col.vector);
    }
    gsl_vector_set_zero(x);
    size_t m = 0;
    for (size_t j = 0; j < nfree; ++j) {
        inP[j] = 1;
        cols[m++] = j;
    }
    if (ls_subset(Z, y, cols, m, x)) {
        rc = 1;
        goto done;
    }
    for (size_t outer = 0;; ++outer) {
        if (outer > 10 * nc + 10) {
            rc = 1;
            break;
        }
        gsl_vector_memcpy(r, y);
        gsl_blas_dgemv(CblasNoTrans, -1.0, Z, x, 1.0, r);
        gsl_blas_dgemv(CblasTrans, 1.0, Z, r, 0.0, w);
        double rn = gsl_blas_dnrm2(r);
        size_t best = nc;
        double bw = 0.0;
        for (size_t j = nfree; j < nc; ++j)
            if (!inP[j] && cn[j] > 0.0) {
                double c = gsl_vector_get(w, j) / cn[j];
                if (c > 1e-9 * rn && c > bw) {
                    bw = c;
                    best = j;
                }
            }
        if (best == nc)
            break;
        inP[best] = 1;
        for (size_t inner = 0;; ++inner) {
            m = 0;
            for (size_t j = 0; j < nc; ++j)
                if (inP[j])
                    cols[m++] = j;
            gsl_vector_set_zero(z);
            if (inner > nc + 2 || ls_subset(Z, y, cols, m, z)) {
                rc = 1;
                goto done;
            }
            double alpha = 2.0;
            for (size_t j = nfree; j < nc; ++j)
                if (inP[j] && gsl_vector_get(z, j) <= 0.0) {
                    double xj = gsl_vector_get(x, j), a = xj / (xj - gsl_vector_get(z, j));
                    if (a < alpha)
                        alpha = a;
                }
            if (alpha > 1.0) {
                gsl_vector_memcpy(x, z);
                break;
            }
            for (size_t j = 0; j < nc; ++j) {
                double xj = gsl_vector_get(x, j);
                gsl_vector_set(x, j, inP[j] ? xj + alpha * (gsl_vector_get(z, j) - xj) : 0.0);
            }
            for (size_t j = nfree; j < nc; ++j)
                if (inP[j] && gsl_vector_get(x, j) <= 1e-14 * (1.0 + fabs(gsl_vector_get(z, j)))) {
                    inP[j] = 0;
                    gsl_vector_set(x, j, 0.0);
                }
        }
    }
done:
    free(cn);
    if (w)
        gsl_vector_free(w);
    if (r)
        gsl_vector_free(r);
    if (z)
        gsl_vector_free(z);
    free(inP);
    free(cols);
    return rc;
}

/* Per-interval weighted sums over the pairs into pb->acc: weight, dn, A at both ends, k^d at both
 * ends. Particle weights wt (NULL: all 1; a bootstrap resample: multiplicities). */
static void sums(problem *pb, const double *wt)
{
    size_t ni = pb->nf - 1;
    double *acc = pb->acc;
    memset(acc, 0, 6 * ni * sizeof *acc);
    for (size_t q = 0; q < pb->np; ++q) {
        const pair *p = &pb->pr[q];
        double w = wt ? wt[p->p] : 1.0;
        if (w == 0.0)
            continue;
        double *a = acc + 6 * p->j;
        a[0] += w;
        a[1] += w * p->dn;
        a[2] += w * p->a0;
        a[3] += w * p->a1;
        a[4] += w * p->k0;
        a[5] += w * p->k1;
    }
}

/* Interval j's row of the increment form: observed d = <dn> + int <k^d> dt (trapezoid) and the
 * coefficients xk[k] of S at knot k in int S <A> dt (trapezoid), so that d ~ sum_k xk[k] s_k. */
static double interval_row(const problem *pb, size_t j, double *xk)
{
    const double *a = pb->acc + 6 * j;
    double t0 = pb->ft[j], t1 = pb->ft[j + 1], h = 0.5 * (t1 - t0);
    for (size_t k = 0; k < pb->nk; ++k)
        xk[k] = h * (hat(pb->kt, pb->nk, k, t0) * a[2] + hat(pb->kt, pb->nk, k, t1) * a[3]) / a[0];
    return a[1] / a[0] + h * (a[4] + a[5]) / a[0];
}

/* Fit the integrated identity to the sums in pb->acc, leaving out the intervals with drop[j]
 * (NULL: none). yadd[f] (NULL: none) is added to the row of frame f (a bootstrap's resampled
 * residuals); resid[f] (NULL: not wanted) receives the residual of frame f's row, NAN for a frame
 * without one. s_out[nk]; *rms when non-NULL. Returns 0, 1 when the fit fails, 2 when no
 * interval has a usable particle. */
static int fit(problem *pb, const char *drop, const double *yadd, double *s_out, double *rms,
               double *resid)
{
    size_t ni = pb->nf - 1, nk = pb->nk;
    const double *acc = pb->acc;
#define USE(j) (acc[6 * (j)] > 0.0 && !(drop && drop[j]))
    /* Segments: maximal runs of usable intervals; each adds its frames as rows and one
     * intercept column. */
    size_t nseg = 0, rows = 0;
    for (size_t j = 0; j < ni;) {
        if (!USE(j)) {
            ++j;
            continue;
        }
        size_t e = j;
        while (e < ni && USE(e))
            ++e;
        ++nseg;
        rows += e - j + 1;
        j = e;
    }
    if (!nseg)
        return 2;
    gsl_matrix *Z = gsl_matrix_calloc(rows, nseg + nk);
    gsl_vector *y = gsl_vector_calloc(rows), *x = gsl_vector_alloc(nseg + nk);
    double *xk = malloc(nk * sizeof *xk);
    size_t *rf = NULL; /* row -> frame */
    int rc = 1;
    if (!Z || !y || !x || !xk)
        goto done;
    size_t r = 0, seg = 0;
    if (!(rf = malloc(rows * sizeof *rf)))
        goto done;
    for (size_t j = 0; j < ni;) {
        if (!USE(j)) {
            ++j;
            continue;
        }
        /* first frame of the segment: Y = 0, Z = 0, intercept 1 */
        gsl_matrix_set(Z, r, seg, 1.0);
        rf[r] = j;
        ++r;
        for (; j < ni && USE(j); ++j, ++r) {
            double d = interval_row(pb, j, xk);
            gsl_vector_set(y, r, gsl_vector_get(y, r - 1) + d);
            gsl_matrix_set(Z, r, seg, 1.0);
            rf[r] = j + 1;
            for (size_t k = 0; k < nk; ++k)
                gsl_matrix_set(Z, r, nseg + k, gsl_matrix_get(Z, r - 1, nseg + k) + xk[k]);
        }
        ++seg;
    }
#undef USE
    if (yadd)
        for (size_t i = 0; i < rows; ++i)
            gsl_vector_set(y, i, gsl_vector_get(y, i) + yadd[rf[i]]);
    rc = nnls(Z, y, nseg, x);
    if (!rc) {
        for (size_t k = 0; k < nk; ++k)
            s_out[k] = gsl_vector_get(x, nseg + k);
        if (resid)
            for (size_t f = 0; f < pb->nf; ++f)
                resid[f] = NAN;
        double ss = 0.0;
        for (size_t i = 0; (rms || resid) && i < rows; ++i) {
            gsl_vector_const_view zr = gsl_matrix_const_row(Z, i);
            double pred;
            gsl_blas_ddot(&zr.vector, x, &pred);
            double e = gsl_vector_get(y, i) - pred;
            ss += e * e;
            if (resid)
                resid[rf[i]] = e;
        }
        if (rms)
            *rms = sqrt(ss / (double)rows);
    }
done:
    free(rf);
    free(xk);
    if (x)
        gsl_vector_free(x);
    if (y)
        gsl_vector_free(y);
    if (Z)
        gsl_matrix_free(Z);
    return rc;
}

/* The first knot that no usable interval touches (its S would be undetermined), or nk. */
static size_t unsupported_knot(const problem *pb)
{
    for (size_t k = 0; k < pb->nk; ++k) {
        int seen = 0;
        for (size_t j = 0; j + 1 < pb->nf && !seen; ++j)
            seen = pb->acc[6 * j] > 0.0 && (hat(pb->kt, pb->nk, k, pb->ft[j]) > 0.0 ||
                                            hat(pb->kt, pb->nk, k, pb->ft[j + 1]) > 0.0);
        if (!seen)
            return k;
    }
    return pb->nk;
}

/* Knots t0, t0 + h, ... over [t0, t1] into kt (room for floor((t1-t0)/h) + 2); the last gap is
 * merged into the one before when shorter than h/4. Returns the count. */
static size_t make_knots(double t0, double t1, double h, double *kt)
{
    size_t nk = (size_t)floor((t1 - t0) / h + 1e-9) + 1;
    for (size_t k = 0; k < nk; ++k)
        kt[k] = t0 + (double)k * h;
    if (t1 - kt[nk - 1] > 1e-9 * h) {
        if (nk >= 2 && t1 - kt[nk - 1] < 0.25 * h)
            kt[nk - 1] = t1;
        else
            kt[nk++] = t1;
    }
    return nk;
}

/* Cross-validation score of the knot spacing in pb (pb->kt, pb->nk set) over blocks of frames of
 * length B: each block's intervals left out in turn (the fit then has a gap, bridged by the
 * knots, with a new intercept after it), the block's total increment predicted from the fit and
 * compared with the observed one. Block totals, not single intervals: noise shared by a whole
 * frame cancels inside a block (its telescoping sum keeps only the two end frames), so the score
 * measures the error in S, not the frame noise that leave-one-frame-out would chase.
 * Returns the mean squared error [monomers^2] over the inner blocks, or NAN when no block could be
 * scored. */
static double cv_score(problem *pb, double B, char *drop, double *s)
{
    size_t ni = pb->nf - 1;
    double t0 = pb->ft[0], ss = 0.0;
    size_t nb = 0, nblk = (size_t)floor((pb->ft[ni] - t0) / B - 1e-9) + 1;
    double *xk = malloc(pb->nk * sizeof *xk);
    if (!xk)
        return NAN;
    /* the first and last blocks are not scored: leaving one out leaves an end knot (at h <= B)
     * without data, an extrapolation rather than a test; the same blocks for every candidate */
    for (size_t b = 1; b + 1 < nblk; ++b) {
        double lo = t0 + (double)b * B, hi = lo + B;
        size_t cnt = 0;
        for (size_t j = 0; j < ni; ++j) {
            double tm = 0.5 * (pb->ft[j] + pb->ft[j + 1]);
            drop[j] = tm >= lo && tm < hi;
            cnt += drop[j] && pb->acc[6 * j] > 0.0;
        }
        if (!cnt || fit(pb, drop, NULL, s, NULL, NULL))
            continue;
        double obs = 0.0, pred = 0.0;
        for (size_t j = 0; j < ni; ++j)
            if (drop[j] && pb->acc[6 * j] > 0.0) {
                obs += interval_row(pb, j, xk);
                for (size_t k = 0; k < pb->nk; ++k)
                    pred += xk[k] * s[k];
            }
        ss += (obs - pred) * (obs - pred);
        ++nb;
    }
    free(xk);
    return nb ? ss / (double)nb : NAN;
}

/* Moving-block bootstrap of the frame residuals (block_bootstrap): the relative residuals
 * r_f / level_f of the integrated identity (level_f: the mean size at frame f, so that a frame
 * noise that scales every size by one factor is a stationary series) at the frames that have a
 * row (in time order, gaps closed) are cut into blocks of L consecutive frames starting anywhere
 * (moving blocks), drawn with replacement and laid end to end; yadd[f] = scale x level_f x the
 * drawn relative residual (0 at frames without a row). */
static void block_residuals(size_t nf, const double *resid, const double *level, size_t L,
                            double scale, gsl_rng *rng, double *yadd)
{
    size_t nr = 0;
    for (size_t f = 0; f < nf; ++f)
        nr += isfinite(resid[f]);
    if (L > nr)
        L = nr;
    size_t start = 0, off = L; /* block being copied: resid rows start .. start + L - 1 */
    size_t src = 0;            /* its frame index of row `start + off` */
    for (size_t f = 0; f < nf; ++f) {
        yadd[f] = 0.0;
        if (!isfinite(resid[f]))
            continue;
        if (off == L) { /* a new block: row start, found by walking the frames */
            start = gsl_rng_uniform_int(rng, (unsigned long)(nr - L + 1));
            off = 0;
            src = 0;
            for (size_t row = 0;; ++src)
                if (isfinite(resid[src]) && row++ == start)
                    break;
        }
        while (!isfinite(resid[src]))
            ++src;
        yadd[f] = scale * level[f] * resid[src] / level[src];
        ++src;
        ++off;
    }
}

/* The share of the residual variance of the integrated identity that the particles do not
 * explain: V_part, the mean square change of the frame residuals over particle resamples (what
 * resampling particles already moves), against V_all, the mean square residual of the fit to
 * all particles; frame_share = max(0, 1 - V_part / V_all) (the whole-frame noise, which every
 * particle of a frame shares). The block resamples add the residuals scaled by
 * sqrt(frame_share), so that the particle noise in them is not counted twice. Sets
 * res->frame_share and res->block_frames (L: frames in a cross-validation block, >= 1). Uses the
 * particle resamples of the bootstrap itself (rng from the seed). */
static int frame_share(problem *pb, size_t npart, const npg_infer_options *opt, const double *resid,
                       gsl_rng *rng, double *wt, double *sbuf, npg_infer_result *res, char *err,
                       size_t errlen)
{
    const size_t nf = pb->nf;
    double *rb = malloc(nf * sizeof *rb);
    if (!rb) {
        snprintf(err, errlen, "out of memory");
        return NPG_EXIT_FAIL;
    }
    double v_all = 0.0, v_part = 0.0;
    size_t n_all = 0, n_part = 0;
    for (size_t f = 0; f < nf; ++f)
        if (isfinite(resid[f])) {
            v_all += resid[f] * resid[f];
            ++n_all;
        }
    for (uint32_t b = 0; b < opt->bootstrap; ++b) {
        if (npg_stop_requested()) {
            free(rb);
            snprintf(err, errlen, "interrupted during the bootstrap");
            return npg_stop_exit_code();
        }
        memset(wt, 0, npart * sizeof *wt);
        for (size_t i = 0; i < npart; ++i)
            wt[gsl_rng_uniform_int(rng, npart)] += 1.0;
        sums(pb, wt);
        if (fit(pb, NULL, NULL, sbuf, NULL, rb))
            continue;
        for (size_t f = 0; f < nf; ++f)
            if (isfinite(rb[f]) && isfinite(resid[f])) {
                v_part += (rb[f] - resid[f]) * (rb[f] - resid[f]);
                ++n_part;
            }
    }
    free(rb);
    sums(pb, NULL);
    v_all = n_all ? v_all / (double)n_all : 0.0;
    v_part = n_part ? v_part / (double)n_part : 0.0;
    res->frame_share = v_all > 0.0 ? fmax(0.0, 1.0 - v_part / v_all) : 0.0;
    const double dt = (pb->ft[nf - 1] - pb->ft[0]) / (double)(nf - 1);
    const double blk = opt->block > 0.0 ? opt->block : NPG_INFER_BLOCK_DEFAULT;
    res->block_frames = (size_t)fmax(1.0, floor(blk / dt + 0.5));
    return 0;
}

int npg_infer_run(const char *data_dir, const npg_config *cfg, const npg_infer_options *opt,
                  npg_infer_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (!(opt->knot_every >= 0.0) || !isfinite(opt->knot_every) || !(opt->block > 0.0) ||
        !isfinite(opt->block)) {
        snprintf(err, errlen,
                 "knot spacing %g, block %g: must be positive numbers (spacing 0: "
                 "cross-validated)",
                 opt->knot_every, opt->block);
        return NPG_EXIT_USAGE;
    }
    const char *cunit = cfg->time_unit[0] ? cfg->time_unit : "s";
    int rc = npg_traj_time_unit(data_dir, res->time_unit, sizeof res->time_unit, err, errlen);
    if (rc)
        return rc;
    if (strcmp(res->time_unit, cunit)) {
        snprintf(err, errlen,
                 "%s/run.yaml: time_unit %s, but the config %s has time_unit %s: its rates "
                 "would be read in the wrong unit",
                 data_dir, res->time_unit, cfg->source, cunit);
        return NPG_EXIT_USAGE;
    }
    row *rows = NULL;
    size_t nrow = 0;
    if ((rc = npg_traj_read(data_dir, &rows, &nrow, err, errlen)))
        return rc;

    double *ft = NULL, *kt = NULL, *acc = NULL, *wt = NULL, *boot = NULL, *col = NULL;
    double *resid = NULL, *yadd = NULL; /* [nf] frame residuals, block resample's additions */
    double *level = NULL;               /* [nf] mean size at each frame (block_bootstrap) */
    char *drop = NULL;
    pair *pr = NULL;
    gsl_rng *rng = NULL;
    rc = NPG_EXIT_USAGE;
    /* frames: the distinct times */
    ft = malloc((nrow ? nrow : 1) * sizeof *ft);
    if (!ft) {
        snprintf(err, errlen, "out of memory (%zu rows)", nrow);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < nrow; ++i)
        ft[i] = rows[i].t;
    qsort(ft, nrow, sizeof *ft, dbl_cmp);
    size_t nf = 0;
    for (size_t i = 0; i < nrow; ++i)
        if (!nf || ft[i] != ft[nf - 1])
            ft[nf++] = ft[i];
    res->frames = nf;
    if (nf >= 1 && ft[0] < 0.0) {
        snprintf(err, errlen, "%s/trajectories.csv: t = %g: times must be >= 0 (a run starts at 0)",
                 data_dir, ft[0]);
        goto done;
    }
    if (nf < 2) {
        snprintf(err, errlen, "%s/trajectories.csv: %zu distinct times: need at least two frames",
                 data_dir, nf);
        goto done;
    }
    for (size_t i = 0; i < nrow; ++i) {
        double *hit = bsearch(&rows[i].t, ft, nf, sizeof *ft, dbl_cmp);
        rows[i].frame = (size_t)(hit - ft);
    }
    qsort(rows, nrow, sizeof *rows, row_cmp_id);
    /* pairs */
    pr = malloc((nrow ? nrow : 1) * sizeof *pr);
    if (!pr) {
        snprintf(err, errlen, "out of memory (%zu rows)", nrow);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    size_t np = 0, npart = 0;
    const npg_model *m = &cfg->model;
    for (size_t i = 0; i < nrow; ++i) {
        if (i == 0 || rows[i].id != rows[i - 1].id) {
            ++npart;
            continue;
        }
        const row *a = &rows[i - 1], *b = &rows[i];
        if (a->frame == b->frame) {
            snprintf(err, errlen, "%s/trajectories.csv: id %llu appears twice at t = %g", data_dir,
                     b->id, b->t);
            goto done;
        }
        if (b->frame != a->frame + 1 || a->n < opt->n_min || b->n < opt->n_min)
            continue;
        pr[np++] = (pair){a->frame,
                          npart - 1,
                          b->n - a->n,
                          npg_model_assoc(m, a->n),
                          npg_model_assoc(m, b->n),
                          npg_model_dissoc(m, a->n),
                          npg_model_dissoc(m, b->n)};
    }
    res->particles = npart;
    res->pairs = np;
    if (!np) {
        snprintf(err, errlen,
                 "%s/trajectories.csv: no particle is present at two consecutive frames with "
                 "n >= %g: nothing to infer from",
                 data_dir, opt->n_min);
        goto done;
    }
    /* knots: the given spacing, or the candidate with the least block cross-validation error */
    double t0 = ft[0], t1 = ft[nf - 1], span = t1 - t0;
    double B = opt->block > 0.0 ? opt->block : NPG_INFER_BLOCK_DEFAULT;
    acc = malloc(6 * (nf - 1) * sizeof *acc);
    drop = malloc(nf - 1);
    resid = malloc(nf * sizeof *resid);
    yadd = malloc(nf * sizeof *yadd);
    level = calloc(2 * nf, sizeof *level);
    if (!acc || !drop || !resid || !yadd || !level) {
        snprintf(err, errlen, "out of memory (%zu frames)", nf);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < nrow; ++i) {
        level[rows[i].frame] += rows[i].n;
        level[nf + rows[i].frame] += 1.0;
    }
    for (size_t f = 0; f < nf; ++f)
        level[f] = level[nf + f] > 0.0 && level[f] > 0.0 ? level[f] / level[nf + f] : 1.0;
    problem pb = {nf, ft, 0, NULL, np, pr, acc};
    sums(&pb, NULL);
    static const double mult[NPG_INFER_CV_MAX] = {1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0};
    double h = opt->knot_every;
    res->cv_n = 0;
    if (!(h > 0.0)) {
        size_t nblk = (size_t)floor(span / B - 1e-9) + 1;
        if (nblk < 4) {
            h = fmin(B, span);
            if (!opt->quiet)
                fprintf(stderr,
                        "npgrow infer: %zu block(s) of %g %s: too few to cross-validate; knots "
                        "every %g %s\n",
                        nblk, B, res->time_unit, h, res->time_unit);
        } else {
            double best = INFINITY;
            for (size_t c = 0; c < NPG_INFER_CV_MAX && mult[c] * B <= span; ++c) {
                double hc = mult[c] * B;
                free(kt);
                kt = malloc(((size_t)floor(span / hc + 1e-9) + 2) * sizeof *kt);
                double *sc = malloc(((size_t)floor(span / hc + 1e-9) + 2) * sizeof *sc);
                if (!kt || !sc) {
                    free(sc);
                    snprintf(err, errlen, "out of memory");
                    rc = NPG_EXIT_FAIL;
                    goto done;
                }
                pb.nk = make_knots(t0, t1, hc, kt);
                pb.kt = kt;
                double score = cv_score(&pb, B, drop, sc);
                free(sc);
                res->cv_h[res->cv_n] = hc;
                res->cv_score[res->cv_n++] = score;
                if (score < best) {
                    best = score;
                    h = hc;
                }
                if (npg_stop_requested()) {
                    snprintf(err, errlen, "interrupted during the cross-validation");
                    rc = npg_stop_exit_code();
                    goto done;
                }
            }
            if (!(h > 0.0)) {
                snprintf(err, errlen, "cross-validation over blocks of %g %s scored no spacing", B,
                         res->time_unit);
                rc = NPG_EXIT_FAIL;
                goto done;
            }
        }
    }
    res->knot_every = h;
    if ((t1 - t0) / h > NPG_INFER_MAX_KNOTS) {
        snprintf(err, errlen, "knot spacing %g over [%g, %g]: more than %d knots", h, t0, t1,
                 NPG_INFER_MAX_KNOTS);
        goto done;
    }
    free(kt);
    kt = malloc(((size_t)floor(span / h + 1e-9) + 2) * sizeof *kt);
    if (!kt) {
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    size_t nk = make_knots(t0, t1, h, kt);
    pb.nk = nk;
    pb.kt = kt;
    res->nk = nk;
    res->t = malloc(nk * sizeof *res->t);
    res->s = malloc(nk * sizeof *res->s);
    res->lo68 = malloc(nk * sizeof *res->lo68);
    res->hi68 = malloc(nk * sizeof *res->hi68);
    res->lo95 = malloc(nk * sizeof *res->lo95);
    res->hi95 = malloc(nk * sizeof *res->hi95);
    if (!res->t || !res->s || !res->lo68 || !res->hi68 || !res->lo95 || !res->hi95) {
        snprintf(err, errlen, "out of memory (%zu knots)", nk);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    memcpy(res->t, kt, nk * sizeof *kt);
    size_t bare = unsupported_knot(&pb);
    if (bare < nk) {
        snprintf(err, errlen,
                 "knot at t = %g %s has no particle increment within %g %s of it (frames too "
                 "sparse, or a gap in the data): choose a larger --knot-every",
                 kt[bare], res->time_unit, h, res->time_unit);
        goto done;
    }
    int fr = fit(&pb, NULL, NULL, res->s, &res->rms, resid);
    if (fr) {
        snprintf(err, errlen, "the constrained least-squares fit failed (%zu knots, %zu frames)",
                 nk, nf);
        rc = NPG_EXIT_FAIL;
        goto done;
    }
    for (size_t k = 0; k < nk; ++k)
        res->lo68[k] = res->hi68[k] = res->lo95[k] = res->hi95[k] = NAN;

    /* bootstrap over particles; with block_bootstrap also moving blocks of frames */
    if (opt->bootstrap) {
        wt = malloc(npart * sizeof *wt);
        boot = malloc((size_t)opt->bootstrap * nk * sizeof *boot);
        col = malloc((size_t)opt->bootstrap * sizeof *col);
        rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!wt || !boot || !col || !rng) {
            snprintf(err, errlen, "out of memory (%u resamples)", (unsigned)opt->bootstrap);
            rc = NPG_EXIT_FAIL;
            goto done;
        }
        gsl_rng_set(rng, opt->seed);
        if (opt->block_bootstrap &&
            (rc = frame_share(&pb, npart, opt, resid, rng, wt, boot, res, err, errlen)))
            goto done;
        gsl_rng_set(rng, opt->seed); /* the same particle resamples as without blocks */
        size_t nb = 0;
        const int tty = isatty(2);
        for (uint32_t b = 0; b < opt->bootstrap; ++b) {
            if (npg_stop_requested()) {
                snprintf(err, errlen, "interrupted during the bootstrap (%zu of %u resamples)", nb,
                         (unsigned)opt->bootstrap);
                rc = npg_stop_exit_code();
                goto done;
            }
            memset(wt, 0, npart * sizeof *wt);
            for (size_t i = 0; i < npart; ++i)
                wt[gsl_rng_uniform_int(rng, npart)] += 1.0;
            /* a resample without any usable interval (tiny data) is skipped */
            sums(&pb, wt);
            if (opt->block_bootstrap)
                block_residuals(nf, resid, level, res->block_frames, sqrt(res->frame_share), rng,
                                yadd);
            if (fit(&pb, NULL, opt->block_bootstrap ? yadd : NULL, boot + nb * nk, NULL, NULL) == 0)
                ++nb;
            /* a live line on a terminal; in a log, one line at the end */
            if (!opt->quiet && tty && (b + 1) % 50 == 0)
                fprintf(stderr, "\rnpgrow infer: bootstrap %u/%u", b + 1, (unsigned)opt->bootstrap);
        }
        if (!opt->quiet && opt->bootstrap >= 50)
            fprintf(stderr, "%snpgrow infer: bootstrap %u/%u\n", tty ? "\r" : "",
                    (unsigned)opt->bootstrap, (unsigned)opt->bootstrap);
        res->boot_done = (uint32_t)nb;
        for (size_t k = 0; k < nk && nb >= 2; ++k) {
            for (size_t i = 0; i < nb; ++i)
                col[i] = boot[i * nk + k];
            gsl_sort(col, 1, nb);
            res->lo68[k] = gsl_stats_quantile_from_sorted_data(col, 1, nb, 0.15865525393145707);
            res->hi68[k] = gsl_stats_quantile_from_sorted_data(col, 1, nb, 0.8413447460685429);
            res->lo95[k] = gsl_stats_quantile_from_sorted_data(col, 1, nb, 0.025);
            res->hi95[k] = gsl_stats_quantile_from_sorted_data(col, 1, nb, 0.975);
        }
    }
    rc = 0;
done:
    if (rng)
        gsl_rng_free(rng);
    free(col);
    free(boot);
    free(wt);
    free(drop);
    free(acc);
    free(resid);
    free(yadd);
    free(level);
    free(kt);
    free(pr);
    free(ft);
    free(rows);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

static int refuse_existing(const char *path, int force, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a regular file", path);
        return NPG_EXIT_USAGE;
    }
    if (!force) {
        snprintf(err, errlen, "%s: exists (use --force to replace it)", path);
        return NPG_EXIT_USAGE;
    }
    return 0;
}

static FILE *open_tmp(const char *path, char *tmp, size_t len, char *err, size_t errlen)
{
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    return f;
}

static int close_rename(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        remove(tmp);
        return NPG_EXIT_FAIL;
    }
    return 0;
}

static void put_g(FILE *f, double v)
{
    if (isnan(v))
        fputs("nan", f);
    else
        fprintf(f, "%.6g", v);
}

int npg_infer_write(const char *yaml_path, int force, const npg_config *cfg,
                    const npg_infer_result *res, char *csv_path, size_t csv_len, char *err,
                    size_t errlen)
{
    char csv[1200], tmp[1300];
    size_t L = strlen(yaml_path);
    if (!L) {
        snprintf(err, errlen, "-o: empty path");
        return NPG_EXIT_USAGE;
    }
    if (L > 5 && !strcmp(yaml_path + L - 5, ".yaml"))
        snprintf(csv, sizeof csv, "%.*s.csv", (int)(L - 5), yaml_path);
    else if (L > 4 && !strcmp(yaml_path + L - 4, ".yml"))
        snprintf(csv, sizeof csv, "%.*s.csv", (int)(L - 4), yaml_path);
    else
        snprintf(csv, sizeof csv, "%s.csv", yaml_path);
    if (csv_path)
        snprintf(csv_path, csv_len, "%s", csv);
    int rc;
    if ((rc = refuse_existing(yaml_path, force, err, errlen)) ||
        (rc = refuse_existing(csv, force, err, errlen)))
        return rc;

    /* the config with the inferred schedule: arrays borrowed from res, never freed through c */
    npg_config c = *cfg;
    c.supply = NPG_SUPPLY_SCHEDULE;
    c.schedule_len = res->nk;
    c.schedule_t = res->t;
    c.schedule_s = res->s;
    c.t_end = res->t[res->nk - 1];
    if (c.output_every > c.t_end)
        c.output_every = c.t_end;

    FILE *f = open_tmp(yaml_path, tmp, sizeof tmp, err, errlen);
    if (!f)
        return NPG_EXIT_USAGE;
    fprintf(f,
            "# npgrow infer: S(t) inferred from particle trajectories (%zu particles, %zu frames,\n"
            "# %zu increments, n >= n_min) with the model of the config below; fit of the\n"
            "# integrated identity <n>(t) = <n>(t0) + int (S <A_n> - <k^d_n>) dt with S >= 0,\n"
            "# rms residual %.4g monomers; knots every %g %s. Band (%u bootstrap resamples over\n"
            "# particles) in ",
            res->particles, res->frames, res->pairs, res->rms, res->knot_every, res->time_unit,
            (unsigned)res->boot_done);
    if (res->block_frames)
        fprintf(f,
                "(with moving blocks of %zu frames of the frame residuals, scaled by\n"
                "# sqrt(%.4g), the share of their variance the particles do not explain) ",
                res->block_frames, res->frame_share);
    npg_yaml_write_string(f, csv);
    fputs("\n# run.t_end is the last frame.\n", f);
    npg_config_write_yaml(f, &c, 0);
    if ((rc = close_rename(f, tmp, yaml_path, err, errlen)))
        return rc;

    f = open_tmp(csv, tmp, sizeof tmp, err, errlen);
    if (!f)
        return NPG_EXIT_USAGE;
    fputs("t,S,S_lo68,S_hi68,S_lo95,S_hi95\n", f);
    for (size_t k = 0; k < res->nk; ++k) {
        fprintf(f, "%.10g,", res->t[k]);
        put_g(f, res->s[k]);
        const double *b[4] = {res->lo68, res->hi68, res->lo95, res->hi95};
        for (int q = 0; q < 4; ++q) {
            fputc(',', f);
            put_g(f, b[q][k]);
        }
        fputc('\n', f);
    }
    return close_rename(f, tmp, csv, err, errlen);
}
