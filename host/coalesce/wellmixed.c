/* wellmixed.c: exact Marcus-Lushnikov coalescence with a binned majorant (npgrow/wellmixed.h).
 *
 * State: alive particles (n >= 2) sit in logarithmic size bins (npg_coal_bin), each bin an
 * array of ids with pos[id] the index in it, so a uniform member is one draw and removal is a
 * swap with the last. M[a][b] = npg_coal_bound(a, b, f_M) bounds K P over the bin pair for every
 * time with f(t) <= f_M. With c_b particles in bin b and rho_a = sum_b c_b M_ab, the majorant
 * rate of all ordered pairs is sum_a W_a with W_a = c_a (rho_a - M_aa), and of unordered pairs
 * half that. One proposal: the waiting time at rate sum_a W_a / (2V); bin a with probability
 * W_a / sum W; bin b with probability (c_b - [a = b]) M_ab / (rho_a - M_aa); a member of each
 * (distinct); accept with K P(t) / M_ab. Every unordered pair is then proposed at rate M_ab / V
 * and merges at rate K P / V: exact (thinning of a Poisson process).
 *
 * Cost per proposal: O(occupied bins) (two scans); per merge also an O(occupied bins) update of
 * rho and W. rho is recomputed from the counts every NPG_WM_REFRESH merges so that rounding
 * cannot accumulate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/philox.h"
#include "npgrow/wellmixed.h"

#define NB             NPG_COAL_BINS
#define NPG_WM_REFRESH 1024u
#define NPG_WM_KEY_ID  0xfffffffeu
/* A time factor that changes by more than this over an advance is split into chunks, each with
 * its own majorant, so the acceptance stays above 1/NPG_WM_F_STEP of what a constant f gives. */
#define NPG_WM_F_STEP 1.05

struct npg_wm {
    npg_coal_params p;
    double V; /* [nm^3] */
    uint32_t seed;
    uint64_t capacity;
    uint32_t *members[NB]; /* ids in bin b */
    uint64_t mcap[NB];
    uint64_t cnt[NB];
    uint32_t *pos;    /* [capacity] index of id in its bin */
    uint64_t *groupb; /* [capacity / 64 + 1] */
    int lo, hi;       /* occupied bins: lo..hi (lo > hi: none) */
    int mlo, mhi;     /* M valid on [mlo, mhi]^2 (mlo > mhi: nowhere) */
    double fM;        /* time factor M was computed for */
    double *M;        /* [NB * NB] */
    double rho[NB];   /* sum_b cnt_b M_ab, a in [mlo, mhi] */
    double W[NB];     /* cnt_a (rho_a - M_aa) */
    double Wsum;
    int dirty; /* rho/W must be recomputed */
    uint64_t proposals, merges, inserted, since_refresh;
};

static double *Mat(npg_wm *w, int a, int b)
{
    return &w->M[(size_t)a * NB + (size_t)b];
}

int npg_wm_create(npg_wm **out, const npg_coal_params *p, double volume_nm3, uint32_t seed,
                  uint64_t capacity, char *err, size_t errlen)
{
    *out = NULL;
    if (!(volume_nm3 > 0.0) || !isfinite(volume_nm3)) {
        snprintf(err, errlen, "well-mixed coalescence: volume %g nm^3 must be > 0", volume_nm3);
        return 1;
    }
    if (capacity > 0x100000000ull) {
        snprintf(err, errlen, "well-mixed coalescence: %llu particle slots: ids are 32-bit",
                 (unsigned long long)capacity);
        return 1;
    }
    npg_wm *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    w->p = *p;
    w->V = volume_nm3;
    w->seed = seed;
    w->capacity = capacity;
    w->pos = malloc((capacity ? capacity : 1) * sizeof *w->pos);
    w->groupb = calloc(capacity / 64 + 1, sizeof *w->groupb);
    w->M = malloc((size_t)NB * NB * sizeof *w->M);
    if (!w->pos || !w->groupb || !w->M) {
        npg_wm_destroy(w);
        snprintf(err, errlen, "well-mixed coalescence: out of memory for %llu particles",
                 (unsigned long long)capacity);
        return 1;
    }
    w->lo = NB;
    w->hi = -1;
    w->mlo = NB;
    w->mhi = -1;
    w->fM = -1.0;
    w->dirty = 1;
    *out = w;
    return 0;
}

