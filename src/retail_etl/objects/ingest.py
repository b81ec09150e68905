"""The moving parts: the auto-ingest pipe, the append-only stream, the transform procedure and its task."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from retail_etl.identifiers import Identifier, QualifiedName, parse_echoed, sql_literal
from retail_etl.objects.base import (
    Action,
    DesiredObject,
    Kind,
    ObjectRef,
    ObservedObject,
    PropertyChange,
    Safety,
    Verdict,
    Wanted,
    is_managed,
)
from retail_etl.objects.handler import KindHandler, Row, Snapshot, collapse, flag, name_in, show_in_database, unset
from retail_etl.render import call_macro

# --- pipe ----------------------------------------------------------------------------------------------------


class CopyColumn(BaseModel):
    """One target column of the pipe's COPY: ``$<position>``, or a metadata / load-time expression."""

    model_config = ConfigDict(frozen=True)

    name: Identifier
    position: int | None = None
    expression: str | None = None  # fixed expressions only (METADATA$..., CURRENT_TIMESTAMP(6)), never from YAML


class PipeObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.PIPE
    table: QualifiedName
    stage: QualifiedName
    file_format: QualifiedName
    columns: tuple[CopyColumn, ...]
    auto_ingest: bool = True
    error_integration: QualifiedName | None = None
    on_error: str = "SKIP_FILE"

    @property
    def column_names(self) -> tuple[Identifier, ...]:
        """The names of :attr:`columns`, for the template's name list (``| idents | join``)."""
        return tuple(c.name for c in self.columns)

    def dependencies(self) -> list[ObjectRef]:
        deps = [
            *super().dependencies(),
            ObjectRef(Kind.TABLE, self.table),
            ObjectRef(Kind.STAGE, self.stage),
            ObjectRef(Kind.FILE_FORMAT, self.file_format),
        ]
        if self.error_integration is not None:
            deps.append(ObjectRef(Kind.NOTIFICATION_INTEGRATION, self.error_integration))
        return deps

    @property
    def copy_statement(self) -> str:
        return call_macro("pipe.sql.j2", "copy_statement", self)

    def state(self) -> dict[str, Any]:
        return {
            "definition": collapse(self.copy_statement),
            "auto_ingest": self.auto_ingest,
            "error_integration": self.error_integration.display if self.error_integration else None,
            "comment": self.full_comment,
            # A pipe paused by hand (PIPE_EXECUTION_PAUSED) is drift: apply resumes it.
            "paused": False,
        }


_LOAD_HISTORY = (
    "a re-created pipe loses its 14-day load history: files still in the stage are not reloaded automatically,"
    " and ALTER PIPE ... REFRESH could load them twice"
)


