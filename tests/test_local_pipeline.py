"""Issue #3 end to end through the CLI: files -> pipe -> stream -> task -> procedure -> MERGE -> SILVER, offline.

The same suite runs with the JavaScript and with the Snowflake Scripting procedure.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl.cli import app
from retail_etl.local.bucket import buckets_root
from retail_etl.sample.customers import HEADER, customer_days

REPO = Path(__file__).resolve().parents[1]
BUCKET, PREFIX = "snowflake-project-etl", "raw_data/customer"
DAYS = customer_days()
DAY1, DAY2, BAD = list(DAYS)


@pytest.fixture(params=["javascript", "sql"])
def project(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    spec = tmp_path / "pipelines" / "customer.yml"
    spec.write_text(spec.read_text().replace("language: javascript", f"language: {request.param}"))
    cli(tmp_path, "apply", "--auto-approve")
    return tmp_path


def cli(project: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def land(project: Path, name: str, text: str | None = None, *extra: str, code: int = 0) -> Any:
    """`retail-etl upload`: the file lands under its pipeline's stage prefix and the pipe loads it at once."""
    source = project / "incoming" / name
    source.parent.mkdir(exist_ok=True)
    source.write_text(DAYS[name] if text is None else text, encoding="utf-8")
    return cli(project, "upload", str(source), *extra, code=code)


def query(project: Path, sql: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(cli(project, "query", sql, "--csv").stdout)))


def silver(project: Path) -> dict[tuple[str, str], dict[str, str]]:
    rows = query(project, "SELECT * FROM SILVER.CUSTOMER")
    return {(row["FIRST_NAME"], row["LAST_NAME"]): row for row in rows}


def source_rows(name: str) -> dict[tuple[str, str], dict[str, str]]:
    """The last row of each customer in a file (the one SILVER must keep)."""
    return {(row["FIRST_NAME"], row["LAST_NAME"]): row for row in csv.DictReader(io.StringIO(DAYS[name]))}


def test_files_flow_into_silver_and_gold_with_scd1_upserts(project: Path) -> None:
    land(project, DAY1)
    run = cli(project, "run", "--now")
    assert "SUCCEEDED" in run.stdout and "loaded 20" in run.stdout
    day1 = source_rows(DAY1)
    assert set(silver(project)) == set(day1)

    land(project, DAY2)
    cli(project, "run", "--now")
    expected = {**day1, **source_rows(DAY2)}
    rows = silver(project)
    assert set(rows) == set(expected)
    for key, row in expected.items():
        assert rows[key]["PHONE"] == row["PHONE"] and rows[key]["ADDRESSLINE1"] == row["ADDRESSLINE1"]
    # The customer present twice in day 2 keeps the later row, every time.
    repeated = [k for k, n in _counts(DAY2).items() if n == 2]
    assert len(repeated) == 1 and rows[repeated[0]]["PHONE"] == "+1-555-0001"
    # A changed customer keeps its first insert time and gets a new update time and hash.
    changed = next(k for k in source_rows(DAY2) if k in day1)
    assert rows[changed]["INSERT_DTS"] != rows[changed]["UPDATE_DTS"]
    gold = query(project, "SELECT COUNT(*) AS N FROM GOLD.CUSTOMER_VIEW")
    assert gold == [{"N": str(len(expected))}]


