"""`--documentation FILE`: what an 837P does not carry, merged into its claims.

An 837P carries units, not minutes, and no treatment note or episode data, so the rules
that read them cannot run on an 837P alone. A documentation file supplies them: JSON Lines,
one record per claim in the claim schema's shape, holding only what it adds, matched to an
837P claim by `claim_id` (CLM01). docs/x12.md ("Documentation for 837P claims") is the
user's account of the rules below; they are:

1. The 837P is the claim sent to the payer. Where the 837P has a value, the documentation
   may repeat it (a line's `code` and `date` confirm that the right line was matched), and
   a different value is a conflict.
2. Where the 837P has no value, the documentation's is taken, except for the fields an 837P
   carries whenever they apply (`STRICT`: the payer, the patient, the NPI, diagnoses, place
   of service, the prior authorization number, and a line's code, modifiers, units,
   charge, pointers, dates, place of service and control number): there the 837P's
   silence is what the payer receives (no REF*G1 is no authorization number), and a
   documentation value is a conflict. So the documentation adds `documentation`,
   `episode` (but its authorization number), `medicare_paid_first`, and per line
   `minutes`, `assistant_minutes`, `performed_by`, `body_region`; and `provider.discipline`
   when the 837P's taxonomy names none (a physician: MD or DO).
3. `lines[j]` of the documentation is matched to the 837P line whose line item control
   number (REF*6R) equals its `control_number` when it has one, else to the 837P's line at
   the same position. A documentation line that matches no line, or a line another one
   matched already, is a conflict. An 837P line with no documentation line keeps what the
   837P says.
4. A conflict makes the claim's result `error` (it is not checked: which of the two is
   right is for the user to say), each conflict an `input.documentation` finding naming the
   documentation record and pointer and the 837P segment. So do two documentation records
   with the claim's id.
5. A documentation record that matches no 837P claim of the input, or a line of the file
   that is not a JSON object with a text `claim_id`, gets an `error` result of its own after
   the claims: no record of either file is dropped unsaid.

Values taken from the documentation are located in results as `docs.jsonl:3 /lines/0/minutes`
(the record, and the pointer in it). The file is scanned once for each record's claim id and
byte offset; records are read again when their claim comes, so memory holds the index, not
the notes. Messages name records and pointers, never values.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from payerlint.claims.reader import Record, record_from_text
from payerlint.diagnostics import Diagnostic
from payerlint.x12.provenance import SegmentRef, X12Record

CONFLICT = "documentation_conflict"
UNMATCHED = "documentation_unmatched"
UNREADABLE = "documentation_unreadable"

# Rule 2: values an 837P carries whenever they apply (docs/x12.md, "What an 837P claim becomes").
STRICT = re.compile(r"^(/claim_id|/payer_id|/patient/(id|birth_date|state)|/provider/npi|/date_of_service"
                    r"|/place_of_service|/diagnoses|/episode/prior_authorization/number"
                    r"|/lines/\d+/(code|modifiers|units|charge|place_of_service|diagnosis_pointers|date"
                    r"|date_through|control_number))$")


class DocumentationFileError(Exception):
    """The documentation file cannot be opened (a usage error: exit 2)."""


@dataclass(frozen=True, slots=True)
class Merged:
    """One claim with its documentation record merged (or not)."""

    data: dict
    merged: Mapping[str, str]
    """Pointer in the claim -> pointer in the documentation record, for each value taken."""
    companion: str | None
    """The documentation record (`docs.jsonl:3`); None when none matched."""
    conflicts: tuple[Diagnostic, ...]


class Documentation:
    """A documentation file, indexed by claim id; `merge` each 837P claim through it, then
    take `leftovers()` (the records no claim used, and the lines that cannot be read)."""

    def __init__(self, path: str):
        self.path = path
        self._index: dict[str, list[tuple[int, int]]] = {}
        """claim_id -> [(line number, byte offset)], in file order."""
        self._unreadable: list[Record] = []
        self._used: set[str] = set()
        try:
            with open(path, "rb") as stream:
                self._scan(stream)
        except OSError as exc:
            raise DocumentationFileError(f"--documentation {path}: cannot read it: "
                                         f"{(exc.strerror or type(exc).__name__).lower()}") from None

    def _scan(self, stream) -> None:
        offset, number = 0, 0
        for raw in stream:
            number += 1
            here, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            record = self._parse(raw, number)
            if record.data is None:
                self._unreadable.append(record)
                continue
            claim_id = record.data.get("claim_id")
            if not isinstance(claim_id, str) or not claim_id:
                self._unreadable.append(_error_record(
                    f"{self.path}:{number}", UNREADABLE, f"{self.path}:{number}: a documentation record needs a "
                    "claim_id (text: the CLM01 of the 837P claim it documents)"))
                continue
            self._index.setdefault(claim_id, []).append((number, here))

    def _parse(self, raw: bytes, number: int) -> Record:
        origin = f"{self.path}:{number}"
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _error_record(origin, UNREADABLE, f"{origin}: this line is not UTF-8 text")
        record = record_from_text(text, origin)
        if record.data is None and record.error is not None:
            # The JSON reader's words, under the documentation's code.
            return _error_record(origin, UNREADABLE, f"{record.error.message} (a documentation record: one JSON "
                                                     "object per line)")
        return record

    def merge(self, x12: X12Record) -> Merged:
        """The claim of `x12` with its documentation record merged (rules 1-4 above)."""
        data = x12.data or {}
        claim_id = data.get("claim_id")
        entries = self._index.get(claim_id) if isinstance(claim_id, str) else None
        if not entries:
            return Merged(data, {}, None, ())
        self._used.add(claim_id)  # type: ignore[arg-type]
        if len(entries) > 1:
            where = ", ".join(f"{self.path}:{number}" for number, _ in entries)
            return Merged(data, {}, None, (_conflict(None, f"{len(entries)} documentation records have this "
                                                           f"claim_id ({where}); none was used: one record per claim"),))
        number, offset = entries[0]
        origin = f"{self.path}:{number}"
        try:
            with open(self.path, "rb") as stream:
                stream.seek(offset)
                record = self._parse(stream.readline(), number)
        except OSError as exc:
            record = _error_record(origin, UNREADABLE, f"{origin}: cannot read it again "
                                                       f"({(exc.strerror or type(exc).__name__).lower()})")
        if record.data is None or record.data.get("claim_id") != claim_id:
            return Merged(data, {}, None, (_conflict(None, f"{origin}: the documentation record changed while "
                                                           "payerlint read the file; it was not used"),))
        return merge_claim(data, record.data, origin, x12.sources)

    def leftovers(self) -> Iterator[Record]:
        """After every claim was merged: a record for each documentation record no claim
        matched and each line that could not be read, in file order."""
        out = list(self._unreadable)
        for claim_id, entries in self._index.items():
            if claim_id in self._used:
                continue
            for number, _ in entries:
                origin = f"{self.path}:{number}"
                out.append(Record(origin, {"claim_id": claim_id}, None, None, (Diagnostic(
                    UNMATCHED, f"{origin}: no 837P claim of the input has this claim_id (CLM01), so this "
                    "documentation record was not used", quote=False),)))
        out.sort(key=lambda r: int(r.origin.rsplit(":", 1)[1]))
        yield from out


def merge_claim(claim: dict, companion: dict, origin: str, sources: Mapping[str, SegmentRef]) -> Merged:
    """`claim` (read from an 837P) with `companion` merged by rules 1-3; see the module."""
    out = copy.deepcopy(claim)
    merger = _Merger(origin, sources)
    for key, value in companion.items():
        if key != "lines":
            merger.merge(out, key, value, f"/{_token(key)}", f"/{_token(key)}")
    if "lines" in companion:
        merger.lines(out, companion["lines"])
    return Merged(out, merger.merged, origin, tuple(merger.conflicts))


class _Merger:
    def __init__(self, origin: str, sources: Mapping[str, SegmentRef]):
        self.origin = origin
        self.sources = sources
        self.merged: dict[str, str] = {}
        self.conflicts: list[Diagnostic] = []

    def merge(self, target: dict, key: str, theirs: Any, pointer: str, their_pointer: str) -> None:
        present = key in target
        ours = target.get(key)
        if present and ours == theirs:
            return  # rule 1: the documentation repeats the 837P
        if STRICT.match(pointer):
            self.conflict(pointer, their_pointer, present)
            return
        if isinstance(theirs, dict) and (isinstance(ours, dict) or (not present and _strict_below(pointer))):
            # An object both have, or one holding a field the 837P carries: field by field.
            if not present:
                target[key] = {}
            for k, value in theirs.items():
                self.merge(target[key], k, value, f"{pointer}/{_token(k)}", f"{their_pointer}/{_token(k)}")
            return
        if present:
            self.conflict(pointer, their_pointer, True)  # rule 1: a value the 837P has
            return
        target[key] = copy.deepcopy(theirs)  # rule 2
        self.merged[pointer] = their_pointer

    def lines(self, out: dict, theirs: Any) -> None:
        ours = out.get("lines") or []
        if not isinstance(theirs, list):
            self.conflicts.append(_conflict("/lines", f"{self.origin} /lines: expected an array of service lines"))
            return
        taken: dict[int, str] = {}
        for j, entry in enumerate(theirs):
            at = f"/lines/{j}"
            if not isinstance(entry, dict):
                self.conflicts.append(_conflict(None, f"{self.origin} {at}: expected a service line (an object)"))
                continue
            if "control_number" in entry:
                found = [i for i, line in enumerate(ours) if line.get("control_number") == entry["control_number"]]
                if len(found) != 1:
                    self.conflicts.append(_conflict(None, f"{self.origin} {at}/control_number: "
                                                    + ("names no service line of the 837P claim (REF*6R)" if not found
                                                       else f"names {len(found)} service lines of the 837P claim")))
                    continue
                index = found[0]
            else:
                index = j
                if index >= len(ours):
                    self.conflicts.append(_conflict(None, f"{self.origin} {at}: the 837P claim has {len(ours)} "
                                                    f"service line(s); a documentation line without a control_number "
                                                    "is matched by its position"))
                    continue
            if index in taken:
                self.conflicts.append(_conflict(f"/lines/{index}", f"{self.origin} {at} and {taken[index]} both "
                                                f"match {self.where(f'/lines/{index}')}"))
                continue
            taken[index] = at
            for key, value in entry.items():
                self.merge(ours[index], key, value, f"/lines/{index}/{_token(key)}", f"{at}/{_token(key)}")

    def conflict(self, pointer: str, their_pointer: str, present: bool) -> None:
        where = self.where(pointer)
        if present:
            text = f"{self.origin} {their_pointer} differs from the 837P's value ({where})"
        else:
            text = (f"{self.origin} {their_pointer} has a value the 837P claim does not carry "
                    f"({where} has none, and that is what the payer receives)")
        self.conflicts.append(_conflict(pointer, text + "; correct whichever is wrong"))

    def where(self, pointer: str) -> str:
        """The segment of a pointer (or of its nearest ancestor) in the 837P."""
        probe = pointer
        while probe:
            found = self.sources.get(probe)
            if found is not None:
                return str(found) if probe == pointer else f"{found}, for {pointer}"
            probe = probe[: probe.rfind("/")]
        return f"the 837P claim, at {pointer}"


def _token(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _strict_below(pointer: str) -> bool:
    return pointer in ("/patient", "/provider", "/episode", "/episode/prior_authorization")


def _conflict(pointer: str | None, message: str) -> Diagnostic:
    return Diagnostic(CONFLICT, message, pointer=pointer, quote=False)


def _error_record(origin: str, code: str, message: str) -> Record:
    return Record(origin, None, Diagnostic(code, message, quote=False))
