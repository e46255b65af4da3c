"""The 837P reader on hand-written synthetic therapy claims (`data/therapy-three-claims.837`):
three claims in one file, the second broken (an ICD-9 diagnosis, a line without its
date), a dependent patient, 97140/97110/97530 with GP, 59/XU, KX and CQ.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payerlint.payers.registry import Registry
from payerlint.x12.claims837 import read_837p

from .helpers import ROOT, three_claims

REGISTRY = Registry.load(ROOT)


def read(text: bytes, label: str = "three.837"):
    return list(read_837p(text, label, registry=REGISTRY))


def claims(text: bytes):
    return [r for r in read(text) if r.data is not None]


def errors(record, severity="error"):
    return [d for d in record.errors if d.severity == severity]


def test_every_claim_of_the_file_is_read_in_order():
    records = read(three_claims())
    assert [r.origin for r in records] == ["three.837:CLM 1", "three.837:CLM 2", "three.837:CLM 3"]
    first = records[0].data
    assert first == {
        "claim_id": "SYN-1001",
        "payer_id": "medicare",
        "patient": {"id": "SYN000000A1", "birth_date": "1948-01-01", "state": "KY"},
        "provider": {"npi": "1234567893", "discipline": "PT"},
        "date_of_service": "2026-05-14",
        "place_of_service": "11",
        "diagnoses": ["M54.50", "M62.830"],
        "lines": [
            {"code": "97140", "modifiers": ["GP", "59"], "units": 1, "charge": "50.00",
             "diagnosis_pointers": [1, 2], "date": "2026-05-14", "control_number": "SYN-1001-1"},
            {"code": "97110", "modifiers": ["GP"], "units": 2, "charge": "100.00",
             "diagnosis_pointers": [1], "date": "2026-05-14", "control_number": "SYN-1001-2"},
        ],
    }
    assert records[0].ok and not records[0].errors


def test_a_broken_claim_is_reported_and_its_neighbours_still_read():
    first, broken, third = read(three_claims())
    assert first.ok and third.ok
    assert not broken.ok
    codes = {d.code: d for d in errors(broken)}
    assert set(codes) == {"x12_icd9", "x12_missing_segment"}
    assert codes["x12_icd9"].message.startswith("segment 32 (HI) of ST 0001, element HI01-1: qualifier BK")
    assert codes["x12_icd9"].pointer == "/diagnoses/0"
    assert "DTP*472 is missing from loop 2400" in codes["x12_missing_segment"].message
    # The claim is still shown as read, ICD-9 code and all.
    assert broken.data["diagnoses"] == ["7242"]
    assert "date" not in broken.data["lines"][0]


def test_dependent_patient_commercial_alias_prior_auth_and_date_range():
    third = read(three_claims())[2].data
    assert third["payer_id"] == "anthem-commercial"  # NM109 'ANTHEM' is an alias in payers/anthem-commercial.toml
    assert third["patient"] == {"id": "SYNCOM000002", "birth_date": "2010-03-03", "state": "OH"}
    assert third["episode"] == {"prior_authorization": {"number": "SYNAUTH77"}}
    assert [(l["code"], l["modifiers"]) for l in third["lines"]] == [
        ("97530", ["GP", "KX"]), ("97110", ["GP", "CQ"]), ("97140", ["GP", "XU"])]
    assert third["lines"][2]["date"] == "2026-05-18" and third["lines"][2]["date_through"] == "2026-05-19"
    assert "minutes" not in third["lines"][0] and "documentation" not in third


def test_sources_name_segment_element_and_line():
    record = read(three_claims())[0]
    where = {pointer: str(ref) for pointer, ref in record.sources.items()}
    assert where["/claim_id"] == "segment 19 (CLM) of ST 0001, element CLM01"
    assert where["/lines/0/modifiers/1"] == "segment 24 (SV1) of ST 0001, element SV101-4, LX 1"
    assert where["/lines/1/units"] == "segment 28 (SV1) of ST 0001, element SV104, LX 2"
    assert where["/diagnoses/1"] == "segment 20 (HI) of ST 0001, element HI02-2"
    assert where["/provider/discipline"] == "segment 22 (PRV) of ST 0001, element PRV03"
    assert where["/payer_id"] == "segment 13 (SBR) of ST 0001, element SBR09"  # MB: see below
    assert record.sources["/lines/1/units"].line == 30  # ISA and GS come first
    assert record.sources["/lines/1/units"].loop == "2400"
    # Every value in the claim has a source.
    for pointer in _leaf_pointers(record.data):
        assert pointer in record.sources, pointer


def _leaf_pointers(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_pointers(item, f"{prefix}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_pointers(item, f"{prefix}/{index}")
    else:
        yield prefix


def test_payer_by_alias_first_then_by_claim_filing_indicator():
    # SYNMAC01 is no alias; SBR09 MB names Medicare, the only payer of type medicare.
    record = read(three_claims())[0]
    assert record.data["payer_id"] == "medicare" and record.sources["/payer_id"].element == "SBR09"
    # An id that is an alias wins, whatever SBR09 says.
    text = three_claims().replace(b"PI*SYNMAC01", b"PI*medicare-part-b").replace(b"*******MB~", b"*******CI~")
    record = read(text)[0]
    assert record.data["payer_id"] == "medicare"
    assert str(record.sources["/payer_id"]) == "segment 18 (NM1) of ST 0001, element NM109"


def test_an_unknown_commercial_payer_goes_to_the_one_commercial_payer_of_its_state_never_the_template():
    # CI in Ohio: Anthem covers Ohio; the example template covers every state but is kept
    # out of SBR09's guess (match_by_filing_indicator = false).
    text = three_claims().replace(b"PI*ANTHEM~", b"PI*SYN55555~")
    third = read(text)[2]
    assert third.data["payer_id"] == "anthem-commercial" and third.sources["/payer_id"].element == "SBR09"
    # In Florida no commercial payer file covers the state: the id is kept, with a warning.
    florida = read(text.replace(b"N4*COLUMBUS*OH*43004~", b"N4*MIAMI*FL*33101~"))[2]
    assert florida.data["payer_id"] == "SYN55555"
    (warning,) = [d for d in florida.errors if d.code == "x12_payer_unmapped"]
    assert "covers the patient's state" in warning.message


def test_an_unknown_payer_keeps_its_id_and_says_how_to_map_it():
    text = three_claims().replace(b"PI*ANTHEM~", b"PI*SYN55555~").replace(b"SBR*P********CI~", b"SBR*P********ZZ~")
    third = read(text)[2]
    assert third.data["payer_id"] == "SYN55555"
    (warning,) = [d for d in third.errors if d.code == "x12_payer_unmapped"]
    assert warning.severity == "warning"
    assert "SBR09 'ZZ' names no payer type payerlint maps" in warning.message
    assert "aliases" in warning.message


def test_taxonomy_crosswalk_assistant_and_unknown_codes():
    # A PTA as rendering provider: a PT claim whose every line the assistant furnished.
    text = three_claims().replace(b"PRV*PE*PXC*225100000X", b"PRV*PE*PXC*225200000X", 1)
    first = read(text)[0]
    assert first.data["provider"]["discipline"] == "PT"
    assert [line["performed_by"] for line in first.data["lines"]] == ["PTA", "PTA"]
    assert str(first.sources["/lines/1/performed_by"]) == "segment 22 (PRV) of ST 0001, element PRV03"
    assert not [d for d in first.errors if d.code == "x12_discipline_unknown"]
    # A therapist there does not say an assistant took no part: performed_by is left out.
    assert all("performed_by" not in line for line in read(three_claims())[0].data["lines"])
    text = three_claims().replace(b"PRV*PE*PXC*225100000X", b"PRV*PE*PXC*225XF0002X", 1)
    assert read(text)[0].data["provider"]["discipline"] == "OT"
    text = three_claims().replace(b"PRV*PE*PXC*225100000X", b"PRV*PE*PXC*207Q00000X", 1)
    first = read(text)[0]
    assert "discipline" not in first.data["provider"]
    (warning,) = [d for d in first.errors if d.code == "x12_discipline_unknown"]
    assert "MDs and DOs alike" in warning.message


def test_component_separator_disagreeing_with_isa16_names_segment_and_element():
    text = three_claims().replace(b"SV1*HC:97140:GP:59*", b"SV1*HC>97140>GP>59*")
    first = read(text)[0]
    (error,) = errors(first)
    assert error.code == "x12_component_separator"
    assert error.message.startswith("segment 24 (SV1) of ST 0001, element SV101: components are separated by '>'")
    assert error.span.line == 26
    # Shown as it would read with '>' as the separator, so the user sees what was meant.
    assert first.data["lines"][0]["modifiers"] == ["GP", "59"]


def test_cr_lf_after_terminators_changes_nothing_but_line_numbers():
    plain = read(three_claims().replace(b"~\n", b"~"))
    crlf = read(three_claims().replace(b"~\n", b"~\r\n"))
    assert [r.data for r in plain] == [r.data for r in crlf]
    assert plain[1].errors[0].span.line == 1
    assert crlf[1].errors[0].span.line == 34


@pytest.mark.parametrize("terminator", [b"\n", b"\r\n"])
def test_a_line_break_as_the_segment_terminator(terminator):
    text = three_claims().replace(b"~\n", terminator)
    assert [r.data for r in read(text)] == [r.data for r in read(three_claims())]
    assert read(text)[1].errors[0].span.line == 34


def test_broken_envelope_is_an_error_record_and_claims_are_kept():
    text = three_claims().replace(b"SE*61*0001~", b"SE*60*0002~").replace(b"GE*1*101~", b"GE*2*102~")
    text = text.replace(b"IEA*1*000000101~", b"IEA*3*000000999~")
    records = read(text)
    assert [r.origin for r in records] == [
        "three.837:CLM 1", "three.837:CLM 2", "three.837:CLM 3", "three.837:ST 0001",
        "three.837:GS 101", "three.837:ISA 000000101"]
    transaction, group, interchange = (r.errors for r in records[3:])
    assert {d.message.split(": ", 1)[0].rsplit("element ", 1)[-1] for d in transaction} == {"SE01", "SE02"}
    assert any("GE01: says '2' transaction sets, the group has 1" in d.message for d in group)
    assert any("GE02: control number '102' does not match GS06 '101'" in d.message for d in group)
    assert any("IEA01" in d.message for d in interchange) and any("IEA02" in d.message for d in interchange)


def test_truncated_file_and_text_that_is_not_x12():
    cut = three_claims()[: three_claims().index(b"GE*1")]
    records = read(cut)
    assert len([r for r in records if r.data is not None]) == 3
    messages = [d.message for r in records for d in r.errors]
    assert any("has no GE" in m for m in messages) and any("has no IEA" in m for m in messages)
    (record,) = read(b'{"claim_id": "not an 837"}')
    assert record.data is None and record.errors[0].code == "x12_not_interchange"
    assert "ISA" in record.errors[0].message


def test_version_4010_and_institutional_are_not_read_as_claims():
    old = three_claims().replace(b"005010X222A1", b"004010X098A1")
    records = read(old)
    assert [r.origin for r in records] == ["three.837:ST 0001"]
    assert "3 claim(s) (CLM) that were not read" in records[0].errors[-1].message
    institutional = three_claims().replace(b"005010X222A1", b"005010X223A2")
    assert "institutional" in read(institutional)[0].errors[0].message


def test_two_interchanges_with_different_delimiters():
    second = three_claims().replace(b"*", b"|").replace(b"~", b"!").replace(b":", b"^").replace(b"|^|", b"|U|")
    # ISA11 '^' would collide with the component separator: the second file uses 'U'... as 4010 did;
    # here it keeps 00501 with '+' as repetition separator.
    second = second.replace(b"|U|00501|", b"|+|00501|")
    records = read(three_claims() + b"\n" + second)
    assert len([r for r in records if r.data is not None]) == 6
    assert records[0].data == records[3].data


def test_messages_never_quote_patient_values():
    text = three_claims().replace(b"DMG*D8*19480101*F", b"DMG*D8*19481301*F")
    text = text.replace(b"LX*2~\nSV1*HC:97110:GP*100.00", b"LX*2~\nSV1*HC:97110:GP*1O0.00")
    # A stray terminator inside a name makes the rest of it look like a segment id.
    text = text.replace(b"NM1*IL*1*SYNTHETIC*PATIENTONE*", b"NM1*IL*1*SYNTHETIC~PATIENTONE*")
    records = read(text)
    rendered = json.dumps([d.to_json() for r in records for d in r.errors])
    assert "/patient/birth_date" in rendered and "SV102" in rendered and "segment 15 (?) of ST 0001: segment ? is not expected" in rendered
    for secret in ("SYN000000A1", "PATIENTONE", "SYNTHETIC", "1948", "SYN-1001", "1O0.00", "TEST LANE"):
        assert secret not in rendered


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=2000))
def test_never_raises_on_damaged_input(noise, cut):
    text = three_claims()
    damaged = text[:cut] + noise + text[cut + len(noise):]
    records = read(damaged)
    assert records  # something is always said
    for record in records:
        assert record.data is not None or record.errors


def test_reads_a_path_and_a_stream(tmp_path):
    path = tmp_path / "three.837"
    path.write_bytes(three_claims())
    by_path = list(read_837p(str(path), registry=REGISTRY))
    with open(path, "rb") as stream:
        by_stream = list(read_837p(stream, "three.837", registry=REGISTRY))
    assert by_path[0].origin == f"{path}:CLM 1"
    assert [r.data for r in by_path] == [r.data for r in by_stream] == [r.data for r in read(three_claims())]


def test_a_diagnosis_past_hi12_is_a_warning_not_dropped_in_silence():
    text = three_claims()
    start = text.index(b"HI*")
    end = text.index(b"~", start)
    segment = b"HI*ABK:M5450" + b"".join(b"*ABF:M545%d" % (n % 10) for n in range(12))  # 13 composites
    first = read(text[:start] + segment + text[end:])[0]
    assert len(first.data["diagnoses"]) == 12
    (warning,) = [d for d in first.errors if "HI holds at most 12" in d.message]
    assert warning.severity == "warning" and "element HI13" in warning.message and "1 more was not read" in warning.message
