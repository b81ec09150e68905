"""plan and apply with the AWS side: the local target pointed at moto (server mode) stands for a Snowflake target
with its AWS account. plan shows the bucket notification (pending until the pipe exists) and the SNS error topic;
apply creates them after the Snowflake changes; S3 events then reach the pipe's channel."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus
from uuid import uuid4

import boto3
import pytest
from typer.testing import CliRunner, Result

from conftest import copy_customer_pipelines

# The fixtures are used by name (pytest), not referenced.
from moto_server import aws_credentials, moto_endpoint, moto_server_url  # noqa: F401
from retail_etl.cli import app
from retail_etl.emulator.catalog import Catalog
from retail_etl.plan.report import plan_from_json

REPO = Path(__file__).resolve().parents[1]
LOCAL_TARGET = "    type: local\n    path: .retail-etl\n"
# The emulated account's Snowpipe queue (SHOW PIPES notification_channel), in moto's default account.
CHANNEL = Catalog().sqs_queue_arn
NOTIFICATION_ID = "retail-etl-snowlake_db-bronze-work_customer_src_to_sl_pipe"


def run(project: Path, *args: str, code: int) -> Result:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def copy_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str | None) -> tuple[Path, str, str]:
    """The shipped pipelines with a bucket and a topic of their own; the local target wired to ``endpoint``."""
    suffix = uuid4().hex[:10]
    bucket, topic = f"retail-etl-test-{suffix}", f"arn:aws:sns:us-east-1:123456789012:errors-{suffix}"
    monkeypatch.setenv("RETAIL_ETL_BUCKET", bucket)
    monkeypatch.setenv("RETAIL_ETL_SNS_TOPIC_ARN", topic)
    copy_customer_pipelines(tmp_path / "pipelines")
    if endpoint is not None:
        project_file = tmp_path / "pipelines" / "project.yml"
        text = project_file.read_text(encoding="utf-8")
        assert LOCAL_TARGET in text
        wired = LOCAL_TARGET + f"    aws_region: us-east-1\n    aws_endpoint_url: {endpoint}\n"
        project_file.write_text(text.replace(LOCAL_TARGET, wired), encoding="utf-8")
    return tmp_path, bucket, topic


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> tuple[Path, str, str]:  # noqa: F811 (pytest fixture)
    project, bucket, topic = copy_project(tmp_path, monkeypatch, moto_endpoint)
    client(moto_endpoint, "s3").create_bucket(Bucket=bucket)
    client(moto_endpoint, "sqs").create_queue(QueueName=CHANNEL.rsplit(":", 1)[-1])
    return project, bucket, topic


def channel_keys(sqs: Any, bucket: str) -> list[str]:
    """Keys of the object-created events for ``bucket`` in the channel (other tests share the queue)."""
    url = sqs.get_queue_url(QueueName=CHANNEL.rsplit(":", 1)[-1])["QueueUrl"]
    keys = []
    for _ in range(3):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            for record in json.loads(message["Body"]).get("Records", []):
                if record["s3"]["bucket"]["name"] == bucket and record["eventName"].startswith("ObjectCreated"):
                    keys.append(unquote_plus(record["s3"]["object"]["key"]))
        if keys:
            break
    return keys


def test_plan_shows_the_aws_side_apply_wires_it_and_events_reach_the_pipes_channel(
    wired: tuple[Path, str, str],
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    project, bucket, topic = wired
    s3, sns, sqs = (client(moto_endpoint, service) for service in ("s3", "sns", "sqs"))

    first = run(project, "plan", "--detailed-exitcode", code=2)
    aws = first.stdout[first.stdout.index("\nAWS\n") :]
    assert f"+ create s3://{bucket} notification {NOTIFICATION_ID}: pending" in aws
    assert f"+ create sns topic {topic}: standard topic" in aws
    assert "AWS: 2 change(s)." in aws
    # Nothing written by a plan.
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=topic)

    applied = run(project, "apply", "--auto-approve", code=0)
    assert "Applied 15 change(s)" in applied.stdout
    done = applied.stdout[applied.stdout.rindex("\nAWS\n") :]
    assert f"+ create s3://{bucket} notification {NOTIFICATION_ID}: s3:ObjectCreated:*" in done
    assert f"-> {CHANNEL}" in done and f"+ create sns topic {topic}" in done
    assert "Applied 2 AWS change(s)." in done
    sns.get_topic_attributes(TopicArn=topic)
    (configuration,) = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert configuration["Id"] == NOTIFICATION_ID and configuration["QueueArn"] == CHANNEL

    again = run(project, "plan", "--detailed-exitcode", code=0)
    assert "No AWS changes" in again.stdout
    # apply with nothing to do changes nothing, AWS included.
    assert "Applied" not in run(project, "apply", "--auto-approve", code=0).stdout

    channel_keys(sqs, bucket)  # the test event S3 may send on configuration
    s3.put_object(Bucket=bucket, Key="raw_data/customer/customers_day1.csv", Body=b"a,b\n")
    s3.put_object(Bucket=bucket, Key="elsewhere/customers_day1.csv", Body=b"a,b\n")
    assert channel_keys(sqs, bucket) == ["raw_data/customer/customers_day1.csv"]


def test_apply_makes_the_pipes_channel_the_local_target_stands_in_for(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    # In an account Snowflake owns the pipes' SQS queue; on the AWS endpoint of a local target nobody else makes
    # it, and S3's events (and so the files) would be lost.
    project, bucket, _ = copy_project(tmp_path, monkeypatch, moto_endpoint)
    s3, sqs = client(moto_endpoint, "s3"), client(moto_endpoint, "sqs")
    s3.create_bucket(Bucket=bucket)
    name = CHANNEL.rsplit(":", 1)[-1]
    with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    applied = run(project, "apply", "--auto-approve", code=0)
    assert f"+ create sqs queue {name}" in applied.stdout
    sqs.get_queue_url(QueueName=name)
    assert "No AWS changes" in run(project, "plan", code=0).stdout
    channel_keys(sqs, bucket)
    s3.put_object(Bucket=bucket, Key="raw_data/customer/customers_day1.csv", Body=b"a,b\n")
    assert channel_keys(sqs, bucket) == ["raw_data/customer/customers_day1.csv"]


def test_plan_finds_an_overlap_with_pipes_not_created_yet(
    wired: tuple[Path, str, str],
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    # dev's pipes read the same prefixes of the same bucket as production's: S3 would refuse their notifications.
    # The plan says so before apply creates anything (the pipes, and so their channels, do not exist yet).
    project, bucket, _ = wired
    run(project, "apply", "--auto-approve", code=0)
    refused = run(project, "plan", "--env", "dev", code=1)
    assert "overlaps the bucket's queue notification retail-etl-snowlake_db-" in refused.stderr
    assert "retail-etl-snowlake_db_dev-" in refused.stderr
    (configuration,) = client(moto_endpoint, "s3").get_bucket_notification_configuration(Bucket=bucket)[
        "QueueConfigurations"
    ]
    assert configuration["Id"] == NOTIFICATION_ID


def test_check_reads_the_bucket_notifications_of_a_local_target_wired_to_s3(
    wired: tuple[Path, str, str],
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    # Its files arrive through S3's events: a missing notification is a pipeline that silently loads nothing.
    project, bucket, _ = wired
    run(project, "apply", "--auto-approve", code=0)

    def notification_check(code: int) -> dict[str, Any]:
        document = json.loads(run(project, "check", "--json", code=code).stdout)
        (result,) = [c for c in document["checks"] if c["pipeline"] == "customer" and "notification" in c["check"]]
        return dict(result)

    assert notification_check(0)["ok"]
    client(moto_endpoint, "s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    broken = notification_check(1)
    assert not broken["ok"] and "not applicable" not in broken["detail"]


def test_plan_json_and_plan_file_carry_the_aws_changes(
    wired: tuple[Path, str, str],
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    project, bucket, topic = wired
    out = project / "plan.json"
    document = json.loads(run(project, "plan", "--json", "--out", str(out), code=0).stdout)
    assert [(c["action"], c["resource"]) for c in document["aws_changes"]] == [
        ("create", f"s3://{bucket} notification {NOTIFICATION_ID}"),
        ("create", f"sns topic {topic}"),
    ]
    assert document["aws_changes"][1]["text"] == f"+ create sns topic {topic}: standard topic"
    assert json.loads(out.read_text()) == document
    # Plan files without the key (older ones, targets without an AWS side) still read.
    del document["aws_changes"]
    plan_from_json(document)

    applied = run(project, "apply", str(out), "--auto-approve", code=0)
    assert "Applied 2 AWS change(s)." in applied.stdout
    (configuration,) = client(moto_endpoint, "s3").get_bucket_notification_configuration(Bucket=bucket)[
        "QueueConfigurations"
    ]
    assert configuration["QueueArn"] == CHANNEL
    assert "aws_changes" in json.loads(run(project, "plan", "--json", code=0).stdout)


def test_skip_aws_leaves_the_aws_side_alone(
    wired: tuple[Path, str, str],
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    project, bucket, _ = wired
    planned = run(project, "plan", "--skip-aws", code=0)
    assert "\nAWS\n" not in planned.stdout
    assert "aws_changes" not in json.loads(run(project, "plan", "--json", "--skip-aws", code=0).stdout)
    run(project, "apply", "--auto-approve", "--skip-aws", code=0)
    assert "QueueConfigurations" not in client(moto_endpoint, "s3").get_bucket_notification_configuration(Bucket=bucket)
    # The next plan (without --skip-aws) shows what is left to do, now with the pipe's channel known.
    remaining = run(project, "plan", "--detailed-exitcode", code=2).stdout
    assert f"notification {NOTIFICATION_ID}: s3:ObjectCreated:* (prefix 'raw_data/customer/') -> {CHANNEL}" in (
        remaining
    )
    assert "No changes." in remaining


def test_missing_credentials_name_skip_aws(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    project, _, _ = copy_project(tmp_path, monkeypatch, moto_endpoint)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for command in (["plan"], ["plan", "--detailed-exitcode"], ["apply", "--auto-approve"]):
        result = run(project, *command, code=1)
        assert "no AWS credentials found for target 'local'" in result.stderr
        assert "--skip-aws" in result.stderr
    # Nothing was applied: apply stops before the Snowflake changes.
    assert "Plan: 15 to create" in run(project, "plan", "--skip-aws", code=0).stdout


def test_an_aws_failure_makes_apply_fail_with_the_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    # The bucket does not exist.
    project, _, _ = copy_project(tmp_path, monkeypatch, moto_endpoint)
    result = run(project, "apply", "--auto-approve", code=1)
    assert "NoSuchBucket" in result.stderr and "AWS side" in result.stderr


def test_a_local_target_without_an_aws_endpoint_has_no_aws_side(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    aws_credentials: None,  # noqa: F811 (pytest fixture)
) -> None:
    project, _, _ = copy_project(tmp_path, monkeypatch, None)
    planned = run(project, "plan", "--detailed-exitcode", code=2)
    assert "\nAWS\n" not in planned.stdout
    assert "aws_changes" not in json.loads(run(project, "plan", "--json", code=0).stdout)
    applied = run(project, "apply", "--auto-approve", code=0)
    assert "AWS" not in applied.stdout
