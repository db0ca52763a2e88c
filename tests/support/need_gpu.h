// tests/support/need_gpu.h: NPG_NEED_GPU(), the first line of a test that needs the CUDA
// backend: without a usable one it skips, saying why, unless NPG_REQUIRE_GPU=1 (bench/gpu.sh
// sets it on the GPU machine), which turns the skip into a failure.
#ifndef NPGROW_TESTS_SUPPORT_NEED_GPU_H
#define NPGROW_TESTS_SUPPORT_NEED_GPU_H

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "npgrow/backend.h"

#define NPG_NEED_GPU()                                                                             \
    do {                                                                                           \
        char why_[256] = "";                                                                       \
        if (!npg_backend_cuda_available(why_, sizeof why_)) {                                      \
            const char *req_ = std::getenv("NPG_REQUIRE_GPU");                                     \
            if (req_ && std::strcmp(req_, "1") == 0)                                               \
                FAIL() << "NPG_REQUIRE_GPU=1 but the CUDA backend is unusable: " << why_;          \
            GTEST_SKIP() << "CUDA backend unusable: " << why_;                                     \
        }                                                                                          \
    } while (0)

#endif // NPGROW_TESTS_SUPPORT_NEED_GPU_H
