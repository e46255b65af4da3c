"""Table files: CSV data beside a rulebook (NCCI pairs, MUE values, fee amounts).

Format (also what `payerlint import` writes):
- UTF-8 (a byte-order mark is dropped), comma-separated, RFC 4180 quoting.
- Leading lines starting with `#` are provenance comments and are skipped.
- A header row names the columns; the rulebook's `table` declaration says which columns
  it reads and their types. Columns the declaration does not name are ignored, so an
  importer can keep the source file's extra columns.
- An empty cell is "no value", allowed only in columns declared `optional`.
- Dates are ISO (2026-04-01), money and decimals are plain numbers (48.00), integers and
  minutes are whole numbers, booleans are yes/no.
- The key columns identify a row; two rows with the same key are an error.

Loaded tables are cached per process by file identity and declared columns, so a
1,000,000-row NCCI table that several rulebooks share is read once.
"""

from __future__ import annotations

import csv
import os
import stat as _stat
from array import array
from datetime import date
from decimal import Decimal, InvalidOperation
from threading import Lock
from types import MappingProxyType
from typing import Mapping

from payerlint.compile import ir
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.source import Span

MAX_REPORTED = 50


def _parse_code(text: str):
    if not text or " " in text:
        raise ValueError("a code has no spaces")
    return text


def _parse_int(text: str):
    return int(text)


def _parse_decimal(text: str):
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None


def _parse_money(text: str):
    value = _parse_decimal(text)
    return value.quantize(Decimal("0.01"))


def _parse_bool(text: str):
    lowered = text.lower()
    if lowered in ("yes", "true", "y", "1"):
        return True
    if lowered in ("no", "false", "n", "0"):
        return False
    raise ValueError("expected yes or no")


PARSERS = {
    "code": (_parse_code, "a code"),
    "text": (str, "text"),
    "integer": (_parse_int, "a whole number"),
    "minutes": (_parse_int, "a whole number of minutes"),
    "decimal": (_parse_decimal, "a number"),
    "money": (_parse_money, "an amount like 48.00"),
    "date": (date.fromisoformat, "a date like 2026-04-01"),
    "boolean": (_parse_bool, "yes or no"),
}

_cache: dict[tuple, tuple[Mapping, Mapping]] = {}
_lock = Lock()


