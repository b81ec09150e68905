"""Result rows, exactly as Snowflake lays them out: SHOW / DESC columns lower-case and in the documented order,
INFORMATION_SCHEMA columns upper-case. Pure functions of the catalog; nothing here parses SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from retail_etl.emulator.catalog import (
    Catalog,
    Column,
    Database,
    FileFormat,
    NotificationIntegration,
    ObjectName,
    Pipe,
    Procedure,
    Schema,
    Stage,
    StorageIntegration,
    Stream,
    Table,
    Task,
    View,
)
from retail_etl.emulator.datatypes import MAX_VARCHAR
from retail_etl.emulator.formats import format_options

Row = dict[str, Any]
OWNER_ROLE_TYPE = "ROLE"
# Default MAX_DATA_EXTENSION_TIME_IN_DAYS: how long an unread stream stays fresh (reference §7.3).
STREAM_EXTENSION_DAYS = 14


def _yn(value: bool) -> str:
    return "Y" if value else "N"


def _tf(value: bool) -> str:
    return "true" if value else "false"


def _on_off(value: bool) -> str:
    return "ON" if value else "OFF"


def find_table(catalog: Catalog, name: ObjectName) -> Table | None:
    database = catalog.databases.get(name.database)
    schema = database.schemas.get(name.schema) if database else None
    return schema.tables.get(name.name) if schema else None


def find_stage(catalog: Catalog, name: ObjectName) -> Stage | None:
    database = catalog.databases.get(name.database)
    schema = database.schemas.get(name.schema) if database else None
    return schema.stages.get(name.name) if schema else None


# --- containers ----------------------------------------------------------------------------------------------


def database_row(database: Database, current: str | None) -> Row:
    return {
        "created_on": database.created_on,
        "name": database.name,
        "is_default": "N",
        "is_current": _yn(database.name == current),
        "origin": "",
        "owner": database.owner,
        "comment": database.comment,
        "options": "TRANSIENT" if database.transient else "",
        "retention_time": str(database.retention_time),
        "kind": "STANDARD",
        "budget": None,
        "owner_role_type": OWNER_ROLE_TYPE,
    }


def schema_rows(database: Database, current: tuple[str | None, str | None]) -> list[Row]:
    """Every schema of the database, INFORMATION_SCHEMA included (it always exists and is listed)."""
    rows = [
        {
            "created_on": database.created_on,
            "name": "INFORMATION_SCHEMA",
            "is_default": "N",
            "is_current": _yn(current == (database.name, "INFORMATION_SCHEMA")),
            "database_name": database.name,
            "owner": "",
            "comment": "Views describing the contents of schemas in this database",
            "options": "",
            "retention_time": str(database.retention_time),
            "owner_role_type": "",
        }
    ]
    for schema in database.schemas.values():
        options = ", ".join(
            o for o, on in (("TRANSIENT", schema.transient), ("MANAGED ACCESS", schema.managed_access)) if on
        )
        rows.append(
            {
                "created_on": schema.created_on,
                "name": schema.name,
                "is_default": "N",
                "is_current": _yn(current == (database.name, schema.name)),
                "database_name": database.name,
                "owner": schema.owner,
                "comment": schema.comment,
                "options": options,
                "retention_time": str(_retention(database, schema, None)),
                "owner_role_type": OWNER_ROLE_TYPE,
            }
        )
    return rows


def _retention(database: Database, schema: Schema, own: int | None) -> int:
    """DATA_RETENTION_TIME_IN_DAYS is inherited: table, else schema, else database."""
    if own is not None:
        return own
    if schema.retention_time is not None:
        return schema.retention_time
    return database.retention_time


# --- integrations --------------------------------------------------------------------------------------------


def integration_row(integration: StorageIntegration | NotificationIntegration, *, with_direction: bool) -> Row:
    if isinstance(integration, StorageIntegration):
        kind, category = "EXTERNAL_STAGE", "STORAGE"
    else:
        kind, category = f"QUEUE - {integration.provider}", "NOTIFICATION"
    row: Row = {
        "name": integration.name,
        "type": kind,
        "category": category,
        "enabled": _tf(integration.enabled),
        "comment": integration.comment,
        "created_on": integration.created_on,
    }
    if with_direction:
        # Only SHOW NOTIFICATION INTEGRATIONS has this column.
        row["direction"] = integration.direction if isinstance(integration, NotificationIntegration) else None
    return row


def _property(name: str, kind: str, value: str, default: str) -> Row:
    return {"property": name, "property_type": kind, "property_value": value, "property_default": default}


def describe_integration(catalog: Catalog, integration: StorageIntegration | NotificationIntegration) -> list[Row]:
    """DESC INTEGRATION: one row per property; lists comma-joined without spaces, booleans lower-case."""
    if isinstance(integration, StorageIntegration):
        rows = [
            _property("ENABLED", "Boolean", _tf(integration.enabled), "false"),
            _property("STORAGE_PROVIDER", "String", integration.provider, ""),
            _property("STORAGE_ALLOWED_LOCATIONS", "List", ",".join(integration.allowed_locations), "[]"),
            _property("STORAGE_BLOCKED_LOCATIONS", "List", ",".join(integration.blocked_locations), "[]"),
            _property("STORAGE_AWS_IAM_USER_ARN", "String", catalog.iam_user_arn, ""),
            _property("STORAGE_AWS_ROLE_ARN", "String", integration.role_arn, ""),
            _property("STORAGE_AWS_EXTERNAL_ID", "String", integration.effective_external_id, ""),
        ]
        if integration.object_acl is not None:
            rows.append(_property("STORAGE_AWS_OBJECT_ACL", "String", integration.object_acl, ""))
        rows.append(
            _property("USE_PRIVATELINK_ENDPOINT", "Boolean", _tf(integration.use_privatelink_endpoint), "false")
        )
        rows.append(_property("COMMENT", "String", integration.comment or "", ""))
        return rows
    return [
        _property("ENABLED", "Boolean", _tf(integration.enabled), "false"),
        _property("NOTIFICATION_PROVIDER", "String", integration.provider, ""),
        _property("DIRECTION", "String", integration.direction, "INBOUND"),
        _property("AWS_SNS_TOPIC_ARN", "String", integration.topic_arn, ""),
        _property("AWS_SNS_ROLE_ARN", "String", integration.role_arn, ""),
        _property("SF_AWS_IAM_USER_ARN", "String", catalog.iam_user_arn, ""),
        _property("SF_AWS_EXTERNAL_ID", "String", integration.external_id, ""),
        _property("COMMENT", "String", integration.comment or "", ""),
    ]


# --- schema objects ------------------------------------------------------------------------------------------


def file_format_row(database: str, schema: str, file_format: FileFormat) -> Row:
    options = format_options(file_format.format_type, file_format.options)
    return {
        "created_on": file_format.created_on,
        "name": file_format.name,
        "database_name": database,
        "schema_name": schema,
        "type": file_format.format_type,
        "owner": file_format.owner,
        "comment": file_format.comment,
        "owner_role_type": OWNER_ROLE_TYPE,
        "format_options": json.dumps(options, separators=(",", ":")),
    }


def _cloud(url: str) -> str | None:
    scheme = url.split("://", 1)[0].lower()
    return {"s3": "AWS", "s3gov": "AWS", "s3china": "AWS", "gcs": "GCP", "azure": "AZURE"}.get(scheme)


def stage_row(catalog: Catalog, database: str, schema: str, stage: Stage) -> Row:
    external = stage.url is not None
    return {
        "created_on": stage.created_on,
        "name": stage.name,
        "database_name": database,
        "schema_name": schema,
        "url": stage.url or "",
        "has_credentials": _yn(stage.has_credentials),
        "has_encryption_key": _yn(stage.has_encryption_key),
        "owner": stage.owner,
        "comment": stage.comment,
        "region": catalog.region if external else None,
        "type": "EXTERNAL" if external else "INTERNAL",
        "cloud": _cloud(stage.url) if stage.url else None,
        "notification_channel": None,
        "storage_integration": stage.storage_integration,
        "endpoint": None,
        "owner_role_type": OWNER_ROLE_TYPE,
        "directory_enabled": _yn(stage.directory_enabled),
    }


def table_row(database: Database, schema: Schema, table: Table) -> Row:
    return {
        "created_on": table.created_on,
        "name": table.name,
        "database_name": database.name,
        "schema_name": schema.name,
        "kind": table.kind,
        "comment": table.comment,
        "cluster_by": f"LINEAR({', '.join(table.cluster_by)})" if table.cluster_by else "",
        "rows": 0,
        "bytes": 0,
        "owner": table.owner,
        "retention_time": _retention(database, schema, table.retention_time),
        "automatic_clustering": _on_off(bool(table.cluster_by)),
        "change_tracking": _on_off(table.change_tracking),
        "search_optimization": "OFF",
        "search_optimization_progress": None,
        "search_optimization_bytes": None,
        "is_external": "N",
        "enable_schema_evolution": "N",
        "owner_role_type": OWNER_ROLE_TYPE,
        "is_event": "N",
        "is_hybrid": "N",
        "is_iceberg": "N",
        "is_immutable": "N",
    }


def primary_key_rows(database: str, schema: str, table: Table) -> list[Row]:
    # An unnamed key gets a generated name, stable for the table.
    constraint = table.primary_key_name or f"SYS_CONSTRAINT_{table.id:08x}-0000-4000-8000-{table.id:012x}"
    return [
        {
            "created_on": table.created_on,
            "database_name": database,
            "schema_name": schema,
            "table_name": table.name,
            "column_name": column,
            "key_sequence": position,
            "constraint_name": constraint,
            "rely": "false",
            "comment": None,
        }
        for position, column in enumerate(table.primary_key, start=1)
    ]


def view_row(database: str, schema: str, view: View) -> Row:
    return {
        "created_on": view.created_on,
        "name": view.name,
        "reserved": "",
        "kind": "VIEW",
        "database_name": database,
        "schema_name": schema,
        "owner": view.owner,
        "comment": view.comment,
        "text": view.text,
        "is_secure": _tf(view.secure),
        "is_materialized": "false",
        "owner_role_type": OWNER_ROLE_TYPE,
        "change_tracking": _on_off(view.change_tracking),
    }


def pipe_row(catalog: Catalog, database: str, schema: str, pipe: Pipe) -> Row:
    return {
        "created_on": pipe.created_on,
        "name": pipe.name,
        "database_name": database,
        "schema_name": schema,
        "definition": pipe.definition,
        "owner": pipe.owner,
        "notification_channel": catalog.sqs_queue_arn if pipe.auto_ingest else "",
        "comment": pipe.comment,
        "integration": pipe.integration,
        "pattern": None,
        "error_integration": pipe.error_integration,
        "owner_role_type": OWNER_ROLE_TYPE,
        "invalid_reason": None,
        "kind": "STAGE",
    }


def pipe_execution_state(catalog: Catalog, pipe: Pipe) -> str:
    """SYSTEM$PIPE_STATUS executionState: a re-created or dropped stage stops the pipe (reference §4.1)."""
    stage = find_stage(catalog, pipe.stage)
    if stage is None or stage.id != pipe.stage_id:
        return "STOPPED_STAGE_DROPPED"
    if find_table(catalog, pipe.table) is None:
        return "STOPPED_MISSING_TABLE"
    return "PAUSED" if pipe.paused else "RUNNING"


def pipe_status(catalog: Catalog, pipe: Pipe) -> str:
    status: dict[str, Any] = {"executionState": pipe_execution_state(catalog, pipe), "pendingFileCount": 0}
    if pipe.auto_ingest:
        status["notificationChannelName"] = catalog.sqs_queue_arn
        status["numOutstandingMessagesOnChannel"] = 0
    return json.dumps(status, separators=(",", ":"))


def stream_is_stale(catalog: Catalog, stream: Stream) -> bool:
    """A stream is tied to its table's id: re-creating or dropping the table leaves the stream stale (§7.3)."""
    table = find_table(catalog, stream.table)
    return table is None or table.id != stream.table_id


