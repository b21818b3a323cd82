import json
import os
from pathlib import Path

import pytest
import torch

from lab_common import BenchContext, bench_parser, validate_results
from lowlevel_vision import bench

DATA_ROOT = Path(os.environ.get("LAB_DATA_ROOT") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


@pytest.fixture
def tiny_suite(monkeypatch):
    tiny = {
        **bench.QUICK,
        "steps": 2,
        "batch_size": 2,
        "train_crop": (16, 32),
        "test_pairs": 2,
        "test_size": (16, 32),
        "sufrinnet_channels": 4,
        "sufrinnet_steps": 2,
        "mono_steps": 2,
        "mono_crop": (16, 16),
    }
    monkeypatch.setattr(bench, "QUICK", tiny)
    monkeypatch.setattr(bench, "_TRAINED", {})


def test_quick_suite_smoke_writes_tables_and_samples(tmp_path, tiny_suite):
    args = bench_parser(bench.PACKAGE).parse_args(
        ["--suite", "quick", "--out", str(tmp_path), "--only", "synthetic-stereo-rain", "--quiet"]
    )
    results = bench.run(args)
    assert validate_results(json.loads((tmp_path / "results.json").read_text())) == []
    rows = {r["method"]: r for r in results["records"]}
    assert {"Input", "Monocular"} <= set(rows) and all(r["status"] == "ok" for r in rows.values())
    assert not any(row.ablation and row.method in rows for row in bench.quick_rows())  # only with --ablations
    assert set(rows["Monocular"]["metrics"]) == {"psnr_l", "ssim_l", "psnr_r", "ssim_r", "psnr_avg", "ssim_avg"}
    assert rows["Monocular"]["cost"]["throughput"] > 0 and rows["Monocular"]["config"]["protocol"] == "rgb"
    assert rows["Input"]["cost"]["params"] == 0 and rows["Monocular"]["config"]["train_steps"] == 2
    markdown = (tmp_path / "results.md").read_text()
    assert "## Claims" in markdown and "synthetic-stereo-rain: Monocular above Input" in markdown
    samples = tmp_path / "samples" / "synthetic-stereo-rain"
    assert (samples / "0_Monocular_grid.png").is_file() and (samples / "1_input_R.png").is_file()


def test_middlebury_rows_skip_without_data(tmp_path, tiny_suite):
    args = bench_parser(bench.PACKAGE).parse_args(
        ["--suite", "quick", "--out", str(tmp_path), "--only", "middlebury-motorcycle-lowlight", "--quiet"]
    )
    args.data_root = str(tmp_path / "no-data")
    results = bench.run(args)
    assert {r["status"] for r in results["records"]} == {"skipped"}


@pytest.mark.skipif(
    not (DATA_ROOT / "middlebury-motorcycle").is_dir(), reason=f"no middlebury-motorcycle in {DATA_ROOT}"
)
def test_middlebury_pair_is_degraded_deterministically():
    data = bench.middlebury_test_set("rain", DATA_ROOT / "middlebury-motorcycle")
    a, b = data[0], data[0]
    assert a["lq_l"].shape == (3, 500, 741) and (a["lq_l"] >= a["gt_l"]).all()
    assert a["lq_l"].eq(b["lq_l"]).all() and not a["lq_l"].eq(a["gt_l"]).all()


def test_method_rows_train_beside_their_matched_baselines(tmp_path, tiny_suite):
    args = bench.parser().parse_args(
        ["--suite", "quick", "--out", str(tmp_path), "--quiet", "--ablations", "--only", "Input", "SufrinNet-c4"]
        + ["SufrinNet-c4-noCVI", "RLED-Net", "Oracle-exposure"]
    )
    args.data_root = str(tmp_path / "no-data")
    results = bench.run(args)
    ok = {(r["method"], r["dataset"]): r for r in results["records"] if r["status"] == "ok"}
    sufrin = ok[("SufrinNet-c4", "synthetic-stereo-lowlight")]
    mono = ok[(sufrin["baseline"], "synthetic-stereo-lowlight")]
    assert sufrin["role"] == "method" and sufrin["baseline"].startswith("Monocular-")
    assert sufrin["cost"]["params"] <= mono["cost"]["params"] and sufrin["config"]["train_steps"] == 2
    rled = ok[("RLED-Net", "synthetic-lowlight-noisy")]
    assert rled["cost"]["params"] == 760_373 and set(rled["metrics"]) == {"psnr", "ssim"}
    assert ok[(rled["baseline"], "synthetic-lowlight-noisy")]["cost"]["params"] == 813_324
    markdown = (tmp_path / "results.md").read_text()
    assert "synthetic-stereo-lowlight: SufrinNet-c4 above Input by >= 6.0 dB" in markdown
    assert "synthetic-lowlight-noisy: RLED-Net above Oracle-exposure by >= 1.0 dB" in markdown
    assert "synthetic-stereo-lowlight: SufrinNet-c4 is " in markdown and "-noCVI (reported" in markdown
    assert ok[("SufrinNet-c4-noCVI", "synthetic-stereo-lowlight")]["baseline"] == sufrin["baseline"]
    assert (tmp_path / "samples" / "synthetic-lowlight-noisy" / "0_RLED-Net_grid.png").is_file()


def test_oracle_exposure_matches_the_target_brightness():
    generator = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 3, 16, 16, generator=generator) * 0.5 + 0.3
    dark = gt.pow(3.0) * 0.5
    out = bench.OracleExposure()(dark, gt)
    assert (out.mean() - gt.mean()).abs() < 0.05 < (dark.mean() - gt.mean()).abs()
    assert torch.allclose(bench.OracleExposure()(gt, gt).mean(), gt.mean(), atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["Monocular", "StereoIRR", "SufrinNet", "RLED-Net"])
