"""The command line: a thin shell over the API.

Exit codes, for every command: 0 all is well; 1 the command worked and found something
(a denied or erroneous claim, a diff with changes); 2 usage errors, unreadable files, or
a rulebook that does not compile; 3 payerlint itself failed (a bug): for `check`, some
claims got an `internal.error` result (every other claim was still checked and written).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from typing import Iterable, TextIO

from payerlint import __version__
from payerlint.diagnostics import DiagnosticError

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_PIPE = 141
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
    except BrokenPipeError:
        # `payerlint check ... | head`: the reader went away, so not every result was written.
        # Exit as a shell reports a process a closed pipe stopped (128 + SIGPIPE), never 0:
        # under `set -o pipefail` a cut-short run must not read as a clean one. Standard
        # output is pointed at nothing first, so the interpreter's last flush stays quiet.
        try:
            nothing = os.open(os.devnull, os.O_WRONLY)
            os.dup2(nothing, sys.stdout.fileno())
            os.close(nothing)
        except (OSError, ValueError):
            pass
        return EXIT_PIPE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line, not a traceback of claim data
        from payerlint.check import internal_message

        print(internal_message(exc, f"finish `payerlint {args.command}`", "your input"), file=sys.stderr)
        return EXIT_INTERNAL


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
                                description="Check claims (a JSON claim, a JSON array of claims, JSON Lines, FHIR "
                                            "R4 Claims and Bundles, or X12 837P files; '-' reads standard input; a "
                                            "folder is read for *.json, *.jsonl, *.837, *.x12 and *.edi).")
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
    check.add_argument("--input", choices=("auto", "json", "fhir", "x12"), default="auto",
                       help="what the records are: auto (default) reads a file named *.837, *.x12 or *.edi, or "
                            "starting with an ISA segment, as an X12 837P, a JSON object with a resourceType as "
                            "FHIR (a Claim or a Bundle of Claims) and any other as a payerlint claim; json, fhir "
                            "and x12 say it for every record")
    check.add_argument("--documentation", metavar="FILE",
                       help="JSON Lines of what an 837P does not carry (the treatment note, minutes per line, "
                            "episode data), one record per claim in the claim schema's shape, matched by claim_id "
                            "(CLM01); lines by control_number (REF*6R) or position. See docs/x12.md")
    check.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                       help="worker processes checking claims (default: the cores available; 1: check in this "
                            "process); results keep the input's order and are the same whatever N")
    check.add_argument("-o", "--output", metavar="FILE",
                       help="write the results to FILE (through a temporary file renamed at the end, so an "
                            "interrupted run leaves the old FILE or the complete new one)")
    check.add_argument("--summary", action="store_true",
                       help="print the closing summary on standard error even when it is not a terminal")
    check.set_defaults(run=_check)

    compile_ = commands.add_parser("compile", parents=[home], help="check rulebooks and print their diagnostics",
                                   description="Compile rulebooks (files, folders of them, or family@quarter) and "
                                               "say where each comes from: team, bundled, or a file given by path.")
    compile_.add_argument("paths", nargs="+", metavar="PATH|FAMILY@QUARTER")
    compile_.add_argument("--format", choices=("text", "json"), default="text",
                          help="json: one object per rulebook (id, where it comes from, counts, errors)")
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

    payers = commands.add_parser("payers", parents=[home], help="the payer registry: list, show, new (scaffold a payer)",
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

    cache = commands.add_parser(
        "cache", help="the cache of compiled rulebooks on disk",
        description="Compiled rulebooks are kept on disk ($PAYERLINT_CACHE_DIR, else $XDG_CACHE_HOME/payerlint, "
                    "else ~/.cache/payerlint), keyed by the content of every file they read, so a later run "
                    "skips compiling. An entry is checked on every load and a stale or damaged one is compiled "
                    "again; PAYERLINT_NO_CACHE=1 turns the cache off.")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="SUBCOMMAND", required=True)
    cache_commands.add_parser("clear", help="remove every cached rulebook").set_defaults(run=_cache_clear)
    cache_commands.add_parser("info", help="where the cache is and what it holds").set_defaults(run=_cache_info)

    tester = commands.add_parser(
        "test", parents=[home], help="run the test cases written beside rulebooks, with rule coverage",
        description="Run the test cases in rulebooks/<family>/tests/*.toml against the rulebooks they name "
                    "(docs/authoring.md). PATH: a test file, a family folder, a .rules file, FAMILY@QUARTER, or "
                    "a folder of families (default: the rulebook tree). Exit 0: every case passed; 1: a case "
                    "failed, no case was found, or coverage is under --fail-under; 2: an error in a test file or "
                    "a rulebook.")
    tester.add_argument("paths", nargs="*", metavar="PATH")
    tester.add_argument("--fail-under", type=float, metavar="PERCENT",
                        help="fail when a rulebook's coverage (rules made to fire and kept quiet) is under PERCENT")
    tester.add_argument("--format", choices=("text", "json"), default="text")
    tester.set_defaults(run=_test)

    lsp = commands.add_parser("lsp", parents=[home], help="a language server for .rules files (stdio)",
                              description="Speak the Language Server Protocol on standard input and output: "
                                          "diagnostics as you type, hover, go to definition, completion. Needs "
                                          "the optional extra: pip install 'payerlint[lsp]'.")
    lsp.set_defaults(run=_lsp)

    from payerlint import cli_authoring

    cli_authoring.add_commands(commands, home)
    _add_x12_commands(commands, home)
    from payerlint.remit.command import add_command as add_remit

    add_remit(commands, home)

    server = commands.add_parser(
        "serve", parents=[home], help="the HTTP service and the web workbench",
        description="Serve the check, payers, rulebooks and diff API (/v1, OpenAPI at /openapi.json) and the web "
                    "workbench (/). Needs the optional extra: pip install 'payerlint[server]'.")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    server.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    server.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every endpoint but /healthz "
                                        "(default: $PAYERLINT_TOKEN; prefer it, a command line is visible to others)")
    server.add_argument("--max-body", type=_body_limit, default=16 << 20, metavar="BYTES",
                        help="largest request body accepted; larger gets 413 (default 16 MiB)")
    server.set_defaults(run=_serve)
    return parser


# ------------------------------------------------------------------ check


def _whole(text: str, what: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} as a whole number; got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"expected {what} from {low}" + (f" to {high}" if high is not None else
                                                                           " up") + f"; got {value}")
    return value


def _port(text: str) -> int:
    return _whole(text, "a port", 0, 65535)


def _body_limit(text: str) -> int:
    return _whole(text, "a body limit in bytes", 1)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of worker processes, like 2; got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError("expected at least 1 worker process")
    return value


def _all_files(paths) -> bool:
    """Whether every input is a regular file or a folder (not standard input, a pipe or a device)."""
    import stat

    for path in paths or ["-"]:
        if path == "-":
            return False
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # the reader reports it; it holds no claim to wait for
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return False
    return True


def _check(args) -> int:
    import time

    from payerlint.api import Checker, Router, load_rulebook
    from payerlint.payers.routing import one_rulebook
    from payerlint.batch import CheckerSpec, ParallelChecker, available_cores
    from payerlint.check import CHUNK
    from payerlint.claims.reader import Reading, read_records
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home
    from payerlint.output import write_results
    from payerlint.output.atomic import OutputPathError, atomic_output
    from payerlint.output.progress import Progress, closing_summary

    started = time.perf_counter()
    home = resolve_home(args.home)
    loader = Loader(home)
    if args.rulebook:
        ref = _rulebook_ref(home, args.rulebook)
        rulebook = load_rulebook(ref, loader=loader)
        checker: Checker = Checker(one_rulebook(rulebook, home), strict=args.strict, explain=args.explain)
    else:
        from payerlint.payers.registry import Registry

        ref = None
        checker = Router(Registry.load(home), loader, strict=args.strict, explain=args.explain)
    formats, documentation = _input_formats(args, home, checker)
    if formats is None:
        return EXIT_USAGE
    jobs = args.jobs or available_cores()
    # The reading process only frames records; parsing, FHIR conversion and checking
    # happen in ParallelChecker (in-process for --jobs 1 or a short batch).
    runner = ParallelChecker(checker, CheckerSpec(args.home, ref, args.strict, args.explain, args.input), jobs)
    unreadable: list = []
    reading = Reading(defer=jobs > 1)
    counted = _Count()
    records = read_records(args.files, stdin=sys.stdin, reading=reading, formats=formats)
    if documentation is not None:
        # After the last claim: the documentation records no 837P claim used.
        records = itertools.chain(records, _later(documentation.leftovers))
    records = counted.watch(_readable(records, unreadable))
    # Files are all there: check them a few at a time, stage by stage (Checker.check_records).
    # Standard input or a pipe may be fed one claim per answer: each is checked as it comes.
    results = runner.check_records(records, chunk=CHUNK if _all_files(args.files) else 1)
    terminal = _is_terminal(sys.stderr)
    if terminal:
        results = Progress(sys.stderr, reading, _input_size(args.files)).watch(results)
    try:
        if args.output:
            with atomic_output(args.output, inputs=args.files) as out:
                tally = write_results(results, args.format, out, strict=args.strict)
                if unreadable:
                    # A run with input it could not read ends in a usage error: -o keeps
                    # the file it had rather than results that lack those claims.
                    raise _KeepOld()
        else:
            tally = write_results(results, args.format, sys.stdout, strict=args.strict)
    except OutputPathError as exc:
        print(f"payerlint: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _KeepOld:
        print(f"payerlint: -o {args.output} was left as it was: some input could not be read (below)",
              file=sys.stderr)
    for problem in unreadable:
        print(problem.render(), file=sys.stderr)
    if runner.fallback:
        print(f"payerlint: {runner.fallback}; the claims were checked in this process", file=sys.stderr)
    broken = runner.rulebook_errors
    for ref_, error in sorted(broken.items()):
        print(f"rulebook {ref_} does not compile; the claims routed to it got the verdict error:\n{error.render()}",
              file=sys.stderr)
    if terminal or args.summary:
        print(closing_summary(tally, records_in=counted.n, seconds=time.perf_counter() - started,
                              jobs=jobs if runner.parallel else 1, unreadable_files=len(unreadable)),
              end="", file=sys.stderr)
    if tally.internal_errors:
        print(f"payerlint: {tally.internal_errors} claim{'s' if tally.internal_errors != 1 else ''} could not be "
              f"checked because of an internal error (see their results); this is a bug, please report it",
              file=sys.stderr)
        return EXIT_INTERNAL
    if unreadable or broken:
        return EXIT_USAGE
    failing = FAILING[args.fail_on]
    return EXIT_FOUND if any(tally.verdicts[v] for v in failing) else EXIT_OK


class _KeepOld(Exception):
    """Raised inside `-o`'s block so the file is not replaced (output/atomic.py)."""


