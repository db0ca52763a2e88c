/* kernels/backend_cuda.cu: the CUDA particle backend (npgrow/backend.h) on one device.
 *
 * Thin kernels over the shared headers: the step kernel calls npg_particle_advance (step.h) and
 * the init kernel npg_init_sample (init.h), exactly as the CPU backend's loops do, so both draw
 * the same Philox numbers for the same (seed, particle id, interval). The state stays on the
 * device; only per-interval totals, histograms and sampled sizes cross to the host. There is no
 * physics and no floating-point reduction here: every sum is over integers.
 */
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exception>
#include <new>

#include <thrust/system/cuda/execution_policy.h>

#include "npgrow/backend.h"
#include "npgrow/init.h"
#include "npgrow/step.h"

#include "backend_cuda.h"
#include "reduce.cuh"

/* ---- errors: every CUDA call is checked; the message names the call, the error, file:line */

static const char *npg_cuda_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int npg_cuda_fail(char *err, size_t errlen, const char *file, int line, const char *what,
                         cudaError_t e)
{
    snprintf(err, errlen, "cuda backend: %s: %s (%s:%d)", what, cudaGetErrorString(e),
             npg_cuda_base(file), line);
    cudaGetLastError(); /* reported: do not let a later launch check report it again */
    return 1;
}

#define NPG_CUDA_CHECK(call)                                                                       \
    do {                                                                                           \
        cudaError_t npg_e_ = (call);                                                               \
        if (npg_e_ != cudaSuccess)                                                                 \
            return npg_cuda_fail(err, errlen, __FILE__, __LINE__, #call, npg_e_);                  \
    } while (0)

/* ---- state ------------------------------------------------------------------------------- */

typedef struct cuda_impl {
    uint64_t count;
    uint64_t active; /* slots drawn at start; the rest dormant */
    uint32_t seed;
    int device;
    int sm_count;
    npg_cuda_launch launch;
    cudaStream_t stream;
    uint32_t *d_n;               /* [count] monomers; >= 2 alive, 1 dissolved */
    uint32_t *d_n_prev;          /* [count] monomers at the last mark */
    uint32_t *d_n_save;          /* [count] copy for a rejected interval, or NULL */
    npg_rate_pair *d_table;      /* [n_table] rates [per time unit] */
    npg_rates rates;             /* model + d_table: passed by value to the step kernel */
    unsigned long long *d_stats; /* [3] events, alive, bound of the last interval */
    unsigned long long *h_stats; /* [3] pinned host copy */
    unsigned long long *d_hist;  /* [3 * hist_cap] count, prev_count, sum_dn (int64 bits) */
    unsigned int *d_bad;         /* [1] reduce: a size was >= len */
    uint32_t hist_cap;
    uint64_t *d_ids; /* [sample_cap] particle ids to gather */
    uint32_t *d_out; /* [sample_cap] gathered sizes [monomers] */
    size_t sample_cap;
    uint32_t *h_n;  /* [count] host mirror for get_host/put_host (allocated on first use) */
    int h_n_pinned; /* h_n is page-locked (cudaMallocHost): copies at full PCIe bandwidth */
    cudaEvent_t ev[3];
    npg_cuda_timing timing;
} cuda_impl;

/* ---- kernels ----------------------------------------------------------------------------- */

typedef struct npg_state_view {
    uint32_t *n;               /* [count] monomers */
    uint32_t *n_prev;          /* [count] monomers at the last mark (init only) */
    unsigned long long *stats; /* [3] events, alive, bound: accumulated with integer atomics */
    uint64_t count;
} npg_state_view;

typedef struct npg_step_params {
    npg_interval iv;
    npg_rates rates; /* table pointer is the device table */
} npg_step_params;

/* Block sum of three counters, then one integer atomic per counter per block: exact, and the
 * same result whatever order the blocks finish in. blockDim.x must be a multiple of 32. */
static __device__ void npg_block_sum3(unsigned long long a, unsigned long long b,
                                      unsigned long long c, unsigned long long *out)
{
    __shared__ unsigned long long part[3][32];
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, o);
        b += __shfl_down_sync(0xffffffffu, b, o);
        c += __shfl_down_sync(0xffffffffu, c, o);
    }
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0) {
        part[0][warp] = a;
        part[1][warp] = b;
        part[2][warp] = c;
    }
    __syncthreads();
    if (warp != 0)
        return;
    const unsigned warps = blockDim.x >> 5;
    a = lane < warps ? part[0][lane] : 0ull;
    b = lane < warps ? part[1][lane] : 0ull;
    c = lane < warps ? part[2][lane] : 0ull;
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, o);
        b += __shfl_down_sync(0xffffffffu, b, o);
        c += __shfl_down_sync(0xffffffffu, c, o);
    }
    if (lane == 0) {
        atomicAdd(&out[0], a);
        atomicAdd(&out[1], b);
        atomicAdd(&out[2], c);
    }
}

