"""GCCF as FDA uses it (Chen et al., AAAI 2020; fda.md, section 2.3; official code of FDA).

Linear graph convolution with a residual over the user-item graph, users and items jointly::

    W         = 1 / ((|N_u| + 1)(|N_i| + 1)) on every user-item edge   (norm="product", no self-loop entry)
    E^(l+1)   = W E^l + E^l,   l = 0 .. L-1,  L = 2
    final     = [E^0 || E^1 || E^2]                                   (d' = 3d = 192)

``W`` is ``normalized_adjacency(left=1, right=1, self_loop=1, drop_self_loops=True)``; the layer adds
the residual itself. The square-root variant disabled in the official code is ``norm="sqrt"``
(``1 / sqrt((|N_u| + 1)(|N_i| + 1))``). The official code computes a third layer it never uses; it is
not computed here. Tables ``N(0, 0.01^2)`` (official code). The loss is FDA's task loss with no fake
data (fda.md, section 3.1 with ``rho = 0``): ``bpr_loss + weight * l2_batch_mean(u, p, n)`` on the final
(concatenated) representations.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import GraphRecommender
from .graph import interaction_adjacency, propagate
from .losses import bpr_loss, l2_batch_mean

NORMS = {"product": 1.0, "sqrt": 0.5}
"""The exponent of ``(|N_u| + 1)(|N_i| + 1)`` in the denominator of each edge weight."""


def gccf_adjacency(data: InteractionData, norm: str = "product") -> torch.Tensor:
    """GCCF's ``W`` over ``data``'s training pairs (self-loops dropped: the layer adds the residual)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {sorted(NORMS)}, got {norm!r}")
    power = NORMS[norm]
    return interaction_adjacency(data, left=power, right=power, self_loop=1.0, drop_self_loops=True)


@MODELS.register("GCCF")
class GCCF(GraphRecommender):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        adjacency: torch.Tensor,
        dim: int = 64,
        n_layers: int = 2,
        init_std: float = 0.01,
        weight: float = 0.01,
        norm: str = "product",
    ):
        super().__init__()
        self.config = {"dim": dim, "n_layers": n_layers, "init_std": init_std, "weight": weight, "norm": norm}
        self.n_users, self.n_layers, self.weight = n_users, n_layers, weight
        self.set_adjacency(adjacency)
        self.user = nn.Parameter(torch.randn(n_users, dim) * init_std)
        self.item = nn.Parameter(torch.randn(n_items, dim) * init_std)

    @classmethod
    def from_data(cls, data: InteractionData, norm: str = "product", **config) -> GCCF:
        return cls(data.n_users, data.n_items, gccf_adjacency(data, norm), norm=norm, **config)

    def represent(self, user_table: torch.Tensor, item_table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[E^0 || ... || E^L]`` of the given base tables, split into users and items."""
        layers = [torch.cat([user_table, item_table])]
        for _ in range(self.n_layers):
            previous = layers[-1]
            layers.append(propagate(self.adjacency, previous, 1, self.adjacency_t)[1] + previous)
        final = torch.cat(layers, dim=1)
        return final[: self.n_users], final[self.n_users :]

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.represent(self.user, self.item)

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        user_repr, item_repr = self.embeddings()
        u, p, n = user_repr[users], item_repr[positives], item_repr[negatives]
        bpr = bpr_loss((u * p).sum(-1), (u * n).sum(-1))
        reg = self.weight * l2_batch_mean(u, p, n)
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}
