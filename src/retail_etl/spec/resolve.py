"""From validated specs to the desired objects: names derived from the entity, defaults filled, cross-checked.

Every object a pipeline needs is derived here, so the templates and the planner never see a spec file. All
cross-object problems are collected and raised together, each pointing at the field in its file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from retail_etl.identifiers import Identifier, QualifiedName
from retail_etl.objects.base import DesiredObject, ObjectRef
from retail_etl.objects.container import DatabaseObject, SchemaObject
from retail_etl.objects.ingest import (
    CopyColumn,
    PipeObject,
    ProcedureObject,
    StreamObject,
    TaskObject,
    TransformColumn,
    TransformObject,
    ViewObject,
)
from retail_etl.objects.integration import NotificationIntegrationObject, StorageIntegrationObject
from retail_etl.objects.storage import FileFormatObject, StageObject
from retail_etl.objects.table import Column, TableObject
from retail_etl.plan.graph import CycleError, dependency_graph, topological_order
from retail_etl.spec.load import LoadedProject, PipelineSource, SpecError
from retail_etl.spec.models import ColumnSpec
from retail_etl.spec.yaml_source import Location, SourceIssue, dotted

# Metadata columns the pipe fills on every landing row (and their load expressions), as in the original system.
INSERT_TS = Identifier("INSERT_DTS")
UPDATE_TS = Identifier("UPDATE_DTS")
SOURCE_FILE = Identifier("SOURCE_FILE_NAME")
SOURCE_ROW = Identifier("SOURCE_FILE_ROW_NUMBER")
LANDING_METADATA = (
    (Column(name=INSERT_TS, type="TIMESTAMP_NTZ(6)", nullable=False), "CURRENT_TIMESTAMP(6)"),
    (Column(name=UPDATE_TS, type="TIMESTAMP_NTZ(6)", nullable=False), "CURRENT_TIMESTAMP(6)"),
    (Column(name=SOURCE_FILE, type="VARCHAR(500)", nullable=False), "METADATA$FILENAME"),
    (Column(name=SOURCE_ROW, type="NUMBER(38,0)", nullable=False), "METADATA$FILE_ROW_NUMBER"),
)
# The pipe's COPY entries that fill them (one shared tuple, like the columns).
LANDING_METADATA_COPY = tuple(
    CopyColumn(name=column.name, expression=expression) for column, expression in LANDING_METADATA
)
# SILVER audit columns: (name, type, where the value comes from).
TIME_ZONE = Identifier("TIME_ZONE")
SOURCE_SYSTEM = Identifier("SOURCE_SYS_NAME")
INSTANCE = Identifier("INSTNC_ST_NM")
PROCESS_ID = Identifier("PROCESS_ID")
PROCESS_NAME = Identifier("PROCESS_NAME")
HASH = Identifier("MD5_HASH")
SILVER_METADATA = (
    (TIME_ZONE, "VARCHAR(3)"),
    (SOURCE_SYSTEM, "VARCHAR(20)"),
    (INSTANCE, "VARCHAR(50)"),
    (PROCESS_ID, "VARCHAR(100)"),
    (PROCESS_NAME, "VARCHAR(200)"),
    (INSERT_TS, "TIMESTAMP_NTZ(6)"),
    (UPDATE_TS, "TIMESTAMP_NTZ(6)"),
    (HASH, "VARCHAR(80)"),
)


@cache
def _audit_columns(collate: str | None) -> tuple[Column, ...]:
    """The SILVER audit columns of a table whose text columns default to ``collate`` (frozen: the tables share them,
    as they share the landing metadata columns)."""
    return tuple(
        Column(name=name, type=type_text, nullable=False, collate=collate if _is_text(type_text) else None)
        for name, type_text in SILVER_METADATA
    )


@dataclass(frozen=True)
class ResolvedPipeline:
    """The objects of one pipeline, by role (used by upload routing, status and the local target)."""

    entity: str
    source_file: str
    bucket: str
    prefix: str
    patterns: tuple[str, ...]
    partition_by_date: bool
    file_format: FileFormatObject
    stage: StageObject
    landing: TableObject
    pipe: PipeObject
    stream: StreamObject
    procedure: ProcedureObject
    task: TaskObject
    silver: TableObject
    view: ViewObject | None

    def objects(self) -> list[DesiredObject]:
        found: list[DesiredObject] = [
            self.file_format,
            self.stage,
            self.landing,
            self.pipe,
            self.stream,
            self.silver,
            self.procedure,
            self.task,
        ]
        if self.view is not None:
            found.append(self.view)
        return found


@dataclass(frozen=True)
class DesiredState:
    database: Identifier
    objects: list[DesiredObject]
    pipelines: list[ResolvedPipeline]

    def by_ref(self) -> dict[ObjectRef, DesiredObject]:
        return {obj.ref: obj for obj in self.objects}


class _Issues:
    def __init__(self) -> None:
        self.found: list[SourceIssue] = []

    def add(self, source: PipelineSource, location: Location, message: str, *, key: bool = False) -> None:
        self.found.append(SourceIssue(source.document.position_of(location, key=key), dotted(location), message))


def _check_duplicates(
    source: PipelineSource, issues: _Issues, names: list[str], location: Location, what: str, *, suffix: Location = ()
) -> None:
    """Names in one list that mean the same Snowflake identifier (``city`` and ``CITY`` included)."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        stored = Identifier.parse(name).stored
        if stored in first:
            issues.add(
                source,
                (*location, index, *suffix),
                f"{what} {stored} is listed twice (also {dotted((*location, first[stored]))})",
            )
        else:
            first[stored] = index


