"""RLED-Net (spec shared/papers/rled-net.md §2, §3, §6): parameter counts, LSRB maths, shifted windows,
channel attention, sizes, residual, determinism, losses and learning."""

import math

import pytest
import torch

from lab_common import count_parameters, load_checkpoint, save_checkpoint, seed_everything
from lowlevel_vision.losses import RLEDNetLoss, rlednet_loss
from lowlevel_vision.models.monocular import Monocular
from lowlevel_vision.models.rlednet import (
    ChannelSelfAttention,
    CSTLayer,
    LatentSubspaceReconstruction,
    RLEDNet,
    RLEDNetNoLSRB,
    replicate_pad,
    rlednet_optimizer,
    shift_attention_mask,
    subspace_project,
    window_partition,
    window_reverse,
)
from lowlevel_vision.registry import MODELS

TINY = {
    "width": 16,
    "enc_blocks": (1, 1, 1),
    "middle_blocks": 1,
    "dec_blocks": (1, 1, 1),
    "refine_blocks": 1,
    "rank": 8,
}
# Smaller still, for training steps: two levels, window 4 (size multiple 16).
MICRO = {
    "width": 8,
    "enc_blocks": (1, 1),
    "middle_blocks": 1,
    "dec_blocks": (1, 1),
    "refine_blocks": 1,
    "window": 4,
    "head_dim": 8,
    "rank": 4,
}


# one torch thread per test: tests/lowlevel_vision/conftest.py
n_params = count_parameters


def matrix_rank(x: torch.Tensor) -> int:
    """Rank of the C×N matrix of a (C, H, W) or (C, N) map, relative tolerance 1e-5."""
    return int(torch.linalg.matrix_rank(x.reshape(x.shape[0], -1).double(), rtol=1e-5))


# --- §6.1 parameter counts -------------------------------------------------------------------------


def test_parameter_counts_match_spec():
    assert n_params(RLEDNet()) == 5_006_523
    assert n_params(RLEDNet(lsrb_position="none")) == 4_986_443
    assert n_params(RLEDNetNoLSRB()) == 4_986_443
    assert n_params(RLEDNet(**TINY)) == 760_373
    assert [n_params(CSTLayer(c)) for c in (16, 32, 64, 128, 256)] == [6_134, 21_308, 79_416, 306_032, 1_200_864]
    assert n_params(LatentSubspaceReconstruction(32, 16)) == 20_080
    assert n_params(LatentSubspaceReconstruction(16, 8)) == 5_048
    # LSRB on every skip: one LSRB(c, K) per level c = 32, 64, 128 (closed form of spec §2.2).
    lsrb = lambda c, k: 2 * (9 * c * c + c) + (c * k + k) + (c * c + c)  # noqa: E731
    assert n_params(RLEDNet(lsrb_position="both")) == 4_986_443 + sum(lsrb(c, 16) for c in (32, 32, 64, 128))


def test_budget_matched_monocular_baseline():
    default = Monocular.matching(RLEDNet())
    tiny = Monocular.matching(RLEDNet(**TINY))
    assert (default.config["width"], n_params(default)) == (52, 5_041_663)
    assert (tiny.config["width"], n_params(tiny)) == (27, 813_324)


def test_registry_rebuilds_from_config():
    model = MODELS.build("RLED-Net", **TINY)
    assert isinstance(model, RLEDNet) and n_params(MODELS.build("RLED-Net", **model.config)) == 760_373
    ablation = MODELS.build("RLED-Net-noLSRB", **TINY)
    rebuilt = MODELS.build("RLED-Net-noLSRB", **ablation.config)
    assert n_params(rebuilt) == n_params(ablation) == 760_373 - 5_048
    assert not any(isinstance(m, LatentSubspaceReconstruction) for m in rebuilt.modules())
    with pytest.raises(ValueError, match="lsrb_position"):
        RLEDNet(lsrb_position="middle")


# --- §6.2-6.3 subspace projection and LSRB ----------------------------------------------------------


