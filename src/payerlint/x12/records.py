"""837P claims for the claim path: each `X12Record` as a `claims.reader.Record`, so an 837P
claim is checked exactly as a JSON or FHIR claim is (`check.Checker.check_record`).

    read_837p(stream)            one X12Record per claim, per unreadable part
      -> (documentation merged)  x12/documentation.py, with --documentation
      -> Record                  data; problems (the reader's diagnostics, with their
                                 file:line:column); X12Locations (segment of each value)
      -> Checker.check_record    the claim path; the result names segments, and its fixes
                                 are also told as 837P edits (`x12` beside each `fix`)

A claim the reader flags (an ICD-9 qualifier, a missing required loop, an element it cannot
read) is an `error` result listing every diagnostic as an `input` finding; its warnings
(a payer id no payer file names, a claim total that is not the lines' sum) are `warn`
findings beside the rules'. A broken envelope, a 4010 transaction or a transaction error is
a record of its own with no claim: one `error` result naming the segment, its number in its
transaction set and its file position; the other claims are still checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import IO, Any, Iterator, Mapping

import orjson

from payerlint.claims.provenance import Locations
from payerlint.claims.reader import FILE_UNREADABLE, Record
from payerlint.diagnostics import Diagnostic
from payerlint.evaluate.result import Finding
from payerlint.x12.claims837 import VERSION, read_837p
from payerlint.x12.fixes import PLACES, PatchError, translate_fix
from payerlint.x12.provenance import SegmentRef, X12Record

FORMAT = f"X12 837P ({VERSION})"
NOT_CARRIED = "not in an 837P file"
SUPPLY = "supply it with --documentation"

# Pointers the 837P carries (fixes.PLACES, the table of docs/x12.md), as patterns; what
# matches none is data an 837P never holds (minutes, the note, most of the episode).
# SV104 holds minutes only on an anesthesia line (SV103 MJ): a therapy line's minutes are
# not carried.
_CARRIED = [re.compile("^" + re.escape(p.pointer).replace(r"\*", r"\d+") + "$") for p in PLACES
            if p.pointer != "/lines/*/minutes"]
_PLACE_OF = {p.pointer: p for p in PLACES}


def records(stream: IO[bytes] | bytes, label: str, registry: Any = None, documentation: Any = None) -> Iterator[Record]:
    """The claim records of one 837P file; never raises. `documentation` is an
    `x12.documentation.Documentation` (--documentation) or None."""
    count = 0
    options = {"registry": registry} if registry is not None else {}
    for x12 in read_837p(stream, label, **options):
        count += 1
        yield as_record(x12, documentation)
    if count == 0:
        yield Record(label, None, Diagnostic(FILE_UNREADABLE, f"cannot read {label}: it holds no 837P claim "
                                             "(no ISA segment, or no CLM in it)", quote=False))


def as_record(x12: X12Record, documentation: Any = None) -> Record:
    """One X12Record as a claim record (see the module docstring)."""
    problems = tuple(_placed(d) for d in x12.errors)
    if x12.data is None:
        first = next((d for d in problems if d.severity == "error"), problems[0] if problems else None)
        return Record(x12.origin, None, first, None, problems)
    data = x12.data
    merged: Mapping[str, str] = {}
    companion = None
    if documentation is not None:
        found = documentation.merge(x12)
        data, merged, companion = found.data, found.merged, found.companion
        problems += found.conflicts
    # Segments are told as text only for the pointers a result names (`locate`): a record
    # travels to a worker process with `--jobs`, and most of its values are never named.
    locations = X12Locations(FORMAT, {}, dict(x12.sources), companion, dict(merged), documentation is not None)
    return Record(x12.origin, data, None, locations, problems)


def _placed(d: Diagnostic) -> Diagnostic:
    """A reader diagnostic whose message starts with its file:line:column, as a JSON
    reader's does, since a result's finding carries the message alone."""
    if d.span is None:
        return d
    return replace(d, message=f"{d.span}: {d.message}")


# ------------------------------------------------------------------ locations


@dataclass(frozen=True, slots=True)
class X12Locations(Locations):
    """Where each value of an 837P claim is: its segment and element, or for data an
    837P never carries, where it came from (`--documentation`) or that it is missing."""

    sources: Mapping[str, SegmentRef] = field(default_factory=dict)
    """JSON pointer -> segment, as the reader found them (for telling fixes as 837P edits)."""
    companion: str | None = None
    """The documentation record merged into the claim (`docs.jsonl:3`), if one was."""
    merged: Mapping[str, str] = field(default_factory=dict)
    """Pointer in the claim -> pointer in the documentation record, for each value taken
    from it (a line matched by its control number may sit at another index there)."""
    documentation_given: bool = False
    """Whether --documentation named a file (with no record for this claim, say so)."""

    def annotate(self, result: Any, data: Any = None) -> Any:
        """The result with `source` (format, locations, documentation), and each fix also
        told as 837P edits: `x12` beside each finding's `fix` and the combined one."""
        result = Locations.annotate(self, result, data)
        missing = {n.missing for n in result.not_evaluated}
        extra = []
        for key, value in result.extra:
            if key == "source":
                value = dict(value)
                value["locations"] = {**value["locations"], **{p: self.absent(p) for p in sorted(missing)}}
                value["documentation"] = self.companion
            extra.append((key, value))
        findings = result.findings
        edits: list[dict] = []
        if isinstance(data, dict):
            told: dict[bytes, list[dict]] = {}  # the combined fix is often one finding's

            def edits_of(patch: Any) -> list[dict]:
                key = orjson.dumps(patch, default=str)
                if key not in told:
                    told[key] = self.edits(data, patch)
                return told[key]

            findings = tuple(_with_edits(f, edits_of(f.fix)) if f.fix else f for f in findings)
            edits = edits_of(result.fix) if result.fix else []
        # `x12` first among the extras: the JSON form puts it right after the combined `fix`.
        extra = [("x12", edits)] + extra if result.verdict != "error" else extra
        return replace(result, findings=findings, extra=tuple(extra))

    def edits(self, data: dict, patch: Any) -> list[dict]:
        """A JSON Patch on the claim as 837P edits (`fixes.translate_fix`), as JSON."""
        if not patch:
            return []
        try:
            return [edit_json(e) for e in translate_fix(data, patch, self.sources)]
        except (PatchError, KeyError, IndexError, TypeError, ValueError):
            # A patch that does not apply to the claim as read: told as JSON Patch only.
            return []

    def locate(self, pointer: str) -> str | None:
        """The segment of `pointer`, or of its nearest ancestor that has one; for a value
        taken from the documentation, its record and pointer there."""
        root = self._merged_root(pointer)
        if root is not None:
            return f"{self.companion} {self.merged[root]}{pointer[len(root):]}"
        while True:
            found = self.sources.get(pointer)
            if found is not None:
                return str(found)
            if not pointer:
                return None
            pointer = pointer[: pointer.rfind("/")] if "/" in pointer else ""

    def absent(self, pointer: str) -> str:
        """Where a value the claim lacks would be: the 837P element, or the documentation."""
        if any(pattern.match(pointer) for pattern in _CARRIED):
            place = _PLACE_OF.get(re.sub(r"/\d+(?=/|$)", "/*", pointer))
            if place is not None:
                return f"{place.target} in loop {place.loop}, not on this claim"
            return self.locate(pointer) or NOT_CARRIED
        if self.companion is not None:
            root = self._merged_root(pointer)
            where = f"{self.merged[root]}{pointer[len(root):]}" if root is not None else pointer
            return f"{NOT_CARRIED}, nor in {self.companion} ({where})"
        if self.documentation_given:
            return f"{NOT_CARRIED}, and no --documentation record has this claim_id"
        return f"{NOT_CARRIED}; {SUPPLY}"

    def _merged_root(self, pointer: str) -> str | None:
        best = None
        for root in self.merged:
            if (pointer == root or pointer.startswith(root + "/")) and (best is None or len(root) > len(best)):
                best = root
        return best


def edit_json(edit: Any) -> dict:
    """An `x12.fixes.Edit` as the result's JSON: the sentence, then its parts."""
    out: dict[str, Any] = {"edit": str(edit), "action": edit.action, "target": edit.target, "value": edit.value,
                           "lx": edit.lx, "pointer": edit.pointer}
    out["segment"] = edit.at.to_json() if edit.at is not None else None
    return out


# ------------------------------------------------------------------ findings with edits


@dataclass(frozen=True, slots=True)
class EditedFinding(Finding):
    """A finding of a claim read from an 837P: its fix also as 837P edits (`x12`, written
    right after `fix` in the JSON form). The evaluator's `Finding` knows no format; this
    adds the one key, whatever fields `Finding` has."""

    x12: tuple = ()

    def to_json(self) -> dict:
        out: dict[str, Any] = {}
        for key, value in Finding.to_json(self).items():
            out[key] = value
            if key == "fix":
                out["x12"] = list(self.x12)
        return out


def _with_edits(finding: Finding, edits: list[dict]) -> Finding:
    values = {f.name: getattr(finding, f.name) for f in fields(Finding)}
    return EditedFinding(**values, x12=tuple(edits))
