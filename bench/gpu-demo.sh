#!/usr/bin/env bash
# bench/gpu-demo.sh: on the GPU machine, from the full build carried in build-bundle/
# (bash bench/gpu-bundle.sh on the development machine): the engine's CUDA-against-CPU tests
# and the coalescence demo (configs/pt-acac-coalescence.yaml) at NPG_DEMO_N particles (default
# 1e8; 0 skips it) within NPG_DEMO_TIMEOUT seconds (default 300, the issue's 5 minutes).
# bench/gpu.sh calls it; alone it needs no nvcc. Prints "engine tests: ..." and "demo: ..." lines
# (gpu.sh's table repeats the latter). Exit 1 when the demo fails or runs out of time.
# Environment: NPG_BUNDLE (default build-bundle), NPG_GPU_BUILD (where the demo's results go,
# default build-gpu), NPG_DEMO_BACKEND (default cuda; cpu to try the script without a GPU),
# NPG_DEMO_TESTS (the tests' gtest filter; default 'CoalEngine.*Cuda*:CudaBackend.*').
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${NPG_BUNDLE:-build-bundle}
B=${NPG_GPU_BUILD:-build-gpu}
mkdir -p "$B"
if [ ! -x "$BUNDLE/npgrow" ]; then
    echo "demo: skipped (no $BUNDLE: bash bench/gpu-bundle.sh on the development machine, then carry it)"
    exit 0
fi
CUDA_LIB=$(dirname "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")/lib64
export LD_LIBRARY_PATH="$PWD/$BUNDLE/lib:$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BACKEND=${NPG_DEMO_BACKEND:-cuda}
echo "== engine tests from $BUNDLE (commit $(cat "$BUNDLE/commit" 2>/dev/null)): CUDA against CPU"
if [ "$BACKEND" = cuda ]; then export NPG_REQUIRE_GPU=1; fi
if "$BUNDLE/npgrow_tests" --gtest_color=no \
    --gtest_filter="${NPG_DEMO_TESTS:-CoalEngine.*Cuda*:CudaBackend.*}"; then
    echo "engine tests: passed"
else
    echo "engine tests: FAILED"
fi
DN=${NPG_DEMO_N:-1e8}
[ "$DN" = 0 ] && exit 0
LIMIT=${NPG_DEMO_TIMEOUT:-300}
echo "== coalescence demo at $DN particles (--backend $BACKEND, limit $LIMIT s)"
t0=$(date +%s.%N)
rc=0
timeout "$LIMIT" "$BUNDLE/npgrow" run configs/pt-acac-coalescence.yaml --particles "$DN" \
    --backend "$BACKEND" --threads "$(nproc)" -o "$B/demo-coalescence" --force \
    2>"$B/demo.err" || rc=$?
t1=$(date +%s.%N)
tr '\r' '\n' <"$B/demo.err" | grep -v '^$' | tail -4
y=$B/demo-coalescence/run.yaml
get() { sed -n "s/^$1: \([^ ]*\).*/\1/p" "$y" 2>/dev/null | head -1; }
printf 'demo: N %s, %s: exit %s, %s s wall; run.yaml: status %s, wall_s %s, monomer SSA %s s, BD + merges %s s, %s BD steps, %s particle-steps/s, %s merges\n' \
    "$DN" "$BACKEND" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
    "$(get status)" "$(get wall_s)" "$(get advance_wall_s)" "$(get coalescence_wall_s)" \
    "$(get bd_steps)" "$(get bd_particle_steps_per_s)" "$(get merges)"
[ $rc = 0 ] || exit 1
