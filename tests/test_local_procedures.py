"""The rendered transform procedures, run as rendered: JavaScript in V8 and Snowflake Scripting in the interpreter.

Bodies come from the CREATE PROCEDURE statements the handlers render, decoded with Snowflake's lexer (the engine
stores what is between the delimiters), and run on :class:`DuckDbRunner`, a test-only session over DuckDB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_customer_pipelines
from local_runner import DuckDbRunner
from retail_etl.emulator.lexer import TokenKind, tokenize
from retail_etl.identifiers import Identifier, QualifiedName, sql_literal
from retail_etl.local.api import LocalSqlError, StatementResult
from retail_etl.local.procedures import (
    ScriptingCompilationError,
    bind_parameters,
    run_javascript,
    run_procedure,
    run_scripting,
    sql_value,
)
from retail_etl.objects import HANDLERS
from retail_etl.objects.ingest import ProcedureObject, TransformColumn, TransformObject
from retail_etl.render import call_macro
from retail_etl.spec.load import load_project
from retail_etl.spec.resolve import DesiredState, resolve

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ["javascript", "sql"]
DUPLICATE_ROW = '100090 (42P18): Duplicate row detected during DML action\nRow Values: ["Ann", "Lee"]'

# --- the rendered procedures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql_shipped(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    """The shipped project with ``transform.language: sql``."""
    project = tmp_path_factory.mktemp("sql_project")
    copy_customer_pipelines(project / "pipelines")
    spec = project / "pipelines" / "customer.yml"
    text = spec.read_text()
    assert "language: javascript" in text
    spec.write_text(text.replace("language: javascript", "language: sql"))
    return resolve(load_project(project))


@pytest.fixture(params=LANGUAGES)
def shipped_procedure(request: pytest.FixtureRequest) -> ProcedureObject:
    state: DesiredState = request.getfixturevalue("shipped" if request.param == "javascript" else "sql_shipped")
    (procedure,) = [o for o in state.objects if isinstance(o, ProcedureObject)]
    assert procedure.language == request.param.upper()
    return procedure


def rendered(procedure: ProcedureObject) -> tuple[str, str]:
    """LANGUAGE and body of the CREATE PROCEDURE that apply would send, the body decoded as Snowflake stores it."""
    (ddl,) = HANDLERS[procedure.kind].create(procedure)
    tokens = tokenize(ddl)
    language = next(tokens[i + 1].value for i, t in enumerate(tokens) if t.is_keyword("LANGUAGE"))
    body = [t for t in tokens if t.kind is TokenKind.STRING][-1].value
    assert body.strip() == procedure.body.strip()
    return language, body


def call(procedure: ProcedureObject, runner: DuckDbRunner) -> Any:
    language, body = rendered(procedure)
    return run_procedure(language, body, runner)


# --- tables for a transform ------------------------------------------------------------------------------------


def _literal(value: object) -> str:
    return "NULL" if value is None else str(value) if isinstance(value, int) else sql_literal(value)


def insert(runner: DuckDbRunner, table: QualifiedName, rows: list[dict[str, object]]) -> None:
    for row in rows:
        runner.run(f"INSERT INTO {table.sql} ({', '.join(row)}) VALUES ({', '.join(map(_literal, row.values()))})")


def create_tables(runner: DuckDbRunner, transform: TransformObject) -> None:
    """The SILVER target and, standing for the stream, a table with the stream's columns."""
    columns = ", ".join(f"{c.name.sql} {c.type}" for c in transform.columns)
    runner.run(f"CREATE TABLE {transform.target.sql} ({columns})")
    landed = ", ".join(f"{c.name.sql} {c.type}" for c in transform.columns if c.source == "stream")
    runner.run(
        f"CREATE TABLE {transform.stream.sql} ({landed}, SOURCE_FILE_NAME VARCHAR, SOURCE_FILE_ROW_NUMBER NUMBER,"
        " METADATA$ACTION VARCHAR, METADATA$ISUPDATE BOOLEAN)"
    )


