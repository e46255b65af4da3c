"""The two evaluators a prepared rulebook has, generated from the same IR (codegen.py),
must agree: the fast form (scope loops with guards, cheap exact parts tested first,
definitions memoised per claim) and the traced form (every instance of every scope, no
guard, no memo, every read recorded). For every claim of a corpus, with values left out
at random, both must fire the same rules on the same lines and leave the same rules
'not evaluated' for the same missing value."""

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
from payerlint.compile.loader import Loader
from payerlint.evaluate.engine import _instances, evaluate
from payerlint.evaluate.prepare import prepare
from payerlint.evaluate.program import Ctx
from payerlint.evaluate.values import UNSET, Missing, NoData
from payerlint.home import Home

sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import generate  # noqa: E402

OPTIONAL = [("patient", "birth_date"), ("episode", "visit_number"), ("episode", "last_progress_report_visit"),
            ("episode", "therapy_amount_ytd"), ("episode", "plan_of_care"), ("episode", "prior_authorization"),
            ("documentation", "patient_response"), ("documentation", "total_timed_minutes"),
            ("documentation", "interventions"), ("documentation", "clinical_reasoning"), (None, "documentation"),
            (None, "episode"), ("lines", "minutes"), ("lines", "assistant_minutes"), ("lines", "body_region")]
REFS = sorted({f"{p.parent.name}@{p.stem}" for p in (ROOT / "rulebooks").glob("*/*.rules")})


def traced_outcome(program, claim) -> tuple[set, dict]:
    """Every rule on every instance of its scope, in the traced form: (fired (rule,
    line) pairs, first line of each (rule, missing pointer))."""
    fired, skipped = set(), {}
    ctx = Ctx(claim)
    for rule in program.compiled.rules:
        traced = program.traced(rule.id)
        for initial, line in _instances(rule.scope, claim):
            frame = [UNSET] * rule.frame_size
            frame[:len(initial)] = initial
            ctx.trace = []
            try:
                if traced.condition(ctx, frame):
                    fired.add((rule.id, line))
            except Missing as missing:
                key = (rule.id, missing.pointer)
                if key not in skipped or (line is not None and line < skipped[key]):
                    skipped[key] = line  # the lowest line, as the fast form reports it
            except NoData:
                pass
    return fired, skipped


def fast_outcome(program, claim) -> tuple[set, dict]:
    evaluation = evaluate(program, claim)
    return ({(f.rule, f.line) for f in evaluation.findings},
            {(n.rule, n.missing): n.line for n in evaluation.not_evaluated})


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


@pytest.mark.parametrize("ref", REFS)
def test_fast_and_traced_forms_agree_on_a_corpus_with_values_left_out(ref):
    program = prepare(load(ref))
    validator = ClaimValidator()
    rng = random.Random(7)
    checked = 0
    for data in generate(120, seed=99):
        for variant in (data, mutated(data, rng), mutated(data, rng)):
            if validator.validate(variant):
                continue
            claim = Claim(variant)
            assert fast_outcome(program, claim) == traced_outcome(program, Claim(variant)), variant["claim_id"]
            checked += 1
    assert checked > 250


def test_a_fifty_line_claim_agrees_too(clean_claim):
    program = prepare(load("medicare@2026Q2"))
    data = copy.deepcopy(clean_claim)
    codes = ["97140", "97110", "97112", "97530", "97116", "97012", "97035"]
    data["lines"] = [dict(data["lines"][0], code=codes[i % len(codes)], minutes=8 + (i * 7) % 30,
                          units=1 + i % 3) for i in range(50)]
    assert fast_outcome(program, Claim(data)) == traced_outcome(program, Claim(data))



@pytest.mark.parametrize("seed", range(4))
def test_many_lines_over_a_few_dates_with_minutes_left_out_agree(clean_claim, seed):
    """Days of nine lines or more, where pair rules pick partners by value from an index
    (`first.units < second.units`): with ties, zero units and lines without minutes, the
    partners picked must be exactly those the traced form finds by trying every pair."""
    program = prepare(load("medicare@2026Q2"))
    rng = random.Random(seed)
    data = copy.deepcopy(clean_claim)
    codes = ["97140", "97110", "97112", "97530", "97116", "97012", "97035", "G0283"]
    days = ["2026-05-12", "2026-05-13", "2026-05-14"][:rng.randint(1, 3)]
    data["lines"] = []
    for _ in range(rng.randint(12, 30)):
        line = dict(clean_claim["lines"][0], code=rng.choice(codes), date=rng.choice(days),
                    minutes=rng.choice([5, 8, 15, 22, 23, 30, 38]), units=rng.randint(0, 3))
        if rng.random() < 0.15:
            del line["minutes"]
        if rng.random() < 0.3:
            line["date"] = rng.choice([data["date_of_service"], "2026-05-13"])
        data["lines"].append(line)
    assert ClaimValidator().validate(data) == []
    assert fast_outcome(program, Claim(data)) == traced_outcome(program, Claim(data))



