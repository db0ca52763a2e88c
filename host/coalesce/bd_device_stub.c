/* bd_device_stub.c: npg_bd_device_cuda in a build without a CUDA compiler (the GPU's
 * Brownian-dynamics device is kernels/bd_cuda.cu). */
#include <stdio.h>

#include "npgrow/bddevice.h"

npg_bd_device *npg_bd_device_cuda(uint64_t capacity, char *err, size_t errlen)
{
    (void)capacity;
    snprintf(err, errlen, "this npgrow was built without CUDA (no nvcc at configure time)");
    return NULL;
}
