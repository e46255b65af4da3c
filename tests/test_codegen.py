"""Generated rule conditions, bindings and definitions (evaluate/codegen.py) must give
exactly what the closures give: the same findings, messages, fixes and rules not
evaluated (with the same JSON pointer), claim for claim."""

from __future__ import annotations

import copy
import random
import sys
import textwrap
import threading

import pytest

from conftest import ROOT, load
from payerlint.api import Checker
from payerlint.claims.model import Claim
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.pipeline import Loader
from payerlint.evaluate import codegen
from payerlint.evaluate.engine import evaluate
from payerlint.evaluate.prepare import prepare
from payerlint.evaluate.program import Program
from payerlint.home import Home

sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import generate  # noqa: E402

OPTIONAL = [("patient", "birth_date"), ("episode", "visit_number"), ("episode", "last_progress_report_visit"),
            ("episode", "therapy_amount_ytd"), ("episode", "plan_of_care"), ("episode", "prior_authorization"),
            ("documentation", "patient_response"), ("documentation", "total_timed_minutes"),
            ("documentation", "interventions"), ("documentation", "clinical_reasoning"), (None, "documentation"),
            (None, "episode"), ("lines", "minutes"), ("lines", "assistant_minutes"), ("lines", "body_region")]


def closures_only(compiled, monkeypatch):
    """The same rulebook with every condition, binding and definition as closures."""
    monkeypatch.setattr(codegen, "ENABLED", False)
    program = Program(compiled)  # definitions are built here, eagerly
    monkeypatch.setattr(codegen, "ENABLED", True)
    assert not any(hasattr(fn, "source") for fn, _, _ in program.fast.lets.values())
    return program


def mutated(data: dict, rng: random.Random) -> dict:
    """The claim with one to three optional values deleted or set to null."""
    data = copy.deepcopy(data)
    for parent, key in rng.sample(OPTIONAL, rng.randint(1, 3)):
        targets = data["lines"] if parent == "lines" else [data] if parent is None else [data.get(parent)]
        for target in targets:
            if isinstance(target, dict) and key in target:
                if rng.random() < 0.5:
                    del target[key]
                elif parent not in ("lines",) and key not in ("documentation", "episode", "interventions"):
                    target[key] = None
    return data


@pytest.mark.parametrize("ref", ["medicare@2026Q2", "anthem-commercial@2026Q2", "example-commercial@2026Q2",
                                 "uhc-medicare-advantage@2026Q2", "highmark-commercial@2026Q2", "medicaid-al@2026Q2"])
def test_generated_code_matches_the_closures_on_a_corpus_with_values_left_out(ref, monkeypatch):
    fast = prepare(load(ref))
    assert all(hasattr(code.condition, "source") for code in fast.rules)
    slow = closures_only(fast.compiled, monkeypatch)
    validator = ClaimValidator()
    rng = random.Random(7)
    checked = 0
    for data in generate(400, seed=99):
        for variant in (data, mutated(data, rng), mutated(data, rng)):
            if validator.validate(variant):
                continue
            a, b = evaluate(fast, Claim(variant)), evaluate(slow, Claim(variant))
            assert a == b, variant["claim_id"]
            checked += 1
    assert checked > 900


MIXED = textwrap.dedent('''\
    rulebook mixed "Table data beside optional claim data"
      quarter 2026Q2
    param open_end = 9999-12-31
    table t from "t.csv"
      key code: code
      columns flag: integer optional
    rule r.or_table_first "no cell, or a missing claim value"
      for each line
      category input  severity warn
      when t[code].flag = 1 or documentation.total_timed_minutes > 5
      say "x"  cite "t"
    rule r.or_claim_first "the same, the other way round"
      for each line
      category input  severity warn
      when documentation.total_timed_minutes > 5 or t[code].flag = 1
      say "x"  cite "t"
    rule r.unless_no_row "exempt only with a row"
      for each line
      category input  severity warn
      when units > 0
      unless t[code].flag = 1
      say "x"  cite "t"
    rule r.date_overflow "a date past the calendar"
      for each line
      category input  severity warn
      when 30 days + open_end > date or units > 0
      say "x"  cite "t"
    rule r.filter_overflow "the same inside a where"
      category input  severity warn
      when any(lines where 30 days + open_end > date or units > 0)
      say "x"  cite "t"
    rule r.two_missing "two missing values: the first one written is named"
      category input  severity warn
      when episode.plan_of_care.start > date_of_service or episode.plan_of_care.end < date_of_service
      say "x"  cite "t"
    ''')


def test_table_data_and_missing_claim_data_combine_the_same_way_in_both(tmp_path, monkeypatch, clean_claim):
    (tmp_path / "t.csv").write_text("code,flag\n97140,\n97110,1\n")
    (tmp_path / "mixed.rules").write_text(MIXED)
    compiled = Loader(Home(tmp_path, "t")).load(str(tmp_path / "mixed.rules"))
    fast, slow = prepare(compiled), closures_only(compiled, monkeypatch)
    claim = copy.deepcopy(clean_claim)
    del claim["documentation"]["total_timed_minutes"]
    del claim["episode"]["plan_of_care"]["start"], claim["episode"]["plan_of_care"]["end"]
    claim["lines"].append(dict(claim["lines"][0], code="97530"))
    a, b = evaluate(fast, Claim(claim)), evaluate(slow, Claim(claim))
    assert a == b
    fired = {(f.rule, f.line) for f in a.findings}
    skipped = {(n.rule, n.missing) for n in a.not_evaluated}
    # An empty cell is "no": the missing claim value decides whether the rule could fire,
    # whichever side it is written on.
    assert ("r.or_table_first", "/documentation/total_timed_minutes") in skipped
    assert ("r.or_claim_first", "/documentation/total_timed_minutes") in skipped
    # No exemption row (97530) or an empty cell (97140): not exempt, so the rule fires.
    assert {("r.unless_no_row", 0), ("r.unless_no_row", 1)} <= fired
    assert ("r.date_overflow", 0) in fired and ("r.filter_overflow", None) in fired
    assert ("r.two_missing", "/episode/plan_of_care/start") in skipped


def test_one_checker_shared_across_threads(clean_claim):
    errors = []
    for _ in range(5):
        compiled = Loader(Home(ROOT, "t")).load(str(ROOT / "rulebooks" / "medicare" / "2026Q2.rules"))
        checker = Checker(compiled)
        barrier = threading.Barrier(4)

        def work():
            barrier.wait()
            try:
                for _ in range(20):
                    assert checker.check(copy.deepcopy(clean_claim)).verdict == "clean"
            except Exception as exc:  # noqa: BLE001 - any failure in a thread is the finding
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
