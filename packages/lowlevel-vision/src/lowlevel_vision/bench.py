"""Benchmark suite of lowlevel-vision: ``python -m lowlevel_vision.bench --suite quick --out DIR [--ablations]``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`). The quick suite
(vision-common §12) trains each method and its parameter-matched monocular baseline with the same steps,
batch, crops, optimiser, loss (the method's own recipe) and seed on layered synthetic scenes, evaluates them
on a fixed held-out set and, when ``--data-root`` holds them, on real images degraded with a fixed seed
(models trained on the synthetic task, nothing trained on real data):

- stereo rain (``StereoRain("default")``; real: Middlebury Motorcycle): ``StereoIRR`` tiny, ``Monocular``
  (matched to it), ``StereoIRR-noDMA`` (ablation), ``Input``;
- stereo low light (``LowLight("stereo_bench")``; real: Middlebury Motorcycle): ``SufrinNet-c<width>``
  (reduced ``base_channels``, sufrinnet.md §5), ``Monocular-<N>M`` matched to it, its ``-noCVI`` ablation,
  ``Input``;
- single-image noisy low light (``LowLight("heavy")``; real: ``clean-images``): ``RLED-Net`` tiny,
  ``Monocular-<N>M`` (a ``MonoUNet`` matched to it), ``RLED-Net-noLSRB`` (ablation), the classical
  ``Oracle-exposure`` baseline (rled-net.md §5), ``Input``.

The issues' ablations (no DMA, no LSRB) are default rows; SufrinNet's ``-noCVI`` (a SufrinNet training run,
the costliest row) runs only with ``--ablations``. A tiling row restores a 2048×2048 stereo pair in a fresh
child process and reports its peak RSS (the ``paper`` suite does so for every method). Sample images and grids
(input / output / ground truth / error) are written under ``DIR/samples/<dataset>/``; ``results.md`` ends
with the notes and one claim line per required margin (threshold, measured value, YES/NO).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import kornia
import torch
from torch import nn
from torch.utils.data import Dataset

from lab_common import BenchCase, BenchContext, CaseResult, bench_main, bench_parser, count_parameters

from . import models  # noqa: F401  (models register themselves)
from .data import Degraded, LowLight, StereoFiles, StereoRain, SyntheticMono, SyntheticStereo, collate
from .evaluation import Evaluation, evaluate, views_of
from .io import list_images, read_image, write_png
from .losses import charbonnier_loss, rlednet_loss, sufrinnet_view_loss
from .metrics import MetricAccumulator
from .models import InputModel, Monocular, MonoUNet
from .models.rlednet import RLEDNET_BETAS, RLEDNET_LR, RLEDNET_WEIGHT_DECAY
from .models.sufrinnet import SUFRINNET_BETAS, SUFRINNET_LR
from .perf import InferenceCase, measure_in_child
from .registry import MODELS
from .training import TrainConfig, Trainer, constant_lr

PACKAGE = "lowlevel-vision"
PROTOCOL = "rgb"
TINY_BLOCKS = {"enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1), "refine_blocks": 0}
STEREOIRR_TINY = {"width": 16, "enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1)}  # 344,467
RLEDNET_TINY = {**TINY_BLOCKS, "width": 16, "refine_blocks": 1, "rank": 8}  # rled-net.md §2.6: 760,373
QUICK = {
    "steps": 120,
    "batch_size": 8,
    "train_crop": (48, 96),
    "disparity": (2, 12),
    "lr": 1e-3,
    "test_pairs": 16,
    "test_size": (64, 128),
    "test_seed": 1234,
    "match_params": 344_467,  # StereoIRR tiny (stereoirr.md §2.4); Monocular width 18, 363,585 parameters
    # SufrinNet rows (sufrinnet.md §5): reduced width and steps so the suite fits its CPU budget.
    "sufrinnet_channels": 8,
    "sufrinnet_steps": 60,
    # RLED-Net rows (rled-net.md §5): single images, crops 64×64.
    "mono_steps": 60,
    "mono_crop": (64, 64),
}
PRESETS = {"rain": "default", "lowlight": "stereo_bench", "mono": "heavy"}
SAMPLES = 4
WHOLE_SIZE = 512  # the paper suite's whole-image inference rows (per view)
TILED_SIZE = 2048
_TRAINED: dict[tuple[str, str], tuple[nn.Module, float, int]] = {}


@dataclass(frozen=True)
class Recipe:
    """Loss (per view, summed over views by the trainer) and optimiser of a method; its baselines share it."""

    name: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: type[torch.optim.Optimizer]
    lr: float
    betas: tuple[float, float]
    weight_decay: float = 0.0
    cosine: bool = True  # cosine annealing over the run; False: constant learning rate

    def trainer(self, model: nn.Module, steps: int, name: str, ctx: BenchContext) -> Trainer:
        config = TrainConfig(
            steps=steps,
            batch_size=QUICK["batch_size"],
            lr=self.lr,
            betas=self.betas,
            weight_decay=self.weight_decay,
            seed=ctx.seed,
            log_every=0,
            protocol=PROTOCOL,
        )
        return Trainer(model, config, device=ctx.device, model_name=name, quiet=ctx.quiet, **self.trainer_options())

    def trainer_options(self) -> dict[str, Callable]:
        """The :class:`Trainer` arguments of this recipe: ``loss``, ``optimizer`` and ``scheduler``."""
        return {"loss": self.loss, "optimizer": self._optimizer, "scheduler": None if self.cosine else constant_lr}

    def _optimizer(self, params, config: TrainConfig) -> torch.optim.Optimizer:
        return self.optimizer(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def nafnet_recipe() -> Recipe:
    """StereoIRR's recipe (stereoirr.md §3), shortened: Charbonnier, AdamW (0.9, 0.9), cosine over the run."""
    return Recipe(
        "charbonnier, AdamW betas (0.9, 0.9), cosine to 1e-7",
        charbonnier_loss,
        torch.optim.AdamW,
        QUICK["lr"],
        (0.9, 0.9),
    )


