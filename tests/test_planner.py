"""The planner as a pure function: plain desired and observed objects in, ordered changes out."""

from __future__ import annotations

from typing import Any

import pytest

from retail_etl.identifiers import Identifier, QualifiedName
from retail_etl.objects import HANDLERS
from retail_etl.objects.base import Action, DesiredObject, Kind, ObjectRef, ObservedObject, Safety
from retail_etl.objects.handler import collapse
from retail_etl.objects.ingest import StreamObject, TaskObject
from retail_etl.objects.table import Column, TableObject
from retail_etl.plan.apply import refused_changes
from retail_etl.plan.graph import CycleError, topological_order
from retail_etl.plan.planner import Plan, build_plan
from retail_etl.plan.report import plan_lines
from retail_etl.spec.resolve import DesiredState


def observed_as(objects: list[DesiredObject], **overrides: dict[str, Any]) -> list[ObservedObject]:
    """The account exactly as the specs want it, with per-object state overrides (by display name)."""
    result = []
    for obj in objects:
        state = {**obj.state(), **overrides.get(obj.name.display, {})}
        result.append(ObservedObject(obj.ref, state, managed=True))
    return result


def change_for(plan: Plan, display: str) -> Any:
    return next(c for c in plan.changes if c.ref.name.display == display)


def test_empty_account_creates_everything_in_dependency_order(shipped: DesiredState) -> None:
    plan = build_plan(shipped.objects, [])
    assert [c.action for c in plan.changes] == [Action.CREATE] * len(shipped.objects)
    position = {c.ref: i for i, c in enumerate(plan.changes)}
    for obj in shipped.objects:
        for dependency in obj.dependencies():
            assert position[dependency] < position[obj.ref], f"{dependency} must come before {obj.ref}"


def test_matching_account_plans_nothing(shipped: DesiredState) -> None:
    plan = build_plan(shipped.objects, observed_as(shipped.objects))
    assert not plan.has_changes
    assert {c.action for c in plan.changes} == {Action.UNCHANGED}


def test_task_schedule_drift_is_altered_between_suspend_and_resume(shipped: DesiredState) -> None:
    task = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK"
    observed = observed_as(shipped.objects, **{task: {"schedule": "USING CRON 0 5 * * * UTC", "state": "started"}})
    change = change_for(build_plan(shipped.objects, observed), task)
    assert change.action is Action.ALTER and change.safety is Safety.SAFE
    assert [d.name for d in change.differences] == ["schedule"]
    assert change.statements == [
        f"ALTER TASK {task} SUSPEND",
        f"ALTER TASK {task} SET SCHEDULE = 'USING CRON 0 0 * * * America/New_York'",
        f"ALTER TASK {task} RESUME",
    ]


def test_suspended_task_that_should_run_is_resumed_only(shipped: DesiredState) -> None:
    task = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_TASK"
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{task: {"state": "suspended"}})), task
    )
    assert change.statements == [f"ALTER TASK {task} RESUME"]


def test_pipe_copy_change_is_an_unsafe_replace_with_pause_and_resume(shipped: DesiredState) -> None:
    pipe = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE"
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{pipe: {"definition": "COPY x"}})), pipe
    )
    assert change.action is Action.REPLACE and change.safety is Safety.UNSAFE and change.category == "pipe"
    assert "load history" in (change.consequence or "")
    assert change.statements[0] == f"ALTER PIPE {pipe} SET PIPE_EXECUTION_PAUSED = TRUE"
    assert change.statements[1].startswith(f"CREATE OR REPLACE PIPE {pipe}")
    assert change.statements[2] == f"ALTER PIPE {pipe} SET PIPE_EXECUTION_PAUSED = FALSE"


def test_pipe_error_integration_is_altered_in_place(shipped: DesiredState) -> None:
    pipe = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE"
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{pipe: {"error_integration": None}})), pipe
    )
    assert change.action is Action.ALTER and change.safety is Safety.SAFE
    assert change.statements == [f"ALTER PIPE {pipe} SET ERROR_INTEGRATION = SNOWFLAKE_ERROR_INTEGRATION"]


def test_stage_move_alters_the_stage_and_recreates_its_pipe(shipped: DesiredState) -> None:
    stage = "SNOWLAKE_DB.BRONZE.SOURCE_DATA_CUSTOMER_STAGE"
    plan = build_plan(shipped.objects, observed_as(shipped.objects, **{stage: {"url": "s3://old-bucket/x/"}}))
    stage_change = change_for(plan, stage)
    assert stage_change.action is Action.ALTER
    assert stage_change.statements == [
        f"ALTER STAGE {stage} SET\n  URL = 's3://snowflake-project-etl/raw_data/customer/'"
    ]
    pipe_change = change_for(plan, "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_PIPE")
    assert pipe_change.action is Action.REPLACE and pipe_change.safety is Safety.UNSAFE


