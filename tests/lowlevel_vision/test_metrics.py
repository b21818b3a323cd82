import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from lowlevel_vision.metrics import MetricAccumulator, psnr, quantize, rgb_to_y, ssim, stereo_metrics


def _reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. SSIM with an 11-tap σ 1.5 Gaussian, population statistics, 5-pixel valid crop, channel mean."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for x, y in zip(a, b, strict=True):
        f = lambda z: gaussian_filter(z, 1.5, truncate=3.5)[5:-5, 5:-5]  # noqa: E731
        mx, my = f(x), f(y)
        sxx, syy, sxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
        values.append(m.mean())
    return float(np.mean(values))


def test_one_grey_level_everywhere_is_48_1308_db():
    a = torch.full((1, 3, 16, 16), 100 / 255)
    assert psnr(a, a + 1 / 255).item() == pytest.approx(48.1308, abs=1e-4)
    assert psnr(a, a).item() == math.inf and ssim(a, a).item() == 1.0


def test_bt601_white_and_black():
    assert rgb_to_y(torch.full((1, 3, 1, 1), 255.0), True).item() == 235
    assert rgb_to_y(torch.zeros(1, 3, 1, 1), True).item() == 16
    grey = rgb_to_y(torch.full((1, 3, 1, 1), 128.0), False).item()
    assert grey == pytest.approx(16 + 219 * 128 / 255, abs=1e-9)


def test_rgb_rounds_and_sufrinnet_truncates():
    x = torch.full((1, 3, 16, 16), 0.999 / 255 + 10 / 255)  # 10.999 on the 0-255 scale
    assert quantize(x, "rgb").unique().item() == 11 and quantize(x, "sufrinnet").unique().item() == 10
    gt = torch.full_like(x, 11 / 255)
    assert psnr(x, gt, "rgb").item() == math.inf
    assert psnr(x, gt, "sufrinnet").item() == pytest.approx(48.1308, abs=1e-4)


def test_y_matlab_rounds_y_and_y_basicsr_does_not():
    pred = torch.full((1, 3, 16, 16), 0.2)
    gt = torch.full((1, 3, 16, 16), 0.2 + 0.6 / 255)
    # on Y the two differ by 219/255·(1 grey level) = 0.8588 before rounding
    basicsr = psnr(pred, gt, "y_basicsr").item()
    assert basicsr == pytest.approx(10 * math.log10(255**2 / (219 / 255) ** 2), abs=1e-6)
    assert psnr(pred, gt, "y_matlab").item() == pytest.approx(48.1308, abs=1e-4)


def test_ssim_matches_independent_scipy_implementation():
    generator = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 3, 24, 30, generator=generator)
    pred = (gt + 0.1 * torch.randn(2, 3, 24, 30, generator=generator)).clamp(0, 1)
    ours = ssim(pred, gt)
    for b in range(2):
        a_np = quantize(pred[b : b + 1]).numpy()[0]
        g_np = quantize(gt[b : b + 1]).numpy()[0]
        assert ours[b].item() == pytest.approx(_reference_ssim(a_np, g_np), abs=1e-6)


def test_ssim_refuses_tiny_images():
    with pytest.raises(ValueError, match="11x11"):
        ssim(torch.rand(1, 3, 10, 20), torch.rand(1, 3, 10, 20))


def test_crop_border_and_left_crop():
    gt = torch.full((1, 3, 40, 100), 0.5)
    pred = gt.clone()
    pred[..., :2, :] = 0  # damage only the top two rows
    assert psnr(pred, gt, crop_border=2).item() == math.inf and psnr(pred, gt).item() < 20
    left = gt.clone()
    left[..., :64] = 0  # damage only the 64 leftmost columns
    metrics = stereo_metrics(left, gt, gt, gt, left_crop=64)
    assert metrics["psnr_l"] == math.inf and metrics["ssim_l"] == 1.0
    assert stereo_metrics(left, gt, gt, gt)["psnr_l"] < 10


def test_stereo_average_and_per_image_mean():
    gt = torch.full((2, 3, 16, 16), 100 / 255)
    pred_l = gt.clone()
    pred_l[0] += 1 / 255
    pred_l[1] += 4 / 255
    pred_r = gt + 2 / 255
    metrics = stereo_metrics(pred_l, pred_r, gt, gt)
    per_image = [10 * math.log10(255**2 / 1), 10 * math.log10(255**2 / 16)]
    assert metrics["psnr_l"] == pytest.approx(sum(per_image) / 2, abs=1e-9)
    pooled = 10 * math.log10(255**2 / ((1 + 16) / 2))
    assert abs(metrics["psnr_l"] - pooled) > 1
    assert metrics["psnr_avg"] == pytest.approx((metrics["psnr_l"] + metrics["psnr_r"]) / 2)


def test_accumulator_over_batches_equals_one_batch():
    generator = torch.Generator().manual_seed(1)
    gt = torch.rand(4, 3, 16, 16, generator=generator)
    pred = (gt + 0.05 * torch.rand(4, 3, 16, 16, generator=generator)).clamp(0, 1)
    acc = MetricAccumulator(("",))
    acc.update((pred[:1],), (gt[:1],))
    acc.update((pred[1:],), (gt[1:],))
    result = acc.result()
    assert result["psnr"] == pytest.approx(psnr(pred, gt).mean().item())
    assert result["ssim"] == pytest.approx(ssim(pred, gt).mean().item())
