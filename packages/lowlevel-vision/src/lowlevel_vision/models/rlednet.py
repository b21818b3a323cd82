"""RLED-Net: real-world low-light enhancement and denoising in sRGB.

Ren, Zhang, Hong, Xu, Yang, Yan, *Seeing Through the Noisy Dark: Toward Real-world Low-Light Image
Enhancement and Denoising*, arXiv 2210.00545 (2022). No official code is known. Section numbers refer
to the project specification ``shared/papers/rled-net.md``.

**On record (paper, abstract and first page only):** the four components and their order: a
plug-and-play, differentiable Latent Subspace Reconstruction Block (LSRB) *before* enhancement, a
U-shaped backbone (CSTNet) of Cross-channel & Shift-window Transformer (CST) layers whose two branches
are window attention (with shifts) and channel attention, and a Feature Refine Block (FRB) at the end.

**Reconstructed (assumed, spec §2-§3):** every equation, width, depth, window size, rank and
hyper-parameter: the LSRB formulation (NBNet-style subspace projection, §2.2), the CST layer details
(Swin window attention with relative position bias, Restormer MDTA channel attention, 1×1 fusion of the
two branches, GDFN feed-forward, §2.3), the CSTNet layout (§2.4), the FRB layout (§2.5), replicate padding
and the global residual (§2.1), the loss and the optimiser (§3). All are constructor arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..registry import MODELS
from .blocks import LayerNorm2d

__all__ = [
    "CSTLayer",
    "CSTNet",
    "ChannelSelfAttention",
    "FeatureRefineBlock",
    "GatedDconvFFN",
    "LatentSubspaceReconstruction",
    "RLEDNet",
    "RLEDNetNoLSRB",
    "WindowSelfAttention",
    "rlednet_optimizer",
    "shift_attention_mask",
    "subspace_project",
    "window_partition",
    "window_reverse",
    "RLEDNET_LR",
    "RLEDNET_BETAS",
    "RLEDNET_WEIGHT_DECAY",
    "RLEDNET_MIN_LR",
    "RLEDNET_ITERATIONS",
]

LSRB_POSITIONS = ("input", "skips", "both", "none")
SHIFT_ALTERNATIONS = ("group", "network")
MASK_VALUE = -100.0  # Swin's additive score for token pairs from different shifted regions.

# Training recipe (spec §3, assumed).
RLEDNET_LR = 2e-4
RLEDNET_BETAS = (0.9, 0.999)
RLEDNET_WEIGHT_DECAY = 1e-4
RLEDNET_MIN_LR = 1e-6
RLEDNET_ITERATIONS = 150_000


# --- LSRB (spec §2.2) ---------------------------------------------------------------------------------


def subspace_project(x: torch.Tensor, basis: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Project every channel map of ``x`` onto the span of the ``K`` basis maps (spec §2.2).

    ``x`` (B, C, *spatial), ``basis`` (B, K, *spatial); with ``X`` (B, C, N) and ``V`` (B, K, N)::

        G = V Vᵀ + eps·I_K,   A = solve(G, V Xᵀ),   X̂ = Aᵀ V  (= X Vᵀ (V Vᵀ + eps·I)⁻¹ V)

    The N×N projector is never formed (cost O(B·C·K·N)); the ridge ``eps`` keeps the solve finite for
    degenerate bases (zero or repeated maps). The solve runs in float32 (or float64) even under autocast;
    the result has ``x``'s dtype and shape.
    """
    dtype = torch.promote_types(x.dtype, torch.float32)
    with torch.autocast(device_type=x.device.type, enabled=False):
        flat_x = x.flatten(2).to(dtype)
        flat_v = basis.flatten(2).to(dtype)
        gram = flat_v @ flat_v.transpose(1, 2)
        gram = gram + eps * torch.eye(gram.shape[-1], dtype=dtype, device=x.device)
        coefficients = torch.linalg.solve(gram, flat_v @ flat_x.transpose(1, 2))  # (B, K, C)
        projected = coefficients.transpose(1, 2) @ flat_v
    return projected.view_as(x).to(x.dtype)


