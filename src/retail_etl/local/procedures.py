"""Run the stored procedures retail-etl renders, exactly as rendered, on one local session (a :class:`SqlRunner`).

- ``LANGUAGE JAVASCRIPT``: the body runs in V8 (mini-racer), wrapped in a function as Snowflake does, with the
  ``snowflake`` object of Snowflake's JavaScript API (reference §9.1). mini-racer can only expose Python to
  JavaScript as *asynchronous* functions, while ``snowflake.execute`` is synchronous, so the body is run by
  deterministic replay: the shim answers from the results recorded so far and, at the first statement it has no
  result for, stops the run and hands that statement to Python; Python runs it on the session, records its result
  (or error) and runs the body again from the start in a fresh isolate. Every statement therefore reaches the
  session exactly once, in the order the body issues it. ``Date`` and ``Math.random`` are recorded too, so a run
  sees the same values as the runs before it; a run that issues a different statement than the recorded one is an
  error, never a silent divergence.
- ``LANGUAGE SQL``: a small Snowflake Scripting interpreter (blocks, DECLARE/LET, assignment, IF, RETURN,
  EXCEPTION handlers, RAISE, SQLROWCOUNT/SQLFOUND/SQLNOTFOUND). The whole body is parsed before anything runs;
  constructs it does not implement are refused by name.

Transactions are the session's business: ``BEGIN TRANSACTION``, ``COMMIT`` and ``ROLLBACK`` reach the runner as the
body writes them. Values reach SQL text only as Snowflake literals (the runner has no bind API).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from itertools import pairwise
from typing import Any, NoReturn

from retail_etl.emulator.errors import syntax_error
from retail_etl.emulator.lexer import Token, TokenKind, tokenize
from retail_etl.identifiers import sql_literal
from retail_etl.local.api import LocalSqlError, SqlRunner, StatementResult
from retail_etl.targets.session import SessionError

logger = logging.getLogger(__name__)

# Limits of one JavaScript procedure call: time in V8 summed over all replays (an isolate's start-up included, the
# time spent running SQL not) and the V8 heap of one run. Snowflake's own limits are far larger; these only stop
# runaway bodies on a laptop.
DEFAULT_JS_TIMEOUT_SEC = 60.0
DEFAULT_JS_MAX_MEMORY = 256 * 1024 * 1024


def run_procedure(language: str, body: str, runner: SqlRunner, arguments: dict[str, Any] | None = None) -> Any:
    """Run a procedure body by its ``LANGUAGE`` (what ``CALL`` does once it has found the procedure)."""
    normalized = language.strip().upper()
    if normalized == "JAVASCRIPT":
        return run_javascript(body, runner, arguments)
    if normalized == "SQL":
        return run_scripting(body, runner, arguments)
    raise LocalSqlError(f"procedures in LANGUAGE {language} cannot run on the local target (JAVASCRIPT and SQL can)")


# --- values as SQL text ------------------------------------------------------------------------------------------


def sql_value(value: object) -> str:
    """``value`` as a Snowflake literal, for bind values and Scripting variables spliced into a statement."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        if isinstance(value, int) or math.isfinite(value):
            text = repr(value) if isinstance(value, float) else str(value)
            # Parenthesized when negative: "a -?" must not become "a --5", a comment.
            return f"({text})" if text.startswith("-") else text
        return f"{sql_literal('NaN' if math.isnan(value) else 'inf' if value > 0 else '-inf')}::FLOAT"
    if isinstance(value, datetime):
        kind = "TIMESTAMP_TZ" if value.tzinfo is not None else "TIMESTAMP_NTZ"
        return f"{sql_literal(value.isoformat(sep=' '))}::{kind}"
    if isinstance(value, date):
        return f"{sql_literal(value.isoformat())}::DATE"
    if isinstance(value, time_of_day):
        return f"{sql_literal(value.isoformat())}::TIME"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"TO_BINARY({sql_literal(bytes(value).hex())}, 'HEX')"
    if isinstance(value, dict | list | tuple):
        return f"PARSE_JSON({sql_literal(json.dumps(value, default=str))})"
    return sql_literal(value)


_WORD_CHARS = frozenset("_$\"'")


def _splice(text: str, start: int, end: int, replacements: Sequence[tuple[int, int, str]]) -> str:
    """``text[start:end]`` with each ``(from, to, literal)`` span replaced; a literal is spaced from a neighbouring
    word so it can never merge with it (``LIMIT?`` must not become ``LIMIT5``)."""
    out: list[str] = []
    cursor = start
    for begin, finish, literal in replacements:
        out.append(text[cursor:begin])
        before = text[begin - 1] if begin > start else " "
        after = text[finish] if finish < end else " "
        touches_before = before.isalnum() or before in _WORD_CHARS
        touches_after = after.isalnum() or after in _WORD_CHARS
        out.append(f"{' ' if touches_before else ''}{literal}{' ' if touches_after else ''}")
        cursor = finish
    out.append(text[cursor:end])
    return "".join(out)


