"""The one interface the planner's I/O goes through: run a query, get rows; run a statement."""

from __future__ import annotations

from typing import Any, Protocol


class Session(Protocol):
    """A connection to an account (real or emulated). Rows come back with lower-case column names."""

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def execute(self, sql: str) -> None: ...

    def close(self) -> None: ...


class SessionError(RuntimeError):
    """A statement failed; the message is safe to print (no credentials)."""


def lower_keys(row: dict[str, Any]) -> dict[str, Any]:
    """SHOW returns lower-case columns, INFORMATION_SCHEMA upper-case ones: normalize to lower-case."""
    return {str(key).lower(): value for key, value in row.items()}


class TargetError(ValueError):
    """An unknown target, or one that cannot be opened (message safe to print)."""
