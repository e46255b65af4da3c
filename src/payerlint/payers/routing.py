"""Routing: which rulebooks check a claim. The claim's `payer_id` (an id or an alias)
picks the payer, and each line's date of service picks the quarter's rulebook.

A claim whose lines fall in two quarters is checked line by line against each quarter's
rulebook; the rules for the whole claim run once, under the rulebook of the claim's date
of service (or of its first quarter). An unknown payer, or a date with no rulebook, is a
routing error (the verdict `error`, with a message that says what does exist).

Routing is a strategy of the claim path (`payerlint.check.RulebookChoice`). It looks at
the rulebook tree once: the quarters each family has are listed when the router is built,
and a rulebook is compiled and prepared the first time a claim needs it, then kept, so
routing a claim is dictionary look-ups. `reload()` forgets all of it (a service whose
rule tree changed calls it, or builds a new router); a claim is routed through one
reading of the tree from start to end, so a reload never gives it half of each.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from payerlint.check import OneRulebook, Part, Route
from payerlint.claims.model import Claim
from payerlint.compile.loader import Loader
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.evaluate.result import Finding
from payerlint.payers.registry import Payer, Registry
from payerlint.quarter import Quarter

ROUTING_CITATION = "payerlint payer registry (payers/*.toml) and rulebook tree"


def _routing_finding(rule: str, message: str) -> Finding:
    return Finding(rule, "", "input", "error", None, message, ROUTING_CITATION)


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


class _Tree:
    """What a router knows of one reading of the rule tree: the payers, the quarters each
    family has, and what it prepared from them. A reload builds a new one and swaps it in
    with one assignment, and a claim is routed through the one it found when it began, so
    a check running during a reload sees the old tree or the new one, never a mix (and
    nothing from the old one is kept in the new)."""

    __slots__ = ("registry", "loader", "families", "programs", "single", "by_id", "by_day", "rulebook_errors")

    def __init__(self, registry: Registry, loader: Loader):
        self.registry = registry
        self.loader = loader
        self.families = {payer.rulebook_family: {(q.year, q.number) for q in registry.quarters(payer)}
                         for payer in registry.payers.values()}
        self.programs: dict[tuple[str, tuple[int, int]], Any] = {}
        self.single: dict[tuple[str, tuple[int, int]], Route] = {}
        self.by_id: dict[str, Payer] = {}
        """Payers by the payer_id exactly as claims write it (resolve() folds case)."""
        self.by_day: dict[tuple[str, date], Route] = {}
        """The route of a claim whose lines all have its date of service, by payer_id as
        written and that date: routing most claims is this one look-up."""
        self.rulebook_errors: dict[str, DiagnosticError] = {}
        """Rulebooks that did not compile, by reference: claims routed to them get `error`."""


class ByPayer:
    """Routes each claim by its payer and dates of service."""

    def __init__(self, registry: Registry | None = None, loader: Loader | None = None):
        registry = registry or Registry.load()
        self._lock = threading.Lock()
        self._tree = _Tree(registry, loader or Loader(registry.home))

    @property
    def registry(self) -> Registry:
        return self._tree.registry

    @property
    def loader(self) -> Loader:
        return self._tree.loader

    @property
    def rulebook_errors(self) -> dict[str, DiagnosticError]:
        """Rulebooks that did not compile, by reference: claims routed to them get `error`."""
        return self._tree.rulebook_errors

    def reload(self, reread: bool = False) -> None:
        """Forget every prepared rulebook and what the tree holds. With `reread`, read
        the payer files again and compile afresh (the tree changed on disk). The new tree
        is read in full before it replaces the old one (`_Tree`)."""
        with self._lock:
            old = self._tree
            registry = Registry.load(old.registry.home) if reread else old.registry
            self._tree = _Tree(registry, Loader(registry.home) if reread else old.loader)

    ROUTES_KEPT = 100_000
    """How many (payer_id, date) routes a tree keeps (a year of dates for every payer id
    and alias is a few thousand); past that, claims are routed the longer way."""

    def route(self, claim: Claim) -> Route:
        tree = self._tree  # one reading of the tree for the whole claim
        data = claim.root
        payer_id = data["payer_id"]
        if claim.one_date is not None:
            known = tree.by_day.get((payer_id, claim.one_date))
            if known is not None:
                return known
        payer = tree.by_id.get(payer_id)
        if payer is None:
            payer = tree.registry.resolve(payer_id)
            if payer is None:
                closest = ", ".join(tree.registry.closest(payer_id))
                return Route(errors=(_routing_finding(
                    "routing.unknown_payer",
                    f"payer_id '{payer_id}' is not a payer id or alias in the registry; closest ids: {closest}"),))
            if len(tree.by_id) < 10_000:
                tree.by_id[payer_id] = payer
        lines = claim.lines
        day = claim.one_date or lines[0]["date"]
        year, month = day.year, day.month
        first_month = month - (month - 1) % 3
        for line in () if claim.one_date is not None else lines:
            other = line["date"]
            if other.year != year or not first_month <= other.month < first_month + 3:
                break
        else:
            # Almost every claim: one quarter, one rulebook, the same route every time.
            quarter = (year, (month - 1) // 3 + 1)
            route = tree.single.get((payer.rulebook_family, quarter))
            if route is None:
                program = self._program(tree, payer, quarter)
                if program is None:
                    return Route(errors=(self._no_rulebook(tree, payer, quarter, claim, list(range(len(lines)))),))
                route = tree.single[(payer.rulebook_family, quarter)] = Route((Part(program),))
            if claim.one_date is not None and len(tree.by_day) < self.ROUTES_KEPT:
                tree.by_day[(payer_id, claim.one_date)] = route
            return route
        by_quarter: dict[tuple[int, int], list[int]] = {}
        for index, line in enumerate(lines):
            by_quarter.setdefault(_quarter(line["date"]), []).append(index)
        claim_quarter = _quarter(data["date_of_service"])
        if claim_quarter not in by_quarter:
            claim_quarter = min(by_quarter)
        parts: list[Part] = []
        errors: list[Finding] = []
        for quarter, indexes in sorted(by_quarter.items()):
            program = self._program(tree, payer, quarter)
            if program is None:
                errors.append(self._no_rulebook(tree, payer, quarter, claim, indexes))
                continue
            parts.append(Part(program, tuple(indexes), quarter == claim_quarter))
        return Route(tuple(parts), tuple(errors))

    def _program(self, tree: _Tree, payer: Payer, quarter: tuple[int, int]) -> Any:
        key = (payer.rulebook_family, quarter)
        program = tree.programs.get(key)
        if program is not None or key in tree.programs:
            return program
        with self._lock:
            if key not in tree.programs:
                tree.programs[key] = self._prepare(tree, payer, quarter)
            return tree.programs[key]

    def _prepare(self, tree: _Tree, payer: Payer, quarter: tuple[int, int]) -> Any:
        if quarter not in tree.families.get(payer.rulebook_family, ()):
            return None
        ref = f"{payer.rulebook_family}@{Quarter(*quarter)}"
        try:
            compiled = tree.loader.load(ref)
        except DiagnosticError as exc:
            tree.rulebook_errors[ref] = exc
            return None
        param = compiled.params.get("unit_method")
        if param is not None and param.value != payer.unit_method:
            # The payer file and the rulebook must say the same about how minutes become
            # units; a disagreement is a configuration error, reported like a broken rulebook.
            tree.rulebook_errors[ref] = DiagnosticError([Diagnostic(
                "payer_rulebook_mismatch",
                f"{payer.path} says unit_method = \"{payer.unit_method}\", but rulebook {compiled.id} sets "
                f"\"{param.value}\"", span=param.origin.span,
                notes=("make the payer file and the rulebook's unit_method param agree",))])
            return None
        from payerlint.evaluate.prepare import prepare

        return prepare(compiled)

    @staticmethod
    def _no_rulebook(tree: _Tree, payer: Payer, quarter: tuple[int, int], claim: Claim, indexes: list[int]) -> Finding:
        ref = f"{payer.rulebook_family}@{Quarter(*quarter)}"
        if ref in tree.rulebook_errors:
            first = tree.rulebook_errors[ref].diagnostics[0]
            if first.code == "payer_rulebook_mismatch":
                return _routing_finding("routing.rulebook_error", first.message)
            return _routing_finding("routing.rulebook_error",
                                    f"rulebook {ref} does not compile; run `payerlint compile {ref}`")
        dates = sorted({claim.lines[i]["date"].isoformat() for i in indexes})
        existing = ", ".join(str(q) for q in tree.registry.quarters(payer)) or "none"
        return _routing_finding(
            "routing.no_rulebook",
            f"no {payer.id} rulebook is in force on {', '.join(dates)} (quarter {Quarter(*quarter)}); "
            f"quarters with a rulebook: {existing}")


def one_rulebook(compiled: Any, home: Any) -> OneRulebook:
    """`--rulebook`: every claim against `compiled`, warning of a claim the home's payer
    registry would send elsewhere (without the payer part when the registry cannot be read:
    the dates are still compared)."""
    try:
        registry = Registry.load(home)
    except (DiagnosticError, OSError):
        registry = None
    return OneRulebook(compiled, warn_mismatch=True, registry=registry)
