"""``retail-etl check``: the health of every pipeline after apply, registered on the CLI app by :func:`register`.

Thin like cli_local.py: the checks live in :mod:`retail_etl.check.health`; boto3 is imported only when the bucket
notifications are read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from retail_etl.cli_common import (
    EXIT_ERROR,
    ConnectionOption,
    EnvOption,
    OpenTarget,
    ProjectDir,
    TargetOption,
    fail,
    guard,
    load_project_or_exit,
    target_or_exit,
)
from retail_etl.console import Printer

if TYPE_CHECKING:
    from retail_etl.check.health import CheckResult, NotificationFetcher
    from retail_etl.workflow import Project


def _local_results(
    printer: Printer, project: Project, target: str, root: Path, *, wired: bool, skip_aws: bool
) -> list[CheckResult]:
    from retail_etl.check.health import local_checks
    from retail_etl.local.runtime import LocalRuntime
    from retail_etl.targets.local import is_deployed

    if not is_deployed(root):
        fail(printer, f"nothing is deployed on target {target!r} yet: run `retail-etl apply` first")
    reader = _bucket_reader(project, target) if wired and not skip_aws else None
    runtime = LocalRuntime(root)
    try:
        return guard(
            printer,
            lambda: local_checks(
                runtime, project.desired.pipelines, project.desired.database.sql, wired=wired, notifications=reader
            ),
        )
    finally:
        runtime.close()


def _bucket_reader(project: Project, target: str) -> NotificationFetcher:
    """Reads a bucket's notification configuration with the target's AWS settings and boto3's credential chain."""
    from retail_etl.aws.clients import aws_client, target_endpoint
    from retail_etl.check.health import NoAwsAccessError

    region, endpoint = target_endpoint(project, target)
    client: Any = None

    def read(bucket: str) -> Mapping[str, Any]:
        import boto3
        from botocore.exceptions import NoCredentialsError

        nonlocal client
        # Checked up front: without credentials boto3 would only fail inside the call, after its retries.
        if boto3.session.Session(region_name=region).get_credentials() is None:
            raise NoAwsAccessError
        if client is None:
            client = aws_client("s3", region=region, endpoint_url=endpoint)
        try:
            answer: Mapping[str, Any] = client.get_bucket_notification_configuration(Bucket=bucket)
        except NoCredentialsError:
            raise NoAwsAccessError from None
        return answer

    return read


def check(
    *,
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    connection: ConnectionOption = None,
    skip_aws: Annotated[
        bool, typer.Option("--skip-aws", help="Do not read the bucket notifications (S3); not counted as unhealthy.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Health after apply, per pipeline: storage integration, pipe status, task started, stream not stale, bucket
    notification to the pipe's channel. Exit 1 if anything is unhealthy."""
    from retail_etl.check.health import healthy, snowflake_checks
    from retail_etl.spec.models import LocalTargetSpec

    printer = Printer(stderr=as_json)
    project = load_project_or_exit(printer, project_dir, env)
    name = target_or_exit(printer, project, target)
    spec = project.loaded.project.targets[name]
    if isinstance(spec, LocalTargetSpec):
        root = project.loaded.project_dir / spec.path
        wired = spec.aws_endpoint_url is not None
        results = _local_results(printer, project, name, root, wired=wired, skip_aws=skip_aws)
    else:
        reader = None if skip_aws else _bucket_reader(project, name)
        with OpenTarget(printer, project, name, "check", connection) as session:
            results = guard(
                printer,
                lambda: snowflake_checks(session, project.desired.pipelines, project.desired.database.sql, reader),
            )
    ok = healthy(results)
    if as_json:
        document = {"target": name, "healthy": ok, "checks": [asdict(result) for result in results]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print(printer, name, project.desired.database.stored, results)
    if not ok:
        raise typer.Exit(EXIT_ERROR)


def _print(printer: Printer, target: str, database: str, results: list[CheckResult]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Health of {database} on target {target}", title_justify="left")
    for column in ("pipeline", "check", "result", "detail"):
        table.add_column(column, overflow="fold")
    for result in results:
        # Text, not markup strings: details quote account answers, which may hold "[...]".
        verdict = Text("ok", style="green") if result.ok else Text("FAIL", style="bold red")
        table.add_row(Text(result.pipeline), Text(result.check), verdict, Text(result.detail))
    printer.out.print(table)
    failed = sum(not result.ok for result in results)
    if failed:
        printer.error(f"{failed} check(s) failed")
    else:
        printer.ok(f"all {len(results)} check(s) passed")


def register(app: typer.Typer) -> None:
    """Add ``check`` to ``app``."""
    app.command()(check)
