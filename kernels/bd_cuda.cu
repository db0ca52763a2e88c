/* bd_cuda.cu: the Brownian-dynamics device on the GPU (kernels/bd_device.cuh on Thrust's CUDA
 * system; npg_bd_device, npgrow/brownian.h). The OpenMP build of the same source is the CPU
 * twin that CI checks against the host (tests/coalesce/test_bd_device.cpp); on a GPU machine
 * tests/coalesce/test_bd_cuda.cu checks this one the same way. */
#include <cuda_runtime.h>

#include "bd_device.cuh"

extern "C" npg_bd_device *npg_bd_device_cuda(uint64_t capacity, char *err, size_t errlen)
{
    int count = 0;
    const cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess || count == 0) {
        snprintf(err, errlen, "no CUDA device (%s)",
                 rc != cudaSuccess ? cudaGetErrorString(rc) : "none found");
        cudaGetLastError(); /* clear it */
        return NULL;
    }
    return bd_device_new(capacity, err, errlen);
}
