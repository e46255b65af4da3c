"""What every lint check shares: the warning itself, and a walk over a syntax tree."""

from __future__ import annotations

import dataclasses

from payerlint.diagnostics import Diagnostic
from payerlint.source import Span

WARNING = "warning"


def warn(code: str, message: str, span: Span | None, *notes: str, related=()) -> Diagnostic:
    return Diagnostic(code, message, span=span, notes=tuple(n for n in notes if n), related=tuple(related),
                      severity=WARNING)


def syntax_nodes(node):
    """Every syntax node inside `node` (itself included), depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple):
            stack.extend(current)
            continue
        if not dataclasses.is_dataclass(current):
            continue
        yield current
        for f in dataclasses.fields(current):
            if f.name != "span":
                stack.append(getattr(current, f.name))
