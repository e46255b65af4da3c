"""Tests for the CMS NCCI PTP and MUE importers.

The fixtures under fixtures/ copy the real CMS layouts byte for byte (notice and banner
lines, the PTP header wrapped over four lines, the MUE notice and header cell quoted over
several lines, `*` markers, a byte-order mark, CRLF) around synthetic rows; see
fixtures/README.md. Expected outputs and error texts are golden files next to their
inputs; rerun with PAYERLINT_UPDATE_GOLDEN=1 to refresh them, then review the diff.
"""

from __future__ import annotations

import csv
import doctest
import hashlib
import os
import random
import re
from pathlib import Path

import pytest

from payerlint.diagnostics import DiagnosticError
from payerlint.tables import importers
from payerlint.tables.importers import (MUE_COLUMNS, PTP_COLUMNS, ImportReport, import_mue,
                                        import_ncci_ptp, run_import)

FIXTURES = Path(__file__).parent / "fixtures"
UPDATE = os.environ.get("PAYERLINT_UPDATE_GOLDEN") == "1"
PTP_REAL = "ccipra-v321r0-f4.txt"
MUE_REAL = "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
HEADER = ("Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data"
          "\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n")


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the fixture folder, so diagnostics name files as the golden texts do."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path.name} is missing: run with PAYERLINT_UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path.name}"


def errors_of(call) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as info:
        call()
    assert all(d.code == "table_import_error" for d in info.value.diagnostics)
    return info.value


