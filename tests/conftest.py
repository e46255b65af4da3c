"""Shared fixtures: the bundled rulebooks compiled once per test session, a clean claim
to start each case from, a `check` helper, and the contract guard: every result and
diagnostic the suite turns into JSON is validated against the shipped JSON Schemas.

Every claim here is synthetic.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema_rs
import pytest

from payerlint.api import Checker
from payerlint.contract import load_schema
from payerlint.diagnostics import Diagnostic
from payerlint.evaluate.result import Result
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


class ContractGuard:
    """Wraps `Result.to_json` and `Diagnostic.to_json` for the whole session: each JSON
    form produced in this process is validated against result.schema.json or
    diagnostic.schema.json (jsonschema-rs, a few microseconds each), so any test that
    serialises a result also checks the published contract. Servers and CLIs the tests
    start as processes validate their own output in tests/server/."""

    def __init__(self):
        self.validators = {name: jsonschema_rs.validator_for(load_schema(name)) for name in ("result", "diagnostic")}
        self.counts = {"result": 0, "diagnostic": 0}

    def wrap(self, name: str, original):
        validator = self.validators[name]
        counts = self.counts

        def to_json(obj):
            data = original(obj)
            errors = [f"{'/'.join(map(str, e.instance_path)) or '(top)'}: {e.message}"
                      for e in validator.iter_errors(data)]
            if errors:
                raise AssertionError(f"{name}.to_json() breaks {name}.schema.json: " + "; ".join(errors[:5]))
            counts[name] += 1
            return data

        return to_json


@pytest.fixture(scope="session", autouse=True)
def contract_guard():
    guard = ContractGuard()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Result, "to_json", guard.wrap("result", Result.to_json))
        patch.setattr(Diagnostic, "to_json", guard.wrap("diagnostic", Diagnostic.to_json))
        yield guard
