"""docs/api.md is the API's documentation: its Python examples run here, in order, as one
program, and `mypy --strict` accepts them as a service engineer's code would be checked
(the public surface is typed: Literal verdicts, py.typed)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from serverproc import need

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def program() -> str:
    blocks = _BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "docs/api.md lost its examples"
    return "\n\n".join(blocks)


def test_every_example_in_the_api_guide_runs():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program(), str(DOC), "exec"), {"__name__": "api_docs"})
    printed = out.getvalue()
    assert "units.total deny 2 timed units billed" in printed
    assert "rulebook_not_found" in printed


def test_the_api_guide_type_checks_under_mypy_strict(tmp_path):
    need("mypy", "test")
    source = tmp_path / "api_docs_example.py"
    source.write_text(program(), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file",
                           str(ROOT / "pyproject.toml"), str(source)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_misspelt_verdict_is_a_type_error(tmp_path):
    """What Literal verdicts buy a caller: comparing with a word payerlint never returns
    is caught before the code runs."""
    need("mypy", "test")
    source = tmp_path / "typo.py"
    source.write_text("from payerlint.api import Router\n\n"
                      "def denied(router: Router) -> bool:\n"
                      "    verdict = router.check({}).verdict\n"
                      "    reveal_type(verdict)\n"
                      "    return verdict == 'denied'\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--strict-equality", "--no-incremental",
                           "--config-file", str(ROOT / "pyproject.toml"), str(source)],
                          capture_output=True, text=True, cwd=ROOT)
    assert "Literal['clean', 'warn', 'deny', 'error']" in done.stdout, done.stdout
    assert "Non-overlapping equality check" in done.stdout, done.stdout
