"""Golden tests for syntax errors: each `bad/<case>.rules` must fail to parse, and the
rendered diagnostics (`DiagnosticError.render()`, caret lines included) must equal
`bad/<case>.err.txt` exactly.

Paths in the goldens are relative to the repository root (the test compiles
`tests/syntax/bad/<case>.rules` from there), so the goldens do not depend on where
the checkout lives.

To write or refresh the goldens after an intended wording change:

    PAYERLINT_UPDATE_GOLDEN=1 PYTHONPATH=src python3 -m pytest tests/syntax -q

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
from payerlint.syntax.parser import MAX_NESTING, parse

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).resolve().parent / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.rules"))
UPDATE = os.environ.get("PAYERLINT_UPDATE_GOLDEN") == "1"
PARSE_CODES = {"syntax_error", "invalid_date", "number_too_large", "too_deeply_nested"}


def render_case(case: str, monkeypatch) -> str:
    monkeypatch.chdir(ROOT)
    relative = (BAD / f"{case}.rules").relative_to(ROOT).as_posix()
    try:
        compile_path(relative, Loader(Home(ROOT, "tests")))
    except DiagnosticError as exc:
        return exc.render() + "\n"
    pytest.fail(f"{relative} compiled, but it is a bad case and must fail")


@pytest.mark.parametrize("case", CASES)
def test_golden(case, monkeypatch):
    rendered = render_case(case, monkeypatch)
    golden = BAD / f"{case}.err.txt"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"no golden for {case}: run with PAYERLINT_UPDATE_GOLDEN=1 and review it"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_only_syntax_errors(case, monkeypatch):
    """Every case here fails in the parse stage: each diagnostic is a syntax or literal
    error with a position in the case file."""
    monkeypatch.chdir(ROOT)
    relative = (BAD / f"{case}.rules").relative_to(ROOT).as_posix()
    with pytest.raises(DiagnosticError) as info:
        compile_path(relative, Loader(Home(ROOT, "tests")))
    for diagnostic in info.value.diagnostics:
        assert diagnostic.code in PARSE_CODES, diagnostic.render()
        assert diagnostic.span is not None and diagnostic.span.file == relative


def test_no_stray_goldens():
    orphans = sorted(p.name for p in BAD.glob("*.err.txt") if p.name[: -len(".err.txt")] not in CASES)
    assert not orphans, f"goldens without a case: {orphans}"


def test_several_errors_reported_together(monkeypatch):
    monkeypatch.chdir(ROOT)
    relative = (BAD / "several_errors.rules").relative_to(ROOT).as_posix()
    with pytest.raises(DiagnosticError) as info:
        compile_path(relative, Loader(Home(ROOT, "tests")))
    lines = [d.span.line for d in info.value.diagnostics]
    assert len(lines) >= 3 and len(set(lines)) == len(lines)


# ---------------------------------------------------------------------- limits


def _codes(text: str) -> list[str]:
    try:
        parse(text, "limits.rules")
    except DiagnosticError as exc:
        return [d.code for d in exc.diagnostics]
    return []


def test_deep_nesting_is_reported_not_a_crash():
    # Every later stage walks expressions recursively; past Python's stack this was a
    # RecursionError (lark's tree transformer gave up near 500 levels).
    for body in (" + ".join(["1"] * 3000), "not " * 3000 + "true", "[" * 3000 + "1" + "]" * 3000):
        assert _codes(f'rulebook x "X"\nlet deep = {body}\n') == ["too_deeply_nested"]


def test_long_but_reasonable_chains_still_parse():
    chain = " or ".join(f'code = "{97000 + i}"' for i in range(MAX_NESTING - 10))
    assert _codes(f'rulebook x "X"\nlet many = {chain}\n') == []


def test_huge_numbers_are_reported_not_a_crash():
    # int() refuses more than 4300 digits; this was a lark VisitError.
    for literal in ("9" * 5000, "9" * 5000 + " minutes", "9" * 5000 + " weeks"):
        assert _codes(f'rulebook x "X"\nparam big = {literal}\n') == ["number_too_large"]