class LatentSubspaceReconstruction(nn.Module):
    """LSRB(C, K) (paper: plug-and-play, differentiable; formulation assumed after NBNet, spec §2.2).

    ``V = normalize(Conv1×1(C→K)(LReLU(Conv3×3(LReLU(Conv3×3(X))))))`` gives K unit-norm basis maps; every
    channel map of X is projected onto their span (:func:`subspace_project`), then mixed by a 1×1 conv.
    ``residual=True`` adds the input back (not the default). LSRB(32, 16) has 20,080 parameters.

    ``center=True`` (ours, not in the spec; default False) removes the spatial mean of the basis maps before
    normalising them and of X's channel maps before projecting, and adds X's means back: X̂ = m + P_V(X − m).
    Without it, the raw maps share a large common mean, so their unit vectors point almost the same way
    (the Gram matrix has one dominant eigenvalue) and the projection keeps little more than one direction;
    centred, the basis spans K directions orthogonal to the constant map, which is kept exactly (rank ≤ K + 1).
    """

    def __init__(
        self,
        channels: int,
        rank: int = 16,
        eps: float = 1e-4,
        slope: float = 0.2,
        residual: bool = False,
        center: bool = False,
    ):
        super().__init__()
        self.eps = eps
        self.residual = residual
        self.center = center
        self.basis_net = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(slope),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(slope),
            nn.Conv2d(channels, rank, 1),
        )
        self.project = nn.Conv2d(channels, channels, 1)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The (B, K, H·W) basis, each map of unit L2 norm (an all-zero map stays zero; centred first if
        :attr:`center`)."""
        maps = self.basis_net(x).flatten(2)
        if self.center:
            maps = maps - maps.mean(-1, keepdim=True)
        return F.normalize(maps, dim=-1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The projection X̂ before the output 1×1 conv: rank ≤ K (≤ K + 1 if :attr:`center`) as a C×(H·W)
        matrix."""
        basis = self.basis(x).view(x.shape[0], -1, *x.shape[2:])
        if not self.center:
            return subspace_project(x, basis, self.eps)
        mean = x.mean((-2, -1), keepdim=True)
        return mean + subspace_project(x - mean, basis, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.reconstruct(x))
        return x + out if self.residual else out


# --- shifted-window attention (spec §2.3, WMSA branch) ------------------------------------------------


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, C, H, W) → (B·nh·nw, M², C) non-overlapping M×M windows, row-major inside each window."""
    return rearrange(x, "b c (nh m1) (nw m2) -> (b nh nw) (m1 m2) c", m1=window, m2=window)


def window_reverse(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B·nh·nw, M², C) → (B, C, H, W)."""
    return rearrange(
        windows, "(b nh nw) (m1 m2) c -> b c (nh m1) (nw m2)", nh=height // window, nw=width // window, m1=window
    )


def shift_attention_mask(height: int, width: int, window: int, shift: int, device=None) -> torch.Tensor:
    """Swin's mask for a cyclic shift by ``shift``: (nW, M², M²), 0 within a region, -100 across regions.

    Each axis of the *rolled* image is split at ``-window`` and ``-shift`` into three bands, giving 3×3
    regions; tokens in the same window but different regions were not neighbours before the roll
    (they wrapped around the border), so their scores get -100.
    """

    def bands(size: int) -> torch.Tensor:
        index = torch.arange(size, device=device)
        return (index >= size - window).long() + (index >= size - shift).long()

    regions = (bands(height)[:, None] * 3 + bands(width)[None, :])[None, None].float()
    labels = window_partition(regions, window).squeeze(-1)  # (nW, M²)
    different = labels[:, :, None] != labels[:, None, :]
    return different.float() * MASK_VALUE


