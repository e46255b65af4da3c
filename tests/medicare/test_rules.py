"""Every rule of the Medicare rulebook fires on a claim that breaks it and stays quiet on a
claim that does not; then the behaviours a billing engineer would check family by family."""

from __future__ import annotations

import csv

import pytest

from .claims import SYNTHETIC_TABLES, TABLES, chiro, claim, findings, fired, line, overlay

# ------------------------------------------------------------------ fixture rulebooks

MUE_CSV = """code,mue,mai,mai_text
97140,2,1,1 Line Edit
97110,2,2,2 Date of Service Edit: Policy
97530,2,3,3 Date of Service Edit: Clinical
"""

# Synthetic NCCI rows. Graded A, as `payerlint import ncci-ptp` writes rows from the CMS
# file (with no order_confirmed: the file's order is the order): an indicator-0 pair (the
# shipped table has none since CMS reversed them), one deleted before the quarter, one
# effective after the date of service. Graded C, a reported indicator-0 pair.
PTP_CSV = """column_1,column_2,effective,deleted,modifier_indicator,order_confirmed,source,grade
97530,97161,2020-01-01,,0,,synthetic fixture (CMS file),A
97530,97165,2020-01-01,2026-04-01,0,,synthetic fixture (CMS file; deleted),A
97150,97110,2026-06-01,,1,,synthetic fixture (CMS file; future),A
97161,97140,2020-01-01,,1,,synthetic fixture (CMS file),A
97530,97162,2020-01-01,,0,yes,synthetic fixture (reported),C
"""


@pytest.fixture(scope="module")
def fixture_rulebook(tmp_path_factory):
    folder = tmp_path_factory.mktemp("medicare_fixture")
    return overlay(folder, SYNTHETIC_TABLES, tables={"mue.csv": MUE_CSV, "ptp.csv": PTP_CSV})


@pytest.fixture(scope="module")
def ama_rulebook(tmp_path_factory):
    return overlay(tmp_path_factory.mktemp("medicare_ama"), 'override param unit_method = "ama_per_code"')


# A payer that publishes its diagnosis list for 97140 turns the (off) diagnosis rule on.
DIAGNOSIS_LIST = """override param payer_lists_manual_therapy_diagnoses = true
  cite "synthetic payer list"
override codeset manual_therapy_diagnoses "Synthetic payer list" = S93.4* M25.6*
  cite "synthetic payer list"
"""


@pytest.fixture(scope="module")
def dxlist_rulebook(tmp_path_factory):
    return overlay(tmp_path_factory.mktemp("medicare_dxlist"), DIAGNOSIS_LIST)


# ------------------------------------------------------------------ claim variations

def edit(data: dict, **paths) -> dict:
    """Set values by path: edit(c, documentation__patient_response="x", lines__0__units=2);
    the value `...` deletes the member."""
    for path, value in paths.items():
        parts = path.split("__")
        node = data
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = int(parts[-1]) if isinstance(node, list) else parts[-1]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def doc(**fields):
    return edit(claim(), **{f"documentation__{k}": v for k, v in fields.items()})


def episode(**fields):
    return edit(claim(), **{f"episode__{k}": v for k, v in fields.items()})


def poc(**fields):
    return edit(claim(), **{f"episode__plan_of_care__{k}": v for k, v in fields.items()})


def kx(amount, mods=("GP",), discipline="PT"):
    return edit(claim(line("97140", 1, 22, mods=mods), discipline=discipline), episode__therapy_amount_ytd=amount)


def note_for(technique):
    return edit(claim(), documentation__interventions__0__technique=technique)


def without_note_for_97110():
    data = claim(line("97140", 1, 22), line("97110", 1, 15))
    del data["documentation"]["interventions"][1]
    return data


def late_in_episode(visit):
    return episode(visit_number=visit, last_progress_report_visit=visit - 1)


def no_skilled_care(visit):
    data = late_in_episode(visit)
    data["documentation"]["skilled_care_justification"] = ""
    return data


def q4_episode(date_of_service):
    data = claim()
    data["date_of_service"] = date_of_service
    data["episode"]["plan_of_care"] = {"start": "2026-07-15", "certified_on": "2026-07-16", "end": "2026-10-13"}
    return data


def two_97140(*mods):
    return claim(line("97140", 1, 12), line("97140", 1, 13, mods=("GP", *mods)))


