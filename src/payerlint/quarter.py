"""Calendar quarters, the unit in which payer rules change.

>>> q = Quarter.parse("2026Q2")
>>> str(q), q.start.isoformat(), q.end.isoformat()
('2026Q2', '2026-04-01', '2026-06-30')
>>> Quarter.of(date(2026, 7, 1)) > q
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERN = re.compile(r"([0-9]{4})Q([1-4])")


class QuarterError(ValueError):
    pass


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = _PATTERN.fullmatch(text.strip())
        if not match:
            raise QuarterError(
                f"'{text}' is not a quarter: write the year, a capital Q and the quarter number 1-4, "
                f"like 2026Q2 (dates of service 2026-04-01 to 2026-06-30)"
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> "Quarter":
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        # Four digits always, so that a date of service in year 999 names 0999Q1, a
        # quarter `parse` reads back, rather than 999Q1.
        return f"{self.year:04d}Q{self.number}"


def quarters_in(folder) -> list[Quarter]:
    """The quarters a rulebook family has files for (`<folder>/2026Q2.rules`), in order;
    other files in the folder are not rulebooks of a quarter and are passed over."""
    from pathlib import Path

    found = []
    for path in Path(folder).glob("*.rules"):
        try:
            found.append(Quarter.parse(path.stem))
        except QuarterError:
            continue
    return sorted(found)
