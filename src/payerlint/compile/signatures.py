"""The signatures of the built-in functions: what the compiler knows of each.

Each entry has the words an author calls it by, an example of a call, a one-line
description, and a check that takes the argument types and gives the result type (or a
`SignatureError` saying what was expected). The evaluator's side of each function, its
implementation, is `evaluate/functions.py`; a test holds both tables to the same names,
and `payerlint builtins` lists them (payerlint/builtins.py joins the two).

Payer knowledge never lives here: these are counting, arithmetic, dates, text, and the two
published ways of turning minutes into units, which any rulebook may choose between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from payerlint.compile import types as T
from payerlint.compile.types import Type


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    usage: str
    """How it is called, with an example, shown in errors and by `payerlint builtins`."""
    doc: str
    check: Callable[[Sequence[Type]], Type]
    aggregate: bool = False


class SignatureError(Exception):
    """Raised by a signature check; the message says what was expected."""


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


def _count_check(args):
    _list_arg(args, "count(lines where code in timed)")
    return T.INTEGER


def _sum_check(args):
    item = _list_arg(args, "sum(minutes of lines where code in timed)")
    if item not in (T.UNKNOWN,) and item.name not in T.NUMERIC:
        raise SignatureError(f"adds numbers, but the list holds {item}: sum(minutes of lines)")
    return T.INTEGER if item == T.UNKNOWN else item


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


def _anyall_check(args):
    _list_arg(args, "any(lines where code in timed)")
    return T.BOOLEAN


def _all_check(args):
    item = _list_arg(args, "all(units > 0 of lines where code in timed)")
    if item not in (T.BOOLEAN, T.UNKNOWN):
        raise SignatureError(f"needs a list of yes/no values, not of {item}: all(units > 0 of lines where code in timed)")
    return T.BOOLEAN


def _dates_check(usage, result):
    def check(args):
        _arity(args, 2, usage)
        for arg in args:
            if arg not in (T.DATE, T.UNKNOWN):
                raise SignatureError(f"expects dates, got {arg}: {usage}")
        return result

    return check


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


def _lines_and_line(usage: str, result):
    """`f(list of lines, line)`: a line's share of, or place in, a list of lines."""
    def check(args):
        _arity(args, 2, usage)
        if args[0] != T.UNKNOWN and not (T.is_list(args[0]) and args[0].item == T.line_type()):
            raise SignatureError(f"expects a list of lines first, got {args[0]}: {usage}")
        if args[1] not in (T.line_type(), T.UNKNOWN):
            raise SignatureError(f"expects a line second, got {args[1]}: {usage}")
        return result

    return check


_share_check = _lines_and_line("cms_share(lines where code in timed and date = line.date, line)", T.INTEGER)
_charges_before_check = _lines_and_line("charges_before(lines where code in always_therapy, line)", T.MONEY)


def _first_check(args):
    item = _list_arg(args, "first(diagnoses)")
    return item


def _position_check(args):
    usage = 'position(modifiers, "59")'
    _arity(args, 2, usage)
    if args[0] != T.UNKNOWN and not T.is_list(args[0]):
        raise SignatureError(f"expects a list first: {usage}")
    return T.INTEGER


def _same_list(args):
    item = _list_arg(args, "distinct(code of lines)")
    return T.list_of(item)


def _same_text_check(args):
    usage = "same_text(line.body_region, documentation.interventions[0].body_region)"
    _arity(args, 2, usage)
    for arg in args:
        if arg != T.UNKNOWN and not T.is_texty(arg):
            raise SignatureError(f"compares two texts, got {arg}: {usage}")
    return T.BOOLEAN


def _no_args(usage, result):
    def check(args):
        _arity(args, 0, usage)
        return result
    return check


def _positions_check(args):
    usage = "at_positions(diagnoses, diagnosis_pointers)"
    _arity(args, 2, usage)
    if args[0] != T.UNKNOWN and not T.is_list(args[0]):
        raise SignatureError(f"expects a list first: {usage}")
    if args[1] != T.UNKNOWN and not (T.is_list(args[1]) and args[1].item in (T.INTEGER, T.UNKNOWN)):
        raise SignatureError(f"expects a list of whole numbers second: {usage}")
    return args[0]


def _phrase_search_check(name: str):
    """The check for phrases_found and services_found: both search texts for phrases."""
    usage = f"{name}(technique of documentation.interventions, phrase of technique_guidance)"

    def check(args):
        _arity(args, 2, usage)
        for arg in args:
            if arg != T.UNKNOWN and not (T.is_texty(arg) or (T.is_list(arg) and arg.item in (T.TEXT, T.CODE, T.UNKNOWN))):
                raise SignatureError(f"expects texts or lists of texts: {usage}")
        return T.list_of(T.TEXT)

    return check


