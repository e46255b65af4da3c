"""The dependency graph of a compiled rulebook, its cycles, and the evaluation order.

Nodes are `kind:name` (`param:kx_threshold`, `codeset:timed`, `table:ncci_ptp`,
`let:timed_minutes`, `rule:units.total`). An edge runs from what is used to what uses
it, so "what does a change reach" is `nx.descendants(graph, node)`. Each edge keeps
every span where the reference was written.
"""

from __future__ import annotations

import networkx as nx

from payerlint.diagnostics import Diagnostic
from payerlint.source import Span


def build(nodes: dict[str, Span], refs: list[tuple[str, str, Span]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for node, span in sorted(nodes.items()):
        kind, _, name = node.partition(":")
        graph.add_node(node, kind=kind, name=name, span=span)
    for source, target, span in refs:
        if source not in graph or target not in graph:
            continue
        if graph.has_edge(source, target):
            spans = graph.edges[source, target]["spans"]
            graph.edges[source, target]["spans"] = tuple(sorted(spans + (span,), key=Span.sort_key))
        else:
            graph.add_edge(source, target, spans=(span,))
    return graph


def cycles(graph: nx.DiGraph) -> list[Diagnostic]:
    """One diagnostic per cycle of definitions, naming every step and where it is written."""
    found = []
    for component in sorted((sorted(c) for c in nx.strongly_connected_components(graph)), key=lambda c: c[0]):
        if len(component) == 1 and not graph.has_edge(component[0], component[0]):
            continue
        sub = graph.subgraph(component)
        cycle = nx.find_cycle(sub, source=component[0])
        # Edges run from the used to the user; a reader follows "a uses b uses c".
        steps = [edge[1] for edge in reversed(cycle)]
        steps = _rotate(steps)
        names = [s.split(":", 1)[1] for s in steps]
        spans = []
        for user, used in zip(steps, steps[1:] + steps[:1]):
            spans.append(graph.edges[used, user]["spans"][0])
        found.append(Diagnostic(
            "dependency_cycle",
            "definitions depend on each other in a cycle: " + " -> ".join(names + names[:1]),
            span=spans[0], related=tuple(spans[1:]),
            notes=("each definition in the cycle needs the next one's value before it has its own",),
        ))
    return found


def _rotate(steps: list[str]) -> list[str]:
    start = steps.index(min(steps))
    return steps[start:] + steps[:start]


def order(graph: nx.DiGraph) -> tuple[str, ...]:
    """A deterministic evaluation order: dependencies first, ties by name."""
    return tuple(nx.lexicographical_topological_sort(graph))
