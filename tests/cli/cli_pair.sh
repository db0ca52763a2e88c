#!/usr/bin/env bash
# cli_pair.sh NPGROW SOURCE_DIR: `npgrow pair` end to end. configs/pt-acac-pair.yaml reproduces
# the study's published curve (model.md 3.5: A = 1.179 / 1.088 / 1.026 at 60 / 96 / 180 s of the
# movie, run times 52 / 88 / 172; allowed: half a unit of the third decimal + 0.1 %, the
# unit tests' bound); pair.csv has its header and one row per output time; run.yaml says
# producer: pair, status: complete. The result directory follows the rules of `run` and `me`
# (default runs/<stem>-pair, no overwrite without --force, nothing left on a refusal); a config
# without pair: is refused (exit 2); SIGINT leaves status: interrupted and exit 130; `run` and
# `me` refuse the spatial mode (exit 2) and leave nothing behind.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
cfg=$src/configs/pt-acac-pair.yaml

"$bin" pair "$cfg" -o "$tmp/p" --quiet 2>"$tmp/err" || fail "pair exit $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "--quiet wrote to stderr: $(cat "$tmp/err")"
[ "$(head -1 "$tmp/p/pair.csv")" = "t,kf,A,g_contact" ] || fail "pair.csv header: $(head -1 "$tmp/p/pair.csv")"
rows=$(($(wc -l <"$tmp/p/pair.csv") - 1))
[ "$rows" -eq 173 ] || fail "pair.csv: $rows rows, want 173 (t = 0, 1, ..., 172)"
grep -q '^producer: pair$' "$tmp/p/run.yaml" || fail "run.yaml: no producer: pair"
grep -q '^status: complete$' "$tmp/p/run.yaml" || fail "run.yaml: status not complete"
grep -q '^# npgrow' "$tmp/p/run.yaml" || fail "run.yaml does not start with # npgrow"
grep -q '^    quadrature: shifted' "$tmp/p/run.yaml" || fail "run.yaml: the config's quadrature missing"
python3 - "$tmp/p/pair.csv" <<'PY' || fail "A(t) is not the published curve"
import csv, sys
rows = {float(r["t"]): r for r in csv.DictReader(open(sys.argv[1]))}
ok = True
for t, want in ((52, 1.179), (88, 1.088), (172, 1.026)):
    A = float(rows[t]["A"])
    tol = 0.0005 + 1e-3 * want
    print(f"  A({t + 8:.0f} s) = {A:.5f}, published {want} (allowed +-{tol:.4f})")
    ok &= abs(A - want) <= tol
kf = [(float(r["kf"]), t) for t, r in rows.items()]
peak, tp = max(kf)
print(f"  k_f peak {peak:.4g} /s at {tp + 8:.0f} s")
ok &= abs(tp + 8 - 88) <= 3 and float(rows[0]["A"]) == 1.0 and float(rows[0]["kf"]) == 0.0
sys.exit(0 if ok else 1)
PY

# the directory rules: no overwrite without --force; --force replaces it
"$bin" pair "$cfg" -o "$tmp/p" --quiet 2>"$tmp/err"
[ $? -eq 2 ] || fail "pair into an existing result without --force: not exit 2"
"$bin" pair "$cfg" -o "$tmp/p" --quiet --force || fail "pair --force exit $?"
# default: runs/<config stem>-pair under the working directory
(cd "$tmp" && "$bin" pair "$cfg" --quiet) || fail "pair with the default directory exit $?"
[ -s "$tmp/runs/pt-acac-pair-pair/pair.csv" ] || fail "no runs/pt-acac-pair-pair/pair.csv"

# a config without pair: (and one whose coalescence is not brownian): exit 2, nothing written
cat >"$tmp/n.yaml" <<'YAML'
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 3.5]]}
initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}
run: {particles: 100, t_end: 4, output_every: 1}
YAML
"$bin" pair "$tmp/n.yaml" -o "$tmp/n" 2>"$tmp/err"
[ $? -eq 2 ] || fail "pair without pair: not exit 2"
grep -q 'pair: (missing)' "$tmp/err" || fail "no missing-section message: $(cat "$tmp/err")"
[ -e "$tmp/n" ] && fail "a refused pair left $tmp/n"
cp "$tmp/n.yaml" "$tmp/w.yaml"
cat >>"$tmp/w.yaml" <<'YAML'
coalescence: {mode: well-mixed, volume_nm3: 1e9, kernel: constant, k_const_nm3_per_s: 1}
pair: {sigma: {kind: frozen, nm: 2}}
YAML
"$bin" pair "$tmp/w.yaml" -o "$tmp/w" 2>"$tmp/err"
[ $? -eq 2 ] || fail "pair with well-mixed coalescence: not exit 2"
grep -q 'needs coalescence: {mode: brownian' "$tmp/err" || fail "message: $(cat "$tmp/err")"

# me and validate refuse the spatial mode (the master equation is well-mixed), leaving nothing
for cmd in me validate; do # (run simulates the spatial mode: cli_configs.sh)
    "$bin" $cmd "$cfg" -o "$tmp/$cmd" --quiet 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] || fail "$cmd of a brownian config: exit $rc, want 2: $(tail -1 "$tmp/err")"
    grep -q 'brownian' "$tmp/err" || fail "$cmd: message does not name the mode: $(cat "$tmp/err")"
    [ -e "$tmp/$cmd" ] && fail "$cmd left $tmp/$cmd behind"
done

# SIGINT: a fine grid that takes tens of seconds, stopped after 2 s
sed -e 's/^  cells: 4000 .*/  cells: 400000/' "$cfg" >"$tmp/slow.yaml"
grep -q 'cells: 400000' "$tmp/slow.yaml" || fail "fixture: cells not set"
"$bin" pair "$tmp/slow.yaml" -o "$tmp/s" --quiet 2>"$tmp/err" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, want 130: $(cat "$tmp/err")"
grep -q '^status: interrupted' "$tmp/s/run.yaml" 2>/dev/null || fail "SIGINT: no status: interrupted"
[ "$(head -1 "$tmp/s/pair.csv" 2>/dev/null)" = "t,kf,A,g_contact" ] || fail "SIGINT: no pair.csv"

if [ $fails -ne 0 ]; then
    echo "cli_pair: $fails failure(s)"
    exit 1
fi
echo "cli_pair: all passed"
