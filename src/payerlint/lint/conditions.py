"""Conditions that can never hold, found by reading the compiled condition.

Within one `and` (however nested), each part that compares a value with a constant is
an *atom*: `minutes > 4`, `units <= limit` (a param is a constant of the rulebook),
`code in timed`, `code = "97140"`, `code not in ["97010", "97012"]`. Atoms about the
same value are combined; the `and` can never hold when they contradict:

- numbers, amounts, minutes, days and dates: the bounds leave nothing (`x > 4 and x < 2`,
  `x = 3 and x = 5`, `x = 3 and x != 3`);
- codes: a code equal to one its code set lacks (`code = "97014" and code in timed`),
  two code sets with no code in common, or a code set inside one it must not be in.

Parts that are constant in the rulebook (`cms_method` under the AMA method) are left
alone: switching rules off by a param is what they are for, and the evaluator already
skips such rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from payerlint.compile import ir
from payerlint.source import Span

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


@dataclass(frozen=True)
class Contradiction:
    message: str
    span: Span | None
    related: tuple[Span, ...]


@dataclass(frozen=True)
class _Atom:
    subject: object
    """The IR of the value tested (compared without spans)."""
    op: str
    """A comparison, or `in` / `not in`."""
    value: object
    """A number, date or text, or a set of codes (ir.CodeSet, or a frozenset of texts)."""
    shown: str
    span: Span | None


def contradictions(expr, compiled) -> list[Contradiction]:
    """Every `and` inside `expr` (the outermost of each chain) that can never hold."""
    found = []
    for chain in _chains(expr):
        problem = _check_chain(chain, compiled)
        if problem is not None:
            found.append(problem)
    return found


def _chains(expr):
    """The outermost node of each `and` chain, and chains inside other nodes."""
    stack = [(expr, False)]
    while stack:
        node, inside_and = stack.pop()
        is_and = isinstance(node, ir.Logic) and node.op == "and"
        if is_and and not inside_and:
            yield node
        for child in _children(node):
            stack.append((child, is_and))


def _children(node):
    import dataclasses

    if not dataclasses.is_dataclass(node):
        return []
    out = []
    for f in dataclasses.fields(node):
        if f.name in ("span", "type"):
            continue
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            out.extend(v for v in value if dataclasses.is_dataclass(v))
        elif dataclasses.is_dataclass(value) and not isinstance(value, ir.CodeSet):
            out.append(value)
    return out


def _parts(node) -> list:
    if isinstance(node, ir.Logic) and node.op == "and":
        return _parts(node.left) + _parts(node.right)
    return [node]


def _constant(node, compiled):
    """(True, value) when `node` has one value in this rulebook."""
    if isinstance(node, ir.Const) and node.value is not None:
        return True, node.value
    if isinstance(node, ir.ParamRef) and node.name in compiled.params:
        return True, compiled.params[node.name].value
    if isinstance(node, ir.DefRef):
        from payerlint.evaluate.prepare import prepare

        constants = prepare(compiled).constants
        if node.name in constants:
            return True, constants[node.name]
    return False, None


def _text(node, compiled) -> str:
    from payerlint.source import span_text

    return span_text(node.span) or "this part"


def _atom(part, compiled) -> _Atom | None:
    negated = False
    while isinstance(part, ir.Not):
        negated = not negated
        part = part.operand
    shown = _text(part, compiled)
    if isinstance(part, ir.Compare):
        left_constant, left = _constant(part.left, compiled)
        right_constant, right = _constant(part.right, compiled)
        if left_constant == right_constant or isinstance(left if left_constant else right, bool):
            return None
        op = part.op if right_constant else _FLIP[part.op]
        subject = part.left if right_constant else part.right
        value = right if right_constant else left
        if negated:
            op = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}[op]
        return _Atom(subject, op, value, shown, part.span)
    if isinstance(part, ir.Member):
        collection = part.collection
        codes = None
        if isinstance(collection, ir.SetRef) and collection.kind == "codeset":
            codes = compiled.codesets[collection.name]
        elif isinstance(collection, ir.Const) and isinstance(collection.value, ir.CodeSet):
            codes = collection.value
        elif isinstance(collection, ir.ListLit):
            values = [_constant(item, compiled) for item in collection.items]
            if all(is_constant for is_constant, _ in values):
                codes = frozenset(value for _, value in values)
        if codes is None or _constant(part.element, compiled)[0]:
            return None
        op = "not in" if part.negated != negated else "in"
        return _Atom(part.element, op, codes, shown, part.span)
    return None


def _check_chain(chain, compiled) -> Contradiction | None:
    atoms: dict[object, list[_Atom]] = {}
    for part in _parts(chain):
        is_constant, _ = _constant(part, compiled)
        if is_constant:
            continue
        atom = _atom(part, compiled)
        if atom is not None:
            atoms.setdefault(atom.subject, []).append(atom)
    for group in atoms.values():
        if len(group) < 2:
            continue
        clash = _clash(group)
        if clash is not None:
            first, second, why = clash
            return Contradiction(f"this condition can never hold: {why}", chain.span,
                                 tuple(s for s in (first.span, second.span) if s is not None))
    return None


def _clash(group: list[_Atom]):
    """Two atoms about one value that cannot both hold, with the reason."""
    for index, a in enumerate(group):
        for b in group[index + 1:]:
            why = _pair(a, b) or _pair(b, a)
            if why:
                return a, b, f"'{a.shown}' and '{b.shown}'{why}"
    return _bounds(group)


def _pair(a: _Atom, b: _Atom) -> str | None:
    """Why `a` and `b` cannot both hold (worded to follow the two parts), or None."""
    if a.op == "=" and b.op == "in" and _is_text(a.value) and not _contains(b.value, a.value):
        return f": {a.value} is not in that set"
    if a.op == "=" and b.op == "not in" and _is_text(a.value) and _contains(b.value, a.value):
        return f": {a.value} is in that set"
    if a.op == "in" and b.op == "in" and not _may_share(a.value, b.value):
        return ": the two sets have no code in common"
    if a.op == "in" and b.op == "not in" and _inside(a.value, b.value):
        return ": every code a value may be in is one it must not be in"
    if a.op == "=" and b.op == "=" and _same_kind(a.value, b.value) and a.value != b.value:
        return ": one value cannot equal both"
    if a.op == "=" and b.op == "!=" and _same_kind(a.value, b.value) and a.value == b.value:
        return " contradict each other"
    return None


def _bounds(group: list[_Atom]):
    """Lower and upper bounds of one number or date that leave no value."""
    lower = upper = None  # (value, inclusive, atom)
    for atom in group:
        if not isinstance(atom.value, (int, Decimal, date)) or isinstance(atom.value, bool):
            continue
        value = atom.value
        if atom.op in (">", ">=", "="):
            candidate = (value, atom.op != ">", atom)
            if lower is None or _tighter_low(candidate, lower):
                lower = candidate
        if atom.op in ("<", "<=", "="):
            candidate = (value, atom.op != "<", atom)
            if upper is None or _tighter_high(candidate, upper):
                upper = candidate
    if lower is None or upper is None or lower[2] is upper[2]:
        return None
    try:
        empty = lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1]))
    except TypeError:  # a date against a number: the compiler reports that
        return None
    if empty:
        return lower[2], upper[2], f"'{lower[2].shown}' and '{upper[2].shown}' leave no value between them"
    return None


def _tighter_low(a, b) -> bool:
    try:
        return a[0] > b[0] or (a[0] == b[0] and not a[1] and b[1])
    except TypeError:
        return False


def _tighter_high(a, b) -> bool:
    try:
        return a[0] < b[0] or (a[0] == b[0] and not a[1] and b[1])
    except TypeError:
        return False


def _is_text(value) -> bool:
    return isinstance(value, str)


def _same_kind(a, b) -> bool:
    return type(a) is type(b) or (isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal))
                                  and not isinstance(a, bool) and not isinstance(b, bool))


def _contains(codes, code: str) -> bool:
    return code in codes


def _finite(codes) -> frozenset | None:
    if isinstance(codes, frozenset):
        return codes
    if not codes.prefixes and not codes.ranges:
        return codes.codes
    return None


def _may_share(a, b) -> bool:
    """False only when the two sets surely have no code in common."""
    finite_a, finite_b = _finite(a), _finite(b)
    if finite_a is not None:
        return any(code in b for code in finite_a)
    if finite_b is not None:
        return any(code in a for code in finite_b)
    if any(code in b for code in a.codes) or any(code in a for code in b.codes):
        return True
    for p in a.prefixes:
        if any(p.startswith(q) or q.startswith(p) for q in b.prefixes):
            return True
    # Ranges that cannot be listed code by code are compared as text: assume they may meet.
    return bool(a.ranges or b.ranges) or False


def _inside(a, b) -> bool:
    """True only when every code of `a` is surely in `b`."""
    finite = _finite(a)
    return finite is not None and bool(finite) and all(code in b for code in finite)
