"""The local target, running: the engine with CALL routed to the procedures, auto-ingest pipes and tasks.

What `retail-etl upload`, `run`, `query`, `status` and `tasks history` use on the local target.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retail_etl.emulator.catalog import ObjectName, Task, procedure_key
from retail_etl.emulator.parser import Parser
from retail_etl.local.api import LocalSqlError, StatementResult
from retail_etl.local.bucket import buckets_root
from retail_etl.local.engine import LocalEngine, LocalSqlSession, run_query
from retail_etl.local.pipes import FileLoadResult, PipeStatus, load_all_pipes, pipe_status
from retail_etl.local.procedures import run_procedure
from retail_etl.local.tasks import (
    DEFAULT_SUSPEND_AFTER_FAILURES,
    FAILED,
    SUSPENDED_DUE_TO_ERRORS,
    TaskRun,
    TaskRunner,
    due_time,
)


@dataclass(frozen=True)
class PipelineStatus:
    """One pipeline's line in `retail-etl status`."""

    pipeline: str
    pipe: PipeStatus
    stream_backlog: int
    last_run: TaskRun | None
    silver_rows: int


class LocalRuntime:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.engine = LocalEngine.open(root)
        self.engine.handlers["CALL"] = self._call
        self.bucket_root = buckets_root(root)
        self.tasks = TaskRunner(self.engine.warehouse, self.engine.account.catalog.account)

    def close(self) -> None:
        self.engine.close()

    @contextmanager
    def session(self, database: str | None = None) -> Iterator[LocalSqlSession]:
        session = self.engine.session(database=database)
        try:
            yield session
        finally:
            session.close()

    # --- pipes --------------------------------------------------------------------------------------------------
    def ingest(self, now: datetime | None = None) -> list[FileLoadResult]:
        """Auto-ingest: every pipe loads the files of its stage it has not seen yet."""
        with self.engine.warehouse.write_lock:
            connection = self.engine.warehouse.connect()
            try:
                return load_all_pipes(connection, self.engine.account, self.bucket_root, now=now)
            finally:
                connection.close()

    # --- tasks --------------------------------------------------------------------------------------------------
    def started_tasks(self, database_name: str | None = None) -> list[tuple[ObjectName, Task]]:
        """The started tasks of the account, or of one database (an environment's)."""
        found = []
        for database in self.engine.account.catalog.databases.values():
            if database_name is not None and database.name != database_name:
                continue
            for schema in database.schemas.values():
                for task in schema.tasks.values():
                    if task.state == "started":
                        found.append((ObjectName(database.name, schema.name, task.name), task))
        return sorted(found, key=lambda item: item[0].display)

    def run_due(self, now: datetime | None = None, *, database: str | None = None) -> list[TaskRun]:
        """The started tasks (of ``database``, else of the account) whose schedule fired since their last run, each
        run once."""
        moment = now or datetime.now(UTC)
        runs = []
        for name, task in self.started_tasks(database):
            scheduled = due_time(task, self.tasks.last_run(name), moment)
            if scheduled is not None:
                runs.append(self.run_task(name, task, scheduled=scheduled, now=now))
        return runs

    def run_now(self, now: datetime | None = None, *, database: str | None = None) -> list[TaskRun]:
        """Every started task (of ``database``, else of the account), now (``EXECUTE TASK``): the WHEN condition
        still decides whether its body runs."""
        moment = now or datetime.now(UTC)
        started = self.started_tasks(database)
        return [self.run_task(name, task, scheduled=moment, now=now) for name, task in started]

    def run_task(self, name: ObjectName, task: Task, *, scheduled: datetime, now: datetime | None = None) -> TaskRun:
        with self.session(name.database) as session:
            run = self.tasks.run(name, task, session, scheduled=scheduled, now=now)
        if run.state == FAILED:
            self._suspend_after_failures(name, task, run.completed_time)
        return run

    def _suspend_after_failures(self, name: ObjectName, task: Task, moment: datetime) -> None:
        """SUSPEND_TASK_AFTER_NUM_FAILURES: after that many failed runs in a row the task is suspended."""
        setting = task.parameters.get("SUSPEND_TASK_AFTER_NUM_FAILURES", DEFAULT_SUSPEND_AFTER_FAILURES)
        try:
            limit = int(setting)
        except (TypeError, ValueError):
            limit = DEFAULT_SUSPEND_AFTER_FAILURES
        if limit <= 0 or self.tasks.failures_in_a_row(name) < limit:
            return
        task.state = "suspended"
        task.last_suspended_on, task.last_suspended_reason = moment, SUSPENDED_DUE_TO_ERRORS
        self.engine.save_catalog()

    # --- queries and status -------------------------------------------------------------------------------------
    def query(self, sql: str, database: str) -> StatementResult:
        return run_query(self.engine, sql, database)

    def count(self, relation: str, database: str) -> int:
        rows = self.query(f"SELECT COUNT(*) FROM {relation}", database).rows
        return int(rows[0][0]) if rows else 0

    def pipeline_status(self, pipeline: str, pipe: str, stream: str, task: str, silver: str) -> PipelineStatus:
        """Names are fully qualified and quoted where needed (as rendered)."""
        database = pipe.split(".", maxsplit=1)[0].strip('"')
        connection = self.engine.warehouse.connect()
        try:
            state = pipe_status(connection, self.engine.account, pipe, self.bucket_root)
        finally:
            connection.close()
        runs = self.tasks.history(database, task)
        return PipelineStatus(
            pipeline=pipeline,
            pipe=state,
            stream_backlog=self._safe_count(stream, database),
            last_run=runs[-1] if runs else None,
            silver_rows=self._safe_count(silver, database),
        )

    def _safe_count(self, relation: str, database: str) -> int:
        try:
            return self.count(relation, database)
        except LocalSqlError:
            return -1

    # --- statement handlers -------------------------------------------------------------------------------------
    def _call(self, session: LocalSqlSession, sql: str) -> StatementResult:
        """``CALL db.schema.proc()``: the procedure's body runs in the calling session (EXECUTE AS CALLER)."""
        parser = Parser(sql)
        parser.expect_keyword("CALL")
        raw = parser.expect_name()
        parser.expect_punct("(")
        if not parser.accept_punct(")"):
            raise LocalSqlError("the local target calls procedures without arguments only")
        parser.expect_end()
        name = _qualify(raw.parts, session)
        procedure = self.engine.account.catalog.databases.get(name.database)
        schema = procedure.schemas.get(name.schema) if procedure else None
        record = schema.procedures.get(procedure_key(name.name, [])) if schema else None
        if record is None:
            raise LocalSqlError(f"002141 (42601): SQL compilation error: Unknown user-defined function {name.display}.")
        value: Any = run_procedure(record.language, record.body, session)
        return StatementResult(columns=[name.name], rows=[(value,)])


def _qualify(parts: tuple[str, ...], session: LocalSqlSession) -> ObjectName:
    if len(parts) == 3:
        return ObjectName(*parts)
    if len(parts) == 2 and session.database:
        return ObjectName(session.database, *parts)
    if len(parts) == 1 and session.database and session.schema:
        return ObjectName(session.database, session.schema, parts[0])
    raise LocalSqlError("090105 (22000): Cannot perform CALL. This session does not have a current database.")
