#!/usr/bin/env bash
# cli_help.sh NPGROW_BINARY SOURCE_DIR: help texts, the exit-status table, and the issue-9
# reproductions of dishonest results, each as a regression check:
#   * `npgrow help CMD`, `CMD --help`, `CMD -h` print the same text, exit 0; README.md holds every
#     help text verbatim; every option a command parses is in its help (unknown ones exit 2 with
#     the help on stderr);
#   * --backend cuda without a usable GPU, -o "", compare -o /proc/x: exit 2, before any work;
#   * validate --particles 1: INCONCLUSIVE, exit 3, never PASS; compare the same way;
#   * compare of an interrupted run against a complete one: a warning and exit 1; with
#     --partial the common times are compared (exit 0) and it says so.
set -u
BIN=${1:?usage: cli_help.sh NPGROW_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_help.sh NPGROW_BINARY SOURCE_DIR}
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

# ---- help ------------------------------------------------------------------------------------
expect 0 "npgrow help" "$BIN" help
cp "$T/out" "$T/main.txt"
expect 2 "npgrow (no command)" "$BIN"
expect 2 "npgrow help nope" "$BIN" help nope
expect 2 "npgrow nope" "$BIN" nope
# README holds the overview (after the version line) and each command's text verbatim.
tail -n +3 "$T/main.txt" >"$T/main-body.txt"
readme_has() { # readme_has FILE: FILE's lines appear consecutively in README.md
    python3 - "$SRC/README.md" "$1" <<'PY'
import sys
readme, text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
sys.exit(0 if "```text\n" + text + "```\n" in readme else 1)
PY
}
readme_has "$T/main-body.txt" || fail "README.md does not hold 'npgrow help' verbatim"
for cmd in run me pair compare validate mu clean data infer predict; do
    expect 0 "npgrow help $cmd" "$BIN" help "$cmd"
    cp "$T/out" "$T/help-$cmd.txt"
    grep -q "^usage: npgrow $cmd" "$T/help-$cmd.txt" || fail "help $cmd: no usage line"
    for flag in --help -h; do
        expect 0 "npgrow $cmd $flag" "$BIN" "$cmd" "$flag"
        cmp -s "$T/out" "$T/help-$cmd.txt" || fail "npgrow $cmd $flag differs from npgrow help $cmd"
    done
    readme_has "$T/help-$cmd.txt" || fail "README.md does not hold 'npgrow help $cmd' verbatim"
    # every option the command's source parses is documented in its help
    for opt in $(grep -o '!strcmp(a, "-[-a-z]*")' "$SRC/host/cli/cmd_$cmd.c" | grep -o '"-[-a-z]*"' |
        tr -d '"' | sort -u) $(grep -o '"--[a-z-]*="' "$SRC/host/cli/cmd_$cmd.c" | tr -d '"='); do
        grep -q -- "$opt" "$T/help-$cmd.txt" || fail "help $cmd does not list $opt"
    done
    # every option in the help has a default or says what it does without one
    # (continuation lines, indented past the option column, belong to the option above)
    nodef=$(awk '/^                     / { line = line $0; next }
                 { if (line != "") print line; line = $0 } END { print line }' "$T/help-$cmd.txt" |
        grep -E '^  (-[a-z], )?--[a-z-]+ [A-Z]' | grep -v 'default' | head -1)
    [ -n "$nodef" ] && fail "help $cmd: an option with a value but no default: $nodef"
    # unknown options: exit 2, the help on stderr, nothing on stdout
    expect 2 "npgrow $cmd --bogus" "$BIN" "$cmd" --bogus
    grep -q "^usage: npgrow $cmd" "$T/err" || fail "$cmd --bogus: no usage on stderr"
    [ -s "$T/out" ] && fail "$cmd --bogus wrote to stdout"
done

# ---- exit 2: what was asked cannot be done, found before any work -----------------------------
cat >"$T/c.yaml" <<YAML
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 3.5], [4, 3.5]]}
initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}
run: {particles: 2000, t_end: 4, output_every: 1, seed: 7}
YAML
if "$BIN" run "$T/c.yaml" --backend cuda --quiet -o "$T/gpu" >/dev/null 2>&1; then
    echo "note: a GPU is usable here; the no-GPU exit status is not checked"
else
    expect 2 "run --backend cuda without a GPU" "$BIN" run "$T/c.yaml" --backend cuda -o "$T/gpu2"
    grep -q "no usable GPU" "$T/err" || fail "cuda message: $(cat "$T/err")"
    [ -e "$T/gpu2" ] && fail "run --backend cuda left a directory"
    expect 2 "validate --backend cuda without a GPU" "$BIN" validate "$T/c.yaml" --backend cuda \
        -o "$T/gpu3"
