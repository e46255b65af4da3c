"""X12 text to segments: delimiters from the ISA segment, positions kept on every segment.

An interchange names its own delimiters. The ISA segment has sixteen elements, the
first character after `ISA` is the element separator, ISA16 is the component separator,
the character right after ISA16 ends the segment, and (from version 00501) ISA11 is the
repetition separator. Each interchange in a file may choose differently, so the
delimiters are read again at every ISA.

The file is read in chunks and split on the segment terminator, so memory stays flat
however large the file is. Text is decoded as Latin-1: every byte is one character, a
character offset is a byte offset, and no input can fail to decode (X12's character
sets are ASCII; a stray byte in a name costs nothing because names are never output).

CR and LF after a terminator are tolerated (many files put each segment on its line).
Problems found here (no ISA, a truncated last segment) come out as `TokenProblem`s in
the stream, in order, so a reader can tell which interchange they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import IO, Iterator, Union

CHUNK = 1 << 16
_ISA_ELEMENTS = 16
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four delimiters an ISA segment declares."""

    element: str
    component: str
    """ISA16."""
    repetition: str | None
    """ISA11 from version 00501; None before (4010 used ISA11 for a standards id)."""
    segment: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment as read, with where it was."""

    id: str
    elements: tuple[str, ...]
    """Raw element values; `elements[0]` is element 01."""
    ordinal: int
    """1-based position among all segments of the file."""
    number: int
    """1-based position in its transaction set, ST being 1 (the count SE01 gives); 0
    outside a transaction set (ISA, GS, GE, IEA)."""
    line: int
    """1-based line of the segment's first character."""
    column: int
    """1-based column of the segment's first character."""
    offset: int
    """0-based byte offset of the segment's first character."""
    delimiters: Delimiters = field(compare=False, repr=False)

    def element(self, position: int) -> str:
        """Element `position` (1-based, so 1 or more), or '' when the segment stops before it."""
        try:
            return self.elements[position - 1]
        except IndexError:
            return ""

    def components(self, position: int) -> tuple[str, ...]:
        value = self.element(position)
        return tuple(value.split(self.delimiters.component)) if value else ()

    def component(self, position: int, part: int) -> str:
        """Component `part` (1-based) of element `position`, or ''."""
        parts = self.components(position)
        return parts[part - 1] if 0 < part <= len(parts) else ""

    def repeats(self, position: int) -> tuple[str, ...]:
        """The repetitions of element `position` (ISA11 separated), for repeatable elements."""
        value = self.element(position)
        if not value:
            return ()
        sep = self.delimiters.repetition
        return tuple(value.split(sep)) if sep else (value,)

    def with_element(self, position: int, value: str) -> "Segment":
        """A copy with element `position` replaced (used to repair a component separator)."""
        elements = list(self.elements)
        elements[position - 1] = value
        return Segment(self.id, tuple(elements), self.ordinal, self.number, self.line, self.column,
                       self.offset, self.delimiters)


@dataclass(frozen=True, slots=True)
class TokenProblem:
    """A problem in the text itself, before any structure is known."""

    code: str
    message: str
    line: int
    column: int
    fatal: bool
    """True when reading stopped here (nothing after it could be split into segments)."""


Token = Union[Segment, TokenProblem]


class _Source:
    """Chunks of Latin-1 text from bytes, a str, a path or a binary stream."""

    def __init__(self, source: Union[bytes, str, IO[bytes]]):
        self._data: str | None = None
        self._stream: IO[bytes] | None = None
        self._owned = False
        if isinstance(source, bytes):
            self._data = source.decode("latin-1")
        elif isinstance(source, str):
            self._stream = open(source, "rb")
            self._owned = True
        else:
            self._stream = source

    def chunks(self) -> Iterator[str]:
        try:
            if self._data is not None:
                for start in range(0, len(self._data), CHUNK):
                    yield self._data[start:start + CHUNK]
                return
            assert self._stream is not None
            while chunk := self._stream.read(CHUNK):
                yield chunk.decode("latin-1")
        finally:
            if self._owned and self._stream is not None:
                self._stream.close()


def read_isa(text: str) -> tuple[Delimiters, int] | str:
    """The delimiters of the ISA segment at the start of `text` and the length of that
    segment including its terminator, or a message saying why they cannot be read.

    >>> isa = "ISA*00*          *00*          *ZZ*S              *ZZ*R              *260101*1200*^*00501*000000001*0*T*:~"
    >>> read_isa(isa)[0]
    Delimiters(element='*', component=':', repetition='^', segment='~')
    """
    if len(text) < 4 or not text.startswith("ISA"):
        return "expected the interchange to start with an ISA segment"
    sep = text[3]
    if sep.isalnum() or sep in " \r\n":
        return "the character after ISA must be the element separator (a punctuation mark such as *)"
    position = 3  # the separator before ISA01; ISA16 follows the 16th
    for _ in range(_ISA_ELEMENTS - 1):
        position = text.find(sep, position + 1)
        if position < 0:
            return f"the ISA segment ends before its 16 elements (found fewer than 16 '{sep}' separators)"
    if position + 1 >= len(text):
        return "the ISA segment ends before its component separator (ISA16)"
    component = text[position + 1]
    terminator = text[position + 2] if position + 2 < len(text) else ""
    if not terminator:
        return "the ISA segment has no segment terminator after ISA16"
    if terminator.isalnum() or terminator == " ":
        return ("ISA16 must be a single character followed by the segment terminator; "
                "found more than one character in ISA16")
    elements = text[4:position].split(sep)
    repetition = elements[10] if len(elements) > 11 and elements[11] >= "00501" else None
    delimiters = Delimiters(sep, component, repetition, terminator)
    chosen = [sep, component, terminator] + ([repetition] if repetition else [])
    if len(set(chosen)) != len(chosen):
        return "the ISA segment declares the same character for two delimiters (element, component, repetition, terminator)"
    return delimiters, position + 3


