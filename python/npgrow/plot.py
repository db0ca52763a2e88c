"""npgrow.plot: the study's figures from a result directory, each with the CSV of what it plots.

    python3 -m npgrow.plot RUN_DIR [--fig NAME ...] [-o DIR] [--format png|pdf|svg]
                           [--compare DIR] [--times T ...]
    (or `npgrow plot ...`, which runs this module)

Each figure NAME has a function NAME_data(run, ...) -> DataFrame (exactly the plotted numbers,
written as NAME.csv) and NAME(run, ...) -> (fig, ax) for restyling. Figures: moments,
histograms, growth-rate, mu, coalescence, trajectories.
"""

import argparse
import os
import sys

import numpy as np
import pandas as pd

from . import model
from .result import RunFileError, open_run

PHASE_COLORS = {"hyper": "#f4cccc", "super": "#cfe2f3", "under": "#d9ead3"}


def _plt():
    import matplotlib

    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _run(r):
    return r if hasattr(r, "moments") else open_run(r)


def _label(r):
    base = os.path.basename(r.dir.rstrip("/")) or r.dir
    return f"{base} ({r.producer or 'data'})"


def _pick_times(times, k=4):
    """k output times spread evenly over the run, the last included."""
    times = np.asarray(sorted(set(times)))
    if len(times) <= k:
        return list(times)
    idx = np.unique(np.round(np.linspace(0, len(times) - 1, k)).astype(int))
    return list(times[idx])


def _nearest(times, wanted):
    times = np.asarray(sorted(set(times)))
    return [float(times[np.argmin(np.abs(times - w))]) for w in wanted]


def _phase_spans(m):
    """[(t0, t1, phase)] stretches of constant phase (each output time owns up to the next)."""
    if "phase" not in m:
        return []
    t, ph = m["t"].to_numpy(), m["phase"].astype(str).to_numpy()
    spans, start = [], 0
    for i in range(1, len(t) + 1):
        if i == len(t) or ph[i] != ph[start]:
            spans.append((float(t[start]), float(t[min(i, len(t) - 1)]), ph[start]))
            start = i
    return spans


def _shade(ax, m):
    seen = set()
    for t0, t1, ph in _phase_spans(m):
        if ph in PHASE_COLORS:
            ax.axvspan(t0, t1, color=PHASE_COLORS[ph], alpha=0.6, lw=0,
                       label=None if ph in seen else f"{ph}saturated")
            seen.add(ph)


# ---- moments (Fig. 1E) ---------------------------------------------------------------------

def _moment_errors(m):
    """Standard errors of mean n and var n from the raw moments (N alive particles)."""
    N = m["particles"].to_numpy(float)
    var = m["var_n"].to_numpy(float)
    se_mean = np.sqrt(np.where(N > 0, var / np.maximum(N, 1), np.nan))
    if all(c in m for c in ("m1", "m2", "m3", "m4")):
        m1, m2, m3, m4 = (m[c].to_numpy(float) for c in ("m1", "m2", "m3", "m4"))
        mu4 = m4 - 4 * m1 * m3 + 6 * m1 ** 2 * m2 - 3 * m1 ** 4
        se_var = np.sqrt(np.clip(mu4 - var ** 2, 0, None) / np.maximum(N, 1))
    else:
        se_var = np.full_like(var, np.nan)
    return se_mean, se_var


def moments_data(run, compare=None):
    """Long table: source, t, phase, mean_n, var_n, mean_r_nm, var_r_nm2 and, for stochastic
    sources, their standard errors (se_mean_n, se_var_n), or a data file's own *_lo/*_hi."""
    rows, labels = [], []
    for r in [_run(run)] + ([_run(compare)] if compare is not None else []):
        m = r.moments
        lab = _label(r)
        labels.append(lab + (" [2]" if lab in labels else ""))
        d = pd.DataFrame({"source": labels[-1], "t": m["t"]})
        d["phase"] = m["phase"] if "phase" in m else ""
        for c in ("mean_n", "var_n", "mean_r_nm", "var_r_nm2"):
            d[c] = m[c] if c in m else np.nan
        if r.stochastic:
            d["se_mean_n"], d["se_var_n"] = _moment_errors(m)
        else:
            d["se_mean_n"] = d["se_var_n"] = np.nan
        for c in ("mean_n", "var_n"):  # bands a data directory brings (bootstrap)
            for s in ("lo", "hi"):
                d[f"{c}_{s}"] = m[f"{c}_{s}"] if f"{c}_{s}" in m else np.nan
        rows.append(d)
    return pd.concat(rows, ignore_index=True)


