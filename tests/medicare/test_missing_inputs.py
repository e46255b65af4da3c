"""What the Medicare rules do when a claim leaves a value out.

A rule that reads an absent value without asking about it is 'not evaluated', naming the
exact JSON pointer; a rule that tests absence on purpose (`is missing`, `is blank`,
`is present`, `is null`) fires or passes. Under --strict each rule not evaluated becomes a
warning of category `input`.
"""

from __future__ import annotations

import pytest

from .claims import claim, delete, fired, line, overlay, skipped

# ------------------------------------------------------------------ claims each case starts from


def lone():
    return claim(line("97140", 1, 22))


def reversed_example_1():
    return claim(line("97112", 1, 24), line("97110", 2, 23))


def zero_units_line():
    return claim(line("97140", 1, 22), line("97110", 0, 20))


def shared_units():
    return claim(line("97140", 2, 25, assistant_minutes=12))


def assistant_modality():
    return claim(line("97140", 1, 22), line("G0283", 1, 15, performed_by="PTA"))


def pta_evaluation():
    return claim(line("97163", 1, 45, performed_by="PTA"))


def ota_evaluation():
    return claim(line("97165", 1, 45, mods=("GO",), performed_by="OTA"), discipline="OT")


def eval_next_day():
    return claim(line("97161", 1, 45), line("97140", 1, 22, date="2026-05-15"))


def above_thresholds():
    data = lone()
    data["episode"]["therapy_amount_ytd"] = "3000.01"
    return data


def late_visit():
    data = lone()
    data["episode"].update(visit_number=14, last_progress_report_visit=1)
    data["documentation"]["skilled_care_justification"] = ""
    return data


def late_visit_justified():
    data = late_visit()
    data["episode"]["last_progress_report_visit"] = 13
    data["documentation"]["skilled_care_justification"] = "Capsular restriction needs graded mobilization"
    return data


def cert_late():
    data = lone()
    data["episode"]["plan_of_care"]["certified_on"] = "2026-05-30"
    return data


def past_plan_end():
    data = lone()
    data["episode"]["plan_of_care"]["end"] = "2026-05-13"
    return data


def recertified():
    data = lone()
    data["episode"]["plan_of_care"] = {"start": "2026-01-12", "certified_on": "2026-01-14",
                                       "recertified_on": "2026-04-10", "end": "2026-06-30"}
    return data


def approximate_time():
    data = lone()
    data["documentation"]["time_statement"] = "about 30 minutes"
    return data


def no_line_region():
    return delete(lone(), "/lines/0/body_region")


DOCUMENTATION_RULES = {
    "documentation.indication", "documentation.intervention_missing", "documentation.technique_not_specific",
    "documentation.response_not_measurable", "documentation.goals_not_functional",
    "documentation.reasoning_missing", "documentation.time_not_exact", "documentation.total_minutes_missing",
    "documentation.minutes_disagree", "coding.technique_fits_other_code",
}
EPISODE_RULES = {"threshold.kx_missing", "threshold.kx_crossed_by_claim", "threshold.medical_review",
                 "documentation.progress_report_overdue", "documentation.certification_late",
                 "documentation.recertification_due"}
# (The assistant rules need a line's minutes only when an assistant furnished some of them.)
LONE_MINUTES = {"units.total", "units.lone_under_8", "documentation.minutes_disagree"}

