"""Tables: the BRONZE landing table and the SILVER table.

Columns are read in bulk from INFORMATION_SCHEMA.COLUMNS (one query per database) and primary keys from
SHOW PRIMARY KEYS IN DATABASE; SHOW TABLES gives kind, comment and retention. Snowflake's docs call the view's
DATETIME_PRECISION and COLLATION_NAME "not applicable": a wanted table whose rows leave either blank where the
plan compares it is read again with DESC TABLE, whose ``type`` carries both (``TIMESTAMP_NTZ(9)``,
``VARCHAR(10) COLLATE 'en-ci'``); see :meth:`TableHandler.detail_queries`. Changes Snowflake can make in place are
ALTERs; everything else re-creates the table, which loses its rows and makes its streams stale (UNSAFE).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from retail_etl.identifiers import Identifier, QualifiedName
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
from retail_etl.objects.handler import KindHandler, Row, Snapshot, name_in, show_in_database, unset
from retail_etl.render import call_macro, split_statements

MAX_VARCHAR = 16777216
MAX_BINARY = 8388608

_TYPE = re.compile(r"^([A-Z_]+)(?:\((\d+)(?:,(\d+))?\))?$")
_TEXT = {"VARCHAR", "STRING", "TEXT", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR"}
_INTEGER = {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"}
_DECIMAL = {"NUMBER", "NUMERIC", "DECIMAL"}
_FLOAT = {"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "REAL"}
_TIMESTAMP_ALIAS = {"TIMESTAMP": "TIMESTAMP_NTZ", "DATETIME": "TIMESTAMP_NTZ"}


def canonical_type(declared: str) -> str:
    """The type as INFORMATION_SCHEMA reports it back, e.g. ``STRING`` -> ``VARCHAR(16777216)``."""
    match = _TYPE.match(declared.replace(" ", "").upper())
    if not match:
        return declared.upper()
    base, first, second = match.group(1), match.group(2), match.group(3)
    if base in _TEXT:
        default = 1 if base in {"CHAR", "CHARACTER", "NCHAR"} else MAX_VARCHAR
        return f"VARCHAR({first or default})"
    if base in _INTEGER:
        return "NUMBER(38,0)"
    if base in _DECIMAL:
        return f"NUMBER({first or 38},{second or 0})"
    if base in _FLOAT:
        return "FLOAT"
    base = _TIMESTAMP_ALIAS.get(base, base)
    if base in {"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "TIME"}:
        return f"{base}({first or 9})"
    if base in {"BINARY", "VARBINARY"}:
        return f"BINARY({first or MAX_BINARY})"
    return base


def widens(before: str, after: str) -> bool:
    """True for the type changes ALTER COLUMN ... SET DATA TYPE accepts: longer VARCHAR, more NUMBER precision."""
    old, new = _TYPE.match(before), _TYPE.match(after)
    if not old or not new or old.group(1) != new.group(1):
        return False
    if old.group(1) == "VARCHAR":
        return int(new.group(2)) >= int(old.group(2))
    if old.group(1) == "NUMBER":
        return old.group(3) == new.group(3) and int(new.group(2)) >= int(old.group(2))
    return False


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Identifier
    type: str
    nullable: bool = True
    collate: str | None = None
    comment: str | None = None

    @property
    def canonical_type(self) -> str:
        return canonical_type(self.type)

    def state(self) -> dict[str, Any]:
        return {
            "name": self.name.stored,
            "type": self.canonical_type,
            "nullable": self.nullable,
            "collate": self.collate,
            "comment": self.comment or None,  # an empty comment is not rendered, so it reads back as unset
        }


class TableObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.TABLE
    columns: tuple[Column, ...]
    primary_key: tuple[Identifier, ...] = ()
    transient: bool = False
    data_retention_days: int | None = None

    @property
    def declares_collation(self) -> bool:
        return any(c.collate for c in self.columns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name.stored == name), None)

    def state(self) -> dict[str, Any]:
        return {
            "transient": self.transient,
            "columns": [c.state() for c in self.columns],
            "primary_key": [k.stored for k in self.primary_key],
            "data_retention_days": self.data_retention_days if self.data_retention_days is not None else 1,
            "comment": self.full_comment,
        }


def _columns_key(database: Identifier) -> str:
    return f"table_columns@{database.stored}"


def _keys_key(database: Identifier) -> str:
    return f"table_primary_keys@{database.stored}"


_DESC = "table_desc@"
_TIMED = {"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "TIME"}
_COLLATED = re.compile(r"^(.*?) COLLATE '((?:[^']|'')*)'$")


def _desc_key(where: tuple[str, str, str]) -> str:
    return _DESC + json.dumps(list(where))


class TableHandler(KindHandler):
    kind = Kind.TABLE
    template = "table.sql.j2"
    show_keyword = "TABLES"
    replace_is_unsafe = True
    drop_consequence = "drops the table and its rows; streams on it become stale"

    def left_to_the_account(self, obj: DesiredObject) -> frozenset[str]:
        # Without data_retention_days in the spec the table inherits the schema's, database's or account's
        # DATA_RETENTION_TIME_IN_DAYS, which SHOW TABLES reports: UNSET would change nothing, so it is no drift.
        assert isinstance(obj, TableObject)
        return frozenset({"data_retention_days"}) if obj.data_retention_days is None else frozenset()

    def queries(self, databases: Iterable[Identifier]) -> dict[str, str]:
        queries: dict[str, str] = {}
        for db in databases:
            queries[f"table@{db.stored}"] = show_in_database("TABLES", db)
            queries[_columns_key(db)] = (
                "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE,"
                " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, COLLATION_NAME,"
                f" COMMENT FROM {db.sql}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA'"
                " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
            )
            queries[_keys_key(db)] = f"SHOW PRIMARY KEYS IN DATABASE {db.sql}"
        return queries

    def detail_queries(self, snapshot: Snapshot, wanted: Wanted) -> dict[str, str]:
        """DESC TABLE for each wanted table whose INFORMATION_SCHEMA rows leave out what the spec is compared with:
        a timestamp column's precision, or, for a table whose spec declares a collation, every column's collation.
        Comparing such blanks with the spec would plan an UNSAFE re-creation on every run. Where the view answers,
        nothing more is sent."""
        by_table: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
        for key, rows in snapshot.items():
            if key.startswith("table_columns@"):
                database = key.split("@", 1)[1]
                for row in rows:
                    by_table[(database, str(row["table_schema"]), str(row["table_name"]))].append(row)
        queries = {}
        for where, rows in sorted(by_table.items()):
            ref = ObjectRef(
                self.kind,
                QualifiedName(name=Identifier(where[2]), database=Identifier(where[0]), schema=Identifier(where[1])),
            )
            if ref not in wanted:
                continue
            blank_precision = any(_is_timed(row) and unset(row.get("datetime_precision")) is None for row in rows)
            # A view that answers COLLATION_NAME shows the spec's collations on some column; none at all is a blank.
            blank_collation = ref in wanted.collated and all(unset(row.get("collation_name")) is None for row in rows)
            if blank_precision or blank_collation:
                queries[_desc_key(where)] = f"DESC TABLE {ref.name.sql}"
        return queries

    def rows(self, snapshot: Snapshot) -> list[Row]:
        return [row for key, rows in snapshot.items() if key.startswith("table@") for row in rows]

    def read(self, snapshot: Snapshot) -> list[ObservedObject]:
        columns: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        keys: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
        described: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for key, rows in snapshot.items():
            if key.startswith("table_columns@"):
                database = key.split("@", 1)[1]
                for row in rows:
                    where = (database, str(row["table_schema"]), str(row["table_name"]))
                    columns[where].append(_column_state(row))
            elif key.startswith(_DESC):
                database, schema, table = json.loads(key[len(_DESC) :])
                described[(database, schema, table)] = [_described_column(row) for row in rows]
            elif key.startswith("table_primary_keys@"):
                for row in rows:
                    where = (str(row["database_name"]), str(row["schema_name"]), str(row["table_name"]))
                    keys[where].append((int(row["key_sequence"]), str(row["column_name"])))
        observed = []
        for row in self.rows(snapshot):
            where = (str(row["database_name"]), str(row["schema_name"]), str(row["name"]))
            comment = unset(row.get("comment"))
            state = {
                "transient": str(row.get("kind", "TABLE")).upper() == "TRANSIENT",
                "columns": described.get(where) or columns.get(where, []),
                "primary_key": [name for _, name in sorted(keys.get(where, []))],
                "data_retention_days": int(row.get("retention_time") or 0),
                "comment": comment,
            }
            observed.append(ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment)))
        return observed

    def replace(self, obj: DesiredObject, observed: ObservedObject | None) -> list[str]:
        return [call_macro(self.template, "create", obj, replace=True)]

    def decide(self, desired: DesiredObject, observed: ObservedObject, changes: list[PropertyChange]) -> Verdict:
        assert isinstance(desired, TableObject)
        reasons: list[str] = []
        statements: list[str] = []
        unsafe: list[str] = []
        before = {c["name"]: c for c in observed.state["columns"]}
        before_order = [c["name"] for c in observed.state["columns"]]
        after_order = [c.name.stored for c in desired.columns]
        if observed.state["transient"] != desired.transient:
            reasons.append("a table cannot switch between TRANSIENT and permanent")
        kept = [name for name in before_order if name in after_order]
        if kept != [name for name in after_order if name in before]:
            reasons.append("columns are renamed or reordered")
        added = [name for name in after_order if name not in before]
        if added and after_order[: len(after_order) - len(added)] != [n for n in after_order if n in before]:
            reasons.append("new columns are not at the end")
        for column in desired.columns:
            old = before.get(column.name.stored)
            if old is None:
                continue
            if old["collate"] != column.collate:
                reasons.append(f"the collation of {column.name.stored} cannot be altered")
            if old["type"] != column.canonical_type and not widens(old["type"], column.canonical_type):
                reasons.append(f"{column.name.stored}: {old['type']} -> {column.canonical_type} is not a widening")
        if reasons:
            return Verdict(
                Action.REPLACE,
                Safety.UNSAFE,
                "; ".join(reasons) + ": re-creating the table drops its rows and makes its streams stale",
                self.replace(desired, observed),
            )
        dropped = [name for name in before_order if name not in after_order]
        if dropped:
            unsafe.append(f"drops column(s) {', '.join(dropped)} and their data")
        changed = {c.name for c in changes}
        column_changes = []
        for column in desired.columns:
            old = before.get(column.name.stored)
            if old is not None:
                diff = {k for k in ("type", "nullable", "comment") if old[k] != column.state()[k]}
                if diff:
                    column_changes.append((column, diff))
        text = call_macro(
            self.template,
            "alter",
            desired,
            changed,
            [desired.column(n) for n in added],
            dropped,
            column_changes,
            observed.state["primary_key"],
        )
        statements = split_statements(text)
        if unsafe:
            return Verdict(Action.ALTER, Safety.UNSAFE, "; ".join(unsafe), statements)
        return Verdict(Action.ALTER, Safety.SAFE, None, statements)


def _is_timed(row: Row) -> bool:
    return str(row["data_type"]).upper() in _TIMED


def _is_text(row: Row) -> bool:
    return str(row["data_type"]).upper() == "TEXT"


def _described_column(row: Row) -> dict[str, Any]:
    """A DESC TABLE row: ``type`` is canonical (``NUMBER(38,0)``) and ends with the collation, if any."""
    type_text, collation = str(row["type"]), None
    collated = _COLLATED.match(type_text)
    if collated:
        type_text, collation = collated.group(1), collated.group(2).replace("''", "'")
    return {
        "name": str(row["name"]),
        "type": canonical_type(type_text),
        "nullable": str(row["null?"]).upper() == "Y",
        "collate": unset(collation),
        "comment": unset(row.get("comment")),
    }


def _column_state(row: Row) -> dict[str, Any]:
    data_type = str(row["data_type"]).upper()
    if data_type == "TEXT":
        type_text = f"VARCHAR({row['character_maximum_length']})"
    elif data_type == "NUMBER":
        type_text = f"NUMBER({row['numeric_precision']},{row['numeric_scale']})"
    elif data_type in {"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "TIME"}:
        type_text = f"{data_type}({row['datetime_precision']})"
    elif data_type == "BINARY":
        type_text = f"BINARY({row['character_maximum_length']})"
    else:
        type_text = data_type
    return {
        "name": str(row["column_name"]),
        "type": type_text,
        "nullable": str(row["is_nullable"]).upper() == "YES",
        "collate": unset(row.get("collation_name")),
        "comment": unset(row.get("comment")),
    }


__all__ = ["Column", "QualifiedName", "TableHandler", "TableObject", "canonical_type"]
