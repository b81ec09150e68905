"""A test-only :class:`SqlRunner`: Snowflake SQL transpiled by sqlglot and run on an in-memory DuckDB connection.

Just enough of a session to run the rendered procedure bodies: BEGIN/COMMIT/ROLLBACK go to DuckDB as they are,
row counts come from DuckDB (a MERGE counts its actions through ``RETURNING merge_action``), unquoted names are
upper-cased as Snowflake stores them, and every table name ``DB.SCHEMA.NAME`` becomes one flat quoted name (DuckDB
keeps TEMPORARY tables in its own catalog, so qualified temporary names cannot be kept as they are). It has none
of the engine's semantics (streams, DDL committing a transaction): tests that need those belong to the engine.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

import duckdb
import sqlglot
from sqlglot import exp

from retail_etl.identifiers import sql_literal
from retail_etl.local.api import LocalSqlError, StatementResult

_COUNTED = {exp.Insert: "rows_inserted", exp.Update: "rows_updated", exp.Delete: "rows_deleted"}


class DuckDbRunner:
    def __init__(self, *, fail: Callable[[str], str | None] | None = None, session_id: str = "test-session") -> None:
        """``fail(sql)`` returning a message makes that statement fail with it (a forced error, e.g. in MERGE)."""
        self.session_id = session_id
        self.connection = duckdb.connect()
        self.connection.execute(f"CREATE MACRO CURRENT_SESSION() AS {sql_literal(session_id)}")
        self.fail = fail
        self.statements: list[str] = []  # every statement received, as received
        self.errors: list[LocalSqlError] = []  # every error raised, in order
        self._query_ids = itertools.count(1)

    def run(self, sql: str) -> StatementResult:
        self.statements.append(sql)
        try:
            return self._run(sql)
        except LocalSqlError as error:
            self.errors.append(error)
            raise

    def _run(self, sql: str) -> StatementResult:
        forced = self.fail(sql) if self.fail is not None else None
        if forced is not None:
            raise LocalSqlError(forced)
        try:
            statement = sqlglot.parse_one(sql, read="snowflake")
        except sqlglot.errors.ParseError as error:
            raise LocalSqlError(f"SQL compilation error: {error}") from error
        for table in statement.find_all(exp.Table):
            stored = ".".join(
                part.name if isinstance(part, exp.Identifier) and part.quoted else part.name.upper()
                for part in table.parts
            )
            table.set("this", exp.to_identifier(stored, quoted=True))
            table.set("db", None)
            table.set("catalog", None)
        translated = statement.sql(dialect="duckdb")
        is_merge = isinstance(statement, exp.Merge)
        try:
            cursor = self.connection.execute(translated + (" RETURNING merge_action" if is_merge else ""))
        except duckdb.Error as error:
            raise LocalSqlError(str(error)) from error
        query_id = f"01b2-test-{next(self._query_ids)}"
        if is_merge:
            actions = Counter(action for (action,) in cursor.fetchall())
            return StatementResult(
                rows_inserted=actions["INSERT"],
                rows_updated=actions["UPDATE"],
                rows_deleted=actions["DELETE"],
                query_id=query_id,
            )
        counted = next((name for kind, name in _COUNTED.items() if isinstance(statement, kind)), None)
        if counted is not None:
            result = StatementResult(query_id=query_id)
            row = cursor.fetchone()
            setattr(result, counted, row[0] if row else 0)
            return result
        if isinstance(statement, exp.Query):
            columns = [str(d[0]).upper() for d in cursor.description or []]
            return StatementResult(columns=columns, rows=cursor.fetchall(), query_id=query_id)
        return StatementResult(query_id=query_id)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        """Read back (through the same translation, not recorded as a statement of the procedure)."""
        result = self._run(sql)
        return result.rows
