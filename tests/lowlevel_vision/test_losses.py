"""SufrinNet losses (spec shared/papers/sufrinnet.md §3, §6.9) against hand-computed values."""

import kornia
import pytest
import torch

from lowlevel_vision.losses import SufrinNetLoss, frequency_l1, sufrinnet_loss, sufrinnet_view_loss, total_variation

# p = [[a, b], [c, d]]; its 2x2 DFT (rfftn over H, W keeps both columns) is real:
# F00 = a+b+c+d, F01 = a-b+c-d, F10 = a+b-c-d, F11 = a-b-c+d; the 4 imaginary parts are 0.
P = torch.tensor([[[[1.0, 2.0], [3.0, 5.0]]]])
G = torch.tensor([[[[0.5, 0.0], [1.0, 0.5]]]])


def hand_dft(a: float, b: float, c: float, d: float) -> list[float]:
    return [a + b + c + d, a - b + c - d, a + b - c - d, a - b - c + d]


def test_frequency_l1_hand_computed():
    fp = hand_dft(1.0, 2.0, 3.0, 5.0)  # [11, -3, -5, 1]
    fg = hand_dft(0.5, 0.0, 1.0, 0.5)  # [2, 1, -1, 0]
    expected = sum(abs(x - y) for x, y in zip(fp, fg, strict=True)) / 8  # 4 real + 4 (zero) imaginary parts
    assert expected == pytest.approx(18 / 8)
    assert frequency_l1(P, G).item() == pytest.approx(expected)
    assert frequency_l1(P, P).item() == 0


def test_frequency_l1_counts_imaginary_parts():
    # A 1x3 row [0, 1, 0] vs zeros: rfft bins [1, exp(-2 pi i / 3)], real/imag entries
    # [1, 0, -0.5, -sqrt(3)/2] -> mean of the absolute values over 4 entries.
    p = torch.tensor([[[[0.0, 1.0, 0.0]]]])
    expected = (1 + 0.5 + 3**0.5 / 2) / 4
    assert frequency_l1(p, torch.zeros_like(p)).item() == pytest.approx(expected, abs=1e-6)


def test_frequency_l1_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        frequency_l1(P, torch.zeros(1, 1, 2, 3))


def test_total_variation_hand_computed_and_kornia():
    # vertical |3-1|, |5-2| -> mean 2.5; horizontal |2-1|, |5-3| -> mean 1.5.
    assert total_variation(P).item() == pytest.approx(4.0)
    x = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    reference = kornia.losses.total_variation(x, reduction="mean").mean()
    assert total_variation(x).item() == pytest.approx(reference.item(), rel=1e-6)


def test_sufrinnet_objective_weights_tv_by_a_tenth_on_both_views():
    q = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])  # TV = 1 + 1 = 2
    # FR(P, G) = 18/8, FR(q, q) = 0, TV(P) = 4, TV(q) = 2.
    expected = 18 / 8 + 0.0 + 0.1 * (4.0 + 2.0)
    assert sufrinnet_loss(P, q, G, q).item() == pytest.approx(expected)
    assert SufrinNetLoss()((P, q), (G, q)).item() == pytest.approx(expected)
    assert sufrinnet_loss(P, q, G, q, tv_weight=0.0).item() == pytest.approx(18 / 8)
    # One view's share (the quick suite trains the Monocular baselines on it): FR(P, G) + 0.1 TV(P).
    assert sufrinnet_view_loss(P, G).item() == pytest.approx(18 / 8 + 0.1 * 4.0)
