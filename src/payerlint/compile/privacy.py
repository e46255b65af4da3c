"""Which values are patient data, by data flow.

The claim schema marks fields `x-payerlint-private` (the patient's id and birth date, the
note's free text). A value read from one is private, and so is every value derived from
it: through a `with` binding, a definition, a list built with `of` or filtered with
`where`, an `otherwise`, an `if`, arithmetic, a call, a table row looked up by it. The
compiler refuses a private value in a message or a fix (they travel to logs and other
systems), and explanations show that a private value was read, never the value.

Exceptions, on purpose, where a value tells no more than a yes/no would: a yes/no
answer about private data (`response mentions vague`), which a rule that fires on it
tells anyway; counts (`count`, `length`, `word_count`); and values a function chooses
from the rulebook's own data rather than copies from the claim (`phrases_found` and
`services_found` answer with phrases of the rulebook's phrase list, the ones the note
contains).
"""

from __future__ import annotations

from typing import Callable, Mapping

from payerlint.compile import ir
from payerlint.compile import types as T

LetPrivacy = Callable[[str], "str | None"]

# Which arguments a built-in's result copies values from; every argument when not listed
# (the safe answer for a function added later).
CARRIES: dict[str, tuple[int, ...]] = {
    "count": (), "length": (), "word_count": (), "number_count": (), "position": (),
    "phrases_found": (1,), "services_found": (1,),
}


def private_source(expr, slots: Mapping[int, "str | None"], let_private: LetPrivacy) -> str | None:
    """The private field (`patient.id`) that `expr`'s value is derived from, or None.
    `slots` says which frame slots hold private values (bindings, loop and element
    variables); `let_private` answers the same for a definition."""
    if expr is None or getattr(expr, "type", None) == T.BOOLEAN:
        return None
    kind = type(expr)
    if kind is ir.GetField:
        obj = expr.base.type.object
        if obj is not None and T.is_private(obj.name, expr.name):
            return f"{obj.name}.{expr.name}"
        return private_source(expr.base, slots, let_private)
    if kind is ir.Slot:
        return slots.get(expr.index)
    if kind is ir.DefRef:
        return let_private(expr.name)
    if kind is ir.Map:
        inner = dict(slots)
        inner[expr.slot] = private_source(expr.collection, slots, let_private)
        return private_source(expr.value, inner, let_private)
    if kind is ir.Filter:
        return private_source(expr.collection, slots, let_private)
    if kind is ir.Conditional:
        return _first(slots, let_private, expr.then, expr.otherwise)
    if kind in (ir.Otherwise, ir.Arith):
        return _first(slots, let_private, expr.left, expr.right)
    if kind is ir.ListLit:
        return _first(slots, let_private, *expr.items)
    if kind is ir.Call:
        carried = CARRIES.get(expr.function)
        args = expr.args if carried is None else tuple(expr.args[i] for i in carried if i < len(expr.args))
        return _first(slots, let_private, *args)
    if kind is ir.Lookup:
        return _first(slots, let_private, *expr.keys)
    if kind in (ir.RowField, ):
        return private_source(expr.base, slots, let_private)
    if kind is ir.Negate:
        return private_source(expr.operand, slots, let_private)
    return None  # constants, params, sets, the claim itself; yes/no tests


def _first(slots, let_private, *exprs) -> str | None:
    for expr in exprs:
        found = private_source(expr, slots, let_private)
        if found is not None:
            return found
    return None


def element_private(collection, slots: Mapping[int, "str | None"], let_private: LetPrivacy) -> str | None:
    """Whether the elements of a list are private (a loop variable over it is)."""
    return private_source(collection, slots, let_private)
