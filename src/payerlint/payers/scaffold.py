"""`payerlint payers new`: a payer file and a first rulebook that extends the right base.

Which base is data too: `payers/_types.toml` maps each payer type to the rulebook family
a new payer of that type builds on.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import tomli_w

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home
from payerlint.payers.registry import read_payer
from payerlint.quarter import Quarter, QuarterError



def bases(home: Home) -> dict[str, str]:
    """Payer type -> base rulebook family, from payers/_types.toml (a team tree's entries
    over the bundled ones)."""
    import tomllib

    files = home.types_files()
    if not files:
        raise DiagnosticError([Diagnostic("no_base", f"cannot read {home.payers / '_types.toml'}: no such file",
                                          notes=("it maps each payer type to the family new payers extend",))])
    merged: dict[str, str] = {}
    for path in files:
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")).get("base", {}))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DiagnosticError([Diagnostic("no_base", f"cannot read {path}: {exc}",
                                              notes=("it maps each payer type to the family new payers extend",))]) from None
    return merged

_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

# What the scaffold writes where a source must be named. `payerlint lint` reports each
# one left in place (placeholder_citation), so a scaffolded payer cannot pass for done.
PAYER_SOURCE_PLACEHOLDER = "(name the payer policy or bulletin these rules come from, with its date)"
RULEBOOK_SOURCE_PLACEHOLDER = "(the payer policy or bulletin)"
METHOD_CITE_PLACEHOLDER = "(the payer policy that says so)"
PLACEHOLDERS = (PAYER_SOURCE_PLACEHOLDER, RULEBOOK_SOURCE_PLACEHOLDER, METHOD_CITE_PLACEHOLDER)


def scaffold_payer(home: Home, payer_id: str, payer_type: str, name: str, quarter: str | None,
                   states: list[str], unit_method: str) -> list[Path]:
    if not _ID.fullmatch(payer_id):
        raise DiagnosticError([Diagnostic("bad_payer_id", f"'{payer_id}' is not a payer id",
                                          notes=("ids are lower case words joined by hyphens, like acme-commercial",))])
    for state in states:
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise DiagnosticError([Diagnostic("bad_state", f"'{state}' is not a two-letter state code like AZ")])
    known = bases(home)
    if payer_type not in known:
        raise DiagnosticError([Diagnostic("no_base", f"{home.payers / '_types.toml'} names no base for type {payer_type}",
                                          notes=("types with a base: " + ", ".join(sorted(known)),))])
    base = known[payer_type]
    base_quarters = [quarter for quarter, _ in home.quarters_of(base)]
    if not base_quarters:
        raise DiagnosticError([Diagnostic("no_base", f"the base family {base} has no rulebooks in {home.rulebooks}")])
    if payer_id in home.families() or any(p.stem == payer_id for p in home.payer_files()):
        raise DiagnosticError([Diagnostic(
            "exists", f"a payer or rulebook family '{payer_id}' already exists ({home.where(home.rulebook_path(payer_id, str(base_quarters[-1])))} tree)",
            notes=("to change its rules, write a rulebook that extends it, or choose another id",))])
    # An id that is another payer's alias would make the registry refuse to load (every
    # command in the tree would fail): refused here, naming the payer that has it.
    for path in home.payer_files():
        try:
            other = read_payer(path)
        except DiagnosticError:
            continue
        if payer_id.casefold() in (alias.casefold() for alias in other.aliases):
            raise DiagnosticError([Diagnostic(
                "exists", f"'{payer_id}' is an alias of payer {other.id} ({path}); a payer id may not be another "
                          "payer's alias", notes=("choose another id",))])
    if quarter is None:
        first = base_quarters[-1]
    else:
        try:
            first = Quarter.parse(quarter)
        except QuarterError as exc:
            raise DiagnosticError([Diagnostic("bad_quarter", str(exc))]) from None
        if first not in base_quarters:
            raise DiagnosticError([Diagnostic(
                "no_base", f"{base} has no rulebook for {first}",
                notes=("its quarters: " + ", ".join(map(str, base_quarters)),))])
    payer_path = home.payers / f"{payer_id}.toml"
    rulebook_path = home.rulebooks / payer_id / f"{first}.rules"
    for path in (payer_path, rulebook_path):
        if path.exists():
            raise DiagnosticError([Diagnostic("exists", f"{path} already exists; payerlint will not overwrite it")])
    today = datetime.date.today().isoformat()
    payer = {
        "id": payer_id, "name": name, "type": payer_type, "states": states, "rulebook_family": payer_id,
        "unit_method": unit_method, "aliases": [],
        "sources": [PAYER_SOURCE_PLACEHOLDER],
        "facts_as_of": today,
        "assumptions": [], "notes": f"Scaffolded by payerlint on {today}; rules extend {base}@{first}.",
    }
    payer_path.parent.mkdir(parents=True, exist_ok=True)
    payer_path.write_bytes(tomli_w.dumps(payer).encode("utf-8"))
    from payerlint.syntax.format import quote

    method_line = (f'override param unit_method = "ama_per_code"\n  cite "{METHOD_CITE_PLACEHOLDER}"\n'
                   if unit_method == "ama_per_code" else "")
    rulebook_path.parent.mkdir(parents=True, exist_ok=True)
    rulebook_path.write_text(
        f"# {name}: rules for dates of service in {first} ({first.start} to {first.end}).\n"
        f"# Inherits every rule of {base}@{first}. To apply one as this payer's, `adopt rule <id>`\n"
        f"# with a `cite` of the payer's document (`payerlint lint` lists those applied without);\n"
        f"# to change one, `override rule <id> ...`; to drop one, `disable rule <id> because \"...\"`.\n"
        f"# New rule ids are added as they are. Cite the payer's own document in each rule.\n\n"
        f"rulebook {payer_id} {quote(name)}\n"
        f"  payer {quote(name)}\n"
        f"  quarter {first}\n"
        f"  facts as of {today}\n"
        f"  extends {base}@{first}\n"
        f"  source \"{RULEBOOK_SOURCE_PLACEHOLDER}\"\n"
        # In the layout `payerlint fmt` gives, so a new payer starts formatted.
        + (f"\n{method_line}" if method_line else ""),
        encoding="utf-8",
    )
    return [payer_path, rulebook_path]


