"""Inference cost of a registered model: throughput and peak memory, whole or tiled.

The issues ask for each method's throughput and peak memory at 512×512 per view and for a 2048×2048
image (stereo: pair) restored through tiled inference. :func:`measure_inference` runs one such
measurement in the current process; :func:`measure_in_child` runs it in a fresh Python process, so that
on the CPU the peak resident set size (``VmHWM``) is the inference's own and not the high-water mark of
whatever ran before (on CUDA the peak allocated memory is reset instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from .models import StereoModel
from .registry import MODELS
from .tiling import default_tile, tiled_forward


@dataclass(frozen=True)
class InferenceCase:
    """One measurement: model ``name`` built with ``config`` on a ``size``×``size`` input (both views when stereo).

    ``tiled=False`` runs the whole image at once; otherwise :func:`~lowlevel_vision.tiling.tiled_forward`
    restores it in tiles of ``tile`` (``None``: its default for the number of views; ``None`` in a dimension:
    the full extent) with ``overlap`` pixels.
    """

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    size: int = 512
    tiled: bool = False
    tile: tuple[int | None, int | None] | None = None
    overlap: int = 32
    repeats: int = 2


def measure_inference(case: InferenceCase, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Seconds per forward (the fastest of ``repeats`` after a warm-up on one tile or the whole image),
    megapixels per second over all views, peak memory in MiB (CUDA: max allocated; CPU: ``VmHWM``), the
    number of views, the tile used (``None``: whole) and the parameter count."""
    device = torch.device(device)
    torch.manual_seed(0)
    model = MODELS.build(case.name, **case.config).to(device).eval()
    count = 2 if isinstance(model, StereoModel) else 1
    views = [torch.rand(1, 3, case.size, case.size, device=device) for _ in range(count)]
    tile = (case.tile or default_tile(count)) if case.tiled else None

    def forward(inputs: list[torch.Tensor]) -> None:
        if tile is None:
            model(*inputs)
        else:
            tiled_forward(model, *inputs, tile=tile, overlap=case.overlap)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.no_grad():
        forward(_warm_up_views(views, tile))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds = []
        for _ in range(case.repeats):
            start = time.perf_counter()
            forward(views)
            seconds.append(time.perf_counter() - start)
    best = min(seconds)
    return {
        "seconds": best,
        "mpix_s": len(views) * case.size**2 / 1e6 / best,
        "peak_mb": _peak_mb(device),
        "views": len(views),
        "tile": tile,
        "params": sum(p.numel() for p in model.parameters()),
    }


def _warm_up_views(views: list[torch.Tensor], tile: tuple[int | None, int | None] | None) -> list[torch.Tensor]:
    """The warm-up input: the whole image, or when tiling, one tile's crop (a whole tiled pass would double
    the cost of the measurement and warms up nothing more)."""
    if tile is None:
        return views
    rows, cols = tile[0] or views[0].shape[-2], tile[1] or views[0].shape[-1]
    return [view[..., :rows, :cols] for view in views]


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmHWM:"))


def measure_in_child(case: InferenceCase, device: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    """:func:`measure_inference` in a fresh interpreter (same thread count as the caller unless ``threads``)."""
    code = (
        "import json, sys, torch; from lowlevel_vision.perf import InferenceCase, measure_inference; "
        "case = json.loads(sys.argv[1]); case['tile'] = tuple(case['tile']) if case['tile'] else None; "
        "print(json.dumps(measure_inference(InferenceCase(**case), sys.argv[2])))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(threads or torch.get_num_threads())}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(asdict(case)), device], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"inference measurement of {case.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
