"""835 (005010X221A1) remittance advice: what the payer decided, claim by claim and line by line.

`read_835(source, label)` yields `RemitRecord`s as it reads, never raising:

- one per claim payment (loop 2100, CLP), with its service lines (loop 2110, SVC), as
  soon as the claim's loop closes, so memory stays flat however long the remittance;
- one closing record per transaction set (`claim` None) carrying the provider-level
  adjustments (PLB) and what was wrong with the transaction as a whole;
- one per envelope that could not be read.

Tolerant and exact: a defect that leaves the data readable (a missing PER, an empty
BPR16, a component separator the ISA did not declare, an element the TR3 marks not
used) is a warning naming the segment and its position; a broken envelope is an error;
an amount or date that cannot be read is left None with a warning, never guessed.
Money is `Decimal`. The patient's and the insured's names and ids (NM1*QC, NM1*IL,
NM1*74) are never read, so they cannot reach any output.

Reversals: CLP02 = 22 marks the reversal of an earlier payment (its amounts negative);
`ClaimPayment.reversal` says so, so a consumer nets it against the original payment
rather than counting a second decision.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Iterator, Union

from payerlint.diagnostics import Diagnostic
from payerlint.x12.envelope import TransactionEnd, TransactionStart, envelopes
from payerlint.x12.provenance import SegmentRef, diagnostic, problem_diagnostic, ref
from payerlint.x12.structure import Placed, Problem, Walker, load_map
from payerlint.x12.tokens import Segment, tokenize

MAP_835 = "835-005010X221A1.map"
VERSION = "005010X221A1"
REVERSAL = "22"
# SVC01-1 / SVC06-1 product or service id qualifiers (the codes of the TR3 and of pyx12's map).
SERVICE_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK"})


@dataclass(frozen=True, slots=True)
class Party:
    """The payer (loop 1000A) or the payee (1000B): organisations, never patients."""

    name: str
    """N102."""
    id_qualifier: str
    """N103 for the payee (XX NPI, FI tax id...); for the payer, '2U' when `id` is its REF*2U."""
    id: str
    """N104, or the payer's additional identifier (REF*2U)."""


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction set's header: the payment and who pays whom."""

    control_number: str
    """ST02."""
    version: str
    handling: str
    """BPR01: I remittance with payment, H notification only, ..."""
    paid_total: Decimal | None
    """BPR02, the total actual provider payment."""
    credit_debit: str
    """BPR03: C credit, D debit."""
    method: str
    """BPR04: ACH, CHK, NON, ..."""
    payment_date: datetime.date | None
    """BPR16."""
    trace_number: str
    """TRN02: the check or EFT trace number."""
    production_date: datetime.date | None
    """DTM*405."""
    payer: Party
    payee: Party


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One reason a payer paid other than billed (a CAS triplet)."""

    group: str
    """CAS01: CO contractual, PR patient responsibility, OA other, PI payer initiated."""
    reason: str
    """The claim adjustment reason code (CARC)."""
    amount: Decimal
    quantity: Decimal | None
    at: SegmentRef


@dataclass(frozen=True, slots=True)
class ServicePayment:
    """One adjudicated service line (loop 2110)."""

    qualifier: str
    """SVC01-1: HC for HCPCS/CPT."""
    procedure: str
    """SVC01-2, as adjudicated."""
    modifiers: tuple[str, ...]
    """SVC01-3 to -6."""
    charge: Decimal | None
    """SVC02."""
    paid: Decimal | None
    """SVC03."""
    units: Decimal | None
    """SVC05, units paid; None when absent (the TR3 then implies one)."""
    submitted_procedure: str | None
    """SVC06-2, the procedure as billed when the payer paid another (a bundled or changed code)."""
    submitted_modifiers: tuple[str, ...]
    date: datetime.date | None
    """DTM*472, or DTM*150 (the start of a period)."""
    date_end: datetime.date | None
    """DTM*151, the end of a period."""
    control_number: str | None
    """REF*6R: the line item control number sent in the 837P."""
    allowed: Decimal | None
    """AMT*B6."""
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]
    """Remittance advice remark codes (RARCs) of LQ*HE."""
    at: SegmentRef


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """One claim's adjudication (loop 2100)."""

    claim_id: str
    """CLP01: the claim id as submitted (the 837P's CLM01)."""
    status: str
    """CLP02: 1 processed as primary, 2 as secondary, 3 as tertiary, 4 denied, 19-23 as
    primary/secondary/tertiary forwarded, 22 reversal of a previous payment, ..."""
    charge: Decimal | None
    """CLP03."""
    paid: Decimal | None
    """CLP04."""
    patient_responsibility: Decimal | None
    """CLP05."""
    filing_indicator: str
    """CLP06."""
    payer_control_number: str
    """CLP07: the payer's own claim number."""
    facility_type: str
    """CLP08."""
    frequency: str
    """CLP09: 1 original, 7 replacement, 8 void."""
    reversal: bool
    """CLP02 is 22: this undoes an earlier payment of the same claim."""
    statement_start: datetime.date | None
    statement_end: datetime.date | None
    adjustments: tuple[Adjustment, ...]
    """Claim-level CAS."""
    remarks: tuple[str, ...]
    """RARCs of MOA (outpatient) and MIA (inpatient)."""
    services: tuple[ServicePayment, ...]
    header_number: str
    """LX01 of the loop 2000 the claim sits in."""
    at: SegmentRef


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """A PLB adjustment: money moved at the provider level, not on one claim."""

    provider_id: str
    fiscal_period_end: datetime.date | None
    reason: str
    """PLBxx-1: WO overpayment recovery, L6 interest, CV capital pass-through, ..."""
    reference: str
    amount: Decimal
    at: SegmentRef


