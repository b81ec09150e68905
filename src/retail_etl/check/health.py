"""The health checks of `retail-etl check`, one :class:`CheckResult` per pipeline and check.

The ``evaluate_*`` functions are pure: what the account (or S3, or the local runtime) answered goes in, verdicts
come out, so every unhealthy shape is testable without an account. :func:`snowflake_checks` and
:func:`local_checks` do the I/O and hand the answers to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from retail_etl.identifiers import sql_literal
from retail_etl.targets.session import SessionError

if TYPE_CHECKING:
    from retail_etl.aws.notifications import PipeNotification
    from retail_etl.identifiers import QualifiedName
    from retail_etl.local.pipes import PipeStatus
    from retail_etl.local.runtime import LocalRuntime
    from retail_etl.spec.resolve import ResolvedPipeline
    from retail_etl.targets.session import Session

INTEGRATION, PIPE, TASK, STREAM, NOTIFICATION = (
    "storage integration",
    "pipe",
    "task",
    "stream",
    "bucket notification",
)
# A file name for SYSTEM$VALIDATE_STORAGE_INTEGRATION: 'list' only lists the location, it never reads or writes it,
# so a health check cannot leave a test file behind or fail because none exists.
_VALIDATION_FILE = "retail-etl-check"
_PIPE_PROBLEM_KEYS = ("error", "fault", "channelErrorMessage")

Row = Mapping[str, Any]


@dataclass(frozen=True)
class CheckResult:
    pipeline: str
    check: str
    ok: bool
    detail: str


def healthy(results: Iterable[CheckResult]) -> bool:
    return all(result.ok for result in results)


# --- pure evaluation ----------------------------------------------------------------------------------------------
def _json_object(answer: str | Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(answer, Mapping):
        return dict(answer)
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def evaluate_storage_integration(pipeline: str, integration: str, answer: str | Mapping[str, Any]) -> CheckResult:
    """SYSTEM$VALIDATE_STORAGE_INTEGRATION's JSON: ``{"status": "success"|"failure", "actions": {ACTION:
    {"status", "message"}}}``; a failure names each failed action and its message."""
    document = _json_object(answer)
    if document is None:
        return CheckResult(pipeline, INTEGRATION, False, f"{integration}: unreadable answer {str(answer)[:200]!r}")
    if str(document.get("status", "")).lower() == "success":
        return CheckResult(pipeline, INTEGRATION, True, f"{integration}: validated")
    actions = document.get("actions")
    failures = [
        f"{action} {outcome.get('message') or outcome.get('status', 'failed')}"
        for action, outcome in (actions.items() if isinstance(actions, Mapping) else [])
        if isinstance(outcome, Mapping) and str(outcome.get("status", "")).lower() != "success"
    ]
    reason = "; ".join(failures) or str(document.get("message") or document.get("status") or "failed")
    return CheckResult(pipeline, INTEGRATION, False, f"{integration}: {reason}")


def evaluate_integration_row(pipeline: str, integration: str, rows: Sequence[Row]) -> CheckResult:
    """The local target has no cloud storage to validate against: the integration exists and is enabled."""
    for row in rows:
        if str(row.get("name")) == integration:
            if str(row.get("enabled")).lower() == "true":
                return CheckResult(pipeline, INTEGRATION, True, f"{integration}: enabled (local: no S3 to validate)")
            return CheckResult(pipeline, INTEGRATION, False, f"{integration}: disabled")
    return CheckResult(pipeline, INTEGRATION, False, f"{integration}: does not exist")


def evaluate_pipe_status(pipeline: str, answer: str | Mapping[str, Any]) -> CheckResult:
    """SYSTEM$PIPE_STATUS's JSON (reference §5.4): healthy when RUNNING with no error, fault or channel error.
    Pending files are reported, not failed: a running pipe working through a backlog is healthy."""
    document = _json_object(answer)
    if document is None:
        return CheckResult(pipeline, PIPE, False, f"unreadable SYSTEM$PIPE_STATUS answer {str(answer)[:200]!r}")
    state = str(document.get("executionState", "UNKNOWN"))
    pending = int(document.get("pendingFileCount") or 0)
    problems = [f"{key}: {document[key]}" for key in _PIPE_PROBLEM_KEYS if document.get(key)]
    parts = [state, f"{pending} pending file(s)"]
    if pending and document.get("oldestPendingFilePath"):
        parts.append(f"oldest {document['oldestPendingFilePath']}")
    return CheckResult(pipeline, PIPE, state == "RUNNING" and not problems, ", ".join(parts + problems))


def evaluate_local_pipe(pipeline: str, status: PipeStatus) -> CheckResult:
    """The local pipe's status: as SYSTEM$PIPE_STATUS, plus the last file that failed to load (its load history
    is at hand, unlike Snowflake's PIPE_STATUS, which only reports pipe-level errors). A failed file makes the
    pipe unhealthy while it is the latest file loaded; once a later file loads, it is reported, not failed, so
    one bad file in the past does not fail every later check."""
    parts = [status.execution_state, f"{len(status.pending_files)} pending file(s)"]
    if status.last_error:
        where = f" ({status.last_error_file})" if status.last_error_file else ""
        parts.append(f"last error{where}: {status.last_error}")
    recovered = status.last_error_file is not None and status.last_error_file != status.last_file
    ok = status.execution_state == "RUNNING" and (status.last_error is None or recovered)
    return CheckResult(pipeline, PIPE, ok, ", ".join(parts))


def _find(rows: Sequence[Row], database: str, schema: str, name: str) -> Row | None:
    for row in rows:
        if (str(row.get("database_name")), str(row.get("schema_name")), str(row.get("name"))) == (
            database,
            schema,
            name,
        ):
            return row
    return None


def evaluate_task(pipeline: str, task: tuple[str, str, str], enabled: bool, show_tasks: Sequence[Row]) -> CheckResult:
    """From SHOW TASKS (reference §8.5, ``state`` lower case): started, or suspended when the spec disables it."""
    row = _find(show_tasks, *task)
    if row is None:
        return CheckResult(pipeline, TASK, False, "does not exist")
    state = str(row.get("state", "")).lower()
    if state == "started":
        return CheckResult(pipeline, TASK, True, "started")
    if not enabled:
        return CheckResult(pipeline, TASK, True, f"{state} (disabled in the spec)")
    reason = row.get("last_suspended_reason")
    return CheckResult(pipeline, TASK, False, state + (f" ({reason})" if reason else ""))


def evaluate_stream(pipeline: str, stream: tuple[str, str, str], show_streams: Sequence[Row]) -> CheckResult:
    """From SHOW STREAMS (reference §6.3): ``stale`` false and ``invalid_reason`` N/A (or empty)."""
    row = _find(show_streams, *stream)
    if row is None:
        return CheckResult(pipeline, STREAM, False, "does not exist")
    if str(row.get("stale", "")).lower() == "true":
        return CheckResult(pipeline, STREAM, False, "stale: re-create it to read from its table again")
    invalid = str(row.get("invalid_reason") or "N/A")
    if invalid.upper() != "N/A":
        return CheckResult(pipeline, STREAM, False, f"invalid: {invalid}")
    return CheckResult(pipeline, STREAM, True, f"not stale (stale after {row.get('stale_after')})")


def _prefix_rule(configuration: Mapping[str, Any]) -> str:
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return next((str(rule.get("Value", "")) for rule in rules if str(rule.get("Name", "")).lower() == "prefix"), "")


def _delivers(configuration: Mapping[str, Any], channel: str, prefix: str) -> bool:
    """Sends object-created events for keys under ``prefix`` to ``channel``. Any Id counts: a notification set
    up by hand, not by retail-etl, feeds the pipe just as well."""
    events = [str(event) for event in configuration.get("Events", [])]
    return (
        configuration.get("QueueArn") == channel
        and prefix.startswith(_prefix_rule(configuration))
        and any(event.startswith("s3:ObjectCreated:") for event in events)
    )


def evaluate_notification(
    pipeline: str, bucket: str, prefix: str, expected: PipeNotification | None, configuration: Mapping[str, Any]
) -> CheckResult:
    """The bucket's notification configuration (GetBucketNotificationConfiguration) against the pipe's channel
    (SHOW PIPES ``notification_channel``)."""
    location = f"s3://{bucket}/{prefix}"
    if expected is None:
        return CheckResult(
            pipeline, NOTIFICATION, False, "the pipe has no notification channel (missing or not AUTO_INGEST)"
        )
    queues = list(configuration.get("QueueConfigurations", []))
    match = next((c for c in queues if _delivers(c, expected.channel, prefix)), None)
    if match is not None:
        return CheckResult(pipeline, NOTIFICATION, True, f"{match.get('Id', '?')}: {location} -> {expected.channel}")
    ours = next((c for c in queues if c.get("Id") == expected.id), None)
    if ours is not None:
        detail = (
            f"{expected.id} sends {location} to {ours.get('QueueArn')} (prefix {_prefix_rule(ours)!r}), not to the"
            f" pipe's channel {expected.channel}"
        )
        return CheckResult(pipeline, NOTIFICATION, False, detail)
    return CheckResult(pipeline, NOTIFICATION, False, f"no event notification sends {location} to {expected.channel}")


# --- I/O ----------------------------------------------------------------------------------------------------------
def _parts(name: QualifiedName) -> tuple[str, str, str]:
    """A name's stored parts, as SHOW prints them (resolved pipeline objects are always fully qualified)."""
    database = name.database.stored if name.database is not None else ""
    schema = name.schema.stored if name.schema is not None else ""
    return (database, schema, name.name.stored)


