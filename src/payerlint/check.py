"""The claim path: one record in, exactly one result out, whatever the record holds.

    record (claims/reader: parsed JSON, or why it could not be read)
      -> validate   claims/validate: the JSON Schema, every problem with its JSON pointer
      -> model      claims/model: typed values (dates, exact money); refuses what the
                    schema cannot rule out (year 0000, 2.0 for a whole number)
      -> route      a `RulebookChoice`: which prepared rulebooks check which lines
      -> evaluate   evaluate/engine over each `Part`
      -> result     evaluate/result: findings sorted, verdict, combined fix (evaluate/patch)

The CLI, the Python API, replay and the services to come all call `Checker`; none repeats
these steps. Which rulebooks check a claim is a strategy: `OneRulebook` (every claim
against one rulebook, `check --rulebook`) here, and routing by payer and date of service
in `payers/routing.py`. Both answer a `Route` that names prepared programs, so checking
a claim does no file-system work and compiles nothing once the rulebooks are loaded.

The guarantee a batch relies on is structural: `Checker.check` never raises. Whatever a
record does, it yields one result; an unexpected exception inside payerlint becomes an
`error` result with the finding `internal.error` (naming the exception type and where in
payerlint it happened, never a value from the claim), and the batch goes on.
"""

from __future__ import annotations

import re
import sys
import traceback

import orjson
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, TypeVar, cast

from payerlint.claims.model import Claim, ClaimValueError
from payerlint.claims.reader import Record
from payerlint.claims.validate import SCHEMA_VIOLATION, ClaimValidator
from payerlint.contract import Result as PublicResult
from payerlint.contract import public
from payerlint.diagnostics import Diagnostic
from payerlint.evaluate.engine import Evaluation, evaluate
from payerlint.evaluate.patch import combine
from payerlint.evaluate.result import Finding, NotEvaluated, Result, verdict_of

if TYPE_CHECKING:
    from payerlint.compile.rulebook import CompiledRulebook

SCHEMA_CITATION = "payerlint claim schema (payerlint/schemas/claim.schema.json)"
READER_CITATION = "payerlint input reader"
INTERNAL_RULE = "internal.error"
BUG_REPORT = "https://github.com/payerlint/payerlint/issues"
_LINE_POINTER = re.compile(r"^/lines/(\d+)(/|$)")

# Which `input` rule a reading or validation problem is reported under: by its code, else
# by its code's prefix (the 837P reader's many codes, the documentation merge's).
INPUT_RULES = {SCHEMA_VIOLATION: "input.schema", "claim_unreadable": "input.json",
               "claim_not_object": "input.json", "file_unreadable": "input.file", "fhir_unreadable": "input.fhir"}
INPUT_PREFIXES = (("x12_", "input.x12", "payerlint 837P reader (ASC X12 005010X222A1; docs/x12.md)"),
                  ("documentation_", "input.documentation", "payerlint --documentation merge (docs/x12.md)"))
_SEVERITIES = {"warning": "warn", "info": "info"}


# ------------------------------------------------------------------ routes


@dataclass(frozen=True, slots=True)
class Part:
    """One prepared rulebook's share of a claim."""

    program: Any
    """The `evaluate.program.Program` to run."""
    lines: tuple[int, ...] | None = None
    """The line indexes it checks; None for every line."""
    claim_rules: bool = True
    """Whether the rules for the whole claim run in this part (once per claim)."""


@dataclass(frozen=True, slots=True)
class Route:
    """What checks a claim: the parts to evaluate, and any routing problem (an unknown
    payer, a date no rulebook covers), which makes the verdict `error`."""

    parts: tuple[Part, ...] = ()
    errors: tuple[Finding, ...] = ()
    notes: tuple[Finding, ...] = ()
    """Warnings about the route itself (a claim of another payer or quarter checked
    against a rulebook chosen for every claim); they do not stop the check."""


class RulebookChoice(Protocol):
    """The strategy: which rulebooks check a claim. Called with a valid, typed claim."""

    def route(self, claim: Claim) -> Route: ...


MISMATCH_RULE = "input.rulebook_mismatch"


