"""Check claims against the claim schema, fast when they are valid, thorough when not.

Almost every claim in a batch is valid, so each one is first screened by jsonschema-rs,
a compiled (Rust) validator that only answers yes or no: about 6 us a claim. A claim the
screen rejects gets every error jsonschema-rs finds (about 20 us; the pure-Python
jsonschema took 1 ms, which was 7% of checking a batch with 2% invalid claims). Each
error becomes one `Diagnostic` with the JSON pointer of the offending value and a message
in plain words saying what was expected. jsonschema, the reference implementation, stays
as the check: a property test asserts that both engines give the same diagnostics.

Messages never quote a value from the claim: claims carry patient data, and diagnostics
end up in CI logs. They name the field, the expected form and the JSON type found.
"""

from __future__ import annotations

import datetime
import json
import re
from importlib import resources
from typing import Any, Iterator

import jsonschema_rs

from payerlint.claims.reader import FIELD_NAME, json_type
from payerlint.diagnostics import Diagnostic, did_you_mean

SCHEMA_VIOLATION = "claim_schema_violation"
DATE_EXPECTED = "expected a date like 2026-05-14"
MONEY_EXPECTED = 'expected money as a string with two decimals, like "48.00"'

# What a value of each pattern in claim.schema.json looks like, in a user's words.
# Keyed by the pattern itself, so a changed schema falls back to a generic message
# rather than a wrong one.
_PATTERN_EXPECTED = {
    "^[A-Z]{2}$": 'expected a two-letter state code like "OR"',
    "^[0-9]{10}$": 'expected a 10-digit NPI like "1234567893"',
    "^[0-9]{2}$": 'expected a two-digit place of service code like "11"',
    "^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$": 'expected an ICD-10 code like "S93.402D"',
    "^[0-9A-Z][0-9]{3}[0-9A-Z]$": 'expected a five-character procedure code like "97140"',
    "^[0-9A-Z]{2}$": 'expected a two-character modifier like "GP"',
}
_MIN_ITEMS_EXPECTED = {
    ("lines",): "a claim needs at least one line",
    ("diagnoses",): "a claim needs at least one diagnosis",
}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "null": "null",
}
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

_HERE = "\0date"
"""Key in a date tree: the value at this node must be a calendar date."""
_EACH = "\0each"
"""Key in a date tree: the subtree applies to every item of an array."""

Path = tuple[str | int, ...]


