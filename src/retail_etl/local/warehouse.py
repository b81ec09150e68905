"""The local target's data: one DuckDB file per Snowflake database, under ``<root>/warehouse/<DATABASE>.duckdb``.

Every database file is ATTACHed under the database's own name, so Snowflake's three-part names
(``DB.SCHEMA.TABLE``) resolve natively. Each file also holds the internal schema :data:`INTERNAL_SCHEMA` with the
runtime's state for that database: the stream offsets (``STREAM_OFFSETS``) and the sequence that numbers every row
appended to a table (:data:`ROW_SEQUENCE_COLUMN`). DuckDB lets one transaction write to only one attached file,
which is why a stream's offset lives in the same file as the tables its consuming DML writes.

One process holds one DuckDB instance per warehouse directory, shared by every :class:`Warehouse` opened on it:
DuckDB refuses to attach a file that another instance of the same process already holds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote as quote_path
from urllib.parse import unquote as unquote_path

import duckdb

from retail_etl.local.api import INTERNAL_SCHEMA, LocalSqlError

WAREHOUSE_DIRECTORY = "warehouse"
FILE_SUFFIX = ".duckdb"
# The sequence numbering appended rows (ROW_SEQUENCE_COLUMN's default) and the table of stream offsets, both in
# each database's INTERNAL_SCHEMA.
ROW_SEQUENCE = "ROW_SEQUENCE"
STREAM_OFFSETS = "STREAM_OFFSETS"
# Snowflake's default TIMEZONE parameter: CURRENT_TIMESTAMP stored into a TIMESTAMP_NTZ column is wall-clock time
# there, as in an account that never set it.
DEFAULT_TIMEZONE = "America/Los_Angeles"
# Catalog names DuckDB itself uses: a Snowflake database cannot be attached under them.
_RESERVED_DATABASES = frozenset({"MEMORY", "SYSTEM", "TEMP", "MAIN"})


def quote(identifier: str) -> str:
    """A DuckDB identifier, always double-quoted (Snowflake names may hold any character)."""
    return '"' + identifier.replace('"', '""') + '"'


def internal_schema(database: str) -> str:
    """The quoted ``"DB"."_RETAIL_ETL"`` schema where the runtime keeps its records for ``database``."""
    return f"{quote(database)}.{quote(INTERNAL_SCHEMA)}"


def internal_table(database: str, name: str) -> str:
    """The quoted name of a runtime table (or sequence) ``name`` in ``database``'s internal schema."""
    return f"{internal_schema(database)}.{quote(name)}"


def row_sequence(database: str) -> str:
    return internal_table(database, ROW_SEQUENCE)


def stream_offsets(database: str) -> str:
    """``(SCHEMA_NAME, STREAM_NAME, ROW_SEQUENCE)``: the last row sequence each stream of ``database`` consumed."""
    return internal_table(database, STREAM_OFFSETS)


