"""`payerlint serve` as a real process on a loopback port, spoken to over HTTP: the
check endpoints give the API's own results (validated against the result schema), bad
bodies get clear 400/413 answers, the token guards all but /healthz, the access log
holds no claim content, and the OpenAPI document is a valid OpenAPI 3.1 document built
from the shipped schemas. Every claim here is synthetic."""

from __future__ import annotations

import copy
import json
import socket
import time
from pathlib import Path

import pytest

from serverproc import ServerProcess, need  # noqa: E402

need("fastapi", "server")
need("httpx", "test")

import httpx  # noqa: E402
import jsonschema  # noqa: E402

from conftest import DATA, ROOT  # noqa: E402
from payerlint.api import Router  # noqa: E402
from payerlint.compile.loader import Loader  # noqa: E402
from payerlint.contract import load_schema  # noqa: E402
from payerlint.home import Home  # noqa: E402

TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 256 * 1024
MARKER = "ZZPATIENTMARKER"
RESULT = jsonschema.Draft7Validator(load_schema("result"))
DIAGNOSTIC = jsonschema.Draft7Validator(load_schema("diagnostic"))
ROUTER = Router(loader=Loader(Home(ROOT, "tests")))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    process = ServerProcess("--max-body", str(MAX_BODY), token=TOKEN, log=log)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.base, headers=AUTH, timeout=30) as c:
        yield c


def claim(**changes) -> dict:
    data = json.loads((DATA / "clean_claim.json").read_text())
    data.update(changes)
    return data


def denied() -> dict:
    data = claim(claim_id="HTTP-DENY")
    data["lines"][0]["units"] = 2
    return data


def valid(result: dict) -> dict:
    assert list(RESULT.iter_errors(result)) == [], result
    return result


# ------------------------------------------------------------------ check


def test_one_claim_gets_the_same_result_as_the_python_api(client):
    answer = client.post("/v1/check", json=denied())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    result = valid(answer.json())
    assert result["verdict"] == "deny" and result["record"] == "request"
    assert result["findings"][0]["fix"] == [{"op": "replace", "path": "/lines/0/units", "value": 1}]
    assert answer.text == ROUTER.check(denied(), "request").dumps()


def test_an_array_gets_results_in_order_and_an_invalid_claim_its_error_inside_a_200(client):
    invalid = claim(claim_id="HTTP-BAD")
    invalid["lines"][0]["units"] = "two"
    answer = client.post("/v1/check", json=[claim(claim_id="HTTP-OK"), invalid, 7, denied()])
    assert answer.status_code == 200
    results = [valid(r) for r in answer.json()]
    assert [r["claim_id"] for r in results] == ["HTTP-OK", "HTTP-BAD", None, "HTTP-DENY"]
    assert [r["verdict"] for r in results] == ["clean", "error", "error", "deny"]
    assert [r["record"] for r in results] == ["request[0]", "request[1]", "request[2]", "request[3]"]
    bad = results[1]["findings"][0]
    assert bad["rule"] == "input.schema" and bad["pointer"] == "/lines/0/units"
    assert "two" not in json.dumps(results[1])  # the value itself is not echoed


def test_one_rulebook_explain_and_strict_are_query_parameters(client):
    routed = client.post("/v1/check", json=denied()).json()
    assert "explanation" not in routed["findings"][0]
    explained = client.post("/v1/check", params={"rulebook": "medicare@2026Q3", "explain": "true"},
                            json=denied()).json()
    valid(explained)
    assert explained["rulebooks"] == ["medicare@2026Q3"]
    assert {p["name"] for p in explained["findings"][0]["explanation"]["params"]} >= {"unit_method"}
    no_note = claim(claim_id="HTTP-NO-NOTE")
    del no_note["documentation"]
    strict = valid(client.post("/v1/check", params={"strict": "true"}, json=no_note).json())
    assert strict["verdict"] == "warn" and any(f["category"] == "input" for f in strict["findings"])


X12_FILE = ROOT / "examples" / "x12" / "therapy-claims.837"


