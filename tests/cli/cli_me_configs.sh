#!/usr/bin/env bash
# cli_me_configs.sh NPGROW_BINARY SOURCE_DIR: every shipped config (configs/*.yaml) runs
# `npgrow me` in full: exit 0, status: complete, t_reached = t_end, one moments row per output
# time, particles conserved to 1e-10 and (closed/precursor) monomers to 1e-12. Prints the wall
# time of each (bench/RESULTS.md lists them); the longest, au.yaml, takes about a minute.
# One documented exception: a coalescence config whose sizes exceed the dense Smoluchowski
# convolution's n_max (5000, README `me`) must be refused up front (exit 2, that message), not
# half-run: pt-acac-coalescence-wm.yaml (its lognormal start reaches n ~ 33000). And spatial
# coalescence (mode: brownian, pt-acac-pair.yaml) is refused (exit 2, pointing to `npgrow
# pair`): the master equation is well-mixed.
set -u
BIN=${1:?usage: cli_me_configs.sh NPGROW_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_me_configs.sh NPGROW_BINARY SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
key() { awk -v k="$1:" '$1 == k {print $2; exit}' "$2"; }

n=0
for cfg in "$SRC"/configs/*.yaml; do
    name=$(basename "$cfg" .yaml)
    out="$T/$name"
    t0=$(date +%s.%N)
    "$BIN" me "$cfg" -o "$out" --quiet >"$T/log" 2>&1
    rc=$?
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    n=$((n + 1))
    if [ $rc -eq 2 ] && grep -q '^ *mode: brownian' "$cfg" && grep -q 'npgrow pair' "$T/log"; then
        echo "spatial: $name: refused before any work (exit 2): $(tail -n 1 "$T/log")"
        [ -e "$out" ] && fail "$name: refused, but left $out behind"
        continue
    fi
    if [ $rc -eq 2 ] && grep -q '^coalescence:' "$cfg" &&
        grep -q 'the limit of the dense Smoluchowski convolution' "$T/log"; then
        echo "limit: $name: refused before any work (exit 2): $(tail -n 1 "$T/log")"
        [ -e "$out" ] && fail "$name: refused, but left $out behind"
        continue
    fi
    if [ $rc -ne 0 ]; then
        fail "$name: exit $rc: $(tail -n 3 "$T/log")"
        continue
    fi
    y="$out/run.yaml"
    [ "$(key status "$y")" = complete ] || fail "$name: status $(key status "$y")"
    # t_end of the resolved config (indented under config:)
    tend=$(awk '$1 == "t_end:" {print $2; exit}' "$y")
    tr=$(key t_reached "$y")
    awk -v a="$tr" -v b="$tend" 'BEGIN { exit !(a == b && a > 0) }' ||
        fail "$name: t_reached $tr, t_end $tend"
    last=$(tail -n 1 "$out/moments.csv" | cut -d, -f1)
    awk -v a="$last" -v b="$tend" 'BEGIN { d = a - b; exit !(d < 1e-9 * b && d > -1e-9 * b) }' ||
        fail "$name: last moments row at t = $last, t_end $tend"
    pe=$(key particle_conservation_error "$y")
    awk -v e="$pe" 'BEGIN { exit !(e < 1e-10) }' || fail "$name: particle conservation $pe"
    me_err=$(key monomer_conservation_error "$y")
    if [ -n "$me_err" ]; then
        awk -v e="$me_err" 'BEGIN { exit !(e < 1e-12) }' || fail "$name: monomer conservation $me_err"
    fi
    echo "ok: $name: ${wall} s, n_max $(key n_max "$y"), $(key cvode_steps "$y") steps${me_err:+, monomers $me_err}"
done
[ $n -ge 8 ] || fail "only $n configs found in $SRC/configs"

if [ $fails -ne 0 ]; then
    echo "cli_me_configs: $fails failure(s)"
    exit 1
fi
echo "cli_me_configs: all $n configs passed"
