"""Recommenders (one module per paper) and their shared building blocks."""

from .base import GraphRecommender, Recommender
from .graph import interaction_adjacency, normalized_adjacency, propagate, to_edge_index
from .lightgcn import LightGCN
from .losses import bpr_loss, l2_batch_mean, l2_half_sum
from .mf import MF
from .popularity import MostPopular
from .pyg_peer import LightGCNPyG

__all__ = [
    "GraphRecommender",
    "LightGCN",
    "LightGCNPyG",
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
