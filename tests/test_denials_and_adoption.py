"""The rulebook language's two additions for rule content: the `denial` clause (the claim
adjustment a payer's remittance returns on a rule's ground) and `adopt rule` (an inherited
rule a payer is known to apply, with the payer's own source). The denial code travels to
the finding, its JSON, the text output and the quarter diff."""

from __future__ import annotations

import io
import json
import re
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, load
from payerlint.api import Checker
from payerlint.output import render_text
from payerlint.compile.pipeline import compile_path
from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home
from payerlint.syntax.format import format_source
from payerlint.syntax.parser import parse
from payerlint.versions.diff import diff
from payerlint.versions.report import diff_json, write_markdown, write_text

BASE = textwrap.dedent('''\
    rulebook demo "Demo"
      quarter 2026Q2
      source "test"

    codeset timed "Timed" = 97110 97140

    rule units.cap "Too many timed units"
      for each line
      category units  severity deny  {denial}
      when code in timed and units > 1
      say "{{code}}: {{units}} units"
      cite "policy"

    rule notes.none "No denial named"
      category documentation  severity info
      when 1 = 2
      say "never"
      cite "policy"
''')


def write(folder: Path, text: str, name: str = "2026Q2.rules") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def compiled(tmp_path: Path, denial: str = "denial CO-151", name: str = "2026Q2.rules"):
    return compile_path(str(write(tmp_path, BASE.format(denial=denial), name)), Loader(Home(ROOT, "tests")))


def claim(units: int = 2) -> dict:
    data = json.loads((ROOT / "tests" / "data" / "clean_claim.json").read_text(encoding="utf-8"))
    data["lines"][0]["units"] = units
    return data


# ------------------------------------------------------------------ the clause


def test_the_denial_clause_is_a_plain_clause_of_the_syntax_tree():
    tree = parse(BASE.format(denial="denial CO-16 remark N29 M127"), "demo.rules")
    rule = tree.items[1]
    assert (rule.denial.group, rule.denial.reason, rule.denial.remarks) == ("CO", "16", ("N29", "M127"))
    assert tree.items[2].denial is None


def test_a_rules_denial_reaches_the_finding_its_json_and_the_text(tmp_path):
    result = Checker(compiled(tmp_path, "denial CO-16 remark N29")).check(claim())
    [finding] = result.findings
    assert str(finding.denial) == "CO-16 (remark N29)"
    out = finding.to_json()
    assert out["denial"] == {"group": "CO", "reason": "16", "remarks": ["N29"]}
    assert list(out)[:9] == ["rule", "rulebook", "category", "severity", "line", "message", "citation", "fix",
                             "denial"]
    assert "          denial code: CO-16 (remark N29)\n" in render_text(result)


def test_a_rule_without_a_denial_gives_null(tmp_path):
    book = compile_path(str(write(tmp_path, BASE.format(denial=""))), Loader(Home(ROOT, "tests")))
    [finding] = Checker(book).check(claim()).findings
    assert finding.denial is None and finding.to_json()["denial"] is None
    assert "denial code" not in render_text(Checker(book).check(claim()))


@pytest.mark.parametrize("denial, says", [
    ("denial XX-97", "'XX' is not a claim adjustment group code"),
    ("denial CO-9999", "'9999' is not a claim adjustment reason code"),
    ("denial CO-16 remark Q12", "'Q12' is not a remittance advice remark code"),
])
def test_a_denial_code_outside_the_x12_forms_does_not_compile(tmp_path, denial, says):
    with pytest.raises(DiagnosticError) as caught:
        compiled(tmp_path, denial)
    assert says in caught.value.render() and "bad_denial" in caught.value.render()


def test_two_denial_clauses_are_an_error(tmp_path):
    with pytest.raises(DiagnosticError) as caught:
        compiled(tmp_path, "denial CO-151  denial CO-50")
    assert "more than one 'denial' clause" in caught.value.render()


# ------------------------------------------------------------------ the diff


