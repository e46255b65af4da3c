"""Evaluate a compiled rulebook against one claim.

For each rule (in the compiled order) and each instance of its scope (the claim, each
line, each ordered pair of lines, each date of service, each code on each date), the
rule's condition is evaluated in a fresh frame. Three outcomes:
- true: a finding, with its message, citation and fix;
- false, or a condition that needs a table row that does not exist: nothing;
- a value the claim does not carry: the rule is 'not evaluated', naming the JSON pointer.

The evaluator imports the compiled form only; it never sees the syntax tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from payerlint.evaluate.program import Ctx, RuleCode
from payerlint.evaluate.reads import DefinitionRead, MemberRead, ParamRead, PhraseRead, Read, RowRead
from payerlint.evaluate.result import Finding, NotEvaluated
from payerlint.evaluate.values import UNSET, Unknown, format_value, to_json


@dataclass(frozen=True, slots=True)
class Evaluation:
    findings: tuple[Finding, ...]
    not_evaluated: tuple[NotEvaluated, ...]


def evaluate(program, claim, *, explain: bool = False, claim_rules: bool = True, other_rules: bool = True) -> Evaluation:
    """Run the rules of a prepared rulebook (`evaluate.prepare`) on `claim` (a
    `payerlint.claims.model.Claim`): the rules for the whole claim, the others (each
    line, pair, date, code), or both."""
    ctx = Ctx(claim)
    # One finding per rule, line and message (a pair rule can fire for a line with several
    # partners and say the same thing each time): the message is rendered as the rule fires,
    # the rest (fixes, the finding) only for the emission that stands, the last, from a
    # copy of its frame (the frame is shared and changes as the rules go on).
    emitted: dict[tuple, tuple] = {}
    skipped: dict[tuple, int | None] = {}
    rulebook = program.compiled.id
    rules = program.rules
    explaining = program if explain else None

    def emit(index, frame, line, initial):
        code = rules[index]
        message = code.say(ctx, frame)
        emitted[(code.rule.id, line, message)] = (code, message, frame.copy(), initial)

    for kind, run in program.runners:
        if claim_rules if kind == "claim" else other_rules:
            run(ctx, emit, skipped)
    findings = [_finding(ctx, code, rulebook, line, frame, initial, explaining, message)
                for (_, line, _), (code, message, frame, initial) in emitted.items()]
    return Evaluation(
        tuple(sorted(findings, key=Finding.sort_key)),
        tuple(sorted((NotEvaluated(rule_id, rulebook, pointer, line) for (rule_id, pointer), line in skipped.items()),
                     key=NotEvaluated.sort_key)),
    )


def _instances(scope: str, claim):
    """(initial frame values, line index for findings) for each instance of a scope."""
    lines = claim.lines
    if scope == "claim":
        yield (lines,), None
    elif scope == "line":
        for line in lines:
            yield (lines, line), line["index"]
    elif scope == "pair":
        for first in lines:
            for second in lines:
                if first is not second:
                    yield (lines, first, second), second["index"]
    elif scope == "date":
        for day, day_lines in claim.days.items():
            yield (day_lines, day), None
    elif scope == "code":
        for code, day, group in claim.groups:
            yield (group, code, day), group[0]["index"]


def _finding(ctx: Ctx, code: RuleCode, rulebook: str, line, frame, initial, program, message: str) -> Finding:
    rule = code.rule
    fixes = []
    for op, path, value, value_type, loop_slot, loop_over in code.fixes:
        try:
            if loop_over is not None:
                # All of a loop's operations, or none: half a fix can leave the claim worse.
                batch = []
                for item in loop_over(ctx, frame):
                    frame[loop_slot] = item
                    batch.append(_patch(ctx, frame, op, path, value, value_type))
                fixes.extend(batch)
            else:
                fixes.append(_patch(ctx, frame, op, path, value, value_type))
        except Unknown:
            # A fix that needs a value the claim lacks is left out rather than guessed.
            continue
    explanation = explain_instance(ctx, program, rule, initial) if program is not None else None
    return Finding(rule.id, rulebook, rule.category, rule.severity, line, message, rule.citation, tuple(fixes),
                   explanation, denial=rule.denial)


def _patch(ctx, frame, op, path, value, value_type) -> dict:
    patch = {"op": op, "path": path(ctx, frame)}
    if value is not None:
        patch["value"] = to_json(value(ctx, frame), value_type)
    if op == "add" and patch["path"].endswith("/-") and _defaulted(ctx.root, patch["path"][:-2]):
        # Appending to an array the claim left out (the schema default stood in for it):
        # RFC 6902 cannot append to a member that does not exist, so add the member whole.
        return {"op": "add", "path": patch["path"][:-2], "value": [patch["value"]]}
    return patch


def _defaulted(root, pointer: str) -> bool:
    """Whether the member at `pointer` was filled in by a schema default."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = root
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return False
    return bool(parts) and parts[-1] in getattr(node, "defaulted", ())


