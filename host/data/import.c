/* import.c: experimental data files (model.md 4.1-4.3) into an npg_data_set, its per-time
 * statistics, bootstrap bands and the run-format CSV files.
 *
 * The CSV cells are split here (comma-separated, double quotes around a cell that holds a comma,
 * as the PtCOD label "46,54frame"); numbers go through strtod. It does not smooth, fit or
 * interpolate (model.md 4.4 is a fitting pipeline, not an import).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "npgrow/data.h"
#include "npgrow/observe.h"
#include "npgrow/status.h"

#define NPG_DATA_PI 3.14159265358979323846

/* ---- CSV table ------------------------------------------------------------------------------ */

typedef struct table {
    size_t nr, nc; /* rows, columns (the widest row) */
    char **cell;   /* [nr * nc] NUL-terminated, "" when absent */
    char *store;   /* the file's bytes, cells point into it */
} table;

static void table_free(table *t)
{
    free(t->cell);
    free(t->store);
    memset(t, 0, sizeof *t);
}

/* Split the whole file into cells; quotes are removed from a quoted cell. */
static int table_read(const char *path, table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rd_err = ferror(f);
    fclose(f);
    if (!buf || rd_err) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        return buf ? NPG_EXIT_USAGE : NPG_EXIT_FAIL;
    }
    buf[len] = 0;
    /* pass 1: rows and widest row; pass 2: cells */
    size_t nr = 0, nc = 0, c = 1;
    int q = 0;
    for (size_t i = 0; i < len; ++i) {
        char ch = buf[i];
        if (ch == '"')
            q = !q;
        else if (!q && ch == ',')
            ++c;
        else if (!q && ch == '\n') {
            nc = c > nc ? c : nc;
            ++nr;
            c = 1;
        }
    }
    if (len && buf[len - 1] != '\n') {
        nc = c > nc ? c : nc;
        ++nr;
    }
    if (!nr) {
        free(buf);
        snprintf(err, errlen, "%s: empty file", path);
        return NPG_EXIT_USAGE;
    }
    t->cell = calloc(nr * nc, sizeof *t->cell);
    if (!t->cell) {
        free(buf);
        snprintf(err, errlen, "%s: out of memory", path);
        return NPG_EXIT_FAIL;
    }
    t->nr = nr;
    t->nc = nc;
    t->store = buf;
    static char empty[1] = "";
    for (size_t i = 0; i < nr * nc; ++i)
        t->cell[i] = empty;
    size_t r = 0, col = 0;
    char *p = buf, *w = buf; /* read and write positions (quotes are dropped in place) */
    char *start = w;
    q = 0;
    for (;; ++p) {
        char ch = *p;
        if (ch == '"') {
            q = !q;
            continue;
        }
        int end_cell = !ch || (!q && (ch == ',' || ch == '\n'));
        if (!end_cell) {
            if (ch != '\r')
                *w++ = ch;
            continue;
        }
        *w++ = 0;
        if (r < nr)
            t->cell[r * nc + col] = start;
        start = w;
        if (!ch)
            break;
        if (ch == ',') {
            ++col;
        } else {
            ++r;
            col = 0;
        }
    }
    return 0;
}

static const char *cell(const table *t, size_t r, size_t c)
{
    return t->cell[r * t->nc + c];
}

/* 0: empty (spaces only); 1: a number in *v; -1: text. */
static int cell_num(const char *s, double *v)
{
    while (*s == ' ' || *s == '\t')
        ++s;
    if (!*s)
        return 0;
    char *end;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        ++end;
    return *end || end == s || !isfinite(*v) ? -1 : 1;
}

/* ---- data set ---------------------------------------------------------------------------------
 */

void npg_data_free(npg_data_set *d)
{
    free(d->t);
    free(d->n);
    free(d->r);
    free(d->group);
    free(d->file);
    free(d->events);
    memset(d, 0, sizeof *d);
}

static int data_alloc(npg_data_set *d, size_t nt, size_t np)
{
    d->nt = nt;
    d->np = np;
    d->t = calloc(nt ? nt : 1, sizeof *d->t);
    d->n = malloc((np * nt > 0 ? np * nt : 1) * sizeof *d->n);
    d->r = malloc((np * nt > 0 ? np * nt : 1) * sizeof *d->r);
    d->group = malloc((np ? np : 1) * sizeof *d->group);
    d->file = malloc((np ? np : 1) * sizeof *d->file);
    if (!d->t || !d->n || !d->r || !d->group || !d->file)
        return 1;
    for (size_t i = 0; i < np * nt; ++i)
        d->n[i] = d->r[i] = NAN;
    return 0;
}