# (start claim, pointer deleted, {rule: pointer} not evaluated, rules that fire because the value is absent)
CASES = {
    # ---- lines
    "lone minutes": (lone, "/lines/0/minutes", dict.fromkeys(LONE_MINUTES, "/lines/0/minutes"), set()),
    "second line's minutes": (reversed_example_1, "/lines/1/minutes",
                              dict.fromkeys({"units.total", "units.more_to_less_time",
                                             "units.remaining_unit_misallocated",
                                             "documentation.minutes_disagree"}, "/lines/1/minutes"), set()),
    "zero-unit line's minutes": (zero_units_line, "/lines/1/minutes",
                                 dict.fromkeys({"units.total", "units.zero_with_15_minutes", "units.all_to_one_code",
                                                "units.more_to_less_time",
                                                "units.remaining_unit_misallocated",
                                                "documentation.minutes_disagree"}, "/lines/1/minutes"), set()),
    "assistant minutes": (shared_units, "/lines/0/assistant_minutes",
                          dict.fromkeys({"modifier.assistant_missing", "modifier.assistant_split"},
                                        "/lines/0/assistant_minutes"), set()),
    "who performed an untimed service": (assistant_modality, "/lines/1/performed_by",
                                         {"modifier.assistant_performed": "/lines/1/performed_by"}, set()),
    "who performed a PT evaluation": (pta_evaluation, "/lines/0/performed_by",
                                      dict.fromkeys({"coding.evaluation_by_pta", "modifier.assistant_performed"},
                                                    "/lines/0/performed_by"), set()),
    "who performed an OT evaluation": (ota_evaluation, "/lines/0/performed_by",
                                       dict.fromkeys({"coding.evaluation_by_ota", "modifier.assistant_performed"},
                                                     "/lines/0/performed_by"), set()),
    "line body region, note has none": (lone, "/lines/0/body_region", {}, {"documentation.body_region_missing"}),
    "diagnosis pointers (absent = none)": (lone, "/lines/0/diagnosis_pointers", {}, {"diagnosis.pointer_invalid"}),
    "modifiers (absent = none)": (lone, "/lines/0/modifiers", {}, {"modifier.therapy_missing"}),
    "line date (absent = date of service)": (eval_next_day, "/lines/1/date", {}, {"ptp.reported_pair"}),
    # ---- episode
    "therapy amount this year": (above_thresholds, "/episode/therapy_amount_ytd",
                                 dict.fromkeys({"threshold.kx_missing", "threshold.kx_crossed_by_claim",
                                                "threshold.medical_review"},
                                               "/episode/therapy_amount_ytd"), set()),
    "visit number": (late_visit, "/episode/visit_number",
                     dict.fromkeys({"documentation.skilled_care_missing", "documentation.progress_report_overdue"},
                                   "/episode/visit_number"), set()),
    "last progress report visit": (late_visit, "/episode/last_progress_report_visit",
                                   {"documentation.progress_report_overdue": "/episode/last_progress_report_visit"},
                                   set()),
    "certification date": (cert_late, "/episode/plan_of_care/certified_on",
                           {"documentation.certification_late": "/episode/plan_of_care/certified_on"}, set()),
    "plan start": (lone, "/episode/plan_of_care/start",
                   dict.fromkeys({"documentation.certification_late", "documentation.recertification_due"},
                                 "/episode/plan_of_care/start"), set()),
    "plan end": (past_plan_end, "/episode/plan_of_care/end",
                 {"documentation.recertification_due": "/episode/plan_of_care/end"}, set()),
    "recertification date (absent = not recertified)": (recertified, "/episode/plan_of_care/recertified_on", {},
                                                        {"documentation.recertification_due"}),
    "plan of care": (lone, "/episode/plan_of_care",
                     dict.fromkeys({"documentation.certification_late", "documentation.recertification_due"},
                                   "/episode/plan_of_care"), set()),
    "episode": (lone, "/episode", dict.fromkeys(EPISODE_RULES, "/episode"), set()),
    # ---- documentation
    "documentation": (lone, "/documentation", dict.fromkeys(DOCUMENTATION_RULES, "/documentation"), set()),
    "clinical indication": (lone, "/documentation/clinical_indication", {}, {"documentation.indication"}),
    "interventions": (lone, "/documentation/interventions",
                      dict.fromkeys({"documentation.intervention_missing", "documentation.technique_not_specific",
                                     "coding.technique_fits_other_code"}, "/documentation/interventions"), set()),
    "interventions, line body region absent": (
        no_line_region, "/documentation/interventions",
        dict.fromkeys({"documentation.intervention_missing", "documentation.technique_not_specific",
                       "documentation.body_region_missing", "coding.technique_fits_other_code"},
                      "/documentation/interventions"), set()),
    "technique": (lone, "/documentation/interventions/0/technique", {}, {"documentation.technique_not_specific"}),
    "patient response": (lone, "/documentation/patient_response", {}, {"documentation.response_not_measurable"}),
    "functional goals": (lone, "/documentation/functional_goals", {}, {"documentation.goals_not_functional"}),
    "clinical reasoning": (lone, "/documentation/clinical_reasoning", {}, {"documentation.reasoning_missing"}),
    "time statement (absent = nothing approximate)": (approximate_time, "/documentation/time_statement", {}, set()),
    "total timed minutes": (lone, "/documentation/total_timed_minutes",
                            {"documentation.minutes_disagree": "/documentation/total_timed_minutes"},
                            {"documentation.total_minutes_missing"}),
    "total treatment minutes": (lone, "/documentation/total_treatment_minutes", {},
                                {"documentation.total_minutes_missing"}),
    "skilled-care justification at visit 14": (late_visit_justified, "/documentation/skilled_care_justification",
                                                {}, {"documentation.skilled_care_missing"}),
}