def bind_parameters(sql: str, binds: Sequence[object]) -> str:
    """Replace each ``?`` placeholder (outside literals, quoted names and comments) by its value as a literal."""
    try:
        placeholders = [t for t in tokenize(sql) if t.is_punct("?")]
    except SessionError as error:  # the lexer's own (Snowflake-worded) syntax error, as the runner would raise it
        raise LocalSqlError(str(error)) from error
    if len(placeholders) != len(binds):
        raise LocalSqlError(
            f"SQL compilation error: {len(binds)} bind value(s) given for {len(placeholders)} '?' placeholder(s)"
        )
    replacements = [(t.start, t.end, sql_value(v)) for t, v in zip(placeholders, binds, strict=True)]
    return _splice(sql, 0, len(sql), replacements)


# --- JavaScript ----------------------------------------------------------------------------------------------------

# Values crossing between Python and JavaScript travel as JSON; what JSON cannot say travels as a tagged object:
# {"$t": "date", "ms": epoch milliseconds, "s": SQL text}, {"$t": "number", "v": "NaN"|"Infinity"|"-Infinity"},
# {"$t": "binary", "v": hex} and {"$t": "json", "v": a VARIANT / OBJECT / ARRAY value}.
_HARNESS = r"""
(function (config) {
  "use strict";
  const RealDate = Date;
  const realNow = Date.now;
  const realRandom = Math.random;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const STATEMENT = Symbol("retail-etl statement");
  const HALT = new Error("retail-etl: this run stops here and replays once the statement has run");
  const consumed = {clock: 0, random: 0};
  const logs = [];
  let nextStatement = 0;
  let halted = null;

  // Date and Math.random return the values recorded by earlier runs, then new ones (recorded for later runs).
  function recorded(name, values, source) {
    const index = consumed[name]++;
    if (index >= values.length) values.push(source());
    return values[index];
  }
  const now = () => recorded("clock", config.clock, () => realNow.call(RealDate));
  function ReplayDate(...args) {
    if (new.target === undefined) return new RealDate(now()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target);
  }
  ReplayDate.prototype = RealDate.prototype;
  ReplayDate.now = now;
  ReplayDate.parse = RealDate.parse;
  ReplayDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, "constructor", {value: ReplayDate, writable: true, configurable: true});
  globalThis.Date = ReplayDate;
  Math.random = () => recorded("random", config.random, () => realRandom.call(Math));

  function stop(report) {
    if (halted === null) {
      report.clock = config.clock.slice(0, consumed.clock);
      report.random = config.random.slice(0, consumed.random);
      halted = report;
    }
    throw HALT;
  }

  function decode(value) {
    if (value === null || typeof value !== "object") return value;
    switch (value.$t) {
      case "date": return new RealDate(value.ms);
      case "number": return Number(value.v);
      case "binary": {
        const bytes = new Uint8Array(value.v.length / 2);
        for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(value.v.substr(2 * i, 2), 16);
        return bytes;
      }
      default: return parse(stringify(value.v));  // a fresh copy: the body may mutate what it reads
    }
  }

  function encode(value) {
    if (value === undefined || value === null) return null;
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        return Number.isFinite(value) ? value : {$t: "number", v: String(value)};
      case "object":
        if (value instanceof RealDate) return {$t: "date", ms: value.getTime()};
        return {$t: "json", v: parse(stringify(value) ?? "null")};
      default:
        return String(value);
    }
  }

  function encodeBinds(binds) {
    if (binds === undefined || binds === null) return [];
    if (!Array.isArray(binds)) throw new Error("binds must be an array of values for the ? placeholders");
    return binds.map((value, i) => {
      if (value === null || typeof value === "string" || typeof value === "boolean") return value;
      if (typeof value === "number") return encode(value);
      if (value instanceof RealDate) return encode(value);
      throw new Error("Unsupported type for binding argument " + (i + 1) + ": " +
        (value === undefined ? "undefined" : typeof value));
    });
  }

  function run(sqlText, binds) {
    if (halted !== null) throw HALT;
    const index = nextStatement++;
    if (index >= config.tape.length) stop({status: "need", sql: sqlText, binds: binds});
    const entry = config.tape[index];
    if (entry.sql !== sqlText || stringify(entry.binds) !== stringify(binds)) {
      stop({status: "diverged", index: index, expected: entry.sql, got: sqlText});
    }
    if (entry.error !== undefined) {
      const error = new Error(entry.error.message);
      error.code = entry.error.code;
      error.state = entry.error.state;
      error.stackTraceTxt = error.stack;
      error[STATEMENT] = index;
      throw error;
    }
    return entry.result;
  }

  function columnIndex(columns, column) {
    if (typeof column === "number") {
      if (Number.isInteger(column) && column >= 1 && column <= columns.length) return column - 1;
      throw new Error("Given index " + column + " is out of range [1, " + columns.length + "]");
    }
    const name = String(column);
    let index = columns.indexOf(name);
    if (index < 0) index = columns.findIndex((c) => c.toUpperCase() === name.toUpperCase());
    if (index < 0) throw new Error("Given column name does not exist: " + name);
    return index;
  }

  class ResultSet {
    #statement;
    #result;
    #row = -1;
    constructor(statement, result) {
      this.#statement = statement;
      this.#result = result;
    }
    next() {
      const rows = this.#result.rows;
      if (this.#row + 1 >= rows.length) {
        this.#row = rows.length;
        return false;
      }
      this.#row += 1;
      // Like Snowflake's ResultSet, the current row's values are also properties named after the columns.
      this.#result.columns.forEach((name, i) => {
        if (!(name in ResultSet.prototype)) {
          const value = decode(rows[this.#row][i]);
          Object.defineProperty(this, name, {value: value, writable: true, configurable: true, enumerable: true});
        }
      });
      return true;
    }
    #cell(column) {
      const rows = this.#result.rows;
      if (this.#row < 0 || this.#row >= rows.length) {
        throw new Error("ResultSet is empty or not prepared (call next() first).");
      }
      return rows[this.#row][columnIndex(this.#result.columns, column)];
    }
    getColumnValue(column) { return decode(this.#cell(column)); }
    getColumnValueAsString(column) {
      const cell = this.#cell(column);
      if (cell === null) return null;
      if (typeof cell !== "object") return String(cell);
      if (cell.$t === "date") return cell.s;
      if (cell.$t === "json") return stringify(cell.v);
      return String(decode(cell));
    }
    getColumnCount() { return this.#result.columns.length; }
    getColumnName(index) { return this.#result.columns[columnIndex(this.#result.columns, index)]; }
    getRowCount() { return this.#result.rows.length; }
    getNumRowsAffected() { return this.#statement.getNumRowsAffected(); }
    getQueryId() { return this.#result.queryId; }
    getSqlText() { return this.#statement.getSqlText(); }
  }

  class Statement {
    #sqlText;
    #binds;
    #result = null;
    constructor(command) {
      if (command === null || typeof command !== "object") {
        throw new Error("expected a statement object such as {sqlText: '...', binds: [...]}");
      }
      if (typeof command.sqlText !== "string" || command.sqlText.trim() === "") {
        throw new Error("sqlText is missing or empty");
      }
      this.#sqlText = command.sqlText;
      this.#binds = encodeBinds(command.binds);
    }
    execute() {
      this.#result = run(this.#sqlText, this.#binds);
      return new ResultSet(this, this.#result);
    }
    #executed() {
      if (this.#result === null) throw new Error("the statement has not been executed yet");
      return this.#result;
    }
    getSqlText() { return this.#sqlText; }
    getQueryId() { return this.#executed().queryId; }
    getNumRowsInserted() { return this.#executed().inserted; }
    getNumRowsUpdated() { return this.#executed().updated; }
    getNumRowsDeleted() { return this.#executed().deleted; }
    getNumRowsAffected() {
      const result = this.#executed();
      return result.inserted + result.updated + result.deleted;
    }
    getColumnCount() { return this.#executed().columns.length; }
    getColumnName(index) { const columns = this.#executed().columns; return columns[columnIndex(columns, index)]; }
    getRowCount() { return this.#executed().rows.length; }
  }

  const snowflake = {
    createStatement: (command) => new Statement(command),
    execute: (command) => new Statement(command).execute(),
    log: (level, message) => { logs.push([String(level), String(message)]); },
  };
  Object.defineProperty(globalThis, "snowflake", {value: snowflake, enumerable: false});

  let procedure;
  try {
    // The Function constructor wraps the body exactly as Snowflake does: a (sloppy-mode) function of the
    // arguments, upper-case as SQL stores unquoted names.
    procedure = new Function(...config.parameters, config.body);
  } catch (error) {
    return stringify({status: "compile", message: String(error)});
  }
  let outcome;
  try {
    outcome = {status: "return", value: encode(procedure.apply(undefined, config.arguments.map(decode)))};
  } catch (error) {
    let message;
    try {
      const isError = error !== null && typeof error === "object" && "message" in error;
      message = isError ? String(error.message) : String(error);
    } catch (unprintable) {
      message = "uncaught JavaScript exception";
    }
    const statement = (error !== null && typeof error === "object" && STATEMENT in error) ? error[STATEMENT] : null;
    outcome = {status: "throw", message: message, statement: statement};
  }
  if (halted !== null) return stringify(halted);
  outcome.logs = logs;
  return stringify(outcome);
})
"""


