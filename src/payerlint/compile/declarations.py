"""Compile each kind of declaration: params, code sets, phrase sets, tables, definitions
and rules. Expressions go through `resolve.Resolver`; this module checks everything
around them (required clauses, allowed words, message templates, fixes)."""

from __future__ import annotations

import os
import re
from decimal import Decimal

from payerlint.compile import ir
from payerlint.compile import types as T
from payerlint.compile.codesets import codeset_of
from payerlint.compile.privacy import private_source
from payerlint.compile.resolve import RESERVED, Env, Resolver
from payerlint.compile.tables import load_table
from payerlint.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from payerlint.source import Span
from payerlint.syntax import tree as syn

CATEGORIES = ("units", "ptp", "mue", "modifier", "threshold", "documentation", "coding", "diagnosis",
              "authorization", "coverage", "limit", "input")
SEVERITIES = ("deny", "warn", "info")
RULE_SCOPES = {"the claim": "claim", "each line": "line", "each pair": "pair", "each date": "date", "each code": "code"}
LET_SCOPES = ("claim", "date", "code", "line")
# Words people write for a scope; the suggestion names the scope's own word.
SCOPE_SYNONYMS = {"day": "date", "dos": "date", "service": "date", "visit": "date", "cpt": "code", "hcpcs": "code",
                  "item": "line", "service_line": "line", "each line": "line"}
FIX_OPS = ("add", "remove", "replace", "test")
REQUIRED_CLAUSES = ("category", "severity", "when", "say", "cite")
SINGLE_CLAUSES = ("for", "category", "severity", "when", "unless", "say", "cite", "denial")

# X12 claim adjustment group codes (code list 139's companion, the CAS01 element):
# contractual obligation, correction and reversal, other, payer initiated, patient responsibility.
DENIAL_GROUPS = ("CO", "CR", "OA", "PI", "PR")
# The forms of the codes in X12's code lists: a reason code (CARC, https://x12.org/codes/
# claim-adjustment-reason-codes) is 1-3 digits or a letter and digits (B7, P1); a remark code
# (RARC, https://x12.org/codes/remittance-advice-remark-codes) is M, MA or N and digits.
_CARC = re.compile(r"[0-9]{1,3}|[A-Z][0-9]{1,3}")
_RARC = re.compile(r"(?:M|MA|N)[0-9]{1,4}")


def _error(errors: list[Diagnostic], code: str, message: str, span: Span, *notes: str | None) -> None:
    errors.append(Diagnostic(code, message, span=span, notes=tuple(n for n in notes if n)))


def check_name(name: syn.Ident, errors: list[Diagnostic]) -> None:
    if name.id in RESERVED:
        what = "a field of a claim line" if name.id in T.line_object().field_names() else \
            "a claim field or a scope variable"
        _error(errors, "reserved_name", f"'{name.id}' is {what}, so it cannot name a declaration; choose another name",
               name.span)


# ------------------------------------------------------------------ params


