"""A fix on a claim (a JSON Patch) told as edits to its 837P, in an EDI analyst's terms.

A billing team that submits 837P files never sees payerlint's JSON. A fix such as
`add /lines/1/modifiers/- "59"` becomes `SV1-01-3 add 59 on LX 2`; `replace
/lines/0/units 1` becomes `SV1-04 set 1 on LX 1`; `remove /lines/2` becomes `remove LX 3`.
Targets are written SEGMENT[*QUALIFIER]-ELEMENT[-COMPONENT], values as the 837P holds
them (dates CCYYMMDD, diagnosis codes without their dot).

The translation applies the patch to a copy of the claim whose lines are tagged with
their original position, then compares each 837P place before and after: so an
operation's effect is told wherever it lands (a line removed before another keeps the
other's LX number right), and a fix made of several operations gives the net edits.
A value the 837P does not carry (minutes, the treatment note) gets a note saying so.
With the reader's `sources`, each edit also names the segment to change.

>>> claim = {"diagnoses": ["M54.50"], "lines": [{"code": "97140", "modifiers": ["GP"], "units": 2}]}
>>> [str(e) for e in translate_fix(claim, [{"op": "add", "path": "/lines/0/modifiers/-", "value": "59"},
...                                         {"op": "replace", "path": "/lines/0/units", "value": 1}])]
['SV1-01-4 add 59 on LX 1', 'SV1-04 set 1 on LX 1']
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from payerlint.evaluate.patch import PatchError, apply_op
from payerlint.x12.crosswalk import taxonomy_for
from payerlint.x12.provenance import SegmentRef

_TAG = "\x00lx"  # marks a line with its original index while the patch moves lines around


@dataclass(frozen=True, slots=True)
class Place:
    """Where the 837P carries one claim value (the reader reads it there, the writer writes it)."""

    pointer: str
    """JSON pointer pattern, `*` for an array index: `/lines/*/units`."""
    loop: str
    target: str
    """`SV1-04`, `REF*G1-02`, `CLM-05-1`."""
    what: str
    form: Callable[[Any], str] = str


def _date(value: Any) -> str:
    return str(value).replace("-", "")


def _icd(value: Any) -> str:
    return str(value).replace(".", "")


def _taxonomy(value: Any) -> str:
    return taxonomy_for(str(value)) or f"(a taxonomy code for {value})"


# The table docs/x12.md describes; claim-level places first, then line places.
PLACES: tuple[Place, ...] = (
    Place("/claim_id", "2300", "CLM-01", "patient control number"),
    Place("/payer_id", "2010BB", "NM1*PR-09", "payer identifier (mapped through the payer files' aliases)"),
    Place("/patient/id", "2010BA", "NM1*IL-09", "subscriber member id"),
    Place("/patient/birth_date", "2010BA", "DMG-02", "birth date (2010CA when the patient is a dependent)", _date),
    Place("/patient/state", "2010BA", "N4-02", "state (2010CA when the patient is a dependent)"),
    Place("/provider/npi", "2310B", "NM1*82-09", "rendering provider NPI (2010AA NM1*85-09 when no 2310B)"),
    Place("/provider/discipline", "2310B", "PRV*PE-03", "rendering provider taxonomy (2000A PRV*BI-03 when no 2310B)",
          _taxonomy),
    Place("/place_of_service", "2300", "CLM-05-1", "place of service"),
    Place("/diagnoses/*", "2300", "HI", "diagnosis code", _icd),
    Place("/episode/prior_authorization/number", "2300", "REF*G1-02", "prior authorization number"),
    Place("/lines/*/code", "2400", "SV1-01-2", "procedure code"),
    Place("/lines/*/modifiers/*", "2400", "SV1-01", "procedure modifier"),
    Place("/lines/*/charge", "2400", "SV1-02", "line charge"),
    Place("/lines/*/units", "2400", "SV1-04", "units (SV1-03 = UN)"),
    Place("/lines/*/minutes", "2400", "SV1-04", "minutes (SV1-03 = MJ, anesthesia only)"),
    Place("/lines/*/place_of_service", "2400", "SV1-05", "line place of service"),
    Place("/lines/*/diagnosis_pointers", "2400", "SV1-07", "diagnosis pointers"),
    Place("/lines/*/date", "2400", "DTP*472-03", "date of service", _date),
    Place("/lines/*/date_through", "2400", "DTP*472-03", "last date of a range (RD8)", _date),
    Place("/lines/*/control_number", "2400", "REF*6R-02", "line item control number"),
)


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to make in the 837P."""

    action: str
    """"set", "add", "remove", or "note" (nothing in the 837P carries the value)."""
    target: str
    """`SV1-01-3`, `LX` for a whole service line, or the JSON pointer for a note."""
    value: str | None
    lx: int | None
    """The service line (original LX number), or None for the claim."""
    pointer: str
    """The claim value the edit comes from."""
    at: SegmentRef | None = None
    """The segment to change, when the claim was read from an 837P."""

    def __str__(self) -> str:
        if self.action == "note":
            return f"no 837P element carries {self.pointer}: {self.value}"
        if self.target == "LX":
            text = f"remove LX {self.lx}" if self.action == "remove" else f"add a service line after LX {self.lx}: {self.value}"
        else:
            text = f"{self.target} {self.action}" + (f" {self.value}" if self.value is not None else "")
            if self.lx is not None:
                text += f" on LX {self.lx}"
        if self.at is not None:
            text += f" (segment {self.at.number} of ST {self.at.transaction})"
        return text


