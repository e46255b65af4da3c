"""Turn the CMS NCCI files into payerlint table files.

The sources, as CMS publishes them (see tests/tables/fixtures/README.md for where these
layouts were checked):

* PTP edits, `ccipra-v321r0-f1.txt` .. `-f4.txt`: tab-delimited, CRLF; a copyright line, a
  "Column1/Column2 Edits" banner, then a header wrapped over four physical lines
  ("*=in existence" / "prior to 1996", "Deletion" / "Date" / "*=no data", ...). Tools
  that re-save the file put the header on one line; both are accepted.
* MUE values, `MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv`: the first CSV record is
  the AMA notice quoted over several lines; the header's first cell is quoted over two
  ("HCPCS/" newline "CPT Code").

Output is the payerlint table format: UTF-8, LF, RFC 4180 CSV, `#` provenance comments
(the source's base name and sha256, never a date: identical input gives identical bytes),
a snake_case header row, rows sorted by key. Everything streams: rows are sorted by
spilling sorted chunks to disk and merging them, and duplicate keys are caught in the
merge, where they are adjacent, so not even the key set stays in memory. Nothing is
written unless the whole file is clean.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import heapq
import itertools
import operator
import os
import stat
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from payerlint.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from payerlint.source import SourceFile, Span, remember

ERROR_CODE = "table_import_error"
MAX_SHOWN = 50
"""Diagnostics shown per import; the rest are summarised in one 'and N more'."""
CHUNK_ROWS = 100_000
"""Rows sorted in memory before a chunk is spilled to disk (about 30 MB of PTP rows)."""
HEADER_SEARCH_LINES = 100
"""The header must come this early (real files: line 3 for PTP, 6 for MUE), so that
passing the wrong file fails at once instead of after reading a million lines."""

PTP_COLUMNS = ("column_1", "column_2", "effective", "deleted", "modifier_indicator",
               "prior_1996", "rationale", "source", "grade", "note")
MUE_COLUMNS = ("code", "mue", "mai", "mai_text", "rationale", "source", "grade", "note")
DEFAULT_OUTPUTS = {"ncci-ptp": "tables/ncci_ptp.csv", "mue": "tables/mue.csv"}

# Per column: what the (merged) header cell must contain, and how CMS spells it.
_PTP_HEADER = (("column 1", "Column 1"), ("column 2", "Column 2"),
               ("1996", "*=in existence prior to 1996"), ("effective", "Effective Date"),
               ("deletion", "Deletion Date *=no data"),
               ("modifier", "Modifier 0=not allowed 1=allowed 9=not applicable"),
               ("rationale", "PTP Edit Rationale"))
_MUE_HEADER = (("hcpcs", "HCPCS/CPT Code"), ("mue value", "Practitioner Services MUE Values"),
               ("adjudication", "MUE Adjudication Indicator"), ("rationale", "MUE Rationale"))
_CODE_RE = re.compile(r"[0-9A-Z]{5}")
_MAI_RE = re.compile(r"([123])(?:\s|$)")


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did."""

    rows_read: int
    """Data rows in the source (blank lines are not rows)."""
    rows_written: int
    skipped_preamble_lines: int
    """Physical lines before the header row (copyright notice, banner)."""
    output: str


# --- problems: kept in bounded memory, turned into diagnostics at the end -------------


@dataclass(frozen=True, slots=True)
class _Problem:
    line: int
    column: int
    width: int
    message: str
    other_line: int | None = None
    """For a duplicate key: the line that had the key first."""


class _Problems:
    """Keeps the MAX_SHOWN + 1 earliest problems and counts the rest, so a wrong file with
    a million bad lines costs no more memory than a clean one."""

    def __init__(self) -> None:
        self.total = 0
        self._heap: list[tuple[int, int, int, _Problem]] = []  # max-heap on position

    def add(self, line: int, column: int, width: int, message: str,
            other_line: int | None = None) -> None:
        self.total += 1
        item = (-line, -column, -self.total, _Problem(line, column, width, message, other_line))
        (heapq.heappush if len(self._heap) <= MAX_SHOWN else heapq.heappushpop)(self._heap, item)

    def earliest(self) -> list[_Problem]:
        return [item[3] for item in sorted(self._heap, reverse=True)]


