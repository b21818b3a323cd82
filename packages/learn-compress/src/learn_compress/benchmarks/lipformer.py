"""Benchmark rows of LipFormer and its baselines (``lipformer.md`` sections 2 and 4).

Datasets:

- ``synthetic-lips-unseen``: the synthetic talking-mouth corpus written in the GRID layout and read back
  through the real reader; train on s3-s10, test on the unseen speakers s1, s2, s20, s22;
- ``synthetic-lips-overlapped``: the held-out sentences of the training speakers (seen speakers).

Both rows of a method come from one training run (the CPU recipe trains once and tests on seen and unseen
speakers), so the second row reuses the first row's model and reports the same training time. Each row
also reports ``cer_rise`` = unseen CER - seen CER of the same model (claim 2). Rows: ``LipFormer`` (method),
``LipNetCTC`` and ``VisualOnly`` (baselines), equal steps and batch for all three.

The quick suite shrinks the CPU recipe to fit its share of the 15-minute budget (frames 16x32 instead
of 32x64, d 64, one layer per block, front end 8/16/24 channels, 40 sentences per training speaker,
400 steps of batch 8, auxiliary CTC weight 0.5, one seed, one intra-op thread); the paper suite runs the
CPU recipe of section 2 as written (3 seeds, mean) and, when ``grid/`` with landmarks is under the data
root, the GRID unseen and overlapped splits at paper scale.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from lab_common import BenchCase, BenchContext, CaseResult, count_parameters, seed_everything, timed

from ..data.grid import UNSEEN_TEST_SPEAKERS, grid_split, scan_grid
from ..data.synthetic_lips import SyntheticLipConfig, SyntheticLipCorpus, write_grid_layout
from ..lipreading.dataset import LipDataset, load_clips
from ..lipreading.lipformer import LipFormer, LipFormerConfig
from ..lipreading.lipnet import LipNetConfig, LipNetCTC
from ..lipreading.trainer import LipReadingTrainer, LipTrainConfig, evaluate_lipreading

log = logging.getLogger(__name__)

METHODS = ("LipNetCTC", "VisualOnly", "LipFormer")
TRAIN_SPEAKERS = tuple(f"s{k}" for k in range(3, 11))


@dataclass(frozen=True)
class LipRecipe:
    """Data, models and optimisation of one suite's rows."""

    corpus: SyntheticLipConfig
    train_sentences: int  # per training speaker
    seen_test_sentences: int  # per training speaker, held out
    unseen_sentences: int  # per unseen speaker
    lipformer: LipFormerConfig
    lipnet: LipNetConfig
    train: LipTrainConfig
    seeds: tuple[int, ...] | None = None  # None: the suite's seed only
    eval_beam: int = 1


QUICK = LipRecipe(
    corpus=SyntheticLipConfig(height=16, width=32),
    train_sentences=40,
    seen_test_sentences=10,
    unseen_sentences=20,
    lipformer=LipFormerConfig(
        height=16,
        width=32,
        d_model=64,
        heads=4,
        ff=128,
        frontend_channels=(8, 16, 24),
        visual_layers=1,
        landmark_layers=1,
        fusion_layers=1,
        inter_layers=1,
        char_layers=1,
        ctc_weight=0.5,
        max_len_inter=48,
        max_len_char=48,
    ),
    lipnet=LipNetConfig(height=16, width=32, frontend_channels=(8, 16, 24), hidden=64),
    train=LipTrainConfig(epochs=100, max_steps=400, batch_size=8, lr=3e-3, warmup_steps=30, eval_batch_size=80),
)

CPU_RECIPE = LipRecipe(
    corpus=SyntheticLipConfig(),
    train_sentences=60,
    seen_test_sentences=20,
    unseen_sentences=30,
    lipformer=LipFormerConfig(
        height=32,
        width=64,
        d_model=128,
        heads=4,
        ff=256,
        visual_layers=2,
        landmark_layers=2,
        fusion_layers=1,
        inter_layers=1,
        char_layers=1,
    ),
    lipnet=LipNetConfig(height=32, width=64, hidden=128),
    train=LipTrainConfig(epochs=15, batch_size=16, lr=1e-3, warmup_steps=100),
    seeds=(0, 1, 2),
)
"""``lipformer.md`` section 2, CPU scale, as written."""

