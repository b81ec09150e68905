"""CREATE / ALTER for file formats, stages, tables and views."""

from __future__ import annotations

import copy
from typing import Any

from retail_etl.emulator import parser as read
from retail_etl.emulator.catalog import Column, FileFormat, ObjectName, Stage, Table, View
from retail_etl.emulator.context import STATEMENT_OK, CreateMode, Env, Row, created, status
from retail_etl.emulator.datatypes import TWO_WORD_TYPES, ColumnType, check_change, column_type
from retail_etl.emulator.errors import (
    already_exists,
    does_not_exist,
    duplicate_column,
    invalid_identifier,
    invalid_parameter_value,
)
from retail_etl.emulator.formats import read_inline_format, read_options
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser, RawName

# --- file format ---------------------------------------------------------------------------------------------


def create_file_format(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE FILE FORMAT")
    options = read_options(p, with_type=True, extra={"COMMENT": read.string})
    p.expect_end()
    schema = env.schema_of(name)
    answer = env.check_create(schema.file_formats.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    comment = options.pop("COMMENT", None)
    format_type = options.pop("TYPE", "CSV")
    schema.file_formats[name.name] = FileFormat(
        **env.base(name.name, comment), format_type=format_type, options=options
    )
    return created("File format", name.name)


def alter_file_format(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER FILE FORMAT")
    p.expect_keyword("SET")
    changes = read_options(p, with_type=False, extra={"COMMENT": read.string})
    if not changes:
        raise p.error()
    p.expect_end()
    file_format: FileFormat | None = env.find(name, "file_formats")
    if file_format is None and if_exists:
        return status(STATEMENT_OK)
    file_format = env.require(name, "file_formats")
    assert file_format is not None
    if "COMMENT" in changes:
        file_format.comment = changes.pop("COMMENT")
    file_format.options.update(changes)
    return status(STATEMENT_OK)


# --- stage ---------------------------------------------------------------------------------------------------


def _directory(parser: Parser) -> bool:
    """``DIRECTORY = ( ENABLE = TRUE ... )``: only whether the directory table is enabled is modelled."""
    parser.expect_punct("(")
    values = parser.properties(
        {"ENABLE": read.boolean, "REFRESH_ON_CREATE": read.boolean, "AUTO_REFRESH": read.boolean},
        other=read.raw_value,
    )
    parser.expect_punct(")")
    return bool(values.get("ENABLE", False))


def _group(parser: Parser) -> str:
    """A parenthesized option group kept as written (CREDENTIALS, ENCRYPTION, COPY_OPTIONS)."""
    if not parser.at_punct("("):
        raise parser.error()
    return parser.expect_raw_value()


_STAGE_PROPERTIES = {
    "URL": read.string,
    "STORAGE_INTEGRATION": read.name,
    "CREDENTIALS": _group,
    "ENCRYPTION": _group,
    "AWS_ACCESS_POINT_ARN": read.string,
    "USE_PRIVATELINK_ENDPOINT": read.boolean,
    "DIRECTORY": _directory,
    "FILE_FORMAT": read_inline_format,
    "COPY_OPTIONS": _group,
    "COMMENT": read.string,
}


def _apply_stage(env: Env, stage: Stage, props: dict[str, Any]) -> None:
    for key, value in props.items():
        if key == "URL":
            stage.url = value
        elif key == "STORAGE_INTEGRATION":
            integration = env.storage_integration(env.single(value, env.parser))
            # The stage holds the integration's hidden id: re-creating the integration breaks it (§1.1) until the
            # stage is pointed at it again.
            stage.storage_integration, stage.integration_id = integration.name, integration.id
        elif key == "CREDENTIALS":
            stage.has_credentials = True
        elif key == "ENCRYPTION":
            stage.has_encryption_key = "MASTER_KEY" in value.upper()
        elif key == "DIRECTORY":
            stage.directory_enabled = value
        elif key == "FILE_FORMAT":
            named, options = value
            stage.file_format_name = resolve_format_name(env, named) if named is not None else None
            stage.file_format_type = None if named is not None else options.pop("TYPE", "CSV")
            stage.file_format_options = options
        elif key == "COMMENT":
            stage.comment = value


def resolve_format_name(env: Env, named: RawName | str) -> ObjectName:
    """A FORMAT_NAME reference, which must name an existing file format."""
    name = env.qualify_text(named, "CREATE STAGE") if isinstance(named, str) else env.qualify(named, "CREATE STAGE")
    env.require(name, "file_formats")
    return name


def create_stage(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE STAGE")
    props = p.properties(_STAGE_PROPERTIES, separators=True)
    p.expect_end()
    schema = env.schema_of(name)
    answer = env.check_create(schema.stages.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    stage = Stage(**env.base(name.name))
    _apply_stage(env, stage, props)
    schema.stages[name.name] = stage
    return created("Stage area", name.name)


def alter_stage(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER STAGE")
    p.expect_keyword("SET")
    props = p.properties(_STAGE_PROPERTIES, separators=True)
    if not props:
        raise p.error()
    p.expect_end()
    stage: Stage | None = env.find(name, "stages")
    if stage is None and if_exists:
        return status(STATEMENT_OK)
    stage = env.require(name, "stages")
    assert stage is not None
    _apply_stage(env, stage, props)
    return status(STATEMENT_OK)


# --- table ---------------------------------------------------------------------------------------------------

# Words that end a column's DEFAULT expression (the next column property starts).
_COLUMN_PROPERTY_WORDS = frozenset(
    {"COLLATE", "NOT", "NULL", "DEFAULT", "COMMENT", "PRIMARY", "UNIQUE", "CONSTRAINT", "REFERENCES", "FOREIGN"}
)
# Constraint properties Snowflake accepts and does not enforce.
_CONSTRAINT_PROPERTY_WORDS = frozenset(
    {"ENFORCED", "NOT", "DEFERRABLE", "INITIALLY", "DEFERRED", "IMMEDIATE", "ENABLE", "DISABLE", "VALIDATE"}
    | {"NOVALIDATE", "RELY", "NORELY"}
)


def parse_type(p: Parser) -> ColumnType:
    """A column type: ``NAME`` or ``NAME(n[, m])``, some names being two words (DOUBLE PRECISION)."""
    if p.peek().kind is not TokenKind.IDENT:
        raise p.error()
    first = p.expect_identifier()
    if (first, p.peek().value) in TWO_WORD_TYPES and p.peek().kind is TokenKind.IDENT:
        first = f"{first} {p.next().value}"
    params: list[int] = []
    if p.accept_punct("("):
        params.append(p.expect_integer())
        while p.accept_punct(","):
            params.append(p.expect_integer())
        p.expect_punct(")")
    return column_type(first, params)


def _skip_constraint_properties(p: Parser) -> None:
    while p.at_keyword(*_CONSTRAINT_PROPERTY_WORDS):
        p.next()


def _default_expression(p: Parser) -> str:
    """The DEFAULT expression as written: tokens up to the next column property, ``,`` or ``)`` at depth 0."""
    start = p.peek()
    depth = 0
    first = True
    while True:
        token = p.peek()
        if token.kind is TokenKind.EOF:
            raise p.error(token)
        if depth == 0 and not first and (token.is_punct(",", ")") or token.is_keyword(*_COLUMN_PROPERTY_WORDS)):
            break
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            if depth == 0:
                raise p.error(token)
            depth -= 1
        p.next()
        first = False
    return p.text[start.start : p.tokens[p.pos - 1].end]


class _TableDefinition:
    """The parts of a column list: columns, the primary key (with where its columns were written)."""

    def __init__(self) -> None:
        self.columns: list[Column] = []
        self.primary_key: list[tuple[str, int]] = []
        self.primary_key_name: str | None = None
        self.referenced: list[tuple[str, int]] = []  # columns named by UNIQUE / FOREIGN KEY

    def set_primary_key(self, p: Parser, columns: list[tuple[str, int]], constraint: str | None) -> None:
        if self.primary_key:
            raise p.error()
        self.primary_key, self.primary_key_name = columns, constraint


def _column_list(p: Parser) -> list[tuple[str, int]]:
    p.expect_punct("(")
    names: list[tuple[str, int]] = []
    while True:
        offset = p.peek().start
        names.append((p.expect_identifier(), offset))
        if not p.accept_punct(","):
            break
    p.expect_punct(")")
    return names


def _out_of_line_constraint(p: Parser, definition: _TableDefinition) -> bool:
    """``[CONSTRAINT n] PRIMARY KEY (..) | UNIQUE (..) | FOREIGN KEY (..) REFERENCES t [(..)]``, if one is next."""
    start = p.pos
    constraint = p.expect_identifier() if p.accept_keyword("CONSTRAINT") else None
    if p.accept_keywords("PRIMARY", "KEY"):
        definition.set_primary_key(p, _column_list(p), constraint)
    elif p.at_keyword("UNIQUE") and p.peek(1).is_punct("("):
        p.next()
        definition.referenced.extend(_column_list(p))
    elif p.accept_keywords("FOREIGN", "KEY"):
        definition.referenced.extend(_column_list(p))
        p.expect_keyword("REFERENCES")
        p.expect_name()
        if p.at_punct("("):
            _column_list(p)
    elif constraint is not None:
        raise p.error()
    else:
        p.pos = start
        return False
    _skip_constraint_properties(p)
    return True


def parse_column(p: Parser, definition: _TableDefinition | None, default_collation: str | None = None) -> Column:
    """``name type [COLLATE ..] [NOT NULL] [DEFAULT ..] [inline constraint] [COMMENT '..']`` in any order."""
    name_offset = p.peek().start
    column_name = p.expect_identifier()
    kind = parse_type(p)
    column = Column(name=column_name, type=kind)
    while True:
        if p.accept_keyword("COLLATE"):
            column.collation = p.expect_string()
        elif p.accept_keywords("NOT", "NULL"):
            column.nullable = False
        elif p.accept_keyword("NULL"):
            column.nullable = True
        elif p.accept_keyword("DEFAULT"):
            column.default = _default_expression(p)
        elif p.at_keyword("COMMENT") and p.peek(1).kind is TokenKind.STRING:
            p.next()
            column.comment = p.expect_string()
        elif definition is not None and p.at_keyword("CONSTRAINT", "PRIMARY", "UNIQUE", "REFERENCES"):
            constraint = p.expect_identifier() if p.accept_keyword("CONSTRAINT") else None
            if p.accept_keywords("PRIMARY", "KEY"):
                definition.set_primary_key(p, [(column_name, name_offset)], constraint)
            elif not p.accept_keyword("UNIQUE"):
                p.expect_keyword("REFERENCES")
                p.expect_name()
                if p.at_punct("("):
                    _column_list(p)
            _skip_constraint_properties(p)
        else:
            break
    if column.collation is None and default_collation and column.type.is_text:
        column.collation = default_collation
    return column


_TABLE_PROPERTIES = {
    "DATA_RETENTION_TIME_IN_DAYS": read.integer,
    "MAX_DATA_EXTENSION_TIME_IN_DAYS": read.integer,
    "CHANGE_TRACKING": read.boolean,
    "DEFAULT_DDL_COLLATION": read.string,
    "ENABLE_SCHEMA_EVOLUTION": read.boolean,
    "COMMENT": read.string,
}


def _expression_list(p: Parser) -> list[str]:
    """``( expr, expr )``: each expression as written (CLUSTER BY)."""
    p.expect_punct("(")
    expressions: list[str] = []
    depth, start = 0, p.peek()
    while True:
        token = p.next()
        if token.kind is TokenKind.EOF:
            raise p.error(token)
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")") and depth:
            depth -= 1
        elif depth == 0 and token.is_punct(",", ")"):
            expressions.append(p.text[start.start : p.tokens[p.pos - 2].end])
            if token.is_punct(")"):
                return expressions
            start = p.peek()


def _table_clauses(p: Parser) -> tuple[dict[str, Any], list[str]]:
    """The clauses after the column list, in any order: properties, CLUSTER BY, COPY GRANTS."""
    props: dict[str, Any] = {}
    cluster_by: list[str] = []
    while True:
        if p.accept_keywords("CLUSTER", "BY"):
            cluster_by = _expression_list(p)
        elif p.accept_keywords("COPY", "GRANTS"):
            continue
        else:
            more = p.properties(_TABLE_PROPERTIES)
            if not more:
                return props, cluster_by
            duplicate = set(more) & set(props)
            if duplicate:
                raise p.error()
            props.update(more)


def create_table(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE TABLE")
    # DEFAULT_DDL_COLLATION follows the column list but applies to its text columns: read the clauses first.
    start = p.pos
    p.skip_group()
    props, cluster_by = _table_clauses(p)
    p.expect_end()
    end = p.pos
    p.pos = start
    definition = _TableDefinition()
    p.expect_punct("(")
    while True:
        if not _out_of_line_constraint(p, definition):
            column = parse_column(p, definition, props.get("DEFAULT_DDL_COLLATION"))
            if any(c.name == column.name for c in definition.columns):
                raise duplicate_column(column.name)
            definition.columns.append(column)
        if not p.accept_punct(","):
            break
    p.expect_punct(")")
    p.pos = end
    schema = env.schema_of(name)
    if name.name in schema.views:
        raise already_exists(name.name)
    answer = env.check_create(schema.tables.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    known = {c.name for c in definition.columns}
    for column_name, offset in [*definition.primary_key, *definition.referenced]:
        if column_name not in known:
            raise invalid_identifier(p.text, offset, column_name)
    primary_key = [column_name for column_name, _ in definition.primary_key]
    for column in definition.columns:
        # A PRIMARY KEY implies NOT NULL (constraints overview).
        if column.name in primary_key:
            column.nullable = False
    kind = "TRANSIENT" if "TRANSIENT" in mode.modifiers or schema.transient else "TABLE"
    if "TEMPORARY" in mode.modifiers:
        kind = "TEMPORARY"
    table = Table(
        **env.base(name.name),
        kind=kind,
        columns=definition.columns,
        primary_key=primary_key,
        primary_key_name=definition.primary_key_name,
        cluster_by=cluster_by,
    )
    _set_table_properties(table, props)
    schema.tables[name.name] = table
    return created("Table", name.name)


def alter_table(env: Env, if_exists: bool) -> list[Row]:
    """Each action is checked against a copy of the table's columns, so a failing ALTER changes nothing."""
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER TABLE")
    table: Table | None = env.find(name, "tables")
    if table is None:
        if if_exists:
            return status(STATEMENT_OK)
        env.require(name, "tables")
    assert table is not None
    work = copy.deepcopy(table)
    _alter_table_action(p, work)
    p.expect_end()
    table.__dict__.update(work.__dict__)
    return status(STATEMENT_OK)


def _alter_table_action(p: Parser, table: Table) -> None:
    if p.accept_keyword("ADD"):
        _add(p, table)
    elif p.accept_keyword("DROP"):
        _drop_from_table(p, table)
    elif p.accept_keyword("ALTER", "MODIFY"):
        _alter_columns(p, table)
    elif p.accept_keywords("RENAME", "COLUMN"):
        old_offset = p.peek().start
        old = p.expect_identifier()
        p.expect_keyword("TO")
        new = p.expect_identifier()
        column = table.column(old)
        if column is None:
            raise invalid_identifier(p.text, old_offset, old)
        if table.column(new) is not None:
            raise duplicate_column(new)
        column.name = new
        table.primary_key = [new if key == old else key for key in table.primary_key]
    elif p.accept_keywords("CLUSTER", "BY"):
        table.cluster_by = _expression_list(p)
    elif p.accept_keyword("SET"):
        props = p.properties(_TABLE_PROPERTIES)
        if not props:
            raise p.error()
        _set_table_properties(table, props)
    elif p.accept_keyword("UNSET"):
        names = [p.expect_keyword(*_TABLE_PROPERTIES)]
        while p.accept_punct(","):
            names.append(p.expect_keyword(*_TABLE_PROPERTIES))
        _set_table_properties(table, dict.fromkeys(names))
    else:
        raise p.error()


def _set_table_properties(table: Table, props: dict[str, Any]) -> None:
    for key, value in props.items():
        if key == "DATA_RETENTION_TIME_IN_DAYS":
            # Time Travel: up to 90 days for permanent tables, 0 or 1 for transient and temporary ones (§10.1).
            limit = 90 if table.kind == "TABLE" else 1
            if value is not None and not 0 <= value <= limit:
                raise invalid_parameter_value(key, value)
            table.retention_time = value
        elif key == "CHANGE_TRACKING":
            table.change_tracking = bool(value)
        elif key == "COMMENT":
            table.comment = value


def _add(p: Parser, table: Table) -> None:
    if p.at_keyword("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN"):
        definition = _TableDefinition()
        _out_of_line_constraint(p, definition)
        for column_name, offset in [*definition.primary_key, *definition.referenced]:
            if table.column(column_name) is None:
                raise invalid_identifier(p.text, offset, column_name)
        if definition.primary_key:
            if table.primary_key:
                raise p.error()
            table.primary_key = [column_name for column_name, _ in definition.primary_key]
            table.primary_key_name = definition.primary_key_name
            for column in table.columns:
                if column.name in table.primary_key:
                    column.nullable = False
        return
    p.accept_keyword("COLUMN")
    if_not_exists = p.accept_keywords("IF", "NOT", "EXISTS")
    while True:
        column = parse_column(p, None)
        if table.column(column.name) is not None:
            if not if_not_exists:
                raise duplicate_column(column.name)
        else:
            table.columns.append(column)
        if not p.accept_punct(","):
            return


def _drop_from_table(p: Parser, table: Table) -> None:
    if p.accept_keywords("PRIMARY", "KEY"):
        table.primary_key, table.primary_key_name = [], None
        return
    if p.at_keywords("CLUSTERING", "KEY"):
        p.pos += 2
        table.cluster_by = []
        return
    p.accept_keyword("COLUMN")
    if_exists = p.accept_keywords("IF", "EXISTS")
    while True:
        offset = p.peek().start
        column_name = p.expect_identifier()
        column = table.column(column_name)
        if column is None:
            if not if_exists:
                raise invalid_identifier(p.text, offset, column_name)
        else:
            table.columns.remove(column)
            # The key loses the column (Snowflake does not let a constraint's column list be edited otherwise).
            table.primary_key = [key for key in table.primary_key if key != column_name]
            if not table.primary_key:
                table.primary_key_name = None
        if not p.accept_punct(","):
            break
    if not table.columns:
        raise p.error()
    p.accept_keyword("CASCADE", "RESTRICT")


def _alter_columns(p: Parser, table: Table) -> None:
    """``ALTER | MODIFY [(] [COLUMN] c action [, [COLUMN] c action ...] [)]``."""
    parenthesized = p.accept_punct("(")
    while True:
        p.accept_keyword("COLUMN")
        offset = p.peek().start
        column_name = p.expect_identifier()
        column = table.column(column_name)
        if column is None:
            raise invalid_identifier(p.text, offset, column_name)
        _alter_column(p, column)
        if not p.accept_punct(","):
            break
    if parenthesized:
        p.expect_punct(")")


def _alter_column(p: Parser, column: Column) -> None:
    if p.accept_keywords("DROP", "NOT", "NULL"):
        column.nullable = True
    elif p.accept_keywords("SET", "NOT", "NULL") or p.accept_keywords("NOT", "NULL"):
        column.nullable = False
    elif p.accept_keywords("DROP", "DEFAULT"):
        column.default = None
    elif p.accept_keywords("UNSET", "COMMENT"):
        column.comment = None
    elif p.accept_keyword("COMMENT"):
        column.comment = p.expect_string()
    else:
        if not p.accept_keywords("SET", "DATA", "TYPE"):
            p.accept_keyword("TYPE")
        new_type = parse_type(p)
        collation = p.expect_string() if p.accept_keyword("COLLATE") else None
        check_change(column.name, column.type, column.collation, new_type, collation)
        column.type = new_type


# --- view ----------------------------------------------------------------------------------------------------


def _view_columns(p: Parser) -> list[str]:
    """``( c1 [COMMENT '..'], c2 )``: the view's column names."""
    p.expect_punct("(")
    names: list[str] = []
    while True:
        names.append(p.expect_identifier())
        if p.accept_keyword("COMMENT"):
            p.expect_string()
        if not p.accept_punct(","):
            break
    p.expect_punct(")")
    return names


def check_query_sources(env: Env, query_start: int) -> None:
    """The tables and views a SELECT reads at its top level must exist when the view is created.

    Only names right after a top-level FROM or JOIN (or a comma in the FROM list) are checked; names defined by
    the query's own WITH clause, subqueries, table functions and stages are skipped.
    """
    p = env.parser
    tokens = p.tokens
    ctes: set[str] = set()
    depth = 0
    in_from = False
    for index in range(query_start, len(tokens)):
        token = tokens[index]
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            depth -= 1
        if depth != 0:
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else token
        names_cte = following.is_name and index + 2 < len(tokens) and tokens[index + 2].is_keyword("AS")
        if names_cte and (token.is_keyword("WITH") or (token.is_punct(",") and not in_from)):
            ctes.add(following.value)
        if token.is_keyword("FROM", "JOIN") or (token.is_punct(",") and in_from):
            in_from = True
            if following.is_name and not following.is_keyword("TABLE", "LATERAL", "VALUES"):
                saved = p.pos
                p.pos = index + 1
                raw = p.expect_name()
                called = p.at_punct("(")
                p.pos = saved
                if not called and not (len(raw.parts) == 1 and raw.last in ctes):
                    _require_relation(env, raw)
        elif token.is_keyword("WHERE", "GROUP", "HAVING", "QUALIFY", "ORDER", "LIMIT", "UNION", "SELECT"):
            in_from = False


def _require_relation(env: Env, raw: RawName) -> None:
    name = env.qualify(raw, "CREATE VIEW")
    if name.schema == "INFORMATION_SCHEMA" or name.database == "SNOWFLAKE":
        return
    if env.find(name, "tables") is None and env.find(name, "views") is None:
        env.schema_of(name)
        raise does_not_exist(name.display)


def create_view(env: Env, mode: CreateMode, statement_start: int) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE VIEW")
    columns = _view_columns(p) if p.at_punct("(") else []
    props: dict[str, Any] = {}
    while not p.at_keyword("AS"):
        if p.accept_keywords("COPY", "GRANTS"):
            continue
        more = p.properties({"COMMENT": read.string, "CHANGE_TRACKING": read.boolean})
        if not more or set(more) & set(props):
            raise p.error()
        props.update(more)
    p.expect_keyword("AS")
    query_start = p.pos
    query = p.rest()
    p.expect_end()
    schema = env.schema_of(name)
    if name.name in schema.tables:
        raise already_exists(name.name)
    answer = env.check_create(schema.views.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    check_query_sources(env, query_start)
    schema.views[name.name] = View(
        **env.base(name.name, props.get("COMMENT")),
        text=p.text[statement_start : p.end_offset()],
        query=query,
        secure="SECURE" in mode.modifiers,
        columns=columns,
        change_tracking=props.get("CHANGE_TRACKING", False),
    )
    return created("View", name.name)


def alter_view(env: Env, if_exists: bool) -> list[Row]:
    """One property per statement (reference §11.2)."""
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER VIEW")
    action = p.expect_keyword("SET", "UNSET")
    if action == "SET" and p.accept_keyword("SECURE"):
        change: tuple[str, Any] = ("SECURE", True)
    elif action == "UNSET":
        key = p.expect_keyword("SECURE", "COMMENT", "CHANGE_TRACKING")
        change = (key, False if key != "COMMENT" else None)
    else:
        props = p.properties({"COMMENT": read.string, "CHANGE_TRACKING": read.boolean})
        if len(props) != 1:
            raise p.error()
        (change,) = props.items()
    p.expect_end()
    view: View | None = env.find(name, "views")
    if view is None and if_exists:
        return status(STATEMENT_OK)
    view = env.require(name, "views")
    assert view is not None
    key, value = change
    if key == "SECURE":
        view.secure = value
    elif key == "COMMENT":
        view.comment = value
    else:
        view.change_tracking = value
    return status(STATEMENT_OK)
