"""Rule conditions as generated Python source, for speed.

The closures of program.py cost one Python call per tree node; a rule condition is a
few dozen nodes, run for every line of every claim. Generating one Python function per
condition from the same typed IR runs the common nodes (field reads, comparisons,
membership in a code set, table look-ups, `and`/`or`) as plain Python expressions,
several times faster, with the same three-valued semantics:

- a value that can be unknown (an optional claim field, a definition, a table column, a
  built-in) raises Missing or NoData exactly as the closures do;
- `and` / `or` whose parts cannot be unknown become Python's own; otherwise they become
  statements that let the deciding value win over an unknown part (Kleene logic);
- a `where` skips an element whose condition needs table data it does not have.

Anything the generator does not handle is delegated to the closure for that node, so the
generator can only ever be faster, never different. The closures stay the reference:
they produce explanations and replay traces, and `PAYERLINT_NO_CODEGEN=1` runs on them
alone (a differential test compares both on a claim corpus).
"""

from __future__ import annotations

import itertools
import json
import os
from functools import lru_cache
from importlib import resources

from payerlint import builtins as B
from payerlint.compile import ir
from payerlint.evaluate.values import (NO_ROW, UNSET, Missing, NoData, Unknown, absence_verdict, divide,
                                      row_column, shift_date)

ENABLED = os.environ.get("PAYERLINT_NO_CODEGEN", "") in ("", "0")


def _get(obj, key):
    value = obj.get(key)
    if value is None:
        raise Missing(obj.ptr + "/" + key, key in obj)
    return value


def _verdict(value, test) -> bool:
    return absence_verdict(value, test[0], test[1])


def _is_field(base, name, test) -> bool:
    """`x.name is missing|present|blank|null` with the closures' semantics (program.py)."""
    try:
        obj = base()
    except Missing as missing:
        if missing.null:
            return _verdict(None, test)
        raise
    if test[0] == "null" and name not in obj:
        raise Missing(obj.ptr + "/" + name)
    return _verdict(obj.get(name), test)


def _is_value(value, test) -> bool:
    try:
        found = value()
    except NoData:
        found = None
    return _verdict(found, test)


@lru_cache(maxsize=1)
def always_present() -> dict[str, frozenset]:
    """For each claim object, the fields that are never absent or null once the claim has
    passed the schema: required and not nullable, or filled in by a default, or added by
    the claim model (`index`, a line's `date`). Reading them cannot be unknown."""
    schema = json.loads(resources.files("payerlint.schemas").joinpath("claim.schema.json").read_text("utf-8"))

    def deref(node):
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
        return node

    found: dict[str, set] = {}

    def walk(node, name):
        node = deref(node)
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "object" in types:
            present = set()
            for key, sub in node.get("properties", {}).items():
                sub_node = deref(sub)
                sub_types = sub_node.get("type")
                sub_types = sub_types if isinstance(sub_types, list) else [sub_types]
                if (key in node.get("required", ()) and "null" not in sub_types) or "default" in sub_node:
                    present.add(key)
                walk(sub, key)
            found[name] = present
        elif "array" in types and "items" in node:
            item = deref(node["items"])
            if item.get("type") == "object" or "properties" in item:
                walk(item, {"lines": "line", "interventions": "intervention"}.get(name, name))
                found[{"lines": "line", "interventions": "intervention"}.get(name, name)].add("index")

    walk(schema, "claim")
    found["line"] |= {"date", "index"}
    return {name: frozenset(fields) for name, fields in found.items()}


