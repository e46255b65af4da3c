"""The same claim under different payers, routed by its payer id: each payer's rulebook
decides it differently. Each payer's own rules and their boundaries (the 20th and 21st
Kentucky visit, the 21st birthday in Alabama, exactly 4 and 5 units for Anthem and Highmark,
UHC's authorization cases) are rulebook tests: rulebooks/<family>/tests/*.toml."""

from __future__ import annotations

import copy

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
    # Total treatment time includes the timed minutes (and here 5 more, untimed).
    claim["documentation"]["total_treatment_minutes"] = claim["documentation"]["total_timed_minutes"] + 5
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


# ------------------------------------------------------------------ what the rulebook tests cannot say
# Each payer's own rules, case by case and at their boundaries, are rulebook tests beside the
# rulebooks (rulebooks/<family>/tests/*.toml, run by tests/test_rulebook_tests.py). Here: one
# claim through the router under several payers, and what a case cannot assert.


def test_a_payer_rules_denial_code_reaches_the_finding(clean_claim):
    claim = with_payer(clean_claim, "uhc-medicare-advantage")
    del claim["episode"]["prior_authorization"]
    [finding] = route(claim).findings
    assert finding.rule == "authorization.missing" and str(finding.denial) == "CO-197"
