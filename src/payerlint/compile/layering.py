"""Layering: a rulebook that `extends` another inherits its declarations and says
explicitly what it changes.

- A plain declaration must use a new id. Reusing an inherited id without `override` is
  an error showing both places.
- `override <declaration>` replaces the inherited one of the same kind and id; there must
  be one to replace.
- `disable rule <id> because "..."` drops an inherited rule, saying why (required).
- `adopt rule <id>, ... cite "..."` keeps inherited rules and records the payer's own
  source for them: a payer rulebook says, rule by rule, whether the payer is known to
  apply what it inherits (adopt, with the source) or not (disable, with the reason).

The result is the effective list of declarations, each tagged with where it was written,
compiled afterwards as one namespace: a base rule that reads `kx_threshold` sees the
overlay's value when the overlay overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass

from payerlint.compile import ir
from payerlint.diagnostics import Diagnostic, did_you_mean
from payerlint.source import Span
from payerlint.syntax import tree as syn


@dataclass(frozen=True, slots=True)
class Placed:
    """A declaration with the rulebook it came from."""

    decl: syn.Item
    rulebook: str
    overrides: ir.Origin | None = None
    adopted: tuple = ()
    """(rulebook, citation, severity or None) of each rulebook that adopted this inherited
    rule, nearest first."""

    @property
    def origin(self) -> ir.Origin:
        return ir.Origin(self.rulebook, self.decl.span, self.overrides)


@dataclass(frozen=True, slots=True)
class Layered:
    names: dict
    """Value declarations (params, code sets, phrases, tables, definitions) by name."""
    rules: dict
    """Rules by id, in the order they were written (base first)."""
    disabled: tuple


def own_declarations(rulebook: syn.Rulebook, rulebook_id: str, errors: list[Diagnostic]) -> Layered:
    """The declarations of a rulebook with no base."""
    return merge(None, rulebook, rulebook_id, None, errors)


def merge(base: Layered | None, rulebook: syn.Rulebook, rulebook_id: str, base_span: Span | None,
          errors: list[Diagnostic]) -> Layered:
    names = dict(base.names) if base else {}
    rules = dict(base.rules) if base else {}
    disabled = list(base.disabled) if base else []
    inherited_names = set(names)
    inherited_rules = set(rules)
    own: dict[tuple[str, str], syn.Item] = {}
    adopted_here: dict[str, syn.Adopt] = {}
    for item in rulebook.items:
        if isinstance(item, syn.Adopt):
            for ident in item.rule_ids:
                rule_id = ident.id
                if rule_id in adopted_here:
                    errors.append(Diagnostic("duplicate_declaration", f"rule {rule_id} is adopted twice in this rulebook",
                                             span=ident.span, related=(adopted_here[rule_id].span,)))
                    continue
                gone = next((d for d in disabled if d.rule_id == rule_id), None)
                if gone is not None and rule_id not in rules:
                    errors.append(Diagnostic(
                        "nothing_to_adopt", f"cannot adopt rule {rule_id}: {gone.origin.rulebook} disabled it",
                        span=ident.span, related=(gone.origin.span,),
                        notes=("a disabled rule is not inherited; to apply it here, declare it in this rulebook",)))
                    continue
                if rule_id not in inherited_rules or rule_id not in rules:
                    hint = did_you_mean(rule_id, [r for r in rules if r in inherited_rules]) if base else None
                    errors.append(Diagnostic(
                        "nothing_to_adopt",
                        f"cannot adopt rule {rule_id}: the base rulebook has no such rule"
                        if base else f"cannot adopt rule {rule_id}: this rulebook extends nothing",
                        span=ident.span, related=(base_span,) if base_span else (),
                        notes=(hint,) if hint else ()))
                    continue
                adopted_here[rule_id] = item
                old = rules[rule_id]
                rules[rule_id] = Placed(old.decl, old.rulebook, old.overrides,
                                        ((rulebook_id, item.cite.value, item.severity),) + old.adopted)
            continue
        if isinstance(item, syn.Disable):
            rule_id = item.rule_id.id
            gone = next((d for d in disabled if d.rule_id == rule_id), None)
            if gone is not None and rule_id not in rules:
                # Disabled below (or twice here): say where, not that the base lacks it.
                errors.append(Diagnostic(
                    "nothing_to_disable", f"cannot disable rule {rule_id}: {gone.origin.rulebook} already disabled it",
                    span=item.rule_id.span, related=(gone.origin.span,),
                    notes=(f"its reason there: {gone.reason}",) if gone.reason else ()))
                continue
            if rule_id not in inherited_rules:
                hint = did_you_mean(rule_id, inherited_rules) if base else None
                errors.append(Diagnostic(
                    "nothing_to_disable",
                    f"cannot disable rule {rule_id}: the base rulebook has no such rule"
                    if base else f"cannot disable rule {rule_id}: this rulebook extends nothing",
                    span=item.rule_id.span, related=(base_span,) if base_span else (),
                    notes=(hint,) if hint else ()))
                continue
            if item.reason is None or not item.reason.value.strip():
                # A disabled rule stops checking a ground the base rulebook checks: a reviewer
                # (and `diff`, `compile --rules`) must be able to read why.
                errors.append(Diagnostic(
                    "disable_without_reason", f"disable rule {rule_id} says no reason",
                    span=item.rule_id.span,
                    notes=(f'write why: disable rule {rule_id} because "the plan does not apply this edit"',)))
            old = rules.pop(rule_id)
            disabled.append(ir.Disabled(rule_id, item.reason.value if item.reason else None,
                                        ir.Origin(rulebook_id, item.span, old.origin)))
            continue
        is_rule = isinstance(item, syn.Rule)
        key = syn.declared_name(item)
        space = rules if is_rule else names
        inherited = inherited_rules if is_rule else inherited_names
        own_key = ("rule" if is_rule else "name", key)
        if own_key in own:
            first = own[own_key]
            errors.append(Diagnostic(
                "duplicate_declaration", f"{syn.kind_of(item)} {key} is declared twice in this rulebook",
                span=_id_span(item), related=(_id_span(first),)))
            continue
        own[own_key] = item
        if item.override:
            if base is None:
                errors.append(Diagnostic(
                    "override_without_base", f"'override {syn.kind_of(item)} {key}' needs a base rulebook",
                    span=_id_span(item), notes=("add `extends <rulebook>@<quarter>` to the header",)))
                continue
            if key not in inherited:
                same_kind = [k for k in inherited if syn.kind_of(space[k].decl) == syn.kind_of(item)]
                hint = did_you_mean(key, same_kind)
                errors.append(Diagnostic(
                    "override_unknown",
                    f"'override {syn.kind_of(item)} {key}': the base rulebook has no {syn.kind_of(item)} {key}",
                    span=_id_span(item), related=(base_span,) if base_span else (),
                    notes=tuple(n for n in (hint, "to add something new, drop the word override") if n)))
                continue
            previous = space[key]
            if syn.kind_of(previous.decl) != syn.kind_of(item):
                errors.append(Diagnostic(
                    "override_kind",
                    f"{key} is a {syn.kind_of(previous.decl)} in the base, so it cannot be overridden by a "
                    f"{syn.kind_of(item)}",
                    span=_id_span(item), related=(_id_span(previous.decl),)))
                continue
            space[key] = Placed(item, rulebook_id, previous.origin)
            continue
        if key in inherited:
            previous = space[key]
            errors.append(Diagnostic(
                "redefined_inherited",
                f"{syn.kind_of(item)} {key} is already defined by the base rulebook {previous.rulebook}",
                span=_id_span(item), related=(_id_span(previous.decl),),
                notes=(f"to replace it, write: override {syn.kind_of(item)} {key} ...",
                       "to add a new one, choose another id")))
            continue
        space[key] = Placed(item, rulebook_id)
    return Layered(names, rules, tuple(disabled))


def _id_span(item: syn.Item) -> Span:
    if isinstance(item, syn.Rule):
        return item.id.span
    if isinstance(item, syn.Disable):
        return item.rule_id.span
    return item.name.span
