"""Where payerlint finds its grammar and its rulebook tree.

Three places, in this order of precedence:
1. `--home DIR` on the command line (or `home=` in the API): a compliance team's own tree
   with `rulebooks/` and `payers/` in it.
2. The `PAYERLINT_HOME` environment variable, the same kind of tree.
3. The embedded default: the copy bundled inside the installed package
   (`payerlint/_bundled/`, put there by the wheel build), or, when running from a source
   checkout, the top of the checkout.

The grammar always comes from the package (a team's tree holds rules, not the language).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class Home:
    """A rulebook tree: `rulebooks/<family>/<YYYY>Q<n>.rules` and `payers/<id>.toml`."""

    root: Path
    origin: str
    """How it was chosen: '--home', 'PAYERLINT_HOME' or 'bundled'."""

    @property
    def rulebooks(self) -> Path:
        return self.root / "rulebooks"

    @property
    def payers(self) -> Path:
        return self.root / "payers"

    def rulebook_path(self, family: str, quarter: str) -> Path:
        return self.rulebooks / family / f"{quarter}.rules"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Home:
    if explicit:
        return Home(Path(explicit), "--home")
    env = os.environ.get("PAYERLINT_HOME")
    if env:
        return Home(Path(env), "PAYERLINT_HOME")
    return Home(bundled_root(), "bundled")
