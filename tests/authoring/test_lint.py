"""`payerlint lint`: each check on a rulebook written to trip it, the clean cases that must
stay quiet, the payer-file checks, and the text, JSON and SARIF outputs (SARIF validated
against the OASIS schema)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from payerlint.home import Home
from payerlint.lint import CHECKS, lint_paths, sarif

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# A team rulebook over the bundled Medicare rulebook, with one of each slip.
ACME = '''rulebook acme "Acme PT"
  quarter 2026Q2
  extends medicare@2026Q2
  source "(the payer policy or bulletin)"
  source "Acme provider manual, 2026 edition, sec. 4"

param visit_limit = 12
  cite "Acme provider manual sec. 4.2"
param spare_limit = 3
  cite "TODO"
codeset spare_codes "Never used" = 97140
codeset odd_codes "Codes with problems" = M54.1 M54.99 ABCDEFG U99.9* 97140 G0283 GP M54.12 S93.4*
  cite ""
override param certification_days = 60 days
  cite "Acme provider manual sec. 4.7"

rule limit.visits "More than 20 visits a year"
  category limit  severity deny
  when episode.visits_this_year > visit_limit and any(lines where code in odd_codes)
  say "visit {episode.visits_this_year}: Acme pays 20 visits a year"
  cite "Acme provider manual sec. 4.2"

rule coding.never "A rule that cannot fire"
  for each line
  category coding  severity warn
  with unused = units * 2
  when minutes > 30 and minutes < 10
  say "never"
  cite "Acme provider manual sec. 5"

rule coding.never_code "Another that cannot fire"
  for each line
  category coding  severity warn
  when code in timed and code = "97014"
  say "never"
  cite "Acme provider manual sec. 5"

rule coding.disjoint "Timed and untimed at once"
  for each line
  category coding  severity warn
  when code in timed and not (code not in untimed)
  say "never"
  cite "Acme provider manual sec. 5"

rule units.manual_cap "Manual therapy above 2 units"
  for each line
  category units  severity deny
  when code in manual_therapy and units > 2
  say "{code}: {units} units"
  cite "Acme provider manual sec. 6"
  fix replace "/lines/{line.index}/units" value 2
'''

ACME_PAYER = '''id = "acme"
name = "Acme Health"
type = "commercial"
states = ["OR"]
rulebook_family = "acme"
unit_method = "ama_per_code"
aliases = []
sources = ["(name the payer policy or bulletin these rules come from, with its date)"]
facts_as_of = "2026-07-01"
'''


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    tree = tmp_path_factory.mktemp("team")
    (tree / "rulebooks" / "acme").mkdir(parents=True)
    (tree / "rulebooks" / "acme" / "2026Q2.rules").write_text(ACME, encoding="utf-8")
    (tree / "payers").mkdir()
    (tree / "payers" / "acme.toml").write_text(ACME_PAYER, encoding="utf-8")
    return tree


@pytest.fixture(scope="module")
def report(team):
    return lint_paths([str(team)], Home(team, "--home", (ROOT,)))


def line_of(text: str) -> int:
    """The line of ACME that starts with `text` (after its indentation)."""
    return next(n for n, line in enumerate(ACME.splitlines(), start=1) if line.strip().startswith(text))


def by_code(report) -> dict[str, list]:
    found: dict[str, list] = {}
    for warning in report.warnings:
        found.setdefault(warning.code, []).append(warning)
    return found


def test_every_check_fires_on_the_rulebook_written_to_trip_it(report):
    assert not report.errors
    assert set(by_code(report)) == set(CHECKS) - {"payer_without_rulebooks"}
    assert all(w.severity == "warning" and w.span is not None and w.notes for w in report.warnings)


def test_unused_declarations_and_bindings(report):
    unused = {w.message for w in by_code(report)["unused_declaration"]}
    assert unused == {"param spare_limit is declared but no rule or definition uses it",
                      "codeset spare_codes is declared but no rule or definition uses it"}
    (binding,) = by_code(report)["unused_binding"]
    assert binding.message == "'with unused' in rule coding.never is never read"
    assert (binding.span.line, binding.span.column) == (line_of("with unused"), 8)


def test_placeholder_and_empty_citations(report):
    messages = sorted(w.message for w in by_code(report)["placeholder_citation"])
    assert messages == [
        "a source of payer acme is the placeholder `payerlint payers new` writes",
        "source is the placeholder `payerlint payers new` writes",
        "the citation of codeset odd_codes is empty",
        "the citation of param spare_limit says 'TODO'",
    ]


def test_conditions_that_can_never_hold(report):
    never = {w.span.line: w.message for w in by_code(report)["condition_never_holds"]}
    assert "'minutes > 30' and 'minutes < 10' leave no value between them, so rule coding.never never fires" \
        in never[line_of("when minutes > 30")]
    assert "'code in timed' and 'code = \"97014\"': 97014 is not in that set" in never[line_of("when code in timed and code =")]
    assert "have no code in common" in never[line_of("when code in timed and not")]


def test_numbers_that_differ_from_the_param_read(report):
    messages = sorted(w.message for w in by_code(report)["number_differs_from_param"])
    assert messages == [
        "the message of rule limit.visits says '20 visits', but param visit_limit it reads is 12",
        "the title of inherited rule documentation.certification_late (medicare@2026Q2) says '30 days', but this "
        "rulebook overrides certification_days to 60 days",
        "the title of rule limit.visits says '20 visits', but param visit_limit it reads is 12",
    ]


def test_an_own_rule_whose_fix_fights_an_inherited_rule_on_the_same_codes(report):
    fights = {w.message.split(" (medicare@2026Q2)")[0]: w for w in by_code(report)["contradicting_fixes"]}
    # A rule that raises the line's units fights the cap's 2. Two caps do not (units.lone_under_8's
    # 0, modifier.assistant_split's therapist units): the combined fix keeps the smaller.
    assert set(fights) == {"rule units.manual_cap and inherited rule units.zero_with_15_minutes"}
    fight = fights["rule units.manual_cap and inherited rule units.zero_with_15_minutes"]
    assert "both fire on 97140 and their fixes disagree: /lines/{}/units becomes 2 in one and cms_line_units" \
        in fight.message
    assert fight.related and fight.related[0].file.endswith("medicare/2026Q2.rules")


def test_codes_that_no_claim_can_carry(report):
    found = {w.code: w.message for w in report.warnings if w.code in ("code_not_in_icd10", "icd10_not_billable",
                                                                      "code_shape")}
    assert found["icd10_not_billable"] == "M54.1 in code set odd_codes is an ICD-10-CM category, not a billable code"
    assert "ABCDEFG in code set odd_codes has the shape of no code" == found["code_shape"]
    messages = [w.message for w in by_code(report)["code_not_in_icd10"]]
    assert any(m.startswith("M54.99 in code set odd_codes is not an ICD-10-CM code") for m in messages)
    assert any(m.startswith("U99.9* in code set odd_codes: no ICD-10-CM code starts with U99.9") for m in messages)
    assert len(messages) == 2  # 97140, G0283, GP, M54.12 and S93.4* are fine


def test_payer_file_that_disagrees_with_its_rulebook(report):
    (method,) = by_code(report)["payer_unit_method_differs"]
    assert method.message == 'payer acme says unit_method = "ama_per_code", but acme@2026Q2 uses "cms_total_time"'
    assert method.span.file.endswith("payers/acme.toml") and method.span.line == 6
    (base,) = by_code(report)["payer_base_differs"]
    assert "type commercial, whose rulebooks build on therapy-common" in base.message


def test_a_payer_without_rulebooks(tmp_path):
    (tmp_path / "payers").mkdir()
    (tmp_path / "payers" / "ghost.toml").write_text(ACME_PAYER.replace('"acme"', '"ghost"'), encoding="utf-8")
    report = lint_paths([str(tmp_path / "payers" / "ghost.toml")], Home(tmp_path, "--home", (ROOT,)))
    assert [w.code for w in report.warnings if w.code != "placeholder_citation"] == ["payer_without_rulebooks"]


def test_the_clean_cases_stay_quiet(tmp_path):
    clean = tmp_path / "rulebooks" / "fine" / "2026Q2.rules"
    clean.parent.mkdir(parents=True)
    clean.write_text('''rulebook fine "Fine"
  quarter 2026Q2
  source "Fine plan manual, 2026, sec. 1"

param visit_limit = 20
  cite "Fine plan manual sec. 2"
codeset timed "Timed" = 97110 97140 97161-97163
codeset dx "Diagnoses" = S93.4* M54.12 M99.00-M99.05

rule limit.visits "More than 20 visits a year"
  for each line
  category limit  severity deny
  with left = visit_limit - 1
  when episode.visits_this_year > visit_limit and code in timed and minutes >= 10 and minutes <= 30
   and any(diagnoses where it in dx) and left > 0
  say "visit {episode.visits_this_year} of {visit_limit}"
  cite "Fine plan manual sec. 2"
''', encoding="utf-8")
    report = lint_paths([str(clean)], Home(tmp_path, "--home", (ROOT,)))
    assert report.warnings == [] and report.rulebooks == ["fine@2026Q2"]


def test_a_base_declaration_used_only_by_a_rulebook_that_extends_it_is_not_unused(tmp_path):
    base = tmp_path / "rulebooks" / "base" / "2026Q2.rules"
    plan = tmp_path / "rulebooks" / "plan" / "2026Q2.rules"
    base.parent.mkdir(parents=True)
    plan.parent.mkdir(parents=True)
    base.write_text('rulebook base "Base"\n  quarter 2026Q2\n\nparam limit = 4\n  cite "Base manual sec. 1"\n',
                    encoding="utf-8")
    plan.write_text('rulebook plan "Plan"\n  quarter 2026Q2\n  extends base@2026Q2\n\nrule limit.units "Units"\n'
                    '  category limit  severity deny\n  when count(lines) > limit\n  say "too many"\n'
                    '  cite "Plan manual sec. 2"\n', encoding="utf-8")
    report = lint_paths([str(base)], Home(tmp_path, "--home", (ROOT,)))
    assert report.warnings == []


def test_the_scaffold_placeholders_are_reported_until_replaced(tmp_path):
    from payerlint.payers.scaffold import scaffold_payer

    home = Home(tmp_path, "--home", (ROOT,))
    (tmp_path / "payers").mkdir()
    scaffold_payer(home, "acme-pt", "commercial", "Acme PT", None, [], "ama_per_code")
    report = lint_paths([str(tmp_path)], home)
    assert not report.errors
    # A commercial payer applies none of the rules it inherits silently (payers/_types.toml):
    # until the lead adopts or disables them, lint says so, once per rulebook.
    assert sorted(w.code for w in report.warnings) == ["inherited_rule_not_adopted"] + ["placeholder_citation"] * 3
    [silent] = [w for w in report.warnings if w.code == "inherited_rule_not_adopted"]
    assert "inherited rules it neither adopts nor disables" in silent.message
    assert silent.span.file.endswith("acme-pt/2026Q4.rules")  # at the header


# ------------------------------------------------------------------ output


def test_sarif_output_is_valid_sarif_2_1_0(report):
    log = sarif(report)
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, errors[0].message
    run = log["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == sorted(CHECKS)
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    assert len(run["results"]) == len(report.warnings)


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "payerlint", *args], capture_output=True, text=True, cwd=cwd)


def run_main(capsys, *args) -> tuple[int, str, str]:
    from payerlint.cli import main

    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_command_text_json_and_sarif(team, capsys, monkeypatch):
    monkeypatch.chdir(team)
    status, text, _ = run_main(capsys, "lint", ".", "--home", ".")
    assert status == 1
    assert "warning[unused_declaration]: param spare_limit is declared but no rule or definition uses it" in text
    assert f"--> rulebooks/acme/2026Q2.rules:{line_of('param spare_limit')}:7" in text
    assert text.rstrip().endswith("warnings; 1 rulebook, 1 payer file checked")
    data = json.loads(run_main(capsys, "lint", ".", "--home", ".", "--format", "json")[1])
    assert data["rulebooks"] == ["acme@2026Q2"]
    assert {w["code"] for w in data["warnings"]} == set(CHECKS) - {"payer_without_rulebooks"}
    log = json.loads(run_main(capsys, "lint", ".", "--home", ".", "--format", "sarif")[1])
    assert not list(Draft4Validator(SCHEMA).iter_errors(log))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"rulebooks/acme/2026Q2.rules", "payers/acme.toml"}


def test_a_rulebook_that_does_not_compile_is_an_error_not_a_warning(tmp_path, capsys):
    broken = tmp_path / "broken.rules"
    broken.write_text('rulebook broken "Broken"\nlet x = y\n', encoding="utf-8")
    status, _, err = run_main(capsys, "lint", str(broken))
    assert status == 2 and "unknown name 'y'" in err


@pytest.mark.tree
def test_lint_runs_over_the_shipped_tree_without_errors():
    from conftest import _loader

    report = lint_paths([str(ROOT / "rulebooks"), str(ROOT / "payers")], _loader.home, _loader)
    assert not report.errors
    assert len(report.rulebooks) == len(list((ROOT / "rulebooks").glob("*/*.rules")))
    assert {w.code for w in report.warnings} <= set(CHECKS)


@pytest.mark.parametrize("title", ["Prior authorization required after visit 20 per year",
                                   "Prior authorization required after the 20th visit",
                                   "Prior authorization required after 20 visits"])
def test_a_count_in_a_title_is_read_however_it_is_worded(title):
    # A bulletin's "after visit 20" over a param of 24: the noun may come first, or the
    # number be an ordinal. Numbers whose noun no param names are left alone.
    from types import SimpleNamespace

    from payerlint.lint.checks import _mismatch

    visits = SimpleNamespace(name="authorization_visits", value=24, type=SimpleNamespace(name="integer"))
    found = _mismatch(title, [visits])
    assert found is not None and found[0] is visits and found[2] == 20
    assert _mismatch(title.replace("20", "24"), [visits]) is None
    assert _mismatch("Section 220 of the manual, line 3", [visits]) is None
