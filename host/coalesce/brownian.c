/* brownian.c: spatial coalescence by Brownian dynamics (npgrow/brownian.h, npgrow/bdstep.h).
 *
 * State. Particles live in slots (arrays x, y, z fixed point, g = sqrt(D_ref r_ref / (R + l))
 * as float, ids), kept in cell order: slots [start[c], start[c+1]) are those whose position lay
 * in cell c at the last rebuild ("normal" slots). Slots appended since (insertions) and slots
 * moved by a merge or a push out of their cell's box extended by e are "displaced": flagged in
 * dispbits, listed in dlist, skipped by the cell scan and checked by their actual position
 * instead. A dead slot (merged away, dissolved) has g < 0 and stays until the next rebuild.
 *
 * Neighbours. Cell edge h = L / nc >= r_cut + 2 e. Invariant, checked for every normal slot by
 * every pair pass: its position is within e of its cell's box. Then a pair closer than r_cut
 * has its cells adjacent, and slot s needs the neighbour cell below along x only when
 * x_s - (r_cut + e) lies in another cell (likewise above, and for y, z): a dilute system
 * visits ~(1 + 2 (r_cut + e)/h)^3 cells per particle, not 27. When a slot has left its
 * extended box the pair pass is discarded, the list rebuilt and the pass repeated. Rebuild:
 * cell keys (parallel), a stable counting sort (serial), and the permutation applied in place
 * by following its cycles (no second copy of the arrays). The slot order depends only on the
 * positions, and every random number on ids and the step, so any thread count gives the same
 * bits.
 *
 * A step: moves (parallel, Philox per id and step, Box-Muller, vectorized in blocks); the pair
 * pass (parallel over rows of cells, per-thread lists of pairs within r_cut, then sorted by
 * ids); then, serially over those pairs (few in a dilute system): hard core, reactions,
 * conflicts, merges, pushes.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npgrow/brownian.h"

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define NPG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NPG_VECTOR_CLONES
#endif

#define DEAD_G -1.0f
/* Target particles per cell when the density sets the cell size (cell starts cost 4 bytes per
 * cell; candidates per particle grow with it). */
#define PPC 1.0
/* Excursion e = EXC_STEPS x the largest per-coordinate step (unless a quarter of the mean
 * spacing is less): a particle that starts at its cell's face leaves the extended box after
 * ~(EXC_STEPS / 5.5)^2 steps at N = 1e6. */
#define EXC_STEPS 30.0
/* Margin of r_cut beyond the shell, in per-coordinate steps: pairs that a hard-core correction
 * (a reflection moves a particle by less than twice the overlap, ~2 relative steps) can make
 * overlap are then nearly always among the close pairs; the rare others are found by a scan
 * around every corrected particle and pushed apart. Corrections summing to more than
 * CORR_STEPS steps in a step make the particle return to its position before the step. */
#define MARGIN_STEPS    8.0
#define BRIDGE_STEPS    16.0 /* the bridge's extra reach, in per-coordinate steps (shell_reach) */
#define CORR_STEPS      16.0
#define JACOBI          16
#define PLACE_TRIES     100000u
#define PLACE_BATCH     8192u /* particles placed per parallel batch (npg_bd_place_all) */
#define PLACE_HASH_BITS 14    /* the batch's cell hash: 2 PLACE_BATCH heads */
#define PUSH_CAP        1000000u
#define SEP_TICKS       4.0 /* separation margin after a reflection or push [ticks] */
#define NPG_BD_BLOCK    256
/* Fewer slots than this run on one thread (a parallel region costs more than their work). */
#define PAR_MIN 4096

/* Pairs within r_cut that the serial part must see (npg_bd_pair, npgrow/bdstep.h). */
#define PAIR_CONTACT NPG_BD_PAIR_CONTACT
#define PAIR_FIRE    NPG_BD_PAIR_FIRE
#define PAIR_EVAL    NPG_BD_PAIR_EVAL
typedef npg_bd_pair pairv;

typedef struct pairbuf {
    pairv *v;
    size_t len, cap;
} pairbuf;

/* One particle of the serial hard-core work. */
typedef struct loc {
    uint32_t slot;
    uint32_t ox, oy, oz; /* position before the step's move */
    double R, w;         /* radius [nm]; 1 / (R + l), proportional to D [1/nm] */
    double corr[3];      /* this round's hard-core correction [nm] */
    double moved;        /* summed |corrections| this step [nm] */
    int reverted, bad;
} loc;

struct npg_bd {
    npg_bd_params p;
    uint64_t capacity;
    int threads;
    double L, tick, inv_tick;
    uint32_t *x, *y, *z, *ids, *scratch;
    float *g;
    uint64_t *dispbits; /* by slot */
    uint64_t *alive;    /* by id: placed, not known gone */
    uint64_t *groupb;   /* by id */
    uint64_t nslots, nmain;
    uint32_t *dlist;
    size_t dlen, dcap;
    /* grid */
    uint32_t nc;
    uint64_t ncells;
    uint32_t *start;   /* [ncells + 1] */
    uint32_t *lo, *wd; /* [nc + 1]: first tick of cell c along an axis, and its width */
    double h, e, rcut;
    uint64_t n_at_grid;
    double rmax, sstep;
    uint64_t step, placements;
    npg_bd_sink *tbuf; /* per thread: the parallel pair pass's pairs */
    int ntbuf;
    npg_bd_view v; /* the pair pass's view (set_view) */
    pairbuf close; /* this step's kept pairs, by ids */
    pairbuf cont;  /* its contact pairs */
    pairbuf cand;  /* reaction candidates */
    /* the pair pass's inputs */
    const uint32_t *pn;
    double pdt, hc_margin;
    double mc;          /* this step's move scale sqrt(2 f dt) / tick (set by moves) */
    double pair_extent; /* beyond R_i + R_j, where a pair can matter: max(margin, l + shell) */
    double pcut;        /* the pass's cutoff [nm] <= rcut: the farthest pair it can keep */
    int pfire;
    uint64_t *mark, *taken; /* by slot: moved by the hard core this step; in a reaction */
    uint32_t *moved;
    size_t nmoved, movedcap;
    loc *locs;
    size_t nloc, loccap;
    uint32_t *pl; /* [2 * cont.len] loc index of each contact pair's a and b */
    size_t plcap;
    npg_wm_event *events;
    size_t nev, evcap;
    uint32_t *queue, *near;
    size_t qcap, nearcap;
    npg_bd_stats st;
    /* an attached device (npg_bd_attach): once live, it holds the state and the arrays above
     * are the host's mirror */
    npg_bd_device *dev;
    int live;
    int dev_failed;      /* a device call or the mirror's bookkeeping failed */
    uint32_t epoch;      /* bumped whenever the device changes every slot */
    uint32_t dl_epoch;   /* epoch of the displaced slots' host copies */
    uint32_t *cstamp;    /* [ncells]: epoch of each cell's host copy */
    uint64_t *dirtybits; /* by slot: written by the host since the last put */
    uint32_t *dirty, *dirty_ids, *fetch;
    size_t ndirty, dirtycap, nid, idcap, fetchcap;
};

/* ---- small helpers --------------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc += nc / 2 + 64;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return 1;
    *p = q;
    *cap = nc;
    return 0;
}

/* Appends the pair of slots s, t with ids is, it (in id order). */
static int pb_push(pairbuf *b, uint32_t s, uint32_t t, uint32_t is, uint32_t it, uint32_t kind,
                   uint32_t prio)
{
    if (b->len == b->cap && grow((void **)&b->v, &b->cap, b->len + 1, sizeof *b->v))
        return 1;
    pairv *v = &b->v[b->len++];
    if (is < it) {
        v->a = s, v->b = t, v->ida = is, v->idb = it;
    } else {
        v->a = t, v->b = s, v->ida = it, v->idb = is;
    }
    v->kind = kind;
    v->prio = prio;
    return 0;
}

static void bit_set(uint64_t *bits, uint64_t i)
{
    bits[i >> 6] |= 1ull << (i & 63u);
}
static void bit_clear(uint64_t *bits, uint64_t i)
{
    bits[i >> 6] &= ~(1ull << (i & 63u));
}

static double radius(const npg_bd *bd, uint32_t n)
{
    return npg_coal_radius(&bd->p.coal, (double)n);
}

static float gfac(const npg_bd *bd, uint32_t n)
{
    return npg_bd_gfac(&bd->p.coal, n);
}

static double wfac(const npg_bd *bd, double R)
{
    return 1.0 / (R + bd->p.coal.ligand);
}

/* Minimum-image vector from slot a to slot b [nm]. */
static void sep(const npg_bd *bd, uint32_t a, uint32_t b, double d[3])
{
    d[0] = (double)(int32_t)(bd->x[b] - bd->x[a]) * bd->tick;
    d[1] = (double)(int32_t)(bd->y[b] - bd->y[a]) * bd->tick;
    d[2] = (double)(int32_t)(bd->z[b] - bd->z[a]) * bd->tick;
}

static void touch(npg_bd *bd, uint32_t s);

static void shift(npg_bd *bd, uint32_t s, const double v[3])
{
    touch(bd, s);
    bd->x[s] += (uint32_t)npg_round_i32(v[0] * bd->inv_tick);
    bd->y[s] += (uint32_t)npg_round_i32(v[1] * bd->inv_tick);
    bd->z[s] += (uint32_t)npg_round_i32(v[2] * bd->inv_tick);
}

static uint32_t cellidx(const npg_bd *bd, uint32_t cx, uint32_t cy, uint32_t cz)
{
    return (cz * bd->nc + cy) * bd->nc + cx;
}

/* Is coordinate u within e_t ticks of cell c's interval? */
static int within1(const npg_bd *bd, uint32_t u, uint32_t c, uint32_t e_t)
{
    const int64_t o = (int32_t)(u - bd->lo[c]);
    return o >= -(int64_t)e_t && o < (int64_t)bd->wd[c] + e_t;
}

static uint32_t e_ticks(const npg_bd *bd)
{
    return (uint32_t)floor(bd->e * bd->inv_tick);
}

/* The cell a normal slot s belongs to (binary search over the starts). */
static uint32_t cell_of_slot(const npg_bd *bd, uint32_t s)
{
    return npg_bd_cell_of_slot(bd->start, bd->ncells, s);
}

/* Is normal slot s within e of its cell's extended box? */
static int slot_within(const npg_bd *bd, uint32_t s)
{
    if (bd->nc == 0 || s >= bd->nmain)
        return 0;
    const uint32_t c = cell_of_slot(bd, s), nc = bd->nc, et = e_ticks(bd);
    return within1(bd, bd->x[s], c % nc, et) && within1(bd, bd->y[s], (c / nc) % nc, et) &&
           within1(bd, bd->z[s], c / nc / nc, et);
}

/* ---- the device's mirror ------------------------------------------------------------------- */

/* The host wrote slot s (positions, g or ids): put it back before the device's next step. */
static void touch(npg_bd *bd, uint32_t s)
{
    if (!bd->live || npg_bd_bit(bd->dirtybits, s))
        return;
    if (grow((void **)&bd->dirty, &bd->dirtycap, bd->ndirty + 1, sizeof *bd->dirty)) {
        bd->dev_failed = 1;
        return;
    }
    bit_set(bd->dirtybits, s);
    bd->dirty[bd->ndirty++] = s;
}

/* The host changed n[id] (a merge). */
static void touch_id(npg_bd *bd, uint32_t id)
{
    if (!bd->live)
        return;
    if (grow((void **)&bd->dirty_ids, &bd->idcap, bd->nid + 1, sizeof *bd->dirty_ids)) {
        bd->dev_failed = 1;
        return;
    }
    bd->dirty_ids[bd->nid++] = id;
}

/* The device changed every slot: every host copy is stale. */
static void bump(npg_bd *bd)
{
    if (++bd->epoch == 0) {
        if (bd->cstamp)
            memset(bd->cstamp, 0, bd->ncells * sizeof *bd->cstamp);
        bd->dl_epoch = 0;
        bd->epoch = 1;
    }
}

/* The host's writes to the device. */
static int flush(npg_bd *bd)
{
    if (!bd->live)
        return 0;
    if (bd->dev_failed)
        return 1;
    npg_bd_device *d = bd->dev;
    if (bd->ndirty) {
        if (d->put(d->ctx, bd->dirty, bd->ndirty, bd->x, bd->y, bd->z, bd->g, bd->ids,
                   bd->dispbits))
            return bd->dev_failed = 1;
        bd->st.dev_put += bd->ndirty;
        for (size_t i = 0; i < bd->ndirty; ++i)
            bit_clear(bd->dirtybits, bd->dirty[i]);
        bd->ndirty = 0;
    }
    if (bd->nid) {
        if (d->put_n(d->ctx, bd->dirty_ids, bd->nid, bd->pn))
            return bd->dev_failed = 1;
        bd->nid = 0;
    }
    return 0;
}