def _input_formats(args, home, checker):
    """The non-JSON formats to read (the 837P) and the --documentation file, or (None,
    None) after saying why the documentation file cannot be used."""
    from payerlint.formats import input_formats

    registry = getattr(checker, "registry", None)
    if registry is None:
        from payerlint.payers.registry import Registry

        try:
            registry = Registry.load(home)
        except DiagnosticError:
            registry = None  # the 837P reader says so on each claim
    documentation = None
    if args.documentation:
        from payerlint.x12.documentation import Documentation, DocumentationFileError

        try:
            documentation = Documentation(args.documentation)
        except DocumentationFileError as exc:
            print(f"payerlint: {exc}", file=sys.stderr)
            return None, None
    return input_formats(args.input, registry, documentation), documentation


def _later(make):
    """`make()`'s items, made only when the first is wanted."""
    yield from make()


class _Count:
    """Counts the records going in, for the closing summary."""

    def __init__(self):
        self.n = 0

    def watch(self, records):
        for record in records:
            self.n += 1
            yield record


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _input_size(paths) -> int | None:
    """Bytes the reader will read (for the time left), or None when unknown (a pipe)."""
    from payerlint.formats import X12_SUFFIXES
    from payerlint.claims.reader import CLAIM_SUFFIXES

    total = 0
    for path in paths:
        try:
            if path == "-":
                import stat

                info = os.fstat(sys.stdin.fileno())
                if not stat.S_ISREG(info.st_mode):
                    return None
                total += info.st_size
            elif os.path.isdir(path):
                for folder, _, names in os.walk(path):
                    total += sum(os.path.getsize(os.path.join(folder, n)) for n in names
                                 if n.lower().endswith(CLAIM_SUFFIXES + X12_SUFFIXES))
            else:
                total += os.path.getsize(path)
        except (OSError, ValueError, AttributeError):
            return None
    return total or None