def compile_param(decl: syn.Param, origin: ir.Origin, errors: list[Diagnostic],
                  inherited: ir.Param | None = None) -> ir.Param:
    check_name(decl.name, errors)
    choices = tuple(c.value for c in decl.choices) or (inherited.choices if inherited is not None else ())
    if choices and decl.value.value not in choices:
        shown = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in choices)
        close = did_you_mean(str(decl.value.value), [str(c) for c in choices])
        _error(errors, "not_a_choice", f"param {decl.name.id} must be one of {shown}", decl.value.span,
               close, "declared in the base rulebook" if not decl.choices and inherited is not None else None)
    literal = decl.value
    kind = "boolean" if literal.kind == "boolean" else literal.kind
    value = literal.value
    # An override takes the type the base declared: its value is checked here, at the
    # override, not where the base's rules first read it (which named the base's lines).
    inherited_type = inherited.type.name if inherited is not None and inherited.type.name in T.PARAM_TYPES else None
    if decl.type is not None or inherited_type is not None:
        wanted = decl.type.id if decl.type is not None else inherited_type
        if wanted not in T.PARAM_TYPES:
            _error(errors, "unknown_type", f"unknown type '{wanted}'", decl.type.span,
                   "types are: " + ", ".join(T.PARAM_TYPES))
            return ir.Param(decl.name.id, T.UNKNOWN, value, _cite(decl.cite), origin, choices)
        allowed = {
            "minutes": ("minutes", "integer"), "days": ("days", "integer"), "money": ("money", "decimal", "integer"),
            "decimal": ("decimal", "integer"), "code": ("text",), "text": ("text",),
        }.get(wanted, (wanted,))
        if kind not in allowed:
            declared = "declared" if decl.type is not None else f"declared {wanted} in {inherited.origin.rulebook}, so"
            message = (f"param {decl.name.id} is declared {wanted}, but its value is {kind}" if decl.type is not None
                       else f"param {decl.name.id} is {declared} its override must be {wanted} too, but this is {kind}")
            _error(errors, "type_mismatch", message, literal.span, _literal_example(wanted))
        elif wanted == "money":
            value = Decimal(value).quantize(Decimal("0.01"))
        elif wanted == "decimal":
            value = Decimal(value)
        kind = wanted
    return ir.Param(decl.name.id, T.SCALARS[kind], value, _cite(decl.cite), origin, choices)


def _literal_example(kind: str) -> str:
    return {
        "money": "money is written $2,480.00", "date": "a date is written 2026-04-01",
        "minutes": "minutes are written 8 minutes", "days": "days are written 30 days",
        "integer": "an integer is written 12", "text": 'text is written "in quotes"',
        "code": 'a code is written in quotes: "97140"', "decimal": "a decimal is written 0.85",
        "boolean": "a yes/no value is written true or false",
    }.get(kind, "")


def _cite(text: syn.Text | None) -> str | None:
    return text.value if text is not None else None


# ------------------------------------------------------------------ code sets and phrases



def compile_codeset(decl: syn.CodeSet, origin: ir.Origin, errors: list[Diagnostic]) -> ir.CodeSet:
    check_name(decl.name, errors)
    return codeset_of(decl.name.id, decl.label.value if decl.label else None, decl.members, _cite(decl.cite),
                      origin, errors)


def compile_phrases(decl: syn.PhraseSet, origin: ir.Origin, errors: list[Diagnostic]) -> ir.PhraseSet:
    check_name(decl.name, errors)
    phrases = []
    for phrase in decl.phrases:
        text = " ".join(phrase.value.split())
        if not text:
            _error(errors, "empty_phrase", "a phrase cannot be empty", phrase.span)
            continue
        phrases.append(text)
    return ir.PhraseSet(decl.name.id, decl.label.value if decl.label else None, tuple(phrases), _cite(decl.cite), origin)


# ------------------------------------------------------------------ tables


def compile_table(decl: syn.Table, origin: ir.Origin, errors: list[Diagnostic]) -> ir.Table:
    check_name(decl.name, errors)
    columns = []
    seen: dict[str, Span] = {}
    for column in decl.keys + decl.columns:
        if column.name.id in seen:
            _error(errors, "duplicate_column", f"column {column.name.id} is listed twice", column.name.span)
        seen[column.name.id] = column.name.span
        type_name = column.type.id
        if type_name not in T.COLUMN_TYPES:
            _error(errors, "unknown_type", f"unknown column type '{type_name}'", column.type.span,
                   did_you_mean(type_name, T.COLUMN_TYPES) or "column types are: " + ", ".join(T.COLUMN_TYPES))
            type_name = "text"
        columns.append(ir.Column(column.name.id, T.SCALARS[type_name], column.optional))
    for key in decl.keys:
        if key.optional:
            _error(errors, "optional_key", f"key column {key.name.id} cannot be optional", key.span)
    base_dir = os.path.dirname(origin.span.file) if origin.span else "."
    path = os.path.normpath(os.path.join(base_dir, decl.path.value))
    rows, row_lines = {}, {}
    outside = outside_tree(path, base_dir) if "\0" not in path else None
    if "\0" in path:
        _error(errors, "table_unreadable", "a table path cannot hold a NUL character", decl.path.span,
               "write the path of a CSV file, such as \"tables/ncci_ptp.csv\"")
    elif outside is not None:
        # Refused before it is opened: nothing of a file outside the tree is read or quoted.
        _error(errors, "table_outside_tree", f"table file {decl.path.value} is outside the rulebook tree ({outside})",
               decl.path.span, "a table is a CSV file in the rulebook's folder or below it, such as "
                               "\"tables/ncci_ptp.csv\" (symbolic links are followed, and must stay inside too)")
    else:
        try:
            rows, row_lines = load_table(path, tuple(columns), len(decl.keys), decl.path.span)
        except DiagnosticError as exc:
            errors.extend(exc.diagnostics)
    return ir.Table(decl.name.id, decl.label.value if decl.label else None, path,
                    tuple(columns[:len(decl.keys)]), tuple(columns), rows, _cite(decl.cite), origin, row_lines)


