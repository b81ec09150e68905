"""Deterministic retail sample data: stores, products, and per-day customers, sales lines and inventory snapshots.

``scale`` sets the size. At scale ``S``:

* about ``1000 * S`` sales lines on an average day (weekdays and seasons move it up and down),
* ``2000 * S`` customers (so a regular customer buys every week or two, a loyal one every day or two),
* ``min(5000, 200 + 20 * S)`` products and ``min(50, 3 + S // 20)`` stores,
* one inventory row per store and product per day.

Every value derives from ``hash(seed, key...)`` in DuckDB, never from generator state, so the same
``(scale, days, seed)`` writes the same bytes whatever the thread count; each file is written with an ORDER BY on a
unique key. Memory holds at most ``chunk_rows`` sales lines at once (plus the customers, products and pending
returns), each chunk written by a DuckDB COPY, so neither the number of days nor their size grows the footprint.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_etl.sample.customers import HEADER

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
    from 2024-01-01) and ``planted`` (``planted.json``). ``chunk_rows`` caps the rows DuckDB builds at once for a
    day's sales: a bigger day is written as several files ``sales_YYYY-MM-DD_partN.csv``.
    """
    if scale < 1 or days < MIN_DAYS or chunk_rows < 1:
        raise ValueError(f"need scale >= 1, days >= {MIN_DAYS}, chunk_rows >= 1 (got {scale}, {days}, {chunk_rows})")
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
    con.execute(
        f"CREATE TABLE products AS SELECT * FROM read_csv({_sql_text(products_path)}, header = true,"
        " columns = {'PRODUCT_ID': 'INTEGER', 'PRODUCT_NAME': 'VARCHAR', 'CATEGORY': 'VARCHAR',"
        " 'PRICE': 'DECIMAL(10,2)', 'COST': 'DECIMAL(10,2)'})"
    )
    _planted_tables(con, planted)
    _customers_table(con, size["customers"], days, size["stores"])
    _inventory_base(con, size)
    planted["customers"] = _customer_segments(con)

    files: dict[str, list[Path]] = {
        "stores": [stores_path], "products": [products_path], "customers": [], "sales": [], "inventory": [],
    }  # fmt: skip
    con.execute(
        "CREATE TABLE pending_returns (return_day INTEGER, src_order BIGINT, src_line INTEGER, STORE_ID INTEGER,"
        " FIRST_NAME VARCHAR, LAST_NAME VARCHAR, PRODUCT_ID INTEGER, QUANTITY INTEGER, UNIT_PRICE DECIMAL(10,2),"
        " DISCOUNT DECIMAL(10,2))"
    )
    # A day's statements are smaller than one DuckDB row group, so DuckDB runs each on one core: the work is spread
    # by hand instead. Customer and inventory files are written on a second connection while the sales are built,
    # and each sales chunk's CSV is written while the next chunk is built. Every value is a pure function of its
    # keys and every file is written in key order, so the bytes do not depend on what ran where.
    with ThreadPoolExecutor(max_workers=2) as pool:
        side = pool.submit(_customer_and_inventory_files, con.cursor(), out, days, size["customers"])
        writer = _SalesWriter(con, pool)
        for day in range(days):
            files["sales"].extend(
                _sales_files(
                    con, writer, out, day=day, when=START + timedelta(days=day), size=size, chunk_rows=chunk_rows
                )
            )
        writer.close()
        files["customers"], files["inventory"] = side.result()
    con.close()

    planted_path = out / "planted.json"
    planted_path.write_text(json.dumps(planted, indent=1, sort_keys=True) + "\n", encoding="utf-8")
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