@dataclass(frozen=True, slots=True)
class RemitRecord:
    origin: str
    """`file.835:CLP 3` (the third claim payment of the file), `file.835:ST 1234`."""
    remittance: Remittance | None
    claim: ClaimPayment | None
    """None on the record closing a transaction set (and on envelope records)."""
    diagnostics: tuple[Diagnostic, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()

    @property
    def ok(self) -> bool:
        return all(d.severity != "error" for d in self.diagnostics)


Source = Union[str, Path, bytes, IO[bytes]]


def read_835(source: Source, label: str | None = None) -> Iterator[RemitRecord]:
    """Yield the claim payments of an 835 file as `RemitRecord`s (see the module docstring)."""
    if label is None:
        label = str(source) if isinstance(source, (str, Path)) else "<bytes>"
    if isinstance(source, Path):
        source = str(source)
    reader = _Reader(label)
    try:
        yield from reader.run(source)
    except OSError as exc:
        yield RemitRecord(label, None, None, (diagnostic("file_unreadable", f"cannot read {label}: "
                                                         f"{(exc.strerror or type(exc).__name__).lower()}", label, 0, 0),))
    except Exception as exc:  # a bug must not take the batch down: say where reading stopped
        yield RemitRecord(label, None, None, (diagnostic(
            "x12_internal", f"{label}: reading stopped after claim payment {reader.count} on an internal error "
            f"({type(exc).__name__}); please report it", label, 0, 0),))


class _Claim:
    def __init__(self, clp: Segment, at: SegmentRef, header_number: str):
        self.clp = clp
        self.at = at
        self.header_number = header_number
        self.adjustments: list[Adjustment] = []
        self.remarks: list[str] = []
        self.dates: dict[str, datetime.date | None] = {}
        self.services: list[dict] = []
        self.problems: list[Diagnostic] = []


class _Reader:
    def __init__(self, label: str):
        self.label = label
        self.map = load_map(MAP_835, "warning")
        self.count = 0
        self._reset()

    def _reset(self) -> None:
        self.walker: Walker | None = None
        self.control = ""
        self.version = ""
        self.skip: str | None = None
        self.problems: list[Diagnostic] = []
        self.header: dict = {}
        self.payer: dict = {}
        self.payee: dict = {}
        self.remittance: Remittance | None = None
        self.claim: _Claim | None = None
        self.header_number = ""
        self.plb: list[ProviderAdjustment] = []

    def run(self, source) -> Iterator[RemitRecord]:
        pending: dict[tuple[str, str], list[Diagnostic]] = {}
        for event in envelopes(tokenize(source)):
            if isinstance(event, Segment):
                if self.walker is not None and self.skip is None:
                    yield from self._place(self.walker.place(event))
            elif isinstance(event, TransactionStart):
                self._start(event)
            elif isinstance(event, TransactionEnd):
                yield from self._end(event)
            else:
                d = diagnostic(event.code, event.message, self.label, event.line, event.column)
                if event.scope == "transaction" and self.walker is not None:
                    self.problems.append(d)
                elif event.fatal or not event.control:
                    yield RemitRecord(self.label, None, None, (d,))
                else:
                    pending.setdefault((event.scope, event.control), []).append(d)
        for (scope, control), problems in pending.items():
            name = "ISA" if scope == "interchange" else "GS"
            yield RemitRecord(f"{self.label}:{name} {control}", None, None, tuple(problems))

    def _start(self, event: TransactionStart) -> None:
        self._reset()
        self.control, self.version = event.control, event.version
        self.problems = [diagnostic(p.code, p.message, self.label, p.line, p.column) for p in event.problems]
        where = f"segment 1 (ST) of ST {event.control}"
        if event.set_id != "835":
            self.skip = f"{where}, element ST01: transaction set {event.set_id or '(empty)'} is not a remittance (835)"
        elif event.version != VERSION:
            self.skip = f"{where}: version '{event.version}' is not {VERSION}, the 835 payerlint reads"
        if self.skip is not None:
            self.problems.append(diagnostic("x12_version", self.skip, self.label, event.st.line, event.st.column))
        self.walker = Walker(self.map, event.control)

    def _end(self, event: TransactionEnd) -> Iterator[RemitRecord]:
        if self.walker is not None and self.skip is None:
            _, problems = self.walker.finish()
            for problem in problems:
                self._route(problem)
            if self.claim is not None:
                yield self._finish_claim()
        self.problems += [diagnostic(p.code, p.message, self.label, p.line, p.column) for p in event.problems]
        yield RemitRecord(f"{self.label}:ST {self.control}", self._remittance(), None, tuple(self.problems),
                          tuple(self.plb))
        self._reset()

    # -- segments --

    def _place(self, placed: Placed) -> Iterator[RemitRecord]:
        for problem in placed.closing:
            self._route(problem)
        if "2100" in placed.closed and self.claim is not None:
            yield self._finish_claim()
        seg, loop = placed.segment, placed.loop
        if placed.opened and loop == "2100":
            self.count += 1
            self.claim = _Claim(seg, self._ref(seg, loop), self.header_number)
        elif placed.opened and loop == "2110" and self.claim is not None:
            self.claim.services.append({"svc": seg, "adjustments": [], "remarks": [], "at": self._ref(seg, loop)})
        for problem in placed.problems:
            self._route(problem)
        handler = _HANDLERS.get(seg.id)
        if handler is not None:
            handler(self, seg, loop)

    def _route(self, problem: Problem) -> None:
        d = problem_diagnostic(problem, self.label)
        if "2100" in problem.path and self.claim is not None:
            self.claim.problems.append(d)
        else:
            self.problems.append(d)

    def _ref(self, seg: Segment, loop: str, element: str | None = None) -> SegmentRef:
        return ref(seg, self.control, loop, element)

    def _warn(self, seg: Segment, element: str, message: str) -> None:
        d = diagnostic("x12_value", f"segment {seg.number} ({seg.id}) of ST {self.control}, element {element}: "
                       f"{message}", self.label, seg.line, seg.column, "warning")
        (self.claim.problems if self.claim is not None else self.problems).append(d)

    def _money(self, seg: Segment, position: int) -> Decimal | None:
        text = seg.element(position)
        if not text:
            return None
        try:
            value = Decimal(text)
            if value.is_finite():
                return value
        except InvalidOperation:
            pass
        self._warn(seg, f"{seg.id}{position:02d}", "not an amount")
        return None

    def _date(self, seg: Segment, position: int) -> datetime.date | None:
        text = seg.element(position)
        if not text:
            return None
        if len(text) == 8 and text.isdigit():
            try:
                return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                pass
        self._warn(seg, f"{seg.id}{position:02d}", "not a date in the form CCYYMMDD")
        return None

    def on_bpr(self, seg: Segment, loop: str) -> None:
        self.header.update(handling=seg.element(1), paid_total=self._money(seg, 2), credit_debit=seg.element(3),
                           method=seg.element(4), payment_date=self._date(seg, 16))

    def on_trn(self, seg: Segment, loop: str) -> None:
        self.header["trace_number"] = seg.element(2)

    def on_dtm(self, seg: Segment, loop: str) -> None:
        qualifier = seg.element(1)
        if loop == "ST" and qualifier == "405":
            self.header["production_date"] = self._date(seg, 2)
        elif loop == "2100" and self.claim is not None:
            self.claim.dates[qualifier] = self._date(seg, 2)
        elif loop == "2110" and self.claim is not None and self.claim.services:
            self.claim.services[-1][f"dtm{qualifier}"] = self._date(seg, 2)

    def on_n1(self, seg: Segment, loop: str) -> None:
        target = {"1000A": self.payer, "1000B": self.payee}.get(loop)
        if target is not None:
            target.update(name=seg.element(2), id_qualifier=seg.element(3), id=seg.element(4))

    def on_ref(self, seg: Segment, loop: str) -> None:
        qualifier, value = seg.element(1), seg.element(2)
        if loop == "1000A" and qualifier == "2U" and not self.payer.get("id"):
            self.payer.update(id_qualifier="2U", id=value)
        elif loop == "2110" and qualifier == "6R" and self.claim is not None and self.claim.services:
            self.claim.services[-1]["control_number"] = value

    def on_clp(self, seg: Segment, loop: str) -> None:
        pass  # read when the claim's loop closes (_finish_claim)

    def on_lx(self, seg: Segment, loop: str) -> None:
        if loop == "2000":
            self.header_number = seg.element(1)

    def on_cas(self, seg: Segment, loop: str) -> None:
        if self.claim is None:
            return
        group = seg.element(1)
        found = []
        elements = seg.elements
        for base in range(2, min(len(elements), 19) + 1, 3):
            reason = elements[base - 1]
            if not reason:
                if seg.element(base + 1):
                    self._warn(seg, f"CAS{base:02d}", "an adjustment amount without its reason code")
                continue
            amount = self._money(seg, base + 1)
            if amount is None:
                # The payer's reason still says what happened: the adjustment is kept (a
                # denial stays a denial, not a payment) with no dollars to count.
                self._warn(seg, f"CAS{base + 1:02d}", f"reason code {reason} has no readable amount: the "
                                                      "adjustment is counted, its amount as 0.00")
                amount = Decimal(0)
            quantity = self._money(seg, base + 2)
            found.append(Adjustment(group, reason, amount, quantity, self._ref(seg, loop, f"CAS{base:02d}")))
        if loop == "2110" and self.claim.services:
            self.claim.services[-1]["adjustments"].extend(found)
        else:
            self.claim.adjustments.extend(found)

    def on_moa(self, seg: Segment, loop: str) -> None:
        if self.claim is not None:
            self.claim.remarks.extend(seg.element(p) for p in range(3, 8) if seg.element(p))

    def on_mia(self, seg: Segment, loop: str) -> None:
        if self.claim is not None:
            self.claim.remarks.extend(seg.element(p) for p in (5, 20, 21, 22, 23) if seg.element(p))

    def on_lq(self, seg: Segment, loop: str) -> None:
        if self.claim is not None and self.claim.services and seg.element(1) == "HE" and seg.element(2):
            self.claim.services[-1]["remarks"].append(seg.element(2))

    def on_amt(self, seg: Segment, loop: str) -> None:
        if loop == "2110" and seg.element(1) == "B6" and self.claim is not None and self.claim.services:
            self.claim.services[-1]["allowed"] = self._money(seg, 2)

    def on_plb(self, seg: Segment, loop: str) -> None:
        provider, period = seg.element(1), self._date(seg, 2)
        for pair in range(6):
            position = 3 + pair * 2
            if not seg.element(position):
                continue
            amount = self._money(seg, position + 1)
            if amount is None:
                self._warn(seg, f"PLB{position + 1:02d}", "a provider adjustment without an amount")
                continue
            self.plb.append(ProviderAdjustment(provider, period, seg.component(position, 1), seg.component(position, 2),
                                               amount, self._ref(seg, loop, f"PLB{position:02d}")))

    # -- assembling --

    def _remittance(self) -> Remittance | None:
        if self.skip is not None or not self.header and not self.payer:
            return None
        if self.remittance is None:
            h = self.header
            self.remittance = Remittance(
                self.control, self.version, h.get("handling", ""), h.get("paid_total"), h.get("credit_debit", ""),
                h.get("method", ""), h.get("payment_date"), h.get("trace_number", ""), h.get("production_date"),
                Party(self.payer.get("name", ""), self.payer.get("id_qualifier", ""), self.payer.get("id", "")),
                Party(self.payee.get("name", ""), self.payee.get("id_qualifier", ""), self.payee.get("id", "")))
        return self.remittance

    def _finish_claim(self) -> RemitRecord:
        claim = self.claim
        assert claim is not None
        clp = claim.clp  # self.claim stays set while reading: warnings about amounts go to this claim
        services = tuple(self._service(s) for s in claim.services)
        payment = ClaimPayment(
            clp.element(1), clp.element(2), self._money(clp, 3), self._money(clp, 4), self._money(clp, 5),
            clp.element(6), clp.element(7), clp.element(8), clp.element(9), clp.element(2) == REVERSAL,
            claim.dates.get("232"), claim.dates.get("233"), tuple(claim.adjustments), tuple(claim.remarks),
            services, claim.header_number, claim.at)
        self.claim = None
        return RemitRecord(f"{self.label}:CLP {self.count}", self._remittance(), payment, tuple(claim.problems))

    def _service(self, data: dict) -> ServicePayment:
        svc: Segment = data["svc"]
        parts = svc.components(1)
        submitted = svc.components(6)
        if submitted and submitted[0] not in SERVICE_QUALIFIERS:
            self._warn(svc, "SVC06-1", f"the product/service id qualifier must be one of "
                       f"{', '.join(sorted(SERVICE_QUALIFIERS))}")
        units = self._money(svc, 5)
        return ServicePayment(
            parts[0] if parts else "", parts[1] if len(parts) > 1 else "", tuple(m for m in parts[2:6] if m),
            self._money(svc, 2), self._money(svc, 3), units,
            submitted[1] if len(submitted) > 1 and submitted[1] else None,
            tuple(m for m in submitted[2:6] if m),
            data.get("dtm472") or data.get("dtm150"), data.get("dtm151"), data.get("control_number"),
            data.get("allowed"), tuple(data["adjustments"]), tuple(data["remarks"]), data["at"])


# Segment id -> handler; segments without one (NM1, N3, N4, PER, TS3...) are placed and
# checked but not read.
_HANDLERS = {name[3:].upper(): function for name, function in vars(_Reader).items() if name.startswith("on_")}
