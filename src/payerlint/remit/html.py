"""The report as one HTML file that works offline: no script, no CDN, no font or image
fetched; the style is inline and the charts are SVG drawn here (`charts`), so the file
can be mailed or archived and opens the same anywhere. Every text is escaped.

The charts are where a person would rather look than read: misses by reason (denied
dollars no rule predicted, by code), false alarms by rule (predictions the payer paid),
and denied dollars by quarter (caught, missed, unpredictable, stacked). The workbench
shows the same SVG (`charts(report)`, served by `POST /v1/remit?charts=svg`).
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from payerlint.remit.money import dollars, percent

COLOURS = {"caught": "#2e7d32", "missed": "#c62828", "unpredictable": "#757575", "bar": "#1565c0",
           "false": "#ef6c00"}
STYLE = """body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:70rem;
color:#1a1a1a;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:13px}th,td{padding:.25rem .6rem;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;
min-width:9rem}.card b{display:block;font-size:1.3rem}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}pre{background:#f6f6f6;padding:.6rem;overflow:auto}
.muted{color:#666}"""


def _money(text: str) -> Decimal:
    return Decimal(text)


def bar_chart(title: str, rows: list[tuple[str, Decimal, str]], colour: str, width: int = 460) -> str:
    """Horizontal bars: (label, value, value text) per row, longest first as given."""
    if not rows:
        return ""
    top = max((value for _, value, _ in rows), default=Decimal(0)) or Decimal(1)
    # Room for the longest label (about 7 px a character at 12 px), so rule ids are not cut.
    label_w = min(max(len(label) for label, _, _ in rows) * 7 + 12, 330)
    bar_w, row_h = 200, 22
    width = label_w + bar_w + 130
    height = row_h * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for i, (label, value, text) in enumerate(rows):
        y = 5 + i * row_h
        length = int((Decimal(bar_w) * value / top).to_integral_value()) if value > 0 else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
                     f'fill="#1a1a1a">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(length, 1)}" height="{row_h - 6}" '
                     f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>')
        parts.append(f'<text x="{label_w + length + 4}" y="{y + 15}" font-size="12" fill="#1a1a1a">'
                     f'{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_quarters(title: str, trend: list[dict[str, Any]], width: int = 460) -> str:
    """Vertical stacked bars per quarter: caught, missed, unpredictable denied dollars."""
    if not trend:
        return ""
    keys = ("caught", "missed", "unpredictable")
    totals = [sum((_money(t[k]) for k in keys), Decimal(0)) for t in trend]
    top = max(totals) or Decimal(1)
    plot_h, base, gap = 160, 190, 12
    bar_w = max(18, min(60, (width - 40) // max(len(trend), 1) - gap))
    height = 250
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for i, t in enumerate(trend):
        x = 30 + i * (bar_w + gap)
        y = base
        for k in keys:
            value = _money(t[k])
            h = int((Decimal(plot_h) * value / top).to_integral_value()) if value > 0 else 0
            if h:
                y -= h
                parts.append(f'<rect x="{x}" y="{y}" width="{bar_w}" height="{h}" fill="{COLOURS[k]}">'
                             f'<title>{escape(t["quarter"])} {k}: {escape(dollars(t[k]))}</title></rect>')
        parts.append(f'<text x="{x + bar_w // 2}" y="{base + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#1a1a1a">{escape(t["quarter"])}</text>')
        parts.append(f'<text x="{x + bar_w // 2}" y="{y - 4}" text-anchor="middle" font-size="10" '
                     f'fill="#1a1a1a">{escape(dollars(str(totals[i])))}</text>')
    for j, k in enumerate(keys):
        x = 30 + j * 130
        parts.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{COLOURS[k]}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 12}" font-size="12" fill="#1a1a1a">{k}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts(report: dict[str, Any]) -> dict[str, str]:
    """The three charts as SVG text, keyed by name ('' when there is nothing to draw)."""
    misses: dict[str, Decimal] = {}
    for group in report["misses"]:
        misses[group["code"]] = misses.get(group["code"], Decimal(0)) + _money(group["amount"])
    miss_rows = [(code, amount, dollars(str(amount)))
                 for code, amount in sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[:12]]
    false_rows = [(r["rule"], Decimal(r["false_alarms"]),
                   f"{r['false_alarms']} paid, {dollars(r['money']['false_alarms'])}")
                  for r in sorted(report["rules"], key=lambda r: (-r["false_alarms"], r["rule"]))
                  if r["false_alarms"]][:12]
    return {"misses_by_reason": bar_chart("Missed denied dollars by reason code", miss_rows, COLOURS["missed"]),
            "false_alarms_by_rule": bar_chart("False alarms by rule (predicted, paid)", false_rows, COLOURS["false"]),
            "denied_by_quarter": stacked_quarters("Denied dollars by quarter", report["trend"])}


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    if not rows:
        return '<p class="muted">None.</p>'
    th = "".join(f'<th{" class=n" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render(report: dict[str, Any]) -> str:
    s, m, r = report["summary"], report["summary"]["money"], report["remittances"]
    cards = [("hit rate", percent(s["hit_rate"])), ("false-alarm rate", percent(s["false_alarm_rate"])),
             ("denied", dollars(m["denied"])), ("caught", dollars(m["caught"])), ("missed", dollars(m["missed"])),
             ("no rule can predict", dollars(m["unpredictable"])), ("paid on false alarms", dollars(m["false_alarms_paid"])),
             ("claims measured", str(s["claims_measured"]))]
    chart = charts(report)
    figures = "".join(f"<figure><figcaption>{escape(title)}</figcaption>{chart[key]}</figure>"
                      for key, title in (("misses_by_reason", "Misses by reason"),
                                         ("false_alarms_by_rule", "False alarms by rule"),
                                         ("denied_by_quarter", "Denied dollars by quarter")) if chart[key])
    rules = _table(["rule", "codes", "predicted", "hits", "false alarms", "other reason", "not tested", "no outcome",
                    "hit rate", "false-alarm rate", "$ hits", "$ false alarms"],
                   [[x["rule"], " ".join(x["codes"]), str(x["predictions"]), str(x["hits"]), str(x["false_alarms"]),
                     str(x["other_reason"]), str(x["not_tested"]), str(x["no_outcome"]), percent(x["hit_rate"]),
                     percent(x["false_alarm_rate"]), dollars(x["money"]["hits"]), dollars(x["money"]["false_alarms"])]
                    for x in report["rules"]], set(range(2, 12)))
    places = _table(["rule", "payer", "quarter", "predicted", "hits", "false alarms", "hit rate", "$ false alarms"],
                    [[x["rule"], p["payer"], p["quarter"], str(p["predictions"]), str(p["hits"]),
                      str(p["false_alarms"]), percent(p["hit_rate"]), dollars(p["money"]["false_alarms"])]
                     for x in report["rules"] for p in x["by_payer_quarter"]], {3, 4, 5, 6, 7})

    def groups(key: str) -> str:
        return _table(["code", "remarks", "family", "procedure", "denials", "amount", "payers", "quarters", "claims"],
                      [[g["code"], " ".join(g["remarks"]), g["family"], g["procedure"], str(g["count"]),
                        dollars(g["amount"]), ", ".join(g["payers"]), ", ".join(g["quarters"]), " ".join(g["claims"])]
                       for g in report[key]], {4, 5})

    top = _table(["code", "family", "denials", "amount", "meaning"],
                 [[t["code"], t["family"], str(t["count"]), dollars(t["amount"]), t["label"]]
                  for t in report["top_missed"]], {2, 3})
    trend = _table(["quarter", "predicted", "hits", "false alarms", "misses", "paid", "denied", "caught", "missed",
                    "unpredictable"],
                   [[t["quarter"], str(t["predictions"]), str(t["hits"]), str(t["false_alarms"]), str(t["misses"]),
                     dollars(t["paid"]), dollars(t["denied"]), dollars(t["caught"]), dollars(t["missed"]),
                     dollars(t["unpredictable"])] for t in report["trend"]], set(range(1, 10)))
    mt = report["matching"]
    matching = _table(["claim", "procedure", "where", "problem"],
                      [[x["claim_id"], x["procedure"], x["at"],
                        "could be claim lines " + ", ".join(map(str, x["candidates"]))] for x in mt["ambiguous"]]
                      + [[x["claim_id"], x["procedure"], x["at"], "no such line on the claim"] for x in mt["unmatched"]])
    drafts = "".join(f"<pre>{escape(d['text'])}" + (f"\n# NCCI table row: {escape(d['ptp_row'])}" if "ptp_row" in d
                                                      else "") + "</pre>" for d in report["drafts"])
    problems = "".join(f"<li>{escape(d['severity'])}: {escape(d['message'])}</li>" for d in report["diagnostics"])
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>payerlint remit: rules against remittances</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>Rules against the payer's decisions</h1>",
        f'<p class="muted">{s["claims_measured"]} claims measured; {r["files"]} remittance files, '
        f'{r["claim_payments"]} claim payments, {r["service_lines"]} service lines, {r["reversals"]} reversals; '
        f'{s["predictions"]} predictions. Hit rate = hits / (hits + false alarms + other reason).</p>',
        '<section aria-label="Summary"><div class="cards">'
        + "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards) + "</div></section>",
        "<h2>Top missed denial reasons</h2>", top,
        f'<h2>Charts</h2><div class="charts">{figures or "<p class=muted>Nothing to draw.</p>"}</div>',
        "<h2>Rules</h2>", rules, "<h2>By payer and quarter</h2>", places,
        "<h2>Misses: denied, no rule predicted it</h2>", groups("misses"),
        "<h2>Denials no rule can predict from a claim</h2>", groups("unpredictable"),
        "<h2>Denials on ambiguous lines</h2>", groups("ambiguous_denials"),
        "<h2>Trend by quarter</h2>", trend,
        "<h2>Matching problems</h2>", matching,
        "<h2>Draft rules for recurring misses</h2>", drafts or '<p class="muted">None.</p>',
        f"<h2>Problems reading</h2><ul>{problems}</ul>" if problems else "",
        f'<p class="muted">CARC families: {escape(report["families"])}</p>', "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
