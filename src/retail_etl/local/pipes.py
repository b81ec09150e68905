"""Snowpipe on the local target: each pipe's *rendered* COPY statement, evaluated on DuckDB over the local bucket.

A load reads one staged file with DuckDB's ``read_csv`` (every field as text, the file format's options mapped to
the reader's), evaluates the COPY's SELECT items and the casts to the target columns in SQL, and inserts the good
rows with one ``INSERT INTO ... SELECT``: no row ever passes through Python, so a million-row file loads in
little more than the time DuckDB alone takes to read it into a table.

Decisions (the reference's open points, settled here):

- ``METADATA$FILENAME`` is the file's path relative to the stage URL (``customers_1.csv``, ``2024/01/c.csv``):
  the docs' example shows a path relative to the stage, COPY_HISTORY's FILE_NAME is "relative path" (reference
  §5.1, §5.4, §18 item 5). The load history's FILE_NAME is the same string.
- ``METADATA$FILE_ROW_NUMBER`` counts records after the SKIP_HEADER lines: the first data record is 1. It counts
  records, not lines (a quoted field spanning lines is one record). FIRST_ERROR_LINE_NUMBER is a line of the file,
  SKIP_HEADER + the record number, exact unless an earlier record spans lines.
- A path is loaded at most once per pipe, whatever the outcome: a file whose content changed after its load is
  never reloaded (reference §12.1), and a failed file is not retried either; re-stage it under a new name. The
  history is keyed by the pipe's name, so it survives a re-created pipe: Snowflake drops the history then, but
  its new pipe never sees the old files either (no new S3 event arrives), so nothing is reloaded in both cases.
- Pending files are every file under the stage that the history does not know, as after an
  ``ALTER PIPE ... REFRESH``: the local bucket has no event queue, so a file staged before the pipe was created
  is loaded too. Only AUTO_INGEST pipes load on their own (:func:`load_all_pipes`); :func:`load_pending` loads
  any pipe, as the Snowpipe REST API would.
- The history lives in the *target table's* database (schema INTERNAL_SCHEMA), so the rows and their history
  record commit together: a DuckDB transaction writes to one attached database.
- Statuses are COPY_HISTORY's: ``Loaded``, ``Partially loaded`` (CONTINUE or SKIP_FILE_<n> below the limit),
  ``Load failed`` (skipped by ON_ERROR, every row rejected, or the file unreadable). ``Load skipped`` is never
  written: the docs do not say when Snowflake uses it.
- ``CURRENT_TIMESTAMP`` and ``METADATA$START_SCAN_TIME`` are the load time, one value per file (``now`` when
  given). They are TIMESTAMP_LTZ: stored into a TIMESTAMP_NTZ column they become wall-clock time in the DuckDB
  connection's TimeZone, which stands for the account's TIMEZONE parameter.
- A failed file sends Snowflake's INGEST_FAILED_FILE message (reference §12.3) to the pipe's ERROR_INTEGRATION,
  recorded in INTERNAL_SCHEMA, only when ON_ERROR is SKIP_FILE or SKIP_FILE_<n>[%] (Snowpipe sends none with
  CONTINUE) and the integration exists and is enabled. ``stageLocation`` is the stage URL without its trailing
  ``/`` and ``fileName`` the relative path after a ``/``, so that together they spell the file's URL, as in the
  documented example.

Limits: ESCAPE_UNENCLOSED_FIELD is not interpreted (backslashes in unenclosed fields stay as they are); blank
lines are skipped whatever SKIP_BLANK_LINES says; spaces around an enclosed field are dropped even without
TRIM_SPACE; NULL_IF does not match an enclosed value, except where it is applied after reading (with TRIM_SPACE,
and without a transformation under ERROR_ON_COLUMN_COUNT_MISMATCH, where an enclosed empty string also counts as
an empty field); a file DuckDB cannot parse at all (invalid UTF-8, a broken gzip stream) fails as a whole, where
Snowflake with CONTINUE would skip the bad records only; DATE, TIME and TIMESTAMP values are read in DuckDB's ISO
formats (only the AUTO formats are accepted); DEFLATE, RAW_DEFLATE and BROTLI compression are refused, and ZSTD
files must be UTF-8.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import json
import os
import queue
import re
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_etl.emulator import EmulatorError
from retail_etl.emulator import parser as read
from retail_etl.emulator.catalog import Catalog, Column, ObjectName, Pipe, Stage
from retail_etl.emulator.formats import format_options, read_inline_format
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser, RawName, parse_name_text
from retail_etl.local.api import INTERNAL_SCHEMA, ROW_SEQUENCE_COLUMN, LocalSqlError
from retail_etl.local.bucket import BucketError, S3Location, StagedFile, list_files
from retail_etl.local.warehouse import row_sequence

if TYPE_CHECKING:
    from retail_etl.emulator import Account

LOAD_HISTORY_TABLE = "PIPE_LOAD_HISTORY"
NOTIFICATIONS_TABLE = "PIPE_ERROR_NOTIFICATIONS"

LOADED = "Loaded"
PARTIALLY_LOADED = "Partially loaded"
LOAD_FAILED = "Load failed"

# SYSTEM$PIPE_STATUS executionState values (reference §5.4) the local target can reach.
RUNNING = "RUNNING"
PAUSED = "PAUSED"
STOPPED_STAGE_DROPPED = "STOPPED_STAGE_DROPPED"
STOPPED_MISSING_TABLE = "STOPPED_MISSING_TABLE"
STOPPED_FILE_FORMAT_DROPPED = "STOPPED_FILE_FORMAT_DROPPED"
STALLED_COMPILATION_ERROR = "STALLED_COMPILATION_ERROR"

FILENAME = "METADATA$FILENAME"
FILE_ROW_NUMBER = "METADATA$FILE_ROW_NUMBER"
FILE_LAST_MODIFIED = "METADATA$FILE_LAST_MODIFIED"
START_SCAN_TIME = "METADATA$START_SCAN_TIME"
CURRENT_TIMESTAMP = "CURRENT_TIMESTAMP"
_METADATA_COLUMNS = (FILENAME, FILE_ROW_NUMBER, FILE_LAST_MODIFIED, START_SCAN_TIME)
# CURRENT_TIMESTAMP without a precision returns TIMESTAMP_LTZ(9).
_DEFAULT_TIME_PRECISION = 9

# --- the COPY statement --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileField:
    """``$n``: the n-th field of the record, 1-based; NULL when the record has fewer fields."""

    position: int


@dataclass(frozen=True)
class LoadValue:
    """A value the load supplies: one of the METADATA$ columns, or ``CURRENT_TIMESTAMP(precision)``."""

    name: str
    precision: int = _DEFAULT_TIME_PRECISION


SelectItem = FileField | LoadValue


@dataclass(frozen=True)
class CopyStatement:
    """A pipe's ``COPY INTO`` as written: names unresolved, each part in stored form."""

    table: RawName
    columns: tuple[str, ...]  # the column list; empty: every column of the table, in order
    items: tuple[SelectItem, ...] | None  # the SELECT items of a transformation; None: none (fields in order)
    stage: RawName
    stage_path: str  # the path written after ``@stage/``, "" for none
    file_format: RawName | str | None  # FORMAT_NAME (a string when quoted); None: inline options or none
    format_options: dict[str, Any]  # inline ``FILE_FORMAT = (TYPE = CSV ...)`` options
    on_error: str  # upper-cased, as written; SKIP_FILE when absent (Snowpipe's default)
    pattern: str | None


_SUPPORTED_ITEMS = "$<n>, " + ", ".join(_METADATA_COLUMNS) + f" and {CURRENT_TIMESTAMP}[(<precision>)]"


def parse_copy(text: str) -> CopyStatement:
    """Read a pipe's COPY statement; anything the local target cannot evaluate is a :class:`LocalSqlError`."""
    try:
        return _parse_copy(Parser(text))
    except EmulatorError as error:
        raise LocalSqlError(f"cannot read the pipe's COPY statement: {error.message}") from error


