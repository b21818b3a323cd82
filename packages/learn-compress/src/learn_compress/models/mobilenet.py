"""MobileNets used by SwitOKD (``compress-common.md`` section 3).

- :class:`MobileNetV2Cifar`: the RCO/CRD MobileNetV2 for CIFAR with a width
  multiplier (stem stride 2, plain ReLU, channels ``int(c * w)`` without rounding,
  an expansion convolution even for t = 1, AvgPool(2, ceil_mode=True) head).
- :func:`mobilenetv2_tv`: torchvision's MobileNetV2 (ReLU6, channels rounded
  to multiples of 8, Dropout 0.2), the Tiny-ImageNet student.
- :class:`MobileNetV1Cifar`: MobileNet v1 with a stride-1 stem, the third
  network of SwitOKD's three-network experiments.
"""

from __future__ import annotations

import math

import torch
import torchvision
from torch import nn

from ..registry import MODELS

# (expansion t, channels c, repeats n, stride s) of MobileNetV2 (Sandler et al. 2018, Table 2); T = ``expansion``
_V2_SETTINGS = ((1, 16, 1, 1), (None, 24, 2, 1), (None, 32, 3, 2), (None, 64, 4, 2), (None, 96, 3, 1))
_V2_SETTINGS += ((None, 160, 3, 2), (None, 320, 1, 1))


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(),
    ]


class InvertedResidual(nn.Module):
    """1x1 expand - BN - ReLU, 3x3 depthwise (stride) - BN - ReLU, 1x1 project - BN; residual iff s=1, in=out."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_ch * expansion
        self.use_residual = stride == 1 and in_ch == out_ch
        self.conv = nn.Sequential(
            *_conv_bn_relu(in_ch, hidden, 1),
            *_conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2Cifar(nn.Module):
    """MobileNetV2, CIFAR variant of RCO/CRD (``mobilenetv2_cifar(expansion=6, width=0.5, num_classes=100)``)."""

    def __init__(self, expansion: int = 6, width: float = 0.5, num_classes: int = 100):
        super().__init__()
        self.num_classes = num_classes
        channels = int(32 * width)
        self.stem = nn.Sequential(*_conv_bn_relu(3, channels, 3, stride=2))
        blocks = []
        for t, c, n, s in _V2_SETTINGS:
            out_ch = int(c * width)
            for i in range(n):
                blocks.append(InvertedResidual(channels, out_ch, s if i == 0 else 1, t or expansion))
                channels = out_ch
        self.blocks = nn.Sequential(*blocks)
        last = int(1280 * width) if width > 1.0 else 1280
        self.head = nn.Sequential(*_conv_bn_relu(channels, last, 1))
        self.pool = nn.AvgPool2d(2, ceil_mode=True)
        self.linear = nn.Linear(last, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = self.pool(self.head(self.blocks(self.stem(x))))
        features = torch.flatten(out, 1)
        logits = self.linear(features)
        return (logits, features) if return_features else logits


@MODELS.register("mobilenetv2_cifar")
def mobilenetv2_cifar(expansion: int = 6, width: float = 0.5, num_classes: int = 100) -> MobileNetV2Cifar:
    """MobileNetV2 for 32x32 inputs with width multiplier ``width`` (RCO/CRD variant)."""
    return MobileNetV2Cifar(expansion, width, num_classes)


@MODELS.register("mobilenetv2_tv")
def mobilenetv2_tv(width: float = 1.4, num_classes: int = 200) -> nn.Module:
    """torchvision's MobileNetV2 (ReLU6, channels rounded to 8, Dropout 0.2, kaiming fan-out init)."""
    return torchvision.models.mobilenet_v2(weights=None, width_mult=width, num_classes=num_classes)


class MobileNetV1Cifar(nn.Module):
    """MobileNet v1 for 32x32 inputs: stride-1 stem, 13 depthwise-separable blocks, Linear(1024, C)."""

    # (output channels, stride) of the 13 depthwise-separable blocks
    CONFIG = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *((512, 1),) * 5, (1024, 2), (1024, 1))

    def __init__(self, num_classes: int = 100):
        super().__init__()
        self.num_classes = num_classes
        layers = _conv_bn_relu(3, 32, 3)
        channels = 32
        for out_ch, stride in self.CONFIG:
            layers += _conv_bn_relu(channels, channels, 3, stride, groups=channels) + _conv_bn_relu(channels, out_ch, 1)
            channels = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = torch.flatten(self.pool(self.features(x)), 1)
        logits = self.linear(features)
        return (logits, features) if return_features else logits


@MODELS.register("mobilenet_v1_cifar")
def mobilenet_v1_cifar(num_classes: int = 100) -> MobileNetV1Cifar:
    """MobileNet v1 for CIFAR (PyTorch default init; SwitOKD's 1/fan_in re-init is the caller's choice)."""
    return MobileNetV1Cifar(num_classes)
