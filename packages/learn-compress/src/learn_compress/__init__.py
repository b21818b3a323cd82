"""learn-compress: learning under compression and from multimodal signals.

Methods: AdaSG (data-free quantization as a zero-sum game), SwitOKD (switchable online
distillation), LipFormer (visual-landmark lipreading), TOAT (topic-attentive depression
detection).

The foundation they share (``compress-common.md``): CIFAR networks
(:func:`cifar_resnet` with :func:`load_akamaster`, :func:`wrn`, MobileNets, :class:`SmallCNN`)
registered in :data:`MODELS`; CIFAR readers, normalisation and synthetic images
(:mod:`learn_compress.data`); a classification :class:`ClassifierTrainer` and :func:`evaluate`.

The methods: :class:`AdaSG` (with :class:`GDFQ`, :class:`MinMax` and :func:`quantize_model`),
:class:`SwitOKD` (with :class:`DML`, :class:`KD`, :class:`Independent`; :mod:`learn_compress.distill`),
:class:`LipFormer` (with :class:`LipNetCTC`; :mod:`learn_compress.lipreading`) and :class:`TOAT`
(:mod:`learn_compress.depression`); importing the package registers every model in :data:`MODELS`.
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
from .depression import TOAT, TOATConfig, TOATTrainer, build_toat
from .distill import DML, KD, DistillConfig, Independent, SwitOKD, SwitOKDMulti
from .evaluation import evaluate, predict
from .lipreading import LipFormer, LipFormerConfig, LipNetConfig, LipNetCTC, LipReadingTrainer, LipTrainConfig
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
    "AdaSG",
    "CifarArrays",
    "CifarDataset",
    "CifarResNet",
    "ClassifierTrainer",
    "DML",
    "DistillConfig",
    "GDFQ",
    "Independent",
    "KD",
    "LipFormer",
    "LipFormerConfig",
    "LipNetCTC",
    "LipNetConfig",
    "LipReadingTrainer",
    "LipTrainConfig",
    "MODELS",
    "MinMax",
    "MobileNetV1Cifar",
    "MobileNetV2Cifar",
    "SmallCNN",
    "SwitOKD",
    "SwitOKDMulti",
    "TOAT",
    "TOATConfig",
    "TOATTrainer",
    "TrainConfig",
    "WideResNet",
    "__version__",
    "build_model",
    "build_toat",
    "cifar_resnet",
    "evaluate",
    "load_akamaster",
    "load_cifar_batches",
    "load_cifar_npz",
    "load_classifier",
    "load_image_arrays",
    "make_synthetic_images",
    "mobilenet_v1_cifar",
    "mobilenetv2_cifar",
    "mobilenetv2_tv",
    "normalize",
    "predict",
    "quantize_model",
    "resnet_tiny",
    "small_cnn",
    "stratified_subset",
    "wrn",
]