class _Gen:
    """Generates the source of one condition; `ns` collects the objects it refers to."""

    def __init__(self, builder, compiled, binding_slots: dict):
        self.builder = builder            # the closure builder, for delegated nodes
        self.c = compiled
        self.binding_slots = binding_slots
        from payerlint.evaluate.program import _Raised

        self.ns: dict = {"_get": _get, "_column": row_column, "_shift": shift_date, "_divide": divide,
                         "_is_field": _is_field, "_is_value": _is_value, "_Raised": _Raised, "_yes_no": _yes_no,
                         "Unknown": Unknown, "NoData": NoData, "Missing": Missing, "NO_ROW": NO_ROW, "UNSET": UNSET}
        self.helpers: list[str] = []
        self.counter = itertools.count()

    def name(self, value, prefix="_k") -> str:
        key = f"{prefix}{next(self.counter)}"
        self.ns[key] = value
        return key

    # -- "can this raise Unknown?"
    def total(self, node) -> bool:
        if isinstance(node, (ir.Const, ir.ParamRef, ir.SetRef, ir.ClaimRoot)):
            return True
        if isinstance(node, ir.DefRef):
            return node.name in self.builder.constants
        if isinstance(node, ir.Slot):
            return node.index not in self.binding_slots
        if isinstance(node, ir.GetField):
            obj = node.base.type.object
            present = always_present().get(obj.name if obj else "", frozenset())
            return node.name in present and self.total(node.base)
        if isinstance(node, (ir.Compare, ir.Member, ir.Not, ir.Conditional, ir.ListLit, ir.Lookup, ir.Logic)):
            return all(self.total(child) for child in _children(node))
        if isinstance(node, ir.Arith):
            # Dates can overflow the calendar and division can be by zero: both may be unknown.
            return (node.op in ("+", "-", "*") and "date" not in (node.left.type.name, node.right.type.name)
                    and all(self.total(child) for child in _children(node)))
        return False

    # -- expressions
    def expr(self, node) -> str:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            return self.delegate(node)
        return method(node)

    def delegate(self, node) -> str:
        """A node left to its closure."""
        return f"{self.name(self.builder.expr(node), '_x')}(ctx)"

    def _Const(self, node):
        if node.value is None or isinstance(node.value, (bool, int, str)):
            return repr(node.value)
        return self.name(node.value)

    def _ParamRef(self, node):
        return self.name(self.c.params[node.name].value)

    def _SetRef(self, node):
        return self.delegate(node)

    def _DefRef(self, node):
        if node.name in self.builder.constants:  # a definition that reads no claim data
            return self.name(self.builder.constants[node.name])
        # The per-claim cache is read inline; on a miss (or a cached unknown) the closure
        # computes, caches and raises exactly as it always does.
        closure = self.name(self.builder.expr(node), "_x")
        if node.scope == "claim":
            key = repr((node.name,))
        elif node.scope == "line":
            key = f"({node.name!r}, {self.expr(node.key[0])}['index'])"
        else:
            key = "(" + ", ".join([repr(node.name)] + [self.expr(k) for k in node.key]) + ")"
        hit = f"_c{next(self.counter)}"
        return f"({hit}[0] if type({hit} := ctx.cache.get({key})) is tuple else {closure}(ctx))"

    def _IsTest(self, node):
        operand = node.operand
        test = self.name((node.test, node.negated), "_test")
        if isinstance(operand, ir.GetField):
            return f"_is_field(lambda: {self.expr(operand.base)}, {operand.name!r}, {test})"
        return f"_is_value(lambda: {self.expr(operand)}, {test})"

    def _Slot(self, node):
        if node.index in self.binding_slots:
            # A lazy `with` binding: read it when computed, else let its closure compute it once.
            lazy = self.name(self.builder.expr(node), "_x")
            held = f"_v{next(self.counter)}"
            return (f"({held} if ({held} := f[{node.index}]) is not UNSET and type({held}) is not _Raised "
                    f"else {lazy}(ctx))")
        return f"f[{node.index}]"

    def _ClaimRoot(self, node):
        return "ctx.root"

    def _GetField(self, node):
        base = self.expr(node.base)
        obj = node.base.type.object
        if obj is not None and node.name in always_present().get(obj.name, ()) and self.total(node.base):
            return f"{base}[{node.name!r}]"
        return f"_get({base}, {node.name!r})"

    def _Lookup(self, node):
        rows = self.name(self.c.tables[node.table].rows, "_rows")
        keys = ", ".join(self.expr(k) for k in node.keys)
        return f"{rows}.get(({keys},), NO_ROW)"

    def _RowField(self, node):
        return f"_column({self.expr(node.base)}, {node.index}, {node.table!r}, {node.column!r})"

    def _Call(self, node):
        phrases = node.args[1] if node.function in ("phrases_found", "services_found") and len(node.args) == 2 else None
        if isinstance(phrases, ir.DefRef) and isinstance(self.builder.constants.get(phrases.name), (list, tuple)):
            # The phrase list is the same for every claim (a table column): build its
            # matcher once instead of looking it up by the whole list on every call.
            from payerlint.evaluate.phrases import cached_matcher, cached_service_matcher

            build = cached_matcher if node.function == "phrases_found" else cached_service_matcher
            matcher = self.name(build(tuple(self.builder.constants[phrases.name])), "_matcher")
            texts = self.expr(node.args[0])
            held = f"_t{next(self.counter)}"
            return f"{matcher}.found([{held}] if isinstance({held} := {texts}, str) else {held})"
        impl = self.name(B.BUILTINS[node.function].build([a.type for a in node.args]), "_fn")
        return f"{impl}({', '.join(self.expr(a) for a in node.args)})"

    def _Arith(self, node):
        left, right = self.expr(node.left), self.expr(node.right)
        lt, rt = node.left.type.name, node.right.type.name
        if node.type.name == "list":
            return f"(list({left}) + list({right}))"
        if node.op == "/":
            return f"_divide({left}, {right})"
        if lt == "date" and rt == "date":
            return f"({left} - {right}).days"
        if lt == "date":
            return f"_shift({left}, {right})" if node.op == "+" else f"_shift({left}, -({right}))"
        if rt == "date":
            return f"_shift({right}, {left})"
        return f"({left} {node.op} {right})"

    def _Compare(self, node):
        op = "==" if node.op == "=" else node.op
        return f"({self.expr(node.left)} {op} {self.expr(node.right)})"

    def _Not(self, node):
        if self.total(node.operand):
            return f"(not {self.expr(node.operand)})"
        return f"(not _yes_no(lambda: {self.expr(node.operand)}))"

    def _Negate(self, node):
        return f"(-{self.expr(node.operand)})"

    def _Member(self, node):
        element = self.expr(node.element)
        collection = node.collection
        if isinstance(collection, ir.SetRef) and collection.kind == "codeset":
            codeset = self.c.codesets[collection.name]
            test = (self.name(codeset.codes, "_codes") if not (codeset.prefixes or codeset.ranges)
                    else self.name(codeset, "_set"))
            expr = f"({element} in {test})"
        elif isinstance(collection, ir.SetRef) and collection.kind == "table":
            expr = f"(({element},) in {self.name(self.c.tables[collection.name].rows, '_rows')})"
        else:
            expr = f"({element} in {self.expr(collection)})"
        return f"(not {expr})" if node.negated else expr

    def _Conditional(self, node):
        condition = self.expr(node.condition)
        if not self.total(node.condition):
            condition = f"_yes_no(lambda: {condition})"
        return f"({self.expr(node.then)} if {condition} else {self.expr(node.otherwise)})"

    def _ListLit(self, node):
        return "[" + ", ".join(self.expr(i) for i in node.items) + "]"

    def _Logic(self, node):
        parts = _flatten(node)
        if all(self.total(p) for p in parts):
            return "(" + f" {node.op} ".join(self.expr(p) for p in parts) + ")"
        return f"{self.helper_logic(node.op, parts)}(ctx, f)"

    def helper_logic(self, op: str, parts) -> str:
        """Three-valued and/or as statements, as program._n_ary: the deciding value wins;
        otherwise the first missing claim value, in order; absent table data is no."""
        decisive = "True" if op == "or" else "False"
        name = f"_logic{next(self.counter)}"
        body = [f"def {name}(ctx, f):"] + _chain(self, parts, op, decisive)
        self.helpers.append("\n".join(body))
        return name

    def _Filter(self, node):
        name = f"_filter{next(self.counter)}"
        collection, condition = self.expr(node.collection), self.expr(node.condition)
        if self.total(node.condition):
            loop = [f"        if {condition}:", "            out.append(item)"]
        else:
            loop = ["        try:", f"            keep = {condition}", "        except NoData:", "            continue",
                    "        if keep:", "            out.append(item)"]
        self.helpers.append("\n".join([f"def {name}(ctx, f):", "    out = []", f"    for item in {collection}:",
                                       f"        f[{node.slot}] = item", *loop, "    return out"]))
        return f"{name}(ctx, f)"

    def _Map(self, node):
        name = f"_map{next(self.counter)}"
        collection, value = self.expr(node.collection), self.expr(node.value)
        self.helpers.append("\n".join([f"def {name}(ctx, f):", "    out = []", f"    for item in {collection}:",
                                       f"        f[{node.slot}] = item", f"        out.append({value})",
                                       "    return out"]))
        return f"{name}(ctx, f)"


