"""boto3 clients for the AWS wiring, configured from the target like the upload's S3 client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retail_etl.workflow import Project

MAX_ATTEMPTS = 10


def target_endpoint(project: Project, target: str) -> tuple[str | None, str | None]:
    """The target's ``(aws_region, aws_endpoint_url)``; unset ones (a local target without them) leave it to
    boto3's own settings (``AWS_REGION``, ``AWS_ENDPOINT_URL``, the config file)."""
    spec = project.loaded.project.targets[target]
    return spec.aws_region, spec.aws_endpoint_url


def aws_client(service: str, *, region: str | None, endpoint_url: str | None) -> Any:
    """A client from boto3's standard credential chain, retrying throttling and 5xx with adaptive backoff."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS})
    return boto3.session.Session(region_name=region).client(service, endpoint_url=endpoint_url, config=config)
