"""Commands that run the pipelines on the local target: run, status, query, tasks history, sample-data.

Thin like cli.py: the work is in retail_etl.local.runtime; this module parses options and prints.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from retail_etl.cli_common import (
    EXIT_INPUT,
    EnvOption,
    ProjectDir,
    TargetOption,
    fail,
    folder_or_exit,
    guard,
    load_project_or_exit,
    target_or_exit,
)
from retail_etl.console import Printer
from retail_etl.targets.session import TargetError

if TYPE_CHECKING:
    from retail_etl.local.pipes import FileLoadResult
    from retail_etl.local.runtime import LocalRuntime
    from retail_etl.upload.results import UploadedFile
    from retail_etl.workflow import Project

tasks_app = typer.Typer(help="Task runs on the local target.", no_args_is_help=True)


@contextmanager
def _runtime(printer: Printer, project: Project, target: str | None) -> Iterator[LocalRuntime]:
    from retail_etl.local.runtime import LocalRuntime
    from retail_etl.spec.models import LocalTargetSpec
    from retail_etl.targets.local import is_deployed

    name = target_or_exit(printer, project, target)
    spec = project.loaded.project.targets[name]
    if not isinstance(spec, LocalTargetSpec):
        fail(printer, f"target {name!r} is a Snowflake account: this command runs on the local target", EXIT_INPUT)
    root = project.loaded.project_dir / spec.path
    if not is_deployed(root):
        fail(printer, f"nothing is deployed on target {name!r} yet: run `retail-etl apply` first")
    try:
        runtime = LocalRuntime(root)
    except TargetError as exc:
        fail(printer, str(exc))
    try:
        guard(printer, runtime.engine.warehouse.open)
        yield runtime
    finally:
        runtime.close()


def _table(printer: Printer, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    # Values and column names as Text: as plain strings rich would read "[b]" or "[/x]" in the data as markup.
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(Text(str(column)), overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if value is None else str(value)) for value in row))
    printer.out.print(table)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def query(
    sql: Annotated[str, typer.Argument(help="Snowflake SQL, e.g. 'SELECT * FROM GOLD.CUSTOMER_VIEW'.")],
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines, one object per row.")] = False,
) -> None:
    """Run Snowflake SQL on the local target (transpiled to DuckDB) and print the result."""
    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    with _runtime(printer, project, target) as runtime:
        result = guard(printer, lambda: runtime.query(sql, project.desired.database.stored))
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif as_json:
        for row in result.rows:
            sys.stdout.write(json.dumps(dict(zip(result.columns, row, strict=True)), default=str) + "\n")
    else:
        _table(printer, f"{len(result.rows)} row(s)", result.columns, result.rows)


def run(
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    now: Annotated[
        bool, typer.Option("--now", help="Run every started task now (EXECUTE TASK), not only the due ones.")
    ] = False,
) -> None:
    """Load new files through the pipes, then run the environment's tasks that are due (or all its started ones
    with --now)."""
    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    name = target_or_exit(printer, project, target)
    # The tasks of the environment's database only: `-e dev` never runs production's tasks. The pipes are the
    # account's, as Snowpipe's are: every pipe on a stage location takes the files that land there.
    database = project.desired.database.stored
    with _runtime(printer, project, target) as runtime:
        loads = _auto_ingest(printer, runtime, project, name)
        runs = guard(printer, lambda: (runtime.run_now if now else runtime.run_due)(database=database))
    if loads:
        _table(
            printer,
            "Files loaded by the pipes",
            ["pipe", "file", "status", "rows", "first error"],
            [(r.pipe, r.file_name, r.status, r.rows_loaded, r.first_error or "") for r in loads],
        )
    if not runs:
        printer.plain("No task was due." if not now else "No task is started.")
    else:
        _table(
            printer,
            "Task runs",
            ["task", "state", "result"],
            [(r.task, r.state, r.return_value or r.error_message or "") for r in runs],
        )
    if any(r.state == "FAILED" for r in runs):
        raise typer.Exit(1)


def status(project_dir: ProjectDir = Path("."), target: TargetOption = None, env: EnvOption = None) -> None:
    """Per pipeline: files loaded / failed / pending, stream backlog, last task run, rows in SILVER."""
    from retail_etl.local.pipes import error_notifications

    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    rows = []
    with _runtime(printer, project, target) as runtime:
        for pipeline in project.desired.pipelines:
            state = guard(
                printer,
                lambda p=pipeline: runtime.pipeline_status(  # type: ignore[misc]
                    p.entity, p.pipe.name.sql, p.stream.name.sql, p.task.name.display, p.silver.name.sql
                ),
            )
            last = state.last_run
            rows.append(
                (
                    state.pipeline,
                    state.pipe.execution_state,
                    state.pipe.files_loaded + state.pipe.files_partially_loaded,
                    state.pipe.files_failed,
                    len(state.pipe.pending_files),
                    state.stream_backlog,
                    f"{last.state} {_when(last.completed_time)}" if last else "never",
                    (last.return_value or last.error_message or "") if last else "",
                    state.silver_rows,
                )
            )
        connection = runtime.engine.warehouse.connect()
        try:
            failures = error_notifications(connection, project.desired.database.stored)
        finally:
            connection.close()
        task_failures = runtime.tasks.notifications(project.desired.database.stored)
    _table(
        printer,
        f"Pipelines in {project.desired.database.stored}",
        ["pipeline", "pipe", "files loaded", "failed", "pending", "stream backlog", "last task run", "result",
         "rows in SILVER"],
        rows,
    )  # fmt: skip
    notices = [
        (n["integration"], n["message"]["messageType"], n["message"]["timestamp"], json.dumps(n["message"]["messages"]))
        for n in failures + task_failures
    ]
    if notices:
        _table(printer, "Error notifications (sent to the error integration)", ["integration", "type", "at", "detail"],
               notices)  # fmt: skip


@tasks_app.command("history")
def tasks_history(
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    task: Annotated[
        str | None, typer.Option("--task", help="Only this task: DATABASE.SCHEMA.TASK, SCHEMA.TASK or TASK.")
    ] = None,
) -> None:
    """Every recorded task run, oldest first (like INFORMATION_SCHEMA.TASK_HISTORY)."""
    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    only = _spec_task_or_exit(printer, project, task) if task else None
    with _runtime(printer, project, target) as runtime:
        runs = runtime.tasks.history(project.desired.database.stored, only)
    _table(
        printer,
        f"{len(runs)} task run(s)",
        ["task", "state", "scheduled", "completed", "result"],
        [
            (r.task, r.state, _when(r.scheduled_time), _when(r.completed_time), r.return_value or r.error_message)
            for r in runs
        ],
    )


def _spec_task_or_exit(printer: Printer, project: Project, given: str) -> str:
    """The one task of the specs that ``given`` names, in full or by its last parts (case aside); else exit 2."""
    from retail_etl.objects.base import Kind

    tasks = sorted(o.name.display for o in project.desired.objects if o.kind is Kind.TASK)
    parts = given.upper().split(".")
    matches = [t for t in tasks if t == given or t.upper().split(".")[-len(parts) :] == parts]
    if len(matches) != 1:
        fail(
            printer,
            f"--task {given!r} names {'no task' if not matches else 'several tasks'} of the specs;"
            f" tasks: {', '.join(tasks) or 'none'}",
            EXIT_INPUT,
        )
    return matches[0]


def sample_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files.")] = Path("data"),
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 7,
    scale: Annotated[
        int | None,
        typer.Option(
            "--scale",
            min=1,
            max=524,  # retail.MAX_SCALE: customer names stay unique up to 1,048,576 customers
            help="Write the full retail dataset (about 1000 x SCALE sales lines a day, 2000 x SCALE customers) instead"
            " of the demo's two customer days.",
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=14, help="With --scale: days of data.")] = 28,
    customers: Annotated[int, typer.Option("--customers", min=6, max=1000, help="Demo: customers on day 1.")] = 20,
) -> None:
    """Deterministic sample files: the demo's two customer days, or with --scale stores, products, customers,
    sales and inventory with planted patterns (planted.json says which)."""
    printer = Printer()
    folder_or_exit(printer, out, "--out")
    if scale is None:
        from retail_etl.sample.customers import write_customer_days

        paths = write_customer_days(out, seed=seed, customers=customers)
        printer.ok("wrote " + ", ".join(str(p) for p in paths))
        return
    from retail_etl.sample.retail import generate

    files = generate(out, scale=scale, days=days, seed=seed)
    printer.ok(
        f"wrote {sum(len(paths) for paths in files.values())} file(s) to {out}: "
        + ", ".join(f"{len(paths)} {kind}" for kind, paths in files.items())
    )


def _auto_ingest(printer: Printer, runtime: LocalRuntime, project: Project, target: str) -> list[FileLoadResult]:
    """The pipes load their new files: straight from the local bucket folder, or — on a local target wired to an
    S3 endpoint — as Snowpipe does, from the S3 events on their channels (failed files then published to SNS)."""
    from retail_etl.spec.models import LocalTargetSpec

    spec = project.loaded.project.targets[target]
    if isinstance(spec, LocalTargetSpec) and spec.aws_endpoint_url is not None:
        from retail_etl.local.sqs_ingest import consume_events

        return guard(printer, lambda: consume_events(runtime, project, target))
    return guard(printer, runtime.ingest)


def ingest_uploaded(project: Project, target: str, files: list[UploadedFile]) -> None:
    """After `retail-etl upload` on the local target: the pipes load the new files (auto-ingest)."""
    printer = Printer()
    with _runtime(printer, project, target) as runtime:
        loads = _auto_ingest(printer, runtime, project, target)
    if loads:
        _table(
            printer,
            "Loaded by the pipes (auto-ingest)",
            ["pipe", "file", "status", "rows", "first error"],
            [(r.pipe, r.file_name, r.status, r.rows_loaded, r.first_error or "") for r in loads],
        )


def register(app: typer.Typer) -> None:
    app.command()(query)
    app.command()(run)
    app.command()(status)
    app.command("sample-data")(sample_data)
    app.add_typer(tasks_app, name="tasks")
