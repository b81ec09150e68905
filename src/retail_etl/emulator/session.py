"""A :class:`~retail_etl.targets.session.Session` on an emulated account."""

from __future__ import annotations

import threading
import time
from typing import Any

from retail_etl.emulator.account import Account
from retail_etl.emulator.context import SessionContext


class EmulatedSession:
    """Runs statements against an :class:`Account`, like a connection to a real one.

    ``latency`` seconds are slept per call, outside the account's lock, to stand in for the network round trip
    (so concurrent callers overlap their waits as they would against Snowflake). Every statement is recorded in
    ``history`` with the query tag in force when it ran, including the ones that fail.
    """

    def __init__(self, account: Account, *, latency: float = 0.0, query_tag: str | None = None) -> None:
        self.account = account
        self.latency = latency
        self.context = SessionContext(query_tag=query_tag)
        self.history: list[tuple[str, str | None]] = []
        self._history_lock = threading.Lock()
        self._closed = False

    def query(self, sql: str) -> list[dict[str, Any]]:
        if self._closed:
            raise RuntimeError("the session is closed")
        with self._history_lock:
            self.history.append((sql, self.context.query_tag))
        if self.latency:
            time.sleep(self.latency)
        return self.account.execute(sql, self.context)

    def execute(self, sql: str) -> None:
        self.query(sql)

    def close(self) -> None:
        self._closed = True
