"""The interface every recommender of recsys-fair implements (recsys-common.md, section 1).

``embeddings() -> (user_repr [U, d'], item_repr [I, d'])``; scores are dot products of the final
representations, so ``full_scores`` is one dense matmul per user chunk; ``loss(users, pos, neg)``
returns a dict with the total under ``"loss"`` plus its named parts. ``forward`` is ``loss``, so a
``DistributedDataParallel`` wrapper sees the whole training computation. ``config`` holds the
constructor arguments (without the data) and ``from_data(data, **config)`` rebuilds the model,
including graphs, from a dataset.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..data.dataset import InteractionData
from .graph import transpose_csr


class Recommender(nn.Module):
    """Base class: dot-product scoring over ``embeddings()``."""

    config: dict[str, Any]

    @classmethod
    def from_data(cls, data: InteractionData, **config: Any) -> Recommender:
        return cls(data.n_users, data.n_items, **config)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``[B]`` scores of the pairs ``(users[b], items[b])``."""
        user_repr, item_repr = self.embeddings()
        return (user_repr[users] * item_repr[items]).sum(-1)

    def full_scores(self, users: torch.Tensor) -> torch.Tensor:
        """``[len(users), n_items]`` scores of every item (call it on a chunk of users)."""
        user_repr, item_repr = self.embeddings()
        return user_repr[users] @ item_repr.T

    def forward(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss(users, positives, negatives)


class GraphRecommender(Recommender):
    """A recommender that propagates over a fixed sparse adjacency ``self.adjacency``.

    The adjacency is an attribute, not a buffer: it is rebuilt from data (never saved in
    checkpoints), follows ``.to(device)``, and stays out of DDP's buffer broadcast (sparse CSR
    tensors cannot be broadcast).
    """

    adjacency: torch.Tensor
    adjacency_t: torch.Tensor

    def set_adjacency(self, adjacency: torch.Tensor) -> None:
        """Keep ``adjacency`` and its transpose (for the backward pass of propagation)."""
        self.adjacency, self.adjacency_t = adjacency, transpose_csr(adjacency)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        self.adjacency, self.adjacency_t = fn(self.adjacency), fn(self.adjacency_t)
        return self