def relative_position_index(window: int) -> torch.Tensor:
    """(M², M²) index into the (2M-1)² table of relative offsets (Swin)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]) + (window - 1)
    return relative[0] * (2 * window - 1) + relative[1]


class WindowSelfAttention(nn.Module):
    """WMSA (spec §2.3, assumed Swin layout): multi-head self-attention inside M×M windows.

    ``softmax(q kᵀ · (C/h)^-½ + B_rel [+ mask])`` with a learned relative-position bias table of
    (2M-1)²×h entries; ``shifted=True`` rolls the map by (-M/2, -M/2) before and back after, with
    :func:`shift_attention_mask`. No shift when min(H, W) ≤ M. Vectorised over windows (one batched
    ``scaled_dot_product_attention``); H and W must be multiples of M.
    """

    def __init__(self, channels: int, window: int = 8, heads: int = 1, shifted: bool = False):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels {channels} must be divisible by heads {heads}")
        self.window = window
        self.heads = heads
        self.shifted = shifted
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.bias_table = nn.Parameter(torch.empty((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer("bias_index", relative_position_index(window), persistent=False)

    def shift_for(self, height: int, width: int) -> int:
        """The roll used at this size: M/2 for shifted layers unless min(H, W) ≤ M, else 0."""
        return self.window // 2 if self.shifted and min(height, width) > self.window else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if height % self.window or width % self.window:
            raise ValueError(f"H and W must be multiples of the window {self.window}, got {height}×{width}")
        shift = self.shift_for(height, width)
        if shift:
            x = torch.roll(x, (-shift, -shift), dims=(2, 3))
        tokens = window_partition(x, self.window)  # (B·nW, L, C)
        q, k, v = rearrange(
            self.qkv(tokens), "(b w) l (three h d) -> three b w h l d", b=batch, three=3, h=self.heads
        ).unbind(0)
        length = self.window**2
        bias = self.bias_table[self.bias_index.view(-1)].view(length, length, self.heads).permute(2, 0, 1)
        if shift:
            bias = bias + shift_attention_mask(height, width, self.window, shift, x.device)[:, None]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))  # (B, nW, h, L, d)
        out = self.proj(rearrange(out, "b w h l d -> (b w) l (h d)"))
        out = window_reverse(out, self.window, height, width)
        return torch.roll(out, (shift, shift), dims=(2, 3)) if shift else out


# --- channel attention, feed-forward, CST layer (spec §2.3) -------------------------------------------


class ChannelSelfAttention(nn.Module):
    """CMSA (spec §2.3, assumed Restormer MDTA): transposed attention across channels.

    ``q, k, v = DW3×3(Conv1×1(C→3C)(Y))``; per head, q and k are L2-normalised along the pixels and
    ``softmax(q kᵀ · τ_h)`` is a (C/h)×(C/h) map (learnable temperature per head, init 1); the output is
    ``Conv1×1(attn v)``. No biases.
    """

    def __init__(self, channels: int, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, bias=False)
        self.qkv_dw = nn.Conv2d(3 * channels, 3 * channels, 3, padding=1, groups=3 * channels, bias=False)
        self.proj = nn.Conv2d(channels, channels, 1, bias=False)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.qkv_dw(self.qkv(x)).chunk(3, dim=1)
        return tuple(rearrange(t, "b (h c) x y -> b h c (x y)", h=self.heads) for t in (q, k, v))

    def _maps(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        return (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)

    def attention_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The (B, h, C/h, C/h) channel attention maps (rows sum to 1)."""
        q, k, _ = self._qkv(x)
        return self._maps(q, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._qkv(x)
        out = rearrange(self._maps(q, k) @ v, "b h c (x y) -> b (h c) x y", x=x.shape[-2])
        return self.proj(out)


class GatedDconvFFN(nn.Module):
    """GDFN (spec §2.3, assumed Restormer): ``Conv1×1(GELU(a) * b)``, ``a, b = DW3×3(Conv1×1(C→2h))``, no bias."""

    def __init__(self, channels: int, expansion: float = 2.66):
        super().__init__()
        hidden = int(expansion * channels)
        self.expand = nn.Conv2d(channels, 2 * hidden, 1, bias=False)
        self.depthwise = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden, bias=False)
        self.project = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.depthwise(self.expand(x)).chunk(2, dim=1)
        return self.project(F.gelu(a) * b)


