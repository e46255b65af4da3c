"""Resolve names and check types in one walk over an expression.

The two are one walk because the meaning of a name depends on types: in
`sum(minutes of lines where code in timed)`, `minutes` and `code` are fields of the line
being looked at, which is known only once `lines` is known to be a list of lines.

Where a bare name can come from, innermost first:
1. the element of an enclosing `where` / `of` (`it`, or a field of it, or a per-line
   definition of it); in a rule `for each line`, the line itself is the outermost element;
2. the rule's own names: `with` bindings, a fix loop variable, and the scope's variables
   (`lines`; `line`; `first` and `second`; `service_date`; `code`);
3. definitions, params, code sets, phrase sets and tables of the rulebook;
4. the claim's top-level fields (`patient`, `episode`, `documentation`, ...) and `all_lines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from payerlint.compile import signatures as B
from payerlint.compile import ir
from payerlint.compile.codesets import codeset_of
from payerlint.compile import types as T
from payerlint.compile.types import Type
from payerlint.diagnostics import Diagnostic, close_names, did_you_mean
from payerlint.source import Span
from payerlint.syntax import tree as syn

# Frame layout of each scope: slot 0 always holds the lines in scope.
SCOPE_SLOTS: dict[str, tuple[tuple[str, Type], ...]] = {
    "claim": (("lines", T.list_of(T.line_type())),),
    "line": (("lines", T.list_of(T.line_type())), ("line", T.line_type())),
    "pair": (("lines", T.list_of(T.line_type())), ("first", T.line_type()), ("second", T.line_type())),
    "date": (("lines", T.list_of(T.line_type())), ("service_date", T.DATE)),
    "code": (("lines", T.list_of(T.line_type())), ("code", T.CODE), ("service_date", T.DATE)),
}
# Names a declaration may not take: inside a line rule a definition named `minutes` would
# be hidden by the line's own field, so line fields are reserved as well.
RESERVED = ({"it", "all_lines", "lines", "line", "first", "second", "service_date", "code"}
            | set(T.claim_fields()) | set(T.line_object().field_names()))


@dataclass
class Env:
    """What is visible while resolving one body (a rule or a definition)."""

    scope: str
    owner: str
    """Graph node id of the body: `rule:units.total`, `let:timed_minutes`."""
    names: dict[str, ir.Slot] = field(default_factory=dict)
    elements: list[ir.Slot] = field(default_factory=list)
    size: int = 0
    inline: dict[str, ir.Expr] = field(default_factory=dict)
    """`with` bindings by name, so `x is missing` can test the bound expression itself."""
    private: dict[int, "str | None"] = field(default_factory=dict)
    """Frame slots holding patient data (bindings, loop variables): compile/privacy.py."""

    @classmethod
    def for_scope(cls, scope: str, owner: str) -> "Env":
        env = cls(scope, owner)
        for name, type_ in SCOPE_SLOTS[scope]:
            env.names[name] = ir.Slot(name, env.alloc(), type_)
        if scope == "line":
            env.elements.append(env.names["line"])
        return env

    def alloc(self) -> int:
        self.size += 1
        return self.size - 1


@dataclass
class Globals:
    """The rulebook's declarations as the resolver sees them."""

    params: dict[str, ir.Param]
    sets: dict[str, tuple[str, Type]]
    """Code sets, phrase sets and tables: name -> (kind, type)."""
    tables: dict[str, ir.Table]
    let_scope: dict[str, str]
    let_type: Callable[[str, Span], Type]
    """Resolves a definition on demand (definitions may be used before they are written)."""
    let_expr: Callable[[str], "ir.Expr | None"] = lambda name: None
    """A resolved definition's expression (for `is missing` through a definition)."""
    let_private: Callable[[str], "str | None"] = lambda name: None
    """The patient-data field a definition's value derives from (compile/privacy.py)."""