def test_stream_mode_change_keeps_the_offset(shipped: DesiredState) -> None:
    stream = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM"
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{stream: {"mode": "DEFAULT"}})), stream
    )
    assert change.action is Action.REPLACE and change.safety is Safety.SAFE
    assert f"AT(STREAM => '{stream}')" in change.statements[0]


def test_stale_stream_is_recreated_unsafely(shipped: DesiredState) -> None:
    stream = "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM"
    change = change_for(build_plan(shipped.objects, observed_as(shipped.objects, **{stream: {"stale": True}})), stream)
    assert change.action is Action.REPLACE and change.safety is Safety.UNSAFE
    assert "AT(STREAM" not in change.statements[0]


def _landing(shipped: DesiredState) -> TableObject:
    table = next(o for o in shipped.objects if o.name.display == "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_COPY")
    assert isinstance(table, TableObject)
    return table


def test_new_column_at_the_end_is_added_in_place(shipped: DesiredState) -> None:
    table = _landing(shipped)
    columns = table.state()["columns"][:-1]  # the account lacks the last column
    plan = build_plan(shipped.objects, observed_as(shipped.objects, **{table.name.display: {"columns": columns}}))
    change = change_for(plan, table.name.display)
    assert change.action is Action.ALTER and change.safety is Safety.SAFE
    assert change.statements == [
        f"ALTER TABLE {table.name.sql} ADD COLUMN SOURCE_FILE_ROW_NUMBER NUMBER(38,0) NOT NULL"
    ]


def test_column_widening_is_altered_but_collation_change_replaces_unsafely(shipped: DesiredState) -> None:
    table = _landing(shipped)
    narrow = [dict(c) for c in table.state()["columns"]]
    narrow[0]["type"] = "VARCHAR(100)"
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{table.name.display: {"columns": narrow}})),
        table.name.display,
    )
    assert change.statements == [
        f"ALTER TABLE {table.name.sql} ALTER COLUMN COMPANYNAME SET DATA TYPE VARCHAR(200) COLLATE 'en-ci'"
    ]

    recollated = [dict(c) for c in table.state()["columns"]]
    recollated[0]["collate"] = None
    plan = build_plan(shipped.objects, observed_as(shipped.objects, **{table.name.display: {"columns": recollated}}))
    change = change_for(plan, table.name.display)
    assert change.action is Action.REPLACE and change.safety is Safety.UNSAFE
    assert "collation" in (change.consequence or "")
    # Re-creating the table makes its stream stale: the stream is re-created with it, unsafely.
    stream_change = change_for(plan, "SNOWLAKE_DB.BRONZE.WORK_CUSTOMER_SRC_TO_SL_STREAM")
    assert stream_change.action is Action.REPLACE and stream_change.safety is Safety.UNSAFE


def test_dropped_column_is_unsafe(shipped: DesiredState) -> None:
    table = _landing(shipped)
    extra = [
        *table.state()["columns"],
        {"name": "LEGACY", "type": "VARCHAR(10)", "nullable": True, "collate": None, "comment": None},
    ]
    change = change_for(
        build_plan(shipped.objects, observed_as(shipped.objects, **{table.name.display: {"columns": extra}})),
        table.name.display,
    )
    assert change.action is Action.ALTER and change.safety is Safety.UNSAFE and change.category == "table"
    assert change.statements == [f"ALTER TABLE {table.name.sql} DROP COLUMN LEGACY"]


def test_managed_object_left_out_of_the_specs_is_dropped_unsafely(shipped: DesiredState) -> None:
    orphan = ObservedObject(
        ObjectRef(Kind.VIEW, QualifiedName(Identifier("OLD_VIEW"), Identifier("SNOWLAKE_DB"), Identifier("GOLD"))),
        {"body": "SELECT 1", "secure": False, "comment": "[managed by retail-etl]"},
        managed=True,
    )
    plan = build_plan(shipped.objects, [*observed_as(shipped.objects), orphan])
    drop = plan.actionable
    assert len(drop) == 1 and drop[0].action is Action.DROP and drop[0].safety is Safety.UNSAFE
    assert drop[0].statements == ["DROP VIEW IF EXISTS SNOWLAKE_DB.GOLD.OLD_VIEW"]


def test_unmanaged_objects_are_never_touched(shipped: DesiredState) -> None:
    stranger = ObservedObject(
        ObjectRef(Kind.TABLE, QualifiedName(Identifier("MINE"), Identifier("SNOWLAKE_DB"), Identifier("SILVER"))),
        {"comment": "hand made"},
        managed=False,
    )
    assert not build_plan(shipped.objects, [*observed_as(shipped.objects), stranger]).has_changes