def moments(run, compare=None, data=None):
    """Mean and variance of n and r against t, phases shaded; a second source overlaid with
    its bands (2 standard errors, or its own lo/hi)."""
    plt = _plt()
    r = _run(run)
    d = moments_data(r, compare) if data is None else data
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    tu = r.time_unit
    panels = [("mean_n", "mean n [monomers]"), ("var_n", "var n [monomers$^2$]"),
              ("mean_r_nm", "mean r [nm]"), ("var_r_nm2", "var r [nm$^2$]")]
    for ax, (col, lab) in zip(axes.flat, panels):
        _shade(ax, r.moments)
        for k, (src, g) in enumerate(d.groupby("source", sort=False)):
            style = dict(color="k" if k == 0 else "C1", lw=1.6 if k == 0 else 1.2,
                         ls="-" if k == 0 else "--")
            ax.plot(g["t"], g[col], label=src, **style)
            if col in ("mean_n", "var_n"):
                lo, hi = g[f"{col}_lo"], g[f"{col}_hi"]
                if lo.isna().all():
                    se = g["se_" + col]
                    lo, hi = g[col] - 2 * se, g[col] + 2 * se
                if not lo.isna().all():
                    ax.fill_between(g["t"], lo, hi, color=style["color"], alpha=0.25, lw=0)
        ax.set_ylabel(lab)
    for ax in axes[1]:
        ax.set_xlabel(f"t [{tu}]")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"moments: {_label(r)}" + (" vs. " + d['source'].unique()[-1]
                                            if compare is not None else ""))
    fig.tight_layout()
    return fig, axes


# ---- histograms ----------------------------------------------------------------------------

def histograms_data(run, times=None):
    """Every histogram row (t, n_lo, n_hi, count, p, density = p / bin width) and `selected`
    for the times drawn as lines (default: four spread over the run)."""
    r = _run(run)
    h = r.histogram.copy()
    sel = _nearest(h["t"], times) if times else _pick_times(h["t"])
    h["density"] = h["p"] / (h["n_hi"] - h["n_lo"] + 1)
    h["selected"] = h["t"].isin(sel)
    return h


def histograms(run, times=None, data=None):
    """Size distributions at chosen times, and the time x size heat map of p(n, t)."""
    plt = _plt()
    from matplotlib.colors import LogNorm

    r = _run(run)
    h = histograms_data(r, times) if data is None else data
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for t, g in h[h["selected"]].groupby("t"):
        a1.step(0.5 * (g["n_lo"] + g["n_hi"]), g["density"], where="mid",
                label=f"t = {t:g} {r.time_unit}")
    a1.set_xlabel("n [monomers]")
    a1.set_ylabel("p(n) per monomer")
    a1.legend(fontsize=8)
    ts = np.sort(h["t"].unique())
    lo = np.sort(h["n_lo"].unique())
    grid = h.pivot_table(index="t", columns="n_lo", values="density", fill_value=0.0)
    grid = grid.reindex(index=ts, columns=lo, fill_value=0.0).to_numpy()
    width = float(h["n_hi"].iloc[0] - h["n_lo"].iloc[0] + 1)
    xe = np.append(lo, lo[-1] + width)
    te = np.append(ts, ts[-1] + (ts[-1] - ts[-2] if len(ts) > 1 else 1.0))
    pos = grid[grid > 0]
    mesh = a2.pcolormesh(te, xe, np.ma.masked_less_equal(grid.T, 0),
                         norm=LogNorm(vmin=max(pos.min(), pos.max() * 1e-4), vmax=pos.max())
                         if pos.size else None, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=a2, label="p(n) per monomer")
    a2.set_xlabel(f"t [{r.time_unit}]")
    a2.set_ylabel("n [monomers]")
    fig.suptitle(f"size distributions: {_label(r)}")
    fig.tight_layout()
    return fig, (a1, a2)