/* One interval for every alive particle. The grid-stride index is the particle id, which keys
 * its Philox stream: the thread that runs a particle never changes what it draws. */
static __device__ __forceinline__ void npg_step_body(const npg_state_view &v,
                                                     const npg_step_params &p)
{
    const npg_interval iv = p.iv;
    const npg_rates rates = p.rates;
    unsigned long long events = 0, alive = 0, bound = 0;
    const size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < v.count; i += stride) {
        uint32_t n = v.n[i];
        if (n < 2)
            continue;
        uint32_t ev;
        n = npg_particle_advance(n, (uint32_t)i, &iv, &rates, &ev);
        v.n[i] = n;
        events += ev;
        if (n >= 2) {
            alive += 1;
            bound += n;
        }
    }
    npg_block_sum3(events, alive, bound, v.stats);
}

/* The compiler's own register budget (about 80 here: 3 blocks of 256 per SM) ... */
__global__ void npg_step_kernel(npg_state_view v, npg_step_params p)
{
    npg_step_body(v, p);
}

/* ... or a cap that lets MINB blocks of <= 256 threads share an SM (more warps to hide the
 * latency of the double-precision exponential and divide, at the price of fewer registers). */
template <int MINB>
__global__ void __launch_bounds__(256, MINB) npg_step_kernel_lb(npg_state_view v, npg_step_params p)
{
    npg_step_body(v, p);
}

__global__ void npg_init_kernel(npg_state_view v, npg_init_view init, uint32_t seed,
                                uint64_t active)
{
    const size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < v.count; i += stride) {
        /* slots from `active` on are dormant until a source fills them (n = 0) */
        const uint32_t n0 = i < active ? npg_init_sample(&init, seed, (uint32_t)i) : 0u;
        v.n[i] = n0;
        v.n_prev[i] = n0;
    }
}

typedef struct npg_gather_view {
    const uint32_t *n;   /* [count] */
    const uint64_t *ids; /* [k] */
    uint32_t *out;       /* [k] */
    size_t k;
} npg_gather_view;

__global__ void npg_gather_kernel(npg_gather_view v)
{
    const size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x; j < v.k; j += stride)
        v.out[j] = v.n[v.ids[j]];
}

/* ---- launchers: grid by ceiling division, capped by the config --------------------------- */

static unsigned npg_grid(const cuda_impl *c, uint64_t items, int block, int per_sm)
{
    uint64_t g = (items + (uint64_t)block - 1) / (uint64_t)block;
    if (per_sm > 0 && g > (uint64_t)per_sm * (uint64_t)c->sm_count)
        g = (uint64_t)per_sm * (uint64_t)c->sm_count;
    if (g > 0x7fffffffull)
        g = 0x7fffffffull; /* the grid-stride loop covers the rest */
    return (unsigned)(g ? g : 1);
}

static int npg_launched(cuda_impl *c, char *err, size_t errlen, const char *file, int line,
                        const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && c->launch.sync_check)
        e = cudaStreamSynchronize(c->stream);
    return e == cudaSuccess ? 0 : npg_cuda_fail(err, errlen, file, line, what, e);
}

#define NPG_LAUNCHED(c, what)                                                                      \
    do {                                                                                           \
        if (npg_launched((c), err, errlen, __FILE__, __LINE__, (what)))                            \
            return 1;                                                                              \
    } while (0)

