/* h5out.c: run.h5 through the HDF5 C library (npgrow/h5out.h).
 *
 * Two sources: full-ensemble snapshots, streamed in chunks while the run goes (the only data
 * that is not in the CSV files), and at the end everything the directory already holds (the CSV
 * files and run.yaml), reshaped into time x bin arrays. Reading the CSV files back keeps one
 * writer of every observable (observe.c) and gives the same file for `run`, `me` and any
 * producer that writes the documented CSV files.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <hdf5.h>
#include <hdf5_hl.h>
#include <yaml.h>

#include "npgrow/h5out.h"

#include "util/util.h"

#define H5_CHUNK_PARTICLES (1u << 20) /* particles per chunk and per sample call */
#define H5_DEFLATE         1          /* zlib level: speed over the last percent of size */

struct npg_h5out {
    const npg_config *cfg;
    char dir[4096], path[4200], producer[32];
    hid_t file;
    uint64_t particles;
    hid_t snap_value, snap_time, snap_step; /* /particles/ensemble/n_monomers (or -1) */
    hid_t snap_particle;                    /* its dimension-only `particle` scale */
    uint64_t calls;                         /* output times seen */
    uint32_t next_snapshot;                 /* first output.snapshots entry not yet taken */
    uint64_t snapshots;                     /* snapshots written */
    double last_snap_t;
    double wall_s; /* time spent in this file (snapshots + finish) [s] */
};

/* ---- small HDF5 helpers (each returns 0 or -1) ------------------------------------------- */

static int attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, type, value) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

static int attr_ints(hid_t obj, const char *name, const int *v, hsize_t n)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_INT, v) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc;
}

