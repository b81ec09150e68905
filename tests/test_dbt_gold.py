"""Issue #5 §3, §5: the dbt project (dbt/) builds silver models, SCD2 snapshots and the gold layer on the local
target, and its answers match independent computations over the generated files and planted.json.

The module fixture deploys the shipped pipelines, loads four weeks of generated retail files (one file at a time,
in name order, so "the latest load wins" means "the latest day wins"), runs the tasks and `retail-etl dbt build`
(every model, snapshot and dbt data test). The checks recompute each answer in Python from the raw CSVs: customers
cleaned and deduplicated, sales to the cent per day, store and product with the week-over-week change, RFM scores,
the lapsed segment, the planted stock-outs, the planted product pairs and the recommendations they drive. A second
load then changes one customer's address (in a dirty spelling of the name) and replays a sales file under another
name: the snapshot keeps both versions of that customer with contiguous validity, and nothing is counted twice.
Last, the models are compiled for the Snowflake target without a connection and parsed as Snowflake SQL.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retail_etl.cli import app
from retail_etl.sample.customers import HEADER

REPO = Path(__file__).resolve().parents[1]
DAYS = 28
LAPSED_AFTER_DAYS = 14  # dbt_project.yml vars (defaults)
NEW_CUSTOMER_DAYS = 14
DEMAND_WINDOW_DAYS = 28  # dbt_project.yml var demand_window_days (default)
OPEN_END = datetime(9999, 12, 31)
NEW_ADDRESS = "742 Evergreen Terrace"


@dataclass(frozen=True)
class Built:
    project: Path
    data: Path
    planted: dict[str, Any]


def cli(project: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def dbt_build(project: Path) -> None:
    """`retail-etl dbt build`: the profile and --vars come from the project; a failing model or test fails it."""
    cli(project, "dbt", "build")


def query(project: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of the warehouse file, read directly: `retail-etl query` knows only the objects retail-etl manages,
    not dbt's models. Opened read-only and closed at once, so the next CLI command can write."""
    import duckdb

    connection = duckdb.connect(str(project / ".retail-etl" / "warehouse" / "SNOWLAKE_DB.duckdb"), read_only=True)
    try:
        cursor = connection.execute(sql)
        columns = [column[0].upper() for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def upload_in_order(project: Path, files: list[Path]) -> None:
    # One at a time: each file is loaded as it lands, so load order is name (= day) order.
    cli(project, "upload", "--concurrency", "1", *(str(p) for p in files))


def raw_rows(folder: Path, pattern: str) -> list[dict[str, str]]:
    return [row for path in sorted(folder.glob(pattern)) for row in csv.DictReader(path.open(encoding="utf-8"))]


def proper(text: str) -> str:
    """Trimmed, every word (split on spaces and hyphens) capitalised: the silver cleaning rule."""
    return " ".join(
        "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-")) for word in text.strip().split(" ")
    )


def line_key(row: dict[str, str]) -> tuple[date, int, int]:
    return date.fromisoformat(row["ORDER_TS"][:10]), int(row["STORE_ID"]), int(row["PRODUCT_ID"])


def net_amount(row: dict[str, str]) -> Decimal:
    return int(row["QUANTITY"]) * Decimal(row["UNIT_PRICE"]) - Decimal(row["DISCOUNT"] or "0")


def name_of(row: dict[str, str]) -> tuple[str, str]:
    return proper(row["FIRST_NAME"]), proper(row["LAST_NAME"])


