"""The CMS 8-minute rule (Pub. 100-04 Ch. 5 sec. 20.2; billing-facts brief sec. 1) as the
Medicare rulebook applies it, and the unit built-ins it is written with."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payerlint.builtins import BUILTINS, ama_code_units, cms_allocation, cms_total_units

from .claims import claim, findings, fired, line, overlay

UNIT_RULES = {"units.ama_per_code", "units.total", "units.lone_under_8", "units.zero_with_15_minutes", "units.all_to_one_code",
              "units.more_to_less_time", "units.untimed_over_one", "units.remaining_unit_misallocated"}


def units_fired(result) -> set[str]:
    return fired(result) & UNIT_RULES


# ------------------------------------------------------------------ a lone 97140

# Minutes at each edge of the CMS table, and the units they support (brief sec. 1.1).
BOUNDARIES = [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (127, 8), (128, 9),
              (200, 13)]


@pytest.mark.parametrize("minutes, allowed", BOUNDARIES)
def test_lone_97140_billed_at_the_allowed_units_is_clean(check, minutes, allowed):
    result = check(claim(line("97140", allowed, minutes)))
    assert result.verdict == "clean", result.findings


@pytest.mark.parametrize("minutes, allowed", BOUNDARIES)
def test_lone_97140_billed_one_unit_more_is_denied(check, minutes, allowed):
    result = check(claim(line("97140", allowed + 1, minutes)))
    [total] = findings(result, "units.total")
    assert (total.severity, total.category, total.line) == ("deny", "units", None)
    assert f"{minutes} timed minutes support {allowed} under the CMS 8-minute rule" in total.message
    assert total.fix == ({"op": "replace", "path": "/lines/0/units", "value": allowed},)


def test_lone_97140_of_7_minutes_billed_is_not_billable(check):
    result = check(claim(line("97140", 1, 7)))
    [lone] = findings(result, "units.lone_under_8")
    assert (lone.severity, lone.category, lone.line) == ("deny", "units", 0)
    assert "97140 ran 7 minutes" in lone.message
    assert lone.fix == ({"op": "replace", "path": "/lines/0/units", "value": 0},)


def test_lone_timed_service_under_8_minutes_beside_untimed_services_is_still_lone(check):
    result = check(claim(line("97140", 1, 7), line("97010", 1, 15)))
    assert "units.lone_under_8" in fired(result)


def test_two_short_timed_services_are_not_lone(check):
    # 7 + 5 = 12 timed minutes: one unit, for the service with the most minutes (rule 5).
    result = check(claim(line("97140", 1, 7), line("97110", 0, 5)))
    assert units_fired(result) == set()


def test_22_minutes_of_manual_therapy_is_one_unit_not_two(check):
    # The popular claim "22 minutes = 2 units" is false under both methods (brief sec. 1.4).
    result = check(claim(line("97140", 2, 22)))
    assert result.verdict == "deny"
    [total] = findings(result, "units.total")
    assert "2 timed units billed" in total.message and "22 timed minutes support 1 " in total.message


# ------------------------------------------------------------------ CMS worked examples (brief sec. 1.2)

EXAMPLES = {
    # name: (lines, unit findings expected)
    "ex1 more units to more time": ([line("97112", 2, 24), line("97110", 1, 23)], set()),
    "ex1 reversed": ([line("97112", 1, 24), line("97110", 2, 23)], {"units.more_to_less_time"}),
    "ex2 either code x2": ([line("97112", 2, 20), line("97110", 1, 20)], set()),
    "ex2 the other code x2 (tie)": ([line("97112", 1, 20), line("97110", 2, 20)], set()),
    "ex2 all three to one code": ([line("97112", 3, 20), line("97110", 0, 20)],
                                  {"units.all_to_one_code", "units.zero_with_15_minutes"}),
    "ex3 7-minute 97140 gets the third unit": ([line("97110", 2, 33), line("97140", 1, 7)], set()),
    "ex3 more units to 97140": ([line("97110", 1, 33), line("97140", 2, 7)], {"units.more_to_less_time"}),
    "ex4 97035 gets none": ([line("97110", 1, 18), line("97140", 1, 13), line("97116", 1, 10), line("97035", 0, 8)],
                            set()),
    "ex4 a fourth unit": ([line("97110", 1, 18), line("97140", 1, 13), line("97116", 1, 10), line("97035", 1, 8)],
                          {"units.total"}),
}


@pytest.mark.parametrize("lines, expected", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_cms_worked_examples(check, lines, expected):
    result = check(claim(*lines))
    assert units_fired(result) == expected
    if not expected:
        assert result.verdict == "clean", result.findings


def test_example_2_all_to_one_code_is_a_warning_with_the_cms_split_as_fix(check):
    result = check(claim(line("97112", 3, 20), line("97110", 0, 20)))
    [warn] = findings(result, "units.all_to_one_code")
    assert (warn.severity, warn.category, warn.line) == ("warn", "units", None)
    assert set(map(str, warn.fix)) == set(map(str, ({"op": "replace", "path": "/lines/0/units", "value": 2},
                                                    {"op": "replace", "path": "/lines/1/units", "value": 1})))


def test_example_3_all_units_to_97110_is_flagged(check):
    result = check(claim(line("97110", 3, 33), line("97140", 0, 7)))
    assert units_fired(result) == {"units.remaining_unit_misallocated"}
    [warn] = findings(result, "units.remaining_unit_misallocated")
    assert "97140 has 7 minutes left and 97110 3" in warn.message
    assert warn.fix == ({"op": "replace", "path": "/lines/0/units", "value": 2},
                        {"op": "replace", "path": "/lines/1/units", "value": 1})


def test_zero_unit_lines_minutes_count_toward_the_total(check):
    # 97140 20 minutes alone supports 1 unit; with 97035 performed 5 minutes (0 units) the day has
    # 25 timed minutes and supports 2.
    assert units_fired(check(claim(line("97140", 2, 20), line("97035", 0, 5)))) == set()
    assert units_fired(check(claim(line("97140", 2, 20)))) == {"units.total"}


# ------------------------------------------------------------------ untimed services

UNTIMED = ["97161", "97010", "97012", "G0283"]


def test_untimed_minutes_do_not_count_toward_timed_units(check):
    # 97010 is left out: Medicare never pays it separately (coding.97010_bundled).
    untimed = [line(code, 1, 45 if code == "97161" else 20) for code in UNTIMED if code != "97010"]
    # 59 on 97140: it is column 2 of NCCI pairs with 97161 and 97012.
    manual = line("97140", 1, 22, mods=("GP", "59"))
    assert check(claim(manual, *untimed)).verdict == "clean"
    manual["units"] = 2
    [total] = findings(check(claim(manual, *untimed)), "units.total")
    assert "22 timed minutes support 1" in total.message


@pytest.mark.parametrize("code", UNTIMED)
def test_untimed_service_is_one_unit_whatever_its_length(check, code):
    manual = line("97140", 1, 22, mods=("GP", "59"))
    assert units_fired(check(claim(manual, line(code, 1, 60)))) == set()
    result = check(claim(manual, line(code, 2, 60)))
    [over] = findings(result, "units.untimed_over_one")
    assert (over.severity, over.category, over.line) == ("deny", "units", 1)
    assert over.fix == ({"op": "replace", "path": "/lines/1/units", "value": 1},)


def test_untimed_line_without_minutes_is_fine(check):
    result = check(claim(line("97140", 1, 22), line("G0283", 1)))
    assert result.verdict == "clean" and result.not_evaluated == ()


# ------------------------------------------------------------------ allocation warnings

@pytest.mark.parametrize("minutes, fires", [(14, False), (15, True), (40, True)])
def test_timed_code_of_15_minutes_or_more_billed_at_zero(check, minutes, fires):
    result = check(claim(line("97140", 1, 22), line("97110", 0, minutes)))
    assert ("units.zero_with_15_minutes" in fired(result)) is fires
    if fires:
        [zero] = findings(result, "units.zero_with_15_minutes")
        assert (zero.severity, zero.category, zero.line) == ("warn", "units", 1)


def test_zero_with_15_minutes_fix_reallocates_the_whole_date(check):
    # Raising 97112 alone to 1 unit would make 4 units for 40 minutes.
    result = check(claim(line("97110", 3, 20), line("97112", 0, 20)))
    [zero] = findings(result, "units.zero_with_15_minutes")
    assert {(op["path"], op["value"]) for op in zero.fix} == {("/lines/0/units", 2), ("/lines/1/units", 1)}


@pytest.mark.parametrize("units, fires", [((2, 1), False), ((1, 1), False), ((1, 2), True)])
def test_more_units_to_the_code_with_less_time(check, units, fires):
    result = check(claim(line("97110", units[0], 30), line("97112", units[1], 10)))
    assert ("units.more_to_less_time" in fired(result)) is fires
    if fires:
        [more] = findings(result, "units.more_to_less_time")
        assert (more.severity, more.category, more.line) == ("warn", "units", 1)
        assert "97112 ran 10 minutes and got 2 units, but 97110 ran 30 minutes and got 1" in more.message


def test_ties_in_minutes_are_not_findings(check):
    for units in ((1, 2), (2, 1)):
        result = check(claim(line("97110", units[0], 20), line("97112", units[1], 20)))
        assert units_fired(result) == set()


def test_more_to_less_time_fix_keeps_the_day_total(check):
    # Fixing only the pair (97110 -> 2, 97112 -> 2) would leave 97116's unit and bill 5 for 60 minutes.
    result = check(claim(line("97110", 1, 30), line("97112", 2, 25), line("97116", 1, 5)))
    [more] = findings(result, "units.more_to_less_time")
    assert {(op["path"], op["value"]) for op in more.fix} == {("/lines/0/units", 2), ("/lines/2/units", 0)}


# ------------------------------------------------------------------ the unit built-ins

def test_cms_total_units_table():
    assert [cms_total_units(m) for m in (0, 7, 8, 22, 23, 37, 38, 52, 53, 67, 68, 82, 83, 97, 98, 112, 113, 127)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]


@pytest.mark.parametrize("minutes, expected", [
    ([24, 23], [2, 1]),            # Example 1
    ([20, 20], [2, 1]),            # Example 2: the tie goes to the earlier line
    ([33, 7], [2, 1]),             # Example 3
    ([18, 13, 10, 8], [1, 1, 1, 0]),  # Example 4
    ([20, 18], [2, 1]),            # brief sec. 1.3
    ([7, 7], [1, 0]),
    ([7, 7, 7], [1, 0, 0]),        # Example 5 as recalled (not verbatim)
    ([0], [0]),
])
def test_cms_allocation(minutes, expected):
    assert cms_allocation(minutes) == expected


def test_cms_and_ama_methods_differ_as_the_brief_says():
    # 97110 20 + 97140 18: CMS pools 38 minutes (3 units); AMA counts each code alone (1 + 1).
    assert cms_total_units(20 + 18) == 3 and sum(cms_allocation([20, 18])) == 3
    assert ama_code_units(20) + ama_code_units(18) == 2
    # Two codes of 7 minutes: CMS 1 unit, AMA none.
    assert cms_total_units(7 + 7) == 1 and ama_code_units(7) + ama_code_units(7) == 0
    # 22 minutes of one code is 1 unit under both.
    assert cms_total_units(22) == ama_code_units(22) == 1


def test_unit_builtins_are_registered_for_rulebooks():
    assert BUILTINS["cms_units"].build([])(38) == 3
    assert BUILTINS["ama_units"].build([])(20) == 1
    assert {"cms_units", "ama_units", "cms_share"} <= set(BUILTINS)


def test_a_rulebook_can_choose_the_ama_method(tmp_path, check):
    rulebook = overlay(tmp_path, 'override param unit_method = "ama_per_code"')
    # CMS allows 97110 x2 + 97140 x1 for 20 + 18 minutes; AMA gives 97110 only 1.
    lines = [line("97110", 2, 20), line("97140", 1, 18)]
    assert units_fired(check(claim(*lines))) == set()
    result = check(claim(*lines), rulebook=rulebook)
    [ama] = findings(result, "units.ama_per_code")
    assert (ama.line, ama.severity, ama.category) == (0, "deny", "units")
    assert "they support 1" in ama.message
    assert ama.fix == ({"op": "replace", "path": "/lines/0/units", "value": 1},)
    # The CMS rules are off: two 7-minute codes billed 1 unit pass CMS but not AMA...
    assert units_fired(result) == {"units.ama_per_code"}
    sevens = claim(line("97110", 1, 7), line("97140", 0, 7))
    assert units_fired(check(sevens)) == set()
    assert units_fired(check(sevens, rulebook=rulebook)) == {"units.ama_per_code"}
    # ...and 22 minutes of one code is 1 unit under both.
    assert units_fired(check(claim(line("97140", 2, 22)), rulebook=rulebook)) == {"units.ama_per_code"}
    assert units_fired(check(claim(line("97140", 1, 22)), rulebook=rulebook)) == set()


def test_the_ama_rule_is_off_under_the_cms_method(check):
    # 97110 x2 for 20 minutes beside 97140 18 minutes is right under CMS, over under AMA.
    assert "units.ama_per_code" not in fired(check(claim(line("97110", 2, 20), line("97140", 1, 18))))


# ------------------------------------------------------------------ properties

@given(st.integers(min_value=0, max_value=600))
def test_cms_total_units_formula(total):
    assert cms_total_units(total) == (0 if total < 8 else (total + 7) // 15)


@given(st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=6).filter(lambda m: sum(m) <= 600))
def test_cms_allocation_properties(minutes):
    units = cms_allocation(minutes)
    assert sum(units) == cms_total_units(sum(minutes))
    for m, u in zip(minutes, units):
        assert u >= m // 15, "a service keeps its full 15-minute units"
    for (m1, u1) in zip(minutes, units):
        for (m2, u2) in zip(minutes, units):
            if m1 < m2:
                assert u1 <= u2, "never more units to the service with fewer minutes"


CODES = ["97110", "97112", "97116", "97140", "97530", "97035"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=4))
def test_billing_the_cms_allocation_passes_every_unit_rule(check, minutes):
    units = cms_allocation(minutes)
    lines = [line(code, u, m) for code, u, m in zip(CODES, units, minutes)]
    assert units_fired(check(claim(*lines))) == set()
