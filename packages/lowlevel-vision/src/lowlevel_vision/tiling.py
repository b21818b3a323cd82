"""Tiled inference with bounded memory (vision-common §8).

``tiled_forward(model, *views)`` restores images of any size in overlapping tiles: start positions
0, stride, 2·stride, … with the last snapped to ``size − tile`` (one tile when the image is no larger);
both views of a stereo pair use the same window. ``blend="crop"`` lets neighbouring tiles split their
overlap at its middle (exact for models whose receptive-field radius is ≤ overlap / 2); ``blend="ramp"``
accumulates linearly rising weights over the overlaps and divides at the end (smoother seams for
global models such as NAFBlock's pooled channel attention). Memory: the full-size output (plus the
weight sum for ramp) and the activations of ``tiles_per_batch`` tiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

STEREO_DEFAULT_TILE = (256, None)
MONO_DEFAULT_TILE = (256, 256)


def default_tile(views: int) -> tuple[int, int | None]:
    """The tile :func:`tiled_forward` uses when given none: full-width strips for a stereo pair (cross-view
    attention needs the whole epipolar row), squares for a single view."""
    return STEREO_DEFAULT_TILE if views == 2 else MONO_DEFAULT_TILE


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start positions along one axis (the last snapped to ``size − tile``)."""
    if tile >= size:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile})")
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


def _core_bounds(starts: list[int], tile: int, size: int) -> list[tuple[int, int]]:
    """Per tile, the part it writes in ``crop`` mode: overlaps are split at their middle."""
    cuts = [0] + [(nxt + cur + tile) // 2 for cur, nxt in zip(starts, starts[1:])] + [size]
    return list(zip(cuts[:-1], cuts[1:]))


def _ramp(starts: list[int], tile: int, size: int, index: int, dtype, device) -> torch.Tensor:
    """Weights of tile ``index`` along one axis: linear over inner overlaps, 1 elsewhere."""
    weight = torch.ones(tile, dtype=dtype, device=device)
    start = starts[index]
    if index > 0:
        width = starts[index - 1] + tile - start
        weight[:width] = torch.minimum(
            weight[:width], torch.arange(1, width + 1, dtype=dtype, device=device) / (width + 1)
        )
    if index < len(starts) - 1:
        width = start + tile - starts[index + 1]
        if width > 0:
            ramp = torch.arange(width, 0, -1, dtype=dtype, device=device) / (width + 1)
            weight[tile - width :] = torch.minimum(weight[tile - width :], ramp)
    return weight


def tiled_forward(
    model: Callable,
    *views: torch.Tensor,
    tile: tuple[int | None, int | None] | None = None,
    overlap: int = 32,
    tiles_per_batch: int = 1,
    blend: str = "crop",
):
    """Run ``model`` tile by tile over ``views`` (each (B, C, H, W), one size) and stitch the outputs.

    ``tile=None`` means ``(256, None)`` for two views (full-width strips, since cross-view attention needs
    the whole epipolar row) and ``(256, 256)`` for one; ``None`` in a dimension means the full extent.
    Returns a tensor for one view and a tuple for several.
    """
    if blend not in ("crop", "ramp"):
        raise ValueError(f"blend must be 'crop' or 'ramp', got {blend!r}")
    if len({tuple(v.shape[-2:]) for v in views}) != 1:
        raise ValueError(f"all views must share one size, got {[tuple(v.shape) for v in views]}")
    height, width = views[0].shape[-2:]
    tile = tile or default_tile(len(views))
    tile_h, tile_w = min(tile[0] or height, height), min(tile[1] or width, width)
    if len(views) == 2 and tile_w < width and overlap < 64:
        log.warning("tiling the width of a stereo pair with overlap %d < 64 px may cut correspondences", overlap)
    rows, cols = tile_starts(height, tile_h, overlap), tile_starts(width, tile_w, overlap)
    row_cores, col_cores = _core_bounds(rows, tile_h, height), _core_bounds(cols, tile_w, width)
    windows = [(i, j) for i in range(len(rows)) for j in range(len(cols))]
    outputs: list[torch.Tensor] | None = None
    weight_sum = None
    with torch.inference_mode():
        for first in range(0, len(windows), tiles_per_batch):
            chunk = windows[first : first + tiles_per_batch]
            inputs = [
                torch.cat([v[..., rows[i] : rows[i] + tile_h, cols[j] : cols[j] + tile_w] for i, j in chunk])
                for v in views
            ]
            result = model(*inputs)
            result = (result,) if isinstance(result, torch.Tensor) else tuple(result)
            if outputs is None:
                outputs = [
                    views[0].new_zeros(views[0].shape[0], r.shape[1], height, width, dtype=r.dtype) for r in result
                ]
                if blend == "ramp":
                    weight_sum = views[0].new_zeros(height, width, dtype=result[0].dtype)
            pieces = [r.split(views[0].shape[0]) for r in result]
            for n, (i, j) in enumerate(chunk):
                top, left = rows[i], cols[j]
                if blend == "crop":
                    (y0, y1), (x0, x1) = row_cores[i], col_cores[j]
                    for out, piece in zip(outputs, pieces, strict=True):
                        out[..., y0:y1, x0:x1] = piece[n][..., y0 - top : y1 - top, x0 - left : x1 - left]
                else:
                    dtype, device = result[0].dtype, result[0].device
                    weight = (
                        _ramp(rows, tile_h, height, i, dtype, device)[:, None]
                        * _ramp(cols, tile_w, width, j, dtype, device)[None, :]
                    )
                    for out, piece in zip(outputs, pieces, strict=True):
                        out[..., top : top + tile_h, left : left + tile_w] += piece[n] * weight
                    weight_sum[top : top + tile_h, left : left + tile_w] += weight
    if blend == "ramp":
        outputs = [out / weight_sum for out in outputs]
    return outputs[0] if len(outputs) == 1 else tuple(outputs)
