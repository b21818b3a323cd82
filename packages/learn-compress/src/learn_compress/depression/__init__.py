"""TOAT (Guo et al., arXiv 2206.13256) and its ablations: depression detection from interview topics.

Importing this package registers ``TOAT``, ``TOAT-MeanPool``, ``TOAT-Text`` and ``TOAT-Audio`` in
:data:`learn_compress.registry.MODELS`.
"""

from .batching import InterviewDataset, collate_interviews
from .branches import TopicAttention, TopicBranch, TopicContext
from .config import TOATConfig
from .fusion import fit_fusion_weight, late_fusion
from .model import ABLATIONS, TOAT, build_toat
from .training import TOATTrainer, class_weights, drop_topics, evaluate, predict

__all__ = [
    "ABLATIONS",
    "TOAT",
    "InterviewDataset",
    "TOATConfig",
    "TOATTrainer",
    "TopicAttention",
    "TopicBranch",
    "TopicContext",
    "build_toat",
    "class_weights",
    "collate_interviews",
    "drop_topics",
    "evaluate",
    "fit_fusion_weight",
    "late_fusion",
    "predict",
]
