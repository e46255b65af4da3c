"""ICD-10-CM billable-code table: statuses, hints, release, and the on-disk cache."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from datetime import date
from pathlib import Path

import pytest

from payerlint import icd10
from payerlint.icd10 import Icd10Release, load_codes

needs_package = pytest.mark.skipif(
    importlib.util.find_spec("simple_icd_10_cm") is None,
    reason="simple-icd-10-cm is not installed (a runtime dependency: pip install simple-icd-10-cm)",
)


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory) -> Path:
    """A cache directory filled by one real (slow, ~3 s) derivation, shared by the module."""
    directory = tmp_path_factory.mktemp("icd10-cache")
    load_codes(directory)
    return directory


@pytest.fixture(scope="module")
def codes(cold_cache):
    return load_codes(cold_cache)


@pytest.fixture(scope="module")
def cache_text(cold_cache) -> str:
    (path,) = cold_cache.glob("icd10cm-*.txt")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def counted_derive(monkeypatch, cache_text):
    """Replace the slow derivation by the known-good text, counting calls, so the cache
    tests can rebuild many times without re-importing the package."""
    calls: list[str] = []

    def derive(version: str) -> str:
        calls.append(version)
        return cache_text

    monkeypatch.setattr(icd10, "_derive_text", derive)
    return calls


def test_fiscal_year_bounds():
    release = Icd10Release.for_fiscal_year("April 2026", 2026, "simple-icd-10-cm 1.5.0")
    assert release.name == "ICD-10-CM April 2026 (FY2026)"
    assert (release.valid_from, release.valid_to) == (date(2025, 10, 1), date(2026, 9, 30))


@needs_package
def test_release_comes_from_the_package(codes):
    from importlib.metadata import version

    release = codes.release
    assert release.package == f"simple-icd-10-cm {version('simple-icd-10-cm')}"
    if version("simple-icd-10-cm") == "1.5.0":
        assert release.name == "ICD-10-CM April 2026 (FY2026)"
        assert release.fiscal_year == 2026
    assert release.valid_from == date(release.fiscal_year - 1, 10, 1)
    assert release.valid_to == date(release.fiscal_year, 9, 30)


@needs_package
@pytest.mark.parametrize(
    "code, expected",
    [
        ("S93.402D", "billable"),  # generated from S93.402 + 7th character
        ("S93.402", "header"),  # 7th character missing
        ("S39.012A", "billable"),
        ("S33.5XXA", "billable"),  # X placeholders before the 7th character
        ("S33.5", "header"),
        ("S83.241A", "billable"),
        ("M54.5", "header"),  # valid for is_valid_item, but has children
        ("M54.50", "billable"),
        ("M79.1", "header"),
        ("M79.18", "billable"),
        ("M79.7", "billable"),  # no children in the April 2026 tabular list
        ("M25.661", "billable"),
        ("M75.41", "billable"),
        ("M99.01", "billable"),
        ("Z47.1", "billable"),
        ("B99", "header"),  # also the name of a block, which must not hide the category
        ("ZZZ.99", "unknown"),
        ("M40-M54", "unknown"),  # a block, not a code
        ("13", "unknown"),  # a chapter
        ("M5450", "unknown"),  # claims use the dotted form only
        ("", "unknown"),
    ],
)
def test_status(codes, code, expected):
    assert codes.status(code) == expected
    assert codes.is_billable(code) == (expected == "billable")


@needs_package
@pytest.mark.parametrize(
    "code, hint",
    [
        ("M54.5", "M54.5 is a category with more specific codes, e.g. M54.50, M54.51, M54.59"),
        ("M79.1", "M79.1 is a category with more specific codes, e.g. M79.10, M79.11, M79.12"),
        ("M54", "M54 is a category with more specific codes, e.g. M54.00, M54.10, M54.2"),
        ("S93.402", "S93.402 needs a 7th character: A initial, D subsequent, S sequela"),
        (
            "S33.5",
            "S33.5 needs a 7th character after X placeholders, e.g. S33.5XXA: "
            "A initial, D subsequent, S sequela",
        ),
        (
            "S72.001",
            "S72.001 needs a 7th character: A/B/C initial, "
            "D/E/F/G/H/J/K/M/N/P/Q/R subsequent, S sequela",
        ),
        # Non-encounter 7th characters (here the fetus) are listed, not described.
        ("O32.1", "O32.1 needs a 7th character after X placeholders, e.g. O32.1XX0: 0, 1, 2, 3, 4, 5, 9"),
        ("M54.50", None),
        ("S93.402D", None),
        ("ZZZ.99", None),
    ],
)
def test_explain(codes, code, hint):
    assert codes.explain(code) == hint


@needs_package
def test_every_header_hint_names_billable_codes(codes):
    for code in ("M79.6", "T36.0", "R40.2", "S93.40", "M80"):
        hint = codes.explain(code)
        assert hint is not None and code in hint
        if "e.g." in hint and "7th" not in hint:
            examples = hint.split("e.g. ")[1].split(", ")
            assert 1 <= len(examples) <= 3
            assert all(codes.is_billable(e) and e.startswith(code) for e in examples)


@needs_package
def test_warm_load_does_not_import_the_package(cold_cache, codes, monkeypatch):
    # None in sys.modules makes `import simple_icd_10_cm` raise ImportError.
    monkeypatch.setitem(sys.modules, "simple_icd_10_cm", None)
    warm = load_codes(cold_cache)
    assert warm.status("S93.402D") == "billable"
    assert warm.status("M54.5") == "header"
    assert warm.explain("S93.402") == "S93.402 needs a 7th character: A initial, D subsequent, S sequela"
    assert warm.release == codes.release


def _copy_cache(src: Path, dst: Path) -> Path:
    (path,) = src.glob("icd10cm-*.txt")
    target = dst / path.name
    target.write_bytes(path.read_bytes())
    return target


@needs_package
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b.replace(b"\nL M54.50\n", b"\nL M54.59\n", 1), id="edited-line"),
        pytest.param(lambda b: b.replace(b"simple-icd-10-cm ", b"simple-icd-10-cm 0.", 1), id="other-version"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"\xff\xfe garbage", id="not-utf8"),
    ],
)
def test_damaged_cache_is_rebuilt(cold_cache, tmp_path, counted_derive, cache_text, damage):
    path = _copy_cache(cold_cache, tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    codes = load_codes(tmp_path)
    assert len(counted_derive) == 1
    assert codes.status("M54.50") == "billable"
    assert path.read_text(encoding="utf-8") == cache_text
    # No temp file left behind: the text, and the tables made from it (see below).
    assert sorted(tmp_path.iterdir()) == [path.with_suffix(".tables"), path]


@needs_package
def test_the_tables_beside_the_text_are_read_instead_of_parsing_it(cold_cache, tmp_path, counted_derive, codes,
                                                                    monkeypatch):
    path = _copy_cache(cold_cache, tmp_path)
    load_codes(tmp_path)  # parses the text once and writes the tables
    assert path.with_suffix(".tables").is_file()
    parsed = []
    monkeypatch.setattr(icd10, "_parse", lambda *a: parsed.append(a) or None)
    warm = load_codes(tmp_path)
    assert parsed == [] and counted_derive == []
    assert warm.release == codes.release
    assert warm.status("S93.402D") == "billable" and warm.status("M54.5") == "header"
    assert warm.explain("S93.402") == codes.explain("S93.402")


@needs_package
@pytest.mark.parametrize("change", ["tables damaged", "tables truncated", "text edited"])
def test_tables_that_do_not_match_the_text_are_made_again(cold_cache, tmp_path, counted_derive, change):
    path = _copy_cache(cold_cache, tmp_path)
    load_codes(tmp_path)
    tables = path.with_suffix(".tables")
    blob = tables.read_bytes()
    if change == "tables damaged":
        tables.write_bytes(blob[:100] + bytes([blob[100] ^ 1]) + blob[101:])
    elif change == "tables truncated":
        tables.write_bytes(blob[: len(blob) // 2])
    else:  # a valid text file of another content: the tables name the old one's digest
        text = path.read_text(encoding="utf-8")
        body = text.rstrip("\n").rpartition("\nend ")[0].replace("\nL M54.50\n", "\n")
        path.write_text(body + "\nend " + hashlib.sha256((body + "\n").encode()).hexdigest() + "\n", encoding="utf-8")
    codes = load_codes(tmp_path)
    assert counted_derive == []  # the text was good: parsed, not derived again
    assert codes.status("M54.50") == ("unknown" if change == "text edited" else "billable")
    assert tables.read_bytes() != blob or change != "text edited"
    assert load_codes(tmp_path).status("M54.50") == codes.status("M54.50")  # from the new tables


@needs_package
def test_valid_cache_is_trusted(cold_cache, tmp_path, counted_derive):
    _copy_cache(cold_cache, tmp_path)
    load_codes(tmp_path)
    assert counted_derive == []


@needs_package
def test_unwritable_cache_dir_falls_back_to_memory(tmp_path, counted_derive):
    # A directory below a regular file can never be created, even by root.
    blocker = tmp_path / "file"
    blocker.write_text("")
    codes = load_codes(blocker / "cache")
    assert codes.status("S93.402D") == "billable"
    codes = load_codes(blocker / "cache")
    assert len(counted_derive) == 2  # nothing could be cached


@needs_package
def test_cache_dir_from_environment(tmp_path, monkeypatch, counted_derive):
    monkeypatch.setenv("PAYERLINT_CACHE_DIR", str(tmp_path / "env-cache"))
    load_codes()
    assert len(list((tmp_path / "env-cache").glob("icd10cm-*.txt"))) == 1
    load_codes()
    assert len(counted_derive) == 1


@needs_package
def test_xdg_cache_home(tmp_path, monkeypatch, counted_derive):
    monkeypatch.delenv("PAYERLINT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load_codes()
    assert len(list((tmp_path / "payerlint").glob("icd10cm-*.txt"))) == 1
