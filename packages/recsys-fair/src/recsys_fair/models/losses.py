"""Shared losses (recsys-common.md, section 8)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """``mean(softplus(neg - pos))``, equal to ``-mean log sigmoid(pos - neg)`` (Rendle et al., 2009)."""
    return F.softplus(negative - positive).mean()


def l2_batch_mean(*rows: torch.Tensor) -> torch.Tensor:
    """``mean_b sum_t ||x_t[b]||^2`` (FDA's regulariser form)."""
    return sum(x.pow(2).sum(-1) for x in rows).mean()


def l2_half_sum(*rows: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``sum_t 0.5 ||x_t||_F^2 / batch_size`` (TensorFlow ``l2_loss`` form of LightGCN, MEGCF, JMP-GCF)."""
    return sum(0.5 * x.pow(2).sum() for x in rows) / batch_size
