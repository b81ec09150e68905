"""The steps the commands share: load specs, open a target, observe, plan. Plain functions, no printing."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_etl.identifiers import Identifier
from retail_etl.objects.base import Wanted
from retail_etl.plan.planner import Plan, build_plan
from retail_etl.spec.load import LoadedProject, load_project
from retail_etl.spec.models import LocalTargetSpec, SnowflakeTargetSpec
from retail_etl.spec.resolve import DesiredState, resolve
from retail_etl.targets.session import Session, TargetError

if TYPE_CHECKING:
    from retail_etl.aws.changes import AwsChange
    from retail_etl.targets.snowflake.config import ConnectionSettings

__all__ = ["Project", "TargetError", "aws_side", "load", "make_plan", "open_session", "scope", "target_name"]


@dataclass
class Project:
    loaded: LoadedProject
    desired: DesiredState

    @property
    def name(self) -> str:
        return self.loaded.project.project


def load(project_dir: Path, environment: str | None, environ: Mapping[str, str] | None = None) -> Project:
    """Validate the specs and derive the desired objects (raises SpecError)."""
    loaded = load_project(project_dir, environment, environ)
    return Project(loaded, resolve(loaded))


def target_name(project: Project, explicit: str | None) -> str:
    name = explicit or project.loaded.overlay.target or project.loaded.project.default_target
    if name not in project.loaded.project.targets:
        known = ", ".join(sorted(project.loaded.project.targets))
        raise TargetError(f"unknown target {name!r} (targets in pipelines/project.yml: {known})")
    return name


def query_tag(project: Project, command: str) -> str:
    return json.dumps(
        {"app": "retail-etl", "command": command, "project": project.name, "env": project.loaded.environment},
        separators=(",", ":"),
    )


def open_session(
    project: Project,
    target: str,
    *,
    command: str,
    connection: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Session:
    """Connect to the target. Heavy modules are imported here, not at CLI start-up."""
    spec = project.loaded.project.targets[target]
    tag = query_tag(project, command)
    if isinstance(spec, LocalTargetSpec):
        from retail_etl.targets.local import LocalSession

        return LocalSession(project.loaded.project_dir / spec.path, query_tag=tag)
    assert isinstance(spec, SnowflakeTargetSpec)
    from retail_etl.targets.snowflake.session import SnowflakeSession

    return SnowflakeSession(snowflake_settings(project, spec, connection, environ), query_tag=tag)


def snowflake_settings(
    project: Project,
    spec: SnowflakeTargetSpec,
    connection: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """The connection a Snowflake target uses (the session's and dbt's alike): connections.toml and SNOWFLAKE_*
    variables as the Snowflake CLI reads them, with the project's database and the target's role over them."""
    from retail_etl.targets.snowflake.config import ConnectionConfigError, resolve_connection

    overrides: dict[str, Any] = {"database": project.desired.database.stored}
    if spec.role:
        overrides["role"] = spec.role
    try:
        return resolve_connection(
            connection or spec.connection, environ=os.environ if environ is None else environ, overrides=overrides
        )
    except ConnectionConfigError as exc:
        raise TargetError(str(exc)) from exc


def scope(project: Project) -> dict[str, Any]:
    """What a plan observed: saved with the plan so ``apply plan.json`` re-reads exactly the same things."""
    return {
        "databases": [project.desired.database.stored],
        **Wanted.of(project.desired.objects).to_json(),
    }


def observe_and_plan(session: Session, databases: list[Identifier], wanted: Wanted, project: Project) -> Plan:
    from retail_etl.plan.observe import observe

    observed = observe(session, databases, wanted)
    return build_plan(project.desired.objects, observed)


def make_plan(project: Project, session: Session, target: str) -> Plan:
    plan = observe_and_plan(session, [project.desired.database], Wanted.of(project.desired.objects), project)
    plan.target = target
    plan.environment = project.loaded.environment
    return plan


def aws_side(
    project: Project, session: Session, target: str, *, dry_run: bool, skip: bool = False
) -> list[AwsChange] | None:
    """The target's AWS changes (what a plan shows, or what apply did), or None when the target has no AWS side
    or ``skip`` (``--skip-aws``). Raises AwsWiringError."""
    from retail_etl.aws.wiring import aws_changes, aws_endpoint

    if skip or aws_endpoint(project, target) is None:
        return None
    return aws_changes(project, session, target, dry_run=dry_run)


def current_fingerprint(session: Session, saved_scope: Mapping[str, Any]) -> str:
    """Observe exactly what a saved plan observed and fingerprint it again."""
    from retail_etl.plan.observe import observe
    from retail_etl.plan.planner import fingerprint

    databases = [Identifier(name) for name in saved_scope["databases"]]
    return fingerprint(observe(session, databases, Wanted.from_json(saved_scope)))
