"""YAML reading that remembers where every value came from, so errors can name ``file:line:column``.

Also performs ``${VAR}`` / ``${VAR:-default}`` interpolation on scalar strings. Interpolation is for non-secret
values (account-specific bucket names, ARNs); secrets never live in spec files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Position:
    file: Path
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class SourceIssue:
    """One problem found in a spec file, with where it is."""

    position: Position
    field_path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.field_path}:" if self.field_path else ""
        return f"{self.position}:{where} {self.message}"


@dataclass
class YamlDocument:
    path: Path
    data: Any
    positions: dict[Location, Position] = field(default_factory=dict)

    def position_of(self, location: Location) -> Position:
        """The position of the deepest known node on ``location`` (a pydantic ``loc`` or a data path)."""
        trimmed = tuple(location)
        while trimmed:
            if trimmed in self.positions:
                return self.positions[trimmed]
            trimmed = trimmed[:-1]
        return self.positions.get((), Position(self.path, 1, 1))


# libyaml's C parser when PyYAML was built with it (the wheels are): composing nodes in pure Python costs ~20 ms
# per pipeline file, too slow for projects with hundreds of pipelines. Duplicate keys are detected by build().
_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _position(path: Path, node: yaml.Node) -> Position:
    return Position(path, node.start_mark.line + 1, node.start_mark.column + 1)


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; raises KeyError naming the first missing variable."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise KeyError(name)

    return _VARIABLE.sub(replace, text)


def load_yaml(path: Path, environ: Mapping[str, str] | None = None) -> tuple[YamlDocument, list[SourceIssue]]:
    """Parse one YAML file into plain data plus the position of every node."""
    env = os.environ if environ is None else environ
    issues: list[SourceIssue] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", f"cannot read file: {exc}")]
    try:
        root = yaml.compose(text, Loader=_Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(path, mark.line + 1, mark.column + 1) if mark else Position(path, 1, 1)
        return YamlDocument(path, None), [SourceIssue(pos, "", f"invalid YAML: {exc.problem or exc}")]
    document = YamlDocument(path, None)
    if root is None:
        return document, issues
    constructor = yaml.SafeLoader("")  # used only to resolve scalar tags to Python values

    def build(node: yaml.Node, location: Location) -> Any:
        document.positions[location] = _position(path, node)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node)
                if not isinstance(key, str | int):
                    issues.append(SourceIssue(_position(path, key_node), _dotted(location), "keys must be strings"))
                    continue
                if key in result:
                    issues.append(SourceIssue(_position(path, key_node), _dotted((*location, key)), "duplicate key"))
                    continue
                result[key] = build(value_node, (*location, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*location, index)) for index, item in enumerate(node.value)]
        value = constructor.construct_object(node)
        if isinstance(value, str) and "${" in value:
            try:
                value = interpolate(value, env)
            except KeyError as missing:
                issues.append(
                    SourceIssue(
                        _position(path, node),
                        _dotted(location),
                        f"environment variable {missing.args[0]} is not set (use ${{{missing.args[0]}:-default}})",
                    )
                )
        return value

    document.data = build(root, ())
    return document, issues


def _dotted(location: Location) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted = _dotted
