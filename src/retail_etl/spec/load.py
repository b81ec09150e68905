"""Load ``pipelines/project.yml`` and every ``pipelines/*.yml``; report all problems at once, with positions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from retail_etl.spec.models import EnvironmentSpec, PipelineSpec, ProjectSpec
from retail_etl.spec.yaml_source import Position, SourceIssue, YamlDocument, dotted, load_yaml

PROJECT_FILE = "project.yml"
SPEC_DIR = "pipelines"

# Keys that would carry secrets: they never belong in a spec file (use connections.toml / the environment).
_SECRET_KEYS = {
    "password",
    "private_key",
    "private_key_file_pwd",
    "private_key_passphrase",
    "token",
    "secret",
    "aws_secret_access_key",
    "aws_session_token",
    "passphrase",
}


class SpecError(Exception):
    """Invalid specs: every issue found, each naming file, line, column and field."""

    def __init__(self, issues: list[SourceIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (str(i.position.file), i.position.line, i.position.column))
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass
class PipelineSource:
    spec: PipelineSpec
    document: YamlDocument


@dataclass
class LoadedProject:
    project_dir: Path
    project: ProjectSpec
    project_document: YamlDocument
    pipelines: list[PipelineSource] = field(default_factory=list)
    environment: str | None = None

    @property
    def overlay(self) -> EnvironmentSpec:
        if self.environment is None:
            return EnvironmentSpec()
        return self.project.environments[self.environment]


Model = TypeVar("Model", bound=BaseModel)


def _validate(model: type[Model], document: YamlDocument, issues: list[SourceIssue]) -> Model | None:
    _find_secrets(document.data, (), document, issues)
    if not isinstance(document.data, dict):
        issues.append(SourceIssue(document.position_of(()), "", "expected a mapping at the top of the file"))
        return None
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors():
            location = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (check the spelling; see `retail-etl schema`)"
            issues.append(SourceIssue(document.position_of(location), dotted(location), message))
        return None


def _find_secrets(
    data: Any, location: tuple[str | int, ...], document: YamlDocument, issues: list[SourceIssue]
) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in _SECRET_KEYS:
                issues.append(
                    SourceIssue(
                        document.position_of((*location, key)),
                        dotted((*location, key)),
                        "secrets never live in spec files: use connections.toml or environment variables",
                    )
                )
            _find_secrets(value, (*location, key), document, issues)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _find_secrets(value, (*location, index), document, issues)


def load_project(
    project_dir: Path, environment: str | None = None, environ: Mapping[str, str] | None = None
) -> LoadedProject:
    """Read and validate every spec file; raise :class:`SpecError` listing all problems."""
    spec_dir = project_dir / SPEC_DIR
    project_path = spec_dir / PROJECT_FILE
    issues: list[SourceIssue] = []
    if not project_path.is_file():
        raise SpecError([SourceIssue(Position(project_path, 1, 1), "", "project file not found")])
    project_doc, found = load_yaml(project_path, environ)
    issues.extend(found)
    project = _validate(ProjectSpec, project_doc, issues) if project_doc.data is not None or not found else None
    pipelines: list[PipelineSource] = []
    for path in sorted(spec_dir.glob("*.yml")) + sorted(spec_dir.glob("*.yaml")):
        if path.name in (PROJECT_FILE, "project.yaml"):
            continue
        document, found = load_yaml(path, environ)
        issues.extend(found)
        if document.data is None:
            if not found:
                issues.append(SourceIssue(Position(path, 1, 1), "", "empty pipeline file"))
            continue
        spec = _validate(PipelineSpec, document, issues)
        if spec is not None:
            pipelines.append(PipelineSource(spec, document))
    if project is not None and environment is not None and environment not in project.environments:
        issues.append(
            SourceIssue(
                project_doc.position_of(("environments",)),
                "environments",
                f"unknown environment {environment!r} (known: {', '.join(sorted(project.environments)) or 'none'})",
            )
        )
    seen: dict[str, PipelineSource] = {}
    for source in pipelines:
        other = seen.get(source.spec.pipeline)
        if other is not None:
            issues.append(
                SourceIssue(
                    source.document.position_of(("pipeline",)),
                    "pipeline",
                    f"pipeline {source.spec.pipeline!r} is also defined in {other.document.path}",
                )
            )
        seen[source.spec.pipeline] = source
    if issues or project is None:
        raise SpecError(issues)
    return LoadedProject(project_dir, project, project_doc, pipelines, environment)
