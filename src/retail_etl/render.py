"""Jinja rendering of Snowflake DDL. Every value from a spec reaches SQL through one of the filters below.

Templates live in ``sql_templates/<kind>.sql.j2``; each defines the macros ``create`` (and, where the kind
supports in-place changes, ``alter``). Output is deterministic: the same object renders the same bytes.
"""

from __future__ import annotations

import os
import re
from functools import cache
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import jinja2

from retail_etl.identifiers import (
    CONTROL_CHARACTER,
    Identifier,
    QualifiedName,
    dollar_quoted,
    parse_qualified,
    sql_literal,
)

_KEYWORD = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_SQL_TYPE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?\Z")


def _template_dir() -> Path:
    override = os.environ.get("RETAIL_ETL_TEMPLATES")
    if override:
        return Path(override)
    # Installed in editable mode from the repository: sql_templates/ sits next to src/.
    return Path(__file__).resolve().parents[2] / "sql_templates"


def split_statements(text: str) -> list[str]:
    """The statements of a macro's ``;\n``-joined output, split only outside quoted names, string literals and
    ``$$`` bodies: a name read back from the account may hold ``;`` and a newline inside its quotes."""
    statements: list[str] = []
    start, index, quote = 0, 0, ""
    while index < len(text):
        if quote:
            if text.startswith(quote, index):
                doubled = quote != "$$" and text.startswith(quote, index + 1)
                index += 2 if doubled else len(quote)
                quote = "" if not doubled else quote
                continue
            index += 2 if quote == "'" and text[index] == "\\" else 1
            continue
        if text.startswith("$$", index):
            quote, index = "$$", index + 2
        elif text[index] in "'\"":
            quote, index = text[index], index + 1
        elif text.startswith(";\n", index):
            statements.append(text[start:index])
            start = index = index + 2
        else:
            index += 1
    statements.append(text[start:])
    return [statement.strip() for statement in statements if statement.strip()]


def ident(value: Any) -> str:
    """An identifier (or dotted name): validated, quoted when needed."""
    if isinstance(value, Identifier | QualifiedName):
        return value.sql
    if isinstance(value, str):
        return parse_qualified(value).sql if "." in value and not value.startswith('"') else Identifier.parse(value).sql
    raise TypeError(f"cannot render {type(value).__name__} as an identifier")


def idents(values: Any) -> list[str]:
    """:func:`ident` of every item, for ``| join``: a loop in a template costs far more per item."""
    return [ident(value) for value in values]


def stored_ident(value: Any) -> str:
    """A name already in its stored form (e.g. a column name read back from the account): quoted when needed.

    Unlike :func:`ident`, the text is not canonicalized again: a stored ``my_col`` is the quoted ``"my_col"``, not
    ``MY_COL``, and a stored ``a.b`` is one name, not two parts.
    """
    return Identifier(str(value)).sql


def literal(value: Any) -> str:
    return sql_literal(value)


def keyword(value: Any) -> str:
    """A bare SQL keyword value (``CSV``, ``AUTO``, ``SKIP_FILE``, ``JAVASCRIPT``): validated, never quoted."""
    text = str(value)
    if not _KEYWORD.match(text):
        raise ValueError(f"not a SQL keyword: {text!r}")
    return text


def sql_type(value: Any) -> str:
    """A column type such as ``VARCHAR(200)`` or ``NUMBER(38,0)``: validated, written as is."""
    return _checked_type(str(value))


@cache
def _checked_type(text: str) -> str:
    # Memoized: a large project renders the same few types tens of thousands of times.
    if not _SQL_TYPE.match(text):
        raise ValueError(f"not a column type: {text!r}")
    return text


def comment_text(value: Any) -> str:
    """Text for a ``--`` or ``//`` line comment: control characters and line separators are written as visible
    ``\\uXXXX`` so nothing after them can leave the comment."""
    return CONTROL_CHARACTER.sub(lambda match: f"\\u{ord(match.group()):04x}", str(value))


def indent_lines(value: Any, width: int = 2) -> str:
    """Jinja's ``indent`` (first line and blank lines untouched), but splitting on ``\\n`` only: ``str.splitlines``
    would also break at characters such as U+2028 or \\x0c inside a raw SQL fragment's string literal."""
    first, *rest = str(value).split("\n")
    return "\n".join([first, *((" " * width + line) if line else line for line in rest)])


def js_string(value: Any) -> str:
    """A JavaScript string literal that cannot end a ``$$`` body (``$`` is written as ``\\u0024``)."""
    # encode_basestring_ascii is json.dumps(str) without its per-call overhead (procedures have many lines).
    return encode_basestring_ascii(str(value)).replace("$", "\\u0024")


def js_lines(value: Any) -> str:
    """Multi-line text as a JavaScript array of line strings joined by newlines: readable in DESC PROCEDURE and
    in plan diffs, and, like :func:`js_string`, unable to end the ``$$`` body."""
    # One $ replacement over the whole array: the separators added here contain no $.
    strings = ",\n  ".join(map(encode_basestring_ascii, str(value).split("\n"))).replace("$", "\\u0024")
    return "[\n  " + strings + '\n].join("\\n")'


def boolean(value: Any) -> str:
    return "TRUE" if bool(value) else "FALSE"


def literal_list(values: Any) -> str:
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # SQL, not HTML: escaping is done by the filters below, per context
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.do"],
        # Templates do not change during a run: no file stat per macro call (thousands for a large project).
        auto_reload=False,
        # Compiling the templates is a fixed cost of every render (~0.1 s); the optimizer's constant folding finds
        # nothing to fold in them (the generated code is the same without it) and would add a fifth to it.
        optimized=False,
    )
    env.filters.update(
        ident=ident,
        idents=idents,
        stored_ident=stored_ident,
        keyword=keyword,
        sql_type=sql_type,
        comment_text=comment_text,
        indent_lines=indent_lines,
        literal=literal,
        bool=boolean,
        literal_list=literal_list,
        body=dollar_quoted,
        js_string=js_string,
        js_lines=js_lines,
    )
    return env


def call_macro(template: str, macro: str, *args: Any, **kwargs: Any) -> str:
    module = environment().get_template(template).module
    rendered = getattr(module, macro)(*args, **kwargs)
    return str(rendered).strip()
