"""Synthetic claims for the Medicare rulebook tests, built from tests/data/clean_claim.json.

`claim(line(...), line(...))` gives a claim whose documentation matches its lines (one
intervention per line with a specific technique, total timed minutes equal to the lines'
timed minutes), so a case changes only what it is about. Every claim here is synthetic.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from payerlint.compile.pipeline import compile_path
from payerlint.compile.loader import Loader
from payerlint.home import Home

ROOT = Path(__file__).resolve().parents[2]
RULEBOOK = ROOT / "rulebooks" / "medicare" / "2026Q2.rules"
TABLES = RULEBOOK.parent / "tables"
_CLEAN = json.loads((ROOT / "tests" / "data" / "clean_claim.json").read_text(encoding="utf-8"))
_loader = Loader(Home(ROOT, "tests"))

# CMS timed (constant-attendance) codes, brief sec. 1.2; used only to total the note's minutes.
TIMED = {"97032", "97033", "97034", "97035", "97036", "97110", "97112", "97113", "97116", "97124",
         "97140", "97530", "97533", "97535", "97537", "97542", "97750", "97755", "97760", "97761",
         "97763"}

# A documented technique for each code that names no other code's technique (technique_codes.csv).
TECHNIQUE = {
    "97140": "grade III anterior-posterior talocrural joint mobilization",
    "97110": "heel raises and calf stretch, 3 sets of 15",
    "97112": "single-leg balance on foam with perturbations",
    "97116": "gait training on stairs with a rail",
    "97530": "step-ups and lifting practice",
    "97035": "ultrasound 1 MHz, 1.0 W/cm2 to the lateral ankle",
    "97124": "effleurage to the calf",
}


def clean() -> dict:
    return copy.deepcopy(_CLEAN)


def line(code: str, units: int = 1, minutes: int | None = None, mods=("GP",), **fields) -> dict:
    """A claim line furnished by the PT alone, pointing at diagnosis 1."""
    # Every real line carries a charge (the KX threshold rules add them up): $48.00 a unit.
    out = {"code": code, "modifiers": list(mods), "units": units, "diagnosis_pointers": [1],
           "performed_by": "PT", "assistant_minutes": 0, "charge": f"{48 * max(units, 1)}.00"}
    if minutes is not None:
        out["minutes"] = minutes
    if code == "97140":
        out["body_region"] = "left ankle"
    out.update(fields)
    return out


def claim(*lines: dict, discipline: str | None = None, diagnoses: list[str] | None = None) -> dict:
    """The clean claim with these lines and documentation that agrees with them."""
    out = clean()
    if lines:
        out["lines"] = [copy.deepcopy(item) for item in lines]
    doc = out["documentation"]
    doc["interventions"] = [
        {"code": item["code"], "technique": TECHNIQUE.get(item["code"], "performed as planned"),
         "minutes": item.get("minutes", 0)}
        for item in out["lines"]
    ]
    timed = sum(item.get("minutes", 0) for item in out["lines"] if item["code"] in TIMED)
    doc["total_timed_minutes"] = timed
    doc["total_treatment_minutes"] = sum(item.get("minutes", 0) for item in out["lines"]) + 5
    if discipline is not None:
        out["provider"]["discipline"] = discipline
    if diagnoses is not None:
        out["diagnoses"] = list(diagnoses)
    return out


def chiro(*lines: dict, diagnoses=("M99.03",)) -> dict:
    """A chiropractor's claim: spinal manipulation with AT, a subluxation as primary diagnosis."""
    out = claim(*(lines or (line("98941", mods=("AT",)),)), discipline="DC", diagnoses=list(diagnoses))
    return out


def delete(data: dict, pointer: str) -> dict:
    """Remove the member at a JSON pointer (in place) and return the claim."""
    *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]
    return data


def fired(result) -> set[str]:
    return {f.rule for f in result.findings}


def findings(result, rule: str) -> list:
    return [f for f in result.findings if f.rule == rule]


def skipped(result) -> dict[str, set[str]]:
    """rule -> JSON pointers it could not read."""
    out: dict[str, set[str]] = {}
    for n in result.not_evaluated:
        out.setdefault(n.rule, set()).add(n.missing)
    return out


def overlay(folder: Path, body: str, name: str = "overlay.rules", tables: dict[str, str] | None = None):
    """Compile a rulebook that extends the Medicare rulebook, with `body` after its header;
    `tables` maps file names to CSV text written beside it."""
    for file_name, text in (tables or {}).items():
        (folder / file_name).write_text(text, encoding="utf-8")
    path = folder / name
    path.write_text(
        f'rulebook medicare-test "Medicare test overlay"\n  quarter 2026Q2\n  extends "{RULEBOOK}"\n\n{body}\n',
        encoding="utf-8")
    return compile_path(str(path), _loader)


def load(path: Path):
    """Compile a rulebook file (not cached between edits: each path is new)."""
    return compile_path(str(path), _loader)


# Synthetic MUE and NCCI tables in place of the bundled ones, for rules that need rows
# the public record does not give (the tables' CSV text is each test's own).
SYNTHETIC_TABLES = '''
override table mue "MUE values for tests (synthetic)" from "mue.csv"
  key code: code
  columns mue: integer, mai: integer, mai_text: text optional

override table ncci_ptp "NCCI pairs for tests (synthetic)" from "ptp.csv"
  key column_1: code, column_2: code
  columns effective: date optional, deleted: date optional, modifier_indicator: integer,
          order_confirmed: boolean optional, source: text, grade: text
'''
