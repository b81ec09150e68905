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

# The whole retail product on the embedded local target (.retail-etl/), no account, no network.
# 1. The original customer story: two days of customer files (changes, new customers, a repeat, an unloadable row),
#    apply, upload day 1, run the task, upload day 2, run it again, then the GOLD view.
# 2. Four weeks of stores, products, customers, sales and inventory with planted patterns (data/retail/), uploaded
#    one file at a time (each is loaded as it lands: load order is day order), the tasks run, then `dbt build`
#    (silver models, SCD2 snapshots, gold insights and their tests) and the top rows of each insight.
# Idempotent: a second run uploads, loads and merges nothing new, and dbt rebuilds the same results.
DEMO_QUERY := SELECT FIRST_NAME, LAST_NAME, CITY, PHONE, UPDATE_DTS FROM GOLD.CUSTOMER_VIEW ORDER BY LAST_NAME, FIRST_NAME LIMIT 10
DEMO_SEGMENTS := SELECT SEGMENT, COUNT(*) AS CUSTOMERS, ROUND(AVG(LIFETIME_VALUE), 2) AS AVG_LIFETIME_VALUE FROM GOLD.CUSTOMER_360 GROUP BY SEGMENT ORDER BY CUSTOMERS DESC
DEMO_REORDERS := SELECT STORE_NAME, PRODUCT_NAME, ON_HAND, DAYS_OF_COVER, STOCK_OUT_RISK, SUGGESTED_REORDER_QTY FROM GOLD.INVENTORY_HEALTH WHERE SUGGESTED_REORDER_QTY > 0 ORDER BY SUGGESTED_REORDER_COST DESC, STORE_ID, PRODUCT_ID LIMIT 10
DEMO_RECOMMENDATIONS := SELECT C.FIRST_NAME, C.LAST_NAME, R.RECOMMENDATION_RANK AS RANK, R.PRODUCT_NAME, B.PRODUCT_NAME AS BECAUSE_THEY_BOUGHT FROM GOLD.NEXT_BEST_PRODUCT R JOIN GOLD.CUSTOMER_360 C ON C.CUSTOMER_ID = R.CUSTOMER_ID JOIN SILVER.PRODUCTS_CLEAN B ON B.PRODUCT_ID = R.BECAUSE_OF_PRODUCT_ID WHERE C.SEGMENT = 'Champions' ORDER BY C.LIFETIME_VALUE DESC, C.CUSTOMER_ID, RANK LIMIT 9
DEMO_WEEK := SELECT CATEGORY, SUM(NET_SALES) AS NET_SALES, SUM(NET_SALES_PRIOR_WEEK) AS PRIOR_WEEK, ROUND(100 * (SUM(NET_SALES) / NULLIF(SUM(NET_SALES_PRIOR_WEEK), 0) - 1), 1) AS WOW_PCT FROM GOLD.DAILY_CATEGORY_SALES WHERE SALES_DATE > (SELECT MAX(SALES_DATE) - 7 FROM GOLD.DAILY_CATEGORY_SALES) GROUP BY CATEGORY ORDER BY NET_SALES DESC
demo: $(STAMP)
	$(BIN)/retail-etl validate
	$(BIN)/retail-etl sample-data --out data
	$(BIN)/retail-etl sample-data --scale 1 --days 28 --out data/retail
	$(BIN)/retail-etl apply --auto-approve
	$(BIN)/retail-etl upload data/customers_2023-12-30.csv
	$(BIN)/retail-etl run --now
	$(BIN)/retail-etl upload data/customers_2023-12-31.csv data/customers_2023-12-31_store7.csv
	$(BIN)/retail-etl run --now
	$(BIN)/retail-etl query "$(DEMO_QUERY)"
	$(BIN)/retail-etl upload --concurrency 1 data/retail/*.csv
	$(BIN)/retail-etl run --now
	$(BIN)/retail-etl dbt build --quiet
	$(BIN)/retail-etl query "$(DEMO_SEGMENTS)"
	$(BIN)/retail-etl query "$(DEMO_REORDERS)"
	$(BIN)/retail-etl query "$(DEMO_RECOMMENDATIONS)"
	$(BIN)/retail-etl query "$(DEMO_WEEK)"
	$(BIN)/retail-etl status

bench: $(STAMP)
	$(BIN)/python bench/deployer.py

clean:
	rm -rf $(VENV) .retail-etl .pytest_cache .mypy_cache .ruff_cache