def load_table(path: str, columns: tuple[ir.Column, ...], key_count: int, declared_at: Span) -> tuple[Mapping, Mapping]:
    """Read a table file: (rows by key, CSV line by key). Raises DiagnosticError listing
    every bad row (up to 50), each with file:line:column."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise DiagnosticError([Diagnostic(
            "table_unreadable", f"cannot read table file {path}: {exc.strerror}", span=declared_at,
            notes=("the path is relative to the rulebook file that declares the table",),
        )]) from None
    if not _stat.S_ISREG(stat.st_mode) and not _stat.S_ISDIR(stat.st_mode):
        # A FIFO or a device would block or never end; a table is a file.
        raise DiagnosticError([Diagnostic("table_unreadable", f"the table file {path} is not a regular file",
                                          span=declared_at)])
    cache_key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size, columns, key_count)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
    try:
        result = _read(path, columns, key_count, declared_at)
    except IsADirectoryError:
        raise DiagnosticError([Diagnostic("table_unreadable", f"the table file {path} is a folder, not a CSV file",
                                          span=declared_at)]) from None
    except OSError as exc:
        raise DiagnosticError([Diagnostic("table_unreadable", f"cannot read table file {path}: {exc.strerror}",
                                          span=declared_at)]) from None
    except UnicodeDecodeError as exc:
        raise DiagnosticError([Diagnostic(
            "table_format", f"table file {path} is not UTF-8 text (byte {exc.start} cannot be read)",
            span=declared_at, notes=("save it as UTF-8; payerlint import writes UTF-8",))]) from None
    with _lock:
        _cache[cache_key] = result
    return result


class RowLines:
    """The CSV line of each row, for explanations. Kept as a compact array in row order
    (4 bytes a row); the key -> line dict is built only the first time one is asked for,
    since only explanations and error messages need it (a 1,000,000-row dict costs ~100 MB)."""

    def __init__(self, rows: Mapping, numbers: array):
        self._rows = rows
        self._numbers = numbers
        self._index: dict | None = None
        self._lock = Lock()

    @property
    def numbers(self) -> array:
        """The line numbers, in row order (what the cache on disk keeps)."""
        return self._numbers

    def get(self, key, default=None):
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = dict(zip(self._rows, self._numbers))
        return self._index.get(key, default)

    def __len__(self) -> int:
        return len(self._numbers)


def _read(path: str, columns: tuple[ir.Column, ...], key_count: int, declared_at: Span):
    errors: list[Diagnostic] = []
    rows: dict = {}
    numbers = array("I")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        line_number = 0
        # Skip provenance comments, counting lines so positions stay true.
        header_text = None
        for raw in handle:
            line_number += 1
            if raw.startswith("#") or not raw.strip():
                continue
            header_text = raw
            break
        if header_text is None:
            raise DiagnosticError([Diagnostic("table_format", f"table file {path} has no header row", span=declared_at)])
        header_line = line_number
        header = next(csv.reader([header_text]))
        header = [h.strip() for h in header]
        positions = []
        for column in columns:
            if column.name not in header:
                errors.append(Diagnostic(
                    "table_format", f"table file {path} has no column '{column.name}'",
                    span=Span(path, line_number, 1, line_number, len(header_text.rstrip()) + 1),
                    notes=("its columns are: " + ", ".join(header),),
                    related=(declared_at,),
                ))
            else:
                positions.append(header.index(column.name))
        if errors:
            raise DiagnosticError(errors)
        parsers = [_memoised(PARSERS[c.type.name]) for c in columns]
        reader = csv.reader(handle)
        width = len(header)
        for record in _records(reader, path, header_line, errors):
            # csv counts lines from the first line after the header.
            line_number = reader.line_num + header_line
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != width:
                errors.append(Diagnostic(
                    "table_format", f"expected {width} fields, found {len(record)}",
                    span=Span(path, line_number, 1, line_number, 2)))
                if len(errors) >= MAX_REPORTED:
                    break
                continue
            values = []
            bad = False
            for column, position, (parse, words) in zip(columns, positions, parsers):
                cell = record[position].strip()
                if cell == "":
                    if not column.optional:
                        errors.append(_cell_error(path, line_number, position,
                                                  f"column {column.name} is empty; it needs {words}",
                                                  "declare the column `optional` if it may be empty"))
                        bad = True
                    values.append(None)
                    continue
                try:
                    values.append(parse(cell))
                except ValueError:
                    errors.append(_cell_error(path, line_number, position,
                                              f"column {column.name} needs {words}, found '{cell[:40]}'"))
                    bad = True
                    values.append(None)
            if bad:
                if len(errors) >= MAX_REPORTED:
                    break
                continue
            key = tuple(values[:key_count])
            if key in rows:
                first = RowLines(rows, numbers).get(key)
                errors.append(Diagnostic(
                    "duplicate_key", f"key ({', '.join(map(str, key))}) appears twice; first on line {first}",
                    span=Span(path, line_number, 1, line_number, 2)))
                if len(errors) >= MAX_REPORTED:
                    break
                continue
            rows[key] = tuple(values)
            numbers.append(line_number)
    if errors:
        if len(errors) >= MAX_REPORTED:
            errors.append(Diagnostic("table_format", f"stopped after {MAX_REPORTED} errors in {path}", span=errors[-1].span))
        raise DiagnosticError(errors)
    frozen = MappingProxyType(rows)
    return frozen, RowLines(frozen, numbers)


def _records(reader, path: str, header_line: int, errors: list):
    """The CSV records, stopping with a positioned error where the file cannot be read as
    CSV (a field past the csv module's size limit, an unterminated quote)."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + header_line
            errors.append(Diagnostic("table_format", f"cannot read this line as CSV: {exc}",
                                     span=Span(path, line, 1, line, 2)))
            return


def _memoised(entry):
    """Dates, codes and indicators repeat across a large table; parse each text once."""
    parse, words = entry
    seen: dict = {}

    def cached(text):
        try:
            return seen[text]
        except KeyError:
            value = parse(text)
            if len(seen) < 100_000:
                seen[text] = value
            return value

    return cached, words


def _cell_column(path: str, line: int, position: int) -> int:
    """1-based column where field `position` starts on a line (read again only on error)."""
    import linecache

    text = linecache.getline(path, line)
    column, field, quoted = 1, 0, False
    for index, char in enumerate(text):
        if field == position:
            return index + 1
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            field += 1
    return column


def _cell_error(path: str, line: int, position: int, message: str, note: str | None = None) -> Diagnostic:
    column = _cell_column(path, line, position)
    return Diagnostic("table_format", message, span=Span(path, line, column, line, column + 1),
                      notes=(note,) if note else ())
