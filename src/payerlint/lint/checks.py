"""The checks `payerlint lint` runs on one compiled rulebook and its syntax tree.

Each check reports only what this rulebook's own file says (an inherited declaration is
its base's business), except where this file changes what an inherited rule means: an
override that makes an inherited rule's title wrong, an inherited rule whose fix fights
one of this file's rules.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from payerlint.compile import ir
from payerlint.diagnostics import Diagnostic
from payerlint.lint.codes import code_problems
from payerlint.lint.common import WARNING, syntax_nodes, warn  # noqa: F401 - WARNING: the lint package's
from payerlint.lint.conditions import contradictions
from payerlint.source import Span
from payerlint.syntax import tree as syn

_KIND = {syn.Param: "param", syn.CodeSet: "codeset", syn.PhraseSet: "phrases", syn.Table: "table", syn.Let: "let"}
_TABLES = {"param": "params", "codeset": "codesets", "phrases": "phrases", "table": "tables", "let": "lets"}


def check_rulebook(compiled, tree: syn.Rulebook, extenders=()) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    found += unused(compiled, tree, extenders)
    found += citations(tree)
    found += never_holds(compiled)
    found += numbers(compiled, tree)
    found += fighting_fixes(compiled, tree)
    found += code_problems(tree)
    return found


# ------------------------------------------------------------------ unused declarations


def unused(compiled, tree: syn.Rulebook, extenders=()) -> list[Diagnostic]:
    """A param, code set, phrase set, table or definition that no rule reads, here or in a
    rulebook that extends this one; a rule's `with` that nothing in the rule reads."""
    found = []
    graph = compiled.graph
    for item in tree.items:
        kind = _KIND.get(type(item))
        if kind is None:
            continue
        node = f"{kind}:{item.name.id}"
        if node not in graph or graph.out_degree(node) > 0:
            continue
        if any(_used_by(other, kind, item.name.id, compiled.id) for other in extenders):
            continue
        what = f"{'override ' if item.override else ''}{kind} {item.name.id}"
        found.append(warn("unused_declaration", f"{what} is declared but no rule or definition uses it",
                          item.name.span, "remove it, or use it in a rule (a value nothing reads is easy to "
                                          "update by mistake and checks nothing)"))
    for item in tree.items:
        if isinstance(item, syn.Rule):
            found += _unused_bindings(item)
    return found


def _used_by(other, kind: str, name: str, rulebook_id: str) -> bool:
    declared = getattr(other, _TABLES[kind]).get(name)
    node = f"{kind}:{name}"
    return (declared is not None and declared.origin.rulebook == rulebook_id and node in other.graph
            and other.graph.out_degree(node) > 0)


def _unused_bindings(rule: syn.Rule) -> list[Diagnostic]:
    read: set[str] = set()
    expressions = [rule.when, rule.unless] + [b.expr for b in rule.bindings]
    expressions += [f.value for f in rule.fixes] + [f.loop_over for f in rule.fixes]
    for expression in expressions:
        if expression is not None:
            read |= {n.id for n in syntax_nodes(expression) if isinstance(n, syn.Name)}
    texts = [rule.say.value] if rule.say is not None else []
    texts += [f.path.value for f in rule.fixes]
    for text in texts:
        read |= {m.group(1) for m in re.finditer(r"\{\s*([a-z_][a-z0-9_]*)", text)}
    return [warn("unused_binding", f"'with {b.name.id}' in rule {rule.id.id} is never read", b.name.span,
                 "remove it, or use it in the condition, the message or the fix")
            for b in rule.bindings if b.name.id not in read]


# ------------------------------------------------------------------ citations

_PLACEHOLDER_WORDS = re.compile(r"\b(todo|tbd|tba|fixme|xxx+|placeholder|lorem ipsum|citation needed|"
                                r"source needed|fill (?:this |it )?in)\b", re.I)


def placeholder_reason(text: str) -> str | None:
    """Why a citation text names no source, or None when it looks like a real one."""
    from payerlint.payers.scaffold import PLACEHOLDERS

    stripped = text.strip()
    if not stripped:
        return "is empty"
    if stripped in PLACEHOLDERS:
        return "is the placeholder `payerlint payers new` writes"
    if re.fullmatch(r"\(.*\)", stripped) and not re.search(r"\d", stripped):
        return "is a placeholder in parentheses"
    match = _PLACEHOLDER_WORDS.search(stripped)
    if match:
        return f"says '{match.group(0)}'"
    if not re.search(r"[A-Za-z0-9]", stripped):
        return "names no source"
    return None


