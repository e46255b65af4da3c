"""ICD-10-CM diagnosis codes: which ones a claim may carry.

A claim may only carry a *billable* code, i.e. a leaf of the ICD-10-CM tabular list.
Category headers (M54.5, M79.1) and injury codes without their 7th character (S93.402)
exist in the tabular list but are not billable, and payers deny them.

The reference is the `simple-icd-10-cm` package, which ships a CMS release offline. Its
`is_valid_item` also accepts headers, so we cannot use it as a billability test; and its
import parses a ~10 MB XML file (seconds, ~180 MB of memory), so it must stay off the
per-claim path. `load_codes` therefore derives a compact table once, caches it on disk
as a small text file keyed by the package version (with the same tables marshalled beside
it, read in milliseconds at the start of every check), and afterwards answers from
frozensets without importing the package.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import marshal
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

log = logging.getLogger(__name__)

PACKAGE = "simple-icd-10-cm"
_MODULE = "simple_icd_10_cm"
_CACHE_ENV = "PAYERLINT_CACHE_DIR"
# Bump when the cache layout or the derivation changes, so old files are rebuilt.
_FORMAT = "payerlint-icd10cm-cache 1"

# The encounter extensions of the official guidelines (I.C.19.a). Other 7th characters
# (fetus number, laterality, coma scale) mean something different in each category and
# are only listed, never named, so hints stay short and never quote ICD descriptions.
_ENCOUNTER_WORDS = frozenset({"initial", "subsequent", "sequela"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")


@dataclass(frozen=True, slots=True)
class Icd10Release:
    """The ICD-10-CM release the code table was derived from."""

    name: str
    """e.g. "ICD-10-CM April 2026 (FY2026)"."""
    fiscal_year: int
    valid_from: date
    valid_to: date
    package: str
    """The package and version that supplied the data, e.g. "simple-icd-10-cm 1.5.0"."""

    @classmethod
    def for_fiscal_year(cls, label: str, fiscal_year: int, package: str) -> Icd10Release:
        # The US federal fiscal year FYn runs from 1 October of n-1 to 30 September of n;
        # CMS names ICD-10-CM code sets after it (the April update stays in the same FY).
        return cls(
            name=f"ICD-10-CM {label} (FY{fiscal_year})" if label else f"ICD-10-CM FY{fiscal_year}",
            fiscal_year=fiscal_year,
            valid_from=date(fiscal_year - 1, 10, 1),
            valid_to=date(fiscal_year, 9, 30),
            package=package,
        )


def _pad(code: str) -> str:
    """The 6-character stem a 7th character is appended to: S33.5 -> S33.5XX."""
    return (code if len(code) > 3 else code + ".").ljust(7, "X")


@dataclass(frozen=True, slots=True, eq=False)
class Icd10Codes:
    """Immutable lookup tables, safe to share between threads once built."""

    release: Icd10Release
    _billable: frozenset[str] = field(repr=False)
    _headers: frozenset[str] = field(repr=False)
    # Headers whose children are 7th-character extensions -> the allowed characters.
    _seventh: Mapping[str, str] = field(repr=False)
    # 7th character -> "initial" / "subsequent" / "sequela" (encounter extensions only).
    _legend: Mapping[str, str] = field(repr=False)
    # The billable codes in order, so hints can find a header's leaves by prefix.
    _sorted: tuple[str, ...] = field(repr=False)

    def status(self, code: str) -> str:
        """"billable" (a leaf), "header" (in the tabular list, has children), or "unknown"."""
        if code in self._billable:
            return "billable"
        if code in self._headers:
            return "header"
        return "unknown"

    def is_billable(self, code: str) -> bool:
        return code in self._billable

    def has_codes_under(self, prefix: str) -> bool:
        """Whether any billable code starts with `prefix` (`S93.4` for a set's `S93.4*`)."""
        i = bisect.bisect_left(self._sorted, prefix)
        return i < len(self._sorted) and self._sorted[i].startswith(prefix)

    def explain(self, code: str) -> str | None:
        """A short hint on how to fix a non-billable code; None if billable or unknown."""
        chars = self._seventh.get(code)
        if chars is not None:
            stem = _pad(code)
            where = "" if stem == code else f" after X placeholders, e.g. {stem}{chars[0]}"
            return f"{code} needs a 7th character{where}: {self._describe_seventh(chars)}"
        if code in self._headers:
            return f"{code} is a category with more specific codes, e.g. {', '.join(self._examples(code))}"
        return None

    def _describe_seventh(self, chars: str) -> str:
        # Runs of characters sharing a name are joined ("A/B/C initial") so fracture
        # codes, which allow 16 characters, still fit in one line.
        groups: list[tuple[list[str], str]] = []
        for ch in chars:
            label = self._legend.get(ch, "")
            if label and groups and groups[-1][1] == label:
                groups[-1][0].append(ch)
            else:
                groups.append(([ch], label))
        return ", ".join(f"{'/'.join(cs)} {label}".rstrip() for cs, label in groups)

    def _examples(self, code: str, limit: int = 3) -> list[str]:
        # ICD-10-CM is hierarchical by prefix, so a header's leaves are a contiguous run
        # of the sorted leaves. Take the first leaf under each distinct next character
        # (M54 -> M54.00, M54.10, M54.2 rather than M54.00, M54.01, M54.02); X is a
        # placeholder, not a branch, so it is skipped when telling branches apart.
        prefix = code + "." if len(code) == 3 else code
        picked: dict[str, str] = {}
        first: list[str] = []
        i = bisect.bisect_left(self._sorted, prefix)
        while i < len(self._sorted) and self._sorted[i].startswith(prefix):
            leaf = self._sorted[i]
            if len(first) < limit:
                first.append(leaf)
            branch = leaf[len(prefix):].lstrip("X")[:1]
            picked.setdefault(branch, leaf)
            if len(picked) == limit:
                break
            i += 1
        # Fewer than `limit` branches (a header with two children): top up with the
        # first leaves in order.
        examples = list(picked.values())
        examples += [leaf for leaf in first if leaf not in examples][: limit - len(examples)]
        return sorted(examples)


def load_codes(cache_dir: Path | None = None) -> Icd10Codes:
    """The billable-code table, from the on-disk cache or derived from the package.

    Cache location: `cache_dir`, else $PAYERLINT_CACHE_DIR, else $XDG_CACHE_HOME/payerlint,
    else ~/.cache/payerlint. A missing, stale or corrupt cache is rebuilt; an unwritable
    cache directory only costs speed (the table is derived in memory every time).
    """
    version = _package_version()
    path = _cache_path(cache_dir, version)
    text = None
    if path is not None:
        text = _read_text(path)
        if text is not None:
            codes = _read_tables(_tables_path(path), version, text)
            if codes is not None:
                return codes
            codes = _parse(text, version)
            if codes is not None:
                _write_atomic(_tables_path(path), _tables(codes, version, text))
                return codes
            log.warning("ignoring invalid or stale ICD-10-CM cache %s; rebuilding", path)
    text = _derive_text(version)
    codes = _parse(text, version)
    if codes is None:  # our own output must parse; failing here is a bug, not bad data
        raise RuntimeError("payerlint: derived ICD-10-CM table failed to parse")
    if path is not None and _write_atomic(path, text):
        _write_atomic(_tables_path(path), _tables(codes, version, text))
    return codes


def _package_version() -> str:
    # importlib.metadata reads the dist-info only: the package itself is not imported.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        raise ModuleNotFoundError(
            f"payerlint needs the {PACKAGE} package for ICD-10-CM codes: pip install {PACKAGE}",
            name=_MODULE,
        ) from None


