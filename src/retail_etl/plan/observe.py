"""Read the account in bulk: one SHOW (or INFORMATION_SCHEMA query) per kind per database, the integrations once,
then only what SHOW cannot give (DESC INTEGRATION for the integrations the specs name). Never one query per
table, stage or pipe.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from retail_etl.identifiers import Identifier
from retail_etl.objects import HANDLERS
from retail_etl.objects.base import Kind, ObservedObject, Wanted
from retail_etl.objects.handler import Snapshot
from retail_etl.targets.session import Session, SessionError, lower_keys

MAX_CONCURRENT_QUERIES = 8
OBJECT_DOES_NOT_EXIST = "002003"  # Snowflake's error code, first in the message


def _run(
    session: Session, queries: dict[str, str], *, missing_is_empty: bool = False
) -> dict[str, list[dict[str, Any]]]:
    if not queries:
        return {}

    def query(sql: str) -> list[dict[str, Any]]:
        try:
            return [lower_keys(row) for row in session.query(sql)]
        except SessionError as exc:
            if missing_is_empty and str(exc).startswith(f"{OBJECT_DOES_NOT_EXIST} "):
                return []
            raise

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_QUERIES, len(queries))) as pool:
        futures = {key: pool.submit(query, sql) for key, sql in queries.items()}
        return {key: future.result() for key, future in futures.items()}


def observe(session: Session, databases: Iterable[Identifier], wanted: Wanted) -> list[ObservedObject]:
    """Everything retail-etl could manage in ``databases`` plus the account's integrations, normalized."""
    databases = list(databases)
    database_handler = HANDLERS[Kind.DATABASE]
    account_handler = HANDLERS[Kind.STORAGE_INTEGRATION]
    snapshot: dict[str, list[dict[str, Any]]] = _run(
        session, {**database_handler.queries(databases), **account_handler.queries(databases)}
    )
    existing = [db for db in databases if any(row["name"] == db.stored for row in snapshot[f"database@{db.stored}"])]
    second_round: dict[str, str] = {}
    for kind, handler in HANDLERS.items():
        if kind in (Kind.DATABASE, Kind.STORAGE_INTEGRATION, Kind.NOTIFICATION_INTEGRATION):
            continue
        second_round.update(handler.queries(existing))
    integrations = (Kind.STORAGE_INTEGRATION, Kind.NOTIFICATION_INTEGRATION)
    for kind in integrations:
        second_round.update(HANDLERS[kind].detail_queries(snapshot, wanted))
    snapshot.update(_run(session, second_round))
    # What the SHOW rows of the second round leave out (whether a pipe is paused): only for objects that exist.
    third_round: dict[str, str] = {}
    for kind, handler in HANDLERS.items():
        if kind not in integrations:
            third_round.update(handler.detail_queries(snapshot, wanted))
    # An object seen in the second round may be dropped before the third reaches it: then there is nothing to add.
    snapshot.update(_run(session, third_round, missing_is_empty=True))
    frozen: Snapshot = snapshot
    observed: list[ObservedObject] = []
    for handler in HANDLERS.values():
        observed.extend(handler.read(frozen))
    return observed