void npg_wm_destroy(npg_wm *w)
{
    if (!w)
        return;
    for (int b = 0; b < NB; ++b)
        free(w->members[b]);
    free(w->pos);
    free(w->groupb);
    free(w->M);
    free(w);
}

static int bin_push(npg_wm *w, int b, uint32_t id)
{
    if (w->cnt[b] == w->mcap[b]) {
        uint64_t nc = w->mcap[b] ? w->mcap[b] + w->mcap[b] / 2 + 16 : 16;
        uint32_t *m = realloc(w->members[b], nc * sizeof *m);
        if (!m)
            return 1;
        w->members[b] = m;
        w->mcap[b] = nc;
    }
    w->pos[id] = (uint32_t)w->cnt[b];
    w->members[b][w->cnt[b]++] = id;
    if (b < w->lo)
        w->lo = b;
    if (b > w->hi)
        w->hi = b;
    return 0;
}

static void bin_remove(npg_wm *w, int b, uint32_t id)
{
    uint64_t k = w->pos[id], last = --w->cnt[b];
    uint32_t moved = w->members[b][last];
    w->members[b][k] = moved;
    w->pos[moved] = (uint32_t)k;
    while (w->lo <= w->hi && w->cnt[w->lo] == 0)
        ++w->lo;
    while (w->hi >= w->lo && w->cnt[w->hi] == 0)
        --w->hi;
    if (w->lo > w->hi) {
        w->lo = NB;
        w->hi = -1;
    }
}

int npg_wm_rebuild(npg_wm *w, const uint32_t *n, char *err, size_t errlen)
{
    for (int b = 0; b < NB; ++b)
        w->cnt[b] = 0;
    w->lo = NB;
    w->hi = -1;
    for (uint64_t id = 0; id < w->capacity; ++id)
        if (n[id] >= 2 && bin_push(w, npg_coal_bin(n[id]), (uint32_t)id)) {
            snprintf(err, errlen, "well-mixed coalescence: out of memory for the size bins");
            return 1;
        }
    w->dirty = 1;
    return 0;
}

int npg_wm_insert(npg_wm *w, uint32_t *n_arr, uint32_t id, uint32_t n, char *err, size_t errlen)
{
    if (id >= w->capacity || n < 2 || n_arr[id] != 0) {
        snprintf(err, errlen, "well-mixed coalescence: cannot insert id %u (size %u)", id, n);
        return 1;
    }
    n_arr[id] = n;
    if (bin_push(w, npg_coal_bin(n), id)) {
        snprintf(err, errlen, "well-mixed coalescence: out of memory for the size bins");
        return 1;
    }
    w->inserted += 1;
    w->dirty = 1;
    return 0;
}

/* Make M valid on the occupied range at time factor f (recomputing all of it when f changed,
 * only the missing rows and columns when the range grew), and rho, W, Wsum when dirty. */
static void ensure_majorant(npg_wm *w, double f)
{
    if (w->lo > w->hi) {
        w->Wsum = 0.0;
        return;
    }
    if (f != w->fM) {
        w->mlo = NB;
        w->mhi = -1;
        w->fM = f;
    }
    if (w->lo < w->mlo || w->hi > w->mhi) {
        /* grow with a margin of one octave each way, so growth by merges rarely triggers it */
        int nlo = w->lo - NPG_COAL_BINS_PER_OCTAVE, nhi = w->hi + NPG_COAL_BINS_PER_OCTAVE;
        if (nlo < 0)
            nlo = 0;
        if (nhi > NB - 1)
            nhi = NB - 1;
        if (w->mlo <= w->mhi) {
            nlo = nlo < w->mlo ? nlo : w->mlo;
            nhi = nhi > w->mhi ? nhi : w->mhi;
        }
        for (int a = nlo; a <= nhi; ++a)
            for (int b = a; b <= nhi; ++b) {
                if (a >= w->mlo && a <= w->mhi && b >= w->mlo && b <= w->mhi)
                    continue;
                double m = npg_coal_bound(&w->p, a, b, f);
                *Mat(w, a, b) = m;
                *Mat(w, b, a) = m;
            }
        w->mlo = nlo;
        w->mhi = nhi;
        w->dirty = 1;
    }
    if (w->dirty || w->since_refresh >= NPG_WM_REFRESH) {
        for (int a = w->mlo; a <= w->mhi; ++a) {
            double s = 0.0;
            for (int b = w->lo; b <= w->hi; ++b)
                s += (double)w->cnt[b] * *Mat(w, a, b);
            w->rho[a] = s;
        }
        w->dirty = 0;
        w->since_refresh = 0;
    }
    double sum = 0.0;
    for (int a = w->lo; a <= w->hi; ++a) {
        double v = w->cnt[a] ? (double)w->cnt[a] * (w->rho[a] - *Mat(w, a, a)) : 0.0;
        w->W[a] = v > 0.0 ? v : 0.0;
        sum += w->W[a];
    }
    w->Wsum = sum;
}

