"""Benchmark rows of SwitOKD and its baselines (``switokd.md`` sections 1.5, 2 and 4).

Four rows per dataset, in this order, with the same data, data order,
augmentation, optimisers, schedule and seed: ``Independent`` (teacher and
student each alone), ``KD`` (offline, from the Independent row's teacher of
the same seed), ``DML`` and ``SwitOKD``. Metrics: ``top1`` = the student's best
test top-1 over epochs (the paper's protocol), ``top1_final`` its last-epoch
value, ``teacher_top1`` / ``teacher_top1_final`` the same for the teacher (the
fixed Independent teacher for KD), ``expert_ratio`` the share of expert-mode
batches over the run (per epoch in the record's config). The SwitOKD row adds
the claims of section 4: ``gain_vs_independent``, ``gain_vs_dml`` (student
top-1 points) and ``teacher_vs_independent`` (teacher points).

- ``quick`` (2 CPU cores, seed of the suite): a scaled-down pair, teacher
  ``small_cnn(width=16)`` (24 k parameters) and student ``small_cnn(width=8)``
  (6.4 k), 1,000 training and 1,000 test images (synthetic images with class
  overlap; on ``cifar10`` stratified subsets of ``train-20k.npz`` and
  ``test.npz`` with CIFAR-10 normalisation), batch 32, SGD 0.1 momentum 0.9
  wd 5e-4, 20 epochs with lr x0.1 at epochs 12 and 17 (the CPU recipe's
  schedule), tau 1. The pair, batch and data size were chosen on seed 0 of a
  *validation* split (synthetic ``sample_seed=3``; cifar10 images of
  ``train-20k.npz`` outside the training subset), never on the test split,
  for: independent training plateaus after the first decay, the switch
  fires (synthetic) and the eight rows fit about 4 minutes of 2 quiet cores. Wider
  teachers (``width=32``, batch 64) drag mutual learning into a collapse of
  both networks at this budget (an under-fitting regime; see the SwitOKD
  section of ``docs/learn-compress.md``).
- ``claims`` (the slow tests): seed 0 of the CPU recipe of section 2.
- ``paper``: seeds 0-2 (mean, and ``top1_std``); synthetic: the CPU recipe of
  section 2 (WRN-16-2 / WRN-16-1, 2,000 / 2,000 images, 20 epochs, lr x0.1 at
  12 and 17); cifar10: the published CIFAR-10 schedule (WRN-16-8 / WRN-16-1,
  batch 128, 299 epochs, lr x0.1 at 100, 150, 200) on the 20k training subset
  and the full test set (a GPU-scale run).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from lab_common import BenchCase, BenchContext, CaseResult, History, count_parameters, seed_everything, timed

from ..data import CifarDataset, load_cifar_npz, make_synthetic_images, stratified_subset
from ..distill import DML, KD, DistillConfig, Independent, SwitOKD
from ..distill.online import OnlineDistiller
from ..models import build_model
from ..trainer import TrainConfig

METHODS = ("Independent", "KD", "DML", "SwitOKD")


@dataclass
class Recipe:
    """Networks, data sizes, optimiser and schedule of one suite on one dataset."""

    teacher: tuple[str, dict[str, Any]]  # registered model name and its arguments
    student: tuple[str, dict[str, Any]]
    n_train: int | None  # None: the whole file
    n_test: int | None
    epochs: int
    milestones: tuple[int, ...]
    batch_size: int = 64
    lr: float = 0.1
    seeds: int = 1

    def describe(self) -> dict[str, Any]:
        return {
            "teacher": _model_name(self.teacher),
            "student": _model_name(self.student),
            "train_images": self.n_train or "all",
            "test_images": self.n_test or "all",
            "epochs": self.epochs,
            "milestones": list(self.milestones),
            "batch_size": self.batch_size,
            "optimizer": f"sgd lr {self.lr} momentum 0.9 wd 5e-4",
            "tau": 1.0,
            "seeds": self.seeds,
        }


# quick: chosen on a validation split (seed 0) before any test number of the comparison; see the module docstring
QUICK_RECIPE = {
    "teacher": ("small_cnn", {"width": 16}),
    "student": ("small_cnn", {"width": 8}),
    "n_train": 1000,
    "n_test": 1000,
    "epochs": 20,
    "milestones": (12, 17),
    "batch_size": 32,
}
# the CPU recipe of switokd.md section 2 (WRN-16-2 / WRN-16-1, 2,000 / 2,000 images, 20 epochs, x0.1 at 12 and 17)
CPU_RECIPE = {
    "teacher": ("wrn16_2", {}),
    "student": ("wrn16_1", {}),
    "n_train": 2000,
    "n_test": 2000,
    "epochs": 20,
    "milestones": (12, 17),
}
RECIPES = {
    ("quick", "synthetic"): Recipe(**QUICK_RECIPE),
    ("quick", "cifar10"): Recipe(**QUICK_RECIPE),
    # seed 0 of the CPU recipe: the claim checks of the slow tests (tests/learn_compress/test_switokd_claims.py)
    ("claims", "synthetic"): Recipe(**CPU_RECIPE),
    ("claims", "cifar10"): Recipe(**CPU_RECIPE),
    ("paper", "synthetic"): Recipe(**CPU_RECIPE, seeds=3),
    ("paper", "cifar10"): Recipe(
        ("wrn16_8", {}),
        ("wrn16_1", {}),
        n_train=None,
        n_test=None,
        epochs=299,
        milestones=(100, 150, 200),
        batch_size=128,
        seeds=3,
    ),
}


def _model_name(spec: tuple[str, dict[str, Any]]) -> str:
    name, kwargs = spec
    return name + "".join(f"({k}={v})" for k, v in kwargs.items())


def load_data(ctx: BenchContext, dataset: str, recipe: Recipe) -> tuple[CifarDataset, CifarDataset]:
    """Training (augmented) and test sets of ``dataset`` at the recipe's sizes."""
    if dataset == "synthetic":
        train, test = (
            make_synthetic_images(recipe.n_train, sample_seed=1),
            make_synthetic_images(recipe.n_test, sample_seed=2),
        )
    else:
        folder = ctx.dataset_path("cifar10")
        train, test = load_cifar_npz(folder / "train-20k.npz"), load_cifar_npz(folder / "test.npz")
        train = stratified_subset(train, recipe.n_train, seed=0) if recipe.n_train else train
        test = stratified_subset(test, recipe.n_test, seed=0) if recipe.n_test else test
    return CifarDataset(train, train=True, normalization="cifar10"), CifarDataset(test, normalization="cifar10")


