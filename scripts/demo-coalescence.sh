#!/usr/bin/env bash
# Fresh machine -> the coalescence demo: install packages, build, run configs/pt-acac-coalescence.yaml
# (2000 Pt particles, Brownian dynamics with the study's reaction shell, propensity and D(t),
# monomer growth under the demo's S(t)), the pair-correlation equation of the study
# (configs/pt-acac-pair.yaml), and print a report: Group A/B moments, merges per 10 s with k_f,
# A(t), and the histograms of coalescence times and of r_i + r_j at merging.
# Results land in runs/pt-acac-coalescence/ (+ figures/), runs/pt-acac-pair/; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target npgrow
./build/npgrow run configs/pt-acac-coalescence.yaml -o runs/pt-acac-coalescence --force "$@"
./build/npgrow pair configs/pt-acac-pair.yaml -o runs/pt-acac-pair --force --quiet
./build/npgrow plot runs/pt-acac-coalescence -o runs/pt-acac-coalescence/figures --fig coalescence \
  --fig moments
# Debian's python3 (scripts/setup.sh installs numpy for it), whatever else is first on PATH
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" - runs/pt-acac-coalescence runs/pt-acac-pair <<'PY'
import csv, sys
import numpy as np
run, pair = sys.argv[1], sys.argv[2]
m = list(csv.DictReader(open(f"{run}/moments.csv")))
ev = list(csv.DictReader(open(f"{run}/coalescence.csv")))
f = lambda r, k: float(r[k]) if r[k] not in ("", "nan") else float("nan")
print("\nBrownian coalescence (npgrow run): per 10 s")
print(f"{'t [s]':>6} {'N':>6} {'A=N/N0':>7} {'group B':>8} {'mean n A':>9} {'mean n B':>9}"
      f" {'merges':>7} {'k_f [1/s]':>10}")
# k_f over each 10-s window: merges N(0) / (N(t - 10) N(t) 10 s) (moments.csv's kf is per 1 s)
prev, n0 = m[0], f(m[0], "particles")
for r in m[::10][1:] + ([m[-1]] if (len(m) - 1) % 10 else []):
    dc = f(r, "coalescences") - f(prev, "coalescences")
    dt = f(r, "t") - f(prev, "t")
    kf = dc * n0 / (f(prev, "particles") * f(r, "particles") * dt)
    print(f"{f(r, 't'):6.0f} {f(r, 'particles'):6.0f} {f(r, 'particles') / n0:7.3f}"
          f" {f(r, 'particles_b'):8.0f} {f(r, 'mean_n_a'):9.0f} {f(r, 'mean_n_b'):9.0f}"
          f" {dc:7.0f} {kf:10.3g}")
    prev = r
if ev:
    t = np.array([float(e["t"]) for e in ev])
    s = np.array([float(e["r_kept_nm"]) + float(e["r_gone_nm"]) for e in ev])
    print(f"\n{len(ev)} merges: times (quartiles) {np.percentile(t, [0, 25, 50, 75, 100]).round(1)} s")
    h, edges = np.histogram(t, bins=np.arange(0, 190, 20))
    print("  merges per 20 s:", " ".join(f"{int(a)}-{int(b)}:{c}" for a, b, c in
                                         zip(edges[:-1], edges[1:], h)))
    h, edges = np.histogram(s, bins=np.arange(1.5, 4.01, 0.25))
    print("  r_i + r_j at merging [nm]:", " ".join(f"{a:.2f}:{c}" for a, c in zip(edges[:-1], h)))
p = list(csv.DictReader(open(f"{pair}/pair.csv")))
print("\nthe study's pair-correlation equation (npgrow pair, shifted quadrature): k_f, A")
for r in p:
    if abs(float(r["t"]) % 20) < 1e-9:
        print(f"  t = {float(r['t']):5.0f} s (movie {float(r['t']) + 8:5.0f} s): k_f {float(r['kf']):.3g}"
              f" 1/s, A {float(r['A']):.3f}")
PY
echo "demo-coalescence: results in runs/pt-acac-coalescence/ (coalescence.csv, moments.csv," \
  "figures/coalescence.png) and runs/pt-acac-pair/pair.csv"
