"""Wide ResNet WRN-d-k, the pre-activation variant released with SwitOKD (``compress-common.md`` section 3).

Follows the SwitOKD official code, which differs from Zagoruyko & Komodakis'
reference in two places kept here as released: the stride of a block sits on
its second convolution, and the head BatchNorm uses ``momentum=0.9`` (PyTorch
convention: running statistics take 90 % of each new batch). The stem
convolution has a bias; the shortcut is identity or a 1x1 convolution with
bias (no BN) when the shape changes. A Dropout module between the two
convolutions exists only when ``dropout > 0`` (the official code defines it
but never applies it, so the default is 0).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import MODELS


class WideBlock(nn.Module):
    """``conv1(relu1(bn1(x)))`` then ``conv2(relu2(bn2(.)))`` (stride on ``conv2``), plus the shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, bias=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        if stride != 1 or in_planes != planes:
            self.shortcut: nn.Module = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=True)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.conv1(self.relu1(self.bn1(x))))
        out = self.conv2(self.relu2(self.bn2(out)))
        return out + self.shortcut(x)


class WideResNet(nn.Module):
    """WRN-``depth``-``k`` for 32x32 inputs: stages of (depth-4)/6 blocks, widths 16k/32k/64k."""

    def __init__(self, depth: int = 16, k: int = 1, num_classes: int = 10, dropout: float = 0.0):
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 40), got {depth}")
        self.depth, self.k, self.num_classes = depth, k, num_classes
        blocks = (depth - 4) // 6
        widths = (16 * k, 32 * k, 64 * k)
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=True)
        in_planes = 16
        stages = []
        for planes, stride in zip(widths, (1, 2, 2)):
            layers = []
            for i in range(blocks):
                layers.append(WideBlock(in_planes, planes, stride if i == 0 else 1, dropout))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn1 = nn.BatchNorm2d(widths[2], momentum=0.9)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(widths[2], num_classes)
        for module in self.modules():  # official init; Linear keeps PyTorch's default
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight, gain=math.sqrt(2))
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        features = torch.flatten(self.pool(self.relu(self.bn1(out))), 1)
        logits = self.linear(features)
        return (logits, features) if return_features else logits


@MODELS.register("wrn")
def wrn(depth: int = 16, k: int = 1, num_classes: int = 10, dropout: float = 0.0) -> WideResNet:
    """WRN-``depth``-``k`` (pre-activation, SwitOKD variant)."""
    return WideResNet(depth, k, num_classes, dropout)


def _register(k: int) -> None:
    def build(num_classes: int = 10, dropout: float = 0.0) -> WideResNet:
        return WideResNet(16, k, num_classes, dropout)

    build.__name__ = build.__qualname__ = f"wrn16_{k}"
    build.__doc__ = f"WRN-16-{k} (pre-activation, SwitOKD variant)."
    MODELS.register(f"wrn16_{k}", build)


for _k in (1, 2, 4, 8, 10):
    _register(_k)