# rule -> (category, severity, firing claim, quiet claim, rulebook: None | "fixture" | "ama")
CASES = {
    "units.total": ("units", "deny", lambda: claim(line("97140", 2, 22)), lambda: claim(line("97140", 1, 22)), None),
    "units.lone_under_8": ("units", "deny", lambda: claim(line("97140", 1, 7)), lambda: claim(line("97140", 0, 7)), None),
    "units.zero_with_15_minutes": ("units", "warn", lambda: claim(line("97140", 1, 22), line("97110", 0, 15)),
                                   lambda: claim(line("97140", 1, 22), line("97110", 0, 14)), None),
    "units.all_to_one_code": ("units", "warn", lambda: claim(line("97112", 3, 20), line("97110", 0, 20)),
                              lambda: claim(line("97112", 2, 20), line("97110", 1, 20)), None),
    "units.more_to_less_time": ("units", "warn", lambda: claim(line("97112", 1, 24), line("97110", 2, 23)),
                                lambda: claim(line("97112", 2, 24), line("97110", 1, 23)), None),
    # CMS Example 3 billed wrong (97110 x3, 97140 x0) against billed right (x2, x1); and a tie
    # (20 and 20 minutes: either code may take the third unit) is quiet.
    "units.remaining_unit_misallocated": ("units", "warn", lambda: claim(line("97110", 3, 33), line("97140", 0, 7)),
                                          lambda: claim(line("97110", 2, 20), line("97112", 1, 20)), None),
    "units.ama_per_code": ("units", "deny", lambda: claim(line("97140", 2, 22)), lambda: claim(line("97140", 1, 22)), "ama"),
    "units.untimed_over_one": ("units", "deny", lambda: claim(line("97140", 1, 22), line("G0283", 2, 20)),
                               lambda: claim(line("97140", 1, 22), line("G0283", 1, 20)), None),
    # A pair from the CMS file (grade A, fixture) denies; a reported pair (shipped, grade B) warns.
    "ptp.modifier_required": ("ptp", "deny", lambda: claim(line("97161", 1, 45), line("97140", 1, 22)),
                              lambda: claim(line("97161", 1, 45), line("97140", 1, 22, mods=("GP", "59"))), "fixture"),
    "ptp.reported_pair": ("ptp", "warn", lambda: claim(line("97161", 1, 45), line("97140", 1, 22)),
                          lambda: claim(line("97161", 1, 45), line("97140", 1, 22, mods=("GP", "59"))), None),
    "ptp.not_allowed": ("ptp", "deny", lambda: claim(line("97530", 1, 22), line("97161", 1, 45)),
                        lambda: claim(line("97530", 1, 22), line("97165", 1, 45)), "fixture"),
    "ptp.reported_not_allowed": ("ptp", "warn", lambda: claim(line("97530", 1, 22), line("97162", 1, 45)),
                                 lambda: claim(line("97530", 1, 22), line("97165", 1, 45)), "fixture"),
    "modifier.59_with_x": ("modifier", "warn", lambda: claim(line("97140", 1, 22, mods=("GP", "59", "XS"))),
                           lambda: claim(line("97140", 1, 22, mods=("GP", "XS"))), None),
    "mue.line": ("mue", "deny", lambda: claim(line("97140", 3, 45)),
                 lambda: claim(line("97140", 2, 30), line("97140", 1, 15, mods=("GP", "59"))), "fixture"),
    "mue.date": ("mue", "deny", lambda: claim(line("97110", 2, 30), line("97110", 1, 15, mods=("GP", "59"))),
                 lambda: claim(line("97110", 2, 30)), "fixture"),
    "modifier.therapy_missing": ("modifier", "deny", lambda: claim(line("97140", 1, 22, mods=())), claim, None),
    "modifier.therapy_multiple": ("modifier", "deny", lambda: claim(line("97140", 1, 22, mods=("GP", "GO"))), claim, None),
    "modifier.therapy_mismatch": ("modifier", "deny", lambda: claim(line("97140", 1, 22, mods=("GO",))),
                                  lambda: claim(line("97140", 1, 22, mods=("GO",)), discipline="OT"), None),
    "modifier.assistant_missing": ("modifier", "deny", lambda: claim(line("97140", 2, 30, assistant_minutes=30)),
                                   lambda: claim(line("97140", 2, 30, assistant_minutes=3)), None),
    "modifier.assistant_split": ("modifier", "deny", lambda: claim(line("97140", 2, 25, assistant_minutes=12)),
                                 lambda: claim(line("97140", 1, 13), line("97140", 1, 12, mods=("GP", "CQ"),
                                                                           assistant_minutes=12)), None),
    "modifier.assistant_performed": ("modifier", "deny",
                                     lambda: claim(line("97140", 1, 22), line("G0283", 1, 15, performed_by="PTA")),
                                     lambda: claim(line("97140", 1, 22),
                                                   line("G0283", 1, 15, mods=("GP", "CQ"), performed_by="PTA")), None),
    "threshold.kx_missing": ("threshold", "deny", lambda: kx("2480.01"), lambda: kx("2400.00"), None),
    # $2,450.00 before the claim plus this line's $48.00 passes $2,480.00.
    "threshold.kx_crossed_by_claim": ("threshold", "warn", lambda: kx("2450.00"), lambda: kx("2400.00"), None),
    "threshold.medical_review": ("threshold", "info", lambda: kx("3000.01", ("GP", "KX")),
                                 lambda: kx("2950.00", ("GP", "KX")), None),
    "documentation.indication": ("documentation", "warn", lambda: doc(clinical_indication=" "), claim, None),
    "documentation.intervention_missing": ("documentation", "warn", without_note_for_97110,
                                           lambda: claim(line("97140", 1, 22), line("97110", 1, 15)), None),
    "documentation.technique_not_specific": ("documentation", "warn", lambda: note_for("Manual therapy performed"),
                                             claim, None),
    "documentation.body_region_missing": ("documentation", "warn", lambda: edit(claim(), lines__0__body_region=...),
                                          lambda: edit(claim(), lines__0__body_region=...,
                                                       documentation__interventions__0__body_region="left ankle"), None),
    "documentation.response_not_measurable": ("documentation", "warn", lambda: doc(patient_response="Tolerated well"),
                                              lambda: doc(patient_response="Tolerated well; pain 6/10 to 3/10"), None),
    "documentation.goals_not_functional": ("documentation", "warn", lambda: doc(functional_goals="Decrease pain, improve ROM"),
                                           claim, None),
    "documentation.reasoning_missing": ("documentation", "warn", lambda: doc(clinical_reasoning=None), claim, None),
    "documentation.time_not_exact": ("documentation", "warn", lambda: doc(time_statement="About 30 minutes"),
                                     lambda: doc(time_statement="22 timed minutes, 30 minutes in total"), None),
    "documentation.total_minutes_missing": ("documentation", "warn", lambda: doc(total_treatment_minutes=...), claim, None),
    "documentation.minutes_disagree": ("documentation", "warn", lambda: doc(total_timed_minutes=25), claim, None),
    "documentation.skilled_care_missing": ("documentation", "warn", lambda: no_skilled_care(13),
                                           lambda: no_skilled_care(12), None),
    "documentation.progress_report_overdue": ("documentation", "warn", lambda: episode(visit_number=11),
                                              lambda: episode(visit_number=10), None),
    "documentation.certification_late": ("documentation", "warn", lambda: poc(certified_on="2026-05-21"),
                                         lambda: poc(certified_on="2026-05-20"), None),
    "documentation.recertification_due": ("documentation", "warn", lambda: poc(end="2026-05-13"), claim, None),
    "coding.technique_fits_other_code": ("coding", "warn", lambda: note_for("Swedish massage to the calf"), claim, None),
    "coding.97014_not_medicare": ("coding", "deny", lambda: claim(line("97140", 1, 22), line("97014", 1, 15)),
                                  lambda: claim(line("97140", 1, 22), line("G0283", 1, 15)), None),
    "coding.duplicate_line": ("coding", "warn", lambda: two_97140(), lambda: two_97140("59"), None),
    "coding.97010_bundled": ("coding", "deny", lambda: claim(line("97140", 1, 22), line("97010", 1, 10)), claim, None),
    "coding.evaluation_by_pta": ("coding", "deny", lambda: claim(line("97163", 1, 45, performed_by="PTA")),
                                 lambda: claim(line("97163", 1, 45)), None),
    "coding.evaluation_by_ota": ("coding", "warn",
                                 lambda: claim(line("97165", 1, 45, mods=("GO",), performed_by="OTA"), discipline="OT"),
                                 lambda: claim(line("97165", 1, 45, mods=("GO",), performed_by="OT"), discipline="OT"),
                                 None),
    "coding.manual_therapy_and_massage_same_region": (
        "coding", "warn", lambda: claim(line("97140", 1, 22), line("97124", 1, 15, body_region="left ankle")),
        lambda: claim(line("97140", 1, 22), line("97124", 1, 15, body_region="right shoulder")), None),
    "coding.manual_therapy_with_omt": ("coding", "warn", lambda: claim(line("98925", 1, mods=()), line("97140", 1, 22)),
                                       lambda: claim(line("98925", 1, mods=()), line("97140", 1, 22, mods=("GP", "XS"))),
                                       None),
    "coding.performance_test_with_evaluation": (
        "coding", "warn", lambda: claim(line("97161", 1, 45), line("97750", 1, 30)),
        lambda: claim(line("97161", 1, 45), line("97750", 1, 30, mods=("GP", "59"))), None),
    "diagnosis.not_billable": ("diagnosis", "deny", lambda: claim(diagnoses=["S93.402"]),
                               lambda: claim(diagnoses=["S93.402D"]), None),
    "diagnosis.pointer_invalid": ("diagnosis", "deny", lambda: claim(line("97140", 1, 22, diagnosis_pointers=[2])),
                                  claim, None),
    "diagnosis.release_outdated": ("diagnosis", "info", lambda: q4_episode("2026-10-01"),
                                   lambda: q4_episode("2026-09-30"), None),
    # M99.99 is not in the shipped (FY2026) release: on a FY2027 date it may be new.
    "diagnosis.newer_than_release": ("diagnosis", "warn",
                                     lambda: edit(q4_episode("2026-10-01"), diagnoses=["S93.402D", "M99.99"]),
                                     lambda: q4_episode("2026-09-30"), None),
    "diagnosis.not_supporting_manual_therapy": ("diagnosis", "info", lambda: claim(diagnoses=["M54.50"]), claim,
                                                "dxlist"),
    "coverage.chiropractor_therapy": ("coverage", "deny", lambda: chiro(line("98941", mods=("AT",)),
                                                                         line("97140", 1, 22, mods=("59",))),
                                      chiro, None),
    "coverage.chiropractor_excluded": ("coverage", "info", lambda: chiro(line("98941", mods=("AT",)),
                                                                           line("97140", 1, 22, mods=("59", "GY"))),
                                       chiro, None),
    "coverage.chiropractor_at_missing": ("modifier", "deny", lambda: chiro(line("98941", mods=())), chiro, None),
    "coverage.chiropractor_subluxation": ("diagnosis", "deny", lambda: chiro(diagnoses=["M54.50"]), chiro, None),
}


