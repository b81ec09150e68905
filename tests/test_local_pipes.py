"""Snowpipe on the local target: the rendered COPY evaluated on DuckDB over the local bucket.

Each test builds an emulated account with the objects' DDL, a DuckDB connection with the database attached under
its name, and the target table built as the engine builds it (the rendered DDL transpiled to DuckDB, with the
hidden row-sequence column); then it stages files and loads them.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl.cli import app
from retail_etl.emulator import Account
from retail_etl.local import pipes as pipes_module
from retail_etl.local.api import INTERNAL_SCHEMA, ROW_SEQUENCE_COLUMN, LocalSqlError
from retail_etl.local.bucket import BucketError, S3Location, buckets_root, list_files, put_file
from retail_etl.local.pipes import (
    LOAD_FAILED,
    LOADED,
    NOTIFICATIONS_TABLE,
    PARTIALLY_LOADED,
    PAUSED,
    RUNNING,
    STALLED_COMPILATION_ERROR,
    STOPPED_STAGE_DROPPED,
    FileField,
    FileLoadResult,
    LoadValue,
    error_notifications,
    load_all_pipes,
    load_history,
    load_pending,
    parse_copy,
    pipe_status,
)
from retail_etl.local.warehouse import row_sequence

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
PIPE = "DB.S.P"


def create_engine_table(connection: duckdb.DuckDBPyConnection, ddl: str, *, sequence: str | None = None) -> None:
    """The table as the local engine builds it: the rendered DDL transpiled to DuckDB without COLLATE, PRIMARY KEY
    and COMMENT, plus the hidden row-sequence column filled by a sequence (``sequence``, else one of its own)."""
    tree = sqlglot.parse_one(ddl, read="snowflake")
    for node in list(tree.find_all(exp.CollateColumnConstraint, exp.CommentColumnConstraint)):
        assert node.parent is not None
        node.parent.pop()  # the ColumnConstraint holding it
    for node in list(tree.find_all(exp.PrimaryKey)):
        node.pop()
    tree.set("properties", None)
    table = tree.this.this
    if sequence is None:
        sequence = f'{table.catalog}.{table.db}."{table.name}_SEQ"'
        connection.execute(f"CREATE SEQUENCE {sequence}")
    default = sqlglot.parse_one(f"nextval('{sequence}')", read="duckdb")
    tree.this.append(
        "expressions",
        exp.ColumnDef(
            this=exp.to_identifier(ROW_SEQUENCE_COLUMN),
            kind=exp.DataType.build("BIGINT"),
            constraints=[exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=default))],
        ),
    )
    connection.execute(tree.sql(dialect="duckdb"))


# --- a small pipeline: DB.S.P loads s3://bkt/in/ into DB.S.T ------------------------------------------------

TABLE = "A NUMBER(10,2), B VARCHAR(5), F VARCHAR(100), R NUMBER(38,0), TS TIMESTAMP_NTZ(6)"
ITEMS = "$1, $2, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, CURRENT_TIMESTAMP(6)"


@dataclass
class Pipeline:
    root: Path
    account: Account = field(default_factory=Account)
    connection: duckdb.DuckDBPyConnection = field(default_factory=duckdb.connect)

    def put(self, name: str, data: bytes | str, *, key_prefix: str = "in/") -> None:
        source = self.root.parent / "upload.tmp"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data.encode() if isinstance(data, str) else data)
        put_file(self.root, "bkt", key_prefix + name, source)

    def load(self, now: datetime | None = NOW) -> list[FileLoadResult]:
        return load_pending(self.connection, self.account, PIPE, self.root, now=now)

    def load_one(self, name: str, data: bytes | str) -> FileLoadResult:
        self.put(name, data)
        (result,) = self.load()
        return result

    def rows(self, columns: str = "A, B, F, R") -> list[tuple[Any, ...]]:
        return self.connection.execute(f"SELECT {columns} FROM DB.S.T ORDER BY F, R").fetchall()


def make_pipeline(
    tmp_path: Path,
    *,
    file_format: str = "",
    table: str = TABLE,
    copy: str | None = None,
    on_error: str = "SKIP_FILE",
    error_integration: bool = True,
    database_sequence: bool = False,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> Pipeline:
    """``database_sequence``: the table's row sequence draws from the database's sequence, as in the engine's
    tables (loads then take blocks of it); else from one of its own. ``connection``: the DuckDB connection to load
    with (default: a new one with DuckDB's default settings)."""
    pipeline = Pipeline(root=buckets_root(tmp_path / "state"), connection=connection or duckdb.connect())
    statements = [
        "CREATE DATABASE DB",
        "CREATE SCHEMA DB.S",
        "CREATE NOTIFICATION INTEGRATION ERRORS ENABLED = TRUE TYPE = QUEUE DIRECTION = OUTBOUND "
        "NOTIFICATION_PROVIDER = AWS_SNS AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:errors' "
        "AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/sns'",
        f"CREATE FILE FORMAT DB.S.FF TYPE = CSV {file_format}",
        "CREATE STAGE DB.S.STG URL = 's3://bkt/in/'",
        f"CREATE TABLE DB.S.T ({table})",
    ]
    for statement in statements:
        pipeline.account.execute(statement)
    body = copy or (
        f"COPY INTO DB.S.T FROM (SELECT {ITEMS} FROM @DB.S.STG) FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF') "
        f"ON_ERROR = {on_error}"
    )
    integration = "ERROR_INTEGRATION = ERRORS " if error_integration else ""
    pipeline.account.execute(f"CREATE PIPE {PIPE} AUTO_INGEST = TRUE {integration}AS {body}")
    # DuckDB's TimeZone stands for the account's TIMEZONE; fixed so load times do not depend on the machine's.
    pipeline.connection.execute("SET TimeZone = 'UTC'")
    pipeline.connection.execute("ATTACH ':memory:' AS DB")
    pipeline.connection.execute("CREATE SCHEMA DB.S")
    sequence = None
    if database_sequence:
        sequence = row_sequence("DB")
        pipeline.connection.execute(f"CREATE SCHEMA DB.{INTERNAL_SCHEMA}")
        pipeline.connection.execute(f"CREATE SEQUENCE {sequence}")
    create_engine_table(pipeline.connection, f"CREATE TABLE DB.S.T ({table})", sequence=sequence)
    return pipeline


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    made = make_pipeline(tmp_path)
    yield made
    made.connection.close()


# --- the local bucket --------------------------------------------------------------------------------------


def test_a_stage_url_maps_to_its_folder_and_lists_keys_under_the_prefix_recursively(tmp_path: Path) -> None:
    root = buckets_root(tmp_path)
    source = tmp_path / "f.csv"
    source.write_text("x\n")
    for key in ("raw/customer/a.csv", "raw/customer/2024/01/b.csv", "raw/customers.csv", "raw/sales/c.csv"):
        put_file(root, "bkt", key, source)
    assert S3Location.parse("s3://bkt/raw/customer/").folder(root) == root / "bkt" / "raw" / "customer"
    assert [f.relative_path for f in list_files(root, "s3://bkt/raw/customer/")] == ["2024/01/b.csv", "a.csv"]
    # Without a trailing slash the prefix also covers raw/customers.csv, as in S3.
    assert [f.key for f in list_files(root, "s3://bkt/raw/customer")] == [
        "raw/customer/2024/01/b.csv",
        "raw/customer/a.csv",
        "raw/customers.csv",
    ]
    assert len(list_files(root, "s3://bkt")) == 4
    assert list_files(root, "s3://other/raw/") == []
    staged = list_files(root, "s3://bkt/raw/sales/")[0]
    assert staged.size == 2 and staged.path == root / "bkt" / "raw" / "sales" / "c.csv"
    assert staged.last_modified.tzinfo is UTC


def test_put_file_stamps_the_upload_time_and_refuses_keys_that_are_not_files(tmp_path: Path) -> None:
    root = buckets_root(tmp_path)
    source = tmp_path / "old.csv"
    source.write_text("x\n")
    os.utime(source, (0, 0))
    staged = put_file(root, "bkt", "in/old.csv", source)
    assert staged.last_modified > datetime.now(UTC) - timedelta(minutes=5)
    assert not (root / ".incoming").exists() or not any((root / ".incoming").iterdir())
    for bucket, key in (("bkt", "in/"), ("bkt", "../x"), ("bkt", "a//b"), ("Bad_Bucket", "x"), ("bkt", "/x")):
        with pytest.raises(BucketError):
            put_file(root, bucket, key, source)
    with pytest.raises(BucketError):
        S3Location.parse("https://bkt/in/")


# --- the COPY statement --------------------------------------------------------------------------------------


def test_the_copy_statement_is_read_as_written() -> None:
    copy = parse_copy(
        'COPY INTO db.s.t (a, "b") FROM (SELECT t.$2 AS a, METADATA$FILENAME x, CURRENT_TIMESTAMP(3) FROM '
        "@db.s.stg/2024/ t) FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF') ON_ERROR = 'skip_file_5%' PATTERN = '.*[.]csv'"
    )
    assert copy.table.parts == ("DB", "S", "T") and copy.columns == ("A", "b")
    assert copy.items == (FileField(2), LoadValue("METADATA$FILENAME"), LoadValue("CURRENT_TIMESTAMP", 3))
    assert copy.stage.parts == ("DB", "S", "STG") and copy.stage_path == "2024/"
    assert copy.file_format == "DB.S.FF" and copy.on_error == "SKIP_FILE_5%" and copy.pattern == ".*[.]csv"
    plain = parse_copy("COPY INTO t FROM @stg FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = '|')")
    assert plain.items is None and plain.format_options == {"TYPE": "CSV", "FIELD_DELIMITER": "|"}
    assert plain.on_error == "SKIP_FILE"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("(SELECT $1::NUMBER FROM @DB.S.STG)", "cannot evaluate the COPY transformation item '$1::NUMBER'"),
        ("(SELECT UPPER($1), $2 FROM @DB.S.STG)", "item 'UPPER($1)'"),
        ("(SELECT x.$1 FROM @DB.S.STG t)", "invalid identifier 'X'"),
        ("@DB.S.STG PURGE = TRUE", "copy option PURGE is not supported"),
        ("@DB.S.STG ON_ERROR = ABORT_STATEMENT", "ABORT_STATEMENT is not supported for pipes"),
        ("@DB.S.STG ON_ERROR = SKIP_ROWS", "invalid value 'SKIP_ROWS' for copy option ON_ERROR"),
        ("@~", "cannot read the pipe's COPY statement"),
        ("(SELECT $1 FROM @DB.S.STG)", "Insert value list does not match column list expecting 5 but got 1"),
    ],
)
def test_what_the_local_target_cannot_evaluate_is_refused_clearly(tmp_path: Path, source: str, message: str) -> None:
    pipeline = make_pipeline(tmp_path)
    schema = pipeline.account.catalog.databases["DB"].schemas["S"]
    # Set by hand: the emulated account refuses some of these at CREATE PIPE already, as Snowflake does.
    schema.pipes["P"].definition = f"COPY INTO DB.S.T FROM {source}"
    with pytest.raises(LocalSqlError, match=re.escape(message)):
        pipeline.load()
    assert pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root).execution_state == (
        STALLED_COMPILATION_ERROR
    )


