"""Plan as text (what ``retail-etl plan`` prints) and as JSON (``--json``, ``--out plan.json``).

Pure functions: the CLI decides whether the text gets colour.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from retail_etl.objects.base import Action, ObjectRef, PropertyChange, Safety
from retail_etl.plan.planner import PLAN_FORMAT_VERSION, Change, Plan, summary

if TYPE_CHECKING:
    from retail_etl.aws.changes import AwsChange

SYMBOLS = {
    Action.CREATE: "+",
    Action.ALTER: "~",
    Action.REPLACE: "-/+",
    Action.DROP: "-",
    Action.UNCHANGED: "=",
}
STYLES = {
    Action.CREATE: "green",
    Action.ALTER: "yellow",
    Action.REPLACE: "magenta",
    Action.DROP: "red",
    Action.UNCHANGED: "dim",
}
_LONG = 70


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 2 * _LONG else text[: 2 * _LONG] + "…"


def _word_diff(before: str, after: str) -> str:
    """The changed words of two long one-line texts, with a little context: ``… a [-b-]{+c+} d …``."""
    old, new = before.split(" "), after.split(" ")
    parts: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            words = old[i1:i2]
            if len(words) > 6:
                words = [*words[:3], "…", *words[-3:]] if parts else ["…", *words[-3:]]
            parts.extend(words)
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(old[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(new[j1:j2]) + "+}")
    text = " ".join(parts)
    return text if len(text) < 600 else text[:600] + " …"


def describe_difference(diff: PropertyChange) -> list[str]:
    before, after = diff.before, diff.after
    if isinstance(before, str) and isinstance(after, str) and "\n" in before + after:
        lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "account", "spec", n=1, lineterm=""))
        return [f"{diff.name}:", *[f"  {line}" for line in lines[2:42]]]
    if isinstance(before, str) and isinstance(after, str) and max(len(before), len(after)) > _LONG:
        return [f"{diff.name}: {_word_diff(before, after)}"]
    if isinstance(before, list) and isinstance(after, list) and all(isinstance(c, dict) for c in before + after):
        return [f"{diff.name}:", *[f"  {line}" for line in _column_diff(before, after)]]
    return [f"{diff.name}: {_show(before)} -> {_show(after)}"]


def _column_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Table columns, one line per added, dropped or changed column, naming what changed."""
    old = {c["name"]: c for c in before}
    new = {c["name"]: c for c in after}
    lines = []
    for name, column in new.items():
        if name not in old:
            lines.append(f"+ {name} {column['type']}")
            continue
        changed = [
            f"{key} {_show(old[name].get(key))} -> {_show(value)}"
            for key, value in column.items()
            if old[name].get(key) != value
        ]
        if changed:
            lines.append(f"~ {name}: " + ", ".join(changed))
    lines.extend(f"- {name} {column['type']}" for name, column in old.items() if name not in new)
    if [n for n in old if n in new] != [n for n in new if n in old]:
        lines.append(f"order: {', '.join(old)} -> {', '.join(new)}")
    return lines


def change_lines(change: Change, *, show_sql: bool = False) -> list[tuple[str, str]]:
    """(style, text) lines for one change."""
    # An unchanged object with something to say is one the plan keeps although it left the specs.
    word = "kept" if change.action is Action.UNCHANGED and change.consequence else change.action.value
    head = f"{SYMBOLS[change.action]:>3} {word:<9}{change.ref}"
    if change.safety is Safety.UNSAFE:
        head += f"  UNSAFE [{change.category}]"
    lines = [(STYLES[change.action], head)]
    for diff in change.differences:
        lines.extend(("", " " * 16 + text) for text in describe_difference(diff))
    if change.consequence:
        style = "bold red" if change.safety is Safety.UNSAFE else "cyan"
        lines.append((style, " " * 16 + "! " + change.consequence))
    if show_sql:
        for statement in change.statements:
            lines.extend(("dim", " " * 16 + line) for line in (statement + ";").splitlines())
    return lines


