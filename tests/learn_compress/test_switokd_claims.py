"""The claims of switokd.md section 4 on the specification's CPU recipe, seed 0 (slow: run on demand).

Recipe (``benchmarks/switokd.py``, suite ``claims``): WRN-16-2 teacher / WRN-16-1 student,
2,000 / 2,000 images, batch 64, SGD 0.1 momentum 0.9 wd 5e-4, 20 epochs with lr x0.1 at 12 and 17,
tau 1. Thresholds of the spec's slow tests: SwitOKD student >= independent student, >= DML - 0.5,
expert-mode share strictly inside (0, 1), SwitOKD teacher within 2 points of the independent one.
The student claims (1, 2) are not reproduced at this scale and are marked ``xfail`` with the numbers.
Each test trains Independent, DML and SwitOKD: on CUDA when available (a few minutes), otherwise on
the CPU (about an hour per test on 2 quiet cores: three runs of 20 WRN epochs).
"""

import functools
from pathlib import Path

import pytest
import torch

from lab_common import BenchContext
from learn_compress.benchmarks import switokd as bench

NOT_REPRODUCED = (
    "not reproduced (docs/learn-compress.md, SwitOKD): this recipe on an H200, seeds 0-2, student top-1 "
    "synthetic SwitOKD 88.23 / DML 88.37 / Independent 87.45; CIFAR-10 2k subset 46.87 / 47.05 / 47.18 with no "
    "expert-mode batch"
)


@functools.cache
def claims(dataset: str, data_root: Path | None):
    """SwitOKD's row of the ``claims`` suite (it trains Independent and DML of the same seed too)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ctx = BenchContext(suite="claims", seed=0, device=device, data_root=data_root, out_dir=Path("unused"))
    return bench.run_case(ctx, "SwitOKD", dataset)


def expert_share(result) -> float:
    return sum(result.config["expert_ratio_per_epoch"][0]) / len(result.config["expert_ratio_per_epoch"][0])


@pytest.mark.slow
def test_switch_fires_and_teacher_keeps_its_accuracy_on_synthetic():
    """Claims 3 and 4: the switch is exercised, the teacher stays within 2 points of its independent self."""
    result = claims("synthetic", None)
    assert 0.0 < expert_share(result) < 1.0, result.config["expert_ratio_per_epoch"]
    assert abs(result.metrics["teacher_vs_independent"]) <= 2.0, result.metrics


@pytest.mark.slow
def test_teacher_keeps_its_accuracy_on_cifar10_subset(cifar10_root):
    result = claims("cifar10", cifar10_root.parent)
    assert abs(result.metrics["teacher_vs_independent"]) <= 2.0, result.metrics


@pytest.mark.slow
@pytest.mark.xfail(reason=NOT_REPRODUCED, strict=False)
@pytest.mark.parametrize("dataset", ["synthetic", "cifar10"])
def test_student_beats_independent_and_matches_dml(dataset, request):
    """Claims 1 and 2 (thresholds of the specification's slow tests), and the switch on CIFAR-10."""
    result = claims(dataset, request.getfixturevalue("cifar10_root").parent if dataset == "cifar10" else None)
    assert result.metrics["gain_vs_independent"] >= 0.0, result.metrics
    assert result.metrics["gain_vs_dml"] >= -0.5, result.metrics
    assert 0.0 < expert_share(result) < 1.0, result.config["expert_ratio_per_epoch"]
