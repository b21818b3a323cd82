"""Classification metrics the papers report (``compress-common.md`` section 8): top-k and per-class accuracy.

Accuracies are percentages (``81.03`` means 81.03 %), as in the papers' tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch


def correct_topk(logits: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> dict[int, int]:
    """Number of samples whose label is among the ``k`` largest logits, for each ``k`` (capped at C)."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"expected logits [B, C] and labels [B], got {tuple(logits.shape)} and {tuple(labels.shape)}")
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == labels[:, None]
    return {k: int(hits[:, :k].any(dim=1).sum()) for k in ks}


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 1) -> float:
    """Top-``k`` accuracy in percent."""
    return 100.0 * correct_topk(logits, labels, (k,))[k] / len(labels)


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    return topk_accuracy(logits, labels, 1)


def per_class_accuracy(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Accuracy in percent of each class ``[num_classes]`` (NaN for a class with no sample)."""
    total = torch.bincount(labels, minlength=num_classes).double()
    right = torch.bincount(labels[predictions == labels], minlength=num_classes).double()
    return 100.0 * right / total


def best_and_final(history: Iterable[Mapping[str, Any]], key: str = "test_top1") -> dict[str, float]:
    """Best-over-epochs (the papers' protocol) and final value of ``key``; both are always reported."""
    values = [float(r[key]) for r in history if key in r]
    if not values:
        raise KeyError(f"no record has {key!r}")
    return {"best": max(values), "final": values[-1]}