/* One parsed triplet: area and x per row of its file. */
typedef struct triplet {
    size_t col;      /* 0-based column of the area */
    int group;       /* global group id, -1 none */
    int group_local; /* group index within the file */
    int file;
} triplet;

/* A separator/label column of a group file: text in row 1, or fewer than 3 numbers in all. */
static int is_separator(const table *t, size_t c)
{
    double v;
    if (cell_num(cell(t, 0, c), &v) < 0)
        return 1;
    size_t nums = 0;
    for (size_t r = 0; r < t->nr && nums < 3; ++r)
        nums += cell_num(cell(t, r, c), &v) == 1;
    return nums < 3;
}

int npg_data_read_tem(const char *const *files, int nfiles, const npg_tem_options *o,
                      double sigma_s, npg_data_set *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->in_situ = 1;
    if (nfiles < 1 || !(o->pixel_nm > 0) || !(sigma_s > 0) ||
        (!o->time_column && !(o->frame_dt > 0))) {
        snprintf(err, errlen,
                 "tem-pixel: need FILEs, pixel > 0, sigma_s > 0 and a frame "
                 "interval > 0 (or a time column)");
        return NPG_EXIT_USAGE;
    }
    table *tab = calloc((size_t)nfiles, sizeof *tab);
    triplet *tri = NULL;
    size_t ntri = 0, cap = 0;
    double *area = NULL, *xs = NULL, *times = NULL;
    int rc = 0, ngroups = 0;
    size_t nr = 0;
    if (!tab) {
        snprintf(err, errlen, "out of memory");
        return NPG_EXIT_FAIL;
    }
    for (int fi = 0; fi < nfiles && !rc; ++fi) {
        const table *t = &tab[fi];
        if ((rc = table_read(files[fi], &tab[fi], err, errlen)))
            break;
        if (fi == 0)
            nr = t->nr;
        else if (t->nr != nr) {
            snprintf(err, errlen, "%s: %zu rows, but %s has %zu (the files must share frames)",
                     files[fi], t->nr, files[0], nr);
            rc = NPG_EXIT_USAGE;
            break;
        }
        size_t c = o->time_column ? 1 : 0;
        int local = -1;
        while (c < t->nc) {
            if (o->groups && is_separator(t, c)) {
                ++local;
                ++ngroups;
                ++c;
                continue;
            }
            if (o->groups && local < 0) {
                snprintf(err, errlen,
                         "%s: column %zu: a group file must start with a separator "
                         "or label column (text in row 1, or under 3 numbers)",
                         files[fi], c + 1);
                rc = NPG_EXIT_USAGE;
                break;
            }
            if (c + 3 > t->nc) {
                snprintf(err, errlen,
                         "%s: column %zu: an incomplete (area, x, y) triplet at the "
                         "end of the row (%zu columns)",
                         files[fi], c + 1, t->nc);
                rc = NPG_EXIT_USAGE;
                break;
            }
            if (ntri == cap) {
                cap = cap ? 2 * cap : 256;
                triplet *nt = realloc(tri, cap * sizeof *tri);
                if (!nt) {
                    snprintf(err, errlen, "out of memory");
                    rc = NPG_EXIT_FAIL;
                    break;
                }
                tri = nt;
            }
            tri[ntri++] = (triplet){c, o->groups ? ngroups - 1 : -1, local, fi};
            c += 3;
        }
    }
    if (!rc && !ntri) {
        snprintf(err, errlen, "%s: no (area, x, y) triplets", files[0]);
        rc = NPG_EXIT_USAGE;
    }
    if (!rc) {
        area = malloc(ntri * nr * sizeof *area);
        xs = malloc(ntri * nr * sizeof *xs);
        times = malloc(nr * sizeof *times);
        if (!area || !xs || !times) {
            snprintf(err, errlen, "out of memory");
            rc = NPG_EXIT_FAIL;
        }
    }
    /* areas (NaN = absent: empty or 0), x (NaN when empty), times */
    for (size_t r = 0; r < nr && !rc; ++r) {
        if (o->time_column) {
            if (cell_num(cell(&tab[0], r, 0), &times[r]) != 1) {
                snprintf(err, errlen, "%s:%zu:1: the time column holds '%s', not a number",
                         files[0], r + 1, cell(&tab[0], r, 0));
                rc = NPG_EXIT_USAGE;
            } else if (r && !(times[r] > times[r - 1])) {
                snprintf(err, errlen, "%s:%zu:1: time %g does not increase", files[0], r + 1,
                         times[r]);
                rc = NPG_EXIT_USAGE;
            }
        } else {
            times[r] = (double)(r + 1) * o->frame_dt;
        }
        for (size_t p = 0; p < ntri && !rc; ++p) {
            const table *t = &tab[tri[p].file];
            double a = 0, x = 0;
            int ka = cell_num(cell(t, r, tri[p].col), &a);
            int kx = cell_num(cell(t, r, tri[p].col + 1), &x);
            if (ka < 0 || (ka == 1 && a < 0) || kx < 0) {
                size_t bc = ka < 0 || (ka == 1 && a < 0) ? tri[p].col : tri[p].col + 1;
                snprintf(err, errlen,
                         "%s:%zu:%zu: '%s' is not an area [px^2] >= 0 or x [px] "
                         "(absent: 0 or empty)",
                         files[tri[p].file], r + 1, bc + 1, cell(t, r, bc));
                rc = NPG_EXIT_USAGE;
                break;
            }
            area[p * nr + r] = ka == 1 && a > 0 ? a : NAN;
            xs[p * nr + r] = kx == 1 ? x : NAN;
        }
    }
    /* frames used: from the first to the last one where some particle is present */
    size_t k0 = nr, k1 = 0;
    for (size_t r = 0; r < nr && !rc; ++r)
        for (size_t p = 0; p < ntri; ++p)
            if (!isnan(area[p * nr + r])) {
                k0 = r < k0 ? r : k0;
                k1 = r;
                break;
            }
    if (!rc && k0 == nr) {
        snprintf(err, errlen, "%s: no particle is present in any frame", files[0]);
        rc = NPG_EXIT_USAGE;
    }
    size_t nt = k1 - k0 + 1;
    npg_coal_event *ev = NULL;
    size_t nev = 0;
    if (!rc && o->groups) {
        ev = calloc(ntri, sizeof *ev);
        if (!ev) {
            snprintf(err, errlen, "out of memory");
            rc = NPG_EXIT_FAIL;
        }
    }
    /* Merges inside groups (model.md 4.5): for consecutive particles (i, i+1) of a group, the
     * start of the last run of frames with identical x is the merging frame (files that repeat
     * the merged particle in every column); without such a frame, the frame after i+1's last
     * appearance, into the group's first particle (files that leave the others empty). */
    for (size_t p = 1; p < ntri && !rc && o->groups; ++p) {
        if (tri[p].group != tri[p - 1].group)
            continue;
        size_t first = p - 1;
        while (first > 0 && tri[first - 1].group == tri[p].group)
            --first;
        long f = -1;
        size_t into = p - 1;
        /* the start of the last run of frames where the two x columns are equal */
        for (size_t k = k1 + 1; k-- > k0;) {
            double a = xs[(p - 1) * nr + k], b = xs[p * nr + k];
            int eq = !isnan(a) && a == b;
            if (eq)
                f = (long)k;
            else if (f >= 0)
                break;
        }
        if (f < 0) {
            into = first;
            long last = -1;
            for (size_t k = k0; k <= k1; ++k)
                if (!isnan(area[p * nr + k]))
                    last = (long)k;
            if (last >= 0 && (size_t)last < k1)
                f = last + 1;
        }
        if (f <= (long)k0)
            continue;
        /* radii one frame before merging; a particle absent there: its last frame before */
        double ai = NAN, aj = NAN;
        for (long k = f - 1; k >= (long)k0 && (isnan(ai) || isnan(aj)); --k) {
            if (isnan(ai))
                ai = area[into * nr + k];
            if (isnan(aj))
                aj = area[p * nr + k];
        }
        ev[nev++] = (npg_coal_event){
            times[f], o->pixel_nm * (sqrt(ai / NPG_DATA_PI) + sqrt(aj / NPG_DATA_PI)),
            tri[p].group_local, into, p};
        for (size_t k = (size_t)f; k <= k1; ++k)
            area[p * nr + k] = NAN;
    }
    /* conversion and the cleaning rule */
    char *keep = rc ? NULL : calloc(ntri, 1);
    size_t kept = 0;
    if (!rc && !keep) {
        snprintf(err, errlen, "out of memory");
        rc = NPG_EXIT_FAIL;
    }
    double s3 = sigma_s * sigma_s * sigma_s;
    for (size_t p = 0; p < ntri && !rc; ++p) {
        int runs = 0, len = 0;
        for (size_t k = k0; k <= k1 + 1; ++k) {
            int absent = 0;
            if (k <= k1) {
                double a = area[p * nr + k];
                double r = o->pixel_nm * sqrt(a / NPG_DATA_PI);
                double n = round(r * r * r / s3);
                absent = isnan(a) || !(n > 0);
                if (absent)
                    area[p * nr + k] = NAN;
            }
            if (absent) {
                ++len;
            } else {
                runs += len > o->clean_run_len;
                len = 0;
            }
        }
        int merging = 0; /* particles of a group with merges: the coalescence analysis keeps all */
        for (size_t q = 0; q < ntri && o->groups && !merging; ++q)
            merging = q != p && tri[q].group == tri[p].group;
        keep[p] = !o->clean || merging || runs < o->clean_min_runs;
        kept += keep[p];
    }
    if (!rc && data_alloc(d, nt, kept)) {
        snprintf(err, errlen, "out of memory");
        rc = NPG_EXIT_FAIL;
    }
    if (!rc) {
        size_t *newid = malloc(ntri * sizeof *newid);
        if (!newid) {
            snprintf(err, errlen, "out of memory");
            rc = NPG_EXIT_FAIL;
        }
        for (size_t k = 0; k < nt && !rc; ++k)
            d->t[k] = times[k0 + k];
        size_t q = 0;
        for (size_t p = 0; p < ntri && !rc; ++p) {
            newid[p] = (size_t)-1;
            if (!keep[p])
                continue;
            newid[p] = q;
            d->group[q] = tri[p].group;
            d->file[q] = tri[p].file;
            for (size_t k = 0; k < nt; ++k) {
                double a = area[p * nr + k0 + k];
                if (isnan(a))
                    continue;
                double r = o->pixel_nm * sqrt(a / NPG_DATA_PI);
                d->r[q * nt + k] = r;
                d->n[q * nt + k] = round(r * r * r / s3);
            }
            ++q;
        }
        d->np_read = ntri;
        d->removed = ntri - kept;
        for (size_t e = 0; e < nev && !rc; ++e) {
            ev[e].into = newid[ev[e].into];
            ev[e].lost = newid[ev[e].lost];
        }
        free(newid);
        d->events = ev;
        d->nevents = nev;
        ev = NULL;
    }
    free(ev);
    free(keep);
    free(area);
    free(xs);
    free(times);
    free(tri);
    for (int fi = 0; fi < nfiles; ++fi)
        table_free(&tab[fi]);
    free(tab);
    if (rc)
        npg_data_free(d);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int npg_data_read_radii(const char *const *files, int nfiles, double sigma_s, int outliers,
                        npg_data_set *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (nfiles < 1 || !(sigma_s > 0)) {
        snprintf(err, errlen, "radii: need FILEs and sigma_s > 0");
        return NPG_EXIT_USAGE;
    }
    /* (time, r) pairs of every file */
    double *tv = NULL, *rv = NULL, *utimes = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (int fi = 0; fi < nfiles && !rc; ++fi) {
        table t;
        if ((rc = table_read(files[fi], &t, err, errlen)))
            break;
        for (size_t c = 0; c < t.nc && !rc; ++c) {
            double tc, r;
            if (cell_num(cell(&t, 0, c), &tc) != 1) {
                snprintf(err, errlen, "%s:1:%zu: '%s' is not a sampling time", files[fi], c + 1,
                         cell(&t, 0, c));
                rc = NPG_EXIT_USAGE;
                break;
            }
            for (size_t row = 1; row < t.nr; ++row) {
                int k = cell_num(cell(&t, row, c), &r);
                if (!k)
                    continue;
                if (k < 0 || !(r > 0)) {
                    snprintf(err, errlen, "%s:%zu:%zu: '%s' is not a radius [nm] > 0", files[fi],
                             row + 1, c + 1, cell(&t, row, c));
                    rc = NPG_EXIT_USAGE;
                    break;
                }
                if (n == cap) {
                    cap = cap ? 2 * cap : 4096;
                    double *a = realloc(tv, cap * sizeof *tv),
                           *b = a ? realloc(rv, cap * sizeof *rv) : NULL;
                    if (a)
                        tv = a;
                    if (b)
                        rv = b;
                    if (!a || !b) {
                        snprintf(err, errlen, "out of memory");
                        rc = NPG_EXIT_FAIL;
                        break;
                    }
                }
                tv[n] = tc;
                rv[n++] = r;
            }
        }
        table_free(&t);
    }
    if (!rc && !n) {
        snprintf(err, errlen, "%s: no radii", files[0]);
        rc = NPG_EXIT_USAGE;
    }
    size_t nt = 0;
    if (!rc) {
        utimes = malloc(n * sizeof *utimes);
        if (!utimes) {
            snprintf(err, errlen, "out of memory");
            rc = NPG_EXIT_FAIL;
        } else {
            memcpy(utimes, tv, n * sizeof *utimes);
            qsort(utimes, n, sizeof *utimes, cmp_double);
            for (size_t i = 0; i < n; ++i)
                if (!nt || utimes[i] != utimes[nt - 1])
                    utimes[nt++] = utimes[i];
        }
    }
    /* outliers in r^3 per time */
    char *drop = rc ? NULL : calloc(n, 1);
    double *x = rc ? NULL : malloc(n * sizeof *x), *work = rc ? NULL : malloc(n * sizeof *work);
    if (!rc && (!drop || !x || !work)) {
        snprintf(err, errlen, "out of memory");
        rc = NPG_EXIT_FAIL;
    }
    size_t removed = 0;
    for (size_t k = 0; k < nt && !rc && outliers; ++k) {
        size_t m = 0;
        for (size_t i = 0; i < n; ++i)
            if (tv[i] == utimes[k])
                x[m++] = rv[i] * rv[i] * rv[i];
        gsl_sort(x, 1, m);
        double med = gsl_stats_median_from_sorted_data(x, 1, m);
        double mad = gsl_stats_mad(x, 1, m, work); /* 1.4826 median |x - median| */
        for (size_t i = 0; i < n; ++i)
            if (tv[i] == utimes[k] && fabs(rv[i] * rv[i] * rv[i] - med) > 3.0 * mad) {
                drop[i] = 1;
                ++removed;
            }
    }
    if (!rc && data_alloc(d, nt, n - removed)) {
        snprintf(err, errlen, "out of memory");
        rc = NPG_EXIT_FAIL;
    }
    if (!rc) {
        double s3 = sigma_s * sigma_s * sigma_s;
        memcpy(d->t, utimes, nt * sizeof *d->t);
        size_t q = 0;
        for (size_t k = 0; k < nt; ++k)
            for (size_t i = 0; i < n; ++i)
                if (tv[i] == utimes[k] && !drop[i]) {
                    d->r[q * nt + k] = rv[i];
                    d->n[q * nt + k] = rv[i] * rv[i] * rv[i] / s3;
                    d->group[q] = -1;
                    d->file[q] = 0;
                    ++q;
                }
        d->np_read = n;
        d->removed = removed;
    }
    free(drop);
    free(x);
    free(work);
    free(tv);
    free(rv);
    free(utimes);
    if (rc)
        npg_data_free(d);
    return rc;
}

/* ---- statistics -------------------------------------------------------------------------------
 */

/* Moments of values v[i] with integer weights w[i] (NULL: 1). */
static void stats_of(const double *v, const double *r, const uint32_t *w, size_t m,
                     npg_data_stats *s)
{
    double N = 0, sn = 0, sr = 0;
    for (size_t i = 0; i < m; ++i) {
        double wi = w ? w[i] : 1.0;
        N += wi;
        sn += wi * v[i];
        if (r)
            sr += wi * r[i];
    }
    s->particles = N;
    for (int q = 0; q <= 10; ++q)
        s->m[q] = N > 0 ? (q == 0 ? 1.0 : 0.0) : NAN;
    if (!(N > 0)) {
        s->mean_n = s->var_n = s->mean_r = s->var_r = NAN;
        return;
    }
    s->mean_n = sn / N;
    s->mean_r = r ? sr / N : NAN;
    double vn = 0, vr = 0;
    for (size_t i = 0; i < m; ++i) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0.0)
            continue;
        double dn = v[i] - s->mean_n, p = 1.0;
        vn += wi * dn * dn;
        if (r)
            vr += wi * (r[i] - s->mean_r) * (r[i] - s->mean_r);
        for (int q = 1; q <= 10; ++q) {
            p *= v[i];
            s->m[q] += wi * p;
        }
    }
    for (int q = 1; q <= 10; ++q)
        s->m[q] /= N;
    s->var_n = vn / N;
    s->var_r = r ? vr / N : NAN;
}