# ---- growth rate (Fig. 2) ------------------------------------------------------------------

def _default_growth_times(r):
    """One time in the middle of each phase stretch (hyper / super / under), at most four."""
    g = r.growth_rate
    out = []
    for t0, t1, _ in _phase_spans(r.moments):
        tm = 0.5 * (t0 + t1)
        if len(g):
            out.append(_nearest(g["t"], [tm])[0])
    out = sorted(set(out))
    return out[:4] if out else _pick_times(g["t"], 3)


def growth_rate_data(run, times=None, min_particles=20):
    """Rows of growth_rate.csv at the chosen times with >= min_particles particles in the bin,
    plus n_mid and the time's S, n* and n** (0: none)."""
    r = _run(run)
    g = r.growth_rate
    if g is None or not len(g):
        raise RunFileError(f"{r.dir}: no growth-rate data")
    sel = _nearest(g["t"], times) if times else _default_growth_times(r)
    d = g[g["t"].isin(sel) & (g["particles"] >= min_particles)].copy()
    d["n_mid"] = 0.5 * (d["n_lo"] + d["n_hi"])
    m = r.moments.set_index("t")
    for c in ("supersaturation", "n_star", "n_star2", "phase"):
        d[c] = d["t"].map(m[c]) if c in m else np.nan
    return d.reset_index(drop=True)


