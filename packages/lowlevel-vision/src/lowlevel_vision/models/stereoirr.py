"""StereoIRR: stereo image rain removal via dual-view mutual attention.

Wei, Zhang, Zhao, Zhao, Hong, Yang, *Stereo Image Rain Removal via Dual-View Mutual Attention*,
arXiv 2211.10104. The official repository (``github.com/OaDsis/StereoIRR``) holds no code. Section numbers
refer to the project specification ``shared/papers/stereoirr.md``.

**Figure-backed topology (spec §2.1):** a shared Feature Extraction applied to both rainy views; the
Long-range and Cross-view Interaction (LCI) stage, two weight-shared U-shaped streams of BasicBlock groups
(decreasing then increasing resolution) with long skips between groups of equal size and a Dual-view
Mutual Attention (DMA) between every pair of consecutive groups; a shared Residual Prediction; and the
global residual ``derained view = rainy view + predicted residual``.

**Reconstruction; the paper's exact design is not public** (spec §2.2-§3, all assumed): the widths and
depths (``width=32``, blocks (2, 2, 2) / 4 / (2, 2, 2), 3 levels + bottleneck = 7 groups and 6 DMAs), the
BasicBlock (NAFNet's block, or ``block="res"``), the Down (Conv2×2 stride 2) and Up (Conv1×1 +
PixelShuffle) layers, additive skip fusion, the DMA equations (one scaled score matrix per row of the
rectified pair, row-softmax for left←right and column-softmax for right←left, zero-initialised scales),
the Charbonnier loss and the NAFNet training recipe (:func:`stereoirr_optimizer`). Every one is a
constructor or function argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..registry import MODELS
from .blocks import LayerNorm2d, NAFBlock, StereoModel

__all__ = [
    "DualViewMutualAttention",
    "ResBlock",
    "SkipFusion",
    "StereoIRR",
    "stereoirr_no_dma",
    "stereoirr_optimizer",
    "STEREOIRR_LR",
    "STEREOIRR_BETAS",
    "STEREOIRR_WEIGHT_DECAY",
    "STEREOIRR_MIN_LR",
    "STEREOIRR_ITERATIONS",
    "STEREOIRR_BATCH_SIZE",
    "STEREOIRR_CROP",
]

# Training recipe (spec §3; reconstruction: NAFNet's recipe for the same block).
STEREOIRR_LR = 1e-3
STEREOIRR_BETAS = (0.9, 0.9)
STEREOIRR_WEIGHT_DECAY = 0.0
STEREOIRR_MIN_LR = 1e-7
STEREOIRR_ITERATIONS = 200_000
STEREOIRR_BATCH_SIZE = 8
STEREOIRR_CROP = (128, 256)  # (H, W): wide crops keep the disparity range inside a row


class ResBlock(nn.Module):
    """``block="res"`` BasicBlock (spec §2.2, reconstruction): ``x + Conv3×3(ReLU(Conv3×3(x)))``, convs with bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


BLOCKS: dict[str, type[nn.Module]] = {"naf": NAFBlock, "res": ResBlock}


def block_group(block: str, channels: int, count: int) -> nn.Sequential:
    """One "BasicBlocks" group of the figure: ``count`` blocks of ``channels`` (empty: identity)."""
    return nn.Sequential(*(BLOCKS[block](channels) for _ in range(count)))


class SkipFusion(nn.Module):
    """Joins a decoder input with its long skip (spec §2.2): ``"add"`` (default) or ``"concat"`` + Conv1×1(2c→c)."""

    def __init__(self, channels: int, mode: str = "add") -> None:
        super().__init__()
        if mode not in ("add", "concat"):
            raise ValueError(f"skip_fusion must be 'add' or 'concat', got {mode!r}")
        self.mode = mode
        if mode == "concat":
            self.project = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return x + skip if self.mode == "add" else self.project(torch.cat([x, skip], dim=1))