int npg_data_noise_estimate(const npg_data_set *d, npg_data_noise *out)
{
    memset(out, 0, sizeof *out);
    if (!d->in_situ || d->nt < 3)
        return 1;
    double se = 0.0, sc = 0.0; /* sums of squares: particle residuals, frame means */
    size_t ne = 0, nc = 0;
    double *d2 = malloc((d->np ? d->np : 1) * sizeof *d2);
    if (!d2)
        return 1;
    for (size_t k = 1; k + 1 < d->nt; ++k) {
        size_t m = 0;
        double mean = 0.0;
        for (size_t p = 0; p < d->np; ++p) {
            const double *n = d->n + p * d->nt;
            if (!(n[k - 1] >= 20.0 && n[k] >= 20.0 && n[k + 1] >= 20.0))
                continue;
            d2[m] = log(n[k + 1]) - 2.0 * log(n[k]) + log(n[k - 1]);
            mean += d2[m++];
        }
        if (m < 2)
            continue;
        mean /= (double)m;
        /* E[sum (x - mean)^2] = (m - 1) var: the residuals' sum of squares over m - 1 */
        for (size_t j = 0; j < m; ++j)
            se += (d2[j] - mean) * (d2[j] - mean);
        ne += m - 1;
        out->triples += m;
        sc += mean * mean;
        nc += 1;
    }
    free(d2);
    if (!ne)
        return 1;
    out->sigma_ln = sqrt(se / (double)ne / 6.0);
    out->sigma_ln_frame = nc ? sqrt(sc / (double)nc / 6.0) : 0.0;
    const size_t ks[3] = {0, d->nt / 2, d->nt - 1};
    for (int j = 0; j < 3; ++j) {
        npg_data_stats st;
        npg_data_stats_at(d, ks[j], NULL, &st);
        out->var_fraction_t[j] = d->t[ks[j]];
        out->var_fraction[j] =
            st.var_n > 0 ? out->sigma_ln * out->sigma_ln * st.m[2] / st.var_n : NAN;
    }
    return 0;
}

