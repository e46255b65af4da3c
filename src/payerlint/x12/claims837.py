"""837P (005010X222A1) professional claims to payerlint claims, with provenance.

`read_837p(source, label)` yields one `X12Record` per claim (loop 2300), in file order,
plus one error record per transaction set, group or interchange that could not be
read or whose envelope is broken. It never raises: a file that is not X12 at all is one
error record. What is read from where is tabled in docs/x12.md.

The reader streams: a claim is yielded when its loop closes, holding in memory only the
claim being built and its provider, subscriber and patient levels.

Problems are told apart by where they lie (`Problem.path`): in a claim's loops, the
claim's record carries them; in a billing provider, subscriber or patient level, every
claim under it carries them; in the transaction header, the transaction gets an error
record of its own while its claims are still read.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Iterator, Union

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.payers.registry import Registry
from payerlint.x12.assemble837 import assemble
from payerlint.x12.envelope import EnvelopeProblem, TransactionEnd, TransactionStart, envelopes
from payerlint.x12.provenance import SegmentRef, X12Record, diagnostic, problem_diagnostic, ref
from payerlint.x12.structure import Placed, Problem, Walker, load_map
from payerlint.x12.tokens import Segment, tokenize

MAP_837P = "837p-005010X222A1.map"
VERSION = "005010X222A1"
# 005010X222A2 appears in public sample files; HIPAA adopted 005010X222A1 (45 CFR
# 162.1102), and payerlint reads A2 files with the A1 rules, saying so.
OTHER_VERSIONS = {"005010X222A2": "is read with the rules of 005010X222A1, the version HIPAA adopted"}
RETIRED = {"004010X098A1": "the 4010 837P, retired in favour of 005010X222A1"}

ICD10 = {"ABK": "principal", "ABF": "other"}
ICD9 = {"BK": "principal", "BF": "other"}
_UNSET = object()

Source = Union[str, Path, bytes, IO[bytes]]


def read_837p(source: Source, label: str | None = None, registry: Registry | None | object = _UNSET) -> Iterator[X12Record]:
    """Yield an `X12Record` per claim of an 837P file, and one per unreadable part.

    `source` is a path, the file's bytes, or a binary stream; `label` names it in
    origins and messages (default: the path, or `<bytes>`). `registry` maps payer ids
    to payer files (default: the bundled registry or `$PAYERLINT_HOME`'s).
    """
    if label is None:
        label = str(source) if isinstance(source, (str, Path)) else "<bytes>"
    if isinstance(source, Path):
        source = str(source)
    warnings: list[Diagnostic] = []
    if registry is _UNSET:
        try:
            registry = Registry.load(None)
        except DiagnosticError:
            registry = None
            warnings.append(diagnostic("x12_payer_registry", "the payer registry could not be read: payers are "
                                       "kept as their 837P payer ids", label, 0, 0, "warning"))
    reader = _Reader(label, registry)  # type: ignore[arg-type]
    if warnings:
        yield X12Record(f"{label}", None, tuple(warnings))
    try:
        yield from reader.run(source)
    except OSError as exc:
        yield X12Record(label, None, (diagnostic("file_unreadable", f"cannot read {label}: "
                                                 f"{(exc.strerror or type(exc).__name__).lower()}", label, 0, 0),))
    except Exception as exc:  # a bug must not take the batch down: say where reading stopped
        yield X12Record(label, None, (diagnostic(
            "x12_internal", f"{label}: reading stopped after claim {reader.claims} on an internal error "
            f"({type(exc).__name__}); please report it", label, 0, 0),))


# --- building blocks ---------------------------------------------------------------


class _Level:
    """Values of a billing provider, subscriber or patient level, each with its source."""

    __slots__ = ("values", "problems", "used")

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, SegmentRef]] = {}
        self.problems: list[Diagnostic] = []
        self.used = False
        """A claim was read under this level, and took its problems with it."""

    def get(self, name: str) -> tuple[str, SegmentRef] | None:
        return self.values.get(name)


class _Line:
    __slots__ = ("lx", "lx_ref", "values", "date", "problems")

    def __init__(self, lx: int | None, lx_ref: SegmentRef):
        self.lx = lx
        self.lx_ref = lx_ref
        self.values: dict[str, tuple[object, SegmentRef]] = {}
        self.date: tuple[str, str | None, SegmentRef] | None = None


class _Claim:
    __slots__ = ("number", "clm", "billing", "subscriber", "patient", "values", "diagnoses", "lines", "problems")

    def __init__(self, number: int, clm: Segment, billing: _Level, subscriber: _Level, patient: _Level | None):
        self.number = number
        self.clm = clm
        self.billing = billing
        self.subscriber = subscriber
        self.patient = patient
        self.values: dict[str, tuple[object, SegmentRef]] = {}
        self.diagnoses: list[tuple[str, SegmentRef]] = []
        self.lines: list[_Line] = []
        self.problems: list[Diagnostic] = []


# --- the reader ----------------------------------------------------------------------


class _Reader:
    def __init__(self, label: str, registry: Registry | None):
        self.label = label
        self.registry = registry
        self.map = load_map(MAP_837P)
        self.claims = 0
        # Per transaction:
        self.walker: Walker | None = None
        self.control = ""
        self.skip: str | None = None          # why this transaction is not read
        self.skipped_claims = 0
        self.header: list[Diagnostic] = []
        self.billing = _Level()
        self.subscriber = _Level()
        self.patient: _Level | None = None
        self.claim: _Claim | None = None
        self.start: TransactionStart | None = None
        self.delivered = False                # a claim of this transaction was yielded

    def run(self, source) -> Iterator[X12Record]:
        envelope_errors: dict[tuple[str, str], list[Diagnostic]] = {}
        for event in envelopes(tokenize(source)):
            if isinstance(event, Segment):
                if self.skip is not None:
                    self.skipped_claims += event.id == "CLM"
                    continue
                if self.walker is not None:
                    yield from self._place(self.walker.place(event))
            elif isinstance(event, TransactionStart):
                self._start(event)
            elif isinstance(event, TransactionEnd):
                yield from self._end(event)
            else:
                yield from self._envelope_problem(event, envelope_errors)
        for (scope, control), problems in envelope_errors.items():
            yield X12Record(f"{self.label}:{'ISA' if scope == 'interchange' else 'GS'} {control}", None, tuple(problems))

    # -- envelopes --

    def _envelope_problem(self, event: EnvelopeProblem, pending: dict) -> Iterator[X12Record]:
        d = diagnostic(event.code, event.message, self.label, event.line, event.column)
        if event.scope == "transaction" and self.start is not None:
            self.header.append(d)
        elif event.fatal or not event.control:
            yield X12Record(self.label if not event.control else f"{self.label}:ISA {event.control}", None, (d,))
        else:
            pending.setdefault((event.scope, event.control), []).append(d)

    def _start(self, event: TransactionStart) -> None:
        self.start = event
        self.control = event.control
        self.header = [self._envelope(p) for p in event.problems]
        self.skip = None
        self.skipped_claims = 0
        self.billing, self.subscriber, self.patient, self.claim = _Level(), _Level(), None, None
        st = event.st
        where = f"segment 1 (ST) of ST {event.control}"
        if event.set_id != "837":
            self.skip = f"{where}, element ST01: transaction set {event.set_id or '(empty)'} is not a claim (837)"
        elif event.version in RETIRED:
            self.skip = (f"{where}: version {event.version} is {RETIRED[event.version]}; payerlint reads "
                         f"{VERSION} (convert 4010 files to 5010 first)")
        elif event.version.startswith("005010X223"):
            self.skip = (f"{where}: version {event.version} is an institutional claim (837I); payerlint reads "
                         f"professional claims, {VERSION}")
        elif event.version != VERSION and event.version not in OTHER_VERSIONS:
            self.skip = f"{where}: version '{event.version}' is not {VERSION}, the 837P payerlint reads"
        if self.skip is not None:
            self.header.append(diagnostic("x12_version", self.skip, self.label, st.line, st.column))
            self.walker = None
            return
        if event.version in OTHER_VERSIONS:
            self.header.append(diagnostic("x12_version", f"{where}: version {event.version} "
                                          f"{OTHER_VERSIONS[event.version]}", self.label, st.line, st.column, "warning"))
        self.walker = Walker(self.map, event.control)

    def _end(self, event: TransactionEnd) -> Iterator[X12Record]:
        if self.walker is not None:
            _, problems = self.walker.finish()
            for problem in problems:
                self._route(problem)
            if self.claim is not None:
                yield self._finish_claim()
            self._unclaimed(self.billing, self.subscriber, self.patient)
        self.header.extend(self._envelope(p) for p in event.problems)
        if self.delivered:
            # The version warning went out with every claim; repeat it only beside errors.
            self.header = [d for d in self.header if d.code != "x12_version"]
        if self.skip is not None and self.skipped_claims:
            self.header.append(diagnostic("x12_not_read", f"ST {self.control} holds {self.skipped_claims} "
                                          "claim(s) (CLM) that were not read", self.label,
                                          self.start.st.line if self.start else 0, 1))
        if self.header:
            yield X12Record(f"{self.label}:ST {self.control}", None, tuple(self.header))
        self.walker, self.start, self.header, self.delivered = None, None, [], False

    def _envelope(self, problem: EnvelopeProblem) -> Diagnostic:
        return diagnostic(problem.code, problem.message, self.label, problem.line, problem.column)

    # -- placing segments --

    def _place(self, placed: Placed) -> Iterator[X12Record]:
        for problem in placed.closing:
            self._route(problem)
        if "2300" in placed.closed and self.claim is not None:
            yield self._finish_claim()
        segment, loop = placed.segment, placed.loop
        if placed.opened:
            if loop == "2000A":
                self._unclaimed(self.billing, self.subscriber, self.patient)
                self.billing, self.subscriber, self.patient = _Level(), _Level(), None
            elif loop == "2000B":
                self._unclaimed(self.subscriber, self.patient)
                self.subscriber, self.patient = _Level(), None
            elif loop == "2000C":
                self._unclaimed(self.patient)
                self.patient = _Level()
            elif loop == "2300":
                self.claims += 1
                self.claim = _Claim(self.claims, segment, self.billing, self.subscriber, self.patient)
                for level in (self.billing, self.subscriber, self.patient):
                    if level is not None:
                        level.used = True
        for problem in placed.problems:
            self._route(problem)
        handler = _HANDLERS.get((loop, segment.id)) or _HANDLERS.get(("*", segment.id))
        if handler is not None:
            handler(self, segment, loop)

    def _unclaimed(self, *levels: _Level | None) -> None:
        """A level's problems travel with the claims read under it; a level that is left
        with none (its CLM missing or broken) hands them to the transaction's own record,
        so the segments that could not be placed are still reported."""
        for level in levels:
            if level is not None and not level.used and level.problems:
                self.header.extend(level.problems)
                level.problems = []

    def _route(self, problem: Problem) -> None:
        d = problem_diagnostic(problem, self.label)
        path = problem.path
        if "2300" in path and self.claim is not None:
            self.claim.problems.append(d)
        elif "2000C" in path and self.patient is not None:
            self.patient.problems.append(d)
        elif "2000B" in path:
            self.subscriber.problems.append(d)
        elif "2000A" in path:
            self.billing.problems.append(d)
        else:
            self.header.append(d)

    def ref(self, segment: Segment, loop: str, element: str | None = None, lx: int | None = None) -> SegmentRef:
        return ref(segment, self.control, loop, element, lx)

    def problem(self, segment: Segment, element: str, message: str, code: str = "x12_value",
                severity: str = "error", pointer: str | None = None) -> Diagnostic:
        return diagnostic(code, f"segment {segment.number} ({segment.id}) of ST {self.control}, element {element}: "
                          f"{message}", self.label, segment.line, segment.column, severity, pointer)

    # -- segment handlers (see _HANDLERS) --

    def on_billing_prv(self, seg: Segment, loop: str) -> None:
        if seg.element(3):
            self.billing.values["taxonomy"] = (seg.element(3), self.ref(seg, loop, "PRV03"))

    def on_nm1(self, seg: Segment, loop: str) -> None:
        ident = seg.element(9)
        if loop == "2010AA" and seg.element(8) == "XX" and ident:
            self.billing.values["npi"] = (ident, self.ref(seg, loop, "NM109"))
        elif loop == "2010BA" and ident:
            self.subscriber.values["member_id"] = (ident, self.ref(seg, loop, "NM109"))
            self.subscriber.values["patient"] = ("", self.ref(seg, loop))
        elif loop == "2010BB" and ident:
            self.subscriber.values["payer_id"] = (ident, self.ref(seg, loop, "NM109"))
        elif loop == "2010CA" and self.patient is not None:
            self.patient.values["patient"] = ("", self.ref(seg, loop))
        elif loop == "2310B" and self.claim is not None:
            self.claim.values["rendering"] = ("", self.ref(seg, loop))
            if seg.element(8) == "XX" and ident:
                self.claim.values["npi"] = (ident, self.ref(seg, loop, "NM109"))

    def on_sbr(self, seg: Segment, loop: str) -> None:
        if loop == "2000B" and seg.element(9):
            self.subscriber.values["filing"] = (seg.element(9), self.ref(seg, loop, "SBR09"))

    def on_n4(self, seg: Segment, loop: str) -> None:
        level = {"2010BA": self.subscriber, "2010CA": self.patient}.get(loop)
        if level is not None and seg.element(2):
            level.values["state"] = (seg.element(2), self.ref(seg, loop, "N402"))

    def on_dmg(self, seg: Segment, loop: str) -> None:
        level = {"2010BA": self.subscriber, "2010CA": self.patient}.get(loop)
        if level is None or not seg.element(2):
            return
        date = _date(seg.element(2))
        if seg.element(1) != "D8" or date is None:
            level.problems.append(self.problem(seg, "DMG02", "the birth date is not a date in the D8 format "
                                               "CCYYMMDD", pointer="/patient/birth_date"))
            return
        level.values["birth_date"] = (date, self.ref(seg, loop, "DMG02"))

    def on_clm(self, seg: Segment, loop: str) -> None:
        claim = self.claim
        if claim is None:
            return
        if seg.element(1):
            claim.values["claim_id"] = (seg.element(1), self.ref(seg, loop, "CLM01"))
        total = _money(seg.element(2))
        if total is not None:
            claim.values["total"] = (total, self.ref(seg, loop, "CLM02"))
        pos = seg.component(5, 1)
        if pos:
            if not (len(pos) == 2 and pos.isdigit()):
                claim.problems.append(self.problem(seg, "CLM05-1", "the place of service must be a two-digit "
                                                   "code", pointer="/place_of_service"))
            claim.values["place_of_service"] = (pos, self.ref(seg, loop, "CLM05-1"))

    def on_hi(self, seg: Segment, loop: str) -> None:
        claim = self.claim
        if claim is None:
            return
        extra = [i for i in range(13, len(seg.elements) + 1) if seg.element(i)]
        if extra:
            # HI has twelve diagnosis composites; one past them is no diagnosis of the claim.
            claim.problems.append(self.problem(
                seg, f"HI{extra[0]:02d}", f"HI holds at most 12 diagnoses (HI01 to HI12); {len(extra)} more "
                f"{'was' if len(extra) == 1 else 'were'} not read", "x12_value", severity="warning"))
        for position in range(1, 13):
            qualifier, code = seg.component(position, 1), seg.component(position, 2)
            if not qualifier:
                continue
            element = f"HI{position:02d}"
            if qualifier not in ICD10 and qualifier not in ICD9:
                return  # anesthesia (BP) and condition (BG) codes: not diagnoses
            index = len(claim.diagnoses)
            pointer = f"/diagnoses/{index}"
            if qualifier in ICD9:
                claim.problems.append(self.problem(
                    seg, f"{element}-1", f"qualifier {qualifier} marks an ICD-9-CM diagnosis; payerlint reads "
                    "ICD-10-CM diagnoses (ABK principal, ABF other)", "x12_icd9", pointer=pointer))
                claim.diagnoses.append((code, self.ref(seg, loop, f"{element}-2")))
            else:
                claim.diagnoses.append((_icd10(code), self.ref(seg, loop, f"{element}-2")))

    def on_claim_ref(self, seg: Segment, loop: str) -> None:
        if self.claim is not None and seg.element(1) == "G1" and seg.element(2):
            self.claim.values["prior_authorization"] = (seg.element(2), self.ref(seg, loop, "REF02"))

    def on_rendering_prv(self, seg: Segment, loop: str) -> None:
        if self.claim is not None and seg.element(3):
            self.claim.values["taxonomy"] = (seg.element(3), self.ref(seg, loop, "PRV03"))

    def on_lx(self, seg: Segment, loop: str) -> None:
        if self.claim is None:
            return
        number = int(seg.element(1)) if seg.element(1).isdigit() else None
        line = _Line(number, self.ref(seg, loop, "LX01", number))
        if number != len(self.claim.lines) + 1:
            self.claim.problems.append(self.problem(seg, "LX01", f"service lines are numbered from 1 in order; "
                                                    f"expected {len(self.claim.lines) + 1}", "x12_lx_number",
                                                    pointer=f"/lines/{len(self.claim.lines)}"))
        self.claim.lines.append(line)

    def on_sv1(self, seg: Segment, loop: str) -> None:
        line = self._line()
        if line is None:
            return
        index = len(self.claim.lines) - 1
        at = f"/lines/{index}"
        r = lambda element: self.ref(seg, loop, element, line.lx)  # noqa: E731
        line.values["sv1"] = ("", r("SV101"))
        parts = seg.components(1)
        if parts and parts[0] != "HC":
            self.claim.problems.append(self.problem(seg, "SV101-1", f"qualifier {parts[0]} is not HC: payerlint "
                                                    "reads HCPCS/CPT procedure codes", pointer=f"{at}/code"))
        if len(parts) > 1 and parts[1]:
            line.values["code"] = (parts[1], r("SV101-2"))
        modifiers = [(m, r(f"SV101-{k}")) for k, m in enumerate(parts[2:6], start=3) if m]
        line.values["modifiers"] = (modifiers, r("SV101"))
        charge = _money(seg.element(2))
        if seg.element(2) and charge is None:
            self.claim.problems.append(self.problem(seg, "SV102", "the charge is not an amount with at most two "
                                                    "decimal places", pointer=f"{at}/charge"))
        elif charge is not None:
            line.values["charge"] = (charge, r("SV102"))
        basis, quantity = seg.element(3), _whole(seg.element(4))
        field = {"UN": "units", "MJ": "minutes"}.get(basis)
        if field is None:
            self.claim.problems.append(self.problem(seg, "SV103", f"unit basis {basis or '(empty)'}: expected UN "
                                                    "(units) or MJ (minutes)", pointer=f"{at}/units"))
        elif seg.element(4) and quantity is None:
            self.claim.problems.append(self.problem(seg, "SV104", "the quantity must be a whole number (payerlint's "
                                                    "claim model counts whole units)", pointer=f"{at}/{field}"))
        elif quantity is not None:
            line.values[field] = (quantity, r("SV104"))
        if seg.element(5):
            line.values["place_of_service"] = (seg.element(5), r("SV105"))
        pointers = []
        for k, value in enumerate(seg.components(7)[:4], start=1):
            if not value:
                continue
            if not value.isdigit():
                self.claim.problems.append(self.problem(seg, f"SV107-{k}", "a diagnosis pointer must be a number "
                                                        "from 1 to 12", pointer=f"{at}/diagnosis_pointers"))
                continue
            pointers.append((int(value), r(f"SV107-{k}")))
        line.values["diagnosis_pointers"] = (pointers, r("SV107"))

    def on_line_dtp(self, seg: Segment, loop: str) -> None:
        line = self._line()
        if line is None or seg.element(1) != "472":
            return
        at = f"/lines/{len(self.claim.lines) - 1}/date"
        fmt, value = seg.element(2), seg.element(3)
        start = end = None
        if fmt == "D8":
            start = _date(value)
        elif fmt == "RD8":
            first, _, last = value.partition("-")
            start, end = _date(first), _date(last)
            if end is None:
                start = None
        if start is None:
            self.claim.problems.append(self.problem(seg, "DTP03", "the date of service must be CCYYMMDD (D8) or "
                                                    "CCYYMMDD-CCYYMMDD (RD8)", pointer=at))
            return
        if end is not None and end < start:
            self.claim.problems.append(self.problem(seg, "DTP03", "the date range ends before it starts",
                                                    pointer=at))
        line.date = (start, end if end != start else None, self.ref(seg, loop, "DTP03", line.lx))

    def on_line_ref(self, seg: Segment, loop: str) -> None:
        line = self._line()
        if line is not None and seg.element(1) == "6R" and seg.element(2):
            line.values["control_number"] = (seg.element(2), self.ref(seg, loop, "REF02", line.lx))

    def _line(self) -> _Line | None:
        return self.claim.lines[-1] if self.claim is not None and self.claim.lines else None

    # -- assembling a claim --

    def _finish_claim(self) -> X12Record:
        claim = self.claim
        assert claim is not None
        self.claim = None
        data, sources, problems = assemble(self, claim)
        self.delivered = True
        errors = (*self.header_for_claims(), *claim.billing.problems, *claim.subscriber.problems,
                  *(claim.patient.problems if claim.patient else ()), *claim.problems, *problems)
        return X12Record(f"{self.label}:CLM {claim.number}", data, tuple(errors), sources)

    def header_for_claims(self) -> tuple[Diagnostic, ...]:
        # An accepted-but-not-HIPAA version is worth saying on every claim it affects.
        return tuple(d for d in self.header if d.code == "x12_version")


_HANDLERS = {
    ("2000A", "PRV"): _Reader.on_billing_prv,
    ("*", "NM1"): _Reader.on_nm1,
    ("2000B", "SBR"): _Reader.on_sbr,
    ("*", "N4"): _Reader.on_n4,
    ("*", "DMG"): _Reader.on_dmg,
    ("2300", "CLM"): _Reader.on_clm,
    ("2300", "HI"): _Reader.on_hi,
    ("2300", "REF"): _Reader.on_claim_ref,
    ("2310B", "PRV"): _Reader.on_rendering_prv,
    ("2400", "LX"): _Reader.on_lx,
    ("2400", "SV1"): _Reader.on_sv1,
    ("2400", "DTP"): _Reader.on_line_dtp,
    ("2400", "REF"): _Reader.on_line_ref,
}


# --- values ------------------------------------------------------------------------


def _date(text: str) -> str | None:
    """CCYYMMDD to an ISO date, or None."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return None


def _money(text: str) -> str | None:
    """An X12 amount ("43", "8.2", "700.00") as the claim's two-decimal string, or None."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return f"{amount:.2f}"


def _whole(text: str) -> int | None:
    """An X12 quantity ("1", "1.00") as an integer, or None when not whole."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
        return None
    return int(amount)


def _icd10(code: str) -> str:
    """X12 carries ICD-10-CM codes without their dot: M5450 -> M54.50."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code
