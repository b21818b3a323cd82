import numpy as np
import pytest
import torch

from lowlevel_vision.data import (
    LOL,
    LSRW,
    Flickr1024,
    KITTIStereo,
    Middlebury,
    PairedFolder,
    StereoPairedFolders,
    StereoRainFolders,
    StereoSRFolders,
    SufrinNetFolders,
)
from lowlevel_vision.io import DatasetError


def test_flickr1024_pairs_by_prefix_in_order(tmp_path, png):
    for i, n in enumerate(["0002", "0001", "0010"]):
        left = png(tmp_path / "Train" / f"{n}_L.png", seed=2 * i)
        png(tmp_path / "Train" / f"{n}_R.png", seed=2 * i + 1)
        if n == "0001":
            expected_left = left
    data = Flickr1024(tmp_path, "Train")
    assert [r.name for r in data.records] == ["0001", "0002", "0010"]
    sample = data[0]
    assert set(sample) >= {"gt_l", "gt_r", "name", "paths"} and "lq_l" not in sample
    assert torch.equal(sample["gt_l"], expected_left.float() / 255)
    assert sample["paths"]["gt_r"].endswith("0001_R.png")


def test_flickr1024_missing_right_view_names_file(tmp_path, png):
    png(tmp_path / "Train" / "0001_L.png")
    png(tmp_path / "Train" / "0001_R.png")
    png(tmp_path / "Train" / "0002_L.png")
    with pytest.raises(DatasetError) as info:
        Flickr1024(tmp_path, "Train")
    assert "0002_L.png" in str(info.value) and "0002_R.png" in str(info.value)


def test_flickr1024_size_mismatch_raises_when_read(tmp_path, png):
    png(tmp_path / "Test" / "0001_L.png", 8, 12)
    png(tmp_path / "Test" / "0001_R.png", 8, 11)
    data = Flickr1024(tmp_path, "Test")
    with pytest.raises(DatasetError, match="8x11"):
        data[0]


def test_empty_folder_raises(tmp_path):
    (tmp_path / "Validation").mkdir()
    with pytest.raises(DatasetError, match="empty folder"):
        Flickr1024(tmp_path, "Validation")


@pytest.mark.parametrize("year, folders", [(2012, ("colored_0", "colored_1")), (2015, ("image_2", "image_3"))])
def test_kitti_layouts_and_frames(tmp_path, png, year, folders):
    for name in ("000001_10", "000001_11", "000000_10"):
        for folder in folders:
            png(tmp_path / "training" / folder / f"{name}.png")
    data = KITTIStereo(tmp_path, year=year)
    assert [r.name for r in data.records] == ["000000_10", "000001_10"]
    assert len(KITTIStereo(tmp_path, year=year, frames=("10", "11"))) == 3
    assert data[1]["paths"]["gt_r"].endswith(f"{folders[1]}/000001_10.png")


def test_kitti_missing_partner(tmp_path, png):
    png(tmp_path / "training" / "image_2" / "000000_10.png")
    png(tmp_path / "training" / "image_3" / "000001_10.png")
    with pytest.raises(DatasetError, match="missing partner"):
        KITTIStereo(tmp_path, year=2015)


def test_middlebury_both_generations_and_disparity(tmp_path, png):
    png(tmp_path / "Adirondack" / "im0.png")
    png(tmp_path / "Adirondack" / "im1.png")
    values = np.full((8, 12), 4.0, dtype="<f4")
    with open(tmp_path / "Adirondack" / "disp0.pfm", "wb") as handle:
        handle.write(b"Pf\n12 8\n-1.0\n" + values.tobytes())
    png(tmp_path / "Art" / "view1.png")
    png(tmp_path / "Art" / "view5.png")
    data = Middlebury(tmp_path)
    assert [r.name for r in data.records] == ["Adirondack", "Art"]
    assert data[1]["paths"]["gt_r"].endswith("view5.png")
    with pytest.raises(DatasetError, match="disp1.png"):
        Middlebury(tmp_path, with_disparity=True)
    (tmp_path / "Art" / "view5.png").unlink()
    with pytest.raises(DatasetError, match="view5.png"):
        Middlebury(tmp_path)


def test_middlebury_reads_disparity(tmp_path, png):
    png(tmp_path / "A" / "im0.png")
    png(tmp_path / "A" / "im1.png")
    with open(tmp_path / "A" / "disp0.pfm", "wb") as handle:
        handle.write(b"Pf\n12 8\n-1.0\n" + np.full((8, 12), 4.5, dtype="<f4").tobytes())
    sample = Middlebury(tmp_path, with_disparity=True)[0]
    assert sample["disp_l"].shape == (8, 12) and float(sample["disp_l"][3, 3]) == 4.5


def test_stereo_sr_folders(tmp_path, png):
    for scene in ("10", "2"):
        for name in ("hr0", "hr1", "lr0", "lr1"):
            png(tmp_path / scene / f"{name}.png")
    data = StereoSRFolders(tmp_path)
    assert [r.name for r in data.records] == ["2", "10"]
    (tmp_path / "2" / "hr1.png").unlink()
    with pytest.raises(DatasetError, match="hr1.png"):
        StereoSRFolders(tmp_path)