def load_claim_schema() -> dict:
    """The claim schema shipped in `payerlint.schemas` (works from a wheel or a checkout)."""
    text = resources.files("payerlint.schemas").joinpath("claim.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_ABSENT = object()


class ClaimValidator:
    """Validates claim objects against a draft-07 claim schema. Build once, reuse."""

    def __init__(self, schema: dict | None = None):
        if schema is not None:
            from jsonschema import Draft7Validator

            Draft7Validator.check_schema(schema)  # a caller's own schema; the shipped one is tested
        self.schema = schema if schema is not None else load_claim_schema()
        # validate_formats: draft-07 leaves `format` optional; the claim schema's dates
        # must be checked against the calendar, as jsonschema's FormatChecker does.
        self._screen = jsonschema_rs.Draft7Validator(self.schema, validate_formats=True).is_valid
        self._errors = jsonschema_rs.Draft7Validator(self.schema, validate_formats=True).iter_errors
        self._reference = None
        self._date_tree = _date_tree(self.schema)
        lines = self.schema.get("properties", {}).get("lines", {})
        # One line against its own schema: what `lines_changed_valid` checks a fixed line by.
        # Only for the shipped schema, whose `lines` says nothing but items and their count:
        # a caller's own schema may say more about lines (or refer to them from elsewhere),
        # so a fixed claim is then screened whole.
        self._line_screen = None
        if schema is None:
            self._line_screen = jsonschema_rs.Draft7Validator(
                {**lines["items"], "definitions": self.schema.get("definitions", {})}, validate_formats=True).is_valid
        self._line_count = (lines.get("minItems", 0), lines.get("maxItems", float("inf")))

    @property
    def name(self) -> str:
        """The validators and their versions. Asked for, not built with the validator:
        reading package versions imports importlib.metadata, a tenth of a one-claim run."""
        return f"jsonschema-rs {_version('jsonschema-rs')} screen + jsonschema {_version('jsonschema')} report"

    def validate(self, data: Any) -> list[Diagnostic]:
        """Every schema problem in `data`, sorted by pointer then message; [] when valid.

        jsonschema is the reference: should the screen ever reject a claim jsonschema
        accepts, the claim is valid (just checked slowly).
        """
        if not isinstance(data, dict):
            return [
                Diagnostic(
                    SCHEMA_VIOLATION,
                    "a claim must be a JSON object",
                    pointer="/",
                    notes=(f"found {json_type(data)}",),
                )
            ]
        try:
            valid = self._screen(data)
        except Exception:  # noqa: BLE001 - the screen refuses what it cannot convert; report says why
            valid = False
        if not valid:
            return self._json_problems_or_report(data)
        return []

    def lines_changed_valid(self, original: dict, fixed: dict) -> bool | None:
        """Whether `fixed`, made from a valid `original` copy-on-write (evaluate/patch.py: a
        container an operation touched is a new object, every other is the original's own),
        is valid, telling by the lines alone: None when anything but `lines` changed, so the
        whole claim must be screened. A fix is nearly always a line's units, modifiers or
        code, or a line removed; screening the lines it touched costs a tenth of the claim."""
        if self._line_screen is None:
            return None
        for key, value in fixed.items():
            if key != "lines" and original.get(key, _ABSENT) is not value:
                return None
        if len(fixed) != len(original):
            return None
        lines = fixed.get("lines")
        if not isinstance(lines, list):
            return None
        low, high = self._line_count
        if not low <= len(lines) <= high:
            return False
        before = {id(line) for line in original.get("lines", ())}
        try:
            return all(self._line_screen(line) for line in lines if id(line) not in before)
        except Exception:  # noqa: BLE001 - what the screen cannot convert: let the whole check decide
            return None

    def _json_problems_or_report(self, data: dict) -> list[Diagnostic]:
        problems = _json_problems(data)
        if problems:
            return problems
        return self.report(data)

    @property
    def _reporter(self):
        """jsonschema, the reference implementation: imported only when it is asked for
        (a fallback, and the property test), since it costs a sixth of startup."""
        if self._reference is None:
            from jsonschema import Draft7Validator, FormatChecker

            self._reference = Draft7Validator(self.schema, format_checker=FormatChecker(formats=("date",)))
        return self._reference

    def json_problems(self, data: Any) -> list[Diagnostic]:
        """Values a JSON document cannot hold, in a claim handed over as Python objects
        (the reader never produces them): keys that are not text, tuples or sets, NaN,
        text with lone surrogates. Each names its JSON pointer; none quotes a value."""
        return _json_problems(data)

    def report(self, data: dict, reference: bool = False) -> list[Diagnostic]:
        """Every error in `data`, in plain words: as jsonschema-rs finds them, or with
        `reference`, as jsonschema (the reference implementation) finds them."""
        found: dict[tuple[Path, str], Diagnostic] = {}
        errors = self._reporter.iter_errors(data) if reference else self._rust_errors(data)
        for error in errors:
            for path, diagnostic in _describe(error):
                found.setdefault((path, diagnostic.message), diagnostic)
        # Belt and braces: the date walk and jsonschema's date check should agree, but
        # a claim the walk rejects must never come back with no diagnostic at all.
        reported = {path for path, _ in found}
        for path in _bad_dates(data, self._date_tree, ()):
            if path not in reported:
                found[(path, DATE_EXPECTED)] = _date_diagnostic(path)
        return [found[key] for key in sorted(found, key=_order)]


    def _rust_errors(self, data: dict) -> list:
        try:
            return [_RustError(error, self.schema) for error in self._errors(data)]
        except Exception:  # noqa: BLE001 - a value jsonschema-rs cannot convert: the reference can
            return [_PythonError(error) for error in self._reporter.iter_errors(data)]


class _RustError:
    """A jsonschema-rs error with the attributes `_describe` reads from a jsonschema
    error: the keyword, its value in the schema, the schema object holding it (its
    `schema_path` is already resolved through `$ref`), the value, and where it is."""

    __slots__ = ("validator", "validator_value", "schema", "instance", "absolute_path")

    def __init__(self, error, root: dict):
        path = list(error.schema_path)
        node: Any = root
        for part in path[:-1]:
            node = node[part] if isinstance(node, dict) else node[int(part)]
        self.validator = path[-1] if path else ""
        self.schema = node if isinstance(node, dict) else {}
        self.validator_value = self.schema.get(self.validator)
        self.instance = error.instance
        self.absolute_path = tuple(error.instance_path)


class _PythonError:
    """A jsonschema error, as `_describe` reads it (the same attributes)."""

    __slots__ = ("validator", "validator_value", "schema", "instance", "absolute_path")

    def __init__(self, error):
        self.validator, self.validator_value = error.validator, error.validator_value
        self.schema, self.instance, self.absolute_path = error.schema, error.instance, tuple(error.absolute_path)


# --- JSON-ness --------------------------------------------------------------------


_EXIT = object()
MAX_DEPTH = 100
"""Deeper than this is refused here, by a walk that holds no Python stack: the reference
validator (jsonschema) and later stages recurse, and a claim (ten levels at most, with an
`x-` extension or two) has no use for more."""
MAX_VALUES = 1_000_000
"""More values than this in a claim handed over as Python objects is refused before any
later stage walks it (a list holding the same list twice, 30 deep, is 2**30 values)."""


def _json_problems(data: Any) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    stack: list[tuple[Any, Path]] = [(data, ())]
    # The containers on the way down to the value in hand: one met again is a cycle (a
    # claim that holds itself), which no JSON document can be and every later stage would
    # follow forever. The same container met twice side by side is fine (it is copied).
    open_containers: set[int] = set()
    seen = 0
    while stack and len(problems) < 20:
        value, path = stack.pop()
        if value is _EXIT:
            open_containers.discard(path)
            continue
        seen += 1
        if seen > MAX_VALUES:
            problems.append(Diagnostic(SCHEMA_VIOLATION, f"the claim holds more than {MAX_VALUES:,} values",
                                       pointer=""))
            break
        if isinstance(value, (dict, list)):
            if len(path) >= MAX_DEPTH:
                problems.append(Diagnostic(SCHEMA_VIOLATION, f"a value is nested more than {MAX_DEPTH} levels deep "
                                           "here; a claim needs far fewer", pointer=pointer(path)))
                continue
            if id(value) in open_containers:
                problems.append(Diagnostic(SCHEMA_VIOLATION, "the claim contains itself here (a cycle): a JSON "
                                           "value cannot", pointer=pointer(path)))
                continue
            open_containers.add(id(value))
            stack.append((_EXIT, id(value)))
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    problems.append(Diagnostic(SCHEMA_VIOLATION, "expected text, found a string that is not valid "
                                               "Unicode (a lone surrogate)", pointer=pointer(path)))
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(Diagnostic(SCHEMA_VIOLATION, "an object key that is not text",
                                               pointer=pointer(path), notes=(f"found {_py_type(key)}",)))
                    continue
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    problems.append(Diagnostic(SCHEMA_VIOLATION, "an object key that is not valid Unicode "
                                               "(a lone surrogate)", pointer=pointer(path)))
                    continue
                stack.append((item, path + (key,)))
        elif isinstance(value, list):
            stack.extend((item, path + (index,)) for index, item in enumerate(value))
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                problems.append(Diagnostic(SCHEMA_VIOLATION, "expected a number, found NaN or an infinity",
                                           pointer=pointer(path)))
        elif value is not None and not isinstance(value, (bool, int)):
            problems.append(Diagnostic(SCHEMA_VIOLATION, f"expected a JSON value, found {_py_type(value)}",
                                       pointer=pointer(path), notes=("a claim holds objects, arrays, text, numbers, "
                                                                      "true, false and null",)))
    return sorted(problems, key=lambda d: d.pointer or "")


def _py_type(value: Any) -> str:
    name = type(value).__name__
    return f"a Python {name}"


# --- dates -------------------------------------------------------------------------


def _date_tree(schema: dict) -> dict:
    """Where the schema puts `format: date`, as a tree of property names.

    Computed once, so checking the dates of a valid claim visits only the handful of
    places that can hold one (`patient.birth_date`, `lines[*].date`, ...).
    """

    def resolve(node: Any, expanding: frozenset[str]) -> tuple[Any, frozenset[str]]:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            base = schema.get("$id", "")
            if isinstance(base, str) and base and ref.startswith(base + "#"):
                ref = ref[len(base) :]
            if not ref.startswith("#") or ref in expanding:
                return {}, expanding  # remote or recursive: not followed
            expanding = expanding | {ref}
            node = schema
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                node = node.get(part, {}) if isinstance(node, dict) else {}
        return node, expanding

    def build(node: Any, expanding: frozenset[str]) -> dict:
        node, expanding = resolve(node, expanding)
        if not isinstance(node, dict):
            return {}
        tree: dict = {}
        if node.get("format") == "date":
            tree[_HERE] = True
        for key, sub in (node.get("properties") or {}).items():
            if subtree := build(sub, expanding):
                tree[key] = subtree
        items = node.get("items")
        if isinstance(items, dict) and (subtree := build(items, expanding)):
            tree[_EACH] = subtree
        for sub in node.get("allOf") or ():
            _merge(tree, build(sub, expanding))
        return tree

    return build(schema, frozenset())


def _merge(into: dict, other: dict) -> None:
    for key, sub in other.items():
        if key == _HERE:
            into[_HERE] = True
        else:
            _merge(into.setdefault(key, {}), sub)


def _bad_dates(value: Any, tree: dict, path: Path) -> list[Path]:
    """Paths under `value` where the schema wants a date and the string is not one."""
    bad: list[Path] = []
    if _HERE in tree and isinstance(value, str) and not _is_date(value):
        bad.append(path)
    if isinstance(value, dict):
        for key, subtree in tree.items():
            if key in value and key is not _HERE and key is not _EACH:
                bad.extend(_bad_dates(value[key], subtree, path + (key,)))
    elif isinstance(value, list) and _EACH in tree:
        subtree = tree[_EACH]
        for index, item in enumerate(value):
            bad.extend(_bad_dates(item, subtree, path + (index,)))
    return bad


def _is_date(text: str) -> bool:
    # The same test as jsonschema's date format: the shape, then the calendar.
    if not _DATE_SHAPE.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _date_diagnostic(path: Path) -> Diagnostic:
    notes = ("that day does not exist on the calendar",)
    return Diagnostic(SCHEMA_VIOLATION, DATE_EXPECTED, pointer=pointer(path), notes=notes)


# --- messages ----------------------------------------------------------------------


def _describe(error) -> Iterator[tuple[Path, Diagnostic]]:
    """One diagnostic per problem in a jsonschema error, worded for a biller."""
    path: Path = tuple(error.absolute_path)
    keyword = error.validator
    expected = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    kind = schema.get("x-payerlint-type")
    is_date = kind == "date" or schema.get("format") == "date"
    notes: tuple[str, ...] = ()

    if keyword == "required":
        for field in expected:
            if isinstance(value, dict) and field not in value:
                message = f"missing required field '{field}'"
                note = f"it belongs at {pointer(path + (field,))}"
                yield path, Diagnostic(SCHEMA_VIOLATION, message, pointer=pointer(path), notes=(note,))
        return
    if keyword == "additionalProperties" and isinstance(value, dict):
        yield from _unknown_fields(path, schema, value)
        return

    if keyword == "type":
        got = json_type(value)
        wanted = [expected] if isinstance(expected, str) else list(expected)
        if is_date or kind == "money":
            base = DATE_EXPECTED if is_date else MONEY_EXPECTED
            message = base + (" or null" if "null" in wanted else "") + f", got {got}"
        else:
            message = f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in wanted)}, got {got}"
        if "integer" in wanted and isinstance(value, str):
            notes = ("write the number without quotes",)
        elif "integer" in wanted and isinstance(value, float):
            notes = ("write a whole number",)
    elif keyword in ("pattern", "format"):
        if is_date:
            message = DATE_EXPECTED
            if isinstance(value, str) and _DATE_SHAPE.fullmatch(value):
                notes = ("that day does not exist on the calendar",)
        elif kind == "money":
            message = MONEY_EXPECTED
        elif keyword == "pattern":
            message = _PATTERN_EXPECTED.get(expected, f"expected text matching the pattern {expected}")
            if isinstance(value, str) and value != value.upper() and re.search(expected, value.upper()):
                notes = ("letters must be upper case",)
        else:
            message = f"expected a value in the '{expected}' format"
    elif keyword == "enum":
        message = "expected one of " + ", ".join(_show(v) for v in expected)
        if isinstance(value, str):
            same = [v for v in expected if isinstance(v, str) and v.upper() == value.upper()]
            if same:
                notes = (f"values are case-sensitive: did you mean '{same[0]}'?",)
    elif keyword == "minItems":
        message = _MIN_ITEMS_EXPECTED.get(path) or f"expected at least {expected} item{_s(expected)}"
    elif keyword == "maxItems":
        message = f"expected at most {expected} item{_s(expected)}"
        if isinstance(value, list):
            message += f", got {len(value)}"
    elif keyword == "minLength":
        message = "expected a non-empty string" if expected == 1 else f"expected at least {expected} characters"
    elif keyword == "maxLength":
        message = f"expected at most {expected} characters"
    elif keyword == "minimum":
        message = f"expected {expected} or more"
    elif keyword == "maximum":
        message = f"expected {expected} or less"
    elif keyword == "exclusiveMinimum":
        message = f"expected more than {expected}"
    elif keyword == "exclusiveMaximum":
        message = f"expected less than {expected}"
    else:
        # Not used by claim.schema.json today; jsonschema's own message would quote
        # the value, so say only which rule failed.
        message = f"does not satisfy the schema's '{keyword}' rule"
    yield path, Diagnostic(SCHEMA_VIOLATION, message, pointer=pointer(path), notes=notes)


