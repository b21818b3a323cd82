"""A restricted unpickler for data files published as pickles.

Some datasets are distributed as pickles (MEGCF's ``item2sentiment.pickle``,
CIFAR-10's ``data_batch_*``). Unpickling a file runs whatever callables it
names, so these are read with an unpickler that only admits builtin containers,
numbers and strings, plus the extra globals a caller lists explicitly (e.g.
NumPy's array reconstruction for CIFAR-10).
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Iterable
from typing import Any

from .errors import DataFormatError

_BUILTIN_GLOBALS = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # how protocol 2 pickles of Python 2 store bytes
    }
)

NUMPY_ARRAY_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)
"""Globals needed to rebuild plain NumPy arrays (not object arrays)."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, path: str, allowed: frozenset, **kwargs: Any):
        super().__init__(file, **kwargs)
        self._path = path
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise DataFormatError(
            self._path,
            f"pickled global {module}.{name}",
            "only builtin containers, numbers and strings"
            + (
                " (and " + ", ".join(sorted(f"{m}.{n}" for m, n in self._allowed - _BUILTIN_GLOBALS)) + ")"
                if self._allowed - _BUILTIN_GLOBALS
                else ""
            ),
            f"a reference to {module}.{name}, which could execute code; refusing to load it",
        )


def restricted_load(
    path: str | os.PathLike, extra_globals: Iterable[tuple[str, str]] = (), encoding: str = "ASCII"
) -> Any:
    """Unpickle ``path`` admitting only builtin types and ``extra_globals``.

    Raises :class:`DataFormatError` naming the file when it references any
    other global (the callable is never imported or called) or is not a pickle.
    ``encoding`` is passed to :class:`pickle.Unpickler` (``"bytes"`` or
    ``"latin1"`` for pickles written by Python 2).
    """
    path = os.fspath(path)
    allowed = _BUILTIN_GLOBALS | frozenset(extra_globals)
    with open(path, "rb") as handle:
        try:
            return _RestrictedUnpickler(handle, path, allowed, encoding=encoding).load()
        except DataFormatError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
            raise DataFormatError(
                path, None, "a pickle file", f"unreadable content ({type(exc).__name__}: {exc})"
            ) from exc