static int npg_step_cuda(cuda_impl *c, const npg_step_params &p, char *err, size_t errlen)
{
    npg_state_view v = {c->d_n, c->d_n_prev, c->d_stats, c->count};
    const int block = c->launch.block;
    const unsigned grid = npg_grid(c, c->count, block, c->launch.blocks_per_sm);
    switch (c->launch.min_blocks) {
    case 4:
        npg_step_kernel_lb<4><<<grid, block, 0, c->stream>>>(v, p);
        break;
    case 6:
        npg_step_kernel_lb<6><<<grid, block, 0, c->stream>>>(v, p);
        break;
    case 8:
        npg_step_kernel_lb<8><<<grid, block, 0, c->stream>>>(v, p);
        break;
    default:
        npg_step_kernel<<<grid, block, 0, c->stream>>>(v, p);
    }
    NPG_LAUNCHED(c, "npg_step_kernel");
    return 0;
}

/* Events bracket a phase; the elapsed time is added once the last event has completed. */
static int npg_elapsed(cuda_impl *c, int from, int to, double *acc, char *err, size_t errlen)
{
    float ms = 0.0f;
    NPG_CUDA_CHECK(cudaEventElapsedTime(&ms, c->ev[from], c->ev[to]));
    *acc += ms;
    return 0;
}

/* ---- backend methods --------------------------------------------------------------------- */

static cuda_impl *impl_of(npg_backend *b)
{
    return (cuda_impl *)b->impl;
}

static int cuda_advance(npg_backend *b, const npg_interval *iv, npg_advance_stats *st, char *err,
                        size_t errlen)
{
    cuda_impl *c = impl_of(b);
    memset(st, 0, sizeof *st);
    if (c->count == 0)
        return 0;
    NPG_CUDA_CHECK(cudaSetDevice(c->device));
    npg_step_params p;
    p.iv = *iv;
    p.rates = c->rates;
    NPG_CUDA_CHECK(cudaMemsetAsync(c->d_stats, 0, 3 * sizeof *c->d_stats, c->stream));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    if (npg_step_cuda(c, p, err, errlen))
        return 1;
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    NPG_CUDA_CHECK(cudaMemcpyAsync(c->h_stats, c->d_stats, 3 * sizeof *c->d_stats,
                                   cudaMemcpyDeviceToHost, c->stream));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[2], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[2]));
    if (npg_elapsed(c, 0, 1, &c->timing.step_ms, err, errlen) ||
        npg_elapsed(c, 1, 2, &c->timing.transfer_ms, err, errlen))
        return 1;
    c->timing.steps += 1;
    st->events = c->h_stats[0];
    st->alive = c->h_stats[1];
    st->bound = c->h_stats[2];
    return 0;
}

static int cuda_copy(cuda_impl *c, uint32_t *dst, const uint32_t *src, char *err, size_t errlen)
{
    NPG_CUDA_CHECK(cudaSetDevice(c->device));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    NPG_CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)c->count * sizeof *dst,
                                   cudaMemcpyDeviceToDevice, c->stream));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[1]));
    return npg_elapsed(c, 0, 1, &c->timing.copy_ms, err, errlen);
}

static int cuda_mark(npg_backend *b, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    return cuda_copy(c, c->d_n_prev, c->d_n, err, errlen);
}

static int cuda_save(npg_backend *b, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    if (!c->d_n_save) {
        snprintf(err, errlen, "cuda backend: save without a save buffer");
        return 1;
    }
    return cuda_copy(c, c->d_n_save, c->d_n, err, errlen);
}

static int cuda_restore(npg_backend *b, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    if (!c->d_n_save) {
        snprintf(err, errlen, "cuda backend: restore without a save buffer");
        return 1;
    }
    return cuda_copy(c, c->d_n, c->d_n_save, err, errlen);
}

static int cuda_max_n(npg_backend *b, uint32_t *max_n, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    NPG_CUDA_CHECK(cudaSetDevice(c->device));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    try {
        *max_n = npg_reduce_max_n(thrust::cuda::par.on(c->stream), c->d_n, c->d_n_prev, c->count);
    } catch (const std::exception &ex) {
        snprintf(err, errlen, "cuda backend: max_n reduction: %s (%s:%d)", ex.what(),
                 npg_cuda_base(__FILE__), __LINE__);
        return 1;
    }
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[1]));
    return npg_elapsed(c, 0, 1, &c->timing.reduce_ms, err, errlen);
}

