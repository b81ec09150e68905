"""The local SQL engine: Snowflake sessions whose data lives in the warehouse (DuckDB) and whose objects are the
emulated account's catalog.

What runs where
    SHOW / DESC / USE / ALTER SESSION and SELECTs of INFORMATION_SCHEMA are answered by the catalog. DDL goes to the
    catalog first (it checks names, kinds and changes as Snowflake does) and is then mirrored into DuckDB for the
    objects that hold data: databases (a file each), schemas, tables, views, and streams (their offsets). What the
    mirror does is decided by the catalog records' ids before and after the statement: a new id is a CREATE (or a
    replacement, which drops the rows), a missing one a DROP, the same one an ALTER (the column changes are
    replayed). If DuckDB refuses, the catalog entry is put back: both stay in step. Queries and DML are translated
    (:mod:`retail_etl.local.translate`) and run on DuckDB.
Sessions
    Autocommit per statement; ``BEGIN [TRANSACTION]`` / ``START TRANSACTION``, ``COMMIT``, ``ROLLBACK``. DDL inside
    an open transaction commits it first (Snowflake's implicit commit). A failing statement inside a transaction
    leaves it aborted (DuckDB has no statement-level rollback): only ROLLBACK is accepted, and COMMIT rolls back and
    says so. Temporary tables belong to the session (DuckDB's ``temp`` catalog) and shadow a table of the same name.
Streams
    Append-only. A read returns the source table's rows whose row sequence is in ``(offset, bound]``. The bound is
    fixed at the first read in a transaction, in the snapshot DuckDB took at BEGIN, so every read in a transaction
    sees the same rows (repeatable read). The offset moves to the bound only when a DML statement (or CREATE TABLE
    AS SELECT) that read the stream commits, in the same DuckDB transaction as the DML's writes; a SELECT never
    moves it, a ROLLBACK or a failed statement leaves it. A stale stream (its table re-created or dropped) cannot be
    read.
Locking
    One writing transaction at a time per warehouse (``Warehouse.write_lock``), taken by a transaction's first DML
    and held to its end; DDL takes it for the statement. This keeps rows committing in sequence order (which the
    stream offsets rely on) and stands in for Snowflake's table locks. A session that waits longer than
    ``lock_timeout`` seconds fails its statement.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from retail_etl.emulator import Account
from retail_etl.emulator.catalog import Database, ObjectName, Schema, Stream, Table
from retail_etl.emulator.context import STATEMENT_OK, SessionContext
from retail_etl.emulator.errors import EmulatorError, already_exists, does_not_exist
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser, RawName, parse_name_text
from retail_etl.emulator.show import stream_is_stale
from retail_etl.local import translate
from retail_etl.local.api import INTERNAL_SCHEMA, ROW_SEQUENCE_COLUMN, LocalSqlError, StatementResult
from retail_etl.local.translate import DML_KINDS, SEQUENCE, RelationKind, StatementKind, StreamWindow, Translation
from retail_etl.local.warehouse import DEFAULT_TIMEZONE, Warehouse, quote, row_sequence, stream_offsets
from retail_etl.targets.local import CATALOG_FILE, read_catalog

# Snowflake's LOCK_TIMEOUT default (12 hours).
DEFAULT_LOCK_TIMEOUT = 43200.0

_MODIFIERS = ("TEMPORARY", "TEMP", "VOLATILE", "TRANSIENT", "SECURE", "LOCAL", "GLOBAL", "RECURSIVE")
_TEMPORARY = frozenset({"TEMPORARY", "TEMP", "VOLATILE"})
_TWO_WORD_KINDS = {"FILE": "FORMAT", "STORAGE": "INTEGRATION", "NOTIFICATION": "INTEGRATION"}
# Kinds whose DDL is mirrored into DuckDB; every other kind lives in the catalog only.
_MIRRORED = frozenset({"DATABASE", "SCHEMA", "TABLE", "VIEW", "STREAM"})
_DATA_VERBS = frozenset({"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE"})
_CATALOG_VERBS = frozenset({"SHOW", "DESC", "DESCRIBE", "USE"})
_COLLECTIONS = {"TABLE": "tables", "VIEW": "views", "STREAM": "streams"}

StatementHandler = Callable[["LocalSqlSession", str], StatementResult]


@dataclass(frozen=True)
class _Statement:
    """What the leading keywords say a statement is."""

    verb: str  # BEGIN, COMMIT, ROLLBACK, CATALOG, DDL, DATA, or OTHER (CALL, COPY, EXECUTE, ...)
    first: str  # the first keyword (CREATE, ALTER, DROP, CALL, ...)
    kind: str = ""  # for DDL: the object kind (TABLE, FILE FORMAT, ...)
    name: RawName | None = None  # for DDL: the object named
    temporary: bool = False  # CREATE TEMPORARY ...
    offset_from: str | None = None  # CREATE STREAM ... AT | BEFORE (STREAM => '<this>')


@dataclass(frozen=True)
class _Target:
    """A mirrored object: ``kind`` and its name parts (a database: one part, a schema: two)."""

    kind: str
    parts: tuple[str, ...]

    @property
    def object_name(self) -> ObjectName:
        return ObjectName(*self.parts)


class LocalEngine:
    """The local target's runtime: the emulated account (catalog) plus the warehouse (data).

    ``catalog_path`` (set by :meth:`open`) is where the catalog is saved after every statement that changes it.
    ``handlers`` maps a statement's first keyword (``CALL``, ``COPY``, ``EXECUTE``, ...) to the code that runs it
    on the local target; the other parts of the runtime register theirs there.
    """

    def __init__(
        self,
        account: Account,
        warehouse: Warehouse,
        *,
        catalog_path: Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.account = account
        self.warehouse = warehouse
        self.catalog_path = catalog_path
        self.lock_timeout = lock_timeout
        self.handlers: dict[str, StatementHandler] = {}

    @classmethod
    def open(
        cls, root: Path, *, timezone: str = DEFAULT_TIMEZONE, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> LocalEngine:
        """The engine of the local target folder ``root``: its catalog (``catalog.json``) and its warehouse, whose
        connections use ``timezone`` as Snowflake sessions use their TIMEZONE parameter."""
        return cls(
            read_catalog(root),
            Warehouse(root, timezone=timezone),
            catalog_path=root / CATALOG_FILE,
            lock_timeout=lock_timeout,
        )

    def session(
        self,
        session_id: str | None = None,
        *,
        database: str | None = None,
        schema: str | None = None,
        query_tag: str | None = None,
    ) -> LocalSqlSession:
        """A new Snowflake session; ``database`` / ``schema`` are its current ones (as after USE)."""
        context = SessionContext(database=database, schema=schema, query_tag=query_tag)
        return LocalSqlSession(self, session_id or new_session_id(), context)

    def save_catalog(self) -> None:
        if self.catalog_path is None:
            return
        # Write then rename: an interrupted statement never leaves a half-written catalog.
        self.catalog_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.catalog_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.account.to_json(), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.catalog_path)

    def close(self) -> None:
        """Release the warehouse (close the sessions first)."""
        self.warehouse.close()

    # --- catalog lookups -------------------------------------------------------------------------------------
    def schema_record(self, database: str, schema: str) -> Schema | None:
        found: Database | None = self.account.catalog.databases.get(database)
        return found.schemas.get(schema) if found else None

    def stream_record(self, name: ObjectName) -> Stream | None:
        """The catalog's record of a stream (its table, the table's id when created, its mode), or None."""
        schema = self.schema_record(name.database, name.schema)
        return schema.streams.get(name.name) if schema else None


def new_session_id() -> str:
    """Snowflake session ids are numbers, which CURRENT_SESSION() returns as text."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def run_query(engine: LocalEngine, sql: str, database: str | None, schema: str | None = None) -> StatementResult:
    """``retail-etl query``: one statement in a fresh session whose current database is the project's."""
    session = engine.session(database=database, schema=schema)
    try:
        return session.run(sql)
    finally:
        session.close()


