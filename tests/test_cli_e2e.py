"""End to end through the CLI: plan and apply on the local target and on the Snowflake path (a stateful fake
connection backed by the emulated account), drift, UNSAFE gating, saved plans, exit codes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl.cli import app
from retail_etl.emulator import Account, EmulatorError, show
from retail_etl.targets.local import LocalSession

REPO = Path(__file__).resolve().parents[1]
TASK = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK"
PIPE = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE"
STREAM = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_customer_pipelines(tmp_path / "pipelines")
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(project: Path, *args: str, code: int | None = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    if code is not None:
        assert result.exit_code == code, result.output + result.stderr
    return result


def plan_json(project: Path, *extra: str) -> dict[str, Any]:
    result = run(project, "plan", "--json", *extra)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change["name"]: change for change in document["changes"]}


def local(project: Path) -> LocalSession:
    return LocalSession(project / ".retail-etl")


def edit(project: Path, old: str, new: str) -> None:
    spec = project / "pipelines" / "customer.yml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def test_apply_then_plan_is_empty_and_a_second_apply_does_nothing(project: Path) -> None:
    first = run(project, "plan", "--detailed-exitcode", code=2)
    assert "Plan: 15 to create" in first.stdout
    run(project, "apply", "--auto-approve")
    run(project, "plan", "--detailed-exitcode", code=0)
    again = run(project, "apply", "--auto-approve")
    assert "No changes." in again.stdout and "Applied" not in again.stdout
    rows = local(project).query("SHOW TASKS IN DATABASE SNOWLAKE_DB")
    assert [row["state"] for row in rows] == ["started"]


def test_a_column_name_read_back_cannot_split_the_statement_that_drops_it(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    nasty = "x;\nDROP TABLE SNOWLAKE_DB.SILVER.CUSTOMER;--"
    local(project).execute(f'ALTER TABLE SNOWLAKE_DB.SILVER.CUSTOMER ADD COLUMN "{nasty}" NUMBER')
    change = by_name(plan_json(project))["SNOWLAKE_DB.SILVER.CUSTOMER"]
    assert change["statements"] == [f'ALTER TABLE SNOWLAKE_DB.SILVER.CUSTOMER DROP COLUMN "{nasty}"']


def test_hand_made_drift_is_planned_back_with_the_task_suspended_around_the_change(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    session = local(project)
    session.execute(f"ALTER TASK {TASK} SUSPEND")
    session.execute(f"ALTER TASK {TASK} SET SCHEDULE = 'USING CRON 0 5 * * * UTC'")
    session.execute(f"ALTER TASK {TASK} RESUME")
    change = by_name(plan_json(project))[TASK]
    assert change["action"] == "alter" and change["safety"] == "safe"
    assert change["differences"] == [
        {"property": "schedule", "before": "USING CRON 0 5 * * * UTC", "after": "USING CRON 0 0 * * * America/New_York"}
    ]
    assert change["statements"][0] == f"ALTER TASK {TASK} SUSPEND"
    assert change["statements"][-1] == f"ALTER TASK {TASK} RESUME"
    run(project, "apply", "--auto-approve")
    run(project, "plan", "--detailed-exitcode", code=0)
    row = local(project).query("SHOW TASKS IN DATABASE SNOWLAKE_DB")[0]
    assert row["schedule"] == "USING CRON 0 0 * * * America/New_York" and row["state"] == "started"


def test_a_pipe_paused_by_hand_is_planned_back_and_resumed(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    local(project).execute(f"ALTER PIPE {PIPE} SET PIPE_EXECUTION_PAUSED = TRUE")
    change = by_name(plan_json(project))[PIPE]
    assert (change["action"], change["safety"]) == ("alter", "safe")
    assert change["differences"] == [{"property": "paused", "before": True, "after": False}]
    assert change["statements"] == [f"ALTER PIPE {PIPE} SET PIPE_EXECUTION_PAUSED = FALSE"]
    run(project, "apply", "--auto-approve")
    run(project, "plan", "--detailed-exitcode", code=0)
    (status,) = local(project).query(f"SELECT SYSTEM$PIPE_STATUS('{PIPE}') AS S")
    assert '"executionState":"RUNNING"' in status["S"]


def test_comment_change_is_altered_in_place(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    edit(project, "comment: INGEST DATA FILES", "comment: Loads customer files")
    change = by_name(plan_json(project))[PIPE]
    assert change["action"] == "alter"
    assert change["statements"] == [
        f"ALTER PIPE {PIPE} SET COMMENT = 'Loads customer files FROM SNOWFLAKE EXTERNAL STAGE LOCATION"
        " [managed by retail-etl]'"
    ]
    run(project, "apply", "--auto-approve")
    run(project, "plan", "--detailed-exitcode", code=0)


def test_unsafe_pipe_replacement_is_refused_until_allowed(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    edit(project, "pipe:\n  comment:", "pipe:\n  on_error: CONTINUE\n  comment:")
    refused = run(project, "apply", "--auto-approve", code=1)
    assert "UNSAFE" in refused.stdout and "--allow-unsafe pipe" in refused.stderr
    assert "nothing was applied" in refused.stderr
    assert "ON_ERROR = SKIP_FILE" in local(project).query("SHOW PIPES IN DATABASE SNOWLAKE_DB")[0]["definition"]
    run(project, "apply", "--auto-approve", "--allow-unsafe", "stream", code=1)  # the wrong category
    run(project, "apply", "--auto-approve", "--allow-unsafe", "pipe")
    assert "ON_ERROR = CONTINUE" in local(project).query("SHOW PIPES IN DATABASE SNOWLAKE_DB")[0]["definition"]
    run(project, "plan", "--detailed-exitcode", code=0)


def test_stale_stream_is_recreated_only_when_allowed(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    # Re-creating the landing table by hand drops its change data: the stream on it goes stale.
    landing = next(
        s for c in plan_json_of_render(project) for s in c if s.startswith("CREATE TABLE SNOWLAKE_DB.BRONZE")
    )
    local(project).execute(landing.replace("CREATE TABLE", "CREATE OR REPLACE TABLE", 1))
    change = by_name(plan_json(project))[STREAM]
    assert change["action"] == "replace" and change["safety"] == "unsafe"
    run(project, "apply", "--auto-approve", "--allow-unsafe", "stream")
    assert local(project).query("SHOW STREAMS IN DATABASE SNOWLAKE_DB")[0]["stale"] == "false"


def plan_json_of_render(project: Path) -> list[list[str]]:
    """The CREATE statements of every object, from an apply plan against an empty account."""
    empty = project / "empty"
    shutil.copytree(project / "pipelines", empty / "pipelines")
    return [change["statements"] for change in plan_json(empty)["changes"]]


def test_object_left_out_of_the_specs_is_dropped_only_when_allowed(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    spec = project / "pipelines" / "customer.yml"
    spec.write_text(spec.read_text().replace("view:\n  name: CUSTOMER_VIEW\n", "view: null\n"))
    change = by_name(plan_json(project))["SNOWLAKE_DB.GOLD.CUSTOMER_VIEW"]
    assert change["action"] == "drop" and change["safety"] == "unsafe"
    run(project, "apply", "--auto-approve", code=1)
    assert local(project).query("SHOW VIEWS IN DATABASE SNOWLAKE_DB")
    run(project, "apply", "--auto-approve", "--allow-unsafe", "view")
    assert not local(project).query("SHOW VIEWS IN DATABASE SNOWLAKE_DB")


def test_objects_without_the_marker_are_never_touched(project: Path) -> None:
    run(project, "apply", "--auto-approve")
    local(project).execute("CREATE TABLE SNOWLAKE_DB.SILVER.HAND_MADE (ID NUMBER) COMMENT = 'mine'")
    run(project, "plan", "--detailed-exitcode", code=0)


def test_saved_plan_is_applied_exactly_and_refused_once_the_account_moved(project: Path) -> None:
    saved = project / "plan.json"
    run(project, "plan", "--out", str(saved), "--detailed-exitcode", code=2)
    run(project, "apply", str(saved), "--auto-approve")
    run(project, "plan", "--detailed-exitcode", code=0)

    edit(project, "comment: INGEST DATA FILES", "comment: Loads customer files")
    run(project, "plan", "--out", str(saved), "--detailed-exitcode", code=2)
    local(project).execute(f"ALTER PIPE {PIPE} SET COMMENT = 'changed by hand'")
    refused = run(project, "apply", str(saved), "--auto-approve", code=1)
    assert "the account changed since" in refused.stderr


def test_apply_asks_on_a_terminal_and_refuses_without_one(project: Path) -> None:
    refused = run(project, "apply", code=1)
    assert "--auto-approve" in refused.stderr
    assert not (project / ".retail-etl" / "catalog.json").exists()


def test_bad_specs_apply_nothing(project: Path) -> None:
    edit(project, "merge_keys: [FIRST_NAME, LAST_NAME]", "merge_keys: [NOPE]")
    result = run(project, "apply", "--auto-approve", code=2)
    assert "transform.merge_keys[0]" in result.stderr
    assert not (project / ".retail-etl").exists()
    run(project, "plan", "--detailed-exitcode", code=1)


def test_plan_json_lists_changes_with_statements(project: Path) -> None:
    document = plan_json(project)
    assert document["summary"]["create"] == 15 and document["summary"]["unsafe"] == 0
    assert [c["action"] for c in document["changes"]] == ["create"] * 15
    assert document["changes"][0]["statements"] == [
        "CREATE DATABASE SNOWLAKE_DB\n  COMMENT = 'retail-etl project retail [managed by retail-etl]'"
    ]


def test_render_and_schema(project: Path, tmp_path: Path) -> None:
    rendered = run(project, "render").stdout
    assert rendered.count("CREATE ") >= 15 and "CREATE OR REPLACE TEMPORARY TABLE" in rendered
    out = tmp_path / "schemas"
    CliRunner().invoke(app, ["schema", "-o", str(out)])
    schema = json.loads((out / "pipeline.schema.json").read_text())
    assert "transform" in schema["properties"] and "merge_keys" in json.dumps(schema)


# --- the Snowflake path, against a stateful fake connection --------------------------------------------------


class FakeCursor:
    """What SnowflakeSession uses of a DictCursor, answering from the emulated account."""

    def __init__(self, account: Account, log: list[str]) -> None:
        self.account, self.log, self.rows = account, log, []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def execute(self, sql: str) -> None:
        from snowflake.connector.errors import ProgrammingError

        self.log.append(sql)
        try:
            self.rows = self.account.execute(sql)
        except EmulatorError as exc:
            raise ProgrammingError(msg=exc.message, errno=int(exc.code), sqlstate=exc.sqlstate) from None

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows


class FakeConnection:
    def __init__(self, account: Account, log: list[str], arguments: dict[str, Any]) -> None:
        self.account, self.log, self.arguments = account, log, arguments

    def cursor(self, cursor_class: object = None) -> FakeCursor:
        return FakeCursor(self.account, self.log)

    def close(self) -> None:
        return None


@pytest.fixture
def snowflake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    import snowflake.connector

    state: dict[str, Any] = {"account": Account(), "log": [], "connections": []}

    def connect(**arguments: Any) -> FakeConnection:
        connection = FakeConnection(state["account"], state["log"], arguments)
        state["connections"].append(connection)
        return connection

    monkeypatch.setattr(snowflake.connector, "connect", connect)
    home = tmp_path / "snowflake-home"
    home.mkdir()
    monkeypatch.setenv("SNOWFLAKE_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", raising=False)
    connections = home / "connections.toml"
    connections.write_text('[retail]\naccount = "myorg-myacct"\nuser = "DEPLOYER"\npassword = "s3cret-Pa55"\n')
    connections.chmod(0o600)
    yield state


def test_snowflake_target_plans_applies_and_converges(project: Path, snowflake: dict[str, Any]) -> None:
    first = run(project, "plan", "--env", "prod", "--skip-aws", "--detailed-exitcode", code=2)
    assert "target prod" in first.stdout
    # Bulk observation: against an empty account, the database and the integrations, nothing per object.
    assert len(snowflake["log"]) == 2
    applied = run(project, "apply", "--env", "prod", "--skip-aws", "--auto-approve")
    assert "Applied 15 change(s)" in applied.stdout
    snowflake["log"].clear()
    run(project, "plan", "--env", "prod", "--skip-aws", "--detailed-exitcode", code=0)
    assert all(sql.startswith(("SHOW", "SELECT", "DESC")) for sql in snowflake["log"])
    # Per kind and database, not per object: the pipes' SYSTEM$PIPE_STATUS (paused?) come in one SELECT.
    assert len(snowflake["log"]) <= 16
    assert sum("SYSTEM$PIPE_STATUS" in sql for sql in snowflake["log"]) == 1
    arguments = snowflake["connections"][-1].arguments
    assert json.loads(arguments["session_parameters"]["QUERY_TAG"])["command"] == "plan"
    assert arguments["account"] == "myorg-myacct" and arguments["database"] == "SNOWLAKE_DB"


@pytest.fixture(params=[None, ""], ids=["null", "empty"])
def blank_column_details(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """INFORMATION_SCHEMA.COLUMNS as Snowflake's docs describe it: DATETIME_PRECISION and COLLATION_NAME are
    "not applicable for Snowflake", so they come back NULL (or, for the text column, maybe an empty string)."""
    view = show.INFORMATION_SCHEMA_VIEWS["COLUMNS"]

    def blanked(database: Any) -> list[dict[str, Any]]:
        return [{**row, "DATETIME_PRECISION": None, "COLLATION_NAME": request.param} for row in view.rows(database)]

    monkeypatch.setitem(show.INFORMATION_SCHEMA_VIEWS, "COLUMNS", dataclasses.replace(view, rows=blanked))


def test_snowflake_plan_converges_where_information_schema_leaves_precision_and_collation_blank(
    project: Path, snowflake: dict[str, Any], blank_column_details: None
) -> None:
    # Every shipped pipeline: the customer tables are collated, the sales tables have timestamp columns.
    for spec in (REPO / "pipelines").glob("*.yml"):
        shutil.copy(spec, project / "pipelines" / spec.name)
    saved = project / "plan.json"
    run(project, "apply", "--env", "prod", "--skip-aws", "--auto-approve")
    snowflake["log"].clear()
    run(project, "plan", "--env", "prod", "--skip-aws", "--out", str(saved), "--detailed-exitcode", code=0)
    # Blank answers are read again with DESC TABLE, whose type carries precision and collation: no drift.
    described = {sql.split()[-1] for sql in snowflake["log"] if sql.startswith("DESC TABLE")}
    assert {
        "SNOWLAKE_DB.SILVER.CUSTOMER",
        "SNOWLAKE_DB.SILVER.SALES",
        "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY",
    } <= described
    # The saved plan's re-observation reads the same way, so the account has not "moved".
    run(project, "apply", str(saved), "--skip-aws", "--auto-approve")
    # A real change of collation is still seen through the blanks, and refused as UNSAFE.
    edit(project, "collate: en-ci", "collate: en-cs")
    changed = run(project, "plan", "--env", "prod", "--skip-aws", "--detailed-exitcode", code=2)
    assert "cannot be altered" in changed.stdout


def test_snowflake_plan_sends_no_desc_table_where_information_schema_answers(
    project: Path, snowflake: dict[str, Any]
) -> None:
    # Every shipped pipeline: timestamps, collations, and tables without either.
    for spec in (REPO / "pipelines").glob("*.yml"):
        shutil.copy(spec, project / "pipelines" / spec.name)
    run(project, "apply", "--env", "prod", "--skip-aws", "--auto-approve")
    snowflake["log"].clear()
    run(project, "plan", "--env", "prod", "--skip-aws", "--detailed-exitcode", code=0)
    assert not [sql for sql in snowflake["log"] if sql.startswith("DESC TABLE")]


def test_snowflake_plan_survives_a_table_dropped_while_it_reads(
    project: Path, snowflake: dict[str, Any], blank_column_details: None
) -> None:
    for spec in (REPO / "pipelines").glob("*.yml"):
        shutil.copy(spec, project / "pipelines" / spec.name)
    run(project, "apply", "--env", "prod", "--skip-aws", "--auto-approve")
    account: Account = snowflake["account"]
    original = account.execute

    def dropping_first(sql: str) -> list[dict[str, Any]]:
        if sql == "DESC TABLE SNOWLAKE_DB.SILVER.SALES":
            original("DROP TABLE SNOWLAKE_DB.SILVER.SALES")
        return original(sql)

    account.execute = dropping_first  # type: ignore[method-assign]
    # Seen by SHOW TABLES, gone when DESC TABLE asks: a plan, not a failure.
    planned = run(project, "plan", "--env", "prod", "--skip-aws", "--detailed-exitcode", code=2)
    assert "error" not in planned.stderr
    account.execute = original  # type: ignore[method-assign]
    assert "SNOWLAKE_DB.SILVER.SALES" in run(project, "plan", "--env", "prod", "--skip-aws", code=0).stdout


def test_snowflake_errors_are_reported_without_secrets(project: Path, snowflake: dict[str, Any]) -> None:
    account: Account = snowflake["account"]
    original = account.execute

    def failing(sql: str) -> list[dict[str, Any]]:
        if sql.startswith("CREATE TASK"):
            # A driver message that happens to echo a secret must still not reach the terminal.
            raise EmulatorError("003001", "42501", "Insufficient privileges to operate on task (user s3cret-Pa55)")
        return original(sql)

    account.execute = failing  # type: ignore[method-assign]
    result = run(project, "apply", "--env", "prod", "--skip-aws", "--auto-approve", code=1)
    output = result.stdout + result.stderr
    assert "Insufficient privileges to operate on task" in output
    assert "s3cret-Pa55" not in output
    assert "apply failed: 14 change(s) applied, 1 failed" in result.stderr
    account.execute = original  # type: ignore[method-assign]
    # What did apply is kept; the next plan wants only the task.
    remaining = plan_json(project, "--env", "prod", "--skip-aws")["changes"]
    assert [(c["action"], c["name"]) for c in remaining] == [("create", TASK)]


def test_snowflake_connection_errors_name_the_problem_not_the_secret(
    project: Path, snowflake: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "snowflake-home" / "connections.toml").write_text('[retail]\npassword = "s3cret-Pa55"\n')
    result = run(project, "plan", "--env", "prod", "--skip-aws", code=1)
    assert "account" in result.stderr and "s3cret-Pa55" not in result.stdout + result.stderr


def test_output_paths_and_arguments_that_cannot_work_are_input_errors(project: Path) -> None:
    # Exit 2 with the option and the path named, never a traceback, nothing applied.
    taken = project / "a-file"
    taken.write_text("in the way")
    for args, named in (
        (["render", "--out-dir", str(taken)], "--out-dir"),
        (["plan", "--out", str(project / "pipelines")], "--out"),
    ):
        result = run(project, *args, code=2)
        assert named in result.stderr and "cannot" in result.stderr, args
    schema = CliRunner().invoke(app, ["schema", "--out-dir", str(taken / "below")])
    assert schema.exit_code == 2 and "cannot make that folder" in schema.stderr
    listed = project / "list.json"
    listed.write_text("[]")
    assert "not a plan" in run(project, "apply", str(listed), code=2).stderr
    typo = run(project, "apply", "--auto-approve", "--allow-unsafe", "pipes", code=2)
    assert "unknown category 'pipes'" in typo.stderr and "pipe" in typo.stderr
    assert not (project / ".retail-etl").exists()


def test_quoted_lower_case_names_converge_after_apply(project: Path) -> None:
    # SHOW echoes names as stored: a stream's table_name "snowlake_db.bronze.WORK_CUSTOMER_COPY" and an
    # error_integration "err_int" are the quoted lower-case names, not their upper-cased forms (read that way,
    # every plan re-created the streams, losing their offsets, and re-set the pipes' and tasks' integration).
    spec = project / "pipelines" / "project.yml"
    text = spec.read_text(encoding="utf-8")
    for old, new in (
        ("\ndatabase: SNOWLAKE_DB\n", "\ndatabase: '\"snowlake_db\"'\n"),
        ("  bronze: BRONZE", "  bronze: '\"bronze\"'"),
        ("  name: SNOWFLAKE_ERROR_INTEGRATION", "  name: '\"err_int\"'"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec.write_text(text, encoding="utf-8")
    run(project, "apply", "--auto-approve")
    assert "No changes." in run(project, "plan", "--detailed-exitcode", code=0).stdout


@pytest.mark.parametrize("damage", ['{"account": ', "[]", ""])
def test_a_corrupt_local_state_is_reported_not_a_traceback(project: Path, damage: str) -> None:
    from retail_etl.targets.local import CATALOG_FILE

    run(project, "apply", "--auto-approve")
    (project / ".retail-etl" / CATALOG_FILE).write_text(damage)
    for command in (["status"], ["plan"], ["run", "--now"]):
        failed = run(project, *command, code=1)
        assert "cannot be read" in failed.stderr and "catalog" in failed.stderr, command
