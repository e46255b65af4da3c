"""One 837P claim's values (with their segments) to a claim in the claim schema's shape.

Key order follows the claim schema, so the same file always prints the same JSON.
Where the 837P has no value the claim model needs (minutes, the treatment note, most
of the episode), the key is left out: absent means unknown, and the engine reports the
rules that need it as not evaluated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from payerlint.diagnostics import Diagnostic
from payerlint.x12.crosswalk import choose_payer, taxonomy_row
from payerlint.x12.provenance import SegmentRef, diagnostic

def assemble(reader: Any, claim: Any) -> tuple[dict, dict[str, SegmentRef], list[Diagnostic]]:
    """`reader` and `claim` are claims837's `_Reader` and `_Claim` (not imported: that
    module calls this one, and the arrow between them runs one way)."""
    data: dict = {}
    sources: dict[str, SegmentRef] = {}
    problems: list[Diagnostic] = []
    clm = claim.clm

    def put(pointer: str, target: dict, key: str, found) -> None:
        if found is not None:
            target[key] = found[0]
            sources[pointer] = found[1]

    def warn(code: str, message: str, pointer: str | None, severity: str = "warning") -> None:
        problems.append(diagnostic(code, f"segment {clm.number} (CLM) of ST {reader.control}: {message}",
                                   reader.label, clm.line, clm.column, severity, pointer))

    put("/claim_id", data, "claim_id", claim.values.get("claim_id"))

    # The payer: 2010BB's payer id through the payer files' aliases, else SBR09's payer type.
    sub, patient = claim.subscriber, claim.patient
    person = patient if patient is not None else sub
    payer = sub.get("payer_id")
    filing = sub.get("filing")
    state = person.get("state")
    choice = choose_payer(reader.registry, payer[0] if payer else "", filing[0] if filing else "",
                          state[0] if state else "")
    if choice.payer_id is not None:
        data["payer_id"] = choice.payer_id
        sources["/payer_id"] = (payer if choice.by == "alias" else filing)[1]  # type: ignore[index]
    elif payer is not None:
        put("/payer_id", data, "payer_id", payer)
        warn("x12_payer_unmapped", f"payer id '{payer[0]}' (loop 2010BB, NM109) is kept as the claim's payer_id: "
             f"{choice.note}; add it to the aliases of its payer file (payers/<id>.toml)", "/payer_id")

    # The patient: the subscriber's member id; birth date and state from the patient's
    # own level (2000C) when the patient is not the subscriber.
    patient_data: dict = {}
    put("/patient/id", patient_data, "id", sub.get("member_id"))
    put("/patient/birth_date", patient_data, "birth_date", person.get("birth_date"))
    put("/patient/state", patient_data, "state", person.get("state"))
    found = person.get("patient") or sub.get("patient")
    if found is not None:
        sources["/patient"] = found[1]
    data["patient"] = patient_data

    # The provider: the rendering provider (2310B) when named, else the billing provider;
    # the discipline from the rendering provider's taxonomy, else the billing provider's.
    provider: dict = {}
    npi = claim.values.get("npi") or claim.billing.get("npi")
    put("/provider/npi", provider, "npi", npi)
    if "rendering" in claim.values:
        sources["/provider"] = claim.values["rendering"][1]  # type: ignore[assignment]
    taxonomy = claim.values.get("taxonomy") or claim.billing.get("taxonomy")
    assistant = None
    if taxonomy is None:
        warn("x12_discipline_unknown", "no provider taxonomy (PRV in loop 2310B or 2000A): the provider's "
             "discipline is unknown", "/provider/discipline")
    else:
        row = taxonomy_row(str(taxonomy[0]))
        if row is None:
            warn("x12_discipline_unknown", f"taxonomy {taxonomy[0]} ({taxonomy[1]}) is not in payerlint's "
                 "crosswalk (payerlint/claims/taxonomy.toml): the provider's discipline is unknown",
                 "/provider/discipline")
        elif not row.discipline:
            warn("x12_discipline_unknown", f"taxonomy {taxonomy[0]} ({row.classification}) is {row.why}: the "
                 "provider's discipline is unknown", "/provider/discipline")
        else:
            provider["discipline"] = row.discipline
            sources["/provider/discipline"] = taxonomy[1]  # type: ignore[assignment]
            # An assistant named as the provider who rendered the services (a PTA under a
            # PT's discipline) furnished every line. A therapist named there does not rule
            # out an assistant's part (CQ/CO say that), so performed_by is then left to
            # the documentation (--documentation), never guessed.
            if row.performed_by and row.performed_by != row.discipline:
                assistant = (row.performed_by, taxonomy[1])
    data["provider"] = provider

    # Lines first: the claim's date of service is the earliest line date.
    lines = []
    first_date = None
    for index, line in enumerate(claim.lines):
        at = f"/lines/{index}"
        sources[at] = line.lx_ref
        item: dict = {}
        put(f"{at}/code", item, "code", line.values.get("code"))
        modifiers = line.values.get("modifiers")
        if modifiers is not None:
            item["modifiers"] = [m for m, _ in modifiers[0]]  # type: ignore[union-attr]
            sources[f"{at}/modifiers"] = modifiers[1]  # type: ignore[assignment]
            for j, (_, where) in enumerate(modifiers[0]):  # type: ignore[arg-type]
                sources[f"{at}/modifiers/{j}"] = where
        put(f"{at}/units", item, "units", line.values.get("units"))
        put(f"{at}/minutes", item, "minutes", line.values.get("minutes"))
        put(f"{at}/charge", item, "charge", line.values.get("charge"))
        pointers = line.values.get("diagnosis_pointers")
        if pointers is not None:
            item["diagnosis_pointers"] = [p for p, _ in pointers[0]]  # type: ignore[union-attr]
            sources[f"{at}/diagnosis_pointers"] = pointers[1]  # type: ignore[assignment]
            for j, (_, where) in enumerate(pointers[0]):  # type: ignore[arg-type]
                sources[f"{at}/diagnosis_pointers/{j}"] = where
        if line.date is not None:
            start, end, where = line.date
            item["date"] = start
            sources[f"{at}/date"] = where
            if end is not None:
                item["date_through"] = end
                sources[f"{at}/date_through"] = where
            if first_date is None or start < first_date[0]:
                first_date = (start, where)
        put(f"{at}/place_of_service", item, "place_of_service", line.values.get("place_of_service"))
        put(f"{at}/control_number", item, "control_number", line.values.get("control_number"))
        put(f"{at}/performed_by", item, "performed_by", assistant)
        lines.append(item)

    total = claim.values.get("total")
    charges = [line.get("charge") for line in lines]
    if total is not None and charges and None not in charges:
        if sum(Decimal(c) for c in charges) != Decimal(str(total[0])):
            warn("x12_claim_total", "CLM02, the total claim charge, differs from the sum of the service lines' "
                 "charges (SV102); the TR3 wants them equal", None)

    put("/date_of_service", data, "date_of_service", first_date)
    put("/place_of_service", data, "place_of_service", claim.values.get("place_of_service"))
    data["diagnoses"] = [code for code, _ in claim.diagnoses]
    if claim.diagnoses:
        sources["/diagnoses"] = claim.diagnoses[0][1]
    for index, (_, where) in enumerate(claim.diagnoses):
        sources[f"/diagnoses/{index}"] = where
    auth = claim.values.get("prior_authorization")
    if auth is not None:
        data["episode"] = {"prior_authorization": {"number": auth[0]}}
        sources["/episode/prior_authorization"] = auth[1]  # type: ignore[assignment]
        sources["/episode/prior_authorization/number"] = auth[1]  # type: ignore[assignment]
    data["lines"] = lines
    # `sources` is filled in a fixed order (claim fields, then line by line), so it needs no sort.
    return _ordered(data), sources, problems


_ORDER = ("claim_id", "payer_id", "patient", "provider", "date_of_service", "place_of_service", "diagnoses",
          "episode", "lines")


def _ordered(data: dict) -> dict:
    return {key: data[key] for key in _ORDER if key in data}
