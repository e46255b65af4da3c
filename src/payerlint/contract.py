"""The result contract, typed for the programs that embed payerlint.

The JSON form of a result is described by `schemas/result.schema.json`; this module is
the same contract seen from Python: the words a verdict and a severity can be (Literal
types, so a caller's type checker catches `result.verdict == "denied"`), and Protocols
for what a result, a finding and a rule that was not evaluated offer.

Why Protocols and not the classes themselves: the result classes live in the evaluator
(`evaluate/result.py`), which is kept free of public typing concerns so it can change
its internals; it stores verdicts and severities as plain `str`. The claim path
(`payerlint.check.Checker`) hands its results out through `public()`, the one place where
the evaluator's values are declared to be the contract's: the words themselves are
enforced at run time by `verdict_of` and the compiler (which accepts only the severities
below), and by a test that validates every result the suite produces against the
schema (tests/conftest.py).

>>> from payerlint.contract import VERDICTS
>>> VERDICTS
('clean', 'warn', 'deny', 'error')
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal, Mapping, Protocol, TypeAlias, cast, get_args, runtime_checkable

Verdict: TypeAlias = Literal["clean", "warn", "deny", "error"]
"""`clean`: no finding (see `complete`); `warn`: findings to look at, none that denies;
`deny`: a finding the payer denies on; `error`: the claim was not checked (it could not be
read, is not a valid claim, cannot be routed, or payerlint failed on it)."""

Severity: TypeAlias = Literal["error", "deny", "warn", "info"]
"""`error` is for findings about the input itself (and internal errors); a rule's finding
is `deny`, `warn` or `info`."""

VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

JSONObject: TypeAlias = dict[str, Any]
"""A JSON object as Python values (what `json.loads` returns for `{...}`)."""

PatchOperation: TypeAlias = Mapping[str, Any]
"""One JSON Patch operation (RFC 6902): `{"op": "replace", "path": "/lines/0/units", "value": 1}`."""

SCHEMA_NAMES = ("claim", "result", "diagnostic", "payer", "remit-report")


@runtime_checkable
class Denial(Protocol):
    """The claim adjustment a payer returns on a rule's ground (X12 code lists)."""

    @property
    def group(self) -> str:
        """The claim adjustment group code: CO (the provider's write-off), PR (the patient's), OA, PI."""
    @property
    def reason(self) -> str:
        """The claim adjustment reason code (CARC), such as "97"."""
    @property
    def remarks(self) -> tuple[str, ...]:
        """Remittance advice remark codes (RARC), such as ("N425",)."""


@runtime_checkable
class Finding(Protocol):
    """One thing a rule (or the input check) found on a claim."""

    @property
    def rule(self) -> str: ...
    @property
    def rulebook(self) -> str:
        """`family@quarter` of the rulebook whose rule fired; empty for input findings."""
    @property
    def category(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def line(self) -> int | None:
        """The line's index, counted from 0 (the JSON pointer's count); None for the claim."""
    @property
    def message(self) -> str: ...
    @property
    def citation(self) -> str: ...
    @property
    def fix(self) -> tuple[PatchOperation, ...]:
        """JSON Patch operations on the claim as submitted; empty when the rule has none."""
    @property
    def explanation(self) -> JSONObject | None:
        """What the rule read (params, definitions, table rows, code sets), when asked for."""
    @property
    def pointer(self) -> str | None:
        """For an input finding: the JSON pointer of the value that is wrong."""
    @property
    def denial(self) -> Denial | None:
        """The denial the rulebook predicts for the rule's ground; None when it names none."""
    def to_json(self) -> JSONObject: ...


@runtime_checkable
class NotEvaluated(Protocol):
    """A rule that could not run because the claim lacks a value."""

    @property
    def rule(self) -> str: ...
    @property
    def rulebook(self) -> str: ...
    @property
    def missing(self) -> str:
        """The JSON pointer of the value the claim does not carry."""
    @property
    def line(self) -> int | None: ...
    def to_json(self) -> JSONObject: ...


@runtime_checkable
class Result(Protocol):
    """What checking one claim returns. `to_json()` is the JSON result contract
    (`schemas/result.schema.json`), `dumps()` the same on one line, byte-identical for the
    same input."""

    @property
    def claim_id(self) -> str | None: ...
    @property
    def payer_id(self) -> str | None: ...
    @property
    def rulebooks(self) -> tuple[str, ...]: ...
    @property
    def verdict(self) -> Verdict: ...
    @property
    def findings(self) -> tuple[Finding, ...]: ...
    @property
    def not_evaluated(self) -> tuple[NotEvaluated, ...]: ...
    @property
    def record(self) -> str | None:
        """Where the claim was read from (`claims.jsonl:3`), for batches."""
    @property
    def fix(self) -> tuple[PatchOperation, ...]:
        """Every finding's fix as one JSON Patch that applies to the claim in one go."""
    @property
    def complete(self) -> bool:
        """Whether every rule that applies could run (no `error`, nothing not evaluated)."""
    @property
    def source(self) -> JSONObject | None:
        """For a claim read from FHIR or an 837P: its format and the location in the input
        of each pointer the result names; None for a claim given as payerlint JSON."""
    def to_json(self) -> JSONObject: ...
    def dumps(self) -> str: ...


def public(result: object) -> Result:
    """The evaluator's result as the contract's type (see the module docstring)."""
    return cast(Result, result)


def load_schema(name: str) -> JSONObject:
    """A shipped JSON Schema by name: `claim`, `result`, `diagnostic` or `payer`.

    >>> load_schema("result")["$id"]
    'urn:payerlint:schema:result:v1'
    """
    if name not in SCHEMA_NAMES:
        raise ValueError(f"no schema '{name}'; the schemas are: {', '.join(SCHEMA_NAMES)}")
    text = resources.files("payerlint.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    return cast(JSONObject, json.loads(text))
