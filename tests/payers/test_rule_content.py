"""Rule content a biller can trust, where a rulebook test cannot say it: every payer routed
in every quarter, each rulebook's own quarter and base, citations and their grades, every
inherited rule adopted or disabled with a reason, and what a finding carries besides its
verdict (an adopted rule's citation, a denial code). What a rulebook decides for a claim is
tested beside it (rulebooks/<family>/tests/*.toml). Quarters are discovered from the
rulebook tree, never listed here."""

from __future__ import annotations

import copy
import re
from datetime import date

import pytest

from conftest import ROOT, load
from payerlint.compile.loader import Loader
from payerlint.home import Home
from payerlint.payers.registry import Registry
from payerlint.api import Router
from payerlint.quarter import Quarter, quarters_in

HOME = Home(ROOT, "tests")
REGISTRY = Registry.load(HOME)
ROUTER = Router(REGISTRY, Loader(HOME))
MEDICARE_QUARTERS = quarters_in(ROOT / "rulebooks" / "medicare")
FAMILIES = sorted(p.name for p in (ROOT / "rulebooks").iterdir() if p.is_dir())


def route(claim):
    return ROUTER.check(claim)


def findings(result, rule):
    return [f for f in result.findings if f.rule == rule]


def dated(claim: dict, day: str) -> dict:
    """The claim moved to another date of service, its episode moved with it."""
    claim = copy.deepcopy(claim)
    shift = date.fromisoformat(day) - date.fromisoformat(claim["date_of_service"])
    claim["date_of_service"] = day
    episode = claim["episode"]
    for holder, key in ((episode, "evaluation_date"), (episode["plan_of_care"], "start"),
                        (episode["plan_of_care"], "certified_on"), (episode["plan_of_care"], "end"),
                        (episode["prior_authorization"], "valid_from"), (episode["prior_authorization"], "valid_to")):
        holder[key] = (date.fromisoformat(holder[key]) + shift).isoformat()
    return claim


def payer(claim: dict, payer_id: str) -> dict:
    claim = copy.deepcopy(claim)
    claim["payer_id"] = payer_id
    return claim


# ------------------------------------------------------------------ time


def test_medicare_has_quarters_and_every_family_has_each_of_them():
    assert len(MEDICARE_QUARTERS) >= 2
    for family in FAMILIES:
        assert quarters_in(ROOT / "rulebooks" / family) == MEDICARE_QUARTERS, family


@pytest.mark.parametrize("payer_id", sorted(REGISTRY.payers))
@pytest.mark.parametrize("quarter", MEDICARE_QUARTERS, ids=str)
def test_every_payer_routes_a_claim_dated_in_every_medicare_quarter(clean_claim, payer_id, quarter):
    for day in (quarter.start, quarter.end):
        result = route(dated(payer(clean_claim, payer_id), day.isoformat()))
        assert not [f for f in result.findings if f.rule.startswith("routing.")], (payer_id, day)
        assert result.rulebooks == (f"{REGISTRY.payers[payer_id].rulebook_family}@{quarter}",)


@pytest.mark.parametrize("path", sorted((ROOT / "rulebooks").glob("*/*.rules")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_rulebook_says_its_own_quarter_and_extends_the_same_quarter(path):
    compiled = load(str(path))
    quarter = Quarter.parse(path.stem)
    assert compiled.quarter == quarter
    text = path.read_text(encoding="utf-8")
    # Whatever dates of service the file's comments name are this quarter's.
    assert set(re.findall(r"dates of service (\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2})", text)) <= \
        {f"{quarter.start} to {quarter.end}"}
    if compiled.base is not None:
        assert compiled.base.quarter == quarter


# ------------------------------------------------------------------ sources and grades


def citations(compiled):
    out = [r.citation for r in compiled.rules]
    out += [p.citation or "" for p in compiled.params.values()]
    out += [c.citation or "" for c in compiled.codesets.values()]
    out += [t.citation or "" for t in compiled.tables.values()]
    out += [d.reason or "" for d in compiled.disabled]
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "rulebooks").glob("*/*.rules")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_citations_name_primary_sources_and_explain_grades(path):
    for text in citations(load(str(path))):
        assert "brief" not in text.lower(), text
        # "(grade B)" alone tells a user nothing: every grade says what it means.
        for match in re.finditer(r"grade ([ABC])\b(.{0,3})", text):
            assert match.group(2).startswith(":") or match.group(2).startswith(" o"), text
    for table in (ROOT / "rulebooks").glob("*/tables/*.csv"):
        assert "brief" not in table.read_text(encoding="utf-8").lower(), table.name


def inherited(compiled):
    family = compiled.id.split("@")[0]
    return [r for r in compiled.rules if r.origin.rulebook.split("@")[0] != family]


MA_AND_COMMERCIAL = [p for p in sorted(REGISTRY.payers.values(), key=lambda p: p.id)
                     if p.type in ("medicare_advantage", "commercial")]


@pytest.mark.parametrize("quarter", MEDICARE_QUARTERS, ids=str)
@pytest.mark.parametrize("payer_file", MA_AND_COMMERCIAL, ids=lambda p: p.id)
def test_every_inherited_rule_of_an_ma_or_commercial_payer_is_adopted_or_disabled(payer_file, quarter):
    compiled = load(f"{payer_file.rulebook_family}@{quarter}")
    unsourced = [r.id for r in inherited(compiled) if compiled.id not in r.adopted_by]
    assert unsourced == [], f"{compiled.id} inherits without its own source: {unsourced}"
    assert all(d.reason for d in compiled.disabled), compiled.id


def test_a_rule_uhc_adopts_cites_uhcs_source_first(clean_claim):
    # What UHC applies and leaves out of Medicare's rules is rulebook tests
    # (rulebooks/uhc-medicare-advantage/tests/); the citation is what a case cannot assert.
    claim = payer(clean_claim, "uhc-medicare-advantage")
    claim["lines"][0]["units"] = 2
    [units] = findings(route(claim), "units.total")
    assert units.citation.startswith("UHC Medicare Advantage copay guidelines FAQ")


# ------------------------------------------------------------------ what a rulebook test cannot say
# Claims in, verdicts and findings out, are rulebook tests beside the rulebooks
# (rulebooks/<family>/tests/*.toml, run by tests/test_rulebook_tests.py): the Medicare
# certification exception and CMS example 4 in medicare/tests/documentation.toml, the KX
# crossing in thresholds.toml, 97129/97130 in units.toml, and each payer's own rules in its
# family's tests. A case cannot assert a finding's denial code:


def test_an_assistant_evaluation_is_denied(check, clean_claim):
    clean_claim["lines"][0].update(code="97161", minutes=45, performed_by="PTA")
    result = check(clean_claim)
    [evaluation] = findings(result, "coding.evaluation_by_pta")
    assert evaluation.severity == "deny" and str(evaluation.denial) == "CO-185"
