"""Tokens of Snowflake SQL text, with the offsets that let statements echo their source verbatim.

Rules (Snowflake reference §14):
- a single-quoted string processes ``''`` doubling *and* backslash escapes (``\\\\ \\' \\" \\n \\r \\t \\0 \\b \\f``,
  ``\\ooo`` octal, ``\\xhh`` hex, ``\\uhhhh``); any other backslash is dropped and the next character kept;
- a ``$$`` string is taken literally and cannot contain ``$$``;
- ``"..."`` is a case-preserving identifier with ``""`` standing for ``"``; an unquoted identifier is stored
  upper-case;
- ``--`` and ``//`` comment to the end of the line, ``/* */`` comments a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from retail_etl.emulator.errors import syntax_error


class TokenKind(StrEnum):
    IDENT = "identifier"  # unquoted: value is upper-cased
    QUOTED = "quoted identifier"  # value is exact
    STRING = "string"  # value is the decoded literal ('...' or $$...$$)
    NUMBER = "number"
    VARIABLE = "variable"  # $1, $name: COPY column positions and session variables
    PUNCT = "punctuation"
    EOF = "end of input"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    value: str
    start: int  # offsets into the statement text: text[start:end] is the token as written
    end: int

    def is_keyword(self, *words: str) -> bool:
        """True for an unquoted identifier spelling one of ``words`` (keywords are never quoted)."""
        return self.kind is TokenKind.IDENT and self.value in words

    def is_punct(self, *symbols: str) -> bool:
        return self.kind is TokenKind.PUNCT and self.value in symbols

    @property
    def is_name(self) -> bool:
        return self.kind in (TokenKind.IDENT, TokenKind.QUOTED)


_TWO_CHAR_SYMBOLS = frozenset({"=>", "<>", "!=", "<=", ">=", "::", "||", "->"})
_SINGLE_SYMBOLS = frozenset("(),.;=<>+-*/%@:[]{}|^&~!?")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "0": "\0"}
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_ident_start(char: str) -> bool:
    return char.isalpha() or char == "_"


def _is_ident_part(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode the single-quoted literal opening at ``start``; returns its value and the offset after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            if text.startswith("'", i + 1):
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            escaped = text[i + 1]
            octal = text[i + 1 : i + 4]
            if len(octal) == 3 and set(octal) <= _OCTAL:
                out.append(chr(int(octal, 8)))
                i += 4
            elif escaped in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[escaped])
                i += 2
            elif escaped == "x" and len(text) >= i + 4 and set(text[i + 2 : i + 4]) <= _HEX:
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
            elif escaped == "u" and len(text) >= i + 6 and set(text[i + 2 : i + 6]) <= _HEX:
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
            else:
                # Covers \\ \' \" and, as Snowflake does for unknown sequences, drops the backslash.
                out.append(escaped)
                i += 2
            continue
        out.append(char)
        i += 1
    raise syntax_error(text, len(text), "<EOF>")


def _read_quoted_identifier(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == '"':
            if text.startswith('"', i + 1):
                out.append('"')
                i += 2
                continue
            if not out:
                raise syntax_error(text, start, '""')
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise syntax_error(text, len(text), "<EOF>")


def _read_number(text: str, start: int) -> int:
    i = start
    if text.startswith(("0x", "0X"), i) and i + 2 < len(text) and text[i + 2] in _HEX:
        i += 2
        while i < len(text) and text[i] in _HEX:
            i += 1
        return i
    while i < len(text) and text[i].isdigit():
        i += 1
    if i < len(text) and text[i] == "." and i + 1 < len(text) and text[i + 1].isdigit():
        i += 1
        while i < len(text) and text[i].isdigit():
            i += 1
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if j < len(text) and text[j].isdigit():
            i = j
            while i < len(text) and text[i].isdigit():
                i += 1
    return i


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` followed by an EOF token; comments and whitespace are skipped."""
    tokens: list[Token] = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith(("--", "//"), i):
            newline = text.find("\n", i)
            i = length if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise syntax_error(text, length, "<EOF>")
            i = close + 2
        elif char == "'":
            value, end = _read_string(text, i)
            tokens.append(Token(TokenKind.STRING, value, i, end))
            i = end
        elif text.startswith("$$", i):
            close = text.find("$$", i + 2)
            if close < 0:
                raise syntax_error(text, length, "<EOF>")
            tokens.append(Token(TokenKind.STRING, text[i + 2 : close], i, close + 2))
            i = close + 2
        elif char == '"':
            value, end = _read_quoted_identifier(text, i)
            tokens.append(Token(TokenKind.QUOTED, value, i, end))
            i = end
        elif char == "$" and i + 1 < length and _is_ident_part(text[i + 1]):
            end = i + 1
            while end < length and _is_ident_part(text[end]):
                end += 1
            tokens.append(Token(TokenKind.VARIABLE, text[i:end].upper(), i, end))
            i = end
        elif _is_ident_start(char):
            end = i + 1
            while end < length and _is_ident_part(text[end]):
                end += 1
            tokens.append(Token(TokenKind.IDENT, text[i:end].upper(), i, end))
            i = end
        elif char.isdigit() or (char == "." and i + 1 < length and text[i + 1].isdigit()):
            end = _read_number(text, i)
            tokens.append(Token(TokenKind.NUMBER, text[i:end], i, end))
            i = end
        elif text[i : i + 2] in _TWO_CHAR_SYMBOLS:
            tokens.append(Token(TokenKind.PUNCT, text[i : i + 2], i, i + 2))
            i += 2
        elif char in _SINGLE_SYMBOLS:
            tokens.append(Token(TokenKind.PUNCT, char, i, i + 1))
            i += 1
        else:
            raise syntax_error(text, i, char)
    tokens.append(Token(TokenKind.EOF, "", length, length))
    return tokens
