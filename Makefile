# Everything a fresh machine needs is installed by these targets themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint types unit demo clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

test: lint types unit

# The shipped pipelines on the embedded local target (.retail-etl/): validate, plan, apply, then plan again to
# show nothing is left to do. Idempotent: a second run applies nothing.
demo: $(STAMP)
	$(BIN)/retail-etl validate
	$(BIN)/retail-etl plan
	$(BIN)/retail-etl apply --auto-approve
	$(BIN)/retail-etl plan --detailed-exitcode

bench: $(STAMP)
	$(BIN)/python bench/deployer.py

clean:
	rm -rf $(VENV) .retail-etl .pytest_cache .mypy_cache .ruff_cache