def _run_traced(ctx: Ctx, traced: RuleCode, frame) -> None:
    """Everything a rule reads on one instance: its condition, every binding, and every
    value its message shows, whether or not each can be known."""
    for part in (traced.condition, *(b for _, b in traced.binders),
                 *(p[0] for p in traced.message if not isinstance(p, str))):
        try:
            part(ctx, frame)
        except Unknown:
            pass


def explain_instance(ctx: Ctx, program, rule, initial) -> dict:
    """Re-run one rule instance in its traced form and list what it read."""
    traced = program.traced(rule.id)
    frame = [UNSET] * rule.frame_size
    frame[:len(initial)] = initial
    saved_trace = ctx.trace
    ctx.trace = []
    try:
        _run_traced(ctx, traced, frame)
        reads = ctx.trace
        bindings = []
        for b in rule.bindings:
            value = frame[b.slot]
            if value is not UNSET and not hasattr(value, "error"):
                shown = hidden(b.private) if b.private else _shown(value, b.expr.type, program.compiled)
                bindings.append({"name": b.name, "value": shown})
    finally:
        ctx.trace = saved_trace
    return summarize(reads, program.compiled, bindings)


def hidden(source: str) -> str:
    """What an explanation shows for a value derived from patient data: that it was read."""
    return f"(patient data from {source}: read, not shown)"


def _shown(value, type_, compiled) -> str:
    """A binding's value for an explanation; a table row by its table and key."""
    obj = type_.object
    if obj is not None and obj.name.startswith("row:") and isinstance(value, tuple):
        table = compiled.tables[obj.name[4:]]
        key = ", ".join(format_value(v) for v in value[:len(table.keys)])
        return f"row ({key}) of table {table.name}"
    return format_value(value, type_)


