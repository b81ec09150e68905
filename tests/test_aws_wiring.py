"""The AWS wiring against moto in server mode: bucket notifications merged into what the bucket has and delivered to
the pipe's queue, the SNS error topic and its subscriptions, the integrations' IAM trust (``retail-etl aws``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus
from uuid import uuid4

import boto3
import pytest
import typer
from typer.testing import CliRunner, Result

from conftest import copy_customer_pipelines

# The fixtures are used by name (pytest), not referenced.
from moto_server import aws_credentials, moto_endpoint, moto_server_url  # noqa: F401
from retail_etl.aws.changes import AwsChange, AwsWiringError
from retail_etl.aws.command import register
from retail_etl.aws.notifications import (
    PipeNotification,
    desired_queue_configurations,
    ensure_bucket_notifications,
    managed_prefix,
    merge_notification_configuration,
    pipe_notifications,
)
from retail_etl.aws.sns import ensure_error_topic
from retail_etl.aws.trust import storage_read_policy
from retail_etl.cli import app as main_app
from retail_etl.spec.models import SnsSubscription
from retail_etl.targets.local import LocalSession
from retail_etl.workflow import load

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-AIDAEXAMPLE"
CUSTOMER = PipeNotification("SNOWLAKE_DB", "BRONZE", "WORK_CUSTOMER_SRC_TO_SL_PIPE", CHANNEL, "raw_data/customer/")
SALES = PipeNotification("SNOWLAKE_DB", "BRONZE", "WORK_SALES_SRC_TO_SL_PIPE", CHANNEL, "raw_data/sales/", ".gz")


def rule(name: str, value: str) -> dict[str, str]:
    return {"Name": name, "Value": value}


def foreign_configuration() -> dict[str, Any]:
    """A bucket's own notifications, one of each kind, none overlapping the pipelines' prefixes."""
    return {
        "ResponseMetadata": {"HTTPStatusCode": 200},
        "QueueConfigurations": [
            {
                "Id": "audit-queue",
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:audit",
                "Events": ["s3:ObjectRemoved:*"],
            }
        ],
        "TopicConfigurations": [
            {
                "Id": "exports-topic",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:exports",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "exports/")]}},
            }
        ],
        "LambdaFunctionConfigurations": [
            {
                "Id": "thumbnails",
                "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:thumbs",
                "Events": ["s3:ObjectCreated:Put"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "images/"), rule("Suffix", ".jpg")]}},
            }
        ],
        "EventBridgeConfiguration": {},
    }


# --- merge (pure) -----------------------------------------------------------------------------------------------


def test_merge_adds_ours_and_keeps_every_foreign_configuration() -> None:
    current = foreign_configuration()
    merged, changes = merge_notification_configuration(current, desired_queue_configurations([CUSTOMER, SALES]))

    assert "ResponseMetadata" not in merged
    for kind in ("TopicConfigurations", "LambdaFunctionConfigurations", "EventBridgeConfiguration"):
        assert merged[kind] == current[kind]
    queues = {c["Id"]: c for c in merged["QueueConfigurations"]}
    assert queues["audit-queue"] == current["QueueConfigurations"][0]
    assert queues[CUSTOMER.id] == {
        "Id": "retail-etl-snowlake_db-bronze-work_customer_src_to_sl_pipe",
        "QueueArn": CHANNEL,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [rule("prefix", "raw_data/customer/")]}},
    }
    assert queues[SALES.id]["Filter"]["Key"]["FilterRules"] == [
        rule("prefix", "raw_data/sales/"),
        rule("suffix", ".gz"),
    ]
    assert [(c.action, c.resource) for c in changes] == [
        ("create", f"notification {CUSTOMER.id}"),
        ("create", f"notification {SALES.id}"),
    ]


def test_merge_updates_ours_by_id_and_removes_stale_ones_of_ours_only() -> None:
    current = foreign_configuration()
    old_customer = {**desired_queue_configurations([CUSTOMER])[0], "QueueArn": CHANNEL + "-old"}
    stale = desired_queue_configurations([SALES])[0]
    # The same pipe in another database (another environment sharing the bucket) is not this deployment's.
    dev = desired_queue_configurations([PipeNotification("SNOWLAKE_DB_DEV", "BRONZE", "P", CHANNEL, "dev/")])[0]
    current["QueueConfigurations"] += [old_customer, stale, dev]

    merged, changes = merge_notification_configuration(
        current, desired_queue_configurations([CUSTOMER]), managed_prefix("SNOWLAKE_DB")
    )

    assert [c["Id"] for c in merged["QueueConfigurations"]] == ["audit-queue", dev["Id"], CUSTOMER.id]
    assert merged["QueueConfigurations"][-1]["QueueArn"] == CHANNEL
    assert [(c.action, c.resource) for c in changes] == [
        ("update", f"notification {CUSTOMER.id}"),
        ("delete", f"notification {SALES.id}"),
    ]
    assert CHANNEL + "-old" in changes[0].detail


def test_merge_of_what_is_there_changes_nothing_whatever_the_case_s3_gives_filter_names() -> None:
    desired = desired_queue_configurations([CUSTOMER, SALES])
    # S3 answers GET with "Prefix"/"Suffix".
    echoed = json.loads(json.dumps(desired).replace('"prefix"', '"Prefix"').replace('"suffix"', '"Suffix"'))
    _, changes = merge_notification_configuration({"QueueConfigurations": echoed}, desired)
    assert changes == []


@pytest.mark.parametrize(
    ("kind", "other", "other_id"),
    [
        ("TopicConfigurations", {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Events": ["s3:ObjectCreated:Put"]}, "t1"),
        (
            "QueueConfigurations",
            {
                "QueueArn": "arn:aws:sqs:us-east-1:1:q",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "raw_data/")]}},
            },
            "q1",
        ),
        (
            "LambdaFunctionConfigurations",
            {
                "LambdaFunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
                "Events": ["s3:*"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "raw_data/customer/2026/"), rule("Suffix", "csv")]}},
            },
            "f1",
        ),
    ],
)
def test_overlapping_configurations_are_refused_naming_both(kind: str, other: dict[str, Any], other_id: str) -> None:
    current = {kind: [{"Id": other_id, **other}]}
    with pytest.raises(AwsWiringError) as caught:
        merge_notification_configuration(current, desired_queue_configurations([CUSTOMER]))
    assert CUSTOMER.id in str(caught.value)
    assert other_id in str(caught.value)


def test_a_notification_set_up_by_hand_for_the_pipe_is_named_as_such() -> None:
    by_hand = {**desired_queue_configurations([CUSTOMER])[0], "Id": "snowpipe-customer"}
    with pytest.raises(AwsWiringError, match=r"snowpipe-customer.*set up by hand"):
        merge_notification_configuration({"QueueConfigurations": [by_hand]}, desired_queue_configurations([CUSTOMER]))


def test_our_own_configurations_must_not_overlap_each_other() -> None:
    nested = PipeNotification("SNOWLAKE_DB", "BRONZE", "NESTED", CHANNEL, "raw_data/customer/eu/")
    with pytest.raises(AwsWiringError, match="nested"):
        merge_notification_configuration({}, desired_queue_configurations([CUSTOMER, nested]))


def test_non_overlapping_configurations_are_fine() -> None:
    # Other suffix under the same prefix, another event type, another prefix: S3 accepts all three.
    current = {
        "QueueConfigurations": [
            {
                "Id": "json-only",
                "QueueArn": "arn:aws:sqs:us-east-1:1:q",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "raw_data/sales/"), rule("Suffix", ".json")]}},
            },
            {"Id": "removals", "QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": ["s3:ObjectRemoved:Delete"]},
            {
                "Id": "elsewhere",
                "QueueArn": "arn:aws:sqs:us-east-1:1:q",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [rule("Prefix", "raw_data/customers_archive/")]}},
            },
        ]
    }
    merged, changes = merge_notification_configuration(current, desired_queue_configurations([CUSTOMER, SALES]))
    assert len(merged["QueueConfigurations"]) == 5
    assert len(changes) == 2


def test_pipe_notifications_come_from_show_pipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_customer_pipelines(tmp_path / "pipelines")
    monkeypatch.setenv("RETAIL_ETL_BUCKET", "my-bucket")
    project = load(tmp_path, None)
    rows = [
        {
            "name": "WORK_CUSTOMER_SRC_TO_SL_PIPE",
            "database_name": "SNOWLAKE_DB",
            "schema_name": "BRONZE",
            "notification_channel": CHANNEL,
        },
        {"name": "OTHER_PIPE", "database_name": "SNOWLAKE_DB", "schema_name": "BRONZE", "notification_channel": "x"},
    ]
    assert pipe_notifications(project.desired.pipelines, rows) == {"my-bucket": [CUSTOMER]}
    # Not created yet: nothing to wire.
    assert pipe_notifications(project.desired.pipelines, []) == {}


# --- S3 and SQS in moto ----------------------------------------------------------------------------------------


def clients(endpoint: str, *services: str) -> list[Any]:
    return [boto3.client(service, endpoint_url=endpoint, region_name="us-east-1") for service in services]


def new_queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def received_bodies(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def object_keys(bodies: list[dict[str, Any]]) -> list[str]:
    # S3 events carry keys URL-encoded.
    return [unquote_plus(record["s3"]["object"]["key"]) for body in bodies for record in body.get("Records", [])]


def test_the_event_reaches_the_pipes_queue_and_a_second_ensure_writes_nothing(moto_endpoint: str) -> None:  # noqa: F811 (pytest fixture)
    s3, sqs = clients(moto_endpoint, "s3", "sqs")
    bucket = f"retail-etl-test-{uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    channel_url, channel = new_queue(sqs, f"sf-snowpipe-{uuid4().hex[:8]}")
    other_url, other_arn = new_queue(sqs, f"audit-{uuid4().hex[:8]}")
    foreign = {
        "Id": "audit",
        "QueueArn": other_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [rule("prefix", "exports/")]}},
    }
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [foreign]}
    )
    pipe = PipeNotification("SNOWLAKE_DB", "BRONZE", "WORK_CUSTOMER_SRC_TO_SL_PIPE", channel, "raw_data/customer/")
    writes: list[str] = []
    s3.meta.events.register("before-call.s3.PutBucketNotificationConfiguration", lambda **_: writes.append("put"))

    assert ensure_bucket_notifications(s3, bucket, desired_queue_configurations([pipe]), dry_run=True) != []
    assert writes == []
    changes = ensure_bucket_notifications(s3, bucket, desired_queue_configurations([pipe]), dry_run=False)
    assert changes == [
        AwsChange(
            "create",
            f"s3://{bucket} notification {pipe.id}",
            f"s3:ObjectCreated:* (prefix 'raw_data/customer/') -> {channel}",
        )
    ]
    assert writes == ["put"]
    # (moto does not echo EventBridgeConfiguration back: the merge tests cover keeping it.)
    stored = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert {c["Id"] for c in stored["QueueConfigurations"]} == {"audit", pipe.id}

    # Idempotent: nothing changed, nothing written.
    assert ensure_bucket_notifications(s3, bucket, desired_queue_configurations([pipe]), dry_run=False) == []
    assert writes == ["put"]

    received_bodies(sqs, channel_url)  # S3's test event on configuration, if the endpoint sends one
    s3.put_object(Bucket=bucket, Key="raw_data/customer/customers_day1.csv", Body=b"a,b\n")
    s3.put_object(Bucket=bucket, Key="elsewhere/customers_day1.csv", Body=b"a,b\n")
    assert object_keys(received_bodies(sqs, channel_url)) == ["raw_data/customer/customers_day1.csv"]
    s3.put_object(Bucket=bucket, Key="exports/report.csv", Body=b"x\n")
    assert object_keys(received_bodies(sqs, other_url)) == ["exports/report.csv"]


# --- SNS ---------------------------------------------------------------------------------------------------------


def test_the_error_topic_is_created_and_subscribed_once(moto_endpoint: str) -> None:  # noqa: F811 (pytest fixture)
    sns, sqs = clients(moto_endpoint, "sns", "sqs")
    topic_arn = f"arn:aws:sns:us-east-1:123456789012:errors-{uuid4().hex[:8]}"
    queue_url, queue_arn = new_queue(sqs, f"errors-reader-{uuid4().hex[:8]}")
    wanted = [SnsSubscription(protocol="sqs", endpoint=queue_arn)]

    planned = ensure_error_topic(sns, topic_arn, wanted, dry_run=True)
    assert [c.action for c in planned] == ["create", "create"]
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=topic_arn)

    changes = ensure_error_topic(sns, topic_arn, wanted, dry_run=False)
    assert [str(c) for c in changes] == [str(c) for c in planned]
    assert ensure_error_topic(sns, topic_arn, wanted, dry_run=False) == []
    # A subscription made elsewhere stays.
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="oncall@example.com")
    assert ensure_error_topic(sns, topic_arn, wanted, dry_run=False) == []
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert sorted(s["Protocol"] for s in subscriptions) == ["email", "sqs"]

    sns.publish(TopicArn=topic_arn, Message='{"error":"bad row"}')
    bodies = received_bodies(sqs, queue_url)
    assert [body["Message"] for body in bodies] == ['{"error":"bad row"}']


def test_a_fifo_topic_is_refused(moto_endpoint: str) -> None:  # noqa: F811 (pytest fixture)
    (sns,) = clients(moto_endpoint, "sns")
    with pytest.raises(AwsWiringError, match="FIFO"):
        ensure_error_topic(sns, "arn:aws:sns:us-east-1:123456789012:errors.fifo", [], dry_run=False)


@pytest.mark.parametrize("dry_run", [True, False], ids=["plan", "apply"])
@pytest.mark.parametrize(
    "arn",
    ["arn:aws:sns:eu-west-1:123456789012:e-{}", "arn:aws:sns:us-east-1:767397677613:e-{}"],
    ids=["region", "account"],
)
def test_a_topic_the_credentials_cannot_create_where_the_arn_says_is_refused_before_anything_is_made(
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
    arn: str,
    dry_run: bool,
) -> None:
    # CreateTopic would make a topic of that name in the credentials' account and region: a stray topic, and the
    # integration still pointing at a missing one. The plan already says so.
    (sns,) = clients(moto_endpoint, "sns")
    topic = arn.format(uuid4().hex[:8])
    with pytest.raises(AwsWiringError, match="credentials of the topic's account"):
        ensure_error_topic(sns, topic, [], dry_run=dry_run, account="123456789012")
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(topic.rsplit(":", 1)[-1])]


# --- IAM trust ---------------------------------------------------------------------------------------------------


def test_the_storage_policy_grants_reading_the_stage_prefixes_only() -> None:
    policy = storage_read_policy([("b1", "raw_data/customer/"), ("b1", "raw_data/sales/"), ("b2", "in/")])
    read, list_b1, list_b2, location = policy["Statement"]
    assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert read["Resource"] == [
        "arn:aws:s3:::b1/raw_data/customer/*",
        "arn:aws:s3:::b1/raw_data/sales/*",
        "arn:aws:s3:::b2/in/*",
    ]
    assert list_b1 == {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::b1",
        "Condition": {"StringLike": {"s3:prefix": ["raw_data/customer/*", "raw_data/sales/*"]}},
    }
    assert list_b2["Resource"] == "arn:aws:s3:::b2"
    assert location == {
        "Effect": "Allow",
        "Action": "s3:GetBucketLocation",
        "Resource": ["arn:aws:s3:::b1", "arn:aws:s3:::b2"],
    }


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped pipelines applied on the local target, with role names of their own (moto's IAM is shared by
    the whole test session)."""
    suffix = uuid4().hex[:8]
    monkeypatch.setenv("RETAIL_ETL_BUCKET", f"retail-etl-test-{suffix}")
    monkeypatch.setenv("RETAIL_ETL_S3_ROLE_ARN", f"arn:aws:iam::123456789012:role/snowflake/s3-{suffix}")
    monkeypatch.setenv("RETAIL_ETL_SNS_ROLE_ARN", f"arn:aws:iam::123456789012:role/sns-{suffix}")
    monkeypatch.delenv("RETAIL_ETL_SNS_TOPIC_ARN", raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    result = CliRunner().invoke(main_app, ["apply", "--auto-approve", "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path


def aws(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["aws", *args])
    assert "Traceback" not in result.output + result.stderr
    return result


def described(project: Path, integration: str) -> dict[str, str]:
    session = LocalSession(project / ".retail-etl")
    try:
        rows = session.query(f"DESC INTEGRATION {integration}")
    finally:
        session.close()
    return {row["property"]: row["property_value"] for row in rows}


def test_trust_policy_prints_both_roles_filled_from_desc_integration(deployed: Path) -> None:
    result = aws("trust-policy", "-C", str(deployed))
    assert result.exit_code == 0, result.output + result.stderr
    document = json.loads(result.stdout)
    storage, notification = document["storage_integration"], document["notification_integration"]
    s3_desc = described(deployed, "S3_BRONZE")
    sns_desc = described(deployed, "SNOWFLAKE_ERROR_INTEGRATION")

    assert storage["integration"] == "S3_BRONZE"
    assert storage["role_arn"] == s3_desc["STORAGE_AWS_ROLE_ARN"]
    assert storage["role_name"] == storage["role_arn"].rsplit("/", 1)[-1]
    (trust,) = storage["trust_policy"]["Statement"]
    assert trust == {
        "Sid": "RetailEtlS3BRONZE",
        "Effect": "Allow",
        "Principal": {"AWS": s3_desc["STORAGE_AWS_IAM_USER_ARN"]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": s3_desc["STORAGE_AWS_EXTERNAL_ID"]}},
    }
    bucket = s3_desc["STORAGE_ALLOWED_LOCATIONS"].split("/")[2]
    assert storage["permission_policy"]["Statement"][0]["Resource"] == [f"arn:aws:s3:::{bucket}/raw_data/customer/*"]

    (trust,) = notification["trust_policy"]["Statement"]
    assert trust["Principal"] == {"AWS": sns_desc["SF_AWS_IAM_USER_ARN"]}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": sns_desc["SF_AWS_EXTERNAL_ID"]}}
    assert notification["permission_policy"]["Statement"] == [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": sns_desc["AWS_SNS_TOPIC_ARN"]}
    ]


def test_apply_updates_the_roles_in_iam_once(
    deployed: Path,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (iam,) = clients(moto_endpoint, "iam")
    placeholder = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "0000"}},
            }
        ],
    }
    document = json.loads(aws("trust-policy", "-C", str(deployed)).stdout)
    roles = [document["storage_integration"], document["notification_integration"]]
    for role in roles:
        path = role["role_arn"].split(":role", 1)[1].rsplit("/", 1)[0] + "/"
        iam.create_role(RoleName=role["role_name"], Path=path, AssumeRolePolicyDocument=json.dumps(placeholder))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)

    result = aws("trust-policy", "--apply", "-C", str(deployed))
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout) == document
    assert "4 IAM change(s) applied." in result.stderr
    for role in roles:
        stored = iam.get_role(RoleName=role["role_name"])["Role"]
        assert stored["AssumeRolePolicyDocument"] == role["trust_policy"]
        inline = iam.get_role_policy(RoleName=role["role_name"], PolicyName=role["permission_policy_name"])
        assert inline["PolicyDocument"] == role["permission_policy"]

    again = aws("trust-policy", "--apply", "-C", str(deployed))
    assert again.exit_code == 0
    assert "The IAM roles are up to date." in again.stderr


