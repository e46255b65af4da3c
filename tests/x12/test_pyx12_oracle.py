"""payerlint's 837P reader against an independent parser: pyx12 4.0.0's reading of the
third-party TR3 samples (`../shared/external/x12-837p/expected_pyx12_summary.json`).

For every 5010 file: payerlint reads the same claim ids, places of service, diagnosis
codes, procedure codes, modifiers, units, charges, pointers and dates; and it rejects
(with a structural error) exactly the files pyx12 rejects for structure: envelope,
separators, required loops, segments and elements. pyx12's rejections for a code value
payerlint does not read (PWK02 'AD') are not structural, and those files are read.
The 4010 files are rejected as 4010, the 837I files as institutional.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from payerlint.x12.claims837 import read_837p

from .helpers import EXTERNAL, needs_shared

SUMMARY = EXTERNAL / "x12-837p" / "expected_pyx12_summary.json"
STRUCTURAL = {"x12_envelope", "x12_component_separator", "x12_missing_loop", "x12_missing_segment",
              "x12_missing_element", "x12_unexpected_segment", "x12_segment_order", "x12_too_many",
              "x12_unused_element", "x12_hl_parent", "x12_not_interchange", "x12_truncated"}
# pyx12's wording for a bad code value in an element (not a structural fault).
CODE_VALUE = re.compile(r"is not a valid code for")


def _entries() -> list:
    if not SUMMARY.is_file():
        return [pytest.param(None, marks=needs_shared, id="no-shared")]
    files = json.loads(SUMMARY.read_text(encoding="utf-8"))["files"]
    return [pytest.param(entry, id=entry["file"].rsplit("/", 1)[-1]) for entry in files]


def _structurally_rejected(entry: dict) -> bool:
    errors = entry.get("pyx12_x12valid_errors", [])
    return any(not CODE_VALUE.search(error) for error in errors)


def _records(entry: dict):
    return list(read_837p(str(EXTERNAL / entry["file"]), entry["file"]))


@needs_shared
@pytest.mark.parametrize("entry", _entries())
def test_structure_verdict_matches_pyx12(entry):
    records = _records(entry)
    codes = {d.code for r in records for d in r.errors if d.severity == "error"}
    claims = [r for r in records if r.data is not None]
    assert claims, "every 5010 sample holds a claim, and a claim is never dropped"
    if _structurally_rejected(entry):
        assert codes & STRUCTURAL, f"pyx12 rejects it: {entry['pyx12_x12valid_errors'][:2]}"
    else:
        assert not codes & STRUCTURAL, [d.message for r in records for d in r.errors if d.code in STRUCTURAL]


def _procedure(sv101: str) -> tuple[str, list[str]]:
    parts = sv101.split(":")
    return parts[1], [m for m in parts[2:6] if m]


@needs_shared
@pytest.mark.parametrize("entry", _entries())
def test_values_match_pyx12(entry):
    expected_claims = entry.get("claims") or []
    lines_known = [c for c in expected_claims if all(line["SV101"] is not None for line in c["lines"])]
    if not lines_known:
        # pyx12 could not split this file's composites: its body uses a component
        # separator other than ISA16's. There are no values to compare; payerlint must
        # say what is wrong with the file instead.
        codes = {d.code for r in _records(entry) for d in r.errors}
        assert "x12_component_separator" in codes, codes
        return
    claims = [r.data for r in _records(entry) if r.data is not None]
    assert len(claims) == len(expected_claims)
    for got, want in zip(claims, expected_claims):
        assert got["claim_id"] == want["CLM01"]
        assert got["place_of_service"] == want["CLM05"].split(":")[0]
        assert got["diagnoses"] == [hi.split(":")[1] for hi in want["HI"]]  # ICD-9 kept as read, with its error
        assert len(got["lines"]) == len(want["lines"])
        for line, sv in zip(got["lines"], want["lines"]):
            code, modifiers = _procedure(sv["SV101"])
            assert (line["code"], line["modifiers"]) == (code, modifiers)
            assert Decimal(line["charge"]) == Decimal(sv["SV102"])
            quantity = {"UN": "units", "MJ": "minutes"}[sv["SV103"]]
            assert line[quantity] == Decimal(sv["SV104"])
            assert line["diagnosis_pointers"] == [int(p) for p in sv["SV107"].split(":")]
            assert line.get("place_of_service", "") == sv["SV105"]
            start, _, end = sv["DTP472"].partition("-")
            assert line["date"].replace("-", "") == start
            assert line.get("date_through", line["date"]).replace("-", "") == (end or start)


OLD = EXTERNAL / "x12-837p" / "linuxforhealth-x12" / "837_004010X098A1"


@needs_shared
@pytest.mark.parametrize("path", sorted(OLD.glob("*.837")) if OLD.is_dir() else [pytest.param(None, marks=needs_shared)])
def test_4010_files_are_rejected_with_a_clear_message(path):
    records = list(read_837p(str(path), path.name))
    assert records and all(r.data is None for r in records)
    messages = [d.message for r in records for d in r.errors]
    assert any("4010" in m and "005010X222A1" in m for m in messages)
    assert any("claim(s) (CLM) that were not read" in m for m in messages)


@needs_shared
def test_837i_files_are_rejected_as_institutional():
    files = sorted((EXTERNAL / "x12-837p").rglob("*.837i"))
    assert files
    for path in files:
        records = list(read_837p(str(path), path.name))
        assert all(r.data is None for r in records)
        assert any("institutional" in d.message for r in records for d in r.errors)
