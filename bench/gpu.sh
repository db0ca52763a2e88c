#!/usr/bin/env bash
# bench/gpu.sh: build the CUDA backend, check it against the CPU backend, benchmark it.
#
# Run from the repository root on a machine with a GPU and nvcc. It does not need the full
# CMake build (libyaml, GSL and SUNDIALS are often missing on GPU machines): it compiles only
# the two backends, their tests and the benchmark, directly with nvcc/g++. GoogleTest is used
# when its headers and libraries are found; without it the tests are skipped with a notice.
# Environment: NPG_GPU_BUILD (build folder, default build-gpu), NPG_CUDA_ARCH (default 90),
# JOBS (parallel compiles, default 4). Extra arguments go to bench_gpu. The table comes last.
# Coalescence (issue 11) is not benchmarked here: the well-mixed sampler runs on the host only
# (no CUDA path yet); its benchmark is bench/coalesce.sh (bench/RESULTS.md, "Coalescence").
set -euo pipefail
cd "$(dirname "$0")/.."

B=${NPG_GPU_BUILD:-build-gpu}
ARCH=${NPG_CUDA_ARCH:-90}
NVCC=${NVCC:-nvcc}
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v "$NVCC")")")}
CCCL="$CUDA_HOME/include/cccl"
mkdir -p "$B"

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
"$NVCC" --version | tail -2

echo "== build ($B, sm_$ARCH)"
t0=$(date +%s)
NVFLAGS=(-O3 -std=c++17 -Iinclude "-gencode=arch=compute_$ARCH,code=sm_$ARCH"
         -Xcompiler=-Wall,-Wextra -DNPGROW_HAVE_CUDA=1)
CFLAGS=(-O3 -std=c11 -Wall -Wextra -ffp-contract=off -fopenmp -Iinclude -DNPGROW_HAVE_CUDA=1)
CXXFLAGS=(-O3 -std=c++17 -Wall -Wextra -ffp-contract=off -fopenmp -Iinclude -isystem "$CCCL"
          -DNPGROW_HAVE_CUDA=1)
JOBS=${JOBS:-4}
pids=()
# Start a compile in the background, at most JOBS at a time; any failure stops the script.
bg() {
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
    "$@" &
    pids+=($!)
}
bg "$NVCC" "${NVFLAGS[@]}" -c kernels/backend_cuda.cu -o "$B/backend_cuda.o"
bg "$NVCC" "${NVFLAGS[@]}" -c kernels/probe_cuda.cu -o "$B/probe_cuda.o"
bg gcc "${CFLAGS[@]}" -c host/engine/backend_cpu.c -o "$B/backend_cpu.o"
bg gcc "${CFLAGS[@]}" -c host/engine/ssa_batch.c -o "$B/ssa_batch.o"
bg gcc "${CFLAGS[@]}" -c bench/bench_gpu.c -o "$B/bench_gpu.o"
have_gtest=0
if [ -f /usr/include/gtest/gtest.h ] || [ -f /usr/local/include/gtest/gtest.h ]; then
    have_gtest=1
    bg g++ "${CXXFLAGS[@]}" -c tests/kernels/test_cuda.cpp -o "$B/test_cuda.o"
    bg g++ "${CXXFLAGS[@]}" -c tests/kernels/test_reduce.cpp -o "$B/test_reduce.o"
fi
for p in "${pids[@]}"; do wait "$p"; done
LIBS=(-L"$CUDA_HOME/lib64" -lcudart_static -ldl -lrt -lpthread -lm)
OBJS=("$B/backend_cuda.o" "$B/probe_cuda.o" "$B/backend_cpu.o" "$B/ssa_batch.o")
g++ -fopenmp -o "$B/bench_gpu" "$B/bench_gpu.o" "${OBJS[@]}" "${LIBS[@]}"
if [ $have_gtest = 1 ]; then
    g++ -fopenmp -o "$B/gpu_tests" "$B/test_cuda.o" "$B/test_reduce.o" "${OBJS[@]}" \
        -lgtest_main -lgtest "${LIBS[@]}"
fi
echo "built in $(( $(date +%s) - t0 )) s"

echo "== tests (CUDA vs CPU backend; Thrust reductions on OpenMP)"
test_rc=0
if [ $have_gtest = 1 ]; then
    NPG_REQUIRE_GPU=1 "$B/gpu_tests" --gtest_color=no || test_rc=$?
else
    echo "GoogleTest not found: tests skipped"
fi

echo "== benchmark"
"$B/bench_gpu" "$@"
echo "(coalescence: host only, no GPU benchmark yet; see bench/coalesce.sh)"
if [ $test_rc != 0 ]; then
    echo "gpu.sh: TESTS FAILED (exit $test_rc); the benchmark above ran anyway" >&2
    exit 1
fi
