"""What checking a claim returns: findings, rules not evaluated, a verdict.

The JSON form is the contract other services rely on (see ARCHITECTURE.md): keys in a
fixed order, findings in a fixed order, so the same input always gives byte-identical
output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

SEVERITY_RANK = {"error": -1, "deny": 0, "warn": 1, "info": 2}
"""`error` is for findings about the input itself (it cannot be read, is not a valid
claim, cannot be routed) and for internal errors: the claim was not checked."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    rulebook: str
    category: str
    severity: str
    line: int | None
    message: str
    citation: str
    fix: tuple = ()
    """JSON Patch operations (dicts) on the claim."""
    explanation: dict | None = field(default=None, compare=False)
    pointer: str | None = None
    """For an input finding: the JSON pointer of the value that is wrong."""
    denial: Any = None
    """The claim adjustment the payer returns when it denies on this ground (compile/ir.py
    Denial: group, reason code, remark codes), as the rulebook predicts it; None when the
    rule names none."""

    def sort_key(self) -> tuple:
        return (self.line is not None, self.line or 0, SEVERITY_RANK.get(self.severity, 9), self.rule,
                self.rulebook, self.message)

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "rule": self.rule, "rulebook": self.rulebook or None, "category": self.category, "severity": self.severity,
            "line": self.line, "message": self.message, "citation": self.citation, "fix": list(self.fix),
            "denial": self.denial.to_json() if self.denial is not None else None,
        }
        if self.pointer is not None:
            out["pointer"] = self.pointer
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    rule: str
    rulebook: str
    missing: str
    """JSON pointer of the value the claim does not carry."""
    line: int | None = None

    def sort_key(self) -> tuple:
        return (self.rule, self.rulebook, self.missing, self.line is not None, self.line or 0)

    def to_json(self) -> dict:
        return {"rule": self.rule, "rulebook": self.rulebook, "missing": self.missing, "line": self.line}


@dataclass(frozen=True, slots=True)
class Result:
    claim_id: str | None
    payer_id: str | None
    rulebooks: tuple[str, ...]
    verdict: str
    findings: tuple[Finding, ...]
    not_evaluated: tuple[NotEvaluated, ...] = ()
    record: str | None = None
    """Where the claim was read from (file:line), for batches."""
    extra: tuple = ()
    """Further (key, value) pairs for the JSON form, e.g. the code-set release used."""
    fix: tuple = ()
    """Every finding's fix as one JSON Patch that applies to the claim in one go
    (evaluate/patch.py combine)."""

    @property
    def complete(self) -> bool:
        """Whether every rule that applies could run: a clean verdict on an incomplete
        claim means clean only as far as payerlint could check (see `not_evaluated`)."""
        return self.verdict != "error" and not self.not_evaluated

    @property
    def source(self) -> dict | None:
        """Where a claim read from FHIR or an 837P came from (format, and the location of
        each pointer the result names); None for payerlint JSON."""
        return next((value for key, value in self.extra if key == "source"), None)

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "claim_id": self.claim_id, "payer_id": self.payer_id, "rulebooks": list(self.rulebooks),
            "verdict": self.verdict, "complete": self.complete, "findings": [f.to_json() for f in self.findings],
            "not_evaluated": [n.to_json() for n in self.not_evaluated], "fix": list(self.fix),
        }
        for key, value in self.extra:
            out[key] = value
        if self.record is not None:
            out["record"] = self.record
        return out

    def dumps(self) -> str:
        """The JSON result on one line: keys in a fixed order, so byte-identical for the
        same input. orjson writes it about 5x faster than the standard library."""
        return orjson.dumps(self.to_json(), default=str).decode("utf-8")


def verdict_of(findings, invalid: bool = False) -> str:
    severities = {f.severity for f in findings}
    if invalid or "error" in severities:
        return "error"
    if "deny" in severities:
        return "deny"
    if "warn" in severities:
        return "warn"
    return "clean"
