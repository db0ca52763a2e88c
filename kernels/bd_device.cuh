/* kernels/bd_device.cuh: the Brownian-dynamics device (npg_bd_device, npgrow/brownian.h),
 * written once over Thrust.
 *
 * The same source compiles for the GPU (nvcc, Thrust's CUDA system: kernels/bd_cuda.cu) and for
 * the CPU (g++, THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP: tests/coalesce/test_bd_device.cpp),
 * so CI runs the very code the GPU runs, attached to host/coalesce/brownian.c, against the host
 * alone. The per-slot physics is npgrow/bdstep.h's (npg_bd_move_ticks, npg_bd_scan_slot,
 * npg_bd_gfac), shared with the host.
 *
 * Device memory per slot (capacity): x, y, z, ids, g and the cell key 24 bytes; the disp bitset
 * 1 bit; n by id 4 bytes; cell starts 4 bytes per cell (about one cell per particle in dilute
 * systems): about 32 bytes, and the engine's n, n_prev on the GPU make 40. A rebuild holds, while
 * it runs, a slot permutation and a gather buffer (8 bytes per live slot) and the sort's own
 * temporary storage (Thrust allocates and frees it; about 8 more).
 */
#ifndef NPGROW_KERNELS_BD_DEVICE_CUH
#define NPGROW_KERNELS_BD_DEVICE_CUH

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <thrust/binary_search.h>
#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/transform_reduce.h>

#include "npgrow/bddevice.h"
#include "npgrow/bdstep.h"

