"""Issue #5's figure: the whole retail product end to end on the local target, stage by stage, against DuckDB's
own read of the same data.

Stages, each a real `retail-etl` command in its own process, as a user runs them:

1. generate  - ``sample-data --scale S --days D`` (about 1,000,000 sales lines at the defaults, plus customers,
               products, stores and inventory);
2. upload    - ``upload data/*.csv``: the files land in the local bucket and each pipe loads its files at once
               (on the local target auto-ingest is part of the upload, so this stage is upload + load);
3. merge     - ``run --now``: every task runs its procedure (stream -> XFM -> MERGE into SILVER);
4. dbt build - ``dbt build``: silver models, snapshots, gold models and every dbt test; then once more, as a
               nightly run finds the project (dbt's partial-parse state kept from the previous run).

The reference is DuckDB alone reading every generated CSV into tables, in the same run, measured two ways: into a
DuckDB database file (committed; like for like, as the local target keeps its tables in such files) and in memory.
The issue's bar is that no stage takes more than 3x that.

For the dbt stage it also measures dbt's fixed cost: ``dbt build`` selecting no node, on a fresh copy of the project
(no ``target/``, as the first build finds it) and again with dbt's partial-parse state: starting dbt, parsing the
project and opening the adapter, with no model built and no test run. The issue asks for dbt (through its Python
API), so this is a floor under the dbt stage that no model or test tuning can remove. The other part of the floor
is the SQL itself: every model and snapshot query dbt compiled, run by hand as CREATE TABLE / VIEW ... AS in
dependency order (a snapshot's source query into a temporary table), every test query counted, one at a time on
one DuckDB connection to a copy of the warehouse file.

Run: ``.venv/bin/python bench/retail_pipeline.py [--scale 30 --days 28]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "retail-etl")
KINDS = ("stores", "products", "customers", "sales", "inventory")


def timed(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([CLI, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def reference_read(data: Path, database: Path | None) -> float:
    """DuckDB alone: every CSV of each kind read into one table, in memory or in a database file (committed)."""
    connection = duckdb.connect(str(database) if database else ":memory:")
    start = time.perf_counter()
    for kind in KINDS:
        files = sorted(data.glob(f"{kind}*.csv"))
        listed = "[" + ", ".join(f"'{p}'" for p in files) + "]"
        connection.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_csv({listed}, header = true)")
    if database:
        connection.execute("CHECKPOINT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def sql_floor(project: Path) -> float:
    """The SQL of the last dbt build run by hand (see the module docstring), on a copy of the warehouse file."""
    manifest = json.loads((project / "dbt" / "target" / "manifest.json").read_text())
    nodes = {key: node for key, node in manifest["nodes"].items() if node.get("compiled_code")}
    order: list[str] = []

    def visit(key: str) -> None:
        if key in nodes and key not in order:
            for parent in nodes[key]["depends_on"]["nodes"]:
                visit(parent)
            order.append(key)

    for key in sorted(nodes):
        visit(key)
    warehouse = project / ".retail-etl" / "warehouse"
    copy = project / "sql-floor"
    shutil.copytree(warehouse, copy)
    with duckdb.connect() as connection:
        for file in sorted(copy.glob("*.duckdb")):
            connection.execute(f"ATTACH '{file}' AS \"{file.stem}\"")
        start = time.perf_counter()
        for key in order:
            node = nodes[key]
            if node["resource_type"] == "test":
                connection.execute(f"SELECT count(*) FROM ({node['compiled_code']})").fetchall()
                continue
            if node["resource_type"] == "snapshot":
                # Its source query only (the snapshot table, with dbt's validity columns, stays as dbt left it):
                # less than the snapshot's own work, so the floor stays a floor.
                connection.execute(f"CREATE OR REPLACE TEMP TABLE snapshot_source AS {node['compiled_code']}")
                continue
            kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            connection.execute(f"CREATE OR REPLACE {kind} {node['relation_name']} AS {node['compiled_code']}")
        elapsed = time.perf_counter() - start
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=30)
    parser.add_argument("--days", type=int, default=28)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retail-bench-") as scratch:
        project = Path(scratch)
        shutil.copytree(REPO / "pipelines", project / "pipelines")
        shutil.copytree(REPO / "dbt", project / "dbt", ignore=shutil.ignore_patterns("target", "logs"))
        data = project / "data"
        stages: dict[str, float] = {}
        stages["generate"] = timed(
            "sample-data", "--scale", str(options.scale), "--days", str(options.days), "--out", str(data), cwd=project
        )
        timed("apply", "--auto-approve", cwd=project)
        stages["upload + pipe load"] = timed("upload", *(str(p) for p in sorted(data.glob("*.csv"))), cwd=project)
        stages["merge (run --now)"] = timed("run", "--now", cwd=project)
        stages["dbt build"] = timed("dbt", "build", cwd=project)
        # As a nightly run finds it: dbt's partial-parse state from the previous run, the same data.
        stages["dbt build, again"] = timed("dbt", "build", cwd=project)
        sql = sql_floor(project)
        shutil.rmtree(project / "dbt" / "target")  # dbt's state: the first of these starts as a fresh project
        nothing = ("dbt", "build", "--select", "tag:retail_etl_bench_selects_nothing")
        fixed = {"dbt, nothing to build": timed(*nothing, cwd=project)}
        fixed["dbt, nothing, again"] = timed(*nothing, cwd=project)
        in_memory = reference_read(data, None)
        reference = reference_read(data, project / "reference.duckdb")
        [(sales_lines,)] = duckdb.execute(
            f"SELECT COUNT(*) FROM read_csv('{data}/sales_*.csv', header = true)"
        ).fetchall()
        size = sum(p.stat().st_size for p in data.glob("*.csv"))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"scale {options.scale}, {options.days} days: {sales_lines:,} sales lines, {size / 1e6:.0f} MB of CSV")
    print(f"DuckDB read_csv of every file into tables: {reference:.2f} s (database file), {in_memory:.2f} s (memory)")
    print(f"  {'stage':<20} {'time':>8}  {'vs file':>7}  {'vs memory':>9}")
    for stage, seconds in stages.items():
        print(f"  {stage:<20} {seconds:6.2f} s  {seconds / reference:6.1f}x  {seconds / in_memory:8.1f}x")
    print("  dbt's fixed cost (no model built, no test run):")
    for stage, seconds in fixed.items():
        print(f"  {stage:<20} {seconds:6.2f} s  {seconds / reference:6.1f}x  {seconds / in_memory:8.1f}x")
    print("  the models', snapshots' and tests' SQL run by hand, one at a time:")
    print(f"  {'dbt SQL alone':<20} {sql:6.2f} s  {sql / reference:6.1f}x  {sql / in_memory:8.1f}x")
    least = fixed["dbt, nothing to build"] + sql
    print(f"  {'dbt floor, first':<20} {least:6.2f} s  {least / reference:6.1f}x  {least / in_memory:8.1f}x")
    first_pass = sum(seconds for stage, seconds in stages.items() if stage != "dbt build, again")
    print(f"  {'total (first pass)':<20} {first_pass:6.2f} s; peak RSS of any step {peak:.0f} MB")


if __name__ == "__main__":
    main()