def _unknown_fields(path: Path, schema: dict, value: dict) -> Iterator[tuple[Path, Diagnostic]]:
    known = list((schema.get("properties") or {}).keys())
    patterns = list((schema.get("patternProperties") or {}).keys())
    for field in value:
        if field in known or any(re.search(p, field) for p in patterns):
            continue
        hint = did_you_mean(field, known)
        notes = (hint,) if hint else ("fields of your own may be added with an 'x-' prefix",)
        if FIELD_NAME.fullmatch(field):
            at = path + (field,)
            yield at, Diagnostic(SCHEMA_VIOLATION, f"unknown field '{field}'", pointer=pointer(at), notes=notes)
        else:
            # A key that is not a name (spaces, punctuation) may be data pasted in the wrong
            # place, even a patient's; it is neither shown nor put in the pointer.
            yield path + ("(unnamed)",), Diagnostic(
                SCHEMA_VIOLATION, "an unknown field whose name is not a field name", pointer=pointer(path),
                notes=("fields of your own may be added with an 'x-' prefix",))


def pointer(path: Path) -> str:
    """JSON pointer (RFC 6901) for a path; the whole claim is "/"."""
    if not path:
        return "/"
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _order(key: tuple[Path, str]) -> tuple:
    # Numeric indexes sort as numbers, so /lines/2 comes before /lines/10.
    path, message = key
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path), message


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _s(n: Any) -> str:
    return "" if n == 1 else "s"


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