def _parse_copy(p: Parser) -> CopyStatement:
    p.expect_keywords("COPY", "INTO")
    table = p.expect_name()
    columns: list[str] = []
    if p.accept_punct("("):
        columns.append(p.expect_identifier())
        while p.accept_punct(","):
            columns.append(p.expect_identifier())
        p.expect_punct(")")
    p.expect_keyword("FROM")
    items: tuple[SelectItem, ...] | None = None
    if p.accept_punct("("):
        p.expect_keyword("SELECT")
        parsed = [_select_item(p)]
        while p.accept_punct(","):
            parsed.append(_select_item(p))
        p.expect_keyword("FROM")
        stage, stage_path = _stage_reference(p)
        alias = p.expect_identifier() if p.peek().is_name else None
        p.expect_punct(")")
        qualifiers = {qualifier for qualifier, _ in parsed if qualifier is not None}
        if qualifiers - {alias}:
            raise LocalSqlError(f"invalid identifier '{sorted(qualifiers - {alias})[0]}' in the COPY transformation")
        items = tuple(item for _, item in parsed)
    else:
        stage, stage_path = _stage_reference(p)
    options = p.properties(
        {"FILE_FORMAT": read_inline_format, "ON_ERROR": read.word, "PATTERN": read.string},
        separators=True,
        other=read.raw_value,
    )
    p.expect_end()
    unsupported = sorted(set(options) - {"FILE_FORMAT", "ON_ERROR", "PATTERN"})
    if unsupported:
        raise LocalSqlError(f"copy option {unsupported[0]} is not supported by the local target")
    file_format, format_options_ = options.get("FILE_FORMAT", (None, {}))
    return CopyStatement(
        table=table,
        columns=tuple(columns),
        items=items,
        stage=stage,
        stage_path=stage_path,
        file_format=file_format,
        format_options=format_options_,
        on_error=options.get("ON_ERROR", "SKIP_FILE"),
        pattern=options.get("PATTERN"),
    )


def _select_item(p: Parser) -> tuple[str | None, SelectItem]:
    """One SELECT item and the table alias it is qualified with (``t.$1``); its own alias is ignored, since COPY
    maps items to the column list by position."""
    start = p.pos
    qualifier = None
    if p.peek().is_name and p.peek(1).is_punct("."):
        qualifier = p.next().value
        p.next()
    token = p.next()
    item: SelectItem | None = None
    if token.kind is TokenKind.VARIABLE and token.value[1:].isdigit() and int(token.value[1:]) > 0:
        item = FileField(int(token.value[1:]))
    elif token.kind is TokenKind.IDENT and token.value in _METADATA_COLUMNS:
        item = LoadValue(token.value)
    elif token.is_keyword(CURRENT_TIMESTAMP) and qualifier is None:
        precision = _DEFAULT_TIME_PRECISION
        if p.accept_punct("("):
            if not p.at_punct(")"):
                precision = p.expect_integer()
            p.expect_punct(")")
        item = LoadValue(CURRENT_TIMESTAMP, precision)
    if item is not None:
        if p.accept_keyword("AS"):
            p.expect_identifier()
        elif p.peek().is_name and not p.at_keyword("FROM"):
            p.next()
        if p.at_punct(",") or p.at_keyword("FROM"):
            return qualifier, item
    raise LocalSqlError(
        f"the local target cannot evaluate the COPY transformation item {_item_text(p, start)!r}: it evaluates "
        f"{_SUPPORTED_ITEMS}"
    )


def _item_text(p: Parser, start: int) -> str:
    """The item starting at token ``start``, as written: up to the next top-level comma or FROM."""
    depth, end = 0, start
    while end < len(p.tokens) - 1:
        token = p.tokens[end]
        if depth == 0 and (token.is_punct(",") or token.is_keyword("FROM")):
            break
        depth += 1 if token.is_punct("(") else -1 if token.is_punct(")") else 0
        end += 1
    return p.text[p.tokens[start].start : p.tokens[max(end - 1, start)].end]


def _stage_reference(p: Parser) -> tuple[RawName, str]:
    """``@name`` and the path written right after it (``@stage/2024/``), without its leading ``/``."""
    at = p.expect_punct("@")
    if p.peek().start != at.end:
        raise p.error()
    name = p.expect_name()
    start = end = p.tokens[p.pos - 1].end
    while p.peek().start == end and not p.at_end() and not p.at_punct(")", ","):
        end = p.next().end
    return name, p.text[start:end].lstrip("/")


@dataclass(frozen=True)
class OnError:
    """ON_ERROR as a threshold: a file is skipped when its error rows reach :meth:`error_limit`."""

    continue_: bool  # CONTINUE: never skip the file
    count: int | None = None  # SKIP_FILE_<n>; SKIP_FILE alone is SKIP_FILE_1
    percent: int | None = None  # 'SKIP_FILE_<n>%'

    @classmethod
    def parse(cls, text: str) -> OnError:
        match = re.fullmatch(r"CONTINUE|SKIP_FILE(?:_(\d+)(%)?)?|ABORT_STATEMENT", text)
        if match is None:
            raise LocalSqlError(f"invalid value '{text}' for copy option ON_ERROR")
        if text == "ABORT_STATEMENT":
            raise LocalSqlError("ON_ERROR = ABORT_STATEMENT is not supported for pipes")
        if text == "CONTINUE":
            return cls(continue_=True)
        number = int(match.group(1)) if match.group(1) else 1
        return cls(continue_=False, percent=number) if match.group(2) else cls(continue_=False, count=number)

    def error_limit(self, rows_parsed: int) -> int:
        """COPY_HISTORY's ERROR_LIMIT: the error count at which the file is skipped."""
        if self.continue_:
            return rows_parsed
        if self.percent is not None:
            # "Skip a file when the percentage of error rows exceeds" the number: the smallest count that does.
            return rows_parsed * self.percent // 100 + 1
        return self.count or 1

    def skips(self, errors: int, rows_parsed: int) -> bool:
        return not self.continue_ and errors > 0 and errors >= self.error_limit(rows_parsed)


# --- the file format -----------------------------------------------------------------------------------------

_DUCKDB_COMPRESSIONS = ("NONE", "GZIP", "ZSTD")
_BOOLEAN_TRUE = ("true", "t", "yes", "y", "on", "1")
_BOOLEAN_FALSE = ("false", "f", "no", "n", "off", "0")


