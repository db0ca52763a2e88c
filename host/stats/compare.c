/* compare.c: read two result directories and compare them statistically (compare.h).
 *
 * Statistics follow the DSMTS convention (Evans et al., the discrete stochastic models test
 * suite): Z = sqrt(N)(xbar - mu)/sigma for the mean, against the deterministic side as the exact
 * reference; two stochastic sides use the two-sample forms. For the variance DSMTS's
 * Y = sqrt(N/2)(s^2/sigma^2 - 1) assumes normal data (Var s^2 = 2 sigma^4/N); size distributions
 * here are skewed (lognormal starts have kurtosis ~16, so that Y has sd ~2.8 and |Y| <= 5 would
 * fail by chance). The pass test therefore uses Y = (s^2 - sigma^2)/sqrt((mu4 - sigma^4)/N) with
 * the reference's own fourth central moment; the normal-theory value is reported as Y_normal. The
 * KS distance is taken between the binned CDFs (conservative for binned data). It deliberately does
 * not interpolate between output times: only common times count.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_cdf.h>
#include <yaml.h>

#include "npgrow/compare.h"

#include "stats/result_h5.h"
#include "util/yaml_limits.h"

#define BAD 2 /* NPG_EXIT_USAGE */

/* ---- reading ------------------------------------------------------------------------------- */

/* Split a CSV line in place on commas (no quoting in npgrow's files); returns the field count. */
static int split_csv(char *line, char **f, int maxf)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    char *p = line;
    for (;;) {
        if (n < maxf)
            f[n] = p;
        ++n;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static int col_index(char **h, int nh, const char *name)
{
    for (int i = 0; i < nh; ++i)
        if (!strcmp(h[i], name))
            return i;
    return -1;
}

static int to_num(const char *s, double *v)
{
    char *end;
    if (!*s) {
        *v = NAN;
        return 0;
    }
    errno = 0;
    *v = strtod(s, &end);
    return *end != 0;
}

#define MAXF 64
#define LINE 8192

typedef struct csv {
    FILE *f;
    char path[1200];
    char head[LINE], line[LINE];
    char *h[MAXF];
    int nh;
    long row;
} csv;

static int csv_open(csv *c, const char *dir, const char *name, char *err, size_t errlen)
{
    snprintf(c->path, sizeof c->path, "%s/%s", dir, name);
    c->f = fopen(c->path, "r");
    c->row = 1;
    if (!c->f) {
        snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
        return BAD;
    }
    if (!fgets(c->head, sizeof c->head, c->f)) {
        snprintf(err, errlen, "%s: empty file (no header row)", c->path);
        fclose(c->f);
        c->f = NULL;
        return BAD;
    }
    c->nh = split_csv(c->head, c->h, MAXF);
    if (c->nh > MAXF)
        c->nh = MAXF;
    return 0;
}

static int need_col(const csv *c, const char *name, int *idx, char *err, size_t errlen)
{
    *idx = col_index((char **)c->h, c->nh, name);
    if (*idx < 0) {
        snprintf(err, errlen, "%s: missing column '%s'", c->path, name);
        return BAD;
    }
    return 0;
}

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? 2 * *cap : 256;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return 1;
    *p = q;
    *cap = nc;
    return 0;
}

static int load_moments(const char *dir, npg_result *r, char *err, size_t errlen)
{
    csv c;
    int rc = csv_open(&c, dir, "moments.csv", err, errlen);
    if (rc)
        return rc;
    int it, ip, iv = -1, im[11];
    im[1] = -1;
    if ((rc = need_col(&c, "t", &it, err, errlen)) ||
        (rc = need_col(&c, "particles", &ip, err, errlen)) ||
        (r->sizes && ((rc = need_col(&c, "var_n", &iv, err, errlen)) ||
                      (rc = need_col(&c, "mean_n", &im[1], err, errlen))))) {
        fclose(c.f);
        return rc;
    }
    for (int q = 2; q <= 10; ++q) {
        char name[8];
        snprintf(name, sizeof name, "m%d", q);
        im[q] = col_index(c.h, c.nh, name); /* optional: NAN when absent */
    }
    const int icoal = col_index(c.h, c.nh, "coalescences"); /* optional */
    const int ikf = col_index(c.h, c.nh, "kf");             /* optional, with coalescences */
    if (!r->sizes && icoal < 0) {
        snprintf(err, errlen, "%s: missing column 'coalescences' (a pair result compares A and kf)",
                 c.path);
        fclose(c.f);
        return BAD;
    }
    size_t cap_t = 0, cap_p = 0, cap_m = 0, cap_c = 0, cap_k = 0;
    char *f[MAXF];
    while (fgets(c.line, sizeof c.line, c.f)) {
        ++c.row;
        if (c.line[0] == '\n' || c.line[0] == 0)
            continue;
        int nf = split_csv(c.line, f, MAXF);
        if (nf < c.nh) {
            snprintf(err, errlen, "%s:%ld: %d fields, the header has %d", c.path, c.row, nf, c.nh);
            fclose(c.f);
            return BAD;
        }
        size_t i = r->nt;
        size_t cm = cap_m / 11;
        if (grow((void **)&r->t, &cap_t, i, sizeof *r->t) ||
            grow((void **)&r->particles, &cap_p, i, sizeof *r->particles) ||
            grow((void **)&r->m, &cm, i, 11 * sizeof *r->m) ||
            (icoal >= 0 && grow((void **)&r->merges, &cap_c, i, sizeof *r->merges)) ||
            (icoal >= 0 && ikf >= 0 && grow((void **)&r->kf, &cap_k, i, sizeof *r->kf))) {
            snprintf(err, errlen, "out of memory reading %s", c.path);
            fclose(c.f);
            return 1;
        }
        cap_m = cm * 11;
        double *m = r->m + 11 * i;
        int bad = to_num(f[it], &r->t[i]) || to_num(f[ip], &r->particles[i]);
        m[0] = m[1] = NAN;
        if (r->sizes)
            bad = bad || to_num(f[iv], &m[0]) || to_num(f[im[1]], &m[1]);
        for (int q = 2; q <= 10 && !bad; ++q)
            if (im[q] >= 0)
                bad = to_num(f[im[q]], &m[q]);
            else
                m[q] = NAN;
        if (!bad && icoal >= 0)
            bad = to_num(f[icoal], &r->merges[i]);
        if (!bad && icoal >= 0 && ikf >= 0)
            bad = to_num(f[ikf], &r->kf[i]); /* empty (NAN) at t = 0 */
        if (bad || isnan(r->t[i]) || (!r->sizes && !(r->particles[i] >= 0.0))) {
            snprintf(err, errlen,
                     "%s:%ld: not a number in t, particles, mean_n, var_n, m_q, coalescences or "
                     "kf",
                     c.path, c.row);
            fclose(c.f);
            return BAD;
        }
        if (i > 0 && !(r->t[i] > r->t[i - 1])) {
            snprintf(err, errlen, "%s:%ld: times must increase", c.path, c.row);
            fclose(c.f);
            return BAD;
        }
        r->nt++;
    }
    fclose(c.f);
    if (!r->nt) {
        snprintf(err, errlen, "%s: no data rows", c.path);
        return BAD;
    }
    return 0;
}