SUFRINNET_RECIPE = Recipe(
    "FR + 0.1 TV, Adam lr 2e-4 betas (0.5, 0.999), constant (milestones at epoch 500+ never reached)",
    sufrinnet_view_loss,
    torch.optim.Adam,
    SUFRINNET_LR,
    SUFRINNET_BETAS,
    cosine=False,
)
RLEDNET_RECIPE = Recipe(
    "Charbonnier, AdamW lr 2e-4 betas (0.9, 0.999) wd 1e-4, constant (cosine spans 150k iterations)",
    rlednet_loss,
    torch.optim.AdamW,
    RLEDNET_LR,
    RLEDNET_BETAS,
    RLEDNET_WEIGHT_DECAY,
    cosine=False,
)


@dataclass(frozen=True)
class Row:
    """One trained (or fixed) model of the quick suite: its builder, recipe, steps and the tasks it runs on."""

    method: str
    build: Callable[[], nn.Module]
    tasks: tuple[str, ...]
    recipe: Recipe | None = None
    steps_key: str = "steps"
    role: str = "method"
    baseline: str | None = None
    ablation: bool = False  # run only with ``--ablations`` (vision-common §12: they do not fit the budget)


def budget_name(model: nn.Module) -> str:
    """``Monocular-0.42M``: the matched baseline named after its own parameter count."""
    return f"Monocular-{count_parameters(model) / 1e6:.2f}M"


