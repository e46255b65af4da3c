"""Claims in the claim schema's shape to a 005010X222A1 837P interchange.

What the claim holds is written where `read_837p` reads it (docs/x12.md), so reading
the written file gives the same claims back. What the 837P requires and the claim
model does not hold (the submitter, receiver and billing provider's name, address and
tax id; the subscriber's name) comes from `WriterSettings`; its defaults are labelled
placeholders, and the interchange is marked as test data (ISA15 = T) unless the
settings say otherwise. A claim lacking a value the 837P requires and only the claim
can give (a charge, units, a diagnosis pointer, the place of service) is not written:
it is reported, never filled in.

The writer streams: each claim is written as it comes, and the transaction set's
segment count is kept as it goes.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator, TextIO

from payerlint.payers.registry import Registry
from payerlint.x12.crosswalk import filing_codes, taxonomy_for

VERSION = "005010X222A1"
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_SAFE = re.compile(r"[~*:^\r\n]")


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    id: str
    """An id where the 837P wants one (submitter, receiver: NM109 with qualifier 46)."""


@dataclass(frozen=True, slots=True)
class Address:
    street: str = "UNKNOWN"
    city: str = "UNKNOWN"
    state: str = "ZZ"
    postal_code: str = "000000000"


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """Envelope values the claim model does not hold. Defaults are placeholders."""

    sender_id: str = "PAYERLINT"
    receiver_id: str = "RECEIVER"
    submitter: Party = Party("PAYERLINT EXPORT", "PAYERLINT")
    contact_name: str = "UNKNOWN"
    contact_phone: str = "0000000000"
    receiver: Party = Party("RECEIVER", "RECEIVER")
    billing_name: str = "UNKNOWN"
    billing_npi: str | None = None
    """The billing provider's NPI when it differs from the claim's provider (a group);
    the claim's provider is then written as the rendering provider (2310B)."""
    billing_tax_id: str = "000000000"
    billing_address: Address = Address()
    subscriber_last_name: str = "UNKNOWN"
    rendering_last_name: str = "UNKNOWN"
    usage: str = "T"
    """ISA15: T (test data) or P (production)."""
    control_number: int = 1
    created: datetime.datetime | None = None
    """Interchange date and time; None: noon on the latest date of service in the batch
    written (so the same claims always give the same file)."""
    claims_per_transaction: int = 5000
    line_break: bool = True
    """Put each segment on its own line (after the terminator), as most tools show them."""


@dataclass(frozen=True, slots=True)
class WriteProblem:
    index: int
    """0-based position of the claim in the input."""
    claim_id: str | None
    message: str
    severity: str = "error"


def write_837p(claims: Iterable[dict], out: TextIO, settings: WriterSettings = WriterSettings(),
               registry: Registry | None = None) -> list[WriteProblem]:
    """Write `claims` as one interchange to `out`; return what kept a claim out (errors)
    or was filled with a placeholder (warnings)."""
    claims = list(claims)
    problems: list[WriteProblem] = []
    ready: list[tuple[int, dict]] = []
    for index, claim in enumerate(claims):
        missing = _missing(claim)
        if missing:
            problems.append(WriteProblem(index, _cid(claim), "not written: " + "; ".join(missing)))
        else:
            ready.append((index, claim))
    created = settings.created or _default_created(claim for _, claim in ready)
    w = _Writer(out, settings, registry, created)
    w.interchange_start()
    for start in range(0, max(len(ready), 1), settings.claims_per_transaction):
        w.transaction(ready[start:start + settings.claims_per_transaction], problems)
    w.interchange_end()
    return problems


def _cid(claim) -> str | None:
    return claim.get("claim_id") if isinstance(claim, dict) and isinstance(claim.get("claim_id"), str) else None