# --- file format options -------------------------------------------------------------------------------------


def test_field_delimiter_skip_header_and_metadata_columns(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, file_format="FIELD_DELIMITER = '|' SKIP_HEADER = 2")
    result = pipeline.load_one("d.csv", "title\na|b\n1.5|x\n2|y\n")
    assert (result.status, result.rows_parsed, result.rows_loaded) == (LOADED, 2, 2)
    # METADATA$FILE_ROW_NUMBER counts records after the skipped header lines.
    assert pipeline.rows() == [(1.5, "x", "d.csv", 1), (2, "y", "d.csv", 2)]
    (load_time,) = {row[0] for row in pipeline.rows("TS")}
    assert load_time == NOW.replace(tzinfo=None)  # the connection's TimeZone is UTC here


def test_a_multi_byte_delimiter_and_no_delimiter_at_all(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, file_format="FIELD_DELIMITER = ';;'")
    pipeline.load_one("d.csv", "1;;ab\n")
    assert pipeline.rows("A, B") == [(1, "ab")]
    whole = make_pipeline(
        tmp_path / "none",
        table="B VARCHAR(10)",
        copy="COPY INTO DB.S.T FROM (SELECT $1 FROM @DB.S.STG) FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF')",
    )
    whole.account.execute("ALTER FILE FORMAT DB.S.FF SET FIELD_DELIMITER = NONE")
    whole.load_one("d.csv", "a,b;c\n")
    assert whole.connection.execute("SELECT B FROM DB.S.T").fetchall() == [("a,b;c",)]