def stream_row(catalog: Catalog, database: str, schema: str, stream: Stream) -> Row:
    stale_after: datetime = stream.created_on + timedelta(days=STREAM_EXTENSION_DAYS)
    return {
        "created_on": stream.created_on,
        "name": stream.name,
        "database_name": database,
        "schema_name": schema,
        "owner": stream.owner,
        "comment": stream.comment,
        "table_name": stream.table.display,
        "source_type": "Table",
        "base_tables": stream.table.display,
        "type": "DELTA",
        "stale": _tf(stream_is_stale(catalog, stream)),
        "mode": stream.mode,
        "stale_after": stale_after,
        "invalid_reason": "N/A",
        "owner_role_type": OWNER_ROLE_TYPE,
    }


def task_row(database: str, schema: str, task: Task) -> Row:
    # Unset warehouse / error integration come back as the string 'null' (observed by Terraform, reference §8.5).
    predecessors = [p.quoted for p in task.predecessors]
    return {
        "created_on": task.created_on,
        "name": task.name,
        "id": task.uuid,
        "database_name": database,
        "schema_name": schema,
        "owner": task.owner,
        "comment": task.comment,
        "warehouse": task.warehouse or "null",
        "schedule": task.schedule,
        "scheduling_mode": "FIXED" if task.schedule else None,
        "target_completion_interval": task.parameters.get("TARGET_COMPLETION_INTERVAL"),
        "predecessors": json.dumps(predecessors, indent=2),
        "state": task.state,
        "definition": task.definition,
        "condition": task.condition,
        "allow_overlapping_execution": None if task.predecessors else _tf(task.allow_overlapping_execution),
        "error_integration": task.error_integration or "null",
        "success_integration": task.success_integration or "null",
        "last_committed_on": task.last_committed_on,
        "last_suspended_on": task.last_suspended_on,
        "owner_role_type": OWNER_ROLE_TYPE,
        "config": task.config,
        "last_suspended_reason": task.last_suspended_reason,
        "task_relations": json.dumps(
            {"Predecessors": predecessors, "FinalizerTask": task.finalize.quoted if task.finalize else None},
            separators=(",", ":"),
        ),
        "execute_as_user": task.execute_as_user,
    }