def _system_check(
    session: Session, pipeline: str, check: str, sql: str, evaluate: Callable[[str], CheckResult]
) -> CheckResult:
    """One SYSTEM$ function call, judged by ``evaluate``. A failing call is that check's verdict (missing
    privilege, unknown object), not the end of the command."""
    try:
        rows = session.query(sql)
    except SessionError as exc:
        return CheckResult(pipeline, check, False, str(exc))
    return evaluate(str(next(iter(rows[0].values()))) if rows else "")


NotificationFetcher = Callable[[str], Mapping[str, Any]]


class NoAwsAccessError(RuntimeError):
    """No AWS credentials: the bucket notifications cannot be read."""


def snowflake_checks(
    session: Session, pipelines: Sequence[ResolvedPipeline], database: str, notifications: NotificationFetcher | None
) -> list[CheckResult]:
    """Every check on a Snowflake account. ``notifications(bucket)`` reads a bucket's notification configuration
    (raising :class:`NoAwsAccessError` without credentials); None: --skip-aws."""
    from retail_etl.aws.notifications import pipe_notifications

    results: list[CheckResult] = []
    show: dict[str, Sequence[Row]] = {}
    for kind in ("TASKS", "STREAMS", "PIPES"):
        try:
            show[kind] = session.query(f"SHOW {kind} IN DATABASE {database}")
        except SessionError as exc:
            results.append(CheckResult("*", kind.lower(), False, f"SHOW {kind} failed: {exc}"))
            show[kind] = []
    channels = {item.id: item for items in pipe_notifications(pipelines, show["PIPES"]).values() for item in items}
    configurations: dict[str, Mapping[str, Any] | str] = {}
    for pipeline in pipelines:
        entity, stage = pipeline.entity, pipeline.stage
        integration = stage.storage_integration.name.stored
        validate = (
            f"SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION({sql_literal(integration)}, {sql_literal(stage.url)},"
            f" {sql_literal(_VALIDATION_FILE)}, 'list') AS STATUS"
        )
        results.append(
            _system_check(
                session, entity, INTEGRATION, validate, partial(evaluate_storage_integration, entity, integration)
            )
        )
        pipe_sql = f"SELECT SYSTEM$PIPE_STATUS({sql_literal(pipeline.pipe.name.sql)}) AS STATUS"
        results.append(_system_check(session, entity, PIPE, pipe_sql, partial(evaluate_pipe_status, entity)))
        results.append(evaluate_task(entity, _parts(pipeline.task.name), pipeline.task.enabled, show["TASKS"]))
        results.append(evaluate_stream(entity, _parts(pipeline.stream.name), show["STREAMS"]))
        results.append(_notification_check(pipeline, channels, configurations, notifications))
    return results


