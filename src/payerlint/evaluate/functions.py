"""The implementations of the built-in functions: what the evaluator runs for each.

`IMPLEMENTATIONS[name](argument types)` gives the function the generated code calls with
the values (evaluate/codegen.py). The compiler's side, the signatures, is
`compile/signatures.py`. An implementation that has no answer (the minimum of nothing)
raises `NoValue`, a kind of NoData: the condition using it cannot hold.
"""

from __future__ import annotations

import re as _re
from datetime import date
from bisect import bisect_left
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Sequence

from payerlint.compile import types as T
from payerlint.compile.types import Type
from payerlint.evaluate.values import NoData


class NoValue(NoData):
    """Raised by an implementation that has no answer (the minimum of nothing). It is a
    kind of NoData: the condition using it cannot hold, as with a missing table row."""

    def __init__(self, reason: str = "no value"):
        super().__init__(reason)


def _zero(t: Type):
    return Decimal("0.00") if t.name == "money" else Decimal(0) if t.name == "decimal" else 0


def _sum_build(args):
    zero = _zero(args[0].item or T.INTEGER)

    def total(values):
        return sum(values, zero)

    return total


def _extreme_build(pick):
    def build(args):
        if len(args) >= 2:
            return lambda *values: pick(values)

        def over_list(values):
            if not values:
                raise NoValue("an empty list has no minimum or maximum")
            return pick(values)

        return over_list

    return build


def _any_build(args):
    if args[0].item == T.BOOLEAN:
        return lambda values: any(values)
    # any(lines where ...): is there at least one?
    return lambda values: len(values) > 0


def _all_build(args):
    if args[0].item == T.BOOLEAN:
        return lambda values: all(values)
    return lambda values: True