@pytest.fixture
def rulebooks(medicare, fixture_rulebook, ama_rulebook, dxlist_rulebook):
    return {None: medicare, "fixture": fixture_rulebook, "ama": ama_rulebook, "dxlist": dxlist_rulebook}


def test_every_rule_has_a_case(medicare):
    assert set(CASES) == {rule.id for rule in medicare.rules}


@pytest.mark.parametrize("rule", CASES)
def test_rule_fires_with_its_category_and_severity(check, rulebooks, rule):
    category, severity, fires, _quiet, book = CASES[rule]
    result = check(fires(), rulebook=rulebooks[book])
    assert result.verdict != "error", result.findings
    hits = findings(result, rule)
    assert hits, f"{rule} did not fire: {sorted(fired(result))}"
    assert {(f.category, f.severity) for f in hits} == {(category, severity)}
    assert all(f.citation and f.message and "(not given)" not in f.message for f in hits)


@pytest.mark.parametrize("rule", CASES)
def test_rule_stays_quiet_on_a_claim_that_complies(check, rulebooks, rule):
    _category, _severity, _fires, quiet, book = CASES[rule]
    result = check(quiet(), rulebook=rulebooks[book])
    assert fired(result) == set() and result.not_evaluated == ()


def test_documentation_and_coding_findings_are_at_least_warnings(medicare):
    for rule in medicare.rules:
        if rule.category in ("documentation", "coding"):
            assert rule.severity in ("warn", "deny"), rule.id


