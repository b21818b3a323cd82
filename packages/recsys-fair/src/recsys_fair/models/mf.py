"""BPR-MF (Rendle et al., UAI 2009) as FDA's backbone (recsys-common.md, section 8; fda.md, section 2.3).

Tables ``N(0, 0.01^2)`` (FDA, official code); the representations are the raw tables. Its loss is
FDA's task loss with augmentation off: ``bpr_loss + weight * l2_batch_mean(u, p, n)`` with
``weight = 0.01`` (fda.md, section 3.1 with ``rho = 0``), trained with ``PairwiseSampler``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS
from .base import Recommender
from .losses import bpr_loss, l2_batch_mean


@MODELS.register("MF")
class MF(Recommender):
    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.01, weight: float = 0.01):
        super().__init__()
        self.config = {"dim": dim, "init_std": init_std, "weight": weight}
        self.weight = weight
        self.user = nn.Parameter(torch.randn(n_users, dim) * init_std)
        self.item = nn.Parameter(torch.randn(n_items, dim) * init_std)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user, self.item

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, torch.Tensor]:
        u, p, n = self.user[users], self.item[positives], self.item[negatives]
        bpr = bpr_loss((u * p).sum(-1), (u * n).sum(-1))
        reg = self.weight * l2_batch_mean(u, p, n)
        return {"loss": bpr + reg, "bpr": bpr, "reg": reg}
