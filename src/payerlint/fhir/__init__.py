"""FHIR R4 Claim input: a Claim resource, or a Bundle of them, as payerlint claims.

    claims/reader.read_records      JSON framing: a file, an array, JSON Lines (NDJSON)
      -> fhir.records(record)        one Record per Claim, with `Locations` (FHIR paths)
      -> check.Checker.check_record  the claim path, unchanged

A record is FHIR when it is a JSON object with a `resourceType` (the claim schema allows
no such key, so a payerlint claim is never mistaken for one). A Bundle yields one record
per Claim entry, in entry order; its other entries (Patient, Organization, Condition,
Practitioner) are what the Claims' references resolve to. An entry or a Claim that cannot
be read is one error record naming where (`bundle.json Bundle.entry[2]`, then the element:
`Claim.item[0].productOrService`), and the other Claims are still read. A Bundle with no
Claim is one error record, so no input is silently dropped.

Why a plain mapping and not fhir.resources: see ARCHITECTURE.md ("FHIR input"). In short,
payerlint reads about twenty elements of a Claim and must name each value's location and
refuse with messages that quote no value; fhir.resources validates every element of R4B
(not R4), reports pydantic locations, and would add pydantic to every install.
"""

from __future__ import annotations

from typing import Callable, Iterator

from payerlint.claims.provenance import Locations
from payerlint.claims.reader import Record, json_type
from payerlint.diagnostics import Diagnostic
from payerlint.fhir.claim import FORMAT, Resolver, convert

FHIR_UNREADABLE = "fhir_unreadable"
MAX_NOTES = 8


def is_fhir(data) -> bool:
    """Whether a parsed record is a FHIR resource (rather than a payerlint claim)."""
    return isinstance(data, dict) and "resourceType" in data


def records(record: Record, payer_known: Callable[[str], bool] | None = None) -> Iterator[Record]:
    """The payerlint claim records of one FHIR record: a Claim, or each Claim of a Bundle.

    `payer_known(text)` says whether the payer registry knows an id or alias; it picks,
    among the insurer's identifiers, the one that names a payer. Never raises."""
    origin = record.origin
    try:
        data = record.data
        kind = data.get("resourceType") if isinstance(data, dict) else None
        if kind == "Claim":
            yield _claim(data, origin, Resolver(), payer_known)
        elif kind == "Bundle":
            yield from _bundle(data, origin, payer_known)
        elif kind is None:
            yield _error(origin, f"{origin}: expected a FHIR resource (an object with resourceType Claim or "
                                 f"Bundle), found {json_type(data) if not isinstance(data, dict) else 'an object without resourceType'}")
        else:
            yield _error(origin, f"{origin}: expected a FHIR Claim or a Bundle of Claims; this resource's "
                                 f"resourceType is neither")
    except Exception as exc:  # noqa: BLE001 - one resource must never end the batch
        yield _error(origin, f"{origin}: payerlint could not read this FHIR resource ({type(exc).__name__}); "
                             f"this is a bug in payerlint")


def _bundle(bundle: dict, origin: str, payer_known) -> Iterator[Record]:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        yield _error(origin, f"{origin}: Bundle.entry: expected a JSON array, found {json_type(entries)}")
        return
    resolver = Resolver.of_bundle(entries)
    claims = 0
    for index, entry in enumerate(entries):
        where = f"{origin} Bundle.entry[{index}]"
        try:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                found = json_type(entry) if not isinstance(entry, dict) else json_type(resource)
                yield _error(where, f"{where}: expected an entry with a resource (a JSON object), found {found}")
                claims += 1
                continue
            if resource.get("resourceType") != "Claim":
                continue  # a resource the Claims may reference
            claims += 1
            yield _claim(resource, where, resolver, payer_known)
        except Exception as exc:  # noqa: BLE001 - one entry must never end the Bundle
            yield _error(where, f"{where}: payerlint could not read this entry ({type(exc).__name__}); "
                                f"this is a bug in payerlint")
    if claims == 0:
        yield _error(origin, f"{origin}: the Bundle holds no Claim resource, so it holds no claim to check")


def _claim(resource: dict, origin: str, resolver: Resolver, payer_known) -> Record:
    conversion = convert(resource, resolver, payer_known)
    if conversion.problems:
        (first_where, first), *rest = conversion.problems
        notes = tuple(f"{where}: {message}" for where, message in rest[:MAX_NOTES])
        if len(rest) > MAX_NOTES:
            notes += (f"and {len(rest) - MAX_NOTES} more problems",)
        # The claim is not checked, but its result names it when its id could be read.
        identity = {key: conversion.data[key] for key in ("claim_id", "payer_id")
                    if isinstance(conversion.data.get(key), str)}
        return Record(origin, None, Diagnostic(FHIR_UNREADABLE, f"{origin}: {first_where}: {first}", notes=notes,
                                               quote=False), identity=identity or None)
    return Record(origin, conversion.data, None, Locations(FORMAT, conversion.where))


def _error(origin: str, message: str) -> Record:
    return Record(origin, None, Diagnostic(FHIR_UNREADABLE, message, quote=False))