def _assistant_check(args):
    usage = "assistant_units(units, minutes, assistant_minutes, de_minimis_percent)"
    _arity(args, 4, usage)
    for arg in args:
        if arg != T.UNKNOWN and arg.name not in ("integer", "minutes"):
            raise SignatureError(f"works on whole numbers and minutes, got {arg}: {usage}")
    return T.INTEGER


def _share_money_check(args):
    usage = "money_share(charge, some_units, units)"
    _arity(args, 3, usage)
    if args[0] not in (T.MONEY, T.UNKNOWN):
        raise SignatureError(f"expects an amount first, got {args[0]}: {usage}")
    for arg in args[1:]:
        if arg != T.UNKNOWN and arg.name != "integer":
            raise SignatureError(f"expects whole numbers after the amount, got {arg}: {usage}")
    return T.MONEY


def _split_check(args):
    usage = "split_line(line, some_units, assistant_minutes, assistant_modifier)"
    _arity(args, 4, usage)
    if args[0] not in (T.line_type(), T.UNKNOWN):
        raise SignatureError(f"expects a claim line first, got {args[0]}: {usage}")
    return T.line_type()


def _remainder_check(args):
    usage = "remainder(minutes, 15)"
    _arity(args, 2, usage)
    for arg in args:
        if arg != T.UNKNOWN and arg.name not in ("integer", "minutes", "days"):
            raise SignatureError(f"works on whole numbers, got {arg}: {usage}")
    return args[0] if args[0] != T.UNKNOWN else T.INTEGER


SIGNATURES: dict[str, Signature] = {}


def _add(signature: Signature) -> None:
    SIGNATURES[signature.name] = signature


_add(Signature('count', "count(lines where code in timed)", "How many elements the list has.",
                    _count_check, aggregate=True))
_add(Signature('sum', "sum(minutes of lines where code in timed)", "The total of a list of numbers (0 when empty).",
                    _sum_check, aggregate=True))
_add(Signature('min', "min(date of lines) or min(a, b)", "The smallest of a list, or of its arguments.",
                    _extreme_check, aggregate=True))
_add(Signature('max', "max(minutes of lines) or max(a, b)", "The largest of a list, or of its arguments.",
                    _extreme_check, aggregate=True))
_add(Signature('any', "any(lines where code in timed)", "For a list of yes/no values: whether one is yes. For other lists: whether the list is not empty.",
                    _anyall_check, aggregate=True))
_add(Signature('all', "all(units > 0 of lines where code in timed)", "For a list of yes/no values: whether every one is yes (yes when empty).",
                    _all_check, aggregate=True))
_add(Signature('days_between', "days_between(episode.evaluation_date, date_of_service)", "Days from the first date to the second (negative when the second is earlier).",
                    _dates_check("days_between(start, end)", T.DAYS)))
_add(Signature('age_on', "age_on(patient.birth_date, date_of_service)", "Age in whole years on a date (a birthday counts on the day itself).",
                    _dates_check("age_on(birth_date, on_date)", T.INTEGER)))
_add(Signature('year', "year(date_of_service)", "The calendar year of a date.",
                    _one("year(date)", [_is("date")], T.INTEGER, "a date")))
_add(Signature('length', "length(modifiers)", "How many characters a text has, or how many elements a list has.",
                    _one("length(text or list)", [T.is_texty, T.is_list], T.INTEGER, "text or a list")))
_add(Signature('word_count', "word_count(documentation.patient_response)", "How many words a text has.",
                    _one("word_count(text)", [T.is_texty], T.INTEGER, "text")))
_add(Signature('cms_units', "cms_units(timed_minutes)", "CMS total-time method (8-minute rule): the units a day's total timed minutes support. "
             "8-22 minutes = 1, 23-37 = 2, and one more per 15 minutes.",
                    _one("cms_units(minutes)", [_is("minutes"), _is("integer")], T.INTEGER, "minutes")))
_add(Signature('ama_units', "ama_units(minutes)", "AMA/CPT per-code midpoint method: the units one code's minutes support on their own "
             "(8 minutes make the first unit; minutes are not pooled across codes).",
                    _one("ama_units(minutes)", [_is("minutes"), _is("integer")], T.INTEGER, "minutes")))
_add(Signature('cms_share', "cms_share(lines where code in timed and date = line.date, line)", "The units the CMS total-time method gives one line among the timed lines of its date: "
             "full 15-minute units first, then the remaining units by largest leftover minutes.",
                    _share_check))
