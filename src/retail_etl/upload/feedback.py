"""What the upload prints: progress bars on a terminal, one line per file otherwise, and a summary table."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import TracebackType

from rich import box
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from retail_etl.console import Printer
from retail_etl.upload.results import FileResult, Outcome
from retail_etl.upload.routing import Route

_STYLES = {
    Outcome.UPLOADED: "green",
    Outcome.SKIPPED: "dim",
    Outcome.REFUSED: "bold yellow",
    Outcome.FAILED: "bold red",
}


def result_line(result: FileResult, location: str) -> tuple[str, str]:
    text = f"{result.outcome.value:<9} {result.route.source} -> {location}"
    if result.outcome is Outcome.UPLOADED:
        text += f" ({decimal(result.size)}, {result.seconds:.2f} s)"
    if result.detail:
        text += f": {result.detail}"
    return _STYLES[result.outcome], text


def route_lines(routes: Sequence[Route], location: Callable[[Route], str]) -> list[tuple[str, str]]:
    width = max((len(route.pipeline) for route in routes), default=0)
    return [
        ("", f"{route.pipeline:<{width}}  {route.source} -> {location(route)}" + (" (gzip)" if route.gzip else ""))
        for route in routes
    ]


def summary_table(results: Sequence[FileResult], seconds: float) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("")
    for name in ("files", "bytes", "seconds"):
        table.add_column(name, justify="right")
    for outcome in Outcome:
        chosen = [result for result in results if result.outcome is outcome]
        style = _STYLES[outcome] if chosen else "dim"
        table.add_row(outcome.value, str(len(chosen)), decimal(sum(r.size for r in chosen)), "", style=style)
    table.add_row("total", str(len(results)), decimal(sum(r.size for r in results)), f"{seconds:.2f}", style="bold")
    return table


class LineReporter:
    """One line per finished file: for logs and pipes, where progress bars would be noise."""

    def __init__(self, printer: Printer) -> None:
        self._printer = printer
        self._lock = threading.Lock()

    def batch(self, total_bytes: int) -> None:
        """Lines need no totals."""

    def started(self, route: Route, size: int) -> None:
        """Only outcomes are printed."""

    def advanced(self, route: Route, amount: int) -> None:
        """Only outcomes are printed."""

    def finished(self, result: FileResult, location: str) -> None:
        with self._lock:
            self._printer.lines([result_line(result, location)])


class BarReporter:
    """On a terminal: a bar per file in flight and one for the whole run (bytes/s, ETA); finished files print
    their line above the bars. Use as a context manager (it owns the live display)."""

    def __init__(self, printer: Printer) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=printer.out,
            transient=True,
        )
        self._overall = self._progress.add_task("total", total=0)
        self._total = 0
        self._tasks: dict[Route, TaskID] = {}
        self._done: dict[Route, int] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> BarReporter:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def batch(self, total_bytes: int) -> None:
        with self._lock:
            self._total += total_bytes
            self._progress.update(self._overall, total=self._total)

    def started(self, route: Route, size: int) -> None:
        with self._lock:
            self._tasks[route] = self._progress.add_task(route.source.name, total=size)
            self._done[route] = 0

    def advanced(self, route: Route, amount: int) -> None:
        with self._lock:
            self._done[route] += amount
            self._progress.advance(self._tasks[route], amount)
            self._progress.advance(self._overall, amount)

    def finished(self, result: FileResult, location: str) -> None:
        with self._lock:
            task = self._tasks.pop(result.route, None)
            # Skipped, refused and failed files count as done for the overall bar.
            self._progress.advance(self._overall, max(0, result.size - self._done.pop(result.route, 0)))
            if task is not None:
                self._progress.remove_task(task)
            style, text = result_line(result, location)
            self._progress.console.print(Text(text, style=style))