def sufrinnet_rows() -> list[Row]:
    channels = QUICK["sufrinnet_channels"]
    name = "SufrinNet" if channels == 16 else f"SufrinNet-c{channels}"
    method = partial(MODELS.build, "SufrinNet", base_channels=channels)
    mono = budget_name(Monocular.matching(method()))
    common = {"tasks": ("lowlight",), "recipe": SUFRINNET_RECIPE, "steps_key": "sufrinnet_steps"}
    return [
        Row(mono, lambda: Monocular.matching(method()), role="baseline", **common),
        Row(name, method, baseline=mono, **common),
        Row(f"{name}-noCVI", partial(method, cross_view=False), baseline=mono, ablation=True, **common),
    ]


def rlednet_rows() -> list[Row]:
    def matched() -> MonoUNet:
        method = MODELS.build("RLED-Net", **RLEDNET_TINY)
        return MonoUNet.matching(count_parameters(method), **method.block_counts)

    mono = budget_name(matched())
    common = {"tasks": ("mono",), "recipe": RLEDNET_RECIPE, "steps_key": "mono_steps"}
    return [
        Row(ORACLE, OracleExposure, ("mono",), role="baseline"),
        Row(mono, matched, role="baseline", **common),
        Row("RLED-Net", partial(MODELS.build, "RLED-Net", **RLEDNET_TINY), baseline=mono, **common),
        Row("RLED-Net-noLSRB", partial(MODELS.build, "RLED-Net-noLSRB", **RLEDNET_TINY), baseline=mono, **common),
    ]


def stereoirr_rows() -> list[Row]:
    """StereoIRR tiny and its no-DMA ablation against ``Monocular`` (width 18, matched to 344,467), on rain."""
    if "StereoIRR" not in MODELS.names():
        return []
    common = {"tasks": ("rain",), "recipe": nafnet_recipe(), "baseline": "Monocular"}
    return [
        Row("StereoIRR", partial(MODELS.build, "StereoIRR", **STEREOIRR_TINY), **common),
        Row("StereoIRR-noDMA", partial(MODELS.build, "StereoIRR-noDMA", **STEREOIRR_TINY), **common),
    ]


def quick_rows() -> list[Row]:
    """Every row of the quick suite, in table order within each data set."""
    return [
        Row("Input", InputModel, ("rain", "lowlight"), role="baseline"),
        Row("Input", nn.Identity, ("mono",), role="baseline"),
        Row(
            "Monocular",
            lambda: Monocular.matching(QUICK["match_params"], **TINY_BLOCKS),
            ("rain",),
            nafnet_recipe(),
            role="baseline",
        ),
        *stereoirr_rows(),
        *sufrinnet_rows(),
        *rlednet_rows(),
    ]


def build_model(name: str, task: str = "rain") -> nn.Module:
    """The quick-suite configuration of row ``name`` (on ``task``)."""
    return next(row for row in quick_rows() if row.method == name and task in row.tasks).build()