def outside_tree(path: str, rulebook_dir: str) -> str | None:
    """The tree a table must stay in, when `path` leaves it (after following symbolic
    links); None when it is inside. A rulebook in a rule tree (`<tree>/rulebooks/<family>/`)
    may read any table of the tree's `rulebooks/` folder, so families can share one; a
    rulebook elsewhere reads tables in its own folder and below."""
    folder = os.path.realpath(rulebook_dir or ".")
    parent = os.path.dirname(folder)
    root = parent if os.path.basename(parent) == "rulebooks" else folder
    real = os.path.realpath(path)
    try:
        inside = os.path.commonpath([real, root]) == root
    except ValueError:  # different drives
        inside = False
    return None if inside else root


# ------------------------------------------------------------------ definitions and rules


def let_scope(decl: syn.Let, errors: list[Diagnostic]) -> str:
    if decl.scope is None:
        return "claim"
    if decl.scope.id not in LET_SCOPES:
        hint = did_you_mean(SCOPE_SYNONYMS.get(decl.scope.id, decl.scope.id), LET_SCOPES)
        _error(errors, "unknown_scope", f"a definition is per claim, date, code or line, not '{decl.scope.id}'",
               decl.scope.span, hint)
        return SCOPE_SYNONYMS.get(decl.scope.id, "claim") if SCOPE_SYNONYMS.get(decl.scope.id) in LET_SCOPES else "claim"
    return decl.scope.id


def compile_let(decl: syn.Let, scope: str, resolver: Resolver, origin: ir.Origin) -> ir.Let:
    env = Env.for_scope(scope, "let:" + decl.name.id)
    expr = resolver.expr(decl.expr, env)
    return ir.Let(decl.name.id, scope, expr, expr.type, env.size, origin)


def compile_denial(denial: syn.Denial | None, errors: list[Diagnostic]) -> ir.Denial | None:
    if denial is None:
        return None
    ok = True
    if denial.group not in DENIAL_GROUPS:
        ok = False
        _error(errors, "bad_denial", f"'{denial.group}' is not a claim adjustment group code", denial.span,
               "groups are: " + ", ".join(DENIAL_GROUPS) + " (for example: denial CO-97)")
    if not _CARC.fullmatch(denial.reason):
        ok = False
        _error(errors, "bad_denial", f"'{denial.reason}' is not a claim adjustment reason code", denial.span,
               "a reason code (CARC) is 1-3 digits or a letter and digits, as in CO-97 or CO-B7")
    for remark in denial.remarks:
        if not _RARC.fullmatch(remark):
            ok = False
            _error(errors, "bad_denial", f"'{remark}' is not a remittance advice remark code", denial.span,
                   "a remark code (RARC) is M, MA or N and digits, as in remark N29")
    return ir.Denial(denial.group, denial.reason, denial.remarks) if ok else None


