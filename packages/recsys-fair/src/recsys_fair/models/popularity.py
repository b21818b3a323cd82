"""Most-popular ranking: every user gets the items with the most training interactions.

Not trainable; the reference a personalised model must beat (recsys-common.md, section 11, item 11).
Expressed as one-dimensional representations (user 1, item = its training count) so the common
evaluators score it like any other model.
"""

from __future__ import annotations

import torch

from ..data.dataset import InteractionData
from ..registry import MODELS
from .base import Recommender


@MODELS.register("MostPop")
class MostPopular(Recommender):
    def __init__(self, n_users: int, item_counts: torch.Tensor):
        super().__init__()
        self.config = {}
        self.register_buffer("user_repr", torch.ones(n_users, 1))
        self.register_buffer("item_repr", item_counts.float().view(-1, 1))

    @classmethod
    def from_data(cls, data: InteractionData) -> MostPopular:
        return cls(data.n_users, torch.bincount(data.train[:, 1], minlength=data.n_items))

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_repr, self.item_repr

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        raise TypeError("MostPop is not trainable: it ranks items by their training counts (build it with from_data)")
