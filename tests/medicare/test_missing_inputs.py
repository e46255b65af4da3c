"""--strict: each rule that a missing value leaves not evaluated becomes a warning of category
`input`. What the Medicare rules do when a claim leaves a value out, or says null, is a
rulebook test: rulebooks/medicare/tests/missing-data.toml."""

from __future__ import annotations

import pytest

from .claims import claim, delete, line


def lone():
    return claim(line("97140", 1, 22))


def reversed_example_1():
    return claim(line("97112", 1, 24), line("97110", 2, 23))


DOCUMENTATION_RULES = {
    "documentation.indication", "documentation.intervention_missing", "documentation.technique_not_specific",
    "documentation.response_not_measurable", "documentation.goals_not_functional",
    "documentation.reasoning_missing", "documentation.time_not_exact", "documentation.total_minutes_missing",
    "documentation.minutes_disagree", "coding.technique_fits_other_code",
}
EPISODE_RULES = {"threshold.kx_missing", "threshold.kx_crossed_by_claim", "threshold.medical_review",
                 "documentation.progress_report_overdue", "documentation.certification_late",
                 "documentation.recertification_due"}
# (The assistant rules read a line's minutes only when an assistant furnished some of them.)
LONE_MINUTES = {"units.total", "units.lone_under_8", "documentation.minutes_disagree"}

# (start claim, pointer deleted, {rule: pointer} not evaluated)
CASES = {
    "lone minutes": (lone, "/lines/0/minutes", dict.fromkeys(LONE_MINUTES, "/lines/0/minutes")),
    "second line's minutes": (reversed_example_1, "/lines/1/minutes",
                              dict.fromkeys({"units.total", "units.more_to_less_time",
                                             "units.remaining_unit_misallocated",
                                             "documentation.minutes_disagree"}, "/lines/1/minutes")),
    "episode": (lone, "/episode", dict.fromkeys(EPISODE_RULES, "/episode")),
    "documentation": (lone, "/documentation", dict.fromkeys(DOCUMENTATION_RULES, "/documentation")),
}


@pytest.mark.parametrize("case", ["lone minutes", "documentation", "episode", "second line's minutes"])
def test_strict_turns_each_rule_not_evaluated_into_an_input_warning(check, case):
    start, pointer, not_evaluated = CASES[case]
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
