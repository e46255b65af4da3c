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
# `check --fail-on`: which verdicts make the command exit 1.
FAILING = {"deny": ("deny", "error"), "warn": ("warn", "deny", "error"), "error": ("error",)}


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
                       help="check every claim against this one rulebook, whatever its payer and dates "
                            "(without it, each claim's payer_id and dates of service pick the rulebooks)")
    check.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    check.add_argument("--strict", action="store_true",
                       help="report each rule that could not be evaluated as a warning of category input")
    check.add_argument("--fail-on", choices=("deny", "warn", "error"), default="deny",
                       help="which verdicts make the command exit 1 (default deny: a denied or erroneous claim); "
                            "with --strict, --fail-on warn also fails on rules that could not be evaluated")
    check.add_argument("--explain", action="store_true",
                       help="add to each finding the params, definitions, table rows and code set members it used")
    check.set_defaults(run=_check)

    compile_ = commands.add_parser("compile", parents=[home], help="check rulebooks and print their diagnostics")
    compile_.add_argument("paths", nargs="+", metavar="PATH|FAMILY@QUARTER")
    compile_.add_argument("--rules", action="store_true",
                          help="list each rule with where it was written (this rulebook or a base, file:line) "
                               "and what it overrides; and each disabled rule with its reason")
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

    payers = commands.add_parser("payers", parents=[home], help="the payer registry: list, show, scaffold",
                                 description="Without a subcommand, list the payers of the registry.")
    payers.set_defaults(run=_payers_list)
    payer_commands = payers.add_subparsers(dest="payers_command", metavar="SUBCOMMAND")
    show = payer_commands.add_parser("show", parents=[home], help="one payer, with its quarters")
    show.add_argument("id", metavar="ID")
    show.set_defaults(run=_payers_show)
    new = payer_commands.add_parser("new", parents=[home],
                                    help="scaffold payers/ID.toml and a first rulebook that extends the right base")
    new.add_argument("id", metavar="ID")
    new.add_argument("--type", required=True, help="the payer type (see payerlint/schemas/payer.schema.json)")
    new.add_argument("--name", required=True, help="display name")
    new.add_argument("--quarter", metavar="YYYYQn", help="first quarter (default: the latest quarter of the base)")
    new.add_argument("--state", action="append", default=[], metavar="XX", help="a state where it applies (repeatable)")
    new.add_argument("--unit-method", choices=("cms_total_time", "ama_per_code"), default="cms_total_time")
    new.set_defaults(run=_payers_new)

    quarter = commands.add_parser("quarter", help="quarterly versions of rulebooks")
    quarter_commands = quarter.add_subparsers(dest="quarter_command", metavar="SUBCOMMAND", required=True)
    quarter_new = quarter_commands.add_parser(
        "new", parents=[home], help="start a quarter as a copy of the latest one, header updated",
        description="Copy the latest rulebook before QUARTER to QUARTER, moving its quarter, its dates and its "
                    "base (extends) to the new quarter. Then edit what changed.")
    quarter_new.add_argument("payer", metavar="PAYER", help="a payer id, or a rulebook family such as therapy-common")
    quarter_new.add_argument("quarter", metavar="QUARTER", help="like 2027Q1")
    quarter_new.set_defaults(run=_quarter_new)

    differ = commands.add_parser(
        "diff", parents=[home], help="what changed between two rulebooks, and which claims it changes",
        description="Compare two compiled rulebooks (paths or family@quarter): params, code set members, table "
                    "rows by key, rules and the parts of each that changed, and the rules each change reaches. "
                    "With --claims, check every claim under both and list those whose outcome changes, with "
                    "the change that caused it. Exit 0: no changes; 1: changes; 2: error.")
    differ.add_argument("old", metavar="OLD")
    differ.add_argument("new", metavar="NEW")
    differ.add_argument("--claims", metavar="FILE", nargs="+",
                        help="claims to replay (JSON, JSON array or JSON Lines; JSON Lines streams)")
    differ.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    differ.set_defaults(run=_diff)

    builtins = commands.add_parser("builtins", help="list the built-in functions a rulebook can call")
    builtins.set_defaults(run=_builtins)
    return parser


# ------------------------------------------------------------------ check


