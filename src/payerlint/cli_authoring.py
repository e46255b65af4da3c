"""The authoring commands of the command line: `fmt`, `lint` and `graph`. A thin shell
over `syntax.format`, `lint` and `compile.graph`, registered by `cli.build_parser`.

Exit codes as everywhere: 0 all is well; 1 the command found something (a file that
would change, a warning); 2 usage errors, unreadable files, rulebooks that do not parse
or compile.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from payerlint.diagnostics import Diagnostic, DiagnosticError

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def add_commands(commands, home: argparse.ArgumentParser) -> None:
    fmt = commands.add_parser(
        "fmt", help="rewrite rulebooks in the one canonical layout",
        description="Rewrite each rulebook (a .rules file, or every *.rules file below a folder) in the canonical "
                    "layout. Comments stay where they were written; the meaning never changes. '-' formats "
                    "standard input to standard output.")
    fmt.add_argument("paths", nargs="+", metavar="PATH")
    fmt.add_argument("--check", action="store_true",
                     help="change nothing; list the files that would change and exit 1 if there are any")
    fmt.set_defaults(run=_fmt)

    lint = commands.add_parser(
        "lint", parents=[home], help="warn about rulebook content that compiles but is likely wrong",
        description="Warnings about rulebooks (a .rules file, family@quarter, or a folder) and the payer files "
                    "of their families: unused declarations, placeholder citations, conditions that can never "
                    "hold, numbers in titles that differ from the params, contradicting fixes, payer files "
                    "that disagree with their rulebooks, codes that are not valid. Each warning has a stable "
                    "code and says what to do.")
    lint.add_argument("paths", nargs="+", metavar="PATH|FAMILY@QUARTER")
    lint.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    lint.set_defaults(run=_lint)

    graph = commands.add_parser(
        "graph", parents=[home], help="the dependency graph of a rulebook (dot, mermaid or json)",
        description="Print what feeds what in a compiled rulebook: params, code sets, phrase sets, tables, "
                    "definitions and rules, each marked as this rulebook's own, inherited from a base, or "
                    "overriding one. json is networkx node-link data.")
    graph.add_argument("path", metavar="PATH|FAMILY@QUARTER")
    graph.add_argument("--format", choices=("dot", "mermaid", "json"), default="mermaid")
    graph.set_defaults(run=_graph)


def rulebook_files(paths) -> tuple[list[Path], list[Diagnostic]]:
    """Each path as given, a folder as every *.rules file below it (sorted)."""
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.rules") if p.is_file())
            if not inside:
                problems.append(Diagnostic("no_rulebooks", f"{raw}: no *.rules file in this folder"))
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            problems.append(Diagnostic("file_unreadable", f"{raw}: not a regular file (a pipe, device or socket)"))
        else:
            problems.append(Diagnostic("file_unreadable", f"{raw}: no such file or folder"))
    return found, problems


# ------------------------------------------------------------------ fmt


def _fmt(args) -> int:
    from payerlint.source import SourceFile
    from payerlint.syntax.format import format_source

    if args.paths == ["-"]:
        text = sys.stdin.read()
        try:
            formatted = format_source(text, "<stdin>")
        except DiagnosticError as exc:
            print(exc.render(), file=sys.stderr)
            return EXIT_USAGE
        if args.check:
            return EXIT_FOUND if formatted != text else EXIT_OK
        sys.stdout.write(formatted)
        return EXIT_OK
    files, problems = rulebook_files(args.paths)
    status = EXIT_OK
    changed = 0
    for path in files:
        try:
            source = SourceFile.read(path)
            formatted = format_source(source.text, str(path))
        except (OSError, UnicodeDecodeError) as exc:
            from payerlint.source import unreadable

            problems.append(Diagnostic("file_unreadable", f"cannot read {path}: {unreadable(path, exc)}"))
            continue
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            continue
        if formatted == source.text:
            continue
        changed += 1
        if args.check:
            print(f"{path}: would be reformatted")
            status = EXIT_FOUND
        else:
            _write(path, formatted)
            print(f"{path}: reformatted")
    for problem in problems:
        print(problem.render(), file=sys.stderr)
    if not args.check and not problems:
        print(f"{len(files)} rulebook{'s' if len(files) != 1 else ''} checked, {changed} reformatted")
    return EXIT_USAGE if problems else status


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, so an interrupted run never leaves half a rulebook; a
    symbolic link is written through (the file it names is formatted, the link stays)."""
    path = Path(os.path.realpath(path))
    folder = path.parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temporary, os.stat(path).st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# ------------------------------------------------------------------ lint


def _lint(args) -> int:
    from payerlint.home import resolve_home
    from payerlint.lint import lint_paths, write_json, write_sarif, write_text

    report = lint_paths(args.paths, resolve_home(args.home))
    if report.errors and not (report.rulebooks or report.payer_files):
        for problem in report.errors:
            print(problem.render(), file=sys.stderr)
        return EXIT_USAGE
    if args.format == "json":
        write_json(report, sys.stdout)
    elif args.format == "sarif":
        write_sarif(report, sys.stdout)
    else:
        write_text(report, sys.stdout)
    if report.errors:
        for problem in report.errors:
            print(problem.render(), file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FOUND if report.warnings else EXIT_OK


# ------------------------------------------------------------------ graph


def _graph(args) -> int:
    from payerlint.payers.registry import rulebook_ref as _rulebook_ref
    from payerlint.compile.graph import to_dot, to_json, to_mermaid
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home

    home = resolve_home(args.home)
    compiled = Loader(home).load(_rulebook_ref(home, args.path))
    writer = {"dot": to_dot, "mermaid": to_mermaid, "json": to_json}[args.format]
    sys.stdout.write(writer(compiled))
    return EXIT_OK