def random_basis(batch=2, rank=4, n=64, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(batch, rank, n, generator=g, dtype=dtype), dim=-1)


def test_subspace_projection_is_a_rank_k_projection():
    basis = random_basis()
    x = torch.randn(2, 6, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    once = subspace_project(x, basis, eps=1e-12)
    torch.testing.assert_close(subspace_project(once, basis, eps=1e-12), once, atol=1e-10, rtol=0)
    assert max(matrix_rank(once[b]) for b in range(2)) == 4
    # With the default ridge, float32, idempotent to ~eps.
    once32 = subspace_project(x.float(), basis.float())
    assert (subspace_project(once32, basis.float()) - once32).abs().max() < 1e-3 * once32.abs().max()
    # A signal in span(V) passes unchanged (exactly up to the ridge's relative shrink ~eps / λ_min(VVᵀ));
    # a signal orthogonal to it is removed.
    inside = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64) @ basis
    torch.testing.assert_close(subspace_project(inside, basis, eps=1e-12), inside, atol=1e-10, rtol=0)
    error32 = (subspace_project(inside.float(), basis.float()) - inside.float()).abs().max()
    assert error32 < 1e-3 * inside.abs().max()
    ortho = x - subspace_project(x, basis, eps=1e-12)
    assert subspace_project(ortho, basis, eps=1e-12).abs().max() < 1e-10
    # 4D inputs keep their shape.
    assert subspace_project(x.view(2, 6, 8, 8), basis.view(2, 4, 8, 8)).shape == (2, 6, 8, 8)


def test_subspace_projection_suppresses_white_noise():
    rank, n = 8, 1024
    basis = random_basis(batch=1, rank=rank, n=n, seed=3)
    g = torch.Generator().manual_seed(4)
    signal = torch.randn(1, 32, rank, generator=g, dtype=torch.float64) @ basis
    noise = 0.1 * torch.randn(1, 32, n, generator=g, dtype=torch.float64)
    residual = (subspace_project(signal + noise, basis) - signal).pow(2).sum()
    ratio = residual / (noise.pow(2).sum() * rank / n)
    assert 0.5 <= ratio <= 2.0  # only the K/N share of the noise energy survives


def test_subspace_projection_is_differentiable_and_safe():
    basis = random_basis(batch=1, rank=2, n=6).requires_grad_()
    x = torch.randn(1, 3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, v: subspace_project(a, v, eps=1e-3), (x, basis))
    # Degenerate bases (all zero, repeated maps) give finite values and finite gradients.
    for degenerate in (torch.zeros(1, 2, 6), torch.ones(1, 2, 6) / math.sqrt(6)):
        v = degenerate.clone().requires_grad_()
        out = subspace_project(torch.randn(1, 3, 6, requires_grad=True), v)
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(v.grad).all()


def test_lsrb_reconstruction_has_rank_k():
    torch.manual_seed(0)
    lsrb = LatentSubspaceReconstruction(16, rank=4)
    x = torch.randn(2, 16, 12, 10)
    recon = lsrb.reconstruct(x)
    assert max(matrix_rank(recon[b]) for b in range(2)) <= 4
    assert matrix_rank(x[0]) == 16  # the input itself is full rank
    assert lsrb(x).shape == x.shape
    # Constant input: the basis maps are constant (or zero); no NaN.
    assert torch.isfinite(lsrb(torch.zeros(1, 16, 8, 8))).all()


