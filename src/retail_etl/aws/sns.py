"""The SNS topic that receives the pipes' and tasks' error notifications, and its subscriptions (reference §2.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from retail_etl.aws.changes import AwsChange, AwsWiringError

if TYPE_CHECKING:
    from retail_etl.spec.models import SnsSubscription


def topic_name(topic_arn: str) -> str:
    """``arn:aws:sns:<region>:<account>:<name>`` -> ``<name>``."""
    return topic_arn.rsplit(":", 1)[-1]


def ensure_error_topic(
    sns_client: Any,
    topic_arn: str,
    subscriptions: Sequence[SnsSubscription],
    *,
    dry_run: bool,
    account: str | None = None,
) -> list[AwsChange]:
    """Create the topic if it is missing and subscribe the endpoints the spec lists that are not subscribed yet.
    Subscriptions made elsewhere are left alone; nothing is written in a dry run. ``account``: the credentials'
    AWS account (when known): a missing topic in another account or region is refused before anything is made,
    as CreateTopic would make a topic of that name in the credentials' account and the client's region."""
    name = topic_name(topic_arn)
    if name.endswith(".fifo"):
        # Snowflake's notifications to a FIFO topic fail silently: refuse rather than create one.
        raise AwsWiringError(f"{topic_arn} is a FIFO topic: Snowflake error notifications need a standard topic")
    changes: list[AwsChange] = []
    exists = _topic_exists(sns_client, topic_arn)
    parts = topic_arn.split(":")
    region = sns_client.meta.region_name
    if not exists and len(parts) == 6 and (parts[3] != region or (account is not None and parts[4] != account)):
        raise AwsWiringError(
            f"the error topic {topic_arn} does not exist, and these AWS credentials would create it in account"
            f" {account or '(unknown)'}, region {region}: use credentials of the topic's account and its region"
        )
    if not exists:
        changes.append(AwsChange("create", f"sns topic {topic_arn}", "standard topic"))
        if not dry_run:
            created = sns_client.create_topic(Name=name)["TopicArn"]
            if created != topic_arn:
                # CreateTopic makes the topic in the client's account and region, which the ARN may not name.
                raise AwsWiringError(
                    f"created {created}, not {topic_arn}: use credentials of the topic's account and its region"
                )
    present = _subscribed(sns_client, topic_arn) if exists else set()
    for subscription in subscriptions:
        key = (subscription.protocol, subscription.endpoint)
        if key in present:
            continue
        present.add(key)
        changes.append(AwsChange("create", f"sns subscription {topic_name(topic_arn)}", " ".join(key)))
        if not dry_run:
            sns_client.subscribe(TopicArn=topic_arn, Protocol=subscription.protocol, Endpoint=subscription.endpoint)
    return changes


def _topic_exists(sns_client: Any, topic_arn: str) -> bool:
    try:
        sns_client.get_topic_attributes(TopicArn=topic_arn)
    except sns_client.exceptions.NotFoundException:
        return False
    return True


def _subscribed(sns_client: Any, topic_arn: str) -> set[tuple[str, str]]:
    """(protocol, endpoint) of every subscription, pending ones included: subscribing an email address again
    would send another confirmation message."""
    paginator = sns_client.get_paginator("list_subscriptions_by_topic")
    return {
        (item["Protocol"], item["Endpoint"])
        for page in paginator.paginate(TopicArn=topic_arn)
        for item in page.get("Subscriptions", [])
    }
