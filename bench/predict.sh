#!/usr/bin/env bash
# bench/predict.sh: wall time of `npgrow predict` on Pt(acac)2 Group A (113 trajectories,
# 173 frames, 1000 replicas), S(t) inferred, with 1 and 2 threads, TRIALS times each.
# Usage: bench/predict.sh [BUILD_DIR] [DATA_ROOT] [TRIALS]   (defaults build, ../shared/data, 3)
set -euo pipefail
B=${1:-build}/npgrow
D=${2:-../shared/data}
TRIALS=${3:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$B" data import tem-pixel "$D/pt-acac/group-a_pixel.csv" --system "$SRC/configs/pt-acac.yaml" \
    --pixel 0.53 --time-column --groups -q -o "$T/data"
for trial in $(seq "$TRIALS"); do
    for th in 1 2; do
        /usr/bin/time -f "threads $th trial $trial: %e s wall, %U s user, %M kB max RSS" \
            "$B" predict "$T/data" "$SRC/configs/pt-acac.yaml" --replicas 1000 --threads "$th" \
            -q --force -o "$T/p$th"
    done
done
cmp "$T/p1/prediction.csv" "$T/p2/prediction.csv" && echo "prediction.csv identical for 1 and 2 threads"