def _chain(gen, parts, op: str, decisive: str) -> list[str]:
    """The body lines of a three-valued and/or over `parts` (see program._n_ary)."""
    body = ["    missing = None"]
    for part in parts:
        test = gen.expr(part)
        check = f"if {test}:" if op == "or" else f"if not {test}:"
        if gen.total(part):
            body += [f"    {check}", f"        return {decisive}"]
        elif op == "and":
            body += ["    try:", f"        {check}", f"            return {decisive}",
                     "    except NoData:", f"        return {decisive}",
                     "    except Missing as error:", "        if missing is None:", "            missing = error"]
        else:
            body += ["    try:", f"        {check}", f"            return {decisive}",
                     "    except NoData:", "        pass",
                     "    except Missing as error:", "        if missing is None:", "            missing = error"]
    body += ["    if missing is not None:", "        raise missing", f"    return {'False' if op == 'or' else 'True'}"]
    return body


def _yes_no(thunk):
    try:
        return thunk()
    except NoData:
        return False


def _children(node):
    for value in (getattr(node, field) for field in node.__dataclass_fields__ if field not in ("span", "type")):
        if isinstance(value, tuple):
            yield from (v for v in value if hasattr(v, "__dataclass_fields__"))
        elif hasattr(value, "__dataclass_fields__"):
            yield value