def test_an_837p_file_gets_one_result_per_claim_with_segments_and_837p_edits(client):
    from payerlint.x12.records import records

    raw = X12_FILE.read_bytes()
    answer = client.post("/v1/check", content=raw, headers={"Content-Type": "application/edi-x12"})
    assert answer.status_code == 200
    results = [valid(r) for r in answer.json()]
    assert [(r["claim_id"], r["verdict"]) for r in results] == [
        ("X12-01", "clean"), ("X12-02", "warn"), ("X12-03", "error"), ("X12-04", "clean"), ("X12-05", "deny")]
    assert [r["record"] for r in results] == [f"request:CLM {n}" for n in range(1, 6)]
    gp = results[4]
    assert gp["source"]["format"] == "X12 837P (005010X222A1)"
    assert gp["findings"][0]["x12"][0]["edit"] == "SV1-01-3 add GP on LX 1 (segment 51 of ST 0001)"
    assert gp["source"]["locations"]["/lines/0/minutes"] == "not in an 837P file; supply it with --documentation"
    # The API's own results, byte for byte; and detected without a content type.
    expected = b"[" + b",".join(ROUTER.check_record(r).dumps().encode()
                                 for r in records(raw, "request", ROUTER.registry)) + b"]"
    assert answer.content == expected
    sniffed = client.post("/v1/check", content=raw, headers={"Content-Type": "text/plain"})
    assert sniffed.content == expected
    assert "SYNTHETIC" not in answer.text and "SYN000000A1" not in answer.text


def test_a_broken_837p_envelope_is_an_error_result_and_bad_format_requests_are_400(client):
    raw = X12_FILE.read_bytes().replace(b"SE*53*0001~", b"SE*52*0001~")
    results = [valid(r) for r in client.post("/v1/check", content=raw, params={"format": "x12"}).json()]
    assert len(results) == 6 and results[-1]["record"] == "request:ST 0001"
    assert "element SE01: says '52' segments" in results[-1]["findings"][0]["message"]
    not_x12 = client.post("/v1/check", json=denied(), params={"format": "x12"}).json()
    assert not_x12[0]["verdict"] == "error" and "ISA segment" in not_x12[0]["findings"][0]["message"]
    assert client.post("/v1/check", json=denied(), params={"format": "cobol"}).status_code == 400
    lines = client.post("/v1/check/jsonl", content=raw, headers={"Content-Type": "application/edi-x12"})
    assert lines.status_code == 400 and "/v1/check" in lines.json()["error"]
    # Without a content type, the ISA segment tells: one 400, not an error result per segment.
    sniffed = client.post("/v1/check/jsonl", content=b"\n  " + raw)
    assert sniffed.status_code == 400 and "an 837P file (it starts with an ISA segment)" in sniffed.json()["error"]


def test_fhir_claims_and_bundles_are_converted_and_located(client):
    fhir = json.loads((DATA / "fhir" / "clean-claim.json").read_text())
    one = valid(client.post("/v1/check", json=fhir, headers={"Content-Type": "application/fhir+json"}).json())
    assert one["verdict"] != "error" and one["source"]["format"] == "FHIR R4 Claim"
    bundle = json.loads((DATA / "fhir" / "therapy-bundle.json").read_text())
    results = [valid(r) for r in client.post("/v1/check", json=bundle).json()]
    assert len(results) > 1 and all(r["record"].startswith("request Bundle.entry[") for r in results)
    assert any(loc.startswith("Claim.item[") for r in results for loc in r["source"]["locations"].values())
    streamed = client.post("/v1/check/jsonl", content=json.dumps(fhir) + "\n" + json.dumps(denied()) + "\n",
                           headers={"Content-Type": "application/x-ndjson"})
    found = [json.loads(line) for line in streamed.text.splitlines()]
    assert found[0]["source"]["format"] == "FHIR R4 Claim" and found[1]["claim_id"] == "HTTP-DENY"
    assert found[0] == one | {"record": "request:1"}


def test_a_rulebook_reference_is_never_a_path(client):
    for ref in ("../../etc/passwd@2026Q2", "/etc/passwd", "medicare@2031Q1", "nobody@2026Q2"):
        answer = client.post("/v1/check", params={"rulebook": ref}, json=denied())
        assert answer.status_code == 404, ref
        assert "error" in answer.json()