class PipeHandler(KindHandler):
    kind = Kind.PIPE
    template = "pipe.sql.j2"
    show_keyword = "PIPES"
    replace_on = {
        "definition": "a pipe's COPY statement cannot be altered",
        "auto_ingest": "AUTO_INGEST cannot be altered",
    }
    replace_is_unsafe = True
    replace_consequence = _LOAD_HISTORY
    drop_consequence = "auto-ingest stops and the pipe's load history is lost"

    def replace(self, obj: DesiredObject, observed: ObservedObject | None) -> list[str]:
        # Pause, re-create, resume (reference §5.5): files arriving meanwhile wait in the queue, none half-loaded.
        assert isinstance(obj, PipeObject)
        statements = []
        if observed is not None:
            statements.append(f"ALTER PIPE {obj.name.sql} SET PIPE_EXECUTION_PAUSED = TRUE")
        statements.append(call_macro(self.template, "create", obj, replace=True))
        if observed is not None:
            statements.append(f"ALTER PIPE {obj.name.sql} SET PIPE_EXECUTION_PAUSED = FALSE")
        return statements

    def detail_queries(self, snapshot: Snapshot, wanted: Wanted) -> dict[str, str]:
        """Whether each pipe the specs name or retail-etl manages is paused: SHOW PIPES does not say,
        SYSTEM$PIPE_STATUS does. One SELECT per database for all of them, each status beside the pipe's name."""
        pipes: dict[str, list[QualifiedName]] = {}
        for row in self.rows(snapshot):
            name = name_in(row)
            if ObjectRef(self.kind, name) in wanted or is_managed(unset(row.get("comment"))):
                pipes.setdefault(str(row["database_name"]), []).append(name)
        queries = {}
        for database, names in pipes.items():
            items = ", ".join(
                f"{sql_literal(name.display)} AS N{index}, SYSTEM$PIPE_STATUS({sql_literal(name.sql)}) AS S{index}"
                for index, name in enumerate(sorted(names, key=lambda n: n.display))
            )
            queries[f"{_PIPE_STATUS}{database}"] = f"SELECT {items}"
        return queries

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        integration = unset(row.get("error_integration"))
        name = name_in(row)
        state = {
            "definition": collapse(str(row.get("definition") or "")),
            "auto_ingest": bool(unset(row.get("notification_channel"))),
            "error_integration": parse_echoed(str(integration)).display if integration else None,
            "comment": comment,
            "paused": _execution_state(snapshot, name) == "PAUSED",
        }
        details = {"notification_channel": unset(row.get("notification_channel"))}
        return ObservedObject(ObjectRef(self.kind, name), state, is_managed(comment), details)


_PIPE_STATUS = "pipe-status@"


def _execution_state(snapshot: Snapshot, name: QualifiedName) -> str | None:
    """SYSTEM$PIPE_STATUS's executionState for the pipe, when its database's status query asked for it."""
    for row in snapshot.get(f"{_PIPE_STATUS}{name.database.stored if name.database else ''}", []):
        values = {str(key).lower(): value for key, value in row.items()}
        for key, value in values.items():
            if key.startswith("n") and value == name.display:
                status = values.get("s" + key[1:])
                try:
                    return str(json.loads(str(status)).get("executionState"))
                except (TypeError, ValueError):
                    return None
    return None


# --- stream --------------------------------------------------------------------------------------------------


class StreamObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.STREAM
    table: QualifiedName
    append_only: bool = True

    def dependencies(self) -> list[ObjectRef]:
        return [*super().dependencies(), ObjectRef(Kind.TABLE, self.table)]

    def state(self) -> dict[str, Any]:
        return {
            "table": self.table.display,
            "mode": "APPEND_ONLY" if self.append_only else "DEFAULT",
            "stale": False,
            "comment": self.full_comment,
        }


class StreamHandler(KindHandler):
    kind = Kind.STREAM
    template = "stream.sql.j2"
    show_keyword = "STREAMS"
    drop_consequence = "the stream's offset is lost: rows not yet consumed will not reach SILVER"

    def decide(self, desired: DesiredObject, observed: ObservedObject, changes: list[PropertyChange]) -> Verdict:
        assert isinstance(desired, StreamObject)
        changed = {c.name for c in changes}
        if changed <= {"comment"}:
            return Verdict(Action.ALTER, Safety.SAFE, None, self.alter(desired, changes, observed))
        if observed.state.get("stale"):
            return Verdict(
                Action.REPLACE,
                Safety.UNSAFE,
                "the stream is stale and cannot be read; re-creating it starts from now, so changes it missed are"
                " not in SILVER",
                [call_macro(self.template, "create", desired, replace=True, keep_offset=False)],
            )
        if "table" in changed:
            return Verdict(
                Action.REPLACE,
                Safety.UNSAFE,
                "the stream moves to another table: its offset is lost and unconsumed rows will not reach SILVER",
                [call_macro(self.template, "create", desired, replace=True, keep_offset=False)],
            )
        return Verdict(
            Action.REPLACE,
            Safety.SAFE,
            "re-created with AT(STREAM => ...) so its offset and unconsumed rows are kept",
            [call_macro(self.template, "create", desired, replace=True, keep_offset=True)],
        )

    def recreate_for_dependency(self, desired: DesiredObject, observed: ObservedObject, cause: ObjectRef) -> Verdict:
        return Verdict(
            Action.REPLACE,
            Safety.UNSAFE,
            f"{cause} is re-created, which makes the stream stale: re-created from now, rows not yet consumed are lost",
            [call_macro(self.template, "create", desired, replace=True, keep_offset=False)],
        )

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        table = unset(row.get("table_name"))
        state = {
            "table": parse_echoed(str(table)).display if table else None,
            "mode": str(row.get("mode") or "DEFAULT").upper(),
            "stale": flag(row.get("stale")),
            "comment": comment,
        }
        return ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment))