def test_enclosed_fields_hold_delimiters_quotes_and_new_lines(tmp_path: Path) -> None:
    pipeline = make_pipeline(
        tmp_path, file_format="FIELD_OPTIONALLY_ENCLOSED_BY = '\"'", table=TABLE.replace("(5)", "(20)")
    )
    pipeline.load_one("d.csv", '1,"a,b"\n2,"say ""hi"""\n3,"two\nlines"\n4,plain\n')
    assert pipeline.rows("R, B") == [(1, "a,b"), (2, 'say "hi"'), (3, "two\nlines"), (4, "plain")]


def test_null_if_and_empty_field_as_null(tmp_path: Path) -> None:
    options = "FIELD_OPTIONALLY_ENCLOSED_BY = '\"' NULL_IF = ('NULL', 'n/a')"
    pipeline = make_pipeline(tmp_path, file_format=options)
    pipeline.load_one("d.csv", '1,NULL\n2,n/a\n3,\n4,""\n5,"NULL"\n6,null\n')
    # An empty field is NULL, an enclosed empty string is ''; NULL_IF is case-sensitive and skips enclosed values.
    assert pipeline.rows("R, B") == [(1, None), (2, None), (3, None), (4, ""), (5, "NULL"), (6, "null")]
    keep = make_pipeline(tmp_path / "keep", file_format="EMPTY_FIELD_AS_NULL = FALSE NULL_IF = ()")
    keep.load_one("d.csv", "1,\n2,\\N\n")
    assert keep.rows("R, B") == [(1, ""), (2, "\\N")]
    default = make_pipeline(tmp_path / "default")
    default.load_one("d.csv", "1,\\N\n")  # the default NULL_IF is \N
    assert default.rows("R, B") == [(1, None)]


def test_trim_space(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, file_format="TRIM_SPACE = TRUE NULL_IF = ('NULL')")
    pipeline.load_one("d.csv", "  7 ,  ab \t\n8, NULL \n")
    assert pipeline.rows("A, B") == [(7, "ab"), (8, None)]
    untrimmed = make_pipeline(tmp_path / "untrimmed")
    untrimmed.load_one("d.csv", "7, ab\n")
    assert untrimmed.rows("B") == [(" ab",)]


def test_encoding(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, file_format="ENCODING = 'ISO-8859-1'")
    pipeline.load_one("d.csv", "1,caf\xe9\n".encode("latin-1"))
    assert pipeline.rows("B") == [("café",)]
    utf16 = make_pipeline(tmp_path / "utf16", file_format="ENCODING = 'UTF-16'")
    utf16.load_one("d.csv", "1,ü\n".encode("utf-16"))
    assert utf16.rows("A, B") == [(1, "ü")]
    utf8 = make_pipeline(tmp_path / "utf8")
    utf8.load_one("bom.csv", "\ufeff1,é\n".encode())
    assert utf8.rows("A, B") == [(1, "é")]
    failed = utf8.load_one("latin1.csv", "2,caf\xe9\n".encode("latin-1"))
    assert failed.status == LOAD_FAILED and failed.rows_loaded == 0 and "utf-8" in (failed.first_error or "").lower()
    replacing = make_pipeline(tmp_path / "replace", file_format="REPLACE_INVALID_CHARACTERS = TRUE")
    replacing.load_one("d.csv", b"1,a\xffb\n")
    assert replacing.rows("B") == [("a\ufffdb",)]


def test_compression(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    pipeline.put("a.csv.gz", gzip.compress(b"1,gz\n"))
    pipeline.put("b.csv", gzip.compress(b"2,gz2\n"))  # AUTO looks at the content, not the name
    pipeline.put("c.csv.bz2", bz2.compress(b"3,bz\n"))
    pipeline.put("d.csv", b"4,none\n")
    zstd = tmp_path / "e.zst"
    duckdb.execute(f"COPY (SELECT 5, 'zstd') TO '{zstd}' (FORMAT csv, HEADER false, COMPRESSION zstd)")
    pipeline.put("e.csv", zstd.read_bytes())
    assert [result.status for result in pipeline.load()] == [LOADED] * 5
    assert pipeline.rows("A, B, F") == [
        (1, "gz", "a.csv.gz"),
        (2, "gz2", "b.csv"),
        (3, "bz", "c.csv.bz2"),
        (4, "none", "d.csv"),
        (5, "zstd", "e.csv"),
    ]
    explicit = make_pipeline(tmp_path / "gzip", file_format="COMPRESSION = GZIP ENCODING = 'ISO-8859-1'")
    explicit.load_one("e.gz", gzip.compress("5,\xe9\n".encode("latin-1")))
    assert explicit.rows("B") == [("é",)]
    broken = explicit.load_one("broken.gz", b"\x1f\x8b not really gzip")
    assert broken.status == LOAD_FAILED and broken.first_error


def test_record_delimiters(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    pipeline.load_one("crlf.csv", "1,a\r\n2,b\r\n")  # \n also ends a record at \r\n, as in Snowflake
    assert pipeline.rows("A, B") == [(1, "a"), (2, "b")]
    carriage = make_pipeline(tmp_path / "cr", file_format="RECORD_DELIMITER = '\\r'")
    carriage.load_one("cr.csv", "1,a\r2,b\r")
    assert carriage.rows("A, B") == [(1, "a"), (2, "b")]
    other = make_pipeline(tmp_path / "other", file_format="RECORD_DELIMITER = ';'")
    other.put("d.csv", "1,a;2,b")
    with pytest.raises(LocalSqlError, match="RECORD_DELIMITER"):
        other.load()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("PARSE_HEADER = TRUE", "PARSE_HEADER"),
        ("DATE_FORMAT = 'MM/DD/YYYY'", "DATE_FORMAT"),
        ("COMPRESSION = BROTLI", "COMPRESSION = BROTLI"),
        ("ENCODING = 'KLINGON'", "ENCODING"),
        ("FIELD_DELIMITER = '|||||'", "FIELD_DELIMITER"),
    ],
)
def test_options_the_local_target_cannot_honour_are_refused(tmp_path: Path, option: str, message: str) -> None:
    pipeline = make_pipeline(tmp_path, file_format=option)
    with pytest.raises(LocalSqlError, match=message):
        pipeline.load()


