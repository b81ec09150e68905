"""Snowflake identifiers and literals: the only way a value from YAML reaches SQL text.

Rules from the Snowflake reference (identifiers-syntax, data-types-text):
- an unquoted identifier matches ``[A-Za-z_][A-Za-z0-9_$]*``, is not a reserved word, and is stored upper-cased;
- anything else is double-quoted, with an embedded ``"`` doubled, and keeps its exact case;
- a single-quoted string literal processes backslash escapes *and* quote doubling, so the escaper doubles
  backslashes first and quotes second;
- a ``$$`` body cannot contain ``$$``: such a body falls back to an escaped single-quoted literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property

MAX_IDENTIFIER_LENGTH = 255

# \A...\Z, not ^...$: ``$`` also matches before a trailing newline, which would let "ABC\n" render unquoted.
UNQUOTED_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_$]*\Z")

# Control characters (C0, DEL, C1 such as NEL) and the Unicode line/paragraph separators, which end a JavaScript
# ``//`` comment or string: never part of a name retail-etl writes. These are the general categories Cc, Zl and Zp,
# which Unicode never changes, spelled out so that one search checks a whole name (not a look-up per character).
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# Reserved and limited keywords (Snowflake reference §14.2) plus CURRENT_ROLE, which cannot name a column.
RESERVED_WORDS = frozenset(
    [
        "ACCOUNT",
        "ALL",
        "ALTER",
        "AND",
        "ANY",
        "AS",
        "BETWEEN",
        "BY",
        "CASE",
        "CAST",
        "CHECK",
        "COLUMN",
        "CONNECT",
        "CONNECTION",
        "CONSTRAINT",
        "CREATE",
        "CROSS",
        "CURRENT",
        "CURRENT_DATE",
        "CURRENT_ROLE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_USER",
        "DATABASE",
        "DELETE",
        "DISTINCT",
        "DROP",
        "ELSE",
        "EXISTS",
        "FALSE",
        "FOLLOWING",
        "FOR",
        "FROM",
        "FULL",
        "GRANT",
        "GROUP",
        "GSCLUSTER",
        "HAVING",
        "ILIKE",
        "IN",
        "INCREMENT",
        "INNER",
        "INSERT",
        "INTERSECT",
        "INTO",
        "IS",
        "ISSUE",
        "JOIN",
        "LATERAL",
        "LEFT",
        "LIKE",
        "LOCALTIME",
        "LOCALTIMESTAMP",
        "MINUS",
        "NATURAL",
        "NOT",
        "NULL",
        "OF",
        "ON",
        "OR",
        "ORDER",
        "ORGANIZATION",
        "QUALIFY",
        "REGEXP",
        "REVOKE",
        "RIGHT",
        "RLIKE",
        "ROW",
        "ROWS",
        "SAMPLE",
        "SCHEMA",
        "SELECT",
        "SET",
        "SOME",
        "START",
        "TABLE",
        "TABLESAMPLE",
        "THEN",
        "TO",
        "TRIGGER",
        "TRUE",
        "TRY_CAST",
        "UNION",
        "UNIQUE",
        "UPDATE",
        "USING",
        "VALUES",
        "VIEW",
        "WHEN",
        "WHENEVER",
        "WHERE",
        "WINDOW",
        "WITH",
    ]
)


@cache
def _parse_identifier(text: str) -> Identifier:
    return Identifier._parse_uncached(text)


class IdentifierError(ValueError):
    """A name that cannot be a Snowflake identifier (empty, too long, or not allowed where it is used)."""


@dataclass(frozen=True, order=True)
class Identifier:
    """One identifier part, held in the form Snowflake stores it (what SHOW returns in ``name``)."""

    stored: str

    def __hash__(self) -> int:
        return hash(self.stored)

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """Canonicalize a name written in YAML (memoized: a large project parses the same names many times)."""
        return _parse_identifier(text)

    @classmethod
    def _parse_uncached(cls, text: str) -> Identifier:
        """See :meth:`parse`.

        ``customer`` -> ``CUSTOMER`` (unquoted, stored upper-case); ``"My Table"`` (with the quotes) -> exact case;
        any other text that is not a valid unquoted identifier (spaces, reserved words, ...) is kept exactly and will
        be quoted when rendered.
        """
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            inner = text[1:-1]
            if '"' in inner.replace('""', ""):
                raise IdentifierError(f"invalid quoted identifier {text!r}: an embedded quote must be doubled")
            stored = inner.replace('""', '"')
        elif UNQUOTED_IDENTIFIER.match(text) and text.upper() not in RESERVED_WORDS:
            stored = text.upper()
        else:
            stored = text
        if not stored:
            raise IdentifierError("an identifier cannot be empty")
        if CONTROL_CHARACTER.search(stored):
            raise IdentifierError(f"identifier {stored!r} contains a control character")
        if len(stored) > MAX_IDENTIFIER_LENGTH:
            raise IdentifierError(f"identifier longer than {MAX_IDENTIFIER_LENGTH} characters: {stored[:40]!r}...")
        return cls(stored)

    @property
    def is_plain(self) -> bool:
        """True when the name can be written unquoted (it is upper-case, valid and not reserved). A name holding
        ``$$`` is quoted all the same: tools that split scripts (the connector's ``execute_string``) read a bare
        ``$$`` as the start of a dollar-quoted body."""
        return (
            bool(UNQUOTED_IDENTIFIER.match(self.stored))
            and self.stored.upper() == self.stored
            and (self.stored not in RESERVED_WORDS)
            and "$$" not in self.stored
        )

    @cached_property
    def sql(self) -> str:
        """The identifier as SQL text: bare when plain, else double-quoted with ``"`` doubled."""
        if self.is_plain:
            return self.stored
        return '"' + self.stored.replace('"', '""') + '"'

    def __str__(self) -> str:
        return self.sql


@dataclass(frozen=True, order=True)
class QualifiedName:
    """``database.schema.name``; database-level and account-level objects leave the leading parts empty."""

    name: Identifier
    database: Identifier | None = None
    schema: Identifier | None = None
    # Names key every dict and set of the planner: hashed once, when made (the dataclass would re-hash every field
    # at every look-up; a cached_property costs a lock per name on Python 3.11).
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.database, self.schema, self.name)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def parts(self) -> tuple[Identifier, ...]:
        return tuple(p for p in (self.database, self.schema, self.name) if p is not None)

    # Cached: templates and plans ask a name for its text many times (every reference to it renders it).
    @cached_property
    def sql(self) -> str:
        return ".".join(p.sql for p in self.parts)

    @cached_property
    def display(self) -> str:
        """Human form used in plans: the stored names joined by dots."""
        return ".".join(p.stored for p in self.parts)

    def __str__(self) -> str:
        return self.sql


