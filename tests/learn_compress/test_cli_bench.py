"""The console script (train / evaluate) and the benchmark rows of the foundation."""

import argparse
import json
import os
import subprocess
import sys
from functools import partial

import pytest

from lab_common import load_checkpoint, run_suite, validate_results
from learn_compress import bench
from learn_compress.cli import main, parse_model_args
from learn_compress.trainer import TrainConfig


def test_train_then_evaluate_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--data", "synthetic:100", "--quiet", "--seed", "3"]
    main(
        ["train", "--model", "small_cnn", "--model-arg", "width=4", "--epochs", "2", "--batch-size", "25"]
        + ["--milestones", "2", "--out", str(out), *common]
    )
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2] and history[-1] == last
    assert history[1]["lr"] == pytest.approx(0.01)  # x0.1 from milestone epoch 2
    main(["evaluate", "--checkpoint", str(out / "last.pt"), *common])
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["top1"] == pytest.approx(last["test_top1"]) and metrics["n"] == 100
    assert metrics["normalization"] == "cifar10" and len(metrics["per_class"]) == 10


def test_parse_model_args():
    assert parse_model_args(["width=0.5", "num_classes=100", "name=abc"]) == {
        "width": 0.5,
        "num_classes": 100,
        "name": "abc",
    }
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        parse_model_args(["width"])


def test_quick_suite_rows(tmp_path, monkeypatch):
    monkeypatch.setitem(bench.SYNTHETIC_RECIPES, "quick", TrainConfig(epochs=1, batch_size=50, schedule="constant"))
    monkeypatch.setattr(bench, "run_synthetic", partial(bench.run_synthetic, n_train=100, n_test=100))
    cases = [c for c in bench.build_cases(argparse.Namespace(suite="quick")) if c.method == "FP"]
    assert [(c.method, c.dataset, list(c.requires)) for c in cases] == [
        ("FP", "cifar10", ["cifar10"]),
        ("FP", "synthetic", []),
    ]
    results = run_suite("learn-compress", "quick", cases, tmp_path / "out", data_root=tmp_path)
    assert validate_results(results) == []
    cifar, synthetic = results["records"]
    assert cifar["status"] == "skipped" and "cifar10" in cifar["reason"]
    assert synthetic["status"] == "ok" and 0.0 <= synthetic["metrics"]["top1"] <= 100.0
    assert synthetic["cost"]["params"] > 0 and synthetic["config"]["train_images"] == 100
    assert "## synthetic" in (tmp_path / "out" / "results.md").read_text()


def test_paper_suite_lists_three_pretrained_networks():
    cases = bench.build_cases(argparse.Namespace(suite="paper"))
    assert [c.method for c in cases if c.method.startswith("FP") and c.dataset == "cifar10"] == [
        "FP",
        "FP-ResNet-32",
        "FP-ResNet-56",
    ]


def test_quick_suite_has_adasg_rows_at_both_bit_widths():
    cases = bench.build_cases(argparse.Namespace(suite="quick"))
    names = [c.method for c in cases]
    for tag in ("W4A4", "W3A3"):
        assert {f"AdaSG-{tag}", f"GDFQ-{tag}", f"MinMax-{tag}"} <= set(names)
        adasg = next(c for c in cases if c.method == f"AdaSG-{tag}")
        assert adasg.baseline == f"GDFQ-{tag}" and adasg.requires == ["cifar10"]


@pytest.mark.slow
def test_train_runs_under_torchrun(tmp_path):
    """Two gloo processes on the CPU: one history, written once by rank 0."""
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "learn_compress.cli"]
    command += ["train", "--model", "small_cnn", "--model-arg", "width=4", "--data", "synthetic:200", "--epochs", "2"]
    command += ["--batch-size", "25", "--out", str(out), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2] and (out / "last.pt").is_file()


@pytest.mark.parametrize("method", ["adasg", "minmax"])
def test_quantize_a_trained_checkpoint(tmp_path, capsys, method):
    fp = tmp_path / "fp"
    data = ["--data", "synthetic:60", "--quiet"]
    main(["train", "--model", "small_cnn", "--model-arg", "width=4", "--epochs", "1", "--out", str(fp), *data])
    out = tmp_path / method
    game = ["--recipe", "cpu", "--epochs", "2", "--iters-per-epoch", "2", "--ema-mode", "standard"]
    main(
        ["quantize", method, "--checkpoint", str(fp / "last.pt"), "--wbits", "4", "--abits", "4"]
        + ["--test-data", "synthetic:60", "--out", str(out), "--quiet", *(game if method == "adasg" else [])]
    )
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = json.loads((out / "history.json").read_text())
    assert history[-1] == last and 0.0 <= last["test_top1"] <= 100.0
    assert len(history) == (2 if method == "adasg" else 1)
    quantized = load_checkpoint(out / "quantized.pt")
    assert quantized["config"]["wbits"] == 4 and any(k.endswith("x_max") for k in quantized["state"]["model"])
    assert (out / "last.pt").is_file() == (method == "adasg")


def test_lipread_command_trains_and_reports_both_test_splits(tmp_path, capsys):
    out = tmp_path / "lip"
    main(["lipread", "--model", "LipFormer", "--steps", "2", "--epochs", "1", "--out", str(out), "--quiet"])
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(metrics) == {"seen", "unseen"} and all(0.0 <= m["cer"] for m in metrics.values())
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert load_checkpoint(out / "last.pt")["state"] and (out / "corpus").is_dir()


def test_depression_command_writes_checkpoint_and_branch_metrics(tmp_path, capsys):
    out = tmp_path / "toat"
    main(["depression", "--variant", "TOAT-Text", "--epochs", "1", "--out", str(out), "--quiet"])
    assert "TOAT-Text dev (last epoch)" in capsys.readouterr().out
    written = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= written["last"]["fused"]["f1"] <= 1.0 and len(written["history"]) == 1
    assert load_checkpoint(out / "last.pt")["meta"]["variant"] == "TOAT-Text"


def test_distill_command_records_mode_share_and_both_networks(tmp_path, capsys):
    out = tmp_path / "sw"
    nets = ["--teacher", "small_cnn", "--teacher-arg", "width=4", "--student", "small_cnn", "--student-arg", "width=2"]
    main(
        ["distill", "switokd", *nets, "--data", "synthetic:60", "--epochs", "2", "--batch-size", "20"]
        + ["--out", str(out), "--quiet"]
    )
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = json.loads((out / "history.json").read_text())
    assert len(history) == 2 and history[-1] == last
    assert 0.0 <= last["expert_ratio"] <= 1.0
    assert {"teacher_test_top1", "student_test_top1", "gap", "delta"} <= set(last)
    assert (out / "last.pt").is_file()
