"""`payerlint remit` on a generated set of therapy claims and their 835s: every count and
every sum of the report, from claims, from saved results and from 837P; the rulebook in
force on each date; reversals without double counting; the three formats; privacy."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from payerlint.api import Router
from payerlint.contract import load_schema
from payerlint.remit.run import build_report
from payerlint.remit.writers import WRITERS

from .synth import MEMBER_ID, PATIENT_NAME, scenario

ROUTER = Router()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("remit")
    claims, remits = scenario()
    (folder / "claims.jsonl").write_text("".join(json.dumps(c) + "\n" for c in claims))
    paths = []
    for i, text in enumerate(remits):
        path = folder / f"remit-{i}.835"
        path.write_bytes(text)
        paths.append(str(path))
    return folder, paths


@pytest.fixture(scope="module")
def report(files):
    folder, remits = files
    return build_report(remits, [str(folder / "claims.jsonl")], ROUTER).report


def rule(report, rule_id):
    return next(r for r in report["rules"] if r["rule"] == rule_id)


def test_summary_counts_and_money(report):
    s = report["summary"]
    assert (s["claims_read"], s["claims_checked"], s["claims_measured"], s["claims_without_remittance"],
            s["remittance_claims_unmatched"]) == (19, 19, 18, 1, 1)
    # 12 predictions: 7 hits, 3 false alarms (one vague note, three documentation rules),
    # R-OTHER denied for another reason, R-UNTESTED denied for eligibility.
    assert (s["predictions"], s["hits"], s["false_alarms"], s["other_reason"], s["not_tested"], s["no_outcome"]) == (
        12, 7, 3, 1, 1, 0)
    assert (s["hit_rate"], s["false_alarm_rate"]) == (0.6364, 0.2727)  # 7/11, 3/11
    assert (s["misses"], s["unpredictable"]) == (5, 3)
    m = {k: Decimal(v) for k, v in s["money"].items()}
    # caught: CO-97 40 + CO-4 48 + CO-16 48 + CO-119 48 (2026Q2) + CO-119 48 (2025Q4) + CO-197 48 + CO-151 24
    assert m["caught"] == Decimal("304.00")
    # missed: CO-50 x3 (R-MISS-1, R-MISS-2, R-Q3) + CO-11 (R-OTHER) + CO-119 (R-KX26)
    assert m["missed"] == Decimal("240.00")
    assert m["unpredictable"] == Decimal("144.00")  # PR-27 x2 + CO-29
    assert m["denied"] == m["caught"] + m["missed"] + m["unpredictable"] + m["ambiguous"] == Decimal("688.00")
    # paid: R-PAID 37.44, R-BUNDLE 17.16, R-PARTIAL 18.72, R-FALSE 37.44, R-REV (corrected) 37.44
    assert m["paid"] == Decimal("148.20")
    assert m["false_alarms_paid"] == Decimal("37.44")  # R-FALSE once, though three rules fired


def test_each_rule_row(report):
    rows = {r["rule"]: (r["predictions"], r["hits"], r["false_alarms"], r["other_reason"], r["not_tested"],
                        r["money"]["hits"], r["money"]["false_alarms"], r["money"]["other_reason"])
            for r in report["rules"]}
    assert rows == {
        "ptp.reported_pair": (1, 1, 0, 0, 0, "40.00", "0.00", "0.00"),           # CO-236 predicted, CO-97 returned
        "modifier.therapy_missing": (2, 1, 0, 1, 0, "48.00", "0.00", "48.00"),  # R-MOD hit, R-OTHER CO-11
        "diagnosis.not_billable": (1, 1, 0, 0, 0, "48.00", "0.00", "0.00"),     # CO-16 M76 at claim level
        "threshold.kx_missing": (2, 2, 0, 0, 0, "96.00", "0.00", "0.00"),       # R-KX and R-KX25
        "authorization.missing": (1, 1, 0, 0, 0, "48.00", "0.00", "0.00"),
        "units.total": (2, 1, 0, 0, 1, "24.00", "0.00", "0.00"),                # partial pay; R-UNTESTED
        "documentation.goals_not_functional": (1, 0, 1, 0, 0, "0.00", "37.44", "0.00"),
        "documentation.response_not_measurable": (1, 0, 1, 0, 0, "0.00", "37.44", "0.00"),
        "documentation.technique_not_specific": (1, 0, 1, 0, 0, "0.00", "37.44", "0.00"),
    }
    kx = rule(report, "threshold.kx_missing")
    assert kx["rulebooks"] == ["medicare@2025Q4", "medicare@2026Q2"]
    assert [(p["payer"], p["quarter"], p["hits"]) for p in kx["by_payer_quarter"]] == [
        ("medicare", "2025Q4", 1), ("medicare", "2026Q2", 1)]
    assert rule(report, "authorization.missing")["by_payer_quarter"][0]["payer"] == "uhc-medicare-advantage"
    assert rule(report, "modifier.therapy_missing")["examples"] == {"hits": ["R-MOD"], "false_alarms": [],
                                                                   "other_reason": ["R-OTHER"]}
    assert rule(report, "diagnosis.not_billable")["codes"] == ["CO-16 M76"]
    # Ordered by predictions, then id.
    assert [r["rule"] for r in report["rules"]][:3] == ["modifier.therapy_missing", "threshold.kx_missing",
                                                         "units.total"]


def test_misses_unpredictable_and_top_reasons(report):
    assert [(g["code"], g["remarks"], g["procedure"], g["count"], g["amount"], g["quarters"], g["claims"])
            for g in report["misses"]] == [
        ("CO-50", ["N115"], "97140", 3, "144.00", {"2026Q2": 2, "2026Q3": 1}, ["R-MISS-1", "R-MISS-2", "R-Q3"]),
        ("CO-11", [], "97140", 1, "48.00", {"2026Q2": 1}, ["R-OTHER"]),
        ("CO-119", [], "97140", 1, "48.00", {"2026Q1": 1}, ["R-KX26"]),
    ]
    assert [(g["code"], g["family"], g["procedure"], g["count"], g["amount"]) for g in report["unpredictable"]] == [
        ("PR-27", "eligibility", "97140", 2, "96.00"), ("CO-29", "timely_filing", "(claim)", 1, "48.00")]
    assert [(t["code"], t["count"], t["amount"]) for t in report["top_missed"]] == [
        ("CO-50", 3, "144.00"), ("CO-11", 1, "48.00"), ("CO-119", 1, "48.00")]
    assert report["ambiguous_denials"] == [] and report["not_checked"]["denials"] == 0


def test_trend_across_quarters(report):
    assert [(t["quarter"], t["predictions"], t["hits"], t["false_alarms"], t["misses"], t["denied"], t["caught"],
             t["missed"], t["unpredictable"], t["paid"]) for t in report["trend"]] == [
        ("2025Q4", 1, 1, 0, 0, "48.00", "48.00", "0.00", "0.00", "0.00"),
        ("2026Q1", 0, 0, 0, 1, "48.00", "0.00", "48.00", "0.00", "0.00"),
        ("2026Q2", 11, 6, 3, 3, "544.00", "256.00", "144.00", "144.00", "148.20"),
        ("2026Q3", 0, 0, 0, 1, "48.00", "0.00", "48.00", "0.00", "0.00"),
    ]


def test_reversal_and_correction_are_netted_not_counted_twice(files, report):
    r = report["remittances"]
    assert (r["files"], r["transactions"], r["claim_payments"], r["service_lines"], r["reversals"],
            r["reversals_applied"], r["reversals_unmatched"], r["replaced"], r["errors"], r["warnings"]) == (
        2, 2, 21, 22, 1, 1, 0, 0, 0, 0)
    assert not any("R-REV" in g["claims"] for g in report["misses"])
    # Without the July file the June denial of R-REV stands, and is a fourth CO-50 miss.
    folder, remits = files
    june_only = build_report(remits[:1], [str(folder / "claims.jsonl")], ROUTER).report
    assert june_only["misses"][0]["claims"] == ["R-MISS-1", "R-MISS-2", "R-REV"]
    # The July file alone: the reversal undoes no payment read, and the correction stands.
    july_only = build_report(remits[1:], [str(folder / "claims.jsonl")], ROUTER).report
    assert july_only["remittances"]["reversals_unmatched"] == 1


def test_matching_and_unknown_claims(report):
    mt = report["matching"]
    assert mt["lines_by"] == {"procedure, modifiers and date": 19}
    assert mt["unmatched_claim_ids"] == ["NOT-OURS"] and mt["ambiguous_lines"] == mt["unmatched_lines"] == 0


def test_a_recurring_miss_gets_a_draft_rule_that_compiles(report, tmp_path):
    (draft,) = report["drafts"]
    assert (draft["rule"], draft["code"], draft["count"], draft["claims"]) == (
        "draft.co_50_97140", "CO-50", 3, ["R-MISS-1", "R-MISS-2", "R-Q3"])
    assert "# Evidence: CO-50 (remarks N115) on 97140, 3 denials, 144.00 denied" in draft["text"]
    rulebook = tmp_path / "2026Q2.rules"
    rulebook.write_text('rulebook draft-check "drafts compile"\n  payer "test"\n  quarter 2026Q2\n'
                        '  facts as of 2026-11-27\n  extends medicare@2026Q2\n  source "test"\n\n' + draft["text"])
    from payerlint.api import Checker, load_rulebook

    compiled = load_rulebook(str(rulebook))
    clean = json.loads(Path(__file__).resolve().parents[2].joinpath(
        "examples/claims/medicare/01-clean-ankle-mobilization.json").read_text())
    result = Checker(compiled).check(clean)
    assert [f.rule for f in result.findings] == ["draft.co_50_97140"]
    assert result.findings[0].severity == "warn"


def test_saved_results_give_the_same_report(files, report):
    folder, remits = files
    from payerlint.claims.reader import read_records

    results = folder / "results.jsonl"
    results.write_text("".join(r.dumps() + "\n" for r in ROUTER.check_records(
        read_records([str(folder / "claims.jsonl")]))))
    again = build_report(remits, [str(results)], ROUTER).report
    assert again == report


def test_837p_claims_match_lines_by_control_number(tmp_path):
    from payerlint.x12.writer837 import write_837p

    from .synth import Payment, claim, denied_line, paid_line, remittance

    claims = [claim("medicare/04-ptp-traction-with-manual-no-59.json", "X-1", control=True, place_of_service="11")]
    out = io.StringIO()
    assert not [p for p in write_837p(claims, out) if p.severity == "error"]
    (tmp_path / "claims.837").write_text(out.getvalue())
    remit = remittance([Payment("X-1", "1", "62.00", "17.16", [
        paid_line("97012", charge="22.00", paid="17.16", control="X-1-1"),
        # The payer dropped the modifiers and sent no date: REF*6R still says which line.
        denied_line("236", modifiers=(), charge="40.00", date=None, control="X-1-2")])])
    (tmp_path / "r.835").write_bytes(remit)
    report = build_report([str(tmp_path / "r.835")], [str(tmp_path / "claims.837")], ROUTER).report
    assert report["matching"]["lines_by"] == {"control number": 2}
    # The 837P carries no minutes or notes, so fewer rules can run than on the JSON claim;
    # the NCCI pair needs neither.
    assert (rule(report, "ptp.reported_pair")["hits"], report["summary"]["money"]["caught"]) == (1, "40.00")


def test_ambiguous_lines_are_reported_never_guessed(tmp_path):
    from .synth import Payment, Svc, remittance

    base = {"claim_id": "A-1", "payer_id": "medicare", "rulebooks": ["medicare@2026Q2"], "verdict": "warn",
            "complete": True, "not_evaluated": [], "fix": [],
            "lines": [{"code": "97140", "modifiers": ["GP"], "date": "2026-05-14", "units": 1},
                      {"code": "97140", "modifiers": ["GP"], "date": "2026-05-14", "units": 1}],
            "findings": [{"rule": "documentation.technique_not_specific", "rulebook": "medicare@2026Q2",
                          "category": "documentation", "severity": "warn", "line": 1, "message": "m",
                          "citation": "c", "fix": [], "denial": {"group": "CO", "reason": "50", "remarks": []}}]}
    other = dict(base, claim_id="A-2", findings=[])
    (tmp_path / "results.jsonl").write_text(json.dumps(base) + "\n" + json.dumps(other) + "\n")
    lines = [Svc("97140", ("GP",), "48.00", "0.00", "2026-05-14", [("CO", "50", "48.00")]),
             Svc("97140", ("GP",), "48.00", "37.44", "2026-05-14", [("CO", "45", "1.20"), ("PR", "2", "9.36")])]
    (tmp_path / "r.835").write_bytes(remittance([Payment("A-1", "2", "96.00", "37.44", lines),
                                                 Payment("A-2", "2", "96.00", "37.44", lines)]))
    report = build_report([str(tmp_path / "r.835")], [str(tmp_path / "results.jsonl")], ROUTER).report
    assert report["matching"]["ambiguous_lines"] == 4
    assert report["matching"]["ambiguous"][0]["candidates"] == [1, 2]
    # a candidate line predicted CO-50, so its denial is neither hit nor miss; A-2
    # predicted nothing on either candidate, so it is a miss whichever line it was.
    assert [(g["code"], g["claims"]) for g in report["ambiguous_denials"]] == [("CO-50", ["A-1"])]
    assert [(g["code"], g["claims"]) for g in report["misses"]] == [("CO-50", ["A-2"])]
    assert rule(report, "documentation.technique_not_specific")["no_outcome"] == 1


def test_formats_agree_validate_and_are_deterministic(report):
    validator = jsonschema.Draft7Validator(load_schema("remit-report"))
    assert list(validator.iter_errors(json.loads(WRITERS["json"](report)))) == []
    text = WRITERS["text"](report)
    assert "predictions 12: 7 hits, 3 false alarms" in text and "hit rate 63.6%, false-alarm rate 27.3%" in text
    assert re.search(r"CO-50 N115 +necessity +97140 +3 +\$144\.00 +medicare +2026Q2,2026Q3 +R-MISS-1", text)
    html = WRITERS["html"](report)
    assert html.count("<svg") == 3 and "<script" not in html.lower()
    assert " src=" not in html and " href=" not in html and "@import" not in html and "url(" not in html
    assert ">$304.00<" in html and "draft.co_50_97140" in html


def test_reports_are_byte_identical_run_to_run(files, report):
    folder, remits = files
    again = build_report(remits, [str(folder / "claims.jsonl")], Router()).report
    for fmt in WRITERS:
        assert WRITERS[fmt](again) == WRITERS[fmt](report)


def test_patient_names_and_member_ids_never_reach_any_output(files, report):
    folder, remits = files
    assert PATIENT_NAME.encode() in Path(remits[0]).read_bytes()  # the 835 has them ...
    claims = (folder / "claims.jsonl").read_text()
    assert '"P-77"' in claims and "1950-06-02" in claims          # ... and so do the claims
    for fmt in WRITERS:
        out = WRITERS[fmt](report)
        for secret in (PATIENT_NAME, MEMBER_ID, "P-77", "1950-06-02", "capsular", "left ankle"):
            assert secret not in out, (fmt, secret)