static int cuda_reduce(npg_backend *b, npg_reduction *r, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    const uint32_t len = r->len;
    NPG_CUDA_CHECK(cudaSetDevice(c->device));
    if (len > c->hist_cap) {
        NPG_CUDA_CHECK(cudaFree(c->d_hist));
        c->d_hist = NULL;
        c->hist_cap = 0;
        NPG_CUDA_CHECK(cudaMalloc(&c->d_hist, 3 * (size_t)len * sizeof *c->d_hist));
        c->hist_cap = len;
    }
    npg_hist_view v;
    v.n = c->d_n;
    v.n_prev = c->d_n_prev;
    v.count = c->d_hist;
    v.prev_count = c->d_hist + len;
    v.sum_dn = c->d_hist + 2 * (size_t)len;
    v.bad = c->d_bad;
    v.len = len;
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    NPG_CUDA_CHECK(cudaMemsetAsync(c->d_hist, 0, 3 * (size_t)len * sizeof *c->d_hist, c->stream));
    NPG_CUDA_CHECK(cudaMemsetAsync(c->d_bad, 0, sizeof *c->d_bad, c->stream));
    try {
        npg_reduce_histograms(thrust::cuda::par.on(c->stream), v, c->count);
    } catch (const std::exception &ex) {
        snprintf(err, errlen, "cuda backend: histogram reduction: %s (%s:%d)", ex.what(),
                 npg_cuda_base(__FILE__), __LINE__);
        return 1;
    }
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    unsigned int bad = 0;
    const size_t bytes = (size_t)len * sizeof *c->d_hist;
    NPG_CUDA_CHECK(cudaMemcpyAsync(r->count, v.count, bytes, cudaMemcpyDeviceToHost, c->stream));
    NPG_CUDA_CHECK(
        cudaMemcpyAsync(r->prev_count, v.prev_count, bytes, cudaMemcpyDeviceToHost, c->stream));
    /* int64 on the host, the same bits as the device's unsigned 64-bit sums. */
    NPG_CUDA_CHECK(cudaMemcpyAsync(r->sum_dn, v.sum_dn, bytes, cudaMemcpyDeviceToHost, c->stream));
    NPG_CUDA_CHECK(cudaMemcpyAsync(&bad, c->d_bad, sizeof bad, cudaMemcpyDeviceToHost, c->stream));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[2], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[2]));
    if (npg_elapsed(c, 0, 1, &c->timing.reduce_ms, err, errlen) ||
        npg_elapsed(c, 1, 2, &c->timing.transfer_ms, err, errlen))
        return 1;
    if (bad) {
        snprintf(err, errlen, "cuda backend: reduce buffer shorter than max n");
        return 1;
    }
    return 0;
}

static int cuda_sample(npg_backend *b, const uint64_t *ids, size_t k, uint32_t *n_out, char *err,
                       size_t errlen)
{
    cuda_impl *c = impl_of(b);
    for (size_t j = 0; j < k; ++j) {
        if (ids[j] >= c->count) {
            snprintf(err, errlen, "cuda backend: sample id %llu out of range",
                     (unsigned long long)ids[j]);
            return 1;
        }
    }
    if (k == 0)
        return 0;
    NPG_CUDA_CHECK(cudaSetDevice(c->device));
    if (k > c->sample_cap) {
        NPG_CUDA_CHECK(cudaFree(c->d_ids));
        NPG_CUDA_CHECK(cudaFree(c->d_out));
        c->d_ids = NULL;
        c->d_out = NULL;
        c->sample_cap = 0;
        NPG_CUDA_CHECK(cudaMalloc(&c->d_ids, k * sizeof *c->d_ids));
        NPG_CUDA_CHECK(cudaMalloc(&c->d_out, k * sizeof *c->d_out));
        c->sample_cap = k;
    }
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    NPG_CUDA_CHECK(
        cudaMemcpyAsync(c->d_ids, ids, k * sizeof *ids, cudaMemcpyHostToDevice, c->stream));
    npg_gather_view v = {c->d_n, c->d_ids, c->d_out, k};
    npg_gather_kernel<<<npg_grid(c, k, 256, 0), 256, 0, c->stream>>>(v);
    NPG_LAUNCHED(c, "npg_gather_kernel");
    NPG_CUDA_CHECK(
        cudaMemcpyAsync(n_out, c->d_out, k * sizeof *n_out, cudaMemcpyDeviceToHost, c->stream));
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[1]));
    return npg_elapsed(c, 0, 1, &c->timing.transfer_ms, err, errlen);
}

