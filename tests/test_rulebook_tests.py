"""`payerlint test`: the rulebook tests compliance leads write (rulebooks/<family>/tests/*.toml).

Every family of the tree has tests that pass with full coverage in every quarter, except a
payer `payerlint payers new` has just scaffolded (see `held_and_drafts`); the rest checks
what a lead sees when a case fails, when a test file is wrong, and when coverage falls short."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, load
from payerlint.cli import main
from payerlint.compile.loader import Loader
from payerlint.home import Home
from payerlint.payers.scaffold import RULEBOOK_SOURCE_PLACEHOLDER, scaffold_payer


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    # These runs compile rulebooks from temporary folders and one overlay per case override;
    # storing them in the on-disk cache costs more than compiling them and leaves entries no
    # later run can hit. The cache has its own tests (tests/compile/test_cache.py).
    monkeypatch.setenv("PAYERLINT_NO_CACHE", "1")


def held_and_drafts(root: Path, load=load) -> tuple[list[Path], list[Path]]:
    """The families of a tree (folders of rulebooks/ holding .rules files), split in two.

    Held to their tests: every family, except a draft: a family whose rulebooks still name
    the placeholder source `payerlint payers new` writes (`payerlint lint` reports it as
    placeholder_citation). A scaffolded payer keeps the suite green until its rulebook says
    where its rules come from; from then on it must have tests with full coverage, as every
    shipped family does. Found by reading the tree, never from a list."""
    held, drafts = [], []
    for family in sorted(p for p in (root / "rulebooks").iterdir() if p.is_dir() and any(p.glob("*.rules"))):
        draft = any(RULEBOOK_SOURCE_PLACEHOLDER in load(str(rules)).sources for rules in family.glob("*.rules"))
        (drafts if draft else held).append(family)
    return held, drafts


def run(capsys, *args):
    code = main(["test", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.tree
def test_every_family_has_rulebook_tests_unless_it_is_a_scaffold_draft():
    held, drafts = held_and_drafts(ROOT)
    for family in drafts:
        warnings.warn(f"{family.name} is a draft (its rulebook names the scaffold's placeholder source): "
                      "it is not yet held to rulebook tests", stacklevel=1)
    untested = [f.name for f in held if not any((f / "tests").glob("*.toml"))]
    assert not untested, (f"no rulebook tests for {untested}: write rulebooks/<family>/tests/*.toml that make each "
                          "rule fire and stay quiet (docs/authoring.md, section 4)")


def test_the_shipped_rulebook_tests_pass_with_full_coverage(capsys):
    """`payerlint test <every family held to its tests> --fail-under 100`: every case passes,
    and in every quarter of every family each rule is made to fire and kept quiet by a case."""
    held, _ = held_and_drafts(ROOT)
    assert {f.name for f in held} >= {"medicare", "therapy-common"}
    code, out, _ = run(capsys, *held, "--fail-under", "100", "--format", "json")
    report = json.loads(out)
    problems = [(c["file"], c["line"], c["rulebook"], c["problems"], c["errors"]) for c in report["cases"]
                if c["status"] != "pass"]
    assert not problems and not report["errors"], (problems[:5], report["errors"][:5])
    assert code == 0 and report["failed"] == 0 and report["passed"] > 0
    covered = {c["rulebook"] for c in report["coverage"]}
    assert covered == {f"{family.name}@{rules.stem}" for family in held for rules in family.glob("*.rules")}
    assert all(c["percent"] == 100 and c["passing_runs"] > 0 for c in report["coverage"]), report["under"]


def test_a_scaffolded_payer_is_a_draft_until_its_rulebook_names_its_source(tmp_path):
    """`payers new` keeps the suite green; naming the payer's source holds it to its tests."""
    shutil.copytree(ROOT / "payers", tmp_path / "payers")
    (tmp_path / "rulebooks").mkdir()
    for family in ("medicare", "therapy-common"):
        shutil.copytree(ROOT / "rulebooks" / family, tmp_path / "rulebooks" / family)
    home = Home(tmp_path, "--home")
    _, rulebook = scaffold_payer(home, "acme-commercial", "commercial", "Acme Health", None, [], "cms_total_time")

    held, drafts = held_and_drafts(tmp_path, Loader(home, disk_cache=False).load)
    assert [f.name for f in drafts] == ["acme-commercial"]
    assert [f.name for f in held] == ["medicare", "therapy-common"]
    rulebook.write_text(rulebook.read_text(encoding="utf-8").replace(
        RULEBOOK_SOURCE_PLACEHOLDER, "Acme Health provider manual, outpatient therapy, 2026 edition (EXAMPLE)"),
        encoding="utf-8")
    held, drafts = held_and_drafts(tmp_path, Loader(home, disk_cache=False).load)  # a fresh compile
    assert drafts == [] and "acme-commercial" in [f.name for f in held]
    assert not any((tmp_path / "rulebooks" / "acme-commercial" / "tests").glob("*.toml"))  # so it would fail


