#!/usr/bin/env bash
# cli_bd_pair.sh NPGROW SOURCE_DIR: `npgrow run` (Brownian dynamics) against `npgrow pair` (its
# pair-correlation equation) through `npgrow compare`, on one config: 8000 Pt particles of one
# size (n = 200, R = 0.91 nm; no monomer exchange, so sizes change only by merges) at 1e-4 nm^-3,
# no pair closer than r_c = 8 nm at t = 0, the study's shell (nu = 0.098 nm, l = 2.85 nm,
# kappa_c = 11.6 /s, Fermi propensity: P = 0.9999 here and 0.9993 for a merged particle with a
# single one, so merges barely change the rates), D from the study's diffusion keys with its time
# factor, 10 s. The pair side uses `pair.kinetics: box` (dA/dt = -(N(0)/V)/2 k_f A^2, one particle
# lost per merge) and writes moments.csv (t, particles = A, coalescences, kf) with `producer:
# pair`. compare (one-sample: the pair equation is the reference) tests A per output time
# (Z_count) and the merges of each 1-s interval against kf (Z_kf, exact Poisson tails), |z| <= 5:
#   - the same parameters pass (exit 0);
#   - the pair equation with D 2x too large (k_f +80 %: diffusion-limited here) fails (exit 1),
#     the study's kinetics (kinetics: study, the density absorbed into kappa_c) is refused as
#     the reference of a particle run (exit 2);
#   - two pair solutions of the same config compare deterministically (exit 0), with the
#     perturbed one they fail (exit 1);
#   - a pair result without its coalescences column is bad input (exit 2).
# ~10-20 s on 2 cores (the BD run).
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
write_cfg() { # write_cfg FILE D_REF KINETICS
    cat >"$1" <<YAML
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 1.0], [10, 1.0]], monomer_exchange: false}
initial: {kind: monodisperse, n: 200}
run: {particles: 8000, t_end: 10, output_every: 1, seed: 3}
output: {hdf5: false}
coalescence:
  mode: brownian
  particle_density_nm3: 1.0e-4
  diffusion: {d_ref_nm2_per_s: $2, r_ref_nm: 3.93}
  time_factor: {b_per_time: 0.0703, c: 0.7336}
  ligand_nm: 2.84967169163257
  propensity: {kind: fermi, gamma_per_nm: 7.60142298460863, sigma_c_nm: 3.007832240727688}
  kappa_c_per_s: 11.6229739205327
  shell: gaussian
  shell_width_nm: 0.09799488661999976
  initial_min_distance_nm: 8
pair:
  sigma: {kind: frozen, nm: 1.82118}  # 2 R, R = 0.155672 * 200^(1/3) nm
  kinetics: $3
YAML
}
write_cfg "$tmp/bd.yaml" 0.658 box
write_cfg "$tmp/fast.yaml" 1.316 box
write_cfg "$tmp/study.yaml" 0.658 study

"$bin" run "$tmp/bd.yaml" -o "$tmp/run" --quiet --threads 1 || fail "run exit $?"
for c in bd fast study; do
    "$bin" pair "$tmp/$c.yaml" -o "$tmp/p-$c" --quiet || fail "pair $c exit $?"
done
[ "$(head -1 "$tmp/p-bd/moments.csv")" = "t,particles,alive_fraction,coalescences,kf,kf_instant" ] ||
    fail "pair moments.csv header: $(head -1 "$tmp/p-bd/moments.csv")"
[ -s "$tmp/p-bd/pair.csv" ] || fail "pair.csv missing beside moments.csv"
grep -q '^kinetics: box' "$tmp/p-bd/run.yaml" || fail "run.yaml: no kinetics: box"

"$bin" compare "$tmp/run" "$tmp/p-bd" --z-max 5 -o "$tmp/c.csv" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || fail "BD against its pair equation: exit $rc, want 0"
grep -q 'one-sample' "$tmp/out" || fail "not a one-sample comparison"
python3 - "$tmp/c.csv" <<'PY' || fail "compare.csv: no tested Z_kf or Z_count"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
zk = [float(r["Z_kf"]) for r in rows if r.get("Z_kf")]
zc = [float(r["Z_count"]) for r in rows if r.get("Z_count")]
print(f"  {len(zk)} Z_kf (max |z| {max(map(abs, zk)):.2f}), {len(zc)} Z_count (max |z| {max(map(abs, zc)):.2f})")
sys.exit(0 if len(zk) >= 8 and len(zc) == len(rows) else 1)
PY

"$bin" compare "$tmp/run" "$tmp/p-fast" --z-max 5 -o "$tmp/c-fast.csv" >"$tmp/out" 2>&1
rc=$?
tail -2 "$tmp/out"
[ $rc -eq 1 ] || fail "BD against the pair equation of fast.yaml: exit $rc, want 1 (fail)"
"$bin" compare "$tmp/run" "$tmp/p-study" -o "$tmp/c-study.csv" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "BD against a kinetics: study pair result: exit $rc, want 2 (refused)"
grep -q "kinetics: study" "$tmp/out" || fail "refusal message: $(cat "$tmp/out")"

# two pair solutions: deterministic, relative differences of A and kf
"$bin" compare "$tmp/p-bd" "$tmp/p-bd" -o "$tmp/cc.csv" >"$tmp/out" 2>&1 ||
    fail "pair against itself: exit $?: $(tail -1 "$tmp/out")"
"$bin" compare "$tmp/p-bd" "$tmp/p-fast" -o "$tmp/cc.csv" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "pair against the perturbed pair: exit $rc, want 1"

# a pair result whose moments.csv lost its coalescences column: bad input
cp -r "$tmp/p-bd" "$tmp/p-bad"
cut -d, -f1-3 "$tmp/p-bd/moments.csv" >"$tmp/p-bad/moments.csv"
"$bin" compare "$tmp/run" "$tmp/p-bad" -o "$tmp/cb.csv" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "pair result without coalescences: exit $rc, want 2"
grep -q "missing column 'coalescences'" "$tmp/out" || fail "message: $(cat "$tmp/out")"

if [ $fails -ne 0 ]; then
    echo "cli_bd_pair: $fails failure(s)"
    exit 1
fi
echo "cli_bd_pair: all passed"