def compile_rule(decl: syn.Rule, resolver: Resolver, origin: ir.Origin, errors: list[Diagnostic],
                 adopted: tuple = ()) -> ir.Rule:
    """`adopted`: (rulebook, citation, severity) of each rulebook that adopted this
    inherited rule, the nearest first; their citations lead the rule's, and the nearest
    adopt that gives a severity sets the rule's."""
    counts: dict[str, list[Span]] = {}
    for kind, span in decl.clause_spans:
        counts.setdefault(kind, []).append(span)
    for kind in SINGLE_CLAUSES:
        if len(counts.get(kind, [])) > 1:
            extra = " (join conditions with 'and')" if kind in ("when", "unless") else ""
            _error(errors, "duplicate_clause", f"rule {decl.id.id} has more than one '{kind}' clause{extra}",
                   counts[kind][1])
    for kind in REQUIRED_CLAUSES:
        if kind not in counts:
            why = {"cite": "every rule cites its source", "say": "every finding needs a message",
                   "when": "it says when the rule fires"}.get(kind, "")
            _error(errors, "missing_clause", f"rule {decl.id.id} has no '{kind}' clause" + (f": {why}" if why else ""),
                   decl.id.span, _clause_example(kind))
    scope = "claim"
    if decl.scope is not None:
        scope = RULE_SCOPES.get(decl.scope.id, "claim")
        if decl.scope.id not in RULE_SCOPES:
            article, _, word = decl.scope.id.partition(" ")
            guess = f"{article} {SCOPE_SYNONYMS.get(word, word)}"
            close = did_you_mean(guess, RULE_SCOPES)
            _error(errors, "unknown_scope", f"'for {decl.scope.id}' is not a rule scope", decl.scope.span,
                   close or "scopes are: " + ", ".join(RULE_SCOPES))
            # Check the body as if the closest scope had been written, so one typo in the
            # scope does not also report every name the body reads.
            import difflib

            nearest = difflib.get_close_matches(guess, list(RULE_SCOPES), n=1, cutoff=0.0)
            scope = RULE_SCOPES[nearest[0]] if nearest else "claim"
    category = decl.category.id if decl.category else "input"
    if decl.category and category not in CATEGORIES:
        _error(errors, "unknown_category", f"unknown category '{category}'", decl.category.span,
               did_you_mean(category, CATEGORIES) or "categories are: " + ", ".join(CATEGORIES))
    severity = decl.severity.id if decl.severity else "deny"
    if decl.severity and severity not in SEVERITIES:
        _error(errors, "unknown_severity", f"unknown severity '{severity}'", decl.severity.span,
               did_you_mean(severity, SEVERITIES) or "severities are: deny, warn, info")
    adopted_severity = next((given for _, _, given in adopted if given is not None), None)
    if adopted_severity is not None:
        severity = adopted_severity.id
        if severity not in SEVERITIES:
            _error(errors, "unknown_severity", f"unknown severity '{severity}'", adopted_severity.span,
                   did_you_mean(severity, SEVERITIES) or "severities are: deny, warn, info")

    env = Env.for_scope(scope, "rule:" + decl.id.id)
    bindings = []
    for binding in decl.bindings:
        name = binding.name.id
        if name in env.names or name in RESERVED:
            _error(errors, "reserved_name", f"'{name}' is already a name here; choose another", binding.name.span)
        elif name in resolver.g.params or name in resolver.g.sets or name in resolver.g.let_scope:
            _error(errors, "shadowing", f"'with {name}' would hide the rulebook's {name}; choose another name",
                   binding.name.span)
        expr = resolver.expr(binding.expr, env)
        slot = ir.Slot(name, env.alloc(), expr.type, binding.name.span)
        env.names[name] = slot
        env.inline[name] = expr
        private = private_source(expr, env.private, resolver.g.let_private)
        env.private[slot.index] = private
        bindings.append(ir.Binding(name, slot.index, expr, private))
    when = _condition(decl.when, resolver, env, "when", decl.id.span)
    unless = _condition(decl.unless, resolver, env, "unless", decl.id.span) if decl.unless else None
    message = compile_template(decl.say, resolver, env, errors) if decl.say else ir.Template(())
    fixes = tuple(compile_fix(fix, resolver, env, errors) for fix in decl.fixes)
    citation = "; ".join([cite for _, cite, _ in adopted] + ([decl.cite.value] if decl.cite else []))
    if severity == "deny" and "ASSUMPTION" in citation:
        # The project's promise to the practices it checks for: a claim is never held back on
        # a ground no source states. The citation says ASSUMPTION; the compiler holds it to it.
        where = adopted_severity or decl.severity
        _error(errors, "assumption_denies",
               f"rule {decl.id.id} cites an ASSUMPTION and denies: a rule that rests on no source warns, never denies",
               where.span if where is not None else decl.id.span,
               "write `severity warn`, or cite the policy the denial rests on in place of the ASSUMPTION")
    return ir.Rule(decl.id.id, decl.title.value, scope, category, severity, tuple(bindings), when, unless, message,
                   citation, fixes, env.size, origin, compile_denial(decl.denial, errors),
                   tuple(rulebook for rulebook, _, _ in adopted))