/* Slots [0, k) of bd->fetch from the device to the host arrays. */
static int fetch_list(npg_bd *bd, size_t k)
{
    if (!k)
        return 0;
    if (flush(bd))
        return 1;
    npg_bd_device *d = bd->dev;
    if (d->get(d->ctx, bd->fetch, k, bd->x, bd->y, bd->z, bd->g, bd->ids))
        return bd->dev_failed = 1;
    bd->st.dev_fetched += k;
    return 0;
}

static int fetch_push(npg_bd *bd, size_t *k, uint32_t s)
{
    if (grow((void **)&bd->fetch, &bd->fetchcap, *k + 1, sizeof *bd->fetch))
        return bd->dev_failed = 1;
    bd->fetch[(*k)++] = s;
    return 0;
}

/* Host copies of the slots of cells[0..k) (those stale), in one transfer. */
static int fresh_cells(npg_bd *bd, const uint32_t *cells, size_t k)
{
    if (!bd->live)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < k; ++i) {
        const uint32_t c = cells[i];
        if (bd->cstamp[c] == bd->epoch)
            continue;
        bd->cstamp[c] = bd->epoch;
        for (uint32_t s = bd->start[c]; s < bd->start[c + 1]; ++s)
            if (fetch_push(bd, &m, s))
                return 1;
    }
    return fetch_list(bd, m);
}

/* Host copies of the displaced slots. */
static int fresh_dlist(npg_bd *bd)
{
    if (!bd->live || bd->dl_epoch == bd->epoch)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < bd->dlen; ++i)
        if (fetch_push(bd, &m, bd->dlist[i]))
            return 1;
    if (fetch_list(bd, m))
        return 1;
    bd->dl_epoch = bd->epoch;
    return 0;
}

/* The message for a failure: the device's when it failed, else `what`. */
static void fail_msg(const npg_bd *bd, char *err, size_t errlen, const char *what)
{
    if (bd->dev_failed && bd->dev)
        snprintf(err, errlen, "Brownian coalescence on the device: %s",
                 bd->dev->error(bd->dev->ctx));
    else
        snprintf(err, errlen, "Brownian coalescence: %s", what);
}

static int mark_displaced(npg_bd *bd, uint32_t s)
{
    if (npg_bd_bit(bd->dispbits, s))
        return 0;
    if (grow((void **)&bd->dlist, &bd->dcap, bd->dlen + 1, sizeof *bd->dlist))
        return 1;
    bit_set(bd->dispbits, s);
    bd->dlist[bd->dlen++] = s;
    return 0;
}

/* After a slot was moved by a correction, merge or push: displaced unless still valid. */
static int recheck(npg_bd *bd, uint32_t s)
{
    if (npg_bd_bit(bd->dispbits, s) || slot_within(bd, s))
        return 0;
    return mark_displaced(bd, s);
}

/* ---- creation -------------------------------------------------------------------------------- */

