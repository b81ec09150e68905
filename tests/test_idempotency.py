"""Property: for any valid spec, apply then plan shows no changes (against the emulated account)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_etl.emulator import Account, EmulatedSession
from retail_etl.plan.apply import execute_plan
from retail_etl.workflow import load, make_plan

REPO = Path(__file__).resolve().parents[1]

PLAIN = st.text(string.ascii_uppercase, min_size=1, max_size=6).map(lambda s: f"C_{s}")
QUOTED = st.text(string.ascii_letters + " -", min_size=1, max_size=8).map(lambda s: f'"q {s}"')
COLUMN_NAME = st.one_of(PLAIN, QUOTED)
TYPES = st.sampled_from(
    ["VARCHAR(20)", "VARCHAR", "STRING", "NUMBER(10,2)", "INT", "FLOAT", "DATE", "TIMESTAMP_NTZ(3)", "BOOLEAN"]
)
HOSTILE_TEXT = st.text(st.sampled_from(list("ab '\\\"$;-\n%")), max_size=12)
CRON = st.sampled_from(["0 0 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 6 1 * *"])
ZONE = st.sampled_from(["UTC", "America/New_York", "Europe/Amsterdam", "Asia/Tokyo"])


@st.composite
def pipeline_specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(COLUMN_NAME, min_size=2, max_size=6, unique_by=lambda n: n.upper()))
    columns = [
        {
            "name": name,
            "type": draw(TYPES),
            **({"comment": draw(HOSTILE_TEXT)} if draw(st.booleans()) else {}),
        }
        for name in names
    ]
    keys = names[: draw(st.integers(1, len(names) - 1))]
    silver = [{**column, "nullable": column["name"] not in keys and draw(st.booleans())} for column in columns]
    for column in silver:
        if column["name"] in keys:
            column["nullable"] = False
    spec: dict[str, Any] = {
        "pipeline": "things",
        "source": {"prefix": "raw_data/things/", "patterns": ["things*.csv"]},
        "file_format": {
            "skip_header": draw(st.integers(0, 3)),
            "null_if": draw(st.lists(HOSTILE_TEXT, max_size=3)),
            "field_optionally_enclosed_by": draw(st.sampled_from(['"', "'", None])),
            "trim_space": draw(st.booleans()),
            "comment": draw(HOSTILE_TEXT) or None,
        },
        "landing": {"columns": columns, "transient": draw(st.booleans()), "comment": draw(HOSTILE_TEXT) or None},
        "pipe": {"comment": draw(HOSTILE_TEXT) or None, "on_error": draw(st.sampled_from(["SKIP_FILE", "CONTINUE"]))},
        "transform": {
            "language": draw(st.sampled_from(["javascript", "sql"])),
            "merge_keys": keys,
            "hash_columns": names[len(keys) :] or keys,
            "constants": {"INSTNC_ST_NM": draw(HOSTILE_TEXT)},
        },
        "task": {
            "schedule": {"cron": draw(CRON), "timezone": draw(ZONE)},
            "enabled": draw(st.booleans()),
            "comment": draw(HOSTILE_TEXT) or None,
        },
        "silver": {
            "columns": silver,
            "primary_key": keys if draw(st.booleans()) else [],
            "data_retention_days": draw(st.sampled_from([None, 0, 1, 7])),
        },
        "view": {"columns": names[: draw(st.integers(1, len(names)))], "secure": draw(st.booleans())},
    }
    return spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=pipeline_specs())
def test_apply_then_plan_is_empty(tmp_path_factory: Any, spec: dict[str, Any]) -> None:
    root = tmp_path_factory.mktemp("project")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "project.yml").write_text((REPO / "pipelines" / "project.yml").read_text())
    (root / "pipelines" / "things.yml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    project = load(root, None, environ={})
    session = EmulatedSession(account=Account())
    result = execute_plan(make_plan(project, session, "local"), session)
    assert result.ok, result.failed
    again = make_plan(project, session, "local")
    assert not again.has_changes, [(c.ref, c.differences) for c in again.actionable]
