"""What every data set of the package shares (vision-common §1).

A data set is a list of *records* (the source files of one sample, by role: ``gt_l``, ``gt_r``,
``lq_l``, ``lq_r`` for stereo, ``lq``, ``gt`` for mono) built and validated when the data set is
constructed; images are read, size-checked and transformed when a sample is asked for.

Randomness: sample ``i`` of a data set with seed ``s`` draws from
``torch.Generator().manual_seed(s * 1_000_003 + i)`` (mixed with the epoch unless ``fixed``), so a
sample never depends on worker count or order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ..io import check_same_size, read_image

Sample = dict[str, Any]
Transform = Callable[[Sample, torch.Generator], Sample]

SEED_STRIDE = 1_000_003
EPOCH_STRIDE = 7_919


def sample_generator(seed: int, index: int, epoch: int | None = None) -> torch.Generator:
    """The generator of sample ``index`` (vision-common §1); ``epoch=None`` is the fixed (evaluation) draw."""
    value = seed * SEED_STRIDE + index + (0 if epoch is None else (epoch + 1) * EPOCH_STRIDE * SEED_STRIDE)
    return torch.Generator().manual_seed(value % 2**63)


@dataclass(frozen=True)
class Record:
    """The files of one sample: ``files[role] = path``; ``label`` is e.g. the test subset."""

    name: str
    files: dict[str, Path]
    label: str | None = None
    extra: dict[str, Path] = field(default_factory=dict)


class Compose:
    """Apply transforms in order, all drawing from the sample's generator."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        for transform in self.transforms:
            sample = transform(sample, generator)
        return sample


class RecordDataset(Dataset):
    """Images of a list of records, read on demand, all views of a sample checked to share one size.

    ``transform(sample, generator)`` (crops, stereo-safe flips) runs on the decoded sample;
    ``fixed=False`` mixes the epoch (see :meth:`set_epoch`) into the generator.
    """

    def __init__(
        self, records: Sequence[Record], transform: Transform | None = None, seed: int = 0, fixed: bool = True
    ):
        self.records = list(records)
        self.transform = transform
        self.seed = seed
        self.fixed = fixed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def generator(self, index: int) -> torch.Generator:
        return sample_generator(self.seed, index, None if self.fixed else self.epoch)

    def __getitem__(self, index: int) -> Sample:
        record = self.records[index]
        images = {role: read_image(path) for role, path in record.files.items()}
        check_same_size({record.files[role]: image for role, image in images.items()})
        sample: Sample = {**images, "name": record.name, "paths": {k: str(v) for k, v in record.files.items()}}
        if record.label is not None:
            sample["subset"] = record.label
        sample.update(self.read_extra(record))
        if self.transform is not None:
            sample = self.transform(sample, self.generator(index))
        return sample

    def read_extra(self, record: Record) -> Sample:
        """Non-image files of a record (disparity maps); none by default."""
        return {}


def collate(samples: Sequence[Sample]) -> Sample:
    """Stack the tensors of equal-size samples; other entries (names, paths, parameters) become lists."""
    batch: Sample = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        batch[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return batch
