"""The spec files' schema (pydantic v2): what a user writes in ``pipelines/*.yml``.

These models validate one file at a time (types, enums, formats). Names left out are derived from the pipeline's
entity name later, in :mod:`retail_etl.spec.resolve`, where the cross-object checks also run.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from retail_etl.cron import for_croniter
from retail_etl.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    RESERVED_WORDS,
    UNQUOTED_IDENTIFIER,
    Identifier,
    IdentifierError,
)

# --- reusable constrained strings -------------------------------------------------------------------------------


def located(location: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error from a model validator that belongs to one of the model's fields (``location`` is relative to it).

    A plain ``ValueError`` in a model validator points at the whole model; this one lets the loader point at the
    offending key instead.
    """
    return PydanticCustomError("located", "{message}", {"message": message, "at": location})


# The checks of names, column types and cron expressions are memoized: a large project repeats the same few
# thousand values (column names, types, schedules) across its files. A failing check raises and is not cached.
@cache
def _identifier(value: str) -> str:
    """Snowflake identifier rules (reference §14.1): unquoted names are stored upper-case, anything else quoted."""
    length = len(value) - 2 if len(value) >= 2 and value[0] == value[-1] == '"' else len(value)
    if length > MAX_IDENTIFIER_LENGTH:
        raise ValueError(
            f"name is {length} characters long; Snowflake identifiers have at most {MAX_IDENTIFIER_LENGTH}"
        )
    if UNQUOTED_IDENTIFIER.match(value) and value.upper() in RESERVED_WORDS:
        raise ValueError(
            f"{value!r} is a Snowflake reserved word: choose another name"
            f" (or write it quoted, '\"{value.upper()}\"', to use it as a quoted identifier)"
        )
    parts = value.split(".")
    if len(parts) > 1 and all(UNQUOTED_IDENTIFIER.match(part) for part in parts):
        raise ValueError(
            f"{value!r} looks like a qualified name: give only the object's own name (database and schema come"
            " from project.yml)"
        )
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
            f"{value!r} must be a plain identifier (letters, digits, _ and $, starting with a letter or _):"
            " Snowflake does not allow double-quoted names for JavaScript and SQL procedures"
        )
    return value


_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$", re.ASCII)
_SNS_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$", re.ASCII)
_S3_URL = re.compile(r"^s3://(?P<bucket>[^/]*)(?P<path>/.*)?$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$", re.ASCII)
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$", re.ASCII)
_SQL_TYPE = re.compile(
    r"^(VARCHAR|STRING|TEXT|CHAR|CHARACTER|NUMBER|NUMERIC|DECIMAL|INT|INTEGER|BIGINT|SMALLINT|TINYINT|BYTEINT|FLOAT|"
    r"DOUBLE|REAL|BOOLEAN|DATE|TIME|TIMESTAMP|TIMESTAMP_NTZ|TIMESTAMP_LTZ|TIMESTAMP_TZ|DATETIME|BINARY|VARIANT|"
    r"OBJECT|ARRAY)(\(\s*\d+\s*(,\s*\d+\s*)?\))?$",
    re.IGNORECASE,
)
_COLLATION_SPEC = re.compile(r"^(?=.)[a-z]{0,3}(-[a-z]+)*$")  # never empty: no collation is the key left out
_PROJECT_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]+/$")
_ON_ERROR = re.compile(r"^(SKIP_FILE|CONTINUE|SKIP_FILE_\d+|SKIP_FILE_\d+%)$", re.ASCII)
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]+$", re.ASCII)
# Snowflake task cron (reference §8.1): minute hour day-of-month month day-of-week; *, L, lists, ranges, /n steps.
_CRON_FIELD = re.compile(r"^(\*|L|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?(,(\*|L|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?)*$")
_CRON_UNSUPPORTED = re.compile(r"[?#]|\d+W\b|\bLW\b")


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.fullmatch(value):
        raise ValueError(f"not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>): {value!r}")
    return value


def _sns_arn(value: str) -> str:
    if value.endswith(".fifo"):
        raise ValueError(
            f"{value!r} is a FIFO SNS topic: Snowflake error notifications need a standard topic (no .fifo)"
        )
    if not _SNS_ARN.fullmatch(value):
        raise ValueError(f"not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>): {value!r}")
    return value


