"""Tests of the fake-quantization core (``papers/adasg.md`` section 1.3, checklist items 1-5)."""

import pytest
import torch
from torch import nn

from learn_compress.quantization import (
    ActQuant,
    ConfigError,
    QuantConv2d,
    QuantLinear,
    UniformAffineQuantizer,
    activation_quantizers,
    affine_params,
    calibrate,
    fake_quantize,
    quantize_int,
    quantize_model,
    set_calibrating,
)


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )


@pytest.mark.parametrize("bits", [3, 4, 8])
def test_codes_stay_in_range_and_at_most_2k_levels_per_channel(bits):
    torch.manual_seed(bits)
    x = torch.randn(6, 500) * torch.linspace(0.1, 10, 6)[:, None]
    lo, hi = torch.full((6, 1), -1.5), torch.full((6, 1), 2.0)
    qi = quantize_int(x, lo, hi, bits)
    assert qi.min() >= -(2 ** (bits - 1)) and qi.max() <= 2 ** (bits - 1) - 1
    x_hat = fake_quantize(x, lo, hi, bits)
    for row in x_hat:
        assert 2 < len(torch.unique(row)) <= 2**bits
    scale, _ = affine_params(lo, hi, bits)
    for value in (lo, hi):
        assert (fake_quantize(value, lo, hi, bits) - value).abs().max() <= 1.0 / scale.min()


def test_zero_maps_to_zero_when_inside_the_range():
    for lo, hi in [(-0.37, 1.91), (0.0, 3.3), (-5.0, 0.2)]:
        out = fake_quantize(torch.zeros(3), torch.tensor(lo), torch.tensor(hi), 4)
        assert out.abs().max() < 1e-6


def test_straight_through_gradient_is_identity_even_outside_the_range():
    x = torch.linspace(-4, 4, 101, requires_grad=True)
    fake_quantize(x, torch.tensor(-1.0), torch.tensor(1.0), 3).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    # weights: the gradient reaches the FP weights as if the quantizer were not there
    layer = QuantLinear.from_float(nn.Linear(4, 3), wbits=3)
    inputs = torch.randn(5, 4)
    layer(inputs).sum().backward()
    assert torch.allclose(layer.weight.grad, inputs.sum(0).expand(3, 4))


def test_per_channel_range_isolates_channels():
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3)
    quant = UniformAffineQuantizer(4, per_channel=True)
    error = (quant(conv.weight) - conv.weight).detach()
    scaled = conv.weight.detach().clone()
    scaled[2] *= 100
    error_scaled = quant(scaled) - scaled
    keep = [0, 1, 3]
    assert torch.allclose(error[keep], error_scaled[keep])
    per_tensor = UniformAffineQuantizer(4, per_channel=False)
    assert not torch.allclose((per_tensor(scaled) - scaled)[keep], error[keep])


def test_official_ema_overshoots_as_specified_and_standard_does_not():
    official, standard = ActQuant(4, ema_mode="official"), ActQuant(4, ema_mode="standard")
    set_calibrating(nn.Sequential(official, standard), True)
    x = torch.tensor([0.0, 0.5, 1.0])
    seen_official, seen_standard = [], []
    for _ in range(21):
        official(x)
        standard(x)
        seen_official.append(float(official.x_max))
        seen_standard.append(float(standard.x_max))
    assert seen_official[0] == pytest.approx(1.0)
    assert seen_official[1] == pytest.approx(1.0 / 0.19, rel=1e-4)
    assert seen_official[20] == pytest.approx(3945, rel=0.01)
    assert seen_standard == pytest.approx([1.0] * 21, rel=1e-5)
    assert int(official.updates) == 21


def test_frozen_ranges_do_not_move_and_minmax_mode_keeps_extremes():
    act = ActQuant(4, ema_mode="minmax")
    act.calibrating = True
    act(torch.tensor([-1.0, 2.0]))
    act(torch.tensor([0.5, 3.0]))
    assert (float(act.x_min), float(act.x_max)) == (-1.0, 3.0)
    act.calibrating = False
    act(torch.tensor([-10.0, 10.0]))
    assert (float(act.x_min), float(act.x_max)) == (-1.0, 3.0)


def test_bad_settings_are_rejected():
    with pytest.raises(ConfigError):
        ActQuant(4, ema_mode="median")
    with pytest.raises(ConfigError):
        UniformAffineQuantizer(1)


def test_quantize_model_swaps_layers_keeps_bn_and_leaves_the_input_untouched():
    model = small_net()
    q = quantize_model(model, 4, 4)
    assert sum(isinstance(m, QuantConv2d) for m in q.modules()) == 2
    assert sum(isinstance(m, QuantLinear) for m in q.modules()) == 1
    assert len(activation_quantizers(q)) == 2
    assert not any(isinstance(m, ActQuant | QuantConv2d) for m in model.modules())
    for name in ("1", "4"):
        bn_fp, bn_q = model.get_submodule(name), q.get_submodule(name)
        assert type(bn_q) is nn.BatchNorm2d
        for key, value in bn_fp.state_dict().items():
            assert torch.equal(value, bn_q.state_dict()[key])
    kept = quantize_model(model, 4, 4, quantize_first_last=False)
    assert type(kept[0]) is nn.Conv2d and type(kept[8]) is nn.Linear and isinstance(kept[3], QuantConv2d)


def test_eight_bit_model_calibrated_on_data_is_close_to_full_precision_and_four_bit_is_not():
    model = small_net().eval()
    data = torch.randn(64, 3, 8, 8)
    errors = {}
    for bits in (8, 4):
        q = quantize_model(model, bits, bits, ema_mode="minmax").eval()
        calibrate(q, data.split(16))
        assert all(not a.calibrating for a in activation_quantizers(q))
        with torch.no_grad():
            errors[bits] = float((q(data) - model(data)).abs().max())
    assert errors[8] < 0.15 * errors[4]