class CSTLayer(nn.Module):
    """Cross-channel & Shift-window Transformer layer (paper: two branches; details assumed, spec §2.3)::

        Y = LN(X);  X = X + Conv1×1(2C→C)([WMSA(Y), CMSA(Y)]);  X = X + GDFN(LN(X))

    heads ``max(1, C // head_dim)``. CST(16/32/64) has 6,134 / 21,308 / 79,416 parameters.
    """

    def __init__(
        self, channels: int, window: int = 8, head_dim: int = 32, ffn_expansion: float = 2.66, shifted: bool = False
    ):
        super().__init__()
        heads = max(1, channels // head_dim)
        self.norm1 = LayerNorm2d(channels)
        self.window_attention = WindowSelfAttention(channels, window, heads, shifted)
        self.channel_attention = ChannelSelfAttention(channels, heads)
        self.fuse = nn.Conv2d(2 * channels, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn = GatedDconvFFN(channels, ffn_expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.fuse(torch.cat([self.window_attention(y), self.channel_attention(y)], dim=1))
        return x + self.ffn(self.norm2(x))


def cst_group(channels: int, count: int, window: int, head_dim: int, ffn_expansion: float) -> nn.Sequential:
    """``count`` CST layers; odd indices are shifted (alternation restarts in every group)."""
    return nn.Sequential(
        *(CSTLayer(channels, window, head_dim, ffn_expansion, shifted=i % 2 == 1) for i in range(count))
    )


# --- CSTNet, FRB (spec §2.4, §2.5) --------------------------------------------------------------------


class CSTNet(nn.Module):
    """U-shaped CSTNet (paper: U shape of CST layers; layout assumed, spec §2.4).

    Level i (c = C·2^i): ``enc_blocks[i]`` CST(c) → skip (through ``LatentSubspaceReconstruction(c,
    **skip_lsrb)`` when ``skip_lsrb`` is given) → Conv4×4 stride 2 (c→2c); bottleneck ``middle_blocks``
    CST(C·2^L); decoder: ConvTranspose2×2 stride 2 (2c→c) → cat[up, skip] → Conv1×1(2c→c) →
    ``dec_blocks[i]`` CST(c). H, W must be multiples of window·2^L.
    """

    def __init__(
        self,
        width: int = 32,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 2,
        dec_blocks: Sequence[int] = (2, 2, 2),
        window: int = 8,
        head_dim: int = 32,
        ffn_expansion: float = 2.66,
        skip_lsrb: dict[str, Any] | None = None,
    ):
        super().__init__()
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError(f"enc_blocks and dec_blocks need one entry per level, got {enc_blocks}, {dec_blocks}")
        widths = [width * 2**i for i in range(len(enc_blocks))]
        self.encoders = nn.ModuleList(
            cst_group(c, n, window, head_dim, ffn_expansion) for c, n in zip(widths, enc_blocks, strict=True)
        )
        self.skip_lsrbs = nn.ModuleList(
            LatentSubspaceReconstruction(c, **skip_lsrb) if skip_lsrb is not None else nn.Identity() for c in widths
        )
        self.downs = nn.ModuleList(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1) for c in widths)
        self.middle = cst_group(2 * widths[-1], middle_blocks, window, head_dim, ffn_expansion)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, stride=2) for c in widths)
        self.fuses = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for c in widths)
        self.decoders = nn.ModuleList(
            cst_group(c, n, window, head_dim, ffn_expansion) for c, n in zip(widths, dec_blocks, strict=True)
        )

    def groups_in_order(self) -> list[nn.Sequential]:
        """The CST groups in the order the forward pass runs them: encoders, bottleneck, decoders."""
        return [*self.encoders, self.middle, *reversed(self.decoders)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for encoder, skip_lsrb, down in zip(self.encoders, self.skip_lsrbs, self.downs, strict=True):
            x = encoder(x)
            skips.append(skip_lsrb(x))
            x = down(x)
        x = self.middle(x)
        for level in reversed(range(len(skips))):
            x = self.decoders[level](self.fuses[level](torch.cat([self.ups[level](x), skips[level]], dim=1)))
        return x


class FeatureRefineBlock(nn.Module):
    """FRB (paper: refines the final features; layout assumed, spec §2.5): ``F + Conv3×3(CST^n(F))``."""

    def __init__(self, channels: int, count: int = 2, window: int = 8, head_dim: int = 32, ffn_expansion: float = 2.66):
        super().__init__()
        self.body = cst_group(channels, count, window, head_dim, ffn_expansion)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.body(x))


