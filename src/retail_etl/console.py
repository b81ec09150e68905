"""Everything the CLI prints goes through here: rich colour on a terminal, plain text otherwise."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from retail_etl.plan.planner import Change
    from retail_etl.spec.load import SpecError


class Printer:
    def __init__(self, *, stderr: bool = False) -> None:
        stream = sys.stderr if stderr else sys.stdout
        # highlight=False: never guess colours for names and numbers; soft_wrap: keep SQL lines intact. Off a
        # terminal (CI logs, pipes) rich would assume 80 columns and fold tables: give them room instead.
        width = None if stream.isatty() else 200
        self.out = Console(file=stream, highlight=False, soft_wrap=True, width=width)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)
        self._lock = threading.Lock()

    def plain(self, text: str) -> None:
        self.out.print(Text(text))

    def header(self, text: str) -> None:
        self.out.print(Text(text, style="bold"))
        self.out.print()

    def lines(self, lines: list[tuple[str, str]]) -> None:
        for style, text in lines:
            self.out.print(Text(text, style=style or ""))

    def ok(self, text: str) -> None:
        self.out.print(Text(text, style="green"))

    def error(self, text: str) -> None:
        self.err.print(Text(f"error: {text}", style="bold red"))

    def spec_errors(self, error: SpecError) -> None:
        for issue in error.issues:
            self.err.print(Text(f"{issue}", style="red"))
        self.err.print(Text(f"{len(error.issues)} error(s) in the specs; nothing was applied.", style="bold red"))

    def apply_event(self, event: str, change: Change, detail: str | None) -> None:
        with self._lock:
            if event == "done":
                self.out.print(Text(f"  done    {change.ref}", style="green"))
            elif event == "failed":
                self.out.print(Text(f"  failed  {change.ref}: {detail}", style="bold red"))
