"""npgrow from Python: open results, start runs, look at the model.

    import npgrow
    r = npgrow.open_run("runs/pt-acac")      # run.h5, or the CSV files when it is absent
    r.moments.tail()                          # pandas DataFrame, the columns of moments.csv
    r = npgrow.run("configs/pt-acac.yaml", particles=10000, t_end=60)
    n, mu = npgrow.model.mu("configs/pt-acac.yaml")

The simulator is the npgrow binary (found as $NPGROW_BIN, the repository's build/, or PATH);
see ARCHITECTURE.md for why Python drives the CLI rather than a shared library.
"""

import os
import tempfile

import yaml

from . import model
from ._cli import NpgrowError, binary
from .result import Run, RunFileError, open_run

__all__ = ["open_run", "run", "me", "model", "Run", "RunFileError", "NpgrowError", "binary"]
__version__ = "0.1.0"

_RUN_FLAGS = {"particles", "seed", "threads", "backend", "device", "t_end"}
_ME_FLAGS = {"t_end"}


def _start(cmd, config, flags, outdir, force, quiet, overrides):
    bad = set(overrides) - flags
    if bad:
        raise TypeError(f"npgrow.{cmd}: unknown override(s) {sorted(bad)}; allowed: "
                        f"{sorted(flags)} (other keys: change the config dict)")
    tmp = None
    if isinstance(config, dict):
        tmp = tempfile.TemporaryDirectory(prefix="npgrow-cfg-")
        path = os.path.join(tmp.name, "config.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        config = path
    if outdir is None:
        outdir = tempfile.mkdtemp(prefix=f"npgrow-{cmd}-")
    args = [cmd, os.fspath(config), "-o", os.fspath(outdir)]
    for k, v in overrides.items():
        args += ["--" + k.replace("_", "-"), v]
    if force:
        args.append("--force")
    if quiet and cmd == "run":
        args.append("--quiet")
    try:
        from ._cli import call
        call(args)
    finally:
        if tmp:
            tmp.cleanup()
    return open_run(outdir)


def run(config, outdir=None, force=False, quiet=False, **overrides):
    """`npgrow run`: config is a YAML path or a dict (the same keys); overrides are the CLI flags
    particles, seed, threads, backend, device, t_end. Progress goes to stderr as it comes.
    Returns the opened result (a fresh temporary directory unless outdir is given)."""
    return _start("run", config, _RUN_FLAGS, outdir, force, quiet, overrides)


def me(config, outdir=None, force=False, **overrides):
    """`npgrow me` (the master equation, CVODE): like run(); override t_end."""
    return _start("me", config, _ME_FLAGS, outdir, force, False, overrides)