static int load_histogram(const char *dir, npg_result *r, char *err, size_t errlen)
{
    csv c;
    int rc = csv_open(&c, dir, "histogram.csv", err, errlen);
    if (rc)
        return rc;
    int it, ilo, ihi, ic;
    if ((rc = need_col(&c, "t", &it, err, errlen)) ||
        (rc = need_col(&c, "n_lo", &ilo, err, errlen)) ||
        (rc = need_col(&c, "n_hi", &ihi, err, errlen)) ||
        (rc = need_col(&c, "count", &ic, err, errlen))) {
        fclose(c.f);
        return rc;
    }
    size_t c1 = 0, c2 = 0, c3 = 0, c4 = 0;
    char *f[MAXF];
    while (fgets(c.line, sizeof c.line, c.f)) {
        ++c.row;
        if (c.line[0] == '\n' || c.line[0] == 0)
            continue;
        int nf = split_csv(c.line, f, MAXF);
        size_t i = r->nh;
        if (nf < c.nh) {
            snprintf(err, errlen, "%s:%ld: %d fields, the header has %d", c.path, c.row, nf, c.nh);
            fclose(c.f);
            return BAD;
        }
        if (grow((void **)&r->ht, &c1, i, sizeof *r->ht) ||
            grow((void **)&r->lo, &c2, i, sizeof *r->lo) ||
            grow((void **)&r->hi, &c3, i, sizeof *r->hi) ||
            grow((void **)&r->count, &c4, i, sizeof *r->count)) {
            snprintf(err, errlen, "out of memory reading %s", c.path);
            fclose(c.f);
            return 1;
        }
        double lo, hi;
        if (to_num(f[it], &r->ht[i]) || to_num(f[ilo], &lo) || to_num(f[ihi], &hi) ||
            to_num(f[ic], &r->count[i]) || !(lo >= 0) || !(hi >= lo) || hi > (double)UINT32_MAX ||
            !(r->count[i] >= 0.0)) {
            snprintf(err, errlen, "%s:%ld: bad t, n_lo, n_hi or count", c.path, c.row);
            fclose(c.f);
            return BAD;
        }
        if (i > 0 &&
            (r->ht[i] < r->ht[i - 1] || (r->ht[i] == r->ht[i - 1] && lo <= r->hi[i - 1]))) {
            snprintf(err, errlen, "%s:%ld: rows must be ordered by t, then by increasing bins",
                     c.path, c.row);
            fclose(c.f);
            return BAD;
        }
        r->lo[i] = (uint32_t)lo;
        r->hi[i] = (uint32_t)hi;
        r->nh++;
    }
    fclose(c.f);
    return 0;
}

/* A number in a YAML scalar node, or NAN. */
static double node_num(const yaml_node_t *v)
{
    if (!v || v->type != YAML_SCALAR_NODE)
        return NAN;
    double x;
    return to_num((const char *)v->data.scalar.value, &x) ? NAN : x;
}