@dataclass(frozen=True)
class CsvFormat:
    """The CSV options a load honours, checked once per pipe: what cannot be emulated is refused up front."""

    field_delimiter: str | None  # None: NONE, the whole record is one field
    new_line: str | None  # DuckDB's escaped form; None: \n, also accepting \r\n as Snowflake does
    enclosed_by: str | None
    escape: str | None
    skip_header: int
    null_if: tuple[str, ...]
    empty_field_as_null: bool
    trim_space: bool
    compression: str
    codec: str  # a Python codec name
    error_on_column_count_mismatch: bool
    replace_invalid_characters: bool

    @classmethod
    def from_options(cls, format_type: str, options: dict[str, Any]) -> CsvFormat:
        if format_type != "CSV":
            raise LocalSqlError(f"file format type {format_type} is not supported by the local target (CSV only)")
        values = format_options(format_type, options)
        if values["PARSE_HEADER"]:
            raise LocalSqlError("PARSE_HEADER = TRUE is not supported by the local target")
        if not values["MULTI_LINE"]:
            raise LocalSqlError("MULTI_LINE = FALSE is not supported by the local target")
        for option in ("DATE_FORMAT", "TIME_FORMAT", "TIMESTAMP_FORMAT"):
            if str(values[option]).upper() != "AUTO":
                raise LocalSqlError(f"{option} = '{values[option]}' is not supported by the local target (AUTO only)")
        new_lines = {"\n": None, "\r\n": None, "\r": "\\r"}
        if values["RECORD_DELIMITER"] not in new_lines:
            raise LocalSqlError(
                f"RECORD_DELIMITER = {values['RECORD_DELIMITER']!r} is not supported by the local target (new line "
                "only)"
            )
        delimiter = None if values["FIELD_DELIMITER"] == "NONE" else str(values["FIELD_DELIMITER"])
        if delimiter is not None and not 0 < len(delimiter.encode()) <= 4:
            raise LocalSqlError(f"FIELD_DELIMITER = {delimiter!r} is not supported by the local target (1 to 4 bytes)")
        compression = str(values["COMPRESSION"])
        if compression not in ("AUTO", "BZ2", *_DUCKDB_COMPRESSIONS):
            raise LocalSqlError(f"COMPRESSION = {compression} is not supported by the local target")
        encoding = str(values["ENCODING"])
        try:
            codec = codecs.lookup("utf-8" if encoding.upper() in ("UTF8", "UTF-8") else encoding).name
        except LookupError as error:
            raise LocalSqlError(f"ENCODING = '{encoding}' is not supported by the local target") from error
        if codec == "utf-8" and values["SKIP_BYTE_ORDER_MARK"]:
            codec = "utf-8-sig"
        enclosed_by, escape = values["FIELD_OPTIONALLY_ENCLOSED_BY"], values["ESCAPE"]
        return cls(
            field_delimiter=delimiter,
            new_line=new_lines[values["RECORD_DELIMITER"]],
            enclosed_by=None if enclosed_by == "NONE" else enclosed_by,
            escape=None if escape == "NONE" else escape,
            skip_header=int(values["SKIP_HEADER"]),
            null_if=tuple(values["NULL_IF"]),
            empty_field_as_null=bool(values["EMPTY_FIELD_AS_NULL"]),
            trim_space=bool(values["TRIM_SPACE"]),
            compression=compression,
            codec=codec,
            error_on_column_count_mismatch=bool(values["ERROR_ON_COLUMN_COUNT_MISMATCH"]),
            replace_invalid_characters=bool(values["REPLACE_INVALID_CHARACTERS"]),
        )


# --- resolution against the catalog --------------------------------------------------------------------------


class _PipeStoppedError(Exception):
    """The pipe cannot load: an executionState other than RUNNING."""

    def __init__(self, state: str, reason: str) -> None:
        super().__init__(reason)
        self.state = state


@dataclass(frozen=True)
class _Load:
    """Everything a pipe's loads need, resolved from the catalog once per call."""

    name: ObjectName
    pipe: Pipe
    table: ObjectName
    columns: tuple[Column, ...]
    items: tuple[SelectItem, ...]
    transformed: bool
    stage: Stage
    location: S3Location
    stage_path: str
    csv: CsvFormat
    on_error: OnError
    pattern: re.Pattern[str] | None

    @property
    def width(self) -> int:
        """How many fields each record is read into (``$n`` beyond it are NULL anyway). At least two: DuckDB keeps
        a blank line as a record when reading one column and skips it otherwise, and one rule is better."""
        return max([2, *(item.position for item in self.items if isinstance(item, FileField))])

    @property
    def checks_field_count(self) -> bool:
        # ERROR_ON_COLUMN_COUNT_MISMATCH is ignored by a COPY transformation (reference §5.1).
        return not self.transformed and self.csv.error_on_column_count_mismatch

    @property
    def read_width(self) -> int:
        """Counting fields reads records wider than the table, to tell how many extra fields a record has."""
        return self.width + _EXTRA_FIELDS if self.checks_field_count else self.width


def _find(catalog: Catalog, name: ObjectName, kind: str) -> Any:
    database = catalog.databases.get(name.database)
    schema = database.schemas.get(name.schema) if database else None
    return getattr(schema, kind).get(name.name) if schema else None


def _qualify(raw: RawName, context: ObjectName) -> ObjectName:
    """A name of the COPY, its missing parts taken from ``context``: for the table and the stage, the names the
    account bound when the pipe was created (the session's database and schema then, which the catalog keeps);
    for a FORMAT_NAME, the pipe's own."""
    parts = (context.database, context.schema)[: 3 - len(raw.parts)] + raw.parts
    return ObjectName(*parts)


def _pipe_record(catalog: Catalog, pipe_name: str) -> tuple[ObjectName, Pipe]:
    try:
        raw = parse_name_text(pipe_name)
    except EmulatorError as error:
        raise LocalSqlError(f"invalid pipe name {pipe_name!r}: {error.message}") from error
    if len(raw.parts) != 3:
        raise LocalSqlError(f"pipe name {pipe_name!r} must be fully qualified (DATABASE.SCHEMA.PIPE)")
    name = ObjectName(*raw.parts)
    pipe: Pipe | None = _find(catalog, name, "pipes")
    if pipe is None:
        raise LocalSqlError(f"SQL compilation error: Pipe '{name.display}' does not exist or not authorized.")
    return name, pipe


def _resolve(catalog: Catalog, name: ObjectName, pipe: Pipe) -> _Load:
    copy = parse_copy(pipe.definition)
    on_error = OnError.parse(copy.on_error)
    stage_name = _qualify(copy.stage, pipe.stage)
    stage: Stage | None = _find(catalog, stage_name, "stages")
    if stage is None or stage.id != pipe.stage_id:
        # A re-created stage has a new id: its pipes stop, as in Snowflake (reference §4.1).
        raise _PipeStoppedError(STOPPED_STAGE_DROPPED, f"stage {stage_name.display} was dropped or re-created")
    if stage.url is None:
        raise LocalSqlError(f"stage {stage_name.display} is internal: the local target loads from external stages")
    table_name = _qualify(copy.table, pipe.table)
    table = _find(catalog, table_name, "tables")
    if table is None:
        raise _PipeStoppedError(STOPPED_MISSING_TABLE, f"table {table_name.display} does not exist")
    columns: list[Column] = []
    for column_name in copy.columns or [column.name for column in table.columns]:
        column = table.column(column_name)
        if column is None:
            raise LocalSqlError(f"invalid identifier '{column_name}' in the COPY column list")
        columns.append(column)
    items = copy.items if copy.items is not None else tuple(FileField(i) for i in range(1, len(columns) + 1))
    if len(items) != len(columns):
        raise LocalSqlError(
            f"Insert value list does not match column list expecting {len(columns)} but got {len(items)}"
        )
    for item, column in zip(items, columns, strict=True):
        _check_loadable(column, _source_kind(item))
    try:
        location = S3Location.parse(stage.url)
    except BucketError as error:
        raise LocalSqlError(f"stage {stage_name.display}: {error}") from error
    return _Load(
        name=name,
        pipe=pipe,
        table=table_name,
        columns=tuple(columns),
        items=items,
        transformed=copy.items is not None,
        stage=stage,
        location=location,
        stage_path=copy.stage_path,
        csv=_file_format(catalog, name, copy, stage),
        on_error=on_error,
        pattern=re.compile(copy.pattern) if copy.pattern is not None else None,
    )


def _file_format(catalog: Catalog, pipe: ObjectName, copy: CopyStatement, stage: Stage) -> CsvFormat:
    """The COPY's inline options or FORMAT_NAME, else the stage's file format, else CSV's defaults."""
    if copy.format_options:
        options = dict(copy.format_options)
        return CsvFormat.from_options(options.pop("TYPE", "CSV"), options)
    if copy.file_format is not None:
        format_name = _qualify(_format_name(copy.file_format), pipe)
    elif stage.file_format_name is not None:
        format_name = stage.file_format_name
    else:
        return CsvFormat.from_options(stage.file_format_type or "CSV", stage.file_format_options)
    found = _find(catalog, format_name, "file_formats")
    if found is None:
        raise _PipeStoppedError(STOPPED_FILE_FORMAT_DROPPED, f"file format {format_name.display} does not exist")
    return CsvFormat.from_options(found.format_type, found.options)


def _format_name(named: RawName | str) -> RawName:
    """FORMAT_NAME written bare, or quoted (``'DB.SCHEMA."my format"'``)."""
    if isinstance(named, RawName):
        return named
    try:
        return parse_name_text(named)
    except EmulatorError as error:
        raise LocalSqlError(f"invalid FORMAT_NAME {named!r}: {error.message}") from error


# --- SQL building --------------------------------------------------------------------------------------------


