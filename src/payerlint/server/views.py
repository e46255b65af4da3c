"""What the service shows of the registry and of a compiled rulebook, as JSON values.

These are read-only views for people and tools: a payer and its quarters; a rulebook's
rules (with citations and where each was written, so a lead sees what is inherited),
params, code sets, phrase sets, tables, definitions, and its dependency graph (an edge
runs from what is read to what reads it, as in compile/graph.py). File paths are shown
relative to the rulebook tree: the service does not tell its clients where it lives.

Nothing here reads a claim, so nothing here can show patient data.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

from payerlint.compile.rulebook import CompiledRulebook
from payerlint.evaluate.values import format_value
from payerlint.home import Home
from payerlint.payers.registry import Payer, Registry
from payerlint.quarter import Quarter, QuarterError

JSON = dict[str, Any]

# The boundary into modules that are not held to mypy --strict: typed here, once.
_format: Callable[[Any, Any], str] = format_value

_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NotFound(LookupError):
    """A payer, family or quarter that does not exist; the message says what does."""


def payer_view(registry: Registry, payer: Payer) -> JSON:
    return {
        "id": payer.id, "name": payer.name, "type": payer.type, "states": list(payer.states),
        "aliases": list(payer.aliases), "rulebook_family": payer.rulebook_family, "unit_method": payer.unit_method,
        "quarters": [str(q) for q in registry.quarters(payer)], "facts_as_of": payer.facts_as_of,
        "sources": list(payer.sources), "assumptions": list(payer.assumptions), "notes": payer.notes,
    }


def rulebook_ref(registry: Registry, payer: str, quarter: str) -> str:
    """`family@quarter` for a payer id, alias or rulebook family and a quarter; never a
    path (a client must not make the service read a file of its choosing)."""
    try:
        parsed = Quarter.parse(quarter)
    except QuarterError as exc:
        raise NotFound(str(exc)) from None
    found = registry.resolve(payer)
    if found is not None:
        family = found.rulebook_family
    elif _FAMILY.match(payer) and payer in registry.home.families():
        family = payer
    else:
        closest = ", ".join(registry.closest(payer))
        raise NotFound(f"no payer or rulebook family '{payer}'; closest payer ids: {closest}")
    # Every tree of the home: a team tree's own quarters over the bundled ones.
    quarters = [str(q) for q, _ in registry.home.quarters_of(family)]
    if str(parsed) not in quarters:
        raise NotFound(f"no {family} rulebook for {parsed}; quarters with a rulebook: {', '.join(quarters) or 'none'}")
    return f"{family}@{parsed}"


def _where(home: Home, file: str) -> str:
    """A file as a path inside the rulebook tree (or its name, when it is elsewhere)."""
    try:
        relative = os.path.relpath(os.path.realpath(file), os.path.realpath(home.root))
    except ValueError:
        return os.path.basename(file)
    return os.path.basename(file) if relative.startswith("..") else relative.replace(os.sep, "/")


def _origin(home: Home, origin: Any) -> JSON | None:
    if origin is None:
        return None
    span = origin.span
    return {"rulebook": origin.rulebook, "file": _where(home, span.file) if span else None,
            "line": span.line if span else None}


def _reads(compiled: CompiledRulebook, node: str) -> list[str]:
    graph = compiled.graph
    return sorted(graph.predecessors(node)) if node in graph else []


def rulebook_view(compiled: CompiledRulebook, home: Home) -> JSON:
    """Metadata, rules, params, code sets, phrase sets, tables, definitions and graph."""
    chain = []
    base = compiled.base
    while base is not None:
        chain.append(base.id)
        base = base.base
    rules = []
    for rule in compiled.rules:
        origin = _origin(home, rule.origin)
        rules.append({
            "id": rule.id, "title": rule.title, "scope": rule.scope, "category": rule.category,
            "severity": rule.severity, "citation": rule.citation, "origin": origin,
            "inherited": rule.origin.rulebook != compiled.id,
            "overrides": _origin(home, rule.origin.overrides),
            "reads": _reads(compiled, f"rule:{rule.id}"),
            "fixes": len(rule.fixes),
        })
    return {
        "id": compiled.id, "family": compiled.family, "quarter": str(compiled.quarter) if compiled.quarter else None,
        "title": compiled.title, "payer": compiled.payer, "sources": list(compiled.sources),
        "facts_as_of": compiled.facts_as_of.isoformat() if compiled.facts_as_of else None,
        "file": _where(home, compiled.path), "extends": chain,
        "rules": rules,
        "disabled": [{"rule": d.rule_id, "reason": d.reason, "origin": _origin(home, d.origin)}
                     for d in compiled.disabled],
        "params": [{"name": p.name, "type": str(p.type), "value": _format(p.value, p.type), "citation": p.citation,
                    "choices": [_format(c, p.type) for c in p.choices], "origin": _origin(home, p.origin),
                    "inherited": p.origin.rulebook != compiled.id} for p in compiled.params.values()],
        "code_sets": [{"name": c.name, "label": c.label, "members": list(c.members()), "citation": c.citation,
                       "origin": _origin(home, c.origin), "inherited": c.origin.rulebook != compiled.id}
                      for c in compiled.codesets.values()],
        "phrases": [{"name": p.name, "label": p.label, "phrases": list(p.phrases), "citation": p.citation,
                     "origin": _origin(home, p.origin), "inherited": p.origin.rulebook != compiled.id}
                    for p in compiled.phrases.values()],
        "tables": [{"name": t.name, "label": t.label, "file": _where(home, t.path), "rows": len(t.rows),
                    "columns": [{"name": c.name, "type": str(c.type), "optional": c.optional,
                                 "key": i < len(t.keys)} for i, c in enumerate(t.columns)],
                    "citation": t.citation, "origin": _origin(home, t.origin),
                    "inherited": t.origin.rulebook != compiled.id} for t in compiled.tables.values()],
        "definitions": [{"name": d.name, "scope": d.scope, "type": str(d.type), "origin": _origin(home, d.origin),
                         "reads": _reads(compiled, f"let:{d.name}"), "inherited": d.origin.rulebook != compiled.id}
                        for d in compiled.lets.values()],
        "graph": graph_view(compiled),
    }


def graph_view(compiled: CompiledRulebook) -> JSON:
    """Nodes (`kind:name`) and edges from what is read to what reads it."""
    graph = compiled.graph
    nodes = [{"id": node, "kind": data.get("kind", node.partition(":")[0]),
              "name": data.get("name", node.partition(":")[2])} for node, data in sorted(graph.nodes(data=True))]
    edges = [{"from": a, "to": b} for a, b in sorted(graph.edges())]
    return {"nodes": nodes, "edges": edges}
