"""SufrinNet (spec shared/papers/sufrinnet.md §2, §3, §6): architecture, semantics, recipe, learning."""

import pytest
import torch

from lab_common import count_parameters, seed_everything
from lowlevel_vision.losses import sufrinnet_loss
from lowlevel_vision.models.monocular import Monocular
from lowlevel_vision.models.sufrinnet import (
    SIMB,
    ChannelAttention,
    CrossScaleInteraction,
    CrossViewInteraction,
    SufrinNet,
    sufrinnet_optimizer,
)
from lowlevel_vision.registry import MODELS

TINY = {"base_channels": 4, "depth": (1, 1, 1, 1, 1)}


# one torch thread per test: tests/lowlevel_vision/conftest.py
n_params = count_parameters


def tiny_model(seed: int = 0, **overrides) -> SufrinNet:
    torch.manual_seed(seed)
    return SufrinNet(**{**TINY, **overrides}).eval()


# --- §6.1 parameter counts -------------------------------------------------------------------------


def test_full_model_parameter_counts_match_official():
    assert n_params(SufrinNet()) == 1_344_395
    official = SufrinNet(official_param_layout=True)
    assert n_params(official) == 1_349_179
    assert n_params(SufrinNet(cross_view=False)) == 1_234_943
    # Breakdown of the official layout (spec §2.4).
    assert n_params(official.encoders) + n_params(official.downs) == 301_216
    assert n_params(official.middle) == 323_648
    assert n_params(official.cvis) == 114_236
    assert n_params(official.csi) == 168_044
    assert n_params(official.ups) + n_params(official.decoders) == 424_752
    assert n_params(official.refine) == 16_400
    assert n_params(official.conv_last) == 435


def test_module_parameter_counts():
    assert [n_params(SIMB(c)) for c in (16, 32, 64, 128)] == [4_100, 12_808, 44_048, 161_824]
    assert n_params(CrossScaleInteraction(16)) == 168_044
    assert [n_params(CrossViewInteraction(c)) for c in (16, 32, 64)] == [6_420, 22_056, 80_976]
    official = SufrinNet(official_param_layout=True)
    assert [n_params(cvi) for cvi in official.cvis] == [6_500, 22_600, 85_136]


def test_registered_config_rebuilds_and_size_multiple():
    assert SufrinNet.size_multiple == 16
    model = SufrinNet(base_channels=8, depth=(1, 2, 1, 1, 2), official_param_layout=True)
    rebuilt = MODELS.build("SufrinNet", **model.config)
    assert isinstance(rebuilt, SufrinNet)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    assert n_params(rebuilt) == n_params(model)


def test_matched_monocular_baseline_has_spec_budget_and_ignores_right_view():
    # Spec §5: MonoUNet width 26, blocks enc [4,4,2], middle 2, dec [4,4,2], refine 4: 1,397,165 parameters.
    mono = Monocular.matching(SufrinNet())
    assert mono.config["width"] == 26 and n_params(mono) == 1_397_165
    small = Monocular.matching(SufrinNet(**TINY)).eval()
    left, right = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(small(left, right)[0], small(left, torch.rand(1, 3, 16, 16))[0])


# --- §6.2 additive channel attention -----------------------------------------------------------------


def test_channel_attention_is_additive():
    torch.manual_seed(0)
    ca = ChannelAttention(16)
    z = torch.randn(2, 16, 5, 7)
    delta = ca(z) - z
    assert torch.allclose(delta, delta[..., :1, :1].expand_as(delta), atol=1e-6)
    assert (delta > 0).all() and (delta < 1).all()
    mul = ChannelAttention(16, mode="mul")
    mul.load_state_dict(ca.state_dict())
    assert not torch.allclose(mul(z), ca(z))


# --- §6.3, 6.4, 6.8 cross-view interaction ---------------------------------------------------------


def reference_cvi(cvi: CrossViewInteraction, fl, fr, right_from_updated_left: bool = True):
    q, k = cvi.embed(fl), cvi.embed(fr)
    s = torch.einsum("bchi,bchj->bhij", q, k)
    fl_new = fl + torch.einsum("bhij,bchj->bchi", s.softmax(-1), fr)
    source = fl_new if right_from_updated_left else fl
    fr_new = fr + torch.einsum("bhij,bchj->bchi", s.transpose(-1, -2).softmax(-1), source)
    return fl_new, fr_new


@pytest.fixture(scope="module")
def cvi_case():
    torch.manual_seed(1)
    cvi = CrossViewInteraction(8).eval()
    fl, fr = torch.randn(2, 8, 6, 10), torch.randn(2, 8, 6, 10)
    return cvi, fl, fr


def test_cvi_matches_einsum_reference(cvi_case):
    cvi, fl, fr = cvi_case
    with torch.no_grad():
        out_l, out_r = cvi(fl, fr)
        ref_l, ref_r = reference_cvi(cvi, fl, fr)
        wrong_l, wrong_r = reference_cvi(cvi, fl, fr, right_from_updated_left=False)
    assert (out_l - ref_l).abs().max() < 1e-5
    assert (out_r - ref_r).abs().max() < 1e-5
    # The variant that updates the right view from the original left must not pass.
    assert (out_r - wrong_r).abs().max() > 1e-3


def test_cvi_is_row_local(cvi_case):
    _, fl, fr = cvi_case
    fr2 = fr.clone()
    fr2[:, :, 3] += torch.randn_like(fr2[:, :, 3])
    # The Q/K embedding (7x7, 3x3 convs, global pooling in CA) mixes rows, so row locality is a
    # property of the attention: test it with the embedding replaced by the identity.
    cvi_id = CrossViewInteraction(8).eval()
    cvi_id.embed = torch.nn.Identity()
    with torch.no_grad():
        a_l, a_r = cvi_id(fl, fr)
        b_l, b_r = cvi_id(fl, fr2)
    changed = ((a_l - b_l).abs().amax(dim=(0, 1, 3)) > 0) | ((a_r - b_r).abs().amax(dim=(0, 1, 3)) > 0)
    assert changed.tolist() == [False, False, False, True, False, False]


