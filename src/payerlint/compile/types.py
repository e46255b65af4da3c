"""The types of rulebook values, and the type of a claim read from the claim schema.

Scalars: boolean, integer, decimal, money, minutes, days, date, text, code.
Containers: list of T, objects (claim parts, lines, table rows, a date of service),
and the rulebook's own collections (code sets, phrase sets, tables).

The claim's shape is not written here twice: `claim_type()` reads it from the JSON Schema
shipped in the package, guided by each value's `x-payerlint-type`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Type:
    name: str
    item: "Type | None" = None
    """Element type of a list."""
    object: "ObjectType | None" = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.name == "list" and self.item is not None:
            return f"list of {self.item}"
        if self.object is not None:
            return self.object.label
        return self.name


@dataclass(frozen=True, slots=True)
class ObjectType:
    """A record with named fields: a claim part, a line, a table row."""

    name: str
    label: str
    """How messages name it: 'a claim line', 'a row of table ncci_ptp'."""
    fields: tuple[tuple[str, Type], ...]

    def field_type(self, name: str) -> Type | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def field_names(self) -> list[str]:
        return [key for key, _ in self.fields]


BOOLEAN = Type("boolean")
INTEGER = Type("integer")
DECIMAL = Type("decimal")
MONEY = Type("money")
MINUTES = Type("minutes")
DAYS = Type("days")
DATE = Type("date")
TEXT = Type("text")
CODE = Type("code")
CODESET = Type("codeset")
PHRASES = Type("phrases")
TABLE = Type("table")
UNKNOWN = Type("unknown")
"""Given to an expression that already has an error, so one mistake is reported once."""
EMPTY_LIST = Type("list", UNKNOWN)

SCALARS = {t.name: t for t in (BOOLEAN, INTEGER, DECIMAL, MONEY, MINUTES, DAYS, DATE, TEXT, CODE)}
PARAM_TYPES = ("money", "integer", "decimal", "minutes", "days", "date", "text", "code", "boolean")
COLUMN_TYPES = ("code", "text", "integer", "decimal", "money", "minutes", "date", "boolean")

# Integers count things, minutes and days are integers with a unit: an integer literal
# may stand for either, but minutes and days never mix with each other or with money.
NUMERIC = {"integer", "decimal", "money", "minutes", "days"}


def list_of(item: Type) -> Type:
    return Type("list", item)


def object_type(obj: ObjectType) -> Type:
    return Type("object:" + obj.name, None, obj)


def is_list(t: Type) -> bool:
    return t.name == "list"


def is_object(t: Type) -> bool:
    return t.object is not None


def is_texty(t: Type) -> bool:
    return t.name in ("text", "code")


def comparable(a: Type, b: Type) -> bool:
    """Whether `a = b` and `a < b` make sense."""
    if UNKNOWN in (a, b):
        return True
    if a == b:
        return True
    if is_texty(a) and is_texty(b):
        return True
    # A count and a decimal compare; amounts, minutes and days only with their own kind
    # (a bare number written in the rule adapts: see resolve._binary).
    return {a.name, b.name} == {"integer", "decimal"}


def unify(a: Type, b: Type) -> Type | None:
    """The type of a value that is either `a` or `b` (if/else, otherwise, list items)."""
    if a == UNKNOWN:
        return b
    if b == UNKNOWN or a == b:
        return a
    if is_texty(a) and is_texty(b):
        return TEXT
    if is_list(a) and is_list(b):
        inner = unify(a.item or UNKNOWN, b.item or UNKNOWN)
        return list_of(inner) if inner else None
    if comparable(a, b) and a.name in NUMERIC and b.name in NUMERIC:
        # The unit wins over a bare integer: 15 otherwise minutes -> minutes.
        return a if a.name != "integer" else b
    return None


# ------------------------------------------------------------------ the claim, from its schema


def _schema() -> dict:
    return json.loads(resources.files("payerlint.schemas").joinpath("claim.schema.json").read_text(encoding="utf-8"))


def _deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = schema["definitions"][name]
    return node


def _from_schema(schema: dict, node: dict, name: str, label: str) -> Type:
    node = _deref(schema, node)
    kind = node.get("x-payerlint-type")
    node_type = node.get("type")
    types = node_type if isinstance(node_type, list) else [node_type]
    if "object" in types:
        fields = tuple(
            (key, _from_schema(schema, sub, key, _label(key)))
            for key, sub in node.get("properties", {}).items()
        )
        for key, sub in node.get("properties", {}).items():
            if _deref(schema, sub).get("x-payerlint-private") or sub.get("x-payerlint-private"):
                PRIVATE.add((name, key))
        return object_type(ObjectType(name, label, fields))
    if "array" in types:
        items = _deref(schema, node.get("items", {}))
        if items.get("type") == "object" or "properties" in items:
            inner = _from_schema(schema, items, _singular(name), _label(_singular(name)))
            # Every object in a list knows its position, so a fix can name its path.
            obj = inner.object
            inner = object_type(ObjectType(obj.name, obj.label, obj.fields + (("index", INTEGER),)))
        else:
            inner = SCALARS.get(items.get("x-payerlint-type", "text"), TEXT)
        return list_of(inner)
    return SCALARS.get(kind or "text", TEXT)


def _singular(name: str) -> str:
    return {"lines": "line", "interventions": "intervention", "diagnoses": "diagnosis"}.get(name, name)


def _label(name: str) -> str:
    return {"line": "a claim line", "intervention": "a documented intervention"}.get(name, f"the claim's {name}")


PRIVATE: set[tuple[str, str]] = set()
"""(object, field) pairs the schema marks `x-payerlint-private`: patient data that a
rule's message must never show (messages end up in logs and other systems)."""


def is_private(object_name: str, field_name: str) -> bool:
    claim_type()  # reading the schema fills PRIVATE
    return (object_name, field_name) in PRIVATE


@lru_cache(maxsize=1)
def claim_type() -> ObjectType:
    schema = _schema()
    root = _from_schema(schema, schema, "claim", "the claim")
    assert root.object is not None
    return root.object


@lru_cache(maxsize=1)
def line_object() -> ObjectType:
    """A claim line as rules see it: the schema's fields plus its 0-based `index` and its
    effective `date` (the line's own date, or the claim's date of service)."""
    base = claim_type().field_type("lines")
    assert base is not None and base.item is not None and base.item.object is not None
    fields = dict(base.item.object.fields)
    fields["date"] = DATE
    return ObjectType("line", "a claim line", tuple(fields.items()))


def line_type() -> Type:
    return object_type(line_object())


def claim_fields() -> dict[str, Type]:
    """Top-level claim fields as rules see them; `lines` is a list of lines with index and date."""
    fields = dict(claim_type().fields)
    fields["lines"] = list_of(line_type())
    return fields


def row_type(table: str, columns: tuple[tuple[str, Type], ...]) -> Type:
    return object_type(ObjectType("row:" + table, f"a row of table {table}", columns))
