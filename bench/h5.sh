#!/usr/bin/env bash
# h5.sh: cost of run.h5 for a large ensemble: the demo config with N particles (default 1e7) over
# T seconds (default 2), one full-ensemble snapshot (the default: the last time), then the same
# run with output.hdf5: false. Prints the run's wall_s, run.h5's own hdf5_wall_s (snapshot +
# observables + parameters) and the file size.
# Usage: bash bench/h5.sh [NPGROW_BINARY] [PARTICLES] [T_END] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/npgrow}
N=${2:-10000000}
T=${3:-2}
THREADS=${4:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^output:/output:\n  hdf5: false/' configs/pt-acac.yaml >"$tmp/off.yaml"
"$BIN" run configs/pt-acac.yaml --quiet --particles "$N" --t-end "$T" --threads "$THREADS" \
  -o "$tmp/on" 2>/dev/null
"$BIN" run "$tmp/off.yaml" --quiet --particles "$N" --t-end "$T" --threads "$THREADS" \
  -o "$tmp/off" 2>/dev/null
on=$(sed -n 's/^wall_s: \([0-9.e+-]*\).*/\1/p' "$tmp/on/run.yaml")
off=$(sed -n 's/^wall_s: \([0-9.e+-]*\).*/\1/p' "$tmp/off/run.yaml")
h5=$(/usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['parameters/hdf5_wall_s'][()])" "$tmp/on/run.h5")
size=$(stat -c %s "$tmp/on/run.h5")
echo "particles $N, t_end $T s, $THREADS threads: wall_s with run.h5 $on (snapshot inside),"\
  "without $off; hdf5_wall_s $h5; run.h5 $size bytes"
/usr/bin/python3 -c "print('hdf5_wall_s / wall_s(without) = %.3f' % ($h5 / $off))"
