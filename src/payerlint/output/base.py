"""What every writer shares: the writer protocol and the tally of a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from payerlint.check import INTERNAL_RULE


@dataclass
class Tally:
    """Counts of a run, for the closing summary and the exit code."""

    verdicts: Counter = field(default_factory=Counter)
    incomplete: int = 0
    """Claims with no error whose rules did not all run (missing data)."""
    clean_incomplete: int = 0
    """Of those, the ones with no finding: clean only as far as payerlint could check."""
    not_evaluated: int = 0
    missing: Counter = field(default_factory=Counter)
    """JSON pointer the claims lacked -> rule evaluations that could not run for it."""
    internal_errors: int = 0
    undocumented: int = 0
    """Of the incomplete claims, those read from an 837P with no documentation record
    (`--documentation` supplies what an 837P does not carry)."""

    def add(self, result) -> None:
        self.verdicts[result.verdict] += 1
        if result.not_evaluated and result.verdict != "error":
            self.incomplete += 1
            self.clean_incomplete += result.verdict == "clean"
            source = next((value for key, value in getattr(result, "extra", ()) if key == "source"), None)
            if isinstance(source, dict) and "documentation" in source and source["documentation"] is None:
                self.undocumented += 1
        self.not_evaluated += len(result.not_evaluated)
        for skipped in result.not_evaluated:
            self.missing[skipped.missing] += 1
        if any(f.rule == INTERNAL_RULE for f in result.findings):
            self.internal_errors += 1

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())


class Writer:
    """One output format. `render` returns the text for one result; `begin` and `end`
    write what comes before the first and after the last."""

    def __init__(self, out: TextIO, *, strict: bool = False):
        self.out = out
        self.strict = strict

    def begin(self) -> None:
        pass

    def render(self, result) -> str:
        raise NotImplementedError

    def end(self, tally: Tally) -> None:
        pass