def _notification_check(
    pipeline: ResolvedPipeline,
    channels: Mapping[str, PipeNotification],
    configurations: dict[str, Mapping[str, Any] | str],
    notifications: NotificationFetcher | None,
) -> CheckResult:
    from retail_etl.aws.notifications import notification_id

    entity = pipeline.entity
    if notifications is None:
        return CheckResult(entity, NOTIFICATION, True, "not checked: --skip-aws")
    if pipeline.bucket not in configurations:  # one read per bucket, shared by its pipelines
        configurations[pipeline.bucket] = _read_configuration(pipeline.bucket, notifications)
    configuration = configurations[pipeline.bucket]
    if isinstance(configuration, str):
        return CheckResult(entity, NOTIFICATION, False, configuration)
    expected = channels.get(notification_id(*_parts(pipeline.pipe.name)))
    return evaluate_notification(entity, pipeline.bucket, pipeline.prefix, expected, configuration)


def _read_configuration(bucket: str, notifications: NotificationFetcher) -> Mapping[str, Any] | str:
    """The bucket's configuration, or why it could not be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return notifications(bucket)
    except NoAwsAccessError:
        return "not checked: no AWS access (pass --skip-aws to accept)"
    except (BotoCoreError, ClientError) as exc:
        return f"cannot read the notifications of bucket {bucket}: {exc}"


def local_checks(
    runtime: LocalRuntime,
    pipelines: Sequence[ResolvedPipeline],
    database: str,
    *,
    wired: bool = False,
    notifications: NotificationFetcher | None = None,
) -> list[CheckResult]:
    """Every check on the local target: the same SHOW answers from its catalog, the pipes' state from the local
    runtime. The bucket notification is checked when the target is ``wired`` to an AWS endpoint (its files arrive
    through S3's events, read with ``notifications``; None: --skip-aws); otherwise it does not apply (local
    auto-ingest loads the bucket folder directly)."""
    from retail_etl.aws.notifications import pipe_notifications
    from retail_etl.local.api import LocalSqlError
    from retail_etl.local.pipes import pipe_status

    with runtime.session(database) as session:
        tasks = session.catalog_query(f"SHOW TASKS IN DATABASE {database}")
        streams = session.catalog_query(f"SHOW STREAMS IN DATABASE {database}")
        integrations = session.catalog_query("SHOW INTEGRATIONS")
        pipes = session.catalog_query(f"SHOW PIPES IN DATABASE {database}")
    channels = {item.id: item for items in pipe_notifications(pipelines, pipes).values() for item in items}
    configurations: dict[str, Mapping[str, Any] | str] = {}
    results: list[CheckResult] = []
    connection = runtime.engine.warehouse.connect()
    try:
        for pipeline in pipelines:
            entity = pipeline.entity
            integration = pipeline.stage.storage_integration.name.stored
            results.append(evaluate_integration_row(entity, integration, integrations))
            try:
                state = pipe_status(connection, runtime.engine.account, pipeline.pipe.name.sql, runtime.bucket_root)
                results.append(evaluate_local_pipe(entity, state))
            except LocalSqlError as exc:
                results.append(CheckResult(entity, PIPE, False, str(exc)))
            results.append(evaluate_task(entity, _parts(pipeline.task.name), pipeline.task.enabled, tasks))
            results.append(evaluate_stream(entity, _parts(pipeline.stream.name), streams))
            if wired:
                results.append(_notification_check(pipeline, channels, configurations, notifications))
            else:
                results.append(CheckResult(entity, NOTIFICATION, True, "not applicable: local auto-ingest is direct"))
    finally:
        connection.close()
    return results
