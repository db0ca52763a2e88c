#!/usr/bin/env bash
# cli_coalescence.sh NPGROW SOURCE_DIR: `npgrow run` with well-mixed coalescence and a source:
# the coalescence columns and files, their identities (Group A + B = all, in moments.csv and
# histogram.csv; merges in run.yaml = the last `coalescences` = the rows of coalescence.csv
# below the cap), byte-identical outputs for 1 and 2 threads with monomer exchange on, the
# coalescence.csv cap, and coalescence alone (supply.monomer_exchange: false: no monomer events,
# monomers constant).
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

# Pt(acac)2 (configs/pt-acac.yaml's system and start) at S = 3.5, Brownian kernel with the
# Fermi propensity (model.md 3.2), a density at which ~20 % of the particles merge in 4 s, and
# a Poisson source of smaller particles on [0.5, 3).
cat >"$tmp/c.yaml" <<'EOF'
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 3.5], [10, 3.5]]}
initial: {kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}
run: {particles: 2000, t_end: 4, output_every: 1, seed: 3}
output: {histogram_bin_width: 50, trajectories: 20}
coalescence:
  mode: well-mixed
  particle_density_nm3: 6.0e-3
  kernel: brownian
  diffusion: {d_ref_nm2_per_s: 0.65, r_ref_nm: 1.0}
  ligand_nm: 2.87
  propensity: {kind: fermi, gamma_per_nm: 7.64, sigma_c_nm: 3.0078}
source: {rate_per_time: 50, t_start: 0.5, t_stop: 3.0, size: {kind: lognormal, mean_r_nm: 0.9, sd_r_nm: 0.1}}
EOF

"$bin" run "$tmp/c.yaml" --quiet -o "$tmp/a" --threads 1 || fail "run a exited $?"
"$bin" run "$tmp/c.yaml" --quiet -o "$tmp/b" --threads 2 || fail "run b exited $?"
for f in moments.csv histogram.csv coalescence.csv growth_rate.csv trajectories.csv; do
  [ -s "$tmp/a/$f" ] || fail "missing $f"
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs between 1 and 2 threads"
done

want="t,particles,alive_fraction,mean_n,var_n,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,mean_r_nm,var_r_nm2,supersaturation,ln_s,mu_max_kT,phase,n_star,n_star2,free_monomers,precursor,events,particles_a,particles_b,mean_n_a,var_n_a,mean_n_b,var_n_b,coalescences,kf"
[ "$(head -1 "$tmp/a/moments.csv")" = "$want" ] || fail "moments.csv header: $(head -1 "$tmp/a/moments.csv")"
[ "$(head -1 "$tmp/a/histogram.csv")" = "t,n_lo,n_hi,count,p,count_a,count_b" ] ||
  fail "histogram.csv header"
[ "$(head -1 "$tmp/a/coalescence.csv")" = "t,id_kept,id_gone,n_kept,n_gone,r_kept_nm,r_gone_nm" ] ||
  fail "coalescence.csv header"

# moments.csv: particles = particles_a + particles_b; coalescences non-decreasing.
bad=$(awk -F, 'NR > 1 { if ($2 != $27 + $28 || $33 < prev) print NR; prev = $33 }' "$tmp/a/moments.csv")
[ -z "$bad" ] || fail "moments.csv rows with A + B != particles or merges decreasing: $bad"
# histogram.csv: count = count_a + count_b in every row.
bad=$(awk -F, 'NR > 1 && $4 != $6 + $7 { print NR }' "$tmp/a/histogram.csv")
[ -z "$bad" ] || fail "histogram.csv rows with count_a + count_b != count: $bad"
# coalescence.csv: the lower id survives, sizes >= 2, r = sigma_s n^(1/3), time order.
bad=$(awk -F, 'NR > 1 {
  if ($2 >= $3 || $4 < 2 || $5 < 2 || $1 < prev) print NR
  r = 0.155672 * exp(log($4) / 3); if ((r - $6) ^ 2 > 1e-10) print NR " r"
  prev = $1 }' "$tmp/a/coalescence.csv")
