"""The loop structure of a transaction set, and a walker that places each segment in it.

A TR3 defines a transaction as nested loops; a loop starts with its trigger segment
(`CLM` starts loop 2300, `NM1*82` starts 2310B inside a claim and 2420A inside a service
line). Segments with the same id are told apart by a qualifier (`REF*G1`, `DTP*472`,
`HL` level code 20/22/23). The maps in `maps/*.map` (derived once from pyx12's maps by
`tools/derive_x12_maps.py`; payerlint does not import pyx12) give, for each loop, its
segments and child loops in order with their usage and repeat counts.

`Walker` places one segment at a time, so a reader can stream: it looks for the segment
in the innermost open loop, then in each enclosing loop (closing the inner ones), as the
TR3 order allows. What it finds wrong is reported as a `Problem`, with the loops open
at the time, so a reader can tell whether it concerns one claim, one subscriber or the
whole transaction:

- a segment that belongs nowhere, or comes after the place where it belongs;
- a required segment or loop that is missing, a segment or loop repeated too often;
- a required element or component that is empty, an element marked not used that holds
  a value;
- a composite element that uses another component separator than ISA16 declared (the
  segment is repaired for reading, and the problem still reported);
- an HL whose parent (HL02) is not the enclosing level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Union

from payerlint.x12.tokens import Segment, safe_id

# Characters files use as component separators; one of them inside a composite that
# lacks ISA16 means the body disagrees with the envelope.
_SEPARATOR_CANDIDATES = frozenset(":>^|\\<!~*+")
_QUALIFIER_THEN_SEP = re.compile(r"[A-Z0-9]{1,3}(.)")


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment as a loop allows it."""

    id: str
    usage: str
    """R required, S situational."""
    max_use: int | None
    pos: tuple[int, ...]
    key: tuple[int, int | None, frozenset[str]] | None
    """(element, component, codes): the qualifier telling same-named segments apart."""
    required: tuple[tuple[int, int | None], ...]
    """Elements that must not be empty; (element, component) for components required
    whenever their composite is present."""
    composites: frozenset[int]
    unused: tuple[int, ...]

    def label(self) -> str:
        if self.key is None:
            return self.id
        codes = sorted(self.key[2])
        return f"{self.id}*{codes[0]}" if len(codes) == 1 else f"{self.id} ({'/'.join(codes[:4])}{'...' if len(codes) > 4 else ''})"


@dataclass(frozen=True, slots=True)
class LoopDef:
    id: str
    name: str
    usage: str
    repeat: int | None
    pos: tuple[int, ...]
    children: tuple[Union[SegmentDef, "LoopDef"], ...]
    """In TR3 order; for a loop, children[0] is its trigger segment."""
    segments_by_id: dict = field(compare=False, repr=False, default_factory=dict)
    loops_by_trigger: dict = field(compare=False, repr=False, default_factory=dict)
    required: list = field(compare=False, repr=False, default_factory=list)
    """(index, child) of the required children, for the missing-child checks."""

    @property
    def trigger(self) -> SegmentDef:
        first = self.children[0]
        assert isinstance(first, SegmentDef)
        return first


@dataclass(frozen=True, slots=True, eq=False)
class TransactionMap:
    transaction: str
    """ST01: 837, 835."""
    version: str
    root: LoopDef
    composites: dict[str, frozenset[int]]
    """Composite element positions by segment id (all definitions of that id together)."""
    severity: str
    """Severity of the structural problems: "error" for claims, "warning" for remittances."""
    qualified: frozenset[str]
    """Segment ids whose element 01 is a qualifier code (safe to quote in messages)."""


def _parse_count(text: str) -> int | None:
    return None if text == "*" else int(text)


def _parse_pos(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.lstrip("@").split("."))


def _parse_element(text: str) -> tuple[int, int | None]:
    element, _, component = text.partition("-")
    return int(element), int(component) if component else None


