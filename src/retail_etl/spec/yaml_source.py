"""YAML reading that remembers where every value came from, so errors can name ``file:line:column``.

Also performs ``${VAR}`` / ``${VAR:-default}`` interpolation on scalar strings. Interpolation is for non-secret
values (account-specific bucket names, ARNs); secrets never live in spec files.

Mapping keys are always read as text (a key ``on:`` or ``no:`` is the string, not a YAML 1.1 boolean), YAML merge
keys (``<<: *anchor``) are supported, and anything PyYAML cannot build safely (unknown tags, recursive aliases,
alias bombs) is reported as an issue instead of raising.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MERGE_TAG = "tag:yaml.org,2002:merge"
# A spec file is small; more nodes than this means an alias bomb ("billion laughs"), not a pipeline.
MAX_NODES = 100_000


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

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (str(self.position.file), self.position.line, self.position.column, self.field_path, self.message)


@dataclass
class _Marks:
    """Where everything in a file was written (the parser's marks: a Position is made only when an error needs one)."""

    positions: dict[Location, yaml.Mark] = field(default_factory=dict)
    """Where each value starts."""
    key_positions: dict[Location, yaml.Mark] = field(default_factory=dict)
    """Where the key of each mapping entry starts."""
    collections: set[Location] = field(default_factory=set)
    """Locations whose value is a mapping or a list."""


@dataclass
class YamlDocument:
    """The plain data of one file and, for every location (a path of keys and indexes), where it was written.

    The positions are found when something first asks for one (an error to report), by parsing the text again: a
    valid file, the common case, never needs them, and recording them for every node of every file would cost more
    than parsing again the few files that have errors.
    """

    path: Path
    data: Any
    failed: set[Location] = field(default_factory=set)
    """Locations whose value could not be interpolated (already reported; later checks skip them)."""
    substituted: dict[Location, list[str]] = field(default_factory=dict)
    """Locations whose value took text from environment variables, and which variables."""
    text: str | None = field(default=None, repr=False)
    """The file's text, parsed again when positions are asked for."""
    _marks: _Marks | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def positions(self) -> dict[Location, yaml.Mark]:
        """Where each value starts."""
        return self._located().positions

    @property
    def key_positions(self) -> dict[Location, yaml.Mark]:
        """Where the key of each mapping entry starts."""
        return self._located().key_positions

    @property
    def collections(self) -> set[Location]:
        """Locations whose value is a mapping or a list."""
        return self._located().collections

    def _located(self) -> _Marks:
        if self._marks is None:
            self._marks = _Marks()
            root = _compose(self.text) if self.text is not None else None
            if root is not None:
                # The same build as the first one (it succeeded), now recording where every node is.
                builder = _Builder(self.path, {}, marks=self._marks)
                builder.build(root, ())
        return self._marks

    def has(self, location: Location) -> bool:
        """Whether the file gives a value at ``location`` (``location in positions``, without finding positions)."""
        current = self.data
        for part in location:
            in_mapping = isinstance(current, dict) and part in current
            in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
            if not (in_mapping or in_list):
                return False
            current = current[part]
        return True

    def position_of(self, location: Location, *, key: bool = False) -> Position:
        """Where to point for a problem at ``location`` (a pydantic ``loc`` or a data path).

        A scalar points at its value; a mapping or list, a field that is missing, or ``key=True`` (unknown or
        duplicate keys) point at the key that introduces it, so the line is the one the user has to edit.
        """
        wanted = tuple(location)
        trimmed = wanted
        while trimmed:
            if trimmed in self.positions:
                use_key = key or trimmed in self.collections or trimmed != wanted
                if use_key and trimmed in self.key_positions:
                    return self._position(self.key_positions[trimmed])
                return self._position(self.positions[trimmed])
            trimmed = trimmed[:-1]
        return self._position(self.positions[()]) if () in self.positions else Position(self.path, 1, 1)

    def _position(self, mark: yaml.Mark) -> Position:
        return Position(self.path, mark.line + 1, mark.column + 1)

    def is_failed(self, location: Location) -> bool:
        wanted = tuple(location)
        return any(wanted[: len(failed)] == failed for failed in self.failed)


class _Loader(yaml.SafeLoader):
    """The safe loader, used only to compose the node tree (values, duplicate keys and merges are the builder's)."""


# libyaml's C parser when PyYAML has it (its wheels do): composing in pure Python costs ~20 ms per pipeline file,
# too slow for projects with hundreds of pipelines. Its error messages are terser, so a file it rejects is parsed
# again by the pure-Python loader to report the error.
_STR_TAG = "tag:yaml.org,2002:str"
# A plain scalar can only resolve to a non-string (bool, int, float, null, timestamp, merge, value) if it starts
# with one of these; everything else skips PyYAML's per-scalar regular expressions.
_MAYBE_NOT_STRING = frozenset("0123456789+-.~<=")
# YAML 1.1 words PyYAML resolves to booleans and null; any other word is a string.
_WORD_TAGS = {
    **dict.fromkeys(
        [
            "yes",
            "Yes",
            "YES",
            "no",
            "No",
            "NO",
            "true",
            "True",
            "TRUE",
            "false",
            "False",
            "FALSE",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
        ],
        "tag:yaml.org,2002:bool",
    ),
    **dict.fromkeys(["null", "Null", "NULL"], "tag:yaml.org,2002:null"),
}


_RESOLVER: Any = yaml.resolver.Resolver()


@cache
def _tag(kind: type[yaml.Node], value: Any, implicit: Any) -> str:
    """The tag PyYAML's resolver gives a node: it depends on these arguments only (no path resolvers are set)."""
    if kind is yaml.ScalarNode and implicit[0] and value and value[0] not in _MAYBE_NOT_STRING:
        return _WORD_TAGS.get(value, _STR_TAG)
    return str(_RESOLVER.resolve(kind, value, implicit))


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    # The C composer asks for the tag of every node: memoized, the answer for a value seen before never leaves C.
    resolve = staticmethod(_tag)


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=_Loader)