[ -z "$bad" ] || fail "coalescence.csv rows: $bad"
merges=$(sed -n 's/^merges: \([0-9]*\).*/\1/p' "$tmp/a/run.yaml")
last=$(tail -1 "$tmp/a/moments.csv" | cut -d, -f33)
rows=$(($(wc -l <"$tmp/a/coalescence.csv") - 1))
[ -n "$merges" ] && [ "$merges" -gt 100 ] || fail "run.yaml merges: '$merges'"
[ "$merges" = "$last" ] || fail "run.yaml merges $merges, moments.csv coalescences $last"
[ "$merges" = "$rows" ] || fail "run.yaml merges $merges, coalescence.csv rows $rows"
grep -q '^entries: [1-9]' "$tmp/a/run.yaml" || fail "run.yaml entries"
# particles at the end = 2000 + entries - merges
entries=$(sed -n 's/^entries: \([0-9]*\).*/\1/p' "$tmp/a/run.yaml")
np=$(tail -1 "$tmp/a/moments.csv" | cut -d, -f2)
[ "$np" = "$((2000 + entries - merges))" ] || fail "particles $np != 2000 + $entries - $merges"
echo "ok: $merges merges, $entries entries, identical for 1 and 2 threads"

# The cap: output.coalescence_events: 25 keeps 25 rows (in time order) of the same merges.
sed 's/trajectories: 20}/trajectories: 20, coalescence_events: 25}/' "$tmp/c.yaml" >"$tmp/cap.yaml"
"$bin" run "$tmp/cap.yaml" --quiet -o "$tmp/cap" || fail "cap run exited $?"
[ "$(($(wc -l <"$tmp/cap/coalescence.csv") - 1))" = 25 ] || fail "capped coalescence.csv rows"
grep -q "^merges: $merges" "$tmp/cap/run.yaml" || fail "capped run.yaml merges"
cmp -s "$tmp/a/moments.csv" "$tmp/cap/moments.csv" || fail "the cap changed moments.csv"
awk -F, 'NR > 2 && $1 < prev { exit 1 } { prev = $1 }' "$tmp/cap/coalescence.csv" ||
  fail "capped coalescence.csv not in time order"
sort -t, -k1,1 "$tmp/a/coalescence.csv" >"$tmp/all"
tail -n +2 "$tmp/cap/coalescence.csv" | while read -r line; do
  grep -qxF "$line" "$tmp/all" || { echo "FAIL: capped row not a merge: $line"; exit 1; }
done || fails=$((fails + 1))

# Coalescence alone: no monomer events; sum n (mean_n * particles) constant to rounding.
sed -e 's/\[10, 3.5\]\]}/[10, 3.5]], monomer_exchange: false}/' \
  -e '/^source:/d' "$tmp/c.yaml" >"$tmp/alone.yaml"
"$bin" run "$tmp/alone.yaml" --quiet -o "$tmp/alone" || fail "coalescence-alone run exited $?"
bad=$(awk -F, 'NR == 2 { m0 = $2 * $4 } NR > 1 {
  if ($26 != 0) print NR " events"
  d = $2 * $4 - m0; if (d * d > 1e-6 * m0 * m0 * 1e-6) print NR " mass " $2 * $4 " vs " m0 }' \
  "$tmp/alone/moments.csv")
[ -z "$bad" ] || fail "coalescence alone: $bad"
grep -q '^merges: [1-9]' "$tmp/alone/run.yaml" || fail "coalescence alone: no merges"

# kf (model.md 3.4: dA/dt = -kf A^2, A = N/N0) of the constant kernel: Smoluchowski's
# dN/dt = -K N^2 / (2V) gives kf = K N0 / (2V) = 0.5 /s here (K = 1 nm^3/s, N0 = 2e4,
# V = 2e4 nm^3), exactly over any interval for the estimator merges N0 / (N_prev N_now dt).
# The Marcus-Lushnikov rate K m (m - 1) / (2V) differs by 1/m < 1e-4; each interval's merge
# count is within a Poisson-like spread: |kf / 0.5 - 1| < 5 / sqrt(merges in the interval).
cat >"$tmp/k.yaml" <<'EOF'
system: {preset: pt-acac}
supply: {mode: schedule, supersaturation: [[0, 1.0], [10, 1.0]], monomer_exchange: false}
initial: {kind: monodisperse, n: 100}
run: {particles: 20000, t_end: 4, output_every: 1, seed: 12}
output: {trajectories: 10}
coalescence: {mode: well-mixed, kernel: constant, k_const_nm3_per_s: 1.0, volume_nm3: 20000}
EOF
"$bin" run "$tmp/k.yaml" --quiet -o "$tmp/k" || fail "constant-kernel run exited $?"
bad=$(awk -F, 'NR > 2 { d = $33 - prev; z = ($34 / 0.5 - 1) * sqrt(d)
  printf "kf %s at t = %s (%d merges, z = %.2f)\n", $34, $1, d, z > "/dev/stderr"
  if (z * z >= 25 || d < 1000) print NR } NR > 1 { prev = $33 }' "$tmp/k/moments.csv")
[ -z "$bad" ] || fail "kf of the constant kernel: rows $bad"

echo "cli_coalescence: $fails failure(s)"
[ $fails -eq 0 ]
