"""Benchmark suite of lowlevel-vision: ``python -m lowlevel_vision.bench --suite quick --out DIR``.

Options and the results schema are those of DESIGN.md (see :mod:`lab_common.bench`). The quick suite
(vision-common §12) trains every model of a task with the same steps, batch, crops, optimiser and seed
on layered synthetic stereo scenes (rain: ``StereoRain("default")``; low light:
``LowLight("stereo_bench")``), evaluates it on a fixed held-out set, and, when ``--data-root`` holds
``middlebury-motorcycle``, on that real pair degraded with a fixed seed (models trained on the synthetic
task, nothing trained on the real pair). Rows: ``Input`` (the degraded input) and ``Monocular`` (the
NAFNet-style baseline, width matched to the tiny stereo budget) per data set; a tiling row restores a
2048×2048 stereo pair in a fresh child process and reports its peak RSS. Sample images (input / output /
ground truth) are written under ``DIR/samples/<dataset>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch
from torch import nn

from lab_common import BenchCase, BenchContext, CaseResult, bench_main, bench_parser, count_parameters

from . import models  # noqa: F401  (models register themselves)
from .data import Degraded, LowLight, StereoFiles, StereoRain, SyntheticStereo
from .evaluation import Evaluation, evaluate
from .io import write_png
from .registry import MODELS
from .tiling import tiled_forward
from .training import TrainConfig, Trainer

PACKAGE = "lowlevel-vision"
PROTOCOL = "rgb"
TINY_BLOCKS = {"enc_blocks": (1, 1, 1), "middle_blocks": 1, "dec_blocks": (1, 1, 1), "refine_blocks": 0}
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
}
PRESETS = {"rain": "default", "lowlight": "stereo_bench"}
SAMPLES = 4
TILED_SIZE = 2048
_TRAINED: dict[tuple[str, str], tuple[nn.Module, float, int]] = {}


def build_model(name: str) -> nn.Module:
    """The quick-suite configuration of a registered model."""
    if name == "Monocular":
        return MODELS.get("Monocular").matching(QUICK["match_params"], **TINY_BLOCKS)
    return MODELS.build(name)


def train_set(task: str, seed: int) -> SyntheticStereo:
    count = QUICK["steps"] * QUICK["batch_size"]
    return SyntheticStereo(
        task, PRESETS[task], count, QUICK["train_crop"], seed, fixed=False, disparity=QUICK["disparity"]
    )


def synthetic_test_set(task: str) -> SyntheticStereo:
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


def trained_model(name: str, task: str, ctx: BenchContext) -> tuple[nn.Module, float, int]:
    """Train ``name`` on the synthetic ``task`` once per process (the Middlebury rows reuse it)."""
    key = (name, task)
    if key not in _TRAINED:
        model = build_model(name)
        steps = QUICK["steps"] if any(True for _ in model.parameters()) else 0
        config = TrainConfig(
            steps=steps, batch_size=QUICK["batch_size"], lr=QUICK["lr"], seed=ctx.seed, log_every=0, protocol=PROTOCOL
        )
        start = time.perf_counter()
        if steps:
            Trainer(model, config, device=ctx.device, model_name=name, quiet=ctx.quiet).fit(train_set(task, ctx.seed))
        _TRAINED[key] = (model.to(memory_format=torch.contiguous_format).eval(), time.perf_counter() - start, steps)
    return _TRAINED[key]


def run_row(name: str, task: str, real: bool, ctx: BenchContext) -> CaseResult:
    model, train_s, steps = trained_model(name, task, ctx)
    dataset = middlebury_test_set(task, ctx.dataset_path("middlebury-motorcycle")) if real else synthetic_test_set(task)
    result = evaluate(model, dataset, PROTOCOL, ctx.device, keep=SAMPLES)
    folder = ctx.out_dir / "samples" / dataset_name(task, real)
    write_samples(folder, name, dataset, result)
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
            "task": task,
            "trained_on": dataset_name(task, False),
            "model_config": {
                k: list(v) if isinstance(v, tuple) else v for k, v in getattr(model, "config", {}).items()
            },
        },
    )


def dataset_name(task: str, real: bool) -> str:
    return f"{'middlebury-motorcycle' if real else 'synthetic-stereo'}-{task}"


def write_samples(folder: Path, name: str, dataset, result: Evaluation) -> None:
    """``<k>_{input,gt}_{L,R}.png``, and for a trained model ``<k>_<method>_{L,R}.png`` and ``<k>_<method>_grid.png``.

    Grid: rows L and R; columns input, output, ground truth, ``4·|output − gt|``; 2-pixel white separators.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for k, outputs in enumerate(result.outputs):
        sample = dataset[k]
        rows = []
        for side, output in zip("LR", outputs, strict=True):
            lq, gt = sample[f"lq_{side.lower()}"], sample[f"gt_{side.lower()}"]
            images = {"input": lq, "gt": gt, **({} if name == "Input" else {name: output})}
            for label, image in images.items():
                write_png(image, folder / f"{k}_{label}_{side}.png", overwrite=True)
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


def measure_tiled_restore(size: int = TILED_SIZE, tile: tuple[int, int | None] = (256, None)) -> dict[str, float]:
    """Restore a random ``size``×``size`` stereo pair with the quick-suite Monocular, tiled; seconds and peak RSS.

    Meant to run in a fresh process (:func:`tiled_restore_case` starts one), so the RSS high-water mark
    is the inference's own.
    """
    torch.manual_seed(0)
    model = build_model("Monocular").eval()
    left, right = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
    start = time.perf_counter()
    tiled_forward(model, left, right, tile=tile, overlap=32)
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as handle:
        peak = next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmHWM:"))
    return {"seconds": seconds, "peak_rss_mb": peak, "mpix_s": 2 * size * size / 1e6 / seconds}