@dataclass
class Run:
    """One training run of one method and seed."""

    seed: int
    history: History
    distiller: OnlineDistiller
    train_s: float
    images: int


_RUNS: dict[tuple, Run] = {}


def run_method(ctx: BenchContext, method: str, dataset: str, seed: int) -> Run:
    """Train ``method`` on ``dataset`` with ``seed`` (cached: KD reuses the Independent teacher, SwitOKD's
    claims read the Independent and DML rows of the same seed)."""
    key = (ctx.suite, dataset, method, seed, str(ctx.device), str(ctx.data_root))
    if key in _RUNS:
        return _RUNS[key]
    recipe = RECIPES[ctx.suite, dataset]
    train, test = load_data(ctx, dataset, recipe)
    config = DistillConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, seed=seed)
    optim = TrainConfig(lr=recipe.lr, momentum=0.9, weight_decay=5e-4, milestones=recipe.milestones)
    teacher_run = run_method(ctx, "Independent", dataset, seed) if method == "KD" else None
    seed_everything(seed)
    teacher = build_model(recipe.teacher[0], **recipe.teacher[1])
    student = build_model(recipe.student[0], **recipe.student[1])
    builders: dict[str, Callable[[], OnlineDistiller]] = {
        "Independent": lambda: Independent({"teacher": teacher, "student": student}, config, optim, ctx.device),
        "KD": lambda: KD(teacher_run.distiller.networks["teacher"], student, config, optim, ctx.device),
        "DML": lambda: DML(teacher, student, config, optim, ctx.device),
        "SwitOKD": lambda: SwitOKD(teacher, student, config, optim, ctx.device),
    }
    distiller = builders[method]()
    distiller.quiet = ctx.quiet
    with timed() as t:
        history = distiller.fit(train, test)
    _RUNS[key] = Run(seed, history, distiller, t["seconds"], recipe.epochs * len(train))
    return _RUNS[key]


