"""Image and disparity files (vision-common §2).

Images are decoded with :func:`torchvision.io.decode_image` into float32 RGB CHW tensors in [0, 1]:
8-bit PNG or JPEG only, grayscale repeated to three channels, an alpha channel dropped. 16-bit PNGs
are accepted only as disparity maps (KITTI convention: value / 256). Every failure raises
:class:`DatasetError` (:class:`lab_common.DataFormatError`) naming the file, what was expected and
what was found. Writing clamps, rounds to uint8 and never overwrites an existing file unless asked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.io import write_png as _tv_write_png

from lab_common import DataFormatError

DatasetError = DataFormatError
"""The error every reader raises (vision-common §2 calls it ``DatasetError``)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


def _read_bytes(path: Path) -> torch.Tensor:
    if not path.is_file():
        raise DatasetError(path, None, "an image file", "no such file")
    data = path.read_bytes()
    if not (data.startswith(_PNG_MAGIC) or data.startswith(_JPEG_MAGIC)):
        head = data[:8].hex() if data else "an empty file"
        raise DatasetError(path, "header", "a PNG or JPEG file", f"bytes {head}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _decode(path: Path) -> torch.Tensor:
    try:
        return decode_image(_read_bytes(path), mode=ImageReadMode.UNCHANGED)
    except RuntimeError as exc:
        raise DatasetError(path, None, "a decodable PNG or JPEG image", f"a corrupt file ({exc})") from exc


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an 8-bit image as float32 RGB (3, H, W) in [0, 1] (vision-common §2)."""
    path = Path(path)
    raw = _decode(path)
    if raw.dtype != torch.uint8:
        raise DatasetError(path, "bit depth", "an 8-bit image (16-bit PNGs are disparity maps only)", str(raw.dtype))
    channels = raw.shape[0]
    if channels in (1, 2):  # grayscale, grayscale + alpha
        raw = raw[:1].expand(3, -1, -1)
    elif channels in (3, 4):  # RGB, RGBA
        raw = raw[:3]
    else:
        raise DatasetError(path, "channels", "1, 2, 3 or 4 channels", f"{channels}")
    return raw.float().div_(255.0).contiguous()


def read_disparity(path: str | os.PathLike) -> torch.Tensor:
    """Read a disparity map (H, W) float32 in pixels.

    16-bit PNG: value / 256 with 0 = invalid (KITTI); PFM (Middlebury ``disp0.pfm``, ``inf`` = invalid);
    ``.npz`` with one array (the shared ``motorcycle_disp.npz``). Invalid pixels become ``nan``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pfm":
        disp = _read_pfm(path)
    elif suffix == ".npz":
        disp = _read_npz(path)
    else:
        raw = _decode(path)
        if raw.dtype != torch.uint16 or raw.shape[0] != 1:
            raise DatasetError(
                path, "format", "a one-channel 16-bit PNG disparity map", f"{raw.dtype} {tuple(raw.shape)}"
            )
        disp = raw[0].to(torch.float32) / 256.0
        disp[raw[0] == 0] = float("nan")
    disp[~torch.isfinite(disp)] = float("nan")
    return disp


def _read_npz(path: Path) -> torch.Tensor:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[k] for k in archive.files]
    except (OSError, ValueError) as exc:
        raise DatasetError(path, None, "a NumPy .npz archive", f"an unreadable file ({exc})") from exc
    two_d = [a for a in arrays if a.ndim == 2]
    if len(two_d) != 1:
        raise DatasetError(path, "arrays", "exactly one 2-D array", f"shapes {[a.shape for a in arrays]}")
    return torch.from_numpy(two_d[0].astype(np.float32))


def _read_pfm(path: Path) -> torch.Tensor:
    with open(path, "rb") as handle:
        header = handle.readline().strip()
        if header not in (b"Pf", b"PF"):
            raise DatasetError(path, "line 1", "'Pf' or 'PF'", repr(header))
        dims = re.fullmatch(rb"\s*(\d+)\s+(\d+)\s*", handle.readline())
        if dims is None:
            raise DatasetError(path, "line 2", "'<width> <height>'", "something else")
        width, height = int(dims.group(1)), int(dims.group(2))
        try:
            scale = float(handle.readline())
        except ValueError as exc:
            raise DatasetError(path, "line 3", "a scale factor", str(exc)) from exc
        channels = 3 if header == b"PF" else 1
        data = np.frombuffer(handle.read(), dtype="<f4" if scale < 0 else ">f4")
    if data.size != width * height * channels:
        raise DatasetError(path, "data", f"{width * height * channels} floats", f"{data.size}")
    array = data.reshape(height, width, channels)[::-1, :, 0]  # PFM rows run bottom to top
    return torch.from_numpy(array.astype(np.float32).copy())


def read_stereo_pair(left: str | os.PathLike, right: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Both views of a rectified pair; views of different sizes raise naming both files and sizes."""
    image_l, image_r = read_image(left), read_image(right)
    check_same_size({Path(left): image_l, Path(right): image_r})
    return image_l, image_r


def check_same_size(images: dict[Path, torch.Tensor]) -> None:
    """Raise when the images of one sample differ in height or width (names every file and size)."""
    sizes = {path: tuple(image.shape[-2:]) for path, image in images.items()}
    if len(set(sizes.values())) > 1:
        first = next(iter(sizes))
        listing = ", ".join(f"{p} {h}x{w}" for p, (h, w) in sizes.items())
        raise DatasetError(first, "image size", "the same height x width in every image of the sample", listing)


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1], scale and round to uint8 (vision-common §2, writing)."""
    return image.detach().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()


def write_png(image: torch.Tensor, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a float (3, H, W) image in [0, 1] as an 8-bit PNG, creating the folder first."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _tv_write_png(to_uint8(image), str(path))
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The PNG/JPEG files of a folder, sorted by name; a missing or empty folder raises."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(folder, None, "a folder of images", "no such folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(folder, None, f"image files ({', '.join(IMAGE_SUFFIXES)})", "an empty folder")
    return files
