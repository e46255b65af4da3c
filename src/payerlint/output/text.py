"""Text for a person at a terminal: one block per claim, then a summary line.

Every piece of text that came from input (a claim id, a payer id, a message that shows
a value) goes through `printable`: a control character from a claim (an escape sequence,
a NUL, a right-to-left override) is shown as an escape, never sent to the terminal.
"""

from __future__ import annotations

import json

from payerlint.claims.provenance import source_locations
from payerlint.output.base import Tally, Writer
from payerlint.source import printable

SEVERITY_ORDER = ("error", "deny", "warn", "info")
def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render_text(result) -> str:
    """One block per claim: a header line, each finding with its fix and citation, then
    the rules that could not run for missing data, grouped by what was missing."""
    severities: dict[str, int] = {}
    for finding in result.findings:
        severities[finding.severity] = severities.get(finding.severity, 0) + 1
    counts = ", ".join(_count(severities[s], s) if s == "error" else f"{severities[s]} {s}"
                       for s in SEVERITY_ORDER if s in severities) or "no findings"
    books = ", ".join(result.rulebooks) or "not checked"
    header = f"{printable(result.claim_id or '(no claim id)')}  {result.verdict.upper()}  {books}  ({counts})"
    skipped = len(result.not_evaluated)
    if skipped and result.verdict != "error":
        # A claim on which rules could not run is not known to be clean: say so where the
        # verdict is, not only further down.
        header += f"  INCOMPLETE: {_count(skipped, 'rule')} could not run"
    out = [header]
    if result.record:
        out.append(f"  from {printable(result.record)}")
    # A claim read from FHIR (or X12): each pointer is also named where the user wrote it.
    located = source_locations(result)
    source = _source(result)
    if source.get("documentation"):
        out.append(f"  documentation: {printable(source['documentation'])}")

    def at(pointer: str) -> str:
        where = located.get(pointer)
        return f"  [{printable(where)}]" if where else ""

    for finding in result.findings:
        # Lines are counted from 1 here, as on a claim form; the JSON `line` and the fix
        # paths count from 0, so the path is shown beside the number.
        place = f"line {finding.line + 1} (/lines/{finding.line})" if finding.line is not None else "claim"
        out.append(f"  {place:<18} {finding.severity:<4}  {finding.category}  {finding.rule}"
                   + (f"  [{finding.rulebook}]" if len(result.rulebooks) > 1 else "")
                   + (at(f"/lines/{finding.line}") if finding.line is not None else ""))
        out.append(f"          {printable(finding.message)}" + (at(finding.pointer) if finding.pointer else ""))
        edits = getattr(finding, "x12", ())
        for patch in finding.fix:
            value = f" {printable(json.dumps(patch['value'], ensure_ascii=False))}" if "value" in patch else ""
            # With the 837P edits below, the segment is named there, not twice.
            where = "" if edits else at(patch["path"])
            out.append(f"          fix:  {patch['op']} {printable(patch['path'])}{value}{where}")
        for edit in edits:
            out.append(f"          837P: {printable(edit['edit'])}")
        if finding.denial is not None:
            out.append(f"          denial code: {finding.denial}")
        if finding.citation:
            out.append(f"          cite: {finding.citation}")
        if finding.explanation:
            out.extend(f"          used: {printable(item)}" for item in explained(finding.explanation))
    by_pointer: dict[str, list[str]] = {}
    for not_run in result.not_evaluated:
        by_pointer.setdefault(not_run.missing, []).append(not_run.rule)
    for pointer, rules in sorted(by_pointer.items()):
        where = f" ({printable(located[pointer])})" if pointer in located else ""
        out.append(f"  ! could not run, the claim has no {pointer}{where}: {', '.join(sorted(set(rules)))}")
    return "\n".join(out) + "\n\n"


def _source(result) -> dict:
    """The result's `source` object (a claim read from FHIR or X12), or {}."""
    for key, value in getattr(result, "extra", ()):
        if key == "source" and isinstance(value, dict):
            return value
    return {}


def explained(explanation: dict) -> list[str]:
    """What a finding used, one short phrase each (the JSON form has the same, structured)."""
    items = [f"with {b['name']} = {b['value']}" for b in explanation.get("bindings", [])]
    items += [f"param {p['name']} = {p['value']}" for p in explanation.get("params", [])]
    items += [f"{d['name']}" + (f" for {d['for']}" if d.get("for") else "") + f" = {d['value']}"
              for d in explanation.get("definitions", [])]
    for row in explanation.get("table_rows", []):
        where = f", file line {row['file_line']}" if row.get("file_line") else ""
        values = "; ".join(f"{name} = {'(empty)' if value is None else value}"
                           for name, value in row.get("values", {}).items())
        items.append(f"table {row['table']} ({', '.join(row['key'])}): {'found' if row['found'] else 'no row'}{where}"
                     + (f": {values}" if values else ""))
    items += [f"{c['code']} {'is' if c['member'] else 'is not'} in code set {c['code_set']}"
              for c in explanation.get("code_sets", [])]
    items += [f"phrase \"{p['matched']}\" of {p['phrases']}" for p in explanation.get("phrases", [])]
    return items


def summary(tally: Tally, strict: bool) -> str:
    v = tally.verdicts
    clean = f"{v['clean']} clean" + (f" ({tally.clean_incomplete} of them incomplete)" if tally.clean_incomplete
                                     else "")
    line = (f"{_count(tally.total, 'claim')} checked: {clean}, {v['warn']} warn, {v['deny']} deny, "
            f"{v['error']} error")
    if tally.not_evaluated:
        top = ", ".join(f"no {pointer}: {n}" for pointer, n in
                        sorted(tally.missing.items(), key=lambda item: (-item[1], item[0]))[:3])
        more = ", ..." if len(tally.missing) > 3 else ""
        line += (f"; {tally.incomplete} claim{'s' if tally.incomplete != 1 else ''} incomplete: "
                 f"{_count(tally.not_evaluated, 'rule evaluation')} could not run for missing data ({top}{more})"
                 + ("" if strict else "; --strict reports each"))
        if tally.undocumented:
            line += (f"; {tally.undocumented} of them read from 837P files (no minutes, note or episode data in "
                     f"them) had no --documentation record")
    if tally.internal_errors:
        line += f"; {tally.internal_errors} internal error{'s' if tally.internal_errors != 1 else ''} (a bug: please report it)"
    return line + "\n"


class TextWriter(Writer):
    def render(self, result) -> str:
        return render_text(result)

    def end(self, tally: Tally) -> None:
        self.out.write(summary(tally, self.strict))
