"""The emulated Snowflake account: SQL lexing, DDL, SHOW / DESC / INFORMATION_SCHEMA echoes, errors, persistence."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retail_etl.emulator import Account, EmulatedSession, EmulatorError
from retail_etl.emulator.lexer import TokenKind, tokenize
from retail_etl.identifiers import Identifier
from retail_etl.objects.base import Wanted
from retail_etl.plan.apply import execute_plan
from retail_etl.plan.observe import observe
from retail_etl.plan.planner import build_plan
from retail_etl.spec.load import load_project
from retail_etl.spec.resolve import resolve
from retail_etl.targets.session import SessionError

PROJECT = Path(__file__).resolve().parents[1]
FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

# Column layouts from the reference (§1.3, §2.3, §3.3, §4.3, §5.3, §6.3, §8.5, §10.4, §11.3).
SHOW_INTEGRATIONS = ["name", "type", "category", "enabled", "comment", "created_on"]
SHOW_FILE_FORMATS = [
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "type",
    "owner",
    "comment",
    "owner_role_type",
    "format_options",
]
SHOW_STAGES = [
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "url",
    "has_credentials",
    "has_encryption_key",
    "owner",
    "comment",
    "region",
    "type",
    "cloud",
    "notification_channel",
    "storage_integration",
    "endpoint",
    "owner_role_type",
    "directory_enabled",
]
SHOW_PIPES = [
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "definition",
    "owner",
    "notification_channel",
    "comment",
    "integration",
    "pattern",
    "error_integration",
    "owner_role_type",
    "invalid_reason",
    "kind",
]
SHOW_STREAMS = [
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "owner",
    "comment",
    "table_name",
    "source_type",
    "base_tables",
    "type",
    "stale",
    "mode",
    "stale_after",
    "invalid_reason",
    "owner_role_type",
]
SHOW_TASKS = [
    "created_on",
    "name",
    "id",
    "database_name",
    "schema_name",
    "owner",
    "comment",
    "warehouse",
    "schedule",
    "scheduling_mode",
    "target_completion_interval",
    "predecessors",
    "state",
    "definition",
    "condition",
    "allow_overlapping_execution",
    "error_integration",
    "success_integration",
    "last_committed_on",
    "last_suspended_on",
    "owner_role_type",
    "config",
    "last_suspended_reason",
    "task_relations",
    "execute_as_user",
]
SHOW_TABLES = [
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "kind",
    "comment",
    "cluster_by",
    "rows",
    "bytes",
    "owner",
    "retention_time",
    "automatic_clustering",
    "change_tracking",
    "search_optimization",
    "search_optimization_progress",
    "search_optimization_bytes",
    "is_external",
    "enable_schema_evolution",
    "owner_role_type",
    "is_event",
    "is_hybrid",
    "is_iceberg",
    "is_immutable",
]
SHOW_VIEWS = [
    "created_on",
    "name",
    "reserved",
    "kind",
    "database_name",
    "schema_name",
    "owner",
    "comment",
    "text",
    "is_secure",
    "is_materialized",
    "owner_role_type",
    "change_tracking",
]

STORAGE_INTEGRATION = """CREATE STORAGE INTEGRATION S3_INT
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::001234567890:role/myrole'
  STORAGE_ALLOWED_LOCATIONS = ('s3://bucket/a/', 's3://bucket/b/')
  COMMENT = 'storage'"""
NOTIFICATION_INTEGRATION = """CREATE NOTIFICATION INTEGRATION ERRORS_INT
  ENABLED = TRUE
  TYPE = QUEUE
  NOTIFICATION_PROVIDER = AWS_SNS
  DIRECTION = OUTBOUND
  AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:topic'
  AWS_SNS_ROLE_ARN = 'arn:aws:iam::111122223333:role/sns'"""
LANDING = "CREATE TABLE DB.RAW.LANDING (A VARCHAR(10), B NUMBER(38,0), LOADED_AT TIMESTAMP_NTZ(6))"
STAGE = "CREATE STAGE DB.RAW.STG URL = 's3://bucket/a/' STORAGE_INTEGRATION = S3_INT"
PIPE_COPY = (
    "COPY INTO DB.RAW.LANDING (A, B)\nFROM (SELECT $1, $2 FROM @DB.RAW.STG)\nFILE_FORMAT = (FORMAT_NAME = 'DB.RAW.CSV')"
)


def run(account: Account, sql: str) -> list[dict[str, Any]]:
    return account.execute(sql)


def error_of(account: Account, sql: str) -> EmulatorError:
    with pytest.raises(EmulatorError) as caught:
        account.execute(sql)
    return caught.value


def one(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r.get("name") == name]
    return row


@pytest.fixture
def account() -> Account:
    """An account with a database ``DB`` (schema ``RAW``), both integrations, a CSV format and a landing table."""
    account = Account(clock=lambda: FIXED_NOW)
    for sql in (
        "CREATE DATABASE DB",
        "CREATE SCHEMA DB.RAW",
        STORAGE_INTEGRATION,
        NOTIFICATION_INTEGRATION,
        "CREATE FILE FORMAT DB.RAW.CSV TYPE = CSV SKIP_HEADER = 1",
        LANDING,
    ):
        account.execute(sql)
    return account


# --- lexer ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "value"),
    [
        ("'O''Brien'", "O'Brien"),
        ("'abc\\\\'", "abc\\"),
        ("'\\\\''; DROP TABLE x; --'", "\\'; DROP TABLE x; --"),
        ("'C:\\\\tmp'", "C:\\tmp"),
        ("'a\\nb\\rc\\td\\0e\\bf\\fg'", "a\nb\rc\td\0e\bf\fg"),
        ("'\\x41\\u00e9\\101'", "A\u00e9A"),
        ("'\\'quoted\\' \\\"too\\\"'", "'quoted' \"too\""),
        ("'\\z\\q'", "zq"),
        ("''", ""),
    ],
)
def test_single_quoted_strings_decode_escapes_and_doubling(sql: str, value: str) -> None:
    tokens = tokenize(sql)
    assert [t.kind for t in tokens] == [TokenKind.STRING, TokenKind.EOF]
    assert tokens[0].value == value


def test_dollar_strings_are_literal_and_hide_semicolons() -> None:
    tokens = tokenize("AS $$\nvar x = 'a;b'; -- not a comment \\n\n$$ ;")
    assert tokens[1].kind is TokenKind.STRING
    assert tokens[1].value == "\nvar x = 'a;b'; -- not a comment \\n\n"
    assert [t.value for t in tokens[2:]] == [";", ""]


def test_identifiers_comments_numbers_and_symbols() -> None:
    sql = 'select "My ""Col""", my_col$1 -- trailing\n/* block\n */ FROM t // also\nWHERE x => 1.5e3 AND $1 = 0x5e'
    tokens = tokenize(sql)
    assert [(t.kind, t.value) for t in tokens[:4]] == [
        (TokenKind.IDENT, "SELECT"),
        (TokenKind.QUOTED, 'My "Col"'),
        (TokenKind.PUNCT, ","),
        (TokenKind.IDENT, "MY_COL$1"),
    ]
    assert [t.value for t in tokens[4:]] == ["FROM", "T", "WHERE", "X", "=>", "1.5e3", "AND", "$1", "=", "0x5e", ""]
    assert sql[tokens[1].start : tokens[1].end] == '"My ""Col"""'


@pytest.mark.parametrize("sql", ["'unterminated", '"unterminated', "$$ no end", "/* no end", "a # b"])
def test_lexer_errors_are_syntax_errors(sql: str) -> None:
    with pytest.raises(EmulatorError) as caught:
        tokenize(sql)
    assert caught.value.code == "001003"
    assert str(caught.value).startswith("001003 (42000): SQL compilation error: syntax error line 1 at position")


