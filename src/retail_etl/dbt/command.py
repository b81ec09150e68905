"""``retail-etl dbt build|run|test|snapshot|profile``, registered on the CLI app by :func:`register`.

Thin like cli_local.py: the profile is built in :mod:`retail_etl.dbt.profile`, dbt runs in :mod:`retail_etl.dbt.runner`.
Arguments after the subcommand that retail-etl does not know go to dbt as given (``--select``, ``--full-refresh``).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from retail_etl.cli_common import (
    EXIT_ERROR,
    EXIT_INPUT,
    ConnectionOption,
    EnvOption,
    ProjectDir,
    TargetOption,
    fail,
    load_project_or_exit,
    target_or_exit,
)
from retail_etl.console import Printer

if TYPE_CHECKING:
    from retail_etl.dbt.profile import DbtProfile
    from retail_etl.workflow import Project

DBT_DIRECTORY = "dbt"
# Options retail-etl does not know are dbt's: collect them (and their values) in ctx.args.
PASS_THROUGH: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}

dbt_app = typer.Typer(
    help="Run dbt on the target's database with a profile made from the target's configuration.",
    no_args_is_help=True,
)


def _profile_or_exit(printer: Printer, project: Project, target: str, connection: str | None) -> DbtProfile:
    from retail_etl.dbt.profile import ProfileError, build_profile
    from retail_etl.spec.models import SnowflakeTargetSpec
    from retail_etl.targets.session import TargetError
    from retail_etl.workflow import snowflake_settings

    spec = project.loaded.project.targets[target]
    settings = None
    if isinstance(spec, SnowflakeTargetSpec):
        # The very connection `plan` and `apply` use.
        try:
            settings = snowflake_settings(project, spec, connection)
        except TargetError as exc:
            fail(printer, f"cannot configure dbt for target {target!r}: {exc}", EXIT_INPUT)
    try:
        return build_profile(project, target, settings)
    except ProfileError as exc:
        fail(printer, f"cannot configure dbt for target {target!r}: {exc}", EXIT_INPUT)


def _run(
    ctx: typer.Context, command: str, *, project_dir: Path, target: str | None, env: str | None, connection: str | None
) -> None:
    from retail_etl.dbt.profile import dbt_vars
    from retail_etl.dbt.runner import DbtUsageError, run_dbt
    from retail_etl.local.warehouse import database_file
    from retail_etl.spec.models import LocalTargetSpec

    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    name = target_or_exit(printer, project, target)
    dbt_dir = (project.loaded.project_dir / DBT_DIRECTORY).resolve()
    if not (dbt_dir / "dbt_project.yml").is_file():
        fail(printer, f"no dbt project: {dbt_dir / 'dbt_project.yml'} does not exist", EXIT_INPUT)
    profile = _profile_or_exit(printer, project, name, connection)
    spec = project.loaded.project.targets[name]
    if isinstance(spec, LocalTargetSpec):
        database = project.desired.database.stored
        if not database_file(project.loaded.project_dir / spec.path, database).is_file():
            # dbt-duckdb would create an empty file that the local warehouse never made.
            fail(printer, f"database {database} is not deployed on target {name!r} yet: run `retail-etl apply` first")
    # Nothing above opened the target: on the local target DuckDB lets one process write a file, and dbt-duckdb
    # opens it in this process, so retail-etl must not hold it while dbt runs.
    try:
        outcome = run_dbt(command, dbt_dir, profile=profile, variables=dbt_vars(project), extra=ctx.args)
    except DbtUsageError as exc:
        fail(printer, str(exc), EXIT_INPUT)
    if outcome.exception is not None:
        code = EXIT_INPUT if isinstance(outcome.exception, DbtUsageError) else EXIT_ERROR
        fail(printer, f"dbt {command}: {outcome.exception}", code)
    if not outcome.success:
        # dbt has reported the failing models and tests itself.
        raise typer.Exit(EXIT_ERROR)


def _dbt_command(command: str, summary: str) -> Callable[..., None]:
    def dbt_command(
        ctx: typer.Context,
        project_dir: ProjectDir = Path("."),
        target: TargetOption = None,
        env: EnvOption = None,
        connection: ConnectionOption = None,
    ) -> None:
        _run(ctx, command, project_dir=project_dir, target=target, env=env, connection=connection)

    dbt_command.__doc__ = (
        f"{summary} Extra arguments go to `dbt {command}` (e.g. --select MODEL); the profile, target and --vars"
        " (retail_database, bronze_schema, silver_schema, gold_schema) come from the project. Exit 0 ok, 1 dbt"
        " failed, 2 bad usage."
    )
    return dbt_command


def profile(
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    connection: ConnectionOption = None,
) -> None:
    """Print the profiles.yml retail-etl gives dbt (secrets as env_var references), to run dbt yourself."""
    from retail_etl.dbt.profile import dbt_vars

    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    name = target_or_exit(printer, project, target)
    document = _profile_or_exit(printer, project, name, connection)
    variables = shlex.quote(json.dumps(dbt_vars(project), sort_keys=True))
    sys.stdout.write(f"# dbt <command> --target {name} --vars {variables}\n{document.yaml()}")


def register(app: typer.Typer) -> None:
    """Add the ``dbt`` group to ``app``."""
    for command, summary in (
        ("build", "Run, test, snapshot and seed the dbt project, in dependency order."),
        ("run", "Build the dbt project's models."),
        ("test", "Run the dbt project's data tests."),
        ("snapshot", "Run the dbt project's snapshots."),
        # compile needs no connection with --no-populate-cache: how CI checks the models' Snowflake SQL offline.
        ("compile", "Compile the dbt project's SQL for the target into dbt/target/compiled."),
    ):
        dbt_app.command(command, context_settings=PASS_THROUGH, short_help=summary)(_dbt_command(command, summary))
    dbt_app.command("profile")(profile)
    app.add_typer(dbt_app, name="dbt")