@dataclass(frozen=True, slots=True)
class _QuotedLines(SourceFile):
    """Just the lines diagnostics quote, registered in place of the whole file: otherwise
    rendering carets into a 90 MB PTP file would read it whole and split it per caret."""

    lines: dict[int, str] = field(default_factory=dict, repr=False)

    def line_text(self, line: int) -> str:
        return self.lines.get(line, "")


@dataclass(frozen=True, slots=True)
class _Source:
    """The file being imported."""

    path: Path
    label: str
    """The path as the user gave it: what diagnostics show."""
    encoding: str

    def span(self, line: int, column: int = 1, width: int = 1) -> Span:
        return Span(self.label, line, column, line, column + max(1, width))

    def fail(self, problems: _Problems | None = None, message: str = "", line: int = 1,
             notes: tuple[str, ...] = ()) -> DiagnosticError:
        """The error for `problems`, or for one `message` at `line`, with the quoted
        lines read in one streaming pass."""
        if problems is None:
            problems = _Problems()
            problems.add(line, 1, 1, message)
        found = problems.earliest()
        shown, extra = found[:MAX_SHOWN], found[MAX_SHOWN:]
        wanted = {p.line for p in found} | {p.other_line for p in shown if p.other_line}
        with open(self.path, encoding=self.encoding, newline=None, errors="replace") as f:
            head = itertools.islice(f, max(wanted))
            quoted = {n: raw.rstrip("\n") for n, raw in enumerate(head, 1) if n in wanted}
        remember(_QuotedLines(self.label, "", lines=quoted))
        out = [Diagnostic(ERROR_CODE, p.message, self.span(p.line, p.column, p.width),
                          related=(self.span(p.other_line),) if p.other_line else (), notes=notes)
               for p in shown]
        if extra:  # placed at the first problem not shown, so it sorts after all shown ones
            p = extra[0]
            out.append(Diagnostic(ERROR_CODE, f"and {problems.total - MAX_SHOWN} more problems "
                                  f"not shown, the next on line {p.line}",
                                  self.span(p.line, p.column, p.width)))
        return DiagnosticError(out)


def _error(message: str, notes: tuple[str, ...] = ()) -> DiagnosticError:
    return DiagnosticError([Diagnostic(ERROR_CODE, message, notes=notes)])


# --- reading helpers --------------------------------------------------------------------


def _fingerprint(path: Path) -> tuple[str, str]:
    """sha256 of the bytes, and how to decode them: UTF-8 (dropping a byte-order mark)
    when valid, else cp1252, which Windows exports use, else latin-1."""
    digest, utf8, valid = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")(), True
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            if valid:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    valid = False
    try:
        utf8.decode(b"", final=valid)  # a multi-byte sequence cut off at the very end
    except UnicodeDecodeError:
        valid = False
    if valid:
        return digest.hexdigest(), "utf-8-sig"
    with open(path, encoding="cp1252") as f:
        try:
            while f.read(1 << 20):
                pass
            return digest.hexdigest(), "cp1252"
        except UnicodeDecodeError:
            return digest.hexdigest(), "latin-1"


def _iso(text: str) -> str | None:
    """'20260101' -> '2026-01-01'; None when not a real YYYYMMDD date.

    >>> _iso("20260101"), _iso("2026013"), _iso("20260230")
    ('2026-01-01', None, None)
    """
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return None


