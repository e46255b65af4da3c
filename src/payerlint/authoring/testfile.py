"""Reading rulebook test files: `rulebooks/<family>/tests/*.toml`.

A test file is TOML for what a case says (its name, the quarters it applies to, what is
expected) and JSON for the claims themselves: a claim is a `.json` file, or JSON text in
a TOML string (`'''...'''`), and a case changes its base claim with a JSON Patch, also
JSON text. TOML alone cannot hold a claim faithfully (it has no null, and a claim's
`"97140"` must stay a string); JSON keeps every value exactly as a claim file has it.

Everything wrong in a file is a `Diagnostic` with file:line:column (the scanner in
toml_positions.py finds where each key is written); a case with an error is reported
and the others still run. Values are not checked against rulebooks here (which rule ids
exist, which params): the runner does that per rulebook.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from payerlint.authoring.jsonpatch import PatchError, apply_patch
from payerlint.authoring.toml_positions import Positions, scan
from payerlint.diagnostics import Diagnostic, did_you_mean
from payerlint.quarter import Quarter, QuarterError
from payerlint.source import Span

FILE_KEYS = ("quarters", "base", "params", "tables", "case")
CASE_KEYS = ("name", "quarters", "base", "claim", "patch", "params", "tables", "verdict", "fires", "quiet", "only",
             "not_evaluated", "fix")
FIRES_KEYS = ("rule", "line", "severity", "says", "fix")
NOT_EVALUATED_KEYS = ("missing", "rule")
VERDICTS = ("clean", "warn", "deny", "error")
SEVERITIES = ("deny", "warn", "info")
_RULE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class Located:
    """A value from the file and where it is written."""

    value: Any
    span: Span


@dataclass(frozen=True)
class Firing:
    rule: Located
    line: int | None = None
    """Counted from 1, as the text output of `check` counts claim lines."""
    severity: str | None = None
    says: str | None = None
    fix: tuple | None = None


@dataclass(frozen=True)
class Skip:
    """An expected `not_evaluated` entry: the pointer, and optionally the rule."""

    missing: Located
    rule: Located | None = None


@dataclass(frozen=True)
class TableOverride:
    name: str
    path: str | None
    """A CSV file (absolute) ..."""
    text: str | None
    """... or CSV text written in the test file."""
    span: Span
    text_line: int = 0
    """For CSV text: the file line its first row is on, for errors in it."""


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    name: str
    span: Span
    """The `[[case]]` header."""
    claim: Any = None
    quarters: tuple[Located, ...] | None = None
    params: tuple[Located, ...] = ()
    """Each Located.value is (name, TOML value)."""
    tables: tuple[TableOverride, ...] = ()
    verdict: str | None = None
    fires: tuple[Firing, ...] = ()
    quiet: tuple[Located, ...] = ()
    only: bool = False
    not_evaluated: tuple[Skip, ...] | None = None
    fix: tuple | None = None
    errors: tuple[Diagnostic, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.span.line}"


@dataclass
class TestFile:
    path: str
    quarters: tuple[Located, ...] | None = None
    """None: every quarter of the family."""
    quarters_span: Span | None = None
    cases: list[Case] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    """Errors that concern the whole file (it cannot be read, a bad top-level key)."""


class _Reader:
    def __init__(self, path: str, text: str, claims: dict):
        self.path = path
        self.pos: Positions = scan(text)
        self.folder = Path(path).parent
        self._claims = claims

    # -- positions

    def span(self, offset: int | None, length: int = 1) -> Span:
        line, col = self.pos.line_col(offset or 0)
        return Span(self.path, line, col, line, col + max(1, length))

    def at_key(self, table: tuple, key: str) -> Span:
        offset = self.pos.key(table, key)
        if offset is None:
            return self.at_table(table)
        return self.span(offset, len(key))

    def at_value(self, table: tuple, key: str) -> Span:
        offset = self.pos.value(table, key)
        return self.span(offset) if offset is not None else self.at_key(table, key)

    def at_table(self, table: tuple) -> Span:
        while table and table not in self.pos.headers:
            table = table[:-1]
        return self.span(self.pos.headers.get(table, 0))

    def at_string(self, table: tuple, key: str, value: str) -> Span:
        offset = self.pos.find_string(self.pos.value(table, key), value)
        return self.span(offset, len(value) + 2) if offset is not None else self.at_value(table, key)

    # -- JSON text in a TOML string

    def json_text(self, table: tuple, key: str, raw: Any, what: str, errors: list) -> tuple[Any, int | None]:
        """Parse JSON text; returns (value, offset of its first character in the file)."""
        if not isinstance(raw, str):
            errors.append(Diagnostic("test_bad_value", f"{key} is JSON text in a string, like {key} = '''...'''",
                                     span=self.at_value(table, key)))
            return None, None
        start = self.pos.string_content(self.pos.value(table, key) or 0, raw)
        try:
            return json.loads(raw), start
        except json.JSONDecodeError as exc:
            span = (self.span(start + exc.pos) if start is not None else self.at_value(table, key))
            errors.append(Diagnostic("test_bad_json", f"{what} is not valid JSON: {exc.msg}", span=span, quote=False,
                                     notes=("JSON strings use double quotes; no comma after the last item",)))
            return None, None
        except RecursionError:
            errors.append(Diagnostic("test_bad_json", f"{what} is nested too deeply to read", quote=False,
                                     span=self.at_value(table, key)))
            return None, None

    def claim_file(self, table: tuple, key: str, raw: Any, errors: list) -> Any:
        if not isinstance(raw, str):
            errors.append(Diagnostic("test_bad_value", f"{key} is the path of a claim file, in quotes",
                                     span=self.at_value(table, key)))
            return None
        path = (self.folder / raw).resolve()
        if path not in self._claims:
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                self._claims[path] = Diagnostic("test_claim_unreadable", f"cannot read the claim file {raw}: "
                                                f"{exc.strerror}", notes=("the path is relative to the test file",))
            else:
                try:
                    self._claims[path] = json.loads(text)
                except json.JSONDecodeError as exc:
                    self._claims[path] = Diagnostic(
                        "test_bad_json", f"the claim file is not valid JSON: {exc.msg}", quote=False,
                        span=Span(str(path), exc.lineno, exc.colno, exc.lineno, exc.colno + 1))
                except RecursionError:
                    self._claims[path] = Diagnostic("test_bad_json", "the claim file is nested too deeply to read",
                                                    quote=False, span=Span(str(path), 1, 1, 1, 2))
        found = self._claims[path]
        if isinstance(found, Diagnostic):
            errors.append(found if found.span is not None else
                          Diagnostic(found.code, found.message, span=self.at_value(table, key), notes=found.notes))
            return None
        return found

    # -- the file

    def read(self, data: dict) -> TestFile:
        out = TestFile(self.path)
        for key in data:
            if key not in FILE_KEYS:
                out.errors.append(self.unknown_key((), key, FILE_KEYS, "a test file"))
        if "quarters" in data:
            out.quarters = self.quarters((), data["quarters"], out.errors)
            out.quarters_span = self.at_value((), "quarters")
        base = self.claim_file((), "base", data["base"], out.errors) if "base" in data else None
        file_params = self.params((), data.get("params", {}), out.errors)
        file_tables = self.tables((), data.get("tables", {}), out.errors)
        cases = data.get("case", [])
        if not isinstance(cases, list):
            out.errors.append(Diagnostic("test_bad_value", "cases are written [[case]], one block each",
                                         span=self.at_key((), "case")))
            cases = []
        for index, raw in enumerate(cases):
            out.cases.append(self.case(index, raw, base, "base" in data, file_params, file_tables))
        return out

    def unknown_key(self, table: tuple, key: str, known, where: str) -> Diagnostic:
        hint = did_you_mean(key, known)
        return Diagnostic("test_unknown_key", f"'{key}' is not a key of {where}", span=self.at_key(table, key),
                          notes=(hint,) if hint else ("keys: " + ", ".join(known),))

    def quarters(self, table: tuple, raw: Any, errors: list) -> tuple[Located, ...] | None:
        if raw == "all":
            return None
        if not isinstance(raw, list) or not all(isinstance(q, str) for q in raw):
            errors.append(Diagnostic("test_bad_value", 'quarters is "all" or a list like ["2026Q2", "2026Q3"]',
                                     span=self.at_value(table, "quarters")))
            return ()
        out = []
        for text in raw:
            span = self.at_string(table, "quarters", text)
            try:
                Quarter.parse(text)
            except QuarterError as exc:
                errors.append(Diagnostic("test_bad_value", str(exc), span=span))
                continue
            out.append(Located(text, span))
        return tuple(out)

    def params(self, table: tuple, raw: Any, errors: list) -> tuple[Located, ...]:
        if not isinstance(raw, dict):
            errors.append(Diagnostic("test_bad_value", "params is a table: [case.params] then name = value lines",
                                     span=self.at_value(table, "params")))
            return ()
        out = []
        for name, value in raw.items():
            if isinstance(value, (dict, list)):
                errors.append(Diagnostic("test_bad_value", f"param {name}: write its value as the rulebook does, "
                                         'e.g. "$2,480.00", "30 days", 12 or "ama_per_code"',
                                         span=self.at_key((*table, "params"), name)))
                continue
            out.append(Located((name, value), self.at_key((*table, "params"), name)))
        return tuple(out)

    def tables(self, table: tuple, raw: Any, errors: list) -> tuple[TableOverride, ...]:
        if not isinstance(raw, dict):
            errors.append(Diagnostic("test_bad_value", 'tables is a table: [case.tables] then name = "file.csv" '
                                     "lines, or name = { csv = '''...''' }", span=self.at_value(table, "tables")))
            return ()
        out = []
        for name, value in raw.items():
            where = (*table, "tables")
            span = self.at_key(where, name)
            if isinstance(value, str):
                out.append(TableOverride(name, str((self.folder / value).resolve()), None, span))
            elif isinstance(value, dict) and set(value) == {"csv"} and isinstance(value["csv"], str):
                # Where the CSV text starts, so an error in row n names the file line it is on.
                start = self._csv_start(where, name, value["csv"])
                line = self.pos.line_col(start)[0] if start is not None else span.line
                out.append(TableOverride(name, None, value["csv"], span, line))
            else:
                errors.append(Diagnostic("test_bad_value", f"table {name}: give a CSV file (\"fixtures/{name}.csv\", "
                                         f"relative to the test file) or CSV text ({{ csv = '''...''' }})", span=span))
        return tuple(out)

    def _csv_start(self, where: tuple, name: str, text: str) -> int | None:
        # `[case.tables.NAME]` then `csv = '''...'''`, or `NAME = { csv = '''...''' }`.
        value_at = self.pos.value((*where, name), "csv")
        if value_at is not None:
            return self.pos.string_content(value_at, text)
        value_at = self.pos.value(where, name)
        if value_at is None or not text:
            return None
        found = self.pos.text.find(text, value_at)
        return None if found == -1 else found

    def case(self, index: int, raw: Any, base: Any, file_has_base: bool, file_params, file_tables) -> Case:
        table = ("case", index)
        header = self.at_table(table)
        errors: list[Diagnostic] = []
        if not isinstance(raw, dict):
            return Case(self.path, index, f"case {index + 1}", header, errors=(
                Diagnostic("test_bad_value", "a case is a [[case]] block", span=header),))
        for key in raw:
            if key not in CASE_KEYS:
                errors.append(self.unknown_key(table, key, CASE_KEYS, "a case"))
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(Diagnostic("test_bad_value", 'each case needs a name = "what it shows"', span=header))
            name = f"case {index + 1}"
        claim = self.case_claim(table, raw, base, file_has_base, errors)
        quarters = self.quarters(table, raw["quarters"], errors) if "quarters" in raw else None
        params = {p.value[0]: p for p in file_params}
        params.update({p.value[0]: p for p in self.params(table, raw.get("params", {}), errors)})
        tables = {t.name: t for t in file_tables}
        tables.update({t.name: t for t in self.tables(table, raw.get("tables", {}), errors)})
        verdict = raw.get("verdict")
        if verdict is not None and verdict not in VERDICTS:
            errors.append(Diagnostic("test_bad_value", f"verdict '{verdict}' is not one of {', '.join(VERDICTS)}",
                                     span=self.at_value(table, "verdict")))
            verdict = None
        only = raw.get("only", False)
        if not isinstance(only, bool):
            errors.append(Diagnostic("test_bad_value", "only is true or false", span=self.at_value(table, "only")))
            only = False
        fix = None
        if "fix" in raw:
            fix = self.patch_value(table, "fix", raw["fix"], "the expected fix", errors)
        return Case(
            self.path, index, name.strip(), header, claim, quarters,
            tuple(sorted(params.values(), key=lambda p: p.value[0])),
            tuple(sorted(tables.values(), key=lambda t: t.name)),
            verdict, self.fires(table, raw.get("fires", []), errors), self.rule_list(table, "quiet", raw, errors), only,
            self.skips(table, raw["not_evaluated"], errors) if "not_evaluated" in raw else None,
            fix, tuple(errors))

    def case_claim(self, table: tuple, raw: dict, base: Any, file_has_base: bool, errors: list) -> Any:
        if "claim" in raw and "base" in raw:
            errors.append(Diagnostic("test_bad_value", "a case has a claim or a base, not both",
                                     span=self.at_key(table, "claim")))
            return None
        if "claim" in raw:
            claim, _ = self.json_text(table, "claim", raw["claim"], "the claim", errors)
        elif "base" in raw:
            claim = self.claim_file(table, "base", raw["base"], errors)
        elif file_has_base:
            claim = base
        else:
            errors.append(Diagnostic("test_no_claim", "this case has no claim",
                                     span=self.at_table(table),
                                     notes=("give it claim = '''{...}''' (JSON), or base = \"claims/x.json\" here or "
                                            "at the top of the file",)))
            return None
        if claim is None or "patch" not in raw:
            return claim
        ops, start = self.json_text(table, "patch", raw["patch"], "the patch", errors)
        if ops is None:
            return None
        if not isinstance(ops, list):
            errors.append(Diagnostic("test_bad_patch", "a patch is a JSON array of operations: "
                                     '[{"op": "replace", "path": "/lines/0/units", "value": 2}]',
                                     span=self.at_value(table, "patch")))
            return None
        try:
            return apply_patch(claim, ops)
        except PatchError as exc:
            offsets = _array_item_offsets(raw["patch"])
            span = (self.span(start + offsets[exc.index]) if start is not None and exc.index < len(offsets)
                    else self.at_value(table, "patch"))
            errors.append(Diagnostic("test_bad_patch", f"patch operation {exc.index + 1} does not apply: {exc}",
                                     span=span, quote=False))
            return None

    def patch_value(self, table: tuple, key: str, raw: Any, what: str, errors: list) -> tuple | None:
        ops, _ = self.json_text(table, key, raw, what, errors)
        if ops is None:
            return None
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            errors.append(Diagnostic("test_bad_value", f"{what} is a JSON array of JSON Patch operations",
                                     span=self.at_value(table, key)))
            return None
        return tuple(ops)

    def rule_id(self, table: tuple, key: str, value: Any, errors: list) -> Located | None:
        if not isinstance(value, str) or not _RULE_ID.fullmatch(value):
            errors.append(Diagnostic("test_bad_value", f"{key}: {json.dumps(value, default=str)} is not a rule id "
                                     "like units.total", span=self.at_value(table, key)))
            return None
        return Located(value, self.at_string(table, key, value))

    def rule_list(self, table: tuple, key: str, raw: dict, errors: list) -> tuple[Located, ...]:
        values = raw.get(key, [])
        if not isinstance(values, list):
            errors.append(Diagnostic("test_bad_value", f'{key} is a list of rule ids: {key} = ["units.total"]',
                                     span=self.at_value(table, key)))
            return ()
        return tuple(found for v in values if (found := self.rule_id(table, key, v, errors)) is not None)

    def fires(self, table: tuple, raw: Any, errors: list) -> tuple[Firing, ...]:
        if not isinstance(raw, list):
            errors.append(Diagnostic("test_bad_value", 'fires is a list: ["units.total", {rule = "x", line = 2}]',
                                     span=self.at_value(table, "fires")))
            return ()
        out = []
        for item in raw:
            if isinstance(item, str):
                rule = self.rule_id(table, "fires", item, errors)
                if rule is not None:
                    out.append(Firing(rule))
                continue
            if not isinstance(item, dict) or "rule" not in item:
                errors.append(Diagnostic("test_bad_value", 'each entry of fires is a rule id or '
                                         '{rule = "units.total", line = 1, severity = "deny", says = "..."}',
                                         span=self.at_value(table, "fires")))
                continue
            for key in item:
                if key not in FIRES_KEYS:
                    hint = did_you_mean(key, FIRES_KEYS)
                    errors.append(Diagnostic("test_unknown_key", f"'{key}' is not a key of an entry of fires",
                                             span=self.at_string(table, "fires", item["rule"]) if isinstance(
                                                 item["rule"], str) else self.at_value(table, "fires"),
                                             notes=(hint or "keys: " + ", ".join(FIRES_KEYS),)))
            rule = self.rule_id(table, "fires", item["rule"], errors)
            if rule is None:
                continue
            line = item.get("line")
            if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
                errors.append(Diagnostic("test_bad_value", f"{rule.value}: line counts claim lines from 1 (the "
                                         "first line is line = 1), as `payerlint check` prints them", span=rule.span))
                line = None
            severity = item.get("severity")
            if severity is not None and severity not in SEVERITIES:
                errors.append(Diagnostic("test_bad_value", f"{rule.value}: severity '{severity}' is not one of "
                                         f"{', '.join(SEVERITIES)}", span=rule.span))
                severity = None
            says = item.get("says")
            if says is not None and not isinstance(says, str):
                errors.append(Diagnostic("test_bad_value", f"{rule.value}: says is text the message contains",
                                         span=rule.span))
                says = None
            fix = None
            if "fix" in item:
                ops = item["fix"]
                try:
                    fix = json.loads(ops) if isinstance(ops, str) else None
                except json.JSONDecodeError as exc:
                    errors.append(Diagnostic("test_bad_json", f"{rule.value}: its fix is not valid JSON: {exc.msg}",
                                             span=rule.span))
                if isinstance(ops, str) and fix is not None and not isinstance(fix, list):
                    errors.append(Diagnostic("test_bad_value", f"{rule.value}: its fix is a JSON array of operations",
                                             span=rule.span))
                    fix = None
                if not isinstance(ops, str):
                    errors.append(Diagnostic("test_bad_value", f"{rule.value}: fix is JSON text in a string",
                                             span=rule.span))
                fix = tuple(fix) if fix is not None else None
            out.append(Firing(rule, line, severity, says, fix))
        return tuple(out)

    def skips(self, table: tuple, raw: Any, errors: list) -> tuple[Skip, ...]:
        if not isinstance(raw, list):
            errors.append(Diagnostic("test_bad_value", 'not_evaluated is a list of JSON pointers: ["/documentation"]',
                                     span=self.at_value(table, "not_evaluated")))
            return ()
        out = []
        for item in raw:
            if isinstance(item, str) and (item == "" or item.startswith("/")):
                out.append(Skip(Located(item, self.at_string(table, "not_evaluated", item))))
            elif (isinstance(item, dict) and set(item) <= set(NOT_EVALUATED_KEYS) and isinstance(item.get("missing"), str)
                  and isinstance(item.get("rule", ""), str)):
                missing = Located(item["missing"], self.at_string(table, "not_evaluated", item["missing"]))
                rule = self.rule_id(table, "not_evaluated", item["rule"], errors) if "rule" in item else None
                out.append(Skip(missing, rule))
            else:
                errors.append(Diagnostic("test_bad_value", 'each entry of not_evaluated is a JSON pointer like '
                                         '"/documentation", or {missing = "/lines/0/minutes", rule = "units.total"}',
                                         span=self.at_value(table, "not_evaluated")))
        return tuple(out)


def _array_item_offsets(text: str) -> list[int]:
    """Where each item of a JSON array starts (for 'operation 3 does not apply')."""
    decoder = json.JSONDecoder()
    offsets: list[int] = []
    i = text.find("[")
    if i == -1:
        return offsets
    i += 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return offsets
        offsets.append(i)
        try:
            _, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return offsets


def _toml_error_span(path: str, exc: tomllib.TOMLDecodeError) -> Span:
    match = re.search(r"at line (\d+), column (\d+)", str(exc))
    line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    return Span(path, line, col, line, col + 1)


def read_test_file(path: str | Path, claims: dict | None = None) -> TestFile:
    """Read one test file. `claims` caches base claim files across the files of a run."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return TestFile(path, errors=[Diagnostic("test_file_unreadable", f"cannot read the test file {path}: {exc}")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return TestFile(path, errors=[Diagnostic("test_bad_toml", f"the test file is not valid TOML: {message}",
                                                 span=_toml_error_span(path, exc),
                                                 notes=("text values are in quotes; claims and patches are JSON text "
                                                        "in '''triple quotes'''",))])
    return _Reader(path, text, claims if claims is not None else {}).read(data)


def toml_literal(value: Any) -> Any:
    """A TOML value as the rulebook language writes it (for a param override)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return value
