"""The Python API: compile a rulebook once, check many claims.

>>> from payerlint.api import Checker, load_rulebook
>>> checker = Checker(load_rulebook("acme@2026Q2"))              # doctest: +SKIP
>>> result = checker.check({"claim_id": "C-1", ...})              # doctest: +SKIP
>>> result.verdict, [f.rule for f in result.findings]             # doctest: +SKIP

A `Checker` is safe to share between threads: the compiled rulebook is immutable and
each check builds its own evaluation state.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from payerlint.claims.model import Claim
from payerlint.claims.reader import Record
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.pipeline import CompiledRulebook, Loader
from payerlint.diagnostics import Diagnostic
from payerlint.evaluate.engine import evaluate
from payerlint.evaluate.result import Finding, NotEvaluated, Result, verdict_of
from payerlint.home import resolve_home

SCHEMA_CITATION = "payerlint claim schema (payerlint/schemas/claim.schema.json)"
_LINE_POINTER = re.compile(r"^/lines/(\d+)(/|$)")


def load_rulebook(ref: str, home: str | None = None, loader: Loader | None = None) -> CompiledRulebook:
    """Compile a rulebook given as a path or as `family@quarter` (looked up in the home).
    Raises `DiagnosticError` listing every problem."""
    loader = loader or Loader(resolve_home(home))
    return loader.load(ref)


# Which `input` rule a reading or validation problem is reported under.
INPUT_RULES = {"claim_schema_violation": "input.schema", "claim_unreadable": "input.json",
               "claim_not_object": "input.json", "file_unreadable": "input.file"}


def input_findings(diagnostics: Iterable[Diagnostic]) -> tuple[Finding, ...]:
    """Claim-level problems (unreadable JSON, schema violations) as `input` findings; a
    schema problem carries the JSON pointer of the value, in its message and on its own."""
    out = []
    for d in diagnostics:
        match = _LINE_POINTER.match(d.pointer or "")
        # Reader messages already say file:line:column; schema messages get their pointer.
        message = f"{d.pointer}: {d.message}" if d.pointer is not None else d.message
        if d.notes:
            message += " (" + "; ".join(d.notes) + ")"
        out.append(Finding(INPUT_RULES.get(d.code, "input.schema"), "", "input", "deny",
                           int(match.group(1)) if match else None, message,
                           SCHEMA_CITATION if d.code == "claim_schema_violation" else "payerlint input reader",
                           pointer=d.pointer))
    return tuple(sorted(out, key=Finding.sort_key))


def error_result(data: Any, findings: tuple[Finding, ...], record: str | None, rulebooks=()) -> Result:
    claim_id = data.get("claim_id") if isinstance(data, dict) and isinstance(data.get("claim_id"), str) else None
    payer_id = data.get("payer_id") if isinstance(data, dict) and isinstance(data.get("payer_id"), str) else None
    return Result(claim_id, payer_id, tuple(rulebooks), "error", findings, (), record)


def combined_fix(data: dict, findings) -> tuple:
    """The result's `fix`: every finding's fix as one patch (evaluate/patch.py)."""
    from payerlint.evaluate.patch import combine

    if not any(f.fix for f in findings):
        return ()
    return tuple(combine(data, [f.fix for f in findings]))


def strict_findings(skipped: Iterable[NotEvaluated]) -> list[Finding]:
    """Under --strict each rule that could not be evaluated becomes a warning."""
    return [
        Finding(n.rule, n.rulebook, "input", "warn", n.line,
                f"rule {n.rule} was not evaluated: the claim has no {n.missing}",
                "payerlint --strict: every rule must be evaluated")
        for n in skipped
    ]


class Checker:
    """Checks claims against one compiled rulebook."""

    def __init__(self, rulebook: CompiledRulebook, *, strict: bool = False, explain: bool = False,
                 validator: ClaimValidator | None = None):
        self.rulebook = rulebook
        self.strict = strict
        self.explain = explain
        self.validator = validator or ClaimValidator()

    def check(self, data: Any, record: str | None = None) -> Result:
        problems = self.validator.validate(data)
        if problems:
            return error_result(data, input_findings(problems), record)
        claim = Claim(data)
        evaluation = evaluate(self.rulebook, claim, explain=self.explain)
        findings = list(evaluation.findings)
        if self.strict:
            findings.extend(strict_findings(evaluation.not_evaluated))
        findings.sort(key=Finding.sort_key)
        from payerlint.payers.routing import code_sets_used

        return Result(data.get("claim_id"), data.get("payer_id"), (self.rulebook.id,), verdict_of(findings),
                      tuple(findings), evaluation.not_evaluated, record,
                      tuple(sorted(code_sets_used(self.rulebook).items())), combined_fix(data, findings))

    def check_record(self, record: Record) -> Result:
        if record.data is None:
            return error_result(None, input_findings([record.error] if record.error else []), record.origin)
        return self.check(record.data, record.origin)

    def check_records(self, records: Iterable[Record]) -> Iterator[Result]:
        for record in records:
            yield self.check_record(record)