/* Internal linkage: a binary may hold both the CUDA and the OpenMP instantiation. */
namespace
{

template <class T> static T *raw(thrust::device_vector<T> &v)
{
    return thrust::raw_pointer_cast(v.data());
}

struct BdMove {
    uint32_t *x, *y, *z;
    const float *g;
    const uint32_t *ids;
    uint32_t seed;
    uint64_t step;
    double c;
    NPG_HD void operator()(uint64_t s) const
    {
        int32_t d[3];
        npg_bd_move_ticks(seed, ids[s], g[s], step, c, d);
        x[s] += (uint32_t)d[0];
        y[s] += (uint32_t)d[1];
        z[s] += (uint32_t)d[2];
    }
};

/* Cell key of a slot: its cell, or ncells for a dead slot (sorted last, dropped). */
struct BdKey {
    const uint32_t *x, *y, *z;
    const float *g;
    uint32_t *key;
    uint32_t nc;
    NPG_HD void operator()(uint64_t s) const
    {
        key[s] = g[s] < 0.0f ? nc * nc * nc : npg_bd_cell_key(x[s], y[s], z[s], nc);
    }
};

/* dst[i] = src[perm[i]] over 32-bit words (g travels as its bits). */
struct BdGather {
    const uint32_t *src, *perm;
    uint32_t *dst;
    NPG_HD void operator()(uint64_t i) const { dst[i] = src[perm[i]]; }
};

/* The cell of normal slot s < nmain from the starts (after a grid with given starts). */
struct BdKeyFromStart {
    const uint32_t *start;
    uint32_t *key;
    uint64_t ncells;
    NPG_HD void operator()(uint64_t s) const { key[s] = npg_bd_cell_of_slot(start, ncells, s); }
};

/* Sizes: g from n (with write), then (rmin, rmax, live) over alive slots. */
struct BdRange {
    double rmin, rmax;
    unsigned long long live;
};

struct BdRangeOp {
    float *g;
    const uint32_t *ids, *n;
    npg_coal_params coal;
    int write;
    NPG_HD BdRange operator()(uint64_t s) const
    {
        BdRange r = {INFINITY, 0.0, 0ull};
        if (g[s] < 0.0f)
            return r;
        const uint32_t m = n[ids[s]];
        if (m < 2) {
            if (write)
                g[s] = -1.0f;
            return r;
        }
        if (write)
            g[s] = npg_bd_gfac(&coal, m);
        const double R = npg_coal_radius(&coal, (double)m);
        r.rmin = R;
        r.rmax = R;
        r.live = 1ull;
        return r;
    }
};

struct BdRangeJoin {
    NPG_HD BdRange operator()(const BdRange &a, const BdRange &b) const
    {
        BdRange r;
        r.rmin = a.rmin < b.rmin ? a.rmin : b.rmin;
        r.rmax = a.rmax > b.rmax ? a.rmax : b.rmax;
        r.live = a.live + b.live;
        return r;
    }
};

struct BdAlive {
    NPG_HD bool operator()(float g) const { return g >= 0.0f; }
};

struct BdKill {
    float *g;
    const uint32_t *ids;
    uint32_t id;
    NPG_HD void operator()(uint64_t s) const
    {
        if (ids[s] == id)
            g[s] = -1.0f;
    }
};

/* put: record i of `rec` (NPG_BD_PUT_WORDS words: slot, x, y, z, g's bits, id, and the slot's
 * disp word as two halves) into the device's slot (slots sharing a disp word write the same
 * value) */
#define NPG_BD_PUT_WORDS 8
struct BdPut {
    uint32_t *x, *y, *z, *ids, *gbits;
    uint64_t *disp;
    const uint32_t *rec;
    NPG_HD void operator()(uint64_t i) const
    {
        const uint32_t *r = rec + NPG_BD_PUT_WORDS * i;
        const uint32_t s = r[0];
        x[s] = r[1], y[s] = r[2], z[s] = r[3], gbits[s] = r[4], ids[s] = r[5];
        disp[s >> 6] = (uint64_t)r[6] | (uint64_t)r[7] << 32;
    }
};

/* get: slot slots[i] into record i of `rec` (NPG_BD_GET_WORDS words: x, y, z, g's bits, id) */
#define NPG_BD_GET_WORDS 5
struct BdGet {
    const uint32_t *x, *y, *z, *ids, *gbits;
    const uint32_t *slots;
    uint32_t *rec;
    NPG_HD void operator()(uint64_t i) const
    {
        const uint32_t s = slots[i];
        uint32_t *r = rec + NPG_BD_GET_WORDS * i;
        r[0] = x[s], r[1] = y[s], r[2] = z[s], r[3] = gbits[s], r[4] = ids[s];
    }
};

struct BdPutN {
    uint32_t *n;
    const uint32_t *ids, *val;
    NPG_HD void operator()(uint64_t i) const { n[ids[i]] = val[i]; }
};

/* The pair pass over normal slots; a violation raises *viol. */
struct BdPairs {
    npg_bd_view v;
    const uint32_t *key;
    npg_bd_sink *sink;
    unsigned int *viol;
    NPG_HD void operator()(uint64_t s) const
    {
        if (v.g[s] < 0.0f || npg_bd_bit(v.disp, s))
            return;
        const uint32_t c = key[s], nc = v.nc;
        if (npg_bd_scan_slot(&v, sink, (uint32_t)s, c % nc, (c / nc) % nc, c / nc / nc))
            *viol = 1u;
    }
};

struct BdDevice {
    uint64_t capacity;
    uint32_t nc = 0;
    uint64_t ncells = 0;
    thrust::device_vector<uint32_t> x, y, z, ids, key, n, perm, tmp, start, lo, wd;
    thrust::device_vector<float> g;
    thrust::device_vector<uint64_t> disp;
    thrust::device_vector<npg_bd_pair> pairs;
    thrust::device_vector<npg_bd_sink> sink;
    thrust::device_vector<unsigned int> viol;
    /* staging for put/get: slot lists, packed records on the device and on the host */
    thrust::device_vector<uint32_t> sl, px, stage;
    std::vector<uint32_t> hstage;
    std::vector<npg_bd_pair> hpairs;
    std::string err;
    bool healthy = true; /* no operation has failed */

