import numpy as np
import pytest
import torch
from torchvision.io import encode_jpeg

from lowlevel_vision.io import DatasetError, read_disparity, read_image, read_stereo_pair, write_png


def test_rgb_png_is_float_in_unit_range(tmp_path, png):
    pixels = png(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert image.dtype == torch.float32 and image.shape == (3, 8, 12)
    assert torch.equal(image, pixels.float() / 255)


def test_grayscale_is_repeated_and_alpha_dropped(tmp_path, png):
    gray = png(tmp_path / "g.png", channels=1)
    image = read_image(tmp_path / "g.png")
    assert image.shape == (3, 8, 12) and torch.equal(image[0], image[2]) and torch.equal(image[1], gray[0] / 255)
    rgba = png(tmp_path / "rgba.png", channels=4)
    assert torch.equal(read_image(tmp_path / "rgba.png"), rgba[:3].float() / 255)


def test_jpeg_is_read(tmp_path):
    data = encode_jpeg(torch.full((3, 16, 16), 128, dtype=torch.uint8))
    (tmp_path / "a.jpg").write_bytes(bytes(data.numpy()))
    assert read_image(tmp_path / "a.jpg").shape == (3, 16, 16)


def test_16bit_png_is_refused_as_image_but_read_as_disparity(tmp_path, png16):
    png16(tmp_path / "d.png", np.array([[0, 256, 512 + 128]]))
    with pytest.raises(DatasetError, match="8-bit") as info:
        read_image(tmp_path / "d.png")
    assert "d.png" in str(info.value)
    disp = read_disparity(tmp_path / "d.png")
    assert torch.isnan(disp[0, 0]) and disp[0, 1] == 1.0 and disp[0, 2] == 2.5


@pytest.mark.parametrize(
    "content, found", [(b"GIF89a....", "474946"), (b"", "empty"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "corrupt")]
)
def test_not_an_image_or_corrupt_raises_naming_file(tmp_path, content, found):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(DatasetError) as info:
        read_image(path)
    assert str(path) in str(info.value) and found in str(info.value)


def test_missing_file_raises(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_pair_of_different_sizes_names_both(tmp_path, png):
    png(tmp_path / "l.png", 8, 12)
    png(tmp_path / "r.png", 8, 10)
    with pytest.raises(DatasetError) as info:
        read_stereo_pair(tmp_path / "l.png", tmp_path / "r.png")
    message = str(info.value)
    assert "l.png 8x12" in message and "r.png 8x10" in message


def test_pfm_and_npz_disparity(tmp_path):
    array = np.array([[1.0, 2.0], [3.0, np.inf]], dtype="<f4")
    with open(tmp_path / "d.pfm", "wb") as handle:
        handle.write(b"Pf\n2 2\n-1.0\n" + array[::-1].tobytes())
    disp = read_disparity(tmp_path / "d.pfm")
    assert disp[0, 0] == 1.0 and disp[1, 0] == 3.0 and torch.isnan(disp[1, 1])
    np.savez(tmp_path / "d.npz", array)
    assert read_disparity(tmp_path / "d.npz")[0, 1] == 2.0


def test_write_png_rounds_and_refuses_overwrite(tmp_path):
    image = torch.tensor([0.0, 0.5, 1.2, 0.2 / 255]).view(1, 1, 4).expand(3, 1, 4)
    path = write_png(image, tmp_path / "sub" / "o.png")
    assert torch.equal(read_image(path)[0, 0] * 255, torch.tensor([0.0, 128.0, 255.0, 0.0]))
    with pytest.raises(FileExistsError):
        write_png(image, path)
    write_png(image * 0, path, overwrite=True)
    assert read_image(path).max() == 0