def _check(args) -> int:
    from payerlint.api import Checker, load_rulebook
    from payerlint.claims.reader import read_records
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home

    home = resolve_home(args.home)
    loader = Loader(home)
    if args.rulebook:
        rulebook = load_rulebook(_rulebook_ref(home, args.rulebook), loader=loader)
        checker = Checker(rulebook, strict=args.strict, explain=args.explain)
    else:
        from payerlint.payers.registry import Registry
        from payerlint.payers.routing import Router

        checker = Router(Registry.load(home), loader, strict=args.strict, explain=args.explain)
    unreadable: list = []
    records = _readable(read_records(args.files, stdin=sys.stdin), unreadable)
    results = checker.check_records(records)
    status = write_results(results, args.format, sys.stdout, strict=args.strict, fail_on=args.fail_on)
    for problem in unreadable:
        print(problem.render(), file=sys.stderr)
    if unreadable:
        return EXIT_USAGE
    broken = getattr(checker, "rulebook_errors", {})
    for ref, error in sorted(broken.items()):
        print(f"rulebook {ref} does not compile; the claims routed to it got the verdict error:\n{error.render()}",
              file=sys.stderr)
    return EXIT_USAGE if broken else status


def _readable(records, unreadable: list):
    """Records to check; a file that cannot be read at all (missing, empty, a folder with
    no claims) is a usage problem, not a claim: it is set aside for stderr and exit 2."""
    from payerlint.claims.reader import FILE_UNREADABLE

    for record in records:
        if record.data is None and record.error is not None and record.error.code == FILE_UNREADABLE:
            unreadable.append(record.error)
            continue
        yield record


def write_results(results: Iterable, fmt: str, out: TextIO, strict: bool = False, fail_on: str = "deny") -> int:
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
        found = found or result.verdict in FAILING[fail_on]
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
            + (" (--strict reports them)" if not_evaluated and not strict else "") + "\n")
    return EXIT_FOUND if found else EXIT_OK


def render_text(result) -> str:
    """One block per claim: a header line, then each finding with its fix and citation,
    then the rules that could not run for missing data, grouped by what was missing."""
    severities: dict[str, int] = {}
    for finding in result.findings:
        severities[finding.severity] = severities.get(finding.severity, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(severities.items(), key=lambda i: ("deny", "warn", "info").index(i[0])
                                                      if i[0] in ("deny", "warn", "info") else 9)) or "no findings"
    books = ", ".join(result.rulebooks) or "not checked"
    out = [f"{result.claim_id or '(no claim id)'}  {result.verdict.upper()}  {books}  ({counts}; "
           f"{len(result.not_evaluated)} not evaluated)"]
    if result.record:
        out.append(f"  from {result.record}")
    for finding in result.findings:
        # Lines are counted from 1 here, as on a claim form; the JSON `line` and the fix
        # paths count from 0, so the path is shown beside the number.
        place = f"line {finding.line + 1} (/lines/{finding.line})" if finding.line is not None else "claim"
        out.append(f"  {place:<18} {finding.severity:<4}  {finding.category}  {finding.rule}"
                   + (f"  [{finding.rulebook}]" if len(result.rulebooks) > 1 else ""))
        out.append(f"          {finding.message}")
        for patch in finding.fix:
            value = f" {json.dumps(patch['value'])}" if "value" in patch else ""
            out.append(f"          fix:  {patch['op']} {patch['path']}{value}")
        if finding.denial is not None:
            out.append(f"          denial code: {finding.denial}")
        if finding.citation:
            out.append(f"          cite: {finding.citation}")
        if finding.explanation:
            out.extend(f"          used: {item}" for item in _explained(finding.explanation))
    by_pointer: dict[str, list[str]] = {}
    for skipped in result.not_evaluated:
        by_pointer.setdefault(skipped.missing, []).append(skipped.rule)
    for pointer, rules in sorted(by_pointer.items()):
        out.append(f"  not evaluated, the claim has no {pointer}: {', '.join(sorted(set(rules)))}")
    return "\n".join(out) + "\n\n"


def _explained(explanation: dict) -> list[str]:
    """What a finding used, one short phrase each (the JSON form has the same, structured)."""
    items = [f"with {b['name']} = {b['value']}" for b in explanation.get("bindings", [])]
    items += [f"param {p['name']} = {p['value']}" for p in explanation.get("params", [])]
    items += [f"{d['name']}" + (f" for {d['for']}" if d.get("for") else "") + f" = {d['value']}"
              for d in explanation.get("definitions", [])]
    for row in explanation.get("table_rows", []):
        where = f", file line {row['file_line']}" if row.get("file_line") else ""
        items.append(f"table {row['table']} ({', '.join(row['key'])}): {'found' if row['found'] else 'no row'}{where}")
    items += [f"{c['code']} {'is' if c['member'] else 'is not'} in code set {c['code_set']}"
              for c in explanation.get("code_sets", [])]
    items += [f"phrase \"{p['matched']}\" of {p['phrases']}" for p in explanation.get("phrases", [])]
    return items


# ------------------------------------------------------------------ compile, builtins


