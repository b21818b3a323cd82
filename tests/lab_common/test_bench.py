import json

import pytest
import torch

from lab_common import BenchCase, CaseResult, bench_main, render_markdown, run_suite, timed, validate_results
from lab_common.bench import count_parameters, peak_memory_mb, reset_peak_memory


def _good(ctx):
    model = torch.nn.Linear(10, 2)
    with timed() as train:
        model(torch.randn(8, 10)).sum().backward()
    return CaseResult(
        metrics={"top1": 0.75},
        train_s=train["seconds"],
        params=count_parameters(model),
        throughput=1000.0,
        throughput_unit="images/s",
        config={"epochs": 1},
    )


def _baseline(ctx):
    return CaseResult(metrics={"top1": 0.5}, train_s=1.0, params=3, throughput=10.0, throughput_unit="images/s")


def _broken(ctx):
    raise RuntimeError("exploded on purpose")


def _cases(seen=None):
    return [
        BenchCase("Base", "synthetic", _baseline, role="baseline"),
        BenchCase("Good", "synthetic", _good, baseline="Base"),
        BenchCase("Broken", "synthetic", _broken, baseline="Base"),
        BenchCase("Good", "cifar10", _good, baseline="Base", requires=["cifar10"]),
    ]


def test_suite_records_ok_failed_and_skipped_and_writes_valid_files(tmp_path):
    results = run_suite("lab-common", "quick", _cases(), tmp_path, seed=3, data_root=None)
    by_key = {(r["method"], r["dataset"]): r for r in results["records"]}
    assert by_key[("Good", "synthetic")]["status"] == "ok"
    assert by_key[("Good", "synthetic")]["cost"]["params"] == 22
    assert by_key[("Good", "synthetic")]["config"] == {"epochs": 1}
    assert by_key[("Broken", "synthetic")]["status"] == "failed"
    assert "exploded on purpose" in by_key[("Broken", "synthetic")]["error"]
    skipped = by_key[("Good", "cifar10")]
    assert skipped["status"] == "skipped" and "cifar10" in skipped["reason"] and "LAB_DATA_ROOT" in skipped["reason"]
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert validate_results(on_disk) == []
    assert on_disk["seed"] == 3 and on_disk["package"] == "lab-common"
    assert set(on_disk["versions"]) >= {"python", "torch", "lab-common"}
    table = (tmp_path / "results.md").read_text()
    assert "| Good | method (vs Base) | 0.7500 |" in table
    assert "Broken | synthetic | failed | RuntimeError: exploded on purpose" in table
    assert "Good | cifar10 | skipped" in table


def test_dataset_present_under_data_root_runs(tmp_path):
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    results = run_suite(
        "lab-common", "quick", _cases(), tmp_path / "out", data_root=tmp_path / "data", only=["cifar10"]
    )
    assert [(r["method"], r["dataset"], r["status"]) for r in results["records"]] == [("Good", "cifar10", "ok")]


def test_only_keeps_the_baseline_a_method_names(tmp_path):
    results = run_suite("lab-common", "quick", _cases(), tmp_path, only=["Good"])
    assert [(r["method"], r["dataset"]) for r in results["records"]] == [
        ("Base", "synthetic"),
        ("Good", "synthetic"),
        ("Good", "cifar10"),
    ]
    with pytest.raises(ValueError, match="matches no case; known: Base, Broken"):
        run_suite("lab-common", "quick", _cases(), tmp_path, only=["Nope"])


def test_same_seed_for_every_case(tmp_path):
    drawn = []

    def draw(ctx):
        drawn.append(torch.rand(1).item())
        return CaseResult(metrics={})

    run_suite("lab-common", "quick", [BenchCase("A", "d", draw), BenchCase("B", "d", draw)], tmp_path, seed=11)
    assert drawn[0] == drawn[1]


def test_a_case_may_report_its_own_peak_memory(tmp_path):
    """A case that measured its peak elsewhere (a child process) overrides the runner's high-water mark."""

    def child_measured(ctx):
        return CaseResult(metrics={}, peak_mem_mb=12345.0)

    results = run_suite("lab-common", "quick", [BenchCase("A", "d", child_measured)], tmp_path)
    assert results["records"][0]["cost"]["peak_mem_mb"] == 12345.0


def test_validate_results_finds_schema_violations():
    bad = {
        "package": "x",
        "suite": "quick",
        "created": "yesterday",
        "seed": "0",
        "versions": {},
        "machine": {},
        "records": [
            {
                "method": "A",
                "role": "teacher",
                "dataset": "d",
                "status": "skipped",
                "metrics": {"Recall@20": "high"},
                "cost": {},
                "config": {},
            }
        ],
    }
    problems = " ".join(validate_results(bad))
    for expected in (
        "'seed' must be int",
        "not ISO-8601",
        "'role' must be one of",
        "needs a 'reason'",
        "'Recall@20' must be lower case",
        "must be a number",
    ):
        assert expected in problems


def test_peak_memory_sees_a_large_allocation():
    device = torch.device("cpu")
    reset_peak_memory(device)
    before = peak_memory_mb(device)
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    after = peak_memory_mb(device)
    del block
    assert after - before > 40


def test_bench_main_with_no_cases_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LAB_DATA_ROOT", str(tmp_path))
    results = bench_main("lab-common", lambda args: [], ["--out", str(tmp_path / "o"), "--quiet"])
    assert results["records"] == []
    assert "no method is registered" in capsys.readouterr().out
    assert "no method is registered" in render_markdown(results)
