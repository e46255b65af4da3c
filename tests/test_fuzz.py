"""Property tests (hypothesis): broken rulebooks and broken claims never crash payerlint.

(a) Rulebook mutations. A valid rulebook (the bundled medicare@2026Q2 and a few small
    ones below) is cut into tokens with a simple regex (quoted texts, words, numbers,
    punctuation); a few tokens are deleted, duplicated, swapped or copied over others,
    and the result is compiled from a temporary folder that also holds the medicare
    `tables/`. The only acceptable outcomes are a compiled rulebook, or a
    `DiagnosticError` whose every diagnostic points at a place (file:line:column inside
    the file) or is a file-level problem; never another exception, never a catch-all
    internal error.

(b) Random claims. Starting from tests/data/clean_claim.json, fields are deleted, set to
    null, given values of the wrong type, random texts, numbers and lists, and lines are
    added with random codes, minutes, units, modifiers and dates. Checking never raises;
    the verdict is clean, warn, deny or error; a claim the schema rejects gets `error`
    with `input` findings whose messages start with the JSON pointer of the problem.

Runs are derandomized so CI sees the same examples every time. The number of examples
per property defaults to 200; to hunt for crashes run many more, e.g.

    PAYERLINT_FUZZ_EXAMPLES=5000 PYTHONPATH=src python3 -m pytest tests/test_fuzz.py -q

and set PAYERLINT_FUZZ_SEED=<n> as well to explore examples other than CI's.
PAYERLINT_FUZZ_EXTRA_DATES="9999-12-31 ..." adds dates to those the claims get.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from payerlint.api import Checker
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.pipeline import CompiledRulebook, Loader, compile_path
from payerlint.diagnostics import DiagnosticError
from payerlint.home import Home

ROOT = Path(__file__).resolve().parent.parent
MEDICARE = ROOT / "rulebooks" / "medicare" / "2026Q2.rules"
TABLES = ROOT / "rulebooks" / "medicare" / "tables"
CLEAN = json.loads((Path(__file__).resolve().parent / "data" / "clean_claim.json").read_text(encoding="utf-8"))

EXAMPLES = int(os.environ.get("PAYERLINT_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("PAYERLINT_FUZZ_SEED")


def fuzz_settings(test):
    test = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )(test)
    return seed(int(SEED))(test) if SEED is not None else test


# Diagnostics that are about a whole file (or a reference to one) rather than a place in it.
FILE_LEVEL = {"file_unreadable", "bad_reference", "rulebook_not_found", "extends_cycle"}
VERDICTS = {"clean", "warn", "deny", "error"}

# ---------------------------------------------------------------------- (a) rulebook mutations

SMALL_RULEBOOKS = [
    '''rulebook demo "Demo"
  quarter 2026Q2
  source "Plan summary"

param visit_limit = 20
  cite "Plan summary"
param copay: money = $25.00
codeset timed "Timed" = 97110 97140 97530 97010-97039 M25.6*
phrases vague "Vague" = "tolerated well" "ROM improved"
let timed_minutes per date = sum(minutes of lines where code in timed)
let billed per line = units * 2

rule units.total "Units above the minutes"
  for each date
  category units  severity deny
  when sum(units of lines where code in timed) > cms_units(timed_minutes)
  say "{timed_minutes} minutes on {service_date}"
  cite "CMS Pub. 100-04 Ch. 5 sec. 20.2"
  fix for each l in lines where code in timed:
      replace "/lines/{l.index}/units" value 1

rule limit.visits "Visits above the limit"
  category limit  severity warn
  with visits = episode.visits_this_year otherwise 0
  when visits > visit_limit and not (documentation.patient_response mentions any of vague)
  unless provider.discipline = "DC"
  say "visit {visits} of {visit_limit}"
  cite "Plan summary"
''',
    '''rulebook pairs "Pairs and tables"
  quarter 2026Q3
  facts as of 2026-07-01

table mue "MUE" from "tables/mue_practitioner.csv"
  key code: code
  columns mue: integer, mai: integer, mai_text: text optional
table ncci "PTP" from "tables/ncci_ptp_therapy.csv"
  key column_1: code, column_2: code
  columns modifier_indicator: integer

rule ptp.pair "Bundled pair"
  for each pair
  category ptp  severity deny
  with edit = ncci[first.code, second.code]
  when first.date = second.date and edit is present and edit.modifier_indicator = 1
   and not (second.modifiers has any of ["59", "XE"])
  say "{second.code} with {first.code}"
  cite "NCCI"
  fix add "/lines/{second.index}/modifiers/-" value "59"

rule mue.line "Units above MUE"
  for each line
  category mue  severity deny
  with limit = mue[code]
  when limit is present and units > limit.mue
  say "{code}: {units}"
  cite "MUE"
  fix replace "/lines/{line.index}/units" value limit.mue

rule coding.dup "Same code twice"
  for each code
  category coding  severity warn
  when count(lines) > 1 and date_of_service - 30 days < service_date
  say "{code} twice on {service_date}"
  cite "First Coast"
''',
]

# An overlay of the bundled rulebook, so that mutations reach layering (override,
# disable, inherited names).
OVERLAY = '''rulebook acme-pt "Overlay of the bundled Part B rulebook"
  quarter 2026Q2
  extends medicare@2026Q2

override param skilled_care_after_visit = 18
  cite "Acme plan summary"
override codeset manual_therapy "Manual therapy" = 97140 97124
override let kx_threshold = kx_threshold_pt_slp
disable rule coding.97014_not_medicare because "Acme pays 97014"

override rule units.untimed_over_one "An untimed service is billed with more than one unit"
  for each line
  category units  severity warn
  when code in untimed and units > 1
  say "{code}: {units} units"
  cite "Acme plan summary"
  fix replace "/lines/{line.index}/units" value 1

rule limit.acme_visits "More than 30 visits a year"
  category limit  severity deny
  when episode.visits_this_year > 30 and manual_therapy_billed
  say "visit {episode.visits_this_year}"
  cite "Acme plan summary"
'''

SEEDS = [MEDICARE.read_text(encoding="utf-8")] + SMALL_RULEBOOKS + [OVERLAY]

TOKEN = re.compile(r'''
    "(?:[^"\\\n]|\\.)*"            # a quoted text
  | \#[^\n]*                       # a comment
  | \$[0-9][0-9,]*(?:\.[0-9]+)?    # money
  | [0-9]{4}-[0-9]{2}-[0-9]{2}     # a date
  | [A-Za-z_][A-Za-z0-9_]*         # a word
  | [0-9][0-9A-Z]*(?:\.[0-9A-Z]*)?\*?   # a number or a code
  | <= | >= | != | \S              # punctuation
''', re.X)


WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in TOKEN.finditer(text)]


_TOKENS = [tokens(text) for text in SEEDS]


@st.composite
def mutated_rulebooks(draw) -> str:
    index = draw(st.integers(0, len(SEEDS) - 1))
    text, spans = SEEDS[index], _TOKENS[index]
    pieces = [text[a:b] for a, b in spans]
    gaps = [text[:spans[0][0]]] + [text[spans[i][1]:spans[i + 1][0]] for i in range(len(spans) - 1)] \
        + [text[spans[-1][1]:]]
    for _ in range(draw(st.integers(1, 4))):
        if not pieces:
            break
        i = draw(st.integers(0, len(pieces) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "copy", "insert", "rename", "rename"]))
        if op == "rename":
            # A word over another word: the text usually still parses, so the later
            # stages (names, types, scopes, layering, the graph) get exercised.
            words = [k for k, piece in enumerate(pieces) if WORD.fullmatch(piece)]
            if words:
                target = words[draw(st.integers(0, len(words) - 1))]
                pieces[target] = pieces[words[draw(st.integers(0, len(words) - 1))]]
        elif op == "delete":
            del pieces[i]
            del gaps[i + 1]
        elif op == "duplicate":
            pieces.insert(i, pieces[i])
            gaps.insert(i + 1, " ")
        elif op == "swap":
            j = draw(st.integers(0, len(pieces) - 1))
            pieces[i], pieces[j] = pieces[j], pieces[i]
        elif op == "copy":
            pieces[i] = pieces[draw(st.integers(0, len(pieces) - 1))]
        else:
            word = draw(st.sampled_from(['"', "(", ")", "[", "]", ",", ":", "=", "-", "*", ".", "@", "{", "}",
                                         "override", "per", "for", "each", "of", "where", "not", "is", "\n",
                                         "$0.00", "0", "99999999999999999999", "2026-02-30", "Q2", "\t", "'",
                                         "\u201c", "\u2013", "\\", "#", "rule", "let", "disable", "in",
                                         "minutes", "days", "weeks", "if", "then", "else", "it", "line"]))
            pieces.insert(i, word)
            gaps.insert(i + 1, draw(st.sampled_from([" ", "", "\n"])))
    out = [gaps[0]]
    for piece, gap in zip(pieces, gaps[1:]):
        out.append(piece)
        out.append(gap)
    return "".join(out)


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="payerlint-fuzz-") as folder:
        # A copy, not a link: a table reached through a link out of the tree is refused.
        shutil.copytree(TABLES, os.path.join(folder, "tables"))
        yield Path(folder)


# One loader for the whole module: the base of OVERLAY is compiled once. compile_path
# itself never caches the file it is given, so each mutation is compiled afresh.
_loader = Loader(Home(ROOT, "tests"))


def check_compile_outcome(path: Path) -> None:
    """Compile `path`; any outcome other than success or well-placed diagnostics fails."""
    text = path.read_text(encoding="utf-8")
    line_count = text.count("\n") + 1
    try:
        compiled = compile_path(str(path), _loader)
    except DiagnosticError as exc:
        assert exc.diagnostics, "a DiagnosticError with no diagnostics"
        for d in exc.diagnostics:
            assert "internal" not in d.code, d.render()
            assert d.message.strip(), d.render()
            if d.span is None:
                assert d.code in FILE_LEVEL, f"diagnostic without a place: {d.render()}"
                continue
            assert d.span.line >= 1 and d.span.column >= 1, d.render()
            if d.span.file == str(path):
                assert d.span.line <= line_count, d.render()
            for related in d.related:
                assert related.line >= 1 and related.column >= 1, d.render()
        exc.render()
        return
    assert isinstance(compiled, CompiledRulebook)


@fuzz_settings
@given(text=mutated_rulebooks())
def test_mutated_rulebooks_compile_or_report(workdir, text):
    path = workdir / "mutated.rules"
    path.write_text(text, encoding="utf-8")
    check_compile_outcome(path)


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_seed_rulebooks_compile(workdir, index):
    """The unmutated seeds compile: otherwise every mutation would only test one error."""
    assert SEEDS[index].count("\n") > 10
    path = workdir / f"seed{index}.rules"
    path.write_text(SEEDS[index], encoding="utf-8")
    compile_path(str(path), _loader)


# Token soup: random sequences of the language's own words, which reach far more parser
# states (and so more of the error wording) than character noise does.
VOCABULARY = sorted(set(re.findall(r'"(?:[^"\\\n]|\\.)*"|[a-z_]+|[0-9A-Z$][0-9A-Z.,$*]*|<=|>=|!=|\S',
                                   SEEDS[1] + SEEDS[2])))


@fuzz_settings
@given(text=st.one_of(
    st.lists(st.sampled_from(VOCABULARY), max_size=40).map(lambda words: 'rulebook x "X"\n' + " ".join(words)),
    st.lists(st.sampled_from(VOCABULARY + ["\n", "\n\n", "\u2028", "\x0c", "#", "\t"]), max_size=60).map(" ".join),
    st.text(max_size=200).map(lambda noise: 'rulebook x "X"\n' + noise),
))
def test_random_text_parses_or_reports(text):
    """Parsing alone: only DiagnosticError, every diagnostic placed inside the text."""
    from payerlint.syntax.parser import parse

    lines = text.split("\n")
    try:
        parse(text, "soup.rules")
    except DiagnosticError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.span is not None and d.span.file == "soup.rules", d.render()
            assert 1 <= d.span.line <= len(lines), d.render()
            assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, d.render()
            assert d.message and "unexpected the" not in d.message, d.render()
        exc.render()


# ---------------------------------------------------------------------- (b) random claims

CODES = ["97110", "97140", "97530", "97010", "97014", "97161", "G0283", "98940", "98943", "97035", "97750",
         "99213", "ABCDE", "9714", "97140X", "", "97 40"]
VALID_CODES = ["97110", "97140", "97530", "97010", "97014", "97161", "G0283", "98940", "98943", "97035", "97750",
               "97150", "97012"]
MODIFIERS = ["GP", "GO", "GN", "CQ", "CO", "59", "XE", "XS", "XP", "XU", "76", "KX", "AT", "gp", "G", "123"]
DATES = ["2026-04-01", "2026-05-14", "2026-06-30", "2026-07-01", "2025-10-01", "2026-02-30", "2026-13-01",
         "14/05/2026", "", "2026-5-14", "0001-01-01", "9999-12-31"]

# Dates the schema accepts, the ends of the calendar included.
VALID_DATES = ["2026-04-01", "2026-05-14", "2026-06-30", "2025-01-01", "2024-02-29", "0001-01-01", "9999-10-01",
               "9999-12-31", "1900-01-01"] + os.environ.get("PAYERLINT_FUZZ_EXTRA_DATES", "").split()
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from(CODES + MODIFIERS + DATES + ["48.00", "-1.00", "1e3", "PT", "DC"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def plausible_line():
    return st.fixed_dictionaries(
        {"code": st.sampled_from(CODES), "units": st.integers(-2, 30), "minutes": st.integers(-5, 200)},
        optional={
            "modifiers": st.lists(st.sampled_from(MODIFIERS), max_size=5),
            "charge": st.sampled_from(["48.00", "0.00", "1234.56", "12", "-3.00"]),
            "diagnosis_pointers": st.lists(st.integers(-1, 14), max_size=4),
            "date": st.sampled_from(DATES),
            "assistant_minutes": st.integers(-5, 200),
            "performed_by": st.sampled_from(["PT", "PTA", "OT", "OTA", "SLP", "XX"]),
            "body_region": st.text(max_size=15),
        },
    )


def valid_line():
    return st.fixed_dictionaries(
        {"code": st.sampled_from(VALID_CODES), "units": st.integers(0, 12), "minutes": st.integers(0, 120),
         "modifiers": st.lists(st.sampled_from(MODIFIERS[:13]), max_size=4, unique=True),
         "charge": st.sampled_from(["48.00", "0.00", "1234.56"]), "diagnosis_pointers": st.lists(st.integers(1, 3),
                                                                                                min_size=1, max_size=3)},
        optional={"date": st.sampled_from(VALID_DATES[:5]), "assistant_minutes": st.integers(0, 120),
                  "performed_by": st.sampled_from(["PT", "PTA", "OT", "OTA"])},
    )


def paths(value, prefix=()):
    """Every path (tuple of keys and indexes) inside a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from paths(sub, prefix + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from paths(sub, prefix + (index,))


def parent_of(claim, path):
    node = claim
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def random_claims(draw):
    claim = copy.deepcopy(CLEAN)
    # Half the claims stay (mostly) valid, so the rules themselves run on odd values;
    # the other half are broken in every way, so validation and the input findings run.
    chaos = draw(st.booleans())
    for _ in range(draw(st.integers(0, 3))):
        claim["lines"].append(draw(plausible_line() if chaos else valid_line()))
    for _ in range(draw(st.integers(0, 6))):
        if not isinstance(claim, dict):
            break
        every = [p for p in paths(claim) if p]
        if not every:
            break
        path = draw(st.sampled_from(every))
        parent = parent_of(claim, path)
        op = draw(st.sampled_from(["delete", "null", "value", "date", "code", "wrong_type", "extra",
                                   "valid_date", "valid_date", "valid_number", "valid_number"]
                                  if chaos else ["valid_date", "valid_number"]))
        key = path[-1]
        if op in ("valid_date", "valid_number"):
            # Keep the claim valid more often: a date field gets another real date (the
            # ends of the calendar included), a whole number another whole number.
            wanted = (lambda v: isinstance(v, str) and bool(ISO_DATE.fullmatch(v))) if op == "valid_date" \
                else (lambda v: isinstance(v, int) and not isinstance(v, bool))
            fitting = [p for p in every if wanted(parent_of(claim, p)[p[-1]])]
            if not fitting:
                continue
            path = draw(st.sampled_from(fitting))
            parent, key = parent_of(claim, path), path[-1]
            parent[key] = draw(st.sampled_from(VALID_DATES)) if op == "valid_date" \
                else draw(st.integers(-1, 10**12) if chaos else st.integers(1, 12))
        elif op == "delete":
            del parent[key]
        elif op == "null":
            parent[key] = None
        elif op == "value":
            parent[key] = draw(json_values)
        elif op == "date":
            parent[key] = draw(st.sampled_from(DATES))
        elif op == "code":
            parent[key] = draw(st.sampled_from(CODES + MODIFIERS))
        elif op == "wrong_type":
            current = parent[key]
            parent[key] = [current] if not isinstance(current, list) else {"0": current}
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["x-note", "extra", "Lines", "unit"]))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    if chaos and draw(st.integers(0, 20)) == 13:
        claim = draw(json_values)  # not even an object
    return claim


