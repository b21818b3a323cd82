"""StereoIRR (spec shared/papers/stereoirr.md §2, §3, §6): architecture, DMA semantics, loss, recipe, learning."""

import math

import pytest
import torch
from torch import nn

from lab_common import load_checkpoint, save_checkpoint, seed_everything
from lowlevel_vision.data.base import collate
from lowlevel_vision.data.synthetic import SyntheticStereo
from lowlevel_vision.losses import StereoIRRLoss, charbonnier_loss, psnr_loss, stereoirr_loss
from lowlevel_vision.models.blocks import NAFBlock
from lowlevel_vision.models.monocular import Monocular
from lowlevel_vision.models.stereoirr import (
    DualViewMutualAttention,
    ResBlock,
    StereoIRR,
    stereoirr_optimizer,
)
from lowlevel_vision.registry import MODELS

TINY = {"width": 16, "enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1)}
SMALL = {"width": 8, "enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1)}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def small_model(seed: int = 0, **overrides) -> StereoIRR:
    torch.manual_seed(seed)
    return StereoIRR(**{**SMALL, **overrides}).eval()


def set_dma_scales(model: StereoIRR, beta: float | None = None, seed: int = 0) -> None:
    """Every DMA's β and γ to ``beta`` or, if None, to one shared random vector per DMA (β = γ)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for dma in model.dmas.values():
            value = torch.rand(dma.beta.shape, generator=generator) if beta is None else torch.full_like(dma.beta, beta)
            dma.beta.copy_(value)
            dma.gamma.copy_(value)


# --- §6.1 parameter counts (spec §2.4) -----------------------------------------------------------------


def test_parameter_counts_match_spec_table():
    assert n_params(StereoIRR()) == 3_065_827
    assert n_params(StereoIRR(cross_view=False)) == 2_846_755
    assert n_params(StereoIRR(dma_shared_projections=False)) == 3_283_555
    assert n_params(StereoIRR(**TINY)) == 344_467
    assert n_params(StereoIRR(**TINY, cross_view=False)) == 288_691
    assert n_params(NAFBlock(32)) == 8_224
    assert n_params(DualViewMutualAttention(32)) == 2_240 == 2 * 32**2 + 6 * 32
    assert n_params(DualViewMutualAttention(32, shared_projections=False)) == 4 * 32**2 + 10 * 32
    assert len(StereoIRR().dmas) == 6  # 7 groups per stream, a DMA between consecutive ones


def test_matched_monocular_baselines_have_spec_budget():
    tiny = Monocular.matching(StereoIRR(**TINY))
    assert tiny.config["width"] == 18 and n_params(tiny) == 363_585
    default = Monocular.matching(StereoIRR())
    assert default.config["width"] == 34 and n_params(default) == 3_209_365


def test_options_change_the_architecture_as_documented():
    base = n_params(StereoIRR(**SMALL, cross_view=False))
    partial = StereoIRR(**SMALL, dma_positions=[0, 3, 5])
    assert sorted(partial.dmas) == ["0", "3", "5"]
    assert n_params(partial) == base + sum(2 * c * c + 6 * c for c in (8, 64, 16))  # gap channels w, 8w, 2w
    concat = StereoIRR(**SMALL, cross_view=False, skip_fusion="concat")
    assert n_params(concat) == base + sum(2 * c * c + c for c in (8, 16, 32))  # Conv1x1(2c -> c) per level
    res = StereoIRR(**SMALL, block="res")
    assert isinstance(res.encoders[0][0], ResBlock)
    assert n_params(DualViewMutualAttention(8, heads=2)) == n_params(DualViewMutualAttention(8))
    for bad in (
        {"dma_positions": [6]},
        {"dma_positions": "some"},
        {"block": "swin"},
        {"skip_fusion": "max"},
        {"dma_heads": 3},
        {"dec_blocks": (1, 1)},
    ):
        with pytest.raises(ValueError):
            StereoIRR(**{**SMALL, **bad})


def test_registered_names_rebuild_from_config():
    model = StereoIRR(**SMALL, dma_positions=[1, 2], skip_fusion="concat")
    rebuilt = MODELS.build("StereoIRR", **model.config)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    ablation = MODELS.build("StereoIRR-noDMA", **SMALL)
    assert isinstance(ablation, StereoIRR) and len(ablation.dmas) == 0 and ablation.config["cross_view"] is False
    assert MODELS.build("StereoIRR-noDMA", **ablation.config).state_dict().keys() == ablation.state_dict().keys()
    with pytest.raises(ValueError):
        MODELS.build("StereoIRR-noDMA", **SMALL, cross_view=True)
    assert model.size_multiple == 8 and model.block_counts["middle_blocks"] == 1


# --- §6.2-6.5, 6.8 DMA -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dma_case():
    """A DMA with random projections and scales, features (B=2, c=8, H=5, W=7)."""
    torch.manual_seed(1)
    dma = DualViewMutualAttention(8).eval()
    with torch.no_grad():
        dma.beta.normal_()
        dma.gamma.normal_()
        for p in dma.projections[0].norm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return dma, torch.randn(2, 8, 5, 7), torch.randn(2, 8, 5, 7)


def reference_dma(dma: DualViewMutualAttention, fl, fr, column_normalised: bool = True):
    """Spec §2.3 with explicit einsums: one score matrix S, A_RL = softmax(S, -1), A_LR = softmax(S^T, -1).

    ``column_normalised=False`` is the wrong variant that reuses the row-normalised map transposed."""
    proj = dma.projections[0]
    q_l, q_r = proj.query(proj.norm(fl)), proj.query(proj.norm(fr))
    v_l, v_r = proj.value(fl), proj.value(fr)
    s = torch.einsum("bchi,bchj->bhij", q_l, q_r) / math.sqrt(fl.shape[1])
    a_rl = s.softmax(-1)
    a_lr = s.transpose(-1, -2).softmax(-1) if column_normalised else a_rl.transpose(-1, -2)
    out_l = fl + dma.beta * torch.einsum("bhij,bchj->bchi", a_rl, v_r)
    out_r = fr + dma.gamma * torch.einsum("bhij,bchj->bchi", a_lr, v_l)
    return out_l, out_r, a_rl, a_lr


def test_dma_matches_einsum_reference_with_one_shared_score_matrix(dma_case):
    dma, fl, fr = dma_case
    with torch.no_grad():
        out_l, out_r = dma(fl, fr)
        ref_l, ref_r, a_rl, a_lr = reference_dma(dma, fl, fr)
        _, wrong_r, _, _ = reference_dma(dma, fl, fr, column_normalised=False)
        map_rl, map_lr = dma.attention_maps(fl, fr)
    assert (out_l - ref_l).abs().max() < 1e-5 and (out_r - ref_r).abs().max() < 1e-5
    assert (out_r - wrong_r).abs().max() > 1e-3  # the transposed row-softmax is not the spec's map
    # §6.4: maps of shape (B, heads, H, W, W); rows sum to 1; A_LR = softmax(S^T, -1) of the same S.
    assert map_rl.shape == (2, 1, 5, 7, 7)
    assert torch.allclose(map_rl.sum(-1), torch.ones(2, 1, 5, 7), atol=1e-6)
    assert torch.allclose(map_rl[:, 0], a_rl, atol=1e-6) and torch.allclose(map_lr[:, 0], a_lr, atol=1e-6)


def test_dma_heads_split_channels():
    torch.manual_seed(2)
    dma = DualViewMutualAttention(8, heads=2).eval()
    with torch.no_grad():
        dma.beta.fill_(1.0)
        dma.gamma.fill_(1.0)
        fl, fr = torch.randn(1, 8, 3, 6), torch.randn(1, 8, 3, 6)
        out_l, out_r = dma(fl, fr)
        proj = dma.projections[0]
        q_l, q_r = (proj.query(proj.norm(f)).view(1, 2, 4, 3, 6) for f in (fl, fr))
        v_l, v_r = (proj.value(f).view(1, 2, 4, 3, 6) for f in (fl, fr))
        s = torch.einsum("bnchi,bnchj->bnhij", q_l, q_r) / 2.0  # sqrt(c / heads) = sqrt(4)
        ref_l = fl + torch.einsum("bnhij,bnchj->bnchi", s.softmax(-1), v_r).reshape(1, 8, 3, 6)
        ref_r = fr + torch.einsum("bnhij,bnchj->bnchi", s.transpose(-1, -2).softmax(-1), v_l).reshape(1, 8, 3, 6)
    assert (out_l - ref_l).abs().max() < 1e-5 and (out_r - ref_r).abs().max() < 1e-5


@pytest.mark.parametrize("shared", [True, False])
def test_fresh_dma_is_identity_and_can_learn(shared):
    torch.manual_seed(3)
    dma = DualViewMutualAttention(8, shared_projections=shared)
    fl, fr = torch.randn(1, 8, 4, 6), torch.randn(1, 8, 4, 6)
    out_l, out_r = dma(fl, fr)
    assert torch.equal(out_l, fl) and torch.equal(out_r, fr)
    (out_l.square().sum() + out_r.square().sum()).backward()
    assert dma.beta.grad.abs().sum() > 0 and dma.gamma.grad.abs().sum() > 0


def test_dma_scale_init_option_sets_every_beta_and_gamma():
    """Reconstruction option ``dma_scale_init`` (default 0 = spec §2.3): the value of every DMA's β and γ."""
    assert all(torch.equal(d.beta, torch.zeros_like(d.beta)) for d in small_model().dmas.values())
    model = small_model(seed=7, dma_scale_init=0.25)
    assert all((d.beta == 0.25).all() and (d.gamma == 0.25).all() for d in model.dmas.values())
    assert MODELS.build("StereoIRR", **model.config).config["dma_scale_init"] == 0.25
    left, right = torch.rand(1, 3, 16, 24), torch.rand(1, 3, 16, 24)
    with torch.no_grad():  # active from the first step: the right view already reaches the left output
        assert (model(left, right)[0] - model(left, torch.rand(1, 3, 16, 24))[0]).abs().max() > 1e-4


def test_dma_direction_follows_disparity():
    """§6.3: F_R[..., x] = F_L[..., x + d]: left column i matches right column i - d and vice versa."""
    torch.manual_seed(4)
    d, width = 5, 32
    fl = torch.randn(1, 64, 4, width)
    fr = torch.zeros_like(fl)
    fr[..., : width - d] = fl[..., d:]
    dma = DualViewMutualAttention(64)
    with torch.no_grad():
        dma.projections[0].query.weight.copy_(torch.eye(64).view(64, 64, 1, 1))
        dma.projections[0].query.bias.zero_()
        a_rl, a_lr = dma.attention_maps(fl, fr)
    columns = torch.arange(width)
    assert torch.equal(a_rl[0, 0].argmax(-1)[:, d:], (columns[d:] - d).expand(4, -1))
    assert torch.equal(a_lr[0, 0].argmax(-1)[:, : width - d], (columns[: width - d] + d).expand(4, -1))


def test_dma_is_row_local(dma_case):
    dma, fl, fr = dma_case
    fr2 = fr.clone()
    fr2[:, :, 2] += torch.randn_like(fr2[:, :, 2])
    with torch.no_grad():
        a_l, a_r = dma(fl, fr)
        b_l, b_r = dma(fl, fr2)
    assert ((a_l - b_l).abs().amax(dim=(0, 1, 3)) > 0).tolist() == [False, False, True, False, False]
    assert ((a_r - b_r).abs().amax(dim=(0, 1, 3)) > 0).tolist() == [False, False, True, False, False]


def test_row_chunked_dma_is_exact_in_a_full_forward():
    model = small_model(seed=5)
    set_dma_scales(model, seed=5)
    left, right = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        full = model(left, right)
        for chunk in (1, 2):
            chunked = StereoIRR(**SMALL, attn_chunk_rows=chunk).eval()
            chunked.load_state_dict(model.state_dict())
            assert all(dma.chunk_rows == chunk for dma in chunked.dmas.values())
            part = chunked(left, right)
            assert (part[0] - full[0]).abs().max() < 1e-5 and (part[1] - full[1]).abs().max() < 1e-5


def test_dma_blocks_of_rows_follow_the_attention_budget():
    dma = DualViewMutualAttention(8)
    dma.attention_budget = 3 * 40 * 40  # three rows of 40x40 scores per block
    assert dma.block_rows(torch.Size([1, 1, 8, 10, 40])) == 3
    assert dma.block_rows(torch.Size([1, 1, 8, 2, 40])) == 2  # everything fits: one block
    dma.chunk_rows = 5
    assert dma.block_rows(torch.Size([1, 1, 8, 10, 40])) == 5  # an explicit size wins
    fl, fr = torch.randn(1, 8, 10, 40), torch.randn(1, 8, 10, 40)
    nn.init.normal_(dma.beta), nn.init.normal_(dma.gamma)
    with torch.no_grad():
        whole = DualViewMutualAttention(8)
        whole.load_state_dict(dma.state_dict())
        for budgeted, reference in zip(dma(fl, fr), whole(fl, fr), strict=True):
            assert (budgeted - reference).abs().max() < 1e-5


def test_long_skips_leave_before_the_dma():
    """Spec §2.2 (figure): skip_i is the output of encoder group i, not of the DMA that follows it."""
    model = small_model(seed=9)
    set_dma_scales(model, beta=0.5)
    seen = {}
    for level in range(3):
        model.encoders[level].register_forward_hook(
            lambda m, args, out, level=level: seen.update({("enc", level): out})
        )
        model.fusions[level].register_forward_hook(
            lambda m, args, out, level=level: seen.update({("skip", level): args[1]})
        )
    with torch.no_grad():
        model(torch.rand(1, 3, 16, 24), torch.rand(1, 3, 16, 24))
    assert all(torch.equal(seen["skip", level], seen["enc", level]) for level in range(3))
    # ... and the DMA after encoder group 0 does change what goes down (so the check above can fail).
    stacked = seen["enc", 0]
    assert not torch.equal(torch.cat(model.dmas["0"](*stacked.chunk(2))), stacked)


# --- §6.6, 6.7 whole-network view semantics --------------------------------------------------------------


@pytest.mark.parametrize("cross_view", [True, False])
def test_swapping_views_swaps_outputs(cross_view):
    model = small_model(seed=6, cross_view=cross_view)
    set_dma_scales(model, seed=6)
    left, right = torch.rand(2, 3, 16, 24), torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        out_l, out_r = model(left, right)
        swap_l, swap_r = model(right, left)
    assert (swap_l - out_r).abs().max() < 1e-5 and (swap_r - out_l).abs().max() < 1e-5


def test_right_view_changes_left_output_only_through_dma():
    torch.manual_seed(7)
    left, right = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    right2 = right.clone()
    right2[..., 8:16, 8:20] = torch.rand(1, 3, 8, 12)
    model = small_model(seed=7)
    ablation = small_model(seed=7, cross_view=False)
    with torch.no_grad():
        assert torch.equal(model(left, right)[0], model(left, right2)[0])  # fresh DMAs are the identity
        set_dma_scales(model, beta=0.5)
        assert (model(left, right)[0] - model(left, right2)[0]).abs().max() > 1e-4
        assert torch.equal(ablation(left, right)[0], ablation(left, right2)[0])


def test_zero_residual_head_returns_the_inputs_exactly():
    model = small_model(seed=8)
    left, right = torch.rand(1, 3, 21, 30), torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        out_l, _ = model(left, right)
        assert not torch.equal(out_l, left)
        model.ending.weight.zero_()
        model.ending.bias.zero_()
        out_l, out_r = model(left, right)
    assert torch.equal(out_l, left) and torch.equal(out_r, right)


@pytest.mark.parametrize("shape", [(1, 3, 37, 53), (2, 3, 64, 96), (1, 3, 1, 3)])
def test_any_size_comes_back_at_its_own_size(shape):
    model = small_model()
    set_dma_scales(model, beta=0.5)
    left, right = torch.rand(shape), torch.rand(shape)
    with torch.no_grad():
        out_l, out_r = model(left, right)
    assert out_l.shape == shape and out_r.shape == shape
    assert torch.isfinite(out_l).all() and torch.isfinite(out_r).all()


def test_six_channel_input_equals_two_argument_call():
    model = small_model()
    left, right = torch.rand(1, 3, 20, 24), torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        a = model(left, right)
        b = model(torch.cat([left, right], dim=1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 20, 24))


# --- §3 losses and recipe ---------------------------------------------------------------------------------

P = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]])
G = torch.tensor([[[[0.0, 0.0], [0.5, 0.25]]]])  # differences 0, 0.5, 0.5, 0


