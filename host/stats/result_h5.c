/* result_h5.c: npg_result from a run.h5 through the HDF5 C library (result_h5.h).
 *
 * The file's layout is README's "run.h5" (written by host/io/h5out.c from the CSV files and
 * run.yaml): the moments as one dataset per moments.csv column over /observables/moments/time,
 * the histogram as value[T][B] over time and n_lo scales (0 outside each time's rows), and
 * run.yaml's text as /parameters/run_yaml, parsed by the same reader as run.yaml itself. Every
 * dataset is checked for its shape and a numeric type before it is read, so a foreign, truncated
 * or damaged file gives a message naming the file and the missing or unreadable dataset.
 * HDF5's own error stack printing is off while reading (our messages, not its dump).
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "stats/result_h5.h"
#include "util/yaml_limits.h"

#define BAD          2            /* NPG_EXIT_USAGE */
#define H5R_MAX_ELEM (1ull << 30) /* elements of one dataset read whole (8 GiB of doubles) */

typedef struct h5r {
    hid_t file;
    const char *path;
    char *err;
    size_t errlen;
} h5r;

/* The innermost HDF5 error description (e.g. "truncated file: eof = ..."), or "". */
static herr_t first_desc(unsigned n, const H5E_error2_t *e, void *data)
{
    char *buf = data;
    if (!n && e->desc && *e->desc)
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

static int fail(const h5r *h, const char *name, const char *what)
{
    char detail[200] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_desc, detail);
    snprintf(h->err, h->errlen, "%s: %s%s%s%s%s", h->path, name ? name : "", name ? ": " : "", what,
             detail[0] ? " (HDF5: " : "", detail[0] ? detail : "");
    if (detail[0])
        strncat(h->err, ")", h->errlen - strlen(h->err) - 1);
    H5Eclear2(H5E_DEFAULT);
    return BAD;
}

/* Opens dataset name; 0, 1 when absent and optional (no message), else BAD with a message. */
static int open_dset(const h5r *h, const char *name, int optional, hid_t *d)
{
    *d = -1;
    htri_t ok = H5LTpath_valid(h->file, name, 1);
    if (ok == 0 && optional)
        return 1;
    if (ok <= 0)
        return fail(h, name,
                    ok == 0 ? "missing (not a run.h5 of npgrow run or me?)"
                            : "unreadable (damaged file?)");
    if ((*d = H5Dopen2(h->file, name, H5P_DEFAULT)) < 0)
        return fail(h, name, "not a dataset");
    return 0;
}

/* The shape of dataset d: rank must be `rank`, dims[] filled. */
static int shape(const h5r *h, const char *name, hid_t d, int rank, hsize_t *dims)
{
    hid_t s = H5Dget_space(d);
    int r = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
    if (r == rank && rank > 0)
        r = H5Sget_simple_extent_dims(s, dims, NULL) == rank ? rank : -1;
    if (s >= 0)
        H5Sclose(s);
    if (r < 0)
        return fail(h, name, "unreadable dataspace (damaged file?)");
    if (r != rank) {
        char what[80];
        snprintf(what, sizeof what, "%d dimensions, expected %d", r, rank);
        return fail(h, name, what);
    }
    return 0;
}

/* Reads the numeric dataset d of n elements as doubles into a new array *out. */
static int read_doubles(const h5r *h, const char *name, hid_t d, hsize_t n, double **out)
{
    *out = NULL;
    hid_t t = H5Dget_type(d);
    H5T_class_t c = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    if (t >= 0)
        H5Tclose(t);
    if (c != H5T_INTEGER && c != H5T_FLOAT)
        return fail(h, name, "not a numeric dataset");
    if (n > H5R_MAX_ELEM)
        return fail(h, name, "too large to read (more than 2^30 values)");
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return fail(h, name, "out of memory");
    if (n && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        free(*out);
        *out = NULL;
        return fail(h, name, "cannot read the data (truncated or damaged file?)");
    }
    return 0;
}

/* A 1-D numeric dataset: *n its length (checked against want when want != NULL). */
static int read_1d(const h5r *h, const char *name, int optional, const hsize_t *want, double **out,
                   hsize_t *n)
{
    hid_t d;
    *out = NULL;
    int rc = open_dset(h, name, optional, &d);
    if (rc)
        return rc;
    hsize_t dims[1] = {0};
    rc = shape(h, name, d, 1, dims);
    if (!rc && want && dims[0] != *want) {
        char what[120];
        snprintf(what, sizeof what, "%llu values, expected %llu (one per time)",
                 (unsigned long long)dims[0], (unsigned long long)*want);
        rc = fail(h, name, what);
    }
    if (!rc)
        rc = read_doubles(h, name, d, dims[0], out);
    if (n)
        *n = dims[0];
    H5Dclose(d);
    return rc;
}

