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
import re
import stat
import sys
from dataclasses import dataclass
from typing import IO, Any, Iterator, Protocol, Sequence, TextIO

import orjson

from payerlint.diagnostics import Diagnostic
from payerlint.source import Span, unreadable

CLAIM_UNREADABLE = "claim_unreadable"
CLAIM_NOT_OBJECT = "claim_not_object"
FILE_UNREADABLE = "file_unreadable"
STDIN_LABEL = "<stdin>"
CLAIM_SUFFIXES = (".json", ".jsonl")

_JSON_SPACE = " \t\r\n"
MAX_RECORD_BYTES = 4 << 20
"""The longest JSON Lines line read as a claim (4 MiB; the schema's limits keep a real
claim far smaller). A longer line is one unreadable record, skipped without holding it."""
_BOM = "\ufeff"
MAX_SKIPPED_LINE_BYTES = 1 << 30
"""A line is skipped, unread, up to this length; past it the stream is taken for one that
never ends (a device such as /dev/zero) and reading stops with an error."""
MAX_DOCUMENT_LINE_BYTES = 256 << 20
"""A file's first line that opens an array (`[{...}, {...}]`, as `json.dumps` writes a
list of claims on one line) is read whole up to this size: it is a document of many
claims, not one claim that is too long."""


@dataclass(frozen=True, slots=True)
class Record:
    """One claim as read, or the reason it could not be read."""

    origin: str
    """Where it came from, for messages: `claims.jsonl:3`, `batch.json[4]`, `one.json`."""
    data: dict | None
    """The parsed claim object; None when it could not be read or is not an object."""
    error: Diagnostic | None
    """Why `data` is None; None when `data` is set."""
    locations: Any = None
    """For a claim converted from another format (FHIR, X12): a `claims.provenance.Locations`
    naming where each value came from; None for a payerlint JSON claim."""
    problems: tuple[Diagnostic, ...] = ()
    """What a converting reader found wrong in a claim it still read (an 837P claim with
    an ICD-9 diagnosis, or whose documentation record disagrees with it), errors and
    warnings. With an error among them the claim is not checked: its result lists each
    as an `input` finding. A record with no `data` may list its problems here too (every
    one of them, where `error` is the first)."""
    identity: dict | None = None
    """For a record with no `data`: the claim's `claim_id` and `payer_id` when a converting
    reader could read them though not the claim (a FHIR Claim with a readable identifier),
    so its error result still names the claim."""


class OtherFormat(Protocol):
    """A file format that is not JSON (the 837P), read by its own reader: `read_records`
    hands it each file it claims, as a binary stream. See `formats.py`."""

    suffixes: tuple[str, ...]
    """File name endings a folder is searched for, besides .json and .jsonl."""

    def claims(self, name: str, head: bytes) -> bool:
        """Whether the file named `name`, whose first bytes are `head`, is this format's."""
        ...

    def records(self, stream: IO[bytes], label: str) -> Iterator[Record]:
        """Every record of the stream (one per claim, and one per part that cannot be
        read); never raises."""
        ...


class Reading:
    """How to read, and how much was read: `read_records(..., reading=Reading())`.

    `bytes` counts the bytes read so far (a progress display's time left). With `defer`,
    a JSON Lines line is not parsed here but yielded as an `Unparsed` line, which
    `Unparsed.finish()` turns into the very `Record` it would have been: the parallel
    batch parses lines in its worker processes, so the process that reads stays light."""

    __slots__ = ("bytes", "defer")

    def __init__(self, defer: bool = False):
        self.bytes = 0
        self.defer = defer


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A decoded JSON Lines line, not parsed yet (`Reading(defer=True)`)."""

    origin: str
    label: str
    number: int
    raw: bytes | None
    """The line's bytes (they decoded as UTF-8 when read); None for a text stream."""
    text: str | None = None
    """The line's text, when it came from a text stream (no bytes)."""
    data = None
    error = None
    locations = None
    problems = ()

    def finish(self) -> Record:
        text = self.text if self.raw is None else self.raw.decode("utf-8")
        return _line_record(self.label, _Line(self.number, text, raw=self.raw))


