"""Cross-modal fusion of the visual and landmark sequences (``lipformer.md`` section 1.3, assumed).

Each of ``N_f`` layers computes both updates from the layer's inputs (pre-LN)::

    V' = V + MHA(q=LN(V), k=LN(L), v=LN(L))      L' = L + MHA(q=LN(L), k=LN(V), v=LN(V))
    V  = V' + FFN(LN(V'))                         L  = L' + FFN(LN(L'))

``mode="v2l"`` keeps only the visual update (video queries landmarks), ``"l2v"`` only the landmark one,
``"concat"`` has no attention at all (ablation). The output is ``LN(Linear_{2d->d}([V ; L]))``. Padded
frames are masked as keys, so they never reach a valid frame.
"""

from __future__ import annotations

import torch
from torch import nn

FUSION_MODES = ("bi", "v2l", "l2v", "concat")


class _CrossUpdate(nn.Module):
    """``x + MHA(LN(x), LN(y), LN(y))`` then ``+ FFN(LN(.))``: one stream attending to the other."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ff = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(
            nn.Linear(d_model, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d_model), nn.Dropout(dropout)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        kv = self.norm_kv(y)
        x = x + self.dropout(self.attention(self.norm_q(x), kv, kv, key_padding_mask=mask, need_weights=False)[0])
        return x + self.ff(self.norm_ff(x))


class CrossModalFusion(nn.Module):
    """``(V, L, mask) -> F [B, T, d]``."""

    def __init__(self, d_model: int, layers: int, heads: int, ff: int, dropout: float, mode: str = "bi"):
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f"fusion must be one of {FUSION_MODES}, got {mode!r}")
        self.mode = mode
        self.layers = layers if mode != "concat" else 0
        stack = [_CrossUpdate(d_model, heads, ff, dropout) for _ in range(self.layers)]
        self.visual = nn.ModuleList(stack) if mode in ("bi", "v2l") else None
        stack = [_CrossUpdate(d_model, heads, ff, dropout) for _ in range(self.layers)]
        self.landmark = nn.ModuleList(stack) if mode in ("bi", "l2v") else None
        self.project = nn.Sequential(nn.Linear(2 * d_model, d_model), nn.LayerNorm(d_model))

    def forward(self, v: torch.Tensor, lm: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for i in range(self.layers):
            v_in, l_in = v, lm
            if self.visual is not None:
                v = self.visual[i](v_in, l_in, mask)
            if self.landmark is not None:
                lm = self.landmark[i](l_in, v_in, mask)
        return self.project(torch.cat([v, lm], dim=-1))
