"""The embedded ``local`` target: an emulated Snowflake account kept in a folder (default ``.retail-etl/``).

The catalog (``catalog.json``) answers SHOW / DESC / INFORMATION_SCHEMA, so plan and apply behave as against
Snowflake: same planner, same round trip, same idempotency. Statements run through the local engine, which also
mirrors databases, schemas, tables, views and stream offsets into the DuckDB warehouse (``warehouse/``), so the
objects apply creates hold data. The catalog is saved after every statement that changes it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_etl.emulator import Account
from retail_etl.emulator.context import SessionContext
from retail_etl.targets.session import TargetError

if TYPE_CHECKING:
    from retail_etl.local.engine import LocalEngine, LocalSqlSession

CATALOG_FILE = "catalog.json"


def is_deployed(root: Path) -> bool:
    """Whether anything was applied to the local target folder ``root`` yet."""
    return (root / CATALOG_FILE).exists()


def read_catalog(root: Path) -> Account:
    """The emulated account saved in ``root`` (an empty one before the first apply)."""
    path = root / CATALOG_FILE
    if not path.exists():
        return Account()
    try:
        return Account.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TargetError(
            f"the local target's state {path} cannot be read ({type(exc).__name__}: {exc}); restore it from a"
            " backup, or remove the target's folder to start again (its data goes with it)"
        ) from None


class LocalSession:
    def __init__(self, root: Path, *, query_tag: str | None = None) -> None:
        self.root = root
        self.catalog_path = root / CATALOG_FILE
        self.account = read_catalog(root)
        # Shared by reads and statements, as one Snowflake session's current database, schema and query tag are.
        self.context = SessionContext(query_tag=query_tag)
        self._engine: LocalEngine | None = None
        self._runner: LocalSqlSession | None = None
        self._lock = threading.Lock()

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.account.execute(sql, self.context)

    def execute(self, sql: str) -> None:
        with self._lock:
            self._session().run(sql)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        if self._engine is not None:
            self._engine.close()

    def _session(self) -> LocalSqlSession:
        # The engine (DuckDB, sqlglot) is loaded on the first statement: plan only reads the catalog.
        if self._runner is None:
            from retail_etl.local.engine import LocalEngine, LocalSqlSession, new_session_id
            from retail_etl.local.warehouse import Warehouse

            self._engine = LocalEngine(self.account, Warehouse(self.root), catalog_path=self.catalog_path)
            self._runner = LocalSqlSession(self._engine, new_session_id(), self.context)
        return self._runner
