"""``torch_geometric.nn.models.LightGCN`` behind our recommender interface: the peer of the speed claim.

Used as PyG's own example trains it: ``forward(edge_index, edge_label_index)`` on the positive and
negative (user, item) pairs of the batch, then ``recommendation_loss(pos_rank, neg_rank,
node_id=unique nodes, lambda_reg)``; ``LGConv`` normalises the graph on every call. Same sampler and
batch size as our :class:`~recsys_fair.models.lightgcn.LightGCN`, so the epoch-time ratio compares
the implementations only.
"""

from __future__ import annotations

import torch
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import Recommender
from .graph import user_item_edges


@MODELS.register("LightGCN-PyG")
class LightGCNPyG(Recommender):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        edge_index: torch.Tensor,
        dim: int = 64,
        n_layers: int = 3,
        reg_weight: float = 1e-4,
    ):
        super().__init__()
        self.config = {"dim": dim, "n_layers": n_layers, "reg_weight": reg_weight}
        self.n_users, self.reg_weight = n_users, reg_weight
        self.net = PyGLightGCN(n_users + n_items, dim, n_layers)
        self.register_buffer("edge_index", edge_index, persistent=False)

    @classmethod
    def from_data(cls, data: InteractionData, **config) -> LightGCNPyG:
        edges = user_item_edges(data)
        return cls(data.n_users, data.n_items, torch.cat([edges, edges.flip(0)], 1), **config)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        final = self.net.get_embedding(self.edge_index)
        return final[: self.n_users], final[self.n_users :]

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        label_index = torch.stack([torch.cat([users, users]), torch.cat([positives, negatives]) + self.n_users])
        pos_rank, neg_rank = self.net(self.edge_index, label_index).chunk(2)
        loss = self.net.recommendation_loss(
            pos_rank, neg_rank, node_id=label_index.unique(), lambda_reg=self.reg_weight
        )
        return {"loss": loss}
