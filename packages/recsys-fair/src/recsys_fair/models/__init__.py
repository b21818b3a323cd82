"""Recommenders (one module per paper) and their shared building blocks."""

from .base import GraphRecommender, Recommender
from .fda import FDA, FDAGCCF, FDAMF, FDALightGCN, FDAModel
from .gccf import GCCF
from .graph import interaction_adjacency, normalized_adjacency, propagate, to_edge_index
from .jmpgcf import JMPGCF
from .lightgcn import LightGCN
from .losses import bpr_loss, l2_batch_mean, l2_half_sum
from .megcf import MEGCF
from .mf import MF
from .popularity import MostPopular
from .pyg_peer import LightGCNPyG

__all__ = [
    "FDA",
    "FDAGCCF",
    "FDALightGCN",
    "FDAMF",
    "FDAModel",
    "GCCF",
    "GraphRecommender",
    "JMPGCF",
    "LightGCN",
    "LightGCNPyG",
    "MEGCF",
    "MF",
    "MostPopular",
    "Recommender",
    "bpr_loss",
    "interaction_adjacency",
    "l2_batch_mean",
    "l2_half_sum",
    "normalized_adjacency",
    "propagate",
    "to_edge_index",
]