def test_an_injected_statement_inside_a_literal_stays_data(account: Account) -> None:
    run(account, "CREATE SCHEMA DB.S2 COMMENT = '\\\\''; DROP TABLE DB.RAW.LANDING; --'")
    schema = one(run(account, "SHOW SCHEMAS IN DATABASE DB"), "S2")
    assert schema["comment"] == "\\'; DROP TABLE DB.RAW.LANDING; --"
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")


def test_one_statement_per_call(account: Account) -> None:
    error = error_of(account, "DROP TABLE DB.RAW.LANDING; SELECT 1")
    assert str(error) == "000008 (0A000): Actual statement count 2 did not match the desired statement count 1."
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")
    assert run(account, "SELECT 1;") == [{"1": 1}]


# --- databases and schemas -----------------------------------------------------------------------------------


def test_databases_and_schemas(account: Account) -> None:
    run(account, "CREATE DATABASE \"Mixed db\" COMMENT = 'quoted'")
    run(account, "CREATE DATABASE DBX")
    (row,) = run(account, "SHOW DATABASES LIKE 'Mixed db'")
    assert list(row) == [
        "created_on",
        "name",
        "is_default",
        "is_current",
        "origin",
        "owner",
        "comment",
        "options",
        "retention_time",
        "kind",
        "budget",
        "owner_role_type",
    ]
    assert (row["name"], row["owner"], row["comment"], row["created_on"]) == (
        "Mixed db",
        "ACCOUNTADMIN",
        "quoted",
        FIXED_NOW,
    )
    # LIKE is case-insensitive and '_' is a wildcard.
    assert [r["name"] for r in run(account, "SHOW DATABASES LIKE 'd_'")] == ["DB"]
    assert [r["name"] for r in run(account, "SHOW DATABASES LIKE 'db%'")] == ["DB", "DBX"]
    schemas = run(account, "SHOW SCHEMAS IN DATABASE DB")
    assert [s["name"] for s in schemas] == ["INFORMATION_SCHEMA", "PUBLIC", "RAW"]
    assert list(schemas[0]) == [
        "created_on",
        "name",
        "is_default",
        "is_current",
        "database_name",
        "owner",
        "comment",
        "options",
        "retention_time",
        "owner_role_type",
    ]
    run(account, "ALTER DATABASE DB SET COMMENT = 'd'")
    run(account, "ALTER SCHEMA DB.RAW SET COMMENT = 'r'")
    assert one(run(account, "SHOW DATABASES"), "DB")["comment"] == "d"
    assert one(run(account, "SHOW SCHEMAS IN DATABASE DB"), "RAW")["comment"] == "r"
    run(account, "ALTER SCHEMA DB.RAW UNSET COMMENT")
    assert one(run(account, "SHOW SCHEMAS IN DATABASE DB"), "RAW")["comment"] is None


def test_create_errors_and_if_not_exists(account: Account) -> None:
    assert str(error_of(account, "CREATE DATABASE db")) == (
        "002002 (42710): SQL compilation error: Object 'DB' already exists."
    )
    assert run(account, "CREATE DATABASE IF NOT EXISTS DB") == [{"status": "DB already exists, statement succeeded."}]
    assert run(account, 'CREATE DATABASE "db"') == [{"status": "Database db successfully created."}]
    assert str(error_of(account, "CREATE SCHEMA NOPE.S")) == (
        "002003 (02000): SQL compilation error: Object 'NOPE' does not exist or not authorized."
    )
    assert str(error_of(account, "CREATE TABLE DB.NOPE.T (A INT)")) == (
        "002003 (02000): SQL compilation error: Object 'DB.NOPE' does not exist or not authorized."
    )
    assert error_of(account, "CREATE OR REPLACE TABLE IF NOT EXISTS DB.RAW.T (A INT)").code == "001003"


def test_unqualified_names_need_a_current_database() -> None:
    account = Account()
    error = error_of(account, "CREATE TABLE T (A INT)")
    assert str(error) == (
        "090105 (22000): Cannot perform CREATE TABLE. This session does not have a current database. "
        "Call 'USE DATABASE', or use a qualified name."
    )
    run(account, "CREATE DATABASE D1")  # becomes the current database, with PUBLIC the current schema
    run(account, "CREATE TABLE T (A INT)")
    assert one(run(account, "SHOW TABLES"), "T")["schema_name"] == "PUBLIC"
    run(account, "CREATE SCHEMA S1")
    run(account, "USE SCHEMA D1.PUBLIC")
    run(account, "CREATE TABLE U (A INT)")
    assert [(t["schema_name"], t["name"]) for t in run(account, "SHOW TABLES IN SCHEMA D1.PUBLIC")] == [
        ("PUBLIC", "T"),
        ("PUBLIC", "U"),
    ]


def test_syntax_errors(account: Account) -> None:
    assert str(error_of(account, "CREATE TABLE DB.RAW.T (A INT) FOO = 1")) == (
        "001003 (42000): SQL compilation error: syntax error line 1 at position 30 unexpected 'FOO'."
    )
    assert str(error_of(account, "SHOW TABLES IN\nSCHEMA DB.")).endswith("line 2 at position 10 unexpected '<EOF>'.")
    assert error_of(account, "CREATE OR ALTER TABLE DB.RAW.T (A INT)").code == "001003"
    assert error_of(account, "GRANT USAGE ON DATABASE DB TO ROLE R").code == "001003"


# --- integrations --------------------------------------------------------------------------------------------


def test_show_integrations(account: Account) -> None:
    rows = run(account, "SHOW INTEGRATIONS")
    assert [list(r) for r in rows] == [SHOW_INTEGRATIONS, SHOW_INTEGRATIONS]
    assert {r["name"]: (r["type"], r["category"], r["enabled"]) for r in rows} == {
        "ERRORS_INT": ("QUEUE - AWS_SNS", "NOTIFICATION", "true"),
        "S3_INT": ("EXTERNAL_STAGE", "STORAGE", "true"),
    }
    (notification,) = run(account, "SHOW NOTIFICATION INTEGRATIONS")
    assert list(notification) == [*SHOW_INTEGRATIONS, "direction"]
    assert notification["direction"] == "OUTBOUND"
    assert [r["name"] for r in run(account, "SHOW STORAGE INTEGRATIONS LIKE 's3%'")] == ["S3_INT"]


def _desc(account: Account, name: str) -> dict[str, tuple[str, str, str]]:
    rows = run(account, f"DESC INTEGRATION {name}")
    assert all(list(r) == ["property", "property_type", "property_value", "property_default"] for r in rows)
    return {r["property"]: (r["property_type"], r["property_value"], r["property_default"]) for r in rows}


