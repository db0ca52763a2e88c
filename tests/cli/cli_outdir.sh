#!/usr/bin/env bash
# cli_outdir.sh NPGROW SOURCE_DIR: result directories never destroy anything but an npgrow
# result (issue "Hardening" item 1): trailing slashes, -o . / .. / "" / $HOME / unwritable,
# --force only over npgrow's own results, one writer per directory (lock), SIGTERM and SIGINT
# inside long intervals and during initialisation (status: interrupted, 143/130, no .tmp-*
# left), stale .tmp-* reported and removed by `npgrow clean`.
#
# Safety: everything runs in a fresh sandbox with HOME pointing inside it, and the dangerous
# cases (-o .., -o $HOME) are only tried after a harmless probe shows the binary refuses "-o .".
set -u
bin=$1
src=$2
sb=$(mktemp -d)
trap 'chmod -R u+w "$sb" 2>/dev/null; rm -rf "$sb"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
export HOME=$sb/home
mkdir -p "$HOME" "$sb/a/b/work"
echo keep >"$HOME/canary"
echo keep >"$sb/a/b/canary"
cd "$sb/a/b/work" || exit 1
cfg=$src/configs/pt-acac.yaml
small=(--particles 1000 --t-end 2 --quiet)
run() { "$bin" run "$cfg" "${small[@]}" "$@" 2>"$sb/err"; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
no_leftovers() { # dir: no NAME.tmp-*, NAME.old-*, NAME.npgrow-lock beside it
    local left
    left=$(ls -d "$1".tmp-* "$1".old-* "$1".npgrow-lock 2>/dev/null)
    [ -z "$left" ] || fail "leftovers beside $1: $left"
}

# Probe: in an empty directory, "-o . --force" must be refused before anything else is tried.
mkdir -p "$sb/probe" && (cd "$sb/probe" && "$bin" run "$cfg" "${small[@]}" -o . --force 2>/dev/null)
if [ $? -ne 2 ]; then
    echo "FAIL: -o . --force not refused; skipping the destructive cases"
    exit 1
fi

# Trailing slash: the result lands in out/, nothing is lost.
run -o out/ || fail "-o out/ exit $?: $(cat "$sb/err")"
[ -f out/moments.csv ] && grep -q '^status: complete' out/run.yaml || fail "-o out/: no result"
no_leftovers out
run -o out/
[ $? -eq 2 ] || fail "rerun into out/ without --force: want exit 2"
run -o out/// --force || fail "--force over npgrow's own result: exit $?"
[ -f out/moments.csv ] || fail "-o out/// --force lost the result"
no_leftovers out

# Never ., .., "", $HOME, /, a directory with someone else's files.
echo mine >notes.txt
for target in . .. ./ "$HOME" / ""; do
    run -o "$target" --force
    rc=$?
    [ $rc -eq 2 ] || fail "-o '$target' --force: exit $rc, want 2"
done
[ -f notes.txt ] && [ -f out/moments.csv ] || fail "files in the working directory were removed"
[ -f "$sb/a/b/canary" ] || fail "the parent directory was emptied"
[ -f "$HOME/canary" ] || fail "HOME was emptied"
mkdir -p theirs && echo data >theirs/a.txt
run -o theirs --force
[ $? -eq 2 ] || fail "--force over a directory with other files: want exit 2"
[ -f theirs/a.txt ] || fail "a foreign file was removed"
echo note >out/notes.txt
run -o out --force
[ $? -eq 2 ] || fail "--force over a result with a foreign file: want exit 2"
[ -f out/notes.txt ] || fail "a foreign file inside a result was removed"
rm out/notes.txt
grep -q "did not write" "$sb/err" || fail "message does not say why: $(cat "$sb/err")"
run -o /proc/npgrow-test/x
[ $? -eq 2 ] || fail "unwritable target: want exit 2"
run -o "$sb/a/b/work/out/moments.csv/x"
[ $? -eq 2 ] || fail "target under a file: want exit 2"

# Review findings: a user's NAME.lock-like file, links, subdirectories of a result, validate.
echo precious >yarn.lock
run -o yarn || fail "-o yarn: exit $?"
[ "$(cat yarn.lock)" = precious ] || fail "yarn.lock was touched"
echo notes >notes2.txt && ln -s notes2.txt lnk.npgrow-lock
run -o lnk
[ $? -eq 2 ] || fail "a symlinked lock: want exit 2"
[ "$(cat notes2.txt)" = notes ] || fail "the lock's link target was written"
mkdir -p real && ln -s real linked
run -o linked --force
[ $? -eq 2 ] || fail "a symlink as the target: want exit 2"
run -o "~/x"
[ $? -eq 2 ] || fail "a leading ~: want exit 2"
run -o sub || fail "-o sub: exit $?"
mkdir -p sub/figures && echo x >sub/figures/edited.txt
run -o sub --force
[ $? -eq 2 ] || fail "--force over figures/ with a foreign file: want exit 2"
[ -f sub/figures/edited.txt ] || fail "a file in figures/ was removed"
rm sub/figures/edited.txt && echo svg >sub/figures/moments.svg
run -o sub --force || fail "--force over a result with its figures: exit $?"
"$bin" validate "$cfg" --particles 200 --t-end 2 --quiet -o . >/dev/null 2>&1
[ $? -eq 2 ] || fail "validate -o .: want exit 2"
mkdir -p vdir && echo mine >vdir/compare.csv
"$bin" validate "$cfg" --particles 200 --t-end 2 --quiet -o vdir >/dev/null 2>&1
[ $? -eq 2 ] || fail "validate into a directory with a user's compare.csv: want exit 2"
[ "$(cat vdir/compare.csv)" = mine ] || fail "validate overwrote a user's compare.csv"

# One writer per directory: a second run into the same directory fails at once (exit 2).
long=(--particles 300000 --quiet)
"$bin" run "$cfg" "${long[@]}" -o busy 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -e busy.npgrow-lock ] && break; sleep 0.05; done
t0=$(now_ms)
"$bin" run "$cfg" "${small[@]}" -o busy --force 2>"$sb/err2"
rc=$?
[ $rc -eq 2 ] || fail "second writer: exit $rc, want 2"
grep -q "another npgrow process" "$sb/err2" || fail "second writer message: $(cat "$sb/err2")"
# SIGTERM: the first stops promptly, writes what exists, says interrupted, exits 143.
sleep 1
kill -TERM $pid
t0=$(now_ms)
wait $pid
rc=$?
dt=$(($(now_ms) - t0))
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, want 143"
((dt < 5000)) || fail "SIGTERM took $dt ms to stop"
grep -q '^status: interrupted' busy/run.yaml 2>/dev/null || fail "SIGTERM: no status: interrupted"
no_leftovers busy

