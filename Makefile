# One virtual environment for the four packages, created once and reused.
# It is re-installed only when constraints.txt or a pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := lab-common recsys-fair lowlevel-vision learn-compress
PYPROJECTS := pyproject.toml $(foreach p,$(PACKAGES),packages/$(p)/pyproject.toml)
PYTEST := $(PY) -m pytest
# Forward LAB_DATA_ROOT to the benchmarks when it is set.
DATA_ROOT_ARG := $(if $(LAB_DATA_ROOT),--data-root $(LAB_DATA_ROOT),)
BENCH_ARGS ?=

.PHONY: install test test-slow bench bench-recsys bench-vision bench-compress lint clean

install: $(STAMP)

$(STAMP): constraints.txt $(PYPROJECTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --constraint constraints.txt \
		$(foreach p,$(PACKAGES),--editable packages/$(p)) av pytest ruff
	touch $(STAMP)

test: install
	$(PYTEST) -m "not slow" tests

test-slow: install
	$(PYTEST) -m slow tests

bench: bench-recsys bench-vision bench-compress

bench-recsys: install
	$(PY) -m recsys_fair.bench --suite quick --out results/recsys-fair $(DATA_ROOT_ARG) $(BENCH_ARGS)

bench-vision: install
	$(PY) -m lowlevel_vision.bench --suite quick --out results/lowlevel-vision $(DATA_ROOT_ARG) $(BENCH_ARGS)

bench-compress: install
	$(PY) -m learn_compress.bench --suite quick --out results/learn-compress $(DATA_ROOT_ARG) $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check packages tests
	$(VENV)/bin/ruff format --check packages tests

clean:
	rm -rf $(VENV) results build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find packages -name '*.egg-info' -type d -prune -exec rm -rf {} +
