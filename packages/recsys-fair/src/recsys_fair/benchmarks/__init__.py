"""Benchmark rows, one module per method, gathered by :mod:`recsys_fair.bench`.

Each method module exposes ``build_cases(suite: str) -> list[lab_common.BenchCase]``; ``common``
holds the datasets, budgets and the shared ``run_row``.
"""
