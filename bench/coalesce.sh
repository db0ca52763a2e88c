#!/usr/bin/env bash
# bench/coalesce.sh: build bench_coalesce and run it: well-mixed coalescence events/s for
# N = 1e4 .. MAX_N (additive kernel from a geometric start, the study's Brownian kernel with the
# Fermi propensity, and a plain exact Marcus-Lushnikov SSA as baseline), 1 and 2 threads, bytes
# per particle. See bench/bench_coalesce.c for the workloads and bench/RESULTS.md for results.
# The sampler runs on the host only (no CUDA path for coalescence yet).
# Usage: bash bench/coalesce.sh [BUILD_DIR] [MAX_N] [TRIALS] [EVENT_CAP]
#   defaults: build 1e7 3 3e6 (about 1.5-3 minutes on the 2-core development VM; EVENT_CAP
#   limits the merges per ensemble, which only shortens the N = 1e7 runs: they stop at 7e6
#   particles instead of 1e6 / 5e6). CSV=1 keeps the "csv,..." lines in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
MAX_N=${2:-1e7}
TRIALS=${3:-3}
CAP=${4:-3e6}
if [ ! -f "$B/CMakeCache.txt" ]; then
    cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$B" -j2 --target bench_coalesce >/dev/null
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs," \
    "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
echo "== $B/bench/bench_coalesce $MAX_N $TRIALS $CAP"
t0=$(date +%s)
if [ "${CSV:-0}" = 1 ]; then
    "$B/bench/bench_coalesce" "$MAX_N" "$TRIALS" "$CAP"
else
    "$B/bench/bench_coalesce" "$MAX_N" "$TRIALS" "$CAP" | grep -v '^csv,'
fi
echo "== ran $(($(date +%s) - t0)) s"