int npg_bd_create(npg_bd **out, const npg_bd_params *p, uint64_t capacity, char *err, size_t errlen)
{
    *out = NULL;
#define BAD(cond, ...)                                                                             \
    do {                                                                                           \
        if (cond) {                                                                                \
            snprintf(err, errlen, "Brownian coalescence: " __VA_ARGS__);                           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
    BAD(!(p->box_nm > 0.0) || !isfinite(p->box_nm), "box edge %g nm must be > 0", p->box_nm);
    BAD(!(p->coal.sigma_s > 0.0), "monomer radius sigma_s %g nm must be > 0", p->coal.sigma_s);
    BAD(!(p->coal.d_ref_r_ref >= 0.0) || !isfinite(p->coal.d_ref_r_ref),
        "D_ref r_ref %g nm^3 per time unit must be >= 0", p->coal.d_ref_r_ref);
    BAD(!(p->coal.ligand >= 0.0) || !isfinite(p->coal.ligand), "ligand %g nm must be >= 0",
        p->coal.ligand);
    BAD(!(p->kappa_c >= 0.0) || !isfinite(p->kappa_c), "kappa_c %g per time unit must be >= 0",
        p->kappa_c);
    BAD(p->shell != NPG_BD_SHELL_GAUSSIAN && p->shell != NPG_BD_SHELL_STEP,
        "shell kind %d (allowed: 0 gaussian, 1 step)", p->shell);
    BAD(!(p->shell_nm > 0.0) && p->dt <= 0.0,
        "shell width %g nm must be > 0 (it sets the automatic time step)", p->shell_nm);
    BAD(!(p->shell_nm >= 0.0) || !isfinite(p->shell_nm), "shell width %g nm must be >= 0",
        p->shell_nm);
    BAD(!(p->dt >= 0.0) || !isfinite(p->dt), "time step %g must be >= 0 (0: automatic)", p->dt);
    BAD(!(p->dt_resolution >= 0.0) || !isfinite(p->dt_resolution),
        "dt_resolution %g must be >= 0 (0: 3)", p->dt_resolution);
    BAD(p->sampling != NPG_BD_SAMPLE_END && p->sampling != NPG_BD_SAMPLE_BRIDGE,
        "shell sampling %d (allowed: 0 end, 1 bridge)", p->sampling);
    BAD(p->sampling == NPG_BD_SAMPLE_BRIDGE && p->shell != NPG_BD_SHELL_GAUSSIAN,
        "shell sampling along the bridge needs the gaussian shell (the step shell is sampled at "
        "step ends)");
    BAD(p->sampling == NPG_BD_SAMPLE_BRIDGE && !(p->shell_nm > 0.0),
        "shell sampling along the bridge needs a shell width > 0 (%g nm)", p->shell_nm);
    BAD(p->on_reaction != NPG_BD_MERGE && p->on_reaction != NPG_BD_REMOVE,
        "on_reaction %d (allowed: 0 merge, 1 remove)", p->on_reaction);
    BAD(capacity >= 0x80000000ull, "%llu particle slots: at most 2^31 - 1",
        (unsigned long long)capacity);
    BAD(p->threads < 0, "threads %d must be >= 0", p->threads);
#undef BAD
    npg_bd *bd = calloc(1, sizeof *bd);
    if (!bd) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    bd->p = *p;
    if (bd->p.dt_resolution == 0.0)
        bd->p.dt_resolution = NPG_COAL_STEP_RESOLUTION;
    bd->capacity = capacity;
    bd->threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    bd->L = p->box_nm;
    bd->tick = p->box_nm / 4294967296.0;
    bd->inv_tick = 4294967296.0 / p->box_nm;
    const size_t c1 = capacity ? capacity : 1, words = capacity / 64 + 1;
    bd->x = malloc(c1 * sizeof *bd->x);
    bd->y = malloc(c1 * sizeof *bd->y);
    bd->z = malloc(c1 * sizeof *bd->z);
    bd->ids = malloc(c1 * sizeof *bd->ids);
    bd->scratch = malloc(c1 * sizeof *bd->scratch);
    bd->g = malloc(c1 * sizeof *bd->g);
    bd->dispbits = calloc(words, sizeof *bd->dispbits);
    bd->mark = calloc(words, sizeof *bd->mark);
    bd->taken = calloc(words, sizeof *bd->taken);
    bd->alive = calloc(words, sizeof *bd->alive);
    bd->epoch = 1;
    bd->groupb = calloc(words, sizeof *bd->groupb);
    bd->ntbuf = bd->threads;
    bd->tbuf = calloc((size_t)bd->ntbuf, sizeof *bd->tbuf);
    if (!bd->x || !bd->y || !bd->z || !bd->ids || !bd->scratch || !bd->g || !bd->dispbits ||
        !bd->mark || !bd->taken || !bd->alive || !bd->groupb || !bd->tbuf) {
        npg_bd_destroy(bd);
        snprintf(err, errlen, "Brownian coalescence: out of memory for %llu particles",
                 (unsigned long long)capacity);
        return 1;
    }
    *out = bd;
    return 0;
}

void npg_bd_destroy(npg_bd *bd)
{
    if (!bd)
        return;
    free(bd->x);
    free(bd->y);
    free(bd->z);
    free(bd->ids);
    free(bd->scratch);
    free(bd->g);
    free(bd->dispbits);
    free(bd->mark);
    free(bd->taken);
    free(bd->cont.v);
    free(bd->cand.v);
    free(bd->moved);
    free(bd->alive);
    free(bd->groupb);
    free(bd->dlist);
    free(bd->start);
    free(bd->lo);
    free(bd->wd);
    if (bd->tbuf)
        for (int i = 0; i < bd->ntbuf; ++i)
            free(bd->tbuf[i].v);
    free(bd->tbuf);
    free(bd->close.v);
    free(bd->locs);
    free(bd->pl);
    free(bd->events);
    free(bd->queue);
    free(bd->near);
    free(bd->cstamp);
    free(bd->dirtybits);
    free(bd->dirty);
    free(bd->dirty_ids);
    free(bd->fetch);
    if (bd->dev)
        bd->dev->destroy(bd->dev->ctx);
    free(bd->dev);
    free(bd);
}

/* ---- cell list ------------------------------------------------------------------------------- */

/* Stable counting sort of the live slots by cell, applied in place; dead slots dropped. */
static void rebuild(npg_bd *bd)
{
    const double t0 = omp_get_wtime();
    if (bd->live) {
        uint64_t live = 0;
        if (flush(bd) || bd->dev->rebuild(bd->dev->ctx, bd->nslots, bd->start, &live)) {
            bd->dev_failed = 1;
        } else {
            bd->nslots = live;
            bd->nmain = live;
        }
        bump(bd);
        memset(bd->dispbits, 0, (bd->capacity / 64 + 1) * sizeof *bd->dispbits);
        bd->dlen = 0;
        bd->st.rebuilds += 1;
        bd->st.t_cells += omp_get_wtime() - t0;
        return;
    }
    const uint32_t nc = bd->nc;
    const uint64_t ncells = bd->ncells, ns = bd->nslots;
    uint32_t *key = bd->scratch, *start = bd->start;
    const uint32_t sentinel = (uint32_t)ncells;
#pragma omp parallel for num_threads(bd->threads) schedule(static) if (ns > PAR_MIN)
    for (uint64_t s = 0; s < ns; ++s)
        key[s] = bd->g[s] < 0.0f ? sentinel : npg_bd_cell_key(bd->x[s], bd->y[s], bd->z[s], nc);
    memset(start, 0, (ncells + 1) * sizeof *start);
    for (uint64_t s = 0; s < ns; ++s)
        if (key[s] != sentinel)
            start[key[s]] += 1;
    uint32_t sum = 0;
    for (uint64_t c = 0; c < ncells; ++c) {
        uint32_t k = start[c];
        start[c] = sum;
        sum += k;
    }
    const uint32_t live = sum;
    uint32_t deadpos = live;
    for (uint64_t s = 0; s < ns; ++s)
        key[s] = key[s] == sentinel ? deadpos++ : start[key[s]]++;
    for (uint64_t c = ncells; c > 0; --c)
        start[c] = start[c - 1];
    start[0] = 0;
    start[ncells] = live;
    /* apply the permutation: the record at s goes to key[s] */
    for (uint64_t s = 0; s < ns; ++s) {
        while (key[s] != s) {
            const uint32_t d = key[s];
            uint32_t tu;
            float tf;
            tu = bd->x[s], bd->x[s] = bd->x[d], bd->x[d] = tu;
            tu = bd->y[s], bd->y[s] = bd->y[d], bd->y[d] = tu;
            tu = bd->z[s], bd->z[s] = bd->z[d], bd->z[d] = tu;
            tu = bd->ids[s], bd->ids[s] = bd->ids[d], bd->ids[d] = tu;
            tf = bd->g[s], bd->g[s] = bd->g[d], bd->g[d] = tf;
            key[s] = key[d];
            key[d] = d;
        }
    }
    bd->nslots = live;
    bd->nmain = live;
    memset(bd->dispbits, 0, (bd->capacity / 64 + 1) * sizeof *bd->dispbits);
    bd->dlen = 0;
    bd->st.rebuilds += 1;
    bd->st.t_cells += omp_get_wtime() - t0;
}

static uint64_t count_live(npg_bd *bd)
{
    uint64_t k = 0;
    if (bd->live) {
        if (flush(bd) || bd->dev->count(bd->dev->ctx, bd->nslots, &k))
            bd->dev_failed = 1;
        return k;
    }
    for (uint64_t s = 0; s < bd->nslots; ++s)
        k += bd->g[s] >= 0.0f;
    return k;
}

/* How far beyond R_i + R_j the shell can act on a pair at a step's end [nm], with per-coordinate
 * steps up to sstep: l + 8 nu (gaussian) or l + w (step); sampled along the bridge, also
 * BRIDGE_STEPS steps (the pair's relative move, up to ~10 sstep with probability 1 - 1e-11, plus
 * 8 times the bridge's added spread, < 0.71 sstep). */
static double shell_reach(const npg_bd *bd, double sstep)
{
    if (!(bd->p.kappa_c > 0.0))
        return 0.0;
    if (bd->p.shell == NPG_BD_SHELL_STEP)
        return bd->p.coal.ligand + bd->p.shell_nm;
    return bd->p.coal.ligand + 8.0 * bd->p.shell_nm +
           (bd->p.sampling == NPG_BD_SAMPLE_BRIDGE ? BRIDGE_STEPS * sstep : 0.0);
}

/* r_cut [nm] for radii up to rmax and per-coordinate steps up to sstep. */
static double rcut_for(const npg_bd *bd, double rmax, double sstep)
{
    return 2.0 * rmax + shell_reach(bd, sstep) + MARGIN_STEPS * sstep;
}

/* A new grid (cell size from the density and r_cut + 2 e), then a rebuild. */
static int regrid(npg_bd *bd, double rcut, double e_target, char *err, size_t errlen)
{
    const uint64_t nlive = count_live(bd);
    const double hd = cbrt(bd->L * bd->L * bd->L * PPC / (double)(nlive ? nlive : 1));
    double h = fmax(hd, rcut + 2.0 * e_target);
    uint64_t nc = (uint64_t)floor(bd->L / h);
    if (nc < 3) {
        nc = 3;
        if (bd->L / 3.0 < rcut + 0.5 * e_target) {
            snprintf(err, errlen,
                     "Brownian coalescence: box edge %g nm is below 3 x (r_cut %g nm + skin): "
                     "use a larger box",
                     bd->L, rcut);
            return 1;
        }
    }
    const uint64_t maxc = 2 * bd->capacity + 27;
    while (nc > 3 && nc * nc * nc > maxc)
        --nc;
    if (nc * nc * nc != bd->ncells) {
        uint32_t *s = realloc(bd->start, (nc * nc * nc + 1) * sizeof *s);
        if (!s) {
            snprintf(err, errlen, "Brownian coalescence: out of memory for %llu cells",
                     (unsigned long long)(nc * nc * nc));
            return 1;
        }
        bd->start = s;
    }
    uint32_t *lo = realloc(bd->lo, (nc + 1) * sizeof *lo), *wd = NULL;
    if (lo)
        bd->lo = lo;
    if (lo)
        wd = realloc(bd->wd, (nc + 1) * sizeof *wd);
    if (!wd) {
        snprintf(err, errlen, "Brownian coalescence: out of memory for the grid");
        return 1;
    }
    bd->wd = wd;
    for (uint64_t c = 0; c <= nc; ++c)
        lo[c] = (uint32_t)npg_bd_cell_lo(c, (uint32_t)nc);
    for (uint64_t c = 0; c < nc; ++c)
        wd[c] = (uint32_t)(npg_bd_cell_lo(c + 1, (uint32_t)nc) - npg_bd_cell_lo(c, (uint32_t)nc));
    bd->nc = (uint32_t)nc;
    bd->ncells = nc * nc * nc;
    bd->h = bd->L / (double)nc;
    bd->rcut = rcut;
    bd->e = fmin(0.5 * (bd->h - rcut) - 2.0 * bd->tick, e_target);
    if (bd->e < 0.0)
        bd->e = 0.0;
    bd->n_at_grid = nlive;
    bd->st.regrids += 1;
    if (bd->dev) {
        uint32_t *cs = realloc(bd->cstamp, bd->ncells * sizeof *cs);
        if (!cs) {
            snprintf(err, errlen, "Brownian coalescence: out of memory for the grid");
            return 1;
        }
        memset(cs, 0, bd->ncells * sizeof *cs);
        bd->cstamp = cs;
    }
    if (bd->live && bd->dev->grid(bd->dev->ctx, bd->nc, lo, wd, NULL, 0)) {
        bd->dev_failed = 1;
        fail_msg(bd, err, errlen, "");
        return 1;
    }
    rebuild(bd);
    if (bd->dev_failed) {
        fail_msg(bd, err, errlen, "");
        return 1;
    }
    return 0;
}

/* Make the grid fit r_cut with an excursion of at least e_target / 4 (regrid otherwise) and set
 * e = min(what fits, e_target). */
static int fit_grid(npg_bd *bd, double rcut, double e_target, char *err, size_t errlen)
{
    const uint64_t nlive = count_live(bd);
    const int drift = nlive > 8 * bd->n_at_grid + 64 || 8 * nlive + 64 < bd->n_at_grid;
    if (bd->nc == 0 || drift || bd->h < rcut + 0.5 * e_target + 4.0 * bd->tick)
        return regrid(bd, rcut, e_target, err, errlen);
    bd->rcut = rcut;
    bd->e = fmin(0.5 * (bd->h - rcut) - 2.0 * bd->tick, e_target);
    return 0;
}

/* Cells along one axis within m of c, each once (all of them when 2m + 1 >= nc). */
static int axis_cells(uint32_t c, uint32_t m, uint32_t nc, uint32_t *out)
{
    if (2ull * m + 1 >= nc) {
        for (uint32_t i = 0; i < nc; ++i)
            out[i] = i;
        return (int)nc;
    }
    int k = 0;
    for (int64_t d = -(int64_t)m; d <= (int64_t)m; ++d)
        out[k++] = (uint32_t)(((int64_t)c + d + nc) % nc);
    return k;
}

/* Alive slots t != skip within rho [nm] of (px, py, pz), into bd->near; returns the count or
 * -1 (out of memory). Normal slots through the cells, displaced ones directly. */
static long scan_near(npg_bd *bd, uint32_t px, uint32_t py, uint32_t pz, double rho, uint32_t skip)
{
    size_t k = 0;
    const double rho2 = rho * rho;
    if (bd->nc) {
        const uint32_t nc = bd->nc;
        const double m = ceil((rho + bd->e) / bd->h);
        const uint32_t mm = m > (double)nc ? nc : (uint32_t)m;
        uint32_t *ax = malloc(3 * (size_t)(2 * mm + 1 > nc ? nc : 2 * mm + 1) * sizeof *ax);
        if (!ax)
            return -1;
        const size_t stride = 2 * mm + 1 > nc ? nc : 2 * mm + 1;
        const int kx = axis_cells(npg_bd_cell(px, nc), mm, nc, ax);
        const int ky = axis_cells(npg_bd_cell(py, nc), mm, nc, ax + stride);
        const int kz = axis_cells(npg_bd_cell(pz, nc), mm, nc, ax + 2 * stride);
        if (bd->live) { /* with a device: the stale cells of the scan in one transfer */
            uint32_t *cl = malloc((size_t)kx * ky * kz * sizeof *cl);
            size_t q = 0;
            for (int iz = 0; cl && iz < kz; ++iz)
                for (int iy = 0; iy < ky; ++iy)
                    for (int ix = 0; ix < kx; ++ix) {
                        const uint32_t c =
                            cellidx(bd, ax[ix], ax[stride + iy], ax[2 * stride + iz]);
                        if (bd->cstamp[c] != bd->epoch)
                            cl[q++] = c;
                    }
            const int bad = !cl || fresh_cells(bd, cl, q);
            free(cl);
            if (bad) {
                free(ax);
                return -1;
            }
        }
        for (int iz = 0; iz < kz; ++iz)
            for (int iy = 0; iy < ky; ++iy)
                for (int ix = 0; ix < kx; ++ix) {
                    const uint32_t c = cellidx(bd, ax[ix], ax[stride + iy], ax[2 * stride + iz]);
                    for (uint32_t t = bd->start[c]; t < bd->start[c + 1]; ++t) {
                        if (t == skip || bd->g[t] < 0.0f || npg_bd_bit(bd->dispbits, t))
                            continue;
                        const double dx = (double)(int32_t)(bd->x[t] - px) * bd->tick;
                        const double dy = (double)(int32_t)(bd->y[t] - py) * bd->tick;
                        const double dz = (double)(int32_t)(bd->z[t] - pz) * bd->tick;
                        if (dx * dx + dy * dy + dz * dz >= rho2)
                            continue;
                        if (grow((void **)&bd->near, &bd->nearcap, k + 1, sizeof *bd->near)) {
                            free(ax);
                            return -1;
                        }
                        bd->near[k++] = t;
                    }
                }
        free(ax);
    }
    /* displaced slots, and every slot when there is no grid yet */
    if (fresh_dlist(bd))
        return -1;
    const size_t nd = bd->nc ? bd->dlen : bd->nslots;
    for (size_t i = 0; i < nd; ++i) {
        const uint32_t t = bd->nc ? bd->dlist[i] : (uint32_t)i;
        if (t == skip || bd->g[t] < 0.0f)
            continue;
        const double dx = (double)(int32_t)(bd->x[t] - px) * bd->tick;
        const double dy = (double)(int32_t)(bd->y[t] - py) * bd->tick;
        const double dz = (double)(int32_t)(bd->z[t] - pz) * bd->tick;
        if (dx * dx + dy * dy + dz * dz >= rho2)
            continue;
        if (grow((void **)&bd->near, &bd->nearcap, k + 1, sizeof *bd->near))
            return -1;
        bd->near[k++] = t;
    }
    return (long)k;
}

/* ---- the pair pass --------------------------------------------------------------------------- */

/* Pairs of alive slots closer than r_cut into bd->close, sorted by (lower id, higher id).
 * Returns 1 when a normal slot has left its extended box (the caller rebuilds and repeats),
 * -1 when out of memory, else 0. */
static int prefetch(npg_bd *bd, const uint32_t *list, size_t n);

/* The pair pass's view of the current state (npgrow/bdstep.h). */
static void set_view(npg_bd *bd)
{
    npg_bd_view *v = &bd->v;
    v->x = bd->x, v->y = bd->y, v->z = bd->z, v->ids = bd->ids, v->g = bd->g;
    v->disp = bd->dispbits, v->start = bd->start, v->lo = bd->lo, v->wd = bd->wd, v->n = bd->pn;
    v->coal = bd->p.coal;
    v->tick = bd->tick;
    v->rcut2 = bd->pcut * bd->pcut;
    v->hc_margin = bd->hc_margin;
    v->pair_extent = bd->pair_extent;
    v->kappa_c = bd->p.kappa_c;
    v->shell_nm = bd->p.shell_nm;
    v->dt = bd->pdt;
    v->step = bd->step;
    v->nc = bd->nc;
    v->et = e_ticks(bd);
    v->rct = (uint32_t)ceil(bd->pcut * bd->inv_tick);
    v->seed = bd->p.seed;
    v->mc = bd->mc;
    v->shell = bd->p.shell;
    v->sampling = bd->p.sampling;
    v->fire = bd->pfire;
}

/* Slot s's displacement over this step [ticks] when the hard core corrected or reverted it
 * (its position before the move is its loc's), into d; 0 when the step's move stands. */
static int loc_move(const npg_bd *bd, uint32_t s, int32_t d[3]);

/* Does the pair of slots a, b (ids ida, idb; separation u = x_b - x_a [nm]; radii Ra, Rb [nm])
 * react in this step? Along the bridge, a slot that the hard core moved starts where it was
 * before the step. */
static int pair_fires(npg_bd *bd, uint32_t a, uint32_t b, uint32_t ida, uint32_t idb,
                      const double u[3], double Ra, double Rb, double dt, uint32_t *prio)
{
    bd->v.step = bd->step;
    bd->v.mc = bd->mc;
    int32_t ma[3], mb[3];
    const int sa = bd->p.sampling == NPG_BD_SAMPLE_BRIDGE && loc_move(bd, a, ma);
    const int sb = bd->p.sampling == NPG_BD_SAMPLE_BRIDGE && loc_move(bd, b, mb);
    return npg_bd_fires(&bd->v, ida, idb, u, Ra, Rb, bd->g[a], bd->g[b], sa ? ma : NULL,
                        sb ? mb : NULL, dt, prio);
}

/* npg_bd_keep into a growable buffer. */
static int keep_pair(npg_bd *bd, pairbuf *pb, uint32_t s, uint32_t t, uint32_t is, uint32_t it,
                     const double u[3])
{
    const double d2 = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
    if (pb->len >= 0xffffffffu) /* the sink addresses at most 2^32 - 1 pairs */
        return 1;
    if (pb->len == pb->cap && grow((void **)&pb->v, &pb->cap, pb->len + 1, sizeof *pb->v))
        return 1;
    npg_bd_sink sk = {pb->v, (uint32_t)(pb->cap > 0xffffffffu ? 0xffffffffu : pb->cap), pb->len};
    npg_bd_keep(&bd->v, &sk, s, t, is, it, u, d2);
    pb->len = sk.len;
    return 0;
}

static int pair_pass(npg_bd *bd)
{
    const uint32_t nc = bd->nc;
    if (ceil(bd->pcut * bd->inv_tick) + e_ticks(bd) >= 2147483648.0)
        return -1;
    set_view(bd);
    const npg_bd_view *v = &bd->v;
    const uint32_t *ids = bd->ids, *start = bd->start;
    const float *G = bd->g;
    const uint64_t *disp = bd->dispbits;
    const double rcut2 = bd->pcut * bd->pcut;
    pairbuf *cl = &bd->close;
    int viol = 0, full;
    if (bd->live) {
        const npg_bd_pair *dp = NULL;
        size_t dn = 0;
        if (flush(bd) || bd->dev->pairs(bd->dev->ctx, v, bd->nmain, &dp, &dn, &viol))
            return bd->dev_failed = 1, -1;
        if (viol)
            return 1;
        if (grow((void **)&cl->v, &cl->cap, dn, sizeof *cl->v))
            return -1;
        if (dn)
            memcpy(cl->v, dp, dn * sizeof *cl->v);
        cl->len = dn;
        goto displaced;
    }
    do {
        full = 0;
        viol = 0;
        for (int i = 0; i < bd->ntbuf; ++i)
            bd->tbuf[i].len = 0;
#pragma omp parallel num_threads(bd->threads) reduction(| : viol) if (bd->nslots > PAR_MIN)
        {
            npg_bd_sink *sk = &bd->tbuf[omp_get_thread_num() % bd->ntbuf];
            /* a const copy per thread: its fields stay in registers across the calls */
            const npg_bd_view lv = *v;
#pragma omp for schedule(dynamic, 8)
            for (uint64_t row = 0; row < (uint64_t)nc * nc; ++row) {
                const uint32_t cz = (uint32_t)(row / nc), cy = (uint32_t)(row % nc);
                for (uint32_t cx = 0; cx < nc; ++cx) {
                    const uint32_t c = (uint32_t)row * nc + cx;
                    for (uint32_t s = start[c]; s < start[c + 1]; ++s) {
                        if (G[s] < 0.0f || npg_bd_bit(disp, s))
                            continue;
                        viol |= npg_bd_scan_slot(&lv, sk, s, cx, cy, cz);
                    }
                }
            }
        }
        /* a thread's buffer overflowed: grow it to what it needed and repeat */
        for (int i = 0; i < bd->ntbuf; ++i) {
            npg_bd_sink *sk = &bd->tbuf[i];
            if (sk->len <= sk->cap)
                continue;
            full = 1;
            const size_t need = (size_t)sk->len + sk->len / 2 + 64;
            if (need > 0xffffffffu) /* the sink addresses at most 2^32 - 1 pairs */
                return -1;
            npg_bd_pair *q = realloc(sk->v, need * sizeof *q);
            if (!q)
                return -1;
            sk->v = q;
            sk->cap = (uint32_t)need;
        }
    } while (full && !viol);
    if (viol)
        return 1;
    cl->len = 0;
    for (int i = 0; i < bd->ntbuf; ++i) {
        if (grow((void **)&cl->v, &cl->cap, cl->len + bd->tbuf[i].len, sizeof *cl->v))
            return -1;
        if (bd->tbuf[i].len)
            memcpy(cl->v + cl->len, bd->tbuf[i].v, bd->tbuf[i].len * sizeof *cl->v);
        cl->len += bd->tbuf[i].len;
    }
displaced:
    /* displaced slots: against normal slots through the 27 cells around them, and each other */
    if (fresh_dlist(bd) || (bd->live && bd->dlen && prefetch(bd, bd->dlist, bd->dlen)))
        return -1;
    for (size_t i = 0; i < bd->dlen; ++i) {
        const uint32_t k = bd->dlist[i];
        if (bd->g[k] < 0.0f)
            continue;
        long m = scan_near(bd, bd->x[k], bd->y[k], bd->z[k], bd->pcut, k);
        if (m < 0)
            return -1;
        for (long j = 0; j < m; ++j) {
            const uint32_t t = bd->near[j];
            if (npg_bd_bit(bd->dispbits, t))
                continue; /* displaced-displaced pairs once, below */
            double d[3];
            sep(bd, k, t, d);
            if (keep_pair(bd, cl, k, t, ids[k], ids[t], d))
                return -1;
        }
        for (size_t j = i + 1; j < bd->dlen; ++j) {
            const uint32_t t = bd->dlist[j];
            if (bd->g[t] < 0.0f)
                continue;
            double d[3];
            sep(bd, k, t, d);
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= rcut2)
                continue;
            if (keep_pair(bd, cl, k, t, ids[k], ids[t], d))
                return -1;
        }
    }
    return 0;
}

/* With a device: the host copies of the cells around slots (n of them, from list, or the close
 * pairs' slots when list is NULL), in one transfer: the 27 cells around the cell of each
 * (its slot's for a normal slot, its position's for a displaced one, whose copy must be fresh);
 * scan_near fetches any other cell it visits. */
static int prefetch(npg_bd *bd, const uint32_t *list, size_t n)
{
    size_t k = 0;
    const uint32_t nc = bd->nc;
    const size_t m = list ? n : 2 * bd->close.len;
    for (size_t i = 0; i < m; ++i) {
        const uint32_t s = list ? list[i] : (i & 1) ? bd->close.v[i / 2].b : bd->close.v[i / 2].a;
        if (list && bd->g[s] < 0.0f)
            continue;
        const uint32_t c = s < bd->nmain && !npg_bd_bit(bd->dispbits, s)
                               ? cell_of_slot(bd, s)
                               : npg_bd_cell_key(bd->x[s], bd->y[s], bd->z[s], nc);
        uint32_t ax[3][3];
        axis_cells(c % nc, 1, nc, ax[0]); /* nc >= 3: three cells along each axis */
        axis_cells((c / nc) % nc, 1, nc, ax[1]);
        axis_cells(c / nc / nc, 1, nc, ax[2]);
        for (int iz = 0; iz < 3; ++iz)
            for (int iy = 0; iy < 3; ++iy)
                for (int ix = 0; ix < 3; ++ix) {
                    const uint32_t cc = cellidx(bd, ax[0][ix], ax[1][iy], ax[2][iz]);
                    if (bd->cstamp[cc] == bd->epoch)
                        continue;
                    if (grow((void **)&bd->queue, &bd->qcap, k + 1, sizeof *bd->queue))
                        return 1;
                    bd->queue[k++] = cc;
                }
    }
    return fresh_cells(bd, bd->queue, k); /* a repeated cell is fetched once */
}

static int cmp_pair(const void *pa, const void *pb)
{
    const pairv *a = pa, *b = pb;
    if (a->ida != b->ida)
        return a->ida < b->ida ? -1 : 1;
    return a->idb < b->idb ? -1 : a->idb > b->idb;
}

/* The pair pass over sizes n, rebuilding until every normal slot is within its extended box;
 * with fire, reacting pairs (dt) are kept too. */
static int close_pairs(npg_bd *bd, const uint32_t *n, double dt, int fire, char *err, size_t errlen)
{
    bd->pn = n;
    bd->pdt = dt;
    bd->pfire = fire;
    bd->hc_margin = MARGIN_STEPS * bd->sstep + 4.0 * SEP_TICKS * bd->tick;
    bd->pair_extent = fmax(bd->hc_margin, shell_reach(bd, bd->sstep)) + 1e-9;
    /* The pass's cutoff: the farthest pair it can keep, plus 4 ticks for rounding. It keeps the
     * same pairs as r_cut (which also carries the hard core's margin for the grid's sake) and
     * scans fewer neighbour cells (a slot scans a neighbour only within cutoff + skin of its
     * face). Without reactions (the check for overlaps from growth) only contact pairs are kept,
     * R_i + R_j + hc_margin <= 2 rmax + hc_margin; with them, npg_bd_keep drops every pair
     * beyond npg_bd_keep_reach of its R + l from the float g (relative error < 2e-7 while g is
     * a normal float, g^2 >= 1e-60), at most 2 (rmax + l)(1 + 1e-6).
     * bd->rmax is at least every alive radius here (sync_sizes, merges and insertions keep it). */
    const double l = bd->p.coal.ligand;
    const double g2min = bd->p.coal.d_ref_r_ref / (bd->rmax + l); /* the largest particle's g^2 */
    if (bd->p.full_cutoff)
        bd->pcut = bd->rcut;
    else if (!fire)
        bd->pcut = fmin(bd->rcut, 2.0 * bd->rmax + bd->hc_margin + 4.0 * bd->tick);
    else if (g2min >= 1e-60)
        bd->pcut = fmin(bd->rcut,
                        npg_bd_keep_reach(2.0 * (bd->rmax + l) * (1.0 + 1e-6), l, bd->pair_extent) +
                            4.0 * bd->tick);
    else
        bd->pcut = bd->rcut;
    const double t0 = omp_get_wtime(), c0 = bd->st.t_cells;
    for (int tries = 0;; ++tries) {
        int rc = pair_pass(bd);
        if (rc == 0)
            break;
        if (rc < 0 || tries > 2) {
            fail_msg(bd, err, errlen,
                     rc < 0 ? "out of memory (or over 2^32 - 1 close pairs) in the pair search"
                            : "no valid cell list in the pair search");
            return 1;
        }
        rebuild(bd);
    }
    if (bd->live && bd->close.len && prefetch(bd, NULL, 0)) {
        fail_msg(bd, err, errlen, "out of memory");
        return 1;
    }
    if (bd->close.len > 1)
        qsort(bd->close.v, bd->close.len, sizeof *bd->close.v, cmp_pair);
    bd->st.close_pairs += bd->close.len;
    bd->st.t_pairs += omp_get_wtime() - t0 - (bd->st.t_cells - c0);
    return 0;
}

/* ---- moves ----------------------------------------------------------------------------------- */

/* Displacements of `count` slots for step `step`: every coordinate += round(z g c) ticks,
 * c = sqrt(2 f dt) / tick. */
NPG_VECTOR_CLONES
static void move_block(uint32_t *restrict x, uint32_t *restrict y, uint32_t *restrict z,
                       const float *restrict g, const uint32_t *restrict ids, long count,
                       uint32_t seed, uint64_t step, double c)
{
    for (long i = 0; i < count; ++i) {
        int32_t d[3];
        npg_bd_move_ticks(seed, ids[i], g[i], step, c, d);
        x[i] += (uint32_t)d[0];
        y[i] += (uint32_t)d[1];
        z[i] += (uint32_t)d[2];
    }
}

/* The same displacement for one slot, as ticks (to undo a move). */
static void move_ticks(const npg_bd *bd, uint32_t s, uint64_t step, double c, int32_t d[3])
{
    npg_bd_move_ticks(bd->p.seed, bd->ids[s], bd->g[s], step, c, d);
}

static void moves(npg_bd *bd, double c)
{
    const double t0 = omp_get_wtime();
    bd->mc = c; /* the bridge draws this step's displacements again */
    if (bd->live) {
        if (flush(bd) || bd->dev->moves(bd->dev->ctx, bd->nslots, bd->p.seed, bd->step, c))
            bd->dev_failed = 1;
        bump(bd);
        bd->st.t_moves += omp_get_wtime() - t0;
        return;
    }
    const long ns = (long)bd->nslots;
    const long nb = (ns + NPG_BD_BLOCK - 1) / NPG_BD_BLOCK;
#pragma omp parallel for num_threads(bd->threads) schedule(static) if (ns > PAR_MIN)
    for (long b = 0; b < nb; ++b) {
        const long s0 = b * NPG_BD_BLOCK;
        const long cnt = ns - s0 < NPG_BD_BLOCK ? ns - s0 : NPG_BD_BLOCK;
        move_block(bd->x + s0, bd->y + s0, bd->z + s0, bd->g + s0, bd->ids + s0, cnt, bd->p.seed,
                   bd->step, c);
    }
    bd->st.t_moves += omp_get_wtime() - t0;
}

/* ---- hard core, reactions, merges ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int loc_index(const npg_bd *bd, uint32_t slot)
{
    size_t lo = 0, hi = bd->nloc;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bd->locs[mid].slot < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int)lo;
}

static int loc_move(const npg_bd *bd, uint32_t s, int32_t d[3])
{
    if (!bd->nloc)
        return 0;
    const size_t i = (size_t)loc_index(bd, s);
    if (i >= bd->nloc || bd->locs[i].slot != s)
        return 0;
    const loc *L = &bd->locs[i];
    if (!(L->moved > 0.0) && !L->reverted)
        return 0;
    d[0] = (int32_t)(bd->x[s] - L->ox);
    d[1] = (int32_t)(bd->y[s] - L->oy);
    d[2] = (int32_t)(bd->z[s] - L->oz);
    return 1;
}

/* Distance [nm] and unit vector from a to b (an arbitrary fixed axis when they coincide). */
static double dist_dir(const npg_bd *bd, uint32_t a, uint32_t b, double u[3])
{
    double d[3];
    sep(bd, a, b, d);
    const double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (r > 0.0) {
        u[0] = d[0] / r;
        u[1] = d[1] / r;
        u[2] = d[2] / r;
    } else {
        u[0] = 1.0;
        u[1] = u[2] = 0.0;
    }
    return r;
}

/* Separate slots a and b (radii Ra, Rb) that overlap to contact plus SEP_TICKS, in the ratio of
 * their diffusion coefficients. */
static void push_apart(npg_bd *bd, uint32_t a, uint32_t b, double Ra, double Rb)
{
    double u[3];
    const double r = dist_dir(bd, a, b, u);
    const double delta = Ra + Rb + SEP_TICKS * bd->tick - r;
    const double wa = wfac(bd, Ra), wb = wfac(bd, Rb), fa = wa / (wa + wb);
    const double va[3] = {-delta * fa * u[0], -delta * fa * u[1], -delta * fa * u[2]};
    const double vb[3] = {delta * (1 - fa) * u[0], delta * (1 - fa) * u[1],
                          delta * (1 - fa) * u[2]};
    shift(bd, a, va);
    shift(bd, b, vb);
}

/* Push apart every overlap reachable from the queued slots; each moved slot is queued again. */
static int resolve_overlaps(npg_bd *bd, const uint32_t *n, size_t nq, char *err, size_t errlen)
{
    size_t head = 0;
    uint64_t ops = 0;
    while (head < nq) {
        const uint32_t k = bd->queue[head++];
        if (bd->g[k] < 0.0f)
            continue;
        const double Rk = radius(bd, n[bd->ids[k]]);
        long m = scan_near(bd, bd->x[k], bd->y[k], bd->z[k], Rk + bd->rmax + bd->tick, k);
        if (m < 0)
            goto oom;
        for (long j = 0; j < m; ++j) {
            const uint32_t t = bd->near[j];
            const double Rt = radius(bd, n[bd->ids[t]]);
            double d[3];
            sep(bd, k, t, d);
            const double s = Rk + Rt;
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= s * s)
                continue;
            if (++ops > PUSH_CAP) {
                snprintf(err, errlen,
                         "Brownian coalescence: overlapping particles could not be separated "
                         "(%u pushes): the system is too dense",
                         PUSH_CAP);
                return 1;
            }
            push_apart(bd, k, t, Rk, Rt);
            bd->st.pushes += 1;
            if (grow((void **)&bd->moved, &bd->movedcap, bd->nmoved + 2, sizeof *bd->moved))
                goto oom;
            bd->moved[bd->nmoved++] = k;
            bd->moved[bd->nmoved++] = t;
            if (recheck(bd, k) || recheck(bd, t))
                goto oom;
            if (grow((void **)&bd->queue, &bd->qcap, nq + 2, sizeof *bd->queue))
                goto oom;
            bd->queue[nq++] = t;
            bd->queue[nq++] = k;
            break; /* k moved: rescan it from its new position */
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "Brownian coalescence: out of memory resolving overlaps");
    return 1;
}

static int cmp_prio(const void *pa, const void *pb)
{
    const pairv *a = pa, *b = pb;
    if (a->prio != b->prio)
        return a->prio > b->prio ? -1 : 1;
    if (a->ida != b->ida)
        return a->ida < b->ida ? -1 : 1;
    return a->idb < b->idb ? -1 : a->idb > b->idb;
}

static int cmp_event(const void *pa, const void *pb)
{
    const npg_wm_event *a = pa, *b = pb;
    if (a->kept != b->kept)
        return a->kept < b->kept ? -1 : 1;
    return a->gone < b->gone ? -1 : a->gone > b->gone;
}

static int pair_overlaps(const npg_bd *bd, const pairv *pv, const uint32_t *pl, size_t k)
{
    const loc *A = &bd->locs[pl[2 * k]], *B = &bd->locs[pl[2 * k + 1]];
    double d[3];
    sep(bd, pv[k].a, pv[k].b, d);
    const double s = A->R + B->R;
    return d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < s * s;
}

/* Hard core over the contact pairs: reflections in Jacobi rounds, then reverts; every moved
 * slot into bd->moved (and overlaps the moves made beyond the contact pairs pushed apart). */
static int hard_core(npg_bd *bd, const uint32_t *n, double c, char *err, size_t errlen)
{
    const pairv *pv = bd->cont.v;
    const size_t np = bd->cont.len;
    if (grow((void **)&bd->queue, &bd->qcap, 2 * np, sizeof *bd->queue) ||
        grow((void **)&bd->locs, &bd->loccap, 2 * np, sizeof *bd->locs) ||
        grow((void **)&bd->pl, &bd->plcap, 2 * np, sizeof *bd->pl))
        goto oom;
    for (size_t k = 0; k < np; ++k) {
        bd->queue[2 * k] = pv[k].a;
        bd->queue[2 * k + 1] = pv[k].b;
    }
    qsort(bd->queue, 2 * np, sizeof *bd->queue, cmp_u32);
    bd->nloc = 0;
    for (size_t k = 0; k < 2 * np; ++k) {
        if (k && bd->queue[k] == bd->queue[k - 1])
            continue;
        loc *L = &bd->locs[bd->nloc++];
        memset(L, 0, sizeof *L);
        L->slot = bd->queue[k];
        L->R = radius(bd, n[bd->ids[L->slot]]);
        L->w = wfac(bd, L->R);
    }
    for (size_t k = 0; k < np; ++k) {
        bd->pl[2 * k] = (uint32_t)loc_index(bd, pv[k].a);
        bd->pl[2 * k + 1] = (uint32_t)loc_index(bd, pv[k].b);
    }
    int any = 0;
    for (size_t k = 0; k < np && !any; ++k)
        any = pair_overlaps(bd, pv, bd->pl, k);
    if (!any)
        return 0;
    for (size_t i = 0; i < bd->nloc; ++i) {
        loc *L = &bd->locs[i];
        int32_t d[3];
        move_ticks(bd, L->slot, bd->step, c, d);
        L->ox = bd->x[L->slot] - (uint32_t)d[0];
        L->oy = bd->y[L->slot] - (uint32_t)d[1];
        L->oz = bd->z[L->slot] - (uint32_t)d[2];
    }
    const double cap = CORR_STEPS * bd->sstep;
    for (int round = 0; round < JACOBI; ++round) {
        int found = 0;
        for (size_t i = 0; i < bd->nloc; ++i)
            bd->locs[i].corr[0] = bd->locs[i].corr[1] = bd->locs[i].corr[2] = 0.0;
        for (size_t k = 0; k < np; ++k) {
            loc *A = &bd->locs[bd->pl[2 * k]], *B = &bd->locs[bd->pl[2 * k + 1]];
            double u[3];
            const double r = dist_dir(bd, pv[k].a, pv[k].b, u);
            const double sg = A->R + B->R;
            if (!(r < sg))
                continue;
            found = 1;
            const double delta = 2.0 * (sg - r) + SEP_TICKS * bd->tick;
            const double fa = A->w / (A->w + B->w);
            for (int q = 0; q < 3; ++q) {
                A->corr[q] -= delta * fa * u[q];
                B->corr[q] += delta * (1.0 - fa) * u[q];
            }
            bd->st.reflections += 1;
        }
        if (!found)
            break;
        for (size_t i = 0; i < bd->nloc; ++i) {
            loc *L = &bd->locs[i];
            const double m =
                sqrt(L->corr[0] * L->corr[0] + L->corr[1] * L->corr[1] + L->corr[2] * L->corr[2]);
            if (m == 0.0)
                continue;
            shift(bd, L->slot, L->corr);
            L->moved += m;
            if (L->moved > cap)
                L->bad = 1;
        }
    }
    /* reverts: particles corrected too far, then both of every pair still overlapping */
    for (size_t i = 0; i < bd->nloc; ++i) {
        loc *L = &bd->locs[i];
        if (L->bad) {
            touch(bd, L->slot);
            bd->x[L->slot] = L->ox, bd->y[L->slot] = L->oy, bd->z[L->slot] = L->oz;
            L->reverted = 1;
            bd->st.reverts += 1;
        }
    }
    for (;;) {
        int changed = 0, found = 0;
        for (size_t k = 0; k < np; ++k) {
            if (!pair_overlaps(bd, pv, bd->pl, k))
                continue;
            found = 1;
            for (int q = 0; q < 2; ++q) {
                loc *L = &bd->locs[bd->pl[2 * k + q]];
                if (L->reverted)
                    continue;
                touch(bd, L->slot);
                bd->x[L->slot] = L->ox, bd->y[L->slot] = L->oy, bd->z[L->slot] = L->oz;
                L->reverted = 1;
                bd->st.reverts += 1;
                changed = 1;
            }
        }
        if (!found)
            break;
        if (!changed) {
            snprintf(err, errlen,
                     "Brownian coalescence: overlap in the state before step %llu (internal)",
                     (unsigned long long)bd->step);
            return 1;
        }
    }
    size_t nq = 0;
    for (size_t i = 0; i < bd->nloc; ++i) {
        const loc *L = &bd->locs[i];
        if (!(L->moved > 0.0) && !L->reverted)
            continue;
        if (recheck(bd, L->slot) ||
            grow((void **)&bd->moved, &bd->movedcap, bd->nmoved + 1, sizeof *bd->moved))
            goto oom;
        bd->moved[bd->nmoved++] = L->slot;
        bd->queue[nq++] = L->slot; /* nq <= nloc <= qcap */
    }
    /* a corrected or reverted particle may now overlap one beyond the contact pairs (rare:
     * they have a margin of MARGIN_STEPS steps): check them all, push such overlaps apart */
    return nq ? resolve_overlaps(bd, n, nq, err, errlen) : 0;
oom:
    snprintf(err, errlen, "Brownian coalescence: out of memory in a step");
    return 1;
}

/* Hard core, reactions and merges over this step's kept pairs, at time t (step end). */
static int process_close(npg_bd *bd, uint32_t *n, double t, double dt, double c, char *err,
                         size_t errlen)
{
    const double t0 = omp_get_wtime();
    const pairv *pv = bd->close.v;
    const size_t np = bd->close.len;
    bd->nev = 0;
    bd->nmoved = 0;
    bd->nloc = 0; /* this step's hard-core particles (loc_move) */
    if (np == 0)
        goto done;
    /* hard core over the contact pairs */
    bd->cont.len = 0;
    for (size_t k = 0; k < np; ++k)
        if (pv[k].kind == PAIR_CONTACT &&
            pb_push(&bd->cont, pv[k].a, pv[k].b, pv[k].ida, pv[k].idb, PAIR_CONTACT, 0))
            goto oom;
    if (bd->cont.len && hard_core(bd, n, c, err, errlen))
        return 1;
    /* reaction candidates: contact pairs (decided now, at the final positions), pairs that
     * fired in the parallel pass (decided again if a partner was moved since), and every pair
     * within r_cut of a moved particle */
    for (size_t i = 0; i < bd->nmoved; ++i)
        bit_set(bd->mark, bd->moved[i]);
    bd->cand.len = 0;
    for (size_t k = 0; k < np; ++k) {
        uint32_t kind = pv[k].kind;
        if (kind == PAIR_FIRE && (npg_bd_bit(bd->mark, pv[k].a) || npg_bd_bit(bd->mark, pv[k].b)))
            kind = PAIR_EVAL;
        if (kind == PAIR_CONTACT)
            kind = PAIR_EVAL;
        if (pb_push(&bd->cand, pv[k].a, pv[k].b, pv[k].ida, pv[k].idb, kind, pv[k].prio))
            goto oom;
    }
    for (size_t i = 0; i < bd->nmoved; ++i) {
        const uint32_t m = bd->moved[i];
        if (bd->g[m] < 0.0f)
            continue;
        const long k = scan_near(bd, bd->x[m], bd->y[m], bd->z[m], bd->rcut, m);
        if (k < 0)
            goto oom;
        for (long j = 0; j < k; ++j)
            if (pb_push(&bd->cand, m, bd->near[j], bd->ids[m], bd->ids[bd->near[j]], PAIR_EVAL, 0))
                goto oom;
    }
    for (size_t i = 0; i < bd->nmoved; ++i)
        bit_clear(bd->mark, bd->moved[i]);
    if (bd->nmoved && bd->cand.len > 1)
        qsort(bd->cand.v, bd->cand.len, sizeof *bd->cand.v, cmp_pair);
    size_t nf = 0;
    for (size_t k = 0; k < bd->cand.len; ++k) {
        pairv v = bd->cand.v[k];
        if (k && v.ida == bd->cand.v[k - 1].ida && v.idb == bd->cand.v[k - 1].idb)
            continue; /* a duplicate from the scans: decided alike */
        if (v.kind == PAIR_EVAL) {
            double d[3];
            sep(bd, v.a, v.b, d);
            if (!pair_fires(bd, v.a, v.b, v.ida, v.idb, d, radius(bd, n[v.ida]),
                            radius(bd, n[v.idb]), dt, &v.prio))
                continue;
        }
        bd->cand.v[nf++] = v; /* nf <= k: compaction in place */
    }
    if (nf == 0)
        goto done;
    /* conflicts: in priority order, a pair reacts when neither partner has */
    qsort(bd->cand.v, nf, sizeof *bd->cand.v, cmp_prio);
    size_t nq = 0;
    for (size_t f = 0; f < nf; ++f) {
        const pairv *F = &bd->cand.v[f];
        const uint32_t sa = F->a, sb = F->b; /* ids[sa] < ids[sb] */
        if (npg_bd_bit(bd->taken, sa) || npg_bd_bit(bd->taken, sb)) {
            bd->st.conflicts += 1;
            continue;
        }
        bit_set(bd->taken, sa);
        bit_set(bd->taken, sb);
        const uint32_t ia = F->ida, ib = F->idb;
        const uint64_t sum = (uint64_t)n[ia] + n[ib];
        if (bd->p.on_reaction == NPG_BD_MERGE && sum > 0xffffffffull) {
            snprintf(err, errlen,
                     "Brownian coalescence: a merge at t = %g gives %llu monomers, beyond the "
                     "32-bit size limit (4294967295)",
                     t, (unsigned long long)sum);
            return 1;
        }
        if (grow((void **)&bd->events, &bd->evcap, bd->nev + 1, sizeof *bd->events) ||
            grow((void **)&bd->queue, &bd->qcap, nq + 1, sizeof *bd->queue))
            goto oom;
        npg_wm_event ev = {t, ia, ib, n[ia], n[ib]};
        bd->events[bd->nev++] = ev;
        bd->st.reactions += 1;
        touch(bd, sa);
        touch(bd, sb);
        touch_id(bd, ia);
        touch_id(bd, ib);
        if (bd->p.on_reaction == NPG_BD_REMOVE) {
            n[ia] = n[ib] = 0;
            bd->g[sa] = bd->g[sb] = DEAD_G;
            bit_clear(bd->alive, ia);
            bit_clear(bd->alive, ib);
            continue;
        }
        /* volume-weighted centre along the minimum image */
        double d[3];
        sep(bd, sa, sb, d);
        const double wgt = (double)n[ib] / (double)sum;
        const double v[3] = {d[0] * wgt, d[1] * wgt, d[2] * wgt};
        shift(bd, sa, v);
        n[ia] = (uint32_t)sum;
        n[ib] = 0;
        bd->g[sa] = gfac(bd, n[ia]);
        bd->g[sb] = DEAD_G;
        bit_clear(bd->alive, ib);
        bit_set(bd->groupb, ia);
        bit_set(bd->groupb, ib);
        const double Rn = radius(bd, n[ia]);
        if (Rn > bd->rmax)
            bd->rmax = Rn;
        if (recheck(bd, sa))
            goto oom;
        bd->queue[nq++] = sa;
    }
    for (size_t f = 0; f < nf; ++f) {
        bit_clear(bd->taken, bd->cand.v[f].a);
        bit_clear(bd->taken, bd->cand.v[f].b);
    }
    if (nq && resolve_overlaps(bd, n, nq, err, errlen))
        return 1;
    if (bd->nev > 1)
        qsort(bd->events, bd->nev, sizeof *bd->events, cmp_event);
done:
    bd->st.t_merges += omp_get_wtime() - t0;
    return 0;
oom:
    snprintf(err, errlen, "Brownian coalescence: out of memory in a step");
    return 1;
}

/* ---- placement ------------------------------------------------------------------------------- */

/* Can a particle of radius R sit at (px, py, pz) at distance >= max(dmin, R + R_t) from every
 * alive slot (skip excluded)? */
static int room_at(npg_bd *bd, const uint32_t *n, uint32_t px, uint32_t py, uint32_t pz, double R,
                   double dmin, uint32_t skip, int *ok)
{
    const double rho = fmax(dmin, R + bd->rmax);
    long m = scan_near(bd, px, py, pz, rho, skip);
    if (m < 0)
        return 1;
    *ok = 1;
    for (long j = 0; j < m; ++j) {
        const uint32_t t = bd->near[j];
        const double need = fmax(dmin, R + radius(bd, n[bd->ids[t]]));
        const double dx = (double)(int32_t)(bd->x[t] - px) * bd->tick;
        const double dy = (double)(int32_t)(bd->y[t] - py) * bd->tick;
        const double dz = (double)(int32_t)(bd->z[t] - pz) * bd->tick;
        if (dx * dx + dy * dy + dz * dz < need * need) {
            *ok = 0;
            return 0;
        }
    }
    return 0;
}

static double volume_fraction_note(const npg_bd *bd, uint64_t count, double dmin)
{
    /* packing fraction of spheres of diameter dmin */
    return (double)count * NPG_PI * dmin * dmin * dmin / 6.0 / (bd->L * bd->L * bd->L);
}

/* The placement grid's cell of slot s's position (npc cells per axis). */
static uint32_t place_cell(const npg_bd *bd, uint64_t s, uint32_t npc)
{
    return npg_bd_cell_key(bd->x[s], bd->y[s], bd->z[s], npc);
}

static uint32_t place_hash(uint32_t c)
{
    return (c * 2654435761u) >> (32 - PLACE_HASH_BITS);
}

/* A cell of the placement grid: its first particle inline (one cache line read per cell, where
 * a separate head, chain and three coordinates cost five: placement near jamming waits on
 * memory), the rest chained through next from it (u's top bit set when there are more). */
typedef struct pcell {
    uint32_t x, y, z, u; /* u: the first particle's slot | PCELL_MORE, or PCELL_EMPTY */
} pcell;
#define PCELL_EMPTY 0xffffffffu
#define PCELL_MORE  0x80000000u

/* An attempted position (x, y, z) of a particle of radius R [nm], with the exclusion distance
 * dmin [nm]: no pair needs more than bound = max(dmin, R + R_max), and when dmin covers every
 * radius (fixed) every pair needs dmin and the other's size is never read (the same decisions,
 * fewer memory reads). */
typedef struct place_pt {
    uint32_t x, y, z;
    double R, dmin, bound2;
    int fixed;
} place_pt;

/* Is particle u, at (ux, uy, uz), closer to the attempt than max(dmin, R + R_u)? */
static inline int place_clash(const npg_bd *bd, const uint32_t *n, const place_pt *p, uint32_t ux,
                              uint32_t uy, uint32_t uz, uint64_t u)
{
    const double ddx = (double)(int32_t)(ux - p->x) * bd->tick;
    const double ddy = (double)(int32_t)(uy - p->y) * bd->tick;
    const double ddz = (double)(int32_t)(uz - p->z) * bd->tick;
    const double d2 = ddx * ddx + ddy * ddy + ddz * ddz;
    if (d2 >= p->bound2)
        return 0;
    if (p->fixed)
        return 1;
    const double need = fmax(p->dmin, p->R + radius(bd, n[bd->ids[u]]));
    return d2 < need * need;
}

/* Attempt a of slot s (placement serial `serial`): its position into x, y, z[s]; 1 when it is at
 * least max(min_dist, R_s + R_t) from every particle t in the grid (grid, next; none when grid
 * is NULL) and, with hh, from the batch's particles accepted so far (slots b0 + the chain of
 * the hash hh, hn). */
static int place_try(npg_bd *bd, const uint32_t *n, const pcell *grid, const uint32_t *next,
                     uint32_t npc, uint64_t s, uint64_t serial, uint32_t a, double dmin,
                     const uint32_t *hh, const uint32_t *hn, uint64_t b0)
{
    const uint64_t np = npc;
    const uint32_t id = bd->ids[s];
    const npg_u32x4 w = npg_philox4x32_10(npg_bd_counter(a, serial, NPG_BD_TAG_PLACE),
                                          npg_philox_key(bd->p.seed, id));
    bd->x[s] = w.x, bd->y[s] = w.y, bd->z[s] = w.z;
    const double R = radius(bd, n[id]);
    const double bound = fmax(dmin, R + bd->rmax), bound2 = bound * bound;
    const place_pt pt = {w.x, w.y, w.z, R, dmin, bound2, dmin >= R + bd->rmax};
    uint32_t ax[3][3];
    const uint32_t wc[3] = {w.x, w.y, w.z};
    int k[3];
    /* per axis, the squared distance [nm^2] from the point to each neighbour cell's nearest
     * face (0 for its own cell); a cell whose faces are bound or farther cannot hold a conflict
     * (a particle in it is farther still, and rounding is monotone: the same decisions). The
     * own cell first, where conflicts are likeliest. */
    double f2[3][3] = {{0.0}};
    for (int q = 0; q < 3; ++q) {
        const uint32_t cc = npg_bd_cell(wc[q], npc);
        k[q] = axis_cells(cc, 1, npc, ax[q]);
        if (k[q] != 3)
            continue;
        const uint64_t lo = npg_bd_cell_lo(cc, npc), hi = npg_bd_cell_lo(cc + 1, npc);
        const double dl = (double)((uint64_t)wc[q] - lo) * bd->tick,
                     dh = (double)(hi - (uint64_t)wc[q]) * bd->tick;
        const uint32_t below = ax[q][0];
        ax[q][0] = ax[q][1], ax[q][1] = below; /* order: own, below, above */
        f2[q][1] = dl * dl;
        f2[q][2] = dh * dh;
    }
    for (int iz = 0; iz < k[2]; ++iz) {
        if (f2[2][iz] >= bound2)
            continue;
        for (int iy = 0; iy < k[1]; ++iy) {
            if (f2[1][iy] + f2[2][iz] >= bound2)
                continue;
            for (int ix = 0; ix < k[0]; ++ix) {
                if ((f2[0][ix] + f2[1][iy]) + f2[2][iz] >= bound2)
                    continue;
                const uint32_t c =
                    (uint32_t)(((uint64_t)ax[2][iz] * np + ax[1][iy]) * np + ax[0][ix]);
                /* the grid's cell (its first particle inline, then its chain), then the
                 * batch's particles in this cell */
                const pcell gc = grid ? grid[c] : (pcell){0, 0, 0, PCELL_EMPTY};
                uint32_t t = 0xffffffffu;
                if (gc.u != PCELL_EMPTY) {
                    const uint32_t u0 = gc.u & ~PCELL_MORE;
                    if (place_clash(bd, n, &pt, gc.x, gc.y, gc.z, u0))
                        return 0;
                    if (gc.u & PCELL_MORE)
                        t = next[u0];
                }
                uint32_t q = hh ? hh[place_hash(c)] : 0xffffffffu;
                for (;;) {
                    uint64_t u;
                    if (t != 0xffffffffu) {
                        u = t;
                        t = next[t];
                    } else if (q != 0xffffffffu) {
                        u = b0 + q;
                        q = hn[q];
                        if (place_cell(bd, u, npc) != c)
                            continue; /* another cell with the same hash */
                    } else {
                        break;
                    }
                    if (place_clash(bd, n, &pt, bd->x[u], bd->y[u], bd->z[u], u))
                        return 0;
                }
            }
        }
    }
    return 1;
}

int npg_bd_place_all(npg_bd *bd, const uint32_t *n, double min_dist_nm, char *err, size_t errlen)
{
    if (bd->nslots != 0) {
        snprintf(err, errlen, "Brownian coalescence: place_all needs an empty system");
        return 1;
    }
    if (!(min_dist_nm >= 0.0) || !(min_dist_nm < bd->L / 2.0)) {
        snprintf(err, errlen,
                 "Brownian coalescence: minimum distance %g nm must be in [0, L/2 = %g)",
                 min_dist_nm, bd->L / 2.0);
        return 1;
    }
    uint64_t N = 0;
    double rmax = 0.0;
    for (uint64_t id = 0; id < bd->capacity; ++id) {
        if (n[id] < 2)
            continue;
        bd->ids[N] = (uint32_t)id;
        bd->g[N] = gfac(bd, n[id]);
        const double R = radius(bd, n[id]);
        rmax = R > rmax ? R : rmax;
        N++;
    }
    bd->rmax = rmax;
    if (N == 0)
        return 0;
    /* a temporary grid (16 bytes per cell, about one cell per particle; next in scratch),
     * cells >= the largest exclusion distance so that the 27 around a point hold every
     * conflict */
    const double dx_max = fmax(min_dist_nm, 2.0 * rmax);
    double hp = fmax(dx_max, cbrt(bd->L * bd->L * bd->L / (double)N));
    uint64_t np = (uint64_t)floor(bd->L / hp);
    if (np < 1)
        np = 1;
    while (np > 1 && np * np * np > 2 * N + 27)
        --np;
    pcell *grid = malloc(np * np * np * sizeof *grid);
    if (!grid) {
        snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
        return 1;
    }
    memset(grid, 0xff, np * np * np * sizeof *grid); /* u = PCELL_EMPTY */
    uint32_t *next = bd->scratch;
    const uint32_t npc = (uint32_t)np;
    /* Random sequential addition, in id order: particle s tries positions a = 0, 1, ... (Philox
     * keyed by its id, attempt and placement serial) until one is at least max(min_dist, R_s +
     * R_t) from every particle t placed before it. Done in batches of PLACE_BATCH, with the same
     * result as one particle at a time: first, in parallel, each particle of the batch finds its
     * first attempt k0 that is clear of the particles placed before the batch (the grid holds
     * only those); then, in id order, the attempt k0 is accepted when it is also clear of the
     * batch's particles accepted before it (a small hash of their cells), else the attempts from
     * k0 + 1 are checked against both, one by one (rare: a batch is spread over the whole box);
     * then the batch enters the grid. */
    uint32_t *k0 = malloc(PLACE_BATCH * sizeof *k0);
    uint32_t *hh = malloc(2 * PLACE_BATCH * sizeof *hh); /* hash of the batch's cells */
    uint32_t *hn = malloc(PLACE_BATCH * sizeof *hn);     /* chain in the hash */
    if (!k0 || !hh || !hn) {
        free(grid), free(k0), free(hh), free(hn);
        snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
        return 1;
    }
    const uint64_t serial0 = bd->placements;
    bd->placements += N;
    int failed = 0;
    for (uint64_t b0 = 0; b0 < N && !failed; b0 += PLACE_BATCH) {
        const uint64_t b1 = b0 + PLACE_BATCH < N ? b0 + PLACE_BATCH : N;
#pragma omp parallel for num_threads(bd->threads) schedule(dynamic, 64) if (b1 - b0 > 256)
        for (uint64_t s = b0; s < b1; ++s) {
            uint32_t a = 0, ok = 0;
            for (; a < PLACE_TRIES && !ok; ++a)
                ok = place_try(bd, n, grid, next, npc, s, serial0 + s, a, min_dist_nm, NULL, 0, 0);
            k0[s - b0] = ok ? a - 1 : PLACE_TRIES;
        }
        memset(hh, 0xff, 2 * PLACE_BATCH * sizeof *hh);
        for (uint64_t s = b0; s < b1; ++s) {
            uint32_t a = k0[s - b0];
            /* attempt k0 against the batch so far, then later attempts against everything */
            int ok = a < PLACE_TRIES &&
                     place_try(bd, n, NULL, next, npc, s, serial0 + s, a, min_dist_nm, hh, hn, b0);
            while (!ok && ++a < PLACE_TRIES)
                ok = place_try(bd, n, grid, next, npc, s, serial0 + s, a, min_dist_nm, hh, hn, b0);
            if (!ok) {
                snprintf(err, errlen,
                         "Brownian coalescence: no room for particle %u after %u attempts "
                         "(%llu placed; spheres of diameter %g nm fill %.3f of the box, random "
                         "sequential addition jams at 0.38): lower the minimum distance or the "
                         "density",
                         bd->ids[s], PLACE_TRIES, (unsigned long long)s, dx_max,
                         volume_fraction_note(bd, N, dx_max));
                failed = 1;
                break;
            }
            /* x, y, z[s] hold attempt a's position: into the batch's hash */
            const uint32_t c = place_cell(bd, s, npc);
            const uint32_t h = place_hash(c);
            hn[s - b0] = hh[h];
            hh[h] = (uint32_t)(s - b0);
            bd->st.place_attempts += a + 1;
            bd->st.placed += 1;
            bit_set(bd->alive, bd->ids[s]);
        }
        for (uint64_t s = b0; s < b1 && !failed; ++s) { /* the batch enters the grid */
            pcell *g = &grid[place_cell(bd, s, npc)];
            if (g->u == PCELL_EMPTY) {
                g->x = bd->x[s], g->y = bd->y[s], g->z = bd->z[s];
                g->u = (uint32_t)s;
                next[s] = 0xffffffffu;
            } else { /* after the first: next of the first heads the rest */
                const uint32_t f = g->u & ~PCELL_MORE;
                next[s] = (g->u & PCELL_MORE) ? next[f] : 0xffffffffu;
                next[f] = (uint32_t)s;
                g->u |= PCELL_MORE;
            }
        }
    }
    free(k0), free(hh), free(hn);
    if (failed) {
        free(grid);
        bd->nslots = 0;
        return 1;
    }
    free(grid);
    bd->nslots = N;
    bd->nmain = 0;
    /* a grid for the given sizes; the excursion is reset at the first advance */
    const double hd = cbrt(bd->L * bd->L * bd->L / (double)N);
    return regrid(bd, rcut_for(bd, rmax, 0.0), 0.05 * hd, err, errlen);
}

/* Append slot for id at (px, py, pz), displaced. */
static int append(npg_bd *bd, uint32_t *n_arr, uint32_t id, uint32_t n, uint32_t px, uint32_t py,
                  uint32_t pz)
{
    const uint64_t s = bd->nslots++;
    touch(bd, (uint32_t)s);
    bd->x[s] = px;
    bd->y[s] = py;
    bd->z[s] = pz;
    bd->ids[s] = id;
    bd->g[s] = gfac(bd, n);
    n_arr[id] = n;
    bit_set(bd->alive, id);
    const double R = radius(bd, n);
    if (R > bd->rmax)
        bd->rmax = R;
    bd->st.placed += 1;
    return bd->nc ? mark_displaced(bd, (uint32_t)s) : 0;
}

/* Room for one more slot; a stale slot of id (alive bit set but n was zeroed) is killed. */
static int prepare_insert(npg_bd *bd, const uint32_t *n_arr, uint32_t id, uint32_t n, char *err,
                          size_t errlen)
{
    if (id >= bd->capacity || n < 2 || n_arr[id] != 0) {
        snprintf(err, errlen,
                 "Brownian coalescence: cannot insert id %u (size %u; the id must be < %llu, "
                 "dormant, and the size >= 2)",
                 id, n, (unsigned long long)bd->capacity);
        return 1;
    }
    if (npg_bd_bit(bd->alive, id)) {
        if (bd->live) {
            if (flush(bd) || bd->dev->kill(bd->dev->ctx, bd->nslots, id)) {
                bd->dev_failed = 1;
                fail_msg(bd, err, errlen, "");
                return 1;
            }
            bump(bd);
        } else {
            for (uint64_t s = 0; s < bd->nslots; ++s)
                if (bd->ids[s] == id)
                    bd->g[s] = DEAD_G;
        }
        bit_clear(bd->alive, id);
    }
    const size_t tmax =
        bd->nmain / 256 > 1024 ? 1024 : (bd->nmain / 256 < 64 ? 64 : bd->nmain / 256);
    if (bd->nc && (bd->nslots >= bd->capacity || bd->dlen >= tmax)) {
        rebuild(bd);
        if (bd->dev_failed) {
            fail_msg(bd, err, errlen, "");
            return 1;
        }
    }
    if (bd->nslots >= bd->capacity) {
        uint64_t live = count_live(bd);
        if (live >= bd->capacity) {
            snprintf(err, errlen, "Brownian coalescence: all %llu slots are in use",
                     (unsigned long long)bd->capacity);
            return 1;
        }
        /* no grid yet: compact by hand */
        uint64_t k = 0;
        for (uint64_t s = 0; s < bd->nslots; ++s)
            if (bd->g[s] >= 0.0f) {
                bd->x[k] = bd->x[s], bd->y[k] = bd->y[s], bd->z[k] = bd->z[s];
                bd->ids[k] = bd->ids[s], bd->g[k] = bd->g[s];
                ++k;
            }
        bd->nslots = k;
    }
    return 0;
}

int npg_bd_insert(npg_bd *bd, uint32_t *n_arr, uint32_t id, uint32_t n, double min_dist_nm,
                  char *err, size_t errlen)
{
    if (prepare_insert(bd, n_arr, id, n, err, errlen))
        return 1;
    if (!(min_dist_nm >= 0.0) || !(min_dist_nm < bd->L / 2.0)) {
        snprintf(err, errlen,
                 "Brownian coalescence: minimum distance %g nm must be in [0, L/2 = %g)",
                 min_dist_nm, bd->L / 2.0);
        return 1;
    }
    const double R = radius(bd, n);
    const uint64_t serial = bd->placements++;
    for (uint32_t a = 0; a < PLACE_TRIES; ++a) {
        const npg_u32x4 b = npg_philox4x32_10(npg_bd_counter(a, serial, NPG_BD_TAG_PLACE),
                                              npg_philox_key(bd->p.seed, id));
        int ok = 0;
        if (room_at(bd, n_arr, b.x, b.y, b.z, R, min_dist_nm, 0xffffffffu, &ok)) {
            snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
            return 1;
        }
        if (!ok)
            continue;
        bd->st.place_attempts += a + 1;
        if (append(bd, n_arr, id, n, b.x, b.y, b.z)) {
            snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
            return 1;
        }
        return 0;
    }
    snprintf(err, errlen,
             "Brownian coalescence: no room for particle %u after %u attempts (minimum distance "
             "%g nm): lower the minimum distance or the density",
             id, PLACE_TRIES, min_dist_nm);
    return 1;
}

int npg_bd_place_at(npg_bd *bd, uint32_t *n_arr, uint32_t id, uint32_t n, const double xyz[3],
                    char *err, size_t errlen)
{
    if (prepare_insert(bd, n_arr, id, n, err, errlen))
        return 1;
    uint32_t q[3];
    for (int k = 0; k < 3; ++k) {
        if (!isfinite(xyz[k])) {
            snprintf(err, errlen, "Brownian coalescence: position of id %u is not finite", id);
            return 1;
        }
        double u = fmod(xyz[k], bd->L);
        if (u < 0.0)
            u += bd->L;
        double tks = floor(u * bd->inv_tick + 0.5);
        q[k] = tks >= 4294967296.0 ? 0u : (uint32_t)tks;
    }
    const double R = radius(bd, n);
    int ok = 0;
    if (room_at(bd, n_arr, q[0], q[1], q[2], R, 0.0, 0xffffffffu, &ok)) {
        snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
        return 1;
    }
    if (!ok) {
        snprintf(err, errlen,
                 "Brownian coalescence: id %u at (%g, %g, %g) nm overlaps another particle", id,
                 xyz[0], xyz[1], xyz[2]);
        return 1;
    }
    if (append(bd, n_arr, id, n, q[0], q[1], q[2])) {
        snprintf(err, errlen, "Brownian coalescence: out of memory placing particles");
        return 1;
    }
    return 0;
}

/* ---- advance --------------------------------------------------------------------------------- */

/* Sizes from n: dead slots for n < 2, D factors, rmax; returns the smallest radius (inf when
 * none is alive). */
static double sync_sizes(npg_bd *bd, const uint32_t *n, uint64_t *nlive)
{
    double rmin = INFINITY, rmax = 0.0;
    uint64_t live = 0;
    const uint64_t ns = bd->nslots;
    if (bd->live) {
        npg_bd_device *d = bd->dev;
        if (flush(bd) || d->put_n(d->ctx, NULL, bd->capacity, n) ||
            d->sizes(d->ctx, ns, &bd->p.coal, 1, &rmin, &rmax, &live))
            bd->dev_failed = 1;
        bump(bd);
    } else {
#pragma omp parallel for num_threads(bd->threads) schedule(static) reduction(min : rmin)        \
    reduction(max : rmax) reduction(+ : live) if (ns > PAR_MIN)
        for (uint64_t s = 0; s < ns; ++s) {
            if (bd->g[s] < 0.0f)
                continue;
            const uint32_t m = n[bd->ids[s]];
            if (m < 2) {
                bd->g[s] = DEAD_G;
                continue;
            }
            bd->g[s] = gfac(bd, m);
            const double R = radius(bd, m);
            rmin = R < rmin ? R : rmin;
            rmax = R > rmax ? R : rmax;
            live += 1;
        }
    }
    /* an alive id below 2 monomers has just lost its slot (dissolved) */
    for (uint64_t id = 0; id < bd->capacity; ++id)
        if (n[id] < 2 && npg_bd_bit(bd->alive, id))
            bit_clear(bd->alive, id);
    bd->rmax = rmax;
    *nlive = live;
    return rmin;
}

/* Put the whole state on the attached device; from now on the host arrays are its mirror. */
static int go_live(npg_bd *bd, const uint32_t *n, char *err, size_t errlen)
{
    npg_bd_device *d = bd->dev;
    size_t k = 0;
    for (uint64_t s = 0; s < bd->nslots; ++s)
        if (fetch_push(bd, &k, (uint32_t)s))
            break;
    bd->pn = n;
    if (!bd->cstamp) { /* attached after the grid was made */
        bd->cstamp = calloc(bd->ncells, sizeof *bd->cstamp);
        if (!bd->cstamp)
            bd->dev_failed = 1;
    }
    if (bd->dev_failed || d->grid(d->ctx, bd->nc, bd->lo, bd->wd, bd->start, bd->nmain) ||
        (k && d->put(d->ctx, bd->fetch, k, bd->x, bd->y, bd->z, bd->g, bd->ids, bd->dispbits)) ||
        d->put_n(d->ctx, NULL, bd->capacity, n)) {
        bd->dev_failed = 1;
        fail_msg(bd, err, errlen, "out of memory");
        return 1;
    }
    bd->live = 1;
    bd->epoch = 1;
    for (uint64_t c = 0; c < bd->ncells; ++c)
        bd->cstamp[c] = 1; /* the host's copies are the state itself */
    bd->dl_epoch = 1;
    return 0;
}

static double dt_for(const npg_bd *bd, double rmin, double t0, double t1)
{
    if (bd->p.dt > 0.0)
        return bd->p.dt;
    const double f =
        fmax(npg_coal_time_factor(&bd->p.coal, t0), npg_coal_time_factor(&bd->p.coal, t1));
    const double dmax = f * bd->p.coal.d_ref_r_ref / (rmin + bd->p.coal.ligand);
    const double s = bd->p.shell_nm / bd->p.dt_resolution;
    return dmax > 0.0 ? s * s / (2.0 * dmax) : INFINITY;
}

double npg_bd_step(npg_bd *bd, const uint32_t *n, double t0, double t1)
{
    double rmin = INFINITY;
    if (bd->live) {
        npg_bd_device *d = bd->dev;
        double rmax;
        uint64_t live;
        if (flush(bd) || d->put_n(d->ctx, NULL, bd->capacity, n) ||
            d->sizes(d->ctx, bd->nslots, &bd->p.coal, 0, &rmin, &rmax, &live))
            bd->dev_failed = 1;
    }
    for (uint64_t s = 0; s < (bd->live ? 0 : bd->nslots); ++s)
        if (bd->g[s] >= 0.0f && n[bd->ids[s]] >= 2) {
            const double R = radius(bd, n[bd->ids[s]]);
            rmin = R < rmin ? R : rmin;
        }
    if (!(t1 > t0))
        return 0.0;
    double dt = dt_for(bd, isfinite(rmin) ? rmin : 0.0, t0, t1);
    double steps = ceil((t1 - t0) / dt * (1.0 - 1e-12));
    return (t1 - t0) / (steps < 1.0 ? 1.0 : steps);
}

int npg_bd_advance(npg_bd *bd, uint32_t *n, double t0, double t1, npg_wm_event_fn fn, void *ctx,
                   char *err, size_t errlen)
{
    if (!(t1 > t0))
        return 0;
    bd->pn = n; /* the sizes that the device's copy follows (put back by id after merges) */
    uint64_t nlive = 0;
    const double rmin = sync_sizes(bd, n, &nlive);
    if (bd->dev_failed) { /* a device failure is never an empty system */
        fail_msg(bd, err, errlen, "");
        return 1;
    }
    if (nlive == 0)
        return 0;
    const double dt_t = dt_for(bd, rmin, t0, t1);
    double stepsd = ceil((t1 - t0) / dt_t * (1.0 - 1e-12));
    if (stepsd < 1.0)
        stepsd = 1.0;
    if (stepsd > 1e15) {
        snprintf(err, errlen, "Brownian coalescence: %g steps over [%g, %g]", stepsd, t0, t1);
        return 1;
    }
    const uint64_t steps = (uint64_t)stepsd;
    const double dt = (t1 - t0) / (double)steps;
    bd->st.dt_target = dt_t;
    const double fmx =
        fmax(npg_coal_time_factor(&bd->p.coal, t0), npg_coal_time_factor(&bd->p.coal, t1));
    bd->sstep = sqrt(2.0 * fmx * bd->p.coal.d_ref_r_ref / (rmin + bd->p.coal.ligand) * dt);
    bd->st.dt_last = dt;
    if (7.0 * bd->sstep > bd->L / 8.0) {
        snprintf(err, errlen,
                 "Brownian coalescence: a step of %g nm per coordinate is too large for the box "
                 "(edge %g nm): lower dt",
                 bd->sstep, bd->L);
        return 1;
    }
    /* the excursion: EXC_STEPS steps, but at most a quarter of the mean spacing in dense
     * systems (where larger cells would cost more pair candidates than rebuilds) */
    const double spacing = cbrt(bd->L * bd->L * bd->L / (double)nlive);
    const double e_target =
        fmax(fmin(EXC_STEPS * bd->sstep, fmax(0.25 * spacing, 8.0 * bd->sstep)), 64.0 * bd->tick);
    if (fit_grid(bd, rcut_for(bd, bd->rmax, bd->sstep), e_target, err, errlen))
        return 1;
    if (bd->dev && !bd->live && bd->nc && go_live(bd, n, err, errlen))
        return 1;
    if (bd->dev_failed) {
        fail_msg(bd, err, errlen, "");
        return 1;
    }
    /* overlaps from growth since the last advance */
    if (close_pairs(bd, n, 0.0, 0, err, errlen))
        return 1;
    {
        size_t nq = 0;
        for (size_t k = 0; k < bd->close.len; ++k) {
            const pairv *v = &bd->close.v[k];
            double d[3];
            sep(bd, v->a, v->b, d);
            const double s = radius(bd, n[bd->ids[v->a]]) + radius(bd, n[bd->ids[v->b]]);
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= s * s)
                continue;
            if (grow((void **)&bd->queue, &bd->qcap, nq + 2, sizeof *bd->queue)) {
                snprintf(err, errlen, "Brownian coalescence: out of memory");
                return 1;
            }
            bd->queue[nq++] = v->a;
            bd->queue[nq++] = v->b;
        }
        if (nq && resolve_overlaps(bd, n, nq, err, errlen))
            return 1;
    }
    for (uint64_t k = 1; k <= steps; ++k) {
        const double t = k == steps ? t1 : t0 + (double)k * dt;
        const double f = npg_coal_time_factor(&bd->p.coal, t - 0.5 * dt);
        const double c = sqrt(2.0 * f * dt) * bd->inv_tick;
        const size_t tmax =
            bd->nmain / 256 > 1024 ? 1024 : (bd->nmain / 256 < 64 ? 64 : bd->nmain / 256);
        if (bd->dlen > tmax)
            rebuild(bd);
        moves(bd, c);
        if (close_pairs(bd, n, dt, 1, err, errlen))
            return 1;
        if (process_close(bd, n, t, dt, c, err, errlen))
            return 1;
        if (bd->dev_failed) {
            fail_msg(bd, err, errlen, "");
            return 1;
        }
        bd->st.particle_steps += nlive;
        nlive -= bd->nev * (bd->p.on_reaction == NPG_BD_REMOVE ? 2 : 1);
        bd->step += 1;
        bd->st.steps += 1;
        if (bd->nev) {
            /* r_cut follows the largest radius */
            const double rc = rcut_for(bd, bd->rmax, bd->sstep);
            if (rc > bd->rcut && fit_grid(bd, rc, e_target, err, errlen))
                return 1;
        }
        for (size_t i = 0; i < bd->nev && fn; ++i) {
            int rc = fn(ctx, &bd->events[i]);
            if (rc)
                return rc;
        }
    }
    /* the device's copy of n is complete when the advance returns: the caller's n may change
     * or go away before the next one */
    if (flush(bd)) {
        fail_msg(bd, err, errlen, "");
        return 1;
    }
    return 0;
}

