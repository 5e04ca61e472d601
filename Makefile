# Two entry points for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
WAREHOUSE ?= warehouse

.PHONY: demo test test-fast check evaluate clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fusion run --config data/samples/fusion.yaml --warehouse $(WAREHOUSE)

evaluate: $(STAMP)
	$(BIN)/fusion evaluate --warehouse $(WAREHOUSE) --truth data/samples/truth

# The HTML report test drives Debian's Chromium headless (no downloaded browser); installed
# once, skipped when present; sudo only when not root. The font makes Chinese names legible
# in the screenshots the test saves to test-artifacts/.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver fonts-wqy-microhei; \
	fi

# The Spark engine's tests run a local Spark session (Java 17): the test target
# installs the `spark` extra so they run rather than skip; `make demo` does not need it.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

test: $(SPARK_STAMP) browser
	$(BIN)/python -m pytest

test-fast: $(SPARK_STAMP)
	$(BIN)/python -m pytest -m "not slow"

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy connectors matching lineage pipelines
	$(BIN)/lint-imports

clean:
	rm -rf $(WAREHOUSE) .pytest_cache .ruff_cache .mypy_cache
