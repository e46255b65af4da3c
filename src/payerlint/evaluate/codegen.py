"""A prepared rulebook as generated Python: one generator, two evaluators.

`prepare` turns the compiled rulebook's typed IR into Python source once, and `exec`s it:

- a function per rule that walks its scope's instances (each line, each pair of lines,
  each date, each code on each date, or the claim), skips the instances that the cheap,
  exact parts of its `and` rule out (`code in timed`, `first.date = second.date`, a PTP
  row for the pair: see plan.py), tests the rest of its condition, and hands each firing
  instance to the engine;
- a function per definition, memoised per claim by its key;
- a function per `with` binding, computed the first time it is read.

Asked for the traced form, the same generator emits the same code with a record of every
read (params, definitions, table rows, code-set and phrase tests). That form explains a
finding (`--explain`) and attributes a replay difference; it runs only for those. There is
no other interpreter: the generator is the one source of truth for what an expression
means, and a differential test runs both forms over a claim corpus.

Three-valued logic, as ARCHITECTURE.md states it: reading a value the claim lacks raises
`Missing`; a table key with no row, an empty cell, or a computation with no answer raises
`NoData`, which a yes/no treats as no. `and`/`or` let the deciding value win over an
unknown part, in the order written; a `where` skips an element whose condition needs table
data it lacks. A part that can never be unknown (`total`) is tested as plain Python.
"""

from __future__ import annotations

import itertools
import json
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

from payerlint.evaluate.functions import IMPLEMENTATIONS, MEMOISED
from payerlint.compile import ir
from payerlint.compile import types as T
from payerlint.evaluate import runtime as R
from payerlint.evaluate.plan import and_parts
from payerlint.evaluate.values import format_value

# How the frame of each scope starts (see compile/resolve.py SCOPE_SLOTS).
SCOPE_SIZE = {"claim": 1, "line": 2, "pair": 3, "date": 2, "code": 3}


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
    item_names = {"lines": "line", "interventions": "intervention"}

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
                walk(item, item_names.get(name, name))
                found[item_names.get(name, name)].add("index")

    walk(schema, "claim")
    found["line"] |= {"date", "index"}
    return {name: frozenset(fields) for name, fields in found.items()}