/* The value node of `key` in a mapping node, or NULL. */
/* Keys of run.yaml: producer, particles, status, t_reached, config.run.t_end. */
int npg_result_read_yaml(FILE *f, const char *path, npg_result *r, char *err, size_t errlen)
{
    yaml_mark_t lm;
    const char *what = "";
    if (npg_yaml_prescan(f, &lm, &what)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, lm.line + 1, lm.column + 1, what);
        return BAD;
    }
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "%s: cannot start the YAML parser", path);
        return 1;
    }
    yaml_parser_set_input_file(&p, f);
    int ok = yaml_parser_load(&p, &d);
    int rc = 0;
    if (!ok) {
        snprintf(err, errlen, "%s:%zu: YAML error: %s", path, p.problem_mark.line + 1,
                 p.problem ? p.problem : "?");
        rc = BAD;
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&d);
        int has_particles = 0;
        char kinetics[32] = "";
        if (!root || root->type != YAML_MAPPING_NODE) {
            snprintf(err, errlen, "%s: expected a mapping at the top level", path);
            rc = BAD;
        } else {
            for (yaml_node_pair_t *q = root->data.mapping.pairs.start;
                 q < root->data.mapping.pairs.top; ++q) {
                yaml_node_t *k = yaml_document_get_node(&d, q->key);
                yaml_node_t *v = yaml_document_get_node(&d, q->value);
                if (!k || k->type != YAML_SCALAR_NODE)
                    continue;
                const char *key = (const char *)k->data.scalar.value;
                if (!strcmp(key, "producer") && v && v->type == YAML_SCALAR_NODE)
                    snprintf(r->producer, sizeof r->producer, "%s",
                             (const char *)v->data.scalar.value);
                else if (!strcmp(key, "status") && v && v->type == YAML_SCALAR_NODE)
                    snprintf(r->status, sizeof r->status, "%s", (const char *)v->data.scalar.value);
                else if (!strcmp(key, "t_reached"))
                    r->t_reached = node_num(v);
                else if (!strcmp(key, "particles"))
                    has_particles = 1;
                else if (!strcmp(key, "kinetics") && v && v->type == YAML_SCALAR_NODE)
                    snprintf(kinetics, sizeof kinetics, "%s", (const char *)v->data.scalar.value);
            }
            r->t_end = node_num(npg_yaml_map_get(
                &d, npg_yaml_map_get(&d, npg_yaml_map_get(&d, root, "config"), "run"), "t_end"));
            if (!strcmp(r->producer, "run"))
                r->stochastic = 1;
            else if (!strcmp(r->producer, "me"))
                r->stochastic = 0;
            else if (!strcmp(r->producer, "pair")) {
                r->stochastic = 0;
                r->sizes = 0; /* the pair equation has no size distribution */
                if (strcmp(kinetics, "box")) {
                    /* kinetics: study is the study's A(t), whose k_f absorbs the density: not a
                     * particle ensemble's A and kf (model.md 3.4) */
                    snprintf(err, errlen,
                             "%s: a pair result with kinetics: %s; only pair.kinetics: box (dA/dt "
                             "= -(N(0)/V)/2 k_f A^2) is the A and kf of a particle run",
                             path, kinetics[0] ? kinetics : "(missing)");
                    rc = BAD;
                }
            } else
                r->stochastic = has_particles;
        }
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    return rc;
}

static int load_yaml(const char *dir, npg_result *r, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BAD;
    }
    struct stat sb;
    if (!fstat(fileno(f), &sb) && S_ISREG(sb.st_mode) && sb.st_size > NPG_YAML_MAX_BYTES) {
        fclose(f);
        snprintf(err, errlen, "%s: %lld bytes: not a run.yaml of npgrow (at most 1 MiB)", path,
                 (long long)sb.st_size);
        return BAD;
    }
    int rc = npg_result_read_yaml(f, path, r, err, errlen);
    fclose(f);
    return rc;
}

void npg_result_free(npg_result *r)
{
    free(r->t);
    free(r->particles);
    free(r->m);
    free(r->ht);
    free(r->lo);
    free(r->hi);
    free(r->count);
    free(r->merges);
    free(r->kf);
    memset(r, 0, sizeof *r);
}

/* Is path an existing file (not a directory), or does dir/name exist? */
static int is_file(const char *path)
{
    struct stat sb;
    return !stat(path, &sb) && !S_ISDIR(sb.st_mode);
}

static int exists_in(const char *dir, const char *name)
{
    char path[1200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return !stat(path, &sb);
}

int npg_result_load(const char *dir, npg_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->t_reached = r->t_end = NAN;
    r->sizes = 1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    int rc;
    struct stat sb;
    if (stat(dir, &sb)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return BAD;
    }
    /* A run.h5 given by name, or a directory holding run.h5 but neither CSV file: the CSV files
     * stay the source whenever they are there (run.h5 is built from them). */
    if (is_file(dir) || (!exists_in(dir, "moments.csv") && !exists_in(dir, "histogram.csv") &&
                         exists_in(dir, "run.h5"))) {
        char path[1200];
        if (is_file(dir))
            snprintf(path, sizeof path, "%s", dir);
        else
            snprintf(path, sizeof path, "%s/run.h5", dir);
        if ((rc = npg_result_load_h5(path, r, err, errlen)))
            npg_result_free(r);
        return rc;
    }
    if ((rc = load_yaml(dir, r, err, errlen)) || (rc = load_moments(dir, r, err, errlen)) ||
        (r->sizes && (rc = load_histogram(dir, r, err, errlen)))) {
        npg_result_free(r);
        return rc;
    }
    return 0;
}

/* ---- statistics ---------------------------------------------------------------------------- */

double npg_ks_c(double alpha)
{
    return sqrt(-log(0.5 * alpha) / 2.0);
}

static int same_time(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(a) > 1.0 ? fabs(a) : 1.0);
}

/* Histogram rows [*first, *end) of r at time t (rows are grouped by t). */
static void hist_rows(const npg_result *r, double t, size_t *first, size_t *end)
{
    size_t lo = 0, hi = r->nh; /* first row with ht >= t (minus tolerance) */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->ht[mid] < t && !same_time(r->ht[mid], t))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t e = lo;
    while (e < r->nh && same_time(r->ht[e], t))
        ++e;
    *first = lo;
    *end = e;
}