def _column(spec: ColumnSpec, default_collate: str | None) -> Column:
    collate = spec.collate if spec.collate is not None else (default_collate if _is_text(spec.type) else None)
    return Column(
        name=Identifier.parse(spec.name), type=spec.type, nullable=spec.nullable, collate=collate, comment=spec.comment
    )


@cache
def _is_text(type_text: str) -> bool:
    return type_text.split("(", maxsplit=1)[0].upper() in {"VARCHAR", "STRING", "TEXT", "CHAR", "CHARACTER"}


def resolve(loaded: LoadedProject) -> DesiredState:
    """Build every desired object; raise :class:`SpecError` with all cross-object problems."""
    project = loaded.project
    overlay = loaded.overlay
    database = Identifier.parse(overlay.database or project.database)
    bronze = QualifiedName(name=Identifier.parse(project.schemas.bronze), database=database)
    silver = QualifiedName(name=Identifier.parse(project.schemas.silver), database=database)
    gold = QualifiedName(name=Identifier.parse(project.schemas.gold), database=database)
    warehouse = Identifier.parse(overlay.warehouse or project.warehouse)
    default_bucket = overlay.bucket or project.bucket
    project_file = str(loaded.project_document.path)

    storage = project.storage_integration
    notification = project.notification_integration
    storage_ref = QualifiedName(name=Identifier.parse(storage.name))
    notification_ref = QualifiedName(name=Identifier.parse(notification.name))
    objects: list[DesiredObject] = [
        DatabaseObject(
            name=QualifiedName(name=database), comment=f"retail-etl project {project.project}", source_file=project_file
        ),
        *[
            SchemaObject(name=schema, comment=f"{layer} layer", source_file=project_file)
            for layer, schema in (("bronze", bronze), ("silver", silver), ("gold", gold))
        ],
        StorageIntegrationObject(
            name=storage_ref,
            role_arn=storage.role_arn,
            allowed_locations=tuple(storage.allowed_locations),
            blocked_locations=tuple(storage.blocked_locations),
            external_id=storage.external_id,
            enabled=storage.enabled,
            comment=storage.comment,
            source_file=project_file,
        ),
        NotificationIntegrationObject(
            name=notification_ref,
            topic_arn=notification.topic_arn,
            role_arn=notification.role_arn,
            enabled=notification.enabled,
            comment=notification.comment,
            source_file=project_file,
        ),
    ]
    issues = _Issues()
    pipelines = []
    for source in loaded.pipelines:
        resolved = _resolve_pipeline(
            loaded,
            source,
            issues,
            bronze=bronze,
            silver=silver,
            gold=gold,
            warehouse=warehouse,
            bucket=default_bucket,
            storage=storage_ref,
            notification=notification_ref,
        )
        if resolved is not None:
            pipelines.append(resolved)
            objects.extend(resolved.objects())
    objects = _check_unique(objects, pipelines, loaded, issues)
    _check_locations(pipelines, loaded, issues)
    if not issues.found:
        _check_acyclic(objects, loaded, issues)
    if issues.found:
        raise SpecError(issues.found)
    return DesiredState(database, objects, pipelines)