def test_centred_lsrb_keeps_channel_means_and_spans_k_plus_constant():
    """``center=True``: the basis maps have zero mean, X's channel means pass unchanged, the projection has
    rank ≤ K + 1, and a signal in span{1, V} comes back unchanged."""
    torch.manual_seed(0)
    lsrb = LatentSubspaceReconstruction(16, rank=4, center=True)
    x = torch.randn(2, 16, 12, 10) + 3.0
    basis = lsrb.basis(x)
    torch.testing.assert_close(basis.mean(-1), torch.zeros(2, 4), rtol=0, atol=1e-6)
    recon = lsrb.reconstruct(x)
    torch.testing.assert_close(recon.mean((-2, -1)), x.mean((-2, -1)), rtol=0, atol=1e-5)
    assert max(matrix_rank(recon[b]) for b in range(2)) <= 5
    # Channel maps built from the constant map and the basis itself are reproduced.
    in_span = 2.0 + torch.randn(2, 16, 4) @ basis
    lsrb.basis = lambda _: basis  # fix the basis: the check concerns the projection, not the basis net
    signal = in_span.view_as(x)
    torch.testing.assert_close(lsrb.reconstruct(signal), signal, rtol=0, atol=1e-3)


def test_lsrb_options_reach_every_lsrb():
    """``lsrb_eps``, ``lsrb_residual`` (spec §2.2's flag) and ``lsrb_center`` apply to the input LSRB and to
    the skip LSRBs."""
    torch.manual_seed(0)
    model = RLEDNet(**MICRO, lsrb_position="both", lsrb_eps=1e-3, lsrb_residual=True, lsrb_center=True)
    lsrbs = [m for m in model.modules() if isinstance(m, LatentSubspaceReconstruction)]
    assert len(lsrbs) == 3 and all(m.eps == 1e-3 and m.residual and m.center for m in lsrbs)
    assert n_params(model) == n_params(RLEDNet(**MICRO, lsrb_position="both"))  # the flag adds no parameters
    x = torch.randn(1, 8, 16, 16)
    with torch.no_grad():
        model.lsrb.project.weight.zero_()
        model.lsrb.project.bias.zero_()
        torch.testing.assert_close(model.lsrb(x), x, rtol=0, atol=0)  # residual: a zero projection passes X
    assert MODELS.build("RLED-Net", **model.config).config == model.config


# --- §6.4-6.5 shifted windows -----------------------------------------------------------------------


def test_window_partition_round_trip():
    x = torch.arange(2 * 3 * 16 * 24, dtype=torch.float32).view(2, 3, 16, 24)
    windows = window_partition(x, 8)
    assert windows.shape == (2 * 2 * 3, 64, 3)
    torch.testing.assert_close(windows[1, :, 0], x[0, 0, :8, 8:16].reshape(-1), rtol=0, atol=0)
    torch.testing.assert_close(window_reverse(windows, 8, 16, 24), x, rtol=0, atol=0)


def test_shift_mask_forbids_wrapped_pairs():
    height, width, window, shift = 16, 24, 8, 4
    mask = shift_attention_mask(height, width, window, shift)
    assert mask.shape == (6, 64, 64)
    # Independent rule: in the rolled image, row r came from row r + shift of the original; pairs whose
    # rows (or columns) lie on different sides of the wrap were never neighbours.
    rows = torch.arange(height)[:, None].expand(height, width)
    cols = torch.arange(width)[None, :].expand(height, width)
    wrapped = torch.stack([(rows + shift >= height), (cols + shift >= width)]).float()[None]
    labels = window_partition(wrapped, window)  # (nW, 64, 2)
    differ = (labels[:, :, None, :] != labels[:, None, :, :]).any(-1)
    torch.testing.assert_close(mask, differ.float() * -100.0, rtol=0, atol=0)
    assert mask[0].eq(0).all() and mask[-1].lt(0).sum() == 64 * 64 - 4 * 16 * 16


def locality_layer(shifted: bool) -> CSTLayer:
    """A CST layer whose channel branch and feed-forward output nothing: only window attention mixes pixels."""
    torch.manual_seed(0)
    layer = CSTLayer(8, window=8, head_dim=8, shifted=shifted).eval()
    with torch.no_grad():
        layer.channel_attention.proj.weight.zero_()
        layer.ffn.project.weight.zero_()
    return layer


