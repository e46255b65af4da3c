"""Route each claim to the rulebooks in force: the claim's `payer_id` (an id or an alias)
picks the payer, and each line's date of service picks the quarter's rulebook.

A claim whose lines fall in two quarters is checked line by line against each quarter's
rulebook; the result names every rulebook used, and each finding names its own. An
unknown payer, or a date with no rulebook, gives the verdict `error` with a message that
says what does exist; the next claim is checked as usual.
"""

from __future__ import annotations

from payerlint.api import combined_fix, error_result, input_findings, strict_findings
from payerlint.claims.model import Claim
from payerlint.claims.reader import Record
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.pipeline import Loader
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.evaluate.engine import evaluate
from payerlint.evaluate.result import Finding, NotEvaluated, Result, verdict_of
from payerlint.payers.registry import Registry
from payerlint.quarter import Quarter

ROUTING_CITATION = "payerlint payer registry (payers/*.toml) and rulebook tree"


def _routing_finding(rule: str, message: str) -> Finding:
    return Finding(rule, "", "input", "deny", None, message, ROUTING_CITATION)


class Router:
    """Checks claims against whatever rulebook each one's payer and dates call for."""

    def __init__(self, registry: Registry | None = None, loader: Loader | None = None, *, strict: bool = False,
                 explain: bool = False, validator: ClaimValidator | None = None):
        self.registry = registry or Registry.load()
        self.loader = loader or Loader(self.registry.home)
        self.strict = strict
        self.explain = explain
        self.validator = validator or ClaimValidator()
        self.rulebook_errors: dict[str, DiagnosticError] = {}
        """Rulebooks that did not compile, by reference: claims routed to them get `error`."""

    def check(self, data, record: str | None = None) -> Result:
        problems = self.validator.validate(data)
        if problems:
            return error_result(data, input_findings(problems), record)
        payer = self.registry.resolve(data["payer_id"])
        if payer is None:
            closest = ", ".join(self.registry.closest(data["payer_id"]))
            return error_result(data, (_routing_finding(
                "routing.unknown_payer",
                f"payer_id '{data['payer_id']}' is not a payer id or alias in the registry; closest ids: {closest}"),),
                record)
        claim = Claim(data)
        by_quarter: dict[Quarter, list[int]] = {}
        for index, line in enumerate(claim.lines):
            by_quarter.setdefault(Quarter.of(line["date"]), []).append(index)
        findings: list[Finding] = []
        skipped: list[NotEvaluated] = []
        used: list[str] = []
        routing_errors: list[Finding] = []
        extra: dict = {}
        # A claim whose lines fall in two quarters: each quarter's rulebook checks its own
        # lines, and the rules for the whole claim run once, under the rulebook of the
        # claim's date of service (or of its first quarter), on every line.
        claim_quarter = Quarter.of(claim.root["date_of_service"])
        if claim_quarter not in by_quarter:
            claim_quarter = min(by_quarter)
        for quarter, indexes in sorted(by_quarter.items()):
            ref = f"{payer.rulebook_family}@{quarter}"
            compiled = self._load(ref)
            if compiled is not None and not self._agrees(payer, compiled, ref):
                compiled = None
            if compiled is None:
                routing_errors.append(self._no_rulebook(payer, quarter, claim, indexes, ref))
                continue
            used.append(compiled.id)
            whole = len(indexes) == len(claim.lines)
            evaluations = [evaluate(compiled, claim, explain=self.explain)] if whole else [
                evaluate(compiled, claim.subset(indexes), explain=self.explain, claim_rules=False)]
            if not whole and quarter == claim_quarter:
                evaluations.append(evaluate(compiled, claim, explain=self.explain, other_rules=False))
            for evaluation in evaluations:
                findings.extend(evaluation.findings)
                skipped.extend(evaluation.not_evaluated)
            extra.update(code_sets_used(compiled))
        if self.strict:
            findings.extend(strict_findings(skipped))
        findings.sort(key=Finding.sort_key)
        skipped.sort(key=NotEvaluated.sort_key)
        if routing_errors:
            all_findings = tuple(sorted(routing_errors + findings, key=Finding.sort_key))
            return Result(data.get("claim_id"), data.get("payer_id"), tuple(used), "error", all_findings,
                          tuple(skipped), record, tuple(sorted(extra.items())))
        return Result(data.get("claim_id"), data.get("payer_id"), tuple(used), verdict_of(findings),
                      tuple(findings), tuple(skipped), record, tuple(sorted(extra.items())),
                      combined_fix(data, findings))

    def check_record(self, record: Record) -> Result:
        if record.data is None:
            return error_result(None, input_findings([record.error] if record.error else []), record.origin)
        return self.check(record.data, record.origin)

    def check_records(self, records):
        for record in records:
            yield self.check_record(record)

    def _load(self, ref: str):
        if ref in self.rulebook_errors:
            return None
        path = self.loader.path_of(ref)
        if not path.is_file():
            return None
        try:
            return self.loader.load(ref)
        except DiagnosticError as exc:
            self.rulebook_errors[ref] = exc
            return None

    def _agrees(self, payer, compiled, ref: str) -> bool:
        """The payer file and the rulebook must say the same about how minutes become
        units; a disagreement is a configuration error, reported like a broken rulebook."""
        param = compiled.params.get("unit_method")
        if param is None or param.value == payer.unit_method:
            return True
        if ref not in self.rulebook_errors:
            self.rulebook_errors[ref] = DiagnosticError([Diagnostic(
                "payer_rulebook_mismatch",
                f"{payer.path} says unit_method = \"{payer.unit_method}\", but rulebook {compiled.id} sets "
                f"\"{param.value}\"", span=param.origin.span,
                notes=("make the payer file and the rulebook's unit_method param agree",))])
        return False

    def _no_rulebook(self, payer, quarter: Quarter, claim, indexes, ref: str) -> Finding:
        if ref in self.rulebook_errors:
            first = self.rulebook_errors[ref].diagnostics[0]
            if first.code == "payer_rulebook_mismatch":
                return _routing_finding("routing.rulebook_error", first.message)
            return _routing_finding("routing.rulebook_error",
                                    f"rulebook {ref} does not compile; run `payerlint compile {ref}`")
        dates = sorted({claim.lines[i]["date"].isoformat() for i in indexes})
        existing = ", ".join(str(q) for q in self.registry.quarters(payer)) or "none"
        return _routing_finding(
            "routing.no_rulebook",
            f"no {payer.id} rulebook is in force on {', '.join(dates)} (quarter {quarter}); "
            f"quarters with a rulebook: {existing}")


def code_sets_used(compiled) -> dict:
    """Which external code-set releases a rulebook's rules consulted, for the result."""
    if any(name.startswith("icd10_") for name in compiled.functions_used):
        from payerlint.builtins import icd10_codes

        return {"code_sets": {"icd10cm": icd10_codes().release.name}}
    return {}
