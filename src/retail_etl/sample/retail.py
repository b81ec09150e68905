"""Deterministic retail sample data: stores, products, and per-day customers, sales lines and inventory snapshots.

``scale`` sets the size. At scale ``S``:

* about ``1000 * S`` sales lines on an average day (weekdays and seasons move it up and down),
* ``2000 * S`` customers (so a regular customer buys every week or two, a loyal one every day or two),
* ``min(5000, 200 + 20 * S)`` products and ``min(50, 3 + S // 20)`` stores,
* one inventory row per store and product per day.

Every value derives from a hash of the seed and its keys, never from generator state, so the same
``(scale, days, seed)`` writes the same bytes whatever the thread count. Customers and inventory come from DuckDB
(``hash(seed, key...)``, each file written with an ORDER BY on a unique key); the sales lines, most of the rows,
are drawn and written as CSV text with array operations (:mod:`retail_etl.sample.sales`), in key order by
construction. Memory holds a few chunks of at most ``chunk_rows`` sales lines (plus the customers, products and
pending returns), so neither the number of days nor their size grows the footprint.

The patterns the gold layer must find are planted on purpose and listed in ``planted.json`` next to the files:
weekday and seasonal effects, stock-outs, slow movers, over-stocked products, loyal / new / lapsed customers and
products bought together. Customer files use :data:`retail_etl.sample.customers.HEADER`, so the shipped customer
pipeline loads them; a few carry dirty values (stray spaces, odd casing: trimming and proper-casing recovers the
clean value) and rows without names, which SILVER must drop.
"""

from __future__ import annotations

import csv
import json
import math
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_etl.sample.customers import HEADER
from retail_etl.sample.sales import Catalogue, SalesWriter, Shares, StockOut

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

START = date(2024, 1, 1)
MIN_DAYS = 14  # two weeks: shorter runs cannot show a weekday effect, a stock-out run and a lapse together
DEFAULT_CHUNK_ROWS = 1_000_000

# Monday first, as date.weekday() counts. Weekends sell most.
WEEKDAY_FACTOR = (0.85, 0.80, 0.90, 0.95, 1.15, 1.45, 1.20)
# Overall volume peaks before Christmas (day of year 355) by this fraction.
SEASON_AMPLITUDE = 0.15
SEASON_PEAK_DOY = 355


@dataclass(frozen=True)
class Category:
    name: str
    peak_doy: int  # day of the year the category sells most
    amplitude: float  # relative swing of its share across the year
    base_price: float
    nouns: tuple[str, ...]


