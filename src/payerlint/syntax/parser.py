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
from payerlint.source import SourceFile, Span, remember
from payerlint.syntax import tree as t
from payerlint.syntax.errors import describe_expected, hint_for

# Words that start a top-level declaration. A line starting with one of them starts a new
# chunk when the file is re-parsed piece by piece to report every syntax error.
TOP_LEVEL = ("rulebook", "param", "codeset", "phrases", "table", "let", "rule", "override", "disable")
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
    builder = _Builder(path)
    rulebook = builder.transform(lark_tree)
    if builder.errors:
        raise DiagnosticError(builder.errors)
    return _attach_comments(rulebook, _comments(source))


def parse_file(path: str) -> t.Rulebook:
    try:
        source = SourceFile.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DiagnosticError([Diagnostic("file_unreadable", f"cannot read rulebook {path}: {exc}")]) from None
    return parse(source.text, source.path)


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
        found.append(_syntax_diagnostic(source, first_error, 0, len(text)))
    return found


def _strip_comments(text: str) -> str:
    return "\n".join(_split_comment(line)[0] for line in text.split("\n"))


def _syntax_diagnostic(source: SourceFile, err: UnexpectedInput, start: int, end: int) -> Diagnostic:
    chunk = source.text[start:end]
    line, column = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
    expected = getattr(err, "expected", None) or getattr(err, "allowed", None) or set()
    at_end = isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END")
    if at_end:
        # The end of this declaration, not of the file: chunks are parsed one at a time.
        span = _end_span(source, start, end)
        found = "the end of the declaration" if end < len(source.text.rstrip()) else "the end of the file"
    elif isinstance(err, UnexpectedToken):
        found = f"'{err.token}'"
        span = Span(source.path, line, column, line, column + max(1, len(str(err.token))))
    else:
        bad = source.line_text(line)[column - 1:column] or "?"
        found = f"the character '{bad}'"
        span = Span(source.path, line, column, line, column + 1)
    message = f"unexpected {found}; expected {describe_expected(expected, _lark())}"
    keyword = _keyword_before(source, span) if isinstance(err, UnexpectedToken) and not at_end else None
    if keyword is not None:
        # `when x > \n say "hi"` lexes `say` as a name (keywords are contextual), so the
        # parser trips on the text after it. Point at the keyword, which is the real issue.
        word, span = keyword
        message = f"the expression before '{word}' is incomplete: a value was expected where '{word}' is"
    hint = hint_for(chunk, found)
    return Diagnostic("syntax_error", message, span=span, notes=(hint,) if hint else ())


def _end_span(source: SourceFile, start: int, end: int) -> Span:
    stripped = _strip_comments(source.text[:end]).rstrip()
    offset = max(start, len(stripped))
    return source.span_at(offset - 1 if offset > start else start)


def _keyword_before(source: SourceFile, span: Span) -> tuple[str, Span] | None:
    """The clause or declaration keyword just before the error, if the parser took it for a name."""
    from payerlint.syntax.errors import CLAUSE_WORDS, DECLARATION_WORDS

    lines = source.text.split("\n")
    before = "\n".join(lines[:span.line - 1] + [lines[span.line - 1][:span.column - 1]])
    match = re.search(r"([a-z_]+)\s*$", _strip_comments(before))
    if not match or match.group(1) not in CLAUSE_WORDS | DECLARATION_WORDS:
        return None
    word = match.group(1)
    offset = match.start(1)
    return word, source.span_at(offset, len(word))


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
        _, comment = _split_comment(line)
        if comment is not None:
            column = len(line) - len(comment) + 1
            found.append(t.Comment(comment, Span(source.path, number, column, number, column + len(comment))))
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
        cite = rest.pop(0) if rest else None
        return t.Param(name, type_ann, value, cite, span=self._span(meta))

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

    def list_literal(self, meta, c):
        return t.ListLiteral(tuple(a for a in c if a is not None), self._span(meta))

    # -- literals
    def _literal(self, meta, kind, value, raw):
        return t.Literal(kind, value, self._span(meta), raw)

    def text(self, meta, c):
        return self._literal(meta, "text", _unquote(str(c[0])), str(c[0]))

    def integer(self, meta, c):
        return self._literal(meta, "integer", int(c[0]), str(c[0]))

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

    def _date_literal(self, tok: Token) -> t.Literal:
        raw = str(tok)
        span = _tok_span(self.path, tok)
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.errors.append(Diagnostic(
                "invalid_date", f"{raw} is not a date that exists", span=span,
                notes=("dates are written year-month-day, like 2026-05-14",),
            ))
            value = date(1970, 1, 1)
        return t.Literal("date", value, span, raw)

    def minutes(self, meta, c):
        return self._literal(meta, "minutes", int(c[0]), f"{c[0]} {c[1]}")

    def days(self, meta, c):
        count = int(c[0])
        if str(c[1]).startswith("week"):
            count *= 7
        return self._literal(meta, "days", count, f"{c[0]} {c[1]}")

    def true(self, meta, c):
        return self._literal(meta, "boolean", True, "true")

    def false(self, meta, c):
        return self._literal(meta, "boolean", False, "false")