# ------------------------------------------------------------------ a small tree of our own

CLEAN = json.loads((ROOT / "tests" / "data" / "clean_claim.json").read_text(encoding="utf-8"))


@pytest.fixture
def tree(tmp_path):
    """rulebooks/medicare with one quarter and an empty tests/ folder beside it."""
    family = tmp_path / "rulebooks" / "medicare"
    family.mkdir(parents=True)
    shutil.copy(ROOT / "rulebooks" / "medicare" / "2026Q2.rules", family)
    shutil.copytree(ROOT / "rulebooks" / "medicare" / "tables", family / "tables")
    (family / "tests" / "claims").mkdir(parents=True)
    (family / "tests" / "claims" / "clean.json").write_text(json.dumps(CLEAN, indent=1), encoding="utf-8")
    return family


def write(tree: Path, text: str, name: str = "cases.toml") -> Path:
    path = tree / "tests" / name
    path.write_text(text, encoding="utf-8")
    return path


BILLED_TWICE = '''base = "claims/clean.json"

[[case]]
name = "22 minutes billed as 2 units"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 2}]\'\'\'
verdict = "deny"
fires = [{rule = "units.total", severity = "deny", says = "22 timed minutes support 1", fix = '[{"op": "replace", "path": "/lines/0/units", "value": 1}]'}]
quiet = ["units.lone_under_8"]
fix = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 1}]\'\'\'

[[case]]
name = "the clean claim"
verdict = "clean"
only = true
quiet = ["units.total"]
not_evaluated = []
'''


def test_passing_cases_and_the_closing_line(capsys, tree):
    write(tree, BILLED_TWICE)
    code, out, _ = run(capsys, tree)
    assert code == 0, out
    assert "ok       3  22 minutes billed as 2 units  [medicare@2026Q2]" in out
    assert out.strip().splitlines()[-1] == "2 passed, 0 failed"
    rules = len(load("medicare@2026Q2").rules)  # one fires, one stays quiet: 3 of 2 x rules
    assert f"medicare@2026Q2: {100 * 3 / (2 * rules):.1f}% of {rules} rules" in out
    assert "never made to fire: " in out and "units.total" not in out.split("never made to fire: ")[1].split("\n")[0]


def test_a_failing_case_shows_expected_actual_and_what_the_rule_read(capsys, tree):
    write(tree, BILLED_TWICE.replace('"value": 2}', '"value": 1}'))
    code, out, _ = run(capsys, tree)
    assert code == 1
    assert "FAIL     3  22 minutes billed as 2 units  [medicare@2026Q2]" in out
    assert "verdict: expected deny, got clean" in out
    assert "units.total: expected to fire; it did not" in out
    assert "expected: verdict deny; units.total fires (deny, says \"22 timed minutes support 1\"" in out
    assert "actual:   verdict clean" in out
    # What the rule read, from the same traced evaluation `check --explain` uses.
    block = out.split("units.total did not fire; it read:")[1]
    assert "param unit_method = cms_total_time" in block and "timed_units for 2026-05-14 = 1" in block
    # Where its condition stopped: each part of its `and` as the rulebook writes it.
    stopped = out.split("units.total: its condition on the date 2026-05-14:")[1].splitlines()
    assert stopped[1].strip() == "cms_method: holds"
    assert stopped[2].strip() == "timed_units > allowed_timed_units: does not hold, so the rule does not fire"
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_a_rule_with_no_instance_on_the_claim_says_so(capsys, tree):
    # A one-line claim has no pair of lines to try a rule for each pair on.
    write(tree, BILLED_TWICE.replace('fires = [{rule = "units.total"', 'fires = [{rule = "units.more_to_less_time"'))
    code, out, _ = run(capsys, tree)
    assert code == 1
    assert ("units.more_to_less_time: its condition was not tried:\n"
            "              the rule runs for each pair, and this claim has no pair to try it on (a pair is two lines)") in out


