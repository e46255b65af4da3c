"""What a rule read, as the traced form records it (evaluate/codegen.py, traced): one
typed record per read. Explanations (`--explain`, `engine.summarize`) and the quarter
diff's attribution (`versions/replay.py`) both consume these, so what a finding "used" and
what a replay blames are the same facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class ParamRead:
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class DefinitionRead:
    name: str
    key: tuple
    """Which instance: () for the claim, (date,), (code, date), or (line index,)."""
    value: Any


@dataclass(frozen=True, slots=True)
class RowRead:
    table: str
    key: tuple
    found: bool


@dataclass(frozen=True, slots=True)
class TableRead:
    """A whole table read as the list of its rows."""

    table: str


@dataclass(frozen=True, slots=True)
class MemberRead:
    code_set: str
    value: Any
    member: bool


@dataclass(frozen=True, slots=True)
class PhraseRead:
    phrases: str
    phrase: str


Read = Union[ParamRead, DefinitionRead, RowRead, TableRead, MemberRead, PhraseRead]
