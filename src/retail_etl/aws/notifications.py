"""S3 event notifications to the pipes' SQS queues: auto-ingest's AWS half (reference §13.1).

PutBucketNotificationConfiguration replaces a bucket's whole configuration, so the configurations retail-etl
manages are merged into what the bucket already has: ours are recognised by their Id (``retail-etl-...``), every
other one (queue, topic, Lambda, EventBridge) is written back untouched. The pure functions decide; only
:func:`ensure_bucket_notifications` talks to S3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from retail_etl.aws.changes import AwsChange, AwsWiringError

if TYPE_CHECKING:
    from retail_etl.spec.resolve import ResolvedPipeline

MANAGED_PREFIX = "retail-etl-"
EVENTS = ("s3:ObjectCreated:*",)

# The destination key of each list of event configurations a bucket can hold.
_DESTINATIONS = {
    "QueueConfigurations": "QueueArn",
    "TopicConfigurations": "TopicArn",
    "LambdaFunctionConfigurations": "LambdaFunctionArn",
}

Configuration = dict[str, Any]


@dataclass(frozen=True)
class PipeNotification:
    """Where one pipe wants the bucket's events: its SQS channel, for keys under its stage prefix."""

    database: str
    schema: str
    pipe: str
    channel: str
    prefix: str
    suffix: str | None = None

    @property
    def id(self) -> str:
        return notification_id(self.database, self.schema, self.pipe)


def notification_id(database: str, schema: str, pipe: str) -> str:
    return f"{MANAGED_PREFIX}{database}-{schema}-{pipe}".lower()


def managed_prefix(database: str) -> str:
    """The Id prefix of one database's configurations: environments sharing a bucket (dev and prod databases)
    must not remove each other's."""
    return f"{MANAGED_PREFIX}{database}-".lower()


def pipe_notifications(
    pipelines: Sequence[ResolvedPipeline], show_pipes: Iterable[Mapping[str, Any]]
) -> dict[str, list[PipeNotification]]:
    """The notifications the pipelines' pipes need, by bucket, from ``SHOW PIPES IN DATABASE`` rows. A pipe
    missing from the rows (not created yet) or without a channel (not auto-ingest) needs none."""
    channels = {
        (str(row["database_name"]), str(row["schema_name"]), str(row["name"])): row.get("notification_channel")
        for row in show_pipes
    }
    by_bucket: dict[str, list[PipeNotification]] = {}
    for pipeline in pipelines:
        name = pipeline.pipe.name
        if name.database is None or name.schema is None:
            continue
        key = (name.database.stored, name.schema.stored, name.name.stored)
        channel = channels.get(key)
        if channel:
            by_bucket.setdefault(pipeline.bucket, []).append(
                PipeNotification(*key, channel=str(channel), prefix=pipeline.prefix)
            )
    return by_bucket


def desired_queue_configurations(pipes: Iterable[PipeNotification]) -> list[Configuration]:
    """The S3 QueueConfigurations for ``pipes`` (boto3's shape)."""
    configurations = []
    for pipe in pipes:
        rules = [{"Name": "prefix", "Value": pipe.prefix}]
        if pipe.suffix:
            rules.append({"Name": "suffix", "Value": pipe.suffix})
        configurations.append(
            {
                "Id": pipe.id,
                "QueueArn": pipe.channel,
                "Events": list(EVENTS),
                "Filter": {"Key": {"FilterRules": rules}},
            }
        )
    return configurations


def merge_notification_configuration(
    current: Mapping[str, Any],
    desired: Sequence[Configuration],
    managed_prefix: str = MANAGED_PREFIX,
    pending: Sequence[Configuration] = (),
) -> tuple[Configuration, list[AwsChange]]:
    """The bucket configuration to write and what it changes: every configuration that is not ours kept as it is,
    ours (queue configurations whose Id starts with ``managed_prefix``) replaced by ``desired``. Raises
    :class:`AwsWiringError` when a desired configuration overlaps another one, which S3 would reject. ``pending``
    (the configurations of pipes not created yet, whose channel is not known) take part in that check only: a plan
    finds the overlap before apply changes anything."""
    queues = list(current.get("QueueConfigurations", []))
    ours = {c["Id"]: c for c in queues if _is_ours(c, managed_prefix)}
    foreign = [
        (kind, configuration)
        for kind in _DESTINATIONS
        for configuration in current.get(kind, [])
        if not (kind == "QueueConfigurations" and _is_ours(configuration, managed_prefix))
    ]
    checked = [*desired, *pending]
    for index, configuration in enumerate(checked):
        others = [*foreign, *(("QueueConfigurations", other) for other in checked[:index])]
        for kind, other in others:
            if _overlaps(configuration, other):
                raise AwsWiringError(_overlap_message(configuration, kind, other))

    changes: list[AwsChange] = []
    wanted_ids = set()
    for configuration in desired:
        wanted_ids.add(configuration["Id"])
        existing = ours.get(configuration["Id"])
        if existing is None:
            changes.append(AwsChange("create", _resource(configuration), _describe(configuration)))
        elif _comparable(existing) != _comparable(configuration):
            detail = f"{_describe(existing)} -> {_describe(configuration)}"
            changes.append(AwsChange("update", _resource(configuration), detail))
    changes.extend(
        AwsChange("delete", _resource(existing), _describe(existing))
        for identifier, existing in ours.items()
        if identifier not in wanted_ids
    )

    # GET answers with the request's metadata, which PUT does not accept.
    merged = {key: value for key, value in current.items() if key != "ResponseMetadata"}
    queues = [c for c in queues if not _is_ours(c, managed_prefix)] + [dict(c) for c in desired]
    if queues:
        merged["QueueConfigurations"] = queues
    else:
        merged.pop("QueueConfigurations", None)
    return merged, changes


