"""Data specifications of the command line (vision-common §11): ``KIND[:ARGUMENT]`` → a data set.

``synthetic:rain``, ``synthetic:lowlight``, ``synthetic:mono``, ``sufrinnet:PATH``, ``stereorain:PATH``,
``lol:PATH``, ``lsrw:PATH`` (the Huawei camera), ``paired:LQ_DIR,GT_DIR``. Training sets get the paired
random crop and, for stereo, the stereo-safe augmentation; evaluation sets are whole images.
"""

from __future__ import annotations

from torch.utils.data import Dataset

from .base import Compose
from .readers import LOL, LSRW, PairedFolder, StereoRainFolders, SufrinNetFolders
from .synthetic import SyntheticMono, SyntheticStereo
from .transforms import MonoAugment, PairedRandomCrop, StereoSafeAugment

KINDS = ("synthetic", "sufrinnet", "stereorain", "lol", "lsrw", "paired")


def build_dataset(
    spec: str,
    train: bool,
    crop: tuple[int, int] = (64, 128),
    seed: int = 0,
    synthetic_size: int = 100_000,
    eval_size: int = 16,
) -> Dataset:
    """The training (``train=True``) or evaluation data set that ``spec`` names."""
    kind, _, argument = spec.partition(":")
    if kind not in KINDS or not argument:
        raise ValueError(f"data spec must be KIND:ARGUMENT with KIND one of {', '.join(KINDS)}; got {spec!r}")
    if kind == "synthetic":
        size = crop if train else (64, 128)
        count = synthetic_size if train else eval_size
        data_seed = seed if train else 1234
        if argument == "mono":
            return SyntheticMono("heavy", count, size, data_seed, fixed=not train)
        return SyntheticStereo(
            argument, "default" if argument == "rain" else "stereo_bench", count, size, data_seed, fixed=not train
        )
    stereo = kind in ("sufrinnet", "stereorain")
    transform = None
    if train:
        augment = StereoSafeAugment() if stereo else MonoAugment()
        transform = Compose([PairedRandomCrop(*crop), augment])
    options = {"transform": transform, "seed": seed, "fixed": not train}
    if kind == "sufrinnet":
        return SufrinNetFolders(argument, "train" if train else "test", **options)
    if kind == "stereorain":
        return StereoRainFolders(argument, "training" if train else "testing", **options)
    if kind == "lol":
        return LOL(argument, "v1", "train" if train else "test", **options)
    if kind == "lsrw":
        return LSRW(argument, "Huawei", **options)
    lq_dir, comma, gt_dir = argument.partition(",")
    if not comma:
        raise ValueError(f"paired data needs 'paired:LQ_DIR,GT_DIR', got {spec!r}")
    return PairedFolder(lq_dir, gt_dir, "stem", **options)
