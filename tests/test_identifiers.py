"""identifiers.py against the Snowflake reference: §14.1 identifiers, §14.2 reserved words, §14.3 string literals."""

from __future__ import annotations

import pytest

from retail_etl.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    RESERVED_WORDS,
    Identifier,
    IdentifierError,
    QualifiedName,
    dollar_quoted,
    parse_qualified,
    split_qualified,
    sql_literal,
)

# --- a literal reader with Snowflake's rules (§14.3), to prove what the server would decode --------------------

_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def read_literal(text: str, start: int = 0) -> tuple[str, int]:
    """Decode the single-quoted literal opening at ``start``; return its value and the index just past it.

    Both rules of §14.3 are active: ``''`` is a quote, and backslash sequences (``\\'``, ``\\\\``, ``\\n``, ``\\ooo``,
    ``\\xhh``, ``\\uhhhh``, ...) are decoded; a backslash before any other character is dropped.
    """
    assert text[start] == "'", f"no literal at {start}: {text[start : start + 20]!r}"
    out: list[str] = []
    i = start + 1
    while True:
        if i >= len(text):
            raise AssertionError(f"unterminated literal from {start}: {text[start : start + 60]!r}")
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                raise AssertionError("literal ends in a lone backslash")
            following = text[i + 1]
            if all(c in _OCTAL for c in text[i + 1 : i + 4]) and len(text[i + 1 : i + 4]) == 3:
                out.append(chr(int(text[i + 1 : i + 4], 8)))
                i += 4
            elif following == "x" and len(text[i + 2 : i + 4]) == 2 and all(c in _HEX for c in text[i + 2 : i + 4]):
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
            elif following == "u" and len(text[i + 2 : i + 6]) == 4 and all(c in _HEX for c in text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
            else:
                out.append(_SIMPLE_ESCAPES.get(following, following))
                i += 2
        elif char == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(char)
            i += 1


def decode(literal: str) -> str:
    """The value of a complete literal; fails unless the literal ends exactly at the last character."""
    value, end = read_literal(literal)
    assert end == len(literal), f"the literal ends at {end}, before the end of {literal!r}"
    return value


# --- §14.1 canonicalization ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored", "sql"),
    [
        ("customer", "CUSTOMER", "CUSTOMER"),
        ("Customer_2", "CUSTOMER_2", "CUSTOMER_2"),
        ("_x$1", "_X$1", "_X$1"),
        ('"My Table"', "My Table", '"My Table"'),
        ('"customer"', "customer", '"customer"'),
        ('"CUSTOMER"', "CUSTOMER", "CUSTOMER"),  # an upper-case quoted name is the unquoted name
        ('"quote""andunquote"""', 'quote"andunquote"', '"quote""andunquote"""'),  # the reference's own example
        ('my"name', 'my"name', '"my""name"'),
        ("My Table", "My Table", '"My Table"'),
        ("1st", "1st", '"1st"'),
        ("a-b", "a-b", '"a-b"'),
        ("a.b", "a.b", '"a.b"'),
        ("select", "select", '"select"'),  # reserved: quoted, exact case (deployer rule, §14.1)
        ("SELECT", "SELECT", '"SELECT"'),
        ('"select"', "select", '"select"'),
        ("current_role", "current_role", '"current_role"'),
        ("Ünïcode", "Ünïcode", '"Ünïcode"'),
        ("c$$x", "C$$X", '"C$$X"'),  # a bare $$ would open a dollar-quoted body for script splitters
    ],
)
def test_parse_canonicalizes_per_reference(written: str, stored: str, sql: str) -> None:
    identifier = Identifier.parse(written)
    assert identifier.stored == stored
    assert identifier.sql == sql
    assert str(identifier) == sql


def test_every_reserved_word_is_quoted_in_any_case() -> None:
    for word in sorted(RESERVED_WORDS):
        for written in (word, word.lower(), word.title()):
            identifier = Identifier.parse(written)
            assert identifier.stored == written
            assert identifier.sql == f'"{written}"'
            assert not identifier.is_plain