CATEGORIES = (
    Category("Grocery", 1, 0.0, 4.0, ("Coffee", "Pasta", "Olive Oil", "Granola", "Tea", "Honey")),
    Category("Household", 1, 0.1, 8.0, ("Detergent", "Sponge Pack", "Trash Bags", "Candles", "Towels")),
    Category("Apparel", 280, 0.3, 35.0, ("Jacket", "Sweater", "Jeans", "T-Shirt", "Scarf", "Socks")),
    Category("Outdoor", 196, 0.7, 45.0, ("Tent", "Cooler", "Grill", "Hammock", "Lantern", "Sunscreen")),
    Category("Toys", 350, 0.8, 25.0, ("Puzzle", "Board Game", "Plush Bear", "Kite", "Blocks", "Robot Kit")),
    Category("Electronics", 330, 0.5, 80.0, ("Headphones", "Speaker", "Charger", "Smart Plug", "Webcam")),
    Category("Beauty", 45, 0.1, 15.0, ("Shampoo", "Lip Balm", "Face Cream", "Perfume", "Hand Soap")),
    Category("Home", 120, 0.2, 30.0, ("Lamp", "Cushion", "Vase", "Frame", "Planter", "Rug")),
)
ADJECTIVES = ("Classic", "Everyday", "Premium", "Eco", "Cozy", "Urban", "Fresh", "Bold", "Compact", "Deluxe")
CITIES = (
    ("Springfield", "IL", "62701", "USA"), ("Portland", "OR", "97201", "USA"), ("Austin", "TX", "73301", "USA"),
    ("Denver", "CO", "80202", "USA"), ("Seattle", "WA", "98101", "USA"), ("Boston", "MA", "02108", "USA"),
    ("Atlanta", "GA", "30303", "USA"), ("Phoenix", "AZ", "85001", "USA"), ("Madison", "WI", "53703", "USA"),
    ("Raleigh", "NC", "27601", "USA"), ("Toronto", "ON", "M5H 2N2", "Canada"), ("Ottawa", "ON", "K1P 1J1", "Canada"),
    ("Vancouver", "BC", "V6B 1A1", "Canada"), ("Calgary", "AB", "T2P 1J9", "Canada"),
)  # fmt: skip
STREETS = ("Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Harbor Way", "Lake Blvd")
# Plain capitalised words, so "trim and proper-case" turns a dirty name back into the clean one exactly.
FIRST_NAMES = (
    "Ada", "Bram", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Lena", "Mateo", "Noor",
    "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Viktor", "Wren", "Yara", "Zane", "Amir", "Bea", "Cyrus",
    "Dana", "Emil", "Farah", "Gus",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Martin", "Patel", "Yilmaz", "Adeyemi", "Lindqvist", "Sato", "Garcia", "Muller", "Mensah", "Rossi",
    "Haddad", "Ivanova", "Nair", "Walsh", "Costa", "Novak", "Kim", "Dubois", "Silva", "Berg", "Khan", "Lopez", "Moreau",
    "Nakamura", "Olsen", "Petrov", "Quist", "Reyes", "Schmidt", "Tanaka", "Varga",
)  # fmt: skip

PRODUCTS_HEADER = ["PRODUCT_ID", "PRODUCT_NAME", "CATEGORY", "PRICE", "COST"]
STORES_HEADER = ["STORE_ID", "STORE_NAME", "CITY", "STATE"]
SALES_HEADER = ["ORDER_ID", "LINE_NUMBER", "ORDER_TS", "STORE_ID", "FIRST_NAME", "LAST_NAME", "PRODUCT_ID",
                "QUANTITY", "UNIT_PRICE", "DISCOUNT"]  # fmt: skip
INVENTORY_HEADER = ["STORE_ID", "PRODUCT_ID", "SNAPSHOT_DATE", "ON_HAND", "ON_ORDER", "REORDER_POINT"]

# Share of orders per customer segment; customers are 5% loyal, 5% new, 5% lapsed, 85% regular.
LOYAL_ORDERS, NEW_ORDERS, LAPSED_ORDERS = 0.30, 0.06, 0.06
PAIR_ORDERS = 0.06  # orders that start with one of the planted product pairs
N_PAIRS = 3
RETURN_RATE = 0.02  # sales lines that come back, as a negative line 1 to 7 days later
MEAN_LINES = 2.5  # lines per order: 1..5 with weights 30/25/20/15/10


CUSTOMER_DAYS_AT_ONCE = 7  # customer files are built a week at a time: memory does not grow with the days
# Customer names are unique up to 32 first x 32**3 last names: more customers would repeat them, and a name is a key.
MAX_SCALE = len(FIRST_NAMES) * len(LAST_NAMES) ** 3 // 2000


