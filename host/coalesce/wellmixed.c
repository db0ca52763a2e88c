/* wellmixed.c: exact Marcus-Lushnikov coalescence with a binned majorant (npgrow/wellmixed.h).
 *
 * State: alive particles (n >= 2) sit in logarithmic size bins (npg_coal_bin), each bin an
 * array of ids, so a uniform member is one draw and removal is a swap with the last (at the
 * index the proposal drew: no index per id is kept). M[a][b] = npg_coal_bound(a, b, f_M) bounds
 * K P over the bin pair for every time with f(t) <= f_M. With c_b particles in bin b and
 * rho_a = sum_b c_b M_ab, the majorant rate of all ordered pairs is sum_a W_a with
 * W_a = c_a (rho_a - M_aa), and of unordered pairs half that. One proposal: the waiting time at
 * rate sum_a W_a / (2V); bin a with probability W_a / sum W; bin b with probability
 * (c_b - [a = b]) M_ab / (rho_a - M_aa); a member of each (distinct); accept with K P(t) / M_ab.
 * Every unordered pair is then proposed at rate M_ab / V and merges at rate K P / V: exact
 * (thinning of a Poisson process).
 *
 * Cost per proposal: two scans in groups of NPG_WM_GROUP bins (bin a over the group sums of W,
 * bin b along row a of M), O(occupied bins) but with short dependency chains; per merge one
 * pass over the occupied range that updates rho (from three contiguous rows of M, which is
 * symmetric) and W, and one that sums W by groups. rho is kept on the occupied range only
 * (a bin that joins the range gets its rho from the counts), and recomputed from the counts
 * every NPG_WM_REFRESH merges so that rounding cannot accumulate.
 *
 * Time factor: where K is proportional to f(t) (the Brownian kernel, diffusion-limited) or does
 * not depend on it (constant, additive), M is computed once at f = 1 and the chunk's bound is
 * fs M with fs = max f over the chunk, so a new chunk or advance costs O(1) instead of
 * O(bins^2). With a finite intrinsic rate K is not proportional to f: there M is computed at
 * f = max f of each chunk (fs = 1).
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
/* Bins per group in the two scans. Arrays indexed by bin have NB + NPG_WM_GROUP entries: a group
 * may reach past hi (and past the last bin), where counts and W are 0. */
#define NPG_WM_GROUP 4
#define NBP          (NB + NPG_WM_GROUP)
#define NGROUPS      (NB / NPG_WM_GROUP + 2)
_Static_assert(NPG_WM_GROUP == 4, "the scans below are unrolled by 4");