class OneRulebook:
    """Every claim against one compiled rulebook, whatever its payer and dates.

    With `warn_mismatch` (the command line's `--rulebook`), a claim dated outside the
    rulebook's quarter, or (given the payer `registry`) of a payer the registry sends to
    other rulebooks, is still checked, with a warning saying so: a person who chose one
    rulebook for a batch should hear that a claim in it is not that rulebook's, not read
    CLEAN. Without it (replay, the API's `Checker(rulebook)`), the rulebook is the question
    asked and nothing is added."""

    def __init__(self, compiled: CompiledRulebook, *, warn_mismatch: bool = False, registry: Any = None):
        from payerlint.evaluate.prepare import prepare

        self.compiled = compiled
        self.warn_mismatch = warn_mismatch
        self.registry = registry
        # Whose rulebook this is: the first family down its chain of bases that is some
        # payer's. A demonstration extending a payer's rulebook is that payer's; a payer's
        # rulebook that extends another payer's (through a common base) is its own payer's.
        self._payer_family: str | None = compiled.family
        if registry is not None:
            families = {p.rulebook_family for p in registry.payers.values()}
            book: CompiledRulebook | None = compiled
            while book is not None and book.family not in families:
                book = book.base
            self._payer_family = book.family if book is not None else None
        self._route: Route = Route((Part(prepare(compiled)),))

    def route(self, claim: Claim) -> Route:
        if not self.warn_mismatch:
            return self._route
        notes = self._mismatches(claim)
        return Route(self._route.parts, (), notes) if notes else self._route

    def _mismatches(self, claim: Claim) -> tuple[Finding, ...]:
        compiled = self.compiled
        out: list[Finding] = []

        def note(message: str) -> None:
            out.append(Finding(MISMATCH_RULE, compiled.id, "input", "warn", None,
                               f"{message}; --rulebook chose {compiled.id} for every claim, so this one was checked "
                               f"against it anyway", "payerlint check --rulebook"))

        quarter = compiled.quarter
        if quarter is not None:
            outside = sorted(day for day in claim.days if not quarter.contains(day))
            if outside:
                note(f"the claim's date of service {outside[0].isoformat()} is outside {quarter} "
                     f"({quarter.start.isoformat()} to {quarter.end.isoformat()}), when other rules may be in force")
        if self.registry is None:
            return tuple(out)
        payer_id = claim.root.get("payer_id")
        payer = self.registry.resolve(payer_id) if isinstance(payer_id, str) else None
        if payer is None:
            note(f"payer {payer_id!r} is not in the payer registry" if isinstance(payer_id, str)
                 else "the claim names no payer")
        elif payer.rulebook_family != self._payer_family:
            note(f"payer {payer_id} is checked by the {payer.rulebook_family} rulebooks, not {compiled.family}")
        return tuple(out)


# ------------------------------------------------------------------ the checker

_Out = TypeVar("_Out")

CHUNK = 16
"""How many records `Checker.check_records` takes at a time where the input is all there
(files, a worker's share): measured on the benchmark corpus, 8 and 32 do about as well,
1 and 256 about 8% worse (the claims' data no longer stays in the caches)."""


