/* backend_cuda_stub.c: the CUDA backend's entry points in a build without a CUDA compiler.
 * They only say why there is no GPU path, so `--backend cuda` fails clearly. */
#include <stdio.h>

#include "npgrow/backend.h"

int npg_backend_cuda_available(char *why, size_t whylen)
{
    snprintf(why, whylen, "this npgrow was built without CUDA (no nvcc at configure time)");
    return 0;
}

int npg_backend_cuda_create(npg_backend *b, const npg_backend_setup *s, char *err, size_t errlen)
{
    (void)b;
    (void)s;
    npg_backend_cuda_available(err, errlen);
    return 1;
}
