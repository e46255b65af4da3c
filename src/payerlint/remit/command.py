"""`payerlint remit FILE.835... --claims FILE... [--format text|json|html] [-o FILE]`.

Exit codes: 0 the report was written; 1 the report was written and a remittance or
claims file had errors (a broken envelope, an unreadable record: the report names them);
2 usage errors (no such file, -o into a missing folder).
"""

from __future__ import annotations

import os
import sys
from typing import Any

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def add_command(commands: Any, home: Any) -> None:
    remit = commands.add_parser(
        "remit", parents=[home], help="measure every rule against the payer's remittances (835)",
        description="Read 835 remittances, match each claim payment and service line to the claims that were "
                    "checked, and report per rule (and payer and quarter) the hits, false alarms and misses, with "
                    "the money in each; denials no rule can predict are counted apart (docs/remit.md). Claims are "
                    "checked again by the rulebook in force on each date of service. Exit 0: report written; "
                    "1: written, but a file had errors; 2: usage errors.")
    remit.add_argument("remittances", nargs="+", metavar="FILE.835")
    remit.add_argument("--claims", nargs="+", required=True, metavar="FILE",
                       help="the claims that were sent (payerlint JSON, JSON Lines, FHIR or 837P), or saved results "
                            "of `payerlint check --format json|jsonl`")
    remit.add_argument("--format", choices=("text", "json", "html"), default="text")
    remit.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically)")
    remit.add_argument("--draft-after", type=int, default=2, metavar="N",
                       help="draft a rule for a missed denial (code and procedure) seen at least N times (default 2)")
    remit.set_defaults(run=run)


def run(args: Any) -> int:
    from payerlint.api import Router
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home
    from payerlint.output.atomic import OutputPathError, atomic_output
    from payerlint.payers.registry import Registry
    from payerlint.remit.run import build_report
    from payerlint.remit.writers import WRITERS

    missing = [p for p in [*args.remittances, *args.claims] if not os.path.exists(p)]
    if missing:
        print(f"payerlint remit: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    home = resolve_home(args.home)
    registry = Registry.load(home)
    router = Router(registry, Loader(home))
    outcome = build_report(args.remittances, args.claims, router, registry, draft_threshold=args.draft_after)
    text = WRITERS[args.format](outcome.report)
    try:
        if args.output:
            with atomic_output(args.output, inputs=[*args.remittances, *args.claims], what="report") as out:
                out.write(text)
        else:
            sys.stdout.write(text)
    except OutputPathError as exc:
        print(f"payerlint: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format != "text":
        for d in outcome.problems:
            if d.severity == "error":
                print(f"payerlint remit: {d.message}", file=sys.stderr)
    if not outcome.report["summary"]["claims_read"]:
        # Nothing to hold the remittances against: as `check` on a file with no claim, a
        # usage error, whatever the claims file's format.
        print(f"payerlint remit: no claim was read from {', '.join(args.claims)}: there is nothing to match the "
              "remittances to", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FOUND if outcome.report["remittances"]["errors"] or any(
        d.severity == "error" for d in outcome.problems) else EXIT_OK