def _to_js(value: object) -> object:
    """A Python value (argument or result cell) as JSON the harness decodes (see the tags above)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$t": "number", "v": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, date):
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        # TIMESTAMP_NTZ and DATE have no zone: JavaScript gets their wall-clock time as UTC.
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        text = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        return {"$t": "date", "ms": math.floor(aware.timestamp() * 1000), "s": text}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$t": "binary", "v": bytes(value).hex()}
    if isinstance(value, dict | list | tuple):
        return {"$t": "json", "v": json.loads(json.dumps(value, default=str))}
    return str(value)


def _from_js(value: Any) -> Any:
    """A value the harness encoded (a bind value or the procedure's return value) as Python."""
    if not isinstance(value, dict):
        return value
    tag = value.get("$t")
    if tag == "date":
        milliseconds = value["ms"]
        return None if milliseconds is None else datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    if tag == "number":
        return float(value["v"])
    return value["v"]


@dataclass(frozen=True)
class _Recorded:
    """One statement the body issued, with what the session answered: replayed to every later run."""

    sql: str
    binds: list[Any]
    result: StatementResult | None = None
    error: LocalSqlError | None = None

    def to_json(self) -> str:
        entry: dict[str, Any] = {"sql": self.sql, "binds": self.binds}
        if self.error is not None:
            entry["error"] = {
                "message": str(self.error),
                "code": _optional_text(getattr(self.error, "code", None)),
                "state": _optional_text(getattr(self.error, "sqlstate", None)),
            }
        else:
            assert self.result is not None
            entry["result"] = {
                "columns": self.result.columns,
                "rows": [[_to_js(cell) for cell in row] for row in self.result.rows],
                "inserted": self.result.rows_inserted,
                "updated": self.result.rows_updated,
                "deleted": self.result.rows_deleted,
                "queryId": self.result.query_id,
            }
        return json.dumps(entry)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _execute(runner: SqlRunner, sql: str, binds: list[Any]) -> _Recorded:
    try:
        text = bind_parameters(sql, [_from_js(v) for v in binds]) if binds else sql
        return _Recorded(sql, binds, result=runner.run(text))
    except LocalSqlError as error:
        return _Recorded(sql, binds, error=error)


_LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}
_LOG_LEVELS.update({"error": logging.ERROR, "fatal": logging.CRITICAL})


