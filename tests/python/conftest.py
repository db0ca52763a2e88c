"""Shared fixtures: one small particle run (3000 particles, 60 s of the demo) made through
npgrow.run from a config dict with two snapshot times, reused by every test."""
import os
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import npgrow  # noqa: E402

CONFIG = os.path.join(ROOT, "configs", "pt-acac.yaml")


def demo_dict(**output):
    with open(CONFIG) as f:
        d = yaml.safe_load(f)
    d.setdefault("output", {}).update(output)
    return d


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    npgrow.run(demo_dict(snapshots=[10.0, 30.0]), outdir=str(out), particles=3000, t_end=60,
               seed=7, quiet=True)
    return str(out)


@pytest.fixture(scope="session")
def csv_dir(run_dir, tmp_path_factory):
    """The same run without run.h5: open_run falls back to the CSV files."""
    import shutil
    d = tmp_path_factory.mktemp("csv") / "r"
    shutil.copytree(run_dir, d)
    os.remove(d / "run.h5")
    return str(d)
