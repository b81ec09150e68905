"""What every object kind shares: its reference, its desired form, its observed form, and the change rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from retail_etl.identifiers import Identifier, QualifiedName

MANAGED_MARKER = "[managed by retail-etl]"


class Kind(StrEnum):
    DATABASE = "database"
    SCHEMA = "schema"
    STORAGE_INTEGRATION = "storage_integration"
    NOTIFICATION_INTEGRATION = "notification_integration"
    FILE_FORMAT = "file_format"
    STAGE = "stage"
    TABLE = "table"
    PIPE = "pipe"
    STREAM = "stream"
    PROCEDURE = "procedure"
    TASK = "task"
    VIEW = "view"

    @property
    def sql_keyword(self) -> str:
        """The object type as written in DDL (``DROP <keyword> ...``)."""
        return self.value.replace("_", " ").upper()


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: Kind
    name: QualifiedName
    # Hashed once, when made: see QualifiedName.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.kind, self.name)))

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def key(self) -> str:
        """Stable text key, used in plan files and as the node id of the dependency graph."""
        return f"{self.kind.value}:{self.name.display}"

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name.display}"

    def to_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "database": self.name.database.stored if self.name.database else None,
            "schema": self.name.schema.stored if self.name.schema else None,
            "name": self.name.name.stored,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectRef:
        return cls(
            Kind(data["kind"]),
            QualifiedName(
                name=Identifier(str(data["name"])),
                database=Identifier(str(data["database"])) if data.get("database") else None,
                schema=Identifier(str(data["schema"])) if data.get("schema") else None,
            ),
        )


def managed_comment(user_comment: str | None) -> str:
    """The COMMENT written to the account: the user's text plus the marker that says retail-etl owns the object."""
    return f"{user_comment} {MANAGED_MARKER}" if user_comment else MANAGED_MARKER


def is_managed(comment: str | None) -> bool:
    return bool(comment) and str(comment).endswith(MANAGED_MARKER)


class DesiredObject(BaseModel):
    """One object as the specs want it. Subclasses add their fields and say how they compare."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: ClassVar[Kind]
    name: QualifiedName
    comment: str | None = None
    source_file: str | None = None

    # Cached: the dependency graph is walked twice per run (the cycle check when resolving, then the planner), and
    # fresh references would be built and hashed again for every node and edge of it.
    @cached_property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name)

    @cached_property
    def dependency_refs(self) -> tuple[ObjectRef, ...]:
        """:meth:`dependencies`, computed once."""
        return tuple(self.dependencies())

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        if update:
            # The copy starts from this object's __dict__, cached properties included: drop them, the fields changed.
            for name in [n for n in copied.__dict__ if n not in type(self).model_fields]:
                del copied.__dict__[name]
        return copied

    @property
    def full_comment(self) -> str:
        return managed_comment(self.comment)

    @property
    def declares_collation(self) -> bool:
        """Whether a column of it declares a collation (see :class:`Wanted`)."""
        return False

    def dependencies(self) -> list[ObjectRef]:
        """Objects that must exist before this one (same spec set)."""
        return [ObjectRef(Kind.SCHEMA, self.schema_name)] if self.name.schema is not None else []

    @property
    def schema_name(self) -> QualifiedName:
        assert self.name.schema is not None and self.name.database is not None
        return QualifiedName(name=self.name.schema, database=self.name.database)

    @property
    def database(self) -> Identifier:
        assert self.name.database is not None
        return self.name.database

    def state(self) -> dict[str, Any]:
        """The properties compared against the account, in the normalized form the reader produces."""
        return {"comment": self.full_comment}


@dataclass
class ObservedObject:
    """One object as read back from the account, normalized so that equal means no drift."""

    ref: ObjectRef
    state: dict[str, Any]
    managed: bool
    details: dict[str, Any] = field(default_factory=dict)


class Safety(StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"


class Action(StrEnum):
    CREATE = "create"
    ALTER = "alter"
    REPLACE = "replace"
    DROP = "drop"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PropertyChange:
    name: str
    before: Any
    after: Any


@dataclass
class Verdict:
    """What a kind decides for one desired/observed pair whose states differ."""

    action: Action
    safety: Safety = Safety.SAFE
    consequence: str | None = None
    statements: list[str] = field(default_factory=list)
    # Unsafe changes are allowed per category (``--allow-unsafe stream,pipe``); default is the kind's name.
    category: str | None = None


def changed_properties(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[PropertyChange]:
    keys = list(desired) + [k for k in observed if k not in desired]
    return [
        PropertyChange(key, observed.get(key), desired.get(key))
        for key in keys
        if desired.get(key) != observed.get(key)
    ]


@dataclass(frozen=True)
class Wanted:
    """What a plan reads closely: the objects the specs name (``ref in wanted``), and among them the tables whose
    columns declare a collation. Snowflake documents INFORMATION_SCHEMA.COLUMNS.COLLATION_NAME as "not applicable",
    so where it is blank for those tables their columns are read again with DESC TABLE. Saved with a plan, so that
    ``apply plan.json`` reads the account the same way."""

    refs: frozenset[ObjectRef]
    collated: frozenset[ObjectRef] = frozenset()

    @classmethod
    def of(cls, objects: Iterable[DesiredObject]) -> Wanted:
        objects = list(objects)
        return cls(frozenset(o.ref for o in objects), frozenset(o.ref for o in objects if o.declares_collation))

    def __contains__(self, ref: object) -> bool:
        return ref in self.refs

    def __iter__(self) -> Iterator[ObjectRef]:
        return iter(self.refs)

    def to_json(self) -> dict[str, Any]:
        return {
            "wanted": [ref.to_json() for ref in sorted(self.refs)],
            "collated": [ref.to_json() for ref in sorted(self.collated)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Wanted:
        return cls(
            frozenset(ObjectRef.from_json(item) for item in data["wanted"]),
            frozenset(ObjectRef.from_json(item) for item in data.get("collated", [])),
        )