def _parse_segment(words: list[str]) -> SegmentDef:
    seg_id, usage, max_use, pos = words[1:5]
    options = dict(word.split("=", 1) for word in words[5:])
    key = None
    if "key" in options:
        where, _, codes = options["key"].partition(":")
        element, component = _parse_element(where)
        key = (element, component, frozenset(codes.split("|")))
    required = tuple(_parse_element(e) for e in options["req"].split(",")) if "req" in options else ()
    composites = frozenset(int(e) for e in options["comp"].split(",")) if "comp" in options else frozenset()
    unused = tuple(int(e) for e in options["unused"].split(",")) if "unused" in options else ()
    return SegmentDef(seg_id, usage, _parse_count(max_use), _parse_pos(pos), key, required, composites, unused)


def _index(loop: LoopDef) -> LoopDef:
    by_id: dict[str, list[tuple[int, SegmentDef]]] = {}
    by_trigger: dict[str, list[tuple[int, LoopDef]]] = {}
    for index, child in enumerate(loop.children):
        if isinstance(child, SegmentDef):
            if index:  # the trigger opens the loop; it is looked up from the parent
                by_id.setdefault(child.id, []).append((index, child))
        else:
            by_trigger.setdefault(child.trigger.id, []).append((index, child))
    loop.segments_by_id.update(by_id)
    loop.loops_by_trigger.update(by_trigger)
    loop.required.extend((i, c) for i, c in enumerate(loop.children) if c.usage == "R" and i)
    return loop


@lru_cache(maxsize=None)
def load_map(name: str, severity: str = "error") -> TransactionMap:
    """A map from `payerlint/x12/maps/<name>`, e.g. `837p-005010X222A1.map`."""
    text = resources.files("payerlint.x12").joinpath("maps", name).read_text(encoding="utf-8")
    header: tuple[str, str] | None = None
    # Stack of (indent, id, name, usage, repeat, pos, children list).
    stack: list[tuple[int, str, str, str, int | None, tuple[int, ...], list]] = []
    root_children: list = []
    composites: dict[str, set[int]] = {}

    def close_to(indent: int) -> None:
        while stack and stack[-1][0] >= indent:
            _, loop_id, loop_name, usage, repeat, pos, children = stack.pop()
            loop = _index(LoopDef(loop_id, loop_name, usage, repeat, pos, tuple(children)))
            (stack[-1][6] if stack else root_children).append(loop)

    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        words = raw.split()
        if words[0] == "transaction":
            header = (words[1], words[2])
            continue
        close_to(indent)
        if words[0] == "loop":
            loop_id, usage, repeat, pos = words[1:5]
            stack.append((indent, loop_id, " ".join(words[5:]), usage, _parse_count(repeat), _parse_pos(pos), []))
        else:
            segment = _parse_segment(words)
            composites.setdefault(segment.id, set()).update(segment.composites)
            (stack[-1][6] if stack else root_children).append(segment)
    close_to(0)
    assert header is not None, f"{name} has no transaction line"
    # The root children mix segments (BHT, BPR) and loops; they sit after ST, whose
    # place is taken by a synthetic trigger that never matches a data segment.
    st = SegmentDef("ST", "R", 1, (0,), None, (), frozenset(), ())
    root = _index(LoopDef("ST", f"Transaction Set {header[0]}", "R", 1, (0,), (st, *root_children)))
    return TransactionMap(header[0], header[1], root, {k: frozenset(v) for k, v in composites.items()}, severity,
                          _qualified_ids(root))


# --- walking -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the structure, found while placing a segment."""

    code: str
    message: str
    segment: Segment | None
    """The segment it was found at (None at the end of the transaction)."""
    path: tuple[str, ...]
    """Loop ids open where the problem lies, outermost first (without the ST root)."""
    element: str | None = None
    """Reference designator (`CLM05-2`) when the problem is in one element."""
    severity: str = "error"


