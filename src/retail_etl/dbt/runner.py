"""Run dbt in-process (dbtRunner) with a generated profile: the thin boundary between retail-etl and dbt.

The profile lives in a private temporary directory for the invocation only; the secrets it references are put into
``os.environ`` for the invocation only (dbt reads ``env_var`` from the process environment) and the previous values
are restored afterwards.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from retail_etl.dbt.profile import DbtProfile
from retail_etl.targets.snowflake.config import MASK

PROFILES_FILE = "profiles.yml"
# No usage statistics leave the machine: dbt would otherwise send them over the network on every run.
RUN_ENVIRONMENT: Mapping[str, str] = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@dataclass(frozen=True)
class DbtOutcome:
    """What an invocation returned: dbt's success, and the exception that stopped it, if any."""

    success: bool
    exception: BaseException | None = None


class DbtUsageError(ValueError):
    """Bad usage, not a failing model: dbt refused the arguments (an unknown option), or the invocation could not
    be prepared (``--vars`` that is not a mapping, an unreadable token file)."""


def invoke_dbt(args: list[str]) -> DbtOutcome:
    """dbt's Python API; imported here because dbt takes a second or more to import."""
    from dbt.cli.exceptions import DbtUsageException
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(args)
    if isinstance(result.exception, DbtUsageException):
        return DbtOutcome(False, DbtUsageError(str(result.exception)))
    return DbtOutcome(result.success, result.exception)


def dbt_arguments(
    command: str,
    dbt_dir: Path,
    *,
    profiles_dir: Path,
    profile: DbtProfile,
    variables: Mapping[str, Any],
    extra: Sequence[str],
) -> list[str]:
    """The dbt command line; the user's arguments come last, and their ``--vars`` are merged over the project's."""
    rest, user_vars = _split_vars(extra)
    return [
        command,
        "--project-dir",
        str(dbt_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        profile.target,
        "--vars",
        json.dumps({**variables, **user_vars}, sort_keys=True),
        *rest,
    ]


def run_dbt(
    command: str, dbt_dir: Path, *, profile: DbtProfile, variables: Mapping[str, Any], extra: Sequence[str]
) -> DbtOutcome:
    """Write the profile, run ``dbt <command>`` on the project in ``dbt_dir``, clean up. Secrets are masked in the
    returned exception's message. Raises DbtUsageError before dbt runs."""
    # Read before anything runs: a missing token file is a configuration error, not a dbt failure.
    secrets = {**profile.secrets, **{name: _read_secret(path) for name, path in profile.secret_files.items()}}
    # mkdtemp makes the directory 0700: only this user can read the profile while it exists.
    with tempfile.TemporaryDirectory(prefix="retail-etl-dbt-") as profiles_dir:
        profiles = Path(profiles_dir)
        _write_private(profiles / PROFILES_FILE, yaml.safe_dump(profile.document, sort_keys=False))
        arguments = dbt_arguments(
            command, dbt_dir, profiles_dir=profiles, profile=profile, variables=variables, extra=extra
        )
        with _environment({**RUN_ENVIRONMENT, **secrets}):
            outcome = invoke_dbt(arguments)
    if outcome.exception is not None:
        masked = _mask(str(outcome.exception) or type(outcome.exception).__name__, secrets.values())
        exception = DbtUsageError(masked) if isinstance(outcome.exception, DbtUsageError) else RuntimeError(masked)
        return DbtOutcome(outcome.success, exception)
    return outcome


def _split_vars(extra: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """The user's arguments without ``--vars``, and the variables they gave (YAML, as dbt reads them)."""
    rest: list[str] = []
    merged: dict[str, Any] = {}
    values = iter(extra)
    for argument in values:
        if argument == "--vars":
            text = next(values, "")
        elif argument.startswith("--vars="):
            text = argument.removeprefix("--vars=")
        else:
            rest.append(argument)
            continue
        try:
            parsed = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, dict):
            raise DbtUsageError(f"--vars {text!r} is not a YAML or JSON mapping")
        merged.update(parsed)
    return rest, merged


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DbtUsageError(f"cannot read the token file {path}: {exc.strerror}") from None


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _mask(text: str, secrets: Iterable[str]) -> str:
    texts = set(secrets)
    # A message may quote one line of a PEM key rather than the whole block.
    texts.update(line.strip() for secret in list(texts) for line in secret.splitlines() if len(line.strip()) >= 16)
    texts.discard("")
    # Longest first, so a secret containing another one is masked whole.
    for secret in sorted(texts, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
