"""`payerlint convert` and `payerlint export`: the X12 commands, called from cli.py.

convert FILE... --to json|jsonl [--sources]
    Print each 837P claim as payerlint read it, in the claim schema's shape (so it can
    be piped to `payerlint check -`), including claims whose content will fail checking.
    With --sources, each claim comes with where each value was read and what was found
    wrong. Problems go to standard error. Exit 0: every claim read cleanly; 1: a claim
    has an error; 2: a file, envelope or transaction could not be read.

export --format 837p FILE... [--apply-fixes RESULTS] [--envelope SETTINGS.toml] [-o OUT]
    Write claims (payerlint JSON, or 837P files) as one 837P interchange, after applying
    each claim's combined fix from saved `payerlint check --format jsonl` results (matched
    by claim_id). Each applied fix is also told as 837P edits on standard error.
    Exit 0: every claim written; 1: a claim was left out (reported); 2: usage errors.
"""

from __future__ import annotations

import io
import json
import sys
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import TextIO

from payerlint.x12.claims837 import read_837p
from payerlint.x12.fixes import PatchError, apply_fix, translate_fix
from payerlint.x12.writer837 import Address, Party, WriterSettings, write_837p

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def convert(paths: list[str], to: str, sources: bool, out: TextIO, err: TextIO, registry=None) -> int:
    status = EXIT_OK
    first = True
    if to == "json":
        out.write("[")
    for path in paths:
        for record in read_837p(path, path, **({"registry": registry} if registry is not None else {})):
            for d in record.errors:
                err.write(f"{record.origin}: {d.render()}\n")
            if record.data is None:
                if any(d.severity == "error" for d in record.errors):
                    status = EXIT_USAGE
                continue
            if not record.ok:
                status = max(status, EXIT_FOUND)
            value: object = record.data
            if sources:
                value = {"origin": record.origin, "claim": record.data,
                         "sources": {p: r.to_json() for p, r in record.sources.items()},
                         "errors": [d.to_json() for d in record.errors]}
            text = json.dumps(value, ensure_ascii=False)
            if to == "json":
                out.write(("\n  " if first else ",\n  ") + text)
            else:
                out.write(text + "\n")
            first = False
    if to == "json":
        out.write("\n]\n" if not first else "]\n")
    return status


# --- export ------------------------------------------------------------------------


