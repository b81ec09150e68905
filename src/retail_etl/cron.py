"""Snowflake's task CRON expressions, read by croniter.

Snowflake writes "the last Friday of the month" as ``5L`` in the day-of-week field (reference §8.1); croniter
writes it ``L5`` (and reads no day name there). Everything else Snowflake accepts (numbers, names, ``*``, ``L``
in the day of the month, lists, ranges and steps) croniter reads as it is.
"""

from __future__ import annotations

import re

_LAST_WEEKDAY = re.compile(r"\b([0-6])L\b")


def for_croniter(expression: str) -> str:
    """The 5-field ``expression`` as croniter reads it (day-of-week ``<day>L`` becomes ``L<day>``)."""
    fields = expression.split()
    if len(fields) == 5:
        fields[4] = _LAST_WEEKDAY.sub(r"L\1", fields[4])
    return " ".join(fields)