def finish(record):
    """A record ready to check: an `Unparsed` line parsed, any other record as it is."""
    return record.finish() if isinstance(record, Unparsed) else record


def record_from_text(text: str | None, origin: str | None, label: str = "claim") -> Record:
    """One JSON text from elsewhere (a table cell, a message) read exactly as a line of a
    JSON Lines file: the same checks, the same messages. An `origin` like `claims.jsonl:12`
    is taken as file and line, so messages match what `payerlint check` says of that
    line; without an origin, messages name `label` and the record has no origin."""
    match = re.match(r"^(.*):([0-9]+)$", origin) if origin else None
    name, number = (match.group(1), int(match.group(2))) if match else (origin or label, 1)
    if text is None:
        record = _value_record(f"{name}:{number}", None)
    else:
        # A line of a file ends with its newline (which the JSON parser's messages see).
        text = text if text.endswith("\n") else text + "\n"
        size = len(text.encode("utf-8", "surrogatepass"))
        line = _Line(number, None, size=size) if size > MAX_RECORD_BYTES else _Line(number, text)
        record = _line_record(name, line)
    return record if record.origin == origin else Record(origin, record.data, record.error, record.locations)


def read_records(paths: Sequence[str], stdin: TextIO | None = None, reading: Reading | None = None,
                 formats: Sequence[OtherFormat] = ()) -> Iterator[Record]:
    """Yield a `Record` for every claim (or unreadable part) under `paths`, in order.

    Each path is a file, a directory (searched recursively for `*.json` and `*.jsonl`,
    and the `formats`' suffixes, in sorted path order so runs are reproducible) or `-` for
    standard input (`stdin`, or `sys.stdin` when not given). `reading` counts the bytes
    read and may defer parsing (see `Reading`). A file (or standard input) that one of
    `formats` claims, by its name or its first bytes, is read by that format instead.
    """
    for path in paths:
        if path == "-":
            yield from _read_stdin(stdin, reading, formats)
        elif os.path.isdir(path):
            yield from _read_directory(path, reading, formats)
        else:
            yield from _read_file(path, reading, formats)


# --- sources -----------------------------------------------------------------------


def _read_file(path: str, reading: Reading | None = None, formats: Sequence[OtherFormat] = ()) -> Iterator[Record]:
    try:
        stream = open(path, "rb")
    except OSError as exc:
        yield _file_error(path, f"cannot read {path}: {_reason(exc)}")
        return
    with stream:
        other = _claimed(path, stream, formats) if formats else None
        if other is not None:
            yield from _read_other(other, stream, path, reading)
            return
        yield from _read_stream(path, _Lines(stream, binary=True, reading=reading))


def _read_stdin(stdin: TextIO | None, reading: Reading | None = None,
                formats: Sequence[OtherFormat] = ()) -> Iterator[Record]:
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
            if formats:
                if not hasattr(buffer, "peek"):
                    buffer = io.BufferedReader(buffer)  # peeking needs a buffered stream
                other = _claimed("", buffer, formats)
                if other is not None:
                    yield from _read_other(other, buffer, STDIN_LABEL, reading)
                    return
            yield from _read_stream(STDIN_LABEL, _Lines(buffer, binary=True, reading=reading))
            return
    # A text stream handed in by the caller: respect the decoding it was opened with.
    yield from _read_stream(STDIN_LABEL, _Lines(stdin, binary=False, reading=reading))


_HEAD = 512
"""Bytes a format sees to tell whether a file is its own (an X12 ISA segment is 106)."""


def _claimed(name: str, stream: Any, formats: Sequence[OtherFormat]) -> OtherFormat | None:
    """The format that claims this file, by its name or first bytes (read without
    consuming them), or None for JSON."""
    try:
        head = stream.peek(_HEAD)[:_HEAD]
    except (OSError, ValueError):
        head = b""
    return next((f for f in formats if f.claims(name, head)), None)


