"""A prepared rulebook: what `evaluate.prepare(compiled)` returns.

It holds what is decided before any claim (plan.py: constant definitions, dead rules,
guards) and the generated functions of every rule (codegen.py), in the fast form; the
traced form is generated the first time a finding is explained or a replay attributes
one. A program is immutable once built and is shared between threads; each evaluation
has its own `Ctx`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from payerlint.evaluate.functions import icd10_codes
from payerlint.compile import ir
from payerlint.evaluate import codegen
from payerlint.evaluate import plan
from payerlint.evaluate.phrases import PhraseMatcher
from payerlint.evaluate.values import UNSET, Unknown


class Ctx:
    """Per-claim evaluation state. Never shared between threads."""

    __slots__ = ("claim", "root", "cache", "trace", "many", "shared")

    def __init__(self, claim):
        self.claim = claim
        self.root = claim.root
        self.cache: dict = {}
        self.trace: list | None = None
        lines = claim.lines
        self.many = len(lines) > 1
        """More than one line: a line rule's binding that reads no line field, or only its
        date, is worth keeping for the next line (codegen._binder)."""
        self.shared = self.many and len({line["code"] for line in lines}) < len(lines)
        """Two lines share a code: a binding kept by a line's code may be read again."""


@dataclass(frozen=True)
class RuleCode:
    """The generated functions of one rule."""

    rule: ir.Rule
    run: Any
    """Fast form only: run(ctx, emit, skipped) walks the scope and calls
    emit(rule index, frame, line, initial frame) for each instance that fires; None for
    a rule run inside a shared function (`Program.runners`)."""
    condition: Any
    """Traced form only: condition(ctx, f) -> bool, raising Missing or NoData."""
    binders: tuple
    """(slot, fn(ctx, f)) for each `with` binding, computed when first read."""
    message: tuple
    """Traced form only: text, or (fn(ctx, f), type) for each placeholder, run for what
    they read (an explanation lists what the message shows)."""
    say: Any
    """Fast form only: say(ctx, f) -> the message, placeholders filled in (`codegen.renderer`)."""
    fixes: tuple
    """(op, path fn(ctx, f) -> str, value fn, value type, loop slot, loop fn) for each fix."""
    parts: tuple = ()
    """Traced form only: (fn(ctx, f) -> bool, span, whether it is a part of `when` rather
    than the `unless`, read negated) for each part of the rule's condition, in order."""


class _NoClaim:
    """Stands in for a claim while constant definitions are computed (they read none)."""

    root: dict = {}
    lines: list = []
    days: dict = {}
    groups: list = []


class Program:
    """Every generated function of a rulebook, ready to check claims."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.matchers = {name: PhraseMatcher(name, p.phrases) for name, p in compiled.phrases.items()}
        self.constants, self.constant_reads = _constant_definitions(compiled, self.matchers)
        gen = codegen.Gen(compiled, self.constants, self.constant_reads, self.matchers, traced=False)
        built = []
        for rule in compiled.rules:
            guard = plan.guard_for(rule, compiled, self.constants)
            if guard.dead:
                continue  # a constant part of its `and` is false in this rulebook
            built.append((rule, gen.rule(rule, guard, len(built))))
        fused = gen.fuse()
        ns = gen.build(compiled.id)
        self.source = ns["__source__"]
        """The generated Python, for reading (and for the curious: `program.source`)."""
        self.rules = tuple(_code(ns, rule, parts) for rule, parts in built)
        # What evaluate calls: ('claim' or 'other', run(ctx, emit, skipped)); the rules for
        # the claim and the line rules each run in one function (codegen.fuse).
        self.runners = tuple((kind, ns[name]) for kind, name in fused) + tuple(
            ("claim" if code.rule.scope == "claim" else "other", code.run) for code in self.rules
            if code.run is not None)
        self._traced: dict[str, RuleCode] | None = None
        self._lock = threading.Lock()
        self.code_sets = code_sets_used(compiled)
        """The external code-set releases this rulebook's rules consult, for the result."""

    def traced(self, rule_id: str) -> RuleCode:
        """The traced form of a rule (all rules are generated together, on first use)."""
        with self._lock:
            if self._traced is None:
                gen = codegen.Gen(self.compiled, self.constants, self.constant_reads, self.matchers, traced=True)
                parts = [(rule, gen.rule(rule, None)) for rule in self.compiled.rules]
                ns = gen.build(self.compiled.id + " traced")
                self._traced = {rule.id: _code(ns, rule, made) for rule, made in parts}
        return self._traced[rule_id]


def _code(ns: dict, rule: ir.Rule, parts: dict) -> RuleCode:
    def fn(name):
        return ns[name] if name is not None else None

    message = tuple(part if isinstance(part, str) else (ns[part[0]], part[1]) for part in parts["message"])
    fixes = tuple(
        (op, ns[path], fn(value), value_type, loop_slot, fn(loop))
        for op, path, value, value_type, loop_slot, loop in parts["fixes"])
    return RuleCode(rule, fn(parts.get("run")), fn(parts.get("condition")),
                    tuple((slot, ns[name]) for slot, name in parts["binders"]), message, fn(parts.get("say")), fixes,
                    tuple((ns[name], span, when) for name, span, when in parts.get("parts", ())))


def _constant_definitions(compiled, matchers) -> tuple[dict, dict]:
    """(value, reads) of each definition that reads no claim data. The reads (params,
    tables, code sets) are kept so an explanation or a replay still sees them."""
    constants: dict = {}
    reads: dict = {}
    for name, let in compiled.lets.items():  # dependencies come first
        if plan.reads_claim(let.expr, let.scope, constants):
            continue
        gen = codegen.Gen(compiled, constants, reads, matchers, traced=True)
        fn = gen.value_function(let.expr)
        ns = gen.build(f"{compiled.id} constant {name}")
        ctx = Ctx(_NoClaim())
        ctx.trace = []
        try:
            constants[name] = ns[fn](ctx, [UNSET] * let.frame_size)
        except Unknown:
            continue
        reads[name] = tuple(ctx.trace)
    return constants, reads


def code_sets_used(compiled) -> dict:
    """Which external code-set releases a rulebook's rules consult (the result names them)."""
    if any(name.startswith("icd10_") for name in compiled.functions_used):
        return {"code_sets": {"icd10cm": icd10_codes().release.name}}
    return {}
