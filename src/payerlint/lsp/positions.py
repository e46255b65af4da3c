"""Columns as payerlint counts them and as an editor does.

payerlint's spans count characters (code points) from 1. The Language Server Protocol
counts from 0, in the units of the encoding the client and server agreed on: UTF-16 code
units unless the client offers another. A character outside the Basic Multilingual Plane
(an emoji in a comment) is one code point but two UTF-16 units, so columns after it
differ by one per such character.

>>> to_client("a😀b", 3, "utf-16")   # 'b' is code point 3 (1-based), UTF-16 unit 3 (0-based)
3
>>> from_client("a😀b", 3, "utf-16")
3
"""

from __future__ import annotations


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(char) > 0xFFFF else 1


def to_client(line_text: str, column: int, encoding: str = "utf-16") -> int:
    """payerlint's 1-based code-point column -> the client's 0-based character offset."""
    return sum(_units(c, encoding) for c in line_text[:max(0, column - 1)])


def from_client(line_text: str, character: int, encoding: str = "utf-16") -> int:
    """The client's 0-based character offset -> payerlint's 1-based code-point column.
    An offset inside a character (between the halves of a surrogate pair) means that
    character."""
    units = 0
    for index, char in enumerate(line_text):
        if units >= character:
            return index + 1
        units += _units(char, encoding)
        if units > character:
            return index + 1
    return len(line_text) + 1


def encoding_name(kind) -> str:
    """'utf-16' from a PositionEncodingKind, a string, or None (the protocol's default)."""
    value = getattr(kind, "value", kind)
    return str(value).lower() if value else "utf-16"