class OracleExposure(nn.Module):
    """Classical baseline with oracle exposure (rled-net.md §5): ``gaussian_blur2d(x ** g, 5, σ 1)`` with
    ``g = ln(mean(gt)) / ln(mean(x))`` per image, so its brightness matches the target. Called as
    ``model(x, gt)``; nothing to train."""

    def forward(self, x: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        eps = 1e-6
        mean_x = x.mean(dim=(1, 2, 3), keepdim=True).clamp(eps, 1 - eps)
        mean_gt = gt.mean(dim=(1, 2, 3), keepdim=True).clamp(eps, 1 - eps)
        exposed = x.clamp_min(0).pow(mean_gt.log() / mean_x.log())
        return kornia.filters.gaussian_blur2d(exposed, (5, 5), (1.0, 1.0), border_type="reflect")


ORACLE = "Oracle-exposure"


class CleanImages(Dataset):
    """The clean photographs of a folder as mono samples (``gt``), read in name order."""

    def __init__(self, folder: Path):
        self.paths = list_images(folder)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        path = self.paths[index]
        return {"gt": read_image(path), "name": path.stem, "paths": {"gt": str(path)}}


def train_set(task: str, seed: int, steps: int) -> Dataset:
    count = steps * QUICK["batch_size"]
    if task == "mono":
        return SyntheticMono(PRESETS[task], count, QUICK["mono_crop"], seed, fixed=False)
    return SyntheticStereo(
        task, PRESETS[task], count, QUICK["train_crop"], seed, fixed=False, disparity=QUICK["disparity"]
    )


def synthetic_test_set(task: str) -> Dataset:
    if task == "mono":
        return SyntheticMono(PRESETS[task], QUICK["test_pairs"], QUICK["test_size"], QUICK["test_seed"], fixed=True)
    return SyntheticStereo(
        task,
        PRESETS[task],
        QUICK["test_pairs"],
        QUICK["test_size"],
        QUICK["test_seed"],
        fixed=True,
        disparity=QUICK["disparity"],
    )


def middlebury_test_set(task: str, root: Path) -> Degraded:
    pair = StereoFiles([(root / "motorcycle_left.png", root / "motorcycle_right.png")])
    degradation = StereoRain(PRESETS[task]) if task == "rain" else LowLight(PRESETS[task])
    return Degraded(pair, degradation, seed=QUICK["test_seed"], fixed=True)


REAL_DATA = {"rain": "middlebury-motorcycle", "lowlight": "middlebury-motorcycle", "mono": "clean-images"}


def real_test_set(task: str, ctx: BenchContext) -> Degraded:
    root = ctx.dataset_path(REAL_DATA[task])
    if task == "mono":
        return Degraded(CleanImages(root), LowLight(PRESETS[task]), seed=QUICK["test_seed"], fixed=True)
    return middlebury_test_set(task, root)


def trained_model(row: Row, task: str, ctx: BenchContext) -> tuple[nn.Module, float, int]:
    """Train ``row`` on the synthetic ``task`` once per process (the real-data rows reuse it)."""
    key = (row.method, task)
    if key not in _TRAINED:
        model = row.build()
        steps = QUICK[row.steps_key] if row.recipe is not None else 0
        start = time.perf_counter()
        if steps:
            row.recipe.trainer(model, steps, row.method, ctx).fit(train_set(task, ctx.seed, steps))
        _TRAINED[key] = (model.to(memory_format=torch.contiguous_format).eval(), time.perf_counter() - start, steps)
    return _TRAINED[key]


def evaluate_oracle(model: OracleExposure, dataset: Dataset, keep: int) -> Evaluation:
    """:func:`evaluate` for the oracle baseline, which also reads each image's ground truth."""
    accumulator = MetricAccumulator(("",), PROTOCOL)
    seconds, megapixels, kept = 0.0, 0.0, []
    for index in range(len(dataset)):
        sample = collate([dataset[index]])
        begin = time.perf_counter()
        output = model(sample["lq"], sample["gt"])
        seconds += time.perf_counter() - begin
        megapixels += output[0, 0].numel() / 1e6
        accumulator.update((output,), (sample["gt"],))
        if len(kept) < keep:
            kept.append((output[0],))
    return Evaluation(accumulator.result(), seconds, megapixels, kept)


def run_row(row: Row, task: str, real: bool, ctx: BenchContext) -> CaseResult:
    model, train_s, steps = trained_model(row, task, ctx)
    dataset = real_test_set(task, ctx) if real else synthetic_test_set(task)
    if isinstance(model, OracleExposure):
        result = evaluate_oracle(model, dataset, SAMPLES)
    else:
        result = evaluate(model, dataset, PROTOCOL, ctx.device, keep=SAMPLES)
    write_samples(ctx.out_dir / "samples" / dataset_name(task, real), row.method, dataset, result)
    return CaseResult(
        metrics=result.metrics,
        train_s=train_s,
        eval_s=result.seconds,
        params=count_parameters(model),
        throughput=result.throughput,
        throughput_unit="Mpix/s",
        config={
            "protocol": PROTOCOL,
            "train_steps": steps,
            "recipe": row.recipe.name if row.recipe else None,
            "task": task,
            "trained_on": dataset_name(task, False),
            "model_config": {
                k: list(v) if isinstance(v, tuple) else v for k, v in getattr(model, "config", {}).items()
            },
        },
    )


def dataset_name(task: str, real: bool) -> str:
    if task == "mono":
        return f"{'clean-images' if real else 'synthetic'}-lowlight-noisy"
    return f"{'middlebury-motorcycle' if real else 'synthetic-stereo'}-{task}"


def write_samples(folder: Path, name: str, dataset, result: Evaluation) -> None:
    """``<k>_{input,gt}_{L,R}.png`` (mono: ``<k>_{input,gt}.png``), and for any other row
    ``<k>_<method>_{L,R}.png`` and ``<k>_<method>_grid.png``.

    Grid: rows L and R (mono: one row); columns input, output, ground truth, ``4·|output − gt|``;
    2-pixel white separators.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for k, outputs in enumerate(result.outputs):
        sample = dataset[k]
        sides = ("_L", "_R") if len(outputs) == 2 else ("",)
        rows = []
        for side, lq, gt, output in zip(sides, views_of(sample, "lq"), views_of(sample, "gt"), outputs, strict=True):
            images = {"input": lq, "gt": gt, **({} if name == "Input" else {name: output})}
            for label, image in images.items():
                write_png(image, folder / f"{k}_{label}{side}.png", overwrite=True)
            rows.append([lq, output, gt, (4 * (output - gt).abs()).clamp(0, 1)])
        if name != "Input":
            write_png(_grid(rows), folder / f"{k}_{name}_grid.png", overwrite=True)


def _grid(rows: list[list[torch.Tensor]], gap: int = 2) -> torch.Tensor:
    def join(images: list[torch.Tensor], dim: int) -> torch.Tensor:
        shape = list(images[0].shape)
        shape[dim] = gap
        white = torch.ones(shape)
        parts = [piece for image in images for piece in (image, white)][:-1]
        return torch.cat(parts, dim)

    return join([join(row, -1) for row in rows], -2)


INFERENCE_MODELS = {
    # name -> (registered model, config): each method as shipped, and the quick suite's Monocular
    "Monocular": ("Monocular", {"width": 18, **TINY_BLOCKS}),
    "StereoIRR": ("StereoIRR", {}),  # its DMA attends in blocks of rows within a score budget (exact)
    "SufrinNet": ("SufrinNet", {}),
    "RLED-Net": ("RLED-Net", {}),
}


def inference_case(method: str, size: int, tiled: bool, ctx: BenchContext) -> CaseResult:
    """Throughput and peak memory of ``method`` on a random ``size``×``size`` input (stereo: a pair), whole or
    tiled, measured in a fresh child process (:mod:`lowlevel_vision.perf`); weights are untrained (cost only)."""
    name, config = INFERENCE_MODELS[method]
    case = InferenceCase(name, config, size, tiled, overlap=32, repeats=1 if tiled else 2)
    measured = measure_in_child(case, str(ctx.device))
    memory_method = "CUDA max allocated" if ctx.device.type == "cuda" else "VmHWM of a fresh child process"
    return CaseResult(
        metrics={"under_3gb": float(measured["peak_mb"] < 3 * 1024)},
        peak_mem_mb=measured["peak_mb"],
        eval_s=measured["seconds"],
        params=int(measured["params"]),
        throughput=measured["mpix_s"],
        throughput_unit="Mpix/s",
        config={**asdict(case), "tile": measured["tile"], "views": measured["views"], "memory_method": memory_method},
    )


def inference_cases(methods: Sequence[str], sizes: Sequence[tuple[int, bool]]) -> list[BenchCase]:
    return [
        BenchCase(
            method,
            f"{'tiled' if tiled else 'inference'}-{size}x{size}",
            partial(inference_case, method, size, tiled),
            role="baseline" if method == "Monocular" else "method",
            baseline=None if method == "Monocular" else "Monocular",
        )
        for size, tiled in sizes
        for method in methods
    ]


DATASETS = (("rain", False), ("lowlight", False), ("mono", False), ("rain", True), ("lowlight", True), ("mono", True))


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    if args.suite != "quick":  # the paper suite: for now the inference costs of every method as shipped
        return inference_cases(list(INFERENCE_MODELS), [(WHOLE_SIZE, False), (TILED_SIZE, True)])
    config = {"protocol": PROTOCOL, **{k: list(v) if isinstance(v, tuple) else v for k, v in QUICK.items()}}
    rows = [row for row in quick_rows() if getattr(args, "ablations", False) or not row.ablation]
    cases = [
        BenchCase(
            row.method,
            dataset_name(task, real),
            partial(run_row, row, task, real),
            role=row.role,
            baseline=row.baseline,
            requires=[REAL_DATA[task]] if real else [],
            config=config,
        )
        for task, real in DATASETS
        for row in rows
        if task in row.tasks
    ]
    return cases + inference_cases(["Monocular"], [(TILED_SIZE, True)])


PAPER_NOTES = """
## Notes

- Inference cost of every method as shipped (`INFERENCE_MODELS`: default configurations, untrained weights,
  fp32, batch 1, random inputs): `inference-{whole}x{whole}` runs one image (stereo methods: a pair) whole,
  `tiled-{tiled}x{tiled}` restores a {tiled}x{tiled} image (stereo: pair) through `tiled_forward`, overlap 32, in
  256-row full-width strips for the stereo models (the cross-view attention runs along whole rows; the
  Monocular restores both views) and 256x256 tiles for the single-image RLED-Net.
- Each row runs in a fresh child process: `peak MiB` is that process's own high-water mark (CPU: `VmHWM`,
  which includes the ~0.5 GiB of Python with torch loaded; CUDA: peak allocated), `under_3gb` = 1 below
  3 GiB; `eval s` is the fastest timed pass after a warm-up on one tile (whole rows: best of 2).
