import json

import pytest
import torch

from lowlevel_vision.cli import main
from lowlevel_vision.io import read_image


def test_restore_writes_two_pngs_of_input_size(tmp_path, png):
    left = png(tmp_path / "in" / "left.png", 20, 30, seed=1)
    png(tmp_path / "in" / "right.png", 20, 30, seed=2)
    main(
        [
            "restore",
            "--model",
            "Input",
            "--left",
            str(tmp_path / "in" / "left.png"),
            "--right",
            str(tmp_path / "in" / "right.png"),
            "--out",
            str(tmp_path / "out"),
            "--tile",
            "8",
            "0",
            "--overlap",
            "2",
        ]
    )
    out = read_image(tmp_path / "out" / "left.png")
    assert out.shape == (3, 20, 30) and torch.equal(out, left.float() / 255)
    assert (tmp_path / "out" / "right.png").is_file()


def test_restore_missing_input_fails_before_writing(tmp_path, png):
    png(tmp_path / "left.png")
    with pytest.raises(SystemExit, match="nope.png"):
        main(
            [
                "restore",
                "--model",
                "Input",
                "--left",
                str(tmp_path / "left.png"),
                "--right",
                str(tmp_path / "nope.png"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert not (tmp_path / "out").exists()


def test_restore_refuses_to_overwrite(tmp_path, png):
    png(tmp_path / "x.png", value=10)
    png(tmp_path / "y.png", value=10)
    (tmp_path / "out").mkdir()
    png(tmp_path / "out" / "x.png", value=200)
    arguments = [
        "restore",
        "--model",
        "Input",
        "--left",
        str(tmp_path / "x.png"),
        "--right",
        str(tmp_path / "y.png"),
        "--out",
        str(tmp_path / "out"),
    ]
    with pytest.raises(SystemExit, match="exists"):
        main(arguments)
    assert read_image(tmp_path / "out" / "x.png").max() == pytest.approx(200 / 255)
    main([*arguments, "--overwrite"])
    assert read_image(tmp_path / "out" / "x.png").max() == pytest.approx(10 / 255)


def test_train_then_evaluate_and_restore_with_checkpoint(tmp_path, png, capsys):
    run = tmp_path / "run"
    args = '{"width": 4, "enc_blocks": [1, 1], "middle_blocks": 1, "dec_blocks": [1, 1]}'
    main(
        [
            "train",
            "Monocular",
            "--data",
            "synthetic:rain",
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--crop",
            "16",
            "32",
            "--out",
            str(run),
            "--model-args",
            args,
            "--quiet",
        ]
    )
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file()
    capsys.readouterr()
    main(
        [
            "evaluate",
            "Monocular",
            "--checkpoint",
            str(run / "last.pt"),
            "--data",
            "synthetic:rain",
            "--out",
            str(tmp_path / "m.json"),
        ]
    )
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"psnr_l", "ssim_r", "psnr_avg"} <= set(metrics) and metrics["protocol"] == "rgb"
    png(tmp_path / "l.png", 12, 20)
    png(tmp_path / "r.png", 12, 20, seed=3)
    main(
        [
            "restore",
            "--model",
            "Monocular",
            "--checkpoint",
            str(run / "last.pt"),
            "--left",
            str(tmp_path / "l.png"),
            "--right",
            str(tmp_path / "r.png"),
            "--out",
            str(tmp_path / "restored"),
        ]
    )
    assert read_image(tmp_path / "restored" / "l.png").shape == (3, 12, 20)


def test_stereo_model_refuses_a_single_input(tmp_path, png):
    png(tmp_path / "x.png")
    with pytest.raises(SystemExit, match="stereo model"):
        main(["restore", "--model", "Input", "--input", str(tmp_path / "x.png"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_bad_data_spec_is_explained():
    with pytest.raises(ValueError, match="KIND:ARGUMENT"):
        main(["train", "Monocular", "--data", "flickr", "--out", "/tmp/unused", "--steps", "1"])