def test_partners_picked_by_value_are_those_the_comparison_could_keep():
    """The index a pair rule picks partners from keeps, in their order, every partner for
    which `first's value op partner's value` is true or unknown (either value missing)."""
    import operator

    from payerlint.evaluate.runtime import _range_index, _range_pick

    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    rng = random.Random(3)
    for _ in range(400):
        pairs = [({"units": rng.choice([None, 0, 1, 1, 2, 3, 5])}, None) for _ in range(rng.randint(0, 14))]
        index = _range_index(pairs, "units")
        for op, test in compare.items():
            for value in (None, -1, 0, 1, 2, 4, 5, 9):
                expected = [p for p in pairs if value is None or p[0]["units"] is None or test(value, p[0]["units"])]
                picked = _range_pick(index, pairs, op, value)
                assert [id(p) for p in picked] == [id(p) for p in expected], (op, value, pairs)


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


def test_table_data_and_missing_claim_data_combine_the_same_way_in_both(tmp_path, clean_claim):
    (tmp_path / "t.csv").write_text("code,flag\n97140,\n97110,1\n")
    (tmp_path / "mixed.rules").write_text(MIXED)
    program = prepare(Loader(Home(tmp_path, "t")).load(str(tmp_path / "mixed.rules")))
    claim = copy.deepcopy(clean_claim)
    del claim["documentation"]["total_timed_minutes"]
    del claim["episode"]["plan_of_care"]["start"], claim["episode"]["plan_of_care"]["end"]
    claim["lines"].append(dict(claim["lines"][0], code="97530"))
    fired, skipped = fast_outcome(program, Claim(claim))
    assert (fired, skipped) == traced_outcome(program, Claim(claim))
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


KEYED = textwrap.dedent('''\
    rulebook keyed "Filters read through an index, and pair rows tested once per pair of codes"
      quarter 2026Q2
    table pairs "pairs"
      from "pairs.csv"
      key column_1: code, column_2: code
      columns grade: text optional, indicator: integer optional
      cite "t"
    rule r.region_in_note "a line whose region no intervention names"
      for each line
      category input  severity warn
      when not any(documentation.interventions where body_region = line.body_region)
      say "x"  cite "t"
    rule r.same_code_noted "a line whose code two interventions name"
      for each line
      category input  severity warn
      when count(documentation.interventions where line.code = code and minutes > 5) > 1
      say "x"  cite "t"
    rule r.code_binding "bindings read only through the line's code, kept per code"
      for each line
      category input  severity warn
      with notes = documentation.interventions where code = line.code
      with named = technique of notes
      when any(notes) and count(named) < 2 and units > 0
      say "x"  cite "t"
    rule r.code_and_date "bindings read only through the line's code and date, or not at all"
      for each line
      category input  severity warn
      with same_day = lines where date = line.date and code = line.code
      with noted = (documentation.interventions where code = line.code) where minutes > 5
      with n = count(same_day)
      with claim_wide = count(lines where units > 1)
      when n > 1 and claim_wide >= 0 and any(noted) and units > 0
      say "{n} lines of {code} on {date}, {claim_wide}"  cite "t"
    let units_of_code per code = sum(units of lines)
    rule r.per_code_definition "a per-code definition read through a with binding: keyed by code and date"
      for each line
      category input  severity warn
      with total = units_of_code
      when total > units
      say "{total} units of {code} on {date}"  cite "t"
    rule r.same_modifiers "another line with the same modifiers"
      for each line
      category input  severity warn
      when count(lines where modifiers = line.modifiers) > 1
      say "x"  cite "t"
    rule r.pair_a0 "a pair whose row is grade A, indicator 0"
      for each pair
      category input  severity warn
      with edit = pairs[first.code, second.code]
      when first.date = second.date and edit is present and edit.grade = "A" and 0 = edit.indicator
      say "x"  cite "t"
    rule r.pair_not_b "a pair whose row is not grade B, indicator at most 1, and a missing value"
      for each pair
      category input  severity warn
      with edit = pairs[first.code, second.code]
      when edit is present and edit.grade != "B" and 1 >= edit.indicator and second.minutes > 0
      say "x"  cite "t"
    ''')