def split_qualified(text: str) -> list[str]:
    """Split ``A."b.c".D`` into its parts, keeping the quotes of quoted parts (for :meth:`Identifier.parse`)."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            if in_quotes and i + 1 < len(text) and text[i + 1] == '"':
                current.append('""')
                i += 2
                continue
            in_quotes = not in_quotes
            current.append(char)
        elif char == "." and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if in_quotes:
        raise IdentifierError(f"unterminated quoted identifier in {text!r}")
    parts.append("".join(current))
    return parts


def parse_qualified(text: str) -> QualifiedName:
    """Parse a one- to three-part name as Snowflake echoes it (``DB.SCHEMA.NAME``, parts quoted when needed)."""
    return _qualified([Identifier.parse(p) for p in split_qualified(text)], text)


def parse_echoed(text: str) -> QualifiedName:
    """A one- to three-part name as SHOW echoes it in a value column (``table_name``, ``error_integration``): quoted
    parts are exact, bare parts are *stored* names, never upper-cased. Snowflake echoes an upper-case stored name
    as it is, so a bare lower-case part can only be a name stored in lower case (created quoted):
    ``DB.S.work_copy`` is the table ``"work_copy"``, not ``WORK_COPY``."""
    parts = [Identifier.parse(p) if p.startswith('"') else Identifier(p) for p in split_qualified(text)]
    return _qualified(parts, text)


def _qualified(parts: list[Identifier], text: str) -> QualifiedName:
    """``[database, schema, name]``, ``[schema, name]`` or ``[name]`` as a QualifiedName (``text`` for the error)."""
    if len(parts) == 3:
        return QualifiedName(database=parts[0], schema=parts[1], name=parts[2])
    if len(parts) == 2:
        return QualifiedName(schema=parts[0], name=parts[1])
    if len(parts) == 1:
        return QualifiedName(name=parts[0])
    raise IdentifierError(f"too many name parts in {text!r}")


# Escapes written in place of characters that would make a literal span lines or hide control bytes: the short forms
# for newline, carriage return and tab, and \uhhhh (exactly four hex digits, §14.3) for every other control character
# and the Unicode line/paragraph separators. NUL is \u0000, never \0: "\0" followed by digits would read as an octal
# escape (\012 is a newline). They are inserted after the doubling of backslashes, so their own backslash stays single.
_LITERAL_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}
_LITERAL_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def sql_literal(value: object) -> str:
    """A single-quoted Snowflake string literal: backslashes doubled first, then quotes doubled.

    Control characters and line separators are written as escape sequences, so a literal never spans lines (not even
    by Python's ``str.splitlines``, which Jinja's ``indent`` uses) and decodes to exactly ``value``.
    """
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    # translate looks every character up in the table: only worth it when there is one to escape (the table's keys
    # are exactly the CONTROL_CHARACTER set).
    if CONTROL_CHARACTER.search(text):
        text = text.translate(_LITERAL_ESCAPES)
    return "'" + text + "'"


def dollar_quoted(body: str) -> str:
    """Wrap a procedure body in ``$$`` unless it contains ``$$``; then use an escaped single-quoted literal."""
    text = "\n" + body.strip("\n") + "\n"
    if "$$" in text:
        return sql_literal(text)
    return "$$" + text + "$$"
