#!/usr/bin/env bash
# Fresh machine -> the whole test suite: install packages, check formatting, build (with CUDA
# when nvcc exists; GPU tests skip without a device), run every test, then rebuild the CPU code
# with AddressSanitizer + UndefinedBehaviorSanitizer and run the tests again; then fuzz the config
# loader and compare's reader (clang libFuzzer, NPGROW_FUZZ_SECONDS each, default 60) and run the
# mutation test of `npgrow run` on the sanitizer build (NPGROW_MUTATE_SECONDS, default 90).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== clang-format check"
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cu' '*.cuh' '*.cpp')
clang-format --dry-run --Werror "${files[@]}"

echo "== dependency direction (scripts/check-layers.sh)"
bash scripts/check-layers.sh

echo "== build (Release, NPGROW_CUDA=AUTO)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
(cd build && ctest -j "$jobs" --output-on-failure --timeout 1200 -E '^python_pytest$')
echo "== Python package (pytest, tests/python)"
prc=0
(cd build && ctest -R '^python_pytest$' --timeout 1200 -V >pytest.log 2>&1) || prc=$?
if ((prc)); then
  tail -n 60 build/pytest.log
  exit "$prc"
fi
grep -E '^[0-9]+: [0-9]+ passed' build/pytest.log # the pytest result line

echo "== build (ASan + UBSan, CPU only)"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DNPGROW_SANITIZE=ON -DNPGROW_CUDA=OFF \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-sanitize -j "$jobs"
echo "== tests under sanitizers"
(cd build-sanitize &&
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j "$jobs" --output-on-failure --timeout 1800 -LE long)

echo "== fuzzing (scripts/fuzz.sh: libFuzzer + ASan + UBSan, build-fuzz)"
bash scripts/fuzz.sh "${NPGROW_FUZZ_SECONDS:-60}"
echo "== mutation test of npgrow run (tests/fuzz/mutate_run.py, sanitizer build)"
python3 tests/fuzz/mutate_run.py --npgrow build-sanitize/npgrow --count 600 \
  --budget "${NPGROW_MUTATE_SECONDS:-90}" --jobs "$jobs" --keep build-sanitize/mutate-run
