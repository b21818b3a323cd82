"""Evaluation of a classifier: loss, top-1, top-5 and per-class accuracy on a dataset."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lab_common import progress

from .metrics import correct_topk, per_class_accuracy


@torch.no_grad()
def predict(
    model: nn.Module,
    data: Dataset | DataLoader,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    quiet: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``[N, C]`` and labels ``[N]`` of ``model`` (in eval mode) on ``data``, in order, on the CPU."""
    device = torch.device(device)
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size, shuffle=False)
    was_training = model.training
    model.eval()
    logits, labels = [], []
    try:
        for x, y in progress(loader, quiet=quiet, desc="evaluate"):
            logits.append(model(x.to(device)).float().cpu())
            labels.append(y)
    finally:
        model.train(was_training)
    return torch.cat(logits), torch.cat(labels)


def evaluate(
    model: nn.Module,
    data: Dataset | DataLoader,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    num_classes: int | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """``{"loss", "top1", "top5", "per_class", "n"}`` of ``model`` on ``data`` (accuracies in percent).

    Every process evaluates the whole set (no sampler), so under torchrun each
    rank gets the same numbers without a reduction.
    """
    logits, labels = predict(model, data, device, batch_size, quiet)
    num_classes = num_classes or logits.shape[1]
    hits = correct_topk(logits, labels, (1, 5))
    return {
        "loss": float(F.cross_entropy(logits, labels)),
        "top1": 100.0 * hits[1] / len(labels),
        "top5": 100.0 * hits[5] / len(labels),
        "per_class": per_class_accuracy(logits.argmax(dim=1), labels, num_classes).tolist(),
        "n": len(labels),
    }