def _cache_path(cache_dir: Path | None, version: str) -> Path | None:
    if cache_dir is None:
        from payerlint.home import cache_dir as default_cache_dir

        cache_dir = default_cache_dir()
        if cache_dir is None:
            return None
    safe = re.sub(r"[^0-9A-Za-z.+-]", "_", version)
    return Path(cache_dir) / f"icd10cm-{safe}.txt"


# ---- cache file -------------------------------------------------------------------
# A sorted UTF-8 text file, one entry a line, so it diffs and greps:
#   payerlint-icd10cm-cache 1
#   package simple-icd-10-cm 1.5.0
#   release 2026 April 2026              fiscal year, then the release label
#   legend A=initial D=subsequent ...
#   L M54.50                             a billable leaf
#   H M54.5                              a header
#   7 S93.402 ADS                        a header whose leaves are S93.402A/D/S
#   end <sha256 of everything above>
# The "7" lines stand for about 51,000 generated leaves, which halves the file. The
# trailing hash catches a truncated or damaged file (e.g. a crash mid-write on a
# filesystem that reorders the rename before the data), so we need no fsync.


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("ignoring unreadable ICD-10-CM cache %s: %s", path, exc)
        return None


# ---- the tables beside it -----------------------------------------------------------
# Reading the text file means building 75,000 codes from 47,000 lines: about 50 ms at the
# start of every `payerlint check`, a seventh of a one-claim run. Beside it sits the same
# tables as marshalled plain data (strings, a tuple, two dicts; marshal builds values, it
# runs nothing), loaded in a few milliseconds. The text file stays the source of truth:
# the tables are used only when they name the SHA-256 of the text file as it is now and
# their own checksum holds; otherwise the text is parsed and the tables written again.
_TABLES_FORMAT = "payerlint-icd10cm-tables 1"


