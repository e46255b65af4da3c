"""The repository as a newcomer meets it: every rulebook compiles, every payer file
validates, the README's first command behaves as the README says, the command line keeps
its contract (exit codes, formats, standard input, --home), and the output is
byte-identical run after run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT, load
from payerlint.home import Home
from payerlint.payers.registry import Registry

RULEBOOKS = sorted((ROOT / "rulebooks").glob("*/*.rules"))


def cli(*args, stdin: str | None = None, env: dict | None = None, cwd: Path = ROOT):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "payerlint", *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd, env=full_env)


# `tree`: reads every payer or rulebook of the tree; test_new_payer.py runs these again
# after `payers new`.
@pytest.mark.tree
@pytest.mark.parametrize("path", RULEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in RULEBOOKS])
def test_every_bundled_rulebook_compiles(path):
    compiled = load(str(path))  # the session's loader: each base is compiled once
    assert compiled.id == f"{path.parent.name}@{path.stem}"
    assert all(rule.citation for rule in compiled.rules)


@pytest.mark.tree
def test_every_payer_file_validates_and_has_rulebooks():
    registry = Registry.load(Home(ROOT, "tests"))
    assert registry.payers
    for payer in registry.payers.values():
        assert registry.quarters(payer), payer.id


def test_the_evaluator_does_not_import_the_syntax_package():
    code = ("import sys, payerlint.evaluate.engine, payerlint.evaluate.program, payerlint.evaluate.plan; "
            "print(sorted(m for m in sys.modules if m.startswith('payerlint.syntax') or m == 'lark'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_readme_quick_start_checks_the_examples_and_exits_1():
    run = cli("check", "examples/claims")
    assert run.returncode == 1, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{len(list((ROOT / 'examples' / 'claims').rglob('*.json')))} claims checked")
    assert "EX-M03  DENY" in run.stdout and "EX-M01  CLEAN" in run.stdout


def test_json_output_is_byte_identical_run_after_run():
    first = cli("check", "examples/claims", "--format", "json", "--explain")
    second = cli("check", "examples/claims", "--format", "json", "--explain")
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    results = json.loads(first.stdout)
    assert all(set(r) >= {"claim_id", "payer_id", "rulebooks", "verdict", "findings", "not_evaluated"} for r in results)
    finding = next(f for r in results for f in r["findings"] if f["rule"] == "units.total")
    assert list(finding)[:8] == ["rule", "rulebook", "category", "severity", "line", "message", "citation", "fix"]
    assert {"params", "definitions", "table_rows", "code_sets"} <= set(finding["explanation"])


def test_exit_codes():
    clean = str(ROOT / "examples" / "claims" / "medicare" / "01-clean-ankle-mobilization.json")
    assert cli("check", clean).returncode == 0
    warned = str(ROOT / "examples" / "claims" / "medicare" / "07-documentation-vague-note.json")
    assert cli("check", warned).returncode == 0          # warnings alone do not fail a check
    denied = str(ROOT / "examples" / "claims" / "medicare" / "03-units-22-minutes-billed-2.json")
    assert cli("check", denied).returncode == 1
    assert cli("check", clean, "--rulebook", "medicare@2031Q1").returncode == 2
    assert cli("check").returncode == 2                  # usage
    assert cli("compile", "medicare@2026Q2").returncode == 0


def test_standard_input_and_json_lines():
    claim = json.loads((DATA / "clean_claim.json").read_text())
    broken = dict(claim, claim_id="C-2")
    broken["lines"] = [dict(claim["lines"][0], units=2)]
    stdin = json.dumps(claim) + "\n{not json\n" + json.dumps(broken) + "\n"
    run = cli("check", "-", "--format", "jsonl", stdin=stdin)
    assert run.returncode == 1
    verdicts = [json.loads(line)["verdict"] for line in run.stdout.splitlines()]
    assert verdicts == ["clean", "error", "deny"]      # the bad record does not stop the batch
    error = json.loads(run.stdout.splitlines()[1])
    assert "<stdin>:2" in error["findings"][0]["message"]


def test_strict_reports_rules_not_evaluated_as_warnings():
    missing = str(ROOT / "examples" / "claims" / "medicare" / "12-no-documentation-sent.json")
    plain = cli("check", missing)
    # Without --strict the claim still stands out: not clean as far as anyone can tell,
    # but clean as far as payerlint could check, and it says for lack of what.
    assert plain.returncode == 0
    assert "CLEAN  medicare@2026Q2  (no findings)  INCOMPLETE: 10 rules could not run" in plain.stdout
    assert "1 clean (1 of them incomplete)" in plain.stdout and "(no /documentation: 10)" in plain.stdout
    plain_json = json.loads(cli("check", missing, "--format", "json").stdout)[0]
    assert plain_json["verdict"] == "clean" and plain_json["complete"] is False
    strict = json.loads(cli("check", missing, "--strict", "--format", "json").stdout)[0]
    assert strict["verdict"] == "warn"
    assert {f["category"] for f in strict["findings"]} == {"input"}
    assert len(strict["findings"]) == len(strict["not_evaluated"]) == 10


def test_home_points_at_a_teams_own_tree(tmp_path):
    tree = tmp_path / "team"
    shutil.copytree(ROOT / "rulebooks" / "medicare", tree / "rulebooks" / "medicare")
    (tree / "payers").mkdir()
    shutil.copy(ROOT / "payers" / "medicare.toml", tree / "payers")
    rules = tree / "rulebooks" / "medicare" / "2026Q2.rules"
    rules.write_text(rules.read_text().replace("param kx_threshold_pt_slp = $2,480.00",
                                               "param kx_threshold_pt_slp = $1,000.00"))
    claim = str(ROOT / "examples" / "claims" / "medicare" / "01-clean-ankle-mobilization.json")
    assert cli("check", claim).returncode == 0
    for run in (cli("check", claim, "--home", str(tree)), cli("check", claim, env={"PAYERLINT_HOME": str(tree)})):
        assert run.returncode == 1 and "threshold.kx_missing" in run.stdout
    # The team tree lies over the bundled one: its medicare first, the other payers underneath.
    rows = {line.split()[0]: line.split()[1] for line in cli("payers", "--home", str(tree)).stdout.splitlines()[1:]}
    assert rows["medicare"] == "team" and rows["anthem-commercial"] == "bundled"


def test_builtins_are_listed_with_examples():
    run = cli("builtins")
    assert run.returncode == 0
    for name in ("cms_units(", "ama_units(", "cms_share(", "days_between(", "icd10_status("):
        assert name in run.stdout


def test_explain_shows_what_a_finding_used_in_text_output():
    claim = str(ROOT / "examples" / "claims" / "medicare" / "04-ptp-traction-with-manual-no-59.json")
    run = cli("check", claim, "--explain")
    assert "used: with edit = row (97012, 97140) of table ncci_ptp" in run.stdout
    assert "used: table ncci_ptp (97012, 97140): found, file line" in run.stdout


def test_a_rulebook_finds_its_base_in_its_own_tree_first(tmp_path):
    tree = tmp_path / "team" / "rulebooks"
    shutil.copytree(ROOT / "rulebooks" / "therapy-common", tree / "therapy-common")
    shutil.copytree(ROOT / "rulebooks" / "medicare", tree / "medicare")
    shutil.copytree(ROOT / "rulebooks" / "anthem-commercial", tree / "anthem-commercial")
    (tree / "therapy-common" / "2026Q2.rules").write_text('rulebook therapy-common "broken"\n  quarter 2026Q2\nlet = 1\n')
    # Compiled by path, without --home: the base next to it (broken) is used, not the bundled one.
    run = cli("compile", str(tree / "anthem-commercial" / "2026Q2.rules"))
    assert run.returncode == 2 and "therapy-common/2026Q2.rules:3" in run.stderr


def test_every_builtin_has_a_signature_and_an_implementation():
    # The compiler checks calls against compile/signatures.py, the evaluator runs
    # evaluate/functions.py: a function in one table and not the other would compile and
    # then fail on the first claim, or never compile at all.
    from payerlint.compile.signatures import SIGNATURES
    from payerlint.evaluate.functions import IMPLEMENTATIONS

    assert set(SIGNATURES) == set(IMPLEMENTATIONS)


def test_an_explanation_shows_the_values_of_the_table_row_a_rule_used():
    # "row (97140) of table mue, file line 6" said which row, not what it holds: the MUE of
    # 2 the rule compared with is shown, in the text and in the JSON.
    text = cli("check", "examples/mue", "--rulebook", "examples/mue/medicare-with-mue-fixture.rules", "--explain")
    assert "used: table mue (97140): found, file line 6: mue = 2; mai = 1" in text.stdout
    data = cli("check", "examples/mue", "--rulebook", "examples/mue/medicare-with-mue-fixture.rules", "--explain",
               "--format", "json")
    rows = [row for r in json.loads(data.stdout) for f in r["findings"] if f.get("explanation")
            for row in f["explanation"]["table_rows"] if row["table"] == "mue" and row["key"] == ["97140"]]
    assert rows and rows[0]["values"]["mue"] == "2"
