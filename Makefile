# make demo: set up .venv and run `pinnkan solve poisson` on its defaults
# make test: set up .venv and run the test suite in parallel, the long convergence checks left out (CI runs it)
# make test-slow: the long convergence checks (CI runs them too)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pinnkan-installed

.PHONY: setup demo test test-slow lint bench docs docs-serve results clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU torch first where none is present: a bare `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/pinnkan solve poisson

# every test but the long convergence checks, on two workers of one thread each (plain `pytest` runs
# them in one process): two processes with a thread pool per core each would fight over the cores
test: setup
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 -m "not slow"

# the long convergence checks (marked slow), one worker: each is a whole training run
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

lint: setup
	$(BIN)/ruff check pinnkan problems tests benchmarks scripts

bench: setup
	$(BIN)/pinnkan bench

# the documentation site (site/): broken links, missing references and any other warning are errors
docs: setup
	$(BIN)/mkdocs build --strict

docs-serve: setup
	$(BIN)/mkdocs serve

# rerun the suites, the family sweep and the engine benchmark behind docs/results (hours on 2 cores), then
# rewrite their pages and the README's table (scripts/docs_outputs.py; the data-parallel page is written by
# scripts/distributed_bench.py, which needs 2 x 14 GB and is left out here)
results: setup
	$(BIN)/pinnkan suite --dir benchmarks/dev --out runs/results-dev --keep
	$(BIN)/pinnkan suite --dir benchmarks/heldout --out runs/results-heldout --keep
	$(BIN)/pinnkan suite --dir benchmarks/dev --problems schrodinger,burgers,heat_multiscale,wave1d,allen_cahn2d,heat_long,advection --set train.windows=4 --set train.max_time=240 --out runs/results-dev-windows --keep
	$(BIN)/pinnkan suite --dir benchmarks/heldout --problems heat_rough,cavity,ks,stokes --out runs/results-heldout-misses --keep
	$(BIN)/pinnkan sweep configs/families_poisson.toml --out runs/results-families --workers 2
	$(BIN)/python scripts/docs_outputs.py sweep runs/results-families families
	$(BIN)/python scripts/docs_outputs.py bench
	$(BIN)/python scripts/docs_outputs.py two-jobs
	$(BIN)/python scripts/docs_outputs.py suite runs/results-dev dev
	$(BIN)/python scripts/docs_outputs.py suite runs/results-heldout heldout
	$(BIN)/python scripts/docs_outputs.py suite runs/results-dev-windows dev-windows
	$(BIN)/python scripts/docs_outputs.py suite runs/results-heldout-misses heldout-misses
	$(BIN)/python scripts/docs_outputs.py readme runs/results-heldout

clean:
	rm -rf $(VENV) build *.egg-info site