def _tables_path(path: Path) -> Path:
    return path.with_suffix(".tables")


def _tables(codes: Icd10Codes, version: str, text: str) -> bytes:
    payload = marshal.dumps((_TABLES_FORMAT, version, hashlib.sha256(text.encode()).hexdigest(), codes._sorted,
                             tuple(sorted(codes._headers)), dict(codes._seventh), dict(codes._legend)))
    return payload + hashlib.sha256(payload).digest()


def _read_tables(path: Path, version: str, text: str) -> Icd10Codes | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    payload, digest = blob[:-32], blob[-32:]
    if len(blob) <= 32 or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(value, tuple) and len(value) == 7 and value[:2] == (_TABLES_FORMAT, version)
            and value[2] == hashlib.sha256(text.encode()).hexdigest()):
        return None
    billable, headers, seventh, legend = value[3:]
    if not (isinstance(billable, tuple) and isinstance(headers, tuple) and isinstance(seventh, dict)
            and isinstance(legend, dict)):
        return None
    try:  # the release, from the text's third line (the text is the one the tables name)
        _, fiscal_year, label = text.split("\n", 3)[2].split(" ", 2)
        release = Icd10Release.for_fiscal_year(label, int(fiscal_year), f"{PACKAGE} {version}")
    except (ValueError, IndexError):
        return None
    return Icd10Codes(release=release, _billable=frozenset(billable), _headers=frozenset(headers),
                      _seventh=MappingProxyType(seventh), _legend=MappingProxyType(legend), _sorted=billable)


def _parse(text: str, version: str) -> Icd10Codes | None:
    body, sep, trailer = text.rstrip("\n").rpartition("\nend ")
    if not sep or hashlib.sha256((body + "\n").encode()).hexdigest() != trailer:
        return None
    lines = body.split("\n")
    if len(lines) < 5 or lines[0] != _FORMAT or lines[1] != f"package {PACKAGE} {version}":
        return None
    try:
        tag, fy, label = lines[2].split(" ", 2)
        release = Icd10Release.for_fiscal_year(label, int(fy), f"{PACKAGE} {version}")
        if not lines[3].startswith("legend"):
            return None
        legend = dict(item.split("=", 1) for item in lines[3].split()[1:])
        entries = lines[4:]
        if not {line[:1] for line in entries} <= {"L", "H", "7"}:
            return None
        # One pass per kind of line (comprehensions, about twice as fast as one loop that
        # branches on each of the 47,000 lines: this runs at the start of every check).
        billable = [line[2:] for line in entries if line[0] == "L"]
        headers = [line[2:] for line in entries if line[0] == "H"]
        seventh: dict[str, str] = {}
        for code, chars in (line[2:].split(" ") for line in entries if line[0] == "7"):
            seventh[code] = chars
            headers.append(code)
            billable.extend(map(_pad(code).__add__, chars))
    except (ValueError, IndexError):
        return None
    if tag != "release" or not billable:
        return None
    return Icd10Codes(
        release=release,
        _billable=frozenset(billable),
        _headers=frozenset(headers),
        _seventh=MappingProxyType(seventh),
        _legend=MappingProxyType(legend),
        # Two sorted runs (the leaves, then the generated ones; the file is sorted), so
        # this is a linear merge, not a full sort.
        _sorted=tuple(sorted(billable)),
    )


