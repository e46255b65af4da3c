"""What the language server knows about a rulebook, without any LSP types: the compiler's
diagnostics for the text an editor holds, and for a name, its declaration, its value and
where it is written (in this file or in a rulebook it extends).

Everything here works in payerlint's own positions (1-based lines, code-point columns);
server.py converts to and from the client's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from payerlint.compile.pipeline import CompiledRulebook, Loader, compile_path
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.source import Span, span_text

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
KEYWORDS = ("rulebook", "payer", "quarter", "facts as of", "extends", "source", "param", "codeset", "phrases",
            "table", "let", "rule", "override", "disable", "because", "for each", "for the claim", "category",
            "severity", "with", "when", "unless", "say", "cite", "fix", "from", "key", "columns", "optional",
            "one of", "per", "where", "of", "and", "or", "not", "in", "has", "any", "all", "none", "mentions",
            "is missing", "is present", "is blank", "is null", "if", "then", "else", "otherwise", "true", "false")
SCOPES = ("line", "pair", "date", "code")
PER = ("date", "code", "line")


def categories() -> tuple[str, ...]:
    from payerlint.compile.declarations import CATEGORIES

    return CATEGORIES


def severities() -> tuple[str, ...]:
    from payerlint.compile.declarations import SEVERITIES

    return SEVERITIES


@dataclass
class Analysis:
    path: str
    compiled: CompiledRulebook | None
    diagnostics: tuple[Diagnostic, ...]


def analyse(path: str, text: str, loader: Loader) -> Analysis:
    """Compile the editor's text; every diagnostic the compiler gives, as it gives them."""
    try:
        return Analysis(path, compile_path(path, loader, text=text), ())
    except DiagnosticError as exc:
        return Analysis(path, None, exc.diagnostics)
    except RecursionError:
        return Analysis(path, None, (Diagnostic("too_deep", "the rulebook nests too deeply to compile"),))


def word_at(line_text: str, column: int) -> tuple[str, int, int] | None:
    """The name under a 1-based column: (word, start column, end column), dotted names
    whole (`units.total`, `edit.modifier_indicator`)."""
    for match in _WORD.finditer(line_text):
        if match.start() + 1 <= column <= match.end() + 1:
            return match.group(), match.start() + 1, match.end() + 1
    return None


@dataclass(frozen=True)
class Declaration:
    kind: str
    name: str
    span: Span | None
    markdown: str


def _fmt(value, type_) -> str:
    from payerlint.evaluate.values import format_value

    return format_value(value, type_)


def _where(origin, compiled: CompiledRulebook) -> str:
    if origin is None or origin.span is None:
        return ""
    place = f"{Path(origin.span.file).name}:{origin.span.line}"
    text = f"\n\n*{'declared in ' + origin.rulebook if origin.rulebook != compiled.id else 'declared here'}* ({place})"
    if origin.overrides is not None:
        text += f"; overrides {origin.overrides.rulebook}"
    return text


def _cite(citation: str | None) -> str:
    return f"\n\ncite: {citation}" if citation else ""


def declarations(compiled: CompiledRulebook, name: str) -> list[Declaration]:
    """Everything `name` may mean in this rulebook (and its bases)."""
    out = []
    rule = compiled.rule(name)
    if rule is not None:
        scope = "the claim" if rule.scope == "claim" else f"each {rule.scope}"
        out.append(Declaration("rule", name, rule.origin.span,
                               f"**rule {rule.id}** \"{rule.title}\"\n\nfor {scope}, category {rule.category}, "
                               f"severity {rule.severity}{_cite(rule.citation)}{_where(rule.origin, compiled)}"))
    for gone in compiled.disabled:
        if gone.rule_id == name:
            out.append(Declaration("disabled", name, gone.origin.span,
                                   f"**rule {name}** is disabled" + (f": {gone.reason}" if gone.reason else "")))
    if name in compiled.params:
        p = compiled.params[name]
        choices = f" (one of {', '.join(map(str, p.choices))})" if p.choices else ""
        out.append(Declaration("param", name, p.origin.span,
                               f"**param {name}** = `{_fmt(p.value, p.type)}` ({p.type}){choices}"
                               f"{_cite(p.citation)}{_where(p.origin, compiled)}"))
    if name in compiled.lets:
        let = compiled.lets[name]
        per = "" if let.scope == "claim" else f" per {let.scope}"
        source = span_text(let.origin.span) or ""
        out.append(Declaration("let", name, let.origin.span,
                               f"**let {name}**{per}: {let.type}\n\n```\n{source}\n```{_where(let.origin, compiled)}"))
    if name in compiled.codesets:
        c = compiled.codesets[name]
        members = c.members()
        shown = " ".join(members[:24]) + (f" ... ({len(members)} in all)" if len(members) > 24 else "")
        out.append(Declaration("codeset", name, c.origin.span,
                               f"**codeset {name}**" + (f" \"{c.label}\"" if c.label else "") + f"\n\n{shown}"
                               f"{_cite(c.citation)}{_where(c.origin, compiled)}"))
    if name in compiled.phrases:
        ph = compiled.phrases[name]
        shown = ", ".join(f"\"{p}\"" for p in ph.phrases[:12]) + (" ..." if len(ph.phrases) > 12 else "")
        out.append(Declaration("phrases", name, ph.origin.span,
                               f"**phrases {name}**" + (f" \"{ph.label}\"" if ph.label else "") + f"\n\n{shown}"
                               f"{_cite(ph.citation)}{_where(ph.origin, compiled)}"))
    if name in compiled.tables:
        t = compiled.tables[name]
        keys = ", ".join(f"{c.name}: {c.type}" for c in t.keys)
        rest = ", ".join(f"{c.name}: {c.type}" + (" optional" if c.optional else "") for c in t.columns
                         if c.name not in {k.name for k in t.keys})
        rows = len(t.rows) if t.rows is not None else 0
        out.append(Declaration("table", name, t.origin.span,
                               f"**table {name}**" + (f" \"{t.label}\"" if t.label else "") +
                               f"\n\nfrom {Path(t.path).name}, {rows} rows; key {keys}" + (f"; columns {rest}" if rest else "")
                               + f"{_cite(t.citation)}{_where(t.origin, compiled)}"))
    return out


