"""The demo's customer files: deterministic, and carrying the cases the pipeline must handle."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from retail_etl.sample.customers import HEADER, customer_days, write_customer_days


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in write_customer_days(tmp_path / "a")]
    second = [p.read_bytes() for p in write_customer_days(tmp_path / "b")]
    assert first == second
    assert customer_days(seed=8) != customer_days(seed=7)


def test_day_two_changes_adds_repeats_and_carries_an_unloadable_file() -> None:
    days = customer_days()
    day1, day2, bad = (rows(text) for text in days.values())
    assert day1[0] == HEADER and len(day1) == 21
    keys1 = {(r[9], r[10]): r for r in day1[1:]}
    keys2 = [(r[9], r[10]) for r in day2[1:]]
    assert sum(1 for key in keys2 if key in keys1 and day2[1 + keys2.index(key)] != keys1[key]) >= 5  # changed
    assert len({k for k in keys2 if k not in keys1}) == 4  # new customers
    assert len(keys2) - len(set(keys2)) == 1  # one customer twice in the batch
    assert any(len(r[7]) > 20 for r in bad[1:])  # COUNTRY is VARCHAR(20): the file cannot load


def test_an_out_folder_that_cannot_be_made_is_a_clear_input_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from retail_etl.cli import app

    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    for out in (taken, taken / "below"):
        result = CliRunner().invoke(app, ["sample-data", "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "cannot make that folder" in result.stderr and "Traceback" not in result.output + result.stderr