def test_describe_storage_integration(account: Account) -> None:
    props = _desc(account, "S3_INT")
    assert list(props) == [
        "ENABLED",
        "STORAGE_PROVIDER",
        "STORAGE_ALLOWED_LOCATIONS",
        "STORAGE_BLOCKED_LOCATIONS",
        "STORAGE_AWS_IAM_USER_ARN",
        "STORAGE_AWS_ROLE_ARN",
        "STORAGE_AWS_EXTERNAL_ID",
        "USE_PRIVATELINK_ENDPOINT",
        "COMMENT",
    ]
    assert props["ENABLED"] == ("Boolean", "true", "false")
    assert props["STORAGE_ALLOWED_LOCATIONS"] == ("List", "s3://bucket/a/,s3://bucket/b/", "[]")
    assert props["STORAGE_BLOCKED_LOCATIONS"] == ("List", "", "[]")
    assert props["STORAGE_AWS_ROLE_ARN"][1] == "arn:aws:iam::001234567890:role/myrole"
    assert props["STORAGE_AWS_IAM_USER_ARN"][1].startswith("arn:aws:iam::123456789012:user/")
    generated = props["STORAGE_AWS_EXTERNAL_ID"][1]
    assert generated.startswith("EMULATED_SFCRole=2_")
    # Re-creating without an explicit external id gives a new one (reference §1.5).
    run(account, STORAGE_INTEGRATION.replace("CREATE ", "CREATE OR REPLACE ", 1))
    assert _desc(account, "S3_INT")["STORAGE_AWS_EXTERNAL_ID"][1] != generated
    run(
        account,
        "ALTER STORAGE INTEGRATION S3_INT SET STORAGE_AWS_EXTERNAL_ID = 'ext' ENABLED = FALSE "
        "STORAGE_BLOCKED_LOCATIONS = ('s3://bucket/a/x/', 's3://bucket/a/y/') COMMENT = 'c'",
    )
    props = _desc(account, "S3_INT")
    assert props["STORAGE_AWS_EXTERNAL_ID"][1] == "ext"
    assert props["ENABLED"][1] == "false"
    assert props["STORAGE_BLOCKED_LOCATIONS"][1] == "s3://bucket/a/x/,s3://bucket/a/y/"
    assert one(run(account, "SHOW INTEGRATIONS"), "S3_INT")["enabled"] == "false"
    run(account, "ALTER STORAGE INTEGRATION S3_INT UNSET STORAGE_BLOCKED_LOCATIONS, COMMENT")
    props = _desc(account, "S3_INT")
    assert (props["STORAGE_BLOCKED_LOCATIONS"][1], props["COMMENT"][1]) == ("", "")


def test_describe_notification_integration(account: Account) -> None:
    props = _desc(account, "ERRORS_INT")
    assert list(props) == [
        "ENABLED",
        "NOTIFICATION_PROVIDER",
        "DIRECTION",
        "AWS_SNS_TOPIC_ARN",
        "AWS_SNS_ROLE_ARN",
        "SF_AWS_IAM_USER_ARN",
        "SF_AWS_EXTERNAL_ID",
        "COMMENT",
    ]
    assert props["DIRECTION"] == ("String", "OUTBOUND", "INBOUND")
    assert props["SF_AWS_EXTERNAL_ID"][1].startswith("EMULATED_SFCRole=2_")
    run(
        account,
        "ALTER NOTIFICATION INTEGRATION ERRORS_INT SET AWS_SNS_TOPIC_ARN = 'arn:t2' AWS_SNS_ROLE_ARN = 'arn:r2'",
    )
    props = _desc(account, "ERRORS_INT")
    assert (props["AWS_SNS_TOPIC_ARN"][1], props["AWS_SNS_ROLE_ARN"][1]) == ("arn:t2", "arn:r2")


def test_integration_errors(account: Account) -> None:
    missing_enabled = STORAGE_INTEGRATION.replace("ENABLED = TRUE\n", "").replace("S3_INT", "OTHER")
    assert str(error_of(account, missing_enabled)) == (
        "002029 (42601): SQL compilation error: Missing option(s): ENABLED"
    )
    # Integrations of both kinds share one namespace.
    assert error_of(account, NOTIFICATION_INTEGRATION.replace("ERRORS_INT", "S3_INT")).code == "002002"
    assert error_of(account, "DESC INTEGRATION NOPE").code == "002003"
    assert error_of(account, "ALTER STORAGE INTEGRATION S3_INT SET STORAGE_PROVIDER = 'S3'").code == "001003"


# --- file formats and stages ---------------------------------------------------------------------------------


def test_file_format_options_are_real_characters_with_defaults(account: Account) -> None:
    run(
        account,
        "CREATE FILE FORMAT DB.RAW.F TYPE = CSV FIELD_DELIMITER = '|' RECORD_DELIMITER = '\\n' "
        "FIELD_OPTIONALLY_ENCLOSED_BY = '\"' NULL_IF = ('NULL', '\\\\N') COMPRESSION = gzip "
        "TRIM_SPACE = TRUE ENCODING = 'UTF8' COMMENT = 'f'",
    )
    row = one(run(account, "SHOW FILE FORMATS IN DATABASE DB"), "F")
    assert list(row) == SHOW_FILE_FORMATS
    assert (row["type"], row["comment"], row["schema_name"]) == ("CSV", "f", "RAW")
    options = json.loads(row["format_options"])
    assert options == {
        "TYPE": "CSV",
        "RECORD_DELIMITER": "\n",
        "FIELD_DELIMITER": "|",
        "FILE_EXTENSION": None,
        "SKIP_HEADER": 0,
        "PARSE_HEADER": False,
        "DATE_FORMAT": "AUTO",
        "TIME_FORMAT": "AUTO",
        "TIMESTAMP_FORMAT": "AUTO",
        "BINARY_FORMAT": "HEX",
        "ESCAPE": "NONE",
        "ESCAPE_UNENCLOSED_FIELD": "\\",
        "TRIM_SPACE": True,
        "FIELD_OPTIONALLY_ENCLOSED_BY": '"',
        "NULL_IF": ["NULL", "\\N"],
        "COMPRESSION": "GZIP",
        "ERROR_ON_COLUMN_COUNT_MISMATCH": True,
        "VALIDATE_UTF8": True,
        "SKIP_BLANK_LINES": False,
        "REPLACE_INVALID_CHARACTERS": False,
        "EMPTY_FIELD_AS_NULL": True,
        "SKIP_BYTE_ORDER_MARK": True,
        "ENCODING": "UTF8",
        "MULTI_LINE": True,
    }
    assert list(options) == list(options)  # order as documented, see the literal above
    run(account, "ALTER FILE FORMAT DB.RAW.F SET SKIP_HEADER = 2 FIELD_OPTIONALLY_ENCLOSED_BY = NONE COMMENT = 'g'")
    row = one(run(account, "SHOW FILE FORMATS IN DATABASE DB"), "F")
    options = json.loads(row["format_options"])
    assert (options["SKIP_HEADER"], options["FIELD_OPTIONALLY_ENCLOSED_BY"], row["comment"]) == (2, "NONE", "g")
    assert error_of(account, "CREATE FILE FORMAT DB.RAW.G TYPE = CSV BOGUS_OPTION = 1").code == "001003"


def test_stages(account: Account) -> None:
    run(account, STAGE + " COMMENT = 'landing'")
    row = one(run(account, "SHOW STAGES IN DATABASE DB"), "STG")
    assert list(row) == SHOW_STAGES
    assert (row["url"], row["storage_integration"], row["type"], row["cloud"], row["comment"]) == (
        "s3://bucket/a/",
        "S3_INT",
        "EXTERNAL",
        "AWS",
        "landing",
    )
    assert (row["has_credentials"], row["has_encryption_key"], row["directory_enabled"]) == ("N", "N", "N")
    run(account, "ALTER STAGE DB.RAW.STG SET URL = 's3://bucket/b/' COMMENT = 'moved'")
    row = one(run(account, "SHOW STAGES IN DATABASE DB"), "STG")
    assert (row["url"], row["comment"]) == ("s3://bucket/b/", "moved")
    assert str(error_of(account, "CREATE STAGE DB.RAW.S2 URL = 's3://x/' STORAGE_INTEGRATION = NOPE")) == (
        "002003 (02000): SQL compilation error: Object 'NOPE' does not exist or not authorized."
    )
    assert error_of(account, "CREATE STAGE DB.RAW.S3 FILE_FORMAT = (FORMAT_NAME = 'DB.RAW.NOPE')").code == "002003"
    run(account, "CREATE STAGE DB.RAW.INTERNAL FILE_FORMAT = (FORMAT_NAME = 'DB.RAW.CSV')")
    internal = one(run(account, "SHOW STAGES IN DATABASE DB"), "INTERNAL")
    assert (internal["url"], internal["type"], internal["cloud"]) == ("", "INTERNAL", None)


# --- tables --------------------------------------------------------------------------------------------------

COLUMNS_QUERY = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE,"
    " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, COLLATION_NAME,"
    " COMMENT FROM DB.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA'"
    " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)