    explicit BdDevice(uint64_t cap)
        : capacity(cap), x(cap ? cap : 1), y(cap ? cap : 1), z(cap ? cap : 1), ids(cap ? cap : 1),
          key(cap ? cap : 1), n(cap ? cap : 1), g(cap ? cap : 1), disp(cap / 64 + 1, 0ull), sink(1),
          viol(1)
    {
    }
};

/* Staging buffers beyond this many slots are released after use (a whole-state transfer must
 * not keep its size on the device). */
#define NPG_BD_STAGING_KEEP (1u << 16)

static void bd_trim(BdDevice &d)
{
    if (d.sl.capacity() > NPG_BD_STAGING_KEEP)
        thrust::device_vector<uint32_t>().swap(d.sl);
    if (d.px.capacity() > NPG_BD_STAGING_KEEP)
        thrust::device_vector<uint32_t>().swap(d.px);
    if (d.stage.capacity() > NPG_BD_PUT_WORDS * NPG_BD_STAGING_KEEP)
        thrust::device_vector<uint32_t>().swap(d.stage);
    if (d.hstage.capacity() > NPG_BD_PUT_WORDS * NPG_BD_STAGING_KEEP)
        std::vector<uint32_t>().swap(d.hstage);
}

/* g's storage as 32-bit words (records carry its bits) */
static uint32_t *gbits(BdDevice &d)
{
    return reinterpret_cast<uint32_t *>(raw(d.g));
}

/* Every entry point runs through here: a Thrust or CUDA error (bad_alloc, a failed launch)
 * becomes an error message for the C caller, and the device is not used again. Known limit: after
 * a sticky CUDA fault (an illegal address), freeing a temporary while the exception unwinds
 * throws again from a destructor, and the process ends in std::terminate with CUDA's message
 * instead of returning the error; the run's directory then holds no result (results are written
 * only at the end), as after any crash. */
template <class F> static int bd_guard(void *ctx, F &&f)
{
    BdDevice *d = static_cast<BdDevice *>(ctx);
    try {
        f(*d);
        return 0;
    } catch (const std::exception &e) {
        d->err = e.what();
    } catch (...) {
        d->err = "unknown error";
    }
    d->healthy = false;
    return 1;
}

static int bd_grid(void *ctx, uint32_t nc, const uint32_t *lo, const uint32_t *wd,
                   const uint32_t *start, uint64_t nmain)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        d.nc = nc;
        d.ncells = (uint64_t)nc * nc * nc;
        d.start.resize(d.ncells + 1);
        d.lo.assign(lo, lo + nc + 1);
        d.wd.assign(wd, wd + nc + 1);
        if (start) {
            thrust::copy(start, start + d.ncells + 1, d.start.begin());
            if (nmain)
                thrust::for_each(thrust::device, thrust::counting_iterator<uint64_t>(0),
                                 thrust::counting_iterator<uint64_t>(nmain),
                                 BdKeyFromStart{raw(d.start), raw(d.key), d.ncells});
        }
    });
}

static int bd_put(void *ctx, const uint32_t *slots, size_t k, const uint32_t *x, const uint32_t *y,
                  const uint32_t *z, const float *g, const uint32_t *ids, const uint64_t *disp)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        if (!k)
            return;
        /* one packed transfer and one kernel */
        d.hstage.resize(NPG_BD_PUT_WORDS * k);
        for (size_t i = 0; i < k; ++i) {
            const uint32_t s = slots[i];
            uint32_t *r = &d.hstage[NPG_BD_PUT_WORDS * i];
            uint32_t gb;
            memcpy(&gb, &g[s], sizeof gb);
            r[0] = s, r[1] = x[s], r[2] = y[s], r[3] = z[s], r[4] = gb, r[5] = ids[s];
            r[6] = (uint32_t)disp[s >> 6], r[7] = (uint32_t)(disp[s >> 6] >> 32);
        }
        d.stage.assign(d.hstage.begin(), d.hstage.end());
        thrust::for_each(
            thrust::device, thrust::counting_iterator<uint64_t>(0),
            thrust::counting_iterator<uint64_t>(k),
            BdPut{raw(d.x), raw(d.y), raw(d.z), raw(d.ids), gbits(d), raw(d.disp), raw(d.stage)});
        bd_trim(d);
    });
}

static int bd_get(void *ctx, const uint32_t *slots, size_t k, uint32_t *x, uint32_t *y, uint32_t *z,
                  float *g, uint32_t *ids)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        if (!k)
            return;
        /* the slot list in, one kernel, the packed records out */
        d.sl.assign(slots, slots + k);
        d.stage.resize(NPG_BD_GET_WORDS * k);
        thrust::for_each(
            thrust::device, thrust::counting_iterator<uint64_t>(0),
            thrust::counting_iterator<uint64_t>(k),
            BdGet{raw(d.x), raw(d.y), raw(d.z), raw(d.ids), gbits(d), raw(d.sl), raw(d.stage)});
        d.hstage.resize(NPG_BD_GET_WORDS * k);
        thrust::copy(d.stage.begin(), d.stage.begin() + NPG_BD_GET_WORDS * k, d.hstage.begin());
        for (size_t i = 0; i < k; ++i) {
            const uint32_t s = slots[i];
            const uint32_t *r = &d.hstage[NPG_BD_GET_WORDS * i];
            x[s] = r[0], y[s] = r[1], z[s] = r[2], ids[s] = r[4];
            memcpy(&g[s], &r[3], sizeof r[3]);
        }
        bd_trim(d);
    });
}