def test_existing_unmanaged_object_of_the_same_name_needs_adopt(shipped: DesiredState) -> None:
    observed = observed_as(shipped.objects)
    observed = [
        ObservedObject(o.ref, {**o.state, "comment": "created by hand"}, managed=False)
        if o.ref.kind is Kind.VIEW
        else o
        for o in observed
    ]
    change = next(c for c in build_plan(shipped.objects, observed).actionable)
    assert change.ref.kind is Kind.VIEW and change.safety is Safety.UNSAFE and change.category == "adopt"


def test_adopting_an_object_whose_change_loses_data_needs_both_categories(shipped: DesiredState) -> None:
    # An unmanaged SILVER table whose column type changed: taking it over means re-creating it, which drops its
    # rows. `--allow-unsafe adopt` alone must not allow that.
    silver = next(
        o for o in shipped.objects if o.ref.kind is Kind.TABLE and o.ref.name.display.endswith(".SILVER.CUSTOMER")
    )
    observed = []
    for seen in observed_as(shipped.objects):
        if seen.ref == silver.ref:
            columns = [{**c, "type": "NUMBER(38,0)"} if c["name"] == "PHONE" else c for c in seen.state["columns"]]
            seen = ObservedObject(seen.ref, {**seen.state, "columns": columns, "comment": "by hand"}, managed=False)  # noqa: PLW2901
        observed.append(seen)
    plan = build_plan(shipped.objects, observed)
    (change,) = [c for c in plan.actionable if c.ref == silver.ref]
    assert (change.action, change.safety, change.category) == (Action.REPLACE, Safety.UNSAFE, "adopt,table")
    assert refused_changes(plan, ["adopt"]) == [change]
    assert refused_changes(plan, ["table"]) == [change]
    assert change not in refused_changes(plan, ["adopt", "table"])
    assert refused_changes(plan, ["all"]) == []
    assert "--allow-unsafe adopt,table" in "\n".join(text for _, text in plan_lines(plan))


def test_dependency_cycle_is_reported() -> None:
    a = ObjectRef(Kind.TABLE, QualifiedName(Identifier("A")))
    b = ObjectRef(Kind.TABLE, QualifiedName(Identifier("B")))
    with pytest.raises(CycleError, match="table A -> table B -> table A"):
        topological_order({a: [b], b: [a]})


def test_plan_is_deterministic(shipped: DesiredState) -> None:
    first = build_plan(shipped.objects, [])
    second = build_plan(list(reversed(shipped.objects)), [])
    assert [c.statements for c in first.changes] == [c.statements for c in second.changes]


def test_stream_on_a_new_table_waits_for_it() -> None:
    db, schema = Identifier("DB"), Identifier("S")
    table = TableObject(
        name=QualifiedName(Identifier("T"), db, schema), columns=(Column(name=Identifier("A"), type="NUMBER"),)
    )
    stream = StreamObject(name=QualifiedName(Identifier("ST"), db, schema), table=table.name)
    plan = build_plan([stream, table], [])
    assert [c.ref.kind for c in plan.changes] == [Kind.TABLE, Kind.STREAM]
    assert plan.changes[1].depends_on == [table.ref.key]


def test_task_created_enabled_is_resumed_after_creation(shipped: DesiredState) -> None:
    task = next(o for o in shipped.objects if isinstance(o, TaskObject))
    change = change_for(build_plan(shipped.objects, []), task.name.display)
    assert change.statements[-1] == f"ALTER TASK {task.name.sql} RESUME"
    assert change.statements[0].startswith(f"CREATE TASK {task.name.sql}")


def test_a_schema_that_left_the_specs_is_kept_while_it_holds_unmanaged_objects(shipped: DesiredState) -> None:
    # GOLD renamed in the specs: the old schema still holds a table made by hand (or dbt's models). Dropping the
    # schema would drop them, and objects without the marker are never touched: it stays, and the plan says why.
    old = ObjectRef(Kind.SCHEMA, QualifiedName(Identifier("OLD_GOLD"), database=Identifier("SNOWLAKE_DB")))
    handmade = ObjectRef(
        Kind.TABLE,
        QualifiedName(Identifier("HANDMADE"), database=Identifier("SNOWLAKE_DB"), schema=Identifier("OLD_GOLD")),
    )
    account = [*observed_as(shipped.objects), ObservedObject(old, {"comment": "[managed by retail-etl]"}, managed=True)]
    emptied = build_plan(shipped.objects, account)
    assert [(c.action, c.ref) for c in emptied.actionable] == [(Action.DROP, old)]

    plan = build_plan(shipped.objects, [*account, ObservedObject(handmade, {"comment": "by hand"}, managed=False)])
    assert not plan.has_changes
    (kept,) = [c for c in plan.changes if c.ref == old]
    assert kept.action is Action.UNCHANGED and "SNOWLAKE_DB.OLD_GOLD.HANDMADE" in (kept.consequence or "")
    shown = "\n".join(text for _, text in plan_lines(plan))
    assert "= kept     schema SNOWLAKE_DB.OLD_GOLD" in shown
    assert "left in place" in shown and "SNOWLAKE_DB.OLD_GOLD.HANDMADE" in shown


