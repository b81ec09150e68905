"""A cursor over one statement's tokens, with the readers every statement shares (names, literals, options)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from retail_etl.emulator.errors import EmulatorError, statement_count, syntax_error
from retail_etl.emulator.lexer import Token, TokenKind, tokenize


@dataclass(frozen=True)
class RawName:
    """A name as written: one to three parts, each in stored form, and where it starts in the text."""

    parts: tuple[str, ...]
    offset: int

    @property
    def last(self) -> str:
        return self.parts[-1]


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self._check_single_statement()

    def _check_single_statement(self) -> None:
        """Snowflake runs one statement per call: ``a; b`` is refused before anything executes."""
        count, current = 0, 0
        for token in self.tokens:
            if token.is_punct(";") or token.kind is TokenKind.EOF:
                count += 1 if current else 0
                current = 0
            else:
                current += 1
        if count > 1:
            raise statement_count(count)

    # --- cursor ----------------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        if token.kind is not TokenKind.EOF:
            self.pos += 1
        return token

    def error(self, token: Token | None = None) -> EmulatorError:
        token = token or self.peek()
        found = "<EOF>" if token.kind is TokenKind.EOF else self.text[token.start : token.end]
        return syntax_error(self.text, token.start, found)

    def at_keyword(self, *words: str) -> bool:
        return self.peek().is_keyword(*words)

    def at_keywords(self, *sequence: str) -> bool:
        return all(self.peek(i).is_keyword(word) for i, word in enumerate(sequence))

    def accept_keyword(self, *words: str) -> str | None:
        """Consume the current token if it is one of ``words``; returns the word consumed."""
        if self.at_keyword(*words):
            return self.next().value
        return None

    def accept_keywords(self, *sequence: str) -> bool:
        """Consume ``sequence`` (e.g. IF NOT EXISTS) if all of it is next; nothing otherwise."""
        if not self.at_keywords(*sequence):
            return False
        self.pos += len(sequence)
        return True

    def expect_keyword(self, *words: str) -> str:
        word = self.accept_keyword(*words)
        if word is None:
            raise self.error()
        return word

    def expect_keywords(self, *sequence: str) -> None:
        for word in sequence:
            self.expect_keyword(word)

    def at_punct(self, *symbols: str) -> bool:
        return self.peek().is_punct(*symbols)

    def accept_punct(self, symbol: str) -> bool:
        if self.at_punct(symbol):
            self.pos += 1
            return True
        return False

    def expect_punct(self, symbol: str) -> Token:
        if not self.at_punct(symbol):
            raise self.error()
        return self.next()

    def at_end(self) -> bool:
        return self.peek().kind is TokenKind.EOF or (self.at_punct(";") and self.peek(1).kind is TokenKind.EOF)

    def expect_end(self) -> None:
        self.accept_punct(";")
        if self.peek().kind is not TokenKind.EOF:
            raise self.error()

    def end_offset(self) -> int:
        """Where the statement's last token ends (a trailing ``;`` and what follows it excluded)."""
        index = len(self.tokens) - 2  # the token before EOF
        while index >= 0 and self.tokens[index].is_punct(";"):
            index -= 1
        return self.tokens[index].end if index >= 0 else 0

    def rest(self) -> str:
        """The text from the current token to the end of the statement, as written; consumes it all."""
        start = self.peek().start
        end = self.end_offset()
        if start >= end:
            raise self.error()
        while not self.at_end():
            self.next()
        return self.text[start:end]

    # --- literals --------------------------------------------------------------------------------------------
    def expect_identifier(self) -> str:
        """One identifier part, in stored form."""
        token = self.peek()
        if not token.is_name:
            raise self.error()
        self.pos += 1
        return token.value

    def expect_name(self) -> RawName:
        start = self.peek().start
        parts = [self.expect_identifier()]
        while self.at_punct(".") and len(parts) < 3:
            self.pos += 1
            parts.append(self.expect_identifier())
        return RawName(tuple(parts), start)

    def expect_string(self) -> str:
        token = self.peek()
        if token.kind is not TokenKind.STRING:
            raise self.error()
        self.pos += 1
        return token.value

    def expect_integer(self) -> int:
        negative = self.accept_punct("-")
        token = self.peek()
        if token.kind is not TokenKind.NUMBER or not token.value.isdigit():
            raise self.error()
        self.pos += 1
        return -int(token.value) if negative else int(token.value)

    def expect_boolean(self) -> bool:
        return self.expect_keyword("TRUE", "FALSE") == "TRUE"

    def expect_word(self) -> str:
        """An enumerated value written bare or quoted (``COMPRESSION = gzip`` or ``= 'GZIP'``), upper-cased."""
        token = self.peek()
        if token.kind in (TokenKind.IDENT, TokenKind.STRING):
            self.pos += 1
            return token.value.upper()
        raise self.error()

    def expect_string_or_word(self) -> str:
        """A string, or a bare keyword such as NONE or AUTO (upper-cased)."""
        token = self.peek()
        if token.kind is TokenKind.IDENT:
            self.pos += 1
            return token.value
        return self.expect_string()

    def expect_string_list(self) -> list[str]:
        """``('a', 'b')``, ``()`` or a single ``'a'``."""
        if not self.accept_punct("("):
            return [self.expect_string()]
        values: list[str] = []
        while not self.accept_punct(")"):
            if values:
                self.expect_punct(",")
            values.append(self.expect_string())
        return values

    def expect_name_list(self) -> list[RawName]:
        """``a, b.c`` or ``(a, b)``: names separated by commas."""
        parenthesized = self.accept_punct("(")
        names = [self.expect_name()]
        while self.accept_punct(","):
            names.append(self.expect_name())
        if parenthesized:
            self.expect_punct(")")
        return names

    def expect_raw_value(self) -> str:
        """A value kept as written (session parameters, CONFIG): one token, or a parenthesized group."""
        start = self.peek()
        if start.kind is TokenKind.EOF:
            raise self.error()
        if not self.at_punct("("):
            self.accept_punct("-")
            self.next()
            return self.text[start.start : self.tokens[self.pos - 1].end]
        self.skip_group()
        return self.text[start.start : self.tokens[self.pos - 1].end]

    def skip_group(self) -> None:
        """Consume a balanced ``( ... )``."""
        self.expect_punct("(")
        depth = 1
        while depth:
            token = self.next()
            if token.kind is TokenKind.EOF:
                raise self.error(token)
            if token.is_punct("("):
                depth += 1
            elif token.is_punct(")"):
                depth -= 1

    def properties(
        self,
        readers: Mapping[str, Callable[[Parser], Any]],
        *,
        separators: bool = False,
        other: Callable[[Parser], Any] | None = None,
    ) -> dict[str, Any]:
        """``KEY = value`` pairs in any order, until a token that does not start one.

        ``readers`` say how each known key's value is read; ``other`` (when given) reads the value of any other
        ``KEY =`` pair (task session parameters). A key given twice is a syntax error, as in Snowflake.
        """
        values: dict[str, Any] = {}
        while True:
            if separators:
                self.accept_punct(",")
            token = self.peek()
            if token.kind is not TokenKind.IDENT or not self.peek(1).is_punct("="):
                return values
            reader = readers.get(token.value, other)
            if reader is None:
                return values
            if token.value in values:
                raise self.error(token)
            self.pos += 2
            values[token.value] = reader(self)


def boolean(parser: Parser) -> bool:
    return parser.expect_boolean()


def string(parser: Parser) -> str:
    return parser.expect_string()


def integer(parser: Parser) -> int:
    return parser.expect_integer()


def word(parser: Parser) -> str:
    return parser.expect_word()


def string_or_word(parser: Parser) -> str:
    return parser.expect_string_or_word()


def string_list(parser: Parser) -> list[str]:
    return parser.expect_string_list()


def name(parser: Parser) -> RawName:
    return parser.expect_name()


def raw_value(parser: Parser) -> str:
    return parser.expect_raw_value()


def parse_name_text(text: str) -> RawName:
    """A name written inside a string literal (``'DB.SCHEMA."my stream"'``), as SYSTEM$ functions take it."""
    parser = Parser(text)
    raw = parser.expect_name()
    parser.expect_end()
    return raw
