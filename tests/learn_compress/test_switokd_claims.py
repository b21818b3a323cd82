"""The claims of switokd.md section 4 at the quick-suite scale, mean of seeds 0-2 (slow: minutes each).

Same recipe as the quick benchmark rows (small_cnn width 32 teacher, width 8 student, 2,000/2,000
images, 8 epochs, lr x0.1 at 5 and 7); thresholds of the spec's slow tests: SwitOKD student >=
independent student, >= DML - 0.5, expert share strictly inside (0, 1), teacher within 2 points.
"""

from pathlib import Path

import pytest
import torch

from lab_common import BenchContext
from learn_compress.benchmarks import switokd as bench


def claims(dataset: str, data_root: Path | None, tmp_path: Path) -> dict:
    ctx = BenchContext(suite="claims", seed=0, device=torch.device("cpu"), data_root=data_root, out_dir=tmp_path)
    return bench.run_case(ctx, "SwitOKD", dataset)


def check(result) -> None:
    m = result.metrics
    assert m["gain_vs_independent"] >= 0.0, m
    assert m["gain_vs_dml"] >= -0.5, m
    assert all(0.0 < r < 1.0 for r in (sum(e) / len(e) for e in result.config["expert_ratio_per_epoch"])), result.config
    assert abs(m["teacher_vs_independent"]) <= 2.0, m


@pytest.mark.slow
def test_switokd_claims_on_synthetic(tmp_path):
    check(claims("synthetic", None, tmp_path))


@pytest.mark.slow
def test_switokd_claims_on_cifar10_subset(tmp_path, cifar10_root):
    check(claims("cifar10", cifar10_root.parent, tmp_path))
