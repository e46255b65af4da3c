"""Fixes: every JSON Patch a Medicare finding suggests applies to the claim (RFC 6902),
removes that finding, and brings no new one; and the rules without a fix are the ones
where the change is a clinical or billing choice payerlint cannot make."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from .claims import SYNTHETIC_TABLES, chiro, claim, delete, findings, fired, line, overlay

# ------------------------------------------------------------------ a small RFC 6902 applier
# Deliberately separate from evaluate/patch.py: the tests apply every proposed fix with an
# applier of their own, so a bug in the product's applier cannot hide a fix that is wrong.


class PatchError(Exception):
    pass


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"bad pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc, pointer: str):
    *parents, last = _tokens(pointer)
    node = doc
    for token in parents:
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"{pointer}: {token!r} does not exist") from None
    if not isinstance(node, (dict, list)):
        raise PatchError(f"{pointer}: parent is not a container")
    return node, last


def _index(node: list, token: str, pointer: str, adding: bool) -> int:
    if adding and token == "-":
        return len(node)
    if not token.isdigit() or int(token) > len(node) - (0 if adding else 1):
        raise PatchError(f"{pointer}: index {token!r} out of range")
    return int(token)


def apply_patch(doc, ops):
    """Apply JSON Patch add/remove/replace/test operations to a copy of `doc`."""
    doc = copy.deepcopy(doc)
    for op in ops:
        node, last = _parent(doc, op["path"])
        kind = op["op"]
        if kind == "add":
            if isinstance(node, list):
                node.insert(_index(node, last, op["path"], True), copy.deepcopy(op["value"]))
            else:
                node[last] = copy.deepcopy(op["value"])
        elif kind in ("remove", "replace", "test"):
            if isinstance(node, list):
                last = _index(node, last, op["path"], False)
            elif last not in node:
                raise PatchError(f"{op['path']}: nothing to {kind}")
            if kind == "remove":
                del node[last]
            elif kind == "replace":
                node[last] = copy.deepcopy(op["value"])
            elif node[last] != op["value"]:
                raise PatchError(f"{op['path']}: test failed")
        else:
            raise PatchError(f"unsupported op {kind}")
    return doc


def test_the_applier_follows_rfc_6902():
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert apply_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}])["a"] == [1, 2, 3]
    assert apply_patch(doc, [{"op": "add", "path": "/a/0", "value": 0}])["a"] == [0, 1, 2]
    assert apply_patch(doc, [{"op": "add", "path": "/b/d", "value": 2}])["b"] == {"c": 1, "d": 2}
    assert apply_patch(doc, [{"op": "add", "path": "/b/c", "value": 5}])["b"] == {"c": 5}
    assert apply_patch(doc, [{"op": "remove", "path": "/a/0"}])["a"] == [2]
    assert apply_patch(doc, [{"op": "test", "path": "/b/c", "value": 1}]) == doc
    for bad in ({"op": "replace", "path": "/b/x", "value": 1}, {"op": "remove", "path": "/a/2"},
                {"op": "add", "path": "/x/-", "value": 1}, {"op": "test", "path": "/b/c", "value": 2}):
        with pytest.raises(PatchError):
            apply_patch(doc, [bad])
    assert doc == {"a": [1, 2], "b": {"c": 1}}


# ------------------------------------------------------------------ fixture rulebooks

@pytest.fixture(scope="module")
def rulebooks(tmp_path_factory, medicare):
    folder = tmp_path_factory.mktemp("fix_fixture")
    fixture = overlay(folder, SYNTHETIC_TABLES, tables={"mue.csv": "code,mue,mai,mai_text\n97140,2,1,1 Line Edit\n",
             "ptp.csv": "column_1,column_2,effective,deleted,modifier_indicator,order_confirmed,source,grade\n"
                        "97530,97161,2020-01-01,,0,,synthetic fixture (CMS file),A\n"
                        "97161,97140,2020-01-01,,1,,synthetic fixture (CMS file),A\n"})
    ama = overlay(tmp_path_factory.mktemp("fix_ama"), 'override param unit_method = "ama_per_code"')
    return {None: medicare, "fixture": fixture, "ama": ama}


# ------------------------------------------------------------------ the corpus


def _set(data, **top):
    for key, value in top.items():
        section, _, name = key.partition("__")
        data[section][name] = value
    return data


def _technique(text, *more_lines):
    data = claim(line("97140", 1, 22), *more_lines)
    data["documentation"]["interventions"][0]["technique"] = text
    return data


CORPUS = {
    # name: (claim, rulebook)
    "22 minutes billed as 2 units": (lambda: claim(line("97140", 2, 22)), None),
    # Beside an evaluation: the 97140 line leaves the claim (alone, it has no fix: nothing is billable).
    "lone 7-minute 97140": (lambda: claim(line("97140", 1, 7), line("97161", 1, 40)), None),
    "CMS Example 3 all units to 97110": (lambda: claim(line("97110", 3, 33), line("97140", 0, 7)), None),
    "CMS example 2 all to one code": (lambda: claim(line("97112", 3, 20), line("97110", 0, 20)), None),
    "15 minutes at zero beside two billed codes": (
        lambda: claim(line("97110", 2, 20), line("97112", 1, 20), line("97116", 0, 15)), None),
    "more units to less time, three codes": (
        lambda: claim(line("97110", 1, 30), line("97112", 2, 25), line("97116", 1, 5)), None),
    "units on two dates": (lambda: claim(line("97140", 2, 22), line("97110", 3, 25, date="2026-05-15")), None),
    "untimed billed twice": (lambda: claim(line("97140", 1, 22), line("G0283", 2, 20), line("97161", 3, 45,
                                                                                            mods=("GP", "59"))), None),
    "AMA method: pooled units": (lambda: claim(line("97110", 2, 20), line("97140", 1, 18)), "ama"),
    "evaluation with 97140, no modifier": (lambda: claim(line("97161", 1, 45), line("97140", 1, 22)), None),
    "re-evaluation with therapeutic activities, no modifier": (
        lambda: claim(line("97530", 1, 22), line("97164", 1, 30)), None),
    "hard NCCI edit": (lambda: claim(line("97530", 1, 22), line("97161", 1, 45)), "fixture"),
    "pair from the CMS file without a modifier": (lambda: claim(line("97161", 1, 45), line("97140", 1, 22)), "fixture"),
    "59 beside XS": (lambda: claim(line("97140", 1, 22, mods=("GP", "59", "XS"))), None),
    "MUE line edit": (lambda: claim(line("97140", 3, 45)), "fixture"),
    "therapy modifiers missing, multiple, mismatched": (
        lambda: claim(line("97140", 1, 22, mods=()), line("97110", 1, 15, mods=("GP", "GN")),
                      line("97112", 1, 10, mods=("GO",))), None),
    "OT billed under GP": (lambda: claim(line("97530", 1, 22, mods=("GP",)), discipline="OT"), None),
    "SLP line without GN": (lambda: claim(line("97530", 1, 22, mods=()), discipline="SLP"), None),
    "assistant minutes without CQ": (lambda: claim(line("97140", 2, 30, assistant_minutes=30)), None),
    "a line therapist and assistant shared": (lambda: claim(line("97110", 2, 36, assistant_minutes=23)), None),
    "modality by an OTA without CO": (
        lambda: claim(line("97530", 1, 22, mods=("GO",)), line("G0283", 1, 15, mods=("GO",), performed_by="OTA"),
                      discipline="OT"), None),
    "above the KX threshold": (
        lambda: _set(claim(line("97140", 1, 22), line("97110", 1, 15, mods=("GP", "KX")), line("G0283", 1, 10)),
                     episode__therapy_amount_ytd="3100.00"), None),
    "this claim carries the year past the KX threshold": (
        lambda: _set(claim(line("97140", 1, 22), line("97110", 1, 15), line("G0283", 1, 10)),
                     episode__therapy_amount_ytd="2450.00"), None),
    "hot or cold packs to Medicare": (lambda: claim(line("97140", 1, 22), line("97010", 1, 10)), None),
    "no body region": (lambda: delete(claim(), "/lines/0/body_region"), None),
    "massage documented under 97140": (lambda: _technique("Swedish massage to the calf"), None),
    "hot pack documented under 97140": (lambda: _technique("Moist heat to the ankle"), None),
    "97014 on a Medicare claim": (lambda: claim(line("97140", 1, 22), line("97014", 1, 15)), None),
    "diagnosis pointers": (lambda: claim(line("97140", 1, 22, diagnosis_pointers=[2, 1]),
                                         line("97110", 1, 15, diagnosis_pointers=[]),
                                         line("97112", 1, 10, diagnosis_pointers=[3])), None),
    "chiropractor billing manual therapy": (
        lambda: chiro(line("98941", mods=("AT",)), line("97140", 1, 22, mods=("59",)), line("98943", mods=("AT",))),
        None),
    "chiropractic manipulation without AT": (lambda: chiro(line("98940", mods=())), None),
    "many problems on one claim": (
        lambda: _set(claim(line("97140", 2, 22, mods=(), diagnosis_pointers=[4]), line("97014", 2, 15)),
                     episode__therapy_amount_ytd="2500.00"), None),
}

# A fix may bring a finding that only a person can resolve: these pairs are expected, with why.
KNOCK_ON = {
    ("coding.technique_fits_other_code", "documentation.minutes_disagree"):
        "recoding a timed 97140 as an untimed code (hot pack 97010) takes its minutes out of the timed total, so the "
        "note's total timed minutes must be restated by the therapist",
    ("coding.technique_fits_other_code", "coding.97010_bundled"):
        "recoding as 97010, which is what the note describes, leaves a line Medicare never pays: its own fix "
        "removes it",
    ("coverage.chiropractor_therapy", "coverage.chiropractor_excluded"):
        "with GY the line is still statutorily excluded: the information says Medicare will deny it and the "
        "patient is liable",
}


def _shift(key, removed: int | None):
    rule, where = key
    if removed is None or where is None or where < removed:
        return key
    return None if where == removed else (rule, where - 1)


def _removed_line(ops) -> int | None:
    for op in ops:
        parts = op["path"].split("/")
        if op["op"] == "remove" and len(parts) == 3 and parts[1] == "lines":
            return int(parts[2])
    return None


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_fix_applies_removes_its_finding_and_adds_none(check, rulebooks, name):
    build, book = CORPUS[name]
    rulebook = rulebooks[book]
    original = build()
    before = check(original, rulebook=rulebook)
    assert before.verdict in ("deny", "warn") and before.not_evaluated == ()
    with_fix = [f for f in before.findings if f.fix]
    assert with_fix, f"{name}: no finding has a fix"
    for finding in with_fix:
        patched = apply_patch(original, finding.fix)
        after = check(patched, rulebook=rulebook)
        assert after.verdict != "error", (finding.rule, after.findings)
        removed = _removed_line(finding.fix)
        expected = Counter(k for k in (_shift((f.rule, f.line), removed) for f in before.findings) if k)
        got = Counter((f.rule, f.line) for f in after.findings)
        target = _shift((finding.rule, finding.line), removed)
        assert target is None or got[target] < expected[target], f"{finding.rule} survived its own fix"
        new = {rule for (rule, _line) in (got - expected)}
        unexpected = {rule for rule in new if (finding.rule, rule) not in KNOCK_ON}
        assert not unexpected, f"fix of {finding.rule} brought {unexpected}"
        assert after.not_evaluated == ()


def test_the_corpus_exercises_every_fix(check, rulebooks):
    exercised = set()
    for build, book in CORPUS.values():
        exercised |= {f.rule for f in check(build(), rulebook=rulebooks[book]).findings if f.fix}
    with_fixes = {r.id for r in rulebooks[None].rules if r.fixes}
    assert exercised == with_fixes


@pytest.mark.parametrize("name", list(CORPUS))
def test_explain_does_not_change_the_findings(check, rulebooks, name):
    build, book = CORPUS[name]
    plain = check(build(), rulebook=rulebooks[book])
    explained = check(build(), rulebook=rulebooks[book], explain=True)
    assert [(f.rule, f.line, f.message, f.fix) for f in explained.findings] == \
        [(f.rule, f.line, f.message, f.fix) for f in plain.findings]
    assert all(f.explanation is not None for f in explained.findings)


def test_the_knock_on_findings_are_real(check, rulebooks):
    # The allowances above are used: each happens on the corpus.
    hot = CORPUS["hot pack documented under 97140"][0]()
    [recode] = findings(check(hot), "coding.technique_fits_other_code")
    assert fired(check(apply_patch(hot, recode.fix))) == {"documentation.minutes_disagree", "coding.97010_bundled"}
    chiropractic = CORPUS["chiropractor billing manual therapy"][0]()
    fix = next(f for f in check(chiropractic).findings if f.rule == "coverage.chiropractor_therapy" and f.line == 1)
    assert "coverage.chiropractor_excluded" in fired(check(apply_patch(chiropractic, fix.fix)))


def test_applying_every_units_fix_of_a_day_gives_the_cms_allocation(check):
    data = claim(line("97110", 3, 20), line("97112", 0, 20), line("97116", 2, 10))
    units = [f for f in check(data).findings if f.rule.startswith("units.")]
    assert {f.rule for f in units} == {"units.total", "units.zero_with_15_minutes", "units.more_to_less_time"}
    for finding in units:
        patched = apply_patch(data, finding.fix)
        assert [l["units"] for l in patched["lines"]] == [1, 1, 1]   # 50 minutes: 3 units, remainders 5, 5, 10
        assert check(patched).verdict == "clean"


# ------------------------------------------------------------------ rules without a fix

NO_FIX = {
    "mue.date": "a date-of-service edit: which line gives up units is a billing choice (MAI 3 may be appealed)",
    "ptp.reported_not_allowed": "a reported edit nobody has checked against the CMS file: dropping a line is a billing "
                                "choice",
    "coding.evaluation_by_pta": "who furnished the evaluation is a fact: only the therapist's evaluation can be billed",
    "coding.evaluation_by_ota": "who furnished the evaluation is a fact: only the therapist's evaluation can be billed",
    "coding.manual_therapy_and_massage_same_region": "which service was furnished is a clinical fact",
    "coding.manual_therapy_with_omt": "whether the regions differ is a clinical fact",
    "coding.performance_test_with_evaluation": "whether the test was separate from the evaluation is a clinical fact",
    "diagnosis.newer_than_release": "information: the code set is older than the date of service",
    "coverage.chiropractor_excluded": "information: Medicare will deny the line and the patient is liable",
    "threshold.medical_review": "information: nothing on the claim is wrong",
    "coding.duplicate_line": "merging the lines or adding the modifier that makes them distinct is a billing choice",
    "diagnosis.not_billable": "the specific code (7th character, laterality) is a clinical choice",
    "diagnosis.release_outdated": "information: the code set, not the claim, is out of date",
    "diagnosis.not_supporting_manual_therapy": "the diagnosis is a clinical choice",
    "coverage.chiropractor_subluxation": "the diagnosis is a clinical choice",
    "documentation.indication": "only the clinician can write the note",
    "documentation.intervention_missing": "only the clinician can write the note",
    "documentation.technique_not_specific": "only the clinician can write the note",
    "documentation.response_not_measurable": "only the clinician can write the note",
    "documentation.goals_not_functional": "only the clinician can write the note",
    "documentation.reasoning_missing": "only the clinician can write the note",
    "documentation.time_not_exact": "only the clinician can write the note",
    "documentation.total_minutes_missing": "only the clinician can write the note",
    "documentation.minutes_disagree": "either the note or the lines are wrong; a person must say which",
    "documentation.treatment_minutes_below_timed": "only the clinician knows the total treatment time",
    "documentation.skilled_care_missing": "only the clinician can write the note",
    "documentation.progress_report_overdue": "a progress report has to be written",
    "documentation.certification_late": "a physician or NPP has to sign the plan of care",
    "documentation.recertification_due": "a physician or NPP has to recertify the plan of care",
}


def test_the_rules_without_a_fix_are_exactly_the_expected_ones(medicare):
    assert {r.id for r in medicare.rules if not r.fixes} == set(NO_FIX)


# ------------------------------------------------------------------ defaulted arrays

def test_pointer_fix_applies_when_the_claim_leaves_pointers_out(check):
    data = delete(claim(), "/lines/0/diagnosis_pointers")
    [bad] = findings(check(data), "diagnosis.pointer_invalid")
    assert check(apply_patch(data, bad.fix)).verdict == "clean"


def test_modifier_fix_applies_when_the_claim_leaves_modifiers_out(check):
    # Absent modifiers read as none; the fix then adds the whole array instead of appending.
    data = delete(claim(), "/lines/0/modifiers")
    [missing] = findings(check(data), "modifier.therapy_missing")
    assert missing.fix == ({"op": "add", "path": "/lines/0/modifiers", "value": ["GP"]},)
    assert check(apply_patch(data, missing.fix)).verdict == "clean"


def _apply_all(check, data):
    for finding in check(data).findings:
        data = apply_patch(data, finding.fix)
    return data


def test_fixes_of_several_findings_compose_on_an_empty_modifier_list(check):
    data = claim(line("97140", 1, 22, mods=()))
    data["episode"]["therapy_amount_ytd"] = "2600.00"
    assert fired(check(data)) == {"modifier.therapy_missing", "threshold.kx_missing"}
    fixed = _apply_all(check, data)
    assert sorted(fixed["lines"][0]["modifiers"]) == ["GP", "KX"] and check(fixed).verdict == "clean"


def test_the_results_combined_fix_composes_when_modifiers_are_left_out(check):
    # Each finding's own fix must add the whole array the claim left out; applied one
    # after the other they would overwrite each other. The result's combined fix turns
    # the later ones into appends, so it applies in one go.
    data = delete(claim(), "/lines/0/modifiers")
    data["episode"]["therapy_amount_ytd"] = "2600.00"
    result = check(data)
    assert fired(result) == {"modifier.therapy_missing", "threshold.kx_missing"}
    assert all(f.fix[0]["path"] == "/lines/0/modifiers" for f in result.findings)
    fixed = apply_patch(data, result.fix)
    assert sorted(fixed["lines"][0]["modifiers"]) == ["GP", "KX"] and check(fixed).verdict == "clean"


def test_the_combined_fix_removes_lines_last_and_from_the_end(check):
    # Two hot-pack lines (never paid by Medicare: their fix removes them) around a line
    # without a discipline modifier (its fix adds one).
    data = claim(line("97010", 1, 10), line("97140", 1, 22, mods=()), line("97010", 1, 10))
    result = check(data)
    removals = [op for op in result.fix if op["op"] == "remove"]
    assert [op["path"] for op in removals] == ["/lines/2", "/lines/0"]
    assert list(result.fix[-len(removals):]) == removals
    fixed = apply_patch(data, result.fix)
    assert [l["code"] for l in fixed["lines"]] == ["97140"] and fixed["lines"][0]["modifiers"] == ["GP"]


def test_the_combined_fix_rebases_fixes_that_touch_the_same_array(check):
    # Two discipline modifiers (therapy_multiple rewrites the list) and 59 with XS
    # (59_with_x removes 59 by its position in the list as submitted): applied in one go,
    # both must hold against the list as it is by then.
    data = claim()
    data["lines"][0]["modifiers"] = ["GP", "GO", "59", "XS"]
    result = check(data)
    assert fired(result) == {"modifier.59_with_x", "modifier.therapy_multiple"}
    fixed = apply_patch(data, result.fix)
    assert sorted(fixed["lines"][0]["modifiers"]) == ["GP", "XS"] and check(fixed).verdict == "clean"


def test_the_combined_fix_replaces_an_invalid_pointer_list_the_claim_has(check):
    # The finding's own fix adds the whole list, which replaces the one the claim has
    # (RFC 6902 add on an existing member): the combined fix must do the same, not keep
    # the pointer to a diagnosis that is not there.
    data = claim()
    data["lines"][0]["diagnosis_pointers"] = [2]
    result = check(data)
    assert "diagnosis.pointer_invalid" in fired(result)
    fixed = apply_patch(data, result.fix)
    assert fixed["lines"][0]["diagnosis_pointers"] == [1] and check(fixed).verdict == "clean"


def test_two_fixes_that_set_one_count_differently_keep_the_smaller():
    # A cap and a count that disagree (a daily limit's keep 4, the 8-minute rule's 0): the
    # claim bills no more than every rule allows. Applied in turn both would go in and the
    # last would win, whichever it was.
    from payerlint.check import combined_fix
    from payerlint.evaluate.result import Finding

    def finding(rule, *ops):
        return Finding(rule, "", "units", "deny", 0, "m", "c", ops)

    claim_data = {"lines": [{"code": "97110", "units": 5, "modifiers": ["GP"]}]}
    limit = finding("limit.units_per_date", {"op": "replace", "path": "/lines/0/units", "value": 4})
    lone = finding("units.lone_under_8", {"op": "replace", "path": "/lines/0/units", "value": 0})
    for order in ((limit, lone), (lone, limit)):
        assert combined_fix(claim_data, order) == ({"op": "replace", "path": "/lines/0/units", "value": 0},)
    # Any other value: the first finding's (the result's order: denials first).
    recode = finding("coding.a", {"op": "replace", "path": "/lines/0/code", "value": "97112"})
    other = finding("coding.b", {"op": "replace", "path": "/lines/0/code", "value": "97116"})
    assert combined_fix(claim_data, (recode, other)) == ({"op": "replace", "path": "/lines/0/code", "value": "97112"},)


# ------------------------------------------------------------------ fixes that would make the claim invalid


def test_a_fix_that_would_leave_the_claim_invalid_is_not_offered_and_its_finding_says_why(check):
    # A line with four modifiers already: adding GP makes a fifth, which no claim form holds.
    # The other fixes still come, alone and combined, and their claim is valid.
    data = claim(line("97140", 3, 22, mods=("KX", "GA", "76", "77")))
    result = check(data)
    [missing] = findings(result, "modifier.therapy_missing")
    assert missing.fix == ()
    assert "payerlint offers no fix: its fix would leave the claim invalid, /lines/0/modifiers: " in missing.message
    [total] = findings(result, "units.total")
    assert total.fix and all(op in result.fix for op in total.fix)
    assert not any(op["path"].startswith("/lines/0/modifiers") for op in result.fix)
    fixed = apply_patch(data, result.fix)
    assert check(fixed).verdict != "error"
    # A claim whose fixes all fit is untouched by this: the same findings, the same patch.
    fits = claim(line("97140", 3, 22, mods=("KX",)))
    assert all("offers no fix" not in f.message for f in check(fits).findings)
