"""A validated claim as the evaluator reads it.

JSON values become typed values once per claim (ISO dates -> `date`, money strings ->
`Decimal`), following the schema's `x-payerlint-type`; arrays the schema gives a default
(`modifiers`, `diagnosis_pointers`) get it when absent. Every object becomes a `Node`: a
dict that knows its own JSON pointer, so a rule reading an absent field can name it
(`/lines/2/minutes`). Absent stays absent and null stays null: a rule tells them apart
with `is missing` (absent or null) versus reading the value (then 'not evaluated').

Each object in a list gets `index` (its 0-based position); each line also gets `date` (its own date, else the claim's date of
service), which rules read like any other field.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, Callable


class Node(dict):
    """A claim object with its JSON pointer."""

    __slots__ = ("ptr", "defaulted")

    def __init__(self, ptr: str, *args):
        super().__init__(*args)
        self.ptr = ptr
        self.defaulted: tuple[str, ...] = ()
        """Members the claim left out and the schema's default filled in (a fix that
        appends to one must add the whole member instead: it is not in the claim)."""


def _schema() -> dict:
    return json.loads(resources.files("payerlint.schemas").joinpath("claim.schema.json").read_text(encoding="utf-8"))


Converter = Callable[[Any, str], Any]


class ClaimValueError(ValueError):
    """A value the schema's screen let through that the claim model cannot hold: a date
    with year 0000, or a whole number written with a decimal point (`2.0`). JSON Schema
    cannot say either; the model is where each value gets its type, so it says it here."""

    def __init__(self, pointer: str, message: str, note: str):
        super().__init__(message)
        self.pointer = pointer
        self.message = message
        self.note = note


def _to_date(value, ptr):
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ClaimValueError(ptr, "expected a date like 2026-05-14",
                              "that day does not exist on the calendar (years run from 0001)") from None


def _to_integer(value, ptr):
    if type(value) is float:
        # JSON Schema counts 2.0 as an integer; a claim's counts are read exactly, so a
        # decimal point where a whole number belongs is refused rather than rounded.
        raise ClaimValueError(ptr, "expected a whole number", "write it without a decimal point")
    return value


def _scalar(kind: str | None) -> Converter | None:
    if kind == "date":
        return _to_date
    if kind == "money":
        return lambda value, ptr: Decimal(value) if isinstance(value, str) else value
    if kind in ("integer", "minutes"):
        return _to_integer
    return None


def _build(schema: dict, node: dict) -> Converter | None:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].split("/")[-1]]
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        fields = []
        for key, sub in node.get("properties", {}).items():
            default = _deref(schema, sub).get("default")
            fields.append((key, _build(schema, sub), default))
        return _object(fields)
    if "array" in types:
        inner = _build(schema, node.get("items", {}))
        if inner is None:
            return lambda value, ptr: list(value) if isinstance(value, list) else value
        def convert_list(value, ptr):
            if not isinstance(value, list):
                return value
            out = [inner(v, f"{ptr}/{i}") for i, v in enumerate(value)]
            for i, item in enumerate(out):
                if isinstance(item, Node):
                    item["index"] = i  # its position, for fix paths
            return out
        return convert_list
    return _scalar(node.get("x-payerlint-type"))


def _deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].split("/")[-1]]
    return node


def _object(fields: list[tuple[str, Converter | None, Any]]) -> Converter:
    # Only the members that need converting are visited by name; the rest are copied as
    # they are (a validated claim has no others but `x-` extensions, copied too).
    converters = {key: converter for key, converter, _ in fields if converter is not None}
    defaults = tuple((key, default) for key, _, default in fields if default is not None)

    def convert(value, ptr):
        if not isinstance(value, dict):
            return value  # null stays null
        out = Node(ptr, value)
        for key, converter in converters.items():
            item = value.get(key)
            if item is not None:
                out[key] = converter(item, f"{ptr}/{key}")
        for key, default in defaults:
            if key not in value:
                out[key] = list(default) if isinstance(default, list) else default
                out.defaulted += (key,)
        return out

    return convert


@lru_cache(maxsize=1)
def _claim_converter() -> Converter:
    schema = _schema()
    converter = _build(schema, schema)
    assert converter is not None
    return converter


class Claim:
    """A claim ready for evaluation: typed values, lines with index and date, and the
    lines grouped by date of service and by code and date (built when first asked).

    Built from a claim the schema accepted; raises `ClaimValueError` (with the JSON
    pointer) for the few values the schema cannot rule out."""

    __slots__ = ("root", "lines", "_days", "_groups")

    def __init__(self, data: dict):
        root = _claim_converter()(data, "")
        self.root: Node = root
        service_date = root.get("date_of_service")
        lines = root.get("lines") or []
        for line in lines:
            if "date" not in line:
                line["date"] = service_date
        self.lines: list[Node] = lines
        self._days: dict | None = None
        self._groups: list | None = None

    def subset(self, indexes) -> "Claim":
        """The same claim with only some of its lines in scope (they keep their index and
        JSON pointer): what a rulebook for one quarter checks of a claim spanning two.
        Rules still read every line through `all_lines`; `lines` and the per-line, per-pair,
        per-date and per-code scopes see only these."""
        part = Claim.__new__(Claim)
        part.root = self.root
        part.lines = [self.lines[i] for i in indexes]
        part._days, part._groups = None, None
        return part

    @property
    def days(self) -> dict[date, list[Node]]:
        """Lines by date of service, dates in order."""
        if self._days is None:
            days: dict = {}
            for line in self.lines:
                days.setdefault(line["date"], []).append(line)
            self._days = dict(sorted(days.items()))
        return self._days

    @property
    def groups(self) -> list[tuple[str, date, list[Node]]]:
        """(code, date, lines) for each code billed on each date, by date then first line."""
        if self._groups is None:
            groups: dict = {}
            for day, lines in self.days.items():
                for line in lines:
                    groups.setdefault((line["code"], day), []).append(line)
            self._groups = [(code, day, lines) for (code, day), lines in groups.items()]
        return self._groups