def sizes(scale: int) -> dict[str, int]:
    """Row counts that ``scale`` implies (see the module docstring)."""
    return {
        "sales_lines_per_day": 1000 * scale,
        "customers": 2000 * scale,
        "products": min(5000, 200 + 20 * scale),
        "stores": min(50, 3 + scale // 20),
    }


def _name_sql(column: str) -> tuple[str, str]:
    """SQL for a unique (first, last) name per customer id: 32 x 32 single names, then double- and triple-barrelled."""
    first = "[" + ", ".join(f"'{n}'" for n in FIRST_NAMES) + "]"
    last = "[" + ", ".join(f"'{n}'" for n in LAST_NAMES) + "]"
    n_first, n_last = len(FIRST_NAMES), len(LAST_NAMES)
    k = f"({column} - 1)"
    first_sql = f"{first}[{k} % {n_first} + 1]"
    block = n_first * n_last
    last_sql = (
        f"{last}[({k} // {n_first}) % {n_last} + 1]"
        f" || CASE WHEN {k} >= {block} THEN '-' || {last}[({k} // {block}) % {n_last} + 1] ELSE '' END"
        f" || CASE WHEN {k} >= {block * n_last} THEN '-' || {last}[({k} // {block * n_last}) % {n_last} + 1]"
        " ELSE '' END"
    )
    return first_sql, last_sql


def _sql_text(path: Path) -> str:
    """A path as a SQL string literal: the output directory may contain a quote."""
    return "'" + str(path).replace("'", "''") + "'"


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(
    out: Path, *, scale: int, days: int, seed: int, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> dict[str, list[Path]]:
    """Write the sample files under ``out`` and return them by kind.

    Keys: ``stores``, ``products``, ``customers``, ``sales``, ``inventory`` (one file per day, ``<kind>_YYYY-MM-DD.csv``
    from 2024-01-01) and ``planted`` (``planted.json``). ``chunk_rows`` caps the sales lines drawn at once (on
    average): a bigger day is written as several files ``sales_YYYY-MM-DD_partN.csv``, N zero-padded so that names
    sort in order. Raises ValueError for a scale above :data:`MAX_SCALE`, where customer names would repeat.
    """
    if not 1 <= scale <= MAX_SCALE or days < MIN_DAYS or chunk_rows < 1:
        raise ValueError(
            f"need 1 <= scale <= {MAX_SCALE}, days >= {MIN_DAYS}, chunk_rows >= 1 (got {scale}, {days}, {chunk_rows})"
        )
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    size = sizes(scale)
    rng = random.Random(seed)
    con = duckdb.connect()
    # A uniform double in [0, 1) from the seed and up to three keys: a pure function, so order and threads are moot.
    con.execute(f"CREATE MACRO u(a, b, c) AS (hash({int(seed)}, a, b, c) >> 11)::DOUBLE / 9007199254740992.0")

    stores_path, stores = _stores(out, size["stores"])
    products_path, products = _products(out, size["products"], rng)
    planted = _plant(rng, products, stores, days)
    con.execute(f"CREATE TABLE stores AS SELECT * FROM read_csv({_sql_text(stores_path)}, header = true)")
    _planted_tables(con, planted)
    _customers_table(con, size["customers"], days, size["stores"])
    _inventory_base(con, size)
    planted["customers"] = _customer_segments(con)

    files: dict[str, list[Path]] = {
        "stores": [stores_path], "products": [products_path], "customers": [], "sales": [], "inventory": [],
    }  # fmt: skip
    chunk_orders = max(1, int(chunk_rows / MEAN_LINES))
    # Customer and inventory files come from DuckDB on one worker while this thread draws the sales lines and the
    # workers turn them into text; DuckDB and the array operations release the GIL for their work. Every value is
    # a pure function of its keys and every file is written in key order, so the bytes do not depend on what ran
    # where.
    # The first failure (or Ctrl-C) stops the other side at once rather than after all its work.
    stop = threading.Event()
    side_con = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            side = pool.submit(_customer_and_inventory_files, side_con, out, days, size["customers"], stop)
            sales = SalesWriter(
                _catalogue(con, products, planted, size["stores"]),
                seed=seed,
                days=days,
                shares=Shares(LOYAL_ORDERS, NEW_ORDERS, LAPSED_ORDERS, PAIR_ORDERS, N_PAIRS, RETURN_RATE),
                start=START,
                pool=pool,
            )
            try:
                for day in range(days):
                    if side.done():
                        side.result()  # raises what stopped it
                    n_orders = _orders_on(START + timedelta(days=day), size)
                    files["sales"].extend(sales.day_files(out, day, n_orders, chunk_orders))
                sales.finish()
                files["customers"], files["inventory"] = side.result()
            except BaseException:
                stop.set()
                side_con.interrupt()
                sales.abandon()
                raise
    finally:
        side_con.close()
        con.close()

    planted_path = out / "planted.json"
    # One line per pattern: readable, and written by json's C encoder (an indented dump of tens of thousands of
    # customer names takes the pure-Python one).
    lines = [f"{json.dumps(key)}: {json.dumps(planted[key], sort_keys=True)}" for key in sorted(planted)]
    planted_path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    files["planted"] = [planted_path]
    return files


def _stores(out: Path, count: int) -> tuple[Path, list[list[Any]]]:
    rows: list[list[Any]] = []
    for store_id in range(1, count + 1):
        city, state, _, _ = CITIES[(store_id - 1) % len(CITIES)]
        branch = (store_id - 1) // len(CITIES)
        rows.append([store_id, f"XYZ Retail {city}" + (f" {branch + 1}" if branch else ""), city, state])
    path = out / "stores.csv"
    _write_csv(path, STORES_HEADER, rows)
    return path, rows


def _products(out: Path, count: int, rng: random.Random) -> tuple[Path, list[list[Any]]]:
    rows: list[list[Any]] = []
    for product_id in range(1, count + 1):
        category = CATEGORIES[(product_id - 1) % len(CATEGORIES)]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(category.nouns)} {product_id:05d}"
        price = round(category.base_price * (0.5 + 1.5 * rng.random()), 2)
        cost = round(price * (0.45 + 0.25 * rng.random()), 2)
        rows.append([product_id, name, category.name, f"{price:.2f}", f"{cost:.2f}"])
    path = out / "products.csv"
    _write_csv(path, PRODUCTS_HEADER, rows)
    return path, rows


def _plant(rng: random.Random, products: list[list[Any]], stores: list[list[Any]], days: int) -> dict[str, Any]:
    """Choose the planted products: disjoint sets, so one pattern never hides another."""
    ids = [int(row[0]) for row in products]
    by_popularity = ids[:]
    rng.shuffle(by_popularity)  # popularity rank = position: rank 1 sells most
    n_slow = max(3, len(ids) // 50)
    slow = sorted(by_popularity[-n_slow:])
    # Stock-outs hit well-selling products (ranks 2-19), so the missing sales show. Pairs come from ranks 20-25:
    # common enough to be seen at small scales, rare enough that buying both by chance is unlikely.
    candidates = by_popularity[1:19]
    pairs = [sorted(by_popularity[i : i + 2]) for i in range(19, 19 + 2 * N_PAIRS, 2)]
    n_stockouts = 3 + min(7, len(stores) // 5)
    stock_outs = []
    for product_id in sorted(rng.sample(candidates, n_stockouts)):
        length = rng.randint(3, 6)
        first = rng.randint(days // 5, days - length - 2)
        stock_outs.append({
            "store_id": rng.randint(1, len(stores)), "product_id": product_id,
            "first_day": (START + timedelta(days=first)).isoformat(),
            "last_day": (START + timedelta(days=first + length - 1)).isoformat(),
            "substitute_id": by_popularity[0],  # the best seller is never stocked out: buyers switch to it
        })  # fmt: skip
    middle = by_popularity[25 : len(ids) - n_slow]
    overstocked = sorted(rng.sample(middle, min(len(middle), max(3, len(ids) // 100))))
    return {
        "popularity_rank": by_popularity,
        "slow_movers": slow,
        "overstocked": overstocked,
        "bought_together": pairs,
        "stock_outs": stock_outs,
        "weekday_factor": dict(zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], WEEKDAY_FACTOR, strict=True)),
        "season": {
            "overall": {"peak_day_of_year": SEASON_PEAK_DOY, "amplitude": SEASON_AMPLITUDE},
            "categories": {c.name: {"peak_day_of_year": c.peak_doy, "amplitude": c.amplitude} for c in CATEGORIES},
        },
    }


def _popularity(planted: dict[str, Any]) -> dict[int, float]:
    """Each product's relative weight: Zipf-like by rank; slow movers sell a thousandth of what their rank gives."""
    slow = set(planted["slow_movers"])
    return {
        product_id: rank**-0.9 * (0.001 if product_id in slow else 1.0)
        for rank, product_id in enumerate(planted["popularity_rank"], start=1)
    }


def _planted_tables(con: DuckDBPyConnection, planted: dict[str, Any]) -> None:
    values = ", ".join(f"({p}, {w!r})" for p, w in _popularity(planted).items())
    con.execute(f"CREATE TABLE popularity AS SELECT * FROM (VALUES {values}) t(PRODUCT_ID, weight)")
    stock_outs = ", ".join(
        f"({s['store_id']}, {s['product_id']}, {(date.fromisoformat(s['first_day']) - START).days},"
        f" {(date.fromisoformat(s['last_day']) - START).days}, {s['substitute_id']})"
        for s in planted["stock_outs"]
    )
    con.execute(
        f"CREATE TABLE stock_outs AS SELECT * FROM (VALUES {stock_outs})"
        " t(STORE_ID, PRODUCT_ID, first_day, last_day, substitute_id)"
    )
    over = ", ".join(f"({p})" for p in planted["overstocked"])
    con.execute(f"CREATE TABLE overstocked AS SELECT * FROM (VALUES {over}) t(PRODUCT_ID)")
    slow_values = ", ".join(f"({p})" for p in planted["slow_movers"])
    con.execute(f"CREATE TABLE slow AS SELECT * FROM (VALUES {slow_values}) t(PRODUCT_ID)")


def _customers_table(con: DuckDBPyConnection, count: int, days: int, n_stores: int) -> None:
    """``customers``: who each customer is to the sales (segment, home store, when they join, lapse or change).

    Their names, phones and addresses are pure functions of ``cid`` too, computed by the ``customer_details``
    view where a file needs them: the sales compose the names themselves (:class:`SalesWriter`).
    """
    new_from = days * 2 // 3
    con.execute(f"""
        CREATE TABLE customers AS
        WITH seg AS (
            SELECT cid,
                CASE WHEN u(cid, 'seg', 0) < 0.05 THEN 'loyal' WHEN u(cid, 'seg', 0) < 0.10 THEN 'new'
                     WHEN u(cid, 'seg', 0) < 0.15 THEN 'lapsed' ELSE 'regular' END AS seg
            FROM range(1, {count} + 1) t(cid)
        )
        SELECT cid, seg,
            CASE WHEN seg = 'new' THEN {new_from} + floor(u(cid, 'join', 0) * {days - new_from})::INT ELSE 0 END
                AS join_day,
            -- lapsed customers stop buying between 30% and 50% of the period: the rest of it shows them gone
            CASE WHEN seg = 'lapsed' THEN floor({days} * (0.3 + 0.2 * u(cid, 'lapse', 0)))::INT ELSE {days} END
                AS lapse_day,
            1 + floor(u(cid, 'home', 0) * {n_stores})::INT AS home_store,
            -- about a third of the customers change once: a new phone or a move, from change_day on
            CASE WHEN seg <> 'new' AND u(cid, 'chg', 0) < 0.3
                 THEN 1 + floor(u(cid, 'chg', 1) * {days - 1})::INT END AS change_day,
            CASE WHEN u(cid, 'chg', 2) < 0.5 THEN 'phone' ELSE 'address' END AS change_kind,
            u(cid, 'chg', 3) < 0.2 AS change_twice,
            row_number() OVER (PARTITION BY seg ORDER BY
                CASE WHEN seg = 'new' THEN join_day WHEN seg = 'lapsed' THEN -lapse_day ELSE 0 END, cid) AS seg_rank
        FROM seg
    """)
    first_sql, last_sql = _name_sql("cid")
    cities = "[" + ", ".join(f"['{c}', '{s}', '{p}', '{n}']" for c, s, p, n in CITIES) + "]"
    streets = "[" + ", ".join(f"'{s}'" for s in STREETS) + "]"
    con.execute(f"""
        CREATE VIEW customer_details AS
        SELECT *, place[1] AS city, place[2] AS state, place[3] AS postal_code, place[4] AS country,
            CASE WHEN place[4] = 'Canada' THEN place[2] ELSE '' END AS province
        FROM (
            SELECT *, {first_sql} AS first_name, {last_sql} AS last_name,
                ['', '', '', 'Acme Retail', 'Northwind', 'Globex', 'Initech'][floor(u(cid, 'co', 0) * 7)::INT + 1]
                    AS company,
                '+1-555-' || lpad(floor(u(cid, 'ph', 0) * 10000)::INT::VARCHAR, 4, '0') AS phone,
                '+1-555-' || lpad(floor(u(cid, 'ph', 1) * 10000)::INT::VARCHAR, 4, '0') AS phone_interim,
                '+1-555-' || lpad(floor(u(cid, 'ph', 2) * 10000)::INT::VARCHAR, 4, '0') AS phone_new,
                (1 + floor(u(cid, 'no', 0) * 998)::INT)::VARCHAR || ' '
                    || {streets}[floor(u(cid, 'st', 0) * {len(STREETS)})::INT + 1] AS address,
                (1 + floor(u(cid, 'no', 1) * 998)::INT)::VARCHAR || ' '
                    || {streets}[floor(u(cid, 'st', 1) * {len(STREETS)})::INT + 1] AS address_new,
                CASE WHEN u(cid, 'apt', 0) < 0.3 THEN 'Apt ' || (1 + floor(u(cid, 'apt', 1) * 40)::INT)::VARCHAR
                     ELSE '' END AS address2,
                {cities}[floor(u(cid, 'city', 0) * {len(CITIES)})::INT + 1] AS place
            FROM customers
        )
    """)


def _customer_segments(con: DuckDBPyConnection) -> dict[str, Any]:
    def rows(sql: str) -> list[Any]:
        return [list(r) for r in con.execute(sql).fetchall()]

    return {
        "loyal": rows("SELECT first_name, last_name FROM customer_details WHERE seg = 'loyal' ORDER BY cid"),
        "new": [
            [f, la, (START + timedelta(days=d)).isoformat()]
            for f, la, d in rows(
                "SELECT first_name, last_name, join_day FROM customer_details WHERE seg = 'new' ORDER BY cid"
            )
        ],
        "lapsed": [
            [f, la, (START + timedelta(days=d)).isoformat()]
            for f, la, d in rows(
                "SELECT first_name, last_name, lapse_day FROM customer_details WHERE seg = 'lapsed' ORDER BY cid"
            )
        ],
        "note": "new: [first, last, first day in the files]; lapsed: [first, last, last possible purchase day]",
    }


def _customer_rows(con: DuckDBPyConnection, first_day: int, end_day: int, nameless: int) -> None:
    """The rows of the customer files of days ``first_day`` to ``end_day`` (excluded), in one pass over the customers.

    Day 0 introduces every customer but the new ones; later days carry joins, changes, resends and dirt. Reading
    the customers once for several days, rather than once per day, matters: a later day keeps a few percent of them.
    """
    con.execute(f"""
        CREATE OR REPLACE TABLE customer_rows AS
        WITH d AS (SELECT range::INTEGER AS day FROM range({first_day}, {end_day})),
        picked AS (
            SELECT d.day, 1 AS seq, c.cid FROM d, customers c
            WHERE (d.day = 0 AND c.seg <> 'new') OR (c.seg = 'new' AND c.join_day = d.day)
               OR c.change_day = d.day
               OR (d.day > 0 AND c.join_day < d.day AND u(c.cid, 'resend', d.day) < 0.005)
            UNION ALL
            -- a changed customer sent twice in one file, the interim phone first: the later row must win
            SELECT change_day, 0, cid FROM customers
            WHERE change_twice AND change_day >= {first_day} AND change_day < {end_day}
        ),
        emitted AS (
            SELECT p.day, p.seq, c.*
                REPLACE (
                    CASE WHEN p.seq = 0 THEN c.phone_interim
                         WHEN c.change_kind = 'phone' AND c.change_day <= p.day THEN c.phone_new ELSE c.phone END
                        AS phone,
                    CASE WHEN c.change_kind = 'address' AND c.change_day <= p.day THEN c.address_new
                         ELSE c.address END AS address
                ),
                u(c.cid, 'dirty', p.day * 2 + p.seq) AS ud
            FROM picked p JOIN customer_details c USING (cid)
        )
        SELECT day, company AS COMPANYNAME, phone AS PHONE, address AS ADDRESSLINE1, address2 AS ADDRESSLINE2,
            CASE WHEN ud < 0.01 THEN ' ' || lower(city) ELSE city END AS CITY,
            state AS STATE, postal_code AS POSTALCODE, country AS COUNTRY, province AS PROVINCE,
            CASE WHEN ud >= 0.01 AND ud < 0.02 THEN '  ' || first_name || ' '
                 WHEN ud >= 0.02 AND ud < 0.03 THEN lower(first_name) ELSE first_name END AS FIRST_NAME,
            CASE WHEN ud >= 0.03 AND ud < 0.04 THEN upper(last_name) || ' ' ELSE last_name END AS LAST_NAME,
            hash(day, cid) AS k1, seq
        FROM emitted
        UNION ALL
        -- rows without names: loadable, but SILVER cannot key them and must drop them
        SELECT d.day, '', '+1-555-0000', '1 Main St', '', 'Denver', 'CO', '80202', 'USA', '', '', '',
            hash(d.day, -1 - i), 0
        FROM d, range({nameless}) t(i)
        ORDER BY day
    """)


def _customer_file(con: DuckDBPyConnection, out: Path, day: int, when: date) -> Path:
    path = out / f"customers_{when.isoformat()}.csv"
    con.execute(f"""
        COPY (SELECT {", ".join(HEADER)} FROM customer_rows WHERE day = {day} ORDER BY k1, seq)
        TO {_sql_text(path)} (HEADER, DELIMITER ',')
    """)
    return path


def _customer_and_inventory_files(
    con: DuckDBPyConnection, out: Path, days: int, customers: int, stop: threading.Event
) -> tuple[list[Path], list[Path]]:
    customer_files, inventory_files = [], []
    for first_day in range(0, days, CUSTOMER_DAYS_AT_ONCE):
        end_day = min(days, first_day + CUSTOMER_DAYS_AT_ONCE)
        _customer_rows(con, first_day, end_day, max(1, customers // 2000))
        for day in range(first_day, end_day):
            if stop.is_set():
                raise InterruptedError("sample generation stopped")
            when = START + timedelta(days=day)
            customer_files.append(_customer_file(con, out, day, when))
            inventory_files.append(_inventory_file(con, out, day, when))
    return customer_files, inventory_files


def _orders_on(when: date, size: dict[str, int]) -> int:
    """A day's orders: weekends sell most, and volume peaks before Christmas."""
    doy = when.timetuple().tm_yday
    season = 1 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (doy - SEASON_PEAK_DOY) / 365)
    return round(size["sales_lines_per_day"] * WEEKDAY_FACTOR[when.weekday()] * season / MEAN_LINES)


def _catalogue(con: DuckDBPyConnection, products: list[list[Any]], planted: dict[str, Any], n_stores: int) -> Catalogue:
    """What the sales draw from, as arrays: products in id order, and the customers grouped by segment, each group
    in the order the segment draws from (``seg_rank``)."""
    import numpy as np

    popularity = _popularity(planted)
    categories = {c.name: c for c in CATEGORIES}
    ids = [int(row[0]) for row in products]
    customers = con.execute(
        "SELECT CASE seg WHEN 'loyal' THEN 0 WHEN 'new' THEN 1 WHEN 'lapsed' THEN 2 ELSE 3 END AS segment,"
        " cid, home_store, join_day, lapse_day FROM customers ORDER BY segment, seg_rank"
    ).fetchnumpy()
    return Catalogue(
        product_ids=np.array(ids, dtype=np.int64),
        price_cents=np.array([int(str(row[3]).replace(".", "")) for row in products], dtype=np.int64),
        price_text=[str(row[3]) for row in products],
        popularity=np.array([popularity[p] for p in ids], dtype=np.float64),
        peak_doy=np.array([categories[str(row[2])].peak_doy for row in products], dtype=np.float64),
        amplitude=np.array([categories[str(row[2])].amplitude for row in products], dtype=np.float64),
        pairs=[(int(a), int(b)) for a, b in planted["bought_together"]],
        stock_outs=[
            StockOut(
                int(s["store_id"]),
                int(s["product_id"]),
                (date.fromisoformat(s["first_day"]) - START).days,
                (date.fromisoformat(s["last_day"]) - START).days,
                int(s["substitute_id"]),
            )
            for s in planted["stock_outs"]
        ],
        n_stores=n_stores,
        segment=np.asarray(customers["segment"], dtype=np.int64),
        cid=np.asarray(customers["cid"], dtype=np.int64),
        home_store=np.asarray(customers["home_store"], dtype=np.int64),
        join_day=np.asarray(customers["join_day"], dtype=np.int64),
        lapse_day=np.asarray(customers["lapse_day"], dtype=np.int64),
        first_names=FIRST_NAMES,
        last_names=LAST_NAMES,
    )


def _inventory_base(con: DuckDBPyConnection, size: dict[str, int]) -> None:
    """Per store and product: expected daily units, reorder point, the level a restock fills to, restock phase."""
    units_per_day = size["sales_lines_per_day"] * 1.6  # 1.6 units per line on average
    con.execute(f"""
        CREATE TABLE inv_base AS
        WITH share AS (SELECT PRODUCT_ID, weight / sum(weight) OVER () AS share FROM popularity),
        e AS (
            SELECT s.STORE_ID, sh.PRODUCT_ID, sh.share * {units_per_day} / {size["stores"]} AS expected,
                sh.PRODUCT_ID IN (SELECT PRODUCT_ID FROM slow) AS is_slow,
                sh.PRODUCT_ID IN (SELECT PRODUCT_ID FROM overstocked) AS is_over
            FROM stores s CROSS JOIN share sh
        ), levels AS (
            SELECT *, CASE WHEN is_slow THEN 2 ELSE ceil(expected * 4)::INT + 2 END AS reorder_point FROM e
        )
        SELECT STORE_ID, PRODUCT_ID, is_slow, reorder_point,
            -- slow movers sit on 40-80 units they never sell; over-stocked ones hold 15 times a normal fill
            CASE WHEN is_slow THEN 40 + floor(u(STORE_ID, PRODUCT_ID, 'slow') * 40)::INT
                 ELSE (reorder_point + ceil(expected * 10)::INT + 5) * CASE WHEN is_over THEN 15 ELSE 1 END
            END AS fill_level,
            floor(u(STORE_ID, PRODUCT_ID, 'phase') * 7)::INT AS phase
        FROM levels
    """)


def _inventory_file(con: DuckDBPyConnection, out: Path, day: int, when: date) -> Path:
    """A weekly restock saw-tooth that never reaches zero, except in the planted stock-outs."""
    path = out / f"inventory_{when.isoformat()}.csv"
    con.execute(f"""
        COPY (
            WITH snap AS (
                SELECT b.STORE_ID, b.PRODUCT_ID, b.reorder_point, b.fill_level, so.PRODUCT_ID IS NOT NULL AS out,
                    CASE WHEN so.PRODUCT_ID IS NOT NULL THEN 0
                         WHEN b.is_slow THEN b.fill_level - {day} // 10
                         ELSE greatest(1, floor(b.fill_level * (1 - ((({day} + b.phase) % 7) / 7))))::INT
                    END AS on_hand
                FROM inv_base b LEFT JOIN stock_outs so ON so.STORE_ID = b.STORE_ID AND so.PRODUCT_ID = b.PRODUCT_ID
                    AND {day} BETWEEN so.first_day AND so.last_day
            )
            SELECT STORE_ID, PRODUCT_ID, DATE '{when.isoformat()}' AS SNAPSHOT_DATE, on_hand AS ON_HAND,
                CASE WHEN out THEN fill_level WHEN on_hand < reorder_point THEN fill_level - on_hand ELSE 0 END
                    AS ON_ORDER,
                reorder_point AS REORDER_POINT
            FROM snap ORDER BY STORE_ID, PRODUCT_ID
        ) TO {_sql_text(path)} (HEADER, DELIMITER ',')
    """)
    return path
