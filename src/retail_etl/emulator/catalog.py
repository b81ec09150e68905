"""The state of one emulated account: plain records, no SQL.

Names are held in their stored form (unquoted names upper-cased, quoted names exact). Every object gets an
account-unique ``id``; objects that Snowflake links by hidden id rather than by name (a stream to its table, a pipe
to its stage, a stage to its integration) keep the id they were created against, which is how re-creating the
parent breaks them, as it does in Snowflake (reference §0.3).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import types
import typing
import uuid
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar

from retail_etl.emulator.datatypes import ColumnType

OWNER = "ACCOUNTADMIN"
# The AWS account Snowflake's IAM user and SQS queues live in, as in the Snowflake docs' examples.
SNOWFLAKE_AWS_ACCOUNT = "123456789012"
CATALOG_FORMAT_VERSION = 1


@dataclass(frozen=True, order=True)
class ObjectName:
    """A schema-level object's fully qualified name, each part in stored form."""

    database: str
    schema: str
    name: str

    @property
    def display(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"

    @property
    def quoted(self) -> str:
        """Every part double-quoted, as SHOW TASKS writes predecessors."""
        return ".".join('"' + part.replace('"', '""') + '"' for part in (self.database, self.schema, self.name))


@dataclass(kw_only=True)
class CatalogObject:
    name: str
    id: int
    created_on: datetime
    comment: str | None = None
    owner: str = OWNER


# --- account-level -------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class StorageIntegration(CatalogObject):
    enabled: bool
    provider: str
    role_arn: str
    allowed_locations: list[str]
    blocked_locations: list[str] = field(default_factory=list)
    external_id: str | None = None  # as set; DESC shows the generated one when unset
    generated_external_id: str
    object_acl: str | None = None
    use_privatelink_endpoint: bool = False

    @property
    def effective_external_id(self) -> str:
        return self.external_id or self.generated_external_id


@dataclass(kw_only=True)
class NotificationIntegration(CatalogObject):
    enabled: bool
    provider: str
    direction: str
    topic_arn: str
    role_arn: str
    external_id: str


# --- schema-level --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class FileFormat(CatalogObject):
    format_type: str
    options: dict[str, Any] = field(default_factory=dict)  # only the options set, by option name


@dataclass(kw_only=True)
class Stage(CatalogObject):
    url: str | None = None  # None: an internal stage
    storage_integration: str | None = None
    integration_id: int | None = None
    file_format_name: ObjectName | None = None
    file_format_type: str | None = None
    file_format_options: dict[str, Any] = field(default_factory=dict)
    has_credentials: bool = False
    has_encryption_key: bool = False
    directory_enabled: bool = False


@dataclass(kw_only=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    collation: str | None = None
    comment: str | None = None
    default: str | None = None  # the expression as written


@dataclass(kw_only=True)
class Table(CatalogObject):
    kind: str = "TABLE"  # TABLE, TRANSIENT or TEMPORARY, as SHOW TABLES prints it
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    primary_key_name: str | None = None
    cluster_by: list[str] = field(default_factory=list)
    retention_time: int | None = None  # None: inherited (1 day)
    change_tracking: bool = False

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(kw_only=True)
class View(CatalogObject):
    text: str  # the whole CREATE statement as submitted
    query: str  # the SELECT after the top-level AS
    secure: bool = False
    columns: list[str] = field(default_factory=list)  # an explicit column list, if given
    change_tracking: bool = False


@dataclass(kw_only=True)
class Pipe(CatalogObject):
    definition: str  # the COPY statement as submitted
    table: ObjectName
    stage: ObjectName
    stage_id: int
    auto_ingest: bool = False
    error_integration: str | None = None
    aws_sns_topic: str | None = None
    integration: str | None = None
    paused: bool = False


@dataclass(kw_only=True)
class Stream(CatalogObject):
    table: ObjectName
    table_id: int
    mode: str = "DEFAULT"  # DEFAULT, APPEND_ONLY or INSERT_ONLY
    show_initial_rows: bool = False


@dataclass(kw_only=True)
class Argument:
    name: str
    type: str  # the unparameterized type name (NUMBER, VARCHAR, ...)
    default: str | None = None


@dataclass(kw_only=True)
class Procedure(CatalogObject):
    arguments: list[Argument] = field(default_factory=list)
    returns: str  # as written (RETURNS VARCHAR(100) -> "VARCHAR(100)")
    returns_type: str  # unparameterized (VARCHAR)
    language: str = "SQL"
    body: str
    execute_as: str = "OWNER"
    null_handling: str = "CALLED ON NULL INPUT"
    volatility: str = "VOLATILE"
    secure: bool = False


def procedure_key(name: str, argument_types: list[str]) -> str:
    """A procedure's identity within its schema: name and argument types, since procedures overload."""
    return f"{name}({','.join(argument_types)})"


@dataclass(kw_only=True)
class Task(CatalogObject):
    definition: str  # the AS body as submitted
    condition: str | None = None  # the WHEN expression as submitted
    schedule: str | None = None
    warehouse: str | None = None
    predecessors: list[ObjectName] = field(default_factory=list)
    state: str = "suspended"  # started | suspended
    error_integration: str | None = None
    success_integration: str | None = None
    allow_overlapping_execution: bool = False
    config: str | None = None
    finalize: ObjectName | None = None
    execute_as_user: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # other settings, value as written
    last_committed_on: datetime | None = None
    last_suspended_on: datetime | None = None
    last_suspended_reason: str | None = None

    @property
    def uuid(self) -> str:
        """SHOW TASKS ``id``: a UUID that changes whenever the task is re-created."""
        return str(uuid.UUID(int=(0x01B2 << 112) | self.id))


@dataclass(kw_only=True)
class Schema(CatalogObject):
    transient: bool = False
    managed_access: bool = False
    retention_time: int | None = None
    file_formats: dict[str, FileFormat] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    pipes: dict[str, Pipe] = field(default_factory=dict)
    streams: dict[str, Stream] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)  # by signature key, NAME(TYPE,...)
    tasks: dict[str, Task] = field(default_factory=dict)


@dataclass(kw_only=True)
class Database(CatalogObject):
    transient: bool = False
    retention_time: int = 1
    schemas: dict[str, Schema] = field(default_factory=dict)


@dataclass(kw_only=True)
class Catalog:
    """Everything one account holds. ``next_id`` makes ids (and so generated values) deterministic."""

    account: str = "EMULATED"
    region: str = "us-east-1"
    next_id: int = 1
    databases: dict[str, Database] = field(default_factory=dict)
    storage_integrations: dict[str, StorageIntegration] = field(default_factory=dict)
    notification_integrations: dict[str, NotificationIntegration] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _digest(self, *parts: object) -> str:
        return hashlib.sha256(":".join(str(p) for p in (self.account, *parts)).encode()).hexdigest()

    @property
    def iam_user_arn(self) -> str:
        """The one IAM user Snowflake uses for every integration of the account (reference §1.5)."""
        return f"arn:aws:iam::{SNOWFLAKE_AWS_ACCOUNT}:user/{self._digest('iam')[:4]}-s-{self.account.lower()[:8]}"

    @property
    def sqs_queue_arn(self) -> str:
        """The account's Snowpipe queue: Snowflake reuses one SQS queue for the auto-ingest pipes of a region."""
        return f"arn:aws:sqs:{self.region}:{SNOWFLAKE_AWS_ACCOUNT}:sf-snowpipe-AIDAEMULATED-{self._digest('sqs')[:22]}"

    def external_id(self, integration_id: int) -> str:
        """A generated external id, shaped like Snowflake's (``<ACCOUNT>_SFCRole=2_<base64>``)."""
        raw = hashlib.sha256(self._digest("external-id", integration_id).encode()).digest()
        return f"{self.account}_SFCRole=2_{base64.b64encode(raw[:20]).decode()}"

    # --- persistence -----------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = _encode(self)
        assert isinstance(data, dict)
        return {"format_version": CATALOG_FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Catalog:
        version = data.get("format_version")
        if version != CATALOG_FORMAT_VERSION:
            raise ValueError(f"unsupported emulated catalog format {version!r} (expected {CATALOG_FORMAT_VERSION})")
        return _decode(cls, {k: v for k, v in data.items() if k != "format_version"})


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


@functools.cache
def _field_types(kind: type) -> dict[str, Any]:
    # Resolving the (string) annotations is slow: the local target restores whole catalogs often.
    return typing.get_type_hints(kind)


def _encode(value: Any) -> Any:
    """Records to JSON-ready data; dict keys sorted so equal catalogs serialize to equal bytes."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _encode(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _encode(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return value


T = TypeVar("T")


def _decode(kind: type[T], value: Any) -> T:
    return typing.cast(T, _decode_any(kind, value))


def _decode_any(kind: Any, value: Any) -> Any:
    """The inverse of :func:`_encode`, driven by the records' type hints."""
    if value is None or kind is Any:
        return value
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _decode_any(inner, value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_decode_any(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(kind)
        return {key: _decode_any(item, v) for key, v in value.items()}
    if kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(kind, type) and is_dataclass(kind):
        hints = _field_types(kind)
        return kind(**{name: _decode_any(hints[name], value[name]) for name in _field_names(kind) if name in value})
    return value