def _literal(value: str) -> str:
    """A DuckDB string literal: quotes doubled, no backslash escapes (DuckDB's standard strings have none)."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_sql(name: ObjectName) -> str:
    return ".".join(_ident(part) for part in (name.database, name.schema, name.name))


def _source_kind(item: SelectItem) -> str:
    """What an item yields before the cast to its column: text, number, or a timestamp with or without time zone."""
    if isinstance(item, FileField) or item.name == FILENAME:
        return "text"
    if item.name == FILE_ROW_NUMBER:
        return "number"
    return "ntz" if item.name == FILE_LAST_MODIFIED else "ltz"


# Column type -> DuckDB cast target, and the source kinds each can receive.
_DUCKDB_TYPES = {
    "FLOAT": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "TIMESTAMP_LTZ": "TIMESTAMPTZ",
    "TIMESTAMP_TZ": "TIMESTAMPTZ",
}
_ACCEPTS = {
    "VARCHAR": {"text", "number", "ntz", "ltz"},
    "NUMBER": {"text", "number"},
    "FLOAT": {"text", "number"},
    "BOOLEAN": {"text"},
    "DATE": {"text", "ntz", "ltz"},
    "TIME": {"text", "ntz", "ltz"},
    "TIMESTAMP_NTZ": {"text", "ntz", "ltz"},
    "TIMESTAMP_LTZ": {"text", "ntz", "ltz"},
    "TIMESTAMP_TZ": {"text", "ntz", "ltz"},
}


def _check_loadable(column: Column, kind: str) -> None:
    """Refuse, before any file is read, a column the local target cannot fill from the item."""
    if kind not in _ACCEPTS.get(column.type.base, set()):
        raise LocalSqlError(f"the local target cannot load a {kind} value into {column.name} {column.type.text}")


def _conversion(column: Column, kind: str, source: str) -> tuple[str, str]:
    """SQL for the column's value from ``source`` and for "this row is an error" (a value that does not convert,
    a string longer than VARCHAR(n) -- Snowflake rejects it rather than truncate --, NULL in a NOT NULL column)."""
    column_type = column.type
    if column_type.base == "VARCHAR":
        value = source if kind == "text" else f"CAST({source} AS VARCHAR)"
        error = f"length({value}) > {column_type.length}"
    else:
        if column_type.base == "BOOLEAN":
            lowered = f"lower(trim({source}))"
            value = (
                f"CASE WHEN {lowered} IN ({', '.join(map(_literal, _BOOLEAN_TRUE))}) THEN TRUE "
                f"WHEN {lowered} IN ({', '.join(map(_literal, _BOOLEAN_FALSE))}) THEN FALSE END"
            )
        else:
            target = (
                f"DECIMAL({column_type.precision}, {column_type.scale})"
                if column_type.base == "NUMBER"
                else _DUCKDB_TYPES[column_type.base]
            )
            value = f"TRY_CAST({source} AS {target})"
        error = f"{source} IS NOT NULL AND {value} IS NULL"
    if not column.nullable:
        error = f"{error} OR {value} IS NULL"
    return value, f"coalesce({error}, FALSE)"


def _field_sql(position: int, csv: CsvFormat, *, sql_nulls: bool) -> str:
    """Field ``$position`` of the raw table with TRIM_SPACE, and NULL_IF where DuckDB's reader did not apply it
    (to the trimmed value). A field of spaces only stays '' after trimming: the reader has already told empty
    fields from enclosed empty strings, which the trimmed value no longer can."""
    value = f"c{position}"
    if csv.trim_space:
        value = f"trim({value}, ' \t')"
    nulls = list(csv.null_if) if sql_nulls or csv.trim_space else []
    if sql_nulls and csv.empty_field_as_null:
        nulls.append("")
    if nulls:
        return f"CASE WHEN {value} IN ({', '.join(map(_literal, nulls))}) THEN NULL ELSE {value} END"
    return value


def _timestamp_sql(moment: datetime, *, with_zone: bool, precision: int = 6) -> str:
    if precision < 6:
        step = 10 ** (6 - precision)
        moment = moment.replace(microsecond=moment.microsecond // step * step)
    utc = moment.astimezone(UTC)
    if with_zone:
        return f"TIMESTAMPTZ '{utc.isoformat(sep=' ')}'"
    return f"TIMESTAMP '{utc.replace(tzinfo=None).isoformat(sep=' ')}'"


def _item_sql(item: SelectItem, load: _Load, file: StagedFile, now: datetime, *, sql_nulls: bool) -> str:
    if isinstance(item, FileField):
        return _field_sql(item.position, load.csv, sql_nulls=sql_nulls)
    if item.name == FILENAME:
        return _literal(file.relative_path)
    if item.name == FILE_ROW_NUMBER:
        return "__rn"
    if item.name == FILE_LAST_MODIFIED:
        return _timestamp_sql(file.last_modified, with_zone=False)
    return _timestamp_sql(now, with_zone=True, precision=min(item.precision, 6))


# Without a transformation and with ERROR_ON_COLUMN_COUNT_MISMATCH, records are read this many fields wider than
# the table, to count the extra fields of a record for the error message (more are counted as this many).
_EXTRA_FIELDS = 16


# Files are read on several connections at once (each read is single-threaded: see _read_raw), so their raw tables
# live in an in-memory catalog every connection of the warehouse sees, not in one connection's temporary schema.
# Nothing in it outlives a load: each raw table is dropped once its file is committed or skipped.
_SCRATCH = "_retail_etl_pipe_scratch"


def _raw_table(raw: str) -> str:
    return f"{_ident(_SCRATCH)}.main.{_ident(raw)}"


def _attach_scratch(cursor: Any) -> None:
    cursor.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {_ident(_SCRATCH)}")


def _typed_sql(load: _Load, file: StagedFile, raw: str, now: datetime) -> str:
    """One row per record: its number, each item's source value (``__s``), the column's value (``__v``), whether
    that conversion failed (``__e``), and ``__bad`` for any error in the row."""
    count_fields = load.checks_field_count
    sources = [
        f"{_item_sql(item, load, file, now, sql_nulls=count_fields)} AS __s{index}"
        for index, item in enumerate(load.items)
    ]
    if count_fields:
        # The raw table keeps empty fields as '' (NULL_IF is applied above), so NULL is only padding: the number
        # of non-NULL columns is the number of fields.
        sources.append(" + ".join(f"(c{i} IS NOT NULL)::INTEGER" for i in range(1, load.read_width + 1)) + " AS __n")
    conversions = [
        _conversion(column, _source_kind(item), f"__s{index}")
        for index, (item, column) in enumerate(zip(load.items, load.columns, strict=True))
    ]
    values = [f"{value} AS __v{index}" for index, (value, _) in enumerate(conversions)]
    errors = [f"{error} AS __e{index}" for index, (_, error) in enumerate(conversions)]
    flags = [f"__e{index}" for index in range(len(conversions))]
    if count_fields:
        flags.append(f"__n <> {len(load.columns)}")
    return (
        f"SELECT *, ({' OR '.join(flags)}) AS __bad FROM ("
        f"SELECT *, {', '.join(values)}, {', '.join(errors)} FROM ("
        f"SELECT rowid + 1 AS __rn, {', '.join(sources)} FROM {_raw_table(raw)}))"
    )


# --- reading a file ------------------------------------------------------------------------------------------

_GLOB_CHARACTERS = re.compile(r"[*?\[\]{}]")
_COPY_CHUNK = 1 << 20


class _UnreadableFileError(Exception):
    """The file cannot be read as its format says: the whole file fails."""


def _detect_compression(path: Path) -> str:
    """COMPRESSION = AUTO: by the content's magic bytes, as the file's name may not tell."""
    with path.open("rb") as handle:
        head = handle.read(10)
    if head.startswith(b"\x1f\x8b"):
        return "GZIP"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "ZSTD"
    if re.match(rb"BZh[1-9]\x31\x41\x59\x26\x53\x59", head):
        return "BZ2"
    return "NONE"


def _open_binary(path: Path, compression: str) -> gzip.GzipFile | bz2.BZ2File | io.BufferedReader:
    if compression == "GZIP":
        return gzip.open(path, "rb")
    if compression == "BZ2":
        return bz2.open(path, "rb")
    if compression == "NONE":
        return path.open("rb")
    raise _UnreadableFileError(f"{compression}-compressed files can only be read in UTF8 by the local target")


def _prepared_source(file: StagedFile, csv: CsvFormat, workdir: Path) -> tuple[Path, str]:
    """The path DuckDB reads and the compression it decodes: the staged file itself when DuckDB can read it
    directly, else a UTF-8 copy decompressed and transcoded here (BZ2, another encoding, or replacing invalid
    characters with U+FFFD as REPLACE_INVALID_CHARACTERS asks)."""
    compression = _detect_compression(file.path) if csv.compression == "AUTO" else csv.compression
    if (
        compression in _DUCKDB_COMPRESSIONS
        and csv.codec in ("utf-8", "utf-8-sig")
        and not csv.replace_invalid_characters
    ):
        if not _GLOB_CHARACTERS.search(str(file.path)):
            return file.path, compression
        # read_csv treats * ? [ ] { } in a path as a glob pattern: read such a key through a plain name (linked
        # absolutely: a relative target would be read from the link's own folder).
        link = workdir / "source"
        os.symlink(file.path.absolute(), link)
        return link, compression
    target = workdir / "decoded.csv"
    errors = "replace" if csv.replace_invalid_characters else "strict"
    with (
        _open_binary(file.path, compression) as binary,
        io.TextIOWrapper(binary, encoding=csv.codec, errors=errors, newline="") as text,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        shutil.copyfileobj(text, out, _COPY_CHUNK)
    return target, "NONE"


def _read_raw(cursor: Any, load: _Load, file: StagedFile, raw: str, workdir: Path) -> None:
    """Materialize the file's records as text columns c1..cN; the table's rowid is the record's order."""
    csv = load.csv
    source, compression = _prepared_source(file, csv, workdir)
    # NULL_IF and EMPTY_FIELD_AS_NULL go to the reader, which alone knows whether a field was enclosed ("" is an
    # empty string, not an empty field). Counting fields needs NULL to mean "no such field", so then they are
    # applied in SQL instead, and a string no field can equal stands for "no null string".
    nulls = [] if load.checks_field_count else [*csv.null_if, *([""] if csv.empty_field_as_null else [])]
    null_sql = ", ".join(map(_literal, nulls)) if nulls else "chr(0) || 'no null string' || chr(0)"
    quote = csv.enclosed_by or ""
    options = [
        "columns = {" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, load.read_width + 1)) + "}",
        "header = false",
        "auto_detect = false",
        f"skip = {csv.skip_header}",
        f"delim = {'chr(0)' if csv.field_delimiter is None else _literal(csv.field_delimiter)}",
        f"quote = {_literal(quote)}",
        f"escape = {_literal(csv.escape or quote)}",
        f"nullstr = [{null_sql}]",
        "allow_quoted_nulls = false",
        # A record with fewer fields gets NULLs and one with more keeps its first fields, as a transformation
        # reads them; single-threaded, since padding is refused in parallel when a field spans lines.
        "null_padding = true",
        "strict_mode = false",
        "parallel = false",
        f"compression = {_literal(compression.lower())}",
    ]
    if csv.new_line is not None:
        options.append(f"new_line = {_literal(csv.new_line)}")
    cursor.execute(
        f"CREATE TABLE {_raw_table(raw)} AS SELECT * FROM read_csv({_literal(str(source))}, {', '.join(options)})"
    )


