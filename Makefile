# The README's two set-up commands: `make reproduce` and `make test`.
# Both create .venv on first use (pinned versions from requirements.txt) and install tvseg into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
CORES ?= all
PROFILE ?= profiles/cpu
export PATH := $(BIN):$(PATH)

.PHONY: env env-slurm test test-e2e test-all reproduce lambda-study pull benchmark lint

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

env-slurm: env              ## the optional SLURM executor plugin (profiles/slurm)
	$(BIN)/python -m pip install --quiet -r requirements-slurm.txt

test: env                   ## the fast test suite (minutes)
	$(BIN)/python -m pytest -m "not slow"

test-e2e: env               ## the slow end-to-end tests: the quick profile through the whole DAG
	$(BIN)/python -m pytest -m slow

test-all: env
	$(BIN)/python -m pytest

reproduce: env              ## the main job: the CPU-scale reproduction (PROFILE=profiles/quick for a smoke run)
	$(BIN)/snakemake --profile $(PROFILE)
	$(BIN)/snakemake --profile $(PROFILE) --report $$($(BIN)/python -c "from tvseg.config import load_config; import sys; print(load_config('config.yaml', '$(PROFILE)/tvseg.yaml')['results_dir'])")/report.html

lambda-study: env           ## lambda's scale on a WBC validation split carved from the training set (~30 min)
	$(BIN)/python -m tvseg.cli lambda-study --config config.yaml --config $(PROFILE)/tvseg.yaml \
		--dataset wbc --lams 0.5 2 8 --seeds 0 1 --validation-count 12 --quiet

benchmark: env
	$(BIN)/python benchmarks/bench_tv_softmax.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_converged.py
	$(BIN)/python benchmarks/bench_backward_tol.py

lint: env
	$(BIN)/python -m ruff check src tests benchmarks scripts
	$(BIN)/python -m ruff format --check src tests benchmarks scripts
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/

pull: env                   ## fetch cached data, checkpoints and results (dvc pull), then mark them up to date
	@mkdir -p .dvc/tmp
	@if ! $(BIN)/dvc pull > .dvc/tmp/pull.log 2>&1; then \
	  remote=$$($(BIN)/dvc remote default); \
	  url=$$($(BIN)/dvc config "remote.$$remote.url" 2>/dev/null); \
	  echo "make pull: the DVC remote '$$remote' ($$url) is missing or does not hold this version's data,"; \
	  echo "checkpoints and results (dvc's own report: .dvc/tmp/pull.log). Either run the pipeline and fill it:"; \
	  echo "  make reproduce && dvc push"; \
	  echo "or point the remote at a store that holds them: dvc remote modify --local $$remote url /path/to/store"; \
	  exit 1; \
	fi
	$(BIN)/snakemake --profile $(PROFILE) --touch --quiet