def _cell(text: str) -> str:
    """One CSV cell as the csv module's QUOTE_MINIMAL writes it (RFC 4180)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _words(text: str) -> str:
    return " ".join(text.split())


def _trim(fields: list[str], want: int) -> list[str]:
    # Spreadsheet exports pad rows with empty trailing cells; those are not extra fields.
    while len(fields) > want and not fields[-1].strip():
        fields.pop()
    return fields


def _report(problems: _Problems, found: list[tuple[int, str]], number: int, raw: str,
            fields: list[str], tabs: bool) -> None:
    """Add the (field index, message) problems of one line, each at its field's column:
    exact for tab-split lines, searched for in CSV lines (quotes shift fields)."""
    for index, message in found:
        column, at = 1, 0
        for i, value in enumerate(fields[: index + 1]):
            start = at if tabs else raw.find(value.strip() or "\0", at)
            if start < 0:  # not found (an empty or re-quoted cell): fall back to column 1
                column = 1
                break
            column, at = start + 1, start + len(value if tabs else value.strip()) + tabs
        problems.add(number, column, len(fields[index].strip()), message)


def _code_problem(which: str, value: str) -> str:
    return (f"{which} '{value}' is not a CPT/HCPCS code: "
            "CPT/HCPCS code must be 5 characters (digits or capital letters)")


def _check_header(cells: list[str], header: tuple[tuple[str, str], ...], src: _Source,
                  line: int) -> None:
    for index, (needle, spelled) in enumerate(header):
        cell = _words(cells[index]) if index < len(cells) else ""
        if needle not in cell.lower():
            raise src.fail(message=f"header column {index + 1} reads '{cell}'; expected "
                           f"'{spelled}'", line=line, notes=(
                               "the CMS layout has changed or this is not the file expected; "
                               "the importer will not guess which column is which",))


def _no_header(src: _Source, expected: str, other_kind: str, other_start: str) -> DiagnosticError:
    notes = [f"looked at the first {HEADER_SEARCH_LINES} lines; everything before the "
             "header (copyright notice, banner) is skipped"]
    with open(src.path, encoding=src.encoding, errors="replace") as f:
        if any(line.strip().strip('"').lower().startswith(other_start)
               for line in itertools.islice(f, HEADER_SEARCH_LINES)):
            notes.append(f"this looks like the other CMS file: try `payerlint import "
                         f"{other_kind} {src.label}`")
    return src.fail(message=f"no header row found; expected a line starting with {expected}",
                    notes=tuple(notes))


# --- sorting in bounded memory ----------------------------------------------------------


class _Sorter:
    """Collects rows (tuples of str) and yields them sorted. Every CHUNK_ROWS rows a chunk
    is sorted and spilled to disk; the runs are merged at the end, or just concatenated
    when the input arrived in key order, as CMS files do.

    Runs are tab-joined lines, several times faster than the csv module. That is safe
    only because no field can hold a tab or a line break: PTP fields come from splitting
    lines on tabs, and MUE text has its whitespace collapsed."""

    def __init__(self, workdir: str) -> None:
        self._dir = workdir
        self._buffer: list[tuple[str, ...]] = []
        self._runs: list[str] = []
        self._last: tuple[str, ...] = ()
        self.ordered = True
        # A bound list.append: readers call it a million times. Order is checked per
        # chunk, in C, rather than per row in Python.
        self.add = self._buffer.append

    def check(self) -> None:
        """Called by readers now and then: spills the buffer once it holds a chunk."""
        if len(self._buffer) >= CHUNK_ROWS:
            self._spill()

    def _sort(self) -> None:
        rows = sorted(self._buffer)
        # list == compares item identity first, so for input already in order this is cheap.
        if rows != self._buffer or (rows and rows[0] < self._last):
            self.ordered = False
        self._last = rows[-1] if rows else self._last
        self._buffer[:] = rows  # in place: `add` is bound to this list

    def _spill(self) -> None:
        self._sort()
        path = os.path.join(self._dir, f"run-{len(self._runs)}.tsv")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines("\t".join(row) + "\n" for row in self._buffer)
        self._runs.append(path)
        self._buffer.clear()

    @contextlib.contextmanager
    def sorted_rows(self) -> Iterator[Iterator[Sequence[str]]]:
        if not self._runs:
            self._sort()
            yield iter(self._buffer)
            return
        if self._buffer:
            self._spill()  # runs read back as lists, and lists do not compare with tuples
        with contextlib.ExitStack() as stack:
            runs = [(line[:-1].split("\t") for line in
                     stack.enter_context(open(p, encoding="utf-8", newline="\n")))
                    for p in self._runs]
            yield itertools.chain(*runs) if self.ordered else heapq.merge(*runs)


# --- the two formats ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    rows_read: int
    preamble_lines: int
    setting: str
    """Which CMS table: 'practitioner', 'outpatient hospital', ... ('' when unknown)."""


def _read_ptp(src: _Source, problems: _Problems, sorter: _Sorter) -> _Parsed:
    """Sorter rows: (column_1, column_2, line, effective, deleted, modifier, prior,
    rationale as a CSV cell)."""
    # Values already checked, with their output form. A million rows hold a few thousand
    # codes, a few hundred dates and a few dozen rationales, so the fast path settles
    # nearly every row and only first sightings and errors reach `check`.
    codes: set[str] = set()
    dates: dict[str, str] = {}
    deletions = {"*": "", "": ""}  # '*' is CMS's "no data": not deleted; some exports blank it
    texts: dict[str, str] = {}
    priors = {"*": "yes", "": ""}
    modifiers = {"0", "1", "9"}
    header: list[str] | None = None
    header_line = rows = 0
    continuing = True  # header continuation lines may follow the header line

    def check(raw: str, fields: list[str], cells: list[str], number: int) -> tuple | None:
        found = []
        for index in (0, 1):
            if cells[index] not in codes:
                if _CODE_RE.fullmatch(cells[index]):
                    codes.add(cells[index])
                else:
                    found.append((index, _code_problem(f"column {index + 1} code", cells[index])))
        prior, effective, deleted, modifier, rationale = cells[2:]
        if prior not in priors:
            found.append((2, f"'in existence prior to 1996' must be '*' or empty, found '{prior}'"))
        for index, text, known, what in ((3, effective, dates, "effective date '{}' is not YYYYMMDD"),
                                         (4, deleted, deletions, "deletion date '{}' is not YYYYMMDD or '*'")):
            if text not in known:
                iso = _iso(text)
                if iso is None:
                    found.append((index, what.format(text)))
                else:
                    dates[text] = deletions[text] = iso
        if modifier not in modifiers:
            found.append((5, f"modifier indicator must be 0, 1 or 9, found '{modifier}'"))
        if found:
            _report(problems, found, number, raw, fields, tabs=True)
            return None
        texts.setdefault(rationale, _cell(rationale))
        return (cells[0], cells[1], str(number), dates[effective], deletions[deleted],
                modifier, priors[prior], texts[rationale])

    with open(src.path, encoding=src.encoding, newline=None) as f:
        for number, raw in enumerate(f, 1):
            raw = raw.rstrip("\n")
            if header is None:
                cells = [_words(c).lower() for c in raw.split("\t")[:2]]
                if len(cells) == 2 and cells[0].startswith("column 1") and cells[1].startswith("column 2"):
                    header, header_line = [c.strip() for c in _trim(raw.split("\t"), 7)], number
                elif number >= HEADER_SEARCH_LINES:
                    break
                continue
            if not raw or raw.isspace():
                continue
            fields = raw.split("\t")
            if continuing:
                if len(fields) >= 2 and not (fields[0] + fields[1] + "".join(fields[6:])).strip() \
                        and re.search(r"[A-Za-z=]", "".join(fields[2:6])):
                    # "prior to 1996 | Date | Date | 0=not allowed": glue onto the header cells.
                    for i, cell in enumerate(fields[2:min(6, len(header))], 2):
                        header[i] = _words(f"{header[i]} {cell}")
                    continue
                continuing = False
                _check_header(header, _PTP_HEADER, src, header_line)
            rows += 1
            if not rows & 4095:
                sorter.check()
            if len(fields) != 7 and len(_trim(fields, 7)) != 7:
                problems.add(number, 1, len(raw), f"expected 7 tab-separated fields, found {len(fields)}")
                continue
            cells = list(map(str.strip, fields))
            col1, col2, prior, effective, deleted, modifier, rationale = cells
            if col1 in codes and col2 in codes and prior in priors and modifier in modifiers:
                iso, until, cell = dates.get(effective), deletions.get(deleted), texts.get(rationale)
                if iso is not None and until is not None and cell is not None:
                    sorter.add((col1, col2, str(number), iso, until, modifier, priors[prior], cell))
                    continue
            row = check(raw, fields, cells, number)
            if row is not None:
                sorter.add(row)
    if header is None:
        raise _no_header(src, "Column 1<TAB>Column 2<TAB>*=in existence ...", "mue", "hcpcs")
    if continuing:  # a header and no data rows
        _check_header(header, _PTP_HEADER, src, header_line)
    name = src.path.name.lower()
    setting = ("practitioner" if name.startswith("ccipra") else
               "outpatient hospital" if name.startswith("ccioph") else "")
    return _Parsed(rows, header_line - 1, setting)


def _read_mue(src: _Source, problems: _Problems, sorter: _Sorter) -> _Parsed:
    """Sorter rows: (code, line, mue, mai, mai_text cell, rationale cell)."""
    header_line = rows = end = 0  # end: the physical line where the last record ended
    setting = ""
    with open(src.path, encoding=src.encoding, newline="") as f:
        first = [""]  # the first physical line of the current record, for diagnostics

        def tap() -> Iterator[str]:
            for line in f:
                first[0] = first[0] or line
                yield line

        reader = csv.reader(tap())
        while True:
            first[0] = ""
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.add(end + 1, 1, 1, f"cannot read this CSV record: {exc} "
                             "(an unclosed double quote swallows the lines after it)")
                break
            number, end = end + 1, reader.line_num
            if not header_line:
                if fields and _words(fields[0]).lower().startswith("hcpcs"):
                    header_line = number
                    _check_header(fields, _MUE_HEADER, src, number)
                    # "Practitioner Services MUE Values" -> "practitioner services"
                    setting = _words(fields[1]).lower().replace("mue values", "").strip()
                elif end >= HEADER_SEARCH_LINES:
                    break
                continue
            if not "".join(fields).strip():
                continue
            rows += 1
            if not rows & 4095:
                sorter.check()
            if len(_trim(fields, 4)) != 4:
                problems.add(number, 1, len(first[0].rstrip("\r\n")),
                             f"expected 4 comma-separated fields, found {len(fields)}")
                continue
            code, mue, mai_text, rationale = map(_words, fields)
            found = []
            if not _CODE_RE.fullmatch(code):
                found.append((0, _code_problem("HCPCS/CPT code", code)))
            if not (mue.isascii() and mue.isdigit()):
                found.append((1, f"MUE value must be a whole number of units, found '{mue}'"))
            if (mai := _MAI_RE.match(mai_text)) is None:
                found.append((2, "MUE adjudication indicator must start with 1, 2 or 3 "
                                 f"(as in '3 Date of Service Edit: Clinical'), found '{mai_text}'"))
            if found:
                _report(problems, found, number, first[0], fields, tabs=False)
            else:
                sorter.add((code, str(number), str(int(mue)), mai.group(1), _cell(mai_text),
                            _cell(rationale)))
    if not header_line:
        raise _no_header(src, '"HCPCS/CPT Code","Practitioner Services MUE Values",...',
                         "ncci-ptp", "column 1")
    return _Parsed(rows, header_line - 1, setting)


# --- the driver -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    """As on the command line: 'ncci-ptp' or 'mue'."""
    columns: tuple[str, ...]
    key_width: int
    """The key is the first key_width fields of a sorter row; the line number follows."""
    read: Callable[[_Source, _Problems, _Sorter], _Parsed]
    line: Callable[[Sequence[str], str], str]
    """A sorter row and the source cell -> one line of the table file."""
    describe: Callable[[Sequence[str]], str]
    what: str
    """Between 'CMS NCCI <setting>' and the file name in the default source text."""


_PTP = _Kind("ncci-ptp", PTP_COLUMNS, 2, _read_ptp,
             lambda r, source: f"{r[0]},{r[1]},{r[3]},{r[4]},{r[5]},{r[6]},{r[7]},{source},A,\n",
             lambda r: f"code pair column 1 {r[0]} / column 2 {r[1]}", "PTP")
_MUE = _Kind("mue", MUE_COLUMNS, 1, _read_mue,
             lambda r, source: f"{r[0]},{r[2]},{r[3]},{r[4]},{r[5]},{source},A,\n",
             lambda r: f"code {r[0]}", "MUE")


def _import(kind: _Kind, source: str | Path, output: str | Path, label: str | None) -> ImportReport:
    path, out = Path(source), Path(output)
    if not path.is_file():
        raise _error(f"cannot read source file '{source}': no such file")
    _check_output(path, out)
    digest, encoding = _fingerprint(path)
    src, problems = _Source(path, str(source), encoding), _Problems()
    with tempfile.TemporaryDirectory(prefix="payerlint-import-") as workdir:
        sorter = _Sorter(workdir)
        parsed = kind.read(src, problems, sorter)
        default = " ".join(filter(None, ("CMS NCCI", parsed.setting, kind.what, path.name)))
        source_cell = _cell(label or default)
        tmp, created_dir = None, not out.parent.exists()
        try:
            with sorter.sorted_rows() as rows:
                lines = _lines(rows, kind, source_cell, problems)
                if problems.total:
                    for _ in lines:  # still look for duplicate keys; write nothing
                        pass
                else:
                    try:
                        out.parent.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:
                        raise _error(f"-o {out}: cannot create {out.parent}: "
                                     f"{(exc.strerror or type(exc).__name__).lower()}") from None
                    # Beside the output so os.replace is atomic; open() rather than mkstemp
                    # so the table gets the usual permissions, not mkstemp's 0600.
                    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
                    with open(tmp, "w", encoding="utf-8", newline="") as f:
                        name = path.name.replace("\n", " ")
                        f.write(f"# imported by payerlint import {kind.name} from {name} "
                                f"(sha256 {digest})\n")
                        if encoding != "utf-8-sig":
                            f.write(f"# source was not UTF-8; read as {encoding}\n")
                        f.write(f"# rows: {parsed.rows_read}\n" + ",".join(kind.columns) + "\n")
                        f.writelines(lines)
            if problems.total:
                raise src.fail(problems)
            os.replace(tmp, out)
            tmp = None
        finally:
            if tmp is not None:
                os.unlink(tmp)
            if problems.total and created_dir:
                with contextlib.suppress(OSError):
                    out.parent.rmdir()
    # Reaching here means no problem at all, so every row read was written.
    return ImportReport(parsed.rows_read, parsed.rows_read, parsed.preamble_lines, str(out))


def _check_output(source: Path, out: Path) -> None:
    """Refuse an output that is not a place for a table file: the input itself, a
    folder, a device or pipe, or a path through a file. Only a regular file is replaced."""
    if out.exists() or out.is_symlink():
        try:
            same = out.exists() and os.path.samefile(source, out)
        except OSError:
            same = False
        if same:
            raise _error(f"-o {out} is the file being imported; write the table to another file",
                         notes=("for example -o rulebooks/<family>/tables/ncci_ptp.csv",))
        mode = os.stat(out).st_mode if out.exists() else 0
        if out.exists() and not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
            raise _error(f"-o {out} is {what}; give the path of a table file to write",
                         notes=(f"for example -o {out / 'ncci_ptp.csv'}" if stat.S_ISDIR(mode)
                                else "a table is written as a new regular file",))
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _error(f"-o {out}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise _error(f"-o {out}: cannot write in {parent} (permission denied)")
            break


def _lines(rows: Iterable[Sequence[str]], kind: _Kind, source_cell: str,
           problems: _Problems) -> Iterator[str]:
    """Sorted rows -> table file lines, reporting keys seen twice (adjacent, since sorted)."""
    key, at, line = operator.itemgetter(*range(kind.key_width)), kind.key_width, kind.line
    previous_key = previous = None
    for row in rows:
        this_key = key(row)
        if this_key == previous_key:
            first, second = sorted((int(previous[at]), int(row[at])))
            problems.add(second, 1, len(row[0]), f"duplicate {kind.describe(row)}: "
                         f"already on line {first} (this is line {second})", first)
            continue
        previous_key, previous = this_key, row
        yield line(row, source_cell)


def import_ncci_ptp(source: str | Path, output: str | Path, *,
                    source_label: str | None = None) -> ImportReport:
    """Import one CMS NCCI PTP text file (e.g. `ccipra-v321r0-f4.txt`) into a table file
    with columns PTP_COLUMNS. Raises DiagnosticError naming every bad line; on error the
    output is left untouched.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ccipra-v321r0-f4.txt").write_text(
    ...     "Column 1\\tColumn 2\\t*=in existence prior to 1996\\tEffective Date\\t"
    ...     "Deletion Date *=no data\\tModifier 0=not allowed 1=allowed 9=not applicable\\t"
    ...     "PTP Edit Rationale\\n98940\\t97140\\t\\t20200101\\t*\\t1\\tSynthetic example\\n")
    >>> import_ncci_ptp(d / "ccipra-v321r0-f4.txt", d / "ncci_ptp.csv").rows_written
    1
    >>> (d / "ncci_ptp.csv").read_text().splitlines()[-1]
    '98940,97140,2020-01-01,,1,,Synthetic example,CMS NCCI practitioner PTP ccipra-v321r0-f4.txt,A,'
    """
    return _import(_PTP, source, output, source_label)


def import_mue(source: str | Path, output: str | Path, *,
               source_label: str | None = None) -> ImportReport:
    """Import one CMS MUE CSV (e.g. `MCR_MUE_PractitionerServices_Eff_07-01-2026.csv`)
    into a table file with columns MUE_COLUMNS; `mai` is the indicator's leading digit.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "mue.src.csv").write_text(
    ...     '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    ...     '"MUE Rationale"\\n97012,1,"3 Date of Service Edit: Clinical","Synthetic example"\\n')
    >>> import_mue(d / "mue.src.csv", d / "mue.csv").rows_written
    1
    >>> (d / "mue.csv").read_text().splitlines()[-1]
    '97012,1,3,3 Date of Service Edit: Clinical,Synthetic example,CMS NCCI practitioner services MUE mue.src.csv,A,'
    """
    return _import(_MUE, source, output, source_label)


def run_import(kind: str, source: str, output: str | None,
               source_label: str | None) -> ImportReport:
    """The `payerlint import <kind> <source> [-o output] [--source text]` command.
    Without an output, writes `tables/ncci_ptp.csv` or `tables/mue.csv` under the
    current directory."""
    kinds = {"ncci-ptp": import_ncci_ptp, "mue": import_mue}
    normal = kind.strip().lower().replace("_", "-")
    if normal not in kinds:
        hint = did_you_mean(normal, kinds)
        raise _error(f"unknown table kind '{kind}'; expected 'ncci-ptp' or 'mue'",
                     notes=(hint,) if hint else ())
    try:
        return kinds[normal](source, output or DEFAULT_OUTPUTS[normal], source_label=source_label)
    except OSError as exc:
        # The file system refused (a full disk, a permission): said in one line; any
        # half-written table was removed and the old one, if any, is untouched.
        where = f" ({exc.filename})" if exc.filename else ""
        raise _error(f"import stopped: {(exc.strerror or type(exc).__name__).lower()}{where}") from None