/* ---- queries --------------------------------------------------------------------------------- */

int npg_bd_positions(const npg_bd *cbd, double *xyz)
{
    for (uint64_t i = 0; i < 3 * cbd->capacity; ++i)
        xyz[i] = NAN;
    /* with a device, the host's mirror is refreshed first (a cache: the state is unchanged) */
    npg_bd *bd = (npg_bd *)cbd;
    if (bd->live) {
        size_t k = 0;
        for (uint64_t s = 0; s < bd->nslots; ++s)
            if (fetch_push(bd, &k, (uint32_t)s))
                return 1;
        if (fetch_list(bd, k))
            return 1;
        for (uint64_t c = 0; c < bd->ncells; ++c)
            bd->cstamp[c] = bd->epoch;
        bd->dl_epoch = bd->epoch;
    }
    for (uint64_t s = 0; s < bd->nslots; ++s) {
        if (bd->g[s] < 0.0f)
            continue;
        const uint64_t id = bd->ids[s];
        xyz[3 * id] = (double)bd->x[s] * bd->tick;
        xyz[3 * id + 1] = (double)bd->y[s] * bd->tick;
        xyz[3 * id + 2] = (double)bd->z[s] * bd->tick;
    }
    return 0;
}

int npg_bd_attach(npg_bd *bd, npg_bd_device *dev, char *err, size_t errlen)
{
    if (bd->live || bd->step) {
        snprintf(err, errlen,
                 "Brownian coalescence: a device is attached before the first advance");
        return 1;
    }
    if (dev && dev->capacity < bd->capacity) {
        snprintf(err, errlen,
                 "Brownian coalescence: the device holds %llu particles, the system %llu",
                 (unsigned long long)dev->capacity, (unsigned long long)bd->capacity);
        return 1;
    }
    if (!bd->dirtybits) {
        bd->dirtybits = calloc(bd->capacity / 64 + 1, sizeof *bd->dirtybits);
        if (!bd->dirtybits) {
            snprintf(err, errlen, "Brownian coalescence: out of memory");
            return 1;
        }
    }
    if (bd->dev) {
        bd->dev->destroy(bd->dev->ctx);
        free(bd->dev);
    }
    bd->dev = dev;
    return 0;
}

