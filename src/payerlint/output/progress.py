"""What a long batch says on standard error: a progress line while it runs (only on a
terminal), and a closing summary (on a terminal, or when asked with --summary).

Both go to standard error so standard output stays the results alone, byte-identical
whatever the terminal. Neither says anything about a claim's content: counts, rates,
verdicts and the JSON pointers of missing data only.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator, TextIO

from payerlint.output.base import Tally

REFRESH_SECONDS = 0.25


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts results as they pass and redraws one line on `err` at most every quarter
    second: claims done, the rate, and the time left when the input's size is known
    (bytes read so far against the total, from the reader's `ReadMeter`)."""

    def __init__(self, err: TextIO, meter=None, total_bytes: int | None = None, clock=time.monotonic):
        self.err = err
        self.meter = meter
        self.total_bytes = total_bytes
        self.clock = clock
        self.started = clock()
        self.done = 0
        self._drawn = 0.0
        self._width = 0

    def watch(self, results: Iterable) -> Iterator:
        for result in results:
            self.done += 1
            now = self.clock()
            if now - self._drawn >= REFRESH_SECONDS:
                self._drawn = now
                self.draw(now)
            yield result
        self.clear()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = (f"payerlint: {self.done:,} claim{'' if self.done == 1 else 's'} checked, {rate:,.0f}/s, "
                f"{_clock(elapsed)} elapsed")
        if self.meter is not None and self.total_bytes and self.meter.bytes:
            share = min(1.0, self.meter.bytes / self.total_bytes)
            left = elapsed * (1 - share) / share if share > 0 else 0
            text += f", {share:.0%} read, about {_clock(left)} left"
        return text

    def draw(self, now: float) -> None:
        text = self.line(now)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.err.write("\r" + text + " " * pad)
        self.err.flush()

    def clear(self) -> None:
        if self._width:
            self.err.write("\r" + " " * self._width + "\r")
            self.err.flush()
            self._width = 0


def closing_summary(tally: Tally, *, records_in: int, seconds: float, jobs: int, unreadable_files: int = 0) -> str:
    """One paragraph: records in, results out, verdicts, rules not evaluated, rate."""
    v = tally.verdicts
    rate = tally.total / seconds if seconds > 0 else 0.0
    mode = f"{jobs} worker processes" if jobs > 1 else "in one process"
    lines = [f"payerlint: {records_in:,} records in, {tally.total:,} results out in {seconds:.1f} s "
             f"({rate:,.0f} claims/s, {mode})"]
    if unreadable_files:
        lines.append(f"  {unreadable_files:,} input file{'s' if unreadable_files != 1 else ''} could not be read "
                     f"(see above; exit code 2)")
    lines.append(f"  verdicts: {v['clean']:,} clean, {v['warn']:,} warn, {v['deny']:,} deny, {v['error']:,} error")
    if tally.not_evaluated:
        top = ", ".join(f"{pointer} {n:,}" for pointer, n in
                        sorted(tally.missing.items(), key=lambda item: (-item[1], item[0]))[:5])
        lines.append(f"  rules not evaluated: {tally.not_evaluated:,} on {tally.incomplete:,} "
                     f"claim{'' if tally.incomplete == 1 else 's'}, for lack of {top}")
        if tally.undocumented:
            lines.append(f"  {tally.undocumented:,} of those claims were read from 837P files (no minutes, note or "
                         f"episode data in them) and had no --documentation record")
    else:
        lines.append("  rules not evaluated: none")
    if tally.internal_errors:
        lines.append(f"  internal errors: {tally.internal_errors:,} (a bug: please report it)")
    return "\n".join(lines) + "\n"
