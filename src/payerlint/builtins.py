"""Built-in functions: a short list of general tools, as a table.

Each entry has the words an author calls it by, a signature check used by the compiler,
and an implementation used by the evaluator. Payer knowledge never lives here: these
are counting, arithmetic, dates and the two published ways of turning minutes into
units, which any rulebook may choose between.

To add a function, add an entry to `BUILTINS`; the compiler, the evaluator and
`payerlint builtins` pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from decimal import Decimal
from typing import Callable, Sequence

from payerlint.compile import types as T
from payerlint.compile.types import Type


from payerlint.evaluate.values import NoData


class NoValue(NoData):
    """Raised by an implementation that has no answer (the minimum of nothing). It is a
    kind of NoData: the condition using it cannot hold, as with a missing table row."""

    def __init__(self, reason: str = "no value"):
        super().__init__(reason)


class SignatureError(Exception):
    """Raised by a signature check; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    usage: str
    """How it is called, with an example, shown in errors and by `payerlint builtins`."""
    doc: str
    check: Callable[[Sequence[Type]], Type]
    build: Callable[[Sequence[Type]], Callable]
    """Given the argument types, the function the evaluator calls with the values."""
    aggregate: bool = False


def _arity(args: Sequence[Type], n: int, usage: str) -> None:
    if len(args) != n:
        raise SignatureError(f"takes {n} argument{'s' if n != 1 else ''}: {usage}")


def _list_arg(args: Sequence[Type], usage: str) -> Type:
    _arity(args, 1, usage)
    if args[0] == T.UNKNOWN:
        return T.UNKNOWN
    if not T.is_list(args[0]):
        raise SignatureError(f"expects a list, got {args[0]}: {usage}")
    return args[0].item or T.UNKNOWN


def _zero(t: Type):
    return Decimal("0.00") if t.name == "money" else Decimal(0) if t.name == "decimal" else 0


# ------------------------------------------------------------------ aggregates


def _count_check(args):
    _list_arg(args, "count(lines where code in timed)")
    return T.INTEGER


def _sum_check(args):
    item = _list_arg(args, "sum(minutes of lines where code in timed)")
    if item not in (T.UNKNOWN,) and item.name not in T.NUMERIC:
        raise SignatureError(f"adds numbers, but the list holds {item}: sum(minutes of lines)")
    return T.INTEGER if item == T.UNKNOWN else item


def _sum_build(args):
    zero = _zero(args[0].item or T.INTEGER)

    def total(values):
        return sum(values, zero)

    return total


def _extreme_check(args):
    if len(args) >= 2:
        result = args[0]
        for other in args[1:]:
            unified = T.unify(result, other)
            if unified is None or unified.name not in T.NUMERIC | {"date", "unknown"}:
                raise SignatureError(f"compares numbers or dates, got {result} and {other}: max(a, b)")
            result = unified
        return result
    item = _list_arg(args, "max(minutes of lines) or max(a, b)")
    if item != T.UNKNOWN and item.name not in T.NUMERIC | {"date"}:
        raise SignatureError(f"compares numbers or dates, but the list holds {item}")
    return item


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


def _anyall_check(args):
    _list_arg(args, "any(lines where code in timed)")
    return T.BOOLEAN


def _all_check(args):
    item = _list_arg(args, "all(units > 0 of lines where code in timed)")
    if item not in (T.BOOLEAN, T.UNKNOWN):
        raise SignatureError(f"needs a list of yes/no values, not of {item}: all(units > 0 of lines where code in timed)")
    return T.BOOLEAN


def _any_build(args):
    if args[0].item == T.BOOLEAN:
        return lambda values: any(values)
    # any(lines where ...): is there at least one?
    return lambda values: len(values) > 0


def _all_build(args):
    if args[0].item == T.BOOLEAN:
        return lambda values: all(values)
    return lambda values: True


# ------------------------------------------------------------------ dates, text


