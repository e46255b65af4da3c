"""Rule content a biller can trust: each point of the billing review, as a claim through
the router or a rulebook, failing if the mistake came back. Quarters are discovered from
the rulebook tree, never listed here."""

from __future__ import annotations

import copy
import re
from datetime import date

import pytest

from conftest import ROOT, fired, load
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


def test_uhc_ma_does_not_apply_part_b_payment_programs(clean_claim):
    claim = payer(clean_claim, "uhc-medicare-advantage")
    claim["episode"]["therapy_amount_ytd"] = "3500.00"
    assert not {r for r in fired(route(claim)) if r.startswith("threshold.")}
    chiro = copy.deepcopy(claim)
    chiro["provider"]["discipline"] = "DC"
    chiro["diagnoses"] = ["M99.03"]
    assert not {"coverage.chiropractor_therapy", "coverage.chiropractor_excluded"} & fired(route(chiro))
    # ...but the coding rules it adopts still apply, with UHC's source first.
    claim["lines"][0]["units"] = 2
    [units] = findings(route(claim), "units.total")
    assert units.citation.startswith("UHC Medicare Advantage copay guidelines FAQ")


# ------------------------------------------------------------------ false alarms


def test_minutes_the_eight_minute_rule_leaves_unbilled_are_no_disagreement(check, clean_claim):
    # CMS Example 4: 97110 18, 97140 13, 97116 10, 97035 8 minutes = 49 minutes, 3 units;
    # 97035 gets no unit and is not billed, though the note records its 8 minutes.
    claim = copy.deepcopy(clean_claim)
    base = claim["lines"][0]
    claim["lines"] = [dict(base, code=c, minutes=m, units=1) for c, m in (("97110", 18), ("97140", 13), ("97116", 10))]
    claim["documentation"]["interventions"] = [
        {"code": c, "technique": t, "minutes": m} for c, t, m in (
            ("97110", "heel raises 3x15", 18), ("97140", "grade III talocrural joint mobilization", 13),
            ("97116", "stair training with a rail", 10), ("97035", "1 MHz to the lateral ankle", 8))]
    claim["documentation"]["total_timed_minutes"] = 49
    result = check(claim)
    assert "documentation.minutes_disagree" not in fired(result), result.findings
    # More units than the note's minutes support is still a disagreement...
    claim["lines"][0]["units"] = 2
    assert "documentation.minutes_disagree" in fired(check(claim))
    # ...and so are fewer documented minutes than billed.
    claim["lines"][0]["units"] = 1
    claim["documentation"]["total_timed_minutes"] = 40
    assert "documentation.minutes_disagree" in fired(check(claim))


@pytest.mark.parametrize("fields, day, late", [
    ({}, "2026-05-14", True),                                                           # no exception on file
    ({"order_signed_on": "2026-03-25", "plan_sent_on": "2026-04-03"}, "2026-05-14", False),
    ({"order_signed_on": "2026-03-25", "plan_sent_on": "2026-05-05"}, "2026-05-14", True),  # sent after 30 days
    ({"order_signed_on": None, "plan_sent_on": "2026-04-03"}, "2026-05-14", True),      # no order on file
    ({"order_signed_on": "2026-03-25", "plan_sent_on": None}, "2026-05-14", True),      # plan never sent
])
def test_the_cy2025_certification_exception(check, clean_claim, fields, day, late):
    claim = copy.deepcopy(clean_claim)
    claim["date_of_service"] = day
    claim["episode"]["evaluation_date"] = "2026-04-01"
    claim["episode"]["plan_of_care"] = {"start": "2026-04-01", "certified_on": None, "end": "2026-06-29", **fields}
    result = check(claim)
    assert ("documentation.certification_late" in fired(result)) is late
    assert result.not_evaluated == ()


