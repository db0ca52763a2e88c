#!/usr/bin/env bash
# fuzz.sh [SECONDS]: build the libFuzzer targets of tests/fuzz with clang (libFuzzer + ASan +
# UBSan, CPU only, in build-fuzz/) and run each for SECONDS (default 60; both at once on two or
# more cores). Seeds: configs/*.yaml, tests/data/config/* and the regression corpus
# tests/fuzz/corpus/<target>/; new coverage goes to build-fuzz/fuzz/corpus-<target>/ (kept between
# local runs, never committed). Exits nonzero on any crash, leak, timeout or out-of-memory, with the
# reproducer in build-fuzz/fuzz/findings-<target>/: copy it into tests/fuzz/corpus/<target>/
# once fixed, so the ctest replay (fuzz_*_replay) keeps it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${NPGROW_FUZZ_BUILD:-build-fuzz}
jobs=$(nproc)

echo "== fuzz build (clang, libFuzzer + ASan + UBSan, CPU only) in $build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DNPGROW_CUDA=OFF -DNPGROW_SANITIZE=ON -DNPGROW_FUZZ=ON \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_config fuzz_compare

work=$build/fuzz
declare -A seeds=([config]="tests/fuzz/corpus/config configs tests/data/config"
                  [compare]="tests/fuzz/corpus/compare")
targets=(config compare)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one TARGET: libFuzzer for $secs seconds; its log in $work/TARGET.log. -close_fd_mask=2
# silences the loader's warnings (sanitizer and libFuzzer reports still print); a finding is
# replayed below with stderr open to show the target's own message.
run_one() {
  local t=$1
  mkdir -p "$work/corpus-$t" "$work/findings-$t"
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" "$work/corpus-$t" ${seeds[$t]} -max_total_time="$secs" \
    -max_len=16384 -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1 \
    -artifact_prefix="$work/findings-$t/" </dev/null >"$work/$t.log" 2>&1
}

echo "== fuzzing ${targets[*]} for $secs s each"
declare -A rc
if ((jobs >= 2)); then
  declare -A pid
  for t in "${targets[@]}"; do
    run_one "$t" &
    pid[$t]=$!
  done
  for t in "${targets[@]}"; do
    rc[$t]=0
    wait "${pid[$t]}" || rc[$t]=$?
  done
else
  for t in "${targets[@]}"; do
    rc[$t]=0
    run_one "$t" || rc[$t]=$?
  done
fi

bad=0
for t in "${targets[@]}"; do
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 || true)
  corpus=$(find "$work/corpus-$t" -type f | wc -l)
  echo "fuzz_$t: ${execs:-?} executions in $secs s, ${cov:-cov: ?}, $corpus new corpus files, exit ${rc[$t]}"
  if ((rc[$t] != 0)); then
    bad=1
    echo "fuzz_$t: FINDING (log $work/$t.log):"
    grep -E 'ERROR|SUMMARY|Test unit written|deadly signal|timeout|out-of-memory' "$work/$t.log" | head -20
    for f in "$work/findings-$t"/*; do
      [ -f "$f" ] || continue
      echo "--- replay of $f:"
      "$build/tests/fuzz/fuzz_$t" "$f" 2>&1 | grep -v '^warning:' | tail -15 || true
    done
  fi
done
if ((bad)); then
  echo "fuzz.sh: FAILED (reproducers in $work/findings-*/)" >&2
  exit 1
fi
echo "fuzz.sh: ok (no crash, leak, timeout or out-of-memory)"