/* L1 and KS distances between the binned distributions of a and b at time t. Bins present on
 * both sides must coincide; a bin on one side only must not overlap the other side's bins. */
static int hist_distance(const npg_result *a, const npg_result *b, double t, double *L1, double *KS,
                         char *err, size_t errlen)
{
    size_t ia, ea, ib, eb;
    hist_rows(a, t, &ia, &ea);
    hist_rows(b, t, &ib, &eb);
    double ta = 0.0, tb = 0.0;
    for (size_t i = ia; i < ea; ++i)
        ta += a->count[i];
    for (size_t i = ib; i < eb; ++i)
        tb += b->count[i];
    *L1 = *KS = NAN;
    if (!(ta > 0.0) || !(tb > 0.0))
        return 0; /* nothing alive on a side: no distribution to compare */
    double Fa = 0.0, Fb = 0.0, l1 = 0.0, ks = 0.0;
    while (ia < ea || ib < eb) {
        double pa = 0.0, pb = 0.0;
        if (ia < ea && ib < eb && a->lo[ia] == b->lo[ib]) {
            if (a->hi[ia] != b->hi[ib]) {
                snprintf(err, errlen,
                         "histogram bins differ at t = %g: [%u, %u] in %s, [%u, %u] in %s "
                         "(use the same bin layout)",
                         t, a->lo[ia], a->hi[ia], a->dir, b->lo[ib], b->hi[ib], b->dir);
                return BAD;
            }
            pa = a->count[ia++] / ta;
            pb = b->count[ib++] / tb;
        } else if (ib >= eb || (ia < ea && a->lo[ia] < b->lo[ib])) {
            if (ib < eb && a->hi[ia] >= b->lo[ib]) {
                snprintf(err, errlen, "histogram bins overlap at t = %g: [%u, %u] in %s", t,
                         a->lo[ia], a->hi[ia], a->dir);
                return BAD;
            }
            pa = a->count[ia++] / ta;
        } else {
            if (ia < ea && b->hi[ib] >= a->lo[ia]) {
                snprintf(err, errlen, "histogram bins overlap at t = %g: [%u, %u] in %s", t,
                         b->lo[ib], b->hi[ib], b->dir);
                return BAD;
            }
            pb = b->count[ib++] / tb;
        }
        Fa += pa;
        Fb += pb;
        l1 += fabs(pa - pb);
        if (fabs(Fa - Fb) > ks)
            ks = fabs(Fa - Fb);
    }
    *L1 = l1;
    *KS = ks;
    return 0;
}

/* Central fourth moment from raw moments m1..m4 (NAN when absent). */
static double mu4(const double *m)
{
    double a = m[1];
    return m[4] - 4.0 * m[3] * a + 6.0 * m[2] * a * a - 3.0 * a * a * a * a;
}

/* Variance of the sample variance of N draws: (mu4 - sigma^4)/N; 2 sigma^4/N (the normal
 * value DSMTS assumes) when mu4 is unknown or not above sigma^4 through rounding. */
static double var_s2(double m4c, double sig2, double N)
{
    if (!(m4c > sig2 * sig2))
        return 2.0 * sig2 * sig2 / N;
    return (m4c - sig2 * sig2) / N;
}

static double rel_diff(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a != 0.0 ? (b - a) / fabs(a) : b - a;
}

/* A normal score of an exact count test: the upper tail P[X >= k] when k is above the mean,
 * else the lower tail P[X <= k], each capped at 1/2 and mapped through the normal quantile (z of
 * the same one-sided probability, signed): exact for small counts, where (k - mean)/sd is not. */
static double tail_z(double upper, double lower, int above)
{
    if (above)
        return gsl_cdf_ugaussian_Qinv(fmin(upper, 0.5));
    return -gsl_cdf_ugaussian_Qinv(fmin(lower, 0.5));
}

/* Z_kf of row w from rows i (side a) and j (side b), whose previous rows are common too: the
 * merges in the interval against the rate coefficient (npg_compare_row). */
