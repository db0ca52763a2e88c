#!/usr/bin/env bash
# cli_infer.sh NPGROW_BINARY SOURCE_DIR: `npgrow infer` end to end on a small run of npgrow:
# it writes SCHEDULE.yaml and SCHEDULE.csv (exit 0), `npgrow run` accepts the schedule as is,
# an existing output is refused without --force (exit 2) and replaced with it, bad flags and
# a missing DATA_DIR exit 2 and write nothing, SIGINT in the bootstrap exits 130. (Recovery of S(t): tests/data/test_infer.cpp.)
set -u
BIN=${1:?usage: cli_infer.sh NPGROW_BINARY SOURCE_DIR}
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
run: {particles: 400, t_end: 40, output_every: 1, seed: 2}
output: {trajectories: 400, hdf5: false}
YAML
"$BIN" run "$T/c.yaml" --quiet -o "$T/d" || fail "run"
expect 0 "infer" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/S.yaml" --bootstrap 20
[ -s "$T/S.yaml" ] || fail "no S.yaml"
head -1 "$T/S.csv" | grep -qx 't,S,S_lo68,S_hi68,S_lo95,S_hi95' || fail "S.csv header"
[ "$(wc -l <"$T/S.csv")" -ge 5 ] || fail "S.csv has $(wc -l <"$T/S.csv") lines"
grep -q "mode: schedule" "$T/S.yaml" || fail "S.yaml: no schedule supply"
grep -q "<- chosen" "$T/err" || fail "no cross-validation table on stderr"
expect 0 "run the inferred schedule" "$BIN" run "$T/S.yaml" --quiet --particles 100 -o "$T/r"
cp "$T/S.csv" "$T/S.csv.before"
expect 2 "infer over an existing output" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/S.yaml"
grep -q -- "--force" "$T/err" || fail "refusal does not name --force: $(cat "$T/err")"
cmp -s "$T/S.csv" "$T/S.csv.before" || fail "the refused infer changed S.csv"
expect 0 "infer --force" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/S.yaml" --force -q \
    --knot-every 10 --bootstrap 0
[ -s "$T/out" ] && fail "-q wrote to stdout"
[ "$(grep -c '^[0-9]' "$T/S.csv")" = 5 ] || fail "--knot-every 10 over 40 s: not 5 knots"
expect 2 "infer without -o" "$BIN" infer "$T/d" "$T/c.yaml"
expect 2 "infer --knot-every -1" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/x.yaml" --knot-every -1
expect 2 "infer --knot-every below the frame spacing" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/x.yaml" \
    --knot-every 0.5
grep -q "no particle increment" "$T/err" || fail "knot-every 0.5: $(cat "$T/err")"
expect 2 "infer --bootstrap x" "$BIN" infer "$T/d" "$T/c.yaml" -o "$T/x.yaml" --bootstrap x
expect 2 "infer of a missing DATA_DIR" "$BIN" infer "$T/nope" "$T/c.yaml" -o "$T/x.yaml"
# SIGINT during the bootstrap: exit 130, nothing written
"$BIN" infer "$T/d" "$T/c.yaml" -o "$T/x.yaml" --bootstrap 100000 -q 2>"$T/err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
got=$?
[ "$got" = 130 ] && echo "ok: SIGINT (exit 130)" || fail "SIGINT: exit $got, expected 130"
[ -e "$T/x.yaml" ] && fail "a refused or interrupted infer wrote x.yaml"
ls "$T"/*.tmp-* >/dev/null 2>&1 && fail "a temporary file was left"
if ((fails)); then
    echo "cli_infer: $fails failure(s)"
    exit 1
fi
echo "cli_infer: all ok"
