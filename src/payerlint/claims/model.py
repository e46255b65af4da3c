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


class Node(dict):
    """A claim object with its JSON pointer (`ptr`), and `defaulted`: the members the
    claim left out and the schema's default filled in (a fix that appends to one must add
    the whole member instead: it is not in the claim)."""

    __slots__ = ("ptr", "defaulted")


def _schema() -> dict:
    return json.loads(resources.files("payerlint.schemas").joinpath("claim.schema.json").read_text(encoding="utf-8"))


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


def _not_whole(ptr):
    # JSON Schema counts 2.0 as an integer; a claim's counts are read exactly, so a
    # decimal point where a whole number belongs is refused rather than rounded.
    raise ClaimValueError(ptr, "expected a whole number", "write it without a decimal point")


def _deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].split("/")[-1]]
    return node


def _types(node: dict) -> list:
    types = node.get("type")
    return types if isinstance(types, list) else [types]


class _ModelGen:
    """Generates one converter function per object of the claim schema, as straight-line
    Python: each field that needs a type (a date, money, a whole number, a list of
    objects, a default) is handled by name, and everything else is copied by the C code
    of `dict`. About three times faster than walking a table of converters."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.defs: list[str] = []
        self.ns: dict = {"Node": Node, "Decimal": Decimal, "_to_date": _to_date, "_not_whole": _not_whole}
        self.count = 0

    def value(self, node: dict, var: str, ptr: str, indent: str) -> tuple[list[str], bool] | None:
        """(statements converting `var`, whether they give it a new value), or None when
        the value is kept as it is. `ptr` is a Python expression for its JSON pointer."""
        node = _deref(self.schema, node)
        types = _types(node)
        if "object" in types:
            return [f"{indent}{var} = {self.object(node)}({var}, {ptr})"], True
        if "array" in types:
            item = _deref(self.schema, node.get("items", {}))
            if "object" in _types(item):
                fn = self.object(item)
                return [f"{indent}if {var}.__class__ is list:",
                        f"{indent}    {var} = [{fn}(x, {ptr} + '/' + str(i), i) for i, x in enumerate({var})]"], True
            inner = self.value(item, "x", f"{ptr} + '/' + str(i)", indent + "        ")
            if inner is None:
                return None
            statements, changes = inner
            if not changes:  # only checked: the list stays as it is
                return [f"{indent}if {var}.__class__ is list:", f"{indent}    for i, x in enumerate({var}):",
                        *statements], False
            return [f"{indent}if {var}.__class__ is list:", f"{indent}    items = []",
                    f"{indent}    for i, x in enumerate({var}):", *statements, f"{indent}        items.append(x)",
                    f"{indent}    {var} = items"], True
        kind = node.get("x-payerlint-type")
        if kind == "date":
            return [f"{indent}if {var}.__class__ is str:", f"{indent}    {var} = _to_date({var}, {ptr})"], True
        if kind == "money":
            return [f"{indent}if {var}.__class__ is str:", f"{indent}    {var} = Decimal({var})"], True
        if kind in ("integer", "minutes"):
            return [f"{indent}if {var}.__class__ is float:", f"{indent}    _not_whole({ptr})"], False
        return None

    def object(self, node: dict) -> str:
        self.count += 1
        fn = f"_object{self.count}"
        body = [f"def {fn}(value, ptr, index=None):", "    if value.__class__ is not dict:",
                "        return value  # null stays null", "    out = Node(value)", "    out.ptr = ptr",
                "    if index is not None:", "        out['index'] = index  # its position, for fix paths", "    defaulted = ()"]
        for key, sub in (node.get("properties") or {}).items():
            resolved = _deref(self.schema, sub)
            convert = self.value(sub, "v", f"ptr + {('/' + key)!r}", "        ")
            if convert is not None:
                statements, changes = convert
                body += [f"    v = value.get({key!r})", "    if v is not None:", *statements]
                if changes:
                    body += [f"        out[{key!r}] = v"]
            if "default" in resolved:
                # A literal makes a new list (or dict) each time: no two claims share one.
                body += [f"    if {key!r} not in value:", f"        out[{key!r}] = {resolved['default']!r}",
                         f"        defaulted += ({key!r},)"]
        body += ["    out.defaulted = defaulted"]
        self.defs.append("\n".join(body + ["    return out"]))
        return fn


@lru_cache(maxsize=1)
def _claim_converter():
    gen = _ModelGen(_schema())
    root = gen.object(gen.schema)
    source = "\n\n".join(gen.defs)
    exec(compile(source, "<payerlint claim model>", "exec"), gen.ns)  # noqa: S102 - generated from the schema
    convert = gen.ns[root]
    convert.source = source
    return convert


class Claim:
    """A claim ready for evaluation: typed values, lines with index and date, and the
    lines grouped by date of service and by code and date (built when first asked).

    Built from a claim the schema accepted; raises `ClaimValueError` (with the JSON
    pointer) for the few values the schema cannot rule out."""

    __slots__ = ("root", "lines", "one_date", "_days", "_groups")

    def __init__(self, data: dict):
        root = _claim_converter()(data, "")
        self.root: Node = root
        service_date = root.get("date_of_service")
        lines = root.get("lines") or []
        one_date = True
        for line in lines:
            if "date" not in line:
                line["date"] = service_date
            elif line["date"] != service_date:
                one_date = False
            if "date_through" in line and line["date_through"] < line["date"]:
                raise ClaimValueError(
                    f"/lines/{line['index']}/date_through",
                    f"the line ends before it starts: date_through {line['date_through'].isoformat()} is earlier than "
                    f"its date {line['date'].isoformat()}",
                    "a line's service runs from its date to its date_through: correct one of them")
        born = (root.get("patient") or {}).get("birth_date")
        if born is not None and service_date is not None and born > service_date:
            raise ClaimValueError(
                "/patient/birth_date",
                f"the patient's birth date {born.isoformat()} is after the date of service {service_date.isoformat()}",
                "correct the birth date or the date of service")
        self.lines: list[Node] = lines
        self.one_date = service_date if one_date and lines else None
        """The date of every line, when they all have the claim's date of service (most
        claims): routing then needs no walk of the lines."""
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
        part.one_date = self.one_date if part.lines else None
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
