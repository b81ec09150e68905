"""`retail-etl check` (issue #4 section 3): the pure verdicts on Snowflake-shaped answers, the Snowflake path's
queries against the emulated account, and the command end to end on the local target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl.aws.notifications import PipeNotification, desired_queue_configurations
from retail_etl.check.command import register
from retail_etl.check.health import (
    NOTIFICATION,
    NoAwsAccessError,
    evaluate_notification,
    evaluate_pipe_status,
    evaluate_storage_integration,
    evaluate_stream,
    evaluate_task,
    snowflake_checks,
)
from retail_etl.cli import app
from retail_etl.sample.customers import customer_days
from retail_etl.targets.local import LocalSession
from retail_etl.workflow import load

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-AIDA-abc"
NAME = ("SNOWLAKE_DB", "BRONZE", "WORK_CUSTOMER_SRC_TO_SL_TASK")


# --- pure evaluation ----------------------------------------------------------------------------------------------
def test_pipe_status_running_without_errors_is_healthy_and_reports_pending_files() -> None:
    result = evaluate_pipe_status("customer", '{"executionState":"RUNNING","pendingFileCount":3}')
    assert result.ok and "3 pending file(s)" in result.detail


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"executionState": "PAUSED", "pendingFileCount": 0}, "PAUSED"),
        ({"executionState": "STOPPED_STAGE_DROPPED", "pendingFileCount": 0}, "STOPPED_STAGE_DROPPED"),
        ({"executionState": "RUNNING", "pendingFileCount": 1, "error": "Access denied"}, "error: Access denied"),
        ({"executionState": "RUNNING", "pendingFileCount": 0, "channelErrorMessage": "gone"}, "gone"),
    ],
)
def test_pipe_status_not_running_or_with_an_error_is_unhealthy(answer: dict[str, Any], expected: str) -> None:
    result = evaluate_pipe_status("customer", json.dumps(answer))
    assert not result.ok and expected in result.detail


def test_pipe_status_that_is_not_json_is_unhealthy() -> None:
    assert not evaluate_pipe_status("customer", "<html>").ok


def test_storage_integration_success_and_failure() -> None:
    success = {"status": "success", "actions": {"LIST": {"status": "success"}}}
    assert evaluate_storage_integration("customer", "S3_BRONZE", json.dumps(success)).ok
    failure = {
        "status": "failure",
        "actions": {"LIST": {"status": "failure", "message": "Access Denied (Status Code: 403)"}},
    }
    result = evaluate_storage_integration("customer", "S3_BRONZE", json.dumps(failure))
    assert not result.ok and "LIST Access Denied (Status Code: 403)" in result.detail


def test_task_must_be_started_unless_the_spec_disables_it() -> None:
    row = dict(zip(("database_name", "schema_name", "name"), NAME, strict=True))
    started = [{**row, "state": "started"}]
    suspended = [{**row, "state": "suspended", "last_suspended_reason": "SUSPENDED_DUE_TO_ERRORS"}]
    assert evaluate_task("customer", NAME, True, started).ok
    result = evaluate_task("customer", NAME, True, suspended)
    assert not result.ok and "SUSPENDED_DUE_TO_ERRORS" in result.detail
    assert evaluate_task("customer", NAME, False, suspended).ok
    assert not evaluate_task("customer", NAME, True, []).ok


def test_stream_stale_or_invalid_is_unhealthy() -> None:
    row = dict(zip(("database_name", "schema_name", "name"), NAME, strict=True))
    assert evaluate_stream("customer", NAME, [{**row, "stale": "false", "invalid_reason": "N/A"}]).ok
    assert not evaluate_stream("customer", NAME, [{**row, "stale": "true", "invalid_reason": "N/A"}]).ok
    assert not evaluate_stream("customer", NAME, [{**row, "stale": "false", "invalid_reason": "table dropped"}]).ok
    assert not evaluate_stream("customer", NAME, []).ok


EXPECTED = PipeNotification("SNOWLAKE_DB", "BRONZE", "WORK_CUSTOMER_SRC_TO_SL_PIPE", CHANNEL, "raw_data/customer/")


def test_notification_present_and_pointing_at_the_channel() -> None:
    configuration = {"QueueConfigurations": desired_queue_configurations([EXPECTED])}
    result = evaluate_notification("customer", "bucket", "raw_data/customer/", EXPECTED, configuration)
    assert result.ok and CHANNEL in result.detail


def test_notification_set_up_by_hand_on_a_wider_prefix_counts() -> None:
    configuration = {"QueueConfigurations": [{"Id": "manual", "QueueArn": CHANNEL, "Events": ["s3:ObjectCreated:Put"]}]}
    assert evaluate_notification("customer", "bucket", "raw_data/customer/", EXPECTED, configuration).ok


def test_notification_pointing_at_another_queue_is_unhealthy() -> None:
    other = "arn:aws:sqs:us-east-1:123456789012:someone-else"
    configuration = {"QueueConfigurations": desired_queue_configurations([EXPECTED])}
    configuration["QueueConfigurations"][0]["QueueArn"] = other
    result = evaluate_notification("customer", "bucket", "raw_data/customer/", EXPECTED, configuration)
    assert not result.ok and other in result.detail and CHANNEL in result.detail


def test_notification_missing_or_pipe_without_channel_is_unhealthy() -> None:
    missing = evaluate_notification("customer", "bucket", "raw_data/customer/", EXPECTED, {})
    assert not missing.ok and "no event notification" in missing.detail
    assert not evaluate_notification("customer", "bucket", "raw_data/customer/", None, {}).ok


# --- the command --------------------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    retail_etl(tmp_path, "apply", "--auto-approve")
    return tmp_path


def retail_etl(project: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def checker_app() -> typer.Typer:
    """A fresh app carrying only ``check``, as cli.py will register it."""
    checker = typer.Typer()
    register(checker)

    @checker.callback()
    def main() -> None:
        """A group, so that ``check`` stays a subcommand as in the real app."""

    return checker


def check(project: Path, *args: str, code: int = 0) -> dict[str, Any]:
    """`retail-etl check --json`; the verdicts by check name."""
    checker = checker_app()
    result = CliRunner().invoke(checker, ["check", "--json", "-C", str(project), *args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    document = json.loads(result.stdout)
    assert document["healthy"] is (code == 0)
    return {item["check"]: item for item in document["checks"]}


def test_local_target_is_healthy_after_apply(project: Path) -> None:
    results = check(project)
    assert set(results) == {"storage integration", "pipe", "task", "stream", NOTIFICATION}
    assert "not applicable" in results[NOTIFICATION]["detail"]


def test_table_output_lists_every_check(project: Path) -> None:
    checker = checker_app()
    result = CliRunner().invoke(checker, ["check", "-C", str(project)])
    assert result.exit_code == 0 and "all 5 check(s) passed" in result.stdout


def test_suspended_task_is_unhealthy(project: Path) -> None:
    retail_etl(project, "query", "ALTER TASK BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK SUSPEND")
    results = check(project, code=1)
    assert not results["task"]["ok"] and results["task"]["detail"].startswith("suspended")
    assert results["pipe"]["ok"] and results["stream"]["ok"]


def test_stale_stream_is_unhealthy(project: Path) -> None:
    retail_etl(project, "query", "CREATE OR REPLACE TABLE BRONZE.WORK_CUSTOMER_COPY (ID NUMBER)")
    results = check(project, code=1)
    assert not results["stream"]["ok"] and "stale" in results["stream"]["detail"]


def test_file_that_failed_to_load_is_unhealthy_until_a_later_file_loads(project: Path) -> None:
    days = customer_days()
    bad = list(days)[2]  # the sample's file with an unloadable row (see tests/test_local_pipeline.py)
    source = project / "incoming" / bad
    source.parent.mkdir()
    source.write_text(days[bad], encoding="utf-8")
    retail_etl(project, "upload", str(source))
    results = check(project, code=1)
    assert not results["pipe"]["ok"] and bad in results["pipe"]["detail"]
    # A later file loads: the failed one is still reported, but no longer fails every check.
    good = project / "incoming" / next(iter(days))
    good.write_text(days[good.name], encoding="utf-8")
    retail_etl(project, "upload", str(good))
    results = check(project, code=0)
    assert results["pipe"]["ok"] and bad in results["pipe"]["detail"]


def test_not_deployed_and_unknown_target_end_without_traceback(tmp_path: Path) -> None:
    copy_customer_pipelines(tmp_path / "pipelines")
    checker = checker_app()
    runner = CliRunner()
    assert runner.invoke(checker, ["check", "-C", str(tmp_path)]).exit_code == 1
    assert runner.invoke(checker, ["check", "-C", str(tmp_path), "-t", "nowhere"]).exit_code == 2


# --- the Snowflake path, against the emulated account -------------------------------------------------------------
def snowflake_results(project: Path, fetch: Any) -> dict[str, Any]:
    loaded = load(project, None)
    session = LocalSession(project / ".retail-etl")
    try:
        results = snowflake_checks(session, loaded.desired.pipelines, loaded.desired.database.sql, fetch)
    finally:
        session.close()
    return {result.check: result for result in results}


def test_snowflake_checks_read_show_rows_pipe_status_and_the_bucket(project: Path) -> None:
    channels: list[str] = []

    def fetch(bucket: str) -> dict[str, Any]:
        # The channel the emulated account gives every auto-ingest pipe, as SHOW PIPES reports it.
        session = LocalSession(project / ".retail-etl")
        try:
            channel = session.query("SHOW PIPES IN DATABASE SNOWLAKE_DB")[0]["notification_channel"]
        finally:
            session.close()
        channels.append(bucket)
        wanted = PipeNotification(
            "SNOWLAKE_DB", "BRONZE", "WORK_CUSTOMER_SRC_TO_SL_PIPE", channel, "raw_data/customer/"
        )
        return {"QueueConfigurations": desired_queue_configurations([wanted])}

    results = snowflake_results(project, fetch)
    assert channels == ["snowflake-project-etl"]
    assert results["pipe"].ok and results["task"].ok and results["stream"].ok and results[NOTIFICATION].ok
    # The emulated account has no SYSTEM$VALIDATE_STORAGE_INTEGRATION: the failed call is that check's verdict.
    assert not results["storage integration"].ok


def test_snowflake_checks_without_aws_access(project: Path) -> None:
    def no_access(bucket: str) -> dict[str, Any]:
        raise NoAwsAccessError

    denied = snowflake_results(project, no_access)[NOTIFICATION]
    assert not denied.ok and "no AWS access" in denied.detail
    skipped = snowflake_results(project, None)[NOTIFICATION]
    assert skipped.ok and "--skip-aws" in skipped.detail


def test_bucket_reader_without_credentials_reports_no_aws_access(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_etl.check.command import _bucket_reader

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(NoAwsAccessError):
        _bucket_reader(load(project, None), "local")("snowflake-project-etl")
