"""The provider taxonomy crosswalk every input format shares (`taxonomy.toml`): a NUCC
Health Care Provider Taxonomy code -> the claim model's `provider.discipline` and
`line.performed_by`. The 837P reader (PRV03) and the FHIR reader (careTeam
qualification) both ask here, so one code means one thing whatever the format.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
"""The FHIR code system of the NUCC taxonomy (Claim.careTeam.qualification)."""
SOURCE = "NUCC Health Care Provider Taxonomy (payerlint/claims/taxonomy.toml)"


@dataclass(frozen=True, slots=True)
class TaxonomyRow:
    prefix: str
    classification: str
    discipline: str
    """provider.discipline; '' when the code says no discipline of the claim model."""
    performed_by: str
    """line.performed_by; '' when the code says nobody the claim model names."""
    why: str = ""
    """Why the code says no discipline, for a message."""


@lru_cache(maxsize=None)
def taxonomy_rows() -> tuple[TaxonomyRow, ...]:
    """Every row, longest prefix first (the order a look-up tries them in)."""
    text = resources.files("payerlint.claims").joinpath("taxonomy.toml").read_text(encoding="utf-8")
    rows = (TaxonomyRow(r["prefix"], r["classification"], r["discipline"], r["performed_by"], r.get("why", ""))
            for r in tomllib.loads(text)["taxonomy"])
    # sorted() is stable: rows of one length keep the file's order.
    return tuple(sorted(rows, key=lambda row: -len(row.prefix)))


def taxonomy_row(code: str) -> TaxonomyRow | None:
    """The row of a taxonomy code (longest prefix), or None.

    >>> taxonomy_row("2251P0200X").discipline
    'PT'
    >>> row = taxonomy_row("225200000X")
    >>> (row.discipline, row.performed_by)
    ('PT', 'PTA')
    >>> taxonomy_row("207Q00000X").discipline
    ''
    """
    code = code.strip().upper()
    return next((row for row in taxonomy_rows() if code.startswith(row.prefix)), None)


def taxonomy_for(discipline: str, performed_by: str | None = None) -> str | None:
    """The classification-level code of a discipline's own clinician, or of the assistant
    `performed_by` names (a PTA under PT): what the 837P writer puts in PRV03.

    >>> taxonomy_for("PT"), taxonomy_for("OT"), taxonomy_for("PT", "PTA")
    ('225100000X', '225X00000X', '225200000X')
    """
    who = performed_by or discipline
    for row in taxonomy_rows():
        if row.discipline == discipline and row.performed_by == who:
            return (row.prefix + "0" * 10)[:9] + "X"
    return None
