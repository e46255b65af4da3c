"""Language additions for authors: code ranges and prefixes inside expressions, and a
text comparison that forgives case, spacing and laterality abbreviations. Both run the
same in the fast and the traced evaluator (see test_evaluators.py)."""

from __future__ import annotations

import copy
import textwrap

import pytest

from payerlint.builtins import normal_text
from payerlint.claims.model import Claim
from payerlint.compile.pipeline import Loader
from payerlint.evaluate.prepare import prepare
from payerlint.home import Home
from test_evaluators import fast_outcome, traced_outcome

RULES = textwrap.dedent('''\
    rulebook additions "Ranges, prefixes and text"
      quarter 2026Q2

    rule coding.manipulation "Spinal manipulation billed"
      for each line
      category coding  severity info
      when code in 98940-98942
      say "{code}"
      cite "NGS chiropractic services page"

    rule coding.not_therapy "Outside the therapy codes"
      for each line
      category coding  severity info
      when code not in [97010-97799, "G0283"]
      say "{code}"
      cite "CMS therapy code list"

    rule diagnosis.sprain "An ankle sprain among the diagnoses"
      category diagnosis  severity info
      when diagnoses has any of S93.4*
      say "sprain"
      cite "ICD-10-CM"

    rule documentation.region_differs "The note names another body region than the line"
      for each line
      category documentation  severity warn
      when not any(documentation.interventions where code = line.code and same_text(body_region, line.body_region))
      say "{code}: the note's body region differs from the line's"
      cite "CMS Pub. 100-02 Ch. 15 sec. 220.3"

    rule documentation.region_is_left_ankle "Exactly the left ankle, however written"
      for each line
      category documentation  severity info
      when normal_text(body_region) = "left ankle"
      say "{code}"
      cite "payerlint example"
    ''')


@pytest.fixture
def rulebooks(tmp_path):
    (tmp_path / "additions.rules").write_text(RULES, encoding="utf-8")
    return prepare(Loader(Home(tmp_path, "t")).load(str(tmp_path / "additions.rules")))


def findings(program, claim) -> set:
    fast = fast_outcome(program, Claim(claim))
    assert fast == traced_outcome(program, Claim(claim))  # the fast and traced forms agree
    return fast[0]


def test_code_ranges_and_prefixes_in_conditions(rulebooks, clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["lines"] += [dict(claim["lines"][0], code=code) for code in ("98941", "98943", "G0283", "99213")]
    claim["diagnoses"] = ["M25.671", "S93.401A"]
    fired = findings(rulebooks, claim)
    assert ("coding.manipulation", 1) in fired and ("coding.manipulation", 2) not in fired
    # 98941, 98943 and 99213 are outside 97010-97799 and G0283; 97140 and G0283 are inside.
    assert {line for rule, line in fired if rule == "coding.not_therapy"} == {1, 2, 4}
    assert ("diagnosis.sprain", None) in fired
    claim["diagnoses"] = ["S93.501A"]
    assert ("diagnosis.sprain", None) not in findings(rulebooks, claim)


@pytest.mark.parametrize("note, line, differs", [
    ("left ankle", "Left  Ankle", False),
    ("L ankle", "left ankle", False),
    ("Lt. ankle", "LEFT ANKLE", False),
    ("R shoulder", "right shoulder", False),
    ("b/l knees", "Bilat knees", False),
    ("lumbar-spine", "Lumbar Spine", False),
    ("left ankle", "right ankle", True),
    ("ankle", "left ankle", True),
])
def test_text_compared_without_case_spacing_or_side_abbreviations(rulebooks, clean_claim, note, line, differs):
    claim = copy.deepcopy(clean_claim)
    claim["documentation"]["interventions"][0]["body_region"] = note
    claim["lines"][0]["body_region"] = line
    fired = findings(rulebooks, claim)
    assert (("documentation.region_differs", 0) in fired) == differs
    assert (("documentation.region_is_left_ankle", 0) in fired) == (normal_text(line) == "left ankle")


def test_normal_text_is_what_the_guide_says():
    assert normal_text("  L.  Ankle ") == "left ankle"
    assert normal_text("RT shoulder") == "right shoulder"
    assert normal_text("B / L hips") == normal_text("bilateral hips") == "bilateral hips"
    assert normal_text("L4-L5") == "l4 l5"        # only whole words are abbreviations
    assert normal_text("Left") == "left"
