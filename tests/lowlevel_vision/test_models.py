import pytest
import torch

from lab_common import count_parameters
from lowlevel_vision.models import InputModel, Monocular, MonoUNet, NAFBlock
from lowlevel_vision.registry import MODELS

TABLE = [  # vision-common §9: block counts, matched width and parameter count of each method's baseline
    (3_065_827, (2, 2, 2), 4, (2, 2, 2), 0, 34, 3_209_365),
    (344_467, (1, 1, 1), 1, (1, 1, 1), 0, 18, 363_585),
    (1_344_395, (4, 4, 2), 2, (4, 4, 2), 4, 26, 1_397_165),
    (5_006_523, (2, 2, 2), 2, (2, 2, 2), 2, 52, 5_041_663),
    (760_373, (1, 1, 1), 1, (1, 1, 1), 1, 27, 813_324),
]


def test_nafblock_parameters_and_identity_at_init():
    block = NAFBlock(32)
    assert count_parameters(block) == 7 * 32**2 + 33 * 32 == 8224
    x = torch.randn(1, 32, 5, 7)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("width, enc, mid, dec, ref", [(4, (1, 2), 1, (2, 1), 0), (6, (1, 1, 1), 2, (1, 1, 1), 2)])
def test_parameter_formula_equals_module(width, enc, mid, dec, ref):
    assert MonoUNet.count_params(width, enc, mid, dec, ref) == count_parameters(MonoUNet(width, enc, mid, dec, ref))


@pytest.mark.parametrize("target, enc, mid, dec, ref, width, params", TABLE)
def test_matched_widths_equal_the_table(target, enc, mid, dec, ref, width, params):
    assert MonoUNet.matching_width(target, enc, mid, dec, ref) == width
    assert MonoUNet.count_params(width, enc, mid, dec, ref) == params
    assert MonoUNet.count_params(width - 1, enc, mid, dec, ref) < target


def test_matching_a_model_uses_its_block_counts():
    method = Monocular(5, (1, 1, 1), 1, (1, 1, 1))
    baseline = Monocular.matching(method)
    assert baseline.config["width"] == 5 and baseline.block_counts == method.block_counts


def test_odd_sizes_six_channels_and_view_independence():
    model = MODELS.build("Monocular", width=4, enc_blocks=(1, 1, 1), middle_blocks=1, dec_blocks=(1, 1, 1)).eval()
    for p in model.parameters():  # make the residual branches active
        p.data.normal_(0, 0.2)
    left, right = torch.rand(1, 3, 37, 53), torch.rand(1, 3, 37, 53)
    with torch.no_grad():
        out_l, out_r = model(left, right)
        assert out_l.shape == (1, 3, 37, 53) and not torch.equal(out_l, left)
        joined = model(torch.cat([left, right], 1))
        assert torch.equal(joined[0], out_l) and torch.equal(joined[1], out_r)
        other_l, _ = model(left, torch.rand(1, 3, 37, 53))
    assert torch.allclose(other_l, out_l, atol=1e-6)  # no cross-view exchange


def test_input_model_is_identity_and_registered():
    left, right = torch.rand(2, 3, 9, 11), torch.rand(2, 3, 9, 11)
    out_l, out_r = MODELS.build("Input")(left, right)
    assert torch.equal(out_l, left) and torch.equal(out_r, right)
    assert isinstance(MODELS.build("Input"), InputModel) and count_parameters(InputModel()) == 0
    with pytest.raises(ValueError, match="6"):
        InputModel()(torch.rand(1, 3, 4, 4))