@pytest.mark.parametrize("start, pointer, not_evaluated, fires", CASES.values(), ids=CASES.keys())
def test_deleting_a_claim_input(check, start, pointer, not_evaluated, fires):
    before = check(start())
    assert before.not_evaluated == (), "each case starts from a fully evaluated claim"
    after = check(delete(start(), pointer))
    assert after.verdict != "error", after.findings
    assert skipped(after) == {rule: {ptr} for rule, ptr in not_evaluated.items()}
    assert fired(after) - fired(before) == fires
    # A rule that could not be evaluated reports no finding either.
    assert not set(not_evaluated) & fired(after)


def test_the_cases_start_from_claims_where_the_rules_are_live(check):
    # The values deleted above matter: on the start claims these rules fire.
    assert {"units.more_to_less_time"} <= fired(check(reversed_example_1()))
    assert {"units.zero_with_15_minutes", "units.all_to_one_code"} <= fired(check(zero_units_line()))
    assert {"modifier.assistant_split"} <= fired(check(shared_units()))
    assert {"modifier.assistant_performed"} <= fired(check(assistant_modality()))
    assert {"threshold.kx_missing", "threshold.medical_review"} <= fired(check(above_thresholds()))
    assert {"documentation.skilled_care_missing", "documentation.progress_report_overdue"} <= fired(check(late_visit()))
    assert {"documentation.certification_late"} <= fired(check(cert_late()))
    assert {"documentation.recertification_due"} <= fired(check(past_plan_end()))
    assert {"documentation.time_not_exact"} <= fired(check(approximate_time()))


# Rules that read only what the claim schema requires (codes, units, provider discipline,
# diagnoses, date of service) or arrays the schema defaults to empty (modifiers).
REQUIRED_INPUTS_ONLY = {
    "units.untimed_over_one", "ptp.modifier_required", "ptp.not_allowed", "ptp.reported_pair",
    "ptp.reported_not_allowed", "modifier.59_with_x", "mue.line", "mue.date",
    "modifier.therapy_missing", "modifier.therapy_multiple", "modifier.therapy_mismatch", "coding.97014_not_medicare",
    "coding.duplicate_line", "coding.97010_bundled", "coding.manual_therapy_with_omt",
    "coding.performance_test_with_evaluation", "diagnosis.not_billable", "diagnosis.release_outdated",
    "diagnosis.newer_than_release", "diagnosis.not_supporting_manual_therapy", "coverage.chiropractor_therapy",
    "coverage.chiropractor_excluded", "coverage.chiropractor_at_missing", "coverage.chiropractor_subluxation",
    # body regions are read with `is present`: an absent one means "not known to be the same region"
    "coding.manual_therapy_and_massage_same_region",
}