def customer(first: str | None, last: str, company: str, landed: str, file: str, row: int) -> dict[str, object]:
    return {
        "FIRST_NAME": first,
        "LAST_NAME": last,
        "COMPANYNAME": company,
        "PHONE": "555-0100",
        "ADDRESSLINE1": "1 Main St",
        "CITY": "Springfield",
        "STATE": "IL",
        "COUNTRY": "USA",
        "POSTALCODE": "62701",
        "INSERT_DTS": landed,
        "UPDATE_DTS": landed,
        "SOURCE_FILE_NAME": file,
        "SOURCE_FILE_ROW_NUMBER": row,
        "METADATA$ACTION": "INSERT",
        "METADATA$ISUPDATE": False,
    }


@pytest.fixture
def loaded_runner(shipped_procedure: ProcedureObject) -> Callable[..., DuckDbRunner]:
    """A session holding SILVER.CUSTOMER with Ann Lee, and a stream batch: Ann changed, Bob twice (the later row
    wins), Cid new, and a row without a merge key (filtered out)."""

    def build(**options: Any) -> DuckDbRunner:
        runner = DuckDbRunner(**options)
        transform = shipped_procedure.transform
        create_tables(runner, transform)
        insert(
            runner,
            transform.target,
            [
                {
                    "FIRST_NAME": "Ann",
                    "LAST_NAME": "Lee",
                    "COMPANYNAME": "Old Co",
                    "INSERT_DTS": "2024-01-01 00:00:00",
                    "UPDATE_DTS": "2024-01-01 00:00:00",
                    "MD5_HASH": "stale",
                }
            ],
        )
        insert(
            runner,
            transform.stream,
            [
                customer("Ann", "Lee", "New Co", "2024-01-02 00:00:00", "day2.csv", 1),
                customer("Bob", "Ray", "Bob Old", "2024-01-02 00:00:00", "day2.csv", 2),
                customer("Bob", "Ray", "Bob New", "2024-01-02 00:00:00", "day2.csv", 3),
                customer("Cid", "Poe", "Cid Co", "2024-01-02 00:00:00", "day2.csv", 4),
                customer(None, "Nobody", "No Key", "2024-01-02 00:00:00", "day2.csv", 5),
            ],
        )
        runner.statements.clear()
        return runner

    return build


def shape(statement: str, transform: TransformObject) -> str:
    """Which of the procedure's steps a statement is."""
    words = " ".join(statement.split())
    steps = {
        f"CREATE OR REPLACE TEMPORARY TABLE {transform.xfm_table.sql} (": "CREATE TEMPORARY XFM",
        "BEGIN TRANSACTION": "BEGIN",
        f"INSERT INTO {transform.xfm_table.sql} (": "INSERT..SELECT",
        f"MERGE INTO {transform.target.sql} AS TGT": "MERGE",
        "COMMIT": "COMMIT",
        "ROLLBACK": "ROLLBACK",
    }
    return next((step for prefix, step in steps.items() if words.startswith(prefix)), words)


def same_sql(a: str, b: str) -> bool:
    return a.split() == b.split()


# --- the shipped procedure, both languages ------------------------------------------------------------------


def test_rendered_procedure_runs_atomically_and_reports_real_counts(
    shipped_procedure: ProcedureObject, loaded_runner: Callable[..., DuckDbRunner]
) -> None:
    runner = loaded_runner()
    transform = shipped_procedure.transform
    summary = call(shipped_procedure, runner)

    steps = [shape(s, transform) for s in runner.statements]
    assert steps == ["CREATE TEMPORARY XFM", "BEGIN", "INSERT..SELECT", "MERGE", "COMMIT"]
    issued = [runner.statements[i] for i in (0, 2, 3)]
    for statement, macro in zip(issued, ["create_xfm", "load_xfm", "merge"], strict=True):
        assert same_sql(statement, call_macro("procedure.sql.j2", macro, transform)), "the rendered SQL, verbatim"
    if shipped_procedure.language == "JAVASCRIPT":
        assert summary == "loaded 3, inserted 2, updated 1 into SNOWLAKE_DB.SILVER.CUSTOMER"
    else:
        assert summary == "loaded 3, merged 3 into SNOWLAKE_DB.SILVER.CUSTOMER"
    silver = runner.rows(
        f"SELECT FIRST_NAME, COMPANYNAME, SOURCE_SYS_NAME, PROCESS_ID, PROCESS_NAME FROM {transform.target.sql}"
        " ORDER BY FIRST_NAME"
    )
    assert silver == [
        ("Ann", "New Co", "CUSTOMER", "test-session", "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_SP"),
        ("Bob", "Bob New", "CUSTOMER", "test-session", "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_SP"),
        ("Cid", "Cid Co", "CUSTOMER", "test-session", "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_SP"),
    ]


