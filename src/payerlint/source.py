"""Source files, spans and caret excerpts.

Every syntax node, compiled node and graph edge carries a `Span`; diagnostics use the
same type, so a message about a rulebook, a table file or a claim file can always show
the line it is about with a caret under the offending text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Span:
    """A region of one source file. Lines and columns are 1-based, as editors show them."""

    file: str
    """Path as the user gave it (or a label such as `<stdin>`)."""
    line: int
    column: int
    end_line: int
    end_column: int
    """One past the last character, on `end_line`."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.end_line, self.end_column)

    def to(self, other: "Span") -> "Span":
        """The span from the start of self to the end of other (same file)."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The text of one file, kept so that diagnostics can quote it."""

    path: str
    text: str = field(repr=False)

    @classmethod
    def read(cls, path: str | Path) -> "SourceFile":
        # utf-8-sig drops a byte-order mark that editors on Windows like to add.
        return cls(str(path), Path(path).read_text(encoding="utf-8-sig"))

    def line_text(self, line: int) -> str:
        # Split on "\n" only, as the parser counts lines (splitlines also breaks on form
        # feeds and Unicode separators, which would shift the quoted line).
        lines = self.text.split("\n")
        if 1 <= line <= len(lines):
            return lines[line - 1].rstrip("\r")
        return ""

    def span_at(self, offset: int, length: int = 1) -> Span:
        """A span from a 0-based character offset (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        start_of_line = self.text.rfind("\n", 0, offset) + 1
        column = offset - start_of_line + 1
        return Span(self.path, line, column, line, column + max(1, length))


# Source texts by path, so that a diagnostic rendered far from where the file was read
# can still quote it. Filled by whoever reads a file that spans point into.
_registry: dict[str, SourceFile] = {}


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that can make a
# terminal show text in another order than it is.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\u202e`): what a
    terminal or a log is given from a file name, a claim or a rulebook line never moves
    the cursor, changes colours or reorders what follows."""
    if text.isprintable() and "\n" not in text:
        return text
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                            else f"\\u{ord(m.group(0)):04x}", text)


def unreadable(path: str | Path, exc: Exception) -> str:
    """Why a text file could not be read, in words (not Python's codec message)."""
    if isinstance(exc, UnicodeDecodeError):
        hint = ""
        if exc.object[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in exc.object[:64]:
            hint = "; it looks like UTF-16: save it as UTF-8"
        return f"it is not UTF-8 text (byte {exc.start + 1} cannot be read{hint or '; save it as UTF-8'})"
    if isinstance(exc, OSError):
        return exc.strerror.lower() if exc.strerror else type(exc).__name__
    return type(exc).__name__


def remember(source: SourceFile) -> SourceFile:
    _registry[source.path] = source
    return source


def lookup(path: str) -> SourceFile | None:
    source = _registry.get(path)
    if source is None:
        try:
            source = remember(SourceFile.read(path))
        except (OSError, UnicodeDecodeError):
            return None
    return source


def excerpt(span: Span, source: SourceFile | None = None) -> str:
    """The line of `span` with a caret line under it, gutter included.

    >>> src = SourceFile("a.rules", "let x = y\\n")
    >>> print(excerpt(Span("a.rules", 1, 9, 1, 10), src))
      |
    1 | let x = y
      |         ^
    """
    source = source or lookup(span.file)
    if source is None:
        return ""
    text = source.line_text(span.line)
    # Tabs would shift the caret; show them as single spaces.
    shown = text.replace("\t", " ")
    end = span.end_column if span.end_line == span.line else len(text) + 1
    width = max(1, min(end, len(text) + 1) - span.column)
    gutter = " " * len(str(span.line))
    return (
        f"{gutter} |\n"
        f"{span.line} | {shown}\n"
        f"{gutter} | {' ' * (span.column - 1)}{'^' * width}"
    )


def span_text(span: Span | None) -> str | None:
    """The source text a span covers, on one line: comments dropped, spaces collapsed.

    What the quarter diff shows for a changed condition, so an analyst reads the rule
    as its author wrote it rather than a rendering of the compiled tree.

    >>> src = remember(SourceFile("b.rules", "when a > 1   # first\\n  and b\\n"))
    >>> span_text(Span("b.rules", 1, 6, 2, 8))
    'a > 1 and b'
    """
    if span is None:
        return None
    source = lookup(span.file)
    if source is None:
        return None
    lines = [source.line_text(n) for n in range(span.line, span.end_line + 1)]
    if not lines:
        return None
    lines[-1] = lines[-1][:span.end_column - 1]
    lines[0] = lines[0][span.column - 1:]
    return " ".join(" ".join(_without_comment(line) for line in lines).split()) or None


def _without_comment(line: str) -> str:
    # `#` inside a quoted phrase or message is text, not a comment.
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line
