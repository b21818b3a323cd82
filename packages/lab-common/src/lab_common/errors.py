"""Error types shared by every package of the lab."""

from __future__ import annotations

import os


class LabError(Exception):
    """Base class of the errors raised by the lab's libraries."""


class DataFormatError(LabError, ValueError):
    """A data file does not have the format its reader expects.

    The message names the file, where in it the problem is (a line, an item or a
    key), what was expected and what was found, so the user can fix the file
    without reading the reader's source.
    """

    def __init__(self, path: str | os.PathLike, where: str | int | None, expected: str, found: str):
        self.path = os.fspath(path)
        self.where = where
        self.expected = expected
        self.found = found
        location = self.path if where is None else f"{self.path}, {_describe_where(where)}"
        super().__init__(f"{location}: expected {expected}, found {found}")

    def __reduce__(self):
        return type(self), (self.path, self.where, self.expected, self.found)


def _describe_where(where: str | int) -> str:
    return f"line {where}" if isinstance(where, int) else str(where)


class CheckpointError(LabError):
    """A checkpoint file is missing, truncated, corrupted or not one of ours."""


class NonFiniteLossError(LabError, FloatingPointError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""