def citations(tree: syn.Rulebook) -> list[Diagnostic]:
    found = []
    texts: list[tuple[str, syn.Text]] = [("source", s) for s in tree.header.sources]
    for item in tree.items:
        cite = getattr(item, "cite", None)
        if cite is not None:
            name = item.id.id if isinstance(item, syn.Rule) else item.name.id if hasattr(item, "name") else ""
            texts.append((f"the citation of {syn.kind_of(item)} {name}", cite))
    for what, text in texts:
        reason = placeholder_reason(text.value)
        if reason is not None:
            found.append(warn("placeholder_citation", f"{what} {reason}", text.span,
                              "name the document a reader can check: its title, section and date (for example "
                              "\"CMS Pub. 100-04 Ch. 5 sec. 20.2\")"))
    return found


# ------------------------------------------------------------------ conditions


def never_holds(compiled) -> list[Diagnostic]:
    found = []
    bodies = []
    for rule in compiled.rules:
        if rule.origin.rulebook == compiled.id:
            bodies.append((rule.when, f"rule {rule.id} never fires"))
            if rule.unless is not None:
                bodies.append((rule.unless, f"the unless of rule {rule.id} never excuses anything"))
            bodies += [(b.expr, f"'with {b.name}' of rule {rule.id} never holds") for b in rule.bindings]
    for let in compiled.lets.values():
        if let.origin.rulebook == compiled.id:
            bodies.append((let.expr, f"definition {let.name} never holds where this is used"))
    for expr, consequence in bodies:
        for problem in contradictions(expr, compiled):
            found.append(warn("condition_never_holds", f"{problem.message}, so {consequence}", problem.span,
                              "check the values and code sets it names; perhaps 'or' was meant",
                              related=problem.related))
    return found


# ------------------------------------------------------------------ numbers in titles and messages

_MONEY = re.compile(r"\$([0-9][0-9,]*(?:\.[0-9]{2})?)")
_DAYS = re.compile(r"(?<![\d.])(\d+)[ -](days?|weeks?)\b", re.I)
_MINUTES = re.compile(r"(?<![\d.])(\d+)[ -](minutes?|mins?)\b", re.I)
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?%")
_COUNT = re.compile(r"(?<![\d.$,-])(\d{1,3})(?:st|nd|rd|th)? ([a-z]+)")
"""A count before its noun: "20 visits", "the 20th visit"."""
_COUNT_AFTER = re.compile(r"\b([a-z]+) (\d{1,3})(?![\d.,%:/-])")
"""A count after its noun: "after visit 20" (a bare count is matched to a param only by its noun)."""


def _stated(text: str) -> dict[str, list[tuple[object, str]]]:
    """Quantities a text states, by kind: (value, as written)."""
    found: dict[str, list] = {"money": [], "days": [], "minutes": [], "percent": [], "count": []}
    for m in _MONEY.finditer(text):
        try:
            found["money"].append((Decimal(m.group(1).replace(",", "")), m.group(0)))
        except InvalidOperation:
            pass
    for m in _DAYS.finditer(text):
        found["days"].append((int(m.group(1)) * (7 if m.group(2).lower().startswith("week") else 1), m.group(0)))
    for m in _MINUTES.finditer(text):
        found["minutes"].append((int(m.group(1)), m.group(0)))
    for m in _PERCENT.finditer(text):
        found["percent"].append((Decimal(m.group(1)), m.group(0)))
    for m in _COUNT.finditer(text):
        found["count"].append((int(m.group(1)), m.group(0), _stem(m.group(2))))
    for m in _COUNT_AFTER.finditer(text):
        found["count"].append((int(m.group(2)), m.group(0), _stem(m.group(1))))
    return found


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _params_read(compiled, rule_id: str) -> list:
    import networkx as nx

    node = f"rule:{rule_id}"
    if node not in compiled.graph:
        return []
    return [compiled.params[n.split(":", 1)[1]] for n in sorted(nx.ancestors(compiled.graph, node))
            if n.startswith("param:")]


def _kind_of(param) -> str | None:
    name = param.type.name
    if name == "money":
        return "money"
    if name in ("days", "minutes"):
        return name
    if name == "integer" and not isinstance(param.value, bool):
        return "percent" if "percent" in param.name else "count"
    if name == "decimal" and "percent" in param.name:
        return "percent"
    return None


