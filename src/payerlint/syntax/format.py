"""The canonical layout of a rulebook: `payerlint fmt`.

`format_rulebook(tree)` prints a syntax tree back as text. Parsing the result gives an
equal tree (the tree ignores layout, so this is the test that formatting never changes
meaning), and formatting it again gives the same text.

The layout, in short:
- the header's fields in a fixed order (payer, quarter, facts as of, extends, sources),
  two spaces in;
- one declaration after another; a blank line around every rule; elsewhere the blank
  lines the author left between declarations are kept (several become one), so groups
  of params or code sets stay together;
- a rule's clauses in a fixed order (for, category, severity and denial on one line, with,
  when, unless, say, cite, fix), two spaces in; `cite` and `because` on their own line;
- `adopt rule` lists its rule ids filling lines, later lines under the first id;
- an expression on one line when it fits in WIDTH columns; otherwise a chain of `and`
  (or `or`) puts each operand on its own line, the operators right-aligned so the
  operands line up (`when a` / `   and b`); a chain inside parentheses puts the operator
  under the first operand; `if ... then ... else` puts `then` and `else` under `if`;
- code sets and phrase sets fill lines of WIDTH columns, two spaces in;
- parentheses only where they are needed; literals as written (`$2,480.00`, `8 weeks`).

Comments stay where they were written. A comment on a line of its own goes before the
code that followed it; a comment at the end of a line of code stays at the end of the
line that holds that code. A chain with a comment inside is always broken, so that the
comment keeps its place between two operands. Indented comments right after a
declaration stay with it; comments at the left margin go with the declaration below.

>>> from payerlint.syntax.parser import parse
>>> print(format_rulebook(parse('rulebook demo "Demo"  quarter 2026Q2\\nparam  visits=12 # a limit\\n')), end="")
rulebook demo "Demo"
  quarter 2026Q2
<BLANKLINE>
param visits = 12  # a limit
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.source import Span
from payerlint.syntax import tree as t

WIDTH = 100

# Expression precedence, lowest first (as in grammar/payerlint.lark).
COND, OF, WHERE, OR, AND, NOT, CMP, OTHERWISE, SUM, PRODUCT, UNARY, POSTFIX, ATOM = range(13)
_COMPARE_OPS = {"=", "!=", "<", "<=", ">", ">="}


def format_source(text: str, path: str = "<rulebook>") -> str:
    """Parse and format; raises DiagnosticError when the text does not parse."""
    from payerlint.syntax.parser import parse

    return format_rulebook(parse(text, path))


def format_rulebook(rulebook: t.Rulebook) -> str:
    _refuse_lossy(rulebook)
    return _Printer(rulebook).run()


def _refuse_lossy(rulebook: t.Rulebook) -> None:
    """The tree keeps the first of two `when` clauses only; printing it would silently
    drop the second. Such a rulebook does not compile either: say so and stop."""
    problems = []
    for item in rulebook.items:
        if not isinstance(item, t.Rule):
            continue
        seen: dict[str, Span] = {}
        for kind, span in item.clause_spans:
            if kind in ("with", "fix"):
                continue
            if kind in seen:
                problems.append(Diagnostic(
                    "duplicate_clause", f"rule {item.id.id} has more than one '{kind}' clause; the formatter would "
                    f"keep only the first, so it leaves this file as it is", span=span, related=(seen[kind],),
                    notes=("join two conditions with 'and'; keep one say and one cite",)))
            seen.setdefault(kind, span)
    if problems:
        raise DiagnosticError(problems)


# ------------------------------------------------------------------ layout documents
#
# A small Wadler-style document: text, places where a line may break, groups that break
# all their places or none, and alignment to the column where a part starts.


@dataclass(slots=True)
class _Break:
    anchor: tuple | None
    """Source position of what follows the break: where comments are put back."""
    outdent: int = 0
    """A broken line starts this many columns left of the aligned column (room for `and `)."""


@dataclass(slots=True)
class _Group:
    parts: list
    forced: bool = False


@dataclass(slots=True)
class _Align:
    parts: list


_FLAT, _BROKEN = 0, 1


@dataclass(slots=True)
class _Line:
    text: str
    anchor: tuple | None
    comments: list = field(default_factory=list)
    """Own-line comments printed above this line."""
    trailing: str | None = None

    @property
    def indent(self) -> int:
        return len(self.text) - len(self.text.lstrip(" "))


def _forced(parts) -> bool:
    for part in parts:
        if isinstance(part, _Group) and part.forced:
            return True
        if isinstance(part, _Align) and _forced(part.parts):
            return True
        if isinstance(part, list) and _forced(part):
            return True
    return False


def _render(parts: list, anchor: tuple | None) -> list[_Line]:
    lines = [_Line("", anchor)]
    text: list[str] = []
    column = 0
    stack: list = [(0, _BROKEN, parts)]
    while stack:
        indent, mode, item = stack.pop()
        if isinstance(item, str):
            text.append(item)
            column += len(item)
        elif isinstance(item, list):
            stack.extend((indent, mode, part) for part in reversed(item))
        elif isinstance(item, _Align):
            stack.append((column, mode, item.parts))
        elif isinstance(item, _Group):
            if mode == _FLAT or (not item.forced and _fits(item.parts, stack, WIDTH - column)):
                stack.append((indent, _FLAT, item.parts))
            else:
                stack.append((indent, _BROKEN, item.parts))
        elif isinstance(item, _Break):
            if mode == _FLAT:
                text.append(" ")
                column += 1
            else:
                lines[-1].text = "".join(text).rstrip()
                start = max(0, indent - item.outdent)
                text = [" " * start]
                column = start
                lines.append(_Line("", item.anchor))
    lines[-1].text = "".join(text).rstrip()
    return lines


def _fits(parts: list, rest: list, room: int) -> bool:
    """Whether `parts` printed flat, and what follows them up to the next line break,
    fit in `room` columns."""
    todo = [(_FLAT, parts)]
    position = len(rest)
    while room >= 0:
        if not todo:
            if position == 0:
                return True
            position -= 1
            _, mode, item = rest[position]
            todo.append((mode, item))
            continue
        mode, item = todo.pop()
        if isinstance(item, str):
            room -= len(item)
        elif isinstance(item, list):
            todo.extend((mode, part) for part in reversed(item))
        elif isinstance(item, _Align):
            todo.append((mode, item.parts))
        elif isinstance(item, _Group):
            todo.append((_BROKEN if item.forced and mode == _BROKEN else _FLAT, item.parts))
        elif isinstance(item, _Break):
            if mode == _BROKEN:
                return True
            room -= 1
    return False


# ------------------------------------------------------------------ the printer


def _start(span: Span | None) -> tuple | None:
    return (span.line, span.column) if span is not None else None


def _end(span: Span | None) -> tuple | None:
    return (span.end_line, span.end_column) if span is not None else None


def quote(text: str) -> str:
    """A string literal that reads back as `text`."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


