"""A data directory (npgrow data import) opens with its bootstrap bands joined to the moments,
and the moments figure draws them."""
import math
import os
import subprocess

import npgrow
import npgrow.plot
from npgrow._cli import binary
from conftest import CONFIG


def test_import_bands_in_open_run_and_plot(run_dir, tmp_path):
    # two particles over 5 frames; area pi/0.53^2 px^2 is r = 1 nm, n = 265, then growing
    rows = []
    for k in range(1, 6):
        a1 = math.pi / 0.53**2 * (1 + 0.1 * k)
        a2 = math.pi / 0.53**2 * (1.2 + 0.05 * k)
        rows.append(f"{k},{a1},10,10,{a2},20,20")
    src = tmp_path / "syn.csv"
    src.write_text("\n".join(rows) + "\n")
    out = tmp_path / "data"
    subprocess.run([binary(), "data", "import", "tem-pixel", str(src), "--system", CONFIG,
                    "--pixel", "0.53", "--time-column", "--no-clean", "--resamples", "200",
                    "-o", str(out), "-q"], check=True)
    r = npgrow.open_run(str(out))
    assert r.moments_ci is not None
    for q in ("mean_n", "var_n"):
        assert f"{q}_lo" in r.moments and f"{q}_hi" in r.moments
        # each band holds its estimate, and is the 95 % row of moments_ci.csv
        m = r.moments
        assert ((m[f"{q}_lo"] <= m[q] + 1e-9) & (m[q] <= m[f"{q}_hi"] + 1e-9)).all()
        ci = r.moments_ci[r.moments_ci["quantity"] == q].set_index("t")
        assert (m.set_index("t")[f"{q}_hi"] == ci["hi95"]).all()
    figs = tmp_path / "figs"
    npgrow.plot.make(run_dir, ["moments"], str(figs), "png", str(out), None, log=open(os.devnull, "w"))
    import pandas as pd
    d = pd.read_csv(figs / "moments.csv")
    data = d[d["source"] != d["source"].iloc[0]]
    assert data["mean_n_lo"].notna().all() and data["mean_n_hi"].notna().all()
