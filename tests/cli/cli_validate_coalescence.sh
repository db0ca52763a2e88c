#!/usr/bin/env bash
# cli_validate_coalescence.sh NPGROW SOURCE_DIR: `npgrow validate` of a well-mixed Brownian-kernel
# case with monomer exchange passes (run against the Smoluchowski master equation: Z and Y on the
# mean and variance of n, KS, and Z_count on the particle count), and fails when the kernel
# behind the master equation is 1.1 x the run's (power).
#
# Power: 20000 Pt particles at a density where ~3000 merge in 8 s; a kernel 10 % larger changes
# the merges by ~300, i.e. Z_count ~ 300/sqrt(3000 + ...) ~ 5 and the mean size by Z ~ 5 (measured
# 5.4 and 5.6 with this seed), well beyond |Z| <= 3; the passing case stays below 2.3.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
# normal radii (sd 0.1 nm) keep every size below the master equation's n_max of 5000 with
# coalescence; the kernel is diffusion-limited with the study's time factor and propensity
write() { # d_ref file
  cat >"$2" <<EOF2
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 3.5], [8, 3.5]]}
initial: {kind: normal, mean_r_nm: 1.0, sd_r_nm: 0.1}
run: {particles: 20000, t_end: 8, output_every: 1, seed: 11}
coalescence:
  mode: well-mixed
  particle_density_nm3: 6.0e-4
  kernel: brownian
  diffusion: {d_ref_nm2_per_s: $1, r_ref_nm: 3.93}
  time_factor: {b_per_time: 0.0703, c: 0.7336}
  ligand_nm: 2.87
  propensity: {kind: fermi, gamma_per_nm: 7.64, sigma_c_nm: 3.0078}
EOF2
}
write 0.658 "$tmp/a.yaml"
write 0.7238 "$tmp/k11.yaml" # the kernel is linear in D_ref: 1.1 x

"$bin" validate "$tmp/a.yaml" -o "$tmp/v" >"$tmp/v.out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "validate exit $rc: $(tail -3 "$tmp/v.out")"
grep -q 'coalescence: max |Z_count|' "$tmp/v.out" || fail "validate did not test the particle count"
head -1 "$tmp/v/compare.csv" | grep -q ',Z_count\(,\|$\)' || fail "compare.csv has no Z_count column"

"$bin" me "$tmp/k11.yaml" -o "$tmp/me11" --quiet || fail "me (kernel x 1.1) exit $?"
"$bin" compare "$tmp/v/run" "$tmp/me11" >"$tmp/c.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "compare against a kernel x 1.1: exit $rc, want 1 (FAIL): $(tail -2 "$tmp/c.out")"
python3 - "$tmp/c.out" <<'PY' || fail "kernel x 1.1 not detected by both Z and Z_count"
import re, sys
s = open(sys.argv[1]).read()
z = float(re.search(r"max \|Z\| ([0-9.e+]+)", s).group(1))
zc = float(re.search(r"max \|Z_count\| ([0-9.e+]+)", s).group(1))
print(f"kernel x 1.1: max |Z| {z}, max |Z_count| {zc}")
sys.exit(0 if z > 4 and zc > 4 else 1)
PY
echo "cli_validate_coalescence: $fails failure(s)"
[ $fails -eq 0 ]