def test_failing_merge_rolls_back_and_propagates_the_original_error(
    shipped_procedure: ProcedureObject, loaded_runner: Callable[..., DuckDbRunner]
) -> None:
    runner = loaded_runner(fail=lambda sql: DUPLICATE_ROW if sql.lstrip().startswith("MERGE") else None)
    transform = shipped_procedure.transform

    with pytest.raises(LocalSqlError) as raised:
        call(shipped_procedure, runner)

    assert str(raised.value) == DUPLICATE_ROW
    assert raised.value is runner.errors[0], "the session's own exception, re-raised"
    assert [shape(s, transform) for s in runner.statements] == [
        "CREATE TEMPORARY XFM",
        "BEGIN",
        "INSERT..SELECT",
        "MERGE",
        "ROLLBACK",
    ]
    assert runner.rows(f"SELECT COUNT(*) FROM {transform.xfm_table.sql}") == [(0,)], "the batch load was rolled back"
    assert runner.rows(f"SELECT COMPANYNAME FROM {transform.target.sql}") == [("Old Co",)]


def test_a_real_engine_error_propagates_unchanged(
    shipped_procedure: ProcedureObject, loaded_runner: Callable[..., DuckDbRunner]
) -> None:
    runner = loaded_runner()
    runner.run(f"DROP TABLE {shipped_procedure.transform.target.sql}")

    with pytest.raises(LocalSqlError) as raised:
        call(shipped_procedure, runner)

    assert raised.value is runner.errors[-1]
    assert "CUSTOMER" in str(raised.value)
    assert runner.statements[-1] == "ROLLBACK"


# --- hostile values ------------------------------------------------------------------------------------------

HOSTILE = 'O\'Brien `${x}` $$ \\\'; DROP TABLE x; -- "}); snowflake.execute({sqlText: "DROP TABLE x"}); //\nend\\'


