"""The planner: a pure function of (desired objects, observed objects) -> ordered changes.

No I/O here. ``plan`` output and ``apply`` input are the same :class:`Plan`; apply only executes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from retail_etl.objects import handler_for
from retail_etl.objects.base import (
    Action,
    DesiredObject,
    Kind,
    ObjectRef,
    ObservedObject,
    PropertyChange,
    Safety,
    changed_properties,
)
from retail_etl.plan.graph import CycleError, dependency_graph, topological_order

PLAN_FORMAT_VERSION = 1


@dataclass
class Change:
    action: Action
    ref: ObjectRef
    safety: Safety = Safety.SAFE
    consequence: str | None = None
    differences: list[PropertyChange] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)  # keys of changes that must finish first
    # What --allow-unsafe must name to allow it: the kind, "adopt", or both ("adopt,table"), comma-separated.
    category: str = ""
    source_file: str | None = None

    @property
    def key(self) -> str:
        return self.ref.key

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.ref.kind.value,
            "name": self.ref.name.display,
            "key": self.key,
            "safety": self.safety.value,
            "category": self.category,
            "consequence": self.consequence,
            "differences": [{"property": d.name, "before": d.before, "after": d.after} for d in self.differences],
            "statements": self.statements,
            "depends_on": self.depends_on,
            "source_file": self.source_file,
        }


@dataclass
class Plan:
    changes: list[Change]
    # Fingerprint of what was observed: apply of a saved plan refuses when the account has moved since.
    observed_fingerprint: str
    target: str = ""
    environment: str | None = None

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action is not Action.UNCHANGED]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def unsafe(self) -> list[Change]:
        return [c for c in self.actionable if c.safety is Safety.UNSAFE]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "target": self.target,
            "environment": self.environment,
            "observed_fingerprint": self.observed_fingerprint,
            "summary": summary(self),
            "changes": [c.to_json() for c in self.actionable],
        }


def summary(plan: Plan) -> dict[str, int]:
    counts = {action.value: 0 for action in Action}
    for change in plan.changes:
        counts[change.action.value] += 1
    counts["unsafe"] = len(plan.unsafe())
    return counts


def fingerprint(observed: Iterable[ObservedObject]) -> str:
    payload = sorted((o.ref.key, json.dumps(o.state, sort_keys=True, default=str), o.managed) for o in observed)
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


_ADOPT = "the object exists but is not managed by retail-etl (no marker in its COMMENT): applying takes it over"


def build_plan(
    desired: Iterable[DesiredObject],
    observed: Iterable[ObservedObject],
) -> Plan:
    """Diff desired against observed and order the changes so every object's dependencies come first.

    Raises :class:`CycleError` if the desired objects depend on each other in a loop.
    """
    desired_by_ref = {obj.ref: obj for obj in desired}
    observed_list = list(observed)
    observed_by_ref = {obj.ref: obj for obj in observed_list}
    graph = dependency_graph(desired_by_ref)
    order = topological_order(graph)

    changes: dict[ObjectRef, Change] = {}
    # Objects re-created because something they depend on is re-created or moved, and that cause.
    forced: dict[ObjectRef, ObjectRef] = {}
    dependents: dict[ObjectRef, list[ObjectRef]] = {}
    for ref, deps in graph.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(ref)

    for ref in order:
        obj = desired_by_ref[ref]
        handler = handler_for(ref.kind)
        existing = observed_by_ref.get(ref)
        depends_on = [d.key for d in graph[ref]]
        if existing is None:
            change = Change(Action.CREATE, ref, statements=handler.create(obj), category=ref.kind.value)
        else:
            inherited = handler.left_to_the_account(obj)
            diffs = [d for d in changed_properties(obj.state(), existing.state) if d.name not in inherited]
            if ref in forced:
                verdict = handler.recreate_for_dependency(obj, existing, forced[ref])
            elif not diffs:
                changes[ref] = Change(Action.UNCHANGED, ref, depends_on=depends_on, source_file=obj.source_file)
                continue
            else:
                verdict = handler.decide(obj, existing, diffs)
            change = Change(
                verdict.action,
                ref,
                verdict.safety,
                verdict.consequence,
                diffs,
                verdict.statements,
                category=verdict.category or ref.kind.value,
            )
            if not existing.managed:
                # Taking the object over needs `adopt`; a change that is UNSAFE in itself (a re-created table loses
                # its rows) still needs its own category too: allowing adoption must not allow the data loss.
                change.category = f"adopt,{change.category}" if change.safety is Safety.UNSAFE else "adopt"
                change.safety = Safety.UNSAFE
                change.consequence = f"{_ADOPT}. {change.consequence}" if change.consequence else _ADOPT
            if change.action is Action.REPLACE or (
                change.action is Action.ALTER and {d.name for d in diffs} & handler.cascades_on
            ):
                for dependent in dependents.get(ref, []):
                    if _recreated_with(ref.kind, dependent.kind):
                        forced[dependent] = ref
        change.depends_on = depends_on
        change.source_file = obj.source_file
        changes[ref] = change

    # Objects retail-etl manages that have left the specs: dropped, dependents first, always UNSAFE. A schema or
    # database that still holds objects retail-etl does not manage (dbt's models, tables made by hand) is left in
    # place: dropping it would drop them, and unmanaged objects are never touched.
    orphans = [o for o in observed_list if o.managed and o.ref not in desired_by_ref]
    drops: list[Change] = []
    kept: list[Change] = []
    for orphan in sorted(orphans, key=lambda o: (_DROP_ORDER.index(o.ref.kind), o.ref.key)):
        handler = handler_for(orphan.ref.kind)
        strangers = sorted(o.ref.name.display for o in observed_list if not o.managed and _holds(orphan.ref, o.ref))
        if strangers:
            shown = ", ".join(strangers[:5]) + (f" and {len(strangers) - 5} more" if len(strangers) > 5 else "")
            kept.append(
                Change(
                    Action.UNCHANGED,
                    orphan.ref,
                    consequence=f"left in place although it left the specs: it holds {len(strangers)} object(s) "
                    f"retail-etl does not manage ({shown}); drop or move them, and the next plan drops it",
                )
            )
            continue
        drops.append(
            Change(
                Action.DROP,
                orphan.ref,
                Safety.UNSAFE,
                handler.drop_consequence,
                statements=handler.drop(orphan.ref, orphan),
                category=orphan.ref.kind.value,
                # Drops run one after another, consumers first.
                depends_on=[drops[-1].key] if drops else [],
            )
        )
    ordered = [changes[ref] for ref in order]
    return Plan(ordered + drops + kept, fingerprint(observed_list))


def _holds(container: ObjectRef, ref: ObjectRef) -> bool:
    """Whether ``ref`` lives in the schema or database ``container``."""
    if container.kind is Kind.SCHEMA:
        return ref.name.schema == container.name.name and ref.name.database == container.name.database
    if container.kind is Kind.DATABASE:
        return ref.name.database == container.name.name
    return False


# When X is re-created (or a stage moves), which dependents must be re-created with it.
_CASCADES: Mapping[Kind, frozenset[Kind]] = {
    Kind.TABLE: frozenset({Kind.STREAM}),  # a re-created table's streams are stale
    Kind.STAGE: frozenset({Kind.PIPE}),  # a moved stage needs its auto-ingest pipes re-created
    Kind.STREAM: frozenset(),
}


def _recreated_with(parent: Kind, child: Kind) -> bool:
    return child in _CASCADES.get(parent, frozenset())


# Drops go from the consumers to what they consume.
_DROP_ORDER = [
    Kind.TASK,
    Kind.PROCEDURE,
    Kind.VIEW,
    Kind.STREAM,
    Kind.PIPE,
    Kind.STAGE,
    Kind.FILE_FORMAT,
    Kind.TABLE,
    Kind.NOTIFICATION_INTEGRATION,
    Kind.STORAGE_INTEGRATION,
    Kind.SCHEMA,
    Kind.DATABASE,
]


__all__ = ["Change", "CycleError", "Plan", "build_plan", "fingerprint", "summary"]
