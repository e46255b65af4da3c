"""Crashes found by fuzzing the compiler, outside the syntax stage.

Each test writes a tiny rulebook that used to raise something other than
`DiagnosticError`; each must now be a positioned diagnostic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from payerlint.compile.pipeline import compile_path
from payerlint.compile.loader import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home


def compile_text(folder: Path, body: str, files: dict[str, bytes] | None = None):
    (folder / "tables").mkdir(exist_ok=True)
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    path = folder / "case.rules"
    path.write_text('rulebook case "Case"\n  quarter 2026Q2\n' + body + "\n", encoding="utf-8")
    return compile_path(str(path), Loader(Home(folder, "tests")))


def assert_reported(folder: Path, body: str, files: dict[str, bytes] | None = None) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as info:
        compile_text(folder, body, files)
    for diagnostic in info.value.diagnostics:
        assert diagnostic.span is not None, diagnostic.render()
    return info.value



@pytest.mark.parametrize("where", ["", "tables", "."])
def test_table_path_is_a_folder(tmp_path, where):
    assert_reported(tmp_path, f'table t from "{where}" key code: code')



def test_table_file_not_utf8(tmp_path):
    assert_reported(tmp_path, 'table t from "tables/latin1.csv" key code: code',
                    {"tables/latin1.csv": "code\n97110\nPT \xe9valuation\n".encode("latin-1")})



def test_table_cell_longer_than_csv_limit(tmp_path):
    assert_reported(tmp_path, 'table t from "tables/long.csv" key code: code',
                    {"tables/long.csv": b'code\n"' + b"x" * 200_000 + b'"\n'})


def test_table_with_a_nul_byte_is_read(tmp_path):
    compile_text(tmp_path, 'table t from "tables/nul.csv" key code: code', {"tables/nul.csv": b"code\nA\x00B\n"})
