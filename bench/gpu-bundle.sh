#!/usr/bin/env bash
# bench/gpu-bundle.sh: pack this machine's full build (npgrow and npgrow_tests, built with CUDA)
# and the shared libraries they load into build-bundle/ (ignored by git), for a GPU machine whose
# image lacks libyaml, GSL, SUNDIALS and HDF5. Carry it there (the device tool's
# carry: ["build-bundle"]); bench/gpu.sh then also runs the engine's CUDA-against-CPU tests and the
# coalescence demo at 1e8 particles from it (bench/RESULTS.md, "Coalescence II ... GPU").
#
# Left to the GPU machine: glibc (libc, libm, libpthread, libdl, librt and the loader; its
# version must be at least this machine's, 2.36 on Debian 12; Ubuntu 24.04 has 2.39), the CUDA
# driver, and libcurand (133 MB; only npgrow_tests loads it; gpu.sh puts its CUDA's lib64 on
# LD_LIBRARY_PATH). An earlier session ran a build carried this way on the GPU machine
# (RESULTS.md, "End to end on the GPU machine").
# Environment: NPG_BUILD (the build folder, default build), NPG_BUNDLE (default build-bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${NPG_BUILD:-build}
OUT=${NPG_BUNDLE:-build-bundle}
if [ ! -x "$B/npgrow" ] || [ ! -x "$B/tests/npgrow_tests" ]; then
    echo "gpu-bundle: no $B/npgrow or $B/tests/npgrow_tests: build first (cmake --build $B)" >&2
    exit 2
fi
# (grep without -q reads all of readelf's output: an early exit would fail the pipe, pipefail)
if ! readelf -S "$B/npgrow" | grep nv_fatbin >/dev/null; then
    echo "gpu-bundle: $B/npgrow was built without the CUDA backend" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT/lib"
cp "$B/npgrow" "$B/tests/npgrow_tests" "$OUT/"
ldd "$B/npgrow" "$B/tests/npgrow_tests" | awk '/=> \// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|libcurand)\.so|/ld-linux' |
    while read -r lib; do cp -L "$lib" "$OUT/lib/"; done
# every library resolves inside the bundle (or is glibc's, or curand)
missing=$(LD_LIBRARY_PATH="$OUT/lib" ldd "$OUT/npgrow" "$OUT/npgrow_tests" |
    awk '/=>/ && $3 !~ /^'"${OUT//\//\\/}"'\/lib\// {print $1}' |
    grep -v -E '^(libc|libm|libpthread|libdl|librt|libcurand)\.so|ld-linux|linux-vdso' || true)
if [ -n "$missing" ]; then
    echo "gpu-bundle: not bundled: $missing" >&2
    exit 1
fi
git rev-parse --short HEAD >"$OUT/commit" 2>/dev/null || true
echo "gpu-bundle: $OUT ($(du -sh "$OUT" | cut -f1), $(ls "$OUT/lib" | wc -l) libraries, commit $(cat "$OUT/commit" 2>/dev/null))"
