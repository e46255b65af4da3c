"""The JSON result contract: a JSON array (`json`) or one result per line (`jsonl`)."""

from __future__ import annotations

from payerlint.output.base import Tally, Writer


class JsonLinesWriter(Writer):
    def render(self, result) -> str:
        return result.dumps() + "\n"


class JsonWriter(Writer):
    """A JSON array, written as results come: `[`, one result per line, `]`."""

    def begin(self) -> None:
        self.out.write("[")
        self._first = True

    def render(self, result) -> str:
        text = ("\n" if self._first else ",\n") + result.dumps()
        self._first = False
        return text

    def end(self, tally: Tally) -> None:
        self.out.write("]\n" if self._first else "\n]\n")