def _reader_error(error: BaseException, file: StagedFile, workdir: Path) -> tuple[str, int | None]:
    """The first error of an unreadable file, and its line when the reader says; the file named by its path in
    the stage, not by where the local bucket (or a decoded copy) happens to keep it."""
    text = re.sub(re.escape(str(workdir)) + r"/\S+", file.relative_path, str(error))
    text = text.replace(str(file.path), file.relative_path)
    line = re.search(r"Line: (\d+)", text)
    kept = [
        part.strip()
        for part in text.split("\n\n", maxsplit=1)[0].splitlines()
        if part.strip() and not part.startswith(("Original Line", "Possible"))
    ]
    message = " ".join(kept) or type(error).__name__
    return re.sub(r"^[A-Za-z ]+ Error: ", "", message), int(line.group(1)) if line else None


# --- loading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLoadResult:
    """One file's load, as COPY_HISTORY reports it (one row of the pipe's load history)."""

    pipe: str  # DATABASE.SCHEMA.PIPE
    file_name: str  # relative to the stage, as METADATA$FILENAME
    stage_location: str  # the stage URL
    table: str  # DATABASE.SCHEMA.TABLE
    status: str  # Loaded | Partially loaded | Load failed
    rows_parsed: int
    rows_loaded: int
    error_count: int
    error_limit: int
    first_error: str | None
    first_error_line: int | None
    first_error_column: str | None  # '"TABLE"["COLUMN":n]' as Snowflake names it
    file_size: int
    file_last_modified: datetime
    last_load_time: datetime


_HISTORY_COLUMNS = (
    "PIPE_NAME",
    "FILE_NAME",
    "STAGE_LOCATION",
    "TABLE_NAME",
    "STATUS",
    "ROW_PARSED",
    "ROW_COUNT",
    "ERROR_COUNT",
    "ERROR_LIMIT",
    "FIRST_ERROR_MESSAGE",
    "FIRST_ERROR_LINE_NUMBER",
    "FIRST_ERROR_COLUMN_NAME",
    "FILE_SIZE",
    "FILE_LAST_MODIFIED",
    "LAST_LOAD_TIME",
)


def _internal_table(database: str, table: str) -> str:
    return _table_sql(ObjectName(database, INTERNAL_SCHEMA, table))


def _ensure_internal_tables(cursor: Any, database: str) -> None:
    # The primary key makes "at most once per path" hold even against a concurrent loader: the second insert of
    # the same path fails and its transaction, data included, rolls back.
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(database)}.{_ident(INTERNAL_SCHEMA)}")
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_internal_table(database, LOAD_HISTORY_TABLE)} ("
        "PIPE_NAME VARCHAR NOT NULL, FILE_NAME VARCHAR NOT NULL, STAGE_LOCATION VARCHAR NOT NULL, "
        "TABLE_NAME VARCHAR NOT NULL, STATUS VARCHAR NOT NULL, ROW_PARSED BIGINT NOT NULL, "
        "ROW_COUNT BIGINT NOT NULL, ERROR_COUNT BIGINT NOT NULL, ERROR_LIMIT BIGINT NOT NULL, "
        "FIRST_ERROR_MESSAGE VARCHAR, FIRST_ERROR_LINE_NUMBER BIGINT, FIRST_ERROR_COLUMN_NAME VARCHAR, "
        "FILE_SIZE BIGINT NOT NULL, FILE_LAST_MODIFIED TIMESTAMPTZ NOT NULL, LAST_LOAD_TIME TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (PIPE_NAME, FILE_NAME))"
    )
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_internal_table(database, NOTIFICATIONS_TABLE)} ("
        "MESSAGE_ID VARCHAR PRIMARY KEY, INTEGRATION_NAME VARCHAR NOT NULL, PIPE_NAME VARCHAR NOT NULL, "
        "FILE_NAME VARCHAR NOT NULL, CREATED_ON TIMESTAMPTZ NOT NULL, MESSAGE VARCHAR NOT NULL)"
    )


def _has_internal_tables(cursor: Any, database: str) -> bool:
    found = cursor.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [database, INTERNAL_SCHEMA, LOAD_HISTORY_TABLE],
    ).fetchone()
    return bool(found[0])


@dataclass
class _Outcome:
    rows_parsed: int = 0
    error_count: int = 0
    first_error: str | None = None
    first_error_line: int | None = None
    first_error_column: str | None = None


