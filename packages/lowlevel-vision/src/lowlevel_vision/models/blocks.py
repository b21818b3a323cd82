"""Building blocks shared by the package's models.

- :class:`LayerNorm2d`, :class:`SimpleGate` and :class:`NAFBlock`: NAFNet's baseline block (Chen et al.,
  "Simple Baselines for Image Restoration", ECCV 2022), used by the monocular baseline (vision-common §9)
  and, as its BasicBlock, by StereoIRR (stereoirr.md §2.2). Parameters ``7c² + 33c``.
- :class:`StereoModel`: the base of every stereo model (the interface documented in
  :mod:`lowlevel_vision.models`): argument normalisation (two views or one 6-channel tensor) and
  internal zero padding to ``size_multiple``.
"""

from __future__ import annotations

import abc
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """LayerNorm over channels of an NCHW tensor, per pixel (biased variance, affine, eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        normed = (x - mean) / torch.sqrt(var + self.eps)
        return normed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    """``SG(z) = z[:, :c] * z[:, c:]`` (NAFNet)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = x.chunk(2, dim=1)
        return first * second


class NAFBlock(nn.Module):
    """NAFNet's block (stereoirr.md §2.2 BasicBlock)::

        y   = x + β ⊙ PW(c→c)( SCA( SG( DW3×3(2c)( PW(c→2c)( LN(x) ) ) ) ) )
        out = y + γ ⊙ PW(c→c)( SG( PW(c→2c)( LN(y) ) ) )

    with simplified channel attention ``SCA(z) = z * PW(c→c)(GAP(z))``; β and γ per channel, zero
    initialised (the block starts as identity); all convs with bias; ``7c² + 33c`` parameters.
    """

    def __init__(self, channels: int):
        super().__init__()
        c = channels
        self.norm1 = LayerNorm2d(c)
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.depthwise = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.gate = SimpleGate()
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        self.project = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.norm2 = LayerNorm2d(c)
        self.ffn_expand = nn.Conv2d(c, 2 * c, 1)
        self.ffn_project = nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.gate(self.depthwise(self.expand(self.norm1(x))))
        y = x + self.beta * self.project(z * self.attention(z))
        return y + self.gamma * self.ffn_project(self.gate(self.ffn_expand(self.norm2(y))))


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad bottom and right so H and W are multiples of ``multiple``."""
    height, width = x.shape[-2:]
    return F.pad(x, (0, -width % multiple, 0, -height % multiple))


class StereoModel(nn.Module, metaclass=abc.ABCMeta):
    """Base of the stereo models: ``forward(left, right) -> (out_left, out_right)``.

    Subclasses implement :meth:`forward_padded` on inputs whose H and W are multiples of
    ``size_multiple``; this class accepts two (B, 3, H, W) views or one (B, 6, H, W) tensor (left =
    channels 0-2), zero-pads bottom/right and crops the outputs back, so any H, W ≥ 1 works.
    ``config`` holds the constructor arguments (``MODELS.build(name, **model.config)`` rebuilds it).
    """

    size_multiple: int = 1
    config: dict[str, Any]

    def forward(self, left: torch.Tensor, right: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        left, right = split_views(left, right)
        height, width = left.shape[-2:]
        out_l, out_r = self.forward_padded(
            pad_to_multiple(left, self.size_multiple), pad_to_multiple(right, self.size_multiple)
        )
        return out_l[..., :height, :width], out_r[..., :height, :width]

    @abc.abstractmethod
    def forward_padded(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Restore views whose H and W are multiples of ``size_multiple``."""


def split_views(left: torch.Tensor, right: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(left, right)`` from two tensors or from one (B, 6, H, W) tensor."""
    if right is None:
        if left.dim() != 4 or left.shape[1] != 6:
            raise ValueError(f"one input must be a (B, 6, H, W) stereo tensor, got {tuple(left.shape)}")
        return left[:, :3], left[:, 3:]
    if left.shape != right.shape:
        raise ValueError(f"left and right views differ in shape: {tuple(left.shape)} vs {tuple(right.shape)}")
    return left, right