def _read_other(other: OtherFormat, stream: IO[bytes], label: str, reading: Reading | None) -> Iterator[Record]:
    try:
        yield from other.records(_Counted(stream, reading) if reading is not None else stream, label)
    except OSError as exc:
        yield _file_error(label, f"cannot read {label}: {_reason(exc)}")


class _Counted:
    """A binary stream that adds what is read from it to `reading.bytes` (progress)."""

    def __init__(self, stream: IO[bytes], reading: Reading):
        self._stream = stream
        self._reading = reading

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._reading.bytes += len(data)
        return data


def _read_directory(root: str, reading: Reading | None = None,
                    formats: Sequence[OtherFormat] = ()) -> Iterator[Record]:
    entries: list[tuple[tuple[str, ...], str | Record]] = []
    suffixes = CLAIM_SUFFIXES + tuple(s for f in formats for s in f.suffixes)

    def walk_error(exc: OSError) -> None:
        where = exc.filename or root
        entries.append((_parts(root, where), _file_error(where, f"cannot read {where}: {_reason(exc)}")))

    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(suffixes):
                path = os.path.join(dirpath, name)
                entries.append((_parts(root, path), _regular(path)))
    if not entries:
        kinds = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}"
        yield _file_error(root, f"cannot read {root}: the directory has no {kinds} files")
        return
    entries.sort(key=lambda entry: entry[0])
    for _, entry in entries:
        if isinstance(entry, Record):
            yield entry
        else:
            yield from _read_file(entry, reading, formats)


def _regular(path: str) -> str | Record:
    """A file found in a folder, or an error record when it is no regular file: a pipe
    would block the run and a device (a link to /dev/zero) would never end. A path named
    on the command line is read whatever it is (`<(zcat claims.jsonl.gz)` is a pipe)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _file_error(path, f"cannot read {path}: {_reason(exc)}")
    if not stat.S_ISREG(mode):
        return _file_error(path, f"cannot read {path}: not a regular file (a pipe, device or socket), so it is "
                                 "skipped when a folder is read; name it on the command line to read it")
    return path


def _parts(root: str, path: str) -> tuple[str, ...]:
    """Sort key: path components below `root`, so a tree sorts the same on every OS."""
    return tuple(os.path.relpath(path, root).split(os.sep))


# --- lines -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str | None
    """Decoded text with its line end; None when the bytes are not UTF-8 or too long."""
    bad_column: int = 0
    """When the bytes are not UTF-8: the column of the first byte that is not."""
    size: int = 0
    """When the line is longer than a claim may be: its length; its text is not kept."""
    raw: bytes | None = None
    """The bytes `text` was decoded from, when read from a binary stream (parsed as they
    are, which saves encoding the text again)."""

    @property
    def blank(self) -> bool:
        return self.text is not None and not self.text.strip(_JSON_SPACE)

    @property
    def too_long(self) -> bool:
        return self.size > 0


class _Lines:
    """Numbered lines of one stream, decoded one at a time.

    Decoding line by line (rather than the whole stream) lets one line of a JSON Lines
    file that is not UTF-8 become one bad record instead of a lost file. A line longer
    than a claim may be is skipped in pieces, never held whole.
    """

    def __init__(self, stream: IO[Any], binary: bool, reading: Reading | None = None):
        self._stream = stream
        self._binary = binary
        self._reading = reading
        self.defer = bool(reading and reading.defer)
        self.number = 0
        self._content = False  # a line that is not blank was read

    def next(self) -> _Line | None:
        raw = self._stream.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return None
        self.number += 1
        if self._reading is not None:
            self._reading.bytes += len(raw)
        if len(raw) > MAX_RECORD_BYTES:
            first = not self._content
            self._content = True
            size = len(raw)
            newline = b"\n" if self._binary else "\n"
            head = raw[:16].lstrip(b"\xef\xbb\xbf \t\r" if self._binary else _BOM + " \t\r")
            pieces = [raw] if first and head[:1] in (b"[", "[") else None
            while not raw.endswith(newline):
                raw = self._stream.readline(1 << 20)
                if not raw:
                    break
                size += len(raw)
                if size > MAX_SKIPPED_LINE_BYTES:
                    raise OSError(0, f"line {self.number} runs past {MAX_SKIPPED_LINE_BYTES:,} bytes without "
                                     "ending (an endless stream?); the rest is not read")
                if self._reading is not None:
                    self._reading.bytes += len(raw)
                if pieces is not None:
                    pieces.append(raw)
                    if size > MAX_DOCUMENT_LINE_BYTES:
                        pieces = None
            if pieces is not None:
                whole = (b"" if self._binary else "").join(pieces)
                return _decoded(self.number, whole) if self._binary else _decoded(self.number, whole, text=whole)
            return _Line(self.number, None, size=size)
        line = _decoded(self.number, raw) if self._binary else _decoded(self.number, raw, text=raw)
        if not line.blank:
            self._content = True
        return line

    def next_content(self, seen: list[_Line]) -> _Line | None:
        """The next line that is not blank; every line read is appended to `seen`."""
        while (line := self.next()) is not None:
            seen.append(line)
            if not line.blank:
                return line
        return None


def _decoded(number: int, raw: bytes | str, text: str | None = None) -> _Line:
    """A line's bytes as text; a BOM is dropped from line 1 only (elsewhere it is refused)."""
    if text is None:
        assert isinstance(raw, bytes)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
            return _Line(number, None, column)
    if number == 1 and text.startswith(_BOM):
        return _Line(number, text[1:])
    # The bytes go along, so parsing need not encode the text again.
    return _Line(number, text, raw=raw if isinstance(raw, bytes) else None)