def _columns(account: Account, table: str) -> list[dict[str, Any]]:
    return [r for r in run(account, COLUMNS_QUERY) if r["TABLE_NAME"] == table]


def test_show_tables_and_information_schema_columns(account: Account) -> None:
    run(
        account,
        "CREATE TRANSIENT TABLE DB.RAW.T (\n"
        "  S STRING, V VARCHAR(20) NOT NULL COLLATE 'en-ci' COMMENT 'v col', C CHAR, N NUMBER, D DECIMAL(10,2),\n"
        "  I INT, F DOUBLE, B BOOLEAN, DT DATE, TS TIMESTAMP, TL TIMESTAMP_LTZ(3), TT TIME, X TEXT DEFAULT 'x'\n"
        ") DATA_RETENTION_TIME_IN_DAYS = 0 COMMENT = 'transient one'",
    )
    row = one(run(account, "SHOW TABLES IN DATABASE DB"), "T")
    assert list(row) == SHOW_TABLES
    assert (row["kind"], row["retention_time"], row["comment"], row["rows"]) == ("TRANSIENT", 0, "transient one", 0)
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")["retention_time"] == 1
    columns = _columns(account, "T")
    assert list(columns[0]) == [
        "TABLE_SCHEMA",
        "TABLE_NAME",
        "COLUMN_NAME",
        "ORDINAL_POSITION",
        "IS_NULLABLE",
        "DATA_TYPE",
        "CHARACTER_MAXIMUM_LENGTH",
        "NUMERIC_PRECISION",
        "NUMERIC_SCALE",
        "DATETIME_PRECISION",
        "COLLATION_NAME",
        "COMMENT",
    ]
    summary = [
        (
            c["COLUMN_NAME"],
            c["DATA_TYPE"],
            c["CHARACTER_MAXIMUM_LENGTH"],
            c["NUMERIC_PRECISION"],
            c["NUMERIC_SCALE"],
            c["DATETIME_PRECISION"],
        )
        for c in columns
    ]
    assert summary == [
        ("S", "TEXT", 16777216, None, None, None),
        ("V", "TEXT", 20, None, None, None),
        ("C", "TEXT", 1, None, None, None),
        ("N", "NUMBER", None, 38, 0, None),
        ("D", "NUMBER", None, 10, 2, None),
        ("I", "NUMBER", None, 38, 0, None),
        ("F", "FLOAT", None, None, None, None),
        ("B", "BOOLEAN", None, None, None, None),
        ("DT", "DATE", None, None, None, None),
        ("TS", "TIMESTAMP_NTZ", None, None, None, 9),
        ("TL", "TIMESTAMP_LTZ", None, None, None, 3),
        ("TT", "TIME", None, None, None, 9),
        ("X", "TEXT", 16777216, None, None, None),
    ]
    v = columns[1]
    assert (v["IS_NULLABLE"], v["COLLATION_NAME"], v["COMMENT"], v["ORDINAL_POSITION"]) == ("NO", "en-ci", "v col", 2)
    assert (columns[0]["IS_NULLABLE"], columns[0]["COLLATION_NAME"], columns[0]["COMMENT"]) == ("YES", None, None)
    star = run(account, "SELECT * FROM DB.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'T' AND COLUMN_NAME = 'X'")
    assert star[0]["COLUMN_DEFAULT"] == "'x'"
    assert error_of(account, "SELECT NOPE FROM DB.INFORMATION_SCHEMA.COLUMNS").code == "000904"


def test_primary_keys(account: Account) -> None:
    run(account, "CREATE TABLE DB.RAW.K (A INT, B VARCHAR(5), C INT, PRIMARY KEY (B, A))")
    run(account, "CREATE TABLE DB.RAW.K2 (ID INT CONSTRAINT PK_K2 PRIMARY KEY, V INT)")
    rows = run(account, "SHOW PRIMARY KEYS IN DATABASE DB")
    assert [(r["table_name"], r["column_name"], r["key_sequence"]) for r in rows] == [
        ("K", "B", 1),
        ("K", "A", 2),
        ("K2", "ID", 1),
    ]
    assert list(rows[0]) == [
        "created_on",
        "database_name",
        "schema_name",
        "table_name",
        "column_name",
        "key_sequence",
        "constraint_name",
        "rely",
        "comment",
    ]
    assert rows[2]["constraint_name"] == "PK_K2"
    assert rows[0]["constraint_name"].startswith("SYS_CONSTRAINT_")
    # A PRIMARY KEY implies NOT NULL.
    assert [c["IS_NULLABLE"] for c in _columns(account, "K")] == ["NO", "NO", "YES"]
    run(account, "ALTER TABLE DB.RAW.K DROP PRIMARY KEY")
    run(account, "ALTER TABLE DB.RAW.K ADD PRIMARY KEY (C)")
    assert [(r["table_name"], r["column_name"]) for r in run(account, "SHOW PRIMARY KEYS IN TABLE DB.RAW.K")] == [
        ("K", "C")
    ]
    assert error_of(account, "CREATE TABLE DB.RAW.K3 (A INT, PRIMARY KEY (NOPE))").code == "000904"


def test_alter_table(account: Account) -> None:
    table = "ALTER TABLE DB.RAW.LANDING "
    run(account, table + "ADD COLUMN C VARCHAR(5) COLLATE 'en-ci' COMMENT 'c'")
    run(account, table + "ALTER COLUMN A SET DATA TYPE VARCHAR(50)")
    run(account, table + "ALTER COLUMN B SET NOT NULL")
    run(account, table + "ALTER COLUMN A COMMENT 'a'")
    run(account, table + "SET DATA_RETENTION_TIME_IN_DAYS = 5")
    run(account, table + "SET COMMENT = 'landing'")
    columns = {c["COLUMN_NAME"]: c for c in _columns(account, "LANDING")}
    assert list(columns) == ["A", "B", "LOADED_AT", "C"]
    assert (columns["A"]["CHARACTER_MAXIMUM_LENGTH"], columns["A"]["COMMENT"]) == (50, "a")
    assert columns["B"]["IS_NULLABLE"] == "NO"
    assert (columns["C"]["COLLATION_NAME"], columns["C"]["COMMENT"]) == ("en-ci", "c")
    row = one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")
    assert (row["retention_time"], row["comment"]) == (5, "landing")
    run(account, table + "ALTER COLUMN B DROP NOT NULL")
    run(account, table + "ALTER COLUMN A UNSET COMMENT")
    run(account, table + "UNSET DATA_RETENTION_TIME_IN_DAYS")
    run(account, table + "DROP COLUMN LOADED_AT, C")
    columns = {c["COLUMN_NAME"]: c for c in _columns(account, "LANDING")}
    assert list(columns) == ["A", "B"]
    assert (columns["A"]["COMMENT"], columns["B"]["IS_NULLABLE"]) == (None, "YES")
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")["retention_time"] == 1
    # The same widening with the column's collation repeated is accepted.
    run(account, table + "ADD COLUMN E VARCHAR(5) COLLATE 'en-ci'")
    run(account, table + "ALTER COLUMN E SET DATA TYPE VARCHAR(9) COLLATE 'en-ci'")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            "ALTER COLUMN A SET DATA TYPE VARCHAR(5)",
            '002108 (22000): SQL compilation error: cannot change column A from type "VARCHAR(10)" to "VARCHAR(5)"'
            " because reducing the byte-length of a varchar is not supported.",
        ),
        (
            "ALTER COLUMN A SET DATA TYPE NUMBER(38,0)",
            '002108 (22000): SQL compilation error: cannot change column A from type "VARCHAR(10)" to "NUMBER(38,0)".',
        ),
        (
            "ALTER COLUMN B SET DATA TYPE NUMBER(38,2)",
            '002108 (22000): SQL compilation error: cannot change column B from type "NUMBER(38,0)" to "NUMBER(38,2)"'
            " because changing the scale of a number is not supported.",
        ),
        (
            "ALTER COLUMN Z SET DATA TYPE VARCHAR(9)",
            "002108 (22000): SQL compilation error: cannot change column Z from type \"VARCHAR(5) COLLATE 'en-ci'\""
            ' to "VARCHAR(9)" because they have incompatible collations.',
        ),
        (
            "DROP COLUMN A, NOPE",
            "000904 (42000): SQL compilation error: error line 1 at position 42 invalid identifier 'NOPE'",
        ),
        ("ADD COLUMN A INT", "002025 (42S21): SQL compilation error: duplicate column name 'A'"),
    ],
)
def test_alter_table_refusals_change_nothing(account: Account, action: str, message: str) -> None:
    run(account, "ALTER TABLE DB.RAW.LANDING ADD COLUMN Z VARCHAR(5) COLLATE 'en-ci'")
    before = _columns(account, "LANDING")
    assert str(error_of(account, f"ALTER TABLE DB.RAW.LANDING {action}")) == message
    assert _columns(account, "LANDING") == before


