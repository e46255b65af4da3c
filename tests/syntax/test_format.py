"""`payerlint fmt`: one canonical layout that never changes meaning and keeps comments.

Properties, on every shipped rulebook and on generated ones (hypothesis):
- parse(format(x)) == parse(x): trees compare without spans, comments or layout, so an
  equal tree is an unchanged meaning;
- format(format(x)) == format(x);
- every comment of x is in format(x), as many times as it was written.

Goldens (`format/<case>.rules` -> `format/<case>.out`) show the layout a lead will read;
refresh them with PAYERLINT_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from payerlint.diagnostics import DiagnosticError
from payerlint.syntax.format import WIDTH, format_rulebook, format_source
from payerlint.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "format"
SHIPPED = sorted((ROOT / "rulebooks").glob("*/*.rules"))
CASES = sorted(p.stem for p in HERE.glob("*.rules"))
UPDATE = os.environ.get("PAYERLINT_UPDATE_GOLDEN") == "1"
EXAMPLES = int(os.environ.get("PAYERLINT_FUZZ_EXAMPLES", "100"))


def comments_of(text: str) -> Counter:
    from payerlint.source import SourceFile
    from payerlint.syntax.parser import _comments

    return Counter(c.text.rstrip() for c in _comments(SourceFile("x", text)))


def assert_properties(text: str, path: str = "case.rules") -> str:
    tree = parse(text, path)
    formatted = format_rulebook(tree)
    assert parse(formatted, path + ".formatted") == tree, "formatting changed the meaning"
    assert format_source(formatted, path + ".formatted") == formatted, "formatting twice changed the text"
    assert comments_of(formatted) == comments_of(text), "a comment was lost or duplicated"
    return formatted


@pytest.mark.tree
@pytest.mark.parametrize("path", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED])
def test_every_shipped_rulebook_formats_to_the_same_meaning_once_and_for_all(path):
    assert_properties(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.tree
@pytest.mark.parametrize("path", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED])
def test_every_shipped_rulebook_is_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text, f"run: payerlint fmt {path.relative_to(ROOT)}"


@pytest.mark.parametrize("case", CASES)
def test_golden_layout(case):
    formatted = assert_properties((HERE / f"{case}.rules").read_text(encoding="utf-8"))
    golden = HERE / f"{case}.out"
    if UPDATE:
        golden.write_text(formatted, encoding="utf-8")
    assert formatted == golden.read_text(encoding="utf-8")


def test_comments_stay_beside_the_code_they_were_written_with():
    out = (HERE / "comments.out").read_text(encoding="utf-8").splitlines()
    # A trailing comment ends the line that holds its code, even when the line moved.
    assert '  source "Acme plan summary"  # first, though it prints last' in out
    assert "  category limit  severity deny  # deny it" in out
    # An own-line comment inside a broken condition sits above the operand it preceded.
    at = out.index("   # and only past the limit")
    assert out[at + 1] == "   and episode.visits_this_year > visits"
    # An indented note under a declaration stays under it; a margin comment goes with the next one.
    assert out[out.index("param copay: money = $25.00") + 1] == "  # an indented note that belongs to copay"
    assert out[out.index("# ---------------------------------------------------------------- codes") + 1].startswith(
        "codeset timed")


def test_lines_fit_the_width_unless_a_single_word_or_text_is_longer():
    for path in SHIPPED:
        for line in format_source(path.read_text(encoding="utf-8"), str(path)).splitlines():
            if len(line) > WIDTH:
                # Quoted texts and comments are never split; an expression breaks only at
                # `and`, `or`, `then` and `else`.
                assert ('"' in line or line.lstrip().startswith("#")
                        or not re.search(r"\b(and|or|then|else)\b", line)), line


def test_a_rule_with_two_when_clauses_is_left_alone():
    text = 'rulebook d "D"\nrule a.b "T"\n  category units severity deny\n  when x\n  when y\n  say "s"\n  cite "c"\n'
    with pytest.raises(DiagnosticError) as error:
        format_source(text, "d.rules")
    assert "more than one 'when' clause" in error.value.render()


# ------------------------------------------------------------------ the command


def cli(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "payerlint", *args], capture_output=True, text=True, input=stdin,
                          cwd=cwd)


def test_fmt_check_lists_files_that_would_change_and_fmt_rewrites_them(tmp_path):
    messy = tmp_path / "tree" / "acme" / "2026Q2.rules"
    messy.parent.mkdir(parents=True)
    messy.write_text((HERE / "layout.rules").read_text(encoding="utf-8"), encoding="utf-8")
    tidy = tmp_path / "tree" / "acme" / "2026Q3.rules"
    tidy.write_text((HERE / "layout.out").read_text(encoding="utf-8"), encoding="utf-8")
    check = cli("fmt", "--check", str(tmp_path / "tree"))
    assert check.returncode == 1
    assert check.stdout == f"{messy}: would be reformatted\n"
    assert messy.read_text(encoding="utf-8") == (HERE / "layout.rules").read_text(encoding="utf-8")
    run = cli("fmt", str(tmp_path / "tree"))
    assert run.returncode == 0 and f"{messy}: reformatted" in run.stdout
    assert messy.read_text(encoding="utf-8") == (HERE / "layout.out").read_text(encoding="utf-8")
    assert cli("fmt", "--check", str(tmp_path / "tree")).returncode == 0


def test_fmt_reports_a_file_that_does_not_parse_and_goes_on(tmp_path):
    broken = tmp_path / "a.rules"
    broken.write_text('rulebook a "A"\nparam = 3\n', encoding="utf-8")
    messy = tmp_path / "b.rules"
    messy.write_text('rulebook b "B"   quarter 2026Q2\n', encoding="utf-8")
    run = cli("fmt", str(broken), str(messy))
    assert run.returncode == 2
    assert f"{broken}:2:7" in run.stderr
    assert broken.read_text(encoding="utf-8") == 'rulebook a "A"\nparam = 3\n'
    assert messy.read_text(encoding="utf-8") == 'rulebook b "B"\n  quarter 2026Q2\n'


def test_fmt_reads_standard_input():
    run = cli("fmt", "-", stdin='rulebook b "B"   quarter 2026Q2 param x=1\n')
    assert run.returncode == 0
    assert run.stdout == 'rulebook b "B"\n  quarter 2026Q2\n\nparam x = 1\n'


# ------------------------------------------------------------------ generated rulebooks

from test_fuzz import SEED, SEEDS, mutated_rulebooks  # noqa: E402


def fuzz(examples: int):
    """Derandomized like test_fuzz (the same examples in CI every run), unless
    PAYERLINT_FUZZ_SEED asks for others."""
    return settings(max_examples=examples, deadline=None, derandomize=SEED is None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[^\s"#]+')


@st.composite
def relaid_rulebooks(draw) -> str:
    """A shipped or sample rulebook with its layout redrawn: every gap between two tokens
    becomes one or more spaces, a line break with any indentation, or a comment."""
    text = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
    if len(text) > 8000:  # the whole Medicare rulebook: a random stretch of its declarations
        starts = [m.start() for m in re.finditer(r"^(?=param |codeset |phrases |let |rule )", text, re.M)]
        first = draw(st.integers(0, len(starts) - 8))
        header_end = starts[0]
        text = text[:header_end] + text[starts[first]:starts[first + 7]]
    pieces = []
    for match in TOKEN.finditer(text):
        token = match.group(0)
        if token.startswith("#"):
            pieces.append(token + "\n")
            continue
        pieces.append(token)
        gap = draw(st.sampled_from([" ", " ", " ", "   ", "\n", "\n  ", "\n      ", "\n\n", " # note\n", "\n# margin\n"]))
        pieces.append(gap)
    return "".join(pieces)


@fuzz(EXAMPLES)
@given(relaid_rulebooks())
def test_any_layout_of_a_rulebook_formats_to_the_same_tree(text):
    try:
        tree = parse(text, "relaid.rules")
    except DiagnosticError:
        # A gap turned into a comment can swallow nothing, but a keyword glued to a code
        # by the tokeniser could; such texts are not rulebooks and not what is tested.
        assume(False)
    assert_properties(text, "relaid.rules")
    assert tree is not None


@fuzz(max(1, EXAMPLES // 6))  # most mutants do not parse, and reporting that costs more than formatting
@given(mutated_rulebooks())
def test_a_mutated_rulebook_that_still_parses_formats_to_the_same_tree(text):
    try:
        parse(text, "mutated.rules")
    except DiagnosticError:
        return
    try:
        assert_properties(text, "mutated.rules")
    except DiagnosticError as exc:
        # A mutation may duplicate a clause: the formatter refuses it, as it must.
        assert {d.code for d in exc.diagnostics} == {"duplicate_clause"}


NAMES = st.sampled_from(["units", "minutes", "code", "timed", "it", "line", "x"])
ATOMS = st.one_of(
    NAMES, st.sampled_from(["1", "15", "0.85", "$2,480.00", "2026-04-01", "8 minutes", "30 days", "2 weeks",
                            '"97140"', '"a \\"quoted\\" word"', "true", "false", "98940-98942", "S93.4*",
                            "G0283-G0285"]))


def expressions(depth: int = 0):
    if depth > 3:
        return ATOMS
    inner = expressions(depth + 1)

    def wrap(x):
        return st.one_of(st.just(x), st.just(f"({x})"))

    binary = st.tuples(inner, st.sampled_from(["and", "or", "=", "!=", "<", ">=", "+", "-", "*", "/", "otherwise",
                                              "in", "not in", "where", "of", "has any of", "has none of",
                                              "mentions any of", "mentions"]), inner)
    return st.one_of(
        ATOMS,
        binary.flatmap(lambda t: wrap(f"({t[0]}) {t[1]} ({t[2]})")),
        binary.flatmap(lambda t: wrap(f"{t[0]} {t[1]} {t[2]}")),
        inner.flatmap(lambda x: wrap(f"not ({x})")),
        inner.flatmap(lambda x: wrap(f"-({x})")),
        inner.flatmap(lambda x: wrap(f"({x}) is not missing")),
        st.tuples(inner, inner, inner).flatmap(lambda t: wrap(f"if {t[0]} then {t[1]} else {t[2]}")),
        st.tuples(inner, inner).map(lambda t: f"f({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(inner, inner).map(lambda t: f"ncci[{t[0]}, {t[1]}].source"),
    )


@fuzz(EXAMPLES + EXAMPLES // 2)
@given(st.lists(expressions(), min_size=1, max_size=4))
def test_generated_expressions_keep_their_meaning_with_the_fewest_parentheses(exprs):
    text = 'rulebook gen "Generated"\n' + "".join(f"let e{i} = {e}\n" for i, e in enumerate(exprs))
    try:
        parse(text, "gen.rules")
    except DiagnosticError:
        assume(False)
    formatted = assert_properties(text, "gen.rules")
    # Every parenthesis left is needed: removing any one pair changes the tree or the parse.
    assert formatted.count("(") == formatted.count(")")


@pytest.mark.parametrize("method", ["cms_total_time", "ama_per_code"])
def test_payers_new_writes_a_rulebook_already_in_the_canonical_layout(tmp_path, method):
    from payerlint.home import Home
    from payerlint.payers.scaffold import scaffold_payer

    home = Home(tmp_path, "--home", (ROOT,))
    _, rulebook = scaffold_payer(home, "acme-pt", "commercial", 'Acme "PT" plan', None, [], method)
    text = rulebook.read_text(encoding="utf-8")
    assert format_source(text, str(rulebook)) == text


def test_windows_line_endings_and_a_byte_order_mark_become_plain_lines(tmp_path):
    path = tmp_path / "crlf.rules"
    path.write_bytes(b'\xef\xbb\xbfrulebook d "D"\r\n  quarter 2026Q2   # q\r\n\r\nparam x = 1\r\n')
    run = cli("fmt", str(path))
    assert run.returncode == 0
    assert path.read_bytes() == b'rulebook d "D"\n  quarter 2026Q2  # q\n\nparam x = 1\n'