def summarize(reads, compiled, bindings=()) -> dict:
    """What an instance read (evaluate/reads.py records), as the explanation shows it."""
    params, lets, rows, members, phrases = {}, {}, {}, {}, {}
    for read in reads:
        if isinstance(read, ParamRead):
            params[read.name] = {"name": read.name, "value": format_value(read.value, compiled.params[read.name].type)}
        elif isinstance(read, DefinitionRead):
            let = compiled.lets[read.name]
            shown_key = ", ".join(format_value(k) for k in read.key) if read.key else None
            if let.scope == "line" and len(read.key) == 1 and isinstance(read.key[0], int):
                # A line's position, counted from 1 as every message counts lines.
                shown_key = f"line {read.key[0] + 1}"
            lets[(read.name, shown_key)] = {"name": read.name, "for": shown_key,
                                            "value": hidden(let.private) if let.private
                                            else format_value(read.value, let.type)}
        elif isinstance(read, RowRead):
            table = compiled.tables[read.table]
            line = table.row_lines.get(read.key) if read.found else None
            # The row's other columns, the values a rule decided by (a daily cap's 2): by
            # name, as the table file shows them; an empty cell is null.
            row = table.rows.get(read.key) if read.found else None
            values = {column.name: (None if row[i] is None else format_value(row[i], column.type))
                      for i, column in enumerate(table.columns) if i >= len(table.keys)} if row is not None else {}
            rows[(read.table, read.key)] = {"table": read.table, "key": [format_value(k) for k in read.key],
                                            "found": read.found, "file_line": line, "values": values}
        elif isinstance(read, MemberRead):
            members[(read.code_set, str(read.value))] = {"code_set": read.code_set, "code": format_value(read.value),
                                                         "member": read.member}
        elif isinstance(read, PhraseRead):
            phrases[(read.phrases, read.phrase)] = {"phrases": read.phrases, "matched": read.phrase}
    return {
        "bindings": list(bindings),
        "params": [params[k] for k in sorted(params)],
        "definitions": [lets[k] for k in sorted(lets, key=lambda k: (k[0], k[1] or ""))],
        "table_rows": [rows[k] for k in sorted(rows, key=lambda k: (k[0], [str(x) for x in k[1]]))],
        "code_sets": [members[k] for k in sorted(members)],
        "phrases": [phrases[k] for k in sorted(phrases)],
    }


@dataclass(frozen=True)
class Step:
    """One part of a rule's condition on one instance, as `condition_steps` found it."""

    span: object
    """Where the part is written (payerlint.source.Span)."""
    unless: bool
    """The part is the rule's `unless` (the rule fires only when it does not hold)."""
    outcome: str
    """'yes', 'no', or 'unknown' (the value the part needs is missing, or has no data)."""
    detail: str = ""
    """For 'unknown': the JSON pointer of the missing value, or why there is no data."""


def condition_steps(program, claim, rule_id: str, line: int | None = None,
                    limit: int = 3) -> list[tuple[tuple, list[Step]]]:
    """Where a rule's condition stopped on a claim: for each instance (up to `limit`, those
    whose findings would name `line` when given), its initial frame and each part of its
    `and` in order, up to the first that does not hold. What `payerlint test` shows when a
    case expects a rule to fire and it does not; it says which part held, not its values."""
    rule = program.compiled.rule(rule_id)
    if rule is None:
        return []
    traced = program.traced(rule_id)
    out = []
    for initial, instance_line in _instances(rule.scope, claim):
        if line is not None and instance_line is not None and instance_line != line:
            continue
        if len(out) == limit:
            break
        frame = [UNSET] * rule.frame_size
        frame[:len(initial)] = initial
        ctx = Ctx(claim)
        ctx.trace = []
        steps = []
        for part, span, when in traced.parts:
            try:
                holds = bool(part(ctx, frame))
            except Unknown as error:
                steps.append(Step(span, not when, "unknown", getattr(error, "pointer", None) or getattr(error, "reason", "")))
                continue
            steps.append(Step(span, not when, "yes" if holds else "no"))
            if not holds:
                break
        out.append((initial, steps))
    return out


def trace_rule(program, claim, rule_id: str, line: int | None = None) -> list[Read]:
    """Everything one rule reads on one claim, whether or not it fires: the quarter diff
    attributes changed outcomes to these reads. With `line`, only the scope instances
    whose findings would name that line (a rule for each line, pair or code)."""
    rule = program.compiled.rule(rule_id)
    if rule is None:
        return []
    traced = program.traced(rule_id)
    ctx = Ctx(claim)
    reads: list[tuple] = []
    for initial, instance_line in _instances(rule.scope, claim):
        if line is not None and instance_line is not None and instance_line != line:
            continue
        frame = [UNSET] * rule.frame_size
        frame[:len(initial)] = initial
        ctx.trace = []
        _run_traced(ctx, traced, frame)
        reads.extend(ctx.trace)
    return reads