def _readable(records, unreadable: list):
    """Records to check; a file that cannot be read at all (missing, empty, a folder with
    no claims) is a usage problem, not a claim: it is set aside for stderr and exit 2."""
    from payerlint.claims.reader import FILE_UNREADABLE

    for record in records:
        if record.data is None and record.error is not None and record.error.code == FILE_UNREADABLE:
            unreadable.append(record.error)
            continue
        yield record


# ------------------------------------------------------------------ compile, builtins


def _compile(args) -> int:
    from payerlint.cli_authoring import rulebook_files
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home

    home = resolve_home(args.home)
    loader = Loader(home)
    status = EXIT_OK
    refs: list[str] = []
    for path in args.paths:
        if os.path.isdir(path):  # every *.rules below a folder
            found, problems = rulebook_files([path])
            refs += [str(p) for p in found]
            for problem in problems:
                print(problem.render(), file=sys.stderr)
                status = EXIT_USAGE
        else:
            refs.append(path)
    reports = []
    for path in refs:
        try:
            compiled = loader.load(_rulebook_ref(home, path))
        except DiagnosticError as exc:
            status = EXIT_USAGE
            reports.append({"path": path, "ok": False, "errors": [d.to_json() for d in exc.diagnostics]})
            if args.format == "text":
                print(exc.render(), file=sys.stderr)
                count = len(exc.diagnostics)
                print(f"{path}: {count} error{'s' if count != 1 else ''}\n", file=sys.stderr)
            continue
        reports.append(_compiled_report(path, compiled, home, args.rules))
        if args.format == "text":
            _print_compiled(reports[-1], compiled, args.rules)
    if args.format == "json":
        print(json.dumps(reports, indent=2, ensure_ascii=False))
    return status