def _counts(name: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in csv.DictReader(io.StringIO(DAYS[name])):
        key = (row["FIRST_NAME"], row["LAST_NAME"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_uploads_are_loaded_at_once_and_a_path_is_never_reloaded(project: Path) -> None:
    uploaded = land(project, DAY1)
    assert "Loaded" in uploaded.stdout and (buckets_root(project / ".retail-etl") / BUCKET / PREFIX / DAY1).exists()
    cli(project, "run", "--now")
    assert "skipped" in land(project, DAY1).stdout.lower()  # identical content: nothing to do
    refused = land(project, DAY1, DAYS[DAY2], code=1)  # same key, other content: Snowpipe would never reload it
    assert "new name" in (refused.stdout + refused.stderr)
    land(project, DAY1, DAYS[DAY2], "--force")
    run = cli(project, "run", "--now")
    assert "SKIPPED" in run.stdout
    assert set(silver(project)) == set(source_rows(DAY1))
    assert query(project, "SELECT COUNT(*) AS N FROM BRONZE.WORK_CUSTOMER_COPY") == [{"N": "20"}]


def test_files_uploaded_together_load_in_the_order_given(project: Path) -> None:
    # Twelve versions of one customer in one upload (default concurrency): the pipe loads them in the order given,
    # so the last one given is the latest load, and the MERGE keeps it, on every run.
    header, first, *_ = DAYS[DAY1].splitlines()
    fields = first.split(",")
    phone = HEADER.index("PHONE")
    incoming = project / "incoming"
    incoming.mkdir()
    names = [f"customers_v{index:02d}.csv" for index in range(12)]
    for index, name in enumerate(names):
        fields[phone] = f"+1-555-01{index:02d}"
        (incoming / name).write_text(f"{header}\n{','.join(fields)}\n", encoding="utf-8")
    cli(project, "upload", *(str(incoming / name) for name in names))
    history = query(project, "SELECT SOURCE_FILE_NAME FROM BRONZE.WORK_CUSTOMER_COPY ORDER BY INSERT_DTS")
    assert [row["SOURCE_FILE_NAME"] for row in history] == names
    cli(project, "run", "--now")
    (row,) = silver(project).values()
    assert row["PHONE"] == "+1-555-0111"


def test_a_file_with_an_unloadable_row_is_skipped_and_reported(project: Path) -> None:
    uploaded = land(project, BAD)
    assert "Load failed" in uploaded.stdout and "too long" in uploaded.stdout
    assert "SKIPPED" in cli(project, "run", "--now").stdout
    status = cli(project, "status").stdout
    assert "INGEST_FAILED_FILE" in status and f"/{BAD}" in status
    assert silver(project) == {}


def test_a_failing_merge_keeps_the_stream_offset_and_loses_nothing(project: Path) -> None:
    land(project, DAY1)
    # Break the MERGE: SILVER gets a NOT NULL column the procedure does not fill.
    query(project, "ALTER TABLE SILVER.CUSTOMER ADD COLUMN BREAKS_MERGE NUMBER NOT NULL")
    failed = cli(project, "run", "--now", code=1)
    assert "FAILED" in failed.stdout
    assert silver(project) == {}
    assert query(project, "SELECT COUNT(*) AS N FROM BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM") == [{"N": "20"}]
    history = cli(project, "tasks", "history").stdout
    assert "FAILED" in history
    status = cli(project, "status").stdout
    assert "USER_TASK_FAILED" in status

    query(project, "ALTER TABLE SILVER.CUSTOMER DROP COLUMN BREAKS_MERGE")
    land(project, DAY2)
    cli(project, "run", "--now")
    assert set(silver(project)) == set(source_rows(DAY1)) | set(source_rows(DAY2))
    assert query(project, "SELECT COUNT(*) AS N FROM BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM") == [{"N": "0"}]


def test_a_task_whose_condition_is_false_does_not_run(project: Path) -> None:
    run = cli(project, "run", "--now")
    assert "SKIPPED" in run.stdout
    history = cli(project, "tasks", "history").stdout
    assert "SKIPPED" in history and "SUCCEEDED" not in history
    # --task by its full name, its last parts or its bare name (any case); a name that is not a task is bad input
    for name in ("SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK", "bronze.work_customer_src_to_sl_task",
                 "WORK_CUSTOMER_SRC_TO_SL_TASK"):  # fmt: skip
        assert "1 task run(s)" in cli(project, "tasks", "history", "--task", name).stdout
    unknown = cli(project, "tasks", "history", "--task", "NOPE", code=2)
    assert "names no task" in unknown.stderr and "WORK_CUSTOMER_SRC_TO_SL_TASK" in unknown.stderr


def test_suspended_tasks_and_schedules(project: Path) -> None:
    # Not due: the nightly schedule has not fired since the task was created a moment ago.
    assert "No task was due." in cli(project, "run").stdout
    query(project, "ALTER TASK BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK SUSPEND")
    assert "No task is started." in cli(project, "run", "--now").stdout


def test_a_command_meeting_another_process_on_the_local_target_says_so(project: Path) -> None:
    # DuckDB lets one process at a time open a database file: the second command ends with a message, no traceback.
    database = project / ".retail-etl" / "warehouse" / "SNOWLAKE_DB.duckdb"
    hold = f"import duckdb, sys; c = duckdb.connect({str(database)!r}); print('held'); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = cli(project, "status", code=1)
        assert "in use by another process" in busy.stderr and "one retail-etl command at a time" in busy.stderr
    finally:
        holder.communicate("")
    assert "Pipelines in" in cli(project, "status").stdout


def test_run_runs_the_tasks_of_its_environment_only(project: Path) -> None:
    # Both environments live in the one local account; `-e dev` must never run production's tasks, nor the reverse.
    cli(project, "apply", "--env", "dev", "--auto-approve")
    cli(project, "query", "--env", "dev", "ALTER TASK BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK RESUME")
    dev = cli(project, "run", "--env", "dev", "--now").stdout
    assert "SNOWLAKE_DB_DEV.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK" in dev and "SNOWLAKE_DB.BRONZE" not in dev
    prod = cli(project, "run", "--now").stdout
    assert "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK" in prod and "SNOWLAKE_DB_DEV" not in prod


def test_query_output_formats(project: Path) -> None:
    land(project, DAY1)
    cli(project, "run", "--now")
    lines = cli(project, "query", "SELECT FIRST_NAME FROM GOLD.CUSTOMER_VIEW ORDER BY 1 LIMIT 2", "--json").stdout
    assert [json.loads(line) for line in lines.splitlines()] == [
        {"FIRST_NAME": name} for name in sorted(k[0] for k in source_rows(DAY1))[:2]
    ]
    # Values are printed as they are: "[b]" or "[/x]" in the data is not rich markup.
    shown = cli(project, "query", "SELECT '[b]bold' AS \"[i]A\", '[/x]' AS B").stdout
    assert "[b]bold" in shown and "[/x]" in shown and "[i]A" in shown
    bad = cli(project, "query", "SELEKT 1", code=1)
    assert "SQL compilation error" in bad.stderr and "Traceback" not in bad.stderr
