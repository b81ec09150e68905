"""The per-kind behaviour the planner and the observers rely on, with the defaults most kinds share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from retail_etl.identifiers import Identifier, QualifiedName, sql_literal
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
from retail_etl.render import call_macro, split_statements

Row = Mapping[str, Any]
# Results of the observation queries, by query key; each a list of rows with lower-case column names.
Snapshot = Mapping[str, Sequence[Row]]


def unset(value: Any) -> Any:
    """SHOW echoes an unset property as NULL, '' or the string 'null' (reference §16): all mean None."""
    if value is None:
        return None
    # Exact matches only: a comment of ' ' is a real value, echoed as it was set.
    if isinstance(value, str) and value in ("", "null", "NULL"):
        return None
    return value


def flag(value: Any) -> bool:
    """Snowflake booleans come back as true/false, Y/N, ON/OFF or real booleans."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "y", "yes", "on", "1")


_WHITESPACE_OR_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|\s+", re.DOTALL)


def collapse(text: str | None) -> str | None:
    """Whitespace collapsed, trailing ';' stripped: how verbatim echoed definitions are compared (§5.3)."""
    if text is None:
        return None
    normalized = text.replace("\r\n", "\n").strip()
    while normalized.endswith(";"):
        normalized = normalized[:-1].rstrip()
    # Inside a string literal or a quoted name whitespace is data: 'a b' and 'a  b' differ.
    return _WHITESPACE_OR_QUOTED.sub(lambda m: m.group(0) if m.group(0)[0] in "'\"" else " ", normalized)


def name_in(row: Row, *, database: str = "database_name", schema: str = "schema_name") -> QualifiedName:
    """The qualified name of a SHOW row, from its stored (already canonical) name parts."""
    return QualifiedName(
        name=Identifier(str(row["name"])),
        database=Identifier(str(row[database])) if row.get(database) else None,
        schema=Identifier(str(row[schema])) if row.get(schema) else None,
    )


def show_in_database(keyword: str, database: Identifier) -> str:
    return f"SHOW {keyword} IN DATABASE {database.sql}"


class KindHandler:
    """Default rules: CREATE from the template, ALTER via the template's ``alter`` macro, DROP IF EXISTS.

    ``replace_on`` names the properties Snowflake cannot change in place, with what replacing costs; a replacement
    is UNSAFE when ``replace_is_unsafe``.
    """

    kind: ClassVar[Kind]
    template: ClassVar[str]
    show_keyword: ClassVar[str]  # e.g. "TABLES" for SHOW TABLES IN DATABASE
    replace_on: ClassVar[Mapping[str, str]] = {}
    replace_is_unsafe: ClassVar[bool] = False
    replace_consequence: ClassVar[str] = ""
    drop_consequence: ClassVar[str] = "the object is dropped"
    # When these properties change, objects that depend on this one must be re-created too (e.g. a stage's URL
    # and its auto-ingest pipes).
    cascades_on: ClassVar[frozenset[str]] = frozenset()

    # --- rendering -------------------------------------------------------------------------------------------
    def create(self, obj: DesiredObject) -> list[str]:
        return [call_macro(self.template, "create", obj)]

    def replace(self, obj: DesiredObject, observed: ObservedObject | None) -> list[str]:
        return [call_macro(self.template, "create", obj, replace=True)]

    def left_to_the_account(self, obj: DesiredObject) -> frozenset[str]:
        """Properties the spec does not set, whose value the account decides (an inherited parameter): a
        difference in them is not drift. None by default."""
        return frozenset()

    def alter(self, obj: DesiredObject, changes: list[PropertyChange], observed: ObservedObject) -> list[str]:
        changed = {c.name for c in changes}
        text = call_macro(self.template, "alter", obj, changed)
        return split_statements(text)

    def drop(self, ref: ObjectRef, observed: ObservedObject | None) -> list[str]:
        return [f"DROP {ref.kind.sql_keyword} IF EXISTS {ref.name.sql}"]

    # --- planning --------------------------------------------------------------------------------------------
    def decide(self, desired: DesiredObject, observed: ObservedObject, changes: list[PropertyChange]) -> Verdict:
        forcing = [c.name for c in changes if c.name in self.replace_on]
        if forcing:
            reasons = "; ".join(self.replace_on[name] for name in forcing)
            consequence = f"{reasons} — {self.replace_consequence}" if self.replace_consequence else reasons
            return Verdict(
                Action.REPLACE,
                Safety.UNSAFE if self.replace_is_unsafe else Safety.SAFE,
                consequence,
                self.replace(desired, observed),
            )
        return Verdict(Action.ALTER, Safety.SAFE, None, self.alter(desired, changes, observed))

    def recreate_for_dependency(self, desired: DesiredObject, observed: ObservedObject, cause: ObjectRef) -> Verdict:
        """Re-create because an object this one depends on is re-created or moved (e.g. a stage's new URL)."""
        consequence = f"re-created because {cause} is re-created or moved"
        if self.replace_consequence:
            consequence += f"; {self.replace_consequence}"
        return Verdict(
            Action.REPLACE,
            Safety.UNSAFE if self.replace_is_unsafe else Safety.SAFE,
            consequence,
            self.replace(desired, observed),
        )

    # --- observing -------------------------------------------------------------------------------------------
    def queries(self, databases: Iterable[Identifier]) -> dict[str, str]:
        """Bulk queries: one per kind per database (account-level kinds override)."""
        return {f"{self.kind.value}@{db.stored}": show_in_database(self.show_keyword, db) for db in databases}

    def detail_queries(self, snapshot: Snapshot, wanted: Wanted) -> dict[str, str]:
        """Second-round queries for what SHOW cannot give (none by default)."""
        return {}

    def rows(self, snapshot: Snapshot) -> list[Row]:
        prefix = f"{self.kind.value}@"
        return [row for key, rows in snapshot.items() if key.startswith(prefix) for row in rows]

    def read(self, snapshot: Snapshot) -> list[ObservedObject]:
        return [self.read_row(row, snapshot) for row in self.rows(snapshot)]

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        return ObservedObject(ObjectRef(self.kind, name_in(row)), {"comment": comment}, is_managed(comment))


def in_list(values: Iterable[str]) -> str:
    return ", ".join(sql_literal(v) for v in values)