def test_the_format_comes_from_the_copy_else_from_the_stage(tmp_path: Path) -> None:
    inline = make_pipeline(
        tmp_path,
        copy=f"COPY INTO DB.S.T FROM (SELECT {ITEMS} FROM @DB.S.STG) FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ';')",
    )
    inline.load_one("d.csv", "1;a\n")
    assert inline.rows("A, B") == [(1, "a")]
    staged = make_pipeline(tmp_path / "stage", file_format="FIELD_DELIMITER = '|'")
    staged.account.execute(
        "CREATE OR REPLACE STAGE DB.S.STG2 URL = 's3://bkt/in/' FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF')"
    )
    staged.account.execute(f"CREATE OR REPLACE PIPE {PIPE} AS COPY INTO DB.S.T FROM (SELECT {ITEMS} FROM @DB.S.STG2)")
    staged.load_one("d.csv", "2|b\n")
    assert staged.rows("A, B") == [(2, "b")]


def test_a_transformation_ignores_the_column_count(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, file_format="ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE")
    result = pipeline.load_one("d.csv", "1\n2,b,extra,more\n")
    assert result.status == LOADED
    assert pipeline.rows("A, B") == [(1, None), (2, "b")]


# --- ON_ERROR ------------------------------------------------------------------------------------------------

BAD_TYPE = "1,a\nabc,b\n3,c\n"
TOO_LONG = "1,a\n2,abcdef\n3,c\n"


def test_skip_file_loads_nothing_from_a_file_with_an_error_and_notifies(pipeline: Pipeline) -> None:
    result = pipeline.load_one("bad.csv", BAD_TYPE)
    assert (result.status, result.rows_parsed, result.rows_loaded, result.error_count, result.error_limit) == (
        LOAD_FAILED,
        3,
        0,
        1,
        1,
    )
    assert result.first_error == "Numeric value 'abc' is not recognized"
    assert (result.first_error_line, result.first_error_column) == (2, '"T"["A":1]')
    assert pipeline.rows() == []
    (notification,) = error_notifications(pipeline.connection, "DB")
    assert notification["integration"] == "ERRORS"
    too_long = pipeline.load_one("long.csv", TOO_LONG)
    assert too_long.first_error == "String 'abcdef' is too long and would be truncated"
    assert too_long.first_error_column == '"T"["B":2]'
    assert pipeline.rows() == []


def test_the_ingest_failed_file_message_carries_snowflakes_fields(pipeline: Pipeline) -> None:
    pipeline.load_one("bad.csv", BAD_TYPE)
    (notification,) = error_notifications(pipeline.connection, "DB", pipe_name=PIPE)
    message = notification["message"]
    assert list(message) == [
        "version",
        "messageId",
        "messageType",
        "timestamp",
        "accountName",
        "pipeName",
        "tableName",
        "stageLocation",
        "messages",
    ]
    assert message["version"] == "1.0" and message["messageType"] == "INGEST_FAILED_FILE"
    assert len(message["messageId"]) == 36
    assert message["timestamp"] == "2024-03-01T12:30:45.123Z"
    assert (message["accountName"], message["pipeName"], message["tableName"]) == ("EMULATED", PIPE, "DB.S.T")
    assert message["stageLocation"] == "s3://bkt/in"
    assert message["messages"] == [{"fileName": "/bad.csv", "firstError": "Numeric value 'abc' is not recognized"}]
    # The stored record is the JSON document an SNS subscriber would receive.
    stored = pipeline.connection.execute(f"SELECT MESSAGE FROM DB.{INTERNAL_SCHEMA}.{NOTIFICATIONS_TABLE}").fetchall()
    assert [json.loads(text) for (text,) in stored] == [message]


def test_no_notification_without_an_error_integration_or_with_continue(tmp_path: Path) -> None:
    silent = make_pipeline(tmp_path, error_integration=False)
    assert silent.load_one("bad.csv", BAD_TYPE).status == LOAD_FAILED
    assert error_notifications(silent.connection, "DB") == []
    continuing = make_pipeline(tmp_path / "continue", on_error="CONTINUE")
    assert continuing.load_one("bad.csv", "abc,a\n").status == LOAD_FAILED  # every row rejected
    assert error_notifications(continuing.connection, "DB") == []


@pytest.mark.parametrize("data", [BAD_TYPE, TOO_LONG])
def test_continue_loads_the_good_rows(tmp_path: Path, data: str) -> None:
    pipeline = make_pipeline(tmp_path, on_error="CONTINUE")
    result = pipeline.load_one("bad.csv", data)
    assert (result.status, result.rows_parsed, result.rows_loaded, result.error_count, result.error_limit) == (
        PARTIALLY_LOADED,
        3,
        2,
        1,
        3,
    )
    assert pipeline.rows("R, B") == [(1, "a"), (3, "c")]


def test_skip_file_n_skips_when_the_error_count_reaches_n(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, on_error="SKIP_FILE_2")
    one = pipeline.load_one("one.csv", BAD_TYPE)
    assert (one.status, one.rows_loaded, one.error_limit) == (PARTIALLY_LOADED, 2, 2)
    two = pipeline.load_one("two.csv", "x,a\ny,b\n3,c\n")
    assert (two.status, two.rows_loaded) == (LOAD_FAILED, 0)
    assert len(error_notifications(pipeline.connection, "DB")) == 1


