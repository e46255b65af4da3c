"""Generated rule conditions (evaluate/codegen.py) must give exactly what the closures
give: the same findings, messages, fixes and rules not evaluated, claim for claim."""

from __future__ import annotations

import copy
import sys

import pytest

from conftest import ROOT, load
from payerlint.claims.model import Claim
from payerlint.claims.validate import ClaimValidator
from payerlint.evaluate import codegen
from payerlint.evaluate.engine import evaluate
from payerlint.evaluate.program import Program

sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import generate  # noqa: E402


def closures_only(compiled, monkeypatch):
    monkeypatch.setattr(codegen, "ENABLED", False)
    twin = copy.copy(compiled)
    object.__setattr__(twin, "program", Program(twin))
    monkeypatch.setattr(codegen, "ENABLED", True)
    return twin


@pytest.mark.parametrize("ref", ["medicare@2026Q2", "anthem-commercial@2026Q2", "example-commercial@2026Q2",
                                 "uhc-medicare-advantage@2026Q2", "highmark-commercial@2026Q2"])
def test_generated_conditions_match_the_closures_on_a_corpus(ref, monkeypatch):
    fast = load(ref)
    assert any(hasattr(code.condition, "source") for code in fast.program.rules)
    slow = closures_only(fast, monkeypatch)
    assert not any(hasattr(code.condition, "source") for code in slow.program.rules)
    validator = ClaimValidator()
    checked = 0
    for data in generate(600, seed=99):
        if validator.validate(data):
            continue
        a, b = evaluate(fast, Claim(data)), evaluate(slow, Claim(data))
        assert a == b, data["claim_id"]
        checked += 1
    assert checked > 500
