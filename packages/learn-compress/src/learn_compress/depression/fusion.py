"""Late (decision-level) fusion of the branch outputs (``toat.md`` §1.4; the rule is assumed).

``prob_avg``: ``P = w softmax(z_text) + (1 - w) softmax(z_audio)`` (default, w = 0.5); ``logit_avg``:
``softmax(w z_text + (1 - w) z_audio)``; ``max``: the larger depressed probability; ``learned``: ``prob_avg``
with ``w = sigmoid(θ)`` fitted on the *training* predictions after the branches are trained
(:func:`fit_fusion_weight`). The branches interact nowhere else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def late_fusion(
    z_text: torch.Tensor, z_audio: torch.Tensor, rule: str = "prob_avg", weight: float = 0.5
) -> torch.Tensor:
    """Fused class probabilities ``[B, 2]`` from the branch logits ``[B, 2]``."""
    if rule in ("prob_avg", "learned"):
        return weight * z_text.softmax(-1) + (1.0 - weight) * z_audio.softmax(-1)
    if rule == "logit_avg":
        return (weight * z_text + (1.0 - weight) * z_audio).softmax(-1)
    if rule == "max":
        depressed = torch.maximum(z_text.softmax(-1)[:, 1], z_audio.softmax(-1)[:, 1])
        return torch.stack([1.0 - depressed, depressed], dim=-1)
    raise ValueError(f"unknown fusion rule {rule!r}")


def fit_fusion_weight(
    p_text: torch.Tensor, p_audio: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor | None = None
) -> float:
    """``w`` in [0.01, 0.99] (grid of 99) minimising the class-weighted NLL of ``w p_text + (1 - w) p_audio``.

    ``p_*`` are ``[N, 2]`` branch probabilities on the training split; a grid search is the exact minimiser
    of this one-parameter problem to 0.01 and cannot diverge (our choice; the paper gives no rule).
    """
    grid = torch.linspace(0.01, 0.99, 99, dtype=p_text.dtype)
    fused = grid[:, None, None] * p_text[None] + (1 - grid[:, None, None]) * p_audio[None]  # [G, N, 2]
    weights = torch.ones(2, dtype=p_text.dtype) if class_weights is None else class_weights.to(p_text.dtype)
    nll = F.nll_loss(
        fused.clamp_min(1e-12).log().flatten(0, 1), labels.repeat(len(grid)), weight=weights, reduction="none"
    ).view(len(grid), -1)
    return float(grid[nll.sum(1).argmin()])
