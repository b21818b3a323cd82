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


@pytest.fixture
def psnr_gain():
    """``gain(scores, method, reference, view)``: PSNR of ``method`` minus ``reference``'s on view ``"l"`` or
    ``"r"``, from the scores :func:`stereo_claim_scores` returns."""

    def gain(scores: dict[str, dict[str, float]], method: str, reference: str, view: str) -> float:
        return scores[method][f"psnr_{view}"] - scores[reference][f"psnr_{view}"]

    return gain


@pytest.fixture(scope="module")
def stereo_claim_scores():
    """``score(task, builders, **trainer)``: train each builder with the CI-sized claim setting of
    vision-common §5.7 (disparity 1-6 px, ``heavy`` preset, 32×64 crops, 300 steps of batch 8, seed 0) on
    synthetic ``task`` ("rain" | "lowlight") and score it, with ``Input``, on 16 held-out pairs of 64×128
    (seed 1234, protocol ``rgb``). ``trainer`` holds extra :class:`Trainer` arguments (loss, optimiser, ...)
    and ``config`` extra :class:`TrainConfig` fields; every model sees the same data order and seed."""
    from lab_common import seed_everything
    from lowlevel_vision.data.synthetic import SyntheticStereo
    from lowlevel_vision.evaluation import evaluate
    from lowlevel_vision.models.monocular import InputModel
    from lowlevel_vision.training import TrainConfig, Trainer

    steps, batch, crop, disparity, seed = 300, 8, (32, 64), (1, 6), 0

    def score(task: str, builders: dict, config: dict | None = None, **trainer) -> dict[str, dict[str, float]]:
        train_set = SyntheticStereo(task, "heavy", steps * batch, crop, seed, fixed=False, disparity=disparity)
        test_set = SyntheticStereo(task, "heavy", 16, (64, 128), 1234, fixed=True, disparity=disparity)
        scores = {}
        for name, build in builders.items():
            seed_everything(seed)
            model = build()
            settings = TrainConfig(steps=steps, batch_size=batch, seed=seed, log_every=0, **(config or {}))
            Trainer(model, settings, **trainer).fit(train_set)
            scores[name] = evaluate(model.to(memory_format=torch.contiguous_format), test_set, "rgb").metrics
        scores["Input"] = evaluate(InputModel(), test_set, "rgb").metrics
        return scores

    return score
