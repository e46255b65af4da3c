"""The command line, damaged input, the six third-party TR3 sample remittances, and the
CARC families data against the codes the bundled rulebooks predict."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from payerlint.api import Router
from payerlint.cli import main
from payerlint.remit.families import Families, FamilyError
from payerlint.remit.run import build_report

from .synth import Payment, denied_line, remittance, scenario

# ../shared beside the checkout (PAYERLINT_SHARED elsewhere, a git worktree), as tests/x12.
ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = Path(os.environ.get("PAYERLINT_SHARED") or ROOT.parent / "shared") / "external"
needs_shared = pytest.mark.skipif(
    not EXTERNAL.is_dir(), reason=f"third-party X12 samples not found at {EXTERNAL} (../shared beside the checkout)")
ROUTER = Router()
SAMPLES = EXTERNAL / "x12-835" / "linuxforhealth-x12" / "835_005010X221A1"


@pytest.fixture
def files(tmp_path):
    claims, remits = scenario()
    (tmp_path / "claims.jsonl").write_text("".join(json.dumps(c) + "\n" for c in claims))
    paths = []
    for i, text in enumerate(remits):
        (tmp_path / f"r{i}.835").write_bytes(text)
        paths.append(str(tmp_path / f"r{i}.835"))
    return tmp_path, paths


def test_cli_writes_each_format_and_exits_0(files, capsys):
    folder, remits = files
    out = folder / "report.json"
    assert main(["remit", *remits, "--claims", str(folder / "claims.jsonl"), "--format", "json", "-o", str(out)]) == 0
    assert json.loads((folder / "report.json").read_text())["summary"]["hits"] == 7
    assert main(["remit", *remits, "--claims", str(folder / "claims.jsonl")]) == 0
    assert "Top missed denial reasons" in capsys.readouterr().out


def test_cli_usage_errors_exit_2(files, capsys):
    folder, remits = files
    assert main(["remit", *remits, "--claims", str(folder / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["remit", *remits, "--claims", str(folder / "claims.jsonl"), "-o", str(folder / "no" / "x")]) == 2
    # Claims files that hold no claim, whatever their format: nothing to match against.
    (folder / "empty.jsonl").write_text("")
    (folder / "empty.837").write_bytes(remits and b"ISA*00*          *00*          *ZZ*A              *ZZ*B              "
                                       b"*260514*1200*^*00501*000000001*0*T*:~GS*HC*A*B*20260514*1200*1*X*005010X222A1~"
                                       b"GE*0*1~IEA*1*000000001~")
    for empty in ("empty.jsonl", "empty.837"):
        capsys.readouterr()
        assert main(["remit", *remits, "--claims", str(folder / empty)]) == 2, empty
        assert "no claim was read from" in capsys.readouterr().err


def test_a_broken_envelope_is_an_error_and_the_rest_is_still_read(files, capsys):
    folder, remits = files
    good = remittance([Payment("R-MISS-1", "4", "48.00", "0.00", [denied_line("50")])], control="0009")
    broken = good.replace(b"SE*", b"XX*").replace(b"IEA*1*", b"IEA*2*")  # no SE, wrong IEA count
    (folder / "broken.835").write_bytes(broken)
    (folder / "junk.835").write_bytes(b"this is not X12 at all\n")
    code = main(["remit", str(folder / "junk.835"), str(folder / "broken.835"), *remits,
                 "--claims", str(folder / "claims.jsonl"), "--format", "json", "-o", str(folder / "r.json")])
    report = json.loads((folder / "r.json").read_text())
    assert code == 1 and report["remittances"]["errors"] >= 2
    assert report["summary"]["hits"] == 7  # the good files are measured as before
    messages = [d["message"] for d in report["diagnostics"] if d["severity"] == "error"]
    assert any("junk.835" in m for m in messages) and any("broken.835" in m for m in messages)


def test_unreadable_claim_records_are_named_not_quoted(files):
    folder, remits = files
    (folder / "bad.jsonl").write_text('{"claim_id": "SECRET-NAME-IN-BROKEN-JSON", \n')
    report = build_report(remits, [str(folder / "claims.jsonl"), str(folder / "bad.jsonl")], ROUTER).report
    assert report["summary"]["claims_read"] == 19
    text = json.dumps(report)
    assert "bad.jsonl:2:1: invalid JSON" in text and "SECRET-NAME" not in text


def test_damaged_amount_is_a_warning_naming_segment_and_position(files):
    folder, remits = files
    damaged = open(remits[0], "rb").read().replace(b"CLP*R-KX*4*48.00", b"CLP*R-KX*4*4B.00")
    (folder / "damaged.835").write_bytes(damaged)
    report = build_report([str(folder / "damaged.835")], [str(folder / "claims.jsonl")], ROUTER).report
    (warning,) = [d for d in report["diagnostics"] if "not an amount" in d["message"]]
    assert warning["severity"] == "warning" and re.search(r"segment \d+ \(CLP\) of ST 0001, element CLP03",
                                                          warning["message"])
    assert "4B.00" not in json.dumps(report)
    assert report["summary"]["claims_measured"] == 15  # every June claim, R-KX too: nothing dropped
    assert "R-KX" in rule_claims(report, "threshold.kx_missing")


@needs_shared
def test_the_six_third_party_samples_are_read_with_their_defects_as_warnings(tmp_path):
    samples = sorted(str(p) for p in SAMPLES.glob("*.835"))
    assert len(samples) == 6
    (tmp_path / "none.jsonl").write_text("")
    report = build_report(samples, [str(tmp_path / "none.jsonl")], ROUTER).report
    r = report["remittances"]
    assert (r["files"], r["claim_payments"], r["errors"]) == (6, 10, 0)
    assert r["warnings"] >= 12 and report["summary"]["remittance_claims_unmatched"] == 10
    messages = " ".join(d["message"] for d in report["diagnostics"])
    assert "PER*BL" in messages and "BPR16" in messages and "SVC06-1" in messages
    # Patient names and member ids of the samples (NM1*QC, NM1*IL) are not in the report.
    text = json.dumps(report)
    for path in samples:
        raw = open(path, encoding="latin-1").read()
        separator = raw[105] if len(raw) > 105 else "~"
        for segment in raw.split(separator):
            parts = segment.strip().split(raw[3])
            if parts[0] in ("NM1",) and len(parts) > 3 and parts[1] in ("QC", "IL"):
                for value in [parts[3]] + parts[4:5] + parts[9:10]:
                    if len(value) > 3:
                        assert value not in text, value


def test_every_denial_code_the_bundled_rulebooks_predict_has_a_predictable_family():
    from payerlint.api import Loader, Registry

    families = Families.load()
    registry = Registry.load()
    loader = Loader(registry.home)
    seen = set()
    for payer in registry.payers.values():
        # The latest quarter: its rules name the codes (a changed code is a quarter diff).
        for quarter in registry.quarters(payer)[-1:]:
            for rule in loader.load(f"{payer.rulebook_family}@{quarter}").rules:
                if rule.denial is not None:
                    seen.add(rule.denial.reason)
    assert {"4", "16", "97", "119", "151", "197", "236", "B15"} <= seen
    for reason in seen:
        family = families.of(reason)
        assert family.kind == "predictable" and family.name != "unclassified", reason


def test_a_code_in_two_families_is_refused():
    text = '[families.a]\nkind = "predictable"\ncodes = ["97"]\n[families.b]\nkind = "payment"\ncodes = ["97"]\n'
    with pytest.raises(FamilyError, match="CARC 97 is already in family a"):
        Families.parse(text, "t.toml")


def rule_claims(report, rule_id):
    row = next(r for r in report["rules"] if r["rule"] == rule_id)
    return [c for ids in row["examples"].values() for c in ids]


def test_the_bundled_remittance_example_is_the_scenario_and_runs_as_the_readme_says(tmp_path, capsys):
    """examples/remit holds the scenario above as files (claims, a June and a July 835), so
    a newcomer can try `payerlint remit` as the README shows; written from `scenario()`, it
    must stay the same, and its report must still find hits, false alarms and misses."""
    folder = ROOT / "examples" / "remit"
    claims, (june, july) = scenario()
    assert (folder / "claims.jsonl").read_text(encoding="utf-8") == "".join(
        json.dumps(c, separators=(",", ":")) + "\n" for c in claims)
    assert (folder / "2026-06.835").read_bytes() == june and (folder / "2026-07.835").read_bytes() == july
    results = tmp_path / "results.jsonl"
    assert main(["check", str(folder / "claims.jsonl"), "--format", "jsonl", "-o", str(results)]) == 1  # denials
    capsys.readouterr()
    assert main(["remit", str(folder / "2026-06.835"), str(folder / "2026-07.835"), "--claims", str(results),
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = json.dumps(report)
    assert '"hits": 7' in summary and '"false_alarms": 3' in summary, summary[:400]