RECIPES = {"quick": QUICK, "paper": CPU_RECIPE}

_RUNS: dict[tuple, dict[str, Any]] = {}
"""Finished training runs by (suite, method, seed, root): the two rows of a method share one."""


@contextmanager
def one_thread():
    """One intra-op thread: these small models run faster on one thread than on two (or contended) ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def write_corpus(root: Path, recipe: LipRecipe) -> Path:
    """Write the synthetic corpus of ``recipe`` in the GRID layout under ``root`` (once)."""
    done = root / "COMPLETE"
    if not done.is_file():
        plan = {s: recipe.train_sentences + recipe.seen_test_sentences for s in TRAIN_SPEAKERS}
        plan |= {s: recipe.unseen_sentences for s in UNSEEN_TEST_SPEAKERS}
        write_grid_layout(root, plan, SyntheticLipCorpus(recipe.corpus))
        done.write_text("written by learn_compress.benchmarks.lipformer\n")
    return root


def split_corpus(root: Path, recipe: LipRecipe, seed: int = 0) -> dict[str, list]:
    """``train``, ``seen`` (held-out sentences of training speakers) and ``unseen`` clips, loaded."""
    clips = scan_grid(root)
    training, unseen = grid_split("unseen", clips)
    train, seen = grid_split("overlapped", training, seed=seed, held_out_per_speaker=recipe.seen_test_sentences)
    return {"train": load_clips(train), "seen": load_clips(seen), "unseen": load_clips(unseen)}


def build_lip_model(method: str, recipe: LipRecipe) -> torch.nn.Module:
    if method == "LipNetCTC":
        return LipNetCTC(recipe.lipnet)
    overrides = {"use_landmarks": False} if method == "VisualOnly" else {}
    overrides |= {"use_video": False} if method == "LandmarkOnly" else {}
    return LipFormer(recipe.lipformer, **overrides)


def train_and_evaluate(method: str, recipe: LipRecipe, data: dict[str, list], seed: int, device="cpu") -> dict:
    """Train ``method`` on ``data["train"]`` with ``seed``; CER/WER on the seen and unseen test clips."""
    seed_everything(seed)
    model = build_lip_model(method, recipe)
    intermediate = recipe.lipformer.intermediate
    config = dataclasses.replace(recipe.train, seed=seed)
    trainer = LipReadingTrainer(model, config, device=device)
    with timed() as t_train:
        history = trainer.fit(LipDataset(data["train"], intermediate, augment=True))
    beam = recipe.eval_beam if method != "LipNetCTC" else 1
    result = {"train_s": t_train["seconds"], "steps": trainer.step, "params": count_parameters(model)}
    for split in ("seen", "unseen"):
        with timed() as t_eval:
            metrics = evaluate_lipreading(
                model, LipDataset(data[split], intermediate), device, beam, config.eval_batch_size
            )
        result[split] = metrics
        result[f"{split}_eval_s"] = t_eval["seconds"]
    result["final_loss"] = history[-1]["loss"] if len(history) else float("nan")
    log.info("%s seed %d: %s", method, seed, result)
    return result


def _mean_runs(runs: list[dict]) -> dict:
    """Mean over seeds of every number of the runs."""
    out = {
        k: statistics.fmean(r[k] for r in runs) for k in ("train_s", "steps", "params", "seen_eval_s", "unseen_eval_s")
    }
    out |= {s: {m: statistics.fmean(r[s][m] for r in runs) for m in ("cer", "wer")} for s in ("seen", "unseen")}
    return out


def run_synthetic(ctx: BenchContext, method: str, setting: str) -> CaseResult:
    """One row: ``method`` on the unseen or overlapped (seen speakers) test clips of the synthetic corpus."""
    recipe = RECIPES[ctx.suite]
    root = write_corpus(ctx.out_dir / f"synthetic-lips-{ctx.suite}", recipe)
    seeds = recipe.seeds or (ctx.seed,)
    key = (ctx.suite, method, seeds, str(root))
    if key not in _RUNS:
        data = split_corpus(root, recipe)
        with one_thread():
            _RUNS[key] = _mean_runs([train_and_evaluate(method, recipe, data, s, ctx.device) for s in seeds])
    run = _RUNS[key]
    split = "unseen" if setting == "unseen" else "seen"
    metrics = dict(run[split]) | {"cer_rise": run["unseen"]["cer"] - run["seen"]["cer"]}
    n_train = len(TRAIN_SPEAKERS) * recipe.train_sentences
    model_config = recipe.lipnet.to_dict() if method == "LipNetCTC" else recipe.lipformer.to_dict()
    return CaseResult(
        metrics=metrics,
        train_s=run["train_s"],
        eval_s=run[f"{split}_eval_s"],
        params=int(run["params"]),
        throughput=run["steps"] * recipe.train.batch_size / max(run["train_s"], 1e-9),
        throughput_unit="clips/s (train)",
        config={
            "seeds": list(seeds),
            "steps": int(run["steps"]),
            "train_clips": n_train,
            "test_speakers": "s1 s2 s20 s22" if split == "unseen" else "s3-s10 (held-out sentences)",
            "training": "shared by the synthetic-lips-unseen and -overlapped rows of this method",
            "corpus": dataclasses.asdict(recipe.corpus),
            "model": model_config | ({"use_landmarks": False} if method == "VisualOnly" else {}),
            "train": recipe.train.to_dict(),
            "decoding": "greedy" if recipe.eval_beam == 1 or method == "LipNetCTC" else f"beam {recipe.eval_beam}",
        },
    )


def run_grid(ctx: BenchContext, method: str, setting: str) -> CaseResult:
    """GRID (``grid/`` under the data root, with landmark files) at paper scale, one seed."""
    recipe = dataclasses.replace(
        CPU_RECIPE,
        lipformer=LipFormerConfig(),
        lipnet=LipNetConfig(),
        train=LipTrainConfig(
            epochs=100, batch_size=32, optimizer="adamw", betas=(0.9, 0.98), eps=1e-9, weight_decay=0.01,
            lr=3e-4, warmup_steps=2000,
        ),
        eval_beam=4,
    )  # fmt: skip
    clips = scan_grid(ctx.dataset_path("grid"))
    train, test = grid_split(setting, clips, seed=ctx.seed)
    data = {"train": load_clips(train), "seen": load_clips(test), "unseen": load_clips(test)}
    _, height, width, channels = data["train"][0].frames.shape
    size = {"height": height, "width": width, "in_channels": channels}
    recipe = dataclasses.replace(
        recipe,
        lipformer=dataclasses.replace(recipe.lipformer, **size),
        lipnet=dataclasses.replace(recipe.lipnet, **size),
    )
    run = train_and_evaluate(method, recipe, data, ctx.seed, ctx.device)
    return CaseResult(
        metrics=run["unseen"],
        train_s=run["train_s"],
        eval_s=run["unseen_eval_s"],
        params=run["params"],
        throughput=run["steps"] * recipe.train.batch_size / max(run["train_s"], 1e-9),
        throughput_unit="clips/s (train)",
        config={"split": setting, "train_clips": len(train), "test_clips": len(test), "train": recipe.train.to_dict()},
    )


def _cases(prefix: str, runner, requires: tuple[str, ...] = ()) -> list[BenchCase]:
    return [
        BenchCase(
            method=method,
            dataset=f"{prefix}-{setting}",
            run=partial(runner, method=method, setting=setting),
            role="method" if method == "LipFormer" else "baseline",
            baseline="LipNetCTC" if method == "LipFormer" else None,
            requires=requires,
        )
        for setting in ("unseen", "overlapped")
        for method in METHODS
    ]


def build_cases(suite: str) -> list[BenchCase]:
    """The synthetic rows (both suites) and, in the paper suite, the GRID rows (skipped without ``grid/``)."""
    cases = _cases("synthetic-lips", run_synthetic)
    if suite == "paper":
        cases += _cases("grid", run_grid, requires=("grid",))
    return cases
