"""Datasets: the ``InteractionData`` type, readers of real formats, splits, the synthetic generator, samplers."""

from .dataset import InteractionData
from .megcf import load_megcf
from .movielens import load_movielens
from .ngcf import load_ngcf
from .samplers import PairwiseSampler, UserBatchSampler
from .splits import holdout_from_train, k_core, split_leave_one_out, split_random
from .synthetic import SyntheticConfig, synthetic_interactions

__all__ = [
    "InteractionData",
    "PairwiseSampler",
    "SyntheticConfig",
    "UserBatchSampler",
    "holdout_from_train",
    "k_core",
    "load_megcf",
    "load_movielens",
    "load_ngcf",
    "split_leave_one_out",
    "split_random",
    "synthetic_interactions",
]
