#!/usr/bin/env bash
# cli_validate.sh NPGROW_BINARY SOURCE_DIR: `npgrow validate` end to end.
#
# Passes for pt-acac and au at 1e5 particles in each supply mode (schedule, closed, precursor)
# over a short t_end; FAILS (exit 1) when the particle run uses a perturbed model (delta + 0.05,
# S x 1.02); bad input gives exit 2. Temp configs take the system from the shipped presets.
set -u
BIN=${1:?usage: cli_validate.sh NPGROW_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_validate.sh NPGROW_BINARY SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
T_END=${NPG_VALIDATE_T_END:-8}

config() { # config SYSTEM MODE FILE
    local sys=$1 mode=$2 f=$3 init
    case $sys in
    pt-acac) init="{kind: lognormal, mean_r_nm: 1.058, sd_r_nm: 0.230}" ;;
    au) init="{kind: lognormal, mean_r_nm: 1.083, sd_r_nm: 0.29}" ;;
    esac
    {
        echo "system: {preset: $sys}"
        echo "supply:"
        case $mode in
        schedule)
            echo "  mode: schedule"
            echo "  supersaturation: [[0, 3.5], [4, 3.5], [5, 2.0], [$T_END, 2.0]]"
            ;;
        closed | precursor)
            echo "  mode: $mode"
            echo "  particle_density_nm3: 1.0e-6"
            echo "  solubility_nm3: 5.0e-4"
            echo "  initial_supersaturation: 3.0"
            if [ "$mode" = precursor ]; then
                echo "  precursor_nm3: 2.0e-3"
                echo "  k_p: 0.05"
            fi
            ;;
        esac
        echo "initial: $init"
        echo "run: {particles: 100000, t_end: $T_END, output_every: 1, seed: 7}"
    } >"$f"
}

expect() { # expect STATUS LABEL COMMAND...
    local want=$1 label=$2
    shift 2
    "$@" >"$T/out.txt" 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $label: exit $got, expected $want"
        tail -n 25 "$T/out.txt"
        fails=$((fails + 1))
    else
        echo "ok: $label (exit $got): $(grep -E '^validate|^PASS|^FAIL' "$T/out.txt" | tail -n 1)"
    fi
}

for sys in pt-acac au; do
    for mode in schedule closed precursor; do
        config $sys $mode "$T/$sys-$mode.yaml"
        expect 0 "validate $sys $mode" \
            "$BIN" validate "$T/$sys-$mode.yaml" --particles 100000 -o "$T/v-$sys-$mode" --quiet
    done
done

# Power: the particle run with a perturbed model must fail against the unperturbed ME.
expect 1 "validate pt-acac schedule, run with delta + 0.05" \
    "$BIN" validate "$T/pt-acac-schedule.yaml" -o "$T/p1" --quiet --perturb-delta 0.05
expect 1 "validate au closed, run with S x 1.02" \
    "$BIN" validate "$T/au-closed.yaml" -o "$T/p2" --quiet --perturb-s 1.02

# compare on separately produced directories: two stochastic runs (two-sample) pass; a missing
# directory and a missing column are bad input (2).
"$BIN" run "$T/pt-acac-schedule.yaml" -o "$T/r2" --seed 11 --quiet >/dev/null 2>&1
expect 0 "compare two independent runs (two-sample)" \
    "$BIN" compare "$T/v-pt-acac-schedule/run" "$T/r2" -o "$T/c2.csv"
grep -q "two-sample" "$T/out.txt" || { echo "FAIL: two-sample mode not reported"; fails=$((fails + 1)); }
expect 0 "compare me with itself" \
    "$BIN" compare "$T/v-au-closed/me" "$T/v-au-closed/me" -o "$T/c3.csv"
expect 2 "compare with a missing directory" "$BIN" compare "$T/nope" "$T/r2"
mkdir -p "$T/bad" && cp "$T/r2/run.yaml" "$T/r2/histogram.csv" "$T/bad/"
cut -d, -f1-4 "$T/r2/moments.csv" >"$T/bad/moments.csv"
expect 2 "compare with a missing column" "$BIN" compare "$T/bad" "$T/r2"
grep -q "missing column 'var_n'" "$T/out.txt" || { echo "FAIL: message does not name var_n"; fails=$((fails + 1)); }

if [ $fails -ne 0 ]; then
    echo "cli_validate: $fails failure(s)"
    exit 1
fi
echo "cli_validate: all passed"