def _evaluate(cursor: Any, load: _Load, typed: str) -> _Outcome:
    """Count the records and the error rows; describe the first error as Snowflake words it."""
    rows, errors, first = cursor.execute(
        f"WITH typed AS ({typed}) SELECT count(*), count(*) FILTER (WHERE __bad), min(__rn) FILTER (WHERE __bad) "
        "FROM typed"
    ).fetchone()
    outcome = _Outcome(rows_parsed=rows, error_count=errors)
    if not errors:
        return outcome
    count = len(load.columns)
    names = [f"__s{i}, __v{i}, __e{i}" for i in range(count)]
    row = cursor.execute(
        f"WITH typed AS ({typed}) SELECT {', '.join(names)}{', __n' if load.checks_field_count else ''} "
        f"FROM typed WHERE __rn = {int(first)}"
    ).fetchone()
    outcome.first_error_line = load.csv.skip_header + int(first)
    table = load.table.name
    if load.checks_field_count and row[3 * count] != count:
        found = row[3 * count]
        if found < count:
            outcome.first_error = (
                f'End of record reached while expected to parse column \'"{table}"["{load.columns[found].name}":'
                f"{found + 1}]'"
            )
        else:
            outcome.first_error = (
                f"Number of columns in file ({found}) does not match that of the corresponding table ({count}), use "
                "file format option error_on_column_count_mismatch=false to ignore this error"
            )
        return outcome
    index = next(i for i in range(count) if row[3 * i + 2])
    source, value = row[3 * index], row[3 * index + 1]
    column = load.columns[index]
    outcome.first_error_column = f'"{table}"["{column.name}":{index + 1}]'
    if source is not None and value is None:
        outcome.first_error = _not_recognized(column, str(source))
    elif value is None:
        outcome.first_error = "NULL result in a non-nullable column"
    else:
        outcome.first_error = f"String '{value}' is too long and would be truncated"
    return outcome


_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _not_recognized(column: Column, value: str) -> str:
    base = column.type.base
    if base == "NUMBER":
        # A well-formed number that did not convert has too many digits for the column's precision.
        problem = "is out of range" if _NUMERIC.fullmatch(value) else "is not recognized"
        return f"Numeric value '{value}' {problem}"
    if base == "FLOAT":
        return f"Numeric value '{value}' is not recognized"
    if base == "BOOLEAN":
        return f"Boolean value '{value}' is not recognized"
    if base in ("DATE", "TIME"):
        return f"{base.capitalize()} '{value}' is not recognized"
    return f"Timestamp '{value}' is not recognized"


def _notification(catalog: Catalog, load: _Load, file: StagedFile, first_error: str, now: datetime) -> dict[str, Any]:
    """Snowflake's INGEST_FAILED_FILE message, field for field (reference §12.3)."""
    utc = now.astimezone(UTC)
    return {
        "version": "1.0",
        "messageId": str(uuid.uuid4()),
        "messageType": "INGEST_FAILED_FILE",
        "timestamp": utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z",
        "accountName": catalog.account,
        "pipeName": load.name.display,
        "tableName": load.table.display,
        "stageLocation": load.location.url.rstrip("/"),
        "messages": [{"fileName": "/" + file.relative_path, "firstError": first_error}],
    }


def _notifies(catalog: Catalog, load: _Load) -> str | None:
    """The integration a failed file is reported to, if any (SKIP_FILE modes only, integration enabled)."""
    name = load.pipe.error_integration
    if name is None or load.on_error.continue_:
        return None
    integration = catalog.notification_integrations.get(name)
    return name if integration is not None and integration.enabled else None


@dataclass
class _FileRead:
    """One file read into its raw temporary table and evaluated, not yet committed."""

    file: StagedFile
    raw: str  # the temporary table of its records
    now: datetime  # its load time
    typed: str | None  # the query of its converted rows; None: the file could not be read
    outcome: _Outcome


def _read_file(cursor: Any, load: _Load, file: StagedFile, now: datetime) -> _FileRead:
    """Read the file into a raw temporary table (the caller drops it: :func:`_drop_raw`) and count its errors."""
    import duckdb

    raw = f"_retail_etl_pipe_{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix="retail-etl-pipe-") as workdir:
        try:
            _read_raw(cursor, load, file, raw, Path(workdir))
        except (
            duckdb.InvalidInputException,
            duckdb.IOException,
            OSError,
            EOFError,
            UnicodeError,
            zlib.error,
            _UnreadableFileError,
        ) as error:
            message, line = _reader_error(error, file, Path(workdir))
            return _FileRead(file, raw, now, None, _Outcome(error_count=1, first_error=message, first_error_line=line))
    typed = _typed_sql(load, file, raw, now)
    return _FileRead(file, raw, now, typed, _evaluate(cursor, load, typed))


def _drop_raw(cursor: Any, file_read: _FileRead) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {_raw_table(file_read.raw)}")


def _result(load: _Load, file_read: _FileRead) -> FileLoadResult:
    """The file's COPY_HISTORY record: whether ON_ERROR skips it, how many rows it loads."""
    outcome = file_read.outcome
    readable = file_read.typed is not None
    skipped = not readable or load.on_error.skips(outcome.error_count, outcome.rows_parsed)
    loaded = 0 if skipped else outcome.rows_parsed - outcome.error_count
    if outcome.error_count == 0 and readable:
        status = LOADED
    elif loaded == 0:
        status = LOAD_FAILED
    else:
        status = PARTIALLY_LOADED
    return FileLoadResult(
        pipe=load.name.display,
        file_name=file_read.file.relative_path,
        stage_location=load.location.url,
        table=load.table.display,
        status=status,
        rows_parsed=outcome.rows_parsed,
        rows_loaded=loaded,
        error_count=outcome.error_count,
        error_limit=load.on_error.error_limit(outcome.rows_parsed) if readable else 1,
        first_error=outcome.first_error,
        first_error_line=outcome.first_error_line,
        first_error_column=outcome.first_error_column,
        file_size=file_read.file.size,
        file_last_modified=file_read.file.last_modified,
        last_load_time=file_read.now,
    )


def _commit(
    cursor: Any, catalog: Catalog, load: _Load, reads: list[_FileRead], *, numbered: bool
) -> list[FileLoadResult]:
    """Insert the files' good rows (unless ON_ERROR skips a file), their history records and any notifications:
    one transaction, so each file is either loaded and recorded or neither.

    ``numbered``: the table's row sequence draws from its database's sequence, so the rows can take a block of it
    drawn at once (see :func:`_reserve`) instead of a nextval per row, which makes DuckDB insert on one thread.
    The rows of several files are converted into a staging table first (:func:`_stage`) and go in with one INSERT.
    """
    results = [_result(load, file_read) for file_read in reads]
    loading = [file_read for file_read, result in zip(reads, results, strict=True) if result.rows_loaded]
    database = load.table.database
    staged = _stage(cursor, load, loading) if len(loading) > 1 else None
    cursor.begin()
    try:
        start = (
            _reserve(cursor, load, sum(file_read.outcome.rows_parsed for file_read in loading)) if numbered else None
        )
        if staged is not None:
            _insert_staged(cursor, load, staged, start)
        else:
            for file_read in loading:
                _insert_rows(cursor, load, file_read, start)
                if start is not None:
                    start += file_read.outcome.rows_parsed
        history = ", ".join(f"({', '.join('?' for _ in _HISTORY_COLUMNS)})" for _ in results)
        cursor.execute(
            f"INSERT INTO {_internal_table(database, LOAD_HISTORY_TABLE)} ({', '.join(_HISTORY_COLUMNS)}) "
            f"VALUES {history}",
            [value for result in results for value in _history_values(result)],
        )
        integration = _notifies(catalog, load)
        for file_read, result in zip(reads, results, strict=True):
            if integration is not None and result.status == LOAD_FAILED:
                message = _notification(catalog, load, file_read.file, result.first_error or "", file_read.now)
                cursor.execute(
                    f"INSERT INTO {_internal_table(database, NOTIFICATIONS_TABLE)} VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        message["messageId"],
                        integration,
                        result.pipe,
                        result.file_name,
                        file_read.now,
                        json.dumps(message),
                    ],
                )
        cursor.commit()
    except Exception as error:
        cursor.rollback()
        named = reads[0].file.key if len(reads) == 1 else f"{len(reads)} files"
        raise LocalSqlError(f"loading {named} through pipe {load.name.display} failed: {error}") from error
    finally:
        if staged is not None:
            cursor.execute(f"DROP TABLE IF EXISTS {_ident(staged)}")
    return results


