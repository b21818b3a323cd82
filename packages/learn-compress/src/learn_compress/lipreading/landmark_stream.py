"""The facial-landmark stream: speaker-invariant lip-motion features and their encoder.

``lipformer.md`` section 1.2 (assumed; the angle matrix and frame differences are hints of the unofficial
re-implementation). Per frame of 37 normalised points (jaw 0-16, lips 17-36): ``r = l - c`` with ``c``
the lip centroid; the cosine "angle matrix" of the ``r`` vectors (strict upper triangle, 666 values,
invariant to translation, scale and rotation); the coordinates ``r`` (74); the velocity
``r_t - r_{t-1}`` (74, zero at t = 0). The selected features are projected to ``d``, normalised,
position-coded and encoded by a transformer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import TemporalEncoder

FEATURES = ("angle", "coords", "velocity")
LIP_POINTS = slice(17, 37)


def feature_size(kinds: Sequence[str], points: int = 37) -> int:
    sizes = {"angle": points * (points - 1) // 2, "coords": 2 * points, "velocity": 2 * points}
    return sum(sizes[k] for k in kinds)


def landmark_features(landmarks: torch.Tensor, kinds: Sequence[str] = FEATURES) -> torch.Tensor:
    """``[B, T, K, 2]`` landmarks -> ``[B, T, F]`` features of ``kinds`` (a subset of angle, coords, velocity)."""
    unknown = set(kinds) - set(FEATURES)
    if unknown or not kinds:
        raise ValueError(f"landmark features must be a non-empty subset of {FEATURES}, got {tuple(kinds)}")
    relative = landmarks - landmarks[:, :, LIP_POINTS].mean(dim=2, keepdim=True)
    parts = []
    for kind in FEATURES:
        if kind not in kinds:
            continue
        if kind == "angle":
            unit = relative / (relative.norm(dim=-1, keepdim=True) + 1e-6)
            cosines = unit @ unit.transpose(-1, -2)
            rows, cols = torch.triu_indices(landmarks.shape[2], landmarks.shape[2], offset=1, device=landmarks.device)
            parts.append(cosines[:, :, rows, cols])
        elif kind == "coords":
            parts.append(relative.flatten(2))
        else:
            velocity = torch.diff(relative, dim=1, prepend=relative[:, :1])
            parts.append(velocity.flatten(2))
    return torch.cat(parts, dim=-1)


class LandmarkStream(nn.Module):
    """Landmark features -> Linear -> LayerNorm -> Dropout -> positions + transformer: ``[B, T, d]``."""

    def __init__(
        self,
        d_model: int,
        layers: int,
        heads: int,
        ff: int,
        dropout: float,
        kinds: Sequence[str] = FEATURES,
        points: int = 37,
    ):
        super().__init__()
        self.kinds = tuple(kinds)
        self.embed = nn.Sequential(
            nn.Linear(feature_size(self.kinds, points), d_model), nn.LayerNorm(d_model), nn.Dropout(dropout)
        )
        self.encoder = TemporalEncoder(d_model, layers, heads, ff, dropout)

    def forward(self, landmarks: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embed(landmark_features(landmarks, self.kinds)), lengths, mask)
