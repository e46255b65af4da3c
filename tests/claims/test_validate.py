"""Claim schema validation: exact pointers and plain-words messages, no patient data."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payerlint.claims.validate import ClaimValidator, pointer

EXAMPLE = {
    "claim_id": "C-1001",
    "payer_id": "medicare",
    "patient": {"id": "P-77", "birth_date": "1950-06-02"},
    "provider": {"npi": "1234567893", "discipline": "PT"},
    "date_of_service": "2026-05-14",
    "diagnoses": ["S93.402D"],
    "episode": {
        "visit_number": 6,
        "visits_this_year": 6,
        "evaluation_date": "2026-04-20",
        "plan_of_care": {"start": "2026-04-20", "certified_on": "2026-04-24", "end": "2026-07-18"},
        "last_progress_report_visit": 1,
        "prior_authorization": {
            "number": "PA-55",
            "visits_authorized": 12,
            "valid_from": "2026-04-20",
            "valid_to": "2026-07-18",
        },
        "therapy_amount_ytd": "1210.00",
    },
    "lines": [
        {
            "code": "97140",
            "modifiers": ["GP"],
            "units": 1,
            "minutes": 22,
            "charge": "48.00",
            "diagnosis_pointers": [1],
            "body_region": "left ankle",
            "performed_by": "PT",
            "assistant_minutes": 0,
        }
    ],
    "documentation": {
        "clinical_indication": "Left ankle sprain",
        "interventions": [
            {"code": "97140", "technique": "grade III talocrural mobilization", "body_region": "left ankle", "minutes": 22}
        ],
        "patient_response": "Dorsiflexion 5 to 12 degrees",
        "functional_goals": "Climb stairs without rail by week 6",
        "skilled_care_justification": "Capsular restriction",
        "clinical_reasoning": "Capsular end-feel",
        "total_timed_minutes": 22,
        "total_treatment_minutes": 30,
    },
}

SECRET = "Jane-Q-Patient-1950"


@pytest.fixture(scope="module")
def validator() -> ClaimValidator:
    return ClaimValidator()


def claim(**changes) -> dict:
    """The example claim with `changes` applied: keys are JSON pointers, DELETE removes."""
    data = copy.deepcopy(EXAMPLE)
    for where, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in where.split("__")]
        node = data
        try:
            for p in parents:
                node = node[p]
            if value is DELETE:
                del node[last]
            else:
                node[last] = value
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed or replaced the parent
    return data


DELETE = object()


def found(validator, data) -> list[tuple[str, str]]:
    return [(d.pointer, d.message) for d in validator.validate(data)]


def test_example_claim_is_valid(validator):
    data = claim()
    assert validator.validate(data) == []
    assert data == EXAMPLE  # validation must not fill in schema defaults


def test_name_reports_both_engines_and_versions(validator):
    assert validator.name.startswith("jsonschema-rs 0.") and " screen + jsonschema 4." in validator.name


def test_units_as_string(validator):
    [d] = validator.validate(claim(lines__0__units="1"))
    assert (d.code, d.pointer, d.message) == ("claim_schema_violation", "/lines/0/units", "expected an integer, got a string")


def test_units_as_fraction(validator):
    assert found(validator, claim(lines__0__units=1.5)) == [("/lines/0/units", "expected an integer, got a number")]


def test_missing_lines(validator):
    [d] = validator.validate(claim(lines=DELETE))
    assert (d.pointer, d.message) == ("/", "missing required field 'lines'")
    assert d.notes == ("it belongs at /lines",)


def test_missing_field_in_a_line_points_at_the_line(validator):
    [d] = validator.validate(claim(lines__0__code=DELETE))
    assert (d.pointer, d.message) == ("/lines/0", "missing required field 'code'")


def test_empty_lines(validator):
    assert found(validator, claim(lines=[])) == [("/lines", "a claim needs at least one line")]


def test_impossible_date(validator):
    [d] = validator.validate(claim(episode__plan_of_care__start="2026-02-30"))
    assert (d.pointer, d.message) == ("/episode/plan_of_care/start", "expected a date like 2026-05-14")
    assert "2026-02-30" not in d.render()


def test_impossible_dates_anywhere_are_caught_by_the_screen(validator):
    assert found(validator, claim(lines__0__date="2026-02-30")) == [("/lines/0/date", "expected a date like 2026-05-14")]
    assert found(validator, claim(patient__birth_date="1950-13-02")) == [("/patient/birth_date", "expected a date like 2026-05-14")]
    assert validator.validate(claim(lines__0__date="2024-02-29")) == []


def test_leap_day(validator):
    assert validator.validate(claim(date_of_service="2024-02-29")) == []
    assert found(validator, claim(date_of_service="2025-02-29")) == [("/date_of_service", "expected a date like 2026-05-14")]


def test_date_in_another_shape(validator):
    assert found(validator, claim(date_of_service="05/14/2026")) == [("/date_of_service", "expected a date like 2026-05-14")]


def test_money_as_number(validator):
    [d] = validator.validate(claim(lines__0__charge=48.0))
    assert d.pointer == "/lines/0/charge"
    assert d.message == 'expected money as a string with two decimals, like "48.00", got a number'


def test_money_without_two_decimals(validator):
    assert found(validator, claim(episode__therapy_amount_ytd="1210")) == [
        ("/episode/therapy_amount_ytd", 'expected money as a string with two decimals, like "48.00"')
    ]


def test_unknown_field_with_did_you_mean(validator):
    [d] = validator.validate(claim(lines__0__minute=22))
    assert (d.pointer, d.message) == ("/lines/0/minute", "unknown field 'minute'")
    assert d.notes == ("did you mean 'minutes'?",)


def test_extension_fields_are_allowed(validator):
    assert validator.validate(claim(**{"x-clinic": {"any": [SECRET]}, "lines__0__x-note": SECRET})) == []


def test_discipline_not_in_enum(validator):
    [d] = validator.validate(claim(provider__discipline="PTA"))
    assert (d.pointer, d.message) == ("/provider/discipline", "expected one of PT, OT, SLP, DC, MD, DO")


def test_null_where_allowed_and_where_not(validator):
    assert validator.validate(claim(episode__prior_authorization=None)) == []
    assert validator.validate(claim(episode__plan_of_care__certified_on=None)) == []
    assert validator.validate(claim(episode__last_progress_report_visit=None)) == []
    assert found(validator, claim(episode__visit_number=None)) == [("/episode/visit_number", "expected an integer, got null")]
    assert found(validator, claim(episode__plan_of_care__start=None)) == [
        ("/episode/plan_of_care/start", "expected a date like 2026-05-14, got null")
    ]


def test_every_error_is_reported_in_order(validator):
    data = claim(lines__0__units="1", provider__npi="12345", lines__0__mintues=3, date_of_service="2026-02-30")
    data["lines"] = data["lines"] * 11
    data["lines"][10] = dict(data["lines"][10], units=2)
    assert found(validator, data)[:4] == [
        ("/date_of_service", "expected a date like 2026-05-14"),
        ("/lines/0/mintues", "unknown field 'mintues'"),
        ("/lines/0/units", "expected an integer, got a string"),
        ("/lines/1/mintues", "unknown field 'mintues'"),
    ]
    pointers = [p for p, _ in found(validator, data)]
    assert pointers.index("/lines/9/units") < pointers.index("/lines/10/mintues")
    assert "/lines/10/units" not in pointers
    assert pointers[-1] == "/provider/npi"


def test_two_errors_in_one_claim(validator):
    assert found(validator, claim(lines__0__units="1", diagnoses=[])) == [
        ("/diagnoses", "a claim needs at least one diagnosis"),
        ("/lines/0/units", "expected an integer, got a string"),
    ]


def test_not_an_object(validator):
    for value in ([EXAMPLE], "claim", None, 3):
        [d] = validator.validate(value)
        assert (d.pointer, d.message) == ("/", "a claim must be a JSON object")


def test_wrong_container_types(validator):
    assert found(validator, claim(lines={"0": EXAMPLE["lines"][0]})) == [("/lines", "expected an array, got an object")]
    assert found(validator, claim(patient=[SECRET])) == [("/patient", "expected an object, got an array")]


def test_lower_case_codes_get_a_hint(validator):
    [d] = validator.validate(claim(diagnoses__0="s93.402d"))
    assert (d.pointer, d.message) == ("/diagnoses/0", 'expected an ICD-10 code like "S93.402D"')
    assert d.notes == ("letters must be upper case",)


def test_pointer_escapes_slash_and_tilde():
    assert pointer(()) == "/"
    assert pointer(("lines", 0, "a/b~c")) == "/lines/0/a~1b~0c"


def test_messages_never_quote_claim_values(validator):
    data = claim(
        patient__id="",
        patient__state=SECRET,
        provider__npi=SECRET,
        provider__discipline=SECRET,
        date_of_service=SECRET,
        lines__0__units=SECRET,
        lines__0__charge=SECRET,
        lines__0__code=SECRET,
        claim_id=SECRET * 10,
        diagnoses=[SECRET],
        documentation__interventions=[{"code": SECRET, "minutes": SECRET}],
    )
    diagnostics = validator.validate(data)
    assert len(diagnostics) >= 11
    for d in diagnostics:
        assert SECRET not in d.render() and SECRET not in json.dumps(d.to_json())


def test_custom_schema():
    schema = {
        "type": "object",
        "properties": {"when": {"$ref": "#/definitions/d"}, "items": {"type": "array", "items": {"$ref": "#/definitions/d"}}},
        "definitions": {"d": {"type": "string", "format": "date"}},
    }
    v = ClaimValidator(schema)
    assert v.validate({"when": "2026-01-01", "items": ["2026-01-02"]}) == []
    assert found(v, {"items": ["2026-01-02", "2026-02-31"]}) == [("/items/1", "expected a date like 2026-05-14")]
    assert schema["properties"]["when"] == {"$ref": "#/definitions/d"}  # caller's schema untouched


# Whatever the claim, the screen and the full report agree: valid means no diagnostics,
# and a claim the screen rejects always gets at least one. No infinities: the reader
# refuses them and the API names them before validation (jsonschema-rs reads them as null).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
fields = st.sampled_from(
    ["lines__0__units", "lines__0__charge", "date_of_service", "provider__discipline", "episode__plan_of_care__end",
     "episode__prior_authorization", "diagnoses", "lines", "patient__birth_date", "lines__0__modifiers", "lines__0__date"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields, json_values | st.sampled_from(["2026-02-30", "2024-02-29", "48.00", "PT", DELETE]), max_size=3))
def test_screen_and_report_agree(changes):
    v = _shared
    data = claim(**changes)
    diagnostics = v.validate(data)
    assert (diagnostics == []) == (v.report(data) == [])
    assert all(d.pointer and d.pointer.startswith("/") for d in diagnostics)
    # The report comes from jsonschema-rs; jsonschema, the reference, finds the same.
    assert v.report(data) == v.report(data, reference=True)


_shared = ClaimValidator()


def test_recursive_custom_schema():
    schema = {
        "type": "object",
        "properties": {"node": {"$ref": "#/definitions/node"}},
        "definitions": {
            "node": {
                "type": "object",
                "properties": {"on": {"type": "string", "format": "date"}, "kids": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
                "additionalProperties": False,
            }
        },
    }
    v = ClaimValidator(schema)
    assert v.validate({"node": {"on": "2026-01-01", "kids": [{"kids": [{"on": "2026-01-02"}]}]}}) == []
    assert found(v, {"node": {"kids": [{"kids": [{"on": 5, "of": 1}]}]}}) == [
        ("/node/kids/0/kids/0/of", "unknown field 'of'"),
        ("/node/kids/0/kids/0/on", "expected a date like 2026-05-14, got an integer"),
    ]


@pytest.mark.parametrize("depth", [150, 995, 1020])
def test_a_value_nested_deeper_than_any_claim_is_one_problem_not_a_crash(validator, depth):
    # Parsers accept up to about a thousand levels; the reference validator recursed and
    # ran out of stack between 990 and 1023 (an internal error, exit 3).
    data = claim()
    nested: list = ["M54.50"]
    for _ in range(depth):
        nested = [nested]
    data["diagnoses"] = nested
    (problem,) = validator.validate(data)
    assert "nested more than 100 levels deep" in problem.message
    assert problem.pointer == "/diagnoses" + "/0" * 99
