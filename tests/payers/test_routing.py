"""Routing: payer ids and aliases, the rulebook in force for each date of service, claims
spanning two quarters, and what a user sees when something does not exist."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, fired, load
from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home
from payerlint.payers.registry import Registry
from payerlint.api import Router
from payerlint.payers.scaffold import scaffold_payer

HOME = Home(ROOT, "tests")
REGISTRY = Registry.load(HOME)
ROUTER = Router(REGISTRY, Loader(HOME))
# The payers of the tree, found the way a reader would: one file each in payers/. Never
# a list written here, so a payer added with `payers new` needs no change to the tests.
SHIPPED = {p.stem for p in (ROOT / "payers").glob("*.toml") if not p.name.startswith("_")}


@pytest.mark.tree
def test_the_registry_has_every_payer_file_each_with_a_rulebook():
    assert SHIPPED and set(REGISTRY.payers) == SHIPPED
    for payer in REGISTRY.payers.values():
        assert REGISTRY.quarters(payer), payer.id
        assert (ROOT / "rulebooks" / payer.rulebook_family).is_dir(), payer.id


@pytest.mark.tree
def test_each_payer_files_unit_method_matches_its_rulebooks():
    for payer in REGISTRY.payers.values():
        for quarter in REGISTRY.quarters(payer):
            compiled = load(f"{payer.rulebook_family}@{quarter}")  # compiled once per session
            assert compiled.params["unit_method"].value == payer.unit_method, (payer.id, str(quarter))


def test_an_alias_routes_like_the_id(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["payer_id"] = "UHC-MA"  # aliases match without regard to case
    result = ROUTER.check(claim)
    assert result.rulebooks == ("uhc-medicare-advantage@2026Q2",)


def test_an_unknown_payer_is_an_error_naming_the_closest_ids(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["payer_id"] = "medicar"
    result = ROUTER.check(claim)
    assert result.verdict == "error" and result.rulebooks == ()
    (finding,) = result.findings
    assert finding.rule == "routing.unknown_payer" and finding.category == "input"
    assert "'medicar'" in finding.message and "medicare" in finding.message


def test_a_date_without_a_rulebook_is_an_error_naming_payer_date_and_quarters(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["payer_id"] = "medicaid-ky"
    claim["date_of_service"] = "2027-02-03"
    result = ROUTER.check(claim)
    assert result.verdict == "error"
    message = result.findings[0].message
    assert "medicaid-ky" in message and "2027-02-03" in message and "2027Q1" in message
    assert "2026Q2" in message and "2026Q3" in message


def test_a_batch_goes_on_after_a_routing_error(clean_claim):
    bad = copy.deepcopy(clean_claim)
    bad["payer_id"] = "nobody"
    results = list(ROUTER.check_records(_records([bad, clean_claim])))
    assert [r.verdict for r in results] == ["error", "clean"]


def _records(claims):
    from payerlint.claims.reader import Record

    return [Record(f"batch[{i}]", claim, None) for i, claim in enumerate(claims)]


def test_a_claim_spanning_two_quarters_is_checked_line_by_line(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["date_of_service"] = "2026-06-30"
    second = copy.deepcopy(claim["lines"][0])
    second["date"] = "2026-07-01"
    second["units"] = 2          # 22 minutes support 1 unit: a finding in 2026Q3
    claim["lines"][0]["units"] = 3  # and one in 2026Q2
    claim["lines"].append(second)
    claim["documentation"]["total_timed_minutes"] = 44
    claim["documentation"]["total_treatment_minutes"] = 54
    result = ROUTER.check(claim)
    assert result.rulebooks == ("medicare@2026Q2", "medicare@2026Q3")
    by_rulebook = {(f.rule, f.rulebook) for f in result.findings}
    assert ("units.total", "medicare@2026Q2") in by_rulebook
    assert ("units.total", "medicare@2026Q3") in by_rulebook
    messages = {f.rulebook: f.message for f in result.findings if f.rule == "units.total"}
    assert "on 2026-06-30" in messages["medicare@2026Q2"] and "on 2026-07-01" in messages["medicare@2026Q3"]


def test_findings_of_a_multi_quarter_claim_name_the_overlay_rulebook(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["payer_id"] = "uhc-medicare-advantage"
    del claim["episode"]["prior_authorization"]
    claim["lines"][0]["units"] = 2
    second = copy.deepcopy(claim["lines"][0])
    second["date"] = "2026-07-02"
    claim["lines"].append(second)
    claim["documentation"]["total_timed_minutes"] = 44
    claim["documentation"]["total_treatment_minutes"] = 54
    result = ROUTER.check(claim)
    assert result.rulebooks == ("uhc-medicare-advantage@2026Q2", "uhc-medicare-advantage@2026Q3")
    # Per-date rules run in each quarter's rulebook on its own lines...
    assert {f.rulebook for f in result.findings if f.rule == "units.total"} == set(result.rulebooks)
    # ...and rules for the whole claim once, under the rulebook of its date of service.
    claim_level = [f for f in result.findings if f.rule == "authorization.missing"]
    assert [f.rulebook for f in claim_level] == ["uhc-medicare-advantage@2026Q2"]


def test_rules_for_the_whole_claim_are_not_repeated_per_quarter(clean_claim):
    claim = copy.deepcopy(clean_claim)
    claim["documentation"]["patient_response"] = "Tolerated well"
    del claim["episode"]["visit_number"]
    second = copy.deepcopy(claim["lines"][0])
    second["date"] = "2026-07-01"
    claim["lines"].append(second)
    claim["documentation"]["total_timed_minutes"] = 44
    claim["documentation"]["total_treatment_minutes"] = 54
    result = ROUTER.check(claim)
    assert [f.rule for f in result.findings] == ["documentation.response_not_measurable"]
    assert [(n.rule, n.rulebook) for n in result.not_evaluated if n.rule == "documentation.progress_report_overdue"] \
        == [("documentation.progress_report_overdue", "medicare@2026Q2")]


# ------------------------------------------------------------------ the registry's own errors


def _tree(tmp_path: Path) -> Home:
    (tmp_path / "payers").mkdir()
    (tmp_path / "rulebooks").symlink_to(ROOT / "rulebooks")
    return Home(tmp_path, "--home")


def test_a_payer_file_with_errors_names_file_line_and_field(tmp_path):
    home = _tree(tmp_path)
    (home.payers / "acme.toml").write_text(
        'id = "acme"\nname = "Acme"\ntype = "comercial"\nrulebook_family = "acme"\nunit_method = "cms_total_time"\n'
        'aliases = []\nsources = ["x"]\nfacts_as_of = "2026-11-27"\nstate = ["OR"]\n')
    with pytest.raises(DiagnosticError) as error:
        Registry.load(home)
    text = error.value.render()
    assert "acme.toml:3:1" in text and "type" in text and "'comercial' is not one of" in text
    assert "unknown field state" in text and "did you mean 'states'?" in text


def test_a_payer_file_that_is_not_toml_names_line_and_column(tmp_path):
    home = _tree(tmp_path)
    (home.payers / "acme.toml").write_text('id = "acme"\nname = Acme\n')
    with pytest.raises(DiagnosticError) as error:
        Registry.load(home)
    assert "acme.toml:2:" in error.value.render()


def test_payers_new_scaffolds_a_payer_and_a_rulebook_that_compiles(tmp_path):
    home = _tree(tmp_path)
    shutil.copy(ROOT / "payers" / "medicare.toml", home.payers)
    shutil.copy(ROOT / "payers" / "_types.toml", home.payers)
    (tmp_path / "rulebooks").unlink()
    shutil.copytree(ROOT / "rulebooks", tmp_path / "rulebooks")
    written = scaffold_payer(home, "acme-commercial", "commercial", "Acme Health", None, ["OR"], "ama_per_code")
    # The first rulebook is for the base family's latest quarter, whatever it is today.
    latest = max(p.stem for p in (ROOT / "rulebooks" / "therapy-common").glob("*.rules"))
    assert [p.name for p in written] == ["acme-commercial.toml", f"{latest}.rules"]
    registry = Registry.load(home)
    payer = registry.resolve("acme-commercial")
    assert payer.states == ("OR",) and payer.unit_method == "ama_per_code"
    compiled = Loader(home).load(f"acme-commercial@{latest}")
    assert compiled.base.id == f"therapy-common@{latest}"
    assert compiled.params["unit_method"].value == "ama_per_code"
    with pytest.raises(DiagnosticError):  # never overwrites
        scaffold_payer(home, "acme-commercial", "commercial", "Acme Health", None, [], "ama_per_code")
    # An id that is another payer's alias would make the whole registry refuse to load.
    alias = Registry.load(home).payers["medicare"].aliases[0]
    with pytest.raises(DiagnosticError, match=f"'{alias}' is an alias of payer medicare"):
        scaffold_payer(home, alias, "medicare_advantage", "Y", None, [], "cms_total_time")
    assert Registry.load(home).resolve(alias).id == "medicare"


@pytest.mark.tree
def test_cli_payers_lists_and_shows(tmp_path):
    run = subprocess.run([sys.executable, "-m", "payerlint", "payers"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0
    assert all(payer in run.stdout for payer in SHIPPED)
    show = subprocess.run([sys.executable, "-m", "payerlint", "payers", "show", "anthem"], capture_output=True,
                          text=True, cwd=ROOT)
    assert show.returncode == 0 and "anthem-commercial" in show.stdout and "2026Q2, 2026Q3" in show.stdout
    assert "ASSUMPTION" in show.stdout  # the unit method assumption is visible
    missing = subprocess.run([sys.executable, "-m", "payerlint", "payers", "show", "anthm"], capture_output=True,
                             text=True, cwd=ROOT)
    assert missing.returncode == 2 and "anthem-commercial" in missing.stderr


# ------------------------------------------------------------------ payer knowledge stays out of src/


@pytest.mark.tree
def test_no_payer_id_or_alias_appears_in_the_source_code():
    words = set()
    for payer in REGISTRY.payers.values():
        words.add(payer.id)
        words.update(a.lower() for a in payer.aliases)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![\w-])",
                         re.IGNORECASE)
    offenders = []
    for path in (ROOT / "src").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "payer knowledge belongs in payers/ and rulebooks/:\n" + "\n".join(offenders)


def test_each_compiled_rule_records_where_it_came_from():
    compiled = Loader(HOME).load("uhc-medicare-advantage@2026Q2")
    own = compiled.rule("authorization.missing").origin
    inherited = compiled.rule("units.total").origin
    assert own.rulebook == "uhc-medicare-advantage@2026Q2"
    assert own.span.file.endswith("uhc-medicare-advantage/2026Q2.rules") and own.span.line > 1
    assert inherited.rulebook == "medicare@2026Q2" and inherited.span.file.endswith("medicare/2026Q2.rules")
    example = Loader(HOME).load("example-commercial@2026Q2")
    overridden = example.params["unit_method"].origin
    assert overridden.rulebook == "example-commercial@2026Q2"
    assert overridden.overrides.rulebook == "medicare@2026Q2"
    gone = {d.rule_id: d for d in example.disabled}["threshold.kx_missing"]
    assert gone.origin.rulebook == "therapy-common@2026Q2" and "KX threshold" in gone.reason
