"""CIFAR ResNet-20/32/44/56 with option-A shortcuts (He et al. 2016, section 4.2).

Implements ``compress-common.md`` section 1, following the training code of the
pretrained checkpoints (akamaster/pytorch_resnet_cifar10): a 3x3 stem with 16
channels, three stages of ``n`` basic blocks of widths 16/32/64 (depth = 6n + 2),
parameter-free zero-padding ("option A") shortcuts when the shape changes, global
average pooling and a linear head.

Every ReLU site is its own :class:`torch.nn.ReLU` module (stem ``relu``, ``relu1``
and ``relu2`` per block) so that a quantizer can attach one activation range per
site (``adasg.md``); ReLUs have no parameters, so checkpoint keys are unaffected.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lab_common import CheckpointError

from ..registry import MODELS

DEPTHS = (20, 32, 44, 56, 110)


class OptionAShortcut(nn.Module):
    """Shortcut "A" of He et al.: subsample by 2, zero-pad ``pad`` channels on each side (no parameters)."""

    def __init__(self, pad: int):
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """conv3x3(stride) - BN - ReLU - conv3x3 - BN, plus the shortcut, then ReLU."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        if stride != 1 or in_planes != planes:
            self.shortcut: nn.Module = OptionAShortcut(planes // 4)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs; ``forward(x, return_features=True)`` also returns the pooled 64-d feature."""

    def __init__(self, depth: int = 20, num_classes: int = 10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110), got {depth}")
        self.depth = depth
        self.num_classes = num_classes
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        in_planes = 16
        stages = []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            layers = []
            for i in range(blocks):
                layers.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(64, num_classes)
        for module in self.modules():  # kaiming-normal on conv/linear weights (official code)
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        features = torch.flatten(self.pool(out), 1)
        logits = self.linear(features)
        return (logits, features) if return_features else logits


def cifar_resnet(depth: int = 20, num_classes: int = 10) -> CifarResNet:
    """Build a CIFAR ResNet of ``depth`` = 6n + 2 (20, 32, 44, 56, 110)."""
    return CifarResNet(depth, num_classes)


def _register(depth: int) -> None:
    def build(num_classes: int = 10) -> CifarResNet:
        return CifarResNet(depth, num_classes)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = f"CIFAR ResNet-{depth} with option-A shortcuts."
    MODELS.register(f"resnet{depth}", build)


for _depth in DEPTHS:
    _register(_depth)


_BLOCK_KEY = re.compile(r"^layer1\.(\d+)\.")


def load_akamaster(
    path: str | os.PathLike, depth: int | None = None, map_location: str | torch.device = "cpu"
) -> tuple[CifarResNet, dict[str, Any]]:
    """Load a pretrained akamaster checkpoint (``resnet20-12fca82f.th`` ...) into a :class:`CifarResNet`.

    The file is a ``torch.save`` dict ``{"state_dict", "best_prec1"}`` whose keys
    carry the DataParallel prefix ``module.``; it is read with ``weights_only=True``,
    the prefix is stripped and the weights are loaded strictly. ``depth`` is
    inferred from the number of blocks in ``layer1`` when not given. Returns the
    model in eval mode and ``meta`` with ``depth``, ``best_prec1``, ``path`` and
    ``normalization="imagenet"`` (the checkpoints' training script normalises with
    the ImageNet statistics, ``compress-common.md`` section 1).

    Raises :class:`~lab_common.CheckpointError` naming the file and the offending
    keys when a key is missing or unexpected, or the depth does not match.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a dict with a 'state_dict' of tensors, found {type(payload).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    blocks = 1 + max((int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k))), default=-1)
    if depth is None:
        if blocks == 0:
            raise CheckpointError(f"{path}: no 'layer1.<i>.' keys, so the depth cannot be inferred")
        depth = 6 * blocks + 2
    elif blocks != (depth - 2) // 6:
        raise CheckpointError(
            f"{path}: depth {depth} expects {(depth - 2) // 6} blocks per stage, found {blocks} in layer1"
        )
    model = CifarResNet(depth, num_classes=state["linear.weight"].shape[0] if "linear.weight" in state else 10)
    expected = set(model.state_dict())
    missing = sorted(k for k in expected - set(state) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: checkpoint does not match ResNet-{depth}: missing keys {missing}, unexpected keys {unexpected}"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(f"{path}: {exc}") from exc
    model.eval()
    best = payload.get("best_prec1") if isinstance(payload, dict) else None
    meta = {
        "depth": depth,
        "best_prec1": float(best) if best is not None else None,
        "normalization": "imagenet",
        "path": str(path),
    }
    return model, meta
