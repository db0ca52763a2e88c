#!/usr/bin/env bash
# bench/gpu.sh: build the CUDA backend, check it against the CPU backend, benchmark it.
#
# Run from the repository root on a machine with a GPU and nvcc. It does not need the full
# CMake build (libyaml, GSL and SUNDIALS are often missing on GPU machines): it compiles only
# the two backends, their tests and the benchmark, directly with nvcc/g++. GoogleTest is used
# when its headers and libraries are found; without it the tests are skipped with a notice.
# Environment: NPG_GPU_BUILD (build folder, default build-gpu), NPG_CUDA_ARCH (default 90),
# JOBS (parallel compiles, default 4), NPG_BD_MAXN (largest N of the Brownian-dynamics benchmark,
# default 1e7, where the throughput target applies; the host-side placement of 1e8 particles
# takes minutes: parallel random sequential addition, 41 s for 1e7 on one core of the CPU VM).
# Extra arguments go to bench_gpu.
# With build-bundle/ carried from the development machine (bash bench/gpu-bundle.sh there; the
# full CMake build with its shared libraries), also: the engine's CUDA-against-CPU tests from it
# (CoalEngine.*Cuda*) and the coalescence demo (configs/pt-acac-coalescence.yaml) at
# NPG_DEMO_N particles (default 1e8; 0 skips it) on --backend cuda, within NPG_DEMO_TIMEOUT
# seconds (default 300, the issue's 5 minutes).
# The tables come last.
# Brownian-dynamics coalescence (issue "Coalescence II"): the GPU device (kernels/bd_cuda.cu)
# against the host alone (tests/coalesce/test_bd_cuda.cpp) and its OpenMP twin, then
# bench_brownian ... cuda for N = 1e5 .. NPG_BD_MAXN. The well-mixed sampler runs on the host
# only; its benchmark is bench/coalesce.sh (bench/RESULTS.md, "Coalescence").
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
bg "$NVCC" "${NVFLAGS[@]}" --fmad=false -c kernels/bd_cuda.cu -o "$B/bd_cuda.o"
bg gcc "${CFLAGS[@]}" -fno-math-errno -c host/coalesce/brownian.c -o "$B/brownian.o"
bg gcc "${CFLAGS[@]}" -c bench/bench_brownian.c -o "$B/bench_brownian.o"
bg gcc "${CFLAGS[@]}" -c host/engine/backend_cpu.c -o "$B/backend_cpu.o"
bg gcc "${CFLAGS[@]}" -c host/engine/ssa_batch.c -o "$B/ssa_batch.o"
bg gcc "${CFLAGS[@]}" -c host/util/stop.c -o "$B/stop.o"
bg gcc "${CFLAGS[@]}" -c bench/bench_gpu.c -o "$B/bench_gpu.o"
have_gtest=0
if [ -f /usr/include/gtest/gtest.h ] || [ -f /usr/local/include/gtest/gtest.h ]; then
    have_gtest=1
    bg g++ "${CXXFLAGS[@]}" -c tests/kernels/test_cuda.cpp -o "$B/test_cuda.o"
    bg g++ "${CXXFLAGS[@]}" -c tests/kernels/test_reduce.cpp -o "$B/test_reduce.o"
    bg g++ "${CXXFLAGS[@]}" -c tests/coalesce/test_bd_cuda.cpp -o "$B/test_bd_cuda.o"
    bg g++ "${CXXFLAGS[@]}" -c tests/coalesce/test_bd_device.cpp -o "$B/test_bd_device.o"
fi
for p in "${pids[@]}"; do wait "$p"; done
LIBS=(-L"$CUDA_HOME/lib64" -lcudart_static -ldl -lrt -lpthread -lm)
OBJS=("$B/backend_cuda.o" "$B/probe_cuda.o" "$B/backend_cpu.o" "$B/ssa_batch.o" "$B/stop.o")
BD_OBJS=("$B/brownian.o" "$B/bd_cuda.o")
g++ -fopenmp -o "$B/bench_gpu" "$B/bench_gpu.o" "${OBJS[@]}" "${LIBS[@]}"
g++ -fopenmp -o "$B/bench_brownian" "$B/bench_brownian.o" "${BD_OBJS[@]}" "${LIBS[@]}"
if [ $have_gtest = 1 ]; then
    g++ -fopenmp -o "$B/gpu_tests" "$B/test_cuda.o" "$B/test_reduce.o" "$B/test_bd_cuda.o" \
        "$B/test_bd_device.o" "${OBJS[@]}" "${BD_OBJS[@]}" -lgtest_main -lgtest "${LIBS[@]}"
fi
echo "built in $(( $(date +%s) - t0 )) s"

echo "== tests (CUDA vs CPU backend; Thrust reductions on OpenMP; BD device on the GPU and its OpenMP twin vs the host)"
test_rc=0
if [ $have_gtest = 1 ]; then
    NPG_REQUIRE_GPU=1 "$B/gpu_tests" --gtest_color=no || test_rc=$?
else
    echo "GoogleTest not found: tests skipped"
fi

echo "== benchmark: Brownian dynamics on the GPU (N = 1e5 .. ${NPG_BD_MAXN:-1e7}, host threads $(nproc))"
bd_rc=0
"$B/bench_brownian" "${NPG_BD_MAXN:-1e7}" "$(nproc)" 1 cuda | tee "$B/bench_brownian.txt" || bd_rc=$?
echo "== benchmark: monomer SSA"
"$B/bench_gpu" "$@"

demo_rc=0
NPG_GPU_BUILD=$B bash bench/gpu-demo.sh | tee "$B/gpu-demo.txt" || demo_rc=$?
demo_line=$(grep '^demo:' "$B/gpu-demo.txt" | tail -1)
if grep -q '^engine tests: FAILED' "$B/gpu-demo.txt"; then test_rc=1; fi

echo "== Brownian dynamics on the GPU (from above)"
grep -v '^csv' "$B/bench_brownian.txt" || true
echo "== coalescence demo (configs/pt-acac-coalescence.yaml, from above)"
echo "$demo_line"
if [ $bd_rc != 0 ]; then
    echo "gpu.sh: bench_brownian FAILED (exit $bd_rc)" >&2
    exit 1
fi
if [ $demo_rc != 0 ]; then
    echo "gpu.sh: the coalescence demo FAILED or ran out of time (exit $demo_rc)" >&2
    exit 1
fi
if [ $test_rc != 0 ]; then
    echo "gpu.sh: TESTS FAILED (exit $test_rc); the benchmark above ran anyway" >&2
    exit 1
fi