class Checker:
    """Checks claims: validate, model, route, evaluate, result. Safe to share between
    threads: rulebooks and programs are immutable, each check has its own state.

    `choice` is a compiled rulebook (every claim against it) or a `RulebookChoice`.
    """

    def __init__(self, choice: CompiledRulebook | RulebookChoice, *, strict: bool = False, explain: bool = False,
                 validator: ClaimValidator | None = None):
        # Duck-typed: any object with `route` is a strategy; anything else a compiled rulebook.
        self.choice: RulebookChoice = (cast(RulebookChoice, choice) if hasattr(choice, "route")
                                       else OneRulebook(choice))
        self.strict = strict
        self.explain = explain
        self.validator = validator or ClaimValidator()

    @property
    def rulebook(self) -> CompiledRulebook | None:
        """The one compiled rulebook, when every claim is checked against one."""
        return getattr(self.choice, "compiled", None)

    def check(self, data: Any, record: str | None = None, *, parsed: bool = False) -> PublicResult:
        """One claim (a JSON object as Python values) to its result. Never raises.

        `parsed`: the claim came from `claims.reader`, which only produces JSON values;
        otherwise it is first checked for values JSON cannot hold (a tuple, a key that is
        not text, text that is not Unicode), which a caller's own objects may contain."""
        return public(self._check_any(data, record, parsed))

    def check_many(self, claims: Iterable[Any], *, chunk: int = 1) -> Iterator[PublicResult]:
        """One result per claim, in order, as each is checked: a generator, so a stream
        of claims is never held in memory at once. Never raises for a claim (a `chunk`
        that is not a whole number of 1 or more is the caller's mistake, refused at the
        call). `chunk`: as for `check_records`, for claims that are all there (a list, an
        export read whole)."""
        return self._check_many(claims, _chunk_size(chunk))

    def _check_many(self, claims: Iterable[Any], chunk: int) -> Iterator[PublicResult]:
        if chunk == 1:
            for data in claims:
                yield public(self._check_any(data, None, False))
            return
        batch: list[Any] = []
        for data in claims:
            batch.append(data)
            if len(batch) == chunk:
                yield from map(public, self._later_stages([self._screen_any(item) for item in batch]))
                batch = []
        if batch:
            yield from map(public, self._later_stages([self._screen_any(item) for item in batch]))

    def _screen_any(self, data: Any) -> "Result | _Staged":
        """`_check_any` up to evaluation: a caller's claim as JSON values, screened."""
        try:
            data, problems = _as_json(data, self.validator)
            if problems:
                return error_result(data, input_findings(problems), None)
            return self._screen(data, None, ())
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - one claim must never end the batch
            return internal_error(data, None, exc)

    def _check_any(self, data: Any, record: str | None, parsed: bool) -> Result:
        try:
            if not parsed:
                data, problems = _as_json(data, self.validator)
                if problems:
                    return error_result(data, input_findings(problems), record)
            return self._check(data, record)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - one claim must never end the batch
            return internal_error(data, record, exc)

    def check_record(self, record: Record) -> PublicResult:
        """A claim as `claims.reader` read it, or the reason it could not be read. The
        problems a converting reader found (`Record.problems`) are `input` findings: with
        an error among them the claim is not checked; warnings sit beside the rules'."""
        return self._annotated(record, self._later_stages([self._stage(record)])[0])

    def check_records(self, records: Iterable[Record], *, chunk: int = 1) -> Iterator[PublicResult]:
        """One result per record, in order, streaming. With `chunk` above 1, records are
        taken that many at a time and each stage runs for all of them before the next
        (screen and model, evaluate, result): the evaluator's code then stays in the
        processor's caches across claims, about 7% faster end to end with 16 (paired runs). Only for
        input that is all there (files, a list): the first result waits for `chunk`
        records, which a stream fed one claim per answer would never send."""
        return self._check_records(records, _chunk_size(chunk))

    def _check_records(self, records: Iterable[Record], chunk: int) -> Iterator[PublicResult]:
        if chunk == 1:
            for record in records:
                yield self.check_record(record)
            return
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) == chunk:
                yield from self._check_chunk(batch)
                batch = []
        if batch:
            yield from self._check_chunk(batch)

    def _check_chunk(self, records: list[Record]) -> Iterator[PublicResult]:
        results = self._later_stages([self._stage(record) for record in records])
        for record, result in zip(records, results):
            yield self._annotated(record, result)

    def _later_stages(self, staged: list["Result | _Staged"]) -> list[Result]:
        """Evaluate and finish claims screened together, each stage for all of them before
        the next; one that stopped earlier keeps its result."""
        staged = [self._guarded(self._evaluate, s) if isinstance(s, _Staged) else s for s in staged]
        return [self._guarded(self._finish, s) if isinstance(s, _Staged) else s for s in staged]

    def _stage(self, record: Record) -> "Result | _Staged":
        """A record up to evaluation: its result when it stops before (unreadable, not
        valid, a value the model refuses), else what evaluation needs."""
        problems = getattr(record, "problems", ())
        if record.data is None:
            found = problems or ([record.error] if record.error else [])
            return error_result(getattr(record, "identity", None), input_findings(found), record.origin)
        if any(d.severity == "error" for d in problems):
            return error_result(record.data, input_findings(problems), record.origin)
        try:
            return self._screen(record.data, record.origin, input_findings(problems))
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - one claim must never end the batch
            return internal_error(record.data, record.origin, exc)

    @staticmethod
    def _guarded(stage: Callable[[_Staged], _Out], state: _Staged) -> _Out | Result:
        """A later stage of one claim; what it raises is that claim's internal error."""
        try:
            return stage(state)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - one claim must never end the batch
            return internal_error(state.data, state.record, exc)

    @staticmethod
    def _annotated(record: Record, result: Result) -> PublicResult:
        if record.locations is not None:
            # A claim converted from FHIR or X12: name each pointer in the user's format too.
            try:
                result = record.locations.annotate(result, record.data)
            except Exception as exc:  # noqa: BLE001 - never raises, like check
                result = internal_error(record.data, record.origin, exc)
        return public(result)

    def _check(self, data: Any, record: str | None) -> Result:
        staged = self._screen(data, record, ())
        return self._finish(self._evaluate(staged)) if isinstance(staged, _Staged) else staged

    def _screen(self, data: Any, record: str | None, notes: tuple[Finding, ...]) -> "Result | _Staged":
        """Validate, model and route one claim: its result when it stops there."""
        problems = self.validator.validate(data)
        if problems:
            # The reader's warnings stay: they often say why (a taxonomy with no discipline).
            return error_result(data, tuple(sorted(input_findings(problems) + notes, key=Finding.sort_key)),
                                record)
        try:
            claim = Claim(data)
        except ClaimValueError as exc:
            return error_result(data, input_findings([Diagnostic(SCHEMA_VIOLATION, exc.message, pointer=exc.pointer,
                                                                 notes=(exc.note,))]), record)
        return _Staged(data, record, notes, claim, self.choice.route(claim))

    def _evaluate(self, staged: "_Staged") -> "_Staged":
        """Every rulebook of the claim's route, run on it."""
        claim = staged.claim
        for part in staged.route.parts:
            program = part.program
            if part.lines is None:
                staged.evaluations.append(evaluate(program, claim, explain=self.explain, claim_rules=part.claim_rules))
            else:
                # A claim whose lines fall in two quarters: each quarter's rulebook checks
                # its own lines; the rules for the whole claim run once, on every line.
                staged.evaluations.append(evaluate(program, claim.subset(part.lines), explain=self.explain,
                                                   claim_rules=False))
                if part.claim_rules:
                    staged.evaluations.append(evaluate(program, claim, explain=self.explain, other_rules=False))
        return staged

    def _finish(self, staged: "_Staged") -> Result:
        """The result: findings in order, the verdict, the combined fix."""
        data, record, notes, route = staged.data, staged.record, staged.notes, staged.route
        findings: list[Finding] = []
        skipped: list[NotEvaluated] = []
        rulebooks: list[str] = []
        code_sets: dict[str, Any] = {}
        for part in route.parts:
            rulebooks.append(part.program.compiled.id)
            code_sets.update(part.program.code_sets)
        for evaluation in staged.evaluations:
            findings.extend(evaluation.findings)
            skipped.extend(evaluation.not_evaluated)
        if self.strict:
            findings.extend(strict_findings(skipped))
        findings.extend(route.errors)
        findings.extend(route.notes)
        findings.extend(notes)
        findings.sort(key=Finding.sort_key)
        skipped.sort(key=NotEvaluated.sort_key)
        verdict = verdict_of(findings)
        fix: tuple[Any, ...] = ()
        if verdict != "error":
            fix, findings = valid_fix(data, findings, self.validator)
        extra = tuple(sorted(code_sets.items())) + (("lines", line_keys(data)),)
        return Result(_text_id(data.get("claim_id")), _text_id(data.get("payer_id")), tuple(rulebooks), verdict,
                      tuple(findings), tuple(skipped), record, extra, fix)


