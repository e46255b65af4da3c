"""What can be decided before any claim is seen, so checking does less per claim.

1. Constant definitions: a definition that reads no claim data (only params, code sets,
   tables and other constant definitions) has one value for every claim. It is computed
   once, when the rulebook is compiled (`unit_method = "cms_total_time"`, a table's list
   of phrases).
2. Dead rules: a rule whose `when` is an `and` with a constant false part never fires
   (the AMA unit rule in a rulebook using the CMS method); it is not run at all.
3. Guards: parts of a rule's `and` that only read the code (or date) of the scope's lines
   and that cannot be unknown, such as `code in timed` or `ncci_ptp[first.code, second.code]
   is present`. An instance that fails a guard is skipped without building its frame.
   Skipping is exact: where a guard is false, three-valued `and` is false whatever the
   other parts are, so the rule would neither fire nor be 'not evaluated'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from payerlint.compile import ir

# How many frame slots each scope fills before the body's own (see compile/resolve.py).
SCOPE_SLOTS = {"claim": 1, "line": 2, "pair": 3, "date": 2, "code": 3}
# Slots that hold a claim line, per scope: the line of `for each line`, the pair's two.
LINE_SLOTS = {"line": (1,), "pair": (1, 2)}


def reads_claim(expr, scope: str, constants: dict) -> bool:
    """Whether an expression can depend on the claim being checked."""
    limit = SCOPE_SLOTS[scope]
    for node in ir.walk(expr):
        if isinstance(node, ir.ClaimRoot):
            return True
        if isinstance(node, ir.Slot) and node.index < limit:
            return True
        if isinstance(node, ir.DefRef) and node.name not in constants:
            return True
    return False


def and_parts(expr) -> list:
    """The operands of a (nested) `and`, flattened."""
    if isinstance(expr, ir.Logic) and expr.op == "and":
        return and_parts(expr.left) + and_parts(expr.right)
    return [expr]


@dataclass(frozen=True)
class Guard:
    dead: bool = False
    """The rule can never fire in this rulebook."""
    same_date: bool = False
    """For pairs: the two lines must share a date."""
    pair_rows: Any = None
    """For pairs: a table whose keys (first.code, second.code) must include the pair."""
    tests: dict = field(default_factory=dict)
    """Slot -> one combined test of the code (built once, in guard_for); for `for each code`
    the slot is the code itself."""
    consumed: tuple = ()
    """The parts of the `and` the guard decides (by identity): the scope loop applies them
    before an instance is built, so the instance need not test them again."""
    pair_values: Any = None
    """For pairs: the rows of `pair_rows`' table, by key, when `row_tests` read them."""
    row_tests: tuple = ()
    """For pairs: (column position, Python operator, constant) of each part that compares a
    column of the pair's row with a constant (`edit.modifier_indicator = 0`): tested once
    per pair of codes the claim bills, not once per pair of lines."""
    pair_table: str | None = None
    """For pairs: the name of `pair_rows`' table (rules that read one table share the
    claim's billed pairs of it)."""

    def code_test(self, slot: int) -> Callable[[str], bool] | None:
        return self.tests.get(slot)


def guard_for(rule: ir.Rule, compiled, constants: dict) -> Guard:
    scope = rule.scope
    tests: list[tuple[int, Callable]] = []
    same_date = False
    pair_rows = None
    consumed = []
    for part in and_parts(rule.when):
        value = _constant(part, constants)
        if value is False:
            return Guard(dead=True)
        if value is True:
            continue
        slot_code = _code_test(part, scope, compiled)
        if slot_code is not None:
            tests.append(slot_code)
            consumed.append(part)
            continue
        if scope == "pair" and _same_date(part):
            same_date = True
            consumed.append(part)
            continue
        if scope == "pair" and pair_rows is None:
            pair_table = _pair_lookup(part)
            pair_rows = compiled.tables[pair_table].rows if pair_table is not None else None
            if pair_rows is not None:
                consumed.append(part)
                continue
        keyed = _code_lookup(part, scope, compiled)
        if keyed is not None:
            slot, rows = keyed
            if not rows:
                return Guard(dead=True)  # an empty table (the shipped MUE table): never present
            keys = rows.keys()  # a C-level membership test, also for rows read from the cache
            tests.append((slot, lambda code, keys=keys: (code,) in keys))
            consumed.append(part)
    if scope == "pair" and pair_rows is not None and not pair_rows:
        return Guard(dead=True)
    row_tests = []
    if scope == "pair" and pair_rows is not None:
        for part in and_parts(rule.when):
            test = _row_test(part, rule, pair_table)
            if test is not None:
                row_tests.append(test)
                consumed.append(part)
    combined = {}
    for slot in {s for s, _ in tests}:
        mine = [test for s, test in tests if s == slot]
        combined[slot] = mine[0] if len(mine) == 1 else (lambda code, mine=tuple(mine): all(t(code) for t in mine))
    return Guard(False, same_date, pair_rows.keys() if pair_rows is not None else None, combined, tuple(consumed),
                 pair_rows if row_tests else None, tuple(row_tests), pair_table if pair_rows is not None else None)