@pytest.mark.parametrize(
    ("shifted", "pixel", "box"),
    [
        (False, (5, 5), (slice(0, 8), slice(0, 8))),
        (True, (5, 5), (slice(4, 12), slice(4, 12))),  # the shifted window covering rows/cols 4..11
        (True, (0, 0), (slice(0, 4), slice(0, 4))),  # wrapped corner window: only its own region
    ],
)
def test_window_locality(shifted, pixel, box):
    layer = locality_layer(shifted)
    x = torch.randn(1, 8, 16, 16)
    bumped = x.clone()
    bumped[0, :, pixel[0], pixel[1]] += torch.randn(8)  # not a constant: LayerNorm would remove it
    with torch.no_grad():
        changed = (layer(bumped) - layer(x)).abs().amax(1)[0] > 1e-6
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[box] = True
    assert changed[inside].sum() > 1 and not changed[~inside].any()


def test_shift_alternation_across_the_network():
    """Groups of one layer never shift under the spec's per-group alternation (§2.4); ``"network"`` shifts
    every other layer in forward order (encoders, bottleneck, decoders from the deepest, FRB)."""
    shifted = [layer.window_attention.shifted for layer in RLEDNet(**TINY).cst_layers()]
    assert len(shifted) == 8 and not any(shifted)
    model = RLEDNet(**TINY, shift_alternation="network")
    assert [layer.window_attention.shifted for layer in model.cst_layers()] == [False, True] * 4
    assert model.cst_layers()[4] is model.backbone.decoders[2][0]  # the deepest decoder follows the bottleneck
    assert MODELS.build("RLED-Net", **model.config).config == model.config
    with pytest.raises(ValueError, match="shift_alternation"):
        RLEDNet(**TINY, shift_alternation="layer")


# --- §6.6 channel attention and the two branches ----------------------------------------------------


def test_channel_attention_maps_and_temperature():
    torch.manual_seed(0)
    cmsa = ChannelSelfAttention(16, heads=4)
    x = torch.randn(2, 16, 8, 8)
    maps = cmsa.attention_maps(x)
    assert maps.shape == (2, 4, 4, 4)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 4, 4))
    assert isinstance(cmsa.temperature, torch.nn.Parameter) and cmsa.temperature.shape == (4, 1, 1)
    assert cmsa(x).shape == x.shape
    with torch.no_grad():
        cmsa.temperature.fill_(50.0)  # sharper: q·k is a cosine, so the max weight grows with τ
    assert cmsa.attention_maps(x).amax(-1).mean() > maps.amax(-1).mean()


def test_both_branches_contribute():
    torch.manual_seed(0)
    layer = CSTLayer(16, window=4, head_dim=8).eval()
    x = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        full = layer(x)
        for branch in (layer.window_attention, layer.channel_attention):
            saved = branch.proj.weight.clone()
            branch.proj.weight.zero_()
            assert (layer(x) - full).abs().max() > 1e-3
            branch.proj.weight.copy_(saved)


# --- §6.7-6.9 sizes, residual, padding, determinism, degenerate inputs --------------------------------


def test_sizes_come_back_and_padding_is_replicate():
    torch.manual_seed(0)
    model = RLEDNet(**TINY).eval()
    with torch.no_grad():
        for shape in ((1, 3, 37, 53), (1, 3, 64, 64), (2, 3, 48, 80)):
            assert model(torch.rand(shape)).shape == shape
    x = torch.rand(1, 3, 5, 7)
    padded = replicate_pad(x, 4)
    assert padded.shape == (1, 3, 8, 8)
    torch.testing.assert_close(padded[..., 5:, :7], x[..., 4:5, :].expand(1, 3, 3, 7), rtol=0, atol=0)
    torch.testing.assert_close(padded[..., :5, 7:], x[..., :, 6:7], rtol=0, atol=0)


def test_global_residual_with_zeroed_last_conv():
    torch.manual_seed(0)
    model = RLEDNet(**MICRO).eval()
    with torch.no_grad():
        model.ending.weight.zero_()
        model.ending.bias.zero_()
        x = torch.rand(2, 3, 13, 21)
        torch.testing.assert_close(model(x), x, rtol=0, atol=0)