def test_malformed_json_is_a_400_naming_line_and_column(client):
    answer = client.post("/v1/check", content=b'{\n  "claim_id": "X",\n  "units": 2,,\n}')
    assert answer.status_code == 400
    body = answer.json()
    assert "line 3, column 14" in body["error"]
    (diagnostic,) = body["diagnostics"]
    assert list(DIAGNOSTIC.iter_errors(diagnostic)) == []
    assert (diagnostic["file"], diagnostic["line"], diagnostic["column"]) == ("request body", 3, 14)
    not_utf8 = client.post("/v1/check", content=b'{"claim_id": "\xff"}')
    assert not_utf8.status_code == 400 and "not UTF-8" in not_utf8.json()["error"]
    empty = client.post("/v1/check", content=b"  ")
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    # JSON Lines sent to the endpoint for one document: the error says where they go.
    lines = client.post("/v1/check", content=(json.dumps(denied()) + "\n" + json.dumps(denied()) + "\n").encode())
    assert lines.status_code == 400 and "line 2, column 1" in lines.json()["error"]
    assert "JSON Lines (a claim per line) to /v1/check/jsonl" in lines.json()["error"]


def test_a_body_over_the_limit_is_a_413(client, server):
    big = [claim(claim_id=f"BIG-{i}") for i in range(400)]
    answer = client.post("/v1/check", json=big)
    assert answer.status_code == 413 and f"{MAX_BODY:,} bytes" in answer.json()["error"]

    def chunks():  # no Content-Length: the limit is found while reading
        for _ in range(40):
            yield b" " * 8192
    chunked = client.post("/v1/check", content=chunks())
    assert chunked.status_code == 413


# ------------------------------------------------------------------ JSON Lines


def test_json_lines_give_one_result_per_line_in_order_even_when_a_line_is_not_json(client):
    body = "\n".join([json.dumps(claim(claim_id="L1")), "this is not json", "", json.dumps(denied()),
                      '{"claim_id": "L5", ', json.dumps(claim(claim_id="L6"))]) + "\n"
    answer = client.post("/v1/check/jsonl", content=body.encode())
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
    results = [valid(json.loads(line)) for line in answer.text.splitlines()]
    assert [r["record"] for r in results] == ["request:1", "request:2", "request:4", "request:5", "request:6"]
    assert [r["verdict"] for r in results] == ["clean", "error", "deny", "error", "clean"]
    assert results[1]["findings"][0]["message"].startswith("request:2:1: invalid JSON")
    assert "request:5:" in results[3]["findings"][0]["message"]


def test_json_lines_stream_results_before_the_upload_ends(server):
    """A raw chunked upload: the first result arrives while the second line is unsent."""
    first = json.dumps(claim(claim_id="S1")).encode() + b"\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/check/jsonl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        received = b""
        deadline = time.monotonic() + 20
        while b'"S1"' not in received and time.monotonic() < deadline:
            received += sock.recv(65536)
        assert b'"claim_id":"S1"' in received
        second = json.dumps(denied()).encode() + b"\n"
        sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))
        while b"0\r\n\r\n" not in received and time.monotonic() < deadline:
            received += sock.recv(65536)
    assert b'"claim_id":"HTTP-DENY"' in received


# ------------------------------------------------------------------ registry, rulebooks, diff


def test_payers_list_each_payer_with_its_quarters(client):
    payers = {p["id"]: p for p in client.get("/v1/payers").json()}
    assert {"medicare", "uhc-medicare-advantage"} <= set(payers)
    assert "2026Q2" in payers["medicare"]["quarters"]
    assert "uhc-ma" in [a.lower() for a in payers["uhc-medicare-advantage"]["aliases"]]


def test_a_rulebook_shows_rules_with_citations_where_inherited_params_and_code_sets(client):
    book = client.get("/v1/rulebooks/UHC-MA/2026Q2").json()  # an alias picks the payer's family
    assert book["id"] == "uhc-medicare-advantage@2026Q2" and book["extends"][0] == "medicare@2026Q2"
    rules = {r["id"]: r for r in book["rules"]}
    units = rules["units.total"]
    assert units["inherited"] and units["origin"]["rulebook"] == "medicare@2026Q2"
    # UHC adopts the rule with its own source, which leads the rule's (CMS) citation.
    assert units["origin"]["file"] == "rulebooks/medicare/2026Q2.rules"
    assert units["citation"].startswith("UHC Medicare Advantage") and "CMS Pub. 100-04 Ch. 5 sec. 20.2" in units["citation"]
    assert "let:allowed_timed_units" in units["reads"] or any(r.startswith("let:") for r in units["reads"])
    assert not rules["authorization.missing"]["inherited"]
    assert any(p["name"] == "unit_method" and p["value"] == "cms_total_time" for p in book["params"])
    timed = next(c for c in book["code_sets"] if c["name"] == "timed")
    assert "97140" in timed["members"]
    nodes = {n["id"] for n in book["graph"]["nodes"]}
    assert "rule:units.total" in nodes and all(e["from"] in nodes and e["to"] in nodes for e in book["graph"]["edges"])
    assert str(ROOT) not in json.dumps(book)  # no server paths


