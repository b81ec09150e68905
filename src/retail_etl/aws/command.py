"""``retail-etl aws``: the AWS side of the integrations, registered on the CLI app by :func:`register`.

The CLI imports this module at start-up: boto3 is imported when a command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from retail_etl.cli_common import (
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

ApplyOption = Annotated[bool, typer.Option("--apply", help="Write the trust and permission policies to the IAM roles.")]


def register(app: typer.Typer) -> None:
    """Add the ``aws`` command group to ``app``."""
    aws = typer.Typer(help="The AWS side of the integrations.", no_args_is_help=True)
    app.add_typer(aws, name="aws")

    @aws.command("trust-policy")
    def trust_policy(
        apply: ApplyOption = False,
        project_dir: ProjectDir = Path("."),
        target: TargetOption = None,
        env: EnvOption = None,
        connection: ConnectionOption = None,
    ) -> None:
        """Print, as JSON, the trust and permission policies of the storage and notification integrations' IAM
        roles, filled from DESC INTEGRATION (Snowflake's IAM user, the external ids). --apply writes them.
        """
        from retail_etl.aws.changes import AwsWiringError
        from retail_etl.aws.trust import integration_roles

        printer = Printer(stderr=True)
        project = load_project_or_exit(printer, project_dir, env)
        name = target_or_exit(printer, project, target)
        with OpenTarget(printer, project, name, "aws trust-policy", connection) as session:
            try:
                roles = guard(printer, lambda: integration_roles(session, project))
            except AwsWiringError as exc:
                fail(printer, str(exc))
        document = {"storage_integration": roles[0].to_json(), "notification_integration": roles[1].to_json()}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        if not apply:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from retail_etl.aws.clients import aws_client, target_endpoint
        from retail_etl.aws.trust import apply_role_policies

        region, endpoint_url = target_endpoint(project, name)
        try:
            changes = apply_role_policies(aws_client("iam", region=region, endpoint_url=endpoint_url), roles)
        except (AwsWiringError, BotoCoreError, ClientError) as exc:
            fail(printer, f"updating the IAM roles: {exc}")
        for change in changes:
            printer.plain(str(change))
        printer.ok(f"{len(changes)} IAM change(s) applied." if changes else "The IAM roles are up to date.")
