"""recsys-fair: fairness-aware and multimodal graph recommenders on torch-geometric sparse operations.

Methods: FDA (fairness-aware data augmentation), MEGCF (multimodal entity graph
collaborative filtering), JMP-GCF (multi-grained popularity-aware graph collaborative
filtering), with MF and LightGCN baselines.

The shared foundation (``recsys-common.md``): :class:`InteractionData` and its readers
(:func:`load_movielens`, :func:`load_ngcf`, :func:`load_megcf`), splits, the synthetic generator
(:func:`synthetic_interactions`), samplers, :func:`normalized_adjacency`, the evaluators
(:func:`evaluate_full_sort`, :func:`evaluate_sampled`) with ranking and fairness metrics, the
:class:`Trainer`, and the registered models ``MF``, ``LightGCN``, ``LightGCN-PyG`` and ``MostPop``.

The methods: :class:`FDA` (registered ``FDA-MF``, ``FDA-GCCF``, ``FDA-LightGCN``, with the ``GCCF``
backbone and the paper's evaluation :func:`evaluate_fda`), :class:`MEGCF` and :class:`JMPGCF`
(registered ``MEGCF``, ``JMP-GCF``).
"""

from .data import (
    InteractionData,
    PairwiseSampler,
    SyntheticConfig,
    UserBatchSampler,
    holdout_from_train,
    load_megcf,
    load_movielens,
    load_ngcf,
    split_leave_one_out,
    split_random,
    synthetic_interactions,
)
from .evaluation import Evaluation, evaluate_full_sort, evaluate_sampled
from .fda_eval import evaluate_fda
from .models import (
    FDA,
    GCCF,
    JMPGCF,
    MEGCF,
    MF,
    FDAModel,
    LightGCN,
    LightGCNPyG,
    MostPopular,
    normalized_adjacency,
    propagate,
)
from .registry import MODELS
from .training import Trainer, build_model, make_sampler

__version__ = "0.1.0"

__all__ = [
    "FDA",
    "FDAModel",
    "GCCF",
    "JMPGCF",
    "MEGCF",
    "MF",
    "MODELS",
    "Evaluation",
    "InteractionData",
    "LightGCN",
    "LightGCNPyG",
    "MostPopular",
    "PairwiseSampler",
    "SyntheticConfig",
    "Trainer",
    "UserBatchSampler",
    "__version__",
    "build_model",
    "evaluate_fda",
    "evaluate_full_sort",
    "evaluate_sampled",
    "holdout_from_train",
    "load_megcf",
    "load_movielens",
    "load_ngcf",
    "make_sampler",
    "normalized_adjacency",
    "propagate",
    "split_leave_one_out",
    "split_random",
    "synthetic_interactions",
]
