#!/usr/bin/env bash
# Install the Debian packages npgrow builds against (idempotent; needs root or sudo).
# The CUDA toolkit is optional: without nvcc the CPU backend is built alone.
set -euo pipefail
# clang, libclang-rt-dev (libFuzzer + sanitizer runtimes) and libomp-dev (OpenMP for clang) build
# the fuzz targets (scripts/fuzz.sh); python3 runs the mutation test (tests/fuzz/mutate_run.py).
pkgs=(build-essential cmake pkg-config git libyaml-dev libsundials-dev libgsl-dev libgtest-dev
      clang-format clang libclang-rt-dev libomp-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "npgrow setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
