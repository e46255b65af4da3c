"""Where payerlint finds its grammar and its rulebook tree.

The bundled tree is the copy inside the installed package (`payerlint/_bundled/`, put
there by the wheel build), or, when running from a source checkout, the top of the
checkout. A compliance team's own tree, named by `--home DIR` (or `home=` in the API) or
else by the `PAYERLINT_HOME` environment variable, lies over it: the team's files first,
the bundled ones underneath (see `Home`).

The grammar always comes from the package (a team's tree holds rules, not the language).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_root() -> Path:
    """The directory holding the bundled `grammar/`, `rulebooks/` and `payers/`."""
    installed = _PACKAGE_DIR / "_bundled"
    if (installed / "grammar").is_dir():
        return installed
    # A source checkout (or an editable install): src/payerlint -> the repository top.
    checkout = _PACKAGE_DIR.parent.parent
    if (checkout / "grammar").is_dir():
        return checkout
    raise FileNotFoundError(
        "payerlint's bundled data is missing: expected payerlint/_bundled/grammar in the "
        "installed package or grammar/ at the top of a source checkout"
    )


def cache_dir() -> Path | None:
    """Where payerlint keeps derived data it can rebuild (the ICD-10-CM code set, the
    parser tables): $PAYERLINT_CACHE_DIR, else $XDG_CACHE_HOME/payerlint, else
    ~/.cache/payerlint. None when no such place can be named (no home directory)."""
    if os.environ.get("PAYERLINT_CACHE_DIR"):
        return Path(os.environ["PAYERLINT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return Path(base) / "payerlint" if base else Path.home() / ".cache" / "payerlint"
    except RuntimeError:  # no home directory (a bare container user)
        return None


def writable_cache_dir() -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def grammar_path() -> Path:
    return bundled_root() / "grammar" / "payerlint.lark"


TEAM_ORIGINS = ("--home", "PAYERLINT_HOME")


@dataclass(frozen=True, slots=True)
class Home:
    """A rulebook tree (`rulebooks/<family>/<YYYY>Q<n>.rules`, `payers/<id>.toml`), with the
    trees it lies over.

    A compliance team's tree (`--home`, `PAYERLINT_HOME`) is an overlay: its files come
    first and the bundled tree is underneath. A rulebook `family@quarter`, a payer id and
    a payer type's base are looked up in the team tree, then in the bundled one, so a
    team rulebook may extend a bundled `family@quarter` and a team payer use the bundled
    `_types.toml` without copying them. A team file with the same name as a bundled one
    replaces it for everything that reads it (a team's `therapy-common/2026Q3.rules`
    is the base of the bundled payers that extend it, too). New files (`payers new`,
    `quarter new`) are written to the top tree.
    """

    root: Path
    origin: str
    """How it was chosen: '--home', 'PAYERLINT_HOME' or 'bundled'."""
    underneath: tuple[Path, ...] = ()
    """Trees searched after `root`, in order (the bundled tree under a team's)."""

    @property
    def rulebooks(self) -> Path:
        """Where new rulebooks are written: the top tree's."""
        return self.root / "rulebooks"

    @property
    def payers(self) -> Path:
        return self.root / "payers"

    def layers(self) -> tuple[tuple[Path, str], ...]:
        """(tree, 'team' or 'bundled'), top first."""
        top = "team" if self.origin in TEAM_ORIGINS else "bundled"
        return ((self.root, top),) + tuple((tree, "bundled") for tree in self.underneath)

    def rulebook_path(self, family: str, quarter: str) -> Path:
        """The rulebook of the first tree that has it (the top tree's path if none does)."""
        for tree, _ in self.layers():
            path = tree / "rulebooks" / family / f"{quarter}.rules"
            if path.is_file():
                return path
        return self.rulebooks / family / f"{quarter}.rules"

    def quarters_of(self, family: str) -> list[tuple[Any, Path]]:
        """(Quarter, path) for every quarter of a family in any tree, the top tree's file
        where two trees have the same quarter; in order."""
        from payerlint.quarter import quarters_in

        found: dict[Any, Path] = {}
        for tree, _ in self.layers():
            folder = tree / "rulebooks" / family
            for quarter in quarters_in(folder):
                found.setdefault(quarter, folder / f"{quarter}.rules")
        return sorted(found.items())

    def families(self) -> list[str]:
        names = set()
        for tree, _ in self.layers():
            if (tree / "rulebooks").is_dir():
                names |= {p.name for p in (tree / "rulebooks").iterdir() if p.is_dir()}
        return sorted(names)

    def payer_folders(self) -> list[Path]:
        return [tree / "payers" for tree, _ in self.layers() if (tree / "payers").is_dir()]

    def payer_files(self) -> list[Path]:
        """Each payer's file, the top tree's where two trees have the same id; by id."""
        found: dict[str, Path] = {}
        for folder in self.payer_folders():
            for path in sorted(folder.glob("*.toml")):
                if not path.name.startswith("_"):  # registry settings, such as _types.toml
                    found.setdefault(path.stem, path)
        return [found[key] for key in sorted(found)]

    def types_files(self) -> list[Path]:
        """`payers/_types.toml` of each tree that has one, bottom first (later ones win)."""
        return [folder / "_types.toml" for folder in reversed(self.payer_folders())
                if (folder / "_types.toml").is_file()]

    def where(self, path: str | os.PathLike[str]) -> str:
        """'team' or 'bundled' for a file inside one of the trees; 'file' otherwise."""
        resolved = Path(path).resolve()
        for tree, label in self.layers():
            try:
                resolved.relative_to(tree.resolve())
            except ValueError:
                continue
            return label
        return "file"

    def holds(self, tree: Path) -> bool:
        """Whether `tree` is one of this home's trees."""
        resolved = tree.resolve()
        return any(resolved == layer.resolve() for layer, _ in self.layers())

    def above(self, tree: Path) -> "Home":
        """This home with `tree` searched first (the tree a file being checked sits in)."""
        if self.holds(tree):
            return self
        return Home(tree, self.origin, tuple(layer for layer, _ in self.layers()))


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Home:
    bundled = bundled_root()
    for chosen, origin in ((explicit, "--home"), (os.environ.get("PAYERLINT_HOME"), "PAYERLINT_HOME")):
        if chosen:
            tree = Path(chosen)
            if tree.resolve() == bundled.resolve():
                return Home(bundled, "bundled")
            return Home(tree, origin, (bundled,))
    return Home(bundled, "bundled")


def payer_folders(home: Home) -> list[Path]:
    return home.payer_folders()


def family_quarters(home: Home, family: str, prefer: Path | None = None) -> list[tuple[Any, Path]]:
    """(Quarter, path) of a family, the tree `prefer` first when it is a rulebook tree."""
    if prefer is not None and (prefer / "rulebooks").is_dir():
        home = home.above(prefer)
    return home.quarters_of(family)


def types_of(home: Home, prefer: Path | None = None, table: str = "base") -> dict[str, Any]:
    """Payer type -> its setting in `table` of every tree's `_types.toml` (top tree wins):
    `base`, the family a type's rulebooks build on; `adopts_inherited_rules`, whether they
    must adopt or disable each rule they inherit."""
    import tomllib

    if prefer is not None and (prefer / "payers").is_dir():
        home = home.above(prefer)
    merged: dict[str, Any] = {}
    for path in home.types_files():
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")).get(table, {}))
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return merged
