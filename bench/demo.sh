#!/usr/bin/env bash
# bench/demo.sh: the demo end to end (`npgrow run configs/pt-acac.yaml`: 1e5 particles, 180 s,
# all outputs written) on 1 .. THREADS threads, TRIALS times each, thread counts interleaved.
# Prints wall_s, advance_wall_s and events_per_s from each run.yaml, then the medians, and
# checks that every run's result files are identical (thread-count independence).
# Usage: bash bench/demo.sh [NPGROW_BINARY] [THREADS] [TRIALS]   (default build/npgrow 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/npgrow}
THREADS=${2:-2}
TRIALS=${3:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%7s %6s %10s %14s %14s\n' threads trial wall_s advance_wall_s events_per_s
for k in $(seq 1 "$TRIALS"); do
    for t in $(seq 1 "$THREADS"); do
        d="$OUT/t$t-$k"
        "$BIN" run configs/pt-acac.yaml -o "$d" --threads "$t" --quiet 2>/dev/null
        w=$(awk '/^wall_s:/ {print $2}' "$d/run.yaml")
        a=$(awk '/^advance_wall_s:/ {print $2}' "$d/run.yaml")
        e=$(awk '/^events_per_s:/ {print $2}' "$d/run.yaml")
        printf '%7s %6s %10s %14s %14s\n' "$t" "$k" "$w" "$a" "$e"
        echo "$t $e $w" >> "$OUT/all"
        for f in moments.csv histogram.csv growth_rate.csv trajectories.csv; do
            cmp -s "$d/$f" "$OUT/t1-1/$f" || { echo "demo.sh: $d/$f differs from t1-1" >&2; exit 1; }
        done
    done
done
echo "median over $TRIALS trials:"
for t in $(seq 1 "$THREADS"); do
    awk -v t="$t" '$1 == t {print $2, $3}' "$OUT/all" | sort -g | awk -v t="$t" '
        {e[NR] = $1; w[NR] = $2} END {m = int((NR + 1) / 2);
        printf "threads %s: events_per_s %.4g, wall_s %.2f (run with the median events/s)\n", t, e[m], w[m]}'
done
echo "result files identical across all runs and thread counts"
