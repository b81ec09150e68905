"""The retail sample data: deterministic, consistent across files, and carrying the patterns the gold layer must find.

Each check is computed independently from the written CSVs, not from the generator's internals.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retail_etl.sample.customers import HEADER
from retail_etl.sample.retail import generate

DAYS = 28


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("retail")
    generate(out, scale=1, days=DAYS, seed=11)
    return out, json.loads((out / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def db(sample: tuple[Path, dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    out, _ = sample
    con = duckdb.connect()
    con.execute(f"CREATE TABLE sales AS SELECT * FROM read_csv('{out}/sales_*.csv', header = true)")
    con.execute(f"CREATE TABLE inventory AS SELECT * FROM read_csv('{out}/inventory_*.csv', header = true)")
    con.execute(f"CREATE TABLE products AS SELECT * FROM read_csv('{out}/products.csv', header = true)")
    con.execute(f"CREATE TABLE stores AS SELECT * FROM read_csv('{out}/stores.csv', header = true)")
    con.execute(
        f"CREATE TABLE customers AS SELECT *, strptime(regexp_extract(filename, '(\\d{{4}}-\\d\\d-\\d\\d)', 1),"
        f" '%Y-%m-%d')::DATE AS file_date FROM read_csv('{out}/customers_*.csv', header = true, all_varchar = true,"
        " filename = true)"
    )
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_same_inputs_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> dict[str, bytes]:
        files = generate(tmp_path / name, scale=1, days=14, seed=seed)
        return {p.name: p.read_bytes() for paths in files.values() for p in paths}

    first, second, other = run("a", 5), run("b", 5), run("c", 6)
    assert first == second
    assert first.keys() == other.keys()
    assert first["sales_2024-01-01.csv"] != other["sales_2024-01-01.csv"]
    assert first["planted.json"] != other["planted.json"]


def test_chunks_split_a_day_without_changing_its_rows(tmp_path: Path) -> None:
    whole = generate(tmp_path / "whole", scale=1, days=14, seed=5)
    parts = generate(tmp_path / "parts", scale=1, days=14, seed=5, chunk_rows=60)
    day = [p for p in parts["sales"] if p.name.startswith("sales_2024-01-09_part")]
    assert len(day) > 9
    assert sorted(day) == day  # zero-padded part numbers: name order is generation order, returns last
    body = "".join(p.read_text(encoding="utf-8").split("\n", 1)[1] for p in day)
    single = next(p for p in whole["sales"] if p.name == "sales_2024-01-09.csv")
    assert single.read_text(encoding="utf-8").split("\n", 1)[1] == body


def test_files_are_named_by_day(sample: tuple[Path, dict[str, Any]]) -> None:
    out, _ = sample
    for kind in ("sales", "inventory", "customers"):
        assert len(list(out.glob(f"{kind}_2024-*.csv"))) == DAYS
    assert (out / "products.csv").exists() and (out / "stores.csv").exists()


def test_every_sales_line_refers_to_a_known_store_product_and_customer(db: duckdb.DuckDBPyConnection) -> None:
    assert one(db, "SELECT count(*) FROM sales WHERE STORE_ID NOT IN (SELECT STORE_ID FROM stores)") == 0
    assert one(db, "SELECT count(*) FROM sales WHERE PRODUCT_ID NOT IN (SELECT PRODUCT_ID FROM products)") == 0
    # Customer files carry dirty names; trimmed and case-folded they match, and a customer is known before buying.
    unknown = one(
        db,
        """
        SELECT count(*) FROM sales s WHERE NOT EXISTS (
            SELECT 1 FROM customers c
            WHERE lower(trim(c.FIRST_NAME)) = lower(s.FIRST_NAME) AND lower(trim(c.LAST_NAME)) = lower(s.LAST_NAME)
              AND c.file_date <= s.ORDER_TS::DATE)
        """,
    )
    assert unknown == 0
    assert (
        one(db, "SELECT count(*) FROM (SELECT ORDER_ID, LINE_NUMBER FROM sales GROUP BY ALL HAVING count(*) > 1)") == 0
    )


def test_discounts_are_whole_rates_rounded_half_up_and_returns_give_them_back(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # Each line is 0, 5, 10, 15 or 20 % off its quantity times its price, to the cent, half up; a return carries
    # the sale's discount with the sign of its quantity.
    rows = db.execute("SELECT QUANTITY, (UNIT_PRICE * 100)::BIGINT, (DISCOUNT * 100)::BIGINT FROM sales").fetchall()
    allowed = 0
    discounted = 0
    for quantity, price, off in rows:
        options = {(abs(quantity) * price * rate + 50) // 100 for rate in (5, 10, 15, 20)} | {0}
        allowed += abs(off) in options and (off == 0 or (off < 0) == (quantity < 0))
        discounted += off != 0
    assert allowed == len(rows)
    assert 0.09 < discounted / len(rows) < 0.15


@pytest.mark.parametrize(("blocked", "error"), [("sales", IsADirectoryError), ("customers", duckdb.IOException)])
def test_a_failure_on_either_side_stops_the_whole_run_at_once(
    tmp_path: Path, blocked: str, error: type[Exception]
) -> None:
    # A file that cannot be written (a folder in its place) on day 3 of 120: the other side stops too, within a few
    # days, instead of writing all its files first.
    (tmp_path / f"{blocked}_2024-01-03.csv").mkdir()
    with pytest.raises(error):
        generate(tmp_path, scale=5, days=120, seed=1)
    for kind in ("sales", "customers", "inventory"):
        assert len(list(tmp_path.glob(f"{kind}_*.csv"))) < 30, kind


def test_scales_that_would_repeat_customer_names_are_refused(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from retail_etl.cli import app
    from retail_etl.sample.retail import MAX_SCALE

    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path / "big", scale=MAX_SCALE + 1, days=14, seed=1)
    refused = CliRunner().invoke(app, ["sample-data", "--scale", str(MAX_SCALE + 1), "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_returns_are_negative_lines_of_earlier_purchases(db: duckdb.DuckDBPyConnection) -> None:
    returns = one(db, "SELECT count(*) FROM sales WHERE QUANTITY < 0")
    assert returns > 50
    assert one(db, "SELECT count(*) FROM sales WHERE QUANTITY < 0 AND (DISCOUNT > 0 OR LINE_NUMBER <> 1)") == 0
    unmatched = one(
        db,
        """
        SELECT count(*) FROM sales r WHERE r.QUANTITY < 0 AND NOT EXISTS (
            SELECT 1 FROM sales s WHERE s.QUANTITY = -r.QUANTITY AND s.PRODUCT_ID = r.PRODUCT_ID
              AND s.STORE_ID = r.STORE_ID AND s.FIRST_NAME = r.FIRST_NAME AND s.LAST_NAME = r.LAST_NAME
              AND s.ORDER_TS::DATE < r.ORDER_TS::DATE)
        """,
    )
    assert unmatched == 0


def test_planted_stock_outs_are_zero_on_hand_and_nothing_else_is(
    sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection
) -> None:
    _, planted = sample
    assert 3 <= len(planted["stock_outs"]) <= 10
    zero_days = 0
    for s in planted["stock_outs"]:
        where = (
            f"STORE_ID = {s['store_id']} AND PRODUCT_ID = {s['product_id']}"
            f" AND {{col}} BETWEEN DATE '{s['first_day']}' AND DATE '{s['last_day']}'"
        )
        length = (date.fromisoformat(s["last_day"]) - date.fromisoformat(s["first_day"])).days + 1
        assert length >= 3
        assert one(db, f"SELECT count(*) FROM inventory WHERE ON_HAND = 0 AND {where.format(col='SNAPSHOT_DATE')}") == (
            length
        )
        assert one(db, f"SELECT count(*) FROM sales WHERE QUANTITY > 0 AND {where.format(col='ORDER_TS::DATE')}") == 0
        zero_days += length
    assert one(db, "SELECT count(*) FROM inventory WHERE ON_HAND = 0") == zero_days


def test_slow_movers_barely_sell_and_over_stock_covers_many_days(
    sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection
) -> None:
    _, planted = sample
    slow = ", ".join(map(str, planted["slow_movers"]))
    over = ", ".join(map(str, planted["overstocked"]))
    units = dict(db.execute("SELECT PRODUCT_ID, sum(QUANTITY) FROM sales GROUP BY 1").fetchall())
    median = sorted(units.values())[len(units) // 2]
    assert all(units.get(p, 0) * 20 < median for p in planted["slow_movers"])
    cover = """
        SELECT avg(i.ON_HAND) / greatest(coalesce(max(s.units), 0) / {days}, 0.01) FROM inventory i
        LEFT JOIN (SELECT PRODUCT_ID, sum(QUANTITY) AS units FROM sales GROUP BY 1) s USING (PRODUCT_ID)
        WHERE i.PRODUCT_ID IN ({ids}) GROUP BY i.PRODUCT_ID
    """
    normal = one(db, f"SELECT median(c) FROM ({cover.format(days=DAYS, ids='SELECT PRODUCT_ID FROM products')}) t(c)")
    for ids in (slow, over):
        assert one(db, f"SELECT min(c) FROM ({cover.format(days=DAYS, ids=ids)}) t(c)") > 5 * normal


def test_lapsed_customers_stop_and_new_ones_start(
    sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection
) -> None:
    _, planted = sample
    lapsed = planted["customers"]["lapsed"]
    assert lapsed
    values = ", ".join(f"('{f}', '{la}', DATE '{d}')" for f, la, d in lapsed)
    db.execute(f"CREATE OR REPLACE TEMP TABLE lapsed AS SELECT * FROM (VALUES {values}) t(f, l, last_day)")
    join = "FROM sales s JOIN lapsed ON s.FIRST_NAME = f AND s.LAST_NAME = l"
    assert one(db, f"SELECT count(*) {join} WHERE s.ORDER_TS::DATE > last_day") == 0
    assert one(db, f"SELECT count(DISTINCT (f, l)) {join}") > len(lapsed) // 2  # they did buy before lapsing
    new = ", ".join(f"('{f}', '{la}', DATE '{d}')" for f, la, d in planted["customers"]["new"])
    db.execute(f"CREATE OR REPLACE TEMP TABLE new AS SELECT * FROM (VALUES {new}) t(f, l, first_day)")
    early = "FROM sales s JOIN new ON s.FIRST_NAME = f AND s.LAST_NAME = l WHERE s.ORDER_TS::DATE < first_day"
    assert one(db, f"SELECT count(*) {early}") == 0


def test_loyal_customers_buy_far_more_often(sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection) -> None:
    _, planted = sample
    loyal = ", ".join(f"('{f}', '{la}')" for f, la in planted["customers"]["loyal"])
    rate = """
        SELECT avg(orders) FROM (
            SELECT FIRST_NAME, LAST_NAME, count(DISTINCT ORDER_ID) AS orders FROM sales
            WHERE QUANTITY > 0 GROUP BY ALL) WHERE (FIRST_NAME, LAST_NAME) {op} (VALUES {loyal})
    """
    assert one(db, rate.format(op="IN", loyal=loyal)) > 4 * one(db, rate.format(op="NOT IN", loyal=loyal))


def test_planted_pairs_are_bought_together_far_above_chance(
    sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection
) -> None:
    _, planted = sample
    orders = one(db, "SELECT count(DISTINCT ORDER_ID) FROM sales WHERE QUANTITY > 0")
    for a, b in planted["bought_together"]:
        row = db.execute(f"""
            SELECT count(*) FILTER (has_a), count(*) FILTER (has_b), count(*) FILTER (has_a AND has_b) FROM (
                SELECT bool_or(PRODUCT_ID = {a}) AS has_a, bool_or(PRODUCT_ID = {b}) AS has_b FROM sales
                WHERE QUANTITY > 0 GROUP BY ORDER_ID)
        """).fetchone()
        assert row is not None
        with_a, with_b, both = row
        assert both / (with_a * with_b / orders) > 5  # lift: co-occurrence over what independence predicts


def test_weekends_sell_more_than_midweek(db: duckdb.DuckDBPyConnection) -> None:
    by_day = dict(
        db.execute("""
            SELECT dayname(d), avg(n) FROM (SELECT ORDER_TS::DATE AS d, count(*) AS n FROM sales GROUP BY 1)
            GROUP BY 1
        """).fetchall()
    )
    assert by_day["Saturday"] > 1.4 * by_day["Tuesday"]
    assert by_day["Friday"] > by_day["Wednesday"]


def test_customer_files_use_the_customer_pipeline_layout_with_changes_and_dirt(
    sample: tuple[Path, dict[str, Any]], db: duckdb.DuckDBPyConnection
) -> None:
    out, _ = sample
    for path in sorted(out.glob("customers_*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == HEADER
        assert all(len(r) == len(HEADER) and len(r[7]) <= 20 and len(r[8]) <= 20 for r in rows[1:])
        assert all(len(r[9]) <= 50 and len(r[10]) <= 50 for r in rows[1:])
    assert one(db, "SELECT count(*) FROM customers WHERE coalesce(FIRST_NAME, '') = ''") >= DAYS
    assert one(db, "SELECT count(*) FROM customers WHERE FIRST_NAME <> trim(FIRST_NAME) OR CITY <> trim(CITY)") > 0
    assert one(db, "SELECT count(*) FROM customers WHERE LAST_NAME = upper(LAST_NAME) AND LAST_NAME <> ''") > 0
    # Changes: the same customer (names cleaned) with more than one phone or address across the files.
    changed = one(
        db,
        """
        SELECT count(*) FROM (
            SELECT lower(trim(FIRST_NAME)), lower(trim(LAST_NAME)) FROM customers WHERE FIRST_NAME <> '' GROUP BY ALL
            HAVING count(DISTINCT PHONE) > 1 OR count(DISTINCT ADDRESSLINE1) > 1)
        """,
    )
    assert changed > 10
    # Repeated rows: a customer twice in one file (the later row is the current one).
    twice = one(
        db,
        "SELECT count(*) FROM (SELECT file_date, FIRST_NAME, LAST_NAME FROM customers WHERE FIRST_NAME <> ''"
        " GROUP BY ALL HAVING count(*) > 1)",
    )
    assert twice > 0


def test_cli_writes_the_demo_days_or_the_retail_dataset(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from retail_etl.cli import app

    demo = CliRunner().invoke(app, ["sample-data", "--out", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [
        "customers_2023-12-30.csv",
        "customers_2023-12-31.csv",
        "customers_2023-12-31_store7.csv",
    ]
    full = CliRunner().invoke(app, ["sample-data", "--scale", "1", "--days", "14", "--out", str(tmp_path / "full")])
    assert full.exit_code == 0, full.output
    names = {p.name for p in (tmp_path / "full").iterdir()}
    assert {"stores.csv", "products.csv", "planted.json", "sales_2024-01-14.csv", "inventory_2024-01-01.csv"} <= names
