"""PSNR and SSIM with the protocols of vision-common §6, and their stereo wrappers.

Per image, in float64, then averaged over images by the caller (mean of per-image values, never a pooled
MSE). Protocols:

========== ====== ======================================= ===========================
protocol   colour quantisation to 0-255                    used by
========== ====== ======================================= ===========================
rgb        RGB    clamp, round                             StereoIRR, RLED-Net, bench
sufrinnet  RGB    clamp, truncate ``uint8(x·255)``         SufrinNet (official code)
y_matlab   Y      clamp, round; Y rounded (half away 0)    MATLAB ``rgb2ycbcr`` on uint8
y_basicsr  Y      clamp, round; Y kept as float            BasicSR
========== ====== ======================================= ===========================

Y is ITU-R BT.601 studio swing ``16 + 65.481 R + 128.553 G + 24.966 B`` (R, G, B in [0, 1]); kornia's
``rgb_to_ycbcr`` is the full-range JPEG form and is not used. SSIM: Gaussian window 11 taps σ 1.5,
K1 0.01, K2 0.03, L 255, valid region only (``kornia.metrics.ssim(..., padding="valid")``).
"""

from __future__ import annotations

import kornia
import torch

PROTOCOLS = ("rgb", "sufrinnet", "y_matlab", "y_basicsr")
_BT601 = (65.481, 128.553, 24.966)


def quantize(image: torch.Tensor, protocol: str = "rgb") -> torch.Tensor:
    """Float image in [0, 1] → float64 values on the 0-255 grid the protocol compares."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    scaled = image.detach().to(torch.float64).clamp(0, 1) * 255.0
    return torch.floor(scaled) if protocol == "sufrinnet" else torch.round(scaled)


def rgb_to_y(image255: torch.Tensor, round_result: bool) -> torch.Tensor:
    """BT.601 studio-swing luma (B, 1, H, W) of RGB on the 0-255 scale; white → 235, black → 16."""
    weights = torch.tensor(_BT601, dtype=torch.float64, device=image255.device).view(1, 3, 1, 1)
    y = 16.0 + (image255.to(torch.float64) / 255.0 * weights).sum(1, keepdim=True)
    return torch.sign(y) * torch.floor(y.abs() + 0.5) if round_result else y


def prepare(image: torch.Tensor, protocol: str = "rgb", crop_border: int = 0) -> torch.Tensor:
    """Quantise, convert to Y where the protocol asks, crop ``crop_border`` pixels from all four sides."""
    batch = image if image.dim() == 4 else image.unsqueeze(0)
    values = quantize(batch, protocol)
    if protocol.startswith("y_"):
        values = rgb_to_y(values, round_result=protocol == "y_matlab")
    if crop_border:
        values = values[..., crop_border:-crop_border, crop_border:-crop_border]
    return values


def psnr(pred: torch.Tensor, gt: torch.Tensor, protocol: str = "rgb", crop_border: int = 0) -> torch.Tensor:
    """Per-image PSNR ``10·log10(255² / MSE)`` (B,) in float64; identical images give ``inf``."""
    a, b = prepare(pred, protocol, crop_border), prepare(gt, protocol, crop_border)
    _check_shapes(a, b)
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(255.0**2 / mse)


def ssim(pred: torch.Tensor, gt: torch.Tensor, protocol: str = "rgb", crop_border: int = 0) -> torch.Tensor:
    """Per-image SSIM (B,), averaged over channels and the valid region of the 11×11 Gaussian window."""
    a, b = prepare(pred, protocol, crop_border), prepare(gt, protocol, crop_border)
    _check_shapes(a, b)
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels after cropping, got {tuple(a.shape[-2:])}")
    return kornia.metrics.ssim(a, b, 11, max_val=255.0, padding="valid").flatten(1).mean(1)


def _check_shapes(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"prediction and ground truth differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")


def stereo_metrics(
    pred_l: torch.Tensor,
    pred_r: torch.Tensor,
    gt_l: torch.Tensor,
    gt_r: torch.Tensor,
    protocol: str = "rgb",
    left_crop: int = 0,
    crop_border: int = 0,
) -> dict[str, float]:
    """Left, right and (L+R)/2 PSNR/SSIM over a batch of pairs: means of per-image values.

    ``left_crop=64`` drops the 64 leftmost columns of the left view only (stereo super-resolution
    convention). ``psnr_avg = (mean psnr_l + mean psnr_r) / 2``.
    """
    if left_crop:
        pred_l, gt_l = pred_l[..., left_crop:], gt_l[..., left_crop:]
    accumulator = MetricAccumulator(("l", "r"), protocol, crop_border)
    accumulator.update((pred_l, pred_r), (gt_l, gt_r))
    return accumulator.result()


class MetricAccumulator:
    """Collect per-image PSNR/SSIM of the views over many batches; :meth:`result` gives the means."""

    def __init__(self, views: tuple[str, ...] = ("l", "r"), protocol: str = "rgb", crop_border: int = 0):
        self.views, self.protocol, self.crop_border = views, protocol, crop_border
        self.values: dict[str, list[torch.Tensor]] = {f"{m}_{v}": [] for v in views for m in ("psnr", "ssim")}

    def update(self, preds: tuple[torch.Tensor, ...], gts: tuple[torch.Tensor, ...]) -> None:
        for view, pred, gt in zip(self.views, preds, gts, strict=True):
            self.values[f"psnr_{view}"].append(psnr(pred, gt, self.protocol, self.crop_border).cpu())
            self.values[f"ssim_{view}"].append(ssim(pred, gt, self.protocol, self.crop_border).cpu())

    def result(self) -> dict[str, float]:
        means = {k: torch.cat(v).mean().item() for k, v in self.values.items()}
        if len(self.views) == 1:
            return {k.rsplit("_", 1)[0]: v for k, v in means.items()}
        for metric in ("psnr", "ssim"):
            means[f"{metric}_avg"] = sum(means[f"{metric}_{v}"] for v in self.views) / len(self.views)
        return means
