#!/usr/bin/env bash
# bench/me_speed.sh: issue 9's target, `npgrow me` against the particle run it validates, on the
# demo (configs/pt-acac.yaml: 1e5 particles, 180 s, all outputs written), interleaved TRIALS
# times: `npgrow run --threads 2` and `npgrow me` at the default resolution, then once
# `npgrow me --resolution 0` (the exact equation, one cell per size) for the accuracy of the
# lumped grid. Prints wall and user CPU seconds per trial, the medians and their ratio, and the
# largest relative difference of mean_n, var_n, m2..m6 and var_r_nm2 between the lumped and the
# exact solution over all output times.
# Usage: bash bench/me_speed.sh [NPGROW_BINARY] [TRIALS]   (default build/npgrow 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/npgrow}
TRIALS=${2:-3}
CFG=configs/pt-acac.yaml
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
timed() { # LABEL CMD...: one line "LABEL wall user" into $OUT/all
    local label=$1
    shift
    /usr/bin/time -f "$label %e %U" -o "$OUT/t" "$@" >/dev/null 2>&1
    cat "$OUT/t" >>"$OUT/all"
    tail -1 "$OUT/t"
}
echo "command wall_s user_s"
for k in $(seq 1 "$TRIALS"); do
    timed run "$BIN" run "$CFG" -o "$OUT/run-$k" --threads 2 --quiet
    timed me "$BIN" me "$CFG" -o "$OUT/me-$k" --quiet
done
timed me-exact "$BIN" me "$CFG" -o "$OUT/exact" --quiet --resolution 0
med() { awk -v l="$1" -v c="$2" '$1 == l {print $c}' "$OUT/all" | sort -g |
    awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
rw=$(med run 2)
mw=$(med me 2)
echo "median over $TRIALS trials: run ${rw} s, me ${mw} s (user $(med run 3) s, $(med me 3) s):" \
    "me takes $(awk -v a="$mw" -v b="$rw" 'BEGIN {printf "%.3f", a / b}') of run" \
    "($(awk -v a="$mw" -v b="$rw" 'BEGIN {printf "%.1f", b / a}')x faster)"
grep -E '^(n_max|cvode_steps|resolution|rtol):' "$OUT/me-1/run.yaml" | tr '\n' ' '
echo
grep -E '^(n_max|cvode_steps|rtol):' "$OUT/exact/run.yaml" | sed 's/^/exact /' | tr '\n' ' '
echo
# largest relative difference per column, lumped (me-1) against exact
paste -d, "$OUT/me-1/moments.csv" "$OUT/exact/moments.csv" | awk -F, '
    NR == 1 {h = NF / 2; for (i = 1; i <= h; ++i) name[i] = $i; next}
    {for (i = 1; i <= h; ++i) if (name[i] ~ /^(mean_n|var_n|m[2-6]|var_r_nm2)$/) {
        a = $i; b = $(i + h); if (b != 0) {d = (a - b) / b; if (d < 0) d = -d;
        if (d > w[i]) {w[i] = d; at[i] = $1}}}}
    END {printf "lumped vs exact, max |relative difference| over t:";
        for (i = 1; i <= h; ++i) if (i in w) printf " %s %.2e (t %s)", name[i], w[i], at[i];
        print ""}'