def _chunk_size(chunk: Any) -> int:
    """`chunk` as given, when it is a whole number of 1 or more."""
    if isinstance(chunk, bool) or not isinstance(chunk, int):
        raise TypeError(f"chunk is a whole number of claims (1, 16, ...), not {type(chunk).__name__}")
    if chunk < 1:
        raise ValueError(f"chunk is a whole number of claims, 1 or more; got {chunk}")
    return chunk


class _Staged:
    """One claim between the stages of a check (`Checker._screen`, `_evaluate`, `_finish`)."""

    __slots__ = ("data", "record", "notes", "claim", "route", "evaluations")

    def __init__(self, data: Any, record: str | None, notes: tuple[Finding, ...], claim: Claim, route: Route):
        self.data, self.record, self.notes, self.claim, self.route = data, record, notes, claim, route
        self.evaluations: list[Evaluation] = []


def line_keys(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What each line was, as the payer's remittance (835) names it back: the procedure,
    modifiers, date of service, units and the line item control number (REF*6R) when the
    claim has one. A saved result then carries what `payerlint remit` needs to match the
    payer's decisions to the claim's lines, without the claim. Called on a valid claim."""
    out = []
    for line in data["lines"]:
        key: dict[str, Any] = {"code": line["code"], "modifiers": list(line.get("modifiers", ())),
                               "date": line.get("date", data["date_of_service"]), "units": line["units"]}
        if "control_number" in line:
            key["control_number"] = line["control_number"]
        out.append(key)
    return out


def _as_json(data: Any, validator: ClaimValidator) -> tuple[Any, list[Diagnostic]]:
    """A caller's claim as plain JSON values (tuples become lists), or the reasons it
    cannot be: one orjson round trip (a few microseconds) settles it for almost every
    claim; only a claim it refuses is walked, to name each value JSON cannot hold. orjson
    writes NaN and infinities as null, so a claim whose JSON holds a null is walked too."""
    try:
        text = orjson.dumps(data)
    except (TypeError, ValueError):
        problems = validator.json_problems(data)
        return data, problems  # nothing found: integers past 64 bits, left to the schema
    if b"null" in text:
        problems = validator.json_problems(data)
        if problems:
            return data, problems
    return orjson.loads(text), []


# ------------------------------------------------------------------ results


def input_findings(diagnostics: Iterable[Diagnostic]) -> tuple[Finding, ...]:
    """Reading and validation problems as `input` findings (severity `error`, or `warn`
    for a reader's warning); a schema problem carries the JSON pointer of the value, in
    its message and on its own."""
    out = []
    for d in diagnostics:
        match = _LINE_POINTER.match(d.pointer or "")
        # Reader messages already say file:line:column; schema messages get their pointer.
        message = f"{d.pointer}: {d.message}" if d.pointer is not None else d.message
        if d.notes:
            message += " (" + "; ".join(d.notes) + ")"
        rule, citation = _input_rule(d.code)
        out.append(Finding(rule, "", "input", _SEVERITIES.get(d.severity, "error"),
                           int(match.group(1)) if match else None, message, citation, pointer=d.pointer))
    return tuple(sorted(out, key=Finding.sort_key))


def _input_rule(code: str) -> tuple[str, str]:
    """The `input` rule and citation of a diagnostic code."""
    if code in INPUT_RULES:
        return INPUT_RULES[code], SCHEMA_CITATION if code == SCHEMA_VIOLATION else READER_CITATION
    for prefix, rule, citation in INPUT_PREFIXES:
        if code.startswith(prefix):
            return rule, citation
    return "input.schema", READER_CITATION


def _text_id(value: Any) -> str | None:
    """A claim or payer id fit to repeat in a result: text of at most 64 characters
    that is valid Unicode (an invalid claim may carry anything there)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def error_result(data: Any, findings: tuple[Finding, ...], record: str | None,
                 rulebooks: Iterable[str] = ()) -> Result:
    claim_id = _text_id(data.get("claim_id")) if isinstance(data, dict) else None
    payer_id = _text_id(data.get("payer_id")) if isinstance(data, dict) else None
    return Result(claim_id, payer_id, tuple(rulebooks), "error", findings, (), record)


def internal_message(exc: BaseException, what: str = "check this claim",
                     blameless: str = "the claim's billing") -> str:
    """What payerlint says when it fails on something (`what` it could not do, and what is
    not to blame): the exception's type and where in payerlint it was raised. Its message
    is left out: it may quote the claim."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if "payerlint" in frame.filename.replace("\\", "/").split("/"):
            path = frame.filename.replace("\\", "/")
            where = f" at {path[path.rindex('payerlint/'):]}:{frame.lineno}"
            break
    return (f"payerlint could not {what}: an internal error ({type(exc).__name__}{where}). "
            f"This is a bug in payerlint, not a problem with {blameless}; please report it at "
            f"{BUG_REPORT} with the error and the rulebook, not the claim's contents")


def internal_error(data: Any, record: str | None, exc: BaseException) -> Result:
    """The result for a claim payerlint failed on (`internal_message`)."""
    message = internal_message(exc)
    finding = Finding(INTERNAL_RULE, "", "internal", "error", None, message, f"payerlint {_version()}")
    try:
        return error_result(data, (finding,), record)
    except BaseException:  # noqa: BLE001 - data so odd that even its id cannot be read
        return Result(None, None, (), "error", (finding,), (), record)


def _version() -> str:
    module = sys.modules.get("payerlint")
    return getattr(module, "__version__", "")


def combined_fix(data: dict[str, Any], findings: Iterable[Finding]) -> tuple[Any, ...]:
    """The result's `fix`: every finding's fix as one patch (evaluate/patch.py)."""
    from payerlint.evaluate.patch import combine

    if not any(f.fix for f in findings):
        return ()
    return tuple(combine(data, [f.fix for f in findings]))


def valid_fix(data: dict[str, Any], findings: list[Finding], validator: ClaimValidator) -> tuple[tuple[Any, ...], list[Finding]]:
    """The combined fix and the findings, with no fix that would leave the claim invalid.

    A fix is written for its own rule: adding GP to a line that already has four modifiers
    makes a fifth, which no claim form holds. So the claim the combined fix makes (built by
    `combine` on the way) is screened: by the lines it touched when only lines changed (the
    usual fix: units, modifiers, a code, a line removed), else whole. When it fails, each
    finding's fix is tried alone, a fix that fails alone is left out and its finding says
    why, and the combined fix is made again from the rest (left empty if the rest still fail
    together: each finding's own fix is then still there to apply)."""
    fixes = [f.fix for f in findings if f.fix]
    if not fixes:
        return (), findings
    made: list[Any] = []
    fix = tuple(combine(data, fixes, made))
    if made[0] is not None:
        verdict = validator.lines_changed_valid(data, made[0])
        if verdict is True or (verdict is None and not validator.validate(made[0])):
            return fix, findings
    return _fixes_that_keep_it_valid(data, findings, validator)


def _fixes_that_keep_it_valid(data: dict[str, Any], findings: list[Finding],
                              validator: ClaimValidator) -> tuple[tuple[Any, ...], list[Finding]]:
    from dataclasses import replace

    from payerlint.evaluate.patch import PatchError, apply

    def problems(ops: Iterable[Any]) -> list[Diagnostic] | None:
        try:
            return validator.validate(apply(data, ops))
        except (PatchError, KeyError, IndexError, TypeError, ValueError):
            return None  # does not apply: as bad as a fix that makes the claim invalid

    kept = []
    for finding in findings:
        found = problems(finding.fix) if finding.fix else []
        if found == []:
            kept.append(finding)
            continue
        why = f"{found[0].pointer or 'the claim'}: {found[0].message}" if found else "it does not apply to the claim"
        kept.append(replace(finding, fix=(), message=f"{finding.message} (payerlint offers no fix: its fix would "
                                                     f"leave the claim invalid, {why}; correct it by hand)"))
    fix = combined_fix(data, kept)
    return (fix if fix and problems(fix) == [] else ()), kept


def strict_findings(skipped: Iterable[NotEvaluated]) -> list[Finding]:
    """Under --strict each rule that could not be evaluated becomes a warning."""
    return [
        Finding(n.rule, n.rulebook, "input", "warn", n.line,
                f"rule {n.rule} was not evaluated: the claim has no {n.missing}",
                "payerlint --strict: every rule must be evaluated")
        for n in skipped
    ]