def _flatten(node):
    if isinstance(node.left, ir.Logic) and node.left.op == node.op:
        left = _flatten(node.left)
    else:
        left = [node.left]
    if isinstance(node.right, ir.Logic) and node.right.op == node.op:
        right = _flatten(node.right)
    else:
        right = [node.right]
    return left + right


def value(builder, compiled, expr, label: str, binding_slots: dict | None = None):
    """A Python function `compute(ctx)` for a definition's or a binding's expression."""
    gen = _Gen(builder, compiled, binding_slots or {})
    body = ["def compute(ctx):", "    f = ctx.frame", f"    return {gen.expr(expr)}"]
    source = "\n\n".join(gen.helpers + ["\n".join(body)])
    exec(compile(source, f"<definition {label}>", "exec"), gen.ns)  # noqa: S102 - generated from the rulebook
    compute = gen.ns["compute"]
    compute.source = source
    return compute


def condition(builder, compiled, rule: ir.Rule, binding_slots: dict):
    """A Python function `check(ctx) -> bool` for the rule's `when` (and `unless`)."""
    gen = _Gen(builder, compiled, binding_slots)
    when = rule.when
    parts = _flatten(when) if isinstance(when, ir.Logic) and when.op == "and" else [when]
    if rule.unless is not None:
        parts = parts + [ir.Not(rule.unless, rule.unless.type, rule.unless.span)]
    constants = gen.builder.constants
    parts = [p for p in parts if not (isinstance(p, ir.DefRef) and constants.get(p.name) is True)]
    body = ["def check(ctx):", "    f = ctx.frame"] + _chain(gen, parts, "and", "False")
    source = "\n\n".join(gen.helpers + ["\n".join(body)])
    code = compile(source, f"<rule {rule.id}>", "exec")
    exec(code, gen.ns)  # noqa: S102 - source generated from the compiled rulebook only
    check = gen.ns["check"]
    check.source = source
    return check
