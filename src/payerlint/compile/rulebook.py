"""The compiled rulebook: what `compile` returns, as data.

Kept apart from the pipeline so that code which only reads compiled rulebooks (checking
claims, from the cache on disk) imports neither the parser (lark) nor networkx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping

from payerlint.compile import ir
from payerlint.quarter import Quarter
from payerlint.source import Span

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from payerlint.compile.layering import Layered


@dataclass(frozen=True)
class CompiledRulebook:
    """A checked rulebook: pure data, immutable, shared across threads. It holds no code:
    `payerlint.evaluate.prepare(compiled)` turns it into the program that checks claims."""

    id: str
    """`family@quarter`, e.g. acme@2026Q2."""
    family: str
    quarter: Quarter | None
    title: str
    payer: str | None
    sources: tuple[str, ...]
    facts_as_of: date | None
    path: str
    base: "CompiledRulebook | None"
    params: Mapping[str, ir.Param]
    codesets: Mapping[str, ir.CodeSet]
    phrases: Mapping[str, ir.PhraseSet]
    tables: Mapping[str, ir.Table]
    lets: Mapping[str, ir.Let]
    rules: tuple[ir.Rule, ...]
    """In evaluation order."""
    disabled: tuple[ir.Disabled, ...]
    graph_data: Any = field(compare=False, repr=False)
    """The dependency graph (see `graph`); from the cache on disk, a part decoded on use."""
    layered_data: Any = field(compare=False, repr=False, default=None)
    """The effective declarations (see `layered`), stored like `graph_data`."""
    header_span: Span | None = field(compare=False, repr=False, default=None)
    """Where the header is written: diagnostics about a base rulebook point here."""
    functions_used: frozenset = field(compare=False, repr=False, default=frozenset())
    """Built-in functions the rules and definitions call (the result names code-set releases)."""
    base_ref: tuple | None = field(compare=False, repr=False, default=None)
    """How the header named the base (`extends`): (reference, written as a path). Which file
    that means depends on the rule tree (a team's tree lies over the bundled one), so a
    rulebook read back from the cache is used only where it still means the same file."""

    def rule(self, rule_id: str) -> ir.Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def graph(self) -> "nx.DiGraph":
        """The networkx dependency graph of params, code sets, tables, definitions and
        rules; edges carry the spans of the references."""
        return self._materialized("graph_data")

    @property
    def layered(self) -> "Layered | None":
        """The effective declarations, kept for rulebooks that extend this one."""
        return self._materialized("layered_data")

    def _materialized(self, name: str):
        value = getattr(self, name)
        if hasattr(value, "value") and type(value).__name__ == "_Lazy":
            value = value.value()  # from the cache on disk: decoded the first time it is needed
            object.__setattr__(self, name, value)
        return value