def expected_customers(files: list[Path]) -> dict[tuple[str, str], dict[str, str]]:
    """Latest row per cleaned name, files in load order, rows in file order; rows without names dropped."""
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for path in files:
        for row in csv.DictReader(path.open(encoding="utf-8")):
            if row["FIRST_NAME"].strip() and row["LAST_NAME"].strip():
                latest[name_of(row)] = row
    return latest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    project = tmp_path_factory.mktemp("retail_dbt")
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    shutil.copytree(REPO / "dbt", project / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    patch = pytest.MonkeyPatch()
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        patch.delenv(name, raising=False)
    data = project / "data"
    generated = CliRunner().invoke(app, ["sample-data", "--scale", "1", "--days", str(DAYS), "--out", str(data)])
    assert generated.exit_code == 0, generated.output
    cli(project, "apply", "--auto-approve")
    upload_in_order(project, sorted(data.glob("*.csv")))
    cli(project, "run", "--now")
    dbt_build(project)
    yield Built(project, data, json.loads((data / "planted.json").read_text(encoding="utf-8")))
    patch.undo()


@pytest.fixture(scope="module")
def sales(built: Built) -> list[dict[str, str]]:
    return raw_rows(built.data, "sales_*.csv")


@pytest.fixture(scope="module")
def as_of(sales: list[dict[str, str]]) -> date:
    return max(date.fromisoformat(row["ORDER_TS"][:10]) for row in sales)


# --- silver ---------------------------------------------------------------------------------------------------


def test_customers_are_cleaned_and_deduplicated_like_the_raw_files_say(built: Built) -> None:
    expected = expected_customers(sorted(built.data.glob("customers_*.csv")))
    rows = query(built.project, "SELECT FIRST_NAME, LAST_NAME, PHONE, ADDRESSLINE1, CITY FROM SILVER.CUSTOMERS_CLEAN")
    got = {(r["FIRST_NAME"], r["LAST_NAME"]): r for r in rows}
    assert len(rows) == len(got) == len(expected)
    assert set(got) == set(expected)
    for key, raw in expected.items():
        assert got[key]["PHONE"] == raw["PHONE"].strip(), key
        assert got[key]["ADDRESSLINE1"] == raw["ADDRESSLINE1"].strip(), key
        assert got[key]["CITY"] == proper(raw["CITY"]), key


def test_retail_etl_query_reads_dbt_models_but_not_the_internal_schema(built: Built) -> None:
    """dbt's models are objects of the account like any other: `retail-etl query` reads them (not writes them)."""
    shown = cli(built.project, "query", "SELECT COUNT(*) AS N FROM GOLD.CUSTOMER_360", "--csv").stdout
    assert shown.splitlines() == ["N", str(query(built.project, "SELECT COUNT(*) AS N FROM GOLD.CUSTOMER_360")[0]["N"])]
    star = cli(built.project, "query", "SELECT * FROM SILVER.STORES_CLEAN", "--csv").stdout
    assert star.splitlines()[0].split(",")[0] == "STORE_ID"
    refused = cli(built.project, "query", "SELECT * FROM _RETAIL_ETL.TASK_HISTORY", code=1)
    assert "does not exist or not authorized" in refused.output + refused.stderr
    written = cli(built.project, "query", "DELETE FROM GOLD.CUSTOMER_360", code=1)
    assert "Traceback" not in written.output + written.stderr
    assert query(built.project, "SELECT COUNT(*) AS N FROM GOLD.CUSTOMER_360")[0]["N"] > 0


# --- daily sales ----------------------------------------------------------------------------------------------


def test_sales_totals_reconcile_with_the_raw_files_to_the_cent(built: Built, sales: list[dict[str, str]]) -> None:
    expected: dict[tuple[date, int, int], Decimal] = defaultdict(Decimal)
    units: dict[tuple[date, int, int], int] = defaultdict(int)
    for row in sales:
        key = line_key(row)
        expected[key] += net_amount(row)
        units[key] += int(row["QUANTITY"])
    rows = query(built.project, "SELECT SALES_DATE, STORE_ID, PRODUCT_ID, NET_SALES, NET_UNITS FROM GOLD.DAILY_SALES")
    got = {(r["SALES_DATE"], r["STORE_ID"], r["PRODUCT_ID"]): r for r in rows}
    assert set(got) == set(expected)
    for key, amount in expected.items():
        assert got[key]["NET_SALES"] == amount, key
        assert got[key]["NET_UNITS"] == units[key], key
    total = sum(expected.values(), Decimal(0))
    (gold,) = query(built.project, "SELECT SUM(NET_SALES) AS NET FROM GOLD.DAILY_SALES")
    (by_category,) = query(built.project, "SELECT SUM(NET_SALES) AS NET FROM GOLD.DAILY_CATEGORY_SALES")
    assert gold["NET"] == by_category["NET"] == total


def test_week_over_week_change_compares_with_the_same_weekday_a_week_earlier(
    built: Built, sales: list[dict[str, str]]
) -> None:
    net: dict[tuple[date, int, int], Decimal] = defaultdict(Decimal)
    for row in sales:
        net[line_key(row)] += net_amount(row)
    first = min(day for day, _, _ in net)
    rows = query(
        built.project,
        "SELECT SALES_DATE, STORE_ID, PRODUCT_ID, NET_SALES_PRIOR_WEEK, NET_SALES_WOW_CHANGE FROM GOLD.DAILY_SALES",
    )
    assert len(rows) == len(net)
    compared = 0
    for r in rows:
        day = r["SALES_DATE"]
        prior_day = day - timedelta(days=7)
        if prior_day < first:
            assert r["NET_SALES_PRIOR_WEEK"] is None and r["NET_SALES_WOW_CHANGE"] is None, r
            continue
        prior = net.get((prior_day, r["STORE_ID"], r["PRODUCT_ID"]), Decimal(0))
        assert r["NET_SALES_PRIOR_WEEK"] == prior, r
        assert r["NET_SALES_WOW_CHANGE"] == net[(day, r["STORE_ID"], r["PRODUCT_ID"])] - prior, r
        compared += 1
    assert compared > len(rows) // 2


# --- customers --------------------------------------------------------------------------------------------------


def purchases(sales: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per customer: purchase dates, purchase orders, net sales (returns included)."""
    stats: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"days": set(), "orders": set(), "net": 0})
    for row in sales:
        if not row["FIRST_NAME"]:
            continue
        entry = stats[name_of(row)]
        entry["net"] += net_amount(row)
        if int(row["QUANTITY"]) > 0:
            entry["days"].add(date.fromisoformat(row["ORDER_TS"][:10]))
            entry["orders"].add(row["ORDER_ID"])
    return {name: entry for name, entry in stats.items() if entry["orders"]}


def quintile(value: Any, values: list[Any], *, higher_is_better: bool = True) -> int:
    """ceil(5 * cume_dist), exactly: the share of customers ranking at or below this one."""
    at_or_below = sum(1 for v in values if (v <= value if higher_is_better else v >= value))
    return next(j for j in range(1, 6) if 5 * at_or_below <= j * len(values))


def test_rfm_scores_match_an_independent_computation(built: Built, sales: list[dict[str, str]], as_of: date) -> None:
    stats = purchases(sales)
    recency = {name: (as_of - max(s["days"])).days for name, s in stats.items()}
    frequency = {name: len(s["orders"]) for name, s in stats.items()}
    monetary = {name: s["net"] for name, s in stats.items()}
    rows = query(
        built.project,
        "SELECT FIRST_NAME, LAST_NAME, AS_OF_DATE, RECENCY_DAYS, ORDERS, LIFETIME_VALUE, R_SCORE, F_SCORE, M_SCORE"
        " FROM GOLD.CUSTOMER_360 WHERE ORDERS > 0",
    )
    assert len(rows) == len(stats)
    for r in rows:
        name = (r["FIRST_NAME"], r["LAST_NAME"])
        assert r["AS_OF_DATE"] == as_of  # from the data, not the clock
        assert r["RECENCY_DAYS"] == recency[name]
        assert r["ORDERS"] == frequency[name]
        assert r["LIFETIME_VALUE"] == monetary[name]
        assert r["R_SCORE"] == quintile(recency[name], list(recency.values()), higher_is_better=False), name
        assert r["F_SCORE"] == quintile(frequency[name], list(frequency.values())), name
        assert r["M_SCORE"] == quintile(monetary[name], list(monetary.values())), name


def test_lapsed_customers_are_in_the_lapsed_segment(built: Built, sales: list[dict[str, str]], as_of: date) -> None:
    stats = purchases(sales)
    silent = {name for name, s in stats.items() if (as_of - max(s["days"])).days >= LAPSED_AFTER_DAYS}
    rows = query(built.project, "SELECT FIRST_NAME, LAST_NAME, SEGMENT FROM GOLD.CUSTOMER_360")
    segment = {(r["FIRST_NAME"], r["LAST_NAME"]): r["SEGMENT"] for r in rows}
    assert {name for name, s in segment.items() if s == "Lapsed"} == silent
    customers = built.planted["customers"]
    planted_lapsed = {(f, la) for f, la, _ in customers["lapsed"] if (f, la) in stats}
    assert len(planted_lapsed) > 0.9 * len(customers["lapsed"])
    assert all(segment[name] == "Lapsed" for name in planted_lapsed)
    # ... and the other planted segments are where they belong
    assert all(segment[(f, la)] in {"Champions", "Loyal"} for f, la in customers["loyal"])
    planted_new = [(f, la) for f, la, _ in customers["new"] if (f, la) in stats]
    assert planted_new and all(segment[name] == "New" for name in planted_new)
    never = {name for name in segment if name not in stats}
    assert all(segment[name] == "No Purchases" for name in never)
    risk = query(
        built.project,
        "SELECT c.FIRST_NAME, c.LAST_NAME, r.CHURN_RISK FROM GOLD.CUSTOMER_CHURN_RISK r"
        " JOIN SILVER.CUSTOMERS_CLEAN c ON c.CUSTOMER_ID = r.CUSTOMER_ID WHERE r.CHURN_STATUS = 'lapsed'",
    )
    assert {(r["FIRST_NAME"], r["LAST_NAME"]) for r in risk} == silent
    assert {r["CHURN_RISK"] for r in risk} == {"high"}


# --- products -------------------------------------------------------------------------------------------------


def test_products_bought_together_are_recommended_together(built: Built, sales: list[dict[str, str]]) -> None:
    baskets: dict[str, set[int]] = defaultdict(set)
    bought: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in sales:
        if int(row["QUANTITY"]) > 0:
            baskets[row["ORDER_ID"]].add(int(row["PRODUCT_ID"]))
            if row["FIRST_NAME"]:
                bought[name_of(row)].add(int(row["PRODUCT_ID"]))
    affinity = query(
        built.project,
        "SELECT PRODUCT_ID, RELATED_PRODUCT_ID, PAIR_ORDERS, AFFINITY_RANK FROM GOLD.PRODUCT_AFFINITY",
    )
    links = {(r["PRODUCT_ID"], r["RELATED_PRODUCT_ID"]): r for r in affinity}
    recommended: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in query(
        built.project,
        "SELECT c.FIRST_NAME, c.LAST_NAME, r.PRODUCT_ID FROM GOLD.NEXT_BEST_PRODUCT r"
        " JOIN SILVER.CUSTOMERS_CLEAN c ON c.CUSTOMER_ID = r.CUSTOMER_ID",
    ):
        recommended[(r["FIRST_NAME"], r["LAST_NAME"])].add(r["PRODUCT_ID"])
    for a, b in built.planted["bought_together"]:
        together = sum(1 for products in baskets.values() if {a, b} <= products)
        for product, partner in ((a, b), (b, a)):
            link = links[(product, partner)]
            assert link["PAIR_ORDERS"] == together
            assert link["AFFINITY_RANK"] == 1, (product, partner)  # the planted partner is the strongest link
            buyers = [name for name, products in bought.items() if product in products and partner not in products]
            assert buyers
            missing = [name for name in buyers if partner not in recommended[name]]
            assert not missing, (product, partner, missing[:5])


# --- inventory --------------------------------------------------------------------------------------------------


def test_planted_stock_outs_are_flagged(built: Built) -> None:
    planted = built.planted["stock_outs"]
    expected = set()
    for s in planted:
        day = date.fromisoformat(s["first_day"])
        while day <= date.fromisoformat(s["last_day"]):
            expected.add((s["store_id"], s["product_id"], day))
            day += timedelta(days=1)
    daily = query(
        built.project,
        "SELECT STORE_ID, PRODUCT_ID, SNAPSHOT_DATE FROM GOLD.INVENTORY_HEALTH_DAILY"
        " WHERE STOCK_OUT_RISK = 'out_of_stock'",
    )
    assert {(r["STORE_ID"], r["PRODUCT_ID"], r["SNAPSHOT_DATE"]) for r in daily} == expected
    summary = query(
        built.project,
        "SELECT STORE_ID, PRODUCT_ID, AS_OF_DATE, STOCK_OUT_DAYS, FIRST_STOCK_OUT_DATE, LAST_STOCK_OUT_DATE,"
        " EST_LOST_UNITS FROM GOLD.INVENTORY_HEALTH WHERE STOCK_OUT_DAYS > 0",
    )
    got = {(r["STORE_ID"], r["PRODUCT_ID"]): r for r in summary}
    assert set(got) == {(s["store_id"], s["product_id"]) for s in planted}
    last_snapshot = max(date.fromisoformat(row["SNAPSHOT_DATE"]) for row in raw_rows(built.data, "inventory_*.csv"))
    for s in planted:
        r = got[(s["store_id"], s["product_id"])]
        first, last = date.fromisoformat(s["first_day"]), date.fromisoformat(s["last_day"])
        assert r["STOCK_OUT_DAYS"] == (last - first).days + 1
        assert (r["FIRST_STOCK_OUT_DATE"], r["LAST_STOCK_OUT_DATE"]) == (first, last)
        assert r["EST_LOST_UNITS"] > 0  # well-selling products: the shelf gap cost sales
        assert r["AS_OF_DATE"] == last_snapshot


def test_ratios_are_exact_money_and_keep_their_sign(built: Built) -> None:
    # Average order value: lifetime value over orders to the cent, half away from zero, exactly (not via a double).
    for r in query(built.project, "SELECT LIFETIME_VALUE, ORDERS, AVG_ORDER_VALUE FROM GOLD.CUSTOMER_360"):
        if r["ORDERS"] == 0:
            assert r["AVG_ORDER_VALUE"] is None
            continue
        exact = (abs(r["LIFETIME_VALUE"]) / r["ORDERS"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert r["AVG_ORDER_VALUE"] == exact.copy_sign(r["LIFETIME_VALUE"]), r
    # Week over week: a fraction of last week only when last week sold more than it took back.
    for model in ("DAILY_SALES", "DAILY_CATEGORY_SALES"):
        rows = query(built.project, f"SELECT NET_SALES, NET_SALES_PRIOR_WEEK, NET_SALES_WOW_PCT FROM GOLD.{model}")
        assert any(r["NET_SALES_PRIOR_WEEK"] is not None and r["NET_SALES_PRIOR_WEEK"] <= 0 for r in rows) or (
            model == "DAILY_CATEGORY_SALES"
        )
        for r in rows:
            prior = r["NET_SALES_PRIOR_WEEK"]
            if prior is None or prior <= 0:
                assert r["NET_SALES_WOW_PCT"] is None, (model, r)
            else:
                expected = ((r["NET_SALES"] - prior) / prior).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                assert abs(Decimal(str(r["NET_SALES_WOW_PCT"])) - expected) <= Decimal("0.0001"), (model, r)


def test_stock_at_or_below_its_reorder_point_is_never_excess(built: Built) -> None:
    rows = query(
        built.project,
        "SELECT COUNT(*) AS N FROM GOLD.INVENTORY_HEALTH_DAILY"
        " WHERE IS_EXCESS_STOCK AND (ON_HAND <= REORDER_POINT OR SUGGESTED_REORDER_QTY > 0)",
    )
    assert rows == [{"N": 0}]


def test_overstocked_and_slow_moving_products_are_excess_stock(built: Built) -> None:
    excess = query(built.project, "SELECT STORE_ID, PRODUCT_ID FROM GOLD.INVENTORY_HEALTH WHERE IS_EXCESS_STOCK")
    flagged = {(r["STORE_ID"], r["PRODUCT_ID"]) for r in excess}
    stores = {int(r["STORE_ID"]) for r in raw_rows(built.data, "stores*.csv")}
    for product in [*built.planted["overstocked"], *built.planted["slow_movers"]]:
        assert {(store, product) for store in stores} <= flagged, product
    # Not selling: stock on the shelf and no unit sold on an in-stock day of the demand window (the whole period
    # here). Slow movers are planted that way; at this scale a low-season product can also miss a small store.
    snapshots: dict[tuple[int, int], list[tuple[date, int]]] = defaultdict(list)
    for row in raw_rows(built.data, "inventory_*.csv"):
        key = (int(row["STORE_ID"]), int(row["PRODUCT_ID"]))
        snapshots[key].append((date.fromisoformat(row["SNAPSHOT_DATE"]), int(row["ON_HAND"])))
    sold: dict[tuple[date, int, int], int] = defaultdict(int)
    for row in raw_rows(built.data, "sales_*.csv"):
        if int(row["QUANTITY"]) > 0:
            sold[line_key(row)] += int(row["QUANTITY"])
    expected = set()
    for (store, product), days in snapshots.items():
        window = sorted(days)[-DEMAND_WINDOW_DAYS:]
        units = sum(sold[(day, store, product)] for day, on_hand in window if on_hand > 0)
        if units == 0 and window[-1][1] > 0:
            expected.add((store, product))
    not_selling = query(
        built.project, "SELECT STORE_ID, PRODUCT_ID FROM GOLD.INVENTORY_HEALTH WHERE HEALTH_STATUS = 'not_selling'"
    )
    assert {(r["STORE_ID"], r["PRODUCT_ID"]) for r in not_selling} == expected
    assert {product for _, product in expected} & set(built.planted["slow_movers"])


# --- a second load: SCD2 history and a replayed sales file -----------------------------------------------------


RETURN_ONLY = {
    "ORDER_ID": "999000000000001", "LINE_NUMBER": "1", "ORDER_TS": "2024-01-20 10:00:00", "STORE_ID": "1",
    "PRODUCT_ID": "1", "QUANTITY": "-1", "UNIT_PRICE": "10.00", "DISCOUNT": "0.00",
}  # fmt: skip


@pytest.fixture(scope="module")
def reloaded(built: Built) -> tuple[Built, tuple[str, str], dict[str, str]]:
    """Day 29: one loyal customer moves (sent with a dirty spelling of the name), a sales file is replayed under
    another name, and a customer who never bought anything returns something (bought before the data begins:
    RETURN_ONLY); uploaded, the tasks run, dbt builds again (the snapshot sees the change)."""
    first, last = built.planted["customers"]["loyal"][0]
    before = expected_customers(sorted(built.data.glob("customers_*.csv")))[(first, last)]
    extra = built.project / "day29"
    extra.mkdir()
    (returner,) = query(
        built.project,
        "SELECT FIRST_NAME, LAST_NAME FROM GOLD.CUSTOMER_360 WHERE SEGMENT = 'No Purchases' ORDER BY 1, 2 LIMIT 1",
    )
    with (extra / "sales_2024-01-29_returns.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(raw_rows(built.data, "sales_*.csv")[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerow({**RETURN_ONLY, "FIRST_NAME": returner["FIRST_NAME"], "LAST_NAME": returner["LAST_NAME"]})
    moved = {**before, "FIRST_NAME": f"  {first.lower()} ", "LAST_NAME": last.upper(), "ADDRESSLINE1": NEW_ADDRESS}
    with (extra / "customers_2024-01-29.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerow({column: moved[column] for column in HEADER})
    shutil.copy(built.data / "sales_2024-01-10.csv", extra / "sales_2024-01-10_replayed.csv")
    upload_in_order(built.project, sorted(extra.glob("*.csv")))
    cli(built.project, "run", "--now")
    dbt_build(built.project)
    return built, (first, last), before


def test_scd2_keeps_a_changed_customer_s_history_across_two_loads(
    reloaded: tuple[Built, tuple[str, str], dict[str, str]],
) -> None:
    built, (first, last), before = reloaded
    versions = query(
        built.project,
        "SELECT FIRST_NAME, LAST_NAME, ADDRESSLINE1, PHONE, VRSN_STRT_DTS, VRSN_END_DTS FROM GOLD.CUSTOMER_VERSIONS"
        f" WHERE FIRST_NAME = '{first}' AND LAST_NAME = '{last}' ORDER BY VRSN_STRT_DTS",
    )
    assert [v["ADDRESSLINE1"] for v in versions] == [before["ADDRESSLINE1"].strip(), NEW_ADDRESS]
    old, new = versions
    assert old["PHONE"] == new["PHONE"] == before["PHONE"]
    assert old["VRSN_STRT_DTS"] < old["VRSN_END_DTS"] == new["VRSN_STRT_DTS"]  # contiguous, no gap, no overlap
    assert new["VRSN_END_DTS"] == OPEN_END  # the current version is open-ended
    # Validity in UTC wall-clock time, as dbt-snowflake writes it, whatever the local target's time zone.
    assert abs(new["VRSN_STRT_DTS"] - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=30)
    assert old["VRSN_END_DTS"] < OPEN_END
    # Nothing else changed, so nobody else gained a version; the current row is the new address.
    changed = query(
        built.project,
        "SELECT CUSTOMER_ID FROM GOLD.CUSTOMER_VERSIONS GROUP BY CUSTOMER_ID HAVING COUNT(*) > 1",
    )
    assert len(changed) == 1
    (current,) = query(
        built.project,
        f"SELECT ADDRESSLINE1 FROM SILVER.CUSTOMERS_CLEAN WHERE FIRST_NAME = '{first}' AND LAST_NAME = '{last}'",
    )
    assert current["ADDRESSLINE1"] == NEW_ADDRESS
    products = query(
        built.project,
        "SELECT COUNT(*) AS N, COUNT(DISTINCT PRODUCT_ID) AS P, MIN(VRSN_END_DTS) AS E FROM GOLD.PRODUCT_VERSIONS",
    )
    assert products[0]["N"] == products[0]["P"] and products[0]["E"] == OPEN_END


def test_replayed_sales_files_do_not_double_count(
    reloaded: tuple[Built, tuple[str, str], dict[str, str]], sales: list[dict[str, str]]
) -> None:
    built = reloaded[0]
    every = [*sales, RETURN_ONLY]  # the day-29 lines: the replayed file's, and one return
    loaded = query(built.project, "SELECT COUNT(*) AS N FROM BRONZE.WORK_SALES_COPY")
    replayed = raw_rows(built.data, "sales_2024-01-10.csv")
    assert loaded[0]["N"] == len(every) + len(replayed)  # the replayed file did load
    (lines,) = query(built.project, "SELECT COUNT(*) AS N FROM SILVER.SALES_LINES")
    assert lines["N"] == len(every)
    (gold,) = query(built.project, "SELECT SUM(NET_SALES) AS NET, SUM(NET_UNITS) AS U FROM GOLD.DAILY_SALES")
    assert gold["NET"] == sum((net_amount(row) for row in every), Decimal(0))
    assert gold["U"] == sum(int(row["QUANTITY"]) for row in every)


def test_lifetime_value_counts_every_line_returns_only_customers_included(
    reloaded: tuple[Built, tuple[str, str], dict[str, str]],
) -> None:
    built = reloaded[0]
    (totals,) = query(built.project, "SELECT SUM(LIFETIME_VALUE) AS LTV FROM GOLD.CUSTOMER_360")
    (lines,) = query(
        built.project, "SELECT SUM(NET_AMOUNT) AS NET FROM SILVER.SALES_LINES WHERE CUSTOMER_ID IS NOT NULL"
    )
    assert totals["LTV"] == lines["NET"]
    (returner,) = query(
        built.project,
        "SELECT C.ORDERS, C.RETURNS, C.UNITS_RETURNED, C.LIFETIME_VALUE, C.SEGMENT, C.R_SCORE FROM GOLD.CUSTOMER_360 C "
        f"JOIN SILVER.SALES_LINES L ON L.CUSTOMER_ID = C.CUSTOMER_ID WHERE L.ORDER_ID = {RETURN_ONLY['ORDER_ID']}",
    )
    assert returner == {
        "ORDERS": 0, "RETURNS": 1, "UNITS_RETURNED": 1, "LIFETIME_VALUE": Decimal("-10.00"),
        "SEGMENT": "No Purchases", "R_SCORE": None,
    }  # fmt: skip


# --- one SQL for both engines ---------------------------------------------------------------------------------


def test_models_compile_for_snowflake_without_a_connection_and_parse_as_snowflake_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`retail-etl dbt compile -t prod --env dev`: the profile from connections.toml, no connection made."""
    import snowflake.connector
    import sqlglot
    from sqlglot import exp

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dbt compile must not connect to Snowflake")

    monkeypatch.setattr(snowflake.connector, "connect", no_connection)
    home = tmp_path / "snowflake-home"
    home.mkdir()
    connections = home / "connections.toml"
    connections.write_text('[retail]\naccount = "offline-test"\nuser = "nobody"\npassword = "s3cret-Pa55"\n')
    connections.chmod(0o600)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(home))
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "retail"
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "dbt", root / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    result = cli(root, "dbt", "compile", "--target", "prod", "--env", "dev", "--no-populate-cache", "--quiet")
    assert "s3cret-Pa55" not in result.output + result.stderr
    project = root / "dbt"
    compiled = sorted((project / "target" / "compiled" / "retail").rglob("*.sql"))
    models = [path for path in compiled if path.parent.name in {"silver", "gold", "versions"}]
    assert len(models) == len(list((REPO / "dbt" / "models").rglob("*.sql")))
    for path in compiled:
        sql = path.read_text(encoding="utf-8")
        statements = sqlglot.parse(sql, read="snowflake")  # raises on anything Snowflake cannot parse
        assert statements, path
        for statement in statements:
            assert statement is not None
            unknown = {f.name for f in statement.find_all(exp.Anonymous)}
            assert not unknown, (path.name, unknown)  # every function is one sqlglot knows for Snowflake
        assert "lambda" not in sql.lower() and "list_transform" not in sql.lower(), path.name
    clean = (project / "target" / "compiled" / "retail" / "models" / "silver" / "customers_clean.sql").read_text()
    assert "SNOWLAKE_DB_DEV.BRONZE.WORK_CUSTOMER_COPY" in clean  # the sources follow the environment's database
    assert "initcap(" in clean


def test_gold_builds_before_any_sale_has_arrived(tmp_path: Path) -> None:
    """The first night may bring the customer master and no sales yet: customer_360 then builds (everyone 'No
    Purchases', AS_OF_DATE unknown) and the whole build passes, instead of failing the nightly run."""
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    shutil.copytree(REPO / "dbt", tmp_path / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    data = tmp_path / "data"
    generated = CliRunner().invoke(app, ["sample-data", "--out", str(data)])
    assert generated.exit_code == 0, generated.output
    cli(tmp_path, "apply", "--auto-approve")
    upload_in_order(tmp_path, sorted(data.glob("customers_2023-12-30.csv")))
    cli(tmp_path, "run", "--now")
    cli(tmp_path, "dbt", "build")
    rows = query(tmp_path, "SELECT SEGMENT, AS_OF_DATE, ORDERS FROM GOLD.CUSTOMER_360")
    assert rows and {(row["SEGMENT"], row["AS_OF_DATE"], row["ORDERS"]) for row in rows} == {("No Purchases", None, 0)}
