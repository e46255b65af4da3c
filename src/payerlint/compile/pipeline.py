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
from typing import Mapping

import networkx as nx

from payerlint.compile import declarations as D
from payerlint.compile import graph as G
from payerlint.compile import ir
from payerlint.compile.layering import Layered, merge
from payerlint.compile.privacy import private_source
from payerlint.compile.resolve import Globals, Resolver
from payerlint.compile import types as T
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home, resolve_home
from payerlint.quarter import Quarter, QuarterError
from payerlint.source import Span
from payerlint.syntax import tree as syn
from payerlint.syntax.parser import parse, parse_file


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
    graph: nx.DiGraph = field(compare=False, repr=False)
    layered: Layered | None = field(compare=False, repr=False, default=None)
    """The effective declarations, kept for rulebooks that extend this one."""
    header_span: Span | None = field(compare=False, repr=False, default=None)
    """Where the header is written: diagnostics about a base rulebook point here."""
    functions_used: frozenset = field(compare=False, repr=False, default=frozenset())
    """Built-in functions the rules and definitions call (the result names code-set releases)."""

    def rule(self, rule_id: str) -> ir.Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@dataclass
class _Unit:
    """What the stages build up for one rulebook."""

    path: str
    loader: "Loader"
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


def compile_path(path: str, loader: "Loader | None" = None, text: str | None = None) -> CompiledRulebook:
    """Compile one rulebook file, raising DiagnosticError with every problem of the
    first stage that found any. With `text`, that is the file's content (the language
    server compiles what the editor holds, unsaved); paths in it (tables, extends) are
    still relative to `path`."""
    loader = loader or Loader(resolve_home())
    unit = _Unit(str(path), loader, text)
    for _name, stage in STAGES:
        errors: list[Diagnostic] = []
        stage(unit, errors)
        if errors:
            raise DiagnosticError(errors)
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
        rules=rules, disabled=unit.layered.disabled, graph=nx.freeze(unit.graph), layered=unit.layered,
        header_span=header.span,
        functions_used=frozenset(node.function for node in ir.walk(list(unit.rules) + list(unit.lets.values()))
                                 if isinstance(node, ir.Call)),
    )
    return compiled


class Loader:
    """Compiles rulebooks by path or by `family@quarter`, once each per process."""

    def __init__(self, home: Home | None = None):
        self.home = home or resolve_home()
        self._cache: dict[tuple, CompiledRulebook] = {}
        self._lock = threading.RLock()
        self._loading: list[str] = []

    def path_of(self, ref: str, relative_to: str | None = None, ref_is_path: bool = False) -> Path:
        if not ref_is_path and "@" in ref and not os.path.exists(ref):
            family, _, quarter = ref.partition("@")
            try:
                Quarter.parse(quarter)
            except QuarterError as exc:
                raise DiagnosticError([Diagnostic("bad_reference", str(exc))]) from None
            if relative_to is not None:
                # A rulebook in a tree (<tree>/rulebooks/<family>/<quarter>.rules) that is not
                # one of the home's finds its base in its own tree first. Inside the home's
                # trees the overlay decides: the team's file, else the bundled one.
                folder = Path(relative_to).resolve().parent.parent
                sibling = folder / family / f"{quarter}.rules"
                if folder.name == "rulebooks" and not self.home.holds(folder.parent) and sibling.is_file():
                    return sibling
            return self.home.rulebook_path(family, quarter)
        path = Path(ref)
        if relative_to is not None and not path.is_absolute():
            path = Path(os.path.dirname(relative_to)) / path
        return path

    def load(self, ref: str, relative_to: str | None = None, via: Span | None = None,
             ref_is_path: bool = False) -> CompiledRulebook:
        path = self.path_of(ref, relative_to, ref_is_path)
        if not path.is_file():
            is_reference = "@" in ref and not ref_is_path
            raise DiagnosticError([Diagnostic(
                "rulebook_not_found", f"no rulebook {ref} (looked for {path})", span=via,
                notes=self._nearby(ref) if is_reference else ())])
        real = os.path.realpath(path)
        stat = os.stat(real)
        key = (real, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            if real in self._loading:
                chain = " -> ".join(self._loading[self._loading.index(real):] + [real])
                raise DiagnosticError([Diagnostic("extends_cycle", f"rulebooks extend each other in a cycle: {chain}", span=via)])
            self._loading.append(real)
            try:
                compiled = compile_path(str(path), self)
            finally:
                self._loading.pop()
            self._cache[key] = compiled
            return compiled

    def _nearby(self, ref: str) -> tuple[str, ...]:
        family = ref.partition("@")[0]
        families = self.home.families()
        if family in families:
            quarters = [str(q) for q, _ in self.home.quarters_of(family)]
            return (f"{family} has rulebooks for: " + ", ".join(quarters),) if quarters else ()
        if families:
            from payerlint.diagnostics import did_you_mean

            hint = did_you_mean(family, families)
            return (hint,) if hint else (f"rulebook families in {self.home.rulebooks}: " + ", ".join(families),)
        return ()