# --- procedure -----------------------------------------------------------------------------------------------


class TransformColumn(BaseModel):
    """One SILVER column of the batch and where its value comes from."""

    model_config = ConfigDict(frozen=True)

    name: Identifier
    type: str
    source: Literal["stream", "constant", "session", "hash"]
    value: str | None = None  # the constant, for source == "constant"


class TransformObject(BaseModel):
    """What the procedure does, declared: stream -> session XFM table -> deduplicated MERGE into SILVER."""

    model_config = ConfigDict(frozen=True)

    stream: QualifiedName
    xfm_table: QualifiedName
    target: QualifiedName
    columns: tuple[TransformColumn, ...]  # in SILVER order
    merge_keys: tuple[Identifier, ...]
    hash_columns: tuple[Identifier, ...]
    hash_column: Identifier
    update_ts: Identifier
    insert_ts: Identifier
    filter: str | None = None
    # The latest row of a key wins: ordered by load time, then file name, then row number (all descending).
    order_columns: tuple[Identifier, ...]

    @property
    def update_columns(self) -> tuple[TransformColumn, ...]:
        """Columns a changed row overwrites: all but the keys and the first-insert timestamp."""
        excluded = {*self.merge_keys, self.insert_ts}  # a set: "in" a tuple would call the dataclass __eq__ per name
        return tuple(c for c in self.columns if c.name not in excluded)

    @property
    def column_names(self) -> tuple[Identifier, ...]:
        """The names of :attr:`columns`, for the templates' name lists (``| idents | join``)."""
        return tuple(c.name for c in self.columns)


class ProcedureObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.PROCEDURE
    language: str = "JAVASCRIPT"
    transform: TransformObject

    def dependencies(self) -> list[ObjectRef]:
        return [
            *super().dependencies(),
            ObjectRef(Kind.STREAM, self.transform.stream),
            ObjectRef(Kind.TABLE, self.transform.target),
        ]

    @property
    def body(self) -> str:
        macro = "javascript_body" if self.language == "JAVASCRIPT" else "sql_body"
        return call_macro("procedure.sql.j2", macro, self)

    def state(self) -> dict[str, Any]:
        return {
            "signature": "()",
            "returns": "VARCHAR",
            "language": self.language,
            "body": self.body.strip(),
            "comment": self.full_comment,
        }