class Resolver:
    def __init__(self, globals_: Globals, errors: list[Diagnostic], refs: list[tuple[str, str, Span]]):
        self.g = globals_
        self.errors = errors
        self.refs = refs
        """(from node, to node, span) for the dependency graph."""

    # -- reporting
    def error(self, code: str, message: str, span: Span, *notes: str | None) -> Type:
        self.errors.append(Diagnostic(code, message, span=span, notes=tuple(n for n in notes if n)))
        return T.UNKNOWN

    def ref(self, env: Env, target: str, span: Span) -> None:
        self.refs.append((target, env.owner, span))

    # -- entry point
    def expr(self, node: syn.Expr, env: Env) -> ir.Expr:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, env)

    def expect(self, node: syn.Expr, env: Env, wanted: Type, what: str) -> ir.Expr:
        out = self.expr(node, env)
        if out.type != T.UNKNOWN and out.type != wanted:
            self.error("type_mismatch", f"{what} must be {wanted}, but this is {out.type}", node.span)
        return out

    # -- names
    def _name(self, node: syn.Name, env: Env) -> ir.Expr:
        name, span = node.id, node.span
        for element in reversed(env.elements):
            if name == "it" and element is env.elements[-1]:
                return ir.Slot("it", element.index, element.type, span)
            found = self._member_of(ir.Slot(element.name, element.index, element.type, span), name, env, span)
            if found is not None:
                return found
        if name in env.names:
            return env.names[name].__class__(name, env.names[name].index, env.names[name].type, span)
        if name in self.g.let_scope:
            return self._let_in_scope(name, env, span)
        if name in self.g.params:
            param = self.g.params[name]
            self.ref(env, "param:" + name, span)
            return ir.ParamRef(name, param.type, span)
        if name in self.g.sets:
            kind, type_ = self.g.sets[name]
            self.ref(env, f"{kind}:{name}", span)
            return ir.SetRef(kind, name, type_, span)
        claim_fields = T.claim_fields()
        if name in claim_fields:
            return ir.GetField(ir.ClaimRoot(T.Type("object:claim", None, T.claim_type()), span), name, claim_fields[name], span)
        if name == "all_lines":
            return ir.GetField(ir.ClaimRoot(T.Type("object:claim", None, T.claim_type()), span), "lines", claim_fields["lines"], span)
        visible = set(env.names) | set(self.g.let_scope) | set(self.g.params) | set(self.g.sets) | set(claim_fields)
        for element in env.elements:
            if element.type.object is not None:
                visible |= set(element.type.object.field_names())
        hint = did_you_mean(name, visible)
        if name == "it":
            hint = "'it' names the element inside `where` or `of`, as in: modifiers where it in distinct"
        elif name in T.line_object().field_names():
            hint = hint or None
            hint = (f"'{name}' is a field of a claim line; inside `lines where ...` it names the line's "
                    f"own field, and in a rule `for each line` the line's; elsewhere write line.{name}, "
                    f"first.{name} or second.{name}")
        elif name in ("line", "first", "second", "service_date", "code"):
            hint = _scope_hint(name)
        hint = hint or _nested_hint(name)
        self.error("unresolved_name", f"unknown name '{name}'", span, hint)
        return ir.Const(None, T.UNKNOWN, span)

    def _let_in_scope(self, name: str, env: Env, span: Span) -> ir.Expr:
        scope = self.g.let_scope[name]
        let_type = self.g.let_type(name, span)
        self.ref(env, "let:" + name, span)
        if scope == "claim":
            return ir.DefRef(name, "claim", (), let_type, span)
        names = env.names
        if scope == "date":
            if "service_date" in names:
                return ir.DefRef(name, "date", (self._slot(names["service_date"], span),), let_type, span)
            if "line" in names:
                return ir.DefRef(name, "date", (self._line_field(names["line"], "date", span),), let_type, span)
        if scope == "code":
            if env.scope == "code":
                return ir.DefRef(name, "code", (self._slot(names["code"], span), self._slot(names["service_date"], span)), let_type, span)
            if "line" in names:
                line = names["line"]
                return ir.DefRef(name, "code", (self._line_field(line, "code", span), self._line_field(line, "date", span)), let_type, span)
        if scope == "line" and "line" in names:
            return ir.DefRef(name, "line", (self._slot(names["line"], span),), let_type, span)
        where = {"date": "date of service", "code": "code on a date", "line": "line"}[scope]
        rule_kinds = {"date": "each date, each code or each line", "code": "each code or each line", "line": "each line"}[scope]
        body = {"claim": "a rule for the whole claim", "pair": "a rule for each pair", "date": "a rule for each date",
                "code": "a rule for each code", "line": "a rule for each line"}[env.scope]
        if env.scope == "pair":
            hint = f"name the line to take it for: first.{name} or second.{name}"
        elif env.scope == "claim":
            hint = f"use it in a rule `for {rule_kinds}`, or over the lines: {name} of lines"
        else:
            hint = f"use it in a rule `for {rule_kinds}`"
        return ir.Const(None, self.error(
            "scope_mismatch",
            f"'{name}' has one value for each {where}, and {body} has no single {where} to take it for",
            span, hint), span)

    @staticmethod
    def _slot(slot: ir.Slot, span: Span) -> ir.Slot:
        return ir.Slot(slot.name, slot.index, slot.type, span)

    @staticmethod
    def _line_field(line: ir.Expr, name: str, span: Span) -> ir.Expr:
        return ir.GetField(line, name, T.line_object().field_type(name), span)

    def _member_of(self, base: ir.Expr, name: str, env: Env, span: Span) -> ir.Expr | None:
        """`name` read from `base` (an object): a field, a row column, or a definition of a line."""
        obj = base.type.object
        if obj is None:
            return None
        if obj.name.startswith("row:"):
            table = obj.name[4:]
            for index, (column, type_) in enumerate(obj.fields):
                if column == name:
                    return ir.RowField(base, table, column, index, type_, span)
            return None
        field_type = obj.field_type(name)
        if field_type is not None:
            return ir.GetField(base, name, field_type, span)
        if obj.name == "line" and name in self.g.let_scope:
            scope = self.g.let_scope[name]
            if scope == "claim":
                return None
            let_type = self.g.let_type(name, span)
            self.ref(env, "let:" + name, span)
            if scope == "line":
                key: tuple = (base,)
            elif scope == "date":
                key = (self._line_field(base, "date", span),)
            else:
                key = (self._line_field(base, "code", span), self._line_field(base, "date", span))
            return ir.DefRef(name, scope, key, let_type, span)
        return None

    def _field(self, node: syn.Field, env: Env) -> ir.Expr:
        base = self.expr(node.base, env)
        if base.type == T.UNKNOWN:
            return ir.Const(None, T.UNKNOWN, node.span)
        found = self._member_of(base, node.name, env, node.span)
        if found is not None:
            return found
        obj = base.type.object
        if obj is None:
            self.error("no_such_field", f"{base.type} has no fields, so '.{node.name}' means nothing here", node.name_span)
        else:
            options = obj.field_names() + ([n for n, s in self.g.let_scope.items() if s != "claim"] if obj.name == "line" else [])
            self.error("no_such_field", f"{obj.label} has no field '{node.name}'", node.name_span,
                       did_you_mean(node.name, options) or "it has: " + ", ".join(obj.field_names()))
        return ir.Const(None, T.UNKNOWN, node.span)

    def _lookup(self, node: syn.Lookup, env: Env) -> ir.Expr:
        table_expr = self.expr(node.table, env)
        keys = tuple(self.expr(k, env) for k in node.keys)
        if table_expr.type == T.UNKNOWN:
            return ir.Const(None, T.UNKNOWN, node.span)
        if not isinstance(table_expr, ir.SetRef) or table_expr.kind != "table":
            self.error("type_mismatch", f"only a table can be looked up with [...]; this is {table_expr.type}", node.span)
            return ir.Const(None, T.UNKNOWN, node.span)
        table = self.g.tables[table_expr.name]
        if len(keys) != len(table.keys):
            names = ", ".join(c.name for c in table.keys)
            self.error("wrong_key", f"table {table.name} is looked up by {len(table.keys)} value(s) ({names}), "
                       f"but {len(keys)} were given", node.span)
        for key, column in zip(keys, table.keys):
            if not T.comparable(key.type, column.type):
                self.error("type_mismatch", f"key {column.name} of table {table.name} is {column.type}, "
                           f"but this is {key.type}", key.span)
        row = T.row_type(table.name, tuple((c.name, c.type) for c in table.columns))
        return ir.Lookup(table.name, keys, row, node.span)

    # -- calls
    def _call(self, node: syn.Call, env: Env) -> ir.Expr:
        args = tuple(self._rows(self.expr(a, env)) for a in node.args)
        builtin = B.SIGNATURES.get(node.function)
        if builtin is None:
            hint = did_you_mean(node.function, B.SIGNATURES)
            if node.function in self.g.let_scope or node.function in self.g.params:
                hint = f"'{node.function}' is a value, not a function: write it without parentheses"
            return ir.Const(None, self.error("unknown_function", f"unknown function '{node.function}'",
                                             node.name_span, hint or "see `payerlint builtins` for the list"), node.span)
        if any(a.type == T.UNKNOWN for a in args):
            return ir.Call(node.function, args, T.UNKNOWN, node.span)
        try:
            result = builtin.check([a.type for a in args])
        except B.SignatureError as exc:
            return ir.Const(None, self.error("bad_arguments", f"{node.function}() {exc}", node.span), node.span)
        return ir.Call(node.function, args, result, node.span)

    # -- operators
    def _binary(self, node: syn.Binary, env: Env) -> ir.Expr:
        left = self.expr(node.left, env)
        right = self.expr(node.right, env)
        op = node.op
        if op in ("and", "or"):
            for side, sub in ((left, node.left), (right, node.right)):
                if side.type not in (T.BOOLEAN, T.UNKNOWN):
                    self.error("type_mismatch", f"'{op}' joins yes/no conditions, but this is {side.type}", sub.span)
            return ir.Logic(op, left, right, T.BOOLEAN, node.span)
        if op == "otherwise":
            unified = T.unify(left.type, right.type)
            if unified is None:
                self.error("type_mismatch", f"both sides of 'otherwise' must be the same kind of value; "
                           f"got {left.type} and {right.type}", node.span)
                unified = T.UNKNOWN
            return ir.Otherwise(left, right, unified, node.span)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            self._check_code_literal(left, right)
            self._check_code_literal(right, left)
            if not (T.comparable(left.type, right.type) or _bare_number(left, right) or _bare_number(right, left)):
                number_vs_code = ({left.type.name, right.type.name} & {"code"}
                                  and isinstance(node.left if right.type.name == "code" else node.right, syn.Literal))
                self.error("type_mismatch", f"cannot compare {left.type} with {right.type}", node.span,
                           "write codes in quotes: code = \"97140\"" if number_vs_code else _unit_hint(left.type, right.type))
            elif op not in ("=", "!=") and (left.type.name in ("boolean", "list") or T.is_object(left.type)):
                self.error("type_mismatch", f"'{op}' orders numbers, dates and texts, not {left.type}", node.span)
            return ir.Compare(op, left, right, T.BOOLEAN, node.span)
        if op == "+" and T.is_list(left.type) and T.is_list(right.type):
            joined = T.unify(left.type, right.type)
            if joined is None:
                self.error("type_mismatch", f"cannot join {left.type} and {right.type}", node.span)
                joined = T.UNKNOWN
            return ir.Arith(op, left, right, joined, node.span)
        result = _arith_type(op, left.type, right.type)
        if result is None:
            self.error("type_mismatch", f"cannot compute {left.type} {op} {right.type}", node.span,
                       _arith_hint(op, left.type, right.type))
            result = T.UNKNOWN
        return ir.Arith(op, left, right, result, node.span)

    def _not(self, node: syn.Not, env: Env) -> ir.Expr:
        operand = self.expr(node.operand, env)
        if operand.type not in (T.BOOLEAN, T.UNKNOWN):
            self.error("type_mismatch", f"'not' needs a yes/no condition, but this is {operand.type}", node.span)
        return ir.Not(operand, T.BOOLEAN, node.span)

    def _negate(self, node: syn.Negate, env: Env) -> ir.Expr:
        operand = self.expr(node.operand, env)
        if operand.type != T.UNKNOWN and operand.type.name not in T.NUMERIC:
            self.error("type_mismatch", f"'-' needs a number, but this is {operand.type}", node.span)
        return ir.Negate(operand, operand.type, node.span)

    def _check_code_literal(self, value: ir.Expr, other: ir.Expr) -> None:
        """A quoted code compared with a code must be written as codes are: `"G0283"`,
        not `"g0283"`; a code that can never match is a rule that can never fire."""
        items = value.items if isinstance(value, ir.ListLit) else (value,)
        wanted = other.type.item if T.is_list(other.type) else other.type
        if wanted is None or wanted.name != "code":
            return
        for item in items:
            if isinstance(item, ir.Const) and isinstance(item.value, str) and not _CODE_SHAPE.fullmatch(item.value):
                hint = f"codes are written in capitals, like \"{item.value.upper()}\"" \
                    if _CODE_SHAPE.fullmatch(item.value.upper()) else "a code is 2 to 7 capitals and digits, like \"97140\", \"G0283\", \"GP\" or \"S93.402D\""
                self.error("not_a_code", f"\"{item.value}\" is not a code", item.span, hint)

    def _member(self, node: syn.Member, env: Env) -> ir.Expr:
        element = self.expr(node.element, env)
        collection = self._collection(node.collection, env)
        self._check_code_literal(element, collection)
        if T.is_list(element.type):
            pass
        elif isinstance(collection, ir.ListLit):
            self._check_code_literal(collection, element)
        self._check_membership(element.type, collection, node.span, "in")
        return ir.Member(element, collection, node.negated, T.BOOLEAN, node.span)

    def _check_membership(self, element: Type, collection: ir.Expr, span: Span, word: str) -> None:
        ctype = collection.type
        if T.UNKNOWN in (element, ctype):
            return
        if ctype == T.CODESET:
            if not T.is_texty(element):
                self.error("type_mismatch", f"a code set holds codes, but this is {element}", span)
        elif ctype == T.TABLE:
            table = self.g.tables[collection.name]  # type: ignore[union-attr]
            if len(table.keys) != 1:
                self.error("type_mismatch", f"'{word} {table.name}' needs a table with one key column; "
                           f"look it up instead: {table.name}[...] is present", span)
        elif ctype == T.PHRASES:
            self.error("type_mismatch", "test phrase sets with 'mentions': documentation.x mentions any of vague", span)
        elif T.is_list(ctype):
            if ctype.item not in (None, T.UNKNOWN) and not T.comparable(element, ctype.item):
                self.error("type_mismatch", f"the list holds {ctype.item}, which cannot match {element}", span,
                           'write codes in quotes: code in ["97014", "97010"]'
                           if T.is_texty(element) and ctype.item.name == "integer" else None)
        else:
            subtraction = (isinstance(collection, ir.Arith) and collection.op == "-"
                           and all(isinstance(side, ir.Const) and side.type == T.INTEGER
                                   for side in (collection.left, collection.right)))
            self.error("type_mismatch", f"'{word}' needs a code set, a table or a list on its right, not {ctype}", span,
                       "a range of codes is written without spaces around '-': code in 98940-98942"
                       if subtraction else None)

    def _has(self, node: syn.Has, env: Env) -> ir.Expr:
        items = self.expr(node.items, env)
        collection = self._collection(node.collection, env)
        if items.type != T.UNKNOWN and not T.is_list(items.type):
            self.error("type_mismatch", f"'has {node.quantifier} of' needs a list on its left, not {items.type}", node.items.span)
        elif items.type != T.UNKNOWN:
            self._check_membership(items.type.item or T.UNKNOWN, collection, node.span, "has")
        return ir.Has(items, node.quantifier, collection, T.BOOLEAN, node.span)

    def _mentions(self, node: syn.Mentions, env: Env) -> ir.Expr:
        text = self.expr(node.text, env)
        phrases = self.expr(node.phrases, env)
        if text.type != T.UNKNOWN and not T.is_texty(text.type):
            self.error("type_mismatch", f"'mentions' reads text, but this is {text.type}", node.text.span)
        if phrases.type not in (T.PHRASES, T.TEXT, T.UNKNOWN) and phrases.type != T.list_of(T.TEXT):
            self.error("type_mismatch", f"'mentions' needs a phrase set or a quoted phrase, not {phrases.type}", node.phrases.span)
        return ir.Mentions(text, node.quantifier, phrases, T.BOOLEAN, node.span)

    def _istest(self, node: syn.IsTest, env: Env) -> ir.Expr:
        operand = self.expr(node.operand, env)
        # `with pa = episode.prior_authorization ... when pa is missing` tests the field
        # itself, and so does `pa is missing` for a claim-level `let pa = ...`.
        if isinstance(operand, ir.Slot) and operand.name in env.inline:
            operand = env.inline[operand.name]
        elif isinstance(operand, ir.DefRef) and operand.scope == "claim":
            defined = self.g.let_expr(operand.name)
            if defined is not None:
                operand = defined
        if node.test == "blank" and operand.type != T.UNKNOWN and not (T.is_texty(operand.type) or T.is_list(operand.type)):
            self.error("type_mismatch", f"'is blank' tests text or a list, not {operand.type}; use 'is missing'", node.span)
        return ir.IsTest(operand, node.test, node.negated, T.BOOLEAN, node.span)

    # -- codes written in an expression
    def _collection(self, node: syn.Expr, env: Env) -> ir.Expr:
        """The right side of `in` / `has ... of`: a range or prefix of codes (alone or in a
        list with quoted codes) is a code set of its own; anything else as usual."""
        if isinstance(node, syn.Codes) or (isinstance(node, syn.ListLiteral)
                                           and any(isinstance(i, syn.Codes) for i in node.items)):
            return self._inline_codes(node)
        return self.expr(node, env)

    def _inline_codes(self, node: syn.Codes | syn.ListLiteral) -> ir.Expr:
        items = node.items if isinstance(node, syn.ListLiteral) else (node,)
        members = []
        for item in items:
            if isinstance(item, syn.Codes):
                members.append(item.item)
            elif isinstance(item, syn.Literal) and item.kind == "text" and _CODE_SHAPE.fullmatch(item.value):
                members.append(syn.CodeItem(item.value, None, item.span))
            elif isinstance(item, syn.Literal) and item.kind == "integer" and _CODE_SHAPE.fullmatch(item.raw):
                # Beside a range, a bare 97140 is a code too: the list is a code set.
                members.append(syn.CodeItem(item.raw, None, item.span))
            else:
                self.error("type_mismatch", "a list of codes holds quoted codes, ranges and prefixes only",
                           item.span, 'for example: code in ["97140", 98940-98942, S93.4*]')
                return ir.Const(None, T.UNKNOWN, node.span)
        before = len(self.errors)
        label = _source_label(node)
        codeset = codeset_of(label, None, tuple(members), None, ir.Origin("", node.span), self.errors)
        if len(self.errors) > before:
            return ir.Const(None, T.UNKNOWN, node.span)
        return ir.Const(codeset, T.CODESET, node.span)

    def _codes(self, node: syn.Codes, env: Env) -> ir.Expr:
        # Reached only where a range or prefix is not the right side of `in`/`has`.
        item = node.item
        written = f"{item.first}-{item.last}" if item.last else item.first
        what = "a range of codes" if item.last else "a code prefix"
        if item.last and item.first.isdigit() and item.last.isdigit() and len(item.first) < 5:
            # `30-15`: almost surely a subtraction written without spaces.
            self.error("misplaced_code_range", f"{written} reads as {what}; to subtract, put spaces around '-': "
                       f"{item.first} - {item.last}", node.span)
            return ir.Const(None, T.UNKNOWN, node.span)
        self.error("misplaced_code_range", f"{written} is {what}, which only `in`, `not in` or `has any of` can test",
                   node.span, f"test a code against it with in: code in {written}")
        return ir.Const(None, T.UNKNOWN, node.span)

    def _rows(self, collection: ir.Expr) -> ir.Expr:
        """A table used where a list is expected is the list of its rows."""
        if isinstance(collection, ir.SetRef) and collection.kind == "table":
            table = self.g.tables[collection.name]
            row = T.row_type(table.name, tuple((c.name, c.type) for c in table.columns))
            return ir.SetRef("table", collection.name, T.list_of(row), collection.span)
        return collection

    def _element_body(self, collection: ir.Expr, env: Env, span: Span) -> ir.Slot:
        item = collection.type.item if T.is_list(collection.type) else T.UNKNOWN
        if collection.type != T.UNKNOWN and not T.is_list(collection.type):
            self.error("type_mismatch", f"'where' and 'of' work on a list, but this is {collection.type}", collection.span or span)
        slot = ir.Slot("it", env.alloc(), item or T.UNKNOWN, span)
        return slot

    def _filter(self, node: syn.Filter, env: Env) -> ir.Expr:
        collection = self._rows(self.expr(node.collection, env))
        slot = self._element_body(collection, env, node.span)
        env.elements.append(slot)
        try:
            condition = self.expr(node.condition, env)
        finally:
            env.elements.pop()
        if condition.type not in (T.BOOLEAN, T.UNKNOWN):
            self.error("type_mismatch", f"the condition after 'where' must be yes/no, but this is {condition.type}", node.condition.span)
        return ir.Filter(collection, slot.index, condition, collection.type, node.span)

    def _map(self, node: syn.Map, env: Env) -> ir.Expr:
        collection = self._rows(self.expr(node.collection, env))
        slot = self._element_body(collection, env, node.span)
        env.elements.append(slot)
        try:
            value = self.expr(node.value, env)
        finally:
            env.elements.pop()
        return ir.Map(collection, slot.index, value, T.list_of(value.type), node.span)

    def _conditional(self, node: syn.Conditional, env: Env) -> ir.Expr:
        condition = self.expect(node.condition, env, T.BOOLEAN, "the condition after 'if'")
        then = self.expr(node.then, env)
        other = self.expr(node.otherwise, env)
        unified = T.unify(then.type, other.type)
        if unified is None:
            self.error("type_mismatch", f"'then' gives {then.type} but 'else' gives {other.type}", node.span)
            unified = T.UNKNOWN
        return ir.Conditional(condition, then, other, unified, node.span)

    def _listliteral(self, node: syn.ListLiteral, env: Env) -> ir.Expr:
        items = tuple(self.expr(i, env) for i in node.items)
        item_type: Type | None = T.UNKNOWN
        for item in items:
            item_type = T.unify(item_type, item.type) if item_type is not None else None
        if item_type is None:
            self.error("type_mismatch", "a list holds values of one kind", node.span)
            item_type = T.UNKNOWN
        return ir.ListLit(items, T.list_of(item_type), node.span)

    def _literal(self, node: syn.Literal, env: Env) -> ir.Expr:
        return ir.Const(node.value, T.SCALARS["boolean" if node.kind == "boolean" else node.kind], node.span)