def _mismatch(text: str, params: list) -> tuple[object, str, object] | None:
    """(param, number as written, value) when the text states a number for the kind of a
    param the rule reads, and it is not that param's value (nor another's of its kind)."""
    stated = _stated(text)
    by_kind: dict[str, list] = {}
    for param in params:
        kind = _kind_of(param)
        if kind is not None:
            by_kind.setdefault(kind, []).append(param)
    for kind, group in by_kind.items():
        values = {p.value for p in group}
        for entry in stated[kind]:
            value, written = entry[0], entry[1]
            if value in values:
                continue
            if kind == "count":
                # A bare count is about a param only when its noun is in the param's name.
                named = [p for p in group if entry[2] in {_stem(w) for w in p.name.split("_")}]
                if not named or any(p.value == value for p in named):
                    continue
                return named[0], written, value
            if len(group) == 1 and len(stated[kind]) == 1:
                return group[0], written, value
    return None


def numbers(compiled, tree: syn.Rulebook) -> list[Diagnostic]:
    found = []
    own_rules = {item.id.id: item for item in tree.items if isinstance(item, syn.Rule)}
    overrides = {item.name.id: item for item in tree.items if isinstance(item, syn.Param) and item.override}
    for rule in compiled.rules:
        params = _params_read(compiled, rule.id)
        mine = rule.origin.rulebook == compiled.id
        if not mine:
            # An inherited rule's numbers agreed with its base; only this rulebook's
            # overrides can make them disagree (a number may match a param left alone).
            params = [p for p in params if p.name in overrides]
            if not params:
                continue
        message = "".join(part for part in rule.message.parts if isinstance(part, str))
        # A message that shows a param's value ({certification_days}) states it already; its
        # other numbers of that kind are about something else.
        in_message = {node.name for part in rule.message.parts if not isinstance(part, str)
                      for node in ir.walk(part) if isinstance(node, ir.ParamRef)}
        for what, text in (("title", rule.title), ("message", message)):
            read = params if what == "title" else [p for p in params if p.name not in in_message]
            clash = _mismatch(text, read)
            if clash is None:
                continue
            param, written, _ = clash
            shown = _value(param)
            advice = (f"write {{{param.name}}} in the message instead of the number, so it follows the param"
                      if what == "message" else "say the limit without its number, or correct it")
            if mine:
                syntax = own_rules.get(rule.id)
                span = (syntax.title.span if what == "title" else syntax.say.span) if syntax is not None else rule.origin.span
                found.append(warn("number_differs_from_param",
                                  f"the {what} of rule {rule.id} says '{written}', but param {param.name} it reads "
                                  f"is {shown}", span, advice))
            elif param.name in overrides:
                found.append(warn("number_differs_from_param",
                                  f"the {what} of inherited rule {rule.id} ({rule.origin.rulebook}) says "
                                  f"'{written}', but this rulebook overrides {param.name} to {shown}",
                                  overrides[param.name].name.span,
                                  f"override rule {rule.id} with a {what} that fits, or tell the base's authors",
                                  related=(rule.origin.span,)))
    return found


def _value(param) -> str:
    from payerlint.evaluate.values import format_value

    text = format_value(param.value, param.type)
    return f"{text} {param.type.name}" if param.type.name in ("days", "minutes") else text


# ------------------------------------------------------------------ fixes that fight


def _codes_tested(rule: ir.Rule, compiled):
    """The code sets the rule's own code must be in (from the top `and` of its condition)."""
    from payerlint.evaluate.plan import and_parts

    tested = []
    for part in and_parts(rule.when):
        if isinstance(part, ir.Member) and not part.negated and _is_own_code(part.element, rule.scope):
            if isinstance(part.collection, ir.SetRef) and part.collection.kind == "codeset":
                tested.append(compiled.codesets[part.collection.name])
            elif isinstance(part.collection, ir.Const) and isinstance(part.collection.value, ir.CodeSet):
                tested.append(part.collection.value)
        elif (isinstance(part, ir.Compare) and part.op == "=" and _is_own_code(part.left, rule.scope)
              and isinstance(part.right, ir.Const) and isinstance(part.right.value, str)):
            tested.append(frozenset({part.right.value}))
    return tested


def _is_own_code(expr, scope: str) -> bool:
    if scope == "code":
        return isinstance(expr, ir.Slot) and expr.name == "code"
    return (scope == "line" and isinstance(expr, ir.GetField) and expr.name == "code"
            and isinstance(expr.base, ir.Slot) and expr.base.name == "line")


def _shared(a_sets, b_sets) -> list[str]:
    """Codes both rules can fire on, when both name finite sets (listed codes)."""
    def finite(sets):
        pool = None
        for codes in sets:
            members = codes if isinstance(codes, frozenset) else (codes.codes if not codes.prefixes
                                                                  and not codes.ranges else None)
            if members is None:
                continue
            pool = set(members) if pool is None else pool & set(members)
        return pool

    a, b = finite(a_sets), finite(b_sets)
    if a is None or b is None:
        return []
    return sorted(a & b)


