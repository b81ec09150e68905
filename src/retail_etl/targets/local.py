"""The embedded ``local`` target: an emulated Snowflake account kept in a folder (default ``.retail-etl/``).

The catalog is saved as JSON after every statement, so plan and apply behave as against Snowflake: same
planner, same SHOW/DESC round trip, same idempotency.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from retail_etl.emulator import Account, EmulatedSession

CATALOG_FILE = "catalog.json"


class LocalSession:
    def __init__(self, root: Path, *, query_tag: str | None = None) -> None:
        self.root = root
        self.catalog_path = root / CATALOG_FILE
        account = (
            Account.from_json(json.loads(self.catalog_path.read_text(encoding="utf-8")))
            if self.catalog_path.exists()
            else Account()
        )
        self._session = EmulatedSession(account=account, query_tag=query_tag)
        self._lock = threading.Lock()

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self._session.query(sql)

    def execute(self, sql: str) -> None:
        with self._lock:
            self._session.execute(sql)
            self._save()

    def close(self) -> None:
        self._session.close()

    def _save(self) -> None:
        # Write then rename: an interrupted apply never leaves a half-written catalog.
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.catalog_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._session.account.to_json(), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.catalog_path)
