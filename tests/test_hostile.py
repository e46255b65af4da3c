"""Hostile input, as an integrator's worst batch would hold it: every record gets exactly
one result, in order, and the batch goes on (issue: never lose a record).

Each case here once ended a whole run with a traceback. They are kept as named cases so
a reader sees what was fixed; tests/test_fuzz_batch.py generates many more like them and
checks the same invariants."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from conftest import DATA, ROOT
from payerlint.api import Checker, Router
from payerlint.claims.reader import read_records

CLEAN = json.loads((DATA / "clean_claim.json").read_text(encoding="utf-8"))


def cli(*args, stdin: bytes | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "payerlint", *args], capture_output=True, input=stdin, env=env,
                          cwd=ROOT)


def claim(claim_id: str, **changes) -> dict:
    data = copy.deepcopy(CLEAN)
    data["claim_id"] = claim_id
    data.update(changes)
    return data


def nested(depth: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def batch_killers() -> list[str]:
    """One JSON Lines text per record: each once stopped `payerlint check`."""
    year_zero = claim("Y0", date_of_service="0000-01-01")
    year_999 = claim("Y999", date_of_service="0999-01-01")
    year_999["lines"][0]["date"] = "0999-01-01"
    year_999.get("patient", {}).pop("birth_date", None)  # else born after the service: an error of its own
    deep = claim("DEEP")
    deep["lines"][0]["units"] = 2  # a finding with a fix, so the fixes are merged
    deep["x-deep"] = nested(600)
    two_point_zero = claim("FLOAT")
    two_point_zero["lines"][0]["units"] = 2.0
    big = claim("BIG")
    big["episode"]["visit_number"] = 10**30
    lines = [json.dumps(year_zero), json.dumps(year_999), json.dumps(deep, separators=(",", ":")),
             json.dumps(two_point_zero), json.dumps(big)]
    surrogate_id = json.dumps(claim("placeholder")).replace('"placeholder"', '"\\ud800"')
    surrogate_payer = json.dumps(claim("SURR-P")).replace('"medicare"', '"\\udfff"')
    surrogate_key = json.dumps(claim("SURR-K")).replace('"x-', '"x-\\ud800', 1) if '"x-' in json.dumps(
        claim("SURR-K")) else json.dumps(claim("SURR-K"))[:-1] + ', "x-\\ud800": 1}'
    lines += [surrogate_id, surrogate_payer, surrogate_key, json.dumps(claim("LAST"))]
    return lines


def test_every_batch_killer_gives_one_result_and_the_batch_goes_on(tmp_path):
    path = tmp_path / "hostile.jsonl"
    lines = batch_killers()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = cli("check", str(path), "--format", "jsonl")
    assert b"Traceback" not in run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["record"] for r in results] == [f"{path}:{n}" for n in range(1, len(lines) + 1)]
    by_id = {r["claim_id"]: r for r in results if r["claim_id"]}
    # Year 0000: no such day; the pointer says where.
    assert by_id["Y0"]["verdict"] == "error"
    assert any(f["pointer"] == "/date_of_service" for f in by_id["Y0"]["findings"])
    # Year 999 is a real date no rulebook covers: a routing error naming quarter 0999Q1.
    assert by_id["Y999"]["verdict"] == "error"
    assert "0999Q1" in by_id["Y999"]["findings"][0]["message"]
    # 600 levels of nesting in an x- field: the fix is still merged without copying it.
    assert by_id["DEEP"]["verdict"] == "deny"
    assert by_id["DEEP"]["fix"] == [{"op": "replace", "path": "/lines/0/units", "value": 1}]
    # Numbers are read exactly: 2.0 is not a whole number, 10**30 is past the maximum.
    assert by_id["FLOAT"]["verdict"] == "error" and "/lines/0/units" in json.dumps(by_id["FLOAT"])
    assert by_id["BIG"]["verdict"] == "error" and "10000 or less" in json.dumps(by_id["BIG"])
    # Lone surrogates: an unreadable record each (no id can be shown), never a crash.
    assert [r["verdict"] for r in results[5:8]] == ["error"] * 3
    assert all("surrogate" in r["findings"][0]["message"] for r in results[5:8])
    assert results[-1]["claim_id"] == "LAST" and results[-1]["verdict"] == "clean"
    assert run.returncode == 1  # findings (deny, error), not a crash


def test_an_internal_error_costs_one_claim_and_exits_3(tmp_path, monkeypatch):
    from payerlint import check as check_module

    calls = []
    real = check_module.evaluate

    def flaky(program, claim, **kwargs):
        calls.append(claim.root["claim_id"])
        if claim.root["claim_id"] == "BOOM":
            raise KeyError("Jane Q Patient")  # an exception whose text quotes the claim
        return real(program, claim, **kwargs)

    monkeypatch.setattr(check_module, "evaluate", flaky)
    router = Router()
    results = [router.check(claim(i)) for i in ("A", "BOOM", "C")]
    assert [r.verdict for r in results] == ["clean", "error", "clean"]
    [finding] = results[1].findings
    assert finding.rule == "internal.error" and finding.severity == "error"
    assert "KeyError at payerlint/" in finding.message and "please report it" in finding.message
    assert "Jane" not in finding.message


def test_the_cli_says_3_when_a_claim_hit_a_bug(tmp_path):
    # A rulebook whose check raises inside payerlint for one claim: simulated by a
    # sitecustomize that breaks evaluation for one claim id, in a subprocess.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import payerlint.check as c\n"
        "real = c.evaluate\n"
        "def broken(program, claim, **kw):\n"
        "    if claim.root['claim_id'] == 'BOOM':\n"
        "        raise RuntimeError('x')\n"
        "    return real(program, claim, **kw)\n"
        "c.evaluate = broken\n")
    batch = "\n".join(json.dumps(claim(i)) for i in ("A", "BOOM", "C")) + "\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT / "src")])}
    run = subprocess.run([sys.executable, "-m", "payerlint", "check", "-", "--format", "jsonl"], input=batch.encode(),
                         capture_output=True, env=env, cwd=ROOT)
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["claim_id"] for r in results] == ["A", "BOOM", "C"]
    assert results[1]["findings"][0]["rule"] == "internal.error"
    assert run.returncode == 3 and b"internal error" in run.stderr and b"Traceback" not in run.stderr


def test_api_values_that_json_cannot_hold_are_errors_not_crashes():
    checker = Checker(Router().choice)
    odd = [claim("T", lines=(1, 2)), {"claim_id": "K", 3: "x"}, claim("\ud800"), {"claim_id": "S", "x-s": {1, 2}},
           claim("N", episode={"visit_number": float("nan")}), None, [], "text"]
    for data in odd:
        result = checker.check(data)
        assert result.verdict == "error"
        result.dumps()  # always serialisable


def test_text_output_escapes_control_characters(tmp_path):
    data = claim("C-\x1b[31mRED\x00")
    data["lines"][0]["body_region"] = "left\u202eknee"
    data["lines"][0]["units"] = 2
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    run = cli("check", str(path))
    assert b"\x1b" not in run.stdout and b"\x00" not in run.stdout
    assert b"C-\\x1b[31mRED\\x00" in run.stdout


def test_diff_with_an_unreadable_claims_file_exits_2(tmp_path):
    run = cli("diff", "medicare@2025Q4", "medicare@2026Q1", "--claims", str(tmp_path / "missing.jsonl"))
    assert run.returncode == 2 and b"missing.jsonl" in run.stderr


def test_deep_extension_in_folder_input_and_replay(tmp_path):
    deep = claim("DEEP")
    deep["lines"][0]["units"] = 2
    deep["x-deep"] = nested(900)
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "deep.json").write_text(json.dumps(deep), encoding="utf-8")
    run = cli("check", str(tmp_path / "claims"), "--format", "jsonl")
    [result] = [json.loads(line) for line in run.stdout.splitlines()]
    assert result["verdict"] == "deny" and run.returncode == 1
    replay = cli("diff", "medicare@2025Q4", "medicare@2026Q1", "--claims", str(tmp_path / "claims"), "--format",
                 "json")
    assert replay.returncode in (0, 1) and b"Traceback" not in replay.stderr
    assert json.loads(replay.stdout)["summary"]["claims_checked"] == 1


@pytest.mark.parametrize("text", ["[1, 2]", "[]", '["x"]'])
def test_jsonl_with_an_array_on_line_one_keeps_every_record(tmp_path, text):
    path = tmp_path / "c.jsonl"
    path.write_text(text + "\n" + json.dumps(claim("B")) + "\n" + json.dumps(claim("C")) + "\n", encoding="utf-8")
    assert len(list(read_records([str(path)]))) == 3


MARKER = "ZQXJ-PATIENT-MARKER"


def test_explain_shows_that_note_text_was_read_never_the_text(tmp_path):
    data = claim("EXPLAIN")
    intervention = data["documentation"]["interventions"][0]
    intervention["technique"] = f"therapeutic exercise for strength, {MARKER} said the patient"
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for fmt in ("text", "json"):
        run = cli("check", str(path), "--explain", "--format", fmt)
        assert b"coding.technique_fits_other_code" in run.stdout
        assert MARKER.encode() not in run.stdout and MARKER.encode() not in run.stderr
        assert b"patient data from intervention.technique: read, not shown" in run.stdout


def test_diagnostics_show_control_characters_as_escapes(tmp_path):
    # A file name, a message and a quoted rulebook line can all carry what a file holds:
    # an escape sequence must not reach the terminal.
    from payerlint.compile.loader import Loader
    from payerlint.diagnostics import DiagnosticError
    from payerlint.home import Home

    folder = tmp_path / "odd\x1b[31m"
    folder.mkdir()
    rules = folder / "t.rules"
    rules.write_text('rulebook t "t" quarter 2026Q2\nrule r.x "x" for each line category units severity warn\n'
                     '  when units > 1 \x1b[2J\x00 >\n  say "x" cite "t"\n', encoding="utf-8")
    try:
        Loader(Home(tmp_path, "t")).load(str(rules))
    except DiagnosticError as exc:
        rendered = exc.render()
    else:
        raise AssertionError("the rulebook has a syntax error")
    assert "\x1b" not in rendered and "\x00" not in rendered
    assert "odd\\x1b[31m" in rendered and "\\x1b[2J\\x00" in rendered
