"""Facial landmark tracks: file reader, gap filling, per-clip normalisation and flipping.

``compress-common.md`` section 4 (the format and the normalisation are ours, assumed). A track is a
``.npy`` (or ``.npz`` with key ``landmarks``) float array ``[T, 68, 2]`` of (x, y) pixels in iBUG/dlib-68
order, or ``[T, 37, 2]`` already reduced to the jaw (0-16) and the lips (48-67). NaN rows mark frames
where detection failed; they are interpolated linearly over time and edge-filled, and a track with more
than half of its frames missing is rejected.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lab_common import DataFormatError

FULL_POINTS = 68
REDUCED_POINTS = 37
JAW = tuple(range(0, 17))
OUTER_LIP = tuple(range(48, 60))
INNER_LIP = tuple(range(60, 68))
REDUCED_FROM_FULL = JAW + OUTER_LIP + INNER_LIP
"""The 68-point indices kept in the reduced 37-point order (jaw 0-16, then lips 48-67)."""
NOSE_TIP = 33
LEFT_EYE, RIGHT_EYE = tuple(range(36, 42)), tuple(range(42, 48))
MOUTH_CORNERS = (48, 54)
MAX_MISSING_FRACTION = 0.5


def _mirror_full() -> np.ndarray:
    """Index permutation of the 68 points under a horizontal flip (left and right swap)."""
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip
    perm = np.arange(FULL_POINTS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


MIRROR_FULL = _mirror_full()
MIRROR_REDUCED = np.array([REDUCED_FROM_FULL.index(MIRROR_FULL[i]) for i in REDUCED_FROM_FULL])
"""Left/right index swap of the reduced 37-point order."""


def reduce_points(track: np.ndarray) -> np.ndarray:
    """The 37 jaw and lip points ``[T, 37, 2]`` of a 68-point track (a 37-point track is returned as is)."""
    return track if track.shape[1] == REDUCED_POINTS else track[:, list(REDUCED_FROM_FULL)]


def fill_missing(track: np.ndarray, path: str | os.PathLike = "<array>") -> np.ndarray:
    """Interpolate NaN frames linearly over time and edge-fill; > 50 % missing frames raises."""
    missing = np.isnan(track).any(axis=(1, 2))
    if missing.mean() > MAX_MISSING_FRACTION:
        raise DataFormatError(
            path,
            None,
            f"at most {MAX_MISSING_FRACTION:.0%} frames without landmarks",
            f"{int(missing.sum())} of {len(track)}",
        )
    if not missing.any():
        return track
    t = np.arange(len(track))
    flat = track.reshape(len(track), -1)
    filled = np.stack([np.interp(t, t[~missing], flat[~missing, j]) for j in range(flat.shape[1])], axis=1)
    return filled.reshape(track.shape).astype(track.dtype)


def load_landmarks(path: str | os.PathLike, num_frames: int | None = None) -> np.ndarray:
    """A landmark track ``float32 [T, 68 or 37, 2]`` with missing frames filled.

    Raises :class:`DataFormatError` for a missing file, a wrong shape, a frame count different from
    ``num_frames`` (the video's) or too many missing frames.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, "a landmark file [T, 68, 2] or [T, 37, 2]", "no such file")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "landmarks" not in archive:
                raise DataFormatError(path, "key 'landmarks'", "an array under 'landmarks'", f"keys {sorted(archive)}")
            track = archive["landmarks"]
    else:
        track = np.load(path, allow_pickle=False)
    if track.ndim != 3 or track.shape[1] not in (FULL_POINTS, REDUCED_POINTS) or track.shape[2] != 2:
        raise DataFormatError(path, None, "shape [T, 68, 2] or [T, 37, 2]", f"shape {tuple(track.shape)}")
    if not np.issubdtype(track.dtype, np.floating):
        raise DataFormatError(path, None, "a float array", f"dtype {track.dtype}")
    if num_frames is not None and len(track) != num_frames:
        raise DataFormatError(path, None, f"{num_frames} frames (as many as the video)", f"{len(track)}")
    return fill_missing(track.astype(np.float32), path)


def normalize_landmarks(track: np.ndarray) -> np.ndarray:
    """Per-clip similarity normalisation, then the 37 jaw and lip points ``[T, 37, 2]``.

    With 68 points: origin = clip mean of the nose tip (33), x axis along the clip-mean eye line
    (centre of 36-41 to centre of 42-47), unit = clip-mean inter-ocular distance. With 37 points:
    origin = clip-mean lip centroid, unit = clip-mean mouth-corner distance, no rotation. One transform
    per clip, so the motion inside the clip is kept.
    """
    track = np.asarray(track, dtype=np.float64)
    if track.shape[1] == FULL_POINTS:
        origin = track[:, NOSE_TIP].mean(axis=0)
        eye_line = track[:, RIGHT_EYE].mean(axis=(0, 1)) - track[:, LEFT_EYE].mean(axis=(0, 1))
        unit = np.linalg.norm(track[:, RIGHT_EYE].mean(axis=1) - track[:, LEFT_EYE].mean(axis=1), axis=1).mean()
        cos, sin = eye_line / np.linalg.norm(eye_line)
        rotation = np.array([[cos, sin], [-sin, cos]])  # rows: new x axis, new y axis
    else:
        lips = track[:, 17:]
        origin = lips.mean(axis=(0, 1))
        corners = track[:, REDUCED_FROM_FULL.index(54)] - track[:, REDUCED_FROM_FULL.index(48)]
        unit = np.linalg.norm(corners, axis=1).mean()
        rotation = np.eye(2)
    normalised = (track - origin) @ rotation.T / unit
    return reduce_points(normalised).astype(np.float32)


def flip_landmarks(track: np.ndarray) -> np.ndarray:
    """Horizontal flip of normalised 37-point landmarks: ``x -> -x`` and the left/right index swap."""
    flipped = track[:, MIRROR_REDUCED].copy()
    flipped[..., 0] *= -1
    return flipped


def crop_mouth(
    frames: np.ndarray,
    track: np.ndarray,
    size: tuple[int, int] = (50, 100),
    width_factor: float = 1.8,
    smooth: int = 5,
    grayscale: bool = True,
) -> np.ndarray:
    """Mouth crops ``uint8 [T, H, W, 1 or C]`` of face frames ``[T, H0, W0, C]`` from a 68-point track.

    ``lipformer.md`` section 2 (assumed): centre = lip-point mean per frame, moving average over ``smooth``
    frames; crop width = ``width_factor`` x clip-mean mouth-corner distance (48-54), aspect ``H:W`` of ``size``;
    bilinear resampling; ITU-R 601 luma when ``grayscale``.
    """
    import torch
    import torch.nn.functional as F

    if track.shape[1] != FULL_POINTS:
        raise ValueError(f"mouth cropping needs 68-point landmarks, got {track.shape[1]} points")
    t, h0, w0, _ = frames.shape
    centre = track[:, 48:68].mean(axis=1)
    kernel = np.ones(smooth) / smooth
    padded = np.pad(centre, ((smooth // 2, smooth - 1 - smooth // 2), (0, 0)), mode="edge")
    centre = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    crop_w = width_factor * np.linalg.norm(track[:, 54] - track[:, 48], axis=1).mean()
    crop_h = crop_w * size[0] / size[1]
    ys = (torch.linspace(-0.5, 0.5, size[0]) * crop_h)[None, :, None] + torch.from_numpy(centre[:, 1]).float()[
        :, None, None
    ]
    xs = (torch.linspace(-0.5, 0.5, size[1]) * crop_w)[None, None, :] + torch.from_numpy(centre[:, 0]).float()[
        :, None, None
    ]
    xs, ys = torch.broadcast_tensors(2 * xs / (w0 - 1) - 1, 2 * ys / (h0 - 1) - 1)
    grid = torch.stack([xs, ys], dim=-1)
    image = torch.from_numpy(frames).float().permute(0, 3, 1, 2)
    if grayscale and image.shape[1] == 3:
        image = (image * torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]).sum(1, keepdim=True)
    crops = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return crops.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()