def growth_rate(run, times=None, data=None):
    """Mean dn/dt against n at chosen times, j_model = S A_n - k^d_n beside it, n* and n**."""
    plt = _plt()
    r = _run(run)
    d = growth_rate_data(r, times) if data is None else data
    fig, ax = plt.subplots(figsize=(8, 5))
    for k, (t, g) in enumerate(d.groupby("t")):
        c = f"C{k}"
        ax.plot(g["n_mid"], g["mean_dn_dt"], "o", ms=3, color=c,
                label=f"t = {t:g} {r.time_unit} ({g['phase'].iloc[0]}, S = "
                      f"{g['supersaturation'].iloc[0]:.3g}): measured")
        ax.plot(g["n_mid"], g["j_model"], "-", color=c, lw=1, label="  j_model")
        for col, ls in (("n_star", ":"), ("n_star2", "--")):
            v = g[col].iloc[0]
            if v and v > 0:
                ax.axvline(v, color=c, ls=ls, lw=1)
                ax.text(v, 0.02, f" n{'*' if col == 'n_star' else '**'} = {v:g}", color=c,
                        transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("n [monomers] (size at the start of the interval)")
    ax.set_ylabel(f"mean dn/dt [monomers/{r.time_unit}]")
    ax.legend(fontsize=7)
    ax.set_title(f"growth rate: {_label(r)}")
    fig.tight_layout()
    return fig, ax


# ---- mu landscape (Fig. 1D / 5) ------------------------------------------------------------

def mu_data(run, levels=4, n_max=None):
    """n, beta mu_n and the Gibbs-Thomson curve (from `npgrow mu`), and ln S levels of the run
    as columns ln_s_t=<t> (constant): the distinct values of S (at most `levels`)."""
    r = _run(run)
    if n_max is None:
        top = r.histogram["n_hi"].max() if r.histogram is not None and len(r.histogram) else 2000
        n_max = int(min(max(2000, 1.5 * top), 200000))
    tab = model.table(r, n_max)
    d = tab[["n", "mu_excess_kT", "mu_gt_kT"]].copy()
    d = d[d["n"] >= 20].reset_index(drop=True)
    m = r.moments
    if "ln_s" in m:  # the value in the middle of each phase stretch, distinct, at most `levels`
        mids = [_nearest(m["t"], [0.5 * (a + b)])[0] for a, b, _ in _phase_spans(m)]
        pick = m[m["t"].isin(mids)].drop_duplicates("ln_s")
        pick = pick[np.isfinite(pick["ln_s"])].iloc[:levels]
        for t, v in zip(pick["t"], pick["ln_s"]):
            d[f"ln_s_t={t:g}"] = v
    return d


def mu(run, data=None):
    """beta mu_n against n with the run's ln S(t) levels and the Gibbs-Thomson curve."""
    plt = _plt()
    r = _run(run)
    d = mu_data(r) if data is None else data
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(d["n"], d["mu_excess_kT"], "k-", lw=1.5, label=r"$\beta\mu_n$ (model)")
    ax.plot(d["n"], d["mu_gt_kT"], "C2--", lw=1.2, label="Gibbs-Thomson")
    for k, c in enumerate(x for x in d.columns if x.startswith("ln_s_t=")):
        lv = d[c].iloc[0]
        ax.axhline(lv, color=f"C{k}", ls=":", lw=1.2,
                   label=f"ln S = {lv:.3g} ({c[5:]} {r.time_unit})")
        cross = d["n"][(d["mu_excess_kT"] > lv)]  # n* .. n**: the sizes that shrink
        if len(cross):
            ax.plot([cross.min(), cross.max()], [lv, lv], "o", color=f"C{k}", ms=5)
    ax.set_xscale("log")
    hi = float(np.nanmax(d["mu_excess_kT"]))
    ax.set_ylim(min(-0.5, float(np.nanmin(d["mu_excess_kT"]))), max(hi * 1.6, 1.0))
    ax.set_xlabel("n [monomers]")
    ax.set_ylabel(r"$\beta(\mu_n - \mu_\infty)$ [kT]")
    ax.legend(fontsize=8)
    ax.set_title(f"chemical potential: {_label(r)}")
    fig.tight_layout()
    return fig, ax


# ---- coalescence ---------------------------------------------------------------------------

def coalescence_data(run):
    """Per output time of a coalescence run: merges per time unit over the last interval, k_f
    (moments.csv `kf`), A = N(t)/N(0), Group A/B counts and mean sizes; None when the run has no
    coalescence columns."""
    r = _run(run)
    m = r.moments
    if m is None or "coalescences" not in m.columns:
        return None
    t = m["t"].to_numpy(float)
    c = m["coalescences"].to_numpy(float)
    rate = np.full_like(c, np.nan)
    rate[1:] = np.diff(c) / np.diff(t)
    n0 = float(m["particles"].iloc[0])
    return pd.DataFrame({"t": t, "merges_per_time": rate, "kf": m["kf"].to_numpy(float),
                         "A": m["particles"].to_numpy(float) / n0 if n0 > 0 else np.nan,
                         "particles_a": m["particles_a"], "particles_b": m["particles_b"],
                         "mean_n_a": m["mean_n_a"], "mean_n_b": m["mean_n_b"]})


def coalescence(run, data=None):
    """Coalescence at a glance: merges per time and k_f, A(t) with the Group A/B split, the mean
    size of each group, and the histograms of merge times and of r_i + r_j at merging (from the
    sampled merges); None (with the reason on stderr) when the run has no coalescence."""
    r = _run(run)
    d = coalescence_data(r) if data is None else data
    if d is None:
        return None
    plt = _plt()
    tu = r.time_unit
    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    a = ax[0, 0]
    a.plot(d["t"], d["merges_per_time"], label="merges per " + tu)
    a.set_ylabel(f"merges / {tu}")
    a2 = a.twinx()
    a2.plot(d["t"], d["kf"], color="C3", ls="--", label="k_f")
    a2.set_ylabel(f"k_f [1/{tu}]")
    a.legend(loc="upper left")
    a2.legend(loc="upper right")
    a = ax[0, 1]
    a.plot(d["t"], d["particles_a"], label="Group A (never merged)")
    a.plot(d["t"], d["particles_b"], label="Group B (merged)")
    a.set_ylabel("particles")
    a3 = a.twinx()
    a3.plot(d["t"], d["A"], color="k", ls=":", label="A = N(t)/N(0)")
    a3.set_ylabel("A")
    a.legend(loc="upper left")
    a = ax[1, 0]
    a.plot(d["t"], d["mean_n_a"], label="Group A")
    a.plot(d["t"], d["mean_n_b"], label="Group B")
    a.set_ylabel("mean n [monomers]")
    a.legend()
    for x in (ax[0, 0], ax[0, 1], ax[1, 0]):
        x.set_xlabel(f"t [{tu}]")
    a = ax[1, 1]
    if r.merges is not None and len(r.merges):
        a.hist(r.merges["t"], bins=40, alpha=0.6, label=f"merge times [{tu}]")
        a.set_xlabel(f"t [{tu}]")
        a4 = a.twiny()
        a4.hist(r.merges["r_kept_nm"] + r.merges["r_gone_nm"], bins=40, color="C2", alpha=0.5)
        a4.set_xlabel("r_i + r_j at merging [nm] (green)")
        a.set_ylabel("merges (sampled)")
    fig.tight_layout()
    return fig, ax


# ---- trajectories (Fig. 1C) ----------------------------------------------------------------

def trajectories_data(run, k=40):
    """t, id, n of k sampled particles (ids spread over the sample; rows with n >= 2)."""
    r = _run(run)
    tr = r.trajectories
    if tr is None or not len(tr):
        raise RunFileError(f"{r.dir}: no trajectories (`npgrow run` writes them)")
    ids = np.sort(tr["id"].unique())
    pick = ids[np.unique(np.linspace(0, len(ids) - 1, min(k, len(ids))).round().astype(int))]
    return tr[tr["id"].isin(pick)][["t", "id", "n"]].reset_index(drop=True)


def trajectories(run, data=None):
    """Sampled n_i(t) over the phase-shaded time axis, and the ensemble mean."""
    plt = _plt()
    r = _run(run)
    d = trajectories_data(r) if data is None else data
    fig, ax = plt.subplots(figsize=(8, 5))
    _shade(ax, r.moments)
    for _, g in d.groupby("id"):
        ax.plot(g["t"], g["n"], lw=0.7, alpha=0.7)
    ax.plot(r.moments["t"], r.moments["mean_n"], "k-", lw=2, label="ensemble mean n")
    ax.set_yscale("log")
    ax.set_xlabel(f"t [{r.time_unit}]")
    ax.set_ylabel("n [monomers]")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"{d['id'].nunique()} sampled particles: {_label(r)}")
    fig.tight_layout()
    return fig, ax