def _check_acyclic(objects: list[DesiredObject], loaded: LoadedProject, issues: _Issues) -> None:
    """The objects must be creatable in some order; a cycle is reported at the file of its first object."""
    refs = {obj.ref: obj for obj in objects}
    try:
        topological_order(dependency_graph(refs))
    except CycleError as cycle:
        first = refs[cycle.cycle[0]]
        source = next((s for s in loaded.pipelines if str(s.document.path) == first.source_file), None)
        if source is not None:
            issues.add(source, ("pipeline",), str(cycle))
        else:
            issues.found.append(SourceIssue(loaded.project_document.position_of(()), "", str(cycle)))


def _resolve_pipeline(
    loaded: LoadedProject,
    source: PipelineSource,
    issues: _Issues,
    *,
    bronze: QualifiedName,
    silver: QualifiedName,
    gold: QualifiedName,
    warehouse: Identifier,
    bucket: str,
    storage: QualifiedName,
    notification: QualifiedName,
) -> ResolvedPipeline | None:
    spec = source.spec
    defaults = loaded.project.defaults
    entity = spec.pipeline.upper()
    file_name = str(source.document.path)
    before = len(issues.found)

    def in_schema(schema: QualifiedName, explicit: str | None, derived: str) -> QualifiedName:
        return QualifiedName(name=Identifier.parse(explicit or derived), database=schema.database, schema=schema.name)

    # Landing table: declared columns, then the load metadata.
    landing_columns = [_column(c, spec.landing.collate) for c in spec.landing.columns]
    landing_names = [c.name.stored for c in landing_columns]
    _check_duplicates(
        source,
        issues,
        [c.name for c in spec.landing.columns],
        ("landing", "columns"),
        "landing column",
        suffix=("name",),
    )
    metadata_names = {column.name.stored for column, _ in LANDING_METADATA}
    for index, stored in enumerate(landing_names):
        if stored in metadata_names:
            issues.add(
                source,
                ("landing", "columns", index, "name"),
                f"{stored} is a metadata column the pipe fills itself; remove it from landing.columns",
            )
    # The pipe's COPY maps file column $n to each landing column: two columns cannot read the same $n.
    positions: dict[int, int] = {}
    copy_columns = []
    for index, column_spec in enumerate(spec.landing.columns):
        position = column_spec.position or index + 1
        if position in positions:
            first = positions[position]
            explicit = source.document.has(("landing", "columns", index, "position"))
            issues.add(
                source,
                ("landing", "columns", index, "position" if explicit else "name"),
                f"file column ${position} is already mapped to {spec.landing.columns[first].name}"
                f" (landing.columns[{first}]); each $n can load only one landing column",
            )
        else:
            positions[position] = index
        copy_columns.append(CopyColumn(name=Identifier.parse(column_spec.name), position=position))
    landing_columns.extend(column for column, _ in LANDING_METADATA)
    copy_columns.extend(LANDING_METADATA_COPY)
    file_format = FileFormatObject(
        name=in_schema(bronze, spec.file_format.name, f"{entity}_CSV_FORMAT"),
        field_delimiter=spec.file_format.field_delimiter,
        record_delimiter=spec.file_format.record_delimiter,
        field_optionally_enclosed_by=spec.file_format.field_optionally_enclosed_by,
        skip_header=spec.file_format.skip_header,
        null_if=tuple(spec.file_format.null_if),
        empty_field_as_null=spec.file_format.empty_field_as_null,
        trim_space=spec.file_format.trim_space,
        compression=spec.file_format.compression,
        encoding=spec.file_format.encoding.replace("-", "")
        if spec.file_format.encoding == "UTF-8"
        else spec.file_format.encoding,
        error_on_column_count_mismatch=spec.file_format.error_on_column_count_mismatch,
        comment=spec.file_format.comment,
        source_file=file_name,
    )
    source_bucket = spec.source.bucket or bucket
    stage = StageObject(
        name=in_schema(bronze, spec.stage.name, f"SOURCE_DATA_{entity}_STAGE"),
        url=f"s3://{source_bucket}/{spec.source.prefix}",
        storage_integration=storage,
        comment=spec.stage.comment,
        source_file=file_name,
    )
    landing = TableObject(
        name=in_schema(bronze, spec.landing.name, f"WORK_{entity}_COPY"),
        columns=tuple(landing_columns),
        transient=spec.landing.transient,
        data_retention_days=spec.landing.data_retention_days,
        comment=spec.landing.comment,
        source_file=file_name,
    )
    pipe = PipeObject(
        name=in_schema(bronze, spec.pipe.name, f"WORK_{entity}_SRC_TO_SL_PIPE"),
        table=landing.name,
        stage=stage.name,
        file_format=file_format.name,
        columns=tuple(copy_columns),
        auto_ingest=spec.pipe.auto_ingest,
        error_integration=notification,
        on_error=spec.pipe.on_error,
        comment=spec.pipe.comment,
        source_file=file_name,
    )
    stream = StreamObject(
        name=in_schema(bronze, spec.stream.name, f"WORK_{entity}_SRC_TO_SL_STREAM"),
        table=landing.name,
        comment=spec.stream.comment,
        source_file=file_name,
    )

    # SILVER: declared business columns, then the audit columns.
    silver_columns = [_column(c, spec.silver.collate) for c in spec.silver.columns]
    _check_duplicates(
        source, issues, [c.name for c in spec.silver.columns], ("silver", "columns"), "silver column", suffix=("name",)
    )
    audit_names = {name.stored for name, _ in SILVER_METADATA}
    for index, column in enumerate(silver_columns):
        if column.name.stored in audit_names:
            issues.add(
                source,
                ("silver", "columns", index, "name"),
                f"{column.name.stored} is an audit column retail-etl adds itself; remove it from silver.columns",
            )
    silver_columns.extend(_audit_columns(spec.silver.collate))
    silver_table = TableObject(
        name=in_schema(silver, spec.silver.name, entity),
        columns=tuple(silver_columns),
        primary_key=tuple(Identifier.parse(k) for k in spec.silver.primary_key),
        transient=spec.silver.transient,
        data_retention_days=spec.silver.data_retention_days,
        comment=spec.silver.comment,
        source_file=file_name,
    )
    silver_names = [c.name.stored for c in silver_columns]
    _check_duplicates(source, issues, spec.silver.primary_key, ("silver", "primary_key"), "primary key column")
    audit_names = {name.stored for name, _ in SILVER_METADATA}
    nullable = {c.name.stored for c in silver_columns if c.nullable and c.name.stored not in audit_names}
    for index, key in enumerate(spec.silver.primary_key):
        stored = Identifier.parse(key).stored
        if stored not in silver_names:
            issues.add(
                source,
                ("silver", "primary_key", index),
                f"primary key column {stored} is not a column of the silver table",
            )
        elif stored in nullable:
            issues.add(
                source,
                ("silver", "primary_key", index),
                f"primary key column {stored} must be declared nullable: false (Snowflake makes primary-key"
                " columns NOT NULL, so the table would never match the spec)",
            )

    procedure_name = in_schema(bronze, spec.transform.procedure, f"WORK_{entity}_SRC_TO_SL_SP")
    constants = {Identifier.parse(k).stored: v for k, v in spec.transform.constants.items()}
    metadata_values: dict[str, tuple[Literal["stream", "constant", "session", "hash"], str | None]] = {
        TIME_ZONE.stored: ("constant", constants.pop(TIME_ZONE.stored, defaults.time_zone_label)),
        SOURCE_SYSTEM.stored: ("constant", constants.pop(SOURCE_SYSTEM.stored, entity)),
        INSTANCE.stored: ("constant", constants.pop(INSTANCE.stored, defaults.instance_label)),
        PROCESS_ID.stored: ("session", None),
        PROCESS_NAME.stored: ("constant", procedure_name.display),
        INSERT_TS.stored: ("stream", None),
        UPDATE_TS.stored: ("stream", None),
        HASH.stored: ("hash", None),
    }
    transform_columns = []
    for index, column in enumerate(silver_columns):
        stored = column.name.stored
        origin: Literal["stream", "constant", "session", "hash"]
        if stored in metadata_values:
            origin, value = metadata_values[stored]
        elif stored in constants:
            origin, value = "constant", constants.pop(stored)
        elif stored in landing_names:
            origin, value = "stream", None
        else:
            issues.add(
                source,
                ("silver", "columns", index, "name"),
                f"silver column {stored} is neither a landing column nor a transform constant"
                " (add it to landing.columns or to transform.constants)",
            )
            continue
        transform_columns.append(TransformColumn(name=column.name, type=column.type, source=origin, value=value))
    for constant_key in spec.transform.constants:
        stored = Identifier.parse(constant_key).stored
        if stored in constants:
            problem = (
                "is an audit column retail-etl fills itself"
                if stored in audit_names
                else "is not a column of the silver table"
            )
            issues.add(source, ("transform", "constants", constant_key), f"{stored} {problem}", key=True)
    for field, names in (("merge_keys", spec.transform.merge_keys), ("hash_columns", spec.transform.hash_columns)):
        _check_duplicates(source, issues, names, ("transform", field), "column")
        what = "merge key" if field == "merge_keys" else "hash column"
        for index, key in enumerate(names):
            stored = Identifier.parse(key).stored
            if stored in audit_names:
                issues.add(
                    source,
                    ("transform", field, index),
                    f"{what} {stored} is an audit column retail-etl fills; use business columns",
                )
            elif stored not in silver_names:
                issues.add(source, ("transform", field, index), f"{what} {stored} is not a column of the silver table")
            elif field == "merge_keys" and stored not in landing_names:
                issues.add(
                    source,
                    ("transform", field, index),
                    f"merge key {stored} is not a landing column (the MERGE matches stream rows on it)",
                )
    transform = TransformObject(
        stream=stream.name,
        xfm_table=in_schema(silver, spec.transform.xfm_table, f"WORK_{entity}_XFM"),
        target=silver_table.name,
        columns=tuple(transform_columns),
        merge_keys=tuple(Identifier.parse(k) for k in spec.transform.merge_keys),
        hash_columns=tuple(Identifier.parse(k) for k in spec.transform.hash_columns),
        hash_column=HASH,
        update_ts=UPDATE_TS,
        insert_ts=INSERT_TS,
        filter=spec.transform.filter,
        order_columns=(INSERT_TS, SOURCE_FILE, SOURCE_ROW),
    )
    language = (spec.transform.language or defaults.procedure_language).upper()
    procedure = ProcedureObject(
        name=procedure_name,
        language=language,
        transform=transform,
        comment=spec.transform.comment,
        source_file=file_name,
    )
    task_defaults = defaults.task
    overlay_enabled = loaded.overlay.task_enabled
    schedule = spec.task.schedule or task_defaults.schedule
    enabled = spec.task.enabled if spec.task.enabled is not None else task_defaults.enabled
    if overlay_enabled is not None:
        enabled = enabled and overlay_enabled
    task = TaskObject(
        name=in_schema(bronze, spec.task.name, f"WORK_{entity}_SRC_TO_SL_TASK"),
        warehouse=None
        if spec.task.serverless
        else Identifier.parse(spec.task.warehouse or task_defaults.warehouse or warehouse.stored),
        cron=schedule.cron,
        timezone=schedule.timezone,
        procedure=procedure.name,
        stream=stream.name,
        error_integration=notification,
        enabled=enabled,
        comment=spec.task.comment,
        source_file=file_name,
    )
    view = None
    if spec.view is not None:
        view_source = silver_table.name
        if spec.view.source is not None and Identifier.parse(spec.view.source) != silver_table.name.name:
            issues.add(
                source,
                ("view", "source"),
                f"view source {spec.view.source!r} is not this pipeline's silver table {silver_table.name.display}",
            )
        columns = spec.view.columns or silver_names
        _check_duplicates(source, issues, spec.view.columns or [], ("view", "columns"), "view column")
        for index, column_name in enumerate(spec.view.columns or []):
            if Identifier.parse(column_name).stored not in silver_names:
                issues.add(
                    source,
                    ("view", "columns", index),
                    f"{Identifier.parse(column_name).stored} is not a column of {view_source.display}",
                )
        view = ViewObject(
            name=in_schema(gold, spec.view.name, f"{entity}_VIEW"),
            source=view_source,
            columns=tuple(Identifier.parse(c) for c in columns),
            where=spec.view.where,
            secure=spec.view.secure,
            comment=spec.view.comment,
            source_file=file_name,
        )
    if len(issues.found) > before:
        return None
    return ResolvedPipeline(
        entity=spec.pipeline,
        source_file=file_name,
        bucket=source_bucket,
        prefix=spec.source.prefix,
        patterns=tuple(spec.source.patterns),
        partition_by_date=spec.source.partition_by_date,
        file_format=file_format,
        stage=stage,
        landing=landing,
        pipe=pipe,
        stream=stream,
        procedure=procedure,
        task=task,
        silver=silver_table,
        view=view,
    )