@pytest.mark.parametrize(
    "written",
    ["a\nb", "tab\there", "nul\x00", "del\x7f", "cr\r", '"quoted\nnewline"', "nel\x85", "line\u2028sep", "para\u2029"],
)
def test_control_characters_and_line_separators_are_rejected(written: str) -> None:
    with pytest.raises(IdentifierError, match="control character"):
        Identifier.parse(written)


@pytest.mark.parametrize("written", ["", '""'])
def test_empty_names_are_rejected(written: str) -> None:
    with pytest.raises(IdentifierError, match="empty"):
        Identifier.parse(written)


@pytest.mark.parametrize("written", ['"a"b"', '"""', '"x"y"z"'])
def test_a_quoted_name_with_an_undoubled_quote_is_rejected(written: str) -> None:
    with pytest.raises(IdentifierError, match="doubled"):
        Identifier.parse(written)


def test_length_limit_is_255_characters_quoted_or_not() -> None:
    assert len(Identifier.parse("A" * MAX_IDENTIFIER_LENGTH).stored) == 255
    assert Identifier.parse('"' + "b" * 255 + '"').stored == "b" * 255
    with pytest.raises(IdentifierError, match="longer than 255"):
        Identifier.parse("A" * 256)
    with pytest.raises(IdentifierError, match="longer than 255"):
        Identifier.parse('"' + "b" * 256 + '"')
    # The limit is on the name, not on its quoted SQL form: 255 quotes double to 510 characters plus 2.
    assert len(Identifier.parse('"' + '""' * 255 + '"').sql) == 512


def test_a_stored_name_with_a_trailing_newline_is_never_rendered_bare() -> None:
    # ``$`` in a regex matches before a final newline; the unquoted check must not.
    identifier = Identifier("ABC\n")
    assert not identifier.is_plain
    assert identifier.sql == '"ABC\n"'


@pytest.mark.parametrize(
    ("stored", "sql"),
    [("CUSTOMER", "CUSTOMER"), ("customer", '"customer"'), ("My Table", '"My Table"'), ('x"y', '"x""y"')],
)
def test_stored_names_render_back_exactly(stored: str, sql: str) -> None:
    # What SHOW returns in "name" renders to the same object, and parsing that SQL gives the stored name back.
    assert Identifier(stored).sql == sql
    assert Identifier.parse(sql).stored == stored


# --- qualified names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("db.sch.tbl", ["db", "sch", "tbl"]),
        ('A."b.c".D', ["A", '"b.c"', "D"]),
        ('"x""y".z', ['"x""y"', "z"]),
        ('"a.b"', ['"a.b"']),
        ("single", ["single"]),
        ('"DB"."SCHEMA"."ROOT"', ['"DB"', '"SCHEMA"', '"ROOT"']),
    ],
)
def test_split_qualified_keeps_quoted_dots(text: str, parts: list[str]) -> None:
    assert split_qualified(text) == parts


def test_split_qualified_rejects_an_unterminated_quote() -> None:
    with pytest.raises(IdentifierError, match="unterminated"):
        split_qualified('db."open.name')


def test_parse_qualified_one_to_three_parts() -> None:
    three = parse_qualified('snowlake_db.bronze."My Stage"')
    assert three == QualifiedName(
        name=Identifier("My Stage"), database=Identifier("SNOWLAKE_DB"), schema=Identifier("BRONZE")
    )
    assert three.sql == 'SNOWLAKE_DB.BRONZE."My Stage"'
    assert three.display == "SNOWLAKE_DB.BRONZE.My Stage"
    two = parse_qualified("bronze.t")
    assert (two.database, two.schema, two.name) == (None, Identifier("BRONZE"), Identifier("T"))
    one = parse_qualified("s3_bronze")
    assert one.parts == (Identifier("S3_BRONZE"),)
    assert one.sql == "S3_BRONZE"


def test_parse_qualified_round_trips_its_own_sql() -> None:
    name = QualifiedName(name=Identifier('my"stream'), database=Identifier("a.b"), schema=Identifier("select"))
    assert name.sql == '"a.b"."select"."my""stream"'
    assert parse_qualified(name.sql) == name