@dataclass(frozen=True, slots=True)
class Placed:
    """A segment with the loop it belongs to."""

    segment: Segment
    """The segment (repaired when its composites used a foreign component separator)."""
    loop: str
    """Id of the loop it belongs to ("ST" for the transaction's own segments)."""
    opened: bool
    """True when this segment is the trigger that opened `loop`."""
    closed: tuple[str, ...]
    """Loops closed just before it, innermost first."""
    closing: tuple[Problem, ...]
    """Problems of the loops closed before it (a required segment they lack)."""
    problems: tuple[Problem, ...]
    """Problems of this segment: its place, its elements, and what it skipped past in the
    loop it belongs to."""


class _Frame:
    __slots__ = ("loop", "counts", "pos", "hl_id")

    def __init__(self, loop: LoopDef, pos: tuple[int, ...], hl_id: str | None):
        self.loop = loop
        self.counts = [0] * len(loop.children)
        self.counts[0] = 1
        self.pos = pos
        self.hl_id = hl_id


class Walker:
    """Places the segments of one transaction set (between ST and SE), one at a time."""

    def __init__(self, tmap: TransactionMap, transaction: str = ""):
        self.map = tmap
        self.transaction = transaction
        self._stack: list[_Frame] = [_Frame(tmap.root, (0,), None)]

    # -- public --

    def place(self, segment: Segment) -> Placed:
        problems: list[Problem] = []
        closing: list[Problem] = []
        segment, separators = self._check_separators(segment)
        stale = False
        placed: tuple[str, bool, tuple[str, ...]] | None = None
        for depth in range(len(self._stack) - 1, -1, -1):
            frame = self._stack[depth]
            found = self._match_segment(frame, segment)
            if found is not None:
                index, definition, in_order = found
                if in_order:
                    closed = self._close_above(depth, segment, closing)
                    self._advance(frame, definition.pos, segment, problems)
                    self._check_use(frame, index, definition, segment, problems)
                    self._check_elements(definition, segment, problems)
                    placed = (frame.loop.id, False, closed)
                    break
                stale = True
            found_loop = self._match_loop(frame, segment)
            if found_loop is not None:
                index, loop, in_order = found_loop
                if in_order:
                    closed = self._close_above(depth, segment, closing)
                    self._advance(frame, loop.pos, segment, problems)
                    self._check_repeat(frame, index, loop, segment, problems)
                    hl_id = self._check_hl(loop, segment, problems)
                    self._stack.append(_Frame(loop, loop.trigger.pos, hl_id))
                    self._check_elements(loop.trigger, segment, problems)
                    placed = (loop.id, True, closed)
                    break
                stale = True
        if placed is None:
            where = self._here()
            if stale:
                message = (f"{self._ref(segment)}: {safe_id(segment.id)} {self._qualifier(segment)}comes after the place "
                           f"the {self.map.version} order allows for it (now in {where})")
                problems.append(self._problem("x12_segment_order", message, segment))
            else:
                message = (f"{self._ref(segment)}: segment {safe_id(segment.id)} {self._qualifier(segment)}is not expected "
                           f"in {where} or the loops around it")
                problems.append(self._problem("x12_unexpected_segment", message, segment))
            placed = (self._stack[-1].loop.id, False, ())
        # A foreign component separator concerns the segment where it finally belongs.
        problems[:0] = [self._problem(code, message, segment, ref) for code, message, ref in separators]
        loop_id, opened, closed = placed
        return Placed(segment, loop_id, opened, closed, tuple(closing) if closing else (),
                      tuple(problems) if problems else ())

    def finish(self) -> tuple[tuple[str, ...], tuple[Problem, ...]]:
        """Close every loop at the end of the transaction: (loops closed, problems)."""
        problems: list[Problem] = []
        closed = self._close_above(-1, None, problems)
        return closed, tuple(problems)

    def path(self) -> tuple[str, ...]:
        return tuple(frame.loop.id for frame in self._stack[1:])

    # -- matching --

    @staticmethod
    def _keyed(definition: SegmentDef, segment: Segment) -> bool:
        key = definition.key
        if key is None:
            return True
        element, component, codes = key
        value = segment.component(element, component) if component else segment.element(element)
        return value in codes

    def _match_segment(self, frame: _Frame, segment: Segment):
        """(index, definition, in order) of the definition this segment fits in `frame`'s
        loop: the first in order with room left, else the last in order (too many), else
        one that fits only out of order; None when none fits."""
        candidates = frame.loop.segments_by_id.get(segment.id)
        if not candidates:
            return None
        full = stale = None
        for index, definition in candidates:
            if definition.key is not None and not self._keyed(definition, segment):
                continue
            if definition.pos < frame.pos:
                stale = stale or (index, definition, False)
            elif definition.max_use is None or frame.counts[index] < definition.max_use:
                return index, definition, True
            else:
                full = (index, definition, True)
        return full or stale

    def _match_loop(self, frame: _Frame, segment: Segment):
        candidates = frame.loop.loops_by_trigger.get(segment.id)
        if not candidates:
            return None
        stale = None
        for index, loop in candidates:
            if loop.trigger.key is not None and not self._keyed(loop.trigger, segment):
                continue
            if loop.pos >= frame.pos:
                return index, loop, True
            stale = stale or (index, loop, False)
        return stale

    # -- bookkeeping --

    def _close_above(self, depth: int, segment: Segment | None, problems: list[Problem]) -> tuple[str, ...]:
        closed = []
        while len(self._stack) - 1 > depth:
            frame = self._stack[-1]
            self._missing(frame, None, segment, problems)
            self._stack.pop()
            closed.append(frame.loop.id)
            if depth < 0 and not self._stack:
                break
        if depth < 0:
            self._stack = [self._stack[0]] if self._stack else []
        return tuple(closed)

    def _advance(self, frame: _Frame, pos: tuple[int, ...], segment: Segment, problems: list[Problem]) -> None:
        if pos > frame.pos:
            self._missing(frame, pos, segment, problems)
            frame.pos = pos

    def _missing(self, frame: _Frame, upto: tuple[int, ...] | None, segment: Segment | None, problems: list[Problem]) -> None:
        """Report required children of `frame` between its position and `upto` (None: the end)
        that never appeared."""
        for index, child in frame.loop.required:
            if frame.counts[index] or child.pos < frame.pos:
                continue
            if upto is not None and child.pos >= upto:
                continue
            if isinstance(child, LoopDef):
                what = f"required loop {child.id} ({child.name}, starting with {child.trigger.label()})"
            else:
                what = f"required segment {child.label()}"
            where = self._ref(segment) + ": " if segment is not None else ""
            path = tuple(f.loop.id for f in self._stack[1:self._stack.index(frame) + 1])
            problems.append(Problem("x12_missing_segment" if isinstance(child, SegmentDef) else "x12_missing_loop",
                                    f"{where}{what} is missing from {self._loop_name(frame.loop)}",
                                    segment, path, severity=self.map.severity))

    def _check_use(self, frame: _Frame, index: int, definition: SegmentDef, segment: Segment, problems: list[Problem]) -> None:
        frame.counts[index] += 1
        if definition.max_use is not None and frame.counts[index] > definition.max_use:
            problems.append(self._problem(
                "x12_too_many", f"{self._ref(segment)}: {definition.label()} may appear at most "
                f"{definition.max_use} time(s) in {self._loop_name(frame.loop)}", segment))

    def _check_repeat(self, frame: _Frame, index: int, loop: LoopDef, segment: Segment, problems: list[Problem]) -> None:
        frame.counts[index] += 1
        if loop.repeat is not None and frame.counts[index] > loop.repeat:
            problems.append(self._problem(
                "x12_too_many", f"{self._ref(segment)}: loop {loop.id} ({loop.name}) may repeat at most "
                f"{loop.repeat} time(s) in {self._loop_name(frame.loop)}", segment))

    def _check_hl(self, loop: LoopDef, segment: Segment, problems: list[Problem]) -> str | None:
        if segment.id != "HL":
            return None
        parent = next((f.hl_id for f in reversed(self._stack) if f.hl_id is not None), None)
        declared = segment.element(2)
        if (declared or None) != parent:
            expected = f"HL {parent}" if parent else "no parent (a top level)"
            problems.append(self._problem(
                "x12_hl_parent", f"{self._ref(segment)}, element HL02: names parent level '{declared}', "
                f"but this level sits under {expected}", segment, "HL02"))
        return segment.element(1)

    def _check_elements(self, definition: SegmentDef, segment: Segment, problems: list[Problem]) -> None:
        elements = segment.elements
        count = len(elements)
        for element, component in definition.required:
            value = elements[element - 1] if element <= count else ""
            if component is None:
                if not value:
                    ref = f"{segment.id}{element:02d}"
                    problems.append(self._problem(
                        "x12_missing_element", f"{self._ref(segment)}, element {ref}: required, but empty",
                        segment, ref))
            elif value and not segment.component(element, component):
                ref = f"{segment.id}{element:02d}-{component}"
                problems.append(self._problem(
                    "x12_missing_element", f"{self._ref(segment)}, element {ref}: required when "
                    f"{segment.id}{element:02d} is present, but empty", segment, ref))
        for element in definition.unused:
            if element <= count and elements[element - 1]:
                ref = f"{segment.id}{element:02d}"
                problems.append(self._problem(
                    "x12_unused_element", f"{self._ref(segment)}, element {ref}: marked not used in "
                    f"{self.map.version}, but holds a value", segment, ref))

    def _check_separators(self, segment: Segment) -> tuple[Segment, list[tuple[str, str, str]]]:
        positions = self.map.composites.get(segment.id)
        if not positions:
            return segment, []
        found = []
        declared = segment.delimiters.component
        for position in sorted(positions):
            value = segment.element(position)
            if not value or declared in value:
                continue
            match = _QUALIFIER_THEN_SEP.match(value)
            if not match or match.group(1) not in _SEPARATOR_CANDIDATES:
                continue
            used = match.group(1)
            if used in (segment.delimiters.element, segment.delimiters.repetition):
                continue
            ref = f"{segment.id}{position:02d}"
            found.append(("x12_component_separator",
                          f"{self._ref(segment)}, element {ref}: components are separated by '{used}', but ISA16 "
                          f"declares '{declared}' as the component separator (read as if '{used}' were ISA16)", ref))
            segment = segment.with_element(position, value.replace(used, declared))
        return segment, found

    # -- wording --

    def _problem(self, code: str, message: str, segment: Segment, element: str | None = None) -> Problem:
        return Problem(code, message, segment, self.path(), element, self.map.severity)

    def _ref(self, segment: Segment | None) -> str:
        if segment is None:
            return f"end of ST {self.transaction}"
        return f"segment {segment.number} ({safe_id(segment.id)}) of ST {self.transaction}"

    def _here(self) -> str:
        return self._loop_name(self._stack[-1].loop)

    @staticmethod
    def _loop_name(loop: LoopDef) -> str:
        return "the transaction header" if loop.id == "ST" else f"loop {loop.id} ({loop.name})"

    def _qualifier(self, segment: Segment) -> str:
        # Show the first element only when it is a qualifier code somewhere in the map
        # (REF*F2, AMT*F2): then it is a code, never patient data.
        value = segment.element(1)
        if value and self._is_code(segment.id, value):
            return f"with qualifier {value} "
        return ""

    def _is_code(self, seg_id: str, value: str) -> bool:
        return bool(re.fullmatch(r"[A-Z0-9]{1,3}", value)) and seg_id in self.map.qualified


def _qualified_ids(root: LoopDef) -> frozenset[str]:
    ids: set[str] = set()

    def visit(loop: LoopDef) -> None:
        for child in loop.children:
            if isinstance(child, LoopDef):
                visit(child)
            elif child.key is not None and child.key[0] == 1 and child.key[1] is None:
                ids.add(child.id)

    visit(root)
    return frozenset(ids)