def translate_fix(claim: dict, ops: Iterable[dict], sources: Mapping[str, SegmentRef] | None = None) -> list[Edit]:
    """The 837P edits that make `claim` what the JSON Patch `ops` makes it.

    Raises `PatchError` when the patch does not apply to the claim.
    """
    ops = list(ops)
    sources = sources or {}
    before = _tagged(claim)
    after = before  # apply_op copies what it changes and leaves its input as it was
    for op in ops:
        after = apply_op(after, op)
    edits: list[Edit] = []
    edits += _claim_edits(before, after, sources)
    edits += _line_edits(before, after, sources)
    edits += _notes(ops)
    return edits


def apply_fix(claim: dict, ops: Iterable[dict]) -> dict:
    """A patched copy of the claim (raises `PatchError` when the patch does not apply)."""
    out = copy.deepcopy(claim)
    for op in ops:
        out = apply_op(out, op)
    return out


# --- comparing ---------------------------------------------------------------------


def _tagged(claim: dict) -> dict:
    """The claim with each line tagged with its index: the claim and its lines copied
    (shallow), the rest shared, since nothing here changes a value in place."""
    out = dict(claim)
    lines = claim.get("lines")
    if isinstance(lines, list):
        out["lines"] = [{**line, _TAG: index} if isinstance(line, dict) else line for index, line in enumerate(lines)]
    return out


def _get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in pointer.split("/")[1:]:
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _claim_edits(before: dict, after: dict, sources: Mapping[str, SegmentRef]) -> list[Edit]:
    edits = []
    for place in PLACES:
        if place.pointer.startswith("/lines/"):
            continue
        if place.pointer == "/diagnoses/*":
            edits += _diagnosis_edits(before.get("diagnoses") or [], after.get("diagnoses") or [], sources)
            continue
        old, new = _get(before, place.pointer), _get(after, place.pointer)
        if old != new:
            edits.append(_change(place.target, old, new, place, None, place.pointer, sources.get(place.pointer)))
    return edits


def _diagnosis_edits(old: list, new: list, sources: Mapping[str, SegmentRef]) -> list[Edit]:
    edits = []
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        if a == b:
            continue
        element = f"HI-{index + 1:02d}"
        pointer = f"/diagnoses/{index}"
        at = sources.get(pointer) or sources.get("/diagnoses")
        if a is not None and b is not None:
            edits.append(Edit("set", f"{element}-2", _icd(b), None, pointer, at))
        elif b is not None:
            edits.append(Edit("add", element, f"{'ABK' if index == 0 else 'ABF'}:{_icd(b)}", None, pointer, at))
        else:
            edits.append(Edit("remove", element, None, None, pointer, at))
    return edits


def _line_edits(before: dict, after: dict, sources: Mapping[str, SegmentRef]) -> list[Edit]:
    old_lines = [l for l in before.get("lines") or [] if isinstance(l, dict)]
    new_lines = [l for l in after.get("lines") or [] if isinstance(l, dict)]
    survivors = {l.get(_TAG): l for l in new_lines if l.get(_TAG) is not None}
    edits: list[Edit] = []

    def lx_of(index: int) -> int:
        found = sources.get(f"/lines/{index}")
        return found.lx if found is not None and found.lx is not None else index + 1

    for index, old in enumerate(old_lines):
        new = survivors.get(index)
        if new is None:
            edits.append(Edit("remove", "LX", None, lx_of(index), f"/lines/{index}", sources.get(f"/lines/{index}")))
            continue
        edits += _one_line(index, lx_of(index), old, new, sources)
    previous = None
    for line in new_lines:
        if line.get(_TAG) is None:
            anchor = lx_of(previous) if previous is not None else 0
            edits.append(Edit("add", "LX", _sv1_text(line), anchor, f"/lines/{new_lines.index(line)}"))
        else:
            previous = line[_TAG]
    return edits


def _one_line(index: int, lx: int, old: dict, new: dict, sources: Mapping[str, SegmentRef]) -> list[Edit]:
    edits = []
    at = f"/lines/{index}"
    for place in PLACES:
        if not place.pointer.startswith("/lines/*/"):
            continue
        field = place.pointer.split("/")[3]
        if field == "modifiers":
            edits += _modifier_edits(index, lx, old.get("modifiers") or [], new.get("modifiers") or [], sources)
            continue
        a, b = old.get(field), new.get(field)
        if field == "date" and old.get("date_through") != new.get("date_through"):
            a = (a, old.get("date_through"))
            b = (b, new.get("date_through"))
        if a == b or field == "date_through":
            continue
        pointer = f"{at}/{field}"
        where = sources.get(pointer) or sources.get(f"{at}/code") or sources.get(at)
        if field == "minutes" and ("units" in old or "units" in new):
            # SV104 holds minutes only on anesthesia lines (SV103 MJ); a therapy line's
            # minutes travel in the documentation, not the claim.
            edits.append(Edit("note", pointer, _NOT_CARRIED, None, pointer))
            continue
        if field == "date":
            edits += _date_edits(old, new, lx, pointer, where)
            continue
        if field == "diagnosis_pointers":
            value = ":".join(str(p) for p in b) if b else None
            edits.append(Edit("set" if a and b else ("add" if b else "remove"), place.target, value, lx, pointer, where))
            continue
        edits.append(_change(place.target, a, b, place, lx, pointer, where))
    return edits


