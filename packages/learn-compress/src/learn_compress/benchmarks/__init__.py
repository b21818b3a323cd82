"""Benchmark rows of each method (one module per paper), gathered by :mod:`learn_compress.bench`.

Each module exposes ``build_cases(suite: str) -> list[lab_common.BenchCase]`` with the method's rows and
its baselines' rows for the ``quick`` or ``paper`` suite.
"""
