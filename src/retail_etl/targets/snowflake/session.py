"""The Session protocol over snowflake-connector-python: one statement per ``cursor.execute()`` (reference §15.4).

One statement per call gives each statement its own query ID, error and status for the plan/apply log, and avoids
the client-side splitter, which does not understand Snowflake Scripting blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retail_etl.targets.session import SessionError, lower_keys
from retail_etl.targets.snowflake.config import ConnectionSettings

if TYPE_CHECKING:
    from snowflake.connector import DictCursor, SnowflakeConnection

APPLICATION = "retail-etl"
MAX_QUERY_TAG_LENGTH = 2000
_MAX_STATEMENT_LINE = 200


class SnowflakeSession:
    """A connection to a Snowflake account; safe to share between threads (each call opens its own cursor)."""

    def __init__(self, settings: ConnectionSettings, *, query_tag: str) -> None:
        if len(query_tag) > MAX_QUERY_TAG_LENGTH:
            raise ValueError(f"QUERY_TAG is limited to {MAX_QUERY_TAG_LENGTH} characters, got {len(query_tag)}")
        # Imported here rather than at module level: the connector is slow to import, and most commands never
        # talk to Snowflake.
        import snowflake.connector

        self._settings = settings
        self._dict_cursor: type[DictCursor] = snowflake.connector.DictCursor
        self._driver_error: type[Exception] = snowflake.connector.Error
        session_parameters = {
            **settings.params.get("session_parameters", {}),
            "QUERY_TAG": query_tag,
            # The planner quotes identifiers to keep their exact case; an account-level TRUE would fold them.
            "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
        }
        arguments = {**settings.params, "session_parameters": session_parameters, "application": APPLICATION}
        try:
            self._connection: SnowflakeConnection = snowflake.connector.connect(**arguments)
        # Any failure, not only the driver's: a key-loading or argument error may quote a parameter value.
        except Exception as exc:
            raise SessionError(
                settings.scrub(
                    f"cannot connect with Snowflake connection {settings.name!r} from {settings.source}: {_text(exc)}"
                )
            ) from None

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [lower_keys(row) for row in self._run(sql, fetch=True)]

    def execute(self, sql: str) -> None:
        self._run(sql, fetch=False)

    def close(self) -> None:
        try:
            self._connection.close()
        except self._driver_error as exc:
            raise SessionError(self._settings.scrub(f"closing the Snowflake connection failed: {_text(exc)}")) from None

    def _run(self, sql: str, *, fetch: bool) -> list[dict[str, Any]]:
        # A cursor per call: the connector lets threads share a connection, not a cursor (PEP 249 threadsafety 2).
        try:
            with self._connection.cursor(self._dict_cursor) as cursor:
                cursor.execute(sql)
                return cursor.fetchall() if fetch else []
        # `from None`: the driver's exception is not shown, so only the scrubbed text below can reach a terminal.
        except self._driver_error as exc:
            raise SessionError(self._settings.scrub(f"{_text(exc)}\n  statement: {_first_line(sql)}")) from None


def _text(exc: Exception) -> str:
    # The driver's str() carries the error code, SQLSTATE and message ("002003 (42S02): ..."); connector 3.x also
    # appended the query ID, 4.x no longer does, and the query ID is what Snowflake support asks for.
    text = str(exc) or type(exc).__name__
    query_id = getattr(exc, "sfqid", None)
    if query_id and "sfqid=" not in text:
        text = f"{text} (sfqid={query_id})"
    return text


def _first_line(sql: str) -> str:
    line = next((stripped for stripped in (raw.strip() for raw in sql.splitlines()) if stripped), "")
    return line if len(line) <= _MAX_STATEMENT_LINE else f"{line[:_MAX_STATEMENT_LINE]}..."
