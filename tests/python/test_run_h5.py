"""run.h5: the same numbers as the CSV files, H5MD layout, snapshots, clear errors."""
import os
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest

import npgrow
from conftest import CONFIG, demo_dict


def test_h5_equals_csv(run_dir, csv_dir):
    a, b = npgrow.open_run(run_dir), npgrow.open_run(csv_dir)
    assert a.h5_path and not b.h5_path
    assert list(a.moments.columns) == list(b.moments.columns)
    for c in a.moments.columns:
        if c == "phase":
            assert (a.moments[c] == b.moments[c]).all()
        else:  # the file stores the CSV's own doubles: equal, not close
            np.testing.assert_array_equal(a.moments[c].to_numpy(float), b.moments[c].to_numpy(float))
    for name in ("histogram", "growth_rate", "trajectories"):
        x, y = getattr(a, name), getattr(b, name)
        assert len(x) == len(y) > 0, name
        cols = [c for c in y.columns if c not in ("r_nm", "p")]
        np.testing.assert_array_equal(x[cols].to_numpy(float), y[cols].to_numpy(float),
                                      err_msg=name)
    # p = count / alive particles; the CSV prints 12 digits
    np.testing.assert_allclose(a.histogram["p"], b.histogram["p"], rtol=1e-11)
    np.testing.assert_allclose(a.trajectories["r_nm"], b.trajectories["r_nm"], rtol=1e-7)
    assert a.params["status"] == b.params["status"] == "complete"
    assert a.params["seed"] == b.params["seed"] == 7
    assert a.config["run"]["particles"] == 3000 and b.config["run"]["particles"] == 3000


def test_snapshots_match_histogram(run_dir):
    """Exact identity: binning the stored sizes gives histogram.csv's counts at that time."""
    r = npgrow.open_run(run_dir)
    np.testing.assert_array_equal(r.snapshot_times, [10.0, 30.0])
    s = r.snapshots()
    assert s.shape == (2, 3000) and s.dtype == np.uint32
    for i, t in enumerate(r.snapshot_times):
        n = s.values[i]
        alive = n[n >= 2]
        h = r.histogram[r.histogram["t"] == t]
        counts = [int(((alive >= lo) & (alive <= hi)).sum()) for lo, hi in zip(h["n_lo"], h["n_hi"])]
        np.testing.assert_array_equal(counts, h["count"].to_numpy())
        m = r.moments[r.moments["t"] == t].iloc[0]
        assert len(alive) == m["particles"]
        assert np.mean(alive.astype(float)) == pytest.approx(m["mean_n"], rel=1e-12)


def test_h5md_layout(run_dir):
    with h5py.File(os.path.join(run_dir, "run.h5"), "r") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["h5md/creator"].attrs["name"] in (b"npgrow", "npgrow")
        assert "version" in f["h5md/creator"].attrs and "name" in f["h5md/author"].attrs
        for g in ("observables/moments", "observables/size_histogram", "observables/growth_rate",
                  "observables/trajectories", "particles/ensemble/n_monomers"):
            assert {"step", "time"} <= set(f[g]), g
        missing = []
        f.visititems(lambda k, o: missing.append(k)
                     if isinstance(o, h5py.Dataset) and "unit" not in o.attrs else None)
        assert not missing, missing
        assert f["observables/moments/time"].attrs["unit"] == b"s"
        assert f["observables/moments/var_n"].attrs["unit"] == b"monomers^2"
        v = f["particles/ensemble/n_monomers/value"]
        assert v.compression == "gzip" and v.chunks is not None
        assert f["parameters/producer"][()] == b"run"
        assert f["parameters/seed"][()] == 7


