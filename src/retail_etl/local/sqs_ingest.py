"""The local target fed by S3 events, as Snowpipe is: for a local target with ``aws_endpoint_url`` (moto, an
S3-compatible service).

- The auto-ingest pipes' notification channel (the account's SQS queue, SHOW PIPES ``notification_channel``) holds
  the bucket's ``s3:ObjectCreated:*`` events, wired by `retail-etl apply`. Each event for a key under a pipe's stage
  has its object downloaded into the local bucket folder at the same key, so the local loader and its load-once
  history apply unchanged; then the pipes load. Handled messages are deleted (events no pipe watches are dropped,
  as Snowpipe drops them); a message whose object cannot be fetched stays in the queue for the next run.
- Every INGEST_FAILED_FILE message the loads recorded and not yet published is published to the SNS topic of the
  pipe's error integration; the published message ids are kept in ``sns_published.json`` in the target folder,
  so each message is published once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

from retail_etl.aws.clients import aws_client, target_endpoint
from retail_etl.local.bucket import BucketError, S3Location, put_file
from retail_etl.local.pipes import FileLoadResult, error_notifications
from retail_etl.targets.session import SessionError

if TYPE_CHECKING:
    from retail_etl.emulator.catalog import Catalog
    from retail_etl.local.runtime import LocalRuntime
    from retail_etl.workflow import Project

PUBLISHED_FILE = "sns_published.json"
_T = TypeVar("_T")


class SqsIngestError(SessionError):
    """The queue, the bucket or the topic could not be reached (message safe to print)."""


@dataclass(frozen=True)
class ObjectEvent:
    """One ``ObjectCreated`` record of an S3 event message."""

    bucket: str
    key: str
    etag: str | None


def _aws(what: str, action: Callable[[], _T]) -> _T:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return action()
    except (BotoCoreError, ClientError) as error:
        raise SqsIngestError(f"{what}: {error}") from error


def _queue_name_and_owner(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        raise SqsIngestError(f"not an SQS queue ARN: {arn!r}")
    return parts[5], parts[4]


def _auto_ingest_locations(catalog: Catalog) -> dict[str, list[S3Location]]:
    """Per notification channel (SQS ARN), the stage locations of the auto-ingest pipes it feeds."""
    locations: list[S3Location] = []
    for database in catalog.databases.values():
        for schema in database.schemas.values():
            for pipe in schema.pipes.values():
                if not pipe.auto_ingest:
                    continue
                stage_database = catalog.databases.get(pipe.stage.database)
                stage_schema = stage_database.schemas.get(pipe.stage.schema) if stage_database else None
                stage = stage_schema.stages.get(pipe.stage.name) if stage_schema else None
                if stage is None or stage.url is None:
                    continue  # a stopped pipe: its load reports why
                try:
                    locations.append(S3Location.parse(stage.url))
                except BucketError:
                    continue
    # The emulated account has one Snowpipe queue for all its auto-ingest pipes (as Snowflake per region).
    return {catalog.sqs_queue_arn: locations} if locations else {}


def object_events(body: str) -> list[ObjectEvent]:
    """The ``ObjectCreated`` records of an S3 event notification body (none for ``s3:TestEvent`` or other JSON)."""
    try:
        document = json.loads(body)
    except ValueError:
        return []
    records = document.get("Records") if isinstance(document, dict) else None
    events = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        bucket, key = s3.get("bucket", {}).get("name"), s3.get("object", {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            etag = s3.get("object", {}).get("eTag")
            events.append(ObjectEvent(bucket, unquote_plus(key), etag if isinstance(etag, str) else None))
    return events


def _same_content(path: Path, etag: str | None) -> bool:
    """The local copy already holds this object (single-part ETag is the MD5 of the content)."""
    if etag is None or not path.is_file():
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == etag.strip('"')


def _fetch(s3: Any, runtime: LocalRuntime, event: ObjectEvent) -> None:
    """Download the object into the local bucket folder at the same key (atomically, via put_file)."""
    target = runtime.bucket_root / event.bucket / event.key
    if _same_content(target, event.etag):
        return
    handle, name = tempfile.mkstemp(prefix=".s3-download-", dir=runtime.root)
    os.close(handle)
    try:
        _aws(
            f"downloading s3://{event.bucket}/{event.key}",
            lambda: s3.download_file(event.bucket, event.key, name),
        )
        try:
            put_file(runtime.bucket_root, event.bucket, event.key, Path(name))
        except BucketError as error:
            raise SqsIngestError(str(error)) from error
    finally:
        Path(name).unlink(missing_ok=True)


def _drain(sqs: Any, s3: Any, runtime: LocalRuntime, channel: str, locations: list[S3Location]) -> int:
    """Receive every message of the channel, fetch the objects its events name under a watched location, delete
    the handled messages. Returns the number of objects fetched."""
    name, owner = _queue_name_and_owner(channel)
    url = _aws(
        f"notification channel {channel}",
        lambda: sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"],
    )
    fetched = 0
    while True:
        messages = _aws(
            f"receiving from {channel}",
            lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []),
        )
        if not messages:
            return fetched
        for message in messages:
            for event in object_events(message.get("Body", "")):
                if any(event.bucket == loc.bucket and event.key.startswith(loc.prefix) for loc in locations):
                    if event.key.endswith("/"):
                        continue  # a "folder" marker object, not a file
                    _fetch(s3, runtime, event)
                    fetched += 1
            _aws(
                f"deleting a message from {channel}",
                partial(sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]),
            )


def _read_published(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    document = json.loads(path.read_text(encoding="utf-8"))
    return {str(item) for item in document} if isinstance(document, list) else set()


def _write_published(path: Path, published: set[str]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(sorted(published), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def publish_error_notifications(runtime: LocalRuntime, sns: Any) -> list[dict[str, Any]]:
    """Publish each recorded INGEST_FAILED_FILE message not yet published to its integration's SNS topic; returns
    the messages published now."""
    catalog = runtime.engine.account.catalog
    databases = sorted(
        {
            pipe.table.database
            for database in catalog.databases.values()
            for schema in database.schemas.values()
            for pipe in schema.pipes.values()
        }
    )
    record = runtime.root / PUBLISHED_FILE
    published = _read_published(record)
    connection = runtime.engine.warehouse.connect()
    try:
        notifications = [n for database in databases for n in error_notifications(connection, database)]
    finally:
        connection.close()
    sent: list[dict[str, Any]] = []
    for notification in notifications:
        message: dict[str, Any] = notification["message"]
        message_id = str(message["messageId"])
        if message_id in published:
            continue
        integration = catalog.notification_integrations.get(notification["integration"])
        if integration is None:
            continue  # the integration was dropped since: nowhere to send it
        topic = integration.topic_arn
        _aws(
            f"publishing to SNS topic {topic}",
            partial(sns.publish, TopicArn=topic, Message=json.dumps(message)),
        )
        published.add(message_id)
        _write_published(record, published)
        sent.append(message)
    return sent


def consume_events(runtime: LocalRuntime, project: Project, target: str) -> list[FileLoadResult]:
    """Snowpipe fed by S3 events: fetch the objects the channel's events announce, load them through the pipes,
    then publish the new error notifications to SNS. Returns the files loaded."""
    region, endpoint = target_endpoint(project, target)
    sqs, s3, sns = (aws_client(service, region=region, endpoint_url=endpoint) for service in ("sqs", "s3", "sns"))
    for channel, locations in _auto_ingest_locations(runtime.engine.account.catalog).items():
        _drain(sqs, s3, runtime, channel, locations)
    loads = runtime.ingest()
    publish_error_notifications(runtime, sns)
    return loads