def hostile_procedure(language: str, value: str) -> ProcedureObject:
    """A transform whose constant (and the procedure's comment) is ``value``; built as tests/test_templates.py does."""

    def name(schema: str, table: str) -> QualifiedName:
        return QualifiedName(name=Identifier(table), database=Identifier("RETAIL_DB"), schema=Identifier(schema))

    columns = (
        TransformColumn(name=Identifier("ORDER_ID"), type="VARCHAR(50)", source="stream"),
        TransformColumn(name=Identifier("AMOUNT"), type="NUMBER(12,2)", source="stream"),
        TransformColumn(name=Identifier("NOTE"), type="VARCHAR(1000)", source="constant", value=value),
        TransformColumn(name=Identifier("PROCESS_ID"), type="VARCHAR(100)", source="session"),
        TransformColumn(name=Identifier("INSERT_DTS"), type="TIMESTAMP_NTZ(6)", source="stream"),
        TransformColumn(name=Identifier("UPDATE_DTS"), type="TIMESTAMP_NTZ(6)", source="stream"),
        TransformColumn(name=Identifier("MD5_HASH"), type="VARCHAR(80)", source="hash"),
    )
    transform = TransformObject(
        stream=name("BRONZE", "WORK_ORDERS_STREAM"),
        xfm_table=name("SILVER", "WORK_ORDERS_XFM"),
        target=name("SILVER", "ORDERS"),
        columns=columns,
        merge_keys=(Identifier("ORDER_ID"),),
        # Text columns only: the hash TRIMs each one, and DuckDB has no TRIM of a NUMBER (the engine's concern).
        hash_columns=(Identifier("NOTE"),),
        hash_column=Identifier("MD5_HASH"),
        update_ts=Identifier("UPDATE_DTS"),
        insert_ts=Identifier("INSERT_DTS"),
        order_columns=(Identifier("INSERT_DTS"), Identifier("SOURCE_FILE_NAME"), Identifier("SOURCE_FILE_ROW_NUMBER")),
    )
    return ProcedureObject(
        name=name("BRONZE", "WORK_ORDERS_SP"), language=language.upper(), transform=transform, comment=value
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_hostile_constant_runs_and_lands_exactly(language: str) -> None:
    procedure = hostile_procedure(language, HOSTILE)
    runner = DuckDbRunner()
    create_tables(runner, procedure.transform)
    row = {"ORDER_ID": "o-1", "AMOUNT": 12, "INSERT_DTS": "2024-01-02 00:00:00", "UPDATE_DTS": "2024-01-02 00:00:00"}
    insert(runner, procedure.transform.stream, [{**row, "SOURCE_FILE_NAME": "f.csv", "METADATA$ACTION": "INSERT"}])

    call(procedure, runner)

    assert runner.rows(f"SELECT ORDER_ID, NOTE FROM {procedure.transform.target.sql}") == [("o-1", HOSTILE)]


# --- the JavaScript API --------------------------------------------------------------------------------------


@pytest.fixture
def runner() -> DuckDbRunner:
    session = DuckDbRunner()
    session.run("CREATE TABLE T (ID NUMBER, NAME VARCHAR, SEEN TIMESTAMP_NTZ, OK BOOLEAN)")
    session.statements.clear()
    return session


NAME = "x'); DROP TABLE T; -- ? \\ `${x}` $$"


def test_binds_reach_sql_as_literals_never_as_text(runner: DuckDbRunner) -> None:
    body = """
    snowflake.execute({
      sqlText: "INSERT INTO T (NAME, ID, SEEN, OK) VALUES (?, ?-?, ?, ?) -- a ? in a comment is no placeholder",
      binds: [NAME, 1, 6, null, true]
    });
    var rs = snowflake.execute({sqlText: "SELECT NAME, ID FROM T WHERE NAME = ? AND '?' = '?'", binds: [NAME]});
    rs.next();
    return [rs.getColumnValue(1), rs.getColumnValue(2)];
    """
    assert run_javascript(body, runner, {"NAME": NAME}) == [NAME, -5]
    assert runner.rows("SELECT NAME, ID, SEEN, OK FROM T") == [(NAME, -5, None, True)]


def test_unbindable_values_and_placeholder_mismatches_are_javascript_errors(runner: DuckDbRunner) -> None:
    body = """
    var caught = [];
    try { snowflake.execute({sqlText: "SELECT ?", binds: [undefined]}); } catch (err) { caught.push(err.message); }
    try { snowflake.execute({sqlText: "SELECT ?, ?", binds: [1]}); } catch (err) { caught.push(err.message); }
    try { snowflake.execute({sqlText: "  "}); } catch (err) { caught.push(err.message); }
    return caught;
    """
    unbindable, mismatch, empty = run_javascript(body, runner)
    assert unbindable == "Unsupported type for binding argument 1: undefined"
    assert "1 bind value(s) given for 2 '?' placeholder(s)" in mismatch
    assert empty == "sqlText is missing or empty"
    assert runner.statements == [], "refused before reaching the session"


def test_resultset_and_statement_api(runner: DuckDbRunner) -> None:
    runner.run("INSERT INTO T VALUES (1, 'one', '2024-05-06 07:08:09', TRUE), (2, 'two', NULL, FALSE)")
    body = """
    var stmt = snowflake.createStatement({sqlText: "SELECT ID, NAME, SEEN FROM T ORDER BY ID"});
    var before = stmt.getSqlText();
    var rs = stmt.execute();
    var out = {sql: before, columns: stmt.getColumnCount(), first: stmt.getColumnName(1), rows: rs.getRowCount(),
               queryId: stmt.getQueryId() === rs.getQueryId() && rs.getQueryId().length > 0, values: []};
    try { rs.getColumnValue(1); } catch (err) { out.early = err.message; }
    while (rs.next()) {
      var seen = rs.getColumnValue("seen");
      out.values.push([rs.getColumnValue(1), rs.getColumnValue("NAME"), rs.NAME, seen instanceof Date,
                       seen === null ? null : seen.getTime(), rs.getColumnValueAsString(3)]);
    }
    out.after = rs.next();
    try { rs.getColumnValue(1); } catch (err) { out.exhausted = err.message; }
    var del = snowflake.createStatement({sqlText: "DELETE FROM T WHERE ID = 2"});
    del.execute();
    out.deleted = [del.getNumRowsDeleted(), del.getNumRowsAffected(), del.getNumRowsInserted()];
    return out;
    """
    seen = int(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC).timestamp() * 1000)
    assert run_javascript(body, runner) == {
        "sql": "SELECT ID, NAME, SEEN FROM T ORDER BY ID",
        "columns": 3,
        "first": "ID",
        "rows": 2,
        "queryId": True,
        "early": "ResultSet is empty or not prepared (call next() first).",
        "values": [[1, "one", "one", True, seen, "2024-05-06 07:08:09"], [2, "two", "two", False, None, None]],
        "after": False,
        "exhausted": "ResultSet is empty or not prepared (call next() first).",
        "deleted": [1, 1, 0],
    }