@pytest.mark.parametrize("seed", range(9))
def test_indexed_filters_and_pair_row_tests_agree_with_the_traced_form(tmp_path, clean_claim, seed):
    """`where field = value from outside` reads an index of the list (built on its second
    read in a claim), and a pair rule's tests of its row's columns run once per pair of
    codes. Elements without the field (the index is then not used), list-valued fields
    (no key), empty cells and lines without minutes must all come out as the traced form,
    which tries every element and every pair, finds them."""
    (tmp_path / "pairs.csv").write_text("column_1,column_2,grade,indicator\n97140,97530,A,0\n97530,97140,A,1\n"
                                        "97110,97140,B,0\n97140,97110,,0\n97112,97140,A,\n97110,97112,C,1\n")
    (tmp_path / "keyed.rules").write_text(KEYED)
    program = prepare(Loader(Home(tmp_path, "t")).load(str(tmp_path / "keyed.rules")))
    rng = random.Random(seed)
    data = copy.deepcopy(clean_claim)
    codes = ["97140", "97110", "97112", "97530"]
    regions = ["lumbar spine", "cervical spine", "right knee"]
    data["lines"] = []
    for _ in range(rng.randint(2, 24)):
        line = dict(clean_claim["lines"][0], code=rng.choice(codes), body_region=rng.choice(regions),
                    minutes=rng.choice([8, 15, 23]), modifiers=rng.choice([["GP"], ["GP", "59"], ["GP"]]))
        if rng.random() < 0.15:
            del line["minutes"]
        if rng.random() < 0.3:
            line["date"] = rng.choice([data["date_of_service"], "2026-05-13"])
        data["lines"].append(line)
    interventions = []
    for _ in range(rng.randint(0, 8)):
        item = dict(clean_claim["documentation"]["interventions"][0], code=rng.choice(codes),
                    body_region=rng.choice(regions), minutes=rng.choice([3, 10]))
        if seed % 2 and rng.random() < 0.2:
            del item["body_region"]  # the index is not used: the missing region is still reported
        if seed % 3 == 0 and rng.random() < 0.2:
            del item["technique"]  # unknown for every line of the code, named the same way
        interventions.append(item)
    data["documentation"]["interventions"] = interventions
    assert ClaimValidator().validate(data) == []
    fired, skipped = fast_outcome(program, Claim(data))
    assert (fired, skipped) == traced_outcome(program, Claim(data))
    lines = data["lines"]
    day = data["date_of_service"]
    expected_a0 = {("r.pair_a0", j) for i, a in enumerate(lines) for j, b in enumerate(lines)
                   if i != j and (a["code"], b["code"]) == ("97140", "97530") and a.get("date", day) == b.get("date", day)}
    assert {f for f in fired if f[0] == "r.pair_a0"} == expected_a0
    # Not grade B, indicator at most 1, both cells filled: two rows of six.
    kept = {("97140", "97530"), ("97530", "97140"), ("97110", "97112")}
    expected_not_b = {("r.pair_not_b", j) for i, a in enumerate(lines) for j, b in enumerate(lines)
                      if i != j and (a["code"], b["code"]) in kept and b.get("minutes")}
    assert {f for f in fired if f[0] == "r.pair_not_b"} == expected_not_b
    # Both shortcuts are in the generated code, so the agreement above is theirs.
    assert "_indexed(ctx" in program.source and "(_r := " in program.source
    assert "f[1]['code'],)\n    hit = ctx.cache.get(key)" in program.source  # the per-code bindings
    assert "f[1]['code'], f[1]['date'],)\n    hit" in program.source  # per code and date
    # Messages too: a value kept under too coarse a key shows in them (the traced form has none).
    shown = {(f.rule, f.line, f.message) for f in evaluate(program, Claim(data)).findings}
    for line in lines:
        same = [other for other in lines if other["code"] == line["code"]
                and other.get("date", day) == line.get("date", day)]
        total = sum(other["units"] for other in same)
        if total > line["units"]:
            assert ("r.per_code_definition", lines.index(line),
                    f"{total} units of {line['code']} on {line.get('date', day)}") in shown