@dataclass
class _Replay:
    """What every run of one call shares: the body, its arguments and everything recorded so far."""

    body: str
    parameters: list[str]
    arguments: list[object]
    tape: list[_Recorded] = field(default_factory=list)
    encoded_tape: list[str] = field(default_factory=list)
    clock: list[float] = field(default_factory=list)
    random: list[float] = field(default_factory=list)

    def script(self) -> str:
        config = (
            f'{{"body": {json.dumps(self.body)}, "parameters": {json.dumps(self.parameters)}, '
            f'"arguments": {json.dumps(self.arguments)}, "tape": [{", ".join(self.encoded_tape)}], '
            f'"clock": {json.dumps(self.clock)}, "random": {json.dumps(self.random)}}}'
        )
        return f"{_HARNESS}({config})"

    def record(self, entry: _Recorded) -> None:
        self.tape.append(entry)
        self.encoded_tape.append(entry.to_json())


def run_javascript(
    body: str,
    runner: SqlRunner,
    arguments: dict[str, Any] | None = None,
    *,
    timeout_sec: float = DEFAULT_JS_TIMEOUT_SEC,
    max_memory: int = DEFAULT_JS_MAX_MEMORY,
) -> Any:
    """Run a JavaScript procedure body; return its value as Python (``None`` for undefined/null, ``datetime`` for a
    Date, ``dict``/``list`` for objects).

    ``arguments`` maps each argument, named as Snowflake stores it (upper-case unless quoted), to its value. An
    uncaught JavaScript error raises :class:`LocalSqlError` with the error's message; when the body re-throws the
    error of a failed statement unchanged, the session's original exception is raised.
    """
    replay = _Replay(body, list(arguments or {}), [_to_js(v) for v in (arguments or {}).values()])
    remaining = timeout_sec
    while True:
        started = time.perf_counter()
        outcome = _run_once(replay.script(), remaining, timeout_sec, max_memory)
        remaining -= time.perf_counter() - started
        status = outcome["status"]
        if status == "need":
            replay.clock, replay.random = outcome["clock"], outcome["random"]
            replay.record(_execute(runner, outcome["sql"], outcome["binds"]))
            continue
        if status == "diverged":
            raise LocalSqlError(
                f"JavaScript procedure is not deterministic: statement {outcome['index'] + 1} was "
                f"{outcome['expected']!r} when first run and {outcome['got']!r} on replay"
            )
        if status == "compile":
            raise LocalSqlError(f"JavaScript compilation error: {outcome['message']}")
        for level, message in outcome["logs"]:
            logger.log(_LOG_LEVELS.get(level.lower(), logging.INFO), "%s", message)
        if status == "return":
            return _from_js(outcome["value"])
        _raise_uncaught(outcome, replay.tape)


def _raise_uncaught(outcome: dict[str, Any], tape: list[_Recorded]) -> NoReturn:
    statement = outcome["statement"]
    if statement is not None:
        original = tape[statement].error
        if original is not None and str(original) == outcome["message"]:
            raise original
    raise LocalSqlError(outcome["message"])


def _run_once(script: str, remaining: float, timeout_sec: float, max_memory: int) -> dict[str, Any]:
    """One run of the body in a fresh isolate: no state survives from one replay to the next."""
    from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException, MiniRacer

    if remaining <= 0:
        raise LocalSqlError(f"JavaScript procedure ran longer than the local target's limit of {timeout_sec:g} s")
    with MiniRacer() as racer:
        try:
            raw = racer.eval(script, timeout_sec=remaining, max_memory=max_memory)
        except JSTimeoutException as error:
            # V8 still reports the cancelled run to the isolate's event loop: let it (an evaluation queued behind
            # it) before closing the loop, or the report lands on a closed loop.
            racer.eval("0")
            raise LocalSqlError(
                f"JavaScript procedure ran longer than the local target's limit of {timeout_sec:g} s"
            ) from error
        except JSOOMException as error:
            raise LocalSqlError(
                f"JavaScript procedure used more than the local target's limit of {max_memory // 2**20} MiB"
            ) from error
        except JSEvalException as error:
            raise LocalSqlError(f"JavaScript execution error: {error}") from error
    if not isinstance(raw, str):
        raise LocalSqlError(f"JavaScript procedure harness returned {type(raw).__name__}, not its outcome")
    outcome: dict[str, Any] = json.loads(raw)
    return outcome