def test_apply_merges_its_statements_into_a_role_shared_with_other_trust(
    tmp_path: Path,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One role for both integrations, which also trusts Lambda: both integrations keep their statement (no
    # flip-flop between them on every run) and Lambda's stays.
    shared = f"snowflake-shared-{uuid4().hex[:8]}"
    monkeypatch.setenv("RETAIL_ETL_BUCKET", f"retail-etl-test-{uuid4().hex[:8]}")
    for variable in ("RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.setenv(variable, f"arn:aws:iam::123456789012:role/{shared}")
    monkeypatch.delenv("RETAIL_ETL_SNS_TOPIC_ARN", raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    applied = CliRunner().invoke(main_app, ["apply", "--auto-approve", "-C", str(tmp_path)])
    assert applied.exit_code == 0, applied.output
    (iam,) = clients(moto_endpoint, "iam")
    lambda_trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    iam.create_role(
        RoleName=shared, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [lambda_trust]})
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    result = aws("trust-policy", "--apply", "-C", str(tmp_path))
    assert result.exit_code == 0, result.output + result.stderr
    statements = iam.get_role(RoleName=shared)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    sids = [statement.get("Sid") for statement in statements]
    assert sids == [None, "RetailEtlS3BRONZE", "RetailEtlSNOWFLAKEERRORINTEGRATION"]
    assert statements[0] == lambda_trust
    again = aws("trust-policy", "--apply", "-C", str(tmp_path))
    assert again.exit_code == 0 and "The IAM roles are up to date." in again.stderr


def test_apply_names_a_missing_role(deployed: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811 (pytest fixture)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    result = aws("trust-policy", "--apply", "-C", str(deployed))
    assert result.exit_code == 1
    assert "does not exist: create it" in result.stderr


def test_bad_input_and_an_undeployed_account_end_without_traceback(tmp_path: Path) -> None:
    copy_customer_pipelines(tmp_path / "pipelines")
    assert aws("trust-policy", "-C", str(tmp_path), "-t", "nope").exit_code == 2
    assert aws("trust-policy", "-C", str(tmp_path), "-e", "nope").exit_code == 2
    undeployed = aws("trust-policy", "-C", str(tmp_path))
    assert undeployed.exit_code == 1
    assert "S3_BRONZE" in undeployed.stderr
