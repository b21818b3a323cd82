"""Helpers of the lowlevel-vision tests: tiny image files written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


def save_png(
    path: Path, height: int = 8, width: int = 12, channels: int = 3, value: int | None = None, seed: int = 0
) -> torch.Tensor:
    """Write a uint8 PNG (random unless ``value``) and return its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if value is None:
        pixels = torch.randint(
            0, 256, (channels, height, width), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8
        )
    else:
        pixels = torch.full((channels, height, width), value, dtype=torch.uint8)
    array = pixels.permute(1, 2, 0).numpy()
    Image.fromarray(array[..., 0] if channels == 1 else array).save(path)
    return pixels


def save_png16(path: Path, values: np.ndarray) -> None:
    """Write a one-channel 16-bit PNG (KITTI disparity convention)."""
    Image.fromarray(values.astype(np.uint16)).save(path)


@pytest.fixture
def png():
    return save_png


@pytest.fixture
def png16():
    return save_png16


@pytest.fixture(autouse=True)
def _one_thread():
    """These tests use tiny tensors: one intra-op thread avoids thread-synchronisation overhead on a shared
    CPU. The previous setting is restored after each test."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