# --- Snowflake Scripting -------------------------------------------------------------------------------------------


class ScriptingCompilationError(LocalSqlError):
    """A body the interpreter cannot run (syntax, unsupported construct, undeclared variable). Like Snowflake's
    compilation errors, exception handlers do not catch it."""


class ExpressionError(LocalSqlError):
    """An expression failed to evaluate (Snowflake's EXPRESSION_ERROR)."""


_PATH_ROOTS = frozenset({TokenKind.IDENT, TokenKind.QUOTED, TokenKind.VARIABLE})


@dataclass(frozen=True)
class _Fragment:
    """Consecutive tokens of the body: re-emitted verbatim except for the variables spliced in."""

    source: str
    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        return self.source[self.tokens[0].start : self.tokens[-1].end]

    def substitute(self, value_of: Callable[[Token], str | None], *, bare: bool) -> str:
        """The text with ``:name`` replaced by what ``value_of`` gives and, when ``bare`` (an expression), also a
        plain ``name`` outside subqueries (a subquery is a SQL statement: its plain names are columns)."""
        replacements: list[tuple[int, int, str]] = []
        tokens = self.tokens
        subqueries: list[bool] = []  # per open parenthesis: does it open a (SELECT ...) or is it inside one?
        for i, token in enumerate(tokens):
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            before = tokens[i - 1] if i > 0 else None
            if token.is_punct("("):
                opens_query = after is not None and after.is_keyword("SELECT", "WITH")
                subqueries.append(opens_query or any(subqueries))
            elif token.is_punct(")") and subqueries:
                subqueries.pop()
            elif (
                token.is_punct(":") and after is not None and after.kind is TokenKind.IDENT and after.start == token.end
            ):
                # ``col:field`` (a path into a VARIANT) is not a variable: the colon touches what precedes it.
                if (
                    before is not None
                    and before.end == token.start
                    and (before.kind in _PATH_ROOTS or before.is_punct(")", "]"))
                ):
                    continue
                literal = value_of(after)
                if literal is None:
                    raise ScriptingCompilationError(f"SQL compilation error: variable '{after.value}' is not declared")
                replacements.append((token.start, after.end, literal))
            elif (
                bare
                and token.kind is TokenKind.IDENT
                and not any(subqueries)
                and not (after is not None and after.is_punct("("))
                and not (before is not None and before.is_punct(".", ":"))
            ):
                literal = value_of(token)
                if literal is not None:
                    replacements.append((token.start, token.end, literal))
        return _splice(self.source, tokens[0].start, tokens[-1].end, replacements)


@dataclass(frozen=True)
class _Sql:
    fragment: _Fragment
    dml: bool


@dataclass(frozen=True)
class _Let:
    name: str
    type: str | None
    expression: _Fragment | None


@dataclass(frozen=True)
class _Assign:
    name: str
    expression: _Fragment


@dataclass(frozen=True)
class _Return:
    expression: _Fragment | None


@dataclass(frozen=True)
class _Raise:
    pass


@dataclass(frozen=True)
class _If:
    branches: tuple[tuple[_Fragment, tuple[_Statement, ...]], ...]
    otherwise: tuple[_Statement, ...]


@dataclass(frozen=True)
class _Handler:
    conditions: frozenset[str]
    body: tuple[_Statement, ...]


@dataclass(frozen=True)
class _Block:
    declarations: tuple[_Let, ...]
    body: tuple[_Statement, ...]
    handlers: tuple[_Handler, ...]


_Statement = _Sql | _Let | _Assign | _Return | _Raise | _If | _Block

_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_HANDLED_CONDITIONS = frozenset({"OTHER", "STATEMENT_ERROR", "EXPRESSION_ERROR"})
# Scripting statements this interpreter does not implement: refused when the body is parsed, before anything runs.
_UNSUPPORTED_STATEMENTS = {
    "FOR": "FOR loops",
    "WHILE": "WHILE loops",
    "REPEAT": "REPEAT loops",
    "LOOP": "LOOP",
    "CASE": "CASE statements",
    "BREAK": "BREAK",
    "EXIT": "EXIT",
    "CONTINUE": "CONTINUE",
    "ITERATE": "ITERATE",
    "OPEN": "cursors (OPEN)",
    "FETCH": "cursors (FETCH)",
    "CLOSE": "cursors (CLOSE)",
    "AWAIT": "asynchronous child jobs (AWAIT)",
    "CANCEL": "asynchronous child jobs (CANCEL)",
}
_UNSUPPORTED_TYPES = {"RESULTSET": "RESULTSET variables", "CURSOR": "cursors", "EXCEPTION": "declared exceptions"}


def _unsupported(what: str) -> ScriptingCompilationError:
    return ScriptingCompilationError(f"Snowflake Scripting construct not supported by the local target: {what}")