def _planted_tables(con: DuckDBPyConnection, planted: dict[str, Any]) -> None:
    weights = []
    slow = set(planted["slow_movers"])
    for rank, product_id in enumerate(planted["popularity_rank"], start=1):
        # Zipf-like popularity; slow movers sell a thousandth of what their rank would give.
        weights.append((product_id, rank**-0.9 * (0.001 if product_id in slow else 1.0)))
    values = ", ".join(f"({p}, {w!r})" for p, w in weights)
    con.execute(f"CREATE TABLE popularity AS SELECT * FROM (VALUES {values}) t(PRODUCT_ID, weight)")
    season = ", ".join(f"('{c.name}', {c.peak_doy}, {c.amplitude})" for c in CATEGORIES)
    con.execute(f"CREATE TABLE season AS SELECT * FROM (VALUES {season}) t(CATEGORY, peak_doy, amplitude)")
    stock_outs = ", ".join(
        f"({s['store_id']}, {s['product_id']}, {(date.fromisoformat(s['first_day']) - START).days},"
        f" {(date.fromisoformat(s['last_day']) - START).days}, {s['substitute_id']})"
        for s in planted["stock_outs"]
    )
    con.execute(
        f"CREATE TABLE stock_outs AS SELECT * FROM (VALUES {stock_outs})"
        " t(STORE_ID, PRODUCT_ID, first_day, last_day, substitute_id)"
    )
    pairs = ", ".join(f"({k}, {a}, {b})" for k, (a, b) in enumerate(planted["bought_together"]))
    con.execute(f"CREATE TABLE pairs AS SELECT * FROM (VALUES {pairs}) t(k, a, b)")
    over = ", ".join(f"({p})" for p in planted["overstocked"])
    con.execute(f"CREATE TABLE overstocked AS SELECT * FROM (VALUES {over}) t(PRODUCT_ID)")
    slow_values = ", ".join(f"({p})" for p in planted["slow_movers"])
    con.execute(f"CREATE TABLE slow AS SELECT * FROM (VALUES {slow_values}) t(PRODUCT_ID)")


def _customers_table(con: DuckDBPyConnection, count: int, days: int, n_stores: int) -> None:
    first_sql, last_sql = _name_sql("cid")
    cities = "[" + ", ".join(f"['{c}', '{s}', '{p}', '{n}']" for c, s, p, n in CITIES) + "]"
    streets = "[" + ", ".join(f"'{s}'" for s in STREETS) + "]"
    new_from = days * 2 // 3
    con.execute(f"""
        CREATE TABLE customers AS
        WITH base AS (
            SELECT cid, u(cid, 'seg', 0) AS us,
                   {cities}[floor(u(cid, 'city', 0) * {len(CITIES)})::INT + 1] AS place
            FROM range(1, {count} + 1) t(cid)
        ), seg AS (
            SELECT *,
                CASE WHEN us < 0.05 THEN 'loyal' WHEN us < 0.10 THEN 'new' WHEN us < 0.15 THEN 'lapsed'
                     ELSE 'regular' END AS seg
            FROM base
        )
        SELECT cid, seg, {first_sql} AS first_name, {last_sql} AS last_name,
            CASE WHEN seg = 'new' THEN {new_from} + floor(u(cid, 'join', 0) * {days - new_from})::INT ELSE 0 END
                AS join_day,
            -- lapsed customers stop buying between 30% and 50% of the period: the rest of it shows them gone
            CASE WHEN seg = 'lapsed' THEN floor({days} * (0.3 + 0.2 * u(cid, 'lapse', 0)))::INT ELSE {days} END
                AS lapse_day,
            1 + floor(u(cid, 'home', 0) * {n_stores})::INT AS home_store,
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
            place[1] AS city, place[2] AS state, place[3] AS postal_code, place[4] AS country,
            CASE WHEN place[4] = 'Canada' THEN place[2] ELSE '' END AS province,
            -- about a third of the customers change once: a new phone or a move, from change_day on
            CASE WHEN seg <> 'new' AND u(cid, 'chg', 0) < 0.3
                 THEN 1 + floor(u(cid, 'chg', 1) * {days - 1})::INT END AS change_day,
            CASE WHEN u(cid, 'chg', 2) < 0.5 THEN 'phone' ELSE 'address' END AS change_kind,
            u(cid, 'chg', 3) < 0.2 AS change_twice,
            row_number() OVER (PARTITION BY seg ORDER BY
                CASE WHEN seg = 'new' THEN join_day WHEN seg = 'lapsed' THEN -lapse_day ELSE 0 END, cid) AS seg_rank
        FROM seg
    """)


def _customer_segments(con: DuckDBPyConnection) -> dict[str, Any]:
    def rows(sql: str) -> list[Any]:
        return [list(r) for r in con.execute(sql).fetchall()]

    return {
        "loyal": rows("SELECT first_name, last_name FROM customers WHERE seg = 'loyal' ORDER BY cid"),
        "new": [
            [f, la, (START + timedelta(days=d)).isoformat()]
            for f, la, d in rows("SELECT first_name, last_name, join_day FROM customers WHERE seg = 'new' ORDER BY cid")
        ],
        "lapsed": [
            [f, la, (START + timedelta(days=d)).isoformat()]
            for f, la, d in rows(
                "SELECT first_name, last_name, lapse_day FROM customers WHERE seg = 'lapsed' ORDER BY cid"
            )
        ],
        "note": "new: [first, last, first day in the files]; lapsed: [first, last, last possible purchase day]",
    }