def _position(path: Path, node: yaml.Node) -> Position:
    return Position(path, node.start_mark.line + 1, node.start_mark.column + 1)


# Names that say they carry secrets: a spec key (never allowed) or a ${VAR} (never substituted). Matched on the
# name's words (snake_case, kebab-case, camelCase or SHOUTING), so ``snowflake_password``, ``apiToken`` and
# ``AWS_SECRET_ACCESS_KEY`` count.
_SECRET_NAME = re.compile(
    r"(^|_)(password|passwd|pwd|passphrase|secret|token|credentials?|private_?key|api_?key|access_?key"
    r"|secret_?key|client_?secret)(_|$)"
)


@cache
def is_secret_name(name: str) -> bool:
    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().replace("-", "_")
    return bool(_SECRET_NAME.search(words))


def missing_variables(text: str, environ: Mapping[str, str]) -> list[str]:
    """The variables ``text`` uses that are not set and have no ``:-default``, in order of appearance."""
    found: list[str] = []
    for match in _VARIABLE.finditer(text):
        name, default = match.group(1), match.group(2)
        if name not in environ and default is None and name not in found:
            found.append(name)
    return found


def malformed_reference(text: str) -> str | None:
    """A ``${`` that does not start a well-formed ``${NAME}`` / ``${NAME:-default}``, if any."""
    rest = _VARIABLE.sub("", text)
    index = rest.find("${")
    if index < 0:
        return None
    end = rest.find("}", index)
    return rest[index : end + 1] if end >= 0 else rest[index:]