def _age_on(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def cms_total_units(minutes: int) -> int:
    """Units the CMS 8-minute rule allows for a day's total timed minutes
    (Pub. 100-04 Ch. 5 sec. 20.2): under 8 minutes none, 8-22 one, 23-37 two, and one
    more for each further 15 minutes, with no upper limit.

    >>> [cms_total_units(m) for m in (7, 8, 22, 23, 37, 38, 127, 128)]
    [0, 1, 1, 2, 2, 3, 8, 9]
    """
    return 0 if minutes < 8 else (minutes + 7) // 15


def ama_code_units(minutes: int) -> int:
    """Units the AMA/CPT midpoint rule allows for one code's minutes: a unit is earned
    once its midpoint (7.5 minutes) is passed, code by code, without pooling.

    >>> [ama_code_units(m) for m in (7, 8, 22, 23)]
    [0, 1, 1, 2]
    """
    return (minutes + 7) // 15


def cms_allocation(minutes: Sequence[int]) -> list[int]:
    """Units per service under the CMS total-time method (Pub. 100-04 Ch. 5 sec. 20.2):
    the day's total comes from the 8-minute table; each service first gets its full
    15-minute units; the units left go one at a time to the largest remaining minutes
    (ties to the service with more minutes, then to the earlier line, since either is
    correct).

    >>> cms_allocation([24, 23])      # CMS Example 1: 47 minutes, 3 units
    [2, 1]
    >>> cms_allocation([33, 7])       # CMS Example 3: 97110 x2, 97140 x1
    [2, 1]
    >>> cms_allocation([18, 13, 10, 8])   # Example 4: 49 minutes, 3 units, 97035 gets none
    [1, 1, 1, 0]
    """
    total = cms_total_units(sum(minutes))
    units = [m // 15 for m in minutes]
    left = total - sum(units)
    order = sorted(range(len(minutes)), key=lambda i: (-(minutes[i] % 15), -minutes[i], i))
    for i in order[:max(0, left)]:
        units[i] += 1
    return units


def _line_minutes(line) -> int:
    from payerlint.evaluate.values import Missing

    value = line.get("minutes")
    if value is None:
        raise Missing(line.ptr + "/minutes", "minutes" in line)
    return value


@lru_cache(maxsize=8192)
def _allocation(minutes: tuple) -> tuple:
    # Each line of a date asks for its share of the same allocation: computed once.
    return tuple(cms_allocation(minutes))


def _cms_share(lines, line, memo: dict | None = None) -> int:
    # Every line of a date asks for its share of the same list: with the claim's memo the
    # minutes and each line's place are read once per list, so a date of 50 lines costs 50
    # look-ups, not 50 walks of 50 lines. The memo holds the list, so its id stays its own,
    # and the allocation once made (not a hash of all 50 minutes for each line's share).
    entry = memo.get(("cms_share", id(lines))) if memo is not None else None
    if entry is None or entry[0] is not lines:
        minutes = tuple([l.get("minutes") for l in lines])
        entry = [lines, minutes, {id(l): position for position, l in enumerate(lines)}, None]
        if memo is not None:
            memo[("cms_share", id(lines))] = entry
    position = entry[2].get(id(line))
    if position is None:
        # A line outside the group gets nothing from the group's allocation.
        return 0
    shares = entry[3]
    if shares is None:
        minutes = entry[1]
        if None in minutes:
            _line_minutes(lines[minutes.index(None)])  # raises Missing, naming the line
        shares = entry[3] = _allocation(minutes)
    return shares[position]


def _charges_before(lines, line, memo: dict | None = None) -> Decimal:
    # A running total, computed once per list with the claim's memo: each of a 50-line
    # claim's lines asking "what came before me" would otherwise add up to 49 lines again.
    if len(lines) <= 8 or memo is None:
        # A few lines: adding them up is cheaper than building the running total.
        total = Decimal("0.00")
        for other in lines:
            if other["index"] < line["index"]:
                charge = other.get("charge")
                if charge is None:
                    _missing_field(other, "charge")
                total += charge
        return total
    entry = memo.get(("charges_before", id(lines)))
    if entry is None or entry[0] is not lines:
        ordered = sorted(lines, key=lambda l: l["index"])
        totals, missing, running = [Decimal("0.00")], None, Decimal("0.00")
        for position, other in enumerate(ordered):
            charge = other.get("charge")
            if charge is None:
                missing = position if missing is None else missing
                charge = Decimal("0.00")
            running += charge
            totals.append(running)
        entry = memo[("charges_before", id(lines))] = (lines, [l["index"] for l in ordered], totals, missing, ordered)
    _, indexes, totals, missing, ordered = entry
    count = bisect_left(indexes, line["index"])
    if missing is not None and missing < count:
        _missing_field(ordered[missing], "charge")
    return totals[count]


def _missing_field(obj, name: str):
    from payerlint.evaluate.values import Missing

    raise Missing(obj.ptr + "/" + name, name in obj)


def _first(values):
    if not values:
        raise NoValue("an empty list has no first element")
    return values[0]


def _distinct(values):
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _position(values, value):
    try:
        return list(values).index(value)
    except ValueError:
        raise NoValue("the value is not in the list") from None


_NUMBER = _re.compile(r"\d+(?:[.,]\d+)?")


_SIDE_WORDS = {"l": "left", "lt": "left", "lft": "left", "r": "right", "rt": "right", "rgt": "right",
               "bilat": "bilateral", "bil": "bilateral"}


_BOTH_SIDES = _re.compile(r"(?<![^\W_])b\s*/\s*l(?![^\W_])")


_WORD = _re.compile(r"[^\W_]+")


def normal_text(text: str) -> str:
    """Text as `same_text` compares it: Unicode-normalised (NFKC), case folded, every run of
    characters other than letters and digits read as one space, laterality abbreviations
    spelled out (L, Lt, Lft: left; R, Rt, Rgt: right; Bilat, Bil, B/L: bilateral).

    >>> normal_text("  L.  Ankle ")
    'left ankle'
    >>> normal_text("Lumbar-Spine"), normal_text("B/L knees")
    ('lumbar spine', 'bilateral knees')
    """
    import unicodedata

    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _BOTH_SIDES.sub(" bilateral ", folded)
    return " ".join(_SIDE_WORDS.get(word, word) for word in _WORD.findall(folded))


_icd_lock = __import__("threading").Lock()


_icd_codes = None


def icd10_codes():
    """The ICD-10-CM code set, loaded once per process from its compact cache (see
    payerlint.icd10); never on the per-claim path after the first call."""
    global _icd_codes
    if _icd_codes is not None:  # loaded: no lock needed to read it
        return _icd_codes
    with _icd_lock:
        if _icd_codes is None:
            from payerlint.icd10 import load_codes

            _icd_codes = load_codes()
        return _icd_codes


def _icd_status(code: str) -> str:
    return icd10_codes().status(code)


def _icd_hint(code: str) -> str:
    return icd10_codes().explain(code) or f"{code} is not an ICD-10-CM code in {icd10_codes().release.name}"


def _at_positions(values, positions):
    return [values[p - 1] for p in positions if 1 <= p <= len(values)]


def _phrases_found(texts, phrases):
    from payerlint.evaluate.phrases import cached_matcher

    texts = [texts] if isinstance(texts, str) else list(texts)
    phrases = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    return cached_matcher(phrases).found(texts)


def _services_found(texts, phrases):
    from payerlint.evaluate.phrases import cached_service_matcher

    texts = [texts] if isinstance(texts, str) else list(texts)
    phrases = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    return cached_service_matcher(phrases).found(texts)


def assistant_units(units: int, minutes: int, assistant_minutes: int, de_minimis_percent: int = 10) -> int:
    """How many of a timed line's units take the assistant modifier (CQ or CO), the way
    CMS counts them from CY2022 (CMS Therapy Services page, "Billing Examples Using CQ/CO
    Modifiers"; CY2022 PFS final rule):
    - each full 15 minutes one clinician furnished alone is that clinician's unit;
    - one remaining unit goes without CQ/CO when the therapist furnished 8 minutes or more
      of it (exception a), else with CQ/CO unless the assistant's part of it is
      de_minimis_percent (10, CY2020) or less;
    - two remaining units, each clinician 9-14 minutes of them, are one with and one
      without (exception b).
    Units billed below what the minutes support are counted as the therapist's first
    (an ASSUMPTION: no source covers under-billed lines; the units rules flag them).

    >>> assistant_units(2, 36, 23)    # CMS scenario: PTA 23 and PT 13 minutes of 97110
    1
    >>> assistant_units(3, 45, 4), assistant_units(1, 15, 7), assistant_units(2, 26, 13), assistant_units(2, 30, 30)
    (0, 0, 1, 2)
    """
    therapist = minutes - assistant_minutes
    if units <= 0 or assistant_minutes <= 0:
        return 0
    if therapist <= 0:
        return units
    therapist_full, assistant_full = therapist // 15, assistant_minutes // 15
    if therapist_full >= units:
        return 0
    assistant_full = min(assistant_full, units - therapist_full)
    remaining = units - therapist_full - assistant_full
    therapist_left, assistant_left = therapist - 15 * therapist_full, assistant_minutes - 15 * assistant_full
    if remaining == 1:
        if therapist_left >= 8:
            return assistant_full
        over = assistant_left * 100 > (assistant_left + therapist_left) * de_minimis_percent
        return assistant_full + (1 if over else 0)
    if remaining >= 2:
        # Two remaining units come from fewer than 30 leftover minutes: one each (exception b).
        return assistant_full + remaining - 1
    return assistant_full


def money_share(amount: Decimal, part: int, whole: int) -> Decimal:
    """`amount` x part / whole, to the cent (half up): a line's charge for some of its units.

    >>> money_share(Decimal("96.00"), 1, 3)
    Decimal('32.00')
    """
    if not whole:
        raise NoValue("a share of nothing")
    from decimal import ROUND_HALF_UP

    return (Decimal(amount) * part / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def split_line(line, units: int, minutes: int, modifier: str) -> dict:
    """A copy of a claim line for `units` of its units and `minutes` of its minutes, all
    furnished by the assistant, with `modifier` added and its share of the charge: the new
    line a fix adds when one line's units are split between therapist and assistant."""
    # Who performed the line was the therapist; the new line is the assistant's, which its
    # assistant_minutes say: `performed_by` is not copied (it would name the therapist).
    out = {key: value for key, value in line.items() if key not in ("index", "performed_by")}
    old_units = line.get("units") or 0
    out["units"] = units
    out["minutes"] = minutes
    out["assistant_minutes"] = minutes
    out["modifiers"] = [m for m in line.get("modifiers", ()) if m != modifier] + [modifier]
    if line.get("charge") is not None and old_units:
        out["charge"] = money_share(line["charge"], units, old_units)
    return out


def _remainder(value, divisor):
    if divisor == 0:
        raise NoValue("the remainder of a division by zero")
    return value % divisor


MEMOISED = frozenset({"cms_share", "charges_before"})
"""Functions the generated code also hands the claim's evaluation cache (its last argument)."""

IMPLEMENTATIONS: dict[str, Callable[[Sequence[Type]], Callable]] = {
    'count': lambda args: len,
    'sum': _sum_build,
    'min': _extreme_build(min),
    'max': _extreme_build(max),
    'any': _any_build,
    'all': _all_build,
    'days_between': lambda args: lambda a, b: (b - a).days,
    'age_on': lambda args: _age_on,
    'year': lambda args: lambda d: d.year,
    'length': lambda args: len,
    'word_count': lambda args: lambda s: len(s.split()),
    'cms_units': lambda args: cms_total_units,
    'ama_units': lambda args: ama_code_units,
    'cms_share': lambda args: _cms_share,
    'charges_before': lambda args: _charges_before,
    'first': lambda args: _first,
    'distinct': lambda args: _distinct,
    'sorted': lambda args: sorted,
    'position': lambda args: _position,
    'same_text': lambda args: lambda a, b: normal_text(a) == normal_text(b),
    'normal_text': lambda args: normal_text,
    'number_count': lambda args: lambda s: len(_NUMBER.findall(s)),
    'icd10_status': lambda args: _icd_status,
    'icd10_hint': lambda args: _icd_hint,
    'icd10_valid_through': lambda args: lambda: icd10_codes().release.valid_to,
    'icd10_release': lambda args: lambda: icd10_codes().release.name,
    'at_positions': lambda args: _at_positions,
    'phrases_found': lambda args: _phrases_found,
    'services_found': lambda args: _services_found,
    'assistant_units': lambda args: assistant_units,
    'money_share': lambda args: money_share,
    'split_line': lambda args: split_line,
    'remainder': lambda args: _remainder,
}
