"""npgrow.model: the model's size-dependent quantities for a config, from the C code.

Every number comes from `npgrow mu CONFIG --format csv` (include/npgrow/model.h and rates.h,
the same functions the simulator and the master equation use); nothing here re-implements the
physics.
"""

import io
import os
import tempfile

import numpy as np
import pandas as pd
import yaml

from . import _cli


def _config_path(config, tmpdir):
    """A config file path for a path, a dict, or a Run (its resolved config)."""
    if isinstance(config, (str, os.PathLike)):
        return os.fspath(config)
    if hasattr(config, "config_yaml") and config.config_yaml:
        text = config.config_yaml
    elif isinstance(config, dict):
        text = yaml.safe_dump(config, sort_keys=False)
    else:
        raise TypeError("config: a YAML path, a dict or an npgrow.Run")
    p = os.path.join(tmpdir, "config.yaml")
    with open(p, "w") as f:
        f.write(text)
    return p


def table(config, n_max=10000):
    """DataFrame n, r_nm, mu_excess_kT (beta mu_n), mu_gt_kT (Gibbs-Thomson), A_n
    (association rate at S = 1 [1/time unit]), kd_n (dissociation rate [1/time unit]),
    for n = 1 .. n_max."""
    with tempfile.TemporaryDirectory(prefix="npgrow-model-") as d:
        out = _cli.call(["mu", _config_path(config, d), "--n-max", int(n_max), "--format", "csv"],
                        stream=False)
    df = pd.read_csv(io.StringIO(out))
    return df.rename(columns={"assoc_per_s": "A_n", "dissoc_per_s": "kd_n"})


def mu(config, n_max=10000):
    """(n, beta mu_n [kT]) as numpy arrays."""
    t = table(config, n_max)
    return t["n"].to_numpy(), t["mu_excess_kT"].to_numpy()


def A(config, n_max=10000):
    """(n, A_n [1/time unit]): association rate per unit supersaturation."""
    t = table(config, n_max)
    return t["n"].to_numpy(), t["A_n"].to_numpy()


def kd(config, n_max=10000):
    """(n, k^d_n [1/time unit]): dissociation rate."""
    t = table(config, n_max)
    return t["n"].to_numpy(), t["kd_n"].to_numpy()


def j(config, S, n_max=10000):
    """(n, S A_n - k^d_n): the deterministic growth rate at supersaturation S."""
    t = table(config, n_max)
    return t["n"].to_numpy(), S * t["A_n"].to_numpy() - t["kd_n"].to_numpy()


def critical_sizes(config, S, n_max=10000):
    """(n*, n**): smallest and largest n >= 20 with beta mu_n > ln S (the sizes that shrink),
    or (0, 0) when none do."""
    n, m = mu(config, n_max)
    sel = (n >= 20) & (m > np.log(S))
    if not sel.any():
        return 0, 0
    return int(n[sel].min()), int(n[sel].max())
