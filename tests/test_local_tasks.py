"""Task schedules, automatic suspension and error codes on the local target (reference §8.1, §8.6, §12.5).

``due_time`` is a pure function of the task, its last run and the clock, so schedules are checked with plain
data; suspension after failed runs and the codes a failure carries go through the runtime, as `retail-etl run`
does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retail_etl.emulator.catalog import Task
from retail_etl.local.api import LocalSqlError
from retail_etl.local.runtime import LocalRuntime
from retail_etl.local.tasks import FAILED, SUCCEEDED, due_time, schedule_interval
from retail_etl.spec.models import ScheduleSpec

NIGHTLY = "USING CRON 0 5 * * * UTC"
CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def task(schedule: str = NIGHTLY, *, resumed: datetime | None = CREATED, state: str = "started") -> Task:
    return Task(
        name="T", id=1, created_on=CREATED, definition="SELECT 1", schedule=schedule, state=state,
        last_committed_on=resumed,
    )  # fmt: skip


def test_a_cron_task_runs_for_the_latest_time_it_passed_once_and_never_for_times_before_its_creation() -> None:
    assert due_time(task(), None, at(21, 4)) is None  # created at noon on the 20th: 05:00 that day never runs
    assert due_time(task(), None, at(21, 5)) == at(21, 5)
    assert due_time(task(), at(21, 5), at(21, 23)) is None
    # Three nights missed: one run, for the latest of them (no back-fill).
    assert due_time(task(), at(21, 5), at(24, 6)) == at(24, 5)
    assert due_time(task("USING CRON 0 5 * * * America/New_York"), None, at(21, 9)) is None
    assert due_time(task("USING CRON 0 5 * * * America/New_York"), None, at(21, 10)) == at(21, 10)


def test_a_resumed_task_does_not_run_for_times_that_passed_while_it_was_suspended() -> None:
    # Ran on the 21st, suspended, resumed at noon on the 24th: 05:00 on the 24th passed while suspended.
    resumed = task(resumed=at(24, 12))
    assert due_time(resumed, at(21, 5), at(24, 12, 5)) is None
    assert due_time(resumed, at(21, 5), at(25, 5)) == at(25, 5)
    assert due_time(task(state="suspended"), at(21, 5), at(25, 5)) is None


def test_the_last_weekday_of_the_month_is_read_as_snowflake_writes_it() -> None:
    # '5L': the month's last Friday (reference §8.1); November 2026's is the 27th.
    assert ScheduleSpec(cron="0 5 * * 5L").cron == "0 5 * * 5L"
    last_friday = task("USING CRON 0 5 * * 5L UTC")
    assert due_time(last_friday, None, at(26, 23)) is None
    assert due_time(last_friday, None, at(27, 6)) == at(27, 5)
    unscheduled = Task(name="T", id=2, created_on=CREATED, definition="SELECT 1", state="started")
    assert due_time(unscheduled, None, at(27, 6)) is None  # no schedule: runs only when executed


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [("5 MINUTE", timedelta(minutes=5)), ("60 minutes", timedelta(hours=1)), ("2 HOURS", timedelta(hours=2)),
     ("15 SECONDS", timedelta(seconds=15)), (NIGHTLY, None)],
)  # fmt: skip
def test_interval_schedules_are_read_as_snowflake_writes_them(schedule: str, interval: timedelta | None) -> None:
    assert schedule_interval(schedule) == interval


def test_an_interval_task_runs_every_interval_counted_from_its_last_resume() -> None:
    every_five = task("5 MINUTE", resumed=at(21, 10, 2))
    assert due_time(every_five, None, at(21, 10, 6)) is None
    assert due_time(every_five, None, at(21, 10, 7)) == at(21, 10, 7)
    assert due_time(every_five, at(21, 10, 7), at(21, 10, 11)) is None
    assert due_time(every_five, at(21, 10, 7), at(21, 10, 30)) == at(21, 10, 27)


@pytest.fixture
def runtime(tmp_path: Path) -> LocalRuntime:
    runtime = LocalRuntime(tmp_path)
    runtime.query("CREATE DATABASE DB", "DB")
    runtime.query("CREATE SCHEMA DB.S", "DB")
    return runtime


def test_a_task_is_suspended_after_its_allowed_failures_in_a_row(runtime: LocalRuntime, tmp_path: Path) -> None:
    runtime.query(
        "CREATE TASK DB.S.FLAKY WAREHOUSE = WH SCHEDULE = '5 MINUTE' SUSPEND_TASK_AFTER_NUM_FAILURES = 2 "
        "AS INSERT INTO DB.S.MISSING VALUES (1)",
        "DB",
    )
    runtime.query("CREATE TASK DB.S.STEADY WAREHOUSE = WH SCHEDULE = 'USING CRON 0 5 * * 5L UTC' AS SELECT 1", "DB")
    runtime.query("ALTER TASK DB.S.FLAKY RESUME", "DB")
    runtime.query("ALTER TASK DB.S.STEADY RESUME", "DB")
    assert [run.state for run in runtime.run_now()] == [FAILED, SUCCEEDED]
    assert [run.state for run in runtime.run_now()] == [FAILED, SUCCEEDED]
    # FLAKY failed twice in a row: suspended, and only STEADY runs from now on.
    assert [run.task for run in runtime.run_now()] == ["DB.S.STEADY"]
    runtime.close()
    reopened = LocalRuntime(tmp_path)
    shown = reopened.query("SHOW TASKS LIKE 'FLAKY' IN SCHEMA DB.S", "DB")
    row = dict(zip(shown.columns, shown.rows[0], strict=True))
    assert (row["state"], row["last_suspended_reason"]) == ("suspended", "SUSPENDED_DUE_TO_ERRORS")
    reopened.close()


def test_a_run_that_does_not_fail_breaks_the_count_and_zero_never_suspends(runtime: LocalRuntime) -> None:
    runtime.query(
        "CREATE TASK DB.S.NEVER WAREHOUSE = WH SCHEDULE = '5 MINUTE' SUSPEND_TASK_AFTER_NUM_FAILURES = 0 "
        "AS INSERT INTO DB.S.MISSING VALUES (1)",
        "DB",
    )
    runtime.query(
        "CREATE TASK DB.S.DEFAULT WAREHOUSE = WH SCHEDULE = '5 MINUTE' AS INSERT INTO DB.S.LATER VALUES (1)", "DB"
    )
    runtime.query("ALTER TASK DB.S.NEVER RESUME", "DB")
    runtime.query("ALTER TASK DB.S.DEFAULT RESUME", "DB")
    for _ in range(9):
        runtime.run_now()
    runtime.query("CREATE TABLE DB.S.LATER (X NUMBER)", "DB")
    runtime.run_now()  # DEFAULT succeeds once: its nine failures no longer count
    runtime.query("DROP TABLE DB.S.LATER", "DB")
    for _ in range(9):
        runtime.run_now()
    assert {task.name: task.state for _, task in runtime.started_tasks()} == {"DEFAULT": "started", "NEVER": "started"}
    runtime.run_now()  # the tenth failure in a row: the default limit
    assert [name.name for name, _ in runtime.started_tasks()] == ["NEVER"]
    runtime.close()


# --- errors carry Snowflake's code and SQLSTATE ---------------------------------------------------------------

MISSING = "INSERT INTO DB.S.MISSING VALUES (1)"


def test_an_engine_error_carries_its_code_and_sqlstate(runtime: LocalRuntime) -> None:
    with pytest.raises(LocalSqlError) as raised:
        runtime.query(MISSING, "DB")
    assert (raised.value.code, raised.value.sqlstate) == ("002003", "02000")
    assert (LocalSqlError("no code here").code, LocalSqlError("no code here").sqlstate) == (None, None)
    runtime.close()


def test_procedures_read_the_code_as_err_code_and_sqlcode(runtime: LocalRuntime) -> None:
    runtime.query(
        "CREATE PROCEDURE DB.S.JS() RETURNS VARCHAR LANGUAGE JAVASCRIPT AS $$ try { snowflake.execute({sqlText: "
        f'"{MISSING}"}}); return "no error"; }} catch (err) {{ return err.code + "/" + err.state; }} $$',
        "DB",
    )
    runtime.query(
        "CREATE PROCEDURE DB.S.SCRIPT() RETURNS VARCHAR LANGUAGE SQL AS $$ BEGIN "
        f"{MISSING}; RETURN 'no error'; EXCEPTION WHEN OTHER THEN RETURN SQLCODE || '/' || SQLSTATE; END $$",
        "DB",
    )
    assert runtime.query("CALL DB.S.JS()", "DB").rows == [("002003/02000",)]
    assert runtime.query("CALL DB.S.SCRIPT()", "DB").rows == [("2003/02000",)]
    runtime.close()


def test_a_failed_task_notifies_its_error_code_apart_from_the_message(runtime: LocalRuntime) -> None:
    runtime.query(
        "CREATE NOTIFICATION INTEGRATION ERRORS ENABLED = TRUE TYPE = QUEUE DIRECTION = OUTBOUND "
        "NOTIFICATION_PROVIDER = AWS_SNS AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:errors' "
        "AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/sns'",
        "DB",
    )
    runtime.query(f"CREATE TASK DB.S.FAILS WAREHOUSE = WH ERROR_INTEGRATION = ERRORS AS {MISSING}", "DB")
    runtime.query("ALTER TASK DB.S.FAILS RESUME", "DB")
    (run,) = runtime.run_now()
    assert (run.state, run.error_code) == (FAILED, "002003")
    (sent,) = runtime.tasks.notifications("DB")
    (message,) = sent["message"]["messages"]
    assert message["errorCode"] == "002003"
    assert message["errorMessage"] == "SQL compilation error: Object 'DB.S.MISSING' does not exist or not authorized."
    runtime.close()