static double kf_z(const npg_result *a, size_t i, const npg_result *b, size_t j,
                   npg_compare_mode mode)
{
    const npg_result *sd[2] = {a, b};
    const size_t ix[2] = {i, j};
    double M[2], w[2], kf[2];
    const double dt = a->t[i] - a->t[i - 1];
    for (int k = 0; k < 2; ++k) {
        const npg_result *r = sd[k];
        const size_t x = ix[k];
        const double n0 = r->particles[0] > 0.0 ? r->particles[0] : 1.0;
        M[k] = r->merges[x] - r->merges[x - 1];
        /* exposure from the count at the start of the interval only (the count at its end
         * holds the merges under test): merges ~ kf N_prev^2 dt / N(0) */
        w[k] = r->particles[x - 1] * r->particles[x - 1] * dt / n0;
        kf[k] = r->kf[x];
    }
    if (mode == NPG_COMPARE_ONE_SAMPLE) {
        const int s = a->stochastic ? 0 : 1; /* the particle side; 1 - s the reference */
        /* the reference's own ratio N_x / N_{x-1} carries the depletion (and a source) over
         * the interval: merges = kf N_prev N_x dt / N(0) with N_x = N_prev (ref ratio) */
        const npg_result *rf = sd[1 - s];
        const size_t xr = ix[1 - s];
        const double ratio =
            rf->particles[xr - 1] > 0.0 ? rf->particles[xr] / rf->particles[xr - 1] : NAN;
        const double mu = kf[1 - s] * w[s] * ratio, k = M[s];
        if (isnan(mu) || mu < 0.0 || k < 0.0 || k != floor(k))
            return NAN;
        if (mu == 0.0)
            return k == 0.0 ? 0.0 : INFINITY;
        /* P[X >= k] = Q(k - 1), P[X <= k] = P(k) */
        const unsigned int u = (unsigned int)k;
        return tail_z(u ? gsl_cdf_poisson_Q(u - 1, mu) : 1.0, gsl_cdf_poisson_P(u, mu), k > mu);
    }
    /* two-sample: given n = M_a + M_b, M_b ~ Binomial(n, w_b / (w_a + w_b)) */
    if (M[0] < 0.0 || M[1] < 0.0 || M[0] != floor(M[0]) || M[1] != floor(M[1]) || !(w[0] > 0.0) ||
        !(w[1] > 0.0))
        return NAN;
    const double n = M[0] + M[1], q = w[1] / (w[0] + w[1]);
    if (n == 0.0)
        return 0.0;
    const unsigned int kb = (unsigned int)M[1], nn = (unsigned int)n;
    return tail_z(kb ? gsl_cdf_binomial_Q(kb - 1, q, nn) : 1.0, gsl_cdf_binomial_P(kb, q, nn),
                  M[1] > n * q);
}

void npg_compare_result_free(npg_compare_result *r)
{
    free(r->rows);
    memset(r, 0, sizeof *r);
}

