"""Benchmark suite of learn-compress: ``python -m learn_compress.bench --suite quick --out DIR``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`).

Rows of the foundation (the methods add theirs):

- ``FP`` on ``cifar10`` (needs ``cifar10/`` under the data root): full-precision
  top-1/top-5 of the pretrained akamaster ResNet-20 on ``test.npz`` with the
  ImageNet normalisation it was trained with; the reference every quantized
  row is compared with. The paper suite adds ResNet-32 and ResNet-56.
- ``FP`` on ``synthetic``: the small CNN trained briefly on the synthetic
  images (2,000 train / 2,000 test), the reference of rows run without real data.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from lab_common import BenchCase, BenchContext, CaseResult, bench_main, count_parameters, timed

from .benchmarks import adasg, lipformer, switokd, toat
from .data import CifarDataset, load_cifar_npz, make_synthetic_images
from .evaluation import evaluate
from .models import build_model, load_akamaster
from .trainer import ClassifierTrainer, TrainConfig

PACKAGE = "learn-compress"

SYNTHETIC_RECIPES = {
    "quick": TrainConfig(epochs=8, batch_size=64, lr=0.05, schedule="cosine", milestones=()),
    "paper": TrainConfig(epochs=20, batch_size=64, lr=0.1, schedule="step", milestones=(12, 17)),
}


def find_akamaster(folder: Path, depth: int) -> Path:
    """The checkpoint ``resnet{depth}-*.th`` in ``folder`` (the shared ``cifar10/`` layout)."""
    matches = sorted(folder.glob(f"resnet{depth}-*.th"))
    if not matches:
        raise FileNotFoundError(f"no resnet{depth}-*.th checkpoint in {folder}")
    return matches[0]


def run_pretrained(ctx: BenchContext, depth: int) -> CaseResult:
    """Top-1/top-5 of the pretrained ResNet-``depth`` on ``cifar10/test.npz`` (ImageNet normalisation)."""
    folder = ctx.dataset_path("cifar10")
    checkpoint = find_akamaster(folder, depth)
    model, meta = load_akamaster(checkpoint)
    test = CifarDataset(load_cifar_npz(folder / "test.npz"), normalization=meta["normalization"])
    with timed() as t:
        metrics = evaluate(model.to(ctx.device), test, ctx.device, quiet=ctx.quiet)
    return CaseResult(
        metrics={"top1": metrics["top1"], "top5": metrics["top5"]},
        eval_s=t["seconds"],
        params=count_parameters(model),
        throughput=len(test) / t["seconds"],
        throughput_unit="images/s (eval)",
        config={
            "model": f"resnet{depth}",
            "checkpoint": checkpoint.name,
            "normalization": meta["normalization"],
            "test_images": len(test),
            "checkpoint_best_prec1": meta["best_prec1"],  # on the original (PNG) test set
        },
    )


def run_synthetic(ctx: BenchContext, config: TrainConfig, n_train: int = 2000, n_test: int = 2000) -> CaseResult:
    """Train the small CNN on synthetic images (seed of the suite), then report its test top-1/top-5."""
    config = dataclasses.replace(config, seed=ctx.seed)
    train = CifarDataset(make_synthetic_images(n_train, sample_seed=1), train=True)
    test = CifarDataset(make_synthetic_images(n_test, sample_seed=2))
    model = build_model("small_cnn")
    trainer = ClassifierTrainer(model, config, device=ctx.device, quiet=ctx.quiet)
    with timed() as t_train:
        history = trainer.fit(train)
    with timed() as t_eval:
        metrics = evaluate(model, test, ctx.device, quiet=ctx.quiet)
    return CaseResult(
        metrics={"top1": metrics["top1"], "top5": metrics["top5"], "train_top1": history[-1]["train_top1"]},
        train_s=t_train["seconds"],
        eval_s=t_eval["seconds"],
        params=count_parameters(model),
        throughput=config.epochs * len(train) / t_train["seconds"],
        throughput_unit="images/s (train)",
        config={"model": "small_cnn", "train_images": len(train), "test_images": len(test), **config.to_dict()},
    )


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    depths = (20,) if args.suite == "quick" else (20, 32, 56)
    cases = [
        BenchCase(
            method="FP" if depth == 20 else f"FP-ResNet-{depth}",
            dataset="cifar10",
            run=partial(run_pretrained, depth=depth),
            role="baseline",
            requires=["cifar10"],
            config={"model": f"resnet{depth}"},
        )
        for depth in depths
    ]
    cases.append(
        BenchCase(
            method="FP",
            dataset="synthetic",
            run=partial(run_synthetic, config=SYNTHETIC_RECIPES[args.suite]),
            role="baseline",
            config={"model": "small_cnn"},
        )
    )
    for method in (adasg, switokd, lipformer, toat):
        cases.extend(method.build_cases(args.suite))
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    bench_main(PACKAGE, build_cases, argv)


if __name__ == "__main__":
    main()
