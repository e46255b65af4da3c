"""The language server: pygls speaking LSP over standard input and output.

As a lead types, the editor's text is compiled (unsaved, through the same stages as
`payerlint compile`) and the compiler's diagnostics are published with their wording and
hints. Hover, go to definition and completion read the last text that compiled, so they
keep working while a line is half written. Positions are converted between payerlint's
code-point columns and the client's units (positions.py).
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from payerlint import __version__
from payerlint.compile.loader import Loader
from payerlint.diagnostics import Diagnostic
from payerlint.home import resolve_home
from payerlint.lsp import analysis
from payerlint.lsp.positions import encoding_name, from_client, to_client
from payerlint.source import Span, lookup

KINDS = {"param": T.CompletionItemKind.Constant, "let": T.CompletionItemKind.Variable,
         "codeset": T.CompletionItemKind.Enum, "phrases": T.CompletionItemKind.Enum,
         "table": T.CompletionItemKind.Struct, "function": T.CompletionItemKind.Function,
         "keyword": T.CompletionItemKind.Keyword, "category": T.CompletionItemKind.EnumMember,
         "severity": T.CompletionItemKind.EnumMember, "rule": T.CompletionItemKind.Reference}


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def path_to_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()


class RulesServer(LanguageServer):
    def __init__(self, home: str | None = None):
        super().__init__("payerlint", __version__)
        self.loader = Loader(resolve_home(home))
        self.good: dict[str, analysis.Analysis] = {}
        """The last analysis of each document that compiled."""

    @property
    def encoding(self) -> str:
        return encoding_name(self.workspace.position_encoding)

    def lines_of(self, path: str, uri: str | None = None) -> list[str]:
        if uri is not None:
            try:
                return self.workspace.get_text_document(uri).source.split("\n")
            except Exception:  # a document the client never opened: read it from disk
                pass
        source = lookup(path)
        return source.text.split("\n") if source else []

    def to_range(self, span: Span, lines: list[str]) -> T.Range:
        def position(line: int, column: int) -> T.Position:
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            return T.Position(line=max(0, line - 1), character=to_client(text, column, self.encoding))

        return T.Range(start=position(span.line, span.column), end=position(span.end_line, span.end_column))

    def lsp_diagnostic(self, d: Diagnostic, path: str, lines: list[str]) -> T.Diagnostic:
        message = d.message + "".join(f"\n{note}" for note in d.notes)
        if d.span is not None and d.span.file == path:
            where = self.to_range(d.span, lines)
        else:
            # A problem in another file (a base rulebook, a table file) is shown at the top,
            # naming where it is.
            if d.span is not None:
                message = f"{d.span}: {message}"
            where = T.Range(start=T.Position(line=0, character=0), end=T.Position(line=0, character=0))
        related = [T.DiagnosticRelatedInformation(
            location=T.Location(uri=path_to_uri(s.file), range=self.to_range(s, self.lines_of(s.file))),
            message="see also") for s in d.related]
        return T.Diagnostic(range=where, message=message, code=d.code, source="payerlint",
                            severity=T.DiagnosticSeverity.Error if d.severity == "error" else T.DiagnosticSeverity.Warning,
                            related_information=related or None)

    def refresh(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        path = uri_to_path(uri)
        result = analysis.analyse(path, document.source, self.loader)
        if result.compiled is not None:
            self.good[uri] = result
        lines = document.source.split("\n")
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
            uri=uri, version=document.version,
            diagnostics=[self.lsp_diagnostic(d, path, lines) for d in result.diagnostics]))

    def compiled(self, uri: str):
        found = self.good.get(uri)
        return found.compiled if found else None

    def cursor(self, uri: str, position: T.Position) -> tuple[str, int]:
        lines = self.workspace.get_text_document(uri).source.split("\n")
        text = lines[position.line] if position.line < len(lines) else ""
        return text, from_client(text, position.character, self.encoding)


def build(home: str | None = None) -> RulesServer:
    server = RulesServer(home)

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RulesServer, params: T.DidOpenTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RulesServer, params: T.DidChangeTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RulesServer, params: T.DidSaveTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    def hover(ls: RulesServer, params: T.HoverParams):
        uri = params.text_document.uri
        text, column = ls.cursor(uri, params.position)
        found = analysis.hover(ls.compiled(uri), text, column)
        if found is None:
            return None
        markdown, start, end = found
        line = params.position.line
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=markdown),
                       range=T.Range(start=T.Position(line=line, character=to_client(text, start, ls.encoding)),
                                     end=T.Position(line=line, character=to_client(text, end, ls.encoding))))

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: RulesServer, params: T.DefinitionParams):
        uri = params.text_document.uri
        text, column = ls.cursor(uri, params.position)
        span = analysis.definition(ls.compiled(uri), text, column, uri_to_path(uri))
        if span is None:
            return None
        target = path_to_uri(span.file)
        lines = ls.lines_of(span.file, target if target == uri else None)
        return T.Location(uri=target, range=ls.to_range(span, lines))

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[" "]))
    def completion(ls: RulesServer, params: T.CompletionParams):
        uri = params.text_document.uri
        text, column = ls.cursor(uri, params.position)
        items = analysis.completions(ls.compiled(uri), text[:column - 1])
        return T.CompletionList(is_incomplete=False, items=[
            T.CompletionItem(label=label, kind=KINDS.get(kind), detail=detail) for label, kind, detail in items])

    return server


def main(home: str | None = None) -> int:
    build(home).start_io()
    return 0
