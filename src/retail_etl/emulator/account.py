"""The emulated account: a catalog plus the lock that serializes statements against it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from retail_etl.emulator import statements
from retail_etl.emulator.catalog import Catalog
from retail_etl.emulator.context import SessionContext


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Account:
    """One emulated Snowflake account.

    ``execute`` runs one statement and returns its result rows (SHOW / DESC columns lower-case,
    INFORMATION_SCHEMA columns upper-case, DDL a single ``status`` row) or raises :class:`EmulatorError`.
    Statements are serialized by a lock, so sessions on several threads may share the account.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        name: str = "EMULATED",
        region: str = "us-east-1",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.catalog = catalog if catalog is not None else Catalog(account=name, region=region)
        self._clock = clock
        self._lock = threading.RLock()
        # Used when a caller runs statements without a session of its own.
        self._default_context = SessionContext()

    def execute(self, sql: str, context: SessionContext | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return statements.execute(self.catalog, sql, context or self._default_context, self._clock())

    def to_json(self) -> dict[str, Any]:
        """The whole catalog as JSON-ready data; equal accounts give equal output."""
        with self._lock:
            return self.catalog.to_json()

    @classmethod
    def from_json(cls, data: dict[str, Any], *, clock: Callable[[], datetime] = _utc_now) -> Account:
        return cls(Catalog.from_json(data), clock=clock)
