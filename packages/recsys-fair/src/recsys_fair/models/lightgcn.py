"""LightGCN (He et al., SIGIR 2020; recsys-common.md, section 8).

``E^l = Ahat E^(l-1)`` with ``Ahat = D^-1/2 A D^-1/2`` (no self-loop), final representation the layer
mean ``sum_{l=0..L} E^l / (L + 1)``, ``L = 3``, ``d = 64``. Separate user and item tables,
Xavier-uniform with limit ``sqrt(6 / (n + d))`` per table as in the TF code of LightGCN, MEGCF and
JMP-GCF (PyG initialises one joint node table instead). Loss ``bpr_loss + 1e-4 * l2_half_sum`` of
the ego (layer-0) rows of the batch; trained with Adam 1e-3 and ``UserBatchSampler``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import GraphRecommender
from .graph import interaction_adjacency, propagate
from .losses import bpr_loss, l2_half_sum


@MODELS.register("LightGCN")
class LightGCN(GraphRecommender):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        adjacency: torch.Tensor,
        dim: int = 64,
        n_layers: int = 3,
        reg_weight: float = 1e-4,
    ):
        super().__init__()
        self.config = {"dim": dim, "n_layers": n_layers, "reg_weight": reg_weight}
        self.n_users, self.n_layers, self.reg_weight = n_users, n_layers, reg_weight
        self.set_adjacency(adjacency)
        self.user = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_users, dim)))
        self.item = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_items, dim)))

    @classmethod
    def from_data(cls, data: InteractionData, **config) -> LightGCN:
        return cls(data.n_users, data.n_items, interaction_adjacency(data), **config)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        layers = propagate(self.adjacency, torch.cat([self.user, self.item]), self.n_layers, self.adjacency_t)
        final = torch.stack(layers).mean(0)
        return final[: self.n_users], final[self.n_users :]

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        user_repr, item_repr = self.embeddings()
        u = user_repr[users]
        bpr = bpr_loss((u * item_repr[positives]).sum(-1), (u * item_repr[negatives]).sum(-1))
        ego = (self.user[users], self.item[positives], self.item[negatives])
        reg = self.reg_weight * l2_half_sum(*ego, batch_size=len(users))
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}
