"""CREATE / ALTER for the moving parts: pipes, streams, procedures and tasks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from retail_etl.cron import for_croniter
from retail_etl.emulator import parser as read
from retail_etl.emulator.catalog import (
    Argument,
    ObjectName,
    Pipe,
    Procedure,
    Stream,
    Task,
    procedure_key,
)
from retail_etl.emulator.context import STATEMENT_OK, CreateMode, Env, Row, created, status
from retail_etl.emulator.ddl_tables import parse_type, resolve_format_name
from retail_etl.emulator.errors import (
    column_count_mismatch,
    invalid_identifier,
    invalid_parameter_value,
    root_task_not_suspended,
)
from retail_etl.emulator.formats import read_inline_format
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser, RawName

# --- pipe ----------------------------------------------------------------------------------------------------

_PIPE_PROPERTIES = {
    "AUTO_INGEST": read.boolean,
    "ERROR_INTEGRATION": read.name,
    "AWS_SNS_TOPIC": read.string,
    "INTEGRATION": read.string,
    "COMMENT": read.string,
}
_PIPE_SETTABLE = {"PIPE_EXECUTION_PAUSED": read.boolean, "ERROR_INTEGRATION": read.name, "COMMENT": read.string}


@dataclass
class CopyStatement:
    """What a pipe's COPY INTO refers to, with where each name was written (for error positions)."""

    table: RawName
    columns: list[tuple[str, int]]
    stage: RawName
    select_items: int | None  # the number of SELECT items of a COPY transformation
    file_format: RawName | str | None


def _stage_reference(p: Parser) -> RawName:
    """``@name`` and an optional path written right after it (``@stage/2024/``)."""
    at = p.expect_punct("@")
    if p.peek().start != at.end:
        raise p.error()
    name = p.expect_name()
    end = p.tokens[p.pos - 1].end
    while p.peek().start == end and not p.at_end() and not p.at_punct(")", ","):
        end = p.next().end
    return name


def _count_select_items(p: Parser) -> int:
    """Consume ``SELECT item, item ... FROM`` and count the items (commas at the SELECT's own depth)."""
    p.expect_keyword("SELECT")
    items, depth = 1, 0
    while True:
        token = p.next()
        if token.kind is TokenKind.EOF:
            raise p.error(token)
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            depth -= 1
        elif depth == 0 and token.is_punct(","):
            items += 1
        elif depth == 0 and token.is_keyword("FROM"):
            return items


def parse_copy(p: Parser) -> CopyStatement:
    """``COPY INTO t [(cols)] FROM { @stage | ( SELECT ... FROM @stage [alias] ) } [options]``."""
    p.expect_keywords("COPY", "INTO")
    table = p.expect_name()
    columns: list[tuple[str, int]] = []
    if p.accept_punct("("):
        while True:
            offset = p.peek().start
            columns.append((p.expect_identifier(), offset))
            if not p.accept_punct(","):
                break
        p.expect_punct(")")
    p.expect_keyword("FROM")
    select_items = None
    if p.accept_punct("("):
        select_items = _count_select_items(p)
        stage = _stage_reference(p)
        if p.peek().is_name:
            p.next()  # the stage's alias
        p.expect_punct(")")
    else:
        stage = _stage_reference(p)
    options = p.properties({"FILE_FORMAT": read_inline_format}, separators=True, other=read.raw_value)
    file_format = options["FILE_FORMAT"][0] if "FILE_FORMAT" in options else None
    return CopyStatement(table, columns, stage, select_items, file_format)


def _check_copy(env: Env, copy: CopyStatement) -> tuple[ObjectName, ObjectName, int]:
    """The COPY's table, stage and file format must exist, and its columns match (as at pipe creation)."""
    table_name = env.qualify(copy.table, "CREATE PIPE")
    table = env.table(table_name)
    for column, offset in copy.columns:
        if table.column(column) is None:
            raise invalid_identifier(env.parser.text, offset, column)
    expected = len(copy.columns) if copy.columns else len(table.columns)
    if copy.select_items is not None and copy.select_items != expected:
        raise column_count_mismatch(expected, copy.select_items)
    stage_name = env.qualify(copy.stage, "CREATE PIPE")
    stage = env.require(stage_name, "stages")
    if copy.file_format is not None:
        resolve_format_name(env, copy.file_format)
    return table_name, stage_name, stage.id