# ------------------------------------------------------------------ NCCI PTP

@pytest.mark.parametrize("first_mods, second_mods, fires", [
    ((), (), True),
    (("59",), (), False),       # order unconfirmed: 59 on the evaluation is accepted...
    ((), ("59",), False),       # ...and on 97140
    (("XS",), (), False),
    ((), ("XU",), False),
])
def test_unconfirmed_pair_accepts_the_modifier_on_either_code(check, first_mods, second_mods, fires):
    data = claim(line("97161", 1, 45, mods=("GP", *first_mods)), line("97140", 1, 22, mods=("GP", *second_mods)))
    assert ("ptp.reported_pair" in fired(check(data))) is fires


def test_a_reported_pair_warns_with_its_grade_and_states_no_column_order(check):
    result = check(claim(line("97140", 1, 22), line("97161", 1, 45)))
    [edit_] = findings(result, "ptp.reported_pair")
    assert edit_.line == 0 and edit_.severity == "warn" and result.verdict == "warn"
    assert "grade B: a payer's or professional association's own document" in edit_.message
    assert "which code is column 1 is not confirmed" in edit_.message
    assert "payerlint import ncci-ptp" in edit_.message
    # An unconfirmed order is never stated as a fact.
    assert "bundled into" not in edit_.message and "column 2" not in edit_.message
    assert edit_.fix == ({"op": "add", "path": "/lines/0/modifiers/-", "value": "59"},)
    assert str(edit_.denial) == "CO-236"


def test_no_bundled_ncci_row_denies(check, medicare):
    # Every shipped row is reported (grade B or C): checking each pair without a modifier
    # gives warnings at most.
    for row in _ptp_rows():
        if row["modifier_indicator"] == "9":
            continue
        result = check(claim(line(row["column_1"], 1, 30), line(row["column_2"], 1, 30)))
        ptp = [f for f in result.findings if f.category == "ptp"]
        assert ptp and all(f.severity == "warn" for f in ptp), row


def test_a_pair_from_the_cms_file_denies_and_names_its_columns(check, fixture_rulebook):
    result = check(claim(line("97140", 1, 22), line("97161", 1, 45)), rulebook=fixture_rulebook)
    [edit_] = findings(result, "ptp.modifier_required")
    assert edit_.severity == "deny" and "column 1 97161, column 2 97140" in edit_.message


@pytest.mark.parametrize("col1_mods, col2_mods, fires", [
    (("59",), (), False),       # Part B: 59 or an X modifier on either code from 2019-07-01 (First Coast)
    ((), ("59",), False),
    ((), ("XS",), False),
    ((), (), True),
])
def test_part_b_accepts_the_modifier_on_either_code_of_a_confirmed_pair(check, col1_mods, col2_mods, fires):
    data = claim(line("97530", 1, 22, mods=("GP", *col1_mods)), line("97164", 1, 30, mods=("GP", *col2_mods)))
    assert ("ptp.reported_pair" in fired(check(data))) is fires


def test_a_confirmed_order_is_said_to_be_the_sources(check):
    [edit_] = findings(check(claim(line("97530", 1, 22), line("97164", 1, 30))), "ptp.reported_pair")
    assert "the source gives the first as column 1" in edit_.message


def test_traction_and_manual_therapy_order_is_unconfirmed(check):
    # One C source puts 97140 in column 2; no other confirms the order.
    data = claim(line("97012", 1, 15, mods=("GP", "59")), line("97140", 1, 22))
    assert "ptp.reported_pair" not in fired(check(data))
    assert "ptp.reported_pair" in fired(check(claim(line("97012", 1, 15), line("97140", 1, 22))))


def test_manual_therapy_with_therapeutic_activities_is_a_reported_pair(check):
    [edit_] = findings(check(claim(line("97140", 1, 22), line("97530", 1, 23))), "ptp.reported_pair")
    assert "grade C: a secondary source" in edit_.message


def _ptp_rows():
    with open(TABLES / "ncci_ptp_therapy.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@pytest.mark.parametrize("row", [r for r in _ptp_rows() if r["modifier_indicator"] == "9"],
                         ids=lambda r: f"{r['column_1']}-{r['column_2']}")
def test_indicator_9_rows_never_fire(check, row):
    data = claim(line(row["column_1"], 1, 30, mods=("GP",)), line(row["column_2"], 1, 45, mods=("GP",)))
    assert not {"ptp.modifier_required", "ptp.not_allowed", "ptp.reported_pair",
                "ptp.reported_not_allowed"} & fired(check(data))


def test_pair_on_different_dates_is_no_edit(check):
    data = claim(line("97161", 1, 45), line("97140", 1, 22, date="2026-05-15"))
    assert "ptp.reported_pair" not in fired(check(data))


