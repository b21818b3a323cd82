"""SufrinNet / DCI-Net: low-light stereo image enhancement with cross-view and cross-scale interaction.

Zheng et al., *Toward Sufficient Cross-View Interaction for Stereo Image Enhancement in The Dark*,
arXiv 2211.00859 (v2: *Decoupled Cross-Scale Cross-View Interaction ...*, ACM MM 2023). Official code:
``github.com/Ian0926/SufrinNet`` (``src/models.py``, class ``PUNet``). Section numbers below refer to the
project specification ``shared/papers/sufrinnet.md``, which transcribes the official code.

Name map: paper SIMB = code ``LKT`` (:class:`SIMB`, made of LRDC and ECIM); paper SIIM / DIM = CVI
(code ``CVA``, :class:`CrossViewInteraction`) followed by CSI (:class:`CrossScaleInteraction`).
Every weight is shared by the two views.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..registry import MODELS
from .blocks import LayerNorm2d, StereoModel

__all__ = [
    "SIMB",
    "ChannelAttention",
    "CrossScaleInteraction",
    "CrossViewInteraction",
    "SufrinNet",
    "sufrinnet_optimizer",
    "SUFRINNET_LR",
    "SUFRINNET_BETAS",
    "SUFRINNET_MILESTONES",
    "SUFRINNET_GAMMA",
    "SUFRINNET_EPOCHS",
]

# Training recipe of the official code (spec §3).
SUFRINNET_LR = 2e-4
SUFRINNET_BETAS = (0.5, 0.999)
SUFRINNET_MILESTONES = (500, 1000, 1500, 2000)
SUFRINNET_GAMMA = 0.5
SUFRINNET_EPOCHS = 2000


def bconv(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    """``BConv`` (spec §2): ``Conv(k x k, stride, padding k // 2, bias)`` followed by GELU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2),
        nn.GELU(),
    )


def down(channels: int) -> nn.Sequential:
    """``Down(c)`` (spec §2): ``BConv(c -> 2c, 3, stride 2)``, halves H and W."""
    return bconv(channels, 2 * channels, 3, 2)


def up(channels: int) -> nn.Sequential:
    """``Up(c)`` (spec §2): ``ConvTranspose2d(c -> c/2, kernel 4, stride 2, padding 1)`` + GELU, doubles H and W."""
    return nn.Sequential(nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1), nn.GELU())


def pointwise(in_channels: int, out_channels: int) -> nn.Conv2d:
    """``PW`` (spec §2.1): 1x1 convolution with bias (the "MLP" of the paper's figure)."""
    return nn.Conv2d(in_channels, out_channels, 1)


