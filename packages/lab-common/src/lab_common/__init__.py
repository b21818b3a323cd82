"""lab-common: what the lab's three libraries share, and nothing more.

- :func:`seed_everything` and RNG state capture for exact resume;
- :class:`Registry`, a name registry with helpful errors;
- :func:`save_checkpoint` / :func:`load_checkpoint`, atomic and ``weights_only``;
- :func:`restricted_load`, an unpickler for datasets published as pickles;
- torchrun/DDP helpers (:func:`init_distributed`, :func:`all_reduce_mean`, :func:`wrap_ddp`, ...);
- :func:`progress`, a tqdm bar that is silent off a terminal;
- training guards (:func:`ensure_finite`, :class:`EarlyStopping`, :class:`History`);
- the benchmark harness (:class:`BenchCase`, :func:`run_suite`, :func:`bench_main`);
- the error types (:class:`DataFormatError`, :class:`CheckpointError`, :class:`NonFiniteLossError`).
"""

from .bench import (
    BenchCase,
    BenchContext,
    CaseResult,
    bench_main,
    bench_parser,
    count_parameters,
    render_markdown,
    run_suite,
    timed,
    validate_results,
)
from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import (
    DistributedContext,
    all_reduce_mean,
    barrier,
    cleanup_distributed,
    get_rank,
    get_world_size,
    init_distributed,
    is_distributed,
    is_main_process,
    unwrap_model,
    wrap_ddp,
)
from .errors import CheckpointError, DataFormatError, LabError, NonFiniteLossError
from .progress import progress
from .registry import Registry
from .seed import get_rng_state, seed_everything, set_rng_state
from .training import EarlyStopping, History, ensure_finite
from .unpickle import NUMPY_ARRAY_GLOBALS, restricted_load

__version__ = "0.1.0"

__all__ = [
    "BenchCase",
    "BenchContext",
    "CaseResult",
    "CheckpointError",
    "DataFormatError",
    "DistributedContext",
    "EarlyStopping",
    "History",
    "LabError",
    "NUMPY_ARRAY_GLOBALS",
    "NonFiniteLossError",
    "Registry",
    "all_reduce_mean",
    "barrier",
    "bench_main",
    "bench_parser",
    "cleanup_distributed",
    "count_parameters",
    "ensure_finite",
    "get_rank",
    "get_rng_state",
    "get_world_size",
    "init_distributed",
    "is_distributed",
    "is_main_process",
    "load_checkpoint",
    "progress",
    "render_markdown",
    "restricted_load",
    "run_suite",
    "save_checkpoint",
    "seed_everything",
    "set_rng_state",
    "timed",
    "unwrap_model",
    "validate_results",
    "wrap_ddp",
]