def test_xarray_names_dimensions(run_dir):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    p = os.path.join(run_dir, "run.h5")
    m = xr.open_dataset(p, group="observables/moments", engine="h5netcdf")
    assert m["mean_n"].dims == ("time",)
    h = xr.open_dataset(p, group="observables/size_histogram", engine="h5netcdf")
    assert h["value"].dims == ("time", "n_lo")
    s = xr.open_dataset(p, group="particles/ensemble/n_monomers", engine="h5netcdf")
    assert s["value"].dims == ("time", "particle") and s.sizes["particle"] == 3000
    r = npgrow.open_run(run_dir)
    ds = r.to_xarray()
    np.testing.assert_array_equal(ds["moments"]["mean_n"].values, r.moments["mean_n"].values)


def test_truncated_and_foreign_files(run_dir, tmp_path):
    src = os.path.join(run_dir, "run.h5")
    data = open(src, "rb").read()
    bad = tmp_path / "trunc"
    bad.mkdir()
    (bad / "run.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(npgrow.RunFileError, match="truncated|damaged"):
        npgrow.open_run(str(bad))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 100)
    with pytest.raises(npgrow.RunFileError, match="not a readable HDF5"):
        npgrow.open_run(str(junk))
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(npgrow.RunFileError, match="not an npgrow run.h5"):
        npgrow.open_run(str(foreign))
    with pytest.raises(npgrow.RunFileError, match="no such"):
        npgrow.open_run(str(tmp_path / "absent"))


def test_hdf5_off_and_bad_snapshots(tmp_path):
    out = tmp_path / "off"
    r = npgrow.run(demo_dict(hdf5=False), outdir=str(out), particles=500, t_end=3, quiet=True)
    assert not os.path.exists(out / "run.h5") and r.h5_path is None
    assert len(r.moments) == 4 and r.config["output"]["hdf5"] is False
    for bad, msg in (([5.0, 2.0], "output.snapshots\\[1\\]"), ([999.0], "out of range"),
                     ("yes", "wrong type")):
        with pytest.raises(npgrow.NpgrowError, match=msg) as e:
            npgrow.run(demo_dict(snapshots=bad), outdir=str(tmp_path / "x"), particles=10,
                       t_end=10, quiet=True)
        assert e.value.returncode == 2
    with pytest.raises(npgrow.NpgrowError, match="output.hdf5") as e:
        npgrow.run(demo_dict(hdf5="maybe"), outdir=str(tmp_path / "x"), particles=10, quiet=True)
    assert e.value.returncode == 2
    with pytest.raises(TypeError):
        npgrow.run(CONFIG, bogus=1)


def test_me_writes_run_h5(tmp_path):
    r = npgrow.me(CONFIG, outdir=str(tmp_path / "me"), t_end=2)
    assert r.producer == "me" and r.h5_path and len(r.snapshot_times) == 0
    c = pd.read_csv(tmp_path / "me" / "moments.csv")
    np.testing.assert_array_equal(r.moments["mean_n"].to_numpy(), c["mean_n"].to_numpy())
    with pytest.raises(npgrow.RunFileError, match="no particle snapshots"):
        r.snapshots()


def test_model_from_c(tmp_path):
    t = npgrow.model.table(CONFIG, n_max=3000)
    n, mu = npgrow.model.mu(CONFIG, n_max=3000)
    _, A = npgrow.model.A(CONFIG, n_max=3000)
    _, kd = npgrow.model.kd(CONFIG, n_max=3000)
    assert len(n) == 3000 and n[0] == 1
    # detailed balance (model.md): k^d_n = A_{n-1} exp(beta mu_{n-1}), n >= 2
    np.testing.assert_allclose(kd[1:], A[:-1] * np.exp(mu[:-1]), rtol=1e-8)
    # README: at S = 2, n* = 58 and n** = 1417; max mu_n (n >= 20) = 0.914 kT at n = 185
    assert npgrow.model.critical_sizes(CONFIG, 2.0) == (58, 1417)
    sel = n >= 20
    assert n[sel][np.argmax(mu[sel])] == 185
    assert np.max(mu[sel]) == pytest.approx(0.9139, abs=1e-4)
    assert list(t.columns) == ["n", "r_nm", "mu_excess_kT", "mu_gt_kT", "A_n", "kd_n"]