class LocalSqlSession:
    """One Snowflake session on the local target (implements :class:`retail_etl.local.api.SqlRunner`).

    Use it from one thread at a time; several sessions may run on several threads. A transaction that has written
    holds the warehouse's write lock until it ends: another session's write waits for it (up to the engine's
    ``lock_timeout``), also on the same thread. Close sessions: closing rolls back and releases the lock.
    """

    def __init__(self, engine: LocalEngine, session_id: str, context: SessionContext) -> None:
        self.engine = engine
        self.session_id = session_id
        self.context = context
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._explicit = False  # inside BEGIN ... COMMIT / ROLLBACK
        self._aborted = False  # a statement of the explicit transaction failed in DuckDB
        self._locked = False  # holds the warehouse's write lock
        self._windows: dict[ObjectName, StreamWindow] = {}  # the streams read in this transaction
        self._consumed: dict[ObjectName, int] = {}  # offsets to store at commit
        self._temporary: set[ObjectName] = set()
        self._closed = False

    # --- Resolver (what translation asks) --------------------------------------------------------------------
    @property
    def database(self) -> str | None:
        return self.context.database

    @property
    def schema(self) -> str | None:
        return self.context.schema

    @property
    def in_transaction(self) -> bool:
        return self._explicit

    def relation(self, name: ObjectName) -> RelationKind | None:
        if name in self._temporary:
            return RelationKind.TEMPORARY
        schema = self.engine.schema_record(name.database, name.schema)
        if schema is not None:
            if name.name in schema.tables:
                return RelationKind.TABLE
            if name.name in schema.views:
                return RelationKind.VIEW
            if name.name in schema.streams:
                return RelationKind.STREAM
        return self._unmanaged_relation(name)

    def _unmanaged_relation(self, name: ObjectName) -> RelationKind | None:
        """A table or view that something other than retail-etl made in the warehouse (dbt's models): an account
        shows every object to its queries, managed or not. Matched as DuckDB matches names, ignoring case. Read
        like a view (as it is, with no row sequence to hide); its owner, not a query, writes it."""
        if name.schema.upper() == INTERNAL_SCHEMA:
            return None
        row = (
            self._open_connection()
            .execute(
                "SELECT table_type FROM information_schema.tables WHERE lower(table_catalog) = lower(?)"
                " AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)",
                [name.database, name.schema, name.name],
            )
            .fetchone()
        )
        return None if row is None else RelationKind.VIEW

    def stream_window(self, name: ObjectName) -> StreamWindow:
        """The rows a read of the stream returns in this transaction: fixed at the first read (repeatable read)."""
        window = self._windows.get(name)
        if window is not None:
            return window
        stream = self.engine.stream_record(name)
        if stream is None:
            raise translate.error(does_not_exist(name.display))
        if stream_is_stale(self.engine.account.catalog, stream):
            raise LocalSqlError(
                f"091901 (01000): SQL execution error: Stream '{name.display}' is stale: its table "
                f"{stream.table.display} was re-created or dropped. Recreate the stream to resume reading from it."
            )
        if stream.mode != "APPEND_ONLY":
            raise translate.unsupported(f"reading the {stream.mode} stream {name.display} (only append-only)")
        connection = self._open_connection()
        after = _stored_offset(connection, name) or 0
        (highest,) = _one(
            connection.execute(f"SELECT max({SEQUENCE}) FROM {translate.table_sql(stream.table)}").fetchone()
        )
        window = StreamWindow(stream.table, stream.table_id, after, max(after, highest or 0))
        self._windows[name] = window
        return window

    def stream_has_data(self, name: ObjectName) -> bool:
        window = self.stream_window(name)
        # The bound is the highest row sequence present: above the offset means that row is in the stream.
        return window.upto > window.after

    def columns(self, name: ObjectName) -> list[str]:
        parts = translate.duckdb_parts(name, temporary=name in self._temporary)
        rows = (
            self._open_connection()
            .execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
                "AND table_name = ? AND column_name <> ? ORDER BY column_index",
                [*parts, ROW_SEQUENCE_COLUMN],
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    # --- running statements ----------------------------------------------------------------------------------
    def run(self, sql: str) -> StatementResult:
        """Run one statement of Snowflake SQL; raises :class:`LocalSqlError` as Snowflake would fail."""
        if self._closed:
            raise LocalSqlError("the session is closed")
        try:
            statement = _classify(Parser(sql))
        except EmulatorError as exc:
            raise translate.error(exc) from None
        result = self._dispatch(statement, sql)
        result.query_id = str(uuid.uuid4())
        return result

    def _dispatch(self, statement: _Statement, sql: str) -> StatementResult:
        verb = statement.verb
        if verb == "BEGIN":
            return self._begin()
        if verb == "COMMIT":
            self._commit()
            return _status(STATEMENT_OK)
        if verb == "ROLLBACK":
            self._rollback()
            return _status(STATEMENT_OK)
        if verb == "CATALOG":
            return self._catalog(sql)
        if verb == "DDL":
            return self._ddl(statement, sql)
        if verb == "DATA":
            return self._data(translate.parse(sql))
        handler = self.engine.handlers.get(statement.first)
        if handler is not None:
            return handler(self, sql)
        if statement.first == "EXECUTE":
            # Without a task runner registered, EXECUTE TASK only records the request in the catalog.
            return self._catalog(sql, changes=True)
        raise translate.unsupported(f"the statement {statement.first}")

    def catalog_query(self, sql: str) -> list[dict[str, Any]]:
        """A read the catalog answers (SHOW, DESC, INFORMATION_SCHEMA), rows as the emulated account gives them."""
        try:
            return self.engine.account.execute(sql, self.context)
        except EmulatorError as exc:
            raise translate.error(exc) from None

    def _catalog(self, sql: str, *, changes: bool = False) -> StatementResult:
        if not changes:
            return _rows(self.catalog_query(sql))
        with self._statement_lock():
            rows = self.catalog_query(sql)
            self.engine.save_catalog()
        return _rows(rows)

    # --- transactions ----------------------------------------------------------------------------------------
    def _begin(self) -> StatementResult:
        if self._explicit:
            # Snowflake has no nested transactions: BEGIN inside one changes nothing.
            return _status(STATEMENT_OK)
        connection = self._open_connection()
        connection.execute("BEGIN")
        # DuckDB starts a database's snapshot when the transaction first touches it: touch them all now, so the
        # transaction reads the data as of BEGIN, as Snowflake's repeatable read does.
        databases = self.engine.warehouse.databases()
        if databases:
            connection.execute(f"SELECT 1 FROM {', '.join(stream_offsets(d) for d in databases)} LIMIT 0").fetchall()
        self._explicit = True
        return _status(STATEMENT_OK)

    def _commit(self) -> None:
        if not self._explicit:
            return
        if self._aborted:
            self._rollback()
            raise LocalSqlError(
                "000603 (XX000): SQL execution error: the transaction was rolled back: a statement in it failed "
                "(the local target cannot commit part of a transaction)."
            )
        self._finish(self._open_connection())

    def _rollback(self) -> None:
        if self._explicit and self._connection is not None:
            self._connection.execute("ROLLBACK")
        self._reset()

    def _finish(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Store the offsets of the streams consumed, in the transaction, then commit it."""
        try:
            for stream, offset in self._consumed.items():
                _store_offset(connection, stream, offset)
            connection.execute("COMMIT")
        except duckdb.Error as exc:
            _quiet_rollback(connection)
            raise _duckdb_error(exc) from None
        finally:
            self._reset()

    def _reset(self) -> None:
        self._explicit = self._aborted = False
        self._windows.clear()
        self._consumed.clear()
        if self._locked:
            self._locked = False
            self.engine.warehouse.write_lock.release()

    def _implicit_commit(self) -> None:
        """DDL commits the open transaction before it runs (Snowflake reference §0.3)."""
        self._commit()

    def _lock(self) -> None:
        if self._locked:
            return
        if not self.engine.warehouse.write_lock.acquire(timeout=self.engine.lock_timeout):
            raise LocalSqlError(
                f"000625 (57014): Statement reached its lock timeout of {self.engine.lock_timeout:g} second(s) "
                "waiting for another transaction to commit and was canceled."
            )
        self._locked = True

    @contextlib.contextmanager
    def _statement_lock(self) -> Iterator[None]:
        """The write lock for one statement (unless the transaction already holds it)."""
        held = self._locked
        self._lock()
        try:
            yield
        finally:
            if not held and self._locked:
                self._locked = False
                self.engine.warehouse.write_lock.release()

    # --- queries and DML -------------------------------------------------------------------------------------
    def _data(self, statement: exp.Expr) -> StatementResult:
        if self._aborted:
            raise LocalSqlError(
                "000603 (XX000): SQL execution error: the current transaction is aborted by a failed statement; "
                "only ROLLBACK can follow."
            )
        writes = not isinstance(statement, exp.Query)
        if writes:
            self._lock()
        autocommit = not self._explicit
        connection = self._open_connection()
        if autocommit:
            connection.execute("BEGIN")
        executed = False
        try:
            translation = translate.translate(statement, self, now=datetime.now(UTC))
            executed = True
            result = self._execute(connection, translation)
            if translation.kind is not StatementKind.QUERY:
                # A DML statement consumes every stream it read, as of the transaction's bound.
                self._consumed.update({s: self._windows[s].upto for s in translation.streams})
        except BaseException as exc:
            if autocommit:
                _quiet_rollback(connection)
                self._reset()
            elif executed or isinstance(exc, duckdb.Error):
                # DuckDB cannot undo one statement of a transaction: the whole transaction must go.
                self._aborted = True
            if isinstance(exc, duckdb.Error):
                raise _duckdb_error(exc) from None
            raise
        if autocommit:
            self._finish(connection)
        return result

    def _execute(self, connection: duckdb.DuckDBPyConnection, translation: Translation) -> StatementResult:
        if translation.kind is StatementKind.MERGE:
            return _merge(connection, translation)
        cursor = connection.execute(translation.sql)
        if translation.kind is StatementKind.QUERY:
            return StatementResult(columns=[d[0] for d in cursor.description or []], rows=cursor.fetchall())
        counted = cursor.fetchone() if translation.kind in DML_KINDS else None
        for followup in translation.followups:
            connection.execute(followup)
        count = int(counted[0]) if counted else 0
        if translation.kind is StatementKind.INSERT:
            return StatementResult(["number of rows inserted"], [(count,)], rows_inserted=count)
        if translation.kind is StatementKind.UPDATE:
            return StatementResult(
                ["number of rows updated", "number of multi-joined rows updated"], [(count, 0)], rows_updated=count
            )
        if translation.kind is StatementKind.DELETE:
            return StatementResult(["number of rows deleted"], [(count,)], rows_deleted=count)
        assert translation.target is not None
        return _status(f"Table {translation.target.name} successfully created.")

    # --- DDL -------------------------------------------------------------------------------------------------
    def _ddl(self, statement: _Statement, sql: str) -> StatementResult:
        self._implicit_commit()
        if statement.temporary and statement.name is not None:
            return self._temporary_ddl(statement, sql, self._qualified(statement.name))
        target = self._target(statement)
        if target is not None and target.kind == "TABLE" and target.object_name in self._temporary:
            # A session's temporary table shadows a permanent one of the same name.
            if statement.first == "DROP":
                return self._temporary_ddl(statement, sql, target.object_name)
            raise translate.unsupported(f"{statement.first} TABLE on the temporary table {target.object_name.display}")
        with self._statement_lock():
            before = _catalog_entry(self.engine.account, target) if target else None
            # ALTER changes a table's record in place: keep a copy to replay the difference (and to put back).
            before = copy.deepcopy(before) if isinstance(before, Table) else before
            offset_from = self._offset_source(statement)
            context = (self.context.database, self.context.schema)
            rows = self.catalog_query(sql)
            if target is not None:
                try:
                    self._mirror(target, before, sql, offset_from)
                except (LocalSqlError, duckdb.Error) as exc:
                    _restore_entry(self.engine.account, target, before)
                    self.context.database, self.context.schema = context
                    raise _duckdb_error(exc) if isinstance(exc, duckdb.Error) else exc from None
            self.engine.save_catalog()
        return _rows(rows)

    def _qualified(self, raw: RawName) -> ObjectName:
        return translate.qualify(raw.parts, self, "CREATE TABLE")

    def _target(self, statement: _Statement) -> _Target | None:
        """The mirrored object a DDL statement names, qualified with the session's current database and schema
        as they are before it runs (CREATE DATABASE / SCHEMA change them); None when nothing is mirrored or the
        name cannot be qualified (the catalog then reports why)."""
        if statement.kind not in _MIRRORED or statement.name is None:
            return None
        parts = statement.name.parts
        if statement.kind == "DATABASE":
            return _Target("DATABASE", parts) if len(parts) == 1 else None
        if statement.kind == "SCHEMA":
            if len(parts) == 1 and self.context.database is not None:
                parts = (self.context.database, *parts)
            return _Target("SCHEMA", parts) if len(parts) == 2 else None
        try:
            name = self._qualified(statement.name)
        except LocalSqlError:
            return None
        return _Target(statement.kind, (name.database, name.schema, name.name))

    def _offset_source(self, statement: _Statement) -> int | None:
        """``AT(STREAM => 'name')``: that stream's offset, read before the statement replaces it."""
        if statement.offset_from is None:
            return None
        try:
            name = translate.qualify(parse_name_text(statement.offset_from).parts, self, "CREATE STREAM")
        except (EmulatorError, LocalSqlError):
            return None  # the catalog reports the bad name
        if not self.engine.warehouse.has_database(name.database):
            return None
        return _stored_offset(self._open_connection(), name) or 0

    def _mirror(self, target: _Target, before: Any, sql: str, offset_from: int | None) -> None:
        after = _catalog_entry(self.engine.account, target)
        if before is not None and after is not None and before.id == after.id:
            if target.kind == "TABLE":
                statements = translate.alter_table_statements(target.object_name, before, after)
                self._in_duckdb_transaction(lambda connection: _run_all(connection, statements))
            return
        if target.kind == "DATABASE":
            self._mirror_database(target.parts[0], after)
            return
        self._in_duckdb_transaction(lambda connection: self._mirror_object(connection, target, after, sql, offset_from))

    def _mirror_database(self, name: str, after: Database | None) -> None:
        warehouse = self.engine.warehouse
        if after is None:
            warehouse.drop_database(name)
            return
        # Created or replaced: a new, empty file (replace also clears a file the catalog no longer knew).
        warehouse.create_database(name, replace=True)
        statements = [f"CREATE SCHEMA {quote(name)}.{quote(schema)}" for schema in after.schemas]
        self._in_duckdb_transaction(lambda connection: _run_all(connection, statements))

    def _mirror_object(
        self, connection: duckdb.DuckDBPyConnection, target: _Target, after: Any, sql: str, offset_from: int | None
    ) -> None:
        if target.kind == "SCHEMA":
            database, schema = target.parts
            qualified = f"{quote(database)}.{quote(schema)}"
            connection.execute(f"DROP SCHEMA IF EXISTS {qualified} CASCADE")
            connection.execute(f"DELETE FROM {stream_offsets(database)} WHERE SCHEMA_NAME = ?", [schema])
            if after is not None:
                connection.execute(f"CREATE SCHEMA {qualified}")
            return
        name = target.object_name
        if target.kind == "STREAM":
            _delete_offset(connection, name)
            if after is not None:
                _store_offset(connection, name, self._initial_offset(connection, after, offset_from))
            return
        if after is None:
            connection.execute(f"DROP {target.kind} IF EXISTS {translate.table_sql(name)}")
            return
        # Created or replaced: CREATE OR REPLACE (replacing drops the rows, as Snowflake does).
        statement = translate.parse(sql)
        statement.set("replace", True)
        statement.set("exists", False)
        translation = translate.translate(statement, self)
        _run_all(connection, [translation.sql, *translation.followups])

    @staticmethod
    def _initial_offset(connection: duckdb.DuckDBPyConnection, stream: Stream, offset_from: int | None) -> int:
        """A new stream starts at ``AT(STREAM => ...)``'s offset, at the table's first row with SHOW_INITIAL_ROWS,
        else at "now": after every row already in the table (reference §7.1)."""
        if offset_from is not None:
            return offset_from
        if stream.show_initial_rows:
            return 0
        query = f"SELECT coalesce(max({SEQUENCE}), 0) FROM {translate.table_sql(stream.table)}"
        return int(_one(connection.execute(query).fetchone())[0])

    def _temporary_ddl(self, statement: _Statement, sql: str, name: ObjectName) -> StatementResult:
        connection = self._open_connection()
        if statement.first == "DROP":
            connection.execute(f"DROP TABLE IF EXISTS {translate.temporary_table_sql(name)}")
            self._temporary.discard(name)
            return _status(f"{name.name} successfully dropped.")
        if self.engine.schema_record(name.database, name.schema) is None:
            raise translate.error(does_not_exist(f"{name.database}.{name.schema}"))
        parsed = translate.parse(sql)
        if name in self._temporary and not (parsed.args.get("replace") or parsed.args.get("exists")):
            raise translate.error(already_exists(name.name))
        result = self._data(parsed)
        self._temporary.add(name)
        return result

    def _in_duckdb_transaction(self, work: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        connection = self._open_connection()
        connection.execute("BEGIN")
        try:
            work(connection)
        except BaseException:
            _quiet_rollback(connection)
            raise
        connection.execute("COMMIT")

    # --- lifecycle -------------------------------------------------------------------------------------------
    def _open_connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            self._connection = self.engine.warehouse.connect()
        return self._connection

    def close(self) -> None:
        """End the session: an open transaction is rolled back, temporary tables are dropped."""
        if self._closed:
            return
        self._closed = True
        if self._connection is not None:
            if self._explicit:
                _quiet_rollback(self._connection)
            self._connection.close()
            self._connection = None
        self._reset()
        self._temporary.clear()


# --- classification ------------------------------------------------------------------------------------------


def _classify(p: Parser) -> _Statement:
    first = p.peek()
    word = first.value.upper()
    ends_after_one = _ends(p, 1)
    if first.is_keyword("BEGIN") and (p.peek(1).is_keyword("TRANSACTION", "WORK", "NAME") or ends_after_one):
        return _Statement("BEGIN", word)
    if first.is_keyword("START") and p.peek(1).is_keyword("TRANSACTION"):
        return _Statement("BEGIN", word)
    if first.is_keyword("COMMIT", "ROLLBACK") and (p.peek(1).is_keyword("WORK") or ends_after_one):
        return _Statement(word, word)
    if first.is_keyword(*_CATALOG_VERBS) or (first.is_keyword("ALTER") and p.peek(1).is_keyword("SESSION")):
        return _Statement("CATALOG", word)
    if first.is_keyword("CREATE", "ALTER", "DROP", "UNDROP"):
        return _ddl_statement(p)
    if first.is_keyword(*_DATA_VERBS) or first.is_punct("("):
        # The catalog answers reads of INFORMATION_SCHEMA and SYSTEM$PIPE_STATUS (pipes are catalog objects).
        if any(t.is_keyword("INFORMATION_SCHEMA", "SYSTEM$PIPE_STATUS") for t in p.tokens):
            return _Statement("CATALOG", word)
        return _Statement("DATA", word)
    return _Statement("OTHER", word)


def _ends(p: Parser, ahead: int) -> bool:
    token = p.peek(ahead)
    return token.is_punct(";") or token.kind is TokenKind.EOF


def _ddl_statement(p: Parser) -> _Statement:
    verb = p.next().value
    p.accept_keywords("OR", "REPLACE")
    p.accept_keywords("OR", "ALTER")
    modifiers: set[str] = set()
    while word := p.accept_keyword(*_MODIFIERS):
        modifiers.add(word)
    if not p.peek().is_name:
        return _Statement("DDL", verb)
    kind = p.next().value
    if kind in _TWO_WORD_KINDS and p.at_keyword(_TWO_WORD_KINDS[kind]):
        kind = f"{kind} {p.next().value}"
    p.accept_keywords("IF", "NOT", "EXISTS")
    p.accept_keywords("IF", "EXISTS")
    name = p.expect_name() if p.peek().is_name else None
    offset_from = None
    tokens = p.tokens
    for index in range(p.pos, len(tokens) - 4):
        if (
            tokens[index].is_keyword("AT", "BEFORE")
            and tokens[index + 1].is_punct("(")
            and tokens[index + 2].is_keyword("STREAM")
            and tokens[index + 3].is_punct("=>")
            and tokens[index + 4].kind is TokenKind.STRING
        ):
            offset_from = tokens[index + 4].value
    return _Statement(
        "DDL",
        verb,
        kind=kind,
        name=name,
        temporary=verb == "CREATE" and bool(modifiers & _TEMPORARY),
        offset_from=offset_from,
    )


# --- helpers -------------------------------------------------------------------------------------------------


def _collection(account: Account, target: _Target) -> dict[str, Any] | None:
    """The catalog dict that holds ``target`` (None when its database or schema is missing)."""
    catalog = account.catalog
    if target.kind == "DATABASE":
        return catalog.databases
    database = catalog.databases.get(target.parts[0])
    if database is None:
        return None
    if target.kind == "SCHEMA":
        return database.schemas
    schema = database.schemas.get(target.parts[1])
    collection: dict[str, Any] | None = getattr(schema, _COLLECTIONS[target.kind]) if schema else None
    return collection


def _catalog_entry(account: Account, target: _Target) -> Any:
    collection = _collection(account, target)
    return collection.get(target.parts[-1]) if collection is not None else None


def _restore_entry(account: Account, target: _Target, before: Any) -> None:
    """Put back what the catalog held for ``target`` before a statement whose mirror failed."""
    collection = _collection(account, target)
    if collection is None:
        return
    if before is None:
        collection.pop(target.parts[-1], None)
    else:
        collection[target.parts[-1]] = before


def _status(message: str) -> StatementResult:
    return StatementResult(columns=["status"], rows=[(message,)])


def _rows(rows: list[dict[str, Any]]) -> StatementResult:
    return StatementResult(columns=list(rows[0]) if rows else [], rows=[tuple(row.values()) for row in rows])


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row of a query that always returns one (an aggregate without GROUP BY)."""
    assert row is not None
    return tuple(row)


def _run_all(connection: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    for statement in statements:
        connection.execute(statement)


def _quiet_rollback(connection: duckdb.DuckDBPyConnection) -> None:
    # Nothing may be open any more: DuckDB rolls an autocommit statement back itself when it fails.
    with contextlib.suppress(duckdb.Error):
        connection.execute("ROLLBACK")


def _stored_offset(connection: duckdb.DuckDBPyConnection, stream: ObjectName) -> int | None:
    row = connection.execute(
        f"SELECT ROW_SEQUENCE FROM {stream_offsets(stream.database)} WHERE SCHEMA_NAME = ? AND STREAM_NAME = ?",
        [stream.schema, stream.name],
    ).fetchone()
    return int(row[0]) if row else None


def _delete_offset(connection: duckdb.DuckDBPyConnection, stream: ObjectName) -> None:
    connection.execute(
        f"DELETE FROM {stream_offsets(stream.database)} WHERE SCHEMA_NAME = ? AND STREAM_NAME = ?",
        [stream.schema, stream.name],
    )


def _store_offset(connection: duckdb.DuckDBPyConnection, stream: ObjectName, offset: int) -> None:
    _delete_offset(connection, stream)
    connection.execute(
        f"INSERT INTO {stream_offsets(stream.database)} VALUES (?, ?, ?)", [stream.schema, stream.name, offset]
    )


def _merge(connection: duckdb.DuckDBPyConnection, translation: Translation) -> StatementResult:
    """Run a MERGE and count what each clause did.

    Snowflake refuses a MERGE that updates or deletes one target row for several source rows
    (ERROR_ON_NONDETERMINISTIC_MERGE, default TRUE); DuckDB applies them all, so the (target row, source row) pairs
    its matched clauses would act on are counted first (no target rows: no pairs).

    The counts come from DuckDB's total and the target's row count before and after (and, for a MERGE that
    numbered its inserts, the rows in that block of sequences), not from RETURNING: a MERGE with RETURNING keeps
    every inserted row in transaction-local storage, written again at COMMIT (~0.7 s per million rows). Only a MERGE
    that may insert, update and delete and did not number its inserts asks RETURNING.
    """
    assert translation.target is not None
    target = _target_sql(translation)
    before = _count(connection, f"SELECT count(*) FROM {target}")
    if translation.duplicate_check and before and _count(connection, translation.duplicate_check):
        raise LocalSqlError("100090 (42P18): Duplicate row detected during DML action")
    sql, block = _block_sequence(connection, translation, empty=not before)
    actions = translation.merge_actions
    if block is None and {"INSERT", "UPDATE", "DELETE"} <= actions:
        counted = ", ".join(f"count(*) FILTER (WHERE merge_action = '{action}')" for action in _MERGE_ACTIONS)
        relation = connection.sql(f"{sql} RETURNING merge_action")
        inserted, updated, deleted = (int(value) for value in _one(relation.aggregate(counted).fetchall()[0]))
    else:
        total = int(_one(connection.execute(sql).fetchall()[0])[0])
        grown = _count(connection, f"SELECT count(*) FROM {target}") - before
        if block is not None:
            low, high = block
            inserted, beyond = _one(
                connection.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE {SEQUENCE} > {high}) FROM {target} "
                    f"WHERE {SEQUENCE} >= {low}"
                ).fetchall()[0]
            )
            if beyond:
                # The source returned more rows than it counted (a nondeterministic query): the block was too small.
                raise LocalSqlError(
                    "SQL execution error: the MERGE's source returned more rows than counted just before; "
                    "its rows were not merged"
                )
        elif "INSERT" not in actions:
            inserted = 0
        elif "DELETE" not in actions:
            inserted = grown
        else:  # inserts and deletes: inserted + deleted = total, inserted - deleted = grown
            inserted = (total + grown) // 2
        deleted = inserted - grown
        updated = total - inserted - deleted
    shown = [
        (label, count)
        for action, label, count in zip(_MERGE_ACTIONS, _MERGE_LABELS, (inserted, updated, deleted), strict=True)
        if action in actions
    ]
    return StatementResult(
        columns=[label for label, _ in shown],
        rows=[tuple(count for _, count in shown)],
        rows_inserted=inserted,
        rows_updated=updated,
        rows_deleted=deleted,
    )


_MERGE_ACTIONS = ("INSERT", "UPDATE", "DELETE")
_MERGE_LABELS = ("number of rows inserted", "number of rows updated", "number of rows deleted")


def _target_sql(translation: Translation) -> str:
    assert translation.target is not None
    if translation.temporary:
        return translate.temporary_table_sql(translation.target)
    return translate.table_sql(translation.target)


def _count(connection: duckdb.DuckDBPyConnection, query: str) -> int:
    """The single number a query returns (0 for NULL)."""
    return int(_one(connection.execute(query).fetchall()[0])[0] or 0)


def _block_sequence(
    connection: duckdb.DuckDBPyConnection, translation: Translation, *, empty: bool
) -> tuple[str, tuple[int, int] | None]:
    """The MERGE to run (into an ``empty`` target, as an INSERT where it can) and the block of row sequences its
    inserts take, lowest and highest (None: they draw the default).

    When the MERGE has its explicit-sequence form, as many sequence values as it has source rows are drawn as one
    block first (one statement; the write lock keeps other writers out), and the inserted rows take
    ``block start + their source row's number``: unique, above every committed row, without a per-row nextval.
    """
    if translation.block_sql is None or translation.block_count is None or translation.target is None:
        return translation.sql, None
    count = _count(connection, translation.block_count)
    if not count:
        return translation.sql, None
    sequence = row_sequence(translation.target.database)
    low, high = _one(
        connection.execute(
            f"SELECT min(v), max(v) FROM (SELECT nextval('{sequence}') AS v FROM range({count}))"
        ).fetchall()[0]
    )
    if high - low + 1 != count:
        return translation.sql, None
    sql = translation.empty_target_sql if empty and translation.empty_target_sql else translation.block_sql
    return sql.replace(translate.BLOCK_START, str(int(low) - 1)), (int(low), int(high))


def _duckdb_error(exc: duckdb.Error) -> LocalSqlError:
    """A DuckDB failure, worded like Snowflake's error where one corresponds."""
    message = str(exc).split("\n", 1)[0]
    if isinstance(exc, duckdb.ConstraintException) and "NOT NULL" in message:
        return LocalSqlError("100072 (22000): NULL result in a non-nullable column")
    if isinstance(exc, duckdb.ConversionException):
        return LocalSqlError(f"100038 (22018): {message}")
    if isinstance(exc, duckdb.CatalogException):
        return LocalSqlError(f"002003 (02000): SQL compilation error: {message}")
    if isinstance(exc, duckdb.BinderException):
        return LocalSqlError(f"000904 (42000): SQL compilation error: {message}")
    if isinstance(exc, duckdb.ParserException):
        return LocalSqlError(f"001003 (42000): SQL compilation error: {message}")
    if isinstance(exc, duckdb.InvalidInputException) and translate.DIVISION_BY_ZERO in message:
        return LocalSqlError(translate.DIVISION_BY_ZERO)
    if "Attempting to write to database" in message:
        return LocalSqlError(
            f"SQL execution error: {message} (on the local target a transaction writes one database: the stream "
            "offsets a DML consumes live in the stream's database)"
        )
    return LocalSqlError(f"SQL execution error: {message}")
