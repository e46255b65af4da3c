"""From a rulebook file to a compiled rulebook: the stages, in order.

STAGES below is the whole compiler. Each stage reads what the earlier ones produced and
reports all of its errors at once; the next stage runs only when a stage found none,
because each one relies on the previous being sound (types need resolved names; the
graph needs typed references; closures need an acyclic, ordered graph).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import networkx as nx

from payerlint.compile import declarations as D
from payerlint.compile.rulebook import CompiledRulebook
from payerlint.compile import graph as G
from payerlint.compile import ir
from payerlint.compile.layering import Layered, merge
from payerlint.compile.privacy import private_source
from payerlint.compile.resolve import Globals, Resolver
from payerlint.compile import types as T
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home
from payerlint.quarter import Quarter, QuarterError
from payerlint.source import Span
from payerlint.syntax import tree as syn
from payerlint.syntax.parser import parse, parse_file


@dataclass
class _Unit:
    """What the stages build up for one rulebook."""

    path: str
    loader: Any
    """The `compile.loader.Loader` that compiles bases (it imports this module, on a miss)."""
    text: str | None = None
    """The file's text when it is not read from disk (an editor's unsaved buffer)."""
    tree: syn.Rulebook | None = None
    rulebook_id: str = ""
    quarter: Quarter | None = None
    base: CompiledRulebook | None = None
    layered: Layered | None = None
    params: dict = field(default_factory=dict)
    codesets: dict = field(default_factory=dict)
    phrases: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    lets: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    refs: list = field(default_factory=list)
    graph: nx.DiGraph | None = None
    order: tuple = ()
    deferred: list = field(default_factory=list)
    """Errors that do not stop the stages after them (a header that disagrees with the
    file's place): reported with the first stage's errors, or alone at the end, so an
    author sees the rest of what is wrong too."""


def _parse(unit: _Unit, errors: list[Diagnostic]) -> None:
    try:
        unit.tree = parse_file(unit.path) if unit.text is None else parse(unit.text, unit.path)
    except DiagnosticError as exc:
        errors.extend(exc.diagnostics)


def _header(unit: _Unit, errors: list[Diagnostic]) -> None:
    header = unit.tree.header
    unit.rulebook_id = header.id.id
    if header.quarter is not None:
        try:
            unit.quarter = Quarter.parse(header.quarter.id)
        except QuarterError as exc:
            errors.append(Diagnostic("bad_quarter", str(exc), span=header.quarter.span))
        unit.rulebook_id = f"{header.id.id}@{header.quarter.id}"
    _named_by_place(unit, header, unit.deferred)
    if header.extends is None:
        return
    try:
        unit.base = unit.loader.load(header.extends.id, relative_to=unit.path, via=header.extends.span,
                                     ref_is_path=header.extends_is_path)
    except DiagnosticError as exc:
        # A base that is missing or part of a cycle says so itself; one that exists but has
        # errors gets a line pointing from here to them.
        if not any(d.code in ("rulebook_not_found", "extends_cycle", "bad_reference") for d in exc.diagnostics):
            errors.append(Diagnostic("base_does_not_compile",
                                     f"the base rulebook {header.extends.id} does not compile", span=header.extends.span))
        errors.extend(exc.diagnostics)


def _named_by_place(unit: _Unit, header, errors: list[Diagnostic]) -> None:
    """A rulebook in a tree (`rulebooks/<family>/<quarter>.rules`) is found by its folder
    and file name, and reported by its header: the two must agree. A copied file whose
    header still names last quarter would otherwise check next quarter's claims under last
    quarter's name (and `diff` would compare a rulebook with itself), and a file named
    other than by a quarter is passed over by routing and tests while it compiles."""
    path = Path(unit.path)
    if path.parent.parent.name != "rulebooks" or path.suffix != ".rules":
        return  # a rulebook given by its path alone (tests, examples): named by its header
    family, stem = path.parent.name, path.stem
    where = f"rulebooks/{family}/{path.name}"
    if header.id.id != family:
        errors.append(Diagnostic(
            "rulebook_name_mismatch", f"the header names rulebook {header.id.id}, but the file is {where}",
            span=header.id.span,
            notes=(f"payerlint finds this file as {family}: write `rulebook {family}`, or move the file to "
                   f"rulebooks/{header.id.id}/",)))
    try:
        named = Quarter.parse(stem)
    except QuarterError:
        errors.append(Diagnostic(
            "rulebook_name_mismatch", f"{where} is not named by a quarter, so no claim and no test reaches it",
            span=header.id.span,
            notes=(f"rename it {header.quarter.id}.rules, the quarter its header names" if unit.quarter is not None
                   else "name the file by the quarter it is in force, like 2026Q4.rules",)))
        return
    if header.quarter is None:
        errors.append(Diagnostic(
            "rulebook_name_mismatch", f"{where} has no `quarter` line", span=header.id.span,
            notes=(f"add `quarter {named}` under the `rulebook` line",)))
    elif unit.quarter is not None and unit.quarter != named:
        errors.append(Diagnostic(
            "rulebook_name_mismatch", f"the header says quarter {header.quarter.id}, but the file is {where}",
            span=header.quarter.span,
            notes=(f"a copied rulebook keeps its old quarter: write `quarter {named}`, or rename the file "
                   f"{header.quarter.id}.rules",)))


def _layer(unit: _Unit, errors: list[Diagnostic]) -> None:
    base_layer = unit.base.layered if unit.base else None
    # Errors about what the base lacks point at the base's header.
    base_span = (unit.base.header_span or Span(unit.base.path, 1, 1, 1, 9)) if unit.base else None
    unit.layered = merge(base_layer, unit.tree, unit.rulebook_id, base_span, errors)


def _declare(unit: _Unit, errors: list[Diagnostic]) -> None:
    """Params, code sets, phrase sets and tables: values known at compile time."""
    for name, placed in unit.layered.names.items():
        decl, origin = placed.decl, placed.origin
        if isinstance(decl, syn.Param):
            inherited = unit.base.params.get(name) if unit.base is not None and decl.override else None
            unit.params[name] = D.compile_param(decl, origin, errors, inherited)
        elif isinstance(decl, syn.CodeSet):
            unit.codesets[name] = D.compile_codeset(decl, origin, errors)
        elif isinstance(decl, syn.PhraseSet):
            unit.phrases[name] = D.compile_phrases(decl, origin, errors)
        elif isinstance(decl, syn.Table):
            unit.tables[name] = D.compile_table(decl, origin, errors)


def _resolve(unit: _Unit, errors: list[Diagnostic]) -> None:
    """Definitions (on demand, so one may use another written below it) and rules."""
    let_decls = {n: p for n, p in unit.layered.names.items() if isinstance(p.decl, syn.Let)}
    scopes = {n: D.let_scope(p.decl, errors) for n, p in let_decls.items()}
    in_progress: set[str] = set()
    sets = {n: ("codeset", T.CODESET) for n in unit.codesets}
    sets.update({n: ("phrases", T.PHRASES) for n in unit.phrases})
    sets.update({n: ("table", T.TABLE) for n in unit.tables})

    def let_type(name: str, span: Span) -> T.Type:
        if name in unit.lets:
            return unit.lets[name].type
        if name in in_progress:
            return T.UNKNOWN  # a cycle; the graph stage reports it whole
        in_progress.add(name)
        placed = let_decls[name]
        D.check_name(placed.decl.name, errors)
        unit.lets[name] = D.compile_let(placed.decl, scopes[name], resolver, placed.origin)
        in_progress.discard(name)
        return unit.lets[name].type

    def let_expr(name: str):
        let_type(name, let_decls[name].decl.span)
        return unit.lets[name].expr if name in unit.lets else None

    resolver = Resolver(Globals(unit.params, sets, unit.tables, scopes, let_type, let_expr), errors, unit.refs)
    for name in let_decls:
        let_type(name, let_decls[name].decl.span)
    # Which definitions hold patient data, once every definition is resolved; rules then
    # refuse it in messages and fixes (compile/privacy.py).
    privacy: dict[str, str | None] = {}

    def let_private(name: str) -> str | None:
        if name not in privacy:
            privacy[name] = None  # a cycle reads as not private; the graph stage reports it
            let = unit.lets.get(name)
            privacy[name] = private_source(let.expr, {}, let_private) if let is not None else None
        return privacy[name]

    for name in list(unit.lets):
        unit.lets[name] = dataclasses.replace(unit.lets[name], private=let_private(name))
    resolver.g.let_private = let_private
    for rule_id, placed in unit.layered.rules.items():
        unit.rules.append(D.compile_rule(placed.decl, resolver, placed.origin, errors, placed.adopted))


def _graph(unit: _Unit, errors: list[Diagnostic]) -> None:
    nodes: dict[str, Span] = {}
    for kind, table in (("param", unit.params), ("codeset", unit.codesets), ("phrases", unit.phrases),
                        ("table", unit.tables), ("let", unit.lets)):
        for name, value in table.items():
            nodes[f"{kind}:{name}"] = value.origin.span
    for rule in unit.rules:
        nodes[f"rule:{rule.id}"] = rule.origin.span
    unit.graph = G.build(nodes, unit.refs)
    errors.extend(G.cycles(unit.graph))


def _order(unit: _Unit, errors: list[Diagnostic]) -> None:
    unit.order = G.order(unit.graph)


STAGES = (
    ("parse", _parse),          # text -> syntax tree; every syntax error of the file
    ("header", _header),        # id, quarter, and the base rulebook compiled first
    ("layer", _layer),          # inherited + own declarations; override/disable checked
    ("declare", _declare),      # constant values: params, code sets, phrases, tables (files read)
    ("resolve", _resolve),      # names and types of every definition and rule
    ("graph", _graph),          # dependency graph; cycles reported whole
    ("order", _order),          # deterministic evaluation order
)


def compile_path(path: str, loader: Any = None, text: str | None = None) -> CompiledRulebook:
    """Compile one rulebook file, raising DiagnosticError with every problem of the
    first stage that found any. With `text`, that is the file's content (the language
    server compiles what the editor holds, unsaved); paths in it (tables, extends) are
    still relative to `path`."""
    if loader is None:
        # The loader (compile/loader.py) calls this module and compiles the bases it needs:
        # it is handed in, so the arrow between the two runs one way.
        raise TypeError("compile_path needs the Loader that compiles its bases: compile_path(path, Loader(home))")
    unit = _Unit(str(path), loader, text)
    for _name, stage in STAGES:
        errors: list[Diagnostic] = []
        stage(unit, errors)
        if errors:
            raise DiagnosticError(unit.deferred + errors)
    if unit.deferred:
        raise DiagnosticError(unit.deferred)
    header = unit.tree.header
    order = {node: i for i, node in enumerate(unit.order)}
    rules = tuple(sorted(unit.rules, key=lambda r: order[f"rule:{r.id}"]))
    compiled = CompiledRulebook(
        id=unit.rulebook_id, family=header.id.id, quarter=unit.quarter, title=header.title.value,
        payer=header.payer.value if header.payer else None, sources=tuple(s.value for s in header.sources),
        facts_as_of=header.facts_as_of.value if header.facts_as_of else None, path=unit.path, base=unit.base,
        params=MappingProxyType(dict(sorted(unit.params.items()))),
        codesets=MappingProxyType(dict(sorted(unit.codesets.items()))),
        phrases=MappingProxyType(dict(sorted(unit.phrases.items()))),
        tables=MappingProxyType(dict(sorted(unit.tables.items()))),
        lets=MappingProxyType({n: unit.lets[n] for n in sorted(unit.lets, key=lambda n: order[f"let:{n}"])}),
        rules=rules, disabled=unit.layered.disabled, graph_data=nx.freeze(unit.graph), layered_data=unit.layered,
        header_span=header.span,
        functions_used=frozenset(node.function for node in ir.walk(list(unit.rules) + list(unit.lets.values()))
                                 if isinstance(node, ir.Call)),
        base_ref=(header.extends.id, bool(header.extends_is_path)) if header.extends is not None else None,
    )
    return compiled