def test_parse_qualified_rejects_four_parts_and_bad_parts() -> None:
    with pytest.raises(IdentifierError, match="too many"):
        parse_qualified("a.b.c.d")
    with pytest.raises(IdentifierError, match="empty"):
        parse_qualified("db..t")


# --- §14.3 string literals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        # The golden cases of §14.3, verbatim.
        ("O'Brien", "'O''Brien'"),
        ("C:\\tmp", "'C:\\\\tmp'"),
        ("abc\\", "'abc\\\\'"),
        ("\\'; DROP TABLE x; --", "'\\\\''; DROP TABLE x; --'"),
        # More of the same rule.
        ("'; DROP TABLE x; --", "'''; DROP TABLE x; --'"),
        ("\\N", "'\\\\N'"),
        ("$$", "'$$'"),
        ("", "''"),
        ("line1\nline2", "'line1\\nline2'"),
        ("a\r\nb\tc", "'a\\r\\nb\\tc'"),
        ("nul\x00012", "'nul\\u0000012'"),
        # Every other control character and the Unicode line separators: \uhhhh, so no line ever breaks.
        (
            "bell\x07 vt\x0b ff\x0c nel\x85 ls\u2028 ps\u2029",
            "'bell\\u0007 vt\\u000b ff\\u000c nel\\u0085 ls\\u2028 ps\\u2029'",
        ),
        ('say "hi"', "'say \"hi\"'"),
    ],
)
def test_sql_literal_golden_cases(value: str, literal: str) -> None:
    assert sql_literal(value) == literal
    assert decode(literal) == value


def test_sql_literal_never_spans_lines_and_renders_non_strings() -> None:
    every_control = "".join(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029))
    literal = sql_literal(f"a{every_control}b")
    assert literal.splitlines() == [literal]
    assert decode(literal) == f"a{every_control}b"
    assert sql_literal(5) == "'5'"


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        "abc\\",
        "\\'; DROP TABLE x; --",
        "'; DROP TABLE x; --",
        "$$",
        "\\\\'''\\",
        "\\x41\\u0041\\101",
        "nul\x00012 then \x0012",
        "tab\t, cr\r, lf\n, bell\x07",
        "'" * 7,
        "\\" * 7,
    ],
)
def test_sql_literal_ends_exactly_where_expected(value: str) -> None:
    # Followed by more SQL: the reader must stop at the closing quote we wrote, not earlier or later.
    statement = f"COMMENT = {sql_literal(value)} AS SELECT 1"
    decoded, end = read_literal(statement, len("COMMENT = "))
    assert decoded == value
    assert statement[end:] == " AS SELECT 1"


# --- $$ bodies ---------------------------------------------------------------------------------------------------


def test_dollar_quoted_wraps_a_plain_body_on_its_own_lines() -> None:
    assert dollar_quoted("BEGIN\n  RETURN 1;\nEND;") == "$$\nBEGIN\n  RETURN 1;\nEND;\n$$"
    # Leading and trailing newlines are normalized, so the rendering is stable.
    assert dollar_quoted("\n\nRETURN 1;\n\n") == "$$\nRETURN 1;\n$$"


def test_dollar_quoted_keeps_single_dollars_apart_from_the_delimiters() -> None:
    text = dollar_quoted("$x = 1; y$")
    assert text == "$$\n$x = 1; y$\n$$"
    assert text.count("$$") == 2


@pytest.mark.parametrize(
    "body", ["RETURN '$$';", "x $$ y", "ends with $$", "$$ starts", "a\\b 'q' $$\nline2 \\'; DROP TABLE x; --"]
)
def test_dollar_quoted_falls_back_to_an_escaped_literal_when_the_body_holds_dollars(body: str) -> None:
    text = dollar_quoted(body)
    assert text.startswith("'")
    assert "\n" not in text
    assert decode(text) == "\n" + body.strip("\n") + "\n"
