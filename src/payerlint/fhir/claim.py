"""One FHIR R4 Claim resource -> one payerlint claim, every value with its location.

The mapping is plain Python over the parsed JSON, driven by `mapping.toml` (code systems,
supportingInfo categories, the care-team crosswalk); docs/fhir.md says element by element
what is read. Each value written into the claim records where it came from
(`/lines/1/modifiers/0` <- `Claim.item[1].modifier[0].coding[0].code`), and each value a
rule may miss records where it would go, so results can be told in FHIR terms
(`claims/provenance.py`).

What this module checks and what it leaves to the claim schema: it refuses what it cannot
map (an element of the wrong JSON type, a procedure with no CPT or HCPCS coding, a
diagnosisSequence naming no diagnosis, a payerlint supportingInfo code it does not know,
a service period longer than a day); values it can carry over (a date, a number, a code)
are carried as they are and the claim schema judges them, reported at their FHIR location.
Any refusal makes the whole resource one error record naming every problem's location.

Messages name element locations and what was expected, never a value: a Claim carries
patient data.
"""

from __future__ import annotations

import functools
import re
import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Callable

from payerlint.claims.taxonomy import NUCC_SYSTEM, taxonomy_row

FORMAT = "FHIR R4 Claim"
_ICD_NO_DOT = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}$")
_TEXT_ELEMENTS = {"text": ("valueString", "text"), "date": ("timingDate", "date")}
"""supportingInfo value kinds held as one FHIR string: (the element, what it holds)."""