def _customer_file(con: DuckDBPyConnection, out: Path, day: int, when: date, nameless: int) -> Path:
    """Day 0 introduces every customer but the new ones; later days carry joins, changes, resends and dirt."""
    path = out / f"customers_{when.isoformat()}.csv"
    state = f"""
        SELECT cid, first_name, last_name, company,
            CASE WHEN change_kind = 'phone' AND change_day <= {day} THEN phone_new ELSE phone END AS phone,
            CASE WHEN change_kind = 'address' AND change_day <= {day} THEN address_new ELSE address END AS address,
            address2, city, state, postal_code, country, province, phone_interim, change_day, change_kind,
            change_twice, seg, join_day
        FROM customers
    """
    con.execute(f"""
        COPY (
            WITH cur AS ({state}),
            emitted AS (
                SELECT 1 AS seq, * FROM cur
                WHERE ({day} = 0 AND seg <> 'new') OR (seg = 'new' AND join_day = {day})
                   OR change_day = {day}
                   OR ({day} > 0 AND join_day < {day} AND u(cid, 'resend', {day}) < 0.005)
                UNION ALL
                -- a changed customer sent twice in one file, the interim phone first: the later row must win
                SELECT 0 AS seq, * REPLACE (phone_interim AS phone) FROM cur WHERE change_day = {day} AND change_twice
            ),
            dirty AS (SELECT *, u(cid, 'dirty', {day} * 2 + seq) AS ud FROM emitted)
            SELECT {", ".join(HEADER)} FROM (
                SELECT
                    company AS COMPANYNAME, phone AS PHONE, address AS ADDRESSLINE1, address2 AS ADDRESSLINE2,
                    CASE WHEN ud < 0.01 THEN ' ' || lower(city) ELSE city END AS CITY,
                    state AS STATE, postal_code AS POSTALCODE, country AS COUNTRY, province AS PROVINCE,
                    CASE WHEN ud >= 0.01 AND ud < 0.02 THEN '  ' || first_name || ' '
                         WHEN ud >= 0.02 AND ud < 0.03 THEN lower(first_name) ELSE first_name END AS FIRST_NAME,
                    CASE WHEN ud >= 0.03 AND ud < 0.04 THEN upper(last_name) || ' ' ELSE last_name END AS LAST_NAME,
                    hash({day}, cid) AS k1, seq
                FROM dirty
                UNION ALL
                -- rows without names: loadable, but SILVER cannot key them and must drop them
                SELECT '', '+1-555-0000', '1 Main St', '', 'Denver', 'CO', '80202', 'USA', '', '', '',
                    hash({day}, -1 - i), 0
                FROM range({nameless}) t(i)
            )
            ORDER BY k1, seq
        ) TO {_sql_text(path)} (HEADER, DELIMITER ',')
    """)
    return path


def _segment_counts(con: DuckDBPyConnection, day: int) -> tuple[int, int, int, int]:
    """Customers each segment can draw from on ``day``: new ones once joined, lapsed ones until they lapse."""
    row = con.execute(f"""
        SELECT count(*) FILTER (seg = 'loyal'), count(*) FILTER (seg = 'new' AND join_day <= {day}),
               count(*) FILTER (seg = 'lapsed' AND lapse_day >= {day}), count(*) FILTER (seg = 'regular')
        FROM customers
    """).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _cdf(con: DuckDBPyConnection, when: date) -> None:
    """Product choice for ``when``: cumulative shares of Zipf popularity times the category's season.

    Weights become integers before the running sum: integer sums are exact, so no thread order changes a bit.
    """
    doy = when.timetuple().tm_yday
    con.execute(f"""
        CREATE OR REPLACE TABLE cdf AS
        WITH w AS (
            SELECT p.PRODUCT_ID,
                round(w.weight * (1 + s.amplitude * cos(2 * pi() * ({doy} - s.peak_doy) / 365)) * 1e12)::HUGEINT AS iw
            FROM products p JOIN popularity w USING (PRODUCT_ID) JOIN season s USING (CATEGORY)
        )
        SELECT PRODUCT_ID, ((sum(iw) OVER (ORDER BY PRODUCT_ID) - iw) / sum(iw) OVER ())::DOUBLE AS lo FROM w
    """)