def test_constant_images_give_finite_outputs_and_gradients():
    torch.manual_seed(0)
    model = RLEDNet(**MICRO)
    for value in (0.0, 1.0):
        out = model(torch.full((1, 3, 16, 16), value))
        out.mean().backward()
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def synthetic_lowlight(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random colour images (clean) and a darkened copy with Poisson-like and Gaussian noise."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=size, mode="bicubic")
    clean = clean.clamp(0.05, 1.0)
    dark = 0.15 * clean
    noisy = dark + torch.randn(dark.shape, generator=g) * (0.01 * dark.sqrt() + 0.01)
    return noisy.clamp(0, 1), clean


def train(model: torch.nn.Module, steps: int, seed: int = 0, state=None) -> list[float]:
    """Charbonnier training on fixed synthetic low-light batches with the recipe's optimiser (lr 2e-4, cosine
    schedule shortened to 1,000 iterations); returns the losses."""
    noisy, clean = synthetic_lowlight(8, 16, seed=seed)
    optimizer, scheduler = rlednet_optimizer(model, iterations=1000)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    losses = []
    for step in range(steps):
        batch = slice(4 * (step % 2), 4 * (step % 2) + 4)
        loss = rlednet_loss(model(noisy[batch]), clean[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.optimizer_state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    return losses


def test_same_seed_same_weights_and_losses(tmp_path):
    runs = []
    for _ in range(2):
        seed_everything(0)
        model = RLEDNet(**MICRO)
        runs.append((model, train(model, 5)))
    (a, losses_a), (b, losses_b) = runs
    assert losses_a == losses_b
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    # Checkpoint round trip: the restored model and optimiser continue with the same next loss.
    save_checkpoint(tmp_path / "rled.pt", {"model": a.state_dict(), **a.optimizer_state}, a.config)
    loaded = load_checkpoint(tmp_path / "rled.pt")
    restored = MODELS.build("RLED-Net", **loaded["config"])
    restored.load_state_dict(loaded["state"]["model"])
    expected = train(a, 1)
    assert train(restored, 1, state=loaded["state"]) == expected


# --- §3 loss and recipe -----------------------------------------------------------------------------


def test_loss_against_hand_computed_values():
    pred = torch.full((1, 3, 32, 32), 0.2)
    target = torch.full((1, 3, 32, 32), 0.5)
    assert rlednet_loss(pred, target).item() == pytest.approx(math.sqrt(0.09 + 1e-6), rel=1e-6)
    # Constant images: SSIM = (2ab + C1) / (a² + b² + C1), C1 = 0.01² (the variance terms cancel).
    ssim = (2 * 0.2 * 0.5 + 1e-4) / (0.04 + 0.25 + 1e-4)
    expected = math.sqrt(0.09 + 1e-6) + 0.5 * (1 - ssim)
    assert RLEDNetLoss(ssim_weight=0.5)(pred, target).item() == pytest.approx(expected, rel=1e-5)
    assert rlednet_loss(target, target, ssim_weight=1.0).item() == pytest.approx(1e-3, rel=1e-4)
    with pytest.raises(ValueError, match="differ in shape"):
        rlednet_loss(pred, target[..., :16])


def test_optimizer_recipe():
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = rlednet_optimizer(model, iterations=10)
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.AdamW)
    assert (group["lr"], group["betas"], group["weight_decay"]) == (2e-4, (0.9, 0.999), 1e-4)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-6)


# --- §6.10 learning ---------------------------------------------------------------------------------


def test_training_steps_lower_the_loss():
    seed_everything(0)
    losses = train(RLEDNet(**MICRO), 30)
    assert sum(losses[-5:]) / 5 <= 0.8 * sum(losses[:5]) / 5, losses


# §6.11 and issue 9's claims (slow): test_rlednet_claims.py
