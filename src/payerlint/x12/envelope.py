"""Interchange (ISA/IEA), functional group (GS/GE) and transaction set (ST/SE) envelopes.

`envelopes(tokens)` turns the segment stream into events a reader acts on, checking
every count and control number on the way:

- `TransactionStart` (ST, with the group's version) and `TransactionEnd` (SE, with the
  problems of that transaction's own envelope: SE01 count, SE02 control number, a
  missing SE);
- each segment between ST and SE, as itself;
- `EnvelopeProblem` for what concerns a group or an interchange (GE01/GE02, IEA01/IEA02,
  a missing GE or IEA, a segment outside any transaction, text that is not X12).

Nothing is held back: a transaction's segments go out as they are read, and its
envelope is judged at its SE. A broken envelope therefore never hides the claims
inside it; it adds an error of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Union

from payerlint.x12.tokens import Segment, Token, TokenProblem, safe_id


@dataclass(frozen=True, slots=True)
class EnvelopeProblem:
    code: str
    message: str
    line: int
    column: int
    scope: str
    """"interchange", "group" or "transaction"."""
    control: str
    """The control number of the envelope it concerns (ISA13, GS06 or ST02), or ''."""
    fatal: bool = False
    """True when nothing after it could be read."""


@dataclass(frozen=True, slots=True)
class TransactionStart:
    st: Segment
    set_id: str
    """ST01: 837, 835."""
    control: str
    """ST02."""
    version: str
    """ST03 when present, else the group's GS08."""
    functional_id: str
    """GS01 (HC for claims, HP for remittances), '' outside a group."""
    problems: tuple[EnvelopeProblem, ...]
    """Problems of this ST itself (ST03 disagreeing with GS08, no enclosing group)."""


@dataclass(frozen=True, slots=True)
class TransactionEnd:
    control: str
    se: Segment | None
    """None when the transaction ended without its SE."""
    segments: int
    """Segments counted from ST to SE inclusive."""
    problems: tuple[EnvelopeProblem, ...]


Event = Union[TransactionStart, TransactionEnd, EnvelopeProblem, Segment]


class _Open:
    __slots__ = ("segment", "control", "children", "version", "functional_id")

    def __init__(self, segment: Segment, control: str, version: str = "", functional_id: str = ""):
        self.segment = segment
        self.control = control
        self.children = 0
        self.version = version
        self.functional_id = functional_id