def test_indicator_0_pair_allows_no_modifier(check, fixture_rulebook):
    result = check(claim(line("97530", 1, 22), line("97161", 1, 45, mods=("GP", "59"))), rulebook=fixture_rulebook)
    [hard] = findings(result, "ptp.not_allowed")
    assert hard.line == 1 and hard.fix == ({"op": "remove", "path": "/lines/1"},)


@pytest.mark.parametrize("col1, col2, date, fires", [
    ("97530", "97165", "2026-03-31", "ptp.not_allowed"),   # before its deletion date
    ("97530", "97165", "2026-05-14", None),                 # deleted 2026-04-01
    ("97150", "97110", "2026-05-31", None),                 # not yet effective
    ("97150", "97110", "2026-06-01", "ptp.modifier_required"),
])
def test_edit_effective_and_deleted_dates(check, fixture_rulebook, col1, col2, date, fires):
    data = claim(line(col1, 1, 30), line(col2, 1, 45), diagnoses=["S93.402D"])
    data["date_of_service"] = date
    got = fired(check(data, rulebook=fixture_rulebook)) & {"ptp.not_allowed", "ptp.modifier_required"}
    assert got == ({fires} if fires else set())


def test_59_with_an_x_modifier_fix_drops_59(check):
    [both] = findings(check(claim(line("97140", 1, 22, mods=("GP", "XS", "59")))), "modifier.59_with_x")
    assert both.fix == ({"op": "remove", "path": "/lines/0/modifiers/2"},)


# ------------------------------------------------------------------ MUE

def test_shipped_mue_table_has_no_values_so_no_mue_edit_fires(check):
    assert not {"mue.line", "mue.date"} & fired(check(claim(line("97140", 40, 600))))


def test_mai_1_is_a_line_edit(check, fixture_rulebook):
    # 97140 MUE 2, MAI 1: 3 units on one line fail; 2 + 1 on separate lines pass.
    [over] = findings(check(claim(line("97140", 3, 45)), rulebook=fixture_rulebook), "mue.line")
    assert over.line == 0 and "exceed its MUE of 2" in over.message
    assert over.fix == ({"op": "replace", "path": "/lines/0/units", "value": 2},)
    split = claim(line("97140", 2, 30), line("97140", 1, 15, mods=("GP", "59")))
    assert not {"mue.line", "mue.date"} & fired(check(split, rulebook=fixture_rulebook))


@pytest.mark.parametrize("code, text", [("97110", "2 Date of Service Edit: Policy"),
                                        ("97530", "3 Date of Service Edit: Clinical")])
def test_mai_2_and_3_are_date_edits(check, fixture_rulebook, code, text):
    split = claim(line(code, 2, 30), line(code, 1, 15, mods=("GP", "59")))
    result = check(split, rulebook=fixture_rulebook)
    [over] = findings(result, "mue.date")
    assert over.line == 0 and f"3 units exceed its MUE of 2 ({text})" in over.message and over.fix == ()
    assert "mue.line" not in fired(result)
    assert "mue.date" not in fired(check(claim(line(code, 2, 30)), rulebook=fixture_rulebook))


# ------------------------------------------------------------------ therapy modifiers

@pytest.mark.parametrize("discipline, expected", [("PT", "GP"), ("OT", "GO"), ("SLP", "GN")])
def test_missing_therapy_modifier_fix_adds_the_disciplines_one(check, discipline, expected):
    [missing] = findings(check(claim(line("97110", 1, 15, mods=()), discipline=discipline)),
                         "modifier.therapy_missing")
    assert missing.fix == ({"op": "add", "path": "/lines/0/modifiers/-", "value": expected},)
    assert f"{expected} for {discipline}" in missing.message


@pytest.mark.parametrize("discipline, mods, expected", [
    ("PT", ("GO",), {"modifier.therapy_mismatch"}),
    ("OT", ("GP",), {"modifier.therapy_mismatch"}),
    ("SLP", ("GN",), set()),
    ("PT", ("GP", "GN"), {"modifier.therapy_multiple"}),
    ("OT", ("GO",), set()),
])
def test_therapy_modifier_must_match_the_discipline(check, discipline, mods, expected):
    result = check(claim(line("97110", 1, 15, mods=mods), discipline=discipline))
    assert fired(result) & {"modifier.therapy_mismatch", "modifier.therapy_multiple", "modifier.therapy_missing"} \
        == expected


def test_untimed_always_therapy_code_needs_the_modifier_too(check):
    result = check(claim(line("97140", 1, 22), line("G0283", 1, 15, mods=())))
    assert [f.line for f in findings(result, "modifier.therapy_missing")] == [1]


# ------------------------------------------------------------------ CQ / CO

