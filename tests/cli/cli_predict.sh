#!/usr/bin/env bash
# cli_predict.sh NPGROW_BINARY SOURCE_DIR: `npgrow predict` end to end on a small run of npgrow:
# it writes prediction.csv, summary.csv and run.yaml (exit 0, run.yaml starting "# npgrow
# predict", producer: predict, time_unit), an existing output is refused without --force (exit 2)
# and replaced with it, bad flags exit 2 and write nothing, SIGINT exits 130 and writes nothing.
# (Coverage of the truth: tests/data/test_predict.cpp.)
set -u
BIN=${1:?usage: cli_predict.sh NPGROW_BINARY SOURCE_DIR}
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
cat >"$T/c.yaml" <<YAML
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 3.5], [20, 3.5], [25, 2.0], [40, 2.0]]}
initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}
run: {particles: 100, t_end: 40, output_every: 1, seed: 2}
output: {trajectories: 100, hdf5: false}
YAML
"$BIN" run "$T/c.yaml" --quiet -o "$T/d" || fail "run"
expect 0 "predict" "$BIN" predict "$T/d" "$T/c.yaml" --replicas 20 -o "$T/p"
for f in prediction.csv summary.csv run.yaml; do
    [ -s "$T/p/$f" ] || fail "predict did not write $f"
done
head -n 1 "$T/p/run.yaml" | grep -q '^# npgrow predict' || fail "run.yaml: first line"
grep -q '^producer: predict' "$T/p/run.yaml" || fail "run.yaml: producer"
grep -q '^time_unit: s' "$T/p/run.yaml" || fail "run.yaml: time_unit"
grep -q 'mean_n' "$T/out" || fail "no summary on stdout"
[ "$(wc -l <"$T/p/summary.csv")" = 21 ] || fail "summary.csv: expected a header and 10 + 10 (me_) rows"
grep -q "^me_var_n," "$T/p/summary.csv" || fail "summary.csv: no me_var_n row"
expect 2 "predict over an existing output" "$BIN" predict "$T/d" "$T/c.yaml" --replicas 20 -o "$T/p"
expect 0 "predict --force --schedule" "$BIN" predict "$T/d" "$T/c.yaml" --replicas 20 -o "$T/p" \
    --force -q --schedule "$T/c.yaml" --no-me
[ "$(wc -l <"$T/p/summary.csv")" = 11 ] || fail "--no-me: summary.csv: expected a header and 10 rows"
[ -s "$T/out" ] && fail "-q printed on stdout"
expect 2 "predict --replicas 0" "$BIN" predict "$T/d" "$T/c.yaml" --replicas 0 -o "$T/x"
expect 2 "predict --threads x" "$BIN" predict "$T/d" "$T/c.yaml" --threads x -o "$T/x"
expect 2 "predict without CONFIG" "$BIN" predict "$T/d" -o "$T/x"
expect 2 "predict of a missing DATA_DIR" "$BIN" predict "$T/nope" "$T/c.yaml" -o "$T/x"
expect 2 "predict --schedule missing" "$BIN" predict "$T/d" "$T/c.yaml" -o "$T/x" \
    --schedule "$T/nope.yaml"
[ -e "$T/x" ] && fail "a refused predict wrote x"
# SIGINT during the replicas: exit 130, nothing written
"$BIN" predict "$T/d" "$T/c.yaml" -o "$T/x" --replicas 100000 -q 2>"$T/err" &
pid=$!
sleep 2
kill -INT "$pid"
wait "$pid"
got=$?
[ "$got" = 130 ] && echo "ok: SIGINT (exit 130)" || fail "SIGINT: exit $got, expected 130"
[ -e "$T/x" ] && fail "an interrupted predict wrote x"
ls -d "$T"/*.tmp-* >/dev/null 2>&1 && fail "a temporary directory was left"
if ((fails)); then
    echo "cli_predict: $fails failure(s)"
    exit 1
fi
echo "cli_predict: all ok"
