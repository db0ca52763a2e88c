"""A coalescence run read back by open_run, from run.h5 and from the CSV files alike: Group A/B
histograms add up to the total exactly, the sampled merges are run.yaml's merges, and both
sources give the same numbers."""
import os
import shutil

import numpy as np
import pytest
import yaml

import npgrow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "configs", "pt-acac-coalescence-wm.yaml")


@pytest.fixture(scope="module")
def coal_dirs(tmp_path_factory):
    with open(CONFIG) as f:
        d = yaml.safe_load(f)
    d["source"]["rate_per_time"] = 50  # a small, fast version of the demo
    out = tmp_path_factory.mktemp("coal") / "r"
    npgrow.run(d, outdir=str(out), particles=1000, t_end=120, seed=5, quiet=True)
    csv = tmp_path_factory.mktemp("coalcsv") / "r"
    shutil.copytree(out, csv)
    os.remove(csv / "run.h5")
    return str(out), str(csv)


def test_group_histograms_add_up(coal_dirs):
    for d in coal_dirs:
        h = npgrow.open_run(d).histogram
        assert {"count_a", "count_b"} <= set(h.columns)
        assert np.array_equal(h["count_a"] + h["count_b"], h["count"])
        assert h["count_b"].sum() > 0


def test_merges_match_run_yaml(coal_dirs):
    h5, csv = (npgrow.open_run(d) for d in coal_dirs)
    merges = int(h5.params["merges"])
    assert merges > 0
    for r in (h5, csv):
        assert len(r.merges) == merges  # fewer than output.coalescence_events: all of them
        assert np.all(np.diff(r.merges["t"].to_numpy()) >= 0)
        assert np.all(r.merges["id_kept"] < r.merges["id_gone"])
    for c in ("t", "id_kept", "n_kept", "n_gone", "r_gone_nm"):
        np.testing.assert_allclose(h5.merges[c].to_numpy(float), csv.merges[c].to_numpy(float),
                                   rtol=1e-9)
    # the moments count every merge
    assert h5.moments["coalescences"].iloc[-1] == merges


def test_coalescence_figure(coal_dirs, tmp_path):
    import npgrow.plot as nplot
    d = nplot.coalescence_data(coal_dirs[0])
    r = npgrow.open_run(coal_dirs[0])
    # merges per time unit integrate back to the merge count exactly
    dt = np.diff(d["t"].to_numpy())
    assert np.isclose(np.nansum(d["merges_per_time"].to_numpy()[1:] * dt),
                      r.moments["coalescences"].iloc[-1])
    assert np.array_equal(d["particles_a"] + d["particles_b"], r.moments["particles"])
    written = nplot.make(coal_dirs[0], figs=["coalescence"], outdir=str(tmp_path))
    assert any(w.endswith("coalescence.png") for w in written)
