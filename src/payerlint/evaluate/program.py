"""Compiled expression trees to Python closures.

Each IR node becomes a function `f(ctx) -> value`, built once per rulebook. Names were
resolved by the compiler, so a closure never looks anything up by name: params are
constants, fields are dict reads, scope values are frame slots.

Every expression is built twice: a fast form for checking claims, and a traced form that
records what it read (params, definitions, table rows, code set and phrase tests) for
explanations and for the quarter diff's attribution. The traced form runs only for
findings that are explained, so checking pays nothing for it.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass
from typing import Any, Callable

from payerlint import builtins as B
from payerlint.compile import ir
from payerlint.evaluate import codegen
from payerlint.evaluate import phrases as phrases_module
from payerlint.evaluate.values import (NO_ROW, UNSET, Missing, NoData, Unknown, absence_verdict, divide,
                                      row_column, shift_date)

Fn = Callable[["Ctx"], Any]


class Ctx:
    """Per-claim evaluation state. Never shared between threads."""

    __slots__ = ("claim", "root", "frame", "cache", "trace")

    def __init__(self, claim):
        self.claim = claim
        self.root = claim.root
        self.frame: list = []
        self.cache: dict = {}
        self.trace: list | None = None


class _Raised:
    __slots__ = ("error",)

    def __init__(self, error: Unknown):
        self.error = error


@dataclass(frozen=True)
class RuleCode:
    """The closures of one rule."""

    rule: ir.Rule
    condition: Fn
    message: tuple
    """(text or (closure, type)) parts."""
    fixes: tuple
    bindings: tuple
    """(slot, closure) for each `with`; computed when first read."""
    guard: Any = None
    """plan.Guard: which scope instances can be skipped without running the rule."""


class Program:
    """All closures of a rulebook. Built at compile time; the traced variant on first use."""

    def __init__(self, compiled):
        from payerlint.evaluate import plan

        self.compiled = compiled
        self.constants, self.constant_reads = _constant_lets(compiled)
        self.fast = _Builder(compiled, traced=False, constants=self.constants)
        rules = []
        for rule in compiled.rules:
            guard = plan.guard_for(rule, compiled, self.constants)
            if guard.dead:
                continue  # a constant part of its `and` is false in this rulebook
            code = self.fast.rule(rule)
            rules.append(RuleCode(code.rule, code.condition, code.message, code.fixes, code.bindings, guard))
        # Every definition is built now, before the rulebook is shared: built lazily on a
        # first claim, two threads could meet a half-built one.
        for name in compiled.lets:
            self.fast.let(name)
        self.rules = tuple(rules)
        self.line_rules = tuple(r for r in rules if r.rule.scope == "line")
        self.other_rules = tuple(r for r in rules if r.rule.scope != "line")
        self._by_code: dict = {}
        self._traced: dict[str, RuleCode] | None = None
        self._lock = threading.Lock()

    def line_rules_for(self, code: str) -> tuple:
        """(rule, frame padding) for the line rules whose guards accept a line of `code`.
        Built once per distinct code; the dict write is atomic, so threads may share it."""
        found = self._by_code.get(code)
        if found is None:
            found = tuple((r, [UNSET] * (r.rule.frame_size - 2)) for r in self.line_rules
                          if r.guard is None or r.guard.code_test(1) is None or r.guard.code_test(1)(code))
            if len(self._by_code) < 10_000:
                self._by_code[code] = found
        return found

    def traced(self, rule_id: str) -> RuleCode:
        with self._lock:
            if self._traced is None:
                builder = _Builder(self.compiled, traced=True, constants=self.constants,
                                   constant_reads=self.constant_reads)
                traced = {rule.id: builder.rule(rule) for rule in self.compiled.rules}
                for name in self.compiled.lets:
                    builder.let(name)
                self._traced = traced
        return self._traced[rule_id]


class _NoClaim:
    """Stands in for a claim while constant definitions are computed (they read none)."""

    root: dict = {}
    lines: list = []
    days: dict = {}
    groups: list = []


def _constant_lets(compiled) -> tuple[dict, dict]:
    """(value, reads) of each definition that reads no claim data. The reads (params,
    tables, code sets) are kept so an explanation or a replay still sees them."""
    from payerlint.evaluate.plan import reads_claim

    constants: dict = {}
    reads: dict = {}
    for name, let in compiled.lets.items():  # dependencies come first
        if reads_claim(let.expr, let.scope, constants):
            continue
        builder = _Builder(compiled, traced=True, constants=constants, constant_reads=reads)
        fn, size, _ = builder.let(name)
        ctx = Ctx(_NoClaim())
        ctx.frame = [UNSET] * size
        ctx.trace = []
        try:
            constants[name] = fn(ctx)
        except Unknown:
            continue
        reads[name] = tuple(ctx.trace)
    return constants, reads


def build_program(compiled) -> Program:
    return Program(compiled)


# ------------------------------------------------------------------ phrase matching
# Phrase matching lives in evaluate/phrases.py (one linear pass over a text); the names
# below are what the closures, generated code and built-ins use.
PhraseMatcher = phrases_module.PhraseMatcher
cached_matcher = phrases_module.cached_matcher
_mentions = phrases_module.mentions


# ------------------------------------------------------------------ the builder

_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _arith(op: str, left_type: str, right_type: str):
    if op == "+":
        if left_type == "date":
            return shift_date
        if right_type == "date":
            return lambda a, b: shift_date(b, a)
        return operator.add
    if op == "-":
        if left_type == "date" and right_type == "date":
            return lambda a, b: (a - b).days
        if left_type == "date":
            return lambda a, b: shift_date(a, -b)
        return operator.sub
    if op == "*":
        return operator.mul
    return divide


def _concat(a, b):
    return list(a) + list(b)


class _Builder:
    def __init__(self, compiled, traced: bool, constants: dict | None = None, constant_reads: dict | None = None):
        self.c = compiled
        self.traced = traced
        self.constants = constants if constants is not None else {}
        self.constant_reads = constant_reads if constant_reads is not None else {}
        self.lets: dict[str, tuple] = {}
        self.phrases = {name: PhraseMatcher(name, p.phrases) for name, p in compiled.phrases.items()}
        self.binding_slots: dict[int, Fn] = {}

    # -- declarations
    def rule(self, rule: ir.Rule) -> RuleCode:
        self.binding_slots = {}
        bindings = []
        for binding in rule.bindings:
            fn = self.expr(binding.expr)
            if not self.traced and codegen.ENABLED:
                fn = codegen.value(self, self.c, binding.expr, f"{rule.id} with {binding.name}", dict(self.binding_slots))
            self.binding_slots[binding.slot] = fn
            bindings.append((binding.slot, fn))
        condition = self.expr(rule.when)
        if rule.unless is not None:
            condition = self._logic("and", condition, self._not(self.expr(rule.unless)))
        if not self.traced and codegen.ENABLED:
            # The same condition as generated Python: several times faster (codegen.py).
            condition = codegen.condition(self, self.c, rule, self.binding_slots)
        message = self.template(rule.message)
        fixes = tuple(
            (fix.op, self.template(fix.path), self.expr(fix.value) if fix.value is not None else None,
             fix.value.type if fix.value is not None else None, fix.loop_slot,
             self.expr(fix.loop_over) if fix.loop_over is not None else None)
            for fix in rule.fixes
        )
        code = RuleCode(rule, condition, message, fixes, tuple(bindings))
        self.binding_slots = {}
        return code

    def template(self, template: ir.Template) -> tuple:
        return tuple(part if isinstance(part, str) else (self.expr(part), part.type) for part in template.parts)

    def let(self, name: str) -> tuple:
        """(closure, frame size, scope) of a definition, built on first use."""
        if name not in self.lets:
            let = self.c.lets[name]
            self.lets[name] = (None, let.frame_size, let.scope)  # placeholder for recursion safety
            saved = self.binding_slots
            self.binding_slots = {}
            fn = self.expr(let.expr)
            if not self.traced and codegen.ENABLED:
                fn = codegen.value(self, self.c, let.expr, name)
            self.binding_slots = saved
            self.lets[name] = (fn, let.frame_size, let.scope)
        return self.lets[name]

    # -- expressions
    def expr(self, node) -> Fn:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node: ir.Const) -> Fn:
        value = node.value
        return lambda ctx: value

    def _ParamRef(self, node: ir.ParamRef) -> Fn:
        name, value = node.name, self.c.params[node.name].value
        if not self.traced:
            return lambda ctx: value

        def traced(ctx):
            ctx.trace.append(("param", name, value))
            return value

        return traced

    def _SetRef(self, node: ir.SetRef) -> Fn:
        if node.kind == "codeset":
            value = self.c.codesets[node.name]
        elif node.kind == "phrases":
            value = self.phrases[node.name]
        else:
            value = self.c.tables[node.name]
            if node.type.name == "list":  # a table read as the list of its rows
                rows = tuple(value.rows.values())
                if self.traced:
                    name = node.name

                    def traced_rows(ctx):
                        ctx.trace.append(("table", name))
                        return rows
                    return traced_rows
                return lambda ctx: rows
        return lambda ctx: value

    def _ClaimRoot(self, node) -> Fn:
        return lambda ctx: ctx.root

    def _Slot(self, node: ir.Slot) -> Fn:
        index = node.index
        binding = self.binding_slots.get(index)
        if binding is None:
            return lambda ctx: ctx.frame[index]

        def lazy(ctx):
            frame = ctx.frame
            value = frame[index]
            if value is UNSET:
                try:
                    value = binding(ctx)
                except Unknown as error:
                    frame[index] = _Raised(error)
                    raise
                frame[index] = value
            elif type(value) is _Raised:
                raise value.error
            return value

        return lazy

    def _GetField(self, node: ir.GetField) -> Fn:
        name = node.name
        base_node = node.base
        if isinstance(base_node, ir.ClaimRoot):
            def get(ctx):
                obj = ctx.root
                value = obj.get(name)
                if value is None:
                    raise Missing(obj.ptr + "/" + name, name in obj)
                return value
            return get
        if isinstance(base_node, ir.Slot) and base_node.index not in self.binding_slots:
            index = base_node.index

            def get_slot(ctx):
                obj = ctx.frame[index]
                value = obj.get(name)
                if value is None:
                    raise Missing(obj.ptr + "/" + name, name in obj)
                return value
            return get_slot
        base = self.expr(base_node)

        def get_any(ctx):
            obj = base(ctx)
            value = obj.get(name)
            if value is None:
                raise Missing(obj.ptr + "/" + name, name in obj)
            return value
        return get_any

    def _DefRef(self, node: ir.DefRef) -> Fn:
        name, scope = node.name, node.scope
        if name in self.constants:
            value = self.constants[name]
            if not self.traced:
                return lambda ctx: value

            recorded = self.constant_reads.get(name, ())

            def traced_constant(ctx):
                ctx.trace.extend(recorded)
                ctx.trace.append(("let", name, (), value))
                return value
            return traced_constant
        keys = tuple(self.expr(k) for k in node.key)
        traced = self.traced
        builder = self

        def run(ctx, key_values):
            fn, size, _ = builder.let(name)
            frame = [UNSET] * size
            claim = ctx.claim
            if scope == "claim":
                frame[0] = claim.lines
            elif scope == "date":
                day = key_values[0]
                frame[0] = claim.days.get(day, [])
                frame[1] = day
            elif scope == "code":
                code, day = key_values
                frame[0] = [line for line in claim.days.get(day, ()) if line["code"] == code]
                frame[1] = code
                frame[2] = day
            else:
                frame[0] = claim.lines
                frame[1] = key_values[0]
            saved = ctx.frame
            ctx.frame = frame
            try:
                return fn(ctx)
            finally:
                ctx.frame = saved

        def key_of(ctx):
            if scope == "line":
                return (name, ctx_line_index(keys[0](ctx)))
            return (name,) + tuple(k(ctx) for k in keys)

        if not traced:
            def fast(ctx):
                key = key_of(ctx)
                cached = ctx.cache.get(key)
                if cached is None:
                    try:
                        value = run(ctx, tuple(k(ctx) for k in keys))
                    except Unknown as error:
                        ctx.cache[key] = _Raised(error)
                        raise
                    ctx.cache[key] = (value,)
                    return value
                if type(cached) is _Raised:
                    raise cached.error
                return cached[0]
            return fast

        def slow(ctx):
            key = key_of(ctx)
            outer = ctx.trace
            ctx.trace = []
            try:
                value = run(ctx, tuple(k(ctx) for k in keys))
            except Unknown:
                outer.extend(ctx.trace)
                raise
            finally:
                reads = ctx.trace
                ctx.trace = outer
            outer.extend(reads)
            outer.append(("let", name, key[1:], value))
            return value
        return slow

    def _Lookup(self, node: ir.Lookup) -> Fn:
        table = self.c.tables[node.table]
        rows = table.rows
        keys = tuple(self.expr(k) for k in node.keys)
        name = node.table
        if len(keys) == 1:
            only = keys[0]
            key_of = lambda ctx: (only(ctx),)  # noqa: E731
        elif len(keys) == 2:
            first, second = keys
            key_of = lambda ctx: (first(ctx), second(ctx))  # noqa: E731
        else:
            key_of = lambda ctx: tuple(k(ctx) for k in keys)  # noqa: E731
        if not self.traced:
            return lambda ctx: rows.get(key_of(ctx), NO_ROW)

        def traced(ctx):
            key = key_of(ctx)
            row = rows.get(key, NO_ROW)
            ctx.trace.append(("row", name, key, row is not NO_ROW))
            return row
        return traced

    def _RowField(self, node: ir.RowField) -> Fn:
        base = self.expr(node.base)
        index, table, column = node.index, node.table, node.column

        return lambda ctx: row_column(base(ctx), index, table, column)

    def _Call(self, node: ir.Call) -> Fn:
        # Built-ins raise NoValue (a NoData) when they have no answer: no wrapper needed.
        impl = B.BUILTINS[node.function].build([a.type for a in node.args])
        args = tuple(self.expr(a) for a in node.args)
        if not args:
            return lambda ctx: impl()
        if len(args) == 1:
            (a,) = args
            return lambda ctx: impl(a(ctx))
        if len(args) == 2:
            a, b = args
            return lambda ctx: impl(a(ctx), b(ctx))
        return lambda ctx: impl(*(f(ctx) for f in args))

    def _Arith(self, node: ir.Arith) -> Fn:
        fn = _concat if node.type.name == "list" else _arith(node.op, node.left.type.name, node.right.type.name)
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda ctx: fn(left(ctx), right(ctx))

    def _Compare(self, node: ir.Compare) -> Fn:
        fn = _COMPARE[node.op]
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda ctx: fn(left(ctx), right(ctx))

    def _Logic(self, node: ir.Logic) -> Fn:
        operands = []

        def flatten(n):
            if isinstance(n, ir.Logic) and n.op == node.op:
                flatten(n.left)
                flatten(n.right)
            else:
                operands.append(self.expr(n))
        flatten(node)
        if len(operands) == 2:
            return self._logic(node.op, operands[0], operands[1])
        return _n_ary(node.op == "or", tuple(operands))

    @staticmethod
    def _logic(op: str, left: Fn, right: Fn) -> Fn:
        return _n_ary(op == "or", (left, right))

    def _Not(self, node: ir.Not) -> Fn:
        return self._not(self.expr(node.operand))

    @staticmethod
    def _not(operand: Fn) -> Fn:
        return lambda ctx: not yes_no(operand, ctx)

    def _Negate(self, node: ir.Negate) -> Fn:
        operand = self.expr(node.operand)
        return lambda ctx: -operand(ctx)

    def _contains(self, collection_node) -> Callable:
        """A function (ctx, value) -> bool testing membership in the collection."""
        if isinstance(collection_node, ir.SetRef) and collection_node.kind == "codeset":
            codeset = self.c.codesets[collection_node.name]
            name = codeset.name
            if codeset.prefixes or codeset.ranges:
                test = codeset.__contains__
            else:
                test = codeset.codes.__contains__
            if not self.traced:
                return lambda ctx, value: test(value)

            def traced(ctx, value):
                result = test(value)
                ctx.trace.append(("member", name, value, result))
                return result
            return traced
        if isinstance(collection_node, ir.SetRef) and collection_node.kind == "table":
            table = self.c.tables[collection_node.name]
            rows, name = table.rows, table.name
            if not self.traced:
                return lambda ctx, value: (value,) in rows

            def traced_row(ctx, value):
                result = (value,) in rows
                ctx.trace.append(("row", name, (value,), result))
                return result
            return traced_row
        collection = self.expr(collection_node)
        return lambda ctx, value: value in collection(ctx)

    def _Member(self, node: ir.Member) -> Fn:
        element = self.expr(node.element)
        contains = self._contains(node.collection)
        if node.negated:
            return lambda ctx: not contains(ctx, element(ctx))
        return lambda ctx: contains(ctx, element(ctx))

    def _Has(self, node: ir.Has) -> Fn:
        items = self.expr(node.items)
        contains = self._contains(node.collection)
        quantifier = node.quantifier
        if quantifier == "any":
            return lambda ctx: any(contains(ctx, v) for v in items(ctx))
        if quantifier == "all":
            return lambda ctx: all(contains(ctx, v) for v in items(ctx))
        return lambda ctx: not any(contains(ctx, v) for v in items(ctx))

    def _Mentions(self, node: ir.Mentions) -> Fn:
        text = self.expr(node.text)
        quantifier = node.quantifier
        phrases_node = node.phrases
        if isinstance(phrases_node, ir.SetRef):
            matcher = self.phrases[phrases_node.name]
        elif isinstance(phrases_node, ir.Const):
            matcher = PhraseMatcher(repr(phrases_node.value), [phrases_node.value])
        else:
            dynamic = self.expr(phrases_node)

            def dynamic_mentions(ctx):
                phrases = dynamic(ctx)
                phrases = tuple(phrases) if isinstance(phrases, (list, tuple)) else (phrases,)
                return _mentions(cached_matcher(phrases), text(ctx), quantifier)
            return dynamic_mentions
        if not self.traced:
            if quantifier == "any":
                found = matcher.any
                return lambda ctx: found(text(ctx))
            return lambda ctx: _mentions(matcher, text(ctx), quantifier)

        def traced(ctx):
            value = text(ctx)
            for phrase in matcher.matched(value):
                ctx.trace.append(("phrase", matcher.name, phrase))
            return _mentions(matcher, value, quantifier)
        return traced

    def _IsTest(self, node: ir.IsTest) -> Fn:
        test, negated = node.test, node.negated
        operand = node.operand

        def verdict(value) -> bool:
            return absence_verdict(value, test, negated)

        if isinstance(operand, ir.GetField):
            base = self.expr(operand.base)
            name = operand.name

            def field_test(ctx):
                try:
                    obj = base(ctx)
                except Missing as missing:
                    if missing.null:  # a container known to be empty: its fields are missing
                        return verdict(None)
                    raise
                if test == "null" and name not in obj:
                    # `is null` asks whether the claim says "none"; absent means unknown.
                    raise Missing(obj.ptr + "/" + name)
                return verdict(obj.get(name))
            return field_test
        value_fn = self.expr(operand)

        def value_test(ctx):
            try:
                value = value_fn(ctx)
            except NoData:
                value = None
            return verdict(value)
        return value_test

    def _Filter(self, node: ir.Filter) -> Fn:
        collection, condition, slot = self.expr(node.collection), self.expr(node.condition), node.slot

        def filtered(ctx):
            frame = ctx.frame
            out = []
            for item in collection(ctx):
                frame[slot] = item
                try:
                    keep = condition(ctx)
                except NoData:
                    # The condition needs table data this element does not have (an empty
                    # optional cell): it cannot hold for this element. Missing claim data
                    # still makes the whole list unknown.
                    continue
                if keep:
                    out.append(item)
            return out
        return filtered

    def _Map(self, node: ir.Map) -> Fn:
        collection, value, slot = self.expr(node.collection), self.expr(node.value), node.slot

        def mapped(ctx):
            frame = ctx.frame
            out = []
            for item in collection(ctx):
                frame[slot] = item
                out.append(value(ctx))
            return out
        return mapped

    def _Conditional(self, node: ir.Conditional) -> Fn:
        condition, then, other = self.expr(node.condition), self.expr(node.then), self.expr(node.otherwise)
        return lambda ctx: then(ctx) if yes_no(condition, ctx) else other(ctx)

    def _ListLit(self, node: ir.ListLit) -> Fn:
        items = tuple(self.expr(i) for i in node.items)
        return lambda ctx: [f(ctx) for f in items]

    def _Otherwise(self, node: ir.Otherwise) -> Fn:
        left, right = self.expr(node.left), self.expr(node.right)

        def otherwise(ctx):
            try:
                return left(ctx)
            except Unknown:
                return right(ctx)
        return otherwise


def yes_no(fn: Fn, ctx):
    """A yes/no value where table data it needs is absent: that is a no (NoData), so
    `not` and `unless` turn it into a yes. Missing claim data still propagates."""
    try:
        return fn(ctx)
    except NoData:
        return False


def _n_ary(decisive: bool, operands: tuple) -> Fn:
    """`a and b and c ...` (decisive False) or `a or b or c ...` (decisive True), with
    three-valued logic. The deciding value wins; otherwise the first operand, in the
    order written, that needs claim data the claim lacks makes the whole unknown; absent
    table data counts as no. The same rule holds in generated code (codegen.py)."""

    def chain(ctx):
        missing = None
        for operand in operands:
            try:
                value = operand(ctx)
            except NoData:
                value = False
            except Missing as error:
                if missing is None:
                    missing = error
                continue
            if value is decisive:
                return decisive
        if missing is not None:
            raise missing
        return not decisive
    return chain


def ctx_line_index(line) -> int:
    return line["index"]
