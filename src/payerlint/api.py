"""The Python API: load rulebooks once, check many claims. Documented in docs/api.md,
whose examples the test suite runs and type-checks with `mypy --strict`.

>>> from payerlint.api import Checker, Router, load_rulebook
>>> checker = Checker(load_rulebook("acme@2026Q2"))     # compile once  # doctest: +SKIP
>>> router = Router()                 # route each claim by payer_id and dates of service
>>> router.check({"claim_id": "C-1"}).verdict                     # never raises
'error'

A `Checker` is safe to share between threads: compiled rulebooks and their programs are
immutable and each check builds its own evaluation state. `check` never raises: a claim
that cannot be checked gets the verdict `error` with findings that say why.

This module is the public face; `__all__` is the supported surface. The claim path itself
lives in `payerlint.check`; the typed contract of a result in `payerlint.contract`.
"""

from __future__ import annotations

# Kept importable for payerlint's own modules (the rulebook test runner reads INPUT_RULES);
# not part of the documented surface.
from payerlint.check import (INPUT_RULES, Checker, OneRulebook, Part, Route, RulebookChoice,  # noqa: F401
                             combined_fix, error_result, input_findings, internal_error, strict_findings)
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.loader import Loader
from payerlint.compile.rulebook import CompiledRulebook
from payerlint.contract import (SEVERITIES, VERDICTS, Finding, JSONObject, NotEvaluated, PatchOperation, Result,
                                Severity, Verdict, load_schema)
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home, resolve_home
from payerlint.payers.registry import Payer, Registry
from payerlint.payers.routing import ByPayer

__all__ = [
    # checking
    "Checker", "Router", "load_rulebook", "Loader", "Registry", "Payer", "Home", "resolve_home",
    "CompiledRulebook", "ClaimValidator", "RulebookChoice",
    # results (typed: Literal verdicts and severities)
    "Result", "Finding", "NotEvaluated", "Verdict", "Severity", "VERDICTS", "SEVERITIES", "PatchOperation",
    "JSONObject", "load_schema",
    # problems with rulebooks and files
    "Diagnostic", "DiagnosticError",
]


def load_rulebook(ref: str, home: str | Home | None = None, loader: Loader | None = None) -> CompiledRulebook:
    """Compile a rulebook given as a path or as `family@quarter` (looked up in the home).
    Raises `DiagnosticError` listing every problem."""
    if loader is None:
        loader = Loader(home if isinstance(home, Home) else resolve_home(home))
    return loader.load(ref)


class Router(Checker):
    """A checker that routes each claim by its payer and dates of service.

    The payer files are read and each family's quarters listed once, when the router is
    built; a rulebook is compiled and prepared the first time a claim needs it, then kept.
    Checking a claim does no file-system work. `reload()` reads a changed tree again."""

    def __init__(self, registry: Registry | None = None, loader: Loader | None = None, *, strict: bool = False,
                 explain: bool = False, validator: ClaimValidator | None = None,
                 routing: ByPayer | None = None) -> None:
        self.routing = routing or ByPayer(registry, loader)
        super().__init__(self.routing, strict=strict, explain=explain, validator=validator)

    @property
    def registry(self) -> Registry:
        return self.routing.registry

    @property
    def loader(self) -> Loader:
        return self.routing.loader

    @property
    def rulebook_errors(self) -> dict[str, DiagnosticError]:
        """Rulebooks that did not compile, by reference: claims routed to them got `error`."""
        return self.routing.rulebook_errors

    def with_options(self, *, strict: bool = False, explain: bool = False) -> Router:
        """A router with other options that shares this one's routing, so the rulebooks
        it has prepared are not prepared again (and `reload()` on either reaches both)."""
        return Router(strict=strict, explain=explain, validator=self.validator, routing=self.routing)

    def reload(self) -> None:
        """Read the payer files and the rule tree again and forget every prepared
        rulebook (a service whose rules changed on disk); claims checked after it see
        the new rules. A check running meanwhile in another thread sees the old tree or the
        new one, whole: routing reads one snapshot of the tree per claim."""
        self.routing.reload(reread=True)
