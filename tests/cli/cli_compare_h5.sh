#!/usr/bin/env bash
# cli_compare_h5.sh NPGROW_BINARY SOURCE_DIR: `npgrow compare` reads run.h5 (issue 13):
#   * compare DIR/run.h5 DIR2 passes and writes the same compare.csv as compare DIR DIR2, by
#     default beside the run.h5;
#   * a directory with run.h5 and no CSV files is read from run.h5;
#   * a truncated run.h5 and a text file named run.h5: exit 2, the file named, no HDF5 dump.
set -u
BIN=${1:?usage: cli_compare_h5.sh NPGROW_BINARY SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
expect() { # expect STATUS LABEL COMMAND...: run, keep stdout/stderr in $T/out, $T/err
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
supply: {mode: schedule, supersaturation: [[0, 3.5], [4, 3.5]]}
initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}
run: {particles: 2000, t_end: 4, output_every: 1, seed: 7}
YAML
"$BIN" run "$T/c.yaml" --quiet -o "$T/a" || fail "run a"
"$BIN" me "$T/c.yaml" --quiet -o "$T/m" || fail "me m"

expect 0 "compare DIR DIR2 (CSV)" "$BIN" compare "$T/a" "$T/m" -o "$T/csv.csv"
expect 0 "compare DIR/run.h5 DIR2" "$BIN" compare "$T/a/run.h5" "$T/m"
[ -f "$T/a/compare.csv" ] || fail "compare DIR/run.h5: no compare.csv beside the run.h5"
cmp -s "$T/csv.csv" "$T/a/compare.csv" || fail "compare.csv differs between CSV and run.h5"
grep -q "^PASS" "$T/out" || fail "compare DIR/run.h5 DIR2: no PASS line"
expect 0 "compare DIR/run.h5 DIR2/run.h5" "$BIN" compare "$T/a/run.h5" "$T/m/run.h5" -o "$T/h.csv"
cmp -s "$T/csv.csv" "$T/h.csv" || fail "compare.csv differs (both sides run.h5)"

mkdir -p "$T/only" && cp "$T/a/run.h5" "$T/only/"
expect 0 "compare of a directory with only run.h5" "$BIN" compare "$T/only" "$T/m" -o "$T/o.csv"
cmp -s "$T/csv.csv" "$T/o.csv" || fail "compare.csv differs (directory with only run.h5)"

head -c 4096 "$T/a/run.h5" >"$T/trunc.h5"
expect 2 "compare of a truncated run.h5" "$BIN" compare "$T/trunc.h5" "$T/m" -o "$T/x.csv"
grep -q "$T/trunc.h5: .*truncated" "$T/err" || fail "truncated run.h5: message: $(cat "$T/err")"
mkdir -p "$T/text" && echo "not hdf5" >"$T/text/run.h5"
expect 2 "compare of a text file named run.h5" "$BIN" compare "$T/m" "$T/text" -o "$T/x.csv"
grep -q "$T/text/run.h5: not an HDF5 file" "$T/err" || fail "text run.h5: message: $(cat "$T/err")"
grep -q "HDF5-DIAG" "$T/err" && fail "HDF5's own error stack was printed"
[ -e "$T/x.csv" ] && fail "compare wrote a CSV for bad input"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "cli_compare_h5: all ok"
