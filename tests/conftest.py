"""Shared fixtures: the bundled rulebooks compiled once per test session, a clean claim
to start each case from, and a `check` helper.

Every claim here is synthetic.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from payerlint.api import Checker
from payerlint.compile.pipeline import Loader
from payerlint.home import Home

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"

_loader = Loader(Home(ROOT, "tests"))
_clean = json.loads((DATA / "clean_claim.json").read_text(encoding="utf-8"))


def load(ref: str):
    """A bundled rulebook (`medicare@2026Q2`) or a path, compiled once per session."""
    return _loader.load(ref)


@pytest.fixture
def clean_claim() -> dict:
    """A claim that every bundled Medicare rule passes (a fresh copy each time)."""
    return copy.deepcopy(_clean)


@pytest.fixture(scope="session")
def medicare():
    return load("medicare@2026Q2")


@pytest.fixture
def check():
    """check(claim, rulebook="medicare@2026Q2", strict=False, explain=False) -> Result"""

    def run(claim, rulebook="medicare@2026Q2", strict=False, explain=False):
        compiled = load(rulebook) if isinstance(rulebook, str) else rulebook
        return Checker(compiled, strict=strict, explain=explain).check(claim)

    return run


def fired(result) -> set[str]:
    return {f.rule for f in result.findings}
