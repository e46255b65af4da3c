"""A generator of synthetic therapy claims and the 835 remittances a payer would send back.

Claims are the bundled examples (examples/claims, all synthetic) given new claim ids and
dates; remittances are written segment by segment with their envelopes and counts, in
the shape of the TR3 (005010X221A1), with a made-up patient name and member id in NM1*QC
so a test can show they never reach the report. No real patient, provider or payer.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "claims"
PATIENT_NAME = "SYNTHETICPATIENTNAME"
MEMBER_ID = "SYNMEMBER0042"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def claim(name: str, claim_id: str, date: str | None = None, control: bool = False, **changes) -> dict:
    """An example claim with a new id, optionally moved to another date of service, with
    line item control numbers `<claim id>-<n>` when `control`."""
    data = copy.deepcopy(example(name))
    data["claim_id"] = claim_id
    data.pop("x-example", None)
    if date is not None:
        # Move the whole episode with the date, so only the date of service changes.
        delta = datetime.date.fromisoformat(date) - datetime.date.fromisoformat(data["date_of_service"])
        data["episode"] = _shift(data.get("episode", {}), delta)
        data["date_of_service"] = date
        for line in data["lines"]:
            if "date" in line:
                line["date"] = date
    for i, line in enumerate(data["lines"]):
        if control:
            line["control_number"] = f"{claim_id}-{i + 1}"
    for key, value in changes.items():
        data[key] = value
    return data


def _shift(value, delta: datetime.timedelta):
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return (datetime.date.fromisoformat(value) + delta).isoformat()
    return value


@dataclass
class Svc:
    procedure: str
    modifiers: tuple[str, ...]
    charge: str
    paid: str
    date: str | None
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    control: str | None = None
    units: str = "1"


@dataclass
class Payment:
    claim_id: str
    status: str
    charge: str
    paid: str
    services: list[Svc]
    pcn: str = ""
    frequency: str = "1"
    patient_responsibility: str = ""
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


def _cas(adjustments: list[tuple[str, str, str]]) -> list[str]:
    by_group: dict[str, list[str]] = {}
    for group, reason, amount in adjustments:
        by_group.setdefault(group, []).extend([reason, amount, ""])
    out = []
    for group, parts in by_group.items():
        for start in range(0, len(parts), 18):  # six triplets a segment
            chunk = parts[start:start + 18]
            while chunk and chunk[-1] == "":
                chunk.pop()
            out.append("*".join(["CAS", group, *chunk]))
    return out


def remittance(payments: list[Payment], payment_date: str = "20260612", control: str = "0001",
               interchange: int = 301) -> bytes:
    """One interchange with one 835 transaction set holding `payments`."""
    total = sum((Decimal(p.paid) for p in payments), Decimal(0))
    body = [f"ST*835*{control}",
            f"BPR*I*{total}*C*ACH*CCP*01*999999992*DA*123456*1999999999**01*999999993*DA*654321*{payment_date}",
            f"TRN*1*SYNEFT{control}*1999999999", f"DTM*405*{payment_date}",
            "N1*PR*SYNTHETIC PAYER", "N3*1 PAYER WAY", "N4*NASHVILLE*TN*37201", "REF*2U*SYNPAYER01",
            "PER*BL*PROVIDER SERVICES*TE*5555550199", "N1*PE*SYNTHETIC THERAPY CLINIC*XX*1234567893",
            "REF*TJ*999999999", "LX*1"]
    for n, p in enumerate(payments, 1):
        body.append(f"CLP*{p.claim_id}*{p.status}*{p.charge}*{p.paid}*{p.patient_responsibility}*MB*"
                    f"{p.pcn or 'SYNPCN%04d' % n}*11*{p.frequency}")
        body += _cas(p.adjustments)
        body.append(f"NM1*QC*1*{PATIENT_NAME}*ONE****MI*{MEMBER_ID}")
        if p.remarks:
            body.append("MOA***" + "*".join(p.remarks))
        for s in p.services:
            body.append(f"SVC*HC:{':'.join((s.procedure,) + s.modifiers)}*{s.charge}*{s.paid}**{s.units}")
            if s.date:
                body.append(f"DTM*472*{s.date.replace('-', '')}")
            body += _cas(s.adjustments)
            if s.control:
                body.append(f"REF*6R*{s.control}")
            body += [f"LQ*HE*{r}" for r in s.remarks]
    body.append(f"SE*{len(body) + 1}*{control}")
    head = [f"ISA*00*          *00*          *ZZ*PLTESTPAYER    *ZZ*PLTESTCLINIC   *260610*0800*^*00501*"
            f"{interchange:09d}*0*T*:", f"GS*HP*PLTESTPAYER*PLTESTCLINIC*20260610*0800*{interchange}*X*005010X221A1"]
    tail = [f"GE*1*{interchange}", f"IEA*1*{interchange:09d}"]
    return ("~\n".join(head + body + tail) + "~\n").encode()


# --- the scenario set the report test checks, number by number ----------------------

LINE_DATE = "2026-05-14"


def paid_line(procedure: str = "97140", modifiers: tuple[str, ...] = ("GP",), charge: str = "48.00",
              paid: str = "37.44", date: str = LINE_DATE, control: str | None = None) -> Svc:
    """Paid at the allowed amount less 20% coinsurance: CO-45 and PR-2 (not denials)."""
    allowed = Decimal(paid) / Decimal("0.8")
    return Svc(procedure, modifiers, charge, paid, date,
               [("CO", "45", str(Decimal(charge) - allowed)), ("PR", "2", str(allowed - Decimal(paid)))],
               control=control)


def denied_line(reason: str, procedure: str = "97140", modifiers: tuple[str, ...] = ("GP",), charge: str = "48.00",
                date: str = LINE_DATE, remarks: tuple[str, ...] = (), group: str = "CO",
                control: str | None = None) -> Svc:
    return Svc(procedure, modifiers, charge, "0.00", date, [(group, reason, charge)], list(remarks), control)


def _ytd(data: dict, amount: str) -> dict:
    data["episode"]["therapy_amount_ytd"] = amount
    return data


def scenario() -> tuple[list[dict], list[bytes]]:
    """The claims and two remittance files (June, then July with a reversal and its
    correction). Expected numbers: tests/remit/test_report.py."""
    claims = [
        claim("medicare/01-clean-ankle-mobilization.json", "R-PAID"),
        claim("medicare/04-ptp-traction-with-manual-no-59.json", "R-BUNDLE"),
        claim("medicare/05-modifier-gp-missing.json", "R-MOD"),
        claim("medicare/09-diagnosis-header-code.json", "R-INFO"),
        claim("medicare/06-threshold-kx-missing.json", "R-KX"),
        claim("uhc-medicare-advantage/02-authorization-missing-by-alias.json", "R-AUTH"),
        claim("medicare/03-units-22-minutes-billed-2.json", "R-PARTIAL"),
        claim("medicare/07-documentation-vague-note.json", "R-FALSE"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-MISS-1"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-MISS-2"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-ELIG"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-LATE"),
        claim("medicare/05-modifier-gp-missing.json", "R-OTHER"),
        claim("medicare/03-units-22-minutes-billed-2.json", "R-UNTESTED"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-REV"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-Q3", date="2026-07-09"),
        claim("medicare/01-clean-ankle-mobilization.json", "R-NOREMIT"),
        # The same claim in two years: $2,420.00 counted before it, $48.00 billed, no KX.
        # 2025's threshold ($2,410) is crossed, 2026's ($2,480) is not.
        _ytd(claim("medicare/01-clean-ankle-mobilization.json", "R-KX25", date="2025-12-10"), "2420.00"),
        _ytd(claim("medicare/01-clean-ankle-mobilization.json", "R-KX26", date="2026-02-10"), "2420.00"),
    ]
    june = remittance([
        Payment("R-PAID", "1", "48.00", "37.44", [paid_line()], patient_responsibility="9.36"),
        Payment("R-BUNDLE", "1", "62.00", "17.16",
                [paid_line("97012", charge="22.00", paid="17.16"), denied_line("97", charge="40.00")]),
        Payment("R-MOD", "4", "48.00", "0.00", [denied_line("4", modifiers=())]),
        Payment("R-INFO", "4", "48.00", "0.00", [Svc("97140", ("GP",), "48.00", "0.00", LINE_DATE, [], ["M76"])],
                adjustments=[("CO", "16", "48.00")], remarks=["M76"]),
        Payment("R-KX", "4", "48.00", "0.00", [denied_line("119")]),
        Payment("R-AUTH", "4", "48.00", "0.00", [denied_line("197")]),
        Payment("R-PARTIAL", "1", "48.00", "18.72",
                [Svc("97140", ("GP",), "48.00", "18.72", LINE_DATE,
                     [("CO", "151", "24.00"), ("CO", "45", "0.60"), ("PR", "2", "4.68")], units="1")]),
        Payment("R-FALSE", "1", "48.00", "37.44", [paid_line()]),
        Payment("R-MISS-1", "4", "48.00", "0.00", [denied_line("50", remarks=("N115",))]),
        Payment("R-MISS-2", "4", "48.00", "0.00", [denied_line("50", remarks=("N115",))]),
        Payment("R-ELIG", "4", "48.00", "0.00", [denied_line("27", group="PR")]),
        Payment("R-LATE", "4", "48.00", "0.00", [Svc("97140", ("GP",), "48.00", "0.00", LINE_DATE)],
                adjustments=[("CO", "29", "48.00")]),
        Payment("R-OTHER", "4", "48.00", "0.00", [denied_line("11", modifiers=())]),
        Payment("R-UNTESTED", "4", "48.00", "0.00", [denied_line("27", group="PR")]),
        Payment("R-REV", "4", "48.00", "0.00", [denied_line("50", remarks=("N115",))], pcn="SYNPCNREV1"),
        Payment("NOT-OURS", "1", "10.00", "10.00", [Svc("97110", ("GP",), "10.00", "10.00", LINE_DATE)]),
    ])
    july = remittance([
        Payment("R-REV", "22", "-48.00", "0.00", [Svc("97140", ("GP",), "-48.00", "0.00", LINE_DATE,
                                                      [("CO", "50", "-48.00")], units="-1")],
                pcn="SYNPCNREV1", frequency="8"),
        Payment("R-REV", "1", "48.00", "37.44", [paid_line()], pcn="SYNPCNREV2", frequency="7"),
        Payment("R-Q3", "4", "48.00", "0.00", [denied_line("50", date="2026-07-09", remarks=("N115",))]),
        Payment("R-KX25", "4", "48.00", "0.00", [denied_line("119", date="2025-12-10")]),
        Payment("R-KX26", "4", "48.00", "0.00", [denied_line("119", date="2026-02-10")]),
    ], payment_date="20260715", control="0002", interchange=302)
    return claims, [june, july]