def ensure_bucket_notifications(
    s3_client: Any,
    bucket: str,
    desired: Sequence[Configuration],
    *,
    dry_run: bool,
    managed_prefix: str = MANAGED_PREFIX,
    pending: Sequence[Configuration] = (),
) -> list[AwsChange]:
    """Read the bucket's configuration, merge ``desired`` into it, write it back if anything changed (never in a
    dry run). S3 has no conditional write for it: a configuration another writer puts between our read and our
    write is lost, so run one deployer per bucket at a time. ``pending``: see
    :func:`merge_notification_configuration`."""
    current = s3_client.get_bucket_notification_configuration(Bucket=bucket)
    merged, changes = merge_notification_configuration(current, desired, managed_prefix, pending)
    if changes and not dry_run:
        s3_client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=merged)
    return [replace(change, resource=f"s3://{bucket} {change.resource}") for change in changes]


def _is_ours(configuration: Mapping[str, Any], prefix: str) -> bool:
    return str(configuration.get("Id", "")).startswith(prefix)


def _rules(configuration: Mapping[str, Any]) -> dict[str, str]:
    # S3 answers GET with "Prefix"/"Suffix" where PUT was given "prefix"/"suffix".
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}


def _comparable(configuration: Mapping[str, Any]) -> tuple[object, ...]:
    return (
        configuration.get("QueueArn"),
        tuple(sorted(configuration.get("Events", []))),
        tuple(sorted(_rules(configuration).items())),
    )


def _events_overlap(first: str, second: str) -> bool:
    """``s3:ObjectCreated:*`` covers ``s3:ObjectCreated:Put``: a ``*`` part matches whatever follows."""
    for mine, theirs in zip(first.split(":"), second.split(":"), strict=False):
        if "*" in (mine, theirs):
            return True
        if mine != theirs:
            return False
    return len(first.split(":")) == len(second.split(":"))


def _overlaps(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """S3's rule: a common event type, and both the prefixes and the suffixes overlap (a missing filter matches
    every key). Different suffixes under one prefix (``.csv`` and ``.json``) are allowed."""
    if not any(_events_overlap(a, b) for a in first.get("Events", []) for b in second.get("Events", [])):
        return False
    mine, theirs = _rules(first), _rules(second)
    prefix_a, prefix_b = mine.get("prefix", ""), theirs.get("prefix", "")
    suffix_a, suffix_b = mine.get("suffix", ""), theirs.get("suffix", "")
    prefixes = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes and suffixes


def _describe(configuration: Mapping[str, Any], kind: str = "QueueConfigurations") -> str:
    rules = _rules(configuration)
    filters = ", ".join(f"{name} {value!r}" for name, value in sorted(rules.items())) or "every key"
    events = ",".join(configuration.get("Events", []))
    return f"{events} ({filters}) -> {configuration.get(_DESTINATIONS[kind], '?')}"


def _resource(configuration: Mapping[str, Any]) -> str:
    return f"notification {configuration['Id']}"


def _overlap_message(ours: Mapping[str, Any], kind: str, other: Mapping[str, Any]) -> str:
    label = {"QueueConfigurations": "queue", "TopicConfigurations": "topic", "LambdaFunctionConfigurations": "lambda"}
    message = (
        f"notification {ours['Id']} [{_describe(ours)}] overlaps the bucket's {label[kind]} notification"
        f" {other.get('Id', '(no id)')} [{_describe(other, kind)}]: S3 rejects notifications that share an event type"
        " with overlapping prefixes and suffixes"
    )
    if other.get("QueueArn") == ours["QueueArn"]:
        message += "; it already sends to this pipe's queue (set up by hand?): delete it and run again"
    else:
        message += "; give the pipeline another prefix, or fan the bucket's events out through an SNS topic"
    return message