/* /parameters/run_yaml (a scalar string, fixed or variable length) parsed as run.yaml. */
static int read_run_yaml(const h5r *h, npg_result *r)
{
    static const char name[] = "/parameters/run_yaml";
    hid_t d;
    int rc = open_dset(h, name, 0, &d);
    if (rc)
        return rc;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    char *text = NULL;
    size_t len = 0;
    if (t < 0 || s < 0 || H5Tget_class(t) != H5T_STRING ||
        H5Sget_simple_extent_type(s) != H5S_SCALAR) {
        rc = fail(h, name, "not a scalar string");
    } else if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* ASCII or UTF-8: no conversion between the two */
        char *v = NULL;
        if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0 || !v) {
            rc = fail(h, name, "cannot read the text (truncated or damaged file?)");
        } else {
            len = strlen(v);
            text = len <= NPG_YAML_MAX_BYTES ? strdup(v) : NULL;
            H5Dvlen_reclaim(mt, s, H5P_DEFAULT, &v);
        }
        H5Tclose(mt);
    } else {
        size_t size = H5Tget_size(t);
        len = size;
        if (size && size <= NPG_YAML_MAX_BYTES + 1 && (text = calloc(size + 1, 1))) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, size);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0)
                rc = fail(h, name, "cannot read the text (truncated or damaged file?)");
            H5Tclose(mt);
            len = strlen(text);
        }
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    if (!rc && len > NPG_YAML_MAX_BYTES)
        rc = fail(h, name, "longer than 1 MiB: not a run.yaml of npgrow");
    else if (!rc && !text)
        rc = fail(h, name, "out of memory");
    if (!rc) {
        char where[1300];
        snprintf(where, sizeof where, "%s:%s", h->path, name);
        FILE *f = len ? fmemopen(text, len, "r") : NULL;
        if (!f) {
            rc = fail(h, name, "empty");
        } else {
            rc = npg_result_read_yaml(f, where, r, h->err, h->errlen);
            fclose(f);
        }
    }
    free(text);
    return rc;
}

/* /observables/moments: t, particles, var_n, mean_n, m2..m10 (m_q optional: NAN when absent). */
static int read_moments(const h5r *h, npg_result *r)
{
    static const char g[] = "/observables/moments/";
    char name[96];
    hsize_t T = 0;
    double *v = NULL;
    snprintf(name, sizeof name, "%stime", g);
    int rc = read_1d(h, name, 0, NULL, &r->t, &T);
    if (rc)
        return rc;
    r->nt = (size_t)T;
    if (!T)
        return fail(h, name, "no output times");
    for (size_t i = 0; i < T; ++i)
        if (isnan(r->t[i]) || (i && !(r->t[i] > r->t[i - 1])))
            return fail(h, name, "times must be numbers that increase");
    r->m = malloc(T * 11 * sizeof *r->m);
    if (!r->m)
        return fail(h, name, "out of memory");
    rc = read_1d(h, "/observables/moments/particles", 0, &T, &r->particles, NULL);
    /* column q of m: 0 var_n, 1 mean_n, 2..10 m_q */
    for (int q = 0; q <= 10 && !rc; ++q) {
        if (q >= 2)
            snprintf(name, sizeof name, "%sm%d", g, q);
        else
            snprintf(name, sizeof name, "%s%s", g, q ? "mean_n" : "var_n");
        rc = read_1d(h, name, q >= 2, &T, &v, NULL);
        if (rc == 1) {
            rc = 0;
            for (size_t i = 0; i < T; ++i)
                r->m[11 * i + q] = NAN;
            continue;
        }
        for (size_t i = 0; !rc && i < T; ++i)
            r->m[11 * i + q] = v[i];
        free(v);
        v = NULL;
    }
    if (!rc) { /* coalescence runs: merges so far (optional) */
        snprintf(name, sizeof name, "%scoalescences", g);
        rc = read_1d(h, name, 1, &T, &r->merges, NULL);
        if (rc == 1) {
            rc = 0;
            r->merges = NULL;
        }
    }
    return rc;
}

