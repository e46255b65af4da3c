"""The compiled form of a rulebook: resolved, typed expression trees and declarations.

This is the second and last representation (the first is the syntax tree). Every name
here is resolved: a `ParamRef` names a param that exists, a `Slot` is a frame position.
The evaluator builds closures from these trees and keeps the trees beside them, because
the quarter diff and the explanations read them. Spans are kept but ignored by equality,
so two rulebooks that differ only in layout compile to equal trees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Union

from payerlint.compile.types import Type
from payerlint.source import Span


def _span():
    return field(default=None, compare=False, repr=False)


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class Const:
    value: Any
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ParamRef:
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SetRef:
    """A code set, phrase set or table used as a value (`code in timed`)."""

    kind: str
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DefRef:
    """A definition's value. `key` says which instance: () for a claim-level definition,
    (date,) per date, (code, date) per code and date, (line,) per line."""

    name: str
    scope: str
    key: tuple["Expr", ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Slot:
    """A value held in the evaluation frame: a scope variable (`line`, `first`,
    `service_date`, `lines`), a rule's `with` binding, a loop variable, or the element of
    a `where`/`of`."""

    name: str
    index: int = field(compare=False)
    """Frame position; not part of equality, so reordering `with` bindings is no change."""
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ClaimRoot:
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetField:
    """A field of a claim object or line. Reading an absent or null field makes the rule
    'not evaluated', naming the field's JSON pointer."""

    base: "Expr"
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Lookup:
    table: str
    keys: tuple["Expr", ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RowField:
    """A column of a table row. Reading a column of a row that does not exist (or an
    empty optional cell) means the condition cannot hold: the rule does not fire."""

    base: "Expr"
    table: str
    column: str
    index: int = field(compare=False)
    """Position in the row tuple; the column name says what is read, so a column added
    to the table does not make every rule reading it look edited."""
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple["Expr", ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: "Expr"
    right: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: "Expr"
    right: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Logic:
    """`and` / `or`, with three-valued logic: an unknown operand only matters when the
    other one does not decide the answer."""

    op: str
    left: "Expr"
    right: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Negate:
    operand: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Member:
    element: "Expr"
    collection: "Expr"
    negated: bool
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Has:
    items: "Expr"
    quantifier: str
    collection: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Mentions:
    text: "Expr"
    quantifier: str
    phrases: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IsTest:
    operand: "Expr"
    test: str
    negated: bool
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Filter:
    collection: "Expr"
    slot: int = field(compare=False)
    condition: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Map:
    collection: "Expr"
    slot: int = field(compare=False)
    value: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Conditional:
    condition: "Expr"
    then: "Expr"
    otherwise: "Expr"
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple["Expr", ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Otherwise:
    """`a otherwise b`: a, or b when a is absent (from the claim) or has no table row."""

    left: "Expr"
    right: "Expr"
    type: Type
    span: Span = _span()


Expr = Union[
    Const, ParamRef, SetRef, DefRef, Slot, ClaimRoot, GetField, Lookup, RowField, Call, Arith,
    Compare, Logic, Not, Negate, Member, Has, Mentions, IsTest, Filter, Map, Conditional,
    ListLit, Otherwise,
]


# ------------------------------------------------------------------ declarations


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a declaration was written: which rulebook, which file and line."""

    rulebook: str
    span: Span = field(compare=False)
    overrides: "Origin | None" = field(default=None, compare=False)
    """The inherited declaration this one replaces, when it was written with `override`."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Type
    value: Union[int, Decimal, date, str, bool]
    citation: str | None
    origin: Origin = field(compare=False)
    choices: tuple = ()
    """The values the param may take (`one of ...`); empty when any value of its type will do."""


@dataclass(frozen=True, slots=True)
class CodeSet:
    name: str
    label: str | None
    codes: frozenset[str]
    """Every code listed or inside a listed range."""
    prefixes: tuple[str, ...]
    """`M25.6*` is kept as the prefix `M25.6`."""
    ranges: tuple[tuple[str, str], ...]
    """Ranges that could not be listed code by code (compared as text, both ends included)."""
    citation: str | None
    origin: Origin = field(compare=False)

    def members(self) -> tuple[str, ...]:
        """Every member as a sorted list of strings (prefixes with their `*`)."""
        return tuple(sorted(self.codes)) + tuple(p + "*" for p in self.prefixes) + tuple(
            f"{lo}-{hi}" for lo, hi in self.ranges)

    def __contains__(self, code: object) -> bool:
        if code in self.codes:
            return True
        if not isinstance(code, str):
            return False
        for prefix in self.prefixes:
            if code.startswith(prefix):
                return True
        for lo, hi in self.ranges:
            if len(code) == len(lo) and lo <= code <= hi:
                return True
        return False


@dataclass(frozen=True, slots=True)
class PhraseSet:
    name: str
    label: str | None
    phrases: tuple[str, ...]
    citation: str | None
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: Type
    optional: bool


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    label: str | None
    path: str
    """The CSV file, resolved against the declaring rulebook's folder."""
    keys: tuple[Column, ...]
    columns: tuple[Column, ...]
    """Key columns first, then the others; a row is a tuple in this order."""
    rows: Any = field(compare=False, repr=False)
    """Mapping from key tuple to row tuple (see compile/tables.py)."""
    citation: str | None
    origin: Origin = field(compare=False)
    row_lines: Any = field(default=None, compare=False, repr=False)
    """Mapping from key tuple to the CSV line number, for explanations."""


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    scope: str
    """claim, date, code or line."""
    expr: Expr
    type: Type
    frame_size: int = field(compare=False)
    origin: Origin = field(compare=False)
    private: str | None = field(default=None, compare=False)
    """The patient-data field its value derives from (compile/privacy.py), if any."""


@dataclass(frozen=True, slots=True)
class Binding:
    name: str
    slot: int = field(compare=False)
    expr: Expr
    private: str | None = field(default=None, compare=False)
    """The patient-data field its value derives from (compile/privacy.py), if any."""


@dataclass(frozen=True, slots=True)
class Template:
    """A message or fix path with `{placeholders}`: literal text and expressions in turn."""

    parts: tuple[Union[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class Fix:
    op: str
    path: Template
    value: Expr | None
    loop_slot: int | None = field(default=None, compare=False)
    loop_over: Expr | None = None


@dataclass(frozen=True, slots=True)
class Denial:
    """What a payer's remittance (X12 835, CAS segment) says when it denies on a rule's
    ground: the claim adjustment group code, the reason code (CARC) and any remark codes
    (RARC). A prediction written in the rulebook, compared by value in the quarter diff."""

    group: str
    reason: str
    remarks: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.group}-{self.reason}" + (f" (remark {', '.join(self.remarks)})" if self.remarks else "")

    def to_json(self) -> dict:
        return {"group": self.group, "reason": self.reason, "remarks": list(self.remarks)}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    scope: str
    """claim, line, pair, date or code."""
    category: str
    severity: str
    bindings: tuple[Binding, ...]
    when: Expr
    unless: Expr | None
    message: Template
    citation: str
    fixes: tuple[Fix, ...]
    frame_size: int = field(compare=False)
    origin: Origin = field(compare=False)
    denial: Denial | None = None
    """The claim adjustment the payer returns when it denies on this ground (`denial CO-97`)."""
    adopted_by: tuple[str, ...] = field(default=(), compare=False)
    """The rulebooks that adopted this inherited rule with their own source (`adopt rule`);
    their citations lead the rule's citation, which the diff compares."""


@dataclass(frozen=True, slots=True)
class Disabled:
    rule_id: str
    reason: str | None
    origin: Origin = field(compare=False)


def walk(node):
    """Every IR node inside `node` (itself included), depth first."""
    import dataclasses

    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(reversed(current))
            continue
        if not dataclasses.is_dataclass(current) or isinstance(current, type):
            continue
        yield current
        for f in dataclasses.fields(current):
            if f.name in ("span", "type", "origin"):
                continue
            value = getattr(current, f.name)
            if isinstance(value, (list, tuple)) or dataclasses.is_dataclass(value):
                stack.append(value)
