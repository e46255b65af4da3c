"""Runtime signals and value formatting shared by the evaluator's parts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from payerlint.compile.types import Type


class Unknown(Exception):
    """A value could not be determined. Three-valued logic catches it: `false and
    unknown` is false, `true or unknown` is true; anything else stays unknown."""

    __slots__ = ()


class Missing(Unknown):
    """The claim does not carry a value a rule reads: the rule is 'not evaluated'."""

    __slots__ = ("pointer", "null")

    def __init__(self, pointer: str, null: bool = False):
        super().__init__(pointer)
        self.pointer = pointer or "/"
        self.null = null
        """True when the value is present as null (known empty) rather than absent."""


class NoData(Unknown):
    """A table has no row for a key (or an empty optional cell), or a computation has no
    answer (the minimum of nothing, division by zero). A condition that needs it cannot
    hold, so the rule does not fire; this is about the rulebook's data, not the claim."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _NoRow:
    """The result of looking up a key a table does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_ROW"


NO_ROW = _NoRow()


class _Unset:
    __slots__ = ()


UNSET = _Unset()
"""A `with` binding not computed yet (bindings are computed when first read)."""


def row_column(row, index: int, table: str, column: str):
    """A column of a looked-up row; no row, or an empty cell, means the condition cannot hold."""
    if row is NO_ROW:
        raise NoData(f"table {table} has no row for this key")
    value = row[index]
    if value is None:
        raise NoData(f"column {column} of table {table} is empty in this row")
    return value


def shift_date(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        # Past 9999-12-31 or before year 1: a date no rule can compare with.
        raise NoData("the date falls outside the calendar") from None


def divide(a, b) -> Decimal:
    """Exact decimal division; by zero there is no answer."""
    try:
        return Decimal(a) / Decimal(b)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        raise NoData("division by zero") from None


def blank(value: Any) -> bool:
    """`is blank`: absent, null, no row, empty (or all-space) text, or an empty list."""
    if value is None or value is NO_ROW:
        return True
    return (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, tuple)) and not value)


def absence_verdict(value: Any, test: str, negated: bool) -> bool:
    """`is missing|present|blank|null` (or `is not ...`) for a value already read; None
    stands for absent or null, NO_ROW for a table key with no row."""
    if test == "null":
        return (value is None) != negated
    if value is None or value is NO_ROW:
        result = True
    elif test == "blank":
        result = (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, tuple)) and not value)
    else:
        result = False
    if test == "present":
        result = not result
    return result != negated


def format_value(value: Any, type_: Type | None = None) -> str:
    """How a value reads inside a message."""
    cls = value.__class__
    if cls is str:
        return value  # most placeholders are codes and text: no other test applies
    kind = type_.name if type_ is not None else None
    if cls is int and kind != "money":
        return str(value)
    if value is None:
        return "(not given)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "money" and isinstance(value, (Decimal, int)):
        return f"${Decimal(value):,.2f}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        item = type_.item if type_ is not None and type_.name == "list" else None
        return ", ".join(format_value(v, item) for v in value) if value else "(none)"
    if isinstance(value, dict) and "index" in value and "code" in value:
        return f"line {value['index']} ({value['code']})"
    if value is NO_ROW:
        return "(no row)"
    return str(value)


def to_json(value: Any, type_: Type | None = None) -> Any:
    """A value as it is written in a claim (for fix values): money and dates as strings."""
    kind = type_.name if type_ is not None else None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        if kind == "money":
            return f"{value:.2f}"
        return int(value) if value == value.to_integral_value() and kind in ("integer", "minutes", "days") else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        item = type_.item if type_ is not None and type_.name == "list" else None
        return [to_json(v, item) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if k not in ("index",)}
    return value