def _customer_and_inventory_files(
    con: DuckDBPyConnection, out: Path, days: int, customers: int
) -> tuple[list[Path], list[Path]]:
    customer_files, inventory_files = [], []
    for day in range(days):
        when = START + timedelta(days=day)
        customer_files.append(_customer_file(con, out, day, when, max(1, customers // 2000)))
        inventory_files.append(_inventory_file(con, out, day, when))
    con.close()
    return customer_files, inventory_files


class _SalesWriter:
    """Writes one sales chunk's CSV on a second connection while the next chunk is built.

    Chunks alternate between two tables, and at most one write is in flight, so a table is never rebuilt while
    its CSV is being written.
    """

    def __init__(self, con: DuckDBPyConnection, pool: ThreadPoolExecutor) -> None:
        self._con = con.cursor()
        self._pool = pool
        self._pending: Future[None] | None = None
        self.chunks = 0

    def table(self) -> str:
        return f"lines_{self.chunks % 2}"

    def write(self, sql: str) -> None:
        self.wait()
        self._pending = self._pool.submit(self._run, sql)
        self.chunks += 1

    def _run(self, sql: str) -> None:
        self._con.execute(sql)

    def wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        self.wait()
        self._con.close()


def _sales_files(
    con: DuckDBPyConnection,
    writer: _SalesWriter,
    out: Path,
    *,
    day: int,
    when: date,
    size: dict[str, int],
    chunk_rows: int,
) -> list[Path]:
    doy = when.timetuple().tm_yday
    season = 1 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (doy - SEASON_PEAK_DOY) / 365)
    n_orders = round(size["sales_lines_per_day"] * WEEKDAY_FACTOR[when.weekday()] * season / MEAN_LINES)
    n_loyal, n_new, n_lapsed, n_regular = _segment_counts(con, day)
    day_id = int(when.strftime("%Y%m%d")) * 10_000_000  # order ids: yyyymmdd then the order's number that day
    _cdf(con, when)
    per_chunk = max(1, int(chunk_rows / MEAN_LINES))
    chunks = list(range(0, n_orders, per_chunk)) or [0]
    paths = []
    for number, low in enumerate(chunks, start=1):
        high = min(n_orders, low + per_chunk)
        suffix = "" if len(chunks) == 1 else f"_part{number}"
        path = out / f"sales_{when.isoformat()}{suffix}.csv"
        lines = writer.table()
        con.execute(f"""
            CREATE OR REPLACE TABLE {lines} AS
            WITH o AS (
                SELECT i, u(i, 'seg', {day}) AS us, u(i, 'cust', {day}) AS uc, u(i, 'n', {day}) AS un,
                       u(i, 'pair', {day}) AS up
                FROM range({low}, {high}) t(i)
            ), o2 AS (
                SELECT *,
                    CASE WHEN us < {LOYAL_ORDERS} THEN 'loyal'
                         WHEN us < {LOYAL_ORDERS + NEW_ORDERS} AND {n_new} > 0 THEN 'new'
                         WHEN us >= {LOYAL_ORDERS + NEW_ORDERS} AND us < {LOYAL_ORDERS + NEW_ORDERS + LAPSED_ORDERS}
                              AND {n_lapsed} > 0 THEN 'lapsed'
                         ELSE 'regular' END AS seg,
                    CASE WHEN un < 0.30 THEN 1 WHEN un < 0.55 THEN 2 WHEN un < 0.75 THEN 3 WHEN un < 0.90 THEN 4
                         ELSE 5 END AS n_lines,
                    CASE WHEN up < {PAIR_ORDERS} THEN floor(up / {PAIR_ORDERS} * {N_PAIRS})::INT END AS pair_k
                FROM o
            ), orders AS (
                SELECT o2.i, o2.seg, o2.pair_k,
                    greatest(o2.n_lines, CASE WHEN o2.pair_k IS NULL THEN 1 ELSE 2 END) AS n_lines,
                    {day_id} + o2.i AS ORDER_ID,
                    -- order numbers follow the clock, 08:00 to 21:00, so ids and times sort alike
                    TIMESTAMP '{when.isoformat()} 08:00:00'
                        + to_seconds(floor((o2.i + u(o2.i, 't', {day})) / {n_orders} * 46800)::BIGINT) AS ts,
                    CASE WHEN u(o2.i, 'store', {day}) < 0.85 THEN c.home_store
                         ELSE 1 + floor(u(o2.i, 'store2', {day}) * {size["stores"]})::INT END AS STORE_ID,
                    c.first_name, c.last_name
                FROM o2 JOIN customers c ON c.seg = o2.seg AND c.seg_rank = 1 + floor(o2.uc * CASE o2.seg
                    WHEN 'loyal' THEN {n_loyal} WHEN 'new' THEN {n_new} WHEN 'lapsed' THEN {n_lapsed}
                    ELSE {n_regular} END)::INT
            ), l AS (
                SELECT *, u(i * 8 + line, 'p', {day}) AS upr
                FROM (SELECT *, unnest(range(1, n_lines + 1)) AS line FROM orders)
            ), picked AS (
                SELECT l.*, CASE WHEN l.line = 1 AND l.pair_k IS NOT NULL THEN pr.a
                                 WHEN l.line = 2 AND l.pair_k IS NOT NULL THEN pr.b
                                 ELSE cdf.PRODUCT_ID END AS chosen
                FROM l ASOF JOIN cdf ON l.upr >= cdf.lo LEFT JOIN pairs pr ON pr.k = l.pair_k
            ), lines AS (
                -- a stocked-out product cannot sell at that store: the buyer takes the substitute instead
                SELECT picked.*, coalesce(so.substitute_id, picked.chosen) AS PRODUCT_ID,
                    u(i * 8 + line, 'q', {day}) AS uq, u(i * 8 + line, 'd', {day}) AS ud
                FROM picked LEFT JOIN stock_outs so ON so.STORE_ID = picked.STORE_ID
                    AND so.PRODUCT_ID = picked.chosen AND {day} BETWEEN so.first_day AND so.last_day
            )
            SELECT lines.i, lines.seg, ORDER_ID, line AS LINE_NUMBER, ts, STORE_ID, first_name AS FIRST_NAME,
                last_name AS LAST_NAME, PRODUCT_ID,
                CASE WHEN uq < 0.60 THEN 1 WHEN uq < 0.85 THEN 2 WHEN uq < 0.95 THEN 3 ELSE 4 END AS QUANTITY,
                p.PRICE AS UNIT_PRICE,
                CASE WHEN ud < 0.12 THEN round(QUANTITY * p.PRICE * (0.05 + 0.05 * floor(ud * 100 / 3)), 2)
                     ELSE 0 END::DECIMAL(10, 2) AS DISCOUNT
            FROM lines JOIN products p USING (PRODUCT_ID)
        """)
        # Returns come back 1 to 7 days later; lapsed customers never return anything, so they stay silent.
        con.execute(f"""
            INSERT INTO pending_returns
            SELECT {day} + 1 + floor(u(i * 8 + LINE_NUMBER, 'rday', {day}) * 7)::INT, ORDER_ID, LINE_NUMBER,
                STORE_ID, FIRST_NAME, LAST_NAME, PRODUCT_ID, QUANTITY, UNIT_PRICE, DISCOUNT
            FROM {lines} WHERE seg <> 'lapsed' AND u(i * 8 + LINE_NUMBER, 'ret', {day}) < {RETURN_RATE}
        """)
        returns = ""
        if high == n_orders:
            returns = f"""
                UNION ALL
                SELECT {day_id} + {n_orders} + row_number() OVER (ORDER BY src_order, src_line) - 1, 1,
                    TIMESTAMP '{when.isoformat()} 08:00:00'
                        + to_seconds(floor(u(src_order, src_line, 'rts') * 46800)::BIGINT),
                    STORE_ID, FIRST_NAME, LAST_NAME, PRODUCT_ID, -QUANTITY, UNIT_PRICE, -DISCOUNT
                FROM pending_returns WHERE return_day = {day}
            """
        writer.write(f"""
            COPY (
                SELECT ORDER_ID, LINE_NUMBER, ts AS ORDER_TS, STORE_ID, FIRST_NAME,
                    LAST_NAME, PRODUCT_ID, QUANTITY, UNIT_PRICE, DISCOUNT
                FROM (
                    SELECT ORDER_ID, LINE_NUMBER, ts, STORE_ID, FIRST_NAME, LAST_NAME, PRODUCT_ID, QUANTITY,
                        UNIT_PRICE, DISCOUNT
                    FROM {lines} {returns}
                )
                ORDER BY ORDER_ID, LINE_NUMBER
            ) TO {_sql_text(path)} (HEADER, DELIMITER ',')
        """)
        paths.append(path)
    # Returns due before today are written; today's may still be in the CSV being written.
    con.execute(f"DELETE FROM pending_returns WHERE return_day < {day}")
    return paths


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
