/* kernels/probe_cuda.cu: two measured ceilings for the GPU benchmark (bench/bench_gpu.c).
 *
 * The SSA step is bound by Philox's integer multiplies (20 per call, one call per two events)
 * and barely touches memory (8 bytes per particle per interval). So the benchmark compares the
 * step against (a) Philox4x32-10 alone, chained in registers on every thread, and (b) a large
 * device-to-device copy. Neither probe is used by the engine.
 */
#include <cuda_runtime.h>

#include <stdio.h>
#include <string.h>

#include "npgrow/philox.h"

#include "backend_cuda.h"

#define NPG_PROBE_CHECK(call)                                                                      \
    do {                                                                                           \
        cudaError_t npg_e_ = (call);                                                               \
        if (npg_e_ != cudaSuccess) {                                                               \
            const char *f_ = strrchr(__FILE__, '/');                                               \
            snprintf(err, errlen, "cuda probe: %s: %s (%s:%d)", #call, cudaGetErrorString(npg_e_), \
                     f_ ? f_ + 1 : __FILE__, __LINE__);                                            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Each thread chains `calls` Philox calls (the output feeds the next counter, as the step's
 * draws are independent but sequential) and folds them into one word, so none is dead code. */
__global__ void npg_probe_philox_kernel(uint32_t *out, uint32_t calls)
{
    const uint32_t id = blockIdx.x * blockDim.x + threadIdx.x;
    npg_u32x2 key = npg_philox_key(12345u, id);
    npg_u32x4 c = npg_philox_counter(0, 1, NPG_STREAM_MONOMER);
    uint32_t acc = 0;
    for (uint32_t i = 0; i < calls; ++i) {
        const npg_u32x4 r = npg_philox4x32_10(c, key);
        acc ^= r.x ^ r.y ^ r.z ^ r.w;
        c.x = i + 1;
        c.y ^= r.y; /* a data dependence the compiler cannot hoist */
    }
    out[id] = acc;
}

extern "C" int npg_cuda_probe_philox(int device, double *calls_per_s, char *err, size_t errlen)
{
    NPG_PROBE_CHECK(cudaSetDevice(device));
    cudaDeviceProp prop;
    NPG_PROBE_CHECK(cudaGetDeviceProperties(&prop, device));
    const int block = 256;
    const int grid = prop.multiProcessorCount * 16;
    const uint32_t calls = 4096;
    uint32_t *d_out = NULL;
    cudaEvent_t e0, e1;
    NPG_PROBE_CHECK(cudaMalloc(&d_out, (size_t)grid * block * sizeof *d_out));
    NPG_PROBE_CHECK(cudaEventCreate(&e0));
    NPG_PROBE_CHECK(cudaEventCreate(&e1));
    float best = 1e30f;
    for (int rep = 0; rep < 4; ++rep) { /* the first is a warm-up */
        NPG_PROBE_CHECK(cudaEventRecord(e0));
        npg_probe_philox_kernel<<<grid, block>>>(d_out, calls);
        NPG_PROBE_CHECK(cudaGetLastError());
        NPG_PROBE_CHECK(cudaEventRecord(e1));
        NPG_PROBE_CHECK(cudaEventSynchronize(e1));
        float ms = 0.0f;
        NPG_PROBE_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (rep > 0 && ms < best)
            best = ms;
    }
    NPG_PROBE_CHECK(cudaEventDestroy(e0));
    NPG_PROBE_CHECK(cudaEventDestroy(e1));
    NPG_PROBE_CHECK(cudaFree(d_out));
    *calls_per_s = (double)grid * block * calls / (best * 1e-3);
    return 0;
}

extern "C" int npg_cuda_probe_copy(int device, double *bytes_per_s, char *err, size_t errlen)
{
    NPG_PROBE_CHECK(cudaSetDevice(device));
    const size_t bytes = (size_t)1 << 31; /* 2 GiB each way: far beyond the L2 */
    void *a = NULL, *b = NULL;
    cudaEvent_t e0, e1;
    NPG_PROBE_CHECK(cudaMalloc(&a, bytes));
    NPG_PROBE_CHECK(cudaMalloc(&b, bytes));
    NPG_PROBE_CHECK(cudaMemset(a, 0x5a, bytes));
    NPG_PROBE_CHECK(cudaEventCreate(&e0));
    NPG_PROBE_CHECK(cudaEventCreate(&e1));
    float best = 1e30f;
    for (int rep = 0; rep < 6; ++rep) {
        NPG_PROBE_CHECK(cudaEventRecord(e0));
        NPG_PROBE_CHECK(
            cudaMemcpyAsync(rep % 2 ? a : b, rep % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice));
        NPG_PROBE_CHECK(cudaEventRecord(e1));
        NPG_PROBE_CHECK(cudaEventSynchronize(e1));
        float ms = 0.0f;
        NPG_PROBE_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (rep > 0 && ms < best)
            best = ms;
    }
    NPG_PROBE_CHECK(cudaEventDestroy(e0));
    NPG_PROBE_CHECK(cudaEventDestroy(e1));
    NPG_PROBE_CHECK(cudaFree(a));
    NPG_PROBE_CHECK(cudaFree(b));
    *bytes_per_s = 2.0 * (double)bytes / (best * 1e-3);
    return 0;
}
