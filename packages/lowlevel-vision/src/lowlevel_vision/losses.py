"""Training losses of the low-level vision methods.

SufrinNet (spec ``shared/papers/sufrinnet.md`` §3, official ``losses.py``): a frequency-domain L1
between prediction and target plus 0.1 x total variation of the prediction, summed over both views.

StereoIRR (spec ``shared/papers/stereoirr.md`` §3, reconstruction; the paper's loss is not public): a
fidelity term per view, summed over both views: Charbonnier (default, ε = 1e-3), L1 or PSNR loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "STEREOIRR_FIDELITY",
    "StereoIRRLoss",
    "SufrinNetLoss",
    "charbonnier_loss",
    "frequency_l1",
    "psnr_loss",
    "stereoirr_loss",
    "sufrinnet_loss",
    "sufrinnet_view_loss",
    "total_variation",
]


def frequency_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Frequency-domain L1 ``FR(p, g)`` (spec §3).

    ``mean |[Re F(p), Im F(p)] - [Re F(g), Im F(g)]|`` with ``F = torch.fft.rfftn`` over the last two
    dims (H, W), default ("backward") normalisation. The official code concatenates real and imaginary
    parts on the channel axis; stacking them on a new last axis (``view_as_real``) gives the same mean.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    spectrum_pred = torch.view_as_real(torch.fft.rfftn(pred, dim=(-2, -1)))
    spectrum_target = torch.view_as_real(torch.fft.rfftn(target, dim=(-2, -1)))
    return (spectrum_pred - spectrum_target).abs().mean()


def total_variation(pred: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation ``TV(p)`` of the prediction only (spec §3).

    ``mean |p[..., 1:, :] - p[..., :-1, :]| + mean |p[..., :, 1:] - p[..., :, :-1]|``; equals
    ``kornia.losses.total_variation(p, reduction="mean").mean()``.
    """
    vertical = (pred[..., 1:, :] - pred[..., :-1, :]).abs().mean()
    horizontal = (pred[..., :, 1:] - pred[..., :, :-1]).abs().mean()
    return vertical + horizontal


def sufrinnet_view_loss(pred: torch.Tensor, gt: torch.Tensor, tv_weight: float = 0.1) -> torch.Tensor:
    """One view's share of the SufrinNet objective: ``FR(p, g) + tv_weight · TV(p)`` (spec §3)."""
    return frequency_l1(pred, gt) + tv_weight * total_variation(pred)


def sufrinnet_loss(
    out_left: torch.Tensor,
    out_right: torch.Tensor,
    gt_left: torch.Tensor,
    gt_right: torch.Tensor,
    tv_weight: float = 0.1,
) -> torch.Tensor:
    """SufrinNet objective (spec §3): ``FR(L) + FR(R) + tv_weight * (TV(out_L) + TV(out_R))``, tv_weight 0.1."""
    return sufrinnet_view_loss(out_left, gt_left, tv_weight) + sufrinnet_view_loss(out_right, gt_right, tv_weight)


class SufrinNetLoss(nn.Module):
    """Module form of :func:`sufrinnet_loss`: ``loss((out_left, out_right), (gt_left, gt_right))``."""

    def __init__(self, tv_weight: float = 0.1) -> None:
        super().__init__()
        self.tv_weight = tv_weight

    def forward(
        self, outputs: tuple[torch.Tensor, torch.Tensor], targets: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        return sufrinnet_loss(*outputs, *targets, tv_weight=self.tv_weight)


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier ``mean sqrt((p - g)² + ε²)``, ε = 1e-3 (stereoirr.md §3).

    Not kornia's ``charbonnier_loss`` (a unit-scale robust form ``sqrt((x/c)² + 1) - 1``).
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    return torch.sqrt((pred - target).pow(2) + eps * eps).mean()


def psnr_loss(pred: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Negative PSNR averaged over images (NAFNet's ``PSNRLoss``, stereoirr.md §3 option ``psnr``).

    ``mean_b 10 log10(MSE_b / max² + 1e-8)`` with ``MSE_b`` over one image's (C, H, W); the 1e-8 keeps a
    perfect prediction finite.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    mse = (pred - target).pow(2).flatten(1).mean(dim=1) / max_value**2
    return (10 * torch.log10(mse + 1e-8)).mean()


STEREOIRR_FIDELITY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "charbonnier": charbonnier_loss,
    "l1": F.l1_loss,
    "psnr": psnr_loss,
}
"""The per-view fidelity terms StereoIRR's objective may use (stereoirr.md §3)."""


def stereoirr_loss(
    out_left: torch.Tensor,
    out_right: torch.Tensor,
    gt_left: torch.Tensor,
    gt_right: torch.Tensor,
    kind: str = "charbonnier",
) -> torch.Tensor:
    """StereoIRR objective (stereoirr.md §3, reconstruction): ``f(out_L, gt_L) + f(out_R, gt_R)`` with ``f`` the
    ``kind`` entry of :data:`STEREOIRR_FIDELITY` (``"charbonnier"`` default, ``"l1"``, ``"psnr"``)."""
    if kind not in STEREOIRR_FIDELITY:
        raise ValueError(f"kind must be one of {sorted(STEREOIRR_FIDELITY)}, got {kind!r}")
    fidelity = STEREOIRR_FIDELITY[kind]
    return fidelity(out_left, gt_left) + fidelity(out_right, gt_right)


class StereoIRRLoss(nn.Module):
    """Module form of :func:`stereoirr_loss`: ``loss((out_left, out_right), (gt_left, gt_right))``."""

    def __init__(self, kind: str = "charbonnier") -> None:
        super().__init__()
        if kind not in STEREOIRR_FIDELITY:
            raise ValueError(f"kind must be one of {sorted(STEREOIRR_FIDELITY)}, got {kind!r}")
        self.kind = kind

    def forward(
        self, outputs: tuple[torch.Tensor, torch.Tensor], targets: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        return stereoirr_loss(*outputs, *targets, kind=self.kind)


# RLED-Net (spec ``shared/papers/rled-net.md`` §3, reconstruction; the paper's loss is not on record).
__all__ += ["RLEDNetLoss", "rlednet_loss"]


def rlednet_loss(
    pred: torch.Tensor, target: torch.Tensor, ssim_weight: float = 0.0, eps: float = 1e-3, ssim_window: int = 11
) -> torch.Tensor:
    """RLED-Net objective (rled-net.md §3): ``Charbonnier(p, g; ε) + ssim_weight · (1 − SSIM(p, g))``.

    SSIM is ``kornia.metrics.ssim`` (Gaussian window 11, max value 1) averaged over pixels; ssim_weight
    defaults to 0 (Charbonnier only, ε = 1e-3), and the SSIM map is not computed then.
    """
    loss = charbonnier_loss(pred, target, eps)
    if ssim_weight:
        from kornia.metrics import ssim

        loss = loss + ssim_weight * (1.0 - ssim(pred, target, ssim_window).mean())
    return loss


class RLEDNetLoss(nn.Module):
    """Module form of :func:`rlednet_loss`: ``loss(pred, target)``."""

    def __init__(self, ssim_weight: float = 0.0, eps: float = 1e-3, ssim_window: int = 11) -> None:
        super().__init__()
        self.ssim_weight, self.eps, self.ssim_window = ssim_weight, eps, ssim_window

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return rlednet_loss(pred, target, self.ssim_weight, self.eps, self.ssim_window)
