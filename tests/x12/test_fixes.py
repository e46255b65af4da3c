"""Fixes told as 837P edits: the JSON Patch forms the bundled rulebooks produce, each
turned into the segment, element and service line a billing team would change."""

from __future__ import annotations

import pytest

from payerlint.payers.registry import Registry
from payerlint.x12.claims837 import read_837p
from payerlint.x12.fixes import PatchError, apply_fix, translate_fix

from .helpers import ROOT, three_claims

CLAIM = {
    "claim_id": "SYN-9", "diagnoses": ["M54.50"], "place_of_service": "11",
    "lines": [
        {"code": "97140", "modifiers": ["GP"], "units": 2, "charge": "50.00", "diagnosis_pointers": [1], "date": "2026-05-14"},
        {"code": "97012", "modifiers": [], "units": 1, "charge": "20.00", "diagnosis_pointers": [1], "date": "2026-05-14"},
        {"code": "97110", "modifiers": ["GP"], "units": 1, "charge": "30.00", "diagnosis_pointers": [1], "date": "2026-05-14"},
    ],
}


def told(ops, claim=CLAIM, sources=None):
    return [str(e) for e in translate_fix(claim, ops, sources)]


@pytest.mark.parametrize("ops, expected", [
    ([{"op": "add", "path": "/lines/1/modifiers/-", "value": "59"}], ["SV1-01-3 add 59 on LX 2"]),
    ([{"op": "replace", "path": "/lines/0/units", "value": 1}], ["SV1-04 set 1 on LX 1"]),
    ([{"op": "remove", "path": "/lines/2"}], ["remove LX 3"]),
    ([{"op": "replace", "path": "/lines/1/code", "value": "G0283"}], ["SV1-01-2 set G0283 on LX 2"]),
    ([{"op": "remove", "path": "/lines/0/modifiers/0"}], ["SV1-01-3 remove on LX 1"]),
    ([{"op": "replace", "path": "/lines/0/modifiers", "value": ["59", "GP"]}],
     ["SV1-01-3 set 59 on LX 1", "SV1-01-4 add GP on LX 1"]),
    ([{"op": "add", "path": "/lines/0/diagnosis_pointers", "value": [1, 2]}], ["SV1-07 set 1:2 on LX 1"]),
    ([{"op": "add", "path": "/diagnoses/-", "value": "M62.830"}], ["HI-02 add ABF:M62830"]),
    ([{"op": "replace", "path": "/place_of_service", "value": "02"}], ["CLM-05-1 set 02"]),
    ([{"op": "add", "path": "/episode", "value": {"prior_authorization": {"number": "A1"}}}], ["REF*G1-02 add A1"]),
    ([{"op": "replace", "path": "/lines/2/date", "value": "2026-05-15"}], ["DTP*472-03 set 20260515 on LX 3"]),
])
def test_each_fix_form_becomes_the_edit_a_biller_makes(ops, expected):
    assert told(ops) == expected


def test_positions_follow_the_original_lines_when_a_patch_removes_one_first():
    ops = [{"op": "remove", "path": "/lines/0"}, {"op": "replace", "path": "/lines/0/units", "value": 3}]
    assert told(ops) == ["remove LX 1", "SV1-04 set 3 on LX 2"]


def test_values_the_837p_does_not_carry_get_a_note():
    ops = [{"op": "add", "path": "/lines/0/body_region", "value": "(state the body region treated)"},
           {"op": "add", "path": "/lines/0/minutes", "value": 22},
           {"op": "add", "path": "/documentation/time_statement", "value": "x"}]
    notes = told(ops, claim={**CLAIM, "documentation": {}})
    assert notes[0] == ("no 837P element carries /lines/0/minutes: it is not sent to the payer; keep it in the "
                        "visit's documentation (the --documentation file for a check)")
    assert [n.split(":")[0] for n in notes[1:]] == ["no 837P element carries /lines/0/body_region",
                                                     "no 837P element carries /documentation/time_statement"]


def test_a_new_line_is_shown_as_the_segments_to_add():
    ops = [{"op": "add", "path": "/lines/-", "value": {"code": "97110", "modifiers": ["GP", "CQ"], "units": 1,
                                                       "charge": "30.00", "diagnosis_pointers": [1], "date": "2026-05-14"}}]
    assert told(ops) == ["add a service line after LX 3: SV1*HC:97110:GP:CQ*30.00*UN*1***1, DTP*472*D8*20260514"]


def test_with_sources_each_edit_names_the_segment_in_the_file():
    records = list(read_837p(three_claims(), "three.837", registry=Registry.load(ROOT)))
    record = records[2]
    ops = [{"op": "add", "path": "/lines/1/modifiers/-", "value": "59"}, {"op": "remove", "path": "/lines/2"},
           {"op": "replace", "path": "/lines/0/units", "value": 1}]
    edits = translate_fix(record.data, ops, record.sources)
    assert [str(e) for e in edits] == [
        "SV1-04 set 1 on LX 1 (segment 53 of ST 0001)",
        "SV1-01-5 add 59 on LX 2 (segment 56 of ST 0001)",
        "remove LX 3 (segment 58 of ST 0001)",
    ]
    # The segment named is the one to change.
    segments = [s for s in three_claims().decode().split("~\n")]
    start = segments.index("ST*837*0001*005010X222A1")
    assert [segments[start + e.at.number - 1].split("*")[0] for e in edits] == ["SV1", "SV1", "LX"]


def test_apply_fix_and_bad_patches():
    fixed = apply_fix(CLAIM, [{"op": "replace", "path": "/lines/0/units", "value": 1}])
    assert fixed["lines"][0]["units"] == 1 and CLAIM["lines"][0]["units"] == 2
    with pytest.raises(PatchError):
        translate_fix(CLAIM, [{"op": "replace", "path": "/lines/9/units", "value": 1}])


def test_a_fifth_modifier_has_no_place_in_sv1_and_says_so():
    # SV101 holds four modifiers (SV101-3 to -6); SV101-7 is the description, where an
    # edit "SV1-01-7 add GP" would put the modifier out of sight.
    claim = {"diagnoses": ["M54.50"], "lines": [{"code": "97110", "modifiers": ["KX", "CQ", "XU", "76"], "units": 1}]}
    (edit,) = translate_fix(claim, [{"op": "add", "path": "/lines/0/modifiers/-", "value": "GP"}])
    assert edit.action == "note" and "SV1-01-7" not in str(edit)
    assert "SV1 holds four modifiers (SV1-01-3 to SV1-01-6) and LX 1 has four: to add GP, replace one" in str(edit)
