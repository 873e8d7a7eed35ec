# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --compile -e '.[test]'
	$(BIN)/python -m compileall -q crm_cli
	touch $(STAMP)

install: $(STAMP)

## Build the demo store in the embedded SQLite database and show it
demo: $(STAMP)
	$(BIN)/crm demo

## The whole suite, every database test on SQLite and PostgreSQL
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadfile

## The suite plus the larger fault-injection variants
test-all: $(STAMP)
	CRM_TEST_ALL=1 $(BIN)/python -m pytest -q -n 4 --dist loadfile

## Lint: ruff, then mypy (strict on crm_cli/domain; elsewhere no error beyond .ci/mypy-baseline.txt)
lint: $(STAMP)
	$(BIN)/ruff check crm_cli tests bench
	$(BIN)/python .ci/mypy_baseline.py

## Benchmarks; figures go to docs/performance.md
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
