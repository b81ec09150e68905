"""Tasks on the local target: schedules (CRON + time zone, or an interval), WHEN conditions, runs and history.

A run is recorded like a row of Snowflake's TASK_HISTORY: SKIPPED when the WHEN condition is false (no body
runs, as Snowflake evaluates WHEN without a warehouse), SUCCEEDED with the body's return value, or FAILED with the
error; a failed run of a task with an ERROR_INTEGRATION leaves the USER_TASK_FAILED message Snowflake would
publish (reference §8.6). After SUSPEND_TASK_AFTER_NUM_FAILURES consecutive failed runs (default 10, 0: never)
the task is suspended, reason SUSPENDED_DUE_TO_ERRORS (§8.1, §12.5).

A task runs for the scheduled times that pass while it is started: times before its creation or its last resume
never run, and missed times are not back-filled (a late task runs once, for the latest of them).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from retail_etl.cron import for_croniter
from retail_etl.emulator.catalog import ObjectName, Task
from retail_etl.local.api import SqlRunner
from retail_etl.local.warehouse import Warehouse, internal_table

HISTORY_TABLE = "TASK_HISTORY"
NOTIFICATION_TABLE = "TASK_ERROR_NOTIFICATIONS"

SUCCEEDED, FAILED, SKIPPED = "SUCCEEDED", "FAILED", "SKIPPED"
SUSPENDED_DUE_TO_ERRORS = "SUSPENDED_DUE_TO_ERRORS"
DEFAULT_SUSPEND_AFTER_FAILURES = 10

# SCHEDULE = '<num> { HOURS | MINUTES | SECONDS }' (singular too: '5 MINUTE' is echoed as written, §8.1).
_INTERVAL = re.compile(r"\s*(\d+)\s+(HOUR|MINUTE|SECOND)S?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class TaskRun:
    """One run, as INFORMATION_SCHEMA.TASK_HISTORY describes it."""

    task: str  # DATABASE.SCHEMA.TASK
    run_id: str
    state: str
    scheduled_time: datetime
    query_start_time: datetime
    completed_time: datetime
    condition_text: str | None
    query_text: str
    return_value: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def schedule_parts(schedule: str) -> tuple[str, str]:
    """``USING CRON <5 fields> <time zone>`` -> (cron, time zone)."""
    words = schedule.split()
    if len(words) != 8 or [w.upper() for w in words[:2]] != ["USING", "CRON"]:
        raise ValueError(f"not a 'USING CRON <expr> <time zone>' schedule: {schedule!r}")
    return " ".join(words[2:7]), words[7]


def schedule_interval(schedule: str) -> timedelta | None:
    """The interval of a ``<num> MINUTES``-style schedule; None for a CRON schedule."""
    match = _INTERVAL.fullmatch(schedule)
    if match is None:
        return None
    return timedelta(**{match.group(2).lower() + "s": int(match.group(1))})


def last_fire(schedule: str, before: datetime) -> datetime:
    """The latest time at or before ``before`` the schedule fired (in UTC)."""
    expression, zone = schedule_parts(schedule)
    cron = for_croniter(expression)
    local = before.astimezone(ZoneInfo(zone))
    fired: datetime = croniter(cron, local).get_prev(datetime)
    # croniter's get_prev is strict; a fire exactly at `before` counts.
    if croniter.match(cron, local.replace(second=0, microsecond=0)) and local.second == 0 and local.microsecond == 0:
        fired = local
    return fired.astimezone(UTC)


def due_time(task: Task, last_run: datetime | None, now: datetime) -> datetime | None:
    """When a started task is due: the latest scheduled time not after now and after its last run, its creation
    and its last resume (``last_committed_on``). Missed times are not back-filled: Snowflake runs a late task once,
    not once per missed slot. An interval schedule counts its times from the last resume (or the creation)."""
    if task.state != "started" or not task.schedule:
        return None
    started = max(moment for moment in (task.created_on, task.last_committed_on) if moment is not None)
    interval = schedule_interval(task.schedule)
    fired = last_fire(task.schedule, now) if interval is None else started + interval * ((now - started) // interval)
    return fired if fired > max(started, last_run or started) else None


class TaskRunner:
    """Runs tasks with the SQL runner of a fresh session each (tasks run in their own session in Snowflake)."""

    def __init__(self, warehouse: Warehouse, account_name: str) -> None:
        self.warehouse = warehouse
        self.account_name = account_name

    def run(
        self, name: ObjectName, task: Task, runner: SqlRunner, *, scheduled: datetime, now: datetime | None = None
    ) -> TaskRun:
        started = now or datetime.now(UTC)
        run_id = str(uuid.uuid4())
        state, value, code, message = SUCCEEDED, None, None, None
        try:
            if task.condition and not _truthy(runner.run(f"SELECT {task.condition}").rows):
                state = SKIPPED
            else:
                result = runner.run(task.definition)
                value = None if not result.rows else _text(result.rows[0][0])
        except Exception as error:
            state, code, message = FAILED, getattr(error, "code", None), str(error)
        record = TaskRun(
            task=name.display,
            run_id=run_id,
            state=state,
            scheduled_time=scheduled,
            query_start_time=started,
            completed_time=datetime.now(UTC) if now is None else now,
            condition_text=task.condition,
            query_text=task.definition,
            return_value=value,
            error_code=None if code is None else str(code),
            error_message=message,
        )
        self._record(name, task, record)
        return record

    def history(self, database: str, task: str | None = None) -> list[TaskRun]:
        """Runs recorded for tasks of ``database`` (optionally one task, DATABASE.SCHEMA.TASK), oldest first."""
        connection = self.warehouse.connect()
        try:
            _ensure_tables(connection, database)
            where, parameters = ("WHERE TASK_NAME = ? ", [task]) if task else ("", [])
            rows = connection.execute(
                f"SELECT TASK_NAME, RUN_ID, STATE, SCHEDULED_TIME, QUERY_START_TIME, COMPLETED_TIME, CONDITION_TEXT,"
                f" QUERY_TEXT, RETURN_VALUE, ERROR_CODE, ERROR_MESSAGE FROM {internal_table(database, HISTORY_TABLE)}"
                f" {where}ORDER BY QUERY_START_TIME, RUN_ID",
                parameters,
            ).fetchall()
        finally:
            connection.close()
        return [TaskRun(*row[:3], *(_utc(value) for value in row[3:6]), *row[6:]) for row in rows]

    def last_run(self, name: ObjectName) -> datetime | None:
        runs = self.history(name.database, name.display)
        return max((run.scheduled_time for run in runs), default=None)

    def failures_in_a_row(self, name: ObjectName) -> int:
        """How many of the task's latest runs failed, counting back to its last run that did not."""
        runs = self.history(name.database, name.display)
        count = 0
        for run in reversed(runs):
            if run.state != FAILED:
                break
            count += 1
        return count

    def notifications(self, database: str) -> list[dict[str, Any]]:
        connection = self.warehouse.connect()
        try:
            _ensure_tables(connection, database)
            rows = connection.execute(
                f"SELECT INTEGRATION, MESSAGE FROM {internal_table(database, NOTIFICATION_TABLE)} ORDER BY SENT_AT"
            ).fetchall()
        finally:
            connection.close()
        return [{"integration": integration, "message": json.loads(message)} for integration, message in rows]

    def _record(self, name: ObjectName, task: Task, run: TaskRun) -> None:
        with self.warehouse.write_lock:
            connection = self.warehouse.connect()
            try:
                _ensure_tables(connection, name.database)
                connection.execute("BEGIN TRANSACTION")
                connection.execute(
                    f"INSERT INTO {internal_table(name.database, HISTORY_TABLE)} (TASK_NAME, RUN_ID, STATE,"
                    " SCHEDULED_TIME, QUERY_START_TIME, COMPLETED_TIME, CONDITION_TEXT, QUERY_TEXT, RETURN_VALUE,"
                    " ERROR_CODE, ERROR_MESSAGE) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run.task, run.run_id, run.state, _naive(run.scheduled_time), _naive(run.query_start_time),
                     _naive(run.completed_time), run.condition_text, run.query_text, run.return_value,
                     run.error_code, run.error_message],
                )  # fmt: skip
                if run.state == FAILED and task.error_integration:
                    connection.execute(
                        f"INSERT INTO {internal_table(name.database, NOTIFICATION_TABLE)} (INTEGRATION, SENT_AT,"
                        " MESSAGE) VALUES (?, ?, ?)",
                        [
                            task.error_integration,
                            _naive(run.completed_time),
                            json.dumps(self._message(name, task, run)),
                        ],
                    )
                connection.execute("COMMIT")
            finally:
                connection.close()

    def _message(self, name: ObjectName, task: Task, run: TaskRun) -> dict[str, Any]:
        """The USER_TASK_FAILED document Snowflake publishes to the error integration's topic (§8.6)."""
        task_id = str(uuid.UUID(int=task.id))
        return {
            "version": "1.0",
            "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, run.run_id)),
            "messageType": "USER_TASK_FAILED",
            "timestamp": _iso(run.completed_time),
            "accountName": self.account_name,
            "taskName": name.display,
            "taskId": task_id,
            "rootTaskName": name.display,
            "rootTaskId": task_id,
            "messages": [
                {
                    "runId": _iso(run.scheduled_time),
                    "scheduledTime": _iso(run.scheduled_time),
                    "queryStartTime": _iso(run.query_start_time),
                    "completedTime": _iso(run.completed_time),
                    "queryId": run.run_id,
                    "errorCode": run.error_code or "",
                    "errorMessage": _bare(run.error_message or "", run.error_code),
                }
            ],
        }