# --- DESC ----------------------------------------------------------------------------------------------------


def describe_table(table: Table) -> list[Row]:
    return [
        {
            "name": column.name,
            "type": column.type.text + (f" COLLATE '{column.collation}'" if column.collation else ""),
            "kind": "COLUMN",
            "null?": _yn(column.nullable),
            "default": column.default,
            "primary key": _yn(column.name in table.primary_key),
            "unique key": "N",
            "check": None,
            "expression": None,
            "comment": column.comment,
            "policy name": None,
            "privacy domain": None,
            "schema evolution record": None,
        }
        for column in table.columns
    ]


def describe_procedure(procedure: Procedure) -> list[Row]:
    rows = [
        {"property": "signature", "value": _signature(procedure)},
        {"property": "returns", "value": procedure.returns},
        {"property": "language", "value": procedure.language},
    ]
    if procedure.language not in ("SQL",):
        rows.append({"property": "null handling", "value": procedure.null_handling})
        rows.append({"property": "volatility", "value": procedure.volatility})
    rows.append({"property": "body", "value": procedure.body})
    rows.append({"property": "execute as", "value": procedure.execute_as})
    return rows


# --- INFORMATION_SCHEMA --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InformationSchemaView:
    columns: tuple[str, ...]  # every column, in order: what SELECT * returns and what a select list may name
    rows: Callable[[Database], list[Row]]