def test_unknown_payers_and_quarters_say_what_exists(client):
    unknown = client.get("/v1/rulebooks/medicar/2026Q2")
    assert unknown.status_code == 404 and "medicare" in unknown.json()["error"]
    quarter = client.get("/v1/rulebooks/medicare/2031Q1")
    assert quarter.status_code == 404 and "2026Q2" in quarter.json()["error"]
    malformed = client.get("/v1/rulebooks/medicare/2026-Q2")
    assert malformed.status_code == 404


def test_diff_of_two_quarters_with_replayed_claims(client):
    claims = [json.loads(line) for line in (ROOT / "examples/replay/kx-threshold-2025-2026.jsonl").read_text().splitlines()]
    answer = client.post("/v1/diff", json={"old": "medicare@2025Q4", "new": "medicare@2026Q1", "claims": claims})
    assert answer.status_code == 200
    body = answer.json()
    assert body["changed"] and any(c["name"] == "kx_threshold_pt_slp" for c in body["changes"])
    assert body["summary"]["claims_checked"] == len(claims) and body["summary"]["claims_changed"] == 9
    assert body["summary"]["claims_invalid"] == 0
    # Records neither rulebook can check are counted as such, not as claims compared.
    odd = client.post("/v1/diff", json={"old": "medicare@2025Q4", "new": "medicare@2026Q1",
                                        "claims": [1, None, {"a": 1}, claims[0]]}).json()["summary"]
    assert (odd["claims_checked"], odd["claims_invalid"]) == (4, 3)
    assert body["claims"][0]["differences"][0]["causes"][0]["kind"] == "param"
    plain = client.post("/v1/diff", json={"old": "medicare@2025Q4", "new": "medicare@2026Q1"}).json()
    assert "claims" not in plain and plain["changes"] == body["changes"]
    assert client.post("/v1/diff", json={"old": "medicare@2025Q4"}).status_code == 400
    assert client.post("/v1/diff", json={"old": "x@2025Q4", "new": "medicare@2026Q1"}).status_code == 404


# ------------------------------------------------------------------ security, logs, OpenAPI


def test_the_token_guards_every_endpoint_but_the_health_check(server):
    with httpx.Client(base_url=server.base, timeout=30) as anonymous:
        assert anonymous.get("/healthz").json()["status"] == "ok"
        for method, path in (("GET", "/v1/payers"), ("POST", "/v1/check"), ("POST", "/v1/check/jsonl"),
                             ("GET", "/v1/rulebooks/medicare/2026Q2"), ("POST", "/v1/diff"), ("GET", "/openapi.json"),
                             ("POST", "/v1/reload")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                answer = anonymous.request(method, path, headers=headers, content=b"{}")
                assert answer.status_code == 401, (method, path, headers)
                assert answer.headers["www-authenticate"].startswith("Bearer")
        for scheme in ("bearer", "BEARER"):  # the scheme is case-insensitive (RFC 7235)
            assert anonymous.get("/v1/payers", headers={"Authorization": f"{scheme} {TOKEN}"}).status_code == 200
        page = anonymous.get("/")  # the workbench's files hold no data; its API calls send the token
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]


def test_the_access_log_names_method_path_status_and_time_never_claim_content(client, server):
    secret = claim(claim_id=f"{MARKER}-ID")
    secret["patient"]["id"] = MARKER
    secret["documentation"]["clinical_indication"] = f"{MARKER} note text"
    client.post("/v1/check", json=secret, params={"note": MARKER})
    client.post("/v1/check/jsonl", content=(json.dumps(secret) + "\n" + MARKER + "\n").encode())
    client.post("/v1/check", content=f'{{"x": "{MARKER}",'.encode())
    time.sleep(0.3)
    log = Path(server.log).read_text()
    assert "POST /v1/check 200" in log and "POST /v1/check/jsonl 200" in log and "POST /v1/check 400" in log
    assert MARKER not in log