def _history_values(result: FileLoadResult) -> list[Any]:
    return [
        result.pipe,
        result.file_name,
        result.stage_location,
        result.table,
        result.status,
        result.rows_parsed,
        result.rows_loaded,
        result.error_count,
        result.error_limit,
        result.first_error,
        result.first_error_line,
        result.first_error_column,
        result.file_size,
        result.file_last_modified,
        result.last_load_time,
    ]


def _numbered(cursor: Any, load: _Load) -> bool:
    """Whether the table's row sequence column takes its database's sequence by default (it always does, unless
    the table was made some other way)."""
    (default,) = cursor.execute(
        "SELECT any_value(column_default) FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ? AND column_name = ?",
        [load.table.database, load.table.schema, load.table.name, ROW_SEQUENCE_COLUMN],
    ).fetchone()
    sequence = row_sequence(load.table.database).replace('"', "")
    return default is not None and default.replace('"', "") == f"nextval('{sequence}')"


def _reserve(cursor: Any, load: _Load, count: int) -> int | None:
    """Draw ``count`` values of the row sequence as one block (one statement; the write lock keeps other writers
    out) and return the first, or None when they did not come as one block."""
    if not count:
        return None
    low, high = cursor.execute(
        f"SELECT min(v), max(v) FROM (SELECT nextval({_literal(row_sequence(load.table.database))}) AS v "
        f"FROM range({int(count)}))"
    ).fetchone()
    return int(low) if high - low + 1 == count else None


# Files converted into one staging table per statement (a UNION ALL of their rows), to keep statements small.
_FILES_PER_STAGE = 100


def _stage(cursor: Any, load: _Load, loading: list[_FileRead]) -> str:
    """Convert the good rows of several files into one in-memory table, before the batch's transaction, and return
    its name: inserting it with one statement writes the landing table's row groups as one large insert does, where
    one INSERT per small file costs about 1.5 times as much per row. Each row keeps its position in the batch's
    block of row sequences (``__position``, from 1): the files' parts in the batch's order, each file's records in
    order, as :func:`_insert_rows` numbers them one by one."""
    staged = f"_retail_etl_stage_{uuid.uuid4().hex}"
    values = ", ".join(f"__v{index}" for index in range(len(load.columns)))
    before = 0
    selects: list[str] = []
    for file_read in loading:
        where = " WHERE NOT __bad" if file_read.outcome.error_count else ""
        selects.append(f"SELECT {values}, __rn + {before} AS __position FROM ({file_read.typed}){where}")
        before += file_read.outcome.rows_parsed
    try:
        for first in range(0, len(selects), _FILES_PER_STAGE):
            union = " UNION ALL ".join(selects[first : first + _FILES_PER_STAGE])
            verb = f"CREATE TEMP TABLE {_ident(staged)} AS" if first == 0 else f"INSERT INTO {_ident(staged)}"
            cursor.execute(f"{verb} {union}")
    except Exception as error:
        cursor.execute(f"DROP TABLE IF EXISTS {_ident(staged)}")
        raise LocalSqlError(f"loading {len(loading)} files through pipe {load.name.display} failed: {error}") from error
    return staged


def _insert_staged(cursor: Any, load: _Load, staged: str, start: int | None) -> None:
    """Append the staged rows (see :func:`_stage`); with a block of row sequences from ``start``, position p takes
    ``start + p - 1``."""
    columns = ", ".join(_ident(column.name) for column in load.columns)
    values = ", ".join(f"__v{index}" for index in range(len(load.columns)))
    if start is not None:
        columns += f", {_ident(ROW_SEQUENCE_COLUMN)}"
        values += f", __position + {start - 1}"
    cursor.execute(f"INSERT INTO {_table_sql(load.table)} ({columns}) SELECT {values} FROM {_ident(staged)}")


def _insert_rows(cursor: Any, load: _Load, file_read: _FileRead, start: int | None) -> None:
    """Append the file's good rows. With a block of row sequences starting at ``start``, record n takes
    ``start + n - 1``: unique, and in the block (a file has ``rows_parsed`` records)."""
    columns = ", ".join(_ident(column.name) for column in load.columns)
    values = ", ".join(f"__v{index}" for index in range(len(load.columns)))
    where = " WHERE NOT __bad" if file_read.outcome.error_count else ""
    if start is not None:
        columns += f", {_ident(ROW_SEQUENCE_COLUMN)}"
        values += f", __rn + {start - 1}"
    table = _table_sql(load.table)
    cursor.execute(
        f"INSERT INTO {table} ({columns}) WITH typed AS ({file_read.typed}) SELECT {values} FROM typed{where}"
    )


# Files are read in batches of about this many bytes and committed together: one transaction per batch instead of
# one per file, while the batch's raw tables stay in memory.
_BATCH_BYTES = 128 << 20


def _batches(files: list[StagedFile]) -> Iterator[list[StagedFile]]:
    batch: list[StagedFile] = []
    size = 0
    for file in files:
        if batch and size + file.size > _BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file.size
    if batch:
        yield batch


@contextlib.contextmanager
def _cursor(connection: Any) -> Iterator[Any]:
    """A connection of its own (its temporary tables and transactions stay apart from the caller's), in the
    caller's TimeZone, which converts CURRENT_TIMESTAMP into TIMESTAMP_NTZ columns."""
    (zone,) = connection.execute("SELECT current_setting('TimeZone')").fetchone()
    cursor = connection.cursor()
    try:
        cursor.execute(f"SET TimeZone = {_literal(zone)}")
        yield cursor
    finally:
        cursor.close()


def _staged(load: _Load, bucket_root: Path) -> list[StagedFile]:
    """The files the pipe reads: under the stage (and the COPY's path), matching PATTERN, oldest first (the order
    their S3 events would arrive in). PATTERN applies to the path relative to the stage, as for Snowpipe."""
    files = [
        staged
        for staged in list_files(bucket_root, load.location.url)
        if staged.relative_path.startswith(load.stage_path)
        and (load.pattern is None or load.pattern.fullmatch(staged.relative_path))
    ]
    files.sort(key=lambda staged: (staged.last_modified, staged.key.encode()))
    return files


def _history(cursor: Any, database: str, pipe: str) -> list[FileLoadResult]:
    if not _has_internal_tables(cursor, database):
        return []
    rows = cursor.execute(
        f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM {_internal_table(database, LOAD_HISTORY_TABLE)} "
        "WHERE PIPE_NAME = ? ORDER BY LAST_LOAD_TIME, FILE_NAME",
        [pipe],
    ).fetchall()
    return [
        FileLoadResult(
            pipe=row[0],
            file_name=row[1],
            stage_location=row[2],
            table=row[3],
            status=row[4],
            rows_parsed=row[5],
            rows_loaded=row[6],
            error_count=row[7],
            error_limit=row[8],
            first_error=row[9],
            first_error_line=row[10],
            first_error_column=row[11],
            file_size=row[12],
            file_last_modified=row[13],
            last_load_time=row[14],
        )
        for row in rows
    ]


# Files read at once, each on a connection of its own: DuckDB reads one file on one core (see _read_raw).
_READERS = 2


