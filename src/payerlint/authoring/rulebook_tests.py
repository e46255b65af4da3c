"""`payerlint test`: run the test cases compliance leads write beside their rulebooks.

    rulebooks/<family>/<quarter>.rules       the rulebooks
    rulebooks/<family>/tests/*.toml          test files (testfile.py says what is in one)
    rulebooks/<family>/tests/claims/*.json   base claims the cases patch

A test file applies to every quarter of its family unless it lists `quarters`, so a new
quarter started with `payerlint quarter new` is held to the same cases at once; a case
the new quarter changes on purpose is narrowed with its own `quarters`.

Each case runs against each rulebook it applies to, through the public API (`Loader`,
`Checker`). Param and table overrides (like OPA's `with`) compile a small rulebook that
extends the one under test with `override` declarations: the compiler checks the
overrides exactly as it checks a lead's own (types, `one of` choices, table columns), and
the base stays compiled once; each distinct set of overrides compiles once per run.

Coverage counts what the cases assert, not what happens to be quiet: a rule is *made
to fire* when a passing case lists it in `fires`, and *kept quiet* when a passing case
lists it in `quiet`. A clean claim keeps every rule quiet without saying anything about
any of them; a case that names a rule in `quiet` is a near miss its author chose.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payerlint.api import INPUT_RULES, Checker
from payerlint.authoring.testfile import Case, read_test_file, toml_literal
from payerlint.claims.validate import ClaimValidator
from payerlint.compile.loader import Loader
from payerlint.compile.rulebook import CompiledRulebook
from payerlint.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from payerlint.quarter import Quarter, quarters_in
from payerlint.source import Span

# Rule ids a finding can carry that no rulebook declares: claim-reading problems.
INPUT_RULE_IDS = frozenset(INPUT_RULES.values()) | {"input.schema", "input.json", "input.file"}


def _outside(path: str, rulebook: str, span) -> bool:
    """Whether a case's table file is outside both the tree of the rulebook under test and
    the folder of the test file that names it (symbolic links followed)."""
    from payerlint.compile.declarations import outside_tree

    test_folder = os.path.dirname(span.file) if span is not None and span.file else "."
    return (outside_tree(path, os.path.dirname(rulebook)) is not None
            and outside_tree(path, test_folder) is not None)


@dataclass
class Run:
    """One case checked against one rulebook."""

    case: Case
    rulebook: str
    status: str
    """pass, fail or error."""
    problems: list[str] = field(default_factory=list)
    """What differs from what the case expects, one sentence each."""
    details: list[tuple[str, list[str]]] = field(default_factory=list)
    """(heading, what the rule read) for each rule the problems concern."""
    actual: dict | None = None
    errors: list[Diagnostic] = field(default_factory=list)


@dataclass
class Coverage:
    rulebook: str
    rules: tuple[str, ...]
    fired: set[str] = field(default_factory=set)
    quiet: set[str] = field(default_factory=set)
    cases: int = 0

    @property
    def percent(self) -> float:
        if not self.rules:
            return 100.0
        return 100.0 * (len(self.fired & set(self.rules)) + len(self.quiet & set(self.rules))) / (2 * len(self.rules))

    @property
    def never_fired(self) -> list[str]:
        return [r for r in self.rules if r not in self.fired]

    @property
    def never_quiet(self) -> list[str]:
        return [r for r in self.rules if r not in self.quiet]


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    """Problems outside any one case: paths, test files, rulebooks that do not compile."""
    coverage: dict[str, Coverage] = field(default_factory=dict)
    fail_under: float | None = None

    @property
    def passed(self) -> int:
        return sum(1 for r in self.runs if r.status == "pass")

    @property
    def failed(self) -> int:
        return len(self.runs) - self.passed

    @property
    def under(self) -> list[Coverage]:
        if self.fail_under is None:
            return []
        return [c for c in self.coverage.values() if c.percent + 1e-9 < self.fail_under]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(r.status == "error" for r in self.runs)

    def exit_code(self) -> int:
        """2 when a test file, a path or a rulebook has an error; 1 when a case fails, no case
        was found, or coverage is under --fail-under; else 0."""
        if self.has_errors:
            return 2
        if not self.runs or self.failed or self.under:
            return 1
        return 0


# ------------------------------------------------------------------ what to run


@dataclass
class _Family:
    folder: Path
    quarters: set[str] | None = None
    """The rulebooks under test; None: every quarter."""
    files: set[Path] = field(default_factory=set)
    """Test files named on the command line; empty: every file in tests/."""


def _is_family(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.rules"))


def discover(paths: list[str], loader: Loader) -> tuple[dict[Path, _Family], list[Diagnostic]]:
    """Families to test, with the quarters and files the paths name.

    A path may be a test file, a family's folder (or its tests/ folder), a `.rules` file,
    `family@quarter`, or a folder of families (`rulebooks`, or a tree holding one)."""
    families: dict[Path, _Family] = {}
    errors: list[Diagnostic] = []

    def family(folder: Path) -> _Family:
        folder = folder.resolve()
        return families.setdefault(folder, _Family(folder, set(), set()))

    for raw in paths:
        path = Path(raw)
        if not path.exists() and "@" in raw:
            try:
                path = loader.path_of(raw)
            except DiagnosticError as exc:
                errors.extend(exc.diagnostics)
                continue
        if path.is_file() and path.suffix == ".rules":
            entry = family(path.parent)
            if entry.quarters is not None:
                entry.quarters.add(path.stem)
        elif path.is_file() and path.suffix == ".toml" and path.parent.name == "tests":
            entry = family(path.parent.parent)
            entry.files.add(path.resolve())
            entry.quarters = None
        elif path.is_dir() and path.name == "tests" and _is_family(path.parent):
            family(path.parent).quarters = None
        elif _is_family(path):
            family(path).quarters = None
        elif path.is_dir() and (path / "rulebooks").is_dir() and not any(_is_family(p) for p in path.iterdir()):
            for folder in sorted((path / "rulebooks").iterdir()):
                if _is_family(folder):
                    family(folder).quarters = None
        elif path.is_dir() and any(_is_family(p) for p in path.iterdir()):
            for folder in sorted(path.iterdir()):
                if _is_family(folder):
                    family(folder).quarters = None
        elif path.exists():
            errors.append(Diagnostic("test_bad_path", f"{raw} is neither a rulebook, a test file nor a folder of them",
                                     notes=("test files are rulebooks/<family>/tests/*.toml",)))
        else:
            errors.append(Diagnostic("test_bad_path", f"{raw} does not exist"))
    for entry in families.values():
        if entry.quarters is not None and not entry.quarters:
            entry.quarters = None
    return families, errors


# ------------------------------------------------------------------ running


class Runner:
    def __init__(self, loader: Loader):
        self.loader = loader
        self.validator = ClaimValidator()
        self._compiled: dict[Path, CompiledRulebook | DiagnosticError] = {}
        self._overlays: dict[tuple, CompiledRulebook | list[Diagnostic]] = {}
        self._checkers: dict[int, Checker] = {}
        self._workdir: Path | None = None
        self._reported: set[Path] = set()

    def close(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def run(self, paths: list[str], fail_under: float | None = None) -> Report:
        report = Report(fail_under=fail_under)
        families, report.errors = discover(paths, self.loader)
        claims: dict = {}
        for folder in sorted(families):
            self._run_family(families[folder], report, claims)
        report.errors.sort(key=Diagnostic.sort_key)
        return report

    def _run_family(self, entry: _Family, report: Report, claims: dict) -> None:
        available = {str(q): entry.folder / f"{q}.rules" for q in quarters_in(entry.folder)}
        if not available:
            # Tests with no rulebook beside them: a team tree testing a family it takes
            # from the bundled tree underneath, as the home resolves it.
            available = {str(q): path for q, path in self.loader.home.quarters_of(entry.folder.name)}
        files = sorted(entry.files) or sorted((entry.folder / "tests").glob("*.toml"))
        under_test = set(available) if entry.quarters is None else set(entry.quarters)
        if entry.files:
            under_test = set()   # only what the named files apply to
        for quarter in sorted(under_test):
            self._coverage(available[quarter], report)
        for path in files:
            test_file = read_test_file(path, claims)
            report.errors.extend(test_file.errors)
            if any(d.code == "test_bad_toml" or d.code == "test_file_unreadable" for d in test_file.errors):
                continue
            file_quarters = self._quarters(test_file.quarters, available, entry.folder.name, report.errors)
            for case in test_file.cases:
                quarters = file_quarters
                if case.quarters is not None:
                    case_errors: list[Diagnostic] = []
                    narrowed = self._quarters(case.quarters, available, entry.folder.name, case_errors)
                    if case_errors:
                        report.runs.append(Run(case, entry.folder.name, "error", errors=case_errors))
                        continue
                    quarters = [q for q in quarters if q in narrowed]
                if not entry.files:
                    quarters = [q for q in quarters if q in under_test]
                if not quarters and case.errors:
                    # A case whose every quarter is malformed (`["2026-Q4"]`) runs nowhere;
                    # its errors are still a result, not a case that silently vanishes.
                    report.runs.append(Run(case, entry.folder.name, "error", errors=list(case.errors)))
                    continue
                for quarter in quarters:
                    coverage = self._coverage(available[quarter], report)
                    run = self._run_case(case, available[quarter], report)
                    report.runs.append(run)
                    if coverage is not None and run.status == "pass":
                        coverage.cases += 1
                        coverage.fired.update(f.rule.value for f in case.fires)
                        coverage.quiet.update(q.value for q in case.quiet)

    def _quarters(self, listed, available: dict, family: str, errors: list) -> list[str]:
        if listed is None:
            return sorted(available, key=Quarter.parse)
        out = []
        for quarter in listed:
            if quarter.value in available:
                out.append(quarter.value)
            else:
                errors.append(Diagnostic("test_no_rulebook", f"there is no rulebook {family}@{quarter.value}",
                                         span=quarter.span,
                                         notes=(f"{family} has: " + ", ".join(sorted(available, key=Quarter.parse)),)))
        return out

    def _compile(self, path: Path) -> CompiledRulebook | DiagnosticError:
        if path not in self._compiled:
            try:
                self._compiled[path] = self.loader.load(str(path))
            except DiagnosticError as exc:
                self._compiled[path] = exc
        return self._compiled[path]

    def _coverage(self, path: Path, report: Report) -> Coverage | None:
        compiled = self._compile(path)
        if isinstance(compiled, DiagnosticError):
            if path not in self._reported:
                self._reported.add(path)
                report.errors.append(Diagnostic("test_rulebook_does_not_compile",
                                                f"{path} does not compile; its cases were not run",
                                                notes=tuple(d.render() for d in compiled.diagnostics)))
            return None
        if compiled.id not in report.coverage:
            report.coverage[compiled.id] = Coverage(compiled.id, tuple(sorted(r.id for r in compiled.rules)))
        return report.coverage[compiled.id]

    # -- one case

    def _run_case(self, case: Case, path: Path, report: Report) -> Run:
        compiled = self._compile(path)
        rulebook_id = f"{path.parent.name}@{path.stem}"
        if isinstance(compiled, DiagnosticError):
            return Run(case, rulebook_id, "error", problems=["the rulebook does not compile"])
        rulebook_id = compiled.id
        if case.errors:
            return Run(case, rulebook_id, "error", errors=list(case.errors))
        errors = self._check_rule_ids(case, compiled)
        if errors:
            return Run(case, rulebook_id, "error", errors=errors)
        checked = self._with_overrides(case, compiled)
        if isinstance(checked, list):
            return Run(case, rulebook_id, "error", errors=checked)
        checker = self._checkers.setdefault(id(checked), Checker(checked, validator=self.validator))
        result = checker.check(case.claim)
        run = Run(case, rulebook_id, "pass", actual=_actual(result))
        problems = compare(case, result)
        if problems:
            run.status = "fail"
            run.problems = [text for _rule, text in problems]
            run.details = self._explain(case, checked, result, {rule for rule, _ in problems if rule})
        return run

    def _check_rule_ids(self, case: Case, compiled: CompiledRulebook) -> list[Diagnostic]:
        known = {r.id for r in compiled.rules}
        disabled = {d.rule_id: d for d in compiled.disabled}
        named = [f.rule for f in case.fires] + list(case.quiet) + [s.rule for s in case.not_evaluated or () if s.rule]
        errors = []
        for rule in named:
            if rule.value in known or rule.value in INPUT_RULE_IDS:
                continue
            if rule.value in disabled:
                reason = disabled[rule.value].reason
                errors.append(Diagnostic("test_unknown_rule", f"rule {rule.value} is disabled in {compiled.id}"
                                         + (f" ({reason})" if reason else ""), span=rule.span,
                                         notes=("narrow the case with quarters = [...] or drop the rule from it",)))
                continue
            hint = did_you_mean(rule.value, known)
            errors.append(Diagnostic("test_unknown_rule", f"{compiled.id} has no rule {rule.value}", span=rule.span,
                                     notes=(hint or "`payerlint compile --rules " + compiled.path + "` lists them",)))
        return errors

    # -- overrides (OPA's `with`)

    def _with_overrides(self, case: Case, compiled: CompiledRulebook) -> CompiledRulebook | list[Diagnostic]:
        if not case.params and not case.tables:
            return compiled
        key = (compiled.path, tuple((p.value[0], repr(p.value[1])) for p in case.params),
               tuple((t.name, t.path, t.text) for t in case.tables))
        if key not in self._overlays:
            self._overlays[key] = self._compile_overlay(case, compiled)
        return self._overlays[key]

    def _compile_overlay(self, case: Case, compiled: CompiledRulebook) -> CompiledRulebook | list[Diagnostic]:
        errors: list[Diagnostic] = []
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="payerlint-test-"))
        number = len(self._overlays)
        lines = [f'rulebook {compiled.family} "{_escape(compiled.title)}"']
        if compiled.quarter is not None:
            lines.append(f"  quarter {compiled.quarter}")
        lines.append(f'  extends "{_escape(compiled.path)}"')
        where: dict[int, Span] = {}
        csv_files: dict[str, tuple[Span, int]] = {}
        copies: dict[str, str] = {}
        for located in case.params:
            name, value = located.value
            param = compiled.params.get(name)
            if param is None:
                hint = did_you_mean(name, compiled.params)
                errors.append(Diagnostic("test_unknown_param", f"{compiled.id} has no param {name}", span=located.span,
                                         notes=(hint or "params: " + ", ".join(compiled.params),)))
                continue
            value = toml_literal(value)
            literal = f'"{_escape(value)}"' if param.type.name == "text" and isinstance(value, str) else str(value)
            where[len(lines) + 1] = located.span
            lines.append(f"override param {name} = {literal}")
        for override in case.tables:
            table = compiled.tables.get(override.name)
            if table is None:
                hint = did_you_mean(override.name, compiled.tables)
                errors.append(Diagnostic("test_unknown_table", f"{compiled.id} has no table {override.name}",
                                         span=override.span, notes=(hint or "tables: " + ", ".join(compiled.tables),)))
                continue
            path = override.path
            if override.text is not None:
                path = str(self._workdir / f"table-{number}-{override.name}.csv")
                Path(path).write_text(override.text, encoding="utf-8")
                csv_files[path] = (override.span, override.text_line)
            elif path is not None and _outside(path, compiled.path, override.span):
                # The same rule as a rulebook's own tables: nothing outside is opened.
                errors.append(Diagnostic("table_outside_tree", f"table file {override.path} is outside the rulebook "
                                         "tree and the test file's folder", span=override.span,
                                         notes=("a test's table is a CSV file beside the test file or in the "
                                                "rulebook tree, such as \"fixtures/ncci_ptp.csv\"",)))
                continue
            elif path is not None and Path(path).is_file():
                # The overlay lives in a scratch folder, and a rulebook reads tables only
                # from its own tree: it reads a copy, and errors name the original file.
                copy = str(self._workdir / f"table-{number}-{override.name}.csv")
                shutil.copyfile(path, copy)
                copies[copy] = path
                path = copy
            keys = [c.name for c in table.keys]
            where[len(lines) + 1] = override.span
            lines.append(f'override table {override.name} "{_escape(table.label or override.name)}" '
                         f'from "{_escape(path)}"')
            lines.append("  key " + ", ".join(f"{c.name}: {c.type.name}" for c in table.keys))
            rest = [c for c in table.columns if c.name not in keys]
            if rest:
                lines.append("  columns " + ", ".join(f"{c.name}: {c.type.name}" + (" optional" if c.optional else "")
                                                      for c in rest))
        if errors:
            return errors
        overlay = self._workdir / f"overrides-{number}.rules"
        overlay.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            # Compiled directly, not through the loader: an overlay lives in a scratch
            # folder that is gone after the run, so a disk-cache entry would never be hit.
            from payerlint.compile.pipeline import compile_path

            return compile_path(str(overlay), self.loader)
        except DiagnosticError as exc:
            return [_mapped(d, str(overlay), where, csv_files, copies) for d in exc.diagnostics]

    # -- explanations for a failing case

    def _explain(self, case: Case, compiled: CompiledRulebook, result, rules: set[str]) -> list[tuple[str, list[str]]]:
        """What each rule a problem names read: for a finding, the explanation `check
        --explain` gives; for a rule that did not fire, its traced reads."""
        if result.verdict == "error" and any(f.category == "input" for f in result.findings):
            return []
        explained = Checker(compiled, explain=True, validator=self.validator).check(case.claim)
        out = []
        for finding in explained.findings:
            if finding.rule in rules and finding.explanation is not None:
                out.append((f"{finding.rule} on {_place(finding.line)} used", explanation_lines(finding.explanation)))
        fired = {f.rule for f in result.findings}
        for firing in case.fires:
            rule = firing.rule.value
            if rule in rules and rule not in fired and compiled.rule(rule) is not None:
                line = firing.line - 1 if firing.line else None
                reads = trace(compiled, case.claim, rule, line)
                out.append((f"{rule} did not fire; it read", explanation_lines(reads)))
                out.extend(condition_report(compiled, case.claim, rule, line))
        return out


def condition_report(compiled: CompiledRulebook, data: dict, rule_id: str,
                     line: int | None) -> list[tuple[str, list[str]]]:
    """Where a rule's condition stopped, for each instance the case is about (up to three):
    each part of its `and`, as the rulebook writes it, and whether it held. It names a
    missing value by its JSON pointer and shows no claim values."""
    from payerlint.claims.model import Claim
    from payerlint.evaluate.engine import condition_steps
    from payerlint.evaluate.prepare import prepare

    scope = compiled.rule(rule_id).scope
    sources: dict[str, list[str] | None] = {}
    out = []
    try:
        found = condition_steps(prepare(compiled), Claim(data), rule_id, line)
    except Exception as exc:  # noqa: BLE001 - an aid to the report: it never ends the run
        return [(f"{rule_id}: its condition could not be shown", [f"{type(exc).__name__} while evaluating it"])]
    for initial, steps in found:
        shown = []
        for step in steps:
            text = _written(step.span, sources)
            if step.outcome == "unknown":
                said = (f"not known: the claim has no {step.detail}" if step.detail.startswith("/")
                        else f"no data ({step.detail}): it cannot hold")
            elif step.unless:
                # The part is `not (unless)`: it holds when the unless does not.
                said = "does not hold" if step.outcome == "yes" else "holds, so the rule does not fire"
            else:
                said = "holds" if step.outcome == "yes" else "does not hold, so the rule does not fire"
            shown.append(f"{'unless ' if step.unless else ''}{text}: {said}")
        out.append((f"{rule_id}: its condition on {_instance(scope, initial)}", shown))
    if not out and scope != "claim":
        missing = (f"no line {line + 1}" if scope == "line" else f"no {scope} whose finding names line {line + 1}"
                   ) if line is not None else f"no {scope}"
        out.append((f"{rule_id}: its condition was not tried", [
            f"the rule runs for each {scope}, and this claim has {missing} to try it on"
            + (" (a pair is two lines)" if scope == "pair" else "")]))
    return out


def _instance(scope: str, initial: tuple) -> str:
    if scope == "line":
        return _place(initial[1]["index"])
    if scope == "pair":
        return f"the pair of line {initial[1]['index'] + 1} and line {initial[2]['index'] + 1}"
    if scope == "date":
        return f"the date {initial[1].isoformat()}"
    if scope == "code":
        return f"{initial[1]} on {initial[2].isoformat()}"
    return "the claim"


def _written(span, sources: dict[str, list[str] | None]) -> str:
    """A part of a condition as its rulebook writes it (spaces folded), or where it is."""
    if span.file not in sources:
        try:
            sources[span.file] = Path(span.file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            sources[span.file] = None
    lines = sources[span.file]
    if lines is None or span.end_line > len(lines):
        return f"the part at {span}"
    if span.line == span.end_line:
        text = lines[span.line - 1][span.column - 1:span.end_column - 1]
    else:
        text = "\n".join([lines[span.line - 1][span.column - 1:], *lines[span.line:span.end_line - 1],
                          lines[span.end_line - 1][:span.end_column - 1]])
    return " ".join(text.split()) or f"the part at {span}"


def trace(compiled: CompiledRulebook, data: dict, rule_id: str, line: int | None) -> dict:
    """Everything a rule read on a claim, fired or not, in the shape `--explain` gives.

    Beyond the public checking API: the engine's tracer, the one the quarter diff's
    replay uses to attribute a changed outcome."""
    from payerlint.claims.model import Claim
    from payerlint.evaluate.engine import summarize, trace_rule
    from payerlint.evaluate.prepare import prepare

    return summarize(trace_rule(prepare(compiled), Claim(data), rule_id, line), compiled)


def explanation_lines(explanation: dict) -> list[str]:
    """What a rule read, one phrase each, in the words `check --explain` prints."""
    from payerlint.output.text import explained

    return explained(explanation) or ["nothing from params, definitions, tables or code sets (only the claim's own values)"]


# ------------------------------------------------------------------ comparing


def _place(line: int | None) -> str:
    return "the claim" if line is None else f"line {line + 1} (/lines/{line})"


def _shown(finding) -> str:
    return f"{finding.rule} {finding.severity} on {_place(finding.line)}: {finding.message}"


def compare(case: Case, result) -> list[tuple[str | None, str]]:
    """What differs between a case's expectations and a result: (the rule it is about, or
    None, and one sentence)."""
    problems: list[tuple[str | None, str]] = []

    def add(rule: str | None, text: str) -> None:
        problems.append((rule, text))

    if case.verdict is not None and result.verdict != case.verdict:
        add(None, f"verdict: expected {case.verdict}, got {result.verdict}")
    for firing in case.fires:
        rule = firing.rule.value
        found = [f for f in result.findings if f.rule == rule]
        if not found:
            add(rule, f"{rule}: expected to fire; it did not")
            continue
        candidates = found
        if firing.line is not None:
            candidates = [f for f in candidates if f.line == firing.line - 1]
            if not candidates:
                add(rule, f"{rule}: expected on {_place(firing.line - 1)}; it fired on "
                                + ", ".join(_place(f.line) for f in found))
                continue
        if firing.severity is not None and not any(f.severity == firing.severity for f in candidates):
            add(rule, f"{rule}: expected severity {firing.severity}; it is "
                            + ", ".join(sorted({f.severity for f in candidates})))
        if firing.says is not None and not any(firing.says in f.message for f in candidates):
            add(rule, f"{rule}: expected the message to contain \"{firing.says}\"; it says "
                            + " / ".join(f"\"{f.message}\"" for f in candidates))
        if firing.fix is not None and not any(list(f.fix) == list(firing.fix) for f in candidates):
            add(rule, f"{rule}: expected the fix {_json(firing.fix)}; it is "
                            + " / ".join(_json(f.fix) for f in candidates))
    for quiet in case.quiet:
        for finding in result.findings:
            if finding.rule == quiet.value:
                add(quiet.value, f"{quiet.value}: expected to stay quiet; it fired on {_place(finding.line)}")
    if case.only:
        listed = {f.rule.value for f in case.fires}
        for finding in result.findings:
            if finding.rule not in listed:
                add(finding.rule, f"{finding.rule}: fired on {_place(finding.line)}, and the case says only = true "
                                "(no rule fires but those in fires)")
    if case.not_evaluated is not None:
        expected = {s.missing.value for s in case.not_evaluated}
        actual = {n.missing for n in result.not_evaluated}
        for pointer in sorted(expected - actual):
            add(None, f"not evaluated: expected a rule to lack {pointer}; none did")
        for pointer in sorted(actual - expected):
            rules = sorted({n.rule for n in result.not_evaluated if n.missing == pointer})
            add(None, f"not evaluated: {', '.join(rules)} could not run without {pointer}, which the case "
                            "does not expect")
        for skip in case.not_evaluated:
            if skip.rule is not None and skip.missing.value in actual and not any(
                    n.rule == skip.rule.value and n.missing == skip.missing.value for n in result.not_evaluated):
                add(None, f"not evaluated: expected {skip.rule.value} to lack {skip.missing.value}; it did not")
    if case.fix is not None and list(result.fix) != list(case.fix):
        add(None, f"fix: expected {_json(case.fix)}; got {_json(result.fix)}")
    return problems


def _json(ops) -> str:
    return json.dumps(list(ops), ensure_ascii=False)


def _actual(result) -> dict:
    return {"verdict": result.verdict,
            "findings": [{"rule": f.rule, "severity": f.severity, "line": None if f.line is None else f.line + 1,
                          "message": f.message, "fix": list(f.fix)} for f in result.findings],
            "not_evaluated": [{"rule": n.rule, "missing": n.missing} for n in result.not_evaluated],
            "fix": list(result.fix)}


def expected_of(case: Case) -> dict:
    out: dict[str, Any] = {}
    if case.verdict is not None:
        out["verdict"] = case.verdict
    if case.fires:
        out["fires"] = [{k: v for k, v in (("rule", f.rule.value), ("line", f.line), ("severity", f.severity),
                                           ("says", f.says), ("fix", list(f.fix) if f.fix is not None else None))
                         if v is not None} for f in case.fires]
    if case.quiet:
        out["quiet"] = [q.value for q in case.quiet]
    if case.only:
        out["only"] = True
    if case.not_evaluated is not None:
        out["not_evaluated"] = [s.missing.value if s.rule is None else {"missing": s.missing.value, "rule": s.rule.value}
                                for s in case.not_evaluated]
    if case.fix is not None:
        out["fix"] = list(case.fix)
    return out


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _mapped(d: Diagnostic, overlay: str, where: dict[int, Span], csv_files: dict, copies: dict) -> Diagnostic:
    """A compiler diagnostic about an override, moved to where the test file writes it."""
    if d.span is not None and d.span.file in copies:
        original = copies[d.span.file]
        return Diagnostic(d.code, d.message.replace(d.span.file, original),
                          span=Span(original, d.span.line, d.span.column, d.span.end_line, d.span.end_column),
                          notes=d.notes)
    if d.span is not None and d.span.file == overlay:
        span = where.get(d.span.line) or next(iter(where.values()), None)
        return Diagnostic(d.code, f"this override: {d.message}", span=span, notes=d.notes)
    if d.span is not None and d.span.file in csv_files:
        span, first_line = csv_files[d.span.file]
        line = first_line + d.span.line - 1
        message = d.message.replace(f"table file {d.span.file}", "the table").replace(d.span.file, "the table")
        return Diagnostic(d.code, f"in the CSV text: {message}", span=Span(span.file, line, d.span.column, line,
                                                                              d.span.end_column), notes=d.notes)
    return d


def run_tests(paths: list[str], loader: Loader, fail_under: float | None = None) -> Report:
    runner = Runner(loader)
    try:
        return runner.run(paths, fail_under)
    finally:
        runner.close()