int npg_compare(const npg_result *a, const npg_result *b, const npg_compare_options *opt,
                npg_compare_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    npg_compare_options o = {3.0, 5.0, 1e-3, 1e-6, 0};
    if (opt) {
        if (opt->z_max > 0.0)
            o.z_max = opt->z_max;
        if (opt->y_max > 0.0)
            o.y_max = opt->y_max;
        if (opt->alpha > 0.0)
            o.alpha = opt->alpha;
        if (opt->rtol > 0.0)
            o.rtol = opt->rtol;
        o.partial = opt->partial;
    }
    out->mode = a->stochastic && b->stochastic   ? NPG_COMPARE_TWO_SAMPLE
                : a->stochastic || b->stochastic ? NPG_COMPARE_ONE_SAMPLE
                                                 : NPG_COMPARE_DETERMINISTIC;
    out->reference_is_a = !a->stochastic;
    out->rows = calloc(a->nt < b->nt ? a->nt : b->nt, sizeof *out->rows);
    if (!out->rows) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    const double c = npg_ks_c(o.alpha);
    out->pass = 1;
    /* both sides have sizes (mean, variance, histogram), or compare A and kf only */
    const int sizes = a->sizes && b->sizes;
    const int counts = a->merges && b->merges;
    size_t i = 0, j = 0, last_i = SIZE_MAX, last_j = SIZE_MAX;
    while (i < a->nt && j < b->nt) {
        if (!same_time(a->t[i], b->t[j])) {
            if (a->t[i] < b->t[j])
                ++i, ++out->only_a;
            else
                ++j, ++out->only_b;
            continue;
        }
        npg_compare_row *w = &out->rows[out->n++];
        const double *ma = a->m + 11 * i, *mb = b->m + 11 * j;
        w->t = a->t[i];
        w->n_a = a->particles[i];
        w->n_b = b->particles[j];
        w->mean_a = ma[1];
        w->mean_b = mb[1];
        w->var_a = ma[0];
        w->var_b = mb[0];
        w->rel[0] = NAN;
        w->rel[1] = rel_diff(ma[1], mb[1]);
        w->rel[2] = rel_diff(ma[0], mb[0]);
        for (int q = 3; q <= 10; ++q)
            w->rel[q] = rel_diff(ma[q], mb[q]);
        w->Z = w->p_z = w->Y = w->Y_normal = w->KS_crit = w->Z_count = w->Z_kf = NAN;
        w->kf_a = a->kf ? a->kf[i] : NAN;
        w->kf_b = b->kf ? b->kf[j] : NAN;
        int rc = hist_distance(a, b, w->t, &w->L1, &w->KS, err, errlen);
        if (rc)
            return rc;
        int pass = 1;
        const double nmin = NPG_COMPARE_MIN_PARTICLES;
        if (out->mode == NPG_COMPARE_DETERMINISTIC) {
            /* Nothing alive on either side: no mean or variance to compare. */
            if (sizes) {
                w->tested = !isnan(w->rel[1]) && !isnan(w->rel[2]);
                pass = fabs(w->rel[1]) <= o.rtol && fabs(w->rel[2]) <= o.rtol;
            } else {
                /* a pair result: A = N/N(0) and (where both have it) kf */
                double ra = rel_diff(w->n_a / a->particles[0], w->n_b / b->particles[0]);
                double rk = rel_diff(w->kf_a, w->kf_b);
                w->tested = !isnan(ra);
                pass = fabs(ra) <= o.rtol && (isnan(rk) || fabs(rk) <= o.rtol);
            }
        } else if (out->mode == NPG_COMPARE_ONE_SAMPLE) {
            /* Reference mu, sigma^2 from the deterministic side; the sample variance is the
             * population variance of the N particles times N/(N - 1). */
            double N = a->stochastic ? w->n_a : w->n_b;
            double xbar = a->stochastic ? w->mean_a : w->mean_b;
            double s2 = a->stochastic ? w->var_a : w->var_b;
            double mu = a->stochastic ? w->mean_b : w->mean_a;
            double sig2 = a->stochastic ? w->var_b : w->var_a;
            w->tested = N >= nmin && (sizes ? !isnan(mu) && !isnan(sig2) : counts);
            if (w->tested && sizes) {
                s2 *= N / (N - 1.0);
                if (sig2 > 0.0) {
                    w->Z = sqrt(N) * (xbar - mu) / sqrt(sig2);
                    w->Y_normal = sqrt(0.5 * N) * (s2 / sig2 - 1.0);
                    w->Y = (s2 - sig2) / sqrt(var_s2(mu4(a->stochastic ? mb : ma), sig2, N));
                } else {
                    /* A point mass (monodisperse start): the mean must match exactly. */
                    w->Z = xbar == mu ? 0.0 : INFINITY;
                    w->y_skipped = 1;
                }
                w->KS_crit = c / sqrt(N);
            }
        } else {
            double na = w->n_a, nb = w->n_b;
            w->tested = na >= nmin && nb >= nmin && (sizes || counts);
            if (w->tested && sizes) {
                double sa = w->var_a * na / (na - 1.0), sb = w->var_b * nb / (nb - 1.0);
                double se = sqrt(sa / na + sb / nb);
                if (se > 0.0)
                    w->Z = (w->mean_b - w->mean_a) / se;
                else
                    w->Z = w->mean_a == w->mean_b ? 0.0 : INFINITY;
                double sy = sqrt(var_s2(mu4(ma), sa, na) + var_s2(mu4(mb), sb, nb));
                double sn = sqrt(2.0 * sa * sa / na + 2.0 * sb * sb / nb);
                if (sy > 0.0) {
                    w->Y = (sb - sa) / sy;
                    w->Y_normal = (sb - sa) / sn;
                } else
                    w->y_skipped = 1;
                w->KS_crit = c * sqrt((na + nb) / (na * nb));
            }
        }
        if (!isnan(w->Z)) {
            w->p_z = 2.0 * gsl_cdf_ugaussian_Q(fabs(w->Z));
            pass &= fabs(w->Z) <= o.z_max;
        }
        if (w->tested && out->mode != NPG_COMPARE_DETERMINISTIC && a->merges && b->merges) {
            /* N = N(0) + entries - merges - dissolved: each stochastic side contributes the
             * Poisson variance of its merges and of its other changes (whose net is
             * N - N(0) + merges; the sum of entries and dissolutions is at least that).
             * Compared as A = N/N(0), so that sides of different sizes (me --particles, runs
             * of different N at the same density) compare: a count variance v at N(0) = r is
             * v s/r at N(0) = s, and that of A is v/(r s). */
            const npg_result *sd[2] = {a, b};
            const size_t ix[2] = {i, j};
            double s0[2], v = 0.0, smax = 0.0;
            for (int k = 0; k < 2; ++k)
                s0[k] = sd[k]->particles[0] > 0.0 ? sd[k]->particles[0] : 1.0;
            for (int k = 0; k < 2; ++k)
                if (sd[k]->stochastic || out->mode == NPG_COMPARE_ONE_SAMPLE) {
                    /* one-sample: the variance of the particle side, from the reference */
                    const int one = out->mode == NPG_COMPARE_ONE_SAMPLE;
                    const int kr = one ? (a->stochastic ? 1 : 0) : k; /* reference side */
                    const int ks = one ? 1 - kr : k;                  /* particle side */
                    const npg_result *ref = sd[kr];
                    const size_t x = ix[kr];
                    double m = ref->merges[x];
                    v += (m + fabs(ref->particles[x] - ref->particles[0] + m)) / (s0[kr] * s0[ks]);
                    smax = fmax(smax, s0[ks]);
                    if (one)
                        break;
                }
            double dA = sd[1]->particles[j] / s0[1] - sd[0]->particles[i] / s0[0];
            /* at least one particle's worth of the larger stochastic side: its count is an
             * integer (t = 0: the master equation's start may differ from it by a fraction of
             * a particle) */
            w->Z_count = dA / sqrt(fmax(v, 1.0 / (smax * smax)));
            pass &= fabs(w->Z_count) <= o.z_max;
        }
        if (w->tested && out->mode != NPG_COMPARE_DETERMINISTIC && counts && a->kf && b->kf &&
            i > 0 && j > 0 && last_i == i - 1 && last_j == j - 1) {
            w->Z_kf = kf_z(a, i, b, j, out->mode);
            if (!isnan(w->Z_kf))
                pass &= fabs(w->Z_kf) <= o.z_max;
        }
        if (!isnan(w->Y))
            pass &= fabs(w->Y) <= o.y_max;
        if (!isnan(w->KS_crit) && !isnan(w->KS))
            pass &= w->KS < w->KS_crit;
        if (w->tested) {
            w->pass = pass;
            out->pass &= pass;
            out->y_skipped += (size_t)w->y_skipped;
            ++out->tested;
            out->tested_late += !same_time(w->t, 0.0);
        } else {
            w->pass = 0;
            ++out->too_few;
        }
        last_i = i, last_j = j;
        ++i, ++j;
    }
    out->only_a += a->nt - i;
    out->only_b += b->nt - j;
    (void)err;
    (void)errlen;

    /* A side that stopped early: interrupted, short of its own t_end, or ending before the
     * other. Its common times are fine to compare, but only when asked (--partial). */
    const npg_result *side[2] = {a, b};
    const char *name[2] = {"A", "B"};
    size_t len = 0;
    for (int k = 0; k < 2; ++k) {
        const npg_result *r = side[k], *other = side[1 - k];
        double last = r->t[r->nt - 1], olast = other->t[other->nt - 1];
        const char *reason = NULL;
        if (r->status[0] && strcmp(r->status, "complete"))
            reason = r->status;
        else if (!isnan(r->t_reached) && !isnan(r->t_end) && r->t_reached < r->t_end &&
                 !same_time(r->t_reached, r->t_end))
            reason = "short of its t_end";
        else if (last < olast && !same_time(last, olast))
            reason = "ends before the other";
        if (reason) {
            out->partial = 1;
            if (len < sizeof out->why)
                len += (size_t)snprintf(out->why + len, sizeof out->why - len,
                                        "%s%s (%s) is %s, last output t = %g", len ? "; " : "",
                                        name[k], r->dir, reason, last);
        }
    }
    out->partial_allowed = o.partial;
    if (out->partial && !o.partial)
        out->pass = 0;
    out->inconclusive = out->tested_late == 0;
    if (out->inconclusive)
        out->pass = 0;
    return 0;
}

