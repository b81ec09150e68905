"""The spec files' schema (pydantic v2): what a user writes in ``pipelines/*.yml``.

These models validate one file at a time (types, enums, formats). Names left out are derived from the pipeline's
entity name later, in :mod:`retail_etl.spec.resolve`, where the cross-object checks also run.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from retail_etl.identifiers import Identifier, IdentifierError

# --- reusable constrained strings -------------------------------------------------------------------------------


def _identifier(value: str) -> str:
    try:
        Identifier.parse(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _plain_identifier(value: str) -> str:
    """Names Snowflake cannot quote (procedures in JavaScript / SQL): must be a plain unquoted identifier."""
    ident = Identifier.parse(_identifier(value))
    if not ident.is_plain:
        raise ValueError(
            f"{value!r} must be a plain identifier (letters, digits, _ and $, not a reserved word): Snowflake does"
            " not allow double-quoted names for JavaScript and SQL procedures"
        )
    return value


_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_SNS_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SQL_TYPE = re.compile(
    r"^(VARCHAR|STRING|TEXT|CHAR|CHARACTER|NUMBER|NUMERIC|DECIMAL|INT|INTEGER|BIGINT|SMALLINT|TINYINT|BYTEINT|FLOAT|"
    r"DOUBLE|REAL|BOOLEAN|DATE|TIME|TIMESTAMP|TIMESTAMP_NTZ|TIMESTAMP_LTZ|TIMESTAMP_TZ|DATETIME|BINARY|VARIANT|"
    r"OBJECT|ARRAY)(\(\s*\d+\s*(,\s*\d+\s*)?\))?$",
    re.IGNORECASE,
)


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>): {value!r}")
    return value


def _sns_arn(value: str) -> str:
    if not _SNS_ARN.match(value):
        raise ValueError(f"not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>): {value!r}")
    if value.endswith(".fifo"):
        raise ValueError("FIFO SNS topics are not supported by Snowflake error notifications; use a standard topic")
    return value


def _s3_url(value: str) -> str:
    if not _S3_URL.match(value):
        raise ValueError(f"not an s3:// URL (s3://<bucket>/<path>/): {value!r}")
    return value


def _bucket(value: str) -> str:
    if not _BUCKET.match(value):
        raise ValueError(f"not a valid S3 bucket name: {value!r}")
    return value


def _sql_type(value: str) -> str:
    if not _SQL_TYPE.match(value.strip()):
        raise ValueError(f"unsupported column type {value!r} (e.g. VARCHAR(200), NUMBER(38,0), TIMESTAMP_NTZ(6))")
    return re.sub(r"\s+", "", value.strip()).upper()


def _no_statement_break(value: str) -> str:
    """Raw SQL fragments from YAML (filters, expressions): one expression, no statement or body terminators."""
    if "$$" in value:
        raise ValueError("must not contain '$$' (it would end a procedure body)")
    if ";" in value:
        raise ValueError("must not contain ';' (one expression, not statements)")
    if "--" in value or "/*" in value:
        raise ValueError("must not contain SQL comments")
    return value


Name = Annotated[str, AfterValidator(_identifier)]
PlainName = Annotated[str, AfterValidator(_plain_identifier)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
SnsTopicArn = Annotated[str, AfterValidator(_sns_arn)]
S3Url = Annotated[str, AfterValidator(_s3_url)]
BucketName = Annotated[str, AfterValidator(_bucket)]
SqlType = Annotated[str, AfterValidator(_sql_type)]
SqlExpression = Annotated[str, AfterValidator(_no_statement_break)]
Comment = Annotated[str, Field(max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- project file --------------------------------------------------------------------------------------------


class Schemas(Strict):
    bronze: Name = "BRONZE"
    silver: Name = "SILVER"
    gold: Name = "GOLD"


class StorageIntegrationSpec(Strict):
    name: Name
    role_arn: RoleArn
    allowed_locations: list[S3Url] = Field(min_length=1)
    blocked_locations: list[S3Url] = []
    external_id: Annotated[str, Field(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")]
    enabled: bool = True
    comment: Comment | None = None


class SnsSubscription(Strict):
    protocol: Literal["email", "email-json", "sqs", "https", "http", "lambda", "sms"]
    endpoint: Annotated[str, Field(min_length=1, max_length=2048)]


class NotificationIntegrationSpec(Strict):
    name: Name
    topic_arn: SnsTopicArn
    role_arn: RoleArn
    enabled: bool = True
    comment: Comment | None = None
    subscriptions: list[SnsSubscription] = []


class SnowflakeTargetSpec(Strict):
    type: Literal["snowflake"]
    connection: str | None = None
    role: Name | None = None
    aws_region: str | None = None
    aws_endpoint_url: str | None = None


class LocalTargetSpec(Strict):
    type: Literal["local"]
    path: str = ".retail-etl"


TargetSpec = Annotated[SnowflakeTargetSpec | LocalTargetSpec, Field(discriminator="type")]


class EnvironmentSpec(Strict):
    """An overlay applied on top of the project file (e.g. another database name for dev)."""

    database: Name | None = None
    warehouse: Name | None = None
    bucket: BucketName | None = None
    target: str | None = None
    task_enabled: bool | None = None


class ScheduleSpec(Strict):
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        normalized = " ".join(value.split())
        if len(normalized.split(" ")) != 5 or not croniter.is_valid(normalized):
            raise ValueError(f"not a 5-field cron expression: {value!r}")
        return normalized

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class TaskDefaults(Strict):
    schedule: ScheduleSpec = ScheduleSpec(cron="0 0 * * *", timezone="America/New_York")
    enabled: bool = True
    warehouse: Name | None = None
    serverless_size: Literal["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE"] | None = None


class PipelineDefaults(Strict):
    task: TaskDefaults = TaskDefaults()
    procedure_language: Literal["javascript", "sql"] = "javascript"
    time_zone_label: Annotated[str, Field(max_length=3)] = "EST"
    instance_label: Annotated[str, Field(max_length=50)] = "STANDARD"


class ProjectSpec(Strict):
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    database: Name
    schemas: Schemas = Schemas()
    warehouse: Name
    bucket: BucketName
    storage_integration: StorageIntegrationSpec
    notification_integration: NotificationIntegrationSpec
    default_target: str = "local"
    targets: dict[str, TargetSpec] = {"local": LocalTargetSpec(type="local")}
    environments: dict[str, EnvironmentSpec] = {}
    defaults: PipelineDefaults = PipelineDefaults()

    @model_validator(mode="after")
    def _targets_exist(self) -> ProjectSpec:
        if self.default_target not in self.targets:
            raise ValueError(f"default_target {self.default_target!r} is not one of the targets {sorted(self.targets)}")
        for env_name, env in self.environments.items():
            if env.target is not None and env.target not in self.targets:
                raise ValueError(f"environment {env_name!r} names unknown target {env.target!r}")
        return self


# --- pipeline file --------------------------------------------------------------------------------------------


class SourceSpec(Strict):
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/-]+/$", max_length=512)]
    bucket: BucketName | None = None
    patterns: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1)
    partition_by_date: bool = False


class FileFormatSpec(Strict):
    name: Name | None = None
    field_delimiter: Annotated[str, Field(min_length=1, max_length=20)] = ","
    record_delimiter: Annotated[str, Field(min_length=1, max_length=20)] = "\n"
    field_optionally_enclosed_by: Literal['"', "'"] | None = None
    skip_header: Annotated[int, Field(ge=0, le=100)] = 0
    null_if: list[str] = ["\\N"]
    empty_field_as_null: bool = True
    trim_space: bool = False
    compression: Literal["AUTO", "GZIP", "BZ2", "BROTLI", "ZSTD", "DEFLATE", "RAW_DEFLATE", "NONE"] = "AUTO"
    encoding: Literal["UTF8", "UTF-8", "ISO-8859-1", "WINDOWS-1252", "UTF-16"] = "UTF8"
    error_on_column_count_mismatch: bool = True
    comment: Comment | None = None

    @model_validator(mode="after")
    def _delimiters_distinct(self) -> FileFormatSpec:
        if self.field_delimiter in self.record_delimiter or self.record_delimiter in self.field_delimiter:
            raise ValueError("field_delimiter and record_delimiter must not be substrings of each other")
        return self


class ColumnSpec(Strict):
    name: Name
    type: SqlType = "VARCHAR"
    nullable: bool = True
    collate: Annotated[str, Field(pattern=r"^[a-z]{0,3}(-[a-z]+)*$")] | None = None
    comment: Comment | None = None
    position: Annotated[int, Field(ge=1, le=10000)] | None = None


_COLLATION = Annotated[str, Field(pattern=r"^[a-z]{0,3}(-[a-z]+)*$")]


class LandingTableSpec(Strict):
    name: Name | None = None
    columns: list[ColumnSpec] = Field(min_length=1)
    collate: _COLLATION | None = None  # default collation of the declared text columns
    transient: bool = False
    comment: Comment | None = None
    data_retention_days: Annotated[int, Field(ge=0, le=90)] | None = None


class StageSpec(Strict):
    name: Name | None = None
    comment: Comment | None = None


class PipeSpec(Strict):
    name: Name | None = None
    auto_ingest: bool = True
    comment: Comment | None = None
    on_error: Annotated[str, Field(pattern=r"^(SKIP_FILE|CONTINUE|SKIP_FILE_\d+|SKIP_FILE_\d+%)$")] = "SKIP_FILE"
    paused: bool = False


class StreamSpec(Strict):
    name: Name | None = None
    comment: Comment | None = None


class TransformSpec(Strict):
    procedure: PlainName | None = None
    xfm_table: Name | None = None
    language: Literal["javascript", "sql"] | None = None
    merge_keys: list[Name] = Field(min_length=1)
    hash_columns: list[Name] = Field(min_length=1)
    filter: SqlExpression | None = None
    constants: dict[str, Annotated[str, Field(max_length=200)]] = {}
    comment: Comment | None = None


class TaskSpec(Strict):
    name: Name | None = None
    schedule: ScheduleSpec | None = None
    enabled: bool | None = None
    warehouse: Name | None = None
    serverless: bool = False
    serverless_size: Literal["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE"] | None = None
    comment: Comment | None = None
    suspend_after_failures: Annotated[int, Field(ge=0, le=1000)] | None = None

    @model_validator(mode="after")
    def _warehouse_or_serverless(self) -> TaskSpec:
        if self.serverless and self.warehouse is not None:
            raise ValueError("a task is either serverless or runs on a warehouse, not both")
        if self.serverless_size is not None and not self.serverless:
            raise ValueError("serverless_size needs serverless: true")
        return self


class SilverTableSpec(Strict):
    name: Name | None = None
    columns: list[ColumnSpec] = Field(min_length=1)
    collate: _COLLATION | None = None  # default collation of every text column, audit columns included
    primary_key: list[Name] = []
    transient: bool = False
    comment: Comment | None = None
    data_retention_days: Annotated[int, Field(ge=0, le=90)] | None = None


class ViewSpec(Strict):
    name: Name | None = None
    columns: list[Name] | None = None
    source: Name | None = None
    where: SqlExpression | None = None
    secure: bool = False
    comment: Comment | None = None


class PipelineSpec(Strict):
    pipeline: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
    description: str | None = None
    source: SourceSpec
    file_format: FileFormatSpec = FileFormatSpec()
    landing: LandingTableSpec
    stage: StageSpec = StageSpec()
    pipe: PipeSpec = PipeSpec()
    stream: StreamSpec = StreamSpec()
    transform: TransformSpec
    task: TaskSpec = TaskSpec()
    silver: SilverTableSpec
    view: ViewSpec | None = ViewSpec()