@dataclass
class _Block:
    """A header or declaration, or a comment at the left margin, in the output."""

    lines: list[_Line]
    first: int
    """Source line where it starts (0 when unknown)."""
    last: int
    is_rule: bool = False
    is_header: bool = False
    is_comment: bool = False


class _Printer:
    def __init__(self, rulebook: t.Rulebook):
        self.rb = rulebook
        comments = [c for item in rulebook.items for c in item.comments] + list(rulebook.trailing_comments)
        self.comments = sorted((c for c in comments if c.span is not None), key=lambda c: (c.span.line, c.span.column))
        self.positions = [(c.span.line, c.span.column) for c in self.comments]

    # -- comments
    def _inside(self, span: Span | None) -> bool:
        """Whether a comment is written inside `span` (between its first and last character)."""
        if span is None:
            return False
        index = bisect.bisect_right(self.positions, _start(span))
        return index < len(self.positions) and self.positions[index] < _end(span)

    def _breaks_for_comment(self, span: Span | None, last: Span | None) -> bool:
        """Whether a comment inside `span` sits before its last break (the start of `last`).

        Breaking there gives the comment a line of its own or the end of an operand's line,
        where it stays on the next run. A comment inside the last operand does not break
        the group: it would end up after the group, and the next run would join the group
        again."""
        if span is None or last is None:
            return False
        index = bisect.bisect_right(self.positions, _start(span))
        return index < len(self.positions) and self.positions[index] < _start(last)

    def _between(self, after: Span | None, before: Span | None) -> bool:
        if after is None or before is None:
            return False
        index = bisect.bisect_left(self.positions, _end(after))
        return index < len(self.positions) and self.positions[index] < _start(before)

    # -- the file
    def run(self) -> str:
        blocks_in_order = [(self.rb.header.span, "header", self.rb.header)] + [
            (item.span, "item", item) for item in self.rb.items]
        owned: dict[int, list[t.Comment]] = {i: [] for i in range(len(blocks_in_order))}
        loose: list[t.Comment] = []
        spans = [span for span, _, _ in blocks_in_order]
        for comment in self.comments:
            place = (comment.span.line, comment.span.column)
            owner = next((i for i, span in enumerate(spans) if span is not None
                          and _start(span) <= place <= _end(span)), None)
            if owner is None:
                # At the end of the line where a declaration ends.
                ending = [i for i, span in enumerate(spans) if span is not None and span.end_line == place[0]
                          and _end(span) < place]
                owner = max(ending, key=lambda i: _end(spans[i])) if ending else None
            if owner is None:
                # An indented comment right under a declaration (no blank line) belongs to it.
                previous = max((i for i, s in enumerate(spans) if s is not None and _end(s) < place), default=None,
                               key=lambda i: _end(spans[i]))
                if previous is not None and comment.own_line and comment.span.column > 1:
                    last_line = max([spans[previous].end_line] + [c.span.line for c in owned[previous]])
                    if comment.span.line == last_line + 1:
                        owner = previous
            if owner is None:
                loose.append(comment)
            else:
                owned[owner].append(comment)
        blocks: list[_Block] = []
        for index, (span, kind, node) in enumerate(blocks_in_order):
            lines = self._header(node) if kind == "header" else self._item(node)
            self._place(lines, owned[index])
            last = max([span.end_line if span else 0] + [c.span.line for c in owned[index]])
            blocks.append(_Block(lines, span.line if span else 0, last, is_rule=isinstance(node, t.Rule),
                                 is_header=kind == "header"))
        for comment in loose:
            blocks.append(_Block([_Line(comment.text.rstrip(), None)], comment.span.line, comment.span.line,
                                 is_comment=True))
        blocks.sort(key=lambda b: (b.first, not b.is_comment))
        return self._join(blocks)

    def _join(self, blocks: list[_Block]) -> str:
        # A run of margin comments with no blank line before the declaration below moves
        # with it; a rule has a blank line on each side; otherwise the author's blank
        # lines are kept, several as one.
        units: list[list[_Block]] = []
        for block in blocks:
            if units and units[-1][-1].is_comment and block.first == units[-1][-1].last + 1:
                units[-1].append(block)
            else:
                units.append([block])
        out: list[str] = []
        for number, unit in enumerate(units):
            if number:
                previous = units[number - 1]
                gap = unit[0].first > previous[-1].last + 1 or unit[0].first == 0
                if gap or previous[-1].is_header or previous[-1].is_rule or unit[-1].is_rule:
                    out.append("")
            for block in unit:
                for line in block.lines:
                    out.extend(line.comments)
                    out.append(line.text + (f"  {line.trailing}" if line.trailing else ""))
        return "\n".join(out).rstrip("\n") + "\n"

    def _place(self, lines: list[_Line], comments: list[t.Comment]) -> None:
        """Put each comment of a declaration on the output line nearest to where it was."""
        anchored = [(line.anchor, i) for i, line in enumerate(lines) if line.anchor is not None]
        end_comments: list[str] = []
        for comment in comments:
            place = (comment.span.line, comment.span.column)
            text = comment.text.rstrip()
            if comment.own_line:
                after = [(a, i) for a, i in anchored if a > place]
                if after:
                    target = lines[min(after)[1]]
                    target.comments.append(" " * target.indent + text)
                else:
                    end_comments.append("  " + text)
                continue
            before = [(a, i) for a, i in anchored if a <= place]
            index = max(before)[1] if before else 0
            if lines[index].trailing is None:
                lines[index].trailing = text
            elif index + 1 < len(lines):
                following = lines[index + 1]
                following.comments.append(" " * following.indent + text)
            else:
                end_comments.append("  " + text)
        lines.extend(_Line(c, None) for c in end_comments)

    # -- the header
    def _header(self, header: t.Header) -> list[_Line]:
        lines = [_Line(f"rulebook {header.id.id} {quote(header.title.value)}", _start(header.span))]
        if header.payer is not None:
            lines.append(_Line(f"  payer {quote(header.payer.value)}", _start(header.payer.span)))
        if header.quarter is not None:
            lines.append(_Line(f"  quarter {header.quarter.id}", _start(header.quarter.span)))
        if header.facts_as_of is not None:
            lines.append(_Line(f"  facts as of {self._literal(header.facts_as_of)}", _start(header.facts_as_of.span)))
        if header.extends is not None:
            ref = quote(header.extends.id) if header.extends_is_path else header.extends.id
            lines.append(_Line(f"  extends {ref}", _start(header.extends.span)))
        for source in header.sources:
            lines.append(_Line(f"  source {quote(source.value)}", _start(source.span)))
        return lines

    # -- declarations
    def _item(self, item: t.Item) -> list[_Line]:
        method = getattr(self, "_" + type(item).__name__.lower())
        lines = method(item)
        if getattr(item, "override", False):
            lines[0].text = "override " + lines[0].text
        lines[0].anchor = _start(item.span)
        return lines

    def _cite(self, lines: list[_Line], cite: t.Text | None, word: str = "cite") -> list[_Line]:
        if cite is not None:
            lines.append(_Line(f"  {word} {quote(cite.value)}", _start(cite.span)))
        return lines

    def _param(self, p: t.Param) -> list[_Line]:
        head = f"param {p.name.id}" + (f": {p.type.id}" if p.type is not None else "") + f" = {self._literal(p.value)}"
        if p.choices:
            head += " one of " + " ".join(self._literal(c) for c in p.choices)
        return self._cite([_Line(head, None)], p.cite)

    def _codeset(self, c: t.CodeSet) -> list[_Line]:
        words = [(f"{m.first}-{m.last}" if m.last else m.first, m.span) for m in c.members]
        return self._cite(self._filled(f"codeset {c.name.id}" + self._label(c.label) + " =", words, c.span), c.cite)

    def _phraseset(self, p: t.PhraseSet) -> list[_Line]:
        words = [(quote(phrase.value), phrase.span) for phrase in p.phrases]
        return self._cite(self._filled(f"phrases {p.name.id}" + self._label(p.label) + " =", words, p.span), p.cite)

    @staticmethod
    def _label(label: t.Text | None) -> str:
        return f" {quote(label.value)}" if label is not None else ""

    def _filled(self, head: str, words: list[tuple[str, Span | None]], span: Span | None) -> list[_Line]:
        """`head w1 w2 ...` on one line when it fits and holds no comment; else the words
        fill lines two spaces in, a new line wherever a comment sat between two words."""
        one_line = head + " " + " ".join(w for w, _ in words)
        if len(one_line) <= WIDTH and not self._inside(span):
            return [_Line(one_line, None)]
        lines = [_Line(head, None)]
        current: _Line | None = None
        previous_span = None
        for word, word_span in words:
            must_break = self._between(previous_span, word_span)
            if current is None or must_break or len(current.text) + 1 + len(word) > WIDTH:
                current = _Line("  " + word, _start(word_span))
                lines.append(current)
            else:
                current.text += " " + word
            previous_span = word_span
        return lines

    def _table(self, table: t.Table) -> list[_Line]:
        head = f"table {table.name.id}{self._label(table.label)}"
        source = f"from {quote(table.path.value)}"
        if len(head) + 1 + len(source) <= WIDTH:
            lines = [_Line(f"{head} {source}", None)]
        else:  # a long label: the file on the next line
            lines = [_Line(head, None), _Line("  " + source, _start(table.path.span))]
        lines += self._columns("  key ", table.keys)
        if table.columns:
            lines += self._columns("  columns ", table.columns)
        return self._cite(lines, table.cite)

    def _columns(self, head: str, columns: tuple[t.Column, ...]) -> list[_Line]:
        lines: list[_Line] = []
        previous = None
        for number, column in enumerate(columns):
            word = f"{column.name.id}: {column.type.id}" + (" optional" if column.optional else "")
            word += "," if number + 1 < len(columns) else ""
            if not lines:
                lines.append(_Line(head + word, _start(column.span)))
            elif self._between(previous, column.span) or len(lines[-1].text) + 1 + len(word) > WIDTH:
                lines.append(_Line(" " * len(head) + word, _start(column.span)))
            else:
                lines[-1].text += " " + word
            previous = column.span
        return lines

    def _let(self, let: t.Let) -> list[_Line]:
        head = f"let {let.name.id}" + (f" per {let.scope.id}" if let.scope is not None else "") + " = "
        return _render([head, self._top(let.expr)], None)

    def _disable(self, d: t.Disable) -> list[_Line]:
        return self._cite([_Line(f"disable rule {d.rule_id.id}", None)], d.reason, "because")

    def _adopt(self, a: t.Adopt) -> list[_Line]:
        """`adopt rule a, b, ...` filling lines of WIDTH, later lines under the first id."""
        head = "adopt rule "
        lines = [_Line(head, None)]
        for number, rule_id in enumerate(a.rule_ids):
            word = rule_id.id + ("," if number + 1 < len(a.rule_ids) else "")
            if lines[-1].text.strip() not in ("adopt rule", "") and len(lines[-1].text) + 1 + len(word) > WIDTH:
                lines.append(_Line(" " * len(head) + word, _start(rule_id.span)))
            else:
                lines[-1].text += ("" if lines[-1].text.endswith(" ") else " ") + word
        if a.severity is not None:
            lines.append(_Line(f"  severity {a.severity.id}", _start(a.severity.span)))
        return self._cite(lines, a.cite)

    def _rule(self, rule: t.Rule) -> list[_Line]:
        lines = [_Line(f"rule {rule.id.id} {quote(rule.title.value)}", None)]
        if rule.scope is not None:
            lines.append(_Line(f"  for {rule.scope.id}", _start(rule.scope.span)))
        words = []
        if rule.category is not None:
            words.append((f"category {rule.category.id}", rule.category.span))
        if rule.severity is not None:
            words.append((f"severity {rule.severity.id}", rule.severity.span))
        if rule.denial is not None:
            d = rule.denial
            words.append((f"denial {d.group}-{d.reason}" + "".join(f" remark {r}" if i == 0 else f" {r}"
                                                                 for i, r in enumerate(d.remarks)), d.span))
        if words:
            lines.append(_Line("  " + "  ".join(w for w, _ in words), _start(words[0][1])))
        for binding in rule.bindings:
            lines += _render([f"  with {binding.name.id} = ", self._top(binding.expr)], _start(binding.span))
        for word, condition in (("when", rule.when), ("unless", rule.unless)):
            if condition is not None:
                lines += _render([f"  {word} ", self._top(condition)], self._clause_anchor(rule, word, condition))
        if rule.say is not None:
            lines.append(_Line(f"  say {quote(rule.say.value)}", _start(rule.say.span)))
        self._cite(lines, rule.cite)
        for fix in rule.fixes:
            lines += self._fix(fix)
        return lines

    @staticmethod
    def _clause_anchor(rule: t.Rule, word: str, node) -> tuple | None:
        for kind, span in rule.clause_spans:
            if kind == word:
                return _start(span)
        return _start(node.span)

    def _fix(self, fix: t.Fix) -> list[_Line]:
        operation = [f"{fix.op.id} {quote(fix.path.value)}"]
        if fix.value is not None:
            operation += [" value ", self._expr(fix.value, COND)]
        if fix.loop_var is None:
            return _render(["  fix "] + operation, _start(fix.span))
        lines = _render([f"  fix for each {fix.loop_var.id} in ", self._expr(fix.loop_over, COND), ":"],
                        _start(fix.span))
        return lines + _render(["      "] + operation, _start(fix.op.span))

    # -- expressions
    def _top(self, node) -> list:
        """A clause's whole expression: a chain here aligns its operands, not its operators."""
        if isinstance(node, t.Binary) and node.op in ("and", "or"):
            return [self._chain(node, top=True)]
        return [self._expr(node, COND)]

    def _expr(self, node, needed: int):
        doc, level = self._node(node)
        if level < needed:
            return ["(", _Align([doc]), ")"]
        return doc

    def _chain(self, node: t.Binary, top: bool) -> _Group:
        op = node.op
        operands = []
        current = node
        while isinstance(current, t.Binary) and current.op == op:
            operands.append(current.right)
            current = current.left
        operands.append(current)
        operands.reverse()
        # `a and b or c` needs no parentheses, but a reader should not have to know that.
        first = NOT if op == "or" else AND
        parts: list = [self._expr(operands[0], first)]
        for operand in operands[1:]:
            parts += [_Break(_start(operand.span), len(op) + 1 if top else 0), op + " ", self._expr(operand, NOT)]
        return _Group([_Align(parts)], self._breaks_for_comment(node.span, operands[-1].span) or _forced(parts))

    def _node(self, node) -> tuple:
        if isinstance(node, t.Name):
            return node.id, ATOM
        if isinstance(node, t.Literal):
            return self._literal(node), ATOM
        if isinstance(node, t.Codes):
            item = node.item
            return (f"{item.first}-{item.last}" if item.last else item.first), ATOM
        if isinstance(node, t.Field):
            return [self._expr(node.base, POSTFIX), "." + node.name], POSTFIX
        if isinstance(node, t.Lookup):
            return [self._expr(node.table, POSTFIX), "[", self._joined(node.keys), "]"], POSTFIX
        if isinstance(node, t.Call):
            return [node.function, "(", self._joined(node.args), ")"], ATOM
        if isinstance(node, t.ListLiteral):
            return ["[", self._joined(node.items), "]"], ATOM
        if isinstance(node, t.Negate):
            return ["-", self._expr(node.operand, UNARY)], UNARY
        if isinstance(node, t.Not):
            # `not (a in b)`: the parentheses are not needed, but say what `not` applies to.
            return ["not ", self._expr(node.operand, OTHERWISE)], NOT
        if isinstance(node, t.Binary):
            return self._binary(node)
        if isinstance(node, t.Member):
            word = " not in " if node.negated else " in "
            return [self._expr(node.element, OTHERWISE), word, self._expr(node.collection, OTHERWISE)], CMP
        if isinstance(node, t.Has):
            return [self._expr(node.items, OTHERWISE), f" has {node.quantifier} of ",
                    self._expr(node.collection, OTHERWISE)], CMP
        if isinstance(node, t.Mentions):
            phrases = node.phrases
            if node.quantifier == "any" and isinstance(phrases, t.Literal) and phrases.kind == "text":
                return [self._expr(node.text, OTHERWISE), " mentions ", self._literal(phrases)], CMP
            return [self._expr(node.text, OTHERWISE), f" mentions {node.quantifier} of ",
                    self._expr(phrases, OTHERWISE)], CMP
        if isinstance(node, t.IsTest):
            return [self._expr(node.operand, OTHERWISE), " is not " if node.negated else " is ", node.test], CMP
        if isinstance(node, t.Filter):
            return [self._expr(node.collection, OR), " where ", self._expr(node.condition, OR)], WHERE
        if isinstance(node, t.Map):
            return [self._expr(node.value, OR), " of ", self._expr(node.collection, OF)], OF
        if isinstance(node, t.Conditional):
            # Only the else branch may be another `if` without parentheses (else if ...).
            parts = ["if ", _Align([self._expr(node.condition, OF)]),
                     _Break(_start(node.then.span)), "then ", _Align([self._expr(node.then, OF)]),
                     _Break(_start(node.otherwise.span)), "else ", _Align([self._expr(node.otherwise, COND)])]
            return _Group([_Align(parts)], self._breaks_for_comment(node.span, node.otherwise.span)
                          or _forced(parts)), COND
        raise TypeError(f"cannot format {type(node).__name__}")

    def _binary(self, node: t.Binary) -> tuple:
        op = node.op
        if op in ("and", "or"):
            return self._chain(node, top=False), OR if op == "or" else AND
        if op in _COMPARE_OPS:
            return [self._expr(node.left, OTHERWISE), f" {op} ", self._expr(node.right, OTHERWISE)], CMP
        if op == "otherwise":
            return [self._expr(node.left, OTHERWISE), " otherwise ", self._expr(node.right, SUM)], OTHERWISE
        level = SUM if op in ("+", "-") else PRODUCT
        return [self._expr(node.left, level), f" {op} ", self._expr(node.right, level + 1)], level

    def _joined(self, items) -> list:
        parts: list = []
        for number, item in enumerate(items):
            if number:
                parts.append(", ")
            parts.append(self._expr(item, COND))
        return parts

    @staticmethod
    def _literal(node: t.Literal) -> str:
        if node.raw:
            return node.raw
        value = node.value
        if node.kind == "text":
            return quote(value)
        if node.kind == "boolean":
            return "true" if value else "false"
        if node.kind == "money":
            return f"${value:,.2f}"
        if node.kind == "minutes":
            return f"{value} minutes"
        if node.kind == "days":
            return f"{value} days"
        if node.kind == "decimal":
            text = format(value, "f")
            return text if "." in text else text + ".0"
        return str(value)