# --- reading -----------------------------------------------------------------------


def _read_stream(label: str, lines: _Lines) -> Iterator[Record]:
    try:
        yield from _detect(label, lines)
    except OSError as exc:
        yield _file_error(label, f"cannot read {label}: {_reason(exc)}")


def _detect(label: str, lines: _Lines) -> Iterator[Record]:
    """Tell JSON Lines, a JSON array and a single JSON value apart by what the whole
    file is, while streaming JSON Lines in flat memory.

    A first line that is a whole JSON value followed by more content is JSON Lines,
    whatever that first value is (an array on line 1 is one record that is not a claim,
    not the start of an array file); a first line that is the only content is the
    file's one value (an array of claims, or a claim). A first line that is not a value
    on its own is either a multi-line document or JSON Lines whose first line is
    broken: only then is the rest read, and the whole text decides (see `_read_whole`).
    """
    seen: list[_Line] = []
    first = lines.next_content(seen)
    if first is None:
        yield _file_error(label, f"cannot read {label}: it is empty, so it holds no claims")
        return
    if first.text is not None and not first.too_long:
        value, problem = _parse(first.text)
        if problem is None:
            second = lines.next_content(seen)
            if second is None:
                yield from _whole_value(label, value)
                return
            yield _value_record(f"{label}:{first.number}", value)
            yield from _stream_lines(label, lines, second)
            return
        if _opens_document(first.text):
            yield from _read_whole(label, seen, lines, document=True)
            return
    second = lines.next_content(seen)
    if second is not None and _is_object_line(second):
        # A claim alone on line 2 after a broken line 1: JSON Lines whose first line is
        # damaged. Reading it whole would turn one bad line into a lost file.
        yield _line_record(label, first)
        yield from _stream_lines(label, lines, second)
        return
    yield from _read_whole(label, seen, lines, document=False)


def _opens_document(text: str) -> bool:
    """A first line that only opens a pretty-printed document (`[`, `{`): what follows
    is one document, read whole, and not JSON Lines."""
    return text.strip(_JSON_SPACE) in ("[", "{", "[{")


def _stream_lines(label: str, lines: _Lines, line: _Line | None) -> Iterator[Record]:
    """JSON Lines from `line` on, holding one line in memory at a time."""
    while line is not None:
        if not line.blank:
            if lines.defer and line.text is not None and not line.too_long:
                yield Unparsed(f"{label}:{line.number}", label, line.number, line.raw,
                               None if line.raw is not None else line.text)
            else:
                yield _line_record(label, line)
        line = lines.next()