struct npg_wm {
    npg_coal_params p;
    double V; /* [nm^3] */
    uint32_t seed;
    uint64_t capacity;
    uint32_t *members[NB]; /* ids in bin b */
    uint64_t mcap[NB];
    uint64_t cnt[NBP];
    double cntd[NBP];  /* cnt as double (0 outside lo..hi) */
    uint64_t *groupb;  /* [capacity / 64 + 1] */
    int lo, hi;        /* occupied bins: lo..hi (lo > hi: none) */
    int mlo, mhi;      /* M valid on [mlo, mhi]^2 (mlo > mhi: nowhere) */
    double fM;         /* time factor M was computed for */
    double fs;         /* the chunk's bound is fs M (1 where M is computed at the chunk's f) */
    double *M;         /* [NB * NB + NPG_WM_GROUP], symmetric; 0 where never computed */
    double diag[NBP];  /* M_aa */
    double rho[NBP];   /* sum_b cnt_b M_ab, valid on [rlo, rhi] */
    int rlo, rhi;      /* the occupied range when rho was last brought up to date */
    double W[NBP];     /* cnt_a (rho_a - M_aa) on [lo, hi], 0 beyond hi */
    double G[NGROUPS]; /* group sums: G[g] = W[lo + 4 g] + ... + W[lo + 4 g + 3] */
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
    w->groupb = calloc(capacity / 64 + 1, sizeof *w->groupb);
    w->M = calloc((size_t)NB * NB + NPG_WM_GROUP, sizeof *w->M);
    if (!w->groupb || !w->M) {
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
    w->fs = 1.0;
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
    w->members[b][w->cnt[b]++] = id;
    w->cntd[b] += 1.0;
    if (b < w->lo)
        w->lo = b;
    if (b > w->hi)
        w->hi = b;
    return 0;
}

/* Remove the member at index k of bin b (the last member takes its place). */
static void bin_remove_at(npg_wm *w, int b, uint64_t k)
{
    const uint64_t last = --w->cnt[b];
    w->cntd[b] -= 1.0;
    w->members[b][k] = w->members[b][last];
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
    for (int b = 0; b < NB; ++b) {
        w->cnt[b] = 0;
        w->cntd[b] = 0.0;
    }
    w->lo = NB;
    w->hi = -1;
    for (uint64_t id = 0; id < w->capacity; ++id)
        if (n[id] >= 2 && bin_push(w, npg_coal_bin(n[id]), (uint32_t)id)) {
            snprintf(err, errlen, "well-mixed coalescence: out of memory for the size bins");
            return 1;
        }
    /* Give back what bins the population has moved out of hold: monomer growth carries every
     * particle through many bins, and each would otherwise keep the largest count it ever had
     * (tens of bytes per particle instead of ~6). A failed shrink keeps the larger block. */
    for (int b = 0; b < NB; ++b) {
        const uint64_t want = w->cnt[b] + w->cnt[b] / 2 + 16;
        if (w->mcap[b] <= 2 * want)
            continue;
        uint32_t *m = realloc(w->members[b], want * sizeof *m);
        if (m) {
            w->members[b] = m;
            w->mcap[b] = want;
        }
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

/* The group sums of W over the occupied range, and Wsum (W beyond hi is 0). */
static void sum_groups(npg_wm *w)
{
    const int ng = (w->hi - w->lo) / NPG_WM_GROUP + 1;
    const double *W = w->W + w->lo;
    double sum = 0.0;
    for (int g = 0; g < ng; ++g, W += NPG_WM_GROUP) {
        w->G[g] = (W[0] + W[1]) + (W[2] + W[3]);
        sum += w->G[g];
    }
    w->Wsum = sum;
}

static double w_of(const npg_wm *w, int a)
{
    const double v = w->cntd[a] * (w->rho[a] - w->diag[a]);
    return v > 0.0 ? v : 0.0;
}

/* W on the occupied range from rho (0 on the group tail beyond hi), and the group sums. */
static void refresh_w(npg_wm *w)
{
    for (int a = w->lo; a <= w->hi; ++a)
        w->W[a] = w_of(w, a);
    for (int a = w->hi + 1; a <= w->hi + NPG_WM_GROUP; ++a)
        w->W[a] = 0.0;
    sum_groups(w);
}

/* rho_a from the counts [nm^3 / time unit at f = fM]. */
static double rho_of(npg_wm *w, int a)
{
    const double *ma = Mat(w, a, 0);
    double s = 0.0;
    for (int b = w->lo; b <= w->hi; ++b)
        s += w->cntd[b] * ma[b];
    return s;
}

/* 1 where K is proportional to the time factor or independent of it: M is then computed at
 * f = 1 and scaled by fs. */
static int f_scales(const npg_coal_params *p)
{
    return p->kernel != 0 || p->k_a <= 0.0;
}

/* Make the bound valid on the occupied range for time factors <= f: fs, and M (recomputing all
 * of it when its time factor changed, only the missing rows and columns when the range grew);
 * rho, W, Wsum when dirty. */
static void ensure_majorant(npg_wm *w, double f)
{
    if (f_scales(&w->p)) {
        w->fs = w->p.kernel == 0 ? f : 1.0;
        f = 1.0;
    } else {
        w->fs = 1.0;
    }
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
        for (int a = nlo; a <= nhi; ++a)
            w->diag[a] = *Mat(w, a, a);
        w->mlo = nlo;
        w->mhi = nhi;
        w->dirty = 1;
    }
    if (w->dirty || w->since_refresh >= NPG_WM_REFRESH) {
        for (int a = w->lo; a <= w->hi; ++a)
            w->rho[a] = rho_of(w, a);
        w->rlo = w->lo;
        w->rhi = w->hi;
        w->dirty = 0;
        w->since_refresh = 0;
    }
    refresh_w(w);
}

/* A merge took one particle from each of bins x and y and added one to bin z (all in the
 * majorant range; lo, hi already follow): rho on the occupied range follows (incrementally from
 * three rows of M where it was valid, from the counts on bins new to the range), then W. */
static void merge_counted(npg_wm *w, int x, int y, int z)
{
    const double *mx = Mat(w, x, 0), *my = Mat(w, y, 0), *mz = Mat(w, z, 0);
    const int lo = w->lo, hi = w->hi;
    const int ulo = lo > w->rlo ? lo : w->rlo, uhi = hi < w->rhi ? hi : w->rhi;
    for (int a = ulo; a <= uhi; ++a) {
        w->rho[a] += mz[a] - mx[a] - my[a];
        const double v = w->cntd[a] * (w->rho[a] - w->diag[a]);
        w->W[a] = v > 0.0 ? v : 0.0;
    }
    for (int a = lo; a < ulo; ++a) {
        w->rho[a] = rho_of(w, a);
        w->W[a] = w_of(w, a);
    }
    for (int a = (uhi + 1 > lo ? uhi + 1 : lo); a <= hi; ++a) {
        w->rho[a] = rho_of(w, a);
        w->W[a] = w_of(w, a);
    }
    for (int a = hi + 1; a <= hi + NPG_WM_GROUP; ++a)
        w->W[a] = 0.0;
    w->rlo = lo;
    w->rhi = hi;
    sum_groups(w);
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
    return m * w->fs / w->V;
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
    const double fchunk = f_max(w, t0, t1);
    ensure_majorant(w, fchunk);
    double t = t0;
    for (;;) {
        if (!(w->Wsum > 0.0))
            return 0;
        const npg_u32x4 r0 =
            npg_philox4x32_10(npg_philox_counter(0, w->proposals, NPG_STREAM_COALESCENCE), key);
        const npg_u32x4 r1 =
            npg_philox4x32_10(npg_philox_counter(1, w->proposals, NPG_STREAM_COALESCENCE), key);
        w->proposals += 1;
        t += npg_exponential(r0.x) * 2.0 * w->V / (w->fs * w->Wsum);
        if (t > t1)
            return 0;
        /* bin a with probability W_a / Wsum: the group, then the bin in it (never one with
         * W = 0: where rounding leaves the target beyond the last group, the last bin with
         * W > 0 is taken) */
        const int lo = w->lo, ng = (w->hi - lo) / NPG_WM_GROUP + 1;
        double target = npg_u01_closed0(r0.y) * w->Wsum;
        int g = 0, glast = -1;
        for (; g < ng; ++g) {
            if (w->G[g] > 0.0)
                glast = g;
            if (target < w->G[g])
                break;
            target -= w->G[g];
        }
        if (g == ng)
            g = glast;
        if (g < 0)
            continue; /* rounding: no bin with W > 0 (cannot happen with Wsum > 0) */
        int a = -1;
        for (int x = lo + NPG_WM_GROUP * g; x < lo + NPG_WM_GROUP * (g + 1); ++x) {
            if (w->W[x] > 0.0)
                a = x;
            if (target < w->W[x])
                break;
            target -= w->W[x];
        }
        /* bin b with probability (cnt_b - [a = b]) M_ab / (rho_a - M_aa): row a in groups */
        const double *ma = Mat(w, a, 0);
        const double *cd = w->cntd;
        target = npg_u01_closed0(r0.z) * (w->rho[a] - w->diag[a]);
        int b = -1, x0 = -1;
        for (int x = lo; x <= w->hi; x += NPG_WM_GROUP) {
            const double v0 = (cd[x] - (x == a)) * ma[x];
            const double v1 = (cd[x + 1] - (x + 1 == a)) * ma[x + 1];
            const double v2 = (cd[x + 2] - (x + 2 == a)) * ma[x + 2];
            const double v3 = (cd[x + 3] - (x + 3 == a)) * ma[x + 3];
            const double sg = (v0 + v1) + (v2 + v3);
            if (sg > 0.0)
                x0 = x;
            if (target < sg) {
                x0 = x;
                break;
            }
            target -= sg;
        }
        if (x0 < 0)
            continue; /* rounding left no partner: a wasted proposal */
        for (int x = x0; x < x0 + NPG_WM_GROUP; ++x) {
            const double v = (cd[x] - (x == a)) * ma[x];
            if (v > 0.0)
                b = x;
            if (target < v)
                break;
            target -= v;
        }
        if (b < 0)
            continue;
        uint64_t ia = npg_uniform_index64(r0.w, r1.x, w->cnt[a]);
        uint64_t jb;
        if (a == b) {
            jb = npg_uniform_index64(r1.y, r1.z, w->cnt[a] - 1);
            if (jb >= ia)
                ++jb;
        } else {
            jb = npg_uniform_index64(r1.y, r1.z, w->cnt[b]);
        }
        const uint32_t i = w->members[a][ia], j = w->members[b][jb];
        const double f = timedep ? npg_coal_time_factor(&w->p, t) : 1.0;
        const uint32_t ni = n[i], nj = n[j];
        const double k = npg_coal_rate(&w->p, ni, nj, f);
        if (!(npg_u01_closed0(r1.w) * w->fs * ma[b] < k))
            continue;
        /* merge: the lower id survives */
        const uint32_t kept = i < j ? i : j, gone = i < j ? j : i;
        const uint32_t nk = kept == i ? ni : nj, ngo = kept == i ? nj : ni;
        const int bk = kept == i ? a : b, bg = kept == i ? b : a;
        const uint64_t sum = (uint64_t)nk + ngo;
        if (sum > 0xffffffffull) {
            snprintf(err, errlen,
                     "well-mixed coalescence: a merge at t = %g gives %llu monomers, beyond "
                     "the 32-bit size limit (4294967295)",
                     t, (unsigned long long)sum);
            return 1;
        }
        npg_wm_event ev = {t, kept, gone, nk, ngo};
        const uint64_t ik = kept == i ? ia : jb;
        uint64_t ig = kept == i ? jb : ia;
        bin_remove_at(w, bk, ik);
        if (bg == bk && ig == w->cnt[bk])
            ig = ik; /* gone was the last member of the bin: it took kept's place */
        bin_remove_at(w, bg, ig);
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
        if (bm < w->mlo || bm > w->mhi || w->since_refresh >= NPG_WM_REFRESH) {
            w->dirty = 1;
            ensure_majorant(w, fchunk); /* grows M and recomputes rho */
        } else {
            merge_counted(w, bk, bg, bm);
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
    double bytes = (double)(w->capacity / 64 + 1) * 8.0;
    for (int b = 0; b < NB; ++b)
        bytes += (double)w->mcap[b] * sizeof(uint32_t);
    return w->capacity ? bytes / (double)w->capacity : 0.0;
}
