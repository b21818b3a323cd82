"""learn-compress: learning under compression and from multimodal signals.

Methods: AdaSG (data-free quantization as a zero-sum game), SwitOKD (switchable online
distillation), LipFormer (visual-landmark lipreading), TOAT (topic-attentive depression
detection).

The foundation they share (``compress-common.md``): CIFAR networks
(:func:`cifar_resnet` with :func:`load_akamaster`, :func:`wrn`, MobileNets, :class:`SmallCNN`)
registered in :data:`MODELS`; CIFAR readers, normalisation and synthetic images
(:mod:`learn_compress.data`); a classification :class:`ClassifierTrainer` and :func:`evaluate`.
"""

__version__ = "0.1.0"

from .data import (
    CifarArrays,
    CifarDataset,
    load_cifar_batches,
    load_cifar_npz,
    load_image_arrays,
    make_synthetic_images,
    normalize,
    stratified_subset,
)
from .evaluation import evaluate, predict
from .models import (
    GDFQ,
    AdaSG,
    CifarResNet,
    MinMax,
    MobileNetV1Cifar,
    MobileNetV2Cifar,
    SmallCNN,
    WideResNet,
    build_model,
    cifar_resnet,
    load_akamaster,
    load_classifier,
    mobilenet_v1_cifar,
    mobilenetv2_cifar,
    mobilenetv2_tv,
    resnet_tiny,
    small_cnn,
    wrn,
)
from .quantization import quantize_model
from .registry import MODELS
from .trainer import ClassifierTrainer, TrainConfig

__all__ = [
    "GDFQ",
    "AdaSG",
    "MinMax",
    "quantize_model",
    "MODELS",
    "CifarArrays",
    "CifarDataset",
    "CifarResNet",
    "ClassifierTrainer",
    "MobileNetV1Cifar",
    "MobileNetV2Cifar",
    "SmallCNN",
    "TrainConfig",
    "WideResNet",
    "__version__",
    "build_model",
    "cifar_resnet",
    "evaluate",
    "load_akamaster",
    "load_classifier",
    "load_cifar_batches",
    "load_cifar_npz",
    "load_image_arrays",
    "make_synthetic_images",
    "mobilenet_v1_cifar",
    "mobilenetv2_cifar",
    "mobilenetv2_tv",
    "normalize",
    "predict",
    "resnet_tiny",
    "small_cnn",
    "stratified_subset",
    "wrn",
]
