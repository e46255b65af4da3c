"""Output formats, as a table: each format is one writer class, and adding a format is
one entry in `WRITERS` (the model is sqlglot's generator table, not branches in the CLI).

A writer receives results one at a time, as they come (memory stays flat for JSON Lines
input), and a `Tally` at the end. Writing one result never ends the run: a result that
cannot be written (it should not happen) is replaced by an internal-error result for the
same record, so every record still gets exactly one output record.
"""

from __future__ import annotations

from typing import Iterable, TextIO

from payerlint.output.base import Tally, Writer
from payerlint.output.json import JsonLinesWriter, JsonWriter
from payerlint.output.text import TextWriter, printable, render_text

WRITERS: dict[str, type[Writer]] = {
    "text": TextWriter,
    "json": JsonWriter,
    "jsonl": JsonLinesWriter,
}

__all__ = ["WRITERS", "Tally", "Writer", "write_results", "render_text", "printable"]


def write_results(results: Iterable, fmt: str, out: TextIO, *, strict: bool = False) -> Tally:
    """Write every result in `fmt` and return what was written, counted."""
    from payerlint.check import internal_error

    writer = WRITERS[fmt](out, strict=strict)
    tally = Tally()
    writer.begin()
    for result in results:
        try:
            text = writer.render(result)
        except Exception as exc:  # noqa: BLE001 - one result must never end the batch
            result = internal_error(None, result.record, exc)
            text = writer.render(result)
        tally.add(result)
        out.write(text)
    writer.end(tally)
    return tally