def _compile(args) -> int:
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home

    home = resolve_home(args.home)
    loader = Loader(home)
    status = EXIT_OK
    for path in args.paths:
        try:
            compiled = loader.load(_rulebook_ref(home, path))
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
        if args.rules:
            for rule in compiled.rules:
                origin = rule.origin
                where = f"{origin.rulebook} {origin.span.file}:{origin.span.line}"
                overrides = (f"  (overrides {origin.overrides.rulebook} {origin.overrides.span.file}:"
                             f"{origin.overrides.span.line})" if origin.overrides else "")
                print(f"  rule {rule.id:<44} {rule.severity:<4} {rule.category:<13} {where}{overrides}")
            for gone in compiled.disabled:
                reason = f": {gone.reason}" if gone.reason else ""
                print(f"  disabled {gone.rule_id:<40} by {gone.origin.rulebook} {gone.origin.span.file}:"
                      f"{gone.origin.span.line}{reason}")
    return status


def _payers_list(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry

    registry = Registry.load(resolve_home(args.home))
    rows = [("id", "type", "states", "rulebooks", "unit method", "name")]
    for payer in registry.payers.values():
        quarters = registry.quarters(payer)
        span = f"{quarters[0]}..{quarters[-1]}" if quarters else "none"
        rows.append((payer.id, payer.type, ",".join(payer.states) or "all", f"{payer.rulebook_family} {span}",
                     payer.unit_method, payer.name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return EXIT_OK


def _payers_show(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry

    registry = Registry.load(resolve_home(args.home))
    payer = registry.resolve(args.id)
    if payer is None:
        print(f"payerlint: no payer '{args.id}'; closest: {', '.join(registry.closest(args.id))}", file=sys.stderr)
        return EXIT_USAGE
    quarters = registry.quarters(payer)
    print(f"{payer.id}: {payer.name}")
    print(f"  type:          {payer.type}")
    print(f"  states:        {', '.join(payer.states) or 'all'}")
    print(f"  aliases:       {', '.join(payer.aliases) or 'none'}")
    print(f"  unit method:   {payer.unit_method}")
    print(f"  rulebooks:     {payer.rulebook_family}: " + (", ".join(str(q) for q in quarters) or "none"))
    print(f"  facts as of:   {payer.facts_as_of}")
    for source in payer.sources:
        print(f"  source:        {source}")
    for assumption in payer.assumptions:
        print(f"  ASSUMPTION:    {assumption}")
    if payer.notes:
        print(f"  notes:         {payer.notes}")
    print(f"  file:          {payer.path}")
    return EXIT_OK


def _payers_new(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.payers.scaffold import scaffold_payer

    home = resolve_home(args.home)
    for path in scaffold_payer(home, args.id, args.type, args.name, args.quarter, args.state, args.unit_method):
        print(f"wrote {path}")
    return EXIT_OK


def _quarter_new(args) -> int:
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home
    from payerlint.versions.new_quarter import new_quarter

    home = resolve_home(args.home)
    made = new_quarter(home, args.payer, args.quarter)
    print(f"wrote {made.path} (a copy of {made.copied_from.name})")
    for change in made.changes:
        print(f"  {change}")
    compiled = Loader(home).load(str(made.path))
    print(f"  compiles: {compiled.id}; now update what changed this quarter (params that change each year, "
          f"table versions, sources, facts as of)")
    return EXIT_OK


def _diff(args) -> int:
    from payerlint.compile.pipeline import Loader
    from payerlint.home import resolve_home
    from payerlint.versions import report
    from payerlint.versions.diff import diff

    home = resolve_home(args.home)
    loader = Loader(home)
    old, new = loader.load(_rulebook_ref(home, args.old)), loader.load(_rulebook_ref(home, args.new))
    changes = diff(old, new)
    impacts = summary = None
    if args.claims:
        from payerlint.claims.reader import read_records
        from payerlint.versions.replay import Replay

        replay = Replay(changes, old, new)
        impacts = replay.run(read_records(args.claims, stdin=sys.stdin))
        summary = replay.summary
    out = sys.stdout
    if args.format == "json":
        report.write_json(changes, impacts, summary, out)
    elif args.format == "markdown":
        report.write_markdown(changes, out)
        if impacts is not None:
            report.write_impacts_markdown(impacts, summary, out)
    else:
        report.write_text(changes, out)
        if impacts is not None:
            report.write_impacts_text(impacts, summary, out)
    found = changes.changed or bool(summary and summary.changed)
    return EXIT_FOUND if found else EXIT_OK


def _rulebook_ref(home, ref: str) -> str:
    """`payer@quarter` may name a payer id or alias; it means that payer's rulebook family."""
    import os

    if "@" in ref and not os.path.exists(ref) and (home.payers / "_types.toml").exists():
        name, _, quarter = ref.partition("@")
        from payerlint.payers.registry import Registry

        payer = Registry.load(home).resolve(name)
        if payer is not None:
            return f"{payer.rulebook_family}@{quarter}"
    return ref


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
