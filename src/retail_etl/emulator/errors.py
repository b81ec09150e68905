"""Snowflake's errors, with the error code and SQLSTATE the real service reports.

The text after the code follows the connector's ``<code> (<sqlstate>): <message>`` form, on one line.
"""

from __future__ import annotations

from retail_etl.targets.session import SessionError


class EmulatorError(SessionError):
    """A statement the emulated account refused, exactly as Snowflake would refuse it."""

    def __init__(self, code: str, sqlstate: str, message: str) -> None:
        self.code = code
        self.sqlstate = sqlstate
        self.message = message
        super().__init__(f"{code} ({sqlstate}): {message}")


def _line_and_position(text: str, offset: int) -> tuple[int, int]:
    """Snowflake counts lines from 1 and positions within the line from 0."""
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1)


def syntax_error(text: str, offset: int, found: str) -> EmulatorError:
    line, position = _line_and_position(text, offset)
    return EmulatorError(
        "001003",
        "42000",
        f"SQL compilation error: syntax error line {line} at position {position} unexpected '{found}'.",
    )


def invalid_identifier(text: str, offset: int, name: str) -> EmulatorError:
    line, position = _line_and_position(text, offset)
    return EmulatorError(
        "000904",
        "42000",
        f"SQL compilation error: error line {line} at position {position} invalid identifier '{name}'",
    )


def already_exists(name: str) -> EmulatorError:
    return EmulatorError("002002", "42710", f"SQL compilation error: Object '{name}' already exists.")


def does_not_exist(name: str) -> EmulatorError:
    return EmulatorError("002003", "02000", f"SQL compilation error: Object '{name}' does not exist or not authorized.")


def duplicate_column(name: str) -> EmulatorError:
    return EmulatorError("002025", "42S21", f"SQL compilation error: duplicate column name '{name}'")


def column_count_mismatch(expected: int, found: int) -> EmulatorError:
    return EmulatorError(
        "002020",
        "21S01",
        f"SQL compilation error: Insert value list does not match column list expecting {expected} but got {found}",
    )


def missing_options(names: list[str]) -> EmulatorError:
    # Observed by the Terraform provider for CREATE STORAGE INTEGRATION without ENABLED (reference §1.1).
    return EmulatorError("002029", "42601", f"SQL compilation error: Missing option(s): {', '.join(names)}")


def cannot_change_column(column: str, before: str, after: str, reason: str | None) -> EmulatorError:
    because = f" because {reason}" if reason else ""
    return EmulatorError(
        "002108",
        "22000",
        f'SQL compilation error: cannot change column {column} from type "{before}" to "{after}"{because}.',
    )


def root_task_not_suspended(root: str) -> EmulatorError:
    return EmulatorError(
        "091072", "22000", f"Unable to update graph with root task {root} since that root task is not suspended."
    )


def no_current(container: str, operation: str) -> EmulatorError:
    """An unqualified name with no current database (090105) or schema (090106) to resolve it in."""
    code = "090105" if container == "database" else "090106"
    return EmulatorError(
        code,
        "22000",
        f"Cannot perform {operation}. This session does not have a current {container}. Call 'USE "
        f"{container.upper()}', or use a qualified name.",
    )


def statement_count(found: int) -> EmulatorError:
    return EmulatorError(
        "000008", "0A000", f"Actual statement count {found} did not match the desired statement count 1."
    )


def unsupported_type(name: str) -> EmulatorError:
    return EmulatorError("002040", "42601", f"SQL compilation error: Unsupported data type '{name}'.")


def invalid_parameter_value(parameter: str, value: object) -> EmulatorError:
    """A parameter value Snowflake's compiler rejects (an unparsable schedule, a retention out of range)."""
    return EmulatorError(
        "002000", "42601", f"SQL compilation error: invalid value [{value}] for parameter '{parameter}'"
    )