def test_a_rule_that_should_stay_quiet_shows_what_it_used(capsys, tree):
    write(tree, BILLED_TWICE.replace('quiet = ["units.lone_under_8"]', 'quiet = ["units.total"]'))
    code, out, _ = run(capsys, tree)
    assert code == 1
    assert "units.total: expected to stay quiet; it fired on the claim" in out
    assert "units.total on the claim used:" in out and "allowed_timed_units for 2026-05-14 = 1" in out


def test_an_edited_rulebook_fails_the_shipped_cases(capsys, tree):
    """The cases hold the rulebook to its policy: raise the KX threshold and they say so."""
    for rules in (ROOT / "rulebooks" / "medicare").glob("*.rules"):
        shutil.copy(rules, tree)
    shutil.copy(ROOT / "rulebooks" / "medicare" / "tests" / "thresholds.toml", tree / "tests")
    shutil.copy(ROOT / "rulebooks" / "medicare" / "tests" / "claims" / "clean.json", tree / "tests" / "claims")
    assert run(capsys, tree)[0] == 0
    rules = tree / "2026Q2.rules"
    rules.write_text(rules.read_text().replace("param kx_threshold_pt_slp = $2,480.00",
                                               "param kx_threshold_pt_slp = $2,500.00"))
    code, out, _ = run(capsys, tree)
    assert code == 1
    failed = [line.split(None, 2)[2] for line in out.splitlines() if line.startswith("  FAIL")]
    # kx_threshold_pt_slp: PT and SLP share it; OT has its own param.
    assert failed == ["PT: 2480.01 this year without KX (CY2026 threshold $2,480)  [medicare@2026Q2]",
                      "SLP: 2480.01 this year without KX (CY2026 threshold $2,480)  [medicare@2026Q2]",
                      "$2,450.00 this year and a $48.00 charge: the claim takes the year to $2,498.00, past $2,480"
                      "  [medicare@2026Q2]"]
    assert "param kx_threshold_pt_slp = $2,500.00" in out


def test_overrides_like_opa_with(capsys, tree):
    write(tree, '''base = "claims/clean.json"

[[case]]
name = "AMA method"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 2}]\'\'\'
fires = ["units.ama_per_code"]
quiet = ["units.total"]
[case.params]
unit_method = "ama_per_code"

[[case]]
name = "a synthetic MUE row, written in the case"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 3},
           {"op": "replace", "path": "/lines/0/minutes", "value": 45}]\'\'\'
fires = [{rule = "mue.line", line = 1, says = "exceed its MUE of 2"}]
[case.tables.mue]
csv = \'\'\'
code,mue,mai,mai_text
97140,2,1,1 Line Edit
\'\'\'

[[case]]
name = "the same claim without the override: the shipped MUE table is empty"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 3},
           {"op": "replace", "path": "/lines/0/minutes", "value": 45}]\'\'\'
quiet = ["mue.line"]
''')
    code, out, _ = run(capsys, tree)
    assert code == 0, out
    assert out.strip().endswith("3 passed, 0 failed")


def test_each_distinct_override_set_compiles_once(tree):
    from payerlint.authoring.rulebook_tests import Runner
    from payerlint.compile.loader import Loader
    from payerlint.home import Home

    case = '[[case]]\nname = "n{}"\nfires = ["units.ama_per_code"]\npatch = \'\'\'[{{"op": "replace", "path": "/lines/0/units", "value": 2}}]\'\'\'\n[case.params]\nunit_method = "ama_per_code"\n'
    write(tree, 'base = "claims/clean.json"\n' + "\n".join(case.format(i) for i in range(5)))
    runner = Runner(Loader(Home(tree.parent.parent, "test")))
    try:
        report = runner.run([str(tree)])
        assert report.passed == 5 and len(runner._overlays) == 1
    finally:
        runner.close()


