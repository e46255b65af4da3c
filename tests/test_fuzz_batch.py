"""Invariants under hostile input, generated rather than listed (benchmarks/hostile.py):

- a JSON Lines batch of valid, truncated, wrong-typed, deeply nested and oddly encoded
  records gives exactly one result per record, in order, under every output format with
  and without --explain and --strict; no traceback, no exit code but 0 or 1, and no
  marker planted in a private field in any output or on standard error;
- a rulebook whose tables point anywhere (an absolute path, `..`, a link out of the
  tree, a device, a folder) compiles or reports, and no file outside the tree is opened.

The budget is small here (CI); `benchmarks/hostile.py` runs a longer hunt, and
PAYERLINT_FUZZ_BATCHES / PAYERLINT_FUZZ_SEED widen this one.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from payerlint.compile.pipeline import Loader
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home, cache_dir

sys.path.insert(0, str(ROOT / "benchmarks"))
import hostile  # noqa: E402

BATCHES = int(os.environ.get("PAYERLINT_FUZZ_BATCHES", "3"))
SEED = int(os.environ.get("PAYERLINT_FUZZ_SEED", "2026"))


def test_hostile_batches_keep_every_record_and_leak_nothing():
    report = hostile.hunt(BATCHES, 40, SEED)
    assert report["records_tried"] >= 40 * BATCHES
    assert report["problems"] == []


# ------------------------------------------------------------------ files outside the tree

_opened: list[str] = []
_recording = threading.local()


def _audit(event: str, args) -> None:
    if event == "open" and getattr(_recording, "on", False) and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)

RULEBOOK = """\
rulebook t "tables anywhere" quarter 2026Q2
table codes "codes" from "{path}"
  key code: code
  columns flag: integer optional
rule r.one "one" for each line category units severity warn
  when codes[code].flag = 1
  say "x" cite "t"
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("tree")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("code,flag\n97140,1\n", encoding="utf-8")
    rulebooks = base / "team" / "rulebooks" / "acme"
    (rulebooks / "tables").mkdir(parents=True)
    (rulebooks / "tables" / "codes.csv").write_text("code,flag\n97140,1\n", encoding="utf-8")
    (rulebooks / "tables" / "link.csv").symlink_to(outside / "secret.csv")
    (rulebooks / "tables" / "dirlink").symlink_to(outside, target_is_directory=True)
    if hasattr(os, "mkfifo"):
        os.mkfifo(rulebooks / "tables" / "pipe.csv")
    return base, rulebooks, outside


TABLE_PATHS = ["tables/codes.csv", "tables/link.csv", "tables/dirlink/secret.csv", "tables/pipe.csv", "tables",
               "../../../outside/secret.csv", "/etc/passwd", "/dev/zero", "tables/../../acme/tables/codes.csv",
               "tables/missing.csv", "", ".", "tables/codes.csv\u0000x", "~/secret.csv"]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(TABLE_PATHS) | st.builds(lambda a, b: a + b, st.sampled_from(TABLE_PATHS),
                                                      st.sampled_from(["", "/", "/..", "/x.csv"])))
def test_tables_anywhere_compile_or_report_and_nothing_outside_is_opened(tree, path):
    base, rulebooks, outside = tree
    rules = rulebooks / "t.rules"
    rules.write_text(RULEBOOK.format(path=path.replace("\\", "\\\\").replace('"', '\\"')), encoding="utf-8")
    _opened.clear()
    _recording.on = True
    try:
        try:
            compiled = Loader(Home(base / "team", "t")).load(str(rules))
        except DiagnosticError as exc:
            assert all(d.code for d in exc.diagnostics)
            assert "97140,1" not in exc.render()  # nothing of any table file is quoted
        else:
            assert compiled.tables["codes"].rows
    finally:
        _recording.on = False
    allowed = [str(base / "team"), sys.prefix, sys.base_prefix, sys.exec_prefix, str(ROOT), str(cache_dir() or ROOT)]
    for opened in _opened:
        real = os.path.realpath(opened)
        assert not real.startswith(str(outside.resolve())), f"opened {opened} outside the tree for {path!r}"
        assert any(real.startswith(os.path.realpath(root)) for root in allowed), f"opened {opened} for {path!r}"


# ------------------------------------------------------------------ import files

IMPORT_FIXTURES = ROOT / "tests" / "tables" / "fixtures"
SOURCES = [(kind, path.read_bytes()) for kind, pattern in (("ncci-ptp", "ccipra*.txt"), ("mue", "*[Mm][Uu][Ee]*.csv"))
           for path in sorted(IMPORT_FIXTURES.glob(pattern)) if ".expected." not in path.name]
assert {kind for kind, _ in SOURCES} == {"ncci-ptp", "mue"}


@st.composite
def mutated_import(draw):
    kind, data = draw(st.sampled_from(SOURCES))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.integers(0, 4))
        if how == 0:
            del data[at:at + draw(st.integers(1, 40))]
        elif how == 1:
            data[at:at] = draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\t", b",", b'"', b"\r", b"\n\n", b"\xef\xbb\xbf",
                                                b"9" * 40, b"A", b"-1", b"*"]))
        elif how == 2:
            cut = draw(st.integers(at, len(data)))
            data[at:at] = data[at:cut]
        elif how == 3:
            del data[at:]
        else:
            data[at:at + 1] = bytes([draw(st.integers(0, 255))])
    return kind, bytes(data)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=mutated_import())
def test_mutated_import_files_import_or_report(tmp_path_factory, case):
    from payerlint.tables.importers import run_import

    kind, data = case
    folder = tmp_path_factory.mktemp("import")
    source = folder / "source.txt"
    source.write_bytes(data)
    out = folder / "out" / "table.csv"
    try:
        report = run_import(kind, str(source), str(out), None)
    except DiagnosticError as exc:
        assert exc.diagnostics and not out.exists()  # nothing half-written
    else:
        assert out.is_file() and report.rows_written == report.rows_read