void npg_data_stats_at(const npg_data_set *d, size_t k, const uint32_t *w, npg_data_stats *s)
{
    size_t m = 0;
    double *v = malloc((d->np ? d->np : 1) * sizeof *v),
           *r = malloc((d->np ? d->np : 1) * sizeof *r);
    uint32_t *ww = w ? malloc((d->np ? d->np : 1) * sizeof *ww) : NULL;
    if (!v || !r || (w && !ww)) {
        free(v);
        free(r);
        free(ww);
        memset(s, 0, sizeof *s);
        s->mean_n = s->var_n = NAN;
        return;
    }
    for (size_t p = 0; p < d->np; ++p) {
        double n = d->n[p * d->nt + k];
        if (isnan(n))
            continue;
        v[m] = n;
        r[m] = d->r[p * d->nt + k];
        if (ww)
            ww[m] = w[p];
        ++m;
    }
    stats_of(v, r, ww, m, s);
    free(v);
    free(r);
    free(ww);
}

static void quantities(const npg_data_stats *s, double *q)
{
    q[0] = s->mean_n;
    q[1] = s->var_n;
    for (int j = 3; j <= 10; ++j)
        q[j - 1] = s->m[j];
}

int npg_data_bootstrap(const npg_data_set *d, unsigned resamples, unsigned long seed, double *band)
{
    size_t nt = d->nt, np = d->np, NQ = NPG_DATA_NQ;
    /* per time: the particles present there */
    size_t *start = calloc(nt + 1, sizeof *start),
           *idx = malloc((np * nt > 0 ? np * nt : 1) * sizeof *idx);
    double *val = malloc((size_t)resamples * nt * NQ * sizeof *val);
    double *v = malloc((np ? np : 1) * sizeof *v),
           *srt = malloc((resamples ? resamples : 1) * sizeof *srt);
    uint32_t *w = calloc(np ? np : 1, sizeof *w), *wk = malloc((np ? np : 1) * sizeof *wk);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = 0;
    if (!start || !idx || !val || !v || !srt || !w || !wk || !rng) {
        rc = NPG_EXIT_FAIL;
        goto out;
    }
    gsl_rng_set(rng, seed);
    for (size_t k = 0; k < nt; ++k) {
        start[k + 1] = start[k];
        for (size_t p = 0; p < np; ++p)
            if (!isnan(d->n[p * nt + k]))
                idx[start[k + 1]++] = p;
    }
    for (unsigned b = 0; b < resamples; ++b) {
        if (npg_stop_requested()) {
            rc = npg_stop_exit_code();
            goto out;
        }
        if (d->in_situ) { /* whole trajectories, with replacement */
            memset(w, 0, np * sizeof *w);
            for (size_t i = 0; i < np; ++i)
                ++w[gsl_rng_uniform_int(rng, np)];
        }
        for (size_t k = 0; k < nt; ++k) {
            size_t m = start[k + 1] - start[k];
            npg_data_stats s;
            if (d->in_situ) {
                for (size_t i = 0; i < m; ++i) {
                    size_t p = idx[start[k] + i];
                    v[i] = d->n[p * nt + k];
                    wk[i] = w[p];
                }
                stats_of(v, NULL, wk, m, &s);
            } else { /* the samples of this time, with replacement */
                for (size_t i = 0; i < m; ++i)
                    v[i] = d->n[idx[start[k] + gsl_rng_uniform_int(rng, m)] * nt + k];
                stats_of(v, NULL, NULL, m, &s);
            }
            quantities(&s, &val[((size_t)b * nt + k) * NQ]);
        }
    }
    static const double prob[4] = {0.025, 0.16, 0.84, 0.975};
    for (size_t k = 0; k < nt; ++k)
        for (size_t q = 0; q < NQ; ++q) {
            size_t m = 0;
            for (unsigned b = 0; b < resamples; ++b) {
                double x = val[((size_t)b * nt + k) * NQ + q];
                if (!isnan(x))
                    srt[m++] = x;
            }
            gsl_sort(srt, 1, m);
            for (int j = 0; j < 4; ++j)
                band[(k * NQ + q) * 4 + j] =
                    m ? gsl_stats_quantile_from_sorted_data(srt, 1, m, prob[j]) : NAN;
        }
out:
    if (rng)
        gsl_rng_free(rng);
    free(start);
    free(idx);
    free(val);
    free(v);
    free(srt);
    free(w);
    free(wk);
    return rc;
}

