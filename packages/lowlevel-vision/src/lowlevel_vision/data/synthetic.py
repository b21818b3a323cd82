"""Synthetic default data: layered stereo scenes with true disparity and occlusion (vision-common §5).

The design is ours (assumed): K textured planes at integer disparities d_0 ≤ … ≤ d_{K−1} (layer 0 the
full-coverage background, larger index nearer and drawn on top) are composited back to front into the
left view and, with every layer read ``d_k`` columns further right on its canvas, into the right view,
so ``x_R = x_L − d``. Layer-index maps give the disparity of the visible layer and the occlusion masks;
a stereo model therefore has real cross-view signal. Per-item random draws come from the item's own
generator; compositing, warping and occlusion are vectorised over the batch (loop over layers only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .base import Sample, sample_generator
from .degrade import Degradation, LowLight, StereoRain, randint, uniform


def _rand(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=generator)


def _coords(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width)
    xs = torch.arange(width, dtype=torch.float32)[None, :].expand(height, width)
    return ys, xs


def value_noise(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Four octaves of bilinearly upsampled uniform grids, amplitude halving per octave."""
    cells = randint((2, 6), generator)
    texture = torch.zeros(3, height, width)
    for octave in range(4):
        grid = _rand(generator, 1, 3, cells * 2**octave + 1, cells * 2**octave * max(1, width // height) + 1)
        texture += 0.5**octave * F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=True)[0]
    return texture


def gratings(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Sum of 2-4 oriented colour gratings (frequency U[0.02, 0.25] cycles/px, orientation U[0, π))."""
    ys, xs = _coords(height, width)
    texture = torch.zeros(3, height, width)
    for _ in range(randint((2, 4), generator)):
        freq, theta = uniform((0.02, 0.25), generator), uniform((0.0, math.pi), generator)
        phase = uniform((0.0, 2 * math.pi), generator)
        wave = torch.sin(2 * math.pi * freq * (xs * math.cos(theta) + ys * math.sin(theta)) + phase)
        texture += _rand(generator, 3, 1, 1) * wave
    return texture


def checker_or_stripes(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Two-colour stripes or checkerboard with random period and angle."""
    ys, xs = _coords(height, width)
    period, theta = uniform((4.0, 24.0), generator), uniform((0.0, math.pi), generator)
    u = xs * math.cos(theta) + ys * math.sin(theta)
    v = -xs * math.sin(theta) + ys * math.cos(theta)
    pattern = torch.sin(2 * math.pi * u / period) >= 0
    if bool(_rand(generator, 1) < 0.5):
        pattern = pattern ^ (torch.sin(2 * math.pi * v / period) >= 0)
    colours = _rand(generator, 2, 3, 1, 1)
    return torch.where(pattern, colours[0], colours[1])


def dots(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Coloured discs of random radius scattered on a plain background."""
    ys, xs = _coords(height, width)
    count = randint((10, 60), generator)
    centres = _rand(generator, count, 2) * torch.tensor([height, width])
    radius = uniform((1.5, 6.0), generator)
    distance = (ys[None] - centres[:, 0, None, None]) ** 2 + (xs[None] - centres[:, 1, None, None]) ** 2
    nearest = distance.argmin(0)
    inside = distance.gather(0, nearest[None])[0] <= radius**2
    colours = _rand(generator, count, 3)
    return torch.where(inside, colours[nearest].permute(2, 0, 1), _rand(generator, 3, 1, 1))


TEXTURES = (value_noise, gratings, checker_or_stripes, dots)


def random_texture(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """One of the four texture families, rescaled to [0.05, 0.95]."""
    texture = TEXTURES[randint((0, len(TEXTURES) - 1), generator)](height, width, generator)
    low, high = texture.min(), texture.max()
    return 0.05 + 0.9 * (texture - low) / (high - low).clamp_min(1e-6)


def random_mask(height: int, width: int, canvas_width: int, generator: torch.Generator) -> torch.Tensor:
    """A hard mask (ellipse, rectangle, rotated rectangle or convex polygon) spanning 15-50 % of H and W."""
    ys, xs = _coords(height, canvas_width)
    cy, cx = uniform((0, height), generator), uniform((0, canvas_width), generator)
    ry = uniform((0.15, 0.5), generator) * height / 2
    rx = uniform((0.15, 0.5), generator) * width / 2
    dy, dx = ys - cy, xs - cx
    kind = randint((0, 3), generator)
    if kind == 0:
        return (dy / ry) ** 2 + (dx / rx) ** 2 <= 1
    if kind == 1:
        return (dy.abs() <= ry) & (dx.abs() <= rx)
    if kind == 2:
        phi = uniform((0.0, math.pi), generator)
        u, v = dx * math.cos(phi) + dy * math.sin(phi), -dx * math.sin(phi) + dy * math.cos(phi)
        return (u.abs() <= rx) & (v.abs() <= ry)
    angles = torch.sort(_rand(generator, randint((3, 7), generator)) * 2 * math.pi).values
    vx, vy = cx + rx * torch.cos(angles), cy + ry * torch.sin(angles)
    ex, ey = vx.roll(-1) - vx, vy.roll(-1) - vy
    cross = ex[:, None, None] * (ys[None] - vy[:, None, None]) - ey[:, None, None] * (xs[None] - vx[:, None, None])
    return (cross >= 0).all(0)


def _shift_columns(tensor: torch.Tensor, offsets: torch.Tensor, width: int) -> torch.Tensor:
    """``tensor[b, ..., offsets[b] + x]`` for x in [0, width): per-item integer shifts by one gather."""
    index = offsets.view(-1, *([1] * (tensor.dim() - 1))) + torch.arange(width)
    return tensor.gather(-1, index.expand(*tensor.shape[:-1], width))


class LayeredStereoScenes(Dataset):
    """Clean stereo pairs rendered from layered scenes (vision-common §5).

    Sample keys: ``gt_l, gt_r`` (3, H, W), ``disp_l, disp_r`` (H, W) float, ``occ_l, occ_r`` (H, W) bool
    (True = no correspondence in the other view), ``name``, ``paths`` (empty). Item ``i`` depends only on
    ``(seed, i)``.
    """

    def __init__(
        self,
        n: int,
        size: tuple[int, int] = (64, 128),
        layers: tuple[int, int] = (3, 6),
        disparity: tuple[int, int] = (2, 16),
        seed: int = 0,
    ):
        if not 0 <= disparity[0] <= disparity[1]:
            raise ValueError(f"disparity range must satisfy 0 <= low <= high, got {disparity}")
        self.n, self.size, self.layers, self.disparity, self.seed = n, tuple(size), layers, disparity, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} scenes")
        batch = self.render([sample_generator(self.seed, index)])
        return {**{k: v[0] for k, v in batch.items()}, "name": f"scene{index:06d}", "paths": {}}

    def draw_layers(self, generator: torch.Generator):
        """The random content of one scene: textures (K,3,H,Wc), masks (K,H,Wc), disparities (K,)."""
        height, width = self.size
        canvas = width + self.disparity[1]
        count = randint(self.layers, generator)
        disparities = torch.sort(
            torch.randint(self.disparity[0], self.disparity[1] + 1, (count,), generator=generator)
        ).values
        textures = torch.stack([random_texture(height, canvas, generator) for _ in range(count)])
        masks = torch.stack(
            [torch.ones(height, canvas, dtype=torch.bool)]
            + [random_mask(height, width, canvas, generator) for _ in range(count - 1)]
        )
        return textures, masks, disparities

    def render(self, generators: Sequence[torch.Generator]) -> dict[str, torch.Tensor]:
        """Render one scene per generator as a batch (equal to rendering them one by one)."""
        height, width = self.size
        drawn = [self.draw_layers(g) for g in generators]
        depth = max(d[2].numel() for d in drawn)
        textures = torch.stack([F.pad(t, (0, 0, 0, 0, 0, 0, 0, depth - len(t))) for t, _, _ in drawn])
        masks = torch.stack([F.pad(m, (0, 0, 0, 0, 0, depth - len(m))) for _, m, _ in drawn])
        disps = torch.stack([F.pad(d, (0, depth - len(d))) for _, _, d in drawn])  # (B, K)
        size = len(generators)
        views, layer_maps = [], []
        for offsets in (torch.zeros_like(disps), disps):  # left view, then right view
            image = torch.zeros(size, 3, height, width)
            layer = torch.zeros(size, height, width, dtype=torch.long)
            for k in range(depth):
                mask = _shift_columns(masks[:, k], offsets[:, k], width)
                image = torch.where(mask[:, None], _shift_columns(textures[:, k], offsets[:, k], width), image)
                layer = torch.where(mask, torch.full_like(layer, k), layer)
            views.append(image)
            layer_maps.append(layer)
        layer_l, layer_r = layer_maps
        disp_l = disps.gather(1, layer_l.flatten(1)).view_as(layer_l)
        disp_r = disps.gather(1, layer_r.flatten(1)).view_as(layer_r)
        occ_l = self._occlusion(layer_l, layer_r, disp_l, -1)
        occ_r = self._occlusion(layer_r, layer_l, disp_r, +1)
        return {
            "gt_l": views[0],
            "gt_r": views[1],
            "disp_l": disp_l.float(),
            "disp_r": disp_r.float(),
            "occ_l": occ_l,
            "occ_r": occ_r,
        }

    @staticmethod
    def _occlusion(own: torch.Tensor, other: torch.Tensor, disp: torch.Tensor, sign: int) -> torch.Tensor:
        """True where the pixel's partner ``x + sign·d`` leaves the image or shows another layer."""
        width = own.shape[-1]
        target = torch.arange(width) + sign * disp
        outside = (target < 0) | (target >= width)
        partner = other.gather(-1, target.clamp(0, width - 1))
        return outside | (partner != own)


class SyntheticStereo(Dataset):
    """Layered scenes coupled with a degradation: ``task="rain"`` (:class:`StereoRain`) or ``"lowlight"``.

    ``fixed=True`` (evaluation) redraws the same degradation every epoch; ``fixed=False`` (training)
    mixes in the epoch set with :meth:`set_epoch`. The scene of item ``i`` depends on ``(seed, i)`` only.
    """

    def __init__(
        self,
        task: str = "rain",
        preset: str = "default",
        n: int = 16,
        size: tuple[int, int] = (64, 128),
        seed: int = 0,
        fixed: bool = True,
        layers: tuple[int, int] = (3, 6),
        disparity: tuple[int, int] = (2, 16),
        degradation: Degradation | None = None,
    ):
        if degradation is None:
            if task not in ("rain", "lowlight"):
                raise ValueError(f"task must be 'rain' or 'lowlight', got {task!r}")
            degradation = StereoRain(preset) if task == "rain" else LowLight(preset)
        self.task, self.degradation, self.seed, self.fixed = task, degradation, seed, fixed
        self.scenes = LayeredStereoScenes(n, size, layers, disparity, seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> Sample:
        sample = self.scenes[index]
        generator = sample_generator(self.seed + 1, index, None if self.fixed else self.epoch)
        (lq_l, lq_r), params = self.degradation(sample["gt_l"], sample["gt_r"], generator=generator)
        return {**sample, "lq_l": lq_l, "lq_r": lq_r, "degradation": {k: v[0] for k, v in params.items()}}


class SyntheticMono(Dataset):
    """Left views of layered scenes darkened with :class:`LowLight` (``lq``, ``gt``), for mono models."""

    def __init__(
        self, preset: str = "heavy", n: int = 16, size: tuple[int, int] = (64, 128), seed: int = 0, fixed: bool = True
    ):
        self.stereo = SyntheticStereo("lowlight", preset, n, size, seed, fixed)

    def set_epoch(self, epoch: int) -> None:
        self.stereo.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.stereo)

    def __getitem__(self, index: int) -> Sample:
        sample = self.stereo[index]
        return {
            "lq": sample["lq_l"],
            "gt": sample["gt_l"],
            "name": sample["name"],
            "paths": {},
            "degradation": sample["degradation"],
        }