def envelopes(tokens: Iterable[Token]) -> Iterator[Event]:
    """The events of a token stream; see the module docstring."""
    isa: _Open | None = None
    gs: _Open | None = None
    st: _Open | None = None
    count = 0
    last: Segment | None = None

    def problem(code: str, message: str, segment: Segment | None, scope: str, control: str) -> EnvelopeProblem:
        where = segment or last
        return EnvelopeProblem(code, message, where.line if where else 1, where.column if where else 1, scope, control)

    def end_transaction(se: Segment | None, reason: str) -> TransactionEnd:
        nonlocal st
        assert st is not None
        problems = []
        if se is None:
            problems.append(problem("x12_envelope", f"transaction set ST {st.control} (started at line "
                                    f"{st.segment.line}) has no SE: {reason}", last, "transaction", st.control))
        end = TransactionEnd(st.control, se, count, tuple(problems))
        st = None
        return end

    def end_group(ge: Segment | None, reason: str) -> Iterator[Event]:
        nonlocal gs
        assert gs is not None
        if st is not None:
            yield end_transaction(None, reason)
        if ge is None:
            yield problem("x12_envelope", f"functional group GS {gs.control} (started at line {gs.segment.line}) "
                          f"has no GE: {reason}", last, "group", gs.control)
        gs = None

    def end_interchange(iea: Segment | None, reason: str) -> Iterator[Event]:
        nonlocal isa
        assert isa is not None
        if gs is not None:
            yield from end_group(None, reason)
        if iea is None:
            yield problem("x12_envelope", f"interchange ISA {isa.control} (started at line {isa.segment.line}) "
                          f"has no IEA: {reason}", last, "interchange", isa.control)
        isa = None

    for token in tokens:
        if isinstance(token, TokenProblem):
            scope, control = ("transaction", st.control) if st else ("interchange", isa.control if isa else "")
            yield EnvelopeProblem(token.code, token.message, token.line, token.column, scope, control, token.fatal)
            continue
        segment = token
        last = segment
        seg_id = segment.id
        if st is not None and seg_id not in ("SE", "ST", "GE", "GS", "IEA", "ISA"):
            count += 1
            yield segment
            continue
        if seg_id == "ISA":
            if isa is not None:
                yield from end_interchange(None, "another ISA starts at line " f"{segment.line}")
            isa = _Open(segment, segment.element(13), segment.element(12))
            yield from _check_isa(segment, problem)
        elif seg_id == "IEA":
            if isa is None:
                yield problem("x12_envelope", f"segment {segment.ordinal} (IEA) at line {segment.line} closes no "
                              "interchange (no ISA before it)", segment, "interchange", "")
                continue
            if gs is not None:
                yield from end_group(None, f"IEA at line {segment.line} closes the interchange first")
            control = isa.control
            if segment.element(2) != control:
                yield problem("x12_envelope", f"IEA at line {segment.line}, element IEA02: control number "
                              f"'{segment.element(2)}' does not match ISA13 '{control}'", segment, "interchange", control)
            if segment.element(1) != str(isa.children):
                yield problem("x12_envelope", f"IEA at line {segment.line}, element IEA01: says "
                              f"'{segment.element(1)}' functional groups, the interchange has {isa.children}",
                              segment, "interchange", control)
            yield from end_interchange(segment, "")
        elif seg_id == "GS":
            if isa is None:
                yield problem("x12_envelope", f"GS at line {segment.line} is outside an interchange (no ISA before it)",
                              segment, "group", segment.element(6))
            else:
                isa.children += 1
            if gs is not None:
                yield from end_group(None, f"another GS starts at line {segment.line}")
            gs = _Open(segment, segment.element(6), segment.element(8), segment.element(1))
            for position, name in ((1, "GS01"), (6, "GS06"), (8, "GS08")):
                if not segment.element(position):
                    yield problem("x12_envelope", f"GS at line {segment.line}, element {name}: required, but empty",
                                  segment, "group", gs.control)
        elif seg_id == "GE":
            if gs is None:
                yield problem("x12_envelope", f"GE at line {segment.line} closes no functional group (no GS before it)",
                              segment, "group", segment.element(2))
                continue
            if st is not None:
                yield end_transaction(None, f"GE at line {segment.line} closes the group first")
            if segment.element(2) != gs.control:
                yield problem("x12_envelope", f"GE at line {segment.line}, element GE02: control number "
                              f"'{segment.element(2)}' does not match GS06 '{gs.control}'", segment, "group", gs.control)
            if segment.element(1) != str(gs.children):
                yield problem("x12_envelope", f"GE at line {segment.line}, element GE01: says '{segment.element(1)}' "
                              f"transaction sets, the group has {gs.children}", segment, "group", gs.control)
            yield from end_group(segment, "")
        elif seg_id == "ST":
            if st is not None:
                yield end_transaction(None, f"another ST starts at line {segment.line}")
            problems = []
            version = segment.element(3) or (gs.version if gs else "")
            if gs is None:
                problems.append(problem("x12_envelope", f"ST at line {segment.line} is outside a functional group "
                                        "(no GS before it)", segment, "transaction", segment.element(2)))
            else:
                gs.children += 1
                if segment.element(3) and gs.version and segment.element(3) != gs.version:
                    problems.append(problem(
                        "x12_envelope", f"segment 1 (ST) of ST {segment.element(2)}, element ST03: version "
                        f"'{segment.element(3)}' differs from the group's GS08 '{gs.version}'",
                        segment, "transaction", segment.element(2)))
            if not segment.element(2):
                problems.append(problem("x12_envelope", f"ST at line {segment.line}, element ST02: the control "
                                        "number is required, but empty", segment, "transaction", ""))
            st = _Open(segment, segment.element(2))
            count = 1
            yield TransactionStart(segment, segment.element(1), segment.element(2), version,
                                   gs.functional_id if gs else "", tuple(problems))
        elif seg_id == "SE":
            if st is None:
                yield problem("x12_envelope", f"SE at line {segment.line} closes no transaction set (no ST before it)",
                              segment, "group", gs.control if gs else "")
                continue
            count += 1
            problems = []
            if segment.element(2) != st.control:
                problems.append(problem("x12_envelope", f"segment {segment.number} (SE) of ST {st.control}, element "
                                        f"SE02: control number '{segment.element(2)}' does not match ST02 "
                                        f"'{st.control}'", segment, "transaction", st.control))
            if segment.element(1) != str(count):
                problems.append(problem("x12_envelope", f"segment {segment.number} (SE) of ST {st.control}, element "
                                        f"SE01: says '{segment.element(1)}' segments, the transaction set has {count} "
                                        "(ST to SE)", segment, "transaction", st.control))
            end = TransactionEnd(st.control, segment, count, tuple(problems))
            st = None
            yield end
        elif seg_id == "TA1" and isa is not None and gs is None:
            continue  # an interchange acknowledgment request may sit between ISA and GS
        else:
            yield problem("x12_envelope", f"segment {segment.ordinal} ({safe_id(segment.id)}) at line {segment.line} is "
                          "outside any transaction set (expected ST, GE, GS or IEA here)", segment,
                          "group" if gs else "interchange", gs.control if gs else (isa.control if isa else ""))
    if isa is not None:
        yield from end_interchange(None, "the file ends first")
    elif gs is not None:
        yield from end_group(None, "the file ends first")
    elif st is not None:
        yield end_transaction(None, "the file ends first")


def _check_isa(segment: Segment, problem) -> Iterator[EnvelopeProblem]:
    control = segment.element(13)
    if len(segment.elements) != 16:
        yield problem("x12_envelope", f"ISA at line {segment.line}: has {len(segment.elements)} elements, "
                      "expected 16", segment, "interchange", control)
    if not (len(control) == 9 and control.isdigit()):
        yield problem("x12_envelope", f"ISA at line {segment.line}, element ISA13: the interchange control number "
                      "must be 9 digits", segment, "interchange", control)