def _clause_example(kind: str) -> str:
    return {
        "category": "for example: category units (one of " + ", ".join(CATEGORIES) + ")",
        "severity": "for example: severity deny (deny, warn or info)",
        "when": "for example: when sum(units of lines) > 4",
        "say": 'for example: say "{billed} units billed; {allowed} allowed"',
        "cite": 'for example: cite "CMS Pub. 100-04 Ch. 5 sec. 20.2"',
    }[kind]


def _condition(node, resolver: Resolver, env: Env, word: str, fallback: Span) -> ir.Expr:
    if node is None:
        return ir.Const(False, T.BOOLEAN, fallback)
    expr = resolver.expr(node, env)
    if expr.type not in (T.BOOLEAN, T.UNKNOWN):
        resolver.error("type_mismatch", f"'{word}' needs a yes/no condition, but this is {expr.type}", node.span)
    return expr


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")


def compile_template(text: syn.Text, resolver: Resolver, env: Env, errors: list[Diagnostic],
                     where: str = "a message") -> ir.Template:
    """Split `"{billed} units; {line.code}"` into text and resolved expressions."""
    parts: list = []
    position = 0
    raw = text.value
    for match in _PLACEHOLDER.finditer(raw):
        parts.append(raw[position:match.start()])
        position = match.end()
        if match.group(0) in ("{{", "}}"):
            parts.append(match.group(0)[0])
            continue
        inner = match.group(1).strip()
        # Columns inside the quoted text: +1 for the opening quote (exact when the text has no escapes).
        column = text.span.column + 1 + match.start(1)
        span = Span(text.span.file, text.span.line, column, text.span.line, column + max(1, len(match.group(1))))
        if not _PATH.fullmatch(inner):
            _error(errors, "bad_placeholder", f"'{{{inner}}}' is not a name: placeholders hold a name or a dotted path",
                   span, "for example {timed_minutes} or {line.code}; write {{ for a literal brace")
            continue
        first, *rest = inner.split(".")
        expr = resolver.expr(syn.Name(first, span), env)
        for name in rest:
            expr_node = resolver._member_of(expr, name, env, span) if expr.type != T.UNKNOWN else None
            if expr_node is None:
                if expr.type != T.UNKNOWN:
                    options = expr.type.object.field_names() if expr.type.object is not None else []
                    _error(errors, "no_such_field", f"{expr.type} has no field '{name}'", span,
                           did_you_mean(name, options))
                expr = ir.Const(None, T.UNKNOWN, span)
                break
            expr = expr_node
        private = private_source(expr, env.private, resolver.g.let_private)
        if private is not None:
            _error(errors, "private_in_message", f"'{{{inner}}}' would put patient data ({private}) in {where}",
                   span, "messages and fixes travel to logs and other systems; say what is wrong without "
                         "quoting it (a value derived from patient data is patient data too)")
            continue
        if expr.type in (T.CODESET, T.PHRASES, T.TABLE) or (T.is_list(expr.type) and expr.type.item is not None
                                                            and T.is_object(expr.type.item)) \
                or (T.is_object(expr.type) and expr.type.object.name != "line"):
            _error(errors, "bad_placeholder", f"'{{{inner}}}' is {expr.type}: a message shows values, not a whole "
                   f"set, table, row or record", span, "name the field to show, such as {edit.source} or {line.code}")
            continue
        parts.append(expr)
    parts.append(raw[position:])
    return ir.Template(tuple(p for p in parts if p != ""))


