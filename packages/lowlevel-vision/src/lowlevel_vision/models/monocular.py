"""The monocular baseline (vision-common §9) and the ``Input`` row.

:class:`MonoUNet` is a NAFNet-style U-Net for one image; :class:`Monocular` (registered ``"Monocular"``)
applies one MonoUNet to both views of a pair, stacked in one batch, with the stereo API and no
cross-view exchange. Budget rule: the baseline keeps the method's block counts and takes the smallest
width whose parameter count is ≥ the method's (:meth:`Monocular.matching`), so a method's win over it
is conservative. :class:`InputModel` (registered ``"Input"``) returns the degraded views unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..registry import MODELS
from .blocks import NAFBlock, StereoModel, pad_to_multiple


def _stage(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(NAFBlock(channels) for _ in range(count)))


class MonoUNet(nn.Module):
    """NAFNet-style U-Net (vision-common §9).

    Conv3×3(3→w); per level i (c = w·2^i): ``enc_blocks[i]`` NAFBlocks → skip → Conv2×2 stride 2 (c→2c);
    bottleneck ``middle_blocks`` NAFBlocks at w·2^L; per level up: Conv1×1(2c→4c, no bias) + PixelShuffle(2),
    **add** the skip, ``dec_blocks[i]`` NAFBlocks; ``refine_blocks`` NAFBlocks at full resolution;
    Conv3×3(w→3); output = input + that. Zero padding to a multiple of 2^L, cropped back.
    """

    def __init__(
        self,
        width: int = 32,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 0,
    ):
        super().__init__()
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError(f"enc_blocks and dec_blocks need one entry per level, got {enc_blocks}, {dec_blocks}")
        self.config = {
            "width": width,
            "enc_blocks": tuple(enc_blocks),
            "middle_blocks": middle_blocks,
            "dec_blocks": tuple(dec_blocks),
            "refine_blocks": refine_blocks,
        }
        levels = len(enc_blocks)
        self.size_multiple = 2**levels
        widths = [width * 2**i for i in range(levels)]
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.encoders = nn.ModuleList(_stage(c, n) for c, n in zip(widths, enc_blocks, strict=True))
        self.downs = nn.ModuleList(nn.Conv2d(c, 2 * c, 2, stride=2) for c in widths)
        self.middle = _stage(width * 2**levels, middle_blocks)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1, bias=False), nn.PixelShuffle(2)) for c in widths
        )
        self.decoders = nn.ModuleList(_stage(c, n) for c, n in zip(widths, dec_blocks, strict=True))
        self.refine = _stage(width, refine_blocks)
        self.ending = nn.Conv2d(width, 3, 3, padding=1)

    @staticmethod
    def count_params(
        width: int, enc_blocks: Sequence[int], middle_blocks: int, dec_blocks: Sequence[int], refine_blocks: int = 0
    ) -> int:
        """The closed-form parameter count of vision-common §9 (a test checks it against the module)."""
        total = 28 * width + 27 * width + 3
        for i, (n_enc, n_dec) in enumerate(zip(enc_blocks, dec_blocks, strict=True)):
            c = width * 2**i
            total += (n_enc + n_dec) * (7 * c * c + 33 * c) + 16 * c * c + 2 * c
        bottleneck = width * 2 ** len(enc_blocks)
        total += middle_blocks * (7 * bottleneck**2 + 33 * bottleneck)
        return total + refine_blocks * (7 * width**2 + 33 * width)

    @classmethod
    def matching_width(
        cls,
        target_params: int,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 0,
    ) -> int:
        """The smallest width whose parameter count is ≥ ``target_params`` with these block counts."""
        width = 1
        while cls.count_params(width, enc_blocks, middle_blocks, dec_blocks, refine_blocks) < target_params:
            width += 1
        return width

    @classmethod
    def matching(
        cls,
        target_params: int,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 0,
    ) -> MonoUNet:
        width = cls.matching_width(target_params, enc_blocks, middle_blocks, dec_blocks, refine_blocks)
        return cls(width, enc_blocks, middle_blocks, dec_blocks, refine_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        padded = pad_to_multiple(x, self.size_multiple)
        feature = self.intro(padded)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            feature = encoder(feature)
            skips.append(feature)
            feature = down(feature)
        feature = self.middle(feature)
        for up, decoder, skip in zip(self.ups[::-1], self.decoders[::-1], skips[::-1], strict=True):
            feature = decoder(up(feature) + skip)
        residual = self.ending(self.refine(feature))
        return (padded + residual)[..., :height, :width]


@MODELS.register("Monocular")
class Monocular(StereoModel):
    """The monocular baseline with the stereo API: one :class:`MonoUNet` on both views (batch 2B).

    Constructor arguments are MonoUNet's. :meth:`matching` builds the width-matched baseline of a method
    (vision-common §9 budget rule).
    """

    def __init__(
        self,
        width: int = 32,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 0,
    ):
        super().__init__()
        self.mono = MonoUNet(width, enc_blocks, middle_blocks, dec_blocks, refine_blocks)
        self.config = dict(self.mono.config)
        self.size_multiple = self.mono.size_multiple
        self.block_counts = {k: v for k, v in self.config.items() if k != "width"}

    @classmethod
    def matching(
        cls,
        target: int | nn.Module,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 0,
    ) -> Monocular:
        """The smallest-width baseline with at least ``target`` parameters.

        ``target`` is a parameter count (block counts given here) or a method model, whose parameters are
        counted and whose ``block_counts`` attribute (``enc_blocks``, ``middle_blocks``, ``dec_blocks``,
        ``refine_blocks``), when present, replaces the block counts.
        """
        counts = {
            "enc_blocks": enc_blocks,
            "middle_blocks": middle_blocks,
            "dec_blocks": dec_blocks,
            "refine_blocks": refine_blocks,
        }
        if isinstance(target, nn.Module):
            counts.update(getattr(target, "block_counts", {}))
            target = sum(p.numel() for p in target.parameters())
        return cls(MonoUNet.matching_width(target, **counts), **counts)

    def forward_padded(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.mono(torch.cat([left, right]))
        return out[: left.shape[0]], out[left.shape[0] :]


@MODELS.register("Input")
class InputModel(StereoModel):
    """The ``Input`` row: returns the degraded views themselves (no parameters, nothing to train)."""

    def __init__(self):
        super().__init__()
        self.config = {}

    def forward_padded(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return left.clone(), right.clone()