def is_x12(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            head = stream.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return head.startswith(b"ISA")


def export(paths: list[str], fixes_path: str | None, envelope: str | None, output: str | None,
           err: TextIO, registry=None) -> int:
    from payerlint.claims.reader import read_records

    from payerlint.output.atomic import OutputPathError, output_target

    inputs = [*paths, *(p for p in (fixes_path, envelope) if p)]
    if output is not None:
        try:
            output_target(output, inputs, "837P file")
        except OutputPathError as exc:
            err.write(f"payerlint: {exc}\n")
            return EXIT_USAGE
    settings = load_settings(envelope) if envelope else WriterSettings()
    fixes, fix_problems = _load_fixes(fixes_path) if fixes_path else ({}, [])
    for message in fix_problems:
        err.write(message + "\n")
    if fix_problems and not fixes:
        return EXIT_USAGE
    status = EXIT_OK
    claims: list[dict] = []
    origins: list[str] = []
    for path in paths:
        if is_x12(path):
            for record in read_837p(path, path, **({"registry": registry} if registry is not None else {})):
                if record.data is not None and record.ok:
                    claims.append(record.data)
                    origins.append(record.origin)
                else:
                    status = EXIT_FOUND if record.data is not None else EXIT_USAGE
                    for d in record.errors:
                        if d.severity == "error":
                            err.write(f"{record.origin}: not exported: {d.render()}\n")
        else:
            for record in read_records([path]):
                if record.data is None:
                    err.write(f"{record.origin}: {record.error.render() if record.error else 'unreadable'}\n")
                    status = EXIT_USAGE
                    continue
                claims.append(record.data)
                origins.append(record.origin)
    used: set[str] = set()
    for index, claim in enumerate(claims):
        claim_id = claim.get("claim_id")
        ops = fixes.get(claim_id) if isinstance(claim_id, str) else None
        if not ops:
            continue
        try:
            edits = translate_fix(claim, ops)
            claims[index] = apply_fix(claim, ops)
        except PatchError as exc:
            err.write(f"{origins[index]}: the fix for this claim does not apply ({exc}); exported unchanged\n")
            status = max(status, EXIT_FOUND)
            continue
        used.add(claim_id)
        err.write(f"{origins[index]}: fix applied; in the 837P:\n")
        for edit in edits:
            err.write(f"  {edit}\n")
    unmatched = len(set(fixes) - used)
    if unmatched:
        err.write(f"{fixes_path}: {unmatched} result(s) with a fix match no exported claim by claim_id; "
                  "those fixes were not applied\n")
        status = max(status, EXIT_FOUND)
    buffer = io.StringIO()
    problems = write_837p(claims, buffer, settings, registry=registry)
    for problem in problems:
        err.write(f"{origins[problem.index]}: {problem.severity}: {problem.message}\n")
        if problem.severity == "error":
            status = max(status, EXIT_FOUND)
    if settings.billing_name == WriterSettings().billing_name:
        err.write("note: the claim model holds no names, addresses or tax ids; the 837P's submitter, receiver, "
                  "billing provider and subscriber names are placeholders (set them with --envelope FILE.toml), "
                  f"and ISA15 is '{settings.usage}'\n")
    written = len(claims) - len({p.index for p in problems if p.severity == "error"})
    if written == 0:
        # An interchange with no claim is no use to a clearinghouse, and would replace a
        # file that may hold one: nothing is written.
        err.write("payerlint export: no claim could be written, so no 837P file was written\n")
        return max(status, EXIT_FOUND)
    _write(output, buffer.getvalue(), inputs)
    return status


def _load_fixes(path: str) -> tuple[dict[str, list[dict]], list[str]]:
    """claim_id -> the result's combined fix, from saved `check` results (JSON or JSON Lines)."""
    from payerlint.claims.reader import read_records

    found: dict[str, list[dict]] = {}
    seen: dict[str, int] = {}
    problems: list[str] = []
    for record in read_records([path]):
        if record.data is None:
            problems.append(f"{record.origin}: {record.error.render() if record.error else 'unreadable'}")
            continue
        claim_id, fix = record.data.get("claim_id"), record.data.get("fix")
        if not isinstance(claim_id, str) or not isinstance(fix, list) or not fix:
            continue
        seen[claim_id] = seen.get(claim_id, 0) + 1
        found[claim_id] = fix
    for claim_id, count in seen.items():
        if count > 1:
            problems.append(f"{path}: {count} results with a fix share one claim_id; their fixes are not applied "
                            "(a claim id must name one claim)")
            del found[claim_id]
    return found, problems


def load_settings(path: str) -> WriterSettings:
    """WriterSettings from a TOML file: top-level keys named like WriterSettings' fields, plus
    `submitter_name`, `submitter_id`, `receiver_name` and `[billing_address]`."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    base = WriterSettings()
    known = {f.name for f in fields(WriterSettings)}
    simple = {k: v for k, v in data.items() if k in known and k not in ("submitter", "receiver", "billing_address")}
    settings = replace(base, **simple)
    if "submitter_name" in data or "submitter_id" in data:
        settings = replace(settings, submitter=Party(data.get("submitter_name", base.submitter.name),
                                                     data.get("submitter_id", base.submitter.id)))
    if "receiver_name" in data:
        settings = replace(settings, receiver=Party(data["receiver_name"], data.get("receiver_id", base.receiver.id)))
    if isinstance(data.get("billing_address"), dict):
        settings = replace(settings, billing_address=Address(**data["billing_address"]))
    unknown = sorted(set(data) - known - {"submitter_name", "submitter_id", "receiver_name"})
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return settings


def _write(output: str | None, text: str, inputs: list[str]) -> None:
    from payerlint.output.atomic import atomic_output

    if output is None:
        sys.stdout.write(text)
        return
    # Beside the target and renamed, so an interrupted run never leaves half a file; only
    # a regular file (or a new name) is replaced (output/atomic.py).
    with atomic_output(output, inputs, encoding="latin-1", what="837P file") as stream:
        stream.write(text)