- `throughput` counts the megapixels of every view. Training costs and accuracy are in the `quick` suite.

## Claims

{claims}
"""

NOTES = """
## Notes

- Protocol `rgb` (vision-common §6): PSNR/SSIM on RGB after clamping and rounding to uint8, no border crop,
  mean of per-image values; `_l` left view, `_r` right view, `_avg` = (L + R) / 2; mono rows `psnr`, `ssim`.
- Every comparison trains the method and its baselines with the same steps, batch ({batch_size}), crops,
  optimiser, loss and seed; a method's own recipe is used for its matched baseline too:
  - stereo rain / low light, `Monocular` (and StereoIRR): {steps} steps, crops {train_crop[0]}x{train_crop[1]},
    disparity {disparity[0]}-{disparity[1]} px, Charbonnier, AdamW lr {lr} betas (0.9, 0.9), cosine to 1e-7.
  - SufrinNet rows: {sufrinnet_steps} steps, same crops, FR + 0.1·TV, Adam lr 2e-4 betas (0.5, 0.999), constant lr.
    The paper width (base 16, 1,344,395 parameters, ~2x slower per step) does not fit the CPU budget: the rows
    use `base_channels={sufrinnet_channels}` (`SufrinNet-c{sufrinnet_channels}`) and a Monocular rematched to it.
  - RLED-Net rows (tiny: C=16, blocks 1/1/1, middle 1, refine 1, rank 8): {mono_steps} steps, single left views
    with the `heavy` noise preset, crops {mono_crop[0]}x{mono_crop[1]}, Charbonnier, AdamW lr 2e-4 betas
    (0.9, 0.999) wd 1e-4, constant lr. `{oracle}` is the classical baseline `gaussian_blur2d(x^g, 5, σ 1)`
    with `g = ln mean(gt) / ln mean(x)` per image (it reads the ground truth's mean brightness; not trained).
- Test: {test_pairs} synthetic pairs (mono: left views) {test_size[0]}x{test_size[1]} (seed {test_seed});
  Middlebury Motorcycle (741x500) and the `clean-images` photographs degraded with seed {test_seed}, restored by
  the models trained on the synthetic task (their `train s` is that training run's, shared with the synthetic
  row, not a second run).
- `Monocular` is the NAFNet-style U-Net matched to the tiny StereoIRR budget ({match_params:,} parameters);
  `Monocular-<N>M` rows are matched to the method that names them as baseline (smallest width with at least
  the method's parameters, same block counts; vision-common §9).
- `throughput` is inference megapixels (all views) per second; `peak MiB` is the process RSS high-water mark
  during the row, except on the tiling row, which measures a fresh child process restoring a random
  {tiled}x{tiled} stereo pair in 256-row full-width strips (`peak MiB` is that process's own high-water mark,
  `under_3gb` = 1 below 3 GiB). The `paper` suite measures every method as shipped this way.
- {ablations}
- Samples: `samples/<dataset>/<k>_<method>_grid.png`, rows L and R (mono: one row), columns
  input | output | ground truth | 4·|output − gt|; single images `<k>_{{input,gt,<method>}}[_L|_R].png`.

## Claims

{claims}
"""


def _gains(record: dict, reference: dict) -> dict[str, float]:
    """PSNR differences per view (``l``, ``r``; mono: ``""``)."""
    keys = ("psnr_l", "psnr_r") if "psnr_l" in record["metrics"] else ("psnr",)
    return {key: record["metrics"][key] - reference["metrics"][key] for key in keys}


def margin_claim(ok: dict, dataset: str, method: str, reference: str, threshold: float) -> str | None:
    """``- dataset: method beats reference by ≥ threshold dB (each view): measured ...: YES/NO``."""
    record, base = ok.get((method, dataset)), ok.get((reference, dataset))
    if record is None or base is None:
        return None
    gains = _gains(record, base)
    measured = ", ".join(f"{k} {v:+.2f} dB" for k, v in gains.items())
    passed = all(v >= threshold for v in gains.values()) if threshold > 0 else all(v > 0 for v in gains.values())
    bound = f">= {threshold} dB" if threshold > 0 else "> 0 dB"
    views = " on every view" if len(gains) > 1 else ""
    return f"- {dataset}: {method} above {reference} by {bound}{views}: {measured}: {'YES' if passed else 'NO'}"


def comparison_line(ok: dict, dataset: str, method: str, reference: str) -> str | None:
    """A reported (not asserted) comparison: parameter ratio, PSNR/SSIM differences in words, wall time."""
    record, base = ok.get((method, dataset)), ok.get((reference, dataset))
    if record is None or base is None:
        return None
    suffix = "_avg" if "psnr_avg" in record["metrics"] else ""
    d_psnr = record["metrics"][f"psnr{suffix}"] - base["metrics"][f"psnr{suffix}"]
    d_ssim = record["metrics"][f"ssim{suffix}"] - base["metrics"][f"ssim{suffix}"]
    ratio = record["cost"]["params"] / max(base["cost"]["params"], 1)
    times = record["cost"]["train_s"] / max(base["cost"]["train_s"], 1e-9)
    word = "above" if d_psnr > 0 else "below"
    return (
        f"- {dataset}: {method} is {word} {reference} (reported, not asserted): PSNR {d_psnr:+.2f} dB, "
        f"SSIM {d_ssim:+.4f}, parameters {ratio:.2f}x, train time {times:.2f}x"
    )


def method_claims(ok: dict) -> list[str | None]:
    """The required margins of sufrinnet.md §5, rled-net.md §5 and stereoirr.md §5, per data set."""
    lines: list[str | None] = []
    names = {row.method: row for row in quick_rows()}
    for dataset in dict.fromkeys(d for _, d in ok if not d.startswith(("inference-", "tiled-"))):
        for name, row in names.items():
            if (name, dataset) not in ok or row.role != "method" or not row.baseline:
                continue
            if name.startswith("SufrinNet") and not name.endswith("noCVI"):
                lines += [
                    margin_claim(ok, dataset, name, "Input", 6.0),
                    margin_claim(ok, dataset, name, row.baseline, 0.3),
                    comparison_line(ok, dataset, name, f"{name}-noCVI"),
                ]
            elif name == "StereoIRR":
                lines += [
                    margin_claim(ok, dataset, name, "Input", 3.0),
                    margin_claim(ok, dataset, name, row.baseline, 0.3),
                    margin_claim(ok, dataset, name, "StereoIRR-noDMA", 0.0),
                ]
            elif name == "RLED-Net":
                lines += [
                    margin_claim(ok, dataset, name, "Input", 6.0),
                    margin_claim(ok, dataset, name, ORACLE, 1.0),
                    comparison_line(ok, dataset, name, row.baseline),
                    comparison_line(ok, dataset, name, "RLED-Net-noLSRB"),
                ]
    return lines


def claims(results: dict) -> list[str]:
    """One line per claim this suite checks: the monocular baseline lifts PSNR over the input, each method's
    required margins (threshold, measured value, YES/NO) and the tiled restore's memory bound."""
    ok = {(r["method"], r["dataset"]): r for r in results["records"] if r["status"] == "ok"}
    lines = [margin_claim(ok, dataset, "Monocular", "Input", 0.0) for method, dataset in ok if method == "Monocular"]
    lines += method_claims(ok)
    for record in (r for r in ok.values() if r["dataset"].startswith("tiled-")):
        peak = record["cost"]["peak_mem_mb"]
        lines.append(
            f"- {record['dataset']}: {record['method']} restores it tiled under 3 GiB peak memory "
            f"({record['config']['memory_method']}): {peak:.0f} MiB: {'YES' if peak < 3 * 1024 else 'NO'}"
        )
    lines = [line for line in lines if line]
    return lines or ["- no claim could be checked (no row ran)"]


def ablation_note(args: argparse.Namespace) -> str:
    names = sorted({row.method for row in quick_rows() if row.ablation})
    if getattr(args, "ablations", False):
        return f"Ablation rows ({', '.join(names)}) were run (`--ablations`)."
    return f"Ablation rows ({', '.join(names)}) were not run: they need `--ablations` (over the CPU budget)."


def run(args: argparse.Namespace) -> dict:
    """Run the suite, then append the notes and the claims to ``results.md``.

    Torch uses its default thread count (``OMP_NUM_THREADS`` overrides it): on 2 quiet cores two threads
    train these models 1.5-2x faster than one. On a machine shared with other jobs set
    ``OMP_NUM_THREADS=1``: there two threads can be many times slower.
    """
    results = bench_main(PACKAGE, build_cases, args=args)
    checked = "\n".join(claims(results))
    if args.suite == "quick":
        notes = NOTES.format(tiled=TILED_SIZE, oracle=ORACLE, ablations=ablation_note(args), claims=checked, **QUICK)
    else:
        notes = PAPER_NOTES.format(whole=WHOLE_SIZE, tiled=TILED_SIZE, claims=checked)
    markdown = Path(args.out) / "results.md"
    markdown.write_text(markdown.read_text() + notes)
    print(notes)
    return results


def parser() -> argparse.ArgumentParser:
    """DESIGN.md's benchmark options plus ``--ablations`` (also train the ablation rows)."""
    result = bench_parser(PACKAGE)
    add_ablations_argument(result)
    return result


def add_ablations_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ablations", action="store_true", help="also run the ablation rows (over the budget)")


def main(argv: Sequence[str] | None = None) -> None:
    run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
