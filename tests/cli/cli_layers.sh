#!/usr/bin/env bash
# cli_layers.sh: scripts/check-layers.sh passes on the tree and fails on each kind of violation
# (a lower room including a higher one, siblings, physics knowing the host, kernels reaching into
# host/, a loose file in host/, an unassigned public header).
set -euo pipefail
src=${2:?usage: cli_layers.sh NPGROW_BINARY SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
    rm -rf "$tmp/t"
    mkdir -p "$tmp/t"
    cp -r "$src/host" "$src/include" "$src/kernels" "$src/scripts" "$tmp/t/"
}
fresh
bash "$tmp/t/scripts/check-layers.sh" >/dev/null || { echo "FAIL: clean tree rejected"; exit 1; }

fails=0
expect_fail() { # label, then a command that breaks the copy
    local label=$1
    shift
    fresh
    "$@"
    if bash "$tmp/t/scripts/check-layers.sh" >/dev/null 2>"$tmp/err"; then
        echo "FAIL: $label was accepted"
        fails=1
    else
        echo "ok: $label rejected: $(head -1 "$tmp/err")"
    fi
}
inject() { sed -i "0,/^#include/s||#include \"$2\"\n#include|" "$tmp/t/$1"; }
expect_fail "io including engine" inject host/io/observe.c npgrow/engine.h
expect_fail "engine including meanfield (siblings)" inject host/engine/run.c npgrow/me.h
expect_fail "meanfield including cli" inject host/meanfield/me.c cli/commands.h
expect_fail "physics header including config" inject include/npgrow/step.h npgrow/config.h
expect_fail "kernel including a host header" inject kernels/backend_cuda.cu npgrow/engine.h
expect_fail "loose file in host/" touch "$tmp/t/host/stray.c"
expect_fail "unassigned public header" touch "$tmp/t/include/npgrow/newthing.h"
expect_fail "unknown room" mkdir -p "$tmp/t/host/misc"
exit $fails
