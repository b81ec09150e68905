"""The AWS side of ``plan`` and ``apply``: each auto-ingest pipe's bucket notification to its SQS channel, and the
SNS error topic of the notification integration.

:func:`aws_changes` is what plan shows (``dry_run=True``) and what apply does after the Snowflake changes
(``dry_run=False``, when the pipes exist and SHOW PIPES gives their channels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retail_etl.aws.changes import AwsChange, AwsWiringError
from retail_etl.aws.notifications import (
    PipeNotification,
    desired_queue_configurations,
    ensure_bucket_notifications,
    managed_prefix,
    pipe_notifications,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from retail_etl.spec.resolve import ResolvedPipeline
    from retail_etl.targets.session import Session
    from retail_etl.workflow import Project

PENDING = "pending: the pipe's notification channel is known after apply"


def aws_endpoint(project: Project, target: str) -> tuple[str | None, str | None] | None:
    """The target's ``(aws_region, aws_endpoint_url)`` when it has an AWS side, else None: a Snowflake target
    always has one; a local target only when it names an AWS endpoint (moto, an S3-compatible service)."""
    from retail_etl.spec.models import LocalTargetSpec, SnowflakeTargetSpec

    spec = project.loaded.project.targets[target]
    if isinstance(spec, SnowflakeTargetSpec):
        return spec.aws_region, spec.aws_endpoint_url
    if isinstance(spec, LocalTargetSpec) and spec.aws_endpoint_url:
        return spec.aws_region, spec.aws_endpoint_url
    return None


def aws_changes(project: Project, session: Session, target_name: str, *, dry_run: bool) -> list[AwsChange]:
    """What the AWS side changes (``dry_run``: would change) for the target; ``[]`` when it has no AWS side.
    Raises :class:`AwsWiringError` (message safe to print) on missing credentials and on AWS errors."""
    endpoint = aws_endpoint(project, target_name)
    if endpoint is None:
        return []
    region, endpoint_url = endpoint
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from retail_etl.aws.clients import aws_client
    from retail_etl.aws.sns import ensure_error_topic

    # Checked up front: without credentials boto3 fails only inside the first call, after its retries.
    if boto3.session.Session(region_name=region).get_credentials() is None:
        raise AwsWiringError(
            f"no AWS credentials found for target {target_name!r} (environment, shared credentials and config files,"
            " SSO, container or instance role): configure them, or pass --skip-aws to leave the AWS side alone"
        )
    pipelines = project.desired.pipelines
    database = project.desired.database
    rows = _show_pipes(session, database.sql, tolerate_missing=dry_run)
    by_bucket = pipe_notifications(pipelines, rows)
    known = {item.id for items in by_bucket.values() for item in items}
    changes: list[AwsChange] = []
    try:
        if _stands_for_snowflake(project, target_name):
            changes.extend(_ensure_channels(rows, endpoint_url, dry_run=dry_run))
        s3 = aws_client("s3", region=region, endpoint_url=endpoint_url)
        waiting = _pending_notifications(pipelines, known)
        for bucket in sorted({pipeline.bucket for pipeline in pipelines}):
            desired = desired_queue_configurations(by_bucket.get(bucket, []))
            changes.extend(
                ensure_bucket_notifications(
                    s3,
                    bucket,
                    desired,
                    dry_run=dry_run,
                    managed_prefix=managed_prefix(database.stored),
                    pending=desired_queue_configurations(n for p, n in waiting if p.bucket == bucket),
                )
            )
        for pipeline, notification in waiting:
            if not dry_run:
                raise AwsWiringError(
                    f"pipe {pipeline.pipe.name.sql} has no notification channel in SHOW PIPES after apply:"
                    " is it AUTO_INGEST?"
                )
            changes.append(AwsChange("create", f"s3://{pipeline.bucket} notification {notification.id}", PENDING))
        integration = project.loaded.project.notification_integration
        sns = aws_client("sns", region=region, endpoint_url=endpoint_url)
        account = aws_client("sts", region=region, endpoint_url=endpoint_url).get_caller_identity()["Account"]
        changes.extend(
            ensure_error_topic(
                sns, integration.topic_arn, integration.subscriptions, dry_run=dry_run, account=str(account)
            )
        )
    except (BotoCoreError, ClientError) as exc:
        raise AwsWiringError(f"AWS: {exc}") from exc
    return changes


def _pending_notifications(
    pipelines: Sequence[ResolvedPipeline], known: set[str]
) -> list[tuple[ResolvedPipeline, PipeNotification]]:
    """The notifications of auto-ingest pipes not created yet (their channel is not known), in pipeline order:
    shown as pending in a plan, and enough to check their prefixes against the bucket's other notifications
    before anything is changed."""
    waiting = []
    for pipeline in pipelines:
        name = pipeline.pipe.name
        if not pipeline.pipe.auto_ingest or name.database is None or name.schema is None:
            continue
        notification = PipeNotification(
            name.database.stored, name.schema.stored, name.name.stored, channel=PENDING, prefix=pipeline.prefix
        )
        if notification.id not in known:
            waiting.append((pipeline, notification))
    return waiting


def _stands_for_snowflake(project: Project, target: str) -> bool:
    """A local target wired to an AWS endpoint plays Snowflake's part there, its pipes' SQS channel included."""
    from retail_etl.spec.models import LocalTargetSpec

    return isinstance(project.loaded.project.targets[target], LocalTargetSpec)


def _ensure_channels(rows: list[dict[str, object]], endpoint_url: str | None, *, dry_run: bool) -> list[AwsChange]:
    """The SQS queues the pipes' notification channels name. In an account Snowflake owns them; on the AWS
    endpoint of a local target nobody else would make them, and S3's events for the pipes would go nowhere."""
    from retail_etl.aws.clients import aws_client

    changes: list[AwsChange] = []
    for arn in sorted({str(row.get("notification_channel") or "") for row in rows} - {""}):
        region, name = arn.split(":")[3], arn.rsplit(":", 1)[-1]
        sqs = aws_client("sqs", region=region, endpoint_url=endpoint_url)
        try:
            sqs.get_queue_url(QueueName=name)
            continue
        except sqs.exceptions.QueueDoesNotExist:
            pass
        changes.append(AwsChange("create", f"sqs queue {name}", "the pipes' notification channel"))
        if not dry_run:
            sqs.create_queue(QueueName=name)
    return changes


def _show_pipes(session: Session, database_sql: str, *, tolerate_missing: bool) -> list[dict[str, object]]:
    """SHOW PIPES of the database. Before the first apply the database does not exist: no pipes yet, so every
    notification is pending (in a plan); after apply it must answer."""
    from retail_etl.targets.session import SessionError

    try:
        return list(session.query(f"SHOW PIPES IN DATABASE {database_sql}"))
    except SessionError as exc:
        if tolerate_missing:
            return []
        raise AwsWiringError(f"SHOW PIPES IN DATABASE {database_sql} failed: {exc}") from exc