def _interleaved(folder, png, count):
    for kind in ("low", "gt"):
        for i in range(count):
            png(folder / kind / f"img_{i:03d}.png", seed=i + (100 if kind == "gt" else 0))


def test_sufrinnet_interleaved_even_left_odd_right(tmp_path, png):
    _interleaved(tmp_path / "train", png, 4)
    data = SufrinNetFolders(tmp_path, "train")
    assert len(data) == 2
    sample = data[1]
    assert sample["paths"]["lq_l"].endswith("low/img_002.png") and sample["paths"]["lq_r"].endswith("low/img_003.png")
    assert sample["paths"]["gt_r"].endswith("gt/img_003.png")
    assert set(sample) >= {"lq_l", "lq_r", "gt_l", "gt_r"}


def test_sufrinnet_test_subsets_are_labelled(tmp_path, png):
    _interleaved(tmp_path / "test" / "KITTI2012", png, 2)
    _interleaved(tmp_path / "test" / "Flickr1024", png, 4)
    data = SufrinNetFolders(tmp_path, "test")
    assert [r.label for r in data.records] == ["Flickr1024", "Flickr1024", "KITTI2012"]
    assert data[2]["subset"] == "KITTI2012"
    assert len(SufrinNetFolders(tmp_path, "test", subset="KITTI2012")) == 1


def test_sufrinnet_odd_and_unequal_counts(tmp_path, png):
    _interleaved(tmp_path / "train", png, 3)
    with pytest.raises(DatasetError) as info:
        SufrinNetFolders(tmp_path, "train")
    assert "low" in str(info.value) and "3 files" in str(info.value)
    png(tmp_path / "train" / "gt" / "img_100.png")
    with pytest.raises(DatasetError) as info:
        SufrinNetFolders(tmp_path, "train")
    assert "3 and 4" in str(info.value)


def test_stereo_rain_folders_numeric_order(tmp_path, png):
    folders = ("left_input", "left_target", "right_input", "right_target")
    for name in ("10", "9", "100"):
        for folder in folders:
            png(tmp_path / "testing" / folder / f"{name}.png")
    data = StereoRainFolders(tmp_path, "testing")
    assert [r.name for r in data.records] == ["9", "10", "100"]
    assert data[0]["paths"]["lq_r"].endswith("right_input/9.png")
    (tmp_path / "testing" / "right_target" / "100.png").unlink()
    with pytest.raises(DatasetError, match="right_target: 2"):
        StereoRainFolders(tmp_path, "testing")
    (tmp_path / "testing" / "right_target" / "99.png").write_bytes(
        (tmp_path / "testing" / "left_input" / "9.png").read_bytes()
    )
    with pytest.raises(DatasetError, match="100.png"):
        StereoRainFolders(tmp_path, "testing")


def test_stereo_paired_folders(tmp_path, png):
    for folder in ("a", "b", "c", "d"):
        png(tmp_path / folder / "x.png")
    sample = StereoPairedFolders(*(tmp_path / f for f in "abcd"))[0]
    assert sample["paths"]["gt_r"].endswith("d/x.png")


def test_lol_v1_and_v2(tmp_path, png):
    for name in ("1", "2"):
        png(tmp_path / "v1" / "our485" / "low" / f"{name}.png")
        png(tmp_path / "v1" / "our485" / "high" / f"{name}.png")
    sample = LOL(tmp_path / "v1", "v1", "train")[1]
    assert set(sample) >= {"lq", "gt"} and sample["paths"]["gt"].endswith("high/2.png")
    png(tmp_path / "v2" / "Test" / "Low" / "low00007.png")
    png(tmp_path / "v2" / "Test" / "Normal" / "normal00007.png")
    sample = LOL(tmp_path / "v2", "v2-real", "test")[0]
    assert sample["paths"]["gt"].endswith("normal00007.png")


def test_lsrw_and_paired_folder_matching(tmp_path, png):
    png(tmp_path / "Nikon" / "low" / "a.png")
    png(tmp_path / "Nikon" / "high" / "a.png")
    assert len(LSRW(tmp_path, "Nikon")) == 1
    png(tmp_path / "lq" / "x1.png")
    png(tmp_path / "lq" / "x2.png")
    png(tmp_path / "gt" / "y1.png")
    with pytest.raises(DatasetError) as info:
        PairedFolder(tmp_path / "lq", tmp_path / "gt", match="number")
    assert f"{tmp_path / 'lq'}: 2" in str(info.value) and f"{tmp_path / 'gt'}: 1" in str(info.value)
    with pytest.raises(DatasetError) as info:
        PairedFolder(tmp_path / "lq", tmp_path / "gt", match="sorted")
    assert "2 and 1" in str(info.value)
    png(tmp_path / "gt" / "y2.png")
    with pytest.raises(DatasetError, match="missing partner"):
        PairedFolder(tmp_path / "lq", tmp_path / "gt")
    data = PairedFolder(tmp_path / "lq", tmp_path / "gt", match="number")
    assert data[1]["paths"]["gt"].endswith("y2.png")
