"""Distillation quantities of SwitOKD (``switokd.md`` section 1.1) and the losses of its baselines.

All distances are batch means of per-sample L1 distances between probability
vectors, computed on *detached* logits; the switching decision is one boolean
per batch:

- ``s = mean_i ||p_s,i - y_i||_1`` (student to one-hot labels),
  ``t = mean_i ||p_t,i - y_i||_1`` (teacher to labels);
- distillation gap ``G = mean_i ||p_s,i - p_t,i||_1``;
- adaptive switching threshold ``delta = s - eps * t`` with ``eps = exp(-t / (t + s))``;
- expert mode iff ``G > delta`` and ``t < s`` (both conditions, official code).

The official code softens with ``tau = 1`` everywhere and never multiplies the
KL term by ``tau**2``; ``tau`` is kept as a parameter with that default.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

EPS_MIN = math.exp(-0.5)
"""Lower bound of ``eps`` when ``t < s`` (``switokd.md`` section 1.1)."""


class SwitchState(NamedTuple):
    """The per-batch switching quantities of one (teacher, student) pair (0-d tensors; ``expert`` a bool)."""

    s: torch.Tensor
    t: torch.Tensor
    gap: torch.Tensor
    delta: torch.Tensor
    eps: torch.Tensor
    expert: bool


def label_distance(logits: torch.Tensor, labels: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``mean_i ||softmax(z_i / tau) - onehot(y_i)||_1`` on detached logits (``s`` or ``t`` of section 1.1)."""
    probs = F.softmax(logits.detach() / tau, dim=1)
    onehot = F.one_hot(labels, probs.shape[1]).to(probs.dtype)
    return (probs - onehot).abs().sum(dim=1).mean()


def distillation_gap(logits_t: torch.Tensor, logits_s: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``G = mean_i ||p_s,i - p_t,i||_1`` on detached, softened logits (section 1.1)."""
    p_t = F.softmax(logits_t.detach() / tau, dim=1)
    p_s = F.softmax(logits_s.detach() / tau, dim=1)
    return (p_s - p_t).abs().sum(dim=1).mean()


def threshold_eps(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``eps = exp(-t / (t + s))``: the weight of the teacher's distance in the adaptive threshold."""
    return torch.exp(-t / (t + s))


def switch_state(
    logits_t: torch.Tensor,
    logits_s: torch.Tensor,
    labels: torch.Tensor,
    tau: float = 1.0,
    fixed_delta: float | None = None,
    eps_from: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> SwitchState:
    """The pure switching decision of section 1.1-1.2 for one pair.

    ``fixed_delta`` replaces the adaptive threshold by a constant (the paper's
    fixed-threshold ablation; the ``t < s`` condition is kept). ``eps_from``
    ``(s', t')`` computes ``eps`` from another pair's distances: it reproduces
    the official multi-network code's indexing slip (section 1.4) and is only
    used under ``faithful_bug_compat``.
    """
    s = label_distance(logits_s, labels, tau)
    t = label_distance(logits_t, labels, tau)
    gap = distillation_gap(logits_t, logits_s, tau)
    eps = threshold_eps(*(eps_from if eps_from is not None else (s, t)))
    delta = s - eps * t if fixed_delta is None else torch.full_like(s, fixed_delta)
    return SwitchState(s, t, gap, delta, eps, bool(gap > delta) and bool(t < s))


def kl_to(target_logits: torch.Tensor, logits: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``KL(p_target || p) = mean_i sum_c a_ic (log a_ic - log b_ic)`` with the target detached (section 1.2)."""
    log_a = F.log_softmax(target_logits.detach() / tau, dim=1)
    log_b = F.log_softmax(logits / tau, dim=1)
    return (log_a.exp() * (log_a - log_b)).sum(dim=1).mean()


def hinton_kd_loss(
    logits_s: torch.Tensor, logits_t: torch.Tensor, labels: torch.Tensor, temperature: float = 4.0, alpha: float = 0.9
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Offline KD (Hinton et al. 2015; section 1.5): ``(1 - alpha) CE + alpha T^2 KL(p_t^T || p_s^T)``.

    Returns ``(loss, ce, kl)``; the teacher's logits are detached.
    """
    ce = F.cross_entropy(logits_s, labels)
    kl = kl_to(logits_t, logits_s, temperature)
    return (1.0 - alpha) * ce + alpha * temperature**2 * kl, ce, kl
