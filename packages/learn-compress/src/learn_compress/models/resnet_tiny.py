"""ResNet-18/34 for 32-64 px inputs (``compress-common.md`` section 3, SwitOKD Tiny-ImageNet teacher).

torchvision's BasicBlock ResNet with the 7x7 stride-2 stem replaced by a 3x3
stride-1 convolution and the max-pool removed; 1x1 conv + BN projection
shortcuts and adaptive average pooling are torchvision's.
"""

from __future__ import annotations

import torchvision
from torch import nn

from ..registry import MODELS

_BUILDERS = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34}


def resnet_tiny(depth: int = 18, num_classes: int = 200) -> nn.Module:
    """ResNet-``depth`` (18 or 34) with a 3x3 stride-1 stem and no max-pool."""
    if depth not in _BUILDERS:
        raise ValueError(f"resnet_tiny depth must be one of {sorted(_BUILDERS)}, got {depth}")
    model = _BUILDERS[depth](weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


@MODELS.register("resnet18_tiny")
def resnet18_tiny(num_classes: int = 200) -> nn.Module:
    """ResNet-18 for small images."""
    return resnet_tiny(18, num_classes)


@MODELS.register("resnet34_tiny")
def resnet34_tiny(num_classes: int = 200) -> nn.Module:
    """ResNet-34 for small images."""
    return resnet_tiny(34, num_classes)
