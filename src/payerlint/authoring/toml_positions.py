"""Where each key and value of a TOML file is written.

`tomllib` gives values but no positions, and every error in a test file must name its
file:line:column. This scanner reads the same text once more and records, for each key
it sees, where the key and its value start. It does not parse values (tomllib does);
it only has to step over strings, comments and brackets correctly, so that a line
inside a multi-line string or a multi-line array is never taken for a key.

Keys are recorded by their table path: `("case", 3, "params")` is the `params` table
of the fourth `[[case]]`; the top level is `()`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class Positions:
    text: str
    keys: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    """(table path..., key) -> (offset of the key, offset of its value)."""
    headers: dict[tuple, int] = field(default_factory=dict)
    """table path -> offset of its header (`[[case]]` number i is ("case", i))."""
    _line_starts: list[int] = field(default_factory=list)

    def __post_init__(self):
        self._line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters, as payerlint counts) of an offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + column - 1, len(self.text))

    def value(self, table: tuple, key: str) -> int | None:
        found = self.keys.get((*table, key))
        return found[1] if found else None

    def key(self, table: tuple, key: str) -> int | None:
        found = self.keys.get((*table, key))
        return found[0] if found else None

    def string_content(self, value_offset: int, parsed: str) -> int | None:
        """Where the characters of a string value start, when the file holds them as they
        are (a literal string, or a basic string without escapes); None otherwise."""
        text = self.text
        for quote in ("'''", '"""', "'", '"'):
            if text.startswith(quote, value_offset):
                start = value_offset + len(quote)
                if len(quote) == 3:
                    # TOML trims a newline right after the opening delimiter.
                    if text.startswith("\r\n", start):
                        start += 2
                    elif text.startswith("\n", start):
                        start += 1
                return start if text[start:start + len(parsed)] == parsed else None
        return None

    def find_string(self, start: int | None, value: str) -> int | None:
        """The first quoted occurrence of `value` at or after `start` (a rule id in a list)."""
        if start is None:
            return None
        best = None
        for quote in ('"', "'"):
            at = self.text.find(f"{quote}{value}{quote}", start)
            if at != -1 and (best is None or at < best):
                best = at
        return best


def scan(text: str) -> Positions:
    out = Positions(text)
    counts: dict[str, int] = {}
    table: tuple = ()
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\n":
            at_line_start = True
            i += 1
            continue
        if c == "#":
            i = _line_end(text, i)
            continue
        if not at_line_start:
            i += 1
            continue
        at_line_start = False
        if c == "[":
            array = text.startswith("[[", i)
            close = text.find("]]" if array else "]", i)
            if close == -1:
                i = _line_end(text, i)
                continue
            parts = _key_parts(text[i + (2 if array else 1):close])
            if array:
                name = ".".join(parts)
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (*parts, index)
            elif parts and parts[0] in counts:
                # [case.params] belongs to the latest [[case]].
                table = (parts[0], counts[parts[0]] - 1, *parts[1:])
            else:
                table = tuple(parts)
            out.headers[table] = i
            i = close + (2 if array else 1)
            continue
        equals = _find_equals(text, i)
        if equals is None:
            i = _line_end(text, i)
            continue
        parts = _key_parts(text[i:equals])
        value_at = equals + 1
        while value_at < n and text[value_at] in " \t":
            value_at += 1
        if parts:
            out.keys[(*table, *parts)] = (i, value_at)
        i = _skip_value(text, value_at)
    return out


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end == -1 else end


def _find_equals(text: str, i: int) -> int | None:
    """The `=` of a `key = value` line (keys may be quoted)."""
    n = len(text)
    while i < n and text[i] != "\n":
        c = text[i]
        if c in "\"'":
            end = text.find(c, i + 1)
            if end == -1:
                return None
            i = end + 1
            continue
        if c == "=":
            return i
        i += 1
    return None


def _key_parts(raw: str) -> list[str]:
    parts, i, raw = [], 0, raw.strip()
    while i < len(raw):
        c = raw[i]
        if c in " \t.":
            i += 1
        elif c in "\"'":
            end = raw.find(c, i + 1)
            end = len(raw) if end == -1 else end
            parts.append(raw[i + 1:end])
            i = end + 1
        else:
            match = _BARE_KEY.match(raw, i)
            if not match:
                return parts
            parts.append(match.group())
            i = match.end()
    return parts


def _skip_value(text: str, i: int) -> int:
    """The offset just after a value: strings, arrays and inline tables may span lines."""
    n = len(text)
    depth = 0
    while i < n:
        c = text[i]
        if text.startswith("'''", i) or text.startswith('"""', i):
            quote = text[i:i + 3]
            j = i + 3
            while True:
                end = text.find(quote, j)
                if end == -1:
                    return n
                if quote == '"""' and _escaped(text, end):
                    j = end + 1
                    continue
                # A closing delimiter may be followed by one or two more quotes that belong to the string.
                while text.startswith(quote[0], end + 3):
                    end += 1
                i = end + 3
                break
            continue
        if c == "'":
            end = text.find("'", i + 1)
            i = n if end == -1 else end + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != "\n":
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"':
                    break
                j += 1
            i = j + 1
            continue
        if c == "#":
            i = _line_end(text, i)
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "\n" and depth <= 0:
            return i
        i += 1
    return n


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - 1 - backslashes >= 0 and text[at - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