def test_a_changed_denial_code_is_a_change_in_the_diff(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = compiled(tmp_path / "a", "denial CO-151")
    new = compiled(tmp_path / "b", "denial CO-50")
    changes = diff(old, new)
    [change] = changes.changes
    assert change.name == "units.cap" and change.details["parts"] == ["denial code"]
    assert change.details["denial"] == {"old": "CO-151", "new": "CO-50"}
    text = io.StringIO()
    write_text(changes, text)
    assert "rule units.cap: denial code changed" in text.getvalue()
    assert "denial code: CO-151 -> CO-50" in text.getvalue()
    markdown = io.StringIO()
    write_markdown(changes, markdown)
    assert "denial code: CO-151 -> CO-50" in markdown.getvalue()
    assert diff_json(changes)["changes"][0]["details"]["denial"] == {"old": "CO-151", "new": "CO-50"}


def test_adding_a_denial_code_is_a_change_and_an_equal_one_is_none(tmp_path):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    none = compile_path(str(write(tmp_path / "a", BASE.format(denial=""))), Loader(Home(ROOT, "tests")))
    one = compiled(tmp_path / "b", "denial CO-151")
    same = compiled(tmp_path / "c", "denial   CO-151")
    assert [c.details["denial"] for c in diff(none, one).changes] == [{"old": None, "new": "CO-151"}]
    assert not diff(one, same).changed


# ------------------------------------------------------------------ adopt


ADOPTING = textwrap.dedent('''\
    rulebook payer "A payer"
      quarter 2026Q2
      extends "base/2026Q2.rules"

    adopt rule units.cap, notes.none cite "The payer's own policy, 2026"
''')


def adopting(tmp_path: Path, text: str = ADOPTING):
    (tmp_path / "base").mkdir(exist_ok=True)
    write(tmp_path / "base", BASE.format(denial="denial CO-151"))
    return compile_path(str(write(tmp_path, text, "payer.rules")), Loader(Home(ROOT, "tests")))


def test_an_adopted_rule_leads_its_citation_with_the_payers_source(tmp_path):
    book = adopting(tmp_path)
    rule = book.rule("units.cap")
    assert rule.citation == "The payer's own policy, 2026; policy"
    assert rule.adopted_by == ("payer@2026Q2",) and rule.origin.rulebook == "demo@2026Q2"
    [finding] = Checker(book).check(claim()).findings
    assert finding.citation.startswith("The payer's own policy, 2026")


@pytest.mark.parametrize("text, code, says", [
    ('adopt rule units.nothing cite "x"', "nothing_to_adopt", "the base rulebook has no such rule"),
    ('adopt rule units.cap cite "x"\nadopt rule units.cap cite "y"', "duplicate_declaration", "adopted twice"),
])
def test_adopting_what_is_not_inherited_is_an_error(tmp_path, text, code, says):
    with pytest.raises(DiagnosticError) as caught:
        adopting(tmp_path, ADOPTING.split("adopt")[0] + text + "\n")
    assert code in caught.value.render() and says in caught.value.render()


def test_adopt_needs_a_base(tmp_path):
    with pytest.raises(DiagnosticError) as caught:
        compile_path(str(write(tmp_path, BASE.format(denial="") + 'adopt rule units.cap cite "x"\n')),
                     Loader(Home(ROOT, "tests")))
    assert "this rulebook extends nothing" in caught.value.render()


def test_an_adopted_rules_citation_change_shows_in_the_diff(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = adopting(tmp_path / "a")
    new = adopting(tmp_path / "b", ADOPTING.replace("2026\"", "2027\""))
    assert {c.name: c.details["parts"] for c in diff(old, new).changes} == {
        "units.cap": ["citation"], "notes.none": ["citation"]}


def test_an_adopt_with_a_severity_applies_the_rules_at_it(tmp_path):
    # A weak source (an assumption, a secondary report): the payer's denial becomes a warning.
    book = adopting(tmp_path, ADOPTING.replace('adopt rule units.cap, notes.none cite',
                                               'adopt rule units.cap\n  severity warn\n  cite'))
    assert book.rule("units.cap").severity == "warn"
    [finding] = Checker(book).check(claim()).findings
    assert finding.severity == "warn" and finding.citation.startswith("The payer's own policy, 2026")
    # The formatter keeps it, on its own line before the citation.
    text = format_source(ADOPTING.replace("cite", "severity warn cite"))
    assert "adopt rule units.cap, notes.none\n  severity warn\n  cite " in text


def test_an_adopt_severity_must_be_one_the_language_knows(tmp_path):
    with pytest.raises(DiagnosticError) as caught:
        adopting(tmp_path, ADOPTING.replace("cite", "severity warning cite"))
    rendered = caught.value.render()
    assert "unknown severity 'warning'" in rendered and "did you mean 'warn'" in rendered.lower()


def test_the_nearest_adopt_decides_the_severity_and_the_diff_shows_it(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = adopting(tmp_path / "a")
    new = adopting(tmp_path / "b", ADOPTING.replace("cite", "severity info cite"))
    assert new.rule("notes.none").severity == "info"
    changes = {c.name: c.details["parts"] for c in diff(old, new).changes}
    assert "severity" in changes["units.cap"]


# ------------------------------------------------------------------ the shipped rulebooks

FORMS = re.compile(r"(CO|CR|OA|PI|PR)-(\d{1,3}|[A-Z]\d{1,3})( \(remark ([MN]A?\d{1,4}(, )?)+\))?")


def documented_codes() -> set[str]:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    table = text[text.index("## Denial codes"):]
    return set(re.findall(r"^\| `((?:CO|CR|OA|PI|PR)-[0-9A-Z]+)`", table, re.M))


def test_every_shipped_denial_code_is_documented_with_its_meaning():
    documented = documented_codes()
    assert documented, "docs/language.md lists the denial codes the bundled rulebooks use"
    used = set()
    for path in sorted((ROOT / "rulebooks").glob("*/*.rules")):
        for rule in load(str(path)).rules:
            if rule.denial is not None:
                assert FORMS.fullmatch(str(rule.denial)), (path, rule.id)
                used.add(f"{rule.denial.group}-{rule.denial.reason}")
    assert used <= documented, used - documented


def test_every_medicare_deny_rule_names_its_denial(medicare):
    assert [r.id for r in medicare.rules if r.severity == "deny" and r.denial is None] == []
