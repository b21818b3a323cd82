"""Metrics the papers report (``compress-common.md`` section 8).

Top-k and per-class accuracy (percentages: ``81.03`` means 81.03 %, as in the papers' tables),
character and word error rates by edit distance (LipFormer), and precision/recall/F1 of the
positive class (TOAT).
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


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance between two sequences (insertion, deletion and substitution each cost 1).

    One row of the dynamic programme at a time: O(len(a) * len(b)) time, O(len(b)) memory.
    """
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _normalize_text(text: str) -> str:
    return " ".join(text.lower().split())


def _error_rate(refs: Sequence[str], hyps: Sequence[str], tokenize) -> float:
    if len(refs) == 0:
        raise ValueError("error rate of an empty reference set")
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    pairs = [(tokenize(_normalize_text(r)), tokenize(_normalize_text(h))) for r, h in zip(refs, hyps)]
    total = sum(len(r) for r, _ in pairs)
    if total == 0:
        raise ValueError("error rate of references that are all empty")
    return sum(levenshtein(r, h) for r, h in pairs) / total


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Character error rate: summed character edit distances over summed reference lengths (spaces count).

    Text is lower-cased and whitespace-collapsed first; this corpus-level ratio is LipNet's "normalised" CER.
    """
    return _error_rate(refs, hyps, list)


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word error rate: :func:`cer` on whitespace-separated words."""
    return _error_rate(refs, hyps, str.split)


def binary_prf(y_true: Sequence[int] | torch.Tensor, y_pred: Sequence[int] | torch.Tensor, positive: int = 1) -> dict:
    """Precision, recall and F1 of the ``positive`` class, macro-F1 over both classes and accuracy.

    A score with a zero denominator (no predicted or no true positive) is 0, never NaN.
    """
    truth = torch.as_tensor(y_true).flatten() == positive
    predicted = torch.as_tensor(y_pred).flatten() == positive
    if truth.shape != predicted.shape:
        raise ValueError(f"{truth.numel()} labels but {predicted.numel()} predictions")
    if truth.numel() == 0:
        raise ValueError("binary_prf of an empty set")

    def prf(t: torch.Tensor, p: torch.Tensor) -> tuple[float, float, float]:
        tp = int((t & p).sum())
        precision = tp / int(p.sum()) if p.any() else 0.0
        recall = tp / int(t.sum()) if t.any() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return precision, recall, f1

    precision, recall, f1 = prf(truth, predicted)
    negative_f1 = prf(~truth, ~predicted)[2]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": (f1 + negative_f1) / 2,
        "accuracy": float((truth == predicted).float().mean()),
    }