double npg_bd_device_bytes_per_particle(const npg_bd *bd)
{
    return bd->dev ? bd->dev->bytes_per_slot(bd->dev->ctx) : 0.0;
}

const uint64_t *npg_bd_group_b(const npg_bd *bd)
{
    return bd->groupb;
}

void npg_bd_get_stats(const npg_bd *bd, npg_bd_stats *st)
{
    *st = bd->st;
    st->cell_nm = bd->h;
    st->excursion_nm = bd->e;
    st->rcut_nm = bd->rcut;
    st->cells_per_axis = bd->nc;
}

double npg_bd_bytes_per_particle(const npg_bd *bd)
{
    if (!bd->capacity)
        return 0.0;
    const double per_slot = 3 * sizeof(uint32_t) + sizeof(float) + 2 * sizeof(uint32_t);
    /* by slot: displaced, moved, taken (with a device, dirty); by id: alive, Group B */
    const double bits = (bd->dev ? 6.0 : 5.0) * (double)(bd->capacity / 64 + 1) * 8.0;
    /* cell starts, and with a device each cell's epoch */
    const double cells =
        bd->nc ? (double)(bd->ncells + 1) * sizeof(uint32_t) * (bd->dev ? 2.0 : 1.0) : 0.0;
    return per_slot + (bits + cells) / (double)bd->capacity;
}
