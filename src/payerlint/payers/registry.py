"""Payer files: `payers/<id>.toml`, read with tomllib and validated against
`schemas/payer.schema.json`.

>>> registry = Registry.load(resolve_home())                       # doctest: +SKIP
>>> registry.resolve("acme").rulebook_family                        # doctest: +SKIP
'acme'
"""

from __future__ import annotations

import datetime
import json
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast


from payerlint.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from payerlint.home import Home, resolve_home
from payerlint.quarter import Quarter
from payerlint.source import Span


@dataclass(frozen=True, slots=True)
class Payer:
    id: str
    name: str
    type: str
    states: tuple[str, ...]
    rulebook_family: str
    unit_method: str
    aliases: tuple[str, ...]
    sources: tuple[str, ...]
    facts_as_of: str
    assumptions: tuple[str, ...]
    notes: str
    path: str
    match_by_filing_indicator: bool = True
    """An 837P whose payer id is none of this payer's may be routed here by its SBR09
    payer type (x12/crosswalk.py); false for a template that covers no real payer."""


def payer_schema() -> dict[str, Any]:
    return cast("dict[str, Any]", json.loads(resources.files("payerlint.schemas").joinpath("payer.schema.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _payer_screen() -> Any:
    """A fast yes/no on a payer file (jsonschema-rs); jsonschema, imported only for a file
    that fails, says what is wrong with it."""
    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(payer_schema(), validate_formats=True).is_valid


def _plain(value: Any) -> Any:
    """TOML dates become ISO strings so the JSON Schema can check them."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_payer(path: Path) -> Payer:
    """One payer file, or DiagnosticError naming file:line:column (TOML) or the field (schema)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DiagnosticError([Diagnostic("payer_file_unreadable", f"cannot read {path}: "
                                          f"{(exc.strerror or type(exc).__name__).lower()}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DiagnosticError([Diagnostic("payer_file_syntax", "a payer file must be UTF-8 text; this byte is not",
                                          span=Span(str(path), line, column, line, column + 1), quote=False)]) from None
    try:
        data = _plain(tomllib.loads(text))
    except RecursionError:
        raise DiagnosticError([Diagnostic("payer_file_syntax", "not a payer file: its tables or arrays are nested "
                                          "too deeply", span=Span(str(path), 1, 1, 1, 2), quote=False)]) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        raise DiagnosticError([Diagnostic("payer_file_syntax", f"not valid TOML: {str(exc).split(' (at')[0]}",
                                          span=Span(str(path), line, column, line, column + 1))]) from None
    problems = []
    if _payer_screen()(data):
        errors = []
    else:
        from jsonschema import Draft7Validator, FormatChecker

        errors = Draft7Validator(payer_schema(), format_checker=FormatChecker()).iter_errors(data)
    for error in sorted(errors,
                        key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        line = _line_of(text, str(error.absolute_path[0])) if error.absolute_path else 1
        message = error.message
        if error.validator == "additionalProperties":
            unknown = [k for k in data if k not in payer_schema()["properties"]]
            hint = did_you_mean(unknown[0], payer_schema()["properties"]) if unknown else None
            message = f"unknown field {', '.join(unknown)}" + (f"; {hint}" if hint else "")
        problems.append(Diagnostic("payer_file_invalid", f"{where}: {message}", span=Span(str(path), line, 1, line, 2)))
    if not problems and data.get("id") != path.stem:
        problems.append(Diagnostic("payer_file_invalid",
                                   f"the file is named {path.name} but its id is '{data.get('id')}'; they must match",
                                   span=Span(str(path), _line_of(text, "id"), 1, _line_of(text, "id"), 2)))
    if problems:
        raise DiagnosticError(problems)
    return Payer(
        id=data["id"], name=data["name"], type=data["type"], states=tuple(data.get("states", ())),
        rulebook_family=data["rulebook_family"], unit_method=data["unit_method"], aliases=tuple(data["aliases"]),
        sources=tuple(data["sources"]), facts_as_of=data["facts_as_of"],
        assumptions=tuple(data.get("assumptions", ())), notes=data.get("notes", ""), path=str(path),
        match_by_filing_indicator=data.get("match_by_filing_indicator", True),
    )


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return 1


def _collisions(payers: dict[str, Payer]) -> list[Diagnostic]:
    """Every id and alias must name one payer, compared without case: an alias equal to
    another payer's id would silently send that payer's claims to the wrong rulebook."""
    problems: list[Diagnostic] = []
    owner: dict[str, tuple[str, str]] = {payer.id.casefold(): (payer.id, "id") for payer in payers.values()}
    for payer in payers.values():
        for alias in payer.aliases:
            key = alias.casefold()
            other = owner.get(key)
            if other is not None and other[0] != payer.id:
                what = f"the id of payer {other[0]}" if other[1] == "id" else f"also an alias of {other[0]}"
                line = _line_of(Path(payer.path).read_text(encoding="utf-8", errors="replace"), "aliases")
                problems.append(Diagnostic(
                    "duplicate_alias", f"alias '{alias}' of {payer.id} is {what}: claims with that payer_id "
                    f"would go to one of them unannounced", span=Span(payer.path, line, 1, line, 2), quote=False,
                    notes=("an id or alias may name one payer only; remove or change one of them",)))
            elif other is None:
                owner[key] = (payer.id, "alias")
    return problems


class Registry:
    """Every payer of a rulebook tree, by id and by alias."""

    def __init__(self, home: Home, payers: dict[str, Payer]):
        self.home = home
        self.payers = dict(sorted(payers.items()))
        self._by_key: dict[str, Payer] = {}
        for payer in self.payers.values():
            for key in (payer.id, *payer.aliases):
                self._by_key[key.casefold()] = payer

    @classmethod
    def load(cls, home: Home | str | Path | None = None) -> "Registry":
        """The registry of a rulebook tree: a Home, a folder path, or (None) the default."""
        home = home if isinstance(home, Home) else resolve_home(home)
        payers: dict[str, Payer] = {}
        problems: list[Diagnostic] = []
        if not home.payer_folders():
            raise DiagnosticError([Diagnostic("no_registry", f"no payer registry: {home.payers} is not a folder",
                                              notes=("a rulebook tree holds payers/<id>.toml and rulebooks/",))])
        # A team tree's payer file replaces a bundled one of the same id (Home.payer_files).
        for path in home.payer_files():
            try:
                payer = read_payer(path)
            except DiagnosticError as exc:
                problems.extend(exc.diagnostics)
                continue
            payers[payer.id] = payer
        problems.extend(_collisions(payers))
        if problems:
            raise DiagnosticError(problems)
        return cls(home, payers)

    def resolve(self, key: str) -> Payer | None:
        return self._by_key.get(key.casefold()) if isinstance(key, str) else None

    def closest(self, key: str, limit: int = 3) -> list[str]:
        import difflib

        key = key if isinstance(key, str) else ""
        pool = sorted(self.payers)
        # Aliases count too (a short name is often nearest an alias, not the id): each name
        # found gives its payer's id, nearest first, each payer once.
        names = {name.casefold(): payer_id for payer_id, payer in self.payers.items()
                 for name in (payer_id, *payer.aliases)}
        close = difflib.get_close_matches(key.casefold(), sorted(names), n=limit * 4, cutoff=0.4)
        found = list(dict.fromkeys(names[name] for name in close))[:limit]
        return found or pool[:limit]

    def quarters(self, payer: Payer) -> list[Quarter]:
        """The quarters that have a rulebook for this payer, in order (in any tree of the home)."""
        return [quarter for quarter, _ in self.home.quarters_of(payer.rulebook_family)]

    def origin(self, payer: Payer) -> str:
        """'team' or 'bundled': which tree the payer file comes from."""
        return self.home.where(payer.path)


def rulebook_ref(home: Home, ref: str) -> str:
    """A rulebook reference as a user writes it, for the loader: `payer@quarter` may name a
    payer id or alias, which means that payer's rulebook family (`acme@2026Q2` ->
    `acme-family@2026Q2`); a path or a family reference is returned as it is."""
    import os

    if "@" in ref and not os.path.exists(ref) and home.payer_folders():
        name, _, quarter = ref.partition("@")
        payer = Registry.load(home).resolve(name)
        if payer is not None:
            return f"{payer.rulebook_family}@{quarter}"
    return ref
