"""Jinja rendering of Snowflake DDL. Every value from a spec reaches SQL through one of the filters below.

Templates live in ``sql_templates/<kind>.sql.j2``; each defines the macros ``create`` (and, where the kind
supports in-place changes, ``alter``). Output is deterministic: the same object renders the same bytes.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from retail_etl.identifiers import Identifier, QualifiedName, dollar_quoted, parse_qualified, sql_literal


def _template_dir() -> Path:
    override = os.environ.get("RETAIL_ETL_TEMPLATES")
    if override:
        return Path(override)
    # Installed in editable mode from the repository: sql_templates/ sits next to src/.
    return Path(__file__).resolve().parents[2] / "sql_templates"


def ident(value: Any) -> str:
    """An identifier (or dotted name): validated, quoted when needed."""
    if isinstance(value, Identifier | QualifiedName):
        return value.sql
    if isinstance(value, str):
        return parse_qualified(value).sql if "." in value and not value.startswith('"') else Identifier.parse(value).sql
    raise TypeError(f"cannot render {type(value).__name__} as an identifier")


def literal(value: Any) -> str:
    return sql_literal(value)


def js_string(value: Any) -> str:
    """A JavaScript string literal that cannot end a ``$$`` body (``$`` is written as ``\\u0024``)."""
    return json.dumps(str(value)).replace("$", "\\u0024")


def js_lines(value: Any) -> str:
    """Multi-line text as a JavaScript array of line strings joined by newlines: readable in DESC PROCEDURE and
    in plan diffs, and, like :func:`js_string`, unable to end the ``$$`` body."""
    lines = str(value).split("\n")
    return "[\n" + ",\n".join("  " + js_string(line) for line in lines) + "\n].join(\"\\n\")"


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
    )
    env.filters.update(
        ident=ident,
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


def has_macro(template: str, macro: str) -> bool:
    return hasattr(environment().get_template(template).module, macro)
