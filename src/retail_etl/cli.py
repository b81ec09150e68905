"""The ``retail-etl`` command line. Thin: parse options, call plain modules, print at the edge.

Start-up stays fast: boto3, the Snowflake connector, duckdb and sqlglot are imported only by the commands that
use them.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from retail_etl.cli_common import (
    EXIT_ERROR,
    EXIT_INPUT,
    ConnectionOption,
    EnvOption,
    OpenTarget,
    ProjectDir,
    TargetOption,
    fail,
    folder_or_exit,
    guard,
    load_project_or_exit,
    target_or_exit,
    write_or_exit,
)
from retail_etl.console import Printer
from retail_etl.identifiers import CONTROL_CHARACTER

SkipAwsOption = Annotated[
    bool,
    typer.Option("--skip-aws", help="Leave the AWS side (bucket notifications, SNS error topic) out of plan/apply."),
]

app = typer.Typer(
    name="retail-etl",
    help="Pipeline-as-code for a retail lakehouse on Snowflake and S3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def validate(project_dir: ProjectDir = Path("."), env: EnvOption = None) -> None:
    """Check every spec file: types, names, ARNs, URLs, cron, cross-object references. Exit 2 if invalid."""
    printer = Printer()
    project = load_project_or_exit(printer, project_dir, env)
    printer.ok(
        f"{len(project.loaded.pipelines)} pipeline(s), {len(project.desired.objects)} object(s): specs are valid."
    )


@app.command()
def render(
    project_dir: ProjectDir = Path("."),
    env: EnvOption = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", "-o", help="Write one .sql file per object.")] = None,
) -> None:
    """Print (or write) the DDL of every object, in apply order."""
    from retail_etl.plan.planner import build_plan

    printer = Printer()
    # What loading and planning allocate lives until the command ends and holds almost no reference cycles: the
    # collector would only scan it, over and over (~0.15 s for a thousand pipelines, even with main's thresholds),
    # and once more at exit. Frozen, it is left alone when collection resumes.
    gc.disable()
    try:
        project = load_project_or_exit(printer, project_dir, env)
        plan = build_plan(project.desired.objects, [])
    finally:
        gc.freeze()
        gc.enable()
    if out_dir is None:
        # Plain writes, not rich: the DDL of a large project is tens of thousands of lines.
        chunks = []
        for change in plan.changes:
            source = f" ({_one_line(change.source_file)})" if change.source_file else ""
            chunks.append(f"-- {change.ref}{source}\n")
            chunks.extend(statement + ";\n" for statement in change.statements)
            chunks.append("\n")
        sys.stdout.write("".join(chunks))
        return
    folder_or_exit(printer, out_dir, "--out-dir")
    for index, change in enumerate(plan.changes, start=1):
        safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in change.ref.name.display)
        path = out_dir / f"{index:03d}_{change.ref.kind.value}_{safe_name}.sql"
        write_or_exit(printer, path, "\n".join(s + ";" for s in change.statements) + "\n", "--out-dir")
    printer.ok(f"wrote {len(plan.changes)} file(s) to {out_dir}")


@app.command()
def plan(
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    connection: ConnectionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan for `retail-etl apply PLAN`.")] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0 without changes, 2 with changes, 1 on error.")
    ] = False,
    show_sql: Annotated[bool, typer.Option("--sql", help="Show the statements of each change.")] = False,
    show_unchanged: Annotated[bool, typer.Option("--unchanged", help="List unchanged objects too.")] = False,
    skip_aws: SkipAwsOption = False,
) -> None:
    """Show what apply would change in the target, and why (a dry run of apply), the AWS side included."""
    from retail_etl import workflow
    from retail_etl.aws.changes import AwsWiringError
    from retail_etl.plan.report import aws_lines, plan_lines, plan_to_json

    printer = Printer(stderr=as_json)
    try:
        project = load_project_or_exit(printer, project_dir, env)
        name = target_or_exit(printer, project, target)
    except typer.Exit as exit_:
        # With --detailed-exitcode, 2 means "changes": every error, bad input included, is 1.
        raise typer.Exit(EXIT_ERROR if detailed_exitcode else exit_.exit_code) from None
    with OpenTarget(printer, project, name, "plan", connection) as session:
        result = guard(printer, lambda: workflow.make_plan(project, session, name))
        try:
            aws = guard(printer, lambda: workflow.aws_side(project, session, name, dry_run=True, skip=skip_aws))
        except AwsWiringError as exc:
            fail(printer, f"the AWS side of target {name!r}: {exc}")
    document = plan_to_json(result, workflow.scope(project), aws)
    if out is not None:
        write_or_exit(printer, out, json.dumps(document, indent=2) + "\n", "--out")
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        printer.header(f"retail-etl plan · target {name} · database {project.desired.database.stored}")
        printer.lines(plan_lines(result, show_unchanged=show_unchanged, show_sql=show_sql))
        if aws is not None:
            printer.lines(aws_lines(aws))
        if out is not None:
            printer.plain(f"Saved to {out}: apply it with `retail-etl apply {out}`.")
    if detailed_exitcode and (result.has_changes or aws):
        raise typer.Exit(2)


@app.command()
def apply(
    plan_file: Annotated[Path | None, typer.Argument(help="A plan saved with `plan --out`; applied exactly.")] = None,
    project_dir: ProjectDir = Path("."),
    target: TargetOption = None,
    env: EnvOption = None,
    connection: ConnectionOption = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")] = False,
    allow_unsafe: Annotated[
        str,
        typer.Option(
            "--allow-unsafe",
            help="Comma-separated categories of UNSAFE changes to allow (kinds such as stream,pipe,table; adopt; all).",
        ),
    ] = "",
    parallelism: Annotated[int, typer.Option("--parallelism", min=1, max=64, help="Concurrent changes.")] = 8,
    show_sql: Annotated[bool, typer.Option("--sql", help="Show the statements of each change.")] = False,
    skip_aws: SkipAwsOption = False,
) -> None:
    """Make the target match the specs: plan, confirm, execute in dependency order, then wire the AWS side."""
    from retail_etl import workflow
    from retail_etl.aws.changes import AwsWiringError
    from retail_etl.plan.apply import execute_plan, refused_changes
    from retail_etl.plan.report import PlanFileError, aws_lines, plan_from_json, plan_lines

    printer = Printer()
    allowed = [part.strip().lower() for part in allow_unsafe.split(",") if part.strip()]
    from retail_etl.objects.base import Kind

    known = ["adopt", *(kind.value for kind in Kind), "all"]
    unknown = [part for part in allowed if part not in known]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        fail(printer, f"--allow-unsafe: unknown category {listed} (one of: {', '.join(known)})", EXIT_INPUT)
    project = load_project_or_exit(printer, project_dir, env)
    saved = saved_scope = None
    if plan_file is not None:
        try:
            document = json.loads(plan_file.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise PlanFileError("not a plan saved with `retail-etl plan --out` (a JSON object)")
            saved, saved_scope = plan_from_json(document)
        except (OSError, ValueError, PlanFileError) as exc:
            fail(printer, f"{plan_file}: {exc}", EXIT_INPUT)
        if target is not None and target != saved.target:
            fail(printer, f"{plan_file} was made for target {saved.target!r}, not {target!r}", EXIT_INPUT)
    name = target_or_exit(printer, project, saved.target if saved is not None else target)
    with OpenTarget(printer, project, name, "apply", connection) as session:
        if saved is not None and saved_scope is not None:
            current = guard(printer, lambda: workflow.current_fingerprint(session, saved_scope))
            if current != saved.observed_fingerprint:
                fail(printer, f"the account changed since {plan_file} was made: run `retail-etl plan` again")
            result = saved
        else:
            result = guard(printer, lambda: workflow.make_plan(project, session, name))
        printer.header(f"retail-etl apply · target {name} · database {project.desired.database.stored}")
        printer.lines(plan_lines(result, show_sql=show_sql))
        # The AWS side as it stands (a dry run): shown before confirming; missing credentials end apply here,
        # before anything is changed.
        try:
            aws = guard(printer, lambda: workflow.aws_side(project, session, name, dry_run=True, skip=skip_aws))
        except AwsWiringError as exc:
            fail(printer, f"the AWS side of target {name!r}: {exc}")
        if aws is not None:
            printer.lines(aws_lines(aws))
        if not result.has_changes and not aws:
            return
        refused = refused_changes(result, allowed)
        if refused:
            categories = ",".join(sorted({part for c in refused for part in c.category.split(",")}))
            fail(
                printer,
                f"{len(refused)} UNSAFE change(s) refused; nothing was applied. Review them above and rerun with"
                f" --allow-unsafe {categories} to allow them.",
            )
        if not auto_approve:
            if not sys.stdin.isatty():
                fail(printer, "not a terminal: pass --auto-approve to apply without confirmation")
            if not typer.confirm("Apply these changes?", default=False):
                fail(printer, "apply cancelled; nothing was changed")
        if result.has_changes:
            outcome = guard(
                printer,
                lambda: execute_plan(result, session, parallelism=parallelism, on_event=printer.apply_event),
            )
            if not outcome.ok:
                for change, error in outcome.failed:
                    printer.error(f"{change.ref}: {error}")
                for change in outcome.skipped:
                    printer.error(f"{change.ref}: not applied (a change it depends on failed)")
                fail(printer, f"apply failed: {len(outcome.done)} change(s) applied, {len(outcome.failed)} failed")
            printer.ok(f"Applied {len(outcome.done)} change(s) ({outcome.statements} statement(s)).")
        if aws is None:
            return
        # After the Snowflake changes: the pipes exist now, and SHOW PIPES gives their channels.
        try:
            done = guard(printer, lambda: workflow.aws_side(project, session, name, dry_run=False))
        except AwsWiringError as exc:
            fail(printer, f"the Snowflake changes were applied, the AWS side failed: {exc}")
        printer.lines(aws_lines(done or [], applied=True))


@app.command()
def schema(
    out_dir: Annotated[Path | None, typer.Option("--out-dir", "-o", help="Write the two schema files here.")] = None,
) -> None:
    """JSON Schema of the project file and the pipeline files, for editors (yaml-language-server)."""
    from retail_etl.spec.models import PipelineSpec, ProjectSpec

    schemas = {
        "project.schema.json": ProjectSpec.model_json_schema(),
        "pipeline.schema.json": PipelineSpec.model_json_schema(),
    }
    if out_dir is None:
        sys.stdout.write(json.dumps(schemas, indent=2) + "\n")
        return
    printer = Printer()
    folder_or_exit(printer, out_dir, "--out-dir")
    for file_name, document in schemas.items():
        write_or_exit(printer, out_dir / file_name, json.dumps(document, indent=2) + "\n", "--out-dir")
    printer.ok(f"wrote {', '.join(schemas)} to {out_dir}")


def _register_commands() -> None:
    # Commands living in their own modules, registered here so `retail-etl --help` lists them all.
    from retail_etl import cli_local
    from retail_etl.aws.command import register as register_aws
    from retail_etl.check.command import register as register_check
    from retail_etl.dbt.command import register as register_dbt
    from retail_etl.upload.command import register as register_upload

    cli_local.register(app)
    register_aws(app)
    register_check(app)
    register_dbt(app)
    # On the local target a file that lands in the bucket folder is loaded at once, as auto-ingest does.
    register_upload(app, local_ingest=cli_local.ingest_uploaded)


_register_commands()


def main() -> None:
    # A plan holds many long-lived, acyclic objects: the default collector thresholds make CPython rescan them
    # over and over (a third of the run time for a thousand pipelines). Collect far less often.
    gc.set_threshold(100_000, 50, 1000)
    app()


def _one_line(text: str) -> str:
    """``text`` for a ``--`` comment: a file name may hold a newline, which would end the comment."""
    return CONTROL_CHARACTER.sub("?", text)
