"""Networks of learn-compress, registered in :data:`learn_compress.registry.MODELS` by name.

``build_model("resnet20")``, ``build_model("wrn16_2", num_classes=100)``,
``build_model("mobilenetv2_cifar", width=0.5)``; ``MODELS.names()`` lists them all.
"""

from __future__ import annotations

import os

from torch import nn

from lab_common import CheckpointError, load_checkpoint

from ..registry import MODELS
from .adasg import GDFQ, AdaSG, ConditionalGenerator, GameConfig, MinMax
from .cifar_resnet import BasicBlock, CifarResNet, OptionAShortcut, cifar_resnet, load_akamaster
from .mobilenet import MobileNetV1Cifar, MobileNetV2Cifar, mobilenet_v1_cifar, mobilenetv2_cifar, mobilenetv2_tv
from .resnet_tiny import resnet_tiny
from .small_cnn import SmallCNN, small_cnn
from .wrn import WideResNet, wrn


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the registered network ``name`` with its constructor arguments (a typo gets a suggestion)."""
    return MODELS.build(name, **kwargs)


def load_classifier(path: str | os.PathLike) -> tuple[nn.Module, str]:
    """A network and its normalisation name from a checkpoint of ``learn-compress train`` or an akamaster file.

    A training checkpoint stores ``config["model"] = {"name", "kwargs", "normalization"}``;
    any other ``torch.save`` file is read by :func:`load_akamaster` (ImageNet normalisation).
    """
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        if "not a lab-common checkpoint" not in str(error):
            raise
        model, meta = load_akamaster(path)
        return model, meta["normalization"]
    spec = checkpoint["config"]["model"]
    model = build_model(spec["name"], **spec["kwargs"])
    model.load_state_dict(checkpoint["state"]["model"])
    return model.eval(), spec["normalization"]


__all__ = [
    "AdaSG",
    "BasicBlock",
    "ConditionalGenerator",
    "GDFQ",
    "GameConfig",
    "MinMax",
    "CifarResNet",
    "MobileNetV1Cifar",
    "MobileNetV2Cifar",
    "OptionAShortcut",
    "SmallCNN",
    "WideResNet",
    "build_model",
    "cifar_resnet",
    "load_akamaster",
    "load_classifier",
    "mobilenet_v1_cifar",
    "mobilenetv2_cifar",
    "mobilenetv2_tv",
    "resnet_tiny",
    "small_cnn",
    "wrn",
]