def _missing(claim) -> list[str]:
    """What the 837P requires that only the claim can give, and the claim lacks."""
    if not isinstance(claim, dict):
        return ["the claim is not a JSON object"]
    out = []
    # Element lengths: ASC X12 data elements 1028 (CLM01), 67 (NM109), 127 (REF02).
    for key, where, low, high in (("claim_id", "CLM01", 1, 38), ("payer_id", "NM109 of loop 2010BB", 2, 80),
                                  ("place_of_service", "CLM05-1", 2, 2)):
        value = claim.get(key)
        if not isinstance(value, str) or not low <= len(_clean(value)) <= high:
            out.append(f"/{key} is required by the 837P ({where}, {low} to {high} characters)")
    patient = claim.get("patient")
    if not isinstance(patient, dict) or not isinstance(patient.get("id"), str) or not 2 <= len(_clean(patient["id"])) <= 80:
        out.append("/patient/id is required by the 837P (NM109 of loop 2010BA, 2 to 80 characters)")
    auth = ((claim.get("episode") or {}).get("prior_authorization") or {}).get("number") \
        if isinstance(claim.get("episode"), dict) else None
    if auth is not None and not (isinstance(auth, str) and 1 <= len(_clean(auth)) <= 50):
        out.append("/episode/prior_authorization/number must have 1 to 50 characters (REF02)")
    if not isinstance(claim.get("provider"), dict) or not re.fullmatch(r"[0-9]{10}", str(claim["provider"].get("npi", ""))):
        out.append("/provider/npi (10 digits) is required by the 837P (NM109 of loop 2010AA)")
    diagnoses = claim.get("diagnoses")
    if not isinstance(diagnoses, list) or not diagnoses or len(diagnoses) > 12:
        out.append("/diagnoses needs 1 to 12 codes (HI)")
    else:
        for i, code in enumerate(diagnoses):
            if not isinstance(code, str) or not _ICD10.match(code):
                out.append(f"/diagnoses/{i} is not an ICD-10-CM code (HI takes ABK/ABF codes)")
    lines = claim.get("lines")
    if not isinstance(lines, list) or not lines or len(lines) > 50:
        out.append("/lines needs 1 to 50 service lines (loop 2400)")
        return out
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            out.append(f"/lines/{i} is not an object")
            continue
        if not line.get("code"):
            out.append(f"/lines/{i}/code is required (SV101-2)")
        if line.get("charge") is None:
            out.append(f"/lines/{i}/charge is required (SV102)")
        if line.get("units") is None and line.get("minutes") is None:
            out.append(f"/lines/{i}/units is required (SV104)")
        elif line.get("units") == 0:
            # A service that earns no unit is not billed (CMS Pub. 100-04 Ch. 5 sec. 20.2):
            # SV104 of 0 would still send the line's charge.
            out.append(f"/lines/{i}/units is 0: a service that earns no unit is not billed; remove the line (SV104)")
        if not line.get("diagnosis_pointers"):
            out.append(f"/lines/{i}/diagnosis_pointers needs at least one pointer (SV107-1)")
        elif len(line["diagnosis_pointers"]) > 4:
            out.append(f"/lines/{i}/diagnosis_pointers has {len(line['diagnosis_pointers'])}; SV107 holds at most 4")
        if len(line.get("modifiers") or ()) > 4:
            out.append(f"/lines/{i}/modifiers has {len(line['modifiers'])}; SV101 holds at most 4 (SV101-3 to SV101-6)")
        date = line.get("date") or claim.get("date_of_service")
        if not date:
            out.append(f"/lines/{i}/date or /date_of_service is required (DTP*472)")
        elif not _iso_date(date) or (line.get("date_through") is not None and not _iso_date(line["date_through"])):
            out.append(f"/lines/{i}/date must be an ISO date like 2026-05-14 (DTP*472 writes CCYYMMDD)")
        elif line.get("date_through") is not None and line["date_through"] < date:
            out.append(f"/lines/{i}/date_through is before its date: DTP*472 RD8 would run backwards")
        control = line.get("control_number")
        if control is not None and not (isinstance(control, str) and 1 <= len(_clean(control)) <= 50):
            out.append(f"/lines/{i}/control_number must have 1 to 50 characters (REF02)")
    return out


def _iso_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _default_created(claims: Iterable[dict]) -> datetime.datetime:
    dates = [line.get("date") or claim.get("date_of_service") for claim in claims for line in claim["lines"]]
    latest = max((d for d in dates if isinstance(d, str)), default="2000-01-01")
    return datetime.datetime.combine(datetime.date.fromisoformat(latest), datetime.time(12, 0))


