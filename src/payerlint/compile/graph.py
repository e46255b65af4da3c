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


# ------------------------------------------------------------------ showing the graph
#
# `payerlint graph`: the same graph for a reader, each node marked with where it was
# declared. Output is sorted, so the same rulebook always prints the same text.

KINDS = ("param", "codeset", "phrases", "table", "let", "rule")
_DECLARED = {"param": "params", "codeset": "codesets", "phrases": "phrases", "table": "tables", "let": "lets"}


def described(compiled) -> nx.DiGraph:
    """The dependency graph with, on each node: kind, name, status (own: written in this
    rulebook; override: written here to replace a base's; inherited: from a base, named
    in `from`; disabled: a base's rule this rulebook or a base turned off) and where it is
    written. Edges run from what is used to what uses it, with every place it is used."""
    shown = nx.DiGraph(rulebook=compiled.id)
    origins = {}
    for kind, attribute in _DECLARED.items():
        for name, declaration in getattr(compiled, attribute).items():
            origins[f"{kind}:{name}"] = declaration.origin
    for rule in compiled.rules:
        origins[f"rule:{rule.id}"] = rule.origin
    for node in sorted(compiled.graph.nodes):
        origin = origins[node]
        kind, _, name = node.partition(":")
        if origin.rulebook != compiled.id:
            status = "inherited"
        else:
            status = "override" if origin.overrides is not None else "own"
        attributes = {"kind": kind, "name": name, "status": status, "from": origin.rulebook,
                      "at": _place(origin.span)}
        if origin.overrides is not None:
            attributes["overrides"] = origin.overrides.rulebook
        shown.add_node(node, **attributes)
    for gone in sorted(compiled.disabled, key=lambda d: d.rule_id):
        shown.add_node(f"rule:{gone.rule_id}", kind="rule", name=gone.rule_id, status="disabled",
                       **{"from": gone.origin.rulebook, "at": _place(gone.origin.span)},
                       reason=gone.reason or "")
    for used, user in sorted(compiled.graph.edges):
        spans = compiled.graph.edges[used, user]["spans"]
        shown.add_edge(used, user, places=[_place(span) for span in spans])
    return shown


def _place(span: Span | None) -> str:
    """file:line:column, the file relative to the working folder when it is inside it."""
    if span is None:
        return ""
    import os

    path = span.file
    try:
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            path = relative
    except ValueError:  # another drive (Windows)
        pass
    return f"{path}:{span.line}:{span.column}"


def _label(data: dict) -> str:
    label = f"{data['kind']} {data['name']}"
    if data["status"] == "inherited":
        label += f" (from {data['from']})"
    elif data["status"] == "override":
        label += f" (overrides {data['overrides']})"
    elif data["status"] == "disabled":
        label += f" (disabled by {data['from']})"
    return label


def to_json(compiled) -> str:
    """networkx node-link data, keys sorted, two-space indent."""
    import json

    data = nx.node_link_data(described(compiled), edges="edges")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_DOT_SHAPE = {"param": "box", "codeset": "box", "phrases": "box", "table": "box3d", "let": "ellipse", "rule": "hexagon"}
_DOT_STYLE = {"own": 'style="solid"', "override": 'style="bold", penwidth=2',
              "inherited": 'style="dashed", color="gray40", fontcolor="gray40"',
              "disabled": 'style="dotted", color="gray60", fontcolor="gray60"'}


def to_dot(compiled) -> str:
    """Graphviz: inherited declarations dashed and grey, overrides bold, disabled rules dotted."""
    graph = described(compiled)
    out = [f'digraph "{compiled.id}" {{', "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node, data in graph.nodes(data=True):
        out.append(f'  "{node}" [label="{_dot_text(_label(data))}", shape={_DOT_SHAPE[data["kind"]]}, '
                   f'{_DOT_STYLE[data["status"]]}];')
    for used, user in graph.edges:
        out.append(f'  "{used}" -> "{user}";')
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_MERMAID_SHAPE = {"param": ('["', '"]'), "codeset": ('["', '"]'), "phrases": ('["', '"]'),
                  "table": ('[("', '")]'), "let": ('("', '")'), "rule": ('{{"', '"}}')}
_MERMAID_CLASS = {"own": "fill:#ffffff,stroke:#333333", "override": "fill:#fff3cd,stroke:#b8860b,stroke-width:2px",
                  "inherited": "fill:#f0f0f0,stroke:#999999,stroke-dasharray:4 3,color:#666666",
                  "disabled": "fill:#f8f8f8,stroke:#bbbbbb,stroke-dasharray:1 3,color:#999999"}


def to_mermaid(compiled) -> str:
    """A Mermaid flowchart to paste into a document; node classes mark own, override,
    inherited and disabled declarations."""
    graph = described(compiled)
    ids = {node: f"n{index}" for index, node in enumerate(graph.nodes)}
    out = ["flowchart LR"]
    for node, data in graph.nodes(data=True):
        opening, closing = _MERMAID_SHAPE[data["kind"]]
        label = _label(data).replace('"', "#quot;")
        out.append(f"  {ids[node]}{opening}{label}{closing}:::{data['status']}")
    for used, user in graph.edges:
        out.append(f"  {ids[used]} --> {ids[user]}")
    for status in sorted({data["status"] for _, data in graph.nodes(data=True)}):
        out.append(f"  classDef {status} {_MERMAID_CLASS[status]}")
    return "\n".join(out) + "\n"