def test_a_client_that_hangs_up_mid_body_is_no_server_error(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n" + b'{"claim_id": "HANGUP", ' * 3)
    deadline = time.monotonic() + 10
    while "POST /v1/check 499" not in Path(server.log).read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = Path(server.log).read_text()
    assert "POST /v1/check 499" in log
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def test_the_openapi_document_is_valid_openapi_3_1_built_from_the_shipped_schemas(client):
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert schemas["Result"]["x-payerlint-schema-id"] == "urn:payerlint:schema:result:v1"
    assert schemas["Result"]["properties"]["verdict"] == load_schema("result")["properties"]["verdict"]
    assert schemas["Result.finding"]["properties"]["fix"]["$ref"] == "#/components/schemas/Result.patch"
    assert set(load_schema("claim")["definitions"]) <= {k.split(".", 1)[1] for k in schemas if k.startswith("Claim.")}
    assert document["security"] == [{"bearer": []}] and document["paths"]["/healthz"]["get"]["security"] == []
    # The service runs with a token: every operation but the health check documents its 401.
    operations = [(path, op) for path, ops in document["paths"].items() for op in ops.values()]
    assert all(("401" in op["responses"]) == (path != "/healthz") for path, op in operations)
    # A result the service wrote validates against the document's own Result schema.
    resolver_doc = copy.deepcopy(document)
    for params in ({}, {"explain": "true"}):  # an explanation has a property named `definitions`
        result = client.post("/v1/check", params=params, json=denied()).json()
        jsonschema.validate(result, {"$ref": "#/components/schemas/Result", **resolver_doc},
                            cls=jsonschema.Draft202012Validator)


def test_serve_listens_on_loopback_unless_told_otherwise():
    from payerlint.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.max_body) == ("127.0.0.1", 8000, 16 << 20)
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--token", "t"])
    assert (args.host, args.port, args.token) == ("0.0.0.0", 9000, "t")


def test_rulebooks_of_the_bundled_tree_are_found_under_a_team_tree(tmp_path):
    # A team tree is an overlay: a family@quarter it does not hold itself comes from the
    # bundled tree underneath, for the rulebook and diff endpoints as for checking.
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry
    from payerlint.server.views import NotFound, rulebook_ref

    for folder in ("payers", "rulebooks"):
        (tmp_path / folder).mkdir()
    registry = Registry.load(resolve_home(tmp_path))
    assert rulebook_ref(registry, "medicare", "2026Q2") == "medicare@2026Q2"
    assert rulebook_ref(registry, "therapy-common", "2026Q2") == "therapy-common@2026Q2"
    with pytest.raises(NotFound, match="quarters with a rulebook: 2025Q4, 2026Q1"):
        rulebook_ref(registry, "medicare", "2031Q1")


def test_reload_serves_a_changed_rule_tree_without_a_restart(tmp_path):
    import shutil

    for folder in ("rulebooks", "payers"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    process = ServerProcess(home=tmp_path)
    try:
        with httpx.Client(base_url=process.base, timeout=30) as c:
            assert c.post("/v1/check", json=denied()).json()["verdict"] == "deny"
            rules = tmp_path / "rulebooks" / "medicare" / "2026Q2.rules"
            text = rules.read_text(encoding="utf-8")
            start = text.index("rule units.total ")  # its first severity is the rule's own
            rules.write_text(text[:start] + text[start:].replace("severity deny", "severity warn", 1), encoding="utf-8")
            assert c.post("/v1/check", json=denied()).json()["verdict"] == "deny"
            assert c.post("/v1/reload").json()["payers"] >= 8
            assert c.post("/v1/check", json=denied()).json()["verdict"] == "warn"
            assert c.post("/v1/check", params={"rulebook": "medicare@2026Q2"}, json=denied()).json()["verdict"] == "warn"
            (tmp_path / "payers" / "broken.toml").write_text("id = \n", encoding="utf-8")
            refused = c.post("/v1/reload")
            assert refused.status_code == 422 and refused.json()["diagnostics"][0]["file"].endswith("broken.toml")
            assert c.post("/v1/check", json=denied()).json()["verdict"] == "warn"  # the rules it had
    finally:
        process.stop()
