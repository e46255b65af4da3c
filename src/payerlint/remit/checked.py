"""The claims side of `payerlint remit`: what payerlint predicted for each claim.

Claims come as payerlint JSON, JSON Lines or FHIR (read by `claims.reader` and
`formats`), as 837P (`x12.read_837p`), or as saved results of `payerlint check
--format json|jsonl` (a record with `verdict` and `findings`). Claims are checked again
here with the `Router`, so each line is judged by the rulebook in force on its date of
service, whatever the rules are today; a saved result is taken as it was written (its
`lines` say what each line was, `findings` what was predicted).

Either way a claim becomes a `Checked`: its id, payer, lines (as a remittance names them
back) and predictions (findings whose rule names a denial code). Nothing of the patient
is kept. A record that cannot be read is a `Diagnostic` naming where, never quoting it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from payerlint.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)
class LineKey:
    """A claim line as a remittance names it back."""

    code: str
    modifiers: tuple[str, ...]
    date: datetime.date | None
    units: int | None
    control_number: str | None


@dataclass(frozen=True, slots=True)
class Prediction:
    """A finding whose rule names the denial a payer would return."""

    rule: str
    rulebook: str
    severity: str
    line: int | None
    """Claim line index (from 0); None for a finding about the whole claim."""
    group: str
    reason: str
    remarks: tuple[str, ...]

    @property
    def code(self) -> str:
        return f"{self.group}-{self.reason}"


@dataclass(frozen=True, slots=True)
class Checked:
    claim_id: str
    payer: str
    """The registry's payer id when the claim's payer_id resolves, else the payer_id as given."""
    date_of_service: datetime.date | None
    lines: tuple[LineKey, ...]
    predictions: tuple[Prediction, ...]
    verdict: str
    rulebooks: tuple[str, ...]
    origin: str

    @property
    def checked(self) -> bool:
        """False when payerlint could not check the claim (verdict error): it predicted nothing."""
        return self.verdict != "error"


def _date(text: Any) -> datetime.date | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def is_result(data: dict[str, Any]) -> bool:
    """A saved result of `payerlint check`, not a claim: claims have no verdict."""
    return "verdict" in data and "findings" in data


def from_result(data: dict[str, Any], origin: str, registry: Any = None) -> Checked | Diagnostic:
    """A result's JSON form (`Result.to_json()`, or a line of `check --format jsonl`)."""
    claim_id = data.get("claim_id")
    if not isinstance(claim_id, str) or not claim_id:
        return Diagnostic("remit_claim_without_id", f"{origin}: a result without a claim_id cannot be matched to a "
                          "remittance (CLP01 is the claim id as submitted)", severity="warning")
    payer_id = data.get("payer_id") if isinstance(data.get("payer_id"), str) else ""
    payer = payer_id
    if registry is not None and payer_id:
        found = registry.resolve(payer_id)
        payer = found.id if found is not None else payer_id
    lines: list[LineKey] = []
    raw_lines = data.get("lines")
    if isinstance(raw_lines, list):
        for line in raw_lines:
            if not isinstance(line, dict):
                continue
            units = line.get("units")
            control = line.get("control_number")
            lines.append(LineKey(str(line.get("code", "")), tuple(str(m) for m in line.get("modifiers") or ()),
                                 _date(line.get("date")), units if isinstance(units, int) else None,
                                 control if isinstance(control, str) and control else None))
    predictions = []
    for finding in data.get("findings") or ():
        denial = finding.get("denial") if isinstance(finding, dict) else None
        if not isinstance(denial, dict) or not denial.get("reason"):
            continue
        line = finding.get("line")
        predictions.append(Prediction(str(finding.get("rule")), str(finding.get("rulebook") or ""),
                                      str(finding.get("severity")), line if isinstance(line, int) else None,
                                      str(denial.get("group", "")), str(denial["reason"]),
                                      tuple(str(r) for r in denial.get("remarks") or ())))
    dates = [line.date for line in lines if line.date is not None]
    verdict = str(data.get("verdict"))
    if verdict != "error" and not isinstance(raw_lines, list):
        return Diagnostic("remit_result_without_lines", f"{origin}: this saved result has no `lines` (results written "
                          "before results carried them), so its lines cannot be matched; check the claims "
                          "again, or give the claims instead of the results", severity="warning")
    rulebooks = tuple(str(r) for r in data.get("rulebooks") or ())
    return Checked(claim_id, payer, min(dates) if dates else None, tuple(lines), tuple(predictions), verdict,
                   rulebooks, origin)


def read_checked(paths: Iterable[str | tuple[str, bytes]], router: Any, registry: Any = None) -> Iterator[Checked | Diagnostic]:
    """Every claim or saved result of the files, as `Checked`, in order; a `Diagnostic` for
    each record that cannot be used (with where it is, never what it holds)."""
    from payerlint.formats import claim_records
    from payerlint.claims.reader import read_records
    from payerlint.x12.commands import is_x12

    for path in paths:
        if isinstance(path, tuple):  # (name, content): a file's bytes, as the service receives them
            label, content = path
            if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA"):
                yield from _read_837p(content, router, registry, label)
                continue
            records: Iterable[Any] = _records_from_bytes(label, content)
        elif is_x12(path):
            yield from _read_837p(path, router, registry)
            continue
        else:
            records = read_records([path])
        for record in claim_records(records, "auto",
                                    (lambda p: registry.resolve(p) is not None) if registry is not None else None):
            if record.data is None:
                error = record.error
                yield error if error is not None else Diagnostic("remit_claims_unreadable", f"{record.origin}: unreadable")
                continue
            if is_result(record.data):
                yield from_result(record.data, record.origin, registry)
            else:
                yield from_result(router.check_record(record).to_json(), record.origin, registry)


def _records_from_bytes(label: str, content: bytes) -> list[Any]:
    """A claims file's content (a JSON document, an array, or JSON Lines) as records."""
    from payerlint.claims.reader import LineFeed, parse_json, value_record

    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip():
        value, problem = parse_json(text)
        if problem is None:
            if isinstance(value, list):
                return [value_record(f"{label}[{i}]", item) for i, item in enumerate(value)]
            return [value_record(label, value)]
    feed = LineFeed(label)
    return feed.feed(content) + feed.end()


def _read_837p(path: str | bytes, router: Any, registry: Any, label: str | None = None
               ) -> Iterator[Checked | Diagnostic]:
    from payerlint.x12.claims837 import read_837p

    kwargs = {"registry": registry} if registry is not None else {}
    for record in read_837p(path, label or str(path), **kwargs):
        errors = [d for d in record.errors if d.severity == "error"]
        if record.data is None:
            for d in errors or record.errors:
                yield Diagnostic(d.code, f"{record.origin}: {d.message}", span=d.span, severity=d.severity, quote=False)
            continue
        if errors:
            # payerlint would not check this claim: it predicted nothing; the claim is
            # still matched so its remittance is counted apart, not as misses.
            result = dict(router.check(record.data, record.origin).to_json(), verdict="error", findings=[])
        else:
            result = router.check(record.data, record.origin).to_json()
        yield from_result(result, record.origin, registry)
