"""Where each value of a claim came from, in the terms of the format it was read from.

A reader that converts another format into a payerlint claim (FHIR, X12) records, for
every JSON pointer it writes, the place in its own input the value came from
(`/lines/1/modifiers/0` <- `Claim.item[1].modifier[0]`), and for the pointers a rule may
miss, where such a value would go (`/documentation/total_timed_minutes` <-
`Claim.supportingInfo[category=total-timed-minutes]`). The check path then adds to a
result, under `source`, the location of every pointer the result names (a finding's
pointer, its fix paths, the data a rule could not run without), so a user fixes the
resource they sent and not a document they never saw.

The table holds positions and element names only, never values (claims hold patient data).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)
class Locations:
    """JSON pointer in the payerlint claim -> location in the source format."""

    format: str
    """The source format, named for people: `FHIR R4 Claim`."""
    by_pointer: Mapping[str, str]

    def locate(self, pointer: str) -> str | None:
        """The location of `pointer`, or of its nearest ancestor that has one (a fix that
        appends `/lines/0/modifiers/-` lands in `Claim.item[0].modifier`)."""
        while True:
            found = self.by_pointer.get(pointer)
            if found is not None:
                return found
            if not pointer:
                return None
            pointer = pointer[: pointer.rfind("/")] if "/" in pointer else ""

    def annotate(self, result: Any, data: Any = None) -> Any:
        """`result` with `source: {format, locations}` for every pointer it names. `data`
        is the claim as checked, for a format that tells fixes in its own terms (X12)."""
        pointers: set[str] = set()
        for finding in result.findings:
            if finding.line is not None:
                pointers.add(f"/lines/{finding.line}")
            if finding.pointer is not None:
                pointers.add(finding.pointer)
            pointers.update(_paths(finding.fix))
        pointers.update(_paths(result.fix))
        pointers.update(n.missing for n in result.not_evaluated)
        located = {}
        for pointer in sorted(pointers):
            where = self.locate(pointer)
            if where is not None:
                located[pointer] = where
        source = {"format": self.format, "locations": located}
        return replace(result, extra=tuple(result.extra) + (("source", source),))


def _paths(patch) -> list[str]:
    out = []
    for op in patch or ():
        if isinstance(op, dict):
            for key in ("path", "from"):
                if isinstance(op.get(key), str):
                    out.append(op[key])
    return out


def source_locations(result: Any) -> dict[str, str]:
    """The pointer -> location table a result carries (empty for a payerlint JSON claim)."""
    for key, value in getattr(result, "extra", ()):
        if key == "source" and isinstance(value, dict):
            return value.get("locations", {})
    return {}
