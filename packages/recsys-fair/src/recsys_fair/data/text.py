"""Line-oriented parsing shared by the readers of real data (recsys-common.md, section 3).

Blank lines are skipped and trailing whitespace stripped; a malformed line raises
:class:`lab_common.DataFormatError` naming the file, the 1-based line number, what was expected and
what was found. Integer files are parsed with a fast path (``map(int, ...)`` per line, range checks
vectorised afterwards) and only a failing line is re-examined token by token for the message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from lab_common import DataFormatError


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataFormatError(path, None, "an existing file", "no such file")
    return path


def records(path: Path, sep: str | None, n_fields: int | None = None, encoding: str = "utf-8") -> Iterator[tuple]:
    """``(line_no, fields)`` of every non-blank line; ``sep=None`` splits on whitespace.

    Raises on an empty file and, with ``n_fields``, on a line with another number of fields.
    """
    any_line = False
    with open(require_file(path), encoding=encoding) as handle:
        for line_no, line in enumerate(handle, 1):
            line = line.rstrip()
            if not line.strip():
                continue
            any_line = True
            fields = line.split(sep)
            if n_fields is not None and len(fields) != n_fields:
                raise DataFormatError(
                    path, line_no, f"{n_fields} fields separated by {sep or 'whitespace'!r}", f"{len(fields)}: {line!r}"
                )
            yield line_no, fields
    if not any_line:
        raise DataFormatError(path, None, "at least one record", "an empty file")


def to_int(path: str | os.PathLike, line_no: int, token: str, what: str, low: int | None = 0) -> int:
    """``int(token)``, or a ``DataFormatError`` saying which field of which line was not an integer."""
    try:
        value = int(token)
    except ValueError:
        raise DataFormatError(path, line_no, f"an integer {what}", repr(token)) from None
    if low is not None and value < low:
        raise DataFormatError(path, line_no, f"{what} >= {low}", str(value))
    return value


def _parse_ints(path: Path, line_no: int, fields: Sequence[str], names: Sequence[str]) -> list[int]:
    try:
        return list(map(int, fields))
    except ValueError:
        for token, what in zip(fields, names):
            to_int(path, line_no, token, what, low=None)
        raise


def check_range(
    path: Path, values: np.ndarray, line_nos: np.ndarray, what: str, low: int, high: int | None = None
) -> None:
    """Raise naming the first line whose value lies outside ``[low, high]``."""
    bad = values < low if high is None else (values < low) | (values > high)
    if bad.any():
        row = int(np.argmax(bad))
        expected = f"{what} >= {low}" if high is None else f"{what} in {low}..{high}"
        raise DataFormatError(path, int(line_nos[row]), expected, str(int(values[row])))


def int_table(path: Path, sep: str, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``[n, len(names)]`` int64 rows of a separated integer file and the line number of each row."""
    rows, lines = [], []
    for line_no, fields in records(path, sep, len(names)):
        rows.append(_parse_ints(path, line_no, fields, names))
        lines.append(line_no)
    return np.asarray(rows, dtype=np.int64).reshape(-1, len(names)), np.asarray(lines, dtype=np.int64)


def id_lists(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``head id id ...`` file (NGCF and MEGCF formats, 0-based ids; a line may list only its head).

    Returns ``(heads [n_lines], pairs [n, 2] of (head, id), line number of each pair)``.
    """
    heads, ids, counts, lines = [], [], [], []
    for line_no, fields in records(path, None):
        values = _parse_ints(path, line_no, fields, ["leading id"] + ["id"] * (len(fields) - 1))
        heads.append(values[0])
        ids += values[1:]
        counts.append(len(values) - 1)
        lines.append(line_no)
    heads_np, counts_np, lines_np = (np.asarray(x, dtype=np.int64) for x in (heads, counts, lines))
    check_range(path, heads_np, lines_np, "leading id", 0)
    pair_lines = np.repeat(lines_np, counts_np)
    ids_np = np.asarray(ids, dtype=np.int64)
    check_range(path, ids_np, pair_lines, "id", 0)
    return heads_np, np.stack([np.repeat(heads_np, counts_np), ids_np], 1), pair_lines