@pytest.mark.parametrize("units, minutes, assistant, mods, expected", [
    (2, 30, 3, ("GP",), set()),                             # 10%: de minimis
    (2, 30, 4, ("GP",), set()),                             # therapist 15 + 11 of the final unit (exception a)
    (2, 30, 4, ("GP", "CQ"), set()),
    (1, 20, 12, ("GP",), set()),                            # exception (a): therapist 8 of the final unit
    (1, 20, 13, ("GP",), {"modifier.assistant_missing"}),   # therapist only 7
    (2, 25, 12, ("GP",), {"modifier.assistant_split"}),     # exception (b): 13 + 12 over 2 units
    (2, 23, 9, ("GP",), {"modifier.assistant_split"}),
    (2, 30, 15, ("GP",), {"modifier.assistant_split"}),     # one full unit each
    (2, 36, 23, ("GP",), {"modifier.assistant_split"}),     # CMS scenario: PTA 23, PT 13 of 97110
    (2, 30, 30, ("GP",), {"modifier.assistant_missing"}),   # all the assistant's
    (3, 45, 20, ("GP",), {"modifier.assistant_split"}),     # PT 15 + 10 of the final unit, PTA 15
])
def test_assistant_modifier_de_minimis_and_exceptions(check, units, minutes, assistant, mods, expected):
    result = check(claim(line("97140", units, minutes, mods=mods, assistant_minutes=assistant)))
    assert fired(result) & {"modifier.assistant_missing", "modifier.assistant_split"} == expected


def test_occupational_therapy_assistant_takes_co(check):
    data = claim(line("97530", 2, 30, mods=("GO",), assistant_minutes=30), discipline="OT")
    [missing] = findings(check(data), "modifier.assistant_missing")
    assert missing.fix == ({"op": "add", "path": "/lines/0/modifiers/-", "value": "CO"},)


def test_a_shared_line_is_split_not_given_cq_whole(check):
    # CMS scenario: PTA 23 and PT 13 minutes of 97110, 2 units: one unit each; the fix
    # keeps the therapist's unit on the line and adds the assistant's with GP-CQ.
    data = claim(line("97110", 2, 36, assistant_minutes=23))
    [split] = findings(check(data), "modifier.assistant_split")
    assert "not CQ on the whole line" in split.message
    assert split.fix == (
        {"op": "replace", "path": "/lines/0/units", "value": 1},
        {"op": "replace", "path": "/lines/0/minutes", "value": 13},
        {"op": "replace", "path": "/lines/0/assistant_minutes", "value": 0},
        {"op": "replace", "path": "/lines/0/charge", "value": "48.00"},
        {"op": "add", "path": "/lines/-", "value": {
            "code": "97110", "modifiers": ["GP", "CQ"], "units": 1, "diagnosis_pointers": [1], "performed_by": "PT",
            "assistant_minutes": 23, "charge": "48.00", "minutes": 23, "date": "2026-05-14"}},
    )
    assert not any(op.get("value") == "CQ" for op in split.fix)


@pytest.mark.parametrize("performed_by, expected", [("PTA", "CQ"), ("OTA", "CO")])
def test_untimed_service_by_an_assistant(check, performed_by, expected):
    result = check(claim(line("97140", 1, 22), line("G0283", 1, 15, performed_by=performed_by)))
    [assistant] = findings(result, "modifier.assistant_performed")
    assert assistant.fix == ({"op": "add", "path": "/lines/1/modifiers/-", "value": expected},)


# ------------------------------------------------------------------ thresholds

@pytest.mark.parametrize("discipline, mods", [("PT", ("GP",)), ("SLP", ("GN",)), ("OT", ("GO",))])
@pytest.mark.parametrize("amount, fires", [("2479.99", False), ("2480.00", False), ("2480.01", True)])
def test_kx_threshold_2026(check, discipline, mods, amount, fires):
    result = check(kx(amount, mods, discipline))
    assert ("threshold.kx_missing" in fired(result)) is fires
    assert "threshold.kx_missing" not in fired(check(kx(amount, mods + ("KX",), discipline)))


def test_kx_fix_adds_kx_to_every_therapy_line(check):
    data = edit(claim(line("97140", 1, 22), line("97110", 1, 15, mods=("GP", "KX")), line("G0283", 1, 10)),
                episode__therapy_amount_ytd="2600.00")
    [missing] = findings(check(data), "threshold.kx_missing")
    assert [op["path"] for op in missing.fix] == ["/lines/0/modifiers/-", "/lines/2/modifiers/-"]


def test_ot_uses_its_own_threshold_param(tmp_path, check):
    rulebook = overlay(tmp_path, "override param kx_threshold_ot = $2,000.00")
    assert "threshold.kx_missing" in fired(check(kx("2100.00", ("GO",), "OT"), rulebook=rulebook))
    assert "threshold.kx_missing" not in fired(check(kx("2100.00", ("GP",), "PT"), rulebook=rulebook))
    assert "threshold.kx_missing" not in fired(check(kx("2100.00", ("GN",), "SLP"), rulebook=rulebook))


def test_medical_review_threshold_is_information_only(check):
    result = check(kx("3000.01", ("GP", "KX")))
    [review] = findings(result, "threshold.medical_review")
    assert review.severity == "info" and result.verdict == "clean" and "$3,000.00" in review.message


# ------------------------------------------------------------------ documentation

@pytest.mark.parametrize("response, fires", [
    ("ROM improved", True), ("Patient did well, no complaints", True), ("Feels better", True), (None, True), ("", True),
    ("Feels better; dorsiflexion 5 to 12 degrees", False), ("Stair pain 6/10 to 3/10", False),
])
def test_patient_response_must_be_measurable(check, response, fires):
    assert ("documentation.response_not_measurable" in fired(check(doc(patient_response=response)))) is fires


@pytest.mark.parametrize("phrases, field, text, rule, fires", [
    ("vague_response", "patient_response", "Patient {}", "documentation.response_not_measurable", True),
    ("approximate_time", "time_statement", "{} 30 minutes", "documentation.time_not_exact", True),
    ("functional_activities", "functional_goals", "Able to {} again by week 6", "documentation.goals_not_functional",
     False),
])
def test_every_phrase_of_a_set_is_recognised(check, medicare, phrases, field, text, rule, fires):
    for phrase in medicare.phrases[phrases].phrases:
        assert (rule in fired(check(doc(**{field: text.format(phrase)})))) is fires, phrase


