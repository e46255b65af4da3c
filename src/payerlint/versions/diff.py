"""Semantic diff of two compiled rulebooks.

The diff compares what the rulebooks *mean*, not their text: declarations are compared
by id, expressions as typed trees whose equality ignores spans and frame positions, code
sets as sets of members, tables row by row by key. Layout, comments and the order of
declarations are therefore never changes. Both rulebooks are compiled with their bases,
so a change inherited through a base rulebook shows up, marked with where it was written.

For each change the diff lists the rules it reaches through the dependency graph: a param
reaches the rules that read it directly or through definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from payerlint.compile import ir
from payerlint.evaluate.values import format_value
from payerlint.source import span_text

KINDS = ("param", "codeset", "phrases", "table", "let", "rule")
RULE_PARTS = ("title", "scope", "condition", "severity", "category", "message", "citation", "fix", "denial code")
SAMPLE = 20
"""How many table keys the text and markdown reports list per kind of row change."""


@dataclass(frozen=True)
class Change:
    kind: str
    """param, codeset, phrases, table, let or rule."""
    name: str
    action: str
    """added, removed, changed, disabled or enabled."""
    details: dict = field(default_factory=dict)
    old_origin: str | None = None
    """The rulebook that wrote the old declaration (a base, when inherited)."""
    new_origin: str | None = None
    reaches: tuple[str, ...] = ()
    """Rule ids this change reaches through the dependency graph."""

    own: str = ""
    """The id of the new rulebook, to tell its own changes from inherited ones."""

    @property
    def node(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def inherited_from(self) -> str | None:
        """The base rulebook that wrote the change, when it is not the new rulebook itself."""
        origin = self.new_origin or self.old_origin
        return origin if origin and origin != self.own else None

    def summary(self) -> str:
        """One line for people."""
        d = self.details
        if self.kind == "param" and self.action == "changed":
            if d.get("value_changed"):
                return f"param {self.name}: {d['old']} -> {d['new']}"
            return f"param {self.name}: citation changed"
        if self.kind in ("codeset", "phrases") and self.action == "changed":
            parts = []
            if d.get("added"):
                parts.append("added " + ", ".join(d["added"]))
            if d.get("removed"):
                parts.append("removed " + ", ".join(d["removed"]))
            if d.get("label"):
                parts.append("label changed")
            if d.get("citation"):
                parts.append("citation changed")
            return f"{self.kind} {self.name}: " + "; ".join(parts)
        if self.kind == "table" and self.action == "changed":
            parts = [f"{d['rows_added']} rows added, {d['rows_removed']} removed, {d['rows_changed']} changed"]
            if d.get("columns"):
                parts.append("columns changed")
            return f"table {self.name}: " + "; ".join(parts)
        if self.kind == "rule" and self.action == "changed":
            valued = [f"{part} {d[part]['old']} -> {d[part]['new']}" for part in d["parts"] if part in d]
            plain = [part for part in d["parts"] if part not in d]
            return f"rule {self.name}: " + "; ".join(valued + ([f"{', '.join(plain)} changed"] if plain else []))
        if self.kind == "let" and self.action == "changed":
            return f"definition {self.name}: {', '.join(d['parts'])} changed"
        return f"{'definition' if self.kind == 'let' else self.kind} {self.name} {self.action}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "action": self.action, "summary": self.summary(),
                "details": _jsonable(self.details), "inherited_from": self.inherited_from,
                "old_origin": self.old_origin, "new_origin": self.new_origin, "reaches": list(self.reaches)}


@dataclass(frozen=True)
class RulebookDiff:
    old: str
    new: str
    changes: tuple[Change, ...]
    row_changes: dict = field(default_factory=dict, compare=False, repr=False)
    """table -> {key: (old row or None, new row or None)}: what replay attribution reads."""
    member_changes: dict = field(default_factory=dict, compare=False, repr=False)
    """code set or phrase set -> set of members added or removed."""

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def find(self, kind: str, name: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.name == name), None)


def _jsonable(value: Any):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return format_value(value)


def diff(old, new) -> RulebookDiff:
    """Compare two compiled rulebooks."""
    changes: list[Change] = []
    row_changes: dict = {}
    member_changes: dict = {}

    def origin(decl) -> str | None:
        return decl.origin.rulebook if decl is not None and getattr(decl, "origin", None) else None

    def record(kind: str, name: str, action: str, details: dict, old_decl, new_decl) -> None:
        changes.append(Change(kind, name, action, details, origin(old_decl), origin(new_decl)))

    for kind, old_map, new_map, compare in (
        ("param", old.params, new.params, _param),
        ("codeset", old.codesets, new.codesets, _codeset),
        ("phrases", old.phrases, new.phrases, _phrases),
        ("table", old.tables, new.tables, _table),
        ("let", old.lets, new.lets, _let),
    ):
        for name in sorted(set(old_map) | set(new_map)):
            a, b = old_map.get(name), new_map.get(name)
            if a is None:
                record(kind, name, "added", {}, None, b)
            elif b is None:
                record(kind, name, "removed", {}, a, None)
            else:
                details = compare(a, b)
                if details:
                    if kind == "table":
                        row_changes[name] = details.pop("_rows")
                    if kind in ("codeset", "phrases"):
                        member_changes[name] = set(details.get("added", ())) | set(details.get("removed", ()))
                    record(kind, name, "changed", details, a, b)

    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    old_disabled = {d.rule_id: d for d in old.disabled}
    new_disabled = {d.rule_id: d for d in new.disabled}
    for rule_id in sorted(set(old_rules) | set(new_rules) | set(old_disabled) | set(new_disabled)):
        a, b = old_rules.get(rule_id), new_rules.get(rule_id)
        if a is None and b is None and rule_id in old_disabled and rule_id in new_disabled:
            before, after = old_disabled[rule_id].reason, new_disabled[rule_id].reason
            if before != after:
                changes.append(Change("rule", rule_id, "still disabled", {"reason": after, "old_reason": before},
                                      old_disabled[rule_id].origin.rulebook, new_disabled[rule_id].origin.rulebook))
            continue
        if a is not None and b is not None:
            parts = _rule_parts(a, b)
            if parts:
                details = {"parts": parts, **_rule_texts(a, b, parts)}
                for part in ("severity", "category"):
                    if part in parts:
                        # What a reviewer needs first: deny -> warn is the change that lets
                        # claims through; "severity changed" alone made them open both files.
                        details[part] = {"old": getattr(a, part), "new": getattr(b, part)}
                if "denial code" in parts:
                    details["denial"] = {"old": str(a.denial) if a.denial else None,
                                         "new": str(b.denial) if b.denial else None}
                record("rule", rule_id, "changed", details, a, b)
        elif a is not None:
            gone = new_disabled.get(rule_id)
            if gone is not None:
                changes.append(Change("rule", rule_id, "disabled", {"reason": gone.reason}, origin(a),
                                      gone.origin.rulebook))
            else:
                record("rule", rule_id, "removed", {}, a, None)
        elif b is not None:
            back = old_disabled.get(rule_id)
            if back is not None:
                changes.append(Change("rule", rule_id, "enabled", {}, back.origin.rulebook, origin(b)))
            else:
                record("rule", rule_id, "added", {}, None, b)
    reached = [_with_reach(c, old.graph, new.graph, new.id) for c in changes]
    return RulebookDiff(old.id, new.id, tuple(reached), row_changes, member_changes)


def _with_reach(change: Change, old_graph: nx.DiGraph, new_graph: nx.DiGraph, own: str) -> Change:
    node = change.node
    rules: set[str] = set()
    for graph in (old_graph, new_graph):
        if node in graph:
            if change.kind == "rule":
                rules.add(change.name)
            rules.update(n.split(":", 1)[1] for n in nx.descendants(graph, node) if n.startswith("rule:"))
    if change.kind == "rule":
        rules.add(change.name)
    return Change(change.kind, change.name, change.action, change.details, change.old_origin, change.new_origin,
                  tuple(sorted(rules)), own)


# ------------------------------------------------------------------ per kind


def _param(a: ir.Param, b: ir.Param) -> dict:
    details: dict = {}
    if a.value != b.value or a.type != b.type:
        details = {"old": format_value(a.value, a.type), "new": format_value(b.value, b.type), "value_changed": True}
    if a.citation != b.citation:
        details["citation"] = {"old": a.citation, "new": b.citation}
    return details


def _codeset(a: ir.CodeSet, b: ir.CodeSet) -> dict:
    old_members, new_members = set(a.members()), set(b.members())
    details: dict = {}
    if old_members != new_members:
        details["added"] = sorted(new_members - old_members)
        details["removed"] = sorted(old_members - new_members)
    return details | _label_and_citation(a, b)


def _label_and_citation(a, b) -> dict:
    details = {}
    if a.label != b.label:
        details["label"] = {"old": a.label, "new": b.label}
    if a.citation != b.citation:
        details["citation"] = {"old": a.citation, "new": b.citation}
    return details


def _phrases(a: ir.PhraseSet, b: ir.PhraseSet) -> dict:
    old_p = {p.casefold(): p for p in a.phrases}
    new_p = {p.casefold(): p for p in b.phrases}
    details: dict = {}
    if set(old_p) != set(new_p):
        details["added"] = sorted(new_p[k] for k in set(new_p) - set(old_p))
        details["removed"] = sorted(old_p[k] for k in set(old_p) - set(new_p))
    return details | _label_and_citation(a, b)


def _table(a: ir.Table, b: ir.Table) -> dict:
    details: dict = {}
    if a.keys != b.keys or a.columns != b.columns:
        details["columns"] = {"old": [c.name for c in a.columns], "new": [c.name for c in b.columns]}
    old_rows, new_rows = a.rows, b.rows
    rows: dict = {}
    old_names, new_names = [c.name for c in a.columns], [c.name for c in b.columns]
    if a.columns == b.columns and old_rows is new_rows:
        pass  # the same file, loaded once: nothing to compare
    else:
        # Compare by key, column by name: a 1,000,000-row table diffs by its pairs in one
        # pass each way, and a column added or removed is not a change to every row.
        same_shape = old_names == new_names
        for key, row in old_rows.items():
            other = new_rows.get(key)
            if other is None:
                rows[key] = (row, None)
            elif (other != row) if same_shape else \
                    (dict(zip(old_names, row)) != {n: v for n, v in zip(new_names, other) if n in old_names}):
                rows[key] = (row, other)
        for key, row in new_rows.items():
            if key not in old_rows:
                rows[key] = (None, row)
    added = sorted((k for k, (o, _) in rows.items() if o is None), key=_key_order)
    removed = sorted((k for k, (_, n) in rows.items() if n is None), key=_key_order)
    changed = sorted((k for k, (o, n) in rows.items() if o is not None and n is not None), key=_key_order)
    if rows or details:
        details.update({
            "rows_added": len(added), "rows_removed": len(removed), "rows_changed": len(changed),
            "added_keys": [list(map(format_value, k)) for k in added],
            "removed_keys": [list(map(format_value, k)) for k in removed],
            "changed_rows": [{"key": list(map(format_value, k)),
                              "columns": _row_delta(old_names, new_names, rows[k][0], rows[k][1])} for k in changed],
            "_rows": rows,
        })
    for part, old_value, new_value in (("citation", a.citation, b.citation), ("label", a.label, b.label)):
        if old_value != new_value:
            details[part] = {"old": old_value, "new": new_value}
            details.setdefault("_rows", rows)
            for key in ("rows_added", "rows_removed", "rows_changed"):
                details.setdefault(key, 0)
    return details


def _row_delta(old_names, new_names, old_row, new_row) -> dict:
    before, after = dict(zip(old_names, old_row)), dict(zip(new_names, new_row))
    return {name: {"old": format_value(before.get(name)), "new": format_value(after.get(name))}
            for name in sorted(set(before) | set(after), key=(old_names + new_names).index)
            if before.get(name) != after.get(name)}


def _key_order(key) -> tuple:
    return tuple(str(k) for k in key)


def _let(a: ir.Let, b: ir.Let) -> dict:
    parts = []
    if a.scope != b.scope:
        parts.append("scope")
    if a.expr != b.expr:
        parts.append("expression")
    if not parts:
        return {}
    details: dict = {"parts": parts}
    if "expression" in parts:
        details["texts"] = [_text_change("=", a.expr, b.expr)]
    return details


def _rule_texts(a: ir.Rule, b: ir.Rule, parts: list[str]) -> dict:
    """The old and new source text of each changed clause of a rule's condition."""
    if "condition" not in parts:
        return {}
    texts = []
    if a.when != b.when:
        texts.append(_text_change("when", a.when, b.when))
    if a.unless != b.unless:
        texts.append(_text_change("unless", a.unless, b.unless))
    old, new = _bindings(a), _bindings(b)
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            texts.append(_text_change(f"with {name} =", old.get(name), new.get(name)))
    return {"texts": texts}


def _text_change(clause: str, old, new) -> dict:
    # Source text, not a rendering of the tree: the diff already ignores layout, so what
    # is shown is only ever a clause whose meaning changed.
    return {"clause": clause,
            "old": span_text(getattr(old, "span", None)) if old is not None else None,
            "new": span_text(getattr(new, "span", None)) if new is not None else None}


def _rule_parts(a: ir.Rule, b: ir.Rule) -> list[str]:
    parts = []
    if a.title != b.title:
        parts.append("title")
    if a.scope != b.scope:
        parts.append("scope")
    if (a.when, a.unless, _bindings(a)) != (b.when, b.unless, _bindings(b)):
        parts.append("condition")
    if a.severity != b.severity:
        parts.append("severity")
    if a.category != b.category:
        parts.append("category")
    if a.message != b.message:
        parts.append("message")
    if a.citation != b.citation:
        parts.append("citation")
    if a.fixes != b.fixes:
        parts.append("fix")
    if a.denial != b.denial:
        # A payer's remittance code is what a billing team matches its 835s against.
        parts.append("denial code")
    return parts


def _bindings(rule: ir.Rule) -> dict:
    # By name: the order of `with` clauses is not a change.
    return {b.name: b.expr for b in rule.bindings}