def _bare_number(value: ir.Expr, other: ir.Expr) -> bool:
    """A plain number written in the rule (`minutes >= 15`, `amount > 0`) takes the unit
    of what it is compared with; a param or a field keeps its own."""
    return (isinstance(value, ir.Const) and value.type in (T.INTEGER, T.DECIMAL)
            and other.type.name in T.NUMERIC)


def _unit_hint(a: Type, b: Type) -> str | None:
    names = {a.name, b.name}
    if names & {"money", "minutes", "days"} and names <= T.NUMERIC:
        return "amounts, minutes and days compare only with their own kind (write 15 minutes, 30 days, $2,480.00)"
    return None


_CODE_SHAPE = __import__("re").compile(r"[0-9A-Z]{2,7}(\.[0-9A-Z]{1,4})?")


def _source_label(node) -> str:
    """How an inline code set reads in explanations: its members as written."""
    items = node.items if isinstance(node, syn.ListLiteral) else (node,)
    words = []
    for item in items:
        if isinstance(item, syn.Codes):
            words.append(f"{item.item.first}-{item.item.last}" if item.item.last else item.item.first)
        elif isinstance(item, syn.Literal):
            words.append(str(item.value))
    return " ".join(words)


def _nested_hint(name: str) -> str | None:
    """For a name close to a field inside a part of the claim (`prior_auth` for
    `episode.prior_authorization`): that field's path, which is how a rule reads it."""
    paths: dict[str, list[str]] = {}
    parts = [(T.claim_type(), "")]
    while parts:
        obj, prefix = parts.pop()
        for key, type_ in obj.fields:
            if prefix:
                paths.setdefault(key, []).append(prefix + key)
            if type_.object is not None and prefix.count(".") < 3:
                parts.append((type_.object, prefix + key + "."))
    close = close_names(name, paths)
    if not close:
        return None
    found = [path for key in close for path in sorted(paths[key])]
    return "did you mean " + " or ".join(f"'{p}'" for p in found) + "? (a field inside the claim is read by its path)"