class _Parser:
    """Recursive descent over the body's tokens (Snowflake's lexer: quotes, ``$$`` and comments are single tokens,
    so every ``;`` seen here ends a statement)."""

    def __init__(self, body: str) -> None:
        self.body = body
        try:
            self.tokens = tokenize(body)
        except SessionError as error:
            raise ScriptingCompilationError(str(error)) from error
        self.pos = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        if token.kind is not TokenKind.EOF:
            self.pos += 1
        return token

    def error(self, token: Token | None = None) -> ScriptingCompilationError:
        token = token or self.peek()
        found = "<EOF>" if token.kind is TokenKind.EOF else self.body[token.start : token.end]
        return ScriptingCompilationError(str(syntax_error(self.body, token.start, found)))

    def expect_keyword(self, *words: str) -> Token:
        if not self.peek().is_keyword(*words):
            raise self.error()
        return self.take()

    def expect_semicolon(self) -> None:
        if not self.peek().is_punct(";"):
            raise self.error()
        self.take()

    def at_assignment(self, ahead: int = 0) -> bool:
        colon, equals = self.peek(ahead), self.peek(ahead + 1)
        return colon.is_punct(":") and equals.is_punct("=") and colon.end == equals.start

    def fragment_until(self, stop: Callable[[], bool]) -> _Fragment | None:
        """The tokens up to (not including) the first one where ``stop()`` holds outside parentheses."""
        start, depth = self.pos, 0
        while not (depth == 0 and stop()):
            token = self.peek()
            if token.kind is TokenKind.EOF:
                raise self.error()
            depth += 1 if token.is_punct("(") else -1 if token.is_punct(")") else 0
            self.take()
        return _Fragment(self.body, tuple(self.tokens[start : self.pos])) if self.pos > start else None

    def statement_text(self) -> _Fragment:
        fragment = self.fragment_until(lambda: self.peek().is_punct(";"))
        if fragment is None:
            raise self.error()
        self.expect_semicolon()
        return fragment

    # --- grammar ---------------------------------------------------------------------------------------------
    def parse(self) -> _Block:
        if not self.peek().is_keyword("DECLARE", "BEGIN"):
            raise ScriptingCompilationError("Snowflake Scripting: the body must be a block (DECLARE ... BEGIN ... END)")
        block = self.block()
        if self.peek().is_punct(";"):
            self.take()
        if self.peek().kind is not TokenKind.EOF:
            raise self.error()
        return block

    def block(self) -> _Block:
        declarations: list[_Let] = []
        if self.peek().is_keyword("DECLARE"):
            self.take()
            while not self.peek().is_keyword("BEGIN"):
                declarations.append(self.declaration(self.take()))
        self.expect_keyword("BEGIN")
        body = self.statements("END", "EXCEPTION")
        handlers: list[_Handler] = []
        if self.peek().is_keyword("EXCEPTION"):
            self.take()
            while self.peek().is_keyword("WHEN"):
                handlers.append(self.handler())
            if not handlers:
                raise self.error()
        self.expect_keyword("END")
        return _Block(tuple(declarations), body, tuple(handlers))

    def handler(self) -> _Handler:
        self.expect_keyword("WHEN")
        conditions = {self.condition()}
        while self.peek().is_keyword("OR"):
            self.take()
            conditions.add(self.condition())
        self.expect_keyword("THEN")
        return _Handler(frozenset(conditions), self.statements("WHEN", "END"))

    def condition(self) -> str:
        token = self.take()
        if token.kind is not TokenKind.IDENT:
            raise self.error(token)
        if token.value not in _HANDLED_CONDITIONS:
            raise _unsupported(f"a handler for the user-defined exception {token.value}")
        return token.value

    def statements(self, *stops: str) -> tuple[_Statement, ...]:
        found: list[_Statement] = []
        start = self.pos
        while not self.peek().is_keyword(*stops):
            statement = self.statement()
            if statement is not None:
                found.append(statement)
        if self.pos == start:
            raise self.error()  # Snowflake requires at least one statement (NULL; is one)
        return tuple(found)

    def declaration(self, name: Token) -> _Let:
        """``name [type] [{DEFAULT | :=} expr];`` (DECLARE section) or, after LET, the same with an initializer."""
        if name.kind is not TokenKind.IDENT:
            raise self.error(name)
        type_fragment = self.fragment_until(
            lambda: self.peek().is_punct(";") or self.peek().is_keyword("DEFAULT") or self.at_assignment()
        )
        type_text = type_fragment.text.upper() if type_fragment is not None else None
        if type_text is not None and type_text.split()[0] in _UNSUPPORTED_TYPES:
            raise _unsupported(_UNSUPPORTED_TYPES[type_text.split()[0]])
        expression = None
        if self.peek().is_keyword("DEFAULT") or self.at_assignment():
            self.pos += 1 if self.peek().is_keyword("DEFAULT") else 2
            expression = self.statement_text()
        else:
            self.expect_semicolon()
        return _Let(name.value, type_text, expression)

    def statement(self) -> _Statement | None:
        token = self.peek()
        if token.kind is TokenKind.IDENT:
            word, following = token.value, self.peek(1)
            if self.at_assignment(1):
                self.pos += 3
                return _Assign(word, self.statement_text())
            if word in _UNSUPPORTED_STATEMENTS:
                raise _unsupported(_UNSUPPORTED_STATEMENTS[word])
            if word == "EXECUTE" and following.is_keyword("IMMEDIATE"):
                raise _unsupported("EXECUTE IMMEDIATE")
            if word == "BEGIN" and not following.is_keyword("TRANSACTION", "WORK", "NAME"):
                return self.nested_block()
            if word == "DECLARE":
                return self.nested_block()
            if word == "LET":
                self.take()
                let = self.declaration(self.take())
                if let.expression is None:
                    raise self.error(self.peek(-1))
                return let
            if word == "IF":
                return self.if_statement()
            if word == "RETURN":
                self.take()
                if self.peek().is_keyword("TABLE"):
                    raise _unsupported("RETURN TABLE(...)")
                expression = self.fragment_until(lambda: self.peek().is_punct(";"))
                self.expect_semicolon()
                return _Return(expression)
            if word == "RAISE":
                self.take()
                if not self.peek().is_punct(";"):
                    raise _unsupported("RAISE of a declared exception")
                self.expect_semicolon()
                return _Raise()
            if word == "NULL" and following.is_punct(";"):
                self.take()
                self.expect_semicolon()
                return None
        fragment = self.statement_text()
        if self._selects_into_variables(fragment):
            raise _unsupported("SELECT ... INTO :variable")
        return _Sql(fragment, fragment.tokens[0].is_keyword(*_DML))

    @staticmethod
    def _selects_into_variables(fragment: _Fragment) -> bool:
        tokens = fragment.tokens
        return tokens[0].is_keyword("SELECT", "WITH") and any(
            a.is_keyword("INTO") and b.is_punct(":") for a, b in pairwise(tokens)
        )

    def nested_block(self) -> _Block:
        block = self.block()
        self.expect_semicolon()
        return block

    def if_statement(self) -> _If:
        branches: list[tuple[_Fragment, tuple[_Statement, ...]]] = []
        otherwise: tuple[_Statement, ...] = ()
        while True:
            self.take()  # IF or ELSEIF
            condition = self.fragment_until(lambda: self.peek().is_keyword("THEN"))
            if condition is None:
                raise self.error()
            self.expect_keyword("THEN")
            branches.append((condition, self.statements("ELSEIF", "ELSE", "END")))
            if not self.peek().is_keyword("ELSEIF"):
                break
        if self.peek().is_keyword("ELSE"):
            self.take()
            otherwise = self.statements("END")
        self.expect_keyword("END")
        self.expect_keyword("IF")
        self.expect_semicolon()
        return _If(tuple(branches), otherwise)