def builtin_markdown(name: str) -> str | None:
    from payerlint.builtins import BUILTINS

    builtin = BUILTINS.get(name)
    return f"**{builtin.usage}**\n\n{builtin.doc}\n\n*built-in function*" if builtin else None


def candidates(word: str, column: int, start: int) -> list[str]:
    """Names a dotted word may stand for: the whole (a rule id), the part under the cursor,
    the first part (`edit` of `edit.modifier_indicator`)."""
    parts = word.split(".")
    out = [word]
    offset = start
    for part in parts:
        if offset <= column <= offset + len(part):
            out.append(part)
        offset += len(part) + 1
    out.append(parts[0])
    return list(dict.fromkeys(out))


def hover(compiled: CompiledRulebook | None, line_text: str, column: int) -> tuple[str, int, int] | None:
    found = word_at(line_text, column)
    if found is None:
        return None
    word, start, end = found
    for name in candidates(word, column, start):
        if compiled is not None:
            decls = declarations(compiled, name)
            if decls:
                return "\n\n---\n\n".join(d.markdown for d in decls), start, end
        text = builtin_markdown(name)
        if text:
            return text, start, end
    return None


def definition(compiled: CompiledRulebook | None, line_text: str, column: int, path: str) -> Span | None:
    """Where the name under the cursor is declared: in this file or a rulebook it extends;
    `extends X` goes to the base's header, a table's `from "file"` to the file."""
    if compiled is None:
        return None
    stripped = line_text.strip()
    if stripped.startswith("extends") and compiled.base is not None:
        return compiled.base.header_span or Span(compiled.base.path, 1, 1, 1, 2)
    quoted = re.search(r'from\s+"([^"]+)"', line_text)
    if quoted and quoted.start(1) < column <= quoted.end(1) + 1:
        target = (Path(path).parent / quoted.group(1)).resolve()
        return Span(str(target), 1, 1, 1, 2) if target.exists() else None
    found = word_at(line_text, column)
    if found is None:
        return None
    word, start, _ = found
    for name in candidates(word, column, start):
        decls = [d for d in declarations(compiled, name) if d.span is not None]
        if decls:
            return decls[0].span
    return None


def completions(compiled: CompiledRulebook | None, line_before: str) -> list[tuple[str, str, str]]:
    """(label, kind, detail) to offer after the text before the cursor on its line."""
    words = line_before.split()
    last = words[-1] if words and not line_before.endswith((" ", "\t")) else ""
    previous = words[-2] if last and len(words) > 1 else (words[-1] if words and not last else "")
    if previous == "category":
        return [(c, "category", "category") for c in categories()]
    if previous == "severity":
        return [(s, "severity", "severity") for s in severities()]
    if previous == "each":
        return [(s, "keyword", "scope") for s in SCOPES]
    if previous == "per":
        return [(s, "keyword", "definition scope") for s in PER]
    out: list[tuple[str, str, str]] = []
    if compiled is not None:
        for name, p in compiled.params.items():
            out.append((name, "param", f"param = {_fmt(p.value, p.type)}"))
        for name, let in compiled.lets.items():
            out.append((name, "let", f"let: {let.type}"))
        for name, c in compiled.codesets.items():
            out.append((name, "codeset", f"codeset {c.label or ''}".strip()))
        for name, ph in compiled.phrases.items():
            out.append((name, "phrases", f"phrases {ph.label or ''}".strip()))
        for name, t in compiled.tables.items():
            out.append((name, "table", f"table {t.label or ''}".strip()))
        if line_before.lstrip().startswith(("disable rule", "override rule")):
            out = [(r.id, "rule", r.title) for r in compiled.rules]
            return [item for item in out if item[0].startswith(last)]
    from payerlint.builtins import BUILTINS

    out += [(name, "function", BUILTINS[name].usage) for name in sorted(BUILTINS)]
    out += [(k, "keyword", "keyword") for k in KEYWORDS]
    return [item for item in out if item[0].startswith(last)]