# ------------------------------------------------------------------ errors in test files


@pytest.mark.parametrize("text, where, message", [
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\npatch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 2,}]\'\'\'\n',
     "cases.toml:4:68", "the patch is not valid JSON"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\nfires = ["units.totl"]\n',
     "cases.toml:4:10", "medicare@2026Q2 has no rule units.totl"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\npatch = \'\'\'[\n  {"op": "add", "path": "/lines/0/modifiers/-", "value": "59"},\n  {"op": "replace", "path": "/lines/3/units", "value": 2}\n]\'\'\'\n',
     "cases.toml:6:3", "patch operation 2 does not apply: /lines/3/units: /lines has 1 item, so there is no item '3'"),
    ('base = "claims/clean.json"\n[[case]\nname = "x"\n', "cases.toml:2:7", "not valid TOML"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\nfire = ["units.total"]\n', "cases.toml:4:1",
     "'fire' is not a key of a case"),
    ('base = "claims/clean.json"\nquarters = ["2026Q2", "2027Q1"]\n[[case]]\nname = "x"\n', "cases.toml:2:23",
     "there is no rulebook medicare@2027Q1"),
    ('base = "claims/nope.json"\n[[case]]\nname = "x"\n', "cases.toml:1:8", "cannot read the claim file claims/nope.json"),
    # A case's only quarter misspelled: the case is an error, not a case that never ran.
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\nquarters = ["2026-Q2"]\n', "cases.toml:4:13", "2026-Q2"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\nquarters = ["2026Q5"]\n', "cases.toml:4:13", "2026Q5"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\n[case.params]\nkx_threshold_ot = "2,000"\n', "cases.toml:5:1",
     "this override:"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\n[case.params]\nkx_treshold_ot = "$2,000.00"\n', "cases.toml:5:1",
     "medicare@2026Q2 has no param kx_treshold_ot"),
    ('base = "claims/clean.json"\n[[case]]\nname = "x"\n[case.tables.mue]\ncsv = \'\'\'\ncode,mue,mai,mai_text\n97140,two,1,x\n\'\'\'\n',
     "cases.toml:7:", "in the CSV text:"),
])
def test_errors_in_a_test_file_name_file_line_and_column(capsys, tree, text, where, message):
    write(tree, text)
    code, out, err = run(capsys, tree)
    assert code == 2
    assert "Traceback" not in out + err
    assert where in out, out
    assert message in out, out
    assert out.strip().splitlines()[-1].endswith(" failed")


def test_did_you_mean_for_a_misspelled_rule(capsys, tree):
    write(tree, 'base = "claims/clean.json"\n[[case]]\nname = "x"\nquiet = ["units.totl"]\n')
    _, out, _ = run(capsys, tree)
    assert "did you mean 'units.total'?" in out


def test_one_bad_case_does_not_stop_the_others(capsys, tree):
    write(tree, BILLED_TWICE + '\n[[case]]\nname = "bad"\nfires = ["no.such_rule"]\n')
    code, out, _ = run(capsys, tree)
    assert code == 2 and "2 passed, 1 failed" in out


def test_a_bad_claim_file_names_its_own_line(capsys, tree):
    (tree / "tests" / "claims" / "broken.json").write_text('{\n  "claim_id": "C-1",\n  "lines": [,]\n}\n')
    write(tree, 'base = "claims/broken.json"\n[[case]]\nname = "x"\n')
    code, out, _ = run(capsys, tree)
    assert code == 2 and "broken.json:3:13" in out and "not valid JSON" in out


def test_json_nested_too_deeply_is_an_error_of_its_case_and_file(capsys, tree):
    deep = "[" * 5000 + "]" * 5000
    (tree / "tests" / "claims" / "deep.json").write_text(deep)
    write(tree, f"base = \"claims/clean.json\"\n[[case]]\nname = \"deep patch\"\npatch = '''{deep}'''\n\n"
                "[[case]]\nname = \"deep claim file\"\nbase = \"claims/deep.json\"\n")
    code, out, _ = run(capsys, tree)
    assert code == 2 and out.count("nested too deeply to read") == 2