/* Host-side processes (coalescence, entries) work on a host copy of the sizes. It crosses PCIe
 * once each way per synchronization interval (Brownian coalescence: 4e8 bytes each way at 1e8
 * particles, every few steps), so it is page-locked: pageable memory is staged through a driver
 * buffer at a fraction of the bandwidth. Pageable memory is the fallback when pinning fails. */
static int cuda_get_host(npg_backend *b, uint32_t **n, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    if (!c->h_n) {
        const size_t bytes = (c->count ? c->count : 1) * sizeof *c->h_n;
        void *p = NULL;
        if (cudaMallocHost(&p, bytes) == cudaSuccess) {
            c->h_n = (uint32_t *)p;
            c->h_n_pinned = 1;
        } else {
            cudaGetLastError(); /* not sticky: clear it and use pageable memory */
            c->h_n = (uint32_t *)malloc(bytes);
        }
        if (!c->h_n) {
            snprintf(err, errlen, "cuda backend: out of host memory for a size mirror");
            return 1;
        }
    }
    if (c->count) {
        NPG_CUDA_CHECK(cudaMemcpyAsync(c->h_n, c->d_n, c->count * sizeof *c->h_n,
                                       cudaMemcpyDeviceToHost, c->stream));
        NPG_CUDA_CHECK(cudaStreamSynchronize(c->stream));
    }
    *n = c->h_n;
    return 0;
}

static int cuda_put_host(npg_backend *b, char *err, size_t errlen)
{
    cuda_impl *c = impl_of(b);
    if (!c->h_n) {
        snprintf(err, errlen, "cuda backend: put_host without get_host");
        return 1;
    }
    if (c->count) {
        NPG_CUDA_CHECK(cudaMemcpyAsync(c->d_n, c->h_n, c->count * sizeof *c->h_n,
                                       cudaMemcpyHostToDevice, c->stream));
        NPG_CUDA_CHECK(cudaStreamSynchronize(c->stream));
    }
    return 0;
}

static void cuda_destroy(npg_backend *b)
{
    cuda_impl *c = impl_of(b);
    if (!c)
        return;
    /* Errors are ignored on the way out: there is nobody left to report them to. */
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) == cudaSuccess && c->device >= 0 && c->device < ndev)
        cudaSetDevice(c->device);
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    cudaFree(c->d_n);
    cudaFree(c->d_n_prev);
    cudaFree(c->d_n_save);
    cudaFree(c->d_table);
    cudaFree(c->d_stats);
    cudaFree(c->d_hist);
    cudaFree(c->d_bad);
    cudaFree(c->d_ids);
    cudaFree(c->d_out);
    cudaFreeHost(c->h_stats);
    if (c->h_n_pinned)
        cudaFreeHost(c->h_n);
    else
        free(c->h_n);
    for (int i = 0; i < 3; ++i)
        if (c->ev[i])
            cudaEventDestroy(c->ev[i]);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
    b->impl = NULL;
    cudaGetLastError(); /* leave no stale error for the next backend's launch checks */
}

/* ---- construction ------------------------------------------------------------------------ */

extern "C" npg_cuda_launch npg_cuda_launch_default(void)
{
    npg_cuda_launch l;
    l.block = 256;
    l.blocks_per_sm = 0;
    l.min_blocks = 4; /* 1-2 % faster than the compiler's budget on an H100 (bench/RESULTS.md) */
    const char *s = getenv("NPG_CUDA_SYNC");
    l.sync_check = s && s[0] == '1';
    return l;
}

extern "C" int npg_backend_cuda_available(char *why, size_t whylen)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        if (e == cudaErrorNoDevice || e == cudaSuccess)
            snprintf(why, whylen, "no CUDA device (%s)",
                     e == cudaSuccess ? "device count 0" : cudaGetErrorString(e));
        else
            snprintf(why, whylen, "%s", cudaGetErrorString(e));
        cudaGetLastError(); /* clear, so a later CPU-only run sees no stale error */
        return 0;
    }
    return 1;
}