class ChannelAttention(nn.Module):
    """CA of ECIM (spec §2.1): ``z + sigmoid(PW(ch/8 -> ch)(GELU(PW(ch -> ch/8)(GAP(z)))))``.

    ``mode="add"`` (official, default) *adds* the per-channel sigmoid weights to the features;
    ``mode="mul"`` multiplies them (the usual squeeze-and-excitation form), for ablation only.
    """

    def __init__(self, channels: int, reduction: int = 8, mode: str = "add") -> None:
        super().__init__()
        if mode not in ("add", "mul"):
            raise ValueError(f"ca_mode must be 'add' or 'mul', got {mode!r}")
        if channels % reduction:
            raise ValueError(f"channel attention needs channels divisible by {reduction}, got {channels}")
        self.mode = mode
        self.squeeze = pointwise(channels, channels // reduction)
        self.act = nn.GELU()
        self.excite = pointwise(channels // reduction, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.excite(self.act(self.squeeze(z.mean(dim=(2, 3), keepdim=True)))))
        return z + weights if self.mode == "add" else z * weights


class SIMB(nn.Module):
    """SIMB(c) (paper; code ``LKT``), spec §2.1: LRDC then ECIM, each a pre-norm residual branch.

    ``LRDC: x + PW(2c -> c)(DW7x7(2c)(PW(c -> 2c)(LN(x))))`` (long-range spatial context, no activation);
    ``ECIM: x + PW(2c -> c)(CA(2c)(PW(c -> 2c)(LN(x))))`` (expanded channel information mining).
    SIMB(16) has 4,100 parameters.
    """

    def __init__(self, channels: int, ca_mode: str = "add") -> None:
        super().__init__()
        wide = 2 * channels
        self.lrdc = nn.Sequential(
            LayerNorm2d(channels),
            pointwise(channels, wide),
            nn.Conv2d(wide, wide, 7, padding=3, groups=wide),
            pointwise(wide, channels),
        )
        self.ecim = nn.Sequential(
            LayerNorm2d(channels),
            pointwise(channels, wide),
            ChannelAttention(wide, mode=ca_mode),
            pointwise(wide, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.lrdc(x)
        return x + self.ecim(x)


def simb_stack(channels: int, depth: int, ca_mode: str) -> nn.Sequential:
    """``depth`` SIMB(channels) blocks in sequence (an empty stack is the identity)."""
    return nn.Sequential(*(SIMB(channels, ca_mode) for _ in range(depth)))


def _row_attention(
    left: torch.Tensor, right: torch.Tensor, query: torch.Tensor, key: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bidirectional row attention of CVI (spec §2.3) on a block of whole rows.

    ``S[b, h] = Q[b, :, h, :]^T K[b, :, h, :]`` (no scaling, no mask); the left view gathers the raw
    right features with ``softmax_rowwise(S)``, then the right view gathers the *updated* left features
    with ``softmax_rowwise(S^T)``, as the official code does.
    """
    scores = torch.einsum("bchi,bchj->bhij", query, key)
    left = left + torch.einsum("bhij,bchj->bchi", scores.softmax(dim=-1), right)
    right = right + torch.einsum("bhij,bchi->bchj", scores.softmax(dim=-2), left)
    return left, right


class CrossViewInteraction(nn.Module):
    """CVI(c) (code ``CVA``), spec §2.3: cross-view attention along epipolar rows at one skip scale.

    Queries and keys come from the same ``SIMB(c)`` and ``BConv(c -> c, 3, 1)`` applied to each view;
    values are the raw features of the other view. Attention is independent per row, so rows are
    processed in blocks of at most ``chunk_rows`` whenever ``B * H * W**2`` exceeds ``attention_budget``
    score elements (exact; memory O(B * chunk_rows * W**2)).

    ``unused_in_channels > 0`` adds the official code's 1x1 conv ``mlp(unused_in_channels -> c)`` that
    its ``forward`` never calls; it exists only so that parameter counts (and a state-dict mapping)
    can match the official model. CVI(16/32/64) has 6,420 / 22,056 / 80,976 parameters without it.
    """

    def __init__(
        self,
        channels: int,
        ca_mode: str = "add",
        attention_budget: int = 2**25,
        unused_in_channels: int = 0,
    ) -> None:
        super().__init__()
        self.attention_budget = attention_budget
        self.embed = nn.Sequential(SIMB(channels, ca_mode), bconv(channels, channels))
        if unused_in_channels:
            self.unused_mlp = pointwise(unused_in_channels, channels)

    def forward(
        self, left: torch.Tensor, right: torch.Tensor, chunk_rows: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(F_L', F_R')``; ``chunk_rows`` forces a row-block size (``None``: chosen from the budget)."""
        query, key = self.embed(torch.cat([left, right])).chunk(2)
        batch, _, height, width = left.shape
        if chunk_rows is None:
            if batch * height * width * width <= self.attention_budget:
                return _row_attention(left, right, query, key)
            chunk_rows = max(1, self.attention_budget // (batch * width * width))
        blocks = [
            _row_attention(*parts)
            for parts in zip(*(t.split(chunk_rows, dim=2) for t in (left, right, query, key)), strict=True)
        ]
        return torch.cat([b[0] for b in blocks], dim=2), torch.cat([b[1] for b in blocks], dim=2)


class CrossScaleInteraction(nn.Module):
    """CSI(d), spec §2.3: the three skip scales exchange information, then each is refined by a SIMB.

    Inputs high (d, H), mid (2d, H/2), low (4d, H/4); every resampling path has its own Up/Down module.
    ``low' = SIMB(4d)(PW(12d -> 4d)([low, m2l, h2l]))``, ``mid' = SIMB(2d)(PW(6d -> 2d)([l2m, mid, h2m]))``,
    ``high' = SIMB(d)(PW(3d -> d)([l2h, m2h, high]))``. It acts per sample. CSI(16) has 168,044 parameters.
    """

    def __init__(self, channels: int, ca_mode: str = "add") -> None:
        super().__init__()
        d = channels
        self.up_l2m, self.up_l2h, self.up_m2h = up(4 * d), up(2 * d), up(2 * d)
        self.down_m2l, self.down_h2m, self.down_h2l = down(2 * d), down(d), down(2 * d)
        self.fuse_low = nn.Sequential(pointwise(12 * d, 4 * d), SIMB(4 * d, ca_mode))
        self.fuse_mid = nn.Sequential(pointwise(6 * d, 2 * d), SIMB(2 * d, ca_mode))
        self.fuse_high = nn.Sequential(pointwise(3 * d, d), SIMB(d, ca_mode))

    def forward(
        self, high: torch.Tensor, mid: torch.Tensor, low: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        l2m = self.up_l2m(low)
        l2h = self.up_l2h(l2m)
        m2h = self.up_m2h(mid)
        m2l = self.down_m2l(mid)
        h2m = self.down_h2m(high)
        h2l = self.down_h2l(h2m)
        return (
            self.fuse_high(torch.cat([l2h, m2h, high], dim=1)),
            self.fuse_mid(torch.cat([l2m, mid, h2m], dim=1)),
            self.fuse_low(torch.cat([low, m2l, h2l], dim=1)),
        )


@MODELS.register("SufrinNet")
class SufrinNet(StereoModel):
    """SufrinNet (official ``PUNet``), spec §2: shared-weight 3-level U-Net over both views with SIIM on the skips.

    ``forward(left, right) -> (left_out, right_out)``, inputs and outputs (B, 3, H, W) in [0, 1]; a single
    (B, 6, H, W) tensor (left = channels 0-2) is also accepted. Any H, W works: :class:`StereoModel` zero-pads
    bottom/right to a multiple of :attr:`size_multiple` (16) and crops the output back (official test
    script). The output is ``(tanh(x) + 1) / 2`` of the last conv, not a residual of the input.
    ``block_counts`` gives the SIMB counts to the parameter-matched monocular baseline (spec §5).

    Args:
        base_channels: width d (official 16, hard-coded there); exposed so tests can build small models.
            Must be a multiple of 4 (CA reduction 8 on 2d channels).
        depth: [N1, N2, N3, N4, N5] SIMB counts: encoder/decoder levels 0, 1, 2, middle, refine.
        cross_view: ``False`` replaces CVI by the identity (CSI kept): the ablation isolating cross-view
            interaction; views are then processed independently.
        ca_mode: ``"add"`` (official additive CA) or ``"mul"`` (ablation).
        official_param_layout: add the official ``CVA.mlp`` 1x1 convs (in = c / s with s = 4, 2, 1 at the
            three scales) that the official forward never uses. Default ``False`` (as spec §2.3 asks): we
            build the 1,344,395-parameter network that actually computes, since the 4,784 unused weights
            never touch the output; ``True`` gives the official count of 1,349,179, for parameter-count
            and state-dict parity only. ``cross_view=False``: 1,234,943.
        attention_budget: CVI score elements above which rows are processed in blocks (exact).

    On CPU, train in ``channels_last`` (spec §2.4: the 7x7 depthwise backward is much faster there).
    """

    size_multiple = 16

    def __init__(
        self,
        base_channels: int = 16,
        depth: Sequence[int] = (4, 4, 2, 2, 4),
        cross_view: bool = True,
        ca_mode: str = "add",
        official_param_layout: bool = False,
        attention_budget: int = 2**25,
    ) -> None:
        super().__init__()
        if base_channels % 4 or base_channels <= 0:
            raise ValueError(f"base_channels must be a positive multiple of 4, got {base_channels}")
        if len(depth) != 5:
            raise ValueError(f"depth must have 5 entries [N1, N2, N3, N4, N5], got {list(depth)}")
        self.config = {
            "base_channels": base_channels,
            "depth": list(depth),
            "cross_view": cross_view,
            "ca_mode": ca_mode,
            "official_param_layout": official_param_layout,
            "attention_budget": attention_budget,
        }
        self.block_counts = {
            "enc_blocks": tuple(depth[:3]),
            "middle_blocks": depth[3],
            "dec_blocks": tuple(depth[:3]),
            "refine_blocks": depth[4],
        }
        d = base_channels
        widths = (d, 2 * d, 4 * d)
        level_depths = tuple(depth[:3])
        self.cross_view = cross_view
        self.conv_first = bconv(3, d)
        self.encoders = nn.ModuleList(
            nn.Sequential(bconv(c, c), simb_stack(c, n, ca_mode)) for c, n in zip(widths, level_depths, strict=True)
        )
        self.downs = nn.ModuleList(down(c) for c in widths)
        self.middle = simb_stack(8 * d, depth[3], ca_mode)
        if cross_view:
            self.cvis = nn.ModuleList(
                CrossViewInteraction(
                    c,
                    ca_mode,
                    attention_budget,
                    unused_in_channels=c // (4 >> level) if official_param_layout else 0,
                )
                for level, c in enumerate(widths)
            )
        self.csi = CrossScaleInteraction(d, ca_mode)
        self.ups = nn.ModuleList(up(2 * c) for c in widths)
        self.decoders = nn.ModuleList(
            nn.Sequential(bconv(2 * c, c), simb_stack(c, n, ca_mode)) for c, n in zip(widths, level_depths, strict=True)
        )
        self.refine = simb_stack(d, depth[4], ca_mode)
        self.conv_last = nn.Conv2d(d, 3, 3, padding=1)

    def _encode(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Per-view encoder and middle on the stacked views: returns the three skips and the bottleneck."""
        skips = []
        x = self.conv_first(x)
        for encoder, downsample in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = downsample(x)
        return skips, self.middle(x)

    def _interact(self, skips: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """SIIM (spec §2.3): CVI between the views at each skip scale, then CSI (per sample, both views)."""
        if self.cross_view:
            skips = [torch.cat(cvi(*skip.chunk(2))) for cvi, skip in zip(self.cvis, skips, strict=True)]
        return self.csi(*skips)

    def _decode(self, x: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """Decoder (deepest level first; concat order [upsampled, skip]), refine and output mapping."""
        for level in reversed(range(len(skips))):
            x = self.decoders[level](torch.cat([self.ups[level](x), skips[level]], dim=1))
        x = self.conv_last(self.refine(x))
        return (torch.tanh(x) + 1) / 2

    def forward_padded(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both views, H and W multiples of 16: shared layers on the stacked views (batch 2B), spec §2.4."""
        if left.shape[1] != 3:
            raise ValueError(f"views must be RGB (B, 3, H, W), got {tuple(left.shape)}")
        skips, bottleneck = self._encode(torch.cat([left, right]))
        return self._decode(bottleneck, self._interact(skips)).chunk(2)


def sufrinnet_optimizer(
    model: nn.Module,
    lr: float = SUFRINNET_LR,
    betas: tuple[float, float] = SUFRINNET_BETAS,
    milestones: Sequence[int] = SUFRINNET_MILESTONES,
    gamma: float = SUFRINNET_GAMMA,
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.MultiStepLR]:
    """Official optimiser and schedule (spec §3): Adam(lr 2e-4, betas (0.5, 0.999), no weight decay) and
    MultiStepLR(milestones [500, 1000, 1500, 2000], gamma 0.5), the scheduler stepped once per *epoch*
    over :data:`SUFRINNET_EPOCHS` = 2000 epochs (so the last milestone never takes effect)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(milestones), gamma=gamma)
    return optimizer, scheduler
