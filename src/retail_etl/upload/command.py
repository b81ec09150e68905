"""``retail-etl upload``: the Typer command, registered on the CLI app by :func:`register`.

Thin like the other commands: parse options, route, hand the routes to the engine, print at the edge. The CLI
imports this module at start-up, so the engine, the progress display and boto3 are imported when a run needs
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from retail_etl.cli_common import (
    EXIT_ERROR,
    EXIT_INPUT,
    EXIT_OK,
    EnvOption,
    ProjectDir,
    TargetOption,
    fail,
    load_project_or_exit,
    target_or_exit,
)
from retail_etl.console import Printer
from retail_etl.targets.session import SessionError
from retail_etl.upload.results import FileResult, Outcome, UploadedFile
from retail_etl.upload.routing import Route, RoutingError, route_files

if TYPE_CHECKING:
    from retail_etl.spec.resolve import ResolvedPipeline
    from retail_etl.upload.engine import Batch, Reporter, Store
    from retail_etl.workflow import Project


# Called after each batch on the local target with the files written into its bucket folder, so the local
# pipes load them at once (what S3 event notifications do for Snowpipe): (project, target name, files).
# SessionError from it is reported and makes the exit code 1.
LocalIngest = Callable[["Project", str, list[UploadedFile]], None]
Hook = Callable[[list[UploadedFile]], None]

FilesArgument = Annotated[
    list[Path] | None,
    typer.Argument(help="Data files to upload.", metavar="FILES", exists=True, dir_okay=False, show_default=False),
]
PipelineOption = Annotated[
    str | None, typer.Option("--pipeline", help="Send every file to this pipeline (default: by file-name pattern).")
]
ConcurrencyOption = Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Files uploaded at once.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite different content under an existing key (pipes will not reload).")
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show where each file would go; upload nothing.")]
WatchOption = Annotated[
    Path | None,
    typer.Option(
        "--watch",
        help="Keep running: upload each new file in DIR once it has stopped changing. Ctrl-C stops.",
        exists=True,
        file_okay=False,
        show_default=False,
    ),
]
SettleOption = Annotated[
    float, typer.Option("--settle", min=0.0, help="With --watch: seconds a file must stay unchanged before upload.")
]


def register(app: typer.Typer, *, local_ingest: LocalIngest | None = None) -> None:
    """Add ``upload`` to ``app``. ``local_ingest`` loads what was written on a local target (see LocalIngest)."""

    # Typer commands take their options as parameters.
    @app.command()
    def upload(  # noqa: PLR0917
        files: FilesArgument = None,
        pipeline: PipelineOption = None,
        concurrency: ConcurrencyOption = 8,
        force: ForceOption = False,
        dry_run: DryRunOption = False,
        watch_dir: WatchOption = None,
        settle: SettleOption = 5.0,
        project_dir: ProjectDir = Path("."),
        target: TargetOption = None,
        env: EnvOption = None,
    ) -> None:
        """Upload data files to their pipelines' stage locations: S3, or the local target's bucket folder.

        Keys are <prefix><name>, or <prefix>YYYY/MM/DD/<name> for pipelines with partition_by_date (the upload
        date, UTC); <name>.gz when the file format says COMPRESSION = GZIP (compressed while uploading).
        Identical content already at a key is skipped; different content is refused unless --force.
        """
        printer = Printer()
        if not files and watch_dir is None:
            fail(printer, "nothing to upload: give FILES, or --watch DIR", EXIT_INPUT)
        project = load_project_or_exit(printer, project_dir, env)
        pipelines = project.desired.pipelines
        try:
            routes = route_files(_unique(files or []), pipelines, day=_today(), pipeline=pipeline)
        except RoutingError as exc:
            for problem in exc.problems:
                printer.error(problem)
            fail(printer, "nothing was uploaded", EXIT_INPUT)
        name = target_or_exit(printer, project, target)
        store: Store | None = None
        hook: Hook | None = None
        if dry_run:
            location = _dry_run_location(project, name)
        else:
            store, hook = _open_store(printer, project, name, concurrency, local_ingest)
            location = store.location
            if _local_bucket(project, name) is not None:
                # The local bucket takes the files one by one, in the order given, so the pipes load them in
                # that order, the same on every run: the load order decides which version of a row is the latest.
                concurrency = 1
        run = _Run(printer, store, location, hook, concurrency=concurrency, force=force)
        try:
            run.upload(routes)
            if watch_dir is not None:
                from retail_etl.upload.watch import watch

                printer.plain(f"Watching {watch_dir} for new files (Ctrl-C to stop).")
                watch(watch_dir, partial(run.handle_ready, pipelines, pipeline), settle=settle)
        except KeyboardInterrupt:
            printer.plain("Stopped.")
        finally:
            if store is not None:
                store.close()
        raise typer.Exit(run.finish())


class _Run:
    """One invocation: the store, the feedback, and every result so far (a watch runs many batches)."""

    def __init__(
        self,
        printer: Printer,
        store: Store | None,
        location: Callable[[Route], str],
        on_uploaded: Hook | None,
        *,
        concurrency: int,
        force: bool,
    ) -> None:
        self.printer = printer
        # No store: a dry run, which only shows the routes.
        self.store = store
        self.location = location
        self.on_uploaded = on_uploaded
        self.concurrency = concurrency
        self.force = force
        self.results: list[FileResult] = []
        self.seconds = 0.0
        # Files that could not be routed in --watch, and failed local loads: no FileResult, still an error.
        self.problems = 0
        self.routed = 0

    def upload(self, routes: Sequence[Route]) -> Batch | None:
        """Upload (or, in a dry run, show) one batch. Ctrl-C during transfers ends the run after the summary."""
        from retail_etl.upload.engine import upload_all
        from retail_etl.upload.feedback import BarReporter, LineReporter, route_lines

        if not routes:
            return None
        self.routed += len(routes)
        if self.store is None:
            self.printer.lines(route_lines(routes, self.location))
            return None
        reporter: Reporter
        display: AbstractContextManager[object]
        if self.printer.out.is_terminal:
            reporter = display = BarReporter(self.printer)
        else:
            reporter, display = LineReporter(self.printer), nullcontext()
        with display:
            batch = upload_all(routes, self.store, concurrency=self.concurrency, force=self.force, reporter=reporter)
        self.results.extend(batch.results)
        self.seconds += batch.seconds
        uploaded = [result.uploaded for result in batch.results if result.uploaded is not None]
        if uploaded and self.on_uploaded is not None:
            try:
                self.on_uploaded(uploaded)
            except SessionError as exc:
                self.printer.error(f"loading the uploaded files: {exc}")
                self.problems += 1
        if batch.interrupted:
            raise KeyboardInterrupt
        return batch

    def handle_ready(self, pipelines: Sequence[ResolvedPipeline], pipeline: str | None, paths: list[Path]) -> set[Path]:
        """--watch: route each settled file on its own (one bad name must not hold up the others), upload, and
        return the files that failed so the watcher retries them."""
        routes: list[Route] = []
        for path in paths:
            try:
                routes.extend(route_files([path], pipelines, day=_today(), pipeline=pipeline))
            except RoutingError as exc:
                for problem in exc.problems:
                    self.printer.error(problem)
                self.problems += 1
        batch = self.upload(routes)
        if batch is None:
            return set()
        return {result.route.source for result in batch.results if result.outcome is Outcome.FAILED}

    def finish(self) -> int:
        """Print the summary; the exit code."""
        from retail_etl.upload.feedback import result_line, summary_table

        if self.store is None:
            self.printer.plain(f"{self.routed} file(s) routed; nothing was uploaded (--dry-run).")
            return EXIT_ERROR if self.problems else EXIT_OK
        self.printer.out.print(summary_table(self.results, self.seconds))
        # Repeated at the end, on stderr: among hundreds of lines, what needs attention.
        not_done = [r for r in self.results if r.outcome in {Outcome.REFUSED, Outcome.FAILED}]
        for result in not_done:
            self.printer.error(result_line(result, self.location(result.route))[1])
        return EXIT_ERROR if not_done or self.problems else EXIT_OK


def _local_bucket(project: Project, target: str) -> Path | None:
    """The local target's bucket folder; None when files go to S3 (a Snowflake target, or a local target wired to
    an S3 endpoint, whose pipes then take files in from the S3 events)."""
    from retail_etl.spec.models import LocalTargetSpec
    from retail_etl.upload.folder import bucket_root

    spec = project.loaded.project.targets[target]
    if isinstance(spec, LocalTargetSpec) and spec.aws_endpoint_url is None:
        return bucket_root(project.loaded.project_dir, spec.path)
    return None


def _open_store(
    printer: Printer, project: Project, target: str, concurrency: int, local_ingest: LocalIngest | None
) -> tuple[Store, Hook | None]:
    local = _local_bucket(project, target)
    if local is not None:
        from retail_etl.upload.folder import FolderStore

        hook = partial(local_ingest, project, target) if local_ingest is not None else None
        return FolderStore(local), hook
    from retail_etl.spec.models import LocalTargetSpec
    from retail_etl.upload.s3 import S3Store, UploadSetupError, s3_client

    spec = project.loaded.project.targets[target]
    try:
        client = s3_client(region=spec.aws_region, endpoint_url=spec.aws_endpoint_url, concurrency=concurrency)
    except UploadSetupError as exc:
        fail(printer, f"cannot reach S3 for target {target!r}: {exc}")
    # A local target wired to S3 loads what arrives there at once, from the events on its pipes' channels.
    hook = partial(local_ingest, project, target) if isinstance(spec, LocalTargetSpec) and local_ingest else None
    return S3Store(client, concurrency=concurrency), hook


def _dry_run_location(project: Project, target: str) -> Callable[[Route], str]:
    """Where files would go, without opening anything (no credentials needed for a dry run)."""
    local = _local_bucket(project, target)
    if local is None:
        return lambda route: route.url
    from retail_etl.upload.folder import FolderStore

    return FolderStore(local).location


def _today() -> date:
    return datetime.now(UTC).date()


def _unique(files: Sequence[Path]) -> list[Path]:
    """The same file named twice (``data/*.csv data/customer.csv``) is uploaded once."""
    seen: set[Path] = set()
    unique = []
    for path in files:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(path)
    return unique
