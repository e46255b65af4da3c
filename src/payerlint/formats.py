"""Input formats over the JSON framing: which records are payerlint claims, which are
resources of another format to convert first, and which files are not JSON at all.

`claims/reader.read_records` splits files into JSON records (a file, an array, JSON Lines)
and knows nothing of formats. Two formats come in over it:

- FHIR, record by record: this stage looks at each record and hands FHIR resources to
  `payerlint.fhir`, which yields the payerlint claims they hold (a Bundle, several), each
  with the FHIR location of its values. With `--jobs`, each worker converts its own chunk.
- X12 837P, file by file: an 837P is not JSON, so the reader hands the files the `X12Input`
  format claims (by name, or a first segment ISA) to `payerlint.x12.records`, which yields
  claim records already converted, with segment locations. An 837P cannot be cut into
  independent pieces before it is walked (a claim's payer, provider and patient are in the
  loops above it), so it is read in the reading process, and workers check its claims.

A record that could not be read passes through, so it still gets its one error result.

    INPUTS["auto"]   a file whose name ends .837, .x12 or .edi, or whose content starts
                     with an ISA segment, is an 837P; a record with `resourceType` is FHIR;
                     any other is a payerlint claim
    INPUTS["json"]   every record is a payerlint claim (no detection)
    INPUTS["fhir"]   every record must be a FHIR Claim or Bundle
    INPUTS["x12"]    every file must be an 837P
"""

from __future__ import annotations

from typing import IO, Any, Callable, Iterable, Iterator

from payerlint.claims.reader import OtherFormat, Record

INPUTS = ("auto", "json", "fhir", "x12")
X12_SUFFIXES = (".837", ".x12", ".edi")


class X12Input:
    """The 837P as a format of `read_records` (see `claims.reader.OtherFormat`).

    `registry` maps 837P payer ids to payer files (None: the bundled registry, or
    $PAYERLINT_HOME's); `documentation` is an `x12.documentation.Documentation`
    (`--documentation FILE`) or None."""

    suffixes = X12_SUFFIXES

    def __init__(self, registry: Any = None, documentation: Any = None, every_file: bool = False):
        self.registry = registry
        self.documentation = documentation
        self.every_file = every_file

    def claims(self, name: str, head: bytes) -> bool:
        return self.every_file or name.lower().endswith(self.suffixes) or is_x12(head)

    def records(self, stream: IO[bytes], label: str) -> Iterator[Record]:
        from payerlint.x12.records import records

        return records(stream, label, self.registry, self.documentation)


def is_x12(head: bytes) -> bool:
    """Whether a file's first bytes are an X12 interchange (an ISA segment, perhaps after
    a byte-order mark or blank space)."""
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"ISA")


def input_formats(input_format: str = "auto", registry: Any = None,
                  documentation: Any = None) -> tuple[OtherFormat, ...]:
    """The formats `read_records` should hand files to, for `--input input_format`."""
    if input_format not in INPUTS:
        raise ValueError(f"input format must be one of {', '.join(INPUTS)}")
    if input_format in ("json", "fhir"):
        return ()
    return (X12Input(registry, documentation, every_file=input_format == "x12"),)


def claim_records(records: Iterable[Record], input_format: str = "auto",
                  payer_known: Callable[[str], bool] | None = None) -> Iterator[Record]:
    """Every record as payerlint claim records, in order; see the module docstring. A
    record another format's reader already converted (it has locations) passes through."""
    if input_format not in INPUTS:
        raise ValueError(f"input format must be one of {', '.join(INPUTS)}")
    if input_format in ("json", "x12"):
        yield from records
        return
    for record in records:
        if record.data is None or record.locations is not None:
            yield record
        elif input_format == "fhir" or "resourceType" in record.data:
            from payerlint import fhir  # only for a FHIR resource: a JSON claim needs none of it

            yield from fhir.records(record, payer_known)
        else:
            yield record
