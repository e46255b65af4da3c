"""Stream claim records from files, directories and standard input.

A billing export can hold hundreds of thousands of claims and is often a little broken
(a truncated last line, one row pasted from a spreadsheet, a stray BOM). So reading
never raises and never drops anything: every claim becomes a `Record`, and every part
of the input that could not be read becomes a `Record` carrying a `Diagnostic` instead,
at the position where the claim would have been. Callers check `record.error` and go on.

JSON Lines files are read one line at a time, so memory stays flat however big the file
is. A JSON array, or a single claim object, is read whole.

Messages name positions (file, line, column, array index) and JSON types, never values:
claims carry patient data, and diagnostics end up in CI logs.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from typing import IO, Any, Iterator, Sequence, TextIO

import orjson

from payerlint.diagnostics import Diagnostic
from payerlint.source import Span

CLAIM_UNREADABLE = "claim_unreadable"
CLAIM_NOT_OBJECT = "claim_not_object"
FILE_UNREADABLE = "file_unreadable"
STDIN_LABEL = "<stdin>"
CLAIM_SUFFIXES = (".json", ".jsonl")

_JSON_SPACE = " \t\r\n"
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Record:
    """One claim as read, or the reason it could not be read."""

    origin: str
    """Where it came from, for messages: `claims.jsonl:3`, `batch.json[4]`, `one.json`."""
    data: dict | None
    """The parsed claim object; None when it could not be read or is not an object."""
    error: Diagnostic | None
    """Why `data` is None; None when `data` is set."""


def read_records(paths: Sequence[str], stdin: TextIO | None = None) -> Iterator[Record]:
    """Yield a `Record` for every claim (or unreadable part) under `paths`, in order.

    Each path is a file, a directory (searched recursively for `*.json` and `*.jsonl`,
    in sorted path order so runs are reproducible) or `-` for standard input (`stdin`,
    or `sys.stdin` when not given).
    """
    for path in paths:
        if path == "-":
            yield from _read_stdin(stdin)
        elif os.path.isdir(path):
            yield from _read_directory(path)
        else:
            yield from _read_file(path)


# --- sources -----------------------------------------------------------------------


def _read_file(path: str) -> Iterator[Record]:
    try:
        stream = open(path, "rb")
    except OSError as exc:
        yield _file_error(path, f"cannot read {path}: {_reason(exc)}")
        return
    with stream:
        yield from _read_stream(path, _Lines(stream, binary=True))


def _read_stdin(stdin: TextIO | None) -> Iterator[Record]:
    if stdin is None:
        stdin = sys.stdin
        if stdin is None:
            yield _file_error(STDIN_LABEL, "cannot read <stdin>: there is no standard input")
            return
    if stdin is sys.stdin or stdin is sys.__stdin__:
        # The process's own stdin: read its bytes so decoding is ours (UTF-8, whatever
        # the locale says) and a bad byte costs one line, not the rest of the stream.
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            yield from _read_stream(STDIN_LABEL, _Lines(buffer, binary=True))
            return
    # A text stream handed in by the caller: respect the decoding it was opened with.
    yield from _read_stream(STDIN_LABEL, _Lines(stdin, binary=False))


def _read_directory(root: str) -> Iterator[Record]:
    entries: list[tuple[tuple[str, ...], str | Record]] = []

    def walk_error(exc: OSError) -> None:
        where = exc.filename or root
        entries.append((_parts(root, where), _file_error(where, f"cannot read {where}: {_reason(exc)}")))

    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(CLAIM_SUFFIXES):
                path = os.path.join(dirpath, name)
                entries.append((_parts(root, path), path))
    if not entries:
        yield _file_error(root, f"cannot read {root}: the directory has no .json or .jsonl files")
        return
    entries.sort(key=lambda entry: entry[0])
    for _, entry in entries:
        if isinstance(entry, Record):
            yield entry
        else:
            yield from _read_file(entry)


def _parts(root: str, path: str) -> tuple[str, ...]:
    """Sort key: path components below `root`, so a tree sorts the same on every OS."""
    return tuple(os.path.relpath(path, root).split(os.sep))


# --- lines -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str | None
    """Decoded text with its line end; None when the bytes are not UTF-8."""
    bad_column: int = 0
    """When `text` is None: the column of the first byte that is not UTF-8."""

    @property
    def blank(self) -> bool:
        return self.text is not None and not self.text.strip(_JSON_SPACE)


class _Lines:
    """Numbered lines of one stream, decoded one at a time.

    Decoding line by line (rather than the whole stream) lets one line of a JSON Lines
    file that is not UTF-8 become one bad record instead of a lost file.
    """

    def __init__(self, stream: IO[Any], binary: bool):
        self._stream = stream
        self._binary = binary
        self.number = 0

    def next(self) -> _Line | None:
        raw = self._stream.readline()
        if not raw:
            return None
        self.number += 1
        if self._binary:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
                return _Line(self.number, None, column)
        else:
            text = raw
        if self.number == 1 and text.startswith(_BOM):
            text = text[1:]
        return _Line(self.number, text)

    def next_content(self, seen: list[_Line]) -> _Line | None:
        """The next line that is not blank; every line read is appended to `seen`."""
        while (line := self.next()) is not None:
            seen.append(line)
            if not line.blank:
                return line
        return None

    def rest(self) -> str:
        """Everything not yet read, as text. Raises UnicodeDecodeError if not UTF-8."""
        raw = self._stream.read()
        text = raw.decode("utf-8") if self._binary else raw
        if self.number == 0 and text.startswith(_BOM):
            text = text[1:]
        return text


# --- reading -----------------------------------------------------------------------


def _read_stream(label: str, lines: _Lines) -> Iterator[Record]:
    try:
        yield from _detect(label, lines)
    except UnicodeDecodeError:
        yield _file_error(label, f"cannot read {label}: it is not UTF-8 text")
    except OSError as exc:
        yield _file_error(label, f"cannot read {label}: {_reason(exc)}")


def _detect(label: str, lines: _Lines) -> Iterator[Record]:
    """Tell a JSON array, a single JSON value and JSON Lines apart by content.

    The first line decides without reading further when it can: `[` starts an array; a
    first line that is a whole JSON value followed by more content is JSON Lines. Only a
    first line that is not a value on its own (a pretty-printed claim, or JSON Lines
    whose first line is broken) needs a second look.
    """
    seen: list[_Line] = []
    first = lines.next_content(seen)
    if first is None:
        yield _file_error(label, f"cannot read {label}: it is empty, so it holds no claims")
        return
    if first.text is not None and first.text.lstrip(_JSON_SPACE).startswith("["):
        yield from _read_whole(label, seen, lines, array=True)
        return
    if first.text is not None:
        value, problem = _parse(first.text)
        if problem is None:
            second = lines.next_content(seen)
            if second is None:
                yield _value_record(label, value)
                return
            yield _value_record(f"{label}:{first.number}", value)
            yield from _stream_lines(label, lines, second)
            return
    second = lines.next_content(seen)
    if second is not None and second.text is not None and _is_object_line(second.text):
        # A lone object on line 2 after a broken line 1: JSON Lines whose first line is
        # damaged. Reading it whole would turn one bad line into a lost file.
        yield _line_record(label, first)
        yield from _stream_lines(label, lines, second)
        return
    yield from _read_whole(label, seen, lines, array=False)


def _stream_lines(label: str, lines: _Lines, line: _Line | None) -> Iterator[Record]:
    """JSON Lines from `line` on, holding one line in memory at a time."""
    while line is not None:
        if not line.blank:
            yield _line_record(label, line)
        line = lines.next()


def _line_record(label: str, line: _Line) -> Record:
    origin = f"{label}:{line.number}"
    if line.text is None:
        span = Span(label, line.number, line.bad_column, line.number, line.bad_column + 1)
        return _error(origin, CLAIM_UNREADABLE, f"{span}: this line is not UTF-8 text", span)
    value, problem = _parse(line.text)
    if problem is not None:
        message, _, column = problem
        span = Span(label, line.number, column, line.number, column + 1)
        return _error(origin, CLAIM_UNREADABLE, f"{span}: invalid JSON: {message}", span)
    return _value_record(origin, value)


def _read_whole(label: str, seen: list[_Line], lines: _Lines, array: bool) -> Iterator[Record]:
    for line in seen:
        if line.text is None:
            span = Span(label, line.number, line.bad_column, line.number, line.bad_column + 1)
            yield _error(label, FILE_UNREADABLE, f"cannot read {label}: it is not UTF-8 text (at {span})", span)
            return
    text = "".join(line.text or "" for line in seen) + lines.rest()
    value, problem = _parse(text)
    if problem is not None:
        extra_data = problem[0] == "Extra data"
        if not array and (extra_data or _any_object_line(text)):
            # More than one JSON value in the file, or a line holding a claim on its own:
            # JSON Lines after all, with its first lines broken.
            yield from _memory_jsonl(label, text)
            return
        message, line, column = problem
        span = Span(label, line, column, line, column + 1)
        yield _error(label, CLAIM_UNREADABLE, f"{span}: invalid JSON: {message}", span)
        return
    del text
    if not array:
        yield _value_record(label, value)
        return
    for index, item in enumerate(value):
        yield _value_record(f"{label}[{index}]", item)


def _memory_jsonl(label: str, text: str) -> Iterator[Record]:
    """JSON Lines over text already in memory (the rare file detected only by parsing it)."""
    lines = _Lines(io.StringIO(text), binary=False)
    yield from _stream_lines(label, lines, lines.next())


# --- values ------------------------------------------------------------------------


def _parse(text: str) -> tuple[Any, tuple[str, int, int] | None]:
    """The JSON value of `text`, or (message, line, column) saying why it is not one.

    Plain `json`: money is a string in a claim, and a float stays a float so that the
    schema can reject it where an integer belongs.
    """
    try:
        # orjson parses about 5x faster; when it refuses a text (malformed JSON, NaN, an
        # integer past 64 bits), the standard parser decides, with its precise position.
        return orjson.loads(text), None
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, (exc.msg, exc.lineno, exc.colno)
    except (ValueError, RecursionError) as exc:
        return None, (_parse_failure(exc), 1, 1)


def _parse_failure(exc: BaseException) -> str:
    # These messages from Python quote nothing from the input, but say it in our words.
    if isinstance(exc, RecursionError):
        return "the value is nested too deeply"
    return "a number has too many digits"


def _is_object_line(text: str) -> bool:
    if not text.lstrip(_JSON_SPACE).startswith("{"):
        return False
    value, problem = _parse(text)
    return problem is None and isinstance(value, dict)


def _any_object_line(text: str) -> bool:
    return any(_is_object_line(line) for line in text.splitlines()[1:])


def _value_record(origin: str, value: Any) -> Record:
    # No span: a rendered diagnostic quotes the line its span points at, and this line
    # parsed, so it is all data (the origin already says where it is).
    if isinstance(value, dict):
        return Record(origin, value, None)
    return _error(origin, CLAIM_NOT_OBJECT, f"{origin}: expected a claim (a JSON object), found {json_type(value)}")


def json_type(value: Any) -> str:
    """The JSON type of a value with its article, for messages that must not quote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value"


def _error(origin: str, code: str, message: str, span: Span | None = None) -> Record:
    # quote=False: a claim file's lines are patient data; messages name positions only.
    return Record(origin, None, Diagnostic(code, message, span=span, quote=False))


def _file_error(path: str, message: str) -> Record:
    return _error(path, FILE_UNREADABLE, message)


def _reason(exc: OSError) -> str:
    # strerror ("No such file or directory") names no file contents; str(exc) would
    # repeat the path, which the message already gives.
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
