"""Progress bars that stay silent in logs, CI and under ``--quiet``."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

from .distributed import is_main_process


def progress(iterable: Iterable | None = None, *, quiet: bool = False, **kwargs: Any) -> tqdm:
    """A :class:`tqdm` bar, disabled when ``quiet``, when stderr is not a terminal,
    or on any rank but the main one."""
    disable = quiet or not _stderr_is_terminal() or not is_main_process()
    return tqdm(iterable, disable=disable, dynamic_ncols=True, leave=False, **kwargs)


def _stderr_is_terminal() -> bool:
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()
