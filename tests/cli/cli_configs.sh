#!/usr/bin/env bash
# cli_configs.sh NPGROW SOURCE_DIR: every shipped config runs in full in `run` (its own
# particles, t_end and seed) and in `mu`: exit 0, status: complete, t_reached = t_end, one
# moments row per output time, and closed/precursor runs end with the monomer total they
# started with. A config with a `pair:` section also runs in full in `npgrow pair`. (`me` of
# every config: tests/cli/cli_me_configs.sh.) Labelled "long": the
# Release stage of scripts/test.sh runs it, the sanitizer stage does not.
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
for cfg in "$src"/configs/*.yaml; do
    name=$(basename "$cfg" .yaml)
    t0=$SECONDS
    "$bin" run "$cfg" -o "$tmp/$name" --quiet 2>"$tmp/$name.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name: run exit $rc: $(tail -1 "$tmp/$name.err")"
        continue
    fi
    y=$tmp/$name/run.yaml
    grep -q '^status: complete' "$y" || fail "$name: status not complete"
    t_end=$(sed -n 's/^ *t_end: \([^ ]*\).*/\1/p' "$y" | head -1)
    t_reached=$(sed -n 's/^t_reached: \([^ ]*\).*/\1/p' "$y")
    awk -v a="$t_end" -v b="$t_reached" 'BEGIN { exit !(a == b) }' ||
        fail "$name: t_reached $t_reached != t_end $t_end"
    every=$(sed -n 's/^ *output_every: \([^ ]*\).*/\1/p' "$y" | head -1)
    rows=$(($(wc -l <"$tmp/$name/moments.csv") - 1))
    want=$(awk -v t="$t_end" -v e="$every" 'BEGIN { n = t / e; k = int(n); if (n > k + 1e-9) k++; print k + 1 }')
    [ "$rows" -eq "$want" ] || fail "$name: $rows moments rows, want $want"
    if grep -q '^total_monomers:' "$y"; then
        # free + bound + precursor at the end equals the start's total (exact integers)
        python3 - "$tmp/$name/moments.csv" "$y" <<'PY' || fail "$name: monomers not conserved"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
total = int(next(l.split()[1] for l in open(sys.argv[2]) if l.startswith("total_monomers:")))
def tot(r):
    alive = float(r["particles"]) * float(r["alive_fraction"])
    prec = 0 if r["precursor"] in ("", "nan") else float(r["precursor"])
    return float(r["free_monomers"]) + alive * float(r["mean_n"]) + prec
for r in (rows[0], rows[-1]):
    if abs(tot(r) - total) > 1e-9 * total + 1:
        print(f"t = {r['t']}: {tot(r)} != {total}")
        sys.exit(1)
PY
    fi
    "$bin" mu "$cfg" --format csv >"$tmp/$name.mu" 2>/dev/null || fail "$name: mu exit $?"
    if grep -q '^pair:' "$cfg"; then
        "$bin" pair "$cfg" -o "$tmp/$name-pair" --quiet || fail "$name: pair exit $?"
        grep -q '^status: complete' "$tmp/$name-pair/run.yaml" || fail "$name: pair not complete"
    fi
    echo "ok: $name: run in $((SECONDS - t0)) s, $rows output times"
done
echo "cli_configs: $fails failure(s)"
[ $fails -eq 0 ]