def tokenize(source: Union[bytes, str, IO[bytes]]) -> Iterator[Token]:
    """Every segment of an X12 file in order (and `TokenProblem`s where text is wrong).

    `source` is the file's bytes, a path, or a binary stream.

    >>> text = (b"ISA*00*          *00*          *ZZ*S              *ZZ*R              "
    ...         b"*260101*1200*^*00501*000000001*0*T*:~\\nGS*HC*S*R*20260101*1200*1*X*005010X222A1~")
    >>> [(s.id, s.line) for s in tokenize(text)]
    [('ISA', 1), ('GS', 2)]
    """
    chunks = _Source(source).chunks()
    buffer = ""
    offset = 0          # file offset of buffer[0]
    line = 1            # line of buffer[0]
    line_start = 0      # file offset of the first character of `line`
    ordinal = 0
    number = 0          # position in the current transaction set
    delimiters: Delimiters | None = None
    exhausted = False
    known_ids: set[str] = set()

    def more() -> bool:
        nonlocal buffer, exhausted
        if exhausted:
            return False
        chunk = next(chunks, None)
        if chunk is None:
            exhausted = True
            return False
        buffer += chunk
        return True

    while True:
        if delimiters is None:
            # Between interchanges: skip blank space (and a byte-order mark), then an ISA.
            while True:
                stripped = buffer
                while True:  # a BOM before blank lines as well as after them
                    shorter = stripped.lstrip("\r\n\t \x00").removeprefix("\xef\xbb\xbf")
                    if shorter == stripped:
                        break
                    stripped = shorter
                skipped = buffer[:len(buffer) - len(stripped)]
                line, line_start = _advance(skipped, offset, line, line_start)
                offset += len(skipped)
                buffer = stripped
                if len(buffer) >= 128 or not more():
                    break
            if not buffer:
                return
            found = read_isa(buffer)
            if isinstance(found, str):
                where = "" if ordinal == 0 else f" after segment {ordinal}"
                yield TokenProblem("x12_not_interchange", f"cannot read an X12 interchange{where}: {found}",
                                   line, offset - line_start + 1, fatal=True)
                return
            delimiters, _ = found
        terminator = delimiters.segment
        # Split everything buffered at once (slicing the buffer per segment would copy it
        # per segment); the piece after the last terminator waits for the next chunk.
        pieces = buffer.split(terminator)
        buffer = pieces.pop()
        restart = False
        carriage = terminator == "\n"  # a line break ends each segment (maybe as "\r\n")
        for position, text in enumerate(pieces):
            body = text.lstrip("\r\n")
            lead = len(text) - len(body)
            if lead:
                newlines = text.count("\n", 0, lead)
                if newlines:
                    line += newlines
                    line_start = offset + text.rfind("\n", 0, lead) + 1
            start = offset + lead
            offset += len(text) + 1
            seg_line, column = line, start - line_start + 1
            if carriage:
                body = body.rstrip("\r")
                line, line_start = line + 1, offset
            if not body:
                continue
            ordinal += 1
            parts = body.split(delimiters.element)
            seg_id = parts[0]
            if seg_id == "ST":
                number = 1
            elif number:
                number += 1
            yield Segment(seg_id, tuple(parts[1:]), ordinal, number, seg_line, column, start, delimiters)
            if seg_id == "SE":
                number = 0
            if seg_id not in known_ids and not _known(seg_id, known_ids):
                yield TokenProblem("x12_bad_segment_id",
                                   f"segment {ordinal} at line {seg_line}: expected a segment identifier "
                                   "(2 or 3 capital letters or digits) before the first element separator",
                                   seg_line, column, fatal=False)
            if not carriage and "\n" in body:  # a line break inside a segment: keep counting lines
                line, line_start = _advance(body, start, line, line_start)
            if seg_id == "IEA":
                # The next interchange declares its own delimiters: hand the rest back.
                buffer = terminator.join(pieces[position + 1:] + [buffer])
                delimiters = None
                restart = True
                break
        if restart:
            continue
        if more():
            continue
        # End of input: what is left is a last segment without its terminator.
        body = buffer.lstrip("\r\n\t \x00")
        if not body.strip("\r\n\t \x00"):
            return
        line, line_start = _advance(buffer[:len(buffer) - len(body)], offset, line, line_start)
        start = offset + len(buffer) - len(body)
        ordinal += 1
        parts = body.rstrip("\r\n\t \x00").split(delimiters.element)
        if number:
            number += 1
        column = start - line_start + 1
        yield TokenProblem("x12_truncated", f"segment {ordinal} ({safe_id(parts[0])}) at line {line} has no "
                           f"segment terminator '{terminator}': the file may be cut short", line, column, fatal=False)
        yield Segment(parts[0], tuple(parts[1:]), ordinal, number, line, column, start, delimiters)
        return


def _known(seg_id: str, known: set[str]) -> bool:
    """Whether `seg_id` is a well-formed segment id (remembered, as a file repeats few ids)."""
    if _SEGMENT_ID.fullmatch(seg_id):
        known.add(seg_id)
        return True
    return False


def _advance(text: str, offset: int, line: int, line_start: int) -> tuple[int, int]:
    """Line and line start after `text`, which begins at file offset `offset`."""
    newlines = text.count("\n")
    if newlines:
        return line + newlines, offset + text.rfind("\n") + 1
    return line, line_start


def safe_id(seg_id: str) -> str:
    """A segment id fit for a message: a broken segment's "id" may be any text, even
    patient data, so only real ids are shown."""
    return seg_id if _SEGMENT_ID.fullmatch(seg_id) else "?"
