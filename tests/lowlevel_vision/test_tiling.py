import pytest
import torch
from torch import nn

from lowlevel_vision.models import Monocular
from lowlevel_vision.tiling import tile_starts, tiled_forward


def _local_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(*(nn.Conv2d(3, 3, 3, padding=1) for _ in range(3)))  # receptive radius 3


def test_tile_starts_snap_the_last_tile():
    assert tile_starts(70, 32, 8) == [0, 24, 38]
    assert tile_starts(20, 32, 8) == [0]
    assert tile_starts(56, 32, 8) == [0, 24]


def test_tile_at_least_image_equals_untiled():
    model = Monocular(4, (1, 1), 1, (1, 1)).eval()
    left, right = torch.rand(1, 3, 20, 28), torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        whole = model(left, right)
    tiled = tiled_forward(model, left, right, tile=(32, 32))
    assert all(torch.equal(a, b) for a, b in zip(whole, tiled, strict=True))


def test_crop_blend_is_exact_for_local_model_with_snapped_tile():
    model = _local_model()
    x = torch.rand(2, 3, 70, 91)
    with torch.no_grad():
        whole = model(x)
    tiled = tiled_forward(model, x, tile=(32, 40), overlap=8, tiles_per_batch=3)
    assert (tiled - whole).abs().max() < 1e-6
    tiled_small_overlap = tiled_forward(model, x, tile=(32, 40), overlap=2)
    assert (tiled_small_overlap - whole).abs().max() > 1e-4  # radius 3 > overlap / 2: seams show


def test_ramp_blend_has_no_seam_on_constant_image():
    x = torch.full((1, 3, 50, 60), 0.3)
    out = tiled_forward(lambda t: t * 2, x, tile=(16, 16), overlap=6, blend="ramp")
    assert (out - 0.6).abs().max() < 1e-6


def test_tiles_bounded_and_stereo_views_share_windows():
    seen = []

    def model(left, right):
        seen.append((tuple(left.shape), left[:, 0, 0, 0].clone(), right[:, 0, 0, 0].clone()))
        return left, right

    height, width = 40, 50
    coords = torch.arange(height * width, dtype=torch.float32).view(1, 1, height, width).expand(1, 3, -1, -1)
    tiled_forward(model, coords, coords + 0.5, tile=(16, 24), overlap=4, tiles_per_batch=2)
    assert seen and all(shape[0] <= 2 and shape[2] <= 16 and shape[3] <= 24 for shape, _, _ in seen)
    for _, top_left_l, top_left_r in seen:
        assert torch.equal(top_left_r, top_left_l + 0.5)


def test_stereo_default_tile_is_full_width_strip():
    widths = []
    tiled_forward(
        lambda a, b: (widths.append(a.shape[-1]) or a, b), torch.rand(1, 3, 300, 40), torch.rand(1, 3, 300, 40)
    )
    assert widths == [40, 40]


def test_bad_blend_and_mismatched_views_raise():
    with pytest.raises(ValueError, match="blend"):
        tiled_forward(lambda t: t, torch.rand(1, 3, 8, 8), blend="max")
    with pytest.raises(ValueError, match="one size"):
        tiled_forward(lambda a, b: (a, b), torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
