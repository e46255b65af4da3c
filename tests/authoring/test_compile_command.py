"""`payerlint compile` takes folders (every *.rules below) and `--format json`, and says
where each rulebook comes from."""

from __future__ import annotations

import json
from pathlib import Path

from payerlint.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_compiles_every_rulebook_below_it_and_json_reports_each(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    family = sorted(p for p in (ROOT / "rulebooks").iterdir() if p.is_dir())[0]
    quarters = sorted(p.stem for p in family.glob("*.rules"))
    broken = tmp_path / "broken.rules"
    broken.write_text('rulebook broken "Broken"\nlet x = y\n', encoding="utf-8")
    status = main(["compile", str(family.relative_to(ROOT)), str(broken), "--format", "json"])
    reports = json.loads(capsys.readouterr().out)
    assert status == 2  # one rulebook does not compile
    assert [r["id"] for r in reports if r["ok"]] == [f"{family.name}@{q}" for q in quarters]
    assert all(r["from"] == "bundled" and set(r["counts"]) >= {"rules", "params", "tables"} for r in reports if r["ok"])
    (failed,) = [r for r in reports if not r["ok"]]
    assert failed["path"] == str(broken)
    assert failed["errors"][0]["code"] == "unresolved_name" and failed["errors"][0]["line"] == 2


def test_text_output_names_the_tree_of_the_rulebook_and_of_its_base(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["compile", "uhc-medicare-advantage@2026Q2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("uhc-medicare-advantage@2026Q2: ok: uhc-medicare-advantage@2026Q2 (bundled), "
                          "extends medicare@2026Q2 (bundled);")


def test_an_empty_folder_is_a_usage_error(capsys, tmp_path):
    assert main(["compile", str(tmp_path)]) == 2
    assert "no *.rules file in this folder" in capsys.readouterr().err