class _Writer:
    def __init__(self, out: TextIO, settings: WriterSettings, registry: Registry | None, created: datetime.datetime):
        self.out = out
        self.s = settings
        self.registry = registry
        self.created = created
        self.count = 0          # segments in the current transaction set
        self.transactions = 0
        self.end = "~\n" if settings.line_break else "~"

    def seg(self, *elements: str) -> None:
        text = "*".join(elements).rstrip("*")
        self.out.write(text + self.end)
        self.count += 1

    def interchange_start(self) -> None:
        s, c = self.s, self.created
        self.seg("ISA", "00", " " * 10, "00", " " * 10, "ZZ", _fixed(s.sender_id, 15), "ZZ", _fixed(s.receiver_id, 15),
                 c.strftime("%y%m%d"), c.strftime("%H%M"), "^", "00501", f"{s.control_number:09d}", "0", s.usage, ":")
        self.seg("GS", "HC", _clean(s.sender_id), _clean(s.receiver_id), c.strftime("%Y%m%d"), c.strftime("%H%M"),
                 str(s.control_number), "X", VERSION)

    def interchange_end(self) -> None:
        self.seg("GE", str(self.transactions), str(self.s.control_number))
        self.seg("IEA", "1", f"{self.s.control_number:09d}")

    def transaction(self, claims: list[tuple[int, dict]], problems: list[WriteProblem]) -> None:
        self.transactions += 1
        control = f"{self.transactions:04d}"
        self.count = 0
        s, c = self.s, self.created
        self.seg("ST", "837", control, VERSION)
        self.seg("BHT", "0019", "00", f"PL{s.control_number}{control}", c.strftime("%Y%m%d"), c.strftime("%H%M"), "CH")
        self.seg("NM1", "41", "2", _clean(s.submitter.name), "", "", "", "", "46", _clean(s.submitter.id))
        self.seg("PER", "IC", _clean(s.contact_name), "TE", _clean(s.contact_phone))
        self.seg("NM1", "40", "2", _clean(s.receiver.name), "", "", "", "", "46", _clean(s.receiver.id))
        hl = 0
        billing_key = subscriber_key = None
        billing_hl = 0
        claims_in_subscriber = 0
        for index, claim in claims:
            provider = claim["provider"]
            discipline = provider.get("discipline")
            # An assistant who furnished every line is the rendering provider the reader
            # takes performed_by from; a claim the two shared cannot say so per line (CQ/CO do).
            performers = {line.get("performed_by") for line in claim["lines"]}
            assistant = next(iter(performers)) if len(performers) == 1 else None
            if assistant == discipline:
                assistant = None
            elif len(performers) > 1 and any(p not in (None, discipline) for p in performers):
                problems.append(WriteProblem(index, _cid(claim), "the lines' performed_by differ: an 837P names one "
                                             "rendering provider per claim, so performed_by will not read back (CQ/CO "
                                             "on the lines say what the assistant furnished)", "warning"))
            taxonomy = None
            if isinstance(discipline, str):
                taxonomy = (taxonomy_for(discipline, assistant) if isinstance(assistant, str) else None) or \
                    taxonomy_for(discipline)
            if discipline and taxonomy is None:
                problems.append(WriteProblem(index, _cid(claim), f"no taxonomy code says {discipline} (payerlint's "
                                             "crosswalk has none): PRV is left out and the discipline will not read "
                                             "back", "warning"))
            key = (provider["npi"], taxonomy)
            if key != billing_key:
                hl += 1
                billing_hl, billing_key, subscriber_key = hl, key, None
                self.billing(hl, provider["npi"], taxonomy)
            patient = claim["patient"]
            skey = (patient.get("id"), patient.get("birth_date"), patient.get("state"), claim["payer_id"])
            if skey != subscriber_key or claims_in_subscriber == 100:
                hl += 1
                subscriber_key, claims_in_subscriber = skey, 0
                self.subscriber(hl, billing_hl, patient, claim["payer_id"])
            claims_in_subscriber += 1
            self.claim(claim, provider["npi"], taxonomy)
        self.seg("SE", str(self.count + 1), control)

    def billing(self, hl: int, npi: str, taxonomy: str | None) -> None:
        s = self.s
        self.seg("HL", str(hl), "", "20", "1")
        if taxonomy and not s.billing_npi:
            self.seg("PRV", "BI", "PXC", taxonomy)
        self.seg("NM1", "85", "2", _clean(s.billing_name), "", "", "", "", "XX", s.billing_npi or npi)
        a = s.billing_address
        self.seg("N3", _clean(a.street))
        self.seg("N4", _clean(a.city), _clean(a.state), _clean(a.postal_code))
        self.seg("REF", "EI", _clean(s.billing_tax_id))

    def subscriber(self, hl: int, parent: int, patient: dict, payer_id: str) -> None:
        payer = self.registry.resolve(payer_id) if self.registry is not None else None
        filing = _filing_for(payer.type) if payer is not None else ""
        self.seg("HL", str(hl), str(parent), "22", "0")
        self.seg("SBR", "P", "18", "", "", "", "", "", "", filing)
        self.seg("NM1", "IL", "1", _clean(self.s.subscriber_last_name), "", "", "", "", "MI", _clean(patient["id"]))
        if patient.get("state"):
            self.seg("N3", "UNKNOWN")
            self.seg("N4", "UNKNOWN", _clean(patient["state"]), "000000000")
        if patient.get("birth_date"):
            self.seg("DMG", "D8", _date(patient["birth_date"]), "U")
        name = payer.name if payer is not None else payer_id
        self.seg("NM1", "PR", "2", _clean(name)[:60], "", "", "", "", "PI", _clean(payer_id))

    def claim(self, claim: dict, npi: str, taxonomy: str | None) -> None:
        lines = claim["lines"]
        total = sum((Decimal(line["charge"]) for line in lines), Decimal("0"))
        self.seg("CLM", _clean(claim["claim_id"]), _amount(total), "", "", f"{claim['place_of_service']}:B:1",
                 "Y", "A", "Y", "Y")
        auth = (claim.get("episode") or {}).get("prior_authorization") or {}
        if auth.get("number"):
            self.seg("REF", "G1", _clean(auth["number"]))
        codes = [("ABK" if i == 0 else "ABF") + ":" + code.replace(".", "") for i, code in enumerate(claim["diagnoses"])]
        self.seg("HI", *codes)
        if self.s.billing_npi and self.s.billing_npi != npi:
            self.seg("NM1", "82", "1", _clean(self.s.rendering_last_name), "", "", "", "", "XX", npi)
            if taxonomy:
                self.seg("PRV", "PE", "PXC", taxonomy)
        for number, line in enumerate(lines, start=1):
            self.line(number, line, claim)

    def line(self, number: int, line: dict, claim: dict) -> None:
        self.seg("LX", str(number))
        procedure = ":".join(["HC", _clean(line["code"]), *(_clean(m) for m in line.get("modifiers") or [])])
        if line.get("units") is not None:
            basis, quantity = "UN", line["units"]
        else:
            basis, quantity = "MJ", line["minutes"]
        pointers = ":".join(str(p) for p in line["diagnosis_pointers"][:4])
        self.seg("SV1", procedure, _amount(Decimal(line["charge"])), basis, str(quantity),
                 _clean(line.get("place_of_service") or ""), "", pointers)
        start = line.get("date") or claim["date_of_service"]
        if line.get("date_through"):
            self.seg("DTP", "472", "RD8", f"{_date(start)}-{_date(line['date_through'])}")
        else:
            self.seg("DTP", "472", "D8", _date(start))
        if line.get("control_number"):
            self.seg("REF", "6R", _clean(line["control_number"]))


def _filing_for(payer_type: str) -> str:
    """The first SBR09 code of claim_filing.toml naming this payer type (data, not names)."""
    return next((c.code for c in filing_codes().values() if c.payer_type == payer_type), "")


def _fixed(text: str, width: int) -> str:
    return _clean(text)[:width].ljust(width)


def _clean(text: str) -> str:
    """A value with the delimiters this writer uses removed (they would split it)."""
    return _SAFE.sub(" ", str(text)).strip()


def _date(iso: str) -> str:
    return iso.replace("-", "")


def _amount(amount: Decimal) -> str:
    return f"{amount:.2f}"


def segments_of(text: str) -> Iterator[str]:
    """The segments of text this writer produced (for tests and the fix translator)."""
    for segment in text.split("~"):
        segment = segment.strip("\r\n")
        if segment:
            yield segment