@pytest.fixture(scope="module")
def checker(medicare):
    return Checker(medicare)


_validator = ClaimValidator()
_POINTER_PREFIX = re.compile(r"^/.*?: ", re.S)


@fuzz_settings
@given(claim=random_claims())
def test_random_claims_never_crash(checker, claim):
    before = json.dumps(claim, sort_keys=True, default=repr)
    result = checker.check(claim)
    assert result.verdict in VERDICTS
    assert json.dumps(claim, sort_keys=True, default=repr) == before, "check() changed the claim"
    problems = _validator.validate(claim)
    if problems:
        assert result.verdict == "error"
        assert result.findings
        for finding in result.findings:
            assert finding.category == "input", finding
            assert _POINTER_PREFIX.match(finding.message), f"no JSON pointer in: {finding.message}"
    else:
        assert result.verdict != "error" or any(f.category == "input" for f in result.findings)


def test_clean_claim_is_clean(checker):
    assert checker.check(copy.deepcopy(CLEAN)).verdict == "clean"



@pytest.mark.parametrize("field", ["start", "recertified_on"])
def test_plan_of_care_at_the_end_of_the_calendar(checker, field):
    # Found by test_random_claims_never_crash: a schema-valid date near 9999-12-31
    # plus the rulebook's 90 recertification days overflows Python's date.
    claim = copy.deepcopy(CLEAN)
    claim["episode"]["plan_of_care"][field] = "9999-12-31"
    assert checker.check(claim).verdict in VERDICTS
