"""CARC families: the data that says when a predicted denial code and a payer's code mean
the same ground (`carc_families.toml`, with its source and the meaning of each kind).

>>> families = Families.load()
>>> families.of("236").name, families.of("97").name          # NCCI pair and bundling
('bundling', 'bundling')
>>> families.of("29").kind, families.of("45").kind
('unpredictable', 'payment')
>>> families.of("999").name
'unclassified'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

KINDS = ("predictable", "unpredictable", "payment")
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str
    """`predictable`, `unpredictable` or `payment` (see carc_families.toml)."""
    label: str
    codes: tuple[str, ...]
    category: str = "coverage"
    """The rule category a draft rule for a miss of this family gets."""

    @property
    def denial(self) -> bool:
        """Whether an adjustment with a code of this family is a denial (not pricing)."""
        return self.kind != "payment"


_UNCLASSIFIED = Family(UNCLASSIFIED, "predictable", "a reason code in no family of carc_families.toml", ())


class FamilyError(ValueError):
    """The families file is not well formed; the message says where and what was expected."""


@dataclass(frozen=True, slots=True)
class Families:
    families: tuple[Family, ...]
    by_code: dict[str, Family]
    source: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> Families:
        if path is None:
            text = resources.files("payerlint.remit").joinpath("carc_families.toml").read_text(encoding="utf-8")
            source = "payerlint/remit/carc_families.toml"
        else:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        return cls.parse(text, source)

    @classmethod
    def parse(cls, text: str, source: str) -> Families:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FamilyError(f"{source}: not TOML: {exc}") from None
        table = data.get("families")
        if not isinstance(table, dict) or not table:
            raise FamilyError(f"{source}: expected [families.NAME] tables with kind, label and codes")
        families: list[Family] = []
        by_code: dict[str, Family] = {}
        for name, entry in table.items():
            where = f"{source}: [families.{name}]"
            if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
                raise FamilyError(f"{where}: kind must be one of {', '.join(KINDS)}")
            codes = entry.get("codes")
            if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
                raise FamilyError(f"{where}: codes must be a list of CARCs as text, like [\"97\", \"B15\"]")
            family = Family(name, entry["kind"], str(entry.get("label", name)), tuple(codes),
                            str(entry.get("category", "coverage")))
            for code in codes:
                if code in by_code:
                    raise FamilyError(f"{where}: CARC {code} is already in family {by_code[code].name}; "
                                      f"a code belongs to one family")
                by_code[code] = family
            families.append(family)
        return cls(tuple(families), by_code, source)

    def of(self, carc: str) -> Family:
        """The family of a CARC; `unclassified` for a code in none."""
        return self.by_code.get(carc, _UNCLASSIFIED)

    def get(self, name: str) -> Family | None:
        if name == UNCLASSIFIED:
            return _UNCLASSIFIED
        return next((f for f in self.families if f.name == name), None)
