"""Exact-SQL golden tests for every template, rendered through the handlers, and hostile-value properties.

Every case builds its objects here, renders them the way the planner does (``create``, ``replace``, or ``decide``
for a desired/observed pair) and compares the statements byte for byte with ``tests/golden/<kind>/<case>.sql``:
each statement ends in ``;`` and statements are separated by a blank line. The golden files were reviewed against
the Snowflake reference (§1-§11, §14). After a deliberate template change, rewrite them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_templates.py

and review the diff before committing: a golden file is a claim that the SQL in it is right.

Hostile values (quotes, backslashes, ``$$``, newlines, backticks, double quotes in names) are checked beyond their
golden bytes: the output is lexed with Snowflake's rules and must have exactly the structure of a benign rendering,
with every literal and quoted name decoding to the value that went in.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from retail_etl.identifiers import Identifier, QualifiedName, parse_qualified
from retail_etl.objects import HANDLERS
from retail_etl.objects.base import Action, DesiredObject, ObservedObject, changed_properties, managed_comment
from retail_etl.objects.container import DatabaseObject, SchemaObject
from retail_etl.objects.ingest import (
    CopyColumn,
    PipeObject,
    ProcedureObject,
    StreamObject,
    TaskObject,
    TransformColumn,
    TransformObject,
    ViewObject,
)
from retail_etl.objects.integration import NotificationIntegrationObject, StorageIntegrationObject
from retail_etl.objects.storage import FileFormatObject, StageObject
from retail_etl.objects.table import Column, TableObject
from retail_etl.render import call_macro, split_statements
from test_identifiers import read_literal

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

# --- hostile values ----------------------------------------------------------------------------------------------

OBRIEN = "O'Brien"
TRAILING_BACKSLASH = "abc\\"
BACKSLASH_QUOTE_INJECTION = "\\'; DROP TABLE x; --"
QUOTE_INJECTION = "'; DROP TABLE x; --"
DOLLARS = "$$"
NEWLINE = "first line\nsecond line"
CONTROL = "tab\there\r\nnul\x00012"
JS_BREAKOUT = '`${x}` "}); snowflake.execute({sqlText: "DROP TABLE x"}); //'
HOSTILE = [OBRIEN, TRAILING_BACKSLASH, BACKSLASH_QUOTE_INJECTION, QUOTE_INJECTION, DOLLARS, NEWLINE, CONTROL]
HOSTILE_IDS = ["obrien", "trailing_backslash", "backslash_quote", "quote", "dollars", "newline", "control"]

# Quoted names (as written in YAML) and what Snowflake stores for them.
HOSTILE_NAMES = {'my"name': 'my"name', '"My Table"': "My Table", "select": "select", "a.b": "a.b", OBRIEN: OBRIEN}


# --- lexers ------------------------------------------------------------------------------------------------------

_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_$")
_JS_LINE_TERMINATORS = "\n\r\u2028\u2029"


@dataclass
class Lexed:
    """A statement split the way Snowflake's lexer would: its structure and the values in its tokens."""

    skeleton: str  # the text with every literal, quoted name, $$ body and comment replaced by a placeholder
    literals: list[str]  # decoded single-quoted literals, in order
    identifiers: list[str]  # decoded double-quoted identifiers, in order
    bodies: list[str]  # $$ ... $$ contents, in order
    comments: list[str]