class ProcedureHandler(KindHandler):
    kind = Kind.PROCEDURE
    template = "procedure.sql.j2"
    show_keyword = "PROCEDURES"
    replace_on = {
        "body": "the body changes",
        "language": "the language changes",
        "returns": "the return type changes",
        "signature": "the argument list changes",
    }
    replace_consequence = "CREATE OR REPLACE ... COPY GRANTS keeps its grants; runs in progress finish on the old body"
    drop_consequence = "the task calling the procedure fails until it is dropped too"

    def decide(self, desired: DesiredObject, observed: ObservedObject, changes: list[PropertyChange]) -> Verdict:
        """A new body is SAFE, unless its MERGE matches SILVER rows on other keys: from the next run, rows that share
        a narrower key are updated together (rows that were distinct get overwritten), and a wider key inserts new
        rows beside the old ones. That loses or forks SILVER's rows, so it is UNSAFE."""
        verdict = super().decide(desired, observed, changes)
        before = _merge_condition(str(observed.state.get("body", "")))
        after = _merge_condition(str(desired.state()["body"]))
        if before is None or after is None or before == after:
            return verdict
        consequence = (
            f"the MERGE into SILVER matches rows on other keys ({before} -> {after}): from the next run, SILVER rows "
            "that share a narrower key are all overwritten by one source row, and a wider key inserts rows beside "
            "the old ones; re-key or rebuild SILVER first if its rows must follow"
        )
        return Verdict(verdict.action, Safety.UNSAFE, consequence, verdict.statements, verdict.category)

    def queries(self, databases: Any) -> dict[str, str]:
        # INFORMATION_SCHEMA.PROCEDURES carries the body, so no DESC PROCEDURE per object is needed.
        return {
            f"procedure@{db.stored}": (
                "SELECT PROCEDURE_CATALOG, PROCEDURE_SCHEMA, PROCEDURE_NAME, ARGUMENT_SIGNATURE, DATA_TYPE,"
                f" PROCEDURE_LANGUAGE, PROCEDURE_DEFINITION, COMMENT FROM {db.sql}.INFORMATION_SCHEMA.PROCEDURES"
            )
            for db in databases
        }

    def drop(self, ref: ObjectRef, observed: ObservedObject | None) -> list[str]:
        signature = observed.state.get("signature", "()") if observed else "()"
        types = ", ".join(part.split()[-1] for part in signature.strip("()").split(",") if part.strip())
        return [f"DROP PROCEDURE IF EXISTS {ref.name.sql}({types})"]

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        name = QualifiedName(
            name=Identifier(str(row["procedure_name"])),
            database=Identifier(str(row["procedure_catalog"])),
            schema=Identifier(str(row["procedure_schema"])),
        )
        state = {
            "signature": str(row.get("argument_signature") or "()"),
            "returns": _return_type(str(row.get("data_type") or "")),
            "language": str(row.get("procedure_language") or "").upper(),
            "body": str(row.get("procedure_definition") or "").strip(),
            "comment": comment,
        }
        return ObservedObject(ObjectRef(self.kind, name), state, is_managed(comment))


def _return_type(data_type: str) -> str:
    """INFORMATION_SCHEMA.PROCEDURES.DATA_TYPE as the spec writes it: Snowflake spells RETURNS VARCHAR with its
    default length, VARCHAR(16777216)."""
    upper = data_type.strip().upper()
    return "VARCHAR" if upper in ("VARCHAR(16777216)", "TEXT", "STRING") else upper


# The MERGE's join condition as the template writes it, in either body (JavaScript keeps the SQL in strings).
_MERGE_CONDITION = re.compile(r"\bON (TGT\.\S+ = XFM\.\S+(?: AND TGT\.\S+ = XFM\.\S+)*)")


def _merge_condition(body: str) -> str | None:
    """``TGT.K = XFM.K AND ...`` of the procedure's MERGE, None when the body has none (written some other way)."""
    found = _MERGE_CONDITION.search(body)
    return found.group(1).replace('\\"', '"').rstrip('",') if found else None


# --- task ----------------------------------------------------------------------------------------------------


class TaskObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.TASK
    warehouse: Identifier | None = None
    cron: str
    timezone: str
    procedure: QualifiedName
    stream: QualifiedName
    error_integration: QualifiedName | None = None
    enabled: bool = True

    def dependencies(self) -> list[ObjectRef]:
        deps = [*super().dependencies(), ObjectRef(Kind.PROCEDURE, self.procedure), ObjectRef(Kind.STREAM, self.stream)]
        if self.error_integration is not None:
            deps.append(ObjectRef(Kind.NOTIFICATION_INTEGRATION, self.error_integration))
        return deps

    @property
    def schedule(self) -> str:
        return f"USING CRON {self.cron} {self.timezone}"

    @property
    def definition(self) -> str:
        return call_macro("task.sql.j2", "definition", self)

    @property
    def condition(self) -> str:
        return call_macro("task.sql.j2", "condition", self)

    def state(self) -> dict[str, Any]:
        return {
            "warehouse": self.warehouse.stored if self.warehouse else None,
            "schedule": self.schedule,
            "definition": collapse(self.definition),
            "condition": collapse(self.condition),
            "error_integration": self.error_integration.display if self.error_integration else None,
            "state": "started" if self.enabled else "suspended",
            "comment": self.full_comment,
        }


