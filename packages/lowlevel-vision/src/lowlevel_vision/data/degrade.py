"""Degradation synthesis in torch, seeded and batched (vision-common §4; the recipes are assumed).

A degradation is called as ``degradation(*views, generator=g)`` with each view a (3, H, W) or
(B, 3, H, W) tensor and ``g`` one :class:`torch.Generator` or a list of one per batch item; it returns
``(degraded_views, params)`` where ``params`` maps each sampled parameter to a list (one entry per
item). The parameters of an item are drawn once and shared by all its views (stereo consistency).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any

import kornia
import torch
from torch.utils.data import Dataset

from .base import Sample, sample_generator

Range = tuple[float, float]


def uniform(bounds: Range, generator: torch.Generator) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand(1, generator=generator, dtype=torch.float64))


def log_uniform(bounds: Range, generator: torch.Generator) -> float:
    return math.exp(uniform((math.log(bounds[0]), math.log(bounds[1])), generator))


def randint(bounds: tuple[int, int], generator: torch.Generator) -> int:
    """An integer uniformly in ``[low, high]`` (both included)."""
    return int(torch.randint(bounds[0], bounds[1] + 1, (1,), generator=generator))


class Degradation(abc.ABC):
    """Batching and seeding shared by every degradation: subclasses implement :meth:`degrade_item`."""

    def __call__(self, *views: torch.Tensor, generator: torch.Generator | Sequence[torch.Generator]):
        batched = views[0].dim() == 4
        stacked = [v if batched else v.unsqueeze(0) for v in views]
        size = stacked[0].shape[0]
        generators = [generator] * size if isinstance(generator, torch.Generator) else list(generator)
        if len(generators) != size:
            raise ValueError(f"{len(generators)} generators for a batch of {size}")
        outputs, params = [], []
        for b, item_generator in enumerate(generators):
            out, item_params = self.degrade_item([v[b] for v in stacked], item_generator)
            outputs.append(out)
            params.append(item_params)
        degraded = [torch.stack([out[i] for out in outputs]) for i in range(len(views))]
        if not batched:
            degraded = [d[0] for d in degraded]
        merged = {key: [p[key] for p in params] for key in params[0]}
        return degraded, merged

    @abc.abstractmethod
    def degrade_item(self, views: list[torch.Tensor], generator: torch.Generator) -> tuple[list[torch.Tensor], dict]:
        """Degrade one item's views (each (C, H, W)) with ``generator``; return them and the drawn parameters."""


RAIN_PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "layers": (1, 2),
        "density": (0.001, 0.006),
        "length": (11, 31),
        "angle": (-30.0, 30.0),
        "sigma": (0.3, 1.0),
        "intensity": (0.5, 0.9),
        "shift": (0, 2),
    },
    "heavy": {
        "layers": (2, 2),
        "density": (0.004, 0.012),
        "length": (11, 31),
        "angle": (-30.0, 30.0),
        "sigma": (0.3, 1.0),
        "intensity": (0.6, 1.0),
        "shift": (0, 2),
    },
}


