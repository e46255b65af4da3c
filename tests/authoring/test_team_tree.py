"""A compliance team's rule tree lies over the bundled one: its payers and rulebooks
first, the bundled ones underneath, so a team rulebook extends a bundled one without a
copy, a team payer uses the bundled `_types.toml`, and every command says which tree a
payer or rulebook came from."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from payerlint.cli import main
from payerlint.compile.loader import Loader
from payerlint.home import Home, resolve_home
from payerlint.payers.registry import Registry
from payerlint.quarter import Quarter
from payerlint.api import Router
from payerlint.payers.scaffold import scaffold_payer
from payerlint.versions.new_quarter import new_quarter

ROOT = Path(__file__).resolve().parents[2]

TEAM_RULEBOOK = '''rulebook acme-ma "Acme Medicare Advantage"
  payer "Acme Medicare Advantage"
  quarter 2026Q3
  extends medicare@2026Q3
  source "Acme MA provider manual, 2026, sec. 3"

rule authorization.acme "No prior authorization on file"
  category authorization  severity deny
  when episode.prior_authorization is missing
  say "Acme MA needs a prior authorization for therapy"
  cite "Acme MA provider manual sec. 3.1"
'''

TEAM_PAYER = '''id = "acme-ma"
name = "Acme Medicare Advantage"
type = "medicare_advantage"
states = ["OR"]
rulebook_family = "acme-ma"
unit_method = "cms_total_time"
aliases = ["ACME-MA-01"]
sources = ["Acme MA provider manual, 2026, sec. 3"]
facts_as_of = "2026-07-01"
'''


@pytest.fixture
def team(tmp_path) -> Path:
    """A team tree holding one payer and one rulebook, and nothing copied from the bundle."""
    tree = tmp_path / "team"
    (tree / "rulebooks" / "acme-ma").mkdir(parents=True)
    (tree / "rulebooks" / "acme-ma" / "2026Q3.rules").write_text(TEAM_RULEBOOK, encoding="utf-8")
    (tree / "payers").mkdir()
    (tree / "payers" / "acme-ma.toml").write_text(TEAM_PAYER, encoding="utf-8")
    return tree


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_a_team_rulebook_extends_a_bundled_one_without_copying_it(team, capsys):
    home = resolve_home(str(team))
    assert [label for _, label in home.layers()] == ["team", "bundled"]
    compiled = Loader(home).load("acme-ma@2026Q3")
    assert compiled.base.id == "medicare@2026Q3"
    assert home.where(compiled.path) == "team" and home.where(compiled.base.path) == "bundled"
    status, out, _ = run(capsys, "compile", "acme-ma@2026Q3", "medicare@2026Q3", "--home", str(team))
    assert status == 0
    assert "acme-ma@2026Q3: ok: acme-ma@2026Q3 (team), extends medicare@2026Q3 (bundled);" in out
    assert "medicare@2026Q3: ok: medicare@2026Q3 (bundled);" in out
    status, out, _ = run(capsys, "compile", "acme-ma@2026Q3", "--home", str(team), "--format", "json")
    (report,) = json.loads(out)
    assert (report["from"], report["extends_from"]) == ("team", "bundled")


def test_payers_lists_team_and_bundled_payers_and_says_which_is_which(team, capsys):
    status, out, _ = run(capsys, "payers", "--home", str(team))
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert status == 0 and rows["acme-ma"] == "team"
    bundled = {p.stem for p in (ROOT / "payers").glob("*.toml") if not p.name.startswith("_")} - {"acme-ma"}
    assert {payer for payer, origin in rows.items() if origin == "bundled"} == bundled
    status, out, _ = run(capsys, "payers", "show", "ACME-MA-01", "--home", str(team))
    assert "rulebooks:     acme-ma: 2026Q3 (team)" in out and "(team)" in out.splitlines()[-1]


def test_claims_route_to_team_payers_and_bundled_payers_alike(team, clean_claim):
    home = resolve_home(str(team))
    router = Router(Registry.load(home), Loader(home))
    claim = copy.deepcopy(clean_claim)
    claim["date_of_service"] = claim["lines"][0]["date"] = "2026-07-14"
    claim["payer_id"] = "ACME-MA-01"
    claim["episode"].pop("prior_authorization", None)
    result = router.check(claim)
    assert result.rulebooks == ("acme-ma@2026Q3",)
    assert "authorization.acme" in {f.rule for f in result.findings}
    claim["payer_id"] = "medicare"
    assert router.check(claim).rulebooks == ("medicare@2026Q3",)


def test_a_team_file_replaces_the_bundled_one_of_the_same_name_for_every_reader(team):
    text = (ROOT / "rulebooks" / "medicare" / "2026Q2.rules").read_text(encoding="utf-8")
    shutil.copytree(ROOT / "rulebooks" / "medicare" / "tables", team / "rulebooks" / "medicare" / "tables")
    (team / "rulebooks" / "medicare" / "2026Q2.rules").write_text(
        text.replace("param kx_threshold_pt_slp = $2,480.00", "param kx_threshold_pt_slp = $1,000.00"),
        encoding="utf-8")
    home = resolve_home(str(team))
    bundled_overlay = Loader(home).load("uhc-medicare-advantage@2026Q2")
    assert home.where(bundled_overlay.path) == "bundled"
    assert home.where(bundled_overlay.base.path) == "team"
    assert str(bundled_overlay.params["kx_threshold_pt_slp"].value) == "1000.00"
    # Without the team tree, the bundled Medicare rulebook is the base again.
    assert str(Loader(Home(ROOT, "bundled")).load("uhc-medicare-advantage@2026Q2")
               .params["kx_threshold_pt_slp"].value) == "2480.00"


def test_payers_new_in_a_team_tree_uses_the_bundled_types_and_bases(tmp_path):
    tree = tmp_path / "team"
    home = resolve_home(str(tree))
    written = scaffold_payer(home, "acme-pt", "commercial", "Acme PT", None, ["OR"], "ama_per_code")
    assert all(path.is_relative_to(tree) for path in written)
    compiled = Loader(home).load("acme-pt@" + written[1].stem)
    assert compiled.base.family == "therapy-common" and home.where(compiled.base.path) == "bundled"
    assert Registry.load(home).origin(Registry.load(home).resolve("acme-pt")) == "team"
    with pytest.raises(Exception, match="already exists"):
        scaffold_payer(home, "medicare", "commercial", "Not Medicare", None, [], "cms_total_time")


def test_quarter_new_copies_the_latest_quarter_into_the_team_tree(team):
    home = resolve_home(str(team))
    made = new_quarter(home, "acme-ma", "2026Q4")
    assert made.path == team / "rulebooks" / "acme-ma" / "2026Q4.rules"
    assert "extends medicare@2026Q3 -> medicare@2026Q4" in made.changes
    assert Loader(home).load("acme-ma@2026Q4").base.id == "medicare@2026Q4"


def test_quarter_new_of_a_bundled_family_in_a_team_tree_brings_its_tables(tmp_path):
    # A team starting medicare's next quarter: the copy names tables/*.csv beside it, which
    # the team tree does not have; they come with it, so the copy compiles.
    home = resolve_home(str(tmp_path / "team"))
    latest = max(p.stem for p in (ROOT / "rulebooks" / "medicare").glob("*.rules"))
    following = Quarter.parse(latest).next()
    made = new_quarter(home, "medicare", str(following))
    copied = [c for c in made.changes if c.startswith("copied table ")]
    assert copied and all((tmp_path / "team" / "rulebooks" / "medicare" / c.split()[2]).is_file() for c in copied)
    assert Loader(home).load(f"medicare@{following}").id == f"medicare@{following}"


def test_quarter_new_says_which_tables_the_two_quarters_now_share(tmp_path):
    # The second team quarter of medicare reads the same tables/*.csv as the first: an edit
    # for the new quarter would change what the old one decides, so the command says so.
    home = resolve_home(str(tmp_path / "team"))
    latest = Quarter.parse(max(p.stem for p in (ROOT / "rulebooks" / "medicare").glob("*.rules")))
    new_quarter(home, "medicare", str(latest.next()))
    made = new_quarter(home, "medicare", str(latest.next().next()))
    shared = [c for c in made.changes if c.startswith("shares ")]
    assert any(c.startswith(f"shares tables/mue_practitioner.csv with {latest.next()}: editing it changes {latest.next()} too")
               for c in shared), made.changes
    assert not any(c.startswith("copied table ") for c in made.changes)


def test_payerlint_home_names_the_team_tree_as_well(team):
    claim = ROOT / "examples" / "claims" / "medicare" / "01-clean-ankle-mobilization.json"
    env = {**os.environ, "PAYERLINT_HOME": str(team)}
    run = subprocess.run([sys.executable, "-m", "payerlint", "payers"], capture_output=True, text=True, env=env,
                         cwd=team)
    assert run.returncode == 0
    assert any(line.split()[:2] == ["acme-ma", "team"] for line in run.stdout.splitlines())
    assert claim.is_file()
