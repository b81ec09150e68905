"""One statement in, result rows out: parse the leading keywords and hand over to the statement's module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from retail_etl.emulator import ddl_account, ddl_ingest, ddl_tables, queries
from retail_etl.emulator.catalog import Catalog, ObjectName
from retail_etl.emulator.context import (
    INFORMATION_SCHEMA,
    PUBLIC,
    STATEMENT_OK,
    CreateMode,
    Env,
    Row,
    SessionContext,
    status,
)
from retail_etl.emulator.errors import does_not_exist
from retail_etl.emulator.parser import Parser

Creator = Callable[[Env, CreateMode], list[Row]]
Alterer = Callable[[Env, bool], list[Row]]

# Object kinds as written after CREATE / ALTER / DROP, with the modifiers CREATE accepts for each.
_CREATE: dict[str, tuple[Creator, frozenset[str]]] = {
    "DATABASE": (ddl_account.create_database, frozenset({"TRANSIENT"})),
    "SCHEMA": (ddl_account.create_schema, frozenset({"TRANSIENT"})),
    "STORAGE INTEGRATION": (ddl_account.create_storage_integration, frozenset()),
    "NOTIFICATION INTEGRATION": (ddl_account.create_notification_integration, frozenset()),
    "FILE FORMAT": (ddl_tables.create_file_format, frozenset({"TEMPORARY"})),
    "STAGE": (ddl_tables.create_stage, frozenset({"TEMPORARY"})),
    "TABLE": (ddl_tables.create_table, frozenset({"TRANSIENT", "TEMPORARY"})),
    "PIPE": (ddl_ingest.create_pipe, frozenset()),
    "STREAM": (ddl_ingest.create_stream, frozenset()),
    "PROCEDURE": (ddl_ingest.create_procedure, frozenset({"SECURE", "TEMPORARY"})),
    "TASK": (ddl_ingest.create_task, frozenset()),
}
_ALTER: dict[str, Alterer] = {
    "DATABASE": ddl_account.alter_database,
    "SCHEMA": ddl_account.alter_schema,
    "FILE FORMAT": ddl_tables.alter_file_format,
    "STAGE": ddl_tables.alter_stage,
    "TABLE": ddl_tables.alter_table,
    "VIEW": ddl_tables.alter_view,
    "PIPE": ddl_ingest.alter_pipe,
    "STREAM": ddl_ingest.alter_stream,
    "PROCEDURE": ddl_ingest.alter_procedure,
    "TASK": ddl_ingest.alter_task,
}
# Schema-level kinds and the schema collection each lives in.
_COLLECTIONS = {
    "FILE FORMAT": "file_formats",
    "STAGE": "stages",
    "TABLE": "tables",
    "VIEW": "views",
    "PIPE": "pipes",
    "STREAM": "streams",
    "TASK": "tasks",
}


_MODIFIERS = ("SECURE", "TRANSIENT", "TEMPORARY", "TEMP", "LOCAL", "GLOBAL", "VOLATILE", "RECURSIVE")


def _object_kind(p: Parser) -> str:
    """The object type keyword(s): ``TABLE``, ``FILE FORMAT``, ``STORAGE INTEGRATION``, ..."""
    first = p.expect_identifier()
    if first in ("FILE", "STORAGE", "NOTIFICATION") and p.peek().is_name:
        second = p.expect_keyword("FORMAT" if first == "FILE" else "INTEGRATION")
        return f"{first} {second}"
    return first


def execute(catalog: Catalog, text: str, context: SessionContext, now: datetime) -> list[Row]:
    parser = Parser(text)
    env = Env(catalog, context, parser, now)
    first = parser.peek()
    verb = parser.accept_keyword("CREATE", "ALTER", "DROP", "SHOW", "DESC", "DESCRIBE", "USE", "EXECUTE")
    if verb == "CREATE":
        return _create(env, first.start)
    if verb == "ALTER":
        return _alter(env)
    if verb == "DROP":
        return _drop(env)
    if verb == "SHOW":
        return queries.run_show(env)
    if verb in ("DESC", "DESCRIBE"):
        return queries.run_describe(env)
    if verb == "USE":
        return _use(env)
    if verb == "EXECUTE":
        parser.expect_keyword("TASK")
        return ddl_ingest.execute_task(env)
    if parser.at_keyword("SELECT"):
        return queries.run_select(env)
    raise parser.error()


def _create(env: Env, statement_start: int) -> list[Row]:
    p = env.parser
    or_replace = p.accept_keywords("OR", "REPLACE")
    modifiers: set[str] = set()
    while word := p.accept_keyword(*_MODIFIERS):
        if word in ("TEMP", "VOLATILE"):
            word = "TEMPORARY"
        if word not in ("LOCAL", "GLOBAL"):
            modifiers.add(word)
    kind_token = p.peek()
    kind = _object_kind(p)
    if_token = p.peek()
    if_not_exists = p.accept_keywords("IF", "NOT", "EXISTS")
    if or_replace and if_not_exists:
        # OR REPLACE and IF NOT EXISTS are mutually exclusive (reference §0.3).
        raise p.error(if_token)
    mode = CreateMode(or_replace, if_not_exists, frozenset(modifiers))
    if kind == "VIEW":
        if modifiers - {"SECURE", "RECURSIVE", "TEMPORARY"}:
            raise p.error(kind_token)
        return ddl_tables.create_view(env, mode, statement_start)
    if kind not in _CREATE:
        raise p.error(kind_token)
    creator, allowed = _CREATE[kind]
    if modifiers - allowed:
        raise p.error(kind_token)
    return creator(env, mode)


def _alter(env: Env) -> list[Row]:
    p = env.parser
    if p.accept_keyword("SESSION"):
        return _alter_session(env)
    kind_token = p.peek()
    kind = _object_kind(p)
    if_exists = p.accept_keywords("IF", "EXISTS")
    if kind == "INTEGRATION" or kind.endswith(" INTEGRATION"):
        category = None if kind == "INTEGRATION" else kind.split()[0]
        return ddl_account.alter_integration(env, category, if_exists)
    if kind not in _ALTER:
        raise p.error(kind_token)
    return _ALTER[kind](env, if_exists)


def _alter_session(env: Env) -> list[Row]:
    """ALTER SESSION SET / UNSET QUERY_TAG: the only session parameter modelled."""
    p = env.parser
    if p.accept_keyword("SET"):
        p.expect_keyword("QUERY_TAG")
        p.expect_punct("=")
        env.context.query_tag = p.expect_string()
    else:
        p.expect_keywords("UNSET", "QUERY_TAG")
        env.context.query_tag = None
    p.expect_end()
    return status(STATEMENT_OK)


def _use(env: Env) -> list[Row]:
    """USE [DATABASE] db | USE SCHEMA [db.]schema."""
    p = env.parser
    if p.accept_keyword("SCHEMA"):
        database, schema = env.qualify_schema(p.expect_name(), "USE SCHEMA")
        p.expect_end()
        if schema != INFORMATION_SCHEMA:
            env.schema(database, schema)
        env.context.database, env.context.schema = database, schema
        return status(STATEMENT_OK)
    p.accept_keyword("DATABASE")
    raw = p.expect_name()
    p.expect_end()
    if len(raw.parts) == 2:
        env.schema(*raw.parts)
        env.context.database, env.context.schema = raw.parts
    else:
        found = env.database(env.single(raw, p))
        env.context.database, env.context.schema = found.name, PUBLIC if PUBLIC in found.schemas else None
    return status(STATEMENT_OK)


def _drop(env: Env) -> list[Row]:
    p = env.parser
    kind_token = p.peek()
    kind = _object_kind(p)
    if_exists = p.accept_keywords("IF", "EXISTS")
    if kind == "PROCEDURE":
        name, key = ddl_ingest.procedure_reference(env, "DROP PROCEDURE")
        p.expect_end()
        procedure = env.find_procedure(name, key)
        if procedure is None:
            if if_exists:
                return _already_dropped(name.name)
            env.require_procedure(name, key)
        del env.schema_of(name).procedures[key]
        return _dropped(name.name)
    raw = p.expect_name()
    p.accept_keyword("CASCADE", "RESTRICT")
    p.expect_end()
    if kind == "DATABASE":
        database_name = env.single(raw, p)
        if database_name not in env.catalog.databases:
            return _missing(if_exists, database_name)
        del env.catalog.databases[database_name]
        return _dropped(database_name)
    if kind == "SCHEMA":
        database, schema = env.qualify_schema(raw, "DROP SCHEMA")
        schemas = env.database(database).schemas
        if schema not in schemas:
            return _missing(if_exists, f"{database}.{schema}")
        del schemas[schema]
        return _dropped(schema)
    if kind == "INTEGRATION" or kind.endswith(" INTEGRATION"):
        return _drop_integration(env, kind, env.single(raw, p), if_exists)
    if kind not in _COLLECTIONS:
        raise p.error(kind_token)
    object_name = env.qualify(raw, f"DROP {kind}")
    collection = getattr(env.schema_of(object_name), _COLLECTIONS[kind])
    if object_name.name not in collection:
        return _missing(if_exists, object_name.display, object_name.name)
    del collection[object_name.name]
    if kind == "TASK":
        _sever_task_links(env, object_name)
    return _dropped(object_name.name)


def _drop_integration(env: Env, kind: str, name: str, if_exists: bool) -> list[Row]:
    catalog = env.catalog
    if kind != "NOTIFICATION INTEGRATION" and name in catalog.storage_integrations:
        del catalog.storage_integrations[name]
    elif kind != "STORAGE INTEGRATION" and name in catalog.notification_integrations:
        del catalog.notification_integrations[name]
    else:
        return _missing(if_exists, name)
    return _dropped(name)


def _sever_task_links(env: Env, dropped: ObjectName) -> None:
    """DROP TASK removes it from its children's predecessors (reference §8.4)."""
    for database in env.catalog.databases.values():
        for schema in database.schemas.values():
            for task in schema.tasks.values():
                task.predecessors = [p for p in task.predecessors if p != dropped]


def _missing(if_exists: bool, display: str, short: str | None = None) -> list[Row]:
    if not if_exists:
        raise does_not_exist(display)
    return _already_dropped(short or display)


def _already_dropped(name: str) -> list[Row]:
    return status(f"Drop statement executed successfully ({name} already dropped).")


def _dropped(name: str) -> list[Row]:
    return status(f"{name} successfully dropped.")
