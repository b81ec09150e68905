"""The local SQL engine: Snowflake SQL translated to DuckDB (one test per deliberate mapping), Snowflake's session,
transaction and stream semantics, the catalog's DDL mirrored into the warehouse, and the shipped pipeline's
procedure statements run by hand against an applied project."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl.cli import app
from retail_etl.emulator import Account
from retail_etl.local import engine as engine_module
from retail_etl.local import translate
from retail_etl.local.api import ROW_SEQUENCE_COLUMN, LocalSqlError, StatementResult
from retail_etl.local.engine import LocalEngine, LocalSqlSession, run_query
from retail_etl.local.warehouse import Warehouse, stream_offsets
from retail_etl.targets.local import LocalSession

REPO = Path(__file__).resolve().parents[1]
STREAM = "DB.S.LANDING_STREAM"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    engine = LocalEngine(Account(), Warehouse(tmp_path), lock_timeout=5)
    setup = engine.session()
    for sql in (
        "CREATE DATABASE DB",
        "CREATE SCHEMA DB.S",
        "CREATE TABLE DB.S.LANDING (ID NUMBER(38,0), NAME VARCHAR(20) COLLATE 'en-ci')",
        f"CREATE STREAM {STREAM} ON TABLE DB.S.LANDING APPEND_ONLY = TRUE",
        "CREATE TABLE DB.S.TARGET (ID NUMBER(38,0) NOT NULL, NAME VARCHAR(20))",
    ):
        setup.run(sql)
    setup.close()
    yield engine
    engine.close()


@pytest.fixture
def session(engine: LocalEngine) -> Iterator[LocalSqlSession]:
    session = engine.session(database="DB", schema="S")
    yield session
    session.close()


def offset(engine: LocalEngine, stream: str = STREAM) -> int | None:
    database, schema, name = stream.split(".")
    connection = engine.warehouse.connect()
    try:
        row = connection.execute(
            f"SELECT ROW_SEQUENCE FROM {stream_offsets(database)} WHERE SCHEMA_NAME = ? AND STREAM_NAME = ?",
            [schema, name],
        ).fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else None


def land(session: LocalSqlSession, *names: str) -> None:
    values = ", ".join(f"({index}, '{name}')" for index, name in enumerate(names, 1))
    session.run(f"INSERT INTO DB.S.LANDING (ID, NAME) VALUES {values}")


def stream_names(session: LocalSqlSession) -> list[str]:
    return sorted(row[0] for row in session.run(f"SELECT NAME FROM {STREAM}").rows)


def duckdb_sql(sql: str, session: LocalSqlSession) -> str:
    return translate.translate(translate.parse(sql), session).sql


# --- translation: one test per deliberate mapping -------------------------------------------------------------


def test_collate_en_ci_becomes_nocase_so_comparisons_ignore_case(session: LocalSqlSession) -> None:
    assert "COLLATE NOCASE" in duckdb_sql("CREATE TABLE T (A VARCHAR(5) COLLATE 'en-ci')", session)
    land(session, "John")
    assert session.run("SELECT ID FROM LANDING WHERE NAME = 'JOHN'").rows == [(1,)]
    assert translate.duckdb_collation("en-ci-ai") == "NOCASE.NOACCENT"
    assert translate.duckdb_collation("upper") == "NOCASE"
    assert translate.duckdb_collation("utf8") is None
    assert translate.duckdb_collation("en") is None  # a locale orders text, it does not compare it
    with pytest.raises(LocalSqlError, match="'pi'"):
        translate.duckdb_collation("en-pi")


def test_transient_is_dropped(session: LocalSqlSession) -> None:
    sql = duckdb_sql("CREATE OR REPLACE TRANSIENT TABLE T (A INT) DATA_RETENTION_TIME_IN_DAYS = 1", session)
    assert sql.startswith('CREATE OR REPLACE TABLE "DB"."S"."T" (') and "TRANSIENT" not in sql
    assert "RETENTION" not in sql


def test_primary_key_is_not_enforced_but_its_columns_are_not_null(session: LocalSqlSession) -> None:
    session.run("CREATE TABLE KEYED (K NUMBER(38,0), V VARCHAR(5), PRIMARY KEY (K))")
    session.run("INSERT INTO KEYED VALUES (1, 'a'), (1, 'b')")  # Snowflake accepts duplicate keys
    assert session.run("SELECT COUNT(*) FROM KEYED").rows == [(2,)]
    with pytest.raises(LocalSqlError, match=r"100072.*NULL result in a non-nullable column"):
        session.run("INSERT INTO KEYED VALUES (NULL, 'c')")
    assert "PRIMARY KEY" not in duckdb_sql("CREATE TABLE T2 (K INT PRIMARY KEY, UNIQUE (K))", session)


def test_types_map_to_what_snowflake_stores(session: LocalSqlSession) -> None:
    sql = duckdb_sql(
        "CREATE TABLE T (A VARCHAR(10), B NUMBER(10,2), C INT, D TIMESTAMP_NTZ(6), E TIMESTAMP_NTZ(9), "
        "F TIMESTAMP_LTZ, G FLOAT, H NUMBER, I VARIANT, J STRING, K BOOLEAN)",
        session,
    )
    for column, kind in {
        "A": "VARCHAR",
        "B": "DECIMAL(10,2)",
        "C": "DECIMAL(38,0)",
        "D": "TIMESTAMP",
        "E": "TIMESTAMP",
        "F": "TIMESTAMPTZ",
        "G": "DOUBLE",
        "H": "DECIMAL(38,0)",
        "I": "JSON",
        "J": "VARCHAR",
        "K": "BOOLEAN",
    }.items():
        assert f'"{column}" {kind},' in sql
    with pytest.raises(LocalSqlError, match="GEOGRAPHY"):
        duckdb_sql("CREATE TABLE T (G GEOGRAPHY)", session)


def test_comment_clauses_are_dropped(session: LocalSqlSession) -> None:
    sql = duckdb_sql("CREATE TABLE T (A INT COMMENT 'the a') COMMENT = 'a table'", session)
    assert "COMMENT" not in sql and "the a" not in sql


def test_current_session_is_the_session_id(session: LocalSqlSession) -> None:
    assert session.run("SELECT CURRENT_SESSION()").rows == [(session.session_id,)]
    assert session.run("SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()").rows == [("DB", "S")]


def test_to_varchar_and_md5(session: LocalSqlSession) -> None:
    result = session.run("SELECT MD5(COALESCE(TO_VARCHAR(TRIM(' ab ')), '') || '|' || TO_VARCHAR(42)) AS H")
    assert result.rows == [(hashlib.md5(b"ab|42").hexdigest(),)]
    # A format needs the argument's type: sqlglot knows it for a date expression, not for a column.
    assert session.run("SELECT TO_VARCHAR(DATE '2024-03-01', 'YYYY-MM-DD') AS D").rows == [("2024-03-01",)]
    with pytest.raises(LocalSqlError, match="not supported"):
        session.run("SELECT TO_VARCHAR(NAME, 'YYYY-MM-DD') FROM LANDING")


def test_qualify_keeps_the_latest_row_per_key_case_insensitively(session: LocalSqlSession) -> None:
    land(session, "ann", "ANN", "bob")
    rows = session.run(
        "SELECT NAME, ID FROM LANDING QUALIFY ROW_NUMBER() OVER (PARTITION BY NAME ORDER BY ID DESC) = 1 ORDER BY ID"
    ).rows
    assert rows == [("ANN", 2), ("bob", 3)]


def test_merge_reports_inserted_and_updated_rows(session: LocalSqlSession) -> None:
    session.run("INSERT INTO TARGET VALUES (1, 'old'), (2, 'same')")
    session.run("CREATE TABLE SOURCE (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run("INSERT INTO SOURCE VALUES (1, 'new'), (2, 'same'), (3, 'added')")
    merge = (
        "MERGE INTO TARGET AS T USING SOURCE AS S ON T.ID = S.ID "
        "WHEN MATCHED AND T.NAME <> S.NAME THEN UPDATE SET NAME = S.NAME "
        "WHEN NOT MATCHED THEN INSERT (ID, NAME) VALUES (S.ID, S.NAME)"
    )
    assert duckdb_sql(merge, session).startswith('MERGE INTO "DB"."S"."TARGET" AS "T" USING (SELECT')
    result = session.run(merge)
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 1, 0)
    assert result.columns == ["number of rows inserted", "number of rows updated"] and result.rows == [(1, 1)]
    assert session.run("SELECT ID, NAME FROM TARGET ORDER BY ID").rows == [(1, "new"), (2, "same"), (3, "added")]


def test_merge_updating_a_row_twice_fails_as_in_snowflake(session: LocalSqlSession) -> None:
    session.run("INSERT INTO TARGET VALUES (1, 'old')")
    session.run("CREATE TABLE SOURCE (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run("INSERT INTO SOURCE VALUES (1, 'a'), (1, 'b')")
    with pytest.raises(LocalSqlError, match=r"100090.*Duplicate row detected during DML action"):
        session.run("MERGE INTO TARGET T USING SOURCE S ON T.ID = S.ID WHEN MATCHED THEN UPDATE SET NAME = S.NAME")
    assert session.run("SELECT NAME FROM TARGET").rows == [("old",)]


_MERGE_SOURCE = "SELECT 1 AS ID, 'new' AS NAME UNION ALL SELECT 2, 'gone' UNION ALL SELECT 4, 'added'"
_UPDATE = "WHEN MATCHED AND S.NAME <> 'gone' THEN UPDATE SET NAME = S.NAME"
_DELETE = "WHEN MATCHED AND S.NAME = 'gone' THEN DELETE"
_INSERT = "WHEN NOT MATCHED THEN INSERT (ID, NAME) VALUES (S.ID, S.NAME)"


@pytest.mark.parametrize("temporary", [False, True])
@pytest.mark.parametrize(
    ("clauses", "counts", "names"),
    [
        ((_UPDATE, _INSERT), (1, 1, 0), ["new", "two", "three", "added"]),
        ((_DELETE, _INSERT), (1, 0, 1), ["one", "three", "added"]),
        ((_UPDATE, _DELETE), (0, 1, 1), ["new", "three"]),
        ((_UPDATE, _DELETE, _INSERT), (1, 1, 1), ["new", "three", "added"]),
        ((_UPDATE,), (0, 1, 0), ["new", "two", "three"]),
    ],
)
def test_merge_counts_what_each_clause_did(
    session: LocalSqlSession, temporary: bool, clauses: tuple[str, ...], counts: tuple[int, int, int], names: list[str]
) -> None:
    # The counts come from the target's row counts and DuckDB's total (a MERGE that inserts, updates and deletes
    # into a temporary table, which has no row sequence to number its inserts by, asks RETURNING).
    target = "SCRATCH" if temporary else "TARGET"
    if temporary:
        session.run("CREATE TEMPORARY TABLE SCRATCH (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run(f"INSERT INTO {target} VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    result = session.run(f"MERGE INTO {target} T USING ({_MERGE_SOURCE}) S ON T.ID = S.ID {' '.join(clauses)}")
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == counts
    assert session.run(f"SELECT NAME FROM {target} ORDER BY ID").rows == [(name,) for name in names]


def test_concatenations_that_cannot_meet_null_build_one_string(session: LocalSqlSession) -> None:
    never_null = "SELECT COALESCE(NAME, '') || '|' || COALESCE(TO_VARCHAR(ID), 'none') AS V FROM LANDING"
    assert "CONCAT(COALESCE(" in duckdb_sql(never_null, session)
    may_be_null = "SELECT NAME || '|' || ID AS V FROM LANDING"
    assert "CONCAT" not in duckdb_sql(may_be_null, session)
    session.run("INSERT INTO DB.S.LANDING (ID, NAME) VALUES (1, 'ann'), (2, NULL)")
    assert sorted(session.run(never_null).rows) == [("ann|1",), ("|2",)]
    assert sorted(session.run(may_be_null).rows, key=str) == [("ann|1",), (None,)]


def test_division_by_zero_fails_as_in_snowflake(session: LocalSqlSession) -> None:
    # DuckDB divides by zero into infinity; Snowflake fails the statement, so a transform dividing by a zero
    # quantity fails its task instead of storing inf.
    session.run("INSERT INTO DB.S.LANDING (ID, NAME) VALUES (0, 'zero'), (4, 'four')")
    with pytest.raises(LocalSqlError) as raised:
        session.run("SELECT 8 / ID AS Q FROM LANDING")
    assert (str(raised.value), raised.value.code, raised.value.sqlstate) == (
        "100051 (22012): Division by zero",
        "100051",
        "22012",
    )
    assert session.run("SELECT 8 / ID AS Q FROM LANDING WHERE ID > 0").rows == [(2,)]
    assert session.run("SELECT 8 / NULLIF(ID, 0) AS Q FROM LANDING ORDER BY ID").rows == [(None,), (2,)]
    assert "CASE" not in duckdb_sql("SELECT ID / 100 AS P FROM LANDING", session)  # a non-zero literal divisor


def test_current_timestamp_is_each_statements_start(session: LocalSqlSession) -> None:
    sql = duckdb_sql("SELECT CURRENT_TIMESTAMP(6)", session)
    assert re.fullmatch(r"SELECT CAST\('[-0-9 :.+]+' AS TIMESTAMPTZ\) AS \"CURRENT_TIMESTAMP\(6\)\"", sql), sql
    session.run("BEGIN")
    first = session.run("SELECT CURRENT_TIMESTAMP(6) AS T").rows[0][0]
    second = session.run("SELECT CURRENT_TIMESTAMP(6) AS T").rows[0][0]
    session.run("COMMIT")
    assert second > first  # DuckDB's own is the transaction's start: the same twice
    # Stored into TIMESTAMP_NTZ it is the wall clock of the session's time zone (Snowflake's default zone).
    session.run("CREATE TABLE STAMPS (AT TIMESTAMP_NTZ(6))")
    session.run("INSERT INTO STAMPS SELECT CURRENT_TIMESTAMP(6)")
    (stored,) = session.run("SELECT AT FROM STAMPS").rows[0]
    expected = datetime.now(first.tzinfo).replace(tzinfo=None)
    assert abs((expected - stored).total_seconds()) < 60


def test_select_star_never_shows_the_row_sequence(session: LocalSqlSession) -> None:
    session.run("INSERT INTO LANDING VALUES (1, 'a')")  # no column list: the row sequence takes its default
    result = session.run("SELECT * FROM LANDING")
    assert result.columns == ["ID", "NAME"] and result.rows == [(1, "a")]
    assert ROW_SEQUENCE_COLUMN not in session.run(f"SELECT * FROM {STREAM}").columns


def test_every_table_gets_the_row_sequence_column_from_its_database_sequence(session: LocalSqlSession) -> None:
    sql = duckdb_sql("CREATE TABLE T (A INT)", session)
    assert sql.endswith(f'"{ROW_SEQUENCE_COLUMN}" BIGINT DEFAULT nextval(\'"DB"."_RETAIL_ETL"."ROW_SEQUENCE"\'))')
    land(session, "a", "b")
    connection = session.engine.warehouse.connect()
    sequences = [row[0] for row in connection.execute(f'SELECT "{ROW_SEQUENCE_COLUMN}" FROM DB.S.LANDING').fetchall()]
    connection.close()
    assert len(set(sequences)) == 2


def test_unquoted_names_come_back_upper_case(session: LocalSqlSession) -> None:
    land(session, "a")
    result = session.run("select id, name as label, count(*) from landing group by id, name")
    assert result.columns == ["ID", "LABEL", "COUNT(*)"]


def test_what_cannot_run_with_snowflakes_meaning_is_refused(session: LocalSqlSession) -> None:
    for sql in (
        "SELECT * FROM TABLE(FLATTEN(INPUT => PARSE_JSON('[1]')))",
        "SELECT F.VALUE FROM LANDING, LATERAL FLATTEN(INPUT => PARSE_JSON('[1]')) F",
        "SELECT SYSTEM$WHATEVER('x')",
        "INSERT OVERWRITE INTO LANDING SELECT * FROM LANDING",
        "SELECT * FROM LANDING AT(OFFSET => -60)",
        "CREATE TABLE T (A VARCHAR COLLATE 'en-pi')",
        "SELECT * FROM NOWHERE",
    ):
        with pytest.raises(LocalSqlError):
            session.run(sql)


# --- sessions, transactions and streams ------------------------------------------------------------------------


def test_a_select_alone_never_advances_the_offset(engine: LocalEngine, session: LocalSqlSession) -> None:
    land(session, "a", "b")
    before = offset(engine)
    assert stream_names(session) == ["a", "b"]
    session.run("BEGIN")
    assert stream_names(session) == ["a", "b"]
    session.run("COMMIT")
    assert offset(engine) == before and stream_names(session) == ["a", "b"]


def test_dml_reading_the_stream_advances_the_offset_when_it_commits(
    engine: LocalEngine, session: LocalSqlSession
) -> None:
    land(session, "a", "b")
    result = session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}")
    assert result.rows_inserted == 2
    assert stream_names(session) == []
    land(session, "c")
    assert stream_names(session) == ["c"]
    # Consuming without loading anything (reference §7.1) moves the offset too.
    session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM} WHERE 0 = 1")
    assert stream_names(session) == []


def test_rollback_leaves_the_offset(engine: LocalEngine, session: LocalSqlSession) -> None:
    land(session, "a")
    before = offset(engine)
    session.run("BEGIN TRANSACTION")
    session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}")
    session.run("ROLLBACK")
    assert offset(engine) == before and stream_names(session) == ["a"]
    assert session.run("SELECT COUNT(*) FROM TARGET").rows == [(0,)]


def test_a_failing_statement_leaves_the_offset(engine: LocalEngine, session: LocalSqlSession) -> None:
    session.run("INSERT INTO LANDING (ID, NAME) VALUES (NULL, 'no id')")  # TARGET.ID is NOT NULL
    before = offset(engine)
    with pytest.raises(LocalSqlError, match="100072"):
        session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}")
    assert offset(engine) == before and stream_names(session) == ["no id"]
    # Inside a transaction the failure aborts it: COMMIT rolls back and says so, the offset stays.
    session.run("BEGIN")
    with pytest.raises(LocalSqlError):
        session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}")
    with pytest.raises(LocalSqlError, match="only ROLLBACK"):
        session.run("SELECT 1")
    with pytest.raises(LocalSqlError, match="rolled back"):
        session.run("COMMIT")
    assert offset(engine) == before and not session.in_transaction


def test_a_transaction_reads_the_stream_as_of_its_start(engine: LocalEngine, session: LocalSqlSession) -> None:
    land(session, "a", "b")
    other = engine.session(database="DB", schema="S")
    session.run("BEGIN")
    assert stream_names(session) == ["a", "b"]
    other.run("INSERT INTO LANDING (ID, NAME) VALUES (3, 'late')")
    assert stream_names(session) == ["a", "b"]  # repeatable read, although the row is committed
    assert session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}").rows_inserted == 2
    assert stream_names(session) == ["a", "b"]  # consumed only when the transaction commits
    session.run("COMMIT")
    assert stream_names(session) == ["late"]  # the late row is not lost
    other.close()


def test_the_bound_is_fixed_at_begin(engine: LocalEngine, session: LocalSqlSession) -> None:
    land(session, "a")
    other = engine.session(database="DB", schema="S")
    session.run("BEGIN")
    other.run("INSERT INTO LANDING (ID, NAME) VALUES (2, 'after begin')")
    assert stream_names(session) == ["a"]
    session.run("ROLLBACK")
    other.close()


def test_ddl_inside_a_transaction_commits_it(session: LocalSqlSession) -> None:
    session.run("BEGIN")
    session.run("INSERT INTO TARGET VALUES (1, 'kept')")
    session.run("CREATE TABLE OTHER (A INT)")
    assert not session.in_transaction
    session.run("ROLLBACK")  # nothing left to roll back
    assert session.run("SELECT NAME FROM TARGET").rows == [("kept",)]


def test_temporary_tables_belong_to_their_session(engine: LocalEngine, session: LocalSqlSession) -> None:
    session.run("CREATE OR REPLACE TEMPORARY TABLE DB.S.TARGET (ID NUMBER(38,0))")  # shadows the permanent one
    session.run("INSERT INTO DB.S.TARGET VALUES (7)")
    assert session.run("SELECT * FROM TARGET").rows == [(7,)]
    other = engine.session(database="DB", schema="S")
    assert other.run("SELECT COUNT(*) FROM TARGET").rows == [(0,)]  # the permanent table
    session.run("CREATE TEMPORARY TABLE DB.S.SCRATCH AS SELECT ID FROM TARGET")
    with pytest.raises(LocalSqlError, match="does not exist"):
        other.run("SELECT * FROM SCRATCH")
    session.run("DROP TABLE DB.S.TARGET")
    assert session.run("SELECT COUNT(*) FROM TARGET").rows == [(0,)]
    session.close()
    replacement = engine.session(database="DB", schema="S")
    with pytest.raises(LocalSqlError, match="does not exist"):
        replacement.run("SELECT * FROM SCRATCH")
    other.close()
    replacement.close()


def test_create_temporary_table_as_select_from_the_stream_consumes_it(session: LocalSqlSession) -> None:
    land(session, "a")
    session.run(f"CREATE TEMPORARY TABLE DB.S.UNUSED AS SELECT * FROM {STREAM} WHERE 1 = 0")
    assert stream_names(session) == []


def test_system_stream_has_data(session: LocalSqlSession) -> None:
    has_data = f"SELECT SYSTEM$STREAM_HAS_DATA('{STREAM}')"
    assert session.run(has_data).rows == [(False,)]
    land(session, "a")
    assert session.run(has_data).rows == [(True,)]
    session.run(f"INSERT INTO TARGET SELECT ID, NAME FROM {STREAM}")
    assert session.run(has_data).rows == [(False,)]
    assert session.run("SELECT SYSTEM$STREAM_HAS_DATA('LANDING_STREAM')").rows == [(False,)]


def test_a_stale_stream_cannot_be_read(session: LocalSqlSession) -> None:
    land(session, "a")
    session.run("CREATE OR REPLACE TABLE DB.S.LANDING (ID NUMBER(38,0), NAME VARCHAR(20))")
    assert session.run("SELECT COUNT(*) FROM LANDING").rows == [(0,)]  # re-creating drops the rows
    with pytest.raises(LocalSqlError, match="stale"):
        session.run(f"SELECT * FROM {STREAM}")
    session.run(f"CREATE OR REPLACE STREAM {STREAM} ON TABLE DB.S.LANDING APPEND_ONLY = TRUE")
    land(session, "b")
    assert stream_names(session) == ["b"]


def test_re_creating_a_stream_moves_its_offset_unless_at_stream(session: LocalSqlSession) -> None:
    land(session, "a")
    session.run(f"CREATE OR REPLACE STREAM {STREAM} ON TABLE DB.S.LANDING AT(STREAM => '{STREAM}') APPEND_ONLY = TRUE")
    assert stream_names(session) == ["a"]
    session.run(f"CREATE OR REPLACE STREAM {STREAM} ON TABLE DB.S.LANDING APPEND_ONLY = TRUE")
    assert stream_names(session) == []  # a new stream starts at "now"


def test_a_writer_waits_for_the_transaction_holding_the_write_lock(engine: LocalEngine) -> None:
    engine.lock_timeout = 0.2
    holder = engine.session(database="DB", schema="S")
    holder.run("BEGIN")
    holder.run("INSERT INTO TARGET VALUES (1, 'a')")
    failures: list[Exception] = []

    def write() -> None:
        waiter = engine.session(database="DB", schema="S")
        try:
            waiter.run("INSERT INTO TARGET VALUES (2, 'b')")
        except LocalSqlError as exc:
            failures.append(exc)
        finally:
            waiter.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert failures and "lock timeout" in str(failures[0])
    holder.run("COMMIT")
    holder.close()


# --- DDL mirrored into the warehouse ---------------------------------------------------------------------------


def test_alter_table_keeps_rows_and_collations(session: LocalSqlSession) -> None:
    land(session, "a")
    session.run("ALTER TABLE LANDING ADD COLUMN CITY VARCHAR(10) COLLATE 'en-ci'")
    session.run("ALTER TABLE LANDING RENAME COLUMN NAME TO FULL_NAME")
    session.run("ALTER TABLE LANDING ALTER COLUMN FULL_NAME SET DATA TYPE VARCHAR(50) COLLATE 'en-ci'")
    session.run("ALTER TABLE LANDING ALTER COLUMN ID SET NOT NULL")
    result = session.run("SELECT * FROM LANDING")
    assert result.columns == ["ID", "FULL_NAME", "CITY"] and result.rows == [(1, "a", None)]
    assert session.run("SELECT ID FROM LANDING WHERE FULL_NAME = 'A'").rows == [(1,)]  # still en-ci
    session.run("ALTER TABLE LANDING DROP COLUMN CITY")
    assert session.run("SELECT * FROM LANDING").columns == ["ID", "FULL_NAME"]


def test_a_change_duckdb_refuses_leaves_the_catalog_as_it_was(session: LocalSqlSession) -> None:
    land(session, "a")
    with pytest.raises(LocalSqlError):
        session.run("ALTER TABLE LANDING ADD COLUMN REQUIRED VARCHAR(5) NOT NULL")  # the table has a row
    columns = [row[0] for row in session.run("DESC TABLE LANDING").rows]
    assert columns == ["ID", "NAME"]


def test_schemas_and_databases_are_mirrored(engine: LocalEngine, session: LocalSqlSession) -> None:
    session.run("CREATE SCHEMA DB.EXTRA")
    session.run("CREATE TABLE DB.EXTRA.T (A INT)")
    session.run("INSERT INTO DB.EXTRA.T VALUES (1)")
    session.run("DROP SCHEMA DB.EXTRA")
    with pytest.raises(LocalSqlError, match="does not exist"):
        session.run("SELECT * FROM DB.EXTRA.T")
    session.run("CREATE DATABASE OTHER_DB")
    assert engine.warehouse.databases() == ["DB", "OTHER_DB"]
    session.run("CREATE TABLE OTHER_DB.PUBLIC.T (A INT)")  # CREATE DATABASE made PUBLIC too
    session.run("DROP DATABASE OTHER_DB")
    assert engine.warehouse.databases() == ["DB"]


def test_views_read_through_to_their_tables(session: LocalSqlSession) -> None:
    session.run("CREATE SECURE VIEW DB.S.NAMES COMMENT = 'names' AS SELECT * FROM LANDING")
    land(session, "a")
    assert session.run("SELECT * FROM NAMES").rows == [(1, "a")]
    with pytest.raises(LocalSqlError, match="in a view"):
        session.run("CREATE VIEW DB.S.MINE AS SELECT CURRENT_SESSION() AS S")


def test_statement_handlers_take_the_statements_registered_for_them(engine: LocalEngine) -> None:
    calls: list[str] = []

    def call(session: LocalSqlSession, sql: str) -> StatementResult:
        calls.append(sql)
        return StatementResult(columns=["PROC"], rows=[("done",)])

    engine.handlers["CALL"] = call
    assert run_query(engine, "CALL DB.S.PROC()", "DB").rows == [("done",)]
    assert calls == ["CALL DB.S.PROC()"]
    # Without a handler, EXECUTE TASK is the catalog's; other statements are refused.
    with pytest.raises(LocalSqlError, match=r"Object 'DB\.S\.NIGHTLY' does not exist"):
        run_query(engine, "EXECUTE TASK DB.S.NIGHTLY", "DB")
    with pytest.raises(LocalSqlError, match="PUT is not supported"):
        run_query(engine, "PUT file:///tmp/x.csv @DB.S.STAGE", "DB")


def test_run_query_resolves_names_in_the_given_database(engine: LocalEngine) -> None:
    session = engine.session()
    session.run("INSERT INTO DB.S.TARGET VALUES (1, 'a')")
    session.close()
    assert run_query(engine, "SELECT NAME FROM S.TARGET", "DB").rows == [("a",)]
    assert run_query(engine, "SHOW TABLES IN SCHEMA DB.S", "DB").columns[:2] == ["created_on", "name"]
    with pytest.raises(LocalSqlError, match="does not have a current database"):
        run_query(engine, "SELECT * FROM S.TARGET", None)


# --- the shipped project, applied, and the procedure's statements run by hand -----------------------------------


def cli(project: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert result.exit_code == 0, result.output + result.stderr
    return result


def procedure_statements(project: Path) -> dict[str, str]:
    """The SQL the rendered JavaScript procedure runs (its body keeps each statement as a JSON string list)."""
    rendered = cli(project, "render").stdout
    return {
        name: "\n".join(json.loads("[" + match + "]"))
        for name, match in re.findall(r"var (CREATE_XFM|LOAD_XFM|MERGE_XFM) = \[(.*?)\]\.join", rendered, re.S)
    }


LANDING = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY"
CUSTOMER_STREAM = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM"


def land_customers(session: LocalSqlSession, file: str, rows: list[tuple[str, str, str, str]]) -> None:
    values = ", ".join(
        f"('{first}', '{last}', '{company}', '{address}', 'NY', 'US', CURRENT_TIMESTAMP(6), CURRENT_TIMESTAMP(6), "
        f"'{file}', {number})"
        for number, (first, last, company, address) in enumerate(rows, 1)
    )
    session.run(
        f"INSERT INTO {LANDING} (FIRST_NAME, LAST_NAME, COMPANYNAME, ADDRESSLINE1, STATE, COUNTRY, INSERT_DTS, "
        f"UPDATE_DTS, SOURCE_FILE_NAME, SOURCE_FILE_ROW_NUMBER) VALUES {values}"
    )


def run_procedure(session: LocalSqlSession, statements: dict[str, str]) -> tuple[int, int, int]:
    session.run(statements["CREATE_XFM"])
    session.run("BEGIN TRANSACTION")
    load = session.run(statements["LOAD_XFM"])
    merge = session.run(statements["MERGE_XFM"])
    session.run("COMMIT")
    return load.rows_inserted, merge.rows_inserted, merge.rows_updated


def test_the_shipped_pipeline_runs_stream_to_silver_and_gold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    cli(tmp_path, "apply", "--auto-approve")
    statements = procedure_statements(tmp_path)
    engine = LocalEngine.open(tmp_path / ".retail-etl")
    loader = engine.session()
    procedure = engine.session()
    land_customers(
        loader,
        "day1.csv",
        [
            ("John", "Doe", "Acme", "1 Main St"),
            ("Ann", "Lee", "Beta", "2 Side St"),
            ("JOHN", "DOE", "Acme Corp", "1 Main St"),  # the same customer (en-ci): the later row wins
        ],
    )
    assert run_procedure(procedure, statements) == (2, 2, 0)
    silver = "SELECT FIRST_NAME, COMPANYNAME, PROCESS_ID FROM SNOWLAKE_DB.SILVER.CUSTOMER ORDER BY FIRST_NAME"
    assert procedure.run(silver).rows == [
        ("Ann", "Beta", procedure.session_id),
        ("JOHN", "Acme Corp", procedure.session_id),
    ]
    land_customers(
        loader,
        "day2.csv",
        [("Ann", "Lee", "Beta", "2 Side St"), ("John", "Doe", "Acme Inc", "1 Main St"), ("Zoe", "Kim", "Co", "3 Rd")],
    )
    assert run_procedure(procedure, statements) == (3, 1, 2)  # Ann unchanged (UPDATE_DTS only), John changed
    gold = run_query(engine, "SELECT FIRST_NAME, COMPANYNAME FROM GOLD.CUSTOMER_VIEW ORDER BY 1", "SNOWLAKE_DB")
    assert gold.rows == [("Ann", "Beta"), ("JOHN", "Acme Inc"), ("Zoe", "Co")]
    assert gold.columns == ["FIRST_NAME", "COMPANYNAME"]
    assert loader.run(f"SELECT SYSTEM$STREAM_HAS_DATA('{CUSTOMER_STREAM}')").rows == [(False,)]
    loader.close()
    procedure.close()
    engine.close()
    # The data changed nothing the planner reads: still nothing to do.
    assert "No changes." in cli(tmp_path, "plan").stdout
    local = LocalSession(tmp_path / ".retail-etl")
    assert [row["stale"] for row in local.query("SHOW STREAMS IN DATABASE SNOWLAKE_DB")] == ["false"]
    local.close()


def test_local_session_mirrors_what_apply_creates(tmp_path: Path) -> None:
    local = LocalSession(tmp_path)
    local.execute("CREATE DATABASE D")
    local.execute("CREATE TABLE D.PUBLIC.T (A VARCHAR(5) COLLATE 'en-ci')")
    local.close()
    assert json.loads((tmp_path / "catalog.json").read_text())["databases"]["D"]["schemas"]["PUBLIC"]["tables"]
    engine = LocalEngine.open(tmp_path)
    session = engine.session()
    session.run("INSERT INTO D.PUBLIC.T VALUES ('x')")
    assert session.run("SELECT * FROM D.PUBLIC.T").rows == [("x",)]
    session.close()
    engine.close()


def _target_rows(engine: LocalEngine) -> list[tuple[Any, ...]]:
    connection = engine.warehouse.connect()
    try:
        query = f'SELECT ID, NAME, "{ROW_SEQUENCE_COLUMN}" FROM DB.S.TARGET ORDER BY ID'
        return [tuple(row) for row in connection.execute(query).fetchall()]
    finally:
        connection.close()


@pytest.mark.parametrize("block", [True, False])
def test_merge_inserts_take_a_block_of_row_sequences(
    session: LocalSqlSession, block: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The explicit-sequence MERGE (a block drawn first) and the default-drawing one give the same rows, counts and
    # sequences: unique, above every earlier row, in source order.
    session.run("INSERT INTO TARGET VALUES (1, 'old'), (2, 'same')")
    session.run("CREATE TEMPORARY TABLE SOURCE (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run("INSERT INTO SOURCE VALUES (1, 'new'), (2, 'same'), (3, 'added'), (4, 'more')")
    merge = (
        "MERGE INTO TARGET T USING SOURCE S ON T.ID = S.ID "
        "WHEN MATCHED AND T.NAME <> S.NAME THEN UPDATE SET NAME = S.NAME "
        "WHEN NOT MATCHED THEN INSERT (ID, NAME) VALUES (S.ID, S.NAME)"
    )
    assert translate.translate(translate.parse(merge), session).block_sql is not None
    if not block:
        monkeypatch.setattr(
            engine_module, "_block_sequence", lambda connection, translation, empty: (translation.sql, None)
        )
    before = _target_rows(session.engine)
    result = session.run(merge)
    assert (result.rows_inserted, result.rows_updated) == (2, 1)
    rows = _target_rows(session.engine)
    assert [row[:2] for row in rows] == [(1, "new"), (2, "same"), (3, "added"), (4, "more")]
    assert rows[:2] == [(1, "new", before[0][2]), (2, "same", before[1][2])]
    highest = max(row[2] for row in before)
    assert highest < rows[2][2] < rows[3][2]
    if not block:
        assert (rows[2][2], rows[3][2]) == (highest + 1, highest + 2)
    # Later rows still come after the block.
    session.run("INSERT INTO TARGET VALUES (5, 'later')")
    assert _target_rows(session.engine)[-1][2] > rows[3][2]


def test_a_merge_into_an_empty_table_runs_as_an_insert(session: LocalSqlSession) -> None:
    # No source row can match an empty target: the NOT MATCHED clause (and its condition) decides alone.
    session.run("CREATE TEMPORARY TABLE SOURCE (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run("INSERT INTO SOURCE VALUES (1, 'a'), (2, 'b'), (3, 'skip')")
    merge = (
        "MERGE INTO TARGET T USING SOURCE S ON T.ID = S.ID WHEN MATCHED THEN UPDATE SET NAME = S.NAME "
        "WHEN NOT MATCHED AND S.NAME <> 'skip' THEN INSERT (ID, NAME) VALUES (S.ID, S.NAME)"
    )
    translation = translate.translate(translate.parse(merge), session)
    assert translation.empty_target_sql is not None and translation.empty_target_sql.startswith("INSERT INTO")
    result = session.run(merge)
    assert (result.rows_inserted, result.rows_updated, result.columns) == (
        2,
        0,
        ["number of rows inserted", "number of rows updated"],
    )
    rows = _target_rows(session.engine)
    assert [row[:2] for row in rows] == [(1, "a"), (2, "b")] and rows[0][2] != rows[1][2]
    # Once it has rows, the same MERGE runs as a MERGE.
    session.run("INSERT INTO SOURCE VALUES (4, 'd')")
    result = session.run(merge)
    assert (result.rows_inserted, result.rows_updated) == (1, 2)
    # A clause naming the target's columns is left to the MERGE (which decides what they mean there).
    reading_target = merge.replace("VALUES (S.ID, S.NAME)", "VALUES (S.ID, T.NAME)")
    assert translate.translate(translate.parse(reading_target), session).empty_target_sql is None


def test_temporary_tables_have_no_row_sequence(session: LocalSqlSession) -> None:
    session.run("CREATE TEMPORARY TABLE SCRATCH (ID NUMBER(38,0), NAME VARCHAR(20))")
    session.run("INSERT INTO SCRATCH VALUES (1, 'a'), (2, 'b')")
    session.run("CREATE TEMPORARY TABLE COPIED AS SELECT * FROM SCRATCH")
    connection = session._open_connection()
    names = [
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp'"
        ).fetchall()
    ]
    assert ROW_SEQUENCE_COLUMN not in names and "ID" in names
    assert session.run("SELECT * FROM COPIED ORDER BY ID").rows == [(1, "a"), (2, "b")]
    result = session.run(
        "MERGE INTO SCRATCH T USING (SELECT 2 AS ID, 'x' AS NAME UNION ALL SELECT 3, 'y') S ON T.ID = S.ID "
        "WHEN MATCHED THEN UPDATE SET NAME = S.NAME WHEN NOT MATCHED THEN INSERT (ID, NAME) VALUES (S.ID, S.NAME)"
    )
    assert (result.rows_inserted, result.rows_updated) == (1, 1)
    # The duplicate-row check still holds without a row sequence; a condition that matches no pair passes.
    duplicated = "SELECT 1 AS ID, 'p' AS NAME UNION ALL SELECT 1, 'q'"
    with pytest.raises(LocalSqlError, match=r"100090.*Duplicate row detected during DML action"):
        session.run(
            f"MERGE INTO SCRATCH T USING ({duplicated}) S ON T.ID = S.ID WHEN MATCHED THEN UPDATE SET NAME = S.NAME"
        )
    session.run(
        f"MERGE INTO SCRATCH T USING ({duplicated}) S ON T.ID = S.ID "
        "WHEN MATCHED AND S.NAME = 'zzz' THEN UPDATE SET NAME = S.NAME"
    )
    assert session.run("SELECT NAME FROM SCRATCH ORDER BY ID").rows == [("a",), ("x",), ("y",)]
