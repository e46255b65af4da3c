"""`POST /v1/remit`: the same report as the command line, over HTTP (in process)."""

from __future__ import annotations

import json

import jsonschema
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed (pip install 'payerlint[server]')")
pytest.importorskip("httpx", reason="httpx (test extra) is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from payerlint.contract import load_schema  # noqa: E402
from payerlint.home import resolve_home  # noqa: E402
from payerlint.remit.run import build_report  # noqa: E402
from payerlint.server.app import Settings, create_app  # noqa: E402

from .synth import PATIENT_NAME, scenario  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(resolve_home(None)))) as c:
        yield c


@pytest.fixture(scope="module")
def body():
    claims, remits = scenario()
    return {"remittances": [{"name": f"r{i}.835", "text": r.decode()} for i, r in enumerate(remits)],
            "claims": [{"name": "claims.jsonl", "text": "".join(json.dumps(c) + "\n" for c in claims)}]}


def test_the_service_answers_the_cli_report_with_charts(client, body, tmp_path):
    answer = client.post("/v1/remit?charts=svg", json=body)
    assert answer.status_code == 200
    report = answer.json()
    charts = report.pop("charts")
    assert set(charts) == {"misses_by_reason", "false_alarms_by_rule", "denied_by_quarter"}
    assert all(svg.startswith("<svg") for svg in charts.values())
    assert list(jsonschema.Draft7Validator(load_schema("remit-report")).iter_errors(report)) == []
    # The files as paths give the same numbers.
    for f in body["remittances"] + body["claims"]:
        (tmp_path / f["name"]).write_text(f["text"])
    expected = build_report([str(tmp_path / f["name"]) for f in body["remittances"]],
                            [str(tmp_path / "claims.jsonl")]).report
    assert report["summary"] == expected["summary"] and report["rules"] == expected["rules"]
    assert PATIENT_NAME not in answer.text


def test_html_and_bad_requests(client, body):
    html = client.post("/v1/remit?format=html", json=body)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count("<svg") == 3
    assert client.post("/v1/remit", json={"remittances": []}).status_code == 400
    bad = client.post("/v1/remit", json={"remittances": [{"name": "x"}], "claims": [{"text": ""}]})
    assert bad.status_code == 400 and "remittances[0] must be an object with a text" in bad.json()["error"]
    assert client.post("/v1/remit?format=pdf", json=body).status_code == 400
    assert client.get("/openapi.json").json()["paths"]["/v1/remit"]["post"]["operationId"] == "remit"
