"""The diff and the replay, for a person (text), a change log (markdown) or a tool (json)."""

from __future__ import annotations

import json
from typing import Iterable, TextIO

from payerlint.output.text import printable
from payerlint.versions.diff import SAMPLE, Change, RulebookDiff
from payerlint.versions.replay import Impact, Summary


def _keys(keys: list, limit: int = SAMPLE) -> str:
    shown = ", ".join("(" + ", ".join(k) + ")" for k in keys[:limit])
    return shown + (f" ... and {len(keys) - limit} more" if len(keys) > limit else "")


def _detail_lines(change: Change) -> list[str]:
    d = change.details
    lines = []
    if change.kind == "table" and change.action == "changed":
        if d.get("added_keys"):
            lines.append("rows added: " + _keys(d["added_keys"]))
        if d.get("removed_keys"):
            lines.append("rows removed: " + _keys(d["removed_keys"]))
        for row in d.get("changed_rows", [])[:SAMPLE]:
            cols = "; ".join(f"{name} {v['old']} -> {v['new']}" for name, v in row["columns"].items())
            lines.append(f"row ({', '.join(row['key'])}): {cols}")
        if len(d.get("changed_rows", [])) > SAMPLE:
            lines.append(f"... and {len(d['changed_rows']) - SAMPLE} more changed rows")
    if change.kind == "rule" and change.action in ("disabled", "still disabled") and d.get("reason"):
        if d.get("old_reason") is not None:
            lines.append(f"reason was: {d['old_reason']}")
        lines.append(f"because: {d['reason']}")
    for text in d.get("texts", ()):
        # Absent text (a clause added or removed, or a file no longer readable) shows as "(none)".
        lines.append(f"- {text['clause']} {text['old'] or '(none)'}")
        lines.append(f"+ {text['clause']} {text['new'] or '(none)'}")
    if isinstance(d.get("denial"), dict):
        lines.append(f"denial code: {d['denial']['old'] or '(none)'} -> {d['denial']['new'] or '(none)'}")
    if isinstance(d.get("citation"), dict):
        lines.append(f"citation: {d['citation']['old']} -> {d['citation']['new']}")
    return lines


def write_text(diff: RulebookDiff, out: TextIO) -> None:
    count = len(diff.changes)
    out.write(f"{diff.old} -> {diff.new}: {count} change{'s' if count != 1 else ''}\n")
    for change in diff.changes:
        where = f"  [inherited from {change.inherited_from}]" if change.inherited_from else ""
        out.write(f"  {change.summary()}{where}\n")
        for line in _detail_lines(change):
            out.write(f"      {line}\n")
        if change.reaches:
            out.write(f"      reaches: {', '.join(change.reaches)}\n")


def write_markdown(diff: RulebookDiff, out: TextIO) -> None:
    out.write(f"## {diff.old} -> {diff.new}\n\n")
    if not diff.changes:
        out.write("No changes.\n")
        return
    out.write("| change | detail | rules reached | written in |\n|---|---|---|---|\n")
    for change in diff.changes:
        detail = "<br>".join(_detail_lines(change)).replace("|", "\\|")
        origin = change.new_origin or change.old_origin or ""
        out.write(f"| {change.summary().replace('|', chr(92) + '|')} | {detail} | {', '.join(change.reaches)} | {origin} |\n")


def diff_json(diff: RulebookDiff) -> dict:
    return {"old": diff.old, "new": diff.new, "changed": diff.changed,
            "changes": [c.to_json() for c in diff.changes]}


def _place(line: int | None) -> str:
    # Lines counted from 1, with the JSON pointer, as `payerlint check` tells them.
    return "claim" if line is None else f"line {line + 1}, /lines/{line}"


def _cell(text: str | None) -> str:
    """A value from a claim in a markdown table cell: control characters escaped, and the
    characters markdown or HTML would act on made literal (a claim id must not open a
    heading, split the table or carry a tag into a rendered change log)."""
    text = printable(text or "")
    for char in "\\`*_[]|#":
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def write_impacts_text(impacts: Iterable[Impact], summary: Summary, out: TextIO) -> None:
    for impact in impacts:
        out.write(f"\n{printable(impact.claim_id or '(no claim id)')}  {impact.old.verdict} -> {impact.new.verdict}"
                  f"  ({printable(impact.record or '')})\n")
        for d in impact.differences:
            missing = f", the claim has no {d.missing}" if d.missing else ""
            out.write(f"  {d.kind}: {d.rule} ({_place(d.line)}{missing})\n")
            if d.was is not None:
                out.write(f"      was: {d.was.severity}: {printable(d.was.message)}\n")
            if d.now is not None:
                out.write(f"      now: {d.now.severity}: {printable(d.now.message)}\n")
            for cause in d.causes:
                out.write(f"      because: {cause['detail']}\n")
    _summary_text(summary, out)


def _summary_text(summary: Summary, out: TextIO) -> None:
    invalid = f" ({summary.invalid} not valid under either rulebook, so not compared)" if summary.invalid else ""
    out.write(f"\nreplay: {summary.checked} claims checked, {summary.changed} changed outcome{invalid}\n")
    for transition, count in sorted(summary.verdicts.items()):
        out.write(f"  verdict {transition}: {count}\n")
    for kind, count in sorted(summary.cause_kinds.items()):
        out.write(f"  claims changed by a {kind}: {count}\n")
    for name, count in sorted(summary.causes.items()):
        out.write(f"    {name}: {count}\n")


def write_impacts_markdown(impacts: Iterable[Impact], summary: Summary, out: TextIO) -> None:
    out.write("\n### Claims whose outcome changes\n\n| claim | old | new | rule | line | because |\n|---|---|---|---|---|---|\n")
    for impact in impacts:
        for d in impact.differences:
            because = "; ".join(c["detail"] for c in d.causes).replace("|", "\\|")
            out.write(f"| {_cell(impact.claim_id)} | {impact.old.verdict} | {impact.new.verdict} | {d.rule} | "
                      f"{'' if d.line is None else d.line + 1} | {because} |\n")
    out.write(f"\n**{summary.changed} of {summary.checked} claims change outcome.**"
              + (f" {summary.invalid} are not valid under either rulebook, so not compared." if summary.invalid else "")
              + "\n")
    for transition, count in sorted(summary.verdicts.items()):
        out.write(f"- verdict {transition}: {count}\n")
    for kind, count in sorted(summary.cause_kinds.items()):
        out.write(f"- changed by a {kind}: {count}\n")


def write_json(diff: RulebookDiff, impacts: Iterable[Impact] | None, summary: Summary | None, out: TextIO) -> None:
    """One JSON object, written as it goes: the impacts are never held in memory at once."""
    head = json.dumps(diff_json(diff), ensure_ascii=False)
    if impacts is None:
        out.write(head + "\n")
        return
    out.write(head[:-1] + ', "claims": [')
    first = True
    for impact in impacts:
        out.write(("\n" if first else ",\n") + json.dumps(impact.to_json(), ensure_ascii=False))
        first = False
    out.write("\n], \"summary\": " + json.dumps(summary.to_json(), ensure_ascii=False) + "}\n")
