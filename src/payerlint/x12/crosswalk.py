"""X12 codes to the claim model's values, as data: provider taxonomy to discipline
(`claims/taxonomy.toml`, shared with the FHIR reader) and the 837P payer to a payer id
(`data/claim_filing.toml` and the payer files' aliases). No payer or provider is named
in this code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from payerlint.claims.taxonomy import TaxonomyRow, taxonomy_for, taxonomy_row, taxonomy_rows
from payerlint.payers.registry import Registry

__all__ = ["FilingCode", "PayerChoice", "TaxonomyRow", "choose_payer", "filing_codes", "taxonomy_for",
           "taxonomy_row", "taxonomy_rows"]


@dataclass(frozen=True, slots=True)
class FilingCode:
    code: str
    meaning: str
    payer_type: str


def _data(name: str) -> dict:
    return tomllib.loads(resources.files("payerlint.x12").joinpath("data", name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def filing_codes() -> dict[str, FilingCode]:
    return {code: FilingCode(code, entry["meaning"], entry["payer_type"])
            for code, entry in _data("claim_filing.toml")["codes"].items()}


@dataclass(frozen=True, slots=True)
class PayerChoice:
    payer_id: str | None
    """The registry id, or None when neither the payer id nor SBR09 decided."""
    by: str
    """"alias" (NM109 matched), "filing" (SBR09 and the state decided), or "none"."""
    note: str = ""
    """Why nothing was chosen, for a warning."""


def choose_payer(registry: Registry | None, payer_id: str, filing: str, state: str) -> PayerChoice:
    """Map an 837P payer (2010BB NM109, SBR09, the patient's N402) to a registry payer id."""
    if registry is None:
        return PayerChoice(None, "none", "the payer registry could not be read")
    if payer_id:
        found = registry.resolve(payer_id)
        if found is not None:
            return PayerChoice(found.id, "alias")
    code = filing_codes().get(filing)
    if code is None:
        why = f"SBR09 '{filing}' names no payer type payerlint maps" if filing else "SBR09 is empty"
        return PayerChoice(None, "none", f"the payer id is not an alias in any payer file, and {why}")
    candidates = [p for p in registry.payers.values()
                  if p.type == code.payer_type and p.match_by_filing_indicator
                  and (not p.states or (state and state in p.states))]
    if len(candidates) == 1:
        return PayerChoice(candidates[0].id, "filing")
    if not candidates:
        return PayerChoice(None, "none", f"the payer id is not an alias in any payer file, and no payer of type "
                           f"{code.payer_type} (SBR09 '{filing}', {code.meaning}) covers the patient's state")
    names = ", ".join(sorted(p.id for p in candidates))
    return PayerChoice(None, "none", f"the payer id is not an alias in any payer file, and SBR09 '{filing}' "
                       f"({code.meaning}) fits more than one payer: {names}")
