"""Snapshot tests of the plan as people read it (text) and as CI stores it (JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from retail_etl.identifiers import Identifier, QualifiedName
from retail_etl.objects.base import Kind, ObjectRef, ObservedObject
from retail_etl.objects.table import TableObject
from retail_etl.plan.planner import Plan, build_plan
from retail_etl.plan.report import plan_from_json, plan_text, plan_to_json
from retail_etl.spec.resolve import DesiredState

SNAPSHOTS = Path(__file__).parent / "snapshots"


def observed(shipped: DesiredState, **overrides: dict[str, Any]) -> list[ObservedObject]:
    return [
        ObservedObject(obj.ref, {**obj.state(), **overrides.get(obj.name.display, {})}, managed=True)
        for obj in shipped.objects
    ]


def mixed_plan(shipped: DesiredState) -> Plan:
    """One change of every sort: alter, safe and unsafe replacements with their cascade, and a drop."""
    landing = next(o for o in shipped.objects if o.name.display == "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY")
    assert isinstance(landing, TableObject)
    columns = [dict(c) for c in landing.state()["columns"]]
    columns[0]["collate"] = None
    pipe = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE"
    pipe_definition = next(o for o in shipped.objects if o.name.display == pipe).state()["definition"]
    account = observed(
        shipped,
        **{
            "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK": {
                "schedule": "USING CRON 0 5 * * * UTC",
                "state": "started",
            },
            pipe: {"definition": pipe_definition.replace("ON_ERROR = SKIP_FILE", "ON_ERROR = CONTINUE")},
            "SNOWLAKE_DB.GOLD.CUSTOMER_VIEW": {"body": "SELECT FIRST_NAME, LAST_NAME FROM SNOWLAKE_DB.SILVER.CUSTOMER"},
            landing.name.display: {"columns": columns},
        },
    )
    orphan = ObservedObject(
        ObjectRef(Kind.VIEW, QualifiedName(Identifier("OLD_VIEW"), Identifier("SNOWLAKE_DB"), Identifier("GOLD"))),
        {"body": "SELECT 1", "secure": False, "comment": "[managed by retail-etl]"},
        managed=True,
    )
    return build_plan(shipped.objects, [*account, orphan])


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; review, then UPDATE_SNAPSHOTS=1"


def test_mixed_plan_text(shipped: DesiredState) -> None:
    check_snapshot("plan_mixed.txt", plan_text(mixed_plan(shipped)) + "\n")


def test_mixed_plan_text_with_sql(shipped: DesiredState) -> None:
    check_snapshot("plan_mixed_sql.txt", plan_text(mixed_plan(shipped), show_sql=True) + "\n")


def test_empty_plan_text(shipped: DesiredState) -> None:
    assert plan_text(build_plan(shipped.objects, observed(shipped))) == "No changes. 15 object(s) up to date."


@pytest.mark.parametrize("make", [mixed_plan, lambda shipped: build_plan(shipped.objects, [])])
def test_plan_file_round_trip(shipped: DesiredState, make: Any) -> None:
    plan = make(shipped)
    document = json.loads(json.dumps(plan_to_json(plan, {"databases": ["SNOWLAKE_DB"], "wanted": []})))
    restored, scope = plan_from_json(document)
    assert scope == {"databases": ["SNOWLAKE_DB"], "wanted": []}
    assert restored.observed_fingerprint == plan.observed_fingerprint
    assert [(c.ref, c.action, c.safety, c.statements, c.depends_on) for c in restored.changes] == [
        (c.ref, c.action, c.safety, c.statements, c.depends_on) for c in plan.actionable
    ]