def test_every_rule_that_reads_an_optional_input_has_a_case(medicare):
    covered = set(REQUIRED_INPUTS_ONLY) | {"units.ama_per_code"}   # tested below, under the AMA method
    for _start, _pointer, not_evaluated, fires in CASES.values():
        covered |= set(not_evaluated) | fires
    assert covered == {rule.id for rule in medicare.rules}


def test_ama_rule_without_minutes(tmp_path, check):
    rulebook = overlay(tmp_path, 'override param unit_method = "ama_per_code"')
    result = check(delete(lone(), "/lines/0/minutes"), rulebook=rulebook)
    assert skipped(result)["units.ama_per_code"] == {"/lines/0/minutes"}
    assert "units.total" not in skipped(result)     # CMS rules are off under the AMA method


# ------------------------------------------------------------------ null versus absent

def test_null_certification_date_means_not_certified(check):
    data = lone()
    data["episode"]["plan_of_care"].update(start="2026-04-01", certified_on=None)
    assert "documentation.certification_late" in fired(check(data))
    data["episode"]["plan_of_care"]["start"] = "2026-04-20"
    result = check(data)
    assert "documentation.certification_late" not in fired(result) and result.not_evaluated == ()


def test_null_last_progress_report_means_none_yet(check):
    data = lone()
    data["episode"].update(visit_number=10, last_progress_report_visit=None)
    result = check(data)
    assert "documentation.progress_report_overdue" in fired(result) and result.not_evaluated == ()


@pytest.mark.parametrize("field, rule", [
    ("clinical_indication", "documentation.indication"),
    ("patient_response", "documentation.response_not_measurable"),
    ("functional_goals", "documentation.goals_not_functional"),
    ("clinical_reasoning", "documentation.reasoning_missing"),
])
def test_null_note_text_is_blank(check, field, rule):
    data = lone()
    data["documentation"][field] = None
    result = check(data)
    assert rule in fired(result) and result.not_evaluated == ()


def test_null_time_statement_is_no_statement(check):
    data = lone()
    data["documentation"]["time_statement"] = None
    result = check(data)
    assert result.verdict == "clean" and result.not_evaluated == ()


# ------------------------------------------------------------------ --strict

@pytest.mark.parametrize("case", ["lone minutes", "documentation", "episode", "second line's minutes"])
def test_strict_turns_each_rule_not_evaluated_into_an_input_warning(check, case):
    start, pointer, not_evaluated, _fires = CASES[case]
    lenient = check(delete(start(), pointer))
    strict = check(delete(start(), pointer), strict=True)
    assert strict.not_evaluated == lenient.not_evaluated
    inputs = [f for f in strict.findings if f.category == "input"]
    assert {f.rule for f in inputs} == set(not_evaluated)
    for finding in inputs:
        skipped_entry = next(n for n in strict.not_evaluated if n.rule == finding.rule)
        assert finding.severity == "warn" and finding.line == skipped_entry.line
        assert pointer in finding.message and finding.fix == ()
    other = [f for f in strict.findings if f.category != "input"]
    assert [(f.rule, f.line) for f in other] == [(f.rule, f.line) for f in lenient.findings]
    assert strict.verdict == ("deny" if lenient.verdict == "deny" else "warn")


def test_strict_line_warning_points_at_the_line(check):
    strict = check(delete(lone(), "/lines/0/minutes"), strict=True)
    lines = {f.rule: f.line for f in strict.findings}
    assert lines["units.lone_under_8"] == 0 and lines["units.total"] is None


def test_strict_changes_nothing_on_a_complete_claim(check):
    assert check(lone(), strict=True).verdict == "clean"
