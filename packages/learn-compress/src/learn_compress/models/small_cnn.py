"""A small CNN for the synthetic images: the default network of examples, tests and the quick suite.

Not from a paper (assumed design, ``compress-common.md`` section 2): three
conv3x3-BN-ReLU-maxpool stages of ``width``, ``2 width`` and ``4 width``
channels (32 -> 16 -> 8 -> 4 px), global average pooling and a linear head.
Every ReLU site is its own module, like the CIFAR ResNets, so the quantizers
of ``adasg.md`` can wrap it too.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU-pool stages and a linear head (about 94 k parameters at ``width=32``)."""

    def __init__(self, num_classes: int = 10, width: int = 32, in_channels: int = 3):
        super().__init__()
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        channels = in_channels
        for out_ch in (width, 2 * width, 4 * width):
            layers += [
                nn.Conv2d(channels, out_ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = torch.flatten(self.pool(self.features(x)), 1)
        logits = self.linear(features)
        return (logits, features) if return_features else logits


@MODELS.register("small_cnn")
def small_cnn(num_classes: int = 10, width: int = 32, in_channels: int = 3) -> SmallCNN:
    """The small CNN of the synthetic-image examples."""
    return SmallCNN(num_classes, width, in_channels)