def test_every_vague_technique_phrase_is_recognised(check, medicare):
    for phrase in medicare.phrases["vague_technique"].phrases:
        assert "documentation.technique_not_specific" in fired(check(note_for(f"{phrase} to the ankle"))), phrase


@pytest.mark.parametrize("technique, fires", [
    ("MT performed", True), ("Soft tissue work", True), (None, True), ("  ", True),
    ("soft-tissue mobilization of the upper trapezius", False),
])
def test_manual_therapy_technique_must_be_named(check, technique, fires):
    assert ("documentation.technique_not_specific" in fired(check(note_for(technique)))) is fires


@pytest.mark.parametrize("statement, fires", [("approx. 30 min", True), ("~30 minutes", True),
                                              ("30 minutes or so", True), ("22 timed, 30 total", False)])
def test_time_statement_must_be_exact(check, statement, fires):
    assert ("documentation.time_not_exact" in fired(check(doc(time_statement=statement)))) is fires


def test_manual_therapy_documentation_rules_need_manual_therapy(check):
    data = claim(line("97110", 1, 15))
    edit(data, documentation__clinical_indication="", documentation__patient_response="ROM improved",
         documentation__functional_goals="Less pain", documentation__clinical_reasoning="")
    assert not {r for r in fired(check(data)) if r.startswith("documentation.")}


@pytest.mark.parametrize("visit, last, fires", [(10, None, True), (9, None, False), (11, 1, True), (10, 1, False),
                                                (20, 10, True), (19, 10, False)])
def test_progress_report_every_10_treatment_days(check, visit, last, fires):
    data = edit(claim(), episode__visit_number=visit, episode__last_progress_report_visit=last)
    data["documentation"]["skilled_care_justification"] = "Needs graded mobilization"
    assert ("documentation.progress_report_overdue" in fired(check(data))) is fires


@pytest.mark.parametrize("start, certified_on, fires", [
    ("2026-04-14", None, False),   # 30 days to the date of service, not yet certified
    ("2026-04-13", None, True),
    ("2026-04-20", "2026-05-20", False),
    ("2026-04-20", "2026-05-21", True),
])
def test_certification_within_30_days(check, start, certified_on, fires):
    data = poc(start=start, certified_on=certified_on)
    assert ("documentation.certification_late" in fired(check(data))) is fires


@pytest.mark.parametrize("plan, fires", [
    ({"start": "2026-02-13", "certified_on": "2026-02-14", "end": "2026-06-30"}, False),   # day 90
    ({"start": "2026-02-12", "certified_on": "2026-02-14", "end": "2026-06-30"}, True),
    ({"start": "2026-01-12", "certified_on": "2026-01-14", "recertified_on": "2026-04-10", "end": "2026-06-30"}, False),
    ({"start": "2026-01-12", "certified_on": "2026-01-14", "recertified_on": None, "end": "2026-06-30"}, True),
])
def test_recertification_at_least_every_90_days(check, plan, fires):
    data = edit(claim(), episode__plan_of_care=plan)
    assert ("documentation.recertification_due" in fired(check(data))) is fires


# ------------------------------------------------------------------ coding

@pytest.mark.parametrize("technique, code", [
    ("Swedish massage to the calf", "97124"), ("Hot pack to the ankle", "97010"),
    ("Mechanical traction, lumbar", "97012"), ("E-stim to the quadriceps", "G0283"), ("TENS", "G0283"),
    ("Ultrasound to the lateral ankle", "97035"), ("Therapeutic exercise for the ankle", "97110"),
])
def test_technique_documented_under_97140_that_fits_another_code(check, technique, code):
    [other] = findings(check(note_for(technique)), "coding.technique_fits_other_code")
    assert other.line == 0 and other.message.endswith(f"codes as {code}")
    assert other.fix[0] == {"op": "replace", "path": "/lines/0/code", "value": code}


def test_technique_whose_code_is_billed_too_is_not_flagged(check):
    data = claim(line("97140", 1, 22), line("97010", 1, 10))
    data["documentation"]["interventions"][0]["technique"] = "Joint mobilization after a hot pack"
    assert "coding.technique_fits_other_code" not in fired(check(data))


def test_97014_is_recoded_as_g0283(check):
    [bad] = findings(check(claim(line("97140", 1, 22), line("97014", 1, 15))), "coding.97014_not_medicare")
    assert bad.fix == ({"op": "replace", "path": "/lines/1/code", "value": "G0283"},)


@pytest.mark.parametrize("mods, fires", [((), True), (("CQ",), False), (("CO",), False), (("59",), False),
                                         (("XS",), False), (("XE",), False), (("76",), False)])
def test_one_line_per_timed_code_per_date_unless_a_modifier_splits_them(check, mods, fires):
    assert ("coding.duplicate_line" in fired(check(two_97140(*mods)))) is fires


def test_separate_body_regions_do_not_make_a_second_line(check):
    data = claim(line("97140", 1, 12), line("97140", 1, 13, body_region="right knee"))
    assert "coding.duplicate_line" in fired(check(data))


def test_same_code_on_different_dates_is_not_a_duplicate(check):
    data = claim(line("97140", 1, 22), line("97140", 1, 22, date="2026-05-15"))
    assert "coding.duplicate_line" not in fired(check(data))


