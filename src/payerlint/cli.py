"""The command line: a thin shell over the API.

Exit codes, for every command: 0 all is well; 1 the command worked and found something
(a denied or erroneous claim, a diff with changes); 2 usage errors, unreadable files, or
a rulebook that does not compile.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, TextIO

from payerlint import __version__
from payerlint.diagnostics import DiagnosticError

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except DiagnosticError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `payerlint check ... | head`
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payerlint", description="Check outpatient therapy claims against payer rules before submission.")
    parser.add_argument("--version", action="version", version=f"payerlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", metavar="DIR",
                      help="a rulebook tree (rulebooks/, payers/) to use instead of the bundled one; "
                           "default: $PAYERLINT_HOME, else the bundled rulebooks")

    check = commands.add_parser("check", parents=[home], help="check claims",
                                description="Check claims (a JSON claim, a JSON array of claims, or JSON Lines; "
                                            "'-' reads standard input; a folder is read for *.json and *.jsonl).")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--rulebook", metavar="PATH|FAMILY@QUARTER",
                       help="check every claim against this one rulebook, whatever its payer and dates")
    check.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    check.add_argument("--strict", action="store_true",
                       help="report each rule that could not be evaluated as a warning of category input")
    check.add_argument("--explain", action="store_true",
                       help="add to each finding the params, definitions, table rows and code set members it used")
    check.set_defaults(run=_check)

    compile_ = commands.add_parser("compile", parents=[home], help="check rulebooks and print their diagnostics")
    compile_.add_argument("paths", nargs="+", metavar="PATH|FAMILY@QUARTER")
    compile_.set_defaults(run=_compile)

    importer = commands.add_parser(
        "import", help="turn a CMS NCCI PTP or MUE file into a payerlint table file",
        description="Read a CMS quarterly file (NCCI practitioner PTP text file, or MUE practitioner CSV) and "
                    "write the table file a rulebook's `table` declaration reads.")
    importer.add_argument("kind", choices=("ncci-ptp", "mue"))
    importer.add_argument("file", metavar="FILE")
    importer.add_argument("-o", "--output", metavar="PATH",
                          help="where to write (default: tables/ncci_ptp.csv or tables/mue.csv)")
    importer.add_argument("--source", metavar="TEXT", help="the source text each row records")
    importer.set_defaults(run=_import)

    builtins = commands.add_parser("builtins", help="list the built-in functions a rulebook can call")
    builtins.set_defaults(run=_builtins)
    return parser


# ------------------------------------------------------------------ check


def _check(args) -> int:
    from payerlint.api import Checker, load_rulebook
    from payerlint.claims.reader import read_records
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home

    loader = Loader(resolve_home(args.home))
    if not args.rulebook:
        print("payerlint check: give --rulebook PATH or FAMILY@QUARTER (e.g. --rulebook medicare@2026Q2)",
              file=sys.stderr)
        return EXIT_USAGE
    rulebook = load_rulebook(args.rulebook, loader=loader)
    checker = Checker(rulebook, strict=args.strict, explain=args.explain)
    results = checker.check_records(read_records(args.files, stdin=sys.stdin))
    return write_results(results, args.format, sys.stdout)


def write_results(results: Iterable, fmt: str, out: TextIO) -> int:
    """Write results as they come (memory stays flat for JSON Lines input); return the exit code."""
    found = False
    counts = {"clean": 0, "warn": 0, "deny": 0, "error": 0}
    not_evaluated = 0
    first = True
    if fmt == "json":
        out.write("[")
    for result in results:
        counts[result.verdict] += 1
        not_evaluated += len(result.not_evaluated)
        found = found or result.verdict in ("deny", "error")
        if fmt == "json":
            out.write(("\n" if first else ",\n") + result.dumps())
        elif fmt == "jsonl":
            out.write(result.dumps() + "\n")
        else:
            out.write(render_text(result))
        first = False
    if fmt == "json":
        out.write("\n]\n" if not first else "]\n")
    elif fmt == "text":
        total = sum(counts.values())
        out.write(
            f"{total} claim{'s' if total != 1 else ''} checked: {counts['clean']} clean, {counts['warn']} warn, "
            f"{counts['deny']} deny, {counts['error']} error; {not_evaluated} rule evaluation"
            f"{'s' if not_evaluated != 1 else ''} skipped for missing data"
            + (" (--strict reports them)" if not_evaluated else "") + "\n")
    return EXIT_FOUND if found else EXIT_OK


def render_text(result) -> str:
    """One block per claim: a header line, then each finding with its fix and citation,
    then the rules that could not run for missing data, grouped by what was missing."""
    severities: dict[str, int] = {}
    for finding in result.findings:
        severities[finding.severity] = severities.get(finding.severity, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(severities.items(), key=lambda i: ("deny", "warn", "info").index(i[0])
                                                      if i[0] in ("deny", "warn", "info") else 9)) or "no findings"
    books = ", ".join(result.rulebooks) or "no rulebook"
    out = [f"{result.claim_id or '(no claim id)'}  {result.verdict.upper()}  {books}  ({counts}; "
           f"{len(result.not_evaluated)} not evaluated)"]
    if result.record:
        out.append(f"  from {result.record}")
    for finding in result.findings:
        place = f"line {finding.line}" if finding.line is not None else "claim"
        out.append(f"  {place:<7} {finding.severity:<4}  {finding.category}  {finding.rule}"
                   + (f"  [{finding.rulebook}]" if len(result.rulebooks) > 1 else ""))
        out.append(f"          {finding.message}")
        for patch in finding.fix:
            value = f" {json.dumps(patch['value'])}" if "value" in patch else ""
            out.append(f"          fix:  {patch['op']} {patch['path']}{value}")
        if finding.citation:
            out.append(f"          cite: {finding.citation}")
    by_pointer: dict[str, list[str]] = {}
    for skipped in result.not_evaluated:
        by_pointer.setdefault(skipped.missing, []).append(skipped.rule)
    for pointer, rules in sorted(by_pointer.items()):
        out.append(f"  not evaluated, the claim has no {pointer}: {', '.join(sorted(set(rules)))}")
    return "\n".join(out) + "\n\n"


# ------------------------------------------------------------------ compile, builtins


def _compile(args) -> int:
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home

    loader = Loader(resolve_home(args.home))
    status = EXIT_OK
    for path in args.paths:
        try:
            compiled = loader.load(path)
        except DiagnosticError as exc:
            print(exc.render(), file=sys.stderr)
            count = len(exc.diagnostics)
            print(f"{path}: {count} error{'s' if count != 1 else ''}\n", file=sys.stderr)
            status = EXIT_USAGE
            continue
        rows = sum(len(t.rows) for t in compiled.tables.values())
        base = f", extends {compiled.base.id}" if compiled.base else ""
        print(f"{path}: ok: {compiled.id}{base}; {len(compiled.rules)} rules, {len(compiled.lets)} definitions, "
              f"{len(compiled.params)} params, {len(compiled.codesets)} code sets, {len(compiled.phrases)} phrase sets, "
              f"{len(compiled.tables)} tables ({rows} rows), {len(compiled.disabled)} disabled")
    return status


def _import(args) -> int:
    from payerlint.tables.importers import run_import

    report = run_import(args.kind, args.file, args.output, args.source)
    print(f"{args.file}: {report.rows_read} rows read, {report.rows_written} written to {report.output} "
          f"({report.skipped_preamble_lines} preamble lines skipped)")
    return EXIT_OK


def _builtins(args) -> int:
    from payerlint.builtins import BUILTINS

    for name in sorted(BUILTINS):
        builtin = BUILTINS[name]
        print(f"{builtin.usage}\n    {builtin.doc}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
