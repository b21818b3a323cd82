"""Benchmark rows of megcf (filled in by its issue)."""

from __future__ import annotations

from lab_common import BenchCase


def build_cases(suite: str) -> list[BenchCase]:
    return []
