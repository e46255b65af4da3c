"""The unit built-ins the Medicare rulebook is written with (the CMS 8-minute rule, Pub. 100-04
Ch. 5 sec. 20.2; the AMA per-code method), and properties over many claims. The rulebook's
own unit cases (table edges, the CMS worked examples, allocation warnings and their fixes,
the AMA method) are rulebook tests: rulebooks/medicare/tests/units.toml."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payerlint.builtins import BUILTINS, ama_code_units, cms_allocation, cms_total_units

from .claims import claim, fired, line

UNIT_RULES = {"units.ama_per_code", "units.total", "units.lone_under_8", "units.zero_with_15_minutes", "units.all_to_one_code",
              "units.more_to_less_time", "units.untimed_over_one", "units.remaining_unit_misallocated"}


def units_fired(result) -> set[str]:
    return fired(result) & UNIT_RULES


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
