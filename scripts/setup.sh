#!/usr/bin/env bash
# Install the Debian packages npgrow builds against (idempotent; needs root or sudo).
# The Python packages (Debian's, for /usr/bin/python3) serve python/npgrow and its tests.
# The CUDA toolkit is optional: without nvcc the CPU backend is built alone.
set -euo pipefail
# clang, libclang-rt-dev (libFuzzer + sanitizer runtimes) and libomp-dev (OpenMP for clang) build
# the fuzz targets (scripts/fuzz.sh); python3 runs the mutation test (tests/fuzz/mutate_run.py).
pkgs=(build-essential cmake pkg-config git libyaml-dev libsundials-dev libgsl-dev libgtest-dev
      clang-format clang libclang-rt-dev libomp-dev python3
      libhdf5-dev python3-h5py python3-numpy python3-matplotlib python3-pandas python3-xarray
      python3-h5netcdf python3-pytest)
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
# python/npgrow for Debian's python3 without pip: a .pth file in its site directory naming this
# checkout's python/ (so `python3 -c "import npgrow"` works; tests set PYTHONPATH themselves).
if [ -x /usr/bin/python3 ]; then
  site=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
  want="$(cd "$(dirname "$0")/.." && pwd)/python"
  if [ "$(cat "$site/npgrow.pth" 2>/dev/null)" != "$want" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO mkdir -p "$site"
    echo "$want" | $SUDO tee "$site/npgrow.pth" >/dev/null
    echo "npgrow setup: $site/npgrow.pth -> $want" >&2
  fi
fi