COLUMNS_COLUMNS = (
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "COLUMN_DEFAULT",
    "IS_NULLABLE",
    "DATA_TYPE",
    "CHARACTER_MAXIMUM_LENGTH",
    "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION",
    "NUMERIC_PRECISION_RADIX",
    "NUMERIC_SCALE",
    "DATETIME_PRECISION",
    "INTERVAL_TYPE",
    "INTERVAL_PRECISION",
    "CHARACTER_SET_CATALOG",
    "CHARACTER_SET_SCHEMA",
    "CHARACTER_SET_NAME",
    "COLLATION_CATALOG",
    "COLLATION_SCHEMA",
    "COLLATION_NAME",
    "DOMAIN_CATALOG",
    "DOMAIN_SCHEMA",
    "DOMAIN_NAME",
    "UDT_CATALOG",
    "UDT_SCHEMA",
    "UDT_NAME",
    "SCOPE_CATALOG",
    "SCOPE_SCHEMA",
    "SCOPE_NAME",
    "MAXIMUM_CARDINALITY",
    "DTD_IDENTIFIER",
    "IS_SELF_REFERENCING",
    "IS_IDENTITY",
    "IDENTITY_GENERATION",
    "IDENTITY_START",
    "IDENTITY_INCREMENT",
    "IDENTITY_MAXIMUM",
    "IDENTITY_MINIMUM",
    "IDENTITY_CYCLE",
    "IDENTITY_ORDERED",
    "SCHEMA_EVOLUTION_RECORD",
    "COMMENT",
)

