"""End to end, Snowpipe fed by S3 events: the local target pointed at moto (server mode). apply wires the bucket
notification to the queue standing for the pipe's channel; files put into the moto bucket reach the local pipe
only through those events; a file the pipe skips produces an INGEST_FAILED_FILE message published to the SNS
error topic, read back through an SQS subscription."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
from typer.testing import CliRunner, Result

from conftest import copy_customer_pipelines

# The fixtures are used by name (pytest), not referenced.
from moto_server import aws_credentials, moto_endpoint, moto_server_url  # noqa: F401
from retail_etl.cli import app
from retail_etl.emulator.catalog import Catalog
from retail_etl.sample.customers import customer_days

REPO = Path(__file__).resolve().parents[1]
LOCAL_TARGET = "    type: local\n    path: .retail-etl\n"
CHANNEL = Catalog().sqs_queue_arn
CHANNEL_NAME = CHANNEL.rsplit(":", 1)[-1]
GOOD, BAD = "customers_2023-12-30.csv", "customers_2023-12-31_store7.csv"


def run(project: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def silver(project: Path) -> list[dict[str, str]]:
    text = run(project, "query", "SELECT * FROM SILVER.CUSTOMER", "--csv").stdout
    return list(csv.DictReader(io.StringIO(text)))


def subscription_messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The SNS messages delivered to the subscribed queue, each the published JSON document (deleted once read)."""
    found: list[dict[str, Any]] = []
    for _ in range(3):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            found.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def channel_depth(sqs: Any) -> int:
    url = sqs.get_queue_url(QueueName=CHANNEL_NAME)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_s3_events_feed_the_local_pipe_and_failed_files_reach_the_sns_topic(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,  # noqa: F811 (pytest fixture)
) -> None:
    suffix = uuid4().hex[:10]
    bucket, topic = f"retail-etl-test-{suffix}", f"arn:aws:sns:us-east-1:123456789012:errors-{suffix}"
    monkeypatch.setenv("RETAIL_ETL_BUCKET", bucket)
    monkeypatch.setenv("RETAIL_ETL_SNS_TOPIC_ARN", topic)
    copy_customer_pipelines(tmp_path / "pipelines")
    project_file = tmp_path / "pipelines" / "project.yml"
    text = project_file.read_text(encoding="utf-8")
    assert LOCAL_TARGET in text
    wired = LOCAL_TARGET + f"    aws_region: us-east-1\n    aws_endpoint_url: {moto_endpoint}\n"
    project_file.write_text(text.replace(LOCAL_TARGET, wired), encoding="utf-8")
    project = tmp_path

    s3, sns, sqs = (client(moto_endpoint, service) for service in ("s3", "sns", "sqs"))
    s3.create_bucket(Bucket=bucket)
    channel_url = sqs.create_queue(QueueName=CHANNEL_NAME)["QueueUrl"]
    sqs.purge_queue(QueueUrl=channel_url)  # the queue is shared with the other tests of this moto server
    assert "Applied 2 AWS change(s)." in run(project, "apply", "--auto-approve").stdout

    errors_url = sqs.create_queue(QueueName=f"errors-{suffix}")["QueueUrl"]
    errors_arn = sqs.get_queue_attributes(QueueUrl=errors_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=errors_arn, Attributes={"RawMessageDelivery": "false"})

    days = customer_days()
    for name in (GOOD, BAD):
        s3.put_object(Bucket=bucket, Key=f"raw_data/customer/{name}", Body=days[name].encode("utf-8"))
    # Only the events bring the files: nothing is in the local bucket folder yet.
    assert not (project / ".retail-etl" / "bucket" / bucket).exists()

    first = run(project, "run", "--now")
    assert "Files loaded by the pipes" in first.stdout
    assert GOOD in first.stdout and BAD in first.stdout
    names = {(row["FIRST_NAME"], row["LAST_NAME"]) for row in silver(project)}
    good_rows = list(csv.DictReader(io.StringIO(days[GOOD])))
    assert names == {(row["FIRST_NAME"], row["LAST_NAME"]) for row in good_rows}
    assert ("Zed", "Unloadable") not in names
    assert channel_depth(sqs) == 0

    (message,) = subscription_messages(sqs, errors_url)
    assert message["messageType"] == "INGEST_FAILED_FILE"
    assert [m["fileName"] for m in message["messages"]] == [f"/{BAD}"]
    assert message["stageLocation"] == f"s3://{bucket}/raw_data/customer"

    again = run(project, "run", "--now")
    assert "Files loaded by the pipes" not in again.stdout
    assert subscription_messages(sqs, errors_url) == []
    assert len(silver(project)) == len(good_rows)
    assert channel_depth(sqs) == 0

    # `retail-etl upload` on this target puts the file in S3; its event brings it to the pipe at once.
    day2 = tmp_path / "incoming" / "customers_2023-12-31.csv"
    day2.parent.mkdir()
    day2.write_text(days["customers_2023-12-31.csv"], encoding="utf-8")
    uploaded = run(project, "upload", str(day2))
    assert "Loaded" in uploaded.stdout
    assert s3.head_object(Bucket=bucket, Key="raw_data/customer/customers_2023-12-31.csv")["ContentLength"] > 0
    run(project, "run", "--now")
    day2_keys = {(row["FIRST_NAME"], row["LAST_NAME"]) for row in csv.DictReader(io.StringIO(days[day2.name]))}
    assert day2_keys <= {(row["FIRST_NAME"], row["LAST_NAME"]) for row in silver(project)}
    assert channel_depth(sqs) == 0