def test_skip_file_percent_skips_when_the_error_share_exceeds_it(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, on_error="'SKIP_FILE_20%'")
    ten = "".join(f"{i},v\n" for i in range(1, 9))
    at_limit = pipeline.load_one("a.csv", ten + "x,v\ny,v\n")  # 2 of 10: 20% does not exceed 20%
    assert (at_limit.status, at_limit.rows_loaded, at_limit.error_limit) == (PARTIALLY_LOADED, 8, 3)
    over = pipeline.load_one("b.csv", ten[:-8] + "x,v\ny,v\nz,v\n")  # 3 of 10
    assert (over.status, over.rows_loaded) == (LOAD_FAILED, 0)


def test_null_into_a_not_null_column_is_a_row_error(tmp_path: Path) -> None:
    pipeline = make_pipeline(
        tmp_path, table=TABLE.replace("B VARCHAR(5)", "B VARCHAR(5) NOT NULL"), on_error="CONTINUE"
    )
    result = pipeline.load_one("d.csv", "1,a\n2,\n3\n")
    assert (result.rows_loaded, result.error_count) == (1, 2)
    assert result.first_error == "NULL result in a non-nullable column"


def test_typed_columns_convert_or_reject_each_value(tmp_path: Path) -> None:
    table = "N NUMBER(5,1), X FLOAT, B BOOLEAN, D DATE, T TIMESTAMP_NTZ, L TIMESTAMP_LTZ"
    copy = "COPY INTO DB.S.T FROM (SELECT $1, $2, $3, $4, $5, $6 FROM @DB.S.STG) ON_ERROR = CONTINUE"
    pipeline = make_pipeline(tmp_path, table=table, copy=copy)
    good = "12.34,1e3,yes,2024-02-29,2024-02-29 10:11:12,2024-02-29 10:11:12+01:00\n"
    bad = ["123456,1,true,2024-01-01,,\n", "1,x,t,,,\n", "1,1,maybe,,,\n", "1,1,t,2024-13-01,,\n", "1,1,t,,noon,\n"]
    results = [pipeline.load_one(f"{i}.csv", data) for i, data in enumerate([good, *bad])]
    assert results[0].status == LOADED
    assert [result.first_error for result in results[1:]] == [
        "Numeric value '123456' is out of range",
        "Numeric value 'x' is not recognized",
        "Boolean value 'maybe' is not recognized",
        "Date '2024-13-01' is not recognized",
        "Timestamp 'noon' is not recognized",
    ]
    (row,) = pipeline.connection.execute("SELECT N, X, B, D, T, L FROM DB.S.T").fetchall()
    assert row[:5] == (
        Decimal("12.3"),
        1000.0,
        True,
        datetime(2024, 2, 29).date(),
        datetime(2024, 2, 29, 10, 11, 12),
    )
    assert row[5] == datetime(2024, 2, 29, 9, 11, 12, tzinfo=UTC)


def column_count_pipeline(tmp_path: Path, on_error: str) -> Pipeline:
    copy = f"COPY INTO DB.S.T (A, B) FROM @DB.S.STG FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF') ON_ERROR = {on_error}"
    return make_pipeline(tmp_path, copy=copy, file_format="FIELD_OPTIONALLY_ENCLOSED_BY = '\"'")


def test_without_a_transformation_too_many_or_too_few_fields_are_errors(tmp_path: Path) -> None:
    pipeline = column_count_pipeline(tmp_path, "SKIP_FILE")
    many = pipeline.load_one("many.csv", "1,a\n2,b,\n")
    assert many.status == LOAD_FAILED and many.first_error_line == 2
    assert many.first_error == (
        "Number of columns in file (3) does not match that of the corresponding table (2), use file format option "
        "error_on_column_count_mismatch=false to ignore this error"
    )
    few = pipeline.load_one("few.csv", "1,a\n2\n")
    assert few.first_error == 'End of record reached while expected to parse column \'"T"["B":2]\''
    continuing = column_count_pipeline(tmp_path / "continue", "CONTINUE")
    result = continuing.load_one("d.csv", '1,a\n2\n3,c,\n4,""\n5,\n')
    assert (result.status, result.rows_loaded, result.error_count) == (PARTIALLY_LOADED, 3, 2)
    assert continuing.connection.execute("SELECT A, B FROM DB.S.T ORDER BY A").fetchall() == [
        (1, "a"),
        (4, None),  # counting fields applies NULL_IF in SQL, where "" and an empty field look alike
        (5, None),
    ]
    lenient = make_pipeline(
        tmp_path / "lenient",
        copy="COPY INTO DB.S.T (A, B) FROM @DB.S.STG FILE_FORMAT = (FORMAT_NAME = 'DB.S.FF')",
        file_format="ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE",
    )
    assert lenient.load_one("d.csv", "1\n2,b,c\n").status == LOADED
    assert lenient.connection.execute("SELECT A, B FROM DB.S.T ORDER BY A").fetchall() == [(1, None), (2, "b")]


# --- load history --------------------------------------------------------------------------------------------


def test_a_path_is_loaded_once_even_when_its_content_changes(pipeline: Pipeline) -> None:
    first = pipeline.load_one("a.csv", "1,a\n")
    assert first.status == LOADED
    assert pipeline.load() == []
    pipeline.put("a.csv", "1,a\n2,b\n")  # re-staged with new content under the same key
    assert pipeline.load() == []
    assert pipeline.rows("A") == [(1,)]
    status = pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root)
    assert status.changed_after_load == ("a.csv",) and status.pending_files == ()
    pipeline.put("b.csv", "3,c\n")
    assert pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root).pending_files == ("b.csv",)
    (second,) = pipeline.load()
    assert second.file_name == "b.csv"
    assert pipeline.load() == []
    assert [record.file_name for record in load_history(pipeline.connection, pipeline.account, PIPE)] == [
        "a.csv",
        "b.csv",
    ]


def test_a_failed_file_is_not_retried_until_staged_under_a_new_name(pipeline: Pipeline) -> None:
    assert pipeline.load_one("bad.csv", BAD_TYPE).status == LOAD_FAILED
    pipeline.put("bad.csv", "1,fixed\n")
    assert pipeline.load() == []
    assert pipeline.load_one("bad_fixed.csv", "1,fixed\n").status == LOADED
    status = pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root)
    assert (status.execution_state, status.files_loaded, status.files_failed, status.rows_loaded) == (RUNNING, 1, 1, 1)
    assert status.last_error == "Numeric value 'abc' is not recognized" and status.last_error_file == "bad.csv"


