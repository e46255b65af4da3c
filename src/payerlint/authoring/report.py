"""What `payerlint test` prints: text for a person, JSON for a program.

Text: one line per case (the rulebooks it passed against on that line), a block per
failure with the problems, the expected and actual findings, and what each rule read;
then coverage per rulebook; then the closing line `N passed, N failed`, counting each
case once per rulebook it ran against.
"""

from __future__ import annotations

import json
import os
from typing import TextIO

from payerlint.authoring.rulebook_tests import Report, Run, expected_of


def _shown_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _percent(value: float) -> str:
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def _books(runs: list) -> str:
    """acme@2025Q4, 2026Q1, 2026Q2: a family named once (runs or coverages)."""
    out, family = [], None
    for run in runs:
        name, _, quarter = run.rulebook.partition("@")
        out.append(quarter if name == family and quarter else run.rulebook)
        family = name
    return ", ".join(out)


def _expected_text(expected: dict) -> str:
    parts = []
    if "verdict" in expected:
        parts.append(f"verdict {expected['verdict']}")
    for firing in expected.get("fires", []):
        extra = [f"line {firing['line']}"] if "line" in firing else []
        extra += [firing["severity"]] if "severity" in firing else []
        extra += [f"says \"{firing['says']}\""] if "says" in firing else []
        extra += [f"fix {json.dumps(firing['fix'])}"] if "fix" in firing else []
        parts.append(f"{firing['rule']} fires" + (f" ({', '.join(extra)})" if extra else ""))
    if expected.get("quiet"):
        parts.append("quiet: " + ", ".join(expected["quiet"]))
    if expected.get("only"):
        parts.append("no other rule fires")
    if "not_evaluated" in expected:
        shown = [s if isinstance(s, str) else f"{s['rule']} lacks {s['missing']}" for s in expected["not_evaluated"]]
        parts.append("not evaluated: " + (", ".join(shown) or "none"))
    if "fix" in expected:
        parts.append(f"fix {json.dumps(expected['fix'])}")
    return "; ".join(parts) or "(nothing: the case only has to run)"


def _actual_lines(actual: dict) -> list[str]:
    out = [f"verdict {actual['verdict']}"]
    for f in actual["findings"]:
        place = "the claim" if f["line"] is None else f"line {f['line']} (/lines/{f['line'] - 1})"
        out.append(f"{f['rule']} {f['severity']} on {place}: {f['message']}")
    if actual["not_evaluated"]:
        out.append("not evaluated: " + ", ".join(f"{n['rule']} lacks {n['missing']}" for n in actual["not_evaluated"]))
    if actual["fix"]:
        out.append(f"fix {json.dumps(actual['fix'])}")
    return out


def write_text(report: Report, paths: list[str], out: TextIO) -> None:
    by_file: dict[str, list[list[Run]]] = {}
    for run in report.runs:
        cases = by_file.setdefault(run.case.file, [])
        if cases and cases[-1][0].case is run.case:
            cases[-1].append(run)
        else:
            cases.append([run])
    for file in sorted(by_file):
        out.write(f"{_shown_path(file)}\n")
        for runs in by_file[file]:
            case = runs[0].case
            # Runs of one case that ended the same way are shown once, with their rulebooks.
            groups: dict[tuple, list[Run]] = {}
            for run in runs:
                key = (run.status, tuple(run.problems), tuple(d.render() for d in run.errors))
                groups.setdefault(key, []).append(run)
            for (status, _problems, _errors), group in groups.items():
                label = {"pass": "ok   ", "fail": "FAIL ", "error": "ERROR"}[status]
                out.write(f"  {label} {case.span.line:>4}  {case.name}  [{_books(group)}]\n")
                if status == "pass":
                    continue
                run = group[0]
                for diagnostic in run.errors:
                    out.write("".join(f"          {line}\n" for line in diagnostic.render().splitlines()))
                for problem in run.problems:
                    out.write(f"          {problem}\n")
                if run.actual is not None:
                    out.write(f"          expected: {_expected_text(expected_of(case))}\n")
                    actual = _actual_lines(run.actual)
                    out.write(f"          actual:   {actual[0]}\n")
                    out.write("".join(f"                    {line}\n" for line in actual[1:]))
                for heading, reads in run.details:
                    out.write(f"          {heading}:\n")
                    out.write("".join(f"              {line}\n" for line in reads))
        out.write("\n")
    for diagnostic in report.errors:
        out.write(diagnostic.render() + "\n\n")
    if not report.runs:
        out.write(f"no test cases found in {' '.join(paths)} (a test file is rulebooks/<family>/tests/<name>.toml; "
                  "docs/authoring.md shows one)\n")
    if report.coverage:
        out.write("coverage: rules a passing case made fire (listed in fires) and kept quiet (listed in quiet)\n")
        # Quarters of a family that ended the same way are shown once.
        groups: dict[tuple, list] = {}
        for rulebook in sorted(report.coverage):
            cov = report.coverage[rulebook]
            key = (rulebook.partition("@")[0], len(cov.rules), round(cov.percent, 1), tuple(cov.never_fired),
                   tuple(cov.never_quiet))
            groups.setdefault(key, []).append(cov)
        for covs in groups.values():
            cov = covs[0]
            cases = sorted({c.cases for c in covs})
            runs = "/".join(map(str, cases))
            out.write(f"  {_books(covs)}: {_percent(cov.percent)} of {len(cov.rules)} rules, "
                      f"{runs} passing case run{'s' if cases != [1] else ''} each\n"
                      if len(covs) > 1 else
                      f"  {cov.rulebook}: {_percent(cov.percent)} of {len(cov.rules)} rules, "
                      f"{runs} passing case run{'s' if cases != [1] else ''}\n")
            if cov.never_fired:
                out.write(f"      never made to fire: {', '.join(cov.never_fired)}\n")
            if cov.never_quiet:
                out.write(f"      never kept quiet: {', '.join(cov.never_quiet)}\n")
    for cov in report.under:
        out.write(f"coverage of {cov.rulebook} is {_percent(cov.percent)}, under --fail-under "
                  f"{_percent(report.fail_under)}\n")
    out.write(f"{report.passed} passed, {report.failed} failed\n")


def write_json(report: Report, out: TextIO) -> None:
    runs = []
    for run in report.runs:
        entry = {"file": run.case.file, "line": run.case.span.line, "case": run.case.name, "rulebook": run.rulebook,
                 "status": run.status, "problems": run.problems, "expected": expected_of(run.case),
                 "actual": run.actual,
                 "explanations": [{"about": heading, "read": reads} for heading, reads in run.details],
                 "errors": [d.to_json() for d in run.errors]}
        runs.append(entry)
    document = {
        "cases": runs,
        "coverage": [{"rulebook": c.rulebook, "rules": len(c.rules), "percent": round(c.percent, 1),
                      "never_fired": c.never_fired, "never_quiet": c.never_quiet, "passing_runs": c.cases}
                     for c in sorted(report.coverage.values(), key=lambda c: c.rulebook)],
        "errors": [d.to_json() for d in report.errors],
        "fail_under": report.fail_under,
        "under": [c.rulebook for c in report.under],
        "passed": report.passed,
        "failed": report.failed,
    }
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