def table(path: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """(comment lines, header, data rows) of a payerlint table file."""
    text = path.read_bytes().decode("utf-8")
    assert "\r" not in text and text.endswith("\n")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    rows = list(csv.reader(line for line in text.splitlines(keepends=True) if not line.startswith("#")))
    return comments, rows[0], rows[1:]


# --- the fixtures still are what they claim to be -------------------------------------


def test_fixtures_keep_their_bytes():
    # A checkout that normalises line ends would make the CRLF tests prove nothing.
    # (Suggested .gitattributes line: `tests/tables/fixtures/* -text`.)
    ptp, mue = (FIXTURES / PTP_REAL).read_bytes(), (FIXTURES / MUE_REAL).read_bytes()
    assert b"\r\n" in ptp and b"\n" not in ptp.replace(b"\r\n", b"")
    assert mue.startswith(b"\xef\xbb\xbf") and b'"HCPCS/\nCPT Code"' in mue
    assert (FIXTURES / "ccipra-v321r0-f1.txt").read_bytes().startswith(b"\xef\xbb\xbf")


def test_doctests():
    assert doctest.testmod(importers).failed == 0


# --- NCCI PTP --------------------------------------------------------------------------


def test_ptp_real_layout(in_fixtures, tmp_path):
    out = tmp_path / "ncci_ptp.csv"
    report = import_ncci_ptp(PTP_REAL, out)
    assert report == ImportReport(rows_read=9, rows_written=9, skipped_preamble_lines=2,
                                  output=str(out))
    golden(FIXTURES / "ccipra-v321r0-f4.expected.csv", out.read_text(encoding="utf-8"))
    comments, header, rows = table(out)
    assert header == list(PTP_COLUMNS)
    digest = re.search(r"sha256 ([0-9a-f]{64})", comments[0]).group(1)
    assert digest == hashlib.sha256((FIXTURES / PTP_REAL).read_bytes()).hexdigest()
    assert comments == [f"# imported by payerlint import ncci-ptp from {PTP_REAL} (sha256 {digest})",
                        "# rows: 9"]
    keys = [(r[0], r[1]) for r in rows]
    assert keys == sorted(keys) and ("97140", "G0283") in keys
    by_key = {(r[0], r[1]): dict(zip(header, r)) for r in rows}
    # '*' deletion date: still in force, so empty; a real date is converted.
    assert by_key["98940", "97140"]["deleted"] == ""
    deleted = by_key["97530", "97161"]
    assert (deleted["effective"], deleted["deleted"], deleted["modifier_indicator"],
            deleted["prior_1996"]) == ("2020-01-01", "2020-02-01", "0", "")
    # '*' in the prior-1996 column is yes; blank is no value.
    assert by_key["98941", "97140"]["prior_1996"] == "yes"
    assert by_key["98941", "97140"]["effective"] == "1996-01-01"
    assert by_key["98941", "97140"]["rationale"] == 'Synthetic fixture row with a "quoted" word, and a comma'
    assert by_key["97530", "97116"]["modifier_indicator"] == "9"
    assert {r["source"] for r in by_key.values()} == {f"CMS NCCI practitioner PTP {PTP_REAL}"}
    assert {(r["grade"], r["note"]) for r in by_key.values()} == {("A", "")}


def test_ptp_one_line_header_bom_blank_lines_and_padded_rows(in_fixtures, tmp_path):
    # The header as other tools write it, on one line; a BOM; rows padded with empty cells.
    report = import_ncci_ptp("ccipra-v321r0-f1.txt", tmp_path / "out.csv")
    assert (report.rows_read, report.rows_written, report.skipped_preamble_lines) == (3, 3, 2)
    _, _, rows = table(tmp_path / "out.csv")
    assert [(r[0], r[1]) for r in rows] == [("97012", "97140"), ("97150", "97110"), ("98940", "97140")]


def test_output_is_byte_identical_across_runs_and_locations(in_fixtures, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b" / "c.csv"
    import_ncci_ptp(PTP_REAL, first)
    moved = tmp_path / "elsewhere" / PTP_REAL
    moved.parent.mkdir()
    moved.write_bytes((FIXTURES / PTP_REAL).read_bytes())
    import_ncci_ptp(moved, second)  # only the base name of the source goes in the file
    assert first.read_bytes() == second.read_bytes()
    import_mue(MUE_REAL, first)
    import_mue(MUE_REAL, second)
    assert first.read_bytes() == second.read_bytes()


def test_source_label_replaces_the_default(in_fixtures, tmp_path):
    import_ncci_ptp(PTP_REAL, tmp_path / "out.csv", source_label="CMS PTP v32.1, f4, as downloaded")
    _, header, rows = table(tmp_path / "out.csv")
    assert {r[header.index("source")] for r in rows} == {"CMS PTP v32.1, f4, as downloaded"}


def test_ptp_malformed_lines_are_all_reported_with_line_numbers(in_fixtures, tmp_path):
    out = tmp_path / "out.csv"
    error = errors_of(lambda: import_ncci_ptp("ccipra-malformed.txt", out))
    text = error.render()
    golden(FIXTURES / "ccipra-malformed.err.txt", text + "\n")
    expected = {
        8: "expected 7 tab-separated fields, found 5",
        9: "effective date '2026013' is not YYYYMMDD",
        10: "modifier indicator must be 0, 1 or 9, found '3'",
        11: "CPT/HCPCS code must be 5 characters",
        12: "deletion date '20261399' is not YYYYMMDD",
        13: "'in existence prior to 1996' must be '*' or empty, found 'Y'",
    }
    assert [d.span.line for d in error.diagnostics] == list(expected)
    for line, message in expected.items():
        assert f"ccipra-malformed.txt:{line}:" in text
        assert message in text
    assert ":7:" not in text and ":14:" not in text  # the good rows
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_nothing_is_written_on_error(in_fixtures, tmp_path):
    out = tmp_path / "tables" / "ncci_ptp.csv"
    out.parent.mkdir()
    out.write_text("previous table\n")
    errors_of(lambda: import_ncci_ptp("ccipra-duplicate.txt", out))
    assert out.read_text() == "previous table\n"
    assert [p.name for p in out.parent.iterdir()] == ["ncci_ptp.csv"]  # no temp file left
    fresh = tmp_path / "new" / "dir" / "ncci_ptp.csv"
    errors_of(lambda: import_ncci_ptp("ccipra-malformed.txt", fresh))
    assert not fresh.parent.exists()


def test_duplicate_pair_names_both_lines(in_fixtures, tmp_path):
    error = errors_of(lambda: import_ncci_ptp("ccipra-duplicate.txt", tmp_path / "out.csv"))
    (diagnostic,) = error.diagnostics
    assert diagnostic.span.line == 9 and [s.line for s in diagnostic.related] == [7]
    assert "97140" in diagnostic.message and "97530" in diagnostic.message
    assert "line 7" in diagnostic.message and "line 9" in diagnostic.message
    text = error.render()
    assert "ccipra-duplicate.txt:9:" in text and "ccipra-duplicate.txt:7:" in text


def test_sorting_and_duplicates_across_spilled_chunks(tmp_path, monkeypatch):
    # Chunks of 7 rows force the external merge path on a 100-row file.
    monkeypatch.setattr(importers, "CHUNK_ROWS", 7)
    pairs = [(f"97{a:03d}", f"G{b:04d}") for a in range(10) for b in range(10)]
    random.Random(5).shuffle(pairs)
    body = "".join(f"{a}\t{b}\t\t20240101\t*\t1\tSynthetic fixture row\r\n" for a, b in pairs)
    source = tmp_path / "ccipra-shuffled.txt"
    source.write_text("notice\r\n" + HEADER + body, newline="")
    import_ncci_ptp(source, tmp_path / "out.csv")
    _, _, rows = table(tmp_path / "out.csv")
    assert [(r[0], r[1]) for r in rows] == sorted(pairs)
    a, b = pairs[3]
    source.write_text("notice\r\n" + HEADER + body + f"{a}\t{b}\t\t20250101\t*\t0\tagain\r\n", newline="")
    error = errors_of(lambda: import_ncci_ptp(source, tmp_path / "out2.csv"))
    (diagnostic,) = error.diagnostics
    assert (diagnostic.span.line, diagnostic.related[0].line) == (103, 6)


def test_errors_are_capped_at_fifty(tmp_path):
    lines = [f"97{n:03d}\t97140\t\t2026010\t*\t1\tx\n" for n in range(60)]
    source = tmp_path / "ccipra-bad.txt"
    source.write_text(HEADER + "".join(lines))
    error = errors_of(lambda: import_ncci_ptp(source, tmp_path / "out.csv"))
    assert len(error.diagnostics) == 51
    assert [d.span.line for d in error.diagnostics[:50]] == list(range(2, 52))
    assert error.diagnostics[-1].message == "and 10 more problems not shown, the next on line 52"


def test_no_header_row(in_fixtures, tmp_path):
    error = errors_of(lambda: import_ncci_ptp(MUE_REAL, tmp_path / "out.csv"))
    (diagnostic,) = error.diagnostics
    assert diagnostic.message.startswith("no header row found; expected a line starting with Column 1")
    assert any("payerlint import mue" in note for note in diagnostic.notes)
    source = tmp_path / "empty.txt"
    source.write_text("")
    errors_of(lambda: import_ncci_ptp(source, tmp_path / "out.csv"))
    errors_of(lambda: import_mue(source, tmp_path / "out.csv"))


def test_changed_header_is_refused(tmp_path):
    source = tmp_path / "ccipra-reordered.txt"
    source.write_text(HEADER.replace("Effective Date\tDeletion Date *=no data",
                                     "Deletion Date *=no data\tEffective Date")
                      + "97140\t97530\t\t*\t20200101\t1\tx\n")
    error = errors_of(lambda: import_ncci_ptp(source, tmp_path / "out.csv"))
    assert "header column 4 reads 'Deletion Date *=no data'; expected 'Effective Date'" in error.render()
    assert ":1:" in error.render()


def test_non_utf8_source_is_read_as_cp1252(tmp_path):
    source = tmp_path / "ccipra-cp1252.txt"
    source.write_bytes(HEADER.encode() + "97140\t97530\t\t20200101\t*\t1\tCPT\u00ae \u201cquoted\u201d\r\n".encode("cp1252"))
    import_ncci_ptp(source, tmp_path / "out.csv")
    comments, _, rows = table(tmp_path / "out.csv")
    assert rows[0][6] == "CPT\u00ae \u201cquoted\u201d"
    assert "# source was not UTF-8; read as cp1252" in comments


def test_missing_source(tmp_path):
    error = errors_of(lambda: import_ncci_ptp(tmp_path / "nope.txt", tmp_path / "out.csv"))
    assert "no such file" in error.render()


# --- MUE -------------------------------------------------------------------------------


def test_mue_real_layout(in_fixtures, tmp_path):
    out = tmp_path / "mue.csv"
    report = import_mue(MUE_REAL, out)
    # Notice (5 physical lines: a quoted cell with blank lines inside) before the header.
    assert report == ImportReport(6, 6, 5, str(out))
    golden(FIXTURES / "MCR_MUE_PractitionerServices_Eff_07-01-2026.expected.csv",
           out.read_text(encoding="utf-8"))
    _, header, rows = table(out)
    assert header == list(MUE_COLUMNS)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    by_code = {r[0]: dict(zip(header, r)) for r in rows}
    assert by_code["97012"] == {
        "code": "97012", "mue": "1", "mai": "3", "mai_text": "3 Date of Service Edit: Clinical",
        "rationale": "Synthetic fixture row, clinical: data",
        "source": f"CMS NCCI practitioner services MUE {MUE_REAL}", "grade": "A", "note": ""}
    assert (by_code["G0283"]["mai"], by_code["97161"]["mai"]) == ("1", "2")
    assert by_code["97140"]["mue"] == "4"  # a fully quoted row
    assert by_code["98940"]["rationale"] == 'Synthetic fixture row with a "quoted" word'


def test_mue_quoted_one_line_header(in_fixtures, tmp_path):
    report = import_mue("mue-quoted-header.csv", tmp_path / "mue.csv")
    assert (report.rows_written, report.skipped_preamble_lines) == (2, 2)
    _, _, rows = table(tmp_path / "mue.csv")
    assert [r[:3] for r in rows] == [["97032", "4", "3"], ["97035", "2", "1"]]


def test_mue_malformed_lines(in_fixtures, tmp_path):
    error = errors_of(lambda: import_mue("mue-malformed.csv", tmp_path / "mue.csv"))
    text = error.render()
    golden(FIXTURES / "mue-malformed.err.txt", text + "\n")
    assert [d.span.line for d in error.diagnostics] == [9, 10, 11, 12]
    assert "mue-malformed.csv:9:7" in text and "found 'two'" in text
    assert "mue-malformed.csv:10:" in text and "must start with 1, 2 or 3" in text
    assert "mue-malformed.csv:11:" in text and "CPT/HCPCS code must be 5 characters" in text
    assert "mue-malformed.csv:12:" in text and "expected 4 comma-separated fields, found 3" in text
    assert list(tmp_path.iterdir()) == []


def test_mue_duplicate_code(in_fixtures, tmp_path):
    error = errors_of(lambda: import_mue("mue-duplicate.csv", tmp_path / "mue.csv"))
    (diagnostic,) = error.diagnostics
    assert (diagnostic.span.line, diagnostic.related[0].line) == (10, 8)
    assert "duplicate code 97530" in diagnostic.message


def test_mue_unclosed_quote(tmp_path):
    source = tmp_path / "mue.src.csv"
    source.write_text('"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
                      '"MUE Rationale"\n97530,6,"3 Date of Service Edit: Clinical,x\n' + "97012,1,x,y\n" * 3)
    error = errors_of(lambda: import_mue(source, tmp_path / "mue.csv"))
    assert ":2:" in error.render()


# --- run_import (the CLI's entry point) --------------------------------------------------


def test_run_import_default_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = run_import("ncci-ptp", str(FIXTURES / PTP_REAL), None, None)
    assert report.output == os.path.join("tables", "ncci_ptp.csv")
    assert (tmp_path / "tables" / "ncci_ptp.csv").exists()
    report = run_import("mue", str(FIXTURES / MUE_REAL), None, "CMS MUE 2026 Q3")
    assert report.output == os.path.join("tables", "mue.csv")
    assert "CMS MUE 2026 Q3" in (tmp_path / "tables" / "mue.csv").read_text()
    report = run_import("ncci_ptp", str(FIXTURES / PTP_REAL), str(tmp_path / "x.csv"), None)
    assert report.output == str(tmp_path / "x.csv")


def test_run_import_unknown_kind():
    error = errors_of(lambda: run_import("ncci-pt", "x", None, None))
    assert "unknown table kind 'ncci-pt'" in error.render()
    assert "did you mean 'ncci-ptp'?" in error.diagnostics[0].notes