static hid_t group(hid_t parent, const char *name)
{
    return H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

/* A dataset of rank 1 or 2 written whole, with its unit; returns the open dataset or -1. */
static hid_t dset(hid_t g, const char *name, hid_t file_type, hid_t mem_type, int rank,
                  const hsize_t *dims, const void *data, const char *unit)
{
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t total = dims[0] * (rank > 1 ? dims[1] : 1);
    if (total >= 4096) { /* big arrays: chunked and compressed; small ones contiguous */
        hsize_t chunk[2] = {rank > 1 ? 1 : dims[0], rank > 1 ? dims[1] : 1};
        if (rank == 1 && chunk[0] > 65536)
            chunk[0] = 65536;
        if (chunk[0] > 0 && (rank == 1 || chunk[1] > 0)) {
            H5Pset_chunk(dcpl, rank, chunk);
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, H5_DEFLATE);
        }
    }
    hid_t d = H5Dcreate2(g, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0)
        return -1;
    if ((total && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) ||
        attr_str(d, "unit", unit) < 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static int close_ok(hid_t d)
{
    return d < 0 ? -1 : (H5Dclose(d) < 0 ? -1 : 0);
}

/* A scalar string dataset (unit ""). */
static int dset_str(hid_t g, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t d = H5Dcreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) < 0 ||
                     attr_str(d, "unit", "") < 0
                 ? -1
                 : 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

/* A 1-D dataset of variable-length strings (unit ""). */
static hid_t dset_strs(hid_t g, const char *name, const char *const *v, hsize_t n)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t d = dset(g, name, type, type, 1, &n, v, "");
    H5Tclose(type);
    return d;
}

/* ---- CSV files as written by observe.c / run.c (no quoting; empty field = NaN) ----------- */

typedef struct table {
    char *buf;
    size_t ncol, nrow;
    char **cell; /* [nrow * ncol] */
    char **head; /* [ncol] */
    double *num; /* [nrow * ncol] every cell parsed once (table_parse), NULL: parse on use */
} table;

static void table_free(table *t)
{
    free(t->buf);
    free(t->num);
    free(t->cell);
    free(t->head);
    memset(t, 0, sizeof *t);
}

/* Reads dir/name; returns 0, 1 (absent: t empty) or -1 with a message. */
static int table_read(const char *dir, const char *name, table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 1 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    size_t cap = 1 << 16, len = 0, k;
    t->buf = malloc(cap + 1);
    while (t->buf && (k = fread(t->buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *nb = realloc(t->buf, 2 * cap + 1);
            if (!nb) {
                free(t->buf);
                t->buf = NULL;
                break;
            }
            t->buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!t->buf || bad) {
        snprintf(err, errlen, "%s: %s", path, t->buf ? "read error" : "out of memory");
        table_free(t);
        return -1;
    }
    t->buf[len] = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; ++i)
        lines += t->buf[i] == '\n';
    char *save = NULL, *line = strtok_r(t->buf, "\n", &save);
    if (!line) {
        snprintf(err, errlen, "%s: empty file (no header row)", path);
        table_free(t);
        return -1;
    }
    for (char *p = line; *p; ++p)
        t->ncol += *p == ',';
    t->ncol++;
    t->head = malloc(t->ncol * sizeof *t->head);
    t->cell = malloc((lines + 1) * t->ncol * sizeof *t->cell);
    if (!t->head || !t->cell) {
        snprintf(err, errlen, "%s: out of memory", path);
        table_free(t);
        return -1;
    }
    for (char **row = t->head;; row = t->cell + t->nrow++ * t->ncol) {
        size_t c = 0;
        for (char *p = line;; ++c) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = 0;
            p[strcspn(p, "\r")] = 0;
            if (c < t->ncol)
                row[c] = p;
            if (!comma)
                break;
            p = comma + 1;
        }
        if (c + 1 != t->ncol) {
            snprintf(err, errlen, "%s:%zu: %zu fields, the header has %zu", path, t->nrow + 1,
                     c + 1, t->ncol);
            table_free(t);
            return -1;
        }
        if (!(line = strtok_r(NULL, "\n", &save)))
            break;
    }
    return 0;
}

static int table_col(const table *t, const char *name)
{
    for (size_t c = 0; c < t->ncol; ++c)
        if (!strcmp(t->head[c], name))
            return (int)c;
    return -1;
}

static double num(const char *s)
{
    if (!*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

static double cell_num(const table *t, size_t r, int c)
{
    if (c < 0)
        return NAN;
    const size_t i = r * t->ncol + (size_t)c;
    return t->num ? t->num[i] : num(t->cell[i]);
}

/* Parse every cell once into t->num (cells that are not numbers: NAN, as num() gives); on
 * failure to allocate t->num stays NULL and cell_num parses on use. */
static void table_parse(table *t)
{
    const size_t n = t->nrow * t->ncol;
    if (!n || !(t->num = malloc(n * sizeof *t->num)))
        return;
    for (size_t i = 0; i < n; ++i)
        t->num[i] = num(t->cell[i]);
}

/* Is column c numeric (every non-empty cell parses)? */
static int col_numeric(const table *t, int c)
{
    for (size_t r = 0; r < t->nrow; ++r) {
        const char *s = t->cell[r * t->ncol + (size_t)c];
        char *end;
        if (*s && (strtod(s, &end), *end))
            return 0;
    }
    return 1;
}

/* ---- units -------------------------------------------------------------------------------- */

static const char *column_unit(const char *col, const char *tu, char *buf, size_t len)
{
    static const char *const map[][2] = {
        {"particles", "particles"},    {"alive_fraction", "1"},
        {"mean_n", "monomers"},        {"var_n", "monomers^2"},
        {"mean_r_nm", "nm"},           {"var_r_nm2", "nm^2"},
        {"supersaturation", "1"},      {"ln_s", "1"},
        {"mu_max_kT", "kT"},           {"phase", ""},
        {"n_star", "monomers"},        {"n_star2", "monomers"},
        {"free_monomers", "monomers"}, {"precursor", "precursor units"},
        {"events", "events"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; ++i)
        if (!strcmp(col, map[i][0]))
            return map[i][1];
    if (col[0] == 'm' && col[1] >= '1' && col[1] <= '9') { /* m_q = <n^q> */
        snprintf(buf, len, "monomers^%s", col + 1);
        return buf;
    }
    if (!strcmp(col, "t"))
        return tu;
    return "1";
}

/* ---- observables -------------------------------------------------------------------------- */

/* Sorted distinct values of a (small) list of doubles; *out allocated. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t distinct(const double *v, size_t n, double **out)
{
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return 0;
    memcpy(*out, v, n * sizeof *v);
    size_t i = 1;
    while (i < n && v[i - 1] <= v[i]) /* times come in order: no sort needed */
        ++i;
    if (i < n)
        qsort(*out, n, sizeof **out, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < n; ++i)
        if (!k || (*out)[i] != (*out)[k - 1])
            (*out)[k++] = (*out)[i];
    return k;
}

static size_t index_of(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* step (output index) of each time: its index among the moments times, else its own index. */
static void steps_of(const double *mt, size_t nm, const double *t, size_t n, long long *step)
{
    for (size_t i = 0; i < n; ++i) {
        size_t j = mt ? index_of(mt, nm, t[i]) : nm;
        step[i] = j < nm && mt[j] == t[i] ? (long long)j : (long long)i;
    }
}

/* time[T] (a dimension scale) and step[T] in group g; returns the time dataset or -1. */
static hid_t time_axis(hid_t g, const double *t, size_t n, const double *mt, size_t nm,
                       const char *tu)
{
    hsize_t dims = n;
    long long *step = malloc((n ? n : 1) * sizeof *step);
    if (!step)
        return -1;
    steps_of(mt, nm, t, n, step);
    hid_t ds = dset(g, "step", H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, &dims, step, "1");
    free(step);
    hid_t dt = dset(g, "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &dims, t, tu);
    if (ds < 0 || dt < 0 || H5DSset_scale(dt, "time") < 0 || H5DSattach_scale(ds, dt, 0) < 0) {
        close_ok(ds);
        close_ok(dt);
        return -1;
    }
    H5Dclose(ds);
    return dt;
}

/* /observables/moments: one dataset per column of moments.csv over the time scale. */
static int write_moments(hid_t obs, const table *m, const double *mt, const char *tu)
{
    hid_t g = group(obs, "moments");
    if (g < 0)
        return -1;
    hid_t dt = time_axis(g, mt, m->nrow, mt, m->nrow, tu);
    int rc = dt < 0 ? -1 : 0;
    hsize_t n = m->nrow;
    double *col = malloc((n ? n : 1) * sizeof *col);
    const char **str = malloc((n ? n : 1) * sizeof *str);
    rc |= !col || !str ? -1 : 0;
    for (size_t c = 0; !rc && c < m->ncol; ++c) {
        const char *name = m->head[c];
        if (!strcmp(name, "t"))
            continue;
        char ub[32];
        const char *unit = column_unit(name, tu, ub, sizeof ub);
        hid_t d;
        if (col_numeric(m, (int)c)) {
            for (size_t r = 0; r < n; ++r)
                col[r] = cell_num(m, r, (int)c);
            d = dset(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, col, unit);
        } else {
            for (size_t r = 0; r < n; ++r)
                str[r] = m->cell[r * m->ncol + c];
            d = dset_strs(g, name, str, n);
        }
        rc |= d < 0 || H5DSattach_scale(d, dt, 0) < 0 ? -1 : 0;
        close_ok(d);
    }
    free(col);
    free(str);
    close_ok(dt);
    H5Gclose(g);
    return rc;
}

/* A binned table (t, n_lo, n_hi, columns...) as value[T][B] arrays over time x bin scales:
 * histogram.csv and growth_rate.csv. names[i] (dataset) <- cols[i] (CSV), fill for absent rows. */
static int write_binned(hid_t obs, const char *gname, const table *tb, const double *mt, size_t nm,
                        const char *tu, const char *const *names, const char *const *cols,
                        const char *const *units, const double *fill, int k)
{
    int it = table_col(tb, "t"), ilo = table_col(tb, "n_lo"), ihi = table_col(tb, "n_hi");
    if (it < 0 || ilo < 0 || ihi < 0)
        return -1;
    size_t n = tb->nrow;
    double *tv = malloc((n ? n : 1) * sizeof *tv), *lov = malloc((n ? n : 1) * sizeof *lov);
    double *times = NULL, *los = NULL;
    int rc = !tv || !lov ? -1 : 0;
    for (size_t r = 0; !rc && r < n; ++r) {
        tv[r] = cell_num(tb, r, it);
        lov[r] = cell_num(tb, r, ilo);
    }
    size_t T = rc ? 0 : distinct(tv, n, &times), B = rc ? 0 : distinct(lov, n, &los);
    rc |= !times || !los ? -1 : 0;
    double *hi = malloc((B ? B : 1) * sizeof *hi),
           *val = malloc((T * B > 0 ? T * B : 1) * sizeof *val);
    rc |= !hi || !val ? -1 : 0;
    hid_t g = rc ? -1 : group(obs, gname);
    hid_t dt = g < 0 ? -1 : time_axis(g, times, T, mt, nm, tu);
    hsize_t dB = B, d2[2] = {T, B};
    for (size_t r = 0; dt >= 0 && r < n; ++r)
        hi[index_of(los, B, lov[r])] = cell_num(tb, r, ihi);
    hid_t dlo =
        dt < 0 ? -1 : dset(g, "n_lo", H5T_STD_U32LE, H5T_NATIVE_DOUBLE, 1, &dB, los, "monomers");
    hid_t dhi =
        dlo < 0 ? -1 : dset(g, "n_hi", H5T_STD_U32LE, H5T_NATIVE_DOUBLE, 1, &dB, hi, "monomers");
    rc |= dhi < 0 || H5DSset_scale(dlo, "n_lo") < 0 || H5DSattach_scale(dhi, dlo, 0) < 0 ? -1 : 0;
    for (int j = 0; !rc && j < k; ++j) {
        int ic = table_col(tb, cols[j]);
        for (size_t i = 0; i < T * B; ++i)
            val[i] = fill[j];
        for (size_t r = 0; r < n; ++r)
            val[index_of(times, T, tv[r]) * B + index_of(los, B, lov[r])] = cell_num(tb, r, ic);
        hid_t d = dset(g, names[j], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, d2, val, units[j]);
        rc |= d < 0 || H5DSattach_scale(d, dt, 0) < 0 || H5DSattach_scale(d, dlo, 1) < 0 ? -1 : 0;
        close_ok(d);
    }
    close_ok(dlo);
    close_ok(dhi);
    close_ok(dt);
    if (g >= 0)
        H5Gclose(g);
    free(tv);
    free(lov);
    free(times);
    free(los);
    free(hi);
    free(val);
    return rc;
}

/* /observables/trajectories: n[T][P] of the sampled ids (0 = dissolved: no CSV row). */
static int write_trajectories(hid_t obs, const table *tb, const double *mt, size_t nm,
                              const char *tu)
{
    int it = table_col(tb, "t"), ii = table_col(tb, "id"), in = table_col(tb, "n");
    if (it < 0 || ii < 0 || in < 0)
        return -1;
    size_t n = tb->nrow;
    double *tv = malloc((n ? n : 1) * sizeof *tv), *iv = malloc((n ? n : 1) * sizeof *iv);
    double *times = NULL, *ids = NULL;
    int rc = !tv || !iv ? -1 : 0;
    for (size_t r = 0; !rc && r < n; ++r) {
        tv[r] = cell_num(tb, r, it);
        iv[r] = cell_num(tb, r, ii);
    }
    size_t T = rc ? 0 : distinct(tv, n, &times), P = rc ? 0 : distinct(iv, n, &ids);
    if (!rc && nm > T) { /* every output time, so that a particle gone early still shows 0 */
        free(times);
        T = distinct(mt, nm, &times);
    }
    rc |= !times || !ids ? -1 : 0;
    double *val = calloc(T * P > 0 ? T * P : 1, sizeof *val);
    rc |= !val ? -1 : 0;
    for (size_t r = 0; !rc && r < n; ++r)
        val[index_of(times, T, tv[r]) * P + index_of(ids, P, iv[r])] = cell_num(tb, r, in);
    hid_t g = rc ? -1 : group(obs, "trajectories");
    hid_t dt = g < 0 ? -1 : time_axis(g, times, T, mt, nm, tu);
    hsize_t dP = P, d2[2] = {T, P};
    hid_t did = dt < 0 ? -1 : dset(g, "id", H5T_STD_U64LE, H5T_NATIVE_DOUBLE, 1, &dP, ids, "1");
    hid_t dv =
        did < 0 ? -1 : dset(g, "value", H5T_STD_U32LE, H5T_NATIVE_DOUBLE, 2, d2, val, "monomers");
    rc |= dv < 0 || H5DSset_scale(did, "id") < 0 || H5DSattach_scale(dv, dt, 0) < 0 ||
                  H5DSattach_scale(dv, did, 1) < 0
              ? -1
              : 0;
    close_ok(dv);
    close_ok(did);
    close_ok(dt);
    if (g >= 0)
        H5Gclose(g);
    free(tv);
    free(iv);
    free(times);
    free(ids);
    free(val);
    return rc;
}

/* ---- /parameters -------------------------------------------------------------------------- */

static const char *param_unit(const char *key, const char *tu)
{
    if (!strcmp(key, "wall_s") || !strcmp(key, "advance_wall_s"))
        return "s";
    if (!strcmp(key, "events_per_s"))
        return "events/s";
    if (!strcmp(key, "bytes_per_particle"))
        return "bytes";
    if (!strcmp(key, "t_reached"))
        return tu;
    return "1";
}

/* Every top-level scalar of run.yaml as a scalar dataset (number or string), and the text. */
static int fail_h5(npg_h5out *h, const char *what, char *err, size_t errlen);

/* /events/coalescence: coalescence.csv's columns as 1-D datasets over the sampled merges
 * (absent without coalescence). */
static int write_merge_events(npg_h5out *h, const char *tu, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/coalescence.csv", h->dir);
    if (access(path, F_OK) != 0)
        return 0;
    table ev;
    memset(&ev, 0, sizeof ev);
    if (table_read(h->dir, "coalescence.csv", &ev, err, errlen))
        return 1;
    static const char *const cols[] = {"t",      "id_kept",   "id_gone",  "n_kept",
                                       "n_gone", "r_kept_nm", "r_gone_nm"};
    static const char *const names[] = {"time",   "id_kept",   "id_gone",  "n_kept",
                                        "n_gone", "r_kept_nm", "r_gone_nm"};
    const char *units[] = {tu, "", "", "monomers", "monomers", "nm", "nm"};
    hsize_t n = ev.nrow;
    double *v = malloc((n ? n : 1) * sizeof *v);
    hid_t g0 = v ? group(h->file, "events") : -1;
    hid_t g = g0 < 0 ? -1 : group(g0, "coalescence");
    int rc = g < 0 ? 1 : 0;
    for (int j = 0; !rc && j < 7; ++j) {
        int c = table_col(&ev, cols[j]);
        if (c < 0) {
            rc = 1;
            break;
        }
        for (hsize_t r = 0; r < n; ++r)
            v[r] = cell_num(&ev, r, c);
        hid_t ft = j >= 1 && j <= 4 ? H5T_STD_U32LE : H5T_IEEE_F64LE;
        hid_t d = dset(g, names[j], ft, H5T_NATIVE_DOUBLE, 1, &n, v, units[j]);
        rc |= d < 0;
        close_ok(d);
    }
    if (g >= 0)
        H5Gclose(g);
    if (g0 >= 0)
        H5Gclose(g0);
    free(v);
    table_free(&ev);
    if (rc)
        fail_h5(h, "/events/coalescence (coalescence.csv)", err, errlen);
    return rc;
}

static int write_parameters(hid_t file, const npg_h5out *h, const char *tu, char *err,
                            size_t errlen)
{
    hid_t g = group(file, "parameters");
    if (g < 0)
        return -1;
    int rc = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    if (mf) {
        npg_config_write_yaml(mf, h->cfg, 0);
        fclose(mf);
    }
    rc |= !text || dset_str(g, "config_yaml", text) < 0 ? -1 : 0;
    free(text);

    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", h->dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        H5Gclose(g);
        return 1;
    }
    char *yt = NULL;
    size_t ylen = 0;
    mf = open_memstream(&yt, &ylen);
    char buf[8192];
    size_t k;
    while (mf && (k = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, k, mf);
    if (mf)
        fclose(mf);
    fclose(f);
    rc |= !yt || dset_str(g, "run_yaml", yt) < 0 ? -1 : 0;

    yaml_parser_t p;
    yaml_document_t d;
    if (yt && yaml_parser_initialize(&p)) {
        yaml_parser_set_input_string(&p, (const unsigned char *)yt, ylen);
        if (yaml_parser_load(&p, &d)) {
            yaml_node_t *root = yaml_document_get_root_node(&d);
            for (yaml_node_pair_t *q = root && root->type == YAML_MAPPING_NODE
                                           ? root->data.mapping.pairs.start
                                           : NULL;
                 q && q < root->data.mapping.pairs.top; ++q) {
                yaml_node_t *kn = yaml_document_get_node(&d, q->key);
                yaml_node_t *vn = yaml_document_get_node(&d, q->value);
                if (!kn || !vn || kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE)
                    continue;
                const char *key = (const char *)kn->data.scalar.value;
                const char *val = (const char *)vn->data.scalar.value;
                if (H5Lexists(g, key, H5P_DEFAULT) > 0)
                    continue;
                char *end;
                double x = strtod(val, &end);
                if (*val && !*end && vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                    /* integers (seed, events, threads) stay integers */
                    int integral = !strpbrk(val, ".eEnNiI") && fabs(x) < 9.0e15;
                    long long ix = (long long)x;
                    hid_t space = H5Screate(H5S_SCALAR);
                    hid_t ds = H5Dcreate2(g, key, integral ? H5T_STD_I64LE : H5T_IEEE_F64LE, space,
                                          H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                    H5Sclose(space);
                    rc |= ds < 0 ||
                                  H5Dwrite(ds, integral ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE,
                                           H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                           integral ? (const void *)&ix : (const void *)&x) < 0 ||
                                  attr_str(ds, "unit", param_unit(key, tu)) < 0
                              ? -1
                              : 0;
                    close_ok(ds);
                } else {
                    rc |= dset_str(g, key, val);
                }
            }
            yaml_document_delete(&d);
        } else {
            snprintf(err, errlen, "%s:%zu: YAML error: %s", path, p.problem_mark.line + 1,
                     p.problem ? p.problem : "?");
            rc = 1;
        }
        yaml_parser_delete(&p);
    }
    free(yt);
    rc |= attr_str(g, "producer", h->producer) < 0 ? -1 : 0;
    /* not the final figure (closing the file follows), but everything up to here */
    double wall = h->wall_s + 0.0;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t ds =
        H5Dcreate2(g, "hdf5_wall_s", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    rc |= ds < 0 || H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &wall) < 0 ||
                  attr_str(ds, "unit", "s") < 0
              ? -1
              : 0;
    close_ok(ds);
    H5Gclose(g);
    return rc;
}

/* ---- the file ----------------------------------------------------------------------------- */

static int fail_h5(npg_h5out *h, const char *what, char *err, size_t errlen)
{
    if (err && errlen && (!err[0] || what))
        snprintf(err, errlen, "%s: HDF5 error writing %s", h->path, what ? what : "the file");
    return 1;
}

static int h5md_header(npg_h5out *h)
{
    hid_t g = group(h->file, "h5md");
    if (g < 0)
        return -1;
    const int version[2] = {1, 1};
    int rc = attr_ints(g, "version", version, 2);
    hid_t a = group(g, "author"), c = group(g, "creator");
    const char *user = getenv("USER");
    rc |= a < 0 || c < 0 ? -1 : 0;
    rc |= a < 0 ? -1 : attr_str(a, "name", user && *user ? user : "unknown");
    rc |= c < 0 ? -1 : attr_str(c, "name", "npgrow");
    rc |= c < 0 ? -1 : attr_str(c, "version", NPGROW_VERSION);
    rc |= c < 0 ? -1 : attr_str(c, "git_commit", NPGROW_GIT_COMMIT);
    if (a >= 0)
        H5Gclose(a);
    if (c >= 0)
        H5Gclose(c);
    H5Gclose(g);
    return rc;
}

/* /particles/ensemble: box (H5MD requires one; the model has no space) and the extendable
 * n_monomers {step, time, value[S][N]}. */
static int snapshot_datasets(npg_h5out *h)
{
    hid_t p = group(h->file, "particles");
    hid_t e = p < 0 ? -1 : group(p, "ensemble");
    hid_t box = e < 0 ? -1 : group(e, "box");
    int rc = box < 0 ? -1 : 0;
    const int dim[1] = {3};
    rc |= box < 0 ? -1 : attr_ints(box, "dimension", dim, 1);
    if (box >= 0) {
        const char *bnd[3] = {"none", "none", "none"};
        hsize_t three = 3;
        hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 5);
        hid_t space = H5Screate_simple(1, &three, NULL);
        hid_t a = H5Acreate2(box, "boundary", type, space, H5P_DEFAULT, H5P_DEFAULT);
        char fixed[3][5] = {"none", "none", "none"};
        (void)bnd;
        rc |= a < 0 || H5Awrite(a, type, fixed) < 0 ? -1 : 0;
        if (a >= 0)
            H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
        H5Gclose(box);
    }
    hid_t g = e < 0 ? -1 : group(e, "n_monomers");
    if (g >= 0) {
        hsize_t dims[2] = {0, h->particles}, maxd[2] = {H5S_UNLIMITED, h->particles};
        hsize_t chunk[2] = {1,
                            h->particles < H5_CHUNK_PARTICLES ? h->particles : H5_CHUNK_PARTICLES};
        hid_t space = H5Screate_simple(2, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 2, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, H5_DEFLATE);
        h->snap_value =
            H5Dcreate2(g, "value", H5T_STD_U32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        hsize_t d1 = 0, m1 = H5S_UNLIMITED, c1 = 64;
        space = H5Screate_simple(1, &d1, &m1);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &c1);
        h->snap_time = H5Dcreate2(g, "time", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        h->snap_step = H5Dcreate2(g, "step", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        /* The particle dimension as netCDF-4 names a dimension without coordinates: a scale
         * dataset that is never written (chunked, so it takes no space). */
        hsize_t dn = h->particles, cn = chunk[1];
        space = H5Screate_simple(1, &dn, NULL);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &cn);
        h->snap_particle =
            H5Dcreate2(g, "particle", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        char nm[80];
        snprintf(nm, sizeof nm, "This is a netCDF dimension but not a netCDF variable.%10llu",
                 (unsigned long long)h->particles);
        rc |= h->snap_particle < 0 || H5DSset_scale(h->snap_particle, nm) < 0 ||
                      H5DSattach_scale(h->snap_value, h->snap_particle, 1) < 0
                  ? -1
                  : 0;
        rc |= h->snap_value < 0 || h->snap_time < 0 || h->snap_step < 0 ? -1 : 0;
        const char *tu = h->cfg->time_unit[0] ? h->cfg->time_unit : "s";
        rc |= rc ? -1 : attr_str(h->snap_value, "unit", "monomers");
        rc |= rc ? -1 : attr_str(h->snap_time, "unit", tu);
        rc |= rc ? -1 : attr_str(h->snap_step, "unit", "1");
        rc |= rc ? -1 : attr_str(h->snap_particle, "unit", "1");
        H5Gclose(g);
    } else {
        rc = -1;
    }
    if (e >= 0)
        H5Gclose(e);
    if (p >= 0)
        H5Gclose(p);
    return rc;
}

void npg_h5out_discard(npg_h5out *h)
{
    if (!h)
        return;
    if (h->snap_value >= 0)
        H5Dclose(h->snap_value);
    if (h->snap_time >= 0)
        H5Dclose(h->snap_time);
    if (h->snap_step >= 0)
        H5Dclose(h->snap_step);
    if (h->snap_particle >= 0)
        H5Dclose(h->snap_particle);
    if (h->file >= 0)
        H5Fclose(h->file);
    free(h);
}

int npg_h5out_open(npg_h5out **hp, const npg_config *cfg, const char *dir, const char *producer,
                   uint64_t particles, char *err, size_t errlen)
{
    *hp = NULL;
    if (!cfg->hdf5)
        return 0;
    double t0 = npg_wall_seconds();
    npg_h5out *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    h->cfg = cfg;
    h->file = h->snap_value = h->snap_time = h->snap_step = h->snap_particle = -1;
    h->particles = particles;
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    snprintf(h->path, sizeof h->path, "%s/run.h5", dir);
    snprintf(h->producer, sizeof h->producer, "%s", producer);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages, not HDF5's error stack dump */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18); /* h5py, netCDF-4 read it */
    h->file = H5Fcreate(h->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (h->file < 0 || h5md_header(h) || (particles && snapshot_datasets(h))) {
        err[0] = 0;
        fail_h5(h, h->file < 0 ? "(cannot create it)" : "the header", err, errlen);
        npg_h5out_discard(h);
        return 1;
    }
    h->wall_s = npg_wall_seconds() - t0;
    *hp = h;
    return 0;
}

static int snapshot_write(npg_h5out *h, double t, npg_h5_sample_fn sample, void *ctx, char *err,
                          size_t errlen)
{
    hsize_t s = h->snapshots, N = h->particles;
    hsize_t dims[2] = {s + 1, N}, d1 = s + 1;
    if (H5Dset_extent(h->snap_value, dims) < 0 || H5Dset_extent(h->snap_time, &d1) < 0 ||
        H5Dset_extent(h->snap_step, &d1) < 0)
        return fail_h5(h, "a snapshot", err, errlen);
    long long step = (long long)(h->calls ? h->calls - 1 : 0);
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    int rc = 0;
    for (int k = 0; k < 2 && !rc; ++k) {
        hid_t d = k ? h->snap_step : h->snap_time;
        hid_t fs = H5Dget_space(d);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s, NULL, &one, NULL);
        rc = H5Dwrite(d, k ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT,
                      k ? (const void *)&step : (const void *)&t) < 0;
        H5Sclose(fs);
    }
    H5Sclose(ms);
    size_t chunk = N < H5_CHUNK_PARTICLES ? (size_t)N : H5_CHUNK_PARTICLES;
    uint64_t *ids = malloc(chunk * sizeof *ids);
    uint32_t *n = malloc(chunk * sizeof *n);
    if (!ids || !n) {
        free(ids);
        free(n);
        snprintf(err, errlen, "out of memory for a snapshot of %llu particles",
                 (unsigned long long)N);
        return 1;
    }
    hid_t fs = H5Dget_space(h->snap_value);
    for (hsize_t first = 0; !rc && first < N; first += chunk) {
        hsize_t k = N - first < chunk ? N - first : chunk;
        for (hsize_t j = 0; j < k; ++j)
            ids[j] = first + j;
        if (sample(ctx, ids, (size_t)k, n, err, errlen)) {
            rc = 1;
            break;
        }
        for (hsize_t j = 0; j < k; ++j)
            n[j] = n[j] < 2 ? 0 : n[j]; /* dissolved: absent */
        hsize_t start[2] = {s, first}, count[2] = {1, k};
        hid_t mspace = H5Screate_simple(1, &k, NULL);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        if (H5Dwrite(h->snap_value, H5T_NATIVE_UINT32, mspace, fs, H5P_DEFAULT, n) < 0)
            rc = fail_h5(h, "a snapshot", err, errlen);
        H5Sclose(mspace);
    }
    H5Sclose(fs);
    free(ids);
    free(n);
    if (!rc) {
        h->snapshots++;
        h->last_snap_t = t;
    }
    return rc;
}

int npg_h5out_at(npg_h5out *h, double t, int last, npg_h5_sample_fn sample, void *ctx, char *err,
                 size_t errlen)
{
    if (!h || !h->particles)
        return 0;
    double t0 = npg_wall_seconds();
    int due = 0;
    if (!last) {
        h->calls++;
        /* the first output time at or after each requested time (relative slack for the
         * rounding of j * output_every) */
        double slack = 1e-9 * (h->cfg->t_end > 0 ? h->cfg->t_end : 1.0);
        while (h->next_snapshot < h->cfg->snapshots_len &&
               h->cfg->snapshots[h->next_snapshot] <= t + slack) {
            h->next_snapshot++;
            due = 1;
        }
    } else {
        due = !h->cfg->snapshots_len && !(h->snapshots && h->last_snap_t == t);
    }
    int rc = due ? snapshot_write(h, t, sample, ctx, err, errlen) : 0;
    h->wall_s += npg_wall_seconds() - t0;
    return rc;
}

int npg_h5out_finish(npg_h5out *h, char *err, size_t errlen)
{
    if (!h)
        return 0;
    double t0 = npg_wall_seconds();
    const char *tu = h->cfg->time_unit[0] ? h->cfg->time_unit : "s";
    table m, hist, gr, traj;
    memset(&hist, 0, sizeof hist);
    memset(&gr, 0, sizeof gr);
    memset(&traj, 0, sizeof traj);
    err[0] = 0;
    int rc = table_read(h->dir, "moments.csv", &m, err, errlen);
    if (rc == 1)
        snprintf(err, errlen, "%s/moments.csv: missing (run.h5 is built from it)", h->dir);
    /* The three large files are read and parsed one thread each (plain C: no HDF5 call). */
    char eh[1024] = "", eg[1024] = "", et[1024] = "";
    int rh = -1, rg = -1, rt = -1;
    if (!rc) {
#pragma omp parallel sections num_threads(3) if (omp_get_max_threads() > 1)
        {
#pragma omp section
            if ((rh = table_read(h->dir, "histogram.csv", &hist, eh, sizeof eh)) == 0)
                table_parse(&hist);
#pragma omp section
            if ((rg = table_read(h->dir, "growth_rate.csv", &gr, eg, sizeof eg)) == 0)
                table_parse(&gr);
#pragma omp section
            if ((rt = table_read(h->dir, "trajectories.csv", &traj, et, sizeof et)) == 0)
                table_parse(&traj);
        }
        const char *e = rh < 0 ? eh : rg < 0 ? eg : rt < 0 ? et : NULL;
        if (e)
            snprintf(err, errlen, "%s", e);
    }
    double *mt = NULL;
    hid_t obs = -1;
    if (rc || rh < 0 || rg < 0 || rt < 0)
        goto done;
    rc = 1;
    int itm = table_col(&m, "t");
    mt = malloc((m.nrow ? m.nrow : 1) * sizeof *mt);
    if (itm < 0 || !mt) {
        snprintf(err, errlen, "%s/moments.csv: no column t", h->dir);
        goto done;
    }
    for (size_t r = 0; r < m.nrow; ++r)
        mt[r] = cell_num(&m, r, itm);
    obs = group(h->file, "observables");
    if (obs < 0 || write_moments(obs, &m, mt, tu)) {
        fail_h5(h, "/observables/moments", err, errlen);
        goto done;
    }
    /* coalescence runs: Group A/B counts beside the total (value_a + value_b = value) */
    static const char *const hn[] = {"value", "value_a", "value_b"},
                             *const hc[] = {"count", "count_a", "count_b"},
                             *const hu[] = {"particles", "particles", "particles"};
    static const double hf[] = {0.0, 0.0, 0.0};
    const int hk = table_col(&hist, "count_b") >= 0 ? 3 : 1;
    if (rh == 0 && write_binned(obs, "size_histogram", &hist, mt, m.nrow, tu, hn, hc, hu, hf, hk)) {
        fail_h5(h, "/observables/size_histogram (histogram.csv)", err, errlen);
        goto done;
    }
    static const char *const gn[] = {"value", "particles", "j_model"}, *const gc[] = {"mean_dn_dt",
                                                                                      "particles",
                                                                                      "j_model"};
    char rate_unit[32];
    snprintf(rate_unit, sizeof rate_unit, "monomers/%s", tu);
    const char *const gu[] = {rate_unit, "particles", rate_unit};
    static const double gf[] = {NAN, 0.0, NAN};
    if (rg == 0 && gr.nrow &&
        write_binned(obs, "growth_rate", &gr, mt, m.nrow, tu, gn, gc, gu, gf, 3)) {
        fail_h5(h, "/observables/growth_rate (growth_rate.csv)", err, errlen);
        goto done;
    }
    if (rt == 0 && traj.nrow && write_trajectories(obs, &traj, mt, m.nrow, tu)) {
        fail_h5(h, "/observables/trajectories (trajectories.csv)", err, errlen);
        goto done;
    }
    if (write_merge_events(h, tu, err, errlen))
        goto done;
    if (h->snap_time >= 0 && h->snap_value >= 0 &&
        (H5DSset_scale(h->snap_time, "snapshot_time") < 0 ||
         H5DSattach_scale(h->snap_value, h->snap_time, 0) < 0 ||
         H5DSattach_scale(h->snap_step, h->snap_time, 0) < 0)) {
        fail_h5(h, "/particles/ensemble/n_monomers", err, errlen);
        goto done;
    }
    h->wall_s += npg_wall_seconds() - t0;
    t0 = npg_wall_seconds();
    if (write_parameters(h->file, h, tu, err, errlen)) {
        fail_h5(h, err[0] ? NULL : "/parameters", err, errlen);
        goto done;
    }
    rc = 0;
done:
    if (obs >= 0)
        H5Gclose(obs);
    free(mt);
    table_free(&m);
    table_free(&hist);
    table_free(&gr);
    table_free(&traj);
    if (h->snap_value >= 0)
        H5Dclose(h->snap_value);
    if (h->snap_time >= 0)
        H5Dclose(h->snap_time);
    if (h->snap_step >= 0)
        H5Dclose(h->snap_step);
    if (h->snap_particle >= 0)
        H5Dclose(h->snap_particle);
    h->snap_value = h->snap_time = h->snap_step = h->snap_particle = -1;
    if (H5Fclose(h->file) < 0 && !rc)
        rc = fail_h5(h, "(closing it)", err, errlen);
    h->file = -1;
    npg_h5out_discard(h);
    return rc ? 1 : 0;
}

int npg_h5out_write_dir(const npg_config *cfg, const char *dir, const char *producer, char *err,
                        size_t errlen)
{
    npg_h5out *h = NULL;
    int rc = npg_h5out_open(&h, cfg, dir, producer, 0, err, errlen);
    return rc ? rc : npg_h5out_finish(h, err, errlen);
}
