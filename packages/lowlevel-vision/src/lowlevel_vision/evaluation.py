"""Evaluation of a stereo or mono model on a data set: metrics, throughput, kept outputs.

A data set is stereo when its samples carry ``lq_l`` (the model is called as ``model(lq_l, lq_r)``) and
mono when they carry ``lq`` (``model(lq)``). Metrics are means of per-image values (vision-common §6);
throughput is input megapixels (all views) per second of model time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import Dataset

from .data.base import Sample, collate
from .metrics import MetricAccumulator
from .tiling import tiled_forward


def views_of(sample: Sample, kind: str) -> tuple[torch.Tensor, ...]:
    """The degraded (``kind="lq"``) or clean (``"gt"``) views of a sample, left first."""
    return (sample[f"{kind}_l"], sample[f"{kind}_r"]) if f"{kind}_l" in sample else (sample[kind],)


def run_model(model: Callable, views: tuple[torch.Tensor, ...], tile=None, overlap: int = 32) -> tuple:
    """Outputs of ``model`` on batched views, whole or tiled, always as a tuple."""
    with torch.inference_mode():
        out = tiled_forward(model, *views, tile=tile, overlap=overlap) if tile else model(*views)
    return (out,) if isinstance(out, torch.Tensor) else tuple(out)


@dataclass
class Evaluation:
    """Metrics (``psnr_l, ssim_l, psnr_r, ssim_r, psnr_avg, ssim_avg`` or ``psnr, ssim``) and costs."""

    metrics: dict[str, float]
    seconds: float
    megapixels: float
    outputs: list[tuple[torch.Tensor, ...]] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Megapixels per second of model time."""
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    protocol: str = "rgb",
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    tile: tuple[int | None, int | None] | None = None,
    keep: int = 0,
) -> Evaluation:
    """Run ``model`` over ``dataset`` and score it; ``keep`` returns the outputs of the first samples."""
    device = torch.device(device)
    model.eval()
    first = dataset[0]
    accumulator = MetricAccumulator(("l", "r") if "lq_l" in first else ("",), protocol)
    seconds, megapixels, kept = 0.0, 0.0, []
    for start in range(0, len(dataset), batch_size):
        batch = collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        inputs = tuple(v.to(device) for v in views_of(batch, "lq"))
        begin = time.perf_counter()
        outputs = run_model(model, inputs, tile)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - begin
        outputs = tuple(o.cpu() for o in outputs)  # scored on the CPU, where the ground truth is
        megapixels += sum(v.shape[0] * v.shape[-2] * v.shape[-1] for v in inputs) / 1e6
        accumulator.update(outputs, views_of(batch, "gt"))
        for b in range(outputs[0].shape[0]):
            if len(kept) < keep:
                kept.append(tuple(o[b] for o in outputs))
    return Evaluation(accumulator.result(), seconds, megapixels, kept)
