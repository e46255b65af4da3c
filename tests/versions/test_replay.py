"""Impact replay attributes each changed outcome to what the rule read: through constant
definitions, whole tables read as lists, code set prefixes, only the instance that
changed; several findings of one rule without a line; changes in what could run."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

from payerlint.claims.reader import Record
from payerlint.compile.loader import Loader
from payerlint.home import Home
from payerlint.versions.diff import diff
from payerlint.versions.replay import Replay

HEADER = 'rulebook demo "Demo"\n  quarter 2026Q2\n'


def pair(tmp_path: Path, old_body: str, new_body: str, tables: dict[str, tuple[str, str]] | None = None):
    loaded = []
    for side, body in (("old", old_body), ("new", new_body)):
        folder = tmp_path / side
        folder.mkdir()
        for name, (old_csv, new_csv) in (tables or {}).items():
            (folder / name).write_text(old_csv if side == "old" else new_csv)
        (folder / "demo.rules").write_text(HEADER + textwrap.dedent(body))
        loaded.append(Loader(Home(tmp_path, "t")).load(str(folder / "demo.rules")))
    old, new = loaded
    return Replay(diff(old, new), old, new)


def impacts(replay, *claims):
    return [replay.one(Record(f"c{i}", claim, None)) for i, claim in enumerate(claims)]


RULE = '''
rule r.x "x"
  {scope}
  category units  severity deny
  when {when}
  say "{say}"
  cite "t"
'''


def rule(when, say="hit", scope=""):
    return RULE.format(scope=scope, when=when, say=say)


def test_several_findings_of_a_rule_without_a_line_are_kept_apart(tmp_path, clean_claim):
    body = "param cap = CAP\n" + rule("sum(units of lines) > cap", "{service_date}", "for each date")
    replay = pair(tmp_path, body.replace("CAP", "1"), body.replace("CAP", "2"))
    claim = copy.deepcopy(clean_claim)
    claim["lines"] = [dict(claim["lines"][0], units=2, date="2026-05-01"), dict(claim["lines"][0], units=3, date="2026-05-02")]
    (impact,) = impacts(replay, claim)
    assert [(d.kind, d.was.message) for d in impact.differences] == [("finding gone", "2026-05-01")]
    assert impact.differences[0].causes[0]["name"] == "cap"


def test_a_param_read_through_a_constant_definition_is_the_cause(tmp_path, clean_claim):
    body = 'param method = "METHOD"\nlet strict = method = "strict"\n' + rule("strict and units > 0", scope="for each line")
    replay = pair(tmp_path, body.replace("METHOD", "strict"), body.replace("METHOD", "lenient"))
    (impact,) = impacts(replay, clean_claim)
    assert [c["name"] for c in impact.differences[0].causes] == ["method"]


def test_a_table_read_as_a_list_is_the_cause(tmp_path, clean_claim):
    body = ('table caps from "caps.csv"\n  key code: code\n  columns cap: integer\n'
            + rule("any(caps where code = \"97140\" and cap < 2)"))
    replay = pair(tmp_path, body, body, {"caps.csv": ("code,cap\n97140,1\n", "code,cap\n97140,3\n")})
    (impact,) = impacts(replay, clean_claim)
    assert impact.differences[0].causes[0]["kind"] == "table"


def test_a_code_matched_by_a_prefix_member_is_the_cause(tmp_path, clean_claim):
    body = "codeset sprains = MEMBERS\n" + rule("first(diagnoses) in sprains")
    replay = pair(tmp_path, body.replace("MEMBERS", "S93.4*"), body.replace("MEMBERS", "S83.2*"))
    (impact,) = impacts(replay, clean_claim)
    assert impact.differences[0].causes == ({"kind": "code set member", "name": "sprains S93.402D",
                                             "detail": "S93.402D removed from code set sprains"},)


def test_only_the_instance_that_changed_is_traced(tmp_path, clean_claim):
    body = ('table t from "t.csv"\n  key code: code\n  columns flag: integer\n'
            + rule("t[code].flag = 1", "{code}", "for each line"))
    replay = pair(tmp_path, body, body, {"t.csv": ("code,flag\n97140,1\n97110,0\n", "code,flag\n97140,0\n97110,1\n")})
    claim = copy.deepcopy(clean_claim)
    claim["lines"].append(dict(claim["lines"][0], code="97110"))
    (impact,) = impacts(replay, claim)
    by_line = {d.line: [c["name"] for c in d.causes] for d in impact.differences}
    assert by_line == {0: ["t (97140)"], 1: ["t (97110)"]}


def test_a_rule_that_starts_needing_a_value_the_claim_lacks_is_reported(tmp_path, clean_claim):
    replay = pair(tmp_path, rule("units > 5", scope="for each line"),
                  rule("units > 5 or documentation.time_statement = \"x\"", scope="for each line"))
    (impact,) = impacts(replay, clean_claim)
    (difference,) = impact.differences
    assert (difference.kind, difference.missing) == ("now not evaluated", "/documentation/time_statement")
    assert difference.causes[0]["kind"] == "rule edit"