# Where each object of a pipeline is named in its file: (kind of role, the spec field that names it).
_NAMED_BY: dict[str, Location] = {
    "file_format": ("file_format", "name"),
    "stage": ("stage", "name"),
    "landing": ("landing", "name"),
    "pipe": ("pipe", "name"),
    "stream": ("stream", "name"),
    "silver": ("silver", "name"),
    "xfm_table": ("transform", "xfm_table"),
    "procedure": ("transform", "procedure"),
    "task": ("task", "name"),
    "view": ("view", "name"),
}


@dataclass(frozen=True)
class _Named:
    """One name a pipeline claims, with the spec field that gives it (or the pipeline name it derives from)."""

    namespace: str
    name: QualifiedName
    kind: str
    source: PipelineSource
    location: Location
    obj: DesiredObject | None


def _claims(pipeline: ResolvedPipeline, source: PipelineSource) -> list[_Named]:
    roles: list[tuple[str, str, QualifiedName, DesiredObject | None]] = [
        ("file_format", "file_format", pipeline.file_format.name, pipeline.file_format),
        ("stage", "stage", pipeline.stage.name, pipeline.stage),
        ("landing", "table", pipeline.landing.name, pipeline.landing),
        ("pipe", "pipe", pipeline.pipe.name, pipeline.pipe),
        ("stream", "stream", pipeline.stream.name, pipeline.stream),
        ("silver", "table", pipeline.silver.name, pipeline.silver),
        ("xfm_table", "table", pipeline.procedure.transform.xfm_table, None),
        ("procedure", "procedure", pipeline.procedure.name, pipeline.procedure),
        ("task", "task", pipeline.task.name, pipeline.task),
    ]
    if pipeline.view is not None:
        roles.append(("view", "view", pipeline.view.name, pipeline.view))
    claims = []
    for role, kind, name, obj in roles:
        location = _NAMED_BY[role]
        if not source.document.has(location):
            location = ("pipeline",)  # derived from the pipeline name
        # Tables and views share one namespace in a schema; the other kinds each have their own.
        namespace = "relation" if kind in ("table", "view") else kind
        claims.append(_Named(namespace, name, kind, source, location, obj))
    return claims