def _write_atomic(path: Path, text: str | bytes) -> bool:
    """Write via a temp file + rename so readers never see half a file. False on failure."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as binary:
                binary.write(text)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the table is public data
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.info("cannot write ICD-10-CM cache %s (%s); using an in-memory table", path, exc)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


# ---- derivation (slow path, once per package version) --------------------------------


def _derive_text(version: str) -> str:
    """Walk the package's tabular list and render the cache file text."""
    # Imported here, not at module level: this import is the multi-second, ~180 MB step
    # that the cache exists to avoid. It loads its data through the deprecated
    # importlib.resources.read_text; that warning is the package's, not the user's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm

    fiscal_year, label = _release_of(cm)
    entries: list[tuple[str, str]] = []
    words: dict[str, set[str]] = {}
    # get_all_codes lists chapters ("13") and blocks ("M40-M54") too, and a block named
    # like its only category (B99) twice; only categories and subcategories are codes.
    for code in dict.fromkeys(cm.get_all_codes(with_dots=True)):
        if not cm.is_category_or_subcategory(code):
            continue
        if cm.is_leaf(code):
            # A generated 7th-character leaf is covered by its parent's "7" line.
            if not cm.is_extended_subcategory(code):
                entries.append((code, "L"))
            continue
        children = cm.get_children(code)
        # The package generates 7th-character codes (S93.402A, S33.5XXA) as "extended
        # subcategory" children of the 6-character stem, so such a stem is a header.
        if all(cm.is_extended_subcategory(c) and c[:-1] == _pad(code) for c in children):
            entries.append((code, "7 " + "".join(c[-1] for c in children)))
            for ch, text in cm.get_seven_chr_def(code, search_in_ancestors=True).items():
                words.setdefault(ch, set()).add(re.match(r"[a-z]*", text.lower()).group())
        else:
            entries.append((code, "H"))
            for c in children:  # extended children of a mixed header stay explicit
                if cm.is_extended_subcategory(c):
                    entries.append((c, "L"))
    # Name a 7th character only when every category agrees on an encounter word.
    legend = {ch: w.pop() for ch, w in sorted(words.items()) if len(w) == 1 and w <= _ENCOUNTER_WORDS}
    lines = [
        _FORMAT,
        f"package {PACKAGE} {version}",
        f"release {fiscal_year} {label}",
        "legend " + " ".join(f"{ch}={w}" for ch, w in legend.items()),
    ]
    for code, kind in sorted(entries):
        lines.append(f"{kind} {code}" if len(kind) == 1 else f"7 {code} {kind[2:]}")
    body = "\n".join(lines) + "\n"
    return body + f"end {hashlib.sha256(body.encode()).hexdigest()}\n"


def _release_of(cm) -> tuple[int, str]:
    """(fiscal year, "April 2026") of the data the package loaded.

    The package states its release only in its data file names
    (data/icd10c-tabular-April-1-2026.xml, data/code-list-April-2026.txt) and README;
    the tabular XML itself carries the CMS fiscal year in <version>2026</version>.
    """
    data_dir = Path(cm.__file__).parent / "data"
    name = getattr(cm, "_classification_data_package_file_name", None)
    if not name:
        found = sorted(data_dir.glob("*tabular*.xml"))
        name = found[0].name if found else ""
    label = ""
    m = re.search(r"(%s)-(?:\d{1,2}-)?(\d{4})" % "|".join(_MONTHS), name)
    fiscal_year = 0
    if m:
        label = f"{m[1]} {m[2]}"
        # An October release opens the next fiscal year; every other month is in this one.
        fiscal_year = int(m[2]) + (m[1] in ("October", "November", "December"))
    try:
        with open(data_dir / name, encoding="utf-8") as f:
            head = f.read(4096)
        v = re.search(r"<version>\s*(\d{4})\s*</version>", head)
        if v:
            fiscal_year = int(v[1])  # CMS's own statement wins over our month arithmetic
    except OSError:
        pass
    if not fiscal_year:
        raise RuntimeError(f"cannot tell which ICD-10-CM release {PACKAGE} ships ({name!r})")
    return fiscal_year, label