class Gen:
    """Generates the Python source of one rulebook (fast or traced); `ns` holds the
    objects the source refers to by name."""

    def __init__(self, compiled, constants: dict, constant_reads: dict, matchers: dict, traced: bool):
        self.c = compiled
        self.constants = constants
        self.constant_reads = constant_reads
        self.matchers = matchers
        self.traced = traced
        self.ns: dict = dict(R.NAMESPACE)
        self.defs: list[str] = []
        self.counter = itertools.count()
        self.bindings: dict[int, str] = {}
        """Slot -> binder function, for the `with` bindings of the rule being generated."""
        self.lets: dict[str, str] = {}
        self.locals: dict[int, str] = {}
        """Slot -> local variable, inside a rule's scope loop (not inside helpers)."""
        self.by_code: dict[int, frozenset] = {}
        """Line rules: slot 0 (the claim's lines) and the `with` bindings that read the line
        only as its code (`_binder`); empty otherwise."""
        self.index_keys: dict = {}
        """(list expression, field) -> the per-claim cache key of its index (`_filter`)."""
        self.fused: dict[str, list[tuple]] = {"claim": [], "line": []}
        """(frame size, body) of each rule run in one shared loop (see `fuse`)."""

    # -- names
    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def const(self, value, prefix: str = "_k") -> str:
        name = self.fresh(prefix)
        self.ns[name] = value
        return name

    @contextmanager
    def in_helper(self):
        """Code for a helper function, which sees the frame `f`, not the loop's locals."""
        saved, self.locals = self.locals, {}
        try:
            yield
        finally:
            self.locals = saved

    def helper(self, prefix: str, body: list[str]) -> str:
        """A module-level function `name(ctx, f)` with `body` (lines indented by 4)."""
        name = self.fresh(prefix)
        self.defs.append("\n".join([f"def {name}(ctx, f):", *body]))
        return name

    # -- can this raise Unknown?
    def total(self, node) -> bool:
        if isinstance(node, (ir.Const, ir.ParamRef, ir.SetRef, ir.ClaimRoot)):
            return True
        if isinstance(node, ir.DefRef):
            return node.name in self.constants
        if isinstance(node, ir.Slot):
            return node.index not in self.bindings
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

    # -- expressions: each returns a Python expression over `ctx` and the frame `f`
    def expr(self, node) -> str:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node):
        if node.value is None or isinstance(node.value, (bool, int, str)):
            return repr(node.value)
        return self.const(node.value)

    def _ParamRef(self, node):
        value = self.const(self.c.params[node.name].value, "_p")
        return f"_t_param(ctx, {node.name!r}, {value})" if self.traced else value

    def _SetRef(self, node):
        if node.kind == "codeset":
            return self.const(self.c.codesets[node.name], "_set")
        if node.kind == "phrases":
            return self.const(self.matchers[node.name], "_phr")
        table = self.c.tables[node.name]
        if node.type.name == "list":  # a table read as the list of its rows
            rows = self.const(tuple(table.rows.values()), "_rows")
            return f"_t_table(ctx, {node.name!r}, {rows})" if self.traced else rows
        return self.const(table, "_tab")

    def _ClaimRoot(self, node):
        return "ctx.root"

    def _Slot(self, node):
        binder = self.bindings.get(node.index)
        if binder is None:
            return self.locals.get(node.index) or f"f[{node.index}]"
        v = self.fresh("_v")
        return f"({v} if ({v} := f[{node.index}]) is not UNSET and {v}.__class__ is not _Raised else {binder}(ctx, f))"

    def _GetField(self, node):
        base = self.expr(node.base)
        obj = node.base.type.object
        if obj is not None and node.name in always_present().get(obj.name, ()) and self.total(node.base):
            return f"{base}[{node.name!r}]"
        b, v = self.fresh("_o"), self.fresh("_v")
        return f"({v} if ({v} := ({b} := {base}).get({node.name!r})) is not None else _missing({b}, {node.name!r}))"

    def _DefRef(self, node):
        name = node.name
        if name in self.constants:  # a definition that reads no claim data
            value = self.const(self.constants[name], "_c")
            if self.traced:
                reads = self.const(self.constant_reads.get(name, ()), "_reads")
                return f"_t_constant(ctx, {name!r}, {reads}, {value})"
            return value
        fn = self.let_function(name)
        keys = [self.expr(k) for k in node.key]
        if self.traced:
            return f"{fn}(ctx, {', '.join(keys)})"
        # The per-claim cache is read inline; on a miss the function computes and keeps it.
        hit = self.fresh("_h")
        held = [self.fresh("_a") for _ in keys]
        if node.scope == "claim":
            key = self.const((name,), "_key")
        elif node.scope == "line":
            key = f"({name!r}, ({held[0]} := {keys[0]})['index'])"
        else:
            key = "(" + ", ".join([repr(name)] + [f"({h} := {k})" for h, k in zip(held, keys)]) + ")"
        args = ", ".join(["ctx"] + (held if node.scope != "claim" else []))
        return f"({hit}[0] if ({hit} := ctx.cache.get({key})).__class__ is tuple else {fn}({args}))"

    def _Lookup(self, node):
        rows = self.const(self.c.tables[node.table].rows, "_rows")
        keys = "".join(f"{self.expr(k)}, " for k in node.keys)
        if self.traced:
            return f"_t_row(ctx, {node.table!r}, {rows}, ({keys}))"
        return f"{rows}.get(({keys}), NO_ROW)"

    def _RowField(self, node):
        return f"_column({self.expr(node.base)}, {node.index}, {node.table!r}, {node.column!r})"

    def _Call(self, node):
        phrases = node.args[1] if node.function in ("phrases_found", "services_found") and len(node.args) == 2 else None
        if (not self.traced and isinstance(phrases, ir.DefRef)
                and isinstance(self.constants.get(phrases.name), (list, tuple))):
            # The phrase list is the same for every claim (a table column): its matcher is
            # built once, not looked up by the whole list on every call.
            build = R.cached_matcher if node.function == "phrases_found" else R.cached_service_matcher
            matcher = self.const(build(tuple(self.constants[phrases.name])), "_m")
            held = self.fresh("_t")
            return (f"{matcher}.found([{held}] if isinstance({held} := {self.expr(node.args[0])}, str) else {held}, "
                    "ctx.cache)")
        impl = self.const(IMPLEMENTATIONS[node.function]([a.type for a in node.args]), "_fn")
        args = [self.expr(a) for a in node.args] + (["ctx.cache"] if node.function in MEMOISED else [])
        return f"{impl}({', '.join(args)})"

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
        # Absent table data is a no, so `not` of it is a yes.
        with self.in_helper():
            return f"{self.helper('_not', _guarded(f'return not {self.expr(node.operand)}', 'return True'))}(ctx, f)"

    def _Negate(self, node):
        return f"(-{self.expr(node.operand)})"

    def contains(self, collection) -> tuple[list[str], str]:
        """(setup lines, test template with `{}` for the value) for membership."""
        if isinstance(collection, ir.SetRef) and collection.kind == "codeset":
            codeset = self.c.codesets[collection.name]
            plain = not (codeset.prefixes or codeset.ranges)
            test = self.const(codeset.codes if plain else codeset, "_codes")
            if self.traced:
                return [], f"_t_member(ctx, {collection.name!r}, {test}, {{}})"
            return [], f"({{}} in {test})"
        if isinstance(collection, ir.SetRef) and collection.kind == "table":
            rows = self.const(self.c.tables[collection.name].rows, "_rows")
            if self.traced:
                return [], f"_t_row_member(ctx, {collection.name!r}, {rows}, {{}})"
            return [], f"(({{}},) in {rows})"
        return [], f"({{}} in {self.expr(collection)})"

    def _Member(self, node):
        _, test = self.contains(node.collection)
        expr = test.format(self.expr(node.element))
        return f"(not {expr})" if node.negated else expr

    def _Has(self, node):
        with self.in_helper():
            return self._has(node)

    def _has(self, node):
        _, test = self.contains(node.collection)
        found = {"any": ("return True", "return False"), "all": ("pass", "return True"),
                 "none": ("return False", "return True")}[node.quantifier]
        body = ["    for value in " + self.expr(node.items) + ":"]
        if node.quantifier == "all":
            body += [f"        if not {test.format('value')}:", "            return False"]
        else:
            body += [f"        if {test.format('value')}:", f"            {found[0]}"]
        body += [f"    {found[1]}"]
        return f"{self.helper('_has', body)}(ctx, f)"

    def _Mentions(self, node):
        text = self.expr(node.text)
        phrases = node.phrases
        if isinstance(phrases, ir.SetRef):
            matcher = self.const(self.matchers[phrases.name], "_phr")
        elif isinstance(phrases, ir.Const):
            matcher = self.const(R.PhraseMatcher(repr(phrases.value), [phrases.value]), "_phr")
        else:
            return f"_dynamic_mentions({self.expr(phrases)}, {text}, {node.quantifier!r})"
        if self.traced:
            return f"_t_mentions(ctx, {matcher}, {text}, {node.quantifier!r})"
        if node.quantifier in ("any", "none"):
            found = self.const(self.ns[matcher].any, "_any")
            return f"({'' if node.quantifier == 'any' else 'not '}{found}({text}))"
        return f"_mentions({matcher}, {text}, {node.quantifier!r})"

    def _IsTest(self, node):
        operand = node.operand
        if (isinstance(operand, ir.GetField) and node.test in ("missing", "present", "blank")
                and self.total(operand.base)):
            # The common case inline: a field of a line or of the claim, absent or null (or
            # empty text or list, for blank).
            if node.test == "blank":
                return f"({'not ' if node.negated else ''}_blank({self.expr(operand.base)}.get({operand.name!r})))"
            absent = (node.test == "missing") != node.negated
            return f"({self.expr(operand.base)}.get({operand.name!r}) is {'' if absent else 'not '}None)"
        with self.in_helper():
            return self._is_test(node)

    def _is_test(self, node):
        operand = node.operand
        if isinstance(operand, ir.GetField):
            body = ["    try:", f"        obj = {self.expr(operand.base)}", "    except Missing as missing:",
                    "        if missing.null:  # a container known to be empty: its fields are missing",
                    f"            return {self.verdict(node, 'None')}", "        raise"]
            if node.test == "null":
                # `is null` asks whether the claim says "none"; absent means unknown.
                body += [f"    if {operand.name!r} not in obj:", f"        raise Missing(obj.ptr + '/{operand.name}')"]
            body += [f"    value = obj.get({operand.name!r})", f"    return {self.verdict(node, 'value')}"]
            return f"{self.helper('_is', body)}(ctx, f)"
        body = _guarded(f"value = {self.expr(operand)}", "value = None") + [f"    return {self.verdict(node, 'value')}"]
        return f"{self.helper('_is', body)}(ctx, f)"

    def verdict(self, node, value: str) -> str:
        """`is missing|present|blank|null` of a value already read (a variable or None), as
        an expression, as values.absence_verdict decides it."""
        if node.test in ("missing", "present"):
            absent = (node.test == "missing") != node.negated
            if value == "None":
                return repr(absent)
            return f"({value} is None or {value} is NO_ROW)" if absent else f"({value} is not None and {value} is not NO_ROW)"
        if node.test == "blank":
            return f"({'not ' if node.negated else ''}_blank({value}))"
        if node.test == "null":
            return f"({value} is {'not ' if node.negated else ''}None)"
        return f"_verdict({value}, {self.const((node.test, node.negated), '_test')})"

    def _Filter(self, node):
        with self.in_helper():
            return self._filter(node)

    def _filter(self, node):
        condition = self.expr(node.condition)
        keyed = None if self.traced else self.equality_key(node)
        if keyed is None:
            body = ["    out = []", f"    for item in {self.expr(node.collection)}:", f"        f[{node.slot}] = item"]
        else:
            name, value = keyed
            index = self.index_keys.setdefault((node.collection, name), f"where{len(self.index_keys)}")
            body = ["    out = []", f"    items = {self.expr(node.collection)}",
                    f"    for item in _indexed(ctx, {index!r}, items, {name!r}, {self.expr(value)}):",
                    f"        f[{node.slot}] = item"]
        if self.total(node.condition):
            body += [f"        if {condition}:", "            out.append(item)"]
        else:
            # An element whose condition needs table data it lacks (an empty optional cell)
            # is left out; missing claim data still makes the whole list unknown.
            body += ["        try:", f"            keep = {condition}", "        except NoData:", "            continue",
                     "        if keep:", "            out.append(item)"]
        return f"{self.helper('_where', body + ['    return out'])}(ctx, f)"

    def equality_key(self, node) -> tuple[str, object] | None:
        """(field, value) when the condition of a `where` holds only where an element's field
        equals a value read from outside the list, which is always there (`code =
        line.code`): the filter may then read the elements indexed by that field
        (runtime._indexed). The rest of the condition is still tested on each of them."""
        for part in and_parts(node.condition):
            if not (isinstance(part, ir.Compare) and part.op == "="):
                continue
            for mine, other in ((part.left, part.right), (part.right, part.left)):
                if (isinstance(mine, ir.GetField) and isinstance(mine.base, ir.Slot)
                        and mine.base.index == node.slot and self.total(other)
                        and not any(isinstance(n, ir.Slot) and n.index == node.slot for n in ir.walk(other))):
                    return mine.name, other
        return None

    def _Map(self, node):
        with self.in_helper():
            return self._map(node)

    def _map(self, node):
        body = ["    out = []", f"    for item in {self.expr(node.collection)}:", f"        f[{node.slot}] = item",
                f"        out.append({self.expr(node.value)})", "    return out"]
        return f"{self.helper('_of', body)}(ctx, f)"

    def _Conditional(self, node):
        if self.total(node.condition):
            condition = self.expr(node.condition)
        else:
            with self.in_helper():
                test = self.expr(node.condition)
                condition = f"{self.helper('_yn', _guarded(f'return {test}', 'return False'))}(ctx, f)"
        return f"({self.expr(node.then)} if {condition} else {self.expr(node.otherwise)})"

    def _ListLit(self, node):
        return "[" + ", ".join(self.expr(i) for i in node.items) + "]"

    def _Otherwise(self, node):
        with self.in_helper():
            return self._otherwise(node)

    def _otherwise(self, node):
        body = ["    try:", f"        return {self.expr(node.left)}", "    except Unknown:",
                f"        return {self.expr(node.right)}"]
        return f"{self.helper('_otherwise', body)}(ctx, f)"

    def _Logic(self, node):
        parts = _flatten(node)
        if all(self.total(p) for p in parts):
            return "(" + f" {node.op} ".join(self.expr(p) for p in parts) + ")"
        with self.in_helper():
            return f"{self.helper('_logic', self.chain(parts, node.op))}(ctx, f)"

    def chain(self, parts, op: str) -> list[str]:
        """Body of a three-valued and/or: the deciding value wins; otherwise the first
        missing claim value, in the order written; absent table data counts as no."""
        decisive = "True" if op == "or" else "False"
        body = ["    missing = None"]
        for part in parts:
            test = self.expr(part)
            check = f"if {test}:" if op == "or" else f"if not {test}:"
            if self.total(part):
                body += [f"    {check}", f"        return {decisive}"]
                continue
            body += ["    try:", f"        {check}", f"            return {decisive}", "    except NoData:",
                     f"        {'return False' if op == 'and' else 'pass'}",
                     "    except Missing as error:", "        if missing is None:", "            missing = error"]
        return body + ["    if missing is not None:", "        raise missing",
                       f"    return {'False' if op == 'or' else 'True'}"]

    # -- definitions and bindings
    def let_function(self, name: str) -> str:
        if name in self.lets:
            return self.lets[name]
        fn = self.fresh("_let")
        self.lets[name] = fn
        let = self.c.lets[name]
        saved, self.bindings = self.bindings, {}
        with self.in_helper():
            value = self.expr(let.expr)
        self.bindings = saved
        params, key = {"claim": ("", f"({name!r},)"), "line": (", line", f"({name!r}, line['index'])"),
                       "date": (", day", f"({name!r}, day)"), "code": (", code, day", f"({name!r}, code, day)")
                       }[let.scope]
        frame = [f"    f = [UNSET] * {let.frame_size}"] + {
            "claim": ["    f[0] = ctx.claim.lines"],
            "line": ["    f[0] = ctx.claim.lines", "    f[1] = line"],
            "date": ["    f[0] = ctx.claim.days.get(day, [])", "    f[1] = day"],
            "code": ["    f[0] = [l for l in ctx.claim.days.get(day, ()) if l['code'] == code]", "    f[1] = code",
                     "    f[2] = day"],
        }[let.scope]
        if self.traced:
            body = [f"def {fn}(ctx{params}):", f"    key = {key}", "    outer = ctx.trace", "    ctx.trace = []",
                    *frame, "    try:", f"        value = {value}", "    except Unknown:", "        outer.extend(ctx.trace)",
                    "        ctx.trace = outer", "        raise", "    outer.extend(ctx.trace)", "    ctx.trace = outer",
                    f"    outer.append(_DefinitionRead({name!r}, key[1:], value))", "    return value"]
        else:
            body = [f"def {fn}(ctx{params}):", f"    key = {key}", "    cached = ctx.cache.get(key)",
                    "    if cached is not None:", "        if cached.__class__ is _Raised:", "            raise cached.error",
                    "        return cached[0]", *frame, "    try:", f"        value = {value}",
                    "    except Unknown as error:", "        ctx.cache[key] = _Raised(error)", "        raise",
                    "    ctx.cache[key] = (value,)", "    return value"]
        self.defs.append("\n".join(body))
        return fn

    def binder(self, binding: ir.Binding) -> str:
        with self.in_helper():
            return self._binder(binding)

    def _binder(self, binding: ir.Binding) -> str:
        slot = binding.slot
        fields = self.line_fields_read(binding.expr) if self.by_code else None
        if fields is not None:
            # The same for every line of one code (the techniques its note names, what they
            # point to), or of one code and date: kept per claim by those, so a claim's 50
            # lines of 8 codes work it out 8 times. An unknown is kept too: it names the
            # same missing value.
            # Kept only where another line can read it again (`Ctx.many`, `Ctx.shared`): most
            # claims bill each code once, and keeping a value no line reads again costs a key,
            # a look-up and a store for each line.
            self.by_code[slot] = fields
            key = ", ".join([repr(self.fresh("_bind"))] + [f"f[1][{name!r}]" for name in sorted(fields)])
            value = self.expr(binding.expr)
            body = [f"    value = f[{slot}]", "    if value.__class__ is _Raised:", "        raise value.error",
                    f"    if not ctx.{'shared' if 'code' in fields else 'many'}:",
                    "        try:", f"            value = {value}", "        except Unknown as error:",
                    f"            f[{slot}] = _Raised(error)", "            raise", f"        f[{slot}] = value",
                    "        return value",
                    f"    key = ({key},)", "    hit = ctx.cache.get(key)", "    if hit is not None:",
                    "        if hit.__class__ is _Raised:", f"            f[{slot}] = hit", "            raise hit.error",
                    f"        f[{slot}] = hit[0]", "        return hit[0]",
                    "    try:", f"        value = {value}", "    except Unknown as error:",
                    f"        f[{slot}] = ctx.cache[key] = _Raised(error)", "        raise",
                    f"    f[{slot}] = value", "    ctx.cache[key] = (value,)", "    return value"]
            return self.helper("_bind", body)
        body = [f"    value = f[{slot}]", "    if value.__class__ is _Raised:", "        raise value.error",
                "    try:", f"        value = {self.expr(binding.expr)}", "    except Unknown as error:",
                f"        f[{slot}] = _Raised(error)", "        raise", f"    f[{slot}] = value", "    return value"]
        return self.helper("_bind", body)

    SHARED_FIELDS = ("code", "date")
    """The fields of a line that many lines of a claim share, and that key a binding's value."""

    def line_fields_read(self, expr) -> frozenset | None:
        """The fields of its line a line rule's `with` reads, when they are only `code`
        and `date` (besides the claim, constants, the rule's other such bindings and its
        own `where`/`of` elements): then it has one value for all the lines with the same
        code (and date), or for the whole claim when it reads none. None when it reads the
        line any other way."""
        nodes = list(ir.walk(expr))
        own = {n.slot for n in nodes if isinstance(n, (ir.Filter, ir.Map))}
        # The code and date reads of the line, by the line node they read through. One
        # node can stand under several parents (a `per code` definition's key reads the
        # line's code and its date through one node), and `walk` yields it under each: each
        # time it is met, it must be one of those reads, or the line is read another way.
        reads: dict[int, list[str]] = {}
        for n in nodes:
            if (isinstance(n, ir.GetField) and n.name in self.SHARED_FIELDS and isinstance(n.base, ir.Slot)
                    and n.base.index == 1):
                reads.setdefault(id(n.base), []).append(n.name)
        fields: set[str] = set()
        for node in nodes:
            if not isinstance(node, ir.Slot) or node.index in own:
                continue
            if node.index in self.by_code:
                fields |= self.by_code[node.index]
            elif node.index == 1 and reads.get(id(node)):
                fields.add(reads[id(node)].pop())
            else:
                return None
        return frozenset(fields)

    def value_function(self, expr, prefix: str = "_val") -> str:
        with self.in_helper():
            return self.helper(prefix, [f"    return {self.expr(expr)}"])

    def renderer(self, parts: tuple, strict: bool = False) -> str:
        """`fn(ctx, f) -> str`: a rule's message (or, `strict`, a fix's path), its
        placeholders inline: a firing rule renders its message at once, and a claim with
        many findings spends much of its time there. Each value as `format_value` writes
        it (text as it is); one the claim does not give reads "(not given)" in a message,
        and leaves a path unmade (it raises: `engine._patch` leaves that fix out)."""
        body, pieces = [], []
        for part in parts:
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            var = f"_s{len(pieces)}"
            with self.in_helper():
                value = self.expr(part)
            type_ = self.const(part.type, "_ty")
            fill = [f"{var} = {value}", f"if {var}.__class__ is not str:", f"    {var} = _format_value({var}, {type_})"]
            if strict:
                body += ["    " + s for s in fill]
            else:
                body += ["    try:", *("        " + s for s in fill), "    except Unknown:", f"        {var} = '(not given)'"]
            pieces.append(var)
        self.ns["_format_value"] = format_value
        return self.helper("_path" if strict else "_msg",
                           [*body, f"    return ''.join(({''.join(p + ', ' for p in pieces)}))"])

    # -- rules
    def rule(self, rule: ir.Rule, guard, index: int = 0) -> dict:
        """The functions of one rule: its bindings, its condition (and, in the fast form,
        its scope loop), its message parts and its fixes."""
        self.bindings = {}
        self.by_code = {} if self.traced or rule.scope != "line" else {0: frozenset()}
        binders = []
        for binding in rule.bindings:
            name = self.binder(binding)
            self.bindings[binding.slot] = name
            binders.append((binding.slot, name))
        parts = and_parts(rule.when)
        if rule.unless is not None:
            parts.append(ir.Not(rule.unless, T.BOOLEAN, rule.unless.span))
        if not self.traced:
            # A part true in this rulebook decides nothing; the traced form keeps it, so an
            # explanation still shows what made it true (unit_method = cms_total_time).
            parts = [p for p in parts if not (isinstance(p, ir.DefRef) and self.constants.get(p.name) is True)]
        out: dict = {"binders": tuple(binders)}
        if self.traced:
            out["condition"] = self.helper("_cond", self.chain(parts, "and"))
            # Each part of the `and` on its own, for saying where a rule stopped (`payerlint
            # test`, when a case expects a rule to fire and it does not).
            out["parts"] = tuple((self.value_function(p, "_part"), p.span, p is not parts[-1] or rule.unless is None)
                                 for p in parts)
        else:
            out["run"] = self.runner(rule, guard, parts, index)
        if self.traced:
            out["message"] = tuple(part if isinstance(part, str) else (self.value_function(part, "_say"), part.type)
                                   for part in rule.message.parts)
        else:
            out["message"], out["say"] = (), self.renderer(rule.message.parts)
        out["fixes"] = tuple(
            (fix.op, self.renderer(fix.path.parts, strict=True),
             self.value_function(fix.value, "_fixv") if fix.value is not None else None,
             fix.value.type if fix.value is not None else None, fix.loop_slot,
             self.value_function(fix.loop_over, "_loop") if fix.loop_over is not None else None)
            for fix in rule.fixes)
        self.bindings = {}
        return out

    def runner(self, rule: ir.Rule, guard, parts: list, index: int) -> str | None:
        """The fast form's loop over a rule's scope instances, with its condition inline:
        first the parts that cannot be unknown, as plain Python (an instance one of them
        rules out costs a few comparisons), then the others in the order written, with
        three-valued `and`. Parts the guard decides (plan.py) are applied by the loop
        itself and not tested again."""
        rid = rule.id
        consumed = {id(p) for p in (guard.consumed if guard is not None else ())}
        order = {id(p): i for i, p in enumerate(parts)}
        parts = [p for p in parts if id(p) not in consumed]
        resets = [f"f[{slot}] = UNSET" for slot in self.bindings]
        tests = guard.tests if guard is not None else {}
        test1 = self.const(tests[1], "_guard") if 1 in tests else None
        test2 = self.const(tests[2], "_guard") if 2 in tests else None
        scope_locals = {"claim": {0: "lines"}, "line": {0: "lines", 1: "line"}, "pair": {0: "lines", 1: "first", 2: "second"},
                        "date": {0: "day_lines", 1: "day"}, "code": {0: "group", 1: "code", 2: "day"}}[rule.scope]

        def instance(indent: str, line: str, initial: str) -> list[str]:
            self.locals = scope_locals
            try:
                body = [indent + r for r in resets] + self.condition(parts, indent, rid, line)
            finally:
                self.locals = {}
            return body + [f"{indent}emit({index}, f, {line}, {initial})"]

        scope = rule.scope
        if scope == "claim":
            # One instance, in a loop of one, so `continue` means "this instance does not
            # fire"; run with the other rules for the claim in one function (`fuse`).
            self.fused["claim"].append((rule.frame_size, _once("    ", instance("        ", "None", "(lines,)"))))
            return None
        if scope == "line":
            # Run inside one loop over the lines with the other line rules (`fuse`).
            block = _once("        ", instance("            ", "line['index']", "(lines, line)"))
            self.fused["line"].append((rule.frame_size, block, test1))
            return None
        fn = self.fresh("_run")
        head = [f"def {fn}(ctx, emit, skipped):", "    claim = ctx.claim", "    lines = claim.lines",
                f"    f = [UNSET] * {rule.frame_size}"]
        if scope == "pair":
            body = self.pair_loop(rule, guard, parts, order, index, test1, test2, resets)
        elif scope == "date":
            body = ["    for day, day_lines in claim.days.items():", "        f[0] = day_lines", "        f[1] = day",
                    *instance("        ", "None", "(day_lines, day)")]
        else:  # code
            body = ["    for code, day, group in claim.groups:"]
            if test1:
                body += [f"        if not {test1}(code):", "            continue"]
            body += ["        f[0] = group", "        f[1] = code", "        f[2] = day",
                     *instance("        ", "group[0]['index']", "(group, code, day)")]
        self.defs.append("\n".join(head + body))
        return fn

    def condition(self, parts: list, indent: str, rid: str, line: str) -> list[str]:
        """Statements that `continue` unless the parts all hold, recording the first part
        that needed missing claim data (three-valued `and`, in the order written)."""
        body = []
        quick = [self.expr(p) for p in parts if self.total(p)]
        if quick:
            body += [f"{indent}if not ({' and '.join(quick)}):", f"{indent}    continue"]
        rest = [p for p in parts if not self.total(p)]
        if len(rest) == 1:
            body += [f"{indent}try:", f"{indent}    if not {self.expr(rest[0])}:", f"{indent}        continue",
                     f"{indent}except Missing as missing:", f"{indent}    _skip(skipped, {rid!r}, missing, {line})",
                     f"{indent}    continue", f"{indent}except NoData:", f"{indent}    continue"]
        elif rest:
            body += [f"{indent}missing = None"]
            for part in rest:
                body += [f"{indent}try:", f"{indent}    if not {self.expr(part)}:", f"{indent}        continue",
                         f"{indent}except NoData:", f"{indent}    continue", f"{indent}except Missing as error:",
                         f"{indent}    if missing is None:", f"{indent}        missing = error"]
            body += [f"{indent}if missing is not None:", f"{indent}    _skip(skipped, {rid!r}, missing, {line})",
                     f"{indent}    continue"]
        return body

    def pair_loop(self, rule: ir.Rule, guard, parts: list, order: dict, index: int, test1, test2,
                  resets: list) -> list[str]:
        """Pairs of lines, doing work in proportion to the pairs that can match:
        - the parts that read only `first` are tested once per line, and so are those that
          read only `second`; a line one of them rules out meets no partner;
        - pairs that must share a date meet only within their date;
        - pairs that need a row of a table (an NCCI pair) meet only where the row exists,
          looked up once per pair of distinct codes.
        A part that needs missing claim data is remembered with its place in the `and`, so
        the one reported is the first written, as for any other rule."""
        rid = rule.id
        binding_slots = set(self.bindings)

        def side(part) -> int:
            slots = {n.index for n in ir.walk(part) if isinstance(n, ir.Slot)}
            if slots & binding_slots or not slots & {1, 2}:
                return 0
            return 1 if 2 not in slots else 2 if 1 not in slots else 0

        own = {1: [p for p in parts if side(p) == 1], 2: [p for p in parts if side(p) == 2]}
        both = [p for p in parts if side(p) == 0]
        # A comparison of a field of each line (`first.units < second.units`) picks the
        # partners by value from an index of the day's lines: a day of 50 lines with equal
        # units meets no partner instead of 49 (runtime._range_pick).
        ranged = None
        if guard is None or guard.pair_rows is None:
            compared = [c for c in map(_field_comparison, both) if c is not None]
            # Strict comparisons first, then counts (units: few distinct values, so a strict
            # one rules out the most partners), then the order written.
            compared.sort(key=lambda c: (c[1] not in ("<", ">"), c[0].left.type.name != "integer"))
            ranged = compared[0] if compared else None

        def screen(slot: int, name: str, indent: str) -> list[str]:
            """Statements testing one line's own parts: `continue` when one is false; the
            first one missing, by its place in the `and`, kept in `miss`."""
            self.locals = {0: "lines", slot: name}
            try:
                body = [f"{indent}miss = None"]
                for part in own[slot]:
                    place = order[id(part)]
                    if self.total(part):
                        body += [f"{indent}if not {self.expr(part)}:", f"{indent}    continue"]
                        continue
                    body += [f"{indent}try:", f"{indent}    if not {self.expr(part)}:", f"{indent}        continue",
                             f"{indent}except NoData:", f"{indent}    continue", f"{indent}except Missing as error:",
                             f"{indent}    if miss is None:", f"{indent}        miss = ({place}, error)"]
            finally:
                self.locals = {}
            return body

        # One line makes no pair: most claims have one line or two, and building the
        # partner lists costs more than the rule's own tests.
        body = ["    if len(lines) < 2:", "        return", "    f[0] = lines"]
        if guard is not None and guard.pair_rows is not None:
            # First the codes: when no two codes the claim bills make a row of the table,
            # no pair can match, and no line is looked at (most claims, for NCCI pairs).
            rows_early = self.const(guard.pair_rows, "_pairs")
            body += [f"    firsts = {_filtered('lines', test1)}", f"    seconds_in = {_filtered('lines', test2)}"]
            if test1 is None and test2 is None:
                # The pairs of billed codes that make a row of the table, worked out once
                # per claim for all the rules that read the table (most claims: none).
                key = self.const(("billed_pairs", guard.pair_table), "_key")
                body += [f"    billed = ctx.cache.get({key})", "    if billed is None:",
                         "        codes = {l['code'] for l in lines}",
                         f"        billed = ctx.cache[{key}] = [(a, b) for a in codes for b in codes if (a, b) in {rows_early}]",
                         "    if not billed:", "        return",
                         f"    paired = {{(a, b) for a, b in billed if {self.row_filter(guard, rows_early)}}}"]
            else:
                body += ["    codes_2 = {l['code'] for l in seconds_in}", "    codes_1 = {l['code'] for l in firsts}",
                         f"    paired = {{(a, b) for a in codes_1 for b in codes_2 if {self.row_filter(guard, rows_early)}}}"]
            body += ["    if not paired:", "        return",
                     "    wanted_1 = {a for a, _ in paired}", "    wanted_2 = {b for _, b in paired}",
                     "    seconds = []", "    for second in seconds_in:",
                     "        if second['code'] not in wanted_2:", "            continue",
                     "        f[2] = second", *screen(2, "second", "        "), "        seconds.append((second, miss))"]
        else:
            # No line for one side (no OMT code, no evaluation code: most claims) makes no
            # pair, and reports nothing: the rule is done before either side is screened.
            body += [f"    firsts = {_filtered('lines', test1)}", "    if not firsts:", "        return",
                     "    seconds = []", f"    for second in {_filtered('lines', test2)}:",
                     "        f[2] = second", *screen(2, "second", "        "), "        seconds.append((second, miss))"]
        body += ["    if not seconds:", "        return"]
        if guard is not None and guard.same_date:
            body += ["    by_day = {}", "    for pair in seconds:", "        by_day.setdefault(pair[0]['date'], []).append(pair)"]
        if guard is not None and guard.pair_rows is not None:
            body += ["    by_code = {}", "    for pair in seconds:",
                     "        by_code.setdefault(pair[0]['code'], []).append(pair)"]
        if guard is not None and guard.pair_rows is not None:
            body += ["    for first in firsts:", "        if first['code'] not in wanted_1:", "            continue",
                     "        f[1] = first", *screen(1, "first", "        "), "        first_miss = miss"]
        else:
            body += ["    for first in firsts:", "        f[1] = first", *screen(1, "first", "        "),
                     "        first_miss = miss"]
        if guard is not None and guard.same_date:
            candidates = "by_day.get(first['date'], ())"
        else:
            candidates = "seconds"
        if guard is not None and guard.pair_rows is not None:
            source = candidates
            body += ["        candidates = []", f"        for code_2, pairs in by_code.items():",
                     "            if (first['code'], code_2) in paired:", "                candidates.extend(pairs)"]
            if guard.same_date:
                body += ["        candidates = [p for p in candidates if p[0]['date'] == first['date']]"]
            candidates = "candidates"
            del source
        if ranged is not None:
            part, op, name_1, name_2 = ranged
            body += [f"        candidates = {candidates}", f"        if len(candidates) >= {R.RANGE_FROM}:",
                     "            index = ranges.get(id(candidates))", "            if index is None:",
                     f"                index = ranges[id(candidates)] = _range_index(candidates, {name_2!r})",
                     f"            candidates = _range_pick(index, candidates, {op!r}, first.get({name_1!r}))"]
            body.insert(0, "    ranges = {}")
            candidates = "candidates"
        body += [f"        for second, second_miss in {candidates}:", "            if second is first:",
                 "                continue", "            f[2] = second", *["            " + r for r in resets]]
        self.locals = {0: "lines", 1: "first", 2: "second"}
        try:
            quick = [self.expr(p) for p in both if self.total(p)]
            if quick:
                body += [f"            if not ({' and '.join(quick)}):", "                continue"]
            body += ["            miss = None"]
            for part in (p for p in both if not self.total(p)):
                body += ["            try:", f"                if not {self.expr(part)}:", "                    continue",
                         "            except NoData:", "                continue", "            except Missing as error:",
                         "                if miss is None:", f"                    miss = ({order[id(part)]}, error)"]
        finally:
            self.locals = {}
        body += ["            if miss is not None or first_miss is not None or second_miss is not None:",
                 "                found = min(m for m in (miss, first_miss, second_miss) if m is not None)",
                 f"                _skip(skipped, {rid!r}, found[1], second['index'])", "                continue",
                 f"            emit({index}, f, second['index'], (lines, first, second))"]
        return body

    def row_filter(self, guard, keys: str) -> str:
        """Whether the codes (a, b) make a row of the pair table that passes the rule's
        tests of its columns (plan.Guard.row_tests), as a Python condition."""
        if not guard.row_tests:
            return f"(a, b) in {keys}"
        values = self.const(guard.pair_values, "_rows")
        tests = [f"_r[{index}] is not None and _r[{index}] {op} {self.const(value, '_k')}"
                 for index, op, value in guard.row_tests]
        return f"(_r := {values}.get((a, b))) is not None and " + " and ".join(tests)

    def fuse(self) -> list[tuple[str, str]]:
        """One function for all the rules for the claim, one loop over the lines for all
        the line rules: (kind, function) with kind 'claim' or 'other'. Calling forty
        functions that each set up a frame and a loop cost more than most rules' own
        tests; the rules share one frame (each resets its own `with` slots)."""
        out = []
        if self.fused["claim"]:
            size = max(n for n, _ in self.fused["claim"])
            body = [line for _, block in self.fused["claim"] for line in block]
            fn = self.fresh("_claim_rules")
            self.defs.append("\n".join([f"def {fn}(ctx, emit, skipped):", "    lines = ctx.claim.lines",
                                        f"    f = [UNSET] * {size}", "    f[0] = lines", *body]))
            out.append(("claim", fn))
        if self.fused["line"]:
            size = max(n for n, _, _ in self.fused["line"])
            # Which rules a line's code lets in, as one tuple per code (`gate`): a rule its
            # code rules out costs one index into the tuple, not a call to its test.
            tests = [test for _, _, test in self.fused["line"] if test is not None]
            head = []
            if tests:
                gate = self.gate(tests)
                head = [f"        g = {gate}_seen.get(line['code'])", "        if g is None:",
                        f"            g = {gate}(line['code'])"]
            body = []
            for _, block, test in self.fused["line"]:
                if test is None:
                    body += block
                else:
                    body += [f"        if g[{tests.index(test)}]:", *("    " + line for line in block)]
            fn = self.fresh("_line_rules")
            self.defs.append("\n".join([f"def {fn}(ctx, emit, skipped):", "    lines = ctx.claim.lines",
                                        f"    f = [UNSET] * {size}", "    f[0] = lines", "    for line in lines:",
                                        "        f[1] = line", *head, *body]))
            out.append(("other", fn))
        return out

    GATES_KEPT = 4096
    """How many codes' gates a program keeps: the codes of therapy billing are a few hundred;
    a stream of made-up codes is still checked, its gates worked out each time."""

    def gate(self, tests: list[str]) -> str:
        """A function from a code to the tuple of what each test says of it, kept per code
        in `<name>_seen` (the tests read only the compiled rulebook, so the answer for a
        code never changes)."""
        name = self.fresh("_gate")
        self.ns[name + "_seen"] = {}
        self.defs.append("\n".join([
            f"def {name}(code):", f"    g = ({''.join(f'bool({t}(code)), ' for t in tests)})",
            f"    if len({name}_seen) < {self.GATES_KEPT}:", f"        {name}_seen[code] = g", "    return g"]))
        return name

    # -- the module
    def build(self, label: str) -> dict:
        """exec the generated source; the namespace, with `__source__` for reading it."""
        source = "\n\n".join(self.defs) + "\n"
        exec(compile(source, f"<payerlint {label}>", "exec"), self.ns)  # noqa: S102 - generated from the IR only
        self.ns["__source__"] = source
        return self.ns


