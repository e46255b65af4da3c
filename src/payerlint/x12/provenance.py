"""Where each value of a claim read from X12 came from, and the record a reader yields.

A value is located the way an EDI analyst would look for it: the segment's number in
its transaction set (ST is 1, as SE01 counts), the transaction's control number, the
element and component as a TR3 reference designator (`SV101-3`), and for service
lines the LX number: "segment 27 (SV1) of ST 0001, element SV101-3, LX 2".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from payerlint.diagnostics import Diagnostic
from payerlint.source import Span
from payerlint.x12.tokens import Segment


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """The place of one value in an X12 file."""

    segment: str
    """Segment id: `SV1`."""
    number: int
    """Position in the transaction set, ST being 1."""
    transaction: str
    """ST02, the transaction set control number."""
    element: str | None = None
    """Reference designator: `SV101-3` (element 01, component 3), `CLM01`."""
    lx: int | None = None
    """The service line number (LX01) for values of a service line."""
    line: int = 0
    """1-based line in the file, for editors."""
    loop: str = ""
    """The TR3 loop: `2400`."""

    def __str__(self) -> str:
        text = f"segment {self.number} ({self.segment}) of ST {self.transaction}"
        if self.element:
            text += f", element {self.element}"
        if self.lx is not None:
            text += f", LX {self.lx}"
        return text

    def to_json(self) -> dict:
        out: dict = {"segment": self.segment, "number": self.number, "transaction": self.transaction}
        if self.element:
            out["element"] = self.element
        if self.lx is not None:
            out["lx"] = self.lx
        if self.loop:
            out["loop"] = self.loop
        out["line"] = self.line
        return out


def ref(segment: Segment, transaction: str, loop: str, element: str | None = None, lx: int | None = None) -> SegmentRef:
    return SegmentRef(segment.id, segment.number, transaction, element, lx, segment.line, loop)


_EMPTY: Mapping[str, SegmentRef] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class X12Record:
    """One claim read from an 837P, or one part of the file that could not be read.

    `data` is the claim in the claim schema's shape, as read, even when `errors` say it
    will not pass (an ICD-9 diagnosis, a component separator the envelope did not
    declare): `convert` shows it so a user sees what was read. A record of a
    transaction or envelope that could not be read has `data` None.
    """

    origin: str
    """`file.837:CLM 2` (the second claim of the file), `file.837:ST 0001`, `file.837:ISA 000000907`."""
    data: dict | None
    errors: tuple[Diagnostic, ...]
    """Everything found wrong, errors and warnings (`Diagnostic.severity`); never quotes
    patient values."""
    sources: Mapping[str, SegmentRef] = field(default_factory=lambda: _EMPTY)
    """JSON pointer into `data` -> where the value came from."""

    @property
    def ok(self) -> bool:
        """True when nothing is an error (warnings allowed)."""
        return all(d.severity != "error" for d in self.errors)


def diagnostic(code: str, message: str, label: str, line: int, column: int, severity: str = "error",
               pointer: str | None = None, notes: tuple[str, ...] = ()) -> Diagnostic:
    """A diagnostic about an X12 file: it names the position, never quotes the line
    (`quote=False`: X12 lines hold patient names and ids)."""
    span = Span(label, line, column, line, column + 1) if line else None
    return Diagnostic(code, message, span=span, pointer=pointer, notes=notes, severity=severity, quote=False)


def problem_diagnostic(problem, label: str) -> Diagnostic:
    """The diagnostic for a structure problem (x12/structure.py's Problem) found in `label`,
    at its segment when it has one."""
    seg = problem.segment
    return diagnostic(problem.code, problem.message, label, seg.line if seg else 0, seg.column if seg else 0,
                      problem.severity)