def test_tiled_2048_restore_stays_under_3gb(method, tmp_path):
    ctx = BenchContext(suite="paper", seed=0, device=torch.device("cpu"), data_root=None, out_dir=tmp_path)
    measured = bench.inference_case(method, 2048, tiled=True, ctx=ctx)
    assert measured.peak_mem_mb < 3 * 1024 and measured.metrics["under_3gb"] == 1.0


def test_inference_case_reports_throughput_and_memory_of_a_child_process(tmp_path):
    ctx = BenchContext(suite="paper", seed=0, device=torch.device("cpu"), data_root=None, out_dir=tmp_path)
    measured = bench.inference_case("Monocular", 64, tiled=False, ctx=ctx)
    assert measured.params == 363_585
    assert measured.config["views"] == 2 and measured.config["memory_method"].startswith("VmHWM")
    assert measured.throughput > 0 and 0 < measured.peak_mem_mb < 3 * 1024


def test_paper_suite_lists_the_inference_costs_of_every_method():
    cases = bench.build_cases(bench.parser().parse_args(["--suite", "paper", "--out", "x"]))
    assert {(c.method, c.dataset) for c in cases} == {
        (m, d) for m in bench.INFERENCE_MODELS for d in ("inference-512x512", "tiled-2048x2048")
    }


def test_paper_suite_runs_and_checks_the_tiled_memory_bound(tmp_path, monkeypatch):
    """The paper suite end to end on small sizes: inference rows only, no training claims, one memory claim
    per tiled row, the child's own peak memory in the cost."""
    monkeypatch.setattr(bench, "INFERENCE_MODELS", {"Monocular": bench.INFERENCE_MODELS["Monocular"]})
    monkeypatch.setattr(bench, "WHOLE_SIZE", 64)
    monkeypatch.setattr(bench, "TILED_SIZE", 96)
    results = bench.run(bench.parser().parse_args(["--suite", "paper", "--out", str(tmp_path), "--quiet"]))
    rows = {r["dataset"]: r for r in results["records"]}
    assert set(rows) == {"inference-64x64", "tiled-96x96"} and all(r["status"] == "ok" for r in rows.values())
    assert rows["tiled-96x96"]["metrics"] == {"under_3gb": 1.0} and rows["tiled-96x96"]["cost"]["peak_mem_mb"] > 0
    markdown = (tmp_path / "results.md").read_text()
    assert "- tiled-96x96: Monocular restores it tiled under 3 GiB peak memory" in markdown
    assert "above Input" not in markdown and "Test:" not in markdown  # the quick suite's notes stay out