/* ---- writers ----------------------------------------------------------------------------------
 */

static void put(FILE *f, double v)
{
    fputc(',', f);
    if (!isnan(v))
        fprintf(f, "%.15g", v);
}

static FILE *open_in(const char *dir, const char *name, const char *head, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else
        fprintf(f, "%s\n", head);
    return f;
}

static int close_checked(FILE *f, const char *name, char *err, size_t errlen)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        snprintf(err, errlen, "%s: write error: %s", name, strerror(errno));
    return bad;
}

typedef struct pair {
    double n, dn;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    return cmp_double(&((const pair *)a)->n, &((const pair *)b)->n);
}

static uint32_t n_bin_key(double n)
{
    return n < 2 ? 2u : n > 4e9 ? 4000000000u : (uint32_t)n;
}

int npg_data_write(const npg_data_set *d, const npg_config *cfg, const double *band,
                   const char *dir, char *err, size_t errlen)
{
    size_t nt = d->nt, np = d->np;
    FILE *mo = open_in(dir, "moments.csv", NPG_MOMENTS_HEADER, err, errlen);
    FILE *hi = mo ? open_in(dir, "histogram.csv", NPG_HISTOGRAM_HEADER, err, errlen) : NULL;
    if (!mo || !hi) {
        if (mo)
            fclose(mo);
        return NPG_EXIT_FAIL;
    }
    pair *pr = malloc((np ? np : 1) * sizeof *pr);
    if (!pr) {
        fclose(mo);
        fclose(hi);
        snprintf(err, errlen, "out of memory");
        return NPG_EXIT_FAIL;
    }
    double n0 = NAN;
    for (size_t k = 0; k < nt; ++k) {
        npg_data_stats s;
        npg_data_stats_at(d, k, NULL, &s);
        if (k == 0)
            n0 = s.particles;
        fprintf(mo, "%.10g", d->t[k]);
        put(mo, s.particles);
        put(mo, n0 > 0 ? s.particles / n0 : NAN);
        put(mo, s.mean_n);
        put(mo, s.var_n);
        for (int q = 1; q <= 10; ++q)
            put(mo, s.m[q]);
        put(mo, s.mean_r);
        put(mo, s.var_r);
        fputs(",,,,,,,,,\n", mo); /* model columns: none for data */
        /* histogram over the system's bins, first to last occupied */
        size_t m = 0;
        for (size_t p = 0; p < np; ++p)
            if (!isnan(d->n[p * nt + k]))
                pr[m++].n = d->n[p * nt + k];
        qsort(pr, m, sizeof *pr, cmp_pair);
        size_t i = 0;
        while (i < m) {
            uint32_t lo, hi_n;
            npg_hist_bin(cfg, n_bin_key(pr[i].n), &lo, &hi_n);
            size_t c = 0;
            while (i < m && n_bin_key(pr[i].n) <= hi_n) {
                ++c;
                ++i;
            }
            fprintf(hi, "%.10g,%u,%u,%zu,%.12g\n", d->t[k], lo, hi_n, c, (double)c / (double)m);
        }
    }
    int bad = close_checked(mo, "moments.csv", err, errlen);
    bad |= close_checked(hi, "histogram.csv", err, errlen);
    if (!bad && d->in_situ) {
        FILE *g = open_in(dir, "growth_rate.csv", NPG_GROWTH_HEADER, err, errlen);
        FILE *tr = g ? open_in(dir, "trajectories.csv", NPG_TRAJECTORY_HEADER, err, errlen) : NULL;
        if (!g || !tr) {
            if (g)
                fclose(g);
            free(pr);
            return NPG_EXIT_FAIL;
        }
        for (size_t k = 0; k < nt; ++k) {
            for (size_t p = 0; p < np; ++p)
                if (!isnan(d->n[p * nt + k]))
                    fprintf(tr, "%.10g,%zu,%.0f,%.10g\n", d->t[k], p, d->n[p * nt + k],
                            d->r[p * nt + k]);
            if (k == 0)
                continue;
            /* growth rate over (t[k-1], t[k]], binned by the size at t[k-1] */
            size_t m = 0;
            double dt = d->t[k] - d->t[k - 1];
            for (size_t p = 0; p < np; ++p) {
                double a = d->n[p * nt + k - 1], b = d->n[p * nt + k];
                if (!isnan(a) && !isnan(b))
                    pr[m++] = (pair){a, b - a};
            }
            qsort(pr, m, sizeof *pr, cmp_pair);
            size_t i = 0;
            while (i < m) {
                uint32_t lo, hi_n;
                npg_hist_bin(cfg, n_bin_key(pr[i].n), &lo, &hi_n);
                size_t c = 0;
                double sdn = 0;
                while (i < m && n_bin_key(pr[i].n) <= hi_n) {
                    sdn += pr[i].dn;
                    ++c;
                    ++i;
                }
                fprintf(g, "%.10g,%u,%u,%zu,%.12g,\n", d->t[k], lo, hi_n, c, sdn / (c * dt));
            }
        }
        bad |= close_checked(g, "growth_rate.csv", err, errlen);
        bad |= close_checked(tr, "trajectories.csv", err, errlen);
    }
    free(pr);
    if (!bad && d->nevents) {
        FILE *c = open_in(dir, "coalescence.csv", "t,group,into,lost,r_sum_nm", err, errlen);
        if (!c)
            return NPG_EXIT_FAIL;
        for (size_t e = 0; e < d->nevents; ++e) {
            const npg_coal_event *v = &d->events[e];
            fprintf(c, "%.10g,%d,%zd,%zd,%.10g\n", v->t, v->group, (ssize_t)v->into,
                    (ssize_t)v->lost, v->r_sum_nm);
        }
        bad |= close_checked(c, "coalescence.csv", err, errlen);
    }
    if (!bad && band) {
        FILE *c =
            open_in(dir, "moments_ci.csv", "t,quantity,estimate,lo95,lo68,hi68,hi95", err, errlen);
        if (!c)
            return NPG_EXIT_FAIL;
        static const char *const qn[NPG_DATA_NQ] = {"mean_n", "var_n", "m3", "m4", "m5",
                                                    "m6",     "m7",    "m8", "m9", "m10"};
        for (size_t k = 0; k < nt; ++k) {
            npg_data_stats s;
            npg_data_stats_at(d, k, NULL, &s);
            double est[NPG_DATA_NQ];
            quantities(&s, est);
            for (size_t q = 0; q < NPG_DATA_NQ; ++q) {
                fprintf(c, "%.10g,%s", d->t[k], qn[q]);
                put(c, est[q]);
                for (int j = 0; j < 4; ++j)
                    put(c, band[(k * NPG_DATA_NQ + q) * 4 + j]);
                fputc('\n', c);
            }
        }
        bad |= close_checked(c, "moments_ci.csv", err, errlen);
    }
    return bad ? NPG_EXIT_FAIL : 0;
}
