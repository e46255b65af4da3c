"""`payerlint graph`: what feeds what in a compiled rulebook, with inherited, overriding,
own and disabled declarations told apart; dot, Mermaid and networkx node-link JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx

from payerlint.compile.graph import described, to_dot, to_json, to_mermaid
from payerlint.compile.pipeline import Loader
from payerlint.home import Home

ROOT = Path(__file__).resolve().parents[2]

BASE = '''rulebook base "Base"
  quarter 2026Q2

param limit = 20
  cite "Plan"
codeset timed "Timed" = 97110 97140
let timed_units = sum(units of lines where code in timed)

rule limit.units "Too many units"
  category limit  severity deny
  when timed_units > limit
  say "{timed_units} units"
  cite "Plan"

rule limit.other "Another"
  category limit  severity warn
  when timed_units > 1
  say "more than one"
  cite "Plan"
'''

OVERLAY = '''rulebook plan "Plan"
  quarter 2026Q2
  extends "../base/2026Q2.rules"

override param limit = 12
  cite "Plan bulletin"
codeset manual "Manual" = 97140
disable rule limit.other because "not for this plan"

rule coding.manual "Manual therapy"
  for each line
  category coding  severity info
  when code in manual and units > limit
  say "{code}"
  cite "Plan bulletin"
'''


def overlay(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "plan").mkdir()
    (tmp_path / "base" / "2026Q2.rules").write_text(BASE, encoding="utf-8")
    path = tmp_path / "plan" / "2026Q2.rules"
    path.write_text(OVERLAY, encoding="utf-8")
    return Loader(Home(ROOT, "tests")).load(str(path))


def test_each_node_says_whether_it_is_own_inherited_overriding_or_disabled(tmp_path):
    graph = described(overlay(tmp_path))
    status = {node: data["status"] for node, data in graph.nodes(data=True)}
    assert status == {
        "param:limit": "override", "codeset:timed": "inherited", "let:timed_units": "inherited",
        "rule:limit.units": "inherited", "codeset:manual": "own", "rule:coding.manual": "own",
        "rule:limit.other": "disabled",
    }
    assert graph.nodes["param:limit"]["overrides"] == "base@2026Q2"
    assert graph.nodes["rule:limit.other"]["reason"] == "not for this plan"
    # What is used points at what uses it: the overlay's limit feeds the inherited rule.
    assert set(graph.edges) == {("codeset:timed", "let:timed_units"), ("let:timed_units", "rule:limit.units"),
                                ("param:limit", "rule:limit.units"), ("param:limit", "rule:coding.manual"),
                                ("codeset:manual", "rule:coding.manual")}
    assert graph.edges["param:limit", "rule:coding.manual"]["places"][0].endswith("plan/2026Q2.rules:13:35")


def test_json_is_networkx_node_link_data(tmp_path):
    compiled = overlay(tmp_path)
    data = json.loads(to_json(compiled))
    back = nx.node_link_graph(data, edges="edges")
    assert set(back.nodes) == set(described(compiled).nodes)
    assert set(back.edges) == set(described(compiled).edges)
    assert back.nodes["codeset:timed"]["from"] == "base@2026Q2"


def test_mermaid_and_dot_show_every_node_and_edge_with_its_status(tmp_path):
    compiled = overlay(tmp_path)
    mermaid = to_mermaid(compiled).splitlines()
    assert mermaid[0] == "flowchart LR"
    assert sum("-->" in line for line in mermaid) == 5
    assert '  n3["param limit (overrides base@2026Q2)"]:::override' in mermaid
    assert any(line.startswith("  classDef inherited ") for line in mermaid)
    assert any('"rule limit.other (disabled by plan@2026Q2)"' in line for line in mermaid)
    dot = to_dot(compiled)
    assert dot.startswith('digraph "plan@2026Q2" {') and dot.rstrip().endswith("}")
    assert '"param:limit" -> "rule:limit.units";' in dot
    assert 'label="codeset timed (from base@2026Q2)", shape=box, style="dashed"' in dot


def test_the_command_prints_the_same_text_every_run():
    # Two processes: set and dict order, hash seeds and all, must not show in the output.
    runs = [subprocess.run([sys.executable, "-m", "payerlint", "graph", "uhc-medicare-advantage@2026Q2",
                            "--format", "json"], capture_output=True, text=True, cwd=ROOT) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    nodes = json.loads(runs[0].stdout)["nodes"]
    assert {node["status"] for node in nodes} >= {"own", "inherited"}
    assert all(not node["at"].startswith("/") for node in nodes)  # paths relative to the checkout
