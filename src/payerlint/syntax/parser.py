"""Text to syntax tree. lark is used here and nowhere else in payerlint.

`parse(text, path)` returns a `tree.Rulebook` or raises `DiagnosticError` with every
syntax error in the file: when the whole file does not parse, each declaration is parsed
on its own so that one typo does not hide the next.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import grammar_path, writable_cache_dir
from payerlint.source import SourceFile, Span, remember, unreadable
from payerlint.syntax import tree as t
from payerlint.quarter import Quarter, QuarterError
from payerlint.syntax.errors import (
    CLAUSE_WORDS, DECLARATION_WORDS, EXAMPLES, LOOKALIKES, describe_expected, example_for, lowercase_code,
)

# Words that start a top-level declaration. A line starting with one of them starts a new
# chunk when the file is re-parsed piece by piece to report every syntax error.
TOP_LEVEL = ("rulebook", "param", "codeset", "phrases", "table", "let", "rule", "override", "disable", "adopt")
_CHUNK_START = re.compile(r"^[ \t]*(?:%s)\b" % "|".join(TOP_LEVEL), re.M)


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    # Building the parser with strict checks takes about 0.4 s; lark can keep the result
    # in a cache file keyed by the grammar's hash, which makes later starts ~10x faster.
    # The cache is an optimisation only: without a writable cache folder we build anew.
    folder = writable_cache_dir()
    cache = str(folder / f"grammar-{lark.__version__}.lark-cache") if folder else False
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        strict=True,
        propagate_positions=True,
        start=["start", "fragment"],
        cache=cache,
    )


def parse(text: str, path: str = "<rulebook>") -> t.Rulebook:
    """Parse rulebook text.

    >>> rb = parse('rulebook demo "Demo"\\nparam visits = 12\\n', "demo.rules")
    >>> rb.items[0].name.id, rb.items[0].value.value
    ('visits', 12)
    """
    source = remember(SourceFile(path, text))
    try:
        lark_tree = _lark().parse(text, start="start")
    except UnexpectedInput as first_error:
        raise DiagnosticError(_all_syntax_errors(source, first_error)) from None
    too_deep = _too_deep(lark_tree, path)
    if too_deep:
        raise DiagnosticError(too_deep)
    builder = _Builder(path)
    rulebook = builder.transform(lark_tree)
    if builder.errors:
        raise DiagnosticError(builder.errors)
    return _attach_comments(rulebook, _comments(source))


def parse_file(path: str) -> t.Rulebook:
    try:
        source = SourceFile.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DiagnosticError([Diagnostic("file_unreadable",
                                          f"cannot read rulebook {path}: {unreadable(path, exc)}")]) from None
    return parse(source.text, source.path)


# ------------------------------------------------------------------ nesting

# Every later stage (building the tree, resolving, evaluating) walks an expression
# recursively; Python's stack allows about 500 levels. No real rule comes near this
# limit (the bundled ones nest under 20); a chain of 200 `or`s is a code set in disguise.
MAX_NESTING = 200
# Whole numbers in a rulebook count units, minutes, days and visits; Python refuses to
# convert numbers of more than 4300 digits, and dates overflow long before that.
MAX_DIGITS = 18


def _too_deep(lark_tree: lark.Tree, path: str) -> list[Diagnostic]:
    """One diagnostic per declaration whose expression nests deeper than MAX_NESTING."""
    found = []
    for item in lark_tree.children:
        if not isinstance(item, lark.Tree):
            continue
        deepest = 0
        stack = [(item, 1)]
        while stack:
            node, depth = stack.pop()
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))
        if deepest > MAX_NESTING:
            meta = item.meta
            found.append(Diagnostic(
                "too_deeply_nested",
                f"this declaration nests {deepest} levels deep; payerlint accepts at most {MAX_NESTING}",
                span=Span(path, meta.line, meta.column, meta.line, meta.column + 1),
                notes=("split the expression into definitions (let), or list many codes in a code set "
                       "instead of a long chain of 'or'",),
            ))
    return found


# ------------------------------------------------------------------ syntax errors


def _all_syntax_errors(source: SourceFile, first_error: UnexpectedInput) -> list[Diagnostic]:
    """Re-parse each declaration alone so every broken declaration gets its own message."""
    text = source.text
    starts = [m.start() for m in _CHUNK_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    chunks = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        # `override` on a line of its own belongs with the declaration below it.
        if chunks and re.fullmatch(r"\s*override\s*", _strip_comments(text[chunks[-1][0]:chunks[-1][1]])):
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    found: list[Diagnostic] = []
    for start, end in chunks:
        piece = text[start:end]
        if not _strip_comments(piece).strip():
            continue
        # Blank out everything before the chunk (keeping line breaks) so lark reports
        # true line and column numbers.
        masked = re.sub(r"[^\n]", " ", text[:start]) + piece
        try:
            _lark().parse(masked, start="fragment")
        except UnexpectedInput as err:
            found.append(_syntax_diagnostic(source, err, start, end))
    if not found:
        found.append(_syntax_diagnostic(source, first_error, 0, len(text), whole_file=True))
    return found


def _strip_comments(text: str) -> str:
    return "\n".join(_split_comment(line)[0] for line in text.split("\n"))


def _accepted(err: UnexpectedInput) -> set[str]:
    """The terminals that would really move the parse on at the error.

    lark's own `expected` list comes from LALR states whose lookaheads were merged, so
    it names words that would fail one step later (rule clauses inside a `let`); the
    interactive parser tries each one."""
    parser = getattr(err, "interactive_parser", None)
    if parser is not None:
        try:
            accepted = set(parser.accepts())
        except Exception:  # pragma: no cover - only a nicer list is lost
            accepted = set()
        if accepted:
            return accepted
    return set(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())


def _syntax_diagnostic(source: SourceFile, err: UnexpectedInput, start: int, end: int,
                       whole_file: bool = False) -> Diagnostic:
    chunk = source.text[start:end]
    line, column = getattr(err, "line", 1), getattr(err, "column", 1)
    line = line if isinstance(line, int) and line > 0 else 1
    column = column if isinstance(column, int) and column > 0 else 1
    accepted = _accepted(err)
    at_end = isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END")
    rest = _next_code_line(source, end) if not whole_file else None
    end_word = "the end of the file" if whole_file else "a new declaration (rule, let, param, codeset, ...)"
    notes: list[str] = []
    example = example_for(chunk)
    if accepted == {"RULEBOOK"}:
        # Nothing before the header parses: say what a file starts with.
        example = EXAMPLES["rulebook"]
        if at_end:
            return Diagnostic("syntax_error", "the file has no rulebook header: a rulebook file starts with "
                              "rulebook <id> \"<title>\"", span=Span(source.path, 1, 1, 1, 2), notes=(example,))
        token = str(getattr(err, "token", "")) or _line_text(source, line)[column - 1:column]
        span = Span(source.path, line, column, line, column + max(1, len(token)))
        return Diagnostic("syntax_error", f"a rulebook file starts with its header, rulebook <id> \"<title>\", "
                          f"but this one starts with '{token}'", span=span, notes=(example,))
    if at_end:
        # The end of this declaration, not of the file: chunks are parsed one at a time.
        span = _end_span(source, start, end)
        if rest:
            found = f"the declaration ends before the next one starts on line {rest}"
        else:
            found = "the file ends"
        message = f"{found}, but {describe_expected(accepted, _lark(), end_word)} was expected here"
        if rest and not whole_file:
            notes.append("a line starting with rulebook, param, codeset, phrases, table, let, rule, override, disable or "
                         "adopt starts a new declaration")
    elif isinstance(err, UnexpectedToken):
        token = str(err.token)
        span = Span(source.path, line, column, line, column + max(1, len(token)))
        message = f"unexpected '{token}'; expected {describe_expected(accepted, _lark(), end_word)}"
        special = _special_token(source, err, accepted, span)
        if special is not None:
            message, span, extra = special
            notes.extend(extra)
    else:
        bad = _line_text(source, line)[column - 1:column] or "?"
        span = Span(source.path, line, column, line, column + 1)
        shown = {"\t": "a tab", "\u00a0": "a non-breaking space"}.get(bad, f"'{bad}'")
        message = f"unexpected character {shown}; expected {describe_expected(accepted, _lark(), end_word)}"
        bad_amount = _bad_amount(source, span)
        if bad_amount is not None:
            message, span, _ = bad_amount
        elif bad == '"' and '"' not in _line_text(source, line)[column:]:
            message = ("this quoted text is not closed: the closing '\"' is missing before the end of the line")
            notes.append("quoted text stays on one line; to continue a say or cite text on the next line, "
                         "close it and open a new one: say \"first part\" \"second part\"")
        elif bad in LOOKALIKES:
            notes.append(f"'{bad}' is {LOOKALIKES[bad]}")
    if example:
        notes.append(example)
    return Diagnostic("syntax_error", message, span=span, notes=tuple(notes))


def _keywords(accepted: set[str]) -> list[str]:
    """The words among the accepted terminals (`category`, `when`, ...)."""
    words = []
    for name in accepted:
        try:
            pattern = _lark().get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isalpha():
            words.append(pattern.value)
    return words


def _date_like(source: SourceFile, span: Span):
    """`2026-7-1`: a date without two-digit month and day reads as a subtraction."""
    text = _line_text(source, span.line)
    for match in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", text):
        if match.start() < span.column <= match.end() + 1 and (len(match.group(2)) < 2 or len(match.group(3)) < 2):
            fixed = f"{match.group(1)}-{int(match.group(2)):02d}-{int(match.group(3)):02d}"
            where = Span(source.path, span.line, match.start() + 1, span.line, match.end() + 1)
            return f"'{match.group(0)}' is not a date: dates are written year-month-day with two digits each, " \
                   f"like {fixed}", where, []
    return None


_DENIAL = re.compile(r"^(\s*denial\s+)(\S+(?:\s+remark\b.*)?)\s*$")
_DENIAL_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(?:\s+remark(?:\s+[A-Z0-9]+)+)?$")


def _bad_denial(source: SourceFile, span: Span):
    """`denial 151`, `denial CO151`, `denial CO-15l`: the grammar reads a code, then wants the
    '-' of a range on the next line. Said as what a denial is, at the denial."""
    for number in (span.line, span.line - 1):
        if number < 1:
            continue
        match = _DENIAL.match(_line_text(source, number))
        if match is None or (number == span.line and span.column <= len(match.group(1))):
            continue
        written = match.group(2)
        if _DENIAL_CODE.match(written):
            return None
        where = Span(source.path, number, len(match.group(1)) + 1, number, len(match.group(1)) + len(written) + 1)
        return (f"'{written}' is not a denial code: write the group and the reason code joined by '-', like CO-151 "
                f"(the group is CO, CR, OA, PI or PR), then any remark codes: denial CO-16 remark M76", where, [])
    return None


def _special_token(source: SourceFile, err: UnexpectedToken, accepted: set[str], span: Span):
    """Messages for slips that a list of expected words explains badly: (message, span, notes) or None."""
    token = str(err.token)
    date_like = _date_like(source, span)
    if date_like is not None:
        return date_like
    denial = _bad_denial(source, span)
    if denial is not None:
        return denial
    foreign = _foreign_word(source, span, accepted)
    if foreign is not None:
        return foreign
    # A keyword misspelled where keywords are expected: `categroy units`.
    word_span, word = _word_at(source, span)
    if word.isalpha():
        from payerlint.diagnostics import did_you_mean

        close = did_you_mean(word, _keywords(accepted))
        if close is not None and word not in _keywords(accepted):
            return (f"unexpected '{word}'; {close}", word_span, [])
    # A quarter written 2026-Q2, 2026q2 or 2026Q5.
    if accepted & {"QUARTER", "RULEBOOK_REF"}:
        word_span, word = _word_at(source, span)
        if "RULEBOOK_REF" in accepted:
            family, at, quarter = word.partition("@")
            if not at:
                return (f"'{word}' names no quarter: a base rulebook is written family@quarter, like "
                        f"therapy-common@2026Q2, or as a quoted path", word_span, [])
            word = quarter
        try:
            Quarter.parse(word)
        except QuarterError as exc:
            return str(exc), word_span, []
    # A code written in lower case: g0283, gp.
    if "CODE" in accepted:
        upper = lowercase_code(token)
        if upper is not None:
            return f"'{token}' is not a code: codes are written in capitals, like {upper}", span, []
    bad_amount = _bad_amount(source, span)
    if bad_amount is not None:
        return bad_amount
    # A code in an expression needs quotes: code = "G0283", "GP" in modifiers.
    whole = re.match(r"[A-Za-z0-9_.*]*", _line_text(source, span.line)[span.column - 1:]).group(0)
    if {"STRING", "NAME"} <= accepted and err.token.type == "CODE" and whole == token:
        return (f"'{token}' looks like a code: in an expression a code is written in quotes, \"{token}\"", span,
                ["a bare word is a name (a param, a definition, a claim field); a code set lists codes "
                 "without quotes"])
    # An id or a name written with capitals: Units.Total, Kx_Threshold, Acme.
    if accepted & {"RULE_ID", "NAME", "RULEBOOK_ID"} and re.search(r"[A-Z]", token):
        word_span, word = _word_at(source, span)
        word = re.match(r"[A-Za-z0-9_.-]*", word).group(0) or token
        word_span = Span(span.file, span.line, span.column, span.line, span.column + len(word))
        lower = word.lower()
        if re.fullmatch(r"[a-z][a-z0-9_.-]*", lower):
            what = ("a rule id" if "RULE_ID" in accepted else "a rulebook id" if "RULEBOOK_ID" in accepted
                    else "a name")
            return f"'{word}' has capitals, but {what} is written in lower case: {lower}", word_span, []
    # `when x > \n say "hi"` lexes `say` as a name (keywords are contextual), so the parser
    # trips on the text after it. Point at the keyword, which is where a value is missing.
    keyword = _keyword_taken_as_name(source, err)
    if keyword is not None:
        word, word_span, before = keyword
        after = f" after '{before}'" if before else ""
        return (f"the expression before '{word}' is incomplete: a value is missing{after}", word_span,
                [f"'{word}' starts a new clause, so it cannot be the missing value"])
    return None


# Words leads write for membership and ranges, which the language spells otherwise.
MEMBERSHIP_WORDS = {"contains", "contain", "includes", "include", "within", "inside"}
RANGE_WORDS = {"between", "through", "thru"}


def _foreign_word(source: SourceFile, span: Span, accepted: set[str]):
    """`modifiers contains "59"`, `code between 98940 and 98942`, `code in (97140, 97110)`,
    `2* 3`: say how the language writes it. (message, span, notes) or None."""
    text = _line_text(source, span.line)
    before = text[:span.column - 1]
    here = re.match(r"[A-Za-z_]+", text[span.column - 1:])
    previous = re.search(r"([A-Za-z_]+)\s*$", before)
    for match, column in ((here, span.column), (previous, previous.start(1) + 1 if previous else 0)):
        word = match.group(1) if match is previous and match else match.group(0) if match else ""
        if word in MEMBERSHIP_WORDS:
            where = Span(span.file, span.line, column, span.line, column + len(word))
            return (f"'{word}' is not a word of the language: a list is tested with in, the value first",
                    where, ['for a list: "59" in modifiers, or modifiers has any of ["59", "XU"]',
                            'for text: technique mentions "massage"'])
        if word in RANGE_WORDS:
            where = Span(span.file, span.line, column, span.line, column + len(word))
            return (f"'{word}' is not a word of the language: a range of codes is written with in, and numbers "
                    f"are compared twice", where, ["for codes: code in 98940-98942 (no spaces around '-')",
                                                   "for numbers: minutes >= 8 and minutes <= 22"])
    if str(text[span.column - 1:span.column]) == "," and accepted == {"RPAR"}:
        return ("a list is written in square brackets, not parentheses", span,
                ['for example: code in ["97140", "97110"], or a range: code in 98940-98942'])
    prefix = re.search(r"(?<![0-9A-Za-z_.])([0-9]+)\*\s+$", before)
    if prefix:
        where = Span(span.file, span.line, prefix.start(1) + 1, span.line, prefix.end(1) + 2)
        return (f"'{prefix.group(1)}*' reads as a code prefix; to multiply, put spaces around '*': "
                f"{prefix.group(1)} * ...", where, [])
    return None


def _bad_amount(source: SourceFile, span: Span):
    """`$25.5`, `$2,48.00`: the amount stops early and the parser trips on the rest. Say
    how amounts are written instead."""
    text = _line_text(source, span.line)
    before, here = text[:span.column - 1], text[span.column - 1:span.column]
    if not (here and here in "0123456789,." and re.search(r"\$[0-9,.]+$", before)):
        return None
    start = before.rindex("$")
    written = re.match(r"\$[0-9.,]*", text[start:]).group(0)
    word_span = Span(span.file, span.line, start + 1, span.line, start + 1 + len(written))
    return (f"'{written}' is not an amount payerlint reads: write cents with two digits, and commas (if "
            f"any) between groups of three, like $2,480.00, $2480.00 or $25.00", word_span, [])


def _line_text(source: SourceFile, line: int) -> str:
    """Line `line` as lark counts lines (only '\\n' ends one; str.splitlines would also
    break at form feeds and Unicode line separators)."""
    lines = source.text.split("\n")
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _word_at(source: SourceFile, span: Span) -> tuple[Span, str]:
    """The whole non-blank word starting at `span` (`2026-Q2`, not just `2026`)."""
    text = _line_text(source, span.line)[span.column - 1:]
    word = re.match(r"[^\s#\"]*", text).group(0) or text[:1]
    return Span(span.file, span.line, span.column, span.line, span.column + max(1, len(word))), word


def _keyword_taken_as_name(source: SourceFile, err: UnexpectedToken) -> tuple[str, Span, str | None] | None:
    """The clause or declaration keyword the parser just read as a name, with the token before it."""
    parser = getattr(err, "interactive_parser", None)
    stack = list(parser.parser_state.value_stack) if parser is not None else []
    leaves = [leaf for value in stack[-3:] for leaf in _leaves(value)]
    if not leaves:
        return None
    last = leaves[-1]
    if last.type != "NAME" or str(last) not in CLAUSE_WORDS | DECLARATION_WORDS:
        return None
    before = str(leaves[-2]) if len(leaves) > 1 else None
    return str(last), _tok_span(source.path, last), before


def _leaves(value) -> list[Token]:
    if isinstance(value, Token):
        return [value]
    if isinstance(value, lark.Tree):
        return [leaf for child in value.children if child is not None for leaf in _leaves(child)]
    return []


def _next_code_line(source: SourceFile, offset: int) -> int | None:
    """The line number of the first code (not blank, not comment) at or after `offset`."""
    if offset >= len(source.text):
        return None
    line = source.text.count("\n", 0, offset) + 1
    for number, text in enumerate(source.text[offset:].split("\n"), start=line):
        if _split_comment(text)[0].strip():
            return number
    return None


def _end_span(source: SourceFile, start: int, end: int) -> Span:
    """The last character of code (comments and blanks left out) in text[start:end]."""
    chunk = source.text[start:end]
    offset = start
    last = None
    for line in chunk.split("\n"):
        code = _split_comment(line)[0].rstrip()
        if code:
            last = offset + len(code) - 1
        offset += len(line) + 1
    return source.span_at(last if last is not None else start)


# ------------------------------------------------------------------ comments


def _split_comment(line: str) -> tuple[str, str | None]:
    """Split a line into code and its `#` comment, ignoring `#` inside quoted text."""
    in_string = False
    escaped = False
    for i, ch in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return line[:i], line[i:]
    return line, None


def _comments(source: SourceFile) -> list[t.Comment]:
    found = []
    for number, line in enumerate(source.text.split("\n"), start=1):
        code, comment = _split_comment(line)
        if comment is not None:
            column = len(line) - len(comment) + 1
            found.append(t.Comment(comment, Span(source.path, number, column, number, column + len(comment)),
                                   own_line=not code.strip()))
    return found


def _attach_comments(rulebook: t.Rulebook, comments: list[t.Comment]) -> t.Rulebook:
    """Give each declaration the comments written before it or inside it."""
    if not comments:
        return rulebook
    items = list(rulebook.items)
    bounds = [item.span for item in items]
    owned: list[list[t.Comment]] = [[] for _ in items]
    trailing = []
    for comment in comments:
        key = (comment.span.line, comment.span.column)
        for index, span in enumerate(bounds):
            if key <= (span.end_line, span.end_column):
                owned[index].append(comment)
                break
        else:
            trailing.append(comment)
    new_items = tuple(
        _replace(item, comments=tuple(own)) if own else item for item, own in zip(items, owned)
    )
    return _replace(rulebook, items=new_items, trailing_comments=tuple(trailing))


def _replace(node, **changes):
    import dataclasses

    return dataclasses.replace(node, **changes)


# ------------------------------------------------------------------ lark tree -> syntax tree


def _why_not_a_date(raw: str) -> str:
    import calendar

    year, month, day = (int(part) for part in raw.split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month:02d} (months run 01-12)"
    if year < 1:
        return "there is no year 0000"
    days = calendar.monthrange(year, month)[1]
    if day == 0:
        return "there is no day 00 (days start at 01)"
    return f"{calendar.month_name[month]} {year} has {days} days"


def _tok_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line, tok.column, tok.end_line, tok.end_column)


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


@v_args(meta=True)
class _Builder(Transformer):
    """Builds the frozen syntax tree; collects literal errors (a date that does not exist)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.errors: list[Diagnostic] = []

    def _span(self, meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _text(self, tok: Token) -> t.Text:
        return t.Text(_unquote(str(tok)), _tok_span(self.path, tok))

    def _ident(self, tok: Token) -> t.Ident:
        return t.Ident(str(tok), _tok_span(self.path, tok))

    def _texts(self, children) -> t.Text | None:
        # Adjacent quoted texts join with a space, so long messages can span lines.
        toks = [c for c in children if isinstance(c, Token) and c.type == "STRING"]
        if not toks:
            return None
        joined = " ".join(_unquote(str(tok)) for tok in toks)
        return t.Text(joined, _tok_span(self.path, toks[0]).to(_tok_span(self.path, toks[-1])))

    # -- top level
    def start(self, meta, children):
        header, *items = children
        return t.Rulebook(header, tuple(items), path=self.path, span=self._span(meta))

    def fragment(self, meta, children):
        return children[0]

    def header(self, meta, children):
        rb_id, title, *fields = children
        values: dict = {"sources": []}
        for kind, value in fields:
            if kind == "source":
                values["sources"].append(value)
            else:
                values[kind] = value
        extends = values.get("extends")
        return t.Header(
            id=self._ident(rb_id),
            title=self._text(title),
            payer=values.get("payer"),
            quarter=values.get("quarter"),
            extends=extends[0] if extends else None,
            extends_is_path=bool(extends and extends[1]),
            sources=tuple(values["sources"]),
            facts_as_of=values.get("facts_as_of"),
            span=self._span(meta),
        )

    def payer_field(self, meta, children):
        return ("payer", self._text(children[0]))

    def quarter_field(self, meta, children):
        return ("quarter", self._ident(children[0]))

    def extends_field(self, meta, children):
        tok = children[0]
        if tok.type == "STRING":
            return ("extends", (t.Ident(_unquote(str(tok)), _tok_span(self.path, tok)), True))
        return ("extends", (self._ident(tok), False))

    def source_field(self, meta, children):
        return ("source", self._text(children[0]))

    def as_of_field(self, meta, children):
        return ("facts_as_of", self._date_literal(children[0]))

    # -- declarations
    def override(self, meta, children):
        return _replace(children[0], override=True, span=self._span(meta))

    def param(self, meta, children):
        name = self._ident(children[0])
        rest = children[1:]
        type_ann = rest.pop(0) if rest and isinstance(rest[0], t.Ident) else None
        value = rest.pop(0)
        choices = rest.pop(0) if rest and isinstance(rest[0], list) else []
        cite = rest.pop(0) if rest else None
        return t.Param(name, type_ann, value, cite, tuple(choices), span=self._span(meta))

    def choices(self, meta, children):
        return list(children)

    def type_annotation(self, meta, children):
        return self._ident(children[0])

    def cite(self, meta, children):
        return self._texts(children)

    def label(self, meta, children):
        return ("label", self._text(children[0]))

    def codeset(self, meta, children):
        name = self._ident(children[0])
        label = next((c[1] for c in children[1:] if isinstance(c, tuple)), None)
        members = tuple(c for c in children[1:] if isinstance(c, t.CodeItem))
        cite = next((c for c in children[1:] if isinstance(c, t.Text)), None)
        return t.CodeSet(name, label, members, cite, span=self._span(meta))

    def code_member(self, meta, children):
        return t.CodeItem(str(children[0]), None, self._span(meta))

    def code_range(self, meta, children):
        return t.CodeItem(str(children[0]), str(children[1]), self._span(meta))

    def phrases(self, meta, children):
        name = self._ident(children[0])
        label = next((c[1] for c in children[1:] if isinstance(c, tuple)), None)
        strings = tuple(self._text(c) for c in children[1:] if isinstance(c, Token))
        cite = next((c for c in children[1:] if isinstance(c, t.Text)), None)
        return t.PhraseSet(name, label, strings, cite, span=self._span(meta))

    def table(self, meta, children):
        name = self._ident(children[0])
        label = next((c[1] for c in children[1:] if isinstance(c, tuple) and c and c[0] == "label"), None)
        path = self._text(next(c for c in children[1:] if isinstance(c, Token)))
        column_groups = [c for c in children[1:] if isinstance(c, list)]
        cite = next((c for c in children[1:] if isinstance(c, t.Text)), None)
        keys = tuple(column_groups[0])
        columns = tuple(column_groups[1]) if len(column_groups) > 1 else ()
        return t.Table(name, label, path, keys, columns, cite, span=self._span(meta))

    def columns(self, meta, children):
        return list(children)

    def column(self, meta, children):
        return t.Column(self._ident(children[0]), self._ident(children[1]), len(children) > 2, self._span(meta))

    def let(self, meta, children):
        name = self._ident(children[0])
        scope = self._ident(children[1]) if len(children) == 3 else None
        return t.Let(name, scope, children[-1], span=self._span(meta))

    def rule(self, meta, children):
        rule_id, title, *clauses = children
        fields: dict = {"bindings": [], "fixes": []}
        spans = []
        for clause in clauses:
            # `cite` is shared with the other declarations and arrives as bare Text.
            kind, value, span = ("cite", clause, clause.span) if isinstance(clause, t.Text) else clause
            spans.append((kind, span))
            if kind == "with":
                fields["bindings"].append(value)
            elif kind == "fix":
                fields["fixes"].append(value)
            elif kind not in fields:
                fields[kind] = value
        return t.Rule(
            id=self._ident(rule_id),
            title=self._text(title),
            scope=fields.get("for"),
            category=fields.get("category"),
            severity=fields.get("severity"),
            bindings=tuple(fields["bindings"]),
            when=fields.get("when"),
            unless=fields.get("unless"),
            say=fields.get("say"),
            cite=fields.get("cite"),
            fixes=tuple(fields["fixes"]),
            clause_spans=tuple(spans),
            span=self._span(meta),
            denial=fields.get("denial"),
        )

    def scope_clause(self, meta, children):
        article, word = children
        return ("for", t.Ident(f"{article} {word}", _tok_span(self.path, article).to(_tok_span(self.path, word))), self._span(meta))

    def category_clause(self, meta, children):
        return ("category", self._ident(children[0]), self._span(meta))

    def severity_clause(self, meta, children):
        return ("severity", self._ident(children[0]), self._span(meta))

    def with_clause(self, meta, children):
        return ("with", t.Binding(self._ident(children[0]), children[1], self._span(meta)), self._span(meta))

    def when_clause(self, meta, children):
        return ("when", children[0], self._span(meta))

    def unless_clause(self, meta, children):
        return ("unless", children[0], self._span(meta))

    def say_clause(self, meta, children):
        return ("say", self._texts(children), self._span(meta))

    def fix_clause(self, meta, children):
        children = list(children)
        loop = children.pop(0) if isinstance(children[0], tuple) else None
        op, path, *value = children
        fix = t.Fix(
            op=self._ident(op),
            path=self._text(path),
            value=value[0] if value else None,
            loop_var=loop[0] if loop else None,
            loop_over=loop[1] if loop else None,
            span=self._span(meta),
        )
        return ("fix", fix, self._span(meta))

    def fix_loop(self, meta, children):
        return (self._ident(children[0]), children[1])

    def denial_clause(self, meta, children):
        group, reason, *remarks = (str(c) for c in children)
        return ("denial", t.Denial(group, reason, tuple(remarks), self._span(meta)), self._span(meta))

    def adopt(self, meta, children):
        *rule_ids, cite = children
        severity = None
        if rule_ids and isinstance(rule_ids[-1], tuple):
            severity = rule_ids.pop()[1]
        return t.Adopt(tuple(self._ident(r) for r in rule_ids), cite, severity=severity, span=self._span(meta))

    def disable(self, meta, children):
        reason = self._text(children[1]) if len(children) > 1 else None
        return t.Disable(self._ident(children[0]), reason, span=self._span(meta))

    # -- expressions
    def conditional(self, meta, c):
        return t.Conditional(c[0], c[1], c[2], self._span(meta))

    def map(self, meta, c):
        return t.Map(c[0], c[1], self._span(meta))

    def filter(self, meta, c):
        return t.Filter(c[0], c[1], self._span(meta))

    def or_(self, meta, c):
        return t.Binary("or", c[0], c[1], self._span(meta))

    def and_(self, meta, c):
        return t.Binary("and", c[0], c[1], self._span(meta))

    def not_(self, meta, c):
        return t.Not(c[0], self._span(meta))

    def compare(self, meta, c):
        return t.Binary(str(c[1]), c[0], c[2], self._span(meta))

    def member(self, meta, c):
        return t.Member(c[0], c[1], False, self._span(meta))

    def not_member(self, meta, c):
        return t.Member(c[0], c[1], True, self._span(meta))

    def has(self, meta, c):
        return t.Has(c[0], str(c[1]), c[2], self._span(meta))

    def mentions_set(self, meta, c):
        return t.Mentions(c[0], str(c[1]), c[2], self._span(meta))

    def mentions_text(self, meta, c):
        phrase = t.Literal("text", _unquote(str(c[1])), _tok_span(self.path, c[1]), str(c[1]))
        return t.Mentions(c[0], "any", phrase, self._span(meta))

    def is_test(self, meta, c):
        return t.IsTest(c[0], str(c[1]), False, self._span(meta))

    def is_not_test(self, meta, c):
        return t.IsTest(c[0], str(c[1]), True, self._span(meta))

    def otherwise(self, meta, c):
        return t.Binary("otherwise", c[0], c[1], self._span(meta))

    def arith(self, meta, c):
        return t.Binary(str(c[1]), c[0], c[2], self._span(meta))

    def negate(self, meta, c):
        return t.Negate(c[0], self._span(meta))

    def field(self, meta, c):
        return t.Field(c[0], str(c[1]), self._span(meta), _tok_span(self.path, c[1]))

    def lookup(self, meta, c):
        return t.Lookup(c[0], tuple(c[1:]), self._span(meta))

    def name(self, meta, c):
        return t.Name(str(c[0]), self._span(meta))

    def call(self, meta, c):
        args = tuple(a for a in c[1:] if a is not None)
        return t.Call(str(c[0]), args, self._span(meta), _tok_span(self.path, c[0]))

    def code_range_expr(self, meta, c):
        first, _, last = str(c[0]).partition("-")
        span = self._span(meta)
        return t.Codes(t.CodeItem(first, last, span), span)

    def code_prefix_expr(self, meta, c):
        span = self._span(meta)
        return t.Codes(t.CodeItem(str(c[0]), None, span), span)

    def list_literal(self, meta, c):
        return t.ListLiteral(tuple(a for a in c if a is not None), self._span(meta))

    # -- literals
    def _literal(self, meta, kind, value, raw):
        return t.Literal(kind, value, self._span(meta), raw)

    def text(self, meta, c):
        return self._literal(meta, "text", _unquote(str(c[0])), str(c[0]))

    def integer(self, meta, c):
        return self._literal(meta, "integer", self._int(c[0]), str(c[0]))

    def decimal(self, meta, c):
        return self._literal(meta, "decimal", Decimal(str(c[0])), str(c[0]))

    def money(self, meta, c):
        raw = str(c[0])
        try:
            value = Decimal(raw[1:].replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the terminal only admits digits
            value = Decimal(0)
        return self._literal(meta, "money", value, raw)

    def date(self, meta, c):
        return self._date_literal(c[0])

    def _int(self, tok: Token) -> int:
        raw = str(tok)
        if len(raw.lstrip("0")) > MAX_DIGITS:
            self.errors.append(Diagnostic(
                "number_too_large", f"this number has {len(raw)} digits; payerlint accepts at most {MAX_DIGITS}",
                span=_tok_span(self.path, tok),
            ))
            return 0
        return int(raw)

    def _date_literal(self, tok: Token) -> t.Literal:
        raw = str(tok)
        span = _tok_span(self.path, tok)
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.errors.append(Diagnostic(
                "invalid_date", f"{raw} is not a date that exists: {_why_not_a_date(raw)}", span=span,
                notes=("dates are written year-month-day, like 2026-05-14",),
            ))
            value = date(1970, 1, 1)
        return t.Literal("date", value, span, raw)

    def minutes(self, meta, c):
        return self._literal(meta, "minutes", self._int(c[0]), f"{c[0]} {c[1]}")

    def days(self, meta, c):
        count = self._int(c[0])
        if str(c[1]).startswith("week"):
            count *= 7
        return self._literal(meta, "days", count, f"{c[0]} {c[1]}")

    def true(self, meta, c):
        return self._literal(meta, "boolean", True, "true")

    def false(self, meta, c):
        return self._literal(meta, "boolean", False, "false")