@functools.cache
def mapping() -> dict:
    """mapping.toml, read once."""
    text = resources.files("payerlint.fhir").joinpath("mapping.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _type(value: Any) -> str:
    from payerlint.claims.reader import json_type

    return json_type(value)


class Resolver:
    """Finds the resource a Reference names: a contained resource (`#id`), or a Bundle
    entry by its fullUrl or by `Type/id` (also the end of an absolute URL)."""

    def __init__(self, index: dict[str, dict] | None = None):
        self.index = index or {}

    @classmethod
    def of_bundle(cls, entries: list) -> "Resolver":
        index: dict[str, dict] = {}
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            if isinstance(entry.get("fullUrl"), str):
                index.setdefault(entry["fullUrl"], resource)
            kind, ident = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(ident, str):
                index.setdefault(f"{kind}/{ident}", resource)
        return cls(index)

    def resolve(self, reference: Any, contained: dict[str, dict]) -> dict | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref = reference["reference"]
        if ref.startswith("#"):
            return contained.get(ref[1:])
        if ref in self.index:
            return self.index[ref]
        parts = [p for p in ref.split("/") if p]
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        return self.index.get("/".join(parts[-2:])) if len(parts) >= 2 else None


class Conversion:
    """The outcome: the claim and where each value came from, or the problems."""

    def __init__(self):
        self.data: dict = {}
        self.where: dict[str, str] = {}
        self.problems: list[tuple[str, str]] = []

    def problem(self, location: str, message: str) -> None:
        self.problems.append((location, message))

    def put(self, pointer: str, value: Any, location: str) -> None:
        """Set `pointer` (creating the objects on the way; `-` appends) and record where."""
        node = self.data
        keys = pointer.split("/")[1:]
        for depth, key in enumerate(keys[:-1]):
            following = keys[depth + 1]
            if isinstance(node, list):
                node = node[int(key)]
                continue
            if key not in node:
                node[key] = [] if following == "-" or following.isdigit() else {}
            node = node[key]
        last = keys[-1]
        if isinstance(node, list):
            node.append(value)
            pointer = pointer[: pointer.rfind("/") + 1] + str(len(node) - 1)
        else:
            node[last] = value
        self.where[pointer] = location

    def hint(self, pointer: str, location: str) -> None:
        """Where a value would come from, for a pointer the claim may lack."""
        self.where.setdefault(pointer, location)


def convert(claim: dict, resolver: Resolver, payer_known: Callable[[str], bool] | None = None) -> Conversion:
    """Map one Claim resource. Never raises for any JSON input (the caller still guards)."""
    out = Conversion()
    _Claim(claim, resolver, payer_known, out).run()
    return out


class _Claim:
    def __init__(self, claim: dict, resolver: Resolver, payer_known, out: Conversion):
        self.claim = claim
        self.resolver = resolver
        self.payer_known = payer_known
        self.out = out
        self.systems = mapping()["systems"]
        self.categories = mapping()["supporting_info"]
        self.contained: dict[str, dict] = {}
        for resource in self.array(claim.get("contained"), "Claim.contained"):
            if isinstance(resource, dict) and isinstance(resource.get("id"), str):
                self.contained[resource["id"]] = resource

    # --------------------------------------------------------------- JSON shapes

    def object(self, value: Any, location: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.out.problem(location, f"expected a JSON object, found {_type(value)}")
            return None
        return value

    def array(self, value: Any, location: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.out.problem(location, f"expected a JSON array, found {_type(value)}")
            return []
        return value

    def text(self, value: Any, location: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.out.problem(location, f"expected a string, found {_type(value)}")
            return None
        return value

    def sequence(self, value: Any, location: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.out.problem(location, "expected a positive whole number (a FHIR positiveInt)")
            return None
        return value

    def codes(self, concept: Any, systems, location: str) -> list[tuple[str, str]]:
        """(code, location) of each coding of a CodeableConcept in one of `systems`."""
        concept = self.object(concept, location)
        if concept is None:
            return []
        found = []
        for j, coding in enumerate(self.array(concept.get("coding"), f"{location}.coding")):
            coding = self.object(coding, f"{location}.coding[{j}]")
            if coding is None or coding.get("system") not in systems:
                continue
            code = self.text(coding.get("code"), f"{location}.coding[{j}].code")
            if code is not None:
                found.append((code, f"{location}.coding[{j}].code"))
        return found

    def resolve(self, reference: Any) -> dict | None:
        return self.resolver.resolve(reference, self.contained)

    # --------------------------------------------------------------- the claim

    def run(self) -> None:
        claim, out = self.claim, self.out
        self.claim_id()
        self.payer()
        self.patient()
        team = self.care_team()
        self.diagnoses_by_sequence = self.diagnoses()
        info = self.supporting_info()
        self.lines(team, info)
        self.provider(team)
        self.claim_level_info(info)
        self.prior_authorization()
        if "date_of_service" not in out.data:
            period = self.object(claim.get("billablePeriod"), "Claim.billablePeriod")
            start = self.text(period.get("start"), "Claim.billablePeriod.start") if period else None
            if start is not None:
                out.put("/date_of_service", start, "Claim.billablePeriod.start")
        out.hint("/date_of_service", "Claim.item.servicedDate (the earliest), else Claim.billablePeriod.start")

    def claim_id(self) -> None:
        for k, ident in enumerate(self.array(self.claim.get("identifier"), "Claim.identifier")):
            ident = self.object(ident, f"Claim.identifier[{k}]")
            value = self.text(ident.get("value"), f"Claim.identifier[{k}].value") if ident else None
            if value is not None:
                self.out.put("/claim_id", value, f"Claim.identifier[{k}].value")
                return
        value = self.text(self.claim.get("id"), "Claim.id")
        if value is not None:
            self.out.put("/claim_id", value, "Claim.id")
        self.out.hint("/claim_id", "Claim.identifier.value, else Claim.id")

    def payer(self) -> None:
        """payer_id: an identifier of Claim.insurer, or of the Organization it references,
        that the payer registry knows as an id or alias; else the first one found (and
        routing then says it is unknown, with the closest payer ids)."""
        reference = self.object(self.claim.get("insurer"), "Claim.insurer")
        candidates: list[tuple[str, str]] = []
        if reference is not None:
            ident = self.object(reference.get("identifier"), "Claim.insurer.identifier")
            value = self.text(ident.get("value"), "Claim.insurer.identifier.value") if ident else None
            if value is not None:
                candidates.append((value, "Claim.insurer.identifier.value"))
            organization = self.resolve(reference)
            if organization is not None:
                base = "Claim.insurer.resolve()"
                for k, ident in enumerate(self.array(organization.get("identifier"), f"{base}.identifier")):
                    ident = self.object(ident, f"{base}.identifier[{k}]")
                    value = self.text(ident.get("value"), f"{base}.identifier[{k}].value") if ident else None
                    if value is not None:
                        candidates.append((value, f"{base}.identifier[{k}].value"))
        if candidates:
            known = [c for c in candidates if self.payer_known and self.payer_known(c[0])]
            value, location = (known or candidates)[0]
            self.out.put("/payer_id", value, location)
        self.out.hint("/payer_id", "Claim.insurer.identifier.value (an id or alias in payers/*.toml)")

    def patient(self) -> None:
        out = self.out
        reference = self.object(self.claim.get("patient"), "Claim.patient")
        out.hint("/patient", "Claim.patient")
        out.hint("/patient/id", "Claim.patient.identifier.value")
        if reference is None:
            return
        out.put("/patient", {}, "Claim.patient")
        resource = self.resolve(reference)
        ident = self.object(reference.get("identifier"), "Claim.patient.identifier")
        value = self.text(ident.get("value"), "Claim.patient.identifier.value") if ident else None
        if value is not None:
            out.put("/patient/id", value, "Claim.patient.identifier.value")
        elif resource is not None and self.array(resource.get("identifier"), "Claim.patient.resolve().identifier"):
            first = self.object(resource["identifier"][0], "Claim.patient.resolve().identifier[0]")
            value = self.text(first.get("value"), "Claim.patient.resolve().identifier[0].value") if first else None
            if value is not None:
                out.put("/patient/id", value, "Claim.patient.resolve().identifier[0].value")
        if "id" not in out.data["patient"] and isinstance(reference.get("reference"), str):
            ref = reference["reference"]
            out.put("/patient/id", ref.rsplit("/", 1)[-1].lstrip("#"), "Claim.patient.reference")
        if resource is None:
            return
        base = "Claim.patient.resolve()"
        birth = self.text(resource.get("birthDate"), f"{base}.birthDate")
        if birth is not None:
            out.put("/patient/birth_date", birth, f"{base}.birthDate")
        addresses = self.array(resource.get("address"), f"{base}.address")
        if addresses:
            address = self.object(addresses[0], f"{base}.address[0]")
            state = self.text(address.get("state"), f"{base}.address[0].state") if address else None
            if state is not None:
                out.put("/patient/state", state, f"{base}.address[0].state")

    def care_team(self) -> dict[int, dict]:
        """sequence -> {location, performed_by, discipline, role, responsible, provider}."""
        team: dict[int, dict] = {}
        for i, member in enumerate(self.array(self.claim.get("careTeam"), "Claim.careTeam")):
            location = f"Claim.careTeam[{i}]"
            member = self.object(member, location)
            if member is None:
                continue
            sequence = self.sequence(member.get("sequence"), f"{location}.sequence")
            if sequence is None:
                continue
            if sequence in team:
                self.out.problem(f"{location}.sequence", "two careTeam entries have this sequence")
                continue
            entry = {"location": location, "performed_by": None, "discipline": None,
                     "responsible": member.get("responsible") is True,
                     "provider": self.object(member.get("provider"), f"{location}.provider") or {}}
            roles = self.codes(member.get("role"), (self.systems["care_team_role"],), f"{location}.role")
            entry["role"] = roles[0][0] if roles else None
            row, where = self.crosswalk(member.get("qualification"), f"{location}.qualification")
            if row is not None:
                entry.update(performed_by=row["performed_by"], discipline=row["discipline"], qualification=where)
            team[sequence] = entry
        return team

    def crosswalk(self, concept: Any, location: str) -> tuple[dict | None, str]:
        concept = self.object(concept, location)
        if concept is None:
            return None, location
        for j, coding in enumerate(self.array(concept.get("coding"), f"{location}.coding")):
            if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
                continue
            code = coding["code"]
            if coding.get("system") == NUCC_SYSTEM:
                # The NUCC taxonomy: the crosswalk every input format shares.
                found = taxonomy_row(code)
                if found is not None and found.discipline:
                    return ({"performed_by": found.performed_by or None, "discipline": found.discipline},
                            f"{location}.coding[{j}].code")
                continue
            for row in mapping()["care_team"]:
                if coding.get("system") == row["system"] and code == row["code"]:
                    return row, f"{location}.coding[{j}].code"
        return None, location

    def diagnoses(self) -> dict[int, int]:
        """Claim.diagnosis sorted by sequence -> /diagnoses; returns sequence -> pointer (from 1)."""
        entries = []
        seen: set[int] = set()
        for i, diagnosis in enumerate(self.array(self.claim.get("diagnosis"), "Claim.diagnosis")):
            location = f"Claim.diagnosis[{i}]"
            diagnosis = self.object(diagnosis, location)
            if diagnosis is None:
                continue
            sequence = self.sequence(diagnosis.get("sequence"), f"{location}.sequence")
            if sequence is None:
                continue
            if sequence in seen:
                self.out.problem(f"{location}.sequence", "two diagnosis entries have this sequence")
                continue
            seen.add(sequence)
            concept_location = f"{location}.diagnosisCodeableConcept"
            concept = diagnosis.get("diagnosisCodeableConcept")
            if concept is None and diagnosis.get("diagnosisReference") is not None:
                condition = self.resolve(diagnosis.get("diagnosisReference"))
                concept, concept_location = (condition or {}).get("code"), f"{location}.diagnosisReference.resolve().code"
            codes = self.codes(concept, self.systems["diagnosis"], concept_location)
            if not codes:
                self.out.problem(concept_location, "no coding from ICD-10-CM (system "
                                 f"{self.systems['diagnosis'][0]}); payerlint reads ICD-10-CM diagnoses")
                continue
            code, where = codes[0]
            if _ICD_NO_DOT.match(code):
                code = f"{code[:3]}.{code[3:]}"  # the same code written without its dot
            entries.append((sequence, code, where))
        pointers = {}
        self.out.hint("/diagnoses", "Claim.diagnosis")
        for position, (sequence, code, where) in enumerate(sorted(entries), start=1):
            self.out.put(f"/diagnoses/{position - 1}", code, where)
            pointers[sequence] = position
        if entries:
            self.out.where["/diagnoses"] = "Claim.diagnosis"
        return pointers

    def supporting_info(self) -> dict[int, dict]:
        """sequence -> {index, code, entry} for each entry in payerlint's category system."""
        found: dict[int, dict] = {}
        ours = self.systems["supporting_info"]
        for i, entry in enumerate(self.array(self.claim.get("supportingInfo"), "Claim.supportingInfo")):
            location = f"Claim.supportingInfo[{i}]"
            entry = self.object(entry, location)
            if entry is None:
                continue
            sequence = self.sequence(entry.get("sequence"), f"{location}.sequence")
            codes = self.codes(entry.get("category"), (ours,), f"{location}.category")
            if sequence is None or not codes:
                continue  # another system's category: not payerlint's to read
            code = codes[0][0]
            if code not in self.categories:
                self.out.problem(f"{location}.category", f"not a payerlint supportingInfo category; expected one "
                                 f"of {', '.join(sorted(self.categories))} (system {ours})")
                continue
            if sequence in found:
                self.out.problem(f"{location}.sequence", "two supportingInfo entries have this sequence")
                continue
            found[sequence] = {"index": i, "code": code, "entry": entry, "location": location, "used": False}
        return found

    def lines(self, team: dict[int, dict], info: dict[int, dict]) -> None:
        out = self.out
        items = self.array(self.claim.get("item"), "Claim.item")
        out.hint("/lines", "Claim.item")
        if not items and isinstance(self.claim.get("item", []), list):
            # Said in FHIR's terms, not as the claim schema's missing /lines.
            out.problem("Claim.item", "the Claim has no items, so it has no service lines to check")
        places: list[tuple[str, str]] = []
        dates: list[tuple[str, str]] = []
        for i, item in enumerate(items):
            location = f"Claim.item[{i}]"
            item = self.object(item, location)
            if item is None:
                continue
            pointer = f"/lines/{len(out.data.get('lines', []))}"
            out.put(pointer, {}, location)
            self.line(pointer, location, item, team, info, places, dates)
        for sequence, entry in sorted(info.items()):
            if self.categories[entry["code"]]["scope"] == "item" and not entry["used"]:
                out.problem(f"{entry['location']}.category",
                            f"a '{entry['code']}' entry describes one service line: name its sequence in that "
                            f"Claim.item.informationSequence")
        valid_dates = sorted((d, w) for d, w in dates if re.match(r"^\d{4}-\d{2}-\d{2}$", d))
        if valid_dates:
            out.put("/date_of_service", valid_dates[0][0], valid_dates[0][1])
        if places:
            if len({code for code, _ in places}) > 1:
                out.problem("Claim.item.locationCodeableConcept", "the items name different places of service; "
                            "payerlint checks one place of service per claim: split the claim")
            else:
                out.put("/place_of_service", places[0][0], places[0][1])
        out.hint("/place_of_service", "Claim.item.locationCodeableConcept (CMS place of service)")

    def line(self, pointer, location, item, team, info, places, dates) -> None:
        out = self.out
        procedure = self.systems["procedure"]
        codes = self.codes(item.get("productOrService"), procedure, f"{location}.productOrService")
        if codes:
            out.put(f"{pointer}/code", codes[0][0], codes[0][1])
        else:
            out.problem(f"{location}.productOrService", f"no coding from CPT or HCPCS (systems "
                        f"{', '.join(procedure[:2])})")
        out.hint(f"{pointer}/modifiers", f"{location}.modifier")
        for j, modifier in enumerate(self.array(item.get("modifier"), f"{location}.modifier")):
            found = self.codes(modifier, procedure, f"{location}.modifier[{j}]")
            if found:
                out.put(f"{pointer}/modifiers/-", found[0][0], found[0][1])
            else:
                out.problem(f"{location}.modifier[{j}]", "no coding from CPT or HCPCS (a modifier such as 59, GP, "
                            "KX or CQ)")
        quantity = self.object(item.get("quantity"), f"{location}.quantity")
        if quantity is not None and "value" in quantity:
            value = quantity["value"]
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a FHIR decimal 2.0 is the count 2
            out.put(f"{pointer}/units", value, f"{location}.quantity.value")
        out.hint(f"{pointer}/units", f"{location}.quantity.value")
        net = self.object(item.get("net"), f"{location}.net")
        if net is not None and "value" in net:
            if net.get("currency", "USD") != "USD":
                out.problem(f"{location}.net.currency", "expected USD")
            out.put(f"{pointer}/charge", _money(net["value"]), f"{location}.net.value")
        pointers = []
        for j, sequence in enumerate(self.array(item.get("diagnosisSequence"), f"{location}.diagnosisSequence")):
            where = f"{location}.diagnosisSequence[{j}]"
            if self.sequence(sequence, where) is None:
                continue
            if sequence not in self.diagnoses_by_sequence:
                out.problem(where, "names no Claim.diagnosis.sequence of this claim")
                continue
            out.put(f"{pointer}/diagnosis_pointers/-", self.diagnoses_by_sequence[sequence], where)
            pointers.append(sequence)
        out.hint(f"{pointer}/diagnosis_pointers", f"{location}.diagnosisSequence")
        body = self.object(item.get("bodySite"), f"{location}.bodySite")
        if body is not None:
            if isinstance(body.get("text"), str):
                out.put(f"{pointer}/body_region", body["text"], f"{location}.bodySite.text")
            else:
                for j, coding in enumerate(self.array(body.get("coding"), f"{location}.bodySite.coding")):
                    if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                        out.put(f"{pointer}/body_region", coding["display"], f"{location}.bodySite.coding[{j}].display")
                        break
        out.hint(f"{pointer}/body_region", f"{location}.bodySite")
        self.service_date(pointer, location, item, dates)
        self.performer(pointer, location, item, team)
        for j, sequence in enumerate(self.array(item.get("informationSequence"), f"{location}.informationSequence")):
            where = f"{location}.informationSequence[{j}]"
            if self.sequence(sequence, where) is None:
                continue
            entry = info.get(sequence)
            if entry is None or self.categories[entry["code"]]["scope"] != "item":
                continue  # claim-level or another system's information: read elsewhere or not at all
            category = self.categories[entry["code"]]
            target = category["target"].format(line=pointer.rsplit("/", 1)[1])
            if entry["used"] == pointer or _get(out.data, target) is not None:
                out.problem(where, f"this item names two '{entry['code']}' entries")
                continue
            entry["used"] = pointer
            self.info_value(entry, category, target)
        for code, category in self.categories.items():
            if category["scope"] == "item":
                target = category["target"].format(line=pointer.rsplit("/", 1)[1])
                out.hint(target, f"Claim.supportingInfo.where(category='{code}') named by "
                                 f"{location}.informationSequence")
        concept = item.get("locationCodeableConcept")
        if concept is not None:
            found = self.codes(concept, self.systems["place_of_service"], f"{location}.locationCodeableConcept")
            if found:
                places.append(found[0])

    def service_date(self, pointer, location, item, dates) -> None:
        out = self.out
        out.hint(f"{pointer}/date", f"{location}.servicedDate")
        day = self.text(item.get("servicedDate"), f"{location}.servicedDate")
        if day is not None:
            out.put(f"{pointer}/date", day, f"{location}.servicedDate")
            dates.append((day, f"{location}.servicedDate"))
            return
        period = self.object(item.get("servicedPeriod"), f"{location}.servicedPeriod")
        if period is None:
            return
        start = self.text(period.get("start"), f"{location}.servicedPeriod.start")
        end = self.text(period.get("end"), f"{location}.servicedPeriod.end")
        if start is None:
            out.problem(f"{location}.servicedPeriod", "a service period needs its start")
            return
        if end is not None and end[:10] != start[:10]:
            out.problem(f"{location}.servicedPeriod", "the period spans more than one day; payerlint checks one "
                        "date of service per line (timed units are counted per day): one item per day")
            return
        out.put(f"{pointer}/date", start[:10], f"{location}.servicedPeriod.start")
        dates.append((start[:10], f"{location}.servicedPeriod.start"))

    def performer(self, pointer, location, item, team) -> None:
        """performed_by: the item's care team member with role `primary`, else its only
        member, else its first; an item naming none reads the claim's care team the same way."""
        out = self.out
        out.hint(f"{pointer}/performed_by", f"{location}.careTeamSequence -> Claim.careTeam.qualification")
        members = []
        for j, sequence in enumerate(self.array(item.get("careTeamSequence"), f"{location}.careTeamSequence")):
            where = f"{location}.careTeamSequence[{j}]"
            if self.sequence(sequence, where) is None:
                continue
            if sequence not in team:
                out.problem(where, "names no Claim.careTeam.sequence of this claim")
                continue
            members.append(team[sequence])
        if not members:
            members = [team[s] for s in sorted(team)]
        chosen = _lead(members)
        if chosen is not None and chosen["performed_by"] is not None:
            out.put(f"{pointer}/performed_by", chosen["performed_by"], chosen["qualification"])

    def provider(self, team: dict[int, dict]) -> None:
        """provider.npi from Claim.provider; provider.discipline from the care team member
        who is the provider (the same reference or NPI), else the one marked responsible,
        else the claim's lead as for a line."""
        out = self.out
        npi_system = self.systems["npi"]
        reference = self.object(self.claim.get("provider"), "Claim.provider")
        out.hint("/provider", "Claim.provider")
        out.hint("/provider/npi", f"Claim.provider.identifier (system {npi_system})")
        out.hint("/provider/discipline", "Claim.careTeam.qualification")
        out.put("/provider", {}, "Claim.provider")
        npi = None
        if reference is not None:
            ident = self.object(reference.get("identifier"), "Claim.provider.identifier")
            if ident is not None and ident.get("system") == npi_system and isinstance(ident.get("value"), str):
                npi = (ident["value"], "Claim.provider.identifier.value")
            resource = self.resolve(reference)
            if npi is None and resource is not None:
                base = "Claim.provider.resolve()"
                for k, ident in enumerate(self.array(resource.get("identifier"), f"{base}.identifier")):
                    if isinstance(ident, dict) and ident.get("system") == npi_system and isinstance(ident.get("value"), str):
                        npi = (ident["value"], f"{base}.identifier[{k}].value")
                        break
        if npi is not None:
            out.put("/provider/npi", npi[0], npi[1])
        members = [team[s] for s in sorted(team)]
        same = [m for m in members if reference is not None and _same_reference(m["provider"], reference, npi_system)]
        responsible = [m for m in members if m["responsible"]]
        chosen = same[0] if same else responsible[0] if responsible else _lead(members)
        if chosen is not None and chosen["discipline"] is not None:
            out.put("/provider/discipline", chosen["discipline"], chosen["qualification"])

    def info_value(self, entry: dict, category: dict, target: str) -> None:
        """One supportingInfo entry's value into `target`, checked for its kind."""
        out, value_kind = self.out, category["value"]
        item, location = entry["entry"], entry["location"]
        if value_kind in ("minutes", "count", "money"):
            quantity = self.object(item.get("valueQuantity"), f"{location}.valueQuantity")
            if quantity is None or "value" not in quantity:
                out.problem(f"{location}.valueQuantity", f"a '{entry['code']}' entry carries its number in "
                            f"valueQuantity.value")
                return
            unit = quantity.get("code", quantity.get("unit"))
            if value_kind == "minutes" and unit not in ("min", "minutes", None):
                out.problem(f"{location}.valueQuantity.code", "expected minutes (UCUM code 'min')")
                return
            if value_kind == "money":
                if unit not in ("USD", None):
                    out.problem(f"{location}.valueQuantity.code", "expected US dollars (code 'USD')")
                    return
                out.put(target, _money(quantity["value"]), f"{location}.valueQuantity.value")
                return
            value = quantity["value"]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out.put(target, value, f"{location}.valueQuantity.value")
        elif value_kind in _TEXT_ELEMENTS:
            element, what = _TEXT_ELEMENTS[value_kind]
            value = self.text(item.get(element), f"{location}.{element}")
            if value is None:
                out.problem(f"{location}.{element}", f"a '{entry['code']}' entry carries its {what} in {element}")
                return
            out.put(target, value, f"{location}.{element}")
        elif value_kind == "period":
            period = self.object(item.get("timingPeriod"), f"{location}.timingPeriod")
            if period is None:
                out.problem(f"{location}.timingPeriod", f"a '{entry['code']}' entry carries its dates in timingPeriod")
                return
            for key, pointer in (("start", target), ("end", category["target_end"])):
                value = self.text(period.get(key), f"{location}.timingPeriod.{key}")
                if value is not None:
                    out.put(pointer, value, f"{location}.timingPeriod.{key}")
        elif value_kind == "intervention":
            self.intervention(entry, target)

    def intervention(self, entry: dict, target: str) -> None:
        out, item, location = self.out, entry["entry"], entry["location"]
        codes = self.codes(item.get("code"), self.systems["procedure"], f"{location}.code")
        if not codes:
            out.problem(f"{location}.code", "an 'intervention' entry names its procedure in code (CPT or HCPCS)")
            return
        out.put(target, {}, location)
        pointer = f"/documentation/interventions/{len(out.data['documentation']['interventions']) - 1}"
        out.put(f"{pointer}/code", codes[0][0], codes[0][1])
        technique = self.text(item.get("valueString"), f"{location}.valueString")
        if technique is not None:
            out.put(f"{pointer}/technique", technique, f"{location}.valueString")
        for k, extension in enumerate(self.array(item.get("extension"), f"{location}.extension")):
            if not isinstance(extension, dict):
                continue
            where = f"{location}.extension[{k}]"
            if extension.get("url") == self.systems["intervention_minutes"]:
                quantity = extension.get("valueQuantity")
                if isinstance(quantity, dict):
                    value, where = quantity.get("value"), f"{where}.valueQuantity.value"
                else:
                    value, where = extension.get("valueInteger"), f"{where}.valueInteger"
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                if value is not None:
                    out.put(f"{pointer}/minutes", value, where)
            elif extension.get("url") == self.systems["intervention_body_region"]:
                region = self.text(extension.get("valueString"), f"{where}.valueString")
                if region is not None:
                    out.put(f"{pointer}/body_region", region, f"{where}.valueString")

    def claim_level_info(self, info: dict[int, dict]) -> None:
        out = self.out
        for sequence, entry in sorted(info.items()):
            category = self.categories[entry["code"]]
            if category["scope"] != "claim":
                continue
            if category["value"] != "intervention" and _get(out.data, category["target"]) is not None:
                out.problem(f"{entry['location']}.category", f"a second '{entry['code']}' entry; a claim has one")
                continue
            self.info_value(entry, category, category["target"])
        out.hint("/documentation", "Claim.supportingInfo (payerlint documentation categories)")
        out.hint("/episode", "Claim.supportingInfo (payerlint episode categories)")
        for code, category in self.categories.items():
            if category["scope"] == "claim":
                out.hint(category["target"].removesuffix("/-"), f"Claim.supportingInfo.where(category='{code}')")
                if "target_end" in category:
                    out.hint(category["target_end"], f"Claim.supportingInfo.where(category='{code}').timingPeriod.end")

    def prior_authorization(self) -> None:
        out = self.out
        out.hint("/episode/prior_authorization/number", "Claim.insurance.preAuthRef")
        coverages = self.array(self.claim.get("insurance"), "Claim.insurance")
        chosen = None
        for k, insurance in enumerate(coverages):
            insurance = self.object(insurance, f"Claim.insurance[{k}]")
            if insurance is not None and (chosen is None or insurance.get("focal") is True):
                if chosen is None or chosen[1].get("focal") is not True:
                    chosen = (k, insurance)
        if chosen is None:
            return
        k, insurance = chosen
        refs = self.array(insurance.get("preAuthRef"), f"Claim.insurance[{k}].preAuthRef")
        if refs:
            number = self.text(refs[0], f"Claim.insurance[{k}].preAuthRef[0]")
            if number is not None:
                out.put("/episode/prior_authorization/number", number, f"Claim.insurance[{k}].preAuthRef[0]")


def _lead(members: list[dict]) -> dict | None:
    if not members:
        return None
    primary = [m for m in members if m["role"] == "primary"]
    return (primary or members)[0]


def _same_reference(member_ref: dict, provider_ref: dict, npi_system: str) -> bool:
    if isinstance(member_ref.get("reference"), str) and member_ref.get("reference") == provider_ref.get("reference"):
        return True
    a, b = member_ref.get("identifier"), provider_ref.get("identifier")
    return (isinstance(a, dict) and isinstance(b, dict) and a.get("system") == b.get("system") == npi_system
            and a.get("value") is not None and a.get("value") == b.get("value"))


def _money(value: Any) -> Any:
    """A FHIR Money value (a JSON number) as payerlint's two-decimal string; a value that is
    not a number, or has cents finer than a cent, is carried as it is for the schema to refuse."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return value
    if amount != amount.quantize(Decimal("0.01")):
        return str(amount)
    return str(amount.quantize(Decimal("0.01")))


def _get(data: dict, pointer: str) -> Any:
    node: Any = data
    for key in pointer.split("/")[1:]:
        if key == "-":
            return None
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
        if node is None:
            return None
    return node
