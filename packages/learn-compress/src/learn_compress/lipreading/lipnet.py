"""LipNet-style visual-only baseline with CTC (Assael et al. 2016, arXiv 1611.01599; ``lipformer.md`` 1.6).

The 3D-conv front end of LipFormer without channel attention (Dropout3d 0.5), a 2-layer BiGRU (256 per
direction, orthogonal recurrent init), ``Linear(2 * hidden, 28)`` over ``a``-``z`` (0-25), space (26)
and the CTC blank (27); ``nn.CTCLoss(blank=27, zero_infinity=True)``. Decoding is greedy (argmax per
frame, repeats collapsed, blanks dropped); LipNet's optional beam search with a language model is not
implemented (``beam`` > 1 is refused).
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..registry import MODELS
from .decoding import ctc_greedy
from .frontend import LipFrontEnd
from .layers import padding_mask

CTC_SYMBOLS = (*string.ascii_lowercase, " ")
BLANK = len(CTC_SYMBOLS)  # 27


def ctc_encode(text: str) -> list[int]:
    """``a``-``z`` -> 0-25, space -> 26."""
    return [CTC_SYMBOLS.index(ch) for ch in " ".join(text.lower().split())]


def ctc_text(ids: Sequence[int]) -> str:
    return "".join(CTC_SYMBOLS[i] for i in ids if i < BLANK)


@dataclass
class LipNetConfig:
    in_channels: int = 1
    height: int = 50
    width: int = 100
    frontend_channels: tuple[int, ...] = (32, 64, 96)
    dropout: float = 0.5
    hidden: int = 256
    layers: int = 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@MODELS.register("LipNetCTC")
class LipNetCTC(nn.Module):
    """``LipNetCTC(config)`` or ``LipNetCTC(**fields)``; the same ``loss``/``decode`` interface as LipFormer."""

    def __init__(self, config: LipNetConfig | None = None, **overrides: Any):
        super().__init__()
        self.config = c = dataclasses.replace(config or LipNetConfig(), **overrides)
        self.frontend = LipFrontEnd(c.in_channels, c.frontend_channels, c.dropout, channel_attention=False)
        self.gru = nn.GRU(
            self.frontend.feature_dim(c.height, c.width), c.hidden, c.layers, batch_first=True, bidirectional=True
        )
        for name, weight in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.orthogonal_(weight)  # LipNet's Keras code: orthogonal recurrent/input kernels
        self.head = nn.Linear(2 * c.hidden, BLANK + 1)
        self.ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Per-frame log-probabilities ``[B, T, 28]``."""
        mask = padding_mask(lengths, frames.shape[2])
        x = self.frontend(frames, ~mask)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=frames.shape[2])[0]
        return self.head(out).log_softmax(-1)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        log_probs = self(batch["frames"], batch["lengths"])
        loss = self.ctc(log_probs.transpose(0, 1), batch["ctc_targets"], batch["lengths"], batch["ctc_lengths"])
        return loss, {"ctc": float(loss.detach())}

    @torch.no_grad()
    def decode(
        self, frames: torch.Tensor, landmarks: torch.Tensor | None, lengths: torch.Tensor, beam: int = 1
    ) -> list[str]:
        """Greedy CTC transcripts (landmarks are ignored: LipNet is visual-only)."""
        if beam != 1:
            raise ValueError("LipNetCTC decodes greedily (beam=1); CTC beam search is not implemented")
        return [ctc_text(ids) for ids in ctc_greedy(self(frames, lengths), lengths, BLANK)]