def test_claims_keep_their_exact_json_values(capsys, tree):
    """The TOML traps: no null, and YAML-like coercion of codes and NO. Claims are JSON text."""
    claim = dict(CLEAN, lines=[dict(CLEAN["lines"][0], body_region="NO")])
    claim["episode"] = dict(CLEAN["episode"], plan_of_care={"start": "2026-04-01", "certified_on": None,
                                                            "end": "2026-07-18"})
    write(tree, f"""[[case]]
name = "null certification, a body region that YAML would read as false, a code as text"
claim = '''{json.dumps(claim)}'''
fires = ["documentation.certification_late"]
quiet = ["units.total"]
""")
    code, out, _ = run(capsys, tree)
    assert code == 0, out


def test_no_test_case_is_a_failure(capsys, tree):
    code, out, _ = run(capsys, tree)
    assert code == 1
    assert "no test cases found" in out and out.strip().splitlines()[-1] == "0 passed, 0 failed"


def test_fail_under(capsys, tree):
    write(tree, BILLED_TWICE)
    code, out, _ = run(capsys, tree, "--fail-under", "50")
    rules = len(load("medicare@2026Q2").rules)
    assert code == 1 and f"coverage of medicare@2026Q2 is {100 * 3 / (2 * rules):.1f}%, under --fail-under 50%" in out
    assert run(capsys, tree, "--fail-under", "2.5")[0] == 0


def test_json_output(capsys, tree):
    write(tree, BILLED_TWICE.replace('"value": 2}', '"value": 1}'))
    code, out, _ = run(capsys, tree, "--format", "json")
    again = run(capsys, tree, "--format", "json")[1]
    assert out == again
    report = json.loads(out)
    assert code == 1 and (report["passed"], report["failed"]) == (1, 1)
    failed = next(c for c in report["cases"] if c["status"] == "fail")
    assert failed["expected"]["verdict"] == "deny" and failed["actual"]["verdict"] == "clean"
    assert failed["line"] == 3 and failed["rulebook"] == "medicare@2026Q2"
    assert any(e["about"] == "units.total did not fire; it read" for e in failed["explanations"])
    assert report["coverage"][0]["rulebook"] == "medicare@2026Q2"


def test_paths_a_rulebook_a_reference_and_a_single_file(capsys, tree):
    path = write(tree, BILLED_TWICE)
    assert run(capsys, path)[0] == 0
    assert run(capsys, tree / "2026Q2.rules")[0] == 0
    code, out, _ = run(capsys, tree.parent.parent / "no-such-place")
    assert code == 2 and "does not exist" in out


def test_file_level_params_apply_to_every_case(capsys, tree):
    write(tree, '''base = "claims/clean.json"

[params]
unit_method = "ama_per_code"

[[case]]
name = "the AMA rule fires"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 2}]\'\'\'
fires = ["units.ama_per_code"]
quiet = ["units.total"]

[[case]]
name = "a case may set it back"
patch = \'\'\'[{"op": "replace", "path": "/lines/0/units", "value": 2}]\'\'\'
fires = ["units.total"]
quiet = ["units.ama_per_code"]
[case.params]
unit_method = "cms_total_time"
''')
    code, out, _ = run(capsys, tree)
    assert code == 0, out


def test_a_rulebook_that_does_not_compile_is_an_error_not_a_crash(capsys, tree):
    write(tree, BILLED_TWICE)
    rules = tree / "2026Q2.rules"
    rules.write_text(rules.read_text().replace("when cms_method and timed_units > allowed_timed_units",
                                               "when cms_method and timed_unitz > allowed_timed_units"))
    code, out, err = run(capsys, tree)
    assert code == 2 and "Traceback" not in out + err
    assert "2026Q2.rules does not compile; its cases were not run" in out and "timed_unitz" in out
    assert out.strip().splitlines()[-1] == "0 passed, 2 failed"
