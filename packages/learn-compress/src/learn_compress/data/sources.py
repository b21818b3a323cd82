"""One string names a classification data source, for the CLI and the benchmark.

- ``synthetic`` (or ``synthetic:N``): :func:`make_synthetic_images` with ``N``
  images (default 2,000 for train, 2,000 for test; the splits differ in ``sample_seed``);
- a ``.npz`` file: :func:`load_cifar_npz`;
- a ``cifar-10-batches-py`` folder: :func:`load_cifar_batches` of the split;
- a folder laid out like the shared ``cifar10/`` (``test.npz``, ``train.npz`` or ``train-20k.npz``).
"""

from __future__ import annotations

from pathlib import Path

from lab_common import DataFormatError

from .cifar import CifarArrays, load_cifar_batches, load_cifar_npz
from .synthetic_images import make_synthetic_images

_NPZ_NAMES = {"train": ("train.npz", "train-20k.npz"), "test": ("test.npz",)}


def load_image_arrays(source: str, split: str = "train", world_seed: int = 0) -> CifarArrays:
    """The ``split`` (``train`` or ``test``) of the data source named by ``source``."""
    if split not in _NPZ_NAMES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source == "synthetic" or source.startswith("synthetic:"):
        n = int(source.partition(":")[2] or 2000)
        return make_synthetic_images(n, world_seed=world_seed, sample_seed=1 if split == "train" else 2)
    path = Path(source).expanduser()
    if path.is_file():
        return load_cifar_npz(path)
    if (path / "data_batch_1").is_file() or (path / "test_batch").is_file():
        return load_cifar_batches(path, split)
    for name in _NPZ_NAMES[split]:
        if (path / name).is_file():
            return load_cifar_npz(path / name)
    raise DataFormatError(
        path,
        None,
        f"'synthetic[:N]', a .npz file, a cifar-10-batches-py folder or a folder with {' or '.join(_NPZ_NAMES[split])}",
        "none of these" if path.exists() else "no such file or folder",
    )