def test_describe_table_and_default_collation(account: Account) -> None:
    run(
        account,
        "CREATE TABLE DB.RAW.C (K INT, S VARCHAR, E VARCHAR(3) COLLATE 'utf8' COMMENT 'e', PRIMARY KEY (K))"
        " DEFAULT_DDL_COLLATION = 'en-ci' CLUSTER BY (K, UPPER(S))",
    )
    rows = run(account, "DESC TABLE DB.RAW.C")
    assert list(rows[0]) == [
        "name",
        "type",
        "kind",
        "null?",
        "default",
        "primary key",
        "unique key",
        "check",
        "expression",
        "comment",
        "policy name",
        "privacy domain",
        "schema evolution record",
    ]
    assert [(r["name"], r["type"], r["null?"], r["primary key"], r["comment"]) for r in rows] == [
        ("K", "NUMBER(38,0)", "N", "Y", None),
        ("S", "VARCHAR(16777216) COLLATE 'en-ci'", "Y", "N", None),
        ("E", "VARCHAR(3) COLLATE 'utf8'", "Y", "N", "e"),
    ]
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "C")["cluster_by"] == "LINEAR(K, UPPER(S))"


def test_show_filters_and_scopes(account: Account) -> None:
    for name in ("A1", "A2", "B1", "AX"):
        run(account, f"CREATE TABLE DB.RAW.{name} (X INT)")
    run(account, "CREATE SCHEMA DB.OTHER")
    run(account, "CREATE TABLE DB.OTHER.A1 (X INT)")

    def names(sql: str) -> list[tuple[str, str]]:
        return [(r["schema_name"], r["name"]) for r in run(account, sql)]

    assert names("SHOW TABLES LIKE 'a_' IN SCHEMA DB.RAW") == [("RAW", "A1"), ("RAW", "A2"), ("RAW", "AX")]
    assert names("SHOW TABLES LIKE 'A1' IN DATABASE DB") == [("OTHER", "A1"), ("RAW", "A1")]
    assert names("SHOW TABLES IN DB.OTHER") == [("OTHER", "A1")]
    assert names("SHOW TABLES IN SCHEMA DB.RAW STARTS WITH 'A' LIMIT 2") == [("RAW", "A1"), ("RAW", "A2")]
    assert names("SHOW TABLES IN SCHEMA DB.RAW LIMIT 10 FROM 'B'") == [("RAW", "B1"), ("RAW", "LANDING")]
    assert names("SHOW TABLES LIKE 'LANDING' IN ACCOUNT") == [("RAW", "LANDING")]
    assert run(account, "SHOW TABLES IN SCHEMA DB.INFORMATION_SCHEMA") == []
    assert error_of(account, "SHOW TABLES IN DATABASE NOPE").code == "002003"
    assert error_of(account, "SHOW TABLES IN SCHEMA DB.NOPE").code == "002003"


