"""The benchmark harness shared by the three domain packages.

A package describes its suite as a list of :class:`BenchCase` (one row each:
a method or baseline on a dataset) and hands it to :func:`run_suite`, or to
:func:`bench_main` which also parses the standard command line::

    python -m <package>.bench --suite quick|paper --out DIR [--data-root PATH]
        [--only NAME ...] [--device cpu|cuda] [--seed N] [--quiet]

Each case is run in turn with the same seed; its wall time and peak memory
are measured here, its metrics, timings of the training and evaluation phases,
parameter count and throughput come from the case. A case that raises is
recorded as ``failed`` and the suite goes on; a case whose real dataset is not
under the data root is recorded as ``skipped`` with the reason. After every
case ``DIR/results.json`` (the schema of DESIGN.md) and ``DIR/results.md`` are
rewritten atomically, so an interrupted run keeps the rows it finished.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from .seed import seed_everything

log = logging.getLogger(__name__)

STATUSES = ("ok", "skipped", "failed")
ROLES = ("method", "baseline")
COST_KEYS = ("train_s", "eval_s", "peak_mem_mb", "params", "throughput", "throughput_unit")


@dataclass
class BenchContext:
    """What a case receives: where the data is, the device, the seed, the suite."""

    suite: str
    seed: int
    device: torch.device
    data_root: Path | None
    out_dir: Path
    quiet: bool = True

    def dataset_path(self, name: str) -> Path:
        """The folder of real dataset ``name`` under the data root."""
        if self.data_root is None:
            raise FileNotFoundError(f"dataset {name!r} needs --data-root or LAB_DATA_ROOT")
        return self.data_root / name


@dataclass
class CaseResult:
    """What a case returns: its metrics and the costs only it can measure.

    ``peak_mem_mb`` is for a case that measured its own peak memory (say, in a fresh child process); when
    left ``None`` the runner records the high-water mark of the row itself.
    """

    metrics: dict[str, float]
    train_s: float = 0.0
    eval_s: float = 0.0
    params: int = 0
    throughput: float = 0.0
    throughput_unit: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    peak_mem_mb: float | None = None


@dataclass
class BenchCase:
    """One row of a benchmark table.

    ``run(ctx)`` trains and evaluates and returns a :class:`CaseResult`.
    ``requires`` names real dataset folders that must exist under the data
    root; when one is absent the case is skipped with that reason.
    """

    method: str
    dataset: str
    run: Callable[[BenchContext], CaseResult]
    role: str = "method"
    baseline: str | None = None
    requires: Sequence[str] = ()
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.role == "method" and self.baseline is None:
            log.debug("case %s on %s has no baseline", self.method, self.dataset)


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """``with timed() as t: ...`` then ``t["seconds"]`` is the elapsed wall time."""
    record = {"seconds": 0.0}
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["seconds"] = time.perf_counter() - start


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def reset_peak_memory(device: torch.device) -> None:
    """Reset the peak-memory counter (the RSS high-water mark on Linux, CUDA's allocator peak on GPU)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # Linux >= 4.0: writing 5 to clear_refs resets VmHWM
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory since the last :func:`reset_peak_memory`, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def run_suite(
    package: str,
    suite: str,
    cases: Sequence[BenchCase],
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    data_root: str | os.PathLike | None = None,
    only: Sequence[str] | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Run ``cases`` and write ``results.json`` and ``results.md`` into ``out_dir``.

    ``only`` keeps the cases whose method or dataset is listed (the baseline a
    kept method names is kept too, so every ratio has its reference).
    """
    device = torch.device(device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(data_root) if data_root else None
    selected = select_cases(cases, only)
    if only and not selected:
        known = sorted({c.method for c in cases} | {c.dataset for c in cases})
        raise ValueError(f"--only {' '.join(only)} matches no case; known: {', '.join(known)}")
    results = {
        "package": package,
        "suite": suite,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "versions": _versions(package),
        "machine": _machine(device),
        "records": [],
    }
    ctx = BenchContext(suite=suite, seed=seed, device=device, data_root=root, out_dir=out, quiet=quiet)
    for case in selected:
        log.info("%s on %s ...", case.method, case.dataset)
        record = run_case(case, ctx)
        log.info("%s on %s: %s", case.method, case.dataset, record["status"])
        results["records"].append(record)
        write_results(results, out)
    write_results(results, out)
    return results


def select_cases(cases: Sequence[BenchCase], only: Sequence[str] | None) -> list[BenchCase]:
    if not only:
        return list(cases)
    wanted = set(only)
    kept = [c for c in cases if c.method in wanted or c.dataset in wanted]
    baselines = {(c.baseline, c.dataset) for c in kept if c.baseline}
    return [c for c in cases if c in kept or (c.method, c.dataset) in baselines]


def run_case(case: BenchCase, ctx: BenchContext) -> dict[str, Any]:
    """Run one case and return its record (never raises for the case's own errors)."""
    record: dict[str, Any] = {
        "method": case.method,
        "role": case.role,
        "baseline": case.baseline,
        "dataset": case.dataset,
        "status": "ok",
        "metrics": {},
        "cost": {},
        "config": dict(case.config),
    }
    missing = [name for name in case.requires if ctx.data_root is None or not (ctx.data_root / name).exists()]
    if missing:
        where = (
            "no --data-root given and LAB_DATA_ROOT unset" if ctx.data_root is None else f"not under {ctx.data_root}"
        )
        record.update(status="skipped", reason=f"dataset {', '.join(missing)} absent ({where})")
        return record
    seed_everything(ctx.seed)
    reset_peak_memory(ctx.device)
    start = time.perf_counter()
    try:
        result = case.run(ctx)
    except Exception as exc:  # a failing row is recorded, the suite goes on
        log.error("%s on %s failed:\n%s", case.method, case.dataset, traceback.format_exc())
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return record
    wall = time.perf_counter() - start
    record["metrics"] = {k: float(v) for k, v in result.metrics.items()}
    record["cost"] = {
        "train_s": float(result.train_s),
        "eval_s": float(result.eval_s),
        "wall_s": float(wall),
        "peak_mem_mb": float(peak_memory_mb(ctx.device) if result.peak_mem_mb is None else result.peak_mem_mb),
        "params": int(result.params),
        "throughput": float(result.throughput),
        "throughput_unit": result.throughput_unit,
    }
    record["config"].update(result.config)
    return record


def write_results(results: dict[str, Any], out_dir: str | os.PathLike) -> None:
    """Write ``results.json`` and ``results.md`` atomically."""
    problems = validate_results(results)
    if problems:
        raise ValueError("results do not follow the schema: " + "; ".join(problems))
    out = Path(out_dir)
    _atomic_write(out / "results.json", json.dumps(results, indent=2) + "\n")
    _atomic_write(out / "results.md", render_markdown(results))


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def validate_results(results: Any) -> list[str]:
    """Problems with ``results`` against DESIGN.md's schema (empty when valid)."""
    problems: list[str] = []
    if not isinstance(results, dict):
        return [f"results must be an object, found {type(results).__name__}"]
    for key, kind in (
        ("package", str),
        ("suite", str),
        ("created", str),
        ("seed", int),
        ("versions", dict),
        ("machine", dict),
        ("records", list),
    ):
        if not isinstance(results.get(key), kind):
            problems.append(f"top-level {key!r} must be {kind.__name__}, found {type(results.get(key)).__name__}")
    if isinstance(results.get("created"), str):
        try:
            _dt.datetime.fromisoformat(results["created"])
        except ValueError:
            problems.append(f"'created' is not ISO-8601: {results['created']!r}")
    for i, record in enumerate(results.get("records") or []):
        problems += [f"record {i}: {p}" for p in _validate_record(record)]
    return problems


def _validate_record(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return [f"must be an object, found {type(record).__name__}"]
    problems = []
    for key in ("method", "dataset"):
        if not isinstance(record.get(key), str) or not record.get(key):
            problems.append(f"{key!r} must be a non-empty string")
    if record.get("role") not in ROLES:
        problems.append(f"'role' must be one of {ROLES}, found {record.get('role')!r}")
    if record.get("baseline") is not None and not isinstance(record["baseline"], str):
        problems.append("'baseline' must be a string or null")
    status = record.get("status")
    if status not in STATUSES:
        problems.append(f"'status' must be one of {STATUSES}, found {status!r}")
    if status == "skipped" and not isinstance(record.get("reason"), str):
        problems.append("a skipped record needs a 'reason'")
    if status == "failed" and not isinstance(record.get("error"), str):
        problems.append("a failed record needs an 'error'")
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        problems.append("'metrics' must be an object")
    else:
        for name, value in metrics.items():
            if name != name.lower():
                problems.append(f"metric key {name!r} must be lower case")
            if not isinstance(value, (int, float)):
                problems.append(f"metric {name!r} must be a number, found {type(value).__name__}")
    cost = record.get("cost")
    if not isinstance(cost, dict):
        problems.append("'cost' must be an object")
    elif status == "ok":
        for key in COST_KEYS:
            if key not in cost:
                problems.append(f"cost lacks {key!r}")
    if not isinstance(record.get("config"), dict):
        problems.append("'config' must be an object")
    return problems


def render_markdown(results: dict[str, Any]) -> str:
    """A table per dataset that a person reads, then the skipped and failed rows."""
    lines = [
        f"# {results['package']} benchmark: {results['suite']} suite",
        "",
        f"Created {results['created']}, seed {results['seed']}, "
        f"{results['machine'].get('cpus')} CPUs, device {results['machine'].get('device')}. "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        "",
    ]
    records = results["records"]
    if not records:
        lines += ["No case ran: no method is registered in this suite yet.", ""]
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    for dataset in datasets:
        rows = [r for r in records if r["dataset"] == dataset and r["status"] == "ok"]
        if not rows:
            continue
        metric_keys = list(dict.fromkeys(k for r in rows for k in r["metrics"]))
        header = [
            "method",
            "role",
            *metric_keys,
            "train s",
            "eval s",
            "peak MiB",
            "params",
            "throughput",
            "train time / baseline",
        ]
        lines += [f"## {dataset}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        by_method = {r["method"]: r for r in rows}
        for r in rows:
            cost = r["cost"]
            reference = by_method.get(r["baseline"]) if r.get("baseline") else None
            ratio = (
                f"{cost['train_s'] / reference['cost']['train_s']:.2f}x vs {r['baseline']}"
                if reference and reference["cost"]["train_s"] > 0
                else ""
            )
            cells = [
                r["method"],
                r["role"] + (f" (vs {r['baseline']})" if r.get("baseline") else ""),
                *(_fmt(r["metrics"].get(k)) for k in metric_keys),
                f"{cost['train_s']:.1f}",
                f"{cost['eval_s']:.2f}",
                f"{cost['peak_mem_mb']:.0f}",
                f"{cost['params']:,}",
                f"{cost['throughput']:.3g} {cost['throughput_unit']}".strip(),
                ratio,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    others = [r for r in records if r["status"] != "ok"]
    if others:
        lines += ["## Not run", "", "| method | dataset | status | why |", "|---|---|---|---|"]
        for r in others:
            why = r.get("reason") or r.get("error") or ""
            lines.append(f"| {r['method']} | {r['dataset']} | {r['status']} | {why.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _versions(package: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "torch": str(torch.__version__)}
    for name in dict.fromkeys(["lab-common", package]):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _machine(device: torch.device) -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine: dict[str, Any] = {"cpus": cpus, "device": device.type, "torch_threads": torch.get_num_threads()}
    if device.type == "cuda" and torch.cuda.is_available():
        machine["gpu"] = torch.cuda.get_device_name(device)
    return machine


def bench_parser(package: str, description: str | None = None) -> argparse.ArgumentParser:
    """The standard benchmark command line of DESIGN.md."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {package.replace('-', '_')}.bench", description=description or f"Benchmark suite of {package}."
    )
    add_bench_arguments(parser)
    return parser


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        choices=("quick", "paper"),
        default="quick",
        help="quick: synthetic data, 2 CPU cores, <= 15 min; paper: the published schedule",
    )
    parser.add_argument("--out", default="results", help="folder for results.json, results.md (and samples)")
    parser.add_argument(
        "--data-root",
        default=None,
        help="folder holding real datasets under their usual names (default: $LAB_DATA_ROOT)",
    )
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these methods or datasets")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def resolve_data_root(value: str | None) -> Path | None:
    """``--data-root`` if given, else ``$LAB_DATA_ROOT``, else None."""
    value = value or os.environ.get("LAB_DATA_ROOT") or None
    return Path(value).expanduser() if value else None


def bench_main(
    package: str,
    build_cases: Callable[[argparse.Namespace], Sequence[BenchCase]],
    argv: Sequence[str] | None = None,
    args: argparse.Namespace | None = None,
) -> dict[str, Any]:
    """Parse the standard options (unless ``args`` is given), run the suite and print its table."""
    if args is None:
        args = bench_parser(package).parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device")
    data_root = resolve_data_root(args.data_root)
    cases = build_cases(args)
    results = run_suite(
        package,
        args.suite,
        cases,
        args.out,
        seed=args.seed,
        device=args.device,
        data_root=data_root,
        only=args.only,
        quiet=args.quiet,
    )
    print(render_markdown(results))
    print(f"results written to {Path(args.out) / 'results.json'} and results.md")
    return results
