"""The 837P writer: read -> write -> read gives the same claims, the files pass pyx12's
validator, and a claim lacking what the 837P needs is reported, never filled in."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payerlint.payers.registry import Registry
from payerlint.x12.claims837 import read_837p
from payerlint.x12.writer837 import WriterSettings, write_837p

from .helpers import ROOT, three_claims

REGISTRY = Registry.load(ROOT)


def write(claims, **options) -> tuple[str, list]:
    out = io.StringIO()
    problems = write_837p(claims, out, WriterSettings(**options), registry=REGISTRY)
    return out.getvalue(), problems


def read_back(text: str):
    return list(read_837p(text.encode("latin-1"), "written.837", registry=REGISTRY))


# --- synthetic claims in the part of the claim model an 837P carries -------------

_code = st.from_regex(r"\A(97[0-9]{3}|G0[0-9]{3})\Z")
_modifier = st.sampled_from(["GP", "GO", "GN", "59", "XU", "XS", "KX", "CQ", "CO", "AT", "25"])
_icd10 = st.from_regex(r"\A[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?\Z")
_dates = st.dates(min_value=__import__("datetime").date(2024, 1, 1), max_value=__import__("datetime").date(2027, 12, 31))
_money = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False).map(lambda d: f"{d:.2f}")
_ident = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{0,19}\Z")
_member = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{1,19}\Z")  # NM109: 2 to 80 characters


@st.composite
def lines(draw, diagnoses: int):
    start = draw(_dates)
    line = {"code": draw(_code), "modifiers": draw(st.lists(_modifier, max_size=4, unique=True)),
            "units": draw(st.integers(1, 999)), "charge": draw(_money),  # 0 is not written: not billed
            "diagnosis_pointers": draw(st.lists(st.integers(1, diagnoses), min_size=1, max_size=4, unique=True)),
            "date": start.isoformat()}
    if draw(st.booleans()) and draw(st.booleans()):
        line["date_through"] = (start + __import__("datetime").timedelta(days=draw(st.integers(1, 6)))).isoformat()
    if draw(st.booleans()):
        line["place_of_service"] = draw(st.sampled_from(["02", "10", "11", "22"]))
    if draw(st.booleans()):
        line["control_number"] = draw(_ident)
    return line


@st.composite
def claims(draw):
    diagnoses = draw(st.lists(_icd10, min_size=1, max_size=12))
    items = draw(st.lists(lines(len(diagnoses)), min_size=1, max_size=6))
    patient = {"id": draw(_member)}
    if draw(st.booleans()):
        patient["birth_date"] = draw(_dates).isoformat()
    if draw(st.booleans()):
        patient["state"] = draw(st.sampled_from(["KY", "OH", "PA", "IN", "AL"]))
    claim = {
        "claim_id": draw(_ident),
        "payer_id": draw(st.sampled_from(["medicare", "anthem-commercial", "medicaid-ky", "uhc-medicare-advantage"])),
        "patient": patient,
        "provider": {"npi": draw(st.from_regex(r"\A[0-9]{10}\Z")), "discipline": draw(st.sampled_from(["PT", "OT", "SLP", "DC"]))},
        "date_of_service": min(line["date"] for line in items),
        "place_of_service": draw(st.sampled_from(["11", "22", "02"])),
        "diagnoses": diagnoses,
        "lines": items,
    }
    if draw(st.booleans()):
        claim["episode"] = {"prior_authorization": {"number": draw(_ident)}}
    return claim


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims(), min_size=1, max_size=5))
def test_round_trip_gives_the_same_claims(batch):
    text, problems = write(batch)
    assert not [p for p in problems if p.severity == "error"]
    records = read_back(text)
    assert [r.data for r in records] == batch
    assert all(r.ok for r in records), [d.message for r in records for d in r.errors]


@settings(max_examples=30, deadline=None)
@given(st.lists(claims(), min_size=1, max_size=4))
def test_group_billing_npi_writes_the_claim_provider_as_rendering(batch):
    text, _ = write(batch, billing_npi="1999999992")
    assert [r.data for r in read_back(text)] == batch
    assert "NM1*85*2*UNKNOWN*****XX*1999999992~" in text and "NM1*82*1*" in text


def test_the_synthetic_file_round_trips_and_the_output_is_deterministic():
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    first, _ = write(good)
    second, _ = write(good)
    assert first == second
    assert [r.data for r in read_back(first)] == good
    assert first.startswith("ISA*00*          *00*          *ZZ*PAYERLINT      *ZZ*RECEIVER       *260518*1200*^*00501*")


def test_a_claim_missing_what_the_837p_needs_is_reported_not_invented():
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    bad = dict(good[0], lines=[dict(good[0]["lines"][0])])
    del bad["lines"][0]["charge"]
    del bad["place_of_service"]
    icd9 = dict(good[0], diagnoses=["7242"])
    short = dict(good[0], patient={"id": "A"})
    text, problems = write([bad, good[1], icd9, short])
    assert [(p.index, p.severity) for p in problems] == [(0, "error"), (2, "error"), (3, "error")]
    assert "/patient/id is required by the 837P (NM109 of loop 2010BA, 2 to 80 characters)" in problems[2].message
    assert "/lines/0/charge is required (SV102)" in problems[0].message
    assert "/place_of_service is required" in problems[0].message
    assert "/diagnoses/0 is not an ICD-10-CM code" in problems[1].message
    assert [r.data for r in read_back(text)] == [good[1]]


def _pyx12_validate(text: str, tmp_path) -> tuple[bool, list[str]]:
    x12n = pytest.importorskip("pyx12.x12n_document", reason="pyx12 is not installed (pip install -e '.[test]')")
    import pyx12.params

    path = tmp_path / "export.837"
    path.write_text(text, encoding="ascii")
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    logger = logging.getLogger("pyx12")
    handler = Collect()
    logger.addHandler(handler)
    try:
        ok = x12n.x12n_document(param=pyx12.params.params(), src_file=str(path), fd_997=io.StringIO(), fd_html=None)
    finally:
        logger.removeHandler(handler)
    return ok, messages


def test_exported_files_pass_pyx12(tmp_path):
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    text, _ = write(good * 3, billing_npi="1999999992")
    ok, messages = _pyx12_validate(text, tmp_path)
    assert ok, messages


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(claims(), min_size=1, max_size=3))
def test_generated_claims_export_to_files_pyx12_accepts(tmp_path, batch):
    text, _ = write(batch)
    ok, messages = _pyx12_validate(text, tmp_path)
    assert ok, messages


def test_a_claim_whose_date_is_not_an_iso_date_is_refused_not_a_crash():
    import io

    from payerlint.x12.writer837 import write_837p

    claim = {"claim_id": "W-1", "payer_id": "medicare", "place_of_service": "11",
             "patient": {"id": "SYN01", "birth_date": "1950-01-01", "state": "KY"},
             "provider": {"npi": "1234567893", "discipline": "PT"}, "date_of_service": "2026-5-7",
             "diagnoses": ["M54.50"], "lines": [{"code": "97140", "modifiers": ["GP"], "units": 1, "charge": "40.00",
                                                 "diagnosis_pointers": [1]}]}
    (problem,) = write_837p([claim], io.StringIO())
    assert problem.severity == "error" and "/lines/0/date must be an ISO date" in problem.message


def test_more_modifiers_or_pointers_than_sv1_holds_are_not_written():
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    five_modifiers = dict(good[0], lines=[dict(good[0]["lines"][0], modifiers=["GP", "59", "KX", "CQ", "76"])])
    five_pointers = dict(good[0], lines=[dict(good[0]["lines"][0], diagnosis_pointers=[1, 1, 1, 1, 1])])
    text, problems = write([five_modifiers, five_pointers, good[1]])
    assert [(p.index, p.severity) for p in problems if p.severity == "error"] == [(0, "error"), (1, "error")]
    assert "modifiers has 5; SV101 holds at most 4" in problems[0].message
    assert "diagnosis_pointers has 5; SV107 holds at most 4" in problems[1].message
    assert [r.data for r in read_back(text)] == [good[1]]


def test_a_line_at_zero_units_or_running_backwards_is_not_written():
    # SV104 of 0 still sends the line's charge; a DTP RD8 range must not end before it starts.
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    zero = dict(good[0], lines=[dict(good[0]["lines"][0], units=0)])
    backwards = dict(good[0], lines=[dict(good[0]["lines"][0], date="2026-05-14", date_through="2026-05-01")])
    text, problems = write([zero, backwards, good[1]])
    errors = [p for p in problems if p.severity == "error"]
    assert [p.index for p in errors] == [0, 1]
    assert "/lines/0/units is 0: a service that earns no unit is not billed; remove the line" in errors[0].message
    assert "/lines/0/date_through is before its date" in errors[1].message
    assert [r.data for r in read_back(text)] == [good[1]]


def test_an_assistant_who_furnished_every_line_reads_back():
    # The reader takes performed_by from the rendering taxonomy (a PTA's is 2252...):
    # the writer must name the assistant's taxonomy, not the therapist's, or it is lost.
    good = [r.data for r in read_837p(three_claims(), "three.837", registry=REGISTRY) if r.ok]
    claim = dict(good[0], lines=[dict(line, performed_by="PTA") for line in good[0]["lines"]])
    text, problems = write([claim])
    assert not [p for p in problems if p.severity == "error"]
    assert "PRV*BI*PXC*225200000X~" in text
    (back,) = read_back(text)
    assert [line["performed_by"] for line in back.data["lines"]] == ["PTA"] * len(claim["lines"])
    mixed = dict(good[0], lines=[dict(good[0]["lines"][0], performed_by="PTA"), dict(good[0]["lines"][0])])
    _, problems = write([mixed])
    assert any("performed_by differ" in p.message for p in problems)