def create_pipe(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE PIPE")
    props = p.properties(_PIPE_PROPERTIES)
    p.expect_keyword("AS")
    start = p.peek().start
    copy = parse_copy(p)
    p.expect_end()
    definition = p.text[start : p.end_offset()]
    schema = env.schema_of(name)
    answer = env.check_create(schema.pipes.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    error_integration = _integration_name(env, props.get("ERROR_INTEGRATION"))
    table, stage, stage_id = _check_copy(env, copy)
    schema.pipes[name.name] = Pipe(
        **env.base(name.name, props.get("COMMENT")),
        definition=definition,
        table=table,
        stage=stage,
        stage_id=stage_id,
        auto_ingest=props.get("AUTO_INGEST", False),
        error_integration=error_integration,
        aws_sns_topic=props.get("AWS_SNS_TOPIC"),
        integration=props.get("INTEGRATION"),
    )
    return created("Pipe", name.name)


def _integration_name(env: Env, raw: RawName | None) -> str | None:
    """An ERROR_INTEGRATION / SUCCESS_INTEGRATION: an existing notification integration."""
    if raw is None:
        return None
    return env.notification_integration(env.single(raw, env.parser)).name


def alter_pipe(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER PIPE")
    action = p.expect_keyword("SET", "UNSET", "REFRESH")
    changes: dict[str, Any] = {}
    if action == "SET":
        changes = p.properties(_PIPE_SETTABLE)
        if not changes:
            raise p.error()
    elif action == "UNSET":
        changes = dict.fromkeys([p.expect_keyword(*_PIPE_SETTABLE)])
        while p.accept_punct(","):
            changes[p.expect_keyword(*_PIPE_SETTABLE)] = None
    else:
        p.properties({"PREFIX": read.string, "MODIFIED_AFTER": read.raw_value})
    p.expect_end()
    pipe: Pipe | None = env.find(name, "pipes")
    if pipe is None and if_exists:
        return status(STATEMENT_OK)
    pipe = env.require(name, "pipes")
    assert pipe is not None
    if action == "REFRESH":
        # No staged files are modelled yet: nothing is queued, so REFRESH answers with no rows.
        return []
    for key, value in changes.items():
        if key == "PIPE_EXECUTION_PAUSED":
            pipe.paused = bool(value)
        elif key == "ERROR_INTEGRATION":
            pipe.error_integration = _integration_name(env, value)
        elif key == "COMMENT":
            pipe.comment = value
    return status(STATEMENT_OK)


# --- stream --------------------------------------------------------------------------------------------------


def create_stream(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE STREAM")
    p.accept_keywords("COPY", "GRANTS")
    p.expect_keywords("ON", "TABLE")
    table_raw = p.expect_name()
    offset_stream: str | None = None
    if p.accept_keyword("AT", "BEFORE"):
        p.expect_punct("(")
        p.expect_keyword("STREAM")
        p.expect_punct("=>")
        offset_stream = p.expect_string()
        p.expect_punct(")")
    props = p.properties({"APPEND_ONLY": read.boolean, "SHOW_INITIAL_ROWS": read.boolean, "COMMENT": read.string})
    p.expect_end()
    schema = env.schema_of(name)
    answer = env.check_create(schema.streams.get(name.name), name.name, mode)
    if answer is not None:
        return answer
    table_name = env.qualify(table_raw, "CREATE STREAM")
    table = env.table(table_name)
    if offset_stream is not None:
        # AT(STREAM => ...) takes the offset of an existing stream (the one being replaced, usually).
        env.require(env.qualify_text(offset_stream, "CREATE STREAM"), "streams")
    # The first stream on a table turns on its change tracking.
    table.change_tracking = True
    schema.streams[name.name] = Stream(
        **env.base(name.name, props.get("COMMENT")),
        table=table_name,
        table_id=table.id,
        mode="APPEND_ONLY" if props.get("APPEND_ONLY") else "DEFAULT",
        show_initial_rows=props.get("SHOW_INITIAL_ROWS", False),
    )
    return created("Stream", name.name)


def alter_stream(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER STREAM")
    if p.accept_keyword("SET"):
        comment: str | None = p.properties({"COMMENT": read.string}).get("COMMENT")
        if comment is None:
            raise p.error()
    else:
        p.expect_keywords("UNSET", "COMMENT")
        comment = None
    p.expect_end()
    stream: Stream | None = env.find(name, "streams")
    if stream is None and if_exists:
        return status(STATEMENT_OK)
    stream = env.require(name, "streams")
    assert stream is not None
    stream.comment = comment
    return status(STATEMENT_OK)


# --- procedure -----------------------------------------------------------------------------------------------


def argument_types(p: Parser) -> list[str]:
    """``(TYPE, TYPE)`` in DROP / ALTER / DESC PROCEDURE: the unparameterized names that identify an overload."""
    p.expect_punct("(")
    types: list[str] = []
    while not p.accept_punct(")"):
        if types:
            p.expect_punct(",")
        types.append(parse_type(p).base)
    return types


def _arguments(p: Parser) -> list[Argument]:
    p.expect_punct("(")
    arguments: list[Argument] = []
    while not p.accept_punct(")"):
        if arguments:
            p.expect_punct(",")
        name = p.expect_identifier()
        if p.at_keyword("IN", "INPUT", "OUT", "OUTPUT") and p.peek(1).kind is TokenKind.IDENT:
            p.next()
        kind = parse_type(p).base
        default = p.expect_raw_value() if p.accept_keyword("DEFAULT") else None
        arguments.append(Argument(name=name, type=kind, default=default))
    return arguments


def _returns(p: Parser) -> tuple[str, str]:
    """``RETURNS type [NOT NULL]`` or ``RETURNS TABLE (...)``: the type as written, and its unparameterized name."""
    start = p.peek()
    if p.accept_keyword("TABLE"):
        p.skip_group()
        kind = "TABLE"
    else:
        kind = parse_type(p).base
    written = p.text[start.start : p.tokens[p.pos - 1].end]
    p.accept_keywords("NOT", "NULL")
    return written, kind


# What a procedure without a COMMENT reports (the description SHOW PROCEDURES gives, reference §9.3).
DEFAULT_PROCEDURE_COMMENT = "user-defined procedure"
# Handler settings of Python / Java / Scala procedures: accepted so their DDL runs, not modelled.
_PROCEDURE_PROPERTIES = {
    "COMMENT": read.string,
    "RUNTIME_VERSION": read.string,
    "HANDLER": read.string,
    "PACKAGES": read.raw_value,
    "IMPORTS": read.raw_value,
    "EXTERNAL_ACCESS_INTEGRATIONS": read.raw_value,
    "SECRETS": read.raw_value,
    "TARGET_PATH": read.string,
}


def create_procedure(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE PROCEDURE")
    arguments = _arguments(p)
    p.accept_keywords("COPY", "GRANTS")
    p.expect_keyword("RETURNS")
    returns, returns_type = _returns(p)
    language = "SQL"
    null_handling, volatility, execute_as = "CALLED ON NULL INPUT", "VOLATILE", "OWNER"
    props: dict[str, Any] = {}
    while not p.at_keyword("AS"):
        if p.accept_keyword("LANGUAGE"):
            language = p.expect_identifier()
        elif p.accept_keywords("CALLED", "ON", "NULL", "INPUT"):
            null_handling = "CALLED ON NULL INPUT"
        elif p.accept_keywords("RETURNS", "NULL", "ON", "NULL", "INPUT") or p.accept_keyword("STRICT"):
            null_handling = "RETURNS NULL ON NULL INPUT"
        elif p.at_keyword("VOLATILE", "IMMUTABLE"):
            volatility = p.next().value
        elif p.accept_keywords("EXECUTE", "AS"):
            restricted = p.accept_keywords("RESTRICTED", "CALLER")
            execute_as = "RESTRICTED CALLER" if restricted else p.expect_keyword("OWNER", "CALLER")
        elif p.accept_keywords("COPY", "GRANTS"):
            continue
        else:
            more = p.properties(_PROCEDURE_PROPERTIES)
            if not more or set(more) & set(props):
                raise p.error()
            props.update(more)
    p.expect_keyword("AS")
    body = p.expect_string()
    p.expect_end()
    schema = env.schema_of(name)
    types = [a.type for a in arguments]
    key = procedure_key(name.name, types)
    answer = env.check_create(schema.procedures.get(key), name.name, mode)
    if answer is not None:
        return answer
    schema.procedures[key] = Procedure(
        **env.base(name.name, props.get("COMMENT", DEFAULT_PROCEDURE_COMMENT)),
        arguments=arguments,
        returns=returns,
        returns_type=returns_type,
        language=language,
        body=body,
        execute_as=execute_as,
        null_handling=null_handling,
        volatility=volatility,
        secure="SECURE" in mode.modifiers,
    )
    # Snowflake reports procedures as functions here.
    return created("Function", name.name)


def procedure_reference(env: Env, operation: str) -> tuple[ObjectName, str]:
    """``name(TYPE, ...)``: the name and the signature key of one overload."""
    name = env.qualify(env.parser.expect_name(), operation)
    return name, procedure_key(name.name, argument_types(env.parser))


def alter_procedure(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name, key = procedure_reference(env, "ALTER PROCEDURE")
    if p.accept_keywords("EXECUTE", "AS"):
        value: tuple[str, str | None] = ("EXECUTE AS", p.expect_keyword("OWNER", "CALLER"))
    elif p.accept_keyword("SET"):
        comment = p.properties({"COMMENT": read.string}).get("COMMENT")
        if comment is None:
            raise p.error()
        value = ("COMMENT", comment)
    else:
        p.expect_keywords("UNSET", "COMMENT")
        value = ("COMMENT", None)
    p.expect_end()
    procedure = env.find_procedure(name, key)
    if procedure is None:
        if if_exists:
            return status(STATEMENT_OK)
        procedure = env.require_procedure(name, key)
    if value[0] == "COMMENT":
        procedure.comment = value[1] or DEFAULT_PROCEDURE_COMMENT
    else:
        procedure.execute_as = str(value[1])
    return status(STATEMENT_OK)


# --- task ----------------------------------------------------------------------------------------------------

_INTERVAL = re.compile(r"^\s*\d+\s+(SECOND|SECONDS|MINUTE|MINUTES|HOUR|HOURS)\s*$", re.IGNORECASE)


def _schedule(parser: Parser) -> str:
    """``'<n> MINUTES'`` or ``'USING CRON <expr> <time zone>'``, checked as Snowflake checks it."""
    value = parser.expect_string()
    parts = value.split()
    if _INTERVAL.match(value):
        return value
    if len(parts) == 8 and [w.upper() for w in parts[:2]] == ["USING", "CRON"]:
        try:
            ZoneInfo(parts[7])
            valid_zone = True
        except (ZoneInfoNotFoundError, ValueError):
            valid_zone = False
        if valid_zone and croniter.is_valid(for_croniter(" ".join(parts[2:7]))):
            return value
    raise invalid_parameter_value("SCHEDULE", value)


_TASK_PROPERTIES = {
    "WAREHOUSE": read.name,
    "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE": read.string_or_word,
    "SCHEDULE": _schedule,
    "CONFIG": read.raw_value,
    "OVERLAP_POLICY": read.word,
    "ALLOW_OVERLAPPING_EXECUTION": read.boolean,
    "ERROR_INTEGRATION": read.name,
    "SUCCESS_INTEGRATION": read.name,
    "COMMENT": read.string,
    "FINALIZE": read.name,
}


def _root(env: Env, name: ObjectName, task: Task) -> tuple[ObjectName, Task]:
    """The root of the task's graph (the task itself when it has no predecessors)."""
    seen = {task.id}
    while task.predecessors:
        parent_name = task.predecessors[0]
        parent: Task | None = env.find(parent_name, "tasks")
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        name, task = parent_name, parent
    return name, task


def _require_root_suspended(env: Env, name: ObjectName, task: Task) -> None:
    """A task's graph can change only while its root is suspended (reference §8.3)."""
    root_name, root = _root(env, name, task)
    if root.state == "started":
        raise root_task_not_suspended(root_name.display)


def _apply_task_settings(env: Env, task: Task, settings: dict[str, Any]) -> None:
    for key, value in settings.items():
        if key == "WAREHOUSE":
            task.warehouse = env.single(value, env.parser) if value is not None else None
        elif key == "SCHEDULE":
            task.schedule = value
        elif key in ("ERROR_INTEGRATION", "SUCCESS_INTEGRATION"):
            setattr(task, key.lower(), _integration_name(env, value))
        elif key == "COMMENT":
            task.comment = value
        elif key == "CONFIG":
            task.config = value
        elif key == "OVERLAP_POLICY":
            task.allow_overlapping_execution = value not in (None, "NO_OVERLAP")
        elif key == "ALLOW_OVERLAPPING_EXECUTION":
            task.allow_overlapping_execution = bool(value)
        elif key == "FINALIZE":
            task.finalize = env.qualify(value, "ALTER TASK") if value is not None else None
            if task.finalize is not None:
                env.require(task.finalize, "tasks")
        elif value is None:
            task.parameters.pop(key, None)
        else:
            task.parameters[key] = value


def _predecessors(env: Env, names: list[RawName]) -> list[ObjectName]:
    resolved = [env.qualify(raw, "CREATE TASK") for raw in names]
    for name in resolved:
        env.require(name, "tasks")
    return resolved


def _until_as(p: Parser) -> str:
    """The WHEN expression as written: every token up to the top-level AS."""
    start, depth = p.peek(), 0
    while not (depth == 0 and p.at_keyword("AS")):
        token = p.next()
        if token.kind is TokenKind.EOF:
            raise p.error(token)
        depth += 1 if token.is_punct("(") else -1 if token.is_punct(")") else 0
    if p.peek() is start:
        raise p.error()
    return p.text[start.start : p.tokens[p.pos - 1].end]


def create_task(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "CREATE TASK")
    settings = p.properties(_TASK_PROPERTIES, separators=True, other=read.raw_value)
    predecessors = p.expect_name_list() if p.accept_keyword("AFTER") else []
    execute_as_user = p.expect_identifier() if p.accept_keywords("EXECUTE", "AS", "USER") else None
    condition = _until_as(p) if p.accept_keyword("WHEN") else None
    p.expect_keyword("AS")
    definition = p.rest()
    p.expect_end()
    schema = env.schema_of(name)
    existing: Task | None = schema.tasks.get(name.name)
    answer = env.check_create(existing, name.name, mode)
    if answer is not None:
        return answer
    if existing is not None and existing.predecessors:
        _require_root_suspended(env, name, existing)
    task = Task(
        **env.base(name.name),
        definition=definition,
        condition=condition,
        predecessors=_predecessors(env, predecessors),
        execute_as_user=execute_as_user,
    )
    for predecessor in task.predecessors:
        parent: Task = env.require(predecessor, "tasks")
        _require_root_suspended(env, predecessor, parent)
    _apply_task_settings(env, task, settings)
    schema.tasks[name.name] = task
    return created("Task", name.name)


def alter_task(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.qualify(p.expect_name(), "ALTER TASK")
    action = p.expect_keyword("RESUME", "SUSPEND", "SET", "UNSET", "MODIFY", "REMOVE", "ADD")
    change: Any = None
    if action == "SET":
        change = p.properties(_TASK_PROPERTIES, separators=True, other=read.raw_value)
        if not change:
            raise p.error()
    elif action == "UNSET":
        change = dict.fromkeys([p.expect_identifier()])
        while p.accept_punct(","):
            change[p.expect_identifier()] = None
    elif action == "MODIFY":
        action = "MODIFY " + p.expect_keyword("AS", "WHEN")
        change = p.rest()
    elif action == "REMOVE" and p.accept_keyword("WHEN"):
        action = "REMOVE WHEN"
    elif action in ("REMOVE", "ADD"):
        p.expect_keyword("AFTER")
        action += " AFTER"
        change = p.expect_name_list()
    p.expect_end()
    task: Task | None = env.find(name, "tasks")
    if task is None and if_exists:
        return status(STATEMENT_OK)
    task = env.require(name, "tasks")
    assert task is not None
    if action in ("RESUME", "SUSPEND"):
        if task.predecessors:
            _require_root_suspended(env, name, task)
        _set_state(env, task, "started" if action == "RESUME" else "suspended")
        return status(STATEMENT_OK)
    _require_root_suspended(env, name, task)
    if action in ("SET", "UNSET"):
        _apply_task_settings(env, task, change)
    elif action == "MODIFY AS":
        task.definition = change
    elif action == "MODIFY WHEN":
        task.condition = change
    elif action == "REMOVE WHEN":
        task.condition = None
    elif action == "ADD AFTER":
        task.predecessors.extend(n for n in _predecessors(env, change) if n not in task.predecessors)
    else:
        removed = {env.qualify(raw, "ALTER TASK") for raw in change}
        task.predecessors = [n for n in task.predecessors if n not in removed]
    return status(STATEMENT_OK)


def _set_state(env: Env, task: Task, state: str) -> None:
    if task.state == state:
        return
    task.state = state
    if state == "started":
        task.last_committed_on = env.now
    else:
        task.last_suspended_on, task.last_suspended_reason = env.now, "USER_SUSPENDED"


def execute_task(env: Env) -> list[Row]:
    """EXECUTE TASK: the run itself is not modelled yet; the task must exist."""
    p = env.parser
    name = env.qualify(p.expect_name(), "EXECUTE TASK")
    p.accept_keywords("RETRY", "LAST")
    p.expect_end()
    task: Task = env.require(name, "tasks")
    task.last_committed_on = task.last_committed_on or env.now
    return status(f"Task {name.name} is scheduled to run immediately.")
