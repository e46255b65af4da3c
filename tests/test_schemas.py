"""The JSON Schemas shipped beside the claim schema describe what payerlint writes: every
result of the bundled examples (routed, explained, strict) and every diagnostic of a
broken rulebook validates, and what the contract forbids is refused. (The session-wide
guard in conftest.py validates every other result the suite produces.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import jsonschema_rs
import pytest

from conftest import ROOT
from payerlint.api import DiagnosticError, Router, load_rulebook
from payerlint.claims.reader import read_records
from payerlint.compile.pipeline import Loader
from payerlint.contract import SCHEMA_NAMES, SEVERITIES, VERDICTS, load_schema
from payerlint.home import Home

HOME = Home(ROOT, "tests")
ROUTER = Router(loader=Loader(HOME))


def _results(router):
    records = read_records([str(ROOT / "examples" / "claims"), str(ROOT / "examples" / "replay")])
    return [r.to_json() for r in router.check_records(records)]


@pytest.fixture(scope="module")
def results():
    plain = _results(ROUTER)
    explained = _results(ROUTER.with_options(explain=True, strict=True))
    return plain + explained


def test_every_shipped_schema_is_a_valid_schema_with_a_stable_urn_id():
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["$id"] == f"urn:payerlint:schema:{name}:v1"


def test_every_example_result_validates_in_both_validators(results):
    assert len(results) > 40
    assert {"clean", "deny", "error"} <= {r["verdict"] for r in results} <= set(VERDICTS)
    assert any(f.get("explanation") for r in results for f in r["findings"])
    assert any(r["not_evaluated"] for r in results) and any(r["fix"] for r in results)
    reference = jsonschema.Draft7Validator(load_schema("result"))
    fast = jsonschema_rs.validator_for(load_schema("result"))
    for result in results:
        assert list(reference.iter_errors(result)) == [], result["claim_id"]
        assert fast.is_valid(result)


def test_the_contract_refuses_what_payerlint_never_writes(results):
    validator = jsonschema.Draft7Validator(load_schema("result"))
    denied = next(r for r in results if r["verdict"] == "deny")

    def refused(change) -> bool:
        broken = copy.deepcopy(denied)
        change(broken)
        return not validator.is_valid(broken)

    assert refused(lambda r: r.update(verdict="denied"))
    assert refused(lambda r: r.pop("complete"))
    assert refused(lambda r: r.update(surprise=1))
    assert refused(lambda r: r["findings"][0].update(severity="fatal"))
    assert refused(lambda r: r["findings"][0].update(line=-1))
    assert refused(lambda r: r["findings"][0].update(extra="x"))
    assert refused(lambda r: r["fix"].append({"op": "replace", "path": "/lines/0/units"}))  # replace needs a value
    assert refused(lambda r: r.update(verdict="error"))  # an error result is never complete
    assert set(load_schema("result")["definitions"]["finding"]["properties"]["severity"]["enum"]) == set(SEVERITIES)


def test_a_finding_may_carry_the_denial_code_another_branch_adds(results):
    """The rule-content work adds `denial` (group, CARC, RARCs, or null) to findings."""
    validator = jsonschema.Draft7Validator(load_schema("result"))
    result = copy.deepcopy(next(r for r in results if r["verdict"] == "deny"))
    result["findings"][0]["denial"] = {"group": "CO", "reason": "97", "remarks": ["M15"]}
    assert validator.is_valid(result)
    result["findings"][0]["denial"] = None
    assert validator.is_valid(result)
    result["findings"][0]["denial"] = {"group": "CO"}
    assert not validator.is_valid(result)


def test_diagnostics_of_a_broken_rulebook_validate():
    validator = jsonschema.Draft7Validator(load_schema("diagnostic"))
    seen = 0
    for path in sorted((ROOT / "tests" / "syntax" / "bad").glob("*.rules")):
        with pytest.raises(DiagnosticError) as caught:
            load_rulebook(str(path), loader=Loader(HOME))
        for diagnostic in caught.value.diagnostics:
            data = diagnostic.to_json()
            assert list(validator.iter_errors(data)) == [], (path.name, data)
            seen += 1
    assert seen > 10
    assert not validator.is_valid({"code": "Not Snake", "severity": "error", "message": "x"})
    assert not validator.is_valid({"code": "x", "severity": "error", "message": "x", "file": "a.rules"})


def test_the_session_guard_validates_results_as_they_are_written(contract_guard, clean_claim):
    before = contract_guard.counts["result"]
    json.loads(ROUTER.check(clean_claim).dumps())
    assert contract_guard.counts["result"] == before + 1
    from payerlint.evaluate.result import Result

    odd = Result("C-1", "medicare", (), "maybe", ())  # a verdict the contract does not know
    with pytest.raises(AssertionError, match="verdict"):
        odd.to_json()
