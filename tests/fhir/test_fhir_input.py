"""FHIR R4 Claim input: hand-written synthetic Claims for therapy services (97140, 97110,
97530 with GP, 59, KX, CQ; minutes in supportingInfo), a Bundle with one broken Claim
among good ones, and single resources broken in each way the reader refuses.

What a user notices: the same findings as for the payerlint JSON claim, told in FHIR
terms (`Claim.item[1].quantity.value`), one result per Claim in entry order, and a Claim
that cannot be read is one error naming where while the others are still checked."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import DATA, ROOT
from payerlint.api import Router
from payerlint.formats import claim_records
from payerlint.claims.reader import Record, read_records
from payerlint.cli import main
from payerlint.fhir import records as fhir_records

FHIR = DATA / "fhir"
SI = "https://payerlint.example/fhir/CodeSystem/supporting-info"


@pytest.fixture(scope="module")
def router():
    return Router()


def fhir_claim() -> dict:
    return json.loads((FHIR / "clean-claim.json").read_text(encoding="utf-8"))


def convert(resource, payer_known=None) -> list[Record]:
    return list(fhir_records(Record("in.json", resource, None), payer_known))


def check_all(router, path):
    records = claim_records(read_records([str(path)]), "auto", lambda k: router.registry.resolve(k) is not None)
    return list(router.check_records(records))


def located(result) -> dict:
    return dict(result.extra)["source"]["locations"]


# ------------------------------------------------------------------ one good Claim


def test_a_fhir_claim_reads_as_the_same_payerlint_claim_and_is_clean(router):
    [record] = convert(fhir_claim())
    expected = json.loads((DATA / "clean_claim.json").read_text(encoding="utf-8"))
    expected["lines"][0]["date"] = "2026-05-14"  # FHIR carries each item's date
    assert record.error is None
    assert record.data == expected
    result = router.check_record(record)
    assert result.verdict == "clean" and result.complete
    assert result.claim_id == "C-1001" and result.record == "in.json"


def test_every_value_read_names_its_fhir_location():
    [record] = convert(fhir_claim())
    where = record.locations.by_pointer
    assert where["/lines/0/modifiers/0"] == "Claim.item[0].modifier[0].coding[0].code"
    assert where["/lines/0/units"] == "Claim.item[0].quantity.value"
    assert where["/lines/0/minutes"] == "Claim.supportingInfo[0].valueQuantity.value"
    assert where["/lines/0/performed_by"] == "Claim.careTeam[0].qualification.coding[0].code"
    assert where["/payer_id"] == "Claim.insurer.resolve().identifier[0].value"
    assert where["/provider/npi"] == "Claim.provider.resolve().identifier[0].value"
    assert where["/diagnoses/0"] == "Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code"
    assert where["/episode/prior_authorization/number"] == "Claim.insurance[0].preAuthRef[0]"
    assert where["/documentation/interventions/0/minutes"] == "Claim.supportingInfo[12].extension[1].valueQuantity.value"
    # A value the claim lacks is told where it would go.
    assert where["/documentation/time_statement"] == "Claim.supportingInfo.where(category='time-statement')"


def test_a_finding_and_its_fix_are_told_in_fhir_terms(router):
    claim = fhir_claim()
    claim["item"][0]["quantity"]["value"] = 2  # 22 minutes of 97140 is 1 unit (CMS)
    [record] = convert(claim)
    result = router.check_record(record)
    assert [f.rule for f in result.findings] == ["units.total"]
    assert result.findings[0].fix == ({"op": "replace", "path": "/lines/0/units", "value": 1},)
    assert located(result) == {"/lines/0/units": "Claim.item[0].quantity.value"}
    out = json.loads(result.dumps())
    assert out["source"] == {"format": "FHIR R4 Claim", "locations": {"/lines/0/units": "Claim.item[0].quantity.value"}}
    assert result.source == out["source"]  # the same on the typed result (docs/api.md)
    assert router.check(json.loads((DATA / "clean_claim.json").read_text())).source is None  # payerlint JSON


def test_a_value_the_schema_refuses_is_reported_at_its_fhir_location(router):
    claim = fhir_claim()
    claim["item"][0]["quantity"]["value"] = 1.5
    claim["item"][0]["servicedDate"] = "2026-05"  # a FHIR partial date: not a date of service
    result = router.check_record(convert(claim)[0])
    assert result.verdict == "error"
    pointers = {f.pointer for f in result.findings}
    assert {"/lines/0/units", "/lines/0/date"} <= pointers
    assert located(result)["/lines/0/units"] == "Claim.item[0].quantity.value"
    assert located(result)["/lines/0/date"] == "Claim.item[0].servicedDate"


def test_missing_documentation_is_not_evaluated_and_says_where_it_would_go(router):
    claim = fhir_claim()
    claim["supportingInfo"] = [s for s in claim["supportingInfo"]
                               if s["category"]["coding"][0]["code"] in ("minutes", "assistant-minutes")]
    result = router.check_record(convert(claim)[0])
    assert not result.complete
    missing = {n.missing for n in result.not_evaluated}
    assert "/documentation" in missing
    assert located(result)["/documentation"] == "Claim.supportingInfo (payerlint documentation categories)"


def test_the_insurer_identifier_the_registry_knows_is_the_payer(router):
    claim = fhir_claim()
    claim["contained"][1]["identifier"] = [{"system": "urn:example:naic", "value": "00000"},
                                          {"system": "urn:example:payer-id", "value": "uhc-ma"}]
    known = lambda key: router.registry.resolve(key) is not None  # noqa: E731
    assert convert(claim, known)[0].data["payer_id"] == "uhc-ma"
    result = router.check_record(convert(claim, known)[0])
    assert result.rulebooks == ("uhc-medicare-advantage@2026Q2",)
    # Without a registry the first identifier is taken; routing then names the closest ids.
    unrouted = router.check_record(convert(claim)[0])
    assert unrouted.findings[0].rule == "routing.unknown_payer"


def test_diagnoses_follow_their_sequence_and_items_point_by_diagnosis_sequence():
    claim = fhir_claim()
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    claim["diagnosis"] = [
        {"sequence": 7, "diagnosisCodeableConcept": {"coding": [{"system": icd, "code": "Z47.1"}]}},
        {"sequence": 3, "diagnosisCodeableConcept": {"coding": [{"system": icd, "code": "M25661"}]}},
    ]
    claim["item"][0]["diagnosisSequence"] = [7, 3]
    data = convert(claim)[0].data
    assert data["diagnoses"] == ["M25.661", "Z47.1"]  # sorted by sequence; the dot restored
    assert data["lines"][0]["diagnosis_pointers"] == [2, 1]


def test_an_assistant_on_the_care_team_performs_the_item_and_the_therapist_bills():
    bundle = json.loads((FHIR / "therapy-bundle.json").read_text(encoding="utf-8"))
    records = convert(bundle)
    b = records[1].data
    assert b["claim_id"] == "FHIR-B-assistant-kx"
    assert [line["performed_by"] for line in b["lines"]] == ["PTA", "PT", "PT"]
    assert b["provider"] == {"npi": "1234567893", "discipline": "PT"}
    assert [line["modifiers"] for line in b["lines"]] == [["GP", "CQ", "KX"], ["GP", "KX"], ["GP", "59", "KX"]]
    assert [line["assistant_minutes"] for line in b["lines"]] == [30, 0, 0]
    assert b["patient"] == {"id": "SYN-P-0001", "birth_date": "1948-03-09", "state": "OR"}


# ------------------------------------------------------------------ a Bundle


def test_a_bundle_gives_one_result_per_claim_in_entry_order_and_a_broken_claim_is_one_error(router):
    results = check_all(router, FHIR / "therapy-bundle.json")
    assert [(r.claim_id, r.verdict) for r in results] == [
        ("FHIR-A-units", "deny"), ("FHIR-B-assistant-kx", "clean"), ("FHIR-C-broken", "error"),
        ("FHIR-D-kx-gp", "deny")]  # a Claim that cannot be read is still named by its readable identifier
    assert [r.record.rsplit(" ", 1)[1] for r in results] == [f"Bundle.entry[{i}]" for i in (4, 5, 6, 7)]
    a, _, broken, d = results
    assert a.findings[0].rule == "units.total"
    assert located(a)["/lines/1/units"] == "Claim.item[1].quantity.value"
    [error] = broken.findings
    assert error.rule == "input.fhir"
    assert "Bundle.entry[6]: Claim.item[0].diagnosisSequence[0]: names no Claim.diagnosis.sequence" in error.message
    assert "Claim.item[1].productOrService: no coding from CPT" in error.message
    assert {f.rule for f in d.findings} == {"threshold.kx_missing", "modifier.therapy_missing"}
    assert located(d)["/lines/1/modifiers"] == "Claim.item[1].modifier"
    assert located(d)["/lines/1/assistant_minutes"].startswith("Claim.supportingInfo.where(category='assistant-minutes')")


def test_the_cli_reads_fhir_and_shows_fhir_locations(capsys):
    code = main(["check", str(FHIR / "therapy-bundle.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "fix:  replace /lines/1/units 1  [Claim.item[1].quantity.value]" in out
    assert "line 2 (/lines/1)  deny  modifier  modifier.therapy_missing  [Claim.item[1]]" in out
    assert "4 claims checked: 1 clean, 0 warn, 2 deny, 1 error" in out


def test_fhir_ndjson_reads_a_claim_per_line_and_input_fhir_refuses_a_payerlint_claim(tmp_path, capsys):
    claim = fhir_claim()
    second = copy.deepcopy(claim)
    second["identifier"][0]["value"] = "C-1002"
    clean = (DATA / "clean_claim.json").read_text(encoding="utf-8")
    path = tmp_path / "claims.ndjson"
    path.write_text("\n".join([json.dumps(claim), json.dumps(second), json.dumps(json.loads(clean)), "{oops"]) + "\n",
                    encoding="utf-8")
    assert main(["check", str(path), "--format", "jsonl"]) == 1
    auto = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["claim_id"], r["verdict"], r["record"]) for r in auto] == [
        ("C-1001", "clean", f"{path}:1"), ("C-1002", "clean", f"{path}:2"), ("C-1001", "clean", f"{path}:3"),
        (None, "error", f"{path}:4")]
    assert "source" in auto[0] and "source" not in auto[2]
    main(["check", str(path), "--format", "jsonl", "--input", "fhir"])
    strict = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["verdict"] for r in strict] == ["clean", "clean", "error", "error"]
    assert "expected a FHIR resource" in strict[2]["findings"][0]["message"]


# ------------------------------------------------------------------ what the reader refuses

MARKER = "ZQXJFHIR"


def _broken(change):
    claim = fhir_claim()
    claim["contained"][0]["identifier"][0]["value"] = f"P-{MARKER}"
    change(claim)
    return claim


def _minutes_in_hours(claim):
    claim["supportingInfo"][0]["valueQuantity"] = {"value": 1, "code": "h", "system": "http://unitsofmeasure.org"}


def _unknown_category(claim):
    claim["supportingInfo"][2]["category"]["coding"][0]["code"] = f"visit-{MARKER}"


def _unlinked_minutes(claim):
    claim["item"][0]["informationSequence"] = [2]


def _two_day_period(claim):
    del claim["item"][0]["servicedDate"]
    claim["item"][0]["servicedPeriod"] = {"start": "2026-05-14", "end": "2026-05-15"}


def _items_not_an_array(claim):
    claim["item"] = {"sequence": 1}


def _who_icd10(claim):
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["system"] = "http://hl7.org/fhir/sid/icd-10"


def _modifier_without_system(claim):
    claim["item"][0]["modifier"][0]["coding"][0].pop("system")


def _care_team_unknown(claim):
    claim["item"][0]["careTeamSequence"] = [9]


@pytest.mark.parametrize("change, where, says", [
    (_minutes_in_hours, "Claim.supportingInfo[0].valueQuantity.code", "expected minutes"),
    (_unknown_category, "Claim.supportingInfo[2].category", "not a payerlint supportingInfo category"),
    (_unlinked_minutes, "Claim.supportingInfo[0].category", "informationSequence"),
    (_two_day_period, "Claim.item[0].servicedPeriod", "one date of service per line"),
    (_items_not_an_array, "Claim.item", "expected a JSON array, found an object"),
    (_who_icd10, "Claim.diagnosis[0].diagnosisCodeableConcept", "no coding from ICD-10-CM"),
    (_modifier_without_system, "Claim.item[0].modifier[0]", "no coding from CPT or HCPCS"),
    (_care_team_unknown, "Claim.item[0].careTeamSequence[0]", "names no Claim.careTeam.sequence"),
])
def test_a_claim_that_cannot_be_read_is_one_error_naming_where_and_quoting_nothing(router, change, where, says):
    [record] = convert(_broken(change))
    assert record.data is None
    result = router.check_record(record)
    assert result.verdict == "error" and [f.rule for f in result.findings] == ["input.fhir"]
    message = result.findings[0].message
    assert f"in.json: {where}: " in message or f"({where}: " in message or f"; {where}: " in message
    assert says in message
    assert MARKER not in result.dumps()


@pytest.mark.parametrize("resource, says", [
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]},
     "the Bundle holds no Claim resource"),
    ({"resourceType": "Patient", "name": [{"family": MARKER}]}, "expected a FHIR Claim or a Bundle of Claims"),
    ({"resourceType": "Bundle", "entry": {"resource": {}}}, "Bundle.entry: expected a JSON array"),
    ({"resourceType": "Bundle", "entry": [42, {"resource": "x"}]}, "Bundle.entry[0]: expected an entry"),
])
def test_a_resource_that_is_not_claims_is_an_error_record_not_a_lost_input(resource, says):
    records = convert(resource)
    assert records and all(r.data is None for r in records)
    assert says in records[0].error.message
    assert all(MARKER not in r.error.message for r in records)


def test_a_broken_entry_does_not_stop_the_rest_of_the_bundle(router):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": fhir_claim()}, {"resource": [1]}, {"resource": fhir_claim()}]}
    results = [router.check_record(r) for r in convert(bundle)]
    assert [r.verdict for r in results] == ["clean", "error", "clean"]
    assert results[1].record == "in.json Bundle.entry[1]"


def test_the_documentation_lists_every_supporting_info_category_and_crosswalk_row():
    from payerlint.fhir.claim import mapping

    doc = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    for code in mapping()["supporting_info"]:
        assert f"`{code}`" in doc, code
    for row in mapping()["care_team"]:
        assert f"`{row.get('code') or row['prefix']}" in doc, row


def test_mutated_fhir_claims_never_raise_never_lose_a_claim_and_never_leak(router):
    """Seeded mutations of the Bundle (odd values at random elements, from the hostile
    batch generator): every Claim entry yields exactly one result, whatever it holds."""
    import random
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import hostile

    rng = random.Random(2026)
    base = json.loads((FHIR / "therapy-bundle.json").read_text(encoding="utf-8"))

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for key, value in node.items():
                yield from paths(value, prefix + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from paths(value, prefix + (index,))

    every = [p for p in paths(base) if len(p) > 3]
    for _ in range(150):
        bundle = copy.deepcopy(base)
        for path in rng.sample(every, 3):
            node = bundle
            for key in path[:-1]:
                node = node[key] if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(
                    key, int) and key < len(node) else None
                if node is None:
                    break
            if isinstance(node, (dict, list)):
                value = rng.choice(hostile.ODD_VALUES + [f"{MARKER}-odd"])
                try:
                    node[path[-1]] = copy.deepcopy(value)
                except (IndexError, TypeError):
                    pass
        claims = sum(1 for e in bundle["entry"] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                     and e["resource"].get("resourceType") == "Claim")
        results = [router.check_record(r) for r in convert(bundle, router.registry.resolve)]
        assert len(results) >= claims
        for result in results:
            assert not any(f.rule == "internal.error" for f in result.findings), result.dumps()[:400]


@pytest.mark.parametrize("name, model", [("clean-claim.json", "claim.Claim"), ("therapy-bundle.json", "bundle.Bundle")])
def test_the_fixtures_are_valid_fhir_to_an_independent_implementation(name, model):
    """fhir.resources (R4B models, which read these R4 Claims) accepts every fixture: the
    reader is tested on real FHIR, not on JSON shaped to suit it."""
    resources = pytest.importorskip("fhir.resources", reason="fhir.resources is in the test extra")
    import importlib

    module, cls = model.split(".")
    validator = getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), cls)
    validator.model_validate(json.loads((FHIR / name).read_text(encoding="utf-8")))
    assert resources


def test_a_claim_without_items_is_told_in_fhir_terms(router):
    claim = fhir_claim()
    del claim["item"]
    (record,) = convert(claim)
    result = router.check_record(record)
    assert result.verdict == "error" and result.claim_id == claim["identifier"][0]["value"]
    (finding,) = result.findings
    assert "Claim.item: the Claim has no items, so it has no service lines to check" in finding.message
