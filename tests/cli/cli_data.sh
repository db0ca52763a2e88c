#!/usr/bin/env bash
# cli_data.sh NPGROW_BINARY SOURCE_DIR: `npgrow data import` end to end.
#   * bad input exits 2 before any directory is made: no --pixel, an unknown FORMAT, text in an
#     area cell (message names file:row:column), a missing file;
#   * a synthetic tem-pixel file (known areas) gives the n of model.md 4.3 exactly;
#   * with SOURCE_DIR/../shared/data: Pt(acac)2 Group A imports into a result directory that
#     `npgrow compare` reads (against itself: exit 0), run.yaml says kind: data, moments_ci.csv
#     has 10 quantities per time, --force replaces it; skipped when the data are absent.
set -u
BIN=${1:?usage: cli_data.sh NPGROW_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_data.sh NPGROW_BINARY SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
expect() { # expect STATUS LABEL COMMAND...
    local want=$1 label=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$label: exit $got, expected $want"
        tail -n 5 "$T/err"
    else
        echo "ok: $label (exit $got)"
    fi
}
CFG=$SRC/configs/pt-acac.yaml

# synthetic file: time column, two particles; area pi/0.53^2 px^2 is r = 1 nm
# n = round((1/0.155672)^3) = 265; the second particle is absent (0, empty) in rows 2 and 3
A=$(python3 -c 'import math; print(math.pi / 0.53**2)')
printf '1,%s,10,10,%s,20,20\n2,%s,10,10,0,0,0\n3,%s,10,10,,,\n' "$A" "$A" "$A" "$A" >"$T/syn.csv"
expect 0 "import a synthetic file" "$BIN" data import tem-pixel "$T/syn.csv" --system "$CFG" \
    --pixel 0.53 --time-column --no-clean --resamples 50 -o "$T/syn"
python3 - "$T/syn" <<'PY' || fail "synthetic import: wrong moments"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/moments.csv")))
assert [r["t"] for r in rows] == ["1", "2", "3"], rows
assert [r["particles"] for r in rows] == ["2", "1", "1"], rows
assert all(float(r["mean_n"]) == 265 and float(r["var_n"]) == 0 for r in rows), rows
assert abs(float(rows[0]["mean_r_nm"]) - 1.0) < 1e-12
ci = list(csv.DictReader(open(sys.argv[1] + "/moments_ci.csv")))
assert len(ci) == 30 and all(float(r["lo95"]) == 265 for r in ci if r["quantity"] == "mean_n")
PY

# bad input: exit 2, no directory
expect 2 "tem-pixel without --pixel" "$BIN" data import tem-pixel "$T/syn.csv" --system "$CFG" \
    --time-column -o "$T/bad1"
expect 2 "unknown format" "$BIN" data import nope "$T/syn.csv" --system "$CFG" -o "$T/bad2"
printf '1,abc,10,10\n' >"$T/text.csv"
expect 2 "text in an area cell" "$BIN" data import tem-pixel "$T/text.csv" --system "$CFG" \
    --pixel 0.53 --time-column -o "$T/bad3"
grep -q "text.csv:1:2" "$T/err" || fail "text cell: message does not name file:row:column: $(cat "$T/err")"
expect 2 "missing file" "$BIN" data import radii "$T/none.csv" --system "$CFG" -o "$T/bad4"
expect 2 "no -o" "$BIN" data import radii "$T/none.csv" --system "$CFG"
expect 2 "missing --system" "$BIN" data import radii "$T/syn.csv" -o "$T/bad5"
for d in bad1 bad2 bad3 bad4 bad5; do
    [ -e "$T/$d" ] && fail "$d: a directory was left"
done

DATA=$SRC/../shared/data
if [ -d "$DATA" ]; then
    expect 0 "import Pt(acac)2 Group A" "$BIN" data import tem-pixel \
        "$DATA/pt-acac/group-a_pixel.csv" --system "$CFG" --pixel 0.53 --time-column --groups \
        -o "$T/pta"
    grep -q '^kind: data$' "$T/pta/run.yaml" || fail "run.yaml: no kind: data"
    head -n 1 "$T/pta/run.yaml" | grep -q '^# npgrow' || fail "run.yaml: no '# npgrow' line"
    for f in moments.csv histogram.csv trajectories.csv growth_rate.csv moments_ci.csv; do
        [ -s "$T/pta/$f" ] || fail "no $f"
    done
    [ "$(wc -l <"$T/pta/moments_ci.csv")" = $((173 * 10 + 1)) ] || fail "moments_ci.csv rows"
    expect 0 "compare the import with itself" "$BIN" compare "$T/pta" "$T/pta" -q -o "$T/cmp.csv"
    expect 2 "import into an existing result without --force" "$BIN" data import tem-pixel \
        "$DATA/pt-acac/group-a_pixel.csv" --system "$CFG" --pixel 0.53 --time-column --groups \
        -o "$T/pta"
    expect 0 "import with --force" "$BIN" data import tem-pixel \
        "$DATA/pt-acac/group-a_pixel.csv" --system "$CFG" --pixel 0.53 --time-column --groups \
        --resamples 0 --force -o "$T/pta"
    [ -e "$T/pta/moments_ci.csv" ] && fail "--force --resamples 0 kept the old moments_ci.csv"
    expect 0 "import Pt(acac)2 Group B" "$BIN" data import tem-pixel \
        "$DATA/pt-acac/group-b_pixel.csv" --system "$CFG" --pixel 0.53 --time-column --groups \
        --resamples 0 -o "$T/ptb"
    [ "$(wc -l <"$T/ptb/coalescence.csv")" = 40 ] || fail "Group B: not 39 coalescence events"
    # the imported directory is what `npgrow infer` reads, and its schedule runs
    expect 0 "infer S(t) from the imported Group A" "$BIN" infer "$T/pta" "$CFG" \
        -o "$T/pta-S.yaml" --bootstrap 20 --quiet
    expect 0 "run the inferred schedule" "$BIN" run "$T/pta-S.yaml" --particles 200 \
        -o "$T/pta-run" --quiet
else
    echo "note: $DATA absent: the real-data checks are skipped"
fi

[ "$fails" = 0 ] && echo "cli_data: all passed" || echo "cli_data: $fails failed"
[ "$fails" = 0 ]
