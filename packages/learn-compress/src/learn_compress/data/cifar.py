"""CIFAR data: readers, normalisation constants, a Dataset with the standard augmentation.

Implements ``compress-common.md`` section 2.

- :func:`load_cifar_npz` reads the ``.npz`` layout (``images`` uint8 ``[N, 32, 32, 3]``
  RGB, ``labels`` integer ``[N]``, optional ``classes``) of the shared
  ``cifar10/test.npz`` and ``train-20k.npz``;
- :func:`load_cifar_batches` reads the original python-pickle
  ``cifar-10-batches-py`` folder through :func:`lab_common.restricted_load`;
- :data:`NORMALIZATIONS` holds the statistics each model family was trained with
  (the akamaster ResNet checkpoints use the ImageNet ones);
- :class:`CifarDataset` applies RandomCrop(32, padding=4) + RandomHorizontalFlip
  at training time (SwitOKD official code), on tensors, with torch's global RNG
  so a checkpointed RNG state replays the same augmentations.

Both shared files are sorted by class: draw subsets with :func:`stratified_subset`,
never by slicing.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lab_common import NUMPY_ARRAY_GLOBALS, DataFormatError, restricted_load

CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100 = ((0.5071, 0.4867, 0.4408), (0.2675, 0.2557, 0.2761))
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
TINY_SWITOKD = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
NORMALIZATIONS = {"cifar10": CIFAR10, "cifar100": CIFAR100, "imagenet": IMAGENET, "tiny_switokd": TINY_SWITOKD}
"""(mean, std) per channel, by name; ``"imagenet"`` is what the akamaster checkpoints were trained with."""

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class CifarArrays:
    """Images ``uint8 [N, H, W, 3]`` (RGB, HWC), labels ``int64 [N]`` in ``[0, len(classes))``, class names."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, indices: np.ndarray) -> CifarArrays:
        return CifarArrays(self.images[indices], self.labels[indices], self.classes)


def stratified_subset(arrays: CifarArrays, n: int, seed: int = 0) -> CifarArrays:
    """``n`` items with (as nearly as possible) equal counts per class, drawn by a seeded permutation.

    Each class contributes ``n // C`` items (the first ``n % C`` classes one more),
    taken from a seeded permutation of that class; the result keeps the
    permutation order interleaved by rank so any prefix is also near-balanced.
    """
    if not 0 < n <= len(arrays):
        raise ValueError(f"subset size must be in [1, {len(arrays)}], got {n}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(arrays))
    labels = arrays.labels[order]
    # rank of each item within its class, in permutation order
    sort = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[sort], labels[sort])
    rank = np.empty(len(order), dtype=np.int64)
    rank[sort] = np.arange(len(order)) - starts
    counts = np.bincount(arrays.labels, minlength=arrays.num_classes)
    classes = np.arange(arrays.num_classes)
    quota = n // arrays.num_classes + (classes < n % arrays.num_classes)
    if np.any(quota > counts):
        raise ValueError(f"a stratified subset of {n} needs {quota.max()} per class; the smallest has {counts.min()}")
    keep = rank < quota[labels]
    chosen = order[keep][np.lexsort((labels[keep], rank[keep]))]
    return arrays.subset(chosen)


def normalize(images: np.ndarray | torch.Tensor, name: str = "cifar10") -> torch.Tensor:
    """uint8 NHWC (or HWC) images -> float32 NCHW (CHW): divide by 255, then standardise with ``name``'s stats."""
    mean, std = _stats(name)
    x = torch.as_tensor(images)
    x = x.permute(*range(x.dim() - 3), -1, -3, -2).float().div_(255.0)
    return (x - mean.view(3, 1, 1)) / std.view(3, 1, 1)


def _stats(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if name not in NORMALIZATIONS:
        raise KeyError(f"unknown normalization {name!r}; known: {', '.join(sorted(NORMALIZATIONS))}")
    mean, std = NORMALIZATIONS[name]
    return torch.tensor(mean), torch.tensor(std)


def load_cifar_npz(path: str | os.PathLike) -> CifarArrays:
    """Read a CIFAR ``.npz`` (``images`` uint8 ``[N, H, W, 3]``, ``labels`` integer ``[N]``, optional ``classes``).

    Raises :class:`~lab_common.DataFormatError` naming the file, the key, what
    was expected and what was found for a missing key, a wrong dtype or shape, a
    label outside ``[0, C)`` or a length mismatch. ``C`` is ``len(classes)`` when
    the file has them, else 10.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            found = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFormatError(path, None, "a NumPy .npz archive", f"unreadable content ({exc})") from exc
    for key in ("images", "labels"):
        if key not in found:
            raise DataFormatError(path, f"key {key!r}", "arrays 'images' and 'labels'", f"keys {sorted(found)}")
    classes = _classes(path, found.get("classes"))
    return _validated(path, found["images"], found["labels"], classes, where="key")


def _classes(path: Path, raw: np.ndarray | None) -> tuple[str, ...]:
    if raw is None:
        return CIFAR10_CLASSES
    if raw.ndim != 1 or raw.dtype.kind not in "US":
        raise DataFormatError(path, "key 'classes'", "a 1-d string array", f"dtype {raw.dtype}, shape {raw.shape}")
    return tuple(c.decode() if isinstance(c, bytes) else str(c) for c in raw.tolist())


def _validated(path: Path, images, labels, classes: tuple[str, ...], where: str) -> CifarArrays:
    """Check images/labels and return them as :class:`CifarArrays` (``where`` prefixes the item named in errors)."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise DataFormatError(
            path, f"{where} 'images'", "uint8 [N, H, W, 3] (RGB, HWC)", f"dtype {images.dtype}, shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFormatError(path, f"{where} 'labels'", "integer [N]", f"dtype {labels.dtype}, shape {labels.shape}")
    if len(labels) != len(images):
        raise DataFormatError(
            path, f"{where} 'labels'", f"{len(images)} labels (one per image)", f"{len(labels)} labels"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= len(classes)))
    if bad.size:
        raise DataFormatError(
            path, f"{where} 'labels', item {bad[0]}", f"labels in [0, {len(classes)})", f"label {labels[bad[0]]}"
        )
    return CifarArrays(np.ascontiguousarray(images), labels.astype(np.int64), classes)


_SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def load_cifar_batches(directory: str | os.PathLike, split: str = "train") -> CifarArrays:
    """Read the original ``cifar-10-batches-py`` folder (``data_batch_1..5``, ``test_batch``, ``batches.meta``).

    Each batch is a Python-2 pickle of a dict with ``b"data"`` uint8 ``[n, 3072]``
    (channel-major 32x32 planes) and ``b"labels"``; it is read with
    :func:`lab_common.restricted_load`, which admits only plain NumPy arrays and
    builtins, so a tampered pickle is refused, never executed. Everything is
    validated before anything is returned.
    """
    directory = Path(directory)
    if split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    meta_path = directory / "batches.meta"
    classes = CIFAR10_CLASSES
    if meta_path.is_file():
        meta = _load_pickle_dict(meta_path)
        names = meta.get(b"label_names")
        if not isinstance(names, list) or not all(isinstance(n, bytes) for n in names):
            raise DataFormatError(meta_path, "key b'label_names'", "a list of byte strings", repr(type(names)))
        classes = tuple(n.decode() for n in names)
    images, labels = [], []
    for name in _SPLIT_FILES[split]:
        batch_path = directory / name
        if not batch_path.is_file():
            raise DataFormatError(directory, name, f"batch file {name} of the {split} split", "no such file")
        batch = _load_pickle_dict(batch_path)
        data, batch_labels = batch.get(b"data"), batch.get(b"labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            found = f"dtype {data.dtype}, shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
            raise DataFormatError(batch_path, "key b'data'", "uint8 array [n, 3072]", found)
        if not isinstance(batch_labels, (list, np.ndarray)):
            raise DataFormatError(batch_path, "key b'labels'", "a list of integers", type(batch_labels).__name__)
        batch_labels = np.asarray(batch_labels)
        checked = _validated(
            batch_path, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), batch_labels, classes, where="key"
        )
        images.append(checked.images)
        labels.append(checked.labels)
    return CifarArrays(np.concatenate(images), np.concatenate(labels), classes)


def _load_pickle_dict(path: Path) -> dict:
    obj = restricted_load(path, extra_globals=NUMPY_ARRAY_GLOBALS, encoding="bytes")
    if not isinstance(obj, dict):
        raise DataFormatError(path, None, "a pickled dict", type(obj).__name__)
    return obj


def random_crop_flip(images: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """RandomCrop(size, padding) with zero padding + RandomHorizontalFlip(0.5) on a batch ``[B, C, H, W]``.

    Vectorised over the batch: one offset pair and one flip decision per image,
    drawn from ``generator`` (torch's global RNG when None).
    """
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # [B, 1, H, 1]
    cols = torch.arange(w).expand(b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]
    cols = cols[:, None, None, :]  # [B, 1, 1, W]
    batch = torch.arange(b)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]


class CifarDataset(Dataset):
    """``(image float32 [3, H, W], label)`` pairs; with ``train=True`` crop (padding 4) + flip augmentation.

    Images are kept as uint8 and normalised per item, so the zero padding of the
    crop is black before normalisation (as torchvision's RandomCrop on images).
    """

    def __init__(self, arrays: CifarArrays, train: bool = False, normalization: str = "cifar10", padding: int = 4):
        self.arrays = arrays
        self.train = train
        self.normalization = normalization
        self.padding = padding
        self.mean, self.std = _stats(normalization)
        self.images = torch.from_numpy(arrays.images).permute(0, 3, 1, 2).contiguous()  # uint8 NCHW
        self.labels = torch.from_numpy(arrays.labels)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return self.arrays.num_classes

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch(torch.tensor([index]))
        return x[0], y[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Batched fetch used by :class:`~torch.utils.data.DataLoader`: one vectorised augmentation per batch."""
        x, y = self.batch(torch.as_tensor(indices))
        return list(zip(x, y))

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (augmented when training, then normalised) and labels of ``indices``."""
        images = self.images[indices]
        if self.train:
            images = random_crop_flip(images, self.padding)
        x = (images.float() / 255.0 - self.mean.view(1, 3, 1, 1)) / self.std.view(1, 3, 1, 1)
        return x, self.labels[indices]