# --- the model (spec §2.1) ----------------------------------------------------------------------------


def replicate_pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad bottom and right so H and W are multiples of ``multiple`` (spec §2.1)."""
    height, width = x.shape[-2:]
    return F.pad(x, (0, -width % multiple, 0, -height % multiple), mode="replicate")


@MODELS.register("RLED-Net")
class RLEDNet(nn.Module):
    """RLED-Net (spec §2): ``forward(x) -> y`` for (B, 3, H, W) images in [0, 1] (output not clamped).

    Pipeline (§2.1): replicate-pad to :attr:`size_multiple` (window·2^levels) → Conv3×3(3→C) →
    LSRB(C, K) → CSTNet → FRB → Conv3×3(C→3) (+ padded input if ``global_residual``) → crop back.

    Paper-backed: LSRB before enhancement, CSTNet (U-shaped, CST layers with window-attention and
    channel-attention branches, shifted windows), FRB at the end. Assumed (spec §2, all arguments):
    LSRB formulation and rank, where LSRBs sit (``lsrb_position``: ``"input"`` after the first conv,
    ``"skips"`` on every encoder skip, ``"both"``, ``"none"`` = ablation), the CST details (Swin window
    attention with relative bias, MDTA channel attention, 1×1 fusion, GDFN), widths, depths, window, head
    width, FFN expansion, replicate padding, the global residual.

    Args:
        width: C (default 32). enc_blocks / dec_blocks: CST layers per level (level 0 = full resolution);
            middle_blocks: bottleneck CST layers; refine_blocks: CST layers in the FRB.
        window: M, the attention window (8). head_dim: channels per head (32). ffn_expansion: GDFN (2.66).
        rank: K, the LSRB subspace rank (16). lsrb_eps: ridge of the subspace solve (1e-4).
        lsrb_position: ``"input" | "skips" | "both" | "none"``. lsrb_residual: every LSRB adds its input
            back, ``X + Conv1×1(X̂)`` (spec §2.2's flag; default False: the projection replaces X).
            lsrb_center: every LSRB projects mean-removed maps (ours, see
            :class:`LatentSubspaceReconstruction`; default False).
        shift_alternation: ``"group"`` (spec §2.4: odd layers of each group are shifted, so groups of one
            layer never shift) or ``"network"`` (ours: every other CST layer in forward order, across
            groups and the FRB, is shifted).
        global_residual: add the padded input.

    Parameters: default 5,006,523; ``lsrb_position="none"`` 4,986,443; tiny (C=16, (1,1,1), 1, (1,1,1),
    refine 1, K=8) 760,373 (spec §2.6). ``block_counts`` gives the budget-matched Monocular baseline.
    """

    def __init__(
        self,
        width: int = 32,
        enc_blocks: Sequence[int] = (2, 2, 2),
        middle_blocks: int = 2,
        dec_blocks: Sequence[int] = (2, 2, 2),
        refine_blocks: int = 2,
        window: int = 8,
        head_dim: int = 32,
        ffn_expansion: float = 2.66,
        rank: int = 16,
        lsrb_eps: float = 1e-4,
        lsrb_position: str = "input",
        lsrb_residual: bool = False,
        lsrb_center: bool = False,
        shift_alternation: str = "group",
        global_residual: bool = True,
    ):
        super().__init__()
        if lsrb_position not in LSRB_POSITIONS:
            raise ValueError(f"lsrb_position must be one of {LSRB_POSITIONS}, got {lsrb_position!r}")
        if shift_alternation not in SHIFT_ALTERNATIONS:
            raise ValueError(f"shift_alternation must be one of {SHIFT_ALTERNATIONS}, got {shift_alternation!r}")
        if window % 2:
            raise ValueError(f"window must be even (shift M/2), got {window}")
        self.config: dict[str, Any] = {
            "width": width,
            "enc_blocks": tuple(enc_blocks),
            "middle_blocks": middle_blocks,
            "dec_blocks": tuple(dec_blocks),
            "refine_blocks": refine_blocks,
            "window": window,
            "head_dim": head_dim,
            "ffn_expansion": ffn_expansion,
            "rank": rank,
            "lsrb_eps": lsrb_eps,
            "lsrb_position": lsrb_position,
            "lsrb_residual": lsrb_residual,
            "lsrb_center": lsrb_center,
            "shift_alternation": shift_alternation,
            "global_residual": global_residual,
        }
        self.block_counts = {
            "enc_blocks": tuple(enc_blocks),
            "middle_blocks": middle_blocks,
            "dec_blocks": tuple(dec_blocks),
            "refine_blocks": refine_blocks,
        }
        self.size_multiple = window * 2 ** len(enc_blocks)
        self.global_residual = global_residual
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        lsrb = {"rank": rank, "eps": lsrb_eps, "residual": lsrb_residual, "center": lsrb_center}
        self.lsrb = LatentSubspaceReconstruction(width, **lsrb) if lsrb_position in ("input", "both") else nn.Identity()
        self.backbone = CSTNet(
            width,
            enc_blocks,
            middle_blocks,
            dec_blocks,
            window,
            head_dim,
            ffn_expansion,
            skip_lsrb=lsrb if lsrb_position in ("skips", "both") else None,
        )
        self.refine = FeatureRefineBlock(width, refine_blocks, window, head_dim, ffn_expansion)
        self.ending = nn.Conv2d(width, 3, 3, padding=1)
        if shift_alternation == "network":
            for index, layer in enumerate(self.cst_layers()):
                layer.window_attention.shifted = index % 2 == 1

    def cst_layers(self) -> list[CSTLayer]:
        """Every CST layer in forward order (CSTNet's groups, then the FRB's)."""
        return [layer for group in (*self.backbone.groups_in_order(), self.refine.body) for layer in group]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) image batch, got {tuple(x.shape)}")
        height, width = x.shape[-2:]
        padded = replicate_pad(x, self.size_multiple)
        out = self.ending(self.refine(self.backbone(self.lsrb(self.intro(padded)))))
        if self.global_residual:
            out = out + padded
        return out[..., :height, :width]


@MODELS.register("RLED-Net-noLSRB")
class RLEDNetNoLSRB(RLEDNet):
    """The ablation: :class:`RLEDNet` with ``lsrb_position="none"`` (no LSRB anywhere), otherwise identical."""

    def __init__(self, **kwargs: Any):
        super().__init__(lsrb_position="none", **kwargs)
        for key in ("lsrb_position", "lsrb_residual", "lsrb_center"):
            del self.config[key]


def rlednet_optimizer(
    model: nn.Module,
    lr: float = RLEDNET_LR,
    betas: tuple[float, float] = RLEDNET_BETAS,
    weight_decay: float = RLEDNET_WEIGHT_DECAY,
    iterations: int = RLEDNET_ITERATIONS,
    min_lr: float = RLEDNET_MIN_LR,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.CosineAnnealingLR]:
    """Training recipe (spec §3, assumed): AdamW(lr 2e-4, betas (0.9, 0.999), weight decay 1e-4) and cosine
    annealing to 1e-6 over 150,000 iterations, the scheduler stepped once per *iteration* (batch 8, 128×128
    crops, flips and 90° rotations, no gradient clipping)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=iterations, eta_min=min_lr)
    return optimizer, scheduler