FIGURES = {
    "moments": (moments, moments_data),
    "histograms": (histograms, histograms_data),
    "growth-rate": (growth_rate, growth_rate_data),
    "mu": (mu, mu_data),
    "coalescence": (coalescence, coalescence_data),
    "trajectories": (trajectories, trajectories_data),
}


def make(run_dir, figs=None, outdir=None, fmt="png", compare=None, times=None, log=sys.stderr):
    """Write each figure and its CSV into outdir (default RUN_DIR/figures); returns the paths."""
    r = open_run(run_dir)
    c = open_run(compare) if compare else None
    outdir = outdir or os.path.join(r.dir, "figures")
    os.makedirs(outdir, exist_ok=True)
    plt = _plt()
    written = []
    for name in figs or list(FIGURES):
        draw, data = FIGURES[name]
        if name == "moments":
            d = data(r, c)
        elif name in ("histograms", "growth-rate"):
            d = data(r, times)
        else:
            d = data(r)
        if d is None:
            print(f"npgrow plot: {name}: skipped: {r.dir} has no coalescence observables "
                  "(no coalescence in this run: moments.csv has no `coalescences` column)",
                  file=log)
            continue
        fig, _ = draw(r, data=d)
        stem = os.path.join(outdir, name)
        d.to_csv(stem + ".csv", index=False)
        fig.savefig(f"{stem}.{fmt}", dpi=120)
        plt.close(fig)
        written += [f"{stem}.{fmt}", stem + ".csv"]
        print(f"npgrow plot: {stem}.{fmt} (+ .csv)", file=log)
    return written


def main(argv=None):
    p = argparse.ArgumentParser(prog="npgrow plot", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="result directory (run, me, data import) or a run.h5")
    p.add_argument("--fig", action="append", choices=list(FIGURES), metavar="NAME",
                   help="figure to draw (repeatable; default all): " + ", ".join(FIGURES))
    p.add_argument("-o", "--outdir", help="output directory (default RUN_DIR/figures)")
    p.add_argument("--format", default="png", choices=["png", "pdf", "svg"])
    p.add_argument("--compare", help="a second result or data directory to overlay (moments)")
    p.add_argument("--times", type=float, nargs="+",
                   help="times for histograms and growth-rate (nearest output times)")
    a = p.parse_args(argv)
    try:
        make(a.run_dir, a.fig, a.outdir, a.format, a.compare, a.times)
    except RunFileError as e:
        print(f"npgrow plot: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
