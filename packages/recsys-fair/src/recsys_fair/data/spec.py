"""``--data`` specifications of the command line: ``synthetic``, ``synthetic:benchmark``,
``movielens:PATH``, ``ngcf:PATH``, ``megcf:PATH``."""

from __future__ import annotations

from pathlib import Path

from .dataset import InteractionData
from .megcf import load_megcf
from .movielens import load_movielens
from .ngcf import load_ngcf
from .synthetic import SyntheticConfig, synthetic_interactions

FORMATS = {
    "synthetic": "the seeded synthetic generator (600 x 400; 'synthetic:benchmark' gives 2,000 x 1,000)",
    "movielens": "a MovieLens-100K (u.data, u.user) or -1M (ratings.dat, users.dat) folder, per-user 80/10/10 split",
    "ngcf": "an NGCF/LightGCN folder with train.txt and test.txt",
    "megcf": "a MEGCF folder (train/validation/test.txt, i2e_*.txt, item2sentiment.pickle)",
}


def load_dataset(spec: str, seed: int = 0) -> InteractionData:
    """Load the dataset named by ``spec`` (see the module docstring)."""
    kind, _, argument = spec.partition(":")
    if kind == "synthetic":
        if argument not in ("", "benchmark"):
            raise ValueError(f"synthetic takes no argument or 'benchmark', got {argument!r}")
        config = SyntheticConfig.benchmark() if argument == "benchmark" else SyntheticConfig()
        return synthetic_interactions(config, seed=seed)
    if kind not in FORMATS or not argument:
        known = ", ".join(f"{k}:PATH" if k != "synthetic" else k for k in FORMATS)
        raise ValueError(f"--data {spec!r}: expected one of {known}")
    path = Path(argument).expanduser()
    if kind == "movielens":
        return load_movielens(path, seed=seed)
    if kind == "ngcf":
        return load_ngcf(path)
    return load_megcf(path)