def _scope_hint(name: str) -> str:
    return {
        "line": "`line` exists in a rule `for each line` (or a definition `per line`)",
        "first": "`first` and `second` exist in a rule `for each pair`",
        "second": "`first` and `second` exist in a rule `for each pair`",
        "service_date": "`service_date` exists in a rule `for each date` or `for each code`",
        "code": "bare `code` names a line's code inside `lines where ...`, the line's code in a rule "
                "`for each line`, and the code in a rule `for each code`",
    }[name]


_ADDITIVE = {
    ("integer", "integer"): "integer", ("decimal", "decimal"): "decimal", ("integer", "decimal"): "decimal",
    ("decimal", "integer"): "decimal", ("money", "money"): "money", ("minutes", "minutes"): "minutes",
    ("minutes", "integer"): "minutes", ("integer", "minutes"): "minutes", ("days", "days"): "days",
    ("days", "integer"): "days", ("integer", "days"): "days",
}


def _arith_type(op: str, a: Type, b: Type) -> Type | None:
    if T.UNKNOWN in (a, b):
        return T.UNKNOWN
    pair = (a.name, b.name)
    if op in ("+", "-"):
        if pair == ("date", "days") or (op == "+" and pair == ("days", "date")):
            return T.DATE
        if op == "-" and pair == ("date", "date"):
            return T.DAYS
        name = _ADDITIVE.get(pair)
        return T.SCALARS[name] if name else None
    if op == "*":
        if "money" in pair and set(pair) <= {"money", "integer", "decimal"} and pair != ("money", "money"):
            return T.MONEY
        if set(pair) <= {"integer"}:
            return T.INTEGER
        if set(pair) <= {"integer", "decimal"}:
            return T.DECIMAL
        if set(pair) in ({"minutes", "integer"}, {"days", "integer"}):
            return a if a.name != "integer" else b
        return None
    if op == "/":
        if pair in (("money", "integer"), ("money", "decimal")):
            return T.MONEY
        if set(pair) <= {"integer", "decimal", "minutes", "days"} or pair == ("money", "money"):
            return T.DECIMAL
        return None
    return None


def _arith_hint(op: str, a: Type, b: Type) -> str | None:
    if {a.name, b.name} == {"date", "integer"}:
        return "add a number of days with its unit: service_date + 30 days"
    if "money" in (a.name, b.name):
        return "money adds to money, and multiplies or divides by a plain number"
    return None
