"""The contract between the parts of the local runtime (engine, procedures, pipes, tasks)."""

from __future__ import annotations

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


class LocalSqlError(SessionError):
    """A statement the local runtime refused or that failed, worded like Snowflake's error where possible."""


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