/* Upload the histogram table of the init view (if any) and run the init kernel. */
static int npg_init_state(cuda_impl *c, const npg_init_view *init_h, char *err, size_t errlen)
{
    npg_init_view init = *init_h;
    double *d_cdf = NULL;
    uint32_t *d_sizes = NULL;
    int rc = 0;
    if (init.kind == NPG_INIT_HISTOGRAM) {
        if (init.table_len == 0 || !init.cdf || !init.sizes) {
            snprintf(err, errlen, "cuda backend: histogram init without a table");
            return 1;
        }
        const size_t len = init.table_len;
        cudaError_t e = cudaMalloc(&d_cdf, len * sizeof *d_cdf);
        if (e == cudaSuccess)
            e = cudaMalloc(&d_sizes, len * sizeof *d_sizes);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(d_cdf, init.cdf, len * sizeof *d_cdf, cudaMemcpyHostToDevice,
                                c->stream);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(d_sizes, init.sizes, len * sizeof *d_sizes, cudaMemcpyHostToDevice,
                                c->stream);
        if (e != cudaSuccess) {
            cudaFree(d_cdf);
            cudaFree(d_sizes);
            return npg_cuda_fail(err, errlen, __FILE__, __LINE__, "init table upload", e);
        }
        init.cdf = d_cdf;
        init.sizes = d_sizes;
    }
    if (c->count > 0) {
        npg_state_view v = {c->d_n, c->d_n_prev, c->d_stats, c->count};
        npg_init_kernel<<<npg_grid(c, c->count, 256, 0), 256, 0, c->stream>>>(v, init, c->seed,
                                                                              c->active);
        if (npg_launched(c, err, errlen, __FILE__, __LINE__, "npg_init_kernel"))
            rc = 1;
    }
    /* The table must outlive the kernel: wait before freeing it. */
    cudaError_t e = cudaStreamSynchronize(c->stream);
    cudaFree(d_cdf);
    cudaFree(d_sizes);
    if (!rc && e != cudaSuccess)
        rc = npg_cuda_fail(err, errlen, __FILE__, __LINE__, "init kernel", e);
    return rc;
}

