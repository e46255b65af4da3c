"""Regressions from the billing review (issue 10) that assert more than a rulebook test can
say: the exact wording of a reported NCCI pair (its grade, no stated column order), that no
shipped NCCI row denies, the CQ/CO split and its fix, the KX crossing with this claim's
charges, an ICD-10-CM code newer than the shipped release, a payer's diagnosis list, and a
chiropractor's excluded service with GY. Each fails if the mistake came back; the
rule-by-rule cases are rulebook tests (rulebooks/medicare/tests/*.toml)."""

from __future__ import annotations

import csv

import pytest

from .claims import SYNTHETIC_TABLES, TABLES, chiro, claim, findings, fired, line, overlay

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


# A payer that publishes its diagnosis list for 97140 turns the (off) diagnosis rule on.
DIAGNOSIS_LIST = """override param payer_lists_manual_therapy_diagnoses = true
  cite "synthetic payer list"
override codeset manual_therapy_diagnoses "Synthetic payer list" = S93.4* M25.6*
  cite "synthetic payer list"
"""


@pytest.fixture(scope="module")
def dxlist_rulebook(tmp_path_factory):
    return overlay(tmp_path_factory.mktemp("medicare_dxlist"), DIAGNOSIS_LIST)


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


def kx(amount, mods=("GP",), discipline="PT"):
    return edit(claim(line("97140", 1, 22, mods=mods), discipline=discipline), episode__therapy_amount_ytd=amount)


def q4_episode(date_of_service):
    data = claim()
    data["date_of_service"] = date_of_service
    data["episode"]["plan_of_care"] = {"start": "2026-07-15", "certified_on": "2026-07-16", "end": "2026-10-13"}
    return data


def _ptp_rows():
    with open(TABLES / "ncci_ptp_therapy.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


# ------------------------------------------------------------------ NCCI pairs

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
            "code": "97110", "modifiers": ["GP", "CQ"], "units": 1, "diagnosis_pointers": [1],
            "assistant_minutes": 23, "charge": "48.00", "minutes": 23, "date": "2026-05-14"}},
    )  # the assistant's line does not say the therapist performed it (performed_by is not copied)
    assert not any(op.get("value") == "CQ" for op in split.fix)


# ------------------------------------------------------------------ thresholds

@pytest.mark.parametrize("ytd, fires", [("2431.99", False), ("2432.00", False), ("2432.01", True), ("2480.00", True),
                                        ("2480.01", False)])
def test_kx_crossed_by_this_claims_charges(check, ytd, fires):
    # $48.00 on the line: $2,432.00 + $48.00 reaches $2,480.00 without passing it. Above the
    # threshold before the claim, it is threshold.kx_missing's (a denial), not a crossing.
    result = check(kx(ytd))
    assert ("threshold.kx_crossed_by_claim" in fired(result)) is fires
    if fires:
        [crossing] = findings(result, "threshold.kx_crossed_by_claim")
        assert crossing.severity == "warn" and "Medicare counts allowed amounts" in crossing.message
        assert crossing.fix == ({"op": "add", "path": "/lines/0/modifiers/-", "value": "KX"},)
        assert str(crossing.denial) == "CO-119"


def test_the_crossing_line_is_the_one_that_passes_the_threshold(check):
    data = edit(claim(line("97140", 1, 22), line("97110", 1, 15), line("97112", 1, 15)),
                episode__therapy_amount_ytd="2400.00")
    # $2,400 + $48 = $2,448; + $48 = $2,496 passes $2,480 on the second line, and the third is past it.
    assert [f.line for f in findings(check(data), "threshold.kx_crossed_by_claim")] == [1, 2]


def test_medical_review_counts_this_claims_charges(check):
    assert "threshold.medical_review" not in fired(check(kx("2952.00", ("GP", "KX"))))
    [review] = findings(check(kx("2952.01", ("GP", "KX"))), "threshold.medical_review")
    assert review.severity == "info" and "$3,000.01" in review.message


# ------------------------------------------------------------------ diagnoses and coverage

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


@pytest.mark.parametrize("count", [3, 9, 14])
def test_the_crossing_lines_of_a_long_claim_follow_the_running_total(check, count):
    # Past eight lines charges_before keeps a running total (one pass, not the lines before
    # each line again); a few lines are added up directly. Both must give the naive answer.
    # Lines alternate therapy codes and an untimed non-therapy code (98940 counts nothing).
    codes = ["97140", "98940", "97110", "97112"]
    data = claim(*[line(codes[i % 4], 1, 15) for i in range(count)])
    for i, item in enumerate(data["lines"]):
        item["charge"] = f"{20 + i}.00"
    data = edit(data, episode__therapy_amount_ytd="2400.00")
    expected, running = [], 2400
    for i, item in enumerate(data["lines"]):
        if item["code"] == "98940":
            continue
        running += 20 + i
        if running > 2480 and "KX" not in item["modifiers"]:
            expected.append(i)
    assert [f.line for f in findings(check(data), "threshold.kx_crossed_by_claim")] == expected


def test_a_missing_charge_before_a_line_leaves_the_crossing_not_evaluated(check):
    data = claim(*[line("97110", 1, 15) for _ in range(10)])
    data = edit(data, episode__therapy_amount_ytd="2400.00")
    del data["lines"][3]["charge"]
    result = check(data)
    # $2,400 + $48 passes $2,480 on line 1; line 3 has no charge, so from there on the
    # running total is unknown: not evaluated, naming the charge, never a guess.
    assert [f.line for f in findings(result, "threshold.kx_crossed_by_claim")] == [1, 2]
    skipped = {(s.missing, s.line) for s in result.not_evaluated if s.rule == "threshold.kx_crossed_by_claim"}
    assert skipped == {("/lines/3/charge", 3)}
