# make demo: set up .venv and run `pinnkan solve poisson` on its defaults
# make test: set up .venv and run the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pinnkan-installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU torch first where none is present: a bare `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0 \
		|| $(BIN)/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/pinnkan solve poisson

# the whole suite, slow convergence checks included (plain `pytest` skips those)
test: setup
	$(BIN)/python -m pytest -q -m "slow or not slow"

lint: setup
	$(BIN)/ruff check pinnkan problems tests

bench: setup
	$(BIN)/pinnkan bench

clean:
	rm -rf $(VENV) build *.egg-info
