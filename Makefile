# The README's commands. Every target creates .venv and installs the project when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo stop test lint bench bench-full drills simulate-week clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: start the local stack (Temporal, backoffice, worker) and run the sample launch
demo: $(STAMP)
	$(BIN)/python -m devstack up
	$(BIN)/python starter.py demo run

## stop: stop everything `make demo` started
stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m devstack down; else echo "nothing to stop"; fi

## lint: ruff and mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## test: lint, then the whole test suite
test: lint
	$(BIN)/python -m pytest -q

## drills: fault drills on a fresh stack, every effect counted from the backoffice ledger
drills: $(STAMP)
	$(BIN)/python -m drills

## bench: benchmarks, each printing figures measured against a baseline of the same run
bench: $(STAMP)
	$(BIN)/python bench/suite.py

## bench-full: the benchmarks at their large sizes too
bench-full: $(STAMP)
	$(BIN)/python bench/suite.py --full

## simulate-week: one promotion week of real data through a fresh stack, scored on KPIs (reports/)
simulate-week: $(STAMP)
	$(BIN)/python starter.py simulate-week $(SIM_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