# ------------------------------------------------------------------ diagnoses

@pytest.mark.parametrize("code, hint", [
    ("M54.5", "M54.50, M54.51, M54.59"), ("M79.1", "M79.10, M79.11, M79.12"),
    ("S93.402", "needs a 7th character"), ("M99.99", "not an ICD-10-CM code"),
])
def test_diagnosis_that_is_not_billable(check, code, hint):
    [bad] = findings(check(claim(diagnoses=["S93.402D", code])), "diagnosis.not_billable")
    assert bad.line is None and code in bad.message and hint in bad.message


@pytest.mark.parametrize("pointers, fixed", [([2], [1]), ([1, 3], [1]), ([], [1])])
def test_pointer_to_no_diagnosis(check, pointers, fixed):
    [bad] = findings(check(claim(line("97140", 1, 22, diagnosis_pointers=pointers))), "diagnosis.pointer_invalid")
    assert bad.fix == ({"op": "add", "path": "/lines/0/diagnosis_pointers", "value": fixed},)


def test_date_after_the_icd10_fiscal_year_gets_information(check):
    [info] = findings(check(q4_episode("2026-11-02")), "diagnosis.release_outdated")
    assert info.severity == "info" and "valid through 2026-09-30" in info.message


def test_a_code_newer_than_the_shipped_release_is_not_denied(check):
    # M99.99 is not in the FY2026 release. Within FY2026 it is denied as invalid; on a
    # FY2027 date of service it may be a new code: a warning that says the release is older.
    within = check(edit(q4_episode("2026-09-30"), diagnoses=["S93.402D", "M99.99"]))
    assert "diagnosis.not_billable" in fired(within) and within.verdict == "deny"
    later = check(edit(q4_episode("2026-10-01"), diagnoses=["S93.402D", "M99.99"]))
    assert "diagnosis.not_billable" not in fired(later) and later.verdict == "warn"
    [newer] = findings(later, "diagnosis.newer_than_release")
    assert "M99.99" in newer.message and "valid through 2026-09-30" in newer.message
    assert "later fiscal year" in newer.message
    # A header code is still not billable whatever the date.
    header = check(edit(q4_episode("2026-10-01"), diagnoses=["M54.5"]))
    assert "diagnosis.not_billable" in fired(header)


@pytest.mark.parametrize("primary", ["M54.50", "M54.2", "M54.16", "M17.11", "M99.03", "M79.18", "S93.402D"])
def test_medicare_has_no_diagnosis_list_for_manual_therapy(check, primary):
    # Common, legitimate diagnoses for 97140 (low back pain, cervicalgia, radiculopathy, knee
    # osteoarthritis, segmental dysfunction): Medicare publishes no list, so no finding.
    result = check(claim(diagnoses=[primary, "S93.402D"]))
    assert "diagnosis.not_supporting_manual_therapy" not in fired(result)


@pytest.mark.parametrize("primary, fires", [("S93.402D", False), ("M25.661", False), ("M54.50", True)])
def test_a_payers_published_diagnosis_list_turns_the_rule_on_as_information(check, dxlist_rulebook, primary, fires):
    result = check(claim(diagnoses=[primary, "S93.402D"]), rulebook=dxlist_rulebook)
    hits = findings(result, "diagnosis.not_supporting_manual_therapy")
    assert bool(hits) is fires
    assert all(f.severity == "info" for f in hits) and result.verdict == "clean"


# ------------------------------------------------------------------ coverage

def test_chiropractor_billing_manual_therapy_is_not_covered(check):
    result = check(chiro(line("98941", mods=("AT",)), line("97140", 1, 22, mods=("59",))))
    [bad] = findings(result, "coverage.chiropractor_therapy")
    # GY and the patient's notice, not a fix that deletes the line.
    assert bad.line == 1 and result.verdict == "deny"
    assert bad.fix == ({"op": "add", "path": "/lines/1/modifiers/-", "value": "GY"},)
    assert "GY" in bad.message and "patient" in bad.message
    assert str(bad.denial) == "PR-96 (remark N425)"


def test_chiropractor_excluded_service_with_gy_is_information(check):
    result = check(chiro(line("98941", mods=("AT",)), line("97140", 1, 22, mods=("59", "GY"))))
    assert "coverage.chiropractor_therapy" not in fired(result)
    [info] = findings(result, "coverage.chiropractor_excluded")
    assert info.severity == "info" and str(info.denial) == "PR-96 (remark N425)"


@pytest.mark.parametrize("code, fires", [("98940", False), ("98941", False), ("98942", False), ("98943", True)])
def test_only_98940_to_98942_are_covered_from_a_chiropractor(check, code, fires):
    assert ("coverage.chiropractor_therapy" in fired(check(chiro(line(code, mods=("AT",)))))) is fires


@pytest.mark.parametrize("primary, fires", [("M99.00", False), ("M99.05", False), ("M99.06", True), ("M54.50", True)])
def test_chiropractic_primary_diagnosis_is_a_subluxation(check, primary, fires):
    assert ("coverage.chiropractor_subluxation" in fired(check(chiro(diagnoses=[primary])))) is fires


def test_manipulation_from_a_physical_therapist_is_not_a_chiropractic_claim(check):
    data = claim(line("98941", mods=("GP",)), diagnoses=["M54.50"])
    assert not {r for r in fired(check(data)) if r.startswith("coverage.")}
