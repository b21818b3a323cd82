"""Benchmark rows of AdaSG (``papers/adasg.md`` section 4) and its baselines GDFQ and MinMax.

On ``cifar10`` (the pretrained akamaster ResNet-20 and a stratified 2,000-image subset of
``test.npz``, as the specification's CPU scale): ``AdaSG``, ``GDFQ`` and ``MinMax`` (naive min-max
PTQ on Gaussian noise) at W4A4 and W3A3. AdaSG and GDFQ play games of equal length with the same
seed. Each row reports the best-over-epochs top-1 (the paper's protocol) and the final one, the
full-precision top-1 on the same subset and the gap to it; the game rows add the share of
generated samples inside the entropy band and the seconds per iteration, and the GDFQ rows the
cost ratio of an AdaSG iteration to a GDFQ one.

Budgets: ``quick`` plays 3 epochs of 30 iterations (one calibration epoch, two epochs of Q steps,
textbook EMA ranges since 30 iterations are too few for the release's inflated EMA): a short game sized
to the package's 15-minute suite. The specification's CPU recipe (8 x 100 iterations) is the slow
test ``test_adasg_claims_slow.py``; ``paper`` plays the published schedule (400 x 200 iterations, hours
per game: a GPU run).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from lab_common import BenchCase, BenchContext, CaseResult, count_parameters, timed

from ..data import CifarDataset, load_cifar_npz, stratified_subset
from ..evaluation import evaluate
from ..models import GDFQ, AdaSG, GameConfig, MinMax, load_akamaster

EVAL_IMAGES = 2000
BITS = ((4, 4), (3, 3))
GAMES = {"AdaSG": AdaSG, "GDFQ": GDFQ}
RECIPES = {
    "quick": dict(epochs=3, iters_per_epoch=30, calib_epochs=1, warmup_epochs=1, ema_mode="standard"),
    "paper": {},
}
_SECONDS_PER_ITER: dict[tuple[str, int, int], float] = {}
"""Seconds per iteration of each game run in this process, for the GDFQ rows' cost ratio."""


def _teacher_and_test(ctx: BenchContext) -> tuple:
    folder = ctx.dataset_path("cifar10")
    checkpoint = sorted(Path(folder).glob("resnet20-*.th"))
    if not checkpoint:
        raise FileNotFoundError(f"no resnet20-*.th checkpoint in {folder}")
    model, meta = load_akamaster(checkpoint[0])
    arrays = stratified_subset(load_cifar_npz(Path(folder) / "test.npz"), EVAL_IMAGES, seed=0)
    test = CifarDataset(arrays, normalization=meta["normalization"])
    fp_top1 = float(evaluate(model.to(ctx.device), test, ctx.device)["top1"])
    return model, test, fp_top1, checkpoint[0].name


def run_game(ctx: BenchContext, method: str, wbits: int, abits: int, suite: str) -> CaseResult:
    """Play ``method``'s game on the pretrained ResNet-20 and evaluate Q after every epoch."""
    model, test, fp_top1, checkpoint = _teacher_and_test(ctx)
    config = GameConfig.cpu_recipe(seed=ctx.seed, **RECIPES[suite]) if suite == "quick" else GameConfig(seed=ctx.seed)
    game = GAMES[method](model, wbits, abits, config=config, device=ctx.device)
    with timed() as t:
        quantized, history = game.fit(test, quiet=ctx.quiet)
    seconds_per_iter = sum(r["seconds"] for r in history) / (config.epochs * config.iters_per_epoch)
    _SECONDS_PER_ITER[(method, wbits, abits)] = seconds_per_iter
    best = max(history.column("test_top1"))
    metrics = {
        "top1": best,
        "top1_final": history[-1]["test_top1"],
        "fp_top1": fp_top1,
        "gap_to_fp": best - fp_top1,
        "frac_in_band": history[-1]["frac_in_band"],
        "s_per_iter": seconds_per_iter,
    }
    other = _SECONDS_PER_ITER.get(("AdaSG", wbits, abits))
    if method == "GDFQ" and other is not None:
        metrics["adasg_iter_ratio"] = other / seconds_per_iter
    return CaseResult(
        metrics=metrics,
        train_s=t["seconds"],
        params=count_parameters(quantized),
        throughput=1.0 / seconds_per_iter,
        throughput_unit="game iterations/s",
        config={"checkpoint": checkpoint, "wbits": wbits, "abits": abits, "eval_images": len(test), **config.to_dict()},
    )


def run_minmax(ctx: BenchContext, wbits: int, abits: int) -> CaseResult:
    """Naive min-max PTQ calibrated on Gaussian noise (no fine-tuning)."""
    model, test, fp_top1, checkpoint = _teacher_and_test(ctx)
    ptq = MinMax(model, wbits, abits, device=ctx.device, seed=ctx.seed)
    with timed() as t:
        quantized, history = ptq.fit(test)
    top1 = history[-1]["test_top1"]
    return CaseResult(
        metrics={"top1": top1, "top1_final": top1, "fp_top1": fp_top1, "gap_to_fp": top1 - fp_top1},
        train_s=t["seconds"],
        params=count_parameters(quantized),
        config={
            "checkpoint": checkpoint,
            "wbits": wbits,
            "abits": abits,
            "eval_images": len(test),
            "calib": "gaussian",
        },
    )


def build_cases(suite: str) -> list[BenchCase]:
    """AdaSG, GDFQ and MinMax at each bit width, AdaSG compared with GDFQ."""
    cases = []
    for wbits, abits in BITS:
        tag = f"W{wbits}A{abits}"
        for method in GAMES:
            cases.append(
                BenchCase(
                    method=f"{method}-{tag}",
                    dataset="cifar10",
                    run=partial(run_game, method=method, wbits=wbits, abits=abits, suite=suite),
                    role="method" if method == "AdaSG" else "baseline",
                    baseline=f"GDFQ-{tag}" if method == "AdaSG" else None,
                    requires=["cifar10"],
                    config={"model": "resnet20", "wbits": wbits, "abits": abits},
                )
            )
        cases.append(
            BenchCase(
                method=f"MinMax-{tag}",
                dataset="cifar10",
                run=partial(run_minmax, wbits=wbits, abits=abits),
                role="baseline",
                requires=["cifar10"],
                config={"model": "resnet20", "wbits": wbits, "abits": abits},
            )
        )
    return cases