def _check_fix_path(template: ir.Template, text: syn.Text, errors: list[Diagnostic]) -> None:
    """The literal parts of a fix path must lead somewhere in a claim: `/lines/{i}/modifier/-`
    is a typo for `modifiers`, and a patch to it could never be applied."""
    pointer = "".join(part if isinstance(part, str) else "{}" for part in template.parts)
    if not pointer.startswith("/"):
        return
    current = T.object_type(T.claim_type())
    fields = dict(T.claim_fields())
    for token in pointer.split("/")[1:]:
        if current is None:
            return
        if T.is_list(current):
            if token == "-" or token.isdigit() or token == "{}":
                current = current.item
                continue
            _error(errors, "bad_fix_path", f"'{token}' in fix path {text.value} names no position in a list",
                   text.span, "a list position is a number, a {placeholder} or - (append)")
            return
        if current.object is None:
            return
        if token == "{}":
            return  # a placeholder names the member: checked when the fix is built
        names = dict(current.object.fields)
        if current.object.name == "claim":
            names = fields
        if token not in names:
            _error(errors, "bad_fix_path", f"fix path {text.value}: {current.object.label} has no field '{token}'",
                   text.span, did_you_mean(token, list(names)))
            return
        current = names[token]


def compile_fix(fix: syn.Fix, resolver: Resolver, env: Env, errors: list[Diagnostic]) -> ir.Fix:
    op = fix.op.id
    if op not in FIX_OPS:
        _error(errors, "unknown_fix", f"'{op}' is not a fix operation", fix.op.span,
               did_you_mean(op, FIX_OPS) or "JSON Patch operations here are add, remove, replace and test")
    if not fix.path.value.startswith("/"):
        _error(errors, "bad_fix_path", "a fix path is a JSON pointer into the claim, starting with '/'", fix.path.span,
               'for example "/lines/{line.index}/units"')
    if op == "remove" and fix.value is not None:
        _error(errors, "bad_fix", "'remove' takes no value", fix.span)
    if op in ("add", "replace", "test") and fix.value is None:
        _error(errors, "bad_fix", f"'{op}' needs a value: fix {op} \"/path\" value ...", fix.span)
    loop_slot = None
    loop_over = None
    saved = dict(env.names)
    if fix.loop_var is not None and fix.loop_over is not None:
        loop_over = resolver.expr(fix.loop_over, env)
        if loop_over.type != T.UNKNOWN and not T.is_list(loop_over.type):
            _error(errors, "type_mismatch", f"'fix for each' needs a list, but this is {loop_over.type}", fix.loop_over.span)
        item = loop_over.type.item if T.is_list(loop_over.type) else T.UNKNOWN
        loop_slot = env.alloc()
        env.names[fix.loop_var.id] = ir.Slot(fix.loop_var.id, loop_slot, item or T.UNKNOWN, fix.loop_var.span)
        env.private[loop_slot] = private_source(loop_over, env.private, resolver.g.let_private)
    try:
        path = compile_template(fix.path, resolver, env, errors, where="a fix's path")
        _check_fix_path(path, fix.path, errors)
        value = resolver.expr(fix.value, env) if fix.value is not None else None
        private = private_source(value, env.private, resolver.g.let_private)
        if private is not None:
            _error(errors, "private_in_fix", f"this fix would write patient data ({private}) into the result",
                   fix.value.span, "a fix travels with the result to other systems; fix the claim with values "
                                   "that are not patient data, or say what to change in the message")
    finally:
        env.names = saved
    return ir.Fix(op, path, value, loop_slot, loop_over)