def test_column_index_out_of_range_is_an_error(runner: DuckDbRunner) -> None:
    body = "var rs = snowflake.execute({sqlText: 'SELECT 1 AS A'}); rs.next(); return rs.getColumnValue(2);"
    with pytest.raises(LocalSqlError, match=r"^Given index 2 is out of range \[1, 1\]$"):
        run_javascript(body, runner)


def test_return_values_and_arguments_convert_both_ways(runner: DuckDbRunner) -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    body = "return {n: N, s: S, d: D.getTime(), nothing: NOTHING, list: L, when: D};"
    assert run_javascript(body, runner, {"N": 1.5, "S": "é'\"", "D": moment, "NOTHING": None, "L": [1, "a"]}) == {
        "n": 1.5,
        "s": "é'\"",
        "d": int(moment.timestamp() * 1000),
        "nothing": None,
        "list": [1, "a"],
        "when": "2024-01-02T03:04:05.000Z",
    }
    assert run_javascript("return D;", runner, {"D": moment}) == moment
    assert run_javascript("return 42;", runner) == 42
    assert run_javascript("var x = 1;", runner) is None
    assert math.isnan(run_javascript("return 0/0;", runner))


def test_uncaught_errors_become_local_sql_errors_with_the_javascript_message(runner: DuckDbRunner) -> None:
    with pytest.raises(LocalSqlError, match=r"^custom failure$"):
        run_javascript("throw new Error('custom failure');", runner)
    with pytest.raises(LocalSqlError, match=r"^a plain string$"):
        run_javascript("throw 'a plain string';", runner)
    with pytest.raises(LocalSqlError, match=r"^JavaScript compilation error: SyntaxError"):
        run_javascript("this is not javascript", runner)
    wrapped = """
    try { snowflake.execute({sqlText: 'SELECT * FROM MISSING'}); }
    catch (err) { err.message = 'ctx: ' + err.message; throw err; }
    """
    with pytest.raises(LocalSqlError) as raised:
        run_javascript(wrapped, runner)
    assert str(raised.value) == "ctx: " + str(runner.errors[-1])
    assert raised.value is not runner.errors[-1], "a changed message is the body's own error"


def test_each_statement_runs_once_and_replays_see_the_same_clock_and_random(runner: DuckDbRunner) -> None:
    body = """
    var stamp = Date.now() + ':' + Math.random() + ':' + new Date().getTime();
    for (var i = 0; i < 3; i++) {
      snowflake.execute({sqlText: "INSERT INTO T (ID, NAME) VALUES (?, ?)", binds: [i, stamp + ':' + Math.random()]});
    }
    return stamp;
    """
    stamp = run_javascript(body, runner)
    assert [s.split("'")[0] for s in runner.statements] == [f"INSERT INTO T (ID, NAME) VALUES ({i}, " for i in range(3)]
    names = [str(name) for (name,) in runner.rows("SELECT NAME FROM T ORDER BY ID")]
    assert len(names) == 3 and all(n.startswith(stamp + ":") for n in names)
    assert len(set(names)) == 3


def test_a_body_that_does_not_replay_identically_is_refused(runner: DuckDbRunner) -> None:
    # Intl reads the real clock (not the recorded Date.now): the second run issues a different statement.
    body = """
    var now = new Intl.DateTimeFormat('en', {second: 'numeric', fractionalSecondDigits: 3}).format();
    snowflake.execute({sqlText: "SELECT 1"});
    snowflake.execute({sqlText: "SELECT '" + now + "'"});
    """
    with pytest.raises(LocalSqlError, match="not deterministic"):
        run_javascript(body, runner)


