"""Golden tests for compile errors: each `bad/<case>.rules` parses but must fail to
compile, and the rendered diagnostics (`DiagnosticError.render()`, caret lines and
related places included) must equal `bad/<case>.err.txt` exactly.

Files a case needs besides itself (a base rulebook for layering cases, CSV table files)
live in `bad/_support/`; cases name them by relative path, e.g.
`extends "_support/base.rules"` or `from "_support/tables/bad_cell.csv"`; the rulebook
tree `_support/home/` holds `demo@2026Q2` for cases that extend by reference.

Paths in the goldens are relative to the repository root (the test compiles
`tests/compile/bad/<case>.rules` from there), so the goldens do not depend on where
the checkout lives.

To write or refresh the goldens after an intended wording change:

    PAYERLINT_UPDATE_GOLDEN=1 PYTHONPATH=src python3 -m pytest tests/compile -q

then read every changed `.err.txt` in the diff as a compliance lead would: each message
must say what was wrong and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from payerlint.compile.pipeline import compile_path
from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).resolve().parent / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.rules"))
UPDATE = os.environ.get("PAYERLINT_UPDATE_GOLDEN") == "1"
# A small rulebook tree of our own, named relative to the repository root: messages that
# list what a tree holds, or where a rulebook was looked for, stay the same whatever
# other rulebooks the project gains.
HOME = Home(Path("tests/compile/bad/_support/home"), "tests")


def compile_case(case: str, monkeypatch) -> DiagnosticError:
    monkeypatch.chdir(ROOT)
    relative = (BAD / f"{case}.rules").relative_to(ROOT).as_posix()
    try:
        compile_path(relative, Loader(HOME))
    except DiagnosticError as exc:
        return exc
    pytest.fail(f"{relative} compiled, but it is a bad case and must fail")


@pytest.mark.parametrize("case", CASES)
def test_golden(case, monkeypatch):
    rendered = compile_case(case, monkeypatch).render() + "\n"
    golden = BAD / f"{case}.err.txt"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"no golden for {case}: run with PAYERLINT_UPDATE_GOLDEN=1 and review it"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_compile_errors_are_not_syntax_errors(case, monkeypatch):
    """The cases here parse; each diagnostic comes from a later stage and has a place."""
    for diagnostic in compile_case(case, monkeypatch).diagnostics:
        assert diagnostic.code != "syntax_error", diagnostic.render()
        assert diagnostic.span is not None, diagnostic.render()


def test_no_stray_goldens():
    orphans = sorted(p.name for p in BAD.glob("*.err.txt") if p.name[: -len(".err.txt")] not in CASES)
    assert not orphans, f"goldens without a case: {orphans}"


def test_a_stage_reports_all_its_errors_at_once(monkeypatch):
    diagnostics = compile_case("three_name_errors", monkeypatch).diagnostics
    assert [d.code for d in diagnostics] == ["unresolved_name"] * 3
    assert len({(d.span.line, d.span.column) for d in diagnostics}) == 3


def test_cycle_names_every_step(monkeypatch):
    (diagnostic,) = compile_case("definition_cycle", monkeypatch).diagnostics
    assert diagnostic.code == "dependency_cycle"
    assert "a -> b -> c -> a" in diagnostic.message
    assert len(diagnostic.related) == 2


def test_redefinition_shows_both_places(monkeypatch):
    (diagnostic,) = compile_case("redefine_inherited_without_override", monkeypatch).diagnostics
    assert diagnostic.span.file.endswith("redefine_inherited_without_override.rules")
    assert [s.file.rsplit("/", 1)[-1] for s in diagnostic.related] == ["base.rules"]