def _constant(part, constants: dict):
    if isinstance(part, ir.Const) and isinstance(part.value, bool):
        return part.value
    if isinstance(part, ir.DefRef) and part.name in constants and isinstance(constants[part.name], bool):
        return constants[part.name]
    if isinstance(part, ir.Not):
        inner = _constant(part.operand, constants)
        return None if inner is None else not inner
    return None


def _code_of(expr, scope: str) -> int | None:
    """The slot whose code `expr` reads: `code` / `line.code` / `first.code` / `second.code`,
    or the `code` of a `for each code` rule."""
    if isinstance(expr, ir.GetField) and expr.name == "code" and isinstance(expr.base, ir.Slot):
        if expr.base.index in LINE_SLOTS.get(scope, ()):
            return expr.base.index
    if scope == "code" and isinstance(expr, ir.Slot) and expr.index == 1:
        return 1
    return None


def _code_test(part, scope: str, compiled) -> tuple[int, Callable] | None:
    if isinstance(part, ir.Member) and isinstance(part.collection, ir.SetRef) and part.collection.kind == "codeset":
        slot = _code_of(part.element, scope)
        if slot is None:
            return None
        codeset = compiled.codesets[part.collection.name]
        test = codeset.codes.__contains__ if not (codeset.prefixes or codeset.ranges) else codeset.__contains__
        if part.negated:
            return slot, lambda code, test=test: not test(code)
        return slot, test
    if isinstance(part, ir.Compare) and part.op in ("=", "!=") and isinstance(part.right, ir.Const):
        slot = _code_of(part.left, scope)
        if slot is None or not isinstance(part.right.value, str):
            return None
        wanted = part.right.value
        return (slot, (lambda code: code == wanted) if part.op == "=" else (lambda code: code != wanted))
    return None


def _same_date(part) -> bool:
    if not (isinstance(part, ir.Compare) and part.op == "="):
        return False
    sides = {_date_slot(part.left), _date_slot(part.right)}
    return sides == {1, 2}


def _date_slot(expr) -> int | None:
    if isinstance(expr, ir.GetField) and expr.name == "date" and isinstance(expr.base, ir.Slot):
        return expr.base.index
    return None


def _code_lookup(part, scope: str, compiled):
    """`table[code] is present` for a one-key table looked up by the scope line's code."""
    present = isinstance(part, ir.IsTest) and (
        (part.test == "present" and not part.negated) or (part.test == "missing" and part.negated))
    if not present or not isinstance(part.operand, ir.Lookup) or len(part.operand.keys) != 1:
        return None
    slot = _code_of(part.operand.keys[0], scope)
    if slot is None:
        return None
    return slot, compiled.tables[part.operand.table].rows


def _pair_lookup(part) -> str | None:
    """The table of `table[first.code, second.code] is present` (also through a `with` binding)."""
    present = isinstance(part, ir.IsTest) and (
        (part.test == "present" and not part.negated) or (part.test == "missing" and part.negated))
    if not present or not _is_pair_lookup(part.operand):
        return None
    return part.operand.table


def _is_pair_lookup(expr) -> bool:
    if not isinstance(expr, ir.Lookup):
        return False
    keys = expr.keys
    return len(keys) == 2 and _code_of(keys[0], "pair") == 1 and _code_of(keys[1], "pair") == 2


_PYTHON_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _row_test(part, rule: ir.Rule, table: str) -> tuple | None:
    """(column position, operator, constant) for `edit.column OP constant`, where `edit` is
    a `with` binding of the pair's row of `table`. The part holds for a pair of lines
    exactly when it holds for the row of their codes (an empty cell: it does not)."""
    if not (isinstance(part, ir.Compare) and part.op in _PYTHON_OPS):
        return None
    for column, constant, op in ((part.left, part.right, part.op), (part.right, part.left, _MIRRORED[part.op])):
        if not (isinstance(column, ir.RowField) and column.table == table and isinstance(column.base, ir.Slot)
                and isinstance(constant, ir.Const) and constant.value is not None):
            continue
        binding = next((b for b in rule.bindings if b.slot == column.base.index), None)
        if binding is not None and _is_pair_lookup(binding.expr) and binding.expr.table == table:
            return column.index, _PYTHON_OPS[op], constant.value
    return None
