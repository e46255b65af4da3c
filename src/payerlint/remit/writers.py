"""The report's formats, as a table (`WRITERS`): text for a person at a terminal, JSON for
dashboards (`schemas/remit-report.schema.json`), one offline HTML file (`remit/html.py`).
Each renders the same report values, so the numbers agree to the cent."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

from payerlint.remit.money import dollars, percent


def write_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _table(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def write_text(report: dict[str, Any]) -> str:
    s, r = report["summary"], report["remittances"]
    m = s["money"]
    out = [f"payerlint remit: {s['claims_measured']} claims measured against their remittances "
           f"({s['claims_read']} claim records read, {s['claims_without_remittance']} without a remittance, "
           f"{s['remittance_claims_unmatched']} claim payments of claims not given)",
           f"remittances: {r['files']} files, {r['claim_payments']} claim payments, {r['service_lines']} service "
           f"lines, {r['reversals']} reversals ({r['reversals_applied']} applied, {r['reversals_unmatched']} of "
           f"payments not read), {r['replaced']} decisions replaced by a later one; {r['warnings']} warnings, "
           f"{r['errors']} errors", "", "Summary",
           f"  predictions {s['predictions']}: {s['hits']} hits, {s['false_alarms']} false alarms, "
           f"{s['other_reason']} denied for another reason, {s['not_tested']} not tested, "
           f"{s['no_outcome']} without an outcome",
           f"  hit rate {percent(s['hit_rate'])}, false-alarm rate {percent(s['false_alarm_rate'])}; "
           f"{s['misses']} denials missed, {s['unpredictable']} no rule can predict",
           f"  money: denied {dollars(m['denied'])} = caught {dollars(m['caught'])} + missed {dollars(m['missed'])} "
           f"+ unpredictable {dollars(m['unpredictable'])} + ambiguous {dollars(m['ambiguous'])}; "
           f"paid on false alarms {dollars(m['false_alarms_paid'])}; paid in all {dollars(m['paid'])}"]
    if report["top_missed"]:
        out += ["", "Top missed denial reasons"]
        out += _table([[t["code"], t["family"], str(t["count"]), dollars(t["amount"]), t["label"]]
                       for t in report["top_missed"]], {2, 3})
    if report["rules"]:
        out += ["", "Rules (hit rate = hits / (hits + false alarms + other reason))"]
        rows = [["rule", "codes", "predicted", "hits", "false", "other", "untested", "no outcome", "hit rate",
                 "false rate", "$ hits", "$ false alarms"]]
        for rule in report["rules"]:
            rows.append([rule["rule"], " ".join(rule["codes"]), str(rule["predictions"]), str(rule["hits"]),
                         str(rule["false_alarms"]), str(rule["other_reason"]), str(rule["not_tested"]),
                         str(rule["no_outcome"]), percent(rule["hit_rate"]), percent(rule["false_alarm_rate"]),
                         dollars(rule["money"]["hits"]), dollars(rule["money"]["false_alarms"])])
        out += _table(rows, set(range(2, 12)))
        for rule in report["rules"]:
            for place in rule["by_payer_quarter"]:
                out.append(f"    {rule['rule']} {place['payer']} {place['quarter']}: {place['predictions']} "
                           f"predicted, {place['hits']} hits, {place['false_alarms']} false alarms")
    for title, key in (("Misses (denied, no rule predicted it)", "misses"),
                       ("Denials no rule can predict from a claim", "unpredictable"),
                       ("Denials on ambiguous lines a candidate line predicted (not counted as hits or misses)",
                        "ambiguous_denials")):
        if report[key]:
            out += ["", title]
            out += _table([[g["code"] + "".join(f" {x}" for x in g["remarks"]), g["family"], g["procedure"],
                            str(g["count"]), dollars(g["amount"]), ",".join(g["payers"]),
                            ",".join(g["quarters"]), " ".join(g["claims"])] for g in report[key]], {3, 4})
    nc = report["not_checked"]
    if nc["denials"]:
        out += ["", f"Claims payerlint could not check (verdict error): {nc['denials']} denials, "
                    f"{dollars(nc['amount'])}, not counted as misses; claims {' '.join(nc['claims'])}"]
    if report["trend"]:
        out += ["", "Trend by quarter (of the date of service)"]
        rows = [["quarter", "predicted", "hits", "false", "misses", "paid", "denied", "caught", "missed",
                 "unpredictable"]]
        rows += [[t["quarter"], str(t["predictions"]), str(t["hits"]), str(t["false_alarms"]), str(t["misses"]),
                  dollars(t["paid"]), dollars(t["denied"]), dollars(t["caught"]), dollars(t["missed"]),
                  dollars(t["unpredictable"])] for t in report["trend"]]
        out += _table(rows, set(range(1, 10)))
    mt = report["matching"]
    out += ["", "Matching: service lines by " + (", ".join(f"{k} {v}" for k, v in mt["lines_by"].items()) or "none")]
    for line in mt["ambiguous"]:
        out.append(f"  ambiguous: claim {line['claim_id']} {line['procedure']} at {line['at']} could be claim lines "
                   f"{', '.join(map(str, line['candidates']))}")
    for line in mt["unmatched"]:
        out.append(f"  no such line: claim {line['claim_id']} {line['procedure']} at {line['at']}")
    if mt["unmatched_claim_ids"]:
        out.append(f"  claim payments of claims not given: {' '.join(mt['unmatched_claim_ids'])}"
                   + (" ..." if report["summary"]["remittance_claims_unmatched"] > len(mt["unmatched_claim_ids"])
                      else ""))
    if report["drafts"]:
        out += ["", "Drafts for recurring misses (paste into a rulebook, then narrow and cite)"]
        for draft in report["drafts"]:
            out.append("")
            out += ["  " + line if line else "" for line in draft["text"].splitlines()]
            if "ptp_row" in draft:
                out.append(f"  # NCCI table row (tables/ncci_ptp_therapy.csv): {draft['ptp_row']}")
    if report["diagnostics"]:
        out += ["", f"Problems reading ({len(report['diagnostics'])})"]
        out += [f"  {d['severity']}: {d['message']}" for d in report["diagnostics"]]
    out.append(f"\nCARC families: {report['families']}")
    return "\n".join(out) + "\n"


def write_html(report: dict[str, Any]) -> str:
    from payerlint.remit.html import render

    return render(report)


WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {"text": write_text, "json": write_json, "html": write_html}