static int bd_put_n(void *ctx, const uint32_t *idl, size_t k, const uint32_t *n)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        if (!k)
            return;
        if (!idl) {
            thrust::copy(n, n + k, d.n.begin());
            return;
        }
        std::vector<uint32_t> val(k);
        for (size_t i = 0; i < k; ++i)
            val[i] = n[idl[i]];
        d.sl.assign(idl, idl + k);
        d.px.assign(val.begin(), val.end());
        thrust::for_each(thrust::device, thrust::counting_iterator<uint64_t>(0),
                         thrust::counting_iterator<uint64_t>(k),
                         BdPutN{raw(d.n), raw(d.sl), raw(d.px)});
        bd_trim(d);
    });
}

static int bd_moves(void *ctx, uint64_t ns, uint32_t seed, uint64_t step, double c)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        thrust::for_each(thrust::device, thrust::counting_iterator<uint64_t>(0),
                         thrust::counting_iterator<uint64_t>(ns),
                         BdMove{raw(d.x), raw(d.y), raw(d.z), raw(d.g), raw(d.ids), seed, step, c});
    });
}

static int bd_rebuild(void *ctx, uint64_t ns, uint32_t *start, uint64_t *live)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        const uint32_t sentinel = (uint32_t)d.ncells;
        thrust::counting_iterator<uint64_t> i0(0);
        thrust::for_each(thrust::device, i0, i0 + ns,
                         BdKey{raw(d.x), raw(d.y), raw(d.z), raw(d.g), raw(d.key), d.nc});
        d.perm.resize(ns ? ns : 1);
        d.tmp.resize(ns ? ns : 1);
        thrust::sequence(thrust::device, d.perm.begin(), d.perm.begin() + ns);
        /* stable: slots of one cell keep their order, as in the host's counting sort */
        thrust::stable_sort_by_key(thrust::device, d.key.begin(), d.key.begin() + ns,
                                   d.perm.begin());
        uint32_t *arrays[5] = {raw(d.x), raw(d.y), raw(d.z), raw(d.ids),
                               reinterpret_cast<uint32_t *>(raw(d.g))};
        for (uint32_t *a : arrays) {
            thrust::for_each(thrust::device, i0, i0 + ns, BdGather{a, raw(d.perm), raw(d.tmp)});
            thrust::copy(thrust::device, d.tmp.begin(), d.tmp.begin() + ns,
                         thrust::device_pointer_cast(a));
        }
        /* start[c] = the first slot with key >= c; start[ncells] = the live slots */
        thrust::lower_bound(thrust::device, d.key.begin(), d.key.begin() + ns,
                            thrust::counting_iterator<uint32_t>(0),
                            thrust::counting_iterator<uint32_t>(sentinel + 1), d.start.begin());
        thrust::copy(d.start.begin(), d.start.begin() + d.ncells + 1, start);
        *live = start[d.ncells];
        thrust::fill(d.disp.begin(), d.disp.end(), 0ull);
        /* the permutation and the gather buffer only while a rebuild runs */
        thrust::device_vector<uint32_t>().swap(d.perm);
        thrust::device_vector<uint32_t>().swap(d.tmp);
    });
}

static int bd_sizes(void *ctx, uint64_t ns, const npg_coal_params *coal, int write, double *rmin,
                    double *rmax, uint64_t *live)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        BdRange init = {INFINITY, 0.0, 0ull};
        thrust::counting_iterator<uint64_t> i0(0);
        BdRange r = thrust::transform_reduce(
            thrust::device, i0, i0 + ns, BdRangeOp{raw(d.g), raw(d.ids), raw(d.n), *coal, write},
            init, BdRangeJoin());
        *rmin = r.rmin;
        *rmax = r.rmax;
        *live = r.live;
    });
}

static int bd_count(void *ctx, uint64_t ns, uint64_t *live)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        *live =
            (uint64_t)thrust::count_if(thrust::device, d.g.begin(), d.g.begin() + ns, BdAlive());
    });
}