def _shape(template: ir.Template) -> str:
    return "".join(part if isinstance(part, str) else "{}" for part in template.parts)


def _canonical(expr) -> str:
    """An expression with scope and loop names left out, to compare two fixes' values."""
    if expr is None:
        return ""
    from payerlint.source import span_text

    text = span_text(expr.span) or repr(expr)
    return re.sub(r"\b[a-z_][a-z0-9_]*\.", ".", text)


def fighting_fixes(compiled, tree: syn.Rulebook) -> list[Diagnostic]:
    """A rule of this file and an inherited rule of the same scope, on shared codes, whose
    fixes set the same place of the claim differently (or add what the other removes)."""
    found = []
    # Rules that can run: the evaluator drops those with a constant false part (the AMA
    # rule under the CMS method), and so does this check.
    from payerlint.evaluate.prepare import prepare

    live = {code.rule.id for code in prepare(compiled).rules}
    own = [r for r in compiled.rules if r.origin.rulebook == compiled.id and r.origin.overrides is None]
    inherited = [r for r in compiled.rules if r.origin.rulebook != compiled.id and (live is None or r.id in live)]
    syntax = {item.id.id: item for item in tree.items if isinstance(item, syn.Rule)}
    for mine in own:
        my_codes = _codes_tested(mine, compiled)
        if not my_codes or not mine.fixes:
            continue
        for theirs in inherited:
            if theirs.scope != mine.scope or not theirs.fixes:
                continue
            codes = _shared(my_codes, _codes_tested(theirs, compiled))
            if not codes:
                continue
            for number, my_fix in enumerate(mine.fixes):
                for their_fix in theirs.fixes:
                    if _caps(mine, my_fix) and _caps(theirs, their_fix):
                        # Two caps on a line's units: the combined fix keeps the smaller
                        # (evaluate/patch.py), which both allow. A cap against a rule that
                        # raises units is still reported: their fixes would undo each other.
                        continue
                    why = _fight(my_fix, their_fix)
                    if why is None:
                        continue
                    written = syntax.get(mine.id)
                    span = written.fixes[number].span if written is not None else mine.origin.span
                    shown = ", ".join(codes[:5]) + (", ..." if len(codes) > 5 else "")
                    found.append(warn(
                        "contradicting_fixes",
                        f"rule {mine.id} and inherited rule {theirs.id} ({theirs.origin.rulebook}) both fire on "
                        f"{shown} and their fixes disagree: {why}", span,
                        f"disable rule {theirs.id} (with the reason), override it, or make the two fixes agree",
                        related=(theirs.origin.span,)))
    return found


def _caps(rule: ir.Rule, fix: ir.Fix) -> bool:
    """Whether `fix` lowers the line's units: it replaces them, and the rule fires only when
    they (or a value they are added into) are above something (`units > 1`, `total >
    units_per_date` with `total = before + units`)."""
    from payerlint.evaluate.plan import and_parts

    if fix.op != "replace" or _shape(fix.path) != "/lines/{}/units" or rule.scope != "line":
        return False
    bound = {b.slot: b.expr for b in rule.bindings}

    def reads_units(expr, depth=0) -> bool:
        for node in ir.walk(expr):
            if isinstance(node, ir.GetField) and node.name == "units" and isinstance(node.base, ir.Slot) \
                    and node.base.index == 1:
                return True
            if isinstance(node, ir.Slot) and node.index in bound and depth < 4 and reads_units(bound[node.index],
                                                                                               depth + 1):
                return True
        return False

    for part in and_parts(rule.when):
        if isinstance(part, ir.Compare) and (
                (part.op in (">", ">=") and reads_units(part.left) and not reads_units(part.right))
                or (part.op in ("<", "<=") and reads_units(part.right) and not reads_units(part.left))):
            return True
    return False


def _fight(a: ir.Fix, b: ir.Fix) -> str | None:
    path = _shape(a.path)
    if path != _shape(b.path):
        return None
    ops = {a.op, b.op}
    if ops in ({"add", "remove"}, {"replace", "remove"}):
        return f"one sets {path}, the other removes it"
    if a.op == b.op and a.op in ("replace", "add") and not path.endswith("/-") \
            and _canonical(a.value) != _canonical(b.value):
        return f"{path} becomes {_canonical(a.value).lstrip('.')} in one and {_canonical(b.value).lstrip('.')} in the other"
    return None
