"""What a statement runs against: the catalog, the session's current database and schema, and name lookups that
fail the way Snowflake fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retail_etl.emulator.catalog import (
    Catalog,
    Database,
    NotificationIntegration,
    ObjectName,
    Procedure,
    Schema,
    StorageIntegration,
    Table,
)
from retail_etl.emulator.errors import already_exists, does_not_exist, no_current
from retail_etl.emulator.parser import Parser, RawName, parse_name_text

Row = dict[str, Any]
INFORMATION_SCHEMA = "INFORMATION_SCHEMA"
PUBLIC = "PUBLIC"


@dataclass
class SessionContext:
    """Per-session state: the current database and schema (CREATE DATABASE/SCHEMA and USE set them)."""

    database: str | None = None
    schema: str | None = None
    query_tag: str | None = None


@dataclass(frozen=True)
class CreateMode:
    or_replace: bool = False
    if_not_exists: bool = False
    modifiers: frozenset[str] = frozenset()  # SECURE, TRANSIENT, TEMPORARY, RECURSIVE as written


def status(message: str) -> list[Row]:
    """DDL answers with one row whose ``status`` column says what happened."""
    return [{"status": message}]


STATEMENT_OK = "Statement executed successfully."


@dataclass
class Env:
    catalog: Catalog
    context: SessionContext
    parser: Parser
    now: datetime

    # --- names -----------------------------------------------------------------------------------------------
    def qualify(self, raw: RawName, operation: str) -> ObjectName:
        """A schema-level name, completed from the current database and schema as Snowflake does."""
        parts = raw.parts
        if len(parts) == 3:
            return ObjectName(*parts)
        database = self.context.database
        if database is None:
            raise no_current("database", operation)
        if len(parts) == 2:
            return ObjectName(database, parts[0], parts[1])
        if self.context.schema is None:
            raise no_current("schema", operation)
        return ObjectName(database, self.context.schema, parts[0])

    def qualify_text(self, text: str, operation: str) -> ObjectName:
        """A name written inside a string literal (FORMAT_NAME = '...', SYSTEM$...('...'), STREAM => '...')."""
        return self.qualify(parse_name_text(text), operation)

    def qualify_schema(self, raw: RawName, operation: str) -> tuple[str, str]:
        """A schema name (``db.schema`` or ``schema`` in the current database)."""
        if len(raw.parts) > 2:
            raise self.parser.error()
        if len(raw.parts) == 2:
            return raw.parts[0], raw.parts[1]
        if self.context.database is None:
            raise no_current("database", operation)
        return self.context.database, raw.parts[0]

    @staticmethod
    def single(raw: RawName, parser: Parser) -> str:
        """An account-level name (database, integration): one part only."""
        if len(raw.parts) != 1:
            raise parser.error()
        return raw.parts[0]

    # --- lookups ---------------------------------------------------------------------------------------------
    def database(self, name: str) -> Database:
        database = self.catalog.databases.get(name)
        if database is None:
            raise does_not_exist(name)
        return database

    def schema(self, database: str, schema: str) -> Schema:
        found = self.database(database).schemas.get(schema)
        if found is None:
            raise does_not_exist(f"{database}.{schema}")
        return found

    def schema_of(self, name: ObjectName) -> Schema:
        return self.schema(name.database, name.schema)

    def find(self, name: ObjectName, collection: str) -> Any:
        """The object called ``name`` in one of a schema's collections (``tables``, ``pipes``, ...), or None."""
        database = self.catalog.databases.get(name.database)
        schema = database.schemas.get(name.schema) if database else None
        return getattr(schema, collection).get(name.name) if schema else None

    def require(self, name: ObjectName, collection: str) -> Any:
        found = self.find(name, collection)
        if found is None:
            self.schema_of(name)  # a missing database or schema is reported first, as Snowflake does
            raise does_not_exist(name.display)
        return found

    def find_procedure(self, name: ObjectName, key: str) -> Procedure | None:
        """One overload: procedures are stored by signature key (``NAME(TYPE,...)``), not by name."""
        database = self.catalog.databases.get(name.database)
        schema = database.schemas.get(name.schema) if database else None
        return schema.procedures.get(key) if schema else None

    def require_procedure(self, name: ObjectName, key: str) -> Procedure:
        procedure = self.find_procedure(name, key)
        if procedure is None:
            self.schema_of(name)
            raise does_not_exist(f"{name.database}.{name.schema}.{key}")
        return procedure

    def table(self, name: ObjectName) -> Table:
        table: Table = self.require(name, "tables")
        return table

    def storage_integration(self, name: str) -> StorageIntegration:
        integration = self.catalog.storage_integrations.get(name)
        if integration is None:
            raise does_not_exist(name)
        return integration

    def notification_integration(self, name: str) -> NotificationIntegration:
        integration = self.catalog.notification_integrations.get(name)
        if integration is None:
            raise does_not_exist(name)
        return integration

    # --- creation --------------------------------------------------------------------------------------------
    def check_create(self, existing: object | None, name: str, mode: CreateMode) -> list[Row] | None:
        """The answer when CREATE must not proceed (IF NOT EXISTS on an existing object), or None to go on.

        Raises "already exists" for a plain CREATE of an existing name.
        """
        if existing is None:
            return None
        if mode.if_not_exists:
            return status(f"{name} already exists, statement succeeded.")
        if not mode.or_replace:
            raise already_exists(name)
        return None

    def base(self, name: str, comment: str | None = None) -> dict[str, Any]:
        """The fields every new object starts with."""
        return {"name": name, "id": self.catalog.new_id(), "created_on": self.now, "comment": comment}


def created(label: str, name: str) -> list[Row]:
    return status(f"{label} {name} successfully created.")