def plan_lines(plan: Plan, *, show_unchanged: bool = False, show_sql: bool = False) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for change in plan.changes:
        if change.action is Action.UNCHANGED and not show_unchanged and not change.consequence:
            continue
        lines.extend(change_lines(change, show_sql=show_sql))
    counts = summary(plan)
    if not plan.has_changes:
        lines.append(("green", f"No changes. {counts['unchanged']} object(s) up to date."))
        return lines
    text = (
        f"Plan: {counts['create']} to create, {counts['alter']} to alter, {counts['replace']} to replace,"
        f" {counts['drop']} to drop, {counts['unchanged']} unchanged."
    )
    lines.append(("bold", text))
    unsafe = plan.unsafe()
    if unsafe:
        categories = ",".join(sorted({part for c in unsafe for part in c.category.split(",")}))
        lines.append(
            ("bold red", f"{len(unsafe)} UNSAFE change(s): apply refuses them unless --allow-unsafe {categories}")
        )
    return lines


_AWS_STYLES = {"create": "green", "update": "yellow", "delete": "red"}


def aws_lines(changes: Sequence[AwsChange], *, applied: bool = False) -> list[tuple[str, str]]:
    """The AWS section (bucket notifications, SNS topic and subscriptions), printed after the Snowflake changes."""
    lines: list[tuple[str, str]] = [("bold", "AWS")]
    lines.extend((_AWS_STYLES[change.action], f"  {change}") for change in changes)
    if not changes:
        lines.append(("green", "  No AWS changes: the bucket notifications and the SNS error topic are up to date."))
    elif applied:
        lines.append(("bold", f"  Applied {len(changes)} AWS change(s)."))
    else:
        lines.append(("bold", f"  AWS: {len(changes)} change(s)."))
    return lines


def aws_to_json(changes: Sequence[AwsChange]) -> list[dict[str, str]]:
    return [
        {"action": change.action, "resource": change.resource, "detail": change.detail, "text": str(change)}
        for change in changes
    ]


def plan_text(plan: Plan, **options: bool) -> str:
    return "\n".join(text for _, text in plan_lines(plan, **options))


# --- plan files -----------------------------------------------------------------------------------------------


def plan_to_json(plan: Plan, scope: dict[str, Any], aws_changes: Sequence[AwsChange] | None = None) -> dict[str, Any]:
    """The plan file. ``aws_changes`` (the target's AWS side, None when it has none) goes under ``"aws_changes"``;
    it is informational: ``apply PLAN`` works out the AWS side again after the Snowflake changes."""
    document = plan.to_json()
    document["scope"] = scope
    if aws_changes is not None:
        document["aws_changes"] = aws_to_json(aws_changes)
    for change_json, change in zip(document["changes"], plan.actionable, strict=True):
        change_json["ref"] = change.ref.to_json()
    return document


class PlanFileError(ValueError):
    pass


def plan_from_json(document: dict[str, Any]) -> tuple[Plan, dict[str, Any]]:
    if document.get("format_version") != PLAN_FORMAT_VERSION:
        raise PlanFileError(f"unsupported plan format {document.get('format_version')!r}")
    try:
        changes = [
            Change(
                action=Action(item["action"]),
                ref=ObjectRef.from_json(item["ref"]),
                safety=Safety(item["safety"]),
                consequence=item.get("consequence"),
                differences=[
                    PropertyChange(d["property"], d.get("before"), d.get("after")) for d in item["differences"]
                ],
                statements=list(item["statements"]),
                depends_on=list(item["depends_on"]),
                category=item["category"],
                source_file=item.get("source_file"),
            )
            for item in document["changes"]
        ]
        plan = Plan(changes, document["observed_fingerprint"], document.get("target", ""), document.get("environment"))
        return plan, dict(document["scope"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"not a retail-etl plan file: {exc}") from exc