# A stop never costs a complete result: with --force over one, the stopped run goes beside it.
run -o keepme || fail "-o keepme: exit $?"
"$bin" run "$cfg" "${long[@]}" -o keepme --force 2>"$sb/err3" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] || fail "SIGTERM over a complete result: exit $rc, want 143"
grep -q '^status: complete' keepme/run.yaml || fail "the complete result was replaced"
grep -q '^status: interrupted' keepme.interrupted/run.yaml 2>/dev/null ||
    fail "the stopped run is not in keepme.interrupted"
grep -q "keepme.interrupted" "$sb/err3" || fail "not told where the stopped run went"
no_leftovers keepme

# A stop inside one long interval (output_every = t_end = 180 s: one interval).
sed 's/^\( *output_every:\).*/\1 180/' "$cfg" >"$sb/one-interval.yaml"
"$bin" run "$sb/one-interval.yaml" --particles 200000 --quiet -o oneint 2>/dev/null &
pid=$!
sleep 1.5
kill -INT $pid
t0=$(now_ms)
wait $pid
rc=$?
dt=$(($(now_ms) - t0))
[ $rc -eq 130 ] || fail "SIGINT inside an interval: exit $rc, want 130"
((dt < 3000)) || fail "SIGINT inside an interval took $dt ms"
grep -q '^status: interrupted' oneint/run.yaml 2>/dev/null || fail "no status: interrupted"
grep -q '^t_reached: 0 ' oneint/run.yaml || fail "t_reached is not the last time written (0)"
[ "$(wc -l <oneint/moments.csv)" -eq 2 ] || fail "moments.csv should hold t = 0 only"
no_leftovers oneint

# A stop while initial sizes are drawn (2e8 particles, 1.6 GB): stops, exits 143.
"$bin" run "$cfg" --particles 200000000 --quiet -o init 2>/dev/null &
pid=$!
sleep 0.3
kill -TERM $pid
t0=$(now_ms)
wait $pid
rc=$?
dt=$(($(now_ms) - t0))
[ $rc -eq 143 ] || fail "SIGTERM during initialisation: exit $rc, want 143"
((dt < 5000)) || fail "SIGTERM during initialisation took $dt ms"
grep -q '^status: interrupted' init/run.yaml 2>/dev/null || fail "init: no status: interrupted"
no_leftovers init

# Leftovers of a killed process are reported and removed by `npgrow clean`, nothing else.
dead=4194000
while kill -0 $dead 2>/dev/null; do dead=$((dead - 1)); done
mkdir -p "res.tmp-$dead" "keep.tmp-$dead" "user.tmp-$dead" "res.old-20240101"
echo "t" >"res.tmp-$dead/moments.csv"
touch "res.tmp-$dead/.npgrow-tmp" "keep.tmp-$dead/.npgrow-tmp"
echo "mine" >"keep.tmp-$dead/thesis.tex"
echo "t" >"user.tmp-$dead/moments.csv"   # no npgrow marker: a user's directory
echo "# npgrow particle run" >"res.old-20240101/run.yaml" # a user's dated backup
run -o res
grep -q "res.tmp-$dead.*npgrow clean" "$sb/err" || fail "stale res.tmp-$dead not reported"
"$bin" clean . >"$sb/clean.out" 2>&1 || fail "npgrow clean: exit $?"
[ ! -e "res.tmp-$dead" ] || fail "clean left res.tmp-$dead"
[ -f "keep.tmp-$dead/thesis.tex" ] || fail "clean removed a directory with foreign files"
[ -f "user.tmp-$dead/moments.csv" ] || fail "clean removed a directory without npgrow's marker"
[ -f "res.old-20240101/run.yaml" ] || fail "clean removed a user's backup"
[ -f res/moments.csv ] && [ -f notes.txt ] || fail "clean removed a result or a file"
"$bin" clean "$sb/nonexistent" >/dev/null 2>&1
[ $? -eq 2 ] || fail "clean of a missing directory: want exit 2"

echo "cli_outdir: $fails failure(s)"
[ $fails -eq 0 ]