int npg_compare_exit_status(const npg_compare_result *r)
{
    if (r->pass)
        return NPG_EXIT_OK;
    if (!r->n) /* nothing compared at all: whether a side stopped early does not matter */
        return NPG_EXIT_INCONCLUSIVE;
    /* Inconclusive only when nothing decided against: a tested row that fails, or a partial
     * comparison nobody asked for, is a failure. */
    for (size_t i = 0; i < r->n; ++i)
        if (r->rows[i].tested && !r->rows[i].pass)
            return NPG_EXIT_FAIL;
    if (r->inconclusive && !(r->partial && !r->partial_allowed))
        return NPG_EXIT_INCONCLUSIVE;
    return NPG_EXIT_FAIL;
}

/* ---- output -------------------------------------------------------------------------------- */

/* One table cell: the number, or "-" where it does not apply (NaN), right-aligned in width. */
static void put_cell(FILE *f, int width, const char *fmt, double v)
{
    fputc(' ', f);
    if (isnan(v))
        fprintf(f, "%*s", width, "-");
    else
        fprintf(f, fmt, v);
}

static const char *mode_name(npg_compare_mode m)
{
    return m == NPG_COMPARE_TWO_SAMPLE   ? "two-sample (both stochastic)"
           : m == NPG_COMPARE_ONE_SAMPLE ? "one-sample (stochastic against deterministic)"
                                         : "deterministic (relative differences only)";
}

void npg_compare_print(FILE *f, const npg_result *a, const npg_result *b,
                       const npg_compare_options *o, const npg_compare_result *r)
{
    double zm = o && o->z_max > 0 ? o->z_max : 3.0, ym = o && o->y_max > 0 ? o->y_max : 5.0;
    double al = o && o->alpha > 0 ? o->alpha : 1e-3;
    fprintf(f, "A: %s (%s, %s)\nB: %s (%s, %s)\n", a->dir, a->producer[0] ? a->producer : "?",
            a->stochastic ? "stochastic" : "deterministic", b->dir,
            b->producer[0] ? b->producer : "?", b->stochastic ? "stochastic" : "deterministic");
    fprintf(f, "statistics: %s", mode_name(r->mode));
    if (r->mode != NPG_COMPARE_DETERMINISTIC)
        fprintf(f, "; pass: |Z| <= %g, |Y| <= %g, KS < crit (alpha %g)", zm, ym, al);
    int coal = 0; /* coalescence statistics: two more columns */
    for (size_t i = 0; i < r->n; ++i)
        coal |= !isnan(r->rows[i].Z_count) || !isnan(r->rows[i].Z_kf);
    fprintf(f, "\n%10s %12s %12s %10s %10s %10s %10s", "t", "rel_mean", "Z", "Y", "L1", "KS",
            "KS_crit");
    if (coal)
        fprintf(f, " %10s %10s", "Z_count", "Z_kf");
    fprintf(f, "  pass\n");
    for (size_t i = 0; i < r->n; ++i) {
        const npg_compare_row *w = &r->rows[i];
        fprintf(f, "%10.4g", w->t);
        put_cell(f, 12, "%12.3e", w->rel[1]);
        put_cell(f, 12, "%12.4g", w->Z);
        const double rest[] = {w->Y, w->L1, w->KS, w->KS_crit};
        for (size_t j = 0; j < sizeof rest / sizeof rest[0]; ++j)
            put_cell(f, 10, "%10.4g", rest[j]);
        if (coal) {
            put_cell(f, 10, "%10.4g", w->Z_count);
            put_cell(f, 10, "%10.4g", w->Z_kf);
        }
        fprintf(f, "  %s%s\n",
                !w->tested ? "--"
                : w->pass  ? "ok"
                           : "FAIL",
                !w->tested && r->mode != NPG_COMPARE_DETERMINISTIC
                    ? " (not tested: too few alive particles)"
                : !w->tested   ? " (not tested: nothing alive)"
                : w->y_skipped ? " (Y skipped: reference variance 0)"
                               : "");
    }
    double zmax = 0.0, ymax = 0.0, ksr = 0.0, zcmax = -1.0, zkmax = -1.0;
    size_t fails = 0;
    int sized = 0; /* any size statistic (none against the pair equation: it has no sizes) */
    for (size_t i = 0; i < r->n; ++i) {
        const npg_compare_row *w = &r->rows[i];
        sized |= !isnan(w->Z) || !isnan(w->rel[1]);
        if (!isnan(w->Z_count) && fabs(w->Z_count) > zcmax)
            zcmax = fabs(w->Z_count);
        if (!isnan(w->Z_kf) && fabs(w->Z_kf) > zkmax)
            zkmax = fabs(w->Z_kf);
        if (fabs(w->Z) > zmax)
            zmax = fabs(w->Z);
        if (fabs(w->Y) > ymax)
            ymax = fabs(w->Y);
        if (w->KS_crit > 0 && w->KS / w->KS_crit > ksr)
            ksr = w->KS / w->KS_crit;
        fails += w->tested && !w->pass;
    }
    fprintf(f, "%zu common times (%zu only in A, %zu only in B); ", r->n, r->only_a, r->only_b);
    if (sized)
        fprintf(f, "max |Z| %.3g, max |Y| %.3g, max KS/crit %.3g", zmax, ymax, ksr);
    else
        fprintf(f, "no size statistics (a side has no size distribution)");
    fprintf(f, "; %zu failing", fails);
    if (zcmax >= 0.0)
        fprintf(f, "; coalescence: max |Z_count| %.3g (particle count, Poisson approximation)",
                zcmax);
    if (zkmax >= 0.0)
        fprintf(f, "; max |Z_kf| %.3g (merges per output interval against kf, exact tails)", zkmax);
    if (r->y_skipped)
        fprintf(f, "; Y skipped at %zu time(s) where the reference variance is 0", r->y_skipped);
    if (r->too_few)
        fprintf(f,
                "; %zu time(s) not tested (fewer than %g alive particles on a stochastic side, "
                "or none alive)",
                r->too_few, NPG_COMPARE_MIN_PARTICLES);
    fputc('\n', f);
    if (r->partial)
        fprintf(f, "warning: partial comparison: %s; %s\n", r->why,
                r->partial_allowed ? "only the common times were compared (--partial)"
                                   : "this fails unless --partial is given");
    switch (npg_compare_exit_status(r)) {
    case NPG_EXIT_OK:
        fprintf(f, "PASS%s\n", r->partial ? " (partial: common times only)" : "");
        break;
    case NPG_EXIT_INCONCLUSIVE:
        fprintf(f, "INCONCLUSIVE: %s\n",
                !r->n        ? "no output time in common"
                : !r->tested ? "no time could be tested (too few alive particles)"
                             : "only t = 0 could be tested (both sides start from the same "
                               "configuration; it decides nothing)");
        break;
    default:
        fprintf(f, "FAIL%s\n",
                r->partial && !r->partial_allowed && !fails ? " (partial comparison not asked for)"
                                                            : "");
    }
}

