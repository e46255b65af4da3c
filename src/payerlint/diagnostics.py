"""The one diagnostic type, used by every stage: parsing, compiling, table loading,
claim reading and claim validation.

A stage collects its diagnostics and raises them together at its end
(`DiagnosticError`), sorted by location, so the user sees every problem of that stage
at once rather than one per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from payerlint.source import Span, excerpt, printable


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a rulebook, a data file or a claim."""

    code: str
    """Stable snake_case identifier, e.g. `unresolved_name`, `claim_schema_violation`."""
    message: str
    """One sentence saying what is wrong and, where it helps, what was expected."""
    span: Span | None = None
    """Where in a source file, when the problem is in one."""
    pointer: str | None = None
    """JSON pointer into a claim (`/lines/0/units`), when the problem is in a claim."""
    notes: tuple[str, ...] = ()
    """Further lines: 'did you mean', the valid format with an example, related places."""
    related: tuple[Span, ...] = ()
    """Other places that explain this one (the inherited definition, the rest of a cycle)."""
    severity: str = "error"
    quote: bool = True
    """Whether rendering may quote the source line. False for claim files: their lines
    hold patient data, which must never reach a log."""

    def sort_key(self) -> tuple[object, ...]:
        where = self.span.sort_key() if self.span else ("", 0, 0, 0, 0)
        return (where, self.pointer or "", self.code, self.message)

    def render(self) -> str:
        """Human-readable text: header, location, the quoted line with a caret, notes."""
        # Messages, file names and quoted lines can carry what a file or a claim holds:
        # control characters are shown as escapes, never sent to the terminal.
        out = [f"{self.severity}[{self.code}]: {printable(self.message)}"]
        if self.span is not None:
            out.append(f"  --> {printable(str(self.span))}")
            quoted = excerpt(self.span) if self.quote else ""
            if quoted:
                out.append(_printable_lines(quoted))
        elif self.pointer is not None:
            out.append(f"  --> at {printable(self.pointer)}")
        for span in self.related:
            out.append(f"  --> see {printable(str(span))}")
            quoted = excerpt(span)
            if quoted:
                out.append(_printable_lines(quoted))
        for note in self.notes:
            out.append(f"  = {printable(note)}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.span is not None:
            out["file"] = self.span.file
            out["line"] = self.span.line
            out["column"] = self.span.column
        if self.pointer is not None:
            out["pointer"] = self.pointer
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _printable_lines(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))


class DiagnosticError(Exception):
    """Raised at the end of a stage that found errors; carries all of them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        super().__init__(self.render())

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


def did_you_mean(name: str, candidates: Iterable[str], limit: int = 3) -> str | None:
    """A 'did you mean ...?' note for an unknown name, or None when nothing is close.

    >>> did_you_mean("timed_minuts", ["timed_minutes", "kx_threshold"])
    "did you mean 'timed_minutes'?"
    """
    close = close_names(name, candidates, limit)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def close_names(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates close to `name`, closest first (what `did_you_mean` offers)."""
    import difflib

    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if not close:
        # Prefix matches catch abbreviations that difflib scores low ("dx" for "dx_codes").
        close = [c for c in pool if c.startswith(name) or name.startswith(c)][:limit]
    return close