def test_the_history_records_what_copy_history_reports(pipeline: Pipeline) -> None:
    pipeline.load_one("a.csv", "1,a\n")
    (record,) = load_history(pipeline.connection, pipeline.account, PIPE)
    assert (record.pipe, record.file_name, record.stage_location, record.table) == (
        PIPE,
        "a.csv",
        "s3://bkt/in/",
        "DB.S.T",
    )
    assert (record.status, record.rows_parsed, record.rows_loaded, record.error_count) == (LOADED, 1, 1, 0)
    assert record.file_size == 4 and record.last_load_time == NOW


def test_metadata_filename_is_the_path_relative_to_the_stage(pipeline: Pipeline) -> None:
    pipeline.put("2024/03/01/a.csv", "1,a\n")
    pipeline.put("elsewhere.csv", "2,b\n", key_prefix="other/")
    pipeline.load()
    assert pipeline.rows("F, R") == [("2024/03/01/a.csv", 1)]


def test_file_last_modified_start_scan_time_and_a_subpath_with_a_pattern(tmp_path: Path) -> None:
    table = "F VARCHAR(100), M TIMESTAMP_NTZ, S TIMESTAMP_LTZ, C TIMESTAMP_NTZ(0)"
    copy = (
        "COPY INTO DB.S.T FROM (SELECT METADATA$FILENAME, METADATA$FILE_LAST_MODIFIED, METADATA$START_SCAN_TIME, "
        "CURRENT_TIMESTAMP(0) FROM @DB.S.STG/2024/) PATTERN = '.*[.]csv'"
    )
    pipeline = make_pipeline(tmp_path, table=table, copy=copy)
    pipeline.put("2024/a.csv", "x\n")
    pipeline.put("2024/a.txt", "x\n")
    pipeline.put("2023/b.csv", "x\n")
    (result,) = pipeline.load()
    staged = list_files(pipeline.root, "s3://bkt/in/2024/a.csv")[0]
    (row,) = pipeline.connection.execute("SELECT F, M, S, C FROM DB.S.T").fetchall()
    assert row == ("2024/a.csv", staged.last_modified.replace(tzinfo=None), NOW, datetime(2024, 3, 1, 12, 30, 45))
    assert result.file_name == "2024/a.csv"


def test_load_time_follows_the_connection_time_zone(pipeline: Pipeline) -> None:
    pipeline.connection.execute("SET TimeZone = 'America/New_York'")
    pipeline.load_one("a.csv", "1,a\n")
    assert pipeline.rows("TS") == [(datetime(2024, 3, 1, 7, 30, 45, 123456),)]


def test_a_paused_pipe_loads_nothing_until_resumed(pipeline: Pipeline) -> None:
    pipeline.account.execute(f"ALTER PIPE {PIPE} SET PIPE_EXECUTION_PAUSED = TRUE")
    pipeline.put("a.csv", "1,a\n")
    assert pipeline.load() == []
    status = pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root)
    assert (status.execution_state, status.pending_files) == (PAUSED, ("a.csv",))
    pipeline.account.execute(f"ALTER PIPE {PIPE} SET PIPE_EXECUTION_PAUSED = FALSE")
    assert [result.status for result in pipeline.load()] == [LOADED]


def test_a_re_created_stage_stops_the_pipe(pipeline: Pipeline) -> None:
    pipeline.account.execute("CREATE OR REPLACE STAGE DB.S.STG URL = 's3://bkt/in/'")
    pipeline.put("a.csv", "1,a\n")
    assert pipeline.load() == []
    assert pipe_status(pipeline.connection, pipeline.account, PIPE, pipeline.root).execution_state == (
        STOPPED_STAGE_DROPPED
    )


def test_auto_ingest_loads_every_auto_ingest_pipe(pipeline: Pipeline) -> None:
    pipeline.account.execute("CREATE PIPE DB.S.MANUAL AS COPY INTO DB.S.T FROM (SELECT " + ITEMS + " FROM @DB.S.STG)")
    pipeline.put("a.csv", "1,a\n")
    results = load_all_pipes(pipeline.connection, pipeline.account, pipeline.root, now=NOW)
    assert [(result.pipe, result.file_name) for result in results] == [(PIPE, "a.csv")]
    assert len(load_pending(pipeline.connection, pipeline.account, "DB.S.MANUAL", pipeline.root)) == 1


def test_keys_with_glob_characters_are_read_as_themselves(pipeline: Pipeline) -> None:
    pipeline.put("a[1]*.csv", "1,a\n")
    pipeline.put("a1x.csv", "2,b\n")
    assert [result.status for result in pipeline.load()] == [LOADED, LOADED]
    assert pipeline.rows("A, F") == [(2, "a1x.csv"), (1, "a[1]*.csv")]


def test_keys_with_glob_characters_load_from_a_relative_bucket_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI's default project folder is ".": the bucket folder, and so each staged file's path, is relative.
    monkeypatch.chdir(tmp_path)
    pipeline = make_pipeline(Path("."))
    assert not pipeline.root.is_absolute()
    pipeline.put("b{1}.csv", "3,c\n")
    assert [(result.status, result.first_error) for result in pipeline.load()] == [(LOADED, None)]
    assert pipeline.rows("A, F") == [(3, "b{1}.csv")]


def test_unknown_pipes_and_missing_databases_are_reported(pipeline: Pipeline) -> None:
    with pytest.raises(LocalSqlError, match=re.escape("Pipe 'DB.S.NOPE' does not exist")):
        load_pending(pipeline.connection, pipeline.account, "DB.S.NOPE", pipeline.root)
    with pytest.raises(LocalSqlError, match="fully qualified"):
        load_pending(pipeline.connection, pipeline.account, "P", pipeline.root)
    with pytest.raises(LocalSqlError, match="which the local connection cannot write"):
        load_pending(duckdb.connect(), pipeline.account, PIPE, pipeline.root)