class _QueryValue(nn.Module):
    """The per-view projections of DMA: ``Q = W_q · LN(F) + b_q`` and ``V = W_v · F + b_v`` (1×1 convs)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)
        self.query = nn.Conv2d(channels, channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.query(self.norm(x)), self.value(x)


class DualViewMutualAttention(nn.Module):
    """DMA(c), spec §2.3 (equations are our reconstruction; the component is from the abstract and figure).

    For a rectified pair, per image row and head::

        S    = Q_L^T Q_R / sqrt(c / heads)            # (W_L, W_R): left column i vs right column j
        A_RL = softmax(S, over j)                      # each left pixel attends to right columns
        A_LR = softmax(S^T, over i)                    # each right pixel attends to left columns
        F_L' = F_L + β ⊙ A_RL V_R,   F_R' = F_R + γ ⊙ A_LR V_L

    Each view is the key for the other (Q_L is the left query and the key of the right view, and vice
    versa), so the one score matrix S yields both mutual maps; A_LR is computed as the column-softmax of S
    (the transpose of ``softmax(S^T, -1)``) without copying S. β, γ ∈ R^c are zero-initialised (spec §2.3):
    a fresh DMA is the identity. ``scale_init`` sets another initial value for every entry of β and γ (a
    reconstruction option, not the spec's default; the docs report its effect). ``shared_projections=True``
    (default) uses one LN/W_q/W_v for both views (``2c² + 6c`` parameters); ``False`` gives each view its
    own (SCAM-like, ``4c² + 10c``).

    Attention is independent per row: memory is O(B·H·W²) per map, so rows are processed in blocks (exact):
    of ``chunk_rows`` rows when given, otherwise of as many rows as keep one block's score matrix within
    ``attention_budget`` elements (all rows at once when they fit, as in training on crops; bounded blocks
    for the full-width strips of a 2048-wide image).
    """

    def __init__(
        self,
        channels: int,
        heads: int = 1,
        shared_projections: bool = True,
        chunk_rows: int | None = None,
        scale_init: float = 0.0,
        attention_budget: int = 2**25,
    ) -> None:
        super().__init__()
        if heads < 1 or channels % heads:
            raise ValueError(f"dma_heads must divide the channels ({channels}), got {heads}")
        if chunk_rows is not None and chunk_rows < 1:
            raise ValueError(f"attn_chunk_rows must be None or ≥ 1, got {chunk_rows}")
        self.heads = heads
        self.scale = 1.0 / math.sqrt(channels / heads)
        self.chunk_rows = chunk_rows
        self.attention_budget = attention_budget
        self.projections = nn.ModuleList(_QueryValue(channels) for _ in range(1 if shared_projections else 2))
        self.beta = nn.Parameter(torch.full((1, channels, 1, 1), float(scale_init)))
        self.gamma = nn.Parameter(torch.full((1, channels, 1, 1), float(scale_init)))

    def _project(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(Q_L, Q_R, V_L, V_R)``, each split into heads: (B, heads, c/heads, H, W)."""
        if len(self.projections) == 1:
            query, value = self.projections[0](torch.cat([left, right]))
            q_l, q_r = query.chunk(2)
            v_l, v_r = value.chunk(2)
        else:
            (q_l, v_l), (q_r, v_r) = self.projections[0](left), self.projections[1](right)
        batch, channels, height, width = left.shape
        return tuple(t.reshape(batch, self.heads, channels // self.heads, height, width) for t in (q_l, q_r, v_l, v_r))

    def _scores(self, q_l: torch.Tensor, q_r: torch.Tensor) -> torch.Tensor:
        """The one score matrix S: (B, heads, H, W_L, W_R)."""
        return torch.einsum("bnchi,bnchj->bnhij", q_l, q_r) * self.scale

    def _exchange(
        self, q_l: torch.Tensor, q_r: torch.Tensor, v_l: torch.Tensor, v_r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Messages ``(A_RL V_R, A_LR V_L)`` for a block of whole rows (head-split tensors)."""
        scores = self._scores(q_l, q_r)
        to_left = torch.einsum("bnhij,bnchj->bnchi", scores.softmax(dim=-1), v_r)
        to_right = torch.einsum("bnhij,bnchi->bnchj", scores.softmax(dim=-2), v_l)
        return to_left, to_right

    def attention_maps(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A_RL, A_LR)``, each (B, heads, H, W, W): A_RL[..., i, j] weighs right column j for left column i,
        A_LR[..., j, i] weighs left column i for right column j (rows of both sum to 1). Full memory."""
        q_l, q_r, _, _ = self._project(left, right)
        scores = self._scores(q_l, q_r)
        return scores.softmax(dim=-1), scores.transpose(-1, -2).softmax(dim=-1)

    def block_rows(self, head_shape: torch.Size) -> int:
        """Rows per attention block for head-split features of shape (B, heads, c/heads, H, W)."""
        batch, heads, _, height, width = head_shape
        if self.chunk_rows is not None:
            return self.chunk_rows
        return max(1, min(height, self.attention_budget // (batch * heads * width * width)))

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(F_L', F_R')`` for (B, c, H, W) features of the two views."""
        q_l, q_r, v_l, v_r = self._project(left, right)
        rows = self.block_rows(q_l.shape)
        if rows >= left.shape[2]:
            to_left, to_right = self._exchange(q_l, q_r, v_l, v_r)
        else:
            blocks = [
                self._exchange(*parts)
                for parts in zip(*(t.split(rows, dim=3) for t in (q_l, q_r, v_l, v_r)), strict=True)
            ]
            to_left = torch.cat([b[0] for b in blocks], dim=3)
            to_right = torch.cat([b[1] for b in blocks], dim=3)
        return left + self.beta * to_left.reshape(left.shape), right + self.gamma * to_right.reshape(right.shape)


def dma_gaps(dma_positions: str | Sequence[int], count: int) -> list[int]:
    """The sorted gap indices that hold a DMA: ``"all"`` or a subset of ``range(count)``."""
    if isinstance(dma_positions, str):
        if dma_positions != "all":
            raise ValueError(f"dma_positions must be 'all' or a list of gap indices, got {dma_positions!r}")
        return list(range(count))
    positions = sorted(set(dma_positions))
    if not set(positions) <= set(range(count)):
        raise ValueError(f"dma_positions must lie in [0, {count}), got {list(dma_positions)}")
    return positions


@MODELS.register("StereoIRR")
class StereoIRR(StereoModel):
    """StereoIRR (spec §2): Feature Extraction → LCI (U-shaped two-stream BasicBlock chain + DMA) → Residual
    Prediction → ``out_v = x_v + residual_v``.

    Figure-backed (§2.1): shared Feature Extraction, two weight-shared U-shaped streams of BasicBlock groups
    with long skips between equal-size groups, a DMA between consecutive groups, shared Residual Prediction,
    global residual. **Reconstruction; the paper's exact design is not public** (§2.2-§3): everything below,
    namely the widths and depths, the BasicBlock type, the Down/Up layers, where the skips leave and how they
    are fused, the DMA equations (:class:`DualViewMutualAttention`), the loss (``losses.stereoirr_loss``) and
    the training recipe (:func:`stereoirr_optimizer`).

    Per level i (c = width·2^i): ``enc_blocks[i]`` blocks → skip_i (taken before the DMA) → DMA → Conv2×2
    stride 2 (c→2c). Bottleneck: ``middle_blocks`` blocks at width·2^L → DMA. Per level up (i = L-1..0):
    Conv1×1(2c→4c, no bias) + PixelShuffle(2) → fuse skip_i → ``dec_blocks[i]`` blocks → DMA (i ≥ 1).
    Feature Extraction Conv3×3(3→width), Residual Prediction Conv3×3(width→3), both with bias. Every per-view
    layer runs once on the stacked views (batch 2B); only DMA separates them. Inputs are zero-padded to a
    multiple of 2^L (:class:`StereoModel`) and cropped back.

    Args:
        width: channels at full resolution (default 32).
        enc_blocks, dec_blocks: blocks per level (level 0 = full resolution); their length is the number of
            levels L (default 3).
        middle_blocks: bottleneck blocks (the figure's ellipsis).
        block: ``"naf"`` (NAFNet block, default) or ``"res"`` (:class:`ResBlock`).
        dma_heads: heads of every DMA (must divide width).
        dma_shared_projections: one Q/V projection for both views (default) or one per view.
        dma_positions: ``"all"`` or the gap indices that hold a DMA, in execution order: 0..L-1 after the
            encoder groups, L after the bottleneck, L+1..2L-1 after decoder groups L-1..1. Gaps not listed
            hold no module.
        skip_fusion: ``"add"`` (default) or ``"concat"`` (+ Conv1×1(2c→c)).
        cross_view: ``False`` replaces every DMA by the identity (the ablation ``StereoIRR-noDMA``).
        attn_chunk_rows: rows per DMA attention block (``None``: as many as keep a block's scores within
            2**25 elements, all rows when they fit); exact either way.
        dma_scale_init: initial value of every DMA's β and γ (spec §2.3: 0, a fresh DMA is the identity; a
            non-zero value lets the cross-view messages act from the first step).

    Parameters: 3,065,827 by default (2,846,755 with ``cross_view=False``); tiny (width 16, blocks 1/1/1)
    344,467 (spec §2.4).
    """

    def __init__(
        self,
        width: int = 32,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 4,
        dec_blocks: Sequence[int] = (2, 2, 2),
        block: str = "naf",
        dma_heads: int = 1,
        dma_shared_projections: bool = True,
        dma_positions: str | Sequence[int] = "all",
        skip_fusion: str = "add",
        cross_view: bool = True,
        attn_chunk_rows: int | None = None,
        dma_scale_init: float = 0.0,
    ) -> None:
        super().__init__()
        if len(enc_blocks) != len(dec_blocks) or not enc_blocks:
            raise ValueError(f"enc_blocks and dec_blocks need one entry per level, got {enc_blocks}, {dec_blocks}")
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {block!r}")
        levels = len(enc_blocks)
        gaps = self.gap_channels(width, levels)
        positions = dma_gaps(dma_positions, len(gaps))
        self.config: dict[str, Any] = {
            "width": width,
            "enc_blocks": tuple(enc_blocks),
            "middle_blocks": middle_blocks,
            "dec_blocks": tuple(dec_blocks),
            "block": block,
            "dma_heads": dma_heads,
            "dma_shared_projections": dma_shared_projections,
            "dma_positions": dma_positions if dma_positions == "all" else positions,
            "skip_fusion": skip_fusion,
            "cross_view": cross_view,
            "attn_chunk_rows": attn_chunk_rows,
            "dma_scale_init": dma_scale_init,
        }
        self.block_counts = {
            "enc_blocks": tuple(enc_blocks),
            "middle_blocks": middle_blocks,
            "dec_blocks": tuple(dec_blocks),
            "refine_blocks": 0,
        }
        self.size_multiple = 2**levels
        widths = [width * 2**i for i in range(levels)]
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.encoders = nn.ModuleList(block_group(block, c, n) for c, n in zip(widths, enc_blocks, strict=True))
        self.downs = nn.ModuleList(nn.Conv2d(c, 2 * c, 2, stride=2) for c in widths)
        self.middle = block_group(block, width * 2**levels, middle_blocks)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1, bias=False), nn.PixelShuffle(2)) for c in widths
        )
        self.fusions = nn.ModuleList(SkipFusion(c, skip_fusion) for c in widths)
        self.decoders = nn.ModuleList(block_group(block, c, n) for c, n in zip(widths, dec_blocks, strict=True))
        self.ending = nn.Conv2d(width, 3, 3, padding=1)
        self.dmas = nn.ModuleDict(
            {
                str(gap): DualViewMutualAttention(
                    gaps[gap], dma_heads, dma_shared_projections, attn_chunk_rows, dma_scale_init
                )
                for gap in (positions if cross_view else [])
            }
        )

    @staticmethod
    def gap_channels(width: int, levels: int) -> list[int]:
        """Channels at each DMA gap, in execution order (encoder levels, bottleneck, decoder levels L-1..1)."""
        encoder = [width * 2**i for i in range(levels)]
        return encoder + [width * 2**levels] + encoder[:0:-1]

    def _mutual(self, gap: int, stacked: torch.Tensor) -> torch.Tensor:
        """DMA at ``gap`` on stacked (2B, c, H, W) features, or the identity where the gap holds none."""
        if str(gap) not in self.dmas:
            return stacked
        return torch.cat(self.dmas[str(gap)](*stacked.chunk(2)))

    def forward_padded(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both views, H and W multiples of :attr:`size_multiple`; per-view layers on the stacked batch."""
        if left.shape[1] != 3:
            raise ValueError(f"views must be RGB (B, 3, H, W), got {tuple(left.shape)}")
        views = torch.cat([left, right])
        levels = len(self.encoders)
        feature = self.intro(views)
        skips = []
        for level, (encoder, down) in enumerate(zip(self.encoders, self.downs, strict=True)):
            feature = encoder(feature)
            skips.append(feature)
            feature = down(self._mutual(level, feature))
        feature = self._mutual(levels, self.middle(feature))
        for level in reversed(range(levels)):
            feature = self.decoders[level](self.fusions[level](self.ups[level](feature), skips[level]))
            if level > 0:
                feature = self._mutual(2 * levels - level, feature)
        return (views + self.ending(feature)).chunk(2)


def stereoirr_no_dma(**kwargs: Any) -> StereoIRR:
    """``StereoIRR-noDMA``: StereoIRR with every DMA replaced by the identity (``cross_view=False``)."""
    if kwargs.pop("cross_view", False):
        raise ValueError("StereoIRR-noDMA has no cross-view attention; build 'StereoIRR' for cross_view=True")
    return StereoIRR(cross_view=False, **kwargs)


MODELS.register("StereoIRR-noDMA", stereoirr_no_dma)


def stereoirr_optimizer(
    model: nn.Module,
    lr: float = STEREOIRR_LR,
    betas: tuple[float, float] = STEREOIRR_BETAS,
    weight_decay: float = STEREOIRR_WEIGHT_DECAY,
    iterations: int = STEREOIRR_ITERATIONS,
    min_lr: float = STEREOIRR_MIN_LR,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.CosineAnnealingLR]:
    """Training recipe (spec §3, reconstruction: NAFNet's): AdamW(lr 1e-3, betas (0.9, 0.9), weight decay 0)
    and cosine annealing to 1e-7 over 200,000 iterations, no warm-up; step the scheduler once per iteration.
    Batch :data:`STEREOIRR_BATCH_SIZE` pairs of :data:`STEREOIRR_CROP` crops, no gradient clipping."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=iterations, eta_min=min_lr)
    return optimizer, scheduler