def test_runaway_javascript_is_bounded(runner: DuckDbRunner) -> None:
    with pytest.raises(LocalSqlError, match=r"longer than the local target's limit of 0\.3 s"):
        run_javascript("while (true) {}", runner, timeout_sec=0.3)
    with pytest.raises(LocalSqlError, match="more than the local target's limit of 64 MiB"):
        run_javascript("var a = []; while (true) a.push(new Array(1e6).fill(1));", runner, max_memory=64 * 2**20)
    with pytest.raises(LocalSqlError, match="longer than the local target's limit"):
        run_javascript("while (true) snowflake.execute({sqlText: 'SELECT 1'});", runner, timeout_sec=0.3)


def test_javascript_logs_reach_python_logging(runner: DuckDbRunner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="retail_etl.local.procedures")
    run_javascript("snowflake.log('warn', 'careful'); snowflake.execute({sqlText: 'SELECT 1'});", runner)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("WARNING", "careful")], "once, not per replay"


# --- Snowflake Scripting -------------------------------------------------------------------------------------


def test_scripting_variables_conditions_and_dml_status(runner: DuckDbRunner) -> None:
    body = """
    DECLARE
      label VARCHAR DEFAULT 'it''s; END; $$ -- not a comment';
      total INTEGER;
    BEGIN
      INSERT INTO T (ID, NAME) VALUES (1, :label), (2, :label);  -- a comment; with a semicolon
      LET inserted INTEGER := SQLROWCOUNT;
      LET found BOOLEAN := SQLFOUND;
      SELECT COUNT(*) FROM T;
      LET after_select VARCHAR := COALESCE(TO_VARCHAR(SQLROWCOUNT), 'null');
      UPDATE T SET NAME = 'x' WHERE ID = -1;
      total := inserted * 10 + FLAG;
      IF (SQLNOTFOUND AND total > 20) THEN
        RETURN 'big ' || total || ' ' || after_select || ' ' || found || ' ' || label;
      ELSEIF (total > 10) THEN
        RETURN 'medium';
      ELSE
        NULL;
      END IF;
      RETURN 'small';
    END;
    """
    assert run_scripting(body, runner, {"flag": 1}) == "big 21 null true it's; END; $$ -- not a comment"
    assert runner.rows("SELECT NAME FROM T ORDER BY ID") == [("it's; END; $$ -- not a comment",)] * 2


def test_scripting_handlers_nested_blocks_and_raise(runner: DuckDbRunner) -> None:
    body = """
    BEGIN
      LET outcome VARCHAR := 'start';
      BEGIN
        SELECT * FROM MISSING_TABLE;
      EXCEPTION
        WHEN EXPRESSION_ERROR THEN
          outcome := 'wrong handler';
        WHEN STATEMENT_ERROR OR OTHER THEN
          outcome := 'caught: ' || SQLERRM;
      END;
      IF (outcome LIKE 'caught: %MISSING_TABLE%') THEN
        BEGIN
          LET x INTEGER := CAST('abc' AS INTEGER);
        EXCEPTION WHEN EXPRESSION_ERROR THEN
          RAISE;
        END;
      END IF;
      RETURN outcome;
    EXCEPTION
      WHEN OTHER THEN
        RETURN 'outer: ' || SQLERRM;
    END
    """
    result = run_scripting(body, runner)
    assert isinstance(result, str) and result.startswith("outer: ") and "'abc'" in result


def test_scripting_error_without_handler_propagates_as_raised(runner: DuckDbRunner) -> None:
    with pytest.raises(LocalSqlError) as raised:
        run_scripting("BEGIN\n  INSERT INTO MISSING VALUES (1);\nEND;", runner)
    assert raised.value is runner.errors[-1]