def test_a_procedure_whose_merge_keys_change_is_unsafe(shipped: DesiredState) -> None:
    # The account's procedure merges on FIRST_NAME only; the spec merges on FIRST_NAME and LAST_NAME. Any new key
    # re-matches SILVER's existing rows (a narrower one overwrites distinct rows), so the new body is UNSAFE.
    procedure = next(o for o in shipped.objects if o.ref.kind is Kind.PROCEDURE)
    body = procedure.state()["body"]
    key = " AND TGT.LAST_NAME = XFM.LAST_NAME"
    assert key in body
    plan = build_plan(
        shipped.objects, observed_as(shipped.objects, **{procedure.name.display: {"body": body.replace(key, "")}})
    )
    (change,) = plan.actionable
    assert (change.action, change.safety, change.category) == (Action.REPLACE, Safety.UNSAFE, "procedure")
    assert "TGT.FIRST_NAME = XFM.FIRST_NAME -> TGT.FIRST_NAME = XFM.FIRST_NAME AND TGT.LAST_NAME" in (
        change.consequence or ""
    )
    # Another change of the body (here a constant) keeps the keys: SAFE.
    constant = body.replace("'CUSTOMER'", "'CUSTOMERS'")
    assert constant != body
    (safe,) = build_plan(
        shipped.objects, observed_as(shipped.objects, **{procedure.name.display: {"body": constant}})
    ).actionable
    assert (safe.action, safe.safety) == (Action.REPLACE, Safety.SAFE)


def test_a_procedure_read_back_with_snowflakes_varchar_length_is_unchanged(shipped: DesiredState) -> None:
    # INFORMATION_SCHEMA.PROCEDURES spells RETURNS VARCHAR as VARCHAR(16777216): read back, it must not force a
    # replacement on every plan.
    procedure = next(o for o in shipped.objects if o.ref.kind is Kind.PROCEDURE)
    state = procedure.state()
    row = {
        "procedure_catalog": procedure.name.database.stored if procedure.name.database else "",
        "procedure_schema": procedure.name.schema.stored if procedure.name.schema else "",
        "procedure_name": procedure.name.name.stored,
        "argument_signature": "()",
        "data_type": "VARCHAR(16777216)",
        "procedure_language": state["language"],
        "procedure_definition": state["body"],
        "comment": state["comment"],
    }
    observed = HANDLERS[Kind.PROCEDURE].read_row(row, {})
    assert observed.state["returns"] == "VARCHAR"
    others = [o for o in observed_as(shipped.objects) if o.ref != procedure.ref]
    assert not build_plan(shipped.objects, [*others, observed]).has_changes


def test_a_retention_the_spec_leaves_to_the_account_is_not_drift(shipped: DesiredState) -> None:
    # Without data_retention_days in the spec a table inherits DATA_RETENTION_TIME_IN_DAYS (7 here, from the
    # account), which SHOW TABLES reports: UNSET would change nothing, and every plan would show it again.
    tables = [o for o in shipped.objects if o.ref.kind is Kind.TABLE]
    assert tables and all(isinstance(t, TableObject) and t.data_retention_days is None for t in tables)
    inherited = {t.name.display: {"data_retention_days": 7} for t in tables}
    assert not build_plan(shipped.objects, observed_as(shipped.objects, **inherited)).has_changes
    # A retention the spec sets is managed: a different one is altered back.
    table = tables[0]
    assert isinstance(table, TableObject)
    pinned = [table.model_copy(update={"data_retention_days": 3}) if o is table else o for o in shipped.objects]
    (change,) = build_plan(pinned, observed_as(shipped.objects, **inherited)).actionable
    assert (change.ref, change.action) == (table.ref, Action.ALTER)
    assert [d.name for d in change.differences] == ["data_retention_days"]


def test_echoed_definitions_compare_whitespace_only_outside_quotes() -> None:
    # Snowflake echoes a view or pipe definition verbatim: layout may differ, a literal's or a name's spaces may not.
    assert collapse("SELECT  a\n  FROM t;") == collapse("SELECT a FROM t")
    assert collapse("SELECT 1 WHERE c <> 'a b'") != collapse("SELECT 1 WHERE c <> 'a      b'")
    assert collapse('SELECT 1 AS "x  y"') != collapse('SELECT 1 AS "x y"')
    assert collapse("SELECT 'it''s  so'  ,  2") == "SELECT 'it''s  so' , 2"