def _substitute(text: str, environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        # As in the shell, ${VAR:-default} also takes the default when VAR is set but empty (CI systems often
        # pass unset secrets and variables as empty strings).
        if default is not None and not environ.get(name):
            return default
        if name in environ:
            return environ[name]
        return match.group(0)

    return _VARIABLE.sub(replace, text)


class _Builder:
    """Turns a composed YAML node tree into plain data, recording problems (and positions into ``marks``)."""

    def __init__(self, path: Path, environ: Mapping[str, str], *, marks: _Marks | None = None) -> None:
        self.path = path
        self.environ = environ
        self.document = YamlDocument(path, None)
        self.marks = marks
        self.issues: list[SourceIssue] = []
        # Only to turn tagged scalars into Python values: the constructor alone, not a whole loader (reader, scanner,
        # parser...) per file.
        self.constructor = yaml.constructor.SafeConstructor()
        self.nodes = 0
        self.active: set[int] = set()  # nodes on the current path (an alias back into it is a cycle)

    def issue(self, node: yaml.Node, location: Location, message: str) -> None:
        self.issues.append(SourceIssue(_position(self.path, node), dotted(location), message))

    def build(self, node: yaml.Node, location: Location) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLargeError(node)
        if self.marks is not None:
            self.marks.positions[location] = node.start_mark
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if self.marks is not None:
                self.marks.collections.add(location)
            if id(node) in self.active:
                self.issue(node, location, "recursive YAML alias (an anchor that contains itself)")
                return None
            self.active.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, location)
                return [self.build(item, (*location, index)) for index, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self._scalar(node, location)

    def _mapping(self, node: yaml.MappingNode, location: Location) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for merged_node in sources:
                    if not isinstance(merged_node, yaml.MappingNode):
                        self.issue(value_node, location, "a YAML merge key (<<) needs a mapping or a list of mappings")
                        continue
                    merged.extend(merged_node.value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.issue(key_node, location, "keys must be plain names, not lists or mappings")
                continue
            key = str(key_node.value)
            if key in result:
                first_key = next(
                    k
                    for k, _ in node.value
                    if k.tag != _MERGE_TAG and isinstance(k, yaml.ScalarNode) and k.value == key
                )
                first = first_key.start_mark.line + 1
                self.issue(key_node, (*location, key), f"duplicate key {key!r} (first defined on line {first})")
                continue
            child = (*location, key)
            if self.marks is not None:
                self.marks.key_positions[child] = key_node.start_mark
            result[key] = self.build(value_node, child)
        # Merged entries fill in what the mapping does not set itself (explicit keys win, as in YAML 1.1).
        for key_node, value_node in merged:
            if not isinstance(key_node, yaml.ScalarNode) or str(key_node.value) in result:
                continue
            key = str(key_node.value)
            if self.marks is not None:
                self.marks.key_positions[(*location, key)] = key_node.start_mark
            result[key] = self.build(value_node, (*location, key))
        return result

    def _scalar(self, node: yaml.Node, location: Location) -> Any:
        value = node.value if node.tag == _STR_TAG else self.constructor.construct_object(node)
        if isinstance(value, bytes):
            # pydantic would take the decoded bytes for text: a spec value is written as it is meant
            self.document.failed.add(location)
            self.issue(node, location, "binary values (!!binary) are not accepted: write the text itself")
            return value
        if not (isinstance(value, str) and "${" in value):
            return value
        bad = malformed_reference(value)
        if bad is not None:
            self.document.failed.add(location)
            self.issue(node, location, f"malformed variable reference {bad!r}: use ${{NAME}} or ${{NAME:-default}}")
            return value
        secret = next((m.group(1) for m in _VARIABLE.finditer(value) if is_secret_name(m.group(1))), None)
        if secret is not None:
            # Specs become DDL, comments and plan output: a credential substituted here would be printed and stored.
            self.document.failed.add(location)
            self.issue(
                node,
                location,
                f"${{{secret}}} looks like a credential: specs take non-secret values only (credentials belong in"
                " connections.toml or the SNOWFLAKE_* / AWS variables the tools read themselves)",
            )
            return value
        missing = missing_variables(value, self.environ)
        if missing:
            self.document.failed.add(location)
            names = ", ".join(missing)
            plural = "s" if len(missing) > 1 else ""
            verb = "are" if len(missing) > 1 else "is"
            self.issue(
                node,
                location,
                f"environment variable{plural} {names} {verb} not set"
                f" (set it, or give a default: ${{{missing[0]}:-value}})",
            )
            return value
        from_environment = [m.group(1) for m in _VARIABLE.finditer(value) if m.group(1) in self.environ]
        if from_environment:
            self.document.substituted[location] = from_environment
        return _substitute(value, self.environ)


class _TooLargeError(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("too many YAML nodes")
        self.node = node


def load_yaml(path: Path, environ: Mapping[str, str] | None = None) -> tuple[YamlDocument, list[SourceIssue]]:
    """Parse one YAML file into plain data plus the position of every node. Never raises for bad input."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", f"cannot read file: {exc.strerror}")]
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        return YamlDocument(path, None), [_yaml_error(path, exc)]
    except yaml.YAMLError as exc:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", f"invalid YAML: {exc}")]
    except RecursionError:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", "invalid YAML: nested too deeply")]
    builder = _Builder(path, env)
    builder.document.text = text
    if root is None:
        return builder.document, []
    try:
        builder.document.data = builder.build(root, ())
    except yaml.MarkedYAMLError as exc:
        return YamlDocument(path, None), [*builder.issues, _yaml_error(path, exc)]
    except RecursionError:
        return YamlDocument(path, None), [SourceIssue(Position(path, 1, 1), "", "invalid YAML: nested too deeply")]
    except _TooLargeError as exc:
        message = f"too many YAML nodes (more than {MAX_NODES}): check the anchors and aliases"
        return YamlDocument(path, None), [SourceIssue(_position(path, exc.node), "", message)]
    return builder.document, builder.issues


# From this many files on, two processes parse them (each half): parsing is most of the time of validating a large
# project, and what the second process sends back (plain data, text and issues: positions are found only on demand)
# costs a few percent of parsing it.
_PARALLEL_FROM = 64


def load_yaml_files(
    paths: list[Path], environ: Mapping[str, str] | None = None
) -> list[tuple[YamlDocument, list[SourceIssue]]]:
    """:func:`load_yaml` of every file, in order."""
    if len(paths) < _PARALLEL_FROM or not _can_fork():
        return [load_yaml(path, environ) for path in paths]
    half = len(paths) // 2
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse the second half, send it, and leave without running the parent's exit handlers
        try:
            os.close(reader)
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump([load_yaml(path, environ) for path in paths[half:]], pipe, pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        try:
            first = [load_yaml(path, environ) for path in paths[:half]]
            try:
                second: list[tuple[YamlDocument, list[SourceIssue]]] = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):  # the child failed: parse its half here
                second = [load_yaml(path, environ) for path in paths[half:]]
        finally:
            pipe.close()  # a child still writing gets a broken pipe and exits
            os.waitpid(pid, 0)
    return first + second


def _can_fork() -> bool:
    """Forking is safe only without other threads (one could hold a lock the child would wait for forever), and
    only on Linux (macOS system libraries may start threads of their own)."""
    return sys.platform == "linux" and threading.active_count() == 1


def _yaml_error(path: Path, exc: yaml.MarkedYAMLError) -> SourceIssue:
    mark = exc.problem_mark or exc.context_mark
    pos = Position(path, mark.line + 1, mark.column + 1) if mark else Position(path, 1, 1)
    problem = exc.problem or str(exc)
    if problem.startswith("could not determine a constructor for the tag"):
        tag = problem.removeprefix("could not determine a constructor for the tag").strip()
        return SourceIssue(pos, "", f"invalid YAML: unsupported tag {tag} (only plain YAML values are allowed)")
    if problem == "mapping values are not allowed here":
        problem += " (check the indentation, or quote a value that contains ': ')"
    elif problem.startswith("found character '\\t'"):
        problem = "tab character: YAML indents with spaces only"
    if exc.context:
        context = exc.context
        if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
            context += f" that starts on line {exc.context_mark.line + 1}"
        problem = f"{problem} ({context})"
    return SourceIssue(pos, "", f"invalid YAML: {problem}")


def dotted(location: Location) -> str:
    """``("landing", "columns", 2, "name")`` -> ``landing.columns[2].name``."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_dotted = dotted