PROCEDURES_COLUMNS = (
    "PROCEDURE_CATALOG",
    "PROCEDURE_SCHEMA",
    "PROCEDURE_NAME",
    "PROCEDURE_OWNER",
    "ARGUMENT_SIGNATURE",
    "DATA_TYPE",
    "CHARACTER_MAXIMUM_LENGTH",
    "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION",
    "NUMERIC_PRECISION_RADIX",
    "NUMERIC_SCALE",
    "PROCEDURE_LANGUAGE",
    "PROCEDURE_DEFINITION",
    "CREATED",
    "LAST_ALTERED",
    "COMMENT",
    "EXTERNAL_ACCESS_INTEGRATIONS",
    "SECRETS",
)


def _column_row(database: Database, schema: Schema, table: Table, position: int, column: Column) -> Row:
    kind = column.type
    text, binary, number = kind.base == "VARCHAR", kind.base == "BINARY", kind.base == "NUMBER"
    timed = kind.base.startswith("TIMESTAMP") or kind.base == "TIME"
    values: Row = dict.fromkeys(COLUMNS_COLUMNS)
    values.update(
        TABLE_CATALOG=database.name,
        TABLE_SCHEMA=schema.name,
        TABLE_NAME=table.name,
        COLUMN_NAME=column.name,
        ORDINAL_POSITION=position,
        COLUMN_DEFAULT=column.default,
        IS_NULLABLE="YES" if column.nullable else "NO",
        DATA_TYPE=kind.information_schema_type,
        CHARACTER_MAXIMUM_LENGTH=kind.length if text or binary else None,
        # Text is UTF-8: up to four bytes a character, capped at the maximum size.
        CHARACTER_OCTET_LENGTH=min((kind.length or 0) * 4, MAX_VARCHAR) if text else kind.length if binary else None,
        NUMERIC_PRECISION=kind.precision if number else None,
        NUMERIC_PRECISION_RADIX=10 if number else None,
        NUMERIC_SCALE=kind.scale if number else None,
        DATETIME_PRECISION=kind.precision if timed else None,
        COLLATION_NAME=column.collation,
        IS_SELF_REFERENCING="NO",
        IS_IDENTITY="NO",
        COMMENT=column.comment,
    )
    return values


def information_schema_columns(database: Database) -> list[Row]:
    """INFORMATION_SCHEMA.COLUMNS for the database's tables (view columns are not modelled)."""
    return [
        _column_row(database, schema, table, position, column)
        for schema in database.schemas.values()
        for table in schema.tables.values()
        for position, column in enumerate(table.columns, start=1)
    ]


def information_schema_procedures(database: Database) -> list[Row]:
    rows: list[Row] = []
    for schema in database.schemas.values():
        for procedure in schema.procedures.values():
            values: Row = dict.fromkeys(PROCEDURES_COLUMNS)
            values.update(
                PROCEDURE_CATALOG=database.name,
                PROCEDURE_SCHEMA=schema.name,
                PROCEDURE_NAME=procedure.name,
                PROCEDURE_OWNER=procedure.owner,
                ARGUMENT_SIGNATURE=_signature(procedure),
                DATA_TYPE=procedure.returns_type,
                PROCEDURE_LANGUAGE=procedure.language,
                PROCEDURE_DEFINITION=procedure.body,
                CREATED=procedure.created_on,
                LAST_ALTERED=procedure.created_on,
                COMMENT=procedure.comment,
            )
            rows.append(values)
    return rows


def _signature(procedure: Procedure) -> str:
    """``(NAME TYPE, ...)``: argument names and unparameterized types."""
    return "(" + ", ".join(f"{a.name} {a.type}" for a in procedure.arguments) + ")"


INFORMATION_SCHEMA_VIEWS = {
    "COLUMNS": InformationSchemaView(COLUMNS_COLUMNS, information_schema_columns),
    "PROCEDURES": InformationSchemaView(PROCEDURES_COLUMNS, information_schema_procedures),
}