def summarise(ctx: BenchContext, method: str, dataset: str, run: Run) -> dict[str, float]:
    """The row's metrics for one seed."""
    h = run.history
    metrics = {"top1": h.best("student_test_top1")["student_test_top1"], "top1_final": h[-1]["student_test_top1"]}
    teacher_h = run_method(ctx, "Independent", dataset, run.seed).history if method == "KD" else h
    metrics["teacher_top1"] = teacher_h.best("teacher_test_top1")["teacher_test_top1"]
    metrics["teacher_top1_final"] = teacher_h[-1]["teacher_test_top1"]
    if "expert_ratio" in h[-1]:
        metrics["expert_ratio"] = statistics.fmean(h.column("expert_ratio"))
    return metrics


def run_case(ctx: BenchContext, method: str, dataset: str) -> CaseResult:
    """Train ``method`` for each seed of the recipe and report mean metrics (and the claims for SwitOKD)."""
    recipe = RECIPES[ctx.suite, dataset]
    seeds = [ctx.seed + k for k in range(recipe.seeds)]
    runs = [run_method(ctx, method, dataset, seed) for seed in seeds]
    per_seed = [summarise(ctx, method, dataset, run) for run in runs]
    metrics = {k: statistics.fmean(m[k] for m in per_seed) for k in per_seed[0]}
    if len(seeds) > 1:
        metrics["top1_std"] = statistics.stdev(m["top1"] for m in per_seed)
    config = recipe.describe() | {"seed_list": seeds}
    if method == "SwitOKD":
        reference = {
            name: statistics.fmean(
                summarise(ctx, name, dataset, run_method(ctx, name, dataset, s))["top1"] for s in seeds
            )
            for name in ("Independent", "DML")
        }
        teacher_ind = statistics.fmean(
            summarise(ctx, "Independent", dataset, run_method(ctx, "Independent", dataset, s))["teacher_top1"]
            for s in seeds
        )
        metrics["gain_vs_independent"] = metrics["top1"] - reference["Independent"]
        metrics["gain_vs_dml"] = metrics["top1"] - reference["DML"]
        metrics["teacher_vs_independent"] = metrics["teacher_top1"] - teacher_ind
        config["expert_ratio_per_epoch"] = [[round(v, 3) for v in run.history.column("expert_ratio")] for run in runs]
        config["claims"] = {
            "student >= independent + 1": metrics["gain_vs_independent"] >= 1.0,
            "student >= dml": metrics["gain_vs_dml"] >= 0.0,
            "0 < expert ratio < 1": all(
                0.0 < r < 1.0 for r in (statistics.fmean(run.history.column("expert_ratio")) for run in runs)
            ),
            "teacher within 2 points of independent": abs(metrics["teacher_vs_independent"]) <= 2.0,
        }
    distiller = runs[0].distiller
    train_s = sum(run.train_s for run in runs)
    return CaseResult(
        metrics=metrics,
        train_s=train_s,
        params=sum(count_parameters(net) for net in distiller.networks.values()),
        throughput=sum(run.images for run in runs) / train_s,
        throughput_unit="images/s (train, all networks of the row)",
        config=config,
    )


def build_cases(suite: str) -> list[BenchCase]:
    """Independent, KD, DML and SwitOKD on ``synthetic`` and on ``cifar10`` (when the data root has it)."""
    cases = []
    for dataset in ("synthetic", "cifar10"):
        for method in METHODS:
            cases.append(
                BenchCase(
                    method=method,
                    dataset=dataset,
                    run=partial(run_case, method=method, dataset=dataset),
                    role="method" if method == "SwitOKD" else "baseline",
                    baseline="Independent" if method != "Independent" else None,
                    requires=["cifar10"] if dataset == "cifar10" else [],
                    config=RECIPES[suite, dataset].describe(),
                )
            )
    return cases