def _line_record(label: str, line: _Line) -> Record:
    origin = f"{label}:{line.number}"
    try:
        if line.too_long:
            return _error(origin, CLAIM_UNREADABLE,
                          f"{label}:{line.number}: this line is {line.size:,} bytes; a claim may be at most "
                          f"{MAX_RECORD_BYTES:,} bytes")
        if line.text is None:
            span = Span(label, line.number, line.bad_column, line.number, line.bad_column + 1)
            return _error(origin, CLAIM_UNREADABLE, f"{span}: this line is not UTF-8 text", span)
        value, problem = _parse(line.text, line.raw)
        if problem is not None:
            message, where, column = problem
            end = len(line.text.rstrip("\r\n")) + 1
            if where > 1 or column >= end:
                # At or past the line's end (its line break is the text's second line): the
                # record stops before its JSON does. The place is where the line ends, not
                # column 1 of a second line.
                column = end
                message += " (the line ends before the claim does: is it cut short?)"
            span = Span(label, line.number, column, line.number, column + 1)
            return _error(origin, CLAIM_UNREADABLE, f"{span}: invalid JSON: {message}{_utf16_hint(line.text)}", span)
        return _value_record(origin, value)
    except Exception as exc:  # noqa: BLE001 - one line must never end the batch
        return _error(origin, CLAIM_UNREADABLE, f"{origin}: payerlint could not read this line "
                                                f"({type(exc).__name__}); this is a bug in payerlint")


def _read_whole(label: str, seen: list[_Line], lines: _Lines, document: bool) -> Iterator[Record]:
    """The rest of the stream, decided as a whole: one JSON document (a claim or an
    array of claims) when the whole text parses; otherwise JSON Lines when it holds more
    than one value, or (unless the first line opened a document) when any later line is a
    claim on its own or cannot be decoded; otherwise one error where the document breaks.
    Between losing a record and reporting a broken line too many, the reader reports.
    Every line is decoded on its own, so a line that is not UTF-8 costs that line."""
    all_lines = list(seen)
    while (line := lines.next()) is not None:
        all_lines.append(line)
    content = [line for line in all_lines if not line.blank]
    bad = [line for line in content if line.text is None or line.too_long]
    jsonl = not document and any(line.text is None or line.too_long or _is_object_line(line) for line in content[1:])
    if not bad:
        text = "".join(line.text or "" for line in all_lines)
        value, problem = _parse(text)
        if problem is None:
            yield from _whole_value(label, value)
            return
        if problem[0] != "Extra data" and not jsonl:
            message, line_number, column = problem
            span = Span(label, line_number, column, line_number, column + 1)
            yield _error(label, CLAIM_UNREADABLE, f"{span}: invalid JSON: {message}{_utf16_hint(text)}", span)
            return
        if problem[0] == "Extra data":
            # Documents one after the other, as `jq . a.json b.json` writes them: each
            # is a record, named by the line it starts on.
            documents = _documents(text)
            if documents is not None:
                for number, value in documents:
                    yield _value_record(f"{label}:{number}", value)
                return
    elif not jsonl:
        # One document with a line that cannot be read: say where, once.
        first_bad = bad[0]
        if first_bad.too_long:
            yield _line_record(label, first_bad)
            return
        span = Span(label, first_bad.number, first_bad.bad_column, first_bad.number, first_bad.bad_column + 1)
        yield _error(label, CLAIM_UNREADABLE, f"{span}: this line is not UTF-8 text, so the file cannot be "
                                              f"read as one JSON document", span)
        return
    for line in content:
        yield _line_record(label, line)


def _utf16_hint(text: str) -> str:
    # UTF-16 text read as UTF-8 has a NUL beside every ASCII character.
    return " (the text holds NUL characters: is the file UTF-16? save it as UTF-8)" if "\x00" in text[:200] else ""


