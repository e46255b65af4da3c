"""Payer rules, table by table: the same claim under different payers, and each payer's
boundaries (the 20th and 21st Kentucky visit, the day before and of the 21st birthday in
Alabama, exactly 4 and 5 units for Anthem and Highmark, UHC's authorization cases)."""

from __future__ import annotations

import copy

import pytest

from conftest import ROOT, fired
from payerlint.compile.loader import Loader
from payerlint.home import Home
from payerlint.payers.registry import Registry
from payerlint.api import Router

HOME = Home(ROOT, "tests")
ROUTER = Router(Registry.load(HOME), Loader(HOME))


def route(claim: dict):
    return ROUTER.check(claim)


def with_payer(claim: dict, payer: str) -> dict:
    claim = copy.deepcopy(claim)
    claim["payer_id"] = payer
    return claim


def line(code, units, minutes=None, modifiers=("GP",), **extra):
    out = {"code": code, "modifiers": list(modifiers), "units": units, "charge": "40.00",
           "diagnosis_pointers": [1], "body_region": "left ankle", "performed_by": "PT", "assistant_minutes": 0}
    if minutes is not None:
        out["minutes"] = minutes
    out.update(extra)
    return out


def documented(claim: dict) -> dict:
    """Make the note list every billed code with its minutes, so documentation rules stay quiet."""
    claim["documentation"]["interventions"] = [
        {"code": ln["code"], "technique": "grade III talocrural mobilization" if ln["code"] == "97140"
         else "closed-chain strengthening", "body_region": "left ankle", "minutes": ln.get("minutes", 10)}
        for ln in claim["lines"]]
    claim["documentation"]["total_timed_minutes"] = sum(ln.get("minutes", 0) for ln in claim["lines"]
                                                        if ln["code"] in ("97110", "97140", "97530", "97112"))
    return claim


# ------------------------------------------------------------------ one claim, three payers


def test_the_same_claim_gets_different_verdicts_under_three_payers(clean_claim):
    # 97110 38 min x3 and 97140 30 min x2: 68 minutes = 5 units under the CMS table
    # (Medicare: clean); Anthem limits these codes to 4 units a date (deny); under the AMA
    # per-code rule 38 min = 3 and 30 min = 2 units, fine, but the example payer does not
    # list the low-back diagnosis for 97140 (warn).
    claim = copy.deepcopy(clean_claim)
    claim["diagnoses"] = ["S39.012D"]
    claim["lines"] = [line("97110", 3, 38), line("97140", 2, 30)]
    documented(claim)
    verdicts = {payer: route(with_payer(claim, payer)).verdict
                for payer in ("medicare", "anthem-commercial", "example-commercial")}
    assert verdicts == {"medicare": "clean", "anthem-commercial": "deny", "example-commercial": "warn"}
    assert fired(route(with_payer(claim, "anthem-commercial"))) == {"limit.units_per_date"}
    assert fired(route(with_payer(claim, "example-commercial"))) == {"diagnosis.manual_therapy_not_listed"}


def test_ama_and_cms_methods_disagree_on_pooled_minutes(clean_claim):
    # 97110 20 min + 97140 18 min: CMS pools 38 minutes into 3 units; AMA gives 1 + 1.
    claim = copy.deepcopy(clean_claim)
    claim["lines"] = [line("97110", 2, 20), line("97140", 1, 18)]
    documented(claim)
    assert route(with_payer(claim, "medicare")).verdict == "clean"
    result = route(with_payer(claim, "example-commercial"))
    assert fired(result) == {"units.ama_per_code"}
    finding = result.findings[0]
    assert finding.line == 0 and finding.fix == ({"op": "replace", "path": "/lines/0/units", "value": 1},)


# ------------------------------------------------------------------ Kentucky, Alabama, Indiana