def _check_unique(
    objects: list[DesiredObject], pipelines: list[ResolvedPipeline], loaded: LoadedProject, issues: _Issues
) -> list[DesiredObject]:
    """Two pipelines must not define the same object; returns ``objects`` without shared identical file formats.

    A file format is the one object several pipelines may share (the original system had one MY_CSV_FORMAT),
    as long as every pipeline defines it the same way.
    """
    by_file = {str(s.document.path): s for s in loaded.pipelines}
    seen: dict[tuple[str, QualifiedName], _Named] = {}
    shared: set[int] = set()
    for pipeline in pipelines:
        for claim in _claims(pipeline, by_file[pipeline.source_file]):
            key = (claim.namespace, claim.name)
            other = seen.get(key)
            if other is None:
                seen[key] = claim
                continue
            if (
                claim.kind == other.kind == "file_format"
                and claim.obj is not None
                and other.obj is not None
                and claim.obj.state() == other.obj.state()
            ):
                shared.add(id(claim.obj))
                continue
            if other.source is claim.source:
                where = f"its {dotted(other.location)}"
            else:
                where = f"{loaded.display(other.source.document.path)} ({dotted(other.location)})"
            what = "a file format with other settings" if claim.kind == other.kind == "file_format" else ""
            derived = " (derived from the pipeline name)" if claim.location == ("pipeline",) else ""
            issues.add(
                claim.source,
                claim.location,
                f"{claim.kind.replace('_', ' ')} {claim.name.display}{derived} is also defined by {where}"
                + (f" as {what}" if what else "")
                + "; give one of them another name",
            )
    return [obj for obj in objects if id(obj) not in shared]


