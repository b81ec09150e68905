"""Databases and schemas: the containers. They are created if missing and never replaced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from retail_etl.identifiers import Identifier, QualifiedName, sql_literal
from retail_etl.objects.base import DesiredObject, Kind, ObjectRef, ObservedObject, is_managed
from retail_etl.objects.handler import KindHandler, Row, Snapshot, name_in, unset


class DatabaseObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.DATABASE

    def dependencies(self) -> list[ObjectRef]:
        return []


class SchemaObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.SCHEMA

    def dependencies(self) -> list[ObjectRef]:
        assert self.name.database is not None
        return [ObjectRef(Kind.DATABASE, QualifiedName(name=self.name.database))]


class DatabaseHandler(KindHandler):
    kind = Kind.DATABASE
    template = "database.sql.j2"
    show_keyword = "DATABASES"
    drop_consequence = "drops the database and every object and row in it"

    def queries(self, databases: Iterable[Identifier]) -> dict[str, str]:
        # LIKE is a case-insensitive pattern where '_' is a wildcard: rows are filtered on the exact name later.
        return {f"database@{db.stored}": f"SHOW DATABASES LIKE {sql_literal(db.stored)}" for db in databases}

    def read(self, snapshot: Snapshot) -> list[ObservedObject]:
        wanted = {key.split("@", 1)[1] for key in snapshot if key.startswith("database@")}
        return [self.read_row(row, snapshot) for row in self.rows(snapshot) if row["name"] in wanted]

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        ref = ObjectRef(Kind.DATABASE, QualifiedName(name=Identifier(str(row["name"]))))
        return ObservedObject(ref, {"comment": comment}, is_managed(comment))


class SchemaHandler(KindHandler):
    kind = Kind.SCHEMA
    template = "schema.sql.j2"
    show_keyword = "SCHEMAS"
    drop_consequence = "drops the schema and every object and row in it"

    def read(self, snapshot: Snapshot) -> list[ObservedObject]:
        return [
            self.read_row(row, snapshot)
            for row in self.rows(snapshot)
            if row["name"] not in ("INFORMATION_SCHEMA", "PUBLIC")
        ]

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment: Any = unset(row.get("comment"))
        name = QualifiedName(name=Identifier(str(row["name"])), database=Identifier(str(row["database_name"])))
        return ObservedObject(ObjectRef(Kind.SCHEMA, name), {"comment": comment}, is_managed(comment))


__all__ = ["DatabaseHandler", "DatabaseObject", "SchemaHandler", "SchemaObject", "name_in"]
