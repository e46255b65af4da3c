"""The 835 reader: a synthetic therapy remittance (paid, CO-97 bundling, CO-4 modifier,
CO-16 with RARCs, a reversal and its re-adjudication, PLB) and the six third-party TR3
samples, each read with its known defects reported as warnings."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from payerlint.x12.remit835 import read_835

from .helpers import DATA, EXTERNAL, needs_shared

REMIT = (DATA / "therapy-remit.835").read_bytes()
SAMPLES = EXTERNAL / "x12-835" / "linuxforhealth-x12" / "835_005010X221A1"


def records(text: bytes = REMIT, label: str = "remit.835"):
    return list(read_835(text, label))


def claims(text: bytes = REMIT):
    return [r.claim for r in records(text) if r.claim is not None]


def test_payment_header_payer_and_payee():
    last = records()[-1]
    assert last.origin == "remit.835:ST 0001" and last.claim is None and last.ok and not last.diagnostics
    r = last.remittance
    assert (r.paid_total, r.handling, r.method, r.payment_date, r.trace_number) == (
        Decimal("178.40"), "I", "ACH", datetime.date(2026, 6, 12), "SYNEFT0001")
    assert (r.payer.name, r.payer.id_qualifier, r.payer.id) == ("SYNTHETIC MEDICARE CONTRACTOR", "2U", "SYNMAC01")
    assert (r.payee.id_qualifier, r.payee.id) == ("XX", "1234567893")


def test_paid_claim_with_lines_adjustments_and_control_numbers():
    paid = claims()[0]
    assert (paid.claim_id, paid.status, paid.charge, paid.paid, paid.patient_responsibility) == (
        "SYN-1001", "1", Decimal("150.00"), Decimal("98.40"), Decimal("24.60"))
    assert paid.payer_control_number == "SYNPCN0001" and paid.frequency == "1" and not paid.reversal
    first, second = paid.services
    assert (first.procedure, first.modifiers, first.charge, first.paid, first.units) == (
        "97140", ("GP", "59"), Decimal("50.00"), Decimal("39.36"), Decimal("1"))
    assert first.control_number == "SYN-1001-1" and first.allowed == Decimal("49.20")
    assert first.date == datetime.date(2026, 5, 14)
    assert [(a.group, a.reason, a.amount) for a in second.adjustments] == [
        ("CO", "45", Decimal("26.20")), ("PR", "2", Decimal("14.76"))]
    # Money adds up exactly: paid + adjustments = charge, line by line.
    for line in paid.services:
        assert line.paid + sum(a.amount for a in line.adjustments) == line.charge


def test_denials_carry_their_carcs_and_rarcs():
    bundled, missing_info = claims()[1:3]
    assert bundled.status == "4"
    assert [(s.procedure, [(a.group, a.reason) for a in s.adjustments], s.remarks) for s in bundled.services] == [
        ("97140", [("CO", "97")], ("M15",)), ("97012", [("CO", "4")], ("N519",))]
    assert missing_info.remarks == ("MA130",)
    assert missing_info.services[0].remarks == ("M51", "N657")
    assert missing_info.services[0].adjustments[0].reason == "16"


def test_a_reversal_is_marked_and_its_correction_follows():
    reversal, corrected = claims()[3:5]
    assert reversal.reversal and reversal.status == "22" and reversal.frequency == "8"
    assert reversal.paid == Decimal("-48.00") and reversal.services[0].units == Decimal("-1")
    assert not corrected.reversal and corrected.claim_id == reversal.claim_id and corrected.frequency == "7"
    assert reversal.paid + corrected.paid == Decimal("-8.00")


def test_provider_level_adjustments_on_the_closing_record():
    plb = records()[-1].provider_adjustments
    assert [(p.reason, p.reference, p.amount) for p in plb] == [("L6", "", Decimal("0.00")),
                                                               ("WO", "SYNPCN0000", Decimal("-8.00"))]
    assert str(plb[1].at) == "segment 57 (PLB) of ST 0001, element PLB05"


def test_patient_names_and_member_ids_never_reach_any_output():
    damaged = REMIT.replace(b"CLP*SYN-1004*4*80.00", b"CLP*SYN-1004*4*8O.00").replace(b"SE*58*0001", b"SE*57*0001")
    everything = repr(records(damaged))
    assert "8O.00" not in everything  # the unreadable amount is named, not quoted
    for secret in ("PATIENTONE", "PATIENTTWO", "SYN000000A1", "SYN000000B2", "SYNTHETIC*"):
        assert secret not in everything


def test_damaged_amounts_and_envelopes_are_reported_never_fatal():
    damaged = REMIT.replace(b"CLP*SYN-1004*4*80.00", b"CLP*SYN-1004*4*8O.00").replace(b"SE*58*0001", b"SE*57*0001")
    out = records(damaged)
    assert len([r for r in out if r.claim is not None]) == 5
    bad = out[1]
    assert bad.claim.charge is None
    assert [d.message for d in bad.diagnostics] == ["segment 28 (CLP) of ST 0001, element CLP03: not an amount"]
    assert bad.diagnostics[0].severity == "warning"
    closing = out[-1]
    assert not closing.ok and "SE01: says '57' segments" in closing.diagnostics[0].message


def test_an_837_is_not_read_as_a_remittance():
    claim_file = (DATA / "therapy-three-claims.837").read_bytes()
    out = records(claim_file)
    assert [r.claim for r in out] == [None]
    assert "is not a remittance (835)" in out[0].diagnostics[0].message


def test_streaming_a_remittance_holds_one_claim_at_a_time():
    body = REMIT.split(b"LX*1~\n")[1].split(b"PLB*")[0]
    many = REMIT.replace(body, body * 200).replace(b"SE*58*0001", b"SE*%d*0001" % (58 + body.count(b"~") * 199))
    seen = 0
    for record in read_835(many, "many.835"):
        seen += record.claim is not None
        assert record.ok, record.diagnostics
    assert seen == 1000


# --- the third-party samples -------------------------------------------------------

KNOWN_DEFECTS = {
    # file: (claims, defects the README lists, as (code, element or segment named in the message))
    "cob-contractural-adjustment.835": (1, {("x12_missing_segment", "PER*BL"), ("x12_missing_element", "BPR16"),
                                            ("x12_component_separator", "SVC01")}),
    "demo.835": (2, {("x12_missing_segment", "PER*BL"), ("x12_unused_element", "TS309"),
                     ("x12_unused_element", "TS311")}),
    "managed-care.835": (2, {("x12_missing_segment", "PER*BL"), ("x12_value", "BPR16")}),
    "medicare-part-a.835": (2, {("x12_missing_segment", "PER*BL"), ("x12_unused_element", "TS309"),
                                ("x12_unused_element", "TS311")}),
    "secondary-payment.835": (2, {("x12_missing_segment", "PER*BL"), ("x12_missing_element", "BPR16"),
                                  ("x12_component_separator", "SVC01")}),
    "tertiary-payment.835": (1, {("x12_missing_segment", "PER*BL"), ("x12_missing_element", "BPR16"),
                                 ("x12_missing_element", "SVC01-2"), ("x12_value", "SVC06-1")}),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(KNOWN_DEFECTS))
def test_every_sample_reads_and_its_known_defects_are_warnings(name):
    out = list(read_835(str(SAMPLES / name), name))
    count, defects = KNOWN_DEFECTS[name]
    assert len([r for r in out if r.claim is not None]) == count
    found = {(d.code, d.message) for r in out for d in r.diagnostics}
    for code, where in defects:
        assert any(c == code and where in m for c, m in found), (code, where, found)
    assert all(d.severity == "warning" for r in out for d in r.diagnostics)
    assert all(r.ok for r in out)


@needs_shared
def test_sample_amounts_are_exact():
    out = [r.claim for r in read_835(str(SAMPLES / "secondary-payment.835")) if r.claim]
    second = out[1]
    assert (second.claim_id, second.charge, second.paid, second.patient_responsibility) == (
        "0001000053", Decimal("751.50"), Decimal("310.00"), Decimal("220.00"))
    assert [(s.procedure, s.modifiers, s.paid) for s in second.services] == [
        ("12345", ("26",), Decimal("30.00")), ("66543", ("26",), Decimal("280.00"))]
    assert [(a.group, a.reason, a.amount) for a in second.services[1].adjustments] == [
        ("PR", "1", Decimal("150.00")), ("PR", "2", Decimal("70.00")), ("CO", "42", Decimal("85.00"))]


def test_a_denial_whose_amount_cannot_be_read_is_still_a_denial():
    # CO-97 with a damaged amount: dropping the adjustment would turn the denial into a
    # payment (and a correct prediction into a false alarm); it is kept at 0.00, with a warning.
    damaged = REMIT.replace(b"CAS*CO*97*", b"CAS*CO*97*X", 1)
    bundled = claims(damaged)[1]
    (adjustment,) = bundled.services[0].adjustments
    assert (adjustment.group, adjustment.reason, adjustment.amount) == ("CO", "97", Decimal("0"))
    (record,) = [r for r in records(damaged) if r.claim is not None and r.claim.claim_id == bundled.claim_id]
    assert any("reason code 97 has no readable amount: the adjustment is counted" in d.message for d in record.diagnostics)
