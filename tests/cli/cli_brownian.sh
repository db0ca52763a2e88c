#!/usr/bin/env bash
# cli_brownian.sh NPGROW SOURCE_DIR: `npgrow run` with spatial coalescence (mode: brownian),
# monomer exchange in a closed volume and a Poisson source: byte-identical moments.csv,
# histogram.csv and coalescence.csv for 1 and 2 threads; exact identities: Group A + B = all
# alive (moments and histogram), merges in run.yaml = the last `coalescences` = the rows of
# coalescence.csv, particles = initial + entries - merges (no dissolution at these sizes), and
# the closed volume's monomers (free + bound) equal run.yaml's total at every output time.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
cat >"$tmp/b.yaml" <<'EOF2'
system: {preset: pt-acac}
supply: {mode: closed, particle_density_nm3: 1.0e-3, solubility_nm3: 0.01, initial_supersaturation: 3.0}
initial: {kind: lognormal, mean_r_nm: 1.0, sd_r_nm: 0.15}
run: {particles: 500, t_end: 4, output_every: 1, seed: 5}
coalescence:
  mode: brownian
  initial_min_distance_nm: 5
  diffusion: {d_ref_nm2_per_s: 2.0, r_ref_nm: 3.0}
  ligand_nm: 1.0
  propensity: {kind: fermi, gamma_per_nm: 7.64, sigma_c_nm: 3.0}
  kappa_c_per_s: 50
  shell_width_nm: 0.1
source: {rate_per_time: 20, t_start: 0.5, t_stop: 3, size: {kind: lognormal, mean_r_nm: 0.9, sd_r_nm: 0.1}}
EOF2
"$bin" run "$tmp/b.yaml" -o "$tmp/a" --threads 1 --quiet || fail "run (1 thread) exit $?"
"$bin" run "$tmp/b.yaml" -o "$tmp/b" --threads 2 --quiet || fail "run (2 threads) exit $?"
for f in moments.csv histogram.csv coalescence.csv; do
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs between 1 and 2 threads"
done
python3 - "$tmp/a" <<'PY' || fail "identities"
import csv, sys
d = sys.argv[1]
m = list(csv.DictReader(open(f"{d}/moments.csv")))
h = list(csv.DictReader(open(f"{d}/histogram.csv")))
ev = list(csv.DictReader(open(f"{d}/coalescence.csv")))
y = {l.split(":")[0]: l.split()[1] for l in open(f"{d}/run.yaml") if not l.startswith(" ") and ":" in l and len(l.split()) > 1}
merges, entries, total = int(y["merges"]), int(y["entries"]), int(y["total_monomers"])
bad = []
if merges < 20 or entries < 20:
    bad.append(f"too few events to test: {merges} merges, {entries} entries")
if float(m[-1]["coalescences"]) != merges or len(ev) != merges:
    bad.append(f"merges {merges}, last coalescences {m[-1]['coalescences']}, rows {len(ev)}")
n0 = float(m[0]["particles"])
if float(m[-1]["particles"]) != n0 + entries - merges:
    bad.append(f"particles {m[-1]['particles']} != {n0} + {entries} - {merges}")
for r in m:
    if float(r["particles_a"]) + float(r["particles_b"]) != float(r["particles"]):
        bad.append(f"t = {r['t']}: A + B != all")
    bound = float(r["particles"]) * float(r["mean_n"])
    if abs(float(r["free_monomers"]) + bound - total) > 1e-6 * total and r is m[-1]:
        bad.append(f"t = {r['t']}: free + bound = {float(r['free_monomers']) + bound} != {total}")
for r in h:
    if float(r["count_a"]) + float(r["count_b"]) != float(r["count"]):
        bad.append(f"histogram t = {r['t']}: A + B != count")
print("\n".join(bad) if bad else f"ok: {merges} merges, {entries} entries, monomers {total}")
sys.exit(1 if bad else 0)
PY
echo "cli_brownian: $fails failure(s)"
[ $fails -eq 0 ]
