"""Autoregressive token decoders of the cascade (``lipformer.md`` section 1.4, assumed).

A :class:`TokenDecoder` embeds ``[<sos>, y_1 .. y_n]`` (scaled embedding + sinusoidal positions) and runs
pre-LN layers of causal self-attention, one cross-attention per memory, and a feed-forward block. Stage 1
(intermediate units) has one memory, the fused sequence ``F``; stage 2 (characters) has two, ``F`` and the
stage-1 states ``H1`` (the "dual attention" of the hint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .layers import SinusoidalPositions, causal_mask

Memory = tuple[torch.Tensor, torch.Tensor]
"""A sequence to attend to and its padding mask (True at padded positions)."""


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, ff: int, dropout: float, memories: int):
        super().__init__()
        attention = lambda: nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)  # noqa: E731
        self.self_attention = attention()
        self.cross_attention = nn.ModuleList(attention() for _ in range(memories))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(memories + 2))
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memories: Sequence[Memory]) -> torch.Tensor:
        h = self.norms[0](x)
        causal = causal_mask(x.shape[1], x.device)
        x = x + self.dropout(self.self_attention(h, h, h, attn_mask=causal, need_weights=False)[0])
        for attention, norm, (memory, mask) in zip(self.cross_attention, self.norms[1:], memories):
            x = x + self.dropout(attention(norm(x), memory, memory, key_padding_mask=mask, need_weights=False)[0])
        return x + self.dropout(self.ff(self.norms[-1](x)))


class TokenDecoder(nn.Module):
    """``tokens [B, L]`` and memories -> ``(states [B, L, d], logits [B, L, vocab])``."""

    def __init__(self, vocab_size: int, d_model: int, layers: int, heads: int, ff: int, dropout: float, memories: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # scaled by sqrt(d): unit size, like the positions
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.scale = math.sqrt(d_model)
        self.positions = SinusoidalPositions(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(DecoderLayer(d_model, heads, ff, dropout, memories) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def states(self, tokens: torch.Tensor, memories: Sequence[Memory]) -> torch.Tensor:
        x = self.dropout(self.positions(self.embedding(tokens) * self.scale))
        for layer in self.layers:
            x = layer(x, memories)
        return self.norm(x)

    def forward(self, tokens: torch.Tensor, memories: Sequence[Memory]) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.states(tokens, memories)
        return states, self.head(states)
