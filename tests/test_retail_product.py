"""Issue #5: every shipped pipeline (customer, store, product, sales, inventory) end to end on the local target.

Generated retail files -> upload -> pipes -> streams -> tasks -> procedures -> SILVER, checked against independent
computations over the raw files: sales reconcile to the cent, a replayed sales file never double counts,
inventory is one row per store, product and day, and the product converges (apply, then plan is empty).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retail_etl.cli import app

REPO = Path(__file__).resolve().parents[1]


def cli(project: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def query(project: Path, sql: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(cli(project, "query", sql, "--csv").stdout)))


def raw_rows(folder: Path, pattern: str) -> list[dict[str, str]]:
    return [row for path in sorted(folder.glob(pattern)) for row in csv.DictReader(path.open(encoding="utf-8"))]


def line_amount(row: dict[str, str]) -> Decimal:
    return int(row["QUANTITY"]) * Decimal(row["UNIT_PRICE"]) - Decimal(row["DISCOUNT"] or "0")


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped project with two weeks of generated retail files uploaded and every task run once."""
    project = tmp_path_factory.mktemp("retail")
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    patch = pytest.MonkeyPatch()
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        patch.delenv(name, raising=False)
    data = project / "data"
    generated = CliRunner().invoke(app, ["sample-data", "--scale", "1", "--days", "14", "--out", str(data)])
    assert generated.exit_code == 0, generated.output
    cli(project, "apply", "--auto-approve")
    cli(project, "upload", *(str(p) for p in sorted(data.glob("*.csv"))))
    cli(project, "run", "--now")
    yield project
    patch.undo()


def test_every_pipeline_converges_after_apply(product: Path) -> None:
    cli(product, "plan", "--detailed-exitcode", code=0)


def test_every_task_succeeded_and_nothing_failed_to_load(product: Path) -> None:
    runs = query(product, "SELECT COUNT(*) AS N FROM SILVER.STORE")
    assert int(runs[0]["N"]) == len(raw_rows(product / "data", "stores*.csv"))
    products = raw_rows(product / "data", "products*.csv")
    assert int(query(product, "SELECT COUNT(*) AS N FROM SILVER.PRODUCT")[0]["N"]) == len(products)
    status = cli(product, "status").stdout
    for pipeline in ("customer", "store", "product", "sales", "inventory"):
        assert pipeline in status
    assert "FAILED" not in status


def test_sales_reconcile_with_the_raw_files_to_the_cent(product: Path) -> None:
    lines = raw_rows(product / "data", "sales_*.csv")
    expected_total = sum((line_amount(row) for row in lines), Decimal(0))
    [totals] = query(
        product,
        "SELECT COUNT(*) AS N, SUM(QUANTITY * UNIT_PRICE - COALESCE(DISCOUNT, 0)) AS AMOUNT,"
        " SUM(CASE WHEN QUANTITY < 0 THEN 1 ELSE 0 END) AS RETURNS FROM SILVER.SALES",
    )
    assert int(totals["N"]) == len(lines)
    assert Decimal(totals["AMOUNT"]) == expected_total
    assert int(totals["RETURNS"]) == sum(1 for row in lines if int(row["QUANTITY"]) < 0) > 0
    # Per store and day, too: a total can hide offsetting errors.
    by_store_day: dict[tuple[str, str], Decimal] = {}
    for row in lines:
        key = (row["STORE_ID"], row["ORDER_TS"][:10])
        by_store_day[key] = by_store_day.get(key, Decimal(0)) + line_amount(row)
    loaded = query(
        product,
        "SELECT STORE_ID, TO_VARCHAR(TO_DATE(ORDER_TS)) AS DAY, SUM(QUANTITY * UNIT_PRICE - COALESCE(DISCOUNT, 0))"
        " AS AMOUNT FROM GOLD.SALES_VIEW GROUP BY 1, 2",
    )
    assert {(r["STORE_ID"], r["DAY"]): Decimal(r["AMOUNT"]) for r in loaded} == by_store_day


def test_a_replayed_sales_file_does_not_double_count(product: Path) -> None:
    before = query(product, "SELECT COUNT(*) AS N, SUM(QUANTITY * UNIT_PRICE) AS AMOUNT FROM SILVER.SALES")
    # The same content under another name: the pipe loads it (a new path), the MERGE finds every line already held.
    original = sorted((product / "data").glob("sales_*.csv"))[3]
    replay = product / "replay" / f"sales_replayed_{original.name}"
    replay.parent.mkdir(exist_ok=True)
    shutil.copy(original, replay)
    cli(product, "upload", str(replay))
    run = cli(product, "run", "--now").stdout
    assert "inserted 0" in run
    assert query(product, "SELECT COUNT(*) AS N, SUM(QUANTITY * UNIT_PRICE) AS AMOUNT FROM SILVER.SALES") == before
    # The same path again: Snowpipe never reloads a path, so nothing even reaches the landing table.
    landed = query(product, "SELECT COUNT(*) AS N FROM BRONZE.WORK_SALES_COPY")
    cli(product, "upload", "--force", str(original))
    assert query(product, "SELECT COUNT(*) AS N FROM BRONZE.WORK_SALES_COPY") == landed


def test_inventory_is_one_row_per_store_product_and_day(product: Path) -> None:
    snapshots = raw_rows(product / "data", "inventory_*.csv")
    expected = {(r["STORE_ID"], r["PRODUCT_ID"], r["SNAPSHOT_DATE"]): r for r in snapshots}
    rows = query(product, "SELECT STORE_ID, PRODUCT_ID, TO_VARCHAR(SNAPSHOT_DATE) AS D, ON_HAND FROM SILVER.INVENTORY")
    assert len(rows) == len(expected)
    assert {(r["STORE_ID"], r["PRODUCT_ID"], r["D"]): r["ON_HAND"] for r in rows} == {
        key: row["ON_HAND"] for key, row in expected.items()
    }
