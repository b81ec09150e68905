"""Column and argument types: synonyms folded into Snowflake's canonical types, and the changes ALTER allows."""

from __future__ import annotations

from dataclasses import dataclass

from retail_etl.emulator.errors import cannot_change_column, unsupported_type

MAX_VARCHAR = 16777216
MAX_BINARY = 8388608
DEFAULT_TIME_PRECISION = 9

_TEXT = {"VARCHAR", "STRING", "TEXT", "NVARCHAR", "NVARCHAR2", "CHAR VARYING", "NCHAR VARYING"}
_FIXED_TEXT = {"CHAR", "CHARACTER", "NCHAR"}  # CHAR without a length is VARCHAR(1)
_DECIMAL = {"NUMBER", "DECIMAL", "DEC", "NUMERIC"}
_INTEGER = {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"}
_FLOAT = {"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL"}
_BINARY = {"BINARY", "VARBINARY"}
# TIMESTAMP and DATETIME follow TIMESTAMP_TYPE_MAPPING, whose default is TIMESTAMP_NTZ.
_TIMESTAMPS = {
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "DATETIME": "TIMESTAMP_NTZ",
    "TIMESTAMP_NTZ": "TIMESTAMP_NTZ",
    "TIMESTAMPNTZ": "TIMESTAMP_NTZ",
    "TIMESTAMP_LTZ": "TIMESTAMP_LTZ",
    "TIMESTAMPLTZ": "TIMESTAMP_LTZ",
    "TIMESTAMP_TZ": "TIMESTAMP_TZ",
    "TIMESTAMPTZ": "TIMESTAMP_TZ",
    "TIME": "TIME",
}
_PLAIN = {"BOOLEAN", "DATE", "VARIANT", "OBJECT", "ARRAY", "GEOGRAPHY", "GEOMETRY"}

# Types written as two words; the parser joins these before calling :func:`column_type`.
TWO_WORD_TYPES = {("DOUBLE", "PRECISION"), ("CHAR", "VARYING"), ("NCHAR", "VARYING")}


@dataclass(frozen=True)
class ColumnType:
    """A canonical type: ``base`` is what DESC TABLE prints before the parameters (VARCHAR, NUMBER, ...)."""

    base: str
    length: int | None = None  # VARCHAR and BINARY
    precision: int | None = None  # NUMBER total digits, or fractional-second digits of TIME/TIMESTAMP_*
    scale: int | None = None  # NUMBER

    @property
    def text(self) -> str:
        """As DESC TABLE prints it: ``VARCHAR(16777216)``, ``NUMBER(38,0)``, ``TIMESTAMP_NTZ(9)``."""
        if self.base in ("VARCHAR", "BINARY"):
            return f"{self.base}({self.length})"
        if self.base == "NUMBER":
            return f"NUMBER({self.precision},{self.scale})"
        if self.precision is not None:
            return f"{self.base}({self.precision})"
        return self.base

    @property
    def information_schema_type(self) -> str:
        """INFORMATION_SCHEMA.COLUMNS.DATA_TYPE: text types are reported as TEXT."""
        return "TEXT" if self.base == "VARCHAR" else self.base

    @property
    def is_text(self) -> bool:
        return self.base == "VARCHAR"


def column_type(name: str, params: list[int]) -> ColumnType:
    """Canonicalize ``name(params)`` as written in DDL (``name`` upper-case, two-word names space-joined)."""
    if name in _TEXT or name in _FIXED_TEXT:
        default = 1 if name in _FIXED_TEXT else MAX_VARCHAR
        return ColumnType("VARCHAR", length=params[0] if params else default)
    if name in _DECIMAL:
        return ColumnType("NUMBER", precision=params[0] if params else 38, scale=params[1] if len(params) > 1 else 0)
    if name in _INTEGER:
        return ColumnType("NUMBER", precision=38, scale=0)
    if name in _FLOAT:
        return ColumnType("FLOAT")
    if name in _BINARY:
        return ColumnType("BINARY", length=params[0] if params else MAX_BINARY)
    if name in _TIMESTAMPS:
        return ColumnType(_TIMESTAMPS[name], precision=params[0] if params else DEFAULT_TIME_PRECISION)
    if name in _PLAIN:
        return ColumnType(name)
    raise unsupported_type(name)


def check_change(
    column: str, before: ColumnType, before_collation: str | None, after: ColumnType, after_collation: str | None
) -> None:
    """Raise as Snowflake does for an ALTER COLUMN ... SET DATA TYPE it cannot apply in place.

    Allowed: the same type, a longer VARCHAR, a NUMBER with another precision and the same scale (the column holds
    no rows, so a smaller precision always fits). The collation cannot change, and a new type written without
    COLLATE has none: altering a collated column must repeat its COLLATE.
    """

    def shown(kind: ColumnType, collation: str | None) -> str:
        return kind.text + (f" COLLATE '{collation}'" if collation else "")

    old, new = shown(before, before_collation), shown(after, after_collation)
    if before_collation != after_collation:
        raise cannot_change_column(column, old, new, "they have incompatible collations")
    if before.base != after.base:
        raise cannot_change_column(column, old, new, None)
    if before.base == "VARCHAR" and (after.length or 0) < (before.length or 0):
        raise cannot_change_column(column, old, new, "reducing the byte-length of a varchar is not supported")
    if before.base == "NUMBER" and before.scale != after.scale:
        raise cannot_change_column(column, old, new, "changing the scale of a number is not supported")
    if before.base not in ("VARCHAR", "NUMBER") and before != after:
        raise cannot_change_column(column, old, new, None)