def test_a_large_file_loads_set_based(pipeline: Pipeline) -> None:
    pipeline.put("big.csv", "".join(f"{i},v{i % 1000}\n" for i in range(100_000)))
    (result,) = pipeline.load()
    assert (result.status, result.rows_loaded) == (LOADED, 100_000)
    assert pipeline.connection.execute(
        f"SELECT count(*), max(R), count(DISTINCT {ROW_SEQUENCE_COLUMN}) FROM DB.S.T WHERE R = A + 1"
    ).fetchone() == (100_000, 100_000, 100_000)


@pytest.mark.parametrize("database_sequence", [False, True])
def test_a_batch_with_one_bad_file_among_many_loads_the_others_and_reports_it(
    tmp_path: Path, database_sequence: bool
) -> None:
    # The files are committed together, but each one's outcome is its own: SKIP_FILE skips only the bad one.
    pipeline = make_pipeline(tmp_path, database_sequence=database_sequence)
    for index in range(6):
        pipeline.put(f"f{index}.csv", BAD_TYPE if index == 3 else f"{index}1,a\n{index}2,b\n")
    results = pipeline.load()
    assert [(result.file_name, result.status, result.rows_loaded) for result in results] == [
        (f"f{index}.csv", LOAD_FAILED if index == 3 else LOADED, 0 if index == 3 else 2) for index in range(6)
    ]
    assert results[3].first_error == "Numeric value 'abc' is not recognized"
    assert pipeline.rows("F, R, A") == [
        (f"f{index}.csv", row, Decimal(f"{index}{row}")) for index in range(6) if index != 3 for row in (1, 2)
    ]
    (notification,) = error_notifications(pipeline.connection, "DB")
    assert notification["message"]["messages"][0]["fileName"] == "/f3.csv"
    assert len(load_history(pipeline.connection, pipeline.account, PIPE)) == 6
    sequences = [row[0] for row in pipeline.connection.execute(f"SELECT {ROW_SEQUENCE_COLUMN} FROM DB.S.T").fetchall()]
    assert len(set(sequences)) == 10
    # Rows loaded later come after every earlier one (what append-only streams rely on).
    pipeline.put("later.csv", "7,z\n")
    pipeline.load()
    (later,) = pipeline.connection.execute(f"SELECT {ROW_SEQUENCE_COLUMN} FROM DB.S.T WHERE F = 'later.csv'").fetchone()
    assert later > max(sequences)


def test_a_quoted_field_spanning_lines_beside_a_short_record_keeps_its_record_numbers(tmp_path: Path) -> None:
    # Padding a short record when a quoted field spans lines is what keeps the reader single-threaded (DuckDB's
    # parallel reader refuses it); the multi-line field is one record.
    pipeline = make_pipeline(
        tmp_path,
        file_format="FIELD_OPTIONALLY_ENCLOSED_BY = '\"' ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE",
        on_error="CONTINUE",
    )
    pipeline.put("q.csv", '1,"a\nb"\n2\n3,c\n')
    (result,) = pipeline.load()
    assert (result.status, result.rows_loaded) == (LOADED, 3)
    assert pipeline.rows("F, R, A, B") == [
        ("q.csv", 1, Decimal(1), "a\nb"),
        ("q.csv", 2, Decimal(2), None),
        ("q.csv", 3, Decimal(3), "c"),
    ]


def test_a_large_file_keeps_its_record_numbers(tmp_path: Path) -> None:
    # Past DuckDB's read buffer (32 MB) a parallel read would split the file, and on a connection that lets DuckDB
    # drop insertion order (as the warehouse's does) the records would land out of order.
    pipeline = make_pipeline(tmp_path, connection=duckdb.connect(config={"preserve_insertion_order": False}))
    records = 3_000_000
    pipeline.put("big.csv", "".join(f"{number},x\n" for number in range(1, records + 1)))
    (result,) = pipeline.load()
    assert (result.status, result.rows_loaded) == (LOADED, records)
    assert pipeline.connection.execute("SELECT count(*) FILTER (WHERE R <> A), count(*) FROM DB.S.T").fetchone() == (
        0,
        records,
    )


def test_files_read_at_once_leave_no_raw_table_behind(tmp_path: Path) -> None:
    # Several readers share an in-memory catalog for the raw records; every file's raw table goes once loaded,
    # skipped or left for the next run, and rows keep their files' record order whatever reader read them.
    pipeline = make_pipeline(tmp_path)
    for index in range(9):
        pipeline.put(f"f{index}.csv", BAD_TYPE if index == 4 else "".join(f"{index}{row},x\n" for row in range(1, 6)))
    assert len(pipeline.load()) == 9
    assert pipeline.rows("F, R, A") == [
        (f"f{index}.csv", row, Decimal(f"{index}{row}")) for index in range(9) if index != 4 for row in range(1, 6)
    ]
    leftovers = pipeline.connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = '_retail_etl_pipe_scratch'"
    ).fetchone()
    assert leftovers == (0,)


def test_continue_in_a_batch_loads_each_files_good_rows(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, on_error="CONTINUE", database_sequence=True)
    pipeline.put("a.csv", BAD_TYPE)
    pipeline.put("b.csv", "4,d\n")
    assert [(result.status, result.rows_loaded) for result in pipeline.load()] == [(PARTIALLY_LOADED, 2), (LOADED, 1)]
    assert pipeline.rows("F, R, B") == [("a.csv", 1, "a"), ("a.csv", 3, "c"), ("b.csv", 1, "d")]