def bucket_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name (AWS general-purpose bucket naming rules), or None."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        return "may only contain lower-case letters, digits, dots and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must start and end with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if _IP_ADDRESS.fullmatch(name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        return "uses a prefix or suffix AWS reserves"
    return None


def _bucket(value: str) -> str:
    problem = bucket_problem(value)
    if problem is not None:
        raise ValueError(f"not a valid S3 bucket name {value!r}: {problem}")
    return value


def _s3_url(value: str) -> str:
    match = _S3_URL.fullmatch(value)
    if match is None:
        raise ValueError(f"not an s3:// URL (s3://<bucket>/<path>/): {value!r}")
    problem = bucket_problem(match.group("bucket"))
    if problem is not None:
        raise ValueError(f"bad bucket name in {value!r}: the bucket name {problem}")
    if any(char.isspace() for char in value) or "//" in (match.group("path") or ""):
        raise ValueError(f"the path of {value!r} must not contain spaces or '//'")
    return value


@cache
def _sql_type(value: str) -> str:
    if not _SQL_TYPE.fullmatch(value.strip()):
        if "(" in value and ")" not in value:
            raise ValueError(
                f"unsupported column type {value!r}: inside {{...}} a comma ends the value, so quote the type"
                ' (type: "NUMBER(38,0)")'
            )
        raise ValueError(f"unsupported column type {value!r} (e.g. VARCHAR(200), NUMBER(38,0), TIMESTAMP_NTZ(6))")
    return re.sub(r"\s+", "", value.strip()).upper()


def _sql_expression(value: str) -> str:
    """Raw SQL fragments from YAML (filters): one expression, no statement or body terminators, no comments."""
    if "$$" in value:
        raise ValueError("must not contain '$$' (it would end the procedure body)")
    if ";" in value:
        raise ValueError("must not contain ';' (one expression, not statements)")
    if "--" in value or "/*" in value or "//" in value:
        raise ValueError("must not contain SQL comments (--, // or /*)")
    if not value.strip():
        raise ValueError("must not be empty (leave the field out instead)")
    control = next((c for c in value if (ord(c) < 32 and c not in "\n\r\t") or c in "\x7f\u2028\u2029"), None)
    if control is not None:
        raise ValueError(f"must not contain the control character {control!r}")
    # sqlglot is heavy: imported only when a spec has a SQL fragment.
    from sqlglot import exp
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.errors import ParseError, SqlglotError

    try:
        tokens = Snowflake().tokenizer_class().tokenize(value)
        strings = [value[t.start : t.end + 1] for t in tokens if t.token_type.name == "STRING"]
        if any(c in text for text in strings for c in "\n\r\t"):
            # the text is indented inside procedure bodies, which would change a literal spanning lines
            raise ValueError(f"a string literal must not span lines or hold tabs (write \\n or \\t): {value!r}")
        exp.condition(value, dialect="snowflake")
    except RecursionError:
        raise ValueError("nested too deeply to read (parentheses within parentheses)") from None
    except ParseError as exc:
        details = exc.errors[0] if exc.errors else {}
        description = str(details.get("description") or "cannot parse it")
        near = details.get("highlight")
        if description.startswith("Invalid expression") and near:
            reason = f"unexpected {near!r}"
        elif description.startswith("Required keyword") and near:
            reason = f"an operand is missing after {near!r}"
        else:
            reason = description[0].lower() + description[1:] + (f" near {near!r}" if near else "")
        raise ValueError(f"not a single SQL expression ({reason}): {value!r}") from exc
    except SqlglotError as exc:
        raise ValueError(f"not a single SQL expression (cannot read it: an unterminated quote?): {value!r}") from exc
    return value


def _pattern(regex: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        # fullmatch: a pattern's `$` would also accept a trailing newline
        if not regex.fullmatch(value):
            raise ValueError(f"{message} (got {value!r})")
        return value

    return AfterValidator(check)


def _source_prefix(value: str) -> str:
    if value.startswith("/") or "//" in value:
        raise ValueError(f"must be relative to the bucket, without '//' (e.g. raw_data/customer/), got {value!r}")
    if not _PREFIX.fullmatch(value):
        raise ValueError(
            "must be an S3 key prefix ending in '/', of letters, digits and !_.*'()/- (e.g. raw_data/customer/),"
            f" got {value!r}"
        )
    return value


Name = Annotated[str, AfterValidator(_identifier)]
PlainName = Annotated[str, AfterValidator(_plain_identifier)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
SnsTopicArn = Annotated[str, AfterValidator(_sns_arn)]
S3Url = Annotated[str, AfterValidator(_s3_url)]
BucketName = Annotated[str, AfterValidator(_bucket)]
SqlType = Annotated[str, AfterValidator(_sql_type)]
SqlExpression = Annotated[str, AfterValidator(_sql_expression)]
Comment = Annotated[str, Field(max_length=1000)]
Collation = Annotated[
    str, _pattern(_COLLATION_SPEC, "not a collation specification (a language and options, e.g. en-ci or en-ci-rtrim)")
]
AwsRegion = Annotated[str, _pattern(_AWS_REGION, "not an AWS region name (e.g. us-east-1)")]


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
    external_id: Annotated[
        str,
        Field(min_length=2, max_length=1224),
        _pattern(_EXTERNAL_ID, "may only contain letters, digits and _+=,.@:/-"),
    ]
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
    connection: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    role: Name | None = None
    aws_region: AwsRegion | None = None
    aws_endpoint_url: Annotated[str, _pattern(re.compile(r"^https?://\S+$"), "not an http(s):// URL")] | None = None


class LocalTargetSpec(Strict):
    type: Literal["local"]
    path: Annotated[str, Field(min_length=1)] = ".retail-etl"
    # With an AWS endpoint (moto, an S3-compatible service) plan and apply wire the AWS side as for Snowflake.
    aws_region: AwsRegion | None = None
    aws_endpoint_url: Annotated[str, _pattern(re.compile(r"^https?://\S+$"), "not an http(s):// URL")] | None = None


TargetSpec = Annotated[SnowflakeTargetSpec | LocalTargetSpec, Field(discriminator="type")]


class EnvironmentSpec(Strict):
    """An overlay applied on top of the project file (e.g. another database name for dev)."""

    database: Name | None = None
    warehouse: Name | None = None
    bucket: BucketName | None = None
    target: str | None = None
    task_enabled: bool | None = None


@cache
def _normalized_cron(value: str) -> str:
    """A Snowflake task cron expression, whitespace normalized (croniter's check costs ~0.1 ms a call)."""
    normalized = " ".join(value.split())
    fields = normalized.split(" ") if normalized else []
    if len(fields) != 5:
        raise ValueError(
            f"not a 5-field cron expression (minute hour day-of-month month day-of-week): {value!r} has"
            f" {len(fields)} field(s)"
        )
    if _CRON_UNSUPPORTED.search(normalized) or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        raise ValueError(
            f"unsupported cron syntax in {value!r}: Snowflake allows numbers, names, *, L, lists (,), ranges (-)"
            " and steps (/n), not ?, W or #"
        )
    if not croniter.is_valid(for_croniter(normalized)):
        raise ValueError(
            f"invalid cron expression {value!r} (minute 0-59, hour 0-23, day-of-month 1-31 or L, month 1-12,"
            " day-of-week 0-6, e.g. 5L for the month's last Friday)"
        )
    return normalized


class ScheduleSpec(Strict):
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return _normalized_cron(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. America/New_York, Europe/Paris, UTC)") from exc
        return value


class TaskDefaults(Strict):
    schedule: ScheduleSpec = ScheduleSpec(cron="0 0 * * *", timezone="America/New_York")
    enabled: bool = True
    warehouse: Name | None = None


class PipelineDefaults(Strict):
    task: TaskDefaults = TaskDefaults()
    procedure_language: Literal["javascript", "sql"] = "javascript"
    time_zone_label: Annotated[str, Field(max_length=3)] = "EST"
    instance_label: Annotated[str, Field(max_length=50)] = "STANDARD"


class ProjectSpec(Strict):
    project: Annotated[
        str,
        _pattern(_PROJECT_NAME, "must start with a lower-case letter and use only a-z, 0-9, _ and -"),
    ]
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
        known = ", ".join(sorted(self.targets)) or "none"
        if self.default_target not in self.targets:
            raise located(
                ("default_target",), f"unknown target {self.default_target!r} (targets in this file: {known})"
            )
        for env_name, env in self.environments.items():
            if env.target is not None and env.target not in self.targets:
                raise located(
                    ("environments", env_name, "target"),
                    f"unknown target {env.target!r} (targets in this file: {known})",
                )
        return self


# --- pipeline file --------------------------------------------------------------------------------------------


def _file_name_pattern(value: str) -> str:
    if "/" in value:
        raise ValueError(
            f"a pattern matches a file's name, not a path ({value!r} has a '/'); the key's folders come from prefix"
            " and partition_by_date"
        )
    return value


class SourceSpec(Strict):
    prefix: Annotated[str, Field(max_length=512), AfterValidator(_source_prefix)]
    bucket: BucketName | None = None
    patterns: list[Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_file_name_pattern)]] = Field(
        min_length=1
    )
    partition_by_date: bool = False


class FileFormatSpec(Strict):
    name: Name | None = None
    field_delimiter: Annotated[str, Field(min_length=1, max_length=20)] = ","
    record_delimiter: Annotated[str, Field(min_length=1, max_length=20)] = "\n"
    field_optionally_enclosed_by: Literal['"', "'"] | None = None
    skip_header: Annotated[int, Field(ge=0, le=100, strict=True)] = 0  # strict: `true` is not 1
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
            raise located(
                ("field_delimiter",),
                f"field_delimiter {self.field_delimiter!r} and record_delimiter {self.record_delimiter!r} must not"
                " be substrings of each other",
            )
        return self


class ColumnSpec(Strict):
    name: Name
    type: SqlType = "VARCHAR"
    nullable: bool = True
    collate: Collation | None = None
    comment: Comment | None = None
    position: Annotated[int, Field(ge=1, le=10000)] | None = None


class TableSpec(Strict):
    """What the landing and the SILVER table share."""

    name: Name | None = None
    columns: list[ColumnSpec] = Field(min_length=1)
    collate: Collation | None = None
    transient: bool = False
    comment: Comment | None = None
    data_retention_days: Annotated[int, Field(ge=0, le=90)] | None = None

    @field_validator("data_retention_days")
    @classmethod
    def _transient_retention(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value > 1 and info.data.get("transient"):
            raise ValueError("a transient table keeps Time Travel for 0 or 1 day at most")
        return value


class LandingTableSpec(TableSpec):
    """The BRONZE landing table; ``collate`` is the default collation of its declared text columns."""


class StageSpec(Strict):
    name: Name | None = None
    comment: Comment | None = None


class PipeSpec(Strict):
    name: Name | None = None
    auto_ingest: bool = True
    comment: Comment | None = None
    on_error: Annotated[str, _pattern(_ON_ERROR, "must be CONTINUE, SKIP_FILE, SKIP_FILE_<n> or SKIP_FILE_<n>%")] = (
        "SKIP_FILE"
    )


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
    constants: dict[Name, Annotated[str, Field(max_length=200)]] = {}
    comment: Comment | None = None


class TaskSpec(Strict):
    name: Name | None = None
    schedule: ScheduleSpec | None = None
    enabled: bool | None = None
    warehouse: Name | None = None
    serverless: bool = False
    comment: Comment | None = None

    @model_validator(mode="after")
    def _warehouse_or_serverless(self) -> TaskSpec:
        if self.serverless and self.warehouse is not None:
            raise located(("warehouse",), "a task is either serverless or runs on a warehouse, not both")
        return self


class SilverTableSpec(TableSpec):
    """The SILVER table; ``collate`` is the default collation of every text column, audit columns included."""

    primary_key: list[Name] = []


class ViewSpec(Strict):
    name: Name | None = None
    columns: list[Name] | None = None
    source: Name | None = None
    where: SqlExpression | None = None
    secure: bool = False
    comment: Comment | None = None


class PipelineSpec(Strict):
    pipeline: Annotated[
        str,
        Field(max_length=60),
        _pattern(
            _PIPELINE_NAME, "must start with a lower-case letter and use only a-z, 0-9 and _, as it names the objects"
        ),
    ]
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
