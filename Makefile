# The two set-up commands of the README: `make reproduce` and `make test`.
# Both create .venv on first use (pinned versions from requirements.txt) and install tvseg into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
PROFILE ?= profiles/cpu

.PHONY: env test test-all reproduce benchmark lint

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

test: env
	$(BIN)/python -m pytest -m "not slow"

test-all: env
	$(BIN)/python -m pytest

benchmark: env
	$(BIN)/python benchmarks/bench_tv_softmax.py

reproduce: env
	$(BIN)/python benchmarks/bench_tv_softmax.py

lint: env
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m ruff format --check src tests benchmarks
