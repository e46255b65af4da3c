"""The embedding API as a service uses it: `check_many` streams in order, a router does no
file-system work per claim once its rulebooks are loaded, and `reload()` picks up a
changed rule tree without a restart. Every claim here is synthetic."""

from __future__ import annotations

import builtins
import copy
import os
import pathlib
import shutil

import pytest

from conftest import ROOT
from payerlint.api import Checker, Registry, Router, load_rulebook


def _denied(claim: dict) -> dict:
    claim = copy.deepcopy(claim)
    claim["lines"][0]["units"] = 2
    return claim


def test_check_many_yields_one_result_per_claim_in_order_as_it_goes(clean_claim):
    pulled = []

    def claims():
        for index, units in enumerate((1, 2, "x", 1)):
            pulled.append(index)
            claim = copy.deepcopy(clean_claim)
            claim["claim_id"] = f"M-{index}"
            claim["lines"][0]["units"] = units
            yield claim
        yield ["not", "a", "claim"]

    results = Checker(load_rulebook("medicare@2026Q2")).check_many(claims())
    first = next(results)
    assert first.claim_id == "M-0" and first.verdict == "clean" and pulled == [0]  # nothing read ahead
    rest = list(results)
    assert [r.claim_id for r in rest] == ["M-1", "M-2", "M-3", None]
    assert [r.verdict for r in rest] == ["deny", "error", "clean", "error"]


def test_check_many_a_chunk_at_a_time_gives_the_same_results(clean_claim, monkeypatch):
    # A list that is all there, checked 16 at a time, stage by stage: the same results in
    # the same order, including claims that are not valid and values JSON cannot hold.
    import payerlint.check as check_module

    claims = []
    for index in range(40):
        claim = copy.deepcopy(clean_claim)
        claim["claim_id"] = f"K-{index}"
        claim["lines"][0]["units"] = (1, 2, "x", 3)[index % 4]
        claims.append(claim)
    claims[9] = ("not", "json")
    claims[21]["lines"][0]["x-nan"] = float("nan")
    router = Router()
    one = [r.dumps() for r in router.check_many(claims)]
    assert [r.dumps() for r in router.check_many(claims, chunk=16)] == one
    # One claim's evaluation raises in the middle of a chunk: it alone is an internal error.
    real = check_module.evaluate

    def failing(program, claim, **kwargs):
        if claim.root.get("claim_id") == "K-20":
            raise RuntimeError("boom")
        return real(program, claim, **kwargs)

    monkeypatch.setattr(check_module, "evaluate", failing)
    again = list(router.check_many(claims, chunk=16))
    assert again[20].verdict == "error" and again[20].findings[0].rule == "internal.error"
    assert [r.dumps() for i, r in enumerate(again) if i != 20] == [t for i, t in enumerate(one) if i != 20]


@pytest.mark.parametrize("chunk, error", [(None, TypeError), (2.5, TypeError), (True, TypeError), (0, ValueError),
                                          (-1, ValueError)])
def test_a_chunk_that_is_not_a_whole_number_of_one_or_more_is_refused_at_the_call(clean_claim, chunk, error):
    # The caller's mistake, said at once: not a TypeError from deep inside the first next().
    router = Router()
    with pytest.raises(error, match="chunk is a whole number of claims"):
        router.check_many([clean_claim], chunk=chunk)
    with pytest.raises(error, match="chunk is a whole number of claims"):
        router.check_records([], chunk=chunk)


def test_a_claim_that_contains_itself_is_an_error_result_and_shared_values_are_fine(clean_claim):
    # A cycle is no JSON value: it gets an error naming where, instead of a walk that
    # never ends. The same list object used by two lines is an ordinary claim.
    looped = copy.deepcopy(clean_claim)
    looped["lines"][0]["x-back"] = looped
    result = Router().check(looped)
    assert result.verdict == "error"
    assert [f.message for f in result.findings] == [
        "/lines/0/x-back: the claim contains itself here (a cycle): a JSON value cannot"]
    shared = copy.deepcopy(clean_claim)
    shared["lines"].append(dict(shared["lines"][0], code="97110"))
    modifiers = ["GP"]
    for line in shared["lines"]:
        line["modifiers"] = modifiers
    assert Router().check(shared).verdict != "error"


def test_a_router_does_no_file_system_work_per_claim(clean_claim, monkeypatch):
    router = Router(Registry.load(ROOT))
    later = copy.deepcopy(clean_claim)
    later["claim_id"], later["date_of_service"] = "Q3", "2026-08-04"
    later["lines"][0]["date"] = "2026-08-04"
    claims = (clean_claim, _denied(clean_claim), later, _denied(later))
    before = [router.check(c).dumps() for c in claims]  # first use compiles and prepares each quarter

    def no_file_system(*args, **kwargs):
        raise AssertionError("file-system work while checking a claim")

    for owner, name in ((os, "stat"), (os, "lstat"), (os, "scandir"), (os, "listdir"), (os.path, "realpath"),
                        (builtins, "open"), (pathlib.Path, "glob"), (pathlib.Path, "is_file"),
                        (pathlib.Path, "exists")):
        monkeypatch.setattr(owner, name, no_file_system)
    results = [router.check(c) for c in claims]
    assert [r.dumps() for r in results] == before
    assert [r.verdict for r in results][1::2] == ["deny", "deny"]
    assert results[3].rulebooks == ("medicare@2026Q3",)