def _compiled_report(path: str, compiled, home, with_rules: bool) -> dict:
    """What `compile` says about a rulebook that compiled, for text and JSON alike."""
    report = {
        "path": path, "ok": True, "id": compiled.id, "from": home.where(compiled.path), "file": compiled.path,
        "extends": compiled.base.id if compiled.base else None,
        "extends_from": home.where(compiled.base.path) if compiled.base else None,
        "counts": {"rules": len(compiled.rules), "definitions": len(compiled.lets), "params": len(compiled.params),
                   "code_sets": len(compiled.codesets), "phrase_sets": len(compiled.phrases),
                   "tables": len(compiled.tables), "table_rows": sum(len(t.rows) for t in compiled.tables.values()),
                   "disabled": len(compiled.disabled)},
    }
    if with_rules:
        report["rules"] = [
            {"id": rule.id, "severity": rule.severity, "category": rule.category, "rulebook": rule.origin.rulebook,
             "at": f"{rule.origin.span.file}:{rule.origin.span.line}",
             "overrides": (f"{rule.origin.overrides.rulebook} {rule.origin.overrides.span.file}:"
                           f"{rule.origin.overrides.span.line}" if rule.origin.overrides else None)}
            for rule in compiled.rules]
        report["disabled"] = [
            {"id": gone.rule_id, "by": gone.origin.rulebook,
             "at": f"{gone.origin.span.file}:{gone.origin.span.line}", "reason": gone.reason}
            for gone in compiled.disabled]
    return report


def _print_compiled(report: dict, compiled, with_rules: bool) -> None:
    counts = report["counts"]
    base = f", extends {report['extends']} ({report['extends_from']})" if report["extends"] else ""
    print(f"{report['path']}: ok: {report['id']} ({report['from']}){base}; {counts['rules']} rules, "
          f"{counts['definitions']} definitions, {counts['params']} params, {counts['code_sets']} code sets, "
          f"{counts['phrase_sets']} phrase sets, {counts['tables']} tables ({counts['table_rows']} rows), "
          f"{counts['disabled']} disabled")
    if with_rules:
        for rule in report["rules"]:
            overrides = f"  (overrides {rule['overrides']})" if rule["overrides"] else ""
            print(f"  rule {rule['id']:<44} {rule['severity']:<4} {rule['category']:<13} {rule['rulebook']} "
                  f"{rule['at']}{overrides}")
        for gone in report["disabled"]:
            reason = f": {gone['reason']}" if gone["reason"] else ""
            print(f"  disabled {gone['id']:<40} by {gone['by']} {gone['at']}{reason}")


