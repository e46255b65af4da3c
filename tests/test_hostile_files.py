"""Files an attacker or a slip of the hand can hand payerlint: tables outside the tree,
import targets that are not files, payer files that would reroute claims or crash."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import ROOT
from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home
from payerlint.payers.registry import Registry

RULEBOOK = """\
rulebook t "tables" quarter 2026Q2
table codes "codes" from "{path}"
  key code: code
  columns flag: integer optional
rule r.one "one" for each line category units severity warn
  when codes[code].flag = 1
  say "x" cite "t"
"""
SECRET_LINE = "root:x:0:0:secret-first-line"


def compile_with_table(folder, table_path: str):
    # Named as a tree names it (rulebooks/<family>/<quarter>.rules), where it sits in one.
    text = RULEBOOK.format(path=table_path)
    if folder.parent.name == "rulebooks":
        text = text.replace("rulebook t ", f"rulebook {folder.name} ", 1)
    (folder / "2026Q2.rules").write_text(text, encoding="utf-8")
    return Loader(Home(folder, "t")).load(str(folder / "2026Q2.rules"))


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET_LINE + "\n", encoding="utf-8")
    return secret


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_table_outside_the_rulebook_tree_is_refused_without_reading_it(tmp_path, outside, how):
    tree = tmp_path / "tree" / "rulebooks" / "acme"
    (tree / "tables").mkdir(parents=True)
    if how == "absolute":
        ref = str(outside)
    elif how == "dotdot":
        ref = os.path.relpath(outside, tree)
    else:
        (tree / "tables" / "codes.csv").symlink_to(outside)
        ref = "tables/codes.csv"
    with pytest.raises(DiagnosticError) as caught:
        compile_with_table(tree, ref)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "table_outside_tree"
    rendered = caught.value.render()
    assert SECRET_LINE not in rendered and "secret" not in rendered


def test_extends_reads_only_rulebook_files(tmp_path, outside):
    # A path given to `extends` that is not a .rules file (or a link to one) is refused
    # before it is opened: its first line was parsed and quoted under a caret.
    (tmp_path / "linked.rules").symlink_to(outside)
    for target in (str(outside), "linked.rules"):
        (tmp_path / "t.rules").write_text(f'rulebook t "t" quarter 2026Q2\n  extends "{target}"\n', encoding="utf-8")
        with pytest.raises(DiagnosticError) as caught:
            Loader(Home(tmp_path, "t")).load(str(tmp_path / "t.rules"))
        rendered = "\n".join(d.render() for d in caught.value.diagnostics)
        assert "which is not a rulebook file (.rules)" in rendered and SECRET_LINE not in rendered


def test_a_rulebook_test_table_outside_the_tree_is_refused_without_reading_it(tmp_path, outside):
    tests = tmp_path / "team" / "rulebooks" / "medicare" / "tests"
    (tests / "claims").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "clean_claim.json", tests / "claims" / "clean.json")
    (tests / "t.toml").write_text('base = "claims/clean.json"\nquarters = ["2026Q2"]\n[[case]]\nname = "x"\n'
                                  f'verdict = "clean"\n[case.tables]\nmue = "{outside}"\n', encoding="utf-8")
    outside.write_text("97140,ZZSECRET,1\n", encoding="utf-8")
    done = cli("test", str(tests / "t.toml"), "--home", str(tmp_path / "team"))
    assert done.returncode == 2 and "is outside the rulebook tree and the test file's folder" in done.stdout + done.stderr
    assert "ZZSECRET" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_tables_shared_inside_the_tree_and_beside_a_loose_rulebook_still_load(tmp_path):
    tree = tmp_path / "tree" / "rulebooks"
    (tree / "shared" / "tables").mkdir(parents=True)
    (tree / "shared" / "tables" / "codes.csv").write_text("code,flag\n97140,1\n", encoding="utf-8")
    (tree / "acme").mkdir()
    assert compile_with_table(tree / "acme", "../shared/tables/codes.csv").tables["codes"].rows
    loose = tmp_path / "loose"
    (loose / "tables").mkdir(parents=True)
    (loose / "tables" / "codes.csv").write_text("code,flag\n97140,1\n", encoding="utf-8")
    assert compile_with_table(loose, "tables/codes.csv").tables["codes"].rows


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "payerlint", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


MUE = "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n97140,4,3 Date of Service Edit: Clinical,Clinical: Data\n"


def test_import_refuses_targets_that_are_not_table_files(tmp_path):
    source = tmp_path / "mue.csv"
    source.write_text(MUE, encoding="utf-8")
    before = source.read_bytes()
    same = cli("import", "mue", str(source), "-o", str(source))
    assert same.returncode == 2 and "is the file being imported" in same.stderr and "Traceback" not in same.stderr
    assert source.read_bytes() == before
    folder = cli("import", "mue", str(source), "-o", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    device = cli("import", "mue", str(source), "-o", "/dev/null")
    assert device.returncode == 2 and "not a regular file" in device.stderr
    (tmp_path / "afile").write_text("x")
    through = cli("import", "mue", str(source), "-o", str(tmp_path / "afile" / "mue.csv"))
    assert through.returncode == 2 and "is a file, not a folder" in through.stderr
    fresh = cli("import", "mue", str(source), "-o", str(tmp_path / "new" / "deeper" / "mue.csv"))
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "new" / "deeper" / "mue.csv").is_file()


def test_check_export_and_remit_write_only_regular_files_that_are_not_their_input(tmp_path):
    claim = tmp_path / "claims" / "claim.json"
    claim.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "clean_claim.json", claim)
    before = claim.read_bytes()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for command in (["check", str(claim)], ["export", "--format", "837p", str(claim)],
                    ["remit", str(ROOT / "examples" / "x12" / "therapy-claims.837"), "--claims", str(claim)]):
        for target, says in ((fifo, "is not a regular file"), ("/dev/null", "is not a regular file"),
                             (claim, "is an input of this run"), (claim.parent / "out.jsonl", "inside the folder")):
            if says == "inside the folder" and command[0] != "check":
                continue
            inputs = [str(claim.parent)] if says == "inside the folder" else []
            done = cli(*command[:1], *inputs, *command[1:], "-o", str(target))
            assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, (command, target)
            assert claim.read_bytes() == before
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # A symlink to a results file is written through: the file it names gets the results.
    results = tmp_path / "results.jsonl"
    results.write_text("old\n")
    (tmp_path / "link.jsonl").symlink_to(results)
    done = cli("check", str(claim), "--format", "jsonl", "-o", str(tmp_path / "link.jsonl"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.jsonl").is_symlink() and '"claim_id":"C-1001"' in results.read_text()


def registry_tree(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "payers", tree / "payers")
    shutil.copytree(ROOT / "rulebooks", tree / "rulebooks")
    return tree


def test_an_alias_equal_to_another_payers_id_is_an_error_at_load(tmp_path):
    tree = registry_tree(tmp_path)
    registry = Registry.load(Home(tree, "t"))
    victim, thief = sorted(registry.payers)[:2]
    path = tree / "payers" / f"{thief}.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("aliases = [", f'aliases = ["{victim.upper()}", ', 1), encoding="utf-8")
    with pytest.raises(DiagnosticError) as caught:
        Registry.load(Home(tree, "t"))
    [problem] = caught.value.diagnostics
    assert problem.code == "duplicate_alias" and f"the id of payer {victim}" in problem.message
    run = cli("check", str(ROOT / "examples" / "claims"), "--home", str(tree))
    assert run.returncode == 2 and "alias" in run.stderr


@pytest.mark.parametrize("content", [b"id = \"caf\xe9\"\n", b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n"])
def test_a_payer_file_that_is_not_utf8_or_nested_too_deep_is_a_diagnostic(tmp_path, content):
    tree = registry_tree(tmp_path)
    (tree / "payers" / "broken.toml").write_bytes(content)
    with pytest.raises(DiagnosticError) as caught:
        Registry.load(Home(tree, "t"))
    assert caught.value.diagnostics[0].code == "payer_file_syntax"
    run = cli("payers", "--home", str(tree))
    assert run.returncode == 2 and "Traceback" not in run.stderr and "broken.toml" in run.stderr


def test_check_keeps_the_old_output_file_when_input_cannot_be_read(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"keep": "me"}\n')
    done = cli("check", str(tmp_path / "missing.json"), "--format", "jsonl", "-o", str(out))
    assert done.returncode == 2 and "was left as it was" in done.stderr
    assert out.read_text() == '{"keep": "me"}\n'
