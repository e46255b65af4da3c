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

SEVERITY_RANK = {"deny": 0, "warn": 1, "info": 2}


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

    def sort_key(self) -> tuple:
        return (self.line is not None, self.line or 0, SEVERITY_RANK.get(self.severity, 9), self.rule,
                self.rulebook, self.message)

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "rule": self.rule, "rulebook": self.rulebook, "category": self.category, "severity": self.severity,
            "line": self.line, "message": self.message, "citation": self.citation, "fix": list(self.fix),
        }
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

    @property
    def fix(self) -> list[dict]:
        """Every finding's fix as one JSON Patch that applies in one go (see combine_fixes)."""
        return combine_fixes(self.findings)

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "claim_id": self.claim_id, "payer_id": self.payer_id, "rulebooks": list(self.rulebooks),
            "verdict": self.verdict, "findings": [f.to_json() for f in self.findings],
            "not_evaluated": [n.to_json() for n in self.not_evaluated], "fix": self.fix,
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


def combine_fixes(findings) -> list[dict]:
    """The fixes of all findings, in finding order, as one patch that applies in one go.

    Each finding's own fix applies to the claim as submitted. Applied one after another
    they can clash in two ways, which this mends:
    - a claim that leaves out an array (`modifiers`) gets, from each finding, an `add` of
      the whole array; after the first, later ones become appends (`/-`);
    - removing a line shifts the index of every later line, so removals come last, the
      highest index first.
    The same operation from two findings is kept once.
    """
    ops: list[dict] = []
    removals: list[dict] = []
    created: set[str] = set()
    seen: set[str] = set()
    for finding in findings:
        for op in finding.fix:
            key = json.dumps(op, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            if op["op"] == "remove":
                removals.append(op)
            elif op["op"] == "add" and op["path"] in created and isinstance(op.get("value"), list):
                ops.extend({"op": "add", "path": op["path"] + "/-", "value": v} for v in op["value"])
            else:
                if op["op"] == "add" and isinstance(op.get("value"), list):
                    created.add(op["path"])
                ops.append(op)
    removals.sort(key=lambda op: [int(p) if p.isdigit() else p for p in op["path"].split("/")[1:]], reverse=True)
    return ops + removals


def verdict_of(findings, invalid: bool = False) -> str:
    if invalid:
        return "error"
    severities = {f.severity for f in findings}
    if "deny" in severities:
        return "deny"
    if "warn" in severities:
        return "warn"
    return "clean"
