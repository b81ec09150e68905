"""The contract between the parts of the local runtime (engine, procedures, pipes, tasks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from retail_etl.targets.session import SessionError

# Every table the local engine creates carries this hidden column, filled from a sequence on insert: streams
# read "rows appended since the offset" by it (DuckDB's rowid is not stable across deletes and checkpoints).
# It never shows in SELECT * (the translator excludes it).
ROW_SEQUENCE_COLUMN = "_RETAIL_ETL_ROW_SEQ"
# Schema, inside each database's DuckDB file, for runtime state that must commit with the data it describes
# (stream offsets) and for the runtime's records (load history, task runs, error notifications).
INTERNAL_SCHEMA = "_RETAIL_ETL"


# Snowflake's error text: "<6-digit code> (<SQLSTATE>): <message>", e.g. "100072 (22000): NULL result in a ...".
_CODED = re.compile(r"(\d{6}) \(([0-9A-Z]{5})\): .*", re.DOTALL)


class LocalSqlError(SessionError):
    """A statement the local runtime refused or that failed, worded like Snowflake's error where possible.

    When the text starts as Snowflake's does (``100072 (22000): ...``), ``code`` and ``sqlstate`` carry the two, as
    the connector's errors do: JavaScript procedures read them as ``err.code`` / ``err.state``, Snowflake Scripting
    as SQLCODE / SQLSTATE, and a failed task's USER_TASK_FAILED message as ``errorCode``.
    """

    @property
    def code(self) -> str | None:
        coded = _CODED.fullmatch(str(self))
        return coded.group(1) if coded else None

    @property
    def sqlstate(self) -> str | None:
        coded = _CODED.fullmatch(str(self))
        return coded.group(2) if coded else None


@dataclass
class StatementResult:
    """What one statement returns, shaped for the JavaScript ResultSet/Statement shim and the Scripting
    interpreter (SQLROWCOUNT) as much as for ``retail-etl query``."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    query_id: str = ""

    @property
    def rows_affected(self) -> int:
        return self.rows_inserted + self.rows_updated + self.rows_deleted


class SqlRunner(Protocol):
    """One Snowflake *session* on the local target: runs one statement of Snowflake SQL at a time, with
    Snowflake's transaction semantics (BEGIN/COMMIT/ROLLBACK, DDL commits an open transaction, a stream's
    offset advances only when the DML that read it commits)."""

    session_id: str

    def run(self, sql: str) -> StatementResult: ...