def lex_sql(sql: str) -> Lexed:
    """Tokenize SQL text: ``'...'`` (backslash escapes and ``''``), ``"..."`` (``""``), ``$$...$$``, comments."""
    out: list[str] = []
    lexed = Lexed("", [], [], [], [])
    i = 0
    while i < len(sql):
        char = sql[i]
        if char == "'":
            value, i = read_literal(sql, i)
            lexed.literals.append(value)
            out.append("'?'")
        elif char == '"':
            end, name = i + 1, []
            while True:
                assert end < len(sql), f"unterminated quoted identifier: {sql[i : i + 60]!r}"
                if sql[end] == '"':
                    if sql[end + 1 : end + 2] == '"':
                        name.append('"')
                        end += 2
                        continue
                    break
                name.append(sql[end])
                end += 1
            lexed.identifiers.append("".join(name))
            out.append('"?"')
            i = end + 1
        elif sql.startswith("$$", i) and (i == 0 or sql[i - 1] not in _IDENT_CHARS):
            end = sql.find("$$", i + 2)
            assert end >= 0, f"unterminated $$ body: {sql[i : i + 60]!r}"
            lexed.bodies.append(sql[i + 2 : end])
            out.append("$$?$$")
            i = end + 2
        elif sql.startswith(("--", "//"), i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            lexed.comments.append(sql[i:end])
            out.append("--?")
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            assert end >= 0, "unterminated block comment"
            lexed.comments.append(sql[i : end + 2])
            out.append("/*?*/")
            i = end + 2
        else:
            out.append(char)
            i += 1
    lexed.skeleton = "".join(out)
    return lexed


@dataclass
class LexedJs:
    skeleton: str
    strings: list[str]  # decoded double-quoted strings (the generator writes JSON strings only)
    comments: list[str]


def lex_js(js: str) -> LexedJs:
    """Tokenize the JavaScript the procedure template writes: strings, comments, code. No template literals."""
    out: list[str] = []
    lexed = LexedJs("", [], [])
    i = 0
    while i < len(js):
        char = js[i]
        if char in "\"'":
            end = i + 1
            while True:
                assert end < len(js), f"unterminated JavaScript string: {js[i : i + 60]!r}"
                current = js[end]
                assert current not in _JS_LINE_TERMINATORS, f"line terminator inside a JS string: {js[i:end]!r}"
                if current == "\\":
                    assert js[end + 1] not in _JS_LINE_TERMINATORS, "line continuation inside a JS string"
                    end += 2
                    continue
                if current == char:
                    break
                end += 1
            assert char == '"', f"single-quoted JS string: {js[i : end + 1]!r}"
            lexed.strings.append(json.loads(js[i : end + 1]))
            out.append('"?"')
            i = end + 1
        elif char == "`":
            raise AssertionError(f"template literal in generated JavaScript: {js[i : i + 60]!r}")
        elif js.startswith("//", i):
            end = i
            while end < len(js) and js[end] not in _JS_LINE_TERMINATORS:
                end += 1
            lexed.comments.append(js[i:end])
            out.append("//?")
            i = end
        elif js.startswith("/*", i):
            end = js.find("*/", i + 2)
            assert end >= 0, "unterminated JS block comment"
            lexed.comments.append(js[i : end + 2])
            out.append("/*?*/")
            i = end + 2
        else:
            out.append(char)
            i += 1
    lexed.skeleton = "".join(out)
    return lexed


def assert_one_statement(statement: str) -> Lexed:
    """Every statement is executed on its own: no ';' and no comment may appear outside literals and bodies."""
    lexed = lex_sql(statement)
    assert ";" not in lexed.skeleton, f"statement separator outside a literal:\n{statement}"
    assert not lexed.comments, f"comment outside a literal or body:\n{statement}"
    for body in lexed.bodies:
        assert "$$" not in body
    return lexed


def procedure_body(statement: str) -> str:
    """The body of a CREATE PROCEDURE as Snowflake stores it, after checking that its delimiters hold.

    A ``$$`` body must be the last token and contain no ``$$``; a body holding ``$$`` must instead be one escaped
    single-quoted literal (§14.3), again the last token.
    """
    lexed = assert_one_statement(statement)
    if lexed.skeleton.endswith("  AS\n$$?$$"):
        assert len(lexed.bodies) == 1
        assert statement.endswith("$$") and statement.count("$$") == 2
        return lexed.bodies[0]
    assert lexed.skeleton.endswith("  AS\n'?'"), lexed.skeleton
    assert not lexed.bodies
    assert "$$" in lexed.literals[-1], "the single-quoted form is only for bodies that hold $$"
    return lexed.literals[-1]


# --- objects -----------------------------------------------------------------------------------------------------

DB = Identifier("RETAIL_DB")
BRONZE = Identifier("BRONZE")
SILVER = Identifier("SILVER")
GOLD = Identifier("GOLD")


def name_in(schema: Identifier, written: str) -> QualifiedName:
    """A schema-level name written as in YAML (canonicalized by :meth:`Identifier.parse`)."""
    return QualifiedName(name=Identifier.parse(written), database=DB, schema=schema)


def account_name(written: str) -> QualifiedName:
    return QualifiedName(name=Identifier.parse(written))


def database(**kw: Any) -> DatabaseObject:
    return DatabaseObject(**{"name": account_name("retail_db"), "comment": "Retail lakehouse", **kw})


def schema(**kw: Any) -> SchemaObject:
    return SchemaObject(**{"name": QualifiedName(name=BRONZE, database=DB), "comment": "Landing layer", **kw})


def storage_integration(**kw: Any) -> StorageIntegrationObject:
    return StorageIntegrationObject(
        **{
            "name": account_name("s3_bronze"),
            "role_arn": "arn:aws:iam::123456789012:role/snowflake-access",
            "allowed_locations": ("s3://retail-landing/raw_data/",),
            "external_id": "retail_etl_s3_bronze",
            "comment": "S3 landing bucket",
            **kw,
        }
    )


def notification_integration(**kw: Any) -> NotificationIntegrationObject:
    return NotificationIntegrationObject(
        **{
            "name": account_name("errors_sns"),
            "topic_arn": "arn:aws:sns:us-east-1:123456789012:retail-errors",
            "role_arn": "arn:aws:iam::123456789012:role/snowflake-sns",
            "comment": "Pipe and task errors",
            **kw,
        }
    )


def file_format(**kw: Any) -> FileFormatObject:
    return FileFormatObject(
        **{
            "name": name_in(BRONZE, "orders_csv_format"),
            "field_delimiter": ",",
            "field_optionally_enclosed_by": '"',
            "skip_header": 1,
            "null_if": ("NULL", "null", "\\N"),
            "comment": "Orders CSV",
            **kw,
        }
    )


def stage(**kw: Any) -> StageObject:
    return StageObject(
        **{
            "name": name_in(BRONZE, "orders_stage"),
            "url": "s3://retail-landing/raw_data/orders/",
            "storage_integration": account_name("s3_bronze"),
            "comment": "Orders landing files",
            **kw,
        }
    )


LANDING_COLUMNS = (
    Column(name=Identifier("ORDER_ID"), type="VARCHAR(50)", collate="en-ci"),
    Column(name=Identifier("AMOUNT"), type="NUMBER(12,2)"),
    Column(name=Identifier("NOTE"), type="VARCHAR(500)", comment="free text from the shop"),
    Column(name=Identifier("INSERT_DTS"), type="TIMESTAMP_NTZ(6)", nullable=False),
    Column(name=Identifier("SOURCE_FILE_NAME"), type="VARCHAR(500)", nullable=False),
    Column(name=Identifier("SOURCE_FILE_ROW_NUMBER"), type="NUMBER(38,0)", nullable=False),
)


def table(**kw: Any) -> TableObject:
    return TableObject(
        **{"name": name_in(BRONZE, "work_orders_copy"), "columns": LANDING_COLUMNS, "comment": "Orders landing", **kw}
    )


def silver_table(**kw: Any) -> TableObject:
    columns = (
        Column(name=Identifier("ORDER_ID"), type="VARCHAR(50)", nullable=False, collate="en-ci"),
        Column(name=Identifier("AMOUNT"), type="NUMBER(12,2)"),
        Column(name=Identifier("MD5_HASH"), type="VARCHAR(80)", nullable=False),
    )
    return TableObject(
        **{
            "name": name_in(SILVER, "orders"),
            "columns": columns,
            "primary_key": (Identifier("ORDER_ID"), Identifier("MD5_HASH")),
            "transient": True,
            "data_retention_days": 0,
            **kw,
        }
    )


PIPE_COLUMNS = (
    CopyColumn(name=Identifier("ORDER_ID"), position=1),
    CopyColumn(name=Identifier("AMOUNT"), position=2),
    CopyColumn(name=Identifier("NOTE"), position=3),
    CopyColumn(name=Identifier("INSERT_DTS"), expression="CURRENT_TIMESTAMP(6)"),
    CopyColumn(name=Identifier("SOURCE_FILE_NAME"), expression="METADATA$FILENAME"),
    CopyColumn(name=Identifier("SOURCE_FILE_ROW_NUMBER"), expression="METADATA$FILE_ROW_NUMBER"),
)


def pipe(**kw: Any) -> PipeObject:
    return PipeObject(
        **{
            "name": name_in(BRONZE, "work_orders_pipe"),
            "table": name_in(BRONZE, "work_orders_copy"),
            "stage": name_in(BRONZE, "orders_stage"),
            "file_format": name_in(BRONZE, "orders_csv_format"),
            "columns": PIPE_COLUMNS,
            "error_integration": account_name("errors_sns"),
            "comment": "Auto-ingest of the orders files",
            **kw,
        }
    )


def stream(**kw: Any) -> StreamObject:
    return StreamObject(
        **{
            "name": name_in(BRONZE, "work_orders_stream"),
            "table": name_in(BRONZE, "work_orders_copy"),
            "comment": "New landing rows",
            **kw,
        }
    )


def transform(source_system: str = "SHOP", **kw: Any) -> TransformObject:
    columns = (
        TransformColumn(name=Identifier("ORDER_ID"), type="VARCHAR(50)", source="stream"),
        TransformColumn(name=Identifier("AMOUNT"), type="NUMBER(12,2)", source="stream"),
        TransformColumn(name=Identifier("SOURCE_SYS_NAME"), type="VARCHAR(20)", source="constant", value=source_system),
        TransformColumn(name=Identifier("PROCESS_ID"), type="VARCHAR(100)", source="session"),
        TransformColumn(name=Identifier("INSERT_DTS"), type="TIMESTAMP_NTZ(6)", source="stream"),
        TransformColumn(name=Identifier("UPDATE_DTS"), type="TIMESTAMP_NTZ(6)", source="stream"),
        TransformColumn(name=Identifier("MD5_HASH"), type="VARCHAR(80)", source="hash"),
    )
    return TransformObject(
        **{
            "stream": name_in(BRONZE, "work_orders_stream"),
            "xfm_table": name_in(SILVER, "work_orders_xfm"),
            "target": name_in(SILVER, "orders"),
            "columns": columns,
            "merge_keys": (Identifier("ORDER_ID"),),
            "hash_columns": (Identifier("AMOUNT"), Identifier("SOURCE_SYS_NAME")),
            "hash_column": Identifier("MD5_HASH"),
            "update_ts": Identifier("UPDATE_DTS"),
            "insert_ts": Identifier("INSERT_DTS"),
            "order_columns": (Identifier("INSERT_DTS"), Identifier("SOURCE_FILE_NAME")),
            **kw,
        }
    )


def procedure(language: str = "JAVASCRIPT", **kw: Any) -> ProcedureObject:
    return ProcedureObject(
        **{
            "name": name_in(BRONZE, "work_orders_sp"),
            "language": language,
            "transform": transform(),
            "comment": "Landing to SILVER.ORDERS",
            **kw,
        }
    )


def task(**kw: Any) -> TaskObject:
    return TaskObject(
        **{
            "name": name_in(BRONZE, "work_orders_task"),
            "warehouse": Identifier("COMPUTE_WH"),
            "cron": "0 2 * * *",
            "timezone": "America/New_York",
            "procedure": name_in(BRONZE, "work_orders_sp"),
            "stream": name_in(BRONZE, "work_orders_stream"),
            "error_integration": account_name("errors_sns"),
            "comment": "Nightly load into SILVER.ORDERS",
            **kw,
        }
    )


def view(**kw: Any) -> ViewObject:
    return ViewObject(
        **{
            "name": name_in(GOLD, "orders_view"),
            "source": name_in(SILVER, "orders"),
            "columns": (Identifier("ORDER_ID"), Identifier("AMOUNT")),
            "comment": "Orders for reporting",
            **kw,
        }
    )


# --- rendering the way the planner does ----------------------------------------------------------------------------


def create(obj: DesiredObject) -> list[str]:
    return HANDLERS[obj.kind].create(obj)


def replace(obj: DesiredObject) -> list[str]:
    return HANDLERS[obj.kind].replace(obj, None)


def transition(old: DesiredObject, new: DesiredObject, expect: Action, **observed: Any) -> list[str]:
    """What the planner emits when the account holds ``old`` (plus ``observed`` overrides) and the specs ``new``."""
    assert old.ref == new.ref
    state = {**old.state(), **observed}
    changes = changed_properties(new.state(), state)
    assert changes, "the case must differ"
    verdict = HANDLERS[new.kind].decide(new, ObservedObject(old.ref, state, managed=True), changes)
    assert verdict.action is expect, verdict
    return verdict.statements


def script(statements: list[str]) -> str:
    return "\n\n".join(statement + ";" for statement in statements) + "\n"


class Case(NamedTuple):
    kind: str
    name: str
    render: Callable[[], list[str]]


def case(kind: str, name: str, render: Callable[[], list[str]]) -> Any:
    return pytest.param(Case(kind, name, render), id=f"{kind}/{name}")


ALTER, REPLACE = Action.ALTER, Action.REPLACE

_FILE_FORMAT_CHANGES: dict[str, dict[str, Any]] = {
    "field_delimiter": {"field_delimiter": "|"},
    "record_delimiter": {"record_delimiter": "\r\n"},
    "field_optionally_enclosed_by": {"field_optionally_enclosed_by": "'"},
    "field_optionally_enclosed_by_none": {"field_optionally_enclosed_by": None},
    "skip_header": {"skip_header": 0},
    "null_if": {"null_if": ()},
    "empty_field_as_null": {"empty_field_as_null": False},
    "trim_space": {"trim_space": True},
    "compression": {"compression": "GZIP"},
    "encoding": {"encoding": "ISO-8859-1"},
    "error_on_column_count_mismatch": {"error_on_column_count_mismatch": False},
    "comment": {"comment": "Orders CSV, v2"},
}

_TASK_CHANGES: dict[str, dict[str, Any]] = {
    "warehouse": {"warehouse": Identifier("TRANSFORM_WH")},
    "unset_warehouse": {"warehouse": None},
    "schedule": {"cron": "30 1 * * 1-5", "timezone": "UTC"},
    "error_integration": {"error_integration": account_name("other_sns")},
    "unset_error_integration": {"error_integration": None},
    "comment": {"comment": "Nightly load, v2"},
    "condition": {"stream": name_in(BRONZE, "work_orders_stream_v2")},
    "definition": {"procedure": name_in(BRONZE, "work_orders_sp_v2")},
}


def _altered(build: Callable[..., DesiredObject], change: dict[str, Any]) -> Callable[[], list[str]]:
    """The ALTER for one changed property: the account holds ``build()``, the specs ``build(**change)``."""
    return lambda: transition(build(), build(**change), ALTER)


def _hostile_table() -> TableObject:
    return table(
        name=name_in(BRONZE, 'my"name'),
        columns=(
            Column(name=Identifier.parse("select"), type="VARCHAR(10)", comment=TRAILING_BACKSLASH),
            Column(name=Identifier.parse('"Mixed Case"'), type="NUMBER(38,0)", nullable=False, comment=OBRIEN),
            Column(name=Identifier.parse("a.b"), type="VARCHAR(20)", collate="en-ci", comment=NEWLINE),
            Column(name=Identifier.parse(OBRIEN), type="DATE", comment=BACKSLASH_QUOTE_INJECTION),
        ),
        primary_key=(Identifier.parse("select"), Identifier.parse('"Mixed Case"')),
        comment=QUOTE_INJECTION,
    )


def _table_alter(new_columns: tuple[Column, ...], **kw: Any) -> Callable[[], list[str]]:
    return lambda: transition(table(), table(columns=new_columns, **kw), ALTER)


def _with_column(index: int, **changes: Any) -> tuple[Column, ...]:
    columns = list(LANDING_COLUMNS)
    columns[index] = columns[index].model_copy(update=changes)
    return tuple(columns)


CASES = [
    # database (no reference section: CREATE DATABASE ... COMMENT = / ALTER DATABASE ... SET COMMENT =)
    case("database", "create", lambda: create(database())),
    case("database", "alter_comment", lambda: transition(database(), database(comment="Retail, v2"), ALTER)),
    case("database", "hostile", lambda: create(database(name=account_name('my"name'), comment=NEWLINE))),
    # schema
    case("schema", "create", lambda: create(schema())),
    case("schema", "alter_comment", lambda: transition(schema(), schema(comment=None), ALTER)),
    case(
        "schema",
        "hostile",
        lambda: create(
            schema(
                name=QualifiedName(name=Identifier.parse("select"), database=Identifier.parse('"My DB"')),
                comment=QUOTE_INJECTION,
            )
        ),
    ),
    # storage integration (§1.1, §1.2)
    case("storage_integration", "create", lambda: create(storage_integration())),
    case(
        "storage_integration",
        "create_blocked_disabled",
        lambda: create(
            storage_integration(
                enabled=False,
                allowed_locations=("s3://retail-landing/raw_data/", "s3://retail-archive/raw_data/"),
                blocked_locations=("s3://retail-landing/raw_data/pii/",),
            )
        ),
    ),
    case(
        "storage_integration",
        "replace_provider",
        lambda: transition(storage_integration(provider="S3"), storage_integration(provider="S3GOV"), REPLACE),
    ),
    case(
        "storage_integration",
        "alter_role_arn",
        lambda: transition(
            storage_integration(),
            storage_integration(role_arn="arn:aws:iam::123456789012:role/snowflake-access-v2"),
            ALTER,
        ),
    ),
    case(
        "storage_integration",
        "alter_external_id",
        lambda: transition(storage_integration(), storage_integration(external_id="retail_etl_v2"), ALTER),
    ),
    case(
        "storage_integration",
        "alter_enabled",
        lambda: transition(storage_integration(), storage_integration(enabled=False), ALTER),
    ),
    case(
        "storage_integration",
        "alter_allowed_locations",
        lambda: transition(
            storage_integration(),
            storage_integration(allowed_locations=("s3://retail-landing/raw_data/", "s3://retail-landing/ref/")),
            ALTER,
        ),
    ),
    case(
        "storage_integration",
        "alter_blocked_locations",
        lambda: transition(
            storage_integration(),
            storage_integration(blocked_locations=("s3://retail-landing/raw_data/pii/",)),
            ALTER,
        ),
    ),
    case(
        "storage_integration",
        "alter_unset_blocked_locations",
        lambda: transition(
            storage_integration(blocked_locations=("s3://retail-landing/raw_data/pii/",)),
            storage_integration(),
            ALTER,
        ),
    ),
    case(
        "storage_integration",
        "alter_comment",
        lambda: transition(storage_integration(), storage_integration(comment="S3, v2"), ALTER),
    ),
    case(
        "storage_integration",
        "alter_everything_and_unset_blocked",
        lambda: transition(
            storage_integration(blocked_locations=("s3://retail-landing/raw_data/pii/",)),
            storage_integration(
                role_arn="arn:aws:iam::123456789012:role/snowflake-access-v2",
                external_id="retail_etl_v2",
                enabled=False,
                allowed_locations=("s3://retail-landing/raw_data/", "s3://retail-landing/ref/"),
                comment="S3, v2",
            ),
            ALTER,
        ),
    ),
    case(
        "storage_integration",
        "hostile",
        lambda: create(
            storage_integration(
                external_id=TRAILING_BACKSLASH,
                allowed_locations=(f"s3://retail-landing/{OBRIEN}/", f"s3://retail-landing/{QUOTE_INJECTION}/"),
                blocked_locations=(f"s3://retail-landing/{DOLLARS}/",),
                comment=BACKSLASH_QUOTE_INJECTION,
            )
        ),
    ),
    # notification integration (§2.1, §2.2)
    case("notification_integration", "create", lambda: create(notification_integration())),
    case(
        "notification_integration",
        "replace_direction",
        lambda: transition(
            notification_integration(direction="INBOUND"), notification_integration(direction="OUTBOUND"), REPLACE
        ),
    ),
    case(
        "notification_integration",
        "alter_enabled",
        lambda: transition(notification_integration(), notification_integration(enabled=False), ALTER),
    ),
    case(
        "notification_integration",
        "alter_topic_arn",
        lambda: transition(
            notification_integration(),
            notification_integration(topic_arn="arn:aws:sns:us-east-1:123456789012:retail-errors-v2"),
            ALTER,
        ),
    ),
    case(
        "notification_integration",
        "alter_role_arn",
        lambda: transition(
            notification_integration(),
            notification_integration(role_arn="arn:aws:iam::123456789012:role/snowflake-sns-v2"),
            ALTER,
        ),
    ),
    case(
        "notification_integration",
        "alter_comment",
        lambda: transition(notification_integration(), notification_integration(comment=None), ALTER),
    ),
    case(
        "notification_integration",
        "hostile",
        lambda: create(notification_integration(name=account_name('"errors-sns"'), comment=DOLLARS)),
    ),
    # file format (§3.1, §3.2)
    case("file_format", "create", lambda: create(file_format())),
    case("file_format", "create_defaults", lambda: create(FileFormatObject(name=name_in(BRONZE, "plain_csv")))),
    case(
        "file_format",
        "replace_type",
        lambda: transition(file_format(format_type="JSON"), file_format(), REPLACE),
    ),
    *[
        case("file_format", f"alter_{label}", _altered(file_format, change))
        for label, change in _FILE_FORMAT_CHANGES.items()
    ],
    case(
        "file_format",
        "alter_several",
        lambda: transition(file_format(), file_format(field_delimiter=";", skip_header=2, trim_space=True), ALTER),
    ),
    case(
        "file_format",
        "hostile",
        lambda: create(
            file_format(
                field_delimiter=TRAILING_BACKSLASH,
                record_delimiter="\r\n",
                field_optionally_enclosed_by="'",
                null_if=("\\N", OBRIEN, "", QUOTE_INJECTION, TRAILING_BACKSLASH),
                comment=NEWLINE,
            )
        ),
    ),
    # stage (§4.1, §4.2): never replaced
    case("stage", "create", lambda: create(stage())),
    case(
        "stage",
        "alter_url",
        lambda: transition(stage(), stage(url="s3://retail-landing/raw_data/orders_v2/"), ALTER),
    ),
    case(
        "stage",
        "alter_storage_integration",
        lambda: transition(stage(), stage(storage_integration=account_name("s3_bronze_v2")), ALTER),
    ),
    case("stage", "alter_comment", lambda: transition(stage(), stage(comment="Orders, v2"), ALTER)),
    case(
        "stage",
        "hostile",
        lambda: create(
            stage(
                name=name_in(BRONZE, '"orders stage"'),
                url=f"s3://retail-landing/{OBRIEN}/{TRAILING_BACKSLASH}",
                storage_integration=account_name('my"name'),
                comment=BACKSLASH_QUOTE_INJECTION,
            )
        ),
    ),
    # table (§10.1, §10.3)
    case("table", "create", lambda: create(table())),
    case("table", "create_transient_primary_key", lambda: create(silver_table())),
    case(
        "table",
        "replace_transient",
        lambda: transition(silver_table(transient=False), silver_table(), REPLACE),
    ),
    case(
        "table",
        "alter_add_column",
        _table_alter((*LANDING_COLUMNS, Column(name=Identifier("CHANNEL"), type="VARCHAR(20)", collate="en-ci"))),
    ),
    case(
        "table",
        "alter_add_columns_not_null_with_comment",
        _table_alter(
            (
                *LANDING_COLUMNS,
                Column(name=Identifier("CHANNEL"), type="VARCHAR(20)", nullable=False, comment="web or store"),
                Column(name=Identifier("REGION"), type="VARCHAR(10)"),
            )
        ),
    ),
    case("table", "alter_drop_columns", _table_alter((LANDING_COLUMNS[0], *LANDING_COLUMNS[3:]))),
    # A collated column keeps its collation explicitly: Snowflake refuses a SET DATA TYPE that would drop it.
    case("table", "alter_widen_type", _table_alter(_with_column(0, type="VARCHAR(100)"))),
    case("table", "alter_widen_uncollated_type", _table_alter(_with_column(2, type="VARCHAR(1000)"))),
    case("table", "alter_set_not_null", _table_alter(_with_column(1, nullable=False))),
    case("table", "alter_drop_not_null", _table_alter(_with_column(3, nullable=True))),
    case("table", "alter_column_comment", _table_alter(_with_column(1, comment="gross, in cents"))),
    case("table", "alter_unset_column_comment", _table_alter(_with_column(2, comment=None))),
    case(
        "table",
        "alter_primary_key",
        lambda: transition(silver_table(), silver_table(primary_key=(Identifier("ORDER_ID"),)), ALTER),
    ),
    case(
        "table",
        "alter_add_primary_key",
        lambda: transition(table(), table(primary_key=(Identifier("ORDER_ID"),)), ALTER),
    ),
    case("table", "alter_drop_primary_key", lambda: transition(silver_table(), silver_table(primary_key=()), ALTER)),
    case("table", "alter_retention", lambda: transition(table(), table(data_retention_days=7), ALTER)),
    case(
        "table",
        "alter_unset_retention",
        lambda: transition(table(data_retention_days=30), table(), ALTER),
    ),
    case("table", "alter_comment", lambda: transition(table(), table(comment="Orders landing, v2"), ALTER)),
    case(
        "table",
        "alter_many",
        lambda: transition(
            silver_table(),
            silver_table(
                columns=(
                    Column(name=Identifier("ORDER_ID"), type="VARCHAR(80)", nullable=False, collate="en-ci"),
                    Column(name=Identifier("MD5_HASH"), type="VARCHAR(80)", nullable=True, comment="row hash"),
                    Column(name=Identifier("CHANNEL"), type="VARCHAR(20)", comment="web or store"),
                ),
                primary_key=(Identifier("ORDER_ID"),),
                data_retention_days=1,
                comment="SILVER orders",
            ),
            ALTER,
        ),
    ),
    case("table", "hostile", lambda: create(_hostile_table())),
    case(
        "table",
        "alter_hostile",
        lambda: transition(
            _hostile_table(),
            _hostile_table().model_copy(
                update={
                    "columns": (
                        _hostile_table().columns[0].model_copy(update={"comment": DOLLARS}),
                        _hostile_table().columns[1],
                        Column(name=Identifier.parse('"new""col"'), type="VARCHAR(5)", comment=TRAILING_BACKSLASH),
                    )
                }
            ),
            ALTER,
            # Stored names as read back from the account: never canonicalized again.
            columns=[
                *[c.state() for c in _hostile_table().columns[:2]],
                {"name": "lower_case", "type": "DATE", "nullable": True, "collate": None, "comment": None},
                {"name": "a.b", "type": "VARCHAR(20)", "nullable": True, "collate": "en-ci", "comment": None},
                {"name": 'x"y', "type": "DATE", "nullable": True, "collate": None, "comment": None},
            ],
        ),
    ),
    # pipe (§5.1, §5.2, §5.5)
    case("pipe", "create", lambda: create(pipe())),
    case(
        "pipe",
        "create_no_error_integration",
        lambda: create(pipe(error_integration=None, on_error="SKIP_FILE_10%", auto_ingest=False, comment=None)),
    ),
    case(
        "pipe",
        "replace_copy",
        lambda: transition(pipe(columns=PIPE_COLUMNS[:2] + PIPE_COLUMNS[3:]), pipe(), REPLACE),
    ),
    case("pipe", "replace_auto_ingest", lambda: transition(pipe(auto_ingest=False), pipe(), REPLACE)),
    case("pipe", "replace_without_observed", lambda: replace(pipe())),
    case(
        "pipe",
        "alter_error_integration",
        lambda: transition(pipe(error_integration=None), pipe(), ALTER),
    ),
    case(
        "pipe",
        "alter_unset_error_integration",
        lambda: transition(pipe(), pipe(error_integration=None), ALTER),
    ),
    case("pipe", "alter_comment", lambda: transition(pipe(), pipe(comment="Auto-ingest, v2"), ALTER)),
    case(
        "pipe",
        "hostile",
        lambda: create(
            pipe(
                name=name_in(BRONZE, '"my pipe"'),
                file_format=name_in(BRONZE, OBRIEN),
                stage=name_in(BRONZE, 'my"stage'),
                on_error="SKIP_FILE_5%",
                comment=QUOTE_INJECTION,
            )
        ),
    ),
    # stream (§6.1, §6.2, §7.1)
    case("stream", "create", lambda: create(stream())),
    case("stream", "replace_without_observed", lambda: replace(stream())),
    case("stream", "alter_comment", lambda: transition(stream(), stream(comment="New rows, v2"), ALTER)),
    case(
        "stream",
        "replace_keep_offset",
        lambda: transition(stream(append_only=False), stream(), REPLACE),
    ),
    case(
        "stream",
        "replace_new_table",
        lambda: transition(stream(), stream(table=name_in(BRONZE, "work_orders_copy_v2")), REPLACE),
    ),
    case(
        "stream",
        "replace_stale",
        lambda: transition(stream(append_only=False), stream(), REPLACE, stale=True),
    ),
    case(
        "stream",
        "hostile_keep_offset",
        lambda: transition(
            stream(name=name_in(BRONZE, 'my"stream'), append_only=False),
            stream(name=name_in(BRONZE, 'my"stream'), table=name_in(BRONZE, OBRIEN), comment=DOLLARS),
            REPLACE,
            table=name_in(BRONZE, OBRIEN).display,
        ),
    ),
    # procedure (§9.1, §9.2): JavaScript and Snowflake Scripting bodies
    case("procedure", "create_javascript", lambda: create(procedure())),
    case("procedure", "create_sql", lambda: create(procedure("SQL"))),
    case(
        "procedure",
        "create_sql_with_filter",
        lambda: create(procedure("SQL", transform=transform(filter="AMOUNT > 0 AND NOTE <> 'test'"))),
    ),
    case(
        "procedure",
        "replace_javascript",
        lambda: transition(procedure(transform=transform("OLD")), procedure(), REPLACE),
    ),
    case(
        "procedure",
        "replace_sql",
        lambda: transition(procedure("JAVASCRIPT"), procedure("SQL"), REPLACE),
    ),
    case("procedure", "alter_comment", lambda: transition(procedure(), procedure(comment="Landing to SILVER"), ALTER)),
    case(
        "procedure",
        "hostile_javascript",
        lambda: create(procedure(transform=transform(f"{OBRIEN} {JS_BREAKOUT} {DOLLARS} {TRAILING_BACKSLASH}"))),
    ),
    case(
        "procedure",
        "hostile_sql_dollars",
        lambda: create(procedure("SQL", transform=transform(f"{DOLLARS} {BACKSLASH_QUOTE_INJECTION}"))),
    ),
    case(
        "procedure",
        "hostile_sql",
        lambda: create(procedure("SQL", transform=transform(TRAILING_BACKSLASH), comment=NEWLINE)),
    ),
    # task (§8.1, §8.3): altered between SUSPEND and RESUME
    case("task", "create", lambda: create(task())),
    case("task", "create_disabled_serverless", lambda: create(task(enabled=False, warehouse=None))),
    case("task", "create_no_error_integration", lambda: create(task(error_integration=None))),
    case("task", "replace_without_observed", lambda: replace(task())),
    *[case("task", f"alter_{label}", _altered(task, change)) for label, change in _TASK_CHANGES.items()],
    case(
        "task",
        "alter_schedule_while_suspended",
        lambda: transition(task(enabled=False), task(cron="30 1 * * *"), ALTER),
    ),
    case(
        "task",
        "alter_schedule_and_disable",
        lambda: transition(task(), task(cron="30 1 * * *", enabled=False), ALTER),
    ),
    case("task", "alter_resume_only", lambda: transition(task(enabled=False), task(), ALTER)),
    case("task", "alter_suspend_only", lambda: transition(task(), task(enabled=False), ALTER)),
    case(
        "task",
        "alter_everything",
        lambda: transition(
            task(),
            task(
                warehouse=None,
                cron="*/15 * * * *",
                timezone="UTC",
                error_integration=None,
                comment="Every quarter hour",
                stream=name_in(BRONZE, "work_orders_stream_v2"),
                procedure=name_in(BRONZE, "work_orders_sp_v2"),
            ),
            ALTER,
        ),
    ),
    case(
        "task",
        "hostile",
        lambda: create(
            task(
                name=name_in(BRONZE, '"nightly task"'),
                warehouse=Identifier.parse("select"),
                stream=name_in(BRONZE, OBRIEN),
                procedure=name_in(BRONZE, "work_orders_sp"),
                comment=BACKSLASH_QUOTE_INJECTION,
            )
        ),
    ),
    # view (§11.1, §11.2)
    case("view", "create", lambda: create(view())),
    case(
        "view",
        "create_secure_where",
        lambda: create(view(secure=True, where="AMOUNT > 0 AND ORDER_ID <> 'test'")),
    ),
    case(
        "view",
        "replace_columns",
        lambda: transition(
            view(), view(columns=(Identifier("ORDER_ID"), Identifier("AMOUNT"), Identifier("MD5_HASH"))), REPLACE
        ),
    ),
    case(
        "view",
        "replace_secure",
        lambda: transition(view(), view(secure=True, where="AMOUNT > 0"), REPLACE),
    ),
    case("view", "alter_secure", lambda: transition(view(), view(secure=True), ALTER)),
    case("view", "alter_unsecure", lambda: transition(view(secure=True), view(), ALTER)),
    case("view", "alter_comment", lambda: transition(view(), view(comment="Orders, v2"), ALTER)),
    case(
        "view",
        "alter_secure_and_comment",
        lambda: transition(view(), view(secure=True, comment="Orders, v2"), ALTER),
    ),
    case(
        "view",
        "hostile",
        lambda: create(
            view(
                name=name_in(GOLD, '"Orders View"'),
                source=name_in(SILVER, 'my"name'),
                columns=(Identifier.parse("select"), Identifier.parse(OBRIEN), Identifier.parse("a.b")),
                comment=TRAILING_BACKSLASH,
            )
        ),
    ),
]


# --- golden tests ------------------------------------------------------------------------------------------------


def golden_path(c: Case) -> Path:
    return GOLDEN / c.kind / f"{c.name}.sql"


@pytest.mark.parametrize("c", CASES)
def test_golden(c: Case) -> None:
    statements = c.render()
    assert statements, "a case renders at least one statement"
    text = script(statements)
    path = golden_path(c)
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.is_file(), f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it"
    assert text.encode("utf-8") == path.read_bytes(), f"{path} differs from the rendered SQL"


@pytest.mark.parametrize("c", CASES)
def test_every_statement_is_one_statement(c: Case) -> None:
    # Statements run one per cursor.execute(): no ';' or comment outside a literal, every literal terminated.
    for statement in c.render():
        assert statement == statement.strip()
        assert_one_statement(statement)


def test_every_kind_has_goldens_and_none_is_orphaned() -> None:
    expected = {golden_path(p.values[0]) for p in CASES}
    assert {p.values[0].kind for p in CASES} == {kind.value for kind in HANDLERS}
    assert len(expected) == len(CASES), "two cases share a golden file"
    on_disk = set(GOLDEN.glob("*/*.sql"))
    assert on_disk == expected


# --- hostile values: the structure never changes, the values always round-trip -----------------------------------


COMMENTED: dict[str, Callable[[str | None], DesiredObject]] = {
    "database": lambda text: database(comment=text),
    "schema": lambda text: schema(comment=text),
    "storage_integration": lambda text: storage_integration(comment=text),
    "notification_integration": lambda text: notification_integration(comment=text),
    "file_format": lambda text: file_format(comment=text),
    "stage": lambda text: stage(comment=text),
    "table": lambda text: table(comment=text),
    "pipe": lambda text: pipe(comment=text),
    "stream": lambda text: stream(comment=text),
    "procedure": lambda text: procedure(comment=text),
    "task": lambda text: task(comment=text),
    "view": lambda text: view(comment=text),
}


def structure(statements: list[str]) -> list[Lexed]:
    return [assert_one_statement(s) for s in statements]


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize("kind", sorted(COMMENTED))
def test_hostile_comment_is_exactly_one_literal(kind: str, value: str) -> None:
    build = COMMENTED[kind]
    hostile, benign = build(value), build("plain words")

    def alter(obj: DesiredObject) -> list[str]:
        return transition(obj.model_copy(update={"comment": "the old comment"}), obj, ALTER)

    for render in (create, alter):
        got, want = structure(render(hostile)), structure(render(benign))
        assert [g.skeleton for g in got] == [w.skeleton for w in want]
        assert [g.identifiers for g in got] == [w.identifiers for w in want]
        literals = [literal for g in got for literal in g.literals]
        assert managed_comment(value) in literals
        assert managed_comment("plain words") not in literals


def _assert_same_shape(hostile: list[str], benign: list[str]) -> list[Lexed]:
    got, want = structure(hostile), structure(benign)
    assert [g.skeleton for g in got] == [w.skeleton for w in want], "a value changed the statement's structure"
    return got


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_values_end_exactly_where_their_literal_ends(value: str) -> None:
    """Values that close their literal (no managed marker after them): the trailing backslash case of §14.3."""
    renderings: list[tuple[Callable[[str], list[str]], list[int]]] = [
        (lambda v: create(table(columns=(Column(name=Identifier("C"), type="VARCHAR(5)", comment=v),))), [0]),
        (lambda v: create(file_format(null_if=(v, "x"))), [3]),
        (lambda v: create(file_format(field_delimiter=v)), [0]),
        (lambda v: create(storage_integration(external_id=v)), [2]),
        (lambda v: create(storage_integration(allowed_locations=(v,), blocked_locations=(v,))), [3, 4]),
        (lambda v: create(stage(url=v)), [0]),
        (lambda v: create(notification_integration(topic_arn=v, role_arn=v)), [0, 1]),
    ]
    for render, positions in renderings:
        (got,) = _assert_same_shape(render(value), render("plain"))
        for position in positions:
            assert got.literals[position] == value
    added = Column(name=Identifier("C"), type="VARCHAR(5)", comment=value)
    statements = transition(table(), table(columns=(*LANDING_COLUMNS, added)), ALTER)
    benign = transition(table(), table(columns=(*LANDING_COLUMNS, added.model_copy(update={"comment": "x"}))), ALTER)
    altered = _assert_same_shape(statements, benign)
    assert altered[-1].literals == [value]


@pytest.mark.parametrize("written", sorted(HOSTILE_NAMES))
def test_hostile_names_are_one_quoted_identifier_each(written: str) -> None:
    stored = HOSTILE_NAMES[written]
    for hostile, benign in [
        (database(name=account_name(written)), database(name=account_name('"plain name"'))),
        (table(name=name_in(BRONZE, written)), table(name=name_in(BRONZE, '"plain name"'))),
        (stream(name=name_in(BRONZE, written)), stream(name=name_in(BRONZE, '"plain name"'))),
        (view(columns=(Identifier.parse(written),)), view(columns=(Identifier.parse('"plain name"'),))),
        (
            table(columns=(Column(name=Identifier.parse(written), type="DATE"),)),
            table(columns=(Column(name=Identifier.parse('"plain name"'), type="DATE"),)),
        ),
    ]:
        (got,) = _assert_same_shape(create(hostile), create(benign))
        assert stored in got.identifiers


@pytest.mark.parametrize("written", sorted(HOSTILE_NAMES))
def test_names_inside_string_arguments_parse_back_to_the_same_object(written: str) -> None:
    # AT(STREAM => '<name>') and SYSTEM$STREAM_HAS_DATA('<name>') take a name inside a literal: its text must be
    # the name's SQL form, which parses back to the very same object.
    name = name_in(BRONZE, written)
    (keep,) = transition(stream(name=name, append_only=False), stream(name=name), REPLACE)
    (lexed,) = structure([keep])
    assert "AT(STREAM => '?')" in lexed.skeleton
    assert parse_qualified(lexed.literals[0]) == name
    create_task = create(task(stream=name))[0]
    (lexed,) = structure([create_task])
    assert "WHEN SYSTEM$STREAM_HAS_DATA('?')" in lexed.skeleton
    assert parse_qualified(lexed.literals[2]) == name


def test_dropped_columns_are_rendered_from_their_stored_names() -> None:
    observed = [
        *[c.state() for c in LANDING_COLUMNS],
        *[
            {"name": stored, "type": "DATE", "nullable": True, "collate": None, "comment": None}
            for stored in ("lower_case", "a.b", 'x"y', "CUSTOMER", "select")
        ],
    ]
    (statement,) = transition(table(), table(), ALTER, columns=observed)
    assert statement == (
        'ALTER TABLE RETAIL_DB.BRONZE.WORK_ORDERS_COPY DROP COLUMN "lower_case", "a.b", "x""y", CUSTOMER, "select"'
    )
    assert lex_sql(statement).identifiers == ["lower_case", "a.b", 'x"y', "select"]


# --- procedures: the $$ body, the JavaScript strings, the SQL inside them ------------------------------------------

_JS_ARRAY = re.compile(r'^var (CREATE_XFM|LOAD_XFM|MERGE_XFM) = \[\n(.*?)\n\]\.join\("\\n"\);$', re.M | re.S)


def javascript_sql(body: str) -> dict[str, str]:
    """The SQL each ``var X = [...].join("\\n")`` holds, decoded line by line as the JavaScript engine would."""
    found: dict[str, str] = {}
    for match in _JS_ARRAY.finditer(body):
        lines = []
        for line in match.group(2).split("\n"):
            assert line.startswith('  "'), line
            literal = line[2:-1] if line.endswith(",") else line[2:]
            lexed = lex_js(literal)
            assert lexed.skeleton == '"?"', f"more than one string on the line: {line!r}"
            lines.extend(lexed.strings)
        found[match.group(1)] = "\n".join(lines)
    return found


CONSTANTS = [*HOSTILE, JS_BREAKOUT, "\u2028 and \u2029 and </script>"]
CONSTANT_IDS = [*HOSTILE_IDS, "js_breakout", "line_separators"]


@pytest.mark.parametrize("value", CONSTANTS, ids=CONSTANT_IDS)
def test_javascript_body_keeps_every_constant_inside_its_string(value: str) -> None:
    hostile, benign = procedure(transform=transform(value)), procedure(transform=transform("SHOP"))
    (statement,) = create(hostile)
    body = procedure_body(statement)
    assert "$$" not in body, "the JavaScript strings write $ as \\u0024, so the body stays $$-quoted"
    js, plain_js = lex_js(body), lex_js(procedure_body(create(benign)[0]))
    assert js.skeleton == plain_js.skeleton, "a constant changed the JavaScript outside its strings"
    assert len(js.strings) == len(plain_js.strings)
    sql = javascript_sql(body)
    assert sql == {
        "CREATE_XFM": call_macro("procedure.sql.j2", "create_xfm", hostile.transform),
        "LOAD_XFM": call_macro("procedure.sql.j2", "load_xfm", hostile.transform),
        "MERGE_XFM": call_macro("procedure.sql.j2", "merge", hostile.transform),
    }
    load, plain_load = lex_sql(sql["LOAD_XFM"]), lex_sql(javascript_sql(procedure_body(create(benign)[0]))["LOAD_XFM"])
    assert load.skeleton == plain_load.skeleton
    assert value in load.literals


@pytest.mark.parametrize("value", CONSTANTS, ids=CONSTANT_IDS)
def test_sql_body_keeps_every_constant_inside_its_literal(value: str) -> None:
    (statement,) = create(procedure("SQL", transform=transform(value)))
    (plain,) = create(procedure("SQL", transform=transform("SHOP")))
    body, plain_body = procedure_body(statement), procedure_body(plain)
    if "$$" in value:
        assert statement.rstrip().endswith("'"), "a body holding $$ falls back to a single-quoted literal"
    else:
        assert statement.endswith("\n$$")
    lexed, plain_lexed = lex_sql(body), lex_sql(plain_body)
    assert lexed.skeleton == plain_lexed.skeleton
    assert value in lexed.literals
    assert body == "\n" + procedure("SQL", transform=transform(value)).body + "\n"


def test_names_with_line_separators_cannot_leave_the_body_comments() -> None:
    # Identifier.parse rejects them; names built directly (e.g. read back) are still written as visible escapes.
    odd = QualifiedName(name=Identifier("S\u2028snowflake.execute({sqlText: 'DROP TABLE x'})\nX"), database=DB)
    escaped = "RETAIL_DB.S\\u2028snowflake.execute({sqlText: 'DROP TABLE x'})\\u000aX -> RETAIL_DB.SILVER.ORDERS"
    javascript = procedure(transform=transform().model_copy(update={"stream": odd}))
    body = procedure_body(create(javascript)[0])
    lexed = lex_js(body)
    assert lexed.comments[0] == f"// Generated by retail-etl: {escaped}, atomically."
    assert javascript_sql(body)["LOAD_XFM"] == call_macro("procedure.sql.j2", "load_xfm", javascript.transform)
    scripting = procedure("SQL", transform=transform().model_copy(update={"stream": odd}))
    body = procedure_body(create(scripting)[0])
    assert body.split("\n")[2] == f"  -- Generated by retail-etl: {escaped}, atomically."
    assert lex_sql(body).comments[0] == f"-- Generated by retail-etl: {escaped}, atomically."


def test_raw_filter_text_is_indented_without_rewriting_its_line_separators() -> None:
    # The SQL body indents the generated statements; Jinja's indent would split at U+2028 or \x0c inside the
    # filter's own string literal and change the value the procedure compares with.
    value = "a\u2028b\x0cc\x85d"
    obj = procedure("SQL", transform=transform(filter=f"NOTE <> '{value}'"))
    body = procedure_body(create(obj)[0])
    assert value in lex_sql(body).literals
    assert "    AND (NOTE <> '" + value + "')\n" in body


# --- values that must be bare keywords or types are validated, never written raw --------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: file_format(compression="AUTO COMMENT = 'x'"),
        lambda: file_format(format_type="CSV; DROP TABLE x"),
        lambda: notification_integration(provider="AWS_SNS\n  COMMENT = 'x'"),
        lambda: notification_integration(direction="OUTBOUND'"),
        lambda: pipe(on_error="SKIP_FILE; DROP TABLE x"),
        lambda: procedure(language="JAVASCRIPT AS $$ $$"),
        lambda: table(columns=(Column(name=Identifier("C"), type="VARCHAR(5)) ; DROP TABLE x; --"),)),
        lambda: procedure(
            transform=transform().model_copy(
                update={"columns": (TransformColumn(name=Identifier("C"), type="DATE, X INT", source="stream"),)}
            )
        ),
    ],
    ids=["compression", "file_type", "provider", "direction", "on_error", "language", "column_type", "xfm_type"],
)
def test_keywords_and_types_reject_anything_else(build: Callable[[], DesiredObject]) -> None:
    with pytest.raises(ValueError, match="not a"):
        create(build())


@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("A;\nB", ["A", "B"]),
        ('DROP COLUMN "x;\ny""z;\n";\nB', ['DROP COLUMN "x;\ny""z;\n"', "B"]),
        ("COMMENT = 'it''s;\n';\nB", ["COMMENT = 'it''s;\n'", "B"]),
        ("COMMENT = 'a\\';\n';\nB", ["COMMENT = 'a\\';\n'", "B"]),
        ("AS $$ x;\ny $$;\nB", ["AS $$ x;\ny $$", "B"]),
    ],
)
def test_statements_split_only_outside_quotes_and_bodies(text: str, statements: list[str]) -> None:
    assert split_statements(text) == statements