fi
for cmd in run me pair validate; do
    expect 2 "$cmd -o ''" "$BIN" "$cmd" "$T/c.yaml" -o ""
done

# Two result directories to compare: a complete run and the master equation.
"$BIN" run "$T/c.yaml" --quiet -o "$T/a" || fail "run a"
"$BIN" me "$T/c.yaml" --quiet -o "$T/m" || fail "me m"
expect 0 "compare run me" "$BIN" compare "$T/a" "$T/m" -o "$T/ok.csv"
expect 2 "compare -o /proc/x" "$BIN" compare "$T/a" "$T/m" -o /proc/npgrow-x
grep -q "Z " "$T/out" && fail "compare -o /proc/x computed statistics before failing"
expect 2 "compare -o ''" "$BIN" compare "$T/a" "$T/m" -o ""
expect 2 "compare -o DIR" "$BIN" compare "$T/a" "$T/m" -o "$T"
ls "$T"/*.tmp-* >/dev/null 2>&1 && fail "compare left a temporary file"

# ---- exit 3: inconclusive, never PASS --------------------------------------------------------
expect 3 "validate --particles 1" "$BIN" validate "$T/c.yaml" --particles 1 -o "$T/v1" --quiet
grep -q "INCONCLUSIVE" "$T/out" || fail "validate --particles 1 does not say INCONCLUSIVE"
grep -q "PASS" "$T/out" && fail "validate --particles 1 says PASS"
expect 3 "compare of a 1-particle run" "$BIN" compare "$T/v1/run" "$T/v1/me" -o "$T/c1.csv"
grep -q "^INCONCLUSIVE" "$T/out" || fail "compare: no INCONCLUSIVE line"
# the pass column is empty where nothing was tested
awk -F, 'NR > 1 && $NF != "" { bad = 1 } END { exit bad }' "$T/c1.csv" ||
    fail "compare.csv marks an untested time as pass/fail"
# no common output time at all
mkdir -p "$T/shift" && cp "$T/m/run.yaml" "$T/shift/"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { $1 = $1 + 0.5; print }' "$T/m/moments.csv" >"$T/shift/moments.csv"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { $1 = $1 + 0.5; print }' "$T/m/histogram.csv" >"$T/shift/histogram.csv"
expect 3 "compare with no common time" "$BIN" compare "$T/a" "$T/shift" -o "$T/c2.csv"

# ---- interrupted / partial -------------------------------------------------------------------
# An interrupted run: status interrupted, the output rows up to t = 2.
mkdir -p "$T/int"
sed -e 's/^status: complete/status: interrupted/' -e 's/^t_reached: .*/t_reached: 2/' \
    "$T/a/run.yaml" >"$T/int/run.yaml"
awk -F, 'NR == 1 || $1 <= 2' "$T/a/moments.csv" >"$T/int/moments.csv"
awk -F, 'NR == 1 || $1 <= 2' "$T/a/histogram.csv" >"$T/int/histogram.csv"
grep -q '^status: interrupted' "$T/int/run.yaml" || fail "fixture: status not set"
expect 1 "compare interrupted against complete" "$BIN" compare "$T/int" "$T/m" -o "$T/p.csv"
grep -q "warning: partial comparison" "$T/out" || fail "no partial warning: $(cat "$T/out")"
grep -q "interrupted" "$T/out" || fail "the warning does not say interrupted"
expect 1 "compare complete against interrupted (B side)" "$BIN" compare "$T/m" "$T/int" -o "$T/p.csv"
expect 1 "compare interrupted, --quiet" "$BIN" compare "$T/int" "$T/m" -o "$T/p.csv" --quiet
grep -q "warning: partial comparison" "$T/err" || fail "--quiet hides the partial warning"
expect 0 "compare interrupted --partial" "$BIN" compare "$T/int" "$T/m" -o "$T/p.csv" --partial
grep -q "PASS (partial: common times only)" "$T/out" || fail "--partial does not say partial"
# a run that ends early without saying so (only its rows are missing) is partial too
mkdir -p "$T/short" && cp "$T/a/run.yaml" "$T/short/"
awk -F, 'NR == 1 || $1 <= 2' "$T/a/moments.csv" >"$T/short/moments.csv"
awk -F, 'NR == 1 || $1 <= 2' "$T/a/histogram.csv" >"$T/short/histogram.csv"
expect 1 "compare a run whose rows stop early" "$BIN" compare "$T/short" "$T/m" -o "$T/p.csv"

if [ $fails -ne 0 ]; then
    echo "cli_help: $fails failure(s)"
    exit 1
fi
echo "cli_help: all passed"