def test_charbonnier_and_psnr_losses_hand_computed():
    eps = 1e-3
    expected = (2 * eps + 2 * math.sqrt(0.25 + eps * eps)) / 4
    assert charbonnier_loss(P, G).item() == pytest.approx(expected, rel=1e-6)
    assert charbonnier_loss(G, G).item() == pytest.approx(eps, rel=1e-6)
    assert charbonnier_loss(P, G, eps=0.0).item() == pytest.approx(0.25, rel=1e-6)  # mean |p - g|
    # MSE = 0.125 -> PSNR = 10 log10(8) dB; the loss is its negative.
    assert psnr_loss(P, G).item() == pytest.approx(10 * math.log10(0.125 + 1e-8), rel=1e-6)
    two = torch.cat([P, G])  # per-image PSNR averaged: second image is perfect (10 log10(1e-8) = -80)
    assert psnr_loss(two, torch.cat([G, G])).item() == pytest.approx((10 * math.log10(0.125) - 80) / 2, rel=1e-5)
    with pytest.raises(ValueError):
        charbonnier_loss(P, torch.zeros(1, 1, 2, 3))


def test_stereoirr_objective_sums_both_views():
    q = torch.full((1, 1, 2, 2), 0.5)
    charb = charbonnier_loss(P, G).item() + 1e-3
    assert stereoirr_loss(P, q, G, q).item() == pytest.approx(charb, rel=1e-6)
    assert StereoIRRLoss()((P, q), (G, q)).item() == pytest.approx(charb, rel=1e-6)
    assert stereoirr_loss(P, P, G, G, kind="l1").item() == pytest.approx(0.5)
    assert stereoirr_loss(P, q, G, q + 0.5, kind="psnr").item() == pytest.approx(
        10 * math.log10(0.125 + 1e-8) + 10 * math.log10(0.25 + 1e-8), rel=1e-6
    )
    with pytest.raises(ValueError):
        StereoIRRLoss("ssim")