static void put(FILE *f, double v)
{
    if (isnan(v))
        fputs(",", f);
    else
        fprintf(f, ",%.10g", v);
}

int npg_compare_write_csv(const npg_compare_result *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 1;
    }
    if (npg_compare_write_csv_file(r, f) | fclose(f)) {
        snprintf(err, errlen, "%s: write error", path);
        return 1;
    }
    return 0;
}

int npg_compare_write_csv_file(const npg_compare_result *r, FILE *f)
{
    fprintf(f, "t,mode,particles_a,particles_b,mean_a,mean_b,rel_mean,var_a,var_b,rel_var");
    for (int q = 3; q <= 10; ++q)
        fprintf(f, ",rel_m%d", q);
    int zc = 0; /* coalescence comparisons add the particle-count statistic as a last column */
    for (size_t i = 0; i < r->n; ++i)
        zc |= !isnan(r->rows[i].Z_count);
    int zk = 0; /* and, where some row has a kf, kf_a, kf_b and Z_kf after it */
    for (size_t i = 0; i < r->n; ++i)
        zk |= !isnan(r->rows[i].kf_a) || !isnan(r->rows[i].kf_b);
    fprintf(f, ",Z,p_z,Y,Y_normal,L1,KS,KS_crit,pass%s%s\n", zc ? ",Z_count" : "",
            zk ? ",kf_a,kf_b,Z_kf" : "");
    const char *mode = r->mode == NPG_COMPARE_TWO_SAMPLE   ? "two-sample"
                       : r->mode == NPG_COMPARE_ONE_SAMPLE ? "one-sample"
                                                           : "deterministic";
    for (size_t i = 0; i < r->n; ++i) {
        const npg_compare_row *w = &r->rows[i];
        fprintf(f, "%.10g,%s", w->t, mode);
        put(f, w->n_a);
        put(f, w->n_b);
        put(f, w->mean_a);
        put(f, w->mean_b);
        put(f, w->rel[1]);
        put(f, w->var_a);
        put(f, w->var_b);
        put(f, w->rel[2]);
        for (int q = 3; q <= 10; ++q)
            put(f, w->rel[q]);
        put(f, w->Z);
        put(f, w->p_z);
        put(f, w->Y);
        put(f, w->Y_normal);
        put(f, w->L1);
        put(f, w->KS);
        put(f, w->KS_crit);
        if (w->tested)
            fprintf(f, ",%d", w->pass);
        else
            fputs(",", f); /* not tested: neither pass nor fail */
        if (zc)
            put(f, w->Z_count);
        if (zk) {
            put(f, w->kf_a);
            put(f, w->kf_b);
            put(f, w->Z_kf);
        }
        fputc('\n', f);
    }
    return fflush(f) != 0 || ferror(f) != 0;
}