/* /observables/size_histogram: per time, the bins from the first to the last non-zero count. */
static int read_histogram(const h5r *h, npg_result *r)
{
    static const char nv[] = "/observables/size_histogram/value";
    double *t = NULL, *lo = NULL, *hi = NULL, *c = NULL;
    hsize_t T = 0, B = 0, dims[2] = {0, 0};
    hid_t d = -1;
    int rc = read_1d(h, "/observables/size_histogram/time", 0, NULL, &t, &T);
    if (!rc)
        rc = read_1d(h, "/observables/size_histogram/n_lo", 0, NULL, &lo, &B);
    if (!rc)
        rc = read_1d(h, "/observables/size_histogram/n_hi", 0, &B, &hi, NULL);
    if (!rc)
        rc = open_dset(h, nv, 0, &d);
    if (!rc)
        rc = shape(h, nv, d, 2, dims);
    if (!rc && (dims[0] != T || dims[1] != B)) {
        char what[160];
        snprintf(what, sizeof what, "%llu x %llu values, expected time x n_lo = %llu x %llu",
                 (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)T,
                 (unsigned long long)B);
        rc = fail(h, nv, what);
    }
    if (!rc && B && T > H5R_MAX_ELEM / B)
        rc = fail(h, nv, "too large to read (more than 2^30 values)");
    if (!rc)
        rc = read_doubles(h, nv, d, T * B, &c);
    if (d >= 0)
        H5Dclose(d);
    for (size_t i = 0; !rc && i < T; ++i)
        if (isnan(t[i]) || (i && !(t[i] > t[i - 1])))
            rc = fail(h, "/observables/size_histogram/time", "times must be numbers that increase");
    for (size_t j = 0; !rc && j < B; ++j)
        if (!(lo[j] >= 0) || !(hi[j] >= lo[j]) || hi[j] > (double)UINT32_MAX ||
            (j && !(lo[j] > hi[j - 1])))
            rc = fail(h, "/observables/size_histogram/n_lo, n_hi",
                      "bins must be 0 <= n_lo <= n_hi < 2^32, increasing and disjoint");
    for (size_t k = 0; !rc && k < T * B; ++k)
        if (!(c[k] >= 0.0))
            rc = fail(h, nv, "counts must be numbers >= 0");
    size_t rows = 0;
    if (!rc && T > 0 && B > 0) {
        r->ht = malloc(T * B * sizeof *r->ht);
        r->lo = malloc(T * B * sizeof *r->lo);
        r->hi = malloc(T * B * sizeof *r->hi);
        r->count = malloc(T * B * sizeof *r->count);
        if (!r->ht || !r->lo || !r->hi || !r->count)
            rc = fail(h, nv, "out of memory");
    }
    for (size_t i = 0; !rc && i < T; ++i) {
        const double *ci = c + i * B;
        size_t first = B, last = 0;
        for (size_t j = 0; j < B; ++j)
            if (ci[j] > 0.0) {
                if (first == B)
                    first = j;
                last = j;
            }
        for (size_t j = first; j < B && j <= last; ++j) {
            r->ht[rows] = t[i];
            r->lo[rows] = (uint32_t)lo[j];
            r->hi[rows] = (uint32_t)hi[j];
            r->count[rows] = ci[j];
            ++rows;
        }
    }
    r->nh = rows;
    free(t);
    free(lo);
    free(hi);
    free(c);
    return rc;
}

int npg_result_load_h5(const char *path, npg_result *r, char *err, size_t errlen)
{
    h5r h = {-1, path, err, errlen};
    H5E_auto2_t old_fn = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages, not HDF5's error stack dump */
    int rc = 0;
    struct stat sb;
    int fd = -1;
    if (stat(path, &sb) || (S_ISREG(sb.st_mode) && (fd = open(path, O_RDONLY)) < 0)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = BAD;
    } else if (!S_ISREG(sb.st_mode)) { /* a FIFO would block, a device is no result */
        snprintf(err, errlen, "%s: not a regular file", path);
        rc = BAD;
    } else {
        close(fd);
        htri_t is = H5Fis_hdf5(path);
        if (is <= 0) {
            rc = fail(&h, NULL,
                      is == 0 ? "not an HDF5 file (no HDF5 signature)" : "cannot be read as HDF5");
        } else {
            hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
            H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG); /* closing the file closes all */
            h.file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
            if (h.file < 0) /* before H5Pclose, which clears the error stack */
                rc = fail(&h, NULL, "HDF5 file cannot be opened (truncated or damaged?)");
            H5Pclose(fapl);
        }
    }
    if (!rc)
        rc = read_run_yaml(&h, r);
    if (!rc)
        rc = read_moments(&h, r);
    if (!rc)
        rc = read_histogram(&h, r);
    if (h.file >= 0)
        H5Fclose(h.file);
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return rc;
}