def test_training_recipe():
    optimizer, scheduler = stereoirr_optimizer(small_model())
    assert isinstance(optimizer, torch.optim.AdamW)
    group = optimizer.param_groups[0]
    assert group["lr"] == 1e-3 and group["betas"] == (0.9, 0.9) and group["weight_decay"] == 0
    assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)
    assert scheduler.T_max == 200_000 and scheduler.eta_min == 1e-7
    optimizer, scheduler = stereoirr_optimizer(small_model(), iterations=10)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-7 + (1e-3 - 1e-7) / 2)


# --- §6.11 determinism and resume, §6.12 learning ---------------------------------------------------------


@pytest.fixture(scope="module")
def rain_batch():
    """Four synthetic stereo-rain pairs (layered scenes, one streak field shifted between the views)."""
    dataset = SyntheticStereo(task="rain", n=4, size=(16, 32), seed=0)
    batch = collate([dataset[i] for i in range(len(dataset))])
    return batch["lq_l"], batch["lq_r"], batch["gt_l"], batch["gt_r"]


def train(model, optimizer, batch, steps: int) -> list[float]:
    lq_l, lq_r, gt_l, gt_r = batch
    losses = []
    for _ in range(steps):
        loss = stereoirr_loss(*model(lq_l, lq_r), gt_l, gt_r)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def seeded_run(batch, steps: int, seed: int = 0):
    seed_everything(seed)
    model = StereoIRR(**SMALL)
    optimizer, _ = stereoirr_optimizer(model, lr=2e-3)
    return model, optimizer, train(model, optimizer, batch, steps)


def test_same_seed_same_weights_losses_and_resume(rain_batch, tmp_path):
    a, b = small_model(seed=5), small_model(seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.ending.weight, small_model(seed=6).ending.weight)
    model, optimizer, losses = seeded_run(rain_batch, 5)
    assert losses == seeded_run(rain_batch, 5)[2]
    path = save_checkpoint(
        tmp_path / "last.pt", {"model": model.state_dict(), "optimizer": optimizer.state_dict()}, model.config
    )
    next_loss = train(model, optimizer, rain_batch, 1)
    loaded = load_checkpoint(path)
    resumed = MODELS.build("StereoIRR", **loaded["config"])
    resumed.load_state_dict(loaded["state"]["model"])
    resumed_optimizer, _ = stereoirr_optimizer(resumed, lr=2e-3)
    resumed_optimizer.load_state_dict(loaded["state"]["optimizer"])
    assert train(resumed, resumed_optimizer, rain_batch, 1) == next_loss


def test_training_steps_lower_the_loss_on_synthetic_rain(rain_batch):
    _, _, losses = seeded_run(rain_batch, 30)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last <= 0.8 * first, losses
