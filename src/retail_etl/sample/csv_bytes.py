"""CSV text built with array operations: every row is the same list of fields, each field a token from a table.

A token table is a zero-padded byte matrix (one row per token). A chunk of rows is laid out as one matrix, each
field's tokens gathered into its columns, and the padding removed in one pass. No token holds a NUL byte, a
delimiter, a quote or a newline, so nothing needs quoting. This runs at several million rows per second per core,
where a CSV writer formatting typed values reaches about two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Bytes2D = NDArray[np.uint8]


def token_table(tokens: Iterable[str]) -> Bytes2D:
    """The tokens as a zero-padded matrix: row ``k`` holds token ``k``."""
    encoded = [token.encode("utf-8") for token in tokens]
    width = max((len(token) for token in encoded), default=0) or 1
    if any(b"\0" in token for token in encoded):
        raise ValueError("a CSV token cannot hold a NUL byte")
    return np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(encoded), width)


def constant(text: str, rows: int) -> Bytes2D:
    """The same text on every row (a delimiter, a date prefix)."""
    encoded = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return np.broadcast_to(encoded, (rows, len(encoded)))


def gather(table: Bytes2D, indices: NDArray[Any]) -> Bytes2D:
    """The tokens at ``indices``, one per row (``take`` copies whole rows, several times faster than indexing)."""
    return np.take(table, indices, axis=0, mode="clip")


_FOUR_DIGITS = token_table(f"{n:04d}" for n in range(10_000))


def digits(values: NDArray[Any], width: int) -> Bytes2D:
    """Non-negative integers below 10**``width`` as exactly ``width`` zero-filled decimal digits, four at a time."""
    if len(values) and (values.min() < 0 or values.max() >= 10**width):
        raise ValueError(f"a value does not fit in {width} digits")
    groups = -(-width // 4)
    out = np.empty((len(values), groups * 4), dtype=np.uint8)
    rest = values.astype(np.int64, copy=True)
    for group in range(groups - 1, -1, -1):
        out[:, group * 4 : group * 4 + 4] = gather(_FOUR_DIGITS, rest % 10_000)
        rest //= 10_000
    return out[:, groups * 4 - width :]


def rows_text(fields: Sequence[Bytes2D]) -> bytes:
    """The rows whose fields (already delimited, the last ending with a newline) are ``fields``, as text."""
    matrix = np.concatenate(fields, axis=1)
    text: bytes = matrix[matrix != 0].tobytes()
    return text