def _ensure_tables(connection: Any, database: str) -> None:
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {internal_table(database, HISTORY_TABLE)} (TASK_NAME VARCHAR, RUN_ID VARCHAR,"
        " STATE VARCHAR, SCHEDULED_TIME TIMESTAMP, QUERY_START_TIME TIMESTAMP, COMPLETED_TIME TIMESTAMP,"
        " CONDITION_TEXT VARCHAR, QUERY_TEXT VARCHAR, RETURN_VALUE VARCHAR, ERROR_CODE VARCHAR, ERROR_MESSAGE VARCHAR)"
    )
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {internal_table(database, NOTIFICATION_TABLE)} (INTEGRATION VARCHAR,"
        " SENT_AT TIMESTAMP, MESSAGE VARCHAR)"
    )


def _bare(message: str, code: str | None) -> str:
    """The error message without the ``<code> (<SQLSTATE>): `` it starts with (§8.6 keeps them apart)."""
    if code and message.startswith(f"{code} ("):
        return message.split("): ", 1)[-1]
    return message


def _truthy(rows: list[tuple[Any, ...]]) -> bool:
    return bool(rows) and bool(rows[0][0]) and str(rows[0][0]).upper() != "FALSE"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _naive(moment: datetime) -> datetime:
    """Stored as UTC wall-clock time (TIMESTAMP without zone)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