@pytest.mark.parametrize("visits, denied", [(19, False), (20, False), (21, True)])
def test_kentucky_medicaid_20_visits_a_year(clean_claim, visits, denied):
    claim = with_payer(clean_claim, "medicaid-ky")
    claim["episode"]["visits_this_year"] = visits
    result = route(claim)
    assert ("limit.yearly_visits" in fired(result)) is denied
    if denied:
        finding = next(f for f in result.findings if f.rule == "limit.yearly_visits")
        assert finding.category == "limit" and finding.severity == "deny"
        assert finding.rulebook == "medicaid-ky@2026Q2"
        assert "visit 21 this calendar year" in finding.message


@pytest.mark.parametrize("birth_date, denied", [
    ("2005-05-15", False),   # 21 tomorrow: still under 21 on 2026-05-14, EPSDT covers it
    ("2005-05-14", True),    # the 21st birthday itself
    ("1950-06-02", True),
])
def test_alabama_medicaid_adult_pt_not_covered(clean_claim, birth_date, denied):
    claim = with_payer(clean_claim, "medicaid-al")
    claim["patient"]["birth_date"] = birth_date
    result = route(claim)
    assert ("coverage.adult_physical_therapy" in fired(result)) is denied
    if denied:
        assert result.verdict == "deny"
        assert {f.category for f in result.findings if f.rule == "coverage.adult_physical_therapy"} == {"coverage"}


def test_alabama_needs_a_birth_date_to_decide(clean_claim):
    claim = with_payer(clean_claim, "medicaid-al")
    del claim["patient"]["birth_date"]
    result = route(claim)
    assert {(n.rule, n.missing) for n in result.not_evaluated} >= {("coverage.adult_physical_therapy", "/patient/birth_date")}


def test_indiana_medicaid_requires_authorization(clean_claim):
    claim = with_payer(clean_claim, "medicaid-in")
    assert route(claim).verdict == "clean"
    claim["episode"]["prior_authorization"] = None
    result = route(claim)
    assert fired(result) == {"authorization.missing"} and result.findings[0].category == "authorization"


# ------------------------------------------------------------------ commercial limits


@pytest.mark.parametrize("payer", ["anthem-commercial", "highmark-commercial"])
@pytest.mark.parametrize("units, denied", [(4, False), (5, True)])
def test_four_units_a_date(clean_claim, payer, units, denied):
    claim = with_payer(clean_claim, payer)
    claim["lines"] = [line("97110", 2, 30), line("97140", units - 2, 15 * (units - 2))]
    documented(claim)
    result = route(claim)
    assert ("limit.units_per_date" in fired(result)) is denied
    if denied:
        finding = next(f for f in result.findings if f.rule == "limit.units_per_date")
        assert finding.line == 1
        assert finding.fix == ({"op": "replace", "path": "/lines/1/units", "value": 2},)


def test_anthem_counts_each_therapy_type_on_its_own(clean_claim):
    claim = with_payer(clean_claim, "anthem-commercial")
    claim["lines"] = [line("97110", 4, 60), line("97530", 2, 30, modifiers=("GO",), performed_by="OT")]
    documented(claim)
    assert "limit.units_per_date" not in fired(route(claim))


def test_highmark_manual_therapy_with_manipulation(clean_claim):
    claim = with_payer(clean_claim, "highmark-commercial")
    claim["provider"]["discipline"] = "DC"
    claim["lines"] = [line("98940", 1, modifiers=("AT",), performed_by="DC", body_region="lumbar spine"),
                      line("97140", 1, 15, modifiers=(), performed_by="DC", body_region="lumbar spine")]
    documented(claim)
    assert "ptp.part_of_manipulation" in fired(route(claim))
    # 59 alone is not enough: the region must be separate too.
    claim["lines"][1]["modifiers"] = ["59"]
    assert "ptp.part_of_manipulation" in fired(route(claim))
    claim["lines"][1]["body_region"] = "right shoulder"
    assert "ptp.part_of_manipulation" not in fired(route(claim))


