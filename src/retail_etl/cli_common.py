"""What every command module shares: the common options, the exit codes, and the steps that end a command with a
message instead of a traceback (bad specs, an unknown target, a failing target). Light to import: the CLI's
start-up path goes through here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from retail_etl.console import Printer
from retail_etl.targets.session import SessionError, TargetError

if TYPE_CHECKING:
    from retail_etl.targets.session import Session
    from retail_etl.workflow import Project

Result = TypeVar("Result")

ProjectDir = Annotated[
    Path, typer.Option("--project-dir", "-C", help="Project root (holds pipelines/).", show_default=False)
]
TargetOption = Annotated[
    str | None, typer.Option("--target", "-t", help="Target from pipelines/project.yml (default: its default_target).")
]
EnvOption = Annotated[str | None, typer.Option("--env", "-e", help="Environment overlay from pipelines/project.yml.")]
ConnectionOption = Annotated[
    str | None, typer.Option("--connection", "-c", help="Snowflake CLI connection name (connections.toml).")
]

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2


def fail(printer: Printer, message: str, code: int = EXIT_ERROR) -> NoReturn:
    printer.error(message)
    raise typer.Exit(code)


def folder_or_exit(printer: Printer, folder: Path, option: str) -> Path:
    """``folder``, made if missing; one that cannot be made (a file is in the way, no permission) is bad input."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(printer, f"{option} {folder}: cannot make that folder ({exc.strerror or exc})", EXIT_INPUT)
    return folder


def write_or_exit(printer: Printer, path: Path, text: str, option: str) -> None:
    """Write ``text`` to ``path``; a path that cannot be written (a folder, a missing parent) is bad input."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(printer, f"{option} {path}: cannot write that file ({exc.strerror or exc})", EXIT_INPUT)


def load_project_or_exit(printer: Printer, project_dir: Path, env: str | None) -> Project:
    """The validated project; invalid specs end the command with every problem listed and exit code 2."""
    from retail_etl.spec.load import SpecError
    from retail_etl.workflow import load

    try:
        return load(project_dir, env)
    except SpecError as exc:
        printer.spec_errors(exc)
        raise typer.Exit(EXIT_INPUT) from None


def target_or_exit(printer: Printer, project: Project, explicit: str | None) -> str:
    from retail_etl.workflow import target_name

    try:
        return target_name(project, explicit)
    except TargetError as exc:
        fail(printer, str(exc), EXIT_INPUT)


class OpenTarget:
    """Opens the target's session for a ``with`` block and always closes it."""

    def __init__(self, printer: Printer, project: Project, target: str, command: str, connection: str | None) -> None:
        from retail_etl.workflow import open_session

        try:
            self.session = open_session(project, target, command=command, connection=connection)
        except (TargetError, SessionError) as exc:
            fail(printer, f"cannot open target {target!r}: {exc}")

    def __enter__(self) -> Session:
        return self.session

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.session.close()


def guard(printer: Printer, action: Callable[[], Result]) -> Result:
    """Run a step that talks to the target; its errors end the command with a message, not a traceback."""
    try:
        return action()
    except SessionError as exc:
        fail(printer, str(exc))
