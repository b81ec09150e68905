"""CREATE / ALTER for the containers (database, schema) and the account-level integrations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retail_etl.emulator import parser as read
from retail_etl.emulator.catalog import Database, NotificationIntegration, Schema, StorageIntegration
from retail_etl.emulator.context import (
    INFORMATION_SCHEMA,
    PUBLIC,
    STATEMENT_OK,
    CreateMode,
    Env,
    Row,
    created,
    status,
)
from retail_etl.emulator.errors import already_exists, missing_options
from retail_etl.emulator.parser import Parser

Reader = Callable[[Parser], Any]

_CONTAINER_PROPERTIES: dict[str, Reader] = {
    "DATA_RETENTION_TIME_IN_DAYS": read.integer,
    "MAX_DATA_EXTENSION_TIME_IN_DAYS": read.integer,
    "DEFAULT_DDL_COLLATION": read.string,
    "COMMENT": read.string,
}


def one_of(*words: str) -> Reader:
    """A reader for an enumerated value (bare or quoted); anything else is a syntax error at the value."""

    def reader(parser: Parser) -> str:
        token = parser.peek()
        value = parser.expect_word()
        if value not in words:
            raise parser.error(token)
        return value

    return reader


def _new_schema(env: Env, name: str, comment: str | None = None) -> Schema:
    return Schema(**env.base(name, comment))


# --- database ------------------------------------------------------------------------------------------------


def create_database(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.single(p.expect_name(), p)
    props = p.properties(_CONTAINER_PROPERTIES)
    p.expect_end()
    answer = env.check_create(env.catalog.databases.get(name), name, mode)
    if answer is not None:
        return answer
    database = Database(
        **env.base(name, props.get("COMMENT")),
        transient="TRANSIENT" in mode.modifiers,
        retention_time=props.get("DATA_RETENTION_TIME_IN_DAYS", 1),
    )
    database.schemas[PUBLIC] = _new_schema(env, PUBLIC)
    env.catalog.databases[name] = database
    # Creating a database makes it (and its PUBLIC schema) current for the session, as in Snowflake.
    env.context.database, env.context.schema = name, PUBLIC
    return created("Database", name)


def alter_database(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    name = env.single(p.expect_name(), p)
    action = p.expect_keyword("SET", "UNSET")
    changes = _container_changes(p, action)
    p.expect_end()
    database = env.catalog.databases.get(name)
    if database is None and if_exists:
        return status(STATEMENT_OK)
    database = env.database(name)
    for key, value in changes.items():
        if key == "COMMENT":
            database.comment = value
        elif key == "DATA_RETENTION_TIME_IN_DAYS":
            database.retention_time = 1 if value is None else value
    return status(STATEMENT_OK)


def _container_changes(p: Parser, action: str) -> dict[str, Any]:
    """``SET k = v ...`` or ``UNSET k, ...`` (unset values are None)."""
    if action == "SET":
        changes = p.properties(_CONTAINER_PROPERTIES)
        if not changes:
            raise p.error()
        return changes
    names = [p.expect_keyword(*_CONTAINER_PROPERTIES)]
    while p.accept_punct(","):
        names.append(p.expect_keyword(*_CONTAINER_PROPERTIES))
    return dict.fromkeys(names)


# --- schema --------------------------------------------------------------------------------------------------


def create_schema(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    raw = p.expect_name()
    managed = p.accept_keywords("WITH", "MANAGED", "ACCESS")
    props = p.properties(_CONTAINER_PROPERTIES)
    p.expect_end()
    database_name, name = env.qualify_schema(raw, "CREATE SCHEMA")
    database = env.database(database_name)
    if name == INFORMATION_SCHEMA:
        raise already_exists(name)
    answer = env.check_create(database.schemas.get(name), name, mode)
    if answer is not None:
        return answer
    schema = _new_schema(env, name, props.get("COMMENT"))
    schema.transient = "TRANSIENT" in mode.modifiers or database.transient
    schema.managed_access = managed
    schema.retention_time = props.get("DATA_RETENTION_TIME_IN_DAYS")
    database.schemas[name] = schema
    env.context.database, env.context.schema = database_name, name
    return created("Schema", name)


def alter_schema(env: Env, if_exists: bool) -> list[Row]:
    p = env.parser
    database_name, name = env.qualify_schema(p.expect_name(), "ALTER SCHEMA")
    action = p.expect_keyword("SET", "UNSET")
    changes = _container_changes(p, action)
    p.expect_end()
    database = env.catalog.databases.get(database_name)
    if if_exists and (database is None or name not in database.schemas):
        return status(STATEMENT_OK)
    schema = env.schema(database_name, name)
    for key, value in changes.items():
        if key == "COMMENT":
            schema.comment = value
        elif key == "DATA_RETENTION_TIME_IN_DAYS":
            schema.retention_time = value
    return status(STATEMENT_OK)


# --- integrations --------------------------------------------------------------------------------------------

_S3_PROVIDERS = ("S3", "S3CHINA", "S3GOV")

_STORAGE_SETTABLE: dict[str, Reader] = {
    "ENABLED": read.boolean,
    "STORAGE_AWS_ROLE_ARN": read.string,
    "STORAGE_AWS_EXTERNAL_ID": read.string,
    "STORAGE_AWS_OBJECT_ACL": read.string,
    "USE_PRIVATELINK_ENDPOINT": read.boolean,
    "STORAGE_ALLOWED_LOCATIONS": read.string_list,
    "STORAGE_BLOCKED_LOCATIONS": read.string_list,
    "COMMENT": read.string,
}
_STORAGE_CREATE: dict[str, Reader] = {
    "TYPE": one_of("EXTERNAL_STAGE"),
    "STORAGE_PROVIDER": one_of(*_S3_PROVIDERS),
    **_STORAGE_SETTABLE,
}
_STORAGE_REQUIRED = ("TYPE", "STORAGE_PROVIDER", "STORAGE_AWS_ROLE_ARN", "ENABLED", "STORAGE_ALLOWED_LOCATIONS")
_STORAGE_UNSETTABLE = (
    "ENABLED",
    "STORAGE_BLOCKED_LOCATIONS",
    "COMMENT",
    "STORAGE_AWS_EXTERNAL_ID",
    "STORAGE_AWS_OBJECT_ACL",
)

_NOTIFICATION_SETTABLE: dict[str, Reader] = {
    "ENABLED": read.boolean,
    "AWS_SNS_TOPIC_ARN": read.string,
    "AWS_SNS_ROLE_ARN": read.string,
    "COMMENT": read.string,
}
_NOTIFICATION_CREATE: dict[str, Reader] = {
    "TYPE": one_of("QUEUE"),
    "DIRECTION": one_of("OUTBOUND"),
    "NOTIFICATION_PROVIDER": one_of("AWS_SNS"),
    **_NOTIFICATION_SETTABLE,
}
_NOTIFICATION_REQUIRED = (
    "ENABLED",
    "TYPE",
    "DIRECTION",
    "NOTIFICATION_PROVIDER",
    "AWS_SNS_TOPIC_ARN",
    "AWS_SNS_ROLE_ARN",
)
_NOTIFICATION_UNSETTABLE = ("ENABLED", "COMMENT")


def _require(props: dict[str, Any], required: tuple[str, ...]) -> None:
    missing = [key for key in required if key not in props]
    if missing:
        raise missing_options(missing)


def _replace_integration(env: Env, name: str, mode: CreateMode) -> list[Row] | None:
    existing = env.catalog.storage_integrations.get(name) or env.catalog.notification_integrations.get(name)
    answer = env.check_create(existing, name, mode)
    if answer is None:
        env.catalog.storage_integrations.pop(name, None)
        env.catalog.notification_integrations.pop(name, None)
    return answer


def create_storage_integration(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.single(p.expect_name(), p)
    props = p.properties(_STORAGE_CREATE)
    p.expect_end()
    _require(props, _STORAGE_REQUIRED)
    answer = _replace_integration(env, name, mode)
    if answer is not None:
        return answer
    fields = env.base(name, props.get("COMMENT"))
    integration = StorageIntegration(
        **fields,
        enabled=props["ENABLED"],
        provider=props["STORAGE_PROVIDER"],
        role_arn=props["STORAGE_AWS_ROLE_ARN"],
        allowed_locations=props["STORAGE_ALLOWED_LOCATIONS"],
        blocked_locations=props.get("STORAGE_BLOCKED_LOCATIONS", []),
        external_id=props.get("STORAGE_AWS_EXTERNAL_ID"),
        # Regenerated with every (re-)creation, so OR REPLACE without an explicit id breaks the IAM trust (§1.5).
        generated_external_id=env.catalog.external_id(fields["id"]),
        object_acl=props.get("STORAGE_AWS_OBJECT_ACL"),
        use_privatelink_endpoint=props.get("USE_PRIVATELINK_ENDPOINT", False),
    )
    env.catalog.storage_integrations[name] = integration
    return created("Integration", name)


def create_notification_integration(env: Env, mode: CreateMode) -> list[Row]:
    p = env.parser
    name = env.single(p.expect_name(), p)
    props = p.properties(_NOTIFICATION_CREATE)
    p.expect_end()
    _require(props, _NOTIFICATION_REQUIRED)
    answer = _replace_integration(env, name, mode)
    if answer is not None:
        return answer
    fields = env.base(name, props.get("COMMENT"))
    integration = NotificationIntegration(
        **fields,
        enabled=props["ENABLED"],
        provider=props["NOTIFICATION_PROVIDER"],
        direction=props["DIRECTION"],
        topic_arn=props["AWS_SNS_TOPIC_ARN"],
        role_arn=props["AWS_SNS_ROLE_ARN"],
        external_id=env.catalog.external_id(fields["id"]),
    )
    env.catalog.notification_integrations[name] = integration
    return created("Integration", name)


def alter_integration(env: Env, category: str | None, if_exists: bool) -> list[Row]:
    """ALTER [STORAGE | NOTIFICATION] INTEGRATION: the properties allowed depend on the integration's type."""
    p = env.parser
    name = env.single(p.expect_name(), p)
    storage = env.catalog.storage_integrations.get(name)
    notification = env.catalog.notification_integrations.get(name)
    if category == "STORAGE":
        notification = None
    elif category == "NOTIFICATION":
        storage = None
    action = p.expect_keyword("SET", "UNSET")
    is_storage = storage is not None or (notification is None and category != "NOTIFICATION")
    settable = _STORAGE_SETTABLE if is_storage else _NOTIFICATION_SETTABLE
    unsettable = _STORAGE_UNSETTABLE if is_storage else _NOTIFICATION_UNSETTABLE
    if action == "SET":
        changes = p.properties(settable)
        if not changes:
            raise p.error()
    else:
        changes = dict.fromkeys([p.expect_keyword(*unsettable)])
        while p.accept_punct(","):
            changes[p.expect_keyword(*unsettable)] = None
    p.expect_end()
    if storage is None and notification is None:
        if if_exists:
            return status(STATEMENT_OK)
        env.storage_integration(name)  # raises: does not exist
    if storage is not None:
        _apply_storage(storage, changes)
    elif notification is not None:
        _apply_notification(notification, changes)
    return status(STATEMENT_OK)


def _apply_storage(integration: StorageIntegration, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if key == "ENABLED":
            integration.enabled = bool(value)
        elif key == "STORAGE_AWS_ROLE_ARN":
            integration.role_arn = value
        elif key == "STORAGE_AWS_EXTERNAL_ID":
            integration.external_id = value
        elif key == "STORAGE_AWS_OBJECT_ACL":
            integration.object_acl = value
        elif key == "USE_PRIVATELINK_ENDPOINT":
            integration.use_privatelink_endpoint = value
        elif key == "STORAGE_ALLOWED_LOCATIONS":
            integration.allowed_locations = value
        elif key == "STORAGE_BLOCKED_LOCATIONS":
            integration.blocked_locations = value or []
        elif key == "COMMENT":
            integration.comment = value


def _apply_notification(integration: NotificationIntegration, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if key == "ENABLED":
            integration.enabled = bool(value)
        elif key == "AWS_SNS_TOPIC_ARN":
            integration.topic_arn = value
        elif key == "AWS_SNS_ROLE_ARN":
            integration.role_arn = value
        elif key == "COMMENT":
            integration.comment = value