class StereoRain(Degradation):
    """Rain streaks shared by both views with a small disparity shift (vision-common §4, stereo rain).

    Per layer j: Bernoulli(density) seeds × U(0.5, 1) on a canvas of width W + δ_max, a motion blur of odd
    ``length`` at kornia angle ``90 + θ`` (θ from the vertical), a Gaussian thickening of ``sigma``,
    rescaled so the layer's maximum is its ``intensity``. The left view sees columns ``[0, W)`` of the
    canvas, the right view ``[δ_j, δ_j + W)``. Blend ``add`` (``clamp(B + ΣS)``) or ``screen``; grey streaks.
    Keyword overrides replace preset ranges (e.g. ``shift=(2, 2)``).
    """

    def __init__(self, preset: str = "default", blend: str = "add", **overrides: Any):
        if preset not in RAIN_PRESETS:
            raise ValueError(f"preset must be one of {sorted(RAIN_PRESETS)}, got {preset!r}")
        if blend not in ("add", "screen"):
            raise ValueError(f"blend must be 'add' or 'screen', got {blend!r}")
        self.preset, self.blend = preset, blend
        self.ranges = {**RAIN_PRESETS[preset], **overrides}

    def sample_layer(self, generator: torch.Generator) -> dict[str, float]:
        r = self.ranges
        length = randint((r["length"][0] // 2, r["length"][1] // 2), generator) * 2 + 1
        return {
            "density": log_uniform(r["density"], generator),
            "length": length,
            "angle": uniform(r["angle"], generator),
            "sigma": uniform(r["sigma"], generator),
            "intensity": uniform(r["intensity"], generator),
            "shift": randint(r["shift"], generator),
        }

    def streak_field(
        self,
        height: int,
        width: int,
        layer: dict[str, float],
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """One layer's streaks on a (1, 1, H, W + δ_max) canvas."""
        shape = (1, 1, height, width + self.ranges["shift"][1])
        seeds = (torch.rand(shape, generator=generator) < layer["density"]).to(dtype)
        seeds = seeds * (0.5 + 0.5 * torch.rand(shape, generator=generator, dtype=dtype))
        streaks = kornia.filters.motion_blur(
            seeds, int(layer["length"]), 90.0 + layer["angle"], 0.0, border_type="constant"
        )
        radius = max(1, math.ceil(3 * layer["sigma"]))
        streaks = kornia.filters.gaussian_blur2d(
            streaks, 2 * radius + 1, (layer["sigma"], layer["sigma"]), border_type="constant"
        )
        peak = streaks.amax()
        return streaks * (layer["intensity"] / peak) if peak > 0 else streaks

    def streaks(self, height: int, width: int, generator: torch.Generator, dtype: torch.dtype = torch.float32):
        """Per-layer ``(S_L, S_R)`` pairs of one item and their parameters."""
        count = randint(self.ranges["layers"], generator)
        layers = [self.sample_layer(generator) for _ in range(count)]
        fields = []
        for layer in layers:
            canvas = self.streak_field(height, width, layer, generator, dtype)[0]
            shift = int(layer["shift"])
            fields.append((canvas[..., :width], canvas[..., shift : shift + width]))
        return fields, layers

    def degrade_item(self, views, generator):
        height, width = views[0].shape[-2:]
        fields, layers = self.streaks(height, width, generator, views[0].dtype)
        outputs = []
        for v, view in enumerate(views):
            layer_stack = torch.stack([pair[min(v, 1)] for pair in fields])  # (J, 1, H, W), grey
            if self.blend == "add":
                outputs.append((view + layer_stack.sum(0)).clamp(0, 1))
            else:
                outputs.append(1 - (1 - view) * (1 - layer_stack).prod(0))
        return outputs, {"layers": layers}


LOWLIGHT_PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "alpha": (0.9, 1.0),
        "beta": (0.5, 1.0),
        "gamma": (1.5, 5.0),
        "peak": (200.0, 2000.0),
        "sigma_r": (0.0, 0.03),
        "p_correlated": 0.0,
    },
    "stereo_bench": {
        "alpha": (0.9, 1.0),
        "beta": (0.5, 1.0),
        "gamma": (1.5, 5.0),
        "peak": (50.0, 500.0),
        "sigma_r": (0.0, 0.03),
        "p_correlated": 0.0,
    },
    "heavy": {
        "alpha": (0.9, 1.0),
        "beta": (0.5, 1.0),
        "gamma": (1.5, 5.0),
        "peak": (30.0, 300.0),
        "sigma_r": (0.01, 0.04),
        "p_correlated": 0.5,
    },
}


class LowLight(Degradation):
    """Low light: ``x = β (α I)^γ``, ``y = Poisson(peak·x)/peak + N(0, σ_r²)``, 8-bit quantisation.

    The parameters (α, β, γ, peak, σ_r, correlated) are drawn once per item and shared by its views; the
    noise is drawn independently per view (vision-common §4). ``peak=None`` skips the Poisson term;
    ``correlated`` replaces the residual ``y − x`` by its Gaussian blur (σ 0.8) rescaled to the same
    standard deviation. Keyword overrides replace preset ranges (a scalar fixes a parameter).
    """

    def __init__(self, preset: str = "default", quantize: bool = True, **overrides: Any):
        if preset not in LOWLIGHT_PRESETS:
            raise ValueError(f"preset must be one of {sorted(LOWLIGHT_PRESETS)}, got {preset!r}")
        self.preset, self.quantize = preset, quantize
        self.ranges = {**LOWLIGHT_PRESETS[preset], **overrides}

    def _draw(self, key: str, generator: torch.Generator, log: bool = False) -> float | None:
        bounds = self.ranges[key]
        if bounds is None or isinstance(bounds, (int, float)):
            return bounds
        return log_uniform(bounds, generator) if log else uniform(bounds, generator)

    def sample_params(self, generator: torch.Generator) -> dict[str, Any]:
        params = {key: self._draw(key, generator) for key in ("alpha", "beta", "gamma")}
        params["peak"] = self._draw("peak", generator, log=True)
        params["sigma_r"] = self._draw("sigma_r", generator)
        params["correlated"] = bool(float(torch.rand(1, generator=generator)) < self.ranges["p_correlated"])
        return params

    def degrade_item(self, views, generator):
        p = self.sample_params(generator)
        return [self.apply(view, p, generator) for view in views], p

    def apply(self, image: torch.Tensor, p: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
        """Darken and add noise to one (3, H, W) image with fixed parameters ``p``."""
        clean = p["beta"] * (p["alpha"] * image.clamp(0, 1)) ** p["gamma"]
        noisy = torch.poisson(clean * p["peak"], generator=generator) / p["peak"] if p["peak"] else clean
        noisy = noisy + p["sigma_r"] * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
        if p["correlated"]:
            residual = noisy - clean
            blurred = kornia.filters.gaussian_blur2d(residual[None], 5, (0.8, 0.8), border_type="reflect")[0]
            noisy = clean + blurred * (residual.std() / blurred.std().clamp_min(1e-12))
        noisy = noisy.clamp(0, 1)
        return torch.round(noisy * 255) / 255 if self.quantize else noisy


class Degraded(Dataset):
    """Wrap a data set of clean samples (``gt_l, gt_r`` or ``gt``) and add the degraded ``lq_*`` views.

    Item ``i`` draws its degradation from :func:`sample_generator` ``(seed, i)``; ``fixed=False``
    (training) mixes in the epoch set with :meth:`set_epoch`. The sampled parameters are stored in
    ``sample["degradation"]``.
    """

    def __init__(self, dataset: Dataset, degradation: Degradation, seed: int = 0, fixed: bool = True):
        self.dataset, self.degradation, self.seed, self.fixed = dataset, degradation, seed, fixed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        sample = dict(self.dataset[index])
        generator = sample_generator(self.seed, index, None if self.fixed else self.epoch)
        stereo = "gt_l" in sample
        keys = ("gt_l", "gt_r") if stereo else ("gt",)
        degraded, params = self.degradation(*(sample[k] for k in keys), generator=generator)
        sample.update({k.replace("gt", "lq"): v for k, v in zip(keys, degraded, strict=True)})
        sample["degradation"] = {k: v[0] for k, v in params.items()}
        return sample
