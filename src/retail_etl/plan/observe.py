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
from retail_etl.objects.base import Kind, ObjectRef, ObservedObject
from retail_etl.objects.handler import Snapshot
from retail_etl.targets.session import Session, lower_keys

MAX_CONCURRENT_QUERIES = 8


def _run(session: Session, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    if not queries:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_QUERIES, len(queries))) as pool:
        futures = {key: pool.submit(session.query, sql) for key, sql in queries.items()}
        return {key: [lower_keys(row) for row in future.result()] for key, future in futures.items()}


def observe(session: Session, databases: Iterable[Identifier], wanted: set[ObjectRef]) -> list[ObservedObject]:
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
    snapshot.update(_run(session, third_round))
    frozen: Snapshot = snapshot
    observed: list[ObservedObject] = []
    for handler in HANDLERS.values():
        observed.extend(handler.read(frozen))
    return observed
