import pytest
import torch

from lowlevel_vision.data import Degraded, LowLight, StereoRain, SyntheticStereo
from lowlevel_vision.metrics import psnr


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_rain_right_field_is_left_field_shifted():
    rain = StereoRain(layers=(1, 1), shift=(2, 2))
    fields, layers = rain.streaks(32, 48, _gen())
    ((left, right),) = fields
    canvas = rain.streak_field(32, 48, layers[0], _gen(99))  # a separate draw only to get the canvas width
    assert canvas.shape[-1] == 48 + 2 and layers[0]["shift"] == 2
    assert torch.equal(right[..., :-2], left[..., 2:]) and left.abs().sum() > 0
    assert not torch.equal(left, right)


def test_rain_add_mode_is_brighter_grey_and_deterministic():
    gt = (torch.rand(2, 1, 32, 48) * 0.5).expand(2, 3, 32, 48)  # grey, so grey streaks keep R = G = B
    (lq_l, lq_r), params = StereoRain()(gt, gt.flip(-1), generator=_gen(5))
    assert (lq_l >= gt).all() and (lq_r >= gt.flip(-1)).all() and (lq_l > gt).any()
    assert torch.equal(lq_l[:, 0], lq_l[:, 1]) and torch.equal(lq_l[:, 0], lq_l[:, 2])
    (again_l, _), again = StereoRain()(gt, gt.flip(-1), generator=_gen(5))
    assert torch.equal(lq_l, again_l) and params == again
    (other_l, _), _ = StereoRain()(gt, gt.flip(-1), generator=_gen(6))
    assert not torch.equal(lq_l, other_l)


def test_rain_screen_blend_stays_in_range():
    gt = torch.rand(1, 3, 32, 48)
    (lq, _), _ = StereoRain("heavy", blend="screen")(gt, gt, generator=_gen())
    assert (lq >= gt - 1e-6).all() and (lq <= 1).all()


def test_denser_rain_gives_lower_psnr():
    gt = torch.rand(6, 3, 32, 48) * 0.6
    scores = []
    for density in ((0.001, 0.001), (0.01, 0.01)):
        (lq, _), _ = StereoRain(layers=(1, 1), density=density)(gt, gt, generator=_gen(1))
        scores.append(psnr(lq, gt).mean())
    assert scores[1] < scores[0] - 1


def test_lowlight_shares_parameters_not_noise():
    flat = torch.full((1, 3, 64, 64), 0.6)
    low = LowLight(quantize=False, alpha=1.0, beta=1.0, gamma=1.0, peak=(100.0, 100.0), sigma_r=0.0)
    (left, right), params = low(flat, flat, generator=_gen(2))
    assert params["peak"] == [pytest.approx(100.0)]
    n_l, n_r = (left - 0.6).flatten(), (right - 0.6).flatten()
    corr = torch.corrcoef(torch.stack([n_l, n_r]))[0, 1]
    assert abs(float(corr)) < 0.05
    assert float(n_l.var()) == pytest.approx(0.6 / 100, rel=0.1)


def test_lowlight_same_params_for_both_views_and_quantised():
    gt = torch.rand(2, 3, 16, 16)
    (left, right), params = LowLight("heavy")(gt, gt, generator=_gen(3))
    assert set(params) == {"alpha", "beta", "gamma", "peak", "sigma_r", "correlated"} and len(params["gamma"]) == 2
    assert torch.equal(torch.round(left * 255) / 255, left)
    assert left.mean() < gt.mean() and not torch.equal(left, right)
    # darkening without noise is the same for both views: their means agree closely
    (clean_l, clean_r), _ = LowLight(quantize=False, peak=None, sigma_r=0.0)(gt, gt, generator=_gen(3))
    assert torch.equal(clean_l, clean_r)


def test_degraded_wrapper_is_seeded_and_fixed():
    base = SyntheticStereo("rain", n=2, size=(16, 32))
    wrapped = Degraded(base.scenes, LowLight(), seed=4, fixed=True)
    a, b = wrapped[0], wrapped[0]
    assert torch.equal(a["lq_l"], b["lq_l"]) and a["degradation"] == b["degradation"]
    training = Degraded(base.scenes, LowLight(), seed=4, fixed=False)
    first = training[0]["lq_l"]
    training.set_epoch(1)
    assert not torch.equal(first, training[0]["lq_l"])
