/* kernels/reduce.cuh: the backend's exact integer reductions, written once over Thrust.
 *
 * The same source compiles for the GPU (nvcc, Thrust's CUDA system) and for the CPU (g++,
 * THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP), so CI tests the very code the GPU runs
 * (tests/test_reduce.cpp). Histograms use integer atomics: the sums are exact and do not
 * depend on the order in which threads arrive. Nothing here allocates the output arrays or
 * copies them between host and device: that is the caller's business.
 */
#ifndef NPGROW_KERNELS_REDUCE_CUH
#define NPGROW_KERNELS_REDUCE_CUH

#include <stdint.h>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "npgrow/hd.h"

/* Internal linkage: a binary may hold both the CUDA and the OpenMP instantiation (the test
 * binary links the CUDA backend and the OpenMP test), and they must never be merged. */
namespace
{

/* Integer add that is atomic on either system. Two's complement makes it serve int64 too. */
static inline NPG_HD void npg_atomic_add_u64(unsigned long long *p, unsigned long long v)
{
#if defined(__CUDA_ARCH__)
    atomicAdd(p, v);
#else
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

/* What the histogram pass reads and writes; all pointers live on the Thrust system used. */
/* Raise a flag; many threads may race to write the same value. */
static inline NPG_HD void npg_flag_set(unsigned int *p)
{
#if defined(__CUDA_ARCH__)
    *p = 1u;
#else
    __atomic_store_n(p, 1u, __ATOMIC_RELAXED);
#endif
}

struct npg_hist_view {
    const uint32_t *n;              /* [count] monomers now; >= 2 alive */
    const uint32_t *n_prev;         /* [count] monomers at the last mark */
    unsigned long long *count;      /* [len] alive particles by n (zeroed by the caller) */
    unsigned long long *prev_count; /* [len] particles alive at the mark, by n_prev */
    unsigned long long *sum_dn;     /* [len] int64 bits: sum of (n_eff - n_prev) by n_prev */
    unsigned int *bad;              /* [1] set to 1 when a size is >= len */
    uint32_t len;
};

/* One particle's contribution. A particle dissolved since the mark (n < 2) counts as n = 1, the
 * free monomer it left, exactly like the CPU backend. */
struct npg_hist_op {
    npg_hist_view v;
    NPG_HD void operator()(uint64_t i) const
    {
        const uint32_t n = v.n[i], p = v.n_prev[i];
        if (n >= v.len || p >= v.len) {
            npg_flag_set(v.bad);
            return;
        }
        if (n >= 2)
            npg_atomic_add_u64(&v.count[n], 1ull);
        if (p >= 2 && n != 0) { /* n = 0: coalesced away since the mark */
            const int64_t dn = (int64_t)(n >= 2 ? n : 1u) - (int64_t)p;
            npg_atomic_add_u64(&v.prev_count[p], 1ull);
            npg_atomic_add_u64(&v.sum_dn[p], (unsigned long long)dn);
        }
    }
};

struct npg_max_of_pair {
    const uint32_t *n;      /* [count] */
    const uint32_t *n_prev; /* [count] */
    NPG_HD uint32_t operator()(uint64_t i) const { return n[i] > n_prev[i] ? n[i] : n_prev[i]; }
};

struct npg_max_u32 {
    NPG_HD uint32_t operator()(uint32_t a, uint32_t b) const { return a > b ? a : b; }
};

/* count/prev_count/sum_dn += the state's histograms; the caller zeroes them and *bad first. */
template <class Policy>
void npg_reduce_histograms(const Policy &policy, const npg_hist_view &v, uint64_t count)
{
    npg_hist_op op;
    op.v = v;
    thrust::for_each(policy, thrust::counting_iterator<uint64_t>(0),
                     thrust::counting_iterator<uint64_t>(count), op);
}

/* max over particles of max(n, n_prev); 0 for an empty state. */
template <class Policy>
uint32_t npg_reduce_max_n(const Policy &policy, const uint32_t *n, const uint32_t *n_prev,
                          uint64_t count)
{
    npg_max_of_pair f;
    f.n = n;
    f.n_prev = n_prev;
    return thrust::transform_reduce(policy, thrust::counting_iterator<uint64_t>(0),
                                    thrust::counting_iterator<uint64_t>(count), f, 0u,
                                    npg_max_u32());
}

} // namespace

#endif /* NPGROW_KERNELS_REDUCE_CUH */
