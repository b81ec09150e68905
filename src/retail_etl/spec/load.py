"""Load ``pipelines/project.yml`` and every ``pipelines/*.yml``; report all problems at once, with positions.

Every problem becomes a :class:`SourceIssue` (``file:line:column: field.path: message``); nothing raises for bad
input except :class:`SpecError`, which carries all of them.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from retail_etl.spec.models import EnvironmentSpec, PipelineSpec, ProjectSpec
from retail_etl.spec.yaml_source import (
    Location,
    Position,
    SourceIssue,
    YamlDocument,
    dotted,
    is_secret_name,
    load_yaml,
    load_yaml_files,
)

PROJECT_FILE = "project.yml"
SPEC_DIR = "pipelines"

# Values that are secrets whatever their key: PEM private keys and AWS access key ids.
_SECRET_VALUES = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
)
_MAYBE_SECRET_VALUE = re.compile("|".join(pattern.pattern for pattern, _ in _SECRET_VALUES))
_SECRET_MESSAGE = "secrets never live in spec files: use connections.toml or environment variables"


class SpecError(Exception):
    """Invalid specs: every issue found, each naming file, line, column and field."""

    def __init__(self, issues: list[SourceIssue]) -> None:
        unique: dict[tuple[str, int, int, str, str], SourceIssue] = {}
        for issue in issues:
            unique.setdefault(issue.sort_key, issue)
        self.issues = [unique[key] for key in sorted(unique)]
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

    def display(self, path: Path | str) -> str:
        """A spec file as messages name it: relative to the project directory (``pipelines/customer.yml``)."""
        return _relative(Path(path), self.project_dir)


Model = TypeVar("Model", bound=BaseModel)


def _validate(
    model: type[Model], document: YamlDocument, found: list[SourceIssue], issues: list[SourceIssue]
) -> Model | None:
    """Validate one file's data; ``found`` are the file's YAML-level issues (kept unless a secret covers them)."""
    secret_keys: set[Location] = set()
    _find_secrets(document.data, (), document, issues, secret_keys)
    hidden = [dotted(key) for key in secret_keys]
    # Under a secret key only the secret itself is worth saying (not e.g. that its ${VAR} is unset).
    issues.extend(i for i in found if not any(_is_under(i.field_path, path) for path in hidden))
    if not isinstance(document.data, dict):
        kind = "a list" if isinstance(document.data, list) else "a single value"
        issues.append(
            SourceIssue(document.position_of(()), "", f"expected a mapping (key: value lines) at the top, found {kind}")
        )
        return None
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors():
            issue = _issue_from_error(model, error, document, secret_keys)
            if issue is not None:
                issues.append(issue)
        return None


def _is_under(field_path: str, parent: str) -> bool:
    return field_path == parent or field_path.startswith((parent + ".", parent + "["))


def _issue_from_error(
    model: type[BaseModel], error: ErrorDetails, document: YamlDocument, secret_keys: set[Location]
) -> SourceIssue | None:
    """One pydantic error as a positioned, readable issue (None when another issue already covers it)."""
    location = _data_location(tuple(error["loc"]), document.data)
    context: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    on_key = False
    if location and location[-1] == "[key]":
        location, on_key = location[:-1], True
    if kind == "located":
        location = (*location, *context["at"])
    elif kind == "union_tag_invalid":
        location = (*location, "type")
    if document.is_failed(location):
        return None  # the variable that should have given it a value is already reported
    if kind == "extra_forbidden":
        if location in secret_keys:
            return None  # already reported as a secret, which says more than "unknown field"
        on_key = True
    message = _message(model, kind, location, error, context)
    if location in document.substituted and kind != "missing":
        names = ", ".join("${" + name + "}" for name in document.substituted[location])
        message += f" (the value comes from {names})"
    return SourceIssue(document.position_of(location, key=on_key), dotted(location), message)


def _data_location(loc: tuple[str | int, ...], data: Any) -> Location:
    """A pydantic ``loc`` as a path into the data: drops the tags pydantic adds for tagged unions (targets)."""
    out: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part not in current and current.get("type") == part:
            continue  # the discriminator's tag (``targets.prod.snowflake.role`` -> ``targets.prod.role``)
        out.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(out)


def _message(
    model: type[BaseModel], kind: str, location: Location, error: ErrorDetails, context: dict[str, Any]
) -> str:
    value = error.get("input")
    got = f" (got {_show(value)})"
    if kind == "located":
        return str(context["message"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(model, location)
    if kind == "literal_error":
        return f"must be one of {context['expected'].replace(' or ', ', ')}{got}"
    if kind == "union_tag_invalid":
        return f"must be one of {context['expected_tags']} (got {context['tag']!r})"
    if kind == "union_tag_not_found":
        return f"needs a type field ({_union_tags(model, location)})"
    if kind in ("string_type", "str_type"):
        return "must be text" + _yaml_typing_hint(value)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number" + got
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false" + got
    if kind == "list_type":
        hint = ": write it as [a, b] or as one '- item' line per entry" if isinstance(value, str) else ""
        return "must be a list" + got + hint
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping (key: value lines)" + got
    if kind == "too_short":
        minimum = context.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"needs at least {minimum} items"
    if kind == "too_long":
        return f"has more than {context.get('max_length')} items"
    if kind == "string_too_short":
        minimum = context.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters long{got}"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters long{got}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
        limit = next(v for k, v in context.items() if k in ("ge", "gt", "le", "lt"))
        return f"must be {bounds[kind]} {limit}{got}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _yaml_typing_hint(value: Any) -> str:
    if isinstance(value, bool):
        return f" (YAML read this as the boolean {str(value).lower()}: put the value in quotes)"
    if isinstance(value, int | float):
        return f" (YAML read this as the number {value}: put the value in quotes)"
    if isinstance(value, date | datetime):
        return f" (YAML read this as the date {value.isoformat()}: put the value in quotes)"
    if isinstance(value, list | dict):
        return f" (got a {'list' if isinstance(value, list) else 'mapping'})"
    if value is None:
        return " (got an empty value)"
    return ""


def _unknown_field(model: type[BaseModel], location: Location) -> str:
    name = str(location[-1])
    allowed = _fields_at(model, location[:-1])
    if not allowed:
        return f"unknown field {name!r}"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field {name!r} (did you mean {close[0]!r}?)"
    return f"unknown field {name!r} (allowed here: {', '.join(allowed)})"


def _union_tags(model: type[BaseModel], location: Location) -> str:
    models = _models_at(model, location)
    tags = [str(typing.get_args(m.model_fields["type"].annotation)[0]) for m in models if "type" in m.model_fields]
    return "one of " + ", ".join(repr(t) for t in tags) if tags else "see `retail-etl schema`"


def _fields_at(model: type[BaseModel], location: Location) -> list[str]:
    names: list[str] = []
    for found in _models_at(model, location):
        names.extend(n for n in found.model_fields if n not in names)
    return names


def _models_at(model: type[BaseModel], location: Location) -> list[type[BaseModel]]:
    """The model classes that validate the mapping at ``location`` (several for a tagged union)."""
    current: list[Any] = [model]
    for part in location:
        following: list[Any] = []
        for annotation in current:
            for option in _options(annotation):
                if isinstance(option, type) and issubclass(option, BaseModel):
                    if isinstance(part, str) and part in option.model_fields:
                        following.append(option.model_fields[part].annotation)
                elif typing.get_origin(option) is list and isinstance(part, int):
                    following.extend(typing.get_args(option)[:1])
                elif typing.get_origin(option) is dict:
                    following.extend(typing.get_args(option)[1:2])
        current = following
    models: list[type[BaseModel]] = []
    for annotation in current:
        models.extend(o for o in _options(annotation) if isinstance(o, type) and issubclass(o, BaseModel))
    return models


def _options(annotation: Any) -> list[Any]:
    """``Annotated[X, ...]`` -> [X]; ``A | B | None`` -> [A, B]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _options(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [o for arg in typing.get_args(annotation) for o in _options(arg) if o is not type(None)]
    return [annotation]


def _may_hold_secret(value: Any) -> bool:
    """A collection, or a string that matches either secret pattern: most values are short strings that match
    neither, and skipping them saves a call (and a location) per value of every file."""
    return isinstance(value, dict | list) or (isinstance(value, str) and _MAYBE_SECRET_VALUE.search(value) is not None)


def _find_secrets(
    data: Any, location: Location, document: YamlDocument, issues: list[SourceIssue], secret_keys: set[Location]
) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if is_secret_name(str(key)):
                secret_keys.add((*location, key))
                issues.append(
                    SourceIssue(
                        document.position_of((*location, key), key=True),
                        dotted((*location, key)),
                        f"{key!r} looks like a secret key, and {_SECRET_MESSAGE}",
                    )
                )
                continue
            if _may_hold_secret(value):
                _find_secrets(value, (*location, key), document, issues, secret_keys)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if _may_hold_secret(value):
                _find_secrets(value, (*location, index), document, issues, secret_keys)
    elif isinstance(data, str):
        for pattern, what in _SECRET_VALUES:
            if pattern.search(data):
                secret_keys.add(location)
                issues.append(
                    SourceIssue(
                        document.position_of(location),
                        dotted(location),
                        f"the value looks like {what}, and {_SECRET_MESSAGE}",
                    )
                )
                document.failed.add(location)  # do not echo it back in another message
                break


def _load_pipeline(
    path: Path, document: YamlDocument, found: list[SourceIssue]
) -> tuple[PipelineSource | None, list[SourceIssue]]:
    """Validate one parsed pipeline file (``found``: the problems parsing found)."""
    issues: list[SourceIssue] = []
    if document.data is None:
        issues.extend(found)
        if not found:
            issues.append(SourceIssue(Position(path, 1, 1), "", "empty pipeline file (no pipeline: key)"))
        return None, issues
    spec = _validate(PipelineSpec, document, found, issues)
    return (PipelineSource(spec, document) if spec is not None else None), issues


def load_project(
    project_dir: Path, environment: str | None = None, environ: Mapping[str, str] | None = None
) -> LoadedProject:
    """Read and validate every spec file; raise :class:`SpecError` listing all problems.

    When some files are invalid, the cross-object checks still run on the valid ones, so one run reports
    everything that can be known.
    """
    spec_dir = project_dir / SPEC_DIR
    project_path = spec_dir / PROJECT_FILE
    issues: list[SourceIssue] = []
    if not project_path.is_file():
        where = f"no {SPEC_DIR}/{PROJECT_FILE} in {project_dir} (is -C the project directory?)"
        raise SpecError([SourceIssue(Position(project_path, 1, 1), "", f"project file not found: {where}")])
    project_doc, found = load_yaml(project_path, environ)
    project: ProjectSpec | None = None
    if project_doc.data is None:
        issues.extend(found)
        if not found:
            issues.append(SourceIssue(Position(project_path, 1, 1), "", "the project file is empty"))
    else:
        project = _validate(ProjectSpec, project_doc, found, issues)
    paths = [
        path
        for path in sorted(spec_dir.glob("*.yml")) + sorted(spec_dir.glob("*.yaml"))
        if path.name not in (PROJECT_FILE, "project.yaml")
    ]
    pipelines: list[PipelineSource] = []
    for path, (document, parse_issues) in zip(paths, load_yaml_files(paths, environ), strict=True):
        source, file_issues = _load_pipeline(path, document, parse_issues)
        issues.extend(file_issues)
        if source is not None:
            pipelines.append(source)
    known_environment = environment
    if project is not None and environment is not None and environment not in project.environments:
        known_environment = None
        known = ", ".join(sorted(project.environments)) or "none are defined"
        issues.append(
            SourceIssue(
                project_doc.position_of(("environments",), key=True),
                "environments",
                f"unknown environment {environment!r} given with --env (environments in this file: {known})",
            )
        )
    unique: list[PipelineSource] = []
    seen: dict[str, PipelineSource] = {}
    for source in pipelines:
        other = seen.get(source.spec.pipeline)
        if other is not None:
            issues.append(
                SourceIssue(
                    source.document.position_of(("pipeline",)),
                    "pipeline",
                    f"duplicate pipeline name {source.spec.pipeline!r}: also defined in"
                    f" {_relative(other.document.path, project_dir)}",
                )
            )
            continue
        seen[source.spec.pipeline] = source
        unique.append(source)
    if project is None:
        raise SpecError(issues)
    loaded = LoadedProject(project_dir, project, project_doc, unique, known_environment)
    if issues:
        raise SpecError(issues + _cross_object_issues(loaded))
    return loaded


def _cross_object_issues(loaded: LoadedProject) -> list[SourceIssue]:
    """What :func:`retail_etl.spec.resolve.resolve` finds in the files that are valid on their own."""
    from retail_etl.spec.resolve import resolve  # resolve imports this module

    try:
        resolve(loaded)
    except SpecError as exc:
        return exc.issues
    return []


def _relative(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)
