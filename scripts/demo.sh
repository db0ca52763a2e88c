#!/usr/bin/env bash
# Fresh machine -> the demo: install packages, build, run 1e5 Pt(acac)2 particles over 180 s.
# Results land in runs/pt-acac/ (moments.csv, histogram.csv, growth_rate.csv, trajectories.csv,
# run.yaml, run.h5) and runs/pt-acac/figures/ (PNG + CSV per figure); see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target npgrow
./build/npgrow mu configs/pt-acac.yaml --n-max 2000 >/dev/null
./build/npgrow run configs/pt-acac.yaml -o runs/pt-acac --force "$@"
./build/npgrow plot runs/pt-acac -o runs/pt-acac/figures
echo "demo: results in runs/pt-acac/ (start with moments.csv and growth_rate.csv; run.h5 holds" \
  "them all; figures/ the plots, each with the CSV of what it shows)"
