"""Medicare rulebook behaviour that reads data the test files cannot enumerate: every phrase of
each phrase set, every reversed NCCI row. The rule-by-rule cases (each rule fires and stays
quiet, boundaries, fixes, modifiers, thresholds, documentation, coding, coverage) are rulebook
tests: rulebooks/medicare/tests/*.toml, run by `payerlint test` (tests/test_rulebook_tests.py)."""

from __future__ import annotations

import csv

import pytest

from .claims import TABLES, claim, fired, line


def note_for(technique):
    data = claim()
    data["documentation"]["interventions"][0]["technique"] = technique
    return data


def doc(**fields):
    data = claim()
    data["documentation"].update(fields)
    return data


def test_documentation_and_coding_findings_are_at_least_warnings(medicare):
    for rule in medicare.rules:
        if rule.category in ("documentation", "coding"):
            assert rule.severity in ("warn", "deny"), rule.id


def _ptp_rows():
    with open(TABLES / "ncci_ptp_therapy.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@pytest.mark.parametrize("row", [r for r in _ptp_rows() if r["modifier_indicator"] == "9"],
                         ids=lambda r: f"{r['column_1']}-{r['column_2']}")
def test_indicator_9_rows_never_fire(check, row):
    data = claim(line(row["column_1"], 1, 30, mods=("GP",)), line(row["column_2"], 1, 45, mods=("GP",)))
    assert not {"ptp.modifier_required", "ptp.not_allowed"} & fired(check(data))


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
