"""A rulebook in a tree is found by its folder and file name (`rulebooks/<family>/<quarter>.rules`)
and reported by its header: when they disagree, the compiler says so at the header, so a
copied file is never checked, tested or diffed under last quarter's name."""

from __future__ import annotations

import pytest

from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home
from conftest import ROOT

BODY = '''
rule coding.manual "Manual therapy billed"
  for each line
  category coding  severity info
  when code = "97140"
  say "{code}"
  cite "a synthetic bulletin"
'''


def compile_errors(tmp_path, place: str, header: str) -> list:
    path = tmp_path / place
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + BODY, encoding="utf-8")
    try:
        Loader(Home(ROOT, "tests"), disk_cache=False).load(str(path), ref_is_path=True)
    except DiagnosticError as exc:
        return exc.diagnostics
    return []


def test_a_header_that_agrees_with_its_place_compiles(tmp_path):
    assert compile_errors(tmp_path, "rulebooks/acme/2027Q1.rules", 'rulebook acme "Acme"\n  quarter 2027Q1\n') == []


@pytest.mark.parametrize("place, header, message, note", [
    ("rulebooks/acme/2027Q1.rules", 'rulebook acme "Acme"\n  quarter 2026Q4\n',
     "the header says quarter 2026Q4, but the file is rulebooks/acme/2027Q1.rules", "write `quarter 2027Q1`"),
    ("rulebooks/acme/2027Q1.rules", 'rulebook acme-health "Acme"\n  quarter 2027Q1\n',
     "the header names rulebook acme-health, but the file is rulebooks/acme/2027Q1.rules", "write `rulebook acme`"),
    ("rulebooks/acme/2027Q1.rules", 'rulebook acme "Acme"\n',
     "rulebooks/acme/2027Q1.rules has no `quarter` line", "add `quarter 2027Q1`"),
    ("rulebooks/acme/2027-Q1.rules", 'rulebook acme "Acme"\n  quarter 2027Q1\n',
     "rulebooks/acme/2027-Q1.rules is not named by a quarter", "rename it 2027Q1.rules"),
])
def test_a_header_that_disagrees_with_its_place_is_an_error_at_the_header(tmp_path, place, header, message, note):
    errors = compile_errors(tmp_path, place, header)
    assert [e.code for e in errors] == ["rulebook_name_mismatch"]
    assert message in errors[0].message
    assert any(note in n for n in errors[0].notes)
    assert errors[0].span.line in (1, 2)


def test_a_rulebook_outside_a_tree_is_named_by_its_header(tmp_path):
    # Examples and fixtures are compiled by path; their file names are free.
    assert compile_errors(tmp_path, "examples/acme-draft.rules", 'rulebook acme "Acme"\n  quarter 2026Q4\n') == []
