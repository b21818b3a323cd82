"""Training transforms that keep the views of a sample aligned (vision-common §3, last paragraph).

Every transform is ``transform(sample, generator) -> sample`` and draws only from ``generator``.
Images are the (C, H, W) entries of a sample, maps (disparity, occlusion) the (H, W) entries; one
window, one flip and one channel permutation apply to all of them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..io import DatasetError
from .base import Sample

IMAGE_KEYS = ("lq_l", "lq_r", "gt_l", "gt_r", "lq", "gt")
MAP_KEYS = ("disp_l", "disp_r", "occ_l", "occ_r")
_SWAP = {
    "lq_l": "lq_r",
    "lq_r": "lq_l",
    "gt_l": "gt_r",
    "gt_r": "gt_l",
    "disp_l": "disp_r",
    "disp_r": "disp_l",
    "occ_l": "occ_r",
    "occ_r": "occ_l",
}


def spatial_keys(sample: Sample) -> list[str]:
    return [k for k in (*IMAGE_KEYS, *MAP_KEYS) if k in sample]


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(high, (1,), generator=generator))


def _coin(generator: torch.Generator) -> bool:
    return bool(torch.rand(1, generator=generator) < 0.5)


class PairedRandomCrop:
    """One random ``h × w`` window for every image and map of the sample.

    An image smaller than the crop raises naming the file, its size and the crop.
    """

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        keys = spatial_keys(sample)
        height, width = sample[keys[0]].shape[-2:]
        if height < self.height or width < self.width:
            path = next(iter(sample.get("paths", {}).values()), sample.get("name", "sample"))
            raise DatasetError(
                Path(path),
                "image size",
                f"at least {self.height}x{self.width} (the training crop)",
                f"{height}x{width}",
            )
        top = _randint(height - self.height + 1, generator)
        left = _randint(width - self.width + 1, generator)
        window = (slice(top, top + self.height), slice(left, left + self.width))
        return {**sample, **{k: sample[k][..., window[0], window[1]] for k in keys}}


class StereoSafeAugment:
    """Vertical flip; horizontal flip **with a left/right swap**; one RGB permutation for all images.

    A plain horizontal flip would turn positive disparities negative; flipping both views and swapping
    them keeps ``x_R = x_L − d`` with ``d ≥ 0`` (disparity and occlusion maps swap alike). No rotation.
    """

    def __init__(self, vflip: bool = True, hflip: bool = True, rgb_permute: bool = True):
        self.vflip, self.hflip, self.rgb_permute = vflip, hflip, rgb_permute

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        sample = dict(sample)
        keys = spatial_keys(sample)
        do_v, do_h = _coin(generator), _coin(generator)
        permutation = torch.randperm(3, generator=generator)
        if self.vflip and do_v:
            sample.update({k: sample[k].flip(-2) for k in keys})
        if self.hflip and do_h:
            sample.update({_SWAP.get(k, k): sample[k].flip(-1) for k in keys})
        if self.rgb_permute:
            sample.update({k: sample[k][permutation] for k in IMAGE_KEYS if k in sample})
        return sample


class MonoAugment:
    """Flips and 90° rotations for single images (the same for ``lq`` and ``gt``)."""

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        sample = dict(sample)
        keys = spatial_keys(sample)
        do_v, do_h = _coin(generator), _coin(generator)
        turns = _randint(4, generator)
        for key in keys:
            image = sample[key]
            image = image.flip(-2) if do_v else image
            image = image.flip(-1) if do_h else image
            sample[key] = torch.rot90(image, turns, dims=(-2, -1))
        return sample