def database_file(root: Path, database: str) -> Path:
    """The DuckDB file holding ``database`` in the local target folder ``root``."""
    return root / WAREHOUSE_DIRECTORY / f"{quote_path(database, safe='')}{FILE_SUFFIX}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Instance:
    """The process's DuckDB instance for one warehouse directory, with every database file attached."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Snowflake promises no row order without ORDER BY; not keeping insertion order lets DuckDB run loads,
        # windows and MERGEs in parallel, with less memory.
        self.connection = duckdb.connect(config={"preserve_insertion_order": False})
        self.users = 0
        # Guards attach / detach and handing out cursors (a DuckDB connection object is not thread-safe).
        self.lock = threading.Lock()
        # One writing transaction at a time (see Warehouse.write_lock).
        self.write_lock = threading.Lock()
        self.databases: dict[str, Path] = {}
        if directory.is_dir():
            for path in sorted(directory.glob(f"*{FILE_SUFFIX}")):
                self.attach(unquote_path(path.name[: -len(FILE_SUFFIX)]), path)

    def attach(self, name: str, path: Path) -> None:
        try:
            self.connection.execute(f"ATTACH {_literal(str(path))} AS {quote(name)}")
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            # DuckDB lets one process at a time open a database file for writing.
            holder = str(exc).split("Conflicting lock is held in", 1)[-1].split("\n", 1)[0].strip()
            raise LocalSqlError(
                f"the local target is in use by another process ({holder}): {path} can be opened by one "
                "retail-etl command at a time; run this one when the other has finished"
            ) from None
        self.databases[name] = path


_INSTANCES: dict[Path, _Instance] = {}
_INSTANCES_LOCK = threading.Lock()


class Warehouse:
    """The DuckDB side of the local target under ``root`` (the target folder, ``.retail-etl/`` by default).

    Nothing is opened until first used: ``plan`` reads only the catalog and never touches DuckDB.
    """

    def __init__(self, root: Path, *, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.root = root
        self.directory = root / WAREHOUSE_DIRECTORY
        self.timezone = timezone
        self._instance: _Instance | None = None

    def _open(self) -> _Instance:
        if self._instance is None:
            key = self.directory.resolve()
            with _INSTANCES_LOCK:
                instance = _INSTANCES.get(key)
                if instance is None:
                    instance = _INSTANCES[key] = _Instance(key)
                instance.users += 1
            self._instance = instance
        return self._instance

    @property
    def write_lock(self) -> threading.Lock:
        """Held by a transaction from its first write to its end, and by anything else that appends rows to a
        table (take it around the whole transaction, e.g. ``with warehouse.write_lock:``).

        Streams read "rows whose sequence is above the offset", which is only right if rows commit in sequence
        order: with one writer at a time, a reader never sees a later row committed before an earlier one. It also
        stands in for Snowflake's table locks (concurrent DML on one table waits instead of conflicting). It belongs
        to a transaction, not a thread: a second session writing on the same thread waits like any other.
        """
        return self._open().write_lock

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection on the warehouse: its own transactions and temporary objects, every database
        attached, the session time zone set (TIMESTAMPTZ to TIMESTAMP conversions use it). The caller closes it."""
        instance = self._open()
        with instance.lock:
            connection = instance.connection.cursor()
        connection.execute(f"SET TimeZone = {_literal(self.timezone)}")
        return connection

    def open(self) -> None:
        """Attach every database file now (it is otherwise done on first use): a file another process holds
        fails here, with a clear :class:`LocalSqlError`."""
        self._open()

    def databases(self) -> list[str]:
        return sorted(self._open().databases)

    def has_database(self, name: str) -> bool:
        return name in self._open().databases

    def create_database(self, name: str, *, replace: bool = False) -> None:
        """A new, empty database file with its internal schema; ``replace`` drops an existing one first."""
        if name.upper() in _RESERVED_DATABASES:
            raise LocalSqlError(f"the local target cannot hold a database named {name!r} (a DuckDB catalog name)")
        instance = self._open()
        clash = next((d for d in instance.databases if d.upper() == name.upper() and d != name), None)
        if clash is not None:
            # DuckDB catalog names are case-insensitive; Snowflake's quoted names are not.
            raise LocalSqlError(f"the local target cannot hold both databases {clash!r} and {name!r}")
        if replace:
            self.drop_database(name)
        path = database_file(self.root, name)
        with instance.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            instance.attach(name, path)
            connection = instance.connection
            connection.execute("BEGIN")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {internal_schema(name)}")
            connection.execute(f"CREATE SEQUENCE IF NOT EXISTS {row_sequence(name)}")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {stream_offsets(name)} "
                "(SCHEMA_NAME VARCHAR NOT NULL, STREAM_NAME VARCHAR NOT NULL, ROW_SEQUENCE BIGINT NOT NULL)"
            )
            connection.execute("COMMIT")

    def drop_database(self, name: str) -> None:
        instance = self._open()
        with instance.lock:
            path = instance.databases.pop(name, None)
            if path is None:
                return
            instance.connection.execute(f"DETACH {quote(name)}")
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def close(self) -> None:
        """Release this handle; the shared instance closes (and checkpoints) when its last user is gone."""
        instance, self._instance = self._instance, None
        if instance is None:
            return
        with _INSTANCES_LOCK:
            instance.users -= 1
            if instance.users == 0:
                del _INSTANCES[instance.directory]
                instance.connection.close()
