"""The lip-motion front end: LipNet's 3D-convolution stack with an optional channel attention.

``lipformer.md`` section 1.1: three blocks Conv3d-BN3d-ReLU-Dropout3d-MaxPool3d(1,2,2) with 32, 64 and 96
channels (kernels (3,5,5) stride (1,2,2), (3,5,5), (3,3,3); LipNet, Assael et al. 2016), then per frame the
channel branch of CBAM (hint of the unofficial re-implementation). Features of padded frames are zeroed
after every block, so a clip's output does not depend on how much padding its batch has.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_KERNELS = ((3, 5, 5), (3, 5, 5), (3, 3, 3))
_STRIDES = ((1, 2, 2), (1, 1, 1), (1, 1, 1))
_PADDINGS = ((1, 2, 2), (1, 2, 2), (1, 1, 1))


class ChannelAttention(nn.Module):
    """CBAM channel branch per frame: ``F * sigmoid(MLP(avgpool_hw F) + MLP(maxpool_hw F))``, MLP C -> C/r -> C."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.stack([x.mean(dim=(3, 4)), x.amax(dim=(3, 4))]).transpose(2, 3)  # [2, B, T, C]
        weights = torch.sigmoid(self.mlp(pooled).sum(dim=0)).transpose(1, 2)  # [B, C, T]
        return x * weights[..., None, None]


class LipFrontEnd(nn.Module):
    """``[B, C, T, H, W]`` frames -> ``[B, T, channels[-1] * h * w]`` per-frame features."""

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 96),
        dropout: float = 0.2,
        channel_attention: bool = True,
        reduction: int = 8,
    ):
        super().__init__()
        widths = (in_channels, *channels)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv3d(widths[i], widths[i + 1], _KERNELS[i], _STRIDES[i], _PADDINGS[i]),
                nn.BatchNorm3d(widths[i + 1]),
                nn.ReLU(),
                nn.Dropout3d(dropout),
                nn.MaxPool3d((1, 2, 2)),
            )
            for i in range(3)
        )
        self.attention = ChannelAttention(channels[-1], reduction) if channel_attention else None
        self.out_channels = channels[-1]

    @staticmethod
    def output_size(height: int, width: int) -> tuple[int, int]:
        """Spatial size after the three blocks (50x100 -> 3x6, 32x64 -> 2x4)."""
        for (_, kh, kw), (_, sh, sw), (_, ph, pw) in zip(_KERNELS, _STRIDES, _PADDINGS):
            height = ((height + 2 * ph - kh) // sh + 1) // 2
            width = ((width + 2 * pw - kw) // sw + 1) // 2
        return height, width

    def feature_dim(self, height: int, width: int) -> int:
        h, w = self.output_size(height, width)
        return self.out_channels * h * w

    def forward(self, frames: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``valid [B, T]`` bool marks real frames."""
        keep = valid[:, None, :, None, None].to(frames.dtype)
        x = frames * keep
        for block in self.blocks:
            x = block(x) * keep
        if self.attention is not None:
            x = self.attention(x)
        return x.permute(0, 2, 1, 3, 4).flatten(2)
