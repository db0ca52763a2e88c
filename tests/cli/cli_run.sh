#!/usr/bin/env bash
# cli_run.sh NPGROW SOURCE_DIR: `npgrow run` end to end: output files and their columns,
# refusal to overwrite, bad arguments (exit 2, nothing written), byte-identical reruns across
# thread counts, and SIGINT (status interrupted, exit 130).
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

cfg=$src/configs/pt-acac.yaml
run() { "$bin" run "$cfg" --quiet --particles 2000 --t-end 4 "$@"; }

run -o "$tmp/a" --threads 1 || fail "run exited $?"
for f in moments.csv histogram.csv growth_rate.csv trajectories.csv run.yaml; do
  [ -s "$tmp/a/$f" ] || fail "missing $f"
done
[ "$(head -1 "$tmp/a/moments.csv")" = "t,particles,alive_fraction,mean_n,var_n,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,mean_r_nm,var_r_nm2,supersaturation,ln_s,mu_max_kT,phase,n_star,n_star2,free_monomers,precursor,events" ] ||
  fail "moments.csv header"
[ "$(head -1 "$tmp/a/histogram.csv")" = "t,n_lo,n_hi,count,p" ] || fail "histogram.csv header"
[ "$(head -1 "$tmp/a/growth_rate.csv")" = "t,n_lo,n_hi,particles,mean_dn_dt,j_model" ] ||
  fail "growth_rate.csv header"
[ "$(head -1 "$tmp/a/trajectories.csv")" = "t,id,n,r_nm" ] || fail "trajectories.csv header"
# One moments row per output time (t = 0 .. 4 s every config output_every).
rows=$(($(wc -l <"$tmp/a/moments.csv") - 1))
[ "$rows" -ge 3 ] || fail "moments.csv has $rows rows"
grep -q '^status: complete' "$tmp/a/run.yaml" || fail "run.yaml status"
grep -q '^events: [1-9]' "$tmp/a/run.yaml" || fail "run.yaml events"
grep -q '^bytes_per_particle: 8' "$tmp/a/run.yaml" || fail "bytes_per_particle"

# Determinism: 2 threads and a repeat give byte-identical CSVs; another seed does not.
run -o "$tmp/b" --threads 2 || fail "run b"
for f in moments.csv histogram.csv growth_rate.csv trajectories.csv; do
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs across threads"
done
run -o "$tmp/c" --seed 77 || fail "run c"
cmp -s "$tmp/a/histogram.csv" "$tmp/c/histogram.csv" && fail "seed has no effect"
# integers in scientific notation, as the help writes them (4e9): 7.7e1 is 77
run -o "$tmp/c2" --seed 7.7e1 || fail "--seed 7.7e1"
cmp -s "$tmp/c/histogram.csv" "$tmp/c2/histogram.csv" || fail "--seed 7.7e1 is not --seed 77"

# Refuse to overwrite without --force; allow with it.
run -o "$tmp/a" 2>"$tmp/err"
[ $? -eq 2 ] || fail "overwrite without --force should exit 2"
grep -q -- "--force" "$tmp/err" || fail "overwrite message should mention --force"
run -o "$tmp/a" --force || fail "--force"

# Bad arguments: exit 2, a message naming the flag, no output directory.
check_bad() {
  local want=$1
  shift
  "$bin" run "$@" -o "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ $rc -eq 2 ] || fail "'$*' exited $rc, want 2"
  grep -q -- "$want" "$tmp/err" || fail "'$*' message lacks '$want': $(cat "$tmp/err")"
  [ -e "$tmp/bad" ] && fail "'$*' left an output directory"
  [ -s "$tmp/out" ] && fail "'$*' wrote to stdout"
}
check_bad "--particles" "$cfg" --particles 0
check_bad "--particles" "$cfg" --particles abc
check_bad "--particles" "$cfg" --particles 1.5e0
check_bad "--particles" "$cfg" --particles 1e-3
check_bad "--particles" "$cfg" --particles 5e9
check_bad "--particles" "$cfg" --particles 1e
check_bad "--seed" "$cfg" --seed -1
check_bad "--threads" "$cfg" --threads 0
check_bad "--backend" "$cfg" --backend tpu
check_bad "--t-end" "$cfg" --t-end -5
check_bad "--bogus" "$cfg" --bogus
check_bad "missing CONFIG"
check_bad "nonexistent.yaml" "$tmp/nonexistent.yaml"

# SIGINT: the run stops after the current interval, says interrupted, exits 130.
"$bin" run "$cfg" --particles 200000 -o "$tmp/int" --quiet &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGINT exit status $rc, want 130"
grep -q '^status: interrupted' "$tmp/int/run.yaml" 2>/dev/null || fail "interrupted run.yaml"

echo "cli_run: $fails failure(s)"
[ $fails -eq 0 ]