_add(Signature('charges_before', "charges_before(lines where code in always_therapy, line)",
             "The sum of the charges of the lines of the list that come before the line on the claim (a running "
             "total: each line's is found without adding up the lines before it again).",
                    _charges_before_check))
_add(Signature('first', "first(diagnoses)", "The first element of a list (the primary diagnosis, for diagnoses).",
                    _first_check))
_add(Signature('distinct', "distinct(code of lines)", "The list without repeats, in first-seen order.",
                    _same_list))
_add(Signature('sorted', "sorted(modifiers)", "The list in ascending order.",
                    _same_list))
_add(Signature('position', 'position(modifiers, "59")', "Where a value first appears in a list, counting from 0.",
                    _position_check))
_add(Signature('same_text', 'same_text(body_region, "left ankle")', "Whether two texts say the same once case, spacing and punctuation are ignored and "
             "L/Lt, R/Rt and Bilat/B/L are read as left, right and bilateral (see normal_text).",
                    _same_text_check))
_add(Signature('normal_text', "normal_text(body_region)", "The text as same_text compares it: lower case, single spaces, punctuation dropped, "
             'laterality spelled out ("L. Ankle" gives "left ankle").',
                    _one("normal_text(text)", [T.is_texty], T.TEXT, "text")))
_add(Signature('number_count', "number_count(documentation.patient_response)", "How many numbers a text contains (measurable statements have some: 'ROM 5 to 12 degrees').",
                    _one("number_count(text)", [T.is_texty], T.INTEGER, "text")))
_add(Signature('icd10_status', "icd10_status(first(diagnoses))", 'ICD-10-CM status of a code in the installed release: "billable" (a leaf of the tabular '
             'list), "header" (a category with more specific codes) or "unknown".',
                    _one("icd10_status(code)", [T.is_texty], T.TEXT, "a code")))
_add(Signature('icd10_hint', "icd10_hint(code)", "A short hint for a code that is not billable (a header's more specific codes, a missing 7th character).",
                    _one("icd10_hint(code)", [T.is_texty], T.TEXT, "a code")))
_add(Signature('icd10_valid_through', "icd10_valid_through()", "The last date of the fiscal year of the installed ICD-10-CM release (FY runs October to September).",
                    _no_args("icd10_valid_through()", T.DATE)))
_add(Signature('icd10_release', "icd10_release()", "The name of the installed ICD-10-CM release, for messages.",
                    _no_args("icd10_release()", T.TEXT)))
_add(Signature('at_positions', "at_positions(diagnoses, diagnosis_pointers)", "The elements at the given positions, counting from 1 (positions past the end are skipped): "
             "the diagnoses a line points to.",
                    _positions_check))
_add(Signature('phrases_found', "phrases_found(technique of documentation.interventions, phrase of technique_guidance)", "The phrases (from a list, such as a table column) that occur in any of the texts, as whole words "
             "ignoring case: one scan per text, however many phrases.",
                    _phrase_search_check("phrases_found")))
_add(Signature('services_found', "services_found(technique of documentation.interventions, phrase of technique_guidance)", "The phrases naming a service that the texts mention however they word it: any inflection, up to two "
             "words in between, inverted ('exercises for strengthening'), an abbreviation the list names, not when "
             "negated ('no e-stim', 'HP declined'); the longest of overlapping matches wins. A phrase word in "
             "capitals ('US') matches only in capitals. See evaluate/phrases.py.",
                    _phrase_search_check("services_found")))
_add(Signature('assistant_units', "assistant_units(units, minutes, assistant_minutes, de_minimis_percent)", "How many of a timed line's units take CQ/CO: the assistant's full 15-minute units, and a remaining "
             "unit unless the therapist furnished 8 minutes or more of it or the assistant's part is "
             "de_minimis_percent or less (CMS, from CY2022).",
                    _assistant_check))
_add(Signature('money_share', "money_share(charge, some_units, units)", "An amount times part over whole, to the cent: the charge of some of a line's units.",
                    _share_money_check))
_add(Signature('split_line', "split_line(line, some_units, assistant_minutes, assistant_modifier)", "A copy of a line for some of its units, furnished by the assistant, with the modifier added and its "
             "share of the charge: the line a fix adds to split a line between therapist and assistant.",
                    _split_check))
_add(Signature('remainder', "remainder(minutes, 15)", "What is left after taking out whole multiples: the minutes beyond a code's full 15-minute units.",
                    _remainder_check))