def _check_locations(pipelines: list[ResolvedPipeline], loaded: LoadedProject, issues: _Issues) -> None:
    """Every stage inside the storage integration's allowed (and outside its blocked) locations, and no two
    pipelines over the same files.

    Overlapping stage prefixes would load the same files twice, and S3 rejects overlapping event notifications.
    """
    by_file = {str(s.document.path): s for s in loaded.pipelines}
    storage = loaded.project.storage_integration
    for pipeline in pipelines:
        source = by_file[pipeline.source_file]
        url = f"s3://{pipeline.bucket}/{pipeline.prefix}"
        location: Location = ("source", "bucket") if source.spec.source.bucket else ("source", "prefix")
        if "*" not in storage.allowed_locations and not any(
            url.startswith(_as_prefix(allowed)) for allowed in storage.allowed_locations
        ):
            issues.add(
                source,
                location,
                f"stage URL {url} is outside the storage integration's allowed_locations"
                f" ({', '.join(storage.allowed_locations)}): Snowflake would refuse to read it",
            )
        blocked = [b for b in storage.blocked_locations if url.startswith(_as_prefix(b))]
        if blocked:
            issues.add(
                source,
                location,
                f"stage URL {url} is inside the storage integration's blocked_locations ({', '.join(blocked)})",
            )
    # Sorted by location, a prefix comes right before the prefixes it contains: one pass with a stack of the
    # prefixes still open finds every overlap (a quadratic scan takes seconds for a thousand pipelines).
    order = {id(p): index for index, p in enumerate(pipelines)}
    open_prefixes: list[ResolvedPipeline] = []
    for current in sorted(pipelines, key=lambda p: (p.bucket, p.prefix)):
        while open_prefixes and not (
            open_prefixes[-1].bucket == current.bucket and current.prefix.startswith(open_prefixes[-1].prefix)
        ):
            open_prefixes.pop()
        if open_prefixes:
            first, second = sorted((open_prefixes[-1], current), key=lambda p: order[id(p)])
            issues.add(
                by_file[second.source_file],
                ("source", "prefix"),
                f"prefix {second.prefix!r} overlaps prefix {first.prefix!r} of pipeline {first.entity!r}"
                f" ({loaded.display(first.source_file)}) in bucket {first.bucket}: the same files would load"
                " into both",
            )
        open_prefixes.append(current)


def _as_prefix(location: str) -> str:
    """``s3://bucket`` -> ``s3://bucket/``; a location is a prefix of the stage URLs it covers."""
    return location if location.endswith("/") or location.count("/") > 2 else location + "/"
