# Every target creates the virtual environment it needs: `make run` and
# `make test` are the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run stop demo test check lint typecheck unit integration e2e bench reliability chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# make run PORT=8080 (or APP_PORT=8080) serves on another port.
run: $(STAMP)
	$(BIN)/python -m app serve $(if $(PORT),--port $(PORT))

# Stops the embedded FalkorDB of ./var/falkordb if no process uses it (only needed
# after a process using it was killed with SIGKILL).
stop: $(STAMP)
	$(BIN)/python -m app stop

demo: $(STAMP)
	$(BIN)/python -m examples

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: check $(STAMP)
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

bench: $(STAMP)
	$(BIN)/python -m bench

# The long fault, concurrency, hostile-input and load runs; prints one table of figures.
reliability: $(STAMP)
	$(BIN)/python -m tests.reliability.report

# Debian's Chromium, for the headless check of /docs (skipped, saying so, without it).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
