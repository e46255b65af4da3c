"""The syntax tree: what a rulebook file says, before any name is resolved.

Small declarative records, one per construct. Every node carries its `span`, which
equality ignores (`compare=False`): two rulebooks that differ only in layout, comments
or spacing give equal trees. Lists are tuples so nodes are hashable and immutable.
Comments are kept on the declaration they precede so a formatter can put them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Union

from payerlint.source import Span


def _span() -> Span:
    # A default lets declarations keep their optional fields before the span; the
    # parser always sets it.
    return field(default=None, compare=False, repr=False)  # type: ignore[return-value]


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class Name:
    """A bare name: a param, code set, definition, claim field or scope variable."""

    id: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Field:
    """`base.name`: a field of a claim object, line, table row, or a line's definition."""

    base: "Expr"
    name: str
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Lookup:
    """`table[key, ...]`: the table row with that key, or no row."""

    table: "Expr"
    keys: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """`function(args)`: a built-in function or aggregate."""

    function: str
    args: tuple["Expr", ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic (`+ - * /`), comparison (`= != < <= > >=`), `and`, `or`, `otherwise`."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Negate:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Member:
    """`element in collection` (or `not in` when negated)."""

    element: "Expr"
    collection: "Expr"
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Has:
    """`list has any|all|none of set`."""

    items: "Expr"
    quantifier: str
    collection: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Mentions:
    """`text mentions any|all|none of phrases`, or `text mentions "phrase"` (quantifier 'any')."""

    text: "Expr"
    quantifier: str
    phrases: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IsTest:
    """`value is missing|present|blank` (negated for `is not`). Tests absence on purpose."""

    operand: "Expr"
    test: str
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Filter:
    """`collection where condition`: inside the condition, the element's fields are bare names."""

    collection: "Expr"
    condition: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Map:
    """`value of collection`: the value computed for each element."""

    value: "Expr"
    collection: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Conditional:
    condition: "Expr"
    then: "Expr"
    otherwise: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant. `kind` is text, integer, decimal, money, date, minutes, days or boolean."""

    kind: str
    value: Union[str, int, Decimal, date, bool]
    span: Span = _span()
    raw: str = field(default="", compare=False)
    """As written (`$2,480.00`, `8 weeks`), for a formatter and for messages."""


@dataclass(frozen=True, slots=True)
class Codes:
    """A range or a prefix of codes written inside an expression: `code in 98940-98942`,
    `code in S93.4*`. It is a small code set of its own, tested with `in`, `not in` or
    `has any of` (alone, or in a list with quoted codes: `["97140", 98940-98942]`)."""

    item: "CodeItem"
    span: Span = _span()


Expr = Union[
    Name, Field, Lookup, Call, Binary, Not, Negate, Member, Has, Mentions, IsTest,
    Filter, Map, Conditional, ListLiteral, Literal, Codes,
]


# ------------------------------------------------------------------ declarations


@dataclass(frozen=True, slots=True)
class Text:
    """A quoted string with its span (titles, citations, sources, file paths)."""

    value: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Ident:
    """A name in a declaration position, with its span."""

    id: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    span: Span = _span()
    own_line: bool = field(default=True, compare=False)
    """Nothing but spaces before it on its line (else it ends a line of code)."""


@dataclass(frozen=True, slots=True)
class Header:
    id: Ident
    """The rulebook family: `acme`, `acme-advantage`."""
    title: Text
    payer: Text | None
    quarter: Ident | None
    """`2026Q2`; the rulebook applies to dates of service in that quarter."""
    extends: Ident | None
    """`acme@2026Q2`, or a quoted relative path."""
    extends_is_path: bool
    sources: tuple[Text, ...]
    facts_as_of: Literal | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Param:
    name: Ident
    type: Ident | None
    value: Literal
    cite: Text | None
    choices: tuple[Literal, ...] = ()
    """`one of ...`: the only values the param may take (an override keeps the base's)."""
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CodeItem:
    """One code set member: a code (`97140`), a range (`97010-97039`) or a prefix (`M25.6*`)."""

    first: str
    last: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CodeSet:
    name: Ident
    label: Text | None
    members: tuple[CodeItem, ...]
    cite: Text | None
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PhraseSet:
    name: Ident
    label: Text | None
    phrases: tuple[Text, ...]
    cite: Text | None
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Column:
    name: Ident
    type: Ident
    optional: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Table:
    name: Ident
    label: Text | None
    path: Text
    """CSV file, relative to the rulebook file that declares the table."""
    keys: tuple[Column, ...]
    columns: tuple[Column, ...]
    cite: Text | None
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let:
    name: Ident
    scope: Ident | None
    """None for the claim; `line`, `date` or `code` for a value per line, date or code-and-date."""
    expr: Expr
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binding:
    """`with name = expr` inside a rule."""

    name: Ident
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Fix:
    """One JSON Patch operation, optionally repeated for each element of a collection."""

    op: Ident
    path: Text
    value: Expr | None
    loop_var: Ident | None = None
    loop_over: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Denial:
    """`denial CO-97` or `denial CO-16 remark N29 M127`: the claim adjustment group code,
    the claim adjustment reason code (CARC) and any remittance advice remark codes (RARC)."""

    group: str
    reason: str
    remarks: tuple[str, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Rule:
    id: Ident
    title: Text
    scope: Ident | None
    category: Ident | None
    severity: Ident | None
    bindings: tuple[Binding, ...]
    when: Expr | None
    unless: Expr | None
    say: Text | None
    cite: Text | None
    fixes: tuple[Fix, ...]
    override: bool = False
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    clause_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)
    """Where each clause was written, to report duplicated or missing clauses."""
    span: Span = _span()
    denial: Denial | None = None
    """`denial CO-97`: what the payer's remittance says when it denies on this ground."""


@dataclass(frozen=True, slots=True)
class Disable:
    rule_id: Ident
    reason: Text | None
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Adopt:
    """`adopt rule a, b cite "..."`: inherited rules this payer is known to apply, with
    the payer's own source for them."""

    rule_ids: tuple[Ident, ...]
    cite: Text
    severity: Ident | None = None
    """`severity warn`: this payer applies the rules at this severity (its source is weak)."""
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


Declaration = Union[Param, CodeSet, PhraseSet, Table, Let, Rule]
Item = Union[Param, CodeSet, PhraseSet, Table, Let, Rule, Disable, Adopt]


@dataclass(frozen=True, slots=True)
class Rulebook:
    header: Header
    items: tuple[Item, ...]
    trailing_comments: tuple[Comment, ...] = field(default=(), compare=False)
    path: str = field(default="", compare=False)
    span: Span = _span()


def declared_name(item: Item) -> str:
    """The id an item declares or acts on (rule id for rules and disables)."""
    if isinstance(item, Rule):
        return item.id.id
    if isinstance(item, Disable):
        return item.rule_id.id
    if isinstance(item, Adopt):
        return ", ".join(r.id for r in item.rule_ids)
    return item.name.id


def kind_of(item: Item) -> str:
    """The word a user writes for the item: param, codeset, phrases, table, let, rule."""
    return {
        Param: "param", CodeSet: "codeset", PhraseSet: "phrases", Table: "table",
        Let: "let", Rule: "rule", Disable: "disable", Adopt: "adopt",
    }[type(item)]