def _read_files(
    cursor: Any, load: _Load, batch: list[StagedFile], *, now: datetime | None
) -> tuple[list[_FileRead], Exception | None]:
    """Read the batch's files, several at once: the reads up to the first failure (in the batch's order) and that
    failure, re-raised once the files before it are committed. Files read after it are dropped and load next time."""

    def read(staged: StagedFile) -> _FileRead:
        moment = now if now is not None else datetime.now(UTC)
        reader = idle.get()  # one per thread: a DuckDB connection refuses concurrent calls
        try:
            return _read_file(reader, load, staged, moment.astimezone(UTC))
        finally:
            idle.put(reader)

    workers = min(_READERS, len(batch))
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with contextlib.ExitStack() as readers:
        for _ in range(workers):
            idle.put(readers.enter_context(_cursor(cursor)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(read, staged) for staged in batch]
    reads: list[_FileRead] = []
    failure: Exception | None = None
    for future in futures:
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # an interrupt, not a file's failure
        if error is not None:
            failure = failure or error
        elif failure is None:
            reads.append(future.result())
        else:
            _drop_raw(cursor, future.result())
    return reads, failure


def _load_batch(
    cursor: Any, catalog: Catalog, load: _Load, batch: list[StagedFile], *, now: datetime | None, numbered: bool
) -> list[FileLoadResult]:
    """Read the batch's files, then commit them together. A failure stops the batch as it stopped the loader when
    each file had its own transaction: the files before the failing one still load, then the error goes up."""
    reads: list[_FileRead] = []
    try:
        reads, failure = _read_files(cursor, load, batch, now=now)
        results: list[FileLoadResult] = []
        try:
            results = _commit(cursor, catalog, load, reads, numbered=numbered) if reads else []
        except LocalSqlError:
            if len(reads) == 1:
                raise
            # One file's rows or record failed to insert: each file on its own, so the files before it still load
            # and the error names it.
            for file_read in reads:
                results.extend(_commit(cursor, catalog, load, [file_read], numbered=numbered))
        if failure is not None:
            raise failure
        return results
    finally:
        for file_read in reads:
            _drop_raw(cursor, file_read)


# --- public API ----------------------------------------------------------------------------------------------


def load_pending(
    connection: Any, account: Account, pipe_name: str, bucket_root: Path, *, now: datetime | None = None
) -> list[FileLoadResult]:
    """Load the pipe's new files (those its load history does not know) from ``bucket_root`` (the folder holding
    one folder per bucket) into the target table.

    Files are read one by one and committed in batches (:data:`_BATCH_BYTES`): each file's outcome (ON_ERROR) is
    decided on its own, and a file is loaded and recorded together or not at all, as with one transaction per
    file; a batch that fails to commit is committed again file by file.

    ``connection`` is a DuckDB connection with the table's database attached under its name. ``now`` is the
    load time of every file (default: the clock, per file; a naive value is local time). A paused or stopped
    pipe loads nothing; a COPY the local target cannot evaluate raises :class:`LocalSqlError`.
    """
    catalog = account.catalog
    name, pipe = _pipe_record(catalog, pipe_name)
    if pipe.paused:
        return []
    try:
        load = _resolve(catalog, name, pipe)
    except _PipeStoppedError:
        return []
    import duckdb

    results: list[FileLoadResult] = []
    with _cursor(connection) as cursor:
        try:
            _ensure_internal_tables(cursor, load.table.database)
        except duckdb.Error as error:
            raise LocalSqlError(
                f"pipe {name.display} loads into database {load.table.database}, which the local connection cannot "
                f"write: {error}"
            ) from error
        _attach_scratch(cursor)
        known = {record.file_name for record in _history(cursor, load.table.database, name.display)}
        pending = [staged for staged in _staged(load, bucket_root) if staged.relative_path not in known]
        numbered = bool(pending) and _numbered(cursor, load)
        for batch in _batches(pending):
            results.extend(_load_batch(cursor, catalog, load, batch, now=now, numbered=numbered))
    return results


def load_all_pipes(
    connection: Any, account: Account, bucket_root: Path, *, now: datetime | None = None
) -> list[FileLoadResult]:
    """Auto-ingest: every AUTO_INGEST pipe of the account loads its new files (pipes in name order)."""
    names = sorted(
        ObjectName(database.name, schema.name, pipe.name)
        for database in account.catalog.databases.values()
        for schema in database.schemas.values()
        for pipe in schema.pipes.values()
        if pipe.auto_ingest
    )
    results: list[FileLoadResult] = []
    for name in names:
        results.extend(load_pending(connection, account, name.quoted, bucket_root, now=now))
    return results


def load_history(connection: Any, account: Account, pipe_name: str) -> list[FileLoadResult]:
    """The pipe's load history, oldest first (COPY_HISTORY for one pipe)."""
    name, pipe = _pipe_record(account.catalog, pipe_name)
    with _cursor(connection) as cursor:
        return _history(cursor, pipe.table.database, name.display)


def error_notifications(connection: Any, database: str, *, pipe_name: str | None = None) -> list[dict[str, Any]]:
    """The INGEST_FAILED_FILE messages sent for pipes loading into ``database``, oldest first: each as the JSON
    document Snowflake would publish to the integration's SNS topic, plus ``integration`` (where it was sent)."""
    with _cursor(connection) as cursor:
        if not _has_internal_tables(cursor, database):
            return []
        where, parameters = ("WHERE PIPE_NAME = ? ", [pipe_name]) if pipe_name is not None else ("", [])
        rows = cursor.execute(
            f"SELECT INTEGRATION_NAME, MESSAGE FROM {_internal_table(database, NOTIFICATIONS_TABLE)} {where}"
            "ORDER BY CREATED_ON, FILE_NAME",
            parameters,
        ).fetchall()
    return [{"integration": integration, "message": json.loads(message)} for integration, message in rows]


@dataclass(frozen=True)
class PipeStatus:
    """What ``retail-etl status`` and ``check`` show for one pipe (SYSTEM$PIPE_STATUS plus load-history counts)."""

    pipe: str
    execution_state: str  # RUNNING, PAUSED, STOPPED_..., STALLED_COMPILATION_ERROR
    files_loaded: int
    files_partially_loaded: int
    files_failed: int  # skipped by ON_ERROR, every row rejected, or unreadable
    rows_loaded: int
    pending_files: tuple[str, ...]  # staged, not yet loaded (relative paths, oldest first)
    changed_after_load: tuple[str, ...]  # re-staged with new content under a loaded path: never reloaded
    last_load_time: datetime | None
    last_error: str | None  # why the pipe cannot run, else the first error of the latest file that had one
    last_error_file: str | None
    last_file: str | None = None  # the file loaded last (whatever its outcome)


def pipe_status(connection: Any, account: Account, pipe_name: str, bucket_root: Path) -> PipeStatus:
    """The pipe's state, counts from its load history and the staged files it has not loaded. A pipe the local
    target cannot run is reported (its executionState and ``last_error``), not raised."""
    catalog = account.catalog
    name, pipe = _pipe_record(catalog, pipe_name)
    state, problem, load = RUNNING, None, None
    try:
        load = _resolve(catalog, name, pipe)
    except _PipeStoppedError as stopped:
        state, problem = stopped.state, str(stopped)
    except LocalSqlError as error:
        state, problem = STALLED_COMPILATION_ERROR, str(error)
    if pipe.paused:
        state = PAUSED
    with _cursor(connection) as cursor:
        history = _history(cursor, pipe.table.database, name.display)
    by_path = {record.file_name: record for record in history}
    pending: list[str] = []
    changed: list[str] = []
    for staged in _staged(load, bucket_root) if load else []:
        record = by_path.get(staged.relative_path)
        if record is None:
            pending.append(staged.relative_path)
        elif (record.file_size, record.file_last_modified) != (staged.size, staged.last_modified):
            changed.append(staged.relative_path)
    errors = [record for record in history if record.first_error is not None]
    return PipeStatus(
        pipe=name.display,
        execution_state=state,
        files_loaded=sum(record.status == LOADED for record in history),
        files_partially_loaded=sum(record.status == PARTIALLY_LOADED for record in history),
        files_failed=sum(record.status == LOAD_FAILED for record in history),
        rows_loaded=sum(record.rows_loaded for record in history),
        pending_files=tuple(pending),
        changed_after_load=tuple(changed),
        last_load_time=history[-1].last_load_time if history else None,
        last_error=problem or (errors[-1].first_error if errors else None),
        last_error_file=None if problem or not errors else errors[-1].file_name,
        last_file=history[-1].file_name if history else None,
    )