def _date_edits(old: dict, new: dict, lx: int, pointer: str, at: SegmentRef | None) -> list[Edit]:
    """DTP*472: D8 for one date, RD8 for a range; a changed end date changes the range."""
    def form(line: dict) -> tuple[str, str | None]:
        if line.get("date_through"):
            return "RD8", f"{_date(line.get('date'))}-{_date(line['date_through'])}"
        return "D8", _date(line["date"]) if line.get("date") else None

    (old_format, old_value), (new_format, new_value) = form(old), form(new)
    edits = []
    if new_value is None:
        return [Edit("remove", "DTP*472", None, lx, pointer, at)]
    if old_format != new_format:
        edits.append(Edit("set", "DTP*472-02", new_format, lx, pointer, at))
    if old_value != new_value:
        edits.append(Edit("set" if old_value else "add", "DTP*472-03", new_value, lx, pointer, at))
    return edits


def _modifier_edits(index: int, lx: int, old: list, new: list, sources: Mapping[str, SegmentRef]) -> list[Edit]:
    edits = []
    where = sources.get(f"/lines/{index}/modifiers") or sources.get(f"/lines/{index}")
    for k in range(max(len(old), len(new))):
        a = old[k] if k < len(old) else None
        b = new[k] if k < len(new) else None
        if a == b:
            continue
        target = f"SV1-01-{k + 3}"
        pointer = f"/lines/{index}/modifiers/{k}"
        at = sources.get(pointer) or where
        if k >= 4:
            # SV101 has four modifier components (SV101-3 to -6); the seventh is the
            # description, so a fifth modifier has no place.
            if b is not None:
                edits.append(Edit("note", pointer, f"SV1 holds four modifiers (SV1-01-3 to SV1-01-6) and LX {lx} "
                                                   f"has four: to add {b}, replace one of them", lx, pointer, at))
            continue
        if a is not None and b is not None:
            edits.append(Edit("set", target, str(b), lx, pointer, at))
        elif b is not None:
            edits.append(Edit("add", target, str(b), lx, pointer, at))
        else:
            edits.append(Edit("remove", target, None, lx, pointer, at))
    return edits


def _change(target: str, old: Any, new: Any, place: Place, lx: int | None, pointer: str,
            at: SegmentRef | None) -> Edit:
    if new is None:
        return Edit("remove", target, None, lx, pointer, at)
    return Edit("set" if old is not None else "add", target, place.form(new), lx, pointer, at)


def _sv1_text(line: dict) -> str:
    procedure = ":".join(["HC", str(line.get("code", "")), *(str(m) for m in line.get("modifiers") or [])])
    quantity = line.get("units", line.get("minutes", ""))
    basis = "UN" if "units" in line else "MJ"
    pointers = ":".join(str(p) for p in line.get("diagnosis_pointers") or [])
    text = f"SV1*{procedure}*{line.get('charge', '')}*{basis}*{quantity}*{line.get('place_of_service', '')}**{pointers}"
    if line.get("date"):
        text += f", DTP*472*D8*{_date(line['date'])}"
    return text


_NOT_CARRIED = ("it is not sent to the payer; keep it in the visit's documentation (the --documentation file "
                "for a check)")
_CARRIED = [re.compile("^" + re.escape(p.pointer).replace(r"\*", r"(\d+|-)") + "$") for p in PLACES]
_CONTAINERS = re.compile(r"^(/lines(/(\d+|-))?(/modifiers|/diagnosis_pointers(/(\d+|-))?)?|/diagnoses|/episode"
                         r"(/prior_authorization)?|/patient|/provider)$")


def _notes(ops: list[dict]) -> list[Edit]:
    """A note for each operation on a value no 837P element carries."""
    notes = []
    for op in ops:
        path = op.get("path", "")
        if op.get("op") == "test" or _CONTAINERS.match(path) or (path != "/date_of_service" and any(
                r.match(path) for r in _CARRIED)):
            continue
        if path == "/date_of_service":
            notes.append(Edit("note", path, "the 837P has no claim date of service; change the lines' dates "
                              "(DTP*472-03 in each loop 2400)", None, path))
        elif not re.match(r"^/lines/(\d+|-)/minutes$", path):  # minutes: told per line above
            notes.append(Edit("note", path, _NOT_CARRIED, None, path))
    return notes


__all__ = ["Edit", "PLACES", "Place", "PatchError", "apply_fix", "translate_fix"]
