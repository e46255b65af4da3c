"""The Python API: load rulebooks once, check many claims.

>>> from payerlint.api import Checker, Router, load_rulebook
>>> checker = Checker(load_rulebook("acme@2026Q2"))          # doctest: +SKIP
>>> result = checker.check({"claim_id": "C-1", ...})              # doctest: +SKIP
>>> result.verdict, [f.rule for f in result.findings]             # doctest: +SKIP
>>> router = Router()                 # route each claim by payer_id and dates of service
>>> router.check({"claim_id": "C-2", "payer_id": "acme", ...})  # doctest: +SKIP

A `Checker` is safe to share between threads: compiled rulebooks and their programs are
immutable and each check builds its own evaluation state. `check` never raises: a claim
that cannot be checked gets the verdict `error` with findings that say why.

This module is the public face; the claim path itself lives in `payerlint.check`.
"""

from __future__ import annotations

from payerlint.check import (INPUT_RULES, Checker, OneRulebook, Part, Route, RulebookChoice, combined_fix,
                             error_result, input_findings, internal_error, strict_findings)
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.pipeline import CompiledRulebook, Loader
from payerlint.evaluate.result import Finding, NotEvaluated, Result
from payerlint.home import resolve_home
from payerlint.payers.registry import Registry
from payerlint.payers.routing import ByPayer

__all__ = [
    "Checker", "Router", "ByPayer", "OneRulebook", "RulebookChoice", "Route", "Part", "load_rulebook", "Loader",
    "Registry", "CompiledRulebook", "ClaimValidator", "Result", "Finding", "NotEvaluated",
    "combined_fix", "error_result", "input_findings", "internal_error", "strict_findings", "INPUT_RULES",
]


def load_rulebook(ref: str, home: str | None = None, loader: Loader | None = None) -> CompiledRulebook:
    """Compile a rulebook given as a path or as `family@quarter` (looked up in the home).
    Raises `DiagnosticError` listing every problem."""
    loader = loader or Loader(resolve_home(home))
    return loader.load(ref)


class Router(Checker):
    """A checker that routes each claim by its payer and dates of service."""

    def __init__(self, registry: Registry | None = None, loader: Loader | None = None, *, strict: bool = False,
                 explain: bool = False, validator: ClaimValidator | None = None):
        super().__init__(ByPayer(registry, loader), strict=strict, explain=explain, validator=validator)

    @property
    def registry(self) -> Registry:
        return self.choice.registry

    @property
    def loader(self) -> Loader:
        return self.choice.loader

    @property
    def rulebook_errors(self) -> dict:
        """Rulebooks that did not compile, by reference: claims routed to them got `error`."""
        return self.choice.rulebook_errors

    def reload(self) -> None:
        """Read the rule tree again (a service whose rules changed on disk)."""
        self.choice.reload(reread=True)
