"""Codes in code sets that no claim can carry: ICD-10-CM codes missing from the
installed release (or categories that are not billable), and words that have the shape
of no code at all.

What a member is, by its shape (the way code sets write them):
- with a dot, or a letter, a digit and one more character (`M54`): ICD-10-CM;
- five digits, or four digits and F, T or U: CPT (categories I, II, III and PLA);
- a letter and four digits: HCPCS level II;
- two letters or digits: a modifier.
A prefix (`S93.4*`) must have an ICD-10-CM code under it when it is an ICD-10-CM prefix;
other prefixes and CPT/HCPCS codes are checked by shape only (CPT is the AMA's; no code
list ships with payerlint).
"""

from __future__ import annotations

import re

from payerlint.diagnostics import Diagnostic
from payerlint.syntax import tree as syn

ICD = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
CPT = re.compile(r"[0-9]{5}|[0-9]{4}[FTU]")
HCPCS = re.compile(r"[A-V][0-9]{4}")
MODIFIER = re.compile(r"[0-9A-Z]{2}")


def shape_of(code: str) -> str | None:
    """icd10, cpt, hcpcs, modifier, or None for no code shape."""
    if "." in code:
        return "icd10" if ICD.fullmatch(code) else None
    if CPT.fullmatch(code):
        return "cpt"
    if HCPCS.fullmatch(code):
        return "hcpcs"
    if MODIFIER.fullmatch(code):
        return "modifier"
    if ICD.fullmatch(code):
        return "icd10"
    return None


def code_problems(tree: syn.Rulebook) -> list[Diagnostic]:
    from payerlint.lint.checks import _syntax_nodes

    found = []
    for item in tree.items:
        if isinstance(item, syn.CodeSet):
            for member in item.members:
                found += _member(member, f"code set {item.name.id}")
        else:
            for node in _syntax_nodes(item):
                if isinstance(node, syn.Codes):
                    found += _member(node.item, "this condition")
    return found


def _member(item: syn.CodeItem, where: str) -> list[Diagnostic]:
    from payerlint.compile.declarations import _expand
    from payerlint.lint.checks import warn

    if item.last is not None:
        codes = _expand(item.first, item.last) or [item.first, item.last]
        problems = []
        for code in codes:
            problems += _code(code, item, where)
            if problems:
                break  # one warning per range
        return problems
    if item.first.endswith("*"):
        prefix = item.first[:-1]
        if "." in prefix or (len(prefix) == 3 and ICD.fullmatch(prefix)):
            if not _icd().has_codes_under(prefix.rstrip(".")):
                return [warn("code_not_in_icd10", f"{item.first} in {where}: no ICD-10-CM code starts with "
                             f"{prefix} in {_icd().release.name}", item.span,
                             "check the prefix against the code set's source")]
        return []
    return _code(item.first, item, where)


def _code(code: str, item: syn.CodeItem, where: str) -> list[Diagnostic]:
    from payerlint.lint.checks import warn

    shape = shape_of(code)
    if shape is None:
        return [warn("code_shape", f"{code} in {where} has the shape of no code", item.span,
                     "CPT is 5 digits (97140), HCPCS a letter and 4 digits (G0283), a modifier 2 characters (GP, "
                     "59), ICD-10-CM a letter, 2 characters, a dot and up to 4 more (M54.12)")]
    if shape != "icd10":
        return []
    status = _icd().status(code)
    if status == "billable":
        return []
    if status == "header":
        hint = _icd().explain(code) or ""
        return [warn("icd10_not_billable", f"{code} in {where} is an ICD-10-CM category, not a billable code",
                     item.span, hint, f"to mean every code under it, write {code}*")]
    return [warn("code_not_in_icd10", f"{code} in {where} is not an ICD-10-CM code in {_icd().release.name}",
                 item.span, "check it against the code set's source; a code deleted this year is no longer "
                 "billable")]


def _icd():
    from payerlint.builtins import icd10_codes

    return icd10_codes()