def test_describe_pipe_stream_and_task_match_show(account: Account) -> None:
    run(account, STAGE)
    run(account, f"CREATE PIPE DB.RAW.P AS {PIPE_COPY}")
    run(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING")
    run(account, "CREATE TASK DB.RAW.T AS SELECT 1")
    for kind, name in (("PIPES", "P"), ("STREAMS", "S"), ("TASKS", "T")):
        assert run(account, f"DESC {kind[:-1]} DB.RAW.{name}") == [
            one(run(account, f"SHOW {kind} IN SCHEMA DB.RAW"), name)
        ]


def test_retention_limits_depend_on_the_table_kind(account: Account) -> None:
    run(account, "CREATE TABLE DB.RAW.P (A INT) DATA_RETENTION_TIME_IN_DAYS = 90")
    assert str(error_of(account, "CREATE TRANSIENT TABLE DB.RAW.T (A INT) DATA_RETENTION_TIME_IN_DAYS = 7")) == (
        "002000 (42601): SQL compilation error: invalid value [7] for parameter 'DATA_RETENTION_TIME_IN_DAYS'"
    )
    run(account, "CREATE TRANSIENT TABLE DB.RAW.T (A INT) DATA_RETENTION_TIME_IN_DAYS = 1")
    assert error_of(account, "ALTER TABLE DB.RAW.T SET DATA_RETENTION_TIME_IN_DAYS = 2").code == "002000"
    assert error_of(account, "ALTER TABLE DB.RAW.P SET DATA_RETENTION_TIME_IN_DAYS = 91").code == "002000"


def test_column_comment_has_no_equals_sign(account: Account) -> None:
    assert error_of(account, "CREATE TABLE DB.RAW.T (A INT COMMENT = 'x')").code == "001003"
    assert error_of(account, "CREATE TABLE DB.RAW.T (A INT, A VARCHAR)").code == "002025"
    assert error_of(account, "CREATE TABLE DB.RAW.T (A WIBBLE)").code == "002040"


# --- pipes ---------------------------------------------------------------------------------------------------


def test_pipes(account: Account) -> None:
    run(account, STAGE)
    run(
        account,
        "CREATE PIPE DB.RAW.P\n  AUTO_INGEST = TRUE\n  ERROR_INTEGRATION = ERRORS_INT\n  COMMENT = 'p'\n  AS\n"
        + PIPE_COPY
        + ";",
    )
    run(account, "CREATE PIPE DB.RAW.MANUAL AS COPY INTO DB.RAW.LANDING FROM @DB.RAW.STG/sub/path/")
    rows = run(account, "SHOW PIPES IN DATABASE DB")
    pipe = one(rows, "P")
    assert list(pipe) == SHOW_PIPES
    assert pipe["definition"] == PIPE_COPY  # verbatim: everything after the top-level AS, without the ';'
    assert pipe["error_integration"] == "ERRORS_INT"
    assert pipe["notification_channel"].startswith("arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-AIDAEMULATED-")
    assert (pipe["kind"], pipe["comment"]) == ("STAGE", "p")
    manual = one(rows, "MANUAL")
    assert (manual["notification_channel"], manual["error_integration"]) == ("", None)
    assert manual["definition"] == "COPY INTO DB.RAW.LANDING FROM @DB.RAW.STG/sub/path/"

    def status() -> dict[str, Any]:
        (row,) = run(account, "SELECT SYSTEM$PIPE_STATUS('DB.RAW.P')")
        return dict(json.loads(row["SYSTEM$PIPE_STATUS('DB.RAW.P')"]))

    assert (status()["executionState"], status()["pendingFileCount"]) == ("RUNNING", 0)
    run(account, "ALTER PIPE DB.RAW.P SET PIPE_EXECUTION_PAUSED = TRUE")
    assert status()["executionState"] == "PAUSED"
    run(account, "ALTER PIPE DB.RAW.P UNSET ERROR_INTEGRATION")
    run(account, "ALTER PIPE DB.RAW.P SET COMMENT = 'q'")
    pipe = one(run(account, "SHOW PIPES IN DATABASE DB"), "P")
    assert (pipe["error_integration"], pipe["comment"]) == (None, "q")
    run(account, "ALTER PIPE DB.RAW.P SET ERROR_INTEGRATION = ERRORS_INT PIPE_EXECUTION_PAUSED = FALSE")
    assert status()["executionState"] == "RUNNING"
    # A re-created stage stops its pipes (reference §4.1).
    run(account, STAGE.replace("CREATE ", "CREATE OR REPLACE ", 1))
    assert status()["executionState"] == "STOPPED_STAGE_DROPPED"


@pytest.mark.parametrize(
    ("copy", "code"),
    [
        ("COPY INTO DB.RAW.NOPE FROM @DB.RAW.STG", "002003"),
        ("COPY INTO DB.RAW.LANDING FROM @DB.RAW.NOPE", "002003"),
        ("COPY INTO DB.RAW.LANDING (A, NOPE) FROM (SELECT $1, $2 FROM @DB.RAW.STG)", "000904"),
        ("COPY INTO DB.RAW.LANDING (A, B) FROM (SELECT $1 FROM @DB.RAW.STG)", "002020"),
        ("COPY INTO DB.RAW.LANDING FROM @DB.RAW.STG FILE_FORMAT = (FORMAT_NAME = 'DB.RAW.NOPE')", "002003"),
    ],
)
def test_pipe_references_are_checked(account: Account, copy: str, code: str) -> None:
    run(account, STAGE)
    assert error_of(account, f"CREATE PIPE DB.RAW.P AS {copy}").code == code
    assert error_of(account, f"CREATE PIPE DB.RAW.P ERROR_INTEGRATION = NOPE AS {PIPE_COPY}").code == "002003"


# --- streams -------------------------------------------------------------------------------------------------


def test_streams_and_staleness(account: Account) -> None:
    run(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING APPEND_ONLY = TRUE COMMENT = 's'")
    run(account, "CREATE STREAM DB.RAW.D ON TABLE DB.RAW.LANDING")
    rows = run(account, "SHOW STREAMS IN DATABASE DB")
    stream = one(rows, "S")
    assert list(stream) == SHOW_STREAMS
    assert (stream["table_name"], stream["mode"], stream["stale"], stream["type"], stream["source_type"]) == (
        "DB.RAW.LANDING",
        "APPEND_ONLY",
        "false",
        "DELTA",
        "Table",
    )
    assert one(rows, "D")["mode"] == "DEFAULT"
    # The first stream turns on the table's change tracking.
    assert one(run(account, "SHOW TABLES IN DATABASE DB"), "LANDING")["change_tracking"] == "ON"
    run(account, "ALTER STREAM DB.RAW.S SET COMMENT = 't'")
    assert one(run(account, "SHOW STREAMS IN DATABASE DB"), "S")["comment"] == "t"
    # Keeping the offset through a re-create.
    run(
        account, "CREATE OR REPLACE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING AT(STREAM => 'DB.RAW.S') APPEND_ONLY = TRUE"
    )
    assert run(account, "SELECT SYSTEM$STREAM_HAS_DATA('DB.RAW.S')") == [{"SYSTEM$STREAM_HAS_DATA('DB.RAW.S')": False}]
    # Re-creating the table makes its streams stale (reference §7.3); a new stream on it is fresh.
    run(account, LANDING.replace("CREATE ", "CREATE OR REPLACE ", 1))
    assert {r["name"]: r["stale"] for r in run(account, "SHOW STREAMS IN DATABASE DB")} == {"D": "true", "S": "true"}
    run(account, "CREATE OR REPLACE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING APPEND_ONLY = TRUE")
    assert one(run(account, "SHOW STREAMS IN DATABASE DB"), "S")["stale"] == "false"


def test_stream_errors(account: Account) -> None:
    assert str(error_of(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.NOPE")) == (
        "002003 (02000): SQL compilation error: Object 'DB.RAW.NOPE' does not exist or not authorized."
    )
    assert error_of(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING AT(STREAM => 'DB.RAW.NOPE')").code == (
        "002003"
    )
    assert error_of(account, "SELECT SYSTEM$STREAM_HAS_DATA('DB.RAW.NOPE')").code == "002003"


# --- procedures ----------------------------------------------------------------------------------------------

PROCEDURES_QUERY = (
    "SELECT PROCEDURE_CATALOG, PROCEDURE_SCHEMA, PROCEDURE_NAME, ARGUMENT_SIGNATURE, DATA_TYPE,"
    " PROCEDURE_LANGUAGE, PROCEDURE_DEFINITION, COMMENT FROM DB.INFORMATION_SCHEMA.PROCEDURES"
)


def test_procedures(account: Account) -> None:
    body = "\nvar x = 'a;b'; // $ sign and 'quotes'\nreturn x;\n"
    run(
        account,
        "CREATE PROCEDURE DB.RAW.P()\n  RETURNS VARCHAR(100)\n  LANGUAGE JAVASCRIPT\n  COMMENT = 'js'\n"
        f"  EXECUTE AS CALLER\n  AS\n$${body}$$",
    )
    run(
        account,
        "CREATE PROCEDURE DB.RAW.Q(N NUMBER(10,2), S STRING) RETURNS NUMBER LANGUAGE SQL "
        "AS 'BEGIN RETURN 1; -- it''s \\\\n\nEND;'",
    )
    rows = {r["PROCEDURE_NAME"]: r for r in run(account, PROCEDURES_QUERY)}
    assert rows["P"] == {
        "PROCEDURE_CATALOG": "DB",
        "PROCEDURE_SCHEMA": "RAW",
        "PROCEDURE_NAME": "P",
        "ARGUMENT_SIGNATURE": "()",
        "DATA_TYPE": "VARCHAR",
        "PROCEDURE_LANGUAGE": "JAVASCRIPT",
        "PROCEDURE_DEFINITION": body,
        "COMMENT": "js",
    }
    assert (rows["Q"]["ARGUMENT_SIGNATURE"], rows["Q"]["DATA_TYPE"], rows["Q"]["PROCEDURE_LANGUAGE"]) == (
        "(N NUMBER, S VARCHAR)",
        "NUMBER",
        "SQL",
    )
    assert rows["Q"]["PROCEDURE_DEFINITION"] == "BEGIN RETURN 1; -- it's \\n\nEND;"
    run(account, "ALTER PROCEDURE DB.RAW.P() SET COMMENT = 'changed'")
    assert {r["PROCEDURE_NAME"]: r["COMMENT"] for r in run(account, PROCEDURES_QUERY)}["P"] == "changed"
    # An overload is a separate procedure; DROP names the argument types.
    run(account, "CREATE PROCEDURE DB.RAW.P(X VARCHAR) RETURNS VARCHAR LANGUAGE SQL AS $$ SELECT 1 $$")
    assert error_of(account, "CREATE PROCEDURE DB.RAW.P() RETURNS VARCHAR LANGUAGE SQL AS $$x$$").code == "002002"
    run(account, "CREATE OR REPLACE PROCEDURE DB.RAW.P() COPY GRANTS RETURNS VARCHAR LANGUAGE SQL AS $$x$$")
    assert len(run(account, PROCEDURES_QUERY)) == 3
    assert run(account, "DROP PROCEDURE DB.RAW.P(VARCHAR)") == [{"status": "P successfully dropped."}]
    assert str(error_of(account, "DROP PROCEDURE DB.RAW.P(NUMBER)")) == (
        "002003 (02000): SQL compilation error: Object 'DB.RAW.P(NUMBER)' does not exist or not authorized."
    )
    describe = {r["property"]: r["value"] for r in run(account, "DESC PROCEDURE DB.RAW.Q(NUMBER, VARCHAR)")}
    assert describe["signature"] == "(N NUMBER, S VARCHAR)"
    assert describe["returns"] == "NUMBER"


# --- tasks ---------------------------------------------------------------------------------------------------

TASK = (
    "CREATE TASK DB.RAW.T\n  WAREHOUSE = COMPUTE_WH\n  SCHEDULE = 'USING CRON 0 0 * * * America/New_York'\n"
    "  ERROR_INTEGRATION = ERRORS_INT\n  COMMENT = 'nightly'\n  WHEN SYSTEM$STREAM_HAS_DATA('DB.RAW.S')\n"
    "  AS CALL DB.RAW.P()"
)


def _task(account: Account, name: str = "T") -> dict[str, Any]:
    return one(run(account, "SHOW TASKS IN DATABASE DB"), name)


def test_tasks(account: Account) -> None:
    run(account, TASK)
    task = _task(account)
    assert list(task) == SHOW_TASKS
    assert task["state"] == "suspended"  # tasks are created suspended
    assert (task["definition"], task["condition"]) == ("CALL DB.RAW.P()", "SYSTEM$STREAM_HAS_DATA('DB.RAW.S')")
    assert (task["schedule"], task["warehouse"], task["error_integration"]) == (
        "USING CRON 0 0 * * * America/New_York",
        "COMPUTE_WH",
        "ERRORS_INT",
    )
    assert (task["predecessors"], task["comment"]) == ("[]", "nightly")
    run(account, "ALTER TASK DB.RAW.T RESUME")
    assert _task(account)["state"] == "started"
    assert str(error_of(account, "ALTER TASK DB.RAW.T SET SCHEDULE = '5 MINUTES'")) == (
        "091072 (22000): Unable to update graph with root task DB.RAW.T since that root task is not suspended."
    )
    for refused in ("UNSET WAREHOUSE", "MODIFY AS SELECT 1", "MODIFY WHEN TRUE"):
        assert error_of(account, f"ALTER TASK DB.RAW.T {refused}").code == "091072"
    run(account, "ALTER TASK DB.RAW.T SUSPEND")
    run(account, "ALTER TASK DB.RAW.T SET SCHEDULE = '10 MINUTE' COMMENT = 'often'")
    run(account, "ALTER TASK DB.RAW.T UNSET WAREHOUSE")
    run(account, "ALTER TASK DB.RAW.T UNSET ERROR_INTEGRATION")
    run(account, "ALTER TASK DB.RAW.T MODIFY AS CALL   DB.RAW.P2()")
    run(account, "ALTER TASK DB.RAW.T MODIFY WHEN SYSTEM$STREAM_HAS_DATA('DB.RAW.S2')")
    task = _task(account)
    assert (task["schedule"], task["comment"], task["state"]) == ("10 MINUTE", "often", "suspended")
    # An unset warehouse / error integration is echoed as the string 'null' (reference §8.5).
    assert (task["warehouse"], task["error_integration"]) == ("null", "null")
    assert (task["definition"], task["condition"]) == ("CALL   DB.RAW.P2()", "SYSTEM$STREAM_HAS_DATA('DB.RAW.S2')")
    assert task["last_suspended_reason"] == "USER_SUSPENDED"
    assert run(account, "EXECUTE TASK DB.RAW.T") == [{"status": "Task T is scheduled to run immediately."}]
    old_id = task["id"]
    run(account, TASK.replace("CREATE ", "CREATE OR REPLACE ", 1))
    assert _task(account)["id"] != old_id


def test_task_graphs(account: Account) -> None:
    run(account, "CREATE TASK DB.RAW.ROOT SCHEDULE = '5 MINUTES' AS SELECT 1")
    run(account, "CREATE TASK DB.RAW.CHILD AFTER DB.RAW.ROOT AS SELECT 2")
    child = _task(account, "CHILD")
    assert json.loads(child["predecessors"]) == ['"DB"."RAW"."ROOT"']
    assert child["allow_overlapping_execution"] is None
    run(account, "ALTER TASK DB.RAW.CHILD RESUME")
    run(account, "ALTER TASK DB.RAW.ROOT RESUME")
    # Changing any task of a running graph names the root.
    assert str(error_of(account, "ALTER TASK DB.RAW.CHILD SET COMMENT = 'x'")) == (
        "091072 (22000): Unable to update graph with root task DB.RAW.ROOT since that root task is not suspended."
    )
    assert error_of(account, "CREATE TASK DB.RAW.C2 AFTER DB.RAW.ROOT AS SELECT 3").code == "091072"
    run(account, "ALTER TASK DB.RAW.ROOT SUSPEND")
    run(account, "ALTER TASK DB.RAW.CHILD SET COMMENT = 'x'")
    run(account, "DROP TASK DB.RAW.ROOT")
    assert _task(account, "CHILD")["predecessors"] == "[]"
    assert error_of(account, "CREATE TASK DB.RAW.C3 AFTER DB.RAW.NOPE AS SELECT 3").code == "002003"


def test_task_errors(account: Account) -> None:
    assert error_of(account, TASK.replace("ERRORS_INT", "NOPE")).code == "002003"
    bad_zone = "CREATE TASK DB.RAW.T2 SCHEDULE = 'USING CRON 0 0 * * * Mars/Olympus' AS SELECT 1"
    assert "invalid value [USING CRON 0 0 * * * Mars/Olympus] for parameter 'SCHEDULE'" in str(
        error_of(account, bad_zone)
    )
    assert error_of(account, "CREATE TASK DB.RAW.T3 SCHEDULE = 'often' AS SELECT 1").code == "002000"


# --- views ---------------------------------------------------------------------------------------------------


def test_views(account: Account) -> None:
    create = "CREATE SECURE VIEW DB.RAW.V\n  COMMENT = 'v'\n  AS\nSELECT A, B\nFROM DB.RAW.LANDING\nWHERE A <> 'x'"
    run(account, create + ";")
    row = one(run(account, "SHOW VIEWS IN DATABASE DB"), "V")
    assert list(row) == SHOW_VIEWS
    assert row["text"] == create  # the whole statement as submitted
    assert (row["is_secure"], row["comment"], row["kind"]) == ("true", "v", "VIEW")
    run(account, "ALTER VIEW DB.RAW.V UNSET SECURE")
    run(account, "ALTER VIEW DB.RAW.V SET COMMENT = 'w'")
    row = one(run(account, "SHOW VIEWS IN DATABASE DB"), "V")
    assert (row["is_secure"], row["comment"]) == ("false", "w")
    replace = (
        "CREATE OR REPLACE VIEW DB.RAW.V COPY GRANTS COMMENT = 'x' AS"
        " WITH C AS (SELECT A FROM DB.RAW.LANDING) SELECT * FROM C"
    )
    run(account, replace)
    assert one(run(account, "SHOW VIEWS IN DATABASE DB"), "V")["text"] == replace
    assert str(error_of(account, "CREATE VIEW DB.RAW.W AS SELECT * FROM DB.RAW.NOPE")) == (
        "002003 (02000): SQL compilation error: Object 'DB.RAW.NOPE' does not exist or not authorized."
    )
    # Tables and views share a namespace.
    assert error_of(account, "CREATE VIEW DB.RAW.LANDING AS SELECT 1").code == "002002"
    assert error_of(account, "ALTER VIEW DB.RAW.V SET SECURE COMMENT = 'two at once'").code == "001003"


# --- drop ----------------------------------------------------------------------------------------------------


def test_drop_every_kind(account: Account) -> None:
    run(account, STAGE)
    run(account, f"CREATE PIPE DB.RAW.P AS {PIPE_COPY}")
    run(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING")
    run(account, "CREATE VIEW DB.RAW.V AS SELECT A FROM DB.RAW.LANDING")
    run(account, "CREATE TASK DB.RAW.T AS SELECT 1")
    for statement, name in [
        ("DROP TASK DB.RAW.T", "T"),
        ("DROP VIEW DB.RAW.V", "V"),
        ("DROP STREAM DB.RAW.S", "S"),
        ("DROP PIPE DB.RAW.P", "P"),
        ("DROP STAGE DB.RAW.STG", "STG"),
        ("DROP FILE FORMAT DB.RAW.CSV", "CSV"),
        ("DROP TABLE DB.RAW.LANDING", "LANDING"),
        ("DROP NOTIFICATION INTEGRATION ERRORS_INT", "ERRORS_INT"),
        ("DROP STORAGE INTEGRATION IF EXISTS S3_INT", "S3_INT"),
        ("DROP SCHEMA DB.RAW", "RAW"),
        ("DROP DATABASE DB", "DB"),
    ]:
        assert run(account, statement) == [{"status": f"{name} successfully dropped."}]
    assert run(account, "SHOW DATABASES") == []
    assert run(account, "SHOW INTEGRATIONS") == []
    assert run(account, "DROP DATABASE IF EXISTS DB") == [
        {"status": "Drop statement executed successfully (DB already dropped)."}
    ]
    assert error_of(account, "DROP DATABASE DB").code == "002003"


# --- persistence and sessions --------------------------------------------------------------------------------


def _populated(order: list[str]) -> Account:
    account = Account(clock=lambda: FIXED_NOW)
    for sql in ["CREATE DATABASE DB", "CREATE SCHEMA DB.RAW", *order]:
        account.execute(sql)
    return account


def test_json_round_trip_is_faithful_and_deterministic(account: Account) -> None:
    run(account, STAGE)
    run(account, f"CREATE PIPE DB.RAW.P AUTO_INGEST = TRUE AS {PIPE_COPY}")
    run(account, "CREATE STREAM DB.RAW.S ON TABLE DB.RAW.LANDING APPEND_ONLY = TRUE")
    run(account, "CREATE PROCEDURE DB.RAW.P() RETURNS VARCHAR LANGUAGE JAVASCRIPT AS $$return 1;$$")
    run(account, TASK)
    run(account, "CREATE VIEW DB.RAW.V AS SELECT A FROM DB.RAW.LANDING")
    run(account, "CREATE TABLE DB.RAW.K (A INT PRIMARY KEY)")
    data = account.to_json()
    text = json.dumps(data)
    restored = Account.from_json(json.loads(text))
    assert json.dumps(restored.to_json()) == text
    queries = [
        "SHOW TABLES IN DATABASE DB",
        "SHOW PIPES IN DATABASE DB",
        "SHOW STREAMS IN DATABASE DB",
        "SHOW TASKS IN DATABASE DB",
        "SHOW VIEWS IN DATABASE DB",
        "SHOW PRIMARY KEYS IN DATABASE DB",
        "DESC INTEGRATION S3_INT",
        COLUMNS_QUERY,
        PROCEDURES_QUERY,
    ]
    for query in queries:
        assert restored.execute(query) == account.execute(query)
    # Ids keep counting after a restore, so generated values never repeat.
    restored.execute("CREATE TABLE DB.RAW.NEW (A INT)")
    assert account.catalog.next_id < restored.catalog.next_id
    # The same objects created in another order serialize to the same object layout.
    first = _populated(["CREATE TABLE DB.RAW.A (X INT)", "CREATE TABLE DB.RAW.B (X INT)"]).to_json()
    second = _populated(["CREATE TABLE DB.RAW.B (X INT)", "CREATE TABLE DB.RAW.A (X INT)"]).to_json()
    assert list(first["databases"]["DB"]["schemas"]["RAW"]["tables"]) == ["A", "B"]
    assert list(second["databases"]["DB"]["schemas"]["RAW"]["tables"]) == ["A", "B"]
    with pytest.raises(ValueError, match="unsupported emulated catalog format"):
        Account.from_json({**data, "format_version": 99})


def test_session_records_history_and_errors_are_session_errors(account: Account) -> None:
    session = EmulatedSession(account, query_tag="tag-1")
    session.execute("CREATE SCHEMA DB.S1")
    assert session.query("SHOW SCHEMAS IN DATABASE DB")[-1]["name"] == "S1"
    session.execute("ALTER SESSION SET QUERY_TAG = 'tag-2'")
    with pytest.raises(SessionError, match="002002"):
        session.execute("CREATE SCHEMA DB.S1")
    assert issubclass(EmulatorError, SessionError)
    assert session.history == [
        ("CREATE SCHEMA DB.S1", "tag-1"),
        ("SHOW SCHEMAS IN DATABASE DB", "tag-1"),
        ("ALTER SESSION SET QUERY_TAG = 'tag-2'", "tag-1"),
        ("CREATE SCHEMA DB.S1", "tag-2"),
    ]
    session.close()
    with pytest.raises(RuntimeError):
        session.query("SELECT 1")


def test_session_is_thread_safe_and_latency_overlaps(account: Account) -> None:
    session = EmulatedSession(account, latency=0.05)
    failures: list[BaseException] = []

    def create(index: int) -> None:
        try:
            session.execute(f"CREATE TABLE DB.RAW.T{index} (A INT)")
        except BaseException as error:  # collected and asserted on below
            failures.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert failures == []
    assert len(session.history) == 20
    assert len(run(account, "SHOW TABLES IN SCHEMA DB.RAW")) == 21
    assert elapsed < 20 * 0.05  # the latency is slept outside the account's lock


# --- the shipped project -------------------------------------------------------------------------------------


def test_the_shipped_project_ddl_runs_and_echoes() -> None:
    desired = resolve(load_project(PROJECT)).objects
    plan = build_plan(desired, [])
    account = Account()
    statements = [s for change in plan.changes for s in change.statements]
    assert statements
    for statement in statements:
        account.execute(statement)
    pipe = one(run(account, "SHOW PIPES IN DATABASE SNOWLAKE_DB"), "WORK_CUSTOMER_SRC_TO_SL_PIPE")
    assert pipe["definition"].startswith("COPY INTO SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY (")
    assert pipe["error_integration"] == "SNOWFLAKE_ERROR_INTEGRATION"
    stream = one(run(account, "SHOW STREAMS IN DATABASE SNOWLAKE_DB"), "WORK_CUSTOMER_SRC_TO_SL_STREAM")
    assert (stream["table_name"], stream["mode"], stream["stale"]) == (
        "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY",
        "APPEND_ONLY",
        "false",
    )
    task = one(run(account, "SHOW TASKS IN DATABASE SNOWLAKE_DB"), "WORK_CUSTOMER_SRC_TO_SL_TASK")
    assert task["condition"] == "SYSTEM$STREAM_HAS_DATA('SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM')"
    view = one(run(account, "SHOW VIEWS IN DATABASE SNOWLAKE_DB"), "CUSTOMER_VIEW")
    assert view["text"].startswith("CREATE VIEW SNOWLAKE_DB.GOLD.CUSTOMER_VIEW")
    assert [r["name"] for r in run(account, "SHOW INTEGRATIONS")] == ["S3_BRONZE", "SNOWFLAKE_ERROR_INTEGRATION"]


def test_the_shipped_project_applies_and_then_shows_no_drift() -> None:
    """Observe -> plan -> apply -> observe again: a faithful echo means the second plan has nothing to do."""
    desired = list(resolve(load_project(PROJECT)).objects)
    databases = [Identifier("SNOWLAKE_DB")]
    wanted = Wanted.of(desired)
    session = EmulatedSession(Account())
    plan = build_plan(desired, observe(session, databases, wanted))
    result = execute_plan(plan, session)
    assert result.ok, result.failed
    again = build_plan(desired, observe(session, databases, wanted))
    assert [(c.key, c.differences) for c in again.actionable] == []
