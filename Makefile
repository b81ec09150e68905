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
	$(BIN)/pytest -n 2 --dist loadfile -q

test: lint types unit

# The whole customer pipeline on the embedded local target (.retail-etl/), no account, no network: sample files,
# apply, upload day 1, run the task, upload day 2 (changes, new customers, a repeat, an unloadable file), run it
# again, then the GOLD view and the status. Idempotent: a second run uploads, loads and merges nothing new.
DEMO_QUERY := SELECT FIRST_NAME, LAST_NAME, CITY, PHONE, UPDATE_DTS FROM GOLD.CUSTOMER_VIEW ORDER BY LAST_NAME, FIRST_NAME LIMIT 10
demo: $(STAMP)
	$(BIN)/retail-etl validate
	$(BIN)/retail-etl sample-data --out data
	$(BIN)/retail-etl apply --auto-approve
	$(BIN)/retail-etl upload data/customers_2024-01-01.csv
	$(BIN)/retail-etl run --now
	$(BIN)/retail-etl upload data/customers_2024-01-02.csv data/customers_2024-01-02_store7.csv
	$(BIN)/retail-etl run --now
	$(BIN)/retail-etl query "$(DEMO_QUERY)"
	$(BIN)/retail-etl status

bench: $(STAMP)
	$(BIN)/python bench/deployer.py

clean:
	rm -rf $(VENV) .retail-etl .pytest_cache .mypy_cache .ruff_cache
