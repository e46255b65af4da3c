"""`mypy --strict` accepts the public surface: payerlint.api, the modules whose types it
hands out, and the HTTP service. (A consumer's view, the examples of docs/api.md, is
type-checked in test_api_docs.py.) The package ships py.typed, so a consumer's mypy reads
these annotations instead of seeing Any."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from serverproc import need

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ["payerlint.api", "payerlint.contract", "payerlint.check", "payerlint.diagnostics", "payerlint.home",
          "payerlint.payers.registry", "payerlint.payers.routing"]
SERVER = ["payerlint.server.app", "payerlint.server.views", "payerlint.server.middleware",
          "payerlint.server.openapi", "payerlint.server.main"]


def test_the_package_says_it_is_typed():
    assert (ROOT / "src" / "payerlint" / "py.typed").is_file()


def test_the_public_surface_is_clean_under_mypy_strict():
    need("mypy", "test")
    modules = list(PUBLIC)
    try:
        import fastapi  # noqa: F401
        modules += SERVER
    except ImportError:  # the server extra is optional; CI installs it (test_server fails without it there)
        pass
    args = [a for m in modules for a in ("-m", m)]
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
                           *args], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"in {len(modules)} source files" in done.stdout