def tiled_restore_case(ctx: BenchContext) -> CaseResult:
    code = "import json, lowlevel_vision.bench as b; print(json.dumps(b.measure_tiled_restore()))"
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}  # the parent's thread setting
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    params = count_parameters(build_model("Monocular"))
    return CaseResult(
        metrics={"peak_rss_mb": measured["peak_rss_mb"], "under_3gb": float(measured["peak_rss_mb"] < 3 * 1024)},
        eval_s=measured["seconds"],
        params=params,
        throughput=measured["mpix_s"],
        throughput_unit="Mpix/s",
        config={
            "size": TILED_SIZE,
            "tile": "256 rows x full width",
            "overlap": 32,
            "memory_method": "VmHWM of a fresh child process",
        },
    )


def build_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The rows of the ``args.suite`` suite, in table order."""
    if args.suite != "quick":
        return []  # the paper suite arrives with the methods (their real data sets and checkpoints)
    cases = []
    for real in (False, True):
        for task in ("rain", "lowlight"):
            requires = ["middlebury-motorcycle"] if real else []
            for name in ("Input", "Monocular"):
                cases.append(
                    BenchCase(
                        name,
                        dataset_name(task, real),
                        partial(run_row, name, task, real),
                        role="baseline",
                        requires=requires,
                        config={
                            "protocol": PROTOCOL,
                            **{k: list(v) if isinstance(v, tuple) else v for k, v in QUICK.items()},
                        },
                    )
                )
    cases.append(BenchCase("Monocular", f"tiled-{TILED_SIZE}x{TILED_SIZE}", tiled_restore_case, role="baseline"))
    return cases


NOTES = """
## Notes

- Protocol `rgb` (vision-common §6): PSNR/SSIM on RGB after clamping and rounding to uint8, no border crop,
  mean of per-image values; `_l` left view, `_r` right view, `_avg` = (L + R) / 2.
- Training (same for every trained row): {steps} steps, batch {batch_size} pairs, crops {train_crop[0]}x{train_crop[1]},
  disparity {disparity[0]}-{disparity[1]} px, AdamW lr {lr} betas (0.9, 0.9), cosine to 1e-7, Charbonnier loss.
  Test: {test_pairs} synthetic pairs {test_size[0]}x{test_size[1]} (seed {test_seed}); Middlebury Motorcycle
  (741x500) degraded with seed {test_seed}, restored by the models trained on the synthetic task (their
  `train s` is that training run's, shared with the synthetic row, not a second run).
- `Monocular` is the NAFNet-style U-Net matched to the tiny stereo budget ({match_params:,} parameters).
- `throughput` is inference megapixels (both views) per second; `peak MiB` is the process RSS high-water mark
  during the row; the tiling row measures a fresh child process restoring a {tiled}x{tiled} stereo pair in
  256-row full-width strips (`under_3gb` = 1 when its peak RSS is below 3 GiB).
- Samples: `samples/<dataset>/<k>_<method>_grid.png`, rows L and R, columns input | output | ground truth |
  4·|output − gt|; single images `<k>_{{input,gt,<method>}}_{{L,R}}.png`.

## Claims

{claims}
"""


def claims(results: dict) -> list[str]:
    """One line per claim this suite checks: the monocular baseline lifts PSNR over the input."""
    lines = []
    ok = {(r["method"], r["dataset"]): r for r in results["records"] if r["status"] == "ok"}
    for (method, dataset), record in ok.items():
        base = ok.get(("Input", dataset))
        if method == "Monocular" and base is not None:
            gain = min(record["metrics"][f"psnr_{v}"] - base["metrics"][f"psnr_{v}"] for v in "lr")
            lines.append(
                f"- {dataset}: Monocular above Input on both views (threshold > 0 dB): "
                f"min gain {gain:+.2f} dB: {'YES' if gain > 0 else 'NO'}"
            )
    tiled = [r for r in ok.values() if r["dataset"].startswith("tiled-")]
    for record in tiled:
        peak = record["metrics"]["peak_rss_mb"]
        lines.append(
            f"- {record['dataset']} stereo restore under 3 GiB peak RSS on CPU: {peak:.0f} MiB: "
            f"{'YES' if peak < 3 * 1024 else 'NO'}"
        )
    return lines or ["- no claim could be checked (no row ran)"]


def run(args: argparse.Namespace) -> dict:
    """Run the suite, then append the notes and the claims to ``results.md``.

    Unless ``OMP_NUM_THREADS`` says otherwise, torch runs one intra-op thread: on a shared 2-core machine
    two threads made a training step of these small models up to 10x slower (thread synchronisation);
    ``results.json`` records the thread count under ``machine.torch_threads``.
    """
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    results = bench_main(PACKAGE, build_cases, args=args)
    notes = NOTES.format(tiled=TILED_SIZE, claims="\n".join(claims(results)), **QUICK)
    markdown = Path(args.out) / "results.md"
    markdown.write_text(markdown.read_text() + notes)
    print(notes)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    run(bench_parser(PACKAGE).parse_args(argv))


if __name__ == "__main__":
    main()
