"""Data of learn-compress: CIFAR readers, normalisation, the augmenting Dataset and synthetic images;
the GRID lipreading corpus, landmarks and the synthetic talking mouths; DAIC-WOZ interviews and the
synthetic interviews."""

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
from .daicwoz import Interview, SegmentationConfig, Topic, load_daicwoz, parse_transcript, read_split, segment_topics
from .grid import GRID_GRAMMAR, GRID_LEXICON, decode_stem, encode_stem, grid_split, parse_align, read_frames, scan_grid
from .landmarks import crop_mouth, load_landmarks, normalize_landmarks
from .sources import load_image_arrays
from .synthetic_images import make_prototypes, make_synthetic_images
from .synthetic_interviews import SyntheticInterviewConfig, make_synthetic_interviews, write_daicwoz_layout
from .synthetic_lips import SyntheticLipConfig, SyntheticLipCorpus, write_grid_layout

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "CIFAR10_CLASSES",
    "CifarArrays",
    "CifarDataset",
    "GRID_GRAMMAR",
    "GRID_LEXICON",
    "IMAGENET",
    "Interview",
    "NORMALIZATIONS",
    "SegmentationConfig",
    "SyntheticInterviewConfig",
    "SyntheticLipConfig",
    "SyntheticLipCorpus",
    "TINY_SWITOKD",
    "Topic",
    "crop_mouth",
    "decode_stem",
    "encode_stem",
    "grid_split",
    "load_cifar_batches",
    "load_cifar_npz",
    "load_daicwoz",
    "load_image_arrays",
    "load_landmarks",
    "make_prototypes",
    "make_synthetic_images",
    "make_synthetic_interviews",
    "normalize",
    "normalize_landmarks",
    "parse_align",
    "parse_transcript",
    "random_crop_flip",
    "read_frames",
    "read_split",
    "scan_grid",
    "segment_topics",
    "stratified_subset",
    "write_daicwoz_layout",
    "write_grid_layout",
]
