# The README's two set-up commands: `make reproduce` and `make test`.
# Both create .venv on first use (pinned versions from requirements.txt) and install tvseg into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
CORES ?= all
PROFILE ?= profiles/cpu
# gpu-run's jobs at once on one device (reproduce-gpu, gpu-session)
JOBS ?= 1
export PATH := $(BIN):$(PATH)

.PHONY: env env-slurm test test-e2e test-all reproduce verdict lambda-study pull benchmark lint bundle-gpu reproduce-gpu render-gpu estimate-gpu render-gpu-partial gpu-session

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

env-slurm: env              ## the optional SLURM executor plugin (profiles/slurm)
	$(BIN)/python -m pip install --quiet -r requirements-slurm.txt

test: env                   ## the fast test suite (minutes); the slowest tests' times printed last
	$(BIN)/python -m pytest -m "not slow" --durations=15

test-e2e: env               ## the slow end-to-end tests: the quick profile through the whole DAG; each test's time printed last
	$(BIN)/python -m pytest -m slow --durations=0

test-all: env
	$(BIN)/python -m pytest

reproduce: env              ## the main job: the CPU-scale reproduction (PROFILE=profiles/quick for a smoke run)
	$(BIN)/snakemake --profile $(PROFILE)
	$(BIN)/snakemake --profile $(PROFILE) --report $$($(BIN)/python -c "from tvseg.core.config import load_config; import sys; print(load_config('config.yaml', '$(PROFILE)/tvseg.yaml')['results_dir'])")/report.html

# The GPU profile's bundle folder as tvseg.core.layout.bundle_dir names it, read without the schema
# (a GPU box has PyTorch and PyYAML, not jsonschema).
BUNDLE ?= $(shell PYTHONPATH=src $(PYTHON) -c "from tvseg.core.config import load_config; from tvseg.core.layout import bundle_dir; \
	print(bundle_dir(load_config('config.yaml', 'profiles/gpu/tvseg.yaml', validate_schema=False)))")

bundle-gpu: env             ## here: prepare the GPU profile's data and pack it (tvseg bundle) into $(BUNDLE)
	$(BIN)/snakemake --profile profiles/gpu bundle_prepared_data
	@mkdir -p results/gpu
	$(BIN)/python -c "import json; from tvseg.runner.bundle import describe; print(describe(json.load(open('$(BUNDLE)/bundle.json'))))" \
		| tee results/gpu/bundle.txt

reproduce-gpu:              ## on a GPU box with PyTorch alone (no .venv): every job of the bundle, JOBS at once, into results/gpu
	PYTHONPATH=src $(PYTHON) -m tvseg.cli gpu-run --bundle $(BUNDLE) --jobs $(JOBS)

estimate-gpu:               ## on the GPU box: time each network and project the profile's and the paper's cost
	PYTHONPATH=src $(PYTHON) -m tvseg.cli estimate --bundle $(BUNDLE) --out results/gpu/estimate.md

render-gpu: env             ## here, with results/gpu copied back: tables, figures, claims and the report
	$(BIN)/snakemake --profile profiles/gpu --touch $$(cat results/gpu/gpu-run-outputs.txt)
	$(BIN)/snakemake --profile profiles/gpu
	$(BIN)/snakemake --profile profiles/gpu --report results/gpu/report.html

render-gpu-partial: env     ## here, with a cut run's evaluations copied back: Table 1 and the claims of the runs it finished
	@mkdir -p results/gpu/partial
	$(BIN)/python -m tvseg.cli collect results/gpu/runs/*/seed*/evaluation.csv --out results/gpu/partial/metrics.csv
	for reading in variance std; do $(BIN)/python -m tvseg.cli table --metrics results/gpu/partial/metrics.csv \
		--number 1 --reading $$reading --out-prefix results/gpu/partial/table1_$$reading || exit 1; done
	$(BIN)/python -m tvseg.cli claims --metrics results/gpu/partial/metrics.csv --out results/gpu/partial/claims.md

gpu-session:                ## on a lent GPU box, one call: CUDA tests, benchmark, estimate, then gpu-run within BUDGET seconds
	BUNDLE=$(BUNDLE) JOBS=$(JOBS) OUT=$${OUT:-results/gpu/session} bash scripts/gpu_session.sh

verdict: env               ## rewrite README.md's verdict block from the CPU profile's results (tvseg verdict)
	$(BIN)/python -m tvseg.cli verdict --metrics results/cpu/metrics.csv --readme README.md \
		--config config.yaml --config profiles/cpu/tvseg.yaml

lambda-study: env           ## lambda's scale on a WBC validation split carved from the training set (~30 min)
	$(BIN)/python -m tvseg.cli lambda-study --config config.yaml --config $(PROFILE)/tvseg.yaml \
		--dataset wbc --lams 0.5 2 8 --seeds 0 1 --validation-count 12 --quiet

benchmark: env
	$(BIN)/python benchmarks/bench_tv_softmax.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_converged.py
	$(BIN)/python benchmarks/bench_backward_tol.py
	$(BIN)/python benchmarks/bench_cuda.py
	$(BIN)/python benchmarks/bench_train_loop.py --crop 96 96 --iterations 12 --repeats 7

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
	SNAKEMAKE=$(BIN)/snakemake bash scripts/mark_up_to_date.sh $(PROFILE)
