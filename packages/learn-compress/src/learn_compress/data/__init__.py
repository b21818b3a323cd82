"""Data of learn-compress: CIFAR readers, normalisation, the augmenting Dataset and synthetic images."""

from .cifar import (
    CIFAR10,
    CIFAR10_CLASSES,
    CIFAR100,
    IMAGENET,
    NORMALIZATIONS,
    TINY_SWITOKD,
    CifarArrays,
    CifarDataset,
    load_cifar_batches,
    load_cifar_npz,
    normalize,
    random_crop_flip,
    stratified_subset,
)
from .sources import load_image_arrays
from .synthetic_images import make_prototypes, make_synthetic_images

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "CIFAR10_CLASSES",
    "IMAGENET",
    "NORMALIZATIONS",
    "TINY_SWITOKD",
    "CifarArrays",
    "CifarDataset",
    "load_cifar_batches",
    "load_cifar_npz",
    "load_image_arrays",
    "make_prototypes",
    "make_synthetic_images",
    "normalize",
    "random_crop_flip",
    "stratified_subset",
]
