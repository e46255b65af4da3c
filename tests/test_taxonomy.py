"""One provider taxonomy crosswalk for every input format: the 837P reader (PRV03) and
the FHIR reader (careTeam qualification) read `claims/taxonomy.toml` and give the same
answer for every row, and the docs show every row."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from payerlint.claims.taxonomy import NUCC_SYSTEM, taxonomy_rows
from payerlint.fhir.claim import Resolver, convert
from payerlint.x12 import read_837p

X12 = (ROOT / "tests" / "x12" / "data" / "therapy-three-claims.837").read_bytes()
FHIR = ROOT / "tests" / "data" / "fhir"


def example_code(prefix: str) -> str:
    return (prefix + "00000000")[:9] + "X"


def x12_reading(code: str) -> tuple[str | None, str | None]:
    text = X12.replace(b"PRV*PE*PXC*225100000X", b"PRV*PE*PXC*" + code.encode(), 1)
    claim = next(iter(read_837p(text, "t.837"))).data
    return claim["provider"].get("discipline"), claim["lines"][0].get("performed_by")


def fhir_reading(code: str) -> tuple[str | None, str | None]:
    claim = {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-05-14",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"identifier": {"value": "SYN-P"}}, "provider": {"identifier": {
            "system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
        "insurer": {"identifier": {"value": "medicare"}}, "priority": {"coding": [{"code": "normal"}]},
        "careTeam": [{"sequence": 1, "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi",
                                                               "value": "1234567893"}},
                      "qualification": {"coding": [{"system": NUCC_SYSTEM, "code": code}]}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.50"}]}}],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "synthetic"}}],
        "item": [{"sequence": 1, "careTeamSequence": [1], "diagnosisSequence": [1],
                  "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "97110"}]},
                  "modifier": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "GP"}]}],
                  "servicedDate": "2026-05-14", "quantity": {"value": 1}}],
    }
    data = convert(claim, Resolver(), None).data
    return data.get("provider", {}).get("discipline"), data["lines"][0].get("performed_by")


@pytest.mark.parametrize("row", taxonomy_rows(), ids=lambda row: row.prefix)
def test_both_readers_read_each_taxonomy_row_alike(row):
    code = example_code(row.prefix)
    x12_discipline, x12_performer = x12_reading(code)
    fhir_discipline, fhir_performer = fhir_reading(code)
    assert x12_discipline == fhir_discipline == (row.discipline or None)
    assert fhir_performer == (row.performed_by or None)
    # The 837P names who rendered the claim, not each line: only an assistant says who
    # furnished every line (see docs/x12.md).
    assistant = row.performed_by if row.performed_by and row.performed_by != row.discipline else None
    assert x12_performer == assistant


def test_an_assistant_bills_under_the_therapists_discipline():
    by_class = {row.classification: row for row in taxonomy_rows()}
    assert (by_class["Physical Therapy Assistant"].discipline, by_class["Physical Therapy Assistant"].performed_by) \
        == ("PT", "PTA")
    assert (by_class["Occupational Therapy Assistant"].discipline,
            by_class["Occupational Therapy Assistant"].performed_by) == ("OT", "OTA")
    schema = json.loads((ROOT / "src" / "payerlint" / "schemas" / "claim.schema.json").read_text())
    disciplines = set(schema["properties"]["provider"]["properties"]["discipline"]["enum"])
    performers = set(schema["definitions"]["line"]["properties"]["performed_by"]["enum"])
    for row in taxonomy_rows():
        assert row.discipline in disciplines | {""} and row.performed_by in performers | {""}


def test_one_data_file_and_the_docs_show_every_row():
    assert not (ROOT / "src" / "payerlint" / "x12" / "data" / "taxonomy.toml").exists()
    assert "nucc" not in (ROOT / "src" / "payerlint" / "fhir" / "mapping.toml").read_text().split("[[care_team]]", 1)[1]
    doc = (ROOT / "docs" / "x12.md").read_text(encoding="utf-8")
    for row in taxonomy_rows():
        assert f"`{row.prefix}`" in doc, row.prefix
