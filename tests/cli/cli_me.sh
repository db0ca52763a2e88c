#!/usr/bin/env bash
# cli_me.sh NPGROW_BINARY SOURCE_DIR: `npgrow me` end to end: progress, --quiet, bad input, and
# SIGTERM/SIGINT (exit 143/130, outputs up to the last output time with `status: interrupted`,
# no .tmp-* directory left behind).
set -u
BIN=${1:?usage: cli_me.sh NPGROW_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_me.sh NPGROW_BINARY SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# Progress: the closing line on stderr (not a terminal); nothing with --quiet.
"$BIN" me "$SRC/configs/pt-acac.yaml" --t-end 3 -o "$T/p" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] || fail "me --t-end 3: exit $rc: $(tail -n 3 "$T/err")"
grep -q '^me: t = 3 / 3 s  100.0%' "$T/err" || fail "no progress line: $(cat "$T/err")"
grep -q '^status: complete' "$T/p/run.yaml" || fail "status: complete missing"
"$BIN" me "$SRC/configs/pt-acac.yaml" --t-end 3 -o "$T/q" --quiet >"$T/out" 2>"$T/err"
grep -q 'me: t = ' "$T/err" && fail "--quiet printed progress"
echo "ok: progress and --quiet"

# Bad input: exit 2 before any work.
"$BIN" me "$SRC/configs/pt-acac.yaml" --n-max 100 -o "$T/b" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "--n-max 100 (below the initial sizes): exit $rc, expected 2"
ls -a "$T" | grep -q -e "^b$" -e "\.tmp-" && fail "--n-max 100 left $(ls -a "$T")"

# A signal mid-run. The demo on the exact grid (--resolution 0) takes 15-25 s (bench/RESULTS.md;
# the default lumped grid, under a second, would be done), so a signal after 3 s lands mid-run
# (after the first outputs on an idle machine); the test checks t_reached < t_end.
stop_test() { # stop_test SIGNAL EXPECTED_STATUS
    local sig=$1 want=$2 d="$T/sig-$1"
    "$BIN" me "$SRC/configs/pt-acac.yaml" -o "$d/me" --resolution 0 --quiet >"$T/out" 2>"$T/err" &
    local pid=$!
    sleep 3
    local t0=$SECONDS
    kill -s "$sig" $pid
    wait $pid
    local rc=$? took=$((SECONDS - t0))
    [ $rc -eq "$want" ] || fail "SIG$sig: exit $rc, expected $want: $(tail -n 3 "$T/err")"
    [ $took -le 5 ] || fail "SIG$sig: took $took s to stop"
    grep -q '^status: interrupted' "$d/me/run.yaml" 2>/dev/null || fail "SIG$sig: no status: interrupted"
    local tr
    tr=$(awk '/^t_reached:/ {print $2}' "$d/me/run.yaml" 2>/dev/null)
    awk -v t="${tr:-x}" 'BEGIN { exit !(t + 0 == t && t < 180) }' ||
        fail "SIG$sig: t_reached '$tr' is not before t_end 180"
    # moments.csv holds t = 0 .. t_reached, one row per output time
    local last
    last=$(tail -n 1 "$d/me/moments.csv" | cut -d, -f1)
    [ "$last" = "$tr" ] || fail "SIG$sig: last moments row t = $last, t_reached = $tr"
    ls -a "$d" | grep -q '\.tmp-' && fail "SIG$sig: .tmp-* left behind: $(ls -a "$d")"
    echo "ok: SIG$sig -> exit $rc after ${took} s, t_reached $tr"
}
stop_test TERM 143
stop_test INT 130

if [ $fails -ne 0 ]; then
    echo "cli_me: $fails failure(s)"
    exit 1
fi
echo "cli_me: all passed"