class _ReturnValue(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


_NOT_SIMPLE = object()
_TEXT_TYPES = frozenset({"VARCHAR", "STRING", "TEXT", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "NVARCHAR2"})
_INTEGER_TYPES = frozenset({"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"})
_FLOAT_TYPES = frozenset({"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "REAL"})
_TYPE = re.compile(r"\s*([A-Z_0-9]+)(?:\s*\(\s*\d+\s*(?:,\s*(\d+)\s*)?\))?")


def _holds_type(value: object, type_text: str) -> bool:
    """True when ``value`` already is what a variable of ``type_text`` holds (no cast needed)."""
    match = _TYPE.match(type_text)
    family, scale = (match.group(1), match.group(2) or "0") if match else ("", "0")
    if family in _TEXT_TYPES:
        return isinstance(value, str)
    if family in _INTEGER_TYPES or (family in {"NUMBER", "DECIMAL", "NUMERIC"} and scale == "0"):
        return isinstance(value, int) and not isinstance(value, bool)
    if family in _FLOAT_TYPES:
        return isinstance(value, float)
    if family == "BOOLEAN":
        return isinstance(value, bool)
    return False


def _error_code(error: LocalSqlError) -> int | None:
    """SQLCODE: the numeric Snowflake error code when the session's error carries one (as ``code``)."""
    code = getattr(error, "code", None)
    if isinstance(code, int):
        return code
    return int(code) if isinstance(code, str) and code.isdigit() else None


class _Interpreter:
    def __init__(self, runner: SqlRunner, arguments: Mapping[str, Any]) -> None:
        self.runner = runner
        # The DML status variables (2025_01 behaviour: NULL once a non-DML statement follows the last DML).
        status: dict[str, Any] = {"SQLROWCOUNT": None, "SQLFOUND": None, "SQLNOTFOUND": None}
        self.scopes: list[dict[str, Any]] = [status, {name.upper(): value for name, value in arguments.items()}]
        self.handling: list[LocalSqlError] = []

    # --- variables -------------------------------------------------------------------------------------------
    def scope_of(self, name: str) -> dict[str, Any] | None:
        return next((scope for scope in reversed(self.scopes) if name in scope), None)

    def literal_of(self, token: Token) -> str | None:
        scope = self.scope_of(token.value)
        return None if scope is None else sql_value(scope[token.value])

    def assign(self, name: str, value: object) -> None:
        scope = self.scope_of(name)
        if scope is None:
            raise ScriptingCompilationError(f"SQL compilation error: variable '{name}' is not declared")
        scope[name] = value

    # --- expressions -----------------------------------------------------------------------------------------
    def evaluate(self, expression: _Fragment) -> Any:
        simple = self.simple_value(expression.tokens)
        if simple is not _NOT_SIMPLE:
            return simple
        return self.select(expression.substitute(self.literal_of, bare=True))

    def select(self, expression_sql: str) -> Any:
        try:
            result = self.runner.run(f"SELECT {expression_sql}")
        except LocalSqlError as error:
            raise ExpressionError(str(error)) from error
        return result.rows[0][0] if result.rows else None

    def simple_value(self, tokens: Sequence[Token]) -> Any:
        """Literals, variables and ``||`` chains of them, evaluated here rather than by a query on the session."""
        operands: list[list[Token]] = [[]]
        for token in tokens:
            if token.is_punct("||"):
                operands.append([])
            else:
                operands[-1].append(token)
        values = [self.operand_value(operand) for operand in operands]
        if any(v is _NOT_SIMPLE for v in values):
            return _NOT_SIMPLE
        if len(values) == 1:
            return values[0]
        if any(v is None for v in values):
            return None
        if not all(isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            return _NOT_SIMPLE  # TO_VARCHAR of floats, dates, booleans: Snowflake's formatting, via the session
        return "".join(str(v) for v in values)

    def operand_value(self, operand: list[Token]) -> Any:
        if len(operand) == 2 and operand[0].is_punct(":"):
            operand = operand[1:]
        if len(operand) != 1:
            return _NOT_SIMPLE
        (token,) = operand
        if token.kind is TokenKind.STRING:
            return token.value
        if token.kind is TokenKind.NUMBER and token.value.isdigit():
            return int(token.value)
        if token.is_keyword("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[token.value]
        if token.kind is TokenKind.IDENT and (scope := self.scope_of(token.value)) is not None:
            return scope[token.value]
        return _NOT_SIMPLE

    def typed(self, value: object, type_text: str | None) -> object:
        if type_text is None or value is None or _holds_type(value, type_text):
            return value
        return self.select(f"CAST({sql_value(value)} AS {type_text})")

    def truth(self, condition: _Fragment) -> bool:
        value = self.evaluate(condition)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, int | float | Decimal):
            return value != 0
        raise ExpressionError(f"Boolean value '{value}' is not recognized")

    # --- statements ------------------------------------------------------------------------------------------
    def run_block(self, block: _Block) -> None:
        self.scopes.append({})
        try:
            for declaration in block.declarations:
                self.run_let(declaration)
            try:
                self.run_statements(block.body)
            except ScriptingCompilationError:
                raise
            except LocalSqlError as error:
                handler = next((h for h in block.handlers if self.handles(h, error)), None)
                if handler is None:
                    raise
                self.run_handler(handler, error)
        finally:
            self.scopes.pop()

    @staticmethod
    def handles(handler: _Handler, error: LocalSqlError) -> bool:
        if "OTHER" in handler.conditions:
            return True
        kind = "EXPRESSION_ERROR" if isinstance(error, ExpressionError) else "STATEMENT_ERROR"
        return kind in handler.conditions

    def run_handler(self, handler: _Handler, error: LocalSqlError) -> None:
        self.scopes.append(
            {
                "SQLERRM": str(error),
                "SQLCODE": _error_code(error),
                "SQLSTATE": getattr(error, "sqlstate", None),
            }
        )
        self.handling.append(error)
        try:
            self.run_statements(handler.body)
        finally:
            self.handling.pop()
            self.scopes.pop()

    def run_statements(self, statements: Sequence[_Statement]) -> None:
        for statement in statements:
            self.run_statement(statement)

    def run_statement(self, statement: _Statement) -> None:
        if isinstance(statement, _Sql):
            self.run_sql(statement)
        elif isinstance(statement, _Let):
            self.run_let(statement)
        elif isinstance(statement, _Assign):
            self.assign(statement.name, self.evaluate(statement.expression))
        elif isinstance(statement, _If):
            branch = next((body for condition, body in statement.branches if self.truth(condition)), None)
            self.run_statements(statement.otherwise if branch is None else branch)
        elif isinstance(statement, _Block):
            self.run_block(statement)
        elif isinstance(statement, _Return):
            raise _ReturnValue(None if statement.expression is None else self.evaluate(statement.expression))
        else:
            if not self.handling:
                raise ScriptingCompilationError("Snowflake Scripting: RAISE; is only allowed in an exception handler")
            raise self.handling[-1]

    def run_let(self, let: _Let) -> None:
        value = None if let.expression is None else self.evaluate(let.expression)
        self.scopes[-1][let.name] = self.typed(value, let.type)

    def run_sql(self, statement: _Sql) -> None:
        result = self.runner.run(statement.fragment.substitute(self.literal_of, bare=False))
        status = self.scopes[0]
        if statement.dml:
            status.update(
                SQLROWCOUNT=result.rows_affected,
                SQLFOUND=result.rows_affected > 0,
                SQLNOTFOUND=result.rows_affected == 0,
            )
        else:
            status.update(SQLROWCOUNT=None, SQLFOUND=None, SQLNOTFOUND=None)


def run_scripting(body: str, runner: SqlRunner, arguments: dict[str, Any] | None = None) -> Any:
    """Run a Snowflake Scripting (``LANGUAGE SQL``) body; return the value of its RETURN (``None`` without one).

    ``arguments`` are variables of the body (names are case-insensitive, as unquoted names are). An error no handler
    catches propagates as the session raised it (``RAISE;`` re-raises the very exception).
    """
    block = _Parser(body).parse()
    try:
        _Interpreter(runner, arguments or {}).run_block(block)
    except _ReturnValue as returned:
        return returned.value
    return None
