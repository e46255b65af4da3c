"""Code sets as the compiler builds them: listed codes, ranges (97010-97039) and prefixes
(M25.6*), from a `codeset` declaration or from codes written inside a condition
(`code in 98940-98942`). Kept apart so both the declarations and the resolver use it."""

from __future__ import annotations

import re

from payerlint.compile import ir
from payerlint.diagnostics import Diagnostic
from payerlint.source import Span

_DIGITS_AT_END = re.compile(r"^(.*?)([0-9]+)$")


def codeset_of(name: str, label: str | None, members, citation: str | None, origin: ir.Origin,
               errors: list[Diagnostic]) -> ir.CodeSet:
    """A code set from its members (`syn.CodeItem`s: a code or prefix, or a range)."""
    codes: set[str] = set()
    prefixes: list[str] = []
    ranges: list[tuple[str, str]] = []
    for item in members:
        if item.last is None:
            if item.first.endswith("*"):
                prefixes.append(item.first[:-1])
            else:
                codes.add(item.first)
            continue
        lo, hi = item.first, item.last
        if "*" in lo or "*" in hi or len(lo) != len(hi):
            _error(errors, "bad_range", f"a range joins two codes of the same length, like 97010-97039; "
                   f"{lo}-{hi} does not", item.span)
            continue
        if lo > hi:
            _error(errors, "bad_range", f"range {lo}-{hi} runs backwards; write {hi}-{lo}", item.span)
            continue
        expanded = _expand(lo, hi)
        if expanded is None:
            ranges.append((lo, hi))
        else:
            codes.update(expanded)
    return ir.CodeSet(name, label, frozenset(codes), tuple(sorted(set(prefixes))), tuple(sorted(set(ranges))),
                      citation, origin)


def _error(errors: list[Diagnostic], code: str, message: str, span: Span) -> None:
    errors.append(Diagnostic(code, message, span=span))


def _expand(lo: str, hi: str) -> list[str] | None:
    """List a range code by code when both ends differ only in their trailing digits
    (97010-97039, G0281-G0283, M99.00-M99.05), so a diff can name each member."""
    a, b = _DIGITS_AT_END.match(lo), _DIGITS_AT_END.match(hi)
    if not a or not b or a.group(1) != b.group(1) or len(a.group(2)) != len(b.group(2)):
        return None
    start, stop = int(a.group(2)), int(b.group(2))
    if stop - start > 100_000:
        return None
    width = len(a.group(2))
    return [f"{a.group(1)}{n:0{width}d}" for n in range(start, stop + 1)]
