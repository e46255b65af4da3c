"""The payer side of `payerlint remit`: each claim payment of the 835s, matched to the
claim payerlint checked, and the decisions netted so nothing is counted twice.

Streaming: `read_835` yields one claim payment at a time; each is matched to its checked
claim at once and kept only as an `Adjudication` (line outcomes, denial amounts), never
as the remittance's segments. Netting waits for the end, because a reversal may come in
a later file than the payment it undoes.

Matching, never guessing:
- a claim payment goes to the checked claim whose claim_id is CLP01 (the claim id as
  submitted); a claim id two checked claims share is ambiguous and not matched;
- a service line goes to the claim line with the same line item control number (REF*6R)
  where the remittance has one and the claim too; otherwise to the one line with the
  same procedure (as submitted: SVC06 when the payer changed the code), modifiers (in any
  order) and date of service; failing that, the one line with the same procedure and
  date (the payer may drop or reorder modifiers; the match says so). Two or more
  candidates: the line is ambiguous, reported with its candidates, and never assigned.

Netting (`net`): a claim's adjudications are ordered by payment date (BPR16, else the
production date DTM*405), then by the order they were read. A reversal (CLP02 = 22)
cancels the adjudication it names (CLP07, the payer's claim control number, else the
latest one); a later adjudication of the same claim replaces the current one (a
correction, frequency 7, or a re-adjudication). Only the decision standing at the end is
measured; the counts of reversals and replacements are reported.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

from payerlint.diagnostics import Diagnostic
from payerlint.remit.checked import Checked, LineKey
from payerlint.remit.families import Families
from payerlint.x12.remit835 import Adjustment, ClaimPayment, ServicePayment, read_835

ZERO = Decimal("0")
DENIED_STATUS = "4"
CLAIM = "(claim)"
"""The procedure named for an adjustment on the whole claim (CLP-level CAS)."""


@dataclass(frozen=True, slots=True)
class Denial:
    """One denial adjustment: a CAS triplet whose CARC is not pricing or cost sharing."""

    group: str
    reason: str
    family: str
    amount: Decimal
    remarks: tuple[str, ...]
    procedure: str
    """The procedure of the service line (as submitted), or `(claim)`."""
    date: datetime.date | None
    line: int | None
    """The claim line the service line matched; None for the whole claim or an unmatched line."""
    candidates: tuple[int, ...] = ()
    """For a service line that matched two or more claim lines: those lines."""

    @property
    def code(self) -> str:
        return f"{self.group}-{self.reason}" if self.group else self.reason or "(none)"


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """What the payer decided on one service line, and which claim line it is."""

    index: int | None
    candidates: tuple[int, ...]
    """Claim lines it could be when `index` is None and the match is ambiguous."""
    procedure: str
    modifiers: tuple[str, ...]
    date: datetime.date | None
    charge: Decimal
    paid: Decimal
    denials: tuple[Denial, ...]
    how: str
    """How it matched: `control number`, `procedure, modifiers and date`, `procedure and date
    (modifiers differ)`, `ambiguous`, `no such line`."""
    at: str
    """Where the service line is: `file.835 segment 31 (SVC) of ST 0001`."""


@dataclass(frozen=True, slots=True)
class Adjudication:
    claim_id: str
    order: tuple
    reversal: bool
    payer_control_number: str
    status: str
    frequency: str
    charge: Decimal
    paid: Decimal
    claim_denials: tuple[Denial, ...]
    lines: tuple[LineOutcome, ...]
    origin: str

    @property
    def denials(self) -> tuple[Denial, ...]:
        return self.claim_denials + tuple(d for line in self.lines for d in line.denials)


@dataclass
class ReadStats:
    """What reading the remittances found, for the report."""

    files: int = 0
    transactions: int = 0
    claim_payments: int = 0
    service_lines: int = 0
    reversals: int = 0
    unmatched_claims: int = 0
    unmatched_claim_ids: list = None  # type: ignore[assignment]
    errors: int = 0
    warnings: int = 0

    def __post_init__(self) -> None:
        if self.unmatched_claim_ids is None:
            self.unmatched_claim_ids = []


def read_adjudications(paths: Iterable[str | tuple[str, bytes]], checked: dict[str, Checked], ambiguous_ids: set[str],
                       families: Families, stats: ReadStats, problems: list[Diagnostic],
                       problem_limit: int = 1000) -> Iterator[Adjudication]:
    """Every claim payment of the files matched to its checked claim, in reading order.
    A payment of a claim not among the checked ones is counted (and its id listed, up to
    20), not yielded. Diagnostics go to `problems` (at most `problem_limit`; the counts in
    `stats` are always complete)."""
    seq = 0
    for file_index, source in enumerate(paths):
        stats.files += 1
        # A path, or (name, content) as the service receives a file.
        path, content = (source, source) if isinstance(source, str) else source
        for record in read_835(content, path):
            for d in record.diagnostics:
                if d.severity == "error":
                    stats.errors += 1
                else:
                    stats.warnings += 1
                if len(problems) < problem_limit:
                    problems.append(d if d.message.startswith(path) else
                                    Diagnostic(d.code, f"{record.origin}: {d.message}", span=d.span,
                                               severity=d.severity, quote=False))
            payment = record.claim
            if payment is None:
                stats.transactions += f"{path}:ST " in record.origin  # the record closing a transaction set
                continue
            seq += 1
            stats.claim_payments += 1
            stats.service_lines += len(payment.services)
            stats.reversals += payment.reversal
            remittance = record.remittance
            day = None
            if remittance is not None:
                day = remittance.payment_date or remittance.production_date
            order = (day or datetime.date.max, file_index, seq)
            claim = checked.get(payment.claim_id)
            if claim is None or payment.claim_id in ambiguous_ids:
                stats.unmatched_claims += 1
                if len(stats.unmatched_claim_ids) < 20 and payment.claim_id not in stats.unmatched_claim_ids:
                    stats.unmatched_claim_ids.append(payment.claim_id)
                continue
            yield adjudicate(payment, claim, order, record.origin, families)


def adjudicate(payment: ClaimPayment, claim: Checked, order: tuple, origin: str, families: Families) -> Adjudication:
    claim_denials = tuple(_denials(payment.adjustments, payment.remarks, CLAIM, None, None, (), families))
    lines = []
    for service in payment.services:
        lines.append(_line(service, payment, claim, origin, families))
    charge = payment.charge if payment.charge is not None else ZERO
    paid = payment.paid if payment.paid is not None else ZERO
    if payment.status == DENIED_STATUS and not claim_denials and not any(line.denials for line in lines):
        # Denied with no reason code at all: still a denial, of the charge less what was paid.
        claim_denials = (Denial("", "", "unclassified", charge - paid, payment.remarks, CLAIM, None, None),)
    return Adjudication(payment.claim_id, order, payment.reversal, payment.payer_control_number, payment.status,
                        payment.frequency, charge, paid, claim_denials, tuple(lines), origin)


def _denials(adjustments: Iterable[Adjustment], remarks: tuple[str, ...], procedure: str, date: datetime.date | None,
             line: int | None, candidates: tuple[int, ...], families: Families) -> Iterator[Denial]:
    for adjustment in adjustments:
        family = families.of(adjustment.reason)
        if family.denial:
            yield Denial(adjustment.group, adjustment.reason, family.name, adjustment.amount, remarks, procedure, date,
                         line, candidates)


def _line(service: ServicePayment, payment: ClaimPayment, claim: Checked, origin: str,
          families: Families) -> LineOutcome:
    procedure = service.submitted_procedure or service.procedure
    modifiers = service.submitted_modifiers if service.submitted_procedure else service.modifiers
    date = service.date
    if date is None and payment.statement_start is not None and payment.statement_start == payment.statement_end:
        date = payment.statement_start
    index, candidates, how = match_line(claim.lines, service.control_number, procedure, modifiers, date)
    if date is None and index is not None:
        date = claim.lines[index].date
    file = origin.rsplit(":", 1)[0]
    denials = tuple(_denials(service.adjustments, service.remarks, procedure, date, index, candidates, families))
    return LineOutcome(index, candidates, procedure, modifiers, date,
                       service.charge if service.charge is not None else ZERO,
                       service.paid if service.paid is not None else ZERO, denials, how, f"{file} {service.at}")


def match_line(lines: tuple[LineKey, ...], control: str | None, procedure: str, modifiers: tuple[str, ...],
               date: datetime.date | None) -> tuple[int | None, tuple[int, ...], str]:
    """(claim line index or None, candidates when ambiguous, how): see the module docstring."""
    if control:
        same = tuple(i for i, line in enumerate(lines) if line.control_number == control)
        if len(same) == 1:
            return same[0], (), "control number"
        if len(same) > 1:
            return None, same, "ambiguous"
    on_date = tuple(i for i, line in enumerate(lines)
                    if line.code == procedure and (date is None or line.date is None or line.date == date))
    wanted = set(modifiers)
    exact = tuple(i for i in on_date if set(lines[i].modifiers) == wanted)
    if len(exact) == 1:
        return exact[0], (), "procedure, modifiers and date"
    if len(exact) > 1:
        return None, exact, "ambiguous"
    if len(on_date) == 1:
        return on_date[0], (), "procedure and date (modifiers differ)"
    if len(on_date) > 1:
        return None, on_date, "ambiguous"
    return None, (), "no such line"


@dataclass
class Netting:
    """How the adjudications of the claims were netted, counted."""

    reversals_applied: int = 0
    reversals_unmatched: int = 0
    """Reversals of a payment not among the remittances read (its amounts are not counted)."""
    replaced: int = 0
    """Adjudications replaced by a later one of the same claim (a correction or re-adjudication)."""
    reversed_without_new_decision: int = 0


def net(adjudications: list[Adjudication], netting: Netting) -> Adjudication | None:
    """The decision standing at the end, for one claim's adjudications (see the module docstring)."""
    standing: list[Adjudication] = []
    for adjudication in sorted(adjudications, key=lambda a: a.order):
        if adjudication.reversal:
            target = next((a for a in reversed(standing)
                           if adjudication.payer_control_number
                           and a.payer_control_number == adjudication.payer_control_number), None)
            if target is None and standing:
                target = standing[-1]
            if target is None:
                netting.reversals_unmatched += 1
                continue
            standing.remove(target)
            netting.reversals_applied += 1
            continue
        if standing:
            netting.replaced += len(standing)
            standing.clear()
        standing.append(adjudication)
    if not standing:
        if any(a.reversal for a in adjudications):
            netting.reversed_without_new_decision += 1
        return None
    return standing[-1]