def test_reload_reads_a_changed_rule_tree_without_a_restart(clean_claim, tmp_path):
    for folder in ("rulebooks", "payers"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    router = Router(Registry.load(tmp_path))
    explaining = router.with_options(explain=True)
    assert router.check(_denied(clean_claim)).findings[0].severity == "deny"

    rules = tmp_path / "rulebooks" / "medicare" / "2026Q2.rules"
    text = rules.read_text(encoding="utf-8")
    marker = 'rule units.total "Timed units exceed what the timed minutes support"\n  for each date\n  category units  severity deny'
    assert marker in text
    rules.write_text(text.replace(marker, marker.replace("severity deny", "severity warn")), encoding="utf-8")
    assert router.check(_denied(clean_claim)).findings[0].severity == "deny"  # still the prepared rulebook

    router.reload()
    result = router.check(_denied(clean_claim))
    assert result.verdict == "warn" and result.findings[0].severity == "warn"
    assert explaining.check(_denied(clean_claim)).verdict == "warn"  # options share the routing

    next_year = copy.deepcopy(clean_claim)
    next_year["date_of_service"] = next_year["lines"][0]["date"] = "2027-02-03"
    assert router.check(next_year).findings[0].rule == "routing.no_rulebook"
    shutil.copy(tmp_path / "rulebooks" / "medicare" / "2026Q4.rules", tmp_path / "rulebooks" / "medicare" / "2027Q1.rules")
    new = tmp_path / "rulebooks" / "medicare" / "2027Q1.rules"
    new.write_text(new.read_text(encoding="utf-8").replace("2026Q4", "2027Q1"), encoding="utf-8")
    router.reload()
    assert router.check(next_year).rulebooks == ("medicare@2027Q1",)


def test_a_reload_during_a_check_gives_that_claim_one_tree_and_keeps_nothing_of_the_old(clean_claim, tmp_path,
                                                                                       monkeypatch):
    """Another thread reloads while a claim is being routed (here: from inside the payer
    look-up). The claim is checked against the tree it began with; what it learned is not
    written into the new tree, so the next claim sees only the new rules."""
    for folder in ("rulebooks", "payers"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    router = Router(Registry.load(tmp_path))
    assert router.check(_denied(clean_claim)).verdict == "deny"  # the rulebook is prepared
    rules = tmp_path / "rulebooks" / "medicare" / "2026Q2.rules"
    marker = 'rule units.total "Timed units exceed what the timed minutes support"\n  for each date\n  category units  severity deny'
    rules.write_text(rules.read_text(encoding="utf-8").replace(marker, marker.replace("severity deny", "severity warn")),
                     encoding="utf-8")
    old_registry = router.registry
    resolve = type(old_registry).resolve
    reloads = []

    def resolve_then_reload(self, payer_id):
        payer = resolve(self, payer_id)
        if self is old_registry and not reloads:
            reloads.append(payer_id)
            router.reload()  # lands between the payer look-up and the rulebook's
        return payer

    monkeypatch.setattr(type(old_registry), "resolve", resolve_then_reload)
    other_spelling = dict(_denied(clean_claim), payer_id="MEDICARE")  # not looked up yet: resolved, then the reload
    during = router.check(other_spelling)
    assert reloads == ["MEDICARE"]
    assert during.rulebooks == ("medicare@2026Q2",) and during.findings[0].severity == "deny"  # the old tree, whole
    assert router.registry is not old_registry
    after = router.check(_denied(clean_claim))
    assert after.verdict == "warn" and after.findings[0].severity == "warn"  # nothing of the old tree was kept


@pytest.mark.parametrize("name", ["payerlint.api"])
def test_the_documented_surface_is_importable_and_listed(name):
    import importlib

    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(set(module.__all__))
    for exported in module.__all__:
        assert getattr(module, exported) is not None, exported


def test_dates_that_contradict_each_other_are_input_errors_naming_the_field(clean_claim):
    # A line that ends before it starts would be exported as DTP*472*RD8 backwards; a patient
    # born after the service is no claim a payer can pay. Both are errors at their pointer.
    router = Router()
    backwards = copy.deepcopy(clean_claim)
    backwards["lines"][0]["date_through"] = "2026-05-01"
    result = router.check(backwards)
    assert result.verdict == "error"
    [finding] = result.findings
    assert finding.pointer == "/lines/0/date_through"
    assert "the line ends before it starts: date_through 2026-05-01 is earlier than its date 2026-05-14" in finding.message
    unborn = copy.deepcopy(clean_claim)
    unborn.setdefault("patient", {})["birth_date"] = "2027-01-01"
    [finding] = router.check(unborn).findings
    assert finding.pointer == "/patient/birth_date" and "is after the date of service 2026-05-14" in finding.message
    through = copy.deepcopy(clean_claim)
    through["lines"][0]["date_through"] = "2026-05-14"
    assert router.check(through).verdict == "clean"
