"""open_run: a result directory (run, me, data import, pair) as numpy / pandas / xarray.

Reads run.h5 when present (every observable, the particle snapshots, the parameters), else the
CSV files and run.yaml. Tables come back in the CSV files' long form (one row per time and bin),
whichever source they came from, so code written against one works on the other.
"""

import os

import numpy as np
import pandas as pd
import yaml


class RunFileError(ValueError):
    """A result directory or run.h5 that cannot be read: missing, truncated, or not npgrow's."""


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - setup.sh installs python3-h5py
        raise RunFileError("reading run.h5 needs h5py (Debian: python3-h5py)") from e
    return h5py


def _str(x):
    if isinstance(x, bytes):
        return x.decode("utf-8")
    if isinstance(x, np.ndarray) and x.shape == ():
        return _str(x[()])
    return x


class Run:
    """One result directory. Attributes (None when the source has no such data):

    moments       DataFrame, the columns of moments.csv (t first)
    histogram     DataFrame t, n_lo, n_hi, count, p (coalescence runs: count_a, count_b too)
    merges        DataFrame of coalescence.csv (t, id_kept, id_gone, n_kept, n_gone, r_kept_nm,
                  r_gone_nm), the sampled merges of a coalescence run
    growth_rate   DataFrame t, n_lo, n_hi, particles, mean_dn_dt, j_model
    trajectories  DataFrame t, id, n, r_nm (rows with n >= 2, as in trajectories.csv)
    params        dict of run.yaml's top-level scalars (status, seed, backend, wall_s, ...)
    config        dict, the resolved configuration; config_yaml its text
    producer      "run", "me", ... ; time_unit "s" or "min"
    snapshot_times, snapshots()   full-ensemble sizes from run.h5 (0 = dissolved)
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)
        if os.path.isdir(self.path):
            self.dir = self.path
            h5 = os.path.join(self.path, "run.h5")
        else:
            self.dir = os.path.dirname(self.path)
            h5 = self.path
        self.h5_path = h5 if os.path.exists(h5) else None
        self.moments = self.histogram = self.growth_rate = self.trajectories = None
        self.snapshot_times = np.zeros(0)
        self.params, self.config, self.config_yaml = {}, {}, ""
        self.coalescence = None  # reserved: /observables/coalescence
        self.merges = None       # coalescence.csv, or run.h5's /events/coalescence
        if self.h5_path:
            self._load_h5()
        elif os.path.isdir(self.path):
            self._load_csv()
        else:
            raise RunFileError(f"{path}: no such result directory or run.h5")
        self.moments_ci = None
        if self.dir and os.path.isdir(self.dir):
            self._load_moments_ci()
        self.producer = str(self.params.get("producer", ""))
        self.time_unit = str(self.params.get("time_unit") or
                             self.config.get("system", {}).get("time_unit", "s"))

    def __repr__(self):
        nt = 0 if self.moments is None else len(self.moments)
        return (f"<npgrow.Run {self.path}: producer {self.producer or '?'}, {nt} output times, "
                f"{len(self.snapshot_times)} snapshots, source {'run.h5' if self.h5_path else 'CSV'}>")

    @property
    def stochastic(self):
        return self.producer == "run" or (not self.producer and "particles" in self.params)

    # ---- CSV -------------------------------------------------------------------------------
    def _csv(self, name):
        p = os.path.join(self.dir, name)
        if not os.path.exists(p):
            return None
        try:
            return pd.read_csv(p)
        except Exception as e:
            raise RunFileError(f"{p}: not a readable CSV file ({e})") from e

    def _load_moments_ci(self):
        """moments_ci.csv (npgrow data import: bootstrap percentile bands, long form t,
        quantity, estimate, lo95, lo68, hi68, hi95): kept as `moments_ci`, and the 95 % band of
        mean_n and var_n joined to `moments` as <q>_lo, <q>_hi (what the figures draw)."""
        ci = self._csv("moments_ci.csv")
        if ci is None or self.moments is None:
            return
        self.moments_ci = ci
        for q in ("mean_n", "var_n"):
            band = ci[ci["quantity"] == q][["t", "lo95", "hi95"]]
            band = band.rename(columns={"lo95": f"{q}_lo", "hi95": f"{q}_hi"})
            if len(band) and f"{q}_lo" not in self.moments:
                self.moments = self.moments.merge(band, on="t", how="left")

    def _load_csv(self):
        self.moments = self._csv("moments.csv")
        if self.moments is None:
            raise RunFileError(f"{self.dir}: neither run.h5 nor moments.csv: not a result directory")
        self.histogram = self._csv("histogram.csv")
        self.growth_rate = self._csv("growth_rate.csv")
        self.trajectories = self._csv("trajectories.csv")
        self.merges = self._csv("coalescence.csv")
        p = os.path.join(self.dir, "run.yaml")
        if os.path.exists(p):
            with open(p) as f:
                try:
                    doc = yaml.safe_load(f) or {}
                except yaml.YAMLError as e:
                    raise RunFileError(f"{p}: YAML error: {e}") from e
            self.config = doc.pop("config", {}) or {}
            self.params = {k: v for k, v in doc.items() if not isinstance(v, (dict, list))}
            self.config_yaml = yaml.safe_dump(self.config, sort_keys=False)

    # ---- run.h5 ----------------------------------------------------------------------------
    def _load_h5(self):
        h5py = _h5py()
        p = self.h5_path
        try:
            f = h5py.File(p, "r")
        except OSError as e:
            raise RunFileError(f"{p}: not a readable HDF5 file (truncated, damaged or not HDF5: "
                               f"{e})") from e
        try:
            with f:
                creator = f.get("h5md/creator")
                name = _str(creator.attrs.get("name")) if creator is not None else None
                if name != "npgrow":
                    raise RunFileError(
                        f"{p}: an HDF5 file, but not an npgrow run.h5 (/h5md/creator name is "
                        f"{name!r}, expected 'npgrow')")
                if "observables/moments" not in f:
                    raise RunFileError(f"{p}: no /observables/moments (an unfinished file?)")
                self._read_h5(f)
        except RunFileError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as e:
            raise RunFileError(f"{p}: damaged npgrow run.h5 ({type(e).__name__}: {e})") from e

    def _read_h5(self, f):
        g = f["observables/moments"]
        cols = {"t": g["time"][:]}
        for k in g:
            if k in ("time", "step"):
                continue
            v = g[k][:]
            cols[k] = v.astype(str) if v.dtype.kind in "OS" else v
            if v.dtype.kind == "O":
                cols[k] = np.array([_str(x) for x in v])
        order = [c for c in _MOMENT_ORDER if c in cols] + \
                sorted(c for c in cols if c not in _MOMENT_ORDER)
        self.moments = pd.DataFrame({c: cols[c] for c in order})
        if "observables/size_histogram" in f:
            hg = f["observables/size_histogram"]
            names = {"value": "count"}
            if "value_b" in hg:  # coalescence runs: Group A (never merged) and B
                names.update({"value_a": "count_a", "value_b": "count_b"})
            self.histogram = _binned_long(hg, names, keep="occupied_range")
            tot = self.histogram.groupby("t")["count"].transform("sum")
            self.histogram["p"] = np.where(tot > 0, self.histogram["count"] / tot.where(tot > 0, 1), 0.0)
        if "observables/growth_rate" in f:
            self.growth_rate = _binned_long(
                f["observables/growth_rate"],
                {"particles": "particles", "value": "mean_dn_dt", "j_model": "j_model"},
                keep="particles")
        if "observables/trajectories" in f:
            g = f["observables/trajectories"]
            t, ids, v = g["time"][:], g["id"][:], g["value"][:]
            tt, ii = np.meshgrid(t, ids, indexing="ij")
            m = v >= 2
            self.trajectories = pd.DataFrame({"t": tt[m], "id": ii[m].astype(np.int64),
                                              "n": v[m].astype(np.int64)})
        if "particles/ensemble/n_monomers" in f:
            self.snapshot_times = f["particles/ensemble/n_monomers/time"][:]
        if "events/coalescence" in f:
            g = f["events/coalescence"]
            self.merges = pd.DataFrame({"t" if k == "time" else k: g[k][:] for k in
                                        ("time", "id_kept", "id_gone", "n_kept", "n_gone",
                                         "r_kept_nm", "r_gone_nm") if k in g})
        if "observables/coalescence" in f:  # reserved layout, see include/npgrow/h5out.h
            self.coalescence = {k: f["observables/coalescence"][k]["value"][:]
                                for k in f["observables/coalescence"]}
        par = f.get("parameters")
        if par is not None:
            for k in par:
                v = par[k][()]
                self.params[k] = (float(v) if isinstance(v, np.floating) else
                                  int(v) if isinstance(v, np.integer) else _str(v))
            self.params.setdefault("producer", _str(par.attrs.get("producer", "")))
            self.config_yaml = self.params.pop("config_yaml", "")
            self.params.pop("run_yaml", None)
            self.config = yaml.safe_load(self.config_yaml) or {} if self.config_yaml else {}
        if self.trajectories is not None:
            sig = float(self.config.get("system", {}).get("sigma_s_nm", np.nan))
            self.trajectories["r_nm"] = sig * np.cbrt(self.trajectories["n"].astype(float))

    def snapshots(self, index=None):
        """Full-ensemble sizes: an xarray DataArray (time x particle), or one numpy row."""
        if not self.h5_path or not len(self.snapshot_times):
            raise RunFileError(f"{self.path}: no particle snapshots (run.h5 from `npgrow run`)")
        h5py = _h5py()
        with h5py.File(self.h5_path, "r") as f:
            d = f["particles/ensemble/n_monomers/value"]
            if index is not None:
                return d[index]
            v = d[:]
        import xarray as xr
        return xr.DataArray(v, dims=("time", "particle"), coords={"time": self.snapshot_times},
                            name="n_monomers", attrs={"unit": "monomers"})

    def to_xarray(self):
        """The observables as xarray Datasets: moments (time), histogram and growth_rate
        (time x n_lo), trajectories (time x id)."""
        import xarray as xr
        out = {"moments": xr.Dataset.from_dataframe(self.moments.set_index("t"))
               .rename({"t": "time"})}
        for name in ("histogram", "growth_rate"):
            df = getattr(self, name)
            if df is not None and len(df):
                out[name] = xr.Dataset.from_dataframe(df.set_index(["t", "n_lo"])) \
                    .rename({"t": "time"})
        if self.trajectories is not None and len(self.trajectories):
            out["trajectories"] = xr.Dataset.from_dataframe(
                self.trajectories.set_index(["t", "id"])).rename({"t": "time"})
        return out


_MOMENT_ORDER = ["t", "particles", "alive_fraction", "mean_n", "var_n"] + \
    [f"m{q}" for q in range(1, 11)] + \
    ["mean_r_nm", "var_r_nm2", "supersaturation", "ln_s", "mu_max_kT", "phase", "n_star",
     "n_star2", "free_monomers", "precursor", "events"]


def _binned_long(g, names, keep):
    """time x bin arrays of an observable group -> the CSV's long table."""
    t, lo, hi = g["time"][:], g["n_lo"][:].astype(np.int64), g["n_hi"][:].astype(np.int64)
    T, B = len(t), len(lo)
    cols = {"t": np.repeat(t, B), "n_lo": np.tile(lo, T), "n_hi": np.tile(hi, T)}
    for ds, col in names.items():
        cols[col] = g[ds][:].reshape(T * B)
    df = pd.DataFrame(cols)
    if keep == "particles":
        df = df[df["particles"] > 0]
    else:  # the CSV lists each time's bins from the first to the last occupied one
        occ = df["count"] > 0
        first = df[occ].groupby("t")["n_lo"].min()
        last = df[occ].groupby("t")["n_lo"].max()
        lo_t, hi_t = df["t"].map(first), df["t"].map(last)
        df = df[(df["n_lo"] >= lo_t) & (df["n_lo"] <= hi_t)]
    return df.reset_index(drop=True)


def open_run(path):
    """Open a result directory (or a run.h5 file directly): returns a Run."""
    return Run(path)
