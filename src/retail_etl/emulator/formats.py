"""File format options: how they are written in DDL and the CSV defaults SHOW FILE FORMATS reports.

Values are kept as real characters and JSON-ready types: ``RECORD_DELIMITER = '\\n'`` is a newline, NULL_IF a
list of strings, booleans are booleans. A delimiter may also be written as hex (``0x5e``) or NONE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retail_etl.emulator import parser as read
from retail_etl.emulator.ddl_account import one_of
from retail_etl.emulator.lexer import TokenKind
from retail_etl.emulator.parser import Parser, RawName

FORMAT_TYPES = ("CSV", "JSON", "AVRO", "ORC", "PARQUET", "XML")


def _character(parser: Parser) -> str:
    """A delimiter or quote character: a string, NONE, or a hex number such as 0x5e."""
    token = parser.peek()
    if token.kind is TokenKind.NUMBER and token.value.lower().startswith("0x"):
        parser.next()
        return chr(int(token.value, 16))
    if token.is_keyword("NONE"):
        parser.next()
        return "NONE"
    return parser.expect_string()


def _optional_string(parser: Parser) -> str | None:
    if parser.accept_keyword("NONE"):
        return None
    return parser.expect_string()


def _upper_word(parser: Parser) -> str:
    return parser.expect_string_or_word().upper()


CSV_OPTIONS: dict[str, Callable[[Parser], Any]] = {
    "COMPRESSION": one_of("AUTO", "GZIP", "BZ2", "BROTLI", "ZSTD", "DEFLATE", "RAW_DEFLATE", "NONE"),
    "RECORD_DELIMITER": _character,
    "FIELD_DELIMITER": _character,
    "FILE_EXTENSION": _optional_string,
    "PARSE_HEADER": read.boolean,
    "SKIP_HEADER": read.integer,
    "SKIP_BLANK_LINES": read.boolean,
    "DATE_FORMAT": read.string_or_word,
    "TIME_FORMAT": read.string_or_word,
    "TIMESTAMP_FORMAT": read.string_or_word,
    "BINARY_FORMAT": one_of("HEX", "BASE64", "UTF8"),
    "ESCAPE": _character,
    "ESCAPE_UNENCLOSED_FIELD": _character,
    "TRIM_SPACE": read.boolean,
    "FIELD_OPTIONALLY_ENCLOSED_BY": _character,
    "NULL_IF": read.string_list,
    "ERROR_ON_COLUMN_COUNT_MISMATCH": read.boolean,
    "REPLACE_INVALID_CHARACTERS": read.boolean,
    "EMPTY_FIELD_AS_NULL": read.boolean,
    "SKIP_BYTE_ORDER_MARK": read.boolean,
    "ENCODING": _upper_word,
    "MULTI_LINE": read.boolean,
    "VALIDATE_UTF8": read.boolean,
}

# Every CSV option with its default, in the order SHOW FILE FORMATS lists them in ``format_options``.
CSV_DEFAULTS: dict[str, Any] = {
    "TYPE": "CSV",
    "RECORD_DELIMITER": "\n",
    "FIELD_DELIMITER": ",",
    "FILE_EXTENSION": None,
    "SKIP_HEADER": 0,
    "PARSE_HEADER": False,
    "DATE_FORMAT": "AUTO",
    "TIME_FORMAT": "AUTO",
    "TIMESTAMP_FORMAT": "AUTO",
    "BINARY_FORMAT": "HEX",
    "ESCAPE": "NONE",
    "ESCAPE_UNENCLOSED_FIELD": "\\",
    "TRIM_SPACE": False,
    "FIELD_OPTIONALLY_ENCLOSED_BY": "NONE",
    "NULL_IF": ["\\N"],
    "COMPRESSION": "AUTO",
    "ERROR_ON_COLUMN_COUNT_MISMATCH": True,
    "VALIDATE_UTF8": True,
    "SKIP_BLANK_LINES": False,
    "REPLACE_INVALID_CHARACTERS": False,
    "EMPTY_FIELD_AS_NULL": True,
    "SKIP_BYTE_ORDER_MARK": True,
    "ENCODING": "UTF8",
    "MULTI_LINE": True,
}


def format_options(format_type: str, options: dict[str, Any]) -> dict[str, Any]:
    """Every option of the type with the ones set applied (only CSV's defaults are modelled)."""
    defaults = CSV_DEFAULTS if format_type == "CSV" else {"TYPE": format_type}
    return {**defaults, **options}


def read_options(parser: Parser, *, with_type: bool, extra: dict[str, Callable[[Parser], Any]]) -> dict[str, Any]:
    """Format options (and ``extra`` keys such as COMMENT). CSV options are checked; other types' options are
    kept as written, since only CSV is modelled in detail.
    """
    readers: dict[str, Callable[[Parser], Any]] = {**CSV_OPTIONS, **extra}
    if with_type:
        readers["TYPE"] = one_of(*FORMAT_TYPES)
    start = parser.pos
    values = parser.properties(readers, separators=True)
    if values.get("TYPE", "CSV") != "CSV":
        parser.pos = start
        values = parser.properties(readers, separators=True, other=read.raw_value)
    return values


def read_inline_format(parser: Parser) -> tuple[RawName | str | None, dict[str, Any]]:
    """``FILE_FORMAT = ( FORMAT_NAME = 'x' | TYPE = ... )`` or ``FILE_FORMAT = name``.

    Returns the format's name (a RawName when written bare, the string when quoted) or None with inline options.
    """
    if not parser.accept_punct("("):
        return parser.expect_name(), {}
    if parser.at_keyword("FORMAT_NAME") and parser.peek(1).is_punct("="):
        parser.pos += 2
        token = parser.peek()
        named: RawName | str = parser.expect_string() if token.kind is TokenKind.STRING else parser.expect_name()
        parser.expect_punct(")")
        return named, {}
    options = read_options(parser, with_type=True, extra={})
    parser.expect_punct(")")
    return None, options
