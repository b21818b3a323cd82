"""Building blocks shared by the lipreading models: masks, sinusoidal positions, temporal encoders.

``lipformer.md`` section 1.1 (all assumed): sinusoidal positions and a pre-LayerNorm GELU
``TransformerEncoder`` with a key-padding mask from the lengths, or a 2-layer BiGRU (``temporal="bigru"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``[B, max_len]`` bool, True at padded positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] >= lengths[:, None]


def pad_sequences(rows: Sequence[Sequence[int]], device: torch.device | str = "cpu", value: int = 0) -> torch.Tensor:
    """``[B, max_len]`` long tensor of the rows padded with ``value`` (``<pad>`` = 0)."""
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def causal_mask(length: int, device: torch.device) -> torch.Tensor:
    """``[L, L]`` bool, True where position i may not attend position j > i."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class SinusoidalPositions(nn.Module):
    """Adds the fixed sine/cosine position code of Vaswani et al. (2017) to ``[B, T, d]``."""

    def __init__(self, d_model: int, max_len: int = 2048):
        super().__init__()
        position = torch.arange(max_len)[:, None]
        freq = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        table = torch.zeros(max_len, d_model)
        table[:, 0::2] = torch.sin(position * freq)
        table[:, 1::2] = torch.cos(position * freq)[:, : d_model // 2]
        self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class TemporalEncoder(nn.Module):
    """Sequence encoder over ``[B, T, d]`` frames: pre-LN transformer (default) or BiGRU (d/2 per direction)."""

    def __init__(self, d_model: int, layers: int, heads: int, ff: int, dropout: float, kind: str = "transformer"):
        super().__init__()
        if kind not in ("transformer", "bigru"):
            raise ValueError(f"temporal encoder must be 'transformer' or 'bigru', got {kind!r}")
        self.kind = kind
        if kind == "transformer":
            self.positions = SinusoidalPositions(d_model)
            layer = nn.TransformerEncoderLayer(
                d_model, heads, ff, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
        else:
            self.gru = nn.GRU(d_model, d_model // 2, num_layers=2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "transformer":
            return self.norm(self.encoder(self.positions(x), src_key_padding_mask=mask))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]