def test_a_batch_that_fails_to_commit_is_committed_file_by_file(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another loader recorded b.csv after this one read the history: the batch's history insert fails on the key,
    # so the files are committed one by one, as without batches: a.csv loads, b.csv fails and is named.
    pipeline.put("b.csv", "2,b\n")
    pipeline.load()
    monkeypatch.setattr(pipes_module, "_history", lambda cursor, database, pipe: [])
    pipeline.connection.execute("DELETE FROM DB.S.T")
    pipeline.put("a.csv", "1,a\n")
    os.utime(pipeline.root / "bkt" / "in" / "a.csv", (0, 0))  # oldest first: a.csv comes before b.csv
    with pytest.raises(LocalSqlError, match=r"loading in/b\.csv through pipe DB\.S\.P failed"):
        pipeline.load()
    assert pipeline.rows("F") == [("a.csv",)]
    monkeypatch.undo()
    assert {record.file_name for record in load_history(pipeline.connection, pipeline.account, PIPE)} == {
        "a.csv",
        "b.csv",
    }


def test_an_unexpected_failure_reading_a_file_still_loads_the_files_before_it(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_raw = pipes_module._read_raw

    def failing(cursor: Any, load: Any, file: Any, raw: str, workdir: Path) -> None:
        if file.relative_path == "c.csv":
            raise RuntimeError("disk on fire")
        read_raw(cursor, load, file, raw, workdir)

    monkeypatch.setattr(pipes_module, "_read_raw", failing)
    for index, name in enumerate(("a.csv", "b.csv", "c.csv", "d.csv")):
        pipeline.put(name, f"{index},v\n")
        os.utime(pipeline.root / "bkt" / "in" / name, (index, index))
    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.load()
    assert pipeline.rows("F") == [("a.csv",), ("b.csv",)]
    assert pipeline.connection.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_a_batch_numbers_its_rows_in_file_then_record_order_through_its_staging_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several files of a batch are converted into one staging table (in statements of up to _FILES_PER_STAGE files)
    # and inserted at once; the rows still take one block of row sequences, file after file in the batch's order,
    # each file's records in order, and a partly loaded file keeps its rejected records' places in the block.
    monkeypatch.setattr(pipes_module, "_FILES_PER_STAGE", 2)
    pipeline = make_pipeline(tmp_path, on_error="CONTINUE", database_sequence=True)
    for index in range(5):
        pipeline.put(f"f{index}.csv", BAD_TYPE if index == 2 else "".join(f"{index}{row},x\n" for row in range(1, 4)))
        os.utime(pipeline.root / "bkt" / "in" / f"f{index}.csv", (index, index))
    assert [result.rows_loaded for result in pipeline.load()] == [3, 3, 2, 3, 3]
    rows = pipeline.connection.execute(f"SELECT F, R, A, {ROW_SEQUENCE_COLUMN} FROM DB.S.T ORDER BY 4").fetchall()
    kept = [(index, row) for index in range(5) for row in ((1, 3) if index == 2 else (1, 2, 3))]
    assert [(name, number) for name, number, _, _ in rows] == [(f"f{index}.csv", row) for index, row in kept]
    assert [value for _, _, value, _ in rows] == [
        Decimal(row) if index == 2 else Decimal(f"{index}{row}") for index, row in kept
    ]
    first = rows[0][3]
    assert [sequence - first for *_, sequence in rows] == [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]


def test_batches_are_bounded_by_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipes_module, "_BATCH_BYTES", 10)
    pipeline = make_pipeline(tmp_path, database_sequence=True)
    for index in range(5):
        pipeline.put(f"f{index}.csv", f"{index},v\n")
    commits: list[int] = []
    commit = pipes_module._commit

    def counted(*args: Any, **kwargs: Any) -> list[FileLoadResult]:
        commits.append(len(args[3]))
        return commit(*args, **kwargs)

    monkeypatch.setattr(pipes_module, "_commit", counted)
    assert [result.status for result in pipeline.load()] == [LOADED] * 5
    assert commits == [2, 2, 1]


# --- the shipped customer pipeline ---------------------------------------------------------------------------


def test_the_shipped_customer_pipe_loads_a_customers_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    project = tmp_path / "project"
    copy_customer_pipelines(project / "pipelines")
    runner = CliRunner()
    applied = runner.invoke(app, ["apply", "--auto-approve", "-C", str(project)])
    assert applied.exit_code == 0, applied.output
    rendered = runner.invoke(app, ["render", "-C", str(project), "-o", str(tmp_path / "ddl")])
    assert rendered.exit_code == 0, rendered.output
    (table_ddl,) = (tmp_path / "ddl").glob("*_table_SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY.sql")
    account = Account.from_json(json.loads((project / ".retail-etl" / "catalog.json").read_text()))
    connection = duckdb.connect()
    connection.execute("ATTACH ':memory:' AS SNOWLAKE_DB")
    connection.execute("CREATE SCHEMA SNOWLAKE_DB.BRONZE")
    create_engine_table(connection, table_ddl.read_text().rstrip().rstrip(";"))
    root = buckets_root(project / ".retail-etl")
    source = tmp_path / "customers.csv"
    source.write_text(
        "COMPANYNAME,PHONE,ADDRESSLINE1,ADDRESSLINE2,CITY,STATE,POSTALCODE,COUNTRY,PROVINCE,FIRST_NAME,LAST_NAME\n"
        '"Acme, Inc",555-0100,1 Main St,NULL,Springfield,IL,62701,USA,,Ada,Lovelace\n'
        "Globex,555-0101,2 Oak Ave,Suite 5,Shelbyville,IL,62565,USA,null,Alan,Turing\n"
    )
    put_file(root, "snowflake-project-etl", "raw_data/customer/customers_2024-03-01.csv", source)
    pipe = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE"
    (result,) = load_all_pipes(connection, account, root, now=NOW)
    assert (result.pipe, result.status, result.rows_loaded) == (pipe, LOADED, 2)
    rows = connection.execute(
        "SELECT COMPANYNAME, ADDRESSLINE2, PROVINCE, FIRST_NAME, INSERT_DTS, UPDATE_DTS, SOURCE_FILE_NAME, "
        "SOURCE_FILE_ROW_NUMBER FROM SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY ORDER BY SOURCE_FILE_ROW_NUMBER"
    ).fetchall()
    load_time = NOW.replace(tzinfo=None)
    assert rows == [
        ("Acme, Inc", None, None, "Ada", load_time, load_time, "customers_2024-03-01.csv", 1),
        ("Globex", "Suite 5", None, "Alan", load_time, load_time, "customers_2024-03-01.csv", 2),
    ]
    status = pipe_status(connection, account, pipe, root)
    assert (status.execution_state, status.files_loaded, status.pending_files) == (RUNNING, 1, ())