/* A count change of bin x by d: rho of every bin in the majorant range follows. */
static void count_changed(npg_wm *w, int x, double d)
{
    for (int a = w->mlo; a <= w->mhi; ++a)
        w->rho[a] += d * *Mat(w, a, x);
}

static double f_max(const npg_wm *w, double t0, double t1)
{
    double f0 = npg_coal_time_factor(&w->p, t0), f1 = npg_coal_time_factor(&w->p, t1);
    return f0 > f1 ? f0 : f1; /* f is monotone in t */
}

double npg_wm_max_rate(npg_wm *w, double t0, double t1)
{
    ensure_majorant(w, f_max(w, t0, t1));
    double m = 0.0;
    for (int a = w->lo; a <= w->hi; ++a)
        if (w->cnt[a] && w->rho[a] > m)
            m = w->rho[a];
    return m / w->V;
}

/* Uniform index in [0, k) from 64 random bits (multiply-high; bias below k / 2^64). */
static uint64_t uniform_index(uint32_t hi, uint32_t lo, uint64_t k)
{
    unsigned __int128 x = ((unsigned __int128)(((uint64_t)hi << 32) | lo)) * k;
    return (uint64_t)(x >> 64);
}

static int set_group_b(npg_wm *w, uint32_t id)
{
    w->groupb[id >> 6] |= 1ull << (id & 63u);
    return 0;
}

