"""Data of lowlevel-vision: readers of published layouts, transforms, degradations, synthetic scenes.

Samples are dicts (vision-common §1): stereo ``lq_l, lq_r, gt_l, gt_r`` (3, H, W), ``name``, ``paths``;
synthetic samples add ``disp_l, disp_r, occ_l, occ_r``; mono ``lq, gt, name, paths``.
"""

from .base import Compose, Record, RecordDataset, collate, sample_generator
from .degrade import Degradation, Degraded, LowLight, StereoRain
from .readers import (
    LOL,
    LSRW,
    Flickr1024,
    KITTIStereo,
    Middlebury,
    PairedFolder,
    StereoFiles,
    StereoPairedFolders,
    StereoRainFolders,
    StereoSRFolders,
    SufrinNetFolders,
)
from .synthetic import LayeredStereoScenes, SyntheticMono, SyntheticStereo
from .transforms import MonoAugment, PairedRandomCrop, StereoSafeAugment

__all__ = [
    "LOL",
    "LSRW",
    "Compose",
    "Degradation",
    "Degraded",
    "Flickr1024",
    "KITTIStereo",
    "LayeredStereoScenes",
    "LowLight",
    "Middlebury",
    "MonoAugment",
    "PairedFolder",
    "PairedRandomCrop",
    "Record",
    "RecordDataset",
    "StereoPairedFolders",
    "StereoFiles",
    "StereoRain",
    "StereoRainFolders",
    "StereoSRFolders",
    "StereoSafeAugment",
    "SufrinNetFolders",
    "SyntheticMono",
    "SyntheticStereo",
    "collate",
    "sample_generator",
]
