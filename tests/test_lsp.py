"""`payerlint lsp`, spoken to as an editor does: a subprocess on stdio, JSON-RPC messages
with Content-Length headers, the client's UTF-16 columns."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from payerlint.lsp.positions import from_client, to_client

pytest.importorskip("pygls", reason="the language server is the optional extra payerlint[lsp]")


class Client:
    """A minimal LSP client: requests wait for their response; notifications queue up."""

    def __init__(self, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-m", "payerlint", "lsp"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                                        env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        self.next_id = 0
        self.responses: dict[int, queue.Queue] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                header = header.decode("ascii").strip()
                if not header:
                    break
                if header.lower().startswith("content-length:"):
                    length = int(header.split(":")[1])
            message = json.loads(stream.read(length))
            if "id" in message and ("result" in message or "error" in message):
                self.responses.setdefault(message["id"], queue.Queue()).put(message)
            elif "method" in message:
                self.notifications.put(message)

    def send(self, message: dict):
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.process.stdin.flush()

    def request(self, method: str, params: dict, timeout: float = 30):
        self.next_id += 1
        ident = self.next_id
        box = self.responses.setdefault(ident, queue.Queue())
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        message = box.get(timeout=timeout)
        assert "error" not in message, message
        return message["result"]

    def notify(self, method: str, params: dict):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, uri: str, timeout: float = 30) -> list:
        while True:
            message = self.notifications.get(timeout=timeout)
            if message["method"] == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return message["params"]["diagnostics"]

    def close(self):
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.stdout.close()
            self.process.stdin.close()
            self.process.stderr.close()


# A payer rulebook that extends the bundled Medicare one. Non-BMP characters (each two
# UTF-16 units, one payerlint column) stand before the positions the tests use.
PAYER = '''rulebook acme "Acme 😀 commercial"
  quarter 2026Q2
  extends medicare@2026Q2

param visit_cap = 20  cite "Acme 🩺 policy 12"
let over_cap = episode.visits_this_year > visit_cap

rule limit.visits "Visits over the cap"
  category limit  severity warn
  when over_cap and manual_therapy_billed  # 😀 still counting
  say "Visit {episode.visits_this_year} is over {visit_cap}"
  cite "Acme policy"
'''


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tree = tmp_path_factory.mktemp("lsp")
    family = tree / "rulebooks" / "medicare"
    shutil.copytree(ROOT / "rulebooks" / "medicare", family, ignore=shutil.ignore_patterns("tests"))
    path = tree / "rulebooks" / "acme" / "2026Q2.rules"
    path.parent.mkdir(parents=True)
    path.write_text(PAYER, encoding="utf-8")
    client = Client(tree)
    init = client.request("initialize", {"processId": os.getpid(), "rootUri": tree.as_uri(), "capabilities": {}})
    client.notify("initialized", {})
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "payerlint", "version": 1,
                                                            "text": PAYER}})
    first = client.diagnostics(uri)
    yield client, uri, tree, init, first
    client.close()


def position_of(text: str, needle: str, offset: int = 0) -> dict:
    """The LSP position (UTF-16) of `needle` in `text`, plus `offset` code points."""
    for number, line in enumerate(text.split("\n")):
        at = line.find(needle)
        if at != -1:
            return {"line": number, "character": to_client(line, at + 1 + offset)}
    raise AssertionError(needle)


def edit(client, uri, text, version):
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                             "contentChanges": [{"text": text}]})
    return client.diagnostics(uri)


def test_the_server_announces_its_features(session):
    _client, _uri, _tree, init, first = session
    caps = init["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and "completionProvider" in caps
    assert caps.get("positionEncoding", "utf-16") == "utf-16"
    assert first == [], first


def test_diagnostics_as_you_type_with_the_compilers_words_and_utf16_columns(session):
    client, uri, _tree, _init, _first = session
    broken = PAYER.replace("when over_cap and manual_therapy_billed  # 😀 still counting",
                           'when "🩺" = "x" and over_capp  # 😀')
    [diagnostic] = edit(client, uri, broken, 2)
    assert diagnostic["code"] == "unresolved_name" and diagnostic["source"] == "payerlint"
    assert "over_capp" in diagnostic["message"] and "did you mean 'over_cap'?" in diagnostic["message"]
    line = broken.split("\n")[diagnostic["range"]["start"]["line"]]
    assert line.strip().startswith('when "🩺"')
    # The emoji before the name is one payerlint column but two UTF-16 units.
    expected = line.index("over_capp")
    assert diagnostic["range"]["start"]["character"] == expected + 1
    assert diagnostic["range"]["end"]["character"] == expected + 1 + len("over_capp")
    # The same wording as `payerlint compile`.
    path = Path(uri[len("file://"):])
    path.with_name("broken.rules").write_text(broken, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "payerlint", "compile", str(path.with_name("broken.rules"))],
                         capture_output=True, text=True, cwd=path.parents[2], env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert diagnostic["message"].split("\n")[0] in run.stderr
    assert edit(client, uri, PAYER, 3) == []


def test_a_syntax_error_is_a_diagnostic_too(session):
    client, uri, _tree, _init, _first = session
    [diagnostic, *_] = edit(client, uri, PAYER.replace("category limit  severity warn", "category limit  severity"), 4)
    assert diagnostic["severity"] == 1 and "a value is missing after 'severity'" in diagnostic["message"]
    assert edit(client, uri, PAYER, 5) == []


def test_hover_shows_a_params_value_and_citation(session):
    client, uri, _tree, _init, _first = session
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": position_of(PAYER, "visit_cap}", 2)})
    text = hover["contents"]["value"]
    assert "**param visit_cap** = `20`" in text and "Acme 🩺 policy 12" in text
    line = PAYER.split("\n")[hover["range"]["start"]["line"]]
    start = line.index("visit_cap}")
    assert hover["range"]["start"]["character"] == start   # no emoji before it on this line


def test_hover_after_an_emoji_and_on_an_inherited_definition(session):
    client, uri, _tree, _init, _first = session
    position = position_of(PAYER, "manual_therapy_billed", 3)
    line = PAYER.split("\n")[position["line"]]
    assert from_client(line, position["character"]) == line.index("manual_therapy_billed") + 4
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position})
    text = hover["contents"]["value"]
    assert "**let manual_therapy_billed**" in text and "any(lines where code in manual_therapy)" in text
    assert "declared in medicare@2026Q2" in text
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": position_of(PAYER, "limit.visits", 1)})
    assert "**rule limit.visits**" in hover["contents"]["value"] and "severity warn" in hover["contents"]["value"]


def test_go_to_definition_across_extends(session):
    client, uri, tree, _init, _first = session
    here = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                      "position": position_of(PAYER, "over_cap and", 2)})
    assert here["uri"] == uri and here["range"]["start"]["line"] == 5
    there = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                       "position": position_of(PAYER, "manual_therapy_billed", 5)})
    base = tree / "rulebooks" / "medicare" / "2026Q2.rules"
    assert there["uri"] == base.as_uri()
    declared = base.read_text(encoding="utf-8").split("\n")[there["range"]["start"]["line"]]
    assert declared.startswith("let manual_therapy_billed =")
    header = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                        "position": position_of(PAYER, "extends", 9)})
    assert header["uri"] == base.as_uri()


def test_completion_of_names_categories_and_severities(session):
    client, uri, _tree, _init, _first = session
    text = PAYER + "\nrule limit.other \"x\"\n  category \n"
    edit(client, uri, text, 6)
    line = len(text.split("\n")) - 2
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": len("  category ")}})
    assert {"units", "limit", "documentation"} <= {i["label"] for i in items["items"]}
    text = PAYER + "\nrule limit.other \"x\"\n  category limit severity \n"
    edit(client, uri, text, 7)
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": len("  category limit severity ")}})
    assert {i["label"] for i in items["items"]} == {"deny", "warn", "info"}
    text = PAYER + "\nlet y = visit_c\n"
    edit(client, uri, text, 8)
    line = len(text.split("\n")) - 2
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": len("let y = visit_c")}})
    assert [i["label"] for i in items["items"]] == ["visit_cap"]
    text = PAYER + "\nlet y = kx_\n"
    edit(client, uri, text, 9)
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": len("let y = kx_")}})
    labels = {i["label"] for i in items["items"]}
    assert {"kx_threshold_ot", "kx_threshold_pt_slp", "kx_threshold"} <= labels   # inherited names too
    edit(client, uri, PAYER, 10)


@pytest.mark.parametrize("line, column, units", [("ab", 3, 2), ("😀b", 2, 2), ("a😀b😀c", 4, 4), ("a😀b😀c", 6, 7)])
def test_column_conversion_both_ways(line, column, units):
    assert to_client(line, column) == units
    assert from_client(line, units) == column
    assert to_client(line, column, "utf-32") == column - 1
    assert to_client(line, column, "utf-8") == len(line[:column - 1].encode("utf-8"))