def _dates_check(usage, result):
    def check(args):
        _arity(args, 2, usage)
        for arg in args:
            if arg not in (T.DATE, T.UNKNOWN):
                raise SignatureError(f"expects dates, got {arg}: {usage}")
        return result

    return check


def _age_on(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def _one(usage, accepted, result, wanted: str = ""):
    def check(args):
        _arity(args, 1, usage)
        if args[0] != T.UNKNOWN and not any(accept(args[0]) for accept in accepted):
            expects = f"expects {wanted}, got {args[0]}" if wanted else f"does not accept {args[0]}"
            raise SignatureError(f"{expects}: {usage}")
        return result

    return check


def _is(name):
    return lambda t: t.name == name


# ------------------------------------------------------------------ units of time


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


BUILTINS: dict[str, Builtin] = {}


def _add(builtin: Builtin) -> None:
    BUILTINS[builtin.name] = builtin


_add(Builtin("count", "count(lines where code in timed)", "How many elements the list has.",
             _count_check, lambda args: len, aggregate=True))
_add(Builtin("sum", "sum(minutes of lines where code in timed)", "The total of a list of numbers (0 when empty).",
             _sum_check, _sum_build, aggregate=True))
_add(Builtin("min", "min(date of lines) or min(a, b)", "The smallest of a list, or of its arguments.",
             _extreme_check, _extreme_build(min), aggregate=True))
_add(Builtin("max", "max(minutes of lines) or max(a, b)", "The largest of a list, or of its arguments.",
             _extreme_check, _extreme_build(max), aggregate=True))
_add(Builtin("any", "any(lines where code in timed)",
             "For a list of yes/no values: whether one is yes. For other lists: whether the list is not empty.",
             _anyall_check, _any_build, aggregate=True))
_add(Builtin("all", "all(units > 0 of lines where code in timed)",
             "For a list of yes/no values: whether every one is yes (yes when empty).",
             _all_check, _all_build, aggregate=True))
_add(Builtin("days_between", "days_between(episode.evaluation_date, date_of_service)",
             "Days from the first date to the second (negative when the second is earlier).",
             _dates_check("days_between(start, end)", T.DAYS), lambda args: lambda a, b: (b - a).days))
_add(Builtin("age_on", "age_on(patient.birth_date, date_of_service)",
             "Age in whole years on a date (a birthday counts on the day itself).",
             _dates_check("age_on(birth_date, on_date)", T.INTEGER), lambda args: _age_on))
_add(Builtin("year", "year(date_of_service)", "The calendar year of a date.",
             _one("year(date)", [_is("date")], T.INTEGER, "a date"), lambda args: lambda d: d.year))
_add(Builtin("length", "length(modifiers)", "How many characters a text has, or how many elements a list has.",
             _one("length(text or list)", [T.is_texty, T.is_list], T.INTEGER, "text or a list"), lambda args: len))
_add(Builtin("word_count", "word_count(documentation.patient_response)", "How many words a text has.",
             _one("word_count(text)", [T.is_texty], T.INTEGER, "text"), lambda args: lambda s: len(s.split())))
_add(Builtin("cms_units", "cms_units(timed_minutes)",
             "CMS total-time method (8-minute rule): the units a day's total timed minutes support. "
             "8-22 minutes = 1, 23-37 = 2, and one more per 15 minutes.",
             _one("cms_units(minutes)", [_is("minutes"), _is("integer")], T.INTEGER, "minutes"), lambda args: cms_total_units))
_add(Builtin("ama_units", "ama_units(minutes)",
             "AMA/CPT per-code midpoint method: the units one code's minutes support on their own "
             "(8 minutes make the first unit; minutes are not pooled across codes).",
             _one("ama_units(minutes)", [_is("minutes"), _is("integer")], T.INTEGER, "minutes"), lambda args: ama_code_units))


# ------------------------------------------------------------------ the CMS allocation of units


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


def _share_check(args):
    usage = "cms_share(lines where code in timed and date = line.date, line)"
    _arity(args, 2, usage)
    if args[0] != T.UNKNOWN and not (T.is_list(args[0]) and args[0].item == T.line_type()):
        raise SignatureError(f"expects a list of lines first, got {args[0]}: {usage}")
    if args[1] not in (T.line_type(), T.UNKNOWN):
        raise SignatureError(f"expects a line second, got {args[1]}: {usage}")
    return T.INTEGER


@lru_cache(maxsize=8192)
def _allocation(minutes: tuple) -> tuple:
    # Each line of a date asks for its share of the same allocation: computed once.
    return tuple(cms_allocation(minutes))


def _cms_share(lines, line) -> int:
    for position, other in enumerate(lines):
        if other is line:
            return _allocation(tuple([_line_minutes(l) for l in lines]))[position]
    # A line outside the group gets nothing from the group's allocation.
    return 0


_add(Builtin("cms_share", "cms_share(lines where code in timed and date = line.date, line)",
             "The units the CMS total-time method gives one line among the timed lines of its date: "
             "full 15-minute units first, then the remaining units by largest leftover minutes.",
             _share_check, lambda args: _cms_share))


# ------------------------------------------------------------------ lists


def _first_check(args):
    item = _list_arg(args, "first(diagnoses)")
    return item


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


def _position_check(args):
    usage = 'position(modifiers, "59")'
    _arity(args, 2, usage)
    if args[0] != T.UNKNOWN and not T.is_list(args[0]):
        raise SignatureError(f"expects a list first: {usage}")
    return T.INTEGER


def _position(values, value):
    try:
        return list(values).index(value)
    except ValueError:
        raise NoValue("the value is not in the list") from None


def _same_list(args):
    item = _list_arg(args, "distinct(code of lines)")
    return T.list_of(item)


_add(Builtin("first", "first(diagnoses)", "The first element of a list (the primary diagnosis, for diagnoses).",
             _first_check, lambda args: _first))
_add(Builtin("distinct", "distinct(code of lines)", "The list without repeats, in first-seen order.",
             _same_list, lambda args: _distinct))
_add(Builtin("sorted", "sorted(modifiers)", "The list in ascending order.",
             _same_list, lambda args: sorted))
_add(Builtin("position", 'position(modifiers, "59")', "Where a value first appears in a list, counting from 0.",
             _position_check, lambda args: _position))


# ------------------------------------------------------------------ text

import re as _re

_NUMBER = _re.compile(r"\d+(?:[.,]\d+)?")

# Laterality words written the short way, and the word they stand for. Only a whole word
# is replaced ("L ankle" -> "left ankle"; "L4-L5" keeps its "l4"); "L spine" for the
# lumbar spine would read "left spine", which no body region is called, so it can only
# match itself.
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


def _same_text_check(args):
    usage = "same_text(line.body_region, documentation.interventions[0].body_region)"
    _arity(args, 2, usage)
    for arg in args:
        if arg != T.UNKNOWN and not T.is_texty(arg):
            raise SignatureError(f"compares two texts, got {arg}: {usage}")
    return T.BOOLEAN


_add(Builtin("same_text", 'same_text(body_region, "left ankle")',
             "Whether two texts say the same once case, spacing and punctuation are ignored and "
             "L/Lt, R/Rt and Bilat/B/L are read as left, right and bilateral (see normal_text).",
             _same_text_check, lambda args: lambda a, b: normal_text(a) == normal_text(b)))
_add(Builtin("normal_text", "normal_text(body_region)",
             "The text as same_text compares it: lower case, single spaces, punctuation dropped, "
             'laterality spelled out ("L. Ankle" gives "left ankle").',
             _one("normal_text(text)", [T.is_texty], T.TEXT, "text"), lambda args: normal_text))

_add(Builtin("number_count", "number_count(documentation.patient_response)",
             "How many numbers a text contains (measurable statements have some: 'ROM 5 to 12 degrees').",
             _one("number_count(text)", [T.is_texty], T.INTEGER, "text"), lambda args: lambda s: len(_NUMBER.findall(s))))


# ------------------------------------------------------------------ ICD-10-CM code set

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


_add(Builtin("icd10_status", "icd10_status(first(diagnoses))",
             'ICD-10-CM status of a code in the installed release: "billable" (a leaf of the tabular '
             'list), "header" (a category with more specific codes) or "unknown".',
             _one("icd10_status(code)", [T.is_texty], T.TEXT, "a code"), lambda args: _icd_status))
_add(Builtin("icd10_hint", "icd10_hint(code)",
             "A short hint for a code that is not billable (a header's more specific codes, a missing 7th character).",
             _one("icd10_hint(code)", [T.is_texty], T.TEXT, "a code"), lambda args: _icd_hint))


def _no_args(usage, result):
    def check(args):
        _arity(args, 0, usage)
        return result
    return check


_add(Builtin("icd10_valid_through", "icd10_valid_through()",
             "The last date of the fiscal year of the installed ICD-10-CM release (FY runs October to September).",
             _no_args("icd10_valid_through()", T.DATE), lambda args: lambda: icd10_codes().release.valid_to))
_add(Builtin("icd10_release", "icd10_release()", "The name of the installed ICD-10-CM release, for messages.",
             _no_args("icd10_release()", T.TEXT), lambda args: lambda: icd10_codes().release.name))


def _positions_check(args):
    usage = "at_positions(diagnoses, diagnosis_pointers)"
    _arity(args, 2, usage)
    if args[0] != T.UNKNOWN and not T.is_list(args[0]):
        raise SignatureError(f"expects a list first: {usage}")
    if args[1] != T.UNKNOWN and not (T.is_list(args[1]) and args[1].item in (T.INTEGER, T.UNKNOWN)):
        raise SignatureError(f"expects a list of whole numbers second: {usage}")
    return args[0]


def _at_positions(values, positions):
    return [values[p - 1] for p in positions if 1 <= p <= len(values)]


_add(Builtin("at_positions", "at_positions(diagnoses, diagnosis_pointers)",
             "The elements at the given positions, counting from 1 (positions past the end are skipped): "
             "the diagnoses a line points to.",
             _positions_check, lambda args: _at_positions))


def _found_check(args):
    usage = "phrases_found(technique of documentation.interventions, phrase of technique_guidance)"
    _arity(args, 2, usage)
    for arg in args:
        if arg != T.UNKNOWN and not (T.is_texty(arg) or (T.is_list(arg) and arg.item in (T.TEXT, T.CODE, T.UNKNOWN))):
            raise SignatureError(f"expects texts or lists of texts: {usage}")
    return T.list_of(T.TEXT)


def _phrases_found(texts, phrases):
    from payerlint.evaluate.phrases import cached_matcher

    texts = [texts] if isinstance(texts, str) else list(texts)
    phrases = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    return cached_matcher(phrases).found(texts)


_add(Builtin("phrases_found", "phrases_found(technique of documentation.interventions, phrase of technique_guidance)",
             "The phrases (from a list, such as a table column) that occur in any of the texts, as whole words "
             "ignoring case: one scan per text, however many phrases.",
             _found_check, lambda args: _phrases_found))


def _remainder_check(args):
    usage = "remainder(minutes, 15)"
    _arity(args, 2, usage)
    for arg in args:
        if arg != T.UNKNOWN and arg.name not in ("integer", "minutes", "days"):
            raise SignatureError(f"works on whole numbers, got {arg}: {usage}")
    return args[0] if args[0] != T.UNKNOWN else T.INTEGER


def _remainder(value, divisor):
    if divisor == 0:
        raise NoValue("the remainder of a division by zero")
    return value % divisor


_add(Builtin("remainder", "remainder(minutes, 15)",
             "What is left after taking out whole multiples: the minutes beyond a code's full 15-minute units.",
             _remainder_check, lambda args: _remainder))
