"""npgrow.plot: every figure's CSV holds exactly the run's numbers, and the image is made."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import npgrow
from npgrow import plot
from conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def figs(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("figs")
    log = tmp_path_factory.mktemp("log") / "log.txt"
    with open(log, "w") as f:
        plot.make(run_dir, outdir=str(out), log=f)
    return str(out), open(log).read()


def _csv(figs, name):
    return pd.read_csv(os.path.join(figs[0], name + ".csv"))


def test_images_written(figs):
    for name in ("moments", "histograms", "growth-rate", "mu", "trajectories"):
        p = os.path.join(figs[0], name + ".png")
        data = open(p, "rb").read()
        assert data[:8] == PNG and len(data) > 20000, name
    assert not os.path.exists(os.path.join(figs[0], "coalescence.png"))
    assert "coalescence: skipped" in figs[1] and "no coalescence" in figs[1]


def test_moments_csv(run_dir, figs):
    r = npgrow.open_run(run_dir)
    d = _csv(figs, "moments")
    np.testing.assert_array_equal(d["t"], r.moments["t"])
    for c in ("mean_n", "var_n", "mean_r_nm", "var_r_nm2"):
        np.testing.assert_allclose(d[c], r.moments[c], rtol=1e-14)
    assert (d["phase"] == r.moments["phase"]).all()
    # standard error of the mean: sqrt(var / N)
    np.testing.assert_allclose(d["se_mean_n"], np.sqrt(r.moments["var_n"] / r.moments["particles"]),
                               rtol=1e-12)


def test_moments_compare_overlay(run_dir, csv_dir, tmp_path):
    r = npgrow.open_run(run_dir)
    d = plot.moments_data(r, csv_dir)
    assert d["source"].nunique() == 2 and len(d) == 2 * len(r.moments)
    fig, axes = plot.moments(r, compare=csv_dir)
    assert len(axes.flat[0].lines) == 2


def test_histograms_csv(run_dir, figs):
    r = npgrow.open_run(run_dir)
    d = _csv(figs, "histograms")
    np.testing.assert_array_equal(d[["t", "n_lo", "n_hi", "count"]].to_numpy(float),
                                  r.histogram[["t", "n_lo", "n_hi", "count"]].to_numpy(float))
    np.testing.assert_allclose(d["p"], r.histogram["p"], rtol=1e-12)
    sel = sorted(d[d["selected"]]["t"].unique())
    assert sel[-1] == r.moments["t"].max() and sel[0] == 0.0 and len(sel) == 4


def test_growth_rate_csv(run_dir, figs):
    r = npgrow.open_run(run_dir)
    d = _csv(figs, "growth-rate")
    g = r.growth_rate.merge(d[["t", "n_lo", "mean_dn_dt"]], on=["t", "n_lo"], suffixes=("", "_fig"))
    assert len(g) == len(d) > 0
    np.testing.assert_allclose(g["mean_dn_dt_fig"], g["mean_dn_dt"], rtol=1e-12)
    assert (d["particles"] >= 20).all()
    # 0-60 s of the demo: a hyper stretch and a super one (S = 2: n* = 58, n** = 1417)
    sup = d[d["phase"] == "super"]
    assert len(sup) and (sup["n_star"] == 58).all() and (sup["n_star2"] == 1417).all()
    assert set(d["phase"]) == {"hyper", "super"}


def test_mu_csv(run_dir, figs):
    d = _csv(figs, "mu")
    t = npgrow.model.table(npgrow.open_run(run_dir), n_max=int(d["n"].max()))
    t = t[t["n"] >= 20].reset_index(drop=True)
    np.testing.assert_allclose(d["mu_excess_kT"], t["mu_excess_kT"], rtol=1e-12)
    levels = sorted(d[c].iloc[0] for c in d.columns if c.startswith("ln_s_t="))
    np.testing.assert_allclose(levels, [np.log(2.0), np.log(3.5)], rtol=1e-9)


def test_trajectories_csv(run_dir, figs):
    r = npgrow.open_run(run_dir)
    d = _csv(figs, "trajectories")
    assert d["id"].nunique() == 40
    m = d.merge(r.trajectories, on=["t", "id"], suffixes=("", "_run"))
    assert len(m) == len(d)
    np.testing.assert_array_equal(m["n"], m["n_run"])


def test_cli_formats_and_errors(run_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    p = subprocess.run([sys.executable, "-m", "npgrow.plot", run_dir, "--fig", "mu", "-o",
                        str(tmp_path), "--format", "svg"], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert open(tmp_path / "mu.svg").read(200).lstrip().startswith("<?xml")
    p = subprocess.run([sys.executable, "-m", "npgrow.plot", str(tmp_path / "none")], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no such result directory" in p.stderr
