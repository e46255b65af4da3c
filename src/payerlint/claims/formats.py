"""Input formats over the JSON framing: which records are payerlint claims and which are
resources of another format to convert first.

`claims/reader.read_records` splits files into JSON records (a file, an array, JSON Lines)
and knows nothing of formats. This stage looks at each record and hands FHIR resources to
`payerlint.fhir`, which yields the payerlint claims they hold (a Bundle, several), each
with the FHIR location of its values. A record that could not be read passes through, so
it still gets its one error result.

    INPUTS["auto"]   a record with `resourceType` is FHIR, any other is a payerlint claim
    INPUTS["json"]   every record is a payerlint claim (no detection)
    INPUTS["fhir"]   every record must be a FHIR Claim or Bundle
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from payerlint.claims.reader import Record

INPUTS = ("auto", "json", "fhir")


def claim_records(records: Iterable[Record], input_format: str = "auto",
                  payer_known: Callable[[str], bool] | None = None) -> Iterator[Record]:
    """Every record as payerlint claim records, in order; see the module docstring."""
    if input_format not in INPUTS:
        raise ValueError(f"input format must be one of {', '.join(INPUTS)}")
    if input_format == "json":
        yield from records
        return
    from payerlint import fhir

    for record in records:
        if record.data is None:
            yield record
        elif input_format == "fhir" or "resourceType" in record.data:
            yield from fhir.records(record, payer_known)
        else:
            yield record
