import pytest
import torch

from lowlevel_vision.data import LayeredStereoScenes, PairedRandomCrop, StereoSafeAugment
from lowlevel_vision.data.transforms import MonoAugment
from lowlevel_vision.io import DatasetError


def _warp_right_to_left(right: torch.Tensor, disp_l: torch.Tensor) -> torch.Tensor:
    """``left(x) = right(x − d(x))``; positions leaving the image are clamped (masked by occlusion)."""
    width = right.shape[-1]
    index = (torch.arange(width) - disp_l.long()).clamp(0, width - 1)
    return right.gather(-1, index.expand_as(right))


def _consistent(sample) -> bool:
    visible = ~sample["occ_l"]
    warped = _warp_right_to_left(sample["gt_r"], sample["disp_l"])
    return bool((warped - sample["gt_l"]).abs()[:, visible].max() == 0) and bool(sample["disp_l"].min() >= 0)


@pytest.fixture(scope="module")
def scene():
    return LayeredStereoScenes(1, (24, 48), disparity=(1, 6), seed=3)[0]


def test_crop_is_one_window_for_all_images_and_maps(scene):
    sample = {**scene, "lq_l": scene["gt_l"] * 0.5, "lq_r": scene["gt_r"] * 0.5}
    out = PairedRandomCrop(16, 20)(sample, torch.Generator().manual_seed(1))
    assert out["gt_l"].shape == (3, 16, 20) and out["disp_r"].shape == (16, 20)
    assert torch.equal(out["lq_l"], out["gt_l"] * 0.5) and torch.equal(out["lq_r"], out["gt_r"] * 0.5)
    # the left-image window locates the others: find it and compare
    found = [
        (t, x)
        for t in range(9)
        for x in range(29)
        if torch.equal(scene["gt_l"][:, t : t + 16, x : x + 20], out["gt_l"])
    ]
    top, left = found[0]
    assert torch.equal(out["gt_r"], scene["gt_r"][:, top : top + 16, left : left + 20])
    assert torch.equal(out["occ_l"], scene["occ_l"][top : top + 16, left : left + 20])


def test_crop_larger_than_image_names_file_and_sizes(scene):
    sample = {**scene, "paths": {"gt_l": "/data/x_L.png"}}
    with pytest.raises(DatasetError) as info:
        PairedRandomCrop(32, 20)(sample, torch.Generator())
    assert "/data/x_L.png" in str(info.value) and "32x20" in str(info.value) and "24x48" in str(info.value)


def test_horizontal_flip_swaps_views_and_keeps_disparity_positive(scene):
    assert _consistent(scene)
    flipper = StereoSafeAugment(vflip=False, rgb_permute=False)
    flipped = [flipper(scene, torch.Generator().manual_seed(s)) for s in range(8)]
    swapped = [f for f in flipped if not torch.equal(f["gt_l"], scene["gt_l"])]
    assert swapped, "no seed drew a horizontal flip"
    for f in swapped:
        assert torch.equal(f["gt_l"], scene["gt_r"].flip(-1)) and torch.equal(f["gt_r"], scene["gt_l"].flip(-1))
        assert _consistent(f)
    plain = {
        **scene,
        "gt_l": scene["gt_l"].flip(-1),
        "gt_r": scene["gt_r"].flip(-1),
        "disp_l": scene["disp_l"].flip(-1),
        "occ_l": scene["occ_l"].flip(-1),
    }
    assert not _consistent(plain)  # a flip without the swap breaks the geometry


def test_vertical_flip_and_shared_channel_permutation(scene):
    augment = StereoSafeAugment(hflip=False)
    for seed in range(6):
        out = augment(scene, torch.Generator().manual_seed(seed))
        assert _consistent(out)
        flipped_rows = not torch.equal(out["disp_l"], scene["disp_l"])
        left = scene["gt_l"].flip(-2) if flipped_rows else scene["gt_l"]
        right = scene["gt_r"].flip(-2) if flipped_rows else scene["gt_r"]
        perms = [
            p
            for p in ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0])
            if torch.equal(left[p], out["gt_l"])
        ]
        assert any(torch.equal(right[p], out["gt_r"]) for p in perms)


def test_mono_augment_same_for_lq_and_gt():
    gt = torch.rand(3, 8, 8)
    out = MonoAugment()({"lq": gt * 0.5, "gt": gt}, torch.Generator().manual_seed(4))
    assert torch.allclose(out["lq"], out["gt"] * 0.5)