def _payers_list(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry

    registry = Registry.load(resolve_home(args.home))
    rows = [("id", "from", "type", "states", "rulebooks", "unit method", "name")]
    for payer in registry.payers.values():
        quarters = registry.quarters(payer)
        span = f"{quarters[0]}..{quarters[-1]}" if quarters else "none"
        rows.append((payer.id, registry.origin(payer), payer.type, ",".join(payer.states) or "all",
                     f"{payer.rulebook_family} {span}", payer.unit_method, payer.name))
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
    home = registry.home
    books = [f"{quarter}" + (f" ({home.where(path)})" if home.origin != "bundled" else "")
             for quarter, path in home.quarters_of(payer.rulebook_family)]
    print(f"{payer.id}: {payer.name}")
    print(f"  type:          {payer.type}")
    print(f"  states:        {', '.join(payer.states) or 'all'}")
    print(f"  aliases:       {', '.join(payer.aliases) or 'none'}")
    print(f"  unit method:   {payer.unit_method}")
    print(f"  rulebooks:     {payer.rulebook_family}: " + (", ".join(books) or "none"))
    print(f"  facts as of:   {payer.facts_as_of}")
    for source in payer.sources:
        print(f"  source:        {source}")
    for assumption in payer.assumptions:
        print(f"  ASSUMPTION:    {assumption}")
    if payer.notes:
        print(f"  notes:         {payer.notes}")
    print(f"  file:          {payer.path} ({registry.origin(payer)})")
    return EXIT_OK


def _payers_new(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.payers.scaffold import scaffold_payer

    home = resolve_home(args.home)
    for path in scaffold_payer(home, args.id, args.type, args.name, args.quarter, args.state, args.unit_method):
        print(f"wrote {path}")
    return EXIT_OK


def _quarter_new(args) -> int:
    from payerlint.compile.loader import Loader
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
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home
    from payerlint.versions import report
    from payerlint.versions.diff import diff

    home = resolve_home(args.home)
    loader = Loader(home)
    old, new = loader.load(_rulebook_ref(home, args.old)), loader.load(_rulebook_ref(home, args.new))
    changes = diff(old, new)
    impacts = summary = None
    unreadable = []
    if args.claims:
        from payerlint.claims.reader import read_records
        from payerlint.versions.replay import Replay

        replay = Replay(changes, old, new)
        impacts = replay.run(_readable(read_records(args.claims, stdin=sys.stdin), unreadable))
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
    if args.claims and unreadable:
        # A claims file that could not be read: its claims were not replayed, so "no claim
        # changes outcome" would be a claim the run cannot make.
        for problem in unreadable:
            print(problem.render(), file=sys.stderr)
        return EXIT_USAGE
    found = changes.changed or bool(summary and summary.changed)
    return EXIT_FOUND if found else EXIT_OK


def _rulebook_ref(home, ref: str) -> str:
    from payerlint.payers.registry import rulebook_ref

    return rulebook_ref(home, ref)


def _import(args) -> int:
    from payerlint.tables.importers import run_import

    report = run_import(args.kind, args.file, args.output, args.source)
    print(f"{args.file}: {report.rows_read} rows read, {report.rows_written} written to {report.output} "
          f"({report.skipped_preamble_lines} preamble lines skipped)")
    return EXIT_OK


def _test(args) -> int:
    from payerlint.authoring.report import write_json, write_text
    from payerlint.authoring.rulebook_tests import run_tests
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home

    home = resolve_home(args.home)
    paths = args.paths or [str(home.rulebooks)]
    report = run_tests(paths, Loader(home), args.fail_under)
    if args.format == "json":
        write_json(report, sys.stdout)
    else:
        write_text(report, paths, sys.stdout)
    return report.exit_code()


def _lsp(args) -> int:
    try:
        from payerlint.lsp.server import main as serve
    except ImportError as exc:
        print(f"payerlint lsp needs pygls: pip install 'payerlint[lsp]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    return serve(args.home)


def _cache_clear(args) -> int:
    from payerlint.compile import cache

    count, where = cache.clear()
    print(f"removed {count} cached rulebook{'s' if count != 1 else ''}" + (f" from {where}" if where else ""))
    return EXIT_OK


def _cache_info(args) -> int:
    from payerlint.compile import cache

    where = cache.folder()
    entries = sorted(where.glob("*.plc")) if where is not None and where.is_dir() else []
    size = sum(entry.stat().st_size for entry in entries)
    print(f"{where or '(no cache folder: no home directory and no PAYERLINT_CACHE_DIR)'}: {len(entries)} "
          f"cached rulebook{'s' if len(entries) != 1 else ''}, {size / 2**20:.1f} MiB"
          + ("; disabled by PAYERLINT_NO_CACHE" if __import__("os").environ.get("PAYERLINT_NO_CACHE") else ""))
    return EXIT_OK

def _serve(args) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        from payerlint.server.main import serve
    except ImportError as exc:  # pragma: no cover - depends on the extra
        print(f"payerlint serve needs FastAPI and uvicorn: pip install 'payerlint[server]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    from payerlint.home import resolve_home

    return serve(resolve_home(args.home), args.host, args.port, args.token, args.max_body)


def _builtins(args) -> int:
    from payerlint.builtins import BUILTINS

    for name in sorted(BUILTINS):
        builtin = BUILTINS[name]
        print(f"{builtin.usage}\n    {builtin.doc}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# ------------------------------------------------------------------ X12: convert, export


def _add_x12_commands(commands, home) -> None:
    convert = commands.add_parser(
        "convert", parents=[home], help="print 837P claims as payerlint reads them (claim-schema JSON)",
        description="Read 837P (005010X222A1) files and print each claim in the claim schema's shape, including "
                    "claims whose content will fail checking; problems go to standard error. Exit 0: all read "
                    "cleanly; 1: a claim has an error; 2: a file, envelope or transaction could not be read.")
    convert.add_argument("files", nargs="+", metavar="FILE")
    convert.add_argument("--to", choices=("json", "jsonl"), default="json",
                         help="a JSON array (default) or one claim per line (pipe it to `payerlint check -`)")
    convert.add_argument("--sources", action="store_true",
                         help="print each claim with the segment and element each value came from, and its problems")
    convert.set_defaults(run=_convert)
    export = commands.add_parser(
        "export", parents=[home], help="write claims as an 837P interchange, with fixes applied",
        description="Write claims (payerlint JSON or 837P files) as one 837P (005010X222A1) interchange. "
                    "--apply-fixes applies each claim's combined fix from saved `check --format jsonl` results "
                    "(matched by claim_id) and tells it as 837P edits on standard error. Exit 0: all written; "
                    "1: a claim was left out or a fix did not apply; 2: usage errors.")
    export.add_argument("files", nargs="+", metavar="FILE")
    export.add_argument("--format", choices=("837p",), required=True)
    export.add_argument("--apply-fixes", metavar="RESULTS", help="saved results of `payerlint check --format jsonl`")
    export.add_argument("--envelope", metavar="SETTINGS.toml",
                        help="submitter, receiver, billing provider and ids the claim model does not hold "
                             "(default: placeholders, and ISA15 T, test data)")
    export.add_argument("-o", "--output", metavar="PATH", help="where to write (default: standard output)")
    export.set_defaults(run=_export)


def _x12_registry(args):
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry

    return Registry.load(resolve_home(args.home))


def _convert(args) -> int:
    from payerlint.x12.commands import convert

    return convert(args.files, args.to, args.sources, sys.stdout, sys.stderr, registry=_x12_registry(args))


def _export(args) -> int:
    from payerlint.x12.commands import export

    try:
        return export(args.files, args.apply_fixes, args.envelope, args.output, sys.stderr,
                      registry=_x12_registry(args))
    except (OSError, ValueError) as exc:
        print(f"payerlint export: {exc}", file=sys.stderr)
        return EXIT_USAGE