/* One chunk [t0, t1] with a single majorant. */
static int advance_chunk(npg_wm *w, uint32_t *n, double t0, double t1, npg_wm_event_fn fn,
                         void *ctx, char *err, size_t errlen)
{
    const npg_u32x2 key = npg_philox_key(w->seed, NPG_WM_KEY_ID);
    const int timedep = w->p.tf_c != 0.0;
    ensure_majorant(w, f_max(w, t0, t1));
    double t = t0;
    for (;;) {
        if (w->since_refresh >= NPG_WM_REFRESH)
            ensure_majorant(w, w->fM);
        if (!(w->Wsum > 0.0))
            return 0;
        const npg_u32x4 r0 =
            npg_philox4x32_10(npg_philox_counter(0, w->proposals, NPG_STREAM_COALESCENCE), key);
        const npg_u32x4 r1 =
            npg_philox4x32_10(npg_philox_counter(1, w->proposals, NPG_STREAM_COALESCENCE), key);
        w->proposals += 1;
        t += npg_exponential(r0.x) * 2.0 * w->V / w->Wsum;
        if (t > t1)
            return 0;
        /* bin a */
        double target = npg_u01_closed0(r0.y) * w->Wsum;
        int a = w->hi;
        for (int x = w->lo; x <= w->hi; ++x) {
            if (w->W[x] > 0.0)
                a = x;
            target -= w->W[x];
            if (target < 0.0)
                break;
        }
        /* bin b given a */
        double row = w->rho[a] - *Mat(w, a, a);
        target = npg_u01_closed0(r0.z) * row;
        int b = -1;
        for (int x = w->lo; x <= w->hi; ++x) {
            double c = (double)w->cnt[x] - (x == a ? 1.0 : 0.0);
            double v = c * *Mat(w, a, x);
            if (v > 0.0)
                b = x;
            target -= v;
            if (target < 0.0)
                break;
        }
        if (b < 0)
            continue; /* rounding left no partner: a wasted proposal */
        uint64_t ia = uniform_index(r0.w, r1.x, w->cnt[a]);
        uint64_t jb;
        if (a == b) {
            jb = uniform_index(r1.y, r1.z, w->cnt[a] - 1);
            if (jb >= ia)
                ++jb;
        } else {
            jb = uniform_index(r1.y, r1.z, w->cnt[b]);
        }
        const uint32_t i = w->members[a][ia], j = w->members[b][jb];
        const double f = timedep ? npg_coal_time_factor(&w->p, t) : 1.0;
        const double k = npg_coal_rate(&w->p, n[i], n[j], f);
        if (!(npg_u01_closed0(r1.w) * *Mat(w, a, b) < k))
            continue;
        /* merge: the lower id survives */
        const uint32_t kept = i < j ? i : j, gone = i < j ? j : i;
        const int bk = kept == i ? a : b, bg = kept == i ? b : a;
        const uint64_t sum = (uint64_t)n[kept] + n[gone];
        if (sum > 0xffffffffull) {
            snprintf(err, errlen,
                     "well-mixed coalescence: a merge at t = %g gives %llu monomers, beyond "
                     "the 32-bit size limit (4294967295)",
                     t, (unsigned long long)sum);
            return 1;
        }
        npg_wm_event ev = {t, kept, gone, n[kept], n[gone]};
        bin_remove(w, bk, kept);
        bin_remove(w, bg, gone);
        n[kept] = (uint32_t)sum;
        n[gone] = 0;
        const int bm = npg_coal_bin((uint32_t)sum);
        if (bin_push(w, bm, kept)) {
            snprintf(err, errlen, "well-mixed coalescence: out of memory for the size bins");
            return 1;
        }
        set_group_b(w, kept);
        set_group_b(w, gone);
        w->merges += 1;
        w->since_refresh += 1;
        if (bm < w->mlo || bm > w->mhi) {
            ensure_majorant(w, w->fM); /* grows M and recomputes rho */
        } else {
            count_changed(w, bk, -1.0);
            count_changed(w, bg, -1.0);
            count_changed(w, bm, +1.0);
            double s = 0.0;
            for (int x = w->lo; x <= w->hi; ++x) {
                double v = w->cnt[x] ? (double)w->cnt[x] * (w->rho[x] - *Mat(w, x, x)) : 0.0;
                w->W[x] = v > 0.0 ? v : 0.0;
                s += w->W[x];
            }
            w->Wsum = s;
        }
        if (fn) {
            int rc = fn(ctx, &ev);
            if (rc)
                return rc;
        }
    }
}

int npg_wm_advance(npg_wm *w, uint32_t *n, double t0, double t1, npg_wm_event_fn fn, void *ctx,
                   char *err, size_t errlen)
{
    if (!(t1 > t0))
        return 0;
    /* With a time factor f = (1 + b t)^-c, chunks of equal steps in ln(1 + b t), i.e. in ln f,
     * so that f changes by at most NPG_WM_F_STEP within each chunk. */
    int chunks = 1;
    double g0 = 0.0, g1 = 0.0;
    if (w->p.tf_c != 0.0 && w->p.tf_b > 0.0) {
        g0 = log1p(w->p.tf_b * t0);
        g1 = log1p(w->p.tf_b * t1);
        double r = fabs(w->p.tf_c) * (g1 - g0) / log(NPG_WM_F_STEP);
        chunks = r > 1.0 ? (int)fmin(ceil(r), 4096.0) : 1;
    }
    double a = t0;
    for (int c = 0; c < chunks; ++c) {
        double b = t1;
        if (c + 1 < chunks)
            b = expm1(g0 + (g1 - g0) * (c + 1) / chunks) / w->p.tf_b;
        if (b > t1)
            b = t1;
        int rc = advance_chunk(w, n, a, b, fn, ctx, err, errlen);
        if (rc)
            return rc;
        a = b;
    }
    return 0;
}

const uint64_t *npg_wm_group_b(const npg_wm *w)
{
    return w->groupb;
}

void npg_wm_get_stats(const npg_wm *w, npg_wm_stats *st)
{
    st->merges = w->merges;
    st->proposals = w->proposals;
    st->inserted = w->inserted;
}

double npg_wm_bytes_per_particle(const npg_wm *w)
{
    double bytes = (double)w->capacity * sizeof *w->pos + (double)(w->capacity / 64 + 1) * 8.0;
    for (int b = 0; b < NB; ++b)
        bytes += (double)w->mcap[b] * sizeof(uint32_t);
    return w->capacity ? bytes / (double)w->capacity : 0.0;
}
