"""What generated rule code calls at run time (evaluate/codegen.py), by name.

Small functions for what is not a plain Python expression: reading a field the claim may
lack, a table column that may be empty, date arithmetic that may leave the calendar, the
absence tests, and, for the traced form, a record of each read. `NAMESPACE` is the
starting namespace of every generated module.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from payerlint.evaluate.phrases import PhraseMatcher, cached_matcher, cached_service_matcher, mentions
from payerlint.evaluate.reads import DefinitionRead, MemberRead, ParamRead, PhraseRead, RowRead, TableRead
from payerlint.evaluate.values import (NO_ROW, UNSET, Missing, NoData, Unknown, absence_verdict, blank, divide,
                                      row_column, shift_date)

__all__ = ["NAMESPACE", "PhraseMatcher", "cached_matcher", "cached_service_matcher", "Raised"]


class Raised:
    """A `with` binding or definition that raised: read again, it raises the same."""

    __slots__ = ("error",)

    def __init__(self, error: Unknown):
        self.error = error


def _missing(obj, name: str):
    raise Missing(obj.ptr + "/" + name, name in obj)


def _verdict(value, test) -> bool:
    return absence_verdict(value, test[0], test[1])


def _skip(skipped: dict, rule_id: str, missing: Missing, line) -> None:
    """A rule that could not run for missing data: the lowest line it happened on (so the
    answer does not depend on the order a scope's instances are visited in)."""
    key = (rule_id, missing.pointer)
    if key not in skipped:
        skipped[key] = line
    elif line is not None and (skipped[key] is None or line < skipped[key]):
        skipped[key] = line


# -- `where` on an equality with a value from outside the list (codegen._filter):
#    `documentation.interventions where code = line.code`, read once for each line

_SEEN = object()
_UNINDEXED = object()


def _indexed(ctx, key: str, items, name: str, value):
    """The elements of `items` that may have `name` equal to `value`, from a per-claim index
    of the list by that field: the filter then tests only those (the equality again, and
    the rest of its condition), so a 50-line claim reads each line's interventions, not all
    of them 50 times. The first read of a list scans it whole (a list read once is not worth
    an index); an element without the field, or with one that cannot be a key, leaves the
    list unindexed, so what is missing is still found and reported as before. The index
    holds the list itself, so a list's id is never mistaken for another's."""
    cache = ctx.cache
    entry = cache.get(key)
    if entry is None or entry[0] is not items:
        cache[key] = (items, _SEEN)
        return items
    groups = entry[1]
    if groups is _SEEN:
        groups = {}
        try:
            for item in items:
                field = item.get(name)
                if field is None:
                    groups = _UNINDEXED
                    break
                groups.setdefault(field, []).append(item)
        except (TypeError, AttributeError):
            groups = _UNINDEXED
        cache[key] = (items, groups)
    if groups is _UNINDEXED:
        return items
    try:
        return groups.get(value, ())
    except TypeError:
        return items


# -- pairs compared on a field (codegen.Generator.pair_loop): `first.units < second.units`

RANGE_FROM = 9
"""Partners looked up by value only among this many or more: below, the index costs more
than the comparisons it saves (most claims have two to four lines)."""


def _range_index(pairs: list, name: str) -> tuple:
    """A day's (or claim's) partners grouped by one field, the groups in value order, with
    their places in `pairs`; partners without the value stay apart (the comparison is
    unknown for them, so they are always tried)."""
    groups: dict = {}
    unknown = []
    for place, pair in enumerate(pairs):
        value = pair[0].get(name)
        if value is None:
            unknown.append((place, pair))
        else:
            groups.setdefault(value, []).append((place, pair))
    keys = sorted(groups)
    return keys, [groups[k] for k in keys], unknown


def _range_pick(index: tuple, pairs: list, op: str, value) -> list:
    """The partners whose field can make `value op field` true, in their order in `pairs`:
    a partner ruled out here would have failed the comparison anyway."""
    if value is None:
        return pairs
    keys, groups, unknown = index
    if op == "<":
        low, high = bisect_right(keys, value), len(keys)
    elif op == "<=":
        low, high = bisect_left(keys, value), len(keys)
    elif op == ">":
        low, high = 0, bisect_left(keys, value)
    else:  # ">="
        low, high = 0, bisect_right(keys, value)
    if high - low == len(keys) and not unknown:
        return pairs
    picked = [item for group in groups[low:high] for item in group] + unknown
    if high - low > 1 or unknown:
        picked.sort(key=_place)
    return [pair for _, pair in picked]


def _place(item):
    return item[0]


def _dynamic_mentions(phrases, text: str, quantifier: str) -> bool:
    phrases = tuple(phrases) if isinstance(phrases, (list, tuple)) else (phrases,)
    return mentions(cached_matcher(phrases), text, quantifier)


# -- the traced form: each read is appended to ctx.trace as a typed record (evaluate/reads.py)

def _t_param(ctx, name, value):
    ctx.trace.append(ParamRead(name, value))
    return value


def _t_table(ctx, name, rows):
    ctx.trace.append(TableRead(name))
    return rows


def _t_constant(ctx, name, reads, value):
    ctx.trace.extend(reads)
    ctx.trace.append(DefinitionRead(name, (), value))
    return value


def _t_row(ctx, name, rows, key):
    row = rows.get(key, NO_ROW)
    ctx.trace.append(RowRead(name, key, row is not NO_ROW))
    return row


def _t_member(ctx, name, codes, value):
    result = value in codes
    ctx.trace.append(MemberRead(name, value, result))
    return result


def _t_row_member(ctx, name, rows, value):
    result = (value,) in rows
    ctx.trace.append(RowRead(name, (value,), result))
    return result


def _t_mentions(ctx, matcher, text, quantifier):
    for phrase in matcher.matched(text):
        ctx.trace.append(PhraseRead(matcher.name, phrase))
    return mentions(matcher, text, quantifier)


NAMESPACE = {
    "UNSET": UNSET, "NO_ROW": NO_ROW, "_Raised": Raised, "Missing": Missing, "NoData": NoData, "Unknown": Unknown,
    "_missing": _missing, "_column": row_column, "_shift": shift_date, "_divide": divide, "_verdict": _verdict, "_blank": blank,
    "_mentions": mentions, "_dynamic_mentions": _dynamic_mentions, "_skip": _skip,
    "_range_index": _range_index, "_range_pick": _range_pick, "_indexed": _indexed,
    "_t_param": _t_param, "_t_table": _t_table, "_t_constant": _t_constant, "_t_row": _t_row,
    "_t_member": _t_member, "_t_row_member": _t_row_member, "_t_mentions": _t_mentions,
    "_DefinitionRead": DefinitionRead,
}
