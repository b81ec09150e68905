"""Reads: SHOW, DESC, the INFORMATION_SCHEMA selects the observer sends, and SELECT of system functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from retail_etl.emulator import show
from retail_etl.emulator.catalog import Database, Pipe, Schema, Stream, Table, Task
from retail_etl.emulator.context import INFORMATION_SCHEMA, Env, Row
from retail_etl.emulator.ddl_ingest import procedure_reference
from retail_etl.emulator.errors import does_not_exist, invalid_identifier, no_current
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser

# --- SHOW ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Where SHOW looks: the whole account, one database, one schema, or one table (PRIMARY KEYS)."""

    database: str | None = None
    schema: str | None = None
    table: str | None = None


def like_pattern(pattern: str) -> re.Pattern[str]:
    """SHOW ... LIKE: case-insensitive, ``%`` any run, ``_`` one character, ``\\`` escapes the next one."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _scope(env: Env, *, tables: bool = False) -> Scope:
    """``IN ACCOUNT | IN DATABASE [db] | IN SCHEMA [s] | IN <schema>`` (PRIMARY KEYS: also ``IN [TABLE] t``)."""
    p = env.parser
    context = env.context
    if not p.accept_keyword("IN"):
        return Scope(database=context.database)
    if p.accept_keyword("ACCOUNT"):
        return Scope()
    if p.accept_keyword("DATABASE"):
        if p.peek().is_name and not p.at_keyword("STARTS", "LIMIT"):
            return Scope(database=env.database(env.single(p.expect_name(), p)).name)
        if context.database is None:
            raise no_current("database", "SHOW")
        return Scope(database=env.database(context.database).name)
    if tables and (p.accept_keyword("TABLE") or not p.at_keyword("SCHEMA")):
        # SHOW PRIMARY KEYS IN [TABLE] <table>
        name = env.qualify(p.expect_name(), "SHOW")
        env.table(name)
        return Scope(name.database, name.schema, name.name)
    explicit = p.accept_keyword("SCHEMA")
    if explicit and not p.peek().is_name:
        if context.database is None or context.schema is None:
            raise no_current("schema", "SHOW")
        database, schema = context.database, context.schema
    else:
        database, schema = env.qualify_schema(p.expect_name(), "SHOW")
    if schema != INFORMATION_SCHEMA:
        env.schema(database, schema)
    else:
        env.database(database)
    return Scope(database, schema)


def _schemas(env: Env, scope: Scope) -> Iterator[tuple[Database, Schema]]:
    for database in sorted(env.catalog.databases.values(), key=lambda d: d.name):
        if scope.database is not None and database.name != scope.database:
            continue
        for schema in sorted(database.schemas.values(), key=lambda s: s.name):
            if scope.schema is None or schema.name == scope.schema:
                yield database, schema


def _filters(p: Parser) -> tuple[str | None, int | None, str | None]:
    """The trailing ``[STARTS WITH '..'] [LIMIT n [FROM '..']]`` of SHOW."""
    starts = p.expect_string() if p.accept_keywords("STARTS", "WITH") else None
    limit, limit_from = None, None
    if p.accept_keyword("LIMIT"):
        limit = p.expect_integer()
        limit_from = p.expect_string() if p.accept_keyword("FROM") else None
    return starts, limit, limit_from


def _apply_filters(
    rows: list[Row],
    like: re.Pattern[str] | None,
    starts: str | None = None,
    limit: int | None = None,
    limit_from: str | None = None,
) -> list[Row]:
    kept = [
        row
        for row in rows
        if (like is None or like.fullmatch(str(row["name"])))
        and (starts is None or str(row["name"]).startswith(starts))
        and (limit_from is None or str(row["name"]) >= limit_from)
    ]
    return kept[:limit] if limit is not None else kept


_SCHEMA_OBJECTS: dict[str, tuple[str, Callable[[Env, Database, Schema, Any], Row]]] = {
    "FILE FORMATS": ("file_formats", lambda env, d, s, o: show.file_format_row(d.name, s.name, o)),
    "STAGES": ("stages", lambda env, d, s, o: show.stage_row(env.catalog, d.name, s.name, o)),
    "TABLES": ("tables", lambda env, d, s, o: show.table_row(d, s, o)),
    "VIEWS": ("views", lambda env, d, s, o: show.view_row(d.name, s.name, o)),
    "PIPES": ("pipes", lambda env, d, s, o: show.pipe_row(env.catalog, d.name, s.name, o)),
    "STREAMS": ("streams", lambda env, d, s, o: show.stream_row(env.catalog, d.name, s.name, o)),
    "TASKS": ("tasks", lambda env, d, s, o: show.task_row(d.name, s.name, o)),
}


def run_show(env: Env) -> list[Row]:
    p = env.parser
    if p.accept_keyword("DATABASES"):
        like = like_pattern(p.expect_string()) if p.accept_keyword("LIKE") else None
        starts, limit, limit_from = _filters(p)
        p.expect_end()
        rows = [show.database_row(db, env.context.database) for _, db in sorted(env.catalog.databases.items())]
        return _apply_filters(rows, like, starts, limit, limit_from)
    if p.accept_keyword("SCHEMAS"):
        like = like_pattern(p.expect_string()) if p.accept_keyword("LIKE") else None
        scope = _scope(env)
        starts, limit, limit_from = _filters(p)
        p.expect_end()
        rows = [
            row
            for _, db in sorted(env.catalog.databases.items())
            if scope.database is None or db.name == scope.database
            for row in show.schema_rows(db, (env.context.database, env.context.schema))
        ]
        return _apply_filters(rows, like, starts, limit, limit_from)
    category = p.accept_keyword("STORAGE", "NOTIFICATION")
    if p.accept_keyword("INTEGRATIONS"):
        like = like_pattern(p.expect_string()) if p.accept_keyword("LIKE") else None
        p.expect_end()
        return _apply_filters(_integration_rows(env, category), like)
    if category is not None:
        raise p.error()
    if p.accept_keywords("PRIMARY", "KEYS"):
        scope = _scope(env, tables=True)
        p.expect_end()
        return [
            row
            for db, schema in _schemas(env, scope)
            for table in sorted(schema.tables.values(), key=lambda t: t.name)
            if scope.table is None or table.name == scope.table
            for row in show.primary_key_rows(db.name, schema.name, table)
        ]
    keyword = "FILE FORMATS" if p.accept_keywords("FILE", "FORMATS") else p.expect_keyword(*_SCHEMA_OBJECTS)
    collection, render = _SCHEMA_OBJECTS[keyword]
    like = like_pattern(p.expect_string()) if p.accept_keyword("LIKE") else None
    scope = _scope(env)
    starts, limit, limit_from = _filters(p)
    p.expect_end()
    rows = [
        render(env, db, schema, obj)
        for db, schema in _schemas(env, scope)
        for obj in sorted(getattr(schema, collection).values(), key=lambda o: o.name)
    ]
    return _apply_filters(rows, like, starts, limit, limit_from)


def _integration_rows(env: Env, category: str | None) -> list[Row]:
    integrations: list[Any] = []
    if category in (None, "STORAGE"):
        integrations.extend(env.catalog.storage_integrations.values())
    if category in (None, "NOTIFICATION"):
        integrations.extend(env.catalog.notification_integrations.values())
    with_direction = category == "NOTIFICATION"
    return [show.integration_row(i, with_direction=with_direction) for i in sorted(integrations, key=lambda i: i.name)]


# --- DESC ----------------------------------------------------------------------------------------------------


def run_describe(env: Env) -> list[Row]:
    p = env.parser
    category = p.accept_keyword("STORAGE", "NOTIFICATION")
    if p.accept_keyword("INTEGRATION"):
        integration_name = env.single(p.expect_name(), p)
        p.expect_end()
        catalog = env.catalog
        storage = catalog.storage_integrations.get(integration_name) if category != "NOTIFICATION" else None
        notification = catalog.notification_integrations.get(integration_name) if category != "STORAGE" else None
        integration = storage or notification
        if integration is None:
            raise does_not_exist(integration_name)
        return show.describe_integration(env.catalog, integration)
    if category is not None:
        raise p.error()
    if p.accept_keyword("PROCEDURE"):
        procedure_name, key = procedure_reference(env, "DESCRIBE")
        p.expect_end()
        return show.describe_procedure(env.require_procedure(procedure_name, key))
    kind = p.expect_keyword("TABLE", "PIPE", "STREAM", "TASK")
    name = env.qualify(p.expect_name(), "DESCRIBE")
    if kind == "TABLE" and p.accept_keyword("TYPE"):
        p.expect_punct("=")
        p.expect_keyword("COLUMNS")
    p.expect_end()
    database, schema = env.database(name.database), env.schema_of(name)
    if kind == "TABLE":
        table: Table = env.require(name, "tables")
        return show.describe_table(table)
    if kind == "PIPE":
        pipe: Pipe = env.require(name, "pipes")
        return [show.pipe_row(env.catalog, database.name, schema.name, pipe)]
    if kind == "STREAM":
        stream: Stream = env.require(name, "streams")
        return [show.stream_row(env.catalog, database.name, schema.name, stream)]
    task: Task = env.require(name, "tasks")
    return [show.task_row(database.name, schema.name, task)]


# --- SELECT --------------------------------------------------------------------------------------------------


def run_select(env: Env) -> list[Row]:
    p = env.parser
    p.expect_keyword("SELECT")
    start = p.pos
    depth = 0
    while not (depth == 0 and (p.at_keyword("FROM") or p.at_end())):
        token = p.next()
        depth += 1 if token.is_punct("(") else -1 if token.is_punct(")") else 0
    if p.at_keyword("FROM"):
        return _select_information_schema(env, start)
    p.pos = start
    return [_select_values(env)]


def _literal(p: Parser) -> Any:
    token = p.next()
    if token.kind is TokenKind.STRING:
        return token.value
    if token.kind is TokenKind.NUMBER:
        return float(token.value) if "." in token.value or "e" in token.value.lower() else int(token.value)
    if token.is_keyword("NULL"):
        return None
    if token.is_keyword("TRUE", "FALSE"):
        return token.value == "TRUE"
    raise p.error(token)


@dataclass(frozen=True)
class _Condition:
    column: str
    operator: str  # =, <>, <, <=, >, >=, IN, NOT IN, IS NULL, IS NOT NULL, LIKE, NOT LIKE
    values: tuple[Any, ...]

    def holds(self, row: Row) -> bool:
        value = row[self.column]
        if self.operator in ("IS NULL", "IS NOT NULL"):
            return (value is None) == (self.operator == "IS NULL")
        if value is None or any(v is None for v in self.values):
            return False  # comparisons with NULL are never true
        if self.operator in ("IN", "NOT IN"):
            return (value in self.values) == (self.operator == "IN")
        if self.operator in ("LIKE", "NOT LIKE"):
            pattern = re.compile(like_pattern(str(self.values[0])).pattern, re.DOTALL)  # LIKE is case-sensitive
            return bool(pattern.fullmatch(str(value))) == (self.operator == "LIKE")
        other = self.values[0]
        comparisons: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: bool(a == b),
            "<>": lambda a, b: bool(a != b),
            "!=": lambda a, b: bool(a != b),
            "<": lambda a, b: bool(a < b),
            "<=": lambda a, b: bool(a <= b),
            ">": lambda a, b: bool(a > b),
            ">=": lambda a, b: bool(a >= b),
        }
        return comparisons[self.operator](value, other)


def _column(p: Parser, columns: list[str]) -> str:
    token = p.peek()
    name = p.expect_identifier()
    if name not in columns:
        raise invalid_identifier(p.text, token.start, name)
    return name


def _condition(p: Parser, columns: list[str]) -> _Condition:
    column = _column(p, columns)
    if p.accept_keyword("IS"):
        negated = p.accept_keyword("NOT") is not None
        p.expect_keyword("NULL")
        return _Condition(column, "IS NOT NULL" if negated else "IS NULL", ())
    negated = p.accept_keyword("NOT") is not None
    if p.accept_keyword("IN"):
        p.expect_punct("(")
        values = [_literal(p)]
        while p.accept_punct(","):
            values.append(_literal(p))
        p.expect_punct(")")
        return _Condition(column, "NOT IN" if negated else "IN", tuple(values))
    if p.accept_keyword("LIKE"):
        return _Condition(column, "NOT LIKE" if negated else "LIKE", (_literal(p),))
    if negated:
        raise p.error()
    operator = p.next()
    if not operator.is_punct("=", "<>", "!=", "<", "<=", ">", ">="):
        raise p.error(operator)
    return _Condition(column, operator.value, (_literal(p),))


def _select_information_schema(env: Env, items_start: int) -> list[Row]:
    """``SELECT cols FROM [db.]INFORMATION_SCHEMA.<view> [WHERE a AND b] [ORDER BY ..] [LIMIT n]``."""
    p = env.parser
    p.expect_keyword("FROM")
    raw = p.expect_name()
    if len(raw.parts) < 2 or raw.parts[-2] != INFORMATION_SCHEMA:
        raise p.error()
    database_name = raw.parts[0] if len(raw.parts) == 3 else env.qualify_schema(raw, "SELECT")[0]
    database = env.database(database_name)
    view = show.INFORMATION_SCHEMA_VIEWS.get(raw.last)
    if view is None:
        raise does_not_exist(f"{database_name}.{INFORMATION_SCHEMA}.{raw.last}")
    columns = list(view.columns)
    rows = view.rows(database)
    conditions: list[_Condition] = []
    if p.accept_keyword("WHERE"):
        conditions.append(_condition(p, columns))
        while p.accept_keyword("AND"):
            conditions.append(_condition(p, columns))
    order: list[tuple[str, bool]] = []
    if p.accept_keywords("ORDER", "BY"):
        while True:
            column = _column(p, columns)
            descending = p.accept_keyword("ASC", "DESC") == "DESC"
            order.append((column, descending))
            if not p.accept_punct(","):
                break
    limit = p.expect_integer() if p.accept_keyword("LIMIT") else None
    p.expect_end()
    end = p.pos
    p.pos = items_start
    selected = _projection(p, columns)
    p.pos = end
    rows = [row for row in rows if all(c.holds(row) for c in conditions)]
    for column, descending in reversed(order):
        rows.sort(key=_order_key(column), reverse=descending)
    rows = rows[:limit] if limit is not None else rows
    return [{alias: row[column] for column, alias in selected} for row in rows]


def _order_key(column: str) -> Callable[[Row], tuple[bool, Any]]:
    """NULLs sort last ascending and first descending, as in Snowflake."""

    def key(row: Row) -> tuple[bool, Any]:
        value = row[column]
        return (value is None, "" if value is None else value)

    return key


def _projection(p: Parser, columns: list[str]) -> list[tuple[str, str]]:
    """The select list: ``*`` or column names, each with an optional alias."""
    if p.accept_punct("*"):
        return [(c, c) for c in columns]
    selected = []
    while True:
        column = _column(p, columns)
        alias = column
        if p.accept_keyword("AS") or (p.peek().is_name and not p.at_keyword("FROM")):
            alias = p.expect_identifier()
        selected.append((column, alias))
        if not p.accept_punct(","):
            return selected


def _system_function(env: Env, function: str, argument: str) -> Any:
    if function == "SYSTEM$PIPE_STATUS":
        name = env.qualify_text(argument, "SELECT")
        pipe: Pipe = env.require(name, "pipes")
        return show.pipe_status(env.catalog, pipe)
    name = env.qualify_text(argument, "SELECT")
    env.require(name, "streams")
    # No rows are modelled yet, so no stream ever has data.
    return False


def _context_function(env: Env, function: str) -> Any:
    values: dict[str, Any] = {
        "CURRENT_ACCOUNT": env.catalog.account,
        "CURRENT_REGION": f"AWS_{env.catalog.region.upper().replace('-', '_')}",
        "CURRENT_ROLE": "ACCOUNTADMIN",
        "CURRENT_DATABASE": env.context.database,
        "CURRENT_SCHEMA": env.context.schema,
        "CURRENT_TIMESTAMP": env.now,
        "CURRENT_VERSION": "9.0.0",
    }
    return values[function]


_CONTEXT_FUNCTIONS = frozenset(
    {
        "CURRENT_ACCOUNT",
        "CURRENT_REGION",
        "CURRENT_ROLE",
        "CURRENT_DATABASE",
        "CURRENT_SCHEMA",
        "CURRENT_TIMESTAMP",
        "CURRENT_VERSION",
    }
)


def _select_values(env: Env) -> Row:
    """``SELECT item [AS alias], ...`` without FROM: literals, SYSTEM$PIPE_STATUS / SYSTEM$STREAM_HAS_DATA and
    the CURRENT_* context functions. Unaliased columns are named after the item's text, upper-cased."""
    p = env.parser
    row: Row = {}
    while True:
        start = p.peek()
        if p.at_keyword("SYSTEM$PIPE_STATUS", "SYSTEM$STREAM_HAS_DATA"):
            function = p.next().value
            p.expect_punct("(")
            value = _system_function(env, function, p.expect_string())
            p.expect_punct(")")
        elif p.at_keyword(*_CONTEXT_FUNCTIONS):
            function = p.next().value
            if p.accept_punct("("):
                p.expect_punct(")")
            value = _context_function(env, function)
        else:
            value = _literal(p)
        label = p.text[start.start : p.tokens[p.pos - 1].end].upper()
        if p.accept_keyword("AS") or (p.peek().is_name and not p.at_end()):
            label = p.expect_identifier()
        row[label] = value
        if not p.accept_punct(","):
            break
    p.expect_end()
    return row
