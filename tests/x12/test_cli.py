"""`payerlint convert` and `payerlint export` as a user runs them."""

from __future__ import annotations

import json

from payerlint.cli import main
from payerlint.x12.claims837 import read_837p

from .helpers import DATA, ROOT, three_claims

FILE = str(DATA / "therapy-three-claims.837")
HOME = ["--home", str(ROOT)]


def test_convert_prints_every_claim_as_read_and_exits_1_for_a_claim_with_errors(capsys):
    assert main(["convert", FILE, "--to", "jsonl", *HOME]) == 1
    out, err = capsys.readouterr()
    claims = [json.loads(line) for line in out.splitlines()]
    assert [c["claim_id"] for c in claims] == ["SYN-1001", "SYN-1002", "SYN-1003"]
    assert claims[1]["diagnoses"] == ["7242"]  # shown, though it will fail checking
    assert f"{FILE}:CLM 2: error[x12_icd9]" in err
    assert "SYN000000A1" not in err


def test_convert_json_with_sources(capsys):
    main(["convert", FILE, "--sources", *HOME])
    records = json.loads(capsys.readouterr().out)
    first = records[0]
    assert first["origin"] == f"{FILE}:CLM 1" and first["errors"] == []
    assert first["sources"]["/lines/0/modifiers/1"] == {
        "segment": "SV1", "number": 24, "transaction": "0001", "element": "SV101-4", "lx": 1, "loop": "2400", "line": 26}
    assert records[1]["errors"][0]["code"] == "x12_icd9"


def test_convert_a_clean_file_exits_0_and_a_broken_envelope_exits_2(tmp_path, capsys):
    clean = tmp_path / "clean.837"
    text = three_claims().replace(b"HI*BK:7242~", b"HI*ABK:M5450~").replace(b"LX*1~\nSV1*HC:97140:GP*45.00*UN*1***1~\n",
                                                                             b"LX*1~\nSV1*HC:97140:GP*45.00*UN*1***1~\nDTP*472*D8*20260515~\n")
    clean.write_bytes(text.replace(b"SE*61*0001", b"SE*62*0001"))
    assert main(["convert", str(clean), *HOME]) == 0
    capsys.readouterr()
    broken = tmp_path / "broken.837"
    broken.write_bytes(text)  # one segment more than SE01 says
    assert main(["convert", str(broken), *HOME]) == 2
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 3  # the claims are still shown
    assert "SE01: says '61' segments, the transaction set has 62" in err


def test_convert_rejects_a_4010_file_with_exit_2(tmp_path, capsys):
    old = tmp_path / "old.837"
    old.write_bytes(three_claims().replace(b"005010X222A1", b"004010X098A1"))
    assert main(["convert", str(old), *HOME]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == [] and "004010X098A1 is the 4010 837P" in err


def test_export_applies_saved_fixes_and_tells_them_as_837p_edits(tmp_path, capsys):
    claims = tmp_path / "claims.jsonl"
    main(["convert", FILE, "--to", "jsonl", *HOME])
    lines = capsys.readouterr().out.splitlines()
    claims.write_text(lines[0] + "\n" + lines[2] + "\n", encoding="utf-8")
    results = tmp_path / "results.jsonl"
    results.write_text(
        json.dumps({"claim_id": "SYN-1001", "verdict": "deny", "fix": [
            {"op": "add", "path": "/lines/1/modifiers/-", "value": "59"},
            {"op": "replace", "path": "/lines/0/units", "value": 2}]}) + "\n"
        + json.dumps({"claim_id": "SYN-1003", "verdict": "clean", "fix": []}) + "\n", encoding="utf-8")
    output = tmp_path / "fixed.837"
    status = main(["export", "--format", "837p", str(claims), "--apply-fixes", str(results), "-o", str(output), *HOME])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "SV1-04 set 2 on LX 1" in err and "SV1-01-4 add 59 on LX 2" in err
    assert "placeholders" in err
    back = [r.data for r in read_837p(str(output), "fixed.837")]
    assert back[0]["lines"][1]["modifiers"] == ["GP", "59"] and back[0]["lines"][0]["units"] == 2
    assert back[1] == json.loads(lines[2])
    assert not list(tmp_path.glob(".payerlint-*"))  # the temporary file was renamed, not left behind


def test_export_reads_837p_input_and_reports_claims_it_cannot_write(tmp_path, capsys):
    settings = tmp_path / "envelope.toml"
    settings.write_text('sender_id = "CLINIC01"\nbilling_name = "SYNTHETIC CLINIC"\nbilling_tax_id = "123456789"\n'
                        'usage = "P"\n[billing_address]\nstreet = "1 MAIN ST"\ncity = "LOUISVILLE"\nstate = "KY"\n'
                        'postal_code = "40202"\n', encoding="utf-8")
    status = main(["export", "--format", "837p", FILE, "--envelope", str(settings), *HOME])
    out, err = capsys.readouterr()
    assert status == 1  # the ICD-9 claim is not exported
    assert f"{FILE}:CLM 2: not exported: error[x12_icd9]" in err
    assert "placeholders" not in err
    assert "*ZZ*CLINIC01       *" in out and "*P*:~" in out and "NM1*85*2*SYNTHETIC CLINIC" in out
    assert [r.data["claim_id"] for r in read_837p(out.encode(), "out.837")] == ["SYN-1001", "SYN-1003"]


def test_export_with_an_unknown_setting_is_a_usage_error(tmp_path, capsys):
    settings = tmp_path / "envelope.toml"
    settings.write_text('sender = "X"\n', encoding="utf-8")
    assert main(["export", "--format", "837p", FILE, "--envelope", str(settings), *HOME]) == 2
    assert "unknown setting(s) sender" in capsys.readouterr().err
