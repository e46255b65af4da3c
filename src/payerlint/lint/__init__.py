"""`payerlint lint`: warnings about rulebook content that compiles but is likely wrong.

Each warning is a `Diagnostic` with severity "warning", a stable code (the table
`CHECKS` below, which the SARIF output lists as its rules) and a note saying what to do.
Compile errors are not warnings: they are reported as errors and the command exits 2.

Only rulebooks and payer files are read, never claims: the SARIF output can go to a
code-scanning service without carrying patient data.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.lint.checks import check_rulebook, placeholder_reason, warn

# code -> (what it means, what to do). Stable: tools filter on these codes.
CHECKS = {
    "unused_declaration": ("A param, code set, phrase set, table or definition that nothing uses",
                           "Remove it, or use it in a rule."),
    "unused_binding": ("A rule's `with` that nothing in the rule reads", "Remove it, or use it."),
    "placeholder_citation": ("A citation or source that is empty or a placeholder (the scaffold's included)",
                             "Name the document a reader can check: title, section, date."),
    "condition_never_holds": ("A condition whose parts contradict each other, so the rule never fires",
                              "Check the values and code sets it names; perhaps 'or' was meant."),
    "number_differs_from_param": ("A rule title or message stating a number other than the param it reads",
                                  "Write {param} in the message, or correct the number."),
    "contradicting_fixes": ("An own rule and an inherited rule on the same codes whose fixes disagree",
                            "Disable or override the inherited rule, or make the fixes agree."),
    "payer_unit_method_differs": ("A payer file whose unit_method is not its rulebook's unit_method param",
                                  "Make the payer file and the rulebook agree."),
    "payer_base_differs": ("A payer whose rulebooks do not build on the base its type names in _types.toml",
                           "Extend the base of the payer's type, or correct the payer's type."),
    "payer_without_rulebooks": ("A payer file whose rulebook family has no rulebook",
                                "Write the family's first rulebook (payerlint payers new does)."),
    "code_not_in_icd10": ("An ICD-10-CM code (or prefix) that is not in the installed release",
                          "Check the code against the code set's source."),
    "icd10_not_billable": ("An ICD-10-CM category listed as a code: claims need its billable codes",
                           "Write the category as a prefix (M54.1*) or list its codes."),
    "code_shape": ("A code set member with the shape of no CPT, HCPCS, modifier or ICD-10-CM code",
                   "Correct the code."),
    "inherited_rule_not_adopted": ("A rulebook of a payer type that adopts its inherited rules "
                                   "(payers/_types.toml, adopts_inherited_rules) applying one it neither adopts nor "
                                   "disables",
                                   "Adopt it with the payer's source, or disable it with the reason."),
}


@dataclass
class Report:
    warnings: list[Diagnostic] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    rulebooks: list[str] = field(default_factory=list)
    payer_files: list[str] = field(default_factory=list)


def lint_paths(paths, home, loader=None) -> Report:
    """Lint rulebooks (files, folders, family@quarter) and payer files (.toml, folders).
    A loader may be passed to reuse rulebooks it has compiled already."""
    from payerlint.compile.loader import Loader

    loader = loader or Loader(home)
    report = Report()
    rulebook_files, payer_files = _gather(paths, home, loader, report)
    found: list[Diagnostic] = []
    compiled_by_path = {}
    for path in rulebook_files:
        compiled = _compile(loader, path, report)
        if compiled is None:
            continue
        compiled_by_path[path] = compiled
        report.rulebooks.append(compiled.id)
        from payerlint.syntax.parser import parse_file

        found += check_rulebook(compiled, parse_file(str(path)), _extenders(path, compiled, loader))
        known = {p.resolve() for p in payer_files}
        payer_files += [p for p in _payers_of(path, compiled.family, home) if p.resolve() not in known]
    for payer_file in payer_files:
        report.payer_files.append(str(payer_file))
        found += _check_payer(payer_file, home, loader, report)
    unique = {(d.code, d.span, d.message): d for d in found}
    report.warnings = sorted(unique.values(), key=Diagnostic.sort_key)
    return report


def _gather(paths, home, loader, report: Report) -> tuple[list[Path], list[Path]]:
    rulebooks: list[Path] = []
    payers: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            rulebooks += sorted(p for p in path.rglob("*.rules") if p.is_file())
            payers += sorted(p for p in path.rglob("*.toml") if p.parent.name == "payers" and not p.name.startswith("_"))
        elif path.is_file() and path.suffix == ".toml":
            payers.append(path)
        elif path.is_file():
            rulebooks.append(path)
        elif "@" in raw:
            from payerlint.payers.registry import rulebook_ref as _rulebook_ref

            ref = _rulebook_ref(home, raw)
            try:
                rulebooks.append(loader.path_of(ref))
            except DiagnosticError as exc:
                report.errors.extend(exc.diagnostics)
        else:
            report.errors.append(Diagnostic("file_unreadable", f"{raw}: no such file, folder or rulebook"))
    if not rulebooks and not payers and not report.errors:
        report.errors.append(Diagnostic("no_rulebooks", "nothing to lint: no *.rules or payer file in "
                                        + ", ".join(map(str, paths))))
    return _unique(rulebooks), _unique(payers)


def _unique(paths: list[Path]) -> list[Path]:
    seen: dict[Path, Path] = {}
    for path in paths:
        seen.setdefault(path.resolve(), path)
    return list(seen.values())


def _compile(loader, path: Path, report: Report):
    if not path.is_file():
        report.errors.append(Diagnostic("rulebook_not_found", f"no rulebook {path}"))
        return None
    try:
        return loader.load(str(path))
    except DiagnosticError as exc:
        report.errors.extend(exc.diagnostics)
        return None


def _tree_of(path: Path) -> Path | None:
    """The rulebook tree a rulebook file sits in (`<tree>/rulebooks/<family>/<quarter>.rules`)."""
    folder = path.resolve().parent.parent
    return folder.parent if folder.name == "rulebooks" else None


def _extenders(path: Path, compiled, loader) -> list:
    """The rulebooks of the same tree that build on this one (directly or through others),
    so a declaration only they use is not called unused."""
    tree = _tree_of(path)
    if tree is None:
        return []
    found = []
    for other in sorted((tree / "rulebooks").glob("*/*.rules")):
        if other.resolve() == path.resolve() or "extends" not in other.read_text(encoding="utf-8", errors="replace"):
            continue
        try:
            candidate = loader.load(str(other))
        except DiagnosticError:
            continue
        base = candidate.base
        while base is not None:
            if base.id == compiled.id and os.path.realpath(base.path) == os.path.realpath(compiled.path):
                found.append(candidate)
                break
            base = base.base
    return found


def _payers_of(path: Path, family: str, home) -> list[Path]:
    """Payer files (beside the rulebook's tree, or in the home tree) whose family this is."""
    from payerlint.home import payer_folders

    folders = []
    tree = _tree_of(path)
    if tree is not None:
        folders.append(tree / "payers")
    folders += payer_folders(home)
    found = []
    for folder in folders:
        for toml in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            if toml.name.startswith("_"):
                continue
            text = toml.read_text(encoding="utf-8", errors="replace")
            if re.search(rf'^\s*rulebook_family\s*=\s*"{re.escape(family)}"', text, re.M):
                found.append(toml)
        if found:
            break  # the nearest tree's payer files win
    return found


def _check_payer(path: Path, home, loader, report: Report) -> list[Diagnostic]:
    from payerlint.home import family_quarters, types_of
    from payerlint.payers.registry import _line_of, read_payer
    from payerlint.source import Span

    try:
        payer = read_payer(path)
    except DiagnosticError as exc:
        report.errors.extend(exc.diagnostics)
        return []
    text = path.read_text(encoding="utf-8")

    def at(key: str) -> Span:
        line = _line_of(text, key)
        return Span(str(path), line, 1, line, 1 + len(key))

    found = []
    for source in payer.sources:
        reason = placeholder_reason(source)
        if reason is not None:
            found.append(warn("placeholder_citation", f"a source of payer {payer.id} {reason}", at("sources"),
                              "name the payer policy or bulletin, with its date"))
    tree = path.resolve().parent.parent
    quarters = family_quarters(home, payer.rulebook_family, prefer=tree)
    if not quarters:
        return found + [warn("payer_without_rulebooks", f"payer {payer.id} names rulebook family "
                             f"{payer.rulebook_family}, which has no rulebook", at("rulebook_family"),
                             f"write rulebooks/{payer.rulebook_family}/<quarter>.rules, or correct rulebook_family")]
    bases = types_of(home, prefer=tree)
    adopts = bool(types_of(home, prefer=tree, table="adopts_inherited_rules").get(payer.type))
    for quarter, rulebook_path in quarters:
        compiled = _compile(loader, rulebook_path, report)
        if compiled is None:
            continue
        method = compiled.params.get("unit_method")
        if method is not None and method.value != payer.unit_method:
            found.append(warn("payer_unit_method_differs",
                              f"payer {payer.id} says unit_method = \"{payer.unit_method}\", but {compiled.id} uses "
                              f"\"{method.value}\"", at("unit_method"),
                              f"claims routed to {payer.id} get {method.value} units; change the payer file or "
                              f"write `override param unit_method = \"{payer.unit_method}\"` in the rulebook",
                              related=(method.origin.span,)))
        base = bases.get(payer.type)
        if base and base != payer.rulebook_family and base not in _families(compiled):
            found.append(warn("payer_base_differs",
                              f"payer {payer.id} is of type {payer.type}, whose rulebooks build on {base} "
                              f"(payers/_types.toml), but {compiled.id} does not extend {base}", at("type"),
                              f"extend {base}@{quarter}, or give the payer the type its rulebook is written for",
                              related=(compiled.header_span,) if compiled.header_span else ()))
        if adopts:
            silent = [r.id for r in compiled.rules
                      if r.origin.rulebook.split("@")[0] != compiled.family and compiled.id not in r.adopted_by]
            if silent:
                shown = ", ".join(silent[:4]) + (f" and {len(silent) - 4} more" if len(silent) > 4 else "")
                found.append(warn("inherited_rule_not_adopted",
                                  f"{compiled.id} applies {len(silent)} inherited rule{'s' if len(silent) != 1 else ''} "
                                  f"it neither adopts nor disables ({shown}): payers of type {payer.type} state which "
                                  f"of another payer's rules are theirs", compiled.header_span or at("rulebook_family"),
                                  "adopt each with the payer's source (adopt rule units.total cite \"...\"), or "
                                  "disable it with the reason (disable rule units.total because \"...\")"))
    return found


def _families(compiled) -> set[str]:
    found = set()
    base = compiled.base
    while base is not None:
        found.add(base.family)
        base = base.base
    return found


# ------------------------------------------------------------------ output


def write_text(report: Report, out: TextIO) -> None:
    for diagnostic in report.warnings:
        out.write(diagnostic.render() + "\n\n")
    count = len(report.warnings)
    checked = (f"{len(report.rulebooks)} rulebook{'s' if len(report.rulebooks) != 1 else ''}, "
               f"{len(report.payer_files)} payer file{'s' if len(report.payer_files) != 1 else ''} checked")
    out.write(f"{count} warning{'s' if count != 1 else ''}; {checked}\n" if count else f"no warnings; {checked}\n")


def _json(diagnostic: Diagnostic) -> dict:
    out = diagnostic.to_json()
    if diagnostic.span is not None:
        out["end_line"], out["end_column"] = diagnostic.span.end_line, diagnostic.span.end_column
    if diagnostic.related:
        out["related"] = [{"file": s.file, "line": s.line, "column": s.column} for s in diagnostic.related]
    return out


def write_json(report: Report, out: TextIO) -> None:
    data = {"rulebooks": report.rulebooks, "payer_files": report.payer_files,
            "warnings": [_json(d) for d in report.warnings]}
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _uri(file: str) -> str:
    path = Path(file)
    try:
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            return Path(relative).as_posix()
    except ValueError:
        pass
    return path.resolve().as_uri()


def _location(span) -> dict:
    return {"physicalLocation": {
        "artifactLocation": {"uri": _uri(span.file)},
        "region": {"startLine": span.line, "startColumn": span.column, "endLine": span.end_line,
                   "endColumn": max(span.end_column, span.column + 1) if span.end_line == span.line
                   else span.end_column}}}


def sarif(report: Report) -> dict:
    """SARIF 2.1.0: one run, the checks as rules, each warning as a result. Columns count
    code points, as payerlint does (columnKind)."""
    from payerlint import __version__

    codes = sorted(CHECKS)
    rules = [{"id": code, "name": "".join(w.title() for w in code.split("_")),
              "shortDescription": {"text": CHECKS[code][0]}, "help": {"text": CHECKS[code][1]},
              "defaultConfiguration": {"level": "warning"}} for code in codes]
    results = []
    for d in report.warnings:
        text = d.message + "".join(f"\n{note}" for note in d.notes)
        result = {"ruleId": d.code, "ruleIndex": codes.index(d.code) if d.code in CHECKS else -1,
                  "level": "warning", "message": {"text": text}}
        if result["ruleIndex"] < 0:
            del result["ruleIndex"]
        if d.span is not None:
            result["locations"] = [_location(d.span)]
        if d.related:
            result["relatedLocations"] = [dict(_location(s), id=i) for i, s in enumerate(d.related)]
        results.append(result)
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "payerlint", "version": __version__, "rules": rules}},
                      "columnKind": "unicodeCodePoints", "results": results}]}


def write_sarif(report: Report, out: TextIO) -> None:
    out.write(json.dumps(sarif(report), indent=2, ensure_ascii=False) + "\n")