static int bd_kill(void *ctx, uint64_t ns, uint32_t id)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        thrust::for_each(thrust::device, thrust::counting_iterator<uint64_t>(0),
                         thrust::counting_iterator<uint64_t>(ns), BdKill{raw(d.g), raw(d.ids), id});
    });
}

static int bd_pairs(void *ctx, const npg_bd_view *hv, uint64_t nmain, const npg_bd_pair **out,
                    size_t *len, int *viol)
{
    return bd_guard(ctx, [&](BdDevice &d) {
        npg_bd_view v = *hv;
        v.x = raw(d.x), v.y = raw(d.y), v.z = raw(d.z), v.ids = raw(d.ids), v.g = raw(d.g);
        v.disp = raw(d.disp), v.start = raw(d.start), v.lo = raw(d.lo), v.wd = raw(d.wd);
        v.n = raw(d.n);
        if (d.pairs.size() < 1024)
            d.pairs.resize(1024);
        for (;;) {
            npg_bd_sink sk = {raw(d.pairs), (uint32_t)d.pairs.size(), 0u};
            d.sink[0] = sk;
            d.viol[0] = 0u;
            thrust::for_each(thrust::device, thrust::counting_iterator<uint64_t>(0),
                             thrust::counting_iterator<uint64_t>(nmain),
                             BdPairs{v, raw(d.key), raw(d.sink), raw(d.viol)});
            const npg_bd_sink got = d.sink[0];
            *viol = d.viol[0] != 0u;
            if (*viol) {
                *len = 0;
                return;
            }
            if (got.len <= got.cap) {
                d.hpairs.resize(got.len);
                thrust::copy(d.pairs.begin(), d.pairs.begin() + got.len, d.hpairs.begin());
                *out = d.hpairs.data();
                *len = got.len;
                return;
            }
            /* the sink addresses at most 2^32 - 1 pairs (32-bit cap): refuse more */
            const unsigned long long want = got.len + got.len / 2 + 1024;
            if (want > 0xffffffffull)
                throw std::length_error("more than 2^32 - 1 close pairs in one step (" +
                                        std::to_string(got.len) + ")");
            d.pairs.resize((size_t)want);
        }
    });
}

static double bd_bytes_per_slot(void *ctx)
{
    BdDevice *d = static_cast<BdDevice *>(ctx);
    if (!d->capacity)
        return 0.0;
    /* held between rebuilds: the slot arrays, n, the disp bits and the cell starts */
    const double per_slot = 6 * sizeof(uint32_t) + sizeof(uint32_t) /* n */ + 1.0 / 8.0;
    return per_slot + (double)(d->ncells + 1) * sizeof(uint32_t) / (double)d->capacity;
}

static const char *bd_error(void *ctx)
{
    return static_cast<BdDevice *>(ctx)->err.c_str();
}

static void bd_destroy(void *ctx)
{
    BdDevice *d = static_cast<BdDevice *>(ctx);
    /* after a failed operation (a CUDA fault is sticky) the vectors' frees would throw from
     * their destructors and terminate the process: leak them instead */
    if (d->healthy)
        delete d;
}

/* A device for capacity slots on this translation unit's Thrust system (NULL, with a message,
 * when out of memory). The caller (npg_bd_attach) owns the returned struct (malloc'd). */
static npg_bd_device *bd_device_new(uint64_t capacity, char *err, size_t errlen)
{
    BdDevice *d = NULL;
    try {
        d = new BdDevice(capacity);
    } catch (const std::exception &e) {
        snprintf(err, errlen, "Brownian coalescence device for %llu particles: %s",
                 (unsigned long long)capacity, e.what());
        return NULL;
    }
    npg_bd_device *dev = static_cast<npg_bd_device *>(malloc(sizeof *dev));
    if (!dev) {
        delete d;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    dev->ctx = d;
    dev->capacity = capacity;
    dev->grid = bd_grid;
    dev->put = bd_put;
    dev->get = bd_get;
    dev->put_n = bd_put_n;
    dev->moves = bd_moves;
    dev->rebuild = bd_rebuild;
    dev->sizes = bd_sizes;
    dev->count = bd_count;
    dev->kill = bd_kill;
    dev->pairs = bd_pairs;
    dev->bytes_per_slot = bd_bytes_per_slot;
    dev->error = bd_error;
    dev->destroy = bd_destroy;
    return dev;
}

} // namespace

#endif /* NPGROW_KERNELS_BD_DEVICE_CUH */
