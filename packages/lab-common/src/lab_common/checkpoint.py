"""Checkpoints: one file with weights, config and metadata, written atomically.

A checkpoint is a dictionary ``{"format", "state", "config", "meta"}`` saved
with :func:`torch.save` and read back with ``torch.load(..., weights_only=True)``,
so loading never executes code from the file. ``state`` holds tensors and
builtins (model and optimiser ``state_dict``s, epoch counters, RNG states),
``config`` the constructor arguments needed to rebuild the model and ``meta``
free-form provenance (library versions, creation time, metrics).
"""

from __future__ import annotations

import datetime as _dt
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

FORMAT = "lab-common-checkpoint/1"


def save_checkpoint(
    path: str | os.PathLike,
    state: dict[str, Any],
    config: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path.

    The file is first written to a temporary file in the destination folder and
    then moved over ``path`` with :func:`os.replace`, so an interrupted save
    leaves the previous checkpoint intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"created": _dt.datetime.now(_dt.UTC).isoformat(), "torch": str(torch.__version__), **(meta or {})}
    payload = {"format": FORMAT, "state": state, "config": dict(config or {}), "meta": meta}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns the dictionary with keys ``state``, ``config`` and ``meta``. Raises
    :class:`CheckpointError` when the file is missing, truncated or corrupted,
    carries anything but tensors and builtins (a pickle that would run code is
    refused, never executed), or was not written by :func:`save_checkpoint`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: the file holds objects other than tensors and builtin "
            f"containers (weights_only=True), so it is not a checkpoint of ours or it was tampered with ({exc})"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: corrupted or truncated checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a lab-common checkpoint (expected format {FORMAT!r}, found {found!r})")
    return {"state": payload["state"], "config": payload["config"], "meta": payload["meta"]}
