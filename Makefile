# Two entry points for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WAREHOUSE ?= warehouse

.PHONY: demo test test-fast check evaluate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fusion run --config data/samples/fusion.yaml --warehouse $(WAREHOUSE)

evaluate: $(STAMP)
	$(BIN)/fusion evaluate --warehouse $(WAREHOUSE) --truth data/samples/truth

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy connectors matching lineage pipelines

clean:
	rm -rf $(WAREHOUSE) .pytest_cache .ruff_cache .mypy_cache