static int npg_create(npg_backend *b, cuda_impl *c, const npg_backend_setup *s, char *err,
                      size_t errlen)
{
    int ndev = 0;
    NPG_CUDA_CHECK(cudaGetDeviceCount(&ndev));
    if (s->device < 0 || s->device >= ndev) {
        snprintf(err, errlen, "cuda backend: device %d requested, %d present", s->device, ndev);
        return 1;
    }
    if (npg_backend_check_count("cuda", s->count, err, errlen))
        return 1;
    if (c->launch.block < 32 || c->launch.block > 1024 || c->launch.block % 32) {
        snprintf(err, errlen, "cuda backend: block size %d is not a multiple of 32 in [32, 1024]",
                 c->launch.block);
        return 1;
    }
    const int mb = c->launch.min_blocks;
    if (mb != 0 && mb != 4 && mb != 6 && mb != 8) {
        snprintf(err, errlen, "cuda backend: min_blocks %d: allowed 0, 4, 6, 8", mb);
        return 1;
    }
    if (mb != 0 && c->launch.block > 256) {
        snprintf(err, errlen, "cuda backend: min_blocks %d needs a block of <= 256 threads", mb);
        return 1;
    }
    NPG_CUDA_CHECK(cudaSetDevice(s->device));
    cudaDeviceProp prop;
    NPG_CUDA_CHECK(cudaGetDeviceProperties(&prop, s->device));
    snprintf(b->device_name, sizeof b->device_name, "%.80s (device %d, sm_%d%d, %d SMs)", prop.name,
             s->device, prop.major, prop.minor, prop.multiProcessorCount);
    c->sm_count = prop.multiProcessorCount;

    /* Fail before allocating, with the numbers, rather than deep inside a cudaMalloc. */
    const int words = s->need_save ? 3 : 2;
    const size_t state = (size_t)s->count * sizeof(uint32_t) * (size_t)words;
    const size_t table = (size_t)s->n_table * sizeof(npg_rate_pair);
    const size_t slack = (size_t)64 << 20; /* histograms, samples, Thrust's temporaries */
    size_t free_b = 0, total_b = 0;
    NPG_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    if (state + table + slack > free_b) {
        snprintf(err, errlen,
                 "cuda backend: %llu particles need %.2f GiB (%d bytes each + tables), %.2f GiB "
                 "free of %.2f GiB on %s",
                 (unsigned long long)s->count, (double)(state + table + slack) / 1073741824.0,
                 4 * words, (double)free_b / 1073741824.0, (double)total_b / 1073741824.0,
                 prop.name);
        return 1;
    }
    b->bytes_per_particle = 4.0 * words;

    NPG_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    for (int i = 0; i < 3; ++i)
        NPG_CUDA_CHECK(cudaEventCreate(&c->ev[i]));
    const size_t bytes = (size_t)s->count * sizeof(uint32_t);
    if (bytes) {
        NPG_CUDA_CHECK(cudaMalloc(&c->d_n, bytes));
        NPG_CUDA_CHECK(cudaMalloc(&c->d_n_prev, bytes));
        if (s->need_save)
            NPG_CUDA_CHECK(cudaMalloc(&c->d_n_save, bytes));
    }
    NPG_CUDA_CHECK(cudaMalloc(&c->d_table, table ? table : sizeof(npg_rate_pair)));
    NPG_CUDA_CHECK(cudaMalloc(&c->d_stats, 3 * sizeof *c->d_stats));
    NPG_CUDA_CHECK(cudaMalloc(&c->d_bad, sizeof *c->d_bad));
    NPG_CUDA_CHECK(cudaMallocHost(&c->h_stats, 3 * sizeof *c->h_stats));

    NPG_CUDA_CHECK(cudaEventRecord(c->ev[0], c->stream));
    if (table)
        NPG_CUDA_CHECK(
            cudaMemcpyAsync(c->d_table, s->table, table, cudaMemcpyHostToDevice, c->stream));
    c->rates.model = s->model;
    c->rates.table = c->d_table;
    c->rates.n_table = s->n_table;
    if (npg_init_state(c, &s->init, err, errlen))
        return 1;
    NPG_CUDA_CHECK(cudaEventRecord(c->ev[1], c->stream));
    NPG_CUDA_CHECK(cudaEventSynchronize(c->ev[1]));
    return npg_elapsed(c, 0, 1, &c->timing.init_ms, err, errlen);
}

extern "C" int npg_backend_cuda_create_with(npg_backend *b, const npg_backend_setup *s,
                                            const npg_cuda_launch *launch, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    char why[256];
    if (!npg_backend_cuda_available(why, sizeof why)) {
        snprintf(err, errlen, "cuda backend: %s", why);
        return 1;
    }
    cuda_impl *c = (cuda_impl *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "cuda backend: out of host memory");
        return 1;
    }
    b->impl = c;
    b->name = "cuda";
    b->threads = 0;
    b->advance = cuda_advance;
    b->mark = cuda_mark;
    b->save = cuda_save;
    b->restore = cuda_restore;
    b->max_n = cuda_max_n;
    b->reduce = cuda_reduce;
    b->sample = cuda_sample;
    b->destroy = cuda_destroy;
    b->get_host = cuda_get_host;
    b->put_host = cuda_put_host;
    c->count = s->count;
    c->active = s->active ? s->active : s->count;
    c->seed = s->seed;
    c->device = s->device;
    c->launch = *launch;
    if (npg_create(b, c, s, err, errlen)) {
        cuda_destroy(b);
        return 1;
    }
    return 0;
}

extern "C" int npg_backend_cuda_create(npg_backend *b, const npg_backend_setup *s, char *err,
                                       size_t errlen)
{
    const npg_cuda_launch l = npg_cuda_launch_default();
    return npg_backend_cuda_create_with(b, s, &l, err, errlen);
}

extern "C" int npg_backend_cuda_timing(const npg_backend *b, npg_cuda_timing *t)
{
    if (!b || !b->impl || !b->name || strcmp(b->name, "cuda") != 0)
        return 1;
    *t = ((const cuda_impl *)b->impl)->timing;
    return 0;
}