@pytest.mark.parametrize(
    ("body", "construct"),
    [
        ("BEGIN FOR i IN 1 TO 3 DO NULL; END FOR; END;", "FOR loops"),
        ("BEGIN WHILE (TRUE) DO NULL; END WHILE; END;", "WHILE loops"),
        ("BEGIN EXECUTE IMMEDIATE 'SELECT 1'; END;", "EXECUTE IMMEDIATE"),
        ("BEGIN LET rs RESULTSET := (SELECT 1); RETURN 1; END;", "RESULTSET variables"),
        ("DECLARE c1 CURSOR FOR SELECT 1; BEGIN RETURN 1; END;", "cursors"),
        ("BEGIN LET n INTEGER := 0; SELECT COUNT(*) INTO :n FROM T; END;", "SELECT ... INTO :variable"),
        ("BEGIN RETURN TABLE(SELECT 1); END;", "RETURN TABLE"),
        ("BEGIN RAISE my_error; END;", "RAISE of a declared exception"),
        ("BEGIN NULL; EXCEPTION WHEN my_error THEN NULL; END;", "user-defined exception MY_ERROR"),
    ],
)
def test_unsupported_scripting_is_refused_by_name_before_anything_runs(
    runner: DuckDbRunner, body: str, construct: str
) -> None:
    with pytest.raises(ScriptingCompilationError, match="construct not supported by the local target") as raised:
        run_scripting(body, runner)
    assert construct in str(raised.value)
    assert runner.statements == []


def test_scripting_compilation_errors_are_not_caught_by_handlers(runner: DuckDbRunner) -> None:
    with pytest.raises(ScriptingCompilationError, match="variable 'NOPE' is not declared"):
        run_scripting("BEGIN INSERT INTO T (ID) VALUES (:nope); EXCEPTION WHEN OTHER THEN RETURN 'x'; END;", runner)
    with pytest.raises(ScriptingCompilationError, match="RAISE; is only allowed in an exception handler"):
        run_scripting("BEGIN RAISE; END;", runner)
    with pytest.raises(ScriptingCompilationError, match="syntax error"):
        run_scripting("BEGIN INSERT INTO T (ID) VALUES (1) END;", runner)
    with pytest.raises(ScriptingCompilationError, match="must be a block"):
        run_scripting("SELECT 1;", runner)


def test_only_variables_are_substituted() -> None:
    """``:v`` is a variable, ``src:v`` / ``$1:v`` a path into a VARIANT; in an expression a plain ``v`` is the
    variable too, except inside a subquery, where plain names are columns."""
    recorded: list[str] = []

    class Recorder:
        session_id = "s"

        def run(self, sql: str) -> StatementResult:
            recorded.append(sql)
            return StatementResult(rows=[(1,)])

    body = """
    BEGIN
      LET v VARCHAR := 'a';
      SELECT src:v, $1:v, :v FROM t;
      LET n INTEGER := v || (SELECT COUNT(*) FROM t WHERE v = :v);
    END;
    """
    run_scripting(body, Recorder())
    assert recorded == ["SELECT src:v, $1:v, 'a' FROM t", "SELECT 'a' || (SELECT COUNT(*) FROM t WHERE v = 'a')"]


# --- dispatch and literals -----------------------------------------------------------------------------------


def test_run_procedure_dispatches_by_language(runner: DuckDbRunner) -> None:
    assert run_procedure("javascript", "return 'js';", runner) == "js"
    assert run_procedure("SQL", "BEGIN RETURN 'sql'; END;", runner) == "sql"
    with pytest.raises(LocalSqlError, match="LANGUAGE PYTHON cannot run on the local target"):
        run_procedure("PYTHON", "def run(session): pass", runner)


def test_literals_never_change_the_statement_shape() -> None:
    assert sql_value(-5) == "(-5)"
    assert bind_parameters("SELECT a -?, LIMIT?", [-5, 3]) == "SELECT a -(-5), LIMIT 3"
    assert bind_parameters("SELECT '?', \"?\", ? /* ? */", ["it's \\"]) == "SELECT '?', \"?\", 'it''s \\\\' /* ? */"
    assert sql_value(float("nan")) == "'NaN'::FLOAT"
    assert sql_value(datetime(2024, 1, 2, tzinfo=UTC)) == "'2024-01-02 00:00:00+00:00'::TIMESTAMP_TZ"
    assert sql_value({"a": [1]}) == "PARSE_JSON('{\"a\": [1]}')"