def _documents(text: str) -> list[tuple[int, Any]] | None:
    """(line, value) for each JSON document of a text that is several in a row, or None
    when one of them does not parse (the caller then reports line by line)."""
    watch = _KeyWatch()
    out, at, line = [], 0, 1
    while True:
        start = at
        while at < len(text) and text[at] in _JSON_SPACE:
            at += 1
        line += _breaks(text, start, at)
        if at == len(text):
            return out if len(out) > 1 else None
        try:
            # A document that writes a key twice is refused alone, like a line of JSON Lines.
            value, end = watch.decode(text, at)
        except (ValueError, RecursionError, _Refused):
            return None
        if _has_surrogate(value):
            return None
        out.append((line, value))
        line += _breaks(text, at, end)
        at = end


def _breaks(text: str, start: int, end: int) -> int:
    """Line breaks in text[start:end]: LF, CRLF, or a CR alone (old Mac files end lines so)."""
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _whole_value(label: str, value: Any) -> Iterator[Record]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield _value_record(f"{label}[{index}]", item)
        return
    yield _value_record(label, value)


# --- values ------------------------------------------------------------------------

# Nineteen digits in a row may be an integer past 64 bits: orjson reads those as floats
# (an inexact 1e+30), so such text is parsed by the standard library, which keeps integers
# exact. Found by mapping every digit to '9' and looking for nineteen of them: about 2 us
# for a 2 KB claim, where a regular expression took 17 us.
_DIGITS = bytes(0x39 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_DIGIT_RUN = b"9" * 19
# A \\u escape of half a surrogate pair with no other half: not Unicode text.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


_LONG_NUMBER = re.compile(r"\d{4301}")
"""More digits than Python turns into an integer (sys.int_info.default_max_str_digits)."""


FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")
"""A key that names a field, which messages may show; any other key may be data (an
extension's free text, even a patient's), which they never show."""


class _Refused(ValueError):
    """A value JSON allows the standard parser to accept but a claim never holds."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused("a number is too large")
    return value


def _parse(text: str, raw: bytes | None = None) -> tuple[Any, tuple[str, int, int] | None]:
    """The JSON value of `text`, or (message, line, column) saying why it is not one.

    Integers stay exact integers and floats stay floats (the schema rejects a float where
    an integer belongs); money is a string in a claim. NaN, Infinity, numbers too large
    for a float, and lone surrogate escapes (not Unicode) are refused.
    """
    if raw is None:
        raw = text.encode("utf-8", "surrogatepass")
    if _DIGIT_RUN not in raw.translate(_DIGITS):
        try:
            # orjson parses about 5x faster; when it refuses a text (malformed JSON, NaN,
            # a lone surrogate), the standard parser decides, with its precise position.
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            # A key written twice in one object: parsers keep the last (orjson, json) or
            # the first, so the claim checked and the claim billed could differ. The keys
            # the text writes are compared with the members of the value (`_no_key_twice`);
            # where that does not show them equal, the standard parser, which sees every
            # key, decides and says which.
            if _no_key_twice(raw, value):
                return value, None
    watch = _KeyWatch()
    try:
        value = watch.decoder.decode(text)
    except json.JSONDecodeError as exc:
        return None, (_decode_message(text, exc), exc.lineno, exc.colno)
    except _Refused as exc:
        return None, (str(exc), 1, 1)
    except (ValueError, RecursionError) as exc:
        line, column = 1, 1
        if not isinstance(exc, RecursionError) and (long := _LONG_NUMBER.search(text)) is not None:
            line, column = _position(text, long.start())
        return None, (_parse_failure(exc), line, column)
    if _has_surrogate(value):
        match = _LONE_SURROGATE.search(text)
        line, column = _position(text, match.start()) if match else (1, 1)
        return None, ("a \\u escape names half a surrogate pair (U+D800 to U+DFFF), which is not text", line, column)
    if watch.duplicates:
        if isinstance(value, list) and text.lstrip(_JSON_SPACE + "\ufeff").startswith("["):
            # An array of claims: each element is read again on its own, so only the claims
            # with a key written twice are refused, whatever else the file holds.
            elements = _elements(text)
            if elements is not None:
                return elements, None
        return None, (watch.refused(value).message, 1, 1)
    return value, None


_ESCAPE = re.compile(rb"\\.", re.S)


def _no_key_twice(raw: bytes, value: Any) -> bool:
    """True when the text `raw`, which orjson read as `value`, writes no key twice in one
    object; False when that is not shown this way (the standard parser then decides).

    Every colon of a JSON text is a key's, or inside a string. orjson writes the value back
    with one colon per member and the strings' colons as they are: the two counts agree
    exactly when every key written is a member, wherever the text put its spaces. A colon
    written as an escape (\\u003a) is not counted in the text, so such a text is left to the
    standard parser."""
    if b"\\" in raw and b"\\u003" in raw.lower():
        return False
    try:
        out = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _no_key_twice_deep(raw, value)
    return raw.count(b":") == out.count(b":")


def _no_key_twice_deep(raw: bytes, value: Any) -> bool:
    """`_no_key_twice` for a value nested past the depth orjson writes (a deep `x-` value,
    on which the standard parser would run out of stack): the colons outside strings (each
    escape made one plain byte, so no string holds a quote) against the members, walked."""
    text = _ESCAPE.sub(b"_", raw) if b"\\" in raw else raw
    outside = b"".join(text.split(b'"')[::2]).count(b":")
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return outside == count


class _KeyWatch:
    """The standard parser with an `object_pairs_hook` that notes (object, key) wherever a
    key is written twice in one object."""

    __slots__ = ("duplicates", "decoder")

    def __init__(self) -> None:
        self.duplicates: list[tuple[dict, str]] = []
        self.decoder = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite,
                                        object_pairs_hook=self._pairs)

    def _pairs(self, items: list) -> dict:
        made = dict(items)
        if len(made) != len(items):
            seen: set = set()
            self.duplicates.append((made, next(k for k, _ in items if k in seen or seen.add(k))))
        return made

    def decode(self, text: str, at: int) -> tuple[Any, int]:
        """The value starting at `at` (`_Duplicated` when it writes a key twice) and where it ends."""
        self.duplicates.clear()
        value, end = self.decoder.raw_decode(text, at)
        return (self.refused(value) if self.duplicates else value), end

    def refused(self, value: Any) -> "_Duplicated":
        """What is said of `value`, which holds the first duplicate noted."""
        holder, key = self.duplicates[0]
        return _Duplicated(_twice(key, _pointers(value).get(id(holder))))


def _elements(text: str) -> list | None:
    """The elements of a JSON array, each read on its own; an element that writes a key
    twice becomes `_Duplicated`. None when the text is not read so (the caller then
    reports the whole document)."""
    watch = _KeyWatch()
    at = text.index("[") + 1
    out: list = []
    try:
        while True:
            while at < len(text) and text[at] in _JSON_SPACE:
                at += 1
            if text.startswith("]", at):
                return out
            if out:
                if not text.startswith(",", at):
                    return None
                at += 1
                while at < len(text) and text[at] in _JSON_SPACE:
                    at += 1
            item, at = watch.decode(text, at)
            out.append(item)
    except (ValueError, RecursionError, _Refused):
        return None


def _pointers(value: Any) -> dict[int, str]:
    """The JSON pointer of every object inside `value`, by identity, in one walk."""
    found: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, pointer = stack.pop()
        if isinstance(item, dict):
            found[id(item)] = pointer
            stack.extend((v, f"{pointer}/{_token(k)}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(item))
    return found


def _token(key: Any) -> str:
    # A key that is no field name may be data (an extension's free text): not shown.
    key = str(key)
    return key.replace("~", "~0").replace("/", "~1") if FIELD_NAME.fullmatch(key) else "(a key not shown)"


class _Duplicated:
    """An element of an array of claims that wrote a key twice: its record is the error."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _twice(key: str, pointer: str | None) -> str:
    # The key is quoted only when it looks like a field name: a key of an extension may be
    # free text, even a patient's. An object a later duplicate replaced is in no place.
    named = f"the key {json.dumps(key)}" if FIELD_NAME.fullmatch(key) else "a key"
    where = "the top object" if pointer == "" else pointer if pointer is not None else "an object a later key replaced"
    return (f"{named} is written twice in one object (in {where}): JSON readers differ on which one counts, "
            f"so payerlint checks neither; keep one")


def _decode_message(text: str, exc: json.JSONDecodeError) -> str:
    if 0 <= exc.pos < len(text) and text[exc.pos] == _BOM:
        return "a byte-order mark (U+FEFF) may only start the file"
    if exc.msg == "Invalid control character at":
        # The json module's words, which end where its position used to follow.
        return "a control character (a line break or tab) inside a string; write it as \\n or \\t"
    if exc.msg == "Unterminated string starting at":
        return "a string is not closed: it starts here and no closing quote follows"
    if exc.msg.endswith(" at"):
        return exc.msg[:-3] + " here"
    return exc.msg


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _has_surrogate(value: Any) -> bool:
    """Whether any string or key in a parsed value holds a surrogate code point (only
    reachable through the standard parser, which accepts lone \\u escapes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _parse_failure(exc: BaseException) -> str:
    # These messages from Python quote nothing from the input, but say it in our words.
    if isinstance(exc, RecursionError):
        return "the value is nested too deeply"
    return "a number has too many digits"


def _is_object_line(line: _Line) -> bool:
    if line.text is None or line.too_long or not line.text.lstrip(_JSON_SPACE).startswith("{"):
        return False
    value, problem = _parse(line.text)
    return problem is None and isinstance(value, dict)


# --- reading from memory (a service's request body) ----------------------------------


def parse_json(text: str) -> tuple[Any, tuple[str, int, int] | None]:
    """The JSON value of `text`, or (message, line, column) saying why it is not one,
    with the reader's rules for what a claim may hold (see `_parse`)."""
    return _parse(text)


def value_record(origin: str, value: Any) -> Record:
    """A parsed JSON value as a record: the claim, or why it is not one (not an object)."""
    return _value_record(origin, value)


class LineFeed:
    """JSON Lines fed in chunks as they arrive (an HTTP request body): `feed` returns the
    records of the lines each chunk completes, `end` the last line's. Each line is one
    record, read exactly as a JSON Lines file's line is (UTF-8, BOM only at the start, an
    over-long line skipped without being held); blank lines are no record.

    >>> feed = LineFeed("request")
    >>> [r.origin for r in feed.feed(b'{"claim_id": "A"}\n{"cla')] + [r.origin for r in feed.end()]
    ['request:1']
    """

    def __init__(self, label: str):
        self.label = label
        self.number = 0
        self._pending = bytearray()
        self._skipped = 0
        """The size so far of an over-long line being skipped (0: none)."""

    def feed(self, chunk: bytes) -> list[Record]:
        records = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._hold(chunk[start:])
                return records
            self._hold(chunk[start:end + 1])
            record = self._finish()
            if record is not None:
                records.append(record)
            start = end + 1

    def end(self) -> list[Record]:
        record = self._finish() if self._pending or self._skipped else None
        return [record] if record is not None else []

    def _hold(self, piece: bytes) -> None:
        if self._skipped:
            self._skipped += len(piece)
            return
        self._pending += piece
        if len(self._pending) > MAX_RECORD_BYTES:
            self._skipped = len(self._pending)
            self._pending = bytearray()

    def _finish(self) -> Record | None:
        self.number += 1
        line = _Line(self.number, None, size=self._skipped) if self._skipped else \
            _decoded(self.number, bytes(self._pending))
        self._pending = bytearray()
        self._skipped = 0
        return None if line.blank else _line_record(self.label, line)


def _value_record(origin: str, value: Any) -> Record:
    # No span: a rendered diagnostic quotes the line its span points at, and this line
    # parsed, so it is all data (the origin already says where it is).
    if isinstance(value, dict):
        return Record(origin, value, None)
    if isinstance(value, _Duplicated):
        return _error(origin, CLAIM_UNREADABLE, f"{origin}: invalid JSON: {value.message}")
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
    return unreadable("", exc)