def test_the_certification_exception_starts_on_2025_01_01(check, clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["date_of_service"] = "2025-12-15"
    claim["episode"]["evaluation_date"] = "2025-11-01"
    claim["episode"]["plan_of_care"] = {"start": "2025-11-01", "certified_on": None, "end": "2026-01-29",
                                        "order_signed_on": "2025-10-28", "plan_sent_on": "2025-11-04"}
    assert "documentation.certification_late" not in fired(check(claim, rulebook="medicare@2025Q4"))
    exception = load("medicare@2025Q4").params["certification_exception_from"]
    assert exception.value == date(2025, 1, 1)


# ------------------------------------------------------------------ payer rulebooks


def indiana(clean_claim, **changes):
    claim = payer(clean_claim, "medicaid-in")
    del claim["episode"]["prior_authorization"]
    claim.update(changes)
    return claim


def test_indiana_initial_evaluation_needs_no_authorization(clean_claim):
    claim = indiana(clean_claim)
    claim["lines"][0].update(code="97162", minutes=45)
    claim["documentation"]["interventions"][0]["code"] = "97162"
    claim["documentation"]["total_timed_minutes"] = 0
    assert "authorization.missing" not in fired(route(claim))
    claim["lines"][0]["code"] = "97164"          # a re-evaluation needs it
    claim["documentation"]["interventions"][0]["code"] = "97164"
    assert "authorization.missing" in fired(route(claim))


def test_indiana_medicare_crossover_needs_no_authorization(clean_claim):
    assert "authorization.missing" in fired(route(indiana(clean_claim)))
    assert "authorization.missing" in fired(route(indiana(clean_claim, medicare_paid_first=False)))
    assert "authorization.missing" not in fired(route(indiana(clean_claim, medicare_paid_first=True)))


@pytest.mark.parametrize("birth_date, severity", [("2006-05-15", "warn"), ("2005-05-14", "deny")])
def test_kentucky_visit_limit_is_no_hard_denial_under_21(clean_claim, birth_date, severity):
    # On 2026-05-14 the first patient is 19 (EPSDT), the second turned 21 that day.
    claim = payer(clean_claim, "medicaid-ky")
    claim["patient"]["birth_date"] = birth_date
    claim["episode"]["visits_this_year"] = 21
    result = route(claim)
    [limit] = [f for f in result.findings if f.category == "limit"]
    assert limit.severity == severity and result.verdict == severity
    if severity == "warn":
        assert "EPSDT" in limit.message and "1396d(r)(5)" in limit.citation


def highmark(clean_claim, *lines):
    claim = payer(clean_claim, "highmark-commercial")
    base = claim["lines"][0]
    claim["lines"] = [dict(base, code=c, units=u, minutes=m) for c, u, m in lines]
    claim["documentation"]["interventions"] = [
        {"code": c, "technique": "grade III talocrural joint mobilization", "minutes": m} for c, u, m in lines]
    claim["documentation"]["total_timed_minutes"] = sum(m for c, u, m in lines if c not in ("97010", "97161"))
    return claim


@pytest.mark.parametrize("lines, over", [
    ((("97140", 4, 60), ("97010", 1, 10)), False),          # 97010 is not counted (Y-1-054)
    ((("97140", 4, 60), ("97161", 1, 45)), False),          # nor is the evaluation
    ((("97140", 4, 60), ("97012", 1, 15)), True),           # a modality is
    ((("97140", 4, 60), ("97750", 1, 30)), True),           # 97750 is
])
def test_highmark_counts_the_codes_its_policy_lists(clean_claim, lines, over):
    result = route(highmark(clean_claim, *lines))
    hits = findings(result, "limit.units_per_date")
    assert bool(hits) is over
    assert all(f.severity == "warn" for f in hits)    # the current policy version's limit was not read


@pytest.mark.parametrize("modifier, bundled", [("59", False), ("XS", False), ("XE", False), ("XU", False),
                                               ("XP", False), ((), True)])
def test_highmark_manipulation_bundling_accepts_x_modifiers_where_it_accepts_59(clean_claim, modifier, bundled):
    claim = highmark(clean_claim, ("98940", 1, 10), ("97140", 1, 22))
    claim["provider"]["discipline"] = "DC"
    claim["lines"][0].update(body_region="lumbar spine", modifiers=["AT"])
    claim["lines"][1].update(body_region="left ankle", modifiers=["GP", *((modifier,) if modifier else ())])
    assert ("ptp.part_of_manipulation" in fired(route(claim))) is bundled


def test_59_beside_an_x_modifier_only_warns_in_medicare(check, clean_claim):
    clean_claim["lines"][0]["modifiers"] = ["GP", "59", "XS"]
    result = check(clean_claim)
    [both] = findings(result, "modifier.59_with_x")
    assert both.severity == "warn" and result.verdict == "warn"


@pytest.mark.parametrize("code", ["97129", "97130"])
def test_cognitive_function_intervention_codes_are_timed(check, medicare, clean_claim, code):
    assert code in medicare.codesets["timed"]
    clean_claim["lines"][0].update(code=code, units=2, minutes=22)
    clean_claim["documentation"]["interventions"][0]["code"] = code
    [total] = findings(check(clean_claim), "units.total")
    assert "22 timed minutes support 1" in total.message


def test_an_assistant_evaluation_is_denied(check, clean_claim):
    clean_claim["lines"][0].update(code="97161", minutes=45, performed_by="PTA")
    result = check(clean_claim)
    [evaluation] = findings(result, "coding.evaluation_by_pta")
    assert evaluation.severity == "deny" and str(evaluation.denial) == "CO-185"


def test_the_kx_threshold_is_crossed_by_this_claims_own_charges(check, clean_claim):
    clean_claim["episode"]["therapy_amount_ytd"] = "2450.00"    # + $48.00 passes $2,480.00
    result = check(clean_claim)
    [crossed] = findings(result, "threshold.kx_crossed_by_claim")
    assert crossed.fix == ({"op": "add", "path": "/lines/0/modifiers/-", "value": "KX"},)
    assert "$2,498.00" in crossed.message and "allowed amount" in crossed.message
    assert "threshold.kx_missing" not in fired(result)
    clean_claim["episode"]["therapy_amount_ytd"] = "2432.00"    # + $48.00 = $2,480.00: not past it
    assert "threshold.kx_crossed_by_claim" not in fired(check(clean_claim))