class TaskHandler(KindHandler):
    kind = Kind.TASK
    template = "task.sql.j2"
    show_keyword = "TASKS"
    drop_consequence = "the nightly load into SILVER stops"

    def create(self, obj: DesiredObject) -> list[str]:
        # Tasks are created suspended; resume them only when the spec says enabled.
        assert isinstance(obj, TaskObject)
        statements = [call_macro(self.template, "create", obj)]
        if obj.enabled:
            statements.append(f"ALTER TASK {obj.name.sql} RESUME")
        return statements

    def alter(self, obj: DesiredObject, changes: list[PropertyChange], observed: ObservedObject) -> list[str]:
        # A task must be suspended before it is modified (reference §8.3), then resumed if it should run.
        assert isinstance(obj, TaskObject)
        changed = {c.name for c in changes} - {"state"}
        running = observed.state.get("state") == "started"
        statements = []
        if changed and running:
            statements.append(f"ALTER TASK {obj.name.sql} SUSPEND")
        if changed:
            statements.extend(super().alter(obj, [c for c in changes if c.name != "state"], observed))
        if obj.enabled and (changed or not running):
            statements.append(f"ALTER TASK {obj.name.sql} RESUME")
        if not obj.enabled and running and not changed:
            statements.append(f"ALTER TASK {obj.name.sql} SUSPEND")
        return statements

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        integration = unset(row.get("error_integration"))
        warehouse = unset(row.get("warehouse"))
        state = {
            "warehouse": str(warehouse) if warehouse else None,
            "schedule": unset(row.get("schedule")),
            "definition": collapse(unset(row.get("definition"))),
            "condition": collapse(unset(row.get("condition"))),
            "error_integration": parse_echoed(str(integration)).display if integration else None,
            "state": str(row.get("state") or "suspended").lower(),
            "comment": comment,
        }
        return ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment))


# --- view ----------------------------------------------------------------------------------------------------


class ViewObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.VIEW
    source: QualifiedName
    columns: tuple[Identifier, ...]
    where: str | None = None
    secure: bool = False

    def dependencies(self) -> list[ObjectRef]:
        return [*super().dependencies(), ObjectRef(Kind.TABLE, self.source)]

    @property
    def select(self) -> str:
        return call_macro("view.sql.j2", "select", self)

    def state(self) -> dict[str, Any]:
        return {"body": collapse(self.select), "secure": self.secure, "comment": self.full_comment}


def view_body(create_statement: str) -> str:
    """The SELECT of an echoed CREATE VIEW: everything after the first top-level ``AS`` outside quotes."""
    text = create_statement
    i, depth, quote = 0, 0, ""
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 2
                    continue
                quote = ""
            elif char == "\\" and quote == "'":
                i += 2
                continue
        elif char in ("'", '"'):
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif (
            depth == 0
            and text[i : i + 2].upper() == "AS"
            and (i == 0 or text[i - 1].isspace())
            and (i + 2 == len(text) or text[i + 2].isspace())
        ):
            return text[i + 2 :].strip()
        i += 1
    return text


class ViewHandler(KindHandler):
    kind = Kind.VIEW
    template = "view.sql.j2"
    show_keyword = "VIEWS"
    replace_on = {"body": "a view's SELECT cannot be altered"}
    replace_consequence = "CREATE OR REPLACE VIEW ... COPY GRANTS keeps its grants; a view holds no data"
    drop_consequence = "queries and dbt models reading the view fail"

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        text = str(unset(row.get("text")) or "")
        state = {"body": collapse(view_body(text)), "secure": flag(row.get("is_secure")), "comment": comment}
        return ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment))


__all__ = ["show_in_database"]