@pytest.mark.parametrize("dx, rule", [
    ("M79.18", "diagnosis.manual_therapy_excluded"),
    ("M79.7", "diagnosis.manual_therapy_excluded"),
    ("S93.402D", None),
    ("M54.12", None),
    ("S39.012D", "diagnosis.manual_therapy_not_listed"),
])
def test_example_commercial_diagnoses_for_97140(clean_claim, dx, rule):
    claim = with_payer(clean_claim, "example-commercial")
    claim["diagnoses"] = [dx]
    found = fired(route(claim)) & {"diagnosis.manual_therapy_excluded", "diagnosis.manual_therapy_not_listed"}
    assert found == ({rule} if rule else set())


# ------------------------------------------------------------------ UnitedHealthcare Medicare Advantage


def test_uhc_initial_evaluation_needs_no_authorization(clean_claim):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["episode"]["prior_authorization"] = None
    claim["lines"] = [line("97161", 1)]
    claim["documentation"]["interventions"] = []
    claim["documentation"]["total_timed_minutes"] = 0
    assert "authorization.missing" not in fired(route(claim))


def test_uhc_treatment_needs_authorization(clean_claim):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    assert route(claim).verdict == "clean"
    del claim["episode"]["prior_authorization"]
    result = route(claim)
    assert fired(result) == {"authorization.missing"}
    assert "requires a prior authorization request" in result.findings[0].message
    assert str(result.findings[0].denial) == "CO-197"
    # Inherited Medicare rules apply too: the MA plan extends Medicare.
    claim["lines"][0]["units"] = 2
    assert fired(route(claim)) == {"authorization.missing", "units.total"}


def test_uhc_first_six_visits_still_need_a_request(clean_claim):
    # For new requests from 2025-01-13, everywhere (not only Arizona and California): the
    # first 6 visits within 8 weeks are covered without clinical review, but need a request.
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["episode"]["prior_authorization"] = None
    message = route(claim).findings[0].message
    assert "a prior authorization request (the first 6 visits within 8 weeks" in message
    claim["episode"]["visit_number"] = 7
    assert "requires prior authorization for" in route(claim).findings[0].message


@pytest.mark.parametrize("state, day, needed", [
    ("AZ", "2026-01-30", False), ("CA", "2026-01-30", False),   # not in the program before 2026-02-01
    ("AZ", "2026-02-01", True), ("CA", "2026-03-02", True),
    ("TX", "2026-01-30", True), ("TX", "2025-11-03", True),     # nationally from 2024-09-01
])
def test_uhc_arizona_and_california_join_on_2026_02_01(clean_claim, state, day, needed):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["patient"]["state"] = state
    claim["date_of_service"] = day
    claim["episode"].update(evaluation_date=day, visit_number=2, last_progress_report_visit=1)
    claim["episode"]["plan_of_care"].update(start=day, certified_on=day)
    del claim["episode"]["prior_authorization"]
    result = route(claim)
    assert result.verdict != "error", result.findings
    assert ("authorization.missing" in fired(result)) is needed


@pytest.mark.parametrize("code, needed", [("97535", True), ("97542", True), ("97750", True), ("97760", True),
                                          ("97761", True), ("97168", True), ("97161", False), ("97165", False)])
def test_uhc_authorization_codes_are_the_notices_list(clean_claim, code, needed):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["lines"][0]["code"] = code
    claim["documentation"]["interventions"][0]["code"] = code
    del claim["episode"]["prior_authorization"]
    assert ("authorization.missing" in fired(route(claim))) is needed


@pytest.mark.parametrize("visit, denied", [(13, False), (14, True)])
def test_uhc_visits_past_the_authorized_count(clean_claim, visit, denied):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["episode"]["visit_number"] = visit
    claim["episode"]["last_progress_report_visit"] = visit - 1
    claim["documentation"]["skilled_care_justification"] = "Needs graded mobilization"
    assert ("authorization.visits_exceeded" in fired(route(claim))) is denied


def test_uhc_date_outside_the_authorization(clean_claim):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    claim["episode"]["prior_authorization"]["valid_to"] = "2026-05-13"
    result = route(claim)
    assert fired(result) == {"authorization.outside_window"} and result.findings[0].line == 0
