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
rule tree changed calls it, or builds a new router).
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from payerlint.check import Part, Route
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


class ByPayer:
    """Routes each claim by its payer and dates of service."""

    def __init__(self, registry: Registry | None = None, loader: Loader | None = None):
        self.registry = registry or Registry.load()
        self.loader = loader or Loader(self.registry.home)
        self.rulebook_errors: dict[str, DiagnosticError] = {}
        """Rulebooks that did not compile, by reference: claims routed to them get `error`."""
        self._lock = threading.Lock()
        self.reload()

    def reload(self, reread: bool = False) -> None:
        """Forget every prepared rulebook and what the tree holds. With `reread`, read
        the payer files again and compile afresh (the tree changed on disk)."""
        with self._lock:
            if reread:
                self.registry = Registry.load(self.registry.home)
                self.loader = Loader(self.registry.home)
            self._families = {payer.rulebook_family: {(q.year, q.number) for q in self.registry.quarters(payer)}
                              for payer in self.registry.payers.values()}
            self._programs: dict[tuple[str, tuple[int, int]], Any] = {}
            self._single: dict[tuple[str, tuple[int, int]], Route] = {}
            self._by_id: dict[str, Payer] = {}
            """Payers by the payer_id exactly as claims write it (resolve() folds case)."""
            self.rulebook_errors = {}

    def route(self, claim: Claim) -> Route:
        data = claim.root
        payer_id = data["payer_id"]
        payer = self._by_id.get(payer_id)
        if payer is None:
            payer = self.registry.resolve(payer_id)
            if payer is None:
                closest = ", ".join(self.registry.closest(payer_id))
                return Route(errors=(_routing_finding(
                    "routing.unknown_payer",
                    f"payer_id '{payer_id}' is not a payer id or alias in the registry; closest ids: {closest}"),))
            if len(self._by_id) < 10_000:
                self._by_id[payer_id] = payer
        lines = claim.lines
        day = lines[0]["date"]
        year, month = day.year, day.month
        first_month = month - (month - 1) % 3
        for line in lines:
            other = line["date"]
            if other.year != year or not first_month <= other.month < first_month + 3:
                break
        else:
            # Almost every claim: one quarter, one rulebook, the same route every time.
            quarter = (year, (month - 1) // 3 + 1)
            known = self._single.get((payer.rulebook_family, quarter))
            if known is not None:
                return known
            program = self._program(payer, quarter)
            if program is None:
                return Route(errors=(self._no_rulebook(payer, quarter, claim, list(range(len(lines)))),))
            route = self._single[(payer.rulebook_family, quarter)] = Route((Part(program),))
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
            program = self._program(payer, quarter)
            if program is None:
                errors.append(self._no_rulebook(payer, quarter, claim, indexes))
                continue
            parts.append(Part(program, tuple(indexes), quarter == claim_quarter))
        return Route(tuple(parts), tuple(errors))

    def _program(self, payer: Payer, quarter: tuple[int, int]) -> Any:
        key = (payer.rulebook_family, quarter)
        program = self._programs.get(key)
        if program is not None or key in self._programs:
            return program
        with self._lock:
            if key not in self._programs:
                self._programs[key] = self._prepare(payer, quarter)
            return self._programs[key]

    def _prepare(self, payer: Payer, quarter: tuple[int, int]) -> Any:
        if quarter not in self._families.get(payer.rulebook_family, ()):
            return None
        ref = f"{payer.rulebook_family}@{Quarter(*quarter)}"
        try:
            compiled = self.loader.load(ref)
        except DiagnosticError as exc:
            self.rulebook_errors[ref] = exc
            return None
        param = compiled.params.get("unit_method")
        if param is not None and param.value != payer.unit_method:
            # The payer file and the rulebook must say the same about how minutes become
            # units; a disagreement is a configuration error, reported like a broken rulebook.
            self.rulebook_errors[ref] = DiagnosticError([Diagnostic(
                "payer_rulebook_mismatch",
                f"{payer.path} says unit_method = \"{payer.unit_method}\", but rulebook {compiled.id} sets "
                f"\"{param.value}\"", span=param.origin.span,
                notes=("make the payer file and the rulebook's unit_method param agree",))])
            return None
        from payerlint.evaluate.prepare import prepare

        return prepare(compiled)

    def _no_rulebook(self, payer: Payer, quarter: tuple[int, int], claim: Claim, indexes: list[int]) -> Finding:
        ref = f"{payer.rulebook_family}@{Quarter(*quarter)}"
        if ref in self.rulebook_errors:
            first = self.rulebook_errors[ref].diagnostics[0]
            if first.code == "payer_rulebook_mismatch":
                return _routing_finding("routing.rulebook_error", first.message)
            return _routing_finding("routing.rulebook_error",
                                    f"rulebook {ref} does not compile; run `payerlint compile {ref}`")
        dates = sorted({claim.lines[i]["date"].isoformat() for i in indexes})
        existing = ", ".join(str(q) for q in self.registry.quarters(payer)) or "none"
        return _routing_finding(
            "routing.no_rulebook",
            f"no {payer.id} rulebook is in force on {', '.join(dates)} (quarter {Quarter(*quarter)}); "
            f"quarters with a rulebook: {existing}")
