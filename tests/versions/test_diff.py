"""The quarter diff and the impact replay, on small rulebooks written for each case and on
the bundled Medicare quarters."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, load
from payerlint.claims.reader import Record, read_records
from payerlint.compile.loader import Loader
from payerlint.home import Home
from payerlint.quarter import Quarter, QuarterError
from payerlint.versions.diff import diff
from payerlint.versions.replay import Replay
from payerlint.versions.report import write_text

BASE = textwrap.dedent('''\
    rulebook demo "Demo"
      quarter 2026Q2
      source "test"

    param kx = $2,480.00  cite "CR 14252"
    param cap = 4
    codeset timed "Timed" = 97110 97140
    phrases vague = "tolerated well"
    table pairs from "pairs.csv"
      key first: code, second: code
      columns indicator: integer

    let over_kx = episode.therapy_amount_ytd > kx
    let timed_units per date = sum(units of lines where code in timed)

    rule kx.missing "Above the threshold without KX"
      category threshold  severity deny
      when over_kx and any(lines where "KX" not in modifiers)
      say "above {kx}"
      cite "CR 14252"

    rule units.cap "Too many timed units"
      for each date
      category units  severity deny
      when timed_units > cap
      say "{timed_units} units"
      cite "policy"

    rule ptp.pair "Pair billed together"
      for each pair
      category ptp  severity deny
      with edit = pairs[first.code, second.code]
      when edit is present and edit.indicator = 1 and "59" not in second.modifiers
      say "{second.code} with {first.code}"
      cite "NCCI"

    rule doc.vague "Vague response"
      category documentation  severity warn
      when documentation.patient_response mentions any of vague
      say "vague"
      cite "Ch. 15"
''')

PAIRS = "first,second,indicator\n97012,97140,1\n97530,97164,1\n"


def write(folder: Path, text: str, pairs: str = PAIRS) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pairs.csv").write_text(pairs)
    path = folder / "demo.rules"
    path.write_text(text)
    return str(path)


def compile_text(tmp_path: Path, name: str, text: str, pairs: str = PAIRS):
    return Loader(Home(tmp_path, "test")).load(write(tmp_path / name, text, pairs))


def test_a_reformatted_and_reordered_rulebook_is_unchanged(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    blocks = BASE.split("\n\n")
    header, rest = blocks[0], blocks[1:]
    reordered = "# a comment that changes nothing\n" + header + "\n\n" + "\n\n".join(reversed(rest))
    reordered = reordered.replace("category threshold  severity deny", "severity deny\n      category threshold")
    reordered = reordered.replace('param cap = 4', 'param   cap   =   4   # same value')
    new = compile_text(tmp_path, "new", reordered)
    result = diff(old, new)
    assert result.changes == () and not result.changed


def test_a_param_change_reaches_every_rule_through_definitions(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE.replace("$2,480.00", "$2,410.00"))
    (change,) = diff(old, new).changes
    assert (change.kind, change.name, change.action) == ("param", "kx", "changed")
    assert change.details == {"old": "$2,480.00", "new": "$2,410.00", "value_changed": True}
    assert change.reaches == ("kx.missing",)   # through the definition over_kx


def test_code_set_members_added_and_removed(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE.replace("= 97110 97140", "= 97110 97112 97530"))
    (change,) = diff(old, new).changes
    assert change.details["added"] == ["97112", "97530"] and change.details["removed"] == ["97140"]
    assert change.reaches == ("units.cap",)


def test_table_rows_are_diffed_by_key(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE, pairs="first,second,indicator\n97530,97164,1\n97012,97140,0\n"
                                                    "98940,97140,1\n")
    (change,) = diff(old, new).changes
    d = change.details
    assert (d["rows_added"], d["rows_removed"], d["rows_changed"]) == (1, 0, 1)
    assert d["added_keys"] == [["98940", "97140"]]
    assert d["changed_rows"] == [{"key": ["97012", "97140"], "columns": {"indicator": {"old": "1", "new": "0"}}}]
    assert change.reaches == ("ptp.pair",)


@pytest.mark.parametrize("edit, parts", [
    (("severity deny\n  when timed_units", "severity warn\n  when timed_units"), ["severity"]),
    (('say "{timed_units} units"', 'say "{timed_units} timed units"'), ["message"]),
    (("when timed_units > cap", "when timed_units >= cap"), ["condition"]),
    (('cite "policy"', 'cite "policy, 2026"'), ["citation"]),
])
def test_a_rule_edit_names_the_part_that_changed(tmp_path, edit, parts):
    old = compile_text(tmp_path, "old", BASE)
    text = BASE.replace("      ", "  ").replace("    ", "  ")
    new_text = text.replace(*edit)
    assert new_text != text
    new = compile_text(tmp_path, "new", new_text)
    (change,) = diff(old, new).changes
    assert (change.kind, change.name, change.details["parts"]) == ("rule", "units.cap", parts)


def test_a_severity_change_says_from_what_to_what(tmp_path):
    # deny -> warn is the edit that lets claims through: the summary says it, not just
    # "severity changed", and the JSON carries both values.
    old = compile_text(tmp_path, "old", BASE)
    text = BASE.replace("      ", "  ").replace("    ", "  ")
    new = compile_text(tmp_path, "new", text.replace("severity deny\n  when timed_units", "severity warn\n  when timed_units"))
    (change,) = diff(old, new).changes
    assert change.summary() == "rule units.cap: severity deny -> warn"
    assert change.to_json()["details"]["severity"] == {"old": "deny", "new": "warn"}


def test_a_changed_condition_shows_the_old_and_new_source_text(tmp_path):
    # An analyst reviewing a quarter reads what the author wrote, comments and line
    # breaks aside, not just "condition changed".
    old = compile_text(tmp_path, "old", BASE)
    edited = BASE.replace("when edit is present and edit.indicator = 1",
                          "when edit is present   # listed pairs only\n       and edit.indicator != 0")
    edited = edited.replace("with edit = pairs[first.code, second.code]",
                            "with edit = pairs[second.code, first.code]")
    edited = edited.replace("let timed_units per date = sum(units of lines where code in timed)",
                            "let timed_units per date = sum(units of lines where code in timed and units > 0)")
    new = compile_text(tmp_path, "new", edited)
    result = diff(old, new)
    rule = result.find("rule", "ptp.pair")
    assert rule.details["texts"] == [
        {"clause": "when", "old": 'edit is present and edit.indicator = 1 and "59" not in second.modifiers',
         "new": 'edit is present and edit.indicator != 0 and "59" not in second.modifiers'},
        {"clause": "with edit =", "old": "pairs[first.code, second.code]", "new": "pairs[second.code, first.code]"},
    ]
    let = result.find("let", "timed_units")
    assert let.details["texts"] == [{"clause": "=", "old": "sum(units of lines where code in timed)",
                                     "new": "sum(units of lines where code in timed and units > 0)"}]
    shown = io.StringIO()
    write_text(result, shown)
    assert "      - when edit is present and edit.indicator = 1 and" in shown.getvalue()
    assert "      + with edit = pairs[second.code, first.code]" in shown.getvalue()


def test_an_added_unless_shows_none_before(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE.replace("when timed_units > cap",
                                                     'when timed_units > cap\n      unless any(all_lines where "KX" in modifiers)'))
    (change,) = diff(old, new).changes
    assert change.details["texts"] == [{"clause": "unless", "old": None, "new": 'any(all_lines where "KX" in modifiers)'}]


def test_rules_added_and_removed(tmp_path):
    old = compile_text(tmp_path, "old", BASE)
    start = BASE.index("rule doc.vague")
    new = compile_text(tmp_path, "new", BASE[:start])
    (change,) = diff(old, new).changes
    assert (change.kind, change.name, change.action) == ("rule", "doc.vague", "removed")
    back = diff(new, old).changes[0]
    assert back.action == "added"


def test_inherited_change_through_base(tmp_path):
    base_old = write(tmp_path / "base_old", BASE)
    base_new = write(tmp_path / "base_new", BASE.replace("$2,480.00", "$2,410.00"))
    overlay = textwrap.dedent('''\
        rulebook plan "Plan"
          quarter 2026Q2
          extends "{base}"
          source "plan"
        rule plan.extra "An extra rule"
          category limit  severity deny
          when episode.visit_number > cap
          say "too many"
          cite "plan policy"
        ''')
    (tmp_path / "o1").mkdir()
    (tmp_path / "o2").mkdir()
    (tmp_path / "o1" / "plan.rules").write_text(overlay.replace("{base}", base_old))
    (tmp_path / "o2" / "plan.rules").write_text(overlay.replace("{base}", base_new))
    loader = Loader(Home(tmp_path, "test"))
    old, new = loader.load(str(tmp_path / "o1" / "plan.rules")), loader.load(str(tmp_path / "o2" / "plan.rules"))
    (change,) = diff(old, new).changes
    assert change.name == "kx" and change.inherited_from == "demo@2026Q2" and change.own == "plan@2026Q2"


def test_bundled_medicare_quarters_differ_where_the_facts_do():
    changes = {(c.kind, c.name) for c in diff(load("medicare@2025Q4"), load("medicare@2026Q1")).changes}
    assert ("param", "kx_threshold_pt_slp") in changes and ("param", "kx_threshold_ot") in changes
    assert not diff(load("medicare@2026Q2"), load("medicare@2026Q3")).changed


# ------------------------------------------------------------------ replay


def claims_file(tmp_path: Path, claims) -> str:
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    return str(path)


def test_replay_attributes_a_changed_table_row_by_its_key(tmp_path, clean_claim):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE, pairs="first,second,indicator\n97012,97140,0\n97530,97164,1\n")
    claim = dict(clean_claim)
    claim["lines"] = [dict(clean_claim["lines"][0], code="97012", minutes=None), dict(clean_claim["lines"][0])]
    del claim["lines"][0]["minutes"]
    other = json.loads(json.dumps(clean_claim))
    other["claim_id"] = "C-2"
    replay = Replay(diff(old, new), old, new)
    impacts = list(replay.run(read_records([claims_file(tmp_path, [claim, other])])))
    assert [i.claim_id for i in impacts] == ["C-1001"]
    (difference,) = impacts[0].differences
    assert difference.rule == "ptp.pair" and difference.kind == "finding gone"
    assert difference.causes == ({"kind": "table row", "name": "pairs (97012, 97140)",
                                  "detail": "row (97012, 97140) of table pairs changed"},)
    assert replay.summary.checked == 2 and replay.summary.changed == 1
    assert dict(replay.summary.verdicts) == {"deny -> clean": 1}


def test_replay_attributes_a_phrase_added_to_a_set(tmp_path, clean_claim):
    old = compile_text(tmp_path, "old", BASE)
    new = compile_text(tmp_path, "new", BASE.replace('= "tolerated well"', '= "tolerated well" "feels looser"'))
    claim = json.loads(json.dumps(clean_claim))
    claim["documentation"]["patient_response"] = "Feels looser today"
    replay = Replay(diff(old, new), old, new)
    (impact,) = replay.run([Record("x", claim, None)])
    assert impact.differences[0].causes[0]["detail"] == '"feels looser" added to phrase set vague'


def test_the_bundled_replay_example_changes_verdicts_across_the_kx_boundary():
    run = subprocess.run([sys.executable, "-m", "payerlint", "diff", "medicare@2025Q4", "medicare@2026Q1",
                          "--claims", "examples/replay/kx-threshold-2025-2026.jsonl", "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["summary"]["claims_checked"] == 12
    # Before the claim $2,410.01 up to $2,480.00 was above the CY2025 threshold (deny) and is
    # not above CY2026's; with this claim's $48.00 charge a year from $2,432.01 on may cross
    # CY2026's (warn), and one from $2,362.01 on may have crossed CY2025's.
    assert report["summary"]["verdict_changes"] == {"deny -> clean": 1, "deny -> warn": 3, "warn -> clean": 2}
    changed = {c["claim_id"]: (c["old_verdict"], c["new_verdict"]) for c in report["claims"]}
    assert changed == {"KX-02": ("warn", "clean"), "KX-03": ("warn", "clean"), "KX-04": ("deny", "clean"),
                       "KX-05": ("deny", "warn"), "KX-06": ("deny", "warn"), "KX-07": ("deny", "warn"),
                       "KX-08": ("deny", "deny"), "KX-09": ("deny", "deny"), "KX-10": ("deny", "deny")}
    assert all(d["causes"][0]["name"] == "kx_threshold_pt_slp" for c in report["claims"] for d in c["differences"])


def test_replay_output_escapes_what_a_claim_id_could_do_to_a_terminal_or_a_change_log(tmp_path):
    # Claim ids are the claim's own text: an escape sequence, a newline that would start a
    # markdown heading, a bar that would split the table, a tag for a rendered change log.
    source = (ROOT / "examples" / "replay" / "kx-threshold-2025-2026.jsonl").read_text().splitlines()
    ids = ["K|1", "K\n## EVIL", "K\x1b[31m", "K\u202eevil", "K<script>x</script>"]
    claims = []
    for claim_id in ids:
        data = json.loads(source[4])  # one whose outcome changes (KX-05)
        data["claim_id"] = claim_id
        claims.append(json.dumps(data))
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(claims) + "\n")
    outputs = {}
    for fmt in ("text", "markdown"):
        run = subprocess.run([sys.executable, "-m", "payerlint", "diff", "medicare@2025Q4", "medicare@2026Q1",
                              "--claims", str(path), "--format", fmt], capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 1, run.stderr
        outputs[fmt] = run.stdout
        assert "\x1b" not in run.stdout and "\u202e" not in run.stdout and "\n## EVIL" not in run.stdout
    assert "(line 1, /lines/0)" in outputs["text"] and "K\\x1b[31m" in outputs["text"]
    rows = [line for line in outputs["markdown"].splitlines() if line.startswith("| K")]
    assert len(rows) == 2 * len(ids)  # two differences each
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in rows)  # six cells, none split
    assert "<script>" not in outputs["markdown"] and "&lt;script&gt;" in outputs["markdown"]


def test_diff_exit_codes(tmp_path):
    same = subprocess.run([sys.executable, "-m", "payerlint", "diff", "medicare@2026Q2", "medicare@2026Q3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert same.returncode == 0 and "0 changes" in same.stdout
    missing = subprocess.run([sys.executable, "-m", "payerlint", "diff", "medicare@2026Q2", "medicare@2031Q1"],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and "2026Q2" in missing.stderr


def test_quarter_values_parse_print_order_and_teach_the_format():
    q = Quarter.parse("2026Q2")
    assert (str(q), q.start.isoformat(), q.end.isoformat()) == ("2026Q2", "2026-04-01", "2026-06-30")
    assert Quarter.parse("2025Q4") < q < Quarter.parse("2026Q3") and q.next() == Quarter.parse("2026Q3")
    assert Quarter.parse("2026Q1").previous() == Quarter.parse("2025Q4")
    with pytest.raises(QuarterError, match="like 2026Q2"):
        Quarter.parse("2026-Q2")