_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _field_comparison(part) -> tuple | None:
    """(part, op, first's field, second's field) when the part compares a field of the
    pair's first line with one of its second (`first.minutes > second.minutes`, either way
    round) by order, on values that order (numbers, dates)."""
    if not (isinstance(part, ir.Compare) and part.op in _FLIPPED):
        return None
    sides = []
    for operand in (part.left, part.right):
        if not (isinstance(operand, ir.GetField) and isinstance(operand.base, ir.Slot)
                and operand.base.index in (1, 2) and (operand.type.name in T.NUMERIC or operand.type.name == "date")):
            return None
        sides.append((operand.base.index, operand.name))
    (left_slot, left_name), (right_slot, right_name) = sides
    if {left_slot, right_slot} != {1, 2}:
        return None
    if left_slot == 1:
        return part, part.op, left_name, right_name
    return part, _FLIPPED[part.op], right_name, left_name


def _once(indent: str, body: list[str]) -> list[str]:
    """A rule's block in a shared function: run once, and left by `continue` where the rule
    does not fire. As `while True:` ... `break`, each `continue` of the block a `break`: a
    loop that sets up no iterator, unlike `for _ in (0,)`, which a block with a loop of its
    own keeps (its `continue` would not be the block's)."""
    if any(line.lstrip().startswith(("for ", "while ")) for line in body):
        return [f"{indent}for _ in (0,):", *body]
    return [f"{indent}while True:",
            *(line[:len(line) - len(line.lstrip())] + "break" if line.strip() == "continue" else line for line in body),
            f"{indent}    break"]


def _filtered(name: str, test: str | None) -> str:
    return f"[l for l in {name} if {test}(l['code'])]" if test else name


def _guarded(statement: str, on_no_data: str) -> list[str]:
    return ["    try:", f"        {statement}", "    except NoData:", f"        {on_no_data}"]


def _children(node):
    for value in (getattr(node, name) for name in node.__dataclass_fields__ if name not in ("span", "type")):
        if isinstance(value, tuple):
            yield from (v for v in value if hasattr(v, "__dataclass_fields__"))
        elif hasattr(value, "__dataclass_fields__"):
            yield value


def _flatten(node):
    parts = []
    for side in (node.left, node.right):
        if isinstance(side, ir.Logic) and side.op == node.op:
            parts.extend(_flatten(side))
        else:
            parts.append(side)
    return parts