def test_cvi_row_chunked_path_is_exact(cvi_case):
    cvi, fl, fr = cvi_case
    with torch.no_grad():
        full_l, full_r = cvi(fl, fr)
        for chunk in (1, 4):
            part_l, part_r = cvi(fl, fr, chunk_rows=chunk)
            assert (part_l - full_l).abs().max() < 1e-5 and (part_r - full_r).abs().max() < 1e-5
        budget_cvi = CrossViewInteraction(8, attention_budget=2 * 10 * 10).eval()
        budget_cvi.load_state_dict(cvi.state_dict())
        auto_l, auto_r = budget_cvi(fl, fr)  # budget forces one row per block
    assert (auto_l - full_l).abs().max() < 1e-5 and (auto_r - full_r).abs().max() < 1e-5


# --- §6.5 cross-view sensitivity of the whole network ------------------------------------------------


def test_right_view_changes_left_output_only_with_cross_view():
    torch.manual_seed(2)
    left, right = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    right2 = right.clone()
    right2[..., 20:28, 4:12] = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        model = tiny_model()
        assert (model(left, right)[0] - model(left, right2)[0]).abs().max() > 1e-6
        mono = tiny_model(cross_view=False)
        assert torch.equal(mono(left, right)[0], mono(left, right2)[0])


# --- §6.6, 6.7 shapes, range, padding, 6-channel input ----------------------------------------------


@pytest.mark.parametrize("size", [(1, 3), (37, 53), (32, 16)])
def test_any_size_comes_back_at_its_own_size_in_unit_range(size):
    model = tiny_model()
    left, right = torch.rand(2, 3, *size), torch.rand(2, 3, *size)
    with torch.no_grad():
        out_l, out_r = model(left, right)
    assert out_l.shape == left.shape and out_r.shape == right.shape
    assert out_l.min() >= 0 and out_l.max() <= 1 and out_r.min() >= 0 and out_r.max() <= 1


def test_padding_equals_manual_zero_pad_and_crop():
    model = tiny_model()
    left, right = torch.rand(1, 3, 37, 53), torch.rand(1, 3, 37, 53)
    padded_l, padded_r = (torch.nn.functional.pad(t, (0, 11, 0, 11)) for t in (left, right))
    with torch.no_grad():
        out_l, out_r = model(left, right)
        ref_l, ref_r = model(padded_l, padded_r)
    assert torch.allclose(out_l, ref_l[..., :37, :53], atol=1e-6)
    assert torch.allclose(out_r, ref_r[..., :37, :53], atol=1e-6)


def test_six_channel_input_equals_two_argument_call():
    model = tiny_model()
    left, right = torch.rand(1, 3, 20, 24), torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        a = model(left, right)
        b = model(torch.cat([left, right], dim=1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 20, 24))


def test_full_model_small_forward():
    torch.manual_seed(3)
    model = SufrinNet().eval()
    left, right = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        out_l, out_r = model(left, right)
    assert out_l.shape == (1, 3, 24, 40) and out_r.shape == (1, 3, 24, 40)
    assert torch.isfinite(out_l).all() and 0 <= out_l.min() and out_l.max() <= 1


# --- §6.12 recipe, §6.13 determinism, §6.14 learning --------------------------------------------------


def test_training_recipe_matches_official():
    optimizer, scheduler = sufrinnet_optimizer(tiny_model())
    assert isinstance(optimizer, torch.optim.Adam)
    group = optimizer.param_groups[0]
    assert group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999) and group["weight_decay"] == 0
    assert isinstance(scheduler, torch.optim.lr_scheduler.MultiStepLR)
    assert sorted(scheduler.milestones) == [500, 1000, 1500, 2000] and scheduler.gamma == 0.5
    for _ in range(499):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)


def synthetic_lowlight_pair(generator: torch.Generator, batch: int = 2, size: int = 32, shift: int = 3):
    """Smooth random scenes, a right view shifted along rows (disparity), darkened with noise."""
    coarse = torch.rand(batch, 3, size // 16, size // 16 + 1, generator=generator)
    scene = torch.nn.functional.interpolate(coarse, size=(size, size + shift), mode="bilinear", align_corners=False)
    gt_l, gt_r = scene[..., shift:], scene[..., :size]
    low = [(0.15 * gt + 0.02 * torch.randn(gt.shape, generator=generator)).clamp(0, 1) for gt in (gt_l, gt_r)]
    return low[0], low[1], gt_l, gt_r


def run_steps(seed: int, steps: int, lr: float = 2e-3) -> list[float]:
    seed_everything(seed)
    model = SufrinNet(base_channels=4, depth=(1, 1, 1, 1, 1))
    optimizer, _ = sufrinnet_optimizer(model, lr=lr)
    low_l, low_r, gt_l, gt_r = synthetic_lowlight_pair(torch.Generator().manual_seed(seed))
    losses = []
    for _ in range(steps):
        loss = sufrinnet_loss(*model(low_l, low_r), gt_l, gt_r)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_same_seed_same_weights_and_losses():
    a, b = tiny_model(seed=5), tiny_model(seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.conv_last.weight, tiny_model(seed=6).conv_last.weight)
    assert run_steps(0, 5) == run_steps(0, 5)


def test_training_steps_lower_the_loss():
    losses = run_steps(0, 30)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.8 * first, losses
